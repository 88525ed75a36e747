#!/usr/bin/env bash
# pgo.sh - the profile for a profile-guided release build of Sekisho: builds the `profile`
# example (crate sekisho-benches) with LLVM's instrumentation, runs it over a training set of
# requests, and merges what it counted into one file. Prints that file's path (the last line of
# standard output); a build then uses it with RUSTFLAGS="-Cprofile-use=PATH" (what
# `SEKISHO_PGO=1 scripts/build-ffi.sh` and `scripts/bench.sh` do).
#
# Why: the engine's evaluation is branchy code whose common paths the compiler cannot know;
# laid out for them it runs ~12% fewer instructions a request on CRS's regression inputs and
# ~10% on the benign set (callgrind, trained on one half of each set and measured on the
# other, 2026-12-04). The profile only steers the optimizer: a stale or partial one costs speed
# (and rustc's "profile mismatch" warnings), never a different answer.
#
# Training set: every other request (`SEKISHO_PROFILE_HALF=odd`) of CRS 4.28's regression
# inputs and of the benign set, at PL1 and PL2 and on Debian's CRS 3.3.4 when installed, and a
# 64 KB form, JSON and multipart body. CRS 4 is found as `compare` finds it (SEKISHO_CRS_DIR,
# ../shared/crs/v4.28.0, the standard paths).
#
# Needs llvm-profdata from the toolchain's llvm-tools (`rustup component add llvm-tools`, which
# this script runs when rustup is there). Exit: 0 with the path printed; 2 when a tool or CRS 4
# is missing (with a hint); 1 when a build or every training run fails.
#
# Environment:
#   SEKISHO_PGO_DIR   where the instrumented build, the raw counts and the profile go
#                     (default target/pgo)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
dir=${SEKISHO_PGO_DIR:-$root/target/pgo}

host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ] && command -v rustup >/dev/null 2>&1; then
    rustup component add llvm-tools >&2 || rustup component add llvm-tools-preview >&2 || true
fi
if [ ! -x "$profdata" ]; then
    echo "pgo.sh: $profdata is missing: rustup component add llvm-tools" >&2
    exit 2
fi

# (a target directory of its own: the instrumented build must not replace the release one)
rm -rf "$dir/raw"
mkdir -p "$dir/raw"
echo "==> instrumented build of the profile example ($dir/target)" >&2
CARGO_TARGET_DIR="$dir/target" RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$dir/raw" \
    cargo build --release -p sekisho-benches --example profile >&2
profile="$dir/target/release/examples/profile"

ran=0
train() {
    echo "==> training: $*" >&2
    local rc=0
    "$@" >"$dir/train.log" 2>&1 || rc=$?
    # (the instrumentation's notes on value-profiling counters running out are harmless)
    grep -v 'LLVM Profile Warning' "$dir/train.log" >&2 || true
    if [ "$rc" -eq 0 ]; then
        ran=$((ran + 1))
    fi
}
for rules in crs4-pl1 crs4-pl2 crs3; do
    for workload in regression benign; do
        train env SEKISHO_PROFILE_HALF=odd "$profile" "$rules" "$workload" 1
    done
done
for body in form json multipart; do
    train "$profile" crs4-pl1 "$body:65536" 1
done
if [ "$ran" -eq 0 ]; then
    echo "pgo.sh: no training run succeeded (is CRS 4 there? SEKISHO_CRS_DIR)" >&2
    exit 2
fi

"$profdata" merge -o "$dir/sekisho.profdata" "$dir/raw" >&2
echo "==> profile of $ran training runs: $dir/sekisho.profdata" >&2
echo "$dir/sekisho.profdata"
