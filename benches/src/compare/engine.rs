//! What every engine under comparison offers: load a configuration file, and run one request
//! as a whole transaction (connection → logging, a new transaction each time).

use crs_test::Request;
use std::collections::BTreeSet;
use std::ffi::CString;
use std::path::Path;

/// The one response header every engine gets (the response phases run, as in a server, but
/// `SecResponseBodyAccess Off` leaves the body out).
pub const RESPONSE_HEADER: (&[u8], &[u8]) = (b"Content-Type", b"text/html; charset=UTF-8");

/// A request with its request-line parts as C strings, made once outside the timed loop so the
/// C API engines do not pay for them per transaction.
pub struct Prepared {
    pub req: Request,
    pub uri: CString,
    pub method: CString,
    pub version: CString,
}

impl Prepared {
    /// `None` when the request line holds a NUL byte (the C API cannot carry it).
    pub fn new(req: Request) -> Option<Prepared> {
        Some(Prepared {
            uri: CString::new(req.uri.clone()).ok()?,
            method: CString::new(req.method.clone()).ok()?,
            version: CString::new(req.version.clone()).ok()?,
            req,
        })
    }
}

/// Where an engine's log lines go during one transaction: always counted; kept only while
/// verdicts are collected (the timed rounds only count, the same for every engine).
#[derive(Default)]
pub struct Sink {
    pub lines: usize,
    pub collect: bool,
    pub texts: Vec<String>,
}

impl Sink {
    pub fn collecting() -> Sink {
        Sink {
            collect: true,
            ..Sink::default()
        }
    }

    /// A log-callback line.
    pub fn line(&mut self, text: impl FnOnce() -> String) {
        self.lines += 1;
        if self.collect {
            self.texts.push(text());
        }
    }

    /// The log line of a disruptive intervention (it reaches the server's error log too, so its
    /// id counts as logged, as go-ftw counts it).
    pub fn intervention_log(&mut self, text: impl FnOnce() -> String) {
        if self.collect {
            self.texts.push(text());
        }
    }

    /// The rule ids in the collected lines (`[id "N"]`).
    pub fn ids(&self) -> BTreeSet<u64> {
        let mut ids = BTreeSet::new();
        for t in &self.texts {
            let mut rest = t.as_str();
            while let Some(i) = rest.find("[id \"") {
                rest = &rest[i + 5..];
                let end = rest.find('"').unwrap_or(0);
                if let Ok(id) = rest[..end].parse() {
                    ids.insert(id);
                }
            }
        }
        ids
    }
}

/// One engine, loaded in its own worker process.
pub trait Engine {
    /// Loads a configuration file as a new rule set; returns libmodsecurity's rule count. The
    /// first rule set loaded is the one transactions run on.
    fn load(&mut self, conf: &Path) -> Result<usize, String>;
    /// Frees every rule set but the first (loads after the first only time the loading).
    fn unload_all_but_first(&mut self);
    /// Runs one whole transaction; returns the status the client gets (200 when not
    /// interrupted).
    fn run(&mut self, req: &Prepared, sink: &mut Sink) -> u16;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_every_collected_line() {
        let mut s = Sink::collecting();
        s.line(|| r#"ModSecurity: Warning. [id "942100"] [msg "x"] [id "bad"]"#.into());
        s.intervention_log(|| r#"Access denied with code 403 [id "949110"]"#.into());
        assert_eq!(
            s.lines, 1,
            "the intervention line is not a log-callback line"
        );
        assert_eq!(s.ids().into_iter().collect::<Vec<_>>(), [942100, 949110]);
    }

    #[test]
    fn a_counting_sink_keeps_nothing() {
        let mut s = Sink::default();
        s.line(|| unreachable!("not formatted when only counting"));
        assert_eq!((s.lines, s.texts.len()), (1, 0));
    }
}
