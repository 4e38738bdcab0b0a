/**
 * IPv4 and IPv6 addresses and CIDR networks (RFC 4632, RFC 4291 §2.2 text forms, §2.5.5.2 IPv4-mapped addresses),
 * for rules that match on the source of a request (kamailio permissions `allow_source_address` groups, OpenSIPS
 * `check_source_address`). Pure; malformed text yields undefined, never an exception.
 */

export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  readonly bytes: Uint8Array;
}

export interface Cidr {
  readonly address: IpAddress;
  /** Leading bits that must be equal: 0-32 (IPv4), 0-128 (IPv6). */
  readonly prefix: number;
}

/** "10.1.2.3": four decimal octets, no leading zeros (so "010" is never read as octal by someone else). */
function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

/** Hex groups of one side of "::" (the last one may be dotted IPv4 when `tailV4`); undefined when malformed. */
function parseGroups(text: string, tailV4: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (tailV4 && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (!v4) return undefined;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/** RFC 4291 §2.2: eight groups, one "::" for a run of zero groups, a dotted IPv4 tail allowed. */
function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]!, false);
    const tail = parseGroups(halves[1]!, true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** An address as written in a Via, a socket or a rule: IPv4, IPv6 (brackets and a %zone are accepted). */
export function parseIp(text: string): IpAddress | undefined {
  let t = text.trim();
  if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1);
  const zone = t.indexOf("%");
  if (zone >= 0) t = t.slice(0, zone);
  if (t.includes(":")) {
    const bytes = parseIpv6(t);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseIpv4(t);
  return bytes && { family: 4, bytes };
}

/** "10.0.0.0/8", "2001:db8::/32"; a bare address is a /32 or /128. Host bits after the prefix are ignored. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const max = address.family === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: max };
  const prefixText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= max ? { address, prefix } : undefined;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what dual-stack sockets report). */
function unmapped(address: IpAddress): IpAddress {
  if (address.family !== 6 || !MAPPED_PREFIX.every((b, i) => address.bytes[i] === b)) return address;
  return { family: 4, bytes: address.bytes.slice(12) };
}

/**
 * Whether `address` lies in `network`. An IPv4-mapped IPv6 source (::ffff:10.0.0.1) matches IPv4 networks, and an
 * IPv4 source matches an IPv6 network written over the mapped range, so dual-stack sockets change nothing.
 */
export function cidrContains(network: Cidr, address: IpAddress): boolean {
  const plain = unmapped(address);
  const addr = network.address.family === 6 && plain.family === 4 ? { family: 6, bytes: Uint8Array.from([...MAPPED_PREFIX, ...plain.bytes]) } : plain;
  if (network.address.family !== addr.family) return false;
  const full = network.prefix >> 3;
  for (let i = 0; i < full; i++) if (network.address.bytes[i] !== addr.bytes[i]) return false;
  const rest = network.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((network.address.bytes[full]! ^ addr.bytes[full]!) & mask) === 0;
}
