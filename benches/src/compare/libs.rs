//! Where the engines' libraries are: Debian's libmodsecurity 3.0.9, the PyPI wheel's 3.0.15
//! (found as `tests/oracle/run.sh` finds it), and Sekisho's own C API build.

use std::path::{Path, PathBuf};

/// Debian 12's `libmodsecurity3`.
pub const DEBIAN_LIB: &str = "/usr/lib/x86_64-linux-gnu/libmodsecurity.so.3";

/// The engines, in table order: `(name, column heading)`.
pub const ENGINES: &[(&str, &str)] = &[
    ("debian", "modsec 3.0.9"),
    ("wheel", "modsec 3.0.15"),
    ("sekisho", "sekisho"),
    ("sekisho-ffi", "sekisho C API"),
];

/// The wheel's `libmodsecurity-<hash>.so.3.0.15` (see [`sekisho_tests::wheel_libmodsecurity`]).
pub fn wheel_lib() -> Result<PathBuf, String> {
    sekisho_tests::wheel_libmodsecurity()
}

/// Sekisho's `libmodsecurity.so.3` (`scripts/build-ffi.sh`): `--ffi-lib`, else under
/// `$CARGO_TARGET_DIR/release`, else the repository's `target/release`.
pub fn ffi_lib(flag: Option<&Path>) -> Result<PathBuf, String> {
    let mut tried = Vec::new();
    if let Some(f) = flag {
        tried.push(f.to_path_buf());
    } else {
        if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
            tried.push(PathBuf::from(t).join("release/libmodsecurity.so.3"));
        }
        tried.push(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/libmodsecurity.so.3"),
        );
    }
    tried
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            format!(
                "Sekisho's libmodsecurity.so.3 not found (run scripts/build-ffi.sh, or pass --ffi-lib); tried {}",
                tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )
        })
}

/// The library path for a C API engine; `None` for `sekisho` (in-process Rust API).
pub fn lib_for(engine: &str, ffi_flag: Option<&Path>) -> Result<Option<PathBuf>, String> {
    match engine {
        "debian" => {
            let p = PathBuf::from(DEBIAN_LIB);
            if p.exists() {
                Ok(Some(p))
            } else {
                Err(format!(
                    "{DEBIAN_LIB} not found (apt-get install libmodsecurity3)"
                ))
            }
        }
        "wheel" => wheel_lib().map(Some),
        "sekisho-ffi" => ffi_lib(ffi_flag).map(Some),
        "sekisho" => Ok(None),
        other => Err(format!(
            "unknown engine {other:?} (known: debian, wheel, sekisho, sekisho-ffi)"
        )),
    }
}
