import { test } from "node:test";
import assert from "node:assert/strict";
import { warmUpUdp } from "./warmup-udp.ts";

test("warmUpUdp bounces every datagram over loopback and back", async () => {
  const report = await warmUpUdp({ datagrams: 100 });
  assert.equal(report.datagrams, 100);
});

test("warmUpUdp stops between rounds once told to", async () => {
  let rounds = 0;
  const report = await warmUpUdp({ datagrams: 1000, stopped: () => rounds++ >= 2 });
  assert.equal(report.datagrams, 32, "two rounds of 16");
});
