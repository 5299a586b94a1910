//! The one edit that turns a text into another, in UTF-16 units as Yjs and the page's textareas
//! count them: the rule both the server's documents (`bandsync-docs`, replacing a chart's text)
//! and the page's textarea binding (`ui/src/doc/textbinding.ts`, through the wasm core) follow.

use serde::Serialize;
use std::ops::Range;

/// One edit of a text in UTF-16 units: `remove` units at `index` replaced by the `insert` units
/// of the new text that start at `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "TextEdit"))]
pub struct Edit {
    /// Where the edit starts, in both texts.
    pub index: u32,
    /// How many units of the old text it removes.
    pub remove: u32,
    /// How many units of the new text it inserts there.
    pub insert: u32,
}

impl Edit {
    /// The units of the new text the edit inserts.
    #[must_use]
    pub fn inserted(&self) -> Range<usize> {
        self.index as usize..(self.index + self.insert) as usize
    }
}

const fn high(u: u16) -> bool {
    matches!(u, 0xD800..=0xDBFF)
}

const fn low(u: u16) -> bool {
    matches!(u, 0xDC00..=0xDFFF)
}

/// The one change that turns `before` into `after`: the common prefix and suffix are kept, and
/// never end inside a surrogate pair. `caret`, the collapsed caret in `after` once the edit is
/// done, places the change where it was made when the text around it repeats ("aa" to "aaa"
/// with the caret at 2 is an insert at 1, not at 2). `None` when the texts are equal.
#[must_use]
pub fn diff(before: &[u16], after: &[u16], caret: Option<usize>) -> Option<Edit> {
    if before == after {
        return None;
    }
    let min = before.len().min(after.len());
    // The common prefix of at most `limit` units, never ending inside a surrogate pair.
    let prefix_run = |limit: usize| {
        let n = before.iter().zip(after).take(limit).take_while(|(a, b)| a == b).count();
        n - usize::from(n > 0 && high(before[n - 1]))
    };
    // The common suffix of at most `limit` units, never starting inside a surrogate pair.
    let suffix_run = |limit: usize| {
        let n = before.iter().rev().zip(after.iter().rev()).take(limit).take_while(|(a, b)| a == b).count();
        n - usize::from(n > 0 && low(before[before.len() - n]))
    };
    // Each side is cut back to whole code points before the other is found, so that the other
    // may take what it gave up: "😀" to "😁😀" is an insert of "😁", not both replaced.
    let (prefix, suffix) = match caret.filter(|&c| c <= after.len()) {
        // An edit ends at the caret: the common suffix starts at it or after it.
        Some(c) => {
            let suffix = suffix_run(min.min(after.len() - c));
            (prefix_run(min - suffix), suffix)
        }
        None => {
            let prefix = prefix_run(min);
            (prefix, suffix_run(min - prefix))
        }
    };
    let unit = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Some(Edit {
        index: unit(prefix),
        remove: unit(before.len() - prefix - suffix),
        insert: unit(after.len() - prefix - suffix),
    })
}

/// [`diff`] of two strings.
#[must_use]
pub fn diff_str(before: &str, after: &str, caret: Option<usize>) -> Option<Edit> {
    let (b, a): (Vec<u16>, Vec<u16>) = (before.encode_utf16().collect(), after.encode_utf16().collect());
    diff(&b, &a, caret)
}

#[cfg(test)]
mod tests {
    use super::{diff, diff_str};
    use crate::jitter::Jitter;

    /// The change as (index, remove, the inserted text).
    fn d(before: &str, after: &str, caret: Option<usize>) -> Option<(u32, u32, String)> {
        let a: Vec<u16> = after.encode_utf16().collect();
        diff_str(before, after, caret).map(|c| (c.index, c.remove, String::from_utf16(&a[c.inserted()]).unwrap()))
    }

    fn c(index: u32, remove: u32, insert: &str) -> Option<(u32, u32, String)> {
        Some((index, remove, insert.to_owned()))
    }

    #[test]
    fn finds_the_one_change_placed_at_the_caret_when_the_text_around_it_repeats() {
        assert_eq!(d("abc", "abc", None), None);
        assert_eq!(d("abc", "abXc", None), c(2, 0, "X"));
        assert_eq!(d("abc", "ac", None), c(1, 1, ""));
        assert_eq!(d("hello world", "hello there world", None), c(6, 0, "there "));
        assert_eq!(d("abcdef", "aXYf", None), c(1, 4, "XY"));
        // "a" typed between the two a's of "aa": without the caret the insert lands at the end.
        assert_eq!(d("aa", "aaa", None), c(2, 0, "a"));
        assert_eq!(d("aa", "aaa", Some(2)), c(1, 0, "a"));
        assert_eq!(d("aa", "aaa", Some(1)), c(0, 0, "a"));
        // Backspace in "aaa" with the caret at 2 deleted the second a.
        assert_eq!(d("aaa", "aa", Some(1)), c(1, 1, ""));
        // Enter between two newlines.
        assert_eq!(d("a\n\nb", "a\n\n\nb", Some(3)), c(2, 0, "\n"));
        // A caret past the end is no hint.
        assert_eq!(d("aa", "aaa", Some(9)), c(2, 0, "a"));
    }

    #[test]
    fn never_cuts_a_surrogate_pair() {
        // 😀 and 😁 share their high surrogate: the change is the whole emoji.
        assert_eq!(d("x😀y", "x😁y", None), c(1, 2, "😁"));
        assert_eq!(d("🎸", "🎹", Some(2)), c(0, 2, "🎹"));
        // U+1F600 (D83D DE00) and U+1F200 (D83C DE00) share only their low surrogate.
        assert_eq!(d("x\u{1F600}y", "x\u{1F200}y", None), c(1, 2, "\u{1F200}"));
        assert_eq!(d("\u{1F600}", "\u{1F200}", Some(2)), c(0, 2, "\u{1F200}"));
        assert_eq!(d("a😀", "a", None), c(1, 2, ""));
        assert_eq!(d("😀😀", "😀🎸😀", Some(4)), c(2, 0, "🎸"));
        // Each side whole before the other is found: the smallest edit, not both replaced.
        assert_eq!(d("😀", "😁😀", None), c(0, 0, "😁"));
        assert_eq!(d("😀", "😀😁", Some(2)), c(2, 0, "😁"));
    }

    #[test]
    fn turns_the_before_into_the_after_in_whole_code_points() {
        let mut rand = Jitter::new(7);
        let mut below = |n: usize| ((rand.unit() * n as f64) as usize).min(n.saturating_sub(1));
        let alphabet = ["a", "b", " ", "\n", "😀", "😁", "🎸", "\u{1F200}", "é"];
        for _ in 0..2000 {
            let before: Vec<char> = (0..below(8)).flat_map(|_| alphabet[below(9)].chars()).collect();
            let i = below(before.len() + 1);
            let j = i + below(before.len() - i + 1);
            let ins: Vec<char> = (0..below(3)).flat_map(|_| alphabet[below(9)].chars()).collect();
            let after: Vec<char> = before[..i].iter().chain(&ins).chain(&before[j..]).copied().collect();
            let units = |cs: &[char]| cs.iter().collect::<String>().encode_utf16().collect::<Vec<u16>>();
            let caret = (below(10) < 7).then(|| units(&before[..i]).len() + units(&ins).len());
            let (b16, a16) = (units(&before), units(&after));
            let Some(ch) = diff(&b16, &a16, caret) else {
                assert_eq!(before, after);
                continue;
            };
            let (index, remove) = (ch.index as usize, ch.remove as usize);
            let rebuilt: Vec<u16> =
                b16[..index].iter().chain(&a16[ch.inserted()]).chain(&b16[index + remove..]).copied().collect();
            assert_eq!(rebuilt, a16, "{before:?} -> {after:?}");
            // Whole code points: each piece decodes on its own.
            for piece in [&b16[..index], &a16[ch.inserted()], &b16[index + remove..]] {
                assert!(String::from_utf16(piece).is_ok(), "{before:?} -> {after:?}: {ch:?}");
            }
        }
    }
}
