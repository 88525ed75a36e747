//! Running a phase: rule order, `SecMarker`/`skipAfter`, `skip`, `allow`, rule removals; and
//! running one rule: targets, exclusions, transformations, operator, chain, per-match and
//! after-match actions — in libmodsecurity's order (`RulesSet::evaluate`,
//! `RuleWithOperator::evaluate`).

use super::candidates::PhaseValue;
use super::columns::RawTest;
use super::variables::{Origin, Value, ValueName};
use super::{AllowState, Transaction};
use crate::collection::Bytes;
use crate::exceptions::{self, StaticExceptions};
use crate::message::{hex_if_needed, limit_to, RuleMessage};
use crate::operators::OperatorContext;
use crate::plan::Decision;
use crate::regex::ByteSet;
use crate::rule::{CompiledSelector, Rule, Target};
use crate::ruleset::Entry;
use seclang_parser::names::VariableName as V;
use seclang_parser::MacroString;
use std::borrow::Cow;
use std::sync::Arc;

/// What an operator sees of the transaction while it runs.
struct OperatorCx<'a> {
    tx: &'a mut Transaction,
    capture: bool,
    /// The ranges the operator reported (`[ref]`'s `o<start>,<len>`).
    ranges: &'a mut Vec<(usize, usize)>,
    /// The value the operator sees, when it is a shared buffer: a capture of all of it
    /// shares it.
    subject: Option<&'a Bytes>,
    /// The ranges can be read ([`OperatorContext::wants_ranges`]): `None` when that is
    /// whether the match will be written ([`Transaction::message_needed`]), asked only if an
    /// operator asks.
    ranges_wanted: Option<bool>,
}

/// Which transformations gave a value the operator sees (`[ref]`'s `t:` part).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stage {
    /// `multiMatch`: the value before any transformation.
    Raw,
    /// `multiMatch`: the output of the transformation at this index.
    One(usize),
    /// Without `multiMatch`: the output of them all.
    All,
}

/// A value the operator sees: a shared buffer (the value itself, a cached transformation), or
/// a transformation's output in a step buffer, copied only when a match keeps it
/// (`MATCHED_VAR`).
#[derive(Clone, Copy)]
pub(crate) enum Seen<'a> {
    Shared(&'a Bytes),
    Scratch(&'a [u8]),
}

impl Seen<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Seen::Shared(b) => b,
            Seen::Scratch(b) => b,
        }
    }

    fn shared(&self) -> Bytes {
        match self {
            Seen::Shared(b) => Bytes::clone(b),
            Seen::Scratch(b) => Bytes::from(*b),
        }
    }
}

impl OperatorContext for OperatorCx<'_> {
    fn expand(&mut self, argument: &MacroString) -> Vec<u8> {
        self.tx.expand_macros(argument)
    }

    fn expand_shared(&mut self, argument: &MacroString) -> Bytes {
        self.tx.expand_shared(argument)
    }

    fn tx_value(&mut self, _argument: &MacroString, name: &[u8], hash: u64) -> Bytes {
        self.tx.tx_value(name, hash)
    }

    fn planned_tx_value(&self, name: &[u8], hash: u64) -> Option<Bytes> {
        let snapshot = self.tx.rules.plan.snapshot.as_ref()?;
        snapshot
            .named_by_hash(name, hash)
            .next()
            .map(|e| Bytes::clone(&e.value))
    }

    fn capturing(&self) -> bool {
        self.capture
    }

    fn capture(&mut self, index: usize, value: &[u8]) {
        // (CRS's 920450 captures each header name whole)
        let value = match self.subject {
            Some(s) if s.as_ptr() == value.as_ptr() && s.len() == value.len() => Bytes::clone(s),
            _ => Bytes::from(value),
        };
        // TX:0..TX:9 (`capture` is on most CRS rules that match a request's header names)
        match index {
            0..=9 => self.tx.tx.set(&[b'0' + index as u8], value),
            _ => self.tx.tx.set(index.to_string().as_bytes(), value),
        }
    }

    fn match_range(&mut self, start: usize, len: usize) {
        self.ranges.push((start, len));
    }

    fn wants_ranges(&self) -> bool {
        self.ranges_wanted
            .unwrap_or_else(|| self.tx.message_needed())
    }
}

/// The values a negated rule's operator matched (so the rule did not) while the rule is
/// evaluated, whose ranges are worked out only if the rule matches another value: until then
/// they cannot be read, and for most such rules (`!@rx` on a header that is as it should be)
/// that never happens. What the operator saw, and where in `[ref]` its ranges go.
#[derive(Debug, Default)]
pub(crate) struct DeferredRanges {
    /// (where in the message's reference, the value's start and end in `bytes`)
    at: Vec<(usize, usize, usize)>,
    bytes: Vec<u8>,
}

impl DeferredRanges {
    pub(crate) fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.at.clear();
        self.bytes.clear();
    }

    /// Empties it, keeping room for about `room` values (and bytes).
    pub(crate) fn empty(&mut self, room: usize) {
        use super::spare::Empty;
        self.at.empty(room);
        self.bytes.empty(room * 64);
    }

    fn push(&mut self, reference_at: usize, value: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.at.push((reference_at, start, self.bytes.len()));
    }
}

/// The `[ref]` pieces of the matches of a rule with `chain` (a starter, or a link with links
/// after it), written only when the whole chain matches: a chain that fails logs nothing, and
/// CRS's 920450 matches every header name while its chain almost never does (the pieces'
/// numbers were ~1% of a request's instructions). Each match's place in the reference, its
/// operator's ranges, where its value came from and which transformations gave it.
#[derive(Debug, Default)]
pub(crate) struct DeferredReferences {
    /// (where in the message's reference, its ranges' start and end in `ranges`, origin, stage)
    at: Vec<(usize, u32, u32, Origin, Stage)>,
    ranges: Vec<(usize, usize)>,
}

impl DeferredReferences {
    pub(crate) fn len(&self) -> usize {
        self.at.len()
    }

    /// Forgets the matches from the `from`th on.
    fn truncate(&mut self, from: usize) {
        if let Some(&(_, start, ..)) = self.at.get(from) {
            self.ranges.truncate(start as usize);
            self.at.truncate(from);
        }
    }

    /// Empties it, keeping room for about `room` matches.
    pub(crate) fn empty(&mut self, room: usize) {
        use super::spare::Empty;
        self.at.empty(room);
        self.ranges.empty(room);
    }

    fn push(
        &mut self,
        reference_at: usize,
        ranges: &[(usize, usize)],
        origin: Origin,
        stage: Stage,
    ) {
        let start = self.ranges.len() as u32;
        self.ranges.extend_from_slice(ranges);
        let end = self.ranges.len() as u32;
        self.at.push((reference_at, start, end, origin, stage));
    }
}

/// The most matched names a transaction keeps ([`Transaction::matched_name`]): a request of
/// 10,000 arguments that all match would otherwise keep a name for each.
const MATCHED_NAMES_KEPT: usize = 256;

/// Appends libmodsecurity's `o<start>,<len>` for each range (`Operator::logOffset`).
fn write_ranges(out: &mut String, ranges: &[(usize, usize)]) {
    for &(start, len) in ranges {
        write_pair(out, 'o', start, len);
    }
}

/// `<tag><a>,<b>`, without the formatting machinery (a logged rule writes one per match,
/// CRS's 920450 one per header name).
fn write_pair(out: &mut String, tag: char, a: usize, b: usize) {
    out.push(tag);
    crate::decimal::push_decimal(out, a as u64);
    out.push(',');
    crate::decimal::push_decimal(out, b as u64);
}

/// Where a value a rule's operator may run on comes from ([`Transaction::may_match`]).
pub(crate) enum Source<'v> {
    /// Output `i` of its variable's columns ([`super::columns`]).
    Output(u32),
    /// A phase's value of a whole variable (after the rule's chain).
    PhaseValue(&'v super::candidates::PhaseValue),
    /// An output a chain changed, with its kept record's key
    /// ([`super::transform_cache::Output`]).
    Kept(u64),
    Other,
}

/// The test of value `i` of a rule's target (`$v`, `$phase_value` when it is a phase value):
/// the operator on the value after the rule's chain, or on each stage for `multiMatch`;
/// whether it matched. A macro, not a method: the loop over each value of each rule is the
/// engine's hottest, and CRS's regression inputs took 3% more instructions with a call in it,
/// 1% more with an inlined method (and the struct of its arguments made for each target).
/// What it calls is inlined too (`#[inline(always)]`): with two callers, the compiler had
/// stopped inlining them (2% more).
macro_rules! test_value {
    ($tx:ident, $rule:expr, $op:expr, $variable:expr, $chain:expr, $slot:expr, $required:expr,
     $raw_misses:expr, $column:expr, $pure:expr, $i:expr, $v:expr, $phase_value:expr,
     $message:expr, $pending:expr) => {{
        let (rule, op, v): (&Rule, &crate::rule::RuleOperator, &Value) = ($rule, $op, $v);
        let phase_value: Option<&PhaseValue> = $phase_value;
        let bytes = phase_value.map(|p| &p.bytes);
        if rule.multi_match() || $chain == crate::rule::UNASSIGNED {
            // (a multiMatch rule's first stage, the value as it is, whose bytes are known
            // when it is a phase value, and whose scan may have told it lacks the literals)
            let raw_may_match =
                !$raw_misses && $required.zip(bytes).map_or(true, |(r, b)| r.meets(b));
            // (a text this rule did not match before: none of its stages matches)
            let (message, pending) = (&mut *$message, &mut *$pending);
            $tx.unless_missed($pure, rule, &v.value, phase_value, |tx| {
                // (a raw miss of the probe's is a text some step changes: told already)
                let loud = $raw_misses;
                tx.try_stages(rule, op, v, bytes, raw_may_match, loud, message, pending)
            })
        } else {
            // (the transformed value, when it is not the value's own buffer)
            let (changed, source) = match $column {
                Some(c) => {
                    let (changed, output) = $tx.changed_column_output($variable, c, $i, &v.value);
                    (changed, Source::Output(output))
                }
                None => match $tx.changed_output($chain, &v.value, phase_value) {
                    // (the value itself)
                    (None, _) => (None, phase_value.map_or(Source::Other, Source::PhaseValue)),
                    (changed, super::transform_cache::NOT_KEPT) => (changed, Source::Other),
                    (changed, kept) => (changed, Source::Kept(kept)),
                },
            };
            let candidate: &Bytes = changed.as_ref().unwrap_or(&v.value);
            if $slot != crate::matcher::NO_SLOT
                && $tx.rules.grouped_matching
                && !$tx.may_match($slot, $variable, candidate, source)
            {
                // the rule's regex does not match: nothing to record
                false
            } else {
                let (message, pending) = (&mut *$message, &mut *$pending);
                $tx.unless_missed($pure, rule, &v.value, phase_value, |tx| {
                    let seen = Seen::Shared(candidate);
                    tx.try_value(rule, op, v, seen, Stage::All, message, pending)
                })
            }
        }
    }};
}

/// What the test of each value of a rule's target needs: the rule's, the target's.
struct ValueTest<'a> {
    rule: &'a Rule,
    op: &'a crate::rule::RuleOperator,
    variable: V,
    chain: crate::chains::ChainId,
    slot: u64,
    /// Bytes one of which every match holds (grouped matching on).
    required: Option<&'a crate::regex::RequiredBytes>,
    column: Option<super::columns::Column>,
    exclusions: &'a [Target],
    check_removals: bool,
}

impl Transaction {
    /// Runs the rules of one SecLang phase (0 to 5).
    pub(crate) fn run_phase(&mut self, phase: u8) {
        match self.allow {
            AllowState::Transaction if phase != 5 => return,
            AllowState::Request if phase <= 2 => return,
            _ => {}
        }
        self.allow = AllowState::None;
        // the request's variables may have grown since the last phase (the body's arguments);
        // those of the request line and headers have not
        self.phase_values
            .retain(super::candidates::fixed_after_headers);
        super::columns::next_phase(&mut self.phase_columns);
        self.phase_tables.next_phase(self.rules.phase_keys);
        let rules = Arc::clone(&self.rules);
        let phase = usize::from(phase.min(5));
        let (decisions, passages) = match self.follow_plan(phase) {
            true => (
                &rules.plan.decisions[phase][..],
                &rules.plan.passages[phase][..],
            ),
            false => (&[][..], &[][..]),
        };
        let entries = &rules.phases[phase];
        let mut index = 0;
        while let Some(entry) = entries.get(index) {
            let at = index;
            index += 1;
            // (markers, missed and removed rules: passed at once while nothing looks for a
            // marker or removes rules of the stretch)
            if let Some(p) = passages.get(at).filter(|p| p.end as usize > at) {
                if self.marker.is_none()
                    && self.skip_next == 0
                    && self.allow == AllowState::None
                    && (self.removed_ids.is_empty() || !p.may_hold_any(&self.removed_ids))
                    && self.removed_tags.is_empty()
                {
                    index = p.end as usize;
                    if p.misses {
                        self.no_match();
                        // (as after any rule: a phase that starts after an interruption ends
                        // after its first rule)
                        if self.intervention.disruptive {
                            break;
                        }
                    }
                    continue;
                }
            }
            if let Some(marker) = &self.marker {
                if let Entry::Marker(name) = entry {
                    if **name == **marker {
                        self.marker = None;
                    }
                }
                continue;
            }
            if self.skip_next > 0 {
                self.skip_next -= 1;
                continue;
            }
            if self.allow != AllowState::None {
                continue;
            }
            let Entry::Rule(rule) = entry else { continue };
            if self.removed(rule) {
                continue;
            }
            match decisions.get(at) {
                Some(Decision::Run) | None => {
                    let tested = self.byte_test(rule);
                    let candidates = match tested {
                        Some(true) => None,
                        _ => self.candidate_test(rule),
                    };
                    if tested == Some(true)
                        || candidates == Some(true)
                        || self.a_link_cannot_match(rule)
                    {
                        self.no_match();
                        // (a rule told not to match was evaluated all the same: a phase that
                        // starts after an interruption ends after it, as libmodsecurity's
                        // loop breaks after any rule's evaluation)
                        if self.intervention.disruptive {
                            break;
                        }
                        continue;
                    }
                    // (a rule its byte and candidate tests let through is not asked the same
                    // again)
                    self.bytes_tested = tested.is_some();
                    self.candidates_tested = candidates.is_some();
                    self.current_rule_at = Some((phase, at));
                    let mut message = self.scratch.message.take().unwrap_or_default();
                    // (a chain that failed after a `multiMatch` line filled the message for
                    // that line: `log_multi_match`)
                    match self.evaluate_rule(rule, &mut message) {
                        false if self.multi_match_lines.is_empty() => {
                            message.empty_after_no_match()
                        }
                        _ => message.empty(),
                    }
                    self.scratch.message = Some(message);
                    debug_assert_eq!(
                        self.scratch.deferred_references.len(),
                        0,
                        "a rule's deferred [ref] pieces outlive it"
                    );
                    // a chain that did not match in full writes no line (see `log_multi_match`)
                    self.multi_match_lines.clear();
                    self.current_rule_at = None;
                }
                // decided at load: what its evaluation would leave, unless a `ctl` removed it
                Some(_) if self.removed_by_id(rule.id) => {}
                Some(Decision::Miss) => {
                    self.no_match();
                }
                Some(Decision::Hit {
                    matched,
                    jump_past,
                    setvars,
                }) => {
                    if *setvars {
                        self.current_rule_at = Some((phase, at));
                    }
                    let follows = rules.plan.follows[*matched as usize];
                    if !*setvars && self.matched_vars().is_empty() {
                        // (what it matched, as the plan keeps it: not copied)
                        self.matched_planned = Some(*matched);
                    } else if let Some((_, joined)) = follows
                        .filter(|(before, _)| !*setvars && self.matched_planned == Some(*before))
                    {
                        // (after the hit before it: the plan's join of the two records)
                        self.matched_planned = Some(joined);
                    } else {
                        for e in rules.plan.matched[*matched as usize].iter() {
                            // (as evaluation does: once per value matched, `MATCHED_VAR` its
                            // own)
                            self.own_matched_vars().add_shared(
                                e.name.clone(),
                                e.value.clone(),
                                None,
                            );
                            if *setvars {
                                self.run_setvars(rule);
                            }
                        }
                    }
                    if *setvars {
                        if rule.operator.is_none() {
                            // a `SecAction` matches no value
                            self.run_setvars(rule);
                        }
                        self.current_rule_at = None;
                    }
                    if let Some(m) = jump_past {
                        index = *m as usize + 1;
                    }
                }
            }
            if self.intervention.disruptive {
                break;
            }
        }
    }

    /// `ctl:ruleRemoveById` names this rule (a chain starter's id).
    fn removed_by_id(&self, id: u64) -> bool {
        id != 0 && self.removed_ids.iter().any(|r| r.contains(id))
    }

    /// [`Self::removed_by_id`] of a chain starter the phase loop reached, asked only when
    /// the transaction has such removals.
    #[inline]
    pub(crate) fn removed_at_run_time(&self, rule: &Rule) -> bool {
        !self.removed_ids.is_empty() && self.removed_by_id(rule.id)
    }

    /// Whether this run of a phase follows the rule set's [`crate::plan::Plan`], which holds
    /// for phases run once each, in order, from an empty `TX`; phase 1 then starts from the
    /// plan's `TX`.
    fn follow_plan(&mut self, phase: usize) -> bool {
        let phase = phase as u8;
        let follows = self.rules.static_decisions
            && match phase {
                1 => {
                    self.planned_through == 0
                        && self.tx.is_empty()
                        && self.marker.is_none()
                        && self.skip_next == 0
                }
                _ => self.planned_through >= 1 && phase > self.planned_through,
            };
        if !follows {
            self.planned_through = 0;
            return false;
        }
        if phase == 1 {
            if let Some(tx) = &self.rules.plan.snapshot {
                // (the thread's last `TX`, made a copy of this one again as its transaction
                // ended: taken as it is when it is this rule set's plan's, else its elements
                // that still are its are kept; a second copy of the same was ~1,300
                // instructions a request)
                let mut fresh = false;
                if !self.spare_tx.is_empty() {
                    std::mem::swap(&mut self.tx, &mut self.spare_tx);
                    fresh = self.spare_tx_of == self.rules.id;
                    self.spare_tx_of = 0;
                }
                if !fresh {
                    // (room for the elements CRS's rules add in a transaction: ~25 on a
                    // request with a few headers)
                    self.tx.copy_with_room(tx, 64);
                }
                debug_assert!(self.tx == *tx, "TX is the plan's at phase 1");
            }
        }
        self.planned_through = phase;
        true
    }

    /// The rule (chain starter) being evaluated, if any.
    pub(crate) fn current_rule(&self) -> Option<&Rule> {
        let (phase, index) = self.current_rule_at?;
        match self.rules.phases[phase].get(index)? {
            Entry::Rule(rule) => Some(rule),
            Entry::Marker(_) => None,
        }
    }

    /// `SecRuleRemoveBy*` and `ctl:ruleRemoveByTag`.
    fn removed(&self, rule: &Rule) -> bool {
        let by_config = match rule.static_exceptions.get() {
            Some(s) => s.removed,
            None => exceptions::removed(
                &self.rules.exceptions,
                rule,
                |tag| self.has_tag(rule, tag),
                || rule.msg().map(|m| self.expand_to_string(m)),
            ),
        };
        by_config
            || self
                .removed_tags
                .iter()
                .any(|(tag, bit)| self.has_removed_tag(rule, tag, *bit))
    }

    fn has_tag(&self, rule: &Rule, tag: &str) -> bool {
        rule.all_tags().any(|t| self.expands_to(t, tag))
    }

    /// [`Self::has_tag`] for a `ctl` removal's tag, whose [`crate::rule::tag_bit`] is kept
    /// with it: the rule's tag bloom answers most rules without a comparison.
    fn has_removed_tag(&self, rule: &Rule, tag: &str, bit: u64) -> bool {
        rule.may_have_tag(bit) && self.has_tag(rule, tag)
    }

    fn has_msg(&self, rule: &Rule, msg: &str) -> bool {
        rule.msg().is_some_and(|m| self.expands_to(m, msg))
    }

    /// The rule's targets, with `SecRuleUpdateTargetBy*` additions, minus whole-target
    /// removals; the exclusions that apply to its values; and whether each target must still be
    /// checked against this transaction's `ctl:ruleRemoveTarget*` (CRS's 941010 removes
    /// REQUEST_FILENAME from ~26 rules on most requests). Borrowed (nothing copied) unless the
    /// configuration's exceptions depend on a macro (a tag or `msg` that
    /// `SecRuleUpdateTargetByTag/ByMsg` compare): those are worked out at each evaluation.
    fn targets_of<'r>(&self, rule: &'r Rule) -> (Cow<'r, [Target]>, Cow<'r, [Target]>, bool) {
        let own = (&rule.targets[..], &rule.exclusions[..]);
        let (targets, exclusions) = match rule.static_exceptions.get() {
            Some(StaticExceptions {
                targets: Some((t, x)),
                ..
            }) => (Cow::Borrowed(&t[..]), Cow::Borrowed(&x[..])),
            Some(_) => (Cow::Borrowed(own.0), Cow::Borrowed(own.1)),
            None => {
                let chain_id = self.current_rule().map_or(rule.id, |r| r.id);
                let updates = exceptions::updates(
                    &self.rules.exceptions,
                    rule,
                    chain_id,
                    |tag| self.has_tag(rule, tag),
                    |msg| self.has_msg(rule, msg),
                );
                match exceptions::apply(rule, &updates) {
                    Some((t, x)) => (Cow::Owned(t), Cow::Owned(x)),
                    None => (Cow::Borrowed(own.0), Cow::Borrowed(own.1)),
                }
            }
        };
        (targets, exclusions, self.runtime_removals_apply(rule))
    }

    /// Whether some `ctl:ruleRemoveTargetById`/`ByTag` of this transaction names this rule.
    #[inline]
    pub(crate) fn runtime_removals_apply(&self, rule: &Rule) -> bool {
        // (CRS's 941010 removes a target from the rules of one tag on most requests: a rule
        // without that tag's bit is answered by its tag bits, without a walk of the removals)
        if self.removed_targets_by_id.is_empty()
            && !rule.may_have_tag(self.removed_targets_tag_bits)
        {
            return false;
        }
        self.target_removed_at_run_time_by(rule, |_| true)
    }

    /// `ctl:ruleRemoveTargetById`/`ByTag` naming a target (`ARGS:x`, or a whole `ARGS`) for
    /// which `is_name` holds.
    #[inline(always)]
    fn target_removed_at_run_time_by(
        &self,
        rule: &Rule,
        is_name: impl Fn(&crate::rule::RemovedTarget) -> bool,
    ) -> bool {
        // (most transactions have none; a removal by tag, as 941010's is, asks no chain
        // starter)
        let by_id = || {
            let id = self.current_rule().map_or(rule.id, |r| r.id);
            self.removed_targets_by_id
                .iter()
                .any(|(r, t)| r.contains(id) && is_name(t))
        };
        (!self.removed_targets_by_id.is_empty() && by_id())
            || self
                .removed_targets_by_tag
                .iter()
                .any(|(tag, t, bit)| is_name(t) && self.has_removed_tag(rule, tag, *bit))
    }

    /// `ctl:ruleRemoveTargetById`/`ByTag` naming `target` (its whole name, which starts with
    /// its variable's: one naming another variable is told by the variables). A `/regex/`
    /// target is named by none: libmodsecurity names it `ARGS:regex(ab)`, which the removal's
    /// text cannot spell (no `(` loads there).
    fn target_removed_at_run_time(&self, rule: &Rule, target: &Target) -> bool {
        if matches!(target.selector, Some(CompiledSelector::Regex(..))) {
            return false;
        }
        self.target_removed_at_run_time_by(rule, |t| {
            t.variable == Some(target.variable) && t.name.eq_ignore_ascii_case(&target.full_name)
        })
    }

    /// Whether an exclusion removes this value. As in libmodsecurity, a `/regex/` exclusion
    /// is tried on the element name of every target (`!REQUEST_COOKIES:/__utm/` also removes
    /// `REQUEST_COOKIES_NAMES:__utma`); a named one on the whole name (`ARGS:id`, compared
    /// case-insensitively). `check_removals`: whether a run-time removal may apply to the rule
    /// at all ([`Transaction::runtime_removals_apply`]); CRS's 941010 sets one on most
    /// requests, and without this each value of each rule compared its name with it.
    #[inline(always)]
    fn excluded(
        &self,
        rule: &Rule,
        exclusions: &[Target],
        v: &Value,
        check_removals: bool,
    ) -> bool {
        for e in exclusions {
            let hit = match &e.selector {
                Some(CompiledSelector::Regex(re, _)) => {
                    v.element.as_ref().is_some_and(|el| re.is_match(el))
                }
                // an element of the excluded variable: its name is the key's (`!REQUEST_
                // HEADERS:Referer` is tried on each header, and the variable's name compared
                // again each time was most of it)
                Some(CompiledSelector::Key(k, _)) if matches!(v.name, ValueName::Element(var) if var == e.variable) => {
                    v.element_eq_ignore_case(k, &e.full_name)
                }
                // a value of another variable cannot have this name: no text compared
                _ => match v.name {
                    ValueName::Element(var) | ValueName::Scalar(var) if var != e.variable => false,
                    _ => v.key_eq_ignore_case(&e.full_name),
                },
            };
            if hit {
                return true;
            }
        }
        check_removals && self.target_removed_at_run_time_by(rule, |t| v.is_named_by(t))
    }

    /// [`test_value!`] over the values of a large variable, each text once (an operator that
    /// [`crate::rule::RuleOperator::answers_by_text`]): a value whose text an earlier value
    /// did not match is passed by. (A loop of its own: the
    /// test of each value's text in the loop of every rule cost CRS's regression inputs 1.2%
    /// more instructions, though few of them have a variable so large.)
    #[inline(never)]
    fn test_texts_once(
        &mut self,
        t: &ValueTest<'_>,
        values: &[PhaseValue],
        message: &mut RuleMessage,
        pending: &mut String,
    ) -> bool {
        // the texts found not to match, a bit each at their first value
        let mut no_match = std::mem::take(&mut self.scratch.no_match);
        no_match.clear();
        no_match.resize(values.len().div_ceil(64), 0);
        let mut raw_misses = std::mem::take(&mut self.scratch.raw_misses);
        raw_misses.clear();
        // (whether some texts may be marked before the loop)
        let mut marked = false;
        if let Some(column) = t.column.filter(|_| t.slot != crate::matcher::NO_SLOT) {
            // (a member of the grouped matcher: the texts without its literals, at once)
            marked = true;
            if !self.mark_non_candidates(t.variable, column, values, t.slot, &mut no_match) {
                self.scratch.no_match = no_match;
                self.scratch.raw_misses = raw_misses;
                return false;
            }
        }
        let probe = t
            .rule
            .raw_probe_slot
            .load(std::sync::atomic::Ordering::Relaxed);
        let raw_test = match probe {
            crate::matcher::NO_SLOT if t.rule.multi_match() && !t.op.negated => {
                t.op.operator.quick_rule_out().map(RawTest::Quick)
            }
            crate::matcher::NO_SLOT => None,
            slot => Some(RawTest::Probe(slot)),
        };
        if let Some(test) = raw_test.filter(|_| self.rules.grouped_matching) {
            // (a multiMatch rule: when the whole variable tells that it can match none of its
            // values, done; else the texts whose value as it is it cannot match, at once, and
            // of those the ones no step changes, which it cannot match at all)
            if self.no_value_can_match(t.variable, values, (test, t.required), t.chain) {
                self.scratch.no_match = no_match;
                self.scratch.raw_misses = raw_misses;
                return false;
            }
            raw_misses.resize(no_match.len(), 0);
            let (misses, no_match) = (&mut raw_misses, &mut no_match);
            let test = (test, t.required);
            marked = true;
            self.mark_raw_misses(t.variable, values, test, t.chain, misses, no_match);
        }
        // (the values whose texts are not yet known to miss, when the columns tell them; with
        // no marks, every value)
        let mut live = std::mem::take(&mut self.scratch.live);
        let by_live = marked && self.live_values(t.variable, values, &no_match, &mut live);
        let mut matched = false;
        let mut next = 0;
        while let Some(i) = next_live(&live, by_live, next, values.len()) {
            next = i + 1;
            let p = &values[i];
            let first = p.same_as as usize;
            let bit = 1 << (first % 64);
            if no_match[first / 64] & bit != 0 {
                continue;
            }
            let raw_missed = raw_misses.get(first / 64).is_some_and(|w| w & bit != 0);
            if self.excluded(t.rule, t.exclusions, &p.value, t.check_removals) {
                continue;
            }
            let hit = test_value!(
                self,
                t.rule,
                t.op,
                t.variable,
                t.chain,
                t.slot,
                t.required,
                raw_missed,
                t.column,
                // (a large variable's texts: tested once each, and seldom seen again)
                false,
                i,
                &p.value,
                Some(p),
                message,
                pending
            );
            matched |= hit;
            if !hit && first == i {
                no_match[i / 64] |= 1 << (i % 64);
            }
        }
        self.scratch.no_match = no_match;
        self.scratch.raw_misses = raw_misses;
        self.scratch.live = live;
        matched
    }

    /// Runs the operator on the values it sees of `input` (`v`'s value): the fully transformed
    /// value, or with `multiMatch` the original and every value a transformation changed, in
    /// that order; whether one matched.
    ///
    /// (`multiMatch` rules, CRS's 930110 and 942100 among them, run on every argument: the
    /// original is shared, not copied, and each stage is tested in the step buffers as it comes
    /// out of its step, copied only when a match keeps it. The operator cannot change what a
    /// transformation gives, so testing each stage before the next one is computed is what
    /// libmodsecurity's "all stages, then each" comes to.) `raw_may_match`: `false` when a
    /// `multiMatch` rule's operator cannot match the value as it is (it lacks every byte one
    /// of which each match holds), whose stage is then not tested. `loud`: some step is
    /// known to raise its "changed" flag on the value (not asked again).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn try_stages(
        &mut self,
        rule: &Rule,
        op: &crate::rule::RuleOperator,
        v: &Value,
        bytes: Option<&ByteSet>,
        raw_may_match: bool,
        loud: bool,
        message: &mut RuleMessage,
        pending: &mut String,
    ) -> bool {
        let input = &v.value;
        let multi = rule.multi_match();
        let mut matched = false;
        // a stage without one of the operator's literals is not tested (a multiMatch rule is
        // outside the grouped matcher, whose scan tells the other rules so)
        let prefiltered = multi && !op.negated && self.rules.grouped_matching;
        let may_match = |stage: &[u8]| !(prefiltered && op.operator.lacks_literals(stage));
        if multi {
            if raw_may_match && may_match(input) {
                let raw = Seen::Shared(input);
                matched |= self.try_value(rule, op, v, raw, Stage::Raw, message, pending);
            }
            // the value's bytes are known (all of a fixed variable) and no step can act on
            // them or raise its flag: the raw value is the only stage, told without a scan
            // (but for the steps told by the value's shape, `t:base64Decode`)
            let chain = rule
                .transformation_chain
                .load(std::sync::atomic::Ordering::Relaxed);
            if !loud && bytes.is_some_and(|b| self.rules.chains.quiet_for(chain, b, input)) {
                return matched;
            }
        }
        // (the transaction's own step buffers, kept from value to value)
        let mut steps = std::mem::take(&mut self.scratch.steps);
        // `transformed` is false while every step so far left the input as it is: most values
        // hold nothing a decoder acts on, and those steps are neither run nor copied (for
        // multiMatch, only a step whose "changed" flag is known to stay down:
        // `reports_unchanged`). Once one ran, `current` holds the value.
        let [current, next] = &mut steps;
        let mut transformed = false;
        // the stage, while it is a shared buffer: a long value's stages come from the
        // transaction's memo of each step ([`Transaction::step_output`]), which the other
        // `multiMatch` rules and the chains of the rest share (2 KB of `%25` went through
        // `t:urlDecodeUni` in each of CRS's `multiMatch` rules)
        let mut shared: Option<Bytes> = None;
        for (i, (name, f)) in rule.transformations.iter().enumerate() {
            let from = match &shared {
                Some(s) => &s[..],
                None if transformed => &current[..],
                None => &input[..],
            };
            // the raw value's bytes, when known, tell most steps without a scan (a value of
            // words and spaces, for 934100's `t:urlDecodeUni,t:jsDecode,t:removeWhitespace`)
            let (acted_on, flagged_by) = crate::transformations::known_sets(*name);
            let quiet_set = if multi { flagged_by } else { acted_on };
            let told = bytes
                .filter(|_| !transformed)
                .zip(quiet_set)
                .is_some_and(|(b, q)| !q.intersects(b));
            let skip = told
                || if multi {
                    crate::transformations::reports_unchanged(*name, from)
                } else {
                    crate::transformations::leaves_unchanged(*name, from)
                };
            if skip {
                continue;
            }
            if from.len() >= super::transform_cache::STEP_MEMO_MIN
                && (shared.is_some() || !transformed)
            {
                let stage_input = shared.take().unwrap_or_else(|| input.clone());
                let (output, changed) = self.step_output(*name, *f, &stage_input);
                transformed = true;
                if multi && changed && may_match(&output) {
                    let stage = Seen::Shared(&output);
                    matched |= self.try_value(rule, op, v, stage, Stage::One(i), message, pending);
                }
                shared = Some(output);
                continue;
            }
            if let Some(s) = shared.take() {
                // (shorter now: on in the step buffers)
                current.clear();
                current.extend_from_slice(&s);
            }
            let from = match transformed {
                true => &current[..],
                false => &input[..],
            };
            let changed = self.apply_transformation(*name, *f, from, next);
            // The output is always the new value; the "changed" flag (libmodsecurity's, not
            // always "output differs": t:cmdLine never sets it) only decides which values
            // multiMatch tests.
            std::mem::swap(current, next);
            transformed = true;
            if multi && changed && may_match(current) {
                let stage = Seen::Scratch(&current[..]);
                matched |= self.try_value(rule, op, v, stage, Stage::One(i), message, pending);
            }
        }
        if !multi {
            let all = match &shared {
                Some(s) => Seen::Shared(s),
                None if transformed => Seen::Scratch(&current[..]),
                None => Seen::Shared(input),
            };
            matched |= self.try_value(rule, op, v, all, Stage::All, message, pending);
        }
        self.scratch.steps = steps;
        matched
    }

    /// A match's part of `[ref]` after the operator's ranges: where the value came from
    /// (`v<offset>,<len>` per origin) and the transformations (`t:a,t:b`), as libmodsecurity's
    /// `RuleWithOperator::evaluate` appends them.
    fn write_reference(&self, out: &mut String, rule: &Rule, origin: Origin, stage: Stage) {
        match origin {
            Origin::None => {}
            Origin::One(offset, len) => write_pair(out, 'v', offset, len),
            Origin::Scalar(v) => {
                for &(offset, len) in &self.scalar_origins[v as usize] {
                    write_pair(out, 'v', offset, len);
                }
            }
        }
        match stage {
            Stage::Raw => {}
            Stage::One(i) => {
                out.push_str("t:");
                out.push_str(rule.transformations[i].0.as_str());
            }
            Stage::All => {
                // `t:a,t:b`, written in place (this ran on every match of a logged rule)
                for (i, (name, _)) in rule.transformations.iter().enumerate() {
                    out.push_str(if i == 0 { "t:" } else { ",t:" });
                    out.push_str(name.as_str());
                }
            }
        }
    }

    /// Runs the operator on one (transformed) value; on a match, records it as libmodsecurity
    /// does (message, `[ref]`, `MATCHED_VAR*`, per-match `setvar`s) and returns `true`.
    #[allow(clippy::too_many_arguments)]
    fn try_value(
        &mut self,
        rule: &Rule,
        op: &crate::rule::RuleOperator,
        v: &Value,
        candidate: Seen,
        stage: Stage,
        message: &mut RuleMessage,
        pending: &mut String,
    ) -> bool {
        // (the ranges' vector is the transaction's, kept from value to value: given back
        // once written)
        let mut ranges = std::mem::take(&mut self.scratch.ranges);
        ranges.clear();
        let capture = rule.capture();
        // (a negated operator's ranges when it matches: see `DeferredRanges`)
        let defer = op.negated && !capture && !rule.multi_match() && op.defers_ranges();
        let hit = {
            let subject = match candidate {
                Seen::Shared(b) => Some(b),
                Seen::Scratch(_) => None,
            };
            let mut cx = OperatorCx {
                tx: self,
                capture,
                ranges: &mut ranges,
                subject,
                // (a match of a rule no line will print keeps no ranges)
                ranges_wanted: match op.negated || rule.multi_match() {
                    true => Some(!defer),
                    false => None,
                },
            };
            op.operator.evaluate(&mut cx, candidate.bytes())
        } != op.negated;
        if !hit {
            // libmodsecurity appends an operator's ranges as it reports them, match or not
            // (`!@rx` that found something); with multiMatch the reference is emptied after
            // each line, so they go to the next line
            if defer {
                self.scratch
                    .deferred_ranges
                    .push(message.reference.len(), candidate.bytes());
            } else if rule.multi_match() {
                write_ranges(pending, &ranges);
            } else {
                write_ranges(&mut message.reference, &ranges);
            }
            self.scratch.ranges = ranges;
            return false;
        }
        // a multiMatch rule logs each match as it happens, whatever its log flags
        if !self.message_needed() && !rule.multi_match() {
            // nothing will print this match: only what rules can read of it is kept
            self.scratch.ranges = ranges;
            pending.clear();
            self.record_matched_var(v, candidate.shared());
            self.run_setvars(rule);
            return true;
        }
        // A chain starter's match text is never read: when its chain matches, the last link
        // writes its own over it, and a chain that fails logs nothing (CRS's 920450 matches
        // every header name, and its chain almost never).
        let overwritten = rule.chains
            && !rule.multi_match()
            && rule.chain.as_ref().is_some_and(|c| c.operator.is_some());
        if !overwritten {
            message.matched = self.match_text(op, v);
        }
        message.reference.push_str(pending);
        pending.clear();
        if overwritten && !op.negated && rule.links_log_nothing() {
            // (written if the chain matches: [`DeferredReferences`])
            let at = message.reference.len();
            self.scratch
                .deferred_references
                .push(at, &ranges, v.origin, stage);
            self.scratch.ranges = ranges;
        } else {
            write_ranges(&mut message.reference, &ranges);
            self.scratch.ranges = ranges;
            let mut reference = std::mem::take(&mut message.reference);
            self.write_reference(&mut reference, rule, v.origin, stage);
            message.reference = reference;
        }
        self.record_matched_var(v, candidate.shared());
        self.run_setvars(rule);
        if rule.multi_match() {
            self.log_multi_match(rule, message);
        }
        true
    }

    /// The ranges of the values a negated rule's operator matched ([`DeferredRanges`]),
    /// worked out again and written in their places in `[ref]`, now that the rule matched
    /// another value: what writing them as they were found would have given.
    fn write_deferred_ranges(&mut self, op: &crate::rule::RuleOperator, message: &mut RuleMessage) {
        let deferred = std::mem::take(&mut self.scratch.deferred_ranges);
        let mut ranges = std::mem::take(&mut self.scratch.ranges);
        let mut text = String::new();
        // (from the last: each insertion leaves the places before it where they were)
        for &(reference_at, start, end) in deferred.at.iter().rev() {
            let value = &deferred.bytes[start..end];
            ranges.clear();
            let mut cx = OperatorCx {
                tx: self,
                capture: false,
                ranges: &mut ranges,
                subject: None,
                ranges_wanted: Some(true),
            };
            let found = op.operator.evaluate(&mut cx, value);
            debug_assert!(found, "a deferred value is one the operator matched");
            text.clear();
            write_ranges(&mut text, &ranges);
            message.reference.insert_str(reference_at, &text);
        }
        self.scratch.ranges = ranges;
        self.scratch.deferred_ranges = deferred;
    }

    /// The `[ref]` pieces of `rule`'s matches from the `from`th deferred on
    /// ([`DeferredReferences`]), written in their places now that its chain matched; what
    /// writing them at each match would have given.
    fn write_deferred_references(&mut self, rule: &Rule, from: usize, message: &mut RuleMessage) {
        let mut deferred = std::mem::take(&mut self.scratch.deferred_references);
        let mut text = String::new();
        // (from the last: each insertion leaves the places before it where they were)
        for &(reference_at, start, end, origin, stage) in deferred.at[from..].iter().rev() {
            text.clear();
            write_ranges(&mut text, &deferred.ranges[start as usize..end as usize]);
            self.write_reference(&mut text, rule, origin, stage);
            message.reference.insert_str(reference_at, &text);
        }
        deferred.truncate(from);
        self.scratch.deferred_references = deferred;
    }

    /// libmodsecurity's text for a match (`Matched "Operator ...`).
    fn match_text(&self, op: &crate::rule::RuleOperator, v: &Value) -> String {
        match op.name.as_str() {
            // libinjection's operators have their own match text
            "DetectSQLi" => "detected SQLi using libinjection.".to_string(),
            "DetectXSS" => "detected XSS using libinjection.".to_string(),
            _ => {
                let param = if op.argument.has_macros() {
                    Cow::Owned(self.expand_to_string(&op.argument))
                } else {
                    Cow::Borrowed(op.argument.raw.as_ref())
                };
                // (pieces pushed: see `RuleMessage::log_line`)
                let mut text = String::with_capacity(160 + param.len().min(230));
                text.push_str("Matched \"Operator `");
                text.push_str(&op.name);
                text.push_str("' with parameter `");
                text.push_str(&limit_to(200, &param));
                text.push_str("' against variable `");
                text.push_str(&v.key());
                text.push_str("' (Value: `");
                text.push_str(&limit_to(100, &hex_if_needed(&v.value)));
                text.push_str("' )");
                text
            }
        }
    }

    /// A matching value's `MATCHED_VAR_NAME` (`ARGS:id`), as a shared buffer. A collection
    /// element's is kept for the rest of the transaction: CRS's paranoia-level checks match
    /// `TX:detection_paranoia_level` dozens of times a request, and each built it anew.
    fn matched_name(&mut self, v: &Value) -> Bytes {
        let (ValueName::Element(variable), Some(element)) = (&v.name, &v.element) else {
            return v.key_bytes();
        };
        // the element's buffer is kept with its name: the address cannot serve another
        // element while the entry lives
        let key = (*variable, element.as_ptr() as usize, element.len());
        if let Some((_, name)) = self.matched_names.get(&key) {
            return Bytes::clone(name);
        }
        let name = v.key_bytes();
        if self.matched_names.len() < MATCHED_NAMES_KEPT {
            self.matched_names
                .insert(key, (Bytes::clone(element), Bytes::clone(&name)));
        }
        name
    }

    /// One more `MATCHED_VARS` element for a match of `v` (as the operator saw it: `value`),
    /// which is then `MATCHED_VAR` and `MATCHED_VAR_NAME`.
    fn record_matched_var(&mut self, v: &Value, value: Bytes) {
        let name = self.matched_name(v);
        self.own_matched_vars().add_shared(name, value, None);
    }

    /// `MATCHED_VARS` (and its last element, `MATCHED_VAR`).
    pub(crate) fn matched_vars(&self) -> &crate::collection::Collection {
        match self.matched_planned {
            Some(i) => &self.rules.plan.matched[i as usize],
            None => &self.matched_vars,
        }
    }

    /// `MATCHED_VARS` to add to: the plan's record it was is copied first.
    fn own_matched_vars(&mut self) -> &mut crate::collection::Collection {
        if let Some(i) = self.matched_planned.take() {
            self.matched_vars
                .copy_with_room(&self.rules.plan.matched[i as usize], 0);
        }
        &mut self.matched_vars
    }

    /// A rule that did not match leaves no `MATCHED_VAR`/`MATCHED_VARS`; returns `false`.
    pub(crate) fn no_match(&mut self) -> bool {
        self.matched_planned = None;
        self.matched_vars.clear();
        false
    }

    /// Evaluates one rule (and its chain); returns whether it matched.
    pub(crate) fn evaluate_rule(&mut self, rule: &Rule, message: &mut RuleMessage) -> bool {
        // (for this rule only, not its chain's links)
        let bytes_tested = std::mem::take(&mut self.bytes_tested);
        let candidates_tested = std::mem::take(&mut self.candidates_tested);
        // ctl:ruleRemoveById: libmodsecurity skips the rule and reports it as matched.
        if !self.removed_ids.is_empty()
            && self.removed_by_id(self.current_rule().map_or(rule.id, |r| r.id))
        {
            return true;
        }
        let Some(op) = &rule.operator else {
            // SecAction: unconditional
            self.run_setvars(rule);
            self.after_full_match(rule, message);
            return true;
        };
        // (a rule on one short value: the thread's memo may know it finds no match in it)
        let memo_slot = rule.memo_slot.load(std::sync::atomic::Ordering::Relaxed);
        let mut remember = None;
        if memo_slot != super::NO_MEMO {
            match self.ask_memo(rule, memo_slot) {
                super::memo::Asked::NoMatch => return self.no_match(),
                super::memo::Asked::Unknown(value, argument) => remember = Some((value, argument)),
                super::memo::Asked::Off => {}
            }
        }
        let (targets, exclusions, check_removals) = self.targets_of(rule);
        let chain = rule
            .transformation_chain
            .load(std::sync::atomic::Ordering::Relaxed);
        let slot = rule.matcher_slot.load(std::sync::atomic::Ordering::Relaxed);
        debug_assert!(op.required.as_ref() == op.operator.required_bytes());
        // (the bytes one of which every match holds, when the grouped matcher is on)
        let required =
            match self.rules.grouped_matching && chain != crate::rule::UNASSIGNED && !op.negated {
                true => op.required.as_ref(),
                false => None,
            };
        if let Some(required) = required.filter(|_| !bytes_tested) {
            if self.no_value_has_bytes(rule, &targets, chain, required) {
                // no value of its variables has a byte every match needs (at any stage, for
                // multiMatch)
                return self.no_match();
            }
        }
        // (first: a byte test costs less than the group's scan of every value)
        if slot != crate::matcher::NO_SLOT
            && self.rules.grouped_matching
            && chain != crate::rule::UNASSIGNED
            && !candidates_tested
            && self.no_candidate_value(rule, &targets, chain, slot)
        {
            // no value of its variables has one of its literals: the rule cannot match
            return self.no_match();
        }
        // (an answer of the text alone: kept when it is "no")
        let pure = self.rules.grouped_matching && op.answers_by_text();
        let mut matched = false;
        // (this rule's `[ref]` pieces that wait for its chain, from here on)
        let deferred_from = self.scratch.deferred_references.len();
        let mut values = std::mem::take(&mut self.scratch.values);
        // multiMatch: ranges reported by evaluations that did not match, for the next line
        let mut pending = String::new();
        for target in targets.iter() {
            if check_removals && self.target_removed_at_run_time(rule, target) {
                continue;
            }
            values.clear();
            // all of a fixed variable: resolved once per phase, with each value's bytes
            let shared = self.shared_values(rule, target);
            if shared.is_none() {
                self.resolve(rule, target, &mut values);
            }
            let count = shared.as_ref().map_or(values.len(), |s| s.len());
            // the values after the rule's chain, by position ([`super::columns`])
            let column = match &shared {
                Some(s)
                    if s.len() >= super::candidates::COLUMN_MIN_VALUES
                        && !rule.multi_match()
                        && chain != crate::rule::UNASSIGNED =>
                {
                    Some(self.column(target.variable, s, chain))
                }
                _ => None,
            };
            if let Some(s) = shared
                .as_ref()
                // a large variable (its values' `same_as` known) and an operator that answers
                // by the text alone: each text is tested once
                .filter(|_| count >= super::candidates::COLUMN_MIN_VALUES && op.answers_by_text())
            {
                let test = ValueTest {
                    rule,
                    op,
                    variable: target.variable,
                    chain,
                    slot,
                    required,
                    column,
                    exclusions: &exclusions,
                    check_removals,
                };
                matched |= self.test_texts_once(&test, s, message, &mut pending);
            } else {
                for i in 0..count {
                    let (v, phase_value) = match &shared {
                        Some(s) => (&s[i].value, Some(&s[i])),
                        None => (&values[i], None),
                    };
                    if self.excluded(rule, &exclusions, v, check_removals) {
                        continue;
                    }
                    matched |= test_value!(
                        self,
                        rule,
                        op,
                        target.variable,
                        chain,
                        slot,
                        required,
                        false,
                        column,
                        pure && count < super::candidates::COLUMN_MIN_VALUES,
                        i,
                        v,
                        phase_value,
                        message,
                        &mut pending
                    );
                }
            }
            if let Some(s) = shared {
                self.give_back_phase_values(target.variable, s);
            }
        }
        values.clear();
        super::spare::put_back(&mut self.scratch.values, values);
        if !self.scratch.deferred_ranges.is_empty() {
            if matched && self.message_needed() {
                self.write_deferred_ranges(op, message);
            }
            self.scratch.deferred_ranges.clear();
        }
        if !matched {
            if let Some((value, argument)) = remember {
                self.keep_in_memo(memo_slot, value, argument);
            }
            return self.no_match();
        }
        if rule.chains {
            if self.starter_only {
                self.scratch.deferred_references.truncate(deferred_from);
                return true;
            }
            // a `chain` with no rule after it never matches (libmodsecurity: "Rule is marked
            // as chained but there isn't a subsequent rule")
            match &rule.chain {
                Some(child) if self.evaluate_rule(child, message) => {}
                _ => {
                    self.scratch.deferred_references.truncate(deferred_from);
                    return false;
                }
            }
            if self.scratch.deferred_references.len() > deferred_from {
                self.write_deferred_references(rule, deferred_from, message);
            }
        }
        self.after_full_match(rule, message);
        true
    }
}

/// The first value from `from` on (of `n`) whose bit is set in `live`, or from `from` on
/// when `by_live` is false ([`Transaction::test_texts_once`]).
fn next_live(live: &[u64], by_live: bool, from: usize, n: usize) -> Option<usize> {
    if from >= n {
        return None;
    }
    if !by_live {
        return Some(from);
    }
    let mut word = from / 64;
    let mut bits = live[word] & (u64::MAX << (from % 64));
    while bits == 0 {
        word += 1;
        bits = *live.get(word)?;
    }
    let i = word * 64 + bits.trailing_zeros() as usize;
    (i < n).then_some(i)
}

#[cfg(test)]
mod tests {
    use crate::transaction::test_log;

    /// `next_live` visits the values whose bits are set, in order, across words, and none
    /// past the last value; without the bits, every value.
    #[test]
    fn next_live_visits_the_set_bits_in_order() {
        let n: usize = 200;
        let set = [0usize, 5, 63, 64, 130, 199];
        let mut live = vec![0u64; n.div_ceil(64)];
        for &i in &set {
            live[i / 64] |= 1 << (i % 64);
        }
        // (a bit past the last value)
        live[3] |= 1 << 10;
        let mut seen = Vec::new();
        let mut next = 0;
        while let Some(i) = super::next_live(&live, true, next, n) {
            seen.push(i);
            next = i + 1;
        }
        assert_eq!(seen, set);
        assert_eq!(super::next_live(&live, true, 6, n), Some(63));
        // (past 130, only the bit past the last value: none)
        live[3] &= !(1 << (199 % 64));
        assert_eq!(super::next_live(&live, true, 131, n), None);
        assert_eq!(super::next_live(&live, false, 7, n), Some(7));
        assert_eq!(super::next_live(&live, false, n, n), None);
    }

    /// The `[ref "..."]` of each log line for a GET request (HTTP/1.1) with these headers.
    fn refs(rules: &str, uri: &str, headers: &[(&str, &str)]) -> Vec<String> {
        let lines = test_log::lines(rules, test_log::get(uri, headers));
        lines.iter().map(|l| test_log::field(l, "ref")).collect()
    }

    // Expected values: libmodsecurity 3.0.15's output for the same rules and request
    // (tests/oracle/txn.sh; tests/oracle/FINDINGS.md, "Transactions").

    /// An operator's argument is expanded for each value: a `setvar` of the rule's match (run
    /// at that value, before the next is tested) changes what the next values are tested
    /// against. `z` matches and widens the list, so `b` and `c` match too. (A memo of the
    /// expansion for the rule's values, tried on 2026-12-04, must be dropped at such a
    /// `setvar`: this fails without.)
    #[test]
    fn an_argument_is_expanded_again_after_a_match_sets_tx() {
        let rules = "SecRuleEngine DetectionOnly\n\
            SecAction \"id:1,phase:1,pass,nolog,setvar:tx.list=/z/,setvar:tx.n=0\"\n\
            SecRule ARGS \"@within %{tx.list}\" \"id:2,phase:1,pass,log,msg:'hit %{MATCHED_VAR}',\
             setvar:'tx.list=/z/ /b/ /c/',setvar:tx.n=+1\"\n\
            SecAction \"id:3,phase:1,pass,log,msg:'n=%{tx.n} list=%{tx.list}'\"";
        let lines = test_log::lines(rules, test_log::get("/?a=q&b=r&c=z&d=b&e=c", &[]));
        let fields: Vec<(String, String)> = lines
            .iter()
            .map(|l| (test_log::field(l, "msg"), test_log::field(l, "ref")))
            .collect();
        // libmodsecurity 3.0.15 (tests/oracle/txn.sh --lib wheel)
        assert_eq!(
            fields,
            [
                (
                    "hit c".to_string(),
                    "o1,1v16,1o5,1v20,1o9,1v24,1".to_string()
                ),
                ("n=3 list=/z/ /b/ /c/".to_string(), String::new()),
            ]
        );
    }

    /// `@within %{tx.list}` answers from the byte pairs of the plan's value (the
    /// configuration's list) only while the transaction's `TX:list` is that buffer: after a
    /// match's `setvar` widens the list, `bb` and `cc` are found in the new one, whose pairs
    /// the planned list (`/za/`) lacks. `dd`, in neither, is not.
    #[test]
    fn within_a_planned_list_asks_the_list_a_setvar_made() {
        let rules = "SecRuleEngine DetectionOnly\n\
            SecAction \"id:1,phase:1,pass,nolog,setvar:tx.list=/za/\"\n\
            SecRule ARGS \"@within %{tx.list}\" \"id:2,phase:1,pass,log,msg:'hit %{MATCHED_VAR}',\
             setvar:'tx.list=/za/ /bb/ /cc/',setvar:tx.n=+1\"\n\
            SecAction \"id:3,phase:1,pass,log,msg:'n=%{tx.n}'\"";
        let rule_set =
            std::sync::Arc::new(crate::RuleSet::from_text("t.conf", rules, None).unwrap());
        let planned = rule_set.plan.snapshot.as_ref().and_then(|s| s.get(b"list"));
        assert_eq!(planned, Some(&b"/za/"[..]), "the list is the plan's");
        let lines = test_log::lines(rules, test_log::get("/?a=za&b=bb&c=cc&d=dd", &[]));
        let msgs: Vec<String> = lines.iter().map(|l| test_log::field(l, "msg")).collect();
        // (one line for the rule's matches, with the last one's MATCHED_VAR)
        assert_eq!(msgs, ["hit cc", "n=3"]);
    }

    /// A named exclusion removes the elements of its own variable whose name is its key,
    /// without regard to case (`skip`, `SKIP`, not `skipx`), and no element of another
    /// variable (`!ARGS:other` leaves `ARGS_GET:other`): libmodsecurity 3.0.15's lines
    /// (`tests/oracle/txn.sh --lib wheel`).
    #[test]
    fn a_named_exclusion_removes_its_variables_elements_of_that_name() {
        let rules = "SecRuleEngine DetectionOnly\n\
            SecRule ARGS|!ARGS:Skip \"@rx x\" \"id:1,phase:1,pass,log,msg:'a %{MATCHED_VAR_NAME}'\"\n\
            SecRule REQUEST_HEADERS|!REQUEST_HEADERS:referer \"@rx y\" \"id:2,phase:1,pass,log,msg:'h %{MATCHED_VAR_NAME}'\"\n\
            SecRule ARGS_GET|!ARGS:other \"@rx x\" \"id:3,phase:1,pass,log,msg:'g %{MATCHED_VAR_NAME}'\"";
        let request = test_log::get(
            "/?skip=x&SKIP=x&skipx=x&other=x",
            &[("Referer", "y"), ("X-Y", "y")],
        );
        let lines = test_log::lines(rules, request);
        let fields: Vec<(String, String)> = lines
            .iter()
            .map(|l| (test_log::field(l, "msg"), test_log::field(l, "ref")))
            .collect();
        let expected = [
            ("a ARGS:other", "o0,1v26,1o0,1v34,1"),
            ("h REQUEST_HEADERS:X-Y", "o0,1v61,1"),
            ("g ARGS_GET:other", "o0,1v11,1o0,1v18,1o0,1v26,1o0,1v34,1"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(m, r)| (m.to_string(), r.to_string()))
            .collect();
        assert_eq!(fields, expected);
    }

    /// `ctl:ruleRemoveTargetByTag` removes the target from the rules of that tag only, later
    /// in the transaction (CRS's 941010); a rule is passed over by its tag bits
    /// (`Transaction::removed_targets_tag_bits`) only when it has none of the tag's.
    #[test]
    fn a_target_removed_by_tag_is_removed_from_that_tags_rules() {
        let rules = "SecRuleEngine DetectionOnly\n\
            SecRule ARGS:r \"@streq 1\" \"id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetByTag=xss;ARGS:a\"\n\
            SecRule ARGS \"@rx x\" \"id:2,phase:1,pass,log,msg:'2 %{MATCHED_VAR_NAME}',tag:'other',tag:'xss'\"\n\
            SecRule ARGS \"@rx x\" \"id:3,phase:1,pass,log,msg:'3 %{MATCHED_VAR_NAME}',tag:'sqli'\"";
        let msgs = |uri: &str| -> Vec<String> {
            let lines = test_log::lines(rules, test_log::get(uri, &[]));
            lines.iter().map(|l| test_log::field(l, "msg")).collect()
        };
        assert_eq!(msgs("/?r=1&a=x"), ["3 ARGS:a"].map(String::from));
        assert_eq!(
            msgs("/?r=1&a=x&b=x"),
            ["2 ARGS:b", "3 ARGS:b"].map(String::from)
        );
        assert_eq!(
            msgs("/?r=0&a=x"),
            ["2 ARGS:a", "3 ARGS:a"].map(String::from)
        );
    }

    /// A `ctl:ruleRemoveTarget*` removes a value whose name is the removal's byte for byte
    /// (`ARGS:A` does not remove `ARGS:a`, nor does `args:a`), and a rule's target whose
    /// name is the removal's without regard to case (`request_headers` removes a
    /// `REQUEST_HEADERS` target, `ARGS:A` an `ARGS:a` one; `REQUEST_HEADERS` does not remove
    /// `REQUEST_HEADERS:A`); `ruleRemoveTargetById` names one rule, the id its text starts
    /// with (`2-3` is rule 2). Expected: libmodsecurity 3.0.15's lines for the same rules and
    /// requests (`tests/oracle/txn.sh --lib wheel`,
    /// `tests/oracle/cases/txn/e1-ctl-remove-target-names.conf`; 3.0.9 compares a target's
    /// name case by case too, and keeps 7 and 9).
    #[test]
    fn a_removed_target_names_values_byte_for_byte_and_targets_in_any_case() {
        let rules = include_str!("../../../tests/oracle/cases/txn/e1-ctl-remove-target-names.conf");
        let msgs = |uri: &str| -> Vec<String> {
            let lines = test_log::lines(rules, test_log::get(uri, &[("A", "x")]));
            lines.iter().map(|l| test_log::field(l, "msg")).collect()
        };
        assert_eq!(
            msgs("/f?r=1&a=x&C=z"),
            [
                "3 ARGS:a",
                "4 ARGS:a",
                "5 ARGS:a",
                "8 REQUEST_HEADERS:A",
                "10 ARGS_NAMES:C"
            ]
            .map(String::from)
        );
        assert_eq!(
            msgs("/f?r=0&a=x&C=z"),
            [
                "2 ARGS:a",
                "3 ARGS:a",
                "4 ARGS:a",
                "5 ARGS:a",
                "6 REQUEST_FILENAME",
                "7 REQUEST_HEADERS:A",
                "8 REQUEST_HEADERS:A",
                "9 ARGS:a",
                "10 ARGS_NAMES:C",
                "11 ARGS_NAMES:C"
            ]
            .map(String::from)
        );
    }

    /// A removal's target is the text libmodsecurity keeps of it, compared as text: a
    /// `/regex/` is no pattern (it removes neither the values it would match nor a rule's
    /// `/regex/` target, nor does `ARGS:ab`), a second `;` ends it, an empty one or a name of
    /// no variable removes nothing, and a whole variable (`ARGS`) leaves a rule's selected
    /// target (`ARGS:/ab/`) in. Expected lines: libmodsecurity 3.0.15's (`tests/oracle/txn.sh
    /// --lib wheel` on the case and its three requests; 3.0.9 logs the same).
    #[test]
    fn a_removed_target_is_the_text_libmodsecurity_keeps() {
        let rules = include_str!("../../../tests/oracle/cases/txn/e2-ctl-remove-target-text.conf");
        let msgs = |uri: &str| -> Vec<String> {
            let lines = test_log::lines(rules, test_log::get(uri, &[]));
            lines.iter().map(|l| test_log::field(l, "msg")).collect()
        };
        let all = |name: &str, but: &[u32]| -> Vec<String> {
            (2..=13)
                .filter(|id| !but.contains(id))
                .map(|id| format!("{id} ARGS:{name}"))
                .collect()
        };
        let mut abc = all("abc", &[12]);
        abc.push("14 ARGS_NAMES:abc".into());
        assert_eq!(msgs("/f?abc=x&z=1"), abc);
        assert_eq!(msgs("/f?a=x&z=1"), all("a", &[3, 8, 9, 10, 11, 12, 13]));
        assert_eq!(msgs("/f?Ab=x&z=1"), all("Ab", &[]));
    }

    /// A `setvar` of an element named nothing loads and sets nothing, and a `skipAfter` of a
    /// marker named nothing (`skipAfter:''`, no such marker) passes every rule after it, in
    /// this phase and the next (libmodsecurity 3.0.15's lines, `tests/oracle/txn.sh --lib
    /// wheel` on the case; 3.0.9 logs the same).
    #[test]
    fn an_empty_setvar_name_sets_nothing_and_an_empty_marker_is_never_reached() {
        let rules =
            include_str!("../../../tests/oracle/cases/txn/e3-empty-setvar-name-and-marker.conf");
        let lines = test_log::lines(rules, test_log::get("/", &[]));
        let msgs: Vec<String> = lines.iter().map(|l| test_log::field(l, "msg")).collect();
        assert_eq!(msgs, ["empty before", "still empty"]);
    }

    /// The operators whose argument libmodsecurity reads at load (`@pm`, `@ipMatch`,
    /// `@validateByteRange`...) take each macro in it as nothing, and their log lines say so;
    /// the others (`@rx`, `@within`, `@strmatch`) expand theirs at run time. Expected: the
    /// rules libmodsecurity 3.0.15 logs for each request and its `@pm` parameters
    /// (`tests/oracle/txn.sh --lib wheel` on the case and its requests; 3.0.9 logs the same).
    #[test]
    fn arguments_read_at_load_take_a_macro_as_nothing() {
        let rules =
            include_str!("../../../tests/oracle/cases/txn/e4-load-time-operator-arguments.conf");
        let logged = |uri: &str| -> Vec<(String, String)> {
            let lines = test_log::lines(rules, test_log::get(uri, &[]));
            let parameter = |l: &str| {
                let p = l.split("with parameter `").nth(1).unwrap_or("");
                p.split("' against").next().unwrap_or("").to_string()
            };
            lines
                .iter()
                .map(|l| (test_log::field(l, "id"), parameter(l)))
                .collect()
        };
        let ids =
            |uri: &str| -> Vec<String> { logged(uri).into_iter().map(|(id, _)| id).collect() };
        assert_eq!(ids("/?w=evil"), ["15", "20", "21", "22"]);
        assert_eq!(ids("/?w=1.2.3.4"), ["15"]);
        assert_eq!(ids("/?w=5.6.7.8"), ["14", "15"]);
        assert_eq!(ids("/?w=%25%7btx.w%7d"), ["11", "15"]);
        assert_eq!(
            logged("/?w=x")[..2],
            [("11".into(), "x ".into()), ("15".into(), "11".into())]
        );
        assert_eq!(logged("/?w=y")[0], ("12".into(), " y".into()));
    }

    /// An argument that is one `%{tx.name}` (looked up by the name's hash kept from the load)
    /// reads `TX` without regard to the name's case, and a missing element as nothing (the
    /// rules logged for each request: libmodsecurity 3.0.15's, `tests/oracle/txn.sh --lib wheel`).
    #[test]
    fn a_lone_tx_argument_reads_the_element_or_nothing() {
        let rules = "SecRuleEngine DetectionOnly\n\
            SecAction \"id:1,phase:1,pass,nolog,setvar:tx.Want=5\"\n\
            SecRule ARGS:a \"@streq %{TX.WANT}\" \"id:2,phase:1,pass,log,msg:'a'\"\n\
            SecRule ARGS:b \"@streq %{tx.missing}\" \"id:3,phase:1,pass,log,msg:'b'\"\n\
            SecRule ARGS:a \"@lt %{tx.want}\" \"id:4,phase:1,pass,log,msg:'c'\"";
        let msgs = |uri: &str| -> Vec<String> {
            let lines = test_log::lines(rules, test_log::get(uri, &[]));
            lines.iter().map(|l| test_log::field(l, "msg")).collect()
        };
        assert_eq!(msgs("/?a=5&b="), ["a", "b"]);
        assert_eq!(msgs("/?a=4&b=x"), ["c"]);
    }

    /// A rule the plan decided matched leaves `MATCHED_VARS` as its evaluation would (the
    /// plan's record of it, not a copy): the next rule reads it, and a match appends to it.
    #[test]
    fn planned_matches_are_matched_vars() {
        let rules = "SecRuleEngine On\n\
            SecAction \"id:1,phase:1,pass,nolog,setvar:tx.level=1\"\n\
            SecRule TX:level \"@lt 2\" \"id:2,phase:1,pass,nolog\"\n\
            SecRule MATCHED_VARS \"@rx ^1$\" \"id:3,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}',\
             logdata:'%{MATCHED_VARS_NAMES}'\"\n\
            SecRule TX:level \"@lt 2\" \"id:4,phase:1,pass,nolog\"\n\
            SecRule REQUEST_METHOD \"@streq GET\" \"id:5,phase:1,pass,log,msg:'%{MATCHED_VAR}'\"\n\
            SecRule TX:level \"@lt 2\" \"id:6,phase:1,pass,nolog\"\n\
            SecRule TX:level \"@lt 2\" \"id:7,phase:1,pass,nolog\"\n\
            SecRule MATCHED_VAR \"@rx ^1$\" \"id:8,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
            SecRule REQUEST_METHOD \"@streq POST\" \"id:9,phase:1,pass,nolog\"\n\
            SecRule TX:level \"@lt 2\" \"id:10,phase:1,pass,nolog\"\n\
            SecRule REQUEST_METHOD \"@streq GET\" \"id:11,phase:1,pass,log,msg:'x',chain\"\n\
            SecRule &MATCHED_VARS \"@eq 2\" \"t:none\"";
        let set = crate::RuleSet::from_text("t.conf", rules, None).unwrap();
        assert!(
            set.plan.decisions[1]
                .iter()
                .filter(|d| matches!(d, crate::plan::Decision::Hit { .. }))
                .count()
                >= 4
        );
        let run = |planned: bool| {
            let mut set = crate::RuleSet::from_text("t.conf", rules, None).unwrap();
            set.set_static_decisions(planned);
            let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = std::sync::Arc::clone(&log);
            let mut tx = crate::Transaction::new(std::sync::Arc::new(set));
            tx.on_log(move |l| sink.lock().unwrap().push(l.to_string()));
            tx.process_connection("127.0.0.1", 12345, "127.0.0.1", 80);
            test_log::get("/", &[("Host", "h")])(&mut tx);
            let lines = log.lock().unwrap().clone();
            let fields =
                |name| -> Vec<String> { lines.iter().map(|l| test_log::field(l, name)).collect() };
            (fields("id"), fields("msg"), fields("data"))
        };
        let planned = run(true);
        assert_eq!(planned, run(false));
        assert_eq!(planned.0, ["3", "5", "8", "11"]);
        assert_eq!(
            planned.1[..3],
            ["MATCHED_VARS:TX:level", "GET", "MATCHED_VAR"]
        );
    }

    /// A negated rule's values its operator matched (the rule did not) add their ranges to
    /// `[ref]` in their places, before and after the value the rule matched, on every kind
    /// of operator that reports ranges, in a chain's links too; a rule that matched no value
    /// writes nothing (id 4). Expected: libmodsecurity 3.0.15's lines for the same rules and
    /// request (tests/oracle/txn.sh).
    #[test]
    fn negated_rules_keep_the_ranges_of_the_values_they_did_not_match() {
        let rules = "SecRuleEngine On\n\
            SecRule ARGS \"!@rx ^a+\" \"id:1,phase:1,pass,log\"\n\
            SecRule ARGS \"!@within xaaay\" \"id:2,phase:1,pass,log\"\n\
            SecRule ARGS \"!@rx ^(a)(b)?\" \"id:3,phase:1,pass,log,chain\"\n\
            SecRule ARGS|REQUEST_METHOD \"!@pm zz g\" \"t:none\"\n\
            SecRule ARGS \"!@rx ^[az]\" \"id:4,phase:1,pass,log\"\n\
            SecRule ARGS \"!@validateByteRange 97-98\" \"id:5,phase:1,pass,log\"";
        assert_eq!(
            refs(rules, "/?p=aa&q=zz&r=ab&s=a", &[("Host", "h")]),
            [
                "o0,2v13,2o0,1o0,1",
                "o1,2v13,2v18,2o1,1",
                "o0,1o0,1v13,2o0,2o0,1o1,1o0,1o0,1v8,2o0,2v18,2v23,1o0,1",
                "v8,2o0,1o1,1v18,2v23,1",
            ]
        );
    }

    #[test]
    fn chain_links_append_their_refs() {
        let rules = "SecRuleEngine On\n\
            SecRule ARGS \"@rx attack\" \"id:6,phase:2,pass,log,chain\"\n\
            SecRule REQUEST_METHOD \"@streq GET\" \"t:none,chain\"\n\
            SecRule ARGS:a \"@streq 1\" \"t:none\"";
        let headers = [("Host", "www.example.com"), ("User-Agent", "test")];
        assert_eq!(
            refs(rules, "/p%61th/x.php?a=1&q=an%20attack%20here", &headers),
            ["o3,6v24,14v0,3v20,1"]
        );
    }

    /// A chain's starter and middle link match several values each; their `[ref]` pieces wait
    /// for the chain's end ([`super::DeferredReferences`]) and go in their places, before the
    /// last link's (a negated one, whose own ranges wait too). A chain that fails leaves
    /// nothing to the next rule's line. Expected: what writing each piece at its match gave
    /// (the evaluation before 2026-12-05), which tests/oracle checked for each kind of piece.
    #[test]
    fn a_chains_deferred_refs_go_in_their_places() {
        let rules = "SecRuleEngine On\n\
            SecRule ARGS \"@rx a\" \"id:12,phase:2,pass,log,chain\"\n\
            SecRule ARGS_NAMES \"@rx ^[pq]$\" \"t:none,t:lowercase,chain\"\n\
            SecRule ARGS \"!@rx ^(a)(b)?\" \"t:none\"\n\
            SecRule ARGS \"@rx a\" \"id:13,phase:2,pass,log,chain\"\n\
            SecRule ARGS_NAMES \"@rx ^nothing$\" \"t:none\"\n\
            SecRule ARGS \"@rx z\" \"id:14,phase:2,pass,log\"";
        assert_eq!(
            refs(rules, "/?p=aa&q=zz&r=ab&s=a", &[("Host", "h")]),
            [
                "o0,1v8,2o0,1v18,2o0,1v23,1o0,1v6,1t:lowercaseo0,1v11,1t:lowercase\
                 o0,1o0,1v13,2o0,2o0,1o1,1o0,1o0,1",
                "o0,1v13,2"
            ]
        );
    }

    /// `multiMatch` rules on a long value (its stages from the transaction's memo of each
    /// step, shared with the other rules) log the stages a short value's would: expected,
    /// the lines without the memo.
    #[test]
    fn multi_match_stages_of_a_long_value() {
        let rules = "SecRuleEngine On\n\
            SecRule ARGS \"@rx ab\" \"id:21,phase:1,pass,log,multiMatch,t:urlDecodeUni,t:lowercase\"\n\
            SecRule ARGS \"@rx ab\" \"id:22,phase:1,pass,log,multiMatch,\
             t:utf8toUnicode,t:urlDecodeUni,t:lowercase,t:removeWhitespace\"\n\
            SecRule ARGS \"@rx ab\" \"id:23,phase:1,pass,log,t:urlDecodeUni,t:lowercase\"";
        let uri = format!("/?q=%2561%2562%41%42{}&r=%61b", "x%20".repeat(150));
        assert_eq!(
            refs(rules, &uri, &[("Host", "h")]),
            [
                "o0,2v8,308t:urlDecodeUni",
                "o0,2v8,308t:lowercase",
                "o0,2v627,2",
                "o0,2v8,308t:urlDecodeUni",
                "o0,2v8,308t:lowercase",
                "o0,2v8,308t:removeWhitespace",
                "o0,2v627,2",
                "o0,2v8,308t:urlDecodeUni,t:lowercaseo0,2v627,2t:urlDecodeUni,t:lowercase"
            ]
        );
    }

    #[test]
    fn multi_match_lines_have_their_own_ref() {
        let rules = "SecRuleEngine On\n\
            SecRule ARGS \"@rx attack\" \"id:7,phase:2,pass,log,multiMatch,t:lowercase,t:urlDecode\"\n\
            SecRule ARGS \"@rx attack\" \"id:71,phase:2,pass,log,t:lowercase,t:urlDecode\"";
        assert_eq!(
            refs(
                rules,
                "/m?a=1&b=ATTACK&c=at%2574ack&d=attack",
                &[("Host", "h")]
            ),
            [
                "o0,6v13,6t:lowercase",
                "o0,6v22,8t:urlDecode",
                "o0,6v35,6",
                "o0,6v13,6t:lowercase,t:urlDecodeo0,6v22,8t:lowercase,t:urlDecode\
                 o0,6v35,6t:lowercase,t:urlDecode",
            ]
        );
    }

    /// A target an exception gives a rule at each evaluation (its tag holds a macro) has no
    /// number in the per-phase tables: its values are asked each time, for the grouped
    /// matcher's candidates and for the bytes alike.
    #[test]
    fn targets_added_at_each_evaluation_are_asked() {
        let lines = test_log::lines(
            "SecRuleEngine DetectionOnly\n\
             SecAction \"id:1,phase:1,pass,nolog,setvar:tx.t=xss\"\n\
             SecRule ARGS \"@rx evil\" \"id:2,phase:2,pass,log,tag:'%{tx.t}',msg:'%{MATCHED_VAR_NAME}'\"\n\
             SecRule ARGS \"@rx [<>]\" \"id:3,phase:2,pass,log,tag:'%{tx.t}',msg:'%{MATCHED_VAR_NAME}'\"\n\
             SecRuleUpdateTargetByTag \"xss\" \"REQUEST_HEADERS\"",
            test_log::get("/", &[("X-A", "evil <b>")]),
        );
        let msgs: Vec<String> = lines.iter().map(|l| test_log::field(l, "msg")).collect();
        assert_eq!(msgs, ["REQUEST_HEADERS:X-A", "REQUEST_HEADERS:X-A"]);
    }

    /// The names of matched header elements kept from one transaction to the thread's next
    /// (with the header names kept there) name the next one's own headers: the same header
    /// again, the same name in other letters, another name at the same place.
    #[test]
    fn matched_header_names_kept_between_transactions_name_each_ones_headers() {
        let rules = "SecRuleEngine DetectionOnly\n\
             SecRule REQUEST_HEADERS_NAMES \"@rx (?i)^x-\" \"id:1,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
             SecRule REQUEST_HEADERS \"@rx 1\" \"id:2,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}'\"";
        let msgs = |name: &str| -> Vec<String> {
            let lines = test_log::lines(rules, test_log::get("/", &[(name, "1")]));
            lines.iter().map(|l| test_log::field(l, "msg")).collect()
        };
        for name in ["X-A", "X-A", "x-a", "X-B", "X-B"] {
            assert_eq!(
                msgs(name),
                [
                    format!("REQUEST_HEADERS_NAMES:{name}"),
                    format!("REQUEST_HEADERS:{name}")
                ]
            );
        }
    }

    /// `MATCHED_VAR_NAME` of elements matched more than once, by several rules, and under
    /// two variables that share the element's buffer (a header and its name).
    #[test]
    fn matched_names_follow_each_match() {
        let lines = test_log::lines(
            "SecRuleEngine DetectionOnly\n\
             SecAction \"id:1,phase:1,pass,nolog,setvar:tx.level=1\"\n\
             SecRule REQUEST_HEADERS:X-A \"@rx .\" \"id:2,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
             SecRule REQUEST_HEADERS_NAMES \"@rx ^X-A$\" \"id:3,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
             SecRule TX:LEVEL \"@eq 1\" \"id:4,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
             SecRule TX:level \"@eq 1\" \"id:5,phase:2,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
             SecRule REQUEST_HEADERS \"@rx .\" \"id:6,phase:2,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
             SecRule REQUEST_HEADERS_NAMES \"@rx ^X-\" \"id:7,phase:2,pass,log,msg:'%{MATCHED_VAR_NAME}'\"",
            test_log::get("/", &[("X-A", "1"), ("X-B", "2")]),
        );
        let msgs: Vec<String> = lines.iter().map(|l| test_log::field(l, "msg")).collect();
        assert_eq!(
            msgs,
            [
                "REQUEST_HEADERS:X-A",
                "REQUEST_HEADERS_NAMES:X-A",
                "TX:level",
                "TX:level",
                "REQUEST_HEADERS:X-B",
                "REQUEST_HEADERS_NAMES:X-B",
            ]
        );
    }

    /// The values of a large variable that share a text are tested once by an operator whose
    /// answer depends on the text alone ([`super::super::candidates::same_texts`]): a text
    /// that matched still matches, with its setvars, at each of its values (multiMatch and
    /// grouped rules alike), one that did not is passed by.
    #[test]
    fn a_text_that_matched_matches_at_each_value() {
        let rules = "SecRuleEngine DetectionOnly\n\
            SecRule ARGS \"@detectSQLi\" \"id:1,phase:2,pass,nolog,multiMatch,t:none,setvar:tx.a=+1\"\n\
            SecRule ARGS \"@rx attack\" \"id:2,phase:2,pass,nolog,t:none,t:lowercase,setvar:tx.b=+1\"\n\
            SecAction \"id:3,phase:2,pass,log,msg:'%{tx.a} %{tx.b}'\"";
        // 70 arguments: every third an attack for both rules, the others two texts repeated
        let args: Vec<String> = (0..70)
            .map(|i| match i % 3 {
                0 => format!("a{i}=1'%20or%20'1'='1%20ATTACK"),
                1 => format!("a{i}=hello"),
                _ => format!("a{i}=world"),
            })
            .collect();
        let uri = format!("/?{}", args.join("&"));
        let lines = test_log::lines(rules, test_log::get(&uri, &[]));
        // (a multiMatch rule logs each match, whatever its log flags)
        let ids: Vec<String> = lines.iter().map(|l| test_log::field(l, "id")).collect();
        assert_eq!(ids.iter().filter(|id| *id == "1").count(), 24);
        let last = lines.last().map(|l| test_log::field(l, "msg"));
        assert_eq!(last.as_deref(), Some("24 24"));
    }

    #[test]
    fn pairs_are_written_as_format_writes_them() {
        for (a, b) in [(0, 0), (9, 10), (99, 100), (12_345, 7), (usize::MAX, 1)] {
            let mut out = String::from("x");
            super::write_pair(&mut out, 'o', a, b);
            assert_eq!(out, format!("xo{a},{b}"));
        }
    }

    /// The `Matched "Operator ...` texts of the log lines for `GET /?a=xa&b=yb`.
    fn match_texts(rules: &str) -> Vec<String> {
        let lines = test_log::lines(rules, test_log::get("/?a=xa&b=yb", &[]));
        let text = |l: &String| {
            let rest = l.split("Matched ").nth(1).unwrap_or("");
            rest.split(" [file").next().unwrap_or("").to_string()
        };
        lines.iter().map(text).collect()
    }

    #[test]
    fn a_chain_logs_its_last_links_match_text() {
        let got = match_texts(
            "SecRuleEngine DetectionOnly\n\
             SecRule ARGS:a \"@rx x\" \"id:1,phase:2,pass,log,chain\"\n\
             SecRule ARGS:b \"@rx y\" \"chain\"\n\
             SecRule ARGS:a \"@rx a\" \"\"\n\
             SecRule ARGS:b \"@rx b\" \"id:2,phase:2,pass,log\"",
        );
        assert_eq!(
            got,
            [
                "\"Operator `Rx' with parameter `a' against variable `ARGS:a' (Value: `xa' )",
                "\"Operator `Rx' with parameter `b' against variable `ARGS:b' (Value: `yb' )",
            ]
        );
    }

    #[test]
    fn multi_match_tests_a_stage_whose_flag_is_up_though_it_copied() {
        // t:lowercase copies bytes 0x80-0xfe but raises libmodsecurity's "changed" flag for
        // them: multiMatch tests its output as a stage of its own; without them it does not
        let rules = "SecRuleEngine On\n\
            SecRule ARGS \"@rx attack\" \"id:7,phase:2,pass,log,multiMatch,t:lowercase\"";
        let high = refs(rules, "/m?a=%C3%A9attack", &[("Host", "h")]);
        assert_eq!(high.len(), 2, "{high:?}");
        assert!(
            !high[0].contains("t:") && high[1].ends_with("t:lowercase"),
            "{high:?}"
        );
        let plain = refs(rules, "/m?a=attack", &[("Host", "h")]);
        assert_eq!(plain.len(), 1, "{plain:?}");
    }

    #[test]
    fn operator_ranges_and_variable_origins() {
        let rules = "SecRuleEngine On\n\
            SecRule ARGS:a \"@pm ccc\" \"id:1,phase:2,pass,log\"\n\
            SecRule ARGS:a \"@rxGlobal (c)\" \"id:2,phase:2,pass,log,t:lowercase\"\n\
            SecRule ARGS:d \"@validateByteRange 48-57\" \"id:3,phase:2,pass,log\"\n\
            SecRule ARGS:a \"!@rx ^xcccx$\" \"id:4,phase:2,pass,log,multiMatch,t:lowercase\"\n\
            SecRule REQUEST_COOKIES_NAMES \"@rx ^ck\" \"id:5,phase:2,pass,log\"\n\
            SecRule REQUEST_HEADERS_NAMES \"@beginsWith Co\" \"id:6,phase:2,pass,log\"\n\
            SecRule ARGS_COMBINED_SIZE|&ARGS \"@gt 0\" \"id:7,phase:2,pass,log\"";
        let headers = [("Host", "h"), ("Cookie", "; ck1=zz1;  ck2=v2;=x; ck3")];
        assert_eq!(
            refs(rules, "/x?a=XCCCX&d=1a2bb", &headers),
            [
                "o1,3v9,5",
                "o1,1o1,1o2,1o2,1o3,1o3,1v9,5t:lowercase",
                "o1,1o3,1o4,1v17,5",
                "v9,5",
                "o0,2v50,3o0,2v60,3o0,2v71,3",
                "o0,2v40,6",
                "v7,1v9,5v15,1v17,5",
            ]
        );
    }
}

#[cfg(test)]
mod log_fields {
    use crate::transaction::test_log;
    use crate::Transaction;

    /// A log line's (id, msg, ref).
    pub type Fields = (String, String, String);

    pub fn line(id: &str, msg: &str, r: &str) -> Fields {
        (id.to_string(), msg.to_string(), r.to_string())
    }

    /// (id, msg, ref) of each log line `request` writes through `rules`, on a transaction from
    /// 127.0.0.1:12345 to 127.0.0.1:80.
    pub fn logged(rules: &str, request: impl FnOnce(&mut Transaction)) -> Vec<Fields> {
        let field = test_log::field;
        let lines = test_log::lines(rules, request);
        let fields = |l: &String| (field(l, "id"), field(l, "msg"), field(l, "ref"));
        lines.iter().map(fields).collect()
    }
}

#[cfg(test)]
mod remote_user_tests {
    use super::log_fields::{line, logged, Fields};

    /// (id, msg, ref) of each log line for a GET with this Authorization header.
    fn run(authorization: Option<&str>) -> Vec<Fields> {
        let rules = "SecRuleEngine On\n\
            SecRule REMOTE_USER \"@rx ^\" \"id:1,phase:1,pass,log,msg:'u %{MATCHED_VAR}'\"\n\
            SecRule &REMOTE_USER \"@eq 0\" \"id:2,phase:1,pass,log\"\n\
            SecRule REMOTE_USER \"@streq %{tx.none}\" \"id:3,phase:1,pass,log\"";
        logged(rules, |tx| {
            tx.process_uri(b"/x", b"GET", b"1.1");
            tx.add_request_header(b"Host", b"h");
            if let Some(a) = authorization {
                tx.add_request_header(b"Authorization", a.as_bytes());
            }
            tx.process_request_headers();
        })
    }

    // Expected: libmodsecurity 3.0.15 (tests/oracle/txn.sh --lib wheel) on the same requests.
    #[test]
    fn remote_user_is_the_basic_user_name() {
        assert_eq!(
            run(Some("Basic QWxhZGRpbjpPcGVuU2VzYW1l")),
            [line("1", "u Aladdin", "o0,0v39,30")]
        );
        // empty user name: a value, empty
        assert_eq!(
            run(Some("Basic OnBhc3M=")),
            [line("1", "u ", "o0,0v39,14"), line("3", "", "v39,14")]
        );
        // no value at all: no ':', not "Basic " (case counts), bad base64, no header
        for a in [
            Some("Basic QWxhZGRpbg=="),
            Some("basic QWxhZGRpbjpPcGVuU2VzYW1l"),
            Some("Basic QWxhZGRpbjpPcGVuU2VzYW1"),
            Some("Bearer xyz"),
            None,
        ] {
            assert_eq!(run(a), [line("2", "", "")], "{a:?}");
        }
    }
}

#[cfg(test)]
mod log_flag_tests {
    use crate::{RuleSet, Transaction};
    use std::sync::{Arc, Mutex};

    fn logged_ids(noauditlog_hides_rule: bool) -> Vec<String> {
        // tests/oracle/cases/txn/a5d-log-flags.conf
        let rules = "SecRuleEngine On\n\
            SecRule ARGS:x \"@rx attack\" \"id:57,phase:2,pass,noauditlog\"\n\
            SecRule ARGS:x \"@rx attack\" \"id:58,phase:2,pass,log,noauditlog\"\n\
            SecRule ARGS:x \"@rx attack\" \"id:59,phase:2,pass,noauditlog,log\"\n\
            SecRule ARGS:x \"@rx attack\" \"id:60,phase:2,pass,auditlog\"\n\
            SecRule ARGS:x \"@rx attack\" \"id:63,phase:2,pass,nolog,log\"\n\
            SecRule ARGS:x \"@rx attack\" \"id:64,phase:2,pass,log,nolog\"";
        let mut rules = RuleSet::from_text("a5d.conf", rules, None).unwrap();
        rules.set_noauditlog_hides_rule(noauditlog_hides_rule);
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let mut tx = Transaction::new(Arc::new(rules));
        tx.on_log(move |l| {
            let id = l.split("[id \"").nth(1).unwrap().split('"').next().unwrap();
            sink.lock().unwrap().push(id.to_string());
        });
        tx.process_connection("127.0.0.1", 1, "127.0.0.1", 80);
        tx.process_uri(b"/?x=attack", b"GET", b"1.1");
        tx.add_request_header(b"Host", b"h");
        tx.process_request_headers();
        tx.process_request_body();
        let out = log.lock().unwrap().clone();
        out
    }

    #[test]
    fn last_of_the_four_log_flags_decides_in_v3() {
        // libmodsecurity 3.0.9 and 3.0.15: tests/oracle/FINDINGS.md, a5d-log-flags.conf
        assert_eq!(logged_ids(true), ["59", "60", "63"]);
        // ModSecurity v2 / CRS: only log and nolog count
        assert_eq!(logged_ids(false), ["57", "58", "59", "60", "63"]);
    }
}

#[cfg(test)]
mod multi_match_chain_tests {
    use super::log_fields::{line, logged, Fields};

    /// (id, msg, ref) of each log line for `GET /s?a=attack&b=ATTACK&c=x`.
    fn lines(rules: &str) -> Vec<Fields> {
        let rules = format!(
            "SecRuleEngine On\n{rules}\n\
             SecRule TX:seen \"@rx .\" \"id:9,phase:2,pass,log,msg:'seen'\""
        );
        logged(&rules, |tx| {
            tx.process_uri(b"/s?a=attack&b=ATTACK&c=x", b"GET", b"1.1");
            tx.add_request_header(b"Host", b"h");
            tx.process_request_headers();
            tx.process_request_body();
        })
    }

    // Expected: libmodsecurity 3.0.15 on the same rules and request (tests/oracle/txn.sh --lib
    // wheel; tests/oracle/cases/txn/a7c-multimatch-chain.conf, FINDINGS.md "multiMatch in
    // chains").
    #[test]
    fn multi_match_logs_each_match_whatever_its_log_flags() {
        for flags in ["log", "nolog"] {
            let got = lines(&format!(
                "SecRule ARGS \"@rx attack\" \"id:1,phase:2,pass,{flags},multiMatch,t:lowercase,\
                 msg:%{{MATCHED_VAR}},logdata:%{{MATCHED_VAR_NAME}},setvar:tx.seen=1\""
            ));
            assert_eq!(
                got,
                [
                    line("1", "attack", "o0,6v9,6"),
                    line("1", "attack", "o0,6v18,6t:lowercase"),
                    line("9", "seen", "o0,1"),
                ],
                "{flags}"
            );
        }
    }

    #[test]
    fn a_chain_that_fails_after_multi_match_logs_nothing() {
        // Deliberate: v3 writes the two lines of rule 1 anyway (FINDINGS.md; CRS 942131's tests
        // call it a bug and expect no line); the chain's setvar does not run either way
        let got = lines(
            "SecRule ARGS \"@rx attack\" \"id:1,phase:2,pass,log,multiMatch,t:lowercase,\
             msg:%{MATCHED_VAR},chain\"\n\
             SecRule REQUEST_METHOD \"@streq NOPE\" \"setvar:tx.seen=1\"",
        );
        assert_eq!(got, Vec::<Fields>::new());
    }

    #[test]
    fn multi_match_link_lines_come_before_the_chain_line() {
        let got = lines(
            "SecRule REQUEST_METHOD \"@streq GET\" \"id:1,phase:2,pass,log,msg:top,chain\"\n\
             SecRule ARGS \"@rx attack\" \"multiMatch,t:lowercase,chain\"\n\
             SecRule REQUEST_METHOD \"@streq GET\" \"setvar:tx.seen=1\"",
        );
        assert_eq!(
            got,
            [
                line("1", "", "v0,3o0,6v9,6"),
                line("1", "", "o0,6v18,6t:lowercase"),
                line("1", "top", "v0,3"),
                line("9", "seen", "o0,1"),
            ]
        );
    }
}
