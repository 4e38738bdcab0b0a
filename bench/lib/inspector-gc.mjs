// Force a full garbage collection in a Node process started with --inspect=127.0.0.1:PORT, through the inspector
// protocol (HeapProfiler.collectGarbage). Plain JS, run as `node --experimental-websocket inspector-gc.mjs PORT`
// (Node 20's WebSocket client is behind that flag); exits 0 when the collection is done. Used by the hold test
// (hold.ts) so that memory per dialog compares live data with live data, not with a heap's leftover garbage.
const port = Number(process.argv[2]);
const deadline = setTimeout(() => {
  console.error("no answer from the inspector within 10 s");
  process.exit(1);
}, 10_000);
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const url = targets.find((t) => t.type === "node")?.webSocketDebuggerUrl ?? targets[0]?.webSocketDebuggerUrl;
if (!url) throw new Error(`no inspector target on port ${port}`);
const ws = new WebSocket(url);
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
});
ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
await new Promise((resolve, reject) => {
  ws.onmessage = (m) => {
    const reply = JSON.parse(String(m.data));
    if (reply.id !== 1) return;
    if (reply.error) reject(new Error(JSON.stringify(reply.error)));
    else resolve();
  };
});
clearTimeout(deadline);
ws.close();
process.exit(0);
