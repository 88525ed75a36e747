//! A compiled rule: targets, operator, transformations and its actions sorted the way
//! libmodsecurity runs them (per match, after a full match, disruptive last).

use crate::operators::Operator;
use crate::transformations::TransformFn;
use seclang_parser::names::VariableName;
use seclang_parser::{Ctl, MacroString, Selector, SetVar, VariableModifier};
use std::sync::Arc;

/// A `setvar`, with what it writes that is known at load time ready to share: CRS runs a
/// few dozen a request, most of them a literal name and value (`tx.sql_injection_score=0`).
#[derive(Debug, Clone)]
pub struct RuleSetVar {
    pub var: SetVar,
    /// The element name, when it has no macro: the new element's name, not copied; and its
    /// [`crate::collection::name_hash`].
    pub key: Option<(crate::collection::Bytes, u64)>,
    /// The value, when it has no macro.
    pub value: Option<crate::collection::Bytes>,
    /// The element name of a value that is one `%{tx.name}` and nothing else (CRS's
    /// `+%{tx.critical_anomaly_score}`), with its hash: read without expanding the macro.
    pub value_of_tx: Option<(crate::collection::Bytes, u64)>,
}

impl RuleSetVar {
    pub fn new(var: SetVar) -> RuleSetVar {
        let shared = |m: &MacroString| m.literal_text().map(|t| t.as_bytes().into());
        RuleSetVar {
            key: shared(&var.key).map(|k: crate::collection::Bytes| {
                let hash = crate::collection::name_hash(&k);
                (k, hash)
            }),
            value: shared(&var.value),
            value_of_tx: lone_tx_macro(&var.value),
            var,
        }
    }
}

/// The element name and its [`crate::collection::name_hash`] of a text that is one
/// `%{tx.name}` and nothing else (not a `%{tx./regex/}`): what it expands to is that element's
/// first value, or nothing, looked up without hashing the name at each use.
pub(crate) fn lone_tx_macro(m: &MacroString) -> Option<(crate::collection::Bytes, u64)> {
    match &m.segments[..] {
        [seclang_parser::Segment::Macro {
            variable: seclang_parser::names::VariableName::Tx,
            key: Some(k),
        }] if !k.starts_with('/') => {
            let k: crate::collection::Bytes = k.as_bytes().into();
            let hash = crate::collection::name_hash(&k);
            Some((k, hash))
        }
        _ => None,
    }
}

/// One target of a rule (`ARGS:foo`, `&TX:x`, `XML:/*`), ready to resolve.
#[derive(Debug, Clone)]
pub struct Target {
    pub variable: VariableName,
    pub selector: Option<CompiledSelector>,
    pub count: bool,
    /// The target as written, without `!`/`&` (`ARGS:foo`), for exclusions by name; shared
    /// with the value a count (`&TX:foo`) gives, which is named so.
    pub full_name: Arc<str>,
    /// Its entries in a transaction's per-phase tables, given at load.
    pub(crate) phase_keys: PhaseKeys,
}

/// A target's entries in a transaction's per-phase tables (`crate::transaction`'s candidates):
/// the bytes of the variable's values (all, or those its selector picks) after the rule's
/// chain, and its group's candidates among them. Numbered at load, once the chains and the matcher are known, so that
/// a rule asks an array, not a hash table (CRS's rules name five to nine variables each, and
/// most are answered "no match" by these tables alone). [`NO_KEY`] for a target that is not a
/// fixed variable (or is a count), or that an exception depending on a macro gives the rule at each
/// evaluation (its values are then asked each time). Copied with the target: a copy stays in
/// the same rule (exceptions work on the rule's own lists), for which the entries were
/// numbered; the targets `SecRuleUpdateTargetBy*` adds at load are numbered in the rule's list.
#[derive(Debug)]
pub(crate) struct PhaseKeys {
    pub bytes: std::sync::atomic::AtomicU32,
    pub candidates: std::sync::atomic::AtomicU32,
}

/// [`PhaseKeys`] of a target without an entry.
pub(crate) const NO_KEY: u32 = u32::MAX;

impl Default for PhaseKeys {
    fn default() -> PhaseKeys {
        PhaseKeys {
            bytes: NO_KEY.into(),
            candidates: NO_KEY.into(),
        }
    }
}

impl Clone for PhaseKeys {
    fn clone(&self) -> PhaseKeys {
        use std::sync::atomic::Ordering::Relaxed;
        PhaseKeys {
            bytes: self.bytes.load(Relaxed).into(),
            candidates: self.candidates.load(Relaxed).into(),
        }
    }
}

/// A selector with its regex compiled.
#[derive(Debug, Clone)]
pub enum CompiledSelector {
    /// Element name; compared case-insensitively. With the name's
    /// [`crate::collection::name_hash`], worked out once (`TX:x` is looked up hundreds of times
    /// a request).
    Key(Vec<u8>, u64),
    /// `/regex/`, matched against element names.
    Regex(Arc<SelectorRegex>, String),
}

impl Target {
    pub fn from_ast(v: &seclang_parser::Variable) -> Result<Target, String> {
        let selector = match &v.selector {
            None => None,
            Some(Selector::Key(k)) => {
                let hash = crate::collection::name_hash(k.as_bytes());
                Some(CompiledSelector::Key(k.as_bytes().to_vec(), hash))
            }
            Some(Selector::Regex(r)) => {
                let re = SelectorRegex::new(r)
                    .map_err(|e| format!("invalid selector regex /{r}/: {e}"))?;
                Some(CompiledSelector::Regex(Arc::new(re), r.clone()))
            }
        };
        let full_name: Arc<str> = match &v.selector {
            None => v.name.as_str().into(),
            Some(Selector::Key(k)) => format!("{}:{}", v.name, k).into(),
            Some(Selector::Regex(r)) => format!("{}:/{}/", v.name, r).into(),
        };
        Ok(Target {
            variable: v.name,
            selector,
            count: v.modifier == VariableModifier::Count,
            full_name,
            phase_keys: PhaseKeys::default(),
        })
    }
}

/// A `/regex/` selector: a PCRE pattern matched against element names, case-insensitively
/// (libmodsecurity compiles selector regexes with PCRE_CASELESS).
pub fn selector_regex(pattern: &str) -> Result<crate::regex::Regex, String> {
    crate::regex::Regex::new(&format!("(?i){pattern}")).map_err(|e| e.to_string())
}

/// A `/regex/` selector, compiled ([`selector_regex`]), with a plain test for the patterns
/// that are a name or a name's start (`/^header_name_920450_/`, `/MULTIPART_HEADERS_CONTENT_
/// TYPES_*/`): CRS walks `TX` with those on every request, a regex run per element.
#[derive(Debug)]
pub struct SelectorRegex {
    regex: crate::regex::Regex,
    /// The literal every name that matches holds (ASCII letters, digits, `_`, `-`, escaped
    /// punctuation), whether at its start, and where in it a search for it looks first
    /// ([`search_key`]).
    literal: Option<(Vec<u8>, bool, usize)>,
    /// For another pattern, the text every name that matches starts with (ASCII case aside;
    /// empty when none is known): CRS's `!REQUEST_COOKIES:/^pbjs-\w+$/` and
    /// `/^_ga(?:_\w+)?$/` are tried on the name of every value of most of its rules, a regex
    /// run each ([`required_start`]).
    start: Vec<u8>,
    /// [`crate::collection::name_marks`] of the literal or start every name that matches
    /// holds (0 when there is none): a collection that keeps its names' marks offers only the
    /// names that have them ([`crate::Collection::iter_marked`]).
    marks: u64,
}

impl SelectorRegex {
    pub fn new(pattern: &str) -> Result<SelectorRegex, String> {
        let literal = plain_literal(pattern).map(|(l, anchored)| {
            let key = search_key(&l);
            (l, anchored, key)
        });
        let start = required_start(pattern);
        let held = literal.as_ref().map_or(&start[..], |(l, ..)| &l[..]);
        Ok(SelectorRegex {
            regex: selector_regex(pattern)?,
            marks: crate::collection::name_marks(held),
            literal,
            start,
        })
    }

    /// The marks every name that matches has ([`SelectorRegex::marks`]).
    pub fn marks(&self) -> u64 {
        self.marks
    }

    /// Whether the pattern matches `name` (without regard to ASCII case).
    pub fn is_match(&self, name: &[u8]) -> bool {
        match &self.literal {
            Some((lit, true, _)) => starts_with_ignore_case(name, lit),
            Some((lit, false, key)) => contains_ignore_case(name, lit, *key),
            None => starts_with_ignore_case(name, &self.start) && self.regex.is_match(name),
        }
    }
}

/// Where in `lit` a search for it looks first: its first byte that is not a letter (one
/// spelling to find, and seldom in a name: the `\` of CRS 3.3.4's `LEAKAGE\\\/ERRORS`, which
/// walks `TX` on every request and whose `l` most of `TX`'s names hold), else its first.
fn search_key(lit: &[u8]) -> usize {
    lit.iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(0)
}

/// Whether `name` holds `lit` (ASCII case aside): where its byte at `key` is, in either case
/// (CRS's `!REQUEST_COOKIES:/__utm/` asks it of every value of most of its rules; a compare at
/// each of a name's places cost ~20 instructions a place).
fn contains_ignore_case(name: &[u8], lit: &[u8], key: usize) -> bool {
    let Some(last) = name.len().checked_sub(lit.len()) else {
        return false;
    };
    // (a place `i` of the window is a start `i` of the literal in `name`)
    let window = &name[key..=last + key];
    let holds = |at: usize| name[at..at + lit.len()].eq_ignore_ascii_case(lit);
    let k = lit[key];
    if k.is_ascii_alphabetic() {
        let (lower, upper) = (k.to_ascii_lowercase(), k.to_ascii_uppercase());
        memchr::memchr2_iter(lower, upper, window).any(holds)
    } else {
        memchr::memchr_iter(k, window).any(holds)
    }
}

/// Whether `name` starts with `start` (ASCII case aside). (The first byte first: of the
/// ~100 names of CRS's `TX` that `/^header_name_920450_/` is tried on, most differ there, and
/// the slices' compare is ~60 instructions whatever.)
pub(crate) fn starts_with_ignore_case(name: &[u8], start: &[u8]) -> bool {
    name.get(..start.len()).is_some_and(|s| {
        s.first()
            .zip(start.first())
            .map_or(true, |(a, b)| a.eq_ignore_ascii_case(b))
            && s.eq_ignore_ascii_case(start)
    })
}

/// The plain text right after a pattern's leading `^`, which every match starts with: its
/// letters, digits, `_` and `-` up to the first other byte, less the last when a quantifier
/// follows it (`^ab?`: `a`). Empty for a pattern with a `|` anywhere (`^ab|cd` starts with
/// neither) or without the `^`. (The selector's regex is compiled caseless and without
/// multi-line mode: `^` is the name's start.)
fn required_start(pattern: &str) -> Vec<u8> {
    let Some(rest) = pattern.strip_prefix('^').filter(|_| !pattern.contains('|')) else {
        return Vec::new();
    };
    let mut start: Vec<u8> = rest.bytes().take_while(|&b| is_plain(b)).collect();
    if matches!(
        rest.as_bytes().get(start.len()),
        Some(b'?' | b'*' | b'+' | b'{')
    ) {
        start.pop();
    }
    start
}

/// A byte a pattern's literal is written with plain: a letter, a digit, `_` or `-`.
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

/// A pattern that says "holds this literal" (`name`, `^name`, and either followed by one more
/// plain character and `*`, which may match nothing): the literal and whether it is anchored.
fn plain_literal(pattern: &str) -> Option<(Vec<u8>, bool)> {
    let (anchored, rest) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let mut literal = Vec::with_capacity(rest.len());
    let mut bytes = rest.bytes();
    // (whether the last byte pushed was written plain, so that a `*` may repeat it)
    let mut repeatable = false;
    while let Some(b) = bytes.next() {
        match b {
            // an escaped punctuation byte is itself (CRS 3.3.4's 980100 counts
            // `TX:/LEAKAGE\\\/ERRORS/` on every request)
            b'\\' => {
                let e = bytes.next().filter(|e| e.is_ascii_punctuation())?;
                literal.push(e);
                repeatable = false;
            }
            // `c*` at the end: a name holds the literal before it whether or not `c` follows
            b'*' if repeatable && bytes.len() == 0 => {
                literal.pop();
            }
            b if is_plain(b) => {
                literal.push(b);
                repeatable = true;
            }
            _ => return None,
        }
    }
    (!literal.is_empty()).then_some((literal, anchored))
}

/// The disruptive action of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disruptive {
    Pass,
    Deny,
    Drop,
    /// `allow` (whole transaction), `allow:request`, `allow:phase`.
    Allow(AllowKind),
    Redirect(MacroString),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowKind {
    Transaction,
    Request,
    Phase,
}

/// A `ctl` action, with what a `ctl:ruleRemove*` removes read from its value at load: CRS's
/// 941010 removes a target by tag on most requests, and its value was split, and the tag and
/// target copied, at each match.
#[derive(Debug, Clone)]
pub struct RuleCtl {
    pub ctl: Ctl,
    /// `ruleRemoveByTag`, `ruleRemoveTargetByTag`: the tag, with its [`tag_bit`].
    pub(crate) tag: Option<(Arc<str>, u64)>,
    /// `ruleRemoveById`, `ruleRemoveTargetById`: the ids.
    pub(crate) ids: Vec<seclang_parser::IdRange>,
    /// `ruleRemoveTarget*`: the target after `;`, as written (`ARGS:a`); none when empty
    /// (`1;;ARGS:a` removes nothing in libmodsecurity).
    pub(crate) targets: Vec<RemovedTarget>,
}

/// A target a `ctl:ruleRemoveTarget*` removes: its name as written (`ARGS:a`,
/// `REQUEST_FILENAME`), which a value's name is compared with, and the variable that name
/// starts with.
#[derive(Debug, Clone)]
pub(crate) struct RemovedTarget {
    pub name: Arc<str>,
    /// The variable whose name (as a value's name spells it, ASCII case aside) is the part of
    /// `name` before its first `:`; `None` when it is no variable's.
    pub variable: Option<seclang_parser::names::VariableName>,
}

impl RemovedTarget {
    fn new(name: &str) -> RemovedTarget {
        let head = name.split(':').next().unwrap_or(name);
        let variable = seclang_parser::names::VariableName::ALL
            .iter()
            .copied()
            .find(|v| v.as_str().eq_ignore_ascii_case(head));
        RemovedTarget {
            name: Arc::from(name),
            variable,
        }
    }
}

impl RuleCtl {
    pub fn new(ctl: Ctl) -> RuleCtl {
        use seclang_parser::names::CtlName;
        let value = ctl.value.trim();
        // (the part before `;` of a target removal names the rules, the next its target)
        let (rules, target) = Ctl::rules_and_target(value).unwrap_or((value, ""));
        let (tag, ids) = match ctl.name {
            CtlName::RuleRemoveById => (None, crate::transaction::id_ranges(value)),
            CtlName::RuleRemoveTargetById => (None, leading_id(rules)),
            CtlName::RuleRemoveByTag => (Some(value), Vec::new()),
            CtlName::RuleRemoveTargetByTag => (Some(rules), Vec::new()),
            _ => (None, Vec::new()),
        };
        let targets = match ctl.name {
            CtlName::RuleRemoveTargetById | CtlName::RuleRemoveTargetByTag
                if !target.is_empty() =>
            {
                vec![RemovedTarget::new(target)]
            }
            _ => Vec::new(),
        };
        RuleCtl {
            tag: tag.map(|t| (Arc::from(t), tag_bit(t))),
            ids,
            targets,
            ctl,
        }
    }
}

/// The rule a `ctl:ruleRemoveTargetById` names: libmodsecurity (3.0.9, 3.0.15) reads it with
/// `std::stoi`, the integer the text before `;` starts with, so `942100-942110` names 942100
/// alone and `1 2` names 1 (where `ctl:ruleRemoveById` takes ranges and lists).
fn leading_id(text: &str) -> Vec<seclang_parser::IdRange> {
    let t = text.trim_start();
    let t = t.strip_prefix('+').unwrap_or(t);
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    t[..digits]
        .parse()
        .map(seclang_parser::IdRange::single)
        .into_iter()
        .collect()
}

/// Actions run after a full match, in rule order (libmodsecurity's "runtime" actions).
#[derive(Debug, Clone)]
pub enum MatchAction {
    Status(u16),
    Skip(u32),
    SkipAfter(Arc<str>),
    Ctl(RuleCtl),
    InitCol {
        collection: String,
        key: MacroString,
    },
    SetSid(MacroString),
    SetUid(MacroString),
    SetRsc(MacroString),
    SetEnv(MacroString),
    ExpireVar(MacroString),
    AuditLog(bool),
    /// Accepted and not run (exec of Lua, sanitise*, deprecatevar, append, prepend).
    Ignored(&'static str),
}

/// Everything a rule does besides matching.
#[derive(Debug, Clone, Default)]
pub struct RuleActions {
    pub disruptive: Option<Disruptive>,
    pub block: bool,
    pub msg: Option<MacroString>,
    pub logdata: Option<MacroString>,
    pub severity: Option<u8>,
    pub tags: Vec<MacroString>,
    /// (shared with each log line's)
    pub rev: Arc<str>,
    pub ver: Arc<str>,
    pub maturity: Option<u8>,
    pub accuracy: Option<u8>,
    /// `log` (Some(true)) / `nolog` (Some(false)).
    pub log: Option<bool>,
    /// The last of `log`/`auditlog` (Some(true)) and `nolog`/`noauditlog` (Some(false)):
    /// what decides in libmodsecurity v3, where the four set one flag.
    pub log_last: Option<bool>,
    pub capture: bool,
    pub multi_match: bool,
    pub setvars: Vec<RuleSetVar>,
    pub match_actions: Vec<MatchAction>,
    pub xmlns: Vec<(String, String)>,
}

impl RuleActions {
    /// Gives back the room the vectors were grown with.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.tags.shrink_to_fit();
        self.setvars.shrink_to_fit();
        self.match_actions.shrink_to_fit();
        self.xmlns.shrink_to_fit();
    }
}

/// [`Rule::transformation_chain`] before the rule set numbers the chains.
pub const UNASSIGNED: u32 = u32::MAX;

/// A compiled rule (a `SecRule`, a `SecAction`, or one link of a chain).
#[derive(Debug)]
pub struct Rule {
    /// 0 for chain links and rules without `id`.
    pub id: u64,
    /// SecLang phase, 1 to 5 (0 for `phase:0`).
    pub phase: u8,
    pub file: Arc<str>,
    pub line: u32,
    pub targets: Vec<Target>,
    pub exclusions: Vec<Target>,
    /// `None` for `SecAction` (always matches).
    pub operator: Option<RuleOperator>,
    pub transformations: Vec<(seclang_parser::names::TransformationName, TransformFn)>,
    /// [`Self::transformations`]' number in the rule set's chain table, once the rule set is
    /// complete ([`crate::chains`]); [`UNASSIGNED`] before.
    pub transformation_chain: std::sync::atomic::AtomicU32,
    /// The rule's place in the grouped matcher ([`crate::matcher::Slot`]).
    pub matcher_slot: crate::matcher::Slot,
    /// A `multiMatch` rule's probe for its raw stage in the grouped matcher
    /// ([`crate::matcher::Slot`]; not a member: its operator runs as before).
    pub raw_probe_slot: crate::matcher::Slot,
    pub actions: RuleActions,
    /// The defaults of the rule's phase (`SecDefaultAction`), as libmodsecurity keeps them apart.
    pub defaults: Arc<RuleActions>,
    pub chain: Option<Box<Rule>>,
    /// The rule has `chain`: it only matches when its next link does (and never when the
    /// configuration gave it no next rule).
    pub chains: bool,
    /// Whether this rule is a link below a chain starter.
    pub chained_child: bool,
    /// The configuration's exceptions for this rule, once the rule set is complete (unset
    /// when they depend on a macro): [`crate::exceptions`].
    pub static_exceptions: std::sync::OnceLock<crate::exceptions::StaticExceptions>,
    /// [`tag_bit`] of each of its tags (all bits for a tag with a macro), once the rule set is
    /// complete: CRS's 941010 removes a target from the rules of one tag, and each rule after
    /// it compared its ~9 tags with that one.
    pub tag_bloom: std::sync::atomic::AtomicU64,
    /// Its test by the bytes of its variables' values, when it has one (given at load).
    pub(crate) byte_test: std::sync::OnceLock<ByteTest>,
    /// Its test by the grouped matcher's candidates of its variables, when it has one
    /// (given at load).
    pub(crate) candidate_test: std::sync::OnceLock<CandidateTest>,
    /// Its bit in the texts' entries of the rules' misses, when its operator answers by the
    /// text alone ([`RuleOperator::answers_by_text`]), given at load; [`NO_MISS_BIT`] else.
    pub(crate) miss_bit: std::sync::atomic::AtomicU32,
    /// Its place in a thread's memo of the rules' last "no" on one short value, given at load
    /// (`crate::transaction`'s `memo`); `NO_MEMO` else.
    pub(crate) memo_slot: std::sync::atomic::AtomicU32,
    /// For a chain starter, a bit per link (bit 1 its first link, up to the 31st) that has a
    /// test of its own (a byte, presence, count or candidate test) after links that change
    /// nothing when they match ([`Rule::changes_nothing_until_full_match`]): the phase loop
    /// asks those links' tests first (given at load; 0 for none).
    pub(crate) tested_links: std::sync::atomic::AtomicU32,
}

/// A rule's test by what its variables hold, asked by the phase loop before its evaluation:
/// `Some` answer of "it cannot match" spares the evaluation. Only for a rule whose variables
/// (its own, or those its static exceptions give it) are all known to the test.
#[derive(Debug)]
pub(crate) struct ByteTest {
    /// One of the variables is `XML`, which has no value until a document is parsed (and is
    /// not fixed after: the test then does not hold).
    pub xml: bool,
    pub kind: ByteTestKind,
}

#[derive(Debug)]
pub(crate) enum ByteTestKind {
    /// By the bytes of its variables' values, made once per phase for them all: the rule
    /// cannot match when none of its variables (after its transformation chain) holds one of
    /// `required`, the bytes one of which every match holds. The union of its variables' bytes
    /// is kept in a transaction's per-phase tables under `set`, an entry shared by the rules
    /// of the same variables and chain (CRS names the same five to nine variables in most of
    /// its rules). Each variable needs its own entries ([`PhaseKeys`]).
    Bytes {
        set: u32,
        required: crate::regex::ByteSet,
        /// The bytes entry of each of the variables (in the order the rule names them, each
        /// once) with its position in the rule's targets: the test reads those entries
        /// without walking the targets.
        entries: Box<[(u32, u32)]>,
    },
    /// By the presence of values, for a rule with no such bytes (a negated operator, a
    /// pattern that may match without one of a few bytes): it cannot match when none of its
    /// variables has one (CRS's 932230 names the cookies, the arguments and their names, and
    /// a plain GET has none). Its entry under `set` is `ByteSet::ALL` when some variable has a
    /// value, else empty; such entries are apart from the bytes' ones.
    Presence { set: u32 },
    /// By their counts, for a rule whose variables are all counts compared with a constant
    /// (`&REQUEST_HEADERS:Host "@eq 0"`: CRS reaches half a dozen on every request, and each
    /// evaluation, the count made a text and read back, was ~1,000 instructions): it cannot
    /// match when the comparison (negation applied) holds for none of them.
    Count(crate::operators::numeric::IntegerTest),
}

/// A grouped rule's test by its variables' candidates, asked by the phase loop: the rule
/// cannot match when no value of its variables holds one of its literals (the grouped
/// matcher's candidates entry of each variable, made once per phase, does not hold it). Only
/// for a rule whose variables (its own, or those its static exceptions give it) all have
/// candidates entries ([`PhaseKeys::candidates`]), but `XML`, which has no value without a
/// document and is not fixed with one.
#[derive(Debug)]
pub(crate) struct CandidateTest {
    /// The candidates entry of each of the variables, each once, with the variable's position
    /// in the rule's targets (which makes the entry when it is not yet made).
    pub entries: Box<[(u32, u32)]>,
    /// One of the variables is `XML` (with a document, the test does not hold).
    pub xml: bool,
}

/// A tag's bit in [`Rule::tag_bloom`].
pub fn tag_bit(tag: &str) -> u64 {
    1 << (crate::collection::name_hash(tag.as_bytes()) % 64)
}

/// [`Rule::miss_bit`] of a rule without one.
pub(crate) const NO_MISS_BIT: u32 = u32::MAX;

/// The operator with what the log message needs.
#[derive(Debug)]
pub struct RuleOperator {
    pub operator: Box<dyn Operator>,
    pub negated: bool,
    /// libmodsecurity's operator name in messages (`Rx`, `Pm`, `Within`...).
    pub name: String,
    pub argument: MacroString,
    /// The operator's [`Operator::required_bytes`], kept here: the evaluation asks for them
    /// before the grouped matcher's test, which ends a quarter of the evaluations, and the
    /// operator's own memory is then not read at all.
    pub(crate) required: Option<crate::regex::RequiredBytes>,
}

impl RuleOperator {
    /// Whether its answer depends on the value's text alone, and a "no" leaves nothing behind
    /// (not negated: a `!@rx` writes the ranges it found when it does not match).
    pub(crate) fn answers_by_text(&self) -> bool {
        !self.negated && !self.argument.has_macros() && self.operator.is_pure()
    }

    /// Whether it is negated and, where its operator matches a value, what it leaves can be
    /// worked out again from the value alone: its ranges wait until the rule matches
    /// ([`crate::operators::Operator::reports_only_ranges`]).
    pub(crate) fn defers_ranges(&self) -> bool {
        self.negated && !self.argument.has_macros() && self.operator.reports_only_ranges()
    }
}

impl Rule {
    /// Whether a match is written to the log (`nolog` off, or `log` on).
    /// Whether a match is written to the error log. `v3`: libmodsecurity v3's reading, where
    /// the last of `log`/`nolog`/`auditlog`/`noauditlog` decides (so `noauditlog` hides a
    /// rule); otherwise ModSecurity v2's and CRS's, where only `log`/`nolog` do.
    pub fn is_logged_as(&self, v3: bool) -> bool {
        let (own, default) = if v3 {
            (self.actions.log_last, self.defaults.log_last)
        } else {
            (self.actions.log, self.defaults.log)
        };
        match own {
            Some(l) => l,
            None => default != Some(false),
        }
    }

    /// `block` in the rule or in its defaults.
    pub fn has_block(&self) -> bool {
        self.actions.block || self.defaults.block
    }

    /// Whether the rule names a disruptive action of its own (not through `block`).
    pub fn has_disruptive(&self) -> bool {
        matches!(
            self.actions.disruptive,
            Some(ref d) if *d != Disruptive::Pass
        )
    }

    /// Works out [`Self::tag_bloom`].
    pub(crate) fn set_tag_bloom(&self) {
        let bloom = self.all_tags().fold(0, |b, t| match t.literal_text() {
            Some(text) => b | tag_bit(text),
            None => u64::MAX,
        });
        self.tag_bloom
            .store(bloom, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the rule may have the tag whose [`tag_bit`] this is (`false`: it has not).
    pub fn may_have_tag(&self, bit: u64) -> bool {
        self.tag_bloom.load(std::sync::atomic::Ordering::Relaxed) & bit != 0
    }

    /// Tags (defaults first, as libmodsecurity lists them).
    pub fn all_tags(&self) -> impl Iterator<Item = &MacroString> {
        self.defaults.tags.iter().chain(self.actions.tags.iter())
    }

    pub fn severity(&self) -> Option<u8> {
        self.actions.severity.or(self.defaults.severity)
    }

    pub fn msg(&self) -> Option<&MacroString> {
        self.actions.msg.as_ref().or(self.defaults.msg.as_ref())
    }

    pub fn logdata(&self) -> Option<&MacroString> {
        self.actions
            .logdata
            .as_ref()
            .or(self.defaults.logdata.as_ref())
    }

    pub fn capture(&self) -> bool {
        self.actions.capture || self.defaults.capture
    }

    /// Whether a match of this rule, while its chain has not matched in full, leaves nothing
    /// once the chain fails: no `setvar`, no `capture` (`TX:0`...), no `multiMatch` log line.
    /// (What else a link does waits for the whole chain: [`crate::transaction`]'s
    /// `after_full_match`; its `MATCHED_VARS` go with the failing link's no-match.)
    pub(crate) fn changes_nothing_until_full_match(&self) -> bool {
        self.actions.setvars.is_empty()
            && self.defaults.setvars.is_empty()
            && !self.capture()
            && !self.multi_match()
    }

    /// The targets and exclusions the rule has in every transaction: its own, or those its
    /// static exceptions give it; `None` when its exceptions depend on a macro.
    pub(crate) fn static_targets(&self) -> Option<(&[Target], &[Target])> {
        self.static_exceptions.get().map(|s| match &s.targets {
            Some((t, x)) => (&t[..], &x[..]),
            None => (&self.targets[..], &self.exclusions[..]),
        })
    }

    pub fn multi_match(&self) -> bool {
        self.actions.multi_match || self.defaults.multi_match
    }

    /// Whether the links after this rule (it has `chain`) write no log line of their own
    /// before the whole chain matches: none of them is `multiMatch`.
    pub(crate) fn links_log_nothing(&self) -> bool {
        let mut link = self.chain.as_deref();
        while let Some(l) = link {
            if l.multi_match() {
                return false;
            }
            link = l.chain.as_deref();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A `ctl:ruleRemove*`'s value is read at load as the match read it: the ids or the tag
    /// before `;` (the whole value without targets; `ruleRemoveTargetById` one id, the one
    /// its text starts with, as libmodsecurity's `std::stoi` reads it), the target after it
    /// (up to a next `;`, as written), with the variable its name starts with.
    #[test]
    fn rule_removals_are_read_from_a_ctls_value() {
        use seclang_parser::names::CtlName as N;
        use seclang_parser::IdRange;
        let ctl = |name, value: &str| {
            RuleCtl::new(Ctl {
                name,
                value: value.to_string(),
                targets: Vec::new(),
            })
        };
        let tag = |c: &RuleCtl| c.tag.as_ref().map(|(t, bit)| (t.to_string(), *bit));
        let targets = |c: &RuleCtl| {
            c.targets
                .iter()
                .map(|t| t.name.to_string())
                .collect::<Vec<_>>()
        };
        let c = ctl(
            N::RuleRemoveTargetByTag,
            " xss-perf-disable;REQUEST_FILENAME ",
        );
        assert_eq!(
            tag(&c),
            Some(("xss-perf-disable".into(), tag_bit("xss-perf-disable")))
        );
        assert_eq!(targets(&c), ["REQUEST_FILENAME"]);
        assert!(c.ids.is_empty());
        // (one target: libmodsecurity keeps the part after the first `;` up to the next)
        let c = ctl(N::RuleRemoveTargetById, "942100-942110;TX:x;ARGS:a");
        assert_eq!(c.ids, [IdRange::single(942100)]);
        assert_eq!(targets(&c), ["TX:x"]);
        assert_eq!(tag(&c), None);
        for (text, id) in [
            (" 7;ARGS", Some(7)),
            ("+7 8;ARGS", Some(7)),
            ("x7;ARGS", None),
        ] {
            let ids = ctl(N::RuleRemoveTargetById, text).ids;
            assert_eq!(
                ids,
                id.map(IdRange::single).into_iter().collect::<Vec<_>>(),
                "{text}"
            );
        }
        use seclang_parser::names::VariableName as V;
        for (text, variable) in [
            ("t;request_filename", Some(V::RequestFilename)),
            ("t;XML:/*", Some(V::Xml)),
            ("t;ARGS_NAMES:a;b", Some(V::ArgsNames)),
            ("t;FOO", None),
        ] {
            let c = ctl(N::RuleRemoveTargetByTag, text);
            let variables: Vec<_> = c.targets.iter().map(|t| t.variable).collect();
            assert_eq!(variables, [variable], "{text}");
        }
        // (an empty target, as libmodsecurity splits `t;;ARGS:a`, removes nothing)
        assert!(targets(&ctl(N::RuleRemoveTargetByTag, "t;;ARGS:a")).is_empty());
        let c = ctl(N::RuleRemoveById, "1 2-3");
        assert_eq!(c.ids, [IdRange::single(1), IdRange { start: 2, end: 3 }]);
        assert!(c.targets.is_empty());
        let c = ctl(N::RuleRemoveByTag, "attack-sqli");
        assert_eq!(
            tag(&c),
            Some(("attack-sqli".into(), tag_bit("attack-sqli")))
        );
        assert!(c.targets.is_empty() && c.ids.is_empty());
        // (a removal by tag without targets removes nothing)
        assert!(targets(&ctl(N::RuleRemoveTargetByTag, "t")).is_empty());
        let c = ctl(N::RuleEngine, "Off");
        assert!(c.tag.is_none() && c.ids.is_empty() && c.targets.is_empty());
    }

    /// A pattern's required start says "no" only where its regex does: every pattern here
    /// against names made of its own pieces, in both cases (a start that drops too little
    /// before a quantifier, or is taken across a `|`, fails it).
    #[test]
    fn a_required_start_agrees_with_the_regex() {
        assert_eq!(required_start(r"^pbjs-\w+$"), b"pbjs-");
        assert_eq!(required_start(r"^_ga(?:_\w+)?$"), b"_ga");
        assert_eq!(required_start("^ab?c"), b"a");
        assert_eq!(required_start("^ab|cd"), b"");
        assert_eq!(required_start("ab"), b"");
        let patterns = [
            r"^pbjs-\w+$",
            r"^_ga(?:_\w+)?$",
            "^ab?c",
            "^ab*",
            "^ab+c",
            "^ab{2}",
            "^ab{0,1}x",
            "^a-b.c",
            "^ab|cd",
            "^(?:ab|cd)e",
            r"^[\w]+\[[\w\-]+\]$",
            "^a1_b$",
            "x^ab",
        ];
        let pieces = [
            "", "a", "A", "b", "B", "ab", "AB", "c", "cd", "x", "-", "_", "1", "e", "pbjs-",
            "PBJS-", "_ga", "_GA_", "abb", "a-b", "[x]", "bb",
        ];
        for pattern in patterns {
            let re = SelectorRegex::new(pattern).unwrap();
            for p in pieces {
                for q in pieces {
                    for r in ["", "c", "x", "1", "b"] {
                        let name = format!("{p}{q}{r}");
                        assert_eq!(
                            re.is_match(name.as_bytes()),
                            re.regex.is_match(name.as_bytes()),
                            "{pattern} {name:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn plain_literals() {
        assert_eq!(
            plain_literal("^header_name_920450_"),
            Some((b"header_name_920450_".to_vec(), true))
        );
        assert_eq!(
            plain_literal("MULTIPART_HEADERS_CONTENT_TYPES_*"),
            Some((b"MULTIPART_HEADERS_CONTENT_TYPES".to_vec(), false))
        );
        assert_eq!(
            plain_literal(r"LEAKAGE\\\/ERRORS"),
            Some((br"LEAKAGE\/ERRORS".to_vec(), false))
        );
        assert_eq!(plain_literal(r"^a\.b"), Some((b"a.b".to_vec(), true)));
        for not_plain in [
            "b*", "^", "", "a.b", "a$", "^a|b", "a+", "(a)", "a**", "[a]", r"a\d", r"a\", r"\/*",
        ] {
            assert_eq!(plain_literal(not_plain), None, "{not_plain}");
        }
        // a search looks for the literal's first byte that is not a letter
        for (pattern, name, selected) in [
            (
                r"LEAKAGE\\\/ERRORS",
                &br"tx:1-OWASP_CRS/Leakage\/Errors-x"[..],
                true,
            ),
            (r"LEAKAGE\\\/ERRORS", br"leakage/errors", false),
            (r"LEAKAGE\\\/ERRORS", br"LEAKAGE\/ERROR", false),
            ("ab-cd", b"xxAB-CDyy", true),
            ("ab-cd", b"ab-cd", true),
            ("ab-cd", b"ab-c", false),
            ("ab-cd", b"ab_cd-cd", false),
            ("__utm", b"x__UTMz", true),
            ("__utm", b"_utm", false),
        ] {
            let re = SelectorRegex::new(pattern).unwrap();
            assert_eq!(re.is_match(name), selected, "{pattern} {name:?}");
            assert_eq!(
                re.regex.is_match(name),
                selected,
                "{pattern} {name:?} (regex)"
            );
        }
        // a start is compared without regard to case, its first byte too
        let start = SelectorRegex::new("^header_name_").unwrap();
        for (name, selected) in [
            (&b"header_name_host"[..], true),
            (b"Header_Name_", true),
            (b"header_name", false),
            (b"xeader_name_host", false),
            (b"header_namex", false),
        ] {
            assert_eq!(start.is_match(name), selected, "{name:?}");
        }
    }

    /// A rule's tag bloom never rules out a tag it has (its defaults' included, after
    /// `SecRuleUpdateActionById`), and a tag with a macro lets every tag through.
    #[test]
    fn tag_blooms_keep_every_tag() {
        let text = "SecDefaultAction \"phase:2,log,pass,tag:'from-default'\"\n\
            SecRule ARGS \"@rx a\" \"id:1,phase:2,tag:'attack-xss',tag:'xss-perf-disable'\"\n\
            SecRule ARGS \"@rx b\" \"id:2,phase:2,tag:'%{tx.t}'\"\n\
            SecRuleUpdateActionById 1 \"tag:'added'\"";
        let set = crate::RuleSet::from_text("t.conf", text, None).unwrap();
        let rules: Vec<&Rule> = set.rules(2).collect();
        for tag in ["from-default", "attack-xss", "xss-perf-disable", "added"] {
            assert!(rules[0].may_have_tag(tag_bit(tag)), "{tag}");
        }
        let others = (0..64).filter(|i| !rules[0].may_have_tag(tag_bit(&format!("t{i}"))));
        assert!(others.count() > 32, "most other tags are ruled out");
        assert_eq!(
            rules[1]
                .tag_bloom
                .load(std::sync::atomic::Ordering::Relaxed),
            u64::MAX
        );
    }

    proptest! {
        /// The literal test answers as the regex does, whatever the name (ASCII case,
        /// bytes that Unicode case folding relates to `k` and `s`, non-UTF-8).
        #[test]
        fn the_literal_test_is_the_regex(
            anchored in any::<bool>(),
            lit in "[a-zA-Z0-9_ks-]{1,4}",
            star in proptest::option::of("[a-z_]"),
            name in proptest::collection::vec(
                proptest::sample::select(&b"aAbBkKsS_-09\xe2\x84\xaa\xc5\xbf\xff "[..]), 0..10),
        ) {
            let pattern = format!("{}{lit}{}", if anchored { "^" } else { "" },
                star.map(|c| format!("{c}*")).unwrap_or_default());
            let s = SelectorRegex::new(&pattern).unwrap();
            prop_assert!(s.literal.is_some(), "{}", pattern);
            prop_assert_eq!(s.is_match(&name), s.regex.is_match(&name), "{} {:?}", pattern, name);
        }
    }
}
