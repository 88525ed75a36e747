//! The SecLang abstract syntax tree: what the text says, with where it says it. No defaults are
//! applied, no chains are linked and no rule is compiled here; that is `waf-core`'s job.

use crate::names::{
    ActionName, CtlName, DirectiveName, OperatorName, TransformationName, VariableName,
};
use crate::span::Span;

/// One directive of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub span: Span,
    pub kind: DirectiveKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectiveKind {
    /// `SecRule VARIABLES OPERATOR [ACTIONS]`
    Rule(Rule),
    /// `SecAction ACTIONS`
    Action(Vec<Action>),
    /// `SecDefaultAction ACTIONS`
    DefaultAction(Vec<Action>),
    /// `SecRuleScript PATH [ACTIONS]`
    RuleScript { path: String, actions: Vec<Action> },
    /// `SecMarker NAME`
    Marker(String),
    /// `Include PATH` / `IncludeOptional PATH` (a glob; relative to the including file).
    Include { path: String, optional: bool },
    /// `SecRuleRemoveById 1 2 100-200`
    RemoveById(Vec<IdRange>),
    /// `SecRuleRemoveByTag REGEX`
    RemoveByTag(String),
    /// `SecRuleRemoveByMsg REGEX`
    RemoveByMsg(String),
    /// `SecRuleUpdateTargetById IDS TARGETS`
    UpdateTargetById {
        ids: Vec<IdRange>,
        variables: Vec<Variable>,
    },
    /// `SecRuleUpdateTargetByTag TAG TARGETS`
    UpdateTargetByTag {
        tag: String,
        variables: Vec<Variable>,
    },
    /// `SecRuleUpdateTargetByMsg MSG TARGETS`
    UpdateTargetByMsg {
        msg: String,
        variables: Vec<Variable>,
    },
    /// `SecRuleUpdateActionById ID[:OFFSET] ACTIONS`
    UpdateActionById {
        id: u64,
        /// Which rule of the chain (v2's `id:offset`); `None` for the chain's first rule.
        offset: Option<u32>,
        actions: Vec<Action>,
    },
    /// `SecComponentSignature "TEXT"`
    ComponentSignature(String),
    /// Every other directive: its name and its arguments, raw (quotes removed).
    Config {
        name: DirectiveName,
        args: Vec<String>,
    },
}

/// `N` or `N-M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdRange {
    pub start: u64,
    pub end: u64,
}

impl IdRange {
    pub fn single(id: u64) -> IdRange {
        IdRange { start: id, end: id }
    }

    pub fn contains(&self, id: u64) -> bool {
        self.start <= id && id <= self.end
    }
}

/// `SecRule`'s three parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub variables: Vec<Variable>,
    pub operator: Operator,
    pub actions: Vec<Action>,
}

impl Rule {
    /// The rule's `id:` action, if any.
    pub fn id(&self) -> Option<u64> {
        action_id(&self.actions)
    }

    /// Whether the next `SecRule` is chained to this one.
    pub fn is_chain_start(&self) -> bool {
        self.actions.iter().any(|a| a.name == ActionName::Chain)
    }
}

/// The `id:` of an action list.
pub fn action_id(actions: &[Action]) -> Option<u64> {
    actions.iter().find_map(|a| match a.argument {
        ActionArgument::Id(id) => Some(id),
        _ => None,
    })
}

/// `!` (exclude) or `&` (count) in front of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VariableModifier {
    #[default]
    None,
    /// `!ARGS:foo`: remove this element from the rule's targets.
    Exclude,
    /// `&ARGS`: the number of elements instead of their values.
    Count,
}

/// One target: `ARGS`, `ARGS:id`, `!REQUEST_HEADERS:/^x-/`, `&TX:score`, `XML:/a/b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub span: Span,
    pub modifier: VariableModifier,
    pub name: VariableName,
    pub selector: Option<Selector>,
}

/// What follows `VARIABLE:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// An element name (compared case-insensitively by the engine) or an XPath for `XML`
    /// (no `}`: libmodsecurity v3 loads no macro there).
    Key(String),
    /// `/regex/` (or `'/regex/'`): the elements whose names match.
    Regex(String),
}

/// The operator of a rule: `@rx foo`, `!@within %{tx.allowed}`, or a bare regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub span: Span,
    pub negated: bool,
    pub name: OperatorName,
    /// The argument as the operator receives it: for a quoted operator, `\"` is unescaped to
    /// `"`, and nothing else (a regex keeps its backslashes).
    pub argument: MacroString,
    /// The argument's structure, for operators that have one.
    pub parsed: OperatorArgument,
}

/// An operator argument's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorArgument {
    /// Text (a regex, a string to compare, a path...), see [`Operator::argument`].
    Text,
    /// `@eq 5`: an integer (`None` when it has macros and is known only at run time).
    Integer(Option<i64>),
    /// `@pm a b c`: the phrases, split on blanks.
    Phrases(Vec<String>),
    /// `@pmFromFile a.data b.data`, `@ipMatchFromFile x`: the file names.
    Files(Vec<String>),
    /// `@ipMatch 1.2.3.4,10.0.0.0/8`: the addresses and networks.
    Addresses(Vec<String>),
    /// `@validateByteRange 1-255,10`: inclusive byte ranges.
    ByteRanges(Vec<(u8, u8)>),
}

/// An action: `name` or `name:argument`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub span: Span,
    pub name: ActionName,
    pub argument: ActionArgument,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionArgument {
    None,
    /// `id:942100`
    Id(u64),
    /// `phase:2`, `phase:request` (2), `phase:response` (4), `phase:logging` (5).
    Phase(u8),
    /// `severity:CRITICAL` or `severity:2`: 0 (EMERGENCY) to 7 (DEBUG).
    Severity(u8),
    /// `skip:3`, `status:403`
    Number(u64),
    /// `t:lowercase`
    Transformation(TransformationName),
    /// `ctl:name=value`
    Ctl(Ctl),
    /// `setvar:...`
    SetVar(SetVar),
    /// Text with run-time macros (`msg`, `logdata`, `tag`, `initcol`, `redirect`, `setenv`...).
    Text(MacroString),
    /// Text taken as it is (`ver`, `rev`, `skipAfter`, `xmlns`, `exec`, `accuracy`...).
    Plain(String),
}

/// `ctl:name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctl {
    pub name: CtlName,
    /// The value as written (`Off`, `942100`, `942100;ARGS:foo`, `+E`, `JSON`).
    pub value: String,
    /// For `ruleRemoveTarget*`: the target after `;`, when it names a variable (one that
    /// names none loads, as in libmodsecurity, and removes nothing).
    pub targets: Vec<Variable>,
}

impl Ctl {
    /// The rules and the target of a `ctl:ruleRemoveTarget*` value: `942100;ARGS:a`. As in
    /// libmodsecurity, which splits the value at each `;` and keeps the first two parts, a third
    /// is ignored (`1;ARGS:a;ARGS:b` removes `ARGS:a`), and one target is all a `ctl` removes.
    /// `None` without a `;` followed by something.
    pub fn rules_and_target(value: &str) -> Option<(&str, &str)> {
        let (rules, rest) = value.split_once(';')?;
        let target = rest.split(';').next().unwrap_or("");
        // ("1;" is one part for libmodsecurity's split; "1;;X" is two, the second empty)
        (!rest.is_empty()).then_some((rules, target.trim()))
    }
}

/// `setvar:[!]collection.name[=[+|-]value]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetVar {
    /// The collection, `tx` in `tx.score` (as written; the engine compares case-insensitively).
    pub collection: String,
    /// The element name; may contain macros (`tx.header_%{tx.0}`).
    pub key: MacroString,
    pub operation: SetVarOperation,
    /// The value (empty for `Delete` and for a bare `setvar:tx.x`).
    pub value: MacroString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetVarOperation {
    /// `=value`
    Set,
    /// `=+value`
    Add,
    /// `=-value`
    Subtract,
    /// `!tx.name`
    Delete,
    /// `tx.name` with no `=`: created with an empty value.
    Create,
}

/// A text that may contain `%{VARIABLE}` / `%{COLLECTION.key}` macros.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MacroString {
    /// The text as written (shared: a rule's literal `msg`, `tag`s and `logdata` are the
    /// text of each log line it writes, not a copy each).
    pub raw: std::sync::Arc<str>,
    /// The text split into literal parts and macros; empty when there is no macro (the text
    /// is `raw`: most texts of a rule set have none, and a second copy of each was a tenth of
    /// a compiled CRS).
    pub segments: Vec<Segment>,
}

impl MacroString {
    /// A text known at load time.
    pub fn literal(text: &str) -> MacroString {
        MacroString {
            raw: text.into(),
            segments: Vec::new(),
        }
    }

    /// The text, when it has no macro.
    pub fn literal_text(&self) -> Option<&str> {
        self.segments.is_empty().then_some(&*self.raw)
    }

    /// The text with each macro as nothing: what libmodsecurity makes of it with no
    /// transaction to read (an operator's argument read at load,
    /// [`crate::names::OperatorName::reads_argument_at_load`]).
    pub fn load_time_text(&self) -> std::borrow::Cow<'_, str> {
        if self.segments.is_empty() {
            return std::borrow::Cow::Borrowed(&self.raw);
        }
        let mut text = String::new();
        for s in &self.segments {
            if let Segment::Literal(l) = s {
                text.push_str(l);
            }
        }
        std::borrow::Cow::Owned(text)
    }

    pub fn has_macros(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Macro { .. }))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// `%{tx.score}` → variable `TX`, key `score`; `%{MATCHED_VAR}` → no key.
    Macro {
        variable: VariableName,
        key: Option<String>,
    },
}
