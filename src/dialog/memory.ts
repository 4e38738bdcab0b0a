/**
 * In-process DialogStore: the embedded default. Expiry is evaluated against the injected clock on every read and
 * by `sweep()`, which the gateway calls on a timer, so stale dialogs disappear even when nobody asks for them.
 */
import type { Dialog, DialogFilter, DialogStore } from "./dialog.ts";

export class MemoryDialogStore implements DialogStore {
  readonly #dialogs = new Map<string, Dialog>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  #live(id: string): Dialog | undefined {
    const dialog = this.#dialogs.get(id);
    if (dialog && dialog.expiresAt <= this.#now()) {
      this.#dialogs.delete(id);
      return undefined;
    }
    return dialog;
  }

  async put(dialog: Dialog, ttlMs: number): Promise<void> {
    const now = this.#now();
    this.#dialogs.set(dialog.id, { ...dialog, updatedAt: now, expiresAt: now + ttlMs });
  }

  async get(id: string): Promise<Dialog | undefined> {
    return this.#live(id);
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    const dialog = this.#live(id);
    if (!dialog) return false;
    const now = this.#now();
    this.#dialogs.set(id, { ...dialog, updatedAt: now, expiresAt: now + ttlMs });
    return true;
  }

  async remove(id: string): Promise<Dialog | undefined> {
    const dialog = this.#live(id);
    this.#dialogs.delete(id);
    return dialog;
  }

  async list(filter: DialogFilter = {}): Promise<Dialog[]> {
    const out: Dialog[] = [];
    const limit = filter.limit ?? Infinity;
    for (const id of [...this.#dialogs.keys()]) {
      const dialog = this.#live(id);
      if (!dialog) continue;
      if (filter.destinationId !== undefined && dialog.destinationId !== filter.destinationId) continue;
      out.push(dialog);
      if (out.length >= limit) break;
    }
    return out;
  }

  async count(): Promise<number> {
    this.sweep();
    return this.#dialogs.size;
  }

  /** Drop every expired dialog; returns how many went. */
  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (const [id, dialog] of this.#dialogs) {
      if (dialog.expiresAt <= now) {
        this.#dialogs.delete(id);
        removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#dialogs.clear();
  }
}
