import { test } from "node:test";
import assert from "node:assert/strict";
import { runNativesScript } from "../testing/natives-script.ts";

const SYNTHETIC = new URL("./synthetic-calls.ts", import.meta.url).href;

test("synthetic calls feed the core Buffers and source addresses of the kind a UDP socket hands over (same V8 maps)", () => {
  // One real datagram over loopback, then the first message of a synthetic batch, compared by V8 map.
  const r = runNativesScript<{ fed: number; viaSocket: boolean; viaBufferFrom: boolean; address: boolean; addressLiteral: boolean }>(
    "synthetic-map",
    `
      import dgram from "node:dgram";
      import { SyntheticCalls } from ${JSON.stringify(SYNTHETIC)};
      const sameMap = new Function("a", "b", "return %HaveSameMap(a, b)");
      const socket = dgram.createSocket("udp4");
      const [received, rinfo] = await new Promise((resolve) => {
        socket.on("message", (data, rinfo) => resolve([data, rinfo]));
        socket.bind(0, "127.0.0.1", () => socket.send("x", socket.address().port, "127.0.0.1"));
      });
      socket.close();
      const fed = [];
      const calls = new SyntheticCalls({ host: "127.0.0.1", gateway: 5060, caller: 5062, destinations: [5070] });
      await calls.batch(1, (data, source) => fed.push({ data, source }));
      console.log(JSON.stringify({
        fed: fed.length,
        viaSocket: sameMap(fed[0].data, received),
        viaBufferFrom: sameMap(Buffer.from("x"), received),
        address: sameMap(fed[0].source.address, rinfo.address),
        addressLiteral: sameMap("127.0.0.1", rinfo.address),
      }));
    `,
  );
  assert.equal(r.fed, 1, "the batch fed its INVITE");
  // The distinction is real (else this test proves nothing): a Buffer made in JS has another map.
  assert.equal(r.viaBufferFrom, false);
  assert.equal(r.viaSocket, true, "a synthetic datagram has another V8 map than a received one");
  // Likewise the source address: a string literal is internalised, rinfo.address is not.
  assert.equal(r.addressLiteral, false);
  assert.equal(r.address, true, "a synthetic source address has another V8 map than a received one");
});
