#!/usr/bin/env bash
# Installs whatever is missing and runs every gate and test: formatting, clippy, and all tests.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_build_tools
need_audio_test_tools
need_browser_and_net_test_tools
cd "$ROOT"
start=$(date +%s)

# The UI comes first: the host serves ui/dist to the browser tests, and the app embeds it.
build_ui
say "web UI: unit tests (vitest) and bundle size"
npm --prefix ui test --silent
npm --prefix ui run size --silent

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The app's end-to-end test runs inside `cargo test`; it needs its drivers and the app binary.
need_app_e2e_tools

say "cargo test"
cargo test --workspace --locked

say "Android compile gate"
bash scripts/android-check.sh

say "all gates passed in $(( $(date +%s) - start )) s"
