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
# This is run.sh --program txn (same build and library discovery).
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run.sh" --program txn "$@"
