//! The audit log: what an audit record is and when a transaction writes one, as
//! libmodsecurity 3.0.15 decides it (`AuditLog::saveIfRelevant`, `Transaction::processLogging`).
//!
//! - A transaction writes at most one record, in `process_logging`, after the phase 5 rules
//!   (never when `SecRuleEngine Off`, as libmodsecurity returns before).
//! - The audit engine in force is the last `ctl:auditEngine` of the transaction, else
//!   `SecAuditEngine`. `Off` (or unset) writes nothing; `On` writes every transaction;
//!   `RelevantOnly` writes when a saved message exists (a match whose rule is logged by the last
//!   of `log`/`nolog`/`auditlog`/`noauditlog`, default logged, disruptive or not) or when the
//!   response status matches the `SecAuditLogRelevantStatus` regex (unset: never).
//! - `noauditlog` only keeps its own rule's message out of the record (and out of relevance);
//!   it does not suppress a record that is written anyway (libmodsecurity 3.0.15 does the same).
//! - Parts: `SecAuditLogParts` (default `ABCFHZ`), changed per transaction by
//!   `ctl:auditLogParts=+X`/`-X`. `A` and `Z` are always written in the Serial format, even
//!   when a `ctl` removed them.
//! - Only `SecAuditLogType Serial` (or unset, which 3.0.15 treats as Serial) is written;
//!   `Concurrent` and `HTTPS` write nothing ([`config_warnings`] says so at load).
//! - Known differences: times are printed in UTC (libmodsecurity uses the local time zone),
//!   JSON's `server_id` is Sekisho's own machine hash and its `connector` is empty (the
//!   connector's `msc_set_connector_info` text does not reach the engine).
//!
//! Submodules: `record` (what the transaction knows, gathered), `serial` (the native format),
//! `json` (`SecAuditLogFormat JSON`), `writer` (appending whole records to the file).

mod json;
mod record;
mod serial;
mod writer;

use crate::config::{AuditEngine, EngineConfig};
use crate::message::RuleMessage;
use crate::transaction::Transaction;
use std::time::{SystemTime, UNIX_EPOCH};

/// Part bits, one per letter `A`..`Z` as libmodsecurity names them.
pub(crate) const PART_A: u32 = 1 << 0;
pub(crate) const PART_B: u32 = 1 << 1;
pub(crate) const PART_C: u32 = 1 << 2;
pub(crate) const PART_D: u32 = 1 << 3;
pub(crate) const PART_E: u32 = 1 << 4;
pub(crate) const PART_F: u32 = 1 << 5;
pub(crate) const PART_G: u32 = 1 << 6;
pub(crate) const PART_H: u32 = 1 << 7;
pub(crate) const PART_I: u32 = 1 << 8;
pub(crate) const PART_J: u32 = 1 << 9;
pub(crate) const PART_K: u32 = 1 << 10;
pub(crate) const PART_Z: u32 = 1 << 11;

const LETTERS: [(u8, u32); 12] = [
    (b'A', PART_A),
    (b'B', PART_B),
    (b'C', PART_C),
    (b'D', PART_D),
    (b'E', PART_E),
    (b'F', PART_F),
    (b'G', PART_G),
    (b'H', PART_H),
    (b'I', PART_I),
    (b'J', PART_J),
    (b'K', PART_K),
    (b'Z', PART_Z),
];

/// libmodsecurity's parts when `SecAuditLogParts` is not given.
const DEFAULT_PARTS: u32 = PART_A | PART_B | PART_C | PART_F | PART_H | PART_Z;

/// The parts named in `text` (letters in any case; anything else ignored).
pub(crate) fn parse_parts(text: &str) -> u32 {
    let mut parts = 0;
    for (letter, bit) in LETTERS {
        if text.bytes().any(|c| c.eq_ignore_ascii_case(&letter)) {
            parts |= bit;
        }
    }
    parts
}

/// `ctl:auditLogParts=+E` adds parts, `=-E` removes them. libmodsecurity refuses a value
/// without a sign at load; here such a value replaces the parts.
pub(crate) fn ctl_parts(current: u32, value: &str) -> u32 {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('+') {
        current | parse_parts(rest)
    } else if let Some(rest) = value.strip_prefix('-') {
        current & !parse_parts(rest)
    } else {
        parse_parts(value)
    }
}

/// `SecAuditEngine`/`ctl:auditEngine` values, as libmodsecurity reads them.
pub(crate) fn engine_from_value(value: &str) -> AuditEngine {
    let v = value.trim();
    if v.eq_ignore_ascii_case("on") {
        AuditEngine::On
    } else if v.eq_ignore_ascii_case("relevantonly") {
        AuditEngine::RelevantOnly
    } else {
        AuditEngine::Off
    }
}

/// Which writer `SecAuditLogType` names.
fn serial_type(config: &EngineConfig) -> bool {
    match config.audit_log_type.as_deref() {
        None => true,
        Some(t) => t.trim().eq_ignore_ascii_case("serial"),
    }
}

/// Load-time warnings about audit log settings this engine does not honour. Meant for the
/// rule set's warnings (the compile step adds them).
pub(crate) fn config_warnings(config: &EngineConfig) -> Vec<String> {
    let mut out = Vec::new();
    let engine = config.audit_engine.unwrap_or(AuditEngine::Off);
    if engine != AuditEngine::Off && !serial_type(config) {
        out.push(format!(
            "SecAuditLogType {}: only Serial is supported; no audit log is written",
            config.audit_log_type.as_deref().unwrap_or("")
        ));
    }
    if engine != AuditEngine::Off && config.audit_log.is_none() {
        out.push("SecAuditEngine is not Off but SecAuditLog names no file".to_string());
    }
    if engine == AuditEngine::RelevantOnly && config.audit_log_relevant_status.is_none() {
        out.push(
            "SecAuditEngine RelevantOnly without SecAuditLogRelevantStatus: only transactions \
             with a logged rule match are written"
                .to_string(),
        );
    }
    out
}

/// What a transaction keeps for its audit record.
#[derive(Debug)]
pub(crate) struct TransactionAudit {
    /// Unix seconds when the transaction began (the record's timestamp).
    pub(crate) started: i64,
    /// `ctl:auditEngine`, when a rule set it.
    pub(crate) engine: Option<AuditEngine>,
    /// The parts once a `ctl:auditLogParts` changed them.
    pub(crate) parts: Option<u32>,
    /// A saved (logged) message exists: relevant for `RelevantOnly`.
    pub(crate) relevant: bool,
    /// A disruptive action ran (JSON's `is_interrupted`).
    pub(crate) interrupted: bool,
    /// The saved messages, in order: the record's `H` part.
    pub(crate) messages: Vec<RuleMessage>,
}

impl Default for TransactionAudit {
    fn default() -> Self {
        TransactionAudit {
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            engine: None,
            parts: None,
            relevant: false,
            interrupted: false,
            messages: Vec::new(),
        }
    }
}

impl TransactionAudit {
    /// A matched rule's message, after its actions ran. `saved`: the rule is logged by
    /// libmodsecurity v3's reading; `acted`: its disruptive action ran.
    pub(crate) fn record_match(
        &mut self,
        config: &EngineConfig,
        saved: bool,
        acted: bool,
        message: &RuleMessage,
    ) {
        self.interrupted |= acted;
        if !saved {
            return;
        }
        self.relevant = true;
        // without a file nothing is ever written: no need to keep copies
        if config.audit_log.is_none() {
            return;
        }
        self.messages.push(message.clone());
    }

    /// `ctl:auditEngine` / `ctl:auditLogParts`.
    pub(crate) fn ctl_engine(&mut self, value: &str) {
        self.engine = Some(engine_from_value(value));
    }

    pub(crate) fn ctl_parts(&mut self, config: &EngineConfig, value: &str) {
        let current = self.parts.unwrap_or_else(|| config_parts(config));
        self.parts = Some(ctl_parts(current, value));
    }
}

fn config_parts(config: &EngineConfig) -> u32 {
    config
        .audit_log_parts
        .as_deref()
        .map_or(DEFAULT_PARTS, parse_parts)
}

impl Transaction {
    /// Writes this transaction's audit record when libmodsecurity would (see the module
    /// docs). Never fails the transaction: a file that cannot be written loses the record.
    pub(crate) fn write_audit_log(&mut self) {
        let config = &self.rules.config;
        let Some(path) = config.audit_log.as_deref() else {
            return;
        };
        if !serial_type(config) {
            return;
        }
        // even with every part removed by ctl, A and Z are written (as by libmodsecurity)
        let parts = self.audit.parts.unwrap_or_else(|| config_parts(config));
        let engine = self.audit.engine.or(config.audit_engine);
        match engine {
            None | Some(AuditEngine::Off) => return,
            Some(AuditEngine::On) => {}
            Some(AuditEngine::RelevantOnly) => {
                let status = record::response_status(self);
                let by_status = config
                    .audit_log_relevant_status
                    .as_deref()
                    .is_some_and(|p| writer::status_matches(p, status));
                if !by_status && !self.audit.relevant {
                    return;
                }
            }
        }
        let record = record::Record::of(self);
        let json = config
            .audit_log_format
            .as_deref()
            .is_some_and(|f| f.trim().eq_ignore_ascii_case("json"));
        let bytes = if json {
            json::render(&record, parts)
        } else {
            serial::render(&record, parts, &writer::boundary())
        };
        writer::append(path, &bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_ctl() {
        assert_eq!(parse_parts("ABz"), PART_A | PART_B | PART_Z);
        assert_eq!(parse_parts(""), 0);
        let p = parse_parts("AHZ");
        assert_eq!(ctl_parts(p, "+BF"), p | PART_B | PART_F);
        assert_eq!(ctl_parts(p, "-H"), PART_A | PART_Z);
        assert_eq!(ctl_parts(p, "E"), PART_E);
    }

    #[test]
    fn load_warnings() {
        let mut c = EngineConfig::default();
        assert!(config_warnings(&c).is_empty());
        c.audit_engine = Some(AuditEngine::On);
        c.audit_log = Some("/tmp/x".into());
        assert!(config_warnings(&c).is_empty());
        c.audit_log_type = Some("Concurrent".into());
        assert_eq!(config_warnings(&c).len(), 1);
        c.audit_log_type = Some("serial".into());
        c.audit_engine = Some(AuditEngine::RelevantOnly);
        assert_eq!(config_warnings(&c).len(), 1);
    }

    #[test]
    fn engine_values() {
        assert_eq!(engine_from_value("On"), AuditEngine::On);
        assert_eq!(engine_from_value("relevantonly"), AuditEngine::RelevantOnly);
        assert_eq!(engine_from_value("x"), AuditEngine::Off);
    }
}
