/**
 * The response context of one proxied request (RFC 3261 §16.7): the branches we forward it on, serial failover
 * between destinations, CANCEL of the pending branch (§16.10), and the choice of the final response to send back.
 *
 * Branches are tried one at a time, in the order the route function gave (serial forking, like kamailio dispatcher
 * failover or OpenSIPS load_balancer's lb_next). A branch fails over on 408/500/502/503/504, on a transport error,
 * on Timer B/F, and when a destination stays silent past the branch timeout; any other final (a callee's answer such
 * as 404, 486, 603) ends the context, since trying elsewhere would ring a different callee.
 */
import { transactionKey } from "./transaction-key.ts";
import type { HeaderField, SipRequest, SipResponse } from "../sip/message.ts";
import { getHeader, getHeaderValues } from "../sip/parse.ts";
import type { TrafficEvidence } from "../health/state.ts";
import { buildResponse } from "../sip/response.ts";
import { serializeMessage } from "../sip/serialize.ts";
import { ClientInviteTransaction } from "../transaction/client-invite.ts";
import { ClientNonInviteTransaction } from "../transaction/client-non-invite.ts";
import type { TimerHandle } from "../transaction/clock.ts";
import { forwardHeaders, relayedResponse } from "../proxy/forward.ts";
import { buildAck, buildCancel, type SentInvite } from "../proxy/hop-requests.ts";
import { selectBestResponse, type FinalCandidate } from "../proxy/response-select.ts";
import type { Direction, Target } from "../proxy/route-token.ts";
import { loopHash } from "../proxy/loop.ts";
import type { ProxyEnv } from "./proxy-env.ts";

/**
 * Serial failover policy (kamailio dispatcher ds_next_dst in a failure_route, OpenSIPS lb_next): which finals move
 * the call on, how many destinations at most, and an overall time budget after which no new branch is started.
 * Never answers from the callee (404, 486, 603...): trying elsewhere would ring a different callee.
 */
export interface FailoverPolicy {
  readonly codes: ReadonlySet<number>;
  readonly maxAttempts: number;
  readonly budgetMs: number;
}

export const DEFAULT_FAILOVER: FailoverPolicy = { codes: new Set([408, 500, 502, 503, 504]), maxAttempts: 5, budgetMs: 30_000 };

/** Methods whose initial request creates a dialog, so we Record-Route them (§16.6 step 4, RFC 6665, RFC 3515). */
const DIALOG_CREATING = new Set(["INVITE", "SUBSCRIBE", "REFER", "NOTIFY"]);

export interface Hop {
  readonly target: Target;
  /** Destination id and URI (initial requests), for dialog records, capacity and logs. */
  readonly destinationId?: string;
  readonly destinationUri?: string;
  /** Capacity per resource to reserve against before sending there. */
  readonly capacities?: Readonly<Record<string, number>>;
}

export type RelayPlan =
  | {
      readonly kind: "initial";
      readonly hops: readonly Hop[];
      readonly dialogId: string;
      /** Units of each resource the call takes; reserved atomically on a destination before the INVITE goes there. */
      readonly units?: Readonly<Record<string, number>>;
      /** Hard maximum duration of the call (s), from its rule. */
      readonly maxDurationS?: number;
    }
  | {
      readonly kind: "in-dialog";
      readonly hop: Hop;
      readonly popRoutes: number;
      readonly dialogId: string;
      readonly direction: Direction;
    };

/** The upstream side: the server transaction the context answers through. */
export interface Upstream {
  /** Pass a response (already stripped of our Via) to the server transaction. */
  respond(status: number, data: Uint8Array): void;
  /** Our To tag for responses we generate ourselves (§8.2.6.2). */
  readonly toTag: string;
  /** The top Via stamped with received/rport (RFC 3581 §4), when it needed it. */
  readonly stampedVia?: string;
  readonly transport: "udp" | "tcp";
}

interface Branch {
  readonly hop: Hop;
  readonly branchId: string;
  /** What we sent, for the ACK and CANCEL we may still build; dropped once the branch has its final (memory). */
  sent: SentInvite | undefined;
  /** The hop-by-hop ACK for its non-2xx final, built once and resent for every retransmitted final (§17.1.1.3). */
  ack?: Uint8Array;
  invite?: ClientInviteTransaction<Uint8Array, SipResponse>;
  nonInvite?: ClientNonInviteTransaction<Uint8Array, SipResponse>;
  silenceTimer?: TimerHandle;
  /** Timer C (§16.8): bounds how long a branch may ring; reset by every provisional. */
  ringTimer?: TimerHandle;
  /** Timer C fired and we CANCELled: the final it brings counts as a 408 (failover), not as the callee's answer. */
  expired?: boolean;
  responded: boolean;
  provisional: boolean;
  /** Holds a capacity reservation on its destination (released once, on its failure). */
  reserved: boolean;
  /** A 2xx came: the reservation belongs to the dialog now. */
  answered: boolean;
  /** Given up for silence: its transaction stopped retransmitting, a late answer is still handled. */
  abandoned?: boolean;
  cancelSent: boolean;
  done: boolean;
}

export interface ContextHooks {
  /** Register/unregister the client transaction key so responses find their branch (§17.1.3). */
  registerClient(key: string, onResponse: (response: SipResponse) => void): void;
  unregisterClient(key: string): void;
  /** The context has sent its final answer upstream and has no pending branch. */
  finished(context: ResponseContext): void;
  /** A 2xx to an initial INVITE confirmed a dialog. */
  dialogConfirmed(context: ResponseContext, hop: Hop, response: SipResponse): void;
  /**
   * A branch's client transaction has its final and now only lingers for retransmissions (RFC 6026 Accepted after
   * a 2xx to INVITE, §17.1.2.2 Completed after a non-INVITE final): the core keeps a small record instead
   * (retired.ts). `accepted`: retransmitted 2xx still go upstream; otherwise retransmitted finals are absorbed.
   */
  retireClient(key: string, accepted: boolean): void;
}

export class ResponseContext {
  readonly #env: ProxyEnv;
  readonly #upstream: Upstream;
  /**
   * The request being proxied; dropped once the final answer went upstream (transactions linger 32 s after that to
   * absorb retransmissions, and holding every parsed request that long would dominate memory at high call rates).
   */
  #request: SipRequest | undefined;
  readonly #callId: string;
  readonly #method: string;
  readonly #plan: RelayPlan;
  readonly #hooks: ContextHooks;
  readonly #isInvite: boolean;
  readonly #finals: FinalCandidate<SipResponse>[] = [];
  #hopIndex = 0;
  /** Every branch started, in order; the last one is the current. Earlier ones may still answer late. */
  readonly #branches: Branch[] = [];
  #branch: Branch | undefined;
  #answered = false;
  #finalSent = false;
  #cancelled = false;
  /** A capacity reservation is in flight: forwarding and finishing wait for it. */
  #reserving = false;
  /** At least one destination was skipped for lack of capacity. */
  #noCapacity = false;
  #startedAt = 0;

  constructor(env: ProxyEnv, upstream: Upstream, request: SipRequest, plan: RelayPlan, hooks: ContextHooks) {
    this.#env = env;
    this.#upstream = upstream;
    this.#request = request;
    this.#callId = request.callId;
    this.#method = request.method;
    this.#plan = plan;
    this.#hooks = hooks;
    this.#isInvite = request.method === "INVITE";
  }

  get plan(): RelayPlan {
    return this.#plan;
  }

  /** The request, until the final answer went upstream. */
  get request(): SipRequest | undefined {
    return this.#request;
  }

  start(): void {
    this.#startedAt = this.#env.clock.now();
    this.#forwardNext();
  }

  /** Upstream CANCEL (§16.10): cancel the pending branch; the 487 it brings is relayed as the final answer. */
  cancel(): void {
    if (this.#cancelled || this.#finalSent) return;
    this.#cancelled = true;
    const branch = this.#branch;
    if (!branch || branch.done) {
      this.#finish();
      return;
    }
    // §9.1: a CANCEL may only follow a provisional response; until then it waits (sent when the 1xx arrives, or the
    // branch is given up when the silence timer fires).
    if (branch.provisional) this.#sendCancel(branch);
  }

  /** Gateway shutdown: stop timers and retransmissions of every branch. */
  dispose(): void {
    for (const branch of this.#branches) this.#closeBranch(branch);
  }

  #hops(): readonly Hop[] {
    return this.#plan.kind === "initial" ? this.#plan.hops : [this.#plan.hop];
  }

  #forwardNext(): void {
    if (this.#finalSent) return;
    const hops = this.#hops();
    const policy = this.#env.failover;
    const exhausted =
      this.#branches.length >= policy.maxAttempts || (this.#branches.length > 0 && this.#env.clock.now() - this.#startedAt >= policy.budgetMs);
    if (this.#cancelled || this.#hopIndex >= hops.length || exhausted) {
      if (exhausted && !this.#cancelled && this.#hopIndex < hops.length) this.#env.counters.inc("failover.budget-exhausted");
      this.#finish();
      return;
    }
    const hop = hops[this.#hopIndex++]!;
    const units = this.#plan.kind === "initial" ? this.#plan.units : undefined;
    if (!units || hop.destinationId === undefined) {
      this.#forward(hop, false);
      return;
    }
    // Capacity is taken atomically in the store before the INVITE leaves (one round trip): the route function's
    // view of load may be stale, the reservation is what guarantees no destination is ever overbooked.
    const env = this.#env;
    const dialogId = this.#plan.dialogId;
    this.#reserving = true;
    env.dialogs.reserve({ destinationId: hop.destinationId, id: dialogId, units }, hop.capacities ?? {}, env.setupTtlMs).then(
      (result) => {
        this.#reserving = false;
        if (!result.ok) {
          env.counters.inc("capacity.full");
          this.#noCapacity = true;
          this.#forwardNext();
          return;
        }
        if (this.#cancelled) {
          this.#releaseHop(hop);
          this.#finish();
          return;
        }
        this.#forward(hop, true);
      },
      (error) => {
        // Not even the local fallback could answer (a bug, not an outage): carry the call rather than lose it.
        this.#reserving = false;
        env.counters.inc("capacity.errors");
        env.log.log("error", "capacity reservation failed; call sent unreserved", { callId: this.#callId, error: String(error) });
        if (this.#cancelled) this.#finish();
        else this.#forward(hop, false);
      },
    );
  }

  #evidence(branch: Branch, evidence: TrafficEvidence): void {
    if (branch.hop.destinationId !== undefined) this.#env.evidence?.(branch.hop.destinationId, evidence);
  }

  #releaseHop(hop: Hop): void {
    if (hop.destinationId === undefined) return;
    this.#env.dialogs.release(hop.destinationId, this.#plan.dialogId).catch(() => this.#env.counters.inc("capacity.release-errors"));
  }

  /** Give the branch's reservation back: once, and never after a 2xx made it the dialog's. */
  #releaseBranch(branch: Branch): void {
    if (!branch.reserved || branch.answered) return;
    branch.reserved = false;
    this.#releaseHop(branch.hop);
  }

  #forward(hop: Hop, reserved: boolean): void {
    const env = this.#env;
    const request = this.#request;
    if (!request) return;
    const transport = hop.target.transport;
    const branchId = env.ids.branch(loopHash(request));
    const via = `SIP/2.0/${transport.toUpperCase()} ${env.addresses.hostPort(transport)};branch=${branchId};rport`;
    let recordRoute: string[] | undefined;
    if (this.#plan.kind === "initial" && DIALOG_CREATING.has(request.method) && request.fromTag !== undefined) {
      const token = { dialogId: this.#plan.dialogId, target: hop.target };
      const params = env.signer.sign(hop.destinationId !== undefined ? { ...token, destinationId: hop.destinationId } : token, request.fromTag);
      const entry = (t: "udp" | "tcp") => `<sip:${env.addresses.hostPort(t)};transport=${t};lr${params}>`;
      // Double record-routing when the call crosses transports (RFC 5658): the top entry faces the callee, the
      // second the caller, so each side reaches us over its own transport.
      recordRoute = transport === this.#upstream.transport ? [entry(transport)] : [entry(transport), entry(this.#upstream.transport)];
    }
    const headers = forwardHeaders(request.headers, {
      via,
      maxForwards: request.maxForwards,
      recordRoute,
      popRoutes: this.#plan.kind === "in-dialog" ? this.#plan.popRoutes : 0,
      topVia: this.#upstream.stampedVia,
    });
    const data = serializeMessage(`${request.method} ${request.uriText} SIP/2.0`, headers, request.body);
    const branch: Branch = {
      hop,
      branchId,
      sent: { uriText: request.uriText, headers, cseq: request.cseq.seq },
      responded: false,
      provisional: false,
      reserved,
      answered: false,
      cancelSent: false,
      done: false,
    };
    this.#branch = branch;
    this.#branches.push(branch);
    const reliable = transport === "tcp";
    const key = transactionKey(branchId, request.method);
    const send = (bytes: Uint8Array) =>
      env.send(hop.target, bytes, () => {
        env.counters.inc("transport.errors");
        branch.invite?.transportError();
        branch.nonInvite?.transportError();
      });
    env.counters.inc(`relay.${this.#plan.kind}`);
    if (this.#isInvite) {
      branch.invite = new ClientInviteTransaction<Uint8Array, SipResponse>({
        request: data,
        reliable,
        timers: env.timers,
        clock: env.clock,
        send,
        sendAck: (response) => {
          const ack = ackFor(branch, response);
          if (ack) env.send(hop.target, ack);
        },
        onResponse: (status, response) => this.#onResponse(branch, status, response),
        onTimeout: () => {
          this.#evidence(branch, { source: "traffic", result: "timeout" });
          this.#onFailure(branch, "timeout");
        },
        onTerminated: (reason) => {
          this.#hooks.unregisterClient(key);
          if (reason === "transport-error") {
            this.#evidence(branch, { source: "traffic", result: "transport-error" });
            this.#onFailure(branch, "transport-error");
          }
          // The branch can no longer answer (a silent one ends at Timer B): its capacity goes back.
          this.#releaseBranch(branch);
        },
      });
    } else {
      branch.nonInvite = new ClientNonInviteTransaction<Uint8Array, SipResponse>({
        request: data,
        reliable,
        timers: env.timers,
        clock: env.clock,
        send,
        onResponse: (status, response) => this.#onResponse(branch, status, response),
        onTimeout: () => {
          this.#evidence(branch, { source: "traffic", result: "timeout" });
          this.#onFailure(branch, "timeout");
        },
        onTerminated: (reason) => {
          this.#hooks.unregisterClient(key);
          if (reason === "transport-error") {
            this.#evidence(branch, { source: "traffic", result: "transport-error" });
            this.#onFailure(branch, "transport-error");
          }
          // The branch can no longer answer (a silent one ends at Timer B): its capacity goes back.
          this.#releaseBranch(branch);
        },
      });
    }
    this.#hooks.registerClient(key, (response) => {
      branch.invite?.receiveResponse(response.status, response);
      branch.nonInvite?.receiveResponse(response.status, response);
    });
    branch.silenceTimer = env.clock.setTimer(env.branchTimeoutMs, () => {
      branch.silenceTimer = undefined;
      if (branch.responded) return;
      // Not health evidence: a destination may ignore one odd request (or a caller may send junk on purpose to get
      // destinations marked down). Timer B still reports a real transaction timeout, and probes find the dead.
      this.#onFailure(branch, "no-answer");
    });
    branch.invite?.start();
    branch.nonInvite?.start();
  }

  #onResponse(branch: Branch, status: number, response: SipResponse): void {
    this.#handleResponse(branch, status, response);
    if (status >= 200 && (status < 300 || !this.#isInvite)) this.#retireClient(branch);
  }

  /** The branch's transaction reached its lingering state: hand it to the core's retired records (see the hook). */
  #retireClient(branch: Branch): void {
    const invite = branch.invite;
    const tx = invite ?? branch.nonInvite;
    if (!tx || tx.state !== (invite ? "accepted" : "completed")) return; // over TCP it has already terminated
    tx.dispose();
    branch.invite = undefined;
    branch.nonInvite = undefined;
    this.#hooks.retireClient(`${branch.branchId}|${this.#method}`, invite !== undefined);
  }

  #handleResponse(branch: Branch, status: number, response: SipResponse): void {
    if (!branch.responded) {
      branch.responded = true;
      if (branch.silenceTimer !== undefined) this.#env.clock.clearTimer(branch.silenceTimer);
      branch.silenceTimer = undefined;
    }
    if (status < 200) {
      if (this.#isInvite && !branch.done && !branch.expired && !branch.cancelSent) this.#armTimerC(branch);
      if (!branch.provisional) {
        branch.provisional = true;
        // A branch we gave up on (silent too long) or no longer need (answered elsewhere, caller cancelled) that
        // now wakes up is CANCELled, so it cannot answer a second time (§16.7 step 10, §16.10).
        if (this.#cancelled || this.#answered || branch.done) this.#sendCancel(branch);
      }
      // §16.7 step 5: 100 Trying is hop-by-hop and never forwarded; other provisionals go upstream at once.
      if (status > 100 && !branch.done && !this.#finalSent) this.#relayUpstream(status, response);
      return;
    }
    if (status < 300) {
      // Every 2xx is forwarded, retransmissions included (§16.7 step 5; RFC 6026 Accepted state).
      const first = !this.#answered;
      if (!branch.answered) this.#evidence(branch, { source: "traffic", result: "success" });
      this.#answered = true;
      this.#stopTimers(branch);
      branch.done = true;
      if (!branch.answered && branch.reserved && branch.hop.destinationId !== undefined) {
        // The reservation now lives as long as the dialog, refreshed by its in-dialog traffic.
        this.#env.dialogs.refresh(branch.hop.destinationId, this.#plan.dialogId, this.#env.dialogTtlMs).catch(() => this.#env.counters.inc("capacity.refresh-errors"));
      }
      branch.answered = true;
      // §16.7 step 10: a 2xx ends every other pending branch (a late answer from a branch we had failed over from
      // must not leave the next destination ringing).
      if (first) for (const other of this.#branches) if (other !== branch && other.provisional) this.#sendCancel(other);
      if (first && this.#plan.kind === "initial" && this.#isInvite) this.#hooks.dialogConfirmed(this, branch.hop, response);
      branch.sent = undefined;
      this.#finalSent = true;
      this.#relayUpstream(status, response);
      if (first) this.#settled();
      return;
    }
    if (branch.done) return;
    this.#stopTimers(branch);
    if (branch.expired) {
      // Our own Timer C CANCEL ended it: nobody answered in time (§16.8).
      this.#onFailure(branch, "timeout");
      return;
    }
    branch.done = true;
    this.#releaseBranch(branch);
    // §21.5.4: a 503 says the destination is overloaded or down for maintenance, Retry-After says for how long.
    if (status === 503) this.#evidence(branch, { source: "traffic", result: "503", ...retryAfter(response) });
    else this.#evidence(branch, { source: "traffic", result: "success" });
    // The ACK for this final is built now, once; the rest of what we sent is no longer needed.
    ackFor(branch, response);
    branch.sent = undefined;
    this.#finals.push({ status, response });
    if (this.#env.failover.codes.has(status) && !this.#cancelled && !this.#answered) {
      this.#env.counters.inc(`failover.${status}`);
      this.#env.log.log("info", "branch failed, trying next destination", {
        callId: this.#callId,
        destination: branch.hop.destinationId,
        status,
      });
      this.#forwardNext();
      return;
    }
    this.#finish();
  }

  /** Timer C (§16.8): a branch that rings past it is CANCELled; the caller does not wait forever. */
  #armTimerC(branch: Branch): void {
    const clock = this.#env.clock;
    if (branch.ringTimer !== undefined) clock.clearTimer(branch.ringTimer);
    branch.ringTimer = clock.setTimer(this.#env.timerCMs, () => {
      branch.ringTimer = undefined;
      if (branch.done) return;
      this.#env.counters.inc("timer-c.fired");
      branch.expired = true;
      // If even the CANCEL brings no final within 64*T1, the branch is given up as timed out (§16.8, armed there).
      this.#sendCancel(branch);
    });
  }

  #stopTimers(branch: Branch): void {
    const clock = this.#env.clock;
    if (branch.silenceTimer !== undefined) clock.clearTimer(branch.silenceTimer);
    if (branch.ringTimer !== undefined) clock.clearTimer(branch.ringTimer);
    branch.silenceTimer = undefined;
    branch.ringTimer = undefined;
  }

  #onFailure(branch: Branch, why: "timeout" | "transport-error" | "no-answer"): void {
    if (branch.done) return;
    this.#stopTimers(branch);
    branch.done = true;
    this.#env.counters.inc(`failover.${why}`);
    this.#env.log.log("info", "branch failed", {
      callId: this.#callId,
      destination: branch.hop.destinationId,
      reason: why,
    });
    // A silent destination cannot be CANCELled yet (§9.1); it stops getting retransmissions (so one that comes back
    // does not answer stale INVITEs; kamailio cancel_b_method), but a late answer is still handled. It keeps its
    // reservation meanwhile; any other failure gives it back now.
    if (why === "no-answer") this.#abandon(branch);
    else this.#releaseBranch(branch);
    this.#finals.push({ status: 408 });
    if (this.#answered) return;
    if (this.#cancelled) this.#finish();
    else this.#forwardNext();
  }

  /**
   * Stop the branch's transaction, but listen for a late answer as long as Timer B would have (64*T1): a late 1xx is
   * CANCELled, a late non-2xx ACKed (§17.1.1.3), a late 2xx relayed like any 2xx (and it cancels the other branches).
   */
  #abandon(branch: Branch): void {
    branch.abandoned = true;
    branch.invite?.dispose();
    branch.nonInvite?.dispose();
    const key = `${branch.branchId}|${this.#method}`;
    this.#hooks.registerClient(key, (response) => this.#lateResponse(branch, response));
    branch.ringTimer = this.#env.clock.setTimer(64 * this.#env.timers.t1, () => {
      branch.ringTimer = undefined;
      this.#hooks.unregisterClient(key);
      this.#releaseBranch(branch);
    });
  }

  #lateResponse(branch: Branch, response: SipResponse): void {
    const status = response.status;
    if (status < 200) {
      if (!this.#isInvite) return;
      branch.provisional = true;
      this.#sendCancel(branch);
      return;
    }
    if (status < 300) {
      this.#onResponse(branch, status, response);
      return;
    }
    if (this.#isInvite) {
      const ack = ackFor(branch, response);
      if (ack) this.#env.send(branch.hop.target, ack);
    }
    this.#releaseBranch(branch);
  }

  #closeBranch(branch: Branch): void {
    this.#stopTimers(branch);
    branch.invite?.dispose();
    branch.nonInvite?.dispose();
    this.#hooks.unregisterClient(`${branch.branchId}|${this.#method}`);
  }

  #sendCancel(branch: Branch): void {
    if (branch.cancelSent) return;
    // Only an INVITE still waiting for its final can be cancelled, and only after a provisional (§9.1).
    const state = branch.invite?.state;
    if ((!branch.abandoned && state !== "calling" && state !== "proceeding") || !branch.provisional || branch.answered) return;
    branch.cancelSent = true;
    const env = this.#env;
    if (!branch.sent) return;
    const cancel = buildCancel(branch.sent);
    const data = serializeMessage(cancel.startLine, cancel.headers, new Uint8Array(0));
    const key = `${branch.branchId}|CANCEL`;
    const tx = new ClientNonInviteTransaction<Uint8Array, SipResponse>({
      request: data,
      reliable: branch.hop.target.transport === "tcp",
      timers: env.timers,
      clock: env.clock,
      send: (bytes) => env.send(branch.hop.target, bytes, () => tx.transportError()),
      onResponse: () => {},
      onTimeout: () => {},
      onTerminated: () => this.#hooks.unregisterClient(key),
    });
    this.#hooks.registerClient(key, (response) => tx.receiveResponse(response.status, response));
    env.counters.inc("cancel.sent");
    // §9.1: no final for the INVITE within 64*T1 of our CANCEL → the branch is considered cancelled and given up
    // (replaces Timer C: a caller's CANCEL must not wait for it).
    if (branch.ringTimer !== undefined) env.clock.clearTimer(branch.ringTimer);
    branch.ringTimer = env.clock.setTimer(64 * env.timers.t1, () => {
      branch.ringTimer = undefined;
      if (!branch.done) {
        this.#closeBranch(branch);
        this.#onFailure(branch, "timeout");
      }
    });
    tx.start();
  }

  #relayUpstream(status: number, response: SipResponse, rewriteTo?: number): void {
    const code = rewriteTo ?? status;
    const reason = rewriteTo === undefined ? response.reason : "Server Internal Error";
    this.#upstream.respond(code, relayedResponse(response, code, reason));
  }

  #finish(): void {
    if (this.#finalSent || this.#reserving) return;
    const branch = this.#branch;
    if (branch && !branch.done) return; // wait for the pending branch (e.g. the 487 after our CANCEL)
    this.#finalSent = true;
    if (this.#cancelled && !this.#finals.some((f) => f.response && f.status === 487)) {
      this.#generate(487, "Request Terminated");
    } else {
      const best = selectBestResponse(this.#finals);
      if (best.kind === "forward") this.#relayUpstream(best.status, best.response, best.rewriteTo);
      else if (this.#noCapacity && this.#finals.length === 0) this.#generate(503, "No Capacity");
      else if (this.#isInvite) this.#generate(best.status, "Request Timeout");
      // RFC 4320 §4.2: never a 408 to a non-INVITE; the client's own Timer F ends it.
    }
    this.#settled();
  }

  /** The final answer is upstream: drop what only mattered until then, and tell the core. */
  #settled(): void {
    this.#request = undefined;
    this.#finals.length = 0;
    this.#hooks.finished(this);
  }

  #generate(status: number, reason: string, extra?: readonly HeaderField[]): void {
    this.#env.counters.inc(`generated.${status}`);
    const request = this.#request;
    if (!request) return;
    const data = buildResponse(request.headers, status, reason, {
      toTag: this.#upstream.toTag,
      ...(extra ? { extraHeaders: extra } : {}),
    });
    this.#upstream.respond(status, data);
  }
}

/**
 * The hop-by-hop ACK for a branch's non-2xx final (§17.1.1.3): built once from what we sent and the response's To,
 * then resent as is for every retransmitted final. Undefined once what we sent is gone and no ACK was built.
 */
function ackFor(branch: Branch, response: SipResponse): Uint8Array | undefined {
  if (!branch.ack && branch.sent) {
    const ack = buildAck(branch.sent, response.headers.find((h) => h.name === "to"));
    branch.ack = serializeMessage(ack.startLine, ack.headers, new Uint8Array(0));
  }
  return branch.ack;
}

/** Retry-After seconds of a response (§20.33: delta-seconds, optional comment and params). */
function retryAfter(response: SipResponse): { retryAfterS?: number } {
  const value = getHeader(response, "retry-after");
  const match = value === undefined ? null : /^\s*(\d{1,9})/.exec(value);
  return match ? { retryAfterS: Number(match[1]) } : {};
}

/** The Record-Route values of a 2xx, topmost first: the route set of the dialog (§12.1.2). */
export function recordRouteOf(response: SipResponse): string[] {
  return getHeaderValues(response, "record-route");
}
