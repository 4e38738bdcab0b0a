/**
 * Who we are on the wire: the addresses we put in Via and Record-Route, and the set of host:port pairs that mean
 * "us" in a Request-URI, Route or Via (RFC 3261 §16.4: a proxy must recognise its own Route entries).
 */
import { networkInterfaces } from "node:os";
import type { LocalAddress, TransportKind } from "./transport.ts";

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);

function bracket(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** The address others should use to reach us: the configured one, the bound host, else the first external IPv4. */
export function pickAdvertisedHost(configured: string | undefined, listens: readonly LocalAddress[]): string {
  if (configured) return unbracket(configured);
  const bound = listens.find((l) => !WILDCARDS.has(l.host));
  if (bound) return bound.host;
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (entry.family === "IPv4" && !entry.internal) return entry.address;
  }
  return "127.0.0.1";
}

export class OurAddresses {
  readonly advertisedHost: string;
  readonly #ports = new Map<TransportKind, number>();
  readonly #hostPorts = new Set<string>();
  readonly #hosts = new Set<string>();

  constructor(advertisedHost: string, listens: readonly LocalAddress[]) {
    this.advertisedHost = advertisedHost;
    const hosts = new Set<string>([advertisedHost.toLowerCase()]);
    for (const listen of listens) {
      if (!this.#ports.has(listen.transport)) this.#ports.set(listen.transport, listen.port);
      if (WILDCARDS.has(listen.host)) {
        for (const entries of Object.values(networkInterfaces())) for (const e of entries ?? []) hosts.add(e.address.toLowerCase());
        hosts.add("localhost");
      } else {
        hosts.add(listen.host.toLowerCase());
      }
    }
    for (const host of hosts) {
      this.#hosts.add(host);
      for (const listen of listens) this.#hostPorts.add(`${host}|${listen.port}`);
    }
  }

  /** Port we listen on for a transport (the first listen address of that kind). */
  port(transport: TransportKind): number | undefined {
    return this.#ports.get(transport);
  }

  /** True when host[:port] names this gateway (port absent means 5060, §19.1.2). */
  isUs(host: string, port: number | undefined): boolean {
    return this.#hostPorts.has(`${unbracket(host).toLowerCase()}|${port ?? 5060}`);
  }

  /** sent-by / hostport text for our Via and Record-Route on a transport. */
  hostPort(transport: TransportKind): string {
    const port = this.#ports.get(transport) ?? this.#ports.values().next().value ?? 5060;
    return `${bracket(this.advertisedHost)}:${port}`;
  }
}
