# checks.sh - sourced by scripts/check-c-api.sh and scripts/check-nginx.sh: finds what both
# need, writes the rule sets both load, and explains rule id differences. The caller sets $root (the repository) and defines
# `missing MESSAGE [HINT]` (exit 2) and `row COLUMN...` (one line of its table).

# debian_so: Debian's libmodsecurity.so.3 (3.0.9), resolved to the real file.
locate_debian_libmodsecurity() {
    # awk reads to the end: exiting early would kill ldconfig with SIGPIPE, and under pipefail
    # that status (141) ends the caller (CI's run of stop 8 failed so).
    debian_so=$(ldconfig -p 2>/dev/null | awk '$1 == "libmodsecurity.so.3" && !found { print $NF; found = 1 }')
    [ -n "$debian_so" ] && [ -e "$debian_so" ] \
        || missing "Debian's libmodsecurity.so.3 not found (package libmodsecurity3)"
    debian_so=$(readlink -f "$debian_so")
}

# crs_dir: CRS 4.x, from $SEKISHO_CRS_DIR or ../shared/crs/v4.28.0 beside the repository.
locate_crs4() {
    crs_dir=${SEKISHO_CRS_DIR:-}
    if [ -z "$crs_dir" ] && [ -d "$root/../shared/crs/v4.28.0" ]; then
        crs_dir=$(cd "$root/../shared/crs/v4.28.0" && pwd)
    fi
    [ -n "$crs_dir" ] && [ -f "$crs_dir/crs-setup.conf.example" ] && [ -d "$crs_dir/rules" ] \
        || missing "CRS 4.x not found${SEKISHO_CRS_DIR:+ at $SEKISHO_CRS_DIR}" \
                   "set SEKISHO_CRS_DIR to a CRS 4.x directory, or put CRS 4.28 at ../shared/crs/v4.28.0 (as CI does)"
}

# sekisho_dir: where Sekisho's drop-in libmodsecurity.so.3 is, built by scripts/build-ffi.sh
# unless SEKISHO_NO_BUILD is set. $1: the caller's name for messages.
build_sekisho_ffi() {
    if [ -z "${SEKISHO_NO_BUILD:-}" ]; then
        echo "==> scripts/build-ffi.sh"
        "$root/scripts/build-ffi.sh"
    fi
    sekisho_dir=${CARGO_TARGET_DIR:-$root/target}/release
    [ -f "$sekisho_dir/libmodsecurity.so.3" ] \
        || { echo "$1: $sekisho_dir/libmodsecurity.so.3 not built (scripts/build-ffi.sh)" >&2; exit 1; }
}

# For each rule id a comparison found on one side only, prints the known reason
# (tests/nginx/known-difference.sh) as table rows, and counts it in $known or $unexplained.
# $1: the rules file both sides loaded; then the ids.
explain_ids() {
    local rules=$1 id notes note
    shift
    for id in "$@"; do
        notes=$("$root/tests/nginx/known-difference.sh" "$rules" "$id")
        if [ -n "$notes" ]; then
            known=$((known + 1))
            while IFS= read -r note; do row "" "" "" "  $id" "$note"; done <<<"$notes"
        else
            unexplained=$((unexplained + 1))
        fi
    done
}

# only_a, only_b: the ids (space-separated words; `-` means none) in $1 only and in $2 only.
id_difference() {
    local a b
    a=$(tr ' ' '\n' <<<"$1" | grep -v -e '^-$' -e '^$' | sort)
    b=$(tr ' ' '\n' <<<"$2" | grep -v -e '^-$' -e '^$' | sort)
    only_a=$(comm -23 <(printf '%s\n' "$a") <(printf '%s\n' "$b") | grep -v '^$' | paste -sd' ' -)
    only_b=$(comm -13 <(printf '%s\n' "$a") <(printf '%s\n' "$b") | grep -v '^$' | paste -sd' ' -)
}

# The closing lines: explained and unexplained id differences, then the failed checks.
# Uses $known, $unexplained, $failed and failures[].
print_summary() {
    echo
    if [ $((known + unexplained)) -gt 0 ]; then
        echo "differences between libmodsecurity and sekisho: $known rule id(s) known (explained above), $unexplained unexplained"
    fi
    if [ "$failed" -gt 0 ]; then
        echo "failed checks:"
        printf '  %s\n' "${failures[@]}"
    fi
}

# Writes $1/crs-4.28.conf (CRS 4.x from $crs_dir) and $1/crs-3.3.4.conf (Debian's CRS 3.3.4,
# its loader $DEBIAN_LOAD with IncludeOptional resolved), each behind
# tests/nginx/modsecurity-base.conf: Include lines only.
write_crs_configs() {
    local dir=$1
    {
        echo "# CRS 4.28 behind the base configuration"
        echo "Include $root/tests/nginx/modsecurity-base.conf"
        echo "Include $crs_dir/crs-setup.conf.example"
        LC_ALL=C ls "$crs_dir"/rules/*.conf | sed 's/^/Include /'
    } >"$dir/crs-4.28.conf"
    {
        echo "# Debian's CRS 3.3.4 ($DEBIAN_LOAD, IncludeOptional resolved) behind the base configuration"
        echo "Include $root/tests/nginx/modsecurity-base.conf"
        awk 'tolower($1) == "include" || tolower($1) == "includeoptional" { print $2 }' "$DEBIAN_LOAD" |
        while read -r pattern; do
            compgen -G "$pattern" | LC_ALL=C sort | while IFS= read -r f; do
                [ -f "$f" ] && echo "Include $f"
            done
        done
    } >"$dir/crs-3.3.4.conf"
}
