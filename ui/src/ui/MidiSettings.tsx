//! MIDI in the app's settings (the app only; a page's is `WebMidiSettings.tsx`): where the band's clock,
//! transport and each song's patch go, and which port the pedals come from, with their map. What
//! MIDI does is Rust's (`bandsync_app::midi`); the settings are kept on this computer and given
//! back to the app when it starts (`restoreMidi`).

import { useEffect, useState } from 'preact/hooks';
import type { MidiPorts, MidiSettings as Settings } from '../bindings';
import { isTauri, midiPorts, midiSettings, setMidi } from '../net/tauri';
import { useApp, useAppState } from './ctx';

const KEY = 'bandsync.midi';

/** Gives the app the MIDI settings kept on this computer (at start; a failure is only logged). */
export async function restoreMidi(): Promise<void> {
  const kept = globalThis.localStorage?.getItem(KEY);
  if (!kept) return;
  try {
    await setMidi(JSON.parse(kept) as Settings);
  } catch (e) {
    console.warn('MIDI settings not restored:', e);
  }
}

/** Where MIDI goes or comes from: a port's name, or a target; empty is "off". */
function Target(props: { label: string; list: string; testid: string; value: string | null; set: (v: string | null) => void }) {
  return (
    <label class="field">
      <span>{props.label}</span>
      <input
        list={props.list}
        data-testid={props.testid}
        placeholder="Off (a port, virtual, rtp, jack)"
        defaultValue={props.value ?? ''}
        onChange={(e) => props.set((e.target as HTMLInputElement).value.trim() || null)}
      />
    </label>
  );
}

/** How much earlier MIDI is sent, ms (the app's and the page's; the core bounds it). */
export function MidiOffset(props: { testid: string; value: number; set: (ms: number) => void }) {
  return (
    <label class="field">
      <span>Send early (ms), for gear that sounds late</span>
      <input
        type="number"
        data-testid={props.testid}
        min={-100}
        max={100}
        step={0.5}
        value={props.value}
        onChange={(e) => props.set(Number((e.target as HTMLInputElement).value) || 0)}
      />
    </label>
  );
}

export function MidiSettings() {
  const app = useApp();
  const status = useAppState((x) => x.midi);
  const [s, setS] = useState<Settings | null>(null);
  const [ports, setPorts] = useState<MidiPorts | null>(null);
  useEffect(() => {
    if (!isTauri()) return;
    midiSettings().then(setS, () => undefined);
    midiPorts().then(setPorts, () => undefined);
  }, []);
  if (!isTauri() || !s) return null;

  const apply = (next: Settings) => {
    setMidi(next)
      .then(() => {
        setS(next);
        globalThis.localStorage?.setItem(KEY, JSON.stringify(next));
      })
      .catch((err: unknown) => app.toast(`MIDI: ${String(err)}`));
  };
  const open =
    status && !status.error
      ? [status.out && `out: ${status.out}`, status.bonjour && `Macs and iPads see "${status.bonjour}"`, status.input && `pedals: ${status.input}`]
          .filter(Boolean)
          .join(' · ')
      : '';
  return (
    <div class="settings-group" data-testid="midi-settings">
      <h3>MIDI</h3>
      <Target label="Clock and song changes to" list="midi-outputs" testid="midi-out" value={s.out} set={(out) => apply({ ...s, out })} />
      <Target label="Pedals from" list="midi-inputs" testid="midi-in" value={s.input} set={(input) => apply({ ...s, input })} />
      {s.input && (
        <label class="field">
          <span>Pedal map</span>
          <input data-testid="midi-map" defaultValue={s.map} onChange={(e) => apply({ ...s, map: (e.target as HTMLInputElement).value })} />
        </label>
      )}
      <MidiOffset testid="midi-offset" value={s.offset_ms} set={(offset_ms) => apply({ ...s, offset_ms })} />
      <datalist id="midi-outputs">
        {(ports?.outputs ?? []).map((p) => (
          <option key={p} value={p} />
        ))}
        <option value="virtual" />
        <option value="rtp">Network MIDI</option>
      </datalist>
      <datalist id="midi-inputs">
        {(ports?.inputs ?? []).map((p) => (
          <option key={p} value={p} />
        ))}
        <option value="virtual" />
        <option value="rtp">Network MIDI</option>
      </datalist>
      <p class="hint" data-testid="midi-status">
        {status?.error ? `Not open: ${status.error}` : open || (ports?.error ? `No MIDI ports: ${ports.error}` : '')}
      </p>
      <p class="hint">
        Gear follows the band's clock, start/stop and each song's patch. Pedals act as the leader: <code>note 62=next; cc 64=playstop; note 65=cue Break</code>
      </p>
    </div>
  );
}
