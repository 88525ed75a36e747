//! ModSecurity's own regression cases (`../shared/modsecurity-tests/regression/*.json`), judged
//! at the parser level: a case that expects a `parser_error` must fail to load, every other case
//! must load without error. Rules are loaded as ModSecurity's runner loads them: the `rules`
//! lines joined with newlines, with `test-cases/` resolving to the suite's directory.
//!
//! Cases listed in `tests/expected_failures.txt` (suite `modsecurity-parse`) are expected to
//! disagree, each for the reason given there; a listed case that agrees fails the test too.

use seclang_parser::Loader;
use std::path::{Path, PathBuf};

const SUITE: &str = "modsecurity-parse";

/// A directory where `test-cases` points at the suite (ModSecurity's runner works from `test/`).
fn work_dir(suite: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sekisho-msr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("test-cases");
    if !link.exists() {
        std::os::unix::fs::symlink(suite, &link).unwrap();
    }
    dir
}

#[test]
fn modsecurity_regression_cases_load_or_fail_as_modsecurity_says() {
    let Some(shared) = sekisho_tests::shared_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/modsecurity-tests is required in CI"
        );
        eprintln!("skipped: no ../shared (ModSecurity's regression cases) beside the repository");
        return;
    };
    let suite = shared.join("modsecurity-tests");
    let dir = work_dir(&suite);
    let expected = sekisho_tests::expected_failures(SUITE);
    let mut files: Vec<PathBuf> = std::fs::read_dir(suite.join("regression"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut agree, mut listed) = (0, 0);
    let mut wrong = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (i, case) in json.as_array().expect("a JSON array").iter().enumerate() {
            let id = format!("{name}:{i}");
            let rules: Vec<&str> = case["rules"]
                .as_array()
                .map(|a| a.iter().filter_map(|r| r.as_str()).collect())
                .unwrap_or_default();
            let want_error = case["expected"]["parser_error"]
                .as_str()
                .is_some_and(|s| !s.is_empty());
            let mut loader = Loader::new();
            loader
                .current_dir(&dir)
                .add_str(&name, &rules.join("\n"), Some(&dir));
            let result = loader.finish();
            let got_error = result.is_err();
            let detail = match &result {
                Err(e) => e.to_string(),
                Ok(c) => format!("loaded {} rules", c.stats.rules),
            };
            match (got_error == want_error, expected.get(&id)) {
                (true, None) => agree += 1,
                (false, Some(_)) => listed += 1,
                (true, Some(reason)) => wrong.push(format!(
                    "{id}: agrees with ModSecurity now; remove it from expected_failures.txt ({reason})"
                )),
                (false, None) => wrong.push(format!(
                    "{id}: ModSecurity {} ; Sekisho: {detail}",
                    if want_error {
                        format!("refuses it ({})", case["expected"]["parser_error"])
                    } else {
                        "loads it".to_string()
                    }
                )),
            }
        }
    }
    eprintln!(
        "{agree} passed, {} failed ({listed} listed as expected failures)",
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{} cases disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(agree > 600, "too few cases judged: {agree}");
}
