#!/usr/bin/env bash
# test.sh - THE test command for Sekisho. Stops at the first failing step; exit 0 only when all
# of them pass.
#
#   1. cargo fmt --all --check
#   2. cargo clippy --workspace --all-targets -- -D warnings
#   3. cargo test --workspace          (unit, integration and conformance tests)
#   4. fuzz: `cargo +nightly fuzz run parse` for SEKISHO_FUZZ_SECONDS (default 60) seconds;
#      a crash, a failed round trip or an input taking over 10 s fails the step.
#
# Environment:
#   SEKISHO_SKIP_FUZZ=1        skip step 4 (no nightly toolchain needed then)
#   SEKISHO_FUZZ_SECONDS=N     fuzzing time (default 60)
#   SEKISHO_SHARED             the shared reference data (CRS 4.28 at $SEKISHO_SHARED/crs/v4.28.0);
#                              exported as ../shared when that exists beside the repository
# Set-up on Debian/Ubuntu: scripts/setup-debian.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

if [ -z "${SEKISHO_SHARED:-}" ] && [ -d "$root/../shared" ]; then
    SEKISHO_SHARED=$(cd "$root/../shared" && pwd)
    export SEKISHO_SHARED
fi

started=$SECONDS
step_started=$SECONDS
step_name=""
step() {
    finish_step
    step_name="$*"
    step_started=$SECONDS
    printf '\n==> %s\n' "$step_name"
}
finish_step() {
    if [ -n "$step_name" ]; then
        printf '==> ok: %s (%ds)\n' "$step_name" $((SECONDS - step_started))
    fi
}
on_exit() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ -n "$step_name" ]; then
        printf '\n==> FAILED: %s (exit %d, after %ds)\n' "$step_name" "$rc" $((SECONDS - step_started)) >&2
    fi
}
trap on_exit EXIT

echo "test.sh: $(cargo --version); SEKISHO_SHARED=${SEKISHO_SHARED:-(unset)}"

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace"
# The C API's tests link C programs against the cdylib, which `cargo test` alone does not build.
cargo build -p sekisho-ffi
cargo test --workspace

if [ -n "${SEKISHO_SKIP_FUZZ:-}" ]; then
    finish_step
    step_name=""
    printf '\n==> fuzz: skipped (SEKISHO_SKIP_FUZZ is set)\n'
else
    seconds=${SEKISHO_FUZZ_SECONDS:-60}
    step "fuzz: cargo +nightly fuzz run parse (${seconds}s)"
    if ! cargo +nightly --version >/dev/null 2>&1; then
        echo "test.sh: no nightly toolchain: rustup toolchain install nightly --profile minimal" >&2
        echo "test.sh: (or skip fuzzing with SEKISHO_SKIP_FUZZ=1)" >&2
        exit 1
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "test.sh: installing cargo-fuzz"
        cargo install cargo-fuzz --locked
    fi
    # New inputs go to the first directory (git-ignored); the seed directories are only read.
    mkdir -p fuzz/corpus/parse fuzz/corpus/transaction
    cargo +nightly fuzz run parse fuzz/corpus/parse fuzz/seeds -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1
    step "fuzz: cargo +nightly fuzz run transaction (${seconds}s)"
    cargo +nightly fuzz run transaction fuzz/corpus/transaction fuzz/seeds-transaction -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1
fi

finish_step
step_name=""
printf '\n==> all steps passed (%ds)\n' $((SECONDS - started))
