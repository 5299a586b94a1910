//! A song's flow: its parts in play order with their lengths in bars (`Intro 4, V1 16, C 8, V2 16,
//! C 8, Bridge 8, C 8, Outro 4`), kept in the setlist. From the bar the shared timeline is at,
//! counted from the song's start, every device finds the same part, and the chart section it names.

use super::{Chart, Line};
use serde::Serialize;

/// One part of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FlowPart"))]
pub struct Part {
    /// Its name as written (`V1`, `Chorus`, `Guitar solo`).
    pub name: String,
    /// Its length in bars (1 to 999).
    pub bars: u32,
}

/// Reads a flow: parts separated by commas, each a name and then its length in bars.
///
/// # Errors
/// A message naming the part that does not read (no name, no bar count, a count out of range).
pub fn parse(flow: &str) -> Result<Vec<Part>, String> {
    flow.split([',', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, bars) = p
                .rsplit_once(char::is_whitespace)
                .ok_or_else(|| format!("\"{p}\": a part is a name and its bars, like \"C 8\""))?;
            let bars: u32 = bars.parse().map_err(|_| format!("\"{p}\": the part's length is a number of bars"))?;
            if !(1..=999).contains(&bars) || name.trim().is_empty() {
                return Err(format!("\"{p}\": a part has a name and 1 to 999 bars"));
            }
            Ok(Part { name: name.trim().to_owned(), bars })
        })
        .collect()
}

/// Where in the flow a bar is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FlowPlace"))]
pub struct Place {
    /// The part's index in the flow.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// The bar within the part, from 0.
    pub bar: u32,
    /// The part's length in bars.
    pub bars: u32,
    /// The next part's name, if there is one.
    pub next: Option<String>,
    /// The chart section the part names (its index among the chart's sections), if any.
    pub section: Option<usize>,
    /// Whether the band vamps on this part (it repeats until the leader moves on).
    pub vamping: bool,
}

/// The part that bar `bar` (from the song's start, 0 its first bar) falls in; `None` before the
/// song (a count-in) and after its last part.
#[must_use]
pub fn place(parts: &[Part], bar: i64, chart: Option<&Chart>) -> Option<Place> {
    let mut left = u64::try_from(bar).ok()?;
    for (index, p) in parts.iter().enumerate() {
        if left < u64::from(p.bars) {
            // How many parts of this name came before: the second `C` is the chart's second chorus
            // section when the chart writes each one out, else its only one.
            let nth = parts[..index].iter().filter(|q| same_part(&q.name, &p.name)).count();
            return Some(Place {
                index,
                name: p.name.clone(),
                bar: u32::try_from(left).unwrap_or(0),
                bars: p.bars,
                next: parts.get(index + 1).map(|n| n.name.clone()),
                section: chart.and_then(|c| section_for(c, &p.name, nth)),
                vamping: false,
            });
        }
        left -= u64::from(p.bars);
    }
    None
}

/// As [`place`], while the band vamps from flow bar `from` (if it does): the part that bar is in
/// repeats, so bar `bar` counted on from there falls back into it.
#[must_use]
pub fn place_vamping(parts: &[Part], bar: i64, from: Option<i64>, chart: Option<&Chart>) -> Option<Place> {
    let Some(from) = from else { return place(parts, bar, chart) };
    let p = place(parts, from, None)?;
    let start = from - i64::from(p.bar);
    let looped = if bar >= start { start + (bar - start) % i64::from(p.bars) } else { bar };
    place(parts, looped, chart).map(|p| Place { vamping: true, ..p })
}

/// The flow bar where part `index` starts (for the leader's "go to", "repeat", "next").
#[must_use]
pub fn start_bar(parts: &[Part], index: usize) -> Option<i64> {
    (index < parts.len()).then(|| parts[..index].iter().map(|p| i64::from(p.bars)).sum())
}

/// Where the flow of the current song is at host time `now` on `transport`, read from the
/// transport's flow cursor (so every device agrees): `None` without a current song, in a
/// count-in, or past the flow's end.
#[must_use]
pub fn place_now(
    parts: &[Part],
    transport: &crate::Transport,
    now: crate::Micros,
    chart: Option<&Chart>,
) -> Option<Place> {
    let seg = transport.segment_at(now);
    let (bar, vamp) = seg.flow_bar(seg.position(now))?;
    place_vamping(parts, bar, vamp, chart)
}

/// The index (among the chart's sections, in order) of the section a part names: its `nth` one
/// of that name, or the last one when the chart writes it out fewer times.
#[must_use]
pub fn section_for(chart: &Chart, part: &str, nth: usize) -> Option<usize> {
    let found: Vec<usize> = chart
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Section { label, .. } => Some(label.as_str()),
            _ => None,
        })
        .enumerate()
        .filter(|(_, label)| names_part(label, part))
        .map(|(i, _)| i)
        .collect();
    found.get(nth).or(found.last()).copied()
}

/// A part name's words, spelled out: `V1` is `verse 1`, `C` `chorus`, `PC` `pre-chorus`.
fn spelled(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    let split = n.find(|c: char| c.is_ascii_digit()).unwrap_or(n.len());
    let (word, num) = (n[..split].trim(), n[split..].trim());
    let word = match word {
        "v" | "vs" => "verse",
        "c" | "ch" | "chor" => "chorus",
        "b" | "br" => "bridge",
        "pc" | "pre" | "prechorus" | "pre chorus" => "pre-chorus",
        "i" | "in" => "intro",
        "o" | "out" => "outro",
        "s" | "solo" => "solo",
        "t" | "tag" => "tag",
        w => w,
    };
    if num.is_empty() { word.to_owned() } else { format!("{word} {num}") }
}

/// Whether two part names mean the same part (`C` and `Chorus`).
fn same_part(a: &str, b: &str) -> bool {
    spelled(a) == spelled(b)
}

/// Whether a chart section's label names a part: the same words, or the same words without the
/// part's number (a flow's `V2` finds a chart's only `Verse`).
fn names_part(label: &str, part: &str) -> bool {
    let (l, p) = (spelled(label), spelled(part));
    l == p || p.split_once(' ').is_some_and(|(word, _)| word == l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_reads_and_every_bar_finds_its_part() {
        let f = parse("Intro 4, V1 16, C 8, V2 16, C 8, Bridge 8, C 8, Outro 4").unwrap();
        assert_eq!(f.len(), 8);
        assert_eq!(f[1], Part { name: "V1".into(), bars: 16 });
        assert_eq!(place(&f, -1, None), None, "a count-in is before the song");
        let p = place(&f, 0, None).unwrap();
        assert_eq!((p.index, p.name.as_str(), p.bar, p.next.as_deref()), (0, "Intro", 0, Some("V1")));
        let p = place(&f, 4 + 16 + 7, None).unwrap();
        assert_eq!((p.name.as_str(), p.bar, p.bars), ("C", 7, 8));
        assert_eq!(place(&f, 4 + 16 + 8, None).unwrap().name, "V2");
        assert_eq!(place(&f, 71, None).unwrap().next, None);
        assert_eq!(place(&f, 72, None), None, "after the last part");
    }

    #[test]
    fn a_vamp_loops_its_part_and_parts_have_start_bars() {
        let f = parse("Intro 2, V 4, C 4, Outro 2").unwrap();
        assert_eq!((start_bar(&f, 0), start_bar(&f, 2), start_bar(&f, 4)), (Some(0), Some(6), None));
        // Vamping from bar 7 (the chorus's second bar): bars 10, 11, ... fall back into the chorus.
        let names: Vec<(String, u32)> =
            (7..13).map(|b| place_vamping(&f, b, Some(7), None).map(|p| (p.name, p.bar)).unwrap()).collect();
        let want = [("C", 1), ("C", 2), ("C", 3), ("C", 0), ("C", 1), ("C", 2)];
        assert_eq!(names, want.map(|(n, b)| (n.to_owned(), b)));
        assert!(place_vamping(&f, 8, Some(7), None).unwrap().vamping);
        assert!(!place_vamping(&f, 8, None, None).unwrap().vamping);
    }

    #[test]
    fn what_does_not_read_says_which_part() {
        assert!(parse("Intro 4, Verse").unwrap_err().contains("\"Verse\""));
        assert!(parse("Intro four").unwrap_err().contains("number of bars"));
        assert!(parse("Intro 0").is_err());
        assert_eq!(parse(" , Guitar solo 8,\n").unwrap(), [Part { name: "Guitar solo".into(), bars: 8 }]);
    }

    #[test]
    fn a_part_finds_the_chart_section_it_names() {
        let chart = super::super::parse("{sov: Verse 1}\na\n{soc}\nb\n{sov: Verse 2}\nc\n{sob}\nd\n{chorus}\n");
        let f = parse("V1 2, C 2, V2 2, B 2, C 2, Outro 2").unwrap();
        let sections: Vec<Option<usize>> =
            (0..12).step_by(2).map(|bar| place(&f, bar, Some(&chart)).unwrap().section).collect();
        // Sections: 0 Verse 1, 1 Chorus, 2 Verse 2, 3 Bridge, 4 Chorus (the recall).
        assert_eq!(sections, [Some(0), Some(1), Some(2), Some(3), Some(4), None]);
        // A chart that writes a verse once serves every verse of the flow.
        let once = super::super::parse("{sov}\na\n");
        assert_eq!(section_for(&once, "V2", 1), Some(0));
    }
}
