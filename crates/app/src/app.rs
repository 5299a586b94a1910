//! [`App`]: what the UI's commands do. One session at a time (hosted or joined), LAN discovery,
//! and the audio settings that every session uses. The Tauri shell keeps one `App` in its
//! managed state and delegates each command to one method here. Its options are in
//! `options.rs` (re-exported here); reading a join target is in `target.rs`; the audio settings
//! (each output device with its own latency figure) are in `app/audio.rs`, the output's
//! calibration in `app/calibrate.rs`.

use crate::Sink;
use crate::browse::Browse;
use crate::error::AppError;
use crate::events::{AppEvent, AudioSettings, DiscoveryEvent, HostInfo};
use crate::hosting::Hosting;
use crate::lan;
use crate::session::{self, RunningSession, SessionCmd};
use crate::target::{redact, resolve_target};
use bandsync_client::{ClientOptions, JoinTarget};
use bandsync_core::ClientMsg;
use bandsync_core::protocol::Secret;
use bandsync_server::{RunningServer, ServerConfig};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub use crate::options::{AppOptions, DEFAULT_PORT, mdns_disabled_by_env};

mod audio;
mod calibrate;

/// The app's state behind its commands. Every method is safe to call from any task.
pub struct App {
    opts: AppOptions,
    session: tokio::sync::Mutex<Option<RunningSession>>,
    audio: Mutex<AudioSettings>,
    /// Held through each `set_audio` (one at a time), and whether one has run (`app/audio.rs`).
    audio_set: tokio::sync::Mutex<bool>,
    /// Whether sessions join Ableton Link (the setting; `set_link`).
    link: AtomicBool,
    /// MIDI out and pedals for every session (the setting; `set_midi`).
    midi: Mutex<crate::MidiSettings>,
    browse: Mutex<Option<Browse>>,
    /// Whether a calibration holds the output (`calibrate`): sessions keep theirs closed.
    calibrating: AtomicBool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("opts", &self.opts).finish_non_exhaustive()
    }
}

impl App {
    /// An app with no session.
    #[must_use]
    pub fn new(opts: AppOptions) -> Self {
        App {
            opts,
            session: tokio::sync::Mutex::new(None),
            audio: Mutex::new(AudioSettings::default()),
            audio_set: tokio::sync::Mutex::new(false),
            link: AtomicBool::new(false),
            midi: Mutex::new(crate::MidiSettings::default()),
            browse: Mutex::new(None),
            calibrating: AtomicBool::new(false),
        }
    }

    /// Hosts a session: starts the embedded server, creates the session, advertises it over
    /// mDNS (unless off), and joins it as leader. Events flow to `sink` until the session ends.
    ///
    /// # Errors
    /// [`AppError::Busy`] while another session runs; [`AppError::Host`] when the server cannot
    /// bind or the name is not acceptable (1 to 60 characters); [`AppError::Refused`] when the
    /// own join is refused (a `your_name` that is empty or too long).
    pub async fn host_session(
        &self,
        name: &str,
        your_name: &str,
        instrument: Option<String>,
        sink: Arc<dyn Sink<AppEvent>>,
    ) -> Result<HostInfo, AppError> {
        let mut slot = self.session.lock().await;
        if slot.as_ref().is_some_and(RunningSession::is_running) {
            return Err(AppError::Busy);
        }
        let cfg = ServerConfig { ui: self.opts.ui.clone(), ..ServerConfig::default() };
        let server = match RunningServer::start(self.opts.bind, cfg.clone()).await {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::info!(port = self.opts.bind.port(), "port taken; hosting on an ephemeral port");
                RunningServer::start(SocketAddr::new(self.opts.bind.ip(), 0), cfg)
                    .await
                    .map_err(|e| AppError::Host(format!("cannot listen on {}: {e}", self.opts.bind.ip())))?
            }
            Err(e) => return Err(AppError::Host(format!("cannot listen on {}: {e}", self.opts.bind))),
        };
        let session = match server.hub.create_session(name) {
            Ok(s) => s,
            Err(e) => {
                let _ = server.shutdown().await;
                return Err(AppError::Host(e.to_string()));
            }
        };
        let id = session.info().id;
        let secret = session.first_secret().clone();
        let port = server.addr.port();
        let (ad, mdns_error) = if self.opts.mdns {
            let opts = bandsync_discovery::AdvertiseOptions {
                name: session.info().name,
                session: id.clone(),
                port,
                protocol: bandsync_core::PROTOCOL_VERSION,
                secret_required: true,
                fingerprint: format!("{:016x}", server.hub.clock().epoch()),
                interfaces: self.opts.mdns_interfaces.clone(),
            };
            match tokio::task::spawn_blocking(move || bandsync_discovery::advertise(opts)).await {
                Ok(Ok(ad)) => (Some(ad), None),
                Ok(Err(e)) => (None, Some(e.to_string())),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, None)
        };
        let ips = lan::advertised_ips(server.addr.ip());
        let mut hosting = Hosting {
            info: HostInfo {
                session: id.clone(),
                name: session.info().name,
                link: String::new(),
                links: Vec::new(),
                qr_svg: String::new(),
                port,
                pin: None,
                mdns: ad.is_some(),
                mdns_error,
            },
            server,
            session,
            ad,
            ips,
            advertised_members: 0,
        };
        hosting.info = hosting.info_for(&secret, None);
        let info = hosting.info.clone();
        // The host's own member connects over loopback (or the one address it is bound to).
        let local = match hosting.server.addr.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let own = format!("http://{}/s/{id}#k={}", SocketAddr::new(local, port), secret.expose());
        let target = JoinTarget::parse(&own).map_err(|e| AppError::Host(e.to_string()))?;
        let mut opts = ClientOptions::new(target, your_name);
        opts.member.instrument = instrument;
        opts.member.leader = true;
        let (handle, ready) = self.start(opts, sink, Some(hosting));
        match self.await_ready(handle, ready, &own).await {
            Ok(h) => {
                *slot = Some(h);
                Ok(info)
            }
            Err(e) => Err(e),
        }
    }

    /// Joins a session by its join link, or by `HOST:PORT` (the host's only session) with a PIN.
    /// Returns once joined; events flow to `sink` until the session ends.
    ///
    /// # Errors
    /// [`AppError::Busy`] while another session runs, [`AppError::Target`] for a target that is
    /// neither, [`AppError::Refused`] when the session refuses (wrong link or PIN, full, ...),
    /// [`AppError::Unreachable`] when nothing answers within the join timeout.
    pub async fn join_session(
        &self,
        target: &str,
        your_name: &str,
        instrument: Option<String>,
        pin: Option<String>,
        sink: Arc<dyn Sink<AppEvent>>,
    ) -> Result<(), AppError> {
        let mut slot = self.session.lock().await;
        if slot.as_ref().is_some_and(RunningSession::is_running) {
            return Err(AppError::Busy);
        }
        let parsed = resolve_target(target, self.opts.join_timeout).await?;
        let mut opts = ClientOptions::new(parsed, your_name);
        opts.member.instrument = instrument.filter(|i| !i.trim().is_empty());
        opts.member.pin = pin.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).map(Secret);
        let (handle, ready) = self.start(opts, sink, None);
        *slot = Some(self.await_ready(handle, ready, target).await?);
        Ok(())
    }

    fn start(
        &self,
        opts: ClientOptions,
        sink: Arc<dyn Sink<AppEvent>>,
        hosting: Option<Hosting>,
    ) -> (RunningSession, tokio::sync::oneshot::Receiver<Result<(), String>>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let settings = session::Settings {
            audio: self.session_audio(),
            link: self.link.load(Ordering::Acquire),
            midi: self.midi_settings(),
            mdns: self.opts.mdns.then(|| self.opts.mdns_interfaces.clone()),
        };
        (session::spawn(opts, sink, settings, hosting, tx), rx)
    }

    async fn await_ready(
        &self,
        handle: RunningSession,
        mut ready: tokio::sync::oneshot::Receiver<Result<(), String>>,
        target: &str,
    ) -> Result<RunningSession, AppError> {
        match tokio::time::timeout(self.opts.join_timeout, &mut ready).await {
            Ok(Ok(Ok(()))) => Ok(handle),
            Ok(Ok(Err(why))) => {
                handle.leave().await;
                Err(AppError::Refused(why))
            }
            Ok(Err(_)) => {
                handle.leave().await;
                Err(AppError::Refused("the session ended while joining".into()))
            }
            Err(_) => {
                handle.leave().await;
                // The session task says why the connection kept failing as it ends.
                let reason = match ready.await {
                    Ok(Err(why)) if !why.is_empty() => why,
                    _ => format!("no answer in {} s", self.opts.join_timeout.as_secs()),
                };
                Err(AppError::Unreachable { target: redact(target), reason })
            }
        }
    }

    /// Leaves the session (a hosted one's server stops, closing everyone's connection). A no-op
    /// when there is none.
    ///
    /// # Errors
    /// None today; the signature leaves room.
    pub async fn leave_session(&self) -> Result<(), AppError> {
        let handle = self.session.lock().await.take();
        if let Some(h) = handle {
            h.leave().await;
        }
        Ok(())
    }

    /// Sends a control message to the session.
    ///
    /// # Errors
    /// [`AppError::NotInSession`] when there is no running session. What the server refuses
    /// arrives as an `error` server event.
    pub async fn send_msg(&self, msg: ClientMsg) -> Result<(), AppError> {
        self.command(SessionCmd::Send(msg)).await
    }

    /// Sends one y-sync frame for the session's documents.
    ///
    /// # Errors
    /// [`AppError::NotInSession`] when there is no running session.
    pub async fn send_doc(&self, data: Vec<u8>) -> Result<(), AppError> {
        self.command(SessionCmd::Doc(data)).await
    }

    async fn command(&self, c: SessionCmd) -> Result<(), AppError> {
        let slot = self.session.lock().await;
        match slot.as_ref().filter(|h| h.is_running()) {
            Some(h) => h.cmd.send(c).map_err(|_| AppError::NotInSession),
            None => Err(AppError::NotInSession),
        }
    }

    /// Browses the LAN for sessions; events flow to `sink` until the app quits, `sink` refuses
    /// one, or `discover` is called again (which replaces this browse).
    ///
    /// # Errors
    /// [`AppError::MdnsOff`] when mDNS is turned off, [`AppError::Mdns`] when it cannot start.
    pub fn discover(&self, sink: Arc<dyn Sink<DiscoveryEvent>>) -> Result<(), AppError> {
        if !self.opts.mdns {
            return Err(AppError::MdnsOff);
        }
        let mut slot = self.browse.lock().expect("browse lock");
        // The old browse stops before the new one starts.
        drop(slot.take());
        *slot = Some(Browse::start(&self.opts.mdns_interfaces, sink)?);
        Ok(())
    }

    /// Turns Ableton Link on or off, now and for later sessions. The running session says what
    /// came of it with an [`AppEvent::Link`].
    ///
    /// # Errors
    /// [`AppError::Settings`] for "on" in a build without Link (the Link library is GPL, so it
    /// is the opt-in `link` feature).
    pub async fn set_link(&self, on: bool) -> Result<(), AppError> {
        if on && !crate::link::AVAILABLE {
            return Err(AppError::Settings(
                "this build has no Ableton Link: the Link library is GPL-2.0-or-later, so it is an opt-in \
                 feature; build the app with `--features link`"
                    .into(),
            ));
        }
        self.link.store(on, Ordering::Release);
        let _ = self.command(SessionCmd::Link(on)).await;
        Ok(())
    }

    /// Sets MIDI out and pedals, now and for later sessions. The running session opens the ports
    /// and says what came of it with an [`AppEvent::Midi`] (a port that cannot be opened is an
    /// error there, not here: it may come later).
    ///
    /// # Errors
    /// [`AppError::Settings`] for settings that can never work (a target or map that does not
    /// read, a network MIDI peer's name without an address).
    pub async fn set_midi(&self, settings: crate::MidiSettings) -> Result<(), AppError> {
        // A name is looked up on the blocking pool: a slow resolver must not hold this runtime.
        let asked = settings.clone();
        tokio::task::spawn_blocking(move || asked.check_reachable())
            .await
            .unwrap_or_else(|e| Err(format!("the MIDI check stopped: {e}")))
            .map_err(AppError::Settings)?;
        *self.midi.lock().expect("midi settings lock") = settings.clone();
        let _ = self.command(SessionCmd::Midi(settings)).await;
        Ok(())
    }

    /// The MIDI settings in force.
    #[must_use]
    pub fn midi_settings(&self) -> crate::MidiSettings {
        self.midi.lock().expect("midi settings lock").clone()
    }

    /// The system's MIDI ports, to choose from.
    #[must_use]
    pub fn midi_ports(&self) -> crate::MidiPorts {
        crate::midi::ports()
    }

    /// Link as the setting has it (a running session's [`AppEvent::Link`] adds its peers).
    #[must_use]
    pub fn link_status(&self) -> crate::LinkStatus {
        let on = self.link.load(Ordering::Acquire);
        crate::LinkStatus { available: crate::link::AVAILABLE, on, peers: 0 }
    }
}
