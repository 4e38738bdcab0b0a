import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { ShardIngress, ShardLink, inbound, sourceOf } from "./shard-link.ts";
import type { Source } from "./transport.ts";

function pair(a: ConstructorParameters<typeof ShardLink>[1], b: ConstructorParameters<typeof ShardLink>[1]) {
  const { port1, port2 } = new MessageChannel();
  const left = new ShardLink(port1, a);
  const right = new ShardLink(port2, b);
  return { left, right, close: () => (port1.close(), port2.close()) };
}

test("calls are answered, errors come back as rejections, notices arrive", async () => {
  const notes: unknown[] = [];
  const { left, right, close } = pair(
    {},
    {
      calls: {
        add: (a: number, b: number) => a + b,
        later: async (x: string) => `${x}!`,
        fails: () => {
          throw new Error("nope");
        },
      },
      notices: { seen: (value: unknown) => notes.push(value) },
    },
  );
  try {
    assert.equal(await left.call("add", 2, 3), 5);
    assert.equal(await left.call("later", "hi"), "hi!");
    await assert.rejects(left.call("fails"), /nope/);
    await assert.rejects(left.call("missing"), /no such call: missing/);
    left.notify("seen", { a: 1 });
    assert.equal(await left.call("add", 0, 0), 0); // ordered after the notice on the same port
    assert.deepEqual(notes, [{ a: 1 }]);
    void right;
  } finally {
    close();
  }
});

test("closing a link fails the calls still waiting, and later calls at once", async () => {
  const { left, close } = pair({}, { calls: { never: () => new Promise(() => undefined) } });
  try {
    const waiting = left.call("never");
    left.close();
    await assert.rejects(waiting, /closed/);
    await assert.rejects(left.call("never"), /closed/);
  } finally {
    close();
  }
});

test("inbound messages keep their source, TCP connection included", async () => {
  const got: Array<{ data: string; source: Source }> = [];
  let done!: () => void;
  const arrived = new Promise<void>((resolve) => (done = resolve));
  const { left, close } = pair({}, {
    inbound: (message) => {
      got.push({ data: Buffer.from(message.d).toString(), source: sourceOf(message) });
      if (got.length === 2) done();
    },
  });
  try {
    left.forward(inbound(Buffer.from("one"), { transport: "udp", address: "127.0.0.1", port: 5070 }));
    left.forward(inbound(Buffer.from("two"), { transport: "tcp", address: "::1", port: 5071, connectionId: 7 }));
    await arrived;
    assert.deepEqual(got, [
      { data: "one", source: { transport: "udp", address: "127.0.0.1", port: 5070 } },
      { data: "two", source: { transport: "tcp", address: "::1", port: 5071, connectionId: 7 } },
    ]);
  } finally {
    close();
  }
});

test("ingress: own and unreadable messages are handled here, others handed to their shard's link", () => {
  const handled: string[] = [];
  const forwarded: string[] = [];
  const link = { forward: (m: { d: Uint8Array }) => forwarded.push(Buffer.from(m.d).toString()) } as unknown as ShardLink;
  const owner: Record<string, number> = { mine: 1, theirs: 0, other: 2, unknown: -1 };
  const ingress = new ShardIngress(1, [link, undefined, undefined], (data) => handled.push(Buffer.from(data).toString()), (data) => owner[Buffer.from(data).toString()]!);
  const source: Source = { transport: "udp", address: "127.0.0.1", port: 1 };
  for (const text of ["mine", "theirs", "other", "unknown"]) ingress.receive(Buffer.from(text), source);
  // "other": shard 2 has no link (its worker is gone), so this thread takes its share.
  assert.deepEqual(handled, ["mine", "other", "unknown"]);
  assert.deepEqual(forwarded, ["theirs"]);
  assert.equal(ingress.forwarded, 1);
});
