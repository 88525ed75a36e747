//! Logical lines to directives. Each SecLang part has its own module: `variables`
//! (`ARGS|!ARGS:x`), `operator` (`"!@rx ..."`), `actions` (`"id:1,msg:'...'"`), `macros`
//! (`%{tx.score}`); this module splits a directive into its arguments and dispatches.

mod actions;
mod directive;
mod macros;
mod operator;
mod variables;

pub(crate) use directive::parse_line;
pub(crate) use macros::parse_macro_string;

/// An error inside one argument: the byte offset in that argument, the message, the offending
/// text. The directive parser turns the offset into a file position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub at: usize,
    pub message: String,
    pub snippet: String,
}

impl Problem {
    pub(crate) fn new(
        at: usize,
        message: impl Into<String>,
        snippet: impl Into<String>,
    ) -> Problem {
        Problem {
            at,
            message: message.into(),
            snippet: snippet.into(),
        }
    }

    /// The same problem, `by` bytes further right (the argument was part of a larger text).
    pub(crate) fn shift(mut self, by: usize) -> Problem {
        self.at += by;
        self
    }
}

pub(crate) type PResult<T> = Result<T, Problem>;

/// The next blank-free word of `s` (for error snippets).
pub(crate) fn word(s: &str) -> &str {
    let end = s
        .find(|c: char| c.is_ascii_whitespace() || c == ',' || c == '|' || c == '"')
        .unwrap_or(s.len());
    if end == 0 {
        &s[..s.len().min(1)]
    } else {
        &s[..end]
    }
}

/// Audit log parts as libmodsecurity 3.0.15's lexer takes them (`SecAuditLogParts`,
/// `ctl:auditLogParts` after its sign): `[ABCDEFGHJKIZ]+`.
pub(crate) fn audit_parts(s: &str) -> PResult<()> {
    const PARTS: &str = "ABCDEFGHJKIZ";
    match s.char_indices().find(|&(_, c)| !PARTS.contains(c)) {
        None => Ok(()),
        Some((at, c)) => Err(Problem::new(
            at,
            format!("'{c}' is no audit log part ({PARTS} are)"),
            &s[at..],
        )),
    }
}

/// Whether `std::stoi` reads an integer at the start of `s` (blanks, one sign, a digit): how
/// libmodsecurity reads a `ctl:ruleRemoveTargetById`'s rule and `accuracy`/`maturity`, which
/// do not load otherwise.
pub(crate) fn stoi_reads(s: &str) -> bool {
    let s = s.trim_start();
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.starts_with(|c: char| c.is_ascii_digit())
}

/// Parses an unsigned decimal number.
pub(crate) fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
