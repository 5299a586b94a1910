//! The leader's cue, full screen when it lands (`net/cue.ts`): big, high-contrast text that reads
//! on a dark stage from a few metres. Tapping it takes it down.

import { dismissCue } from '../net/cue';
import { useApp, useAppState } from './ctx';

export function CueFlash() {
  const app = useApp();
  const cue = useAppState((s) => s.cue);
  if (!cue) return null;
  return (
    <div class="overlay cue-flash" role="alert" data-testid="cue-flash" data-landed-at={cue.landedAt} onClick={() => dismissCue(app, cue.id)}>
      <div class="cue-text" data-testid="cue-text">
        {cue.text}
      </div>
    </div>
  );
}
