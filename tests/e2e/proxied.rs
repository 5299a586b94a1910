//! Behind a trusted proxy that sends the PROXY protocol, the limits per source address count the
//! client the proxy names, not the proxy; a connection from the proxy without a header is
//! refused; anyone else's "PROXY" line is just bad HTTP.

use bandsync_e2e::TestServer;
use bandsync_server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An HTTP GET of `/healthz` on a fresh connection that opens with `preamble`; the status line,
/// or "" if the server closed without one.
async fn get(addr: std::net::SocketAddr, preamble: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("{preamble}GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf)).await.unwrap().unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_owned();
    (s, text)
}

#[tokio::test]
async fn a_trusted_proxys_header_names_the_client_the_limits_count() {
    let cfg = ServerConfig {
        address_max_connections: 2,
        proxy_protocol_from: vec!["127.0.0.1".parse().unwrap()],
        ..ServerConfig::default()
    };
    let t = TestServer::start(cfg).await;
    let addr = t.server.addr;
    let from = |ip: &str| format!("PROXY TCP4 {ip} 127.0.0.1 40000 {}\r\n", addr.port());
    // Two connections of one client (kept open), through the proxy: the third is refused.
    let (_a, s1) = get(addr, &from("203.0.113.7")).await;
    let (_b, s2) = get(addr, &from("203.0.113.7")).await;
    assert!(s1.contains("200") && s2.contains("200"), "{s1} / {s2}");
    let (_c, s3) = get(addr, &from("203.0.113.7")).await;
    assert!(s3.contains("429"), "the client's third connection: {s3}");
    // Another client through the same proxy is not held to the first one's count.
    let (_d, s4) = get(addr, &from("203.0.113.8")).await;
    assert!(s4.contains("200"), "another client: {s4}");
    // The proxy's health checks (PROXY UNKNOWN) count as the proxy itself.
    let (_e, s5) = get(addr, "PROXY UNKNOWN\r\n").await;
    assert!(s5.contains("200"), "{s5}");
    // From the trusted address, a connection without a header is refused outright.
    let (_f, s6) = get(addr, "").await;
    assert_eq!(s6, "", "no header from the proxy: closed");

    // A server that trusts no proxy takes a PROXY line for what it is: not HTTP.
    let plain = TestServer::start(ServerConfig::default()).await;
    let (_g, s7) = get(plain.server.addr, &from("203.0.113.9")).await;
    assert!(s7.contains("400"), "{s7}");
}
