//! Latency calibration in the settings (the phone page): by microphone loopback, or by tapping
//! along with the click (for earbuds no microphone hears). The figure goes into the latency offset
//! (`settings.latencyMs`, with its source), which stays editable by hand. The figures are the
//! core's (`calibrate.loopback`, `calibrate.taps`); this is the buttons, the probe's run
//! (`audio/loopback.ts`; in the app, its own `calibrate` command) and the taps' times. Browsers
//! give the microphone only to a secure page (https, localhost): a LAN session's plain-http page
//! taps along.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { App } from '../app';
import { eventHost, LATENCY_MAX_MS, LATENCY_MIN_MS, offsetFromCalibration, TAPS } from '../audio/calibrate';
import { measureLoopback, micUnavailable } from '../audio/loopback';
import { type Calibration, CALIBRATION_TAP_NEAR_US as NEAR_US } from '../bindings';
import type { Settings } from '../state/settings';
import { clicksBetween, transportAt } from '../wasm/api';
import { calibrateTaps } from '../wasm/calibrate';
import { calibrateOutput, isTauri } from '../net/tauri';
import { useApp, useAppState } from './ctx';

type Outcome = { ok: Calibration; applied: number; by: 'taps' | 'mic' } | { error: string };

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Applies a calibration as the latency offset, unless it is beyond the field's range. A
 *  loopback's is measured; a tapped one, calibrated. */
function apply(app: App, c: Calibration, by: 'taps' | 'mic'): Outcome {
  const v = offsetFromCalibration(c.latency_ms);
  if (v === null) {
    return { error: `That is ${Math.round(c.latency_ms)} ms, beyond the offset's ${LATENCY_MIN_MS} to ${LATENCY_MAX_MS} ms; set it by hand.` };
  }
  const source: Settings['latencySource'] = by === 'mic' ? 'measured' : 'calibrated';
  app.setSettings({ latencyMs: v, latencySource: source });
  return { ok: c, applied: v, by };
}

/** Whether the metronome plays now. Polled: a start or a stop can be scheduled ahead. */
function usePlaying(): boolean {
  const app = useApp();
  const transport = useAppState((s) => s.session?.transport ?? null);
  const [playing, setPlaying] = useState(false);
  useEffect(() => {
    const check = () => {
      const now = app.backend?.hostNow() ?? null;
      setPlaying(transport !== null && now !== null && transportAt(transport, now).playing);
    };
    check();
    const t = setInterval(check, 500);
    return () => clearInterval(t);
  }, [app, transport]);
  return playing;
}

/** The big pad the player taps with the beat. Pointer-down, not click: its time is the tap's. */
function TapPad(props: { onDone: (o: Outcome) => void; onCancel: () => void }) {
  const app = useApp();
  // The taps' host µs, the offset in effect at each, and each tap's clicks around it.
  const taps = useRef({ at: [] as number[], latency: [] as number[], clicks: [] as number[][] });
  const [n, setN] = useState(0);
  const tap = (stampMs: number) => {
    const perfNow = performance.now();
    const hostNow = app.backend?.hostNow() ?? null;
    const t = taps.current;
    if (t.at.length >= TAPS) return;
    const tr = app.state.session?.transport ?? null;
    if (!tr || hostNow === null) return props.onDone({ error: 'The clock is not in sync yet; try again in a moment.' });
    const at = eventHost(hostNow, perfNow, stampMs);
    const clicks = clicksBetween(tr, at - NEAR_US, at + NEAR_US, 1);
    if (!clicks.length) return props.onDone({ error: 'The metronome stopped; calibrate while it plays.' });
    t.at.push(at);
    t.latency.push(app.state.settings.latencyMs);
    t.clicks.push(clicks.map((c) => c.host));
    setN(t.at.length);
    if (t.at.length < TAPS) return;
    try {
      props.onDone(apply(app, calibrateTaps(t.at, t.latency, t.clicks), 'taps'));
    } catch (e) {
      props.onDone({ error: message(e) });
    }
  };
  return (
    <div class="stack calibrate-run">
      <p class="small">Tap the pad on every beat, with the click you hear (not the flash).</p>
      <button
        class="tap calibrate-pad"
        data-testid="calibrate-tap"
        onPointerDown={(e) => {
          e.preventDefault();
          tap(e.timeStamp);
        }}
        onKeyDown={(e) => {
          if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) {
            e.preventDefault();
            tap(e.timeStamp);
          }
        }}
      >
        TAP
        <span class="calibrate-count" data-testid="calibrate-progress">
          {n} of {TAPS}
        </span>
      </button>
      <button class="small-btn" data-testid="calibrate-cancel" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** Calibrating the latency offset: by the microphone, or by tapping along. */
export function Calibrate() {
  const app = useApp();
  const inSession = useAppState((s) => s.session !== null);
  // The page's player, or the app's own output.
  const running = useAppState((s) => s.soundRunning || !!s.audio?.active);
  const mute = useAppState((s) => s.settings.mute);
  const synced = useAppState((s) => s.clock?.synced === true);
  const playing = usePlaying();
  const [busy, setBusy] = useState<'taps' | 'mic' | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  // The app measures with its own output and microphone, in a session or not.
  const app_ = isTauri();
  const noMic = app_ ? null : micUnavailable();
  const why = !inSession
    ? 'Calibrate in a session, with its click.'
    : !running
      ? 'Turn the sound on to calibrate.'
      : mute
        ? 'Unmute the click to calibrate.'
        : null;
  const whyMic = app_ ? null : why ?? (synced ? null : 'Calibrate once the clock is in sync.');
  const whyTaps = why ?? (playing ? null : 'Tap along while the metronome plays.');
  // In the app the microphone needs nothing: no hint for tapping beside it.
  const hint = (noMic ? null : whyMic) ?? (app_ ? null : whyTaps);
  const done = (o: Outcome) => {
    setBusy(null);
    setOutcome(o);
  };
  const listen = () => {
    const player = app.player;
    if (!player && !app_) return;
    setOutcome(null);
    setBusy('mic');
    // The figure is the output's that played: not another's chosen meanwhile.
    const device = app.state.settings.device;
    (player ? measureLoopback(player) : calibrateOutput()).then(
      (c) => done(app.state.settings.device === device ? apply(app, c, 'mic') : { error: 'The output changed: calibrate again.' }),
      (e: unknown) => done({ error: message(e) }),
    );
  };

  return (
    <div class="calibrate" data-testid="calibrate">
      {busy === 'taps' ? (
        <TapPad onDone={done} onCancel={() => setBusy(null)} />
      ) : busy ? (
        <p class="small" role="status" data-testid="calibrate-listening">
          Listening to the clicks: quiet, please…
        </p>
      ) : (
        <>
          <div class="row wrap">
            {noMic === null && (
              <button data-testid="calibrate-mic-start" disabled={whyMic !== null} onClick={listen}>
                Calibrate with the microphone
              </button>
            )}
            <button
              data-testid="calibrate-taps-start"
              disabled={whyTaps !== null}
              onClick={() => {
                setOutcome(null);
                setBusy('taps');
              }}
            >
              Calibrate by tapping
            </button>
          </div>
          {hint && <p class="hint">{hint}</p>}
          {noMic && <p class="hint">{noMic}</p>}
        </>
      )}
      {outcome && 'error' in outcome && (
        <p class="warn small" role="alert" data-testid="calibrate-error">
          {outcome.error}
        </p>
      )}
      {outcome && 'ok' in outcome && (
        <p class="ok small" data-testid="calibrate-result" data-latency={outcome.applied} data-by={outcome.by}>
          Offset set to {outcome.applied} ms: {outcome.ok.used} of {outcome.ok.of} {outcome.by === 'mic' ? 'clicks' : 'taps'} agreed,
          within ±{outcome.ok.spread_ms.toFixed(1)} ms.
        </p>
      )}
    </div>
  );
}
