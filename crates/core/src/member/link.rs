//! Where to join: a join link (`http://HOST:PORT/s/SESSION#k=SECRET[&a=IP:PORT,...]`, as the host
//! prints it and the QR code carries it), or the same with `ws://`, `wss://` or `https://`, or with
//! no scheme at all. The secret rides in the fragment, which browsers never send to a server, so it
//! stays out of every HTTP log. `docs/PROTOCOL.md` §1.2.
//!
//! One parser for every member: the Rust client, the app, and (compiled to wasm) the phone page.
//! It takes only what a join link can hold; anything else is refused with a sentence a person can
//! act on.

use crate::protocol::Secret;
use serde::{Deserialize, Serialize};

/// A session on a server, read from a join link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JoinTarget {
    /// The server's WebSocket endpoint, `ws(s)://HOST[:PORT]/ws?session=ID`: the session id in
    /// the address lets a proxy in front of several nodes route the member by it.
    pub ws_url: String,
    /// The origin a person opens, `http(s)://HOST[:PORT]`.
    pub origin: String,
    /// The session id.
    pub session: String,
    /// The session secret from the link's `#k=` fragment; `None` when the join needs a PIN.
    pub secret: Option<Secret>,
    /// The host's other addresses (`&a=IP:PORT,...`), as WebSocket URLs, tried alongside.
    pub alternates: Vec<String>,
}

/// Why a join link could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    /// Nothing was given.
    #[error("paste a join link, like http://192.168.1.5:7878/s/abc123#k=…")]
    Empty,
    /// Not a URL at all.
    #[error("{0:?} is not a join link: {1}")]
    Url(String, &'static str),
    /// A scheme other than http, https, ws or wss.
    #[error("unsupported scheme {0:?}; use http, https, ws or wss")]
    Scheme(String),
    /// The path does not name a session.
    #[error("the link names no session; expected a path like /s/SESSION")]
    NoSession,
}

impl JoinTarget {
    /// Reads a join link.
    ///
    /// # Errors
    /// See [`LinkError`].
    pub fn parse(link: &str) -> Result<Self, LinkError> {
        let link = link.trim();
        if link.is_empty() {
            return Err(LinkError::Empty);
        }
        let bad = |why| LinkError::Url(link.to_owned(), why);
        let (scheme, rest) = match link.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => ("http".to_owned(), link),
        };
        let secure = match scheme.as_str() {
            "http" | "ws" => false,
            "https" | "wss" => true,
            _ => return Err(LinkError::Scheme(scheme)),
        };
        let (rest, fragment) = rest.split_once('#').map_or((rest, ""), |(a, f)| (a, f));
        let (rest, query) = rest.split_once('?').map_or((rest, ""), |(a, q)| (a, q));
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| (&rest[..i], &rest[i..]));
        let host = host_port(authority, secure).ok_or_else(|| bad("no valid host and port"))?;
        let segs: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let session = match segs.as_slice() {
            ["s", id] => percent_decode(id),
            ["ws"] | [] => query
                .split('&')
                .find_map(|kv| kv.strip_prefix("session="))
                .map(percent_decode)
                .ok_or(LinkError::NoSession)?,
            _ => return Err(LinkError::NoSession),
        };
        // Session ids are URL-safe (the server makes them from letters and digits): anything else
        // would change meaning when the link is written back out (found by fuzz/join_link).
        if session.is_empty() || !session.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c)) {
            return Err(LinkError::NoSession);
        }
        // The fragment is split on `&` and not percent-decoded: the secret is sent back exactly.
        let item = |key: &str| fragment.split('&').find_map(|kv| kv.strip_prefix(key)).filter(|v| !v.is_empty());
        let secret = item("k=").map(|k| Secret(k.to_owned()));
        // A secret is printable ASCII (the server's are hex): anything else was damaged on the way.
        if secret.as_ref().is_some_and(|k| !k.expose().chars().all(|c| c.is_ascii_graphic())) {
            return Err(bad("the secret after #k= has characters a join link cannot carry"));
        }
        let ws = if secure { "wss" } else { "ws" };
        let endpoint = |hp: &str| format!("{ws}://{hp}/ws?session={session}");
        let alternates = item("a=")
            .map(|a| a.split(',').filter(|hp| is_socket_addr(hp)).map(endpoint).collect())
            .unwrap_or_default();
        Ok(JoinTarget {
            ws_url: endpoint(&host),
            origin: format!("{}://{host}", if secure { "https" } else { "http" }),
            session,
            secret,
            alternates,
        })
    }

    /// Whether the server is reached over TLS.
    #[must_use]
    pub fn secure(&self) -> bool {
        self.ws_url.starts_with("wss://")
    }

    /// The join link for this session with `secret`, as a person would open it.
    #[must_use]
    pub fn link(&self, secret: &Secret) -> String {
        format!("{}/s/{}#k={}", self.origin, self.session, secret.expose())
    }

    /// `HOST[:PORT]` of the main address, as the link has it.
    #[must_use]
    pub fn authority(&self) -> &str {
        self.origin.split_once("://").map_or(self.origin.as_str(), |(_, a)| a)
    }
}

/// `host[:port]` with the scheme's default port left out, or `None` when it is not valid.
fn host_port(authority: &str, secure: bool) -> Option<String> {
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        if !h.contains(':') || !h.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return None;
        }
        (format!("[{}]", h.to_ascii_lowercase()), after.strip_prefix(':'))
    } else {
        let (h, p) = authority.rsplit_once(':').map_or((authority, None), |(h, p)| (h, Some(p)));
        let ok = !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !ok {
            return None;
        }
        (h.to_ascii_lowercase(), p)
    };
    match port {
        None => Some(host),
        Some(p) => {
            let n: u16 = p.parse().ok().filter(|_| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?;
            let default = if secure { 443 } else { 80 };
            Some(if n == default { host } else { format!("{host}:{n}") })
        }
    }
}

/// `IP:PORT` with an IPv4 address or a bracketed IPv6 one, as `std::net::SocketAddr` parses.
fn is_socket_addr(s: &str) -> bool {
    s.parse::<std::net::SocketAddr>().is_ok()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_link_becomes_websocket_url_and_session() {
        let t = JoinTarget::parse("http://192.168.1.5:7878/s/abc123").unwrap();
        assert_eq!(t.ws_url, "ws://192.168.1.5:7878/ws?session=abc123");
        assert_eq!(t.origin, "http://192.168.1.5:7878");
        assert_eq!(t.session, "abc123");
        let t = JoinTarget::parse("https://band.example:443/s/x").unwrap();
        assert_eq!(t.ws_url, "wss://band.example/ws?session=x");
        assert!(t.secure());
        let t = JoinTarget::parse("127.0.0.1:9/s/q").unwrap();
        assert_eq!(t.ws_url, "ws://127.0.0.1:9/ws?session=q");
        let t = JoinTarget::parse("ws://h:1/ws?session=zz").unwrap();
        assert_eq!(t.session, "zz");
        let t = JoinTarget::parse("http://10.0.0.2:7878/s/abc#k=0123abcd").unwrap();
        assert_eq!(t.secret.as_ref().map(Secret::expose), Some("0123abcd"));
        assert_eq!(t.link(&Secret("ffff".into())), "http://10.0.0.2:7878/s/abc#k=ffff");
        let t = JoinTarget::parse("http://10.0.0.2:7878/s/abc#k=00&a=192.168.1.5:7878,[fd00::1]:7878,junk").unwrap();
        assert_eq!(t.alternates, ["ws://192.168.1.5:7878/ws?session=abc", "ws://[fd00::1]:7878/ws?session=abc"]);
        let t = JoinTarget::parse("  HTTP://[FD00::1]:80/s/a%2Db/ ").unwrap();
        assert_eq!((t.ws_url.as_str(), t.session.as_str()), ("ws://[fd00::1]/ws?session=a-b", "a-b"));
        assert_eq!(t.authority(), "[fd00::1]");
    }

    #[test]
    fn bad_links_are_explained() {
        assert_eq!(JoinTarget::parse("ftp://h/s/a"), Err(LinkError::Scheme("ftp".into())));
        assert_eq!(JoinTarget::parse("http://h:1/nothing/here"), Err(LinkError::NoSession));
        assert_eq!(JoinTarget::parse("http://h:1/"), Err(LinkError::NoSession));
        // A session id that would not survive being written back into a link (found by fuzzing).
        assert_eq!(JoinTarget::parse("http27.08/s/%3fx2f9x2abcd#k=2ht78/s/k4fx"), Err(LinkError::NoSession));
        assert_eq!(JoinTarget::parse("h:1/s/a%20b#k=x"), Err(LinkError::NoSession));
        assert!(matches!(JoinTarget::parse("h:1/s/abc#k=x\0\ny"), Err(LinkError::Url(..))));
        assert_eq!(JoinTarget::parse(""), Err(LinkError::Empty));
        for bad in ["http://h:99999/s/a", "http://user@h/s/a", "http://h h/s/a", "http://:7/s/a", "http://[zz]:1/s/a"] {
            assert!(matches!(JoinTarget::parse(bad), Err(LinkError::Url(..))), "{bad}");
        }
    }
}
