/**
 * A destination played by hand over a raw UDP socket, for the one thing sipp's UAS does not do: answer a request to
 * where its Via says. sipp sends every message of a call to the peer that sent the call's first message, so the 200
 * for a BYE that reached it through gateway B goes to gateway A (which rightly drops a response whose top Via is not
 * its own). This UAS answers each request to the address it came from (RFC 3581: the top Via carries rport; every
 * gateway here does), as a real UA does.
 *
 * INVITE → 200 (To tag added, Vias and Record-Route copied, Contact = this socket; a retransmitted INVITE gets the
 * same 200); ACK → recorded; BYE → 200; any other request → 200. Everything received stays in `ep.received`.
 */
import { SipUdp, sipMessage, token, type Received } from "./sip-udp.ts";
import type { TracedMessage } from "./sipp-log.ts";

export class RawUas {
  private readonly tags = new Map<string, string>();
  private readonly off: () => void;

  private constructor(readonly ep: SipUdp) {
    this.off = ep.onMessage((r) => {
      if (r.msg.kind !== "request" || r.msg.method === "ACK") return;
      void ep.send(this.answer(r.msg), r.from.port, r.from.address);
    });
  }

  static async open(port = 0): Promise<RawUas> {
    return new RawUas(await SipUdp.open(port));
  }

  get port(): number {
    return this.ep.port;
  }

  /** Requests received (in order). */
  requests(): TracedMessage[] {
    return this.ep.received.filter((r) => r.msg.kind === "request").map((r) => r.msg);
  }

  /** The requests received with their source. */
  receivedRequests(): Received[] {
    return this.ep.received.filter((r) => r.msg.kind === "request");
  }

  private answer(m: TracedMessage): string {
    const h = (name: string): readonly string[] => m.headers.get(name) ?? [];
    let to = h("to")[0] ?? "";
    if (m.method === "INVITE" && !/;\s*tag=/i.test(to)) {
      const tag = this.tags.get(m.callId) ?? `uas${token(4)}`;
      this.tags.set(m.callId, tag);
      to = `${to};tag=${tag}`;
    }
    return sipMessage("SIP/2.0 200 OK", [
      ...h("via").map((v) => `Via: ${v}`),
      ...(m.method === "INVITE" ? h("record-route").map((v) => `Record-Route: ${v}`) : []),
      `From: ${h("from")[0] ?? ""}`,
      `To: ${to}`,
      `Call-ID: ${m.callId}`,
      `CSeq: ${h("cseq")[0] ?? ""}`,
      `Contact: <sip:127.0.0.1:${this.ep.port};transport=udp>`,
    ]);
  }

  async close(): Promise<void> {
    this.off();
    await this.ep.close();
  }
}
