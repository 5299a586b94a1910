//! `bandsync chat` and `bandsync activity`: the session's chat and activity stream from a script.
//! Each call joins briefly, pages through the history from the newest back, prints it, and leaves.

use crate::docs::{join_briefly, leave, next_event};
use bandsync_client::{Client, Event};
use bandsync_core::chat::export;
use bandsync_core::protocol::{ActivityEvent, ChatMessage};
use bandsync_core::{ClientMsg, ServerMsg};
use clap::{Args, Subcommand, ValueEnum};

/// `bandsync chat export|send URL`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    #[command(subcommand)]
    op: ChatOp,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Csv,
    Txt,
}

#[derive(Debug, Subcommand)]
enum ChatOp {
    /// Print the whole chat history.
    Export {
        /// The join link.
        url: String,
        /// json (every message, deleted ones as tombstones), csv or txt.
        #[arg(long, value_enum, default_value = "txt")]
        format: Format,
        /// Only messages containing this text (in the message or the author's name).
        #[arg(long)]
        search: Option<String>,
    },
    /// Post a message.
    Send {
        /// The join link.
        url: String,
        /// The text.
        text: String,
        /// Post as this name.
        #[arg(long, default_value = "bandsync-cli")]
        name: String,
    },
}

/// `bandsync activity URL`.
#[derive(Debug, Args)]
pub struct ActivityArgs {
    /// The join link.
    url: String,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// At most this many of the newest entries.
    #[arg(long, default_value_t = 1000)]
    last: usize,
}

/// Waits for the answer to a request: the first message `pick` accepts, or an error about `kind`.
async fn answer<T>(client: &mut Client, kind: &str, mut pick: impl FnMut(ServerMsg) -> Option<T>) -> anyhow::Result<T> {
    loop {
        match next_event(client).await {
            Some(Event::Server { msg: ServerMsg::Error { code, message, about } })
                if about.as_deref() == Some(kind) =>
            {
                anyhow::bail!("{code}: {message}")
            }
            Some(Event::Server { msg: m }) => {
                if let Some(t) = pick(m) {
                    return Ok(t);
                }
            }
            Some(Event::Lost { reason }) => anyhow::bail!("connection lost: {reason}"),
            None => anyhow::bail!("no answer from the host"),
            Some(_) => {}
        }
    }
}

/// `bandsync chat`.
///
/// # Errors
/// On an unreadable link, a refusal of the request, or a lost connection.
pub async fn chat(a: ChatArgs) -> anyhow::Result<u8> {
    match a.op {
        ChatOp::Export { url, format, search } => {
            let mut client = match join_briefly(&url, "bandsync-cli", true).await? {
                Ok((c, _)) => c,
                Err(code) => return Ok(code),
            };
            let mut all: Vec<ChatMessage> = Vec::new();
            let mut before = None;
            loop {
                client.send(ClientMsg::ChatHistory { before, limit: Some(500), query: search.clone() });
                let (page, more) = answer(&mut client, "chat_history", |m| match m {
                    ServerMsg::ChatHistory { messages, more } => Some((messages, more)),
                    _ => None,
                })
                .await?;
                before = page.first().map(|m| m.id);
                all.splice(0..0, page);
                if !more || before.is_none() {
                    break;
                }
            }
            leave(client).await;
            let name = match format {
                Format::Json => "json",
                Format::Csv => "csv",
                Format::Txt => "txt",
            };
            let out = export(&all, name).map_err(anyhow::Error::msg)?;
            print!("{out}");
            if name == "json" {
                println!();
            }
            Ok(0)
        }
        ChatOp::Send { url, text, name } => {
            let (mut client, me) = match join_briefly(&url, &name, true).await? {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            client.send(ClientMsg::Chat { text, reply_to: None });
            let m = answer(&mut client, "chat", |m| match m {
                ServerMsg::Chat { message } if message.from == me => Some(message),
                _ => None,
            })
            .await?;
            leave(client).await;
            println!("{}", m.id);
            Ok(0)
        }
    }
}

/// `bandsync activity`.
///
/// # Errors
/// On an unreadable link, a refusal, or a lost connection.
pub async fn activity(a: ActivityArgs) -> anyhow::Result<u8> {
    let mut client = match join_briefly(&a.url, "bandsync-cli", true).await? {
        Ok((c, _)) => c,
        Err(code) => return Ok(code),
    };
    let mut all: Vec<ActivityEvent> = Vec::new();
    let mut before = None;
    while all.len() < a.last {
        let limit = (a.last - all.len()).min(500) as u32;
        client.send(ClientMsg::ActivityHistory { before, limit: Some(limit) });
        let (page, more) = answer(&mut client, "activity_history", |m| match m {
            ServerMsg::ActivityHistory { events, more } => Some((events, more)),
            _ => None,
        })
        .await?;
        before = page.first().map(|e| e.id);
        all.splice(0..0, page);
        if !more || before.is_none() {
            break;
        }
    }
    leave(client).await;
    for e in &all {
        if a.json {
            println!("{}", serde_json::to_string(e)?);
        } else {
            println!("[{}] {}", bandsync_core::chat::utc(e.at), e.summary);
        }
    }
    Ok(0)
}
