//! Which members of a subset have a literal in a long value: the scan of a value of a
//! kilobyte or more ([`super::LONG_VALUE`]), a request body most of all.
//!
//! Every occurrence of every literal is not needed, only every member with one, and a member
//! is found for good by its first literal. So the scan looks for the leftmost literal from a
//! position (a leftmost-first automaton, which Aho-Corasick runs behind its SIMD prefilters,
//! Teddy for a few dozen literals, where an overlapping search reads every byte through the
//! automaton: 19 instructions a byte on a 1 MB upload, against about one), checks every
//! literal at that start, and goes on from the next byte. No literal starts before the
//! leftmost one, so none is missed. It stops when every member is found; when matches of
//! literals whose members are all found keep coming, it rebuilds the automaton without them
//! (at most once per member found), and when starts that are not their literals keep coming
//! (below), with the whole literals.
//!
//! Literals of one or two bytes have an automaton of their own: Teddy tells candidates by as
//! many first bytes as the shortest literal has (up to 4), and CRS's `__` made a group's scan
//! stop at every `in` and `co` of a form body.

use super::Candidates;
use aho_corasick::{AhoCorasick, Input, MatchKind};

/// Matches that find no member (of literals whose members are all found, or starts that are
/// not their literals) after which the automaton is rebuilt (without the first, or of whole
/// literals).
const SPENT_MATCHES_BEFORE_REBUILD: usize = 64;

/// The most literals Aho-Corasick's Teddy searcher takes (more, and a scan reads every byte
/// through the automaton: 2.3 ms for a 1 MB upload and the 114 literals of CRS's rule 921110
/// and its group).
const TEDDY_LITERALS: usize = 64;

/// Literals shorter than this are searched by an automaton of their own, and the others'
/// starts are not cut shorter.
const SHORT_LITERAL: usize = 3;

/// A subset's literals (lowercase), ready to scan long values.
#[derive(Debug)]
pub(crate) struct LiteralScan {
    literals: Vec<Vec<u8>>,
    /// For each literal, the (group) members it lets through.
    owners: Vec<Vec<u32>>,
    /// Literal numbers by first byte: those of byte `b` are
    /// `by_first[starts[b]..starts[b + 1]]`.
    starts: Box<[u32; 257]>,
    by_first: Vec<u32>,
    /// Members an empty literal lets through: every value holds it.
    always: Vec<u32>,
    /// How many members the literals let through.
    members: usize,
    /// The short literals' automaton and the others'.
    parts: Vec<Part>,
}

/// Some of the literals, and an automaton of their starts.
#[derive(Debug)]
struct Part {
    literals: Vec<u32>,
    /// How many bytes of each literal the automaton searches for: a value holds a literal's
    /// start where it holds the literal, and fewer distinct starts than literals may fit in
    /// Teddy ([`TEDDY_LITERALS`]). Found starts are checked against the whole literals.
    start_len: usize,
    /// Leftmost-first.
    automaton: AhoCorasick,
}

impl LiteralScan {
    /// `None` when an automaton cannot be built (too large for its state ids).
    pub fn new(literals: Vec<Vec<u8>>, owners: Vec<Vec<u32>>) -> Option<LiteralScan> {
        let mut always = Vec::new();
        for (l, own) in literals.iter().zip(&owners) {
            if l.is_empty() {
                always.extend_from_slice(own);
            }
        }
        let mut by_first: Vec<u32> = (0..literals.len() as u32)
            .filter(|&i| !literals[i as usize].is_empty())
            .collect();
        by_first.sort_by_key(|&i| literals[i as usize][0]);
        let mut starts = Box::new([0u32; 257]);
        for &i in &by_first {
            starts[literals[i as usize][0] as usize + 1] += 1;
        }
        for b in 0..256 {
            starts[b + 1] += starts[b];
        }
        let mut parts = Vec::new();
        for part in split(&by_first, |i| &literals[i as usize]) {
            let of_part: Vec<&[u8]> = part.iter().map(|&i| &literals[i as usize][..]).collect();
            let start_len = teddy_start_len(&of_part).unwrap_or(FULL);
            let automaton = leftmost(of_part.iter().map(|l| start(l, start_len)), None)?;
            parts.push(Part {
                literals: part,
                start_len,
                automaton,
            });
        }
        let mut members: Vec<u32> = owners.iter().flatten().copied().collect();
        members.sort_unstable();
        members.dedup();
        Some(LiteralScan {
            literals,
            owners,
            starts,
            by_first,
            always,
            members: members.len(),
            parts,
        })
    }

    /// Adds to `set` (empty) the members with a literal in `value`, which has no capital
    /// letter (the literals have none either). Returns how many starts the automata found.
    pub fn search(&self, value: &[u8], set: &mut Candidates) -> usize {
        let mut scan = Scan {
            found: 0,
            finds: 0,
            // literals with a member not yet found
            live: self
                .owners
                .iter()
                .map(|own| own.iter().any(|&m| !set.contains(m as usize)))
                .collect(),
            set,
        };
        for &m in &self.always {
            scan.found += usize::from(scan.set.insert_new(m as usize));
        }
        for part in &self.parts {
            if !self.search_part(part, value, &mut scan) {
                // (an automaton that was built once failed to be built again: say "maybe"
                // to every member)
                for own in &self.owners {
                    own.iter().for_each(|&m| {
                        scan.set.insert_new(m as usize);
                    });
                }
                break;
            }
        }
        scan.finds
    }

    /// Every start of `part`'s literals in `value`, until every member is found. `false` if
    /// a rebuilt automaton could not be built.
    fn search_part(&self, part: &Part, value: &[u8], scan: &mut Scan<'_>) -> bool {
        let mut rebuilt: Option<AhoCorasick> = None;
        let mut start_len = part.start_len;
        let mut spent = 0;
        let mut died_since_build = false;
        let mut at = 0;
        while scan.found < self.members && at < value.len() {
            let automaton = rebuilt.as_ref().unwrap_or(&part.automaton);
            let Some(m) = automaton.find(Input::new(value).range(at..)) else {
                break;
            };
            scan.finds += 1;
            let at_start = m.start();
            let first = value[at_start] as usize;
            let mut any = false;
            for &i in &self.by_first[self.starts[first] as usize..self.starts[first + 1] as usize] {
                let i = i as usize;
                if scan.live[i] && value[at_start..].starts_with(&self.literals[i]) {
                    any = true;
                    for &o in &self.owners[i] {
                        scan.found += usize::from(scan.set.insert_new(o as usize));
                    }
                }
            }
            if any {
                // a literal dies with its last member found
                for (l, own) in scan.live.iter_mut().zip(&self.owners) {
                    if *l && own.iter().all(|&m| scan.set.contains(m as usize)) {
                        *l = false;
                        died_since_build = true;
                    }
                }
            } else {
                spent += 1;
                if spent >= SPENT_MATCHES_BEFORE_REBUILD && (died_since_build || start_len != FULL)
                {
                    // matches of literals whose members are all found: an automaton without
                    // them; matches of starts that are not their literals (a text full of a
                    // literal's first bytes), with none found since: one of whole literals,
                    // which finds nothing else (so a scan stops at most 64 times per rebuild)
                    if !died_since_build {
                        start_len = FULL;
                    }
                    let kept = part.literals.iter().filter(|&&i| scan.live[i as usize]);
                    let kept = kept.map(|&i| start(&self.literals[i as usize], start_len));
                    // (for the rest of one value: a contiguous NFA, not the DFA the builder
                    // picks for a few literals, whose build was ~40% of a rebuild's ~200,000
                    // instructions, paid about once a request by 2 KB of `1=1 and `; the SIMD
                    // prefilter in front is the same)
                    let contiguous = Some(aho_corasick::AhoCorasickKind::ContiguousNFA);
                    let Some(automaton) = leftmost(kept, contiguous) else {
                        return false;
                    };
                    rebuilt = Some(automaton);
                    spent = 0;
                    died_since_build = false;
                }
            }
            at = at_start + 1;
        }
        true
    }
}

/// Whether a scan of `literals` would find its candidates by Teddy's SIMD search, not a byte
/// at a time through its automaton (few literals, or few starts of three bytes).
pub(crate) fn prefilters(literals: &[&[u8]]) -> bool {
    let numbers: Vec<u32> = (0..literals.len() as u32).collect();
    split(&numbers, |i| literals[i as usize])
        .iter()
        .all(|part| {
            let of_part: Vec<&[u8]> = part.iter().map(|&i| literals[i as usize]).collect();
            teddy_start_len(&of_part).is_some()
        })
}

/// The literals numbered in `numbers` (non-empty ones): the short ones, and the others, each
/// when there are some.
fn split<'a>(numbers: &[u32], literal: impl Fn(u32) -> &'a [u8]) -> Vec<Vec<u32>> {
    let (short, long): (Vec<u32>, Vec<u32>) = numbers
        .iter()
        .filter(|&&i| !literal(i).is_empty())
        .partition(|&&i| literal(i).len() < SHORT_LITERAL);
    [short, long]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect()
}

/// The longest start length (no shorter than [`SHORT_LITERAL`] for longer literals) whose
/// distinct starts of a part's `literals` Teddy takes. Longer starts are never fewer, so the
/// lengths are tried from the shortest up, and the first with too many ends the search (a
/// group of thousands of literals is told at its first length, which the load does for every
/// group: trying every length from the longest down was 13 M instructions of CRS's load).
fn teddy_start_len(literals: &[&[u8]]) -> Option<usize> {
    let shortest = literals.iter().map(|l| l.len()).min().unwrap_or(0);
    let longest = literals.iter().map(|l| l.len()).max().unwrap_or(0);
    (shortest.min(SHORT_LITERAL)..=longest)
        .take_while(|&n| fits_teddy(literals, n))
        .last()
}

/// Whether the distinct starts of `n` bytes of `literals` are few enough for Teddy, counted
/// until there are too many.
fn fits_teddy(literals: &[&[u8]], n: usize) -> bool {
    let mut seen = std::collections::HashSet::new();
    literals.iter().all(|l| {
        seen.insert(start(l, n));
        seen.len() <= TEDDY_LITERALS
    })
}

/// A start length that keeps whole literals.
const FULL: usize = usize::MAX;

/// A search's state across the parts.
struct Scan<'s> {
    found: usize,
    finds: usize,
    live: Vec<bool>,
    set: &'s mut Candidates,
}

/// The first `n` bytes of `literal`.
fn start(literal: &[u8], n: usize) -> &[u8] {
    &literal[..literal.len().min(n)]
}

fn distinct_starts<'a>(starts: impl Iterator<Item = &'a [u8]>) -> Vec<&'a [u8]> {
    let mut starts: Vec<&[u8]> = starts.collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// A leftmost-first automaton (its prefilters need that match kind) of the distinct
/// `starts`, of `kind` (`None`: the builder's choice).
fn leftmost<'a>(
    starts: impl Iterator<Item = &'a [u8]>,
    kind: Option<aho_corasick::AhoCorasickKind>,
) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .kind(kind)
        .build(distinct_starts(starts))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The members with a literal that occurs in `value`, found by looking everywhere.
    fn naive(literals: &[Vec<u8>], owners: &[Vec<u32>], value: &[u8], members: usize) -> Vec<bool> {
        let mut found = vec![false; members];
        for (l, own) in literals.iter().zip(owners) {
            if l.is_empty() || value.windows(l.len()).any(|w| w == &l[..]) {
                own.iter().for_each(|&m| found[m as usize] = true);
            }
        }
        found
    }

    fn scan(literals: &[Vec<u8>], owners: &[Vec<u32>], value: &[u8], members: usize) -> Vec<bool> {
        let s = LiteralScan::new(literals.to_vec(), owners.to_vec()).unwrap();
        let mut set = Candidates::none(members);
        s.search(value, &mut set);
        (0..members).map(|m| set.contains(m)).collect()
    }

    proptest! {
        /// Every member with a literal in the value is found, and no other: literals that
        /// overlap, share a start, hold one another, repeat thousands of times (the
        /// automaton is then rebuilt), empty ones, more than Teddy takes (the automaton
        /// searches for their starts).
        #[test]
        fn finds_the_members_with_a_literal(
            lits in proptest::collection::vec(("[abc]{0,6}", 0u32..6), 1..90),
            pieces in proptest::collection::vec(("[abcd]{1,5}", 1usize..400), 0..12),
        ) {
            let literals: Vec<Vec<u8>> = lits.iter().map(|(l, _)| l.clone().into_bytes()).collect();
            let owners: Vec<Vec<u32>> = lits.iter().map(|&(_, o)| vec![o, (o + 1) % 6]).collect();
            let value: Vec<u8> = pieces.iter().flat_map(|(p, n)| p.repeat(*n).into_bytes()).collect();
            prop_assert_eq!(
                scan(&literals, &owners, &value, 6),
                naive(&literals, &owners, &value, 6)
            );
        }
    }

    /// 70 literals, `abcz00` to `abcz69`: the automaton searches for their starts of five
    /// bytes (seven of them), which a value full of `abcz5` keeps matching; then for the whole
    /// literals.
    #[test]
    fn a_literal_after_many_false_starts_is_found() {
        let literals: Vec<Vec<u8>> = (0..70u8)
            .map(|i| vec![b'a', b'b', b'c', b'z', b'0' + i / 10, b'0' + i % 10])
            .collect();
        let owners: Vec<Vec<u32>> = (0..70).map(|i| vec![i]).collect();
        let scan = LiteralScan::new(literals.clone(), owners.clone()).unwrap();
        assert_eq!(scan.parts[0].start_len, 5);
        let mut value = b"abcz5".repeat(10_000);
        value.extend_from_slice(b"abcz42");
        let mut expected = vec![false; 70];
        expected[42] = true;
        assert_eq!(super::tests::scan(&literals, &owners, &value, 70), expected);
        // 64 false starts, then the literal
        let finds = scan.search(&value, &mut Candidates::none(70));
        assert_eq!(finds, SPENT_MATCHES_BEFORE_REBUILD + 1);
    }

    #[test]
    fn a_literal_after_many_spent_matches_is_found() {
        // `a` is found at once, then matches 10,000 times with nothing left to find for it
        let literals = vec![b"a".to_vec(), b"zq".to_vec(), b"xy".to_vec()];
        let owners = vec![vec![0], vec![1], vec![2]];
        let mut value = b"a".repeat(10_000);
        value.extend_from_slice(b"zq");
        assert_eq!(scan(&literals, &owners, &value, 3), [true, true, false]);
    }
}
