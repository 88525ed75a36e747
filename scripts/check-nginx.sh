#!/usr/bin/env bash
# check-nginx.sh - the proof with a real server: Debian's nginx and its unmodified ModSecurity
# connector (libnginx-mod-http-modsecurity), once on Debian's libmodsecurity 3.0.9 and once on
# Sekisho's drop-in (target/release/libmodsecurity.so.3, through LD_LIBRARY_PATH), with
#   - CRS 4.28 ($SEKISHO_CRS_DIR, else ../shared/crs/v4.28.0): crs-setup.conf.example as it is
#     (paranoia level 1, anomaly scoring), then rules/*.conf;
#   - Debian's CRS 3.3.4: the files /usr/share/modsecurity-crs/owasp-crs.load includes, in its
#     order (its IncludeOptional, which libmodsecurity rejects, becomes Include of the files that
#     exist). REQUEST-910 stays in: its @geoLookup chain only runs when
#     tx.high_risk_country_codes is set, which Debian's crs-setup.conf does not do;
# each behind tests/nginx/modsecurity-base.conf (SecRuleEngine On, request and response bodies,
# limits, no audit log).
#
# For each rule set and library it starts nginx (tests/nginx/nginx.conf.in; private prefix in a
# temporary directory, 127.0.0.1 and free high ports only), checks that the master mapped the
# expected libmodsecurity.so.3, sends with curl a benign GET, a benign form POST, SQL injection in
# the query string, XSS in a form body and a PHP file upload (multipart), checks the statuses
# (200 for the benign ones, 403 for the attacks), stops nginx, and reads the rule ids the error log
# has for each request (every `[id "N"]` on the lines whose `request: "..."` is that request; each
# request has its own path). Sekisho's id set must equal libmodsecurity's for every request: a
# difference is printed with both sets and fails the check, also when it is a known one (then
# tests/nginx/known-difference.sh prints why: README's deliberate differences,
# tests/expected_failures.txt).
#
# Then, with Sekisho and CRS 4.28: 100 reloads (`nginx -s reload`, each waited for until the old
# worker is gone and a new one runs; `nginx -s reload` loads the whole configuration itself
# before it signals the master, SEKISHO_NGINX_HUP=1 sends the master SIGHUP directly). The
# master's VmRSS is read after start and every 10 reloads; the baseline is the median of the
# first three readings (10, 20 and 30 reloads: the warm-up), the end the median of the last
# three (single readings move by 1-2 MiB either way from one to the next, glibc keeping or
# returning freed pages, and one low baseline reading failed a run without a leak; a leak
# still raises the last three), and growth from the one to the other above 8 MiB or 10% fails.
# A SQLi request must still get 403 afterwards.
#
# Usage: scripts/check-nginx.sh
# Environment:
#   SEKISHO_CRS_DIR            CRS 4.x directory (default ../shared/crs/v4.28.0 beside the repository)
#   SEKISHO_NO_BUILD=1         do not run scripts/build-ffi.sh (use the library already built)
#   SEKISHO_NGINX_RELOADS=N    number of reloads (default 100; 0 skips the reload check)
#   SEKISHO_NGINX_HUP=1        reload with `kill -HUP <master>` instead of `nginx -s reload`
#   SEKISHO_NGINX_RSS_MAX_KB   allowed RSS growth in KiB (default 8192)
#   SEKISHO_NGINX_RSS_MAX_PCT  allowed RSS growth in percent (default 10)
#   SEKISHO_NGINX_PORT         first port to try (default 18480; the next free ones are used)
#   SEKISHO_KEEP=1             keep the temporary directory (logs, configurations)
# Exit: 0 when every check passes, 1 when one fails, 2 when nginx, the connector module, curl,
#       Debian's libmodsecurity or a CRS is missing (scripts/setup-debian.sh installs them).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
started=$SECONDS

NGINX=/usr/sbin/nginx
MODULE=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
DEBIAN_LOAD=/usr/share/modsecurity-crs/owasp-crs.load
RELOADS=${SEKISHO_NGINX_RELOADS:-100}
RSS_MAX_KB=${SEKISHO_NGINX_RSS_MAX_KB:-8192}
RSS_MAX_PCT=${SEKISHO_NGINX_RSS_MAX_PCT:-10}

missing() { # MESSAGE [HINT]
    echo "check-nginx: $1" >&2
    echo "check-nginx: ${2:-install with scripts/setup-debian.sh (apt: nginx libnginx-mod-http-modsecurity libmodsecurity3 modsecurity-crs curl)}" >&2
    exit 2
}

# --- prerequisites ------------------------------------------------------------------------------
[ -x "$NGINX" ] || missing "$NGINX not found (package nginx)"
[ -f "$MODULE" ] || missing "$MODULE not found (package libnginx-mod-http-modsecurity)"
command -v curl >/dev/null 2>&1 || missing "curl not found"
. "$root/scripts/lib/checks.sh"
locate_debian_libmodsecurity
[ -f "$DEBIAN_LOAD" ] || missing "$DEBIAN_LOAD not found (package modsecurity-crs)"
locate_crs4

# --- Sekisho's library --------------------------------------------------------------------------
build_sekisho_ffi check-nginx
sekisho_so=$(readlink -f "$sekisho_dir/libmodsecurity.so.3")

# --- private prefix -----------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/sekisho-nginx.XXXXXX")
master=""
stop_nginx() { # stop the master we started (graceful, then TERM, then KILL)
    [ -n "$master" ] || return 0
    local i
    kill -QUIT "$master" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$master" 2>/dev/null || break
        [ "$i" -eq 50 ] && kill -TERM "$master" 2>/dev/null
        sleep 0.1
    done
    kill -0 "$master" 2>/dev/null && kill -KILL "$master" 2>/dev/null
    master=""
}
cleanup() {
    stop_nginx
    if [ -n "${SEKISHO_KEEP:-}" ]; then
        echo "check-nginx: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

mkdir -p "$work"/{logs,run,tmp}
chmod 755 "$work"
user_line=""
if [ "$(id -u)" -eq 0 ]; then
    # Workers drop to nobody; they write request bodies under tmp/.
    user_line="user nobody nogroup;"
    getent group nogroup >/dev/null 2>&1 || user_line="user nobody;"
    chown nobody "$work/tmp"
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${SEKISHO_NGINX_PORT:-18480}
while ! port_free "$port"; do port=$((port + 1)); done
front=$port
port=$((port + 1))
while ! port_free "$port"; do port=$((port + 1)); done
back=$port

# The rule sets: one top file each (scripts/lib/checks.sh).
write_crs_configs "$work"

# The PHP file of the upload case.
printf '%s\n' "<?php system(\$_GET['c']); ?>" >"$work/x.php"

# --- results ------------------------------------------------------------------------------------
passed=0
failed=0
failures=()
known=0        # differing ids that tests/nginx/known-difference.sh explains
unexplained=0  # and the others
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); }
row() { printf '  %-9s %-15s %-12s %-22s %s\n' "$@"; }

# The requests: their method, expected status and curl command. Each path is the case name, so
# the error-log lines of a request are the ones with its request line.
CASES=(benign-get benign-post sqli-get xss-post php-upload)
declare -A METHOD=([benign-get]=GET [benign-post]=POST [sqli-get]=GET [xss-post]=POST [php-upload]=POST)
declare -A WANT=([benign-get]=200 [benign-post]=200 [sqli-get]=403 [xss-post]=403 [php-upload]=403)
curl_case() { # NAME [PATH] -> the status code on stdout (PATH defaults to NAME)
    local name=$1 url="http://127.0.0.1:$front/${2:-$1}"
    local common=(-s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Host: localhost'
                  -A 'Mozilla/5.0 (X11; Linux x86_64) sekisho-check' -H 'Accept: text/html')
    case "$name" in
        benign-get) curl "${common[@]}" "$url?q=hello+world" ;;
        benign-post) curl "${common[@]}" --data 'name=alice&comment=hello+there' "$url" ;;
        sqli-get) curl "${common[@]}" "$url?id=1'%20or%20'1'='1" ;;
        xss-post) curl "${common[@]}" --data-urlencode 'comment=<script>alert(1)</script>' "$url" ;;
        php-upload) curl "${common[@]}" -F "file=@$work/x.php;filename=x.php;type=application/octet-stream" "$url" ;;
    esac || true
}

# ids_for LOG METHOD NAME: the sorted unique rule ids on the ModSecurity lines of that request.
ids_for() {
    grep -F 'ModSecurity: ' "$1" | grep -E "request: \"$2 /$3[? ]" |
        grep -oE '\[id "[0-9]+"\]' | grep -oE '[0-9]+' | sort -un | paste -sd' ' - || true
}

# start_nginx LIB RULES: LIB is libmodsecurity or sekisho. Sets $master; checks the mapped library.
start_nginx() {
    local lib=$1 rules=$2 want_so envs=() i
    sed -e "s|@WORK@|$work|g" -e "s|@USER_LINE@|$user_line|" -e "s|@FRONT_PORT@|$front|g" \
        -e "s|@BACK_PORT@|$back|g" -e "s|@RULES@|$rules|g" \
        "$root/tests/nginx/nginx.conf.in" >"$work/nginx.conf"
    : >"$work/logs/error.log"
    rm -f "$work/run/nginx.pid"
    if [ "$lib" = sekisho ]; then
        envs=(LD_LIBRARY_PATH="$sekisho_dir")
        want_so=$sekisho_so
    else
        want_so=$debian_so
    fi
    # The nginx command line, also used for `-s reload`.
    NGINX_CMD=(env -u LD_LIBRARY_PATH -u LD_PRELOAD "${envs[@]}" "$NGINX" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log")
    local t0=$EPOCHREALTIME rc=0
    (cd "$work" && "${NGINX_CMD[@]}") >"$work/logs/start.out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        sed 's/^/    /' "$work/logs/start.out"
        grep -E '\[(emerg|alert|crit)\]' "$work/logs/error.log" | tail -n5 | sed 's/^/    /' || true
        return 1
    fi
    for i in $(seq 1 200); do
        [ -s "$work/run/nginx.pid" ] && break
        sleep 0.05
    done
    master=$(cat "$work/run/nginx.pid" 2>/dev/null || true)
    [ -n "$master" ] || return 1
    for i in $(seq 1 200); do
        port_free "$front" || break
        sleep 0.05
    done
    START_SECONDS=$(since "$t0")
    local mapped
    mapped=$(awk '$6 ~ /libmodsecurity/ { print $6 }' "/proc/$master/maps" | sort -u | paste -sd' ' -)
    MAPPED=$mapped
    [ "$mapped" = "$want_so" ]
}

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; } # seconds since $EPOCHREALTIME value
workers_of() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' | sort | paste -sd' ' - || true; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# median N...: the middle one of the numbers (the lower middle of an even count).
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# reload_once: `nginx -s reload` (or SIGHUP, with SEKISHO_NGINX_HUP=1), then wait until the old
# workers are gone and a new one runs.
reload_once() {
    local old new i
    old=$(workers_of "$master")
    if [ -n "${SEKISHO_NGINX_HUP:-}" ]; then
        kill -HUP "$master" || return 1
    else
        (cd "$work" && "${NGINX_CMD[@]}" -s reload) >>"$work/logs/reload.out" 2>&1 || return 1
    fi
    for i in $(seq 1 1200); do # up to a minute (a loaded machine takes seconds per reload)
        sleep 0.05
        new=$(workers_of "$master")
        [ -n "$new" ] || continue
        local w stale=0
        for w in $old; do
            case " $new " in *" $w "*) stale=1 ;; esac
        done
        [ "$stale" -eq 0 ] && return 0
    done
    return 1
}

declare -A STATUS IDS
echo
echo "check-nginx: nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'), connector $MODULE"
echo "check-nginx: libmodsecurity = $debian_so"
echo "check-nginx: sekisho        = $sekisho_so"
echo "check-nginx: CRS 4.28 = $crs_dir, CRS 3.3.4 = $DEBIAN_LOAD; 127.0.0.1:$front -> backend :$back; prefix $work"

reload_report=""
for set in 4.28 3.3.4; do
    rules="$work/crs-$set.conf"
    printf '\n==> CRS %s\n' "$set"
    row "rule set" "library" "request" "status (expected)" "rule ids"
    for lib in libmodsecurity sekisho; do
        if ! start_nginx "$lib" "$rules"; then
            row "CRS $set" "$lib" "(start)" "FAILED" "nginx did not start with the expected library (mapped: ${MAPPED:-none})"
            fail "CRS $set / $lib: nginx start"
            stop_nginx
            for name in "${CASES[@]}"; do STATUS[$set/$lib/$name]="-"; IDS[$set/$lib/$name]="(not run)"; done
            continue
        fi
        pass
        row "CRS $set" "$lib" "(start)" "ok in ${START_SECONDS}s" "master $master maps $MAPPED, VmRSS $(rss_kb "$master") KiB"
        for name in "${CASES[@]}"; do
            STATUS[$set/$lib/$name]=$(curl_case "$name")
        done
        if [ "$set" = 4.28 ] && [ "$lib" = sekisho ] && [ "$RELOADS" -gt 0 ]; then
            # --- reloads ---
            t0=$EPOCHREALTIME
            rss_start=$(rss_kb "$master")
            rss_trace=""
            rss_samples=()
            ok=1
            for i in $(seq 1 "$RELOADS"); do
                if ! reload_once; then
                    ok=0
                    reload_report="reload $i did not finish (old worker still there or no new one): $(tail -n3 "$work/logs/reload.out" | tr '\n' ' ')"
                    break
                fi
                if [ $((i % 10)) -eq 0 ]; then
                    rss=$(rss_kb "$master")
                    rss_samples+=("$rss")
                    rss_trace+="$i:$rss "
                fi
            done
            [ "${#rss_samples[@]}" -gt 0 ] || rss_samples=("$(rss_kb "$master")")
            n=${#rss_samples[@]}
            first=$((n < 3 ? n : 3))
            rss_warm=$(median "${rss_samples[@]:0:first}")
            rss_end=$(median "${rss_samples[@]:n-first}")
            growth=$((rss_end - rss_warm))
            limit_pct=$((rss_warm * RSS_MAX_PCT / 100))
            reload_secs=$(since "$t0")
            reload_how="nginx -s reload"
            [ -z "${SEKISHO_NGINX_HUP:-}" ] || reload_how="kill -HUP"
            reload_mean=$(awk -v t="$reload_secs" -v n="$RELOADS" 'BEGIN { printf "%.2f", t / n }')
            after=$(curl_case sqli-get sqli-after-reloads)
            if [ "$ok" -eq 1 ]; then
                sleep 1 # the log phase (980170) is written after the response
                after_ids=$(ids_for "$work/logs/error.log" GET sqli-after-reloads)
                reload_report=$(printf 'master VmRSS: %s KiB after start, %s KiB (median of the first %s readings, baseline), %s KiB (median of the last %s, after %s reloads): %+d KiB (limit %s KiB and %s%% = %s KiB)\n  VmRSS (KiB) every 10 reloads: %s\n  %s reloads (%s) in %ss, %ss each; sqli-get after the reloads: %s, ids %s' \
                    "$rss_start" "$rss_warm" "$first" "$rss_end" "$first" "$RELOADS" "$growth" "$RSS_MAX_KB" "$RSS_MAX_PCT" "$limit_pct" \
                    "$rss_trace" "$RELOADS" "$reload_how" "$reload_secs" "$reload_mean" "$after" "${after_ids:--}")
                if [ "$growth" -le "$RSS_MAX_KB" ] && [ "$growth" -le "$limit_pct" ]; then
                    pass; reload_verdict=ok
                else
                    fail "RSS growth over $RELOADS reloads: $growth KiB"; reload_verdict=FAILED
                fi
                if [ "$after" = 403 ]; then pass; else fail "sqli-get after the reloads: $after"; reload_verdict=FAILED; fi
            else
                fail "reloads"; reload_verdict=FAILED
            fi
        fi
        stop_nginx
        log="$work/logs/error-$set-$lib.log"
        cp "$work/logs/error.log" "$log"
        for name in "${CASES[@]}"; do
            IDS[$set/$lib/$name]=$(ids_for "$log" "${METHOD[$name]}" "$name")
            st=${STATUS[$set/$lib/$name]}
            if [ "$st" = "${WANT[$name]}" ]; then
                pass; verdict="$st ok"
            else
                fail "CRS $set / $lib / $name: status $st, expected ${WANT[$name]}"; verdict="$st FAILED"
            fi
            row "CRS $set" "$lib" "$name" "$verdict (${WANT[$name]})" "${IDS[$set/$lib/$name]:--}"
        done
        # Crashes or errors outside ModSecurity's own messages.
        bad=$(grep -E '\[(alert|crit|emerg)\]|exited on signal|worker process .* exited' "$log" | grep -v 'exited with code 0' || true)
        if [ -n "$bad" ]; then
            fail "CRS $set / $lib: error log"
            row "CRS $set" "$lib" "(error log)" "FAILED" "$(awk 'NR <= 3' <<<"$bad" | tr '\n' ' ')"
        else
            pass
        fi
    done
    # --- the comparison ---
    for name in "${CASES[@]}"; do
        a=${IDS[$set/libmodsecurity/$name]}
        b=${IDS[$set/sekisho/$name]}
        if [ "$a" = "$b" ]; then
            pass
            row "CRS $set" "compare" "$name" "same ids" ""
        else
            id_difference "$a" "$b"
            fail "CRS $set / $name: ids differ (only libmodsecurity: ${only_a:--}; only sekisho: ${only_b:--})"
            row "CRS $set" "compare" "$name" "DIFFERENT ids" "only libmodsecurity: ${only_a:--}; only sekisho: ${only_b:--}"
            # shellcheck disable=SC2086 # one word per id
            explain_ids "$rules" $only_a $only_b
        fi
    done
    if [ "$set" = 4.28 ] && [ -n "$reload_report" ]; then
        printf '\n==> %s reloads (CRS 4.28, sekisho): %s\n  %s\n' "$RELOADS" "${reload_verdict:-FAILED}" "$reload_report"
    fi
done

print_summary
[ "$failed" -eq 0 ] || echo "(error logs: rerun with SEKISHO_KEEP=1 to keep $work)"
echo "check-nginx: $passed checks passed, $failed failed ($((SECONDS - started))s)"
[ "$failed" -eq 0 ]
