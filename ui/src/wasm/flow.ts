//! A song's flow through the Rust core (`bandsync_core::chart::flow`): its parts, and the part
//! (and chart section) a bar from the song's start falls in. Every device computes the same
//! answer from the shared timeline's bar.

import type { FlowPlace, Transport } from '../bindings';
import { core, CoreError } from './core';

/** What is wrong with a flow, or `null` when it reads. */
export function flowProblem(flow: string): string | null {
  try {
    core().call<number | null>('flow.start', [flow, 0]);
    return null;
  } catch (e) {
    if (e instanceof CoreError) return e.message;
    throw e;
  }
}

/** Where the transport's flow cursor (PROTOCOL §4.20) puts the song at host time `now`: the part,
 * vamping or not, with the chart section it names; `null` without a current song, in a count-in,
 * past the end, or for a flow that does not read. */
export function flowPlaceAt(flow: string, transport: Transport, now: number, text?: string): FlowPlace | null {
  try {
    return core().call<FlowPlace | null>('flow.place', [flow, transport, now, text ?? null]);
  } catch (e) {
    if (e instanceof CoreError) return null;
    throw e;
  }
}

/** The flow bar part `index` starts on, or `null` past the last part (or for a flow that does
 * not read): where the leader's "repeat" and "next" send the band. */
export function flowStart(flow: string, index: number): number | null {
  try {
    return core().call<number | null>('flow.start', [flow, index]);
  } catch (e) {
    if (e instanceof CoreError) return null;
    throw e;
  }
}
