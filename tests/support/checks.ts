/**
 * Assertions over destination-side message traces.
 */
import { callIds, byCallId, flow, select, type TracedMessage } from "./sipp-log.ts";

export interface DestinationTrace {
  readonly name: string;
  readonly messages: readonly TracedMessage[];
}

/**
 * Dialog stickiness, seen from the destinations: for every Call-ID a destination received an INVITE for, it also
 * received the ACK and the BYE; no destination received an ACK or BYE for a Call-ID whose INVITE it did not get;
 * and no Call-ID's INVITE reached two destinations (when `exclusive`). Returns a list of problems (empty = fine),
 * capped so a systematic failure stays readable.
 */
export function dialogStickinessProblems(traces: readonly DestinationTrace[], exclusive = true, cap = 15): string[] {
  const problems: string[] = [];
  const owner = new Map<string, string>();
  for (const t of traces) {
    const invites = callIds(t.messages, { direction: "received", method: "INVITE" });
    const acks = callIds(t.messages, { direction: "received", method: "ACK" });
    const byes = callIds(t.messages, { direction: "received", method: "BYE" });
    const calls = byCallId(t.messages);
    for (const cid of invites) {
      if (exclusive) {
        const prev = owner.get(cid);
        if (prev !== undefined) problems.push(`${cid}: INVITE reached both ${prev} and ${t.name}`);
        owner.set(cid, t.name);
      }
      if (!acks.has(cid)) problems.push(`${t.name} ${cid}: INVITE but no ACK (${flow(calls.get(cid) ?? [])})`);
      if (!byes.has(cid)) problems.push(`${t.name} ${cid}: INVITE but no BYE (${flow(calls.get(cid) ?? [])})`);
    }
    for (const cid of acks) if (!invites.has(cid)) problems.push(`${t.name} ${cid}: ACK for a call it never got an INVITE for`);
    for (const cid of byes) if (!invites.has(cid)) problems.push(`${t.name} ${cid}: BYE for a call it never got an INVITE for`);
  }
  if (problems.length > cap) return [...problems.slice(0, cap), `… and ${problems.length - cap} more`];
  return problems;
}

/** Requests received by a destination that still carry a Route naming the gateway (a proxy must pop its own). */
export function leftoverGatewayRoutes(messages: readonly TracedMessage[], gwPort: number): TracedMessage[] {
  const re = new RegExp(`^\\s*<?sips?:([^@>;]*@)?127\\.0\\.0\\.1:${gwPort}[;>]`, "i");
  return select(messages, { direction: "received" }).filter(
    (m) => m.kind === "request" && (m.headers.get("route") ?? []).some((v) => v.split(",").some((r) => re.test(r))),
  );
}

export function percent(n: number, total: number): string {
  return total === 0 ? "n/a" : `${((100 * n) / total).toFixed(1)}%`;
}
