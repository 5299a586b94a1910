import { useEffect, useState } from 'preact/hooks';
import { Activity, History } from './Activity';
import { BeatView, MiniBeat } from './Beat';
import { Chart } from './Chart';
import { Chat } from './Chat';
import { CueRow } from './CueRow';
import { CueFlash } from './CueFlash';
import { ms, useApp, useAppState } from './ctx';
import { LeaderControls, TransportLine } from './Leader';
import { bandSummary, concernWords } from '../core/labels';
import { Participants } from './Participants';
import { QrPanel } from './QrPanel';
import { SectionStrip } from './SectionStrip';
import { SettingsPanel } from './Settings';
import { pinProblem } from '../wasm/api';
import { seen } from '../net/notify';
import { Setlist } from './Setlist';

function ConnectionBadge() {
  const c = useAppState((s) => s.connection);
  const state = c?.state ?? 'connecting';
  return (
    <span class={`conn ${state}`} data-testid="connection-state" data-state={state} title={c?.detail ?? ''}>
      {state}
    </span>
  );
}

/** The round trip and the clock, in a component of its own: it changes every second, and the
 * session view around it (the chart with it) need not render again each time. */
function ClockInfo() {
  const rtt = useAppState((s) => (s.clock ? `rtt ${ms(s.clock.rtt_us)}` : ''));
  return (
    <span class="muted small clock-info" title="Round trip and clock error">
      {rtt}
    </span>
  );
}

/** The page's output latency, the player's, read again at each clock report: in a component of
 * its own, so that the sound strip around it does not render each time. */
function OutputLatency() {
  const app = useApp();
  useAppState((s) => s.clock);
  const out = app.player?.stats().latencyMs;
  return <span class="small ok">♪ sound on{out != null ? ` · output ${out.toFixed(0)} ms` : ''}</span>;
}

/** This device's own sound, as the host judged it from its report: where the platform does not
 *  say how late its output is (iPhones, WebKit; often Bluetooth earbuds), the host flags it
 *  `uncalibrated`, and the player is offered the calibration at once, not only the leader told. */
function CalibrateHint(props: { onCalibrate: () => void }) {
  const flagged = useAppState((s) => {
    const se = s.session;
    return !!se?.participants.find((p) => p.id === se.you)?.sync?.concerns.includes('uncalibrated');
  });
  if (!flagged) return null;
  return (
    <span class="row calibrate-hint" data-testid="calibrate-hint">
      <span class="small warn" title="This device does not say how late its sound is: with earbuds the click can be late. Tap along once to set it.">
        ⚠ {concernWords('uncalibrated')}
      </span>
      <button class="small-btn" data-testid="calibrate-hint-open" onClick={props.onCalibrate}>
        Calibrate
      </button>
    </span>
  );
}

/** The click's on-switch and state. Browsers play sound only after a tap. */
function SoundStrip(props: { onCalibrate: () => void }) {
  const app = useApp();
  const runtime = useAppState((s) => s.runtime);
  const running = useAppState((s) => s.soundRunning);
  const settings = useAppState((s) => s.settings);
  const audio = useAppState((s) => s.audio);
  const wanted = settings.sound && !settings.visualOnly;
  if (runtime === 'tauri') {
    return (
      <div class="sound-strip row wrap" data-testid="sound-strip">
        <span class={`small ${audio?.active ? 'ok' : 'warn'}`}>
          {!wanted ? 'visual only' : audio?.active ? `♪ ${audio.device ?? 'output'} · ${audio.output_latency_ms.toFixed(0)} ms · ${audio.underruns} underruns` : audio?.error ?? 'audio starting…'}
        </span>
        <button class="small-btn" onClick={() => app.setSettings({ mute: !settings.mute })}>
          {settings.mute ? 'Unmute' : 'Mute'}
        </button>
      </div>
    );
  }
  return (
    <div class="sound-strip row wrap" data-testid="sound-strip">
      {!running ? (
        <button class="primary big enable" data-testid="enable-sound" onClick={() => void app.enableSound()}>
          Tap to enable sound
        </button>
      ) : (
        <>
          <OutputLatency />
          <CalibrateHint onCalibrate={props.onCalibrate} />
          <button class="small-btn" data-testid="mute-toggle" onClick={() => app.setSettings({ mute: !settings.mute })}>
            {settings.mute ? 'Unmute' : 'Mute'}
          </button>
          <button class="small-btn" data-testid="sound-off" onClick={() => app.setSettings({ sound: false })}>
            Sound off
          </button>
        </>
      )}
      <label class="field inline">
        <span>Vol</span>
        <input type="range" min={0} max={1} step={0.01} value={settings.volume} onInput={(e) => app.setSettings({ volume: Number((e.target as HTMLInputElement).value) })} />
      </label>
      <label class="field inline">
        <span>Subdivision</span>
        <select value={settings.subdivision} onChange={(e) => app.setSettings({ subdivision: Number((e.target as HTMLSelectElement).value) })}>
          {[1, 2, 3, 4, 6, 8].map((n) => (
            <option key={n} value={n}>
              {n === 1 ? 'none' : `×${n}`}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

function RefusalPanel() {
  const app = useApp();
  const refusal = useAppState((s) => s.refusal);
  const [pin, setPin] = useState('');
  if (!refusal) return null;
  return (
    <section class="card refusal" role="alert" data-testid="refusal" data-code={refusal.code}>
      <h2>Could not join</h2>
      <p>{refusal.message}</p>
      {refusal.pinHelps && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            const problem = pinProblem(pin);
            if (problem === null) void app.retryWithPin(pin);
            else app.toast(problem);
          }}
        >
          <input data-testid="refusal-pin" inputMode="numeric" maxLength={8} placeholder="PIN" value={pin} onInput={(e) => setPin((e.target as HTMLInputElement).value.replace(/\D/g, ''))} />
          <button type="submit" class="primary" data-testid="refusal-retry">
            Join with PIN
          </button>
        </form>
      )}
      <button onClick={() => void app.leave()}>Back</button>
    </section>
  );
}

export function Session() {
  const app = useApp();
  // What the view shows of the session, each picked alone: the session's own changes (a member's
  // sync, every second) do not render the whole view again.
  const name = useAppState((s) => s.session?.name);
  const id = useAppState((s) => s.session?.session);
  const band = useAppState((s) => s.session && bandSummary(s.session.stats));
  // The leader's controls come first for the leader; a follower gets a stage view: the beat, the
  // part, the transport in one line, the chart.
  const leading = useAppState((s) => !!s.session && s.session.stats.leader === s.session.you);
  const connection = useAppState((s) => s.connection);
  const refusal = useAppState((s) => s.refusal);
  /** Open, and the part of the settings to show first. */
  const [settingsOpen, setSettingsOpen] = useState<false | 'top' | 'calibrate'>(false);
  const mentions = useAppState((s) => s.mentions);
  useEffect(() => {
    document.title = `${mentions > 0 ? `(${mentions}) ` : ''}${name ?? ''} · BandSync`;
  }, [mentions, name]);
  const lost = connection?.state === 'lost' || (connection?.state === 'connecting' && !!id);

  return (
    <div class="session">
      <header class="topbar">
        <div class="grow title">
          <strong data-testid="session-name">{name ?? 'Joining…'}</strong>
          <span class="muted small"> {id}</span>
        </div>
        {id && <MiniBeat />}
        <ConnectionBadge />
        <ClockInfo />
        <button class="ghost" data-testid="open-settings" aria-label="Settings" onClick={() => setSettingsOpen('top')}>
          ⚙
        </button>
        <button
          class="ghost"
          data-testid="leave"
          onClick={() => {
            if (!id || confirm('Leave the session?')) void app.leave();
          }}
        >
          Leave
        </button>
      </header>
      {lost && (
        <div class="banner warn" role="status" data-testid="lost-banner">
          Connection lost: {connection?.detail}. The beat goes on from the last schedule; the app reconnects by itself.
        </div>
      )}
      {connection?.state === 'left' && !refusal && (
        <div class="banner" role="status">
          {connection.detail} <button onClick={() => void app.leave()}>Home</button>
        </div>
      )}
      <RefusalPanel />
      {id && (
        <>
          <nav class="jump" aria-label="Sections">
            <a href="#band">{band}</a>
            <a href="#lead">Transport</a>
            <a href="#setlist">Setlist</a>
            <a href="#chart">Chart</a>
            <a href="#chat" onClick={() => seen(app)}>
              Chat
              {mentions > 0 && (
                <span class="badge" data-testid="mention-badge" title="Mentions of you, and news about your role">
                  {mentions}
                </span>
              )}
            </a>
            <a href="#activity">Activity</a>
          </nav>
          <div class="layout">
            <div class="col-main">
              <BeatView />
              <SectionStrip />
              {!leading && <TransportLine />}
              {!leading && <CueRow leading={false} />}
              <SoundStrip
                onCalibrate={() => {
                  setSettingsOpen('calibrate');
                }}
              />
              {leading && <LeaderControls />}
              <Chart />
            </div>
            <div class="col-side">
              <Setlist />
              <QrPanel />
              <Participants />
              <Chat />
              <Activity />
              <History />
            </div>
          </div>
        </>
      )}
      {!id && !refusal && <p class="center muted pad">{connection?.detail ?? 'Connecting…'}</p>}
      {settingsOpen && <SettingsPanel show={settingsOpen} onClose={() => setSettingsOpen(false)} />}
      <CueFlash />
    </div>
  );
}
