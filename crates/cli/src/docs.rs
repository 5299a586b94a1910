//! `bandsync chart` and `bandsync setlist`: read and write the session's documents from a script,
//! for backup and automation. Each call joins briefly, syncs the documents with y-sync, acts,
//! confirms the server has the edit, and leaves.

use crate::exit;
use bandsync_client::{Client, ClientOptions, Event, JoinTarget};
use bandsync_docs::{SessionDoc, Song};
use clap::{Args, Subcommand};
use std::io::Read;
use std::time::Duration;

/// `bandsync chart get|set URL TITLE`.
#[derive(Debug, Args)]
pub struct ChartArgs {
    #[command(subcommand)]
    op: ChartOp,
}

#[derive(Debug, Subcommand)]
enum ChartOp {
    /// Print a song's chart.
    Get {
        /// The join link.
        url: String,
        /// The song's title (as in the setlist).
        title: String,
    },
    /// Replace a song's chart with stdin, as one edit (adding the song if it is new).
    Set {
        /// The join link.
        url: String,
        /// The song's title.
        title: String,
    },
}

/// `bandsync setlist get|set URL`.
#[derive(Debug, Args)]
pub struct SetlistArgs {
    #[command(subcommand)]
    op: SetlistOp,
}

#[derive(Debug, Subcommand)]
enum SetlistOp {
    /// Print the setlist as JSON (each song's `tempo` in milli-BPM: 96.5 BPM is 96500).
    Get {
        /// The join link.
        url: String,
    },
    /// Replace the setlist with the JSON array on stdin (a `tempo` below 1000 is read as BPM).
    Set {
        /// The join link.
        url: String,
    },
}

/// A short-lived member that holds a synced replica of the documents.
pub(crate) struct DocSession {
    pub(crate) client: Client,
    pub(crate) doc: SessionDoc,
}

impl DocSession {
    /// Joins and syncs. Refusals end the program with code 3, a lost connection with 4.
    pub(crate) async fn open(url: &str) -> anyhow::Result<Result<Self, u8>> {
        let client = match join_briefly(url, "bandsync-cli", false).await? {
            Ok((c, _)) => c,
            Err(code) => return Ok(Err(code)),
        };
        let mut s = DocSession { client, doc: SessionDoc::new() };
        s.confirm().await?;
        Ok(Ok(s))
    }

    async fn next(&mut self) -> Option<Event> {
        next_event(&mut self.client).await
    }

    /// Sends a sync step 1 and handles server frames until its step 2 (the first frame the server
    /// sends back, as it answers in order) has arrived: after that the server holds everything
    /// sent before, and we hold everything it had.
    pub(crate) async fn confirm(&mut self) -> anyhow::Result<()> {
        self.client.send_doc(self.doc.sync_step1());
        // The server answers a step 1 with its step 2 and then its own step 1.
        let mut frames = 0;
        while frames < 2 {
            match self.next().await {
                Some(Event::Doc { bytes }) => {
                    frames += 1;
                    for back in self.doc.handle_from_server(&bytes)? {
                        self.client.send_doc(back);
                    }
                }
                Some(Event::Error { code, message, .. }) => anyhow::bail!("{code}: {message}"),
                Some(_) => {}
                None => anyhow::bail!("the documents did not sync in time"),
            }
        }
        Ok(())
    }

    pub(crate) async fn close(self) {
        leave(self.client).await;
    }
}

/// Joins `url` as a one-shot member called `name` (its coming and going is not activity),
/// forwarding raw server messages if asked.
/// Returns the client and our participant id; a refusal gives exit code 3, a lost connection 4.
pub(crate) async fn join_briefly(
    url: &str,
    name: &str,
    forward: bool,
) -> anyhow::Result<Result<(Client, bandsync_core::protocol::ParticipantId), u8>> {
    let target = JoinTarget::parse(url).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut opts = ClientOptions::new(target, name);
    opts.member.backoff.give_up_after = Some(bandsync_core::Micros::from_secs(5));
    opts.member.forward_server_messages = forward;
    opts.member.once = true;
    let mut client = Client::spawn(opts);
    loop {
        match next_event(&mut client).await {
            Some(Event::Joined { you, .. }) => return Ok(Ok((client, you))),
            Some(Event::Refused { code, message }) => {
                eprintln!("bandsync: refused ({code}): {message}");
                return Ok(Err(exit::REFUSED));
            }
            Some(Event::Lost { reason }) => {
                eprintln!("bandsync: {reason}");
                return Ok(Err(exit::LOST));
            }
            None => return Ok(Err(exit::LOST)),
            Some(_) => {}
        }
    }
}

/// The next event, or `None` after 10 s of silence.
pub(crate) async fn next_event(client: &mut Client) -> Option<Event> {
    tokio::time::timeout(Duration::from_secs(10), client.next_event()).await.ok().flatten()
}

/// Leaves and waits until the server has let us go.
pub(crate) async fn leave(mut client: Client) {
    client.leave();
    while let Some(ev) = next_event(&mut client).await {
        if matches!(ev, Event::Left) {
            break;
        }
    }
}

fn song_id(doc: &SessionDoc, title: &str) -> Option<String> {
    doc.setlist().into_iter().find(|s| s.title == title).map(|s| s.id)
}

/// `bandsync chart`.
///
/// # Errors
/// On an unreadable link or stdin, or a sync failure.
pub async fn chart(a: ChartArgs) -> anyhow::Result<u8> {
    match a.op {
        ChartOp::Get { url, title } => {
            let s = match DocSession::open(&url).await? {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let text = song_id(&s.doc, &title).and_then(|id| s.doc.chart(&id));
            s.close().await;
            match text {
                Some(t) => {
                    print!("{t}");
                    Ok(0)
                }
                None => {
                    eprintln!("bandsync: no chart for {title:?}");
                    Ok(1)
                }
            }
        }
        ChartOp::Set { url, title } => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            let mut s = match DocSession::open(&url).await? {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let id = match song_id(&s.doc, &title) {
                Some(id) => id,
                None => {
                    let id = format!("{:016x}", rand::random::<u64>());
                    s.client.send_doc(s.doc.add_song(&Song::new(id.clone(), title.clone()))?);
                    id
                }
            };
            s.client.send_doc(s.doc.set_chart(&id, &text));
            s.confirm().await?;
            s.close().await;
            Ok(0)
        }
    }
}

/// A setlist given on stdin, read strictly: the document's reader takes whatever a member wrote,
/// but a person's mistake is told. Each tempo must be a number BandSync plays, in milli-BPM or
/// (below 1000) in BPM.
fn setlist_from(text: &str) -> anyhow::Result<Vec<Song>> {
    let bad = |e: serde_json::Error| anyhow::anyhow!("stdin is not a setlist JSON array: {e}");
    let raw: Vec<serde_json::Value> = serde_json::from_str(text).map_err(bad)?;
    for (i, song) in raw.iter().enumerate() {
        let Some(t) = song.get("tempo").filter(|t| !t.is_null()) else { continue };
        let read = t.as_f64().and_then(bandsync_core::setlist::stored_tempo_of);
        if read.is_none_or(|t| bandsync_core::Tempo::checked(t.0).is_err()) {
            anyhow::bail!(
                "song {}: tempo {t} is not one BandSync plays: 20 to 999 BPM, as BPM or milli-BPM (96.5 or 96500)",
                i + 1
            );
        }
    }
    serde_json::from_value(serde_json::Value::Array(raw)).map_err(bad)
}

/// `bandsync setlist`.
///
/// # Errors
/// On an unreadable link, bad JSON on stdin, or a sync failure.
pub async fn setlist(a: SetlistArgs) -> anyhow::Result<u8> {
    match a.op {
        SetlistOp::Get { url } => {
            let s = match DocSession::open(&url).await? {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            println!("{}", serde_json::to_string_pretty(&s.doc.setlist())?);
            s.close().await;
            Ok(0)
        }
        SetlistOp::Set { url } => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            let songs = setlist_from(&text)?;
            let mut s = match DocSession::open(&url).await? {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let u = s.doc.set_setlist(&songs)?;
            s.client.send_doc(u);
            s.confirm().await?;
            s.close().await;
            Ok(0)
        }
    }
}
