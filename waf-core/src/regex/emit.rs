//! Writes a parsed pattern back as regex-syntax's syntax (for regex-automata, bytes mode) or as
//! fancy-regex's (for the backtracking fallback). Every PCRE flag is resolved at parse time, so
//! the output spells each construct out: a caseless `a` is `[aA]`, a DOTALL `.` is
//! `[\x00-\xFF]`, a multiline `^` is `(?m:^)`, and every byte that is not a letter, a digit or
//! `_` is written `\xHH`, which both syntaxes read as that byte in their bytes modes.

use super::pcre::{ClassItem, GroupKind, Look, Node, Perl};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// regex-syntax (regex-automata), with `unicode(false).utf8(false)`.
    Linear,
    /// fancy-regex, `BytesMode::Ascii`.
    Backtrack,
}

pub(crate) fn emit(node: &Node, target: Target) -> String {
    let mut out = String::new();
    write_node(node, target, &mut out);
    out
}

fn byte(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'_' {
        out.push(b as char);
    } else {
        let _ = write!(out, "\\x{b:02X}");
    }
}

fn perl(out: &mut String, kind: Perl, negated: bool) {
    let ch = match kind {
        Perl::Digit => 'd',
        Perl::Word => 'w',
        Perl::Space => 's',
    };
    out.push('\\');
    out.push(if negated { ch.to_ascii_uppercase() } else { ch });
}

fn is_atom(node: &Node) -> bool {
    matches!(
        node,
        Node::Byte { .. }
            | Node::Class(_)
            | Node::Dot { .. }
            | Node::Group(_)
            | Node::Fail
            | Node::NewlineSeq
            | Node::Backref { .. }
    )
}

fn write_node(node: &Node, t: Target, out: &mut String) {
    let linear = t == Target::Linear;
    match node {
        Node::Empty => {}
        Node::Byte { byte: b, caseless } => {
            if *caseless && b.is_ascii_alphabetic() {
                out.push('[');
                out.push(b.to_ascii_lowercase() as char);
                out.push(b.to_ascii_uppercase() as char);
                out.push(']');
            } else {
                byte(out, *b);
            }
        }
        Node::Class(c) => {
            if let [ClassItem::Perl { kind, negated }] = c.items.as_slice() {
                if !c.negated && !c.caseless {
                    perl(out, *kind, *negated);
                    return;
                }
            }
            let mut body = String::new();
            for item in &c.items {
                match item {
                    ClassItem::Range(a, b) => {
                        byte(&mut body, *a);
                        if a != b {
                            body.push('-');
                            byte(&mut body, *b);
                        }
                    }
                    ClassItem::Perl { kind, negated } => perl(&mut body, *kind, *negated),
                    ClassItem::Set { set, negated } => {
                        let ranges = set.ranges();
                        match (ranges.is_empty(), negated) {
                            (true, false) => {}
                            (true, true) => body.push_str("\\x00-\\xFF"),
                            (false, _) => {
                                body.push('[');
                                if *negated {
                                    body.push('^');
                                }
                                for (a, b) in ranges {
                                    byte(&mut body, a);
                                    if a != b {
                                        body.push('-');
                                        byte(&mut body, b);
                                    }
                                }
                                body.push(']');
                            }
                        }
                    }
                }
            }
            if body.is_empty() {
                // Matches nothing (or, negated, everything).
                out.push_str(if c.negated {
                    "[\\x00-\\xFF]"
                } else {
                    "[^\\x00-\\xFF]"
                });
                return;
            }
            if c.caseless {
                out.push_str("(?i:");
            }
            out.push('[');
            if c.negated {
                out.push('^');
            }
            out.push_str(&body);
            out.push(']');
            if c.caseless {
                out.push(')');
            }
        }
        Node::Dot { dotall: true } => out.push_str("[\\x00-\\xFF]"),
        Node::Dot { dotall: false } => out.push_str("[^\\x0A]"),
        Node::Look(l) => out.push_str(match (l, linear) {
            (Look::WordBoundary, _) => "\\b",
            (Look::NotWordBoundary, _) => "\\B",
            (Look::TextStart, _) | (Look::LineStart { multiline: false }, _) => "\\A",
            (Look::TextEnd, _) => "\\z",
            (Look::LineStart { multiline: true }, true) => "(?m:^)",
            // PCRE's multiline `^` does not match after a newline that ends the subject.
            (Look::LineStart { multiline: true }, false) => "(?:\\A|(?m:^)(?!\\z))",
            (Look::LineEnd { multiline: true }, _) => "(?m:$)",
            (Look::LineEnd { multiline: false }, _) | (Look::TextEndNewline, _) => "(?=\\x0A?\\z)",
        }),
        Node::Group(g) => {
            out.push_str(match g.kind {
                GroupKind::Capture(_) => "(",
                GroupKind::NonCapture => "(?:",
                GroupKind::Atomic => "(?>",
                GroupKind::Lookahead { negated: false } => "(?=",
                GroupKind::Lookahead { negated: true } => "(?!",
                GroupKind::Lookbehind { negated: false } => "(?<=",
                GroupKind::Lookbehind { negated: true } => "(?<!",
            });
            write_node(&g.node, t, out);
            out.push(')');
        }
        Node::Concat(items) => {
            for item in items {
                if matches!(item, Node::Alt(_)) {
                    out.push_str("(?:");
                    write_node(item, t, out);
                    out.push(')');
                } else {
                    write_node(item, t, out);
                }
            }
        }
        Node::Alt(branches) => {
            for (i, b) in branches.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_node(b, t, out);
            }
        }
        Node::Repeat(r) => {
            let atomic = r.possessive && !linear;
            if atomic {
                out.push_str("(?>");
            }
            if is_atom(&r.node) {
                write_node(&r.node, t, out);
            } else {
                out.push_str("(?:");
                write_node(&r.node, t, out);
                out.push(')');
            }
            match (r.min, r.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (n, None) => {
                    let _ = write!(out, "{{{n},}}");
                }
                (n, Some(m)) if n == m => {
                    let _ = write!(out, "{{{n}}}");
                }
                (n, Some(m)) => {
                    let _ = write!(out, "{{{n},{m}}}");
                }
            }
            if !r.greedy {
                out.push('?');
            }
            if atomic {
                out.push(')');
            }
        }
        Node::Backref { group, caseless } => {
            if *caseless {
                let _ = write!(out, "(?i:\\k<{group}>)");
            } else {
                let _ = write!(out, "\\k<{group}>");
            }
        }
        Node::NewlineSeq => out.push_str("(?>\\x0D\\x0A|[\\x0A-\\x0D\\x85])"),
        Node::KeepOut => out.push_str("\\K"),
        Node::Fail => out.push_str("[^\\x00-\\xFF]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regex::pcre::parse;

    fn lin(p: &str) -> String {
        emit(&parse(p.as_bytes()).unwrap().node, Target::Linear)
    }

    #[test]
    fn spelled_out() {
        assert_eq!(lin(r"\x{c2}\x{b4}"), r"\xC2\xB4");
        assert_eq!(lin("a{"), r"a\x7B");
        assert_eq!(lin("[a[b]"), r"[a\x5Bb]");
        assert_eq!(lin(r"\<a\>"), r"\x3Ca\x3E");
        assert_eq!(lin("(?i)ab"), "[aA][bB]");
        assert_eq!(lin("(?i)[a-c]"), r"(?i:[a-c])");
        assert_eq!(lin("."), r"[\x00-\xFF]");
        assert_eq!(lin("(?-s)."), r"[^\x0A]");
        assert_eq!(lin("^a$"), r"(?m:^)a(?m:$)");
        assert_eq!(lin(r"\s*+;"), r"\s*\x3B");
        assert_eq!(lin(r"a{2,}?"), r"a{2,}?");
        assert_eq!(lin("é"), r"\xC3\xA9");
        assert_eq!(lin("[&&]"), r"[\x26\x26]");
        assert_eq!(lin(r"\v"), r"[[\x0A-\x0D\x85]]");
        assert_eq!(lin("(?:ab)*"), "(?:ab)*");
        assert_eq!(lin("ab*"), "ab*");
        assert_eq!(lin("a|b"), "a|b");
    }
}
