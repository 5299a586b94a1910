#!/usr/bin/env bash
# The native pair after a stall (crates/cli/tests/speaker/stall.rs): two native followers on
# their own channels of one PulseAudio null sink, the 512-frame one stopped for 300 ms ten beats
# into the recording, then recorded for SECONDS more (default 60) at 120 BPM. Prints one STALL
# JSON line (the pair's skew, p50 and p99, in each 5 s after the stall, and from when it stays
# within 0.1 ms) for docs/BENCHMARKS.md, and fails if the pair is over 0.25 ms at p99 from 30 s
# after the stall on (so SECONDS is at least 40). Run it alone: it is a timing test.
#
#   bash scripts/speaker-stall.sh [SECONDS]
source "$(dirname "$0")/lib.sh"
need_test_tools
cd "$ROOT"
say "speaker: the native pair after a 300 ms stall, ${1:-60} s"
BANDSYNC_SPEAKER_SECONDS="${1:-60}" cargo test --locked -p bandsync-cli --test speaker stall -- --ignored --nocapture
