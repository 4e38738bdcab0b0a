import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { test } from "node:test";
import { UdpTransport } from "./transport-udp.ts";

/** A plain loopback socket that collects what reaches it. */
async function receiver(): Promise<{ socket: Socket; port: number; got: string[]; next: (n: number) => Promise<string[]> }> {
  const socket = createSocket("udp4");
  const got: string[] = [];
  const waiters: { n: number; resolve: (v: string[]) => void }[] = [];
  socket.on("message", (data) => {
    got.push(data.toString());
    for (const w of waiters.splice(0)) {
      if (got.length >= w.n) w.resolve([...got]);
      else waiters.push(w);
    }
  });
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  const next = (n: number): Promise<string[]> =>
    got.length >= n ? Promise.resolve([...got]) : new Promise((resolve) => waiters.push({ n, resolve }));
  return { socket, port: socket.address().port, got, next };
}

test("datagrams sent in one loop turn leave after it, all of them, in the order they were sent", { timeout: 5000 }, async (t) => {
  const peer = await receiver();
  const transport = new UdpTransport("127.0.0.1", 0);
  await transport.start(() => undefined);
  t.after(async () => {
    await transport.close();
    peer.socket.close();
  });

  const sent = Array.from({ length: 50 }, (_, i) => `datagram ${i}`);
  for (const text of sent) transport.send("127.0.0.1", peer.port, Buffer.from(text));
  assert.equal(transport.counters.udpSent, 50);
  assert.deepEqual(await peer.next(50), sent);
});

test("close sends what the turn still held before the socket goes; a send after close reports the error", { timeout: 5000 }, async (t) => {
  const peer = await receiver();
  t.after(() => peer.socket.close());
  const transport = new UdpTransport("127.0.0.1", 0);
  await transport.start(() => undefined);

  const errors: Error[] = [];
  transport.send("127.0.0.1", peer.port, Buffer.from("last words"), (e) => errors.push(e));
  await transport.close();
  assert.deepEqual(await peer.next(1), ["last words"]);
  assert.equal(errors.length, 0);

  transport.send("127.0.0.1", peer.port, Buffer.from("too late"), (e) => errors.push(e));
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /closed/);
});

test("an answer made while handling a datagram goes out once the handler's turn ends", { timeout: 5000 }, async (t) => {
  const peer = await receiver();
  const transport = new UdpTransport("127.0.0.1", 0);
  await transport.start((data, source) => {
    // echo twice, the way a proxy answers 100 Trying and forwards the request from one received datagram
    transport.send(source.address, source.port, Buffer.from(`trying ${data.toString()}`));
    transport.send(source.address, source.port, Buffer.from(`forward ${data.toString()}`));
  });
  t.after(async () => {
    await transport.close();
    peer.socket.close();
  });

  for (let i = 0; i < 5; i++) peer.socket.send(`m${i}`, transport.local.port, "127.0.0.1");
  const got = await peer.next(10);
  for (let i = 0; i < 5; i++) assert.ok(got.indexOf(`trying m${i}`) < got.indexOf(`forward m${i}`), got.join(", "));
  assert.equal(got.length, 10);
});
