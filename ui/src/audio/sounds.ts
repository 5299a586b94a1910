//! The click sounds a player can choose. The sounds themselves are the Rust engine's
//! (`crates/audio/src/sounds.rs`), the same in the app, the CLI and the page; this is their names.

import type { ClickSound } from '../bindings';

export type { ClickSound };

export const CLICK_SOUNDS: { id: ClickSound; label: string }[] = [
  { id: 'classic', label: 'Classic (sine clicks)' },
  { id: 'wood', label: 'Woodblock' },
  { id: 'beep', label: 'Beep' },
  { id: 'tick', label: 'Tick (noise)' },
];
