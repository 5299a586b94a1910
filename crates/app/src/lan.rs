//! The host's join links: one per usable LAN address, and the QR code of the first.
//!
//! A join link is `http://IP:PORT/s/SESSION#k=SECRET`. The secret rides in the fragment, which
//! browsers never send to a server, so it never reaches an HTTP log; the host's other addresses
//! ride along as `&a=IP:PORT,...` so that a member can race them all.

use bandsync_core::protocol::Secret;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The addresses to put in join links: the bound one, or for a wildcard bind every usable LAN
/// address, IPv4 first (loopback when there is none).
#[must_use]
pub fn advertised_ips(bound: IpAddr) -> Vec<IpAddr> {
    if !bound.is_unspecified() {
        return vec![bound];
    }
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|ifs| {
            ifs.into_iter()
                .filter(|i| !i.is_loopback())
                .map(|i| i.ip())
                .filter(|ip| match ip {
                    IpAddr::V4(v4) => !v4.is_link_local(),
                    // Link-local IPv6 needs a zone id a URL cannot carry well.
                    IpAddr::V6(v6) => !v6.is_unicast_link_local() && bound.is_ipv6(),
                })
                .collect()
        })
        .unwrap_or_default();
    ips.sort_by_key(IpAddr::is_ipv6);
    ips.dedup();
    if ips.is_empty() {
        ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    ips
}

/// The join links for `session` on `ips` at `port`: the main one (first address, the others in
/// its fragment) and one plain link per address.
///
/// # Panics
/// If `ips` is empty.
#[must_use]
pub fn join_links(ips: &[IpAddr], port: u16, session: &str, secret: &Secret) -> (String, Vec<String>) {
    let link = |ip: IpAddr| format!("http://{}/s/{session}#k={}", SocketAddr::new(ip, port), secret.expose());
    let alternates: Vec<String> = ips[1..].iter().map(|ip| SocketAddr::new(*ip, port).to_string()).collect();
    let mut main = link(ips[0]);
    if !alternates.is_empty() {
        main.push_str("&a=");
        main.push_str(&alternates.join(","));
    }
    (main, ips.iter().map(|ip| link(*ip)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_link_carries_the_other_addresses_and_parses_back() {
        let ips: Vec<IpAddr> = vec!["192.168.1.5".parse().unwrap(), "10.0.0.7".parse().unwrap()];
        let (main, links) = join_links(&ips, 7878, "abc", &Secret("00ff".into()));
        assert_eq!(main, "http://192.168.1.5:7878/s/abc#k=00ff&a=10.0.0.7:7878");
        assert_eq!(links, ["http://192.168.1.5:7878/s/abc#k=00ff", "http://10.0.0.7:7878/s/abc#k=00ff"]);
        let t = bandsync_client::JoinTarget::parse(&main).unwrap();
        assert_eq!(t.ws_url.as_str(), "ws://192.168.1.5:7878/ws?session=abc");
        assert_eq!(t.alternates.len(), 1);
        assert_eq!(t.secret.as_ref().map(Secret::expose), Some("00ff"));
    }

    #[test]
    fn a_bound_address_is_the_only_one() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(advertised_ips(ip), [ip]);
        assert!(!advertised_ips(IpAddr::V4(Ipv4Addr::UNSPECIFIED)).is_empty());
    }
}
