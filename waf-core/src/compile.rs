//! From a parsed configuration to a [`RuleSet`]: engine settings applied, `SecDefaultAction`s
//! merged into the rules that follow them, chains linked, `SecMarker`s placed in every phase,
//! operators and selector regexes compiled, and the rule exceptions (`SecRuleRemove*`,
//! `SecRuleUpdate*`) recorded. Every problem is an error with the directive's position, and
//! nothing is half-built: the result is the whole rule set or the list of errors.

use crate::config::EngineConfig;
use crate::operators::{self, CompileContext};
use crate::rule::{AllowKind, Disruptive, MatchAction, Rule, RuleActions, RuleOperator, Target};
use crate::ruleset::{Entry, Exceptions, RuleSet, TargetUpdate};
use crate::transformations;
use seclang_parser::names::{ActionName, TransformationName};
use seclang_parser::{
    Action, ActionArgument, Config, Directive, DirectiveKind, Error, Errors, MacroString,
    SourceMap, Span,
};
use std::path::Path;
use std::sync::Arc;

/// Builds a rule set from a configuration read by `seclang_parser::Loader`.
pub fn compile(config: Config) -> Result<RuleSet, Errors> {
    // the rules' patterns and phrase files, built on other threads while the rules are
    let prebuilt = crate::prebuild::Prebuilt::new(prebuild_jobs(&config));
    let mut c = Compiler {
        prebuilt: &prebuilt,
        sources: &config.sources,
        current_dir: config.current_dir.clone(),
        engine: EngineConfig::default(),
        phases: Default::default(),
        exceptions: Exceptions::default(),
        defaults: Default::default(),
        no_defaults: Arc::default(),
        errors: Vec::new(),
        warnings: Vec::new(),
        open_chain: None,
        unicode_map: None,
    };
    prebuilt.run(crate::parallel::threads(), || {
        for d in &config.directives {
            c.directive(d);
        }
        c.close_chain();
        c.apply_action_updates(&config.directives);
    });
    if !c.errors.is_empty() {
        return Err(Errors {
            sources: config.sources.clone(),
            errors: c.errors,
        });
    }
    let Compiler {
        engine,
        phases,
        exceptions,
        warnings,
        unicode_map,
        ..
    } = c;
    crate::exceptions::work_out_all(&exceptions, &phases);
    let mut chains = crate::chains::ChainTable::new();
    for r in links(&phases) {
        r.set_tag_bloom();
        let id = chains.intern(&r.transformations);
        r.transformation_chain
            .store(id, std::sync::atomic::Ordering::Relaxed);
    }
    let matcher = crate::matcher::Matcher::build(links(&phases), &chains);
    let phase_keys = crate::transaction::number_phase_keys(links(&phases), &matcher, &chains);
    let mut miss_bits = 0;
    for r in links(&phases) {
        if r.operator.as_ref().is_some_and(|o| o.answers_by_text()) {
            r.miss_bit
                .store(miss_bits, std::sync::atomic::Ordering::Relaxed);
            miss_bits += 1;
        }
    }
    let memo = crate::transaction::number_memo_slots(links(&phases));
    // A pattern outside the grouped matcher runs on every value of its targets: built now, at
    // load (before a server forks its workers, which then share it; built on first use, each
    // worker would build its own on its first request). A grouped one runs only when the
    // prefilter finds its literals in a value, so it is built on that first search: most never
    // are on ordinary traffic, and each costs a few milliseconds once per process. So is one
    // with required bytes ([`crate::regex::RequiredBytes`]): it runs only on values that hold
    // one of them.
    for r in links(&phases) {
        let grouped =
            r.matcher_slot.load(std::sync::atomic::Ordering::Relaxed) != crate::matcher::NO_SLOT;
        match r.operator.as_ref().and_then(|o| o.operator.static_regex()) {
            Some(re) if !grouped && re.required_bytes().is_none() => re.build_now(),
            _ => {}
        }
    }
    let mut warnings = warnings;
    warnings.extend(crate::audit::config_warnings(&engine));
    let mut set = RuleSet::new(engine, phases, exceptions, config.sources, warnings);
    set.unicode_map = unicode_map;
    set.chains = chains;
    set.matcher = matcher;
    set.phase_keys = phase_keys;
    set.miss_words = (miss_bits as usize).div_ceil(64);
    set.memo = memo;
    // the decisions are worked out by running rules, on a transaction of the finished set
    let sources = set.sources.clone();
    let set = Arc::new(set);
    let plan = crate::plan::work_out(&set);
    match Arc::try_unwrap(set) {
        Ok(mut set) => {
            set.plan = plan;
            Ok(set)
        }
        // (the plan's transaction is gone by now: nothing else holds the set)
        Err(_) => Err(Errors {
            sources,
            errors: vec![Error {
                span: Span::default(),
                message: "internal error: the rule set is still in use after its plan".into(),
                snippet: String::new(),
            }],
        }),
    }
}

/// The rules' load-time `@rx`/`@rxGlobal` patterns and `@pmFromFile` phrase files, in file
/// order, for [`crate::prebuild`].
fn prebuild_jobs(config: &Config) -> impl Iterator<Item = crate::prebuild::Job<'_>> {
    use crate::prebuild::Job;
    use seclang_parser::names::OperatorName as N;
    config.directives.iter().filter_map(|d| {
        let DirectiveKind::Rule(r) = &d.kind else {
            return None;
        };
        let (op, argument) = (&r.operator, r.operator.argument.raw.as_ref());
        match op.name {
            N::Rx | N::RxGlobal if !op.argument.has_macros() && !argument.is_empty() => {
                Some(Job::Pattern(argument))
            }
            N::PmFromFile if !op.argument.has_macros() => Some(Job::Phrases(
                argument,
                resource_dir(&config.sources, config.current_dir.as_deref(), d.span),
            )),
            _ => None,
        }
    })
}

/// Where a rule's relative file names are looked up: beside its file, or (rules given as
/// text) the loader's directory, else the current one.
fn resource_dir(sources: &SourceMap, current_dir: Option<&Path>, span: Span) -> std::path::PathBuf {
    let path = sources.name(span.file);
    if path.is_file() {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        current_dir.map_or_else(|| std::path::PathBuf::from("."), Path::to_path_buf)
    }
}

/// Every rule of the phases, chain links included, in order.
fn links(phases: &[Vec<Entry>; 6]) -> impl Iterator<Item = &Rule> + Clone {
    phases.iter().flatten().flat_map(|e| {
        let first = match e {
            Entry::Rule(rule) => Some(&**rule),
            Entry::Marker(_) => None,
        };
        std::iter::successors(first, |r| r.chain.as_deref())
    })
}

/// A `SecDefaultAction`: its actions and its transformations.
type PhaseDefaults = (Arc<RuleActions>, Vec<TransformationName>);

/// Rule metadata read from the action list.
#[derive(Default)]
struct Meta {
    id: Option<u64>,
    phase: Option<u8>,
    chain: bool,
}

struct Compiler<'a> {
    sources: &'a SourceMap,
    current_dir: Option<std::path::PathBuf>,
    engine: EngineConfig,
    phases: [Vec<Entry>; 6],
    exceptions: Exceptions,
    /// Per phase: the `SecDefaultAction` in force and its transformations.
    defaults: [Option<Arc<PhaseDefaults>>; 6],
    /// The defaults of a phase without `SecDefaultAction`, one for all its rules.
    no_defaults: Arc<RuleActions>,
    errors: Vec<Error>,
    warnings: Vec<String>,
    /// The chain being built: its starter, and the span of the starter.
    open_chain: Option<(Rule, Span)>,
    unicode_map: Option<Arc<crate::transformations::UnicodeMap>>,
    /// What the load builds on other threads meanwhile.
    prebuilt: &'a crate::prebuild::Prebuilt<'a>,
}

impl Compiler<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.errors.push(Error {
            span,
            message: message.into(),
            snippet: String::new(),
        });
    }

    fn directive(&mut self, d: &Directive) {
        match &d.kind {
            DirectiveKind::Rule(r) => {
                let (rule, meta) =
                    match self.build_rule(d.span, &r.variables, Some(&r.operator), &r.actions) {
                        Some(x) => x,
                        None => return,
                    };
                self.add_rule(rule, meta, d.span);
            }
            DirectiveKind::Action(actions) => {
                if let Some((rule, meta)) = self.build_rule(d.span, &[], None, actions) {
                    self.add_rule(rule, meta, d.span);
                }
            }
            DirectiveKind::RuleScript { .. } => self.error(
                d.span,
                "SecRuleScript needs Lua, which this build of Sekisho does not include",
            ),
            DirectiveKind::DefaultAction(actions) => {
                self.close_chain();
                let mut ra = RuleActions::default();
                let mut ts = Vec::new();
                let mut meta = Meta::default();
                if let Err((span, m)) = classify(actions, &mut ra, &mut ts, &mut meta) {
                    self.error(span, m);
                    return;
                }
                let phase = meta.phase.unwrap_or(1) as usize;
                self.defaults[phase.min(5)] = Some(Arc::new((Arc::new(ra), ts)));
            }
            DirectiveKind::Marker(name) => {
                self.close_chain();
                for p in self.phases.iter_mut() {
                    p.push(Entry::Marker(name.clone()));
                }
            }
            DirectiveKind::Include { .. } => {}
            DirectiveKind::RemoveById(ids) => {
                self.exceptions.remove_by_id.extend(ids.iter().copied())
            }
            DirectiveKind::RemoveByTag(t) => self.exceptions.remove_by_tag.push(t.clone()),
            DirectiveKind::RemoveByMsg(m) => self.exceptions.remove_by_msg.push(m.clone()),
            DirectiveKind::UpdateTargetById { ids, variables } => {
                if let Some(u) = self.target_update(d.span, variables) {
                    self.exceptions.update_target_by_id.push((ids.clone(), u));
                }
            }
            DirectiveKind::UpdateTargetByTag { tag, variables } => {
                if let Some(u) = self.target_update(d.span, variables) {
                    self.exceptions.update_target_by_tag.push((tag.clone(), u));
                }
            }
            DirectiveKind::UpdateTargetByMsg { msg, variables } => {
                if let Some(u) = self.target_update(d.span, variables) {
                    self.exceptions.update_target_by_msg.push((msg.clone(), u));
                }
            }
            DirectiveKind::UpdateActionById { .. } => {} // after all rules: apply_action_updates
            DirectiveKind::ComponentSignature(s) => self.engine.components.push(s.clone()),
            DirectiveKind::Config { name, args } => {
                if *name == seclang_parser::names::DirectiveName::SecUnicodeMapFile {
                    self.unicode_map_file(d.span, args);
                }
                if name.is_v2_only(args) {
                    self.warnings.push(format!(
                        "{}:{}: {name}: a ModSecurity v2 directive, which libmodsecurity v3 refuses; it has no effect here",
                        self.sources.name(d.span.file).display(),
                        d.span.line
                    ));
                }
                self.engine.apply(*name, args)
            }
        }
    }

    fn resource_dir(&self, span: Span) -> std::path::PathBuf {
        resource_dir(self.sources, self.current_dir.as_deref(), span)
    }

    /// `SecUnicodeMapFile PATH CODE-PAGE`: the path as given, then beside the configuration
    /// file (libmodsecurity's order).
    fn unicode_map_file(&mut self, span: Span, args: &[String]) {
        let (Some(path), Some(page)) = (args.first(), args.get(1)) else {
            return;
        };
        let page: u32 = page.parse().unwrap_or(0);
        let as_given = match &self.current_dir {
            Some(d) => d.join(path),
            None => std::path::PathBuf::from(path),
        };
        let candidates = [as_given, self.resource_dir(span).join(path)];
        match candidates.iter().find(|p| p.is_file()) {
            Some(p) => match crate::transformations::UnicodeMap::load(p, page) {
                Ok(m) => self.unicode_map = Some(Arc::new(m)),
                Err(e) => self.error(
                    span,
                    format!("cannot read the unicode map file {path}: {e}"),
                ),
            },
            None => self.error(
                span,
                format!("Failed to locate the unicode map file from: {path}"),
            ),
        }
    }

    fn target_update(
        &mut self,
        span: Span,
        variables: &[seclang_parser::Variable],
    ) -> Option<TargetUpdate> {
        let mut u = TargetUpdate::default();
        for v in variables {
            match Target::from_ast(v) {
                Ok(t) if v.modifier == seclang_parser::VariableModifier::Exclude => {
                    u.exclude.push(t)
                }
                Ok(t) => u.add.push(t),
                Err(e) => {
                    self.error(span, e);
                    return None;
                }
            }
        }
        Some(u)
    }

    fn build_rule(
        &mut self,
        span: Span,
        variables: &[seclang_parser::Variable],
        operator: Option<&seclang_parser::Operator>,
        actions: &[Action],
    ) -> Option<(Rule, Meta)> {
        let mut ra = RuleActions::default();
        let mut ts = Vec::new();
        let mut meta = Meta::default();
        if let Err((s, m)) = classify(actions, &mut ra, &mut ts, &mut meta) {
            self.error(s, m);
            return None;
        }
        let file_path = self.sources.name(span.file);
        let file: Arc<str> = Arc::from(file_path.to_string_lossy().as_ref());
        let rule_dir = self.resource_dir(span);
        let mut targets = Vec::new();
        let mut exclusions = Vec::new();
        for v in variables {
            match Target::from_ast(v) {
                Ok(t) if v.modifier == seclang_parser::VariableModifier::Exclude => {
                    exclusions.push(t)
                }
                Ok(t) => targets.push(t),
                Err(e) => {
                    self.error(v.span, e);
                    return None;
                }
            }
        }
        // An argument libmodsecurity reads at load is its text with each macro as nothing
        // (`@pm a %{tx.b}` is the phrase `a`, and its log lines say `a `): the operator is
        // built from that text, and the rule keeps it as its argument.
        let at_load;
        let operator = match operator {
            Some(op) if op.name.reads_argument_at_load() && op.argument.has_macros() => {
                at_load = seclang_parser::Operator {
                    argument: MacroString::literal(&op.argument.load_time_text()),
                    ..op.clone()
                };
                Some(&at_load)
            }
            other => other,
        };
        let operator = match operator {
            None => None,
            Some(op) => {
                let mut warnings = Vec::new();
                let mut cx = CompileContext::new(&rule_dir, &mut warnings);
                cx.prebuilt = Some(self.prebuilt);
                match operators::compile(op, &mut cx) {
                    Ok(o) => {
                        for w in warnings {
                            self.warnings.push(format!(
                                "{}:{}: rule {}: {w}",
                                file,
                                span.line,
                                meta.id.unwrap_or(0)
                            ));
                        }
                        Some(RuleOperator {
                            required: o.required_bytes().copied(),
                            operator: o,
                            negated: op.negated,
                            name: operator_display_name(op.name),
                            argument: op.argument.clone(),
                        })
                    }
                    Err(e) => {
                        self.error(op.span, e);
                        return None;
                    }
                }
            }
        };
        // A chain link takes its phase from the chain's starter.
        let phase = match &self.open_chain {
            Some((starter, _)) => starter.phase,
            None => meta.phase.unwrap_or(1),
        };
        let defaults = self.defaults[phase as usize].clone();
        let mut all_ts: Vec<TransformationName> = Vec::new();
        if let Some(d) = &defaults {
            all_ts.extend(d.1.iter().copied());
        }
        all_ts.extend(ts);
        // vectors grown by pushes hold up to twice their length: trimmed, as the rule set keeps
        // them for its lifetime
        targets.shrink_to_fit();
        exclusions.shrink_to_fit();
        ra.shrink_to_fit();
        let rule = Rule {
            id: meta.id.unwrap_or(0),
            phase,
            file,
            line: span.line,
            targets,
            exclusions,
            operator,
            transformations: effective_transformations(&all_ts),
            transformation_chain: crate::rule::UNASSIGNED.into(),
            matcher_slot: crate::matcher::NO_SLOT.into(),
            raw_probe_slot: crate::matcher::NO_SLOT.into(),
            actions: ra,
            // shared by the phase's rules (one copy each was a quarter of a megabyte)
            defaults: defaults.map_or_else(|| Arc::clone(&self.no_defaults), |d| Arc::clone(&d.0)),
            chain: None,
            chains: meta.chain,
            chained_child: false,
            static_exceptions: std::sync::OnceLock::new(),
            tag_bloom: u64::MAX.into(),
            byte_test: std::sync::OnceLock::new(),
            candidate_test: std::sync::OnceLock::new(),
            miss_bit: crate::rule::NO_MISS_BIT.into(),
            memo_slot: crate::transaction::NO_MEMO.into(),
            tested_links: 0.into(),
        };
        Some((rule, meta))
    }

    fn add_rule(&mut self, mut rule: Rule, meta: Meta, span: Span) {
        if let Some((mut starter, starter_span)) = self.open_chain.take() {
            if rule.has_disruptive() {
                self.error(
                    span,
                    "disruptive actions can only be given on the first rule of a chain",
                );
            }
            rule.chained_child = true;
            rule.id = starter.id;
            let last = last_link(&mut starter);
            last.chain = Some(Box::new(rule));
            if meta.chain {
                self.open_chain = Some((starter, starter_span));
            } else {
                self.push_rule(starter);
            }
            return;
        }
        if meta.id.is_none() && meta_is_secrule(&rule) {
            self.error(span, "rule has no id (every SecRule needs an id action)");
            return;
        }
        if !(0..=5).contains(&rule.phase) {
            self.error(span, format!("unknown phase: {}", rule.phase));
            return;
        }
        if meta.chain {
            self.open_chain = Some((rule, span));
        } else {
            self.push_rule(rule);
        }
    }

    fn push_rule(&mut self, rule: Rule) {
        let p = rule.phase as usize;
        self.phases[p].push(Entry::Rule(Arc::new(rule)));
    }

    /// A chain left open at a directive that is not a rule, or at the end: libmodsecurity
    /// keeps the starter and the chain simply never completes.
    fn close_chain(&mut self) {
        if let Some((starter, _)) = self.open_chain.take() {
            self.push_rule(starter);
        }
    }

    /// `SecRuleUpdateActionById ID ACTIONS`: wherever it stands, it changes rule ID.
    fn apply_action_updates(&mut self, directives: &[Directive]) {
        for d in directives {
            let DirectiveKind::UpdateActionById { id, actions, .. } = &d.kind else {
                continue;
            };
            let mut ra = RuleActions::default();
            let mut ts = Vec::new();
            let mut meta = Meta::default();
            if let Err((s, m)) = classify(actions, &mut ra, &mut ts, &mut meta) {
                self.error(s, m);
                continue;
            }
            let mut found = false;
            for phase in self.phases.iter_mut() {
                for e in phase.iter_mut() {
                    let Entry::Rule(rule) = e else { continue };
                    if rule.id != *id {
                        continue;
                    }
                    found = true;
                    let Some(rule) = Arc::get_mut(rule) else {
                        continue;
                    };
                    let mut names: Vec<TransformationName> =
                        rule.transformations.iter().map(|t| t.0).collect();
                    names.extend(ts.iter().copied());
                    rule.transformations = effective_transformations(&names);
                    merge_actions(&mut rule.actions, ra.clone());
                }
            }
            if !found {
                self.warnings.push(format!(
                    "{}:{}: SecRuleUpdateActionById: no rule with id {id}",
                    self.sources.name(d.span.file).display(),
                    d.span.line
                ));
            }
        }
    }
}

fn meta_is_secrule(rule: &Rule) -> bool {
    rule.operator.is_some()
}

fn last_link(rule: &mut Rule) -> &mut Rule {
    match rule.chain {
        Some(ref mut next) => last_link(next),
        None => rule,
    }
}

/// The transformations that run: everything after the last `t:none`.
fn effective_transformations(
    names: &[TransformationName],
) -> Vec<(TransformationName, transformations::TransformFn)> {
    let start = names
        .iter()
        .rposition(|t| *t == TransformationName::None)
        .map_or(0, |i| i + 1);
    names[start..]
        .iter()
        .filter_map(|t| transformations::get(*t).map(|f| (*t, f)))
        .collect()
}

/// Later actions (SecRuleUpdateActionById) over a rule's own.
fn merge_actions(into: &mut RuleActions, from: RuleActions) {
    if from.disruptive.is_some() {
        into.disruptive = from.disruptive;
    }
    into.block |= from.block;
    if from.msg.is_some() {
        into.msg = from.msg;
    }
    if from.logdata.is_some() {
        into.logdata = from.logdata;
    }
    if from.severity.is_some() {
        into.severity = from.severity;
    }
    into.tags.extend(from.tags);
    if from.log_last.is_some() {
        into.log_last = from.log_last;
    }
    if from.log.is_some() {
        into.log = from.log;
    }
    into.capture |= from.capture;
    into.multi_match |= from.multi_match;
    into.setvars.extend(from.setvars);
    into.match_actions.extend(from.match_actions);
}

/// libmodsecurity's operator names in log messages (`Matched "Operator `Rx' with ...`).
/// The operator's name in a match message: libmodsecurity's class name, which is the SecLang
/// name capitalized except where the class name has a capital of its own.
fn operator_display_name(name: seclang_parser::names::OperatorName) -> String {
    use seclang_parser::names::OperatorName as N;
    match name {
        N::StrEq => return "StrEq".into(),
        N::StrMatch => return "StrMatch".into(),
        _ => {}
    }
    let s = name.as_str();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

type ClassifyError = (Span, String);

/// Sorts an action list into a rule's parts.
fn classify(
    actions: &[Action],
    ra: &mut RuleActions,
    ts: &mut Vec<TransformationName>,
    meta: &mut Meta,
) -> Result<(), ClassifyError> {
    use ActionName as A;
    for a in actions {
        let text = |a: &Action| -> MacroString {
            match &a.argument {
                ActionArgument::Text(m) => m.clone(),
                ActionArgument::Plain(p) => MacroString::literal(p),
                _ => MacroString::default(),
            }
        };
        let plain = |a: &Action| -> String {
            match &a.argument {
                ActionArgument::Plain(p) => p.clone(),
                ActionArgument::Text(m) => m.raw.to_string(),
                ActionArgument::Number(n) => n.to_string(),
                _ => String::new(),
            }
        };
        match a.name {
            A::Id => {
                if let ActionArgument::Id(id) = a.argument {
                    // id:0 is "no id" to libmodsecurity
                    meta.id = (id != 0).then_some(id);
                }
            }
            A::Phase => {
                if let ActionArgument::Phase(p) = a.argument {
                    meta.phase = Some(p);
                }
            }
            A::Chain => meta.chain = true,
            A::T => {
                if let ActionArgument::Transformation(t) = a.argument {
                    ts.push(t);
                }
            }
            A::Msg => ra.msg = Some(text(a)),
            A::LogData => ra.logdata = Some(text(a)),
            A::Tag => ra.tags.push(text(a)),
            A::Severity => {
                if let ActionArgument::Severity(s) = a.argument {
                    ra.severity = Some(s);
                }
            }
            A::Rev => ra.rev = plain(a).into(),
            A::Ver => ra.ver = plain(a).into(),
            A::Maturity => ra.maturity = plain(a).trim().parse().ok(),
            A::Accuracy => ra.accuracy = plain(a).trim().parse().ok(),
            A::Log => {
                ra.log = Some(true);
                ra.log_last = Some(true);
            }
            A::NoLog => {
                ra.log = Some(false);
                ra.log_last = Some(false);
            }
            // libmodsecurity v3 lets the last of log/nolog/auditlog/noauditlog decide the
            // error log too, so `noauditlog` silences a rule; CRS's tests expect only
            // log/nolog to (980170): both are kept, RuleSet::set_noauditlog_hides_rule picks.
            A::AuditLog => {
                ra.log_last = Some(true);
                ra.match_actions.push(MatchAction::AuditLog(true));
            }
            A::NoAuditLog => {
                ra.log_last = Some(false);
                ra.match_actions.push(MatchAction::AuditLog(false));
            }
            A::Capture => ra.capture = true,
            A::MultiMatch => ra.multi_match = true,
            A::Block => ra.block = true,
            A::Pass => ra.disruptive = Some(Disruptive::Pass),
            A::Deny => ra.disruptive = Some(Disruptive::Deny),
            A::Drop => ra.disruptive = Some(Disruptive::Drop),
            A::Allow => {
                let kind = match &a.argument {
                    ActionArgument::Plain(p) if p.eq_ignore_ascii_case("request") => {
                        AllowKind::Request
                    }
                    ActionArgument::Plain(p) if p.eq_ignore_ascii_case("phase") => AllowKind::Phase,
                    _ => AllowKind::Transaction,
                };
                ra.disruptive = Some(Disruptive::Allow(kind));
            }
            A::Redirect => ra.disruptive = Some(Disruptive::Redirect(text(a))),
            A::Status => {
                if let ActionArgument::Number(n) = a.argument {
                    ra.match_actions
                        .push(MatchAction::Status(n.min(999) as u16));
                }
            }
            A::Skip => {
                if let ActionArgument::Number(n) = a.argument {
                    ra.match_actions
                        .push(MatchAction::Skip(n.min(u32::MAX as u64) as u32));
                }
            }
            A::SkipAfter => ra
                .match_actions
                .push(MatchAction::SkipAfter(plain(a).into())),
            A::SetVar => {
                // (`setvar:tx.=1` loads in libmodsecurity v3 and sets nothing)
                match &a.argument {
                    ActionArgument::SetVar(s) if !s.key.raw.is_empty() => {
                        ra.setvars.push(crate::rule::RuleSetVar::new(s.clone()))
                    }
                    _ => {}
                }
            }
            A::Ctl => {
                if let ActionArgument::Ctl(c) = &a.argument {
                    ra.match_actions
                        .push(MatchAction::Ctl(crate::rule::RuleCtl::new(c.clone())));
                }
            }
            A::InitCol => {
                let m = text(a);
                let (col, key) = m.raw.split_once('=').unwrap_or((m.raw.as_ref(), ""));
                let key = seclang_parser::parse_macros(key).map_err(|e| (a.span, e))?;
                ra.match_actions.push(MatchAction::InitCol {
                    collection: col.trim().to_ascii_lowercase(),
                    key,
                });
            }
            A::SetSid => ra.match_actions.push(MatchAction::SetSid(text(a))),
            A::SetUid => ra.match_actions.push(MatchAction::SetUid(text(a))),
            A::SetRsc => ra.match_actions.push(MatchAction::SetRsc(text(a))),
            A::SetEnv => ra.match_actions.push(MatchAction::SetEnv(text(a))),
            A::ExpireVar => ra.match_actions.push(MatchAction::ExpireVar(text(a))),
            A::Xmlns => {
                let p = plain(a);
                if let Some((prefix, href)) = p.split_once('=') {
                    let href = href.trim_matches('\'');
                    ra.xmlns.push((prefix.to_string(), href.to_string()));
                }
            }
            A::Exec => {
                return Err((
                    a.span,
                    "exec runs Lua scripts, which this build of Sekisho does not include".into(),
                ))
            }
            A::Append
            | A::Prepend
            | A::DeprecateVar
            | A::SanitiseArg
            | A::SanitiseMatched
            | A::SanitiseMatchedBytes
            | A::SanitiseRequestHeader
            | A::SanitiseResponseHeader => {
                return Err((
                    a.span,
                    format!("action '{}' is not supported by libmodsecurity v3", a.name),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::RuleSet;

    /// ModSecurity v2's directives load (libmodsecurity 3.0.15 refuses each: "... is not
    /// supported", `tests/oracle/run.sh --lib wheel`), each with a warning that names it;
    /// `SecCookieFormat 0`, which v3 takes, gets none.
    #[test]
    fn v2_directives_load_with_a_warning() {
        let rules = "SecServerSignature \"x\"\nSecCookieFormat 0\nSecCookieFormat 1\n\
            SecUploadKeepFiles RelevantOnly\nSecHashKey k\nSecRuleEngine On";
        let set = RuleSet::from_text("t.conf", rules, None).unwrap();
        let warned: Vec<&str> = set
            .warnings
            .iter()
            .filter(|w| w.contains("a ModSecurity v2 directive"))
            .map(|w| w.split(": ").nth(1).unwrap_or(""))
            .collect();
        assert_eq!(
            warned,
            [
                "SecServerSignature",
                "SecCookieFormat",
                "SecUploadKeepFiles",
                "SecHashKey"
            ]
        );
        assert!(
            set.warnings[0].starts_with("t.conf:1: "),
            "{:?}",
            set.warnings
        );
    }
}
