//! The differential test against the real libmodsecurity (engine issue): CRS 4.28's regression
//! stages through Sekisho and through libmodsecurity 3.0.15 (`tests/oracle/txn.sh --lib wheel`)
//! must give the same status and the same set of logged rule ids, on CRS 4.28 and on Debian's
//! CRS 3.3.4. Where libmodsecurity contradicts CRS's own test (Sekisho passes the stage,
//! libmodsecurity fails it), CRS wins and the case is listed in `tests/expected_failures.txt`
//! (suite `libmodsecurity-differential`, case `RULE-TEST:STAGE`, `crs-3.3.4/RULE-TEST:STAGE` for
//! 3.3.4). Any other difference fails, and so does a listed case that no longer differs.
//!
//! How the two are driven, and why they are equivalent: `tests/oracle/differential.rs`.
//!
//! A debug build runs a deterministic sample: every `$SEKISHO_DIFFERENTIAL_EVERY`-th stage
//! (default 4; 1 = all). The full run is the release example `libmodsecurity-differential`,
//! which `scripts/check-crs.sh` runs. Without libmodsecurity the test says why and skips, or
//! fails when `$CI` is set.

#[path = "../oracle/differential.rs"]
mod differential;

use differential::{by_rule, compare_sample, judge, load_tests, RuleSetUnderTest, SUITE};
use std::collections::BTreeSet;

const DEFAULT_EVERY: usize = 4;

fn every() -> usize {
    std::env::var("SEKISHO_DIFFERENTIAL_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|k| *k >= 1)
        .unwrap_or(DEFAULT_EVERY)
}

/// Runs one rule set; returns `(passed, failed, problems)`.
fn run(set: &RuleSetUnderTest, files: &[crs_test::TestFile]) -> (usize, usize, Vec<String>) {
    let k = every();
    let listed = sekisho_tests::expected_failures(SUITE);
    let always: BTreeSet<String> = listed.keys().cloned().collect();
    let cmp =
        compare_sample(set, files, k, &always).unwrap_or_else(|e| panic!("CRS {}: {e}", set.name));
    let j = judge(&cmp, &listed);
    let n_listed = j.listed;
    eprintln!(
        "CRS {} on libmodsecurity {}: every {k}th stage, {} compared ({} not run: the server rejects them), {} distinct requests; libmodsecurity {:.1} s, Sekisho {:.1} s",
        set.name,
        set.lib,
        cmp.compared,
        cmp.not_run,
        cmp.oracle_requests,
        cmp.oracle_seconds,
        cmp.sekisho_seconds
    );
    for (rule, diffs) in by_rule(&cmp.differences) {
        let names: Vec<&str> = diffs.iter().take(8).map(|d| d.case.as_str()).collect();
        let more = diffs.len().saturating_sub(names.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        eprintln!(
            "  differs on {rule}: {} stage(s): {}{more}",
            diffs.len(),
            names.join(" ")
        );
    }
    assert!(
        cmp.unrepresentable.is_empty(),
        "requests txn cannot express: {:?}",
        cmp.unrepresentable
    );
    assert!(
        cmp.compared > 4000 / k,
        "too few stages compared: {}",
        cmp.compared
    );
    eprintln!(
        "  {} differences: {n_listed} listed (CRS wins over libmodsecurity), {} explained by the deviations they mandate {:?}, {} Sekisho bugs",
        cmp.differences.len(),
        j.excused_stages,
        j.excused,
        j.bugs.len()
    );
    // Stages: passed = the engines agree, or differ as listed; failed = every problem (unlisted
    // differences, stale entries).
    let failing = cmp.differences.len() - n_listed - j.excused_stages;
    (cmp.compared - failing, j.problems.len(), j.problems)
}

#[test]
fn sekisho_and_libmodsecurity_agree_on_crs() {
    let Some(shared) = sekisho_tests::require_shared("the libmodsecurity differential test") else {
        return;
    };
    if let Err(why) = differential::oracle_available("wheel") {
        assert!(
            std::env::var_os("CI").is_none(),
            "the libmodsecurity differential test needs libmodsecurity 3.0.15 in CI: {why}"
        );
        eprintln!("skipped: the libmodsecurity differential test needs libmodsecurity: {why}");
        return;
    }
    let crs = shared.join("crs/v4.28.0");
    let files = load_tests(&crs);
    let mut sets = vec![RuleSetUnderTest::crs_4_28(&crs)];
    match RuleSetUnderTest::crs_3_3_4() {
        Some(s) => sets.push(s),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "Debian's CRS 3.3.4 (modsecurity-crs) is needed in CI"
            );
            eprintln!("CRS 3.3.4 skipped: Debian's modsecurity-crs is not installed");
        }
    }
    let (mut passed, mut failed, mut problems) = (0, 0, Vec::new());
    for set in &sets {
        let (p, f, pr) = run(set, &files);
        passed += p;
        failed += f;
        problems.extend(pr);
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!("{passed} passed, {failed} failed");
    assert!(
        problems.is_empty(),
        "{} differences between Sekisho and libmodsecurity not listed, or stale entries:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
