//! The transformation cache: each value is transformed once per transformation chain prefix
//! per transaction, whatever the number of rules that ask for it ([`crate::chains`]).
//!
//! A value is known by its shared buffer (collection values and stored scalars are
//! [`Bytes`] that rules share), so the key is the buffer's address and length; the cache keeps
//! a clone of the buffer alive, so an address cannot be reused by another value while its entry
//! exists. Values built afresh for each rule (computed scalars, counts) simply miss.
//!
//! The grouped matcher's results by text, and the short texts a transaction saw, with their
//! outputs by chain and the rules whose pure operator did not match them, outlive the
//! transaction: the thread's next transaction on the same rule set finds them (a browser sends the same `Accept`,
//! `User-Agent` and cookies with every request), up to [`KEEP_TEXTS`] texts and
//! [`KEEP_TEXT_BYTES`] bytes each.

use super::candidates::{PhaseValue, NOT_LOOKED, NOT_SCANNED, NO_ENTRY};
use super::Transaction;
use crate::chains::{ChainId, IDENTITY};
use crate::collection::Bytes;
use crate::matcher::{Candidates, Matcher, Scan, LONG_VALUE};
use crate::regex::ByteSet;
use crate::rule::Rule;
use crate::word_hash::KeyHasher;
use seclang_parser::names::TransformationName;
use seclang_parser::names::VariableName;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// (buffer address, length, chain).
type Key = (usize, usize, ChainId);

/// (input buffer address, length, transformation): [`TransformCache::steps`].
type StepKey = (usize, usize, TransformationName);

/// (the input, kept, its output, libmodsecurity's "changed" flag).
type StepOutput = (Bytes, Bytes, bool);

/// A kept text's entry ([`TransformCache::texts`]) and a chain, one word: `entry << 32 | chain`.
pub(crate) type TextKey = u64;

/// The cached results of one transaction.
#[derive(Debug, Default)]
pub(crate) struct TransformCache {
    /// A value's output by the value's buffer (kept with it) and chain: `None` when it is the
    /// value itself.
    map: HashMap<Key, (Bytes, Option<Bytes>), BuildHasherDefault<KeyHasher>>,
    /// The grouped matcher's results: transformed value → for every group, the members whose
    /// literals it holds ([`crate::matcher::Matcher::search_all`]);
    all_groups: HashMap<(usize, usize), (Bytes, usize), BuildHasherDefault<KeyHasher>>,
    /// `all_groups`' results by text, ASCII case aside: (`case_blind_hash`, length) → the
    /// first value scanned with that key, and where its result starts in `sets`. The scan
    /// searches a lowercased copy, so a value and its `t:lowercase` output (another buffer)
    /// have one result; 4 in 10 of the bytes a page view scanned had capitals.
    by_text: HashMap<(u64, usize), (Bytes, usize), BuildHasherDefault<KeyHasher>>,
    /// The sets of every group's members `all_groups` gives the start of, end to end (one
    /// allocation, not one per value), each once;
    sets: Vec<u64>,
    /// where each set of `sets` starts, by a hash of its words.
    distinct_sets: HashMap<u64, usize, BuildHasherDefault<KeyHasher>>,
    /// The rule set whose matcher and chains `by_text`, `sets` and `outputs` hold the results
    /// of (a weak reference: its address cannot be another rule set's while the cache holds
    /// it), and the bytes of the texts `by_text` keeps.
    rules: Option<std::sync::Weak<crate::RuleSet>>,
    text_bytes: usize,
    /// The short texts ([`KEPT_OUTPUT_MAX`]) kept for the thread's next transactions on the
    /// same rule set, each with an entry that the outputs and misses below are kept by: by
    /// (text hash, length), the entry's number; up to [`KEEP_KEPT_TEXTS`] texts and
    /// [`KEEP_TEXT_BYTES`] bytes. A phase value finds its text's entry once
    /// ([`PhaseValue::text_entry`]); each chain's output and each rule's miss is then a look by
    /// a number, without the text's hash or a compare of its bytes (a table by (text hash,
    /// length, chain), confirmed by a compare for every chain, was a fifth of the looks'
    /// time).
    texts: HashMap<(u64, usize), u32, BuildHasherDefault<KeyHasher>>,
    /// each entry's text, with its bytes and its scan's place,
    kept_texts: Vec<KeptText>,
    kept_text_bytes: usize,
    /// The outputs of the kept texts by (entry, chain) (a kept text's outputs are not in
    /// `map`), with the bytes of the outputs.
    outputs: HashMap<TextKey, KeptOutput, BuildHasherDefault<KeyHasher>>,
    output_bytes: usize,
    /// The kept texts rules' operators did not match, for operators whose answer depends on
    /// the text alone and leaves nothing behind when it is "no"
    /// ([`crate::rule::RuleOperator::answers_by_text`]): a rule passes by the same text in the
    /// thread's next transactions without transforming or testing it again. A text's entry
    /// has a bit for each such rule ([`crate::rule::Rule::miss_bit`]): the rules that test a
    /// value read one place (an entry per rule and text, in a table of thousands, missed the
    /// processor's caches at most looks: 3% of CRS's regression inputs' time).
    /// `miss_words` words an entry (the rule set's [`crate::RuleSet::miss_words`]).
    miss_bits: Vec<u64>,
    miss_words: usize,
    /// and for a long value, (value, group and subset) → the subset's members whose literals it
    /// holds.
    subsets: HashMap<Key, (Bytes, Candidates), BuildHasherDefault<KeyHasher>>,
    /// A long input's output through one transformation, by the input's buffer (kept with
    /// it) and the transformation: chains that differ before a step may give it the same
    /// input (`t:utf8toUnicode` leaves ASCII as it is, so `t:utf8toUnicode,t:urlDecodeUni`
    /// decodes what `t:urlDecodeUni` did), which their entries in `map` do not tell. 2 KB of
    /// `%25` went through `t:urlDecodeUni` ~17 times a request. With libmodsecurity's
    /// "changed" flag of the step (`multiMatch` tests a stage that raised it).
    steps: HashMap<StepKey, StepOutput, BuildHasherDefault<KeyHasher>>,
    scratch: Vec<u8>,
    /// In a request of many texts, the last walk through the matcher's automaton of a text
    /// of each first byte (by its low four bits, case aside), where the next such text's
    /// starts ([`crate::matcher::Matcher::search_all_after`]): a JSON body's names go on from
    /// each other, and its values from those of the same field (`hd-00012` from `hd-00011`,
    /// though a `product 11` came between).
    last_walks: Vec<crate::matcher::LastWalk>,
    /// and the texts this transaction scanned (the texts of `by_text` outlive it).
    scans: usize,
}

/// How many [`TransformCache::last_walks`] a request keeps.
const LAST_WALKS: usize = 16;

/// How many texts a transaction has scanned before a scan starts from the last one's walk (a
/// small request's texts seldom start alike, and each walk would keep its states: 2.5% more
/// instructions on CRS's regression inputs).
const WALK_ON_AFTER_SCANS: usize = 64;

/// The shortest output whose bytes a byte test does not work out ([`Transaction::kept_output_bytes`]).
const LONG_OUTPUT_BYTES: usize = 4096;

/// The shortest input a transformation's output is kept for by the input and the
/// transformation ([`TransformCache::steps`]): a short one costs less to transform again than
/// the look.
pub(crate) const STEP_MEMO_MIN: usize = 256;

/// A kept text's output through a chain ([`TransformCache::outputs`]), with what the rules ask
/// of it: a rule's byte test its bytes, the grouped matcher its scan. Kept with the output,
/// they are found by the look that found it (by its buffer, they were two more looks in
/// tables out of the processor's caches, and a hash and a compare of the output's text).
#[derive(Debug)]
struct KeptOutput {
    /// `None` when the chain leaves the text as it is (the asking value's own buffer then
    /// stands for the output, as in `map`),
    output: Option<Bytes>,
    /// and what is known of a changed one.
    facts: TextFacts,
}

/// A kept text ([`TransformCache::texts`]), with what a phase value of it needs: its bytes
/// and its scan of every group's literals. A phase value of a kept text takes them from here
/// (the same `Accept` or cookie in every request was a byte set worked out, and a scan
/// found by a case-blind hash, a probe and a compare, in each).
#[derive(Debug)]
struct KeptText {
    text: Bytes,
    facts: TextFacts,
}

/// What the rules ask of a kept text or output, worked out when first asked.
#[derive(Debug, Clone, Copy)]
struct TextFacts {
    /// Its bytes ([`ByteSet::EMPTY`] until they are asked: an empty text's are worked out
    /// again, at no cost),
    bytes: ByteSet,
    /// and where its scan of every group's literals is in `sets` ([`NOT_SCANNED`] until it is
    /// made; forgotten with `sets`).
    scan: u32,
}

impl TextFacts {
    const UNKNOWN: TextFacts = TextFacts {
        bytes: ByteSet::EMPTY,
        scan: NOT_SCANNED,
    };

    /// The bytes of `text`, the text these facts are of.
    fn bytes_of(&mut self, text: &[u8]) -> ByteSet {
        if self.bytes == ByteSet::EMPTY {
            self.bytes = ByteSet::of(text);
        }
        self.bytes
    }
}

/// What [`Transaction::changed_output`] gives: the output (`None`: the value itself) and the
/// key of its kept record ([`NOT_KEPT`]: none).
pub(crate) type Output = (Option<Bytes>, TextKey);

/// The [`Output`] key of an output without a kept record.
pub(crate) const NOT_KEPT: TextKey = u64::MAX;

/// [`KeyHasher::text_hash`] of `value`, the text of `known` when it is a phase value (which
/// keeps it).
#[inline]
fn text_hash(value: &[u8], known: Option<&PhaseValue>) -> u64 {
    match known {
        Some(p) => p.text_hash(),
        None => KeyHasher::text_hash(value, 0),
    }
}

/// A hash of `value` that ASCII case does not change: eight bytes at a time, each with its
/// 0x20 bit set (`A` and `a` hash alike, and so do `@` and `` ` ``: a text found under the
/// hash is compared before its result is used).
fn case_blind_hash(value: &[u8]) -> u64 {
    KeyHasher::text_hash(value, 0x2020_2020_2020_2020)
}

/// A hash of a set's words: of its words that are not zero, with their places. (A text holds
/// the literals of few members: of a set's words, most are zero, and hashing every word was
/// half of a large form's scans' own time.)
fn words_hash(words: &[u64]) -> u64 {
    use std::hash::Hasher;
    let mut h = KeyHasher::default();
    for (i, &w) in words.iter().enumerate().filter(|(_, &w)| w != 0) {
        h.write_usize(i);
        h.write_u64(w);
    }
    h.finish()
}

/// The longest value [`Transaction::changed_output`] scans for the bytes of its chain before it
/// looks in the cache.
const PLAIN_SCAN_MAX: usize = 64;

/// Entries a recycled cache may keep room for; a larger one (after a request with thousands of
/// values) is shrunk, so a thread does not hold on to a big request's memory.
const KEEP_CAPACITY: usize = 4096;

/// The most texts whose scans a recycled cache keeps for the next transaction (a few pages'
/// worth of headers and cookies),
const KEEP_TEXTS: usize = 2048;
/// their most bytes in all (the texts are kept alive with their results),
const KEEP_TEXT_BYTES: usize = 256 * 1024;
/// and the most words of their sets.
const KEEP_SET_WORDS: usize = 64 * 1024;

/// The most texts a transaction's scans are found by ([`TransformCache::scan_of_text`]); past
/// them a text is scanned and its scan kept with its value's buffer only. A 1 MB JSON body's
/// 45,000 texts each took an entry, seldom found again, in a table of ~2.5 MB whose looks
/// missed the processor's caches: 4-14% of the body's time, for 0.3% more instructions.
/// (More than [`KEEP_TEXTS`]: a transaction that reached it leaves none to the next.)
const TEXTS_MAX: usize = 2 * KEEP_TEXTS;

/// The longest value whose outputs are kept by text (headers, cookies, most arguments),
const KEPT_OUTPUT_MAX: usize = 256;
/// and the most outputs kept (one a value and chain: a request's few dozen values through
/// CRS's chains make hundreds).
const KEEP_OUTPUTS: usize = 8192;

/// The most texts kept for the next transactions (a request's few dozen values each).
const KEEP_KEPT_TEXTS: usize = 4096;

thread_local! {
    /// A finished transaction's cache, emptied, for the thread's next transaction: its hash
    /// tables keep their room (growing them anew was a rehash after rehash on every request).
    static SPARE: std::cell::RefCell<Option<TransformCache>> = const { std::cell::RefCell::new(None) };
}

impl TransformCache {
    /// The cache of a transaction on `rules`: the thread's spare one when there is one, with
    /// the scans and outputs by text it kept when they are of the same rule set.
    pub(crate) fn take(rules: &std::sync::Arc<crate::RuleSet>) -> TransformCache {
        let mut cache: TransformCache = super::spare::take(&SPARE);
        let same = cache
            .rules
            .as_ref()
            .is_some_and(|r| std::ptr::eq(r.as_ptr(), std::sync::Arc::as_ptr(rules)));
        if !same {
            cache.forget_texts();
            cache.forget_kept_texts();
            cache.miss_words = rules.miss_words;
            cache.rules = Some(std::sync::Arc::downgrade(rules));
        }
        cache
    }

    /// Empties the cache but for its scans and outputs by text while they are few and small,
    /// and keeps it as the thread's spare.
    pub(crate) fn recycle(mut self) {
        use super::spare::Empty;
        self.map.empty(KEEP_CAPACITY);
        self.all_groups.empty(KEEP_CAPACITY);
        self.subsets.empty(KEEP_CAPACITY);
        self.steps.empty(KEEP_CAPACITY);
        self.scratch.empty(KEEP_CAPACITY);
        self.last_walks = Vec::new();
        self.scans = 0;
        if self.by_text.len() > KEEP_TEXTS
            || self.text_bytes > KEEP_TEXT_BYTES
            || self.sets.len() > KEEP_SET_WORDS
        {
            self.forget_texts();
        }
        // (full: begun again, for the texts of the traffic to come)
        if self.texts.len() >= KEEP_KEPT_TEXTS || self.kept_text_bytes >= KEEP_TEXT_BYTES {
            self.forget_kept_texts();
        } else if self.outputs.len() > KEEP_OUTPUTS || self.output_bytes > KEEP_TEXT_BYTES {
            self.forget_outputs();
        }
        super::spare::keep(&SPARE, self);
    }

    /// Empties the outputs by text.
    fn forget_outputs(&mut self) {
        use super::spare::Empty;
        self.outputs.empty(KEEP_CAPACITY);
        self.output_bytes = 0;
    }

    /// Empties the kept texts, and with them their outputs and misses (kept by the texts'
    /// entries, which the next texts will have).
    fn forget_kept_texts(&mut self) {
        use super::spare::Empty;
        self.texts.empty(KEEP_CAPACITY);
        self.kept_texts.clear();
        self.kept_text_bytes = 0;
        self.miss_bits.clear();
        self.forget_outputs();
    }

    /// Empties the scans by text (and the kept outputs' places in them).
    fn forget_texts(&mut self) {
        use super::spare::Empty;
        self.by_text.empty(KEEP_CAPACITY);
        self.sets.empty(KEEP_CAPACITY);
        self.distinct_sets.empty(KEEP_CAPACITY);
        // (their places in the sets)
        self.last_walks = Vec::new();
        self.text_bytes = 0;
        let outputs = self.outputs.values_mut().map(|k| &mut k.facts);
        for facts in outputs.chain(self.kept_texts.iter_mut().map(|k| &mut k.facts)) {
            facts.scan = NOT_SCANNED;
        }
    }
}

impl TransformCache {
    /// The entry of `text` (whose [`KeyHasher::text_hash`] is `hash`) among the kept texts,
    /// made when there is room; `None` when it has none (past the limits, or another text of
    /// its hash and length has it).
    fn text_entry(&mut self, text: &Bytes, hash: u64) -> Option<u32> {
        let key = (hash, text.len());
        if let Some(&e) = self.texts.get(&key) {
            return (self.kept_texts[e as usize].text[..] == text[..]).then_some(e);
        }
        if self.texts.len() >= KEEP_KEPT_TEXTS || self.kept_text_bytes >= KEEP_TEXT_BYTES {
            return None;
        }
        let e = self.kept_texts.len() as u32;
        self.texts.insert(key, e);
        self.kept_texts.push(KeptText {
            // (kept past the request: not a slice keeping its arguments' block alive)
            text: text.unshared(),
            facts: TextFacts::UNKNOWN,
        });
        self.miss_bits
            .resize(self.miss_bits.len() + self.miss_words, 0);
        self.kept_text_bytes += text.len();
        Some(e)
    }

    /// The entry of `value`'s text among the kept texts when it is kept
    /// ([`TransformCache::keeps`]), with its hash, bytes and scan's place ([`NOT_SCANNED`]:
    /// not made yet), for a phase value of it.
    pub(crate) fn kept_text(&mut self, value: &Bytes) -> Option<(u32, u64, ByteSet, u32)> {
        if !self.keeps(value.len()) {
            return None;
        }
        let hash = KeyHasher::text_hash(value, 0);
        let e = self.text_entry(value, hash)?;
        let facts = &mut self.kept_texts[e as usize].facts;
        Some((e, hash, facts.bytes_of(value), facts.scan))
    }

    /// Keeps `at`, the place of the scan of `entry`'s text, with it.
    pub(crate) fn keep_text_scan(&mut self, entry: u32, at: u32) {
        if let Some(kept) = self.kept_texts.get_mut(entry as usize) {
            kept.facts.scan = at;
        }
    }

    /// The word and bit of `bit` in `entry`'s bits.
    fn miss_place(&self, entry: u32, bit: u32) -> (usize, u64) {
        let word = entry as usize * self.miss_words + bit as usize / 64;
        (word, 1 << (bit % 64))
    }

    /// Whether a text of `len` bytes is kept for the next transactions: a short one
    /// ([`KEPT_OUTPUT_MAX`]), and not in a large request, whose values are seldom seen again.
    fn keeps(&self, len: usize) -> bool {
        len <= KEPT_OUTPUT_MAX && self.map.len() < KEEP_CAPACITY
    }

    /// Where the scan of every group's literals over `candidate` is in the cache's sets
    /// ([`crate::matcher::Matcher::search_all`]): made once per value, and once per text,
    /// ASCII case aside.
    pub(crate) fn scan_of_all_groups(&mut self, matcher: &Matcher, candidate: &Bytes) -> usize {
        let key = (candidate.as_ptr() as usize, candidate.len());
        if let Some(&(_, at)) = self.all_groups.get(&key) {
            return at;
        }
        let at = self.scan_of_text(matcher, candidate);
        // (the value is kept alive with its result, so its address cannot be reused meanwhile)
        self.all_groups.insert(key, (candidate.clone(), at));
        at
    }

    /// [`TransformCache::scan_of_all_groups`] by the text alone, for a value that keeps its
    /// scan's place itself (a phase value, a column's output: [`super::columns`]); the look by
    /// address, and its entry, were a tenth of a 1 MB JSON body's time.
    pub(crate) fn scan_of_text(&mut self, matcher: &Matcher, candidate: &Bytes) -> usize {
        let text = (case_blind_hash(candidate), candidate.len());
        if let Some((seen, at)) = self.by_text.get(&text) {
            if seen.eq_ignore_ascii_case(candidate) {
                return *at;
            }
        }
        let at = self.sets.len();
        self.scans += 1;
        let walk = match self.scans > WALK_ON_AFTER_SCANS {
            true => {
                if self.last_walks.is_empty() {
                    self.last_walks.resize_with(LAST_WALKS, Default::default);
                }
                let first = candidate.first().map_or(0, |b| b.to_ascii_lowercase());
                Some(usize::from(first) % LAST_WALKS)
            }
            false => None,
        };
        let last = walk.map(|w| &mut self.last_walks[w]);
        let walked = matcher.search_all_after(candidate, &mut self.sets, &mut self.scratch, last);
        let kept = match (walk, walked) {
            (Some(w), Some(true)) => self.last_walks[w].place,
            _ => None,
        };
        let at = match kept {
            // (the last walk's set again: where it is kept, without the hash of its words)
            Some(place) => {
                self.sets.truncate(at);
                place
            }
            None => self.shared_set(at),
        };
        if let (Some(w), Some(_)) = (walk, walked) {
            self.last_walks[w].place = Some(at);
        }
        if self.by_text.len() < TEXTS_MAX {
            if let Entry::Vacant(e) = self.by_text.entry(text) {
                // (kept past the request: not a slice keeping its arguments' block alive)
                e.insert((candidate.unshared(), at));
                self.text_bytes += candidate.len();
            }
        }
        at
    }

    /// Every group's member sets made so far ([`TransformCache::scan_of_all_groups`]).
    pub(crate) fn sets(&self) -> &[u64] {
        &self.sets
    }

    /// Where the set just appended to `sets` at `at` is kept: there, or in a large request at
    /// an earlier equal one (the new one is then dropped): 1 MB of JSON kept 29 MB of sets, a
    /// few hundred of them distinct. (A small request does not repay the hashing.)
    fn shared_set(&mut self, at: usize) -> usize {
        if at < KEEP_CAPACITY {
            return at;
        }
        let set = &self.sets[at..];
        match self.distinct_sets.entry(words_hash(set)) {
            Entry::Occupied(e) if self.sets[*e.get()..][..set.len()] == *set => {
                let first = *e.get();
                self.sets.truncate(at);
                first
            }
            Entry::Occupied(_) => at,
            Entry::Vacant(e) => {
                e.insert(at);
                at
            }
        }
    }
}

/// [`Transaction::apply_transformation`] for the rules of `rules`.
pub(crate) fn apply(
    rules: &crate::RuleSet,
    name: TransformationName,
    f: crate::transformations::TransformFn,
    input: &[u8],
    out: &mut Vec<u8>,
) -> bool {
    match &rules.unicode_map {
        Some(map) if name == TransformationName::UrlDecodeUni => {
            crate::transformations::url_decode_uni_with_map(input, out, map)
        }
        _ => f(input, out),
    }
}

impl Transaction {
    /// One transformation of `input` into `out`; returns libmodsecurity's "changed" flag.
    /// `t:urlDecodeUni` uses the rule set's `SecUnicodeMapFile` table when there is one.
    pub(crate) fn apply_transformation(
        &self,
        name: TransformationName,
        f: crate::transformations::TransformFn,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> bool {
        apply(&self.rules, name, f, input, out)
    }

    /// `input` after one transformation (`None` when it comes out as it went in), and
    /// libmodsecurity's "changed" flag.
    fn transformed_step(
        &mut self,
        name: TransformationName,
        f: crate::transformations::TransformFn,
        input: &[u8],
    ) -> (Option<Bytes>, bool) {
        let mut out = std::mem::take(&mut self.transform_cache.scratch);
        let changed = self.apply_transformation(name, f, input, &mut out);
        let output = (out[..] != input[..]).then(|| Bytes::from(&out[..]));
        self.transform_cache.scratch = out;
        (output, changed)
    }

    /// A long `input` ([`STEP_MEMO_MIN`] bytes or more) after one transformation, once per
    /// transaction ([`TransformCache::steps`]): the output (`input` itself when the step left
    /// it as it was) and libmodsecurity's "changed" flag.
    pub(crate) fn step_output(
        &mut self,
        name: TransformationName,
        f: crate::transformations::TransformFn,
        input: &Bytes,
    ) -> (Bytes, bool) {
        let key = (input.as_ptr() as usize, input.len(), name);
        if let Some((_, output, changed)) = self.transform_cache.steps.get(&key) {
            return (output.clone(), *changed);
        }
        let (output, changed) = self.transformed_step(name, f, input);
        let output = output.unwrap_or_else(|| input.clone());
        let kept = (input.clone(), output.clone(), changed);
        self.transform_cache.steps.insert(key, kept);
        (output, changed)
    }

    /// `value` after the transformation chain `chain`, computed once per transaction.
    #[cfg(test)]
    pub(crate) fn transformed(&mut self, chain: ChainId, value: &Bytes) -> Bytes {
        self.changed_output(chain, value, None)
            .0
            .unwrap_or_else(|| value.clone())
    }

    /// `value` after the transformation chain `chain` (computed once per transaction; `known`:
    /// the phase value whose text `value` is, when it is one, whose bytes and text hash are
    /// then known); `None` when the output is `value` itself, its buffer (most values, for
    /// most chains). A shared buffer's count is an atomic add and subtract: handing `value`
    /// back to a caller that holds it cost two per value and rule, ~5 ns each. With the key of
    /// the output's kept record, when it has one ([`Transaction::kept_output_bytes`],
    /// [`Transaction::kept_output_candidates`]).
    #[inline]
    pub(crate) fn changed_output(
        &mut self,
        chain: ChainId,
        value: &Bytes,
        known: Option<&PhaseValue>,
    ) -> Output {
        // (told here, inlined, for a phase value whose bytes the chain does not act on: most
        // of the ~200 asked a request, each a call of the recursive search below)
        if let (Some(acted_on), Some(p)) = (self.rules.chains.acted_on(chain), known) {
            if !acted_on.intersects(&p.bytes) {
                return (None, NOT_KEPT);
            }
        }
        let mut entry = NOT_LOOKED;
        self.output_of(chain, value, known, &mut entry)
    }

    /// [`Transaction::changed_output`]; `entry`: the entry of `value`'s text among the kept
    /// texts ([`NOT_LOOKED`] until the first step that looks asks for it: the chain's
    /// parents then find it without looking again).
    fn output_of(
        &mut self,
        chain: ChainId,
        value: &Bytes,
        known: Option<&PhaseValue>,
        entry: &mut u32,
    ) -> Output {
        let bytes = known.map(|p| &p.bytes);
        let Some(step) = self.rules.chains.step(chain) else {
            debug_assert_eq!(chain, IDENTITY);
            return (None, NOT_KEPT);
        };
        // a value with none of the bytes the chain acts on comes out as it went in: told by
        // its known bytes, or for a short value by one scan, which costs less than the cache's
        // lookup (and insert) per value and chain
        let unchanged = match (self.rules.chains.acted_on(chain), bytes) {
            (None, _) => false,
            (Some(acted_on), Some(bytes)) => !acted_on.intersects(bytes),
            (Some(acted_on), None) => value.len() <= PLAIN_SCAN_MAX && !acted_on.occurs_in(value),
        };
        if unchanged {
            return (None, NOT_KEPT);
        }
        // a short value (not in a large request, whose values are seldom seen again) is kept
        // by its text's entry, for this and the next transactions; another by its buffer, for
        // this one (an entry of both cost more, an insert and a look, than it saved)
        if *entry == NOT_LOOKED {
            *entry = self.text_entry_of(value, known).unwrap_or(NO_ENTRY);
        }
        let by_text = (*entry != NO_ENTRY).then(|| u64::from(*entry) << 32 | u64::from(chain));
        let key = (value.as_ptr() as usize, value.len(), chain);
        match by_text {
            Some(text) => {
                if let Some(kept) = self.transform_cache.outputs.get(&text) {
                    return (kept.output.clone(), text);
                }
            }
            None => {
                if let Some((_, out)) = self.transform_cache.map.get(&key) {
                    return (out.clone(), NOT_KEPT);
                }
            }
        }
        let (parent, _) = self.output_of(step.parent, value, known, entry);
        let input = parent.as_ref().unwrap_or(value);
        // most values come out of most transformations unchanged (`t:lowercase` on a lowercase
        // cookie): the input's buffer then stands for the output, which saves a copy and lets
        // the next steps and the matcher find it under the same address; decoders are not even
        // run on a value with nothing to decode
        // (the output: the input's buffer, the parent's output, when the step leaves it as it
        // is)
        let answer = if crate::transformations::leaves_unchanged(step.name, input) {
            if by_text.is_none()
                && input.len() <= PLAIN_SCAN_MAX
                && self.transform_cache.map.len() >= KEEP_CAPACITY
            {
                // in a large request, telling it again costs about what a look in the cache
                // does: a JSON order of many short values (`.` in every name, for
                // `t:normalizePath`) kept an entry for most of them, two in three of the
                // cache's entries (and 1 MB of JSON took 200 MB)
                return (parent, NOT_KEPT);
            }
            parent
        } else if input.len() >= STEP_MEMO_MIN {
            let (output, _) = self.step_output(step.name, step.f, input);
            match Bytes::ptr_eq(&output, input) {
                true => parent,
                false => Some(output),
            }
        } else {
            self.transformed_step(step.name, step.f, input).0.or(parent)
        };
        match by_text {
            Some(text) => {
                let cache = &mut self.transform_cache;
                // (an output of the same text as the value, another buffer, is the value)
                let changed = answer.filter(|out| out[..] != value[..]);
                cache.output_bytes += changed.as_ref().map_or(0, |out| out.len());
                let kept = KeptOutput {
                    output: changed.clone(),
                    facts: TextFacts::UNKNOWN,
                };
                cache.outputs.insert(text, kept);
                (changed, text)
            }
            None => {
                self.transform_cache
                    .map
                    .insert(key, (value.clone(), answer.clone()));
                (answer, NOT_KEPT)
            }
        }
    }
}

impl Transaction {
    /// The bytes of `output`, an output a chain changed whose kept record's key is `kept`
    /// ([`NOT_KEPT`]: none): worked out once per kept output; every byte for a long one
    /// without a record ([`LONG_OUTPUT_BYTES`]).
    pub(crate) fn kept_output_bytes(&mut self, output: &Bytes, kept: TextKey) -> ByteSet {
        let record = match kept {
            NOT_KEPT => None,
            key => self.transform_cache.outputs.get_mut(&key),
        };
        match record {
            Some(record) => record.facts.bytes_of(output),
            // (a long output "may hold any byte": the byte tests then let its rules through
            // to the literal scan, which reads it anyway; the set of each of a 64 KB upload's
            // eight outputs was 16% of its request's instructions)
            None if output.len() >= LONG_OUTPUT_BYTES => ByteSet::ALL,
            None => ByteSet::of(output),
        }
    }

    /// [`Transaction::group_candidates`] of `candidate`, an output a chain changed whose kept
    /// record's key is `kept`: the scan's place is kept with it. (Kept outputs are short: the
    /// scan is that of every group's literals, whatever the subset.)
    pub(crate) fn kept_output_candidates(
        &mut self,
        kept: TextKey,
        group: usize,
        scan: Scan,
        candidate: &Bytes,
    ) -> &[u64] {
        let cache = &mut self.transform_cache;
        let place = match kept {
            NOT_KEPT => None,
            key => cache.outputs.get(&key).map(|r| r.facts.scan),
        };
        let at = match place {
            None => return self.group_candidates(group, scan, candidate),
            Some(NOT_SCANNED) => {
                let at = cache.scan_of_text(&self.rules.matcher, candidate);
                if let (Ok(place), Some(record)) = (u32::try_from(at), cache.outputs.get_mut(&kept))
                {
                    record.facts.scan = place;
                }
                at
            }
            Some(at) => at as usize,
        };
        self.rules.matcher.groups[group].words_in(&self.transform_cache.sets[at..])
    }

    /// `test` (the operator's run on `value`, at every stage it has), unless `rule` did not
    /// match the same text in this or an earlier transaction ([`TransformCache::miss_bits`]);
    /// its miss is kept. `pure`: the rule's operator answers by the text alone; `phase_value`:
    /// the value's, when it is one (it keeps its text's entry).
    #[inline(always)]
    pub(crate) fn unless_missed(
        &mut self,
        pure: bool,
        rule: &Rule,
        value: &Bytes,
        phase_value: Option<&PhaseValue>,
        test: impl FnOnce(&mut Self) -> bool,
    ) -> bool {
        let bit = rule.miss_bit.load(std::sync::atomic::Ordering::Relaxed);
        let entry = match pure && bit != crate::rule::NO_MISS_BIT {
            true => self.text_entry_of(value, phase_value),
            false => None,
        };
        let place = entry.map(|e| self.transform_cache.miss_place(e, bit));
        if let Some((word, mask)) = place {
            if self.transform_cache.miss_bits[word] & mask != 0 {
                return false;
            }
        }
        let hit = test(self);
        if let Some((word, mask)) = place.filter(|_| !hit) {
            self.transform_cache.miss_bits[word] |= mask;
        }
        hit
    }

    /// The entry of `value`'s text among the kept texts ([`TransformCache::text_entry`]), kept
    /// with its phase value.
    #[inline(always)]
    fn text_entry_of(&mut self, value: &Bytes, phase_value: Option<&PhaseValue>) -> Option<u32> {
        use std::sync::atomic::Ordering::Relaxed;
        let kept = phase_value.map_or(NOT_LOOKED, |p| p.text_entry.load(Relaxed));
        match kept {
            NOT_LOOKED => {}
            NO_ENTRY => return None,
            e => return Some(e),
        }
        let entry = match self.transform_cache.keeps(value.len()) {
            true => {
                let hash = text_hash(value, phase_value);
                self.transform_cache.text_entry(value, hash)
            }
            false => None,
        };
        if let Some(p) = phase_value {
            p.text_entry.store(entry.unwrap_or(NO_ENTRY), Relaxed);
        }
        entry
    }

    /// Whether `rule` did not match `text` in this or an earlier transaction.
    #[cfg(test)]
    fn missed_before(&mut self, rule: &Rule, text: &Bytes) -> bool {
        let bit = rule.miss_bit.load(std::sync::atomic::Ordering::Relaxed);
        let Some(entry) = self.text_entry_of(text, None) else {
            return false;
        };
        let (word, mask) = self.transform_cache.miss_place(entry, bit);
        bit != crate::rule::NO_MISS_BIT && self.transform_cache.miss_bits[word] & mask != 0
    }

    /// Whether the rule at `slot` of the grouped matcher may match `candidate` (a value of
    /// `variable` after the group's chain): the group's scan that serves the rule on the
    /// variable runs once per value. `source`: where the candidate comes from, when it keeps
    /// its scan.
    #[inline(always)]
    pub(crate) fn may_match(
        &mut self,
        slot: u64,
        variable: VariableName,
        candidate: &Bytes,
        source: super::evaluate::Source,
    ) -> bool {
        let group = (slot >> 32) as usize;
        let member = (slot & 0xffff_ffff) as usize;
        // (a short value is scanned for every group's literals whatever the scan)
        let scan = if candidate.len() < LONG_VALUE {
            0
        } else {
            self.rules.matcher.groups[group].scan_for(variable, member)
        };
        use super::evaluate::Source;
        let words = match source {
            Source::Output(i) => self.output_candidates(variable, i, group, scan),
            Source::PhaseValue(v) => self.phase_value_candidates(v, group, scan, candidate),
            Source::Kept(key) => self.kept_output_candidates(key, group, scan, candidate),
            Source::Other => self.group_candidates(group, scan, candidate),
        };
        crate::matcher::holds(words, member)
    }

    /// The members of `group` that `scan` of it finds may match `candidate` (as words:
    /// [`crate::matcher::holds`]). A short value, or one no subset serves, is scanned for
    /// every group's literals at once, once per value; a long value by a subset's automaton,
    /// once per value, group and subset.
    pub(crate) fn group_candidates(
        &mut self,
        group: usize,
        scan: Scan,
        candidate: &Bytes,
    ) -> &[u64] {
        // a short value is scanned for every group's literals whatever the variable: its
        // result serves every member, and a subset's automaton is built only for long values
        let scan = if candidate.len() < LONG_VALUE {
            0
        } else {
            scan
        };
        if scan == 0 {
            let at = self
                .transform_cache
                .scan_of_all_groups(&self.rules.matcher, candidate);
            return self.rules.matcher.groups[group].words_in(&self.transform_cache.sets[at..]);
        }
        let matcher = &self.rules.matcher;
        // (the value is kept alive with its result, so its address cannot be reused
        // meanwhile; groups number far fewer than 2^24, scans fewer than 2^8)
        let key = (
            candidate.as_ptr() as usize,
            candidate.len(),
            ((group as ChainId) << 8) | scan,
        );
        let cache = &mut self.transform_cache;
        let scratch = &mut cache.scratch;
        cache
            .subsets
            .entry(key)
            .or_insert_with(|| {
                (
                    candidate.clone(),
                    matcher.groups[group].search_subset(scan, candidate, scratch),
                )
            })
            .1
            .as_words()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::ruleset::Entry;
    use crate::{RuleSet, Transaction};
    use proptest::prelude::*;
    use std::sync::atomic::Ordering::Relaxed;
    use std::sync::Arc;

    /// The rule set of `text` and the transformation chain of its first phase-2 rule.
    fn rules_and_chain(text: &str) -> (Arc<RuleSet>, ChainId) {
        let rules = Arc::new(RuleSet::from_text("t.conf", text, None).unwrap());
        let chain = match &rules.phases[2][0] {
            Entry::Rule(rule) => rule.transformation_chain.load(Relaxed),
            Entry::Marker(_) => unreachable!(),
        };
        (rules, chain)
    }

    /// A set's hash skips its zero words but not their places: the same word at another place
    /// is another set, and so is another word at the same place.
    #[test]
    fn sets_hash_by_their_words_and_places() {
        let set = |at: usize, w: u64| {
            let mut s = vec![0u64; 30];
            s[at] = w;
            s
        };
        let hashes: std::collections::HashSet<u64> = (0..30)
            .flat_map(|at| [1u64, 2, 1 << 63].map(|w| words_hash(&set(at, w))))
            .chain([words_hash(&[0; 30])])
            .collect();
        assert_eq!(hashes.len(), 30 * 3 + 1);
        // (and equal sets hash alike)
        assert_eq!(words_hash(&set(7, 5)), words_hash(&set(7, 5)));
    }

    /// A value and its `t:lowercase` output share one scan of the grouped matcher; `@abc` and
    /// `` `abc `` hash alike there but are other texts, each with its own.
    #[test]
    fn scans_are_shared_by_text_ascii_case_aside() {
        let lines = crate::transaction::test_log::lines(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS \"@rx @abc\" \"id:1,phase:2,pass,log\"\n\
             SecRule ARGS \"@rx `abc\" \"id:2,phase:2,pass,log\"\n\
             SecRule ARGS \"@rx xyz\" \"id:3,phase:2,pass,log,t:lowercase\"\n\
             SecRule ARGS \"@rx XYZ\" \"id:4,phase:2,pass,log\"\n\
             SecRule ARGS \"@rx `ABC\" \"id:5,phase:2,pass,log\"",
            crate::transaction::test_log::get("/?a=%40abc&b=%60abc&c=XYZ&d=%60ABC", &[]),
        );
        let hits: Vec<(String, String)> = lines
            .iter()
            .map(|l| {
                let data = l.split("against variable `").nth(1).unwrap_or("");
                (
                    crate::transaction::test_log::field(l, "id"),
                    data.split('\'').next().unwrap_or("").to_string(),
                )
            })
            .collect();
        let want = [
            ("1", "ARGS:a"),
            ("2", "ARGS:b"),
            ("3", "ARGS:c"),
            ("4", "ARGS:c"),
            ("5", "ARGS:d"),
        ];
        assert_eq!(
            hits,
            want.map(|(a, b)| (a.to_string(), b.to_string())),
            "{lines:?}"
        );
    }

    /// In a request of many texts, a scan goes on from the last walk of a text of the same
    /// first byte: a name that shares its start with the one before still has the literals
    /// that begin in the shared bytes and end after them (`.evil` in `items.evil` after
    /// `items.99.name`: fails when the walk goes on from the start state, planted).
    #[test]
    fn names_that_start_alike_are_told_apart() {
        let mut query = String::from("/?");
        for i in 0..100 {
            query.push_str(&format!("items.{i}.name=a&"));
            if i == 57 {
                query.push_str("items.57.evil=a&items.57.ev=a&");
            }
        }
        query.push_str("items.evil=a");
        let lines = crate::transaction::test_log::lines(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS_NAMES \"@rx \\.evil$\" \"id:1,phase:2,pass,log\"\n\
             SecRule ARGS_NAMES \"@rx items\\.5\" \"id:2,phase:2,pass,log,t:lowercase\"\n\
             SecRule ARGS_NAMES \"@rx ^ev\" \"id:3,phase:2,pass,log\"\n\
             SecRule ARGS_NAMES \"@rx items\\.5\" \"id:4,phase:2,pass,log\"",
            crate::transaction::test_log::get(&query, &[]),
        );
        // (each rule's line: its last match, and in `[ref]` a `v` for each value matched)
        let hits: Vec<(String, String, usize)> = lines
            .iter()
            .map(|l| {
                let data = l.split("against variable `").nth(1).unwrap_or("");
                let reference = crate::transaction::test_log::field(l, "ref");
                (
                    crate::transaction::test_log::field(l, "id"),
                    data.split('\'').next().unwrap_or("").to_string(),
                    reference.matches('v').count(),
                )
            })
            .collect();
        // (`items.5.name`, `items.50.name` to `items.59.name`, and the two names after 57's:
        // 13, whose `[ref]` with `t:lowercase` is cut at 200 bytes after 9 of them)
        let want = [
            ("1", "ARGS_NAMES:items.evil", 2),
            ("2", "ARGS_NAMES:items.59.name", 9),
            ("4", "ARGS_NAMES:items.59.name", 13),
        ];
        assert_eq!(
            hits,
            want.map(|(a, b, n)| (a.to_string(), b.to_string(), n)),
            "{lines:?}"
        );
    }

    /// A short value's output through a chain is kept by text for the thread's next
    /// transaction on the rule set: the same buffer comes back for another buffer of the same
    /// text, and a value the chain leaves as it was is its own output.
    #[test]
    fn outputs_of_short_values_outlive_the_transaction() {
        // a rule set of one rule with these transformations, and its chain
        let rule_set = |transformations: &str| {
            let text = format!(
                "SecRuleEngine On\n\
                 SecRule ARGS \"@rx abc\" \"id:1,phase:2,pass,{transformations}\""
            );
            rules_and_chain(&text)
        };
        let (rules, chain) = rule_set("t:urlDecodeUni,t:lowercase");
        let text = |t: &[u8]| Bytes::from(t);
        let mut tx = Transaction::new(Arc::clone(&rules));
        let out = tx.transformed(chain, &text(b"A%42C"));
        assert_eq!(&out[..], b"abc");
        let plain = text(b"a%zz");
        assert!(Bytes::ptr_eq(&tx.transformed(chain, &plain), &plain));
        drop(tx);
        let mut tx = Transaction::new(Arc::clone(&rules));
        let kept = tx.transform_cache.outputs.len();
        assert!(kept >= 2);
        assert!(Bytes::ptr_eq(&tx.transformed(chain, &text(b"A%42C")), &out));
        let plain = text(b"a%zz");
        assert!(Bytes::ptr_eq(&tx.transformed(chain, &plain), &plain));
        assert_eq!(tx.transform_cache.outputs.len(), kept);
        // told by text, the answers cost no entry by address
        assert!(tx.transform_cache.map.is_empty());
        drop(tx);
        // another rule set's chain of the same number is another chain
        let (other, other_chain) = rule_set("t:urlDecodeUni,t:trim");
        assert_eq!(other_chain, chain);
        let mut tx = Transaction::new(other);
        assert_eq!(&tx.transformed(chain, &text(b"A%42C"))[..], b"ABC");
    }

    /// A long output's bytes are not worked out (every byte "may be there"); its rules are
    /// then answered by the literal scan and their operators: a match at its end is found, and
    /// a value without one is not matched.
    #[test]
    fn a_long_outputs_bytes_are_all_bytes() {
        let (rules, _) = rules_and_chain(
            "SecRuleEngine On\n\
             SecRule ARGS \"@rx <scrip\" \"id:1,phase:2,deny,t:urlDecodeUni\"",
        );
        let mut tx = Transaction::new(Arc::clone(&rules));
        let long = Bytes::from("a".repeat(LONG_OUTPUT_BYTES).as_bytes());
        assert_eq!(tx.kept_output_bytes(&long, NOT_KEPT), ByteSet::ALL);
        let short = Bytes::from(&b"ab"[..]);
        assert_eq!(tx.kept_output_bytes(&short, NOT_KEPT), ByteSet::of(b"ab"));
        let status = |value: String| {
            let mut tx = Transaction::new(Arc::clone(&rules));
            tx.process_uri(format!("/?q={value}").as_bytes(), b"GET", b"1.1");
            tx.process_request_headers();
            tx.process_request_body();
            tx.intervention().map(|i| i.status)
        };
        let padding = "%2541".repeat(LONG_OUTPUT_BYTES);
        assert_eq!(status(format!("{padding}%253Cscript")), Some(403));
        assert_eq!(status(format!("{padding}%253Escript")), None);
    }

    /// A long input goes through a transformation once, whichever chains give it that input
    /// (`t:utf8toUnicode` leaves ASCII as it is); another transformation of the same input is
    /// its own (`t:urlDecode` keeps the `%uHHHH` that `t:urlDecodeUni` decodes).
    #[test]
    fn a_long_inputs_step_is_run_once_for_every_chain() {
        let rules = Arc::new(
            RuleSet::from_text(
                "t.conf",
                "SecRule ARGS \"@rx abc\" \"id:1,phase:2,pass,t:urlDecodeUni\"\n\
                 SecRule ARGS \"@rx abc\" \"id:2,phase:2,pass,t:utf8toUnicode,t:urlDecodeUni\"\n\
                 SecRule ARGS \"@rx abc\" \"id:3,phase:2,pass,t:urlDecode\"",
                None,
            )
            .unwrap(),
        );
        let chain = |i: usize| match &rules.phases[2][i] {
            Entry::Rule(rule) => rule.transformation_chain.load(Relaxed),
            Entry::Marker(_) => unreachable!(),
        };
        let value = Bytes::from("%u0041".repeat(STEP_MEMO_MIN / 6 + 1).as_bytes());
        let decoded = "A".repeat(STEP_MEMO_MIN / 6 + 1);
        let mut tx = Transaction::new(Arc::clone(&rules));
        let first = tx.transformed(chain(0), &value);
        assert_eq!(&first[..], decoded.as_bytes());
        assert_eq!(tx.transform_cache.steps.len(), 1);
        // the same output, not decoded again
        assert!(Bytes::ptr_eq(&tx.transformed(chain(1), &value), &first));
        assert_eq!(tx.transform_cache.steps.len(), 1);
        assert_eq!(&tx.transformed(chain(2), &value)[..], &value[..]);
        assert_eq!(tx.transform_cache.steps.len(), 2);
    }

    /// The outputs are kept by their texts' entries, which the next texts have once the kept
    /// texts are forgotten (past [`KEEP_TEXT_BYTES`]): the outputs are forgotten with them.
    #[test]
    fn outputs_are_forgotten_with_their_texts() {
        let (rules, chain) =
            rules_and_chain("SecRule ARGS \"@rx abc\" \"id:1,phase:2,pass,t:lowercase\"");
        let mut tx = Transaction::new(Arc::clone(&rules));
        assert_eq!(
            &tx.transformed(chain, &Bytes::from(&b"ABC"[..]))[..],
            b"abc"
        );
        assert_eq!(
            tx.transform_cache.kept_texts.len(),
            1,
            "ABC has the first entry"
        );
        // texts past the bytes kept
        for i in 0..KEEP_TEXT_BYTES / 200 + 1 {
            tx.transformed(chain, &Bytes::from(format!("{i:0200}").as_bytes()));
        }
        assert!(tx.transform_cache.kept_text_bytes >= KEEP_TEXT_BYTES);
        drop(tx);
        let mut tx = Transaction::new(Arc::clone(&rules));
        assert!(tx.transform_cache.kept_texts.is_empty());
        // XYZ has the first entry now, and its own output
        assert_eq!(
            &tx.transformed(chain, &Bytes::from(&b"XYZ"[..]))[..],
            b"xyz"
        );
        assert_eq!(tx.transform_cache.kept_texts.len(), 1);
    }

    /// A kept output keeps its bytes and the place of its scan: the next transaction's output
    /// of the same text (the same buffer, the same record) finds them, another text has its
    /// own, and the scan's place is forgotten with the scans.
    #[test]
    fn kept_outputs_keep_their_bytes_and_scan() {
        let (rules, chain) =
            rules_and_chain("SecRule ARGS \"@rx abc\" \"id:1,phase:2,pass,t:lowercase\"");
        let set = |text: &[u8]| {
            let mut b = ByteSet::default();
            b.add(text);
            b
        };
        let mut tx = Transaction::new(Arc::clone(&rules));
        let (abc, key) = tx.changed_output(chain, &Bytes::from(&b"ABC"[..]), None);
        let abc = abc.unwrap();
        assert_ne!(key, NOT_KEPT);
        assert_eq!(tx.kept_output_bytes(&abc, key), set(b"abc"));
        let words = tx.kept_output_candidates(key, 0, 0, &abc).to_vec();
        assert!(
            words.iter().any(|&w| w != 0),
            "abc holds the rule's literal"
        );
        let scan = tx.transform_cache.outputs[&key].facts.scan;
        assert_ne!(scan, NOT_SCANNED);
        drop(tx);
        let mut tx = Transaction::new(Arc::clone(&rules));
        let (again, same_key) = tx.changed_output(chain, &Bytes::from(&b"ABC"[..]), None);
        assert!(Bytes::ptr_eq(again.as_ref().unwrap(), &abc));
        assert_eq!(same_key, key);
        let record = &tx.transform_cache.outputs[&key].facts;
        assert_eq!((record.bytes, record.scan), (set(b"abc"), scan));
        assert_eq!(tx.kept_output_candidates(key, 0, 0, &abc), &words[..]);
        // another text: its own record, bytes and scan
        let (xyz, other) = tx.changed_output(chain, &Bytes::from(&b"XYZ"[..]), None);
        let xyz = xyz.unwrap();
        assert_ne!(other, key);
        assert_eq!(tx.kept_output_bytes(&xyz, other), set(b"xyz"));
        assert!(tx
            .kept_output_candidates(other, 0, 0, &xyz)
            .iter()
            .all(|&w| w == 0));
        // without the scans, the places in them are forgotten
        tx.transform_cache.forget_texts();
        assert_eq!(tx.transform_cache.outputs[&key].facts.scan, NOT_SCANNED);
        assert_eq!(tx.kept_output_candidates(key, 0, 0, &abc), &words[..]);
    }

    /// A kept text keeps its bytes and its scan's place for the phase values of it: another
    /// buffer of the text finds them, another text has its own, the scan's place is forgotten
    /// with the scans, and a long text is not kept.
    #[test]
    fn kept_texts_keep_their_bytes_and_scan() {
        let text = "SecRule ARGS \"@rx value\" \"id:1,phase:2,pass\"";
        let rules = Arc::new(RuleSet::from_text("t.conf", text, None).unwrap());
        let mut c = TransformCache::take(&rules);
        let v = Bytes::from(&b"a value"[..]);
        let (e, hash, bytes, scan) = c.kept_text(&v).unwrap();
        assert_eq!(hash, KeyHasher::text_hash(&v, 0));
        assert_eq!(bytes, ByteSet::of(&v));
        assert_eq!(scan, NOT_SCANNED);
        let at = c.scan_of_text(&rules.matcher, &v) as u32;
        c.keep_text_scan(e, at);
        let copy = Bytes::from(&b"a value"[..]);
        assert_eq!(c.kept_text(&copy), Some((e, hash, bytes, at)));
        let (o, _, other_bytes, other_scan) = c.kept_text(&Bytes::from(&b"other"[..])).unwrap();
        assert_ne!(o, e);
        assert_eq!(other_bytes, ByteSet::of(b"other"));
        assert_eq!(other_scan, NOT_SCANNED);
        c.forget_texts();
        assert_eq!(c.kept_text(&v), Some((e, hash, bytes, NOT_SCANNED)));
        let long = Bytes::from(vec![b'a'; KEPT_OUTPUT_MAX + 1]);
        assert_eq!(c.kept_text(&long), None);
        // a request's arena slice is kept as a copy of its own (kept texts outlive the
        // request, and would keep its block alive)
        let mut arena = crate::shared_bytes::Arena::new();
        let slice = arena.copy(b"an argument");
        assert!(!slice.is_own());
        let (k, ..) = c.kept_text(&slice).unwrap();
        let kept = &c.kept_texts[k as usize].text;
        assert!(kept.is_own() && kept[..] == slice[..]);
        let at = c.scan_of_text(&rules.matcher, &slice);
        let key = (case_blind_hash(&slice), slice.len());
        assert!(c.by_text[&key].0.is_own());
        assert_eq!(
            c.scan_of_text(&rules.matcher, &Bytes::from(&b"an argument"[..])),
            at
        );
    }

    /// A rule whose pure operator did not match a short text passes by the same text in the
    /// thread's next transactions on the rule set: the miss is kept per rule (another rule of
    /// the same pattern still matches the text after its own chain) and only when no stage
    /// matched; the verdicts are those of the first transaction.
    #[test]
    fn misses_outlive_the_transaction_per_rule() {
        let rules = Arc::new(
            RuleSet::from_text(
                "t.conf",
                "SecRuleEngine DetectionOnly\n\
                 SecRule ARGS \"@rx ^[a-z]{3}$\" \"id:1,phase:2,pass,log\"\n\
                 SecRule ARGS \"@rx ^[a-z]{3}$\" \"id:2,phase:2,pass,log,t:lowercase\"\n\
                 SecRule ARGS \"@rx ^[0-9]{3}$\" \"id:3,phase:2,pass,log,multiMatch,t:urlDecodeUni\"",
                None,
            )
            .unwrap(),
        );
        let rule = |i: usize| match &rules.phases[2][i] {
            Entry::Rule(rule) => Arc::clone(rule),
            Entry::Marker(_) => unreachable!(),
        };
        let (upper, digits) = (Bytes::from(&b"BAR"[..]), Bytes::from(&b"%31%32%33"[..]));
        let run = || {
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = Arc::clone(&log);
            let mut tx = Transaction::new(Arc::clone(&rules));
            tx.on_log(move |l| sink.lock().unwrap().push(l.to_string()));
            tx.process_connection("127.0.0.1", 12345, "127.0.0.1", 80);
            crate::transaction::test_log::get("/?a=BAR&b=%2531%2532%2533", &[])(&mut tx);
            let mut missed = |i: usize, text: &Bytes| {
                let rule = rule(i);
                tx.missed_before(&rule, text)
            };
            let kept = [
                missed(0, &upper),
                missed(1, &upper),
                missed(2, &upper),
                missed(2, &digits),
            ];
            let ids: Vec<String> = log
                .lock()
                .unwrap()
                .iter()
                .map(|l| crate::transaction::test_log::field(l, "id"))
                .collect();
            (ids, kept)
        };
        let first = run();
        assert_eq!(first.0, ["2", "3"]);
        // id 1 missed BAR, id 2 matched it (lowercased), id 3 missed it and matched the
        // digits' decoded stage
        assert_eq!(first.1, [true, false, true, false]);
        assert_eq!(run(), first);
    }

    /// Transformations with a known set of bytes they act on, and some without one.
    pub(in crate::transaction) const NAMES: &[&str] = &[
        "urlDecodeUni",
        "lowercase",
        "htmlEntityDecode",
        "jsDecode",
        "removeWhitespace",
        "compressWhitespace",
        "cmdLine",
        "normalizePath",
        "removeNulls",
        "trim",
        "base64Decode",
        "hexEncode",
    ];

    proptest! {
        /// Whatever the value (short ones take the "no byte the chain acts on" path) and the
        /// chain, the cache gives what the transformations give one after the other.
        #[test]
        fn cached_chain_equals_its_steps(
            chain in proptest::collection::vec(0..NAMES.len(), 1..4),
            value in proptest::collection::vec(proptest::sample::select(
                &b"aZ09 _-=\t%+&;/.\\\"'\x00\xc3\xa9"[..]), 0..80),
        ) {
            let t: Vec<String> = chain.iter().map(|&i| format!("t:{}", NAMES[i])).collect();
            let text = format!("SecRule ARGS \"@rx x\" \"id:1,phase:2,pass,{}\"", t.join(","));
            let rules = Arc::new(RuleSet::from_text("t.conf", &text, None).unwrap());
            let Entry::Rule(rule) = &rules.phases[2][0] else { unreachable!() };
            let id = rule.transformation_chain.load(std::sync::atomic::Ordering::Relaxed);
            let mut expected = value.clone();
            for (_, f) in &rule.transformations {
                let mut out = Vec::new();
                f(&expected, &mut out);
                expected = out;
            }
            let mut tx = Transaction::new(Arc::clone(&rules));
            let input = Bytes::from(&value[..]);
            prop_assert_eq!(&tx.transformed(id, &input)[..], &expected[..]);
            // and again, from the cache
            prop_assert_eq!(&tx.transformed(id, &input)[..], &expected[..]);
        }
    }

    /// Past [`KEEP_CAPACITY`] entries by buffer (made once the kept texts are full), a short
    /// value a step leaves as it is gets no entry of its own, and comes out the same as before.
    #[test]
    fn a_large_cache_keeps_no_short_unchanged_values() {
        let (rules, chain) = rules_and_chain(
            "SecRule ARGS \"@rx x\" \"id:1,phase:2,pass,t:normalizePath,t:lowercase\"",
        );
        let mut tx = Transaction::new(Arc::clone(&rules));
        // values `t:normalizePath` changes: kept by text up to the kept texts' bound, then each
        // with an entry by buffer per step
        let changed: Vec<Bytes> = (0..KEEP_KEPT_TEXTS + KEEP_CAPACITY)
            .map(|i| Bytes::from(format!("a/./B{i}").as_bytes()))
            .collect();
        for (i, v) in changed.iter().enumerate() {
            assert_eq!(&tx.transformed(chain, v)[..], format!("a/b{i}").as_bytes());
        }
        assert_eq!(tx.transform_cache.kept_texts.len(), KEEP_KEPT_TEXTS);
        let full = tx.transform_cache.map.len();
        assert!(full >= KEEP_CAPACITY);
        // a `.` it acts on, but nothing to change: the same buffer, no new entry
        let plain = Bytes::from(&b"v1.2"[..]);
        for _ in 0..2 {
            let out = tx.transformed(chain, &plain);
            assert!(Bytes::ptr_eq(&out, &plain));
        }
        assert_eq!(tx.transform_cache.map.len(), full);
        // one it changes still gets its entry
        let upper = Bytes::from(&b"V1.2"[..]);
        assert_eq!(&tx.transformed(chain, &upper)[..], b"v1.2");
        assert!(tx.transform_cache.map.len() > full);
    }

    proptest::proptest! {
        /// Past [`WALK_ON_AFTER_SCANS`] scans, where a text's scan is kept (the last walk's
        /// place when its set is the same, a long text's between them included) holds what a
        /// plain search of every group's literals finds in it.
        #[test]
        fn a_scan_from_the_last_walk_is_kept_as_the_search_finds_it(
            texts in proptest::collection::vec(
                (0..3usize, "[abAB.]{0,8}", proptest::bool::weighted(0.15)),
                1..24,
            ),
        ) {
            let rules = crate::RuleSet::from_text(
                "t.conf",
                "SecRule ARGS \"@rx a\\.b\" \"id:1,phase:2,pass\"\n\
                 SecRule ARGS \"@rx (?:ab|ba)\" \"id:2,phase:2,pass,t:lowercase\"\n\
                 SecRule ARGS \"@rx bbb\" \"id:3,phase:2,pass,t:none,t:urlDecode\"\n",
                None,
            )
            .unwrap();
            let mut c = TransformCache::default();
            for i in 0..=WALK_ON_AFTER_SCANS {
                c.scan_of_text(&rules.matcher, &Bytes::from(format!("~{i}~").as_bytes()));
            }
            let starts = ["", "a.", "ab.ab.b"];
            for (start, rest, long) in &texts {
                let mut text = format!("{}{rest}", starts[*start]);
                if *long {
                    text = text.repeat(300 / text.len().max(1) + 1);
                }
                let at = c.scan_of_text(&rules.matcher, &Bytes::from(text.as_bytes()));
                let mut plain = Vec::new();
                rules.matcher.search_all(text.as_bytes(), &mut plain, &mut Vec::new());
                proptest::prop_assert_eq!(&c.sets()[at..at + plain.len()], &plain[..], "{:?}", text);
            }
        }
    }

    /// Past [`KEEP_CAPACITY`] words, an appended set equal to one kept earlier is dropped for
    /// it; another is kept where it is.
    #[test]
    fn a_large_cache_keeps_each_set_once() {
        let mut c = TransformCache::default();
        let append = |c: &mut TransformCache, set: [u64; 3]| {
            let at = c.sets.len();
            c.sets.extend(set);
            let kept = c.shared_set(at);
            assert_eq!(c.sets[kept..kept + 3], set);
            kept
        };
        // small: every set kept
        let first = append(&mut c, [1, 0, 0]);
        assert_ne!(append(&mut c, [1, 0, 0]), first);
        while c.sets.len() < KEEP_CAPACITY {
            append(&mut c, [0, 0, 0]);
        }
        let a = append(&mut c, [0, 2, 0]);
        let b = append(&mut c, [0, 0, 3]);
        let len = c.sets.len();
        assert_eq!(append(&mut c, [0, 2, 0]), a);
        assert_eq!(append(&mut c, [0, 0, 3]), b);
        assert_eq!(c.sets.len(), len, "the copies are dropped");
        assert_eq!(append(&mut c, [4, 0, 0]), len);
    }

    /// Past [`TEXTS_MAX`] texts a scan is made and given, but not found by its text again;
    /// texts found before still are.
    #[test]
    fn a_large_request_keeps_no_more_texts_than_the_bound() {
        let rules = RuleSet::from_text(
            "t.conf",
            "SecRule ARGS \"@rx value\" \"id:1,phase:2,pass\"",
            None,
        )
        .unwrap();
        let mut c = TransformCache::default();
        let first = c.scan_of_text(&rules.matcher, &Bytes::from(&b"a value"[..]));
        let text = |i: usize| Bytes::from(format!("text {i}").as_bytes());
        let mut i = 0;
        while c.by_text.len() < TEXTS_MAX {
            c.scan_of_text(&rules.matcher, &text(i));
            i += 1;
        }
        for i in i..i + 10 {
            c.scan_of_text(&rules.matcher, &text(i));
        }
        assert_eq!(c.by_text.len(), TEXTS_MAX);
        // found by its text, under another buffer
        assert_eq!(
            c.scan_of_text(&rules.matcher, &Bytes::from(&b"A VALUE"[..])),
            first
        );
        // a text past the bound: scanned, with the set its text gives
        let sets = c.sets.len();
        let late = c.scan_of_text(&rules.matcher, &Bytes::from(&b"late value"[..]));
        assert!(
            c.sets.len() > sets || late < sets,
            "a scan was made or shared"
        );
        assert_eq!(c.by_text.len(), TEXTS_MAX);
        let other = c.scan_of_text(&rules.matcher, &Bytes::from(&b"late text"[..]));
        let words = |at: usize| -> Vec<u64> {
            let g = &rules.matcher.groups;
            g.iter()
                .flat_map(|g| g.words_in(&c.sets[at..]).to_vec())
                .collect()
        };
        assert!(
            words(first).iter().any(|&w| w != 0),
            "the rule's literal is found"
        );
        assert_eq!(
            words(late),
            words(first),
            "both texts hold the rule's literal"
        );
        assert!(
            words(other).iter().all(|&w| w == 0),
            "and another text has none"
        );
    }

    /// A recycled cache comes back empty but for its scans by text, which the thread's next
    /// transaction on the same rule set finds; on another rule set, or past its bounds, it
    /// forgets them.
    #[test]
    fn a_recycled_cache_keeps_its_scans_for_the_same_rule_set() {
        let text = "SecRuleEngine On\n\
                    SecRule ARGS \"@rx value\" \"id:1,phase:2,pass\"\n\
                    SecRule ARGS \"@rx other\" \"id:2,phase:2,pass\"";
        let rules = || Arc::new(RuleSet::from_text("t.conf", text, None).unwrap());
        let (one, other) = (rules(), rules());
        let mut c = TransformCache::take(&one);
        let v = Bytes::from(&b"value"[..]);
        c.map
            .insert((v.as_ptr() as usize, v.len(), 1), (v.clone(), None));
        c.subsets.insert(
            (v.as_ptr() as usize, v.len(), 1),
            (v.clone(), Candidates::none(3)),
        );
        c.all_groups
            .insert((v.as_ptr() as usize, v.len()), (v.clone(), 0));
        let at = c.scan_of_text(&one.matcher, &v);
        assert!(c.sets.len() > at, "the scan has a set");
        c.recycle();
        let mut again = TransformCache::take(&one);
        assert!(again.map.is_empty() && again.subsets.is_empty() && again.all_groups.is_empty());
        // it is the same cache, with its room
        assert!(again.map.capacity() > 0);
        // and its scan of the text, under another buffer of it
        let sets = again.sets.len();
        let copy = Bytes::from(&b"VALUE"[..]);
        assert_eq!(again.scan_of_text(&one.matcher, &copy), at);
        assert_eq!(again.sets.len(), sets, "no new scan");
        again.recycle();
        // another rule set's transaction does not find them
        let elsewhere = TransformCache::take(&other);
        assert!(elsewhere.by_text.is_empty() && elsewhere.sets.is_empty());
        // nor, past the bounds, does the next one
        let mut big = elsewhere;
        big.scan_of_text(
            &other.matcher,
            &Bytes::from(vec![b'a'; KEEP_TEXT_BYTES + 1]),
        );
        assert_eq!(big.by_text.len(), 1);
        big.recycle();
        assert!(TransformCache::take(&other).by_text.is_empty());
        // the spare is taken: the next one is new
        assert_eq!(TransformCache::take(&other).map.capacity(), 0);
    }
}
