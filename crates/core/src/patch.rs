//! A song's MIDI patch (the program and control changes stored with it in the setlist, as
//! musicians write them) and [`SongCue`], the song as the shared timeline carries it. Apart from
//! [`crate::midi`], which sends the patch, because the timeline carries the cue and MIDI follows
//! the timeline.

use serde::{Deserialize, Serialize};

/// A message of a song's patch, sent on the bar where the song becomes current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchMsg {
    /// Program Change: `program` 0 to 127 on `channel` 1 to 16.
    Program {
        /// 1 to 16.
        channel: u8,
        /// 0 to 127.
        program: u8,
    },
    /// Control Change (Bank Select is controllers 0 and 32).
    Control {
        /// 1 to 16.
        channel: u8,
        /// 0 to 127.
        controller: u8,
        /// 0 to 127.
        value: u8,
    },
}

/// A song as the timeline carries it: from the segment's bar on, this song is current, and a MIDI
/// member sends its patch there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SongCue {
    /// The setlist song's id.
    pub id: String,
    /// Its MIDI patch as the setlist writes it ([`parse_patch`]), checked by the host when the
    /// song was chosen. Text on the wire: the phone page carries it without a parser of its own.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub midi: String,
}

impl SongCue {
    /// The patch's messages (none if the text cannot be read; a host never sends such a cue).
    #[must_use]
    pub fn patch(&self) -> Vec<PatchMsg> {
        parse_patch(&self.midi).unwrap_or_default()
    }
}

/// The longest patch a song may carry.
pub const MAX_PATCH: usize = 16;

/// Reads a song's MIDI patch as musicians write it in the setlist: messages separated by `;` or
/// `,`, each `pc PROGRAM`, `cc CONTROLLER VALUE` or `bank MSB[:LSB]` (Bank Select, controllers 0
/// and 32), optionally followed by `@CHANNEL` (1 to 16, default 1). Numbers are 0 to 127, as the
/// bytes on the wire. Example: `bank 0:2; pc 17; cc 7 100 @2`.
///
/// # Errors
/// A message naming what is wrong with the first bad part.
pub fn parse_patch(text: &str) -> Result<Vec<PatchMsg>, String> {
    let mut out = Vec::new();
    for part in text.split([';', ',']).map(str::trim).filter(|p| !p.is_empty()) {
        let (body, channel) = match part.split_once('@') {
            Some((b, c)) => {
                let ch = c.trim().parse::<u8>().ok().filter(|c| (1..=16).contains(c));
                (b.trim(), ch.ok_or_else(|| format!("{part:?}: the channel after @ must be 1 to 16"))?)
            }
            None => (part, 1),
        };
        let words: Vec<&str> = body.split_whitespace().collect();
        let num = |w: &str| -> Result<u8, String> {
            w.parse::<u8>()
                .ok()
                .filter(|n| *n <= 127)
                .ok_or_else(|| format!("{part:?}: {w:?} is not a number from 0 to 127"))
        };
        match words.as_slice() {
            [op, p] if op.eq_ignore_ascii_case("pc") => out.push(PatchMsg::Program { channel, program: num(p)? }),
            [op, c, v] if op.eq_ignore_ascii_case("cc") => {
                out.push(PatchMsg::Control { channel, controller: num(c)?, value: num(v)? });
            }
            [op, b] if op.eq_ignore_ascii_case("bank") => {
                let (msb, lsb) = match b.split_once(':') {
                    Some((m, l)) => (num(m)?, Some(num(l)?)),
                    None => (num(b)?, None),
                };
                out.push(PatchMsg::Control { channel, controller: 0, value: msb });
                if let Some(l) = lsb {
                    out.push(PatchMsg::Control { channel, controller: 32, value: l });
                }
            }
            _ => return Err(format!("{part:?}: expected \"pc N\", \"cc CONTROLLER VALUE\" or \"bank MSB[:LSB]\"")),
        }
    }
    if out.len() > MAX_PATCH {
        return Err(format!("a song's MIDI patch has at most {MAX_PATCH} messages"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_read_as_musicians_write_them() {
        assert_eq!(
            parse_patch("bank 0:2; pc 17, cc 7 100 @2").unwrap(),
            vec![
                PatchMsg::Control { channel: 1, controller: 0, value: 0 },
                PatchMsg::Control { channel: 1, controller: 32, value: 2 },
                PatchMsg::Program { channel: 1, program: 17 },
                PatchMsg::Control { channel: 2, controller: 7, value: 100 },
            ]
        );
        assert_eq!(parse_patch("  ").unwrap(), vec![]);
        assert_eq!(parse_patch("PC 0").unwrap(), vec![PatchMsg::Program { channel: 1, program: 0 }]);
        for (bad, says) in
            [("pc 128", "0 to 127"), ("pc 1 @17", "1 to 16"), ("program 3", "expected"), ("cc 7", "expected")]
        {
            let e = parse_patch(bad).unwrap_err();
            assert!(e.contains(says) && e.contains(bad.split('@').next().unwrap().trim()), "{bad}: {e}");
        }
        assert!(parse_patch(&"pc 1;".repeat(MAX_PATCH + 1)).is_err());
    }
}
