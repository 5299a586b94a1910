//! `lib0/logging` as Yjs uses it (`print`, `warn` and the colour marks), to the console without
//! colours. Put in its place by the alias in `vite.config.ts`: lib0's browser logger colours its
//! output through `lib0/dom`, which brings `lib0/schema` into the bundle for two rare warnings.

export const BOLD = Symbol('bold');
export const UNBOLD = Symbol('unbold');
export const BLUE = Symbol('blue');
export const GREY = Symbol('grey');
export const GREEN = Symbol('green');
export const RED = Symbol('red');
export const PURPLE = Symbol('purple');
export const ORANGE = Symbol('orange');
export const UNCOLOR = Symbol('uncolor');

/** The arguments without the colour marks. */
export function plain(args: readonly unknown[]): unknown[] {
  return args.filter((a) => typeof a !== 'symbol');
}

export const print = (...args: unknown[]): void => console.log(...plain(args));
export const warn = (...args: unknown[]): void => console.warn(...plain(args));
