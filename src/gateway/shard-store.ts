/**
 * The dialog store as a worker shard sees it: every operation is answered by the main thread's store (in-process
 * or Redis), so capacity counters stay one set per gateway and reservations stay atomic whatever shard a call is on.
 */
import type { Dialog, DialogFilter, DialogStore, Load, ReconcileResult, Reservation, ReserveResult } from "../dialog/dialog.ts";
import type { ShardLink } from "./shard-link.ts";

/** The operations a shard may ask for: the DialogStore port minus close (the main thread owns the store's life). */
export const STORE_OPS = ["reserve", "refresh", "release", "load", "reconcile", "put", "get", "touch", "remove", "list", "count"] as const;
export type StoreOp = (typeof STORE_OPS)[number];

export class ShardDialogStore implements DialogStore {
  readonly #link: ShardLink;

  constructor(link: ShardLink) {
    this.#link = link;
  }

  #call<T>(op: StoreOp, ...args: unknown[]): Promise<T> {
    return this.#link.call<T>("store", op, args);
  }

  reserve(r: Reservation, capacities: Readonly<Record<string, number>>, ttlMs: number): Promise<ReserveResult> {
    return this.#call("reserve", r, capacities, ttlMs);
  }
  refresh(destinationId: string, id: string, ttlMs: number): Promise<boolean> {
    return this.#call("refresh", destinationId, id, ttlMs);
  }
  release(destinationId: string, id: string): Promise<boolean> {
    return this.#call("release", destinationId, id);
  }
  load(destinationIds: readonly string[]): Promise<Record<string, Load>> {
    return this.#call("load", destinationIds);
  }
  reconcile(destinationId: string): Promise<ReconcileResult> {
    return this.#call("reconcile", destinationId);
  }
  put(dialog: Dialog, ttlMs: number): Promise<void> {
    return this.#call("put", dialog, ttlMs);
  }
  get(id: string): Promise<Dialog | undefined> {
    return this.#call("get", id);
  }
  touch(id: string, ttlMs: number): Promise<boolean> {
    return this.#call("touch", id, ttlMs);
  }
  remove(id: string): Promise<Dialog | undefined> {
    return this.#call("remove", id);
  }
  list(filter?: DialogFilter): Promise<Dialog[]> {
    return this.#call("list", filter);
  }
  count(): Promise<number> {
    return this.#call("count");
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The main thread's side: run a shard's store call on the real store. */
export function serveStore(store: DialogStore, op: string, args: readonly unknown[]): Promise<unknown> {
  if (!(STORE_OPS as readonly string[]).includes(op)) return Promise.reject(new Error(`no store operation ${op}`));
  return (store[op as StoreOp] as (...a: unknown[]) => Promise<unknown>).apply(store, args as unknown[]);
}
