//! Integration and conformance tests for Sekisho; see `tests/*.rs`. Shared helpers live here.

use std::path::PathBuf;

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The shared reference data (`../shared` beside the repository), if present.
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SEKISHO_SHARED") {
        return Some(PathBuf::from(d));
    }
    let d = repo_root().parent()?.join("shared");
    d.is_dir().then_some(d)
}
