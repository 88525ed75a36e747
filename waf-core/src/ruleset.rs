//! The compiled, immutable rule set: `Send + Sync`, shared by `Arc` across threads and virtual
//! hosts. Transactions borrow it; nothing in it changes after [`compile`](crate::compile()).

use crate::config::EngineConfig;
use crate::rule::{Rule, Target};
use seclang_parser::{IdRange, SourceMap};
use std::sync::Arc;

/// One entry of a phase's rule list.
#[derive(Debug, Clone)]
pub enum Entry {
    Rule(Arc<Rule>),
    /// `SecMarker NAME` (a copy stands in every phase, as in libmodsecurity).
    Marker(String),
}

/// Targets added to or removed from rules by `SecRuleUpdateTargetBy*`.
#[derive(Debug, Clone, Default)]
pub struct TargetUpdate {
    pub add: Vec<Target>,
    pub exclude: Vec<Target>,
}

/// Rule exceptions from the configuration; they apply wherever they stand in the files.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    pub remove_by_id: Vec<IdRange>,
    /// Exact tag text (libmodsecurity v3 compares tags, it does not match a regex).
    pub remove_by_tag: Vec<String>,
    pub remove_by_msg: Vec<String>,
    pub update_target_by_id: Vec<(Vec<IdRange>, TargetUpdate)>,
    pub update_target_by_tag: Vec<(String, TargetUpdate)>,
    pub update_target_by_msg: Vec<(String, TargetUpdate)>,
}

/// A compiled configuration.
#[derive(Debug)]
pub struct RuleSet {
    pub config: EngineConfig,
    /// Rules by SecLang phase (index 0 is `phase:0`, 1–5 the usual phases).
    pub(crate) phases: [Vec<Entry>; 6],
    pub(crate) exceptions: Exceptions,
    pub sources: SourceMap,
    /// The persistent collections (`initcol`...), shared by this rule set's transactions.
    pub(crate) store: Arc<crate::persistent::MemoryStore>,
    /// `SecUnicodeMapFile`'s table, for `t:urlDecodeUni`.
    pub(crate) unicode_map: Option<Arc<crate::transformations::UnicodeMap>>,
    /// The transformation chains of the rules ([`crate::chains`]).
    pub(crate) chains: crate::chains::ChainTable,
    /// The grouped `@rx` automata ([`crate::matcher`]).
    pub(crate) matcher: crate::matcher::Matcher,
    /// How many entries the targets' [`crate::rule::PhaseKeys`] number: bytes, candidates.
    pub(crate) phase_keys: crate::transaction::PhaseKeyCounts,
    /// The words of a text's entry among the rules' misses: a bit per rule that has one
    /// ([`crate::rule::Rule::miss_bit`]).
    pub(crate) miss_words: usize,
    /// Whether transactions consult [`Self::matcher`] (on by default; off evaluates every
    /// rule's regex on its own, for testing the two against each other).
    pub(crate) grouped_matching: bool,
    /// What the rules decide before any request ([`crate::plan`]).
    pub(crate) plan: crate::plan::Plan,
    /// Whether transactions follow [`Self::plan`] (on by default).
    pub(crate) static_decisions: bool,
    /// Whether `noauditlog` (as the last of `log`/`nolog`/`auditlog`/`noauditlog`) keeps a
    /// match out of the error log, as in libmodsecurity v3 (the default), or only `nolog`
    /// does, as in ModSecurity v2 and as CRS's regression tests expect (CRS 980170).
    pub(crate) noauditlog_hides_rule: bool,
    /// Load-time warnings (e.g. a rule that runs on the backtracking regex fallback).
    pub warnings: Vec<String>,
    /// This rule set's number in the process, which no other has (a thread's memo is one
    /// rule set's: [`crate::transaction`]'s `memo`).
    pub(crate) id: u64,
    /// What each place in the memo needs, by [`crate::rule::Rule::memo_slot`].
    pub(crate) memo: Vec<crate::transaction::MemoRule>,
}

impl RuleSet {
    pub(crate) fn new(
        config: EngineConfig,
        phases: [Vec<Entry>; 6],
        exceptions: Exceptions,
        sources: SourceMap,
        warnings: Vec<String>,
    ) -> RuleSet {
        RuleSet {
            config,
            phases,
            exceptions,
            sources,
            store: Arc::new(crate::persistent::MemoryStore::new()),
            unicode_map: None,
            chains: crate::chains::ChainTable::new(),
            matcher: Default::default(),
            phase_keys: Default::default(),
            miss_words: 0,
            grouped_matching: true,
            plan: Default::default(),
            static_decisions: true,
            noauditlog_hides_rule: true,
            warnings,
            id: {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
            memo: Vec::new(),
        }
    }

    /// Reads and compiles configuration files (with their `Include`s).
    pub fn from_files<P: AsRef<std::path::Path>>(
        paths: &[P],
    ) -> Result<RuleSet, seclang_parser::Errors> {
        let mut loader = seclang_parser::Loader::new();
        for p in paths {
            loader.add_file(p.as_ref());
        }
        crate::compile(loader.finish()?)
    }

    /// Compiles rules given as text; `name` labels errors, relative paths resolve from `dir`.
    pub fn from_text(
        name: &str,
        text: &str,
        dir: Option<&std::path::Path>,
    ) -> Result<RuleSet, seclang_parser::Errors> {
        let mut loader = seclang_parser::Loader::new();
        if let Some(d) = dir {
            loader.current_dir(d);
        }
        loader.add_str(name, text, dir);
        crate::compile(loader.finish()?)
    }

    /// Turns the grouped matcher off (or back on). Off, every `@rx` rule runs its own regex on
    /// every value, and every rule resolves its targets itself (no values shared by the rules
    /// of a phase) and is evaluated anew on each request (no memo of the rules' last "no" on
    /// a repeated value); verdicts and logs are the same either way, only speed differs.
    pub fn set_grouped_matching(&mut self, on: bool) {
        self.grouped_matching = on;
    }

    /// Turns the load-time decisions off (or back on): off, every rule is evaluated, CRS's
    /// paranoia-level checks and defaults included ([`crate::plan`]); verdicts and logs are
    /// the same either way.
    pub fn set_static_decisions(&mut self, on: bool) {
        self.static_decisions = on;
    }

    /// How many rules the load-time decisions spare transactions from evaluating.
    pub fn decided_rules(&self) -> usize {
        self.plan.decided()
    }

    /// `false`: only `nolog` keeps a match out of the error log (ModSecurity v2, and what CRS's
    /// own regression tests expect of 980170); `true` (the default): libmodsecurity v3's
    /// reading, where `noauditlog` written after `log` hides the rule too.
    pub fn set_noauditlog_hides_rule(&mut self, hides: bool) {
        self.noauditlog_hides_rule = hides;
    }

    /// How many `@rx` rules the grouped matcher covers, in how many groups.
    pub fn grouped_rules(&self) -> (usize, usize) {
        let groups = self.matcher.member_groups();
        (groups.iter().map(|g| g.len()).sum(), groups.len())
    }

    /// Rules as libmodsecurity's `msc_rules_add*` counts them: one per rule (a chain counts
    /// once), seven per `SecMarker`.
    pub fn rule_count(&self) -> usize {
        self.phases
            .iter()
            .flatten()
            .map(|e| match e {
                Entry::Rule(_) => 1,
                Entry::Marker(_) => 0,
            })
            .sum::<usize>()
            + 7 * self.phases[0]
                .iter()
                .filter(|e| matches!(e, Entry::Marker(_)))
                .count()
    }

    /// The rules of a phase, in order.
    pub fn rules(&self, phase: u8) -> impl Iterator<Item = &Rule> {
        self.phases[usize::from(phase.min(5))]
            .iter()
            .filter_map(|e| match e {
                Entry::Rule(r) => Some(r.as_ref()),
                Entry::Marker(_) => None,
            })
    }
}
