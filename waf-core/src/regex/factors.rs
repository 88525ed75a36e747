//! Literals one of which every match of a pattern holds somewhere in it: the grouped matcher's
//! prefilter for patterns whose matches have no common start or end.
//!
//! regex-syntax's extractor gives the literals every match starts (or ends) with; CRS has
//! patterns where that set is not finite or holds a one-byte literal, because some branch
//! starts with a class or an optional part (`[\s(]load_file`, 942360; `["'`]...|\b...`,
//! 942190), yet every branch has a literal of two bytes or more inside it. Without a set those
//! patterns ran on every value. (`\([\s]*[^\w]child_process`, 934100, gets one too, but it is
//! a `multiMatch` rule, which the matcher leaves out.)
//!
//! From the HIR: a literal is its own set; a concatenation's parts that match exactly a few
//! strings are joined into their products (`[s]` `el` `[e]` `ct` → `select`: caseless letters
//! are one-letter classes in the lowercased tree), and the concatenation takes the rarest set
//! of any run of such parts or of any other part; an alternation takes the union of its
//! branches' sets (each branch needs one); a repetition run at least once takes its body's.
//! Zero-width assertions (`\b`, `^`) are skipped over. A part also knows, where it can, the
//! literals its matches start with, and a concatenation that starts with literals joins them
//! to those of the part after them: CRS's command lists are trees of common starts
//! (`l(?:z(?:ma[\s&|,<>]|cat)|s(?:of|usb)[\s&|,<>])`), whose words have short tails of their
//! own (`ma` before a class) but whose whole words (`lzma`) make a set. A concatenation of
//! parts that each match exactly a few strings is itself exact, their whole product, when it
//! fits in a set (even where a join was no rarer than its parts: its exactness lets the
//! concatenation around it go on joining); and where a part's starts are too many to join,
//! their first bytes are, if few: 930100's slashes (`/`, `\`, `%2f`, `%c0%af`...) then its
//! dots (`.`, `?`, `%2e`, `0x2e`...) make `/.`, `/?`, `/%`, `/0`, `%2f.`... A set is "rarest" by
//! a rough frequency of its literals ([`frequency`]), and refused past [`MAX_COST`]
//! ([`within`]).
//!
//! One-byte literals are not kept in such a set, even of uncommon bytes (`'`, `(`, `@`: 941170
//! and 942190 would have sets with them): measured, the automaton's extra matches on ordinary
//! values (every `(` of a cookie) cost the benign requests more than the patterns it kept off
//! (1.4% more instructions; a 64 KB JSON body 1.9% fewer). Such patterns keep their required
//! bytes ([`super::required_bytes`]). A pattern with no set at all may still get a set of
//! "escape" bytes and literals ([`escape_factors`]): every match holds one of the bytes or,
//! having none, one of the literals (942190: a quote, or `information_schema`...).
//!
//! The sets are not free on attacks: a rule they bring into a group still runs its regex on a
//! value that holds its literal, after the automaton has scanned the value (CRS's regression
//! inputs: 0.7% more instructions, with the `t:normalizePath` shortcut that came with them;
//! the benign set 0.2% fewer, a 64 KB JSON body 3.4% fewer).

use super::pcre::ByteSet;
use super::required_bytes::{weight, MAX_WEIGHT};
use regex_syntax::hir::{Class, ClassBytes, Hir, HirKind};

/// The most literals a set may hold (regex-syntax's extractor stops at about 250; 932260's
/// command names are 272 before those that hold another are left out).
const MAX_SET: usize = 320;

/// The most bytes of a class taken as that many one-byte strings.
const MAX_CLASS: usize = 8;

/// What a part of a pattern contributes.
struct Part {
    /// One of these occurs in every match.
    literals: Vec<Vec<u8>>,
    /// Every match is one of them.
    exact: bool,
    /// When not exact: literals one of which every match starts with, if known (`[""]` says
    /// nothing, but a literal before the part still starts every match of the two).
    starts: Option<Vec<Vec<u8>>>,
}

/// The set of a pattern whose matches have no common start or end: its
/// [`required_factors`], or failing those its [`escape_factors`]; and when nothing else would
/// keep it off a value (`alone`: no required bytes either), failing both, the same with a
/// higher budget ([`last_resort_factors`]): it would run on every value, and each value the
/// set keeps it off is a search saved. The pattern is walked for its plain set once.
pub(super) fn inner_factors(lower: &Hir, alone: bool) -> Option<Vec<Vec<u8>>> {
    let plain = restricted(lower, &ByteSet::EMPTY, true);
    within(plain.as_deref(), MAX_COST)
        .or_else(|| escape_factors(lower))
        .or_else(|| {
            alone
                .then(|| last_resort(lower, plain.as_deref()))
                .flatten()
        })
}

/// Literals (as they are in `lower`, sorted, distinct) one of which occurs in every match of
/// `lower`, the rarest such set found; `None` without a usable one.
#[cfg(test)]
pub(super) fn required_factors(lower: &Hir) -> Option<Vec<Vec<u8>>> {
    within(
        restricted(lower, &ByteSet::EMPTY, true).as_deref(),
        MAX_COST,
    )
}

/// Like [`required_factors`], then [`escape_factors`], with the higher budget
/// ([`MAX_COST_ALONE`]) of [`inner_factors`]' last resort.
#[cfg(test)]
pub(super) fn last_resort_factors(lower: &Hir) -> Option<Vec<Vec<u8>>> {
    last_resort(lower, restricted(lower, &ByteSet::EMPTY, true).as_deref())
}

/// [`last_resort_factors`], given the pattern's plain set.
fn last_resort(lower: &Hir, plain: Option<&[Vec<u8>]>) -> Option<Vec<Vec<u8>>> {
    within(plain, MAX_COST_ALONE).or_else(|| escape_factors_within(lower, MAX_COST_ALONE, true))
}

/// The set, if it is one (not empty) and costs `max_cost` at most, without literals that
/// hold another. ([`MAX_COST`], the grouped matcher's: past it, a set's literals (`on`, `or`,
/// `and`) turn up in so many values that the automaton's extra matches cost more than the
/// searches they save.)
fn within(literals: Option<&[Vec<u8>]>, max_cost: f64) -> Option<Vec<Vec<u8>>> {
    literals
        .filter(|l| !l.is_empty() && cost(l) <= max_cost)
        .map(|l| minimal(l.to_vec()))
}

/// The most a set of [`last_resort_factors`] may cost. CRS 4.28's patterns that take one:
/// 932260's 240 command names (2.56); 932250's escape bytes and 58 short command words (3.89:
/// `ls`, `wc`...); PL2's 942210 (1.22, `or`, `and`...), 942330 and 942340; PL3's 932238.
/// Up to 8.0 no other pattern of CRS 4.28 or 3.3.4 takes one: the room is for new commands.
/// With them, a 1 MB JSON body costs 12.6% fewer instructions at PL1 (18.3% at PL2, 7.2% on
/// CRS 3.3.4), a 1 MB form 14.3%; the regression inputs and the benign requests within 0.3%.
const MAX_COST_ALONE: f64 = 8.0;

/// Like [`required_factors`], for a pattern none of whose sets is usable because it is full
/// of optional punctuation: a set of "escape" bytes, each as a literal of its own, and
/// literals one of which every match *without* an escape byte holds. A match holds an escape
/// byte, or it is a match of the pattern with every escape byte taken out of it, whose factors
/// it then holds. 942190 starts a branch with a quote, the others with words. CRS's command
/// patterns (932230, 932235, 932340) allow quotes, `\`, `$` and `[` between the letters of
/// each word, and start with a separator (`;`, `&&`, `=`, `` ` ``...) or a wrapper command
/// (`busybox`, `env`, `eval`, `nohup`...): with those bytes out, the wrappers' names.
/// (932250 and 932260 may also start at the start of the value, before hundreds of command
/// words: no set here. A set of "a line start, or these" was tried, told by a search
/// anchored at the start: the benign requests cost 2% more, the lazy DFA building states for
/// the anchored start of such large patterns. 932260's words are a set
/// [`last_resort_factors`] takes; 932250's, two letters long with junk between them, are not.)
///
/// The escapes: every uncommon punctuation byte the pattern names (`;`, quotes, `\`, `$`...,
/// and `&`, `=`; not `/`, `%` or `,`, whose one-byte matches would cost the automaton more on
/// ordinary values than the patterns save), then each one whose removal still leaves a set
/// and makes the whole one rarer is given back. (With `/`, `%`, `=` and `,` among the
/// candidates, CRS 4.28's benign requests cost 1.2% more instructions than without; with `&`
/// and `=` alone, 1.1% fewer, the command patterns in the groups.)
pub(super) fn escape_factors(lower: &Hir) -> Option<Vec<Vec<u8>>> {
    escape_factors_within(lower, MAX_COST, false)
}

/// [`escape_factors`] with a budget of `max_cost` for the literals, its walks with or without
/// the parts' starts ([`Walk::starts`]).
fn escape_factors_within(lower: &Hir, max_cost: f64, starts: bool) -> Option<Vec<Vec<u8>>> {
    let affordable = |literals: &[Vec<u8>]| cost(literals) <= max_cost;
    // first with every uncommon byte out: giving bytes back only lets more strings match, so
    // without a good set now there will be none (932250 and 932260 stop here)
    let uncommon = ByteSet::from_fn(uncommon);
    if !restricted(lower, &uncommon, starts).is_some_and(|l| affordable(&l)) {
        return None;
    }
    let mut named = ByteSet::EMPTY;
    punctuation(lower, &mut named);
    // Each try is a walk of the whole pattern (932230's kin: 8,000 bytes): the light bytes
    // (line breaks, tabs, control bytes), which gain little one by one, are given back
    // together, in one try before the others'.
    let light = ByteSet::from_fn(|b| named.contains(b) && weight(b) < 3);
    let mut candidates: Vec<u8> = (0..=255u8)
        .filter(|&b| named.contains(b) && weight(b) >= 3)
        .collect();
    candidates.sort_by_key(|&b| std::cmp::Reverse(weight(b)));
    let total = |escape: &ByteSet, literals: &[Vec<u8>]| {
        f64::from(weight_of(escape)) / 100.0 + cost(literals)
    };
    let mut escape = named;
    let mut literals = restricted(lower, &escape, starts)?;
    let tries = std::iter::once(light).chain(candidates.into_iter().map(|b| {
        let mut one = ByteSet::EMPTY;
        one.insert(b);
        one
    }));
    for given_back in tries {
        let fewer = escape.intersect_not(&given_back);
        if fewer == escape {
            continue;
        }
        if let Some(l) = restricted(lower, &fewer, starts) {
            if total(&fewer, &l) < total(&escape, &literals) {
                (escape, literals) = (fewer, l);
            }
        }
    }
    // (no literal left: every match holds an escape byte, and the pattern's required bytes
    // (`super::required_bytes`) already keep it off the values without one, at no cost to the
    // others; as 1-byte literals they would cost the automaton a match at each)
    if literals.is_empty()
        || escape == ByteSet::EMPTY
        || weight_of(&escape) > MAX_ESCAPE_WEIGHT
        || !affordable(&literals)
    {
        return None;
    }
    literals.extend((0..=255u8).filter(|&b| escape.contains(b)).map(|b| vec![b]));
    Some(minimal(literals))
}

/// The most the escape bytes may weigh together: the command patterns' separators (`;`, `|`,
/// `&`, `=`, `` ` ``, `{`, `$`, `<`, `>`, `(`, line breaks) weigh 44.
const MAX_ESCAPE_WEIGHT: u32 = 2 * MAX_WEIGHT;

/// A byte that may be an escape: uncommon punctuation, and the shell's `&` and `=`, which
/// separate commands in the command patterns (932230, 932235, 932340: with them, their sets
/// are the wrapper commands' names and the separators). Not `/`, `%` or `,`: with them too,
/// the benign requests cost 1.2% more.
fn uncommon(b: u8) -> bool {
    b == b'=' || b == b'&' || (!b.is_ascii_alphanumeric() && weight(b) <= 3)
}

/// The bytes' weights ([`weight`]) added up.
fn weight_of(bytes: &ByteSet) -> u32 {
    (0..=255u8).filter(|&b| bytes.contains(b)).map(weight).sum()
}

/// The factors of `lower` with the `escape` bytes taken out of it: `Some(empty)` when nothing
/// is left of it (every match holds an escape byte).
fn restricted(lower: &Hir, escape: &ByteSet, starts: bool) -> Option<Vec<Vec<u8>>> {
    let part = factor(lower, &Walk { escape, starts })?;
    if part.is_dead() {
        return Some(Vec::new());
    }
    usable(part.literals)
}

/// Sorted, distinct, and without a literal that holds another (found wherever that one is:
/// only the other is searched).
fn minimal(mut literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    literals.sort();
    literals.dedup();
    let all = literals.clone();
    literals.retain(|l| {
        !all.iter()
            .any(|o| o.len() < l.len() && l.windows(o.len()).any(|w| w == &o[..]))
    });
    literals
}

/// Adds the uncommon punctuation `hir` names in its literals and small classes: the
/// candidate escapes.
fn punctuation(hir: &Hir, into: &mut ByteSet) {
    let mut add = |b: u8| {
        if uncommon(b) {
            into.insert(b);
        }
    };
    match hir.kind() {
        HirKind::Literal(l) => l.0.iter().for_each(|&b| add(b)),
        HirKind::Class(Class::Bytes(c)) if class_set(c).len() <= MAX_CLASS => {
            c.iter().flat_map(|r| r.start()..=r.end()).for_each(add);
        }
        HirKind::Repetition(r) => punctuation(&r.sub, into),
        HirKind::Capture(c) => punctuation(&c.sub, into),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().for_each(|p| punctuation(p, into))
        }
        HirKind::Empty | HirKind::Look(_) | HirKind::Class(_) => {}
    }
}

/// The bytes of a class, a range at a time.
fn class_set(c: &ClassBytes) -> ByteSet {
    let mut set = ByteSet::EMPTY;
    c.iter().for_each(|r| set.insert_range(r.start(), r.end()));
    set
}

/// How often a literal turns up in ordinary values, roughly: the product of its bytes'
/// frequencies (letters and space about 0.4, digits 0.2, uncommon punctuation 0.03).
fn frequency(literal: &[u8]) -> f64 {
    literal
        .iter()
        .map(|&b| f64::from(weight(b)) / 100.0)
        .product()
}

/// The set if a prefilter can use it: literals of [`super::MIN_LITERAL`] bytes or more (as
/// the extractor's), not too many.
fn usable(literals: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
    is_usable(&literals).then_some(literals)
}

/// Whether [`usable`] takes the set.
fn is_usable(literals: &[Vec<u8>]) -> bool {
    !literals.is_empty()
        && literals.len() <= MAX_SET
        && literals.iter().all(|l| l.len() >= super::MIN_LITERAL)
}

/// A set's cost: its literals' frequencies, each counted as at least [`RARE_ENOUGH`].
fn cost(literals: &[Vec<u8>]) -> f64 {
    literals.iter().map(|l| frequency(l).max(RARE_ENOUGH)).sum()
}

/// The most a whole set may cost. (At 0.2 it left out 942360, whose 17 SQL words cost
/// 0.204, and which then ran on every argument: at 0.25 it is in, with 942120 and 942362 of
/// PL2, and CRS 4.28's benign requests cost 1.0% fewer instructions, a 300 KB JSON body 2.5%
/// fewer, the regression inputs 0.4% fewer; up to 0.4, no other rule of CRS joins.)
const MAX_COST: f64 = 0.25;

/// A literal this rare is as good as a longer one: making it longer (a product with a class
/// of six spaces) multiplies the literals for nothing.
const RARE_ENOUGH: f64 = 1e-3;

/// The rarer of two usable sets.
fn rarer(best: Option<Vec<Vec<u8>>>, other: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
    match rarer_than(best.as_deref(), &other) {
        true => Some(other),
        false => best,
    }
}

/// Whether [`rarer`] takes `other` over `best`: it is usable and costs less.
fn rarer_than(best: Option<&[Vec<u8>]>, other: &[Vec<u8>]) -> bool {
    is_usable(other) && !best.is_some_and(|b| cost(b) <= cost(other))
}

impl Part {
    /// A part no string matches (every one of its matches would hold an escape byte).
    fn dead() -> Part {
        Part {
            literals: Vec::new(),
            exact: true,
            starts: None,
        }
    }

    /// A part about which nothing is known but that each of its matches starts with the
    /// empty string: what a wide class or an optional part is to the literal before it.
    fn opaque() -> Part {
        Part {
            literals: vec![Vec::new()],
            exact: false,
            starts: Some(vec![Vec::new()]),
        }
    }

    /// Literals one of which every match starts with.
    fn starts(&self) -> Option<&[Vec<u8>]> {
        if self.exact {
            Some(&self.literals)
        } else {
            self.starts.as_deref()
        }
    }

    fn is_dead(&self) -> bool {
        self.exact && self.literals.is_empty()
    }
}

fn exact(literals: Vec<Vec<u8>>) -> Option<Part> {
    Some(Part {
        literals,
        exact: true,
        starts: None,
    })
}

/// Every concatenation of a literal of `a` with one of `b`.
fn products(a: &[Vec<u8>], b: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut l = x.clone();
            l.extend_from_slice(y);
            out.push(l);
        }
    }
    out
}

/// Whether the product of `a` and `b` is small enough to be made.
fn fits(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    a.len().saturating_mul(b.len()) <= MAX_SET
}

/// `a` made the product of `a` and `b` (which [`fits`]), in place when `b` is one literal or
/// `a` the empty string: a word's letters, one at a time, are most products, and a pattern's
/// walks ([`escape_factors`] makes about twenty of a command pattern's 8,000 bytes) made a
/// set for each.
fn join(a: &mut Vec<Vec<u8>>, b: &[Vec<u8>]) {
    match (&a[..], b) {
        (_, [one]) => a.iter_mut().for_each(|x| x.extend_from_slice(one)),
        ([empty], _) if empty.is_empty() => *a = b.to_vec(),
        _ => *a = products(a, b),
    }
}

/// [`cost`] of the product of `a` and `b`, without making it (each literal's frequency
/// worked out in the same order, and summed in the same order, as for the product).
fn product_cost(a: &[Vec<u8>], b: &[Vec<u8>]) -> f64 {
    a.iter()
        .flat_map(|x| {
            let fx = frequency(x);
            b.iter().map(move |y| {
                y.iter()
                    .fold(fx, |f, &c| f * (f64::from(weight(c)) / 100.0))
                    .max(RARE_ENOUGH)
            })
        })
        .sum()
}

/// How a pattern is walked: the escape bytes taken out of it, and whether its parts' starts
/// are worked out and joined ([`Walk::starts`]).
struct Walk<'a> {
    escape: &'a ByteSet,
    /// Whether wide classes and optional parts are passed over and concatenations' leading
    /// literals joined to the starts after them (`Part::starts`). Without, they make a part
    /// with no set, as before leads were known: [`escape_factors`]'s own walks (about twenty
    /// of each command pattern) go without, as with them CRS 4.28's first load took 108M more
    /// instructions (a tenth more) for sets of the grouped matcher's budget little different
    /// (942120's, 932130's).
    starts: bool,
}

fn factor(hir: &Hir, w: &Walk) -> Option<Part> {
    let escape = w.escape;
    match hir.kind() {
        // zero-width: the empty string, which a product leaves as it is
        HirKind::Empty | HirKind::Look(_) => exact(vec![Vec::new()]),
        HirKind::Literal(l) if l.0.iter().any(|&b| escape.contains(b)) => Some(Part::dead()),
        HirKind::Literal(l) => exact(vec![l.0.to_vec()]),
        HirKind::Class(Class::Bytes(c)) => {
            if class_set(c).intersect_not(escape).len() > MAX_CLASS {
                return w.starts.then(Part::opaque);
            }
            let literals: Vec<Vec<u8>> = c
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .filter(|&b| !escape.contains(b))
                .map(|b| vec![b])
                .collect();
            (literals.len() <= MAX_CLASS).then_some(Part {
                literals,
                exact: true,
                starts: None,
            })
        }
        // not made by the linear engine's translation (bytes mode); no claim about it
        HirKind::Class(Class::Unicode(_)) => None,
        HirKind::Repetition(r) if r.max == Some(0) => exact(vec![Vec::new()]),
        // an optional part that cannot match is not there at all (the escapes' junk)
        HirKind::Repetition(r) if r.min == 0 => match factor(&r.sub, w) {
            Some(sub) if escape != &ByteSet::EMPTY && sub.is_dead() => exact(vec![Vec::new()]),
            // (`x?` of a few strings: those or none, `f?grep`)
            Some(sub)
                if w.starts && r.max == Some(1) && sub.exact && sub.literals.len() < MAX_CLASS =>
            {
                let mut literals = sub.literals;
                literals.push(Vec::new());
                exact(literals)
            }
            _ => w.starts.then(Part::opaque),
        },
        HirKind::Repetition(r) => {
            let sub = factor(&r.sub, w)?;
            if sub.is_dead() {
                return Some(sub);
            }
            // (each match starts with one of the body's)
            let starts = sub.starts().filter(|_| w.starts).map(<[_]>::to_vec);
            Some(Part {
                literals: sub.literals,
                // (`x{1}` is `x`; more copies are not worth the products)
                exact: sub.exact && r.min == 1 && r.max == Some(1),
                starts,
            })
        }
        HirKind::Capture(c) => factor(&c.sub, w),
        HirKind::Alternation(branches) => {
            let mut literals = Vec::new();
            let mut all_exact = true;
            // the starts of the branches that are not exact (an exact one's are its literals,
            // whose places in `literals` are kept): the union's, needed only when one is not
            let mut starts = w.starts.then(Vec::new);
            let mut exact_places = Vec::new();
            for b in branches {
                let part = factor(b, w)?;
                all_exact &= part.exact;
                if part.exact {
                    exact_places.push(literals.len()..literals.len() + part.literals.len());
                } else {
                    starts = starts.zip(part.starts).map(|(mut s, p)| {
                        s.extend(p);
                        s
                    });
                }
                literals.extend(part.literals);
                if literals.len() > MAX_SET {
                    return None;
                }
            }
            let starts = starts.filter(|_| !all_exact).map(|mut s| {
                exact_places
                    .into_iter()
                    .for_each(|r| s.extend_from_slice(&literals[r]));
                shortest_starts(s)
            });
            Some(Part {
                literals,
                exact: all_exact,
                starts,
            })
        }
        HirKind::Concat(parts) => concat(parts, w),
    }
}

/// A concatenation: runs of exact parts are joined into their products; the rarest usable set
/// of a run or of another part stands for the whole (exact only when one run covers it all).
/// A part that cannot match makes the whole unable to.
fn concat(parts: &[Hir], w: &Walk) -> Option<Part> {
    let mut best: Option<Vec<Vec<u8>>> = None;
    let mut run: Option<Vec<Vec<u8>>> = Some(vec![Vec::new()]);
    let mut whole = true;
    // the product of every part while each is exact and it fits, whether or not the runs
    // were joined for rarity (past [`RARE_ENOUGH`] a join is no rarer, and the run is cut):
    // the whole is still exactly these strings (930100's `(?:e|f(?:8%8)?0%8)0%80%a)f`, whose
    // exactness lets its slashes be joined to its dots)
    // (a walk without starts, `escape_factors`' own, has no use for it)
    let mut all: Option<Vec<Vec<u8>>> = w.starts.then(|| vec![Vec::new()]);
    // the literals every match starts with: the product of the exact parts from the first,
    // and of the starts of the part after them (`a` `(?:[\s]|dec)` → `a`; CRS's command
    // lists are trees of such, `l(?:z(?:ma[\s]|...)|...)`); growing while `leading`
    let mut lead = vec![Vec::new()];
    let mut leading = w.starts;
    for p in parts {
        let part = factor(p, w);
        all = match (all, &part) {
            (Some(mut a), Some(part)) if part.exact && fits(&a, &part.literals) => {
                join(&mut a, &part.literals);
                Some(a)
            }
            _ => None,
        };
        if leading {
            let starts = part.as_ref().and_then(Part::starts);
            leading = part.as_ref().is_some_and(|p| p.exact);
            // (a class of more than a few bytes after a word, `ma[\s&|,<>]`, would make it
            // as many literals, one for each, for little: the lead stops before it;
            // `php[57]`, `[ef]?grep` and a word before white space, `desc[\s\x0b]+`, are
            // joined)
            let wide_class = starts
                .is_some_and(|s| s.len() > MAX_JOINED_CLASS && s.iter().all(|l| l.len() <= 1));
            match starts.filter(|s| !wide_class && fits(&lead, s)) {
                Some(s) => {
                    join(&mut lead, s);
                    // (exact while it grows; the starts of the part that ends it,
                    // `(?:ma|cat)\s+`, may be shortened to those no other starts with, as
                    // nothing is joined after them)
                    if !leading && lead.len() > 1 {
                        lead = shortest_starts(lead);
                    }
                }
                None => {
                    // too many starts to join: their first bytes, when those are few, end
                    // the lead (930100's slashes, `/` `\` `%2f`..., then its dots' `.` `?`
                    // `%` `0`: each match starts with a slash and a dot's first byte)
                    if let Some(firsts) = starts.filter(|_| !wide_class).map(first_bytes) {
                        if firsts.len() <= MAX_FIRST_BYTES && fits(&lead, &firsts) {
                            join(&mut lead, &firsts);
                            lead = shortest_starts(lead);
                        }
                    }
                    leading = false;
                }
            }
        }
        match part {
            Some(part) if part.is_dead() => return Some(part),
            // (`\b`, `^`: nothing to join)
            Some(part) if part.exact && part.literals.iter().all(Vec::is_empty) => {}
            Some(part) if part.exact => {
                // joined while that makes a set rarer than either; the first part is the run
                // (a product with the empty string: `n~v`, a command's letters with the
                // escapes' junk between them, stays exact, and so `e~(?:n~v|v~a~l)` is
                // `env`, `eval`)
                // (the product's cost is worked out before it is made: most are not)
                let joins = run.as_deref().is_some_and(|r| match r {
                    [empty] if empty.is_empty() => true,
                    _ => {
                        fits(r, &part.literals) && {
                            let joined = product_cost(r, &part.literals);
                            joined < cost(r) && joined < cost(&part.literals)
                        }
                    }
                });
                match run.as_mut() {
                    Some(r) if joins => join(r, &part.literals),
                    _ => {
                        whole = false;
                        if let Some(r) = run.take() {
                            best = rarer(best, r);
                        }
                        run = Some(part.literals);
                    }
                }
            }
            other => {
                whole = false;
                if let Some(r) = run.take() {
                    best = rarer(best, r);
                }
                if let Some(part) = other {
                    best = rarer(best, part.literals);
                }
            }
        }
    }
    if whole {
        return exact(run.unwrap_or_default());
    }
    if let Some(all) = all {
        return exact(all);
    }
    if let Some(r) = run {
        best = rarer(best, r);
    }
    if !w.starts {
        return best.map(|literals| Part {
            literals,
            exact: false,
            starts: None,
        });
    }
    // the lead when it is rarer (copied only then)
    let literals = match best {
        Some(b) if !rarer_than(Some(&b), &lead) => b,
        _ => lead.clone(),
    };
    Some(Part {
        literals,
        exact: false,
        starts: Some(lead),
    })
}

/// The most one-byte literals (a class) a concatenation's leading literals are joined to:
/// white space, `[\s\x0b]`, is six. CRS's SQL keywords are mostly followed by it, and the
/// keyword alone is in ordinary names and words (942360's `desc`, `load`, `create`, `update`
/// in a JSON body's `description`, `created_at`, `download`): joined, `desc ` and its five
/// others keep those values off the pattern (a 1 MB JSON body of product lines, whose 5,500
/// `...description` names each ran 942360's regex: 1.6% fewer instructions, ~5% less time),
/// for ~0.1 MB more heap in CRS 4's automaton.
const MAX_JOINED_CLASS: usize = 6;

/// The most first bytes of a part's starts joined to the lead when the starts themselves
/// are too many ([`first_bytes`]).
const MAX_FIRST_BYTES: usize = 4;

/// The first byte of each of `starts` (an empty one stays empty), sorted and distinct: what
/// every match that starts with one of them starts with.
fn first_bytes(starts: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut firsts: Vec<Vec<u8>> = starts
        .iter()
        .map(|s| s[..s.len().min(1)].to_vec())
        .collect();
    firsts.sort();
    firsts.dedup();
    firsts
}

/// Sorted and distinct, without a literal that starts with another (a match that starts
/// with the longer one starts with the shorter).
fn shortest_starts(mut literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    literals.sort();
    literals.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(literals.len());
    for l in literals {
        // (sorted: the literals that start with one follow it)
        if !kept.last().is_some_and(|k| l.starts_with(k)) {
            kept.push(l);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set `find` gives `pattern`'s lowercased tree, as text.
    fn set_of(pattern: &str, find: fn(&Hir) -> Option<Vec<Vec<u8>>>) -> Option<Vec<String>> {
        let parsed = super::super::parse(pattern.as_bytes()).unwrap();
        let lower = super::super::hir::linear_hir_lowercased(&parsed.node).unwrap();
        find(&lower).map(|ls| {
            ls.iter()
                .map(|l| String::from_utf8_lossy(l).to_string())
                .collect()
        })
    }

    fn factors(pattern: &str) -> Option<Vec<String>> {
        set_of(pattern, required_factors)
    }

    fn strings(s: &[&str]) -> Option<Vec<String>> {
        Some(s.iter().map(|x| x.to_string()).collect())
    }

    #[test]
    fn sets_come_from_inside_the_pattern() {
        // a class, then a word: the word
        assert_eq!(
            factors(r"[^a-z]child_process\("),
            strings(&["child_process("])
        );
        // caseless letters are joined into words
        assert_eq!(factors(r"(?i)\bselect\s+from"), strings(&["select"]));
        // each branch gives one
        assert_eq!(
            factors(r#"["']\s*!=|\bexec\s+master\.|from\W+information_schema"#),
            strings(&["!=", "information_schema", "master."])
        );
        // a literal holding another is left out
        assert_eq!(factors(r"ab|cabd"), strings(&["ab"]));
        // a product is made while it is rarer than its parts, and in whole when every part
        // is exact
        assert_eq!(factors(r"[\s(]load_file\w"), strings(&["load_file"]));
        assert_eq!(
            factors(r"[ (]load_file"),
            strings(&[" load_file", "(load_file"])
        );
        // the rarest of a concatenation's parts
        assert_eq!(factors(r"\w+ as\b\s*\w+\s*\bfrom"), strings(&["from"]));
        // one-letter literals are too common
        assert_eq!(factors(r"a\w?c"), None);
        // (an optional letter is one more word)
        assert_eq!(factors(r"ab?c"), strings(&["abc", "ac"]));
        assert_eq!(factors(r"\w(?:a;|c<){1,3}y"), strings(&["a;", "c<"]));
        // a literal before it: each match starts with it and one of the body's
        assert_eq!(factors(r"x(?:a;|c<){1,3}y"), strings(&["xa;", "xc<"]));
    }

    /// A concatenation of exact parts stays exact past the rarity floor (`%` `(?:e|ff)`
    /// `0%80%af`: the join after the second is no rarer), so the slashes it is one of are
    /// joined to what follows them; and when what follows has too many starts, to their
    /// first bytes (930100's shape: 27 slashes, `/` among them, times 17 dots is past
    /// `MAX_SET`; no part alone has a usable set).
    #[test]
    fn slashes_are_joined_to_the_first_bytes_of_many_dots() {
        let dots = [
            r"\.",
            r"\.x",
            r"\?a",
            r"\?b",
            "%2e",
            "%252e",
            "%c0%ae",
            "%c0%2e",
            "%u002e",
            "%uff0e",
            "%u2024",
            "%e0%80%ae",
            "%f0%80%ae",
            "%%32e",
            "%%32%45",
            "0x2e",
            "0x2E0",
        ];
        let pattern = format!(
            "(?:/|s[0-2][0-7]/|%(?:e|ff)0%80%af)(?:{}){{2,3}}/",
            dots.join("|")
        );
        // (`s00/.`... hold `/.`: left out)
        let expected: Vec<String> = ["%e0%80%af", "%ff0%80%af", "/"]
            .iter()
            .flat_map(|s| ["%", ".", "0", "?"].map(|b| format!("{s}{b}")))
            .collect();
        assert_eq!(factors(&pattern), Some(expected));
        // (with few dots, their starts are joined whole, as before)
        assert_eq!(
            factors(r"(?:a/|%(?:e|ff)0%af)(?:\.|%2e){2}"),
            strings(&[
                "%e0%af%2e",
                "%e0%af.",
                "%ff0%af%2e",
                "%ff0%af.",
                "a/%2e",
                "a/."
            ])
        );
    }

    fn escapes(pattern: &str) -> Option<Vec<String>> {
        set_of(pattern, escape_factors)
    }

    #[test]
    fn optional_punctuation_becomes_escape_bytes() {
        // junk between the letters of a word: the junk's bytes, or the word
        assert_eq!(
            escapes(r#"b["'\\]*u["'\\]*s["'\\]*y"#),
            strings(&["\"", "'", "\\", "busy"])
        );
        // an optional part that needs an escape byte is left out
        assert_eq!(escapes(r"sel(?:;x)*ect"), strings(&[";", "select"]));
        // a branch made of escapes alone is left out whole (here by its quotes: the `!` after
        // them is given back first, and then neither quote can be)
        assert_eq!(
            escapes(r#"["']\s*!|\bexec master"#),
            strings(&["\"", "'", "exec master"])
        );
        // only uncommon punctuation is taken out (not `%`, `/`, `-`...)
        assert_eq!(escapes(r"se%?lect"), None);
        // no words without them: left to the pattern's required bytes
        assert_eq!(escapes(r"[;|]\w+"), None);
        // nothing to take out
        assert_eq!(escapes(r"\w+"), None);
        assert_eq!(escapes(r"a|b"), None);
    }

    #[test]
    fn command_words_split_by_junk_are_joined() {
        // 932230's shape: a separator or a wrapper, the letters of each name with quotes and
        // backslashes between them, then a command
        let junk = r#"["'\x5c]*"#;
        let pattern = format!(
            r"(?:[;&=]|e{junk}(?:n{junk}v|v{junk}a{junk}l)|n{junk}o{junk}h{junk}u{junk}p)\s*(?:cat|ls)\b"
        );
        assert_eq!(
            escapes(&pattern),
            strings(&["\"", "&", "'", ";", "=", "\\", "env", "eval", "nohup"])
        );
    }

    #[test]
    fn words_are_joined_across_their_common_starts() {
        // 932260's shape: each word's own tail is short (`ma`, `of`), the whole words are not;
        // an optional letter is one more word (`perl5?`), a wide class after a word ends it,
        // white space is joined to it
        let spaced = |w: &str| ["\t", "\n", "\x0b", "\x0c", "\r", " "].map(|s| format!("{w}{s}"));
        let mut words: Vec<String> = ["lsof", "lsusb", "lzcat", "lzma"]
            .map(String::from)
            .to_vec();
        words.extend(["perl", "perl5", "pexx"].into_iter().flat_map(spaced));
        assert_eq!(
            factors(
                r"(?:^|;)\s*(?:l(?:z(?:ma[\s&|,<>]|cat)|s(?:of|usb)[\s&|,<>])|pe(?:rl5?|xx)\s+\w)"
            ),
            Some(words)
        );
        // white space after a word is joined to it (`like\s+`: six literals, `like\t`...),
        // a wider class is not
        assert_eq!(
            factors(r"\b(?:like|rlike)[\s\x0b]+\w"),
            Some(spaced("like").to_vec())
        );
        assert_eq!(
            factors(r"\b(?:like|rlike)[\s\x0b,;]+\w"),
            strings(&["like"])
        );
        // (942360's last branch: a `description` has `desc` but not `desc `)
        let keywords = factors(r"^[^a-z]+(?:(?:de(?:lete|sc)|drop)[\s\x0b]+\w|union)").unwrap();
        assert!(keywords.contains(&"desc ".to_string()), "{keywords:?}");
        assert!(!keywords.contains(&"desc".to_string()), "{keywords:?}");
        assert_eq!(keywords.len(), 19, "{keywords:?}");
    }

    #[test]
    fn a_pattern_nothing_else_keeps_off_gets_a_costly_set() {
        // common words: too costly for the grouped matcher's budget, but better than a search
        // of every value
        let words = r"(?:^|=)\s*(?:or|and|not|set|diff|find|perl)\b";
        assert_eq!(factors(words), None);
        assert_eq!(
            set_of(words, last_resort_factors),
            strings(&["and", "diff", "find", "not", "or", "perl", "set"])
        );
        // 932250's shape: short words with quotes and backslashes between their letters,
        // at the start or after a separator: the bytes, or the words without them (`;` is
        // given back: a word follows it as it follows the start)
        let junk = r#"["'\x5c]*"#;
        let words = format!(r"(?:^|;)\s*(?:l{junk}s|w{junk}c)\b");
        assert_eq!(factors(&words), None);
        assert_eq!(escapes(&words), None);
        assert_eq!(
            set_of(&words, last_resort_factors),
            strings(&["\"", "'", "\\", "ls", "wc"])
        );
        // (still none without a literal in every match)
        assert_eq!(set_of(r"^\w+$", last_resort_factors), None);
    }

    #[test]
    fn no_set_without_a_literal_in_every_branch() {
        assert_eq!(factors(r"\w+"), None);
        assert_eq!(factors(r"a|;"), None);
        // words that turn up in most text
        assert_eq!(factors(r"\W(?:and|or|on)\W"), None);
        // (two of them cost 0.224, under the limit)
        assert_eq!(factors(r"\W(?:and|or)\W"), strings(&["and", "or"]));
        // a one-byte literal is too common, even a quote
        assert_eq!(factors(r#"["'](?:\s*!)|\bexec\s+master\."#), None);
        assert_eq!(factors(r"select|\d+"), None);
        assert_eq!(factors(r"(?:select)?"), None);
        assert_eq!(factors(r"^$"), None);
    }
}
