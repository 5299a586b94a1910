//! Latency calibration in the settings (the phone page): tap along with the click. The figure goes
//! into the latency offset (`settings.latencyMs`, with its source), which stays editable by hand.
//! The figure is the core's (`calibrate.taps`); this is the buttons and the taps' times. (The
//! microphone loopback is native only, `bandsync calibrate`: a page may use the microphone only
//! when served over https, which a LAN session's page is not.)

import { useEffect, useRef, useState } from 'preact/hooks';
import type { App } from '../app';
import { eventHost, LATENCY_MAX_MS, LATENCY_MIN_MS, offsetFromCalibration, tapOffsetMs, TAPS } from '../audio/calibrate';
import type { Calibration } from '../bindings';
import type { Settings } from '../state/settings';
import { calibrateTaps, clicksBetween, transportAt } from '../wasm/api';
import { useApp, useAppState } from './ctx';

/** Clicks looked at either side of a tap (µs): more than half a beat at the slowest tempo. */
const NEAR_US = 2_000_000;

type Outcome = { ok: Calibration; applied: number } | { error: string };

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Applies a calibration as the latency offset, unless it is beyond the field's range. */
function apply(app: App, c: Calibration): Outcome {
  const v = offsetFromCalibration(c.latency_ms);
  if (v === null) {
    return { error: `That is ${Math.round(c.latency_ms)} ms, beyond the offset's ${LATENCY_MIN_MS} to ${LATENCY_MAX_MS} ms; set it by hand.` };
  }
  const source: Settings['latencySource'] = 'calibrated';
  app.setSettings({ latencyMs: v, latencySource: source });
  return { ok: c, applied: v };
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
  const offsets = useRef<number[]>([]);
  const [n, setN] = useState(0);
  const tap = (stampMs: number) => {
    const perfNow = performance.now();
    const hostNow = app.backend?.hostNow() ?? null;
    const list = offsets.current;
    if (list.length >= TAPS) return;
    const tr = app.state.session?.transport ?? null;
    if (!tr || hostNow === null) return props.onDone({ error: 'The clock is not in sync yet; try again in a moment.' });
    const at = eventHost(hostNow, perfNow, stampMs);
    const o = tapOffsetMs(at, clicksBetween(tr, at - NEAR_US, at + NEAR_US, 1), app.state.settings.latencyMs);
    if (o === null) return props.onDone({ error: 'The metronome stopped; calibrate while it plays.' });
    list.push(o);
    setN(list.length);
    if (list.length < TAPS) return;
    try {
      props.onDone(apply(app, calibrateTaps(list)));
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

/** Calibrating the latency offset by tapping along. */
export function Calibrate() {
  const inSession = useAppState((s) => s.session !== null);
  const running = useAppState((s) => s.soundRunning);
  const mute = useAppState((s) => s.settings.mute);
  const playing = usePlaying();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const why = !inSession
    ? 'Calibrate in a session, with its click.'
    : !running
      ? 'Turn the sound on to calibrate.'
    : mute
      ? 'Unmute the click to calibrate.'
      : !playing
        ? 'Calibrate while the metronome plays.'
        : null;
  const done = (o: Outcome) => {
    setBusy(false);
    setOutcome(o);
  };

  const cancel = () => setBusy(false);

  return (
    <div class="calibrate" data-testid="calibrate">
      {busy ? (
        <TapPad onDone={done} onCancel={cancel} />
      ) : (
        <>
          <div class="row wrap">
            <button
              data-testid="calibrate-taps-start"
              disabled={why !== null}
              onClick={() => {
                setOutcome(null);
                setBusy(true);
              }}
            >
              Calibrate by tapping
            </button>
          </div>
          {why && <p class="hint">{why}</p>}
        </>
      )}
      {outcome && 'error' in outcome && (
        <p class="warn small" role="alert" data-testid="calibrate-error">
          {outcome.error}
        </p>
      )}
      {outcome && 'ok' in outcome && (
        <p class="ok small" data-testid="calibrate-result" data-latency={outcome.applied}>
          Offset set to {outcome.applied} ms: {outcome.ok.used} of {outcome.ok.of} taps agreed,
          within ±{outcome.ok.spread_ms.toFixed(1)} ms.
        </p>
      )}
    </div>
  );
}
