//! How the desktop app was started: the command line that opens hosting at once.

use serde::{Deserialize, Serialize};

/// How the app was started. `bandsync-desktop --host "Friday gig" [--name Ana]` opens hosting that
/// session at once (what `scripts/run.sh` does); without arguments the app opens on its home screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LaunchOptions {
    /// Host a session with this name as soon as the window opens.
    pub host: Option<String>,
    /// The leader's display name for that session (the saved one, or "Leader", otherwise).
    pub name: Option<String>,
}

impl LaunchOptions {
    /// Reads `--host NAME` and `--name NAME` (also as `--host=NAME`); other arguments are left to
    /// the platform (Tauri and WebKit have their own).
    #[must_use]
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Self {
        let mut o = LaunchOptions::default();
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            let (key, inline) = match a.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (a, None),
            };
            let slot = match key.as_str() {
                "--host" => &mut o.host,
                "--name" => &mut o.name,
                _ => continue,
            };
            *slot = inline.or_else(|| it.next()).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::LaunchOptions;

    #[test]
    fn host_and_name_come_from_the_command_line() {
        let args = |a: &[&str]| LaunchOptions::from_args(a.iter().map(|s| (*s).to_owned()));
        assert_eq!(args(&[]), LaunchOptions::default());
        assert_eq!(
            args(&["--host", "Friday gig", "--name=Ana"]),
            LaunchOptions { host: Some("Friday gig".into()), name: Some("Ana".into()) }
        );
        assert_eq!(args(&["--other", "x", "--host"]).host, None, "a flag without a value is ignored");
        assert_eq!(args(&["--host", "  "]).host, None);
    }
}
