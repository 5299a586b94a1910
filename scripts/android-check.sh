#!/usr/bin/env bash
# Android compile gate: type-checks the app's library (src-tauri) and every library crate for
# aarch64-linux-android, and makes sure no crate pulls in aws-lc-rs (which needs the NDK's cmake
# toolchain to build). `cargo check` compiles C dependencies (ring, SQLite) but links nothing, so
# no Android NDK is needed: ring builds without libc headers, and SQLite against Debian's aarch64
# glibc headers (libc6-dev-arm64-cross), which is enough to type-check the Rust that calls it.
# A real Android build (the APK) is done with the NDK: see docs/APP.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bandsync-target}"
TARGET=aarch64-linux-android

loud() {
  {
    echo
    echo "######################################################################"
    echo "##"
    echo "##  ANDROID CHECK SKIPPED: $1"
    echo "##"
    echo "##  Nothing was checked for $TARGET. The desktop build and tests are"
    echo "##  not affected, but an Android build may be broken without anyone"
    echo "##  knowing. Fix the cause above and run scripts/android-check.sh again."
    echo "##"
    echo "######################################################################"
    echo
  } >&2
}

if ! command -v rustup >/dev/null; then
  loud "rustup is not installed, so the $TARGET standard library cannot be added"
  exit 0
fi
if ! rustup target list --installed | grep -qx "$TARGET"; then
  if ! rustup target add "$TARGET"; then
    loud "'rustup target add $TARGET' failed (offline, or no such toolchain component)"
    exit 0
  fi
fi

# C compilers for the target: clang cross-compiles given --target (cc-rs adds it).
if ! command -v clang >/dev/null || ! command -v llvm-ar >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang llvm >/dev/null
  fi
fi
SYSROOT_INC=/usr/aarch64-linux-gnu/include
if [ ! -d "$SYSROOT_INC" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libc6-dev-arm64-cross >/dev/null || true
fi
if ! command -v clang >/dev/null || ! command -v llvm-ar >/dev/null || [ ! -d "$SYSROOT_INC" ]; then
  loud "clang, llvm-ar or the aarch64 C headers (libc6-dev-arm64-cross) are missing"
  exit 0
fi
export CC_aarch64_linux_android=clang
export AR_aarch64_linux_android=llvm-ar
# ring needs no libc headers at all; everything else (SQLite) gets the aarch64 ones.
export CFLAGS_aarch64_linux_android="-nostdlibinc -DRING_CORE_NOSTDLIBINC=1 -isystem $SYSROOT_INC"

echo "==> no crate depends on aws-lc-rs (any target)"
if cargo tree --workspace --target all -i aws-lc-rs >/dev/null 2>&1; then
  cargo tree --workspace --target all -i aws-lc-rs >&2
  echo "aws-lc-rs is in the dependency graph: it cannot be built for Android without the NDK" >&2
  exit 1
fi

start=$(date +%s)
# One check over every library crate together: one dependency graph and one feature resolution,
# so that shared dependencies (and the host's build scripts and proc macros) compile once.
# Unoptimised (profile.dev.opt-level=0): a check only type-checks the Rust, so optimising the C it
# compiles for the target (ring, SQLite) bought nothing. Cold on CI's two cores: 246 s with
# opt-level 2, 84 s without (its host build scripts and proc macros are now the test build's;
# docs/BENCHMARKS.md, "CI time").
echo "==> cargo check --workspace --lib --target $TARGET"
cargo check --locked --config profile.dev.opt-level=0 --workspace --lib --exclude bandsync-e2e --target "$TARGET"
echo "==> android check passed in $(( $(date +%s) - start )) s"
