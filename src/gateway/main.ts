/**
 * The `switchboard` command. `switchboard start` reads the config (a JSON file named by SWITCHBOARD_CONFIG or
 * --config, then SWITCHBOARD_* variables), starts the gateway on the embedded defaults (in-process route function and
 * dialog store) and stops gracefully on SIGTERM/SIGINT.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseConfig, type Config } from "../config.ts";
import { startGateway } from "./gateway.ts";
import { jsonLogger } from "./log.ts";
import { applyGatewayV8Flags, missingHeapFlags } from "./v8-tuning.ts";

const USAGE = `usage: switchboard start [--config FILE]

Environment (see README): SWITCHBOARD_SIP_LISTEN, SWITCHBOARD_HTTP_LISTEN, SWITCHBOARD_ADMIN_TOKEN,
SWITCHBOARD_DESTINATIONS, SWITCHBOARD_SECRET, SWITCHBOARD_SIP_ADVERTISE, SWITCHBOARD_BRANCH_TIMEOUT, ...`;

function readConfigFile(path: string | undefined): unknown {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    console.error(`switchboard: cannot read config file ${path}: ${(error as Error).message}`);
    process.exit(2);
  }
}

/**
 * The Record-Route signing key. Without SWITCHBOARD_SECRET a key is generated once and kept in the data directory,
 * so a restarted gateway still routes the calls it set up. Gateways of one deployment must share one secret.
 */
function loadSecret(config: Config): { secret: string; origin: string } {
  if (config.secret) return { secret: config.secret, origin: "SWITCHBOARD_SECRET" };
  const file = join(config.dataDir, "secret");
  if (existsSync(file)) return { secret: readFileSync(file, "utf8").trim(), origin: file };
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, origin: `${file} (generated)` };
}

async function start(argv: string[]): Promise<void> {
  // Before anything allocates on the hot path (v8-tuning.ts says why).
  applyGatewayV8Flags();
  const configIndex = argv.indexOf("--config");
  const configPath = configIndex >= 0 ? argv[configIndex + 1] : process.env.SWITCHBOARD_CONFIG;
  const parsed = parseConfig(process.env, readConfigFile(configPath));
  if (!parsed.ok) {
    console.error(`switchboard: ${parsed.error.message}`);
    process.exit(2);
  }
  const config = parsed.config;
  const log = jsonLogger(config.logLevel);
  const { secret, origin } = loadSecret(config);
  const adminToken = config.adminToken ?? randomBytes(24).toString("base64url");
  if (!config.adminToken) console.log(`switchboard: generated admin token (set SWITCHBOARD_ADMIN_TOKEN to choose one): ${adminToken}`);

  const missing = missingHeapFlags(process.execArgv);
  if (missing.length > 0) {
    log.log("warn", "started without the gateway's V8 heap flags: bursts after a lull will have a longer tail (v8-tuning.ts)", {
      missing: missing.join(" "),
    });
  }

  process.on("uncaughtException", (error) => log.log("error", "uncaught exception", { error: String(error?.stack ?? error) }));
  process.on("unhandledRejection", (error) => log.log("error", "unhandled rejection", { error: String(error) }));

  const gateway = await startGateway({ config, secret, adminToken, log });
  for (const t of gateway.transports) console.log(`switchboard: SIP ${t.local.transport} listening on ${t.local.host}:${t.local.port}`);
  console.log(`switchboard: admin API on http://${config.httpListen.host}:${gateway.httpPort} (GET /healthz, /v1/destinations, /v1/dialogs)`);
  const dests = gateway.destinations.snapshot();
  console.log(
    dests.length > 0
      ? `switchboard: balancing round robin over ${dests.length} destination(s): ${dests.map((d) => `${d.id}=${d.uri}`).join(", ")}`
      : "switchboard: no destinations yet (set SWITCHBOARD_DESTINATIONS or POST /v1/destinations); new calls get 503",
  );
  console.log(`switchboard: Record-Route signing key from ${origin}`);
  console.log("switchboard ready");

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log("info", "shutting down: no new calls, finishing transactions", { signal, graceMs: config.shutdownGraceMs });
    gateway.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

const [command, ...rest] = process.argv.slice(2);
if (command === "start") {
  start(rest).catch((error) => {
    console.error(`switchboard: ${(error as Error).message}`);
    process.exit(1);
  });
} else {
  console.error(USAGE);
  process.exit(command === undefined || command === "--help" || command === "help" ? 0 : 2);
}
