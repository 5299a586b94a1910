//! Following the current song's flow (its parts and bars, `wasm/flow.ts`) on the shared timeline:
//! which song is current where the transport stands, and the part being played. The part is the
//! core's answer (`flowPlaceAt`, read from the transport's flow cursor, so a leader's "go to the
//! outro" or "vamp" and a meter change mid-song are the same on every device); this only picks
//! the song and the chart to ask about.

import type { FlowPlace, Transport, TransportPlace } from '../bindings';
import type { Song } from '../doc/setlist';
import { flowPlaceAt } from '../wasm/flow';

export interface Following {
  song: Song;
  /** Bars from the bar origin (negative in a count-in). */
  bar: number;
  /** The part; `null` in a count-in, after the last part, or for a flow that does not read. */
  place: FlowPlace | null;
}

/**
 * The current song and where in its flow the transport `tr` stands at host time `now` (`p` is
 * `transportAt(tr, now)`); `null` while stopped or when the song has no flow. The song is the one
 * the segment in effect carries (so a song called for the next bar takes over on that bar), else
 * the session's. `chart` (a song's chart text) lets the core name the chart section of the part,
 * when it is that song's.
 */
export function follow(
  tr: Transport,
  now: number,
  p: Pick<TransportPlace, 'playing' | 'bar' | 'segment'>,
  current: string | null,
  songs: readonly Song[],
  chart?: { id: string; text: string },
): Following | null {
  if (!p.playing) return null;
  const id = p.segment.song?.id ?? current;
  const song = songs.find((s) => s.id === id);
  if (!song?.flow.trim()) return null;
  const text = chart?.id === song.id ? chart.text : undefined;
  return { song, bar: p.bar, place: flowPlaceAt(song.flow, tr, now, text) };
}
