//! Each output device's calibrated latency, remembered on this machine: `bandsync calibrate`
//! writes it, and a follower playing through the same device starts from it. A JSON file in the
//! user's configuration folder (`$BANDSYNC_CONFIG_DIR`, else `$XDG_CONFIG_HOME/bandsync`, else
//! `~/.config/bandsync`), keyed by the device's name; written whole to a temporary file and
//! renamed, so a crash never leaves half of it.

use bandsync_core::protocol::LATENCY_OFFSET_MS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One device's figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredLatency {
    /// Extra output latency, ms.
    pub latency_ms: f64,
    /// How it was found: `"measured"` (loopback) or `"calibrated"` (tapped or typed).
    pub source: Source,
    /// The measurement's spread, ms.
    pub spread_ms: f64,
}

/// Where a stored figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A microphone (or monitor) loopback.
    Measured,
    /// Tapped along, or typed in.
    Calibrated,
}

/// The file of every device's figure.
#[derive(Debug, Clone)]
pub struct LatencyStore {
    path: PathBuf,
}

impl LatencyStore {
    /// The store in the user's configuration folder.
    #[must_use]
    pub fn user() -> Self {
        let dir = std::env::var_os("BANDSYNC_CONFIG_DIR").map(PathBuf::from).unwrap_or_else(|| {
            std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
                .unwrap_or_else(|| PathBuf::from("."))
                .join("bandsync")
        });
        LatencyStore { path: dir.join("latency.json") }
    }

    /// The store in the file at `path`.
    #[must_use]
    pub fn at(path: PathBuf) -> Self {
        LatencyStore { path }
    }

    /// Where it is kept.
    #[must_use]
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Every device's figure; empty when there is no file yet.
    ///
    /// # Errors
    /// The file exists but cannot be read or is not ours.
    pub fn load(&self) -> std::io::Result<BTreeMap<String, StoredLatency>> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e),
        }
    }

    /// The figure for `device`, if one was stored within the offsets a player may set
    /// ([`LATENCY_OFFSET_MS`]: one beyond them, from an older `bandsync calibrate`, is none).
    ///
    /// # Errors
    /// As [`LatencyStore::load`].
    pub fn get(&self, device: &str) -> std::io::Result<Option<StoredLatency>> {
        Ok(self.load()?.get(device).copied().filter(|l| LATENCY_OFFSET_MS.contains(&l.latency_ms)))
    }

    /// Stores `device`'s figure.
    ///
    /// # Errors
    /// The folder or file cannot be written.
    pub fn set(&self, device: &str, l: StoredLatency) -> std::io::Result<()> {
        let mut all = self.load()?;
        all.insert(device.to_owned(), l);
        self.write(&all)
    }

    /// Stores a calibration's figure for `device`, found by `source`: whether it did. Not one
    /// beyond the offsets a player may set ([`LATENCY_OFFSET_MS`]: no player would take it).
    ///
    /// # Errors
    /// As [`LatencyStore::set`].
    pub fn keep(&self, device: &str, c: &crate::calibrate::Calibration, source: Source) -> std::io::Result<bool> {
        if !LATENCY_OFFSET_MS.contains(&c.latency_ms) {
            return Ok(false);
        }
        self.set(device, StoredLatency { latency_ms: c.latency_ms, source, spread_ms: c.spread_ms }).map(|()| true)
    }

    /// Forgets `device`'s figure (it plays by what it reports again).
    ///
    /// # Errors
    /// The file cannot be read or written.
    pub fn forget(&self, device: &str) -> std::io::Result<()> {
        let mut all = self.load()?;
        if all.remove(device).is_none() {
            return Ok(());
        }
        self.write(&all)
    }

    fn write(&self, all: &BTreeMap<String, StoredLatency>) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(all).map_err(std::io::Error::other)?)?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_kept_per_device_and_survive_a_reload() {
        let dir = std::env::temp_dir().join(format!("bandsync-offsets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = LatencyStore { path: dir.join("latency.json") };
        assert_eq!(store.get("pulse").unwrap(), None);
        let buds = StoredLatency { latency_ms: 182.5, source: Source::Measured, spread_ms: 0.2 };
        store.set("pulse", buds).unwrap();
        store.set("hw:1", StoredLatency { latency_ms: 3.0, source: Source::Calibrated, spread_ms: 4.0 }).unwrap();
        let again = LatencyStore { path: dir.join("latency.json") };
        assert_eq!(again.get("pulse").unwrap(), Some(buds));
        assert_eq!(again.load().unwrap().len(), 2);
        again.forget("hw:1").unwrap();
        again.forget("never stored").unwrap();
        assert_eq!(again.load().unwrap().len(), 1);
        assert_eq!(again.get("pulse").unwrap(), Some(buds));
        // One beyond the offsets a player may set reads as none.
        again.set("far", StoredLatency { latency_ms: 600.0, source: Source::Measured, spread_ms: 0.1 }).unwrap();
        assert_eq!(again.get("far").unwrap(), None);
        std::fs::write(again.path(), b"not json").unwrap();
        assert!(again.load().is_err(), "a damaged file is an error, not an empty store");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
