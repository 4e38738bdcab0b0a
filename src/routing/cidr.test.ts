import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { cidrContains, parseCidr, parseIp, type IpAddress } from "./cidr.ts";

const bits = (a: IpAddress) => [...a.bytes].map((b) => b.toString(2).padStart(8, "0")).join("");

/** The oracle: containment as string comparison of the first `prefix` bits. */
function oracle(network: string, address: string): boolean {
  const net = parseCidr(network)!;
  const addr = parseIp(address)!;
  return net.address.family === addr.family && bits(net.address).slice(0, net.prefix) === bits(addr).slice(0, net.prefix);
}

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));
const group = fc.nat(0xffff).map((n) => n.toString(16));
const v6 = fc.array(group, { minLength: 8, maxLength: 8 }).map((g) => g.join(":"));

test("parse: IPv4, IPv6 with :: and a dotted tail, brackets and zones; malformed text is undefined", () => {
  assert.deepEqual([...parseIp("10.1.2.3")!.bytes], [10, 1, 2, 3]);
  assert.equal(bits(parseIp("::1")!), `${"0".repeat(127)}1`);
  assert.deepEqual([...parseIp("[2001:db8::7]")!.bytes].slice(0, 4), [0x20, 0x01, 0x0d, 0xb8]);
  assert.deepEqual([...parseIp("::ffff:192.0.2.1")!.bytes].slice(10), [0xff, 0xff, 192, 0, 2, 1]);
  assert.equal(parseIp("fe80::1%eth0")?.family, 6);
  for (const bad of ["", "1.2.3", "1.2.3.256", "01.2.3.4", "1.2.3.4.5", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::g", "a.b.c.d", "1:2:3:4:5:6:7::8:9"]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
  assert.equal(parseCidr("10.0.0.0/33"), undefined);
  assert.equal(parseCidr("10.0.0.0/08"), undefined);
  assert.equal(parseCidr("::/129"), undefined);
  assert.equal(parseCidr("2001:db8::/32")?.prefix, 32);
  assert.equal(parseCidr("192.0.2.7")?.prefix, 32);
});

test("property: a written IPv6 address parses back to its groups, compressed or not", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), fc.nat(7), fc.nat(8), (groups, from, length) => {
      const full = groups.map((g) => g.toString(16)).join(":");
      const zeroed = groups.map((g, i) => (i >= from && i < from + length ? 0 : g));
      const end = Math.min(8, from + length);
      const compressed = length === 0 ? full : `${zeroed.slice(0, from).map((g) => g.toString(16)).join(":")}::${zeroed.slice(end).map((g) => g.toString(16)).join(":")}`;
      const expected = (gs: number[]) => gs.flatMap((g) => [g >> 8, g & 0xff]);
      assert.deepEqual([...parseIp(full)!.bytes], expected(groups));
      assert.deepEqual([...parseIp(compressed)!.bytes], expected(zeroed), compressed);
    }),
  );
});

test("property: IPv4 containment agrees with the bit-string oracle", () => {
  fc.assert(fc.property(v4, fc.nat(32), v4, (net, prefix, addr) => cidrContains(parseCidr(`${net}/${prefix}`)!, parseIp(addr)!) === oracle(`${net}/${prefix}`, addr)));
});

test("property: IPv4 addresses derived from the network (same prefix bits) are inside, a flipped prefix bit is outside", () => {
  fc.assert(
    fc.property(fc.nat(0xffffffff), fc.integer({ min: 1, max: 32 }), fc.nat(0xffffffff), (net, prefix, noise) => {
      const text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
      const mask = prefix === 32 ? 0xffffffff : ~(0xffffffff >>> prefix) >>> 0;
      const inside = ((net & mask) | (noise & ~mask)) >>> 0;
      const flipped = (inside ^ (1 << (32 - prefix))) >>> 0;
      const cidr = parseCidr(`${text(net)}/${prefix}`)!;
      return cidrContains(cidr, parseIp(text(inside))!) && !cidrContains(cidr, parseIp(text(flipped))!);
    }),
  );
});

test("brute force: every address of small IPv4 networks is inside, the neighbours are not", () => {
  fc.assert(
    fc.property(fc.nat(0xffffffff), fc.integer({ min: 24, max: 32 }), (base, prefix) => {
      const size = 2 ** (32 - prefix);
      const start = Math.floor(base / size) * size;
      const text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
      const cidr = parseCidr(`${text(base)}/${prefix}`)!;
      for (let n = start; n < start + size; n++) if (!cidrContains(cidr, parseIp(text(n))!)) return false;
      if (start > 0 && cidrContains(cidr, parseIp(text(start - 1))!)) return false;
      if (start + size <= 0xffffffff && cidrContains(cidr, parseIp(text(start + size))!)) return false;
      return true;
    }),
    { numRuns: 200 },
  );
});

test("property: IPv6 containment agrees with the bit-string oracle", () => {
  fc.assert(fc.property(v6, fc.nat(128), v6, (net, prefix, addr) => cidrContains(parseCidr(`${net}/${prefix}`)!, parseIp(addr)!) === oracle(`${net}/${prefix}`, addr)));
  // Addresses sharing a long prefix with the network, so "inside" is exercised as often as "outside".
  fc.assert(
    fc.property(v6, fc.nat(128), fc.nat(7), group, (net, prefix, at, replacement) => {
      const groups = net.split(":");
      groups[at] = replacement;
      const addr = groups.join(":");
      return cidrContains(parseCidr(`${net}/${prefix}`)!, parseIp(addr)!) === oracle(`${net}/${prefix}`, addr);
    }),
  );
});

test("families: IPv4-mapped IPv6 sources match IPv4 networks and the other way round; otherwise families never mix", () => {
  assert.equal(cidrContains(parseCidr("10.0.0.0/8")!, parseIp("::ffff:10.1.2.3")!), true);
  assert.equal(cidrContains(parseCidr("10.0.0.0/8")!, parseIp("::ffff:11.1.2.3")!), false);
  assert.equal(cidrContains(parseCidr("::ffff:10.0.0.0/104")!, parseIp("10.9.9.9")!), true);
  assert.equal(cidrContains(parseCidr("::/0")!, parseIp("10.9.9.9")!), true, "::/0 is every address, mapped IPv4 too");
  assert.equal(cidrContains(parseCidr("0.0.0.0/0")!, parseIp("2001:db8::1")!), false);
  assert.equal(cidrContains(parseCidr("10.0.0.5/8")!, parseIp("10.200.0.1")!), true, "host bits of the network are ignored");
});
