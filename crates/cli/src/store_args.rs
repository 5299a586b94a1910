//! Where `bandsync serve` and `bandsync admin` keep their records: a SQLite data directory, or a
//! Postgres database that several nodes share.

use bandsync_server::store::Store;
use clap::Args;
use std::path::PathBuf;

/// `--data-dir DIR` or `--database postgres://…`.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct StoreArgs {
    /// Keep sessions, documents and organizer tokens in SQLite in this directory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep them in Postgres instead (`postgres://user@host:port/db`): the record several
    /// `bandsync serve` nodes share.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

impl StoreArgs {
    /// Opens the store.
    ///
    /// # Errors
    /// The directory or database cannot be opened or reached.
    pub fn open(&self) -> anyhow::Result<Store> {
        match (&self.database, &self.data_dir) {
            (Some(url), _) => {
                anyhow::ensure!(
                    url.starts_with("postgres://") || url.starts_with("postgresql://"),
                    "--database takes a postgres:// URL"
                );
                Ok(Store::connect(url)?)
            }
            (None, Some(dir)) => Ok(Store::open(dir)?),
            (None, None) => anyhow::bail!("give --data-dir or --database"),
        }
    }
}
