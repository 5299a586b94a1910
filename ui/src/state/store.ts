//! A tiny observable store and the Preact hook that reads from it. Views subscribe to the slice
//! they show and re-render only when that slice changes (by identity).

import { useEffect, useState } from 'preact/hooks';

export class Store<S> {
  private listeners = new Set<() => void>();

  constructor(private state: S) {}

  get(): S {
    return this.state;
  }

  set(patch: Partial<S> | ((s: S) => Partial<S>)): void {
    const p = typeof patch === 'function' ? patch(this.state) : patch;
    let changed = false;
    for (const k of Object.keys(p) as (keyof S)[]) {
      if (this.state[k] !== p[k]) {
        changed = true;
        break;
      }
    }
    if (!changed) return;
    this.state = { ...this.state, ...p };
    for (const l of [...this.listeners]) l();
  }

  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/** Whether two lists of rows of plain values hold the same values: for a selector that derives a
 *  new list on every change of the state (the participants a view shows of the session). */
export function sameRows<R extends readonly unknown[]>(a: readonly R[], b: readonly R[]): boolean {
  return a.length === b.length && a.every((r, i) => r.length === b[i]!.length && r.every((v, j) => Object.is(v, b[i]![j])));
}

/** The selected slice of a store; re-renders when it changes (by identity, or by `same` for a
 *  slice the selector derives anew each time). */
export function useStore<S, T>(store: Store<S>, select: (s: S) => T, same: (a: T, b: T) => boolean = Object.is): T {
  const [value, setValue] = useState(() => select(store.get()));
  useEffect(() => {
    const check = () =>
      setValue((prev) => {
        const next = select(store.get());
        return same(prev, next) ? prev : next;
      });
    check();
    return store.subscribe(check);
    // The selector is expected to be stable in what it selects.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store]);
  return value;
}
