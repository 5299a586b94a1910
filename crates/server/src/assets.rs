//! The web UI's files, served to phone browsers by the host. Where they come from is the
//! embedder's choice: a directory for the CLI (`ui/dist`), the app bundle's assets in the app.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

/// A source of the UI's files by URL path (`index.html`, `assets/index-3f2a.js`, ...).
pub trait UiAssets: Send + Sync + 'static {
    /// The file's bytes and MIME type, or `None` if there is no such file.
    fn get(&self, path: &str) -> Option<(Cow<'static, [u8]>, &'static str)>;
}

/// UI files read from a directory (a `vite build` output).
#[derive(Debug, Clone)]
pub struct DirAssets {
    root: PathBuf,
}

impl DirAssets {
    /// Serves `root`, which must hold an `index.html`.
    ///
    /// # Errors
    /// When `root/index.html` is missing.
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        if !root.join("index.html").is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} has no index.html; build the UI with `npm --prefix ui run build`", root.display()),
            ));
        }
        Ok(DirAssets { root })
    }
}

impl UiAssets for DirAssets {
    fn get(&self, path: &str) -> Option<(Cow<'static, [u8]>, &'static str)> {
        let rel = Path::new(path.trim_start_matches('/'));
        // Only plain names below the root: no `..`, no absolute paths.
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return None;
        }
        let bytes = std::fs::read(self.root.join(rel)).ok()?;
        Some((Cow::Owned(bytes), mime_for(path)))
    }
}

/// The MIME type for a file name, by extension.
#[must_use]
pub fn mime_for(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wav" => "audio/wav",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_files_below_the_root_only() {
        let dir = std::env::temp_dir().join(format!("bandsync-assets-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.join("assets/app.js"), "1").unwrap();
        let a = DirAssets::new(&dir).unwrap();
        assert_eq!(
            a.get("/assets/app.js").map(|(b, m)| (b.into_owned(), m)),
            Some((b"1".to_vec(), "text/javascript; charset=utf-8"))
        );
        assert!(a.get("/../etc/passwd").is_none());
        assert!(a.get("/assets/../../x").is_none());
        assert!(a.get("/nope.js").is_none());
        assert!(DirAssets::new(dir.join("assets")).is_err(), "a directory without index.html is refused");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
