//! Rule match messages, written in libmodsecurity's format: fail2ban filters, CyberPanel's
//! viewers and log shippers parse these lines.
//!
//! `ModSecurity: Warning. Matched "Operator `Rx' with parameter `...' against variable
//! `ARGS:x' (Value: `...' )" [file "..."] [line "..."] [id "..."] [rev ""] [msg "..."]
//! [data "..."] [severity "2"] [ver ""] [maturity "0"] [accuracy "0"] [tag "..."]
//! [hostname "..."] [uri "..."] [unique_id "..."] [ref "..."]`

use std::sync::Arc;

/// One logged rule match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleMessage {
    pub rule_id: u64,
    /// SecLang phase of the rule.
    pub phase: u8,
    // (the texts a rule or the request gives are shared, not copied: a logged match copied
    // ~25 strings, a third of its cost)
    pub file: Arc<str>,
    pub line: u32,
    pub rev: Arc<str>,
    pub ver: Arc<str>,
    pub maturity: u8,
    pub accuracy: u8,
    pub msg: Arc<str>,
    pub data: Arc<str>,
    /// 0–7; libmodsecurity prints 255 when no severity is set? (kept as given).
    pub severity: Option<u8>,
    pub tags: Vec<Arc<str>>,
    /// `Matched "Operator ..." at ARGS:x`.
    pub matched: String,
    pub reference: String,
    /// Whether the rule's own disruptive action ran (engine On).
    pub disruptive: bool,
    pub server_ip: Arc<str>,
    pub uri: Arc<str>,
    pub unique_id: Arc<str>,
    pub client_ip: Arc<str>,
}

/// The request's texts each log line repeats (host, URI, unique id, client), shared by the
/// messages of a transaction: made again only when the request's own text changed.
#[derive(Debug, Default)]
pub(crate) struct RequestTexts {
    pub(crate) server_ip: Arc<str>,
    pub(crate) uri: Arc<str>,
    pub(crate) unique_id: Arc<str>,
    pub(crate) client_ip: Arc<str>,
}

/// `cache`, remade from `source` (as lossy UTF-8) when it no longer holds it. (A source that
/// is not UTF-8 never equals its lossy text, so it is remade each time: correct, and rare.)
pub(crate) fn shared_text(cache: &mut Arc<str>, source: &[u8]) -> Arc<str> {
    if cache.as_bytes() != source {
        *cache = String::from_utf8_lossy(source).into();
    }
    cache.clone()
}

/// libmodsecurity truncates long fields to a limit and marks the cut.
pub(crate) fn limit_to(limit: usize, s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= limit {
        return s.into();
    }
    let mut out = String::with_capacity(limit + 32);
    push_limited(&mut out, limit, s, |out, head| out.push_str(head));
    out.into()
}

/// [`limit_to`] appended to `out`: `s`'s first `limit` bytes (fewer, to end on a character),
/// written by `write`, then ` (N characters omitted)` if any were left out.
fn push_limited(out: &mut String, limit: usize, s: &str, write: impl FnOnce(&mut String, &str)) {
    let mut end = s.len().min(limit);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    write(out, &s[..end]);
    if end < s.len() {
        out.push_str(" (");
        crate::decimal::push_decimal(out, (s.len() - end) as u64);
        out.push_str(" characters omitted)");
    }
}

/// Printable ASCII, kept as it is by [`hex_if_needed`].
fn printable(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}

/// Kept as it is in `[data "..."]`: printable, and neither `"` nor `\`.
fn data_safe(c: u8) -> bool {
    printable(c) && c != b'"' && c != b'\\'
}

/// `b` appended to `out`, each byte `keep` refuses as `\xHH`. (Runs of kept bytes are copied
/// at once: a log line's fields are nearly all kept bytes.)
fn push_hex_escaped(out: &mut String, b: &[u8], keep: impl Fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // (a run of kept bytes is ASCII, so always UTF-8)
    fn ascii(run: &[u8]) -> &str {
        std::str::from_utf8(run).unwrap_or_default()
    }
    // (most fields are kept whole: one copy)
    let Some(first) = b.iter().position(|&c| !keep(c)) else {
        out.push_str(ascii(b));
        return;
    };
    let mut run = 0;
    for (i, &c) in b.iter().enumerate().skip(first) {
        if keep(c) {
            continue;
        }
        out.push_str(ascii(&b[run..i]));
        out.push_str("\\x");
        out.push(char::from(HEX[usize::from(c >> 4)]));
        out.push(char::from(HEX[usize::from(c & 15)]));
        run = i + 1;
    }
    out.push_str(ascii(&b[run..]));
}

/// Whether every byte of `b` is printable ASCII, eight at a time (a log line's `[msg]` and
/// `[tag]`s nearly always are, and are then copied as they are).
fn all_printable(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        // a high bit: a byte below 0x20 (its borrow) or from 0x80 (its own); then 0x7f
        let del = x ^ (0x7f * ONES);
        if ((x.wrapping_sub(0x20 * ONES) | x) & HIGH) != 0
            || (del.wrapping_sub(ONES) & !del & HIGH) != 0
        {
            return false;
        }
    }
    words.remainder().iter().all(|&c| printable(c))
}

/// `s` appended to `out` as libmodsecurity writes a `[msg]` or a `[tag]`
/// (`toHexIfNeeded`): printable ASCII kept, `"` and `\` too, other bytes as `\xHH`.
fn push_printable(out: &mut String, s: &str) {
    if all_printable(s.as_bytes()) {
        out.push_str(s);
    } else {
        push_hex_escaped(out, s.as_bytes(), printable);
    }
}

/// Bytes as text: printable ASCII kept, anything else as `\xHH` (libmodsecurity's
/// `toHexIfNeeded`). A tab too (3.0.15: `Value: `x\x09attack' )`), while `"` and `\` stay as
/// they are.
pub(crate) fn hex_if_needed(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    push_hex_escaped(&mut out, b, printable);
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
        for s in [matched, reference] {
            s.clear();
        }
        // (only the texts a match filled: the empty text is one shared `Arc`, and the engine
        // empties the message after each rule, so a count every thread bumps on each rule
        // would cost more than the texts saved)
        for s in [
            file, rev, ver, msg, data, server_ip, uri, unique_id, client_ip,
        ] {
            if !s.is_empty() {
                *s = Arc::default();
            }
        }
        tags.clear();
    }

    /// [`RuleMessage::empty`] after a rule (a chain) that did not match and wrote no
    /// `multiMatch` line: only its `[ref]` and match text may have been written (what a match
    /// fills is filled once the whole chain matched). ~90 rules a request end so, and emptying
    /// each field was ~1% of a regression input's instructions.
    pub(crate) fn empty_after_no_match(&mut self) {
        self.matched.clear();
        self.reference.clear();
        debug_assert!(
            *self == RuleMessage::default(),
            "a rule that did not match filled its message: {self:?}"
        );
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
        // (`[msg]` and `[tag]` with non-printable bytes as `\xHH`, `"` and `\` kept, as
        // libmodsecurity's `toHexIfNeeded` writes them)
        m.push_str(" [msg \"");
        push_printable(&mut m, &self.msg);
        m.push_str("\"]");
        // `[data "..."]`: cut to 200 bytes, then non-printable bytes, `"` and `\` as `\xHH`,
        // so the field cannot break out of its quotes
        m.push_str(" [data \"");
        push_limited(&mut m, 200, &self.data, |m, head| {
            push_hex_escaped(m, head.as_bytes(), data_safe)
        });
        m.push_str("\"]");
        number_field(&mut m, " [severity \"", self.severity.map_or(0, u64::from));
        field(&mut m, " [ver \"", &self.ver, "\"]");
        number_field(&mut m, " [maturity \"", u64::from(self.maturity));
        number_field(&mut m, " [accuracy \"", u64::from(self.accuracy));
        for t in &self.tags {
            m.push_str(" [tag \"");
            push_printable(&mut m, t);
            m.push_str("\"]");
        }
        field(&mut m, " [hostname \"", &self.server_ip, "\"]");
        m.push_str(" [uri \"");
        push_limited(&mut m, 200, &self.uri, |m, head| m.push_str(head));
        m.push_str("\"]");
        field(&mut m, " [unique_id \"", &self.unique_id, "\"]");
        // (cut as `[uri]` is: libmodsecurity 3.0.15 writes 200 bytes of a long `[ref]`)
        m.push_str(" [ref \"");
        push_limited(&mut m, 200, &self.reference, |m, head| m.push_str(head));
        m.push_str("\"]");
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
    use super::{all_printable, printable, RuleMessage};

    /// An emptied message is a new one (the engine reuses one from rule to rule).
    #[test]
    fn an_emptied_message_is_a_default_one() {
        let s = |t: &str| -> std::sync::Arc<str> { t.into() };
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
            matched: "Matched".to_string(),
            reference: "o0,3".to_string(),
            disruptive: true,
            server_ip: s("10.0.0.1"),
            uri: s("/"),
            unique_id: s("id"),
            client_ip: s("127.0.0.1"),
        };
        m.empty();
        assert_eq!(m, RuleMessage::default());
        assert!(m.matched.capacity() > 0, "the room is kept");
    }

    /// `[data]` is cut to 200 bytes (on a character), then escaped; `[uri]` is cut only.
    #[test]
    fn data_is_cut_then_escaped_and_uri_is_cut() {
        let data = format!("a\"b\\c\u{1}é{}", "x".repeat(250));
        let m = RuleMessage {
            data: data.as_str().into(),
            uri: format!("/{}", "u".repeat(300)).as_str().into(),
            ..RuleMessage::default()
        };
        let line = m.log_line(false, None, false);
        let kept = 200 - "a\"b\\c\u{1}é".len();
        let want = format!(
            " [data \"a\\x22b\\x5cc\\x01\\xc3\\xa9{} (58 characters omitted)\"]",
            "x".repeat(kept)
        );
        assert!(line.contains(&want), "{line}");
        let want = format!(" [uri \"/{} (101 characters omitted)\"]", "u".repeat(199));
        assert!(line.contains(&want), "{line}");
        // a cut inside a character ends before it
        let m = RuleMessage {
            data: format!("{}é", "y".repeat(199)).as_str().into(),
            ..RuleMessage::default()
        };
        let want = format!(" [data \"{} (2 characters omitted)\"]", "y".repeat(199));
        assert!(m.log_line(false, None, false).contains(&want));
    }

    /// A long `[ref]` is cut at 200 bytes, as libmodsecurity 3.0.15 cuts it (a rule that
    /// matched 13 argument names: `[ref "o0,7v970,13t:lowercase...o0, (85 characters
    /// omitted)"]`, `tests/oracle/txn.sh --lib wheel`).
    #[test]
    fn a_long_reference_is_cut() {
        let reference = "o0,7v970,13t:lowercase".repeat(13);
        let m = RuleMessage {
            reference: reference.as_str().into(),
            ..RuleMessage::default()
        };
        let want = format!(" [ref \"{} (86 characters omitted)\"]", &reference[..200]);
        assert!(m.log_line(false, None, false).ends_with(&want));
    }

    /// The eight-at-a-time test says what the byte-by-byte one says, for every byte at
    /// every place in a word and in the remainder.
    #[test]
    fn printable_words() {
        let all: Vec<u8> = (0u8..=255).collect();
        for c in 0u8..=255 {
            for at in [0, 5, 8, 13] {
                let mut b = vec![b'a'; 16];
                b[at] = c;
                assert_eq!(all_printable(&b), printable(c), "{c:#x} at {at}");
            }
        }
        assert!(!all_printable(&all));
        assert!(all_printable(&all[0x20..0x7f]));
    }

    /// `[msg]` and `[tag]` keep printable ASCII, `"` and `\` included, and write other bytes
    /// as `\xHH` (libmodsecurity 3.0.15's `[msg "lit \xc3\xa9 "q" back\\s"]` for
    /// `msg:'lit é "q" back\\s'`, `tests/oracle/txn.sh --lib wheel`).
    #[test]
    fn msg_and_tags_escape_what_is_not_printable() {
        let m = RuleMessage {
            msg: "lit é \"q\" back\\\\s\u{1}".into(),
            tags: vec!["t é".into()],
            ..RuleMessage::default()
        };
        let line = m.log_line(false, None, false);
        assert!(
            line.contains(r#" [msg "lit \xc3\xa9 "q" back\\s\x01"]"#),
            "{line}"
        );
        assert!(line.contains(r#" [tag "t \xc3\xa9"]"#), "{line}");
    }
}
