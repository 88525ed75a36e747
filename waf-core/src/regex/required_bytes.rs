//! A set of bytes one of which every match of a pattern holds: a prefilter that needs no
//! literal.
//!
//! The grouped matcher ([`crate::matcher`]) skips a pattern when none of the literals its
//! matches start or end with is in the value. Many CRS patterns have no such literal of two
//! bytes (the RCE evasion patterns of 932xxx start with a class, `(?:^|[^a-z])`, or an optional
//! part), so they ran on every value. Yet most of them cannot match without some punctuation
//! (`;`, `|`, `$(`, `<`, a quote) that ordinary values rarely hold. This module finds, from the
//! HIR, a set of bytes such that every match contains at least one of them: for a
//! concatenation, the rarest such set of any one of its parts; for an alternation, the union of
//! its branches' sets (each branch must have one); for a repetition, its body's when it runs
//! at least once. A value with none of those bytes cannot match, and is answered without
//! running the engine (or building it). Sets made of common bytes (letters, digits, space)
//! are not worth a pass over the value and are dropped.
//!
//! Only the linear engine's patterns get a set, computed from the same HIR it runs: the test
//! is a necessary condition of a match of that HIR, so it never turns a match into none.

use super::pcre::ByteSet;
use regex_syntax::hir::{Class, Hir, HirKind};

/// How often a byte turns up in ordinary request values, in rough units: a set whose
/// bytes add up past [`MAX_WEIGHT`] passes most values and is not worth checking.
pub(super) fn weight(b: u8) -> u32 {
    match b {
        b'a'..=b'z' | b' ' => 40,
        b'0'..=b'9' | b'A'..=b'Z' => 20,
        b'.' | b'-' | b'_' | b'/' | b'=' | b'&' | b'%' | b'+' | b':' | b',' => 8,
        0x80..=0xff => 2,
        b'\t' | b'\n' | b'\r' => 2,
        0..=0x1f | 0x7f => 1,
        // other punctuation: ; | $ ( ) < > ' " ` { } [ ] \ * ! ~ ^ # @ ?
        _ => 3,
    }
}

/// The most a useful set may weigh: a handful of punctuation bytes, not a letter.
pub(super) const MAX_WEIGHT: u32 = 30;

/// The most bytes a set is searched for with `memchr` (three passes at most); a larger set is
/// tested byte by byte.
const SEARCHED: usize = 9;

/// Values shorter than this are tested byte by byte whatever the set: `memchr`'s vector loop
/// needs 32 bytes, and a short value's single pass costs less than three calls.
const SHORT: usize = 32;

/// A set of bytes, one of which every match holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequiredBytes {
    bytes: ByteSet,
    /// The set's bytes when there are at most [`SEARCHED`] (searched with `memchr`, three at a
    /// time), else zero count.
    few: ([u8; SEARCHED], u8),
}

impl std::fmt::Debug for RequiredBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes: Vec<u8> = (0..=255u8).filter(|&b| self.contains(b)).collect();
        write!(f, "RequiredBytes({:?})", bytes.escape_ascii().to_string())
    }
}

impl RequiredBytes {
    fn contains(&self, b: u8) -> bool {
        self.bytes.contains(b)
    }

    /// Whether an ASCII upper-case letter is one of the bytes.
    pub(crate) fn holds_upper_case(&self) -> bool {
        (b'A'..=b'Z').any(|b| self.contains(b))
    }

    /// Whether `haystack` holds one of the bytes (else the pattern cannot match it).
    pub(crate) fn found_in(&self, haystack: &[u8]) -> bool {
        let (few, n) = &self.few;
        if *n == 0 || (*n > 3 && haystack.len() < SHORT) {
            return haystack.iter().any(|&b| self.contains(b));
        }
        // (a 60-byte form value without any of 934100's five bytes: a third of the time)
        few[..usize::from(*n)].chunks(3).any(|c| match *c {
            [] => false,
            [a] => memchr::memchr(a, haystack).is_some(),
            [a, b] => memchr::memchr2(a, b, haystack).is_some(),
            [a, b, c, ..] => memchr::memchr3(a, b, c, haystack).is_some(),
        })
    }

    /// Whether one of the bytes is among `present` (a [`ByteSet`] of some values).
    pub(crate) fn meets(&self, present: &ByteSet) -> bool {
        self.bytes.intersects(present)
    }

    /// The bytes, as a set.
    pub(crate) fn as_set(&self) -> ByteSet {
        self.bytes
    }

    /// The set for a phrase list matched without regard to ASCII case (`@pm`): the rarest byte
    /// of each phrase, in both cases when it is a letter. Empty phrases never match and add
    /// nothing; `None` when the set is too common to be worth checking, or there is no phrase.
    pub(crate) fn of_phrases<'p>(
        phrases: impl IntoIterator<Item = &'p [u8]>,
    ) -> Option<RequiredBytes> {
        let mut set = Set::empty();
        for phrase in phrases {
            let Some(&b) = phrase
                .iter()
                .min_by_key(|&&b| weight(b.to_ascii_lowercase()))
            else {
                continue;
            };
            set.insert(b.to_ascii_lowercase());
            set.insert(b.to_ascii_uppercase());
            if set.weight > MAX_WEIGHT {
                return None;
            }
        }
        (set.weight > 0).then(|| RequiredBytes::from_set(set))
    }

    /// The set for a text that every match holds as it is (`@contains #`, `@streq POST`): its
    /// rarest byte, case and all. `None` for an empty text, or one of lowercase letters and
    /// spaces only (too common to be worth checking).
    pub(crate) fn of_needle(needle: &[u8]) -> Option<RequiredBytes> {
        let &b = needle.iter().min_by_key(|&&b| weight(b))?;
        (weight(b) <= MAX_WEIGHT).then(|| RequiredBytes::of_bytes(&[b]))
    }

    /// The set of exactly `bytes` (an operator's own knowledge of what its matches need).
    pub(crate) fn of_bytes(bytes: &[u8]) -> RequiredBytes {
        let mut set = Set::empty();
        bytes.iter().for_each(|&b| set.insert(b));
        RequiredBytes::from_set(set)
    }

    /// The set for `hir`, if it has one light enough to be worth checking.
    pub(crate) fn of(hir: &Hir) -> Option<RequiredBytes> {
        required(hir, false, LIGHT).map(RequiredBytes::from_set)
    }

    /// The set for a pattern given by its lowercased tree
    /// ([`super::hir::linear_hir_lowercased`]): every letter of it stands for both its cases
    /// and is counted so. (The lowercase of each match of the pattern is a match of that tree,
    /// so it holds one of the set's bytes, and the match that byte in one case or the other.)
    pub(crate) fn of_lowercased(lower: &Hir) -> Option<RequiredBytes> {
        required(lower, true, LIGHT).map(RequiredBytes::from_set)
    }

    /// For a pattern with no light set ([`RequiredBytes::of_lowercased`]'s tree): bytes other
    /// than letters and digits one of which every match holds, however common (a space),
    /// if there are such. A value of letters and digits alone cannot match: a name, an id, a
    /// number, a word (CRS's command patterns, 932250 and its kin, end each command with a
    /// space, `&`, `|`, `)`, `,`, `<` or `>`; without a set they ran on every argument's name
    /// and value).
    pub(crate) fn without_words(lower: &Hir) -> Option<RequiredBytes> {
        required(lower, true, WORDLESS).map(RequiredBytes::from_set)
    }

    fn from_set(set: Set) -> RequiredBytes {
        let members: Vec<u8> = (0..=255u8).filter(|&b| set.contains(b)).collect();
        let mut few = ([0; SEARCHED], 0);
        if members.len() <= SEARCHED {
            few.0[..members.len()].copy_from_slice(&members);
            few.1 = members.len() as u8;
        }
        RequiredBytes {
            bytes: set.bytes,
            few,
        }
    }
}

/// A set under construction, with its weight.
#[derive(Clone, Copy)]
struct Set {
    bytes: ByteSet,
    weight: u32,
}

impl Set {
    fn empty() -> Set {
        Set {
            bytes: ByteSet::default(),
            weight: 0,
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.bytes.contains(b)
    }

    fn insert(&mut self, b: u8) {
        if !self.contains(b) {
            self.bytes.insert(b);
            self.weight = self.weight.saturating_add(weight(b));
        }
    }

    /// Inserts `b`, and with `fold` its other case.
    fn insert_folded(&mut self, b: u8, fold: bool) {
        self.insert(b);
        if fold {
            self.insert(b.to_ascii_uppercase());
            self.insert(b.to_ascii_lowercase());
        }
    }

    fn union(mut self, other: &Set) -> Set {
        for b in 0..=255u8 {
            if other.contains(b) {
                self.insert(b);
            }
        }
        self
    }
}

/// What a set may hold: how much it may weigh, and whether letters and digits may be in it.
#[derive(Clone, Copy)]
struct Limits {
    cap: u32,
    words: bool,
}

/// The sets [`RequiredBytes::of`] looks for: light ones, of a few uncommon bytes.
const LIGHT: Limits = Limits {
    cap: MAX_WEIGHT,
    words: true,
};

/// The sets [`RequiredBytes::without_words`] looks for: any weight, no letter or digit.
const WORDLESS: Limits = Limits {
    cap: u32::MAX,
    words: false,
};

/// Whether `b` may be in a set within `limits`.
fn allowed(b: u8, limits: Limits) -> bool {
    limits.words || !b.is_ascii_alphanumeric()
}

/// A set of bytes one of which every match of `hir` holds (the lightest found), or `None`
/// when a match may hold none in particular (it may be empty, or anything) or when the
/// lightest set is past `limits` (unions only grow, so a heavier set could never make a
/// useful one further up). `fold`: every byte stands for both its ASCII cases.
fn required(hir: &Hir, fold: bool, limits: Limits) -> Option<Set> {
    any_required(hir, fold, limits).filter(|s| s.weight <= limits.cap)
}

/// [`required`] before the weight limit.
fn any_required(hir: &Hir, fold: bool, limits: Limits) -> Option<Set> {
    let folded_weight = |b: u8| {
        let mut s = Set::empty();
        s.insert_folded(b, fold);
        s.weight
    };
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        // every byte of a literal is in every match: the rarest one will do
        HirKind::Literal(l) => {
            l.0.iter()
                .copied()
                .filter(|&b| allowed(b, limits))
                .min_by_key(|&b| folded_weight(b))
                .map(|b| {
                    let mut s = Set::empty();
                    s.insert_folded(b, fold);
                    s
                })
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut s = Set::empty();
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    if !allowed(b, limits) {
                        return None;
                    }
                    s.insert_folded(b, fold);
                }
            }
            // an empty class never matches: no set says so, but no match needs one either
            (s.weight > 0).then_some(s)
        }
        // not made by the linear engine's translation (bytes mode); no claim about it
        HirKind::Class(Class::Unicode(_)) => None,
        HirKind::Repetition(r) if r.min == 0 => None,
        HirKind::Repetition(r) => required(&r.sub, fold, limits),
        HirKind::Capture(c) => required(&c.sub, fold, limits),
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(|p| required(p, fold, limits))
            .min_by_key(|s| s.weight),
        HirKind::Alternation(branches) => {
            let mut all = Set::empty();
            for b in branches {
                all = all.union(&required(b, fold, limits)?);
                if all.weight > limits.cap {
                    return None;
                }
            }
            Some(all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set as the engine works it out (from the lowercased tree).
    fn set(pattern: &str) -> Option<Vec<u8>> {
        let parsed = super::super::parse(pattern.as_bytes()).unwrap();
        let lower = super::super::hir::linear_hir_lowercased(&parsed.node).unwrap();
        RequiredBytes::of_lowercased(&lower)
            .map(|s| (0..=255u8).filter(|&b| s.contains(b)).collect())
    }

    #[test]
    fn sets_come_from_the_rarest_part() {
        assert_eq!(set(r"(?i)select\s*\("), Some(b"(".to_vec()));
        assert_eq!(set(r"[;|&]\s*cat"), Some(b"&;|".to_vec()));
        assert_eq!(set(r"a;b|c<d"), Some(b";<".to_vec()));
        assert_eq!(set(r"x(?:\$\{|`)"), Some(b"$`".to_vec()));
        // a letter-only pattern: no set worth checking
        assert_eq!(set(r"(?i)union"), None);
        // may match empty, or a branch without punctuation
        assert_eq!(set(r";?x"), None);
        assert_eq!(set(r";|x"), None);
        assert_eq!(set(r"(?:;)*"), None);
        assert_eq!(set(r"^"), None);
        assert_eq!(set(r"(?:;)+"), Some(b";".to_vec()));
    }

    #[test]
    fn wordless_sets_leave_letters_and_digits_out() {
        let wordless = |pattern: &str| {
            let parsed = super::super::parse(pattern.as_bytes()).unwrap();
            let lower = super::super::hir::linear_hir_lowercased(&parsed.node).unwrap();
            RequiredBytes::without_words(&lower)
                .map(|s| (0..=255u8).filter(|&b| s.contains(b)).collect::<Vec<u8>>())
        };
        // every command ends with a space or `|`; the letters of each are lighter, and the
        // space too common for a light set
        let commands = r"(?i)(?:^|;)\s*(?:cat|wget)[ |]";
        assert_eq!(set(commands), None);
        assert_eq!(wordless(commands), Some(b" |".to_vec()));
        // a branch with nothing but letters: no set
        assert_eq!(wordless(r"(?:cat|wget)(?: |$)"), None);
        assert_eq!(wordless(r"(?i)union"), None);
        // a class with a letter in it is not a set of its own
        assert_eq!(wordless(r"x[a ]|y[ ,]"), None);
        assert_eq!(wordless(r"x[- ]|y[ ,]"), Some(b" ,-".to_vec()));
        // a value of letters and digits is kept off, one with a space is not
        let parsed = super::super::parse(commands.as_bytes()).unwrap();
        let lower = super::super::hir::linear_hir_lowercased(&parsed.node).unwrap();
        let s = RequiredBytes::without_words(&lower).unwrap();
        assert!(!s.found_in(b"field123wget"));
        assert!(s.found_in(b"cat /etc/passwd"));
    }

    #[test]
    fn a_value_without_the_bytes_is_skipped() {
        for (pattern, with, without) in [
            (r"[;|&]\s*cat", &b"a | cat"[..], &b"a cat"[..]),
            (r"<script|javascript:|on\w+=", b"on<", b"onload"),
        ] {
            let parsed = super::super::parse(pattern.as_bytes()).unwrap();
            let hir = super::super::hir::linear_hir(&parsed.node).unwrap();
            let s = RequiredBytes::of(&hir).expect(pattern);
            assert!(s.found_in(with), "{pattern}");
            assert!(!s.found_in(without), "{pattern}");
        }
    }

    #[test]
    fn phrase_sets_take_each_phrase_s_rarest_byte_in_both_cases() {
        let set = |phrases: &[&str]| {
            RequiredBytes::of_phrases(phrases.iter().map(|p| p.as_bytes()))
                .map(|s| (0..=255u8).filter(|&b| s.contains(b)).collect::<Vec<u8>>())
        };
        assert_eq!(set(&["a/b", "$x", ""]), Some(b"$/".to_vec()));
        // a letter-only phrase: too common (both cases of its rarest letter)
        assert_eq!(set(&["a/b", "union"]), None);
        assert_eq!(set(&["Q"]), None);
        assert_eq!(set(&[]), None);
        assert_eq!(set(&[""]), None);
    }
}
