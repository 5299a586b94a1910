//! `bandsync admin token create|revoke|list`: organizer tokens for `bandsync serve`, written to
//! its store (`--data-dir` or `--database`) (a running server sees a change at its next request).

use crate::output::emit;
use crate::store_args::StoreArgs;
use clap::{Args, Subcommand};
use serde_json::json;

/// `bandsync admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    op: AdminOp,
}

#[derive(Debug, Subcommand)]
enum AdminOp {
    /// Organizer tokens.
    Token {
        #[command(subcommand)]
        op: TokenOp,
    },
}

#[derive(Debug, Subcommand)]
enum TokenOp {
    /// Issue a token for an organizer (printed once; only its digest is kept).
    Create {
        /// The organizer's name.
        name: String,
        /// How many sessions it may hold at once.
        #[arg(long, default_value_t = 10)]
        quota: u32,
        /// `bandsync serve`'s store.
        #[command(flatten)]
        store: StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an organizer's token at once (its sessions stay until deleted or idle).
    Revoke {
        /// The organizer's name.
        name: String,
        /// `bandsync serve`'s store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the organizers.
    List {
        /// `bandsync serve`'s store.
        #[command(flatten)]
        store: StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one admin command.
///
/// # Errors
/// The data directory cannot be opened; the organizer already has a token.
pub fn run(a: &AdminArgs) -> anyhow::Result<u8> {
    let AdminOp::Token { op } = &a.op;
    match op {
        TokenOp::Create { name, quota, store, json } => {
            let token = store.open()?.create_organizer(name, *quota)?;
            let v = json!({"organizer": name, "quota": quota, "token": token});
            emit(*json, &v, || token.clone());
        }
        TokenOp::Revoke { name, store } => {
            if !store.open()?.revoke_organizer(name)? {
                anyhow::bail!("there is no organizer {name:?}");
            }
        }
        TokenOp::List { store, json } => {
            let list = store.open()?.organizers()?;
            emit(*json, &json!({"organizers": list}), || {
                list.iter()
                    .map(|o| {
                        format!(
                            "{}\tquota {}\t{} sessions{}",
                            o.name,
                            o.quota,
                            o.sessions,
                            if o.revoked { "\trevoked" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(0)
}
