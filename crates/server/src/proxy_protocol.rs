//! The PROXY protocol (version 1, the text form HAProxy sends with `send-proxy`): a proxy in front
//! of a node says, before anything else on the connection, which client it is passing on. Behind
//! a proxy every connection comes from the proxy's address; without this, the limits per source
//! address would count every member of the cluster as one.
//!
//! Only connections from the addresses the node trusts (`--proxy-protocol-from`) are read this
//! way, and they must carry the header; from anywhere else a header would be a client lying
//! about its address, and is not looked for.

use std::net::IpAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The longest v1 header, `\r\n` included (the specification's figure).
const MAX_HEADER: usize = 107;

/// Reads the PROXY v1 header off `stream` (and nothing after it): the client's address, or
/// `None` for `PROXY UNKNOWN` (the proxy's own health checks), within `wait`.
///
/// # Errors
/// A missing, malformed or late header.
pub async fn read_v1(stream: &mut TcpStream, wait: Duration) -> Result<Option<IpAddr>, String> {
    tokio::time::timeout(wait, async {
        let mut buf = [0u8; MAX_HEADER];
        // Peek until the line is complete, then consume exactly the line: the HTTP request that
        // follows stays in the socket for hyper.
        let len = loop {
            let n = stream.peek(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("closed before the PROXY header".to_owned());
            }
            if let Some(i) = buf[..n].windows(2).position(|w| w == b"\r\n") {
                break i + 2;
            }
            if n == MAX_HEADER {
                return Err("no PROXY header in the first 107 bytes".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let mut line = vec![0u8; len];
        stream.read_exact(&mut line).await.map_err(|e| e.to_string())?;
        parse_v1(&line)
    })
    .await
    .map_err(|_| "no PROXY header in time".to_owned())?
}

/// Parses one v1 header line (with its `\r\n`).
///
/// # Errors
/// When it is not one.
pub fn parse_v1(line: &[u8]) -> Result<Option<IpAddr>, String> {
    let text = std::str::from_utf8(line).map_err(|_| "a PROXY header is ASCII")?;
    let text = text.strip_suffix("\r\n").ok_or("a PROXY header ends in CRLF")?;
    let mut f = text.split(' ');
    if f.next() != Some("PROXY") {
        return Err(format!("not a PROXY header: {text:?}"));
    }
    match f.next() {
        Some("UNKNOWN") => Ok(None),
        Some(family @ ("TCP4" | "TCP6")) => {
            let src: IpAddr = f.next().and_then(|a| a.parse().ok()).ok_or("a PROXY header's source address")?;
            let dst: IpAddr = f.next().and_then(|a| a.parse().ok()).ok_or("a PROXY header's destination address")?;
            let ports = [f.next(), f.next()].map(|p| p.and_then(|p| p.parse::<u16>().ok()));
            if ports.contains(&None) || f.next().is_some() {
                return Err(format!("a malformed PROXY header: {text:?}"));
            }
            if (family == "TCP4") != (src.is_ipv4() && dst.is_ipv4()) {
                return Err(format!("a PROXY header's addresses are not {family}: {text:?}"));
            }
            Ok(Some(src))
        }
        _ => Err(format!("a PROXY header names no known family: {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_v1;

    #[test]
    fn headers_are_read_exactly_and_lies_refused() {
        let ok = parse_v1(b"PROXY TCP4 203.0.113.7 10.0.0.2 51234 7878\r\n").unwrap();
        assert_eq!(ok, Some("203.0.113.7".parse().unwrap()));
        let v6 = parse_v1(b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n").unwrap();
        assert_eq!(v6, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_v1(b"PROXY UNKNOWN\r\n").unwrap(), None);
        for bad in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"PROXY TCP4 203.0.113.7 10.0.0.2 51234\r\n",
            b"PROXY TCP4 2001:db8::1 10.0.0.2 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2",
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        ] {
            assert!(parse_v1(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
