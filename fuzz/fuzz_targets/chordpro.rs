//! A ChordPro file as imported (a file picked on a phone, a folder given to `bandsync library
//! import`) and a song flow as the leader types it: split into songs, parsed, rendered for a reader
//! (transposed, under a capo, in numbers), and read for the setlist. The first byte picks the
//! reader's view; a flow follows the file after a NUL byte.
//!
//! What must hold besides no panic: what the setlist reads is what BandSync can use (a tempo it
//! can play, a meter that parses, a key that names a note), and a song exported with a setlist
//! title reads back with that title, or with its own when it has one.
#![no_main]

use bandsync_core::chart::{self, Notation, View, flow, library};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&v, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let (file, typed_flow) = text.split_once('\0').unwrap_or((text, ""));
    let view = View {
        transpose: i32::from(v % 25) - 12,
        capo: (v / 25) % 8,
        notation: [Notation::Letters, Notation::Nashville, Notation::Roman][usize::from(v % 3)],
        key: None,
    };
    for song in library::songs(file) {
        let parsed = chart::parse(&song);
        let rendered = chart::render(parsed.clone(), &view);
        assert_eq!(rendered.chart.lines.len(), parsed.lines.len(), "rendering keeps every line");
        let s = library::imported(&song);
        if let Some(t) = s.tempo {
            assert!(bandsync_core::Tempo::checked(t.0).is_ok(), "{t:?}");
        }
        if let Some(m) = &s.meter {
            assert!(m.trim().parse::<bandsync_core::timeline::Meter>().is_ok(), "{m:?}");
        }
        if let Some(k) = &s.key {
            assert!(chart::chord::note(k.trim()).is_some(), "{k:?}");
        }
        let title = "A setlist title";
        let again = library::imported(&library::exported(&song, title, "", None, ""));
        let has_title = parsed.meta.title.is_some();
        let want = if has_title { s.title.as_deref() } else { Some(title) };
        assert_eq!(again.title.as_deref(), want, "{song:?}");
        if let Ok(parts) = flow::parse(typed_flow) {
            for bar in [-1, 0, 1, 7, 64, i64::from(u32::MAX)] {
                let _ = flow::place(&parts, bar, Some(&parsed));
            }
        }
    }
});
