/**
 * A reader for the classic pcap file format (what `tcpdump -w` writes): the UDP datagrams in a capture, with their
 * kernel timestamps. Pure: bytes in, packets out. Only what the benchmark's loopback captures need: Ethernet (what
 * Linux reports for `lo`), Linux cooked v1/v2 and BSD loopback framing, IPv4 and IPv6 (no extension headers), UDP.
 * Anything else (TCP, IP fragments after the first, truncated records) is skipped, never thrown on.
 */

export interface UdpPacket {
  /** capture time, µs since the epoch (µs or ns precision files alike) */
  readonly tsUs: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** the UDP payload as captured (cut at the snapshot length if the datagram was longer) */
  readonly payload: Uint8Array;
}

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;

/** Offset of the IP header in a frame, or -1 when the frame is not IP. */
function ipOffset(linktype: number, frame: DataView): number {
  switch (linktype) {
    case LINKTYPE_ETHERNET: {
      if (frame.byteLength < 14) return -1;
      const type = frame.getUint16(12);
      return type === 0x0800 || type === 0x86dd ? 14 : -1;
    }
    case LINKTYPE_LINUX_SLL:
      return frame.byteLength >= 16 ? 16 : -1;
    case LINKTYPE_LINUX_SLL2:
      return frame.byteLength >= 20 ? 20 : -1;
    case LINKTYPE_NULL:
      return frame.byteLength >= 4 ? 4 : -1;
    case LINKTYPE_RAW:
      return 0;
    default:
      return -1;
  }
}

/** The UDP header's offset in a frame whose IP header starts at `ip`, or -1. */
function udpOffset(frame: DataView, ip: number): number {
  if (frame.byteLength < ip + 1) return -1;
  const version = frame.getUint8(ip) >> 4;
  if (version === 4) {
    if (frame.byteLength < ip + 20) return -1;
    const ihl = (frame.getUint8(ip) & 0x0f) * 4;
    if (frame.getUint8(ip + 9) !== 17) return -1;
    if ((frame.getUint16(ip + 6) & 0x1fff) !== 0) return -1; // a later fragment: no UDP header in it
    return ip + ihl;
  }
  if (version === 6) {
    if (frame.byteLength < ip + 40) return -1;
    return frame.getUint8(ip + 6) === 17 ? ip + 40 : -1;
  }
  return -1;
}

/** Every UDP datagram of a pcap file, in capture order. Throws only when the file is not pcap at all. */
export function* udpPackets(file: Uint8Array): Generator<UdpPacket> {
  if (file.byteLength < 24) throw new Error("not a pcap file: shorter than its 24-byte header");
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = view.getUint32(0, true);
  let little: boolean;
  let nanos: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    little = true;
    nanos = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    little = false;
    nanos = magic === 0x4d3cb2a1;
  } else {
    throw new Error(`not a pcap file (magic 0x${magic.toString(16)}); pcapng is not read`);
  }
  const linktype = view.getUint32(20, little) & 0x0fffffff;
  for (let at = 24; at + 16 <= file.byteLength; ) {
    const sec = view.getUint32(at, little);
    const frac = view.getUint32(at + 4, little);
    const caplen = view.getUint32(at + 8, little);
    const start = at + 16;
    at = start + caplen;
    if (at > file.byteLength) return; // the last record was cut off (capture stopped mid-write)
    const frame = new DataView(file.buffer, file.byteOffset + start, caplen);
    const ip = ipOffset(linktype, frame);
    if (ip < 0) continue;
    const udp = udpOffset(frame, ip);
    if (udp < 0 || caplen < udp + 8) continue;
    yield {
      tsUs: sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac),
      srcPort: frame.getUint16(udp),
      dstPort: frame.getUint16(udp + 2),
      payload: file.subarray(start + udp + 8, start + caplen),
    };
  }
}
