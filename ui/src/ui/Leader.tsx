import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Meter } from '../bindings';
import { transportLine } from '../core/labels';
import { canEdit } from '../core/session';
import { TapTempo } from '../core/tap';
import { defaultGroups, formatMeter, latest, MAX_BPM, meterError, MIN_BPM, parseMeter, tempoFromBpm } from '../core/timeline';
import { sameRows } from '../state/store';
import { bpmText, useApp, useAppState } from './ctx';
import { CueRow } from './CueRow';

/** Meters a band reaches for, with their usual groupings, as the core reads and writes them. */
const PRESETS = ['4/4', '3/4', '2/4', '5/4', '6/8 3+3', '9/8 3+3+3', '9/8 2+2+2+3', '12/8 3+3+3+3', '5/8 3+2', '5/8 2+3', '7/8 2+2+3', '7/8 3+2+2', '7/8 2+3+2', '11/8 3+3+3+2'];

/** A follower's transport in one line (the leader's panel is the leader's alone), and the claim
 *  of a free lead. */
export function TransportLine() {
  const app = useApp();
  // The line itself: it changes with play/stop and the leader, not with every message.
  const line = useAppState((s) => {
    const se = s.session;
    return se && transportLine(latest(se.transport), se.participants.find((p) => p.id === se.stats.leader)?.name ?? null);
  });
  const free = useAppState((s) => s.session?.stats.leader === null);
  const editable = useAppState((s) => !!s.session && canEdit(s.session));
  const online = useAppState((s) => s.connection?.state === 'online');
  if (line === null) return null;
  return (
    <div class="row transport-line" id="lead">
      <span class="grow">{line}</span>
      <button
        class="small-btn"
        data-testid="claim"
        title={free ? 'Lead the band: start, stop and set the tempo' : 'Someone leads: they can hand over to you'}
        disabled={!online || !free || !editable}
        onClick={() => void app.send({ type: 'claim' })}
      >
        Claim
      </button>
    </div>
  );
}

/** The leader's transport: play, stop, tempo, meter, the bar, cues, handing over. */
export function LeaderControls() {
  const app = useApp();
  const transport = useAppState((s) => s.session?.transport);
  // Whom to hand over to: a member's sync report, which leaves them as they were, does not
  // re-render the controls.
  const handover = useAppState((s): [number, string][] => {
    const se = s.session;
    return se ? se.participants.filter((p) => p.id !== se.you && p.connection === 'online').map((p) => [p.id, p.name]) : [];
  }, sameRows);
  const countIn = useAppState((s) => s.settings.countIn);
  const online = useAppState((s) => s.connection?.state === 'online');
  const tap = useMemo(() => new TapTempo(), []);
  const [taps, setTaps] = useState(0);
  const last = transport ? latest(transport) : null;
  const tempo = last ? last.timeline.tempo : 120_000;
  const [draft, setDraft] = useState(() => bpmText(tempo));
  const inputRef = useRef<HTMLInputElement>(null);
  const [beats, setBeats] = useState(4);
  const [unit, setUnit] = useState(4);
  const [groups, setGroups] = useState('4');
  const [bar, setBar] = useState('1');

  // Follow the band's tempo unless the leader is typing.
  useEffect(() => {
    if (document.activeElement !== inputRef.current) setDraft(bpmText(tempo));
  }, [tempo]);
  useEffect(() => {
    if (!last) return;
    setBeats(last.meter.beats);
    setUnit(last.meter.unit);
    setGroups(last.meter.groups.join('+'));
  }, [last?.meter.beats, last?.meter.unit, last?.meter.groups.join()]);

  if (!transport || !last) return null;
  const bpm = Number(draft.replace(',', '.'));
  const bpmOk = tempoFromBpm(bpm) !== null;
  const groupList = groups
    .split(/[+\s,]+/)
    .filter(Boolean)
    .map(Number);
  const meterProblem = meterError(beats, unit, groupList);

  const applyTempo = (v = bpm) => {
    const t = tempoFromBpm(v);
    if (t === null) app.toast(`Tempo must be ${MIN_BPM} to ${MAX_BPM} BPM`);
    else void app.send({ type: 'tempo', tempo: t });
  };
  const nudge = (d: number) => {
    const v = Math.min(MAX_BPM, Math.max(MIN_BPM, Math.round(((bpmOk ? bpm : tempo / 1000) + d) * 10) / 10));
    setDraft(String(v));
    applyTempo(v);
  };
  const onTap = () => {
    const v = tap.tap(performance.now());
    setTaps(tap.count());
    if (v !== null && tempoFromBpm(v) !== null) setDraft(String(v));
  };
  const applyMeter = (m?: Meter) => {
    const mm: Meter = m ?? { beats, unit, groups: groupList };
    const err = meterError(mm.beats, mm.unit, mm.groups);
    if (err) {
      app.toast(`Meter: ${err}`);
      return;
    }
    void app.send({ type: 'meter', beats: mm.beats, unit: mm.unit, groups: mm.groups });
  };

  return (
    <section class="card leader" id="lead" aria-label="Leader controls">
      <h2>
        Transport <span class="muted small">you lead</span>
      </h2>
      <div class="row wrap lead-roles">
        <button data-testid="release" onClick={() => void app.send({ type: 'release' })}>
          Release leadership
        </button>
        <label class="field inline">
          <span>Hand over to</span>
          <select
            data-testid="handover-select"
            value=""
            onChange={(e) => {
              const to = Number((e.target as HTMLSelectElement).value);
              if (to) void app.send({ type: 'handover', to });
            }}
          >
            <option value="">choose…</option>
            {handover.map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </div>

      <fieldset disabled={!online} class="lead-controls">
        <div class="row wrap transport-row">
          <label class="field inline">
            <span>Count-in</span>
            <select
              data-testid="count-in"
              value={countIn}
              onChange={(e) => app.setSettings({ countIn: Number((e.target as HTMLSelectElement).value) })}
            >
              {[0, 1, 2, 3, 4, 8].map((n) => (
                <option key={n} value={n}>
                  {n === 0 ? 'none' : `${n} bar${n > 1 ? 's' : ''}`}
                </option>
              ))}
            </select>
          </label>
          <button class="primary big play" data-testid="play" onClick={() => app.transport(true)}>
            ▶ Play
          </button>
          <button class="big stop" data-testid="stop" onClick={() => app.transport(false)}>
            ■ Stop
          </button>
        </div>

        <div class="row wrap tempo-row">
          <button class="square" aria-label="5 BPM slower" onClick={() => nudge(-5)}>
            −5
          </button>
          <button class="square" aria-label="1 BPM slower" data-testid="tempo-minus" onClick={() => nudge(-1)}>
            −1
          </button>
          <label class="field tempo-field">
            <span>BPM</span>
            <input
              ref={inputRef}
              data-testid="tempo-input"
              inputMode="decimal"
              value={draft}
              aria-invalid={!bpmOk}
              onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') applyTempo();
              }}
            />
          </label>
          <button class="square" aria-label="1 BPM faster" data-testid="tempo-plus" onClick={() => nudge(1)}>
            +1
          </button>
          <button class="square" aria-label="5 BPM faster" onClick={() => nudge(5)}>
            +5
          </button>
          <button class="primary" data-testid="tempo-apply" disabled={!bpmOk} onClick={() => applyTempo()}>
            Set tempo
          </button>
          <button class="tap" data-testid="tap-tempo" onPointerDown={(e) => { e.preventDefault(); onTap(); }} onKeyDown={(e) => { if (e.key === ' ' || e.key === 'Enter') { e.preventDefault(); onTap(); } }}>
            TAP{taps > 1 ? ` ×${taps}` : ''}
          </button>
        </div>

        <div class="row wrap meter-row">
          <label class="field inline">
            <span>Meter</span>
            <select
              data-testid="meter-preset"
              value=""
              onChange={(e) => {
                const m = parseMeter((e.target as HTMLSelectElement).value);
                if (m) applyMeter(m);
              }}
            >
              <option value="">{formatMeter(last.meter)}</option>
              {PRESETS.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <label class="field tiny">
            <span>Beats</span>
            <input
              data-testid="meter-beats"
              type="number"
              min={1}
              max={32}
              value={beats}
              onInput={(e) => {
                const b = Number((e.target as HTMLInputElement).value);
                setBeats(b);
                if (b >= 1 && b <= 32) setGroups(defaultGroups(b, unit).join('+'));
              }}
            />
          </label>
          <label class="field tiny">
            <span>Unit</span>
            <select
              data-testid="meter-unit"
              value={unit}
              onChange={(e) => {
                const u = Number((e.target as HTMLSelectElement).value);
                setUnit(u);
                setGroups(defaultGroups(beats, u).join('+'));
              }}
            >
              {[1, 2, 4, 8, 16, 32].map((u) => (
                <option key={u} value={u}>
                  {u}
                </option>
              ))}
            </select>
          </label>
          <label class="field small-field">
            <span>Groups</span>
            <input data-testid="meter-groups" value={groups} onInput={(e) => setGroups((e.target as HTMLInputElement).value)} placeholder="2+2+3" />
          </label>
          <button data-testid="meter-apply" disabled={meterProblem !== null} title={meterProblem ?? ''} onClick={() => applyMeter()}>
            Set meter
          </button>
        </div>

        <div class="row wrap seek-row">
          <label class="field tiny">
            <span>Bar</span>
            <input data-testid="seek-bar" type="number" min={1} value={bar} onInput={(e) => setBar((e.target as HTMLInputElement).value)} />
          </label>
          <button data-testid="seek" disabled={!(Number(bar) >= 1)} onClick={() => app.seekBar(Number(bar))}>
            Go to bar
          </button>
          <button onClick={() => app.seekBar(1)}>To the start</button>
        </div>

        <CueRow leading />
      </fieldset>
    </section>
  );
}
