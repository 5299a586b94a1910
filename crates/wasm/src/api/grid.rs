//! The click grid through the page's JSON calls: `grid.clicks` and `transport.at`, the core's ([`bandsync_core::clicks`], [`bandsync_core::timeline`]).

use super::{Res, ok, parse, t};
use bandsync_core::clicks::{Click, clicks_between};
use bandsync_core::timeline::{Accent, Segment};
use bandsync_core::{Beats, Meter, Tempo, Transport};
use serde::{Deserialize, Serialize};

/// `grid.clicks`: `[transport, lo, hi, sub]`: the clicks with host µs in `[lo, hi)`, at
/// subdivision `sub`.
#[derive(Deserialize)]
struct Window(Transport, f64, f64, u8);

/// `transport.at`: `[transport, now]`.
#[derive(Deserialize)]
struct TransportAt(Transport, f64);

/// Where the transport stands at a host time: what the beat display shows.
#[derive(Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TransportPlace<'a> {
    /// Whether the metronome runs.
    pub playing: bool,
    /// The position.
    pub position: Beats,
    /// Bars from the bar origin (negative in a count-in).
    pub bar: i64,
    /// Beat within the bar, from 0.
    pub beat: i64,
    /// Whether this is a count-in.
    pub count_in: bool,
    /// Bars of count-in left (1 in the count-in's last bar).
    pub count_in_bars_left: i64,
    /// The tempo.
    pub tempo: Tempo,
    /// The meter.
    pub meter: &'a Meter,
    /// The next scheduled change.
    pub next: Option<&'a Segment>,
    /// How each beat of the bar is accented.
    pub accents: Vec<Accent>,
    /// Fraction of the current beat elapsed, 0 to 1.
    pub beat_phase: f64,
    /// The segment in effect.
    pub segment: &'a Segment,
    /// Micro-beats since the song started (negative in a count-in): what auto-scroll follows.
    pub since_song_start: i64,
}

pub(super) fn call(op: &str, a: &str) -> Res {
    match op {
        "grid.clicks" => {
            let Window(transport, lo, hi, sub) = parse(a)?;
            let mut out: Vec<Click> = Vec::new();
            clicks_between(&transport.segments, t(lo), t(hi), sub, &mut |c| out.push(c));
            ok(&out)
        }
        "transport.at" => {
            let TransportAt(transport, now) = parse(a)?;
            if !transport.is_valid() {
                return Err("not a valid transport".into());
            }
            let now = t(now);
            let seg = transport.segment_at(now);
            let pos = seg.position(now);
            let from_origin = pos.0 - seg.bar_origin.0;
            let beats = i64::from(seg.meter.beats.max(1));
            let count_in = seg.playing && pos < seg.song_start;
            ok(&TransportPlace {
                playing: seg.playing,
                position: pos,
                bar: from_origin.div_euclid(seg.meter.bar_len().0),
                beat: from_origin.div_euclid(Beats::ONE).rem_euclid(beats),
                count_in,
                count_in_bars_left: if count_in {
                    let bar = seg.meter.bar_len().0;
                    (seg.song_start.0 - pos.0 + bar - 1) / bar
                } else {
                    0
                },
                tempo: seg.timeline.tempo,
                meter: &seg.meter,
                next: transport.segments.iter().find(|s| s.at > now),
                accents: (0..seg.meter.beats).map(|i| seg.meter.accent(i)).collect(),
                beat_phase: from_origin.rem_euclid(Beats::ONE) as f64 / Beats::ONE as f64,
                segment: seg,
                since_song_start: pos.0 - seg.song_start.0,
            })
        }
        _ => Err(format!("unknown op {op}")),
    }
}
