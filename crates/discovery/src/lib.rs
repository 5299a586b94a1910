//! BandSync sessions on the LAN, over mDNS (`_bandsync._tcp.local.`), and a member's network MIDI
//! session as Apple's devices look for one ([`apple_midi`]).
//!
//! Discovery knows nothing about tempo or sessions beyond what the TXT record carries: the
//! protocol version, the session id, the member count, whether a secret is required, and a host
//! fingerprint. It never carries the secret.
//!
//! On the development machines mDNS must only run inside a network namespace (mdns-sd joins the
//! multicast group on every interface before an interface filter applies); the tests do so.

mod apple_midi;

pub use apple_midi::{APPLE_MIDI, MidiAdvertisement, advertise_midi};

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// The service type BandSync hosts advertise.
pub const SERVICE: &str = "_bandsync._tcp.local.";

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The mDNS daemon could not start or refused a request.
    #[error("mDNS: {0}")]
    Mdns(String),
}

fn mdns(e: impl std::fmt::Display) -> DiscoveryError {
    DiscoveryError::Mdns(e.to_string())
}

/// A session as it is advertised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAd {
    /// The session's name (the mDNS instance name).
    pub name: String,
    /// The session id.
    pub session: String,
    /// The host's addresses.
    pub addrs: Vec<IpAddr>,
    /// The host's port.
    pub port: u16,
    /// The protocol version the host speaks.
    pub protocol: u16,
    /// Participants.
    pub members: u32,
    /// Whether joining needs the secret (from the QR code or link) or the PIN.
    pub secret_required: bool,
    /// A fingerprint of the host, to tell two hosts of the same name apart.
    pub fingerprint: String,
}

/// Which network interfaces to use: all of them (empty), or these names (`lo` for loopback).
fn daemon(interfaces: &[String]) -> Result<ServiceDaemon, DiscoveryError> {
    let d = ServiceDaemon::new().map_err(mdns)?;
    if !interfaces.is_empty() {
        d.disable_interface(IfKind::All).map_err(mdns)?;
        for i in interfaces {
            if i == "lo" {
                d.enable_interface(IfKind::LoopbackV4).map_err(mdns)?;
            } else {
                d.enable_interface(i.as_str()).map_err(mdns)?;
            }
        }
    }
    Ok(d)
}

/// What to advertise.
#[derive(Debug, Clone)]
pub struct AdvertiseOptions {
    /// The session's name.
    pub name: String,
    /// The session id.
    pub session: String,
    /// The port the host listens on.
    pub port: u16,
    /// The protocol version.
    pub protocol: u16,
    /// Whether joining needs a secret.
    pub secret_required: bool,
    /// The host's fingerprint.
    pub fingerprint: String,
    /// Interfaces to advertise on; empty for all.
    pub interfaces: Vec<String>,
}

/// A running advertisement; unregistered (a "goodbye" is sent) when dropped.
pub struct Advertisement {
    daemon: ServiceDaemon,
    opts: AdvertiseOptions,
    fullname: String,
}

impl std::fmt::Debug for Advertisement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Advertisement").field("fullname", &self.fullname).finish_non_exhaustive()
    }
}

fn service(opts: &AdvertiseOptions, members: u32) -> Result<ServiceInfo, DiscoveryError> {
    let props = [
        ("v", opts.protocol.to_string()),
        ("session", opts.session.clone()),
        ("members", members.to_string()),
        ("secret", if opts.secret_required { "1" } else { "0" }.to_owned()),
        ("fp", opts.fingerprint.clone()),
    ];
    let host = format!("bandsync-{}.local.", opts.session);
    let info = ServiceInfo::new(SERVICE, &opts.name, &host, "", opts.port, &props[..]).map_err(mdns)?;
    Ok(info.enable_addr_auto())
}

/// Advertises a session.
///
/// # Errors
/// When the mDNS daemon cannot start or register.
pub fn advertise(opts: AdvertiseOptions) -> Result<Advertisement, DiscoveryError> {
    let daemon = daemon(&opts.interfaces)?;
    let info = service(&opts, 0)?;
    let fullname = info.get_fullname().to_owned();
    daemon.register(info).map_err(mdns)?;
    Ok(Advertisement { daemon, opts, fullname })
}

/// Withdraws an advertisement (a goodbye packet) and stops the daemon's thread.
fn withdraw(daemon: &ServiceDaemon, fullname: &str) {
    if let Ok(rx) = daemon.unregister(fullname) {
        let _ = rx.recv_timeout(Duration::from_secs(1));
    }
    let _ = daemon.shutdown();
}

impl Drop for Advertisement {
    /// Withdraws the advertisement (a goodbye packet) and stops the daemon's thread.
    fn drop(&mut self) {
        withdraw(&self.daemon, &self.fullname);
    }
}

impl Advertisement {
    /// Re-announces with a new member count.
    ///
    /// # Errors
    /// When the daemon refuses.
    pub fn set_members(&self, members: u32) -> Result<(), DiscoveryError> {
        self.daemon.register(service(&self.opts, members)?).map_err(mdns)
    }

    /// Withdraws the advertisement and waits briefly for the goodbye to go out.
    pub fn stop(self) {
        drop(self);
    }
}

/// What a browser saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A session appeared.
    Added(SessionAd),
    /// A known session's record changed (members, addresses).
    Updated(SessionAd),
    /// A session went away.
    Removed {
        /// Its name.
        name: String,
        /// Its session id, if it had been resolved.
        session: Option<String>,
    },
}

/// A running browse for BandSync sessions.
pub struct Browser {
    daemon: ServiceDaemon,
    rx: mdns_sd::Receiver<ServiceEvent>,
    known: HashMap<String, SessionAd>,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").field("known", &self.known.len()).finish_non_exhaustive()
    }
}

/// Starts browsing.
///
/// # Errors
/// When the mDNS daemon cannot start.
pub fn browse(interfaces: &[String]) -> Result<Browser, DiscoveryError> {
    let daemon = daemon(interfaces)?;
    let rx = daemon.browse(SERVICE).map_err(mdns)?;
    Ok(Browser { daemon, rx, known: HashMap::new() })
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.daemon.stop_browse(SERVICE);
        let _ = self.daemon.shutdown();
    }
}

impl Browser {
    /// The next change, waiting at most `timeout`; `None` on timeout.
    pub fn next(&mut self, timeout: Duration) -> Option<Found> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            let ev = self.rx.recv_timeout(left).ok()?;
            match ev {
                ServiceEvent::ServiceResolved(s) => {
                    let txt = |k: &str| s.get_property_val_str(k).unwrap_or_default().to_owned();
                    let mut addrs: Vec<IpAddr> = s.get_addresses().iter().map(|a| a.to_ip_addr()).collect();
                    // IPv4 first: a link-local IPv6 address alone is of little use to a phone.
                    addrs.sort_by_key(|a| (a.is_ipv6(), *a));
                    let ad = SessionAd {
                        name: instance_name(s.get_fullname()),
                        session: txt("session"),
                        addrs,
                        port: s.get_port(),
                        protocol: txt("v").parse().unwrap_or(0),
                        members: txt("members").parse().unwrap_or(0),
                        secret_required: txt("secret") == "1",
                        fingerprint: txt("fp"),
                    };
                    let key = s.get_fullname().to_owned();
                    match self.known.insert(key, ad.clone()) {
                        None => return Some(Found::Added(ad)),
                        Some(old) if old != ad => return Some(Found::Updated(ad)),
                        Some(_) => {}
                    }
                }
                ServiceEvent::ServiceRemoved(_, fullname) => {
                    let session = self.known.remove(&fullname).map(|a| a.session);
                    return Some(Found::Removed { name: instance_name(&fullname), session });
                }
                _ => {}
            }
        }
    }

    /// Stops browsing.
    pub fn stop(self) {
        drop(self);
    }
}

fn instance_name(fullname: &str) -> String {
    fullname.strip_suffix(&format!(".{SERVICE}")).unwrap_or(fullname).to_owned()
}
