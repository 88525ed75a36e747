//! An audit record's content: what the transaction knows at the end, gathered once for both
//! formats (libmodsecurity reads the same transaction fields in `toOldAuditLogFormat` and
//! `toJSON`).

use crate::config::RuleEngine;
use crate::message::RuleMessage;
use crate::time::Civil;
use crate::transaction::Transaction;
use seclang_parser::names::VariableName as V;

/// The response status libmodsecurity calls `m_httpCodeReturned`: the one the server gave
/// `process_response_headers` (or `update_status_code`), 200 before that.
pub(crate) fn response_status(t: &Transaction) -> u16 {
    t.scalar(V::ResponseStatus)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(200)
}

/// Everything a record may print.
pub(crate) struct Record<'a> {
    /// Unix seconds when the transaction began.
    pub started: i64,
    pub unique_id: &'a str,
    pub client_ip: &'a str,
    pub client_port: &'a [u8],
    pub server_ip: &'a str,
    pub server_port: &'a [u8],
    /// `msc_set_request_hostname`'s name, else the server address.
    pub hostname: &'a str,
    pub method: &'a [u8],
    /// The URI as the server gave it (fragment included).
    pub uri: &'a [u8],
    /// `1.1` (without `HTTP/`).
    pub http_version: &'a [u8],
    pub request_headers: Vec<(&'a [u8], &'a [u8])>,
    pub request_body: &'a [u8],
    pub status: u16,
    pub response_headers: Vec<(&'a [u8], &'a [u8])>,
    pub response_body: &'a [u8],
    pub messages: &'a [RuleMessage],
    /// `Enabled`, `DetectionOnly`, `Disabled`, or libmodsecurity's text for unset.
    pub engine_state: &'static str,
    pub components: &'a [String],
    pub interrupted: bool,
}

impl<'a> Record<'a> {
    pub(crate) fn of(t: &'a Transaction) -> Record<'a> {
        let scalar = |v: V| t.scalar(v).unwrap_or(b"");
        // libmodsecurity keeps ports as numbers: 0 before `process_connection`
        let port = |v: V| match scalar(v) {
            b"" => &b"0"[..],
            p => p,
        };
        let protocol = scalar(V::RequestProtocol);
        let http_version = protocol.strip_prefix(b"HTTP/").unwrap_or(protocol);
        Record {
            started: t.audit.started,
            unique_id: &t.id,
            client_ip: &t.client_ip,
            client_port: port(V::RemotePort),
            server_ip: &t.server_ip,
            server_port: port(V::ServerPort),
            hostname: t.hostname.as_deref().unwrap_or(&t.server_ip),
            method: scalar(V::RequestMethod),
            uri: scalar(V::RequestUriRaw),
            http_version,
            request_headers: t
                .request_headers
                .iter()
                .map(|h| (&h.name[..], &h.value[..]))
                .collect(),
            request_body: &t.request_body,
            status: response_status(t),
            response_headers: t
                .response_headers
                .iter()
                .map(|h| (&h.name[..], &h.value[..]))
                .collect(),
            response_body: &t.response_body,
            messages: &t.audit.messages,
            engine_state: match t.rule_engine() {
                Some(RuleEngine::On) => "Enabled",
                Some(RuleEngine::Off) => "Disabled",
                Some(RuleEngine::DetectionOnly) => "DetectionOnly",
                None => "PropertyNotSet/DetectionOnly",
            },
            components: &t.rules.config.components,
            interrupted: t.audit.interrupted,
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// `[29/Nov/2026:09:29:48 +0000]` (strftime `[%d/%b/%Y:%H:%M:%S %z]`). libmodsecurity prints
/// local time; Sekisho has no time zone database and prints UTC.
pub(crate) fn serial_time(secs: i64) -> String {
    let c = Civil::from_unix(secs);
    format!(
        "[{:02}/{}/{}:{:02}:{:02}:{:02} +0000]",
        c.day,
        MONTHS[(c.month as usize).saturating_sub(1) % 12],
        c.year,
        c.hour,
        c.min,
        c.sec
    )
}

/// `Sun Nov 29 09:32:06 2026` (C's `asctime` without its newline), in UTC.
pub(crate) fn asc_time(secs: i64) -> String {
    let c = Civil::from_unix(secs);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        DAYS[c.weekday as usize % 7],
        MONTHS[(c.month as usize).saturating_sub(1) % 12],
        c.day,
        c.hour,
        c.min,
        c.sec,
        c.year
    )
}

/// Bytes outside printable ASCII as `\xHH` (libmodsecurity's `toHexIfNeeded`, as the log line
/// uses it too).
pub(crate) fn hex_if_needed(b: &[u8]) -> Vec<u8> {
    crate::message::hex_if_needed(b).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        // 2026-11-29 05:22:08 UTC, a Sunday
        assert_eq!(serial_time(1_795_929_728), "[29/Nov/2026:05:22:08 +0000]");
        assert_eq!(asc_time(1_795_929_728), "Sun Nov 29 05:22:08 2026");
        assert_eq!(asc_time(0), "Thu Jan  1 00:00:00 1970");
    }

    #[test]
    fn hex() {
        assert_eq!(hex_if_needed(b"a\t\"\\\xff"), b"a\\x09\"\\\\xff".to_vec());
    }
}
