//! Every `@rx` pattern of OWASP CRS 4.28 (`../shared/crs/v4.28.0/rules`) and of Debian's CRS
//! 3.3.4 (`/usr/share/modsecurity-crs/rules`, package `modsecurity-crs`) compiles, and only
//! the 3.3.4 rules known to need the backtracking fallback use it: 920120, 942130, 953120
//! (look-around, back references) and 920600, whose possessive `;\s*+(?:...|;?)` cannot be
//! dropped (libmodsecurity 3.0.15 does not match `a/b; \nX`, the pattern without the `+`
//! does: the give-back whitespace lets `$` match before the `\n`). Prints the counts and the
//! total build time (no timing assertion: machines differ). Each pattern's HIR, as the linear
//! engine builds it from the parse tree, must equal regex-syntax's for the translated text.
//!
//! Rules are read with `seclang_parser::Loader`, one file at a time; patterns with macros
//! (3.3.4's 920480) are compiled at run time and skipped here.

use seclang_parser::names::OperatorName;
use seclang_parser::{DirectiveKind, Loader};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use waf_core::regex::Regex;

#[derive(Default, Debug)]
struct Report {
    patterns: usize,
    unique: usize,
    with_macros: usize,
    fallback: BTreeSet<u64>,
    line_start_checks: usize,
    failed: Vec<String>,
    build: Duration,
    slowest: (Duration, u64),
}

fn compile_dir(dir: &Path) -> Report {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    let mut report = Report::default();
    let mut seen = BTreeSet::new();
    for file in &files {
        let mut loader = Loader::new();
        loader.add_file(file);
        let config = loader
            .finish()
            .unwrap_or_else(|e| panic!("{}: does not parse: {e}", file.display()));
        let mut chain_id = None;
        let mut in_chain = false;
        for d in &config.directives {
            let DirectiveKind::Rule(rule) = &d.kind else {
                continue;
            };
            let id = if in_chain { chain_id } else { rule.id() };
            if !in_chain {
                chain_id = rule.id();
            }
            in_chain = rule.is_chain_start();
            let op = &rule.operator;
            if op.name != OperatorName::Rx {
                continue;
            }
            report.patterns += 1;
            if op.argument.has_macros() {
                report.with_macros += 1;
                continue;
            }
            let id = id.unwrap_or(0);
            let first = seen.insert(op.argument.raw.clone());
            // The linear engine's HIR, built from the parse tree, is regex-syntax's for the
            // translated text (regex/hir.rs).
            if first {
                if let Err(e) = Regex::direct_hir_agrees(op.argument.raw.as_bytes()) {
                    report.failed.push(format!("{id}: direct HIR differs: {e}"));
                }
            }
            let start = Instant::now();
            match Regex::new(&op.argument.raw) {
                Ok(re) => {
                    let took = start.elapsed();
                    if first {
                        report.unique += 1;
                        report.build += took;
                        if took > report.slowest.0 {
                            report.slowest = (took, id);
                        }
                    }
                    if re.uses_fallback() {
                        report.fallback.insert(id);
                    }
                    if first && re.rechecks_line_start() {
                        report.line_start_checks += 1;
                    }
                }
                Err(e) => report.failed.push(format!("{id}: {e}")),
            }
        }
    }
    report
}

/// 920600's verdicts on the fallback and its linear subset are libmodsecurity 3.0.15's
/// (checked with the real library on these values).
fn check_920600(dir: &Path) {
    let mut loader = Loader::new();
    loader.add_file(&dir.join("REQUEST-920-PROTOCOL-ENFORCEMENT.conf"));
    let config = loader.finish().expect("920 parses");
    let rx = config
        .directives
        .iter()
        .find_map(|d| match &d.kind {
            DirectiveKind::Rule(r) if r.id() == Some(920600) => {
                Some(r.operator.argument.raw.clone())
            }
            _ => None,
        })
        .expect("rule 920600");
    let re = Regex::new(&rx).unwrap();
    // the usual values are answered by the pattern's linear subset, the rest by the fallback
    assert!(re.has_linear_subset(), "920600 has a linear subset");
    for (value, matches) in [
        (&b"text/html"[..], true),
        (b"text/html; charset=utf-8", true),
        (b"text/html;q=   ", false),
        (b"a/b; \nX", false),
        (b"a/b; x", false),
        // (3.0.15 on 2026-12-04, tests/oracle/txn.sh)
        (
            b"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
            true,
        ),
        (b"text/html; =1", false),
        (b"text/html;", true),
        (b"a/b;;", true),
        (b"a/b ; charset = utf-8", true),
        (b"text/html; q=0.9 , */* ; =x", false),
        (b"a/b;  ;c=d", false),
    ] {
        assert_eq!(
            re.is_match(value),
            matches,
            "920600 on {:?}",
            String::from_utf8_lossy(value)
        );
    }
}

#[test]
fn crs_rx_patterns_compile() {
    let v4 = sekisho_tests::shared_dir().map(|s| s.join("crs/v4.28.0/rules"));
    let v3 = PathBuf::from("/usr/share/modsecurity-crs/rules");
    let ci = std::env::var_os("CI").is_some();
    let mut ran = 0;
    match v4.filter(|d| d.is_dir()) {
        Some(dir) => {
            let r = compile_dir(&dir);
            eprintln!(
                "CRS 4.28: {} @rx operators, {} unique patterns compiled (engines built on first search) in {:?} (slowest {:?}, rule {}), {} with macros, fallback rules {:?}, {} re-checking a final-newline `^`",
                r.patterns, r.unique, r.build, r.slowest.0, r.slowest.1, r.with_macros, r.fallback, r.line_start_checks
            );
            assert!(
                r.failed.is_empty(),
                "CRS 4.28 patterns that do not compile:\n{}",
                r.failed.join("\n")
            );
            assert!(
                r.fallback.is_empty(),
                "CRS 4.28 needs no fallback, got {:?}",
                r.fallback
            );
            assert!(r.patterns > 300, "too few patterns: {}", r.patterns);
            ran += 1;
        }
        None => {
            assert!(!ci, "../shared/crs/v4.28.0 is required in CI");
            eprintln!("skipped CRS 4.28: no ../shared/crs/v4.28.0 beside the repository");
        }
    }
    if v3.is_dir() {
        let r = compile_dir(&v3);
        eprintln!(
            "CRS 3.3.4: {} @rx operators, {} unique patterns compiled (engines built on first search) in {:?} (slowest {:?}, rule {}), {} with macros, fallback rules {:?}, {} re-checking a final-newline `^`",
            r.patterns, r.unique, r.build, r.slowest.0, r.slowest.1, r.with_macros, r.fallback, r.line_start_checks
        );
        assert!(
            r.failed.is_empty(),
            "CRS 3.3.4 patterns that do not compile:\n{}",
            r.failed.join("\n")
        );
        assert_eq!(r.fallback, BTreeSet::from([920120, 920600, 942130, 953120]));
        check_920600(&v3);
        assert!(r.patterns > 250, "too few patterns: {}", r.patterns);
        ran += 1;
    } else {
        assert!(
            !ci,
            "/usr/share/modsecurity-crs (Debian's modsecurity-crs) is required in CI"
        );
        eprintln!("skipped CRS 3.3.4: install Debian's modsecurity-crs");
    }
    eprintln!("{ran} rule sets checked");
}
