/**
 * Free loopback ports. A SIP endpoint listens on the same number over UDP and TCP, so a port is handed out only when
 * both a TCP and a UDP socket could be bound to it on 127.0.0.1 (the kernel picks it for TCP, then UDP is tried on
 * the same number). Ports handed out by this process are never handed out twice.
 *
 * There is an unavoidable window between closing the probe sockets and the child binding the port; on loopback with
 * ports from the ephemeral range this does not happen in practice, and a child failing to bind exits at once with a
 * clear error (sipp: "Unable to bind main socket"), so it would not go unnoticed.
 */
import { createServer, type Server } from "node:net";
import { createSocket } from "node:dgram";

const HOST = "127.0.0.1";
const given = new Set<number>();

function listenTcp(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen({ host: HOST, port, exclusive: true }, () => resolve(srv));
  });
}

function closeTcp(srv: Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket({ type: "udp4", reuseAddr: false });
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind({ address: HOST, port, exclusive: true }, () => {
      s.close(() => resolve(true));
    });
  });
}

async function tcpFree(port: number): Promise<boolean> {
  try {
    await closeTcp(await listenTcp(port));
    return true;
  } catch {
    return false;
  }
}

/** One port number free on both UDP and TCP on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const srv = await listenTcp(0);
    const addr = srv.address();
    const port = typeof addr === "object" && addr !== null ? addr.port : 0;
    const ok = port > 0 && !given.has(port) && (await udpFree(port));
    await closeTcp(srv);
    if (ok) {
      given.add(port);
      return port;
    }
  }
  throw new Error("no free UDP+TCP port pair found on 127.0.0.1 after 50 attempts");
}

/** `n` distinct ports, each free on both UDP and TCP. */
export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await freePort());
  return out;
}

/** Whether `port` is currently free on both transports (for checks after a process stopped). */
export async function isFree(port: number): Promise<boolean> {
  return (await tcpFree(port)) && (await udpFree(port));
}

/**
 * Whether some socket is bound to 127.0.0.1:`port` (or 0.0.0.0:`port`): UDP bound, TCP in LISTEN. Read from
 * /proc/net/{udp,tcp}, so probing never takes the port from the process we wait for (binding a probe socket would).
 */
export async function isBound(transport: "udp" | "tcp", port: number): Promise<boolean> {
  const { readFile } = await import("node:fs/promises");
  const text = await readFile(`/proc/net/${transport}`, "utf8");
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    const state = cols[3];
    if (local === undefined || state === undefined) continue;
    const [ip, p] = local.split(":");
    if (p !== hexPort) continue;
    if (ip !== "0100007F" && ip !== "00000000") continue;
    if (transport === "tcp" && state !== "0A") continue; // 0A = LISTEN
    return true;
  }
  return false;
}
