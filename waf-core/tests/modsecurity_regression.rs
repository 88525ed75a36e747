//! ModSecurity's own regression cases (`../shared/modsecurity-tests/regression/*.json`) run
//! through Sekisho's engine the way ModSecurity's runner (`test/regression/regression.cc`)
//! drives libmodsecurity: load the rules, then one transaction through every step, calling
//! `intervention()` after each and carrying on after a disruption.
//!
//! Judged: `http_code`, `error_log` (a regex over the log lines and intervention logs) and
//! `parser_error` (the load must fail). Not judged: `debug_log` (libmodsecurity's internal
//! debug text) and `audit_log`. Cases with only a `debug_log` expectation are counted apart.
//! Cases listed in `tests/expected_failures.txt` (suite `modsecurity-regression`) are expected
//! to fail, each for its reason; a listed case that passes fails the test (stale entry).

use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use waf_core::{RuleSet, Transaction};

const SUITE: &str = "modsecurity-regression";

/// PCRE-ish expectation regexes, DOTALL|MULTILINE like ModSecurity's runner.
fn expectation(re: &str) -> Option<Regex> {
    Regex::builder()
        .syntax(
            syntax::Config::new()
                .dot_matches_new_line(true)
                .multi_line(true),
        )
        .build(re)
        .ok()
}

fn body(v: &Value) -> Vec<u8> {
    match v.as_array() {
        Some(lines) => {
            let mut out = Vec::new();
            for l in lines {
                out.extend_from_slice(l.as_str().unwrap_or("").as_bytes());
                out.push(b'\n');
            }
            out
        }
        None => Vec::new(),
    }
}

/// A JSON value read with its objects' keys in the file's order: serde_json's `Value` sorts
/// them, and the order of the headers is the order ModSecurity's runner adds them in (which
/// moves every later header's offset in `[ref]`).
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    String(String),
    Other,
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
        d.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> serde::de::Visitor<'de> for OrderedVisitor {
    type Value = Ordered;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_str<E>(self, s: &str) -> Result<Ordered, E> {
        Ok(Ordered::String(s.to_string()))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
        let mut out = Vec::new();
        while let Some(x) = a.next_element()? {
            out.push(x);
        }
        Ok(Ordered::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
        let mut out = Vec::new();
        while let Some(entry) = a.next_entry::<String, Ordered>()? {
            out.push(entry);
        }
        Ok(Ordered::Object(out))
    }
}

impl Ordered {
    fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Object(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A case's `request`/`response` headers, in the file's order.
fn headers(case: Option<&Ordered>, part: &str) -> Vec<(String, String)> {
    match case
        .and_then(|c| c.get(part))
        .and_then(|p| p.get("headers"))
    {
        Some(Ordered::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Ordered::String(s) => s.clone(),
                    _ => String::new(),
                };
                (k.clone(), v)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Runs one case; `Ok(())` when every judged expectation holds.
fn run_case(
    case: &Value,
    ordered: Option<&Ordered>,
    json_name: &str,
    dir: &Path,
) -> Result<(), String> {
    let rules_text = case["rules"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let expected = &case["expected"];
    let parser_error = expected["parser_error"].as_str().unwrap_or("");
    let rules = match RuleSet::from_text(json_name, &rules_text, Some(dir)) {
        Ok(r) => r,
        Err(e) => {
            return if parser_error.is_empty() {
                Err(format!("rules refused: {e}"))
            } else {
                Ok(())
            }
        }
    };
    if !parser_error.is_empty() {
        return Err(format!(
            "rules loaded, but ModSecurity refuses them: {parser_error}"
        ));
    }
    let log = Arc::new(Mutex::new(String::new()));
    let mut tx = Transaction::new(Arc::new(rules));
    let sink = Arc::clone(&log);
    tx.on_log(move |line| {
        let mut l = sink.lock().unwrap();
        l.push_str(line);
        l.push('\n');
    });
    let mut status: u16 = 200;
    let check = |tx: &mut Transaction, status: &mut u16| {
        if let Some(it) = tx.intervention() {
            if it.status != 0 {
                *status = it.status;
            }
            if let Some(l) = it.log {
                let mut g = log.lock().unwrap();
                g.push_str(&l);
                g.push('\n');
            }
        }
    };
    let client = &case["client"];
    let server = &case["server"];
    tx.process_connection(
        client["ip"].as_str().unwrap_or(""),
        client["port"].as_u64().unwrap_or(0) as u16,
        server["ip"].as_str().unwrap_or(""),
        server["port"].as_u64().unwrap_or(0) as u16,
    );
    check(&mut tx, &mut status);
    if let Some(h) = server["hostname"].as_str() {
        tx.set_request_hostname(h);
    }
    let req = &case["request"];
    let version = match &req["http_version"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    };
    tx.process_uri(
        req["uri"].as_str().unwrap_or("").as_bytes(),
        req["method"].as_str().unwrap_or("").as_bytes(),
        version.as_bytes(),
    );
    check(&mut tx, &mut status);
    for (k, v) in headers(ordered, "request") {
        tx.add_request_header(k.as_bytes(), v.as_bytes());
    }
    tx.process_request_headers();
    check(&mut tx, &mut status);
    tx.append_request_body(&body(&req["body"]));
    check(&mut tx, &mut status);
    tx.process_request_body();
    check(&mut tx, &mut status);
    let resp = &case["response"];
    for (k, v) in headers(ordered, "response") {
        tx.add_response_header(k.as_bytes(), v.as_bytes());
    }
    let protocol = resp["protocol"].as_str().unwrap_or("").to_string();
    tx.process_response_headers(status, protocol.as_bytes());
    check(&mut tx, &mut status);
    tx.append_response_body(&body(&resp["body"]));
    check(&mut tx, &mut status);
    tx.process_response_body();
    check(&mut tx, &mut status);
    tx.process_logging();
    check(&mut tx, &mut status);

    let want_code = expected["http_code"].as_u64().unwrap_or(200) as u16;
    if status != want_code {
        return Err(format!("http_code {status}, expected {want_code}"));
    }
    if let Some(re) = expected["error_log"].as_str().filter(|s| !s.is_empty()) {
        let Some(r) = expectation(re) else {
            return Err(format!(
                "cannot compile the expected error_log regex {re:?}"
            ));
        };
        let l = log.lock().unwrap();
        if !r.is_match(l.as_bytes()) {
            return Err(format!("error_log does not match {re:?}; log was:\n{l}"));
        }
    }
    Ok(())
}

#[test]
fn modsecurity_regression_cases() {
    let Some(shared) = sekisho_tests::shared_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared is required in CI"
        );
        eprintln!("skipped: no ../shared beside the repository");
        return;
    };
    let suite = shared.join("modsecurity-tests");
    let dir = std::env::temp_dir().join(format!("sekisho-regress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("test-cases");
    if !link.exists() {
        std::os::unix::fs::symlink(&suite, &link).unwrap();
    }
    let expected = sekisho_tests::expected_failures(SUITE);
    let mut files: Vec<PathBuf> = std::fs::read_dir(suite.join("regression"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut passed, mut listed, mut debug_only, mut resource) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        let ordered = match serde_json::from_str::<Ordered>(&text).unwrap() {
            Ordered::Array(cases) => cases,
            _ => Vec::new(),
        };
        for (i, case) in json.as_array().unwrap().iter().enumerate() {
            let id = format!("{name}:{i}");
            let e = &case["expected"];
            let judged = e.get("http_code").is_some()
                || e["error_log"].as_str().is_some_and(|s| !s.is_empty())
                || e["parser_error"].as_str().is_some_and(|s| !s.is_empty());
            if !judged {
                debug_only += 1;
                continue;
            }
            if case
                .get("resource")
                .is_some_and(|r| r != "geoip-or-maxmind")
            {
                resource += 1;
                continue;
            }
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_case(case, ordered.get(i), &name, &dir)
            }))
            .unwrap_or_else(|_| Err("panicked".to_string()));
            match (outcome, expected.get(&id)) {
                (Ok(()), None) => passed += 1,
                (Err(_), Some(_)) => listed += 1,
                (Ok(()), Some(reason)) => wrong.push(format!(
                    "{id}: passes now; remove it from expected_failures.txt ({reason})"
                )),
                (Err(why), None) => wrong.push(format!("{id} ({}): {why}", case["title"])),
            }
        }
    }
    eprintln!(
        "judged: {} cases; {debug_only} only judged by ModSecurity's debug log and {resource} needing Lua/libxml2/ssdeep/curl not run",
        passed + listed + wrong.len()
    );
    println!("{passed} passed, {} failed", wrong.len() + listed);
    assert!(
        wrong.is_empty(),
        "{} unexpected results:\n{}",
        wrong.len(),
        wrong.join("\n\n")
    );
}
