//! The chart reader against the ChordPro specification's examples (its "Swing Low" song, its
//! grid page's examples), and the chord rules musicians expect.

use super::*;

fn lyrics(pairs: &[(Option<&str>, &str)]) -> Line {
    Line::Lyrics {
        pairs: pairs
            .iter()
            .map(|(c, t)| Pair { chord: c.map(str::to_owned), shape: None, text: (*t).to_owned() })
            .collect(),
    }
}

fn chords(line: &Line) -> Vec<(String, Option<String>)> {
    match line {
        Line::Lyrics { pairs } => pairs.iter().filter_map(|p| Some((p.chord.clone()?, p.shape.clone()))).collect(),
        Line::Grid { cells } => cells
            .iter()
            .filter_map(|c| match c {
                Cell::Chord { chord, shape } => Some((chord.clone(), shape.clone())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The specification's introductory example, as it gives it.
const SWING_LOW: &str = "# Example of a simple ChordPro song.\n\n{title: Swing Low Sweet Chariot}\n\
{subtitle: Traditional}\n\n{start_of_chorus}\nSwing [D]low, sweet [G]chari[D]ot,\n\
Comin\u{2019} for to carry me [A7]home.\n{end_of_chorus}\n\n# Verse.\n\
I [D]looked over Jordan, and [G]what did I [D]see,\nComin\u{2019} for to carry me [A7]home.\n\n\
# One more chorus.\n{chorus}\n";

#[test]
fn the_specifications_example_reads_as_chords_over_lyrics_in_sections() {
    let c = parse(SWING_LOW);
    assert_eq!(c.meta.title.as_deref(), Some("Swing Low Sweet Chariot"));
    assert_eq!(c.meta.subtitle.as_deref(), Some("Traditional"));
    let chorus = lyrics(&[(None, "Swing "), (Some("D"), "low, sweet "), (Some("G"), "chari"), (Some("D"), "ot,")]);
    let home = lyrics(&[(None, "Comin\u{2019} for to carry me "), (Some("A7"), "home.")]);
    let expected = vec![
        Line::Blank,
        Line::Title { text: "Swing Low Sweet Chariot".into() },
        Line::Subtitle { text: "Traditional".into() },
        Line::Blank,
        Line::Section { section: SectionKind::Chorus, label: "Chorus".into(), recall: false },
        chorus.clone(),
        home.clone(),
        Line::End,
        Line::Blank,
        lyrics(&[
            (None, "I "),
            (Some("D"), "looked over Jordan, and "),
            (Some("G"), "what did I "),
            (Some("D"), "see,"),
        ]),
        home.clone(),
        Line::Blank,
        // `{chorus}` recalls the last chorus, its lines copied under its label.
        Line::Section { section: SectionKind::Chorus, label: "Chorus".into(), recall: true },
        chorus,
        home,
        Line::End,
    ];
    assert_eq!(c.lines, expected, "the `#` lines are the writer's notes, left out");
    assert_eq!(music_lines(&c), 6);
}

#[test]
fn the_grid_examples_read_as_cells_bar_lines_repeats_and_margins() {
    let c = parse(
        "{start_of_grid: Intro}\n|| Am . . . | C . . . | D  . . . | F  . . . |\n{end_of_grid}\n\
         {start_of_grid 1+4x2+4}\nA    || G7 . | % . | %% . | . . |\n\
         Coda | D7 . | Eb7 | D7 | G7 . | % . |.\n  |: C7 . | %  . :|: G7 . | % . :| repeat 4 times\n{eog}",
    );
    assert_eq!(c.lines[0], Line::Section { section: SectionKind::Grid, label: "Intro".into(), recall: false });
    let bar = |s: &str| Cell::Bar { symbol: s.into() };
    let ch = |s: &str| Cell::Chord { chord: s.into(), shape: None };
    let Line::Grid { cells } = &c.lines[1] else { panic!("{:?}", c.lines[1]) };
    assert_eq!(cells[..6], [bar("||"), ch("Am"), Cell::Empty, Cell::Empty, Cell::Empty, bar("|")]);
    assert_eq!(
        c.lines[3],
        Line::Section { section: SectionKind::Grid, label: "Grid".into(), recall: false },
        "a shape is no label"
    );
    let Line::Grid { cells } = &c.lines[4] else { panic!() };
    assert_eq!(cells[0], Cell::Margin { text: "A".into() });
    assert!(cells.contains(&Cell::Repeat { symbol: "%%".into() }));
    let Line::Grid { cells } = &c.lines[5] else { panic!() };
    assert_eq!((cells.first(), cells.last()), (Some(&Cell::Margin { text: "Coda".into() }), Some(&bar("|."))));
    let Line::Grid { cells } = &c.lines[6] else { panic!() };
    assert_eq!(cells[0], bar("|:"));
    assert!(cells.contains(&bar(":|:")));
    assert_eq!(cells.last(), Some(&Cell::Margin { text: "repeat 4 times".into() }));
    // Grid chords transpose like any other.
    let r = render(c, &View { transpose: 2, ..View::default() });
    assert_eq!(chords(&r.chart.lines[1]).iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["Bm", "D", "E", "G"]);
}

#[test]
fn sections_comments_tabs_and_unknown_directives() {
    let c = parse(
        "{soc: Last chorus}\n[C]La\n{eoc}\n{start_of_verse label=\"Verse 2\"}\nla\n{end_of_verse}\n\
         {start_of_intro}\n{c: Capo 2}\n{ci: softly}\n{cb: Key change}\n{sot}\n e|--[0]--|\n{eot}\n\
         {textfont: Times}\n{new_page}\n{key: G}\n{tempo: 96}\n{time: 3/4}\n{tilte: Oops}\n[Am\n{sov}\nend\n",
    );
    let kinds: Vec<_> = c
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Section { section, label, .. } => Some((*section, label.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (SectionKind::Chorus, "Last chorus"),
            (SectionKind::Verse, "Verse 2"),
            (SectionKind::Other, "Intro"),
            (SectionKind::Tab, "Tab"),
            (SectionKind::Verse, "Verse")
        ]
    );
    assert!(c.lines.contains(&Line::Comment { text: "Capo 2".into(), style: CommentStyle::Plain }));
    assert!(c.lines.contains(&Line::Comment { text: "softly".into(), style: CommentStyle::Italic }));
    assert!(c.lines.contains(&Line::Comment { text: "Key change".into(), style: CommentStyle::Boxed }));
    assert!(c.lines.contains(&Line::Tab { text: " e|--[0]--|".into() }), "a tab line as written, not read for chords");
    assert_eq!(
        (c.meta.key.as_deref(), c.meta.tempo.as_deref(), c.meta.time.as_deref()),
        (Some("G"), Some("96"), Some("3/4"))
    );
    assert!(
        c.lines.contains(&Line::Comment { text: "{tilte: Oops}".into(), style: CommentStyle::Italic }),
        "a typo is seen"
    );
    assert!(
        !c.lines.iter().any(|l| matches!(l, Line::Comment { text, .. } if text.contains("Times"))),
        "layout is not"
    );
    assert_eq!(c.lines.last(), Some(&Line::End), "the open section closes at the end");
    assert!(c.lines.contains(&lyrics(&[(None, "[Am")])), "an unclosed chord is text");
}

#[test]
fn chords_move_with_their_basses_and_keep_their_quality() {
    assert_eq!(transpose_chord("C", 2, false), "D");
    assert_eq!(transpose_chord("Am7", 3, false), "Cm7");
    assert_eq!(transpose_chord("C#m7b5/G#", 1, false), "Dm7b5/A");
    assert_eq!(transpose_chord("F/A", -1, true), "E/Ab");
    assert_eq!(transpose_chord("Bb", 2, true), "C");
    assert_eq!(transpose_chord("B\u{266d}", 2, true), "C");
    assert_eq!(transpose_chord("Gmaj7", 5, false), "Cmaj7");
    assert_eq!(transpose_chord("Eb", -13, true), "D");
    for not_a_chord in ["N.C.", "x2", "Hm", ""] {
        assert_eq!(transpose_chord(not_a_chord, 3, false), not_a_chord);
    }
}

#[test]
fn keys_are_spelled_the_way_musicians_write_them() {
    for (key, flats) in [("F", true), ("Dm", true), ("Gm", true), ("E", false), ("Em", false), ("F#", false)] {
        assert_eq!(key_prefers_flats(key), flats, "{key}");
    }
    for (key, semis, to) in
        [("C", 3, "Eb"), ("C", 1, "Db"), ("A", 1, "Bb"), ("E", 2, "F#"), ("Am", 3, "Cm"), ("Cm", 3, "Ebm")]
    {
        assert_eq!(transpose_key(key, semis), to, "{key} + {semis}");
    }
}

#[test]
fn a_reader_transposes_by_the_key_and_sees_both_shapes_under_a_capo() {
    let chart = parse("{key: G}\n[G]Amazing [Em]grace, how [C]sweet [D7/F#]the sound\n");
    // Up 3 from G is Bb: spelled with flats.
    let up = render(chart.clone(), &View { transpose: 3, ..View::default() });
    assert_eq!(up.key.as_deref(), Some("Bb"));
    let shown: Vec<_> = chords(&up.chart.lines[0]).into_iter().map(|c| c.0).collect();
    assert_eq!(shown, ["Bb", "Gm", "Eb", "F7/A"]);
    // Capo 3 on the song in Bb: the guitarist plays G shapes.
    let capo = render(chart.clone(), &View { transpose: 3, capo: 3, ..View::default() });
    assert_eq!(capo.shape_key.as_deref(), Some("G"));
    let both = chords(&capo.chart.lines[0]);
    assert_eq!(both[0], ("Bb".into(), Some("G".into())));
    assert_eq!(both[3], ("F7/A".into(), Some("D7/F#".into())));
    // The setlist's key wins over the chart's, and without any the first chord stands for it.
    let flat = render(chart.clone(), &View { transpose: 1, key: Some("F#".into()), ..View::default() });
    assert_eq!(flat.key.as_deref(), Some("G"));
    let keyless = render(parse("[D]Row [A]row"), &View { transpose: 1, ..View::default() });
    assert_eq!(keyless.key.as_deref(), Some("Eb"));
    assert_eq!(chords(&keyless.chart.lines[0])[1].0, "Bb");
}

#[test]
fn numbers_follow_the_key_in_nashville_and_roman() {
    let chart = parse("{key: C}\n[C]a [Am7]b [F/C]c [G7]d [Bdim]e [Eb]f [Dm]g\n");
    let nash = render(chart.clone(), &View { notation: Notation::Nashville, ..View::default() });
    let shown: Vec<_> = chords(&nash.chart.lines[0]).into_iter().map(|c| c.0).collect();
    assert_eq!(shown, ["1", "6m7", "4/1", "5\u{2077}", "7dim", "b3", "2m"]);
    let roman = render(chart.clone(), &View { notation: Notation::Roman, ..View::default() });
    let shown: Vec<_> = chords(&roman.chart.lines[0]).into_iter().map(|c| c.0).collect();
    assert_eq!(shown, ["I", "vi7", "IV/1", "V7", "vii°", "bIII", "ii"]);
    // Numbers do not move with a transpose: they are the song's, in any key.
    let moved = render(chart, &View { notation: Notation::Nashville, transpose: 5, ..View::default() });
    assert_eq!(chords(&moved.chart.lines[0])[1].0, "6m7");
    assert_eq!(moved.key.as_deref(), Some("F"));
}

#[test]
fn the_charts_own_transpose_directive_moves_what_follows() {
    let c = parse("{key: C}\n[C]one\n{transpose: 2}\n[C]two [F]three\n");
    assert_eq!(chords(&c.lines[0])[0].0, "C");
    let after: Vec<_> = chords(&c.lines[1]).into_iter().map(|c| c.0).collect();
    assert_eq!(after, ["D", "G"]);
}

#[test]
fn the_editor_marks_chords_and_directives_where_the_reader_finds_them() {
    let text = "{title: Été}\r\n  {soc}  \n[Am]𝄞 la [G]do [unclosed\n# a note [C]\n{sot}\ne|--[0]--|\n{eot}\n{sog}\n| [D] . |\n{eog}\n{ }\n";
    let shown: Vec<(String, MarkKind)> = marks(text)
        .into_iter()
        .map(|m| {
            let units: Vec<u16> = text.encode_utf16().collect();
            (String::from_utf16(&units[m.from as usize..m.to as usize]).unwrap(), m.kind)
        })
        .collect();
    let d = |s: &str| (s.to_owned(), MarkKind::Directive);
    let c = |s: &str| (s.to_owned(), MarkKind::Chord);
    // Not in a `#` note, a tab or a grid, where the reader takes `[` as text (or a grid's own
    // cells); `{ }` is not a directive; an unclosed `[` is lyric text.
    assert_eq!(
        shown,
        [d("{title: Été}"), d("{soc}"), c("[Am]"), c("[G]"), d("{sot}"), d("{eot}"), d("{sog}"), d("{eog}")]
    );
    // And what they mark is what the reader read: the chords of its lyric line.
    let chart = parse(text);
    let lyric = chart.lines.iter().find(|l| matches!(l, Line::Lyrics { .. })).unwrap();
    assert_eq!(chords(lyric).into_iter().map(|c| c.0).collect::<Vec<_>>(), ["Am", "G"]);
    assert!(marks("").is_empty());
}

#[test]
fn line_breaks_go_whole_even_from_a_file_made_crlf_twice() {
    let texts = |c: Chart| -> Vec<String> {
        c.lines
            .iter()
            .map(|l| match l {
                Line::Lyrics { pairs } => pairs.iter().map(|p| p.text.as_str()).collect(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let want = ["one", "two", "three"];
    assert_eq!(texts(parse("one\ntwo\r\nthree")), want);
    assert_eq!(texts(parse("one\r\r\ntwo\r\nthree\r")), want);
}
