#!/usr/bin/env bash
# Installs whatever is missing and runs every gate and test: formatting, clippy (in the test
# build), all tests, and 30 s of fuzzing per decoder (beside the tests).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/beside.sh"
need_test_tools
need_app_e2e_tools
cd "$ROOT"

# The UI comes first: the host serves ui/dist to the browser tests, and the app embeds it.
build_ui
say "web UI: unit tests (vitest) and bundle size"
npm --prefix ui test --silent
npm --prefix ui run size --silent

say "cargo fmt --check"
cargo fmt --all --check

say "rooms: no source file over 400 lines, no import circles"
python3 scripts/rooms.py

# Each of our crates is named under Cargo.toml's [profile.dev.package]: one left out would build
# at the dependencies' opt-level 2, slow to rebuild and without line tables (see the comment there).
say "every workspace crate has its dev profile"
cargo metadata --no-deps --format-version 1 --locked | python3 -c '
import json, sys, tomllib
ours = [p["name"] for p in json.load(sys.stdin)["packages"]]
named = tomllib.load(open("Cargo.toml", "rb"))["profile"]["dev"]["package"]
missing = [n for n in ours if n not in named]
sys.exit("Cargo.toml has no [profile.dev.package.NAME] for: " + ", ".join(missing) if missing else 0)'

# One build of every target (the app's binary included, for its end-to-end test), then every test.
# With the opt-in `link` feature (the Link library is GPL; the default build leaves it out), so
# that `join --link` and the app's Link setting are tested against an independent Link peer
# (crates/cli/tests/link.rs, crates/app/tests/link.rs) in the same build, not a second one.
#
# Clippy (-D warnings) lints every target of our crates as this build compiles them: clippy-driver
# is rustc with clippy's lints, and cargo runs it for the workspace's own crates only (what `cargo
# clippy` does, in a build instead of a check). `cargo clippy` compiled every dependency a second
# time, in check mode: 862 s of a cold run on this VM. The few lines built only without `link` are
# type-checked by the Android gate (the app) or are the CLI's "built without Link" messages.
# Without clippy-driver the lints would silently not run: that stops the run instead.
DRIVER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)" ||
  { echo "clippy-driver is missing: rustup component add clippy" >&2; exit 1; }
CLIPPY=(env "RUSTC_WORKSPACE_WRAPPER=$DRIVER" "CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__")
say "cargo test: the build, every target linted by clippy (-D warnings)"
TEST=("${CLIPPY[@]}" cargo test --workspace --locked --features bandsync-cli/link,bandsync-app/link)
linked "${TEST[@]}" --all-targets --no-run
linked "${TEST[@]}" --test soak --no-run
# The app's command permissions, as tauri-build wrote them from src-tauri/build.rs's list, are the
# ones committed (see src-tauri/.gitignore).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git diff --quiet --exit-code -- src-tauri/permissions &&
    [ -z "$(git ls-files --others --exclude-standard src-tauri/permissions)" ] ||
    { git status --short src-tauri/permissions >&2; echo "commit src-tauri/permissions as the build wrote it" >&2; exit 1; }
fi
# The tests that judge timing finely, in real time (sound at the speaker and at the output, the
# app's calibration, JACK MIDI, the audio engine, the CLI's restarted host with its clicking
# follower), run first, with nothing beside them but each other as below. (The Link and clock-sync tests judge to 1 ms and 500 µs and measured the
# same beside the fuzzers: docs/BENCHMARKS.md.)
#
# The MIDI tests (JACK's frames and network MIDI, judged to 0.1 ms and 1 ms; 50 s, mostly waiting)
# and the app's calibration (the app and a sound server of its own, judged to 3 ms; 30 s) run beside
# the speaker test's light ones (calibration and the native pair, 45 s): their runs hold the
# machine shared through a file lock, and the speaker's tests that run alone (the browsers) wait
# until they let go (tests/harness/machine.rs). Figures beside and alone: docs/BENCHMARKS.md.
say "cargo test: the timing tests, alone (MIDI and the app's calibration beside the speaker's light ones)"
ALONE=(output engine host_clock no_alloc)
TIMING=(speaker midi calibrate "${ALONE[@]}")
RESTART=restart::a_restarted_host_brings_the_band_back_as_it_was
"${TEST[@]}" "${ALONE[@]/#/--test=}"
temp_file machine_lock
beside midi flock --shared --close "$machine_lock" "${TEST[@]}" --test midi
beside app_calibration flock --shared --close "$machine_lock" "${TEST[@]}" --test calibrate
# Until those runs hold the machine (or have already ended), so that no speaker test runs alone
# beside them.
while flock --nonblock "$machine_lock" true && { beside_running midi || beside_running app_calibration; }; do
  sleep 0.05
done
failed=()
env BANDSYNC_MACHINE_LOCK="$machine_lock" "${TEST[@]}" --test speaker || failed+=(speaker)
# Both jobs' output, whichever failed.
beside_wait midi "" 0 || failed+=(midi)
beside_wait app_calibration "" 0 || failed+=("the app's calibration")
[ ${#failed[@]} = 0 ] || { echo "the timing tests failed: ${failed[*]}" >&2; exit 1; }
"${TEST[@]}" --test cli -- --exact "$RESTART"

# Then every decoder of untrusted bytes is fuzzed for 30 s (the long runs: docs/BENCHMARKS.md),
# beside the rest: every other test target (read from the workspace, so a new one is never left
# out: a new timing test goes in TIMING above), the soak's smoke, the app's package and the
# Android gate. The fuzzers take only what those leave: SCHED_IDLE (a thread that wakes preempts
# them at once) and the idle I/O class; each target's count of inputs run is printed at the end,
# to see what that left them. Built first, at full speed. Beside the timing tests, even at idle
# priority, they cost the speaker test underruns and a retry (docs/BENCHMARKS.md). Each in a
# session of its own, so that a gate failing first stops all of it.
bash scripts/fuzz.sh build
say "fuzzing every decoder for 30 s at idle priority, beside the gates below"
beside fuzzing chrt --idle 0 ionice -c 3 bash scripts/fuzz.sh 30

# The soak's smoke (tests/soak.rs: 8 members for 40 s, the host killed twice) mostly waits, and
# judges no timing finer than its host's 2 s to exit on SIGTERM (20 ms when measured), so it runs
# beside the gates below (`test = false` keeps it out of the runs above).
say "the soak's smoke, beside the gates below"
beside soak "${TEST[@]}" --test soak

# The store's tests (Postgres of their own; 14 s, mostly waiting on its commits) beside the rest too,
# at nice 10 (their servers inherit it). Nothing that plays or judges time runs there: with the
# waiting targets beside at the same priority, an e2e latency judged under a flood read p99 58 ms
# against 21 ms allowed (ci-s213), and with the cluster's test beside at nice 10, its clicking
# follower, starved, underran and lost a beat at the failover (ci-s267; docs/BENCHMARKS.md).
POSTGRES=(store)
say "the store's tests, beside the gates below at nice 10"
beside postgres nice -n 10 "${TEST[@]}" "${POSTGRES[@]/#/--test=}"

# Every crate's unit tests and binaries too; not the doc tests, whose rustdoc pass over every
# crate took 19 s of a warm run for the one example there was (now tests/examples/webdriver.rs,
# which the build above compiles). One after another.
say "cargo test: every other test target, and every crate's unit tests"
mapfile -t REST < <(cargo metadata --no-deps --format-version 1 --locked | TIMING="${TIMING[*]} ${POSTGRES[*]}" python3 -c '
import json, os, sys
timing = set(os.environ["TIMING"].split())
for p in json.load(sys.stdin)["packages"]:
    for t in p["targets"]:
        if "test" in t["kind"] and t.get("test", True) and t["name"] not in timing:
            print(t["name"])' | sort -u)
[ ${#REST[@]} -gt 0 ] || { echo "no test targets read from the workspace's metadata" >&2; exit 1; }
"${TEST[@]}" --lib --bins "${REST[@]/#/--test=}" -- --exact --skip "$RESTART"

# The installable app: the debug binary the tests built, bundled as a .deb, installed with dpkg,
# started under Xvfb, hosting (scripts/package.sh builds the release packages).
say "the app's .deb: install, start, host"
bash scripts/package.sh --debug --prebuilt --check

say "Android compile gate"
bash scripts/android-check.sh

# Each target's count of inputs run, and the soak's figures.
beside_done fuzzing 'runs in|^==> \[ *[0-9]+s\] fuzzing' 80
beside_done soak '^soak:|panicked|error' 40
say "the soak's smoke passed"
beside_done postgres 'test result|panicked' 60
say "the store's tests passed"

say "all gates passed in $(( $(date +%s) - SCRIPT_START )) s"
