/**
 * Gateway workers: the main thread is shard 0 and starts `shards - 1` worker threads (shard-worker.ts), each with
 * its own proxy core and its own socket on the shared UDP port. A message is handled by the shard that owns it
 * (shard.ts: requests by Call-ID, responses by the shard tag in our branch), so a transaction and its
 * retransmissions, CANCEL and ACK always meet the same core, and the cores share no memory.
 *
 * What must be one per gateway stays here and is served to the workers over their links: the dialog store (capacity
 * counters cannot overbook when one store counts them), the route function (round-robin state, remote mode),
 * health (probes, evidence, webhooks) and TCP connections (a connection lives in one thread).
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { DialogStore } from "../dialog/dialog.ts";
import type { RequestEvent } from "../events/route.ts";
import type { TrafficEvidence } from "../health/state.ts";
import type { Target } from "../proxy/route-token.ts";
import type { CorePorts } from "./core-build.ts";
import type { Logger } from "./log.ts";
import type { ProxyCore, RouteHandler } from "./proxy-core.ts";
import { shardOf } from "./shard.ts";
import { ShardIngress, ShardLink, sourceOf } from "./shard-link.ts";
import { serveStore } from "./shard-store.ts";
import type { ShardStatus, ShardWorkerData } from "./shard-worker.ts";
import type { Source } from "./transport.ts";

export interface ShardPoolDeps {
  /** Shards in all, the main thread included (2 or more). */
  readonly shards: number;
  /** What every worker starts from; shard numbers and peer links are added here. */
  readonly worker: Omit<ShardWorkerData, "shard" | "shards" | "peers">;
  /** The main thread's own core (shard 0). */
  readonly core: ProxyCore;
  readonly store: DialogStore;
  readonly route: RouteHandler;
  readonly eventHeaders: () => readonly string[];
  readonly evidence: CorePorts["evidence"];
  /** The main thread's send (TCP connections live here). */
  readonly send: CorePorts["send"];
  readonly log: Logger;
  /** Milliseconds to wait for a worker to come up. */
  readonly startTimeoutMs?: number;
}

/**
 * A worker running the module beside this one: the bundled .mjs in dist/ (npm start), or under tsx (tests, dev) the
 * TypeScript source, after registering tsx's loader in the worker (Node 20 does not pass `--import` hooks on to
 * worker threads).
 */
function startWorker(options: { workerData: unknown; transferList: MessagePort[] }): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./shard-worker.mjs", here), options);
  const source = new URL("./shard-worker.ts", here).href;
  const code = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(code, { ...options, eval: true });
}

/** How long a worker may take to close its sockets at shutdown before it is ended anyway. */
const STOP_WAIT_MS = 2000;

export class ShardPool {
  readonly #deps: ShardPoolDeps;
  readonly #workers: Worker[] = [];
  readonly #links: (ShardLink | undefined)[];
  readonly #ingress: ShardIngress;
  #headers: readonly string[];
  #stopping = false;

  private constructor(deps: ShardPoolDeps) {
    this.#deps = deps;
    this.#links = Array.from({ length: deps.shards }, () => undefined);
    this.#ingress = new ShardIngress(0, this.#links, (data, source) => deps.core.handle(data, source), shardOf);
    this.#headers = deps.eventHeaders();
  }

  /** Start the workers and wait until each has bound its sockets. */
  static async start(deps: ShardPoolDeps): Promise<ShardPool> {
    const pool = new ShardPool(deps);
    try {
      await pool.#spawn();
    } catch (error) {
      await pool.stop();
      throw error;
    }
    return pool;
  }

  async #spawn(): Promise<void> {
    const { shards } = this.#deps;
    // One channel between every two workers: a worker hands messages to another without a detour through here.
    const peers: Record<number, MessagePort>[] = Array.from({ length: shards }, () => ({}));
    for (let a = 1; a < shards; a++) {
      for (let b = a + 1; b < shards; b++) {
        const { port1, port2 } = new MessageChannel();
        peers[a]![b] = port1;
        peers[b]![a] = port2;
      }
    }
    const ready: Promise<void>[] = [];
    for (let shard = 1; shard < shards; shard++) {
      const data: ShardWorkerData = { ...this.#deps.worker, shard, shards, peers: peers[shard]! };
      const worker = startWorker({ workerData: data, transferList: Object.values(peers[shard]!) });
      this.#workers.push(worker);
      ready.push(this.#attach(worker, shard));
    }
    await Promise.all(ready);
  }

  #attach(worker: Worker, shard: number): Promise<void> {
    const deps = this.#deps;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway worker ${shard} did not start`)), deps.startTimeoutMs ?? 30_000);
      const link: ShardLink = new ShardLink(worker, {
        inbound: (message) => deps.core.handle(message.d, sourceOf(message)),
        calls: {
          store: (op: string, args: readonly unknown[]) => serveStore(deps.store, op, args),
          route: async (event: RequestEvent) => {
            const decision = await deps.route(event);
            this.#refreshHeaders();
            return decision;
          },
        },
        notices: {
          ready: () => {
            clearTimeout(timer);
            resolve();
          },
          evidence: (destinationId: string, evidence: TrafficEvidence) => deps.evidence(destinationId, evidence),
          send: (target: Target, data: Uint8Array, connectionId: number | undefined, id: number | undefined) =>
            deps.send(target, data, id === undefined ? undefined : (error) => link.notify("send-error", id, error.message), connectionId),
        },
      });
      this.#links[shard] = link;
      worker.once("error", (error) => {
        clearTimeout(timer);
        deps.log.log("error", "gateway worker failed", { shard, error: String(error?.stack ?? error) });
        reject(error);
      });
      worker.once("exit", (code) => {
        clearTimeout(timer);
        link.close();
        this.#links[shard] = undefined; // its share is handled here from now on: calls go on, if less fast
        if (!this.#stopping) deps.log.log("error", "gateway worker exited; the main thread takes its share", { shard, code });
        reject(new Error(`gateway worker ${shard} exited with code ${code}`));
      });
    });
  }

  /** Routing rules that match on headers changed: workers copy the new set of names into their events. */
  #refreshHeaders(): void {
    const names = this.#deps.eventHeaders();
    if (names === this.#headers) return;
    this.#headers = names;
    for (const link of this.#links) link?.notify("headers", names);
  }

  /** Every message any transport of the main thread receives. */
  receive(data: Uint8Array, source: Source): void {
    this.#ingress.receive(data, source);
  }

  /** Called on the timer: new header names, dialog supervision on every worker. */
  async tick(supervise: Parameters<ProxyCore["superviseDialogs"]>[0]): Promise<void> {
    this.#refreshHeaders();
    await Promise.all(this.#live().map((link) => link.call("supervise", supervise)));
  }

  /** End a dialog on the shard that supervises it. */
  endDialog(id: string, shard: number): Promise<"ended" | "not-found"> {
    const link = this.#links[shard];
    return link ? link.call("endDialog", id) : this.#deps.core.endDialog(id);
  }

  drain(): void {
    for (const link of this.#live()) link.notify("drain");
  }

  async status(): Promise<ShardStatus[]> {
    const all = await Promise.allSettled(this.#live().map((link) => link.call<ShardStatus>("status")));
    return all.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  }

  /** Messages this thread handed to a worker. */
  get forwarded(): number {
    return this.#ingress.forwarded;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    // Bounded: a worker that does not answer is ended all the same.
    const answered = Promise.allSettled(this.#live().map((link) => link.call("stop")));
    await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    await Promise.allSettled(this.#workers.map((worker) => worker.terminate()));
  }

  #live(): ShardLink[] {
    return this.#links.filter((link): link is ShardLink => link !== undefined);
  }
}
