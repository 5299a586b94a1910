//! Calibration by tapping along, in the phone page, with the band's click playing through an
//! injected delay (`page_calibrate.rs`): the page's offset is set back to 0 on its slider (earbuds
//! not calibrated yet), so each click is heard the injected delay after its grid time; a tapper
//! taps the page's pad sixteen times exactly then, and the page must take that delay as its
//! offset, from its own taps' times (their events' `timeStamp`s, read on the page's clock), the
//! band's grid and the core's rule (median, outliers out), and play by it.
//!
//! The tapper is the test: each tap is a `pointerdown` dispatched on the pad at the grid time of
//! a beat plus the delay, on the page's own estimate of the band's clock (its debugging hook's
//! `hostNow` against `performance.now()`). It taps where the click is heard, as a perfect hand
//! would; it does not listen.

use bandsync_e2e::page::Page;

/// Taps `heard_late_ms` after each beat's grid time, sixteen times, on `p`'s open settings with
/// its offset set to 0 first; the figure the page took (ms), as stored and as it now plays.
///
/// # Panics
/// If the page takes no figure, or one more than 2 ms from `heard_late_ms`.
pub fn tap_along(p: &Page, label: &str, heard_late_ms: f64) -> f64 {
    // The player sets the offset back to 0 on the slider, as for earbuds not calibrated yet.
    p.eval(
        "(() => { const s = document.querySelector('[data-testid=latency]'); s.value = '0'; \
         s.dispatchEvent(new Event('input', {bubbles: true})); return true; })()",
    );
    p.until("the offset at 0", "JSON.parse(localStorage.getItem('bandsync.settings')).latencyMs === 0");
    p.until("tapping offered", "document.querySelector('[data-testid=calibrate-taps-start]')?.disabled === false");
    p.click("[data-testid=calibrate-taps-start]");
    p.until("the pad", "document.querySelector('[data-testid=calibrate-tap]')");
    // Sixteen taps, from two beats on: each beat's host time from the segment in force (its
    // timeline: µs = time_origin + (micro-beats - beat_origin) * 60 000 / milli-BPM), onto
    // `performance.now()` through the hook's `hostNow` (read first, before the hook copies the
    // state) against the `performance.now()` just before, of the quickest of five reads; each
    // dispatched by a timer 4 ms early and a wait to the exact time.
    let script = format!(
        "(() => {{ let s, off, span = Infinity; \
           for (let i = 0; i < 5; i++) {{ const t0 = performance.now(); const r = window.__bandsync.state; \
             const t1 = performance.now(); if (t1 - t0 < span) {{ span = t1 - t0; s = r; off = r.hostNow - t0 * 1000; }} }} \
           const segs = s.snapshot.transport.segments; \
           const seg = segs.filter(g => g.at <= s.hostNow).pop(); \
           const tl = seg.timeline; \
           const beatAt = b => tl.time_origin + (b * 1e6 - tl.beat_origin) * 60000 / tl.tempo; \
           const now = (tl.beat_origin + (s.hostNow - tl.time_origin) * tl.tempo / 60000) / 1e6; \
           const pad = document.querySelector('[data-testid=calibrate-tap]'); \
           window.__taps = []; \
           for (let k = 0; k < 16; k++) {{ \
             const at = (beatAt(Math.floor(now) + 2 + k) + {late} * 1000 - off) / 1000; \
             setTimeout(() => {{ while (performance.now() < at) {{}} \
               window.__taps.push(performance.now() - at); \
               pad.dispatchEvent(new PointerEvent('pointerdown', {{bubbles: true, cancelable: true}})); }}, \
               Math.max(0, at - performance.now() - 4)); \
           }} \
           return {{playing: seg.playing, tempo: tl.tempo}}; }})()",
        late = heard_late_ms
    );
    let started = p.eval(&script);
    assert_eq!(started["playing"], true, "{label}: tapping while the band plays: {started}");
    let out = p.until(
        "the taps' figure",
        "(() => { const r = document.querySelector('[data-testid=calibrate-result]'); \
         const e = document.querySelector('[data-testid=calibrate-error]'); \
         return r ? {ok: r.textContent, latency: Number(r.dataset.latency), late_ms: window.__taps} \
              : e ? {err: e.textContent} : null; })()",
    );
    let figure = out["latency"].as_f64().unwrap_or_else(|| panic!("{label}: the taps gave no figure: {out}"));
    let applied = p.eval(
        "(() => { const s = JSON.parse(localStorage.getItem('bandsync.settings')); \
         return {latency_ms: s.latencyMs, source: s.latencySource, player: window.__bandsync.state.sound.source}; })()",
    );
    eprintln!(
        "PAGE-CALIBRATE {label} taps: {{\"heard_late_ms\": {heard_late_ms}, \"figure_ms\": {figure}, \"applied\": {applied}, \"said\": {}}}",
        out["ok"]
    );
    assert!(
        (figure - heard_late_ms).abs() <= 2.0,
        "{label}: tapped {heard_late_ms} ms late, the figure {figure} ms: {out}"
    );
    assert_eq!(applied["source"], "calibrated", "{label}: {applied}");
    assert_eq!(applied["player"], "calibrated", "{label}: {applied}");
    assert_eq!(applied["latency_ms"].as_f64(), Some(figure), "{label}: {applied}");
    figure
}
