//! Click sounds, synthesized (no files to load): one mono buffer per kind of click, each with its
//! full amplitude on the first frame, so that the onset is sharp and lands exactly where it was
//! scheduled. Pure: the player copies them into AudioBuffers.

export type ClickSound = 'classic' | 'wood' | 'beep' | 'tick';
export type Voice = 'downbeat' | 'group' | 'beat' | 'sub';

export const CLICK_SOUNDS: { id: ClickSound; label: string }[] = [
  { id: 'classic', label: 'Classic (sine clicks)' },
  { id: 'wood', label: 'Woodblock' },
  { id: 'beep', label: 'Beep' },
  { id: 'tick', label: 'Tick (noise)' },
];

/** Pitch (Hz) and length (ms) per voice; the Rust engine's classic set is 2000/1500/1000/700. */
const PITCH: Record<ClickSound, Record<Voice, number>> = {
  classic: { downbeat: 2000, group: 1500, beat: 1000, sub: 700 },
  wood: { downbeat: 1400, group: 1150, beat: 950, sub: 800 },
  beep: { downbeat: 1760, group: 1320, beat: 880, sub: 660 },
  tick: { downbeat: 1, group: 0.8, beat: 0.6, sub: 0.4 },
};
const LENGTH_MS: Record<Voice, number> = { downbeat: 30, group: 25, beat: 25, sub: 15 };

/** A deterministic noise source, so that the same sound is rendered every time. */
function noise(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x80000000 - 1;
  };
}

/** The samples of one click at `rate` frames per second, peak 1. */
export function synthClick(sound: ClickSound, voice: Voice, rate: number): Float32Array<ArrayBuffer> {
  const ms = sound === 'beep' ? LENGTH_MS[voice] + 20 : LENGTH_MS[voice];
  const n = Math.max(1, Math.round((rate * ms) / 1000));
  const out = new Float32Array(n);
  const tau = n / 5;
  const f = PITCH[sound][voice];
  const w = (2 * Math.PI) / rate;
  switch (sound) {
    case 'classic':
      // The Rust engine's burst: a cosine (full amplitude at frame 0) decaying over the length.
      for (let i = 0; i < n; i++) out[i] = Math.cos(w * f * i) * Math.exp(-i / tau);
      break;
    case 'wood':
      // Two inharmonic partials with a fast decay: a hollow knock.
      for (let i = 0; i < n; i++) {
        const e = Math.exp(-i / (tau * 0.6));
        out[i] = (0.7 * Math.cos(w * f * i) + 0.3 * Math.cos(w * f * 2.76 * i)) * e;
      }
      break;
    case 'beep':
      // A steady tone with a cosine onset and a short release at the end.
      for (let i = 0; i < n; i++) {
        const rel = Math.min(1, (n - i) / (rate * 0.008));
        out[i] = (0.8 * Math.cos(w * f * i) + 0.2 * Math.cos(3 * w * f * i)) * rel;
      }
      break;
    case 'tick': {
      // High-passed noise: a hi-hat-like tick; the voice sets its brightness.
      const rnd = noise(voice.length * 7919 + 17);
      let prev = 0;
      for (let i = 0; i < n; i++) {
        const x = rnd();
        const hp = x - prev * f * 0.95;
        prev = x;
        out[i] = hp * Math.exp(-i / (tau * 0.5));
      }
      out[0] = 1;
      break;
    }
  }
  // Normalize to a peak of 1 so that the levels mean the same for every sound.
  let peak = 0;
  for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs(out[i]));
  if (peak > 0) for (let i = 0; i < n; i++) out[i] /= peak;
  return out;
}
