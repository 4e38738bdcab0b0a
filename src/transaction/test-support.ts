/**
 * Test harnesses for the transaction drivers: each wires a driver to a {@link FakeClock} and records every callback
 * as "<ms> <what>" so tests can assert both order and timing.
 */
import { ClientInviteTransaction } from "./client-invite.ts";
import { ClientNonInviteTransaction } from "./client-non-invite.ts";
import { FakeClock } from "./fake-clock.ts";
import { ServerInviteTransaction } from "./server-invite.ts";
import { ServerNonInviteTransaction } from "./server-non-invite.ts";
import type { TimerSettings } from "./timers.ts";

export interface HarnessOptions {
  reliable?: boolean;
  timers?: TimerSettings;
}

export class Recorder {
  readonly entries: string[] = [];
  constructor(readonly clock: FakeClock) {}
  record(what: string): void {
    this.entries.push(`${this.clock.now()} ${what}`);
  }
  /** Entries recorded since the last take(). */
  take(): string[] {
    return this.entries.splice(0);
  }
  count(prefix: string): number {
    return this.entries.filter((e) => e.slice(e.indexOf(" ") + 1).startsWith(prefix)).length;
  }
}

export function serverInvite(options: HarnessOptions = {}) {
  const clock = new FakeClock();
  const rec = new Recorder(clock);
  const tx = new ServerInviteTransaction<string>({
    reliable: options.reliable ?? false,
    ...(options.timers && { timers: options.timers }),
    clock,
    send: (res) => rec.record(`send ${res}`),
    onTerminated: (reason) => rec.record(`terminated ${reason}`),
    onAck: () => rec.record("ack"),
    onTransportError: () => rec.record("transport-error"),
  });
  return { clock, rec, tx };
}

export function serverNonInvite(options: HarnessOptions = {}) {
  const clock = new FakeClock();
  const rec = new Recorder(clock);
  const tx = new ServerNonInviteTransaction<string>({
    reliable: options.reliable ?? false,
    ...(options.timers && { timers: options.timers }),
    clock,
    send: (res) => rec.record(`send ${res}`),
    onTerminated: (reason) => rec.record(`terminated ${reason}`),
  });
  return { clock, rec, tx };
}

export function clientInvite(options: HarnessOptions = {}) {
  const clock = new FakeClock();
  const rec = new Recorder(clock);
  const tx = new ClientInviteTransaction<string, string>({
    request: "INVITE",
    reliable: options.reliable ?? false,
    ...(options.timers && { timers: options.timers }),
    clock,
    send: (req) => rec.record(`send ${req}`),
    sendAck: (res) => rec.record(`ack ${res}`),
    onResponse: (status, res) => rec.record(`tu ${status} ${res}`),
    onTimeout: () => rec.record("timeout"),
    onTerminated: (reason) => rec.record(`terminated ${reason}`),
  });
  return { clock, rec, tx };
}

export function clientNonInvite(options: HarnessOptions = {}) {
  const clock = new FakeClock();
  const rec = new Recorder(clock);
  const tx = new ClientNonInviteTransaction<string, string>({
    request: "OPTIONS",
    reliable: options.reliable ?? false,
    ...(options.timers && { timers: options.timers }),
    clock,
    send: (req) => rec.record(`send ${req}`),
    onResponse: (status, res) => rec.record(`tu ${status} ${res}`),
    onTimeout: () => rec.record("timeout"),
    onTerminated: (reason) => rec.record(`terminated ${reason}`),
  });
  return { clock, rec, tx };
}
