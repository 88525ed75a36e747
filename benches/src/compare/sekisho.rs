//! Sekisho through its Rust API (`waf_core::{RuleSet, Transaction}`), driven exactly as
//! [`super::modsec`] drives libmodsecurity.

use super::engine::{Engine, Prepared, Sink, RESPONSE_HEADER};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use waf_core::{RuleSet, Transaction};

#[derive(Default)]
pub struct Sekisho {
    rules: Vec<Arc<RuleSet>>,
    /// Shared with each transaction's `on_log` closure, which must be `'static`.
    lines: Arc<AtomicUsize>,
    texts: Arc<Mutex<Vec<String>>>,
}

impl Sekisho {
    fn take(&self, tx: &mut Transaction, sink: &mut Sink) -> Option<u16> {
        let it = tx.intervention()?;
        if let Some(log) = it.log {
            sink.intervention_log(|| log);
        }
        Some(it.status)
    }
}

impl Engine for Sekisho {
    fn load(&mut self, conf: &Path) -> Result<usize, String> {
        let rs = RuleSet::from_files(&[conf]).map_err(|e| e.to_string())?;
        let n = rs.rule_count();
        self.rules.push(Arc::new(rs));
        Ok(n)
    }

    fn unload_all_but_first(&mut self) {
        self.rules.truncate(1);
    }

    fn run(&mut self, p: &Prepared, sink: &mut Sink) -> u16 {
        let req = &p.req;
        let mut tx = Transaction::new(Arc::clone(&self.rules[0]));
        self.lines.store(0, Ordering::Relaxed);
        let lines = Arc::clone(&self.lines);
        if sink.collect {
            let texts = Arc::clone(&self.texts);
            tx.on_log(move |l| {
                lines.fetch_add(1, Ordering::Relaxed);
                texts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(l.to_string());
            });
        } else {
            tx.on_log(move |_| {
                lines.fetch_add(1, Ordering::Relaxed);
            });
        }
        let status = 'request: {
            tx.process_connection("127.0.0.1", 40000, "127.0.0.1", 80);
            if let Some(s) = self.take(&mut tx, sink) {
                break 'request s;
            }
            tx.process_uri(&req.uri, req.method.as_bytes(), req.version.as_bytes());
            if let Some(s) = self.take(&mut tx, sink) {
                break 'request s;
            }
            for (n, v) in &req.headers {
                tx.add_request_header(n, v);
            }
            tx.process_request_headers();
            if let Some(s) = self.take(&mut tx, sink) {
                break 'request s;
            }
            if !req.body.is_empty() {
                tx.append_request_body(&req.body);
                if let Some(s) = self.take(&mut tx, sink) {
                    break 'request s;
                }
            }
            tx.process_request_body();
            if let Some(s) = self.take(&mut tx, sink) {
                break 'request s;
            }
            tx.add_response_header(RESPONSE_HEADER.0, RESPONSE_HEADER.1);
            tx.process_response_headers(200, b"HTTP 1.1");
            if let Some(s) = self.take(&mut tx, sink) {
                break 'request s;
            }
            tx.process_response_body();
            if let Some(s) = self.take(&mut tx, sink) {
                break 'request s;
            }
            200
        };
        tx.process_logging();
        let _ = self.take(&mut tx, sink);
        drop(tx);
        // The log lines came through the closure; they join the intervention's line in the sink
        // (order does not matter: only the id set is compared).
        sink.lines += self.lines.load(Ordering::Relaxed);
        if sink.collect {
            sink.texts
                .append(&mut self.texts.lock().unwrap_or_else(|e| e.into_inner()));
        }
        status
    }
}
