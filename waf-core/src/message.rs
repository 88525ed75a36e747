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
pub(crate) fn limit_to(limit: usize, s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= limit {
        return s.into();
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} ({} characters omitted)", &s[..end], s.len() - end).into()
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
        // (pieces pushed, not `write!`: the formatting machinery cost more than the copies,
        // ~30 fields a line and a line per match on an attack)
        let mut m = String::with_capacity(1024);
        if client {
            field(&mut m, "[client ", &self.client_ip, "] ");
        }
        if self.disruptive && engine_on {
            m.push_str("ModSecurity: Access denied with code ");
            match code {
                Some(c) => crate::decimal::push_decimal(&mut m, u64::from(c)),
                None => m.push_str("%d"),
            }
            m.push_str(" (phase ");
            crate::decimal::push_decimal(&mut m, u64::from(self.phase));
            m.push_str("). ");
        } else {
            m.push_str("ModSecurity: Warning. ");
        }
        m.push_str(&self.matched);
        field(&mut m, " [file \"", &self.file, "\"]");
        number_field(&mut m, " [line \"", u64::from(self.line));
        number_field(&mut m, " [id \"", self.rule_id);
        field(&mut m, " [rev \"", &self.rev, "\"]");
        field(&mut m, " [msg \"", &self.msg, "\"]");
        field(
            &mut m,
            " [data \"",
            &escape_data(&limit_to(200, &self.data)),
            "\"]",
        );
        number_field(&mut m, " [severity \"", self.severity.map_or(0, u64::from));
        field(&mut m, " [ver \"", &self.ver, "\"]");
        number_field(&mut m, " [maturity \"", u64::from(self.maturity));
        number_field(&mut m, " [accuracy \"", u64::from(self.accuracy));
        for t in &self.tags {
            field(&mut m, " [tag \"", t, "\"]");
        }
        field(&mut m, " [hostname \"", &self.server_ip, "\"]");
        field(&mut m, " [uri \"", &limit_to(200, &self.uri), "\"]");
        field(&mut m, " [unique_id \"", &self.unique_id, "\"]");
        field(&mut m, " [ref \"", &self.reference, "\"]");
        m
    }
}

/// `open`, `value`, `close` appended to `m`.
fn field(m: &mut String, open: &str, value: &str, close: &str) {
    m.push_str(open);
    m.push_str(value);
    m.push_str(close);
}

/// `open`, the number, `"]` appended to `m`.
fn number_field(m: &mut String, open: &str, n: u64) {
    m.push_str(open);
    crate::decimal::push_decimal(m, n);
    m.push_str("\"]");
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
