#!/usr/bin/env bash
# setup-debian.sh - install what Sekisho's tests and `scripts/check-crs.sh` need, on Debian 12 or
# Ubuntu 22.04+. Run as root, or as a user with sudo. Idempotent: a second run only checks.
#
# Installs:
#   - apt: build-essential pkg-config ca-certificates curl git python3 python3-pip
#          libmodsecurity3 libmodsecurity-dev modsecurity-crs
#          nginx libnginx-mod-http-modsecurity valgrind
#     (libmodsecurity 3.0.x for the oracle in tests/oracle/, Debian's CRS 3.3.4; nginx and its
#     ModSecurity connector for scripts/check-nginx.sh, valgrind for scripts/check-c-api.sh).
#     nginx is installed without being started: while apt runs, a policy-rc.d that refuses every
#     service start is put in place when there is none (Docker images usually have one), so no
#     packaged server binds port 80; the checks run their own nginx on 127.0.0.1.
#   - Rust, only if `cargo` is missing or older than the workspace's rust-version, through rustup;
#     rustfmt and clippy; the nightly toolchain (for `cargo fuzz`) and llvm-tools (llvm-profdata,
#     for the profile-guided builds of scripts/pgo.sh) when rustup is there
#   - PyPI: the `libmodsecurity` wheel (libmodsecurity 3.0.15 as a shared library), for
#     `tests/oracle/run.sh --lib wheel`
#   - ModSecurity's recommended configuration (`modsecurity.conf` + `unicode.mapping`), unpacked
#     from Debian's `libnginx-mod-http-modsecurity` package (the .deb, whether installed or not)
#     into ${XDG_CACHE_HOME:-$HOME/.cache}/sekisho/modsecurity-recommended/
#
# Environment:
#   SEKISHO_SKIP_WHEEL=1   do not install the PyPI wheel
# Exit: 0 ok, 1 an install step failed, 2 no way to get a Rust toolchain (message says what to do).
set -euo pipefail

MIN_RUST="1.80"   # [workspace.package] rust-version in Cargo.toml
APT_PACKAGES=(build-essential pkg-config ca-certificates curl git python3 python3-pip
              libmodsecurity3 libmodsecurity-dev modsecurity-crs
              nginx libnginx-mod-http-modsecurity valgrind)
RECOMMENDED_PKG="libnginx-mod-http-modsecurity"
RECOMMENDED_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/sekisho/modsecurity-recommended"

say() { printf 'setup: %s\n' "$*"; }
warn() { printf 'setup: warning: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit "${2:-1}"; }

export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    die "not root and no sudo: run this script as root"
fi

# --- apt ------------------------------------------------------------------------------------
apt_updated=0
apt_update_once() {
    if [ "$apt_updated" -eq 0 ]; then
        say "apt-get update"
        "${SUDO[@]}" apt-get update -qq
        apt_updated=1
    fi
}

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=()
for p in "${APT_PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
done
POLICY_RC=/usr/sbin/policy-rc.d
if [ ${#missing[@]} -gt 0 ]; then
    apt_update_once
    # Keep the nginx package from starting its service (port 80): a temporary policy-rc.d
    # refusing every start (exit 101), unless the system has its own.
    policy_added=0
    if [ ! -e "$POLICY_RC" ]; then
        printf '#!/bin/sh\n# temporary, scripts/setup-debian.sh: no service starts during apt-get install\nexit 101\n' |
            "${SUDO[@]}" tee "$POLICY_RC" >/dev/null
        "${SUDO[@]}" chmod 755 "$POLICY_RC"
        policy_added=1
    fi
    say "apt-get install ${missing[*]}"
    install_rc=0
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" || install_rc=$?
    if [ "$policy_added" -eq 1 ]; then
        "${SUDO[@]}" rm -f "$POLICY_RC"
    fi
    [ "$install_rc" -eq 0 ] \
        || die "apt-get install failed (on Ubuntu, libmodsecurity3 and modsecurity-crs are in 'universe')"
else
    say "apt packages: all installed"
fi

# --- Rust -------------------------------------------------------------------------------------
# rustup installs into ~/.cargo/bin; make it visible to this script if it is not on PATH yet.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

version_ge() { # version_ge A B: A >= B (dotted numbers)
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

rustup_help() {
    cat >&2 <<EOF
setup: error: $1
  Sekisho needs Rust >= $MIN_RUST; Debian's 'cargo' package is too old. Install rustup (as the
  user who builds), then run this script again:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    . "\$HOME/.cargo/env"
  (Debian 13 / Ubuntu 24.04 also package it: apt-get install rustup && rustup default stable)
EOF
    exit 2
}

if ! command -v rustup >/dev/null 2>&1 && ! command -v cargo >/dev/null 2>&1; then
    # Newer releases package rustup itself; Debian 12 and Ubuntu 22.04 do not.
    apt_update_once
    rustup_policy=$(apt-cache policy rustup 2>/dev/null || true)
    if [[ "$rustup_policy" == *"Candidate: "* && "$rustup_policy" != *"Candidate: (none)"* ]]; then
        say "apt-get install rustup"
        "${SUDO[@]}" apt-get install -y -qq rustup || rustup_help "apt-get install rustup failed"
    fi
fi

if command -v rustup >/dev/null 2>&1; then
    if ! command -v cargo >/dev/null 2>&1 || ! cargo --version >/dev/null 2>&1; then
        say "rustup: installing the stable toolchain"
        rustup toolchain install stable --profile minimal
        rustup default stable
    fi
elif ! command -v cargo >/dev/null 2>&1; then
    rustup_help "no cargo and no rustup found"
fi

rustc_version=$(rustc --version | awk '{ print $2 }')
if ! version_ge "${rustc_version%%-*}" "$MIN_RUST"; then
    if command -v rustup >/dev/null 2>&1; then
        say "rustc $rustc_version is older than $MIN_RUST: rustup update stable"
        rustup update stable
        rustc_version=$(rustc --version | awk '{ print $2 }')
    else
        rustup_help "rustc $rustc_version is older than $MIN_RUST"
    fi
fi
say "rust: $(cargo --version)"

if command -v rustup >/dev/null 2>&1; then
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        say "rustup component add rustfmt clippy"
        rustup component add rustfmt clippy
    fi
    host=$(rustc -vV | sed -n 's/^host: //p')
    if [ ! -x "$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata" ]; then
        say "rustup component add llvm-tools (for scripts/pgo.sh)"
        rustup component add llvm-tools || rustup component add llvm-tools-preview ||
            say "llvm-tools unavailable: scripts/bench.sh will measure plain release builds"
    fi
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        say "rustup toolchain install nightly --profile minimal (for cargo fuzz)"
        rustup toolchain install nightly --profile minimal
    fi
    say "nightly: $(rustup run nightly rustc --version)"
else
    cargo fmt --version >/dev/null 2>&1 || warn "cargo fmt missing (scripts/test.sh needs it)"
    cargo clippy --version >/dev/null 2>&1 || warn "cargo clippy missing (scripts/test.sh needs it)"
    warn "no rustup: no nightly toolchain, so no fuzzing (run scripts/test.sh with SEKISHO_SKIP_FUZZ=1)"
fi

# --- PyPI wheel libmodsecurity (3.0.15) -------------------------------------------------------
# tests/oracle/run.sh looks the wheel up with the first `python3` on PATH; install it there.
if [ -n "${SEKISHO_SKIP_WHEEL:-}" ]; then
    say "PyPI libmodsecurity: skipped (SEKISHO_SKIP_WHEEL is set)"
elif python3 -c 'import importlib.metadata as m; m.version("libmodsecurity")' >/dev/null 2>&1; then
    say "PyPI libmodsecurity: $(python3 -c 'import importlib.metadata as m; print(m.version("libmodsecurity"))') installed"
else
    pip_args=(install --disable-pip-version-check libmodsecurity)
    # PEP 668 (Debian 12's system python): an EXTERNALLY-MANAGED marker outside a virtualenv
    # makes pip refuse; the wheel only adds a shared library, so override it.
    if python3 - <<'EOF'
import os, sys, sysconfig
in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if (os.path.exists(marker) and not in_venv) else 1)
EOF
    then
        pip_args+=(--break-system-packages)
    fi
    pip_sudo=()
    # A system python (not a user-owned pyenv/venv) needs root to install into.
    if [ ${#SUDO[@]} -gt 0 ] && [ ! -w "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" ]; then
        pip_sudo=("${SUDO[@]}")
    fi
    say "python3 -m pip ${pip_args[*]}"
    "${pip_sudo[@]}" env PIP_ROOT_USER_ACTION=ignore python3 -m pip "${pip_args[@]}" \
        || die "pip install libmodsecurity failed (set SEKISHO_SKIP_WHEEL=1 to skip it)"
fi

# --- ModSecurity's recommended configuration (from the nginx connector's package) ------------
if [ -f "$RECOMMENDED_DIR/etc/nginx/modsecurity.conf" ]; then
    say "recommended config: $RECOMMENDED_DIR/etc/nginx/modsecurity.conf"
else
    policy=$(apt-cache policy "$RECOMMENDED_PKG" 2>/dev/null || true)
    case "$policy" in
        *"Candidate: (none)"* | "") apt_update_once ;;
    esac
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/sekisho-setup.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # apt-get download runs as the _apt user when it can; let that user write here.
    if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
        chown _apt "$tmp"
    fi
    say "apt-get download $RECOMMENDED_PKG (unpacked, not installed)"
    debs=()
    if (cd "$tmp" && apt-get download -qq "$RECOMMENDED_PKG"); then
        debs=("$tmp/$RECOMMENDED_PKG"_*.deb)
    fi
    if [ ${#debs[@]} -gt 0 ] && [ -f "${debs[0]}" ]; then
        deb=${debs[0]}
        rm -rf "$RECOMMENDED_DIR.tmp"
        mkdir -p "$RECOMMENDED_DIR.tmp"
        dpkg-deb -x "$deb" "$RECOMMENDED_DIR.tmp"
        if [ -f "$RECOMMENDED_DIR.tmp/etc/nginx/modsecurity.conf" ]; then
            rm -rf "$RECOMMENDED_DIR"
            mv "$RECOMMENDED_DIR.tmp" "$RECOMMENDED_DIR"
            say "recommended config: $RECOMMENDED_DIR/etc/nginx/modsecurity.conf"
        else
            rm -rf "$RECOMMENDED_DIR.tmp"
            warn "$RECOMMENDED_PKG has no etc/nginx/modsecurity.conf; check-crs.sh will skip it"
        fi
    else
        warn "could not download $RECOMMENDED_PKG; check-crs.sh will skip the recommended config"
    fi
fi

say "done"
