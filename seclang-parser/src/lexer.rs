//! Physical text to logical lines, and logical lines to argument tokens.
//!
//! How ModSecurity reads a configuration file, as this module reproduces it:
//! - A line ending in a backslash (`\` right before the newline, `\r\n` allowed) continues on the
//!   next line. The backslash and the newline are dropped; the white space around them is kept
//!   (it separates tokens, and inside a quoted string it stays part of the string).
//! - A line whose first non-blank character is `#` is a comment. As in libmodsecurity, a
//!   commented-out `# SecRule ... \` or `# SecAction ... \` block also comments out the lines it
//!   continues onto. Outside quotes, a token that starts with `#` starts a trailing comment.
//! - Arguments are separated by blanks. A double-quoted argument runs to the next `"` that is not
//!   escaped (preceded by an odd number of backslashes); nothing is unescaped here, so the
//!   argument reaches the directive parsers raw. In an action list (`"id:1,msg:'a "b"'"`) a value
//!   in single quotes may hold double quotes.

use crate::span::{FileId, LineMap};

/// One directive's text, continuations joined, with the map back to the physical lines.
pub(crate) struct LogicalLine {
    pub text: String,
    pub map: LineMap,
}

/// Splits a source into logical lines.
pub(crate) fn logical_lines(src: &str, file: FileId) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut map = LineMap::new(file);
    let mut in_comment_block = false;
    for (idx, raw) in src.split('\n').enumerate() {
        let line_no = idx as u32 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let continues = line.ends_with('\\');
        if in_comment_block {
            in_comment_block = continues;
            continue;
        }
        if text.is_empty() {
            let trimmed = line.trim_start_matches([' ', '\t', '\r', '\x0b', '\x0c']);
            if trimmed.is_empty() {
                continue;
            }
            if let Some(comment) = trimmed.strip_prefix('#') {
                if continues && commented_rule(comment) {
                    in_comment_block = true;
                }
                continue;
            }
            let lead = line.len() - trimmed.len();
            map.clear();
            map.push(0, line_no, lead as u32 + 1);
            if continues {
                text.push_str(&trimmed[..trimmed.len() - 1]);
                continue;
            }
            text.push_str(trimmed);
        } else {
            map.push(text.len(), line_no, 1);
            if continues {
                text.push_str(&line[..line.len() - 1]);
                continue;
            }
            text.push_str(line);
        }
        out.push(LogicalLine {
            text: std::mem::take(&mut text),
            map: std::mem::replace(&mut map, LineMap::new(file)),
        });
    }
    if !text.is_empty() {
        out.push(LogicalLine { text, map });
    }
    out
}

/// `#SecRule ...` / `# SecAction ...`: libmodsecurity treats the `\` continuation of these
/// commented-out rules as part of the comment.
fn commented_rule(comment: &str) -> bool {
    let c = comment.trim_start_matches([' ', '\t']);
    // `get`: the prefix may end inside a multi-byte character (found by the fuzzer)
    let starts = |p: &str| c.get(..p.len()).is_some_and(|s| s.eq_ignore_ascii_case(p));
    starts("SecRule") || starts("SecAction")
}

/// An argument of a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    /// The text without its enclosing double quotes; nothing unescaped.
    pub text: &'a str,
    pub quoted: bool,
    /// Byte offset of `text` in the logical line.
    pub offset: usize,
    /// A quoted token whose closing quote is missing (accepted for action lists only).
    pub unterminated: bool,
}

/// How a token's end is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Plain,
    /// An action list: single-quoted values may contain blanks and double quotes.
    Actions,
}

/// Outcome of reading one token.
pub(crate) enum Next<'a> {
    Token(Token<'a>),
    /// End of line, or a trailing `#` comment.
    End,
    /// A double quote that is never closed; the offset of the opening quote.
    Unterminated(usize),
}

/// Reads the arguments of one logical line, one at a time.
pub(crate) struct Cursor<'a> {
    pub line: &'a str,
    pub pos: usize,
}

pub(crate) fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(line: &'a str, pos: usize) -> Cursor<'a> {
        Cursor { line, pos }
    }

    fn skip_blanks(&mut self) {
        let b = self.line.as_bytes();
        while self.pos < b.len() && is_blank(b[self.pos]) {
            self.pos += 1;
        }
    }

    /// The rest of the line from the next non-blank character (for error snippets).
    pub(crate) fn rest(&self) -> &'a str {
        let b = self.line.as_bytes();
        let mut p = self.pos;
        while p < b.len() && is_blank(b[p]) {
            p += 1;
        }
        &self.line[p..]
    }

    pub(crate) fn next(&mut self, mode: Mode) -> Next<'a> {
        self.skip_blanks();
        let b = self.line.as_bytes();
        if self.pos >= b.len() || b[self.pos] == b'#' {
            return Next::End;
        }
        if b[self.pos] == b'"' {
            let start = self.pos + 1;
            match scan(b, start, mode, true) {
                Some(end) => {
                    self.pos = end + 1;
                    Next::Token(Token {
                        text: &self.line[start..end],
                        quoted: true,
                        offset: start,
                        unterminated: false,
                    })
                }
                None => {
                    let open = self.pos;
                    self.pos = b.len();
                    Next::Unterminated(open)
                }
            }
        } else {
            let start = self.pos;
            let end = scan(b, start, mode, false).unwrap_or(b.len());
            self.pos = end;
            Next::Token(Token {
                text: &self.line[start..end],
                quoted: false,
                offset: start,
                unterminated: false,
            })
        }
    }
}

/// Finds the end of a token starting at `start`: the closing `"` (quoted) or the first blank
/// (unquoted). `None` when a quoted token is never closed.
fn scan(b: &[u8], start: usize, mode: Mode, quoted: bool) -> Option<usize> {
    let mut i = start;
    let mut backslashes = 0usize;
    // Action-list state: inside a '...' value, and whether this action already had its ':'.
    let mut in_single = false;
    let mut seen_colon = false;
    while i < b.len() {
        let c = b[i];
        let escaped = backslashes % 2 == 1;
        if c == b'\\' {
            backslashes += 1;
            i += 1;
            continue;
        }
        backslashes = 0;
        if in_single {
            if c == b'\'' && !escaped {
                in_single = false;
            }
            i += 1;
            continue;
        }
        if quoted {
            if c == b'"' && !escaped {
                return Some(i);
            }
        } else if is_blank(c) && !escaped {
            return Some(i);
        }
        if mode == Mode::Actions {
            match c {
                b',' => seen_colon = false,
                b':' if !seen_colon => {
                    seen_colon = true;
                    if b.get(i + 1) == Some(&b'\'') {
                        in_single = true;
                        i += 1;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    if quoted {
        None
    } else {
        Some(b.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(src: &str) -> Vec<(String, u32, u32)> {
        logical_lines(src, FileId(0))
            .into_iter()
            .map(|l| {
                let s = l.map.span(0);
                (l.text, s.line, s.column)
            })
            .collect()
    }

    #[test]
    fn continuations_join_and_keep_positions() {
        let src = "# c\n  SecRule A \\\n    \"B\" \\\r\n  \"C\"\nSecMarker X\n";
        let l = logical_lines(src, FileId(0));
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].text, "SecRule A     \"B\"   \"C\"");
        let s = l[0].map.span(l[0].text.find("\"C\"").unwrap());
        assert_eq!((s.line, s.column), (4, 3));
        let s = l[0].map.span(0);
        assert_eq!((s.line, s.column), (2, 3));
        assert_eq!(lines(src)[1], ("SecMarker X".to_string(), 5, 1));
    }

    #[test]
    fn comment_with_multibyte_text_does_not_panic() {
        let l = logical_lines("#SecRul\u{e9}\\\nSecMarker A\n", FileId(0));
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].text, "SecMarker A");
    }

    #[test]
    fn commented_out_rule_block_is_skipped() {
        let src = "#SecAction \\\n# \"id:1,\\\n  pass\"\nSecMarker A\n# plain \\\nSecMarker B\n";
        let got: Vec<String> = lines(src).into_iter().map(|l| l.0).collect();
        assert_eq!(got, vec!["SecMarker A", "SecMarker B"]);
    }

    #[test]
    fn tokens_quotes_and_actions() {
        let line = r#"SecRule ARGS "@rx a\"b c" "id:1,msg:'say "hi", ok',pass" # trailing"#;
        let mut c = Cursor::new(line, 7);
        let mut toks = Vec::new();
        for mode in [Mode::Plain, Mode::Plain, Mode::Actions] {
            match c.next(mode) {
                Next::Token(t) => toks.push(t.text),
                _ => panic!("expected token"),
            }
        }
        assert_eq!(
            toks,
            vec!["ARGS", r#"@rx a\"b c"#, r#"id:1,msg:'say "hi", ok',pass"#]
        );
        assert!(matches!(c.next(Mode::Plain), Next::End));
    }

    #[test]
    fn even_backslashes_end_a_quoted_token() {
        let line = r#"X "a\\" b"#;
        let mut c = Cursor::new(line, 1);
        match c.next(Mode::Plain) {
            Next::Token(t) => assert_eq!(t.text, r"a\\"),
            _ => panic!(),
        }
        let mut c = Cursor::new(r#"X "abc"#, 1);
        assert!(matches!(c.next(Mode::Plain), Next::Unterminated(2)));
    }
}
