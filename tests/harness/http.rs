//! Blocking HTTP/1.1 for process-level tests (no runtime needed): a GET of JSON, and a request
//! with a bearer token and a JSON body. The async GET for in-process servers is
//! [`crate::http_get`].
//!
//! [`crate::process`] re-exports these.

use serde_json::Value;
use std::io::{Read, Write};

/// A plain HTTP/1.1 GET (blocking), returning the JSON body (`null` if it is not JSON).
///
/// # Panics
/// If the connection fails.
#[must_use]
pub fn get_json(addr: &str, path: &str) -> Value {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    serde_json::from_str(body.split_once("\r\n\r\n").map_or("", |x| x.1)).unwrap_or(Value::Null)
}

/// An HTTP/1.1 request with an optional bearer token and JSON body: the status and the JSON body
/// (`Null` when there is none).
///
/// # Panics
/// When the server cannot be reached or the answer is not HTTP.
#[must_use]
pub fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let kind = if body.is_empty() { String::new() } else { "Content-Type: application/json\r\n".to_owned() };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("an HTTP status line");
    let json = serde_json::from_str(answer.split_once("\r\n\r\n").map_or("", |x| x.1)).unwrap_or(Value::Null);
    (status, json)
}
