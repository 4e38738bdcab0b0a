/**
 * The wire between gateway shards (worker threads of one process, shard-pool.ts): messages handed to the shard that
 * owns them, calls with answers (the dialog store and the route function live in the main thread), and notices.
 *
 * Both ends are our own code in one process, so messages are structured-cloned plain data and are not re-validated:
 * everything that came from outside was parsed or validated before it got here.
 */
import type { MessagePort, Worker } from "node:worker_threads";
import type { Source, TransportKind } from "./transport.ts";

/** A datagram or stream frame for the shard that owns it. */
export interface Inbound {
  readonly k: "in";
  readonly d: Uint8Array;
  readonly t: TransportKind;
  readonly a: string;
  readonly p: number;
  readonly c?: number;
}

interface Call {
  readonly k: "call";
  readonly id: number;
  readonly op: string;
  readonly args: readonly unknown[];
}

interface Answer {
  readonly k: "ret";
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

/** One-way messages: health evidence, TCP sends through the main thread, catalog hints. */
export interface Notice {
  readonly k: "note";
  readonly op: string;
  readonly args: readonly unknown[];
}

type Wire = Inbound | Call | Answer | Notice;

export function inbound(data: Uint8Array, source: Source): Inbound {
  return source.connectionId === undefined
    ? { k: "in", d: data, t: source.transport, a: source.address, p: source.port }
    : { k: "in", d: data, t: source.transport, a: source.address, p: source.port, c: source.connectionId };
}

export function sourceOf(message: Inbound): Source {
  return message.c === undefined
    ? { transport: message.t, address: message.a, port: message.p }
    : { transport: message.t, address: message.a, port: message.p, connectionId: message.c };
}

type Port = Pick<MessagePort, "postMessage" | "on" | "off"> | Worker;

export interface LinkHandlers {
  /** A message this shard owns. */
  readonly inbound?: (message: Inbound) => void;
  /** Calls this end answers, by operation name. */
  readonly calls?: Readonly<Record<string, (...args: never[]) => unknown>>;
  readonly notices?: Readonly<Record<string, (...args: never[]) => void>>;
}

/**
 * One end of a link: calls with answers (promises), notices and inbound messages.
 *
 * What one turn of the event loop sends goes as one batch, posted after the turn's I/O (setImmediate): waking the
 * other thread costs more than the message itself, and under load one poll reads many datagrams, each of which
 * may send a message or a call.
 */
export class ShardLink {
  readonly #port: Port;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #outbox: Wire[] = [];
  #flushing = false;
  #next = 0;
  #closed = false;

  constructor(port: Port, handlers: LinkHandlers) {
    this.#port = port;
    const calls = handlers.calls ?? {};
    const notices = handlers.notices ?? {};
    const receive = (message: Wire): void => {
      switch (message.k) {
        case "in":
          handlers.inbound?.(message);
          return;
        case "ret": {
          const waiting = this.#pending.get(message.id);
          if (!waiting) return;
          this.#pending.delete(message.id);
          if (message.ok) waiting.resolve(message.value);
          else waiting.reject(new Error(message.error));
          return;
        }
        case "note":
          (notices[message.op] as ((...args: unknown[]) => void) | undefined)?.(...message.args);
          return;
        case "call":
          this.#answer(message, calls[message.op] as ((...args: unknown[]) => unknown) | undefined);
          return;
      }
    };
    port.on("message", (batch: Wire[]) => {
      for (const message of batch) receive(message);
    });
  }

  #post(message: Wire): void {
    if (this.#closed) return;
    this.#outbox.push(message);
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#flushing = false;
    const batch = this.#outbox;
    this.#outbox = [];
    if (!this.#closed && batch.length > 0) this.#port.postMessage(batch);
  };

  #answer(message: Call, handler: ((...args: unknown[]) => unknown) | undefined): void {
    const reply = (answer: Omit<Answer, "k" | "id">) => {
      this.#post({ k: "ret", id: message.id, ...answer });
    };
    if (!handler) {
      reply({ ok: false, error: `no such call: ${message.op}` });
      return;
    }
    try {
      Promise.resolve(handler(...message.args)).then(
        (value) => reply({ ok: true, value }),
        (error) => reply({ ok: false, error: String((error as Error)?.message ?? error) }),
      );
    } catch (error) {
      reply({ ok: false, error: String((error as Error)?.message ?? error) });
    }
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("shard link closed"));
    const id = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#post({ k: "call", id, op, args } satisfies Call);
    });
  }

  notify(op: string, ...args: unknown[]): void {
    this.#post({ k: "note", op, args } satisfies Notice);
  }

  forward(message: Inbound): void {
    this.#post(message);
  }

  /** Fail every call still waiting (the other end is gone). */
  close(): void {
    this.#closed = true;
    for (const waiting of this.#pending.values()) waiting.reject(new Error("shard link closed"));
    this.#pending.clear();
  }
}

/**
 * Where a received message goes: handled here when this shard owns it (or nobody can tell), else handed to its
 * owner. Shared by the main thread and every worker, since any of them may be the one the kernel delivers to.
 */
export class ShardIngress {
  readonly #self: number;
  readonly #links: readonly (ShardLink | undefined)[];
  readonly #handle: (data: Uint8Array, source: Source) => void;
  readonly #shards: number;
  readonly #shardOf: (data: Uint8Array, shards: number) => number;
  /** Messages handed to another shard (status counter). */
  forwarded = 0;

  constructor(
    self: number,
    links: readonly (ShardLink | undefined)[],
    handle: (data: Uint8Array, source: Source) => void,
    shardOf: (data: Uint8Array, shards: number) => number,
  ) {
    this.#self = self;
    this.#links = links;
    this.#handle = handle;
    this.#shards = links.length;
    this.#shardOf = shardOf;
  }

  receive(data: Uint8Array, source: Source): void {
    const shard = this.#shardOf(data, this.#shards);
    const link = shard < 0 || shard === this.#self ? undefined : this.#links[shard];
    if (!link) {
      this.#handle(data, source);
      return;
    }
    this.forwarded++;
    link.forward(inbound(data, source));
  }
}
