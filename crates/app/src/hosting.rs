//! What a hosted session keeps besides its client: the embedded server, its mDNS advertisement
//! and the join details the UI shows.

use crate::events::HostInfo;
use crate::lan;
use bandsync_core::protocol::Secret;
use std::net::IpAddr;

/// What a hosted session keeps besides its client.
pub(crate) struct Hosting {
    pub(crate) server: bandsync_server::RunningServer,
    pub(crate) session: bandsync_server::hub::SessionHandle,
    pub(crate) ad: Option<bandsync_discovery::Advertisement>,
    /// The LAN addresses the links name.
    pub(crate) ips: Vec<IpAddr>,
    /// The join details as last given to the UI.
    pub(crate) info: HostInfo,
    pub(crate) advertised_members: u32,
}

impl std::fmt::Debug for Hosting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hosting").field("addr", &self.server.addr).field("session", &self.info.session).finish()
    }
}

impl Hosting {
    /// The join details for `secret` and `pin`.
    pub(crate) fn info_for(&self, secret: &Secret, pin: Option<&Secret>) -> HostInfo {
        let (link, links) = lan::join_links(&self.ips, self.info.port, &self.info.session, secret);
        let qr_svg = bandsync_server::share::svg(&link).unwrap_or_default();
        HostInfo { link, links, qr_svg, pin: pin.map(|p| p.expose().to_owned()), ..self.info.clone() }
    }

    /// Stops advertising (the mDNS goodbye) and stops the server, closing everyone's connection.
    pub(crate) async fn stop(self) {
        if let Some(ad) = self.ad {
            // Sends the mDNS goodbye and waits for it briefly: off the runtime's threads.
            let _ = tokio::task::spawn_blocking(move || ad.stop()).await;
        }
        if let Err(e) = self.server.shutdown().await {
            tracing::warn!(error = %e, "the session server did not stop cleanly");
        }
    }
}
