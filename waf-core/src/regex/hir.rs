//! Builds regex-syntax's HIR straight from the parsed pattern, for the linear engine.
//!
//! [`super::emit`] writes the same tree as text in regex-syntax's syntax; parsing that text back
//! was more than half of CRS's load time. This module is the same translation without the text:
//! construct by construct it gives what regex-syntax's translator gives for `emit`'s output (in
//! bytes mode, `unicode(false)`), through the same smart constructors (`Hir::concat` merges
//! literals, `Hir::class` turns a one-byte class into a literal, ...). A test checks that the
//! two agree, HIR for HIR, on every CRS pattern and on the unit tests' patterns.
//!
//! The same walk also builds the pattern's lowercased tree ([`linear_hir_lowercased`]), which
//! the prefilters (literals, required bytes) are worked out from at load; the case-exact tree
//! is built only with the engine. The test above checks that the lowercased tree gives the
//! prefilters that lowercasing the case-exact one gives.
//!
//! What regex-syntax refuses in `emit`'s output (look-around, atomic groups, back references,
//! `\K`, `\R`'s atomic group) is refused here too; [`super::analyze`] sends such patterns to the
//! backtracking fallback before they get here.

use super::pcre::{ByteSet, Class, ClassItem, GroupKind, Look, Node};
use regex_syntax::hir::{self, ClassBytes, ClassBytesRange, Hir};

/// regex-syntax's nesting limit as the linear engine is configured (`syntax_config`): its
/// compilers recurse over the tree.
const NEST_LIMIT: usize = 1000;

/// The HIR regex-syntax would give for `emit(node, Target::Linear)`.
pub(crate) fn linear_hir(node: &Node) -> Result<Hir, String> {
    Builder {
        next_capture: 1,
        lowercase: false,
    }
    .node(node, 0)
}

/// [`linear_hir`] with every literal byte and class ASCII-lowercased ([`lowercase_class`]):
/// the tree the prefilters are worked out from (its literals are searched without regard to
/// case). The same as lowercasing [`linear_hir`]'s tree, without building that tree first;
/// refused where [`linear_hir`] is.
pub(crate) fn linear_hir_lowercased(node: &Node) -> Result<Hir, String> {
    Builder {
        next_capture: 1,
        lowercase: true,
    }
    .node(node, 0)
}

struct Builder {
    /// regex-syntax numbers groups in the order their `(` appears, from 1.
    next_capture: u32,
    /// Build [`linear_hir_lowercased`]'s tree.
    lowercase: bool,
}

/// A class ASCII-lowercased: each range minus its upper-case letters when it has only those,
/// plus the lower-case letters that stand in for them (one range: the letters of a range are
/// consecutive); sorted once by `ClassBytes::new` (pushing letters one by one re-sorted the
/// class at each push).
pub(crate) fn lowercase_class(c: &ClassBytes) -> ClassBytes {
    let mut ranges = Vec::with_capacity(c.ranges().len() * 2);
    for r in c.iter() {
        let (s, e) = (r.start(), r.end());
        if !(s >= b'A' && e <= b'Z') {
            ranges.push(ClassBytesRange::new(s, e));
        }
        let (a, z) = (s.max(b'A'), e.min(b'Z'));
        if a <= z {
            ranges.push(ClassBytesRange::new(a + 32, z + 32));
        }
    }
    ClassBytes::new(ranges)
}

fn bytes_class(set: ByteSet) -> ClassBytes {
    ClassBytes::new(
        set.ranges()
            .into_iter()
            .map(|(a, b)| ClassBytesRange::new(a, b)),
    )
}

/// As regex-syntax translates a bracketed class: the items' union, case-folded under `(?i)`,
/// then negated; nested classes likewise, each on its own first.
fn class(c: &Class) -> ClassBytes {
    let mut cls = ClassBytes::empty();
    for item in &c.items {
        match item {
            ClassItem::Range(a, b) => cls.push(ClassBytesRange::new(*a, *b)),
            ClassItem::Perl { kind, negated } => {
                let set = kind.set();
                cls.union(&bytes_class(if *negated { set.negate() } else { set }));
            }
            // `emit` writes an empty nested class as nothing, a negated one as `\x00-\xFF`.
            ClassItem::Set { set, negated } if set.ranges().is_empty() => {
                if *negated {
                    cls.push(ClassBytesRange::new(0, 255));
                }
            }
            ClassItem::Set { set, negated } => {
                let mut nested = bytes_class(*set);
                fold_and_negate(&mut nested, c.caseless, *negated);
                cls.union(&nested);
            }
        }
    }
    fold_and_negate(&mut cls, c.caseless, c.negated);
    cls
}

/// Case folding before negation, as regex-syntax does (`(?i)[^x]` excludes `X` too).
fn fold_and_negate(cls: &mut ClassBytes, caseless: bool, negated: bool) {
    if caseless {
        cls.case_fold_simple();
    }
    if negated {
        cls.negate();
    }
}

impl Builder {
    fn node(&mut self, node: &Node, depth: usize) -> Result<Hir, String> {
        if depth > NEST_LIMIT {
            return Err("the pattern nests too deeply".into());
        }
        let d = depth + 1;
        Ok(match node {
            Node::Empty => Hir::empty(),
            Node::Byte { byte, .. } => match self.literal_byte(node) {
                Some(b) => Hir::literal([b]),
                // a caseless letter in the case-exact tree
                None => {
                    let (lo, up) = (byte.to_ascii_lowercase(), byte.to_ascii_uppercase());
                    Hir::class(hir::Class::Bytes(ClassBytes::new([
                        ClassBytesRange::new(lo, lo),
                        ClassBytesRange::new(up, up),
                    ])))
                }
            },
            Node::Class(c) => Hir::class(hir::Class::Bytes(self.cased(class(c)))),
            Node::Dot { dotall } => {
                let mut cls = ClassBytes::new([ClassBytesRange::new(b'\n', b'\n')]);
                if *dotall {
                    cls = ClassBytes::new([ClassBytesRange::new(0, 255)]);
                } else {
                    cls.negate();
                }
                Hir::class(hir::Class::Bytes(self.cased(cls)))
            }
            Node::Look(l) => Hir::look(match l {
                Look::WordBoundary => hir::Look::WordAscii,
                Look::NotWordBoundary => hir::Look::WordAsciiNegate,
                Look::TextStart | Look::LineStart { multiline: false } => hir::Look::Start,
                Look::TextEnd => hir::Look::End,
                Look::LineStart { multiline: true } => hir::Look::StartLF,
                Look::LineEnd { multiline: true } => hir::Look::EndLF,
                Look::LineEnd { multiline: false } | Look::TextEndNewline => {
                    return Err("`$` outside multiline mode needs look-ahead".into())
                }
            }),
            Node::Group(g) => match g.kind {
                GroupKind::Capture(_) => {
                    let index = self.next_capture;
                    self.next_capture += 1;
                    Hir::capture(hir::Capture {
                        index,
                        name: None,
                        sub: Box::new(self.node(&g.node, d)?),
                    })
                }
                GroupKind::NonCapture => self.node(&g.node, d)?,
                GroupKind::Atomic | GroupKind::Lookahead { .. } | GroupKind::Lookbehind { .. } => {
                    return Err("look-around and atomic groups need the fallback".into())
                }
            },
            Node::Concat(items) => {
                // runs of literal bytes made into one literal here, as `Hir::concat` would
                // merge them (one small literal each, then merged, was a tenth of CRS's load)
                let mut subs = Vec::with_capacity(items.len());
                let mut run = Vec::new();
                for item in items {
                    match self.literal_byte(item) {
                        Some(b) => run.push(b),
                        None => {
                            if !run.is_empty() {
                                subs.push(Hir::literal(std::mem::take(&mut run)));
                            }
                            subs.push(self.node(item, d)?);
                        }
                    }
                }
                if !run.is_empty() {
                    subs.push(Hir::literal(run));
                }
                Hir::concat(subs)
            }
            Node::Alt(branches) => Hir::alternation(self.nodes(branches, d)?),
            // Possessive repetitions reach here only where dropping the `+` changes nothing.
            Node::Repeat(r) => Hir::repetition(hir::Repetition {
                min: r.min,
                max: r.max,
                greedy: r.greedy,
                sub: Box::new(self.node(&r.node, d)?),
            }),
            Node::Backref { .. } | Node::NewlineSeq | Node::KeepOut => {
                return Err("back references, \\R and \\K need the fallback".into())
            }
            Node::Fail => Hir::fail(),
        })
    }

    /// The byte `node` is a literal of, as this builder makes it (a caseless letter is a class
    /// in the case-exact tree).
    fn literal_byte(&self, node: &Node) -> Option<u8> {
        match node {
            Node::Byte { byte, .. } if self.lowercase => Some(byte.to_ascii_lowercase()),
            Node::Byte { byte, caseless } if !(*caseless && byte.is_ascii_alphabetic()) => {
                Some(*byte)
            }
            _ => None,
        }
    }

    fn cased(&self, c: ClassBytes) -> ClassBytes {
        if self.lowercase {
            lowercase_class(&c)
        } else {
            c
        }
    }

    fn nodes(&mut self, nodes: &[Node], depth: usize) -> Result<Vec<Hir>, String> {
        nodes.iter().map(|n| self.node(n, depth)).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_the_text_round_trip() {
        for p in [
            r"\x{c2}\x{b4}|a{",
            "(a)(b)?c",
            "(?i)abc[a-c][^x]",
            r"(?i)[^\d\W]",
            r"[[:alpha:][:^digit:]]",
            r"(?i)[[:^lower:]x]",
            r"[\v\h]\V\H",
            ".(?-s).",
            r"^a$|\Ab\z|\bc\B",
            r"(?:ab)*?c{2,5}d{3}e{2,}?",
            r"\s*+;",
            "a||b",
            "(?:)*",
            r"(a(b(c)))|(d)",
            "[^\\x00-\\xff]",
            "[\\x00-\\xff]",
            r"x$",
            r"(?=a)",
            r"(a)\1",
            r"a\Kb",
            r"\R",
            "é[é]",
            "(?i)é",
        ] {
            super::super::Regex::direct_hir_agrees(p.as_bytes()).unwrap();
        }
    }
}
