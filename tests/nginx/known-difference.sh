#!/usr/bin/env bash
# known-difference.sh - why Sekisho and libmodsecurity may differ on a rule id, when it is known.
# Used by scripts/check-nginx.sh and scripts/check-c-api.sh to annotate (never to excuse) a
# difference between the rule ids the two log.
#
# Usage: tests/nginx/known-difference.sh RULES_FILE ID
#   RULES_FILE  a top rules file made of `Include FILE` lines (as the two scripts generate)
# Prints one line per reason found, nothing when none:
#   - the rule has `noauditlog`: a deliberate difference (README, "Deliberate differences"):
#     libmodsecurity writes no log line for it, Sekisho does (only `nolog` silences a rule);
#   - the reason of the first entry for that rule's CRS tests in tests/expected_failures.txt
#     (suite libmodsecurity-differential, measured against libmodsecurity 3.0.15).
# Exit: 0 (also when nothing is known).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rules=$1
id=$2

mapfile -t files < <(awk 'tolower($1) == "include" { print $2 }' "$rules")
if [ ${#files[@]} -gt 0 ]; then
    # The rule's text with its continuation lines joined (the chain starter carries the id).
    text=$(awk -v id="$id" '
        {
            line = $0
            while (line ~ /\\[ \t]*$/ && (getline nxt) > 0) {
                sub(/\\[ \t]*$/, "", line)
                line = line nxt
            }
            if (line ~ ("id:\047?" id "\047?[,\"]")) { print line; exit }
        }' "${files[@]}" 2>/dev/null || true)
    if [[ "$text" == *noauditlog* ]]; then
        echo "rule $id has noauditlog: libmodsecurity logs nothing for it, Sekisho logs it (deliberate difference, README \"Deliberate differences\": only nolog silences a rule there)"
    fi
fi
reason=$(grep -E "^libmodsecurity-differential (crs-3\.3\.4/)?$id-" "$root/tests/expected_failures.txt" 2>/dev/null |
         head -n1 | sed -E 's/^[^ ]+ +[^ ]+ +//' || true)
[ -z "$reason" ] || echo "tests/expected_failures.txt (vs 3.0.15): $reason"
