//! The Tauri app's side of a session (APP_API.md): the Rust code owns the connection, the clock
//! and the audio; the UI calls commands and receives `AppEvent`s on a `Channel`.
//!
//! Host time reaches the UI through `ClockStatus.host_now_us` (the host time when the status was
//! sent, about once a second). Paired with the moment it arrived, it maps host time onto
//! `performance.now()` for the visual beat; the median of the last few pairs keeps one slow IPC
//! hop from moving it.

import { Channel, invoke } from '@tauri-apps/api/core';
import type { AppEvent, AudioSettings, Calibration, ClientMsg, ClockStatus, DiscoveryEvent, HostInfo, LaunchOptions, LinkStatus, MidiPorts, MidiSettings } from '../bindings';
import type { Backend, JoinRequest, Listener, UiEvent } from './backend';

export function isTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/** Host minus performance time (µs), from the recent clock statuses. */
export class HostPerfMap {
  private ds: number[] = [];
  private d: number | null = null;

  /** A status whose `host_now_us` arrived at `perfMs`. */
  add(hostNowUs: number, perfMs: number): void {
    this.ds.push(hostNowUs - perfMs * 1000);
    if (this.ds.length > 7) this.ds.shift();
    const s = [...this.ds].sort((a, b) => a - b);
    this.d = s[s.length >> 1];
  }

  reset(): void {
    this.ds = [];
    this.d = null;
  }

  hostAt(perfMs: number): number | null {
    return this.d === null ? null : perfMs * 1000 + this.d;
  }

  perfAt(hostUs: number): number | null {
    return this.d === null ? null : (hostUs - this.d) / 1000;
  }
}

export class TauriBackend implements Backend {
  readonly kind = 'tauri' as const;
  private listeners = new Set<Listener>();
  private map = new HostPerfMap();
  private lastClock: ClockStatus | null = null;
  /** The host details, when this app hosts the session. */
  host: HostInfo | null = null;
  private channel: Channel<AppEvent>;

  constructor() {
    this.channel = new Channel<AppEvent>();
    this.channel.onmessage = (ev) => this.onEvent(ev);
  }

  private onEvent(ev: AppEvent): void {
    if (ev.kind === 'clock') {
      this.lastClock = ev.clock;
      if (ev.clock.host_now_us !== null && ev.clock.host_now_us !== undefined) {
        this.map.add(ev.clock.host_now_us, performance.now());
      }
    }
    if (ev.kind === 'host') this.host = ev.host;
    if (ev.kind === 'server' && ev.msg.type === 'welcome') this.map.reset();
    const out: UiEvent = ev.kind === 'doc' ? { kind: 'doc', data: Uint8Array.from(ev.data) } : ev;
    for (const l of [...this.listeners]) {
      try {
        l(out);
      } catch (e) {
        console.error('listener failed', e);
      }
    }
  }

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Hosts a new session on this device and joins it as leader. */
  async hostSession(name: string, yourName: string, instrument: string | null): Promise<HostInfo> {
    this.host = await invoke<HostInfo>('host_session', { name, yourName, instrument, onEvent: this.channel });
    return this.host;
  }

  async join(req: JoinRequest): Promise<void> {
    await invoke('join_session', {
      target: req.target,
      yourName: req.name,
      instrument: req.instrument,
      pin: req.pin,
      onEvent: this.channel,
    });
  }

  async send(msg: ClientMsg): Promise<void> {
    await invoke('send_msg', { msg });
  }

  sendDoc(frame: Uint8Array): void {
    invoke('send_doc', { data: Array.from(frame) }).catch((e) => console.warn('send_doc failed', e));
  }

  qrSvg(link: string): Promise<string> {
    return invoke<string>('qr_svg', { link });
  }

  async leave(): Promise<void> {
    await invoke('leave_session');
  }

  hostNow(): number | null {
    return this.map.hostAt(performance.now());
  }

  hostToPerf(hostUs: number): number | null {
    return this.map.perfAt(hostUs);
  }

  clock(): ClockStatus | null {
    return this.lastClock;
  }
}

/** Starts LAN discovery; events flow until the app quits. */
export async function discover(onEvent: (ev: DiscoveryEvent) => void): Promise<void> {
  const ch = new Channel<DiscoveryEvent>();
  ch.onmessage = onEvent;
  await invoke('discover', { onEvent: ch });
}

export const audioInputs = () => invoke<string[]>('audio_inputs');

export const audioDevices = () => invoke<string[]>('audio_devices');

export const setAudio = (settings: AudioSettings) => invoke<AudioSettings>('set_audio', { settings });

/** The output's latency, measured by the microphone (about 12 s; the click pauses meanwhile). */
export const calibrateOutput = () => invoke<Calibration>('calibrate');

/** Ableton Link on or off (rejects "on" in a build without Link). */
export const setLink = (on: boolean) => invoke<void>('set_link', { on });

/** Whether this build has Ableton Link, and whether it is on. */
export const linkStatus = () => invoke<LinkStatus>('link_status');

/** MIDI out and pedals (rejects settings that do not read; a port that will not open is a `midi` event). */
export const setMidi = (settings: MidiSettings) => invoke<void>('set_midi', { settings });

/** The MIDI settings in force. */
export const midiSettings = () => invoke<MidiSettings>('midi_settings');

/** The system's MIDI ports, to choose from. */
export const midiPorts = () => invoke<MidiPorts>('midi_ports');

/** How the app was started: `--host NAME [--name NAME]` hosts at once. */
export const launchOptions = () => invoke<LaunchOptions>('launch_options');

export const keepAwake = (on: boolean) => invoke<void>('keep_awake', { on });
