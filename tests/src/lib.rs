//! Shared helpers for Sekisho's integration and conformance tests (here in `tests/tests/*.rs`,
//! and in `waf-core/tests/`): where the repository and the shared reference data are, and the
//! one reviewed list of expected failures (`tests/expected_failures.txt`).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The shared reference data: `$SEKISHO_SHARED`, or `../shared` beside the repository.
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SEKISHO_SHARED") {
        return Some(PathBuf::from(d));
    }
    let d = repo_root().parent()?.join("shared");
    d.is_dir().then_some(d)
}

/// The shared data, or `None` after saying why the test does not run. In CI (`$CI` set) the
/// data must be there: the test fails instead.
pub fn require_shared(what: &str) -> Option<PathBuf> {
    match shared_dir() {
        Some(d) => Some(d),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{what} needs ../shared beside the repository (or $SEKISHO_SHARED) in CI"
            );
            eprintln!("skipped: {what} needs ../shared beside the repository (or $SEKISHO_SHARED)");
            None
        }
    }
}

/// The expected failures of one suite: case → reason. Each line of the file is
/// `SUITE CASE  reason`; a line without a reason is an error.
pub fn expected_failures(suite: &str) -> BTreeMap<String, String> {
    let path = repo_root().join("tests/expected_failures.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.splitn(3, char::is_whitespace);
            let (s, case) = (parts.next()?, parts.next()?);
            let reason = parts.next().unwrap_or("").trim();
            assert!(!reason.is_empty(), "expected failure without a reason: {l}");
            (s == suite).then(|| (case.to_string(), reason.to_string()))
        })
        .collect()
}
