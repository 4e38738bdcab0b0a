/**
 * The proxy core: every datagram or stream frame comes in here, is parsed once, and is handled as RFC 3261 §16 says
 * a transaction-stateful, record-routing proxy must.
 *
 * - Requests: server transaction matching (§17.2.3) absorbs retransmissions; ACK for our non-2xx finals ends in the
 *   server transaction; CANCEL is answered and relayed to the pending branch (§16.10); in-dialog requests are loose
 *   routed by our own signed Record-Route entry (§16.4, §16.12) with no store lookup; new requests are validated
 *   (§16.3), answered 100 Trying (INVITE), turned into an event and sent where the route function decides.
 * - Responses: matched to the client transaction by our branch (§17.1.3) and handed to its response context (§16.7);
 *   a stray 2xx to INVITE is forwarded statelessly by the next Via (§16.7 step 5, §18.2.2).
 *
 * Nothing here touches a socket or a clock directly: both come in through ProxyEnv.
 */
import type { HeaderField, SipRequest, SipResponse, Via } from "../sip/message.ts";
import { getHeader, getHeaderValues, parseMessage, type SipParseError } from "../sip/parse.ts";
import { parseNameAddr } from "../sip/name-addr.ts";
import { splitHeaderValues } from "../sip/header-values.ts";
import { buildResponse } from "../sip/response.ts";
import { header, serializeMessage } from "../sip/serialize.ts";
import { ServerInviteTransaction } from "../transaction/server-invite.ts";
import { ServerNonInviteTransaction } from "../transaction/server-non-invite.ts";
import { BRANCH_PREFIX, MAGIC_COOKIE } from "../proxy/ids.ts";
import { isLoop, loopHash } from "../proxy/loop.ts";
import { forwardHeaders, relayedResponse } from "../proxy/forward.ts";
import { stampVia } from "../proxy/via-received.ts";
import type { Target } from "../proxy/route-token.ts";
import { destinationTarget, uriTarget } from "../destination/destination.ts";
import { ClientNonInviteTransaction } from "../transaction/client-non-invite.ts";
import { dialogByes, dialogPings, type DialogEnds } from "../proxy/dialog-bye.ts";
import { decodeTarget, encodeTarget } from "../proxy/route-token.ts";
import { EVENT_VERSION, type RequestEvent, type RouteDecision } from "../events/route.ts";
import type { Dialog } from "../dialog/dialog.ts";
import type { ProxyEnv } from "./proxy-env.ts";
import type { Source } from "./transport.ts";
import { ResponseContext, recordRouteOf, type Hop, type RelayPlan, type Upstream } from "./response-context.ts";
import { RetiredTable } from "./retired.ts";
import { presenceCodec, replyPathCodec, retiredServerCodec, type ReplyPath, type RetiredServer } from "./retired-records.ts";
import { SlotMap } from "../collections/slot-map.ts";
import { transactionKey } from "./transaction-key.ts";
import { detach } from "../sip/detach.ts";
import { memoize } from "../sip/memo.ts";

/** The ACK, BYE and re-INVITEs of a call carry the same Route values: each is parsed once (memo.ts). */
const parseRoute = memoize((text: string) => parseNameAddr(text));

export type RouteHandler = (event: RequestEvent) => RouteDecision | Promise<RouteDecision>;

export interface ProbeOptions {
  /** name-addr of the From header, without tag (e.g. `<sip:switchboard@gw.example>`). */
  readonly from: string;
  readonly maxForwards: number;
  readonly timeoutMs: number;
}

export type ProbeOutcome =
  | { readonly result: "reply"; readonly status: number; readonly latencyMs: number }
  | { readonly result: "timeout" | "transport-error"; readonly elapsedMs: number };

/** Our own Route entries found on a request, verified. */
interface OurRoutes {
  /** How many of the top Route values are ours (1, or 2 with double record-routing). */
  readonly count: number;
  readonly plan: Omit<Extract<RelayPlan, { kind: "in-dialog" }>, "hop" | "popRoutes">;
  readonly target: Target;
  readonly destinationId?: string;
  readonly nextRoute?: string;
}

const ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK, REFER, MESSAGE, SUBSCRIBE, NOTIFY";

interface ServerEntry extends Upstream {
  readonly key: string;
  readonly source: Source;
  readonly reply: ReplyPath;
  /** The request, until a final response went upstream (then only retransmission absorption remains: memory). */
  request: SipRequest | undefined;
  invite?: ServerInviteTransaction<Uint8Array>;
  nonInvite?: ServerNonInviteTransaction<Uint8Array>;
  context?: ResponseContext;
  /** A CANCEL arrived while the route decision was still pending. */
  cancelled?: boolean;
}

export interface ProxyCoreOptions {
  readonly route: RouteHandler;
  readonly maxMessageSize: number;
  /** Lower-case names of the headers routing rules look at: only those travel in the event. */
  readonly eventHeaders?: () => readonly string[];
}

export class ProxyCore {
  readonly #env: ProxyEnv;
  readonly #route: RouteHandler;
  readonly #maxMessageSize: number;
  readonly #eventHeaders: () => readonly string[];
  // SlotMaps, not Maps: a busy long-lived Map keeps dead transactions alive through minor GCs (collections/slot-map.ts).
  readonly #servers = new SlotMap<ServerEntry>();
  readonly #clients = new SlotMap<(response: SipResponse) => void>();
  readonly #targetCache = new Map<string, Target | undefined>();
  /** Dialogs this gateway set up and still supervises (keepalive, maximum duration); forgotten at their BYE. */
  readonly #owned = new SlotMap<{ readonly dialog: Dialog; pingedAt: number }>();
  /** Server transactions past their final: Timer J (§17.2.2) and Timer L (RFC 6026 §8.7), both 64×T1. */
  readonly #retiredServers: RetiredTable<RetiredServer>;
  /** INVITE client transactions past their 2xx (RFC 6026 §8.4 Timer M, 64×T1): where a retransmitted 2xx goes. */
  readonly #acceptedClients: RetiredTable<ReplyPath>;
  /** Non-INVITE client transactions past their final (§17.1.2.2 Timer K, T4): retransmitted finals are absorbed. */
  readonly #completedClients: RetiredTable<true>;
  #sweepTimer: unknown;
  #draining = false;

  constructor(env: ProxyEnv, options: ProxyCoreOptions) {
    this.#env = env;
    this.#retiredServers = new RetiredTable(64 * env.timers.t1, retiredServerCodec);
    this.#acceptedClients = new RetiredTable(64 * env.timers.t1, replyPathCodec);
    this.#completedClients = new RetiredTable(env.timers.t4, presenceCodec);
    this.#route = options.route;
    this.#maxMessageSize = options.maxMessageSize;
    this.#eventHeaders = options.eventHeaders ?? (() => []);
  }

  /** Transactions held in memory (server + client), for status. */
  get pending(): number {
    return this.#servers.size + this.#clients.size + this.retired;
  }

  /** Of which retired: past their final, kept as small records while retransmissions may still come (retired.ts). */
  get retired(): number {
    return this.#retiredServers.size + this.#acceptedClients.size + this.#completedClients.size;
  }

  /**
   * Requests still waiting for their final answer: graceful shutdown waits for these. Transactions that only linger
   * to absorb retransmissions (Completed, Accepted) are not counted.
   */
  get inFlight(): number {
    let count = 0;
    for (const entry of this.#servers.values()) {
      const state = entry.invite?.state ?? entry.nonInvite?.state;
      if (state === "proceeding" || state === "trying") count++;
    }
    return count;
  }

  /** Stop taking new calls (503 to new initial requests); in-dialog traffic and running transactions go on. */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Stop every timer (shutdown after the grace period). */
  dispose(): void {
    for (const entry of this.#servers.values()) {
      entry.context?.dispose();
      entry.invite?.dispose();
      entry.nonInvite?.dispose();
    }
    this.#servers.clear();
    this.#clients.clear();
    this.#retiredServers.clear();
    this.#acceptedClients.clear();
    this.#completedClients.clear();
    if (this.#sweepTimer !== undefined) this.#env.clock.clearTimer(this.#sweepTimer as never);
    this.#sweepTimer = undefined;
  }

  /** Keep a retired record, and make sure one timer will sweep it out when its time is up. */
  #retire<V>(table: RetiredTable<V>, key: string, value: V): void {
    // The table copies key and value into its own bytes (retired.ts): the record holds nothing of the message.
    table.add(key, value, this.#env.clock.now());
    this.#armSweep();
  }

  /** One timer for every retired record: it fires at the oldest expiry and re-arms while records remain. */
  #armSweep(): void {
    if (this.#sweepTimer !== undefined) return;
    let next: number | undefined;
    for (const table of [this.#retiredServers, this.#acceptedClients, this.#completedClients] as RetiredTable<unknown>[]) {
      const at = table.nextExpiry;
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    if (next === undefined) return;
    // At most once a second: expiry a little late costs nothing, a timer per record would cost memory and CPU.
    const delay = Math.max(next - this.#env.clock.now(), 1000);
    this.#sweepTimer = this.#env.clock.setTimer(delay, () => {
      this.#sweepTimer = undefined;
      const now = this.#env.clock.now();
      this.#retiredServers.sweep(now);
      this.#acceptedClients.sweep(now);
      this.#completedClients.sweep(now);
      this.#armSweep();
    });
  }

  /** A server transaction reached its lingering state (Accepted after a 2xx, Completed after a final): retire it. */
  #retireServer(entry: ServerEntry, value: RetiredServer): void {
    entry.invite?.dispose();
    entry.nonInvite?.dispose();
    if (this.#servers.get(entry.key) === entry) this.#servers.delete(entry.key);
    this.#retire(this.#retiredServers, entry.key, value);
  }

  /** Entry point for every message from any transport. Never throws: port 5060 input is hostile. */
  handle(data: Uint8Array, source: Source): void {
    const env = this.#env;
    env.counters.inc("messages.received");
    try {
      const parsed = parseMessage(data, { maxSize: this.#maxMessageSize, stream: source.transport === "tcp" });
      if (!parsed.ok) {
        this.#rejectMalformed(parsed.error, source);
        return;
      }
      const message = parsed.message;
      if (message.type === "response") this.#onResponse(message);
      else this.#onRequest(message, source);
    } catch (error) {
      // A bug must cost one message, never the process and the calls in flight.
      env.counters.inc("errors.internal");
      env.log.log("error", "internal error handling a message", { error: String((error as Error)?.stack ?? error) });
    }
  }

  /**
   * A TCP stream whose framing broke: answer from its header section when it is a request we can answer (§18.3,
   * §21.5.13 513), so the client learns why before the connection closes.
   */
  rejectFrame(head: Uint8Array, status: number, reason: string, source: Source): Uint8Array | undefined {
    const env = this.#env;
    env.counters.inc(`malformed.stream.${status}`);
    try {
      const parsed = parseMessage(head, { maxSize: head.length + 1 });
      const headers = parsed.ok ? (parsed.message.type === "request" ? parsed.message.headers : undefined) : parsed.error.reply?.headers;
      if (!headers || (parsed.ok && parsed.message.type === "request" && parsed.message.method === "ACK")) return undefined;
      env.counters.inc(`generated.${status}`);
      return buildResponse(headers, status, reason, { toTag: env.ids.next() });
    } catch {
      return undefined;
    }
  }

  #rejectMalformed(error: SipParseError, source: Source): void {
    const env = this.#env;
    env.counters.inc(`malformed.${error.code}`);
    if (!error.reply) {
      env.counters.inc("malformed.dropped");
      if (env.log.enabled("debug")) env.log.log("debug", "dropped malformed message", { code: error.code, detail: error.detail, from: source.address });
      return;
    }
    env.counters.inc(`generated.${error.reply.status}`);
    const response = buildResponse(error.reply.headers, error.reply.status, error.reply.reason, { toTag: env.ids.next() });
    this.#sendToSource(source, undefined, response);
  }

  // ---------------------------------------------------------------- responses

  #onResponse(response: SipResponse): void {
    const env = this.#env;
    const top = response.vias[0];
    if (!top?.branch?.startsWith(BRANCH_PREFIX)) {
      env.counters.inc("responses.stray");
      return; // §16.7 / §18.1.2: a response whose top Via is not ours is not ours to route
    }
    const clientKey = `${top.branch}|${response.cseq.method}`;
    const client = this.#clients.get(clientKey);
    if (client) {
      client(response);
      return;
    }
    const accepted = this.#acceptedClients.get(clientKey);
    if (accepted !== undefined) {
      // RFC 6026 §8.4: in Accepted a 2xx (a retransmission, or another fork's) goes to the TU, which relays it.
      env.counters.inc("responses.retransmitted");
      if (response.status >= 200 && response.status < 300) {
        this.#sendReply(accepted, relayedResponse(response));
      }
      return;
    }
    if (this.#completedClients.get(clientKey) !== undefined) {
      env.counters.inc("responses.retransmitted"); // §17.1.2.2: absorbed in Completed
      return;
    }
    // A 2xx to INVITE outliving its client transaction (retransmission after Timer M): forward statelessly.
    if (response.cseq.method === "INVITE" && response.status >= 200 && response.status < 300) {
      const next = response.vias[1];
      if (!next) return;
      env.counters.inc("responses.stateless");
      env.send(viaTarget(next), relayedResponse(response));
      return;
    }
    env.counters.inc("responses.unmatched");
  }

  // ---------------------------------------------------------------- requests

  #serverKey(request: SipRequest, method: string): string | undefined {
    const via = request.vias[0];
    if (!via) return undefined;
    // §17.2.3: RFC 3261 branches match on branch + sent-by + method; older ones on the whole request identity.
    if (via.branch?.startsWith(MAGIC_COOKIE)) return transactionKey(via.branch, via.host, via.port ?? "", method);
    return transactionKey("2543", request.callId, request.fromTag ?? "", request.cseq.seq, via.raw, method);
  }

  #onRequest(request: SipRequest, source: Source): void {
    const env = this.#env;
    const method = request.method;
    if (method === "ACK") {
      // ACK for a non-2xx final we sent matches the INVITE server transaction (§17.2.3) and ends there.
      const key = this.#serverKey(request, "INVITE");
      const entry = key === undefined ? undefined : this.#servers.get(key);
      if (entry?.invite && entry.invite.receiveAck()) return;
      this.#onAckFor2xx(request, source);
      return;
    }
    const key = this.#serverKey(request, method);
    if (key === undefined) return;
    const existing = this.#servers.get(key);
    if (existing) {
      env.counters.inc("requests.retransmitted");
      existing.invite?.receiveRequestRetransmission();
      existing.nonInvite?.receiveRequestRetransmission();
      return;
    }
    const retired = this.#retiredServers.get(key);
    if (retired !== undefined) {
      // §17.2.2 Completed: the final again; RFC 6026 §8.7 Accepted: an INVITE retransmission is absorbed.
      env.counters.inc("requests.retransmitted");
      if (typeof retired !== "string") this.#sendReply(retired.reply, Buffer.from(retired.final, "latin1"));
      return;
    }
    if (method === "CANCEL") {
      this.#onCancel(request, source, key);
      return;
    }
    // §16.3 step 3: Max-Forwards exhausted. An OPTIONS may be answered by us instead (§16.3, §11).
    if (request.maxForwards === 0 && !(method === "OPTIONS" && this.#addressedToUs(request))) {
      this.#replyStateless(request, source, 483, "Too Many Hops");
      return;
    }
    const routes = this.#ourRoutes(request);
    if (routes.kind === "forged") {
      env.counters.inc("requests.forged-route");
      env.log.log("warn", "refused a request with a forged route", { callId: request.callId, from: source.address, reason: routes.reason });
      this.#replyStateless(request, source, 403, "Forbidden");
      return;
    }
    if (routes.kind === "ours") {
      this.#onInDialog(request, source, key, routes);
      return;
    }
    if (request.toTag !== undefined) {
      // In-dialog, but not through us: we never relay to a host the request names (no open relay).
      env.counters.inc("requests.unroutable-in-dialog");
      this.#replyStateless(request, source, 481, "Call/Transaction Does Not Exist");
      return;
    }
    if (method === "OPTIONS" && this.#addressedToUs(request)) {
      this.#replyStateless(request, source, 200, "OK", [header("allow", ALLOW), header("accept", "application/sdp")]);
      return;
    }
    // §16.3 step 4: loop detection (a spiral, with a changed Request-URI, is fine).
    const hash = loopHash(request);
    if (isLoop(request, hash, (host, port) => env.addresses.isUs(host, port))) {
      env.counters.inc("requests.loop");
      this.#replyStateless(request, source, 482, "Loop Detected");
      return;
    }
    if (this.#draining) {
      this.#replyStateless(request, source, 503, "Service Unavailable", [header("retry-after", "5")]);
      return;
    }
    this.#onInitial(request, source, key);
  }

  #addressedToUs(request: SipRequest): boolean {
    return request.uri.user === undefined && request.uri.scheme !== "tel" && this.#env.addresses.isUs(request.uri.host, request.uri.port) && !request.headers.some((h) => h.name === "route");
  }

  /**
   * Route pre-processing (§16.4): our own entries on top of the Route set are verified and popped. An entry that
   * names us but fails verification is forged (403). At most two are ours (double record-routing, RFC 5658).
   */
  #ourRoutes(
    request: SipRequest,
  ): { kind: "none" } | { kind: "forged"; reason: string } | ({ kind: "ours" } & OurRoutes) {
    const fields = request.headers;
    let values: string[] | undefined;
    for (const field of fields) {
      if (field.name !== "route") continue;
      (values ??= []).push(...splitHeaderValues(field.value));
    }
    if (!values) return { kind: "none" };
    const env = this.#env;
    let count = 0;
    let verified: { dialogId: string; target: Target; direction: "downstream" | "upstream"; destinationId?: string } | undefined;
    for (const value of values) {
      if (count >= 2) break;
      const addr = parseRoute(value);
      if (!addr || addr.uri.scheme === "tel" || !env.addresses.isUs(addr.uri.host, addr.uri.port)) break;
      const result = env.signer.verify(addr.uri.params, request.fromTag, request.toTag);
      if (!result.ok) return { kind: "forged", reason: result.reason };
      if (verified && result.token.dialogId !== verified.dialogId) break;
      verified ??= {
        dialogId: result.token.dialogId,
        target: result.token.target,
        direction: result.direction,
        destinationId: result.token.destinationId,
      };
      count++;
    }
    if (!verified) return { kind: "none" };
    const next = values[count];
    return {
      kind: "ours",
      count,
      plan: { kind: "in-dialog", dialogId: verified.dialogId, direction: verified.direction },
      target: verified.target,
      destinationId: verified.destinationId,
      nextRoute: next,
    };
  }

  // ---------------------------------------------------------------- server transactions

  #createServer(request: SipRequest, source: Source, key: string, toTag?: string): ServerEntry {
    const env = this.#env;
    const via = request.vias[0];
    const reliable = source.transport === "tcp";
    const reply = replyPath(source, via);
    const send = (data: Uint8Array) => this.#sendReply(reply, data);
    const stampedVia = via === undefined ? undefined : stampVia(via, source.address, source.port);
    const entry: ServerEntry = {
      key,
      source,
      reply,
      request,
      toTag: toTag ?? env.ids.next(),
      transport: source.transport,
      // present even when undefined: one entry shape with or without a stamped Via (see sipUri in uri.ts)
      stampedVia,
      respond: (status, data) => {
        if (status >= 200) entry.request = undefined;
        const invite = entry.invite;
        if (invite) {
          // A 2xx is relayed whatever the transaction's state (late answer after a non-2xx, retransmission after
          // Timer L or once retired): the caller must see it to ACK or BYE it (§16.7 step 5, RFC 6026).
          if (!invite.respond(status, data)) {
            if (status >= 200 && status < 300) send(data);
          } else if (invite.state === "accepted") {
            this.#retireServer(entry, entry.toTag);
          }
        } else if (entry.nonInvite) {
          entry.nonInvite.respond(status, data);
          // Over UDP the final is kept for retransmitted requests (Timer J): as latin1 text (identity on bytes), one
          // heap object where a copied Uint8Array is three plus an off-heap store, and 32 s × the call rate of them.
          if (status >= 200 && entry.nonInvite.state === "completed") this.#retireServer(entry, { reply, final: latin1(data) });
        }
      },
    };
    const onTerminated = () => {
      if (this.#servers.get(key) === entry) this.#servers.delete(key);
    };
    if (request.method === "INVITE") {
      entry.invite = new ServerInviteTransaction<Uint8Array>({ reliable, timers: env.timers, clock: env.clock, send, onTerminated });
    } else {
      entry.nonInvite = new ServerNonInviteTransaction<Uint8Array>({ reliable, timers: env.timers, clock: env.clock, send, onTerminated });
    }
    this.#servers.set(key, entry);
    return entry;
  }

  #sendToSource(source: Source, via: Via | undefined, data: Uint8Array): void {
    this.#sendReply(replyPath(source, via), data);
  }

  #sendReply(reply: ReplyPath, data: Uint8Array): void {
    this.#env.send(reply, data, undefined, reply.connectionId);
  }

  #replyStateless(request: SipRequest, source: Source, status: number, reason: string, extra?: ReturnType<typeof header>[]): void {
    this.#env.counters.inc(`generated.${status}`);
    const data = buildResponse(request.headers, status, reason, { toTag: this.#env.ids.next(), ...(extra ? { extraHeaders: extra } : {}) });
    this.#sendToSource(source, request.vias[0], data);
  }

  #generate(entry: ServerEntry, status: number, reason: string): void {
    this.#env.counters.inc(`generated.${status}`);
    const request = entry.request;
    if (!request) return;
    entry.respond(status, buildResponse(request.headers, status, reason, status === 100 ? {} : { toTag: entry.toTag }));
  }

  // ---------------------------------------------------------------- initial requests

  #onInitial(request: SipRequest, source: Source, key: string): void {
    const env = this.#env;
    const entry = this.#createServer(request, source, key);
    // §16.2 / §17.2.1: a stateful proxy answers an INVITE with 100 Trying at once, stopping the caller's Timer A.
    if (request.method === "INVITE") this.#generate(entry, 100, "Trying");
    env.counters.inc(`requests.initial.${request.method}`);
    const event: RequestEvent = {
      type: "request",
      version: EVENT_VERSION,
      method: request.method,
      requestUri: request.uriText,
      callId: request.callId,
      from: { uri: request.from.uriText, tag: request.fromTag },
      to: { uri: request.to.uriText },
      source: { transport: source.transport, address: source.address, port: source.port },
      gateway: env.gatewayId,
      ...this.#headersFor(request),
    };
    let decision: RouteDecision | Promise<RouteDecision>;
    try {
      decision = this.#route(event);
    } catch (error) {
      this.#routeFailed(entry, error);
      return;
    }
    if (decision instanceof Promise) {
      decision.then(
        (d) => this.#apply(entry, d),
        (error) => this.#routeFailed(entry, error),
      );
    } else {
      this.#apply(entry, decision);
    }
  }

  #headersFor(request: SipRequest): { headers?: Record<string, string[]> } {
    const names = this.#eventHeaders();
    if (names.length === 0) return {};
    const headers: Record<string, string[]> = {};
    for (const field of request.headers) if (names.includes(field.name)) (headers[field.name] ??= []).push(field.value);
    return { headers };
  }

  #routeFailed(entry: ServerEntry, error: unknown): void {
    this.#env.counters.inc("route.errors");
    this.#env.log.log("error", "route function failed", { callId: entry.request?.callId, error: String(error) });
    this.#generate(entry, 500, "Routing Failed");
  }

  #apply(entry: ServerEntry, decision: RouteDecision): void {
    const env = this.#env;
    if (entry.cancelled) {
      this.#generate(entry, 487, "Request Terminated");
      return;
    }
    switch (decision.action) {
      case "drop":
        env.counters.inc("route.dropped");
        entry.invite?.dispose();
        entry.nonInvite?.dispose();
        this.#servers.delete(entry.key);
        return;
      case "reply":
        this.#generate(entry, decision.status, decision.reason ?? "Rejected");
        return;
      case "relay": {
        const hops: Hop[] = [];
        for (const ref of decision.destinations) {
          const target = this.#target(ref.uri);
          if (target) hops.push({ target, destinationId: ref.id, destinationUri: ref.uri, capacities: ref.capacities });
        }
        if (hops.length === 0) {
          this.#generate(entry, 503, "No Destination Available");
          return;
        }
        this.#startContext(entry, {
          kind: "initial",
          hops,
          dialogId: env.ids.next(),
          units: decision.units,
          maxDurationS: decision.maxDurationS,
        });
      }
    }
  }

  #target(uri: string): Target | undefined {
    let target = this.#targetCache.get(uri);
    if (target === undefined && !this.#targetCache.has(uri)) {
      target = destinationTarget(uri);
      if (this.#targetCache.size > 4096) this.#targetCache.clear();
      this.#targetCache.set(uri, target);
    }
    return target;
  }

  #startContext(entry: ServerEntry, plan: RelayPlan): void {
    const request = entry.request;
    if (!request) return;
    const context = new ResponseContext(this.#env, entry, request, plan, {
      registerClient: (key, onResponse) => this.#clients.set(key, onResponse),
      unregisterClient: (key) => this.#clients.delete(key),
      retireClient: (key, accepted) => {
        this.#clients.delete(key);
        if (accepted) this.#retire(this.#acceptedClients, key, entry.reply);
        else this.#retire(this.#completedClients, key, true as const);
      },
      // RFC 4320 §4.2: a non-INVITE whose branches all failed gets no final at all, so its server transaction would
      // stay in Trying forever. It absorbs retransmissions while the client may still send them (Timer F, 64*T1).
      finished: () => {
        entry.request = undefined;
        const tx = entry.nonInvite;
        if (!tx || (tx.state !== "trying" && tx.state !== "proceeding")) return;
        this.#env.clock.setTimer(64 * this.#env.timers.t1, () => {
          tx.dispose();
          if (this.#servers.get(entry.key) === entry) this.#servers.delete(entry.key);
        });
      },
      dialogConfirmed: (ctx, hop, response) => this.#recordDialog(ctx, hop, response, entry.source),
    });
    entry.context = context;
    context.start();
  }

  #recordDialog(context: ResponseContext, hop: Hop, response: SipResponse, source: Source): void {
    const env = this.#env;
    const plan = context.plan;
    const request = context.request;
    if (!request || plan.kind !== "initial" || response.toTag === undefined || request.fromTag === undefined) return;
    const now = env.epochNow();
    // The record lives as long as the call: every string cut from the INVITE or the 2xx is detached (detach.ts),
    // or each held call would keep both messages' whole text in memory.
    const callerContact = contactOf(request).contact;
    const calleeContact = contactOf(response).contact;
    const dialog: Dialog = {
      id: plan.dialogId,
      callId: detach(request.callId),
      callerTag: detach(request.fromTag),
      calleeTag: detach(response.toTag),
      destinationId: hop.destinationId ?? "",
      destinationUri: hop.destinationUri ?? "",
      routeSet: recordRouteOf(response).map(detach),
      callerCseq: request.cseq.seq,
      ...(plan.maxDurationS !== undefined ? { maxDurationS: plan.maxDurationS } : {}),
      caller: {
        nameAddr: detach(getHeader(request, "from") ?? ""),
        ...(callerContact !== undefined ? { contact: detach(callerContact) } : {}),
        target: encodeTarget({ transport: source.transport, host: source.address, port: source.port }),
      },
      callee: { nameAddr: detach(getHeader(response, "to") ?? ""), ...(calleeContact !== undefined ? { contact: detach(calleeContact) } : {}) },
      gateway: env.gatewayId,
      createdAt: now,
      updatedAt: now,
      expiresAt: now + env.dialogTtlMs,
    };
    env.counters.inc("dialogs.confirmed");
    this.#owned.set(dialog.id, { dialog, pingedAt: now });
    env.dialogs.put(dialog, env.dialogTtlMs).catch((error) => this.#storeFailed("put", error));
  }

  /**
   * End a confirmed dialog from the middle (admin DELETE /v1/dialogs/{id}, dialog keepalive, maximum duration): a
   * BYE to each side as from its peer, then the record and the capacity go. Works from any gateway: everything
   * needed is in the dialog record.
   */
  async endDialog(id: string): Promise<"ended" | "not-found"> {
    const env = this.#env;
    const dialog = (await env.dialogs.get(id).catch(() => undefined)) ?? this.#owned.get(id)?.dialog;
    const ends = dialog === undefined ? undefined : this.#dialogEnds(dialog);
    if (!dialog || !ends) return "not-found";
    this.#owned.delete(id);
    const { toCallee, toCaller } = dialogByes(ends.ends, this.#via(ends.callee), this.#via(ends.caller));
    void this.#transact(toCallee, ends.callee, 64 * env.timers.t1);
    void this.#transact(toCaller, ends.caller, 64 * env.timers.t1);
    env.counters.inc("dialogs.ended-by-gateway");
    await Promise.allSettled([env.dialogs.remove(id), env.dialogs.release(dialog.destinationId, id)]);
    return "ended";
  }

  /**
   * Dialog keepalive and maximum duration, for the dialogs this gateway set up (called on the timer): a call past
   * `maxDurationMs` is ended; otherwise every `pingIntervalMs` both sides get an in-dialog OPTIONS, and a side that
   * answers 408/481 or not at all ends the call (BYE to the other side, capacity freed). 0 turns either off.
   */
  async superviseDialogs(options: { pingIntervalMs: number; maxDurationMs: number; timeoutMs: number }): Promise<void> {
    const env = this.#env;
    const now = env.epochNow();
    const work: Promise<unknown>[] = [];
    for (const [id, owned] of this.#owned) {
      const maxMs = owned.dialog.maxDurationS !== undefined ? owned.dialog.maxDurationS * 1000 : options.maxDurationMs;
      if (maxMs > 0 && now - owned.dialog.createdAt >= maxMs) {
        env.counters.inc("dialogs.max-duration");
        work.push(this.endDialog(id));
        continue;
      }
      if (options.pingIntervalMs <= 0 || now - owned.pingedAt < options.pingIntervalMs) continue;
      owned.pingedAt = now;
      const ends = this.#dialogEnds(owned.dialog);
      if (!ends) continue;
      const { toCallee, toCaller } = dialogPings(ends.ends, this.#via(ends.callee), this.#via(ends.caller));
      work.push(
        Promise.all([this.#transact(toCallee, ends.callee, options.timeoutMs), this.#transact(toCaller, ends.caller, options.timeoutMs)]).then(
          (outcomes) => {
            const gone = outcomes.some((o) => o.result !== "reply" || o.status === 408 || o.status === 481);
            env.counters.inc(gone ? "dialogs.keepalive-failed" : "dialogs.keepalive-ok");
            if (gone && this.#owned.has(id)) return this.endDialog(id);
            return undefined;
          },
        ),
      );
    }
    await Promise.all(work);
  }

  /** Everything needed to send requests inside a dialog from the middle, from its record. */
  #dialogEnds(dialog: Dialog): { ends: DialogEnds; callee: Target; caller: Target } | undefined {
    if (!dialog.caller?.contact || !dialog.callee?.contact) return undefined;
    const id = dialog.id;
    const index = dialog.routeSet.findIndex((value) => parseNameAddr(value)?.uri.params.get("d") === id);
    let count = 0;
    while (index >= 0 && parseNameAddr(dialog.routeSet[index + count] ?? "")?.uri.params.get("d") === id) count++;
    const callee = destinationTarget(dialog.destinationUri);
    const callerSource = decodeTarget(dialog.caller.target);
    if (!callee || !callerSource) return undefined;
    const ends: DialogEnds = {
      callId: dialog.callId,
      caller: { nameAddr: dialog.caller.nameAddr, contact: dialog.caller.contact },
      callee: { nameAddr: dialog.callee.nameAddr, contact: dialog.callee.contact },
      recordRoute: dialog.routeSet,
      ours: { index: Math.max(index, 0), count: index >= 0 ? count : 0 },
      callerCseq: dialog.callerCseq,
      calleeCseq: dialog.calleeCseq ?? 0,
    };
    // Toward the caller: its next proxy if one record-routed below us, else where its INVITE came from (NAT-safe).
    const upstreamRoute = dialog.routeSet.slice(ends.ours.index + ends.ours.count)[0];
    const upstreamUri = upstreamRoute === undefined ? undefined : parseNameAddr(upstreamRoute)?.uri;
    return { ends, callee, caller: (upstreamUri && uriTarget(upstreamUri)) ?? callerSource };
  }

  #via(target: Target): string {
    const env = this.#env;
    return `SIP/2.0/${target.transport.toUpperCase()} ${env.addresses.hostPort(target.transport)};branch=${env.ids.branch("gw")};rport`;
  }

  /**
   * Send one request of our own as a non-INVITE client transaction and report what happened: the final's status and
   * latency, a timeout after `timeoutMs`, or a transport error. Never rejects.
   */
  #transact(spec: { startLine: string; headers: readonly HeaderField[] }, target: Target, timeoutMs: number): Promise<ProbeOutcome> {
    const env = this.#env;
    const started = env.clock.now();
    const method = spec.startLine.slice(0, spec.startLine.indexOf(" "));
    const branch = /branch=([^;]+)/.exec(spec.headers[0]?.value ?? "")?.[1] ?? "";
    const key = `${branch}|${method}`;
    const data = serializeMessage(spec.startLine, spec.headers, new Uint8Array(0));
    return new Promise((resolve) => {
      let done = false;
      const finish = (outcome: ProbeOutcome) => {
        if (done) return;
        done = true;
        env.clock.clearTimer(deadline);
        tx.dispose();
        this.#clients.delete(key);
        resolve(outcome);
      };
      const elapsed = () => env.clock.now() - started;
      const tx = new ClientNonInviteTransaction<Uint8Array, SipResponse>({
        request: data,
        reliable: target.transport === "tcp",
        timers: env.timers,
        clock: env.clock,
        send: (bytes) => env.send(target, bytes, () => tx.transportError()),
        onResponse: (status) => {
          if (status >= 200) finish({ result: "reply", status, latencyMs: elapsed() });
        },
        onTimeout: () => finish({ result: "timeout", elapsedMs: elapsed() }),
        onTerminated: (reason) => {
          if (reason === "transport-error") finish({ result: "transport-error", elapsedMs: elapsed() });
        },
      });
      const deadline = env.clock.setTimer(timeoutMs, () => finish({ result: "timeout", elapsedMs: elapsed() }));
      this.#clients.set(key, (response) => tx.receiveResponse(response.status, response));
      tx.start();
    });
  }

  /**
   * Send one OPTIONS probe to a destination (RFC 3261 §11: OPTIONS asks a server what it can do; a reply of any kind
   * proves it is up, which codes count as alive is the caller's decision).
   */
  probe(target: Target, uri: string, options: ProbeOptions): Promise<ProbeOutcome> {
    const env = this.#env;
    env.counters.inc("probes.sent");
    const headers = [
      header("via", this.#via(target)),
      header("max-forwards", String(options.maxForwards)),
      header("from", `${options.from};tag=${env.ids.next()}`),
      header("to", `<${uri}>`),
      header("call-id", `probe-${env.ids.next()}`),
      header("cseq", "1 OPTIONS"),
      header("accept", "application/sdp"),
    ];
    return this.#transact({ startLine: `OPTIONS ${uri} SIP/2.0`, headers }, target, options.timeoutMs);
  }

  #storeFailed(op: string, error: unknown): void {
    this.#env.counters.inc("store.errors");
    this.#env.log.log("warn", "dialog store failed; calls go on (routing needs no store)", { op, error: String(error) });
  }

  // ---------------------------------------------------------------- CANCEL

  #onCancel(request: SipRequest, source: Source, key: string): void {
    const inviteKey = this.#serverKey(request, "INVITE");
    const invite = inviteKey === undefined ? undefined : this.#servers.get(inviteKey);
    const retired = inviteKey === undefined || invite ? undefined : this.#retiredServers.get(inviteKey);
    if (typeof retired === "string") {
      // The INVITE was answered 2xx (Accepted, retired): the CANCEL still gets its 200, and changes nothing (§9.2).
      this.#generate(this.#createServer(request, source, key, retired), 200, "OK");
      this.#env.counters.inc("cancel.received");
      return;
    }
    if (!invite?.invite) {
      // §9.2: no matching transaction.
      this.#replyStateless(request, source, 481, "Call/Transaction Does Not Exist");
      return;
    }
    // §16.10: the CANCEL gets its own 200 from us at once; the INVITE's 487 follows from downstream.
    // §9.2: the 200 to a CANCEL carries the same To tag as the responses to the INVITE.
    const entry = this.#createServer(request, source, key, invite.toTag);
    this.#generate(entry, 200, "OK");
    this.#env.counters.inc("cancel.received");
    if (invite.invite.state !== "proceeding") return;
    if (invite.context) invite.context.cancel();
    else invite.cancelled = true;
  }

  // ---------------------------------------------------------------- in-dialog requests

  #onInDialog(
    request: SipRequest,
    source: Source,
    key: string,
    routes: OurRoutes,
  ): void {
    const env = this.#env;
    const hop = this.#inDialogHop(request, routes);
    if (!hop) {
      this.#replyStateless(request, source, 404, "Not Found");
      return;
    }
    env.counters.inc(`requests.in-dialog.${request.method}`);
    const dialogId = routes.plan.dialogId;
    const destinationId = routes.destinationId;
    // The call's state follows its in-dialog traffic, through whichever gateway it passes: BYE ends the record and
    // gives the capacity back; anything else keeps both alive (fire and forget: routing never waits for the store).
    if (request.method === "BYE") {
      this.#owned.delete(dialogId);
      env.dialogs.remove(dialogId).catch((error) => this.#storeFailed("remove", error));
      if (destinationId !== undefined) env.dialogs.release(destinationId, dialogId).catch((error) => this.#storeFailed("release", error));
      env.counters.inc("dialogs.ended");
    } else {
      env.dialogs.touch(dialogId, env.dialogTtlMs).catch((error) => this.#storeFailed("touch", error));
      if (destinationId !== undefined) env.dialogs.refresh(destinationId, dialogId, env.dialogTtlMs).catch((error) => this.#storeFailed("refresh", error));
    }
    const entry = this.#createServer(request, source, key);
    if (request.method === "INVITE") this.#generate(entry, 100, "Trying");
    this.#startContext(entry, { ...routes.plan, hop, popRoutes: routes.count });
  }

  /**
   * Where an in-dialog request goes (§16.12): toward the callee, the destination our signed Route names (the one that
   * took the INVITE, whatever its Contact says); toward the caller, the next Route, else the Request-URI (the
   * caller's Contact), as loose routing prescribes.
   */
  #inDialogHop(request: SipRequest, routes: { plan: { direction: "downstream" | "upstream" }; target: Target; nextRoute?: string }): Hop | undefined {
    if (routes.plan.direction === "downstream") return { target: routes.target };
    let uri = request.uri;
    if (routes.nextRoute !== undefined) {
      const next = parseNameAddr(routes.nextRoute);
      if (!next) return undefined;
      uri = next.uri;
    }
    const target = uriTarget(uri);
    return target === undefined ? undefined : { target };
  }

  /** ACK for a 2xx is its own end-to-end transaction (§13.2.2.4, §17.1.1.3): forwarded statelessly by our Route. */
  #onAckFor2xx(request: SipRequest, source: Source): void {
    const env = this.#env;
    if (request.maxForwards === 0) {
      env.counters.inc("ack.too-many-hops");
      return; // §16.3 step 3: must not be forwarded, and an ACK is never answered (no 483)
    }
    const routes = this.#ourRoutes(request);
    if (routes.kind !== "ours") {
      env.counters.inc(routes.kind === "forged" ? "requests.forged-route" : "ack.unmatched");
      return; // an ACK is never answered
    }
    const hop = this.#inDialogHop(request, routes);
    if (!hop) return;
    const transport = hop.target.transport;
    const headers = forwardHeaders(request.headers, {
      via: `SIP/2.0/${transport.toUpperCase()} ${env.addresses.hostPort(transport)};branch=${env.ids.branch(loopHash(request))};rport`,
      maxForwards: request.maxForwards,
      popRoutes: routes.count,
      ...stamped(request.vias[0], source),
    });
    env.counters.inc("requests.in-dialog.ACK");
    env.send(hop.target, serializeMessage(`ACK ${request.uriText} SIP/2.0`, headers, request.body));
  }
}

function stamped(via: Via | undefined, source: Source): { topVia?: string } {
  const topVia = via === undefined ? undefined : stampVia(via, source.address, source.port);
  return topVia === undefined ? {} : { topVia };
}

/** The first Contact URI of a message, for the dialog record. */
function contactOf(message: SipRequest | SipResponse): { contact?: string } {
  const first = getHeaderValues(message, "contact")[0];
  const contact = first === undefined ? undefined : parseNameAddr(first)?.uriText;
  return contact === undefined ? {} : { contact };
}

/** Where a response goes by a Via value (§18.2.2, RFC 3581): received/rport when the previous hop set them. */
function viaTarget(via: Via): Target {
  const transport = via.transport === "TCP" ? "tcp" : "udp";
  const host = via.received ?? (via.host.startsWith("[") ? via.host.slice(1, -1) : via.host);
  const port = typeof via.rport === "number" ? via.rport : (via.port ?? 5060);
  return { transport, host, port };
}

/** Responses to a request go back where it came from (§18.2.2, RFC 3581 rport): the TCP connection, or received:port. */
function replyPath(source: Source, via: Via | undefined): ReplyPath {
  if (source.transport === "tcp") {
    return source.connectionId === undefined
      ? { transport: "tcp", host: source.address, port: source.port }
      : { transport: "tcp", host: source.address, port: source.port, connectionId: source.connectionId };
  }
  const port = via === undefined || via.rport !== undefined ? source.port : (via.port ?? 5060);
  return { transport: "udp", host: source.address, port };
}

/** The bytes as latin1 text: one char per byte, so Buffer.from(text, "latin1") gives them back unchanged. */
function latin1(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1");
}
