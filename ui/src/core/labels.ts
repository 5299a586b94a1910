//! Short texts the session screen shows in tight places: the top bar's beat badge, a follower's
//! one-line transport status, the band's head count.

import type { RoomStats, Segment, SyncConcern } from '../bindings';
import { coreInfo } from '../wasm/api';

/** The top bar's beat badge, two short lines (`bar 3` over `beat 2`), or `stopped`. */
export function beatBadge(s: { playing: boolean; countIn: boolean; bar: number; beat: number }): string {
  return !s.playing ? 'stopped' : s.countIn ? `count-in\nbeat ${s.beat + 1}` : `bar ${s.bar + 1}\nbeat ${s.beat + 1}`;
}

/** A follower's transport in one line: `▶ playing · Ana leads`. (The beat card above it shows the
 *  tempo and meter, so the line keeps to what fits a 360 px phone.) */
export function transportLine(seg: Segment, leader: string | null): string {
  return `${seg.playing ? '▶ playing' : '■ stopped'} · ${leader ? `${leader} leads` : 'nobody leads'}`;
}

export function bandSummary(s: RoomStats): string {
  return `Band: ${s.online} of ${s.members} online`;
}

let concerns: Map<SyncConcern, string> | null = null;
/** A concern the host found with a member's sync, in the core's words (`SyncConcern::words`,
 *  `crates/core/src/protocol/concerns.rs`), as the CLI prints them. */
export function concernWords(c: SyncConcern): string {
  return (concerns ??= new Map(coreInfo().concerns)).get(c) ?? c;
}
