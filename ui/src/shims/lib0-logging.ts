//! `lib0/logging` as Yjs uses it (`print`, `warn` and the colour marks), to the console without
//! colours. Put in its place by the alias in `vite.config.ts`: lib0's browser logger colours its
//! output through `lib0/dom`, which brings `lib0/schema` into the bundle for two rare warnings.

// The colour marks, only ever filtered out: no descriptions (the page's size budget is tight).
export const BOLD = Symbol();
export const UNBOLD = Symbol();
export const BLUE = Symbol();
export const GREY = Symbol();
export const GREEN = Symbol();
export const RED = Symbol();
export const PURPLE = Symbol();
export const ORANGE = Symbol();
export const UNCOLOR = Symbol();

/** The arguments without the colour marks. */
export function plain(args: readonly unknown[]): unknown[] {
  return args.filter((a) => typeof a !== 'symbol');
}

export const print = (...args: unknown[]): void => console.log(...plain(args));
export const warn = (...args: unknown[]): void => console.warn(...plain(args));
