//! The UI's files gzipped for the browsers that accept it: a phone on a venue's Wi-Fi downloads
//! about a third of the bytes. Each file is compressed once, at the best level, when it is first
//! asked for, and kept for the server's life (the files never change while it runs).

use axum::http::HeaderMap;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Compressed copies of the UI's files, by URL path.
#[derive(Debug, Default)]
pub struct Gzipped(Mutex<HashMap<String, Arc<[u8]>>>);

impl Gzipped {
    /// The gzip of `bytes`, the file at `path`: compressed on first use, then kept.
    pub fn get(&self, path: &str, bytes: &[u8]) -> Arc<[u8]> {
        if let Some(z) = self.0.lock().expect("gzip cache poisoned").get(path) {
            return z.clone();
        }
        let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 3), flate2::Compression::best());
        e.write_all(bytes).expect("writing to memory");
        let z: Arc<[u8]> = e.finish().expect("writing to memory").into();
        self.0.lock().expect("gzip cache poisoned").insert(path.to_owned(), z.clone());
        z
    }
}

/// Whether a file of this MIME type shrinks when gzipped (text, scripts, wasm; not images).
#[must_use]
pub fn compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || ["application/javascript", "application/wasm", "application/json", "image/svg+xml"]
            .iter()
            .any(|m| mime.starts_with(m))
}

/// Whether the request's `Accept-Encoding` takes gzip (and not with `q=0`).
#[must_use]
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(axum::http::header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)));
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::ACCEPT_ENCODING, v.parse().unwrap());
        h
    }

    #[test]
    fn gzip_is_sent_only_where_it_is_accepted_and_reads_back_the_file() {
        assert!(accepts_gzip(&headers("gzip, deflate, br")));
        assert!(accepts_gzip(&headers("br;q=1.0, gzip;q=0.8, *;q=0.1")));
        assert!(!accepts_gzip(&headers("br, gzip;q=0")));
        assert!(!accepts_gzip(&headers("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
        assert!(
            compressible("application/wasm") && compressible("text/css; charset=utf-8") && !compressible("image/png")
        );
        let file = "const a = 1;\n".repeat(500);
        let g = Gzipped::default();
        let z = g.get("/assets/a.js", file.as_bytes());
        assert!(z.len() * 10 < file.len(), "{} bytes", z.len());
        let mut back = String::new();
        flate2::read::GzDecoder::new(&z[..]).read_to_string(&mut back).unwrap();
        assert_eq!(back, file);
        assert!(Arc::ptr_eq(&z, &g.get("/assets/a.js", b"ignored")), "compressed once, then kept");
    }
}
