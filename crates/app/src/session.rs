//! One session, hosted or joined: a task that owns the [`Client`], turns its events into
//! [`AppEvent`]s, drives the beat (audible or visual: [`crate::beat_source`]), and for a hosted
//! session keeps the embedded server and its mDNS advertisement until the session ends.
//!
//! The [`crate::App`] talks to the task through [`RunningSession`]; nothing else touches the
//! client, so commands, events and teardown happen in one order.

use crate::Sink;
use crate::beat_source::BeatSource;
use crate::events::{AppEvent, AudioSettings, AudioStatus, BeatEvent, ClockReading, ConnectionState};
use crate::hosting::Hosting;
use crate::link::SessionLink;
use crate::metronome::AudioReport;
use crate::midi::{MidiNote, MidiSettings, MidiStatus, SessionMidi};
use bandsync_client::{Client, ClientOptions, ClockView, Event};
use bandsync_core::protocol::Secret;
use bandsync_core::{ClientMsg, Micros, ServerMsg};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How often the visual beat looks ahead.
const VISUAL_TICK: Duration = Duration::from_millis(25);
/// How often a host re-announces its member count over mDNS when it changed.
const MEMBERS_TICK: Duration = Duration::from_secs(2);

/// What the app asks of a running session.
#[derive(Debug)]
pub(crate) enum SessionCmd {
    Send(ClientMsg),
    Doc(Vec<u8>),
    /// New audio settings, and a word once they are in force (an output turned off is closed).
    Audio(AudioSettings, Option<oneshot::Sender<()>>),
    Link(bool),
    Midi(MidiSettings),
    Leave(oneshot::Sender<()>),
}

/// The app's end of a running session.
#[derive(Debug)]
pub(crate) struct RunningSession {
    pub(crate) cmd: mpsc::UnboundedSender<SessionCmd>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl RunningSession {
    /// Whether the session still runs (it ends by itself when refused or lost).
    pub(crate) fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Leaves and waits until the session has torn down (the server, if hosted, is stopped).
    pub(crate) async fn leave(self) {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(SessionCmd::Leave(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// How the first join went, for the command that started the session.
pub(crate) type Ready = oneshot::Sender<Result<(), String>>;

/// The app's settings a session starts with.
pub(crate) struct Settings {
    pub(crate) audio: AudioSettings,
    /// Ableton Link on.
    pub(crate) link: bool,
    pub(crate) midi: MidiSettings,
    /// Interfaces to advertise a network MIDI session on (all when empty); `None`: mDNS off.
    pub(crate) mdns: Option<Vec<String>>,
}

/// Starts the session task. Must be called inside a tokio runtime.
pub(crate) fn spawn(
    mut opts: ClientOptions,
    sink: Arc<dyn Sink<AppEvent>>,
    settings: Settings,
    hosting: Option<Hosting>,
    ready: Ready,
) -> RunningSession {
    let Settings { audio, link, midi, mdns } = settings;
    // The UI mirrors the session from the raw messages (the one owner of that state); this task
    // adds only what Rust alone knows: the connection, the clock, the beat, the audio output.
    opts.member.forward_server_messages = true;
    let detail = format!("connecting to {}", opts.member.target.ws_url);
    let name = opts.member.name.clone();
    let client = Client::spawn(opts);
    let clock = client.clock_view();
    let (cmd, cmds) = mpsc::unbounded_channel();
    sink.send(AppEvent::Connection { state: ConnectionState::Connecting, detail, code: None });
    let beats = BeatSource::new(audio, &clock);
    if beats.status.error.is_some() {
        sink.send(AppEvent::Audio { audio: beats.status.clone() });
    }
    let mut driver = SessionTask {
        client,
        clock,
        sink,
        hosting,
        beats,
        link: SessionLink::default(),
        midi: SessionMidi::default(),
        midi_settings: MidiSettings::default(),
        name,
        mdns,
        ready: Some(ready),
        last_reason: String::new(),
        output_shown: false,
        leaving: Vec::new(),
    };
    if link {
        driver.link.set(true, &driver.client, &driver.sink);
    }
    if midi != MidiSettings::default() {
        driver.set_midi(&midi);
    }
    let task = tokio::spawn(driver.run(cmds));
    RunningSession { cmd, task }
}

/// Host time now through the clock estimate, once it has synced.
fn host_now(clock: &ClockView) -> Option<Micros> {
    clock.host_micros_now_on().map(|(h, _)| h)
}

struct SessionTask {
    client: Client,
    clock: ClockView,
    sink: Arc<dyn Sink<AppEvent>>,
    hosting: Option<Hosting>,
    beats: BeatSource,
    /// Ableton Link, when the setting is on.
    link: SessionLink,
    /// MIDI out and pedals, as the settings ask.
    midi: SessionMidi,
    /// The MIDI settings last applied.
    midi_settings: MidiSettings,
    /// This member's name (MIDI ports are named after it).
    name: String,
    /// Where to advertise a network MIDI session (`None`: mDNS is off).
    mdns: Option<Vec<String>>,
    ready: Option<Ready>,
    /// Why the connection last dropped, for a join that never got in.
    last_reason: String,
    /// Whether the band was last sent this member's output figures (cleared when it stops).
    output_shown: bool,
    leaving: Vec<oneshot::Sender<()>>,
}

/// Whether the session goes on.
#[derive(PartialEq, Eq)]
enum Going {
    Continue,
    End,
}

impl SessionTask {
    async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<SessionCmd>) {
        let mut tick = tokio::time::interval(VISUAL_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut members = tokio::time::interval(MEMBERS_TICK);
        members.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cmds_open = true;
        loop {
            tokio::select! {
                ev = self.client.next_event() => match ev {
                    None => break,
                    Some(ev) => if self.on_event(ev) == Going::End { break },
                },
                c = cmds.recv(), if cmds_open => match c {
                    Some(c) => self.on_cmd(c),
                    // The app is gone: leave, and end once the server has seen it.
                    None => {
                        cmds_open = false;
                        self.client.leave();
                    }
                },
                Some(r) = self.beats.reports.recv() => self.on_audio(r),
                (at, bytes) = self.midi.next_pedal() => {
                    let link = &self.link;
                    if let Some(n) = self.midi.on_pedal(&self.client, at, &bytes, |m| link.outgoing(m)) {
                        self.midi_note(n);
                    }
                }
                _ = tick.tick() => {
                    self.beats.tick(&self.clock, &*self.sink);
                    self.output_gone();
                }
                _ = members.tick(), if self.hosting.as_ref().is_some_and(|h| h.ad.is_some()) => self.advertise_members(),
            }
        }
        self.beats.stop();
        if let Some(h) = self.hosting.take() {
            h.stop().await;
        }
        if let Some(r) = self.ready.take() {
            let _ = r.send(Err(self.last_reason.clone()));
        }
        for l in self.leaving.drain(..) {
            let _ = l.send(());
        }
    }

    fn emit(&self, ev: AppEvent) {
        self.sink.send(ev);
    }

    fn connection(&self, state: ConnectionState, detail: impl Into<String>) {
        self.emit(AppEvent::Connection { state, detail: detail.into(), code: None });
    }

    fn on_cmd(&mut self, c: SessionCmd) {
        match c {
            SessionCmd::Send(m) => self.client.send(self.link.outgoing(m)),
            SessionCmd::Doc(b) => {
                if let Some(n) = self.midi.on_local_doc(&b) {
                    self.midi_note(n);
                }
                self.client.send_doc(b);
            }
            SessionCmd::Audio(s, applied) => {
                self.beats.apply(s, &self.clock, &*self.sink);
                self.output_gone();
                applied.map(|done| done.send(()));
            }
            SessionCmd::Link(on) => self.link.set(on, &self.client, &self.sink),
            SessionCmd::Midi(s) => self.set_midi(&s),
            SessionCmd::Leave(done) => {
                self.leaving.push(done);
                self.client.leave();
            }
        }
    }

    fn on_event(&mut self, ev: Event) -> Going {
        self.link.on_event(&self.client, &ev);
        if let Some(n) = self.midi.on_event(&self.client, &ev) {
            self.midi_note(n);
        }
        match ev {
            Event::Server { msg } => self.emit(AppEvent::Server { msg }),
            // The member's own errors (a message sent while disconnected); the server's come as
            // `Server`.
            Event::Error { code, message, about } => {
                self.emit(AppEvent::Server { msg: ServerMsg::Error { code, message, about } });
            }
            Event::Credentials { secret, pin, .. } => self.credentials(&secret, pin.as_ref()),
            Event::Joined { you, name, resumed, .. } => {
                let how = if resumed { "rejoined" } else { "joined" };
                self.connection(ConnectionState::Online, format!("{how} \"{name}\" as participant {you}"));
                if let Some(r) = self.ready.take() {
                    let _ = r.send(Ok(()));
                }
            }
            Event::Transport { transport, axis, .. } => self.beats.set_transport(transport, axis),
            Event::Disconnected { reason } => {
                self.connection(ConnectionState::Lost, reason.clone());
                self.last_reason = reason;
            }
            Event::Reconnecting { attempt, delay } => {
                let ms = delay.0 / 1000;
                self.connection(ConnectionState::Connecting, format!("reconnecting in {ms} ms (attempt {attempt})"));
            }
            Event::Refused { code, message } => {
                self.emit(AppEvent::Connection {
                    state: ConnectionState::Refused,
                    detail: message.clone(),
                    code: Some(code),
                });
                self.last_reason = message;
                return Going::End;
            }
            Event::Lost { reason } => {
                self.connection(ConnectionState::Refused, format!("gave up reconnecting: {reason}"));
                self.last_reason = reason;
                return Going::End;
            }
            Event::Left => {
                self.connection(ConnectionState::Left, "left the session");
                return Going::End;
            }
            Event::Replaced => {
                self.connection(ConnectionState::Left, "this session was opened in another window");
                return Going::End;
            }
            Event::Clock { status } => {
                self.emit(AppEvent::Clock {
                    clock: ClockReading { clock: status, host_now_us: self.client.host_now() },
                });
            }
            Event::Doc { bytes } => self.emit(AppEvent::Doc { data: bytes }),
            // Carried by `Server` (the raw message) already.
            Event::Participants { .. } | Event::Cue { .. } => {}
        }
        Going::Continue
    }

    /// Opens MIDI as `settings` ask (what was open closes first: a port is not opened twice), and
    /// tells the UI what came of it.
    fn set_midi(&mut self, settings: &MidiSettings) {
        // A new pedal map or offset alone is taken in place: the gear plays on, and a network MIDI
        // session keeps its peers.
        let same_ports =
            MidiSettings { map: settings.map.clone(), offset_ms: settings.offset_ms, ..self.midi_settings.clone() }
                == *settings;
        if same_ports
            && self.midi.is_open()
            && self.midi.set_map(&settings.map).is_ok()
            && self.midi.set_offset(settings.offset_ms).is_ok()
        {
            self.midi_settings = settings.clone();
            self.emit(AppEvent::Midi { midi: self.midi.status() });
            return;
        }
        self.midi_settings = settings.clone();
        self.midi = SessionMidi::default();
        let status = if settings.out.is_none() && settings.input.is_none() {
            MidiStatus::default()
        } else {
            match SessionMidi::start(settings, &self.name, &self.client, self.mdns.as_deref()) {
                Ok((midi, _)) => {
                    self.midi = midi;
                    self.midi.status()
                }
                Err(e) => MidiStatus { error: Some(e), ..MidiStatus::default() },
            }
        };
        self.emit(AppEvent::Midi { midi: status });
    }

    /// What a pedal did, for the UI (the replica's count of songs is MIDI's own business).
    fn midi_note(&self, n: MidiNote) {
        match n {
            MidiNote::Action(a) => self.emit(AppEvent::Pedal { action: Some(a.to_owned()), refused: None }),
            MidiNote::Refused(why) => self.emit(AppEvent::Pedal { action: None, refused: Some(why) }),
            // Found after the ports opened: the status says it.
            MidiNote::Problem(_) => self.emit(AppEvent::Midi { midi: self.midi.status() }),
            MidiNote::Port { .. } | MidiNote::Advertised { .. } | MidiNote::Setlist(_) => {}
        }
    }

    /// The leader's credentials changed: a hosted session's links and QR code follow.
    fn credentials(&mut self, secret: &Secret, pin: Option<&Secret>) {
        let Some(h) = self.hosting.as_mut() else { return };
        let info = h.info_for(secret, pin);
        if info != h.info {
            h.info = info.clone();
            self.sink.send(AppEvent::Host { host: info });
        }
    }

    fn advertise_members(&mut self) {
        let Some(h) = self.hosting.as_mut() else { return };
        let n = h.session.info().members;
        if let Some(ad) = h.ad.as_ref().filter(|_| n != h.advertised_members) {
            h.advertised_members = n;
            if let Err(e) = ad.set_members(n) {
                tracing::debug!(error = %e, "could not re-announce the member count");
            }
        }
    }

    fn on_audio(&mut self, r: AudioReport) {
        match r {
            AudioReport::Beat(b) => {
                let beat = BeatEvent::from_click(&b.click, host_now(&self.clock), true);
                self.emit(AppEvent::Beat { beat });
            }
            AudioReport::Info(i) => {
                let status = AudioStatus {
                    active: true,
                    device: Some(i.device),
                    sample_rate: i.sample_rate,
                    buffer_frames: i.buffer_frames,
                    output_latency_ms: i.output_latency_ms,
                    underruns: i.underruns,
                    error: None,
                };
                self.beats.status = status.clone();
                self.beats.failing_since = None;
                self.emit(AppEvent::Audio { audio: status });
            }
            AudioReport::Output(o) => {
                self.client.set_output(Some(o));
                self.output_shown = true;
            }
            AudioReport::Error(e) => self.beats.audio_failed(e, &*self.sink),
        }
    }

    /// Once no output plays (audio turned off, or given up), the band stops seeing its figures.
    fn output_gone(&mut self) {
        if self.output_shown && !self.beats.has_audio() {
            self.client.set_output(None);
            self.output_shown = false;
        }
    }
}
