/**
 * The set of destinations the gateway balances over, held in memory as an immutable snapshot: the hot path reads
 * `snapshot()` (one array, no copy, no query); changes swap in a new snapshot and bump `version`.
 */
import type { Destination, DestinationState } from "./destination.ts";
import { destinationTarget } from "./destination.ts";

export type AddResult = { ok: true; destination: Destination } | { ok: false; conflict: string };

export class DestinationRegistry {
  #snapshot: readonly Destination[] = [];
  #version = 0;
  #nextId = 1;

  snapshot(): readonly Destination[] {
    return this.#snapshot;
  }

  get version(): number {
    return this.#version;
  }

  get(id: string): Destination | undefined {
    return this.#snapshot.find((d) => d.id === id);
  }

  add(input: { id?: string | undefined; uri: string; state?: DestinationState | undefined }): AddResult {
    const target = destinationTarget(input.uri);
    if (!target) return { ok: false, conflict: `not a reachable sip: URI: ${input.uri}` };
    let id = input.id;
    if (id === undefined) {
      do id = `d${this.#nextId++}`;
      while (this.get(id));
    }
    if (this.get(id)) return { ok: false, conflict: `destination ${id} exists` };
    if (this.#snapshot.some((d) => d.uri === input.uri)) return { ok: false, conflict: `destination ${input.uri} exists` };
    const destination: Destination = { id, uri: input.uri, target, state: input.state ?? "active" };
    this.#swap([...this.#snapshot, destination]);
    return { ok: true, destination };
  }

  remove(id: string): Destination | undefined {
    const found = this.get(id);
    if (found) this.#swap(this.#snapshot.filter((d) => d.id !== id));
    return found;
  }

  #swap(next: readonly Destination[]): void {
    this.#snapshot = Object.freeze(next);
    this.#version++;
  }
}
