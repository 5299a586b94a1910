//! `bandsync discover`: the BandSync sessions on the LAN, over mDNS.

use crate::output::emit;
use bandsync_discovery::{Found, SessionAd};
use clap::Args;
use serde_json::json;
use std::time::{Duration, Instant};

/// Options of `bandsync discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many seconds.
    #[arg(long, value_name = "S", default_value_t = 3.0)]
    pub timeout: f64,
    /// Browse only on this interface (repeatable; `lo` for loopback). Default: all.
    #[arg(long = "mdns-iface", value_name = "NAME")]
    pub mdns_iface: Vec<String>,
}

/// Whether this build can join the session: a host that speaks an older protocol refuses its join
/// (`version_unsupported`, PROTOCOL §1.3). A newer host does not advertise the oldest version it
/// takes, so its join tells.
fn joinable(s: &SessionAd) -> bool {
    s.protocol >= bandsync_core::PROTOCOL_VERSION
}

/// How a session found reads on a terminal.
fn ad_line(s: &SessionAd) -> String {
    let update = if joinable(s) {
        String::new()
    } else {
        format!(
            "  (speaks protocol {}, this build {}: update the host to join)",
            s.protocol,
            bandsync_core::PROTOCOL_VERSION
        )
    };
    format!("{}  ({} members)  {:?}:{}  session {}{update}", s.name, s.members, s.addrs, s.port, s.session)
}

fn ad_json(event: &str, s: &SessionAd) -> serde_json::Value {
    let addr = s.addrs.first().map(|a| match a {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    });
    json!({
        "event": event,
        "name": s.name,
        "session": s.session,
        "addrs": s.addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "port": s.port,
        "protocol": s.protocol,
        "joinable": joinable(s),
        "members": s.members,
        "secret_required": s.secret_required,
        "fingerprint": s.fingerprint,
        // Without the secret: the PIN (or the QR code) completes it.
        "url": addr.map(|a| format!("http://{a}:{}/s/{}", s.port, s.session)),
    })
}

/// Browses until the timeout and prints what comes and goes.
///
/// # Errors
/// When mDNS cannot start.
pub fn run(a: &DiscoverArgs) -> anyhow::Result<u8> {
    let mut browser = bandsync_discovery::browse(&a.mdns_iface)?;
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(a.timeout.max(0.0));
    let mut seen = 0;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        let Some(found) = browser.next(left) else { break };
        match found {
            Found::Added(s) => {
                seen += 1;
                let mut v = ad_json("found", &s);
                v["after_ms"] = json!(start.elapsed().as_millis() as u64);
                emit(a.json, &v, || ad_line(&s));
            }
            Found::Updated(s) => {
                emit(a.json, &ad_json("updated", &s), || format!("{} now has {} members", s.name, s.members))
            }
            Found::Removed { name, session } => {
                emit(a.json, &json!({"event": "removed", "name": name, "session": session}), || {
                    format!("{name} is gone")
                });
            }
        }
    }
    browser.stop();
    if seen == 0 && !a.json {
        eprintln!("No BandSync sessions found.");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad(protocol: u16) -> SessionAd {
        SessionAd {
            name: "Gig".into(),
            session: "k7m2qx9pta".into(),
            addrs: vec![std::net::Ipv4Addr::new(192, 168, 1, 5).into()],
            port: 7878,
            protocol,
            members: 3,
            secret_required: true,
            fingerprint: "f".into(),
        }
    }

    #[test]
    fn a_host_older_than_this_build_is_shown_as_needing_an_update() {
        let (old, now) = (ad(bandsync_core::PROTOCOL_VERSION - 1), ad(bandsync_core::PROTOCOL_VERSION));
        assert_eq!(ad_json("found", &old)["joinable"], false);
        assert!(ad_line(&old).contains("update the host to join"), "{}", ad_line(&old));
        assert_eq!(ad_json("found", &now)["joinable"], true);
        assert!(!ad_line(&now).contains("update"), "{}", ad_line(&now));
    }
}
