//! The values of a whole fixed variable after each transformation chain, for the phase
//! running, kept by position: a chain's column says, for each of the variable's values (in
//! the order [`super::candidates`]' phase values have them), which output it comes to.
//!
//! The transformation cache ([`super::transform_cache`]) knows a value by its address, and a
//! chain's test over all of a variable looked each value up there once per chain (and its
//! grouped matcher's scan once more), in tables of every value's entries: on a 1 MB JSON body,
//! 45,000 values about 40 times each, mostly missing the processor's cache. A column is an
//! array read in order; a chain's column is made from its parent's, one step over each value,
//! and a value the step leaves as it is keeps its parent's output (no copy, no entry). Each
//! output keeps its bytes, so the next step (and the byte tests of [`super::candidates`]) know
//! without a scan whether it acts on it, and the place of its scan of every group's literals.
//! Values of one text ([`super::candidates::PhaseValue::same_as`]) come to their first
//! value's outputs in every column: each text is transformed and scanned once.

use super::candidates::PhaseValue;
use super::transform_cache::TransformCache;
use super::Transaction;
use crate::chains::{ChainId, IDENTITY};
use crate::collection::Bytes;
use crate::matcher::{Candidates, Matcher, Scan, LONG_VALUE};
use crate::regex::ByteSet;
use crate::word_hash::KeyHasher;
use seclang_parser::names::VariableName as V;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

type Map<K, T> = HashMap<K, T, BuildHasherDefault<KeyHasher>>;

/// The columns of the phase running, by variable. An ended transaction's, emptied, serve the
/// thread's next one (their tables and arrays keep their room).
pub(crate) type PhaseColumns = Map<V, Columns>;

/// A column: where it starts in its variable's [`Columns::arena`].
pub(crate) type Column = u32;

/// One variable's outputs and columns.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    /// How many values the variable has (the length of each column).
    values: usize,
    /// The variable's values first (output `i` is value `i`), then each output a step
    /// changed.
    outputs: Vec<Output>,
    /// Every chain's column, end to end.
    arena: Vec<u32>,
    /// Where each chain's column starts in `arena`.
    chains: Map<ChainId, Column>,
    /// Made in an earlier phase, and not yet compared with this phase's values: the request's
    /// headers, cookies and query are the same buffers in phase 2 as in phase 1, and so are
    /// their columns.
    earlier: bool,
    scratch: Vec<u8>,
    /// The identity's column (each value's first value of its text), which every chain that
    /// acts on none of the values' bytes shares: a copy of it for each such chain was most of
    /// a 1 MB JSON body's columns (6 MB).
    identity: Column,
    /// The bytes of all the values (whether a chain acts on none of them is one look).
    union: ByteSet,
    /// The bytes of each column's outputs, gathered as it is made: the byte tests of every
    /// rule on the variable asked for them, and a 1 MB JSON body's 45,000 outputs were read
    /// from memory again for each.
    bytes: Map<Column, ByteSet>,
    /// The columns asked for candidates, each with its short outputs' distinct scans (ranges
    /// of [`Columns::scan_places`]) and its long outputs (of [`Columns::long_outputs`]): what
    /// every group's candidates of the column are made of. (A form's 13,500 names come to a
    /// handful of scans, and each group's candidates of the column went through all of them.)
    scanned: Vec<(Column, [u32; 2], [u32; 2])>,
    /// The scans' places in the transformation cache's sets.
    scan_places: Vec<usize>,
    /// A bit per place of the cache's sets, set while a column's distinct places are gathered
    /// and cleared after: a 1 MB JSON body's 46,000 names come to a few places, in turn
    /// (`id`, `sku`, `name`...), and sorting them to find the distinct ones was 2.5% of its
    /// time.
    seen_places: Vec<u64>,
    long_outputs: Vec<Bytes>,
    /// For each value, the last output a step made of it ([`NO_OUTPUT`] before one; the
    /// others are linked by [`Output::before`]): the chains of a variable often come to the
    /// same text by other steps (`t:lowercase` and `t:cmdLine` of `Product 123`), which then
    /// shares that output, its bytes and its scan instead of a buffer of its own (a 1 MB JSON
    /// body's steps made 131,000 outputs).
    latest: Vec<u32>,
}

/// [`Columns::latest`] of a value no step has changed yet.
const NO_OUTPUT: u32 = u32::MAX;

#[derive(Debug)]
struct Output {
    value: Bytes,
    bytes: ByteSet,
    /// Where its scan of every group's literals is in the transformation cache's sets
    /// ([`NOT_SCANNED`] until it is made).
    scan: u32,
    /// The output a step made of the same value before this one ([`NO_OUTPUT`]: none).
    before: u32,
}

/// How [`Transaction::mark_raw_misses`] tells a `multiMatch` rule's raw stage cannot match a
/// text: by its probe in the grouped matcher (the slot,
/// [`crate::rule::Rule::raw_probe_slot`]), or by its operator's own quick look
/// ([`crate::operators::Operator::quick_rule_out`]).
#[derive(Clone, Copy)]
pub(crate) enum RawTest {
    Probe(u64),
    Quick(fn(&[u8], &crate::regex::ByteSet) -> bool),
}

/// [`Output::scan`] before the output is scanned.
const NOT_SCANNED: u32 = u32::MAX;

impl Output {
    fn new(value: Bytes, bytes: ByteSet) -> Output {
        Output {
            value,
            bytes,
            scan: NOT_SCANNED,
            before: NO_OUTPUT,
        }
    }
}

impl Columns {
    /// Whether the columns are this phase's, of a variable of `n` values: the identity's
    /// outputs are then the values' own (output `i` is value `i`).
    fn hold(&self, n: usize) -> bool {
        !self.earlier && !self.outputs.is_empty() && self.values == n
    }

    fn clear(&mut self) {
        self.values = 0;
        self.outputs.clear();
        self.arena.clear();
        self.chains.clear();
        self.earlier = false;
        self.identity = 0;
        self.union = ByteSet::EMPTY;
        self.bytes.clear();
        self.scanned.clear();
        self.scan_places.clear();
        debug_assert!(self.seen_places.iter().all(|&w| w == 0));
        self.long_outputs.clear();
        self.latest.clear();
    }

    /// The distinct scans and the long outputs of `column` ([`Columns::scanned`]), made once.
    fn scans(&mut self, column: Column, cache: &mut TransformCache, matcher: &Matcher) -> usize {
        if let Some(i) = self.scanned.iter().position(|s| s.0 == column) {
            return i;
        }
        let (places_from, long_from) = (self.scan_places.len(), self.long_outputs.len());
        let start = column as usize;
        for &o in &self.arena[start..start + self.values] {
            let output = &mut self.outputs[o as usize];
            if output.value.len() >= LONG_VALUE {
                self.long_outputs.push(output.value.clone());
                continue;
            }
            let at = output_scan(cache, matcher, output);
            // (equal texts, and equal sets in a large request, share a scan's place)
            let (word, bit) = (at / 64, 1u64 << (at % 64));
            if word >= self.seen_places.len() {
                self.seen_places.resize(word + 1, 0);
            }
            if self.seen_places[word] & bit == 0 {
                self.seen_places[word] |= bit;
                self.scan_places.push(at);
            }
        }
        for &at in &self.scan_places[places_from..] {
            self.seen_places[at / 64] = 0;
        }
        let range = |from: usize, to: usize| [from as u32, to as u32];
        self.scanned.push((
            column,
            range(places_from, self.scan_places.len()),
            range(long_from, self.long_outputs.len()),
        ));
        self.scanned.len() - 1
    }

    fn column(&self, start: Column) -> &[u32] {
        &self.arena[start as usize..start as usize + self.values]
    }
}

/// Marks the columns as made in an earlier phase ([`Columns::earlier`]).
pub(crate) fn next_phase(columns: &mut PhaseColumns) {
    columns.values_mut().for_each(|c| c.earlier = true);
}

/// Empties the columns of an ended transaction, keeping room for about `room` values each.
pub(crate) fn recycle(columns: &mut PhaseColumns, room: usize) {
    use super::spare::Empty;
    for c in columns.values_mut() {
        c.clear();
        // (the values' own and the ones steps changed)
        c.outputs.empty(room * 4);
        c.arena.empty(room * 32);
        c.scratch.empty(room);
        c.scan_places.empty(room);
        c.seen_places.empty(room / 64);
        c.latest.empty(room);
    }
}

impl Transaction {
    /// The column of `chain` for `variable`, whose values this phase are `values`.
    pub(crate) fn column(&mut self, variable: V, values: &[PhaseValue], chain: ChainId) -> Column {
        let columns = self.phase_columns.entry(variable).or_default();
        if columns.earlier {
            columns.earlier = false;
            let same = columns.values == values.len()
                && values
                    .iter()
                    .zip(&columns.outputs)
                    .all(|(v, o)| Bytes::ptr_eq(&v.value.value, &o.value));
            if !same {
                columns.clear();
            }
        }
        if let Some(&start) = columns.chains.get(&chain) {
            return start;
        }
        if columns.outputs.is_empty() {
            columns.values = values.len();
            columns.outputs.extend(
                values
                    .iter()
                    .map(|v| Output::new(v.value.value.clone(), v.bytes)),
            );
            columns.union = values.iter().fold(ByteSet::EMPTY, |u, v| u.union(v.bytes));
            columns.identity = columns.arena.len() as Column;
            columns.arena.extend(values.iter().map(|v| v.same_as));
            columns.bytes.insert(columns.identity, columns.union);
            columns.latest.clear();
            columns.latest.resize(values.len(), NO_OUTPUT);
        }
        // a value with none of the bytes the whole chain acts on is its own output (most
        // values, for most chains): when every value is, the chain's column is the identity's
        let whole = self.rules.chains.acted_on(chain).copied();
        let identity = columns.identity as usize;
        let start = match self.rules.chains.step(chain) {
            None => {
                debug_assert_eq!(chain, IDENTITY);
                identity
            }
            Some(_) if whole.is_some_and(|a| !a.intersects(&columns.union)) => identity,
            Some(step) => {
                let parent = self.column(variable, values, step.parent) as usize;
                let rules = &self.rules;
                let columns = self
                    .phase_columns
                    .get_mut(&variable)
                    .expect("the parent's column made the variable's entry");
                // a step that acts on none of the bytes of its parent's outputs leaves each of
                // them as it is: its column is the parent's (a 1 MB JSON body's names and
                // values hold no `%`, `&` or `\`: its decoders' columns were each a walk of
                // every value to find it so)
                let parent_bytes = columns.bytes.get(&(parent as Column));
                if crate::transformations::known_sets(step.name)
                    .0
                    .zip(parent_bytes)
                    .is_some_and(|(acted_on, bytes)| !acted_on.intersects(bytes))
                {
                    columns.chains.insert(chain, parent as Column);
                    return parent as Column;
                }
                let mut out = std::mem::take(&mut columns.scratch);
                let start = columns.arena.len();
                columns.arena.reserve(values.len());
                // (a repeated text's output is its first value's, whose bytes are in)
                let mut union = ByteSet::EMPTY;
                // (read off the identity's column and the values' own outputs, not the phase
                // values: fewer bytes a value to bring in from memory)
                for (k, i) in (parent..parent + values.len()).enumerate() {
                    let first = columns.arena[identity + k] as usize;
                    if first != k {
                        // its text's first value's output (made: it comes before)
                        columns.arena.push(columns.arena[start + first]);
                        continue;
                    }
                    if whole.is_some_and(|a| !a.intersects(&columns.outputs[k].bytes)) {
                        union = union.union(columns.outputs[k].bytes);
                        columns.arena.push(first as u32);
                        continue;
                    }
                    let from = columns.arena[i];
                    let input = &columns.outputs[from as usize];
                    let unchanged =
                        crate::transformations::unchanged_with_bytes(
                            step.name,
                            &input.bytes,
                            &input.value,
                        ) || crate::transformations::leaves_unchanged(step.name, &input.value)
                            || {
                                out.clear();
                                super::transform_cache::apply(
                                    rules,
                                    step.name,
                                    step.f,
                                    &input.value,
                                    &mut out,
                                );
                                out[..] == input.value[..]
                            };
                    if unchanged {
                        union = union.union(input.bytes);
                        columns.arena.push(from);
                        continue;
                    }
                    let mut made = columns.latest[k];
                    while let Some(earlier) = columns.outputs.get(made as usize) {
                        if earlier.value[..] == out[..] {
                            break;
                        }
                        made = earlier.before;
                    }
                    if let Some(same) = columns.outputs.get(made as usize) {
                        union = union.union(same.bytes);
                        columns.arena.push(made);
                        continue;
                    }
                    let bytes = ByteSet::of(&out);
                    union = union.union(bytes);
                    let mut output = Output::new(Bytes::from(&out[..]), bytes);
                    output.before = columns.latest[k];
                    columns.outputs.push(output);
                    let made = (columns.outputs.len() - 1) as u32;
                    columns.arena.push(made);
                    columns.latest[k] = made;
                }
                columns.scratch = out;
                columns.bytes.insert(start as Column, union);
                start
            }
        } as Column;
        let columns = self.phase_columns.entry(variable).or_default();
        columns.chains.insert(chain, start);
        start
    }

    /// The bytes of the outputs of `column` (of `variable`).
    pub(crate) fn column_bytes(&self, variable: V, column: Column) -> ByteSet {
        let Some(columns) = self.phase_columns.get(&variable) else {
            return ByteSet::default();
        };
        match columns.bytes.get(&column) {
            Some(&bytes) => bytes,
            // (each column's are gathered as it is made: read off its outputs otherwise)
            None => columns
                .column(column)
                .iter()
                .fold(ByteSet::default(), |b, &i| {
                    b.union(columns.outputs[i as usize].bytes)
                }),
        }
    }

    /// Value `i` of `variable` after `column`'s chain, and its output's number.
    #[cfg(test)]
    pub(crate) fn column_output(&self, variable: V, column: Column, i: usize) -> (Bytes, u32) {
        let columns = &self.phase_columns[&variable];
        let output = columns.arena[column as usize + i];
        (columns.outputs[output as usize].value.clone(), output)
    }

    /// [`Transaction::column_output`] of `value` (value `i`), `None` when the output is
    /// `value`'s own buffer ([`Transaction::changed_output`]).
    pub(crate) fn changed_column_output(
        &self,
        variable: V,
        column: Column,
        i: usize,
        value: &Bytes,
    ) -> (Option<Bytes>, u32) {
        let columns = &self.phase_columns[&variable];
        let output = columns.arena[column as usize + i];
        let out = &columns.outputs[output as usize].value;
        ((!Bytes::ptr_eq(out, value)).then(|| out.clone()), output)
    }

    /// Marks in `no_match` (a bit per value of `values`, set at the first value of each text:
    /// [`PhaseValue::same_as`]) the texts whose output in `column` (of `variable`) holds none
    /// of the literals of the grouped matcher's member at `slot`: a large variable's test of
    /// the rule then passes by most values at a bit's cost (the value's output, its scan and
    /// the exclusions were looked up for each: 14 M instructions of a 1 MB form's 205 M).
    /// Whether some text is left unmarked: when none is, the rule is done with the variable
    /// without a look at its values. (The texts' first values are read off the identity's
    /// column, 4 bytes a value, not the phase values' ~100: a 1 MB form's 13,500 arguments
    /// were read from memory twice for each of the 14 rules of the matcher on them.)
    /// (Marking the texts without the bytes a rule's matches need, too, was no faster: CRS's
    /// rules outside the matcher on every argument have no such bytes, or common ones.)
    pub(crate) fn mark_non_candidates(
        &mut self,
        variable: V,
        column: Column,
        values: &[PhaseValue],
        slot: u64,
        no_match: &mut [u64],
    ) -> bool {
        let (group, member) = ((slot >> 32) as usize, (slot & 0xffff_ffff) as usize);
        let matcher = &self.rules.matcher;
        let Some(columns) = self.phase_columns.get_mut(&variable) else {
            return true;
        };
        let n = values.len();
        let firsts = &columns.arena[columns.identity as usize..][..n];
        let arena = &columns.arena[column as usize..][..n];
        let mut left = false;
        for (i, (&first, &o)) in firsts.iter().zip(arena).enumerate() {
            if first as usize != i {
                continue;
            }
            let output = &mut columns.outputs[o as usize];
            if output.value.len() >= LONG_VALUE {
                left = true;
                continue;
            }
            let at = output_scan(&mut self.transform_cache, matcher, output);
            let words = matcher.groups[group].words_in(&self.transform_cache.sets()[at..]);
            if crate::matcher::holds(words, member) {
                left = true;
            } else {
                no_match[i / 64] |= 1 << (i % 64);
            }
        }
        left
    }

    /// Sets in `live` (a bit per value of `values`) the values whose text's first value is
    /// not marked in `no_match`, read off the identity's column (4 bytes a value): `false`,
    /// and `live` left as it is, when the variable has no column of this phase's values. A
    /// rule's look at a large variable's values then reads only those (a 1 MB JSON body's
    /// 46,000 phase values are ~5 MB, read again by each rule on them whose marks leave a
    /// few).
    pub(crate) fn live_values(
        &self,
        variable: V,
        values: &[PhaseValue],
        no_match: &[u64],
        live: &mut Vec<u64>,
    ) -> bool {
        let Some(columns) = self.phase_columns.get(&variable) else {
            return false;
        };
        let n = values.len();
        if !columns.hold(n) {
            return false;
        }
        live.clear();
        live.resize(n.div_ceil(64), 0);
        let firsts = &columns.arena[columns.identity as usize..][..n];
        for (i, &first) in firsts.iter().enumerate() {
            let first = first as usize;
            if no_match[first / 64] & (1 << (first % 64)) == 0 {
                live[i / 64] |= 1 << (i % 64);
            }
        }
        true
    }

    /// Whether a `multiMatch` rule whose raw stage its probe tells ([`RawTest::Probe`]) can
    /// match no value of `variable`, told for all of them at once by the identity's column: the
    /// values' bytes together hold none a step of `chain` raises its "changed" flag on (each
    /// value is then its only stage), and none of the bytes one of which each match holds, or
    /// no distinct scan of the column holds the probe's literals (and no value is too long for
    /// a scan). `false` when it cannot be told so: [`Transaction::mark_raw_misses`] then looks
    /// at each value. (A 1 MB JSON body's 47,000 names and 19,000 distinct values were each
    /// looked at by CRS's 934130, `t:urlDecodeUni,t:jsDecode`, whose steps none of them
    /// flags: 2% of the body's instructions.)
    pub(crate) fn no_value_can_match(
        &mut self,
        variable: V,
        values: &[PhaseValue],
        (test, required): (RawTest, Option<&crate::regex::RequiredBytes>),
        chain: ChainId,
    ) -> bool {
        let RawTest::Probe(slot) = test else {
            return false;
        };
        self.column(variable, values, IDENTITY);
        let rules = &self.rules;
        let Some(columns) = self.phase_columns.get_mut(&variable) else {
            return false;
        };
        if !columns.hold(values.len()) || !rules.chains.quiet_for_all(chain, &columns.union) {
            return false;
        }
        if required.is_some_and(|r| !r.meets(&columns.union)) {
            return true;
        }
        let i = columns.scans(columns.identity, &mut self.transform_cache, &rules.matcher);
        let (_, [from, to], [long_from, long_to]) = columns.scanned[i];
        if long_from != long_to {
            return false;
        }
        let (group, member) = ((slot >> 32) as usize, (slot & 0xffff_ffff) as usize);
        let group = &rules.matcher.groups[group];
        let sets = self.transform_cache.sets();
        !columns.scan_places[from as usize..to as usize]
            .iter()
            .any(|&at| crate::matcher::holds(group.words_in(&sets[at..]), member))
    }

    /// Marks in `misses` (a bit per value of `values`, at the first value of each text, as
    /// in [`Transaction::mark_non_candidates`]) the texts whose value as it is a `multiMatch`
    /// rule cannot match: it holds none of the bytes one of which each of its matches holds
    /// (the pair's second; tried first, it costs less), or `test` says so ([`RawTest`]: none
    /// of the literals of the rule's probe, by the scan of every group's literals over the
    /// identity's column; or the operator's quick look). Of those, the ones that come out of
    /// the rule's `chain` with no step's "changed" flag raised
    /// ([`crate::chains::ChainTable::quiet_for`]) go in `no_match` instead: the raw value is
    /// their only stage, and the rule cannot match them. Long values are left unmarked by a
    /// probe.
    pub(crate) fn mark_raw_misses(
        &mut self,
        variable: V,
        values: &[PhaseValue],
        (test, required): (RawTest, Option<&crate::regex::RequiredBytes>),
        chain: ChainId,
        misses: &mut [u64],
        no_match: &mut [u64],
    ) {
        if let RawTest::Probe(_) = test {
            // (the scans are kept with the identity's outputs)
            self.column(variable, values, IDENTITY);
        }
        let rules = &self.rules;
        let Some(columns) = self.phase_columns.get_mut(&variable) else {
            return;
        };
        for (i, p) in values.iter().enumerate() {
            if p.same_as as usize != i {
                continue;
            }
            if required.map_or(true, |r| r.meets(&p.bytes)) {
                match test {
                    RawTest::Quick(rules_out) if rules_out(&p.value.value, &p.bytes) => {}
                    RawTest::Quick(_) => continue,
                    RawTest::Probe(slot) => {
                        let (group, member) =
                            ((slot >> 32) as usize, (slot & 0xffff_ffff) as usize);
                        // (the identity's output of a first value is the value's own)
                        let output = &mut columns.outputs[i];
                        if output.value.len() >= LONG_VALUE {
                            continue;
                        }
                        let at = output_scan(&mut self.transform_cache, &rules.matcher, output);
                        let words = rules.matcher.groups[group]
                            .words_in(&self.transform_cache.sets()[at..]);
                        if crate::matcher::holds(words, member) {
                            continue;
                        }
                    }
                }
            }
            let marks = match rules.chains.quiet_for(chain, &p.bytes, &p.value.value) {
                true => &mut *no_match,
                false => &mut *misses,
            };
            marks[i / 64] |= 1 << (i % 64);
        }
    }

    /// The members of `group` that may match some output of `column` (of `variable`), by
    /// `scan` for the long ones.
    pub(crate) fn column_candidates(
        &mut self,
        variable: V,
        column: Column,
        group: usize,
        scan: Scan,
    ) -> Candidates {
        let matcher = &self.rules.matcher;
        let mut union = Candidates::none(matcher.groups[group].len());
        let Some(columns) = self.phase_columns.get_mut(&variable) else {
            return union;
        };
        let i = columns.scans(column, &mut self.transform_cache, matcher);
        let (_, [from, to], [long_from, long_to]) = columns.scanned[i];
        for &at in &columns.scan_places[from as usize..to as usize] {
            union.add(matcher.groups[group].words_in(&self.transform_cache.sets()[at..]));
        }
        for l in long_from..long_to {
            // (each long output's own search: `columns` is not borrowed across it)
            let value = match self.phase_columns.get(&variable) {
                Some(c) => c.long_outputs[l as usize].clone(),
                None => break,
            };
            union.add(self.group_candidates(group, scan, &value));
        }
        union
    }

    /// The members of `group` that may match output `i` of `variable` (by `scan` when it is
    /// long).
    pub(crate) fn output_candidates(
        &mut self,
        variable: V,
        i: u32,
        group: usize,
        scan: Scan,
    ) -> &[u64] {
        let matcher = &self.rules.matcher;
        let output = &mut self
            .phase_columns
            .get_mut(&variable)
            .expect("a column's variable has outputs")
            .outputs[i as usize];
        if output.value.len() >= LONG_VALUE {
            let value = output.value.clone();
            return self.group_candidates(group, scan, &value);
        }
        let at = output_scan(&mut self.transform_cache, matcher, output);
        matcher.groups[group].words_in(&self.transform_cache.sets()[at..])
    }
}

/// Where the scan of every group's literals over a (short) output is in `cache`'s sets.
fn output_scan(cache: &mut TransformCache, matcher: &Matcher, output: &mut Output) -> usize {
    if output.scan != NOT_SCANNED {
        return output.scan as usize;
    }
    let at = cache.scan_of_text(matcher, &output.value);
    if let Ok(kept) = u32::try_from(at) {
        output.scan = kept;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::Entry;
    use crate::transaction::transform_cache::tests::NAMES;
    use crate::RuleSet;
    use proptest::prelude::*;
    use std::sync::Arc;

    /// A transaction of these rules with a query of `values` (every byte percent-encoded),
    /// and the chain of each rule of phase 2.
    fn transaction(rules: &str, values: &[Vec<u8>]) -> (Transaction, Vec<ChainId>) {
        let rules = Arc::new(RuleSet::from_text("t.conf", rules, None).unwrap());
        let chains = rules.phases[2]
            .iter()
            .filter_map(|e| match e {
                Entry::Rule(r) => Some(
                    r.transformation_chain
                        .load(std::sync::atomic::Ordering::Relaxed),
                ),
                Entry::Marker(_) => None,
            })
            .collect();
        let mut uri = String::from("/?");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                uri.push('&');
            }
            uri.push_str(&format!("a{i}="));
            v.iter().for_each(|b| uri.push_str(&format!("%{b:02x}")));
        }
        let mut tx = Transaction::new(rules);
        tx.process_uri(uri.as_bytes(), b"GET", b"HTTP/1.1");
        (tx, chains)
    }

    /// `ARGS`' values this phase, as the rules see them.
    fn args(tx: &mut Transaction) -> Vec<PhaseValue> {
        let rules = Arc::clone(&tx.rules);
        let Entry::Rule(rule) = &rules.phases[2][0] else {
            unreachable!()
        };
        tx.shared_values(rule, &rule.targets[0]).unwrap()
    }

    proptest! {
        /// Whatever the values and chains (one a prefix of the other, so a column is made from
        /// its parent's), a column's outputs are the values after the chain, as the
        /// transformation cache gives them, and its bytes theirs.
        #[test]
        fn columns_equal_the_cached_chains(
            chain in proptest::collection::vec(0..NAMES.len(), 1..5),
            cut in 0usize..4,
            // (a chain of its own, whose outputs may be texts the others made: shared)
            other in proptest::collection::vec(0..NAMES.len(), 1..4),
            values in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(
                    &b"aZ09 _-=\t%+&;/.\\\"'\x00\xc3\xa9"[..]), 0..24),
                64..80),
        ) {
            // (and a byte of one value alone, which most chains leave as it is: a column's
            // bytes gathered as it is made take in the values no step acts on)
            let mut values = values;
            values.push(b"q".to_vec());
            let t: Vec<String> = chain.iter().map(|&i| format!("t:{}", NAMES[i])).collect();
            let prefix = &t[..cut.min(t.len() - 1)];
            let other: Vec<String> = other.iter().map(|&i| format!("t:{}", NAMES[i])).collect();
            let text = format!(
                "SecRule ARGS \"@rx x\" \"id:1,phase:2,pass,{}\"\n\
                 SecRule ARGS \"@rx x\" \"id:2,phase:2,pass,t:none{}\"\n\
                 SecRule ARGS \"@rx x\" \"id:3,phase:2,pass,{}\"",
                t.join(","),
                prefix.iter().map(|p| format!(",{p}")).collect::<String>(),
                other.join(","),
            );
            let (mut tx, chains) = transaction(&text, &values);
            let phase_values = args(&mut tx);
            prop_assert!(phase_values.len() >= crate::transaction::candidates::COLUMN_MIN_VALUES);
            // the prefix's column first, or the longer chain's makes it
            for &chain in chains.iter().rev().chain(&chains) {
                let column = tx.column(V::Args, &phase_values, chain);
                let mut bytes = ByteSet::default();
                for (i, v) in phase_values.iter().enumerate() {
                    let (out, _) = tx.column_output(V::Args, column, i);
                    let expected = tx.transformed(chain, &v.value.value);
                    prop_assert_eq!(&out[..], &expected[..]);
                    bytes.add(&expected);
                }
                prop_assert_eq!(tx.column_bytes(V::Args, column), bytes);
            }
        }
    }

    proptest! {
        /// A column's candidates (made once from its distinct scans and long outputs, then
        /// read again) are the union of its outputs' own.
        #[test]
        fn a_columns_candidates_are_its_outputs(
            values in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(
                    &b"abcxyz_.%41 AB"[..]), 0..12),
                64..90),
            long in proptest::option::of((0usize..64, 0usize..3)),
        ) {
            let mut values = values;
            if let Some((at, filler)) = long {
                // (a long value: searched on its own)
                values[at] = [b"xy7".repeat(filler), vec![b'q'; LONG_VALUE]].concat();
            }
            let (mut tx, chains) = transaction(
                "SecRule ARGS \"@rx abc\" \"id:1,phase:2,pass,t:none\"\n\
                 SecRule ARGS \"@rx xy[0-9]\" \"id:2,phase:2,pass,t:none,t:urlDecodeUni\"\n\
                 SecRule ARGS \"@rx (?i)b\\.c\" \"id:3,phase:2,pass,t:lowercase\"\n\
                 SecRule ARGS \"@rx za_\" \"id:4,phase:2,pass,t:none,t:urlDecodeUni\"",
                &values,
            );
            let phase_values = args(&mut tx);
            let rules = Arc::clone(&tx.rules);
            for (i, entry) in rules.phases[2].iter().enumerate() {
                let Entry::Rule(rule) = entry else { continue };
                let slot = rule.matcher_slot.load(std::sync::atomic::Ordering::Relaxed);
                prop_assert!(slot != crate::matcher::NO_SLOT);
                let (group, member) = ((slot >> 32) as usize, (slot & 0xffff_ffff) as usize);
                let scan = rules.matcher.groups[group].scan_for(V::Args, member);
                let column = tx.column(V::Args, &phase_values, chains[i]);
                let mut union = Candidates::none(rules.matcher.groups[group].len());
                for v in 0..phase_values.len() {
                    let o = tx.phase_columns[&V::Args].arena[column as usize + v];
                    union.add(tx.output_candidates(V::Args, o, group, scan));
                }
                for _ in 0..2 {
                    let made = tx.column_candidates(V::Args, column, group, scan);
                    prop_assert_eq!(made.as_words(), union.as_words());
                }
            }
        }
    }

    /// Chains that act on none of the values' bytes share the identity's column (no copy of
    /// it each); a chain that acts on some makes its own.
    #[test]
    fn untouched_values_share_the_identity_column() {
        let values: Vec<Vec<u8>> = (0..70)
            .map(|i| format!("a{}", i % 7).into_bytes())
            .collect();
        let (mut tx, chains) = transaction(
            "SecRule ARGS \"@rx x\" \"id:1,phase:2,pass,t:lowercase\"\n\
             SecRule ARGS \"@rx x\" \"id:2,phase:2,pass,t:urlDecodeUni,t:removeNulls\"\n\
             SecRule ARGS \"@rx x\" \"id:3,phase:2,pass,t:replaceComments\"",
            &values,
        );
        let phase_values = args(&mut tx);
        let identity = tx.column(V::Args, &phase_values, IDENTITY);
        let arena = tx.phase_columns[&V::Args].arena.len();
        assert_eq!(arena, 70);
        for &chain in &chains[..2] {
            assert_eq!(tx.column(V::Args, &phase_values, chain), identity);
        }
        assert_eq!(tx.phase_columns[&V::Args].arena.len(), arena, "no copy");
        // each text's first value stands for it
        assert_eq!(tx.column_output(V::Args, identity, 8).1, 1);
        // `/*` is what t:replaceComments acts on: a value with it gets its own output
        let mut with_comment = values.clone();
        with_comment[3] = b"a/*b*/".to_vec();
        let (mut tx, chains) = transaction(
            "SecRule ARGS \"@rx x\" \"id:3,phase:2,pass,t:replaceComments\"",
            &with_comment,
        );
        let phase_values = args(&mut tx);
        let identity = tx.column(V::Args, &phase_values, IDENTITY);
        let column = tx.column(V::Args, &phase_values, chains[0]);
        assert_ne!(column, identity);
        assert_eq!(&tx.column_output(V::Args, column, 3).0[..], b"a ");
        assert_eq!(&tx.column_output(V::Args, column, 4).0[..], b"a4");
    }

    /// A step that acts on none of the bytes its parent's column holds shares that column
    /// (the values' capitals lowercased, then no `%` or `+` for `t:urlDecodeUni`); one that
    /// acts on some makes its own, whose outputs are the step's.
    #[test]
    fn an_idle_step_shares_its_parents_column() {
        let values: Vec<Vec<u8>> = (0..70)
            .map(|i| format!("Ab{}", i % 9).into_bytes())
            .collect();
        let rules = "SecRule ARGS \"@rx x\" \"id:1,phase:2,pass,t:lowercase\"\n\
                     SecRule ARGS \"@rx x\" \"id:2,phase:2,pass,t:lowercase,t:urlDecodeUni\"";
        let (mut tx, chains) = transaction(rules, &values);
        let phase_values = args(&mut tx);
        let lowercase = tx.column(V::Args, &phase_values, chains[0]);
        let arena = tx.phase_columns[&V::Args].arena.len();
        assert_eq!(tx.column(V::Args, &phase_values, chains[1]), lowercase);
        assert_eq!(tx.phase_columns[&V::Args].arena.len(), arena, "no copy");
        assert_eq!(&tx.column_output(V::Args, lowercase, 5).0[..], b"ab5");
        // a `+` among them: the decoder's column is its own
        let mut with_plus = values.clone();
        with_plus[5] = b"Ab+5".to_vec();
        let (mut tx, chains) = transaction(rules, &with_plus);
        let phase_values = args(&mut tx);
        let lowercase = tx.column(V::Args, &phase_values, chains[0]);
        let decoded = tx.column(V::Args, &phase_values, chains[1]);
        assert_ne!(decoded, lowercase);
        assert_eq!(&tx.column_output(V::Args, decoded, 5).0[..], b"ab 5");
        assert_eq!(&tx.column_output(V::Args, decoded, 4).0[..], b"ab4");
    }

    /// A member of the grouped matcher marks the texts (at their first values) whose output
    /// holds none of its literals, and says whether any is left: none, when no value holds one
    /// (the rule is then done with the variable); the texts that hold one stay unmarked.
    #[test]
    fn marking_says_whether_a_text_is_left() {
        let rules = "SecRule ARGS \"@rx (?:attack|exploit)\" \"id:1,phase:2,pass,t:lowercase\"\n\
                     SecRule ARGS \"@rx (?:payload|inject)\" \"id:2,phase:2,pass,t:lowercase\"";
        let slot_of = |tx: &Transaction| {
            let Entry::Rule(rule) = &tx.rules.phases[2][0] else {
                unreachable!()
            };
            rule.matcher_slot.load(std::sync::atomic::Ordering::Relaxed)
        };
        let mark = |values: &[Vec<u8>]| {
            let (mut tx, chains) = transaction(rules, values);
            let slot = slot_of(&tx);
            assert_ne!(slot, crate::matcher::NO_SLOT, "rule 1 is in the matcher");
            let phase_values = args(&mut tx);
            let column = tx.column(V::Args, &phase_values, chains[0]);
            let mut no_match = vec![0u64; phase_values.len().div_ceil(64)];
            let left = tx.mark_non_candidates(V::Args, column, &phase_values, slot, &mut no_match);
            let marked: Vec<bool> = (0..phase_values.len())
                .map(|i| no_match[i / 64] & (1 << (i % 64)) != 0)
                .collect();
            (left, marked)
        };
        // 70 values of 7 texts, none with rule 1's literals (one with rule 2's)
        let mut values: Vec<Vec<u8>> = (0..70)
            .map(|i| format!("v{}", i % 7).into_bytes())
            .collect();
        values[5] = b"inject".to_vec();
        let (left, marked) = mark(&values);
        assert!(!left);
        // each text at its first value only (`v5`'s is value 12 now)
        for (i, m) in marked.iter().enumerate() {
            assert_eq!(*m, i < 7 || i == 12, "value {i}");
        }
        // a capitalised literal (lowercased by the chain) in a later value of its own text
        values[40] = b"An ATTACK".to_vec();
        let (left, marked) = mark(&values);
        assert!(left);
        assert!(!marked[40]);
        assert!(marked[..7].iter().all(|&m| m));
    }

    /// A variable's columns serve the next phase when its values are the same buffers, and
    /// are made anew when they are not.
    #[test]
    fn columns_outlive_a_phase_only_with_their_values() {
        let values: Vec<Vec<u8>> = (0..70).map(|i| format!("A{i}").into_bytes()).collect();
        let (mut tx, chains) = transaction(
            "SecRule ARGS \"@rx x\" \"id:1,phase:2,pass,t:lowercase\"",
            &values,
        );
        let chain = chains[0];
        let first = args(&mut tx);
        let column = tx.column(V::Args, &first, chain);
        let made = tx.phase_columns[&V::Args].outputs.len();
        assert_eq!(made, 140, "70 values and 70 lowercase outputs");
        // the next phase, the same values: the column is kept
        next_phase(&mut tx.phase_columns);
        tx.phase_values.clear();
        let again = args(&mut tx);
        assert_eq!(tx.column(V::Args, &again, chain), column);
        assert_eq!(tx.phase_columns[&V::Args].outputs.len(), made);
        // other values (another buffer for the first): made anew
        next_phase(&mut tx.phase_columns);
        let mut other: Vec<PhaseValue> = Vec::new();
        for (i, v) in again.iter().enumerate() {
            let mut value = v.value.clone();
            if i == 0 {
                value.value = Bytes::from(&b"B0"[..]);
            }
            other.push(PhaseValue::new(value, i as u32));
        }
        let column = tx.column(V::Args, &other, chain);
        let (out, _) = tx.column_output(V::Args, column, 0);
        assert_eq!(&out[..], b"b0");
        assert_eq!(tx.phase_columns[&V::Args].outputs.len(), made);
    }

    /// Chains that come to the same text of a value by other steps share its output: one
    /// buffer, one scan.
    #[test]
    fn chains_of_one_text_share_its_output() {
        let values: Vec<Vec<u8>> = (0..70)
            .map(|i| format!("Product {i}").into_bytes())
            .collect();
        let (mut tx, chains) = transaction(
            "SecRule ARGS \"@rx x\" \"id:1,phase:2,pass,t:lowercase\"\n\
             SecRule ARGS \"@rx x\" \"id:2,phase:2,pass,t:cmdLine\"\n\
             SecRule ARGS \"@rx x\" \"id:3,phase:2,pass,t:removeWhitespace\"",
            &values,
        );
        let phase_values = args(&mut tx);
        let columns: Vec<Column> = chains
            .iter()
            .map(|&c| tx.column(V::Args, &phase_values, c))
            .collect();
        // the values, their lowercase (cmdLine's too), and without the blank
        assert_eq!(tx.phase_columns[&V::Args].outputs.len(), 70 * 3);
        let (lower, a) = tx.column_output(V::Args, columns[0], 5);
        let (command, b) = tx.column_output(V::Args, columns[1], 5);
        assert_eq!((&lower[..], a), (&b"product 5"[..], b));
        assert_eq!(&command[..], b"product 5");
        let (joined, _) = tx.column_output(V::Args, columns[2], 5);
        assert_eq!(&joined[..], b"Product5");
    }

    /// A transaction of a `multiMatch` rule for `__proto__` (`t:none,t:urlDecodeUni`) over
    /// `values`, with `ARGS`' phase values, the rule's probe slot, required bytes and chain.
    fn proto_probe(
        values: &[Vec<u8>],
    ) -> (
        Transaction,
        Vec<PhaseValue>,
        u64,
        Option<crate::regex::RequiredBytes>,
        ChainId,
    ) {
        let (mut tx, chains) = transaction(
            "SecRule ARGS \"@rx __proto__\" \"id:1,phase:2,pass,t:none,t:urlDecodeUni,multiMatch\"",
            values,
        );
        let rules = Arc::clone(&tx.rules);
        let Entry::Rule(rule) = &rules.phases[2][0] else {
            unreachable!()
        };
        let probe = rule
            .raw_probe_slot
            .load(std::sync::atomic::Ordering::Relaxed);
        assert_ne!(probe, crate::matcher::NO_SLOT);
        let required = rule.operator.as_ref().unwrap().required;
        let phase_values = args(&mut tx);
        (tx, phase_values, probe, required, chains[0])
    }

    /// A `multiMatch` rule's raw stage, told by its probe: a text without the literals is a
    /// miss, and one that no step changes either cannot match at all; a text with them, or
    /// with a literal only a step brings out, is neither (the first) or a miss (the second),
    /// whose stages the rule still tests.
    #[test]
    fn raw_misses_are_told_by_the_probe() {
        let mut values: Vec<Vec<u8>> = vec![b"plain".to_vec(); 70];
        values[3] = b"__PROTO__".to_vec();
        values[4] = b"%5f_proto__".to_vec();
        values[5] = b"a+b".to_vec();
        values[6] = b"plain words".to_vec();
        let (mut tx, phase_values, probe, required, chain) = proto_probe(&values);
        let words = phase_values.len().div_ceil(64);
        let (mut misses, mut no_match) = (vec![0u64; words], vec![0u64; words]);
        tx.mark_raw_misses(
            V::Args,
            &phase_values,
            (RawTest::Probe(probe), required.as_ref()),
            chain,
            &mut misses,
            &mut no_match,
        );
        let at = |set: &[u64], i: usize| set[i / 64] & (1 << (i % 64)) != 0;
        // (the first "plain" alone: the others are its text's)
        assert!(at(&no_match, 0) && !at(&no_match, 1) && !at(&misses, 0));
        assert!(!at(&no_match, 3) && !at(&misses, 3));
        assert!(at(&misses, 4) && !at(&no_match, 4));
        assert!(at(&misses, 5) && !at(&no_match, 5));
        assert!(at(&no_match, 6) && !at(&misses, 6));
    }

    /// A `multiMatch` rule whose steps no value's bytes flag, and whose probe's literals no
    /// value holds, matches none of a large variable, told at once; a value with the
    /// literals, with a byte a step is flagged by, or too long for a scan keeps the look at
    /// each value (and the rule's verdict on the request is the same either way).
    #[test]
    fn no_value_matches_when_the_variable_tells_it() {
        let told = |values: &[Vec<u8>]| {
            let (mut tx, phase_values, probe, required, chain) = proto_probe(values);
            tx.no_value_can_match(
                V::Args,
                &phase_values,
                (RawTest::Probe(probe), required.as_ref()),
                chain,
            )
        };
        // (`_`, a byte every match holds, in each: the scan tells)
        let plain: Vec<Vec<u8>> = (0..70).map(|i| format!("plain_{i}").into_bytes()).collect();
        assert!(told(&plain));
        let with = |i: usize, v: &[u8]| {
            let mut values = plain.clone();
            values[i] = v.to_vec();
            values
        };
        // the literals, in any case (the probe's scan is of the lowercase)
        assert!(!told(&with(40, b"x__PROTO__")));
        // a byte `t:urlDecodeUni` acts on: its stage may hold them
        assert!(!told(&with(7, b"%5f_proto__")));
        assert!(!told(&with(7, b"a+b")));
        // a value no scan is made of
        let long = format!("{}_", "z".repeat(crate::matcher::LONG_VALUE));
        assert!(!told(&with(69, long.as_bytes())));
        // without a byte every match holds, no scan is asked: none can match
        let bare: Vec<Vec<u8>> = (0..70).map(|i| format!("plain{i}").into_bytes()).collect();
        let mut bare_long = bare.clone();
        bare_long[69] = vec![b'z'; crate::matcher::LONG_VALUE];
        assert!(told(&bare) && told(&bare_long));
    }
}
