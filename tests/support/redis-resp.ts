/**
 * A small RESP2 client over node:net for tests and the Upstash front: commands out as arrays of bulk strings,
 * replies parsed into tagged values (so a simple string, a bulk string and an error stay distinguishable, which the
 * Upstash REST encoding needs). Pipelined: replies are matched to commands in order. Loopback only.
 */
import { connect, type Socket } from "node:net";

export type RespValue =
  | { readonly type: "simple"; readonly value: string }
  | { readonly type: "error"; readonly value: string }
  | { readonly type: "int"; readonly value: number }
  | { readonly type: "bulk"; readonly value: Buffer | null }
  | { readonly type: "array"; readonly value: RespValue[] | null };

export class RespError extends Error {
  override readonly name = "RespError";
}

const CRLF = Buffer.from("\r\n");

export function encodeCommand(args: ReadonlyArray<string | Buffer | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

/** Parse one reply at `at`; undefined when the buffer does not hold a whole reply yet. */
function parse(buf: Buffer, at: number): { value: RespValue; next: number } | undefined {
  if (at >= buf.length) return undefined;
  const eol = buf.indexOf(CRLF, at);
  if (eol < 0) return undefined;
  const kind = String.fromCharCode(buf[at] ?? 0);
  const line = buf.toString("utf8", at + 1, eol);
  const after = eol + 2;
  switch (kind) {
    case "+":
      return { value: { type: "simple", value: line }, next: after };
    case "-":
      return { value: { type: "error", value: line }, next: after };
    case ":":
      return { value: { type: "int", value: Number(line) }, next: after };
    case "$": {
      const n = Number(line);
      if (n < 0) return { value: { type: "bulk", value: null }, next: after };
      if (buf.length < after + n + 2) return undefined;
      return { value: { type: "bulk", value: Buffer.from(buf.subarray(after, after + n)) }, next: after + n + 2 };
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return { value: { type: "array", value: null }, next: after };
      const items: RespValue[] = [];
      let pos = after;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, pos);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.next;
      }
      return { value: { type: "array", value: items }, next: pos };
    }
    default:
      throw new RespError(`unexpected RESP type byte ${JSON.stringify(kind)}`);
  }
}

/** A reply as plain JS: strings, numbers, null, arrays; a Redis error throws RespError. */
export function plain(v: RespValue): unknown {
  switch (v.type) {
    case "simple":
      return v.value;
    case "error":
      throw new RespError(v.value);
    case "int":
      return v.value;
    case "bulk":
      return v.value === null ? null : v.value.toString("utf8");
    case "array":
      return v.value === null ? null : v.value.map(plain);
  }
}

interface Pending {
  resolve(v: RespValue): void;
  reject(e: Error): void;
}

export class RespClient {
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #closedError: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (e) => this.#fail(e));
    socket.on("close", () => this.#fail(new RespError("connection closed")));
  }

  /** Connect to 127.0.0.1:`port` (or `host`), rejecting after `timeoutMs`. */
  static connect(port: number, host = "127.0.0.1", timeoutMs = 2000): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RespError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new RespClient(socket));
      });
    });
  }

  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let at = 0;
    for (;;) {
      let parsed: ReturnType<typeof parse>;
      try {
        parsed = parse(this.#buf, at);
      } catch (e) {
        this.#socket.destroy();
        this.#fail(e instanceof Error ? e : new RespError(String(e)));
        return;
      }
      if (!parsed) break;
      at = parsed.next;
      this.#pending.shift()?.resolve(parsed.value);
    }
    this.#buf = at === 0 ? this.#buf : Buffer.from(this.#buf.subarray(at));
  }

  #fail(e: Error): void {
    if (this.#closedError === undefined) this.#closedError = e;
    for (const p of this.#pending.splice(0)) p.reject(e);
  }

  /** Send several commands in one write; replies (errors included, as values) in order. */
  sendMany(commands: ReadonlyArray<ReadonlyArray<string | Buffer | number>>): Promise<RespValue[]> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const replies = commands.map(
      () =>
        new Promise<RespValue>((resolve, reject) => {
          this.#pending.push({ resolve, reject });
        }),
    );
    this.#socket.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  async send(args: ReadonlyArray<string | Buffer | number>): Promise<RespValue> {
    const [reply] = await this.sendMany([args]);
    if (reply === undefined) throw new RespError("no reply");
    return reply;
  }

  /** Send one command and return its reply as plain JS (throws RespError on a Redis error). */
  async call(...args: Array<string | Buffer | number>): Promise<unknown> {
    return plain(await this.send(args));
  }

  close(): void {
    this.#socket.destroy();
  }
}
