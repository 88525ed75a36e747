#!/usr/bin/env bash
# bench.sh - Sekisho side by side with libmodsecurity v3: builds `compare` (crate
# sekisho-benches) and Sekisho's C API drop-in in release mode, then runs `compare --quick` and
# prints its table (time per transaction, verdict agreement, rule load time and memory, for CRS
# 4.28 at PL1 and PL2 and Debian's CRS 3.3.4; Debian's libmodsecurity 3.0.9, the PyPI wheel's
# 3.0.15, Sekisho's Rust API and its C API); then Sekisho's time alone on 1 MB form, JSON and
# multipart bodies (examples/profile).
#
# Figures are reported, never asserted: a shared 2-core machine is too noisy for thresholds.
# Exit: non-zero only when a build or the program fails (an engine or rule set that is not
# installed is skipped with a note, not a failure).
#
# Environment:
#   SEKISHO_BENCH_FULL=1   the full run (all CRS regression inputs, 1 MB bodies, 10,000
#                          arguments, more rounds) instead of --quick; takes 30 minutes or
#                          more (one 1 MB JSON transaction costs libmodsecurity about a minute)
#   SEKISHO_CRS_DIR        CRS 4 directory (default ../shared/crs/v4.28.0)
#   SEKISHO_PGO=0          plain release builds; by default `compare` and the C API drop-in
#                          are profile-guided builds (scripts/pgo.sh: trained on every other
#                          regression input and benign request, ~12% fewer instructions)
# Other arguments go to `compare` (e.g. --rules crs4-pl1 --engines wheel,sekisho).
# Set-up on Debian/Ubuntu: scripts/setup-debian.sh (libmodsecurity3, modsecurity-crs, the wheel).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
out=${CARGO_TARGET_DIR:-$root/target}/release

if [ "${SEKISHO_PGO:-1}" = 1 ]; then
    echo "==> scripts/pgo.sh (the profile of a profile-guided build)"
    if profile=$(scripts/pgo.sh | tail -n 1) && [ -n "$profile" ]; then
        # (build-ffi.sh adds the same flag to the same RUSTFLAGS: both builds share their crates)
        export SEKISHO_PGO_PROFILE=$profile
    else
        echo "==> no profile (see above): plain release builds"
    fi
fi
# cargo build --release of these targets, profile-guided when there is a profile
release_build() {
    echo "==> cargo build --release $*"
    if [ -n "${SEKISHO_PGO_PROFILE:-}" ]; then
        RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$SEKISHO_PGO_PROFILE" cargo build --release "$@"
    else
        cargo build --release "$@"
    fi
}
release_build -p sekisho-benches --bin compare
echo "==> scripts/build-ffi.sh (Sekisho's libmodsecurity.so.3, the C API column)"
scripts/build-ffi.sh

mode=(--quick)
[ "${SEKISHO_BENCH_FULL:-0}" = 1 ] && mode=()
echo "==> compare ${mode[*]} $*"
"$out/compare" "${mode[@]}" --ffi-lib "$out/libmodsecurity.so.3" "$@"

# The 1 MB bodies, which --quick leaves out (libmodsecurity takes seconds to minutes on each):
# Sekisho alone, for the target of 10 ms a body (the issue's), the same build as `compare`'s.
echo "==> Sekisho alone on 1 MB bodies, CRS 4.28 PL1 (examples/profile; median of the rounds)"
release_build -p sekisho-benches --example profile
for body in form json multipart; do
    if ! text=$("$out/examples/profile" crs4-pl1 "$body:1048576" 9 2>&1); then
        case $text in
        *"no CRS 4 directory"* | *"not a CRS directory"*) echo "(no CRS 4: skipped)" && break ;;
        *) echo "$text" && exit 1 ;;
        esac
    fi
    echo "$text"
done
