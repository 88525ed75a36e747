//! Skipping grouped rules by whole variables.
//!
//! The grouped matcher ([`crate::matcher`]) says, per value, which `@rx` rules of a
//! transformation chain may match it. A rule is normally asked about each of its values in
//! turn: resolved, checked against its exclusions, looked up in the caches. Here the question
//! is asked once per phase for a whole variable (all of `ARGS`, all of `REQUEST_HEADERS`...):
//! the union of the candidates of its values (a target with a selector, `REQUEST_HEADERS:Referer`,
//! asks about its own values only). A rule none of whose target variables has it in
//! that union cannot match any of its values, whatever its selectors, exclusions and run-time
//! removals (they only take values away), so it is answered "no match" without looking at its
//! values; every other rule runs as before. With CRS, most of its ~150 grouped rules are
//! answered that way on benign traffic, and a request with 1,000 arguments costs one pass
//! over them per chain, not one per rule.
//!
//! The values of such a variable are resolved once per phase, each with the set of bytes it
//! holds ([`PhaseValues`]), and shared by every rule that names the whole variable; a value
//! holding none of the bytes a chain acts on is its own transformed value, without a look in
//! the transformation cache.
//!
//! Only variables whose values cannot change while a phase runs take part: the request's and
//! the response's data, which rules read but never write; and `XML`, when there is no XML
//! document (it then has no value). Anything else (`TX`, `MATCHED_VAR`, counts, `XML` of a
//! parsed document) keeps the rule on the value-by-value path.

use super::variables::Value;
use super::Transaction;
use crate::chains::ChainId;
use crate::collection::Bytes;
use crate::matcher::{Candidates, Scan};
use crate::regex::{ByteSet, RequiredBytes};
use crate::rule::{ByteTestKind, Rule, Target, NO_KEY};
use crate::word_hash::KeyHasher;
use seclang_parser::names::VariableName as V;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// Variables set before a phase starts and left alone by every action: those of the request
/// line and headers, and those of the body and the response.
fn fixed_during_phase(v: V) -> bool {
    fixed_after_headers(v)
        || matches!(
            v,
            V::Args
                | V::ArgsPost
                | V::ArgsNames
                | V::ArgsPostNames
                | V::RequestBody
                | V::Files
                | V::FilesNames
                // (the multipart parser's: CRS's 922120, 922130 and 922150 read the parts'
                // headers on every request, which a request without parts does not have)
                | V::MultipartPartHeaders
                | V::MultipartName
                | V::MultipartFilename
                | V::FilesSizes
                | V::FilesTmpNames
                | V::ResponseHeaders
                | V::ResponseHeadersNames
                | V::ResponseBody
        )
}

/// Variables whose values come from the request line and headers alone: fixed from phase 1
/// on (a new request line or header empties the phase values: [`Transaction::process_uri`],
/// [`Transaction::add_request_header`]), so their phase values serve every later phase.
pub(crate) fn fixed_after_headers(v: V) -> bool {
    matches!(
        v,
        V::ArgsGet
            | V::ArgsGetNames
            | V::RequestHeaders
            | V::RequestHeadersNames
            | V::RequestCookies
            | V::RequestCookiesNames
            | V::RequestUri
            | V::RequestUriRaw
            | V::RequestFilename
            | V::RequestBasename
            | V::RequestLine
            | V::RequestMethod
            | V::RequestProtocol
            | V::QueryString
    )
}

/// The per-phase values of whole fixed variables (`ARGS`, not `ARGS:id`), each with the bytes
/// it holds: resolved once per phase, not once per chain and rule; and a value holding none
/// of the bytes a chain acts on is its own transformed value, whose bytes are then known.
///
/// By variable, as an index (a table look where a hash map hashed and probed: rules ask for
/// their variables' phase values ~10 times each a request).
#[derive(Debug, Default)]
pub(crate) struct PhaseValues {
    by_variable: Vec<Option<Vec<PhaseValue>>>,
    /// The variables with values, a bit each (emptying the table visits only those).
    held: u128,
    /// Arrays of earlier phases (and transactions), emptied, for the next variables' values:
    /// one made and freed per variable and phase was ~26 allocations of a request, the
    /// headers' of a kilobyte and more (each of which had glibc merge its free lists).
    spare: Vec<Vec<PhaseValue>>,
    /// Arrays of more than [`SPARE_ARRAY_ROOM`] values, up to [`LARGE_ARRAYS`] of them, kept
    /// while the thread's recent requests were large ([`super::Room`]): a 1 MB JSON body's
    /// were mapped from the kernel and faulted in page by page in every request.
    large_spare: Vec<Vec<PhaseValue>>,
    /// How many values a large array may have room for and still be kept.
    array_room: usize,
}

/// How many emptied arrays [`PhaseValues`] keeps, and how large one may be;
const SPARE_ARRAYS: usize = 32;
const SPARE_ARRAY_ROOM: usize = 64;
/// how many of them may be larger, when the thread's recent requests were large.
const LARGE_ARRAYS: usize = 8;

// (a bit of `held` for each variable)
const _: () = assert!(V::ALL.len() <= 128);

impl PhaseValues {
    pub(crate) fn get(&self, v: &V) -> Option<&Vec<PhaseValue>> {
        self.by_variable.get(*v as usize)?.as_ref()
    }

    /// `v`'s values, taken out of the table (moved, not cloned) for a caller that gives them
    /// back ([`PhaseValues::put_back`]): see [`Transaction::lend_phase_values`].
    #[inline]
    fn take(&mut self, v: V) -> Option<Vec<PhaseValue>> {
        self.by_variable.get_mut(v as usize)?.take()
    }

    /// Puts `values` in `v`'s place: where [`PhaseValues::take`] left it empty, a store.
    #[inline(always)]
    fn put_back(&mut self, v: V, values: Vec<PhaseValue>) {
        match self.by_variable.get_mut(v as usize) {
            Some(slot @ None) => {
                *slot = Some(values);
                self.held |= 1 << v as usize;
            }
            _ => self.insert(v, values),
        }
    }

    /// Whether `v`'s values were taken out and not given back yet.
    fn lent(&self, v: V) -> bool {
        self.held & (1 << v as usize) != 0 && self.get(&v).is_none()
    }

    #[inline(never)]
    pub(crate) fn insert(&mut self, v: V, values: Vec<PhaseValue>) {
        let at = v as usize;
        if self.by_variable.len() <= at {
            self.by_variable
                .resize_with(V::ALL.len().max(at + 1), || None);
        }
        self.by_variable[at] = Some(values);
        self.held |= 1 << at;
    }

    /// Keeps the values of the variables for which `keep` holds.
    pub(crate) fn retain(&mut self, keep: impl Fn(V) -> bool) {
        let mut held = self.held;
        while held != 0 {
            let at = held.trailing_zeros() as usize;
            held &= held - 1;
            if !keep(V::ALL[at]) {
                if let Some(mut values) = self.by_variable[at].take() {
                    values.clear();
                    let room = values.capacity();
                    if room > SPARE_ARRAY_ROOM {
                        if room <= self.array_room && self.large_spare.len() < LARGE_ARRAYS {
                            self.large_spare.push(values);
                        }
                    } else if room > 0 && self.spare.len() < SPARE_ARRAYS {
                        self.spare.push(values);
                    }
                }
                self.held &= !(1u128 << at);
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.retain(|_| false);
    }

    /// An empty array for `values` values, an emptied one when there is (a large one for
    /// more than [`SPARE_ARRAY_ROOM`]: the smallest with room for them, else the largest).
    fn spare_array(&mut self, values: usize) -> Vec<PhaseValue> {
        if values > SPARE_ARRAY_ROOM {
            // (those that fit first, each side by its distance from `values`: the smallest
            // that fits, else the largest)
            let at = (0..self.large_spare.len()).min_by_key(|&i| {
                let room = self.large_spare[i].capacity();
                (room < values, room.abs_diff(values))
            });
            if let Some(at) = at {
                return self.large_spare.swap_remove(at);
            }
        }
        self.spare.pop().unwrap_or_default()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.by_variable.iter().all(Option::is_none)
    }
}

impl std::ops::Index<&V> for PhaseValues {
    type Output = Vec<PhaseValue>;
    fn index(&self, v: &V) -> &Vec<PhaseValue> {
        self.get(v).expect("no phase values of this variable")
    }
}

impl super::spare::Empty for PhaseValues {
    /// Empties the table, keeping arrays with room for up to `room` values (at most
    /// [`LARGE_ARRAYS`] of them over [`SPARE_ARRAY_ROOM`]).
    fn empty(&mut self, room: usize) {
        self.array_room = room;
        self.large_spare.retain(|a| a.capacity() <= room);
        self.clear();
    }
}

/// A value of a whole fixed variable this phase.
#[derive(Debug)]
pub(crate) struct PhaseValue {
    pub value: Value,
    /// The bytes it holds.
    pub bytes: ByteSet,
    /// The position of the variable's first value with the same text: its own when none
    /// before it has one, or when the variable has too few values to look
    /// ([`same_texts`]).
    pub same_as: u32,
    /// Where the scan of every group's literals over its own text is in the transformation
    /// cache's sets ([`NOT_SCANNED`] until it is made; a variable with columns keeps it with
    /// its outputs instead): a chain leaves most values as they are, and each chain's test asked
    /// the cache for it by the value's address.
    scan: AtomicU32,
    /// Its text's [`KeyHasher::text_hash`] (0 until it is worked out): the key of its text in
    /// the cross-transaction tables, which each rule's test and each chain's output looked up
    /// hashing the text anew.
    text_hash: AtomicU64,
    /// Its text's entry among the texts kept across transactions ([`NOT_LOOKED`] until it is
    /// asked): each chain's output and each rule's miss is found by it without hashing the
    /// text or comparing its bytes again.
    pub(crate) text_entry: AtomicU32,
}

/// [`PhaseValue::scan`] before the value is scanned (and a kept text's or output's scan in
/// the transformation cache).
pub(crate) const NOT_SCANNED: u32 = u32::MAX;

/// [`PhaseValue::text_entry`] before it is asked,
pub(crate) const NOT_LOOKED: u32 = u32::MAX;
/// and when its text has no entry.
pub(crate) const NO_ENTRY: u32 = u32::MAX - 1;

impl PhaseValue {
    /// `value`, whose variable's first value of the same text is at `same_as`.
    #[cfg(test)]
    pub(crate) fn new(value: Value, same_as: u32) -> PhaseValue {
        let bytes = ByteSet::of(&value.value);
        PhaseValue::with_bytes(value, bytes, same_as)
    }

    /// Gives a phase value made without its text's facts those of its text kept across
    /// transactions ([`TransformCache::kept_text`]): its entry, hash, bytes and scan's place.
    ///
    /// [`TransformCache::kept_text`]: super::transform_cache::TransformCache::kept_text
    fn know_kept_text(&mut self, same_as: u32, kept: (u32, u64, ByteSet, u32)) {
        let (entry, hash, bytes, scan) = kept;
        self.bytes = bytes;
        self.same_as = same_as;
        *self.scan.get_mut() = scan;
        *self.text_hash.get_mut() = hash;
        *self.text_entry.get_mut() = entry;
    }

    /// `value`, whose bytes are `bytes`, and whose variable's first value of the same text is
    /// at `same_as`.
    fn with_bytes(value: Value, bytes: ByteSet, same_as: u32) -> PhaseValue {
        PhaseValue {
            value,
            bytes,
            same_as,
            scan: NOT_SCANNED.into(),
            text_hash: 0.into(),
            text_entry: NOT_LOOKED.into(),
        }
    }

    /// [`KeyHasher::text_hash`] of its text, worked out once (a text whose hash is 0 is
    /// hashed each time).
    #[inline]
    pub(crate) fn text_hash(&self) -> u64 {
        let known = self.text_hash.load(Relaxed);
        if known != 0 {
            return known;
        }
        let hash = KeyHasher::text_hash(&self.value.value, 0);
        self.text_hash.store(hash, Relaxed);
        hash
    }
}

/// For each of `values`, the position of the first with the same text (`out` left empty for
/// fewer than [`COLUMN_MIN_VALUES`]). A rule whose operator's answer depends on the text
/// alone tests each text of a large variable once ([`crate::operators::Operator::is_pure`]):
/// a JSON array of records repeats its names' values (a status, a currency, a tag), and a
/// form its empty and default fields. A text is known by a hash that starts from a secret
/// ([`KeyHasher::keyed`]: a request cannot choose texts that fall in one bucket); texts that
/// hash alike but differ are each their own (only the first gets the hash's entry).
///
/// With each value's bytes in `bytes` (a text's worked out at its first value, while the
/// hash has just read it: a second pass over a 1 MB form's 11,000 names read each from memory
/// again).
pub(crate) fn same_texts<T: HasText>(values: &[T], out: &mut Vec<u32>, bytes: &mut Vec<ByteSet>) {
    use std::collections::hash_map::Entry;
    out.clear();
    bytes.clear();
    if values.len() < COLUMN_MIN_VALUES {
        return;
    }
    let mut first: HashMap<(u64, usize), u32, BuildHasherDefault<KeyHasher>> =
        HashMap::with_capacity_and_hasher(values.len(), Default::default());
    for (i, v) in values.iter().enumerate() {
        let value = v.text();
        let text = (KeyHasher::text_hash(value, 0), value.len());
        let at = i as u32;
        let same = match first.entry(text) {
            Entry::Vacant(e) => *e.insert(at),
            Entry::Occupied(e) if values[*e.get() as usize].text() == value => *e.get(),
            Entry::Occupied(_) => at,
        };
        out.push(same);
        bytes.push(match same == at {
            true => ByteSet::of(value),
            false => bytes[same as usize],
        });
    }
}

/// A value's text, for [`same_texts`].
pub(crate) trait HasText {
    fn text(&self) -> &[u8];
}

impl HasText for Value {
    fn text(&self) -> &[u8] {
        &self.value
    }
}

impl HasText for PhaseValue {
    fn text(&self) -> &[u8] {
        &self.value.value
    }
}

/// A variable with at least this many values in a phase is transformed by columns
/// ([`super::columns`]); a smaller one through the transformation cache, whose tables then
/// stay in the processor's cache: building a column for every chain (its parents' included)
/// was 6% more instructions on the benign set, where a 1 MB JSON body took a third less time.
pub(crate) const COLUMN_MIN_VALUES: usize = 64;

/// The per-phase results for the numbered targets ([`crate::rule::PhaseKeys`]): for a
/// `(chain, variable)`, the bytes that occur in some value of the variable after the chain;
/// for a `(group, scan, variable)`, the group's members that may match one of its values (by
/// that scan of the group: [`crate::matcher::Group::scan_for`]). An entry holds for the
/// phase of its generation; a phase starts a new one, so nothing is cleared, and the tables of
/// an ended transaction serve the next (generations go on from where they were).
#[derive(Debug, Default)]
pub(crate) struct PhaseTables {
    generation: u32,
    bytes: Vec<(u32, ByteSet)>,
    candidates: Vec<(u32, Option<Candidates>)>,
    /// For a [`crate::rule::ByteTest`]'s set of targets, the union of their bytes.
    byte_sets: Vec<(u32, ByteSet)>,
}

/// How many entries of each kind a rule set's per-phase tables have.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PhaseKeyCounts {
    bytes: u32,
    candidates: u32,
    byte_sets: u32,
}

impl PhaseTables {
    /// A new phase, for a rule set of `counts` entries.
    pub(crate) fn next_phase(&mut self, counts: PhaseKeyCounts) {
        if self.generation == u32::MAX {
            self.generation = 0;
            self.bytes.iter_mut().for_each(|e| e.0 = 0);
            self.candidates.iter_mut().for_each(|e| e.0 = 0);
            self.byte_sets.iter_mut().for_each(|e| e.0 = 0);
        }
        self.generation += 1;
        self.bytes
            .resize(counts.bytes as usize, (0, ByteSet::EMPTY));
        self.candidates
            .resize_with(counts.candidates as usize, || (0, None));
        self.byte_sets
            .resize(counts.byte_sets as usize, (0, ByteSet::EMPTY));
    }

    fn bytes(&self, key: u32) -> Option<ByteSet> {
        entry_of(&self.bytes, key, self.generation)
    }

    fn set_bytes(&mut self, key: u32, bytes: ByteSet) {
        if let Some(e) = self.bytes.get_mut(key as usize) {
            *e = (self.generation, bytes);
        }
    }

    fn candidates(&self, key: u32) -> Option<&Candidates> {
        match self.candidates.get(key as usize)? {
            (generation, Some(c)) if *generation == self.generation => Some(c),
            _ => None,
        }
    }

    fn set_candidates(&mut self, key: u32, candidates: Candidates) {
        if let Some(e) = self.candidates.get_mut(key as usize) {
            *e = (self.generation, Some(candidates));
        }
    }
}

/// A byte-set entry of this phase's `generation`.
fn entry_of(table: &[(u32, ByteSet)], key: u32, generation: u32) -> Option<ByteSet> {
    let (g, bytes) = table.get(key as usize)?;
    (*g == generation).then_some(*bytes)
}

/// Numbers the targets' entries in the per-phase tables ([`crate::rule::PhaseKeys`]) of these
/// rules (chain links included), their own targets and those their static exceptions give
/// them: one bytes entry per (chain, variable), one candidates entry per (group, scan,
/// variable), for the fixed variables (whole, or by a selector: `ARGS:id` has entries of its
/// own); then gives the rules their [`crate::rule::ByteTest`]s. Returns how many of each.
pub(crate) fn number_phase_keys<'r>(
    rules: impl Iterator<Item = &'r Rule> + Clone,
    matcher: &crate::matcher::Matcher,
    chains: &crate::chains::ChainTable,
) -> PhaseKeyCounts {
    use std::collections::HashMap;
    // (a target with a selector, `REQUEST_HEADERS:User-Agent`, has entries of its own, by
    // its name as written: its values are as fixed as the whole variable's)
    type Selected = (V, Option<Arc<str>>);
    let mut bytes: HashMap<(ChainId, Selected), u32> = HashMap::new();
    let mut candidates: HashMap<(usize, Scan, Selected), u32> = HashMap::new();
    for rule in rules.clone() {
        let slot = rule.matcher_slot.load(Relaxed);
        let chain = keyed_chain(rule);
        let excepted = match rule.static_exceptions.get() {
            Some(crate::exceptions::StaticExceptions {
                targets: Some((t, _)),
                ..
            }) => &t[..],
            _ => &[],
        };
        for t in rule.targets.iter().chain(excepted) {
            if t.count || !fixed_during_phase(t.variable) {
                continue;
            }
            let selected = t.selector.as_ref().map(|_| Arc::clone(&t.full_name));
            let next = bytes.len() as u32;
            let key = *bytes
                .entry((chain, (t.variable, selected.clone())))
                .or_insert(next);
            t.phase_keys.bytes.store(key, Relaxed);
            if slot != crate::matcher::NO_SLOT {
                let (group, member) = ((slot >> 32) as usize, (slot & 0xffff_ffff) as usize);
                let scan = matcher.groups[group].scan_for(t.variable, member);
                let next = candidates.len() as u32;
                let key = *candidates
                    .entry((group, scan, (t.variable, selected)))
                    .or_insert(next);
                t.phase_keys.candidates.store(key, Relaxed);
            }
        }
    }
    let mut byte_sets: HashMap<(Vec<u32>, bool), u32> = HashMap::new();
    let mut variables: HashMap<Selected, u32> = HashMap::new();
    for rule in rules.clone() {
        let Some(targets) = static_targets(rule) else {
            continue;
        };
        if rule.operator.is_none() || targets.is_empty() {
            continue;
        }
        if let Some(test) = candidate_test_of(rule, targets) {
            let _ = rule.candidate_test.set(test);
        }
        if let Some(count) = count_test_of(rule, targets) {
            let _ = rule.byte_test.set(crate::rule::ByteTest {
                xml: false,
                kind: ByteTestKind::Count(count),
            });
            continue;
        }
        let (required, presence) = match required_of(rule, chains) {
            Some(required) => (required, false),
            // (only of variables a request often lacks: the test of one that always has
            // values, the request line's, costs and never answers)
            None if targets.iter().all(often_empty) => (ByteSet::ALL, true),
            None => continue,
        };
        // (a presence test's entry is by the variables alone: their values' presence does
        // not depend on the chain)
        let keys = targets.iter().filter(|t| t.variable != V::Xml);
        let keys = keys.map(|t| match t.phase_keys.bytes.load(Relaxed) {
            NO_KEY => None,
            _ if presence => {
                let selected = t.selector.as_ref().map(|_| Arc::clone(&t.full_name));
                let next = variables.len() as u32;
                Some(*variables.entry((t.variable, selected)).or_insert(next))
            }
            key => Some(key),
        });
        let Some(mut keys) = keys.collect::<Option<Vec<u32>>>() else {
            continue;
        };
        keys.sort_unstable();
        keys.dedup();
        let next = byte_sets.len() as u32;
        let set = *byte_sets.entry((keys, presence)).or_insert(next);
        let kind = match presence {
            true => ByteTestKind::Presence { set },
            false => ByteTestKind::Bytes {
                set,
                required,
                entries: entries_of(targets, |t| &t.phase_keys.bytes).unwrap_or_default(),
            },
        };
        let _ = rule.byte_test.set(crate::rule::ByteTest {
            xml: targets.iter().any(|t| t.variable == V::Xml),
            kind,
        });
    }
    for rule in rules.filter(|r| !r.chained_child) {
        let depths = tested_links(rule)
            .filter(|&depth| depth < 32)
            .fold(0u32, |bits, depth| bits | 1 << depth);
        rule.tested_links.store(depths, Relaxed);
    }
    PhaseKeyCounts {
        bytes: bytes.len() as u32,
        candidates: candidates.len() as u32,
        byte_sets: byte_sets.len() as u32,
    }
}

/// The places (1 for the first link) of the links of `starter`'s chain that have a test of
/// their own and come after links that change nothing until the chain matches in full
/// ([`Rule::changes_nothing_until_full_match`], the starter included): when such a link's
/// test says it cannot match, neither can the chain, and evaluating the links before it would
/// leave nothing. (Nor a link that reads what the links before it matched, `MATCHED_VAR`...)
fn tested_links(starter: &Rule) -> impl Iterator<Item = u32> + '_ {
    let mut before = Some(starter);
    let mut depth = 0;
    std::iter::from_fn(move || {
        while let Some(prefix) = before.filter(|r| r.changes_nothing_until_full_match()) {
            let link = prefix.chain.as_deref()?;
            before = Some(link);
            depth += 1;
            let mut targets = link
                .targets
                .iter()
                .chain(static_targets(link).unwrap_or_default());
            let reads_matches = targets.any(|t| {
                matches!(
                    t.variable,
                    V::MatchedVar
                        | V::MatchedVars
                        | V::MatchedVarName
                        | V::MatchedVarsNames
                        | V::Rule
                )
            });
            if !reads_matches
                && (link.byte_test.get().is_some() || link.candidate_test.get().is_some())
            {
                return Some(depth);
            }
        }
        None
    })
}

/// The [`crate::rule::CandidateTest`] of a rule in the grouped matcher whose targets all have
/// candidates entries (but `XML`'s).
fn candidate_test_of(rule: &Rule, targets: &[Target]) -> Option<crate::rule::CandidateTest> {
    if rule.matcher_slot.load(Relaxed) == crate::matcher::NO_SLOT
        || rule.transformation_chain.load(Relaxed) == crate::rule::UNASSIGNED
    {
        return None;
    }
    Some(crate::rule::CandidateTest {
        entries: entries_of(targets, |t| &t.phase_keys.candidates)?,
        xml: targets.iter().any(|t| t.variable == V::Xml),
    })
}

/// A rule's entries in one of the per-phase tables (each variable's `key`, which only a
/// fixed variable's value that is not a count has), each once, in the order the rule names
/// them, with the variable's position in its targets; `XML` left out. `None` when a variable
/// has no entry.
fn entries_of(
    targets: &[Target],
    key: impl Fn(&Target) -> &AtomicU32,
) -> Option<Box<[(u32, u32)]>> {
    let mut entries: Vec<(u32, u32)> = Vec::new();
    for (at, t) in targets.iter().enumerate() {
        if t.variable == V::Xml {
            continue;
        }
        let key = key(t).load(Relaxed);
        if key == NO_KEY {
            return None;
        }
        if !entries.iter().any(|e| e.0 == key) {
            entries.push((key, at as u32));
        }
    }
    Some(entries.into_boxed_slice())
}

/// The comparison of a rule whose targets are all counts and whose operator compares them
/// with a constant, with no transformation between ([`crate::rule::ByteTest::count`]).
fn count_test_of(
    rule: &Rule,
    targets: &[Target],
) -> Option<crate::operators::numeric::IntegerTest> {
    let op = rule.operator.as_ref()?;
    (rule.transformations.is_empty() && targets.iter().all(|t| t.count))
        .then(|| op.operator.integer_test())
        .flatten()
}

/// Whether a request often has no value of `t`: a collection (`ARGS`, the cookies, a header
/// by its name) but not all the headers.
fn often_empty(t: &Target) -> bool {
    t.variable.is_collection()
        && !(t.selector.is_none()
            && matches!(t.variable, V::RequestHeaders | V::RequestHeadersNames))
}

/// The targets `rule` has in every transaction ([`Rule::static_targets`]).
pub(crate) fn static_targets(rule: &Rule) -> Option<&[Target]> {
    rule.static_targets().map(|(t, _)| t)
}

/// The bytes one of which every match of `rule` holds, with those its chain acts on for a
/// `multiMatch` rule ([`Transaction::no_value_has_bytes`]), when there are.
fn required_of(rule: &Rule, chains: &crate::chains::ChainTable) -> Option<ByteSet> {
    let op = rule.operator.as_ref().filter(|op| !op.negated)?;
    let chain = rule.transformation_chain.load(Relaxed);
    if chain == crate::rule::UNASSIGNED {
        return None;
    }
    let required = op.operator.required_bytes()?.as_set();
    match rule.multi_match() {
        true => Some(required.union(*chains.acted_on(chain)?)),
        false => Some(required),
    }
}

/// The chain after which the values of a rule's targets are taken in their per-phase entries:
/// the rule's own, or for a `multiMatch` rule the identity (its values as they are:
/// [`Transaction::no_value_has_bytes`]).
fn keyed_chain(rule: &Rule) -> ChainId {
    match rule.multi_match() {
        true => crate::chains::IDENTITY,
        false => rule.transformation_chain.load(Relaxed),
    }
}

impl Transaction {
    /// Whether no value of `targets` (after `chain`) holds one of `required`, the bytes one of
    /// which every match of the rule's operator holds: then the rule cannot match, and is
    /// answered without looking at its values one by one. `false` when some target is not a
    /// fixed variable. Like the candidate test below, a whole variable's bytes are gathered
    /// once per phase and chain (most of CRS's patterns without literals need a `;`, `<`, `$`,
    /// a quote..., which a benign request's arguments seldom hold at all).
    ///
    /// A `multiMatch` rule tests each stage of a value: the value as it is, or its output after
    /// a prefix of the chain; when no value holds a byte the chain acts on, every stage is the
    /// value as it is. (CRS's 942500 needs a `*` and 934160 a `(`, which most requests' values
    /// do not hold, nor a `%` for their `t:urlDecodeUni`. Working out each prefix's outputs
    /// when some value does was slower on the benign set and CRS's regression inputs than
    /// running the rule.)
    pub(crate) fn no_value_has_bytes(
        &mut self,
        rule: &Rule,
        targets: &[Target],
        chain: ChainId,
        required: &RequiredBytes,
    ) -> bool {
        if !rule.multi_match() {
            return self
                .no_target_may_match(targets, |tx, t| required.meets(&tx.target_bytes(rule, t)));
        }
        let acted_on = self.rules.chains.acted_on(chain).copied();
        self.no_target_may_match(targets, |tx, t| {
            let present = tx.target_bytes(rule, t);
            required.meets(&present) || acted_on.map_or(true, |a| a.intersects(&present))
        })
    }

    /// What `rule`'s [`crate::rule::ByteTest`] says: `Some(true)` when it cannot match, what
    /// [`Transaction::no_value_has_bytes`] would say of it, from one entry of the phase's
    /// tables (most of CRS's rules a request reaches are answered so); `None` when the test
    /// does not hold in this transaction.
    #[inline(always)]
    pub(crate) fn byte_test(&mut self, rule: &Rule) -> Option<bool> {
        let test = rule.byte_test.get()?;
        // (a rule a `ctl:ruleRemoveById` names is evaluated as matched, not as failed; the
        // others of the transaction keep their tests: CRS's 920539 removes 920540 from every
        // JSON request, which ran each rule after it in full)
        if !self.rules.grouped_matching
            || self.removed_at_run_time(rule)
            || (test.xml && self.xml.is_some())
        {
            return None;
        }
        let generation = self.phase_tables.generation;
        match &test.kind {
            ByteTestKind::Bytes {
                set,
                required,
                entries,
            } => Some(
                match entry_of(&self.phase_tables.byte_sets, *set, generation) {
                    Some(present) => !required.intersects(&present),
                    None => self.no_bytes_in(rule, *set, required, entries),
                },
            ),
            ByteTestKind::Presence { set } => {
                match entry_of(&self.phase_tables.byte_sets, *set, generation) {
                    Some(present) => Some(present == ByteSet::EMPTY),
                    None => self.no_values_in(rule, *set),
                }
            }
            ByteTestKind::Count(count) => Some(self.no_count_holds(rule, count)),
        }
    }

    /// [`Transaction::byte_test`] of a rule of counts: whether the comparison, negation
    /// applied, holds for none of its counts now (each as its evaluation would count it; a
    /// target removed at run time only takes a count away).
    fn no_count_holds(&self, rule: &Rule, test: &crate::operators::numeric::IntegerTest) -> bool {
        let (Some(targets), Some(op)) = (static_targets(rule), &rule.operator) else {
            return false;
        };
        targets.iter().all(|t| {
            let n = i64::try_from(self.count_values(rule, t)).unwrap_or(i64::MAX);
            test.holds(n) == op.negated
        })
    }

    /// [`Transaction::byte_test`] of a presence test whose entry is not yet worked out this
    /// phase: a value present is the whole answer, kept.
    fn no_values_in(&mut self, rule: &Rule, set: u32) -> Option<bool> {
        let targets = static_targets(rule)?;
        for t in targets.iter().filter(|t| t.variable != V::Xml) {
            if self.target_has_values(rule, t) {
                self.keep_byte_set(set, ByteSet::ALL);
                return Some(false);
            }
        }
        self.keep_byte_set(set, ByteSet::EMPTY);
        Some(true)
    }

    /// [`Transaction::byte_test`] of a test of bytes whose set's entry is not yet worked out
    /// this phase, by its variables' entries: each entry not yet worked out is made from the
    /// rule's target at its position.
    fn no_bytes_in(
        &mut self,
        rule: &Rule,
        set: u32,
        required: &ByteSet,
        entries: &[(u32, u32)],
    ) -> bool {
        let mut present = ByteSet::EMPTY;
        for &(key, at) in entries {
            let bytes = match self.phase_tables.bytes(key) {
                Some(b) => b,
                None => {
                    // (the targets the test was made of: `static_exceptions` is set once)
                    let Some(t) = static_targets(rule).and_then(|t| t.get(at as usize)) else {
                        return false;
                    };
                    let b = self.bytes_of(rule, t, keyed_chain(rule));
                    self.phase_tables.set_bytes(key, b);
                    b
                }
            };
            if required.intersects(&bytes) {
                // (the union is kept only when whole: the variables after this one are not
                // worked out for a rule that runs anyway; keeping it whatever the answer, from
                // the variables' entries already made, was slower)
                return false;
            }
            present = present.union(bytes);
        }
        self.keep_byte_set(set, present);
        true
    }

    /// Keeps `present` as the phase's entry of byte set `set`.
    fn keep_byte_set(&mut self, set: u32, present: ByteSet) {
        let generation = self.phase_tables.generation;
        if let Some(e) = self.phase_tables.byte_sets.get_mut(set as usize) {
            *e = (generation, present);
        }
    }

    /// Whether `target` (a fixed variable, not a count) has a value.
    fn target_has_values(&mut self, rule: &Rule, t: &Target) -> bool {
        match self.phase_values.get(&t.variable) {
            // (all of the variable: a selector picks none of no values)
            Some(all) if all.is_empty() || t.selector.is_none() => return !all.is_empty(),
            None if t.selector.is_none() => {
                let values = self.lend_phase_values(rule, t);
                let any = !values.is_empty();
                self.give_back_phase_values(t.variable, values);
                return any;
            }
            _ => {}
        }
        let mut values = std::mem::take(&mut self.scratch.values);
        values.clear();
        self.resolve(rule, t, &mut values);
        let any = !values.is_empty();
        values.clear();
        super::spare::put_back(&mut self.scratch.values, values);
        any
    }

    /// The bytes of the values of `target` after [`keyed_chain`], kept for the phase in its
    /// table entry.
    fn target_bytes(&mut self, rule: &Rule, t: &Target) -> ByteSet {
        let chain = keyed_chain(rule);
        let key = t.phase_keys.bytes.load(Relaxed);
        if key == NO_KEY {
            // a target an exception that depends on a macro gave the rule at this
            // evaluation: its own values, asked each time
            return self.bytes_of(rule, t, chain);
        }
        match self.phase_tables.bytes(key) {
            Some(b) => b,
            None => {
                let b = self.bytes_of(rule, t, chain);
                self.phase_tables.set_bytes(key, b);
                b
            }
        }
    }

    /// Whether `rule` (a member of the grouped matcher at `slot`, whose transformation chain is
    /// `chain`) cannot match any value of `targets`. `false` when some target is not a fixed
    /// variable.
    pub(crate) fn no_candidate_value(
        &mut self,
        rule: &Rule,
        targets: &[Target],
        chain: ChainId,
        slot: u64,
    ) -> bool {
        let group = (slot >> 32) as usize;
        let member = (slot & 0xffff_ffff) as usize;
        self.no_target_may_match(targets, |tx, t| {
            let key = t.phase_keys.candidates.load(Relaxed);
            if key != NO_KEY {
                return tx
                    .keyed_candidates(rule, t, key, group, member, chain)
                    .map_or(true, |c| c.contains(member));
            }
            // (as for the bytes above)
            let scan = tx.rules.matcher.groups[group].scan_for(t.variable, member);
            tx.candidates_of(rule, t, group, scan, chain)
                .contains(member)
        })
    }

    /// What `rule`'s [`crate::rule::CandidateTest`] says: `Some(true)` when no value of its
    /// variables holds one of its literals, what [`Transaction::no_candidate_value`] would
    /// say of it, from the phase's candidates entries (made as needed: they serve the
    /// evaluation and the next rules of the group); `None` when the test does not hold in this
    /// transaction. A rule a request reaches ends here about as often as it matches, and the
    /// evaluation's own setup before the same answer was ~250 instructions.
    #[inline(always)]
    pub(crate) fn candidate_test(&mut self, rule: &Rule) -> Option<bool> {
        let test = rule.candidate_test.get()?;
        // (a rule a `ctl:ruleRemoveById` names is evaluated as matched, not as failed)
        if !self.rules.grouped_matching || self.removed_at_run_time(rule) {
            return None;
        }
        if test.xml && self.xml.is_some() {
            return Some(false);
        }
        let slot = rule.matcher_slot.load(Relaxed);
        let (group, member) = ((slot >> 32) as usize, (slot & 0xffff_ffff) as usize);
        for &(key, at) in test.entries.iter() {
            let holds = match self.phase_tables.candidates(key) {
                Some(c) => c.contains(member),
                None => {
                    // (the targets the test was made of: `static_exceptions` is set once)
                    let t = static_targets(rule).and_then(|t| t.get(at as usize))?;
                    let chain = rule.transformation_chain.load(Relaxed);
                    self.keyed_candidates(rule, t, key, group, member, chain)
                        .map_or(true, |c| c.contains(member))
                }
            };
            if holds {
                return Some(false);
            }
        }
        Some(true)
    }

    /// Whether a link of `starter`'s chain ([`Rule::tested_links`]) cannot match, by its test: then
    /// the chain cannot, and its evaluation would leave what a rule that does not match
    /// leaves. (CRS's 920180 matches its first link, `REQUEST_PROTOCOL` not HTTP/2 or 3, on
    /// nearly every request; its second asks for a POST.) Not for a starter a `ctl` removed,
    /// which is evaluated as matched.
    #[inline(always)]
    pub(crate) fn a_link_cannot_match(&mut self, starter: &Rule) -> bool {
        let depths = starter.tested_links.load(Relaxed);
        depths != 0 && self.a_tested_link_cannot_match(starter, depths)
    }

    /// [`Transaction::a_link_cannot_match`] of a starter with tested links (apart: the phase
    /// loop's own tests stay inlined in it).
    #[inline(never)]
    fn a_tested_link_cannot_match(&mut self, starter: &Rule, depths: u32) -> bool {
        if self.starter_only || self.removed_at_run_time(starter) {
            return false;
        }
        // (the links by the places given at load: the conditions are not worked out again)
        let links = std::iter::successors(starter.chain.as_deref(), |l| l.chain.as_deref());
        (1..32).zip(links).any(|(depth, link)| {
            depths & (1 << depth) != 0
                && (self.byte_test(link) == Some(true) || self.candidate_test(link) == Some(true))
        })
    }

    /// The members of `group` that may match some value of `t` (whose candidates entry is
    /// `key`), kept for the phase in that entry.
    fn keyed_candidates(
        &mut self,
        rule: &Rule,
        t: &Target,
        key: u32,
        group: usize,
        member: usize,
        chain: ChainId,
    ) -> Option<&Candidates> {
        if self.phase_tables.candidates(key).is_none() {
            let scan = self.rules.matcher.groups[group].scan_for(t.variable, member);
            let union = self.candidates_of(rule, t, group, scan, chain);
            self.phase_tables.set_candidates(key, union);
        }
        self.phase_tables.candidates(key)
    }

    /// The frame of the whole-variable tests: whether `may_match` says no for every target.
    /// `false` at once when some target is not a fixed variable (or is a count); `XML` without
    /// a parsed document (`XML:/*` is in most CRS rules) has no value at all.
    fn no_target_may_match(
        &mut self,
        targets: &[Target],
        mut may_match: impl FnMut(&mut Self, &Target) -> bool,
    ) -> bool {
        let no_values = |t: &Target| t.variable == V::Xml && self.xml.is_none();
        if targets
            .iter()
            .any(|t| !no_values(t) && (t.count || !fixed_during_phase(t.variable)))
        {
            return false;
        }
        targets
            .iter()
            .all(|t| t.variable == V::Xml || !may_match(self, t))
    }

    /// The bytes of the values of `target` after `chain`.
    fn bytes_of(&mut self, rule: &Rule, target: &Target, chain: ChainId) -> ByteSet {
        if self.known_empty(target) {
            return ByteSet::EMPTY;
        }
        let values = match self.whole_column(rule, target, chain) {
            Ok(column) => return self.column_bytes(target.variable, column),
            Err(values) => values,
        };
        if let Some(all) = &values {
            // when no value holds a byte the chain acts on, each is its own output and the
            // bytes are known: no value is looked at through the chain
            let raw = all.iter().fold(ByteSet::EMPTY, |u, v| u.union(v.bytes));
            // (or when each step maps or drops bytes one at a time, `t:lowercase`: the
            // outputs' bytes are the chain's image of theirs; a trim has no set it acts on,
            // but an image)
            let known = match self.rules.chains.acted_on(chain) {
                Some(acted_on) if !acted_on.intersects(&raw) => Some(raw),
                _ => self.rules.chains.image(chain, raw),
            };
            if let Some(bytes) = known {
                if let Some(values) = values {
                    self.give_back_phase_values(target.variable, values);
                }
                return bytes;
            }
        }
        let mut present = ByteSet::default();
        self.for_each_transformed(
            rule,
            target,
            values,
            chain,
            |tx, value, kept, phase_value| {
                match phase_value {
                    // the same buffer: the chain left the value as it is, and its bytes are known
                    Some(v) if Bytes::ptr_eq(value, &v.value.value) => {
                        present = present.union(v.bytes)
                    }
                    _ => present = present.union(tx.kept_output_bytes(value, kept)),
                }
            },
        );
        present
    }

    /// The members of `group` that may match some value of `target` (after `chain`).
    fn candidates_of(
        &mut self,
        rule: &Rule,
        target: &Target,
        group: usize,
        scan: Scan,
        chain: ChainId,
    ) -> Candidates {
        if self.known_empty(target) {
            return Candidates::none(self.rules.matcher.groups[group].len());
        }
        let values = match self.whole_column(rule, target, chain) {
            Ok(column) => return self.column_candidates(target.variable, column, group, scan),
            Err(values) => values,
        };
        let mut union = Candidates::none(self.rules.matcher.groups[group].len());
        self.for_each_transformed(
            rule,
            target,
            values,
            chain,
            |tx, value, kept, phase_value| match phase_value {
                Some(v) if Bytes::ptr_eq(value, &v.value.value) => {
                    union.add(tx.phase_value_candidates(v, group, scan, value))
                }
                _ => union.add(tx.kept_output_candidates(kept, group, scan, value)),
            },
        );
        union
    }

    /// [`Transaction::group_candidates`] of `candidate`, the value of `phase_value` after a
    /// chain: a value the chain left as it is (the same buffer) and short enough for the scan
    /// of every group's literals keeps that scan's place with it.
    pub(crate) fn phase_value_candidates(
        &mut self,
        phase_value: &PhaseValue,
        group: usize,
        scan: Scan,
        candidate: &Bytes,
    ) -> &[u64] {
        if candidate.len() >= crate::matcher::LONG_VALUE
            || !Bytes::ptr_eq(candidate, &phase_value.value.value)
        {
            return self.group_candidates(group, scan, candidate);
        }
        let at = match phase_value.scan.load(Relaxed) {
            NOT_SCANNED => {
                let at = self
                    .transform_cache
                    .scan_of_text(&self.rules.matcher, candidate);
                if let Ok(kept) = u32::try_from(at) {
                    phase_value.scan.store(kept, Relaxed);
                    let entry = phase_value.text_entry.load(Relaxed);
                    if entry != NOT_LOOKED && entry != NO_ENTRY {
                        self.transform_cache.keep_text_scan(entry, kept);
                    }
                }
                at
            }
            at => at as usize,
        };
        self.rules.matcher.groups[group].words_in(&self.transform_cache.sets()[at..])
    }

    /// Whether `target` is all of a variable already found to have no value this phase (its
    /// phase values are there, empty): a minimal GET asked the bytes of ~85 such (chain,
    /// variable) pairs (`ARGS`, cookies, files... after each chain), each a lend and a
    /// give-back of the empty array and a look for its column.
    fn known_empty(&self, target: &Target) -> bool {
        target.selector.is_none()
            && self
                .phase_values
                .get(&target.variable)
                .is_some_and(|values| values.is_empty())
    }

    /// For all of a fixed variable (`ARGS`, not `ARGS:id`) with [`COLUMN_MIN_VALUES`] values
    /// or more, the column of `chain` ([`super::columns`]); else the variable's values this
    /// phase when the target is all of it, lent ([`Transaction::lend_phase_values`]).
    ///
    /// (Inlined, the making of a column called apart: most variables are small.)
    #[inline]
    fn whole_column(
        &mut self,
        rule: &Rule,
        target: &Target,
        chain: ChainId,
    ) -> Result<super::columns::Column, Option<Vec<PhaseValue>>> {
        if target.selector.is_some() {
            return Err(None);
        }
        let values = self.lend_phase_values(rule, target);
        if values.len() < COLUMN_MIN_VALUES {
            return Err(Some(values));
        }
        Ok(self.column_of_lent(target.variable, values, chain))
    }

    /// [`Transaction::whole_column`] of a large variable, whose lent `values` it gives back.
    #[inline(never)]
    fn column_of_lent(
        &mut self,
        variable: V,
        values: Vec<PhaseValue>,
        chain: ChainId,
    ) -> super::columns::Column {
        let column = self.column(variable, &values, chain);
        self.give_back_phase_values(variable, values);
        column
    }

    /// Calls `f` with each value of `target` (a fixed variable, not a count: see
    /// [`Transaction::no_target_may_match`]) after `chain`, and the phase's value it comes
    /// from when it is one (all of a variable: `values`, the phase's, which it gives back).
    fn for_each_transformed(
        &mut self,
        rule: &Rule,
        target: &Target,
        values: Option<Vec<PhaseValue>>,
        chain: ChainId,
        mut f: impl FnMut(&mut Self, &Bytes, super::transform_cache::TextKey, Option<&PhaseValue>),
    ) {
        if let Some(values) = values {
            for v in values.iter() {
                let (changed, kept) = self.changed_output(chain, &v.value.value, Some(v));
                f(
                    self,
                    changed.as_ref().unwrap_or(&v.value.value),
                    kept,
                    Some(v),
                );
            }
            self.give_back_phase_values(target.variable, values);
            return;
        }
        let mut values = std::mem::take(&mut self.scratch.values);
        values.clear();
        self.resolve(rule, target, &mut values);
        for v in &values {
            let (changed, kept) = self.changed_output(chain, &v.value, None);
            f(self, changed.as_ref().unwrap_or(&v.value), kept, None);
        }
        values.clear();
        super::spare::put_back(&mut self.scratch.values, values);
    }

    /// The values of a whole fixed variable this phase, with their bytes: taken out of the
    /// phase's table, to be given back when done ([`Transaction::give_back_phase_values`]).
    /// Lent, not shared: a shared array's count is an atomic add and subtract (~6 ns each), and
    /// the rules a request reaches asked for their variables' arrays ~250 times. (Asked again
    /// before it is given back, an array is made anew: correct, and slower.)
    ///
    /// (Inlined, the making of an array called apart: ~100 lendings and givings back a request,
    /// nearly all of an array already made, paid the large function's entry and exit.)
    #[inline]
    pub(crate) fn lend_phase_values(&mut self, rule: &Rule, target: &Target) -> Vec<PhaseValue> {
        match self.phase_values.take(target.variable) {
            Some(v) => v,
            None => self.make_phase_values(rule, target),
        }
    }

    /// [`Transaction::lend_phase_values`] of a variable whose array this phase is not made.
    ///
    /// (Each value is made into its phase value where it is visited, in the array's place:
    /// gathered first and moved in after, a large body's 47,000 values were each copied
    /// through the stack in pieces the processor could not forward, a third of this
    /// function's time.)
    #[inline(never)]
    fn make_phase_values(&mut self, rule: &Rule, target: &Target) -> Vec<PhaseValue> {
        debug_assert!(
            !self.phase_values.lent(target.variable),
            "{:?}'s phase values asked for again before they were given back",
            target.variable
        );
        if target.count {
            // (a count is one value, made by `resolve`)
            let mut values = Vec::new();
            self.resolve(rule, target, &mut values);
            let mut with_bytes: Vec<PhaseValue> = values
                .into_iter()
                .map(|v| PhaseValue::with_bytes(v, ByteSet::EMPTY, 0))
                .collect();
            self.know_phase_texts(&mut with_bytes);
            return with_bytes;
        }
        // (a variable without values, as a dozen of a minimal GET's are, allocates nothing)
        let mut with_bytes = match self.values_hint(target) {
            0 => Vec::new(),
            n => {
                let mut array = self.phase_values.spare_array(n);
                array.reserve(n);
                array
            }
        };
        self.visit(rule, target, &mut |v| {
            with_bytes.push(PhaseValue::with_bytes(v, ByteSet::EMPTY, 0))
        });
        self.know_phase_texts(&mut with_bytes);
        with_bytes
    }

    /// Works out the bytes and the first value of each text of `values`, made with neither.
    fn know_phase_texts(&mut self, values: &mut [PhaseValue]) {
        let mut same = std::mem::take(&mut self.scratch.same_texts);
        let mut bytes = std::mem::take(&mut self.scratch.text_bytes);
        same_texts(values, &mut same, &mut bytes);
        match same.is_empty() {
            // (a text kept across transactions, a short value's, brings its bytes and scan)
            true => {
                for (i, p) in values.iter_mut().enumerate() {
                    match self.transform_cache.kept_text(&p.value.value) {
                        Some(kept) => p.know_kept_text(i as u32, kept),
                        None => {
                            p.bytes = ByteSet::of(&p.value.value);
                            p.same_as = i as u32;
                        }
                    }
                }
            }
            // a text's bytes are worked out at its first value (a form's 11,000 fields held
            // 31 texts of ~70 bytes)
            false => {
                for (p, (&first, &b)) in values.iter_mut().zip(same.iter().zip(&bytes)) {
                    p.bytes = b;
                    p.same_as = first;
                }
            }
        }
        self.scratch.text_bytes = bytes;
        self.scratch.same_texts = same;
    }

    /// Puts back the phase values [`Transaction::lend_phase_values`] lent.
    #[inline(always)]
    pub(crate) fn give_back_phase_values(&mut self, variable: V, values: Vec<PhaseValue>) {
        self.phase_values.put_back(variable, values);
    }

    /// `target`'s values this phase, with their bytes, when they are the same for every rule
    /// that names it: all of a fixed variable (not a count, not `ARGS:id`), lent
    /// ([`Transaction::lend_phase_values`]). Not with the grouped matcher off: that is the
    /// rule-by-rule evaluation the property tests compare with.
    pub(crate) fn shared_values(
        &mut self,
        rule: &Rule,
        target: &Target,
    ) -> Option<Vec<PhaseValue>> {
        (self.rules.grouped_matching
            && target.selector.is_none()
            && !target.count
            && fixed_during_phase(target.variable))
        .then(|| self.lend_phase_values(rule, target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A phase value's text hash is its text's (the key of the cross-transaction tables that
    /// other buffers of the text are looked up by), worked out once and kept.
    #[test]
    fn phase_values_keep_their_texts_hash() {
        let value = Value {
            name: super::super::variables::ValueName::Element(V::Args),
            element: None,
            value: Bytes::from(&b"Mozilla/5.0 (X11; Linux x86_64)"[..]),
            origin: super::super::variables::Origin::None,
        };
        let expected = KeyHasher::text_hash(&value.value, 0);
        let p = PhaseValue::new(value, 0);
        assert_eq!(
            p.text_hash.load(Relaxed),
            0,
            "not worked out before it is asked"
        );
        assert_eq!(p.text_hash(), expected);
        assert_eq!(p.text_hash.load(Relaxed), expected);
        assert_eq!(p.text_hash(), expected);
    }

    /// Each value of a large variable is known by the first value of its text; the values of
    /// a small one are not looked at.
    #[test]
    fn same_texts_point_to_the_first_value_of_the_text() {
        let value = |text: &str| Value {
            name: super::super::variables::ValueName::Element(V::Args),
            element: None,
            value: Bytes::from(text.as_bytes()),
            origin: super::super::variables::Origin::None,
        };
        // (texts of one length and of several words, which hash word by word)
        let texts = ["abcdefgh", "abcdefgi", "", "abcdefghabcdefgh", "abcdefgh"];
        let values: Vec<Value> = (0..COLUMN_MIN_VALUES + 6)
            .map(|i| value(texts[i % texts.len()]))
            .collect();
        let (mut same, mut bytes) = (Vec::new(), Vec::new());
        same_texts(&values, &mut same, &mut bytes);
        assert_eq!(same.len(), values.len());
        assert_eq!(bytes.len(), values.len());
        for (i, &s) in same.iter().enumerate() {
            let first = values
                .iter()
                .position(|v| v.value == values[i].value)
                .unwrap();
            assert_eq!(s as usize, first, "value {i}");
        }
        for (v, b) in values.iter().zip(&bytes) {
            assert_eq!(*b, ByteSet::of(&v.value));
        }
        same_texts(&values[..COLUMN_MIN_VALUES - 1], &mut same, &mut bytes);
        assert!(same.is_empty() && bytes.is_empty());
    }

    /// The phase values of the request line's and headers' variables serve phase 2 (the same
    /// array); those of `ARGS` are made anew (the body adds to them); a new header empties
    /// them.
    fn rule_set(text: &str) -> Arc<crate::RuleSet> {
        Arc::new(crate::RuleSet::from_text("t.conf", text, None).unwrap())
    }

    /// A GET of `uri` with `headers`, through phase 1.
    fn get(rules: &Arc<crate::RuleSet>, uri: &str, headers: &[(&str, &str)]) -> Transaction {
        let mut tx = Transaction::new(Arc::clone(rules));
        tx.process_uri(uri.as_bytes(), b"GET", b"1.1");
        for (name, value) in headers {
            tx.add_request_header(name.as_bytes(), value.as_bytes());
        }
        tx.process_request_headers();
        tx
    }

    /// What the byte tests of the rules at `at` in `phase` say now.
    fn byte_tests(tx: &mut Transaction, phase: usize, at: &[usize]) -> Vec<Option<bool>> {
        rule_tests(tx, phase, at, Transaction::byte_test)
    }

    /// What `test` says now of the rules at `at` in `phase`.
    fn rule_tests(
        tx: &mut Transaction,
        phase: usize,
        at: &[usize],
        test: fn(&mut Transaction, &Rule) -> Option<bool>,
    ) -> Vec<Option<bool>> {
        let rules = Arc::clone(&tx.rules);
        at.iter()
            .map(|&i| match &rules.phases[phase][i] {
                crate::ruleset::Entry::Rule(rule) => test(tx, rule),
                crate::ruleset::Entry::Marker(_) => unreachable!(),
            })
            .collect()
    }

    fn ids(tx: &Transaction) -> Vec<u64> {
        tx.messages().iter().map(|m| m.rule_id).collect()
    }

    /// A chain whose links before a tested one change nothing until it matches in full is
    /// passed by when that link's test says it cannot match (920180's shape: HTTP/1.1 matches
    /// its first link, its second asks for a POST); not when a link before it sets a variable,
    /// nor when a `ctl` removed the starter (evaluated as matched). Its verdicts are its
    /// evaluation's.
    #[test]
    fn a_link_that_cannot_match_passes_its_chain_by() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule REQUEST_URI \"@rx ^/off\" \"id:10,phase:1,pass,nolog,ctl:ruleRemoveById=1\"\n\
             SecRule REQUEST_PROTOCOL \"!@within HTTP/2 HTTP/3\" \"id:1,phase:1,pass,log,t:none,chain\"\n\
               SecRule REQUEST_HEADERS:X-A \"@rx ^post$\" \"t:none,setvar:tx.a=1\"\n\
             SecRule REQUEST_PROTOCOL \"!@within HTTP/2 HTTP/3\" \"id:2,phase:1,pass,log,t:none,setvar:tx.b=1,chain\"\n\
               SecRule REQUEST_HEADERS:X-A \"@rx ^post$\" \"t:none\"\n\
             SecRule REQUEST_PROTOCOL \"!@within HTTP/2 HTTP/3\" \"id:3,phase:1,pass,log,t:none,chain\"\n\
               SecRule &REQUEST_HEADERS:X-B \"@eq 1\" \"chain\"\n\
               SecRule REQUEST_HEADERS:X-A \"!@rx zzz\" \"t:none,setvar:tx.c=1\"",
        );
        let tested: Vec<bool> = rules.phases[1][1..]
            .iter()
            .map(|e| match e {
                crate::ruleset::Entry::Rule(r) => r.tested_links.load(Relaxed) != 0,
                crate::ruleset::Entry::Marker(_) => unreachable!(),
            })
            .collect();
        assert_eq!(tested, [true, false, true]);
        let run = |uri: &str, headers: &[(&str, &str)]| {
            let mut tx = get(&rules, uri, headers);
            let gates = rule_tests(&mut tx, 1, &[1, 2, 3], |tx, r| {
                Some(tx.a_link_cannot_match(r))
            });
            let set: Vec<bool> = [&b"a"[..], b"b", b"c"]
                .iter()
                .map(|n| tx.tx.get(n).is_some())
                .collect();
            (gates, ids(&tx), set)
        };
        let no = Some(false);
        let yes = Some(true);
        assert_eq!(
            run("/", &[]),
            (vec![yes, no, yes], vec![], vec![false, true, false]),
            "no X-A: the first and third chains passed by, the second's starter sets tx.b"
        );
        assert_eq!(
            run("/", &[("X-A", "post")]),
            (vec![no, no, yes], vec![1, 2], vec![true, true, false])
        );
        assert_eq!(
            run("/", &[("X-A", "post"), ("X-B", "1")]),
            (vec![no, no, no], vec![1, 2, 3], vec![true, true, true])
        );
        assert_eq!(
            run("/off", &[]).0,
            vec![no, no, yes],
            "a removed starter is evaluated"
        );
    }

    /// Rules with no bytes one of which every match holds (negated, or a pattern that may match
    /// the empty value) are passed by when none of their variables has a value, and run when
    /// one has, an empty one or one a selector picks among others.
    #[test]
    fn rules_without_required_bytes_are_tested_by_presence() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule REQUEST_COOKIES|ARGS \"@rx ^$\" \"id:1,phase:1,pass,log,t:none,t:lowercase\"\n\
             SecRule REQUEST_COOKIES|ARGS_NAMES|ARGS \"!@rx zzz\" \"id:2,phase:1,pass,log,t:none\"\n\
             SecRule REQUEST_HEADERS:X-A \"!@rx zzz\" \"id:3,phase:1,pass,log,t:none\"",
        );
        for entry in &rules.phases[1] {
            let crate::ruleset::Entry::Rule(rule) = entry else {
                unreachable!()
            };
            assert!(rule
                .byte_test
                .get()
                .is_some_and(|t| matches!(t.kind, ByteTestKind::Presence { .. })));
        }
        let run = |query: &str, headers: &[(&str, &str)]| {
            let mut tx = get(&rules, &format!("/{query}"), headers);
            (byte_tests(&mut tx, 1, &[0, 1, 2]), ids(&tx))
        };
        let host = [("Host", "x")];
        let none = Some(true);
        let some = Some(false);
        assert_eq!(run("", &host), (vec![none, none, none], vec![]));
        // an empty value has no byte, and is a value
        assert_eq!(run("?a=", &host), (vec![some, some, none], vec![1, 2]));
        assert_eq!(
            run("", &[("Host", "x"), ("X-A", "b")]),
            (vec![none, none, some], vec![3])
        );
        assert_eq!(
            run("", &[("Host", "x"), ("X-B", "b")]),
            (vec![none, none, none], vec![])
        );
    }

    /// The arrays of emptied phase values serve the next ones: up to [`SPARE_ARRAYS`] of them,
    /// none larger than [`SPARE_ARRAY_ROOM`] values, none with any value left in it.
    #[test]
    fn emptied_phase_values_leave_their_arrays() {
        let value = |i: u32| {
            let v = Value {
                name: super::super::variables::ValueName::Element(V::Args),
                element: None,
                value: Bytes::from(&b"v"[..]),
                origin: super::super::variables::Origin::None,
            };
            PhaseValue::new(v, i)
        };
        let mut table = PhaseValues::default();
        let mut small = Vec::with_capacity(4);
        small.push(value(0));
        let small_at = small.as_ptr();
        table.insert(V::Args, small);
        let mut large = Vec::with_capacity(SPARE_ARRAY_ROOM + 1);
        large.push(value(0));
        table.insert(V::RequestHeaders, large);
        table.retain(|v| v == V::RequestHeaders);
        assert_eq!(table.spare.len(), 1);
        table.clear();
        assert_eq!(table.spare.len(), 1, "too large to keep");
        let again = table.spare_array(1);
        assert_eq!((again.as_ptr(), again.len()), (small_at, 0));
        assert!(table.spare_array(1).capacity() == 0);
        for v in V::ALL.iter().take(SPARE_ARRAYS + 8) {
            table.insert(*v, vec![value(0)]);
        }
        table.clear();
        assert_eq!(table.spare.len(), SPARE_ARRAYS);
        // with the room of a large request kept, as many large arrays as fit in it
        use super::super::spare::Empty;
        table.empty(1000);
        for (i, v) in V::ALL.iter().take(LARGE_ARRAYS + 2).enumerate() {
            table.insert(*v, Vec::with_capacity(500 + i));
        }
        table.insert(V::ALL[LARGE_ARRAYS + 2], Vec::with_capacity(2000));
        table.clear();
        assert_eq!(table.large_spare.len(), LARGE_ARRAYS);
        assert_eq!(table.spare.len(), SPARE_ARRAYS, "the small ones are apart");
        assert!(table.large_spare.iter().all(|a| a.capacity() < 1000));
        // a large variable gets the smallest that fits, or the largest; a small one a small
        assert_eq!(table.spare_array(502).capacity(), 502);
        assert_eq!(table.spare_array(900).capacity(), 500 + LARGE_ARRAYS - 1);
        assert!(table.spare_array(10).capacity() <= SPARE_ARRAY_ROOM);
        // and they are given back when the room is
        table.empty(SPARE_ARRAY_ROOM);
        assert!(table.large_spare.is_empty());
    }

    /// A large variable takes a kept array with room for it, even when one without is closer
    /// to its size (which would grow, copying its values, at the last of them).
    #[test]
    fn a_large_variable_takes_an_array_with_room_for_it() {
        use super::super::spare::Empty;
        let mut table = PhaseValues::default();
        table.empty(1000);
        table.insert(V::Args, Vec::with_capacity(509));
        table.insert(V::ArgsNames, Vec::with_capacity(600));
        table.insert(V::RequestHeaders, Vec::with_capacity(700));
        table.clear();
        assert_eq!(table.spare_array(510).capacity(), 600);
        assert_eq!(
            table.spare_array(800).capacity(),
            700,
            "none fits: the largest"
        );
        assert_eq!(table.spare_array(100).capacity(), 509);
    }

    #[test]
    fn header_values_outlive_phase_1() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRequestBodyAccess On\n\
             SecRule REQUEST_HEADERS|ARGS \"@rx zzz\" \"id:1,phase:1,pass,log\"\n\
             SecRule REQUEST_HEADERS|ARGS \"@rx zzz\" \"id:2,phase:2,pass,log\"",
        );
        let mut tx = Transaction::new(rules);
        tx.process_uri(b"/?a=1", b"POST", b"1.1");
        tx.add_request_header(b"Host", b"x");
        tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
        tx.process_request_headers();
        // (a hash worked out in phase 1 is still there in phase 2: the same values, not
        // values made anew, perhaps in the same array)
        let headers = &tx.phase_values[&V::RequestHeaders];
        assert_eq!(headers.len(), 2);
        let hash = headers[0].text_hash();
        assert_eq!(tx.phase_values[&V::Args].len(), 1);
        tx.append_request_body(b"b=2");
        tx.process_request_body();
        assert_eq!(
            tx.phase_values[&V::RequestHeaders][0]
                .text_hash
                .load(Relaxed),
            hash
        );
        assert_eq!(tx.phase_values[&V::Args].len(), 2);
        tx.add_request_header(b"X-Late", b"y");
        assert!(tx.phase_values.is_empty());
    }

    /// A large variable's values each hold their own text's bytes, those of a text seen before
    /// taken from its first value.
    #[test]
    fn phase_values_hold_their_texts_bytes() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS \"@rx zzz\" \"id:1,phase:1,pass,log\"",
        );
        let texts = ["ab", "a;b", "", "ab", "x<y", "a;b"];
        let query: Vec<String> = (0..COLUMN_MIN_VALUES + 10)
            .map(|i| format!("k{i}={}", texts[i % texts.len()]))
            .collect();
        let mut tx = Transaction::new(rules);
        tx.process_uri(format!("/?{}", query.join("&")).as_bytes(), b"GET", b"1.1");
        tx.add_request_header(b"Host", b"x");
        tx.process_request_headers();
        let args = &tx.phase_values[&V::Args];
        assert_eq!(args.len(), query.len());
        assert!(args
            .iter()
            .enumerate()
            .any(|(i, p)| p.same_as as usize != i));
        for (i, p) in args.iter().enumerate() {
            assert_eq!(p.bytes, ByteSet::of(&p.value.value), "value {i}");
            assert_eq!(args[p.same_as as usize].value.value, p.value.value);
        }
    }

    /// Rules of a string comparison with a parameter known at load (`@contains #`, 920610's)
    /// are byte tested by the rarest byte of the parameter, case and all, after the rule's
    /// transformations; a parameter with macros, one of lowercase letters only and a negated
    /// rule are not; each answers as its evaluation does.
    #[test]
    fn string_comparisons_are_byte_tested_by_their_parameter() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule REQUEST_URI_RAW \"@contains #\" \"id:1,phase:1,pass,log,t:none\"\n\
             SecRule REQUEST_METHOD \"@streq POST\" \"id:2,phase:1,pass,log,t:none\"\n\
             SecRule ARGS \"@beginsWith Ab\" \"id:3,phase:1,pass,log,t:none,t:lowercase\"\n\
             SecRule ARGS \"@endsWith .pdf\" \"id:4,phase:1,pass,log,t:none\"\n\
             SecRule ARGS \"@containsWord word\" \"id:5,phase:1,pass,log,t:none\"\n\
             SecRule ARGS \"@contains %{tx.x}\" \"id:6,phase:1,pass,log,t:none\"\n\
             SecRule ARGS \"!@contains #\" \"id:7,phase:1,pass,log,t:none\"",
        );
        let required = |at: usize| match &rules.phases[1][at] {
            crate::ruleset::Entry::Rule(rule) => rule
                .operator
                .as_ref()
                .and_then(|op| op.operator.required_bytes())
                .map(|r| r.as_set()),
            crate::ruleset::Entry::Marker(_) => unreachable!(),
        };
        assert_eq!(required(0), Some(ByteSet::of(b"#")));
        assert_eq!(required(1), Some(ByteSet::of(b"P")));
        assert_eq!(required(2), Some(ByteSet::of(b"A")));
        assert_eq!(required(3), Some(ByteSet::of(b".")));
        assert_eq!(required(4), None);
        assert_eq!(required(5), None);
        let run = |uri: &str| {
            let mut tx = get(&rules, uri, &[("Host", "x")]);
            (byte_tests(&mut tx, 1, &[0, 1, 2, 3]), ids(&tx))
        };
        let (none, some) = (Some(true), Some(false));
        // (`GET`: no `P`; `Abc` lowercased by the rule's chain has no `A`: rule 3 cannot
        // match after `t:lowercase`, and its test says so; 6 contains the empty expansion of
        // an unset `tx.x`, 7 is negated)
        assert_eq!(
            run("/?a=Abc&b=x.pdf"),
            (vec![none, none, none, some], vec![4, 6, 7])
        );
        assert_eq!(run("/#x"), (vec![some, none, none, none], vec![1]));
    }

    /// Rules of counts compared with a constant are tested by their counts: each answers as
    /// its evaluation would (negated or not, over several counts, by a selector or the whole
    /// collection, `TX` as it is when the rule is reached), and one that may match runs.
    #[test]
    fn rules_of_counts_are_tested_by_their_counts() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule &REQUEST_HEADERS:Host \"@eq 0\" \"id:1,phase:1,pass,log\"\n\
             SecRule &REQUEST_HEADERS:X-A \"!@eq 0\" \"id:2,phase:1,pass,log,t:none\"\n\
             SecRule &ARGS|&REQUEST_HEADERS \"@gt 2\" \"id:3,phase:1,pass,log\"\n\
             SecAction \"id:4,phase:1,pass,nolog,setvar:tx.a=1\"\n\
             SecRule &TX:a \"@eq 1\" \"id:5,phase:1,pass,log\"\n\
             SecRule &ARGS \"@lt 1\" \"id:6,phase:1,pass,log\"\n\
             SecRule &ARGS \"@eq 1\" \"id:7,phase:1,pass,log,t:length\"",
        );
        let run = |query: &str, headers: &[(&str, &str)]| {
            let mut tx = get(&rules, &format!("/?{query}"), headers);
            (ids(&tx), byte_tests(&mut tx, 1, &[0, 1, 2, 4, 5, 6]))
        };
        let (ids, tested) = run("a=1", &[("Host", "x")]);
        assert_eq!(ids, [5, 7]);
        // (7 transforms its count, whose text is 1 long: no count test)
        let answers = [
            Some(true),
            Some(true),
            Some(true),
            Some(false),
            Some(true),
            None,
        ];
        assert_eq!(tested, answers);
        let (ids, tested) = run("", &[("X-A", "1"), ("x-a", "2"), ("B", "3")]);
        assert_eq!(ids, [1, 2, 3, 5, 6, 7]);
        assert_eq!(tested[..5], [Some(false); 5]);
    }

    /// The multipart parser's variables are fixed in phase 2, and their rules byte tested: a
    /// request without parts passes them by, one with parts runs them (CRS's 922120 on the
    /// parts' headers, 922130's negated pattern, the names and file names).
    #[test]
    fn rules_on_multipart_variables_are_byte_tested() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRequestBodyAccess On\n\
             SecRule MULTIPART_PART_HEADERS \"@rx content-transfer-encoding:(.*)\" \"id:1,phase:2,pass,log,capture,t:none,t:lowercase\"\n\
             SecRule MULTIPART_PART_HEADERS \"!@rx zzz\" \"id:2,phase:2,pass,log,t:none\"\n\
             SecRule MULTIPART_NAME|MULTIPART_FILENAME|FILES_SIZES \"@rx ^(?:a|b\\.jpg|3)$\" \"id:3,phase:2,pass,log,t:none\"",
        );
        let run = |multipart: bool| {
            let mut tx = Transaction::new(Arc::clone(&rules));
            tx.process_uri(b"/", b"POST", b"1.1");
            let body: &[u8] = match multipart {
                true => b"--0000\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: base64\r\n\r\nx\r\n--0000\r\nContent-Disposition: form-data; name=\"f\"; filename=\"b.jpg\"\r\n\r\nabc\r\n--0000--\r\n",
                false => b"a=1",
            };
            let ct: &[u8] = match multipart {
                true => b"multipart/form-data; boundary=0000",
                false => b"application/x-www-form-urlencoded",
            };
            tx.add_request_header(b"Content-Type", ct);
            tx.process_request_headers();
            tx.append_request_body(body);
            tx.process_request_body();
            (ids(&tx), byte_tests(&mut tx, 2, &[0, 1, 2]))
        };
        assert_eq!(run(false), (vec![], vec![Some(true); 3]));
        assert_eq!(run(true), (vec![1, 2, 3], vec![Some(false); 3]));
    }

    /// The phase loop asks a grouped rule whether some value of its variables holds one of
    /// its literals: a rule without one is passed by, one with one runs (and matches), one
    /// not in the matcher or of a variable a rule may change is not asked, and none is while
    /// a `ctl:ruleRemoveById` holds.
    #[test]
    fn grouped_rules_are_tested_by_their_candidates() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS|REQUEST_HEADERS \"@rx foo\\d\" \"id:1,phase:1,pass,log,t:none\"\n\
             SecRule ARGS|REQUEST_HEADERS \"@rx bar\\d\" \"id:2,phase:1,pass,log,t:none\"\n\
             SecRule ARGS \"!@rx zzz\" \"id:3,phase:1,pass,log,t:none\"\n\
             SecRule ARGS:c \"@rx 1\" \"id:4,phase:1,pass,nolog,t:none,ctl:ruleRemoveById=9\"\n\
             SecRule ARGS|TX:a \"@rx foo\\d\" \"id:5,phase:1,pass,log,t:none\"\n\
             SecRule ARGS:d \"@rx 1\" \"id:6,phase:1,pass,nolog,t:none,ctl:ruleRemoveById=2\"",
        );
        let tested = |query: &str| {
            let mut tx = get(&rules, &format!("/?{query}"), &[("X-A", "b")]);
            let tests = rule_tests(&mut tx, 1, &[0, 1, 2, 4], Transaction::candidate_test);
            (ids(&tx), tests)
        };
        let no = Some(true);
        let may = Some(false);
        // (5 names `TX`, which a rule may change: not tested)
        let (no_test, removed) = (None, None);
        assert_eq!(
            tested("a=foo1"),
            (vec![1, 3, 5], vec![may, no, None, no_test])
        );
        let both = tested("a=bar2&b=foo3");
        assert_eq!(both, (vec![1, 2, 3, 5], vec![may, may, None, no_test]));
        assert_eq!(tested("a=x"), (vec![3], vec![no, no, None, no_test]));
        // a removal keeps the tests of the rules it does not name
        assert_eq!(tested("a=x&c=1"), (vec![3], vec![no, no, None, no_test]));
        assert_eq!(
            tested("a=x&d=1"),
            (vec![3], vec![no, removed, None, no_test])
        );
    }

    /// A rule a `ctl:ruleRemoveById` names is evaluated as matched (libmodsecurity's
    /// `RuleWithOperator::evaluate` returns true), so it leaves `MATCHED_VAR` as it was, even
    /// where its byte and candidate tests would say it cannot match; the rules it does not
    /// name are still answered by theirs.
    #[test]
    fn a_rule_removed_at_run_time_is_not_answered_by_its_tests() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS:c \"@streq on\" \"id:1,phase:1,pass,nolog,t:none,ctl:ruleRemoveById=2\"\n\
             SecRule ARGS \"@rx <script\" \"id:2,phase:1,pass,log,t:none\"\n\
             SecRule MATCHED_VAR \"@rx .\" \"id:3,phase:1,pass,log,t:none\"\n\
             SecRule ARGS \"@rx ;\" \"id:4,phase:1,pass,log,t:none\"\n\
             SecRule MATCHED_VAR \"@rx .\" \"id:5,phase:1,pass,log,t:none\"",
        );
        let run = |query: &str| {
            let mut tx = get(&rules, &format!("/?{query}"), &[("X-A", "b")]);
            let mut tests = rule_tests(&mut tx, 1, &[1, 3], Transaction::byte_test);
            tests.extend(rule_tests(&mut tx, 1, &[1], Transaction::candidate_test));
            (ids(&tx), tests)
        };
        // 2 is removed: `MATCHED_VAR` is still 1's; 4, not removed, is answered by its bytes
        // and empties it
        assert_eq!(run("c=on&a=x"), (vec![3], vec![None, Some(true), None]));
        // without the removal, 2's test answers it, and it empties `MATCHED_VAR`
        assert_eq!(
            run("c=no&a=x"),
            (vec![], vec![Some(true), Some(true), Some(true)])
        );
    }

    /// A target with a selector has per-phase entries of its own: `ARGS:b`'s bytes, asked
    /// first, do not answer for `ARGS:a`, nor `ARGS:a`'s for `ARGS:b` after it.
    #[test]
    fn selected_values_have_entries_of_their_own() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS:b \"@rx <\" \"id:1,phase:1,pass,log,t:none\"\n\
             SecRule ARGS:a \"@rx <\" \"id:2,phase:1,pass,log,t:none\"\n\
             SecRule ARGS:b \"@rx <\" \"id:3,phase:1,pass,log,t:none\"\n\
             SecRule ARGS:a \"@rx <\" \"id:4,phase:1,pass,log,t:none\"",
        );
        let mut tx = Transaction::new(rules);
        tx.process_uri(b"/?a=%3C&b=x", b"GET", b"1.1");
        tx.process_request_headers();
        let ids: Vec<u64> = tx.messages().iter().map(|m| m.rule_id).collect();
        assert_eq!(ids, [2, 4]);
    }

    /// Rules of the same variables and chain share their byte test's entry, each asking it
    /// about its own bytes: the union kept when one rule could not match answers the next
    /// one, which may.
    #[test]
    fn byte_tests_share_their_variables_bytes() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS|REQUEST_HEADERS:X-A \"@rx <\" \"id:1,phase:1,pass,log,t:none\"\n\
             SecRule ARGS|REQUEST_HEADERS:X-A \"@rx ;\" \"id:2,phase:1,pass,log,t:none\"\n\
             SecRule REQUEST_HEADERS:X-A|ARGS|XML:/* \"@rx ;\" \"id:3,phase:1,pass,log,t:none\"",
        );
        let run = |query: &str| {
            let mut tx = Transaction::new(Arc::clone(&rules));
            tx.process_uri(format!("/?{query}").as_bytes(), b"GET", b"1.1");
            tx.add_request_header(b"X-A", b"b");
            tx.process_request_headers();
            let ids: Vec<u64> = tx.messages().iter().map(|m| m.rule_id).collect();
            // (the phase's entries are still there to ask)
            let fails: Vec<bool> = (0..3)
                .map(|i| match &rules.phases[1][i] {
                    crate::ruleset::Entry::Rule(rule) => tx.byte_test(rule) == Some(true),
                    crate::ruleset::Entry::Marker(_) => unreachable!(),
                })
                .collect();
            (fails, ids)
        };
        let sets: Vec<u32> = (0..3)
            .map(|i| match &rules.phases[1][i] {
                crate::ruleset::Entry::Rule(rule) => match rule.byte_test.get().unwrap().kind {
                    ByteTestKind::Bytes { set, .. } => set,
                    _ => unreachable!(),
                },
                crate::ruleset::Entry::Marker(_) => unreachable!(),
            })
            .collect();
        assert_eq!(sets[0], sets[1]);
        assert_eq!(sets[1], sets[2]);
        // each test reads its variables' entries in the rule's order, `XML` left out
        let entries = |i: usize| match &rules.phases[1][i] {
            crate::ruleset::Entry::Rule(rule) => match &rule.byte_test.get().unwrap().kind {
                ByteTestKind::Bytes { entries, .. } => entries.to_vec(),
                _ => unreachable!(),
            },
            crate::ruleset::Entry::Marker(_) => unreachable!(),
        };
        let (args, header) = (entries(0)[0].0, entries(0)[1].0);
        assert_ne!(args, header);
        assert_eq!(entries(0), [(args, 0), (header, 1)]);
        assert_eq!(entries(2), [(header, 0), (args, 1)]);
        assert_eq!(run("a=%3B"), (vec![true, false, false], vec![2, 3]));
        assert_eq!(run("a=%3C"), (vec![false, true, true], vec![1]));
    }

    /// A `multiMatch` rule is answered "cannot match" when no value holds a byte it needs
    /// nor one its chain acts on (then every stage is the value as it is); it runs when one
    /// does, and matches on the stage that has it.
    #[test]
    fn multi_match_rules_are_asked_about_every_stage() {
        let rules = rule_set(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS \"@rx <evil\" \"id:1,phase:1,pass,log,multiMatch,\
             t:none,t:urlDecodeUni\"",
        );
        let run = |query: &str| {
            let mut tx = Transaction::new(Arc::clone(&rules));
            tx.process_uri(format!("/?{query}").as_bytes(), b"GET", b"1.1");
            tx.process_request_headers();
            let crate::ruleset::Entry::Rule(rule) = &rules.phases[1][0] else {
                unreachable!()
            };
            let chain = rule.transformation_chain.load(Relaxed);
            let op = rule.operator.as_ref().unwrap();
            let required = op.operator.required_bytes().unwrap();
            let cannot = tx.no_value_has_bytes(rule, &rule.targets, chain, required);
            (cannot, tx.messages().len())
        };
        // (the query's arguments are decoded once before any rule sees them)
        assert_eq!(run("a=good&b=fine%20words"), (true, 0));
        // the `<` as it is; after urlDecodeUni; a `%` that gives none, but could
        assert_eq!(run("a=good&b=%3Cevil"), (false, 1));
        assert_eq!(run("a=%253Cevil"), (false, 1));
        assert_eq!(run("a=%2525"), (false, 0));
    }

    fn set(b: u8) -> ByteSet {
        let mut s = ByteSet::EMPTY;
        s.insert(b);
        s
    }

    /// An entry answers in its own phase only: not in the next, not in a later transaction
    /// that gets the tables, not after the generations wrap round.
    #[test]
    fn entries_hold_for_their_phase() {
        let counts = |bytes, candidates, byte_sets| PhaseKeyCounts {
            bytes,
            candidates,
            byte_sets,
        };
        let byte_set = |t: &PhaseTables, key| entry_of(&t.byte_sets, key, t.generation);
        let mut t = PhaseTables::default();
        t.next_phase(counts(2, 1, 1));
        assert_eq!(t.bytes(0), None);
        t.set_bytes(0, set(b'a'));
        t.set_candidates(0, Candidates::none(3));
        t.byte_sets[0] = (t.generation, set(b'e'));
        assert_eq!(t.bytes(0), Some(set(b'a')));
        assert!(t.candidates(0).is_some());
        assert_eq!(byte_set(&t, 0), Some(set(b'e')));
        assert_eq!(t.bytes(1), None);
        // (keys past the rule set's count are never kept)
        t.set_bytes(5, set(b'b'));
        assert_eq!(t.bytes(5), None);
        t.next_phase(counts(2, 1, 1));
        assert_eq!(t.bytes(0), None);
        assert!(t.candidates(0).is_none());
        assert_eq!(byte_set(&t, 0), None);
        // the generations wrap: entries of the last one before do not come back
        t.set_bytes(1, set(b'c'));
        t.generation = u32::MAX;
        t.bytes[0] = (1, set(b'd'));
        t.byte_sets[0] = (1, set(b'd'));
        t.next_phase(counts(2, 1, 1));
        assert_eq!(t.generation, 1);
        assert_eq!(t.bytes(0), None);
        assert_eq!(t.bytes(1), None);
        assert_eq!(byte_set(&t, 0), None);
        // a smaller rule set's transaction
        t.next_phase(counts(1, 0, 0));
        assert_eq!(t.bytes(1), None);
        assert!(t.candidates(0).is_none());
        assert_eq!(byte_set(&t, 0), None);
    }
}
