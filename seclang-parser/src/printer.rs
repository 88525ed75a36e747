//! Canonical SecLang: one directive per line, canonical names, quotes where libmodsecurity
//! accepts them. `parse(print(ast)) == ast` for every AST the parser can produce (property
//! tested in `tests/roundtrip.rs`).
//!
//! The lexer unescapes nothing, so texts are written back exactly as they were read: a directive
//! argument bare, or between `"` if it holds blanks (a `\"` in it stays as it is); an action
//! value in `'...'`, or bare if it holds a `'`; an operator argument between `"` with `"` written
//! `\"` (the one unescape SecLang has), or bare for an implicit `@rx` that cannot be quoted.
//!
//! Not representable, in SecLang itself (no text parses to these ASTs):
//! - an operator argument with a `"` after an odd number of backslashes, or ending in an odd
//!   number of backslashes, unless it is a `@rx` that can stand bare (no unescaped blank, not
//!   starting with `@`, `"`, `#` or, when not negated, `!`, not ending in `\` or `\` and
//!   carriage return);
//! - an action value with an unescaped `'` or a trailing odd run of backslashes that also holds a
//!   comma, an unescaped `"` or trailing blanks, or starts with `'` (or is the list's last and
//!   ends in an odd run of backslashes);
//! - a directive argument (marker, path, tag, configuration value...) holding both an unescaped
//!   blank and an unescaped `"`, or an unescaped `"` and a trailing `\` or `\` and carriage
//!   return (bare, the `\` would continue the line; only the input's last line can end so), or
//!   ending in an odd number of backslashes;
//! - a value of a directive that takes it bare only (`SecResponseBodyMimeType`'s types,
//!   `SecWebAppId`'s rest of the line) ending in `\` or `\` and carriage return (the `\` would
//!   continue the line; only the input's last line can end so);
//! - a target list whose selectors hold both an unescaped blank and an unescaped `"`;
//! - a `SecRuleUpdateTargetBy*` target list (the directive's last token) ending in an odd
//!   number of backslashes (its last key's: quoted, they escape the closing `"`; bare, the last
//!   continues the line);
//! - a `Key` selector that looks like `/regex/`, and a `Regex` selector holding `/'` together
//!   with a character that only the `'/.../'` form allows.

use crate::ast::*;
use crate::names::{ActionName, DirectiveName};
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
            variables_token(&r.variables, false, out);
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
            out.push(' ');
            variables_token(variables, true, out);
        }
        DirectiveKind::UpdateTargetByTag { tag, variables } => {
            out.push_str("SecRuleUpdateTargetByTag ");
            quoted_arg(tag, out);
            out.push(' ');
            variables_token(variables, true, out);
        }
        DirectiveKind::UpdateTargetByMsg { msg, variables } => {
            out.push_str("SecRuleUpdateTargetByMsg ");
            quoted_arg(msg, out);
            out.push(' ');
            variables_token(variables, true, out);
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
        // (read as the rest of the line; see `Args::web_app_id`)
        DirectiveKind::Config {
            name: DirectiveName::SecWebAppId,
            args,
        } => {
            out.push_str("SecWebAppId ");
            let v = args.first().map_or("", String::as_str);
            if v.contains('"') {
                out.push('"');
                out.push_str(v);
            } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
                let _ = write!(out, "'{v}'");
            } else {
                out.push_str(v);
            }
        }
        // (bare only, as libmodsecurity v3 reads them)
        DirectiveKind::Config {
            name: DirectiveName::SecResponseBodyMimeType,
            args,
        } => {
            out.push_str("SecResponseBodyMimeType");
            for a in args {
                out.push(' ');
                out.push_str(a);
            }
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

// --- texts as the lexer reads them ---------------------------------------------------------------

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c')
}

/// Whether the character at byte `i` of `s` follows an odd number of backslashes.
fn escaped_at(s: &str, i: usize) -> bool {
    s.as_bytes()[..i]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count()
        % 2
        == 1
}

/// Whether some character matching `pred` is not escaped by a backslash.
fn has_unescaped(s: &str, pred: impl Fn(char) -> bool) -> bool {
    s.char_indices().any(|(i, c)| pred(c) && !escaped_at(s, i))
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// A bare token reads back as `s`: it ends at the first unescaped blank, a leading `"` would
/// open a quoted one, a leading `#` a comment, and a trailing `\` continues the line (so does
/// a trailing `\` and carriage return, before the line feed a directive ends with).
fn bare_token_ok(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['"', '#'])
        && !has_unescaped(s, is_blank)
        && !s.ends_with('\\')
        && !s.ends_with("\\\r")
}

/// `"s"` reads back as `s` (nothing is unescaped): no unescaped `"` inside, and no odd run of
/// backslashes escaping the closing quote.
fn quoted_token_ok(s: &str) -> bool {
    !has_unescaped(s, |c| c == '"') && !ends_with_odd_backslashes(s)
}

/// A directive argument, as read (raw): bare when it can be, else between `"`.
fn arg(s: &str, out: &mut String) {
    if bare_token_ok(s) || !quoted_token_ok(s) {
        out.push_str(s);
    } else {
        quoted_arg(s, out);
    }
}

/// A directive argument, as read (raw): between `"` when it can be, else bare.
fn quoted_arg(s: &str, out: &mut String) {
    if quoted_token_ok(s) || !bare_token_ok(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// `"` → `\"`: the operator's one unescape, undone.
fn escape_quotes(s: &str, out: &mut String) {
    for c in s.chars() {
        if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
}

// --- variables -----------------------------------------------------------------------------------

/// A target list as one token. `prefer_quotes`: written `"..."` unless it cannot be; otherwise
/// bare unless it holds a blank (a `'/re gex/'` selector).
fn variables_token(vars: &[Variable], prefer_quotes: bool, out: &mut String) {
    let mut text = String::new();
    print_variables(vars, &mut text);
    let quoted_ok = quoted_token_ok(&text);
    let quote = if prefer_quotes {
        quoted_ok || !bare_token_ok(&text)
    } else {
        !bare_token_ok(&text) && quoted_ok
    };
    if quote {
        out.push('"');
        out.push_str(&text);
        out.push('"');
    } else {
        out.push_str(&text);
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
            // `/r/` is read up to the next unescaped `|`, `,`, blank or `"`, and is a regex only
            // without `=`, blanks and `"`; `'/r/'` ends at the first `/'`.
            let bare_ok =
                !r.is_empty() && !r.contains(['=', ' ', '\t', '"', '|', ',']) && !r.ends_with('\\');
            if bare_ok || r.contains("/'") {
                let _ = write!(out, ":/{r}/");
            } else {
                let _ = write!(out, ":'/{r}/'");
            }
        }
    }
}

// --- operator ------------------------------------------------------------------------------------

pub fn print_operator(op: &Operator, out: &mut String) {
    let raw = op.argument.raw.as_ref();
    // Quoted, `"` is written `\"`; a `"` already after an odd run of backslashes, or a trailing
    // odd run, cannot be written so.
    let quotable = raw
        .char_indices()
        .all(|(i, c)| c != '"' || !escaped_at(raw, i))
        && !ends_with_odd_backslashes(raw);
    // An implicit @rx can stand bare (then nothing is unescaped).
    let bare_ok = op.name == crate::names::OperatorName::Rx
        && bare_token_ok(raw)
        && !raw.starts_with('@')
        && (op.negated || !raw.starts_with('!'));
    if !quotable && bare_ok {
        if op.negated {
            out.push('!');
        }
        out.push_str(raw);
        return;
    }
    out.push('"');
    if op.negated {
        out.push('!');
    }
    out.push('@');
    out.push_str(op.name.as_str());
    if !raw.is_empty() || !op.name.takes_no_argument() {
        out.push(' ');
        escape_quotes(raw, out);
    }
    out.push('"');
}

// --- actions -------------------------------------------------------------------------------------

pub fn print_actions(actions: &[Action], out: &mut String) {
    out.push('"');
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        action(a, i + 1 == actions.len(), out);
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

/// Prints one action (as the last of its list).
pub fn print_action(a: &Action, out: &mut String) {
    action(a, true, out);
}

/// `last`: the last action of its list (a bare value there must not end in a backslash that
/// would escape the list's closing `"`).
fn action(a: &Action, last: bool, out: &mut String) {
    out.push_str(a.name.as_str());
    match &a.argument {
        ActionArgument::None => {}
        ActionArgument::Id(n) | ActionArgument::Number(n) => {
            let _ = write!(out, ":{n}");
        }
        ActionArgument::Phase(p) => {
            let _ = write!(out, ":{p}");
        }
        ActionArgument::Severity(s) => match SEVERITIES.get(usize::from(*s)) {
            Some(name) => {
                let _ = write!(out, ":'{name}'");
            }
            // libmodsecurity takes any number; only 0..=7 have names
            None => {
                let _ = write!(out, ":{s}");
            }
        },
        ActionArgument::Transformation(t) => {
            out.push(':');
            out.push_str(t.as_str());
        }
        ActionArgument::Ctl(c) => {
            value(&format!("{}={}", c.name, c.value), Form::Bare, last, out);
        }
        ActionArgument::SetVar(s) => {
            let mut t = String::new();
            if s.operation == SetVarOperation::Delete {
                t.push('!');
            }
            let _ = write!(t, "{}.{}", s.collection, s.key.raw);
            match s.operation {
                SetVarOperation::Set => t.push('='),
                SetVarOperation::Add => t.push_str("=+"),
                SetVarOperation::Subtract => t.push_str("=-"),
                SetVarOperation::Delete | SetVarOperation::Create => {}
            }
            t.push_str(&s.value.raw);
            value(&t, Form::PreferQuoted, last, out);
        }
        ActionArgument::Text(m) => value(&m.raw, form(a.name), last, out),
        ActionArgument::Plain(p) => value(p, form(a.name), last, out),
    }
}

/// How an action's value may be written.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// Bare only: libmodsecurity v3 does not load `initcol:'...'`, `allow:'...'`, `ctl:'...'`.
    Bare,
    /// Quoted only: `ver:'...'`.
    Quoted,
    PreferBare,
    PreferQuoted,
}

fn form(name: ActionName) -> Form {
    match name {
        ActionName::InitCol | ActionName::Allow => Form::Bare,
        ActionName::Ver => Form::Quoted,
        ActionName::SkipAfter | ActionName::Xmlns => Form::PreferBare,
        _ => Form::PreferQuoted,
    }
}

/// `:value`: in single quotes, or bare where that is the usual form, where the value holds a
/// `'`, or where quoting cannot work; as `form` says where only one form loads (the value must
/// then be writable so).
fn value(v: &str, form: Form, last: bool, out: &mut String) {
    let prefer_bare = form == Form::PreferBare;
    out.push(':');
    // '...' ends at the first unescaped `'`; a trailing odd run of backslashes escapes it
    let quoted_ok = !has_unescaped(v, |c| c == '\'') && !ends_with_odd_backslashes(v);
    // bare runs to the next comma, loses trailing blanks, must not open a '...' value nor close
    // the list's "..."
    let bare_ok = !v.contains(',')
        && !v.starts_with('\'')
        && !v.ends_with([' ', '\t'])
        && !has_unescaped(v, |c| c == '"')
        && (!last || !ends_with_odd_backslashes(v));
    let must_quote = v.is_empty() || v.contains([' ', '\t', '"']);
    // bare when quoting cannot work, else when it is the usual form and safe
    let bare = match form {
        Form::Bare => true,
        Form::Quoted => false,
        _ => bare_ok && (!quoted_ok || (!must_quote && (prefer_bare || v.contains('\'')))),
    };
    if bare {
        out.push_str(v);
    } else {
        out.push('\'');
        out.push_str(v);
        out.push('\'');
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_str, FileId};

    /// Each directive of `text` prints to text that parses back to it.
    fn round_trips(text: &str) {
        let (directives, errors) = parse_str(text, FileId(0));
        assert!(errors.is_empty(), "{errors:?}");
        for d in &directives {
            let printed = super::print(std::slice::from_ref(d));
            let (again, errors) = parse_str(&printed, FileId(0));
            assert!(errors.is_empty(), "{printed:?}: {errors:?}");
            assert_eq!(again.len(), 1, "{printed:?}");
            assert_eq!(again[0].kind, d.kind, "{printed:?}");
        }
    }

    /// A token may end with an escaped carriage return (a `\` and a CR not followed by a line
    /// feed does not continue the line); written bare, the line feed after it would make the
    /// two a line continuation: it is quoted (found by the parse fuzzer).
    #[test]
    fn a_trailing_escaped_carriage_return_is_quoted() {
        round_trips("SecRemoteRules key a\\\\\\\r\r");
        round_trips("SecDebugLog a\\\r\r");
        round_trips("SecDebugLog \"a b\\\r\"\n");
    }
}
