//! What can go wrong in a command. Serialised as its message: a Tauri command rejects its
//! promise with that string.

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A session is running; `leave_session` first.
    #[error("already in a session; leave it first")]
    Busy,
    /// The command needs a session.
    #[error("not in a session")]
    NotInSession,
    /// The join target is neither a join link nor `HOST:PORT`.
    #[error("{0}")]
    Target(String),
    /// The embedded server could not start, or the session could not be created.
    #[error("cannot host: {0}")]
    Host(String),
    /// The session refused the join (wrong link or PIN, full, bad name...).
    #[error("{0}")]
    Refused(String),
    /// The host could not be reached in time.
    #[error("could not reach {target}: {reason}")]
    Unreachable {
        /// Where we tried.
        target: String,
        /// The last failure.
        reason: String,
    },
    /// Discovery is off (`BANDSYNC_NO_MDNS=1`, or the app was started without it).
    #[error("LAN discovery (mDNS) is turned off")]
    MdnsOff,
    /// The mDNS daemon could not start.
    #[error("{0}")]
    Mdns(String),
    /// An audio setting is out of range.
    #[error("{0}")]
    Settings(String),
    /// The output's calibration gave no figure (a device would not open, the microphone heard
    /// too few of the clicks, another calibration runs...).
    #[error("{0}")]
    Calibration(String),
}

impl serde::Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}
