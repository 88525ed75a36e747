//! Transformation chains, interned per rule set.
//!
//! Many rules share a transformation chain (CRS: `t:utf8toUnicode,t:urlDecodeUni,
//! t:htmlEntityDecode,...` on dozens of rules) or a prefix of one. Each distinct chain prefix
//! gets a number; a chain is its parent's number plus one transformation. A transaction then
//! transforms each value once per chain prefix and shares the result between rules
//! ([`crate::Transaction`]'s transformation cache), as libmodsecurity would compute it rule by
//! rule.

use crate::regex::ByteSet;
use crate::transformations::{self, TransformFn};
use seclang_parser::names::TransformationName;
use std::collections::HashMap;

/// A chain's number; [`IDENTITY`] is the empty chain (the value as it is).
pub(crate) type ChainId = u32;

/// The empty chain.
pub(crate) const IDENTITY: ChainId = 0;

/// One step: the chain `parent` followed by one transformation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub parent: ChainId,
    pub name: TransformationName,
    pub f: TransformFn,
}

/// Every chain prefix of a rule set; index = [`ChainId`] (index 0, the identity, has no step).
#[derive(Debug, Default)]
pub(crate) struct ChainTable {
    steps: Vec<Option<Step>>,
    /// Per chain, the bytes its transformations act on ([`transformations::acted_on`]), when
    /// all of them have such a set: a value holding none comes out of the chain unchanged.
    acted_on: Vec<Option<ByteSet>>,
    /// Per chain, the union of [`transformations::flagged_by`] of the transformations that
    /// have one, and a bit per transformation (by name) of those that have none: a value
    /// holding none of the union's bytes, which each of those reports unchanged, comes out
    /// unchanged and no step raises its "changed" flag (what `multiMatch` tests). CRS's
    /// 934100 puts `t:base64Decode` among `t:urlDecodeUni,t:jsDecode,t:removeWhitespace`:
    /// a word (`field_12`, an argument's name) passes the chain after one look at its bytes.
    flagged_by: Vec<(ByteSet, u64)>,
    index: HashMap<(ChainId, TransformationName), ChainId>,
}

impl ChainTable {
    pub fn new() -> ChainTable {
        ChainTable {
            steps: vec![None],
            acted_on: vec![Some(ByteSet::default())],
            flagged_by: vec![(ByteSet::default(), 0)],
            index: HashMap::new(),
        }
    }

    /// The number of a chain, adding it (and its prefixes) when new.
    pub fn intern(&mut self, chain: &[(TransformationName, TransformFn)]) -> ChainId {
        let mut id = IDENTITY;
        for &(name, f) in chain {
            id = match self.index.get(&(id, name)) {
                Some(&next) => next,
                None => {
                    let next = self.steps.len() as ChainId;
                    let (step_acted_on, step_flagged_by) = transformations::known_sets(name);
                    let acted_on = self.acted_on[id as usize]
                        .zip(step_acted_on)
                        .map(|(a, b)| a.union(*b));
                    self.acted_on.push(acted_on);
                    let (known, unknown) = self.flagged_by[id as usize];
                    self.flagged_by.push(match step_flagged_by {
                        Some(b) => (known.union(*b), unknown),
                        None => (known, unknown | 1 << name as u32),
                    });
                    self.steps.push(Some(Step {
                        parent: id,
                        name,
                        f,
                    }));
                    self.index.insert((id, name), next);
                    next
                }
            };
        }
        id
    }

    /// The bytes the chain's transformations act on, when they are all known.
    pub fn acted_on(&self, id: ChainId) -> Option<&ByteSet> {
        self.acted_on.get(id as usize).and_then(Option::as_ref)
    }

    /// Whether `value`, whose bytes are `bytes`, comes out of the chain unchanged with no
    /// step's "changed" flag raised, as told by the bytes and, for the steps that have no set
    /// of them, by each one's look at the value ([`transformations::reports_unchanged`]).
    /// (Each step then sees `value` itself.) `false` when that cannot be told so.
    pub fn quiet_for(&self, id: ChainId, bytes: &ByteSet, value: &[u8]) -> bool {
        let Some(&(known, mut unknown)) = self.flagged_by.get(id as usize) else {
            return false;
        };
        if known.intersects(bytes) {
            return false;
        }
        while unknown != 0 {
            let name = TransformationName::ALL[unknown.trailing_zeros() as usize];
            let quiet = transformations::told_by_bytes(name, bytes, value)
                .unwrap_or_else(|| transformations::reports_unchanged(name, value));
            if !quiet {
                return false;
            }
            unknown &= unknown - 1;
        }
        true
    }

    /// Whether every value whose bytes are among `bytes` (the union of some values') comes
    /// out of the chain with no step's "changed" flag raised: no step is flagged by one of
    /// them, and none needs a look at the value itself ([`ChainTable::quiet_for`] of each such
    /// value, told once for all).
    pub fn quiet_for_all(&self, id: ChainId, bytes: &ByteSet) -> bool {
        self.flagged_by
            .get(id as usize)
            .is_some_and(|(known, unknown)| *unknown == 0 && !known.intersects(bytes))
    }

    /// The bytes the values of `input`'s bytes hold after the chain, when each step has an
    /// image ([`transformations::image`]): the chain's steps carried over the set, not over a
    /// value.
    pub fn image(&self, id: ChainId, input: ByteSet) -> Option<ByteSet> {
        match self.step(id) {
            None => Some(input),
            Some(s) => transformations::image(s.name, self.image(s.parent, input)?),
        }
    }

    /// The last step of a chain; `None` for the identity.
    pub fn step(&self, id: ChainId) -> Option<Step> {
        self.steps.get(id as usize).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_shared() {
        let t = |n| (n, transformations::get(n).unwrap());
        let mut c = ChainTable::new();
        let lower = c.intern(&[t(TransformationName::Lowercase)]);
        let lower_url = c.intern(&[
            t(TransformationName::Lowercase),
            t(TransformationName::UrlDecodeUni),
        ]);
        assert_eq!(c.intern(&[]), IDENTITY);
        assert_eq!(c.intern(&[t(TransformationName::Lowercase)]), lower);
        assert_eq!(c.step(lower_url).unwrap().parent, lower);
        assert_eq!(c.steps.len(), 3);
    }

    /// CRS 934100's chain, `t:base64Decode` (no set of bytes) among steps that have one.
    fn base64_chain(c: &mut ChainTable) -> (Vec<(TransformationName, TransformFn)>, ChainId) {
        use TransformationName as N;
        let names = [
            N::UrlDecodeUni,
            N::JsDecode,
            N::RemoveWhitespace,
            N::Base64Decode,
            N::UrlDecodeUni,
        ];
        let chain: Vec<_> = names
            .iter()
            .map(|&n| (n, transformations::get(n).unwrap()))
            .collect();
        let id = c.intern(&chain);
        (chain, id)
    }

    /// Whether every step leaves `value` as it is with its "changed" flag down.
    fn quiet_when_run(chain: &[(TransformationName, TransformFn)], value: &[u8]) -> bool {
        chain.iter().all(|(_, f)| {
            let mut out = Vec::new();
            !f(value, &mut out) && out == value
        })
    }

    #[test]
    fn a_step_without_a_set_of_bytes_is_asked_about_the_value() {
        let mut c = ChainTable::new();
        let (_, id) = base64_chain(&mut c);
        let quiet = |v: &[u8]| c.quiet_for(id, &ByteSet::of(v), v);
        // a word: `_` is no base64 digit
        assert!(quiet(b"field_12"));
        assert!(quiet(b"json.items.array_0.id"));
        // base64 of "foobar": decoded
        assert!(!quiet(b"Zm9vYmFy"));
        // bytes the other steps act on
        assert!(!quiet(b"a%41_"));
        assert!(!quiet(b"a b_"));
        assert!(!quiet(b"a\\u0041_"));
    }

    proptest::proptest! {
        /// What `quiet_for` tells holds when the steps are run.
        #[test]
        fn quiet_for_holds_when_the_steps_run(
            value in proptest::collection::vec(
                // (mostly base64 digits: values the decoder takes)
                proptest::sample::select(b"aZ09/=aZ09/=_+% \\.\n".to_vec()),
                0..9,
            )
        ) {
            let mut c = ChainTable::new();
            let (chain, id) = base64_chain(&mut c);
            if c.quiet_for(id, &ByteSet::of(&value), &value) {
                proptest::prop_assert!(quiet_when_run(&chain, &value));
            }
        }
    }
}
