/**
 * An Upstash-compatible REST front (node:http, loopback) over a real redis-server, so that @upstash/redis and the
 * Upstash adapter are tested against real Redis semantics with their real request/response shapes:
 *
 * - `POST /` with a JSON array `["SET","k","v"]` → `{"result": ...}` (200) or `{"error": "..."}` (400);
 * - `POST /pipeline` with `[[...], [...]]` → `[{"result": ...} | {"error": "..."}, ...]` (200);
 * - `POST /multi-exec` likewise, run between MULTI and EXEC (a transaction Redis aborted is a 400 `{"error"}`);
 * - `Authorization: Bearer TOKEN` required (401 `{"error"}` otherwise);
 * - `Upstash-Encoding: base64` (what @upstash/redis sends by default): every string in a result is base64 of its
 *   bytes, except the status reply "OK" which stays as is (the client's decoder in @upstash/redis/nodejs treats "OK"
 *   specially); integers stay numbers, nil stays null, arrays are encoded element by element.
 * EVAL and EVALSHA pass through like any command. Commands travel over one pipelined RESP connection, reopened on
 * the next request if Redis went away (then the request fails with a 502 `{"error"}`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RespClient, type RespValue } from "./redis-resp.ts";

export interface UpstashFront {
  readonly url: string;
  readonly token: string;
  readonly port: number;
  /** Requests served so far, by path. */
  readonly requests: Record<string, number>;
  close(): Promise<void>;
}

export interface UpstashFrontOptions {
  readonly redisPort: number;
  readonly token?: string;
  /** Port to listen on (default: any free one). */
  readonly port?: number;
}

type Encoded = string | number | null | Encoded[];

function encode(v: RespValue, base64: boolean): Encoded {
  switch (v.type) {
    case "simple":
      return !base64 || v.value === "OK" ? v.value : Buffer.from(v.value, "utf8").toString("base64");
    case "int":
      return v.value;
    case "bulk":
      if (v.value === null) return null;
      return base64 ? v.value.toString("base64") : v.value.toString("utf8");
    case "array":
      return v.value === null ? null : v.value.map((x) => encode(x, base64));
    case "error":
      // Only reachable inside arrays (a script's error table): keep the message.
      return v.value;
  }
}

function entry(v: RespValue, base64: boolean): { result: Encoded } | { error: string } {
  return v.type === "error" ? { error: v.value } : { result: encode(v, base64) };
}

function toArgs(command: unknown): string[] {
  if (!Array.isArray(command) || command.length === 0) throw new Error("command must be a non-empty JSON array");
  return command.map((a: unknown) => (typeof a === "string" ? a : typeof a === "object" ? JSON.stringify(a) : String(a)));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export async function startUpstashFront(opts: UpstashFrontOptions): Promise<UpstashFront> {
  const token = opts.token ?? "test-token";
  const requests: Record<string, number> = {};
  let conn: Promise<RespClient> | undefined;

  const redis = async (): Promise<RespClient> => {
    if (conn) {
      const c = await conn.catch(() => undefined);
      if (c && !c.closed) return c;
    }
    conn = RespClient.connect(opts.redisPort, "127.0.0.1", 1000);
    return conn;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    requests[path] = (requests[path] ?? 0) + 1;
    const body = await readBody(req);
    if (req.method !== "POST") return send(res, 405, { error: "only POST is supported by this front" });
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: "Unauthorized" });
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return send(res, 400, { error: "ERR failed to parse JSON body" });
    }
    let client: RespClient;
    try {
      client = await redis();
    } catch (e) {
      return send(res, 502, { error: `ERR redis unavailable: ${e instanceof Error ? e.message : String(e)}` });
    }
    try {
      if (path === "/") {
        const [reply] = await client.sendMany([toArgs(parsed)]);
        if (!reply) return send(res, 500, { error: "ERR no reply" });
        return send(res, reply.type === "error" ? 400 : 200, entry(reply, base64));
      }
      if (path === "/pipeline" || path === "/multi-exec") {
        if (!Array.isArray(parsed)) return send(res, 400, { error: "ERR body must be an array of commands" });
        const commands = parsed.map(toArgs);
        if (path === "/pipeline") {
          const replies = await client.sendMany(commands);
          return send(res, 200, replies.map((r) => entry(r, base64)));
        }
        const replies = await client.sendMany([["MULTI"], ...commands, ["EXEC"]]);
        const exec = replies[replies.length - 1];
        if (!exec || exec.type === "error") return send(res, 400, { error: exec?.value ?? "ERR no EXEC reply" });
        if (exec.type !== "array" || exec.value === null) return send(res, 400, { error: "ERR transaction aborted" });
        return send(res, 200, exec.value.map((r) => entry(r, base64)));
      }
      return send(res, 404, { error: `ERR unknown path ${path}` });
    } catch (e) {
      if (e instanceof Error && /^command must/.test(e.message)) return send(res, 400, { error: `ERR ${e.message}` });
      return send(res, 502, { error: `ERR redis unavailable: ${e instanceof Error ? e.message : String(e)}` });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { error: `ERR ${e instanceof Error ? e.message : String(e)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: opts.port ?? 0 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    port,
    requests,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      const c = await conn?.catch(() => undefined);
      c?.close();
    },
  };
}
