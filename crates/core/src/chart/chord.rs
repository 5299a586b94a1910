//! Chord names: their roots and basses moved by semitones, spelled with sharps or flats as the
//! key wants, and written as Nashville or Roman numbers against a key.

/// Note names by pitch class (0 = C), with sharps and with flats.
const SHARPS: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const FLATS: [&str; 12] = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"];
/// Scale degrees by semitones above the tonic, as Nashville numbers and as Roman numerals.
const NUMBERS: [&str; 12] = ["1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7"];
const ROMAN: [&str; 12] = ["I", "bII", "II", "bIII", "III", "IV", "bV", "V", "bVI", "VI", "bVII", "VII"];
/// Major keys written with flats (F Bb Eb Ab Db; F# rather than Gb), by pitch class.
const FLAT_MAJORS: [u8; 5] = [5, 10, 3, 8, 1];
/// Minor keys written with flats (Dm Gm Cm Fm Bbm Ebm), by their relative major.
const FLAT_MINORS: [u8; 6] = [5, 10, 3, 8, 1, 6];

/// How chords are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Notation {
    /// Letter names (`Am7`, `F/C`).
    #[default]
    Letters,
    /// Nashville numbers against the key (`6m7`, `4/1`).
    Nashville,
    /// Roman numerals against the key (`vi7`, `IV/1`).
    Roman,
}

/// A note name at the start of `s` (`Bb`, `F#`, `E♭`): its pitch class and its length in bytes.
#[must_use]
pub fn note(s: &str) -> Option<(u8, usize)> {
    let mut chars = s.chars();
    let base = match chars.next()? {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let (acc, len): (i8, usize) = match chars.next() {
        Some(c @ ('#' | '♯')) => (1, 1 + c.len_utf8()),
        Some(c @ ('b' | '♭')) => (-1, 1 + c.len_utf8()),
        _ => (0, 1),
    };
    Some((((base + acc + 12) % 12) as u8, len))
}

/// The name of pitch class `pc`, with flats or sharps.
fn name(pc: i32, flats: bool) -> &'static str {
    let i = pc.rem_euclid(12) as usize;
    if flats { FLATS[i] } else { SHARPS[i] }
}

/// A chord split into root, the rest, and an optional slash bass with what follows it.
struct Parts<'a> {
    root: u8,
    quality: &'a str,
    bass: Option<(u8, &'a str)>,
}

/// Reads a chord name; `None` for text that is not one (`N.C.`, `x2`, `Hm`).
fn parts(chord: &str) -> Option<Parts<'_>> {
    let c = chord.trim();
    let (root, n) = note(c)?;
    let rest = &c[n..];
    let (quality, bass) = match rest.split_once('/') {
        Some((q, b)) => {
            let (pc, len) = note(b)?;
            (q, Some((pc, &b[len..])))
        }
        None => (rest, None),
    };
    Some(Parts { root, quality, bass })
}

/// Whether chords in `key` (`Eb`, `Gm`) are spelled with flats.
#[must_use]
pub fn key_prefers_flats(key: &str) -> bool {
    let k = key.trim();
    let Some((pc, n)) = note(k) else { return false };
    if is_minor(&k[n..]) { FLAT_MINORS.contains(&((pc + 3) % 12)) } else { FLAT_MAJORS.contains(&pc) }
}

/// Whether a chord's quality (what follows its root) is minor: `m`, `m7`, `min`, `-`; not `maj7`.
fn is_minor(quality: &str) -> bool {
    (quality.starts_with('m') && !quality.starts_with("maj")) || quality.starts_with('-')
}

/// A chord name moved by `semis` semitones: its root and any slash bass (`C#m7/G#`). Text that is
/// not a chord is returned as it is.
#[must_use]
pub fn transpose_chord(chord: &str, semis: i32, flats: bool) -> String {
    let Some(p) = parts(chord).filter(|_| semis % 12 != 0) else { return chord.to_owned() };
    let mut out = format!("{}{}", name(i32::from(p.root) + semis, flats), p.quality);
    if let Some((b, after)) = p.bass {
        out.push('/');
        out.push_str(name(i32::from(b) + semis, flats));
        out.push_str(after);
    }
    out
}

/// A key moved by `semis`, spelled the conventional way for the new key (`C` + 3 is `Eb`).
#[must_use]
pub fn transpose_key(key: &str, semis: i32) -> String {
    let k = key.trim();
    if note(k).is_none() {
        return key.to_owned();
    }
    let (sharp, flat) = (transpose_chord(k, semis, false), transpose_chord(k, semis, true));
    if sharp == flat || !key_prefers_flats(&flat) { sharp } else { flat }
}

/// A chord as a scale degree of `key` (its tonic and whether it is minor is read from the name):
/// `Am7` in C is `6m7` in Nashville numbers and `vi7` in Roman numerals. Text that is not a chord,
/// or a key that is not one, leaves the chord as it is.
#[must_use]
pub fn number(chord: &str, key: &str, notation: Notation) -> String {
    let (Some(p), Some((tonic, _))) = (parts(chord), note(key.trim())) else { return chord.to_owned() };
    let degree = |pc: u8| usize::from((pc + 12 - tonic) % 12);
    let mut out = match notation {
        Notation::Letters => return chord.to_owned(),
        Notation::Nashville => format!("{}{}", NUMBERS[degree(p.root)], superscript_digits(p.quality)),
        Notation::Roman => {
            let numeral = ROMAN[degree(p.root)];
            if let Some(rest) = p.quality.strip_prefix("dim").or_else(|| p.quality.strip_prefix('°')) {
                format!("{}°{rest}", numeral.to_ascii_lowercase())
            } else if is_minor(p.quality) {
                let rest = p.quality.strip_prefix("min").unwrap_or(&p.quality[1..]);
                format!("{}{rest}", numeral.to_ascii_lowercase())
            } else {
                format!("{numeral}{}", p.quality)
            }
        }
    };
    if let Some((b, after)) = p.bass {
        out.push('/');
        out.push_str(NUMBERS[degree(b)]);
        out.push_str(after);
    }
    out
}

/// A quality's leading digits raised (`7` → `⁷`, `maj7` unchanged), as Nashville charts write
/// them, so that `5⁷` does not read as fifty-seven.
fn superscript_digits(q: &str) -> String {
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let digits = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
    q[..digits].bytes().map(|b| SUP[usize::from(b - b'0')]).chain(q[digits..].chars()).collect()
}
