import { useEffect } from 'preact/hooks';
import { LATENCY_MAX_MS, LATENCY_MIN_MS } from '../audio/calibrate';
import { CLICK_SOUNDS, type ClickSound } from '../audio/sounds';
import { TRANSPOSE_MAX } from '../bindings';
import type { Levels } from '../state/settings';
import { Calibrate } from './Calibrate';
import { DevicePick } from './DevicePick';
import { WebMidiSettings } from './WebMidiSettings';
import { LinkSettings } from './LinkSettings';
import { MidiSettings } from './MidiSettings';
import { PedalSettings } from './Pedal';
import { useApp, useAppState } from './ctx';

function Slider(props: { label: string; value: number; min: number; max: number; step: number; testid?: string; unit?: string; onChange: (v: number) => void }) {
  return (
    <label class="field slider">
      <span>
        {props.label} <strong>{props.unit === '%' ? `${Math.round(props.value * 100)}%` : `${props.value}${props.unit ?? ''}`}</strong>
      </span>
      <input
        type="range"
        data-testid={props.testid}
        min={props.min}
        max={props.max}
        step={props.step}
        value={props.value}
        onInput={(e) => props.onChange(Number((e.target as HTMLInputElement).value))}
      />
    </label>
  );
}

function Check(props: { label: string; checked: boolean; testid?: string; onChange: (v: boolean) => void; hint?: string }) {
  return (
    <label class="check">
      <input type="checkbox" data-testid={props.testid} checked={props.checked} onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)} />
      <span>
        {props.label}
        {props.hint && <span class="muted small"> · {props.hint}</span>}
      </span>
    </label>
  );
}

/** The metronome as this player hears it: sound, levels, subdivision, latency. Local only. */
export function MetronomeSettings() {
  const app = useApp();
  const s = useAppState((x) => x.settings);
  const runtime = useAppState((x) => x.runtime);
  const devices = useAppState((x) => x.devices);
  const inputs = useAppState((x) => x.inputs);
  const setLevel = (k: keyof Levels) => (v: number) => app.setSettings({ levels: { ...s.levels, [k]: v } });
  return (
    <div class="settings-group">
      <h3>Metronome</h3>
      <Check label="Sound" testid="sound-on" checked={s.sound && !s.visualOnly} onChange={(v) => app.setSettings({ sound: v, visualOnly: !v })} />
      <Check label="Visual only" hint="no audio at all, the beat still flashes" testid="visual-only" checked={s.visualOnly} onChange={(v) => app.setSettings({ visualOnly: v })} />
      <Check label="Mute" hint="keeps the schedule, silent" testid="mute" checked={s.mute} onChange={(v) => app.setSettings({ mute: v })} />
      <Check label="Flash the downbeat" checked={s.flash} onChange={(v) => app.setSettings({ flash: v })} />
      <Slider label="Volume" testid="volume" value={s.volume} min={0} max={1} step={0.01} unit="%" onChange={(v) => app.setSettings({ volume: v })} />
      <label class="field">
        <span>Subdivision</span>
        <select data-testid="subdivision" value={s.subdivision} onChange={(e) => app.setSettings({ subdivision: Number((e.target as HTMLSelectElement).value) })}>
          <option value={1}>beats only</option>
          <option value={2}>2 per beat (eighths in x/4)</option>
          <option value={3}>3 per beat (triplets)</option>
          <option value={4}>4 per beat (sixteenths in x/4)</option>
          <option value={6}>6 per beat</option>
          <option value={8}>8 per beat</option>
        </select>
      </label>
      {runtime === 'browser' && (
        <>
          <Slider label="Downbeat" value={s.levels.downbeat} min={0} max={1} step={0.05} unit="%" onChange={setLevel('downbeat')} />
          <Slider label="Group accent" value={s.levels.group} min={0} max={1} step={0.05} unit="%" onChange={setLevel('group')} />
          <Slider label="Beat" value={s.levels.beat} min={0} max={1} step={0.05} unit="%" onChange={setLevel('beat')} />
          <Slider label="Subdivision" value={s.levels.sub} min={0} max={1} step={0.05} unit="%" onChange={setLevel('sub')} />
          <label class="field">
            <span>Click sound</span>
            <select value={s.clickSound} onChange={(e) => app.setSettings({ clickSound: (e.target as HTMLSelectElement).value as ClickSound })}>
              {CLICK_SOUNDS.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
        </>
      )}
      <label class="field">
        <span>Ear</span>
        <select value={s.channel} onChange={(e) => app.setSettings({ channel: (e.target as HTMLSelectElement).value as 'left' | 'right' | 'both' })}>
          <option value="both">both</option>
          <option value="left">left only</option>
          <option value="right">right only</option>
        </select>
      </label>
      <Slider
        label={s.latencySource === 'measured' ? 'Latency offset (measured)' : 'Latency offset'}
        testid="latency"
        value={s.latencyMs}
        min={LATENCY_MIN_MS}
        max={LATENCY_MAX_MS}
        step={1}
        unit=" ms"
        onChange={(v) => app.setSettings({ latencyMs: v, latencySource: 'calibrated' })}
      />
      <p class="hint">
        Hear the click late (Bluetooth headphones)? Raise the offset until your click lines up with the band's, or
        calibrate it below. Negative values play later. It is kept for{' '}
        {runtime === 'browser' ? 'this browser on this device' : 'each output device'}.
      </p>
      {runtime === 'tauri' && (
        <>
          <DevicePick label="Output device" none="system default" value={s.device ?? null} names={devices} set={(device) => app.setSettings({ device })} />
          <DevicePick label="Microphone" none="system default" value={s.inputDevice ?? null} names={inputs} set={(inputDevice) => app.setSettings({ inputDevice })} />
        </>
      )}
      <Calibrate />
    </div>
  );
}

/** The settings, over the screen; `show` names a part to scroll to (`calibrate`: the tap-along
 *  calibration, from the session's hint). */
export function SettingsPanel(props: { onClose: () => void; show?: 'top' | 'calibrate' }) {
  const app = useApp();
  useEffect(() => {
    if (props.show === 'calibrate') document.querySelector('[data-testid=calibrate]')?.scrollIntoView({ block: 'center' });
  }, [props.show]);
  const s = useAppState((x) => x.settings);
  const inSession = useAppState((x) => x.session !== null);
  return (
    <div class="overlay" role="dialog" aria-modal="true" aria-label="Settings" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="sheet" data-testid="settings">
        <div class="row">
          <h2 class="grow">Settings</h2>
          <button class="primary" data-testid="settings-close" onClick={props.onClose}>
            Done
          </button>
        </div>
        <div class="settings-group">
          <h3>You</h3>
          <label class="field">
            <span>Name{inSession ? ' (the band sees the change)' : ''}</span>
            <input defaultValue={s.name} maxLength={40} onChange={(e) => app.setSettings({ name: (e.target as HTMLInputElement).value })} />
          </label>
          <label class="field">
            <span>Instrument</span>
            <input defaultValue={s.instrument} maxLength={40} onChange={(e) => app.setSettings({ instrument: (e.target as HTMLInputElement).value })} />
          </label>
        </div>
        <MetronomeSettings />
        <LinkSettings />
        <MidiSettings />
        <WebMidiSettings />
        <div class="settings-group">
          <h3>Screen</h3>
          <Check label="Stage mode (dark, high contrast)" testid="stage-mode" checked={s.stage} onChange={(v) => app.setSettings({ stage: v })} />
          <Check label="Keep the screen awake in a session" testid="keep-awake" checked={s.keepAwake} onChange={(v) => app.setSettings({ keepAwake: v })} />
          <Slider label="Chart text" value={s.fontSize} min={10} max={48} step={1} unit=" px" onChange={(v) => app.setSettings({ fontSize: v })} />
          <Slider label="Transpose (songs without their own)" value={s.transpose} min={-TRANSPOSE_MAX} max={TRANSPOSE_MAX} step={1} unit=" st" onChange={(v) => app.setSettings({ transpose: v })} />
        </div>
        <PedalSettings />
      </div>
    </div>
  );
}
