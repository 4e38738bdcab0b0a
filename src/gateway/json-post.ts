/**
 * POST a JSON body and read the reply, over node:http(s) with kept-alive connections: the transport of remote mode
 * (remote-route.ts).
 *
 * Not fetch: in Node 20 a fetch call builds WHATWG Request/Response objects and streams, plus an AbortSignal.timeout
 * with its DOMException machinery, per request; that was about a quarter of the gateway's CPU in remote mode at 500
 * calls/s (`npm run bench -- --systems switchboard-remote --profile DIR`). node:http with a keep-alive agent does the
 * same POST on a pooled connection with a plain timer. Deno runs node:http too.
 */
import { Buffer } from "node:buffer";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

export interface PostReply {
  readonly status: number;
  readonly body: string;
}

/** Rejected with this when the deadline passes first. */
export class PostTimeout extends Error {
  override readonly name = "TimeoutError";
}

export type JsonPost = (body: string, deadlineMs: number) => Promise<PostReply>;

/** A decision is a few hundred bytes; a reply past this is cut off and fails (a misbehaving function costs no memory). */
const MAX_REPLY_BYTES = 256 * 1024;

export function jsonPost(url: string, headers: Readonly<Record<string, string>>): JsonPost {
  const u = new URL(url);
  const secure = u.protocol === "https:";
  // Many calls in flight share a few connections; sockets idle past the server's keep-alive are replaced by the agent.
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: 64 }) : new HttpAgent({ keepAlive: true, maxSockets: 64 });
  const send = secure ? httpsRequest : httpRequest;
  const hostname = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === "" ? (secure ? 443 : 80) : Number(u.port);
  const path = `${u.pathname}${u.search}`;
  return (body, deadlineMs) =>
    new Promise<PostReply>((resolve, reject) => {
      const payload = Buffer.from(body, "utf8");
      let settled = false;
      const req = send(
        { agent, method: "POST", hostname, port, path, headers: { ...headers, "content-length": String(payload.length) } },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_REPLY_BYTES) {
              req.destroy(new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on("end", () => {
            settled = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks, size).toString("utf8") });
          });
          res.on("error", fail);
        },
      );
      // The deadline is judged after the I/O already waiting. When this thread itself was held up past it (a GC
      // pause, the scheduler running another process), libuv runs expired timers before it polls the sockets, so a
      // reply sitting in the socket buffer would be called late and the call routed by the fallback. setImmediate
      // runs after this loop turn's poll phase, which reads that reply first.
      const timer = setTimeout(
        () => setImmediate(() => settled || req.destroy(new PostTimeout(`no reply within ${deadlineMs} ms`))),
        deadlineMs,
      );
      function fail(error: Error): void {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
      req.on("error", fail);
      req.end(payload);
    });
}
