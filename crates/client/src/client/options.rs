//! How a member connection is opened: [`ClientOptions`].

use crate::local_clock::LocalClock;
use bandsync_core::member::MemberConfig;

/// How to join: the member's configuration, this device's clock, and TLS trust.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The member: target, name, role, timings, reconnect policy.
    pub member: MemberConfig,
    /// Certificates to trust besides the public roots (a host's self-signed certificate).
    pub extra_ca: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// This device's clock (distorted on purpose by `--clock-offset-ms`/`--clock-skew-ppm`).
    pub clock: LocalClock,
    /// The local address to connect from (a load driver standing in for many devices uses a
    /// loopback address each); the system's choice when `None`. Plain `ws://` only.
    pub bind: Option<std::net::IpAddr>,
}

impl ClientOptions {
    /// Options with the usual timings.
    #[must_use]
    pub fn new(target: bandsync_core::member::JoinTarget, name: impl Into<String>) -> Self {
        let mut member = MemberConfig::new(target, name);
        member.seed = rand::random::<u64>() | 1;
        member.resume = Some(bandsync_core::protocol::Secret(format!("{:032x}", rand::random::<u128>())));
        ClientOptions { member, extra_ca: Vec::new(), clock: LocalClock::system(), bind: None }
    }
}
