//! One WebDriver command as one HTTP/1.1 request over a [`TcpStream`] (a connection per command),
//! sent again when the connection drops, and W3C errors read from the answer.

use super::error::{Error, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Whether an I/O error means the peer dropped the connection (worth one more try).
fn dropped(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof)
}

/// One HTTP/1.1 request with a JSON body; returns the status and the JSON answer.
pub(super) fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, Value)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let _ = s.set_nodelay(true);
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n");
    if body.is_some() {
        req.push_str(&format!(
            "Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
            payload.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(&payload);
    s.write_all(req.as_bytes())?;
    s.flush()?;

    let mut r = BufReader::new(s);
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(Error::Transport(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the driver closed the connection without answering",
        )));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| Error::Protocol(format!("bad status line {line:?}")))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(Error::Transport(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = v.parse::<usize>().ok();
            } else if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
        }
    }
    let mut buf = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| Error::Protocol(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                break;
            }
            let at = buf.len();
            buf.resize(at + size, 0);
            r.read_exact(&mut buf[at..])?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = length {
        buf.resize(n, 0);
        r.read_exact(&mut buf)?;
    } else {
        r.read_to_end(&mut buf)?;
    }
    if buf.is_empty() {
        return Ok((status, Value::Null));
    }
    let v = serde_json::from_slice(&buf).map_err(|e| {
        Error::Protocol(format!("status {status}, body is not JSON ({e}): {}", String::from_utf8_lossy(&buf)))
    })?;
    Ok((status, v))
}

/// `http` with retries on a dropped connection, and W3C errors turned into [`Error::WebDriver`].
/// Returns the response's `value`.
pub(super) fn command(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
    retries: u32,
) -> Result<Value> {
    let mut attempt = 0;
    let (status, v) = loop {
        match http(addr, method, path, body, timeout) {
            Ok(x) => break x,
            Err(Error::Transport(e)) if dropped(&e) && attempt < retries => {
                attempt += 1;
                eprintln!("webdriver: {method} {path}: {e}; sending it again");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    };
    let mut v = v;
    let value = v.get_mut("value").map(Value::take).unwrap_or(Value::Null);
    if status >= 400 || value.get("error").is_some_and(Value::is_string) {
        return Err(Error::WebDriver {
            status,
            error: value["error"].as_str().unwrap_or("unknown error").to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::net::TcpListener;

    /// A one-shot HTTP server that answers with `answer`, or drops the first `drops` connections
    /// without a word.
    fn serve(answer: &'static str, drops: usize) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for (i, s) in l.incoming().enumerate() {
                let mut s = s.unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                if i >= drops {
                    s.write_all(answer.as_bytes()).unwrap();
                    return;
                }
            }
        });
        addr
    }

    #[test]
    fn answers_are_read_by_length_or_in_chunks_and_errors_are_w3c_errors() {
        let t = Duration::from_secs(5);
        let a = serve("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"value\":[1,2]}\n", 0);
        assert_eq!(command(&a, "GET", "/x", None, t, 0).unwrap(), json!([1, 2]));
        let a = serve(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"valu\r\n8\r\ne\":true}\r\n0\r\n\r\n",
            0,
        );
        assert_eq!(command(&a, "GET", "/x", None, t, 0).unwrap(), json!(true));
        let a = serve(
            "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n{\"value\":{\"error\":\"no such element\",\"message\":\"nope\",\"x\":1}}",
            0,
        );
        let e = command(&a, "GET", "/x", None, t, 0).unwrap_err();
        assert_eq!(e.code(), Some("no such element"), "{e}");
    }

    #[test]
    fn a_dropped_connection_is_retried_once_and_then_reported() {
        let t = Duration::from_secs(5);
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"value\":7}\n";
        assert_eq!(command(&serve(ok, 1), "GET", "/x", None, t, 1).unwrap(), json!(7));
        let e = command(&serve(ok, 2), "GET", "/x", None, t, 1).unwrap_err();
        assert!(matches!(&e, Error::Transport(io) if dropped(io)), "{e}");
    }
}
