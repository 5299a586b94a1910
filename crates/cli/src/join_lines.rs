//! What `bandsync join` prints: one line per event (JSON with `--json`, else a sentence) for the
//! session's events, its audio output, and the transport's state.

use crate::exit;
use crate::output::emit;
use bandsync_app::metronome::AudioReport;
use bandsync_client::{Event, JoinTarget};
use bandsync_core::protocol::{LatencySource, Participant, Role, RoomStats, Secret};
use bandsync_core::{Micros, Transport};
use serde_json::{Value, json};

pub fn print_audio(j: bool, beats: bool, r: &AudioReport) {
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
                "playout_steps": i.playout_steps,
                "playout_outliers": i.playout_outliers,
                "latency_offset_ms": i.latency_offset_ms,
                "latency_source": i.latency_source.name(),
            });
            emit(j, &v, || {
                format!(
                    "Audio: {} at {} Hz, {} frames per buffer, {:.1} ms output latency{}, {} underrun(s)",
                    i.device,
                    i.sample_rate,
                    i.buffer_frames,
                    i.output_latency_ms,
                    if i.latency_source == LatencySource::Reported {
                        String::new()
                    } else {
                        format!(" plus {:.1} ms {}", i.latency_offset_ms, i.latency_source.name())
                    },
                    i.underruns
                )
            });
        }
        // What the band sees of this output; in words only when the leader would be warned.
        AudioReport::Output(o) => {
            let v = json!({"event": "output", "output": o, "uncalibrated": o.uncalibrated()});
            if j || o.uncalibrated() {
                emit(j, &v, || {
                    format!(
                        "Audio: {:.1} ms output latency past the {:.1} ms buffer, high and only reported (earbuds?): run `bandsync calibrate`",
                        o.device_latency().0 as f64 / 1000.0,
                        o.buffer_us.0 as f64 / 1000.0
                    )
                });
            }
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

/// Prints an event; returns the exit code when the event ends the program.
pub fn print_event(j: bool, ev: &Event, target: &JoinTarget) -> Option<u8> {
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
        Event::Transport { transport, now, .. } => {
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
        Event::Credentials { secret, pin, viewer } => {
            let link = target.link(secret);
            let view = viewer.as_ref().map(|v| target.link(v));
            let v =
                json!({"event": "credentials", "url": link, "pin": pin.as_ref().map(Secret::expose), "view_url": view});
            emit(j, &v, || {
                format!(
                    "Join link: {link}{}",
                    pin.as_ref().map(|p| format!(" (PIN {})", p.expose())).unwrap_or_default()
                )
            });
        }
        Event::Cue { text, at, bar, by } => {
            let v = json!({"event": "cue", "text": text, "at": at.0, "bar": bar, "by": by});
            emit(j, &v, || match bar {
                Some(b) => format!("CUE at bar {}: {text}", b + 1),
                None => format!("CUE: {text}"),
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
            } else if let Some(sync) = p.sync.as_ref().filter(|s| !s.concerns.is_empty()) {
                // The host's judgement of its figures, as the leader's view flags it.
                let words: Vec<&str> = sync.concerns.iter().map(|c| c.words()).collect();
                s.push_str(&format!(" (! {})", words.join(", ")));
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
                "song": s.song.as_ref().map(|c| &c.id),
                "flow_bar": s.flow.map(|f| f.bar),
                "vamp": s.flow.and_then(|f| f.vamp),
            })
        })
        .collect();
    json!({
        "event": "state",
        "tempo": cur.timeline.tempo.bpm(),
        "meter": format!("{}/{}", cur.meter.beats, cur.meter.unit),
        "groups": cur.meter.groups,
        "playing": cur.playing,
        "song": cur.song.as_ref().map(|c| &c.id),
        "flow_bar": cur.flow_bar(pos).map(|f| f.0),
        "position": pos.as_f64(),
        "now": now.0,
        "pending": pending,
    })
}

pub fn state_line(v: &Value) -> String {
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
