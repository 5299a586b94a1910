//! `lib0/environment` as the bundle uses it: `isBrowser` (lib0/buffer) and `getVariable` (Yjs's
//! dev mode, `node_env`). Put in its place by the alias in `vite.config.ts`: lib0's own module
//! parses the query string and the command line, and works out terminal colours, when it loads.

export const isNode = typeof document === 'undefined';
export const isBrowser = !isNode;

/** A variable, as lib0 reads one in a browser: from localStorage (`null` when absent). */
export function getVariable(name: string): string | null {
  try {
    return globalThis.localStorage?.getItem(name) ?? null;
  } catch {
    return null;
  }
}
