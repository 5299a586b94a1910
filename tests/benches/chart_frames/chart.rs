//! The chart the bench renders: a realistic ChordPro song of exactly the asked number of source
//! lines (a head of meta directives, verses and choruses of chords above lyrics, comments,
//! grids), made from a seeded [`Rng`] so every run renders the same one, and how many lines the
//! read view shows for it.

use bandsync_core::chart::{Line, parse};
use bandsync_sim::rng::Rng;

const WORDS: [&str; 48] = [
    "under", "the", "lights", "we", "keep", "on", "moving", "down", "a", "long", "road", "home", "every", "night", "I",
    "hear", "you", "calling", "through", "rain", "and", "the", "river", "runs", "slow", "hold", "my", "hand", "till",
    "morning", "comes", "again", "nothing", "left", "to", "say", "but", "stay", "with", "me", "now", "in", "summer",
    "heat", "your", "heart", "beats", "true",
];
const CHORDS: [&str; 14] =
    ["G", "D/F#", "Em7", "Cmaj7", "C", "D", "Am7", "Bm", "Gsus4", "A7", "Em", "D7", "C/E", "G/B"];

fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
    from[rng.below(from.len() as u64) as usize]
}

/// A lyric line of 6 to 9 words, a chord on the first and on about a third of the others.
fn lyric(rng: &mut Rng) -> String {
    let words = 6 + rng.below(4) as usize;
    let mut line = String::new();
    for i in 0..words {
        if i == 0 || rng.chance(0.35) {
            line.push_str(&format!("[{}]", pick(rng, &CHORDS)));
        }
        line.push_str(pick(rng, &WORDS));
        line.push(' ');
    }
    line.trim_end().to_owned()
}

/// A grid row: four bars of four beats, a repeat now and then.
fn grid_row(rng: &mut Rng) -> String {
    let mut row = String::from("|");
    for _ in 0..4 {
        let c = if rng.chance(0.15) { "%" } else { pick(rng, &CHORDS) };
        row.push_str(&format!(" {c} . . . |"));
    }
    row
}

/// One block of the song: a verse, a chorus, a grid interlude or a bridge, in turn.
fn block(rng: &mut Rng, k: usize) -> Vec<String> {
    let mut b = Vec::new();
    match k % 4 {
        0 => {
            b.push(format!("{{comment: Verse {}: drums and bass only the first time}}", k / 4 + 1));
            b.push(format!("{{start_of_verse: Verse {}}}", k / 4 + 1));
            b.extend((0..8).map(|_| lyric(rng)));
            b.push("{end_of_verse}".into());
        }
        1 => {
            b.push("{start_of_chorus}".into());
            b.extend((0..6).map(|_| lyric(rng)));
            b.push("{end_of_chorus}".into());
        }
        2 => {
            b.push("{comment_italic: build, then stop on 4}".into());
            b.push("{start_of_grid: Interlude}".into());
            b.push(format!("A {}", grid_row(rng)));
            b.extend((0..2).map(|_| grid_row(rng)));
            b.push("{end_of_grid}".into());
        }
        _ => {
            b.push("{start_of_bridge}".into());
            b.extend((0..4).map(|_| lyric(rng)));
            b.push("{end_of_bridge}".into());
            b.push("{comment_box: Back to the top, then chorus x2}".into());
        }
    }
    b.push(String::new());
    b
}

/// A chart of exactly `n` source lines (at least 20): a head of meta directives and an intro
/// grid, verses, choruses, interludes and bridges in turn, and an outro that makes up the count.
pub(crate) fn chart(title: &str, n: usize) -> String {
    let mut rng = Rng::new(0x00c4_a57f_0011);
    let mut out: Vec<String> = [
        format!("{{title: {title}}}"),
        "{subtitle: a long song for the read view}".into(),
        "{artist: The Benchmarks}".into(),
        "{key: G}".into(),
        "{tempo: 96}".into(),
        "{time: 4/4}".into(),
        "# A writer's note: not shown.".into(),
        String::new(),
        "{start_of_grid: Intro}".into(),
        "|| G . . . | D/F# . . . | Em7 . . . | Cmaj7 . . . |".into(),
        "| G . . . | D . . . | C . . . | % . . . :| x2".into(),
        "{end_of_grid}".into(),
        String::new(),
    ]
    .into();
    for k in 0.. {
        let b = block(&mut rng, k);
        // The outro takes at least 4 lines: its start, a lyric, its end and a last comment.
        if out.len() + b.len() + 4 > n {
            break;
        }
        out.extend(b);
    }
    let fill = n - out.len() - 3;
    out.push("{start_of_verse: Outro}".into());
    out.extend((0..fill).map(|_| lyric(&mut rng)));
    out.push("{end_of_verse}".into());
    out.push("{comment_box: Fine: hold the last G}".into());
    assert_eq!(out.len(), n);
    out.join("\n") + "\n"
}

/// How many lines the read view shows for `text`: every line the core reads except the ends of
/// sections (their starts show as labels; meta directives and notes are not lines).
pub(crate) fn shown_lines(text: &str) -> usize {
    parse(text).lines.iter().filter(|l| !matches!(l, Line::End)).count()
}
