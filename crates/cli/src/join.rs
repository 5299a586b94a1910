//! `bandsync join`: follow a session, print its events, and send control commands from stdin.

use crate::commands::{self, ControlLine};
use crate::join_lines::{print_audio, print_event, state_json, state_line};
use crate::join_link::JoinLink;
use crate::join_midi::JoinMidi;
use crate::output::emit;
use bandsync_app::metronome::{AudioReport, Metronome};
use bandsync_audio::device::{AudioOptions, output_available};
use bandsync_audio::engine::{Ear, Levels};
use bandsync_audio::sounds::ClickSound;
use bandsync_client::{Client, ClientOptions, Event, JoinTarget, LocalClock};
use bandsync_core::protocol::Secret;
use bandsync_core::{Micros, Transport};
use clap::Args;
use serde_json::json;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// Options of `bandsync join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The join link the host printed (http://HOST:PORT/s/SESSION).
    pub url: String,
    /// Your name, as the band sees it.
    #[arg(long)]
    pub name: String,
    /// What you play.
    #[arg(long)]
    pub instrument: Option<String>,
    /// Claim leadership on join, if it is free.
    #[arg(long)]
    pub leader: bool,
    /// The session PIN, when joining by a typed address instead of a link.
    #[arg(long)]
    pub pin: Option<String>,
    /// Trust this PEM certificate for wss:// (a remote host's self-signed certificate).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Leave after this many seconds.
    #[arg(long = "for", value_name = "SECONDS")]
    pub for_secs: Option<f64>,
    /// Give up (exit 4) when the connection has been down this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub retry_for: f64,
    /// Diagnostic: run on a clock this many ms off, to show the clock sync removes it.
    #[arg(long, value_name = "MS", default_value_t = 0.0, allow_hyphen_values = true)]
    pub clock_offset_ms: f64,
    /// Diagnostic: run on a clock this many ppm fast (negative: slow).
    #[arg(long, value_name = "PPM", default_value_t = 0.0, allow_hyphen_values = true)]
    pub clock_skew_ppm: f64,
    /// Play the metronome through the sound card (the default whenever an output device exists).
    #[arg(long, conflicts_with = "no_audio")]
    pub audio: bool,
    /// Do not play the metronome.
    #[arg(long)]
    pub no_audio: bool,
    /// Which ear gets the click: left, right or both.
    #[arg(long, default_value = "both")]
    pub channel: Ear,
    /// Output device (a part of its name), or `jack` (a running JACK server, Linux); the default
    /// device otherwise.
    #[arg(long, value_name = "NAME")]
    pub audio_device: Option<String>,
    /// Requested buffer size in frames (the device may round it).
    #[arg(long, value_name = "FRAMES")]
    pub buffer: Option<u32>,
    /// Extra output latency to compensate, in ms (for Bluetooth headphones and the like), -200 to
    /// 500. Without it, the figure `bandsync calibrate` stored for the output device, if any.
    #[arg(long, value_name = "MS", allow_hyphen_values = true, value_parser = parse_offset)]
    pub latency_offset_ms: Option<f64>,
    /// Clicks per beat: 1 for beats only, 2 for eighths in x/4, up to 8.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub subdivision: u8,
    /// The built-in click sounds: classic, wood, beep or tick.
    #[arg(long, default_value = "classic", value_parser = parse_sound)]
    pub sound: ClickSound,
    /// Master click volume, 0 to 1.
    #[arg(long, default_value_t = 0.8)]
    pub volume: f32,
    /// Volumes of the four kinds of click, 0 to 1: downbeat, group accent, beat, subdivision.
    #[arg(long, value_name = "D,G,B,S", default_value = "1,0.8,0.6,0.35")]
    pub levels: String,
    /// Silence the click and keep the beat stream (visual-only).
    #[arg(long)]
    pub mute: bool,
    /// A sample file (wav, ogg, flac, mp3) for beats, instead of the built-in click.
    #[arg(long, value_name = "FILE")]
    pub click_sample: Option<std::path::PathBuf>,
    /// A sample file for the downbeat.
    #[arg(long, value_name = "FILE")]
    pub accent_sample: Option<std::path::PathBuf>,
    /// Print a `beat` event for every click (the visual beat stream).
    #[arg(long)]
    pub beats: bool,
    /// Send MIDI clock, transport and each song's patch to the band's gear, on the shared
    /// timeline: `jack` (a JACK port to patch), `jack:CLIENT:PORT` (connected at start), `rtp`
    /// (a network MIDI session on UDP 5004 that a Mac or iPad joins), `rtp:PORT`,
    /// `rtp:HOST:PORT` (invite that network MIDI session), `port:NAME` or just NAME (the system's
    /// MIDI port of that name, or the one whose name holds it: CoreMIDI, WinMM, ALSA), or
    /// `virtual[:NAME]` (a port of ours that a DAW sees; macOS and Linux).
    #[arg(long, value_name = "TARGET")]
    pub midi_out: Option<String>,
    /// Pedals and pads act for the leader: `jack` (a JACK port to patch), `jack:CLIENT:PORT`
    /// (connected from that port at start), `port:NAME` or just NAME (the system's MIDI port:
    /// the foot controller), `virtual[:NAME]`, or `rtp` (what the network MIDI session of
    /// `--midi-out rtp…` receives).
    #[arg(long, value_name = "TARGET")]
    pub midi_in: Option<String>,
    /// What each note or controller does: `note N=ACTION; cc N=ACTION`, optionally `@CHANNEL`
    /// before the `=`; actions previous, next, playstop, tap, and `cue TEXT` (a cue to the band,
    /// the text in double quotes if it holds `;` or `,`).
    #[arg(long, value_name = "MAP", default_value = bandsync_core::midi::input::DEFAULT_MAP)]
    pub midi_map: String,
    /// Join the Ableton Link session on this network both ways: Link shows the session's tempo,
    /// beat phase (a Link bar on every bar line) and start/stop, and as the leader, a Link app's
    /// tempo or start/stop becomes the session's on its next bar line. Needs a build with the
    /// `link` feature (the Link library is GPL-2.0-or-later).
    #[arg(long)]
    pub link: bool,
    /// Advertise the network MIDI session of `--midi-out rtp` (Bonjour, as a Mac or iPad looks
    /// for one) only on this interface (repeatable; `lo` for loopback). Default: all; none with
    /// `BANDSYNC_NO_MDNS=1`.
    #[arg(long = "mdns-iface", value_name = "NAME")]
    pub mdns_iface: Vec<String>,
    /// Send MIDI this much earlier, for gear that sounds late (ms).
    #[arg(long, value_name = "MS", default_value_t = 0.0, allow_hyphen_values = true)]
    pub midi_offset_ms: f64,
}

/// Runs until `quit`, `--for` elapses, Ctrl-C, refusal (3) or loss (4).
///
/// # Errors
/// Only for an unreadable join link.
pub async fn run(a: JoinArgs) -> anyhow::Result<u8> {
    let target = JoinTarget::parse(&a.url).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut opts = ClientOptions::new(target, a.name.clone());
    opts.member.instrument = a.instrument.clone();
    opts.member.leader = a.leader;
    opts.member.pin = a.pin.clone().map(Secret);
    if let Some(ca) = &a.ca {
        use rustls_pki_types::pem::PemObject;
        let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_file_iter(ca)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| anyhow::anyhow!("cannot read --ca {}: {e}", ca.display()))?;
        anyhow::ensure!(!certs.is_empty(), "--ca {} holds no certificate", ca.display());
        opts.extra_ca = certs;
    }
    opts.member.backoff.give_up_after = Some(Micros((a.retry_for.max(0.0) * 1e6) as i64));
    let target = opts.member.target.clone();
    if a.clock_offset_ms != 0.0 || a.clock_skew_ppm != 0.0 {
        opts.clock = LocalClock::distorted(a.clock_offset_ms, a.clock_skew_ppm);
    }
    let mut client = Client::spawn(opts);
    let j = a.json;
    let (audio_tx, mut audio_rx) = tokio::sync::mpsc::unbounded_channel::<AudioReport>();
    let levels = parse_levels(&a.levels, a.volume, a.mute)?;
    let metronome = (a.audio || (!a.no_audio && output_available())).then(|| {
        let opts = AudioOptions {
            device: a.audio_device.clone(),
            buffer_frames: a.buffer,
            ear: a.channel,
            sound: a.sound,
            latency_offset_ms: a.latency_offset_ms.unwrap_or(0.0),
            latency_measured: false,
            latency_from_store: a.latency_offset_ms.is_none(),
            levels,
            subdivision: a.subdivision,
            beat_sample: a.click_sample.clone(),
            accent_sample: a.accent_sample.clone(),
        };
        Metronome::start(opts, client.clock_view(), audio_tx)
    });

    let midi_settings = bandsync_app::midi::MidiSettings {
        out: a.midi_out.clone(),
        input: a.midi_in.clone(),
        map: a.midi_map.clone(),
        offset_ms: a.midi_offset_ms,
    };
    // A network MIDI peer's name looked up on the blocking pool, so that a bad one is refused
    // here (the port itself looks it up on its own thread).
    let asked = midi_settings.clone();
    tokio::task::spawn_blocking(move || asked.check_reachable()).await?.map_err(anyhow::Error::msg)?;
    let mut midi = JoinMidi::start(&midi_settings, &a.name, &client, &a.mdns_iface, j)?;

    let link = JoinLink::start(a.link, &client, j)?;

    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let deadline = a.for_secs.map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let timer = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timer);
    let signal = crate::host::wait_for_signal();
    tokio::pin!(signal);
    let mut leaving = false;
    // The schedule, to print a `state` again when a scheduled change lands, and the host time of
    // the last `state` printed: every change after it is printed.
    let mut transport: Option<Transport> = None;
    let mut landed = Micros(i64::MIN);

    loop {
        let landing = transport.as_ref().and_then(|t| next_landing(&client, t, landed));
        tokio::select! {
            ev = client.next_event() => {
                let Some(ev) = ev else { return Ok(0) };
                midi.on_event(&client, &ev, j);
                link.on_event(&client, &ev);
                if let Event::Transport { transport: t, axis, now } = &ev {
                    transport = Some(t.clone());
                    // The state printed for this event is at `now` (on this schedule's host clock).
                    landed = *now;
                    if let Some(m) = &metronome {
                        m.set_transport(t, *axis);
                    }
                }
                if let Some(code) = print_event(j, &ev, &target) {
                    return Ok(code);
                }
            }
            Some(r) = audio_rx.recv() => {
                if let AudioReport::Output(o) = &r {
                    client.set_output(Some(o.clone()));
                }
                print_audio(j, a.beats, &r);
            }
            (at, bytes) = midi.next_pedal() => midi.on_pedal(&client, at, &bytes, j, |m| link.outgoing(m)),
            () = tokio::time::sleep_until(landing.map_or_else(tokio::time::Instant::now, |(_, at)| at)), if landing.is_some() => {
                if let (Some(t), Some((host, _))) = (&transport, landing) {
                    landed = host;
                    let v = state_json(t, host);
                    emit(j, &v, || state_line(&v));
                }
            }
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(l)) => match commands::parse(&l) {
                    Ok(ControlLine::Send(m)) => client.send(link.outgoing(m)),
                    Ok(ControlLine::Quit) => { leave(&client, &mut leaving); }
                    Ok(ControlLine::Nothing) => {}
                    Err(msg) => emit(j, &json!({"event": "error", "code": "usage", "message": msg}), || format!("error: {msg}")),
                },
                // End of input is not a request to leave: a follower often has no stdin at all.
                Ok(None) | Err(_) => stdin_open = false,
            },
            () = &mut timer, if !leaving => leave(&client, &mut leaving),
            () = &mut signal, if !leaving => leave(&client, &mut leaving),
        }
    }
}

/// `--levels D,G,B,S` with `--volume` and `--mute`.
fn parse_levels(s: &str, master: f32, mute: bool) -> anyhow::Result<Levels> {
    let v: Vec<f32> = s
        .split(',')
        .map(|x| x.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("--levels takes four numbers from 0 to 1, like 1,0.8,0.6,0.35"))?;
    anyhow::ensure!(
        v.len() == 4 && v.iter().all(|x| (0.0..=1.0).contains(x)),
        "--levels takes four numbers from 0 to 1"
    );
    Ok(Levels { downbeat: v[0], group: v[1], beat: v[2], subdivision: v[3], master: master.clamp(0.0, 1.0), mute })
}

/// A latency offset within the ones a player may set (the core's `LATENCY_OFFSET_MS`).
fn parse_offset(s: &str) -> Result<f64, String> {
    let range = bandsync_core::protocol::LATENCY_OFFSET_MS;
    match s.parse::<f64>() {
        Ok(v) if range.contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not an offset from {} to {} ms", range.start(), range.end())),
    }
}

fn parse_sound(s: &str) -> Result<ClickSound, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("{s:?} is not a click sound; use classic, wood, beep or tick"))
}

/// The first change after the last `state` printed (`landed`), and when it lands locally. One
/// already past (the schedule reached us after it landed, or the estimate ran ahead) is printed at
/// once, late, rather than never. Before the clock's first sample there is no "when": the loop
/// asks again at the next event.
fn next_landing(client: &Client, t: &Transport, landed: Micros) -> Option<(Micros, tokio::time::Instant)> {
    let at = t.next_change(landed)?;
    Some((at, client.instant_at_host(at)?))
}

fn leave(client: &Client, leaving: &mut bool) {
    if !*leaving {
        *leaving = true;
        client.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_levels, parse_offset};

    #[test]
    fn offsets_are_the_ones_a_player_may_set() {
        assert_eq!(parse_offset("-12.5"), Ok(-12.5));
        assert_eq!(parse_offset("500"), Ok(500.0));
        for bad in ["-250", "501", "NaN", "inf", "ms"] {
            let e = parse_offset(bad).unwrap_err();
            assert!(e.contains("-200 to 500 ms"), "{bad}: {e}");
        }
    }

    #[test]
    fn levels_parse_and_are_bounded() {
        let l = parse_levels("1,0.5,0.25,0", 0.9, true).unwrap();
        assert_eq!((l.downbeat, l.group, l.beat, l.subdivision, l.master, l.mute), (1.0, 0.5, 0.25, 0.0, 0.9, true));
        assert!(parse_levels("1,0.5,0.25", 1.0, false).is_err());
        assert!(parse_levels("1,0.5,0.25,2", 1.0, false).is_err());
        assert!(parse_levels("loud", 1.0, false).is_err());
    }
}
