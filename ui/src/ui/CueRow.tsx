import { useState } from 'preact/hooks';
import { useApp, useAppState } from './ctx';

/** Cues a band calls most. */
const CUES = ['Last chorus', 'Break', 'Key change', 'Outro', 'Repeat', 'Stop'];

/** The cue buttons and line: the leader's, and a member's whom the leader lets cue (every
 *  editor, or one member named). The leader's choice of who else may cue is here too. A cue lands
 *  on the next bar line on every device. */
export function CueRow(props: { leading: boolean }) {
  const app = useApp();
  const mayCue = useAppState((s) => s.session?.mayCue);
  const [cue, setCue] = useState('');
  if (!props.leading && !mayCue) return null;
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
      {props.leading && <WhoMayCue />}
    </form>
  );
}

/** The leader's choice: nobody else, everyone who edits, or one member (on all their devices). */
function WhoMayCue() {
  const app = useApp();
  const s = useAppState((st) => st.session);
  if (!s) return null;
  // One entry a member: their devices are participants of the same name.
  const names = new Map<string, number>();
  for (const p of s.participants) if (p.id !== s.you && p.access === 'editor' && !names.has(p.name)) names.set(p.name, p.id);
  const value = s.cueBy === 'editors' ? 'editors' : s.cueMember !== null ? `m:${s.cueMember}` : 'leader';
  return (
    <label class="small">
      also cues{' '}
      <select
        data-testid="cue-by"
        value={value}
        onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          const id = v.startsWith('m:') ? names.get(v.slice(2)) : undefined;
          void app.send(v === 'editors' ? { type: 'cue_by', who: 'editors' } : { type: 'cue_by', who: 'leader', member: id });
        }}
      >
        <option value="leader">nobody else</option>
        <option value="editors">everyone who edits</option>
        {[...names.keys()].map((n) => (
          <option key={n} value={`m:${n}`}>
            {n}
          </option>
        ))}
        {/* The member named, under another spelling of the name or with no device here now. */}
        {s.cueMember !== null && !names.has(s.cueMember) && <option value={`m:${s.cueMember}`}>{s.cueMember}</option>}
      </select>
    </label>
  );
}
