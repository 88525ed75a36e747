//! Running a phase: rule order, `SecMarker`/`skipAfter`, `skip`, `allow`, rule removals; and
//! running one rule: targets, exclusions, transformations, operator, chain, per-match and
//! after-match actions — in libmodsecurity's order (`RulesSet::evaluate`,
//! `RuleWithOperator::evaluate`).

use super::variables::Value;
use super::{AllowState, Transaction};
use crate::message::{hex_if_needed, limit_to, RuleMessage};
use crate::operators::OperatorContext;
use crate::rule::{CompiledSelector, Rule, Target};
use crate::ruleset::Entry;
use seclang_parser::MacroString;
use std::sync::Arc;

/// What an operator sees of the transaction while it runs.
struct OperatorCx<'a> {
    tx: &'a mut Transaction,
    capture: bool,
}

impl OperatorContext for OperatorCx<'_> {
    fn expand(&mut self, argument: &MacroString) -> Vec<u8> {
        self.tx.expand_macros(argument)
    }

    fn capturing(&self) -> bool {
        self.capture
    }

    fn capture(&mut self, index: usize, value: &[u8]) {
        self.tx.tx.set(index.to_string().as_bytes(), value.to_vec());
    }
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
        let rules = Arc::clone(&self.rules);
        for entry in &rules.phases[usize::from(phase.min(5))] {
            if let Some(marker) = &self.marker {
                if let Entry::Marker(name) = entry {
                    if name == marker {
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
            self.current_rule = Some(Arc::clone(rule));
            let mut message = RuleMessage::default();
            self.evaluate_rule(rule, &mut message);
            self.current_rule = None;
            if self.intervention.disruptive {
                break;
            }
        }
    }

    /// `SecRuleRemoveBy*` and `ctl:ruleRemoveByTag`.
    fn removed(&self, rule: &Rule) -> bool {
        let ex = &self.rules.exceptions;
        if rule.id != 0 && ex.remove_by_id.iter().any(|r| r.contains(rule.id)) {
            return true;
        }
        if !ex.remove_by_msg.is_empty() {
            if let Some(m) = rule.msg() {
                let msg = self.expand_to_string(m);
                if ex.remove_by_msg.contains(&msg) {
                    return true;
                }
            }
        }
        if !ex.remove_by_tag.is_empty() || !self.removed_tags.is_empty() {
            for t in rule.all_tags() {
                let tag = self.expand_to_string(t);
                if ex
                    .remove_by_tag
                    .iter()
                    .chain(self.removed_tags.iter())
                    .any(|x| *x == tag)
                {
                    return true;
                }
            }
        }
        false
    }

    fn has_tag(&self, rule: &Rule, tag: &str) -> bool {
        rule.all_tags().any(|t| self.expand_to_string(t) == tag)
    }

    fn has_msg(&self, rule: &Rule, msg: &str) -> bool {
        rule.msg().is_some_and(|m| self.expand_to_string(m) == msg)
    }

    /// The rule's targets, with `SecRuleUpdateTargetBy*` additions, minus whole-target
    /// removals; and the exclusions that apply to its values.
    fn targets_of(&self, rule: &Rule) -> (Vec<Target>, Vec<Target>) {
        let ex = &self.rules.exceptions;
        let mut add: Vec<Target> = Vec::new();
        let mut exclude: Vec<Target> = rule.exclusions.clone();
        let chain_id = self.current_rule.as_ref().map_or(rule.id, |r| r.id);
        for (ids, u) in &ex.update_target_by_id {
            if ids.iter().any(|r| r.contains(chain_id)) && !rule.chained_child {
                add.extend(u.add.iter().cloned());
                exclude.extend(u.exclude.iter().cloned());
            }
        }
        for (tag, u) in &ex.update_target_by_tag {
            if self.has_tag(rule, tag) {
                add.extend(u.add.iter().cloned());
                exclude.extend(u.exclude.iter().cloned());
            }
        }
        for (msg, u) in &ex.update_target_by_msg {
            if self.has_msg(rule, msg) {
                add.extend(u.add.iter().cloned());
                exclude.extend(u.exclude.iter().cloned());
            }
        }
        let mut targets: Vec<Target> = Vec::with_capacity(rule.targets.len() + add.len());
        for t in rule.targets.iter().chain(add.iter()) {
            let whole = exclude.iter().any(|e| {
                e.variable == t.variable && e.selector.is_none()
                    || e.full_name.eq_ignore_ascii_case(&t.full_name)
            });
            if whole || self.target_removed_at_run_time(rule, &t.full_name) {
                continue;
            }
            targets.push(t.clone());
        }
        (targets, exclude)
    }

    /// `ctl:ruleRemoveTargetById`/`ByTag` naming `name` (`ARGS:x`, or a whole `ARGS`).
    fn target_removed_at_run_time(&self, rule: &Rule, name: &str) -> bool {
        let id = self.current_rule.as_ref().map_or(rule.id, |r| r.id);
        self.removed_targets_by_id
            .iter()
            .any(|(r, t)| r.contains(id) && t.eq_ignore_ascii_case(name))
            || self
                .removed_targets_by_tag
                .iter()
                .any(|(tag, t)| t.eq_ignore_ascii_case(name) && self.has_tag(rule, tag))
    }

    /// Whether an exclusion removes this value. As in libmodsecurity, a `/regex/` exclusion
    /// is tried on the element name of every target (`!REQUEST_COOKIES:/__utm/` also removes
    /// `REQUEST_COOKIES_NAMES:__utma`); a named one on the whole name (`ARGS:id`, compared
    /// case-insensitively).
    fn excluded(&self, rule: &Rule, exclusions: &[Target], v: &Value) -> bool {
        for e in exclusions {
            let hit = match &e.selector {
                Some(CompiledSelector::Regex(re, _)) => {
                    v.element.as_ref().is_some_and(|el| re.is_match(el))
                }
                Some(CompiledSelector::Key(_, Some(m))) => {
                    e.variable.as_str().len() + 1 + self.expand_macros(m).len() == v.key.len()
                        && v.key.as_bytes().eq_ignore_ascii_case(
                            format!("{}:{}", e.variable, self.expand_to_string(m)).as_bytes(),
                        )
                }
                _ => e.full_name.eq_ignore_ascii_case(&v.key),
            };
            if hit {
                return true;
            }
        }
        self.target_removed_at_run_time(rule, &v.key)
    }

    /// The values the operator sees: the fully transformed value, or with `multiMatch` the
    /// original and every value a transformation changed.
    fn transform(&self, rule: &Rule, input: &[u8]) -> Vec<Vec<u8>> {
        let multi = rule.multi_match();
        let mut out = Vec::new();
        if multi {
            out.push(input.to_vec());
        }
        let mut current = input.to_vec();
        let mut next = Vec::new();
        for (name, f) in &rule.transformations {
            let changed = match &self.rules.unicode_map {
                Some(map) if *name == seclang_parser::names::TransformationName::UrlDecodeUni => {
                    crate::transformations::url_decode_uni_with_map(&current, &mut next, map)
                }
                _ => f(&current, &mut next),
            };
            // The output is always the new value; the "changed" flag (libmodsecurity's, not
            // always "output differs": t:cmdLine never sets it) only decides which values
            // multiMatch tests.
            std::mem::swap(&mut current, &mut next);
            if multi && changed {
                out.push(current.clone());
            }
        }
        if !multi {
            out.push(current);
        }
        out
    }

    fn transformation_path(rule: &Rule) -> String {
        rule.transformations
            .iter()
            .map(|(n, _)| format!("t:{n}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Evaluates one rule (and its chain); returns whether it matched.
    pub(crate) fn evaluate_rule(&mut self, rule: &Rule, message: &mut RuleMessage) -> bool {
        // ctl:ruleRemoveById: libmodsecurity skips the rule and reports it as matched.
        let id = self.current_rule.as_ref().map_or(rule.id, |r| r.id);
        if id != 0 && self.removed_ids.iter().any(|r| r.contains(id)) {
            return true;
        }
        let Some(op) = &rule.operator else {
            // SecAction: unconditional
            self.run_setvars(rule);
            self.after_full_match(rule, message);
            return true;
        };
        let (targets, exclusions) = self.targets_of(rule);
        let mut matched = false;
        let mut values: Vec<Value> = Vec::new();
        for target in &targets {
            values.clear();
            self.resolve(rule, target, &mut values);
            for v in &values {
                if self.excluded(rule, &exclusions, v) {
                    continue;
                }
                for candidate in self.transform(rule, &v.value) {
                    let capture = rule.capture();
                    let hit = {
                        let mut cx = OperatorCx { tx: self, capture };
                        op.operator.evaluate(&mut cx, &candidate)
                    } != op.negated;
                    if !hit {
                        continue;
                    }
                    let param = if op.argument.has_macros() {
                        self.expand_to_string(&op.argument)
                    } else {
                        op.argument.raw.clone()
                    };
                    if rule.multi_match() && !message.matched.is_empty() {
                        let earlier = (
                            std::mem::take(&mut message.matched),
                            std::mem::take(&mut message.reference),
                        );
                        message.earlier_matches.push(earlier);
                    }
                    message.matched = format!(
                        "Matched \"Operator `{}' with parameter `{}' against variable `{}' (Value: `{}' )",
                        op.name,
                        limit_to(200, &param),
                        v.key,
                        limit_to(100, &hex_if_needed(&v.value)),
                    );
                    message.reference = Self::transformation_path(rule);
                    self.matched_var = Some((v.key.clone(), candidate.clone()));
                    self.matched_vars.add(v.key.as_bytes(), &candidate);
                    self.run_setvars(rule);
                    matched = true;
                }
            }
        }
        if !matched {
            self.matched_var = None;
            self.matched_vars.clear();
            return false;
        }
        if rule.chains {
            // a `chain` with no rule after it never matches (libmodsecurity: "Rule is marked
            // as chained but there isn't a subsequent rule")
            match &rule.chain {
                Some(child) if self.evaluate_rule(child, message) => {}
                _ => return false,
            }
        }
        self.after_full_match(rule, message);
        true
    }
}
