//! `bandsync join`'s MIDI: the band's gear on the shared timeline (`--midi-out`), and pedals and
//! pads that act for the leader (`--midi-in`, `--midi-map`). A pedal's action becomes the message
//! the leader's button sends, so the host checks its authority just as for the UI; next and
//! previous song are read off a replica of the setlist that this member keeps for the purpose.

use crate::output::emit;
use bandsync_client::{Client, Event};
use bandsync_core::midi::input::{Command, MidiInput, MidiMap, step_song};
use bandsync_core::{ClientMsg, Micros};
use bandsync_docs::SessionDoc;
use serde_json::json;
use tokio::sync::mpsc;

/// The MIDI sides `join` was asked for.
pub struct JoinMidi {
    out: Option<bandsync_midi::MidiOut>,
    pedals: Option<Pedals>,
}

struct Pedals {
    /// The JACK port, when the pedals come through JACK (through network MIDI, the out session).
    _port: Option<bandsync_midi::MidiIn>,
    rx: mpsc::UnboundedReceiver<(u64, Vec<u8>)>,
    input: MidiInput,
    doc: SessionDoc,
    /// Songs in the replica, as last reported.
    songs: usize,
}

impl JoinMidi {
    /// Opens what the options ask for, and says so (a `midi` event per port).
    ///
    /// # Errors
    /// A bad target or map, or a backend that cannot be opened.
    pub fn start(
        out: Option<&str>,
        input: Option<&str>,
        map: &str,
        offset_ms: f64,
        name: &str,
        client: &Client,
        j: bool,
    ) -> anyhow::Result<Self> {
        let client_name = format!("bandsync-{name}");
        // Pedals first: through network MIDI they arrive on the out session.
        let mut pedal_tx = None;
        let pedals = match input {
            None => None,
            Some(target) => {
                let map: MidiMap = map.parse().map_err(|e: String| anyhow::anyhow!("--midi-map: {e}"))?;
                let (tx, rx) = mpsc::unbounded_channel::<(u64, Vec<u8>)>();
                let on: bandsync_midi::OnMessage = Box::new(move |at: u64, b: &[u8]| {
                    let _ = tx.send((at, b.to_vec()));
                });
                let port = if target == "rtp" {
                    anyhow::ensure!(
                        out.is_some_and(|o| o.starts_with("rtp")),
                        "--midi-in rtp takes the pedals from the network MIDI session: add --midi-out rtp…"
                    );
                    pedal_tx = Some(on);
                    None
                } else {
                    let port = bandsync_midi::MidiIn::start(target, &format!("{client_name}-in"), on)?;
                    let name = port.port_name().to_owned();
                    emit(j, &json!({"event": "midi", "port": name, "direction": "in"}), || {
                        format!("MIDI in on {name}")
                    });
                    Some(port)
                };
                Some(Pedals { _port: port, rx, input: MidiInput::new(map), doc: SessionDoc::new(), songs: 0 })
            }
        };
        let out = match out {
            None => None,
            Some(target) => {
                let opts = bandsync_midi::MidiOptions {
                    target: target.to_owned(),
                    client_name: client_name.clone(),
                    offset_ms,
                };
                let clock = client.clock_view();
                let host_now = move || clock.to_host_on(clock.local_of(std::time::Instant::now()));
                let out = bandsync_midi::MidiOut::start(&opts, Box::new(host_now), pedal_tx)?;
                let port = out.port_name().to_owned();
                emit(j, &json!({"event": "midi", "port": port, "direction": "out"}), || format!("MIDI out on {port}"));
                Some(out)
            }
        };
        Ok(JoinMidi { out, pedals })
    }

    /// Follows the session: the schedule for MIDI out, the setlist for the pedals (a `setlist`
    /// event says how many songs the replica holds whenever that changes).
    pub fn on_event(&mut self, client: &Client, ev: &Event, j: bool) {
        match ev {
            Event::Transport { transport, axis, .. } => {
                if let Some(o) = &self.out {
                    o.set_transport(transport, *axis);
                }
            }
            Event::Joined { .. } => {
                if let Some(p) = &self.pedals {
                    client.send_doc(p.doc.sync_step1());
                }
            }
            Event::Doc { bytes } => {
                if let Some(p) = &mut self.pedals {
                    match p.doc.handle_from_server(bytes) {
                        Ok(back) => back.into_iter().for_each(|b| client.send_doc(b)),
                        Err(e) => tracing::warn!("setlist replica: {e}"),
                    }
                    let n = p.doc.setlist().len();
                    if n != p.songs {
                        p.songs = n;
                        emit(j, &json!({"event": "setlist", "songs": n}), || format!("Setlist: {n} songs"));
                    }
                }
            }
            _ => {}
        }
    }

    /// The next message from a pedal (never, without `--midi-in`).
    pub async fn next_pedal(&mut self) -> (u64, Vec<u8>) {
        match &mut self.pedals {
            Some(p) => match p.rx.recv().await {
                Some(m) => m,
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }

    /// Acts on a pedal's message received at `at` (JACK time, µs). What it sends goes through
    /// `outgoing` first (the Link bridge puts a play on Link's bar).
    pub fn on_pedal(
        &mut self,
        client: &Client,
        at: u64,
        bytes: &[u8],
        j: bool,
        outgoing: impl Fn(ClientMsg) -> ClientMsg,
    ) {
        let Some(p) = &mut self.pedals else { return };
        let Some(cmd) = p.input.handle(Micros(at as i64), bytes) else { return };
        let mirror = client.mirror();
        let (action, msg) = match cmd {
            Command::Next | Command::Previous => {
                let songs = p.doc.setlist();
                let ids: Vec<&str> = songs.iter().map(|s| s.id.as_str()).collect();
                let by = if cmd == Command::Next { 1 } else { -1 };
                let current = mirror.as_ref().and_then(|m| m.song.clone());
                let action = if by > 0 { "next" } else { "previous" };
                match step_song(&ids, current.as_deref(), by) {
                    Some(id) => (action, Some(ClientMsg::Song { id: Some(id.to_owned()) })),
                    None => {
                        let message = format!("no {action} song in the setlist");
                        emit(j, &json!({"event": "error", "code": "midi_in", "message": message}), || message.clone());
                        return;
                    }
                }
            }
            Command::PlayStop => {
                let playing = mirror.as_ref().is_some_and(|m| m.transport.latest().playing);
                if playing {
                    ("stop", Some(ClientMsg::Stop {}))
                } else {
                    ("play", Some(ClientMsg::Play { count_in: 0, on_bar: None }))
                }
            }
            Command::Tempo(t) => ("tempo", Some(ClientMsg::Tempo { tempo: t })),
            Command::Cue(text) => ("cue", Some(ClientMsg::Cue { text })),
        };
        emit(j, &json!({"event": "midi_in", "action": action}), || format!("MIDI in: {action}"));
        if let Some(m) = msg {
            client.send(outgoing(m));
        }
    }
}
