/**
 * The switchboard gateway as a child process, per its contract:
 *
 *   node <GATEWAY_HEAP_FLAGS> --import tsx src/gateway/main.ts start        (cwd = repo root; heap flags as npm start)
 *   SWITCHBOARD_SIP_LISTEN     udp:127.0.0.1:P,tcp:127.0.0.1:P
 *   SWITCHBOARD_HTTP_LISTEN    127.0.0.1:H           (admin API)
 *   SWITCHBOARD_ADMIN_TOKEN    bearer token
 *   SWITCHBOARD_DESTINATIONS   sip:127.0.0.1:A,sip:127.0.0.1:B[;transport=tcp]
 *   SWITCHBOARD_SECRET         Record-Route signing key
 *   SWITCHBOARD_BRANCH_TIMEOUT ms before failing over to the next destination
 *
 * Ready when it prints a line containing "switchboard ready"; SIGTERM is a graceful, bounded exit.
 */
import { fileURLToPath } from "node:url";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startProcess, type ExitStatus, type ManagedProcess } from "./process.ts";
import type { SipTransport } from "./sipp.ts";
import { GATEWAY_HEAP_FLAGS } from "../../src/gateway/v8-tuning.ts";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const GATEWAY_ENTRY = "src/gateway/main.ts";

export interface GatewayOptions {
  readonly sipPort: number;
  readonly httpPort: number;
  /** Transports to listen on (same port number). Default both. */
  readonly transports?: readonly SipTransport[];
  readonly destinations: readonly string[];
  readonly secret?: string;
  readonly token?: string;
  readonly branchTimeoutMs?: number;
  /** Extra node options, after tsx's `--import` (so an imported file may be TypeScript) and before the entry. */
  readonly nodeArgs?: readonly string[];
  /** Extra environment (e.g. a Redis URL). */
  readonly env?: Readonly<Record<string, string>>;
  /** Where the gateway's output is saved when it stops (gateway-N.log). */
  readonly dir: string;
  /** Max time to wait for "switchboard ready". Default 30 s (tsx compiles on first start). */
  readonly readyTimeoutMs?: number;
  /** Hard lifetime of one gateway process. Default 5 min. */
  readonly maxLifetimeMs?: number;
  /**
   * Name for messages and the saved output (NAME-N.log instead of gateway-N.log), so that several gateways of one
   * test do not overwrite each other's logs.
   */
  readonly name?: string;
}

/** A dialog record from GET /v1/dialogs (contract: id, callId, destination; the store also has destinationId/Uri). */
export interface Dialog {
  readonly id: string;
  readonly callId: string;
  readonly destination?: string;
  readonly destinationId?: string;
  readonly destinationUri?: string;
  readonly [k: string]: unknown;
}

export interface StopResult extends ExitStatus {
  readonly forced: boolean;
  readonly durationMs: number;
}

export class Gateway {
  readonly token: string;
  readonly secret: string;
  private proc: ManagedProcess | undefined;
  private generation = 0;

  constructor(readonly opts: GatewayOptions) {
    this.token = opts.token ?? "e2e-admin-token-0123456789abcdef";
    this.secret = opts.secret ?? "e2e-record-route-secret-0123456789abcdef";
  }

  get sipPort(): number {
    return this.opts.sipPort;
  }

  get httpPort(): number {
    return this.opts.httpPort;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  get process(): ManagedProcess | undefined {
    return this.proc;
  }

  env(): NodeJS.ProcessEnv {
    const transports = this.opts.transports ?? ["udp", "tcp"];
    return {
      ...process.env,
      SWITCHBOARD_SIP_LISTEN: transports.map((t) => `${t}:127.0.0.1:${this.opts.sipPort}`).join(","),
      SWITCHBOARD_HTTP_LISTEN: `127.0.0.1:${this.opts.httpPort}`,
      SWITCHBOARD_ADMIN_TOKEN: this.token,
      SWITCHBOARD_DESTINATIONS: this.opts.destinations.join(","),
      SWITCHBOARD_SECRET: this.secret,
      SWITCHBOARD_BRANCH_TIMEOUT: String(this.opts.branchTimeoutMs ?? 1000),
      // keep the gateway's data (generated secret, ...) out of the repo
      SWITCHBOARD_DATA_DIR: join(this.opts.dir, "gateway-data"),
      ...(this.opts.env ?? {}),
    };
  }

  /** Start and wait for "switchboard ready" (rejects with the output tail if it exits or times out first). */
  async start(): Promise<void> {
    if (this.proc?.running) throw new Error("gateway already running");
    this.generation++;
    this.proc = startProcess(process.execPath, [...GATEWAY_HEAP_FLAGS, "--import", "tsx", ...(this.opts.nodeArgs ?? []), GATEWAY_ENTRY, "start"], {
      name: `${this.opts.name ?? "gateway"}#${this.generation}`,
      cwd: REPO_ROOT,
      env: this.env(),
      maxLifetimeMs: this.opts.maxLifetimeMs ?? 300_000,
    });
    try {
      await this.proc.waitForLine(/switchboard ready/, this.opts.readyTimeoutMs ?? 30_000);
    } catch (e) {
      await this.stop("SIGKILL");
      throw e;
    }
  }

  /** Stop with `sig` (SIGKILL after 10 s if SIGTERM is not honoured); saves the output to dir/gateway-N.log. */
  async stop(sig: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<StopResult> {
    const p = this.proc;
    if (!p) return { code: null, signal: null, forced: false, durationMs: 0 };
    const t0 = Date.now();
    const st = await p.stop(sig, graceMs);
    const durationMs = Date.now() - t0;
    const file = `${this.opts.name ?? "gateway"}-${this.generation}.log`;
    await writeFile(join(this.opts.dir, file), `${p.stdout()}\n--- stderr ---\n${p.stderr()}`);
    return { ...st, forced: sig !== "SIGKILL" && st.forced, durationMs };
  }

  /** Stop with `sig` and start again on the same ports. */
  async restart(sig: NodeJS.Signals = "SIGTERM"): Promise<StopResult> {
    const r = await this.stop(sig);
    await this.start();
    return r;
  }

  logTail(n = 4000): string {
    return this.proc ? `[${this.proc.name} pid ${this.proc.pid}]\n${this.proc.tail(n)}` : "(gateway never started)";
  }

  /** GET an admin path; returns status and parsed JSON (or text). */
  async adminGet(path: string, auth = true): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`http://127.0.0.1:${this.opts.httpPort}${path}`, {
      headers: auth ? { authorization: `Bearer ${this.token}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep text
    }
    return { status: res.status, body };
  }

  /** Any admin request with a JSON body (bearer token); returns status and parsed JSON (or text). */
  async adminRequest(method: string, path: string, json?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`http://127.0.0.1:${this.opts.httpPort}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(json === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep text
    }
    return { status: res.status, body };
  }

  async adminPost(path: string, json: unknown): Promise<{ status: number; body: unknown }> {
    return this.adminRequest("POST", path, json);
  }

  async healthz(): Promise<{ status: number; body: unknown }> {
    return this.adminGet("/healthz", false);
  }

  async dialogs(): Promise<Dialog[]> {
    const r = await this.adminGet("/v1/dialogs");
    if (r.status !== 200) throw new Error(`GET /v1/dialogs: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return asArray(r.body, "GET /v1/dialogs") as Dialog[];
  }

  async destinations(): Promise<unknown[]> {
    const r = await this.adminGet("/v1/destinations");
    if (r.status !== 200) throw new Error(`GET /v1/destinations: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return asArray(r.body, "GET /v1/destinations");
  }
}

function asArray(body: unknown, what: string): unknown[] {
  if (Array.isArray(body)) return body;
  throw new Error(`${what}: the contract says a JSON array, got ${JSON.stringify(body).slice(0, 300)}`);
}

/** The gateway is started only if its entry point exists. */
export async function gatewayEntryExists(): Promise<boolean> {
  const { access } = await import("node:fs/promises");
  try {
    await access(join(REPO_ROOT, GATEWAY_ENTRY));
    return true;
  } catch {
    return false;
  }
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const gw = new Gateway(opts);
  await gw.start();
  return gw;
}
