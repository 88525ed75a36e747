//! The search a pattern outside the grouped matcher makes for its required literals alone
//! ([`super::Regex::lacks_literals`]): is one of them in a value?
//!
//! It is asked of short values one at a time (each argument's name and value, per
//! `multiMatch` rule: CRS's 934100, 934130 and 934160 on a form's 13,500 fields), where an
//! automaton's search costs ~160 instructions for a 9-byte name, most of it set-up.
//! Most values hold no two bytes that start a literal: a table of those pairs, read once per
//! byte, answers them before the automaton is asked.

use aho_corasick::AhoCorasick;

/// An automaton of the literals (ASCII case aside), and when every literal has two bytes or
/// more, the table of the pairs they start with.
#[derive(Debug)]
pub(super) struct LiteralSearch {
    automaton: AhoCorasick,
    /// A bit per [`pair_slot`] of each literal's first two bytes.
    pairs: Option<Box<[u64; PAIR_WORDS]>>,
}

/// Values this long at most are read pair by pair first; a longer one goes to the automaton
/// alone. (The pairs of a JSON body's longer names, `json.items.array_12.description`, often
/// start a literal of 934100's, and the automaton then reads them too: at 32 bytes, a 1 MB
/// JSON body's instructions went up 0.1%, at 16 down.)
const SHORT: usize = 16;

/// The pair table's size in words: 16,384 bits (2 KB).
const PAIR_WORDS: usize = 256;

/// Where the pair `a`, `b` goes in the table: seven bits of each byte, bit 5 (ASCII case)
/// left out. (Pairs that differ only there share a place, which only sends a value on to the
/// automaton.)
fn pair_slot(a: u8, b: u8) -> usize {
    seven(a) << 7 | seven(b)
}

/// A byte's seven bits in [`pair_slot`].
fn seven(x: u8) -> usize {
    usize::from(x & 0x1f | (x >> 1) & 0x60)
}

impl LiteralSearch {
    pub(super) fn new(literals: &[Vec<u8>]) -> Option<LiteralSearch> {
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(literals)
            .ok()?;
        let pairs = literals.iter().all(|l| l.len() >= 2).then(|| {
            let mut table = Box::new([0u64; PAIR_WORDS]);
            for l in literals {
                let slot = pair_slot(l[0], l[1]);
                table[slot / 64] |= 1 << (slot % 64);
            }
            table
        });
        Some(LiteralSearch { automaton, pairs })
    }

    /// Whether `haystack` holds none of the literals.
    pub(super) fn lacks(&self, haystack: &[u8]) -> bool {
        if let Some(pairs) = self.pairs.as_ref().filter(|_| haystack.len() <= SHORT) {
            // (every occurrence of a literal starts with its pair)
            let Some((&first, rest)) = haystack.split_first() else {
                return true;
            };
            // ([`pair_slot`], each byte's bits worked out once)
            let mut previous = seven(first) << 7;
            let starts = rest.iter().any(|&b| {
                let next = seven(b);
                let slot = previous | next;
                previous = next << 7;
                pairs[slot / 64] & (1 << (slot % 64)) != 0
            });
            if !starts {
                return true;
            }
        }
        !self.automaton.is_match(haystack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The literals' own answer: none of them, ASCII case aside, is in `haystack`.
    fn lacks_by_search(literals: &[Vec<u8>], haystack: &[u8]) -> bool {
        let lower = haystack.to_ascii_lowercase();
        !literals.iter().any(|l| {
            let l = l.to_ascii_lowercase();
            lower.windows(l.len().max(1)).any(|w| w == l)
        })
    }

    #[test]
    fn pairs_pass_values_without_a_literal_start() {
        let literals = [&b"__proto__"[..], b"constructor", b"eval(", b"require"];
        let literals: Vec<Vec<u8>> = literals.iter().map(|l| l.to_vec()).collect();
        let s = LiteralSearch::new(&literals).unwrap();
        assert!(s.pairs.is_some());
        assert!(s.lacks(b"field_12"));
        assert!(s.lacks(b"_"));
        assert!(s.lacks(b""));
        assert!(!s.lacks(b"a.__PROTO__"));
        assert!(!s.lacks(b"x.Constructor"));
        // a pair alone: the automaton answers
        assert!(s.lacks(b"__prot"));
        // a long value: the automaton
        assert!(s.lacks(&[b'x'; 40]));
        assert!(!s.lacks(&[&[b'x'; 40][..], b"Require"].concat()));
        assert!(!s.lacks(b"xxxxxxxxxxxxxxx.__proto__"));
        // a one-byte literal: no table
        let s = LiteralSearch::new(&[b"ab".to_vec(), b"cd".to_vec(), b";".to_vec()]).unwrap();
        assert!(s.pairs.is_none());
        assert!(!s.lacks(b"x;"));
    }

    proptest::proptest! {
        /// The pair table never turns a value that holds a literal away.
        #[test]
        fn lacks_is_the_search_answer(
            literals in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(b"aAbB_.".to_vec()), 1..4),
                1..7,
            ),
            haystack in proptest::collection::vec(
                proptest::sample::select(b"aAbB_.x".to_vec()),
                0..10,
            ),
        ) {
            let s = LiteralSearch::new(&literals).unwrap();
            proptest::prop_assert_eq!(s.lacks(&haystack), lacks_by_search(&literals, &haystack));
        }
    }
}
