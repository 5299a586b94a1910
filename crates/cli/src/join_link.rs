//! `bandsync join --link`: this device joins the Ableton Link session on its network (Ableton
//! Live and every other Link app) both ways. What is decided is `bandsync_core::link`'s; the
//! thread that reads Link and carries out the bridge's answer is `bandsync_client::link`'s (the
//! desktop app's too). Here: its notes, printed as `join`'s events.
//!
//! Behind the `link` cargo feature: the Link library (`rusty_link`, which builds Ableton's Link)
//! is GPL-2.0-or-later, so a `bandsync` built with it is GPL too. The default build leaves it out,
//! and `--link` then says how to get it.

use bandsync_client::{Client, Event};
use bandsync_core::ClientMsg;

/// The Link bridge `join` was asked for (none without `--link`).
pub struct JoinLink {
    #[cfg(feature = "link")]
    on: Option<imp::Bridge>,
}

impl JoinLink {
    /// Joins the Link session if `on`, and says so (a `link` event).
    ///
    /// # Errors
    /// `--link` in a build without the `link` feature.
    pub fn start(on: bool, client: &Client, j: bool) -> anyhow::Result<Self> {
        #[cfg(feature = "link")]
        {
            Ok(JoinLink { on: on.then(|| imp::Bridge::start(client, j)) })
        }
        #[cfg(not(feature = "link"))]
        {
            let _ = (client, j);
            anyhow::ensure!(
                !on,
                "this bandsync was built without Ableton Link: the Link library is GPL-2.0-or-later, so it is \
                 an opt-in feature; build with `cargo build -p bandsync-cli --features link`"
            );
            Ok(JoinLink {})
        }
    }

    /// A message this member sends, as the bridge would have it: while other Link apps play, a
    /// `play` starts on their bar (`on_bar`), so the band comes in on Live's bar.
    #[must_use]
    pub fn outgoing(&self, m: ClientMsg) -> ClientMsg {
        #[cfg(feature = "link")]
        if let (Some(b), ClientMsg::Play { count_in, on_bar: None }) = (&self.on, &m) {
            return ClientMsg::Play { count_in: *count_in, on_bar: b.on_bar() };
        }
        m
    }

    /// Follows the session: its schedule, and whether this member leads it.
    pub fn on_event(&self, client: &Client, ev: &Event) {
        #[cfg(feature = "link")]
        if let Some(b) = &self.on {
            b.on_event(client, ev);
        }
        #[cfg(not(feature = "link"))]
        let _ = (client, ev);
    }
}

#[cfg(feature = "link")]
mod imp {
    use crate::output::emit;
    use bandsync_client::link::{LinkNote, LinkThread};
    use bandsync_client::{Client, Event};
    use bandsync_core::Micros;
    use serde_json::json;

    /// The Link thread, its notes printed as `join`'s events.
    pub(super) struct Bridge(LinkThread);

    impl Bridge {
        pub(super) fn start(client: &Client, j: bool) -> Self {
            let t = LinkThread::start(client, j, move |n| note(j, &n));
            emit(j, &json!({"event": "link_enabled"}), || "Ableton Link on".to_owned());
            Bridge(t)
        }

        pub(super) fn on_bar(&self) -> Option<Micros> {
            self.0.on_bar()
        }

        pub(super) fn on_event(&self, client: &Client, ev: &Event) {
            self.0.on_event(client, ev);
        }
    }

    fn note(j: bool, n: &LinkNote) {
        match n {
            LinkNote::Peers(n) => emit(j, &json!({"event": "link_peers", "peers": n}), || format!("Link: {n} peers")),
            LinkNote::Commit { link_us, host_us, tempo, beat, quantum, playing } => emit(
                j,
                &json!({"event": "link_commit", "link_us": link_us, "host_us": host_us, "tempo": tempo, "beat": beat, "quantum": quantum, "playing": playing}),
                || {
                    let p = match playing {
                        Some(true) => ", playing",
                        Some(false) => ", stopped",
                        None => "",
                    };
                    format!("Link: {tempo:.3} BPM{p}")
                },
            ),
            LinkNote::Request(kind) => {
                emit(j, &json!({"event": "link_request", "request": kind}), || format!("Link asks the session: {kind}"))
            }
            LinkNote::Report { link_us, host_us, quantum, session_beat, link_beat, tempo, playing } => emit(
                j,
                &json!({
                    "event": "link",
                    "link_us": link_us,
                    "host_us": host_us,
                    "quantum": quantum,
                    "session_beat": session_beat,
                    "link_beat": link_beat,
                    "tempo": tempo,
                    "playing": playing,
                }),
                String::new,
            ),
        }
    }
}
