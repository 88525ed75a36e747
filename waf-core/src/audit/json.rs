//! `SecAuditLogFormat JSON`, as 3.0.15's `Transaction::toJSON` writes it with yajl: one line
//! per record, keys in libmodsecurity's order, repeated header names kept (so written by hand
//! rather than through a map), the request body through `toHexIfNeeded`, other strings as
//! yajl escapes them (control characters escaped, other bytes passed through unchanged).

use super::record::{asc_time, hex_if_needed, Record};
use super::{PART_B, PART_C, PART_E, PART_F, PART_H};

/// The identity libmodsecurity's connectors and log parsers expect (the C API answers
/// `msc_who_am_i` with the same text).
const PRODUCER: &str = "ModSecurity v3.0.15 (Linux)";

/// The record as one JSON line.
pub(crate) fn render(r: &Record<'_>, parts: u32) -> Vec<u8> {
    let mut o = Vec::with_capacity(1024 + r.request_body.len() + r.response_body.len());
    o.extend_from_slice(b"{\"transaction\":{");
    field(&mut o, "client_ip", r.client_ip.as_bytes());
    o.push(b',');
    field(&mut o, "time_stamp", asc_time(r.started).as_bytes());
    o.push(b',');
    field(&mut o, "server_id", super::writer::server_id().as_bytes());
    o.push(b',');
    raw(&mut o, "client_port", &number(r.client_port));
    o.push(b',');
    field(&mut o, "host_ip", r.server_ip.as_bytes());
    o.push(b',');
    raw(&mut o, "host_port", &number(r.server_port));
    o.push(b',');
    field(&mut o, "unique_id", r.unique_id.as_bytes());
    o.push(b',');
    raw(
        &mut o,
        "is_interrupted",
        if r.interrupted { "true" } else { "false" },
    );
    o.extend_from_slice(b",\"request\":{");
    field(
        &mut o,
        "method",
        if r.method.is_empty() { b"-" } else { r.method },
    );
    o.push(b',');
    field(&mut o, "http_version", r.http_version);
    o.push(b',');
    field(&mut o, "hostname", r.hostname.as_bytes());
    o.push(b',');
    field(&mut o, "uri", r.uri);
    if parts & PART_C != 0 {
        o.push(b',');
        field(&mut o, "body", &hex_if_needed(r.request_body));
    }
    if parts & PART_B != 0 {
        o.push(b',');
        headers(&mut o, &r.request_headers);
    }
    o.extend_from_slice(b"},\"response\":{");
    if parts & PART_E != 0 {
        field(&mut o, "body", r.response_body);
        o.push(b',');
    }
    raw(&mut o, "http_code", &r.status.to_string());
    if parts & PART_F != 0 {
        o.push(b',');
        headers(&mut o, &r.response_headers);
    }
    o.push(b'}');
    if parts & PART_H != 0 {
        o.extend_from_slice(b",\"producer\":{");
        field(&mut o, "modsecurity", PRODUCER.as_bytes());
        o.push(b',');
        // the connector's `msc_set_connector_info` text does not reach the engine
        field(&mut o, "connector", b"");
        o.push(b',');
        field(&mut o, "secrules_engine", r.engine_state.as_bytes());
        o.extend_from_slice(b",\"components\":[");
        for (i, c) in r.components.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            string(&mut o, c.as_bytes());
        }
        o.extend_from_slice(b"]},\"messages\":[");
        for (i, m) in r.messages.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            o.push(b'{');
            field(&mut o, "message", m.msg.as_bytes());
            o.extend_from_slice(b",\"details\":{");
            let severity = m.severity.map_or(0, u32::from).to_string();
            let rule_id = m.rule_id.to_string();
            let line = m.line.to_string();
            let details: [(&str, &[u8]); 9] = [
                ("match", m.matched.as_bytes()),
                ("reference", m.reference.as_bytes()),
                ("ruleId", rule_id.as_bytes()),
                ("file", m.file.as_bytes()),
                ("lineNumber", line.as_bytes()),
                ("data", m.data.as_bytes()),
                ("severity", severity.as_bytes()),
                ("ver", m.ver.as_bytes()),
                ("rev", m.rev.as_bytes()),
            ];
            for (k, v) in details {
                field(&mut o, k, v);
                o.push(b',');
            }
            o.extend_from_slice(b"\"tags\":[");
            for (j, t) in m.tags.iter().enumerate() {
                if j > 0 {
                    o.push(b',');
                }
                string(&mut o, t.as_bytes());
            }
            o.extend_from_slice(b"],");
            field(&mut o, "maturity", m.maturity.to_string().as_bytes());
            o.push(b',');
            field(&mut o, "accuracy", m.accuracy.to_string().as_bytes());
            o.extend_from_slice(b"}}");
        }
        o.push(b']');
    }
    o.extend_from_slice(b"}}\n");
    o
}

/// A port as a JSON number (0 when the server gave none).
fn number(b: &[u8]) -> String {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .to_string()
}

fn headers(o: &mut Vec<u8>, list: &[(&[u8], &[u8])]) {
    o.extend_from_slice(b"\"headers\":{");
    for (i, (k, v)) in list.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        string(o, k);
        o.push(b':');
        string(o, v);
    }
    o.push(b'}');
}

fn field(o: &mut Vec<u8>, key: &str, value: &[u8]) {
    string(o, key.as_bytes());
    o.push(b':');
    string(o, value);
}

fn raw(o: &mut Vec<u8>, key: &str, value: &str) {
    string(o, key.as_bytes());
    o.push(b':');
    o.extend_from_slice(value.as_bytes());
}

/// A JSON string as yajl writes it without UTF-8 validation: `"`, `\` and control characters
/// escaped, every other byte as is.
fn string(o: &mut Vec<u8>, s: &[u8]) {
    o.push(b'"');
    for &c in s {
        match c {
            b'"' => o.extend_from_slice(b"\\\""),
            b'\\' => o.extend_from_slice(b"\\\\"),
            b'\n' => o.extend_from_slice(b"\\n"),
            b'\r' => o.extend_from_slice(b"\\r"),
            b'\t' => o.extend_from_slice(b"\\t"),
            0x08 => o.extend_from_slice(b"\\b"),
            0x0c => o.extend_from_slice(b"\\f"),
            c if c < 0x20 => o.extend_from_slice(format!("\\u{c:04X}").as_bytes()),
            c => o.push(c),
        }
    }
    o.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::string;

    #[test]
    fn yajl_escapes() {
        let mut o = Vec::new();
        string(&mut o, b"a\"\\\t\x02\xc3\xa9\xff");
        assert_eq!(o, b"\"a\\\"\\\\\\t\\u0002\xc3\xa9\xff\"".to_vec());
    }
}
