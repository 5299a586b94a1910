//! The session's Y.Doc and awareness, synced with y-sync frames through the backend (PROTOCOL
//! §12): binary WebSocket frames in the browser, `send_doc` / `doc` events in the Tauri app.
//!
//! After every welcome (first join and each resume) this member opens with sync step 1 and its
//! awareness state; the host answers with step 2 and its own step 1, which is answered here.
//! Local edits (any origin but [`REMOTE`]) go out as updates. Awareness carries
//! `{user: {name, color, id}, chart}`, and `cursor` while a chart editor is open: the chart
//! editor draws remote cursors from `user` and `cursor` (doc/cursors.ts), the participant view
//! shows who is in which chart from `chart`.

import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

/** The transaction origin of changes that came from the host. */
export const REMOTE = 'remote';
const MSG_SYNC = 0;
const MSG_AWARENESS = 1;
/** Frames of this size or more are refused by the host (PROTOCOL §3.1). */
export const MAX_FRAME = 65_536;

export interface PresenceUser {
  name: string;
  color: string;
  colorLight: string;
  /** Participant id in the session. */
  id: number;
}

export interface DocSyncOptions {
  /** Sends one frame. */
  send: (frame: Uint8Array) => void;
  /** Told when a local edit is too large to send; the edit stays local. */
  onTooLarge?: (bytes: number) => void;
  /** Told when a frame from the host could not be read. */
  onBadFrame?: (err: unknown) => void;
}

export class DocSync {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  /** Whether the first sync step 2 from the host has been applied since the last welcome. */
  synced = false;
  private online = false;
  private listeners = new Set<() => void>();

  constructor(private opts: DocSyncOptions) {
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === REMOTE || !this.online) return;
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MSG_SYNC);
      syncProtocol.writeUpdate(e, update);
      this.sendFrame(encoding.toUint8Array(e));
    });
    this.awareness.on(
      'update',
      ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
        if (origin === REMOTE || !this.online) return;
        const changed = [...added, ...updated, ...removed];
        this.sendFrame(this.awarenessFrame(changed));
      },
    );
    this.awareness.on('change', () => this.notify());
  }

  private sendFrame(frame: Uint8Array): void {
    if (frame.length >= MAX_FRAME) {
      this.opts.onTooLarge?.(frame.length);
      return;
    }
    this.opts.send(frame);
  }

  private awarenessFrame(clients: number[]): Uint8Array {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_AWARENESS);
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients));
    return encoding.toUint8Array(e);
  }

  /** Awareness changes (presence). */
  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Joined (or resumed): open the sync and announce ourselves. */
  connected(): void {
    this.online = true;
    this.synced = false;
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_SYNC);
    syncProtocol.writeSyncStep1(e, this.doc);
    this.opts.send(encoding.toUint8Array(e));
    if (this.awareness.getLocalState() !== null) this.sendFrame(this.awarenessFrame([this.doc.clientID]));
  }

  /** The connection dropped: edits stay local until the next `connected`. */
  disconnected(): void {
    this.online = false;
  }

  /** One frame from the host: applied, and answered when the protocol asks for an answer. */
  receive(frame: Uint8Array): void {
    try {
      const d = decoding.createDecoder(frame);
      while (decoding.hasContent(d)) {
        const type = decoding.readVarUint(d);
        if (type === MSG_SYNC) {
          const reply = encoding.createEncoder();
          encoding.writeVarUint(reply, MSG_SYNC);
          const kind = syncProtocol.readSyncMessage(d, reply, this.doc, REMOTE);
          if (kind === syncProtocol.messageYjsSyncStep2) this.synced = true;
          if (encoding.length(reply) > 1) this.sendFrame(encoding.toUint8Array(reply));
        } else if (type === MSG_AWARENESS) {
          awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(d), REMOTE);
        } else {
          // Auth or a custom message: nothing a member acts on, and its length is unknown.
          return;
        }
      }
    } catch (err) {
      this.opts.onBadFrame?.(err);
    }
  }

  /** Sets who we are for remote cursors and presence. */
  setUser(user: PresenceUser): void {
    this.awareness.setLocalStateField('user', user);
  }

  /** Sets which chart we are looking at. */
  setChart(songId: string | null): void {
    this.awareness.setLocalStateField('chart', songId);
  }

  /** Participant id → the chart they are in, from everyone's awareness but ours. */
  presence(): Map<number, string | null> {
    const out = new Map<number, string | null>();
    this.awareness.getStates().forEach((st, client) => {
      if (client === this.doc.clientID) return;
      const u = st.user as PresenceUser | undefined;
      if (u && typeof u.id === 'number') out.set(u.id, typeof st.chart === 'string' ? st.chart : null);
    });
    return out;
  }

  /** Forgets the awareness of a participant who left. */
  forgetParticipant(id: number): void {
    const gone: number[] = [];
    this.awareness.getStates().forEach((st, client) => {
      const u = st.user as PresenceUser | undefined;
      if (client !== this.doc.clientID && u?.id === id) gone.push(client);
    });
    if (gone.length) awarenessProtocol.removeAwarenessStates(this.awareness, gone, REMOTE);
  }

  /** Leaving: tell the others our cursor is gone, then stop. */
  destroy(): void {
    if (this.online) awarenessProtocol.removeAwarenessStates(this.awareness, [this.doc.clientID], 'local');
    this.online = false;
    this.awareness.destroy();
    this.doc.destroy();
  }
}
