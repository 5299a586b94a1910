//! The app controller and store, for the views.

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { App } from '../app';
import type { AppState } from '../state/appstate';
import { useStore } from '../state/store';

export { bpmText } from '../core/timeline';

export const AppContext = createContext<App | null>(null);

export function useApp(): App {
  const app = useContext(AppContext);
  if (!app) throw new Error('no App in context');
  return app;
}

/** A slice of the app state; re-renders when it changes. */
export function useAppState<T>(select: (s: AppState) => T, same?: (a: T, b: T) => boolean): T {
  return useStore(useApp().store, select, same);
}

/** `12.3 ms` from µs, or a dash. */
export function ms(us: number | null | undefined, digits = 1): string {
  if (us === null || us === undefined || !Number.isFinite(us) || us >= Number.MAX_SAFE_INTEGER) return '–';
  return `${(us / 1000).toFixed(digits)} ms`;
}

/** A wall-clock time (Unix ms) as the chat shows it. */
export function clock(at: number): string {
  const d = new Date(at);
  const today = new Date();
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === today.toDateString() ? hm : `${d.toLocaleDateString()} ${hm}`;
}

/** Offers text as a file download. */
export function download(name: string, mime: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${mime};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
