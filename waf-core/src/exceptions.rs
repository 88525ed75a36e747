//! The configuration's rule exceptions (`SecRuleRemoveById/ByTag/ByMsg`,
//! `SecRuleUpdateTargetById/ByTag/ByMsg`) as they apply to one rule.
//!
//! They do not change from one transaction to the next, so the rule set works them out once per
//! rule ([`Rule::static_exceptions`], set by [`work_out_all`]) unless a tag or `msg` they
//! compare holds a macro; a transaction then only adds its own `ctl:` removals. Rules whose
//! exceptions depend on a macro are worked out per evaluation, by the same functions.

use crate::rule::{Rule, Target};
use crate::ruleset::{Entry, Exceptions, TargetUpdate};
use seclang_parser::MacroString;

/// What the configuration's exceptions make of one rule.
#[derive(Debug)]
pub struct StaticExceptions {
    /// `SecRuleRemoveBy*` removes it.
    pub removed: bool,
    /// Its targets and exclusions after `SecRuleUpdateTargetBy*` and whole-target exclusions;
    /// `None` when they are the rule's own.
    pub targets: Option<(Vec<Target>, Vec<Target>)>,
}

/// The `SecRuleUpdateTargetBy*` entries that apply to `rule` (`chain_id`: its chain starter's
/// id; by-id updates only reach starters). `has_tag`/`has_msg` compare the rule's expanded tags
/// and message.
pub(crate) fn updates<'e>(
    ex: &'e Exceptions,
    rule: &Rule,
    chain_id: u64,
    has_tag: impl Fn(&str) -> bool,
    has_msg: impl Fn(&str) -> bool,
) -> Vec<&'e TargetUpdate> {
    let mut out: Vec<&TargetUpdate> = Vec::new();
    if !rule.chained_child {
        out.extend(
            ex.update_target_by_id
                .iter()
                .filter(|(ids, _)| ids.iter().any(|r| r.contains(chain_id)))
                .map(|(_, u)| u),
        );
    }
    out.extend(
        ex.update_target_by_tag
            .iter()
            .filter(|(tag, _)| has_tag(tag))
            .map(|(_, u)| u),
    );
    out.extend(
        ex.update_target_by_msg
            .iter()
            .filter(|(msg, _)| has_msg(msg))
            .map(|(_, u)| u),
    );
    out
}

/// Whether an exclusion removes target `t` as a whole (`!ARGS` for `ARGS`, or the same name).
fn whole(exclude: &[Target], t: &Target) -> bool {
    exclude.iter().any(|e| {
        e.variable == t.variable && e.selector.is_none()
            || e.full_name.eq_ignore_ascii_case(&t.full_name)
    })
}

/// The rule's targets and exclusions with `updates` applied, minus whole-target exclusions;
/// `None` when that leaves the rule's own lists. (This transaction's `ctl:ruleRemoveTarget*`
/// are checked per target when the rule runs.)
pub(crate) fn apply(rule: &Rule, updates: &[&TargetUpdate]) -> Option<(Vec<Target>, Vec<Target>)> {
    if updates.is_empty() && !rule.targets.iter().any(|t| whole(&rule.exclusions, t)) {
        return None;
    }
    let mut exclude: Vec<Target> = rule.exclusions.clone();
    let mut add: Vec<&Target> = Vec::new();
    for u in updates {
        add.extend(u.add.iter());
        exclude.extend(u.exclude.iter().cloned());
    }
    let targets = rule
        .targets
        .iter()
        .chain(add)
        .filter(|t| !whole(&exclude, t))
        .cloned()
        .collect();
    Some((targets, exclude))
}

/// `SecRuleRemoveById/ByTag/ByMsg` (`rule` is a chain starter).
pub(crate) fn removed(
    ex: &Exceptions,
    rule: &Rule,
    has_tag: impl Fn(&str) -> bool,
    msg: impl FnOnce() -> Option<String>,
) -> bool {
    if rule.id != 0 && ex.remove_by_id.iter().any(|r| r.contains(rule.id)) {
        return true;
    }
    if !ex.remove_by_msg.is_empty() {
        if let Some(m) = msg() {
            if ex.remove_by_msg.contains(&m) {
                return true;
            }
        }
    }
    ex.remove_by_tag.iter().any(|tag| has_tag(tag))
}

/// Works out [`Rule::static_exceptions`] for every rule and chain link whose exceptions do not
/// depend on a macro.
pub(crate) fn work_out_all(ex: &Exceptions, phases: &[Vec<Entry>]) {
    let by_tag = !ex.update_target_by_tag.is_empty() || !ex.remove_by_tag.is_empty();
    let by_msg = !ex.update_target_by_msg.is_empty() || !ex.remove_by_msg.is_empty();
    for entry in phases.iter().flatten() {
        let Entry::Rule(starter) = entry else {
            continue;
        };
        let mut link: Option<&Rule> = Some(starter);
        while let Some(rule) = link {
            link = rule.chain.as_deref();
            let tags: Option<Vec<&str>> = rule.all_tags().map(MacroString::literal_text).collect();
            let msg = rule.msg().map(MacroString::literal_text);
            if (by_tag && tags.is_none()) || (by_msg && msg.is_some_and(|m| m.is_none())) {
                continue; // depends on a macro: worked out at each evaluation
            }
            let tags = tags.unwrap_or_default();
            let msg = msg.flatten();
            let has_tag = |t: &str| tags.contains(&t);
            let has_msg = |m: &str| msg == Some(m);
            let u = updates(ex, rule, starter.id, has_tag, has_msg);
            let _ = rule.static_exceptions.set(StaticExceptions {
                removed: !rule.chained_child
                    && removed(ex, rule, has_tag, || msg.map(str::to_string)),
                targets: apply(rule, &u),
            });
        }
    }
}
