//! The band's library in the phone page (headless Chromium at 390×844) against a real `bandsync
//! host`: an editor imports a ChordPro file of two songs from the setlist panel (WebDriver fills the
//! hidden file input as a file picker would), then a folder in which only the ChordPro file counts;
//! the setlist holds the songs with their key, tempo and meter; "Download .cho", "Download set" and
//! `bandsync export` give them back with their directives; Print shows the read view alone, black
//! on white, in Chromium's print media.

use bandsync_e2e::browser::{self, Launch, WebEngine};
use bandsync_e2e::page::Page;
use bandsync_e2e::process::{Proc, run};
use serde_json::{Value, json};
use std::path::PathBuf;

const BOSSA: &str = "{title: Blue Bossa}\n{key: Cm}\n{tempo: 150}\n{time: 4/4}\n{soc}\n[Cm7]Sunny [Fm7]side\n{eoc}\n";
const WALTZ: &str = "{title: Waltz}\n{key: D}\n{tempo: 96.5}\n{time: 3/4}\n[D]One, two, three\n";

/// Clicks `css` and returns the name and text of the file the page offers for download: the
/// anchor the page clicks is caught and its blob read, as the browser would save it.
fn downloaded(p: &Page, css: &str) -> (String, String) {
    let catch = "window.__dl = null; HTMLAnchorElement.prototype.click = function () { const name = this.download; \
                 fetch(this.href).then((r) => r.text()).then((t) => { window.__dl = [name, t]; }); }; return true;";
    let r = p.s.execute(catch, &[]);
    p.ok(r, "catch downloads");
    p.click(css);
    let got = p.until(&format!("the download from {css}"), "window.__dl");
    (got[0].as_str().unwrap().to_owned(), got[1].as_str().unwrap().to_owned())
}

/// The setlist as the page holds it: title, key, tempo (milli-BPM), meter.
fn setlist(p: &Page) -> Value {
    p.eval("window.__bandsync.state.songs.map((s) => [s.title, s.key, s.tempo, s.meter])")
}

#[test]
fn chordpro_files_import_in_the_page_and_the_set_exports_and_prints() {
    let _machine = bandsync_e2e::machine::shared();
    let ui = browser::ui_dist();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("import");
    let _ = std::fs::remove_dir_all(&dir);
    let folder = dir.join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    let file = dir.join("set.cho");
    let both = format!("{BOSSA}{{new_song}}\n{WALTZ}");
    std::fs::write(&file, &both).unwrap();
    std::fs::write(folder.join("coda.chordpro"), "[G]End\n").unwrap();
    std::fs::write(folder.join("notes.txt"), "not a chart").unwrap();

    let (_host, url) = Proc::host_with_ui(&ui);

    let b = browser::open(WebEngine::Chromium, &Launch::phone(&dir, "librarian"));
    let p = &b.page;
    p.ok(p.s.navigate(&url), "open the join link");
    p.type_into("[data-testid=your-name]", "Ana");
    p.click("[data-testid=join-button]");
    p.until("online", "document.querySelector('[data-testid=connection-state][data-state=online]')");

    // The file: both of its songs, with what their directives say, and a toast that counts them.
    let input = "[data-testid=import-files]";
    let accept = p.until("the import control", &format!("document.querySelector('{input}')?.accept"));
    assert_eq!(accept, ".cho,.chordpro,.pro,.crd");
    let r = p.s.find(input).and_then(|e| e.send_keys(file.to_str().unwrap()));
    p.ok(r, "choose the file");
    let toast = "[...document.querySelectorAll('[data-testid=toast]')].map((t) => t.textContent).find((t) => t.startsWith('Imported'))";
    assert_eq!(p.until("the import's toast", toast), "Imported 2 songs");
    assert_eq!(setlist(p), json!([["Blue Bossa", "Cm", 150_000, "4/4"], ["Waltz", "D", 96_500, "3/4"]]));

    // A folder: its ChordPro file is a song, titled after the file; the .txt is left alone.
    let r = p.s.find("[data-testid=import-folder]").and_then(|e| e.send_keys(folder.to_str().unwrap()));
    p.ok(r, "choose the folder");
    p.until("the folder's song", "window.__bandsync.state.songs.length === 3");
    assert_eq!(setlist(p)[2], json!(["coda", "", null, ""]));

    // The host has them: `bandsync export` gives the file back as it was, the folder's song after.
    let (code, out) = run(&["setlist", "get", &url], "");
    assert_eq!(code, 0, "{out}");
    let songs: Value = serde_json::from_str(&out).unwrap();
    let fields: Vec<_> =
        songs.as_array().unwrap().iter().map(|s| (s["title"].as_str().unwrap(), s["tempo"].as_u64())).collect();
    assert_eq!(fields, [("Blue Bossa", Some(150_000)), ("Waltz", Some(96_500)), ("coda", None)]);
    let (code, out) = run(&["export", &url], "");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, format!("{both}{{new_song}}\n{{title: coda}}\n[G]End\n"));

    // The page's own downloads: the set as one file, and the chart in view.
    assert_eq!(downloaded(p, "[data-testid=download-set]"), ("Gig.cho".to_owned(), out.clone()));
    p.click("[data-testid=song]:nth-child(2) .song-main");
    p.until("the waltz's chart", "document.querySelector('[data-testid=chart-read] .rv-chord')");
    assert_eq!(downloaded(p, "[data-testid=download-chart]"), ("Waltz.cho".to_owned(), WALTZ.to_owned()));

    // Print: the button prints, and in print media the read view is all there is, black on white.
    p.eval("(window.print = () => { window.__printed = true; }, true)");
    p.click("[data-testid=print-chart]");
    assert_eq!(p.eval("window.__printed === true"), Value::Bool(true));
    let r = p.s.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {"media": "print"}})),
    );
    p.ok(r, "print media");
    let shown = p.eval(
        "(() => { const seen = (css) => [...document.querySelectorAll(css)].some((e) => e.getClientRects().length > 0); \
         const chord = getComputedStyle(document.querySelector('[data-testid=chart-read] .rv-chord')); \
         const read = getComputedStyle(document.querySelector('[data-testid=chart-read]')); \
         return { read: seen('[data-testid=chart-read]'), title: seen('#chart h2'), setlist: seen('#setlist'), \
           topbar: seen('.topbar'), tools: seen('.chart-tools'), buttons: seen('#chart button'), beat: seen('[data-testid=beat]'), \
           chord: chord.color, background: getComputedStyle(document.body).backgroundColor, height: read.maxHeight }; })()",
    );
    assert_eq!(
        shown,
        json!({"read": true, "title": true, "setlist": false, "topbar": false, "tools": false, "buttons": false,
            "beat": false, "chord": "rgb(0, 0, 0)", "background": "rgb(255, 255, 255)", "height": "none"})
    );
    p.shoot("print.png");
}
