/**
 * A gateway worker thread: one shard of the SIP traffic (gateway/shard.ts says which messages are its own). It runs
 * its own proxy core and UDP socket on the shared port; the dialog store, the route function, health and TCP stay
 * with the main thread, reached over the shard link (shard-link.ts).
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { Config } from "../config.ts";
import type { TrafficEvidence } from "../health/state.ts";
import type { RequestEvent, RouteDecision } from "../events/route.ts";
import { IdMint } from "../proxy/ids.ts";
import type { Target } from "../proxy/route-token.ts";
import { systemClock } from "../transaction/clock.ts";
import { OurAddresses } from "./addresses.ts";
import { buildProxyCore } from "./core-build.ts";
import { Counters } from "./counters.ts";
import { jsonLogger } from "./log.ts";
import type { ProxyCore } from "./proxy-core.ts";
import { shardOf } from "./shard.ts";
import { ShardIngress, ShardLink, sourceOf } from "./shard-link.ts";
import { ShardDialogStore } from "./shard-store.ts";
import type { LocalAddress } from "./transport.ts";
import { UdpTransport } from "./transport-udp.ts";
import { restoreFastPrototypes } from "./v8-tuning.ts";
import { startWarmUp } from "./warmup.ts";

/** What the main thread hands a worker at its start (structured-cloned). */
export interface ShardWorkerData {
  readonly shard: number;
  readonly shards: number;
  readonly config: Config;
  readonly secret: string;
  readonly gatewayId: string;
  readonly advertisedHost: string;
  /** Every listen address of the gateway, as bound by the main thread (ports resolved). */
  readonly listens: readonly LocalAddress[];
  readonly eventHeaders: readonly string[];
  /** Links to the other workers, by shard number (the main thread, shard 0, is the parent port). */
  readonly peers: Readonly<Record<number, MessagePort>>;
}

/** What a worker reports for GET /v1/status. */
export interface ShardStatus {
  readonly shard: number;
  readonly counters: Record<string, number>;
  readonly transports: Record<string, number>;
  readonly pending: number;
  readonly inFlight: number;
  readonly forwarded: number;
}

/** A failed TCP send is reported back by id; ids nobody reported on are forgotten after this long (ms). */
const SEND_ERROR_WAIT_MS = 60_000;

async function main(): Promise<void> {
  const data = workerData as ShardWorkerData;
  const { config } = data;
  const log = jsonLogger(config.logLevel);
  const counters = new Counters();
  let eventHeaders = data.eventHeaders;
  let core: ProxyCore | undefined;

  const udp = data.listens.filter((l) => l.transport === "udp").map((l) => new UdpTransport(l.host, l.port, { shared: true }));
  const sendErrors = new Map<number, { onError: (error: Error) => void; at: number }>();
  let sendId = 0;
  const toMain = new ShardLink(parentPort!, {
    inbound: (message) => core?.handle(message.d, sourceOf(message)),
    calls: {
      status: (): ShardStatus => ({
        shard: data.shard,
        counters: counters.snapshot(),
        transports: udp.reduce<Record<string, number>>((all, t) => {
          for (const [k, v] of Object.entries(t.counters)) all[k] = (all[k] ?? 0) + v;
          return all;
        }, {}),
        pending: core?.pending ?? 0,
        inFlight: core?.inFlight ?? 0,
        forwarded: ingress.forwarded,
      }),
      supervise: (options: Parameters<ProxyCore["superviseDialogs"]>[0]) => core?.superviseDialogs(options),
      endDialog: (id: string) => core?.endDialog(id) ?? "not-found",
      // The links stay open to carry this answer; the main thread ends the thread right after.
      stop: async () => {
        core?.dispose();
        await Promise.all(udp.map((t) => t.close()));
      },
    },
    notices: {
      drain: () => core?.drain(),
      headers: (names: readonly string[]) => (eventHeaders = names),
      "send-error": (id: number, message: string) => {
        const waiting = sendErrors.get(id);
        sendErrors.delete(id);
        waiting?.onError(new Error(message));
      },
    },
  });
  const peerLinks: Record<number, ShardLink> = {};
  for (const [shard, port] of Object.entries(data.peers)) {
    peerLinks[Number(shard)] = new ShardLink(port, { inbound: (message) => core?.handle(message.d, sourceOf(message)) });
  }
  const links = Array.from({ length: data.shards }, (_, shard) => (shard === 0 ? toMain : peerLinks[shard]));
  const ingress = new ShardIngress(data.shard, links, (bytes, source) => core?.handle(bytes, source), shardOf);

  // Forget TCP send callbacks that never heard of an error (the send went through).
  setInterval(() => {
    const before = Date.now() - SEND_ERROR_WAIT_MS;
    for (const [id, waiting] of sendErrors) if (waiting.at < before) sendErrors.delete(id);
  }, SEND_ERROR_WAIT_MS / 4).unref();

  core = buildProxyCore({
    config,
    secret: data.secret,
    clock: systemClock,
    addresses: new OurAddresses(data.advertisedHost, data.listens),
    ids: IdMint.forShard(data.shard),
    dialogs: new ShardDialogStore(toMain),
    gatewayId: data.gatewayId,
    log,
    counters,
    route: (event: RequestEvent) => toMain.call<RouteDecision>("route", event),
    eventHeaders: () => eventHeaders,
    evidence: (destinationId: string, evidence: TrafficEvidence) => toMain.notify("evidence", destinationId, evidence),
    send(target: Target, bytes: Uint8Array, onError?: (error: Error) => void, connectionId?: number) {
      if (target.transport === "udp" && udp[0]) {
        udp[0].send(target.host, target.port, bytes, onError);
        return;
      }
      // TCP connections belong to the main thread: it writes for us and tells us of a failure.
      let id: number | undefined;
      if (onError) {
        id = ++sendId;
        sendErrors.set(id, { onError, at: Date.now() });
      }
      toMain.notify("send", target, bytes, connectionId, id);
    },
  });
  // Our own socket on each UDP port, bound after the main thread's: we send from the port the calls know us by.
  await Promise.all(udp.map((t) => t.start((bytes, source) => ingress.receive(bytes, source))));

  toMain.notify("ready");
  // This thread has its own V8 prototypes, loaded with its own modules (v8-tuning.ts).
  restoreFastPrototypes();
  // This thread's V8 is as cold as the main thread's was: the same warm-up, on a private core (warmup.ts).
  if (config.warmupCalls > 0) {
    void startWarmUp(
      { config, clock: systemClock, calls: config.warmupCalls, stopped: () => core?.draining ?? false },
      { counters, log, fields: { shard: data.shard } },
    );
  }
}

main().catch((error) => {
  process.stderr.write(`switchboard worker failed to start: ${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
