//! Where to join: a join link (`http://HOST:PORT/s/SESSION`, as the host prints and the QR code
//! carries), or the same with `ws://`, `wss://` or `https://`, or with no scheme at all.

use url::Url;

/// A session on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinTarget {
    /// The server's WebSocket endpoint.
    pub ws_url: Url,
    /// The session id.
    pub session: String,
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
        let mut ws_url = url.clone();
        ws_url.set_scheme(ws_scheme).map_err(|()| TargetError::Scheme(ws_scheme.into()))?;
        ws_url.set_path("/ws");
        ws_url.set_query(None);
        ws_url.set_fragment(None);
        Ok(JoinTarget { ws_url, session })
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
    }

    #[test]
    fn bad_links_are_explained() {
        assert_eq!(JoinTarget::parse("ftp://h/s/a"), Err(TargetError::Scheme("ftp".into())));
        assert_eq!(JoinTarget::parse("http://h:1/nothing/here"), Err(TargetError::NoSession));
        assert_eq!(JoinTarget::parse("http://h:1/"), Err(TargetError::NoSession));
    }
}
