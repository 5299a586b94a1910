//! Where `bandsync serve` and `bandsync admin` keep their records: a SQLite data directory, or a
//! Postgres database that several nodes share.

use bandsync_server::store::Store;
use clap::Args;
use std::path::PathBuf;

/// `--data-dir DIR` or `--database postgres://…`, and how long the database is waited for.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    #[command(flatten)]
    place: StorePlace,
    /// How long a statement may go unanswered by `--database` (ms) before its connection is
    /// given up and the next statement opens another: a database that hangs, or a partition
    /// that drops nothing, does not hold this process for ever. Postgres ends a statement that
    /// runs as long, and a transaction left idle as long, itself.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub database_timeout_ms: u64,
}

/// One of the two.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
struct StorePlace {
    /// Keep sessions, documents and organizer tokens in SQLite in this directory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep them in Postgres instead (`postgres://user@host:port/db`): the record several
    /// `bandsync serve` nodes share.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

impl StoreArgs {
    /// Opens the store.
    ///
    /// # Errors
    /// The directory or database cannot be opened or reached.
    pub fn open(&self) -> anyhow::Result<Store> {
        match (&self.place.database, &self.place.data_dir) {
            (Some(url), _) => {
                anyhow::ensure!(
                    url.starts_with("postgres://") || url.starts_with("postgresql://"),
                    "--database takes a postgres:// URL"
                );
                Ok(Store::connect_within(url, std::time::Duration::from_millis(self.database_timeout_ms.max(100)))?)
            }
            (None, Some(dir)) => Ok(Store::open(dir)?),
            (None, None) => anyhow::bail!("give --data-dir or --database"),
        }
    }
}
