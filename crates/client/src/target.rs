//! Where to join: a join link (`http://HOST:PORT/s/SESSION#k=SECRET`, as the host prints and the
//! QR code carries), or the same with `ws://`, `wss://` or `https://`, or with no scheme at all.
//! The secret rides in the fragment, which browsers never send to a server, so it stays out of
//! every HTTP log.

use bandsync_core::protocol::Secret;
use url::Url;

/// A session on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinTarget {
    /// The server's WebSocket endpoint.
    pub ws_url: Url,
    /// The session id.
    pub session: String,
    /// The session secret from the link's `#k=` fragment.
    pub secret: Option<Secret>,
    /// The host's other addresses (`&a=IP:PORT,...` in the fragment), tried alongside the main one.
    pub alternates: Vec<Url>,
}

/// Why a join link could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    /// Not a URL at all.
    #[error("{0:?} is not a join link: {1}")]
    Url(String, String),
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
    /// See [`TargetError`].
    pub fn parse(link: &str) -> Result<Self, TargetError> {
        let link = link.trim();
        let with_scheme = if link.contains("://") { link.to_owned() } else { format!("http://{link}") };
        let url = Url::parse(&with_scheme).map_err(|e| TargetError::Url(link.to_owned(), e.to_string()))?;
        let ws_scheme = match url.scheme() {
            "http" | "ws" => "ws",
            "https" | "wss" => "wss",
            s => return Err(TargetError::Scheme(s.to_owned())),
        };
        let segs: Vec<&str> = url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
        let session = match segs.as_slice() {
            ["s", id] => (*id).to_owned(),
            ["ws"] | [] => url
                .query_pairs()
                .find(|(k, _)| k == "session")
                .map(|(_, v)| v.into_owned())
                .ok_or(TargetError::NoSession)?,
            _ => return Err(TargetError::NoSession),
        };
        if session.is_empty() {
            return Err(TargetError::NoSession);
        }
        let secret = url
            .fragment()
            .and_then(|f| f.split('&').find_map(|kv| kv.strip_prefix("k=")))
            .filter(|k| !k.is_empty())
            .map(|k| Secret(k.to_owned()));
        let alternates: Vec<String> = url
            .fragment()
            .and_then(|f| f.split('&').find_map(|kv| kv.strip_prefix("a=")))
            .map(|a| a.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let mut ws_url = url.clone();
        ws_url.set_scheme(ws_scheme).map_err(|()| TargetError::Scheme(ws_scheme.into()))?;
        ws_url.set_path("/ws");
        ws_url.set_query(None);
        ws_url.set_fragment(None);
        let alternates = alternates
            .iter()
            .filter_map(|hp| {
                let mut u = ws_url.clone();
                let addr: std::net::SocketAddr = hp.parse().ok()?;
                u.set_ip_host(addr.ip()).ok()?;
                u.set_port(Some(addr.port())).ok()?;
                Some(u)
            })
            .collect();
        Ok(JoinTarget { ws_url, session, secret, alternates })
    }

    /// The join link for this session with `secret`, as a person would open it.
    #[must_use]
    pub fn link(&self, secret: &Secret) -> String {
        let mut u = self.ws_url.clone();
        let scheme = if u.scheme() == "wss" { "https" } else { "http" };
        let _ = u.set_scheme(scheme);
        u.set_path(&format!("/s/{}", self.session));
        u.set_fragment(Some(&format!("k={}", secret.expose())));
        u.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_link_becomes_websocket_url_and_session() {
        let t = JoinTarget::parse("http://192.168.1.5:7878/s/abc123").unwrap();
        assert_eq!(t.ws_url.as_str(), "ws://192.168.1.5:7878/ws");
        assert_eq!(t.session, "abc123");
        let t = JoinTarget::parse("https://band.example:443/s/x").unwrap();
        assert_eq!(t.ws_url.as_str(), "wss://band.example/ws");
        let t = JoinTarget::parse("127.0.0.1:9/s/q").unwrap();
        assert_eq!(t.ws_url.as_str(), "ws://127.0.0.1:9/ws");
        let t = JoinTarget::parse("ws://h:1/ws?session=zz").unwrap();
        assert_eq!(t.session, "zz");
        let t = JoinTarget::parse("http://10.0.0.2:7878/s/abc#k=0123abcd").unwrap();
        assert_eq!(t.secret.as_ref().map(Secret::expose), Some("0123abcd"));
        assert_eq!(t.ws_url.as_str(), "ws://10.0.0.2:7878/ws");
        assert_eq!(t.link(&Secret("ffff".into())), "http://10.0.0.2:7878/s/abc#k=ffff");
        let t = JoinTarget::parse("http://10.0.0.2:7878/s/abc#k=00&a=192.168.1.5:7878,[fd00::1]:7878").unwrap();
        let alts: Vec<&str> = t.alternates.iter().map(url::Url::as_str).collect();
        assert_eq!(alts, ["ws://192.168.1.5:7878/ws", "ws://[fd00::1]:7878/ws"]);
    }

    #[test]
    fn bad_links_are_explained() {
        assert_eq!(JoinTarget::parse("ftp://h/s/a"), Err(TargetError::Scheme("ftp".into())));
        assert_eq!(JoinTarget::parse("http://h:1/nothing/here"), Err(TargetError::NoSession));
        assert_eq!(JoinTarget::parse("http://h:1/"), Err(TargetError::NoSession));
    }
}
