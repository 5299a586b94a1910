//! The band's ChordPro library through `bandsync import` and `bandsync export`: a folder of files
//! (one holding two songs) becomes songs with their key, tempo and meter; importing again updates
//! rather than duplicates; the set exported as files and imported into another session gives the
//! same songs and charts.

use bandsync_e2e::process::{Proc, run};
use serde_json::Value;

fn host() -> (Proc, String) {
    let mut h = Proc::bandsync(&["host", "--bind", "127.0.0.1:0", "--name", "Gig", "--no-mdns", "--json"]);
    let url = h.event("hosting")["url"].as_str().unwrap().to_owned();
    (h, url)
}

fn setlist(url: &str) -> Vec<Value> {
    let (code, out) = run(&["setlist", "get", url], "");
    assert_eq!(code, 0, "{out}");
    serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().clone()
}

#[test]
fn a_chordpro_folder_imports_as_songs_and_the_set_exports_and_imports_back() {
    let dir = std::env::temp_dir().join(format!("bandsync-library-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let lib = dir.join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let bossa = "{title: Blue Bossa}\n{key: Cm}\n{tempo: 150}\n{time: 4/4}\n{soc}\n[Cm7]Sunny [Fm7]side\n{eoc}\n";
    std::fs::write(lib.join("bossa.cho"), bossa).unwrap();
    std::fs::write(lib.join("two.chordpro"), "{title: Waltz}\n{time: 3/4}\n[D]One\n{new_song}\n{t: Coda}\n[G]End\n")
        .unwrap();
    std::fs::write(lib.join("untitled.pro"), "[E]No title here\n").unwrap();
    std::fs::write(lib.join("notes.txt"), "not a chart").unwrap();

    let (_h, url) = host();
    let (code, out) = run(&["import", &url, lib.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "four songs from three files; the .txt left alone: {out}");
    let songs = setlist(&url);
    let row = |t: &str| songs.iter().find(|s| s["title"] == t).unwrap_or_else(|| panic!("{t} in {songs:?}")).clone();
    let b = row("Blue Bossa");
    assert_eq!((b["key"].as_str(), b["tempo"].as_u64(), b["meter"].as_str()), (Some("Cm"), Some(150_000), Some("4/4")));
    assert_eq!(row("Waltz")["meter"], "3/4");
    row("Coda");
    row("untitled");
    let (code, chart) = run(&["chart", "get", &url, "Blue Bossa"], "");
    assert_eq!((code, chart.as_str()), (0, bossa));

    // Importing a changed file updates its song: no duplicate, the new tempo and chart.
    let faster = bossa.replace("150", "160");
    std::fs::write(lib.join("bossa.cho"), &faster).unwrap();
    assert_eq!(run(&["import", &url, lib.join("bossa.cho").to_str().unwrap()], "").0, 0);
    let songs = setlist(&url);
    assert_eq!(songs.iter().filter(|s| s["title"] == "Blue Bossa").count(), 1);
    assert_eq!(songs.iter().find(|s| s["title"] == "Blue Bossa").unwrap()["tempo"], 160_000);

    // The set out as files, and into another session: the same songs, fields and charts.
    let out_dir = dir.join("out");
    let (code, out) = run(&["export", &url, "--dir", out_dir.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("Blue Bossa.cho")).unwrap(),
        faster,
        "a chart with its directives is written as it is"
    );
    let (_h2, other) = host();
    assert_eq!(run(&["import", &other, out_dir.to_str().unwrap()], "").0, 0);
    let strip = |v: Vec<Value>| {
        let mut v: Vec<(String, String, Option<u64>, String)> = v
            .iter()
            .map(|s| {
                (
                    s["title"].as_str().unwrap().into(),
                    s["key"].as_str().unwrap().into(),
                    s["tempo"].as_u64(),
                    s["meter"].as_str().unwrap().into(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(strip(setlist(&other)), strip(setlist(&url)));
    // The song without a title went out with the one the setlist gave it, and came back under it.
    let (_, chart) = run(&["chart", "get", &other, "untitled"], "");
    assert_eq!(chart, "{title: untitled}\n[E]No title here\n");
    // One song to stdout; a missing one is an error.
    let (code, one) = run(&["export", &url, "Coda"], "");
    assert_eq!((code, one.as_str()), (0, "{t: Coda}\n[G]End\n"));
    assert_eq!(run(&["export", &url, "Nope"], "").0, 1);
    assert_ne!(
        run(&["import", &url, lib.join("notes.txt").to_str().unwrap()], "").0,
        0,
        "a named non-ChordPro file is refused"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
