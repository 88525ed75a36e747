//! Canonical SecLang: one directive per line, canonical names, quotes where libmodsecurity
//! accepts them. `parse(print(ast)) == ast` for every AST the parser can produce (property
//! tested in `tests/roundtrip.rs`).
//!
//! Not representable, in SecLang itself: an operator argument ending in an odd number of
//! backslashes (the closing `"` would be escaped), an action value holding an unescaped `'`
//! together with a comma or a blank, and a `Key` selector that looks like `/regex/`.

use crate::ast::*;
use crate::names::ActionName;
use std::fmt::Write;

/// Prints directives, one per line.
pub fn print(directives: &[Directive]) -> String {
    let mut out = String::new();
    for d in directives {
        print_directive(&d.kind, &mut out);
        out.push('\n');
    }
    out
}

/// Prints one directive (without a newline).
pub fn print_directive(d: &DirectiveKind, out: &mut String) {
    match d {
        DirectiveKind::Rule(r) => {
            out.push_str("SecRule ");
            print_variables(&r.variables, out);
            out.push(' ');
            print_operator(&r.operator, out);
            if !r.actions.is_empty() {
                out.push(' ');
                print_actions(&r.actions, out);
            }
        }
        DirectiveKind::Action(a) => {
            out.push_str("SecAction ");
            print_actions(a, out);
        }
        DirectiveKind::DefaultAction(a) => {
            out.push_str("SecDefaultAction ");
            print_actions(a, out);
        }
        DirectiveKind::RuleScript { path, actions } => {
            out.push_str("SecRuleScript ");
            quoted_arg(path, out);
            if !actions.is_empty() {
                out.push(' ');
                print_actions(actions, out);
            }
        }
        DirectiveKind::Marker(m) => {
            out.push_str("SecMarker ");
            arg(m, out);
        }
        DirectiveKind::Include { path, optional } => {
            out.push_str(if *optional {
                "IncludeOptional "
            } else {
                "Include "
            });
            arg(path, out);
        }
        DirectiveKind::RemoveById(ids) => {
            out.push_str("SecRuleRemoveById");
            for r in ids {
                out.push(' ');
                print_range(r, out);
            }
        }
        DirectiveKind::RemoveByTag(t) => {
            out.push_str("SecRuleRemoveByTag ");
            quoted_arg(t, out);
        }
        DirectiveKind::RemoveByMsg(m) => {
            out.push_str("SecRuleRemoveByMsg ");
            quoted_arg(m, out);
        }
        DirectiveKind::UpdateTargetById { ids, variables } => {
            out.push_str("SecRuleUpdateTargetById ");
            for (i, r) in ids.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                print_range(r, out);
            }
            out.push_str(" \"");
            print_variables(variables, out);
            out.push('"');
        }
        DirectiveKind::UpdateTargetByTag { tag, variables } => {
            out.push_str("SecRuleUpdateTargetByTag ");
            quoted_arg(tag, out);
            out.push_str(" \"");
            print_variables(variables, out);
            out.push('"');
        }
        DirectiveKind::UpdateTargetByMsg { msg, variables } => {
            out.push_str("SecRuleUpdateTargetByMsg ");
            quoted_arg(msg, out);
            out.push_str(" \"");
            print_variables(variables, out);
            out.push('"');
        }
        DirectiveKind::UpdateActionById {
            id,
            offset,
            actions,
        } => {
            let _ = write!(out, "SecRuleUpdateActionById {id}");
            if let Some(o) = offset {
                let _ = write!(out, ":{o}");
            }
            out.push(' ');
            print_actions(actions, out);
        }
        DirectiveKind::ComponentSignature(s) => {
            out.push_str("SecComponentSignature ");
            quoted_arg(s, out);
        }
        DirectiveKind::Config { name, args } => {
            out.push_str(name.as_str());
            for a in args {
                out.push(' ');
                arg(a, out);
            }
        }
    }
}

fn print_range(r: &IdRange, out: &mut String) {
    if r.start == r.end {
        let _ = write!(out, "{}", r.start);
    } else {
        let _ = write!(out, "{}-{}", r.start, r.end);
    }
}

/// An argument, quoted when it must be.
fn arg(s: &str, out: &mut String) {
    if s.is_empty() || s.starts_with('#') || s.contains([' ', '\t', '"']) {
        quoted_arg(s, out);
    } else {
        out.push_str(s);
    }
}

fn quoted_arg(s: &str, out: &mut String) {
    out.push('"');
    escape_quotes(s, out);
    out.push('"');
}

/// `"` → `\"` (the only escape SecLang's quoted arguments know).
fn escape_quotes(s: &str, out: &mut String) {
    for c in s.chars() {
        if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
}

pub fn print_variables(vars: &[Variable], out: &mut String) {
    for (i, v) in vars.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        print_variable(v, out);
    }
}

pub fn print_variable(v: &Variable, out: &mut String) {
    match v.modifier {
        VariableModifier::None => {}
        VariableModifier::Exclude => out.push('!'),
        VariableModifier::Count => out.push('&'),
    }
    out.push_str(v.name.as_str());
    match &v.selector {
        None => {}
        Some(Selector::Key(k)) => {
            out.push(':');
            out.push_str(k);
        }
        Some(Selector::Regex(r)) => {
            if r.contains(['|', ',', ' ', '=', '\t', '"']) {
                let _ = write!(out, ":'/{r}/'");
            } else {
                let _ = write!(out, ":/{r}/");
            }
        }
    }
}

pub fn print_operator(op: &Operator, out: &mut String) {
    out.push('"');
    if op.negated {
        out.push('!');
    }
    out.push('@');
    out.push_str(op.name.as_str());
    if !op.argument.raw.is_empty() || !op.name.takes_no_argument() {
        out.push(' ');
        escape_quotes(&op.argument.raw, out);
    }
    out.push('"');
}

pub fn print_actions(actions: &[Action], out: &mut String) {
    out.push('"');
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        print_action(a, out);
    }
    out.push('"');
}

/// Severity names, index = level.
const SEVERITIES: [&str; 8] = [
    "EMERGENCY",
    "ALERT",
    "CRITICAL",
    "ERROR",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
];

pub fn print_action(a: &Action, out: &mut String) {
    out.push_str(a.name.as_str());
    match &a.argument {
        ActionArgument::None => {}
        ActionArgument::Id(n) | ActionArgument::Number(n) => {
            let _ = write!(out, ":{n}");
        }
        ActionArgument::Phase(p) => {
            let _ = write!(out, ":{p}");
        }
        ActionArgument::Severity(s) => {
            let _ = write!(out, ":'{}'", SEVERITIES[usize::from(*s).min(7)]);
        }
        ActionArgument::Transformation(t) => {
            out.push(':');
            out.push_str(t.as_str());
        }
        ActionArgument::Ctl(c) => {
            let _ = write!(out, ":{}={}", c.name, c.value);
        }
        ActionArgument::SetVar(s) => {
            out.push_str(":'");
            if s.operation == SetVarOperation::Delete {
                out.push('!');
            }
            let _ = write!(out, "{}.{}", s.collection, s.key.raw);
            match s.operation {
                SetVarOperation::Set => out.push('='),
                SetVarOperation::Add => out.push_str("=+"),
                SetVarOperation::Subtract => out.push_str("=-"),
                SetVarOperation::Delete | SetVarOperation::Create => {}
            }
            out.push_str(&s.value.raw);
            out.push('\'');
        }
        ActionArgument::Text(m) => value(a.name, &m.raw, out),
        ActionArgument::Plain(p) => value(a.name, p, out),
    }
}

/// A free-text value: in single quotes, except where libmodsecurity only takes it bare.
fn value(name: ActionName, v: &str, out: &mut String) {
    out.push(':');
    let bare_only = matches!(
        name,
        ActionName::SkipAfter | ActionName::Xmlns | ActionName::InitCol | ActionName::Allow
    );
    let must_quote = v.is_empty() || v.contains([',', ' ', '\t', '"']) || v.starts_with('\'');
    if bare_only && !must_quote || v.contains('\'') && !must_quote {
        out.push_str(v);
    } else {
        out.push('\'');
        out.push_str(v);
        out.push('\'');
    }
}
