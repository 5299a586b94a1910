//! MIDI out in the page's settings (a browser in a session): the Web MIDI output the band's clock,
//! start and stop and each song's patch go to (`audio/webmidi.ts`), and how early. The app has
//! its own (`MidiSettings.tsx`), on the system's ports.

import { useApp, useAppState } from './ctx';

export function WebMidiSettings() {
  const app = useApp();
  const status = useAppState((x) => x.webMidi);
  const out = useAppState((x) => x.settings.midiOut);
  const offset = useAppState((x) => x.settings.midiOffsetMs);
  if (!status) return null;
  if (!status.available) {
    return (
      <div class="settings-group" data-testid="web-midi">
        <h3>MIDI</h3>
        <p class="hint" data-testid="web-midi-status">
          This page cannot reach MIDI gear: Safari has no Web MIDI, and other browsers offer it only to a secure (https) page. Chrome, Edge
          or Firefox on a computer or an Android phone can send the band's clock from a session served over https, and the BandSync app can
          from any session.
        </p>
      </div>
    );
  }
  const names = out && !status.outputs.includes(out) ? [out, ...status.outputs] : status.outputs;
  const line = status.error ? status.error : status.open ? `Sending to ${status.open}.` : status.outputs.length === 0 ? 'No MIDI outputs listed yet.' : '';
  return (
    <div class="settings-group" data-testid="web-midi">
      <h3>MIDI</h3>
      <label class="field">
        <span>Clock and song changes to</span>
        <select
          data-testid="web-midi-out"
          value={out ?? ''}
          onFocus={() => void app.webMidi?.open()}
          onChange={(e) => app.setSettings({ midiOut: (e.target as HTMLSelectElement).value || null })}
        >
          <option value="">Off</option>
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        <span>Send early (ms), for gear that sounds late</span>
        <input
          type="number"
          data-testid="web-midi-offset"
          min={-100}
          max={100}
          step={0.5}
          value={offset}
          onChange={(e) => app.setSettings({ midiOffsetMs: Number((e.target as HTMLInputElement).value) || 0 })}
        />
      </label>
      <p class="hint" data-testid="web-midi-status">
        {line}
      </p>
      <p class="hint">Gear plugged into this device follows the band's clock, start and stop, and each song's patch.</p>
    </div>
  );
}
