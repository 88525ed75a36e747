//! What a rule set decides before any request. Rules that read nothing but `TX` values no
//! request can change have the same outcome on every transaction: CRS's paranoia-level
//! checks (`TX:DETECTION_PARANOIA_LEVEL "@lt 2"`), its defaults (`&TX:x "@eq 0"` then
//! `setvar`), its `SecAction` of zeroed scores; at PL1, 110 of the ~260 rules a request
//! reaches. They are run once, at load, on an empty transaction, and a transaction then
//! does without them:
//!
//! - a rule that cannot match is not evaluated ([`Decision::Miss`]);
//! - one that matches and only sets `TX` values and jumps (`skipAfter`) does that at once
//!   ([`Decision::Hit`]);
//! - the phase 1 rules that only set `TX` values, before any rule that could see or change
//!   `TX` runs, are folded: their `TX` is the transaction's first state ([`Plan::snapshot`]).
//!
//! A `TX` value is *known* at a rule when every write to it that can have happened by then is
//! itself known; a write by a rule whose outcome depends on the request, one that may or may
//! not have run (after a `skipAfter`/`skip` that may jump, a rule that may interrupt, in a
//! phase that may not run), or with a value from the request makes it unknown from there on.
//! A decided rule's traces are kept too: a miss empties `MATCHED_VAR*` as evaluation would,
//! a match adds what it matched (CRS's chains read `MATCHED_VARS`, which gathers the matches
//! of consecutive matching rules). Nothing is decided for a rule a transaction can remove
//! (`ctl:ruleRemove*`, by id, tag or message), and a transaction uses the plan only when it
//! starts phase 1 with an empty `TX` and runs the phases once each, in order
//! (`Transaction::planned_through`). `RuleSet::set_static_decisions(false)` turns it off.

use crate::collection::Collection;
use crate::message::RuleMessage;
use crate::rule::{CompiledSelector, Disruptive, MatchAction, Rule, Target};
use crate::ruleset::{Entry, RuleSet};
use crate::transaction::Transaction;
use seclang_parser::names::{CtlName, VariableName};
use seclang_parser::{IdRange, MacroString, Segment, SetVarOperation};
use std::collections::HashSet;
use std::sync::Arc;

/// What a transaction does at one entry of a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Evaluate the rule (or pass the marker).
    Run,
    /// The rule does not match: as after any miss, `MATCHED_VAR*` are emptied.
    Miss,
    /// The rule matches and leaves nothing behind but what it matched
    /// ([`Plan::matched`]`[matched]`, added to `MATCHED_VARS` as its evaluation would) and
    /// its `TX` values: in [`Plan::snapshot`], or with `setvars`, set as its evaluation
    /// would, after each value it matched (CRS's 949052 adds a score the request made); with
    /// `jump_past`, the index of the marker its `skipAfter` goes to.
    Hit {
        matched: u32,
        jump_past: Option<u32>,
        setvars: bool,
    },
}

/// The decisions of a rule set ([`work_out`]).
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// `TX` after the folded phase 1 rules; `None` when none was folded.
    pub(crate) snapshot: Option<Collection>,
    /// Per phase, one decision per entry; empty: evaluate every rule.
    pub(crate) decisions: [Vec<Decision>; 6],
    /// What each [`Decision::Hit`] rule matched, as it adds it to `MATCHED_VARS`.
    pub(crate) matched: Vec<Collection>,
    /// By [`Plan::matched`] index, for a hit that follows another (`MATCHED_VARS` gathers
    /// the matches of consecutive matching rules): when `MATCHED_VARS` is the record `.0`, it
    /// becomes the record `.1`, the two joined, without a copy of either (CRS 3.3.4's
    /// decided hits added their records one by one ~33 times a request).
    pub(crate) follows: Vec<Option<(u32, u32)>>,
    /// Per phase, per entry, the [`Passage`] that starts there.
    pub(crate) passages: [Vec<Passage>; 6],
}

/// A stretch of a phase a transaction goes through without doing anything but, when it holds
/// a [`Decision::Miss`], emptying `MATCHED_VAR*` once: markers (when no `skipAfter` looks for
/// one), missed rules, and rules the configuration removed. A minimal GET walked ~430
/// entries of CRS at PL1, ~180 of them such; each cost the loop's checks one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Passage {
    /// The index after the stretch; the entry's own index when it does not start one.
    pub(crate) end: u32,
    /// Whether a rule of the stretch is a [`Decision::Miss`].
    pub(crate) misses: bool,
    /// The lowest and highest id of the stretch's [`Decision::Miss`] rules (`lowest >
    /// highest`: none, as [`Passage::none`] has it): a `ctl:ruleRemoveById` whose ids are all
    /// outside them leaves the stretch as it is (CRS's 920539 removes 920540 on every JSON
    /// request).
    pub(crate) miss_ids: (u64, u64),
}

impl Passage {
    /// Whether one of `removed` may name a missed rule of the stretch (a rule removed at run
    /// time is evaluated as matched, not missed: such a stretch is walked a rule at a time).
    pub(crate) fn may_hold_any(&self, removed: &[seclang_parser::IdRange]) -> bool {
        let (lowest, highest) = self.miss_ids;
        lowest <= highest
            && removed
                .iter()
                .any(|r| r.start <= highest && lowest <= r.end)
    }

    /// No stretch: an entry that starts none (`end` its own index), or the phase's end.
    const fn none(end: u32) -> Passage {
        Passage {
            end,
            misses: false,
            miss_ids: (u64::MAX, 0),
        }
    }
}

/// The [`Passage`]s of a phase's entries.
fn passages(entries: &[Entry], decisions: &[Decision]) -> Vec<Passage> {
    // (every entry's is written below)
    let mut out = vec![Passage::none(0); entries.len()];
    let mut next = Passage::none(entries.len() as u32);
    for (at, entry) in entries.iter().enumerate().rev() {
        let (passable, miss) = match entry {
            Entry::Marker(_) => (true, None),
            Entry::Rule(rule) => {
                let miss = decisions.get(at) == Some(&Decision::Miss);
                let removed = rule.static_exceptions.get().is_some_and(|s| s.removed);
                (miss || removed, miss.then_some(rule.id))
            }
        };
        next = match passable {
            true => Passage {
                end: next.end,
                misses: next.misses || miss.is_some(),
                miss_ids: miss.map_or(next.miss_ids, |id| {
                    (next.miss_ids.0.min(id), next.miss_ids.1.max(id))
                }),
            },
            false => Passage::none(at as u32),
        };
        out[at] = next;
    }
    out
}

/// The most elements a joined record of consecutive hits has ([`Plan::follows`]).
const JOINED_MAX: usize = 64;

impl Plan {
    fn push_matched(&mut self, records: Collection) {
        self.matched.push(records);
        self.follows.push(None);
    }

    /// Gives the hit whose record is `own` the join of record `before` and its own, as
    /// `MATCHED_VARS` is after both; returns the join's index (`None`: too large).
    fn join_matched(&mut self, before: u32, own: u32) -> Option<u32> {
        let (a, b) = (&self.matched[before as usize], &self.matched[own as usize]);
        if a.len() + b.len() > JOINED_MAX {
            return None;
        }
        let mut joined = Collection::new();
        for e in a.iter().chain(b.iter()) {
            joined.add_shared(e.name.clone(), e.value.clone(), None);
        }
        let at = self.matched.len() as u32;
        self.push_matched(joined);
        self.follows[own as usize] = Some((before, at));
        Some(at)
    }

    /// How many rules are decided (not evaluated).
    pub(crate) fn decided(&self) -> usize {
        self.decisions
            .iter()
            .flatten()
            .filter(|d| **d != Decision::Run)
            .count()
    }
}

/// Works out the plan of a complete rule set.
pub(crate) fn work_out(set: &Arc<RuleSet>) -> Plan {
    let mut plan = Plan::default();
    if set.phases[0].iter().any(|e| matches!(e, Entry::Rule(_))) {
        return plan;
    }
    // what the rules passed so far may remove from the rest of the transaction
    let mut removable = Removable::default();
    let mut sim = Transaction::new(Arc::clone(set));
    let mut known = Known::default();
    for phase in 1..=5usize {
        let entries = &set.phases[phase];
        let mut decisions = vec![Decision::Run; entries.len()];
        // entries before this index may be jumped over by a rule that may or may not match
        let mut region_end = 0usize;
        // phase 1, while no rule that runs could see or change TX: matches fold into the snapshot
        let mut folding = phase == 1;
        let mut written = Vec::new();
        // the record `MATCHED_VARS` is after the rules passed, when they were decided hits
        // (a rule decided otherwise, or evaluated, leaves it unknown)
        let mut matched_state: Option<u32> = None;
        let mut i = 0;
        while i < entries.len() {
            let Entry::Rule(rule) = &entries[i] else {
                i += 1;
                continue;
            };
            let at = i;
            i += 1;
            let state_before = matched_state.take();
            let conditional = at < region_end || known.after_interruption;
            let statics = rule.static_exceptions.get();
            if statics.is_some_and(|s| s.removed) {
                continue;
            }
            let targets = rule.static_targets();
            let decidable = targets.is_some_and(|(t, x)| known.decidable(rule, t, x))
                && !removable.targets.covers(rule);
            // a chain whose links are as decidable is decided when it matches in full
            let links_decidable = decidable
                && rule.chains
                && links(rule).skip(1).all(|link| {
                    !removable.targets.covers(link)
                        && link
                            .static_targets()
                            .is_some_and(|(t, x)| known.decidable(link, t, x))
                });
            // a rule a transaction may remove decides what it does when it runs, no more
            let may_vanish = removable.rules.covers(rule);
            // what this rule alone matched (of a chain, its starter: a miss is the chain's)
            let outcome = decidable.then(|| {
                sim.no_match();
                sim.current_rule_at = Some((phase, at));
                sim.starter_only = true;
                // (the starter's own `setvar`s run at each of its matches: a chain evaluated
                // again in full starts from the `TX` before them)
                let before = links_decidable.then(|| sim.tx.clone());
                let hit = sim.evaluate_rule(rule, &mut RuleMessage::default());
                sim.starter_only = false;
                // (a chain whose starter matched and whose link did not stays undecided, as
                // before: the starter's matches may have set `TX`)
                let mut chain_hit = false;
                if let Some(tx) = before.filter(|_| hit) {
                    sim.tx = tx;
                    sim.no_match();
                    chain_hit = sim.evaluate_rule(rule, &mut RuleMessage::default());
                }
                sim.current_rule_at = None;
                // (what a transaction may remove is followed in `removable`)
                sim.removed_ids.clear();
                sim.removed_tags.clear();
                sim.removed_targets_by_id.clear();
                sim.removed_targets_by_tag.clear();
                sim.removed_targets_tag_bits = 0;
                sim.skip_next = 0;
                (hit, chain_hit, sim.marker.take())
            });
            let (hit, marker) = match outcome {
                // (a chain whose starter matched: decided only when all of it matched, with
                // its links' `setvar`s folded or none, as a decided match runs its starter's
                // alone)
                Some((hit, chain_hit, marker))
                    if !(hit && rule.chains)
                        || (chain_hit
                            && chain_setvars_decided(
                                rule,
                                folding && !conditional,
                                may_vanish,
                                &known,
                            )) =>
                {
                    (hit, marker)
                }
                _ => {
                    // depends on the request (or on a chain's links)
                    if conditional || !tx_inert(rule) {
                        folding = false;
                    }
                    known.impure(rule, &mut written);
                    removable.add(rule);
                    region_end = region_end.max(known.region(rule, entries, at));
                    continue;
                }
            };
            if conditional {
                folding = false;
            }
            if !hit {
                decisions[at] = Decision::Miss;
                continue;
            }
            let jump = marker.as_ref().and_then(|m| marker_after(entries, at, m));
            if marker.is_some() && jump.is_none() {
                // the jump goes past the phase's end, into the next phases: evaluated as it is
                known.give_up = true;
                folding = false;
                region_end = entries.len();
                removable.add(rule);
                continue;
            }
            let quiet = leaves_nothing(rule);
            let values_known = all_setvars(rule).all(|s| known.value_known(&s.var.value));
            let writes = all_setvars(rule).next().is_some();
            let folds = writes && folding && !may_vanish && values_known;
            if quiet {
                let mut records = Collection::new();
                for e in sim.matched_vars().iter() {
                    records.add_shared(e.name.clone(), e.value.clone(), None);
                }
                let own = plan.matched.len() as u32;
                plan.push_matched(records);
                if !writes || folds {
                    matched_state = Some(match state_before {
                        Some(before) => plan.join_matched(before, own).unwrap_or(own),
                        None => own,
                    });
                }
                debug_assert!(
                    !rule.chains || !writes || folds,
                    "a chain's setvars not run"
                );
                decisions[at] = Decision::Hit {
                    matched: own,
                    jump_past: jump.map(|m| m as u32),
                    setvars: writes && !folds,
                };
                if folds {
                    plan.snapshot = Some(sim.tx.clone());
                } else if writes {
                    // it sets TX when it runs: what follows cannot be moved before it
                    folding = false;
                }
            } else {
                folding = false;
                removable.add(rule);
            }
            let certain = values_known && !conditional && !may_vanish;
            known.write_setvars(rule, &mut written, |known, s, key| {
                certain
                    && match s.var.operation {
                        // (a sum stays known when what it adds to is)
                        SetVarOperation::Add | SetVarOperation::Subtract => known.is_known(key),
                        _ => true,
                    }
            });
            if !quiet && rule_may_interrupt(rule) {
                known.after_interruption = true;
            }
            if let Some(m) = jump {
                if at < region_end || may_vanish {
                    // the rule may not run, or another jump may land between here and the
                    // marker: those rules may run
                    region_end = region_end.max(m);
                } else {
                    i = m + 1;
                }
            }
        }
        if (2..=4).contains(&phase) {
            // the phase may not run at all (no body, no response)
            for key in written {
                known.write(key, false);
            }
        }
        plan.passages[phase] = passages(entries, &decisions);
        plan.decisions[phase] = decisions;
        if known.give_up {
            break;
        }
    }
    if let Some(snapshot) = &mut plan.snapshot {
        // (CRS adds ~25 names on a request with a few headers, 920450 one a header)
        snapshot.index_with_room(64);
        // (walked with patterns on the names: their marks are kept, in each copy too)
        snapshot.mark_names();
    }
    plan
}

/// Whether a chain that matched in full may be a [`Decision::Hit`] as far as its `setvar`s
/// go: it has none, or they fold into the snapshot (a hit's `setvar`s, when run, are its
/// starter's alone).
fn chain_setvars_decided(rule: &Rule, folding: bool, may_vanish: bool, known: &Known) -> bool {
    all_setvars(rule).next().is_none()
        || (folding && !may_vanish && all_setvars(rule).all(|s| known.value_known(&s.var.value)))
}

/// The first marker of that name after `at`.
fn marker_after(entries: &[Entry], at: usize, name: &str) -> Option<usize> {
    entries
        .iter()
        .enumerate()
        .skip(at + 1)
        .find(|(_, e)| matches!(e, Entry::Marker(m) if **m == *name))
        .map(|(i, _)| i)
}

/// The rule and its chain's links.
fn links(rule: &Rule) -> impl Iterator<Item = &Rule> {
    std::iter::successors(Some(rule), |r| r.chain.as_deref())
}

/// The `setvar`s of a rule and its links, defaults first.
fn all_setvars(rule: &Rule) -> impl Iterator<Item = &crate::rule::RuleSetVar> {
    links(rule).flat_map(|r| r.defaults.setvars.iter().chain(r.actions.setvars.iter()))
}

/// The match actions of a rule and its links, defaults first.
fn all_match_actions(rule: &Rule) -> impl Iterator<Item = &MatchAction> {
    links(rule).flat_map(|r| {
        r.defaults
            .match_actions
            .iter()
            .chain(r.actions.match_actions.iter())
    })
}

fn is_tx(collection: &str) -> bool {
    collection.eq_ignore_ascii_case("tx")
}

fn reads_tx(m: &MacroString) -> bool {
    m.segments.iter().any(|s| {
        matches!(
            s,
            Segment::Macro {
                variable: VariableName::Tx,
                ..
            }
        )
    })
}

/// Whether the rule's disruptive action (its own, or the default one through `block`) does
/// more than `pass`.
fn disrupts(rule: &Rule) -> bool {
    let acts = |d: &Option<Disruptive>| !matches!(d, None | Some(Disruptive::Pass));
    acts(&rule.actions.disruptive) || (rule.has_block() && acts(&rule.defaults.disruptive))
}

/// A match that leaves nothing but its `setvar`s and jump: not logged, no severity, no
/// disruptive action, no other action.
fn leaves_nothing(rule: &Rule) -> bool {
    let logged = rule.is_logged_as(true) || rule.is_logged_as(false);
    !logged
        && rule.severity().is_none()
        && !disrupts(rule)
        && all_match_actions(rule).all(|a| {
            // (`auditlog` and the ignored actions do nothing when run)
            matches!(
                a,
                MatchAction::SkipAfter(_) | MatchAction::AuditLog(_) | MatchAction::Ignored(_)
            )
        })
        && all_setvars(rule).all(|s| is_tx(&s.var.collection) && s.key.is_some())
}

/// Whether a match of the rule may end the phase's evaluation (a disruptive action, `allow`,
/// `ctl:ruleEngine`): what follows may not run.
fn rule_may_interrupt(rule: &Rule) -> bool {
    disrupts(rule)
        || all_match_actions(rule)
            .any(|a| matches!(a, MatchAction::Ctl(c) if c.ctl.name == CtlName::RuleEngine))
}

/// Whether a rule that runs neither reads nor writes `TX` (nor jumps, nor interrupts): the
/// phase 1 rules folded into the snapshot may be moved before it.
fn tx_inert(rule: &Rule) -> bool {
    let target_reads = |t: &Target| t.variable == VariableName::Tx;
    let action_reads = |a: &MatchAction| match a {
        MatchAction::Skip(_) | MatchAction::SkipAfter(_) => true,
        // (a ctl's value holds no macro: libmodsecurity v3 loads none there)
        MatchAction::Ctl(c) => c.ctl.name == CtlName::RuleEngine,
        MatchAction::InitCol { key: m, .. }
        | MatchAction::SetSid(m)
        | MatchAction::SetUid(m)
        | MatchAction::SetRsc(m)
        | MatchAction::SetEnv(m)
        | MatchAction::ExpireVar(m) => reads_tx(m) || m.raw.to_ascii_lowercase().contains("tx."),
        MatchAction::Status(_) | MatchAction::AuditLog(_) | MatchAction::Ignored(_) => false,
    };
    // (with `SecRuleUpdateTargetBy*`'s additions; unknown when they depend on a macro)
    let reads_targets = |r: &Rule| {
        r.static_targets()
            .map_or(true, |(t, _)| t.iter().any(target_reads))
    };
    !rule_may_interrupt(rule)
        && links(rule).all(|r| {
            !r.capture()
                && !reads_targets(r)
                && !r.operator.as_ref().is_some_and(|o| reads_tx(&o.argument))
                && ![&r.actions, &*r.defaults].iter().any(|a| {
                    a.msg.as_ref().is_some_and(reads_tx)
                        || a.logdata.as_ref().is_some_and(reads_tx)
                        || a.tags.iter().any(reads_tx)
                        || a.setvars.iter().any(|s| {
                            is_tx(&s.var.collection)
                                || reads_tx(&s.var.key)
                                || reads_tx(&s.var.value)
                        })
                        || a.match_actions.iter().any(action_reads)
                        || matches!(&a.disruptive, Some(Disruptive::Redirect(m)) if reads_tx(m))
                })
        })
}

/// What the abstract state says of `TX` names (lowercase).
#[derive(Default)]
struct Known {
    unknown: HashSet<String>,
    /// Names that start with one of these are unknown (`setvar:'tx.header_name_%{tx.0}=...'`).
    unknown_prefixes: Vec<String>,
    /// Names of digits (`capture`'s `TX:0`..`TX:9`).
    numbers_unknown: bool,
    /// A rule that may interrupt has been passed: any later write may not happen.
    after_interruption: bool,
    /// A jump may carry into the next phase: nothing more is decided.
    give_up: bool,
}

impl Known {
    fn is_known(&self, key: &str) -> bool {
        let number = !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit());
        let unknown = self.unknown.contains(key)
            || self
                .unknown_prefixes
                .iter()
                .any(|p| key.starts_with(p.as_str()))
            || (self.numbers_unknown && number);
        !unknown
    }

    fn write(&mut self, key: String, known: bool) {
        if known {
            self.unknown.remove(&key);
        } else {
            self.unknown.insert(key);
        }
    }

    /// Whether a macro text expands to the same on every transaction (literals and known
    /// `TX` values).
    fn value_known(&self, m: &MacroString) -> bool {
        m.segments.iter().all(|s| match s {
            Segment::Literal(_) => true,
            Segment::Macro {
                variable: VariableName::Tx,
                key: Some(k),
            } => self.is_known(&k.to_ascii_lowercase()),
            Segment::Macro { .. } => false,
        })
    }

    /// Whether the rule's outcome (a chain's: its starter's) is the same on every transaction
    /// that reaches it: only known `TX:name` targets, no capture, an operator with no other
    /// input.
    fn decidable(&self, rule: &Rule, targets: &[Target], exclusions: &[Target]) -> bool {
        const PURE: &[&str] = &[
            "Eq",
            "Ge",
            "Gt",
            "Le",
            "Lt",
            "Rx",
            "StrEq",
            "Within",
            "Contains",
            "ContainsWord",
            "BeginsWith",
            "EndsWith",
            "Pm",
            "StrMatch",
            "UnconditionalMatch",
            "NoMatch",
        ];
        let known_target = |t: &Target| match &t.selector {
            Some(CompiledSelector::Key(name, _)) if t.variable == VariableName::Tx => {
                std::str::from_utf8(name).is_ok_and(|n| self.is_known(&n.to_ascii_lowercase()))
            }
            _ => false,
        };
        // run at load on a transaction of its own: nothing outside it may change
        // (persistent collections, the environment), and no `skip`, whose count the plan
        // does not follow
        all_match_actions(rule).all(|a| {
            matches!(
                a,
                MatchAction::SkipAfter(_)
                    | MatchAction::AuditLog(_)
                    | MatchAction::Ignored(_)
                    | MatchAction::Status(_)
                    | MatchAction::Ctl(_)
            )
        }) && all_setvars(rule).all(|s| is_tx(&s.var.collection))
            && !rule.capture()
            && !rule.multi_match()
            && exclusions.is_empty()
            && targets.iter().all(known_target)
            && match &rule.operator {
                None => targets.is_empty(),
                Some(op) => {
                    !targets.is_empty()
                        && PURE.contains(&op.name.as_str())
                        && self.value_known(&op.argument)
                }
            }
    }

    /// A rule whose outcome is not known: what it may write becomes unknown.
    fn impure(&mut self, rule: &Rule, written: &mut Vec<String>) {
        self.write_setvars(rule, written, |_, _, _| false);
        for a in all_match_actions(rule) {
            if let MatchAction::ExpireVar(m) = a {
                let text = m.raw.to_ascii_lowercase();
                if let Some(rest) = text.strip_prefix("tx.") {
                    let name = rest.split('=').next().unwrap_or("").trim();
                    match name.find("%{") {
                        Some(p) => self.unknown_prefixes.push(name[..p].to_string()),
                        None => self.write(name.to_string(), false),
                    }
                }
            }
        }
        if links(rule).any(Rule::capture) {
            self.numbers_unknown = true;
        }
        if rule_may_interrupt(rule) {
            self.after_interruption = true;
        }
    }

    /// The rule's `TX` `setvar`s: a literal name is written (and noted in `written`), known
    /// when `stays_known` says so of it beforehand; a name with a macro makes every name that
    /// starts like it unknown.
    fn write_setvars(
        &mut self,
        rule: &Rule,
        written: &mut Vec<String>,
        stays_known: impl Fn(&Known, &crate::rule::RuleSetVar, &str) -> bool,
    ) {
        for s in all_setvars(rule).filter(|s| is_tx(&s.var.collection)) {
            if s.key.is_none() {
                self.unknown_prefix(&s.var.key);
                continue;
            }
            let key = s.var.key.raw.to_ascii_lowercase();
            let known = stays_known(self, s, &key);
            self.write(key.clone(), known);
            written.push(key);
        }
    }

    /// A `setvar` whose name holds a macro: every name that starts with its literal start.
    fn unknown_prefix(&mut self, key: &MacroString) {
        let prefix = match key.segments.first() {
            Some(Segment::Literal(l)) => l.to_ascii_lowercase(),
            _ => String::new(),
        };
        self.unknown_prefixes.push(prefix);
    }

    /// Where the region the rule may jump over ends (its `skipAfter` marker, or `skip:N`
    /// entries on); 0 when it does not jump. A jump that may leave the phase ends the plan.
    fn region(&mut self, rule: &Rule, entries: &[Entry], at: usize) -> usize {
        let mut end = 0;
        for a in all_match_actions(rule) {
            match a {
                MatchAction::SkipAfter(m) => match marker_after(entries, at, m) {
                    Some(i) => end = end.max(i),
                    None => {
                        self.give_up = true;
                        end = entries.len();
                    }
                },
                MatchAction::Skip(n) => {
                    let to = at + 1 + *n as usize;
                    if to >= entries.len() {
                        self.give_up = true;
                    }
                    end = end.max(to.min(entries.len()));
                }
                _ => {}
            }
        }
        end
    }
}

/// The rules a transaction may remove (`ctl:ruleRemoveById/ByTag/ByMsg`), or remove targets
/// of (their `ruleRemoveTarget*` forms), given the rules passed so far: CRS's 905100 removes
/// every rule tagged `OWASP_CRS` on Apache's internal requests, its sampling rule on the
/// requests it leaves out.
#[derive(Default)]
struct Removable {
    rules: Removals,
    targets: Removals,
}

#[derive(Default)]
struct Removals {
    ids: Vec<IdRange>,
    tags: Vec<String>,
    /// A removal by ids none of which could be read: any rule.
    any: bool,
}

/// What a `ctl` removal names rules by.
enum By {
    Id,
    Tag,
}

impl Removable {
    /// The removals a rule that may run may make: the ids and tag its `ctl`s remove at run
    /// time, as read at load ([`crate::rule::RuleCtl`]).
    fn add(&mut self, rule: &Rule) {
        for a in all_match_actions(rule) {
            let MatchAction::Ctl(c) = a else { continue };
            let (to, by) = match c.ctl.name {
                CtlName::RuleRemoveById => (&mut self.rules, By::Id),
                CtlName::RuleRemoveByTag => (&mut self.rules, By::Tag),
                CtlName::RuleRemoveTargetById => (&mut self.targets, By::Id),
                CtlName::RuleRemoveTargetByTag => (&mut self.targets, By::Tag),
                _ => continue,
            };
            match by {
                By::Id => {
                    to.any |= c.ids.is_empty();
                    to.ids.extend(c.ids.iter().cloned());
                }
                By::Tag => to
                    .tags
                    .extend(c.tag.iter().map(|(t, _)| t.trim().to_string())),
            }
        }
    }
}

impl Removals {
    /// Whether these removals may name the rule (a tag is compared without regard to case,
    /// and a tag with a macro may be any).
    fn covers(&self, rule: &Rule) -> bool {
        self.any
            || (rule.id != 0 && self.ids.iter().any(|r| r.contains(rule.id)))
            || rule
                .all_tags()
                .any(|t| t.has_macros() || self.tags.iter().any(|x| x.eq_ignore_ascii_case(&t.raw)))
    }
}

#[cfg(test)]
mod tests {
    use crate::{RuleSet, Transaction};
    use std::sync::Arc;

    /// A stretch of decided misses is passed at once while no `ctl:ruleRemoveById` names one
    /// of them: a removed rule is evaluated as matched and leaves `MATCHED_VAR` as it was
    /// (403 below), where a miss empties it (200), as with every rule evaluated.
    #[test]
    fn a_removal_at_run_time_opens_the_stretch_it_names() {
        let status = |removed: u64, static_decisions: bool| {
            let text = format!(
                "SecRuleEngine On\n\
                 SecRule ARGS:c \"@streq on\" \"id:1,phase:1,pass,nolog,ctl:ruleRemoveById={removed}\"\n\
                 SecRule TX:never \"@eq 1\" \"id:3,phase:1,pass,nolog\"\n\
                 SecRule MATCHED_VAR \"@streq on\" \"id:4,phase:1,deny,status:403,log\""
            );
            let mut rules = RuleSet::from_text("r.conf", &text, None).unwrap();
            // (3 is a decided miss, a stretch of its own)
            assert!(rules.plan.passages[1].iter().any(|p| p.misses));
            rules.set_static_decisions(static_decisions);
            let mut tx = Transaction::new(Arc::new(rules));
            tx.process_uri(b"/?c=on", b"GET", b"1.1");
            tx.process_request_headers();
            tx.intervention().map(|i| i.status)
        };
        for static_decisions in [true, false] {
            assert_eq!(status(3, static_decisions), Some(403));
            assert_eq!(status(9, static_decisions), None);
        }
    }

    /// Consecutive decided hits leave `MATCHED_VARS` as the plan's join of their records, not
    /// copied: the chain after them still sees the first hit's `TX:a` (a join that lost it
    /// answers 200), as it does with every rule evaluated.
    #[test]
    fn consecutive_hits_join_their_records() {
        let text = "SecRuleEngine On\n\
            SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1,setvar:tx.b=2\"\n\
            SecRule TX:a \"@eq 1\" \"id:2,phase:2,pass,nolog\"\n\
            SecRule TX:b \"@eq 2\" \"id:3,phase:2,pass,nolog\"\n\
            SecRule TX:b \"@eq 2\" \"id:4,phase:2,pass,nolog\"\n\
            SecRule REQUEST_METHOD \"@rx G\" \"id:5,phase:2,deny,status:403,log,chain\"\n\
            SecRule MATCHED_VARS_NAMES \"@rx ^TX:a$\" \"t:none\"";
        let status = |rules: &Arc<RuleSet>| {
            let mut tx = Transaction::new(Arc::clone(rules));
            tx.process_uri(b"/", b"GET", b"1.1");
            tx.process_request_headers();
            tx.process_request_body();
            tx.intervention().map(|i| i.status)
        };
        let planned = Arc::new(RuleSet::from_text("j.conf", text, None).unwrap());
        // (3 follows 2, 4 follows the join of 2 and 3)
        let joins = planned.plan.follows.iter().flatten().count();
        assert_eq!(joins, 2);
        let mut every = RuleSet::from_text("j.conf", text, None).unwrap();
        every.set_static_decisions(false);
        assert_eq!(status(&planned), Some(403));
        assert_eq!(status(&Arc::new(every)), Some(403));
    }
}
