//! CRS's go-ftw suite through the real libmodsecurity, judged by this crate: a reference for
//! what a faithful engine scores, and an example [`Engine`].
//!
//! Needs the repository's oracle harness (`tests/oracle/txn.sh`: gcc, pkg-config,
//! libmodsecurity-dev, and for `wheel` the PyPI package `libmodsecurity`) and the shared CRS 4.28.
//!
//! ```text
//! cargo run -p crs-test --example libmodsecurity_oracle -- [debian|wheel] [INCLUDE_REGEX]
//! ```
//!
//! Every selected stage is turned into a request (and albedo's response) first; all of them go
//! through libmodsecurity in one `txn` process, with [`crs_test_config`] loaded; then the
//! runner replays the stages against an engine that answers from those results.
//! libmodsecurity only sees a response through the `txn` request file, so the response is
//! computed up front with [`albedo`] (in DetectionOnly no request phase interrupts, so the
//! order makes no difference).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crs_test::{
    albedo, build_wire, crs_test_config, load_overrides, load_test_dir, parse_request, run_files,
    Engine, Filter, Outcome, Overrides, Request, Response, ServerView,
};

#[derive(Default, Clone)]
struct TxnResult {
    interventions: Vec<u16>,
    ids: Vec<u64>,
    log: Vec<String>,
}

struct Oracle {
    results: HashMap<Request, TxnResult>,
}

impl Engine for Oracle {
    fn run(&self, req: &Request, resp_for: &dyn Fn(&Request) -> Response) -> Outcome {
        let r = self.results.get(req).cloned().unwrap_or_default();
        let status = match r.interventions.first() {
            Some(&s) => s,
            None => resp_for(req).status,
        };
        Outcome {
            status,
            logged_ids: r.ids.into_iter().collect(),
            log_lines: r.log,
        }
    }
}

/// A `txn` request file (format: tests/oracle/txn.c).
fn request_file(req: &Request, resp: &Response) -> Vec<u8> {
    let mut f = Vec::new();
    let mut line = |k: &str, v: &[u8]| {
        f.extend_from_slice(k.as_bytes());
        f.extend_from_slice(b": ");
        f.extend_from_slice(v);
        f.push(b'\n');
    };
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
    if !req.body.is_empty() {
        f.extend_from_slice(b"--request-body--\n");
        f.extend_from_slice(&req.body);
        f.push(b'\n');
    }
    if !resp.body.is_empty() {
        f.extend_from_slice(b"--response-body--\n");
        f.extend_from_slice(&resp.body);
        f.push(b'\n');
    }
    f
}

/// txn prints every byte >= 0x80 as \u00XX: map the code points back to bytes.
fn latin1(s: &str) -> String {
    let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let lib = args.get(1).map(String::as_str).unwrap_or("wheel");
    let filter = Filter::new(args.get(2).map(String::as_str), None).expect("regexp");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let crs = crs_test::crs_dir().expect("CRS 4.28: ../shared or SEKISHO_SHARED");
    let (files, errors) = load_test_dir(&crs.join("tests/regression/tests")).unwrap();
    assert!(errors.is_empty(), "{errors:?}");

    let tmp = std::env::temp_dir().join(format!("crs-test-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let rules = tmp.join("rules.conf");
    std::fs::write(&rules, crs_test_config(&crs)).unwrap();

    // Every distinct request the server model passes to the WAF.
    let mut requests: Vec<Request> = Vec::new();
    let mut index: HashMap<Request, usize> = HashMap::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    for f in &files {
        for t in f.tests.iter().filter(|t| filter.selects(&t.id_string())) {
            for s in &t.stages {
                let Ok(wire) = build_wire(&s.input) else {
                    continue;
                };
                let req = match parse_request(&wire).view {
                    ServerView::Request(r) | ServerView::Http09(r) => r,
                    ServerView::Rejected { .. } => continue,
                };
                if index.contains_key(&req) {
                    continue;
                }
                let p = tmp.join(format!("r{}.txt", requests.len()));
                std::fs::write(&p, request_file(&req, &albedo(&req))).unwrap();
                index.insert(req.clone(), requests.len());
                requests.push(req);
                paths.push(p);
            }
        }
    }
    eprintln!(
        "{} distinct requests; running libmodsecurity ({lib})...",
        requests.len()
    );

    let mut results: HashMap<Request, TxnResult> = HashMap::new();
    for chunk in paths.chunks(1000) {
        let out = Command::new(repo.join("tests/oracle/txn.sh"))
            .arg("--lib")
            .arg(lib)
            .arg(&rules)
            .args(chunk)
            .output()
            .expect("tests/oracle/txn.sh runs");
        if !out.status.success() && out.status.code() != Some(1) {
            std::io::stderr().write_all(&out.stderr).unwrap();
            panic!("txn failed: {}", out.status);
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line).expect("txn JSON");
            let file = v["file"].as_str().unwrap();
            let i: usize = file.rsplit('/').next().unwrap()[1..]
                .trim_end_matches(".txt")
                .parse()
                .unwrap();
            let r = TxnResult {
                interventions: v["interventions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|i| i["disruptive"].as_i64() == Some(1))
                    .map(|i| i["status"].as_u64().unwrap() as u16)
                    .collect(),
                ids: v["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect(),
                log: v["log"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| latin1(x.as_str().unwrap()))
                    .collect(),
            };
            results.insert(requests[i].clone(), r);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);

    let oracle = Oracle { results };
    let nginx = load_overrides(&crs.join("tests/regression/nginx-overrides.yaml")).unwrap();
    let with_overrides = run_files(&oracle, &files, &filter, Overrides::ReplaceOutput(&nginx));
    let report = run_files(&oracle, &files, &filter, Overrides::Off);
    for l in report.failure_lines() {
        println!("{l}");
    }
    let (sp, sf) = report.stage_counts();
    println!("stages: {sp} passed, {sf} failed");
    println!(
        "with nginx-overrides.yaml applied as go-ftw does: {}",
        with_overrides.summary_line()
    );
    println!("{}", report.summary_line());
}
