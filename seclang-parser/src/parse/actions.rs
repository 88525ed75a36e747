//! Action lists: `id:1,phase:2,t:none,msg:'a, b',setvar:'tx.x=+%{tx.y}',ctl:ruleEngine=Off`.
//!
//! Actions are separated by commas (blanks around them allowed). A value follows `:`; in single
//! quotes it may hold commas, blanks and double quotes (`\'` does not end it); unquoted it runs
//! to the next comma. Values are kept as written; only their structure is parsed.

use super::macros::parse_macro_string;
use super::variables::parse_variables;
use super::{number, word, PResult, Problem};
use crate::ast::{Action, ActionArgument, Ctl, MacroString, SetVar, SetVarOperation};
use crate::names::{ActionName, ArgumentKind, CtlName, TransformationName};
use crate::span::Span;
use nom::bytes::complete::take_while1;
use nom::IResult;

fn name(input: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_')(input)
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Parses an action list; each action is returned with its offset in `text`. An empty (or
/// blank) list is allowed, as libmodsecurity allows `""`; a trailing comma is allowed only when
/// `trailing_comma` is set (the list's closing quote was missing: libmodsecurity then ends the
/// list at the end of the line).
pub(crate) fn parse_actions(text: &str, trailing_comma: bool) -> PResult<Vec<(usize, Action)>> {
    let b = text.as_bytes();
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        while pos < b.len() && is_blank(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() {
            if out.is_empty() || (text.trim_end().ends_with(',') && !trailing_comma) {
                return Err(Problem::new(pos, "expected an action", ""));
            }
            return Ok(out);
        }
        let start = pos;
        let rest = &text[pos..];
        let (_, n) = name(rest).map_err(|_| Problem::new(pos, "expected an action", word(rest)))?;
        let action = ActionName::from_name(n)
            .ok_or_else(|| Problem::new(pos, format!("unknown action '{n}'"), word(rest)))?;
        pos += n.len();
        let mut value: Option<(usize, &str, bool)> = None;
        if b.get(pos) == Some(&b':') {
            pos += 1;
            if b.get(pos) == Some(&b'\'') {
                let vstart = pos + 1;
                let end = closing_quote(b, vstart).ok_or_else(|| {
                    Problem::new(pos, "unterminated single-quoted value", &text[pos..])
                })?;
                value = Some((vstart, &text[vstart..end], true));
                pos = end + 1;
            } else {
                let end = text[pos..].find(',').map_or(b.len(), |i| pos + i);
                value = Some((pos, text[pos..end].trim_end_matches([' ', '\t']), false));
                pos = end;
            }
        }
        while pos < b.len() && is_blank(b[pos]) {
            pos += 1;
        }
        match b.get(pos) {
            None => {}
            Some(b',') => pos += 1,
            Some(_) => {
                return Err(Problem::new(
                    pos,
                    "expected ',' between actions",
                    word(&text[pos..]),
                ))
            }
        }
        let argument = argument(action, value, start)?;
        out.push((
            start,
            Action {
                span: Span::default(),
                name: action,
                argument,
            },
        ));
    }
}

/// The index of the `'` closing a value that starts at `from`.
fn closing_quote(b: &[u8], from: usize) -> Option<usize> {
    let mut backslashes = 0;
    for (i, &c) in b.iter().enumerate().skip(from) {
        if c == b'\'' && backslashes % 2 == 0 {
            return Some(i);
        }
        backslashes = if c == b'\\' { backslashes + 1 } else { 0 };
    }
    None
}

fn argument(
    action: ActionName,
    value: Option<(usize, &str, bool)>,
    start: usize,
) -> PResult<ActionArgument> {
    use ActionName::*;
    let (at, v) = match (action.argument(), value) {
        (ArgumentKind::None, Some((at, v, _))) => {
            return Err(Problem::new(
                at,
                format!("action '{action}' takes no argument"),
                v,
            ))
        }
        (ArgumentKind::Required, None) => {
            return Err(Problem::new(
                start,
                format!("action '{action}' needs an argument"),
                action.as_str(),
            ))
        }
        (_, None) => return Ok(ActionArgument::None),
        (_, Some((at, v, _))) => (at, v),
    };
    let bad = |msg: &str| Problem::new(at, format!("action '{action}': {msg}"), v);
    Ok(match action {
        Id => ActionArgument::Id(number(v).ok_or_else(|| bad("expected a rule id (a number)"))?),
        Phase => ActionArgument::Phase(
            phase(v)
                .ok_or_else(|| bad("expected a phase: 0 to 5, request, response or logging"))?,
        ),
        Severity => ActionArgument::Severity(
            severity(v).ok_or_else(|| bad("expected a severity: a number or EMERGENCY...DEBUG"))?,
        ),
        Xmlns => {
            // libmodsecurity: PREFIX=HREF, the href optionally in single quotes, starting "http"
            let (prefix, href) = v
                .split_once('=')
                .ok_or_else(|| bad("expected PREFIX=HREF"))?;
            let href = match href.strip_prefix('\'').and_then(|h| h.strip_suffix('\'')) {
                Some(inner) if href.len() > 3 => inner,
                _ => href,
            };
            if prefix.is_empty() || href.is_empty() {
                return Err(bad("expected PREFIX=HREF"));
            }
            if !href.starts_with("http") {
                return Err(bad("the namespace href must start with http"));
            }
            ActionArgument::Plain(v.to_string())
        }
        Exec => {
            // libmodsecurity v3 runs only Lua scripts
            if !v.ends_with(".lua") {
                return Err(bad(
                    "expected a Lua script (.lua); libmodsecurity v3 runs nothing else",
                ));
            }
            ActionArgument::Plain(v.to_string())
        }
        Skip | Status => ActionArgument::Number(number(v).ok_or_else(|| bad("expected a number"))?),
        T => ActionArgument::Transformation(
            TransformationName::from_name(v)
                .ok_or_else(|| Problem::new(at, format!("unknown transformation '{v}'"), v))?,
        ),
        Ctl => ActionArgument::Ctl(ctl(v).map_err(|p| p.shift(at))?),
        SetVar => ActionArgument::SetVar(setvar(v).map_err(|p| p.shift(at))?),
        Allow => {
            if !v.eq_ignore_ascii_case("request") && !v.eq_ignore_ascii_case("phase") {
                return Err(bad("expected 'request' or 'phase'"));
            }
            ActionArgument::Plain(v.to_string())
        }
        InitCol => {
            if !v.contains('=') {
                return Err(bad("expected COLLECTION=KEY"));
            }
            ActionArgument::Text(parse_macro_string(v).map_err(|p| p.shift(at))?)
        }
        a if a.expands_macros() => {
            ActionArgument::Text(parse_macro_string(v).map_err(|p| p.shift(at))?)
        }
        _ => ActionArgument::Plain(v.to_string()),
    })
}

fn phase(v: &str) -> Option<u8> {
    match v.to_ascii_lowercase().as_str() {
        "request" => Some(2),
        "response" => Some(4),
        "logging" => Some(5),
        // phase:0 (connection) is accepted by libmodsecurity too
        _ => number(v).filter(|p| *p <= 5).map(|p| p as u8),
    }
}

/// Severity names, index = level.
pub(crate) const SEVERITIES: [&str; 8] = [
    "EMERGENCY",
    "ALERT",
    "CRITICAL",
    "ERROR",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
];

fn severity(v: &str) -> Option<u8> {
    if let Some(i) = SEVERITIES.iter().position(|s| s.eq_ignore_ascii_case(v)) {
        return Some(i as u8);
    }
    // libmodsecurity takes any number here (severity:9 loads)
    number(v).and_then(|s| u8::try_from(s).ok())
}

fn ctl(v: &str) -> PResult<Ctl> {
    let (n, value) = v
        .split_once('=')
        .ok_or_else(|| Problem::new(0, "ctl: expected NAME=VALUE", v))?;
    let name = CtlName::from_name(n.trim())
        .ok_or_else(|| Problem::new(0, format!("unknown ctl option '{n}'"), n))?;
    let mut targets = Vec::new();
    if matches!(
        name,
        CtlName::RuleRemoveTargetById
            | CtlName::RuleRemoveTargetByTag
            | CtlName::RuleRemoveTargetByMsg
    ) {
        let (_, list) = value.split_once(';').ok_or_else(|| {
            Problem::new(
                n.len() + 1,
                format!("ctl:{name} expects RULE;TARGETS"),
                value,
            )
        })?;
        let list_at = v.len() - list.len();
        targets = parse_variables(list)
            .map_err(|p| p.shift(list_at))?
            .into_iter()
            .map(|(_, var)| var)
            .collect();
    }
    Ok(Ctl {
        name,
        value: value.to_string(),
        targets,
    })
}

fn setvar(v: &str) -> PResult<SetVar> {
    let (delete, body, body_at) = match v.strip_prefix('!') {
        Some(b) => (true, b, 1),
        None => (false, v, 0),
    };
    let (target, op, value, value_at) = match body.find('=') {
        Some(eq) if !delete => {
            let after = &body[eq + 1..];
            let (op, val, skip) = if let Some(x) = after.strip_prefix('+') {
                (SetVarOperation::Add, x, 1)
            } else if let Some(x) = after.strip_prefix('-') {
                (SetVarOperation::Subtract, x, 1)
            } else {
                (SetVarOperation::Set, after, 0)
            };
            (&body[..eq], op, val, body_at + eq + 1 + skip)
        }
        Some(eq) => {
            return Err(Problem::new(
                body_at + eq,
                "setvar: '!' deletes a variable and takes no value",
                v,
            ))
        }
        None if delete => (body, SetVarOperation::Delete, "", v.len()),
        None => (body, SetVarOperation::Create, "", v.len()),
    };
    let (collection, key) = target
        .split_once('.')
        .ok_or_else(|| Problem::new(body_at, "setvar: expected COLLECTION.NAME", target))?;
    if collection.is_empty() || key.is_empty() {
        return Err(Problem::new(
            body_at,
            "setvar: expected COLLECTION.NAME",
            target,
        ));
    }
    let key_at = body_at + collection.len() + 1;
    Ok(SetVar {
        collection: collection.to_string(),
        key: parse_macro_string(key).map_err(|p| p.shift(key_at))?,
        operation: op,
        value: if value.is_empty() {
            MacroString::default()
        } else {
            parse_macro_string(value).map_err(|p| p.shift(value_at))?
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_actions_t(s: &str) -> PResult<Vec<(usize, Action)>> {
        parse_actions(s, false)
    }

    fn names(s: &str) -> Vec<ActionName> {
        parse_actions_t(s)
            .unwrap()
            .into_iter()
            .map(|(_, a)| a.name)
            .collect()
    }

    #[test]
    fn list_with_quoted_values() {
        let got = parse_actions_t(
            "id:1, phase:request ,msg:'a, \"b\"',t:none,setvar:'tx.x=+%{tx.y}',pass",
        )
        .unwrap();
        assert_eq!(got.len(), 6);
        assert_eq!(got[0].1.argument, ActionArgument::Id(1));
        assert_eq!(got[1].1.argument, ActionArgument::Phase(2));
        assert_eq!(
            got[2].1.argument,
            ActionArgument::Text(MacroString::literal("a, \"b\""))
        );
        assert_eq!(
            got[3].1.argument,
            ActionArgument::Transformation(TransformationName::None)
        );
        match &got[4].1.argument {
            ActionArgument::SetVar(s) => {
                assert_eq!(s.collection, "tx");
                assert_eq!(&*s.key.raw, "x");
                assert_eq!(s.operation, SetVarOperation::Add);
                assert_eq!(&*s.value.raw, "%{tx.y}");
                assert!(s.value.has_macros());
            }
            a => panic!("{a:?}"),
        }
        assert_eq!(got[5].0, 64);
        assert_eq!(names("chain"), vec![ActionName::Chain]);
    }

    #[test]
    fn ctl_and_setvar_forms() {
        let got = parse_actions_t(
            "ctl:ruleRemoveTargetById=942100;ARGS:foo|ARGS:bar,setvar:!tx.a,setvar:tx.b",
        )
        .unwrap();
        match &got[0].1.argument {
            ActionArgument::Ctl(c) => {
                assert_eq!(c.name, CtlName::RuleRemoveTargetById);
                assert_eq!(c.targets.len(), 2);
            }
            a => panic!("{a:?}"),
        }
        match &got[1].1.argument {
            ActionArgument::SetVar(s) => assert_eq!(s.operation, SetVarOperation::Delete),
            a => panic!("{a:?}"),
        }
    }

    #[test]
    fn errors_have_offsets() {
        let e = parse_actions_t("id:1,foo,pass").unwrap_err();
        assert_eq!((e.at, e.message.as_str()), (5, "unknown action 'foo'"));
        let e = parse_actions_t("id:1,t:lowercasex").unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (7, "unknown transformation 'lowercasex'")
        );
        let e = parse_actions_t("id:1,msg:'abc").unwrap_err();
        assert_eq!(e.at, 9);
        let e = parse_actions_t("id:x").unwrap_err();
        assert_eq!(e.at, 3);
        let e = parse_actions_t("deny:1").unwrap_err();
        assert_eq!(e.at, 5);
        let e = parse_actions_t("id:1,").unwrap_err();
        assert_eq!(e.at, 5);
        assert_eq!(parse_actions("id:1,", true).unwrap().len(), 1);
        assert!(parse_actions_t(" ").unwrap().is_empty());
        let e = parse_actions_t("xmlns:abc").unwrap_err();
        assert_eq!(e.at, 6);
        let e = parse_actions_t("id:1,ctl:ruleRemoveTargetById=1;FOO").unwrap_err();
        assert_eq!((e.at, e.message.as_str()), (32, "unknown variable 'FOO'"));
        let e = parse_actions_t("id:1,setvar:tx.a=%{bad}").unwrap_err();
        assert_eq!(e.at, 19);
    }
}
