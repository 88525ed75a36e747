//! Sekisho's engine ([`waf_core`]) as an [`Engine`]: one transaction per stage, driven the way
//! the nginx connector drives libmodsecurity (connection, URI, headers, body, response,
//! logging; after an interrupting intervention the request stops and only logging runs).
//! Logged ids come from the log callback's lines and the intervention's log line, as both end
//! up in the server's error log that go-ftw reads.

use crate::backend::Response;
use crate::request::Request;
use crate::runner::{ids_in_log_lines, Engine, Outcome};
use std::sync::{Arc, Mutex};
use waf_core::{RuleSet, Transaction};

/// A compiled rule set under test.
pub struct SekishoEngine {
    pub rules: Arc<RuleSet>,
}

impl SekishoEngine {
    pub fn new(rules: Arc<RuleSet>) -> SekishoEngine {
        SekishoEngine { rules }
    }
}

/// Takes a pending intervention: its status, and its log line into `log`.
fn interrupted(tx: &mut Transaction, log: &Mutex<Vec<String>>) -> Option<u16> {
    let it = tx.intervention()?;
    if let Some(l) = it.log {
        log.lock().unwrap_or_else(|e| e.into_inner()).push(l);
    }
    Some(it.status)
}

impl Engine for SekishoEngine {
    fn run(&self, req: &Request, resp_for: &dyn Fn(&Request) -> Response) -> Outcome {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tx = Transaction::new(Arc::clone(&self.rules));
        let sink = Arc::clone(&log);
        tx.on_log(move |line| {
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line.to_string())
        });
        let status = 'request: {
            tx.process_connection("127.0.0.1", 40000, "127.0.0.1", 80);
            if let Some(s) = interrupted(&mut tx, &log) {
                break 'request s;
            }
            tx.process_uri(&req.uri, req.method.as_bytes(), req.version.as_bytes());
            if let Some(s) = interrupted(&mut tx, &log) {
                break 'request s;
            }
            for (name, value) in &req.headers {
                tx.add_request_header(name, value);
            }
            tx.process_request_headers();
            if let Some(s) = interrupted(&mut tx, &log) {
                break 'request s;
            }
            tx.append_request_body(&req.body);
            if let Some(s) = interrupted(&mut tx, &log) {
                break 'request s;
            }
            tx.process_request_body();
            if let Some(s) = interrupted(&mut tx, &log) {
                break 'request s;
            }
            let resp = resp_for(req);
            for (name, value) in &resp.headers {
                tx.add_response_header(name, value);
            }
            tx.process_response_headers(resp.status, b"HTTP/1.1");
            if let Some(s) = interrupted(&mut tx, &log) {
                break 'request s;
            }
            tx.append_response_body(&resp.body);
            tx.process_response_body();
            if let Some(s) = interrupted(&mut tx, &log) {
                break 'request s;
            }
            resp.status
        };
        tx.process_logging();
        let _ = interrupted(&mut tx, &log);
        let log_lines = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
        Outcome {
            status,
            logged_ids: ids_in_log_lines(&log_lines),
            log_lines,
        }
    }
}
