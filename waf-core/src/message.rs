//! Rule match messages, written in libmodsecurity's format: fail2ban filters, CyberPanel's
//! viewers and log shippers parse these lines.
//!
//! `ModSecurity: Warning. Matched "Operator `Rx' with parameter `...' against variable
//! `ARGS:x' (Value: `...' )" [file "..."] [line "..."] [id "..."] [rev ""] [msg "..."]
//! [data "..."] [severity "2"] [ver ""] [maturity "0"] [accuracy "0"] [tag "..."]
//! [hostname "..."] [uri "..."] [unique_id "..."] [ref "..."]`

use std::fmt::Write;

/// One logged rule match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleMessage {
    pub rule_id: u64,
    /// SecLang phase of the rule.
    pub phase: u8,
    pub file: String,
    pub line: u32,
    pub rev: String,
    pub ver: String,
    pub maturity: u8,
    pub accuracy: u8,
    pub msg: String,
    pub data: String,
    /// 0–7; libmodsecurity prints 255 when no severity is set? (kept as given).
    pub severity: Option<u8>,
    pub tags: Vec<String>,
    /// `Matched "Operator ..." at ARGS:x`.
    pub matched: String,
    pub reference: String,
    /// Whether the rule's own disruptive action ran (engine On).
    pub disruptive: bool,
    pub server_ip: String,
    pub uri: String,
    pub unique_id: String,
    pub client_ip: String,
}

/// libmodsecurity truncates long fields to a limit and marks the cut.
pub(crate) fn limit_to(limit: usize, s: &str) -> String {
    if s.len() <= limit {
        return s.to_string();
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} ({} characters omitted)", &s[..end], s.len() - end)
}

/// `[data "..."]`: non-printable bytes, `"` and `\` as `\xHH`, so the field cannot break
/// out of its quotes.
pub(crate) fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\' {
            out.push(c as char);
        } else {
            let _ = write!(out, "\\x{c:02x}");
        }
    }
    out
}

/// Bytes as text: printable ASCII kept, anything else as `\xHH` (libmodsecurity's
/// `toHexIfNeeded`).
pub(crate) fn hex_if_needed(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for &c in b {
        // a tab too (3.0.15: `Value: `x\x09attack' )`), while `"` and `\` stay as they are
        if (0x20..0x7f).contains(&c) {
            out.push(c as char);
        } else {
            let _ = write!(out, "\\x{c:02x}");
        }
    }
    out
}

impl RuleMessage {
    /// Makes the message what [`RuleMessage::default`] makes, keeping its strings' room.
    pub(crate) fn empty(&mut self) {
        let RuleMessage {
            rule_id,
            phase,
            file,
            line,
            rev,
            ver,
            maturity,
            accuracy,
            msg,
            data,
            severity,
            tags,
            matched,
            reference,
            disruptive,
            server_ip,
            uri,
            unique_id,
            client_ip,
        } = self;
        (*rule_id, *phase, *line, *maturity, *accuracy) = (0, 0, 0, 0, 0);
        (*severity, *disruptive) = (None, false);
        for s in [
            file, rev, ver, msg, data, matched, reference, server_ip, uri, unique_id, client_ip,
        ] {
            s.clear();
        }
        tags.clear();
    }

    /// The log line. `code`: the status for an `Access denied` line (`None` prints `%d`, which
    /// the intervention replaces with the status). `client`: prefix `[client IP] ` (the
    /// intervention's log has it, the log callback's lines do not).
    pub fn log_line(&self, engine_on: bool, code: Option<u16>, client: bool) -> String {
        let mut m = String::with_capacity(1024);
        if client {
            let _ = write!(m, "[client {}] ", self.client_ip);
        }
        if self.disruptive && engine_on {
            m.push_str("ModSecurity: Access denied with code ");
            match code {
                Some(c) => {
                    let _ = write!(m, "{c}");
                }
                None => m.push_str("%d"),
            }
            let _ = write!(m, " (phase {}). ", self.phase);
        } else {
            m.push_str("ModSecurity: Warning. ");
        }
        m.push_str(&self.matched);
        let _ = write!(m, " [file \"{}\"]", self.file);
        let _ = write!(m, " [line \"{}\"]", self.line);
        let _ = write!(m, " [id \"{}\"]", self.rule_id);
        let _ = write!(m, " [rev \"{}\"]", self.rev);
        let _ = write!(m, " [msg \"{}\"]", self.msg);
        let _ = write!(m, " [data \"{}\"]", escape_data(&limit_to(200, &self.data)));
        let _ = write!(m, " [severity \"{}\"]", self.severity.map_or(0, u32::from));
        let _ = write!(m, " [ver \"{}\"]", self.ver);
        let _ = write!(m, " [maturity \"{}\"]", self.maturity);
        let _ = write!(m, " [accuracy \"{}\"]", self.accuracy);
        for t in &self.tags {
            let _ = write!(m, " [tag \"{t}\"]");
        }
        let _ = write!(m, " [hostname \"{}\"]", self.server_ip);
        let _ = write!(m, " [uri \"{}\"]", limit_to(200, &self.uri));
        let _ = write!(m, " [unique_id \"{}\"]", self.unique_id);
        let _ = write!(m, " [ref \"{}\"]", self.reference);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::RuleMessage;

    /// An emptied message is a new one (the engine reuses one from rule to rule).
    #[test]
    fn an_emptied_message_is_a_default_one() {
        let s = |t: &str| t.to_string();
        let mut m = RuleMessage {
            rule_id: 942100,
            phase: 2,
            file: s("f.conf"),
            line: 7,
            rev: s("1"),
            ver: s("OWASP_CRS/4.28.0"),
            maturity: 9,
            accuracy: 9,
            msg: s("msg"),
            data: s("data"),
            severity: Some(2),
            tags: vec![s("a"), s("b")],
            matched: s("Matched"),
            reference: s("o0,3"),
            disruptive: true,
            server_ip: s("10.0.0.1"),
            uri: s("/"),
            unique_id: s("id"),
            client_ip: s("127.0.0.1"),
        };
        m.empty();
        assert_eq!(m, RuleMessage::default());
        assert!(m.msg.capacity() > 0, "the room is kept");
    }
}
