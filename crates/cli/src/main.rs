//! `bandsync`: host and join BandSync sessions from a terminal. Headless and scriptable: with
//! `--json` every event is one JSON object per line. Exit codes: 0 ok, 2 usage, 3 refused,
//! 4 connection lost for good.
//!
//! A module a command, and what they share:
//! - `host` (`bandsync host`: one session, its join link), `serve` (`bandsync serve`: many bands'
//!   remote sessions) and `admin` (`bandsync admin token`: organizer tokens);
//! - `join` (`bandsync join`), with `commands` (the control commands it reads from stdin),
//!   `join_lines` (what it prints), `join_midi` (`--midi-out`, `--midi-in`) and `join_link`
//!   (`--link`: Ableton Link);
//! - `docs` (`bandsync chart`, `bandsync setlist`), `journal` (`bandsync chat`,
//!   `bandsync activity`) and `library` (`bandsync import`, `bandsync export`);
//! - `discover` (`bandsync discover`: sessions on the LAN) and `calibrate` (`bandsync calibrate`:
//!   the output latency no API reports);
//! - shared: `output` (event lines, JSON or sentences), `limit_args` (the connection limits of
//!   `host` and `serve`) and `store_args` (where `serve` and `admin` keep their records).

mod admin;
mod calibrate;
mod commands;
mod discover;
mod docs;
mod host;
mod join;
mod join_lines;
mod join_link;
mod join_midi;
mod journal;
mod library;
mod limit_args;
mod output;
mod serve;
mod store_args;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Keep a band in time: host or join a BandSync session.
#[derive(Debug, Parser)]
#[command(name = "bandsync", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Run a peer server hosting one session, and print its join link.
    Host(host::HostArgs),
    /// Join a session by its link, follow it, and control it from stdin.
    Join(join::JoinArgs),
    /// List the sessions on the LAN (mDNS).
    Discover(discover::DiscoverArgs),
    /// Read or replace a song's chord chart.
    Chart(docs::ChartArgs),
    /// Read or replace the setlist (JSON).
    Setlist(docs::SetlistArgs),
    /// Bring ChordPro files (or folders of them) into the setlist, each a song with its chart.
    Import(library::ImportArgs),
    /// Write a song, or the whole set, as ChordPro (to stdout, or a file per song with --dir).
    Export(library::ExportArgs),
    /// Export the chat history (JSON, CSV or text), or post a message.
    Chat(journal::ChatArgs),
    /// Print the session's activity stream.
    Activity(journal::ActivityArgs),
    /// Measure the output latency no API reports (a microphone or a monitor hears the clicks),
    /// and store it for the output device.
    Calibrate(calibrate::CalibrateArgs),
    /// Run a server for many bands' remote sessions, made by organizers through its API.
    Serve(serve::ServeArgs),
    /// Administer `bandsync serve`: organizer tokens.
    Admin(admin::AdminArgs),
}

/// Exit codes scripts can rely on.
pub mod exit {
    /// The server refused the join (unknown session, unsupported version, full, bad name).
    pub const REFUSED: u8 = 3;
    /// The connection was lost and could not be re-established.
    pub const LOST: u8 = 4;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = match &cli.cmd {
        Verb::Host(a) => a.json,
        Verb::Join(a) => a.json,
        Verb::Discover(a) => a.json,
        Verb::Chart(_) | Verb::Setlist(_) | Verb::Import(_) | Verb::Export(_) | Verb::Chat(_) => false,
        Verb::Activity(a) => a.json,
        Verb::Calibrate(a) => a.json,
        Verb::Serve(a) => a.json,
        Verb::Admin(_) => false,
    };
    init_logging(json);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = rt.block_on(async {
        match cli.cmd {
            Verb::Host(a) => host::run(a).await,
            Verb::Join(a) => join::run(a).await,
            Verb::Discover(a) => tokio::task::spawn_blocking(move || discover::run(&a)).await?,
            Verb::Chart(a) => docs::chart(a).await,
            Verb::Setlist(a) => docs::setlist(a).await,
            Verb::Import(a) => library::import(a).await,
            Verb::Export(a) => library::export(a).await,
            Verb::Chat(a) => journal::chat(a).await,
            Verb::Activity(a) => journal::activity(a).await,
            Verb::Calibrate(a) => tokio::task::spawn_blocking(move || calibrate::run(&a)).await?,
            Verb::Serve(a) => serve::run(a).await,
            Verb::Admin(a) => tokio::task::spawn_blocking(move || admin::run(&a)).await?,
        }
    });
    // A blocking stdin read may still be pending; do not wait for it.
    rt.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::fatal(json, &format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool) {
    let default = if json { "warn" } else { "info" };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("BANDSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // The WebSocket library traces whole frames, joins (and their secrets) included: cap it,
    // whatever BANDSYNC_LOG asks for. Our own code never logs a secret.
    for quiet in ["tungstenite=info", "tokio_tungstenite=info", "axum::extract::ws=info"] {
        filter = filter.add_directive(quiet.parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}
