/**
 * Stamping the previous hop's Via with where its request really came from: `received` (RFC 3261 §18.2.1) and the
 * `rport` value (RFC 3581 §4). The forwarded request carries the stamped Via, so every response on its way back,
 * including a 2xx we relay statelessly after the transaction is gone, reaches the caller's real address and port
 * (NAT), not the one it believed it had.
 */
import type { Via } from "../sip/message.ts";

const RPORT_FLAG = /;\s*rport(?=\s*(?:;|$))/i;
const RECEIVED = /;\s*received\s*=\s*[^;]*/i;

/** The stamped Via value, or undefined when it needs no change. */
export function stampVia(via: Via, sourceAddress: string, sourcePort: number): string | undefined {
  const host = via.host.startsWith("[") ? via.host.slice(1, -1) : via.host;
  const wantsRport = via.rport === null;
  // §18.2.1: received is added when sent-by differs from the source; RFC 3581 §4: always when rport was asked for.
  const needsReceived = wantsRport || host.toLowerCase() !== sourceAddress.toLowerCase();
  if (!needsReceived) return undefined;
  let value = via.raw.trim();
  if (wantsRport) value = value.replace(RPORT_FLAG, `;rport=${sourcePort}`);
  value = value.replace(RECEIVED, "");
  return `${value};received=${sourceAddress}`;
}
