//! The control commands `bandsync join` reads from stdin, one per line.

use bandsync_core::protocol::{Access, CueBy, ParticipantId};
use bandsync_core::{Beats, ClientMsg, Tempo};

/// A parsed stdin line.
#[derive(Debug, PartialEq)]
pub enum ControlLine {
    /// Send this to the server.
    Send(ClientMsg),
    /// Leave and exit.
    Quit,
    /// Nothing to do (a blank line or a comment).
    Nothing,
}

/// The commands, for the help text and error messages.
pub const HELP: &str = "tempo BPM | meter N/D | play [COUNT_IN_BARS] | stop | seek BEAT | song ID|none | cue TEXT | cue-by leader|editors|ID | flow BAR | vamp [BAR] | claim | release | handover ID | viewer ID | editor ID | rotate | pin NNNN|off | sync | quit";

/// Parses one line.
///
/// # Errors
/// A message naming the problem and the accepted commands.
pub fn parse(line: &str) -> Result<ControlLine, String> {
    let mut it = line.split_whitespace();
    let Some(cmd) = it.next() else { return Ok(ControlLine::Nothing) };
    if cmd.starts_with('#') {
        return Ok(ControlLine::Nothing);
    }
    // A cue is the rest of the line, words and all.
    if cmd == "cue" {
        let text = line.trim_start()[3..].trim();
        if text.is_empty() {
            return Err("cue needs a text, e.g. cue Last chorus".into());
        }
        return Ok(ControlLine::Send(ClientMsg::Cue { text: text.to_owned() }));
    }
    let arg = it.next();
    if it.next().is_some() {
        return Err(format!("too many words in {line:?}; commands: {HELP}"));
    }
    let need = |what: &str| arg.ok_or_else(|| format!("{cmd} needs {what}"));
    let msg = match cmd {
        "tempo" => {
            let bpm = need("a tempo in BPM")?.parse::<f64>().map_err(|_| "tempo needs a number, e.g. tempo 132")?;
            ClientMsg::Tempo { tempo: Tempo::from_bpm(bpm).map_err(|_| "a tempo is 20 to 999 BPM")? }
        }
        "meter" => {
            let (n, d) = need("a meter like 7/8")?.split_once('/').ok_or("meter needs N/D, e.g. meter 7/8")?;
            let beats = n.parse().map_err(|_| "meter needs N/D with N from 1 to 32")?;
            let unit = d.parse().map_err(|_| "meter needs N/D with D a power of two")?;
            ClientMsg::Meter { beats, unit, groups: None }
        }
        "play" => {
            let count_in = arg.map(str::parse).transpose().map_err(|_| "play takes a count-in in bars, 0 to 8")?;
            ClientMsg::Play { count_in: count_in.unwrap_or(0), on_bar: None }
        }
        "stop" => ClientMsg::Stop {},
        "seek" => {
            let b =
                need("a position in beats")?.parse::<f64>().map_err(|_| "seek needs a beat number, e.g. seek 16")?;
            ClientMsg::Seek { position: Beats::from_f64(b).ok_or("seek needs a finite beat number")? }
        }
        "song" => match need("a setlist song id, or none")? {
            "none" => ClientMsg::Song { id: None },
            id => ClientMsg::Song { id: Some(id.to_owned()) },
        },
        "flow" | "vamp" => {
            let bar = match (cmd, arg) {
                ("vamp", None) => None,
                _ => {
                    let b: i64 = need("a flow bar (from 1)")?
                        .parse()
                        .map_err(|_| format!("{cmd} needs a bar number, e.g. {cmd} 33"))?;
                    if b < 1 {
                        return Err(format!("{cmd} needs a bar from 1"));
                    }
                    Some(b - 1)
                }
            };
            ClientMsg::Flow { bar, vamp: cmd == "vamp" }
        }
        "claim" => ClientMsg::Claim {},
        "release" => ClientMsg::Release {},
        "handover" => {
            let to: ParticipantId = need("a participant id")?.parse().map_err(|_| "handover needs a participant id")?;
            ClientMsg::Handover { to }
        }
        "viewer" | "editor" => {
            let participant: ParticipantId =
                need("a participant id")?.parse().map_err(|_| format!("{cmd} needs a participant id"))?;
            let access = if cmd == "viewer" { Access::Viewer } else { Access::Editor };
            ClientMsg::SetAccess { participant, access }
        }
        "cue-by" => match need("leader, editors or a participant id")? {
            "leader" => ClientMsg::CueBy { who: CueBy::Leader, member: None },
            "editors" => ClientMsg::CueBy { who: CueBy::Editors, member: None },
            other => ClientMsg::CueBy {
                who: CueBy::Leader,
                member: Some(
                    other
                        .parse()
                        .map_err(|_| format!("cue-by takes leader, editors or a participant id, not {other:?}"))?,
                ),
            },
        },
        "sync" => ClientMsg::Sync {},
        "rotate" => ClientMsg::RotateSecret {},
        "pin" => match need("a PIN of 6 to 8 digits, or off")? {
            "off" => ClientMsg::SetPin { pin: None },
            p => ClientMsg::SetPin { pin: Some(bandsync_core::protocol::Secret(p.to_owned())) },
        },
        "quit" | "exit" | "leave" => return Ok(ControlLine::Quit),
        other => return Err(format!("unknown command {other:?}; commands: {HELP}")),
    };
    if arg.is_some()
        && matches!(
            msg,
            ClientMsg::Stop {}
                | ClientMsg::Claim {}
                | ClientMsg::Release {}
                | ClientMsg::Sync {}
                | ClientMsg::RotateSecret {}
        )
    {
        return Err(format!("{cmd} takes no argument"));
    }
    Ok(ControlLine::Send(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_commands() {
        assert_eq!(parse("tempo 132").unwrap(), ControlLine::Send(ClientMsg::Tempo { tempo: Tempo(132_000) }));
        assert_eq!(
            parse("meter 7/8").unwrap(),
            ControlLine::Send(ClientMsg::Meter { beats: 7, unit: 8, groups: None })
        );
        assert_eq!(parse("play").unwrap(), ControlLine::Send(ClientMsg::Play { count_in: 0, on_bar: None }));
        assert_eq!(
            parse("viewer 3").unwrap(),
            ControlLine::Send(ClientMsg::SetAccess { participant: 3, access: Access::Viewer })
        );
        assert_eq!(
            parse("editor 3").unwrap(),
            ControlLine::Send(ClientMsg::SetAccess { participant: 3, access: Access::Editor })
        );
        assert!(parse("viewer x").is_err());
        assert_eq!(parse("play 2").unwrap(), ControlLine::Send(ClientMsg::Play { count_in: 2, on_bar: None }));
        assert_eq!(parse("seek 16").unwrap(), ControlLine::Send(ClientMsg::Seek { position: Beats::whole(16) }));
        assert_eq!(parse("song s2").unwrap(), ControlLine::Send(ClientMsg::Song { id: Some("s2".into()) }));
        assert_eq!(parse("song none").unwrap(), ControlLine::Send(ClientMsg::Song { id: None }));
        assert_eq!(
            parse("  cue  Last chorus ").unwrap(),
            ControlLine::Send(ClientMsg::Cue { text: "Last chorus".into() })
        );
        assert!(parse("cue").is_err());
        assert_eq!(
            parse("cue-by editors").unwrap(),
            ControlLine::Send(ClientMsg::CueBy { who: CueBy::Editors, member: None })
        );
        assert_eq!(
            parse("cue-by 3").unwrap(),
            ControlLine::Send(ClientMsg::CueBy { who: CueBy::Leader, member: Some(3) })
        );
        assert!(parse("cue-by drums").is_err() && parse("cue-by").is_err());
        assert_eq!(parse("flow 33").unwrap(), ControlLine::Send(ClientMsg::Flow { bar: Some(32), vamp: false }));
        assert_eq!(parse("vamp 1").unwrap(), ControlLine::Send(ClientMsg::Flow { bar: Some(0), vamp: true }));
        assert_eq!(parse("vamp").unwrap(), ControlLine::Send(ClientMsg::Flow { bar: None, vamp: true }));
        assert!(parse("flow 0").is_err() && parse("vamp x").is_err());
        assert_eq!(parse("  quit ").unwrap(), ControlLine::Quit);
        assert_eq!(parse("").unwrap(), ControlLine::Nothing);
    }

    #[test]
    fn bad_lines_are_explained() {
        assert!(parse("tempo fast").unwrap_err().contains("number"));
        assert!(parse("meter 7").unwrap_err().contains("N/D"));
        assert!(parse("dance").unwrap_err().contains("commands"));
        assert!(parse("stop now").unwrap_err().contains("no argument"));
        assert!(parse("song").unwrap_err().contains("song id"));
    }
}
