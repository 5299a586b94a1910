#!/usr/bin/env bash
# The phone page in WebKit calibrated by tapping along (crates/cli/tests/speaker/webkit_taps.rs):
# a native follower and the page in WebKit (MiniBrowser under Xvfb) on their own channels of one
# PulseAudio null sink at 120 BPM; a first recording says how late WebKit's click is heard, the
# test taps the page's pad that late, and a second recording of SECONDS (default 60) says where
# its clicks land. Prints one WEBKIT-TAPS JSON line for docs/BENCHMARKS.md, and fails if the
# page's median is more than 1 ms off the native click after. Run it alone: it is a timing test.
#
#   bash scripts/speaker-webkit-taps.sh [SECONDS]
source "$(dirname "$0")/lib.sh"
need_test_tools
cd "$ROOT"
build_ui
say "speaker: WebKit calibrated by tapping, ${1:-60} s"
BANDSYNC_SPEAKER_SECONDS="${1:-60}" cargo test --locked -p bandsync-cli --test speaker webkit_taps -- --ignored --nocapture
