//! The grouped matcher: a literal prefilter for the `@rx` and `@pm` rules of each
//! transformation chain.
//!
//! Rules that share a transformation chain see the same transformed value: they form a group.
//! Its members are the rules whose every match must hold one of a finite set of literals: an
//! `@rx` pattern whose matches start (or end) with one (regex-syntax's prefix and suffix
//! extraction, made when the pattern is compiled: [`crate::regex::Regex::required_literals`]),
//! and an `@pm`/`@pmFromFile` list, whose matches are occurrences of its phrases. A rule none
//! of whose literals occurs in the value cannot match it, and its operator is not run; a rule
//! none of whose literals occurs in any value of its variables is not even asked about its
//! values ([`crate::transaction`]'s `candidates`). Every other rule (literal found, or an
//! operator without usable literals) runs its own operator as before (captures, `[ref]`
//! ranges, libmodsecurity's phrase tree and its quirks), so verdicts, rule order, chains,
//! `skipAfter`, captures and logged ids are those of the rule-by-rule evaluation: the
//! prefilter only ever says "cannot match" when that is true. The literals are searched
//! without regard to ASCII case, which can only let more rules through.
//!
//! The literals of all the groups are in one Aho-Corasick automaton, and one scan of a value
//! answers for every group at once ([`Matcher::search_all`]): most values come out of most
//! chains as they went in (the same buffer: [`crate::transaction`]'s transformation cache), and
//! with an automaton per group a value was scanned three to four times, by automata a request
//! then had to bring into the processor's cache one after the other. A value of a kilobyte or
//! more (a body) is scanned per group instead, for the literals of the members that may ask
//! about it ([`Group::scan_for`]), by a search that finds each member's first literal and
//! skips most bytes with Teddy's SIMD search (`literal_scan`): the overlapping search of every
//! group's literals reads every byte through the automaton.
//!
//! What joins a group: in a rule without `multiMatch` (which tests several values per
//! target), a non-negated static `@rx` on the linear engine (not the backtracking fallback,
//! and not a pattern whose `^` needs PCRE's end-of-subject re-check), or an `@pm`/
//! `@pmFromFile` of the request phases (see [`eligible`]). Everything else runs as it always
//! did.
//!
//! A `multiMatch` rule with such literals is no member, but its first stage (the value as it
//! is) has a probe in the last group, which no rule is a member of ([`raw_probe`]): on a large
//! variable the scan of every group's literals, which reads the texts anyway, tells which
//! texts its raw stage cannot match (`mark_raw_misses`, in `transaction::columns`).
//!
//! (A multi-pattern lazy DFA over the whole patterns, `meta::Regex::new_many` with
//! `MatchKind::All`, answers the same question exactly but was measured slower here: CRS's
//! attack inputs keep it determinizing new states, 3× the time of the rule-by-rule run.)

mod literal_scan;

use crate::chains::{ChainId, ChainTable};
use crate::ragged::Ragged;
use crate::rule::Rule;
use literal_scan::LiteralScan;
use seclang_parser::names::{TransformationName, VariableName as V};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Where a rule sits in the matcher: `(group << 32) | member`; [`NO_SLOT`] when it is not in
/// a group.
pub(crate) type Slot = AtomicU64;

/// [`Slot`] of a rule outside every group.
pub(crate) const NO_SLOT: u64 = u64::MAX;

/// A group: the prefilterable `@rx` rules of one transformation chain.
#[derive(Debug)]
pub(crate) struct Group {
    members: usize,
    /// Where the group's members start in a set of every group's ([`Matcher::search_all`]):
    /// a word index.
    first_word: usize,
    /// Variables that few of the members name, each with those members' own scan: of the 88
    /// rules of CRS's group without transformations, 4 name `REQUEST_BODY` (a 60 KB upload's
    /// body was half the bytes the groups scanned on the benign set), 50 `RESPONSE_BODY`, 22
    /// `ARGS`; a long value is scanned for the literals of the rules that may ask about it.
    /// The last may be the whole group.
    subsets: Vec<Subset>,
    /// The group's literals (a subset's scan is built from them on its first use), and the
    /// members each lets through.
    literals: Ragged<u8>,
    owners: Ragged<u32>,
    /// The chain ends with `t:lowercase`: its values have no upper-case letter, and need no
    /// lowercase copy before a subset's (lowercase) literals are searched.
    lowercase_values: bool,
}

/// Some members of a group and the variables only they name, with a scan of their literals
/// alone, built on its first use. The last subset of a group may be the whole group, for
/// every variable: a long value is then not searched for every group's literals, whose
/// automaton found a match every few bytes of a binary upload, and reads each byte (the
/// overlapping search has no prefilter) where a scan of one group's skips most of them.
#[derive(Debug)]
struct Subset {
    /// Empty for the whole group's.
    variables: Vec<V>,
    /// Group member numbers, sorted.
    members: Vec<u32>,
    scan: OnceLock<Option<LiteralScan>>,
}

/// A group's literals, and for each the members it lets through.
type LiteralList<'r> = (Vec<&'r [u8]>, Vec<Vec<u32>>);

/// Literal → its place in a list (SipHash over CRS's ~8,000 literals was a tenth of the
/// matcher's build, which no other thread shares).
type LiteralIndex<'r> =
    HashMap<&'r [u8], usize, std::hash::BuildHasherDefault<crate::word_hash::KeyHasher>>;

/// Which scan of a group serves a member on a variable: 0 for the scan of every group's
/// literals, `i + 1` for subset `i`. Part of the key of the scan's cached results.
pub(crate) type Scan = u32;

/// A value at least this long is scanned by a subset's automaton ([`Group::scan_for`]); a
/// shorter one by the scan of every group's literals, whose result serves every member (on
/// CRS's 1,000-argument request, scanning the arguments by subsets was no faster, and building
/// the subsets' automata cost 17 M instructions in each process).
pub(crate) const LONG_VALUE: usize = 1024;

/// Groups have fewer subsets than this (a [`Scan`] fits in a byte of the cache key).
const MAX_SUBSETS: usize = 255;

/// Which members of a group may match a value. Groups of up to [`INLINE_MEMBERS`] rules (all
/// of CRS's) keep the bits inline: a set is made for each value and group, and a heap
/// allocation each was a tenth of the search's cost.
#[derive(Debug, Clone)]
pub(crate) enum Candidates {
    Inline([u64; INLINE_WORDS]),
    Heap(Box<[u64]>),
}

const INLINE_WORDS: usize = 2;
/// The largest group whose candidates are kept inline.
pub(crate) const INLINE_MEMBERS: usize = INLINE_WORDS * 64;

impl Candidates {
    /// No member, for a group of `members` rules.
    pub fn none(members: usize) -> Candidates {
        if members <= INLINE_MEMBERS {
            Candidates::Inline([0; INLINE_WORDS])
        } else {
            Candidates::Heap(vec![0; members.div_ceil(64)].into_boxed_slice())
        }
    }

    fn words(&self) -> &[u64] {
        match self {
            Candidates::Inline(w) => w,
            Candidates::Heap(w) => w,
        }
    }

    fn words_mut(&mut self) -> &mut [u64] {
        match self {
            Candidates::Inline(w) => w,
            Candidates::Heap(w) => w,
        }
    }

    pub fn contains(&self, member: usize) -> bool {
        holds(self.words(), member)
    }

    /// The set's words (a group's part of [`Matcher::search_all`]'s result has the same form).
    pub fn as_words(&self) -> &[u64] {
        self.words()
    }

    fn insert(&mut self, member: usize) {
        self.words_mut()[member / 64] |= 1 << (member % 64);
    }

    /// Inserts `member`; whether it was not in the set.
    fn insert_new(&mut self, member: usize) -> bool {
        let new = !self.contains(member);
        self.insert(member);
        new
    }

    /// Adds the members in `words` (a set of the same group's, [`Candidates::as_words`]).
    pub fn add(&mut self, words: &[u64]) {
        for (a, b) in self.words_mut().iter_mut().zip(words) {
            *a |= b;
        }
    }
}

/// Whether the set of a group's members in `words` holds `member`.
pub(crate) fn holds(words: &[u64], member: usize) -> bool {
    words[member / 64] & (1 << (member % 64)) != 0
}

impl Group {
    /// How many rules the group prefilters.
    pub fn len(&self) -> usize {
        self.members
    }

    /// The scan that serves `member` on the long values of `variable`: a subset's when the
    /// variable is one of the subset's and the member one of its members (a rule whose targets
    /// an exception changed at run time may name a variable its group did not expect of it),
    /// else the whole group's when it has one ([`subsets`]), else 0: the scan of every group's
    /// literals.
    pub fn scan_for(&self, variable: V, member: usize) -> Scan {
        let member = member as u32;
        // (the whole group's subset, when there is one, is the last, and serves every member
        // on every variable)
        let whole = self.subsets.last().is_some_and(|s| s.variables.is_empty());
        let naming = &self.subsets[..self.subsets.len() - usize::from(whole)];
        let otherwise = if whole { self.subsets.len() } else { 0 };
        naming
            .iter()
            .position(|s| {
                s.variables.contains(&variable) && s.members.binary_search(&member).is_ok()
            })
            .map_or(otherwise, |i| i + 1) as Scan
    }

    /// The members whose literals occur in `value` (ASCII case aside), by subset `scan` (not
    /// 0: [`Group::scan_for`]); a subset's members that the subset does not search for are in
    /// the set (all members for a scan the group does not have). `scratch` holds the value's
    /// lowercase when it has capitals.
    pub fn search_subset(&self, scan: Scan, value: &[u8], scratch: &mut Vec<u8>) -> Candidates {
        let Some(subset) = (scan as usize)
            .checked_sub(1)
            .and_then(|i| self.subsets.get(i))
        else {
            let mut all = Candidates::none(self.members);
            (0..self.members).for_each(|m| all.insert(m));
            return all;
        };
        let built = subset
            .scan
            .get_or_init(|| self.build_subset(&subset.members));
        let Some(literals) = built else {
            // (not built: it holds fewer literals than the whole automaton, which was; say
            // "maybe")
            let mut all = Candidates::none(self.members);
            for &m in &subset.members {
                all.insert(m as usize);
            }
            return all;
        };
        let value = if self.lowercase_values {
            value
        } else {
            lowercase(value, scratch)
        };
        let mut set = Candidates::none(self.members);
        literals.search(value, &mut set);
        set
    }

    /// The scan of the literals of `members` (sorted), with each literal's owners among them.
    fn build_subset(&self, members: &[u32]) -> Option<LiteralScan> {
        let mut literals = Vec::new();
        let mut owners = Vec::new();
        for (literal, own) in self.literals.iter().zip(self.owners.iter()) {
            let own: Vec<u32> = own
                .iter()
                .copied()
                .filter(|m| members.binary_search(m).is_ok())
                .collect();
            if !own.is_empty() {
                literals.push(literal.to_vec());
                owners.push(own);
            }
        }
        LiteralScan::new(literals, owners)
    }

    /// The group's part of a set of every group's members ([`Matcher::search_all`]).
    pub fn words_in<'a>(&self, all: &'a [u64]) -> &'a [u64] {
        &all[self.first_word..self.first_word + self.members.div_ceil(64)]
    }
}

/// A rule of a group, with its literals.
type Member<'r> = (&'r Rule, Vec<Vec<u8>>);

/// All groups of a rule set.
#[derive(Debug, Default)]
pub(crate) struct Matcher {
    pub groups: Vec<Group>,
    /// The group of the `multiMatch` rules' raw stages, the last ([`raw_probe`]).
    probe_group: Option<usize>,
    /// Every group's literals (`None` without groups), walked a byte at a time by
    /// [`Matcher::search_all`].
    automaton: Option<aho_corasick::nfa::contiguous::NFA>,
    /// For each literal of the automaton, the members it lets through, as words of a set of
    /// every group's members ([`Group::first_word`]) and their bits, one pair a word: a
    /// literal such as `on` or `select` lets through dozens of members, a few words' worth,
    /// and a bit at a time it was most of the scan of a median request's short values.
    owners: Ragged<(u32, u64)>,
    /// The length in words of a set of every group's members.
    words: usize,
}

impl Matcher {
    /// Builds the groups for these rules (chain links included) and records each member's
    /// slot in the rule.
    pub fn build<'r>(rules: impl Iterator<Item = &'r Rule>, chains: &ChainTable) -> Matcher {
        let mut by_chain: HashMap<ChainId, Vec<Member<'r>>> = HashMap::new();
        let mut order: Vec<ChainId> = Vec::new();
        let mut probes: Vec<Member<'r>> = Vec::new();
        for rule in rules {
            if let Some(literals) = raw_probe(rule) {
                probes.push((rule, literals));
                continue;
            }
            let Some(literals) = eligible(rule) else {
                continue;
            };
            let chain = rule.transformation_chain.load(Ordering::Relaxed);
            by_chain
                .entry(chain)
                .or_insert_with(|| {
                    order.push(chain);
                    Vec::new()
                })
                .push((rule, literals));
        }
        // the groups in order, the raw stages' probes last (a group of their own)
        let mut grouped: Vec<(ChainId, Vec<Member<'r>>)> = order
            .into_iter()
            .map(|chain| (chain, by_chain.remove(&chain).unwrap_or_default()))
            .collect();
        let probe_group = (!probes.is_empty()).then(|| {
            grouped.push((crate::chains::IDENTITY, probes));
            grouped.len() - 1
        });
        // each group's literals, and for each literal the members it lets through
        let lists: Vec<LiteralList<'_>> = grouped
            .iter()
            .map(|(_, members)| {
                let mut index = LiteralIndex::default();
                let mut literals: Vec<&[u8]> = Vec::new();
                let mut owners: Vec<Vec<u32>> = Vec::new();
                for (m, (_, lits)) in members.iter().enumerate() {
                    for l in lits {
                        let i = *index.entry(l.as_slice()).or_insert_with(|| {
                            literals.push(l.as_slice());
                            owners.push(Vec::new());
                            literals.len() - 1
                        });
                        owners[i].push(m as u32);
                    }
                }
                (literals, owners)
            })
            .collect();
        // every group's literals in one automaton, each with its owners' bits
        let mut index = LiteralIndex::default();
        let mut all_literals: Vec<&[u8]> = Vec::new();
        let mut all_owners: Vec<Vec<u32>> = Vec::new();
        let mut first_word = 0;
        for ((_, members), (literals, owners)) in grouped.iter().zip(&lists) {
            for (&l, own) in literals.iter().zip(owners) {
                let i = *index.entry(l).or_insert_with(|| {
                    all_literals.push(l);
                    all_owners.push(Vec::new());
                    all_literals.len() - 1
                });
                all_owners[i].extend(own.iter().map(|&m| (first_word * 64) as u32 + m));
            }
            first_word += members.len().div_ceil(64);
        }
        // (the literals are lowercase, and so is the value searched: an automaton of both
        // cases of each letter took twice the time to build)
        let Ok(automaton) = aho_corasick::nfa::contiguous::NFA::new(&all_literals) else {
            // (too large for its state ids: every rule runs its own operator)
            return Matcher::default();
        };
        let mut owners_of_all = Ragged::default();
        for own in &mut all_owners {
            own.sort_unstable();
            let mut words: Vec<(u32, u64)> = Vec::new();
            for &bit in own.iter() {
                match words.last_mut() {
                    Some((w, mask)) if *w == bit / 64 => *mask |= 1 << (bit % 64),
                    _ => words.push((bit / 64, 1 << (bit % 64))),
                }
            }
            owners_of_all.push(&words);
        }
        let mut groups = Vec::new();
        let mut first_word = 0;
        for (g, ((chain, members), (literals, owners))) in grouped.iter().zip(lists).enumerate() {
            let probing = probe_group == Some(g);
            for (m, (rule, _)) in members.iter().enumerate() {
                let slot = match probing {
                    true => &rule.raw_probe_slot,
                    false => &rule.matcher_slot,
                };
                slot.store(((g as u64) << 32) | m as u64, Ordering::Relaxed);
            }
            // (the probes are asked about short values only: no scan of their own)
            let subsets = match probing {
                true => Vec::new(),
                false => subsets(members, &literals),
            };
            let (mut kept_literals, mut kept_owners) = (Ragged::default(), Ragged::default());
            for (l, own) in literals.iter().zip(&owners) {
                kept_literals.push(l);
                kept_owners.push(own);
            }
            let lowercase_values = chains
                .step(*chain)
                .is_some_and(|s| s.name == TransformationName::Lowercase);
            groups.push(Group {
                members: members.len(),
                first_word,
                subsets,
                literals: kept_literals,
                owners: kept_owners,
                lowercase_values,
            });
            first_word += members.len().div_ceil(64);
        }
        Matcher {
            groups,
            probe_group,
            automaton: Some(automaton),
            owners: owners_of_all,
            words: first_word,
        }
    }

    /// The groups of rules the matcher prefilters (not the raw stages' probes).
    pub fn member_groups(&self) -> &[Group] {
        &self.groups[..self.probe_group.unwrap_or(self.groups.len())]
    }

    /// For every group, the members whose literals occur in `value` (ASCII case aside), as
    /// one set appended to `sets` (a group's part of it is [`Group::words_in`] it). `scratch`
    /// holds the value's lowercase when it has capitals.
    #[cfg(test)]
    pub fn search_all(&self, value: &[u8], sets: &mut Vec<u64>, scratch: &mut Vec<u8>) {
        self.search_all_after(value, sets, scratch, None);
    }

    /// [`Matcher::search_all`] that starts where `last`, the walk of the value scanned
    /// before, left the bytes this value starts with, and becomes this value's walk: the
    /// automaton's state after a byte depends on the bytes read alone, and so do the literals
    /// found up to it. A large body's argument names share most of their bytes with the name
    /// before (`json.items.array_12.description` after `json.items.array_12.name`). Returns
    /// whether the value was walked from `last` (`None` when not: no `last`, or a value too
    /// long), and whether its set is the last walk's (kept at `last.place`).
    pub(crate) fn search_all_after(
        &self,
        value: &[u8],
        sets: &mut Vec<u64>,
        scratch: &mut Vec<u8>,
        last: Option<&mut LastWalk>,
    ) -> Option<bool> {
        // Every literal that ends at each byte: the states the automaton goes through, and the
        // literals each one holds (its own and the shorter ones that end it), as an overlapping
        // search reports them. (Walked here, not by the crate's overlapping search, which
        // stops and starts again at each literal found, ~200 instructions each: a JSON body's
        // name, `json.items.array_12.description`, holds `json`, `on` twice, `arra`, `desc`.)
        if let Some(automaton) = &self.automaton {
            use aho_corasick::{automaton::Automaton, Anchored};
            let Ok(mut state) = automaton.start_state(Anchored::No) else {
                return None;
            };
            let Some(last) = last.filter(|_| value.len() <= LastWalk::LONGEST) else {
                let start = sets.len();
                sets.resize(start + self.words, 0);
                let set = &mut sets[start..];
                let value = lowercase(value, scratch);
                // (the start holds an empty literal, were there one: found before any byte)
                if automaton.is_match(state) {
                    self.add_owners(automaton, state, set);
                }
                for &b in value {
                    state = automaton.next_state(Anchored::No, state, b);
                    if automaton.is_match(state) {
                        self.add_owners(automaton, state, set);
                    }
                }
                return None;
            };
            Some(self.walk_from(automaton, state, value, sets, last))
        } else {
            sets.resize(sets.len() + self.words, 0);
            None
        }
    }

    /// [`Matcher::search_all_after`]'s walk of `value` from `last`, from the automaton's
    /// start `state`: whether its set is the last walk's (`true`: nothing is appended to
    /// `sets`).
    #[inline(never)]
    fn walk_from(
        &self,
        automaton: &aho_corasick::nfa::contiguous::NFA,
        mut state: aho_corasick::automaton::StateID,
        value: &[u8],
        sets: &mut Vec<u64>,
        last: &mut LastWalk,
    ) -> bool {
        use aho_corasick::{automaton::Automaton, Anchored};
        if last.set.len() != self.words {
            // (the first walk: from the start, whose literals every walk holds)
            last.forget();
            last.set.resize(self.words, 0);
            if automaton.is_match(state) {
                self.add_owners(automaton, state, &mut last.set);
            }
        }
        // The bytes both values start with: their states are the last walk's, and their
        // literals its set's but for those of the literals found after them (undone, from
        // the last: each change of a word is logged with what the word held).
        // (the bytes as they are: the same bytes have the same lowercase, which the automaton
        // reads, a byte at a time; a copy in lowercase was a look for capitals in each value)
        let same = common_prefix(&last.text, value);
        let kept = last
            .matches
            .partition_point(|&(at, _)| (at as usize) < same);
        // (the words the last walk's set had where this walk changes them, each at its first
        // entry: the set is the last walk's when all of them come back)
        let mut touched = std::mem::take(&mut last.touched);
        touched.clear();
        if let Some(&(_, undo_from)) = last.matches.get(kept) {
            for &(word, before) in last.undo[undo_from as usize..].iter().rev() {
                touched.push((word, last.set[word as usize]));
                last.set[word as usize] = before;
            }
            last.undo.truncate(undo_from as usize);
        }
        let first_new = last.undo.len();
        if same > 0 {
            state = last.states[same - 1];
        }
        last.matches.truncate(kept);
        last.states.truncate(same);
        last.text.truncate(same);
        last.text.extend_from_slice(&value[same..]);
        last.states.reserve(value.len() - same);
        for (at, &b) in value.iter().enumerate().skip(same) {
            state = automaton.next_state(Anchored::No, state, b.to_ascii_lowercase());
            last.states.push(state);
            if automaton.is_match(state) {
                last.matches.push((at as u32, last.undo.len() as u32));
                self.add_owners_logged(automaton, state, &mut last.set, &mut last.undo);
            }
        }
        touched.extend_from_slice(&last.undo[first_new..]);
        let same = touched.iter().enumerate().all(|(i, &(word, had))| {
            touched[..i].iter().any(|&(w, _)| w == word) || last.set[word as usize] == had
        });
        last.touched = touched;
        // (a first walk's set is not kept anywhere yet)
        if same && last.place.is_some() {
            return true;
        }
        sets.extend_from_slice(&last.set);
        false
    }

    /// [`Matcher::add_owners`] that logs each word it changes, with what the word held.
    fn add_owners_logged(
        &self,
        automaton: &aho_corasick::nfa::contiguous::NFA,
        state: aho_corasick::automaton::StateID,
        set: &mut [u64],
        undo: &mut Vec<(u32, u64)>,
    ) {
        use aho_corasick::automaton::Automaton;
        for i in 0..automaton.match_len(state) {
            let literal = automaton.match_pattern(state, i).as_usize();
            for &(word, bits) in self.owners.get(literal) {
                let before = set[word as usize];
                if before | bits != before {
                    undo.push((word, before));
                    set[word as usize] = before | bits;
                }
            }
        }
    }

    /// Adds to `set` the owners of the literals that end at `state` (a match state).
    #[inline(always)]
    fn add_owners(
        &self,
        automaton: &aho_corasick::nfa::contiguous::NFA,
        state: aho_corasick::automaton::StateID,
        set: &mut [u64],
    ) {
        use aho_corasick::automaton::Automaton;
        for i in 0..automaton.match_len(state) {
            let literal = automaton.match_pattern(state, i).as_usize();
            for &(word, bits) in self.owners.get(literal) {
                set[word as usize] |= bits;
            }
        }
    }
}

/// The last value walked through the matcher's automaton
/// ([`Matcher::search_all_after`]): its bytes, the state after each, and where
/// a literal ended (the bytes after which the state was a match state).
#[derive(Debug, Default)]
pub(crate) struct LastWalk {
    text: Vec<u8>,
    states: Vec<aho_corasick::automaton::StateID>,
    /// (byte, length of `undo` before the literals found there),
    matches: Vec<(u32, u32)>,
    /// the set of every group's members it found ([`Matcher::search_all`]'s), and the words
    /// each literal found changed, with what they held before.
    set: Vec<u64>,
    undo: Vec<(u32, u64)>,
    /// Where the caller keeps that set (`None`: not known yet).
    pub(crate) place: Option<usize>,
    /// (the words a walk changes, with what they held: a scratch list)
    touched: Vec<(u32, u64)>,
}

impl LastWalk {
    /// The longest value walked this way (a longer one is walked as before, and leaves the
    /// last walk as it was).
    const LONGEST: usize = 256;

    /// Forgets the last walk, and its room.
    pub(crate) fn forget(&mut self) {
        *self = LastWalk::default();
    }
}

/// How many bytes `a` and `b` start with alike (eight compared at a time).
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut same = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let word = |c: &[u8]| u64::from_le_bytes(c.try_into().expect("eight bytes"));
        let differ = word(x) ^ word(y);
        if differ != 0 {
            return same + (differ.trailing_zeros() / 8) as usize;
        }
        same += 8;
    }
    same + a[same..]
        .iter()
        .zip(&b[same..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// `value`, or its lowercase in `scratch` when it has capitals.
fn lowercase<'a>(value: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    if crate::transformations::any_byte(value, |b| b.is_ascii_uppercase()) {
        scratch.clear();
        scratch.extend(value.iter().map(u8::to_ascii_lowercase));
        scratch
    } else {
        value
    }
}

/// The subsets of a group's members (with `literals`, distinct, in all) worth a scan of their
/// own: the members that name a variable (the same members may name several), when they hold
/// at most half the group's literals; then the whole group, when its scan has Teddy's SIMD
/// search (with thousands of literals, it reads every byte through its automaton as the
/// scan of every group's literals does, which serves every group at once, and it cost a
/// build of 80 M instructions in each process).
fn subsets(members: &[Member<'_>], literals: &[&[u8]]) -> Vec<Subset> {
    let group_literals = literals.len();
    let mut naming: HashMap<V, Vec<u32>> = HashMap::new();
    for (m, (rule, _)) in members.iter().enumerate() {
        for t in &rule.targets {
            let list = naming.entry(t.variable).or_default();
            if list.last() != Some(&(m as u32)) {
                list.push(m as u32);
            }
        }
    }
    let mut by_members: BTreeMap<Vec<u32>, Vec<V>> = BTreeMap::new();
    for (v, list) in naming {
        by_members.entry(list).or_default().push(v);
    }
    let mut subsets = Vec::new();
    for (list, mut variables) in by_members {
        // (literals two members share counted twice: a bound, cheap to work out)
        let held: usize = list.iter().map(|&m| members[m as usize].1.len()).sum();
        if held * 2 > group_literals || subsets.len() + 1 == MAX_SUBSETS {
            continue;
        }
        variables.sort_unstable();
        subsets.push(Subset {
            variables,
            members: list,
            scan: OnceLock::new(),
        });
    }
    if literal_scan::prefilters(literals) {
        subsets.push(Subset {
            variables: Vec::new(),
            members: (0..members.len() as u32).collect(),
            scan: OnceLock::new(),
        });
    }
    subsets
}

/// The literals (lowercased) one of which every match of the rule's operator holds, if the
/// rule can join a group.
fn eligible(rule: &Rule) -> Option<Vec<Vec<u8>>> {
    match rule.multi_match() {
        true => None,
        false => group_literals(rule),
    }
}

/// The literals (lowercased) one of which every match of a `multiMatch` rule's operator
/// holds, if the rule's raw stage can be told by the scan of every group's literals: a probe,
/// in a group of its own (its slot is [`Rule::raw_probe_slot`]) that no rule is a member of.
/// A `multiMatch` rule tests the value as it is and each stage a step changed; on a large
/// variable (a 1 MB JSON body's 60,000 names and values) the raw stages' own literal searches
/// were a tenth of the time, over texts the scan of every group's literals reads anyway.
fn raw_probe(rule: &Rule) -> Option<Vec<Vec<u8>>> {
    match rule.multi_match() {
        true => group_literals(rule),
        false => None,
    }
}

/// The literals of a rule's operator as a group keeps them (lowercase, at most
/// [`LITERAL_PREFIX`] bytes, sorted), if it has some a group can take.
fn group_literals(rule: &Rule) -> Option<Vec<Vec<u8>>> {
    let op = rule.operator.as_ref()?;
    if op.negated || op.argument.has_macros() {
        return None;
    }
    // A phrase list (the only operator with literals besides a pattern) of the response
    // phases stays out: every value the automaton scans pays for its size, request values
    // included, and CRS's (2,100 phrases, 1,833 of them php-errors.data's) would make it twice
    // the size it is with the request's.
    if rule.phase > 2 && op.operator.static_regex().is_none() {
        return None;
    }
    let mut literals = op.operator.required_literals()?;
    // a literal's start stands for it (where it occurs, so does its start)
    for l in &mut literals {
        l.truncate(LITERAL_PREFIX);
    }
    literals.sort_unstable();
    literals.dedup();
    Some(literals)
}

/// The longest literal the automaton searches for; a longer one is searched by its first
/// `LITERAL_PREFIX` bytes, which few values hold where it does not occur. (CRS's phrase lists
/// made the automaton of whole literals twice the size and time to build: their phrases
/// average 17 bytes.)
const LITERAL_PREFIX: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::Entry;
    use crate::{RuleSet, Transaction};
    use std::sync::Arc;

    /// Rules 1 and 2 name `ARGS`; rule 3 alone names `REQUEST_URI`, with one literal of the
    /// group's eight.
    const RULES: &str = "SecRuleEngine On\n\
        SecRule ARGS \"@rx (?:alpha|bravo|charlie|delta)x\" \"id:1,phase:2,pass,t:none\"\n\
        SecRule ARGS \"@rx (?:echo|foxtrot|golf)y\" \"id:2,phase:2,pass,t:none\"\n\
        SecRule REQUEST_URI \"@rx kilo=\\w\" \"id:3,phase:2,pass,t:none\"\n";

    /// The member number of each rule of phase 2, by id.
    fn members(rules: &RuleSet) -> HashMap<u64, usize> {
        rules.phases[2]
            .iter()
            .filter_map(|e| match e {
                Entry::Rule(r) => Some((r.id, r.matcher_slot.load(Ordering::Relaxed))),
                Entry::Marker(_) => None,
            })
            .map(|(id, slot)| (id, (slot & 0xffff_ffff) as usize))
            .collect()
    }

    #[test]
    fn a_variable_few_members_name_gets_their_scan() {
        let rules = RuleSet::from_text("t.conf", RULES, None).unwrap();
        let m = members(&rules);
        let group = &rules.matcher.groups[0];
        let uri = group.scan_for(V::RequestUri, m[&3]);
        assert_ne!(uri, 0);
        // the members that name ARGS hold most of the literals: the whole group's scan
        let whole = group.scan_for(V::Args, m[&1]);
        assert_ne!(whole, uri);
        // a member the subset does not know of is served by the whole group's scan
        assert_eq!(group.scan_for(V::RequestUri, m[&1]), whole);
        let value = b"/alphax/kilo=1";
        let mut all = Vec::new();
        rules.matcher.search_all(value, &mut all, &mut Vec::new());
        let all = group.words_in(&all);
        assert!(holds(all, m[&1]) && holds(all, m[&3]));
        let scratch = &mut Vec::new();
        let by_subset = group.search_subset(uri, value, scratch);
        assert!(by_subset.contains(m[&3]));
        assert!(!by_subset.contains(m[&1]));
        assert!(!group
            .search_subset(uri, b"/alphax", scratch)
            .contains(m[&3]));
        let by_group = group.search_subset(whole, b"/ALPHAX/FoxtrotY", scratch);
        assert!(by_group.contains(m[&1]) && by_group.contains(m[&2]));
        assert!(!by_group.contains(m[&3]));
    }

    /// A `multiMatch` rule is no member (its operator runs on every stage of a value) but
    /// its raw stage has a probe, in a group of its own that `grouped_rules` does not count,
    /// and the scan of every group's literals tells it.
    #[test]
    fn a_multi_match_rule_has_a_probe_for_its_raw_stage() {
        let text = "SecRule ARGS \"@rx (?:alpha|bravo)x\" \"id:1,phase:2,pass,t:none\"\n\
                    SecRule ARGS \"@rx __proto__\" \"id:2,phase:2,pass,t:none,t:urlDecodeUni,multiMatch\"\n\
                    SecRule ARGS \"!@rx __proto__\" \"id:3,phase:2,pass,t:none,multiMatch\"";
        let rules = RuleSet::from_text("t.conf", text, None).unwrap();
        assert_eq!(rules.grouped_rules(), (1, 1));
        let slots: Vec<(u64, u64)> = rules.phases[2]
            .iter()
            .filter_map(|e| match e {
                Entry::Rule(r) => Some((
                    r.matcher_slot.load(Ordering::Relaxed),
                    r.raw_probe_slot.load(Ordering::Relaxed),
                )),
                Entry::Marker(_) => None,
            })
            .collect();
        assert!(slots[0].0 != NO_SLOT && slots[0].1 == NO_SLOT);
        assert!(slots[1].0 == NO_SLOT && slots[1].1 != NO_SLOT);
        // (negated: its raw stage's match is a value without the literals)
        assert_eq!(slots[2], (NO_SLOT, NO_SLOT));
        let (group, member) = (
            (slots[1].1 >> 32) as usize,
            (slots[1].1 & 0xffff_ffff) as usize,
        );
        assert_eq!(rules.matcher.probe_group, Some(group));
        let probed = |value: &[u8]| {
            let mut all = Vec::new();
            rules.matcher.search_all(value, &mut all, &mut Vec::new());
            holds(rules.matcher.groups[group].words_in(&all), member)
        };
        assert!(probed(b"a=__PROTO__"));
        assert!(!probed(b"a=%5f_proto__"));
        assert!(!probed(b"alphax"));
    }

    /// A group whose literals have more starts than Teddy takes has no scan of its own for long
    /// values: the scan of every group's serves them, as it serves short ones.
    #[test]
    fn only_a_group_teddy_takes_has_a_scan_of_its_own() {
        for (words, own_scan) in [(60, true), (70, false)] {
            // (distinct starts of three bytes)
            let words: Vec<String> = (0..words).map(|i| format!("w{i:02}x")).collect();
            let text = format!(
                "SecRule ARGS \"@pm {}\" \"id:1,phase:2,pass,t:none\"\n",
                words.join(" ")
            );
            let rules = RuleSet::from_text("t.conf", &text, None).unwrap();
            let scan = rules.matcher.groups[0].scan_for(V::Args, 0);
            assert_eq!(scan != 0, own_scan, "{} words", words.len());
        }
    }

    proptest::proptest! {
        /// One scan of every group's literals gives each group the members one of whose
        /// literals (its first [`LITERAL_PREFIX`] bytes) occurs in the value, ASCII case aside
        /// (groups of more than 64 members, and literals several groups share, included); and
        /// it lets through every rule whose operator (a pattern or a phrase list) matches.
        #[test]
        fn one_scan_serves_every_group(
            rules in proptest::collection::vec(
                (
                    // (most in one group: more than 64 members)
                    proptest::prop_oneof![6 => proptest::strategy::Just(0usize), 1 => 1..3usize],
                    // (some longer than the prefix searched for)
                    proptest::collection::vec("[abAB-]{2,11}", 1..4),
                    // an @pm list, or a pattern
                    proptest::bool::weighted(0.25),
                ),
                1..90,
            ),
            values in proptest::collection::vec("[abAB-]{0,40}", 1..8),
        ) {
            let chains = ["t:none", "t:lowercase", "t:none,t:urlDecode"];
            let mut text = String::from("SecRuleEngine On\n");
            for (i, (chain, alternatives, phrases)) in rules.iter().enumerate() {
                let operator = if *phrases {
                    format!("@pm {}", alternatives.join(" "))
                } else {
                    format!("@rx (?:{})", alternatives.join("|"))
                };
                text.push_str(&format!(
                    "SecRule ARGS \"{operator}\" \"id:{},phase:2,pass,{}\"\n",
                    i + 1,
                    chains[*chain]
                ));
            }
            let set = RuleSet::from_text("t.conf", &text, None).unwrap();
            for value in &values {
                let mut all = vec![u64::MAX];
                set.matcher.search_all(value.as_bytes(), &mut all, &mut Vec::new());
                let all = &all[1..];
                for e in &set.phases[2] {
                    let Entry::Rule(rule) = e else { continue };
                    let slot = rule.matcher_slot.load(Ordering::Relaxed);
                    proptest::prop_assert_ne!(slot, NO_SLOT);
                    let group = &set.matcher.groups[(slot >> 32) as usize];
                    let found = holds(group.words_in(all), (slot & 0xffff_ffff) as usize);
                    let operator = &rule.operator.as_ref().unwrap().operator;
                    let lower = value.to_ascii_lowercase();
                    let expected = operator.required_literals().unwrap().iter().any(|l| {
                        let l = &l[..l.len().min(LITERAL_PREFIX)];
                        lower.as_bytes().windows(l.len()).any(|w| w == l)
                    });
                    proptest::prop_assert_eq!(found, expected, "rule {} on {:?}", rule.id, value);
                    let mut cx = crate::operators::testing::Cx::default();
                    if operator.evaluate(&mut cx, value.as_bytes()) {
                        proptest::prop_assert!(found);
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// A walk that starts from the last one's (values that start alike, values of any
        /// case, a value too long to be walked that way between them, and an empty literal's
        /// members, which every value holds) finds what a walk from the start finds.
        #[test]
        fn a_walk_from_the_last_finds_what_one_from_the_start_does(
            patterns in proptest::collection::vec(
                (0..3usize, proptest::collection::vec("[abAB.]{0,6}", 1..4)),
                1..40,
            ),
            values in proptest::collection::vec(
                (0..4usize, "[abAB.]{0,12}", proptest::bool::weighted(0.1)),
                1..12,
            ),
        ) {
            let chains = ["t:none", "t:lowercase", "t:none,t:urlDecode"];
            let mut text = String::from("SecRuleEngine On\n");
            for (i, (chain, alternatives)) in patterns.iter().enumerate() {
                let alternatives: Vec<String> =
                    alternatives.iter().map(|a| a.replace('.', "\\.")).collect();
                text.push_str(&format!(
                    "SecRule ARGS \"@rx (?:{})\" \"id:{},phase:2,pass,{}\"\n",
                    alternatives.join("|"),
                    i + 1,
                    chains[*chain]
                ));
            }
            let set = RuleSet::from_text("t.conf", &text, None).unwrap();
            let starts = ["", "json.items.", "JSON.items.array_", "aab.b"];
            let mut last = LastWalk::default();
            // (the set of the last value walked from the last walk: what "the same" stands for)
            let mut last_set = Vec::new();
            for (start, rest, long) in &values {
                let mut value = format!("{}{rest}", starts[*start]);
                if *long {
                    value = value.repeat(LastWalk::LONGEST / value.len().max(1) + 1);
                }
                let (mut plain, mut after) = (vec![7], vec![7]);
                set.matcher.search_all(value.as_bytes(), &mut plain, &mut Vec::new());
                let walked = set.matcher.search_all_after(
                    value.as_bytes(),
                    &mut after,
                    &mut Vec::new(),
                    Some(&mut last),
                );
                if walked == Some(true) {
                    proptest::prop_assert_eq!(after.len(), 1, "nothing appended");
                    after.extend_from_slice(&last_set);
                }
                proptest::prop_assert_eq!(&plain, &after, "{:?}", value);
                if walked.is_some() {
                    last_set = after[1..].to_vec();
                    last.place = Some(0);
                }
            }
        }
    }

    #[test]
    fn a_target_added_by_an_exception_is_scanned_for_its_rule() {
        // rule 1 now also reads REQUEST_URI, which the subset of rule 3 serves
        let text = format!("{RULES}SecRuleUpdateTargetById 1 REQUEST_URI\n");
        let rules = Arc::new(RuleSet::from_text("t.conf", &text, None).unwrap());
        let mut tx = Transaction::new(rules);
        // (long enough for the subset's scan)
        let uri = format!("/alphax/kilo=1/{}", "z".repeat(LONG_VALUE));
        tx.process_uri(uri.as_bytes(), b"GET", b"1.1");
        tx.process_request_headers();
        tx.process_request_body();
        let mut ids: Vec<u64> = tx.messages().iter().map(|m| m.rule_id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 3]);
    }
}
