//! `bandsync import` and `bandsync export`: the band's ChordPro library into the session's setlist
//! and back out, one file at a time or a folder at once. What a file says about its song (title,
//! key, tempo, meter) and what an exported file carries are the core's rules
//! ([`bandsync_core::chart::library`]).

use crate::docs::DocSession;
use bandsync_core::chart::library::{EXTENSIONS, exported, imported, songs};
use bandsync_docs::Song;
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};

/// `bandsync import URL PATH...`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The join link.
    url: String,
    /// ChordPro files (`.cho`, `.chordpro`, `.pro`, `.crd`), or folders of them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// `bandsync export URL [TITLE] [--dir DIR]`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The join link.
    url: String,
    /// One song, by its setlist title; without it, the whole set.
    title: Option<String>,
    /// Write one `.cho` file per song into this folder instead of printing them.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The ChordPro files among `paths`, folders read (not recursively) in name order.
fn files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let chordpro = |p: &Path| {
        p.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
    };
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|f| f.is_file() && chordpro(f))
                .collect();
            found.sort();
            out.extend(found);
        } else if chordpro(p) {
            out.push(p.clone());
        } else {
            anyhow::bail!("{} is not a ChordPro file (.cho, .chordpro, .pro, .crd)", p.display());
        }
    }
    Ok(out)
}

/// `bandsync import`: each song of each file (a file may hold several, `{new_song}` between them)
/// becomes a song, or replaces the chart of the song with its title; one line of JSON per song; all in one edit session, confirmed by the server before exiting.
///
/// # Errors
/// On an unreadable file or link, or a sync failure.
pub async fn import(a: ImportArgs) -> anyhow::Result<u8> {
    let files = files(&a.paths)?;
    // Every file read before joining: one that cannot be read stops the import before any edit.
    let mut texts = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f)?;
        let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", f.display()))?;
        texts.extend(songs(&text).into_iter().map(|t| (f, t)));
    }
    let mut s = match DocSession::open(&a.url).await? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    for (f, text) in texts {
        let meta = imported(&text);
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("Untitled").to_owned();
        let title = meta.title.clone().unwrap_or(stem);
        let existing = s.doc.setlist().into_iter().find(|x| x.title == title);
        let new = existing.is_none();
        let mut song = existing.unwrap_or_else(|| Song::new(format!("{:016x}", rand::random::<u64>()), title.clone()));
        // The file's word wins for what it says; what it leaves out stays as the setlist had it.
        song.key = meta.key.clone().unwrap_or(song.key);
        song.tempo = meta.tempo.or(song.tempo);
        song.meter = meta.meter.clone().unwrap_or(song.meter);
        let u = if new { s.doc.add_song(&song)? } else { s.doc.update_song(&song)? };
        s.client.send_doc(u);
        s.client.send_doc(s.doc.set_chart(&song.id, &text));
        println!("{}", json!({"imported": title, "file": f.display().to_string(), "new": new, "song": meta}));
    }
    s.confirm().await?;
    s.close().await;
    Ok(0)
}

/// A file name for a song title: letters, digits, spaces, `-` and `_` kept, the rest dropped.
fn file_name(title: &str) -> String {
    let name: String = title
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .collect::<String>()
        .trim()
        .to_owned();
    format!("{}.cho", if name.is_empty() { "song" } else { &name })
}

/// `bandsync export`: a song, or the whole set in setlist order, as ChordPro.
///
/// # Errors
/// On an unreadable link, an unwritable folder, or a sync failure.
pub async fn export(a: ExportArgs) -> anyhow::Result<u8> {
    let s = match DocSession::open(&a.url).await? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let songs: Vec<Song> =
        s.doc.setlist().into_iter().filter(|x| a.title.as_ref().is_none_or(|t| &x.title == t)).collect();
    let charts: Vec<(Song, String)> = songs
        .into_iter()
        .map(|x| {
            let text = exported(&s.doc.chart(&x.id).unwrap_or_default(), &x.title, &x.key, x.tempo, &x.meter);
            (x, text)
        })
        .collect();
    s.close().await;
    if charts.is_empty() {
        eprintln!("bandsync: {}", a.title.map_or("the setlist is empty".into(), |t| format!("no song {t:?}")));
        return Ok(1);
    }
    match a.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            for (x, text) in &charts {
                let path = dir.join(file_name(&x.title));
                std::fs::write(&path, text)?;
                println!("{}", json!({"exported": x.title, "file": path.display().to_string()}));
            }
        }
        // Several songs in one stream are separated as ChordPro separates songs in one file.
        None => print!("{}", charts.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("{new_song}\n")),
    }
    Ok(0)
}
