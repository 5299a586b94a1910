import { useState } from 'preact/hooks';
import { canEdit } from '../core/session';
import { useApp, useAppState } from './ctx';

/** Cues a band calls most. */
const CUES = ['Last chorus', 'Break', 'Key change', 'Outro', 'Repeat', 'Stop'];

/** The cue buttons and line: the leader's, and every editor's when the leader lets everyone cue
 *  (the leader's switch is here too). A cue lands on the next bar line on every device. */
export function CueRow(props: { leading: boolean }) {
  const app = useApp();
  const cueBy = useAppState((s) => s.session?.cueBy);
  const editor = useAppState((s) => s.session !== null && canEdit(s.session));
  const [cue, setCue] = useState('');
  if (!props.leading && !(cueBy === 'editors' && editor)) return null;
  const send = async (text: string, typed = false) => {
    if (text.trim() && (await app.send({ type: 'cue', text: text.trim() })) && typed) setCue('');
  };
  return (
    <form
      class="row wrap cue-row"
      onSubmit={(e) => {
        e.preventDefault();
        void send(cue, true);
      }}
    >
      <span class="muted small">Cue</span>
      {CUES.map((c) => (
        <button key={c} type="button" class="small-btn" data-testid="cue-preset" onClick={() => void send(c)}>
          {c}
        </button>
      ))}
      <input data-testid="cue-input" placeholder="Cue the band…" maxLength={60} value={cue} onInput={(e) => setCue((e.target as HTMLInputElement).value)} />
      <button type="submit" class="small-btn primary" data-testid="cue-send" disabled={!cue.trim()}>
        Send
      </button>
      {props.leading && (
        <label class="small">
          <input
            type="checkbox"
            data-testid="cue-by-editors"
            checked={cueBy === 'editors'}
            onChange={(e) => void app.send({ type: 'cue_by', who: (e.target as HTMLInputElement).checked ? 'editors' : 'leader' })}
          />{' '}
          everyone may cue
        </label>
      )}
    </form>
  );
}
