//! MIDI targets as a user writes them (`jack:CLIENT:PORT`, `rtp:HOST:PORT`, `port:NAME`,
//! `virtual:NAME`), read without looking anything up, and the network MIDI peer they invite.

use crate::MidiError;
#[cfg(feature = "system")]
use crate::port;

/// The port Apple's network MIDI uses by default (control; data is 5005).
pub const DEFAULT_PORT: u16 = 5004;

/// What a target names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Jack(Option<String>),
    Rtp {
        listen: u16,
        invite: Option<Invite>,
    },
    /// A system port by name, or a virtual port of ours (`None`: named after the client).
    Port {
        name: Option<String>,
        virtual_port: bool,
    },
}

/// The network MIDI session a target invites: an address, or a name looked up where waiting is
/// harmless (never on the caller's thread: a session's task, an async runtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invite {
    Addr(std::net::SocketAddr),
    Name { host: String, port: u16 },
}

impl Invite {
    /// Whether the peer is this machine: a loopback address, or `localhost`.
    pub(crate) fn is_loopback(&self) -> bool {
        match self {
            Invite::Addr(a) => a.ip().is_loopback(),
            Invite::Name { host, .. } => {
                host.eq_ignore_ascii_case("localhost")
                    || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
        }
    }

    /// The address to invite: a name's first IPv4 address (the session's sockets are IPv4). Blocks
    /// while the system resolves a name.
    pub(crate) fn resolve(&self) -> Result<std::net::SocketAddr, MidiError> {
        use std::net::ToSocketAddrs;
        match self {
            Invite::Addr(a) => Ok(*a),
            Invite::Name { host, port } => (host.as_str(), *port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut all| all.find(std::net::SocketAddr::is_ipv4))
                .ok_or_else(|| MidiError::Backend(format!("the network MIDI peer {host} has no IPv4 address"))),
        }
    }
}

/// A target as written: its syntax only (no name is looked up here).
pub(crate) fn parse_target(t: &str) -> Result<Target, MidiError> {
    let bad = || MidiError::Target(t.to_owned());
    match t.split_once(':') {
        None if t == "jack" => Ok(Target::Jack(None)),
        None if t == "rtp" => Ok(Target::Rtp { listen: DEFAULT_PORT, invite: None }),
        None if t == "virtual" => Ok(Target::Port { name: None, virtual_port: true }),
        Some(("jack", port)) if port.contains(':') => Ok(Target::Jack(Some(port.to_owned()))),
        Some(("jack", _)) => Err(bad()),
        Some(("rtp", rest)) => {
            let invite = match (rest.parse::<u16>(), rest.parse(), rest.rsplit_once(':')) {
                (Ok(p), _, _) => return Ok(Target::Rtp { listen: p, invite: None }),
                (_, Ok(a), _) => Invite::Addr(a),
                (_, _, Some((host, port))) if !host.trim().is_empty() && !host.contains(':') => {
                    Invite::Name { host: host.trim().to_owned(), port: port.parse().map_err(|_| bad())? }
                }
                _ => return Err(bad()),
            };
            Ok(Target::Rtp { listen: 0, invite: Some(invite) })
        }
        Some(("virtual", name)) if !name.trim().is_empty() => {
            Ok(Target::Port { name: Some(name.trim().to_owned()), virtual_port: true })
        }
        Some(("port", name)) if !name.trim().is_empty() => {
            Ok(Target::Port { name: Some(name.trim().to_owned()), virtual_port: false })
        }
        Some(("port" | "virtual", _)) => Err(bad()),
        // Anything else names a system port ("FCB1010", "IAC Driver Bus 1").
        _ if !t.trim().is_empty() => Ok(Target::Port { name: Some(t.trim().to_owned()), virtual_port: false }),
        _ => Err(bad()),
    }
}

/// Whether `target` reads as a MIDI target (it may still fail to open). Looks nothing up: fit for
/// any thread.
///
/// # Errors
/// [`MidiError::Target`], saying what targets look like.
pub fn check_target(target: &str) -> Result<(), MidiError> {
    parse_target(target).map(drop)
}

/// [`check_target`], and the network MIDI session that `rtp:HOST:PORT` invites has an address.
/// Blocks while the system resolves the name: call it where waiting is harmless (a blocking
/// pool, before a session starts); [`MidiOut::start`] looks the name up on its own thread.
///
/// # Errors
/// As [`check_target`], or [`MidiError::Backend`] for a name without an IPv4 address.
pub fn check_reachable(target: &str) -> Result<(), MidiError> {
    match parse_target(target)? {
        Target::Rtp { invite: Some(invite), .. } => invite.resolve().map(drop),
        _ => Ok(()),
    }
}

/// The system port a [`Target::Port`] names, a virtual one named `client` if it names none.
#[cfg(feature = "system")]
pub(crate) fn which(name: Option<String>, virtual_port: bool, client: &str) -> port::Which {
    match (name, virtual_port) {
        (Some(n), false) => port::Which::Named(n),
        (n, _) => port::Which::Virtual(n.unwrap_or_else(|| client.to_owned())),
    }
}

/// Where this build has no backend for a target.
#[cfg(not(all(feature = "jack", feature = "system")))]
pub(crate) fn missing(what: &str) -> MidiError {
    MidiError::Backend(format!("this build has no {what} support"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_as_documented() {
        assert_eq!(parse_target("jack").unwrap(), Target::Jack(None));
        assert_eq!(parse_target("jack:rec:in").unwrap(), Target::Jack(Some("rec:in".into())));
        assert_eq!(parse_target("rtp").unwrap(), Target::Rtp { listen: 5004, invite: None });
        assert_eq!(parse_target("rtp:6000").unwrap(), Target::Rtp { listen: 6000, invite: None });
        assert_eq!(
            parse_target("rtp:127.0.0.1:5051").unwrap(),
            Target::Rtp { listen: 0, invite: Some(Invite::Addr("127.0.0.1:5051".parse().unwrap())) }
        );
        // A name is kept as written, not looked up (that waits on the system's resolver).
        assert_eq!(
            parse_target("rtp:studio-mac.local:5004").unwrap(),
            Target::Rtp { listen: 0, invite: Some(Invite::Name { host: "studio-mac.local".into(), port: 5004 }) }
        );
        assert_eq!(check_reachable("rtp:localhost:5004").map_err(|e| e.to_string()), Ok(()), "in /etc/hosts");
        assert_eq!(
            Invite::Name { host: "localhost".into(), port: 9 }.resolve().unwrap(),
            "127.0.0.1:9".parse().unwrap()
        );
        let port = |n: &str, v| Target::Port { name: Some(n.into()), virtual_port: v };
        assert_eq!(parse_target("port:FCB1010").unwrap(), port("FCB1010", false));
        assert_eq!(parse_target("IAC Driver Bus 1").unwrap(), port("IAC Driver Bus 1", false), "a bare name");
        assert_eq!(parse_target("virtual").unwrap(), Target::Port { name: None, virtual_port: true });
        assert_eq!(parse_target("virtual:Click").unwrap(), port("Click", true));
        for bad in
            ["", "jack:x", "rtp:", "rtp:nowhere.invalid:x", "rtp::5004", "rtp:nowhere.invalid", "port:", "virtual: "]
        {
            assert!(parse_target(bad).unwrap_err().to_string().contains("port:NAME"), "{bad}");
        }
    }
}
