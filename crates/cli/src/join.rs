//! `bandsync join`: follow a session, print its events, and send control commands from stdin.

use crate::commands::{self, Line};
use crate::exit;
use crate::output::emit;
use bandsync_app::metronome::{AudioReport, Metronome};
use bandsync_audio::device::{AudioOptions, output_available};
use bandsync_audio::engine::{Ear, Levels};
use bandsync_audio::sounds::ClickSound;
use bandsync_client::{Client, ClientOptions, Event, JoinTarget, LocalClock};
use bandsync_core::protocol::{Participant, Role, RoomStats, Secret};
use bandsync_core::{Micros, Transport};
use clap::Args;
use serde_json::{Value, json};
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
    /// Output device (a part of its name); the default device otherwise.
    #[arg(long, value_name = "NAME")]
    pub audio_device: Option<String>,
    /// Requested buffer size in frames (the device may round it).
    #[arg(long, value_name = "FRAMES")]
    pub buffer: Option<u32>,
    /// Extra output latency to compensate, in ms (for Bluetooth headphones and the like). Without
    /// it, the figure `bandsync calibrate` stored for the output device, if any.
    #[arg(long, value_name = "MS", allow_hyphen_values = true)]
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
            latency_from_store: a.latency_offset_ms.is_none(),
            levels,
            subdivision: a.subdivision,
            beat_sample: a.click_sample.clone(),
            accent_sample: a.accent_sample.clone(),
        };
        Metronome::start(opts, client.clock_view(), audio_tx)
    });

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
    // The schedule, to print a `state` again when a scheduled change lands.
    let mut transport: Option<Transport> = None;
    let mut landed = Micros(i64::MIN);

    loop {
        let landing = transport.as_ref().and_then(|t| next_landing(&client, t, landed));
        tokio::select! {
            ev = client.next_event() => {
                let Some(ev) = ev else { return Ok(0) };
                if let Event::Transport { transport: t, .. } = &ev {
                    transport = Some(t.clone());
                    if let Some(m) = &metronome {
                        m.set_transport(t);
                    }
                }
                if let Some(code) = print_event(j, &ev, &target) {
                    return Ok(code);
                }
            }
            Some(r) = audio_rx.recv() => print_audio(j, a.beats, &r),
            () = sleep_until(landing.map(|(_, at)| at)), if landing.is_some() => {
                if let (Some(t), Some((host, _))) = (&transport, landing) {
                    landed = host;
                    let v = state_json(t, host);
                    emit(j, &v, || state_line(&v));
                }
            }
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(l)) => match commands::parse(&l) {
                    Ok(Line::Send(m)) => client.send(m),
                    Ok(Line::Quit) => { leave(&client, &mut leaving); }
                    Ok(Line::Nothing) => {}
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

fn parse_sound(s: &str) -> Result<ClickSound, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("{s:?} is not a click sound; use classic, wood, beep or tick"))
}

fn print_audio(j: bool, beats: bool, r: &AudioReport) {
    match r {
        AudioReport::Info(i) => {
            let v = json!({
                "event": "audio",
                "device": i.device,
                "sample_rate": i.sample_rate,
                "channels": i.channels,
                "sample_format": i.sample_format,
                "buffer_frames": i.buffer_frames,
                "output_latency_ms": (i.output_latency_ms * 1000.0).round() / 1000.0,
                "underruns": i.underruns,
                "latency_offset_ms": i.latency_offset_ms,
                "latency_source": i.latency_source,
            });
            emit(j, &v, || {
                format!(
                    "Audio: {} at {} Hz, {} frames per buffer, {:.1} ms output latency{}{}, {} underrun(s)",
                    i.device,
                    i.sample_rate,
                    i.buffer_frames,
                    i.output_latency_ms,
                    if i.latency_source == "reported" {
                        String::new()
                    } else {
                        format!(" plus {:.1} ms {}", i.latency_offset_ms, i.latency_source)
                    },
                    if i.output_latency_ms > 60.0 && i.latency_source == "reported" {
                        " (high: run `bandsync calibrate`)"
                    } else {
                        ""
                    },
                    i.underruns
                )
            });
        }
        AudioReport::Beat(played) if beats => {
            let b = &played.click;
            let v = json!({
                "event": "beat",
                "position": b.position.as_f64(),
                "bar": b.bar,
                "beat": b.beat_in_bar,
                "accent": b.accent,
                "subdivision": b.subdivision,
                "count_in": b.count_in,
                "host_time": b.host.0,
            });
            emit(j, &v, || {
                format!("{} bar {} beat {}", if b.beat_in_bar == 0 { "*" } else { " " }, b.bar + 1, b.beat_in_bar + 1)
            });
        }
        AudioReport::Beat(_) => {}
        AudioReport::Error(e) => {
            emit(j, &json!({"event": "audio", "error": e}), || format!("Audio: {e}"));
        }
    }
}

/// The next scheduled change after host time now: its host time and when it comes locally.
fn next_landing(client: &Client, t: &Transport, landed: Micros) -> Option<(Micros, tokio::time::Instant)> {
    let now = client.host_now()?.max(landed);
    let at = t.next_change(now)?;
    Some((at, client.instant_at_host(at)?))
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn leave(client: &Client, leaving: &mut bool) {
    if !*leaving {
        *leaving = true;
        client.leave();
    }
}

/// Prints an event; returns the exit code when the event ends the program.
fn print_event(j: bool, ev: &Event, target: &JoinTarget) -> Option<u8> {
    match ev {
        Event::Joined { you, session, name, resumed } => {
            let v = json!({"event": "joined", "you": you, "session": session, "name": name, "resumed": resumed});
            emit(j, &v, || {
                format!(
                    "Joined \"{name}\" (session {session}) as participant {you}{}",
                    if *resumed { ", resumed" } else { "" }
                )
            });
        }
        Event::Participants { participants, stats } => {
            emit(j, &participants_json(participants, stats), || participants_line(participants));
        }
        Event::Transport { transport, now } => {
            let v = state_json(transport, *now);
            emit(j, &v, || state_line(&v));
        }
        Event::Error { code, message, about } => {
            let v = json!({"event": "error", "code": code, "message": message, "about": about});
            emit(j, &v, || format!("error {code}: {message}"));
        }
        Event::Disconnected { reason } => {
            emit(j, &json!({"event": "disconnected", "reason": reason}), || format!("Disconnected: {reason}"));
        }
        Event::Reconnecting { attempt, delay } => {
            let ms = delay.0 / 1000;
            let v = json!({"event": "reconnecting", "attempt": attempt, "delay_ms": ms});
            emit(j, &v, || format!("Reconnecting in {ms} ms (attempt {attempt})"));
        }
        Event::Refused { code, message } => {
            let v = json!({"event": "error", "code": code, "message": message, "fatal": true});
            emit(j, &v, || format!("Refused ({code}): {message}"));
            return Some(exit::REFUSED);
        }
        Event::Lost { reason } => {
            emit(j, &json!({"event": "lost", "reason": reason}), || format!("Connection lost for good: {reason}"));
            return Some(exit::LOST);
        }
        Event::Clock { status: c } => {
            let v = json!({
                "event": "clock",
                "offset_us": c.offset_us,
                "skew_ppm": (c.skew_ppm * 1000.0).round() / 1000.0,
                "rtt_us": c.rtt_us,
                "error_us": c.error_us,
                "synced": c.synced,
                "samples": c.samples,
            });
            emit(j, &v, || {
                format!(
                    "Clock: offset {:+.3} ms, skew {:+.1} ppm, rtt {:.2} ms, error ±{} µs{}",
                    c.offset_us as f64 / 1000.0,
                    c.skew_ppm,
                    c.rtt_us as f64 / 1000.0,
                    c.error_us,
                    if c.synced { ", synced" } else { "" }
                )
            });
        }
        Event::Credentials { secret, pin } => {
            let link = target.link(secret);
            let v = json!({"event": "credentials", "url": link, "pin": pin.as_ref().map(Secret::expose)});
            emit(j, &v, || {
                format!(
                    "Join link: {link}{}",
                    pin.as_ref().map(|p| format!(" (PIN {})", p.expose())).unwrap_or_default()
                )
            });
        }
        // `join` does not replicate the documents; `bandsync chart` and `setlist` do.
        Event::Doc { .. } => {}
        // Not asked for (`forward_server_messages` is off): the events above cover them.
        Event::Server { .. } => {}
        Event::Replaced => {
            let v = json!({"event": "replaced"});
            emit(j, &v, || "Another connection resumed this participant; stopping here.".into());
            return Some(exit::LOST);
        }
        Event::Left => {
            emit(j, &json!({"event": "left"}), || "Left the session.".into());
            return Some(0);
        }
    }
    None
}

fn participants_json(ps: &[Participant], stats: &RoomStats) -> Value {
    json!({
        "event": "participants",
        "participants": ps,
        "leader": stats.leader,
        "members": stats.members,
        "online": stats.online,
    })
}

fn participants_line(ps: &[Participant]) -> String {
    let names: Vec<String> = ps
        .iter()
        .map(|p| {
            let mut s = p.name.clone();
            if p.role == Role::Leader {
                s.push_str(" (leader)");
            }
            if p.connection == bandsync_core::protocol::Connection::Away {
                s.push_str(" (away)");
            }
            s
        })
        .collect();
    format!("Participants: {}", names.join(", "))
}

/// The `state` event: the transport at the server's `now`, plus changes scheduled after it.
pub fn state_json(tr: &Transport, now: Micros) -> Value {
    let cur = tr.segment_at(now);
    let pos = cur.position(now);
    let pending: Vec<Value> = tr
        .segments
        .iter()
        .filter(|s| s.at > now)
        .map(|s| {
            json!({
                "at": s.at.0,
                "tempo": s.timeline.tempo.bpm(),
                "meter": format!("{}/{}", s.meter.beats, s.meter.unit),
                "groups": s.meter.groups,
                "playing": s.playing,
                "position": s.timeline.beat_origin.as_f64(),
            })
        })
        .collect();
    json!({
        "event": "state",
        "tempo": cur.timeline.tempo.bpm(),
        "meter": format!("{}/{}", cur.meter.beats, cur.meter.unit),
        "groups": cur.meter.groups,
        "playing": cur.playing,
        "position": pos.as_f64(),
        "now": now.0,
        "pending": pending,
    })
}

fn state_line(v: &Value) -> String {
    let mut s = format!(
        "State: {} BPM {} {} at beat {:.2}",
        v["tempo"],
        v["meter"].as_str().unwrap_or("?"),
        if v["playing"] == true { "playing" } else { "stopped" },
        v["position"].as_f64().unwrap_or(0.0)
    );
    if let Some(p) = v["pending"].as_array().filter(|p| !p.is_empty()) {
        s.push_str(&format!(" ({} change(s) scheduled)", p.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::parse_levels;

    #[test]
    fn levels_parse_and_are_bounded() {
        let l = parse_levels("1,0.5,0.25,0", 0.9, true).unwrap();
        assert_eq!((l.downbeat, l.group, l.beat, l.subdivision, l.master, l.mute), (1.0, 0.5, 0.25, 0.0, 0.9, true));
        assert!(parse_levels("1,0.5,0.25", 1.0, false).is_err());
        assert!(parse_levels("1,0.5,0.25,2", 1.0, false).is_err());
        assert!(parse_levels("loud", 1.0, false).is_err());
    }
}
