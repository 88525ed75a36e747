//! The grouped matcher: one literal prefilter per transformation chain.
//!
//! Rules that share a transformation chain see the same transformed value. For the `@rx`
//! rules among them, every pattern whose matches must start (or end) with one of a finite set
//! of literals (regex-syntax's prefix and suffix extraction, made when the pattern is compiled:
//! [`crate::regex::Regex::required_literals`]) gives those literals to one Aho-Corasick
//! automaton per chain; a transaction scans each value once per chain with it, which says
//! which of those rules can match at all. A rule none of whose literals occurs in the value
//! cannot match it, and its regex is not run; a rule none of whose literals occurs in any
//! value of its variables is not even asked about its values
//! ([`crate::transaction`]'s `candidates`). Every other rule (literal found, or a pattern
//! without usable literals) runs its own regex as before (captures, `[ref]` ranges), so
//! verdicts, rule order, chains, `skipAfter`, captures and logged ids are those of the
//! rule-by-rule evaluation: the prefilter only ever says "cannot match" when that is true.
//! The literals are searched without regard to ASCII case, which can only let more rules
//! through.
//!
//! What joins a group: a static, non-negated `@rx` on the linear engine (not the backtracking
//! fallback, and not a pattern whose `^` needs PCRE's end-of-subject re-check), in a rule
//! without `multiMatch` (which tests several values per target). Everything else runs as it
//! always did.
//!
//! (A multi-pattern lazy DFA over the whole patterns, `meta::Regex::new_many` with
//! `MatchKind::All`, answers the same question exactly but was measured slower here: CRS's
//! attack inputs keep it determinizing new states, 3× the time of the rule-by-rule run.)

use crate::chains::ChainId;
use crate::rule::Rule;
use aho_corasick::AhoCorasick;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where a rule sits in the matcher: `(group << 32) | member`; [`NO_SLOT`] when it is not in
/// a group.
pub(crate) type Slot = AtomicU64;

/// [`Slot`] of a rule outside every group.
pub(crate) const NO_SLOT: u64 = u64::MAX;

/// A group: the prefilterable `@rx` rules of one transformation chain.
#[derive(Debug)]
pub(crate) struct Group {
    automaton: AhoCorasick,
    /// For each literal of the automaton, the members it lets through.
    owners: Vec<Vec<u32>>,
    members: usize,
}

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
        self.words()[member / 64] & (1 << (member % 64)) != 0
    }

    fn insert(&mut self, member: usize) {
        self.words_mut()[member / 64] |= 1 << (member % 64);
    }

    /// Adds the members of `other` (of the same group).
    pub fn add(&mut self, other: &Candidates) {
        for (a, b) in self.words_mut().iter_mut().zip(other.words()) {
            *a |= b;
        }
    }
}

impl Group {
    /// How many rules the group prefilters.
    pub fn len(&self) -> usize {
        self.members
    }

    /// The members whose literals occur in `value`.
    pub fn search(&self, value: &[u8]) -> Candidates {
        let mut set = Candidates::none(self.members);
        for m in self.automaton.find_overlapping_iter(value) {
            for &member in &self.owners[m.pattern().as_usize()] {
                set.insert(member as usize);
            }
        }
        set
    }
}

/// A rule of a group, with its literals.
type Member<'r> = (&'r Rule, Vec<Vec<u8>>);

/// All groups of a rule set.
#[derive(Debug, Default)]
pub(crate) struct Matcher {
    pub groups: Vec<Group>,
}

impl Matcher {
    /// Builds the groups for these rules (chain links included) and records each member's
    /// slot in the rule.
    pub fn build<'r>(rules: impl Iterator<Item = &'r Rule>) -> Matcher {
        let mut by_chain: HashMap<ChainId, Vec<Member<'r>>> = HashMap::new();
        let mut order: Vec<ChainId> = Vec::new();
        for rule in rules {
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
        let mut groups = Vec::new();
        for chain in order {
            let members = &by_chain[&chain];
            let mut index: HashMap<&[u8], usize> = HashMap::new();
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
            let Ok(automaton) = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&literals)
            else {
                continue;
            };
            let g = groups.len() as u64;
            for (m, (rule, _)) in members.iter().enumerate() {
                rule.matcher_slot
                    .store((g << 32) | m as u64, Ordering::Relaxed);
            }
            groups.push(Group {
                automaton,
                owners,
                members: members.len(),
            });
        }
        Matcher { groups }
    }
}

/// The literals (lowercased) one of which starts (or ends) every match of the rule's pattern,
/// if the rule can join a group.
fn eligible(rule: &Rule) -> Option<Vec<Vec<u8>>> {
    let op = rule.operator.as_ref()?;
    if op.negated || rule.multi_match() || op.argument.has_macros() {
        return None;
    }
    let re = op.operator.static_regex()?;
    if re.uses_fallback() || re.rechecks_line_start() {
        return None;
    }
    re.required_literals().map(<[Vec<u8>]>::to_vec)
}
