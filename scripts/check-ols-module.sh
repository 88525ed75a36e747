#!/usr/bin/env bash
# check-ols-module.sh - OpenLiteSpeed's own modsecurity-ls module on Sekisho, unchanged:
#   (1) compiles src/modules/modsecurity-ls/mod_security.cpp of an OpenLiteSpeed source tree
#       with the module's CMake flags (-std=gnu++11 -Wall) against Sekisho's headers
#       (ffi/include) and OLS's include/, and links mod_security.so with Sekisho's staticlib
#       (target/release/libmodsecurity.a; none of libmodsecurity's own dependencies);
#   (2) checks that the module leaves no msc_* symbol undefined;
#   (3) builds ffi/tests/ols/host.cc (a stand-in for OLS's LSIAPI) and runs the module in it:
#       server + vhost configuration (msc_rules_merge), then requests through its hooks, with
#       inline rules and with CRS 4 (crs-setup.conf.example + rules/*.conf); host.cc says what
#       each request must give;
#   (4) the inline-rule run again under valgrind: no memory error. Definite leaks are printed,
#       not failed: module 1.1 never frees intervention.log (libmodsecurity hands it out as a
#       malloc'd copy too).
#
# Needs an OpenLiteSpeed source tree (include/ls.h, include/lsr/, the module source), which is
# not in this repository and which CI cannot fetch: run it by hand.
# Usage: OLS_SRC=/path/to/openlitespeed scripts/check-ols-module.sh
# Environment:
#   OLS_SRC             the OpenLiteSpeed source tree (required)
#   SEKISHO_CRS_DIR     CRS 4.x directory (default ../shared/crs/v4.28.0 beside the repository)
#   SEKISHO_NO_BUILD=1  do not run scripts/build-ffi.sh
#   SEKISHO_KEEP=1      keep the temporary directory
# Exit: 0 when every check passes, 1 when one fails, 2 when something needed is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

missing() { # MESSAGE [HINT]
    echo "check-ols-module: $1" >&2
    echo "check-ols-module: ${2:-install with scripts/setup-debian.sh}" >&2
    exit 2
}
# shellcheck source=lib/checks.sh
. "$root/scripts/lib/checks.sh"

[ -n "${OLS_SRC:-}" ] || missing "OLS_SRC is not set" "set OLS_SRC to an OpenLiteSpeed source tree"
module_src=$OLS_SRC/src/modules/modsecurity-ls/mod_security.cpp
[ -f "$OLS_SRC/include/ls.h" ] && [ -f "$module_src" ] \
    || missing "no include/ls.h or src/modules/modsecurity-ls/mod_security.cpp under $OLS_SRC" \
               "OLS_SRC must be an OpenLiteSpeed source tree"
command -v g++ >/dev/null || missing "g++ not found"
locate_crs4
build_sekisho_ffi check-ols-module
[ -f "$sekisho_dir/libmodsecurity.a" ] || { echo "check-ols-module: no $sekisho_dir/libmodsecurity.a" >&2; exit 1; }

work=$(mktemp -d)
[ -n "${SEKISHO_KEEP:-}" ] && echo "check-ols-module: keeping $work" || trap 'rm -rf "$work"' EXIT
failed=0

echo "==> (1) compile and link the module"
# shellcheck disable=SC2046
g++ -std=gnu++11 -Wall -fPIC $(getconf LFS_CFLAGS) -I"$OLS_SRC/include" -I"$OLS_SRC/src" \
    -I"$root/ffi/include" -c "$module_src" -o "$work/mod_security.o" 2>"$work/compile.log" \
    || { cat "$work/compile.log"; echo "check-ols-module: the module does not compile" >&2; exit 1; }
if [ -s "$work/compile.log" ]; then
    echo "compiler output:"; cat "$work/compile.log"
fi
g++ -shared -o "$work/mod_security.so" "$work/mod_security.o" "$sekisho_dir/libmodsecurity.a" \
    -lpthread -ldl -lm
echo "mod_security.so linked"

echo "==> (2) undefined symbols"
undefined=$(nm -D --undefined-only "$work/mod_security.so" | awk '{ print $NF }' \
    | grep -v -E '@(GLIBC|GLIBCXX|CXXABI|GCC)' || true)
echo "left for the server: $(echo "$undefined" | tr '\n' ' ')"
if grep -q '^msc_' <<<"$undefined"; then
    echo "FAIL: msc_* left undefined"; failed=1
fi

echo "==> (3) the module in a stand-in for OpenLiteSpeed"
g++ -std=c++11 -Wall -g -rdynamic -I"$OLS_SRC/include" -o "$work/host" \
    "$root/ffi/tests/ols/host.cc" -ldl
printf 'SecRuleEngine On\nSecRequestBodyAccess On\nInclude %s/crs-setup.conf.example\nInclude %s/rules/*.conf\n' \
    "$crs_dir" "$crs_dir" >"$work/crs.conf"
"$work/host" "$work/mod_security.so" | grep -v '^\[' || failed=1
"$work/host" "$work/mod_security.so" "$work/crs.conf" | grep -v '^\[' || failed=1
# grep hides the module's log lines; the host's own exit status decides (pipefail)

echo "==> (4) valgrind"
if command -v valgrind >/dev/null; then
    if valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=none "$work/host" "$work/mod_security.so" \
        >/dev/null 2>"$work/valgrind.log"; then
        grep -E "ERROR SUMMARY|definitely lost" "$work/valgrind.log" | sed 's/^==[0-9]*== //'
    else
        cat "$work/valgrind.log"; echo "FAIL: valgrind found memory errors"; failed=1
    fi
else
    echo "valgrind not installed: skipped"
fi

if [ "$failed" = 0 ]; then
    echo "check-ols-module: all checks passed"
else
    echo "check-ols-module: FAILED"
fi
exit "$failed"
