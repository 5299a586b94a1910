//! What the UI needs from whatever runs the session: the browser's own WebSocket client, or the
//! Rust side of the Tauri app. Both produce the same events (APP_API.md's `AppEvent`), except that
//! document frames arrive as bytes.

import type { AppEvent, ClientMsg, ClockStatus, Mirrored, ServerMsg } from '../bindings';

/** An `AppEvent`, with document frames as bytes. A server message from the page's own member
 *  comes with what it changed in the member's mirror (`null`: nothing, the member's own error);
 *  the app's come without, for the view's mirror to read. */
export type UiEvent =
  | Exclude<AppEvent, { kind: 'doc' | 'server' }>
  | { kind: 'doc'; data: Uint8Array }
  | { kind: 'server'; msg: ServerMsg; mirrored?: Mirrored | null };

export type Listener = (ev: UiEvent) => void;

/** How to join: a link (or `HOST:PORT`), a name, and a PIN when the link has no secret. */
export interface JoinRequest {
  target: string;
  name: string;
  instrument: string | null;
  pin: string | null;
  /** Take leadership on join if it is free. */
  leader?: boolean;
}

export interface Backend {
  readonly kind: 'browser' | 'tauri';
  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: Listener): () => void;
  /** Sends a control message. Rejects with a sentence when it could not be sent. */
  send(msg: ClientMsg): Promise<void>;
  /** Sends one y-sync frame. Frames sent while offline are dropped: the next sync carries them. */
  sendDoc(frame: Uint8Array): void;
  /** Leaves the session for good. */
  leave(): Promise<void>;
  /** Host time now (µs) through the clock estimate, or `null` before there is one. */
  hostNow(): number | null;
  /** Host time (µs) → `performance.now()` time (ms), or `null` before there is an estimate. */
  hostToPerf(hostUs: number): number | null;
  /** The latest clock status. */
  clock(): ClockStatus | null;
  /** A link as a QR code (an SVG document), drawn by the host's Rust code, never by the page. */
  qrSvg(link: string): Promise<string>;
}
