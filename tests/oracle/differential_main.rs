//! The full differential run against the real libmodsecurity (see `differential.rs`), for a
//! release build; `scripts/check-crs.sh` runs it. The integration test
//! `tests/tests/differential_libmodsecurity.rs` runs a sample of the same comparison.
//!
//! ```text
//! cargo run --release -p sekisho-tests --example libmodsecurity-differential -- \
//!     [--every K] [--set 4.28|3.3.4|all] [--lib debian|wheel] [--include REGEX]
//!     [--config FILE] [--tests DIR] [-v]
//! ```
//!
//! `--include` keeps the stages whose case name (`RULE-TEST:STAGE`) matches; `--config` replaces
//! the rule set with a configuration file of your own (for a minimal reproduction: one rule
//! against the CRS stage that shows a difference), run on both engines; `--tests` reads go-ftw
//! test files from DIR instead of CRS 4.28's (a minimal request of your own).
//!
//! Prints the differences grouped by rule id, how each was classified, the timings, and last
//! `N passed, M failed` (stages: passed = the engines agree or the difference is listed in
//! `tests/expected_failures.txt`, suite `libmodsecurity-differential`; failed = unlisted
//! differences plus stale entries). Exit 0 when nothing failed, 1 otherwise, 2 when
//! libmodsecurity or CRS 4.28 is missing.

#[path = "differential.rs"]
mod differential;

use differential::{by_rule, compare_selected, judge, load_tests, RuleSetUnderTest, SUITE};

fn main() {
    let mut every = 1usize;
    let mut which = "all".to_string();
    let mut lib: Option<String> = None;
    let mut verbose = false;
    let mut include: Option<String> = None;
    let mut config: Option<String> = None;
    let mut tests: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--every" => every = args.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            "--set" => which = args.next().unwrap_or_default(),
            "--lib" => lib = args.next(),
            "-v" | "--verbose" => verbose = true,
            "--include" => include = args.next(),
            "--config" => config = args.next(),
            "--tests" => tests = args.next(),
            _ => {
                eprintln!(
                    "usage: libmodsecurity-differential [--every K] [--set 4.28|3.3.4|all] [--lib debian|wheel] [--include REGEX] [--config FILE] [--tests DIR] [-v]"
                );
                std::process::exit(2);
            }
        }
    }
    let Some(crs) = crs_test::crs_dir() else {
        eprintln!("libmodsecurity-differential: CRS 4.28 not found (../shared/crs/v4.28.0 or $SEKISHO_SHARED)");
        std::process::exit(2);
    };
    let files = match &tests {
        Some(dir) => {
            let (files, errors) =
                crs_test::load_test_dir(std::path::Path::new(dir)).expect("--tests: a directory");
            assert!(errors.is_empty(), "{errors:?}");
            files
        }
        None => load_tests(&crs),
    };
    let filter =
        crs_test::Filter::new(include.as_deref(), None).expect("--include: a valid regexp");
    let select = |case: &str| filter.selects(case);
    let mut sets = Vec::new();
    if let Some(path) = &config {
        let text = std::fs::read_to_string(path).expect("--config: a readable file");
        sets.push(RuleSetUnderTest {
            name: "custom",
            config: text,
            dir: std::path::PathBuf::from(path)
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_default(),
            lib: "wheel",
            files: vec![std::path::PathBuf::from(path)],
        });
        which = "none".into();
    }
    if which == "all" || which == "4.28" {
        sets.push(RuleSetUnderTest::crs_4_28(&crs));
    }
    if which == "all" || which == "3.3.4" {
        match RuleSetUnderTest::crs_3_3_4() {
            Some(s) => sets.push(s),
            None => println!("CRS 3.3.4: skipped (Debian's modsecurity-crs is not installed)"),
        }
    }
    let listed = sekisho_tests::expected_failures(SUITE);
    let (mut passed, mut failed) = (0usize, 0usize);
    for mut set in sets {
        if let Some(l) = &lib {
            set.lib = match l.as_str() {
                "debian" => "debian",
                _ => "wheel",
            };
        }
        if let Err(why) = differential::oracle_available(set.lib) {
            eprintln!("libmodsecurity-differential: libmodsecurity unavailable: {why}");
            std::process::exit(2);
        }
        let t = std::time::Instant::now();
        let pick = |case: &str, n: usize| n % every.max(1) == 0 && select(case);
        let cmp = match compare_selected(&set, &files, &pick, include.is_none() && every <= 1) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("libmodsecurity-differential: CRS {}: {e}", set.name);
                std::process::exit(2);
            }
        };
        let j = judge(&cmp, &listed);
        let problems = &j.problems;
        let n_listed = j.listed;
        println!(
            "==> CRS {} (libmodsecurity: {}), every {every}. stage: {} compared, {} not run (server rejects), {} not representable; {} distinct requests",
            set.name,
            set.lib,
            cmp.compared,
            cmp.not_run,
            cmp.unrepresentable.len(),
            cmp.oracle_requests
        );
        for u in &cmp.unrepresentable {
            println!("    not representable: {u}");
        }
        println!(
            "    time: libmodsecurity {:.1} s, Sekisho + judging {:.1} s, total {:.1} s",
            cmp.oracle_seconds,
            cmp.sekisho_seconds,
            t.elapsed().as_secs_f64()
        );
        let crs_wins = cmp
            .differences
            .iter()
            .filter(|d| set.name == "4.28" && d.crs_wins())
            .count();
        println!(
            "    differences: {} stages: {} where CRS wins over libmodsecurity ({} listed); {} explained by the deviations those cases mandate {:?}; {} Sekisho bugs",
            cmp.differences.len(),
            crs_wins,
            n_listed,
            j.excused_stages,
            j.excused,
            j.bugs.len()
        );
        for (rule, diffs) in by_rule(&cmp.differences) {
            let shown = if verbose { diffs.len() } else { 10 };
            let names: Vec<&str> = diffs.iter().take(shown).map(|d| d.case.as_str()).collect();
            let more = diffs.len() - names.len();
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            println!(
                "    {rule}: {} stage(s): {}{more}",
                diffs.len(),
                names.join(" ")
            );
        }
        if verbose {
            for d in &cmp.differences {
                let label = if set.name == "4.28" && d.crs_wins() {
                    "CRS wins".to_string()
                } else {
                    match differential::explain(d, &cmp.facts) {
                        Some(devs) => format!("deviation {}", devs.join("+")),
                        None => "Sekisho bug".to_string(),
                    }
                };
                println!("    [{label}] {}", d.describe());
            }
        }
        for p in problems {
            println!("    FAIL {p}");
        }
        let diff_problems = problems.len();
        failed += diff_problems;
        let failing = cmp.differences.len() - n_listed - j.excused_stages;
        passed += cmp.compared - failing;
    }
    println!("{passed} passed, {failed} failed");
    std::process::exit(i32::from(failed > 0));
}
