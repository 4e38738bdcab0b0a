import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { udpPackets, type UdpPacket } from "./pcap.ts";
import { sipSummary, wireLatencies } from "./wire-latency.ts";

/** A pcap file (µs timestamps, Ethernet) holding IPv4/UDP datagrams on 127.0.0.1, as tcpdump -w writes them on lo. */
function pcap(packets: readonly { tsUs: number; src: number; dst: number; payload: string }[], opts: { nanos?: boolean; bigEndian?: boolean } = {}): Buffer {
  const le = !opts.bigEndian;
  const u32 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const u16 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const head = Buffer.alloc(24);
  u32(head, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u16(head, 2, 4);
  u16(head, 4, 6);
  u32(head, 65535, 16);
  u32(head, 1, 20); // LINKTYPE_ETHERNET
  const records = packets.map((p) => {
    const body = Buffer.from(p.payload, "latin1");
    const frame = Buffer.alloc(14 + 20 + 8 + body.length);
    frame.writeUInt16BE(0x0800, 12);
    frame.writeUInt8(0x45, 14); // IPv4, IHL 5
    frame.writeUInt16BE(20 + 8 + body.length, 16);
    frame.writeUInt8(17, 23); // UDP
    frame.writeUInt32BE(0x7f000001, 26);
    frame.writeUInt32BE(0x7f000001, 30);
    frame.writeUInt16BE(p.src, 34);
    frame.writeUInt16BE(p.dst, 36);
    frame.writeUInt16BE(8 + body.length, 38);
    body.copy(frame, 42);
    const rec = Buffer.alloc(16);
    u32(rec, Math.floor(p.tsUs / 1e6), 0);
    u32(rec, opts.nanos ? (p.tsUs % 1e6) * 1000 : p.tsUs % 1e6, 4);
    u32(rec, frame.length, 8);
    u32(rec, frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([head, ...records]);
}

const req = (method: string, callId: string, cseq = method) => `${method} sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nCall-ID: ${callId}\r\nCSeq: 1 ${cseq}\r\n\r\n`;
const res = (status: string, callId: string, method: string) => `SIP/2.0 ${status}\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nCall-ID: ${callId}\r\nCSeq: 1 ${method}\r\n\r\n`;

test("udpPackets reads ports, payload and µs timestamps from µs, ns and big-endian pcap files", () => {
  for (const opts of [{}, { nanos: true }, { bigEndian: true }]) {
    const file = pcap([{ tsUs: 1_700_000_000_123_456, src: 5062, dst: 5060, payload: "hello" }], opts);
    const got = [...udpPackets(file)];
    assert.equal(got.length, 1, JSON.stringify(opts));
    assert.equal(got[0]!.tsUs, 1_700_000_000_123_456);
    assert.equal(got[0]!.srcPort, 5062);
    assert.equal(got[0]!.dstPort, 5060);
    assert.equal(Buffer.from(got[0]!.payload).toString("latin1"), "hello");
  }
});

test("udpPackets stops at a record cut off by the end of the file and rejects what is not pcap", () => {
  const file = pcap([{ tsUs: 1e12, src: 1, dst: 2, payload: "a" }, { tsUs: 1e12 + 1, src: 1, dst: 2, payload: "bbbb" }]);
  assert.equal([...udpPackets(file.subarray(0, file.length - 2))].length, 1);
  assert.throws(() => [...udpPackets(Buffer.from("0a0d0d0a00000000000000000000000000000000000000", "hex"))], /not a pcap file/);
});

test("sipSummary reads the first line, Call-ID (long or compact form) and the CSeq method", () => {
  assert.deepEqual(sipSummary(Buffer.from(req("INVITE", "abc@h"))), { request: "INVITE", callId: "abc@h", cseqMethod: "INVITE" });
  assert.deepEqual(sipSummary(Buffer.from("SIP/2.0 180 Ringing\r\ni: x1\r\nCSeq: 7 invite\r\n\r\n")), { status: 180, callId: "x1", cseqMethod: "INVITE" });
  assert.equal(sipSummary(Buffer.from("garbage")), undefined);
  assert.equal(sipSummary(Buffer.from("OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n")), undefined); // no Call-ID: not counted
});

test("wireLatencies: caller's response time and the balancer's share, first transmissions only", () => {
  const CALLER = 5062;
  const GW = 5060;
  const DEST = 5070;
  const t = 1_000_000_000_000;
  const packets: UdpPacket[] = [...udpPackets(pcap([
    { tsUs: t, src: CALLER, dst: GW, payload: req("INVITE", "c1") }, // a
    { tsUs: t + 300, src: GW, dst: DEST, payload: req("INVITE", "c1") }, // b: 0.3 ms in the balancer
    { tsUs: t + 400, src: GW, dst: CALLER, payload: res("100 Trying", "c1", "INVITE") },
    { tsUs: t + 2300, src: DEST, dst: GW, payload: res("200 OK", "c1", "INVITE") }, // c: 2 ms at the destination
    { tsUs: t + 2500, src: GW, dst: CALLER, payload: res("200 OK", "c1", "INVITE") }, // d: 0.2 ms in the balancer
    { tsUs: t + 2600, src: DEST, dst: GW, payload: res("200 OK", "c1", "INVITE") }, // a retransmission: ignored
    { tsUs: t + 2700, src: GW, dst: CALLER, payload: res("200 OK", "c1", "INVITE") },
    { tsUs: t + 3000, src: CALLER, dst: GW, payload: req("BYE", "c1") },
    { tsUs: t + 3100, src: GW, dst: DEST, payload: req("BYE", "c1") },
    { tsUs: t + 3600, src: DEST, dst: GW, payload: res("200 OK", "c1", "BYE") },
    { tsUs: t + 3700, src: GW, dst: CALLER, payload: res("200 OK", "c1", "BYE") },
    // a second call whose 200 never came back: no INVITE figure for it
    { tsUs: t + 5000, src: CALLER, dst: GW, payload: req("INVITE", "c2") },
  ]))];
  // out of order on input: sorted by timestamp inside
  const lat = wireLatencies([...packets].reverse(), CALLER, [DEST]);
  assert.equal(lat.calls, 1);
  assert.deepEqual(lat.invite.total, [2.5]);
  assert.deepEqual(lat.invite.balancer.map((v) => Number(v.toFixed(3))), [0.5]);
  assert.deepEqual(lat.bye.total, [0.7]);
  assert.deepEqual(lat.bye.balancer.map((v) => Number(v.toFixed(3))), [0.2]);
});

test("wireLatencies straight to a destination: the balancer's share is 0", () => {
  const t = 2_000_000_000_000;
  const lat = wireLatencies(udpPackets(pcap([
    { tsUs: t, src: 5062, dst: 5070, payload: req("INVITE", "d1") },
    { tsUs: t + 1000, src: 5070, dst: 5062, payload: res("200 OK", "d1", "INVITE") },
  ])), 5062, [5070]);
  assert.deepEqual(lat.invite.total, [1]);
  assert.deepEqual(lat.invite.balancer, [0]);
});
