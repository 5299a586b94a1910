#!/usr/bin/env bash
# Every click path at the speaker, long (crates/cli/tests/speaker/paths.rs): a native follower as
# the reference, a second native follower, the phone page in headless Chromium and in WebKit, each
# on its own channel of one PulseAudio null sink, all but the reference on wrong clocks, recorded
# for SECONDS (default 600) at 120 BPM. Prints one SPEAKER JSON line (clicks missing, offsets,
# skew and interval jitter of each path against the reference) for docs/BENCHMARKS.md.
# `scripts/test.sh` runs the 30-second version. Run it alone: it is a timing test.
#
#   bash scripts/speaker.sh [SECONDS]
source "$(dirname "$0")/lib.sh"
need_test_tools
cd "$ROOT"
build_ui
say "speaker: every click path for ${1:-600} s"
BANDSYNC_SPEAKER_SECONDS="${1:-600}" cargo test --locked -p bandsync-cli --test speaker paths -- --nocapture
