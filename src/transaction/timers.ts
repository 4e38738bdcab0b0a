/**
 * SIP transaction timer values: RFC 3261 §17, Table 4 (Appendix A), extended by RFC 6026 §8.4 / §8.7
 * (Timers L and M). This is the single place where every timer is derived from T1, T2 and T4.
 *
 * | Timer | Value                              | Section      | Meaning                                              |
 * |-------|------------------------------------|--------------|------------------------------------------------------|
 * | T1    | 500 ms default                     | §17.1.1.1    | RTT estimate                                         |
 * | T2    | 4 s                                | §17.1.2.2    | max retransmit interval, non-INVITE req / INVITE res |
 * | T4    | 5 s                                | §17.1.2.2    | max duration a message remains in the network        |
 * | A     | initially T1 (UDP only)            | §17.1.1.2    | INVITE request retransmit interval                   |
 * | B     | 64*T1                              | §17.1.1.2    | INVITE transaction timeout                           |
 * | D     | > 32 s UDP, 0 s TCP/SCTP           | §17.1.1.2    | wait time for response retransmits                   |
 * | E     | initially T1 (UDP only)            | §17.1.2.2    | non-INVITE request retransmit interval               |
 * | F     | 64*T1                              | §17.1.2.2    | non-INVITE transaction timeout                       |
 * | G     | initially T1 (UDP only)            | §17.2.1      | INVITE response retransmit interval                  |
 * | H     | 64*T1                              | §17.2.1      | wait time for ACK receipt                            |
 * | I     | T4 UDP, 0 s TCP/SCTP               | §17.2.1      | wait time for ACK retransmits                        |
 * | J     | 64*T1 UDP, 0 s TCP/SCTP            | §17.2.2      | wait time for non-INVITE request retransmits         |
 * | K     | T4 UDP, 0 s TCP/SCTP               | §17.1.2.2    | wait time for response retransmits                   |
 * | L     | 64*T1                              | RFC 6026 §8.7| wait time for accepted INVITE request retransmits    |
 * | M     | 64*T1                              | RFC 6026 §8.4| wait time for retransmitted / forked 2xx responses   |
 *
 * Timer C (> 3 min, §16.6 step 11) is a proxy-core timer, not a transaction timer, and is not derived here.
 * "UDP" in the table stands for any unreliable transport, "TCP/SCTP" for any reliable one (§17.1.1.2).
 */

/** The three base values every transaction timer is derived from (RFC 3261 §17.1.1.1, Table 4). */
export interface TimerSettings {
  /** RTT estimate, ms. RFC 3261 default 500 ms. */
  readonly t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, ms. Default 4 s. */
  readonly t2: number;
  /** Maximum duration a message will remain in the network, ms. Default 5 s. */
  readonly t4: number;
}

/** RFC 3261 Table 4 defaults. */
export const DEFAULT_TIMER_SETTINGS: TimerSettings = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

/**
 * Concrete durations (ms) for one transaction on one transport.
 *
 * The retransmission timers A, E and G hold their *initial* interval, or `null` on a reliable transport where
 * they are never started (§17.1.1.2, §17.1.2.2, §17.2.1). A duration of 0 means "transition immediately" (the
 * machines do not arm zero-length timers).
 */
export interface TimerDurations {
  /** Cap for the doubling of Timers E and G (Timer A is not capped, §17.1.1.2). */
  readonly T2: number;
  readonly A: number | null;
  readonly B: number;
  readonly D: number;
  readonly E: number | null;
  readonly F: number;
  readonly G: number | null;
  readonly H: number;
  readonly I: number;
  readonly J: number;
  readonly K: number;
  readonly L: number;
  readonly M: number;
}

/** Minimum Timer D on unreliable transports: the client cannot know the server's T1 (§17.1.1.2). */
const TIMER_D_FLOOR_MS = 32_000;

/** One frozen settings record per distinct (T1, T2, T4). */
const canonical = new Map<string, TimerSettings>();

/**
 * The settings record for these values, the same object for the same values: every proxy core of a process (the
 * gateway's and its JIT warm-up's) then finds its durations under one key of the memo below. Two records of equal
 * values made the real core's first transaction miss the memo after the warm-up had only ever hit it, and the
 * miss deoptimised the transaction constructors (`--trace-deopt`).
 */
export function timerSettings(t1: number, t2: number, t4: number): TimerSettings {
  const key = `${t1}/${t2}/${t4}`;
  let settings = canonical.get(key);
  if (!settings) canonical.set(key, (settings = Object.freeze({ t1, t2, t4 })));
  return settings;
}

/** Durations per settings object: every transaction of a gateway shares one frozen record instead of its own. */
const memo = new WeakMap<TimerSettings, { reliable?: TimerDurations; unreliable?: TimerDurations }>();

/**
 * Derive every §17 / RFC 6026 timer from the base settings.
 *
 * @param reliable true for TCP, TLS, SCTP, WS(S): no retransmissions, zero linger in D, I, J, K.
 * @throws RangeError if the settings are not finite, positive, and T2 >= T1.
 */
export function timerDurations(settings: TimerSettings, reliable: boolean): TimerDurations {
  let entry = memo.get(settings);
  if (!entry) memo.set(settings, (entry = {}));
  const key = reliable ? "reliable" : "unreliable";
  return (entry[key] ??= computeDurations(settings, reliable));
}

function computeDurations(settings: TimerSettings, reliable: boolean): TimerDurations {
  const { t1, t2, t4 } = settings;
  for (const [name, value] of [["t1", t1], ["t2", t2], ["t4", t4]] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`timer setting ${name} must be > 0 ms, got ${value}`);
  }
  if (t2 < t1) throw new RangeError(`timer setting t2 (${t2}) must be >= t1 (${t1})`);
  const t1x64 = 64 * t1;
  return Object.freeze({
    T2: t2,
    A: reliable ? null : t1,
    B: t1x64,
    D: reliable ? 0 : Math.max(TIMER_D_FLOOR_MS, t1x64),
    E: reliable ? null : t1,
    F: t1x64,
    G: reliable ? null : t1,
    H: t1x64,
    I: reliable ? 0 : t4,
    J: reliable ? 0 : t1x64,
    K: reliable ? 0 : t4,
    L: t1x64,
    M: t1x64,
  });
}
