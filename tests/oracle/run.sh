#!/usr/bin/env bash
# run.sh - build one of the oracle programs and run it against a real libmodsecurity v3.
#
# Usage: tests/oracle/run.sh --lib debian|wheel|both [--program rules_count|txn] ARGS...
#   --program     rules_count (default): [--each] [--escape] FILE|@text:RULES...
#                 txn: RULES_FILE REQUEST_FILE... (txn.sh is this with --program txn)
#   --lib debian  Debian 12's libmodsecurity3 (3.0.9), /usr/lib/x86_64-linux-gnu/libmodsecurity.so.3
#   --lib wheel   the libmodsecurity 3.0.15 bundled in the PyPI wheel `libmodsecurity`
#                 (override the directory holding it with MODSEC_WHEEL_LIBDIR=...)
#   --lib both    run debian, then wheel
# Other options go to the harness (see rules_count.c). Prints the harness output.
# Exit: harness status (0 ok, 1 some call returned -1), 2 if something is missing.
#
# Needs (Debian 12): apt-get install -y libmodsecurity3 libmodsecurity-dev pkg-config gcc
#   and for --lib wheel: pip install libmodsecurity
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=rules_count

die_missing() {
    echo "run.sh: $1" >&2
    echo "run.sh: install with: $2" >&2
    exit 2
}

lib=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --lib) [ $# -ge 2 ] || { echo "run.sh: --lib needs debian|wheel|both" >&2; exit 2; }
               lib="$2"; shift 2 ;;
        --lib=*) lib="${1#--lib=}"; shift ;;
        --program) [ $# -ge 2 ] || { echo "run.sh: --program needs rules_count|txn" >&2; exit 2; }
                   prog="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done
case "$lib" in
    debian|wheel|both) ;;
    *) echo "usage: run.sh --lib debian|wheel|both [--each] [--escape] FILE|@text:RULES..." >&2; exit 2 ;;
esac
case "$prog" in
    rules_count) [ ${#args[@]} -gt 0 ] || { echo "run.sh: no rules files given" >&2; exit 2; } ;;
    txn) [ ${#args[@]} -ge 2 ] || { echo "run.sh: txn needs a rules file and a request file" >&2; exit 2; } ;;
    *) echo "run.sh: unknown --program $prog" >&2; exit 2 ;;
esac
src="$here/$prog.c"

# --- build (always against the Debian headers; the binary runs on 3.0.9 and 3.0.15) ---
command -v cc >/dev/null 2>&1 || die_missing "no C compiler (cc)" "apt-get install -y gcc"
command -v pkg-config >/dev/null 2>&1 || die_missing "pkg-config not found" "apt-get install -y pkg-config"
pkg-config --exists modsecurity 2>/dev/null \
    || die_missing "modsecurity.pc / headers not found (libmodsecurity-dev)" \
                   "apt-get install -y libmodsecurity-dev libmodsecurity3"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sekisho-oracle.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
cc -std=c11 -O1 -o "$tmp/$prog" "$src" $(pkg-config --cflags --libs modsecurity) \
    || { echo "run.sh: build failed" >&2; exit 2; }

run_debian() {
    local so
    # awk reads to the end (no early exit): no SIGPIPE for ldconfig under pipefail.
    so=$(ldconfig -p 2>/dev/null | awk '$1 == "libmodsecurity.so.3" && !found { print $NF; found = 1 }')
    [ -n "$so" ] && [ -e "$so" ] \
        || die_missing "Debian libmodsecurity.so.3 not found" "apt-get install -y libmodsecurity3"
    echo "# lib debian: $(readlink -f "$so")"
    env -u LD_LIBRARY_PATH -u LD_PRELOAD "$tmp/$prog" "${args[@]}"
}

find_wheel_libdir() {
    if [ -n "${MODSEC_WHEEL_LIBDIR:-}" ]; then
        echo "$MODSEC_WHEEL_LIBDIR"
        return
    fi
    local py
    for py in python3 python; do
        command -v "$py" >/dev/null 2>&1 || continue
        "$py" - <<'EOF' 2>/dev/null && return
import importlib.metadata as m, os, sys
d = m.distribution("libmodsecurity")
for f in d.files or []:
    n = os.path.basename(str(f))
    if n.startswith("libmodsecurity") and ".so.3" in n:
        print(os.path.dirname(str(d.locate_file(f))))
        sys.exit(0)
sys.exit(1)
EOF
    done
    return 1
}

run_wheel() {
    local dir so
    dir=$(find_wheel_libdir) \
        || die_missing "PyPI wheel 'libmodsecurity' (libmodsecurity 3.0.15) not found" \
                       "pip install libmodsecurity   (or set MODSEC_WHEEL_LIBDIR)"
    so=$(find "$dir" -maxdepth 1 -name 'libmodsecurity*.so.3*' 2>/dev/null | sort | head -n1)
    [ -n "$so" ] || die_missing "no libmodsecurity*.so.3* in $dir" "pip install libmodsecurity"
    # The wheel's file is libmodsecurity-<hash>.so.3.0.15 (SONAME the same); the harness
    # NEEDs libmodsecurity.so.3, so point a symlink at it. Its own deps (libcurl-<hash>...)
    # sit beside it and are found through RPATH $ORIGIN only from the real directory,
    # hence both directories on LD_LIBRARY_PATH.
    mkdir -p "$tmp/wheel"
    ln -sf "$so" "$tmp/wheel/libmodsecurity.so.3"
    echo "# lib wheel: $so"
    env -u LD_PRELOAD LD_LIBRARY_PATH="$tmp/wheel:$dir" "$tmp/$prog" "${args[@]}"
}

status=0
case "$lib" in
    debian) run_debian || status=$? ;;
    wheel) run_wheel || status=$? ;;
    both)
        run_debian || status=$?
        s=0; run_wheel || s=$?
        [ "$s" -gt "$status" ] && status=$s
        ;;
esac
exit "$status"
