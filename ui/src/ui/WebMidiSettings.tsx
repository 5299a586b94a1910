//! MIDI in the page's settings (a browser in a session): the Web MIDI output the band's clock,
//! start and stop and each song's patch go to, how early, and the input pedals come from with
//! their map (`midi/`). The app has its own (`MidiSettings.tsx`), on the system's ports.

import { defaultPedalMap } from '../wasm/api';
import { useApp, useAppState } from './ctx';
import { DevicePick } from './DevicePick';
import { MidiOffset } from './MidiSettings';

/** A port from the browser's list, or off; opening the picker asks the browser for its ports. */
function Port(props: { label: string; testid: string; value: string | null; ports: string[]; set: (v: string | null) => void }) {
  const app = useApp();
  return <DevicePick {...props} none="Off" names={props.ports} onFocus={() => void app.webMidi?.open()} />;
}

export function WebMidiSettings() {
  const app = useApp();
  const status = useAppState((x) => x.webMidi);
  const s = useAppState((x) => x.settings);
  if (!status) return null;
  if (!status.available) {
    return (
      <div class="settings-group" data-testid="web-midi">
        <h3>MIDI</h3>
        <p class="hint" data-testid="web-midi-status">
          This page cannot reach MIDI gear: Safari has no Web MIDI, and other browsers offer it only to a secure (https) page. Chrome or Edge
          on a computer or an Android phone, or Firefox on a computer, can send the band's clock from a session served over https, and the BandSync app can
          from any session.
        </p>
      </div>
    );
  }
  const out = status.error ?? (status.out ? `Sending to ${status.out}.` : status.outputs.length === 0 ? 'No MIDI outputs listed yet.' : '');
  const pedals = status.pedalError ?? (status.pedals ? `Pedals from ${status.pedals}: they act as the leader's buttons.` : '');
  return (
    <div class="settings-group" data-testid="web-midi">
      <h3>MIDI</h3>
      <Port label="Clock and song changes to" testid="web-midi-out" value={s.midiOut} ports={status.outputs} set={(midiOut) => app.setSettings({ midiOut })} />
      <MidiOffset testid="web-midi-offset" value={s.midiOffsetMs} set={(midiOffsetMs) => app.setSettings({ midiOffsetMs })} />
      <p class="hint" data-testid="web-midi-status">
        {out}
      </p>
      <Port label="Pedals from" testid="web-midi-in" value={s.midiIn} ports={status.inputs} set={(midiIn) => app.setSettings({ midiIn })} />
      {s.midiIn && (
        <label class="field">
          <span>Pedal map</span>
          <input
            data-testid="web-midi-map"
            placeholder={defaultPedalMap()}
            value={s.midiMap}
            onChange={(e) => app.setSettings({ midiMap: (e.target as HTMLInputElement).value })}
          />
        </label>
      )}
      <p class="hint" data-testid="web-midi-pedals">
        {pedals}
      </p>
      <p class="hint">
        Gear plugged into this device follows the band's clock, start and stop, and each song's patch. Pedals act as the leader:{' '}
        <code>note 62=next; cc 64=playstop; note 65=cue Break</code>
      </p>
    </div>
  );
}
