#!/bin/sh
# Builds Sekisho's libmodsecurity v3 drop-in (crate sekisho-ffi) in release mode and leaves:
#   target/release/libmodsecurity.so.3   the cdylib (SONAME libmodsecurity.so.3, set by ffi/build.rs)
#   target/release/libmodsecurity.so     symlink -> libmodsecurity.so.3 (for -lmodsecurity)
#   target/release/libmodsecurity.a      the staticlib (OpenLiteSpeed links libmodsecurity.a)
#   target/release/modsecurity.pc        pkg-config file (includedir = ffi/include)
# Use:  LD_LIBRARY_PATH=$PWD/target/release nginx ...   (or install the files system-wide)
#       cc app.c $(PKG_CONFIG_PATH=$PWD/target/release pkg-config --cflags --libs modsecurity)
# SEKISHO_PGO=1: a profile-guided build (scripts/pgo.sh trains it on CRS's regression inputs
# and a benign set first; ~12% fewer instructions a request; needs CRS 4 and rustup's
# llvm-tools). SEKISHO_PGO_PROFILE=FILE: use that profile (no training).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
if [ "${SEKISHO_PGO:-0}" = 1 ] || [ -n "${SEKISHO_PGO_PROFILE:-}" ]; then
    profile=${SEKISHO_PGO_PROFILE:-$(scripts/pgo.sh | tail -n 1)}
    RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$profile"
    export RUSTFLAGS
    echo "build-ffi: profile-guided, $profile"
fi
cargo build --release -p sekisho-ffi
out=${CARGO_TARGET_DIR:-$root/target}/release
# A copy (not a symlink) for the .so.3, so a later `cargo build` does not change a running server's library under it.
cp -f "$out/libsekisho_ffi.so" "$out/libmodsecurity.so.3.tmp"
mv -f "$out/libmodsecurity.so.3.tmp" "$out/libmodsecurity.so.3"
ln -sf libmodsecurity.so.3 "$out/libmodsecurity.so"
cp -f "$out/libsekisho_ffi.a" "$out/libmodsecurity.a"
sed -e "s|@PREFIX@|$root|" -e "s|@LIBDIR@|$out|" -e "s|@INCLUDEDIR@|$root/ffi/include|" \
    ffi/modsecurity.pc.in > "$out/modsecurity.pc"
echo "built $out/libmodsecurity.so.3 (SONAME $(readelf -d "$out/libmodsecurity.so.3" 2>/dev/null | sed -n 's/.*soname: \[\(.*\)\]/\1/p'))"
