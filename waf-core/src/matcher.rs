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

use crate::chains::{ChainId, ChainTable};
use crate::rule::Rule;
use aho_corasick::AhoCorasick;
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
    automaton: AhoCorasick,
    /// For each literal of the automaton, the members it lets through.
    owners: Vec<Vec<u32>>,
    members: usize,
    /// Variables that few of the members name, each with those members' own scan: of the 88
    /// rules of CRS's group without transformations, 4 name `REQUEST_BODY` (a 60 KB upload's
    /// body was half the bytes the groups scanned on the benign set), 50 `RESPONSE_BODY`, 22
    /// `ARGS`; a long value is scanned for the literals of the rules that may ask about it.
    subsets: Vec<Subset>,
    /// With subsets: the automaton's literals, one after the other (a subset's automaton is
    /// built from them on its first use), and where each ends.
    literal_bytes: Vec<u8>,
    literal_ends: Vec<u32>,
    /// The chain ends with `t:lowercase`: its values have no upper-case letter, so a subset's
    /// (lowercased) literals are searched case-sensitively, which lets Aho-Corasick use its
    /// SIMD searchers.
    lowercase_values: bool,
}

/// Some members of a group and the variables only they name, with an automaton of their
/// literals alone, built on its first use.
#[derive(Debug)]
struct Subset {
    variables: Vec<V>,
    /// Group member numbers, sorted.
    members: Vec<u32>,
    /// The automaton of their literals, and for each literal, the (group) members it lets
    /// through.
    automaton: OnceLock<Option<(AhoCorasick, Vec<Vec<u32>>)>>,
}

/// A group's literals, and for each the members it lets through.
type LiteralList<'r> = (Vec<&'r [u8]>, Vec<Vec<u32>>);

/// Which scan of a group serves a member on a variable: 0 for the group's automaton, `i + 1`
/// for subset `i`. Part of the key of the scan's cached results.
pub(crate) type Scan = u32;

/// A value at least this long is scanned by a subset's automaton ([`Group::scan_for`]); a
/// shorter one by the group's, whose result serves every member (on CRS's 1,000-argument
/// request, scanning the arguments by subsets was no faster, and building the subsets'
/// automata cost 17 M instructions in each process).
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

    /// The scan that serves `member` on the values of `variable`: a subset's when the
    /// variable is one of the subset's and the member one of its members (a rule whose targets
    /// an exception changed at run time may name a variable its group did not expect of it).
    pub fn scan_for(&self, variable: V, member: usize) -> Scan {
        self.subsets
            .iter()
            .position(|s| {
                s.variables.contains(&variable) && s.members.binary_search(&(member as u32)).is_ok()
            })
            .map_or(0, |i| i as Scan + 1)
    }

    /// The members whose literals occur in `value`, by `scan` ([`Group::scan_for`]): all the
    /// group's, or only a subset's.
    pub fn search_by(&self, scan: Scan, value: &[u8]) -> Candidates {
        let Some(subset) = (scan as usize)
            .checked_sub(1)
            .and_then(|i| self.subsets.get(i))
        else {
            return self.search(value);
        };
        let built = subset
            .automaton
            .get_or_init(|| self.build_subset(&subset.members));
        let Some((automaton, owners)) = built else {
            // (not built: it holds fewer literals than the group's, which was; say "maybe")
            let mut all = Candidates::none(self.members);
            for &m in &subset.members {
                all.insert(m as usize);
            }
            return all;
        };
        search_with(automaton, owners, self.members, value)
    }

    /// The automaton of the literals of `members` (sorted), and each literal's owners among
    /// them.
    fn build_subset(&self, members: &[u32]) -> Option<(AhoCorasick, Vec<Vec<u32>>)> {
        let mut literals = Vec::new();
        let mut owners = Vec::new();
        let mut start = 0;
        for (i, &end) in self.literal_ends.iter().enumerate() {
            let own: Vec<u32> = self.owners[i]
                .iter()
                .copied()
                .filter(|m| members.binary_search(m).is_ok())
                .collect();
            if !own.is_empty() {
                literals.push(&self.literal_bytes[start..end as usize]);
                owners.push(own);
            }
            start = end as usize;
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(!self.lowercase_values)
            .build(&literals)
            .ok()?;
        Some((automaton, owners))
    }

    /// The members whose literals occur in `value`.
    pub fn search(&self, value: &[u8]) -> Candidates {
        search_with(&self.automaton, &self.owners, self.members, value)
    }
}

/// The members (of a group of `members`) that the literals `automaton` finds in `value` let
/// through.
fn search_with(
    automaton: &AhoCorasick,
    owners: &[Vec<u32>],
    members: usize,
    value: &[u8],
) -> Candidates {
    let mut set = Candidates::none(members);
    for m in automaton.find_overlapping_iter(value) {
        for &member in &owners[m.pattern().as_usize()] {
            set.insert(member as usize);
        }
    }
    set
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
    pub fn build<'r>(rules: impl Iterator<Item = &'r Rule>, chains: &ChainTable) -> Matcher {
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
        // each chain's literals, and for each literal the members it lets through
        let lists: Vec<LiteralList<'_>> = order
            .iter()
            .map(|chain| {
                let mut index: HashMap<&[u8], usize> = HashMap::new();
                let mut literals: Vec<&[u8]> = Vec::new();
                let mut owners: Vec<Vec<u32>> = Vec::new();
                for (m, (_, lits)) in by_chain[chain].iter().enumerate() {
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
        // (a tenth of a CRS load: the automata are built on all cores; a few literals are not
        // worth a thread)
        let literal_count: usize = lists.iter().map(|(l, _)| l.len()).sum();
        let automata = crate::parallel::map(&lists, literal_count >= 1000, |(literals, _)| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(literals)
        });
        let mut groups = Vec::new();
        for ((chain, (literals, owners)), automaton) in order.into_iter().zip(lists).zip(automata) {
            let members = &by_chain[&chain];
            let Ok(automaton) = automaton else {
                continue;
            };
            let g = groups.len() as u64;
            for (m, (rule, _)) in members.iter().enumerate() {
                rule.matcher_slot
                    .store((g << 32) | m as u64, Ordering::Relaxed);
            }
            let subsets = subsets(members, literals.len());
            let (mut literal_bytes, mut literal_ends) = (Vec::new(), Vec::new());
            if !subsets.is_empty() {
                for l in &literals {
                    literal_bytes.extend_from_slice(l);
                    literal_ends.push(literal_bytes.len() as u32);
                }
            }
            let lowercase_values = chains
                .step(chain)
                .is_some_and(|s| s.name == TransformationName::Lowercase);
            groups.push(Group {
                automaton,
                owners,
                members: members.len(),
                subsets,
                literal_bytes,
                literal_ends,
                lowercase_values,
            });
        }
        Matcher { groups }
    }
}

/// The subsets of a group's members (`group_literals` distinct literals in all) worth a scan
/// of their own: the members that name a variable (the same members may name several), when
/// they hold at most half the group's literals.
fn subsets(members: &[Member<'_>], group_literals: usize) -> Vec<Subset> {
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
        if held * 2 > group_literals || subsets.len() == MAX_SUBSETS {
            continue;
        }
        variables.sort_unstable();
        subsets.push(Subset {
            variables,
            members: list,
            automaton: OnceLock::new(),
        });
    }
    subsets
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
        // the members that name ARGS hold most of the literals: the group's own scan
        assert_eq!(group.scan_for(V::Args, m[&1]), 0);
        // a member the subset does not know of is served by the group's scan
        assert_eq!(group.scan_for(V::RequestUri, m[&1]), 0);
        let value = b"/alphax/kilo=1";
        let all = group.search(value);
        assert!(all.contains(m[&1]) && all.contains(m[&3]));
        let by_subset = group.search_by(uri, value);
        assert!(by_subset.contains(m[&3]));
        assert!(!by_subset.contains(m[&1]));
        assert!(!group.search_by(uri, b"/alphax").contains(m[&3]));
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
