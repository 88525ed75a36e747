#!/usr/bin/env bash
# check-c-api.sh - the C API from C, outside cargo:
#   (1) valgrind: ffi/tests/c/smoke.c, built against Sekisho's headers (ffi/include) and library
#       (target/release/libmodsecurity.so.3), runs under
#       `valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite`;
#       then tests/oracle/txn.c (built against the system's libmodsecurity headers) runs the
#       requests of tests/nginx/requests/ on CRS 4.28 through Sekisho under the same valgrind.
#       Any memory error or definite leak fails.
#   (2) the oracle: the SAME txn binary (tests/oracle/txn.c, built against Debian's
#       libmodsecurity-dev headers) runs tests/nginx/requests/*.txt twice, once with its default
#       linkage (Debian's libmodsecurity 3.0.9) and once with LD_LIBRARY_PATH=target/release
#       (Sekisho), on CRS 4.28 (crs-setup.conf.example + rules/*.conf) and on Debian's CRS 3.3.4,
#       each behind tests/nginx/modsecurity-base.conf. Per request: the status (of the first
#       intervention, 200 without one) and the sorted logged rule ids must be equal. A difference
#       fails, also a known one (its reason is printed).
#
# Usage: scripts/check-c-api.sh
# Environment:
#   SEKISHO_CRS_DIR       CRS 4.x directory (default ../shared/crs/v4.28.0 beside the repository)
#   SEKISHO_NO_BUILD=1    do not run scripts/build-ffi.sh (use the library already built)
#   SEKISHO_NO_VALGRIND=1 skip (1)
#   SEKISHO_KEEP=1        keep the temporary directory (binaries, outputs, valgrind logs)
# Exit: 0 when every check passes, 1 when one fails, 2 when a C compiler, valgrind, python3,
#       libmodsecurity (library and headers) or a CRS is missing (scripts/setup-debian.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
started=$SECONDS

DEBIAN_LOAD=/usr/share/modsecurity-crs/owasp-crs.load
VALGRIND=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite)

missing() { # MESSAGE [HINT]
    echo "check-c-api: $1" >&2
    echo "check-c-api: ${2:-install with scripts/setup-debian.sh (apt: gcc pkg-config valgrind python3 libmodsecurity3 libmodsecurity-dev modsecurity-crs)}" >&2
    exit 2
}

# --- prerequisites ------------------------------------------------------------------------------
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || missing "no C compiler ($CC)"
command -v pkg-config >/dev/null 2>&1 || missing "pkg-config not found"
command -v python3 >/dev/null 2>&1 || missing "python3 not found"
if [ -z "${SEKISHO_NO_VALGRIND:-}" ]; then
    command -v valgrind >/dev/null 2>&1 || missing "valgrind not found"
fi
pkg-config --exists modsecurity 2>/dev/null || missing "libmodsecurity headers not found (libmodsecurity-dev)"
. "$root/scripts/lib/checks.sh"
locate_debian_libmodsecurity
[ -f "$DEBIAN_LOAD" ] || missing "$DEBIAN_LOAD not found (modsecurity-crs)"
locate_crs4
build_sekisho_ffi check-c-api

work=$(mktemp -d "${TMPDIR:-/tmp}/sekisho-c-api.XXXXXX")
cleanup() {
    if [ -n "${SEKISHO_KEEP:-}" ]; then
        echo "check-c-api: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

passed=0
failed=0
failures=()
known=0        # differing ids that tests/nginx/known-difference.sh explains
unexplained=0  # and the others
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); }

# The rule sets: one top file each (scripts/lib/checks.sh).
write_crs_configs "$work"
requests=("$root"/tests/nginx/requests/*.txt)

# txn, built once against the system's headers (Debian's libmodsecurity-dev). It NEEDs
# libmodsecurity.so.3: the default search finds Debian's, LD_LIBRARY_PATH=target/release Sekisho's.
# shellcheck disable=SC2046
"$CC" -std=c11 -O1 -g -o "$work/txn" "$root/tests/oracle/txn.c" $(pkg-config --cflags --libs modsecurity) \
    || { echo "check-c-api: tests/oracle/txn.c did not build" >&2; exit 1; }
linked() { # LD_LIBRARY_PATH value -> the libmodsecurity.so.3 the binary gets
    env -u LD_PRELOAD LD_LIBRARY_PATH="$1" ldd "$work/txn" | awk '$1 == "libmodsecurity.so.3" { print $3 }' | xargs -r readlink -f
}
lib_debian=$(linked "")
lib_sekisho=$(linked "$sekisho_dir")
echo "check-c-api: txn (tests/oracle/txn.c, $(pkg-config --modversion modsecurity) headers)"
echo "  default linkage:                  $lib_debian"
echo "  LD_LIBRARY_PATH=$sekisho_dir: $lib_sekisho"
if [ "$lib_debian" = "$lib_sekisho" ] || [[ "$lib_sekisho" != "$sekisho_dir"/* && "$lib_sekisho" != "$(readlink -f "$sekisho_dir")"/* ]]; then
    echo "check-c-api: the two runs would not use two different libraries" >&2
    exit 1
fi

# --- (1) valgrind -------------------------------------------------------------------------------
vg_row() { printf '  %-44s %-8s %s\n' "$@"; }
# vg_summary LOG -> "errors N, definitely lost B bytes" from a valgrind log
vg_summary() {
    local errs lost
    errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$1" | tail -n1)
    lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$1" | tail -n1)
    printf 'errors %s, definitely lost %s bytes' "${errs:-?}" "${lost:-0}"
}
if [ -n "${SEKISHO_NO_VALGRIND:-}" ]; then
    printf '\n==> (1) valgrind: skipped (SEKISHO_NO_VALGRIND)\n'
else
    printf '\n==> (1) valgrind (%s) against %s\n' "${VALGRIND[*]:1}" "$lib_sekisho"
    # smoke.c: Sekisho's own headers, linked to the drop-in as -lmodsecurity.
    if "$CC" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -g -o "$work/smoke" "$root/ffi/tests/c/smoke.c" \
        -I"$root/ffi/include" -L"$sekisho_dir" -lmodsecurity 2>"$work/smoke.build"; then
        t0=$SECONDS
        rc=0
        env -u LD_PRELOAD LD_LIBRARY_PATH="$sekisho_dir" "${VALGRIND[@]}" --log-file="$work/smoke.vg" \
            "$work/smoke" >"$work/smoke.out" 2>&1 || rc=$?
        if [ "$rc" -eq 0 ] && grep -q 'smoke: ok' "$work/smoke.out"; then
            pass; vg_row "ffi/tests/c/smoke.c" "ok" "$(vg_summary "$work/smoke.vg") ($((SECONDS - t0))s)"
        else
            fail "valgrind smoke.c (exit $rc)"
            vg_row "ffi/tests/c/smoke.c" "FAILED" "exit $rc, $(vg_summary "$work/smoke.vg")"
            tail -n 40 "$work/smoke.out" "$work/smoke.vg" | sed 's/^/    /'
        fi
    else
        fail "smoke.c did not build"
        vg_row "ffi/tests/c/smoke.c" "FAILED" "did not build"
        sed 's/^/    /' "$work/smoke.build"
    fi
    # txn on CRS 4.28 with the requests: rules load, every phase, interventions freed by the caller.
    t0=$SECONDS
    rc=0
    env -u LD_PRELOAD LD_LIBRARY_PATH="$sekisho_dir" "${VALGRIND[@]}" --log-file="$work/txn.vg" \
        "$work/txn" "$work/crs-4.28.conf" "${requests[@]}" >"$work/txn-vg.out" 2>"$work/txn-vg.err" || rc=$?
    n=$(grep -c '^{' "$work/txn-vg.out" || true)
    if [ "$rc" -eq 0 ] && [ "$n" -eq "${#requests[@]}" ]; then
        pass; vg_row "tests/oracle/txn.c, CRS 4.28, ${#requests[@]} requests" "ok" "$(vg_summary "$work/txn.vg") ($((SECONDS - t0))s)"
    else
        fail "valgrind txn.c on CRS 4.28 (exit $rc)"
        vg_row "tests/oracle/txn.c, CRS 4.28, ${#requests[@]} requests" "FAILED" "exit $rc, $n results, $(vg_summary "$work/txn.vg")"
        tail -n 60 "$work/txn.vg" "$work/txn-vg.err" | sed 's/^/    /'
    fi
fi

# --- (2) the same transactions through libmodsecurity 3.0.9 and Sekisho ----------------------------
# summarize OUT -> lines "FILE<TAB>STATUS<TAB>IDS" from txn's JSON lines
summarize() {
    python3 - "$1" <<'EOF'
import json, os, sys
for line in open(sys.argv[1], encoding="latin-1"):
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    iv = d.get("interventions") or []
    status = iv[0]["status"] if iv else 200
    step = (" (" + iv[0]["step"] + ")") if iv else ""
    ids = " ".join(str(i) for i in d.get("ids") or []) or "-"
    print(f"{os.path.basename(d['file'])}\t{status}{step}\t{ids}")
EOF
}

declare -A secs
row() { printf '  %-9s %-18s %-19s %-21s %s\n' "$@"; }
for set in 4.28 3.3.4; do
    printf '\n==> (2) CRS %s: txn with libmodsecurity 3.0.9 and with Sekisho\n' "$set"
    row "rule set" "request" "library" "status" "rule ids"
    for lib in debian sekisho; do
        ld=""
        [ "$lib" = sekisho ] && ld=$sekisho_dir
        rc=0
        t0=$EPOCHREALTIME
        (cd "$work" && env -u LD_PRELOAD LD_LIBRARY_PATH="$ld" "$work/txn" "$work/crs-$set.conf" "${requests[@]}") \
            >"$work/$set-$lib.json" 2>"$work/$set-$lib.err" || rc=$?
        secs[$lib]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
        if [ "$rc" -ne 0 ]; then
            fail "CRS $set / $lib: txn exited with $rc"
            echo "  CRS $set $lib: txn exited with $rc:"
            head -n 20 "$work/$set-$lib.json" "$work/$set-$lib.err" | sed 's/^/    /'
        fi
        summarize "$work/$set-$lib.json" >"$work/$set-$lib.tsv"
    done
    for req in "${requests[@]}"; do
        name=$(basename "$req")
        a=$(awk -F'\t' -v f="$name" '$1 == f { print $2 "\t" $3 }' "$work/$set-debian.tsv")
        b=$(awk -F'\t' -v f="$name" '$1 == f { print $2 "\t" $3 }' "$work/$set-sekisho.tsv")
        row "CRS $set" "${name%.txt}" "libmodsecurity" "${a%%$'\t'*}" "${a#*$'\t'}"
        row "" "" "sekisho" "${b%%$'\t'*}" "${b#*$'\t'}"
        if [ -n "$a" ] && [ "$a" = "$b" ]; then
            pass
            row "" "" "compare" "same" ""
        else
            ia=${a#*$'\t'}; ib=${b#*$'\t'}
            id_difference "$ia" "$ib"
            row "" "" "compare" "DIFFERENT" "only libmodsecurity: ${only_a:--}; only sekisho: ${only_b:--}"
            what="ids differ (only libmodsecurity: ${only_a:--}; only sekisho: ${only_b:--})"
            [ "${a%%$'\t'*}" = "${b%%$'\t'*}" ] || what="status ${a%%$'\t'*} vs ${b%%$'\t'*}; $what"
            fail "CRS $set / ${name%.txt}: $what"
            # shellcheck disable=SC2086 # one word per id
            explain_ids "$work/crs-$set.conf" $only_a $only_b
        fi
    done
    printf '  (run time: libmodsecurity %ss, sekisho %ss, rules load included)\n' "${secs[debian]}" "${secs[sekisho]}"
done

print_summary
echo "check-c-api: $passed checks passed, $failed failed ($((SECONDS - started))s)"
[ "$failed" -eq 0 ]
