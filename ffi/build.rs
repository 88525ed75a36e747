//! Gives the cdylib libmodsecurity's SONAME, so binaries linked against
//! `libmodsecurity.so.3` (the nginx connector) load `target/release/libmodsecurity.so.3` made
//! from it by `scripts/build-ffi.sh`. Only the cdylib gets the flag; rlib/staticlib are
//! unaffected.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "freebsd" || os == "netbsd" || os == "openbsd" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmodsecurity.so.3");
    }
}
