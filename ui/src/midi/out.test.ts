// The page's MIDI out with the real core (the feeder in wasm), and the browser's clock and timers
// simulated. The MIDI ports are a recording stand-in for the browser's `MIDIAccess`: no browser
// here has a MIDI port to open (Chromium's Web MIDI needs ALSA's sequencer, which this machine's
// kernel lacks), so what is tested is what the page hands `MIDIOutput.send`, and when.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientMsg, Segment, Transport } from '../bindings';
import type { PlayerClock } from '../audio/player';
import type { PedalContext } from './pedals';
import { WebMidi, type WebMidiSettings } from './webmidi';

const FOUR = { beats: 4, unit: 4, groups: [4] };
const ONE = 1_000_000;
/** Host time is the browser's clock less 5 s. */
const SHIFT_US = 5_000_000;

function seg(over: Partial<Segment>): Segment {
  return { at: 0, playing: true, timeline: { tempo: 120_000, beat_origin: 0, time_origin: 0 }, meter: FOUR, bar_origin: 0, song_start: 0, ...over };
}

type Sent = { port: string; data: number[]; at: number | undefined };

/** A stand-in for the browser's MIDI ports that records what is sent to each output; its inputs
 *  are pedals the test presses (`press`). */
function ports(names: string[], sent: Sent[], inputs: string[] = []): MIDIAccess {
  const outputs = new Map(
    names.map((name) => [name, { id: name, name, state: 'connected', send: (data: number[], at?: number) => sent.push({ port: name, data: [...data], at }) }]),
  );
  const ins = new Map(inputs.map((name) => [name, { id: name, name, state: 'connected', onmidimessage: null }]));
  return { outputs, inputs: ins, onstatechange: null } as unknown as MIDIAccess;
}

/** A pedal's message on input `name` of `access`, at browser time `ms`. */
function press(access: MIDIAccess, name: string, data: number[], ms: number): void {
  const input = access.inputs.get(name) as MIDIInput;
  (input.onmidimessage as (e: Partial<MIDIMessageEvent>) => void)({ data: new Uint8Array(data), timeStamp: ms });
}

/** What the pedals did, against a session with songs a, b and c, `b` current, playing. */
function session(did: string[]): PedalContext {
  const playing: Transport = { segments: [seg({})] };
  return {
    setlist: () => ['a', 'b', 'c'],
    current: () => 'b',
    transport: () => playing,
    act: (msg: ClientMsg, action: string) => did.push(`${action} ${JSON.stringify(msg)}`),
    refused: (why: string) => did.push(`refused: ${why}`),
  };
}

const settings = (over: Partial<WebMidiSettings>): WebMidiSettings => ({ midiOut: null, midiOffsetMs: 0, midiIn: null, midiMap: '', ...over });

const clock: PlayerClock = {
  hostNow: () => performance.now() * 1000 - SHIFT_US,
  perfToHost: (p) => p * 1000 - SHIFT_US,
  axis: () => ({ epoch: 1, continues: null }),
};

async function out(s: WebMidiSettings, names: string[], sent: Sent[]): Promise<WebMidi> {
  const m = new WebMidi(clock, session([]), s, () => Promise.resolve(ports(names, sent)));
  await m.open();
  return m;
}

/** The clock pulses sent, as browser ms. */
const pulses = (sent: Sent[], port = 'Synth') => sent.filter((s) => s.port === port && s.data[0] === 0xf8).map((s) => s.at as number);

describe('MIDI through Web MIDI', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    // The page has been open 5 s: host time 0.
    vi.advanceTimersByTime(5_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends Start and the clock on the browser's clock, early by the offset, each message once", async () => {
    const sent: Sent[] = [];
    const m = await out(settings({ midiOut: 'Synth', midiOffsetMs: 3 }), ['Synth'], sent);
    // Playing from host time 1 s, which is browser time 6 s.
    m.setTransport({ segments: [seg({ at: ONE, timeline: { tempo: 120_000, beat_origin: 0, time_origin: ONE } })] });
    await vi.advanceTimersByTimeAsync(3_000);
    expect(m.status()).toMatchObject({ outputs: ['Synth'], out: 'Synth', error: null });
    expect(sent[0]).toEqual({ port: 'Synth', data: [0xfa], at: 5997 });
    const p = pulses(sent);
    // 120 BPM: 24 a beat, 48 a second, from 6 s to the last tick (8 s) and 100 ms ahead.
    expect(p.length).toBe(101);
    p.forEach((at, k) => expect(Math.abs(at - (5997 + (k * 500) / 24))).toBeLessThan(0.002));
    // Let go: Stop, after every message handed out (the browser may still hold some).
    m.close();
    const stop = sent.at(-1)!;
    expect(stop.data).toEqual([0xfc]);
    expect(stop.at).toBe(Math.max(...sent.slice(0, -1).map((s) => s.at as number)));
  });

  it('follows a tempo change on its bar, and a new output is told where the song is', async () => {
    const sent: Sent[] = [];
    const m = await out(settings({ midiOut: 'Synth' }), ['Synth', 'Drums'], sent);
    // 120 BPM from host 1 s; on the second bar (host 3 s, beat 4) 60 BPM.
    const tr: Transport = {
      segments: [
        seg({ at: ONE, timeline: { tempo: 120_000, beat_origin: 0, time_origin: ONE } }),
        seg({ at: 3 * ONE, timeline: { tempo: 60_000, beat_origin: 4 * ONE, time_origin: 3 * ONE } }),
      ],
    };
    m.setTransport(tr);
    await vi.advanceTimersByTimeAsync(4_000);
    const gaps = pulses(sent)
      .map((at, k, all) => (k ? at - all[k - 1] : 0))
      .slice(1);
    expect(gaps.slice(0, 96).every((g) => Math.abs(g - 500 / 24) < 0.002)).toBe(true);
    expect(gaps.slice(96).every((g) => Math.abs(g - 1000 / 24) < 0.002)).toBe(true);
    expect(gaps.length).toBeGreaterThan(120);
    // The drummer's machine instead, mid-song: Synth stops, Drums is told where the band is.
    m.setSettings(settings({ midiOut: 'Drums' }));
    await vi.advanceTimersByTimeAsync(500);
    expect(sent.filter((s) => s.port === 'Synth').at(-1)?.data).toEqual([0xfc]);
    const drums = sent.filter((s) => s.port === 'Drums' && s.data[0] !== 0xf8).map((s) => s.data[0]);
    expect(drums).toEqual([0xf2, 0xfb]);
    expect(m.status().out).toBe('Drums');
    m.close();
  });

  it('says when the output named is not there, and opens it once it is plugged in', async () => {
    const sent: Sent[] = [];
    const access = ports(['Synth'], sent);
    const m = new WebMidi(clock, session([]), settings({ midiOut: 'Keys' }), () => Promise.resolve(access));
    await m.open();
    m.setTransport({ segments: [seg({})] });
    expect(m.status().error).toBe('No MIDI output named "Keys" is connected.');
    expect(m.status().out).toBeNull();
    // A second into the song the keyboard is plugged in: the browser says its ports changed.
    await vi.advanceTimersByTimeAsync(1_000);
    const keys = ports(['Keys'], sent).outputs.get('Keys') as MIDIOutput;
    (access.outputs as unknown as Map<string, MIDIOutput>).set('Keys', keys);
    (access.onstatechange as () => void)();
    await vi.advanceTimersByTimeAsync(100);
    expect(m.status()).toMatchObject({ out: 'Keys', error: null });
    expect(sent.filter((s) => s.port === 'Keys' && s.data[0] !== 0xf8).map((s) => s.data[0])).toEqual([0xf2, 0xfb]);
    m.close();
  });

  it("turns a pedal's press into the leader's message, through the core's map", async () => {
    const did: string[] = [];
    const access = ports([], [], ['FCB1010']);
    const m = new WebMidi(clock, session(did), settings({ midiIn: 'FCB1010' }), () => Promise.resolve(access));
    await m.open();
    expect(m.status()).toMatchObject({ inputs: ['FCB1010'], pedals: 'FCB1010', pedalError: null });
    // The core's default map: D4 next, the sustain pedal play/stop, E4 tap.
    press(access, 'FCB1010', [0x90, 62, 100], 10);
    press(access, 'FCB1010', [0xb0, 64, 127], 20);
    for (const ms of [1000, 1400, 1800, 2200]) press(access, 'FCB1010', [0x90, 64, 90], ms);
    expect(did).toEqual(['next {"type":"song","id":"c"}', 'stop {"type":"stop"}', 'tempo {"type":"tempo","tempo":150000}']);
    // A map of the player's own; one that does not read says why, in the core's words.
    m.setSettings(settings({ midiIn: 'FCB1010', midiMap: 'note 60=previous; note 61=cue Last chorus' }));
    press(access, 'FCB1010', [0x90, 61, 100], 3000);
    press(access, 'FCB1010', [0x90, 62, 100], 3100);
    expect(did.slice(3)).toEqual(['cue {"type":"cue","text":"Last chorus"}']);
    m.setSettings(settings({ midiIn: 'FCB1010', midiMap: 'note 60=dance' }));
    expect(m.status().pedalError).toContain('not an action');
    m.close();
    expect((access.inputs.get('FCB1010') as MIDIInput).onmidimessage).toBeNull();
  });
});
