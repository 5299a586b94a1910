//! MIDI on this device, for the app's sessions and for `bandsync join`: the band's gear on the
//! shared timeline (MIDI out), and pedals and pads that act for the leader (MIDI in). A pedal's
//! action becomes the message the leader's button sends, so the host checks its authority just as
//! for the UI; next and previous song are read off a replica of the setlist that this device keeps
//! for the purpose. What to send and when is the core's rule (`bandsync_core::midi`); the ports
//! are `bandsync_midi`'s. Here: opening what the settings ask for, and following the session.

pub use crate::events::{MidiPorts, MidiSettings, MidiStatus};
use bandsync_client::{Client, Event};
use bandsync_core::midi::input::{DEFAULT_MAP, MidiInput, MidiMap};
use bandsync_core::{ClientMsg, Micros};
use bandsync_docs::SessionDoc;
use tokio::sync::mpsc;

impl Default for MidiSettings {
    fn default() -> Self {
        MidiSettings { out: None, input: None, map: DEFAULT_MAP.to_owned(), offset_ms: 0.0 }
    }
}

impl MidiSettings {
    /// Why these settings cannot be used, checked before anything is opened.
    ///
    /// # Errors
    /// The first problem, in words for the user.
    pub fn check(&self) -> Result<(), String> {
        if let Some(t) = &self.out {
            bandsync_midi::check_target(t).map_err(|e| e.to_string())?;
        }
        match self.input.as_deref() {
            Some("rtp") if !self.out.as_deref().is_some_and(|o| o.starts_with("rtp")) => {
                return Err(
                    "pedals from network MIDI come through the network MIDI session: set MIDI out to rtp".into()
                );
            }
            Some("rtp") | None => {}
            Some(t) => bandsync_midi::check_target(t).map_err(|e| e.to_string())?,
        }
        if self.input.is_some() {
            self.map.parse::<MidiMap>().map_err(|e| format!("MIDI map: {e}"))?;
        }
        let max = bandsync_core::midi::feed::MAX_OFFSET_MS;
        if !(-max..=max).contains(&self.offset_ms) {
            return Err(format!("the MIDI offset is -{max} to {max} ms"));
        }
        Ok(())
    }

    /// [`MidiSettings::check`], and the network MIDI session MIDI out invites (`rtp:HOST:PORT`)
    /// has an address. Blocks while the system resolves the name: for a blocking pool, never a
    /// session's task (which opens the port and looks the name up on the port's own thread).
    ///
    /// # Errors
    /// The first problem, in words for the user.
    pub fn check_reachable(&self) -> Result<(), String> {
        self.check()?;
        self.out.as_deref().map_or(Ok(()), |t| bandsync_midi::check_reachable(t).map_err(|e| e.to_string()))
    }
}

/// The system's MIDI ports now.
#[must_use]
pub fn ports() -> MidiPorts {
    match bandsync_midi::system_ports("bandsync-list") {
        Ok((outputs, inputs)) => MidiPorts { outputs, inputs, error: None },
        Err(e) => MidiPorts { error: Some(e.to_string()), ..MidiPorts::default() },
    }
}

/// What MIDI did, for the UI or the terminal to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MidiNote {
    /// A port opened (`input`: for pedals).
    Port { port: String, input: bool },
    /// The network MIDI session is advertised (Bonjour) under this name, on this control port.
    Advertised { name: String, port: u16 },
    /// The setlist replica now holds this many songs.
    Setlist(usize),
    /// A pedal did this (`next`, `previous`, `play`, `stop`, `tempo`, `cue`).
    Action(&'static str),
    /// A pedal's press that did nothing, and why.
    Refused(String),
    /// What went wrong after the ports opened (a network MIDI peer's name without an address).
    Problem(String),
}

/// MIDI for one session.
#[derive(Default)]
pub struct SessionMidi {
    out: Option<bandsync_midi::MidiOut>,
    pedals: Option<Pedals>,
    /// The network MIDI session's Bonjour advertisement, and its name.
    ad: Option<(bandsync_discovery::MidiAdvertisement, String)>,
    /// MIDI out's problem, once said ([`MidiNote::Problem`]).
    said: bool,
}

struct Pedals {
    /// The pedals' own port (through network MIDI, they come on the out session).
    port: Option<bandsync_midi::MidiIn>,
    rx: mpsc::UnboundedReceiver<(u64, Vec<u8>)>,
    input: MidiInput,
    doc: SessionDoc,
    /// Songs in the replica, as last reported.
    songs: usize,
}

impl std::fmt::Debug for SessionMidi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMidi")
            .field("out", &self.out)
            .field("pedals", &self.pedals.as_ref().map(|p| p.songs))
            .finish()
    }
}

impl SessionMidi {
    /// Opens what `settings` ask for, for the session `client` is in; ports are named after
    /// `name`. With `advertise` (the interfaces, all when empty), a network MIDI session that waits
    /// for peers is advertised over Bonjour as Apple's devices look for one ("BandSync NAME").
    /// Says what opened.
    ///
    /// # Errors
    /// Bad settings, or a port that cannot be opened.
    pub fn start(
        settings: &MidiSettings,
        name: &str,
        client: &Client,
        advertise: Option<&[String]>,
    ) -> Result<(Self, Vec<MidiNote>), String> {
        settings.check()?;
        let client_name = format!("bandsync-{name}");
        let mut notes = Vec::new();
        // Pedals first: through network MIDI they arrive on the out session.
        let mut pedal_tx = None;
        let pedals = match settings.input.as_deref() {
            None => None,
            Some(target) => {
                let map: MidiMap = settings.map.parse().map_err(|e: String| format!("MIDI map: {e}"))?;
                let (tx, rx) = mpsc::unbounded_channel::<(u64, Vec<u8>)>();
                let on: bandsync_midi::OnMessage = Box::new(move |at: u64, b: &[u8]| {
                    let _ = tx.send((at, b.to_vec()));
                });
                let port = if target == "rtp" {
                    pedal_tx = Some(on);
                    None
                } else {
                    let port = bandsync_midi::MidiIn::start(target, &format!("{client_name}-in"), on)
                        .map_err(|e| e.to_string())?;
                    notes.push(MidiNote::Port { port: port.port_name().to_owned(), input: true });
                    Some(port)
                };
                Some(Pedals { port, rx, input: MidiInput::new(map), doc: SessionDoc::new(), songs: 0 })
            }
        };
        let out = match settings.out.as_deref() {
            None => None,
            Some(target) => {
                let opts = bandsync_midi::MidiOptions {
                    target: target.to_owned(),
                    client_name,
                    offset_ms: settings.offset_ms,
                };
                let clock = client.clock_view();
                let host_now = move || clock.host_now_on();
                let out =
                    bandsync_midi::MidiOut::start(&opts, Box::new(host_now), pedal_tx).map_err(|e| e.to_string())?;
                notes.push(MidiNote::Port { port: out.port_name().to_owned(), input: false });
                Some(out)
            }
        };
        let ad = match (out.as_ref().and_then(bandsync_midi::MidiOut::rtp_listening), advertise) {
            (Some(port), Some(interfaces)) => {
                let shown = format!("BandSync {name}");
                match bandsync_discovery::advertise_midi(&shown, port, interfaces) {
                    Ok(ad) => {
                        notes.push(MidiNote::Advertised { name: shown.clone(), port });
                        Some((ad, shown))
                    }
                    // The session still runs: a Mac can add it by address.
                    Err(e) => {
                        tracing::warn!("network MIDI not advertised: {e}");
                        None
                    }
                }
            }
            _ => None,
        };
        let midi = SessionMidi { out, pedals, ad, said: false };
        // Already in the session: the schedule and the setlist now.
        if let Some(m) = client.mirror() {
            midi.follow(&m.transport, bandsync_core::host_axis::HostAxis::new(m.epoch));
            if let Some(p) = &midi.pedals {
                client.send_doc(p.doc.sync_step1());
            }
        }
        Ok((midi, notes))
    }

    /// Whether any port is open.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.out.is_some() || self.pedals.is_some()
    }

    /// A new map for the pedals, taken at once (a tap tempo under way starts again).
    ///
    /// # Errors
    /// A map that does not read.
    pub fn set_map(&mut self, map: &str) -> Result<(), String> {
        let map: MidiMap = map.parse().map_err(|e: String| format!("MIDI map: {e}"))?;
        if let Some(p) = &mut self.pedals {
            p.input = MidiInput::new(map);
        }
        Ok(())
    }

    /// A new offset for MIDI out (-100 to 100 ms), taken at once: the port stays open.
    ///
    /// # Errors
    /// An offset out of range.
    pub fn set_offset(&mut self, ms: f64) -> Result<(), String> {
        MidiSettings { offset_ms: ms, ..MidiSettings::default() }.check()?;
        if let Some(out) = &self.out {
            out.set_offset_ms(ms);
        }
        Ok(())
    }

    /// What is open now.
    #[must_use]
    pub fn status(&self) -> MidiStatus {
        MidiStatus {
            out: self.out.as_ref().map(|o| o.port_name().to_owned()),
            input: self.pedals.as_ref().map(|p| match &p.port {
                Some(port) => port.port_name().to_owned(),
                None => "rtp".to_owned(),
            }),
            error: self.out.as_ref().and_then(bandsync_midi::MidiOut::problem),
            bonjour: self.ad.as_ref().map(|(_, name)| name.clone()),
        }
    }

    fn follow(&self, t: &bandsync_core::Transport, axis: bandsync_core::host_axis::HostAxis) {
        if let Some(o) = &self.out {
            o.set_transport(t, axis);
        }
    }

    /// Follows the session: the schedule for MIDI out, the setlist for the pedals (a
    /// [`MidiNote::Setlist`] whenever the replica's count of songs changes).
    pub fn on_event(&mut self, client: &Client, ev: &Event) -> Option<MidiNote> {
        let note = self.on_session(client, ev);
        // A problem MIDI out found after it opened, said once, at a session event that has
        // nothing else to say.
        if note.is_none() && !self.said {
            if let Some(p) = self.out.as_ref().and_then(bandsync_midi::MidiOut::problem) {
                self.said = true;
                return Some(MidiNote::Problem(p));
            }
        }
        note
    }

    fn on_session(&mut self, client: &Client, ev: &Event) -> Option<MidiNote> {
        match ev {
            Event::Transport { transport, axis, .. } => {
                self.follow(transport, *axis);
                None
            }
            Event::Joined { .. } => {
                if let Some(p) = &self.pedals {
                    client.send_doc(p.doc.sync_step1());
                }
                None
            }
            Event::Doc { bytes } => {
                let p = self.pedals.as_mut()?;
                match p.doc.handle_from_server(bytes) {
                    Ok(back) => back.into_iter().for_each(|b| client.send_doc(b)),
                    Err(e) => tracing::warn!("setlist replica: {e}"),
                }
                p.count()
            }
            _ => None,
        }
    }

    /// This device's own edits, as its UI sends them to the server (which does not echo them):
    /// the replica takes them too.
    pub fn on_local_doc(&mut self, bytes: &[u8]) -> Option<MidiNote> {
        let p = self.pedals.as_mut()?;
        // What the UI's messages would have the server answer is the UI's business.
        if let Err(e) = p.doc.handle_from_server(bytes) {
            tracing::debug!("setlist replica, a local edit: {e}");
        }
        p.count()
    }

    /// The next message from a pedal (never, without pedals).
    pub async fn next_pedal(&mut self) -> (u64, Vec<u8>) {
        match &mut self.pedals {
            Some(p) => match p.rx.recv().await {
                Some(m) => m,
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }

    /// Acts on a pedal's message received at `at` (the backend's time, µs). What it sends goes
    /// through `outgoing` first (the Link bridge puts a play on Link's bar).
    pub fn on_pedal(
        &mut self,
        client: &Client,
        at: u64,
        bytes: &[u8],
        outgoing: impl Fn(ClientMsg) -> ClientMsg,
    ) -> Option<MidiNote> {
        let p = self.pedals.as_mut()?;
        let cmd = p.input.handle(Micros(at as i64), bytes)?;
        let mirror = client.mirror();
        let songs = p.doc.setlist();
        let ids: Vec<&str> = songs.iter().map(|s| s.id.as_str()).collect();
        let current = mirror.as_ref().and_then(|m| m.song.clone());
        let playing = mirror.as_ref().is_some_and(|m| m.transport.latest().playing);
        match cmd.message(&ids, current.as_deref(), playing) {
            Ok((action, msg)) => {
                client.send(outgoing(msg));
                Some(MidiNote::Action(action))
            }
            Err(why) => Some(MidiNote::Refused(why)),
        }
    }
}

impl Pedals {
    /// The replica's count of songs, if it changed.
    fn count(&mut self) -> Option<MidiNote> {
        let n = self.doc.setlist().len();
        (n != self.songs).then(|| {
            self.songs = n;
            MidiNote::Setlist(n)
        })
    }
}
