#!/usr/bin/env bash
# WebKit's own floor at the speaker (crates/cli/tests/speaker/floor.rs): a bare page pre-scheduling
# clicks on its AudioContext's clock, beside the phone page in WebKit and a native follower, each
# on its own channel of one PulseAudio null sink, recorded for SECONDS (default 600) at 120 BPM.
# Prints one FLOOR JSON line (each WebKit path's drift against the native follower, its jumps, its
# distance from its own drift line, its interval jitter, the clicks it missed; and the rate the bare
# page's own clock readings show) for docs/BENCHMARKS.md. Run it alone: it is a timing test.
#
#   bash scripts/speaker-floor.sh [SECONDS]
source "$(dirname "$0")/lib.sh"
need_test_tools
cd "$ROOT"
build_ui
say "speaker: WebKit's floor beside the phone page for ${1:-600} s"
BANDSYNC_SPEAKER_SECONDS="${1:-600}" cargo test --locked -p bandsync-cli --test speaker floor -- --ignored --nocapture
