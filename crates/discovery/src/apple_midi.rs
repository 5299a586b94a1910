//! The network MIDI session a member offers (`--midi-out rtp`), as Apple's devices look for one:
//! a Bonjour service `_apple-midi._udp` on the session's control port (its data port is the next
//! one). A Mac lists it in Audio MIDI Setup's Network window, and an iPad's MIDI apps list it,
//! so nobody types an address on stage.

use crate::{DiscoveryError, daemon, mdns, withdraw};
use mdns_sd::{ServiceDaemon, ServiceInfo};

/// The service type of Apple's network MIDI sessions.
pub const APPLE_MIDI: &str = "_apple-midi._udp.local.";

/// A network MIDI session on the LAN; withdrawn (a goodbye is sent) when dropped.
pub struct MidiAdvertisement {
    daemon: ServiceDaemon,
    fullname: String,
}

impl std::fmt::Debug for MidiAdvertisement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidiAdvertisement").field("fullname", &self.fullname).finish_non_exhaustive()
    }
}

/// Advertises the network MIDI session `name` whose control port is `port`, on `interfaces` (all
/// when empty).
///
/// # Errors
/// When the mDNS daemon cannot start or register.
pub fn advertise_midi(name: &str, port: u16, interfaces: &[String]) -> Result<MidiAdvertisement, DiscoveryError> {
    let daemon = daemon(interfaces)?;
    // A host name of its own: mDNS answers for it with this machine's addresses.
    let label: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let host = format!("bandsync-midi-{label}-{port}.local.");
    let info = ServiceInfo::new(APPLE_MIDI, name, &host, "", port, None::<std::collections::HashMap<String, String>>)
        .map_err(mdns)?
        .enable_addr_auto();
    let fullname = info.get_fullname().to_owned();
    daemon.register(info).map_err(mdns)?;
    Ok(MidiAdvertisement { daemon, fullname })
}

impl Drop for MidiAdvertisement {
    fn drop(&mut self) {
        withdraw(&self.daemon, &self.fullname);
    }
}
