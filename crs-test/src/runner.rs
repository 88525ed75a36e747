//! Runs go-ftw stages against an in-process [`Engine`] and judges them the way go-ftw does
//! (`runner/run.go` `checkResult`, `runner/check_*.go`, `waflog/read.go`).
//!
//! Per stage: [`build_wire`] makes go-ftw's bytes; [`parse_request`] turns them into what the web
//! server hands the WAF (or the server's own 400); the engine runs the request, calling back for
//! albedo's response ([`albedo`]) unless it interrupts first. go-ftw's log markers are not
//! needed: everything the engine logs during [`Engine::run`] belongs to the stage.
//!
//! The checks, in go-ftw's order (a stage passes when all hold):
//! 1. `expect_error: true`: passes iff the client got no HTTP response (an HTTP/0.9 request, or
//!    [`Outcome::status`] 0), and nothing else is checked. Without it, no response is a failure.
//! 2. `status`: the final status is one of those listed.
//! 3. `response_contains`: the Go regexp matches the raw response the client reads (status line,
//!    headers, body: albedo's, or an empty one with the WAF's status when it interrupted).
//! 4. `log.match_regex` matches some log line; every `log.expect_ids` id was logged; with
//!    `isolated`, exactly one id was logged; `log.no_match_regex` matches no line; no
//!    `log.no_expect_ids` id was logged.
//!
//! "Logged ids" are [`Outcome::logged_ids`] plus the ids go-ftw would read in
//! [`Outcome::log_lines`] with its own regexp, `\[id \\?"(\d+)\\?"\]|"id":\s*"?(\d+)"?`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex_automata::meta::Regex;

use crate::backend::{albedo, Response};
use crate::request::{build_wire, parse_request, Request, ServerView};
use crate::yaml::{self, Output, OverridesFile, ParseError, Stage, TestFile};

/// A WAF engine under test.
pub trait Engine {
    /// Processes one transaction: request phases on `req`; unless it interrupts there, it calls
    /// `resp_for(req)` (once) for the backend's response, then runs the response phases on it
    /// and the logging phase.
    fn run(&self, req: &Request, resp_for: &dyn Fn(&Request) -> Response) -> Outcome;
}

/// What one transaction produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The status the client receives: the engine's intervention status if it interrupted,
    /// else the backend's. 0 means the client gets no HTTP response at all (a `drop`).
    pub status: u16,
    /// The ids of the rules that wrote a line to the error log (libmodsecurity: matched rules
    /// with `log`, through the server log callback).
    pub logged_ids: BTreeSet<u64>,
    /// The error-log lines of this transaction, for `match_regex`/`no_match_regex`
    /// (libmodsecurity's format: `... [id "942100"] [msg "..."] ...`).
    pub log_lines: Vec<String>,
}

/// go-ftw's `--include` / `--exclude`: Go regexps matched against `<rule_id>-<test_id>`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include: Option<Regex>,
    exclude: Option<Regex>,
}

impl Filter {
    /// Every test.
    pub fn all() -> Filter {
        Filter::default()
    }

    /// Errors on an invalid regexp.
    pub fn new(include: Option<&str>, exclude: Option<&str>) -> Result<Filter, String> {
        let compile = |p: &str| Regex::new(p).map_err(|e| format!("invalid regexp {p:?}: {e}"));
        Ok(Filter {
            include: include.map(compile).transpose()?,
            exclude: exclude.map(compile).transpose()?,
        })
    }

    /// go-ftw `needToSkipTest`, inverted: an include match always runs; else an exclude match,
    /// or an include that does not match, skips.
    pub fn selects(&self, id: &str) -> bool {
        if let Some(inc) = &self.include {
            return inc.is_match(id);
        }
        !self.exclude.as_ref().is_some_and(|e| e.is_match(id))
    }
}

/// What to do with a platform overrides file. The default runs every test as written.
#[derive(Debug, Clone, Copy, Default)]
pub enum Overrides<'a> {
    #[default]
    Off,
    /// Tests the file names are not run; they are reported as overridden with its reasons.
    Skip(&'a OverridesFile),
    /// go-ftw's `--overrides`: the entry's `output` replaces the expectations of the stages it
    /// names (an entry without `output` turns their checks off); the tests are run.
    ReplaceOutput(&'a OverridesFile),
}

/// The result of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Test files read (including empty ones).
    pub files: usize,
    /// Files that could not be parsed; each counts as one failed test.
    pub load_errors: Vec<ParseError>,
    /// The selected tests, in file order.
    pub tests: Vec<TestReport>,
}

#[derive(Debug, Clone)]
pub struct TestReport {
    pub file: PathBuf,
    pub rule_id: u64,
    pub test_id: u64,
    pub status: TestStatus,
    /// Empty for an overridden (skipped) test.
    pub stages: Vec<StageReport>,
    /// Reasons of the override entries applied with [`Overrides::ReplaceOutput`].
    pub overrides_applied: Vec<String>,
}

impl TestReport {
    /// `<rule_id>-<test_id>`.
    pub fn id(&self) -> String {
        format!("{}-{}", self.rule_id, self.test_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestStatus {
    Passed,
    Failed,
    /// Not run ([`Overrides::Skip`]); the reasons given in the overrides file.
    Overridden {
        reasons: Vec<String>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct StageReport {
    /// 0-based, as in override files' `stage_ids`.
    pub index: usize,
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub failures: Vec<String>,
    /// The status the client saw; `None` when it got no HTTP response or no request was made.
    pub status: Option<u16>,
    /// The ids logged (see the module docs).
    pub logged_ids: BTreeSet<u64>,
    /// Set when the web server rejected the request before the WAF.
    pub server_rejection: Option<String>,
    /// Remarks of the request parser (bytes a server would not read, or wait for).
    pub notes: Vec<String>,
    /// The bytes go-ftw would send, kept for failed stages only.
    pub wire: Option<Vec<u8>>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.count(|s| *s == TestStatus::Passed)
    }

    /// Failed tests plus files that could not be parsed.
    pub fn failed(&self) -> usize {
        self.count(|s| *s == TestStatus::Failed) + self.load_errors.len()
    }

    pub fn overridden(&self) -> usize {
        self.count(|s| matches!(s, TestStatus::Overridden { .. }))
    }

    fn count(&self, f: impl Fn(&TestStatus) -> bool) -> usize {
        self.tests.iter().filter(|t| f(&t.status)).count()
    }

    /// (passed, failed) over the stages that were run.
    pub fn stage_counts(&self) -> (usize, usize) {
        let stages = self.tests.iter().flat_map(|t| &t.stages);
        let passed = stages.clone().filter(|s| s.passed).count();
        (passed, stages.count() - passed)
    }

    /// Exactly `N passed, M failed`, counting tests (go-ftw counts tests too); overridden tests
    /// are in neither number. The caller prints it as its last line.
    pub fn summary_line(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }

    /// One line per failed stage and per load error, for humans.
    pub fn failure_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.load_errors.iter().map(|e| e.to_string()).collect();
        for t in self.tests.iter().filter(|t| t.status == TestStatus::Failed) {
            for s in t.stages.iter().filter(|s| !s.passed) {
                out.push(format!(
                    "{} stage {}: {}",
                    t.id(),
                    s.index,
                    s.failures.join("; ")
                ));
            }
        }
        out
    }
}

/// Loads every test file under `tests_dir` (go-ftw's `**/*.y*ml`) and runs the selected tests.
pub fn run_tests(
    engine: &dyn Engine,
    tests_dir: &Path,
    filter: &Filter,
    overrides: Overrides<'_>,
) -> Report {
    let (files, load_errors) = match yaml::load_test_dir(tests_dir) {
        Ok(x) => x,
        Err(e) => (
            Vec::new(),
            vec![ParseError {
                path: tests_dir.to_path_buf(),
                message: e.to_string(),
            }],
        ),
    };
    let mut report = run_files(engine, &files, filter, overrides);
    report.load_errors.extend(load_errors);
    report
}

/// Runs the selected tests of already parsed files.
pub fn run_files(
    engine: &dyn Engine,
    files: &[TestFile],
    filter: &Filter,
    overrides: Overrides<'_>,
) -> Report {
    let mut report = Report {
        files: files.len(),
        ..Report::default()
    };
    for file in files {
        for test in &file.tests {
            if !filter.selects(&test.id_string()) {
                continue;
            }
            let mut tr = TestReport {
                file: file.path.clone(),
                rule_id: test.rule_id,
                test_id: test.test_id,
                status: TestStatus::Passed,
                stages: Vec::new(),
                overrides_applied: Vec::new(),
            };
            let mut stages: Vec<Stage> = test.stages.clone();
            match overrides {
                Overrides::Off => {}
                Overrides::Skip(o) => {
                    let reasons: Vec<String> = o
                        .for_test(test.rule_id, test.test_id)
                        .into_iter()
                        .map(|e| e.reason.clone())
                        .collect();
                    if !reasons.is_empty() {
                        tr.status = TestStatus::Overridden { reasons };
                        report.tests.push(tr);
                        continue;
                    }
                }
                Overrides::ReplaceOutput(o) => {
                    for entry in o.for_test(test.rule_id, test.test_id) {
                        for (i, stage) in stages.iter_mut().enumerate() {
                            if entry.stage_ids.is_empty() || entry.stage_ids.contains(&(i as u64)) {
                                stage.output = entry.output.clone().unwrap_or_default();
                            }
                        }
                        tr.overrides_applied.push(entry.reason.clone());
                    }
                }
            }
            for (i, stage) in stages.iter().enumerate() {
                let mut sr = run_stage(engine, stage);
                sr.index = i;
                if !sr.passed {
                    tr.status = TestStatus::Failed;
                }
                tr.stages.push(sr);
            }
            report.tests.push(tr);
        }
    }
    report
}

/// Runs and judges one stage.
pub fn run_stage(engine: &dyn Engine, stage: &Stage) -> StageReport {
    let mut sr = StageReport::default();
    let wire = match build_wire(&stage.input) {
        Ok(w) => w,
        Err(e) => {
            sr.failures.push(format!("cannot build the request: {e}"));
            return sr;
        }
    };
    let parsed = parse_request(&wire);
    sr.notes = parsed.notes;

    let backend: RefCell<Option<Response>> = RefCell::new(None);
    let resp_for = |r: &Request| {
        let resp = albedo(r);
        *backend.borrow_mut() = Some(resp.clone());
        resp
    };
    // (status seen by the client or None for no HTTP response, log lines)
    let (status, outcome) = match parsed.view {
        ServerView::Rejected { status, reason } => {
            sr.server_rejection = Some(reason);
            (Some(status), Outcome::default())
        }
        ServerView::Http09(req) => (None, engine.run(&req, &resp_for)),
        ServerView::Request(req) => {
            let o = engine.run(&req, &resp_for);
            ((o.status != 0).then_some(o.status), o)
        }
    };
    sr.status = status;
    sr.logged_ids = outcome.logged_ids.clone();
    sr.logged_ids.extend(ids_in_log_lines(&outcome.log_lines));

    let client_response = status.map(|code| match backend.borrow().as_ref() {
        Some(b) if b.status == code => b.to_bytes(),
        _ => Response {
            status: code,
            ..Response::default()
        }
        .to_bytes(),
    });
    sr.failures = judge(
        &stage.output,
        client_response.as_deref(),
        &sr.logged_ids,
        &outcome.log_lines,
    );
    sr.passed = sr.failures.is_empty();
    if !sr.passed {
        sr.wire = Some(wire);
    }
    sr
}

/// go-ftw's checkResult over one stage's results; returns the failed checks.
fn judge(
    out: &Output,
    response: Option<&[u8]>,
    ids: &BTreeSet<u64>,
    lines: &[String],
) -> Vec<String> {
    let mut fails = Vec::new();
    if out.expects_error() {
        if response.is_some() {
            fails.push("expected an error (no HTTP response), got a response".into());
        }
        return fails;
    }
    let Some(response) = response else {
        fails.push("unexpected error: no HTTP response".into());
        return fails;
    };
    let status = status_of(response);
    if !out.status.is_empty() && !out.status.contains(&status) {
        fails.push(format!("status {status}, expected one of {:?}", out.status));
    }
    if let Some(re) = &out.response_contains {
        match Regex::new(re) {
            Ok(r) if r.is_match(response) => {}
            Ok(_) => fails.push(format!("response does not match {re:?}")),
            Err(e) => fails.push(format!("invalid response_contains regexp {re:?}: {e}")),
        }
    }
    let log = &out.log;
    let any_line = |re: &str| -> Result<bool, String> {
        let r = Regex::new(re).map_err(|e| format!("invalid regexp {re:?}: {e}"))?;
        Ok(lines.iter().any(|l| r.is_match(l.as_str())))
    };
    if let Some(re) = log.match_regex.as_deref().filter(|r| !r.is_empty()) {
        match any_line(re) {
            Ok(true) => {}
            Ok(false) => fails.push(format!("no log line matches {re:?}")),
            Err(e) => fails.push(e),
        }
    }
    let missing: Vec<u64> = log
        .expect_ids
        .iter()
        .copied()
        .filter(|id| !ids.contains(id))
        .collect();
    if !missing.is_empty() {
        fails.push(format!(
            "expected ids not logged: {missing:?} (logged: {ids:?})"
        ));
    }
    if out.isolated && ids.len() != 1 {
        fails.push(format!("isolated test, but logged ids are {ids:?}"));
    }
    if let Some(re) = log.no_match_regex.as_deref().filter(|r| !r.is_empty()) {
        match any_line(re) {
            Ok(false) => {}
            Ok(true) => fails.push(format!("a log line matches {re:?}")),
            Err(e) => fails.push(e),
        }
    }
    let unwanted: Vec<u64> = log
        .no_expect_ids
        .iter()
        .copied()
        .filter(|id| ids.contains(id))
        .collect();
    if !unwanted.is_empty() {
        fails.push(format!("unexpected ids logged: {unwanted:?}"));
    }
    fails
}

fn status_of(raw: &[u8]) -> u16 {
    // "HTTP/1.1 NNN ..." as rendered by Response::to_bytes.
    raw.get(9..12)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

/// The rule ids go-ftw reads in log lines (`waflog/read.go` `TriggeredRules`).
pub fn ids_in_log_lines(lines: &[String]) -> BTreeSet<u64> {
    thread_local! {
        static RE: Regex =
            Regex::new(r#"\[id \\?"(\d+)\\?"\]|"id":\s*"?(\d+)"?"#).expect("valid regexp");
    }
    RE.with(|re| {
        let mut ids = BTreeSet::new();
        for line in lines {
            for caps in re.captures_iter(line.as_str()) {
                for g in 1..=2 {
                    if let Some(span) = caps.get_group(g) {
                        if let Ok(id) = line[span.range()].parse() {
                            ids.insert(id);
                        }
                    }
                }
            }
        }
        ids
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_modsecurity_and_json_lines() {
        let lines = vec![
            r#"ModSecurity: Warning. Matched ... [id "942100"] [msg "SQLi"]"#.to_string(),
            r#"{"transaction":{"messages":[{"details":{"id":"920350"}}]}} [id \"941100\"]"#.into(),
            r#"{"id": 4, "other": 1}"#.into(),
        ];
        let ids: Vec<u64> = ids_in_log_lines(&lines).into_iter().collect();
        assert_eq!(ids, vec![4, 920350, 941100, 942100]);
    }

    #[test]
    fn filters_like_go_ftw() {
        let f = Filter::new(Some("^9201"), None).unwrap();
        assert!(f.selects("920100-1") && !f.selects("930100-1"));
        let f = Filter::new(None, Some("-4$")).unwrap();
        assert!(!f.selects("920100-4") && f.selects("920100-5"));
        let f = Filter::new(Some("920100-4"), Some("920100")).unwrap();
        assert!(f.selects("920100-4"));
        assert!(Filter::new(Some("("), None).is_err());
    }
}
