#!/usr/bin/env bash
# all.sh - run every transaction case in this directory through ../../txn.sh.
# Usage: cases/txn/all.sh --lib debian|wheel|both
# Prints "=== RULES REQUEST..." and then txn.sh's output for each case, plus "# exit N" when
# txn.sh exits non-zero (a12b and a12c are rule files that fail to load: exit 2 is expected).
# Runs from this directory, so [file "..."] in the log lines is the bare file name.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
[ $# -ge 2 ] && [ "$1" = "--lib" ] || { echo "usage: all.sh --lib debian|wheel|both" >&2; exit 2; }
while read -r conf reqs; do
    case "$conf" in ''|'#'*) continue ;; esac
    echo "=== $conf $reqs"
    # shellcheck disable=SC2086
    ../../txn.sh "$@" "$conf" $reqs || echo "# exit $?"
done <<'CASES'
# (a) log formats
a1-pass.conf req-attack.txt req-multi.txt req-two.txt
a1b-pass-transform.conf req-attack.txt req-multi.txt
a2-deny.conf req-attack.txt
a2b-deny-log.conf req-attack.txt
a2c-deny-noattrs.conf req-attack.txt
a3-detectiononly.conf req-attack.txt
a3b-detectiononly-log.conf req-attack.txt
a4-block.conf req-attack.txt
a4b-block-default-pass.conf req-attack.txt
a5-nolog.conf req-attack.txt
a5b-nolog-auditlog.conf req-attack.txt
a5c-auditlog-nolog.conf req-two.txt
a5d-log-flags.conf req-two.txt
a6-chain.conf req-attack.txt
a6b-chain-deny.conf req-attack.txt
a6c-chain-nomatch.conf req-attack.txt
a7-multimatch.conf req-attack.txt req-multi.txt
a7b-multimatch-stages.conf req-two.txt req-stages.txt
a7c-multimatch-chain.conf req-mm-chain.txt
a8-secaction.conf req-attack.txt
a8b-secaction-log.conf req-attack.txt
a8c-secaction-pass.conf req-attack.txt
a9-deny-then-later-phases.conf req-attack.txt req-attack-stop.txt
a10-limits.conf req-limits.txt
a11-uri.conf req-uri-encoded-qmark.txt req-uri-hostname.txt req-uri-absolute.txt req-uri-nohost.txt
a12-meta.conf req-attack.txt
a12b-unquoted-maturity.conf req-attack.txt
a12c-unquoted-accuracy.conf req-attack.txt
a12d-unquoted-maturity-last.conf req-attack.txt
# (b) status / intervention semantics
b1-deny-nostatus.conf req-attack.txt
b2-deny-418.conf req-attack.txt
b3-redirect.conf req-attack.txt
b3b-redirect-status.conf req-attack.txt
b4-drop.conf req-attack.txt
b5-pass-status.conf req-attack.txt
b6a-allow-p1-deny-p2.conf req-attack.txt
b6b-allow-deny-same-phase.conf req-attack.txt
b6c-allow-request.conf req-attack.txt
b6d-allow-phase.conf req-attack.txt
b7-no-engine.conf req-attack.txt
b7b-engine-off.conf req-attack.txt
b8-deny-late-phases.conf req-resp.txt
# (c) phases
c1-nophase.conf req-attack.txt
c1b-nophase-defaultaction.conf req-attack.txt
c2a-reqbody-unset.conf req-post.txt
c2b-reqbody-off.conf req-post.txt
c2c-reqbody-on.conf req-post.txt
c2d-reqbody-off-later.conf req-post.txt
c3a-respbody-unset.conf req-resp.txt
c3b-respbody-off.conf req-resp.txt
c3c-respbody-on.conf req-resp.txt
# (d) variables
d-vars.conf req-vars.txt req-vars-get.txt
d2-names.conf req-vars-get.txt
# (e) ctl
e1-ctl-remove-target-names.conf req-remove-target-on.txt req-remove-target-off.txt
e2-ctl-remove-target-text.conf req-remove-target-abc.txt req-remove-target-a.txt req-remove-target-Ab.txt
e3-empty-setvar-name-and-marker.conf req-plain-get.txt
e4-load-time-operator-arguments.conf req-load-time-evil.txt req-load-time-x.txt req-load-time-y.txt req-load-time-1.2.3.4.txt req-load-time-5.6.7.8.txt req-load-time-macro-text.txt
# request-file parser self-test
p-parser.conf req-parser1.txt req-parser2.txt req-parser3.txt req-parser4.txt
CASES
exit 0
