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
    /// Per chain, [`transformations::flagged_by`] of its transformations, when all are known:
    /// a value holding none comes out unchanged and no step raises its "changed" flag (what
    /// `multiMatch` tests).
    flagged_by: Vec<Option<ByteSet>>,
    index: HashMap<(ChainId, TransformationName), ChainId>,
}

impl ChainTable {
    pub fn new() -> ChainTable {
        ChainTable {
            steps: vec![None],
            acted_on: vec![Some(ByteSet::default())],
            flagged_by: vec![Some(ByteSet::default())],
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
                    let flagged_by = self.flagged_by[id as usize]
                        .zip(step_flagged_by)
                        .map(|(a, b)| a.union(*b));
                    self.flagged_by.push(flagged_by);
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

    /// The bytes that may change a value in the chain or raise a step's "changed" flag, when
    /// they are all known.
    pub fn flagged_by(&self, id: ChainId) -> Option<&ByteSet> {
        self.flagged_by.get(id as usize).and_then(Option::as_ref)
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
}
