import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { Worker } from "node:worker_threads";
import type { AddressInfo } from "node:net";
import { jsonPost, PostTimeout } from "./json-post.ts";

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function listen(host: string, handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

test("posts the body with the headers, reads status and body, and keeps one connection for sequential posts", async () => {
  const seen: { body: string; auth: string | undefined; type: string | undefined }[] = [];
  let connections = 0;
  const { server, port } = await listen("127.0.0.1", (req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      seen.push({ body, auth: req.headers.authorization, type: req.headers["content-type"] });
      res.writeHead(body.includes("teapot") ? 418 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ echo: body.length }));
    });
  });
  server.on("connection", () => connections++);
  const post = jsonPost(`http://127.0.0.1:${port}/v1/route`, { "content-type": "application/json", authorization: "Bearer t" });
  const a = await post(JSON.stringify({ n: "ü" }), 2000);
  assert.deepEqual(a, { status: 200, body: JSON.stringify({ echo: JSON.stringify({ n: "ü" }).length }) });
  const b = await post(JSON.stringify({ n: "teapot" }), 2000);
  assert.equal(b.status, 418);
  assert.deepEqual(seen.map((s) => [s.auth, s.type]), [["Bearer t", "application/json"], ["Bearer t", "application/json"]]);
  assert.equal(seen[0]!.body, JSON.stringify({ n: "ü" }), "UTF-8 body intact");
  assert.equal(connections, 1, "the second post reused the kept-alive connection");
});

test("an IPv6 literal URL works", async (t) => {
  let server: { port: number };
  try {
    server = await listen("::1", (_req, res) => res.end("{}"));
  } catch {
    t.skip("no IPv6 loopback on this machine");
    return;
  }
  assert.deepEqual(await jsonPost(`http://[::1]:${server.port}/x`, {})("{}", 2000), { status: 200, body: "{}" });
});

test("no reply within the deadline rejects with PostTimeout; a huge reply and a refused connection reject", async () => {
  const { port: slow } = await listen("127.0.0.1", () => {
    /* never answers; closed by after() */
  });
  await assert.rejects(jsonPost(`http://127.0.0.1:${slow}/`, {})("{}", 30), PostTimeout);

  const { port: huge } = await listen("127.0.0.1", (_req, res) => {
    res.writeHead(200);
    res.end(Buffer.alloc(1024 * 1024, 0x61));
  });
  await assert.rejects(jsonPost(`http://127.0.0.1:${huge}/`, {})("{}", 2000), /larger than/);

  const { server, port: closed } = await listen("127.0.0.1", () => {});
  await new Promise((resolve) => server.close(resolve));
  await assert.rejects(jsonPost(`http://127.0.0.1:${closed}/`, {})("{}", 2000), /ECONNREFUSED/);
});

test("a reply that arrived while this thread was held up past the deadline is taken, not timed out", async () => {
  // The function answers from another thread, so it answers while this one is blocked.
  const worker = new Worker(
    `const { createServer } = require("node:http");
     const { parentPort } = require("node:worker_threads");
     const server = createServer((req, res) => { req.resume(); req.on("end", () => res.end('{"ok":true}')); });
     server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
     parentPort.on("message", () => server.close(() => process.exit(0)));`,
    { eval: true },
  );
  try {
    const port = await new Promise<number>((resolve) => worker.once("message", resolve));
    const post = jsonPost(`http://127.0.0.1:${port}/v1/route`, {});
    await post("{}", 2000); // the kept-alive connection exists, so the next request is written at once
    const replies: string[] = [];
    const second = post("{}", 20).then((r) => replies.push(r.body));
    // After the request is written (check phase, past this turn's nextTicks), hold the thread well past the deadline,
    // as a GC pause or the scheduler would; the worker's reply lands in the socket buffer meanwhile.
    let held = false;
    setImmediate(() => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150);
      held = true;
    });
    await second;
    assert.equal(held, true, "the thread was held past the deadline before the reply was read");
    assert.deepEqual(replies, ['{"ok":true}']);
  } finally {
    worker.postMessage("stop");
  }
});
