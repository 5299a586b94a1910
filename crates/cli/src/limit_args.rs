//! The limits of `bandsync host` and `bandsync serve`: connections and sessions held, and messages
//! per connection and per address. Each flag left out keeps the server's default
//! (`ServerConfig::default`; docs/SECURITY.md lists them).

use bandsync_server::ServerConfig;
use clap::Args;

/// `--max-connections`, `--rate-burst` and the rest.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Connections (HTTP and WebSocket) the server holds at once; further accepts wait. Each
    /// member holds one. The process's open-file limit is raised to fit them, as far as its hard
    /// limit allows.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Sessions the server holds at once (a node of a cluster: its own and those it takes over
    /// from a node that dies).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: Option<u32>,
    /// Messages one connection may send in a burst.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_burst: Option<u32>,
    /// Messages per second one connection may send, sustained.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_per_sec: Option<u32>,
    /// Connections one source address may hold at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub address_max_connections: Option<u32>,
    /// Messages all of one address's connections may send in a burst.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub address_rate_burst: Option<u32>,
    /// Messages per second all of one address's connections may send, sustained.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub address_rate_per_sec: Option<u32>,
    /// Rate or size violations tolerated before a connection is closed.
    #[arg(long, value_name = "N")]
    pub max_violations: Option<u32>,
}

impl LimitArgs {
    /// `cfg` with the limits given on the command line.
    #[must_use]
    pub fn apply(&self, mut cfg: ServerConfig) -> ServerConfig {
        if let Some(n) = self.max_connections {
            cfg.max_connections = n as usize;
        }
        if let Some(n) = self.max_sessions {
            cfg.max_sessions = n as usize;
        }
        if let Some(n) = self.rate_burst {
            cfg.rate_burst = n;
        }
        if let Some(n) = self.rate_per_sec {
            cfg.rate_per_sec = n;
        }
        if let Some(n) = self.address_max_connections {
            cfg.address_max_connections = n as usize;
        }
        if let Some(n) = self.address_rate_burst {
            cfg.address_rate_burst = n;
        }
        if let Some(n) = self.address_rate_per_sec {
            cfg.address_rate_per_sec = n;
        }
        if let Some(n) = self.max_violations {
            cfg.max_violations = n;
        }
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn given_limits_replace_the_defaults_and_the_rest_stay() {
        let cli =
            Cli::parse_from(["x", "--rate-burst", "5", "--address-max-connections", "3", "--max-connections", "20000"]);
        let cfg = cli.limits.apply(ServerConfig::default());
        let d = ServerConfig::default();
        assert_eq!((cfg.rate_burst, cfg.address_max_connections, cfg.max_connections), (5, 3, 20_000));
        assert_eq!(cfg.max_sessions, d.max_sessions);
        assert_eq!((cfg.rate_per_sec, cfg.max_violations), (d.rate_per_sec, d.max_violations));
        assert!(Cli::try_parse_from(["x", "--rate-per-sec", "0"]).is_err(), "a zero rate is refused");
    }
}
