//! Which parsed patterns the linear engine can run with PCRE's results, and which need the
//! backtracking fallback.
//!
//! Besides the constructs a finite automaton cannot express (look-around, back references,
//! atomic groups, `\K`, `\Z`), two PCRE behaviours need care:
//!
//! - **Possessive quantifiers** (`a*+`) never give back what they matched. Dropping the `+`
//!   changes nothing when what follows can never start with a byte the repeated item matched
//!   (`\s*+;`), or when nothing at all follows. For an unbounded possessive repeat of a
//!   single-byte class C, [`rewrite_possessive`] also moves PCRE's implied condition "the next
//!   byte is not in C" into what follows, where an automaton can express it: `\s*+[^;]+`
//!   becomes `\s*[^;\s][^;]*`, `\s*+\w*?x` becomes `\s*(?:x|\w\w*?x)` with `x` rewritten
//!   the same way, a multiline `$` after a class holding `\n` becomes `\z`. (Simply dropping
//!   the `+` would be wrong: libmodsecurity 3.0.15 does not match `^a=\s*+[^;]+$` against
//!   `a=   `, `^a=\s*[^;]+$` does.) Any other possessive quantifier sends the pattern to the
//!   fallback.
//! - **`^` in multiline mode** does not match after a newline that ends the subject in PCRE
//!   (`^$` does not match `"a\n"`), while regex-automata's `(?m:^)` does. That can only change
//!   a result when the rest of the pattern can finish without consuming anything; such
//!   patterns are flagged, and the caller re-checks the rare matches that end at the end of a
//!   subject ending in `\n`.

use super::pcre::{ByteSet, Class, ClassItem, Group, GroupKind, Look, Node, Repeat};

/// What [`analyze`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Analysis {
    /// Why the pattern needs the backtracking engine (the first reason found).
    pub(crate) fallback: Option<&'static str>,
    /// A multiline `^` may be asserted with nothing consumed after it (see the module doc).
    pub(crate) line_start_at_end: bool,
}

/// What a node can match first.
#[derive(Debug, Clone, Copy)]
struct First {
    /// Bytes it can consume first.
    set: ByteSet,
    /// It can match without consuming.
    nullable: bool,
    /// It only ever matches the empty string, unconditionally (no assertion).
    trivial: bool,
}

/// What may follow a node, up to the end of the pattern.
#[derive(Debug, Clone, Copy)]
struct Follow {
    set: ByteSet,
    /// The rest of the pattern can complete without consuming.
    nullable: bool,
    /// Nothing at all follows (no assertion, no item).
    end: bool,
}

impl Follow {
    const END: Follow = Follow {
        set: ByteSet::EMPTY,
        nullable: true,
        end: true,
    };
    const UNKNOWN: Follow = Follow {
        set: ByteSet::ALL,
        nullable: true,
        end: false,
    };

    fn after(first: First, then: Follow) -> Follow {
        if first.nullable {
            Follow {
                set: first.set.union(then.set),
                nullable: then.nullable,
                end: then.end && first.trivial,
            }
        } else {
            Follow {
                set: first.set,
                nullable: false,
                end: false,
            }
        }
    }
}

/// Removes the possessive quantifiers whose meaning can be moved into what follows them (see
/// the module doc); the others are left for [`analyze`] to judge.
pub(crate) fn rewrite_possessive(node: &mut Node) {
    rewrite(node, true, Mode::Exact);
}

/// [`rewrite_possessive`], except that where what follows a possessive run is not known (the
/// run, or a branch after it, ends a group that a loop or more of the pattern follows), the
/// way through that would need it is dropped: the pattern then matches a subset of what PCRE
/// matches, a match of it being one of PCRE's. (CRS 3.3.4's 920600 checks `Accept` with
/// `;\s*+(?:charset...|param=value|;?)` in a loop: the `;?` branch, taken empty, leaves the
/// next byte to the loop. Its usual values match without that way, on the linear engine.)
pub(crate) fn rewrite_possessive_subset(node: &mut Node) {
    rewrite(node, true, Mode::Subset);
}

/// How [`rewrite_possessive`] treats a way through it cannot rewrite exactly.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// It leaves the possessive run as it is (for the fallback).
    Exact,
    /// It drops the way ([`rewrite_possessive_subset`]).
    Subset,
}

fn rewrite(node: &mut Node, at_end: bool, mode: Mode) {
    match node {
        Node::Concat(items) => rewrite_seq(items, at_end, mode),
        Node::Alt(branches) => {
            for b in branches {
                rewrite(b, at_end, mode);
            }
        }
        Node::Group(g) => match g.kind {
            // (a way dropped in a negative look-around would let more through)
            GroupKind::Lookahead { .. } | GroupKind::Lookbehind { .. } => {
                rewrite(&mut g.node, false, Mode::Exact)
            }
            _ => rewrite(&mut g.node, at_end, mode),
        },
        Node::Repeat(r) => {
            rewrite(&mut r.node, false, mode);
            if r.possessive {
                let mut seq = vec![std::mem::replace(node, Node::Empty)];
                rewrite_seq(&mut seq, at_end, mode);
                *node = if seq.len() == 1 {
                    seq.pop().unwrap_or(Node::Empty)
                } else {
                    Node::Concat(seq)
                };
            }
        }
        _ => {}
    }
}

fn rewrite_seq(items: &mut Vec<Node>, at_end: bool, mode: Mode) {
    let n = items.len();
    // the items from `trivial_from` on only ever match the empty string (worked out before
    // any is rewritten, as each item's test sees the ones after it unrewritten)
    let trivial_from = if at_end {
        n - items.iter().rev().take_while(|x| first(x).trivial).count()
    } else {
        n
    };
    for (i, item) in items.iter_mut().enumerate() {
        let child_at_end = at_end && i + 1 >= trivial_from;
        if !matches!(item, Node::Repeat(r) if r.possessive) {
            rewrite(item, child_at_end, mode);
        } else if let Node::Repeat(r) = item {
            rewrite(&mut r.node, false, mode);
        }
    }
    let mut i = 0;
    while i < items.len() {
        let candidate = match &items[i] {
            Node::Repeat(r) if r.possessive && r.max.is_none() => single_byte(&r.node),
            _ => None,
        };
        if let Some(c) = candidate {
            if let Some(rest) = push(&items[i + 1..], c, at_end, mode) {
                items.truncate(i + 1);
                items.extend(rest);
                if let Node::Repeat(r) = &mut items[i] {
                    r.possessive = false;
                    r.greedy = true;
                }
            }
        }
        i += 1;
    }
}

fn class_node(set: ByteSet) -> Node {
    let ranges = set.ranges();
    if ranges.is_empty() {
        return Node::Fail;
    }
    Node::Class(Box::new(Class {
        negated: false,
        items: ranges
            .into_iter()
            .map(|(a, b)| ClassItem::Range(a, b))
            .collect(),
        caseless: false,
    }))
}

fn has_capture(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Group(g) => {
            matches!(g.kind, GroupKind::Capture(_)) || has_capture(std::slice::from_ref(&g.node))
        }
        Node::Repeat(r) => has_capture(std::slice::from_ref(&r.node)),
        Node::Concat(v) | Node::Alt(v) => has_capture(v),
        _ => false,
    })
}

fn as_items(node: &Node) -> Vec<Node> {
    match node {
        Node::Concat(v) => v.clone(),
        Node::Empty => Vec::new(),
        n => vec![n.clone()],
    }
}

fn seq_node(mut items: Vec<Node>) -> Node {
    match items.len() {
        0 => Node::Empty,
        1 => items.pop().unwrap_or(Node::Empty),
        _ => Node::Concat(items),
    }
}

/// `rest` rewritten so that it only matches where the byte after the possessive run is not in
/// `c` (or the text ends), as PCRE's possessive run implies; `None` if that cannot be written
/// without look-ahead.
fn push(rest: &[Node], c: ByteSet, at_end: bool, mode: Mode) -> Option<Vec<Node>> {
    let Some((first_node, tail)) = rest.split_first() else {
        // Nothing follows at all: the greedy run takes everything first and succeeds there.
        // (Something follows, not known here: in `Subset` mode, no way through.)
        return match (at_end, mode) {
            (true, _) => Some(Vec::new()),
            (false, Mode::Subset) => Some(vec![Node::Fail]),
            (false, Mode::Exact) => None,
        };
    };
    let with_tail = |head: Vec<Node>| -> Vec<Node> {
        let mut v = head;
        v.extend(tail.iter().cloned());
        v
    };
    match first_node {
        Node::Byte { .. } | Node::Class(_) | Node::Dot { .. } => {
            let d = single_byte(first_node)?;
            Some(with_tail(vec![class_node(d.intersect_not(&c))]))
        }
        Node::Repeat(r) if !r.possessive => {
            let d = single_byte(&r.node)?;
            if r.max == Some(0) {
                let mut v = vec![first_node.clone()];
                v.extend(push(tail, c, at_end, mode)?);
                return Some(v);
            }
            let rest_repeat = Node::Repeat(Box::new(Repeat {
                node: r.node.clone(),
                min: r.min.saturating_sub(1),
                max: r.max.map(|m| m - 1),
                greedy: r.greedy,
                possessive: false,
            }));
            let consuming = with_tail(vec![class_node(d.intersect_not(&c)), rest_repeat]);
            if r.min >= 1 {
                return Some(consuming);
            }
            if has_capture(tail) {
                return None;
            }
            let pending = seq_node(push(tail, c, at_end, mode)?);
            let consuming = seq_node(consuming);
            let branches = if r.greedy {
                vec![consuming, pending]
            } else {
                vec![pending, consuming]
            };
            Some(vec![Node::Group(Box::new(Group {
                kind: GroupKind::NonCapture,
                node: Node::Alt(branches),
            }))])
        }
        // A following possessive run of a wider class takes the given-back bytes again.
        Node::Repeat(r) if r.possessive && r.min == 0 && r.max.is_none() => {
            let d = single_byte(&r.node)?;
            (c.union(d) == d).then(|| rest.to_vec())
        }
        Node::Look(Look::LineEnd { multiline: true }) => {
            if c.contains(b'\n') {
                Some(with_tail(vec![Node::Look(Look::TextEnd)]))
            } else {
                Some(rest.to_vec())
            }
        }
        Node::Look(Look::TextEnd) => Some(rest.to_vec()),
        Node::Group(g) if matches!(g.kind, GroupKind::Capture(_) | GroupKind::NonCapture) => {
            let branches: Vec<Node> = match &g.node {
                Node::Alt(bs) => bs.clone(),
                n => vec![n.clone()],
            };
            let mut out = Vec::with_capacity(branches.len());
            for b in &branches {
                out.push(seq_node(push(&as_items(b), c, false, mode)?));
            }
            let body = if out.len() == 1 {
                out.pop().unwrap_or(Node::Empty)
            } else {
                Node::Alt(out)
            };
            Some(with_tail(vec![Node::Group(Box::new(Group {
                kind: g.kind.clone(),
                node: body,
            }))]))
        }
        _ => None,
    }
}

pub(crate) fn analyze(node: &Node) -> Analysis {
    let mut a = Analysis::default();
    walk(node, Follow::END, uses_follow(node), &mut a);
    a
}

/// Whether some item's verdict depends on what follows it (a possessive repetition, a
/// multiline `^`). Without one, the walk does not work out what follows each item (what each
/// item of a sequence matches first), which was most of the analysis's cost on CRS.
fn uses_follow(node: &Node) -> bool {
    match node {
        Node::Concat(items) | Node::Alt(items) => items.iter().any(uses_follow),
        Node::Group(g) => uses_follow(&g.node),
        Node::Repeat(r) => r.possessive || uses_follow(&r.node),
        Node::Look(Look::LineStart { multiline: true }) => true,
        _ => false,
    }
}

/// [`Analysis::fallback`]'s reason for a possessive run.
pub(crate) const POSSESSIVE: &str = "a possessive quantifier";

fn need(a: &mut Analysis, why: &'static str) {
    if a.fallback.is_none() {
        a.fallback = Some(why);
    }
}

/// `track`: work out `follow` ([`uses_follow`]); when `false`, `follow` is not used.
fn walk(node: &Node, follow: Follow, track: bool, a: &mut Analysis) {
    match node {
        Node::Concat(items) => {
            let mut cur = follow;
            for item in items.iter().rev() {
                walk(item, cur, track, a);
                if track {
                    cur = Follow::after(first(item), cur);
                }
            }
        }
        Node::Alt(branches) => {
            for b in branches {
                walk(b, follow, track, a);
            }
        }
        Node::Group(g) => match g.kind {
            GroupKind::Lookahead { .. } | GroupKind::Lookbehind { .. } => {
                need(a, "lookaround");
                walk(&g.node, Follow::UNKNOWN, track, a);
            }
            GroupKind::Atomic => {
                need(a, "an atomic group");
                walk(&g.node, follow, track, a);
            }
            GroupKind::Capture(_) | GroupKind::NonCapture => walk(&g.node, follow, track, a),
        },
        Node::Repeat(r) => {
            if r.possessive {
                let safe = follow.end
                    || single_byte(&r.node)
                        .is_some_and(|s| !follow.nullable && !s.intersects(&follow.set));
                if !safe {
                    need(a, POSSESSIVE);
                }
            }
            let body_follow = if track && r.max.map_or(true, |m| m > 1) {
                let f = first(&r.node);
                Follow {
                    set: f.set.union(follow.set),
                    nullable: follow.nullable || f.nullable,
                    end: false,
                }
            } else {
                follow
            };
            walk(&r.node, body_follow, track, a);
        }
        Node::Look(l) => match l {
            Look::LineStart { multiline: true } if follow.nullable => a.line_start_at_end = true,
            Look::LineEnd { multiline: false } => need(a, "$ without multiline mode"),
            Look::TextEndNewline => need(a, "\\Z"),
            _ => {}
        },
        Node::Backref { .. } => need(a, "a backreference"),
        Node::KeepOut => need(a, "\\K"),
        Node::NewlineSeq => need(a, "\\R"),
        Node::Empty | Node::Byte { .. } | Node::Class(_) | Node::Dot { .. } | Node::Fail => {}
    }
}

/// The bytes a single-byte item matches (a literal, a class, a dot, possibly in groups).
fn single_byte(node: &Node) -> Option<ByteSet> {
    match node {
        Node::Byte { byte, caseless } => {
            let mut s = ByteSet::EMPTY;
            s.insert(*byte);
            Some(if *caseless { s.case_fold() } else { s })
        }
        Node::Class(c) => Some(c.set()),
        Node::Dot { dotall } => Some(dot_set(*dotall)),
        Node::Group(g) if matches!(g.kind, GroupKind::Capture(_) | GroupKind::NonCapture) => {
            single_byte(&g.node)
        }
        _ => None,
    }
}

fn dot_set(dotall: bool) -> ByteSet {
    if dotall {
        ByteSet::ALL
    } else {
        let mut nl = ByteSet::EMPTY;
        nl.insert(b'\n');
        nl.negate()
    }
}

fn first(node: &Node) -> First {
    let consuming = |set| First {
        set,
        nullable: false,
        trivial: false,
    };
    let assertion = First {
        set: ByteSet::EMPTY,
        nullable: true,
        trivial: false,
    };
    match node {
        Node::Empty => First {
            set: ByteSet::EMPTY,
            nullable: true,
            trivial: true,
        },
        Node::Byte { .. } | Node::Class(_) | Node::Dot { .. } => {
            consuming(single_byte(node).unwrap_or(ByteSet::ALL))
        }
        Node::Look(_) | Node::KeepOut => assertion,
        Node::Group(g) => match g.kind {
            GroupKind::Lookahead { .. } | GroupKind::Lookbehind { .. } => assertion,
            _ => first(&g.node),
        },
        Node::Concat(items) => {
            let mut acc = First {
                set: ByteSet::EMPTY,
                nullable: true,
                trivial: true,
            };
            for item in items {
                let f = first(item);
                acc.set = acc.set.union(f.set);
                acc.trivial &= f.trivial;
                if !f.nullable {
                    acc.nullable = false;
                    acc.trivial = false;
                    break;
                }
            }
            acc
        }
        Node::Alt(branches) => {
            let mut acc = First {
                set: ByteSet::EMPTY,
                nullable: false,
                trivial: true,
            };
            for b in branches {
                let f = first(b);
                acc.set = acc.set.union(f.set);
                acc.nullable |= f.nullable;
                acc.trivial &= f.trivial;
            }
            acc
        }
        Node::Repeat(r) => {
            if r.max == Some(0) {
                return First {
                    set: ByteSet::EMPTY,
                    nullable: true,
                    trivial: true,
                };
            }
            let f = first(&r.node);
            First {
                set: f.set,
                nullable: r.min == 0 || f.nullable,
                trivial: f.trivial,
            }
        }
        Node::Backref { .. } => First {
            set: ByteSet::ALL,
            nullable: true,
            trivial: false,
        },
        Node::NewlineSeq => {
            let mut s = ByteSet::EMPTY;
            s.insert_range(b'\n', b'\r');
            s.insert(0x85);
            consuming(s)
        }
        Node::Fail => consuming(ByteSet::EMPTY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regex::pcre::parse;

    fn an(p: &str) -> Analysis {
        analyze(&parse(p.as_bytes()).unwrap().node)
    }

    #[test]
    fn possessive_safe_or_not() {
        assert_eq!(an(r"\s*+;").fallback, None);
        assert_eq!(an(r"charset\s*+=\s*+\x22?(?:iso|utf)").fallback, None);
        assert_eq!(an(r"a++").fallback, None);
        assert_eq!(an(r"(?:ab|a)*+").fallback, None);
        assert_eq!(an(r"a*+a").fallback, Some("a possessive quantifier"));
        assert_eq!(an(r"\w*+\b").fallback, Some("a possessive quantifier"));
        assert_eq!(
            an(r"[a-z]*+(?:x|$)").fallback,
            Some("a possessive quantifier")
        );
        assert_eq!(an(r"(?:ab|a)*+b").fallback, Some("a possessive quantifier"));
    }

    fn rw(p: &str) -> (Analysis, String) {
        let mut n = parse(p.as_bytes()).unwrap().node;
        rewrite_possessive(&mut n);
        (
            analyze(&n),
            crate::regex::emit::emit(&n, crate::regex::emit::Target::Linear),
        )
    }

    #[test]
    fn possessive_rewritten() {
        assert_eq!(
            rw(r"^a=\s*+[^;]+$"),
            (
                Analysis::default(),
                r"(?m:^)a\x3D\s*[\x00-\x08\x0E-\x1F\x21-\x3A\x3C-\xFF][^\x3B]*(?m:$)".to_string()
            )
        );
        let (a, _) = rw(r"[^?\w\s=.,;)(]++\s*?[(@\x22'`]*?\s*?\w+\W+\w");
        assert_eq!(a.fallback, None);
        let (a, t) = rw(r"a\s*+$");
        assert_eq!((a.fallback, t.as_str()), (None, r"a\s*\z"));
        let (a, _) = rw(r"(a\s*+)x");
        assert_eq!(a.fallback, None);
        let (a, _) = rw(r"(a\s*+)\s");
        assert_eq!(a.fallback, Some("a possessive quantifier"));
        assert_eq!(rw(r"\s*+(?:\s*+;|x)").0.fallback, None);
        // the end of a group is not the end of the pattern: `[ab]*+` keeps the `b` from `b`
        let (a, _) = rw(r"(?:a(?:[ab]*+))b");
        assert_eq!(a.fallback, Some("a possessive quantifier"));
        let re = crate::regex::Regex::new(r"(?:a(?:[ab]*+))b").unwrap();
        assert!(!re.is_match(b"aab") && !re.is_match(b"abb"));
    }

    #[test]
    fn fallback_constructs() {
        assert_eq!(an("<\\?(?!xml)").fallback, Some("lookaround"));
        assert_eq!(an("(a)\\1").fallback, Some("a backreference"));
        assert_eq!(an("(?>a)").fallback, Some("an atomic group"));
        assert_eq!(an("a\\Z").fallback, Some("\\Z"));
        assert_eq!(an("(?-m)a$").fallback, Some("$ without multiline mode"));
        assert_eq!(an("a$").fallback, None);
    }

    #[test]
    fn line_start_at_end() {
        assert!(an("^$").line_start_at_end);
        assert!(an("a\\n^").line_start_at_end);
        assert!(an("^\\s*$").line_start_at_end);
        assert!(an("(?:^|,)x?").line_start_at_end);
        assert!(!an("^a").line_start_at_end);
        assert!(!an("(?:^|,)x").line_start_at_end);
        assert!(!an("(?-m)^$").line_start_at_end);
    }
}
