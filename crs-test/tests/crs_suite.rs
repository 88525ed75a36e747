//! Tests on CRS 4.28's real regression suite (from the shared data, `../shared` beside the
//! repository or `$SEKISHO_SHARED`). Without it: a failure when `$CI` is set, else a message and
//! an early return.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use crs_test::{
    build_wire, load_overrides, load_test_dir, parse_request, run_files, Engine, Filter, Outcome,
    Overrides, Request, Response, ServerView, TestFile, TestStatus,
};

fn crs_or_skip(test: &str) -> Option<PathBuf> {
    match crs_test::crs_dir() {
        Some(d) => Some(d),
        None => {
            let why =
                "CRS 4.28.0 not found: put the shared data at ../shared beside the repository \
                       (shared/crs/v4.28.0) or set SEKISHO_SHARED";
            if std::env::var_os("CI").is_some() {
                panic!("{test}: {why}");
            }
            eprintln!("{test}: skipped: {why}");
            None
        }
    }
}

/// Every test file, parsed once for all the tests of this binary.
fn load_all(crs: &std::path::Path) -> &'static [TestFile] {
    static FILES: OnceLock<Vec<TestFile>> = OnceLock::new();
    FILES.get_or_init(|| {
        let (files, errors) = load_test_dir(&crs.join("tests/regression/tests")).expect("readable");
        assert!(errors.is_empty(), "parse errors: {errors:#?}");
        files
    })
}

/// The stage `index` of test `rule-test`.
fn stage(files: &[TestFile], rule: u64, test: u64, index: usize) -> &crs_test::Stage {
    files
        .iter()
        .flat_map(|f| &f.tests)
        .find(|t| t.rule_id == rule && t.test_id == test)
        .unwrap_or_else(|| panic!("no test {rule}-{test}"))
        .stages
        .get(index)
        .unwrap_or_else(|| panic!("no stage {index} in {rule}-{test}"))
}

fn wire_of(files: &[TestFile], rule: u64, test: u64) -> Vec<u8> {
    build_wire(&stage(files, rule, test, 0).input).expect("buildable")
}

#[test]
fn every_crs_test_file_parses() {
    let Some(crs) = crs_or_skip("every_crs_test_file_parses") else {
        return;
    };
    let files = load_all(&crs);
    let tests: usize = files.iter().map(|f| f.tests.len()).sum();
    let stages: usize = files
        .iter()
        .flat_map(|f| &f.tests)
        .map(|t| t.stages.len())
        .sum();
    println!(
        "CRS 4.28 regression suite: {} files, {tests} tests, {stages} stages",
        files.len()
    );
    for f in files {
        for w in &f.warnings {
            println!("unknown key in {}: {w}", f.path.display());
        }
    }
    // PyYAML counts the same in v4.28.0 (notes/crs-regression-tests.md's 5,082/5,088 are from
    // a 4.29.0-dev checkout).
    assert_eq!(files.len(), 323);
    assert_eq!(tests, 5003);
    assert_eq!(stages, 5009);
    // One file misplaces a key (`meta:` left empty, `author:` at the top); go-ftw ignores it.
    let warnings: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let name = f.path.file_name().unwrap().to_string_lossy().into_owned();
            f.warnings.iter().map(move |w| format!("{name}: {w}"))
        })
        .collect();
    assert_eq!(warnings, ["932271.yaml: author"]);
    // Every stage builds a request (no unsupported template, no bad base64).
    for f in files {
        for t in &f.tests {
            for (i, s) in t.stages.iter().enumerate() {
                if let Err(e) = build_wire(&s.input) {
                    panic!("{}-{} stage {i}: {e}", t.rule_id, t.test_id);
                }
            }
        }
    }
    // Overrides files parse too.
    for name in ["coraza", "httpd", "nginx"] {
        let p = crs.join(format!("tests/regression/{name}-overrides.yaml"));
        let o = load_overrides(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(!o.test_overrides.is_empty(), "{name}");
        println!(
            "{name}-overrides.yaml: engine {:?}, {} entries",
            o.engine.as_deref().unwrap_or(""),
            o.test_overrides.len()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Golden request bytes. Each expected value was derived by hand from go-ftw v2's code
// (`ftwhttp/request.go` BuildRequest, `ftwhttp/header.go` NewHeaderFromMap/Add/Write,
// `test/data.go` GetData): request line as written; the YAML header map sorted by name; then
// appended, in this order, Content-Type (body present, none given), Connection: close (none
// given), Content-Length (none given, and a body or a POST-like method); the body last.

#[test]
fn golden_942100_1_form_body_is_url_encoded() {
    let Some(crs) = crs_or_skip("golden_942100_1") else {
        return;
    };
    let files = load_all(&crs);
    // Headers sorted: Accept < Host < User-Agent. No Content-Type was given, so go-ftw adds the
    // form type; the body "var=1234 OR 1=1" unescapes to itself, so each key and value is
    // QueryEscape'd: space -> '+', '=' inside the value -> %3D. 17 bytes.
    let expected = "POST /post HTTP/1.1\r\n\
        Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5\r\n\
        Host: localhost\r\n\
        User-Agent: OWASP CRS test agent\r\n\
        Content-Type: application/x-www-form-urlencoded\r\n\
        Connection: close\r\n\
        Content-Length: 17\r\n\
        \r\n\
        var=1234+OR+1%3D1";
    assert_eq!(
        String::from_utf8_lossy(&wire_of(files, 942100, 1)),
        expected
    );
}

#[test]
fn golden_951120_1_reflect_json_body() {
    let Some(crs) = crs_or_skip("golden_951120_1") else {
        return;
    };
    let files = load_all(&crs);
    // Content-Type is given (application/json), so nothing is encoded; the `|-` block scalar
    // has no trailing newline. Sorted: Accept, Accept-Encoding, Accept-Language, Content-Type,
    // Host, User-Agent.
    let body = r#"{"body": "[match sql-errors.data]the used select statements have different number of columns[/match]: SQL Error: ORA-00933: SQL command not properly ended"}"#;
    let expected = format!(
        "POST /reflect HTTP/1.1\r\n\
         Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5\r\n\
         Accept-Encoding: gzip,deflate\r\n\
         Accept-Language: en-us,en;q=0.5\r\n\
         Content-Type: application/json\r\n\
         Host: localhost\r\n\
         User-Agent: OWASP CRS test agent\r\n\
         Connection: close\r\n\
         Content-Length: {}\r\n\
         \r\n\
         {body}",
        body.len()
    );
    let wire = wire_of(files, 951120, 1);
    assert_eq!(String::from_utf8_lossy(&wire), expected);
    // And albedo reflects the body as text/plain, which the response-body MIME list inspects.
    let ServerView::Request(req) = parse_request(&wire).view else {
        panic!("not passed to the WAF");
    };
    let resp = crs_test::albedo(&req);
    assert_eq!(resp.status, 200);
    assert!(resp.body.starts_with(b"[match sql-errors.data]"));
    assert_eq!(
        resp.header("Content-Type"),
        Some(&b"text/plain; charset=utf-8"[..])
    );
}

#[test]
fn golden_920620_1_encoded_request_is_verbatim() {
    let Some(crs) = crs_or_skip("golden_920620_1") else {
        return;
    };
    let files = load_all(&crs);
    // encoded_request wins over uri/version/headers (go-ftw getRequestFromTest): no sorting,
    // no autocompletion, duplicate Content-Type kept.
    let expected = "GET /get HTTP/1.1\r\n\
        Host: localhost\r\n\
        User-Agent: OWASP CRS test agent\r\n\
        Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5\r\n\
        Content-Type: application/json\r\n\
        Content-Type: application/xml\r\n\
        \r\n";
    let wire = wire_of(files, 920620, 1);
    assert_eq!(String::from_utf8_lossy(&wire), expected);
    let ServerView::Request(req) = parse_request(&wire).view else {
        panic!("rejected");
    };
    let cts: Vec<&[u8]> = req
        .headers
        .iter()
        .filter(|(n, _)| n == b"Content-Type")
        .map(|(_, v)| v.as_slice())
        .collect();
    // The httpd-like front end joins repeated fields (apr_table_mergen): the WAF sees one.
    assert_eq!(cts, vec![&b"application/json, application/xml"[..]]);
}

#[test]
fn golden_920400_2_multipart_template_and_crlf() {
    let Some(crs) = crs_or_skip("golden_920400_2") else {
        return;
    };
    let files = load_all(&crs);
    // `data: |` keeps the final newline; {{ "1" | repeat 152 }} expands (Sprig repeat); the
    // Content-Type contains "multipart/form-data;" so every LF becomes CRLF. The type is not
    // the form type: no URL encoding. Headers sorted: Accept, Content-Type, Host, User-Agent.
    let body = format!(
        "----------111111\r\n\
         Content-Disposition: form-data; name=\"smallfile\"; filename=\"file.txt\"\r\n\
         Content-Type: text/plain\r\n\
         {}\r\n\
         ----------111111--\r\n",
        "1".repeat(152)
    );
    let expected = format!(
        "POST / HTTP/1.1\r\n\
         Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5\r\n\
         Content-Type: multipart/form-data; boundary=--------111111\r\n\
         Host: localhost\r\n\
         User-Agent: OWASP CRS test agent\r\n\
         Connection: close\r\n\
         Content-Length: {}\r\n\
         \r\n\
         {body}",
        body.len()
    );
    assert_eq!(
        String::from_utf8_lossy(&wire_of(files, 920400, 2)),
        expected
    );

    // 920400-1 gives Content-Length: 64200 itself: go-ftw keeps it although the body is longer,
    // so the server reads exactly 64200 bytes and ignores the rest.
    let wire = wire_of(files, 920400, 1);
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.contains("Content-Length: 64200\r\n")
            && !text.contains("Connection: close\r\nContent-Length")
    );
    let p = parse_request(&wire);
    let ServerView::Request(req) = p.view else {
        panic!("rejected");
    };
    assert_eq!(req.body.len(), 64200);
    assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
}

#[test]
fn golden_920160_1_and_920430_5_odd_lines() {
    let Some(crs) = crs_or_skip("golden_920160_1") else {
        return;
    };
    let files = load_all(&crs);
    // A GET without body and an explicit Content-Length: only Connection is appended.
    let expected = "GET / HTTP/1.1\r\n\
        Accept: text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5\r\n\
        Content-Length: NotDigits\r\n\
        Host: localhost\r\n\
        User-Agent: OWASP CRS test agent\r\n\
        Connection: close\r\n\
        \r\n";
    let wire = wire_of(files, 920160, 1);
    assert_eq!(String::from_utf8_lossy(&wire), expected);
    assert!(matches!(
        parse_request(&wire).view,
        ServerView::Rejected { status: 400, .. }
    ));

    // `version: ""`: the request line keeps its trailing space ("GET / \r\n"), an HTTP/0.9
    // request for the server.
    let wire = wire_of(files, 920430, 5);
    assert!(wire.starts_with(b"GET / \r\nAccept: "));
    assert!(matches!(parse_request(&wire).view, ServerView::Http09(_)));
}

// ---------------------------------------------------------------------------------------------
// The whole suite against an engine that logs nothing: exercises every stage end to end, and
// checks the web-server model on the stages that expect a server-level status.

struct Inert;

impl Engine for Inert {
    fn run(&self, req: &Request, resp_for: &dyn Fn(&Request) -> Response) -> Outcome {
        let resp = resp_for(req);
        Outcome {
            status: resp.status,
            ..Outcome::default()
        }
    }
}

#[test]
fn whole_suite_with_an_inert_engine() {
    let Some(crs) = crs_or_skip("whole_suite_with_an_inert_engine") else {
        return;
    };
    let files = load_all(&crs);
    let report = run_files(&Inert, files, &Filter::all(), Overrides::Off);
    assert_eq!(report.tests.len(), 5003);
    let (sp, sf) = report.stage_counts();
    println!(
        "inert engine: {} (stages: {sp} passed, {sf} failed)",
        report.summary_line()
    );

    // Stages whose only expectation is a status (or an error) depend on the web server alone:
    // all of them must pass with an engine that does nothing.
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for f in files {
        for t in &f.tests {
            for (i, s) in t.stages.iter().enumerate() {
                let o = &s.output;
                let log = &o.log;
                let tr = report
                    .tests
                    .iter()
                    .find(|r| r.rule_id == t.rule_id && r.test_id == t.test_id)
                    .unwrap();
                let sr = &tr.stages[i];
                // A stage that expects the WAF to log must reach the WAF.
                if !log.expect_ids.is_empty() || log.match_regex.is_some() {
                    assert!(
                        sr.server_rejection.is_none(),
                        "{}-{} stage {i} expects WAF logs but the server model rejects it: {:?}",
                        t.rule_id,
                        t.test_id,
                        sr.server_rejection
                    );
                }
                let server_only = (!o.status.is_empty() || o.expects_error())
                    && log.expect_ids.is_empty()
                    && log.match_regex.is_none();
                if !server_only {
                    continue;
                }
                assert!(
                    sr.passed,
                    "{}-{} stage {i}: {:?} (rejection: {:?})",
                    t.rule_id, t.test_id, sr.failures, sr.server_rejection
                );
                if let Some(r) = &sr.server_rejection {
                    *by_reason.entry(r.clone()).or_default() += 1;
                }
            }
        }
    }
    for (r, n) in &by_reason {
        println!("server rejection x{n}: {r}");
    }
    let overridden = report
        .tests
        .iter()
        .filter(|t| matches!(t.status, TestStatus::Overridden { .. }))
        .count();
    assert_eq!(overridden, 0, "overrides are off by default");
}

#[test]
fn nginx_overrides_opt_in() {
    let Some(crs) = crs_or_skip("nginx_overrides_opt_in") else {
        return;
    };
    let files = load_all(&crs);
    let o = load_overrides(&crs.join("tests/regression/nginx-overrides.yaml")).unwrap();
    let report = run_files(
        &Inert,
        files,
        &Filter::new(Some("^920100-"), None).unwrap(),
        Overrides::Skip(&o),
    );
    let t4 = report.tests.iter().find(|t| t.test_id == 4).unwrap();
    match &t4.status {
        TestStatus::Overridden { reasons } => {
            assert_eq!(reasons, &["Nginx returns a 400 bad request"])
        }
        other => panic!("{other:?}"),
    }
    assert!(t4.stages.is_empty());
    // 920100 tests 4, 8, 14 and 16 are listed.
    assert_eq!(report.overridden(), 4);
    assert_eq!(
        report.passed() + report.failed() + report.overridden(),
        report.tests.len()
    );
}
