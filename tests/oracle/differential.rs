//! The differential test against the real libmodsecurity: every CRS 4.28 go-ftw regression stage
//! (or every k-th one) goes through Sekisho's engine and through libmodsecurity (one `txn`
//! process over all the requests, `tests/oracle/txn.sh`), and both must give the same status and
//! the same set of logged rule ids.
//!
//! Shared by `tests/tests/differential_libmodsecurity.rs` (a sample, in `cargo test`) and the
//! `libmodsecurity-differential` example (the full run, release build, from
//! `scripts/check-crs.sh`); both include this file with `#[path]`.
//!
//! The two drivers are the same: crs-test's [`SekishoEngine`] drives Sekisho the way the nginx
//! connector drives libmodsecurity (connection 127.0.0.1:40000 → 127.0.0.1:80, URI, headers,
//! body, response headers, response body, logging; after an interruption only logging runs), and
//! each request file says `stop_on_disruption: 1`, `client: 127.0.0.1 40000`,
//! `server: 127.0.0.1 80` and always has both body markers (Sekisho's adapter always appends the
//! request and the response body, even when empty). The backend response (albedo's) is computed
//! up front, as libmodsecurity only sees it through the request file. The status is the first
//! disruptive intervention's before the logging step (a logging-phase intervention cannot change
//! what the client got), else the backend's; the logged ids are txn's `ids` (every `[id "N"]` in
//! the log callback's messages and the intervention logs), which is what go-ftw reads too.
//!
//! Each stage is judged by crs-test's runner for both engines, so a difference is classified:
//! (a) Sekisho passes CRS's expectation and libmodsecurity does not: CRS wins, and the case must
//! be listed in `tests/expected_failures.txt` (suite `libmodsecurity-differential`); (b) a
//! difference that the behaviour those (a) cases mandate explains entirely, on a stage CRS does
//! not check it on (see [`Deviation`]: 980170 logged despite `noauditlog`, no REQUEST_BODY for an
//! XML body, no 942131 from half a chain) is excused and counted; (c) anything else is a Sekisho
//! bug and fails. On CRS 3.3.4 (driven with CRS 4.28's inputs, whose expectations are not 3.3.4's)
//! only (b) and (c) apply.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crs_test::sekisho::SekishoEngine;
use crs_test::{
    albedo, build_wire, crs_test_config, parse_request, run_stage, Engine, Outcome, Request,
    Response, ServerView, StageReport, TestFile, CRS_TEST_PREAMBLE,
};

/// The suite name in `tests/expected_failures.txt`.
pub const SUITE: &str = "libmodsecurity-differential";

/// Debian's CRS 3.3.4.
pub const DEBIAN_CRS_SETUP: &str = "/etc/modsecurity/crs/crs-setup.conf";
pub const DEBIAN_CRS_RULES: &str = "/usr/share/modsecurity-crs/rules";

/// One rule set to compare on.
pub struct RuleSetUnderTest {
    /// `4.28` or `3.3.4`; prefixes the case names of every set but 4.28.
    pub name: &'static str,
    /// The configuration text both engines load.
    pub config: String,
    /// Where relative paths (`.data` files) resolve from, for Sekisho.
    pub dir: PathBuf,
    /// `wheel` or `debian`: which libmodsecurity (`txn.sh --lib`).
    pub lib: &'static str,
    /// The rule files the configuration includes (scanned for [`Deviation`]s).
    pub files: Vec<PathBuf>,
}

impl RuleSetUnderTest {
    /// CRS 4.28 with the test configuration its regression suite expects (crs-test's
    /// [`crs_test_config`]), on libmodsecurity 3.0.15.
    pub fn crs_4_28(crs: &Path) -> RuleSetUnderTest {
        let mut files = vec![crs.join("crs-setup.conf.example")];
        files.extend(conf_files(&crs.join("rules")));
        RuleSetUnderTest {
            name: "4.28",
            config: crs_test_config(crs),
            dir: crs.to_path_buf(),
            lib: "wheel",
            files,
        }
    }

    /// Debian's CRS 3.3.4 (`/etc/modsecurity/crs/crs-setup.conf`, then
    /// `/usr/share/modsecurity-crs/rules/*.conf` in name order) behind the same preamble, whose
    /// rule 900005 sets CRS 3's name for the paranoia level (`tx.paranoia_level=4`; CRS 3.3's own
    /// regression README gives the same 900005 with that name). REQUEST-910-IP-REPUTATION.conf is
    /// left out on both sides: libmodsecurity 3.0.15 from the wheel has no GeoIP and refuses
    /// `@geoLookup`, and under the test settings (910000 removed, no country or RBL list
    /// configured) none of its rules can log. `None` when Debian's CRS is not installed.
    pub fn crs_3_3_4() -> Option<RuleSetUnderTest> {
        let rules = Path::new(DEBIAN_CRS_RULES);
        if !Path::new(DEBIAN_CRS_SETUP).is_file() || !rules.is_dir() {
            return None;
        }
        let files: Vec<PathBuf> = conf_files(rules)
            .into_iter()
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("REQUEST-910-"))
            })
            .collect();
        let preamble = CRS_TEST_PREAMBLE.replace(
            "setvar:tx.blocking_paranoia_level=4",
            "setvar:tx.paranoia_level=4",
        );
        assert_ne!(preamble, CRS_TEST_PREAMBLE, "900005 changed in crs-test");
        let mut config = format!(
            "{preamble}\n# --- Debian's CRS 3.3.4 (without REQUEST-910, see differential.rs) ---\n\
             Include {DEBIAN_CRS_SETUP}\n"
        );
        for f in &files {
            config.push_str(&format!("Include {}\n", f.display()));
        }
        let mut all = vec![PathBuf::from(DEBIAN_CRS_SETUP)];
        all.extend(files);
        Some(RuleSetUnderTest {
            name: "3.3.4",
            config,
            dir: rules.to_path_buf(),
            lib: "wheel",
            files: all,
        })
    }

    /// The case name: `RULE-TEST:STAGE`, prefixed with `crs-3.3.4/` for 3.3.4.
    fn case_name(&self, test: &str, stage: usize) -> String {
        if self.name == "4.28" {
            format!("{test}:{stage}")
        } else {
            format!("crs-{}/{test}:{stage}", self.name)
        }
    }
}

/// `DIR/*.conf`, sorted by name.
fn conf_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Sekisho's deliberate departures from libmodsecurity: each one is what CRS's own tests demand
/// where libmodsecurity contradicts them (its `anchors`, which are listed (a) cases). A
/// difference they explain entirely is excused, on every stage: the anchors show the behaviour
/// on the stages CRS checks it, and the other stages differ for the same reason, unchecked.
pub struct Deviation {
    pub name: &'static str,
    /// The (a) cases (CRS 4.28) that mandate it; they must be listed in the suite.
    pub anchors: &'static [&'static str],
    pub what: &'static str,
}

pub const NOAUDITLOG: Deviation = Deviation {
    name: "noauditlog-error-log",
    anchors: &["980170-1:0", "980170-2:0"],
    what: "libmodsecurity writes no error-log line for a rule with `noauditlog` (CRS 4.28's 980170,            logged on every request); CRS 980170-1/2 expect the line, Sekisho writes it: ids of            noauditlog rules logged by Sekisho only",
};

pub const XML_REQUEST_BODY: Deviation = Deviation {
    name: "xml-request-body",
    anchors: &[
        "944100-11:0", "944100-12:0", "944100-15:0", "944100-16:0", "944110-11:0",
        "944110-12:0", "944110-15:0", "944110-16:0", "944120-6:0", "944120-7:0",
        "944210-6:0", "944210-7:0",
    ],
    what: "libmodsecurity fills REQUEST_BODY for an XML body, so rules on REQUEST_BODY (920273,            944xxx...) match its raw text; CRS 944100-11 etc. expect no match, Sekisho leaves            REQUEST_BODY empty for the XML processor: on an XML request, ids of REQUEST_BODY rules            and of the inbound blocking evaluation (949110/949111) logged by libmodsecurity only",
};

pub const CHAIN_LOG_942131: Deviation = Deviation {
    name: "chain-start-log-942131",
    anchors: &["942131-3:0", "942131-5:0", "942131-7:0"],
    what: "libmodsecurity logs 942131 when the first rule of its chain matches and the chain            does not (CRS: \"v3 log bug, the first part of the chain always produces a log\");            CRS 942131-3/5/7 expect no 942131, Sekisho logs a chain only when it matches: 942131            logged by libmodsecurity only",
};

pub const DEVIATIONS: &[&Deviation] = &[&NOAUDITLOG, &XML_REQUEST_BODY, &CHAIN_LOG_942131];

/// What the deviations need to know about a rule set: the ids of rules with `noauditlog`, and
/// of rules (chains) with REQUEST_BODY among their variables. A plain text scan of the rule
/// files: continuation lines joined; a chain's links count for the id of its first rule.
#[derive(Debug, Default)]
pub struct RuleFacts {
    pub noauditlog: BTreeSet<u64>,
    pub request_body: BTreeSet<u64>,
}

impl RuleFacts {
    pub fn scan(files: &[PathBuf]) -> RuleFacts {
        let mut facts = RuleFacts::default();
        for f in files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            let mut logical = Vec::new();
            let mut cur = String::new();
            for line in text.lines() {
                let t = line.trim_end();
                if let Some(head) = t.strip_suffix('\\') {
                    cur.push_str(head);
                    cur.push(' ');
                } else {
                    cur.push_str(t);
                    logical.push(std::mem::take(&mut cur));
                }
            }
            let mut current: Option<u64> = None;
            for d in logical {
                let d = d.trim_start();
                let is_rule = d.starts_with("SecRule ");
                if !is_rule && !d.starts_with("SecAction ") {
                    continue;
                }
                if let Some(id) = rule_id(d) {
                    current = Some(id);
                }
                let Some(id) = current else { continue };
                if d.contains("noauditlog") {
                    facts.noauditlog.insert(id);
                }
                if is_rule {
                    let vars = d["SecRule ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("");
                    let mut rest = vars;
                    while let Some(p) = rest.find("REQUEST_BODY") {
                        let after = &rest[p + "REQUEST_BODY".len()..];
                        if !after.starts_with('_') {
                            facts.request_body.insert(id);
                            break;
                        }
                        rest = after;
                    }
                }
            }
        }
        facts
    }
}

/// The `id:N` of a directive's actions.
fn rule_id(d: &str) -> Option<u64> {
    let p = d.find("id:")?;
    if p > 0 && d.as_bytes()[p - 1].is_ascii_alphanumeric() {
        return None;
    }
    let digits: String = d[p + 3..]
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// CRS's XML body processor switch (recommended rule 200000's Content-Type test).
fn is_xml(req: &Request) -> bool {
    let Some(ct) = req.header("Content-Type") else {
        return false;
    };
    let ct = String::from_utf8_lossy(ct).to_ascii_lowercase();
    ["application/xml", "application/soap+xml", "text/xml"]
        .iter()
        .any(|p| ct.starts_with(p))
}

/// The deviations that explain `d` entirely, or `None` when some of it stays unexplained.
pub fn explain(d: &Difference, facts: &RuleFacts) -> Option<Vec<&'static str>> {
    if d.sekisho.status != d.libmodsecurity.status {
        return None;
    }
    let (only_s, only_l) = d.id_diff();
    let mut used = BTreeSet::new();
    for id in only_s {
        if facts.noauditlog.contains(&id) {
            used.insert(NOAUDITLOG.name);
        } else {
            return None;
        }
    }
    for id in only_l {
        if id == 942131 {
            used.insert(CHAIN_LOG_942131.name);
        } else if is_xml(&d.request)
            && (facts.request_body.contains(&id) || id == 949110 || id == 949111)
        {
            used.insert(XML_REQUEST_BODY.name);
        } else {
            return None;
        }
    }
    Some(used.into_iter().collect())
}

/// One stage the web server passes to the WAF.
pub struct StageCase<'a> {
    pub case: String,
    pub rule_id: u64,
    pub stage: &'a crs_test::Stage,
    pub req: Request,
    pub resp: Response,
}

/// What one engine did on one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// None: the client got no HTTP response.
    pub status: Option<u16>,
    pub ids: BTreeSet<u64>,
    /// Whether the stage passes CRS's expectation.
    pub passes: bool,
}

impl Verdict {
    fn of(r: &StageReport) -> Verdict {
        Verdict {
            status: r.status,
            ids: r.logged_ids.clone(),
            passes: r.passed,
        }
    }
}

/// One stage where the engines disagree.
#[derive(Debug, Clone)]
pub struct Difference {
    pub case: String,
    pub rule_id: u64,
    pub sekisho: Verdict,
    pub libmodsecurity: Verdict,
    pub request: Request,
}

impl Difference {
    /// (a) in the module docs: libmodsecurity breaks CRS's expectation, Sekisho meets it.
    pub fn crs_wins(&self) -> bool {
        self.sekisho.passes && !self.libmodsecurity.passes
    }

    /// The rule ids one engine logged and the other did not (empty when only the status differs).
    pub fn id_diff(&self) -> (Vec<u64>, Vec<u64>) {
        let only_s = self
            .sekisho
            .ids
            .difference(&self.libmodsecurity.ids)
            .copied()
            .collect();
        let only_l = self
            .libmodsecurity
            .ids
            .difference(&self.sekisho.ids)
            .copied()
            .collect();
        (only_s, only_l)
    }

    pub fn describe(&self) -> String {
        let (only_s, only_l) = self.id_diff();
        let st = |v: &Verdict| {
            v.status
                .map_or("no response".to_string(), |s| s.to_string())
        };
        format!(
            "{}: status sekisho {} / libmodsecurity {}; ids only sekisho {:?}, only libmodsecurity {:?}; CRS expectation: sekisho {}, libmodsecurity {}\n    request: {} {} HTTP/{} headers {:?} body {:?}",
            self.case,
            st(&self.sekisho),
            st(&self.libmodsecurity),
            only_s,
            only_l,
            if self.sekisho.passes { "pass" } else { "FAIL" },
            if self.libmodsecurity.passes { "pass" } else { "FAIL" },
            self.request.method,
            String::from_utf8_lossy(&self.request.uri),
            self.request.version,
            self.request
                .headers
                .iter()
                .map(|(n, v)| format!(
                    "{}: {}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                ))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&self.request.body[..self.request.body.len().min(300)]),
        )
    }
}

/// The result of a comparison.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Stages compared (run through both engines).
    pub compared: usize,
    /// Stages not compared: the web server rejects the request before any WAF, or go-ftw
    /// cannot build it.
    pub not_run: usize,
    /// Stages whose request cannot be written as a txn request file (none in CRS 4.28).
    pub unrepresentable: Vec<String>,
    pub differences: Vec<Difference>,
    /// The case names of the stages compared.
    pub ran: BTreeSet<String>,
    /// Whether every stage was selected (not a sample).
    pub full: bool,
    /// The rule set's name (`4.28`, `3.3.4`).
    pub set: String,
    /// What the deviations need to know about the rules.
    pub facts: RuleFacts,
    /// Distinct requests sent to libmodsecurity, and the wall time of the txn runs.
    pub oracle_requests: usize,
    pub oracle_seconds: f64,
    pub sekisho_seconds: f64,
}

/// The stages `pick` keeps: it gets the case name (`RULE-TEST:STAGE`) and the stage's 0-based
/// position among all stages of all tests, in file order.
pub fn stage_cases<'a>(
    set: &RuleSetUnderTest,
    files: &'a [TestFile],
    pick: &dyn Fn(&str, usize) -> bool,
    not_run: &mut usize,
) -> Vec<StageCase<'a>> {
    let mut out = Vec::new();
    let mut n = 0usize;
    for f in files {
        for t in &f.tests {
            for (i, s) in t.stages.iter().enumerate() {
                n += 1;
                if !pick(&format!("{}:{i}", t.id_string()), n - 1) {
                    continue;
                }
                let req = match build_wire(&s.input).map(|w| parse_request(&w).view) {
                    Ok(ServerView::Request(r)) | Ok(ServerView::Http09(r)) => r,
                    _ => {
                        *not_run += 1;
                        continue;
                    }
                };
                let resp = albedo(&req);
                out.push(StageCase {
                    case: set.case_name(&t.id_string(), i),
                    rule_id: t.rule_id,
                    stage: s,
                    req,
                    resp,
                });
            }
        }
    }
    out
}

/// Why a request cannot be written as a txn request file (its format is line based), if so.
fn unrepresentable(req: &Request, resp: &Response) -> Option<String> {
    let bad_line = |v: &[u8]| v.contains(&b'\n') || v.ends_with(b"\r");
    let lead_ws = |v: &[u8]| v.first().is_some_and(|c| *c == b' ' || *c == b'\t');
    if bad_line(req.method.as_bytes()) || lead_ws(req.method.as_bytes()) || req.method.is_empty() {
        return Some("method".into());
    }
    if bad_line(&req.uri) || lead_ws(&req.uri) || req.uri.is_empty() {
        return Some("uri".into());
    }
    if bad_line(req.version.as_bytes()) || req.version.is_empty() {
        return Some("version".into());
    }
    for (n, v) in req.headers.iter().chain(&resp.headers) {
        if bad_line(n) || bad_line(v) || n.contains(&b':') || lead_ws(n) || lead_ws(v) {
            return Some(format!("header {:?}", String::from_utf8_lossy(n)));
        }
    }
    let marker_line = |b: &[u8], m: &[u8]| {
        b.starts_with(m) && (b.len() == m.len() || b[m.len()] == b'\n')
            || b.windows(m.len() + 2)
                .any(|w| w[0] == b'\n' && &w[1..=m.len()] == m && w[m.len() + 1] == b'\n')
            || b.ends_with(&[b"\n", m].concat())
    };
    if marker_line(&req.body, b"--response-body--") {
        return Some("request body holds a --response-body-- line".into());
    }
    None
}

/// A txn request file (format: tests/oracle/txn.c), driven as [`SekishoEngine`] drives Sekisho.
pub fn request_file(req: &Request, resp: &Response) -> Vec<u8> {
    let mut f = Vec::new();
    let mut line = |k: &str, v: &[u8]| {
        f.extend_from_slice(k.as_bytes());
        f.extend_from_slice(b": ");
        f.extend_from_slice(v);
        f.push(b'\n');
    };
    line("client", b"127.0.0.1 40000");
    line("server", b"127.0.0.1 80");
    line("stop_on_disruption", b"1");
    line("method", req.method.as_bytes());
    line("uri", &req.uri);
    line("version", req.version.as_bytes());
    for (n, v) in &req.headers {
        line("header", &[n.as_slice(), b": ", v.as_slice()].concat());
    }
    line("status", resp.status.to_string().as_bytes());
    line("protocol", b"HTTP/1.1");
    for (n, v) in &resp.headers {
        line(
            "response_header",
            &[n.as_slice(), b": ", v.as_slice()].concat(),
        );
    }
    // Both markers always: SekishoEngine appends both bodies, empty or not. A body is followed
    // by one "\n", which txn drops.
    f.extend_from_slice(b"--request-body--\n");
    f.extend_from_slice(&req.body);
    f.push(b'\n');
    f.extend_from_slice(b"--response-body--\n");
    f.extend_from_slice(&resp.body);
    f.push(b'\n');
    f
}

/// txn prints every byte >= 0x80 as \u00XX: map the code points back to bytes.
fn latin1(s: &str) -> String {
    let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Can `txn.sh --lib LIB` run here? `Err` says why not.
pub fn oracle_available(lib: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("sekisho-diff-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let rules = dir.join("rules.conf");
    let req = dir.join("r.txt");
    std::fs::write(&rules, "SecRuleEngine On\n").map_err(|e| e.to_string())?;
    std::fs::write(&req, "uri: /\n").map_err(|e| e.to_string())?;
    let out = Command::new(txn_sh())
        .args(["--lib", lib])
        .arg(&rules)
        .arg(&req)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "tests/oracle/txn.sh --lib {lib} exited with {}: {}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout).trim(),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run tests/oracle/txn.sh: {e}")),
    }
}

fn txn_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle/txn.sh")
}

/// Runs the requests through libmodsecurity: one txn process per chunk of request files.
/// Returns, per request, the outcome txn reports (status: first disruptive intervention before
/// the logging step, else the backend's).
fn run_oracle(
    set: &RuleSetUnderTest,
    requests: &[(&Request, &Response)],
) -> Result<Vec<Outcome>, String> {
    let tmp = std::env::temp_dir().join(format!(
        "sekisho-differential-{}-{}",
        set.name,
        std::process::id()
    ));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let result = (|| {
        let rules = tmp.join("rules.conf");
        std::fs::write(&rules, &set.config).map_err(|e| e.to_string())?;
        let mut paths = Vec::with_capacity(requests.len());
        for (i, (req, resp)) in requests.iter().enumerate() {
            let p = tmp.join(format!("r{i}"));
            std::fs::write(&p, request_file(req, resp)).map_err(|e| e.to_string())?;
            paths.push(p);
        }
        let mut outcomes: Vec<Option<Outcome>> = vec![None; requests.len()];
        // argv: ~40 bytes a path; 2000 of them stay far below ARG_MAX.
        for chunk in paths.chunks(2000) {
            let out = Command::new(txn_sh())
                .args(["--lib", set.lib])
                .arg(&rules)
                .args(chunk)
                .output()
                .map_err(|e| format!("cannot run txn.sh: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "txn.sh --lib {} failed ({}): {}\n{}",
                    set.lib,
                    out.status,
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .filter(|l| !l.starts_with('{'))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if line.starts_with('#') || line.is_empty() {
                    continue;
                }
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| format!("txn JSON: {e}: {line}"))?;
                let file = v["file"].as_str().ok_or("txn JSON without file")?;
                let i: usize = file
                    .rsplit('/')
                    .next()
                    .and_then(|n| n.strip_prefix('r'))
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("unexpected file name {file}"))?;
                let status = v["interventions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|iv| iv["disruptive"].as_i64() == Some(1) && iv["step"] != "logging")
                    .and_then(|iv| iv["status"].as_u64())
                    .map_or(requests[i].1.status, |s| s as u16);
                let ids = v["ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_u64())
                    .collect();
                let log_lines = v["log"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .chain(
                        v["interventions"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|iv| &iv["log"]),
                    )
                    .filter_map(|x| x.as_str().map(latin1))
                    .collect();
                outcomes[i] = Some(Outcome {
                    status,
                    logged_ids: ids,
                    log_lines,
                });
            }
        }
        outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| o.ok_or_else(|| format!("txn printed nothing for request {i}")))
            .collect()
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// An engine that answers with libmodsecurity's recorded outcome.
struct Recorded<'a>(&'a HashMap<&'a Request, Outcome>);

impl Engine for Recorded<'_> {
    fn run(&self, req: &Request, resp_for: &dyn Fn(&Request) -> Response) -> Outcome {
        let o = self.0.get(req).cloned().unwrap_or_default();
        // Keep the runner's view of the backend (it renders albedo's response when the status
        // is the backend's).
        if o.status == albedo(req).status {
            let _ = resp_for(req);
        }
        o
    }
}

/// Compares Sekisho and libmodsecurity on every stage of `files`.
pub fn compare(set: &RuleSetUnderTest, files: &[TestFile]) -> Result<Comparison, String> {
    compare_selected(set, files, &|_, _| true, true)
}

/// A deterministic sample: every `every`-th stage (the 1st, the `every+1`-th...), plus the
/// stages named in `always` (the listed cases, so that they are always checked).
pub fn compare_sample(
    set: &RuleSetUnderTest,
    files: &[TestFile],
    every: usize,
    always: &BTreeSet<String>,
) -> Result<Comparison, String> {
    let every = every.max(1);
    compare_selected(
        set,
        files,
        &|case, n| n % every == 0 || always.contains(case),
        every == 1,
    )
}

/// [`compare`] on the stages `pick` keeps (see [`stage_cases`]); `full` says whether that is
/// every stage (for stale entries).
pub fn compare_selected(
    set: &RuleSetUnderTest,
    files: &[TestFile],
    pick: &dyn Fn(&str, usize) -> bool,
    full: bool,
) -> Result<Comparison, String> {
    let mut cmp = Comparison {
        full,
        set: set.name.to_string(),
        facts: RuleFacts::scan(&set.files),
        ..Comparison::default()
    };
    let all = stage_cases(set, files, pick, &mut cmp.not_run);
    let mut cases = Vec::with_capacity(all.len());
    for c in all {
        match unrepresentable(&c.req, &c.resp) {
            Some(why) => cmp.unrepresentable.push(format!("{}: {why}", c.case)),
            None => cases.push(c),
        }
    }

    let mut rules = waf_core::RuleSet::from_text("differential.conf", &set.config, Some(&set.dir))
        .map_err(|e| format!("Sekisho cannot load CRS {}:\n{e}", set.name))?;
    // judged against CRS's expectations, which follow ModSecurity v2's logging (980170): the
    // deviation NOAUDITLOG below lists what that changes against libmodsecurity
    rules.set_noauditlog_hides_rule(false);
    let engine = SekishoEngine::new(Arc::new(rules));

    // libmodsecurity, once per distinct request.
    let mut distinct: Vec<(&Request, &Response)> = Vec::new();
    let mut seen: HashMap<&Request, usize> = HashMap::new();
    for c in &cases {
        seen.entry(&c.req).or_insert_with(|| {
            distinct.push((&c.req, &c.resp));
            distinct.len() - 1
        });
    }
    cmp.oracle_requests = distinct.len();
    let t = std::time::Instant::now();
    let outcomes = run_oracle(set, &distinct)?;
    cmp.oracle_seconds = t.elapsed().as_secs_f64();
    let recorded: HashMap<&Request, Outcome> =
        distinct.iter().map(|(r, _)| *r).zip(outcomes).collect();
    let oracle = Recorded(&recorded);

    let t = std::time::Instant::now();
    for c in &cases {
        let s = Verdict::of(&run_stage(&engine, c.stage));
        let l = Verdict::of(&run_stage(&oracle, c.stage));
        cmp.compared += 1;
        cmp.ran.insert(c.case.clone());
        if s.status != l.status || s.ids != l.ids {
            cmp.differences.push(Difference {
                case: c.case.clone(),
                rule_id: c.rule_id,
                sekisho: s,
                libmodsecurity: l,
                request: c.req.clone(),
            });
        }
    }
    cmp.sekisho_seconds = t.elapsed().as_secs_f64();
    Ok(cmp)
}

/// Differences grouped by the rule ids that differ (the status, when only it differs).
pub fn by_rule(diffs: &[Difference]) -> BTreeMap<String, Vec<&Difference>> {
    let mut m: BTreeMap<String, Vec<&Difference>> = BTreeMap::new();
    for d in diffs {
        let (a, b) = d.id_diff();
        let mut keys: BTreeSet<String> = a
            .iter()
            .map(|id| format!("{id} (only sekisho)"))
            .chain(b.iter().map(|id| format!("{id} (only libmodsecurity)")))
            .collect();
        if d.sekisho.status != d.libmodsecurity.status {
            keys.insert("status".into());
        }
        for k in keys {
            m.entry(k).or_default().push(d);
        }
    }
    m
}

/// Whether a listed case belongs to the rule set `set` (`crs-3.3.4/...` for 3.3.4, unprefixed
/// for 4.28).
pub fn case_of_set(case: &str, set: &str) -> bool {
    match case.strip_prefix("crs-") {
        Some(rest) => rest.starts_with(&format!("{set}/")),
        None => set == "4.28",
    }
}

/// The verdict over a comparison.
#[derive(Debug, Default)]
pub struct Judgement {
    /// Unlisted differences no deviation explains (Sekisho bugs), (a) cases not listed, listed
    /// cases that are not (a) cases, stale entries.
    pub problems: Vec<String>,
    /// Listed (a) differences.
    pub listed: usize,
    /// Differences explained by deviations, per deviation name (a stage may count for several).
    pub excused: BTreeMap<&'static str, usize>,
    /// Stages excused by deviations.
    pub excused_stages: usize,
    /// The unexplained differences (Sekisho bugs).
    pub bugs: Vec<String>,
}

/// Judges a comparison against the listed cases. A listed case of this rule set is stale when it
/// ran and both engines agreed, or, in a full run, when no such stage exists.
pub fn judge(cmp: &Comparison, listed: &BTreeMap<String, String>) -> Judgement {
    let mut j = Judgement::default();
    let differing: BTreeSet<&str> = cmp.differences.iter().map(|d| d.case.as_str()).collect();
    // CRS's expectations are CRS 4.28's: on another rule set a stage's pass/fail says nothing
    // about that set, so there every difference must be explained by a deviation.
    let judged_by_crs = cmp.set == "4.28";
    for d in &cmp.differences {
        // A known engine gap (reason marked "(engine gap", listed in the same file) is listed
        // whoever CRS agrees with: the difference is Sekisho's and is expected until fixed.
        let gap = listed
            .get(&d.case)
            .is_some_and(|r| r.contains("(engine gap"));
        match (listed.get(&d.case), gap || judged_by_crs && d.crs_wins()) {
            (Some(_), true) => j.listed += 1,
            (Some(reason), false) => j.problems.push(format!(
                "listed, but not a case where CRS wins (Sekisho bug?): {} (listed: {reason})",
                d.describe()
            )),
            (None, true) => j.problems.push(format!(
                "CRS wins over libmodsecurity, not listed in expected_failures.txt: {}",
                d.describe()
            )),
            (None, false) => match explain(d, &cmp.facts) {
                Some(devs) => {
                    j.excused_stages += 1;
                    for n in devs {
                        *j.excused.entry(n).or_default() += 1;
                    }
                }
                None => {
                    j.bugs.push(d.describe());
                    j.problems.push(format!("Sekisho bug: {}", d.describe()));
                }
            },
        }
    }
    for (case, reason) in listed.iter().filter(|(c, _)| case_of_set(c, &cmp.set)) {
        if cmp.ran.contains(case) && !differing.contains(case.as_str()) {
            j.problems.push(format!(
                "{case}: both engines agree now; remove it from expected_failures.txt ({reason})"
            ));
        } else if cmp.full && !cmp.ran.contains(case) {
            j.problems.push(format!(
                "{case}: no such stage was compared; remove it from expected_failures.txt ({reason})"
            ));
        }
    }
    if cmp.set == "4.28" {
        for dev in DEVIATIONS {
            for a in dev.anchors {
                if !listed.contains_key(*a) {
                    j.problems.push(format!(
                        "deviation {}: its anchor {a} is not listed in expected_failures.txt",
                        dev.name
                    ));
                }
            }
        }
    }
    j
}

/// Loads CRS 4.28's regression tests.
pub fn load_tests(crs: &Path) -> Vec<TestFile> {
    let (files, errors) = crs_test::load_test_dir(&crs.join("tests/regression/tests"))
        .unwrap_or_else(|e| panic!("cannot read CRS 4.28's tests: {e}"));
    assert!(
        errors.is_empty(),
        "CRS 4.28 test files do not parse: {errors:?}"
    );
    files
}
