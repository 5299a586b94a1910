//! Ableton Link in the app: this device in the Link session of its network (Ableton Live and
//! every Link app), bridged to the BandSync session both ways. The thread and the rule are
//! `bandsync_client::link`'s and `bandsync_core::link`'s; here: turning it on and off with the
//! setting, following the session, and telling the UI. The Link library is GPL-2.0-or-later, so
//! the thread is in the build only with the `link` feature; without it Link is "not available".

use crate::Sink;
use crate::events::{AppEvent, LinkStatus};
use bandsync_client::{Client, Event};
use bandsync_core::ClientMsg;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Whether this build has Link.
pub const AVAILABLE: bool = cfg!(feature = "link");

/// Link for one session: on or off.
#[derive(Default)]
pub(crate) struct SessionLink {
    #[cfg(feature = "link")]
    thread: Option<bandsync_client::link::LinkThread>,
    /// Other Link apps at the last count (the Link thread updates it).
    peers: Arc<std::sync::atomic::AtomicU32>,
}

impl SessionLink {
    /// Turns Link on or off for the session `client` is in, and tells the UI.
    pub(crate) fn set(&mut self, on: bool, client: &Client, sink: &Arc<dyn Sink<AppEvent>>) {
        #[cfg(feature = "link")]
        {
            use bandsync_client::link::{LinkNote, LinkThread};
            if on && self.thread.is_none() {
                let (s, count) = (sink.clone(), self.peers.clone());
                self.thread = Some(LinkThread::start(client, false, move |n| {
                    if let LinkNote::Peers(p) = n {
                        let peers = u32::try_from(p).unwrap_or(u32::MAX);
                        count.store(peers, Ordering::Relaxed);
                        s.send(AppEvent::Link { link: LinkStatus { available: true, on: true, peers } });
                    }
                }));
            } else if !on {
                // Dropping the thread leaves the Link session.
                self.thread = None;
                self.peers.store(0, Ordering::Relaxed);
            }
        }
        #[cfg(not(feature = "link"))]
        let _ = client;
        let on = on && AVAILABLE;
        let peers = self.peers.load(Ordering::Relaxed);
        sink.send(AppEvent::Link { link: LinkStatus { available: AVAILABLE, on, peers } });
    }

    /// Follows the session: its schedule and who leads it.
    pub(crate) fn on_event(&self, client: &Client, ev: &Event) {
        #[cfg(feature = "link")]
        if let Some(t) = &self.thread {
            t.on_event(client, ev);
        }
        #[cfg(not(feature = "link"))]
        let _ = (client, ev);
    }

    /// A message the UI sends, as Link would have it: while other Link apps are there, a `play`
    /// starts on their bar ([`bandsync_core::link::LinkBridge::on_bar`]).
    pub(crate) fn outgoing(&self, m: ClientMsg) -> ClientMsg {
        #[cfg(feature = "link")]
        if let (Some(t), ClientMsg::Play { count_in, on_bar: None }) = (&self.thread, &m) {
            return ClientMsg::Play { count_in: *count_in, on_bar: t.on_bar() };
        }
        m
    }
}
