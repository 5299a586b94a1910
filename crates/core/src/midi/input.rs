//! MIDI in, for foot controllers and pads: which notes and controllers do what, and what a press
//! means. The member turns a [`PedalCommand`] into the same messages the leader's buttons send,
//! so the host checks its authority exactly as for the UI.

use crate::protocol::{ClientMsg, cue_text};
use crate::tap::TapTempo;
use crate::time::Micros;
use crate::timeline::Tempo;

/// What a pedal or key can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The setlist song before the current one.
    Previous,
    /// The setlist song after the current one (the first, when none is current).
    Next,
    /// Start the metronome if stopped, stop it if playing.
    PlayStop,
    /// One tap of tap tempo.
    Tap,
    /// Cue the band with this text ("Last chorus"): it lands on the next bar line.
    Cue(String),
}

impl std::str::FromStr for Action {
    type Err = String;
    /// `previous`, `next`, `playstop`, `tap`, or `cue TEXT` (the text may be in double quotes,
    /// and must be one the host takes: [`cue_text`]).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (word, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
        if word.eq_ignore_ascii_case("cue") {
            let rest = rest.trim();
            let text = match rest.strip_prefix('"') {
                Some(r) => r.strip_suffix('"').ok_or_else(|| format!("cue {rest}: the closing quote is missing"))?,
                None => rest,
            };
            if text.contains('"') {
                return Err(format!(
                    "cue {rest}: a quote inside the text (quote the whole text, without quotes in it)"
                ));
            }
            return Ok(Action::Cue(cue_text(text).map_err(|e| format!("cue {text:?}: {e}"))?.to_owned()));
        }
        match s.to_ascii_lowercase().as_str() {
            "previous" | "prev" => Ok(Action::Previous),
            "next" => Ok(Action::Next),
            "playstop" | "play/stop" => Ok(Action::PlayStop),
            "tap" => Ok(Action::Tap),
            other => Err(format!("{other:?} is not an action (previous, next, playstop, tap, cue TEXT)")),
        }
    }
}

/// What presses a pedal: a note (on, velocity above 0) or a controller rising through 64, on a
/// channel or any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Note { channel: Option<u8>, note: u8 },
    Control { channel: Option<u8>, controller: u8 },
}

/// What the member should send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PedalCommand {
    /// Choose the previous song.
    Previous,
    /// Choose the next song.
    Next,
    /// Play or stop.
    PlayStop,
    /// Set this tempo (from four taps on).
    Tempo(Tempo),
    /// Cue the band.
    Cue(String),
}

impl PedalCommand {
    /// The message the leader's button for this sends, and the action's name (`next`, `play`,
    /// ...): a song steps through `setlist` (the songs' ids, in order) from `current`; play/stop
    /// stops when the band's latest schedule plays (a start already pending included) and plays
    /// otherwise. The host checks the sender's authority as for the button.
    ///
    /// # Errors
    /// There is no song that way in the setlist.
    pub fn message(
        self,
        setlist: &[&str],
        current: Option<&str>,
        playing: bool,
    ) -> Result<(&'static str, ClientMsg), String> {
        Ok(match self {
            PedalCommand::Next | PedalCommand::Previous => {
                let (by, action) = if self == PedalCommand::Next { (1, "next") } else { (-1, "previous") };
                match step_song(setlist, current, by) {
                    Some(id) => (action, ClientMsg::Song { id: Some(id.to_owned()) }),
                    None => return Err(format!("no {action} song in the setlist")),
                }
            }
            PedalCommand::PlayStop if playing => ("stop", ClientMsg::Stop {}),
            PedalCommand::PlayStop => ("play", ClientMsg::Play { count_in: 0, on_bar: None }),
            PedalCommand::Tempo(t) => ("tempo", ClientMsg::Tempo { tempo: t }),
            PedalCommand::Cue(text) => ("cue", ClientMsg::Cue { text }),
        })
    }
}

/// Taps before tap tempo sets a tempo: three intervals, so one stray tap does not.
pub const TAPS_TO_SET: usize = 4;

/// The map used without `--midi-map`: keys C4, D4 and E4 for previous, next and tap, and the
/// sustain pedal (controller 64) for play/stop.
pub const DEFAULT_MAP: &str = "note 60=previous; note 62=next; note 64=tap; cc 64=playstop";

/// Notes and controllers, each with its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MidiMap(Vec<(Trigger, Action)>);

impl std::str::FromStr for MidiMap {
    type Err = String;
    /// `note N=ACTION; cc N=ACTION`, each optionally `@CHANNEL` before the `=`; entries are
    /// parted by `;` or `,` outside double quotes (`note 65=cue "Slow, then out"`).
    fn from_str(text: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in entries(text).map(str::trim).filter(|p| !p.is_empty()) {
            let (lhs, action) = part.split_once('=').ok_or_else(|| format!("{part:?}: expected TRIGGER=ACTION"))?;
            let action: Action = action.parse().map_err(|e| format!("{part:?}: {e}"))?;
            let (lhs, channel) = match lhs.split_once('@') {
                Some((l, c)) => {
                    let ch = c.trim().parse::<u8>().ok().filter(|c| (1..=16).contains(c));
                    (l, Some(ch.ok_or_else(|| format!("{part:?}: the channel after @ must be 1 to 16"))?))
                }
                None => (lhs, None),
            };
            let num = |w: &str| {
                w.parse::<u8>().ok().filter(|n| *n <= 127).ok_or_else(|| format!("{part:?}: {w:?} is not 0 to 127"))
            };
            let trigger = match lhs.split_whitespace().collect::<Vec<_>>().as_slice() {
                [k, n] if k.eq_ignore_ascii_case("note") => Trigger::Note { channel, note: num(n)? },
                [k, n] if k.eq_ignore_ascii_case("cc") => Trigger::Control { channel, controller: num(n)? },
                _ => return Err(format!("{part:?}: expected \"note N=ACTION\" or \"cc N=ACTION\"")),
            };
            out.push((trigger, action));
        }
        if out.is_empty() {
            return Err("a MIDI map needs at least one entry".into());
        }
        Ok(MidiMap(out))
    }
}

/// A map's entries: `text` parted at each `;` or `,` outside double quotes.
fn entries(text: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    text.split(move |c| {
        if c == '"' {
            quoted = !quoted;
        }
        !quoted && (c == ';' || c == ',')
    })
}

/// MIDI in: bytes and their times in, commands out.
#[derive(Debug, Clone)]
pub struct MidiInput {
    map: MidiMap,
    /// Controllers held at 64 or above, by channel (bit per controller).
    held: [u128; 16],
    taps: TapTempo,
}

impl MidiInput {
    /// Input through `map`.
    #[must_use]
    pub fn new(map: MidiMap) -> Self {
        MidiInput { map, held: [0; 16], taps: TapTempo::new() }
    }

    /// One MIDI message received at `at` (tap tempo uses the times).
    pub fn handle(&mut self, at: Micros, bytes: &[u8]) -> Option<PedalCommand> {
        let (&status, data) = bytes.split_first()?;
        let channel = status & 0x0F;
        let pressed = match (status & 0xF0, data) {
            (0x90, &[note, vel, ..]) if vel > 0 => Some(Trigger::Note { channel: Some(channel + 1), note }),
            (0xB0, &[controller, value, ..]) if controller < 128 => {
                let bit = 1u128 << controller;
                let was = self.held[usize::from(channel)] & bit != 0;
                if value >= 64 {
                    self.held[usize::from(channel)] |= bit;
                } else {
                    self.held[usize::from(channel)] &= !bit;
                }
                (value >= 64 && !was).then_some(Trigger::Control { channel: Some(channel + 1), controller })
            }
            _ => None,
        }?;
        let action = &self.map.0.iter().find(|(t, _)| matches(*t, pressed))?.1;
        match action {
            Action::Cue(text) => Some(PedalCommand::Cue(text.clone())),
            Action::Previous => Some(PedalCommand::Previous),
            Action::Next => Some(PedalCommand::Next),
            Action::PlayStop => Some(PedalCommand::PlayStop),
            Action::Tap => {
                let t = self.taps.tap(at)?;
                (self.taps.count() >= TAPS_TO_SET).then_some(PedalCommand::Tempo(t))
            }
        }
    }
}

/// Whether a map entry covers a press (an entry without a channel covers every channel).
fn matches(entry: Trigger, pressed: Trigger) -> bool {
    match (entry, pressed) {
        (Trigger::Note { channel: c, note: n }, Trigger::Note { channel: pc, note: pn }) => {
            n == pn && (c.is_none() || c == pc)
        }
        (Trigger::Control { channel: c, controller: n }, Trigger::Control { channel: pc, controller: pn }) => {
            n == pn && (c.is_none() || c == pc)
        }
        _ => false,
    }
}

/// The setlist song `by` steps from `current` (by id; the first or the last when none is current
/// or it is not in the setlist), or `None` past either end.
#[must_use]
pub fn step_song<'a>(setlist: &[&'a str], current: Option<&str>, by: i64) -> Option<&'a str> {
    let at = current.and_then(|c| setlist.iter().position(|s| *s == c));
    let i = match at {
        Some(i) => i as i64 + by,
        None if by > 0 => 0,
        None => setlist.len() as i64 - 1,
    };
    usize::try_from(i).ok().and_then(|i| setlist.get(i).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> MidiMap {
        DEFAULT_MAP.parse().unwrap()
    }

    #[test]
    fn maps_read_and_bad_ones_are_explained() {
        let m: MidiMap = "note 36@10=tap; cc 80=next".parse().unwrap();
        assert_eq!(m.0.len(), 2);
        for (bad, says) in [
            ("note 60", "TRIGGER=ACTION"),
            ("note 60=dance", "not an action"),
            ("cc 200=next", "0 to 127"),
            ("note 1@0=tap", "1 to 16"),
            ("", "at least one"),
        ] {
            let e = bad.parse::<MidiMap>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn notes_and_pedals_press_once() {
        let mut i = MidiInput::new(map());
        assert_eq!(i.handle(Micros(0), &[0x90, 62, 100]), Some(PedalCommand::Next));
        assert_eq!(i.handle(Micros(0), &[0x90, 62, 0]), None, "note on at velocity 0 is a release");
        assert_eq!(i.handle(Micros(0), &[0x80, 60, 0]), None);
        assert_eq!(i.handle(Micros(0), &[0x93, 60, 1]), Some(PedalCommand::Previous), "any channel");
        // The sustain pedal: down is a press, held is not, up then down is another.
        assert_eq!(i.handle(Micros(0), &[0xB0, 64, 127]), Some(PedalCommand::PlayStop));
        assert_eq!(i.handle(Micros(0), &[0xB0, 64, 100]), None);
        assert_eq!(i.handle(Micros(0), &[0xB0, 64, 0]), None);
        assert_eq!(i.handle(Micros(0), &[0xB0, 64, 127]), Some(PedalCommand::PlayStop));
        assert_eq!(i.handle(Micros(0), &[0xB0, 7, 127]), None, "an unmapped controller");
        assert_eq!(i.handle(Micros(0), &[0xF8]), None);
        assert_eq!(i.handle(Micros(0), &[]), None);
        let mut ch = MidiInput::new("note 36@10=tap; note 36=next".parse().unwrap());
        assert_eq!(ch.handle(Micros(0), &[0x90, 36, 90]), Some(PedalCommand::Next), "channel 1 is not 10");
    }

    #[test]
    fn a_key_cues_the_band_with_the_text_of_its_entry() {
        let m: MidiMap =
            r#"note 65=cue Last chorus; cc 80@2=cue "Slow, then out"; note 67=CUE  Break "#.parse().unwrap();
        let mut i = MidiInput::new(m);
        assert_eq!(i.handle(Micros(0), &[0x90, 65, 90]), Some(PedalCommand::Cue("Last chorus".into())));
        assert_eq!(i.handle(Micros(0), &[0xB1, 80, 127]), Some(PedalCommand::Cue("Slow, then out".into())));
        assert_eq!(i.handle(Micros(0), &[0xB0, 80, 127]), None, "channel 1 is not 2");
        assert_eq!(i.handle(Micros(0), &[0x90, 67, 90]), Some(PedalCommand::Cue("Break".into())));
        // What the host would refuse is refused when the map is read, with the host's reason.
        for bad in ["note 1=cue", "note 1=cue \"\"", &format!("note 1=cue {}", "x".repeat(61))] {
            let e = bad.parse::<MidiMap>().unwrap_err();
            assert!(e.contains("1 to 60 characters"), "{bad}: {e}");
        }
        let e = "note 1=cue \"open; cc 2=next".parse::<MidiMap>().unwrap_err();
        assert!(e.contains("closing quote"), "an unclosed quote: {e}");
        // A stray quote does not swallow the entries after it.
        let e = "note 65=cue 12\" mix; note 66=next".parse::<MidiMap>().unwrap_err();
        assert!(e.contains("a quote inside"), "a stray quote: {e}");
    }

    #[test]
    fn four_taps_set_the_tempo() {
        let mut i = MidiInput::new(map());
        let tap = |i: &mut MidiInput, ms: i64| i.handle(Micros::from_millis(ms), &[0x90, 64, 100]);
        assert_eq!(tap(&mut i, 0), None);
        assert_eq!(tap(&mut i, 400), None);
        assert_eq!(tap(&mut i, 800), None);
        assert_eq!(tap(&mut i, 1200), Some(PedalCommand::Tempo(Tempo(150_000))));
    }

    #[test]
    fn a_press_becomes_the_leaders_message() {
        let list = ["a", "b"];
        let msg = |c: PedalCommand, cur: Option<&str>, playing: bool| c.message(&list, cur, playing);
        assert_eq!(msg(PedalCommand::Next, Some("a"), false), Ok(("next", ClientMsg::Song { id: Some("b".into()) })));
        assert_eq!(msg(PedalCommand::Previous, Some("a"), false), Err("no previous song in the setlist".into()));
        assert_eq!(msg(PedalCommand::PlayStop, None, true), Ok(("stop", ClientMsg::Stop {})));
        assert_eq!(
            msg(PedalCommand::PlayStop, None, false),
            Ok(("play", ClientMsg::Play { count_in: 0, on_bar: None }))
        );
        assert_eq!(
            msg(PedalCommand::Cue("Out".into()), None, true),
            Ok(("cue", ClientMsg::Cue { text: "Out".into() }))
        );
    }

    #[test]
    fn songs_step_through_the_setlist() {
        let list = ["a", "b", "c"];
        assert_eq!(step_song(&list, None, 1), Some("a"));
        assert_eq!(step_song(&list, None, -1), Some("c"));
        assert_eq!(step_song(&list, Some("a"), 1), Some("b"));
        assert_eq!(step_song(&list, Some("a"), -1), None);
        assert_eq!(step_song(&list, Some("c"), 1), None);
        assert_eq!(step_song(&list, Some("gone"), 1), Some("a"));
        assert_eq!(step_song(&[], None, 1), None);
    }
}
