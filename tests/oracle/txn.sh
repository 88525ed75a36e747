#!/usr/bin/env bash
# txn.sh - build tests/oracle/txn.c and run transactions through a real libmodsecurity v3.
#
# Usage: tests/oracle/txn.sh --lib debian|wheel|both RULES_FILE REQUEST_FILE...
#   --lib debian  Debian 12's libmodsecurity3 (3.0.9), /usr/lib/x86_64-linux-gnu/libmodsecurity.so.3
#   --lib wheel   the libmodsecurity 3.0.15 bundled in the PyPI wheel `libmodsecurity`
#                 (override the directory holding it with MODSEC_WHEEL_LIBDIR=...)
#   --lib both    run debian, then wheel
# Prints one JSON line per REQUEST_FILE (format: see txn.c / FINDINGS.md "Transactions"),
# preceded by a "# lib ...: <path>" line per library.
# Exit: harness status (0 ok, 1 a request file was bad, 2 rules failed to load),
#       2 if something is missing (with an install hint).
#
# Needs (Debian 12): apt-get install -y libmodsecurity3 libmodsecurity-dev pkg-config gcc
#   and for --lib wheel: pip install libmodsecurity
# Library discovery is the same as run.sh's (copied, run.sh is left untouched).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src="$here/txn.c"

die_missing() {
    echo "txn.sh: $1" >&2
    echo "txn.sh: install with: $2" >&2
    exit 2
}

lib=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --lib) [ $# -ge 2 ] || { echo "txn.sh: --lib needs debian|wheel|both" >&2; exit 2; }
               lib="$2"; shift 2 ;;
        --lib=*) lib="${1#--lib=}"; shift ;;
        -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done
case "$lib" in
    debian|wheel|both) ;;
    *) echo "usage: txn.sh --lib debian|wheel|both RULES_FILE REQUEST_FILE..." >&2; exit 2 ;;
esac
[ ${#args[@]} -ge 2 ] || { echo "txn.sh: need a rules file and at least one request file" >&2; exit 2; }

# --- build (against the Debian headers; the binary runs on 3.0.9 and 3.0.15) ---
command -v cc >/dev/null 2>&1 || die_missing "no C compiler (cc)" "apt-get install -y gcc"
command -v pkg-config >/dev/null 2>&1 || die_missing "pkg-config not found" "apt-get install -y pkg-config"
pkg-config --exists modsecurity 2>/dev/null \
    || die_missing "modsecurity.pc / headers not found (libmodsecurity-dev)" \
                   "apt-get install -y libmodsecurity-dev libmodsecurity3"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sekisho-txn.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
cc -std=c11 -O1 -o "$tmp/txn" "$src" $(pkg-config --cflags --libs modsecurity) \
    || { echo "txn.sh: build failed" >&2; exit 2; }

run_debian() {
    local so
    so=$(ldconfig -p 2>/dev/null | awk '$1 == "libmodsecurity.so.3" { print $NF; exit }')
    [ -n "$so" ] && [ -e "$so" ] \
        || die_missing "Debian libmodsecurity.so.3 not found" "apt-get install -y libmodsecurity3"
    echo "# lib debian: $(readlink -f "$so")"
    env -u LD_LIBRARY_PATH -u LD_PRELOAD "$tmp/txn" "${args[@]}"
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
    # See run.sh: the wheel's file has a hashed name; link it as libmodsecurity.so.3 and
    # put both directories on LD_LIBRARY_PATH ($ORIGIN resolves to the symlink's dir).
    mkdir -p "$tmp/wheel"
    ln -sf "$so" "$tmp/wheel/libmodsecurity.so.3"
    echo "# lib wheel: $so"
    env -u LD_PRELOAD LD_LIBRARY_PATH="$tmp/wheel:$dir" "$tmp/txn" "${args[@]}"
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
