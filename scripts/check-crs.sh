#!/usr/bin/env bash
# check-crs.sh - the main job on real rule sets: build `sekisho` (release) and run
# `sekisho rules check --time` on
#   (a) Debian's CRS 3.3.4, through its own loader /usr/share/modsecurity-crs/owasp-crs.load
#   (b) CRS 4.x from $SEKISHO_CRS_DIR, else ../shared/crs/v4.28.0 (skipped when neither exists)
#   (c) ModSecurity's recommended configuration (modsecurity.conf from Debian's
#       libnginx-mod-http-modsecurity, unpacked by scripts/setup-debian.sh; skipped if absent)
# When tests/oracle/run.sh can run (libmodsecurity installed), the same files also go through the
# real libmodsecurity, and both results are printed together. libmodsecurity's total counts every
# top-level rule as 1 and every SecMarker as 7 (tests/oracle/FINDINGS.md); Sekisho prints rules
# and directives. The exact comparison is done by the integration tests.
#   (d) the differential run: every CRS 4.28 regression stage through Sekisho and through
#       libmodsecurity 3.0.15 (the PyPI wheel), on CRS 4.28 and on Debian's CRS 3.3.4: same status,
#       same logged rule ids, except the reviewed cases in tests/expected_failures.txt (suite
#       libmodsecurity-differential). Release example `libmodsecurity-differential` of
#       sekisho-tests (tests/oracle/differential.rs); skipped when CRS 4.28 or the wheel is missing.
#
# Environment:
#   SEKISHO_CRS_DIR      a CRS directory for (b)
#   SEKISHO_ORACLE_LIB   debian (default), wheel or both: which libmodsecurity the oracle uses
#   SEKISHO_NO_ORACLE=1  do not run the oracle (nor (d))
#   SEKISHO_NO_DIFFERENTIAL=1  skip (d)
# Exit: 0 when Sekisho loads every rule set without errors and (d) finds no unlisted difference,
#       1 otherwise, 2 when (a) is missing.
# Set-up on Debian/Ubuntu: scripts/setup-debian.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

DEBIAN_LOAD=/usr/share/modsecurity-crs/owasp-crs.load
RECOMMENDED="${XDG_CACHE_HOME:-$HOME/.cache}/sekisho/modsecurity-recommended/etc/nginx/modsecurity.conf"
ORACLE_LIB=${SEKISHO_ORACLE_LIB:-debian}

echo "==> cargo build --release -p sekisho-cli"
cargo build --release -p sekisho-cli
bin="${CARGO_TARGET_DIR:-$root/target}/release/sekisho"
[ -x "$bin" ] || { echo "check-crs: $bin not found after the build" >&2; exit 1; }

# Can the oracle run? (compiler, libmodsecurity-dev, the library itself)
oracle=0
if [ -z "${SEKISHO_NO_ORACLE:-}" ]; then
    if probe=$("$root/tests/oracle/run.sh" --lib "$ORACLE_LIB" "@text:SecRuleEngine On" 2>&1); then
        oracle=1
    else
        echo "check-crs: libmodsecurity oracle unavailable, Sekisho only:"
        printf '%s\n' "$probe" | sed 's/^/    /'
    fi
fi

failed=0

# run_set TITLE ORACLE_FILES -- SEKISHO_ARGS...
#   ORACLE_FILES: newline-separated files for libmodsecurity (it has no IncludeOptional).
run_set() {
    local title=$1 oracle_files=$2
    shift 3
    printf '\n==> %s\n' "$title"
    local out rc=0
    out=$(cd "$root" && "$bin" rules check --time "$@" 2>&1) || rc=$?
    local summary
    summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+ (files, |errors?; )' | tail -n1 || true)
    printf '%s\n' "$out" | grep -vxF -- "${summary:-}" | sed 's/^/    /' || true
    printf '    sekisho:        %s\n' "${summary:-(no summary line)}"
    if [ "$rc" -ne 0 ]; then
        echo "    FAILED: sekisho rules check exited with $rc"
        failed=1
    fi
    if [ "$oracle" -eq 1 ]; then
        local files=() f o
        while IFS= read -r f; do
            [ -n "$f" ] && files+=("$f")
        done <<<"$oracle_files"
        # The oracle prints one count per file and `total N`; a -1 (error) is libmodsecurity's
        # verdict, shown but not a failure of this job.
        o=$("$root/tests/oracle/run.sh" --lib "$ORACLE_LIB" "${files[@]}" 2>&1 || true)
        printf '%s\n' "$o" | awk '
            /^# lib / { lib = $3; sub(/:$/, "", lib); next }
            /^-1\t/ { err[lib]++; next }
            /^error: / { if (!(lib in first)) first[lib] = substr($0, 8); next }
            /^total / { printf "    libmodsecurity: total %s (rules + 7 x SecMarker)  [%s]%s\n", $2, lib, \
                        (err[lib] ? sprintf(", %d file(s) returned -1: %s", err[lib], first[lib]) : "") }'
    fi
}

# --- (a) Debian CRS 3.3.4 ------------------------------------------------------------------------
if [ ! -f "$DEBIAN_LOAD" ]; then
    echo "check-crs: $DEBIAN_LOAD not found: install modsecurity-crs (scripts/setup-debian.sh)" >&2
    exit 2
fi
# What owasp-crs.load includes, in its order, with globs expanded and missing IncludeOptional
# files left out (libmodsecurity v3 rejects IncludeOptional itself).
debian_files=$(
    awk 'tolower($1) == "include" || tolower($1) == "includeoptional" { print tolower($1), $2 }' "$DEBIAN_LOAD" |
    while read -r kind pattern; do
        matched=0
        while IFS= read -r f; do
            if [ -f "$f" ]; then
                echo "$f"
                matched=1
            fi
        done < <(compgen -G "$pattern" | LC_ALL=C sort)
        [ "$matched" -eq 1 ] || [ "$kind" = includeoptional ] \
            || echo "check-crs: warning: $DEBIAN_LOAD includes $pattern, which matches nothing" >&2
    done
)
run_set "(a) CRS 3.3.4 (Debian modsecurity-crs): $DEBIAN_LOAD" "$debian_files" -- "$DEBIAN_LOAD"

# --- (b) CRS 4.x ---------------------------------------------------------------------------------
crs_dir=${SEKISHO_CRS_DIR:-}
if [ -z "$crs_dir" ] && [ -d "$root/../shared/crs/v4.28.0" ]; then
    crs_dir=$(cd "$root/../shared/crs/v4.28.0" && pwd)
fi
if [ -n "$crs_dir" ]; then
    # The files `--crs` loads (crates crs-rules): the setup file, then rules/*.conf sorted.
    setup=""
    for s in crs-setup.conf crs-setup.conf.example; do
        if [ -f "$crs_dir/$s" ]; then setup="$crs_dir/$s"; break; fi
    done
    crs_files=$({ [ -z "$setup" ] || echo "$setup"; LC_ALL=C ls "$crs_dir"/rules/*.conf; })
    run_set "(b) CRS at $crs_dir" "$crs_files" -- --crs "$crs_dir"
else
    printf '\n==> (b) CRS 4.x: skipped (no %s and no ../shared/crs/v4.28.0)\n' "\$SEKISHO_CRS_DIR"
fi

# --- (c) modsecurity.conf-recommended -------------------------------------------------------------
if [ -f "$RECOMMENDED" ]; then
    run_set "(c) ModSecurity recommended configuration: $RECOMMENDED" "$RECOMMENDED" -- "$RECOMMENDED"
else
    printf '\n==> (c) recommended configuration: skipped (%s missing; run scripts/setup-debian.sh)\n' "$RECOMMENDED"
fi

# --- (d) differential run against libmodsecurity ---------------------------------------------------
diff_failed=0
if [ -n "${SEKISHO_NO_ORACLE:-}" ] || [ -n "${SEKISHO_NO_DIFFERENTIAL:-}" ]; then
    printf '\n==> (d) differential run against libmodsecurity: skipped (SEKISHO_NO_ORACLE / SEKISHO_NO_DIFFERENTIAL)\n'
else
    printf '\n==> (d) differential run against libmodsecurity (CRS 4.28 regression stages, CRS 4.28 and 3.3.4)\n'
    cargo build --release -p sekisho-tests --example libmodsecurity-differential
    diff_bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/libmodsecurity-differential"
    rc=0
    diff_out=$("$diff_bin" 2>&1) || rc=$?
    printf '%s\n' "$diff_out" | sed 's/^/    /'
    case "$rc" in
        0) ;;
        2) echo "    skipped: libmodsecurity 3.0.15 (pip install libmodsecurity) or CRS 4.28 is missing" ;;
        *) echo "    FAILED: Sekisho and libmodsecurity differ beyond the listed cases"; diff_failed=1 ;;
    esac
fi

echo
if [ "$failed" -ne 0 ]; then
    echo "check-crs: FAILED: sekisho reported errors"
    exit 1
fi
if [ "$diff_failed" -ne 0 ]; then
    echo "check-crs: FAILED: the differential run against libmodsecurity found unlisted differences"
    exit 1
fi
echo "check-crs: ok: every rule set loaded without errors"
