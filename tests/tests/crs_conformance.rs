//! CRS 4.28's own regression suite (go-ftw YAML, `tests/regression/tests`) run in-process
//! through Sekisho's engine, configured as CRS's `tests/regression/README.md` prescribes (see
//! the `crs-test` crate for how requests are built and how the web server in front is
//! modelled). Every stage must pass; a stage may only be excused in
//! `tests/expected_failures.txt` (suite `crs-regression`, case `RULE-TEST`) for a reason about
//! HTTP transport, not the engine.

use crs_test::sekisho::SekishoEngine;
use crs_test::{crs_test_config, run_tests, Filter, Overrides, TestStatus};
use std::sync::Arc;

const SUITE: &str = "crs-regression";

#[test]
fn crs_4_28_regression_suite_passes() {
    let Some(shared) = sekisho_tests::require_shared("CRS 4.28's regression suite") else {
        return;
    };
    let crs = shared.join("crs/v4.28.0");
    let config = crs_test_config(&crs);
    let mut rules = waf_core::RuleSet::from_text("crs-test.conf", &config, Some(&crs))
        .unwrap_or_else(|e| panic!("CRS 4.28 must load:\n{e}"));
    // CRS's tests expect ModSecurity v2's logging: only `nolog` hides a match (980170)
    rules.set_noauditlog_hides_rule(false);
    let engine = SekishoEngine::new(Arc::new(rules));
    let report = run_tests(
        &engine,
        &crs.join("tests/regression/tests"),
        &Filter::all(),
        Overrides::Off,
    );
    let expected = sekisho_tests::expected_failures(SUITE);
    let mut wrong = Vec::new();
    let mut listed = 0;
    for t in &report.tests {
        let id = t.id();
        let failed = matches!(t.status, TestStatus::Failed);
        match (failed, expected.get(&id)) {
            (true, None) => wrong.push(format!("{id}: fails")),
            (false, Some(reason)) => wrong.push(format!(
                "{id}: passes now; remove it from expected_failures.txt ({reason})"
            )),
            (true, Some(_)) => listed += 1,
            (false, None) => {}
        }
    }
    for line in report.failure_lines() {
        eprintln!("{line}");
    }
    eprintln!(
        "{} ({listed} listed as expected failures)",
        report.summary_line()
    );
    assert!(
        report.passed() > 4900,
        "too few tests ran: {}",
        report.summary_line()
    );
    assert!(
        wrong.is_empty(),
        "{} unexpected results:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
