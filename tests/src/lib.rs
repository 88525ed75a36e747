//! Shared helpers for Sekisho's integration and conformance tests (here in `tests/tests/*.rs`,
//! and in `waf-core/tests/`): where the repository and the shared reference data are, and the
//! one reviewed list of expected failures (`tests/expected_failures.txt`); where the reference
//! libmodsecurity 3.0.15 (the PyPI wheel) is, also for `benches/`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

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

/// The PyPI wheel `libmodsecurity`'s library, `libmodsecurity-<hash>.so.3.0.15`, found as
/// `tests/oracle/run.sh` finds it: in `$MODSEC_WHEEL_LIBDIR`, else in the
/// directory the installed distribution `libmodsecurity` lists it in (asked of python3). Its own
/// dependencies sit beside it and are found through its RPATH `$ORIGIN`.
pub fn wheel_libmodsecurity() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("MODSEC_WHEEL_LIBDIR") {
        Some(d) => PathBuf::from(d),
        None => {
            const FIND: &str = r#"
import importlib.metadata as m, os, sys
d = m.distribution("libmodsecurity")
for f in d.files or []:
    n = os.path.basename(str(f))
    if n.startswith("libmodsecurity") and ".so.3" in n:
        print(os.path.dirname(str(d.locate_file(f))))
        sys.exit(0)
sys.exit(1)
"#;
            let out = ["python3", "python"]
                .iter()
                .find_map(|py| {
                    let o = Command::new(py).args(["-c", FIND]).output().ok()?;
                    o.status.success().then_some(o.stdout)
                })
                .ok_or("PyPI wheel 'libmodsecurity' not found (pip install libmodsecurity, or set MODSEC_WHEEL_LIBDIR)")?;
            PathBuf::from(String::from_utf8_lossy(&out).trim())
        }
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("libmodsecurity")
                    && n.to_string_lossy().contains(".so.3")
            })
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .next()
        .ok_or_else(|| format!("no libmodsecurity*.so.3* in {}", dir.display()))
}
