//! The runner's judgement, on a fake engine: it blocks (403, logs rule 942100 and 949110) when
//! the request target contains "attack", logs rule 951120 when the backend's body contains
//! "ORA-", and otherwise logs nothing. No shared data needed.

use std::collections::BTreeSet;
use std::path::Path;

use crs_test::{
    parse_overrides, parse_test_file, run_files, run_tests, Engine, Filter, Outcome, Overrides,
    Request, Response, TestStatus,
};

struct FakeWaf;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl Engine for FakeWaf {
    fn run(&self, req: &Request, resp_for: &dyn Fn(&Request) -> Response) -> Outcome {
        if contains(&req.uri, b"attack") {
            return Outcome {
                status: 403,
                logged_ids: BTreeSet::from([942100]),
                log_lines: vec![
                    r#"ModSecurity: Access denied with code 403 (phase 2). [id "942100"] [msg "SQL Injection Attack"]"#.into(),
                    // Given only as a log line: the runner finds the id like go-ftw does.
                    r#"ModSecurity: Warning. [id "949110"] [msg "Inbound Anomaly Score Exceeded"]"#.into(),
                ],
            };
        }
        let resp = resp_for(req);
        let mut out = Outcome {
            status: resp.status,
            ..Outcome::default()
        };
        if contains(&resp.body, b"ORA-") {
            out.logged_ids.insert(951120);
            out.log_lines.push(
                r#"ModSecurity: Warning. [id "951120"] [msg "Oracle SQL Information Leakage"]"#
                    .into(),
            );
        }
        out
    }
}

/// A stage: `uri`, extra input lines, and the output block (YAML, indented under `output:`).
/// A stage that posts to /reflect gets the JSON content type (as CRS's tests do: without it
/// go-ftw would URL-encode the JSON as form data).
fn stage(uri: &str, extra_input: &str, output: &str) -> String {
    let ct = if uri.starts_with("/reflect") {
        "            Content-Type: application/json\n"
    } else {
        ""
    };
    format!(
        "      - input:\n          uri: \"{uri}\"\n          headers:\n            Host: localhost\n{ct}\
         {extra_input}        output:\n{output}"
    )
}

fn test(id: u64, stages: &[String]) -> String {
    format!("  - test_id: {id}\n    stages:\n{}", stages.concat())
}

const HDR: &str = "---\nmeta:\n  author: fake\nrule_id: 100\ntests:\n";

fn suite() -> String {
    let reflect = "          method: POST\n          data: '{\"body\": \"ORA-00933: SQL command not properly ended\"}'\n          \
                   headers2: x\n";
    // (headers2 is an unknown key: ignored, as go-ftw does)
    let tests = [
        // 1: expect_ids present -> pass
        test(1, &[stage("/get?q=attack", "", "          log:\n            expect_ids: [942100]\n")]),
        // 2: expect_ids absent -> FAIL
        test(2, &[stage("/get?q=fine", "", "          log:\n            expect_ids: [942100]\n")]),
        // 3: no_expect_ids absent -> pass
        test(3, &[stage("/get?q=fine", "", "          log:\n            no_expect_ids: [942100]\n")]),
        // 4: no_expect_ids present -> FAIL
        test(4, &[stage("/get?q=attack", "", "          log:\n            no_expect_ids: [942100]\n")]),
        // 5: an id only in a log line counts; status 403 is one of [403, 200] -> pass
        test(5, &[stage("/attack", "", "          status: [403, 200]\n          log:\n            expect_ids: [949110, 942100]\n")]),
        // 6: status mismatch -> FAIL
        test(6, &[stage("/attack", "", "          status: 200\n")]),
        // 7: match_regex / no_match_regex -> pass
        test(7, &[stage("/attack", "", "          log:\n            match_regex: 'id \"94\\d+\"'\n            no_match_regex: 'id \"951'\n")]),
        // 8: no_match_regex on 999999.yml's pattern, nothing logged -> pass
        test(8, &[stage("/get", "", "          log:\n            no_match_regex: '\\[id \"\\d+\"\\]'\n")]),
        // 9: response-phase: albedo reflects the body, the engine sees it -> pass
        test(9, &[stage("/reflect", reflect, "          status: 200\n          response_contains: 'ORA-00933'\n          log:\n            expect_ids: [951120]\n")]),
        // 10: blocked: the client sees the WAF's status, not albedo's body -> FAIL on response_contains
        test(10, &[stage("/reflect?attack", reflect, "          response_contains: 'ORA-00933'\n")]),
        // 11: HTTP/0.9 request line, expect_error -> pass
        test(11, &[stage("/", "          version: \"\"\n", "          expect_error: true\n")]),
        // 12: a normal response when an error is expected -> FAIL
        test(12, &[stage("/", "", "          expect_error: true\n")]),
        // 13: the web server rejects the request line (400) before the WAF -> pass
        test(13, &[stage("/#fragment", "", "          status: 400\n          log:\n            no_expect_ids: [942100]\n")]),
        // 14: isolated with two ids logged -> FAIL
        test(14, &[stage("/attack", "", "          isolated: true\n          log:\n            expect_ids: [942100]\n")]),
        // 15: two stages, the second fails -> the test fails
        test(15, &[
            stage("/attack", "", "          log:\n            expect_ids: [942100]\n"),
            stage("/fine", "", "          log:\n            expect_ids: [942100]\n"),
        ]),
    ];
    format!("{HDR}{}", tests.concat())
}

fn by_id(report: &crs_test::Report) -> Vec<(u64, TestStatus)> {
    report
        .tests
        .iter()
        .map(|t| (t.test_id, t.status.clone()))
        .collect()
}

#[test]
fn runner_expectation_logic() {
    let file = parse_test_file(&suite(), Path::new("100.yaml")).expect("valid YAML");
    assert_eq!(file.warnings.len(), 2, "{:?}", file.warnings); // headers2, twice
    let report = run_files(&FakeWaf, &[file], &Filter::all(), Overrides::Off);
    for l in report.failure_lines() {
        println!("{l}");
    }
    let failed: Vec<u64> = by_id(&report)
        .into_iter()
        .filter(|(_, s)| *s == TestStatus::Failed)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(failed, vec![2, 4, 6, 10, 12, 14, 15]);
    assert_eq!(report.summary_line(), "8 passed, 7 failed");
    assert_eq!(report.stage_counts(), (9, 7));

    let t = |id: u64| report.tests.iter().find(|t| t.test_id == id).unwrap();
    // The failure says why; the wire bytes are kept for failed stages.
    let s2 = &t(2).stages[0];
    assert!(
        s2.failures[0].contains("expected ids not logged: [942100]"),
        "{:?}",
        s2.failures
    );
    assert!(s2
        .wire
        .as_ref()
        .unwrap()
        .starts_with(b"GET /get?q=fine HTTP/1.1\r\n"));
    assert!(t(4).stages[0].failures[0].contains("unexpected ids logged: [942100]"));
    assert_eq!(t(5).stages[0].logged_ids, BTreeSet::from([942100, 949110]));
    assert_eq!(t(6).stages[0].status, Some(403));
    assert_eq!(t(11).stages[0].status, None);
    assert!(t(13).stages[0].server_rejection.is_some());
    assert!(t(15).stages[0].passed && !t(15).stages[1].passed);
    assert_eq!(t(15).stages[1].index, 1);
}

const OVERRIDES: &str = r#"version: "v0.0.0"
meta:
  engine: "fake"
  platform: "test"
  annotations:
    - purpose: "unit test"
test_overrides:
  - rule_id: 100
    test_ids: [2, 4]
    reason: "the fake engine does not log there"
    output:
      log:
        no_expect_ids: [942100]
  - rule_id: 100
    test_ids: [6]
    reason: "status differs on this platform"
    output:
      status: 403
  - rule_id: 100
    test_ids: [15]
    stage_ids: [1]
    reason: "second stage unsupported"
  - rule_id: 999
    reason: "another rule"
"#;

#[test]
fn overrides_skip_mode_reports_reasons() {
    let file = parse_test_file(&suite(), Path::new("100.yaml")).unwrap();
    let o = parse_overrides(OVERRIDES, Path::new("fake-overrides.yaml")).unwrap();
    let report = run_files(&FakeWaf, &[file], &Filter::all(), Overrides::Skip(&o));
    let overridden: Vec<(u64, Vec<String>)> = report
        .tests
        .iter()
        .filter_map(|t| match &t.status {
            TestStatus::Overridden { reasons } => Some((t.test_id, reasons.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        overridden,
        vec![
            (2, vec!["the fake engine does not log there".to_string()]),
            (4, vec!["the fake engine does not log there".to_string()]),
            (6, vec!["status differs on this platform".to_string()]),
            (15, vec!["second stage unsupported".to_string()]),
        ]
    );
    // Overridden tests are not run and are in neither number.
    assert!(report
        .tests
        .iter()
        .filter(|t| t.test_id == 2)
        .all(|t| t.stages.is_empty()));
    assert_eq!(report.summary_line(), "8 passed, 3 failed");
    assert_eq!(report.overridden(), 4);
}

#[test]
fn overrides_replace_mode_is_go_ftw_semantics() {
    let file = parse_test_file(&suite(), Path::new("100.yaml")).unwrap();
    let o = parse_overrides(OVERRIDES, Path::new("fake-overrides.yaml")).unwrap();
    let report = run_files(
        &FakeWaf,
        &[file],
        &Filter::all(),
        Overrides::ReplaceOutput(&o),
    );
    let status = |id: u64| {
        report
            .tests
            .iter()
            .find(|t| t.test_id == id)
            .unwrap()
            .status
            .clone()
    };
    // 2: now expects no 942100 -> pass; 4: the same expectation, but 942100 is logged -> fail.
    assert_eq!(status(2), TestStatus::Passed);
    assert_eq!(status(4), TestStatus::Failed);
    // 6: status 403 now expected -> pass. 15: stage 1's checks are off -> pass.
    assert_eq!(status(6), TestStatus::Passed);
    assert_eq!(status(15), TestStatus::Passed);
    let t15 = report.tests.iter().find(|t| t.test_id == 15).unwrap();
    assert_eq!(
        t15.overrides_applied,
        vec!["second stage unsupported".to_string()]
    );
    assert_eq!(report.summary_line(), "11 passed, 4 failed");
}

#[test]
fn filter_and_run_tests_from_a_directory() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crs-test-fake-suite");
    let sub = dir.join("REQUEST-100-FAKE");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("100.yaml"), suite()).unwrap();
    std::fs::write(sub.join("broken.yml"), "rule_id: 7\ntests: [\n").unwrap();
    std::fs::write(sub.join("notes.txt"), "not a test").unwrap();

    let filter = Filter::new(Some("^100-(1|2)$"), None).unwrap();
    let report = run_tests(&FakeWaf, &dir, &filter, Overrides::Off);
    assert_eq!(report.files, 1);
    assert_eq!(report.load_errors.len(), 1, "broken.yml");
    assert_eq!(report.tests.len(), 2);
    // 100-1 passes, 100-2 fails, and the unparseable file counts as a failure.
    assert_eq!(report.summary_line(), "1 passed, 2 failed");
    assert!(report.failure_lines()[0].contains("broken.yml"));
}
