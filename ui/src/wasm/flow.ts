//! A song's flow through the Rust core (`bandsync_core::chart::flow`): its parts, and the part
//! (and chart section) a bar from the song's start falls in. Every device computes the same
//! answer from the shared timeline's bar.

import type { FlowPlace } from '../bindings';
import { core, CoreError } from './core';

/** What is wrong with a flow, or `null` when it reads. */
export function flowProblem(flow: string): string | null {
  try {
    core().call<FlowPlace | null>('flow.place', { flow, bar: -1 });
    return null;
  } catch (e) {
    if (e instanceof CoreError) return e.message;
    throw e;
  }
}

/** The part bar `bar` (from the song's start) is in, with the chart section it names; `null`
 * in a count-in, after the last part, or for a flow that does not read. */
export function flowPlace(flow: string, bar: number, text?: string): FlowPlace | null {
  try {
    return core().call<FlowPlace | null>('flow.place', { flow, bar, text });
  } catch (e) {
    if (e instanceof CoreError) return null;
    throw e;
  }
}
