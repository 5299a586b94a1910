#!/usr/bin/env bash
# Fuzzes every decoder that reads untrusted bytes (fuzz/fuzz_targets: the JSON protocol both
# ways, y-sync frames, awareness, join links, stored rows, ChordPro files and song flows) for
# SECONDS each (default 30), with libFuzzer and AddressSanitizer, starting from the corpora in
# fuzz/corpus.
#
#   bash scripts/fuzz.sh            # 30 s per target, as .ci/run does (beside its tests)
#   bash scripts/fuzz.sh 600        # the long run recorded in docs/BENCHMARKS.md
#   bash scripts/fuzz.sh 60 ysync   # one target
#   bash scripts/fuzz.sh build      # only build the targets
#
# An input that takes over 10 s is a failure, with its input kept like a crash's (libFuzzer's own
# limit is 20 minutes: a slow input found in CI once held a 10 s run that long).
#
# New interesting inputs go to a temporary directory, not the repository (add them with
# `cargo +nightly fuzz cmin` when a long run found coverage worth keeping). A crash stops the
# script; its input is in fuzz/artifacts/TARGET/, to replay with
# `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...`.
source "$(dirname "$0")/lib.sh"
need_fuzz_tools
SECS="${1:-30}"
cd "$ROOT/fuzz"
targets=("${@:2}")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
say "building ${#targets[@]} fuzz targets"
cargo +nightly fuzz build --debug-assertions
[ "$SECS" != build ] || exit 0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Two at a time: this machine (and CI's) has two cores.
JOBS="${FUZZ_JOBS:-2}"
fuzz_one() {
  local t="$1" status=0
  mkdir -p "$work/$t" "corpus/$t"
  cargo +nightly fuzz run --debug-assertions "$t" "$work/$t" "corpus/$t" -- \
    -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$work/$t.log" 2>&1 || status=$?
  echo "$t: $(grep -E '^stat::number_of_executed_units' "$work/$t.log" | awk '{print $2}') runs in ${SECS} s, peak RSS $(grep -E '^stat::peak_rss_mb' "$work/$t.log" | awk '{print $2}') MB"
  if [ "$status" -ne 0 ]; then
    tail -60 "$work/$t.log" >&2
    echo "fuzz target $t failed; its input is in fuzz/artifacts/$t" >&2
    return 1
  fi
}
say "fuzzing ${targets[*]} for ${SECS}s each, $JOBS at a time"
failed=0
pids=()
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$JOBS" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || exit 1
say "fuzzing done: ${#targets[@]} targets, ${SECS}s each"
