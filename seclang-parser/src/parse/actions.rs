//! Action lists: `id:1,phase:2,t:none,msg:'a, b',setvar:'tx.x=+%{tx.y}',ctl:ruleEngine=Off`.
//!
//! Actions are separated by commas (blanks around them allowed). A value follows `:`; in single
//! quotes it may hold commas, blanks and double quotes (`\'` does not end it); unquoted it runs
//! to the next comma. Values are kept as written; only their structure is parsed.

use super::macros::parse_macro_string;
use super::variables::parse_variables;
use super::{audit_parts, number, stoi_reads, word, PResult, Problem};
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
        let action = ActionName::from_name(n).ok_or_else(|| {
            // (v3 refuses them too: "Action: Proxy is not yet supported")
            let message = match ["proxy", "pause"]
                .iter()
                .find(|a| a.eq_ignore_ascii_case(n))
            {
                Some(a) => {
                    format!("action '{a}' is ModSecurity v2's: libmodsecurity v3 does not load it")
                }
                None => format!("unknown action '{n}'"),
            };
            Problem::new(pos, message, word(rest))
        })?;
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
        // (libmodsecurity v3's lexer reads these with their value as one word: `ctl:'...'`,
        // `status:'403'`, `t:'none'` do not load)
        (_, Some((at, _, true))) if matches!(action, Ctl | Status | Skip | T | InitCol | Allow) => {
            return Err(Problem::new(
                at - 1,
                format!("action '{action}' takes its value unquoted (libmodsecurity v3 does not load {action}:'...')"),
                "'",
            ))
        }
        // (and `ver` only quoted)
        (_, Some((at, v, false))) if action == Ver => {
            return Err(Problem::new(
                at,
                "action 'ver' takes its value quoted (libmodsecurity v3 loads ver:'...' only)",
                v,
            ))
        }
        // (`skipAfter:''` loads in v3, a marker named nothing)
        (ArgumentKind::Required, Some((at, "", quoted))) if !(quoted && action == SkipAfter) => {
            return Err(Problem::new(
                at - usize::from(quoted),
                format!("action '{action}' needs a value (libmodsecurity v3 does not load an empty one)"),
                "",
            ))
        }
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
            // (libmodsecurity v3 keeps `ip`, `global` and `resource`, spelt so, and a key)
            match v.split_once('=') {
                Some(("ip" | "global" | "resource", key)) if !key.is_empty() => {}
                Some((_, key)) if !key.is_empty() => {
                    return Err(bad("the collection must be ip, global or resource"))
                }
                _ => return Err(bad("expected COLLECTION=KEY")),
            }
            ActionArgument::Text(parse_macro_string(v).map_err(|p| p.shift(at))?)
        }
        Accuracy | Maturity => {
            if !stoi_reads(v) {
                return Err(bad("expected a number"));
            }
            ActionArgument::Plain(v.to_string())
        }
        SkipAfter => {
            if let Some(c) = v.chars().find(|c| matches!(c, ' ' | '\t' | '"' | ',')) {
                return Err(bad(&format!(
                    "'{c}' is not allowed in a marker name (libmodsecurity v3 does not load it)"
                )));
            }
            ActionArgument::Plain(v.to_string())
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

/// ModSecurity v2's `ctl` options, which libmodsecurity v3 does not load.
const V2_CTLS: [&str; 8] = [
    "debugLogLevel",
    "hashEnforcement",
    "hashEngine",
    "requestBodyLimit",
    "responseBodyAccess",
    "responseBodyLimit",
    "ruleRemoveByMsg",
    "ruleRemoveTargetByMsg",
];

fn ctl(v: &str) -> PResult<Ctl> {
    let (n, value) = v
        .split_once('=')
        .ok_or_else(|| Problem::new(0, "ctl: expected NAME=VALUE", v))?;
    let name = CtlName::from_name(n).ok_or_else(|| {
        let message = match V2_CTLS.iter().find(|c| c.eq_ignore_ascii_case(n)) {
            Some(c) => format!("ctl:{c} is ModSecurity v2's: libmodsecurity v3 does not load it"),
            None => format!("unknown ctl option '{n}'"),
        };
        Problem::new(0, message, n)
    })?;
    let value_at = n.len() + 1;
    ctl_value(name, value).map_err(|p| p.shift(value_at))?;
    let mut targets = Vec::new();
    if let CtlName::RuleRemoveTargetById | CtlName::RuleRemoveTargetByTag = name {
        let (rules, target) = Ctl::rules_and_target(value).ok_or_else(|| {
            Problem::new(value_at, format!("ctl:{name} expects RULE;TARGET"), value)
        })?;
        if name == CtlName::RuleRemoveTargetById {
            leading_integer(rules).map_err(|p| p.shift(value_at))?;
        }
        // (a name that is no variable's loads, as in libmodsecurity, and removes nothing)
        if let Ok(parsed) = parse_variables(target) {
            if let [(_, variable)] = &parsed[..] {
                targets.push(variable.clone());
            }
        }
    }
    Ok(Ctl {
        name,
        value: value.to_string(),
        targets,
    })
}

/// A `ctl`'s value where libmodsecurity 3.0.15's lexer takes it, and nowhere else: one word
/// of a few (ASCII case aside) for the switches and the body processor, `+`, `-` or `|` and
/// part letters for `auditLogParts`, and `[0-9A-Za-z_/.*:;$[]-]+` for the rule removals (a
/// target list `ARGS:a|ARGS:b`, a `/regex/` with other characters, a blank, a quote or a
/// macro does not load there).
fn ctl_value(name: CtlName, value: &str) -> PResult<()> {
    let one_of = |words: &[&str]| match words.iter().any(|w| w.eq_ignore_ascii_case(value)) {
        true => Ok(()),
        false => Err(Problem::new(
            0,
            format!("ctl:{name} expects {}", words.join(", ")),
            value,
        )),
    };
    match name {
        CtlName::RuleEngine => one_of(&["On", "Off", "DetectionOnly"]),
        CtlName::AuditEngine => one_of(&["On", "Off", "RelevantOnly"]),
        CtlName::RequestBodyAccess | CtlName::ForceRequestBodyVariable => one_of(&["On", "Off"]),
        CtlName::RequestBodyProcessor => one_of(&["URLENCODED", "XML", "JSON"]),
        CtlName::AuditLogParts => {
            let parts = value.strip_prefix(['+', '-', '|']).ok_or_else(|| {
                Problem::new(
                    0,
                    format!("ctl:{name} expects +, - or | and then audit log parts"),
                    value,
                )
            })?;
            if parts.is_empty() {
                return Err(Problem::new(
                    1,
                    format!("ctl:{name} expects audit log parts"),
                    "",
                ));
            }
            audit_parts(parts).map_err(|p| Problem {
                message: format!("ctl:{name}: {}", p.message),
                ..p.shift(1)
            })
        }
        CtlName::RuleRemoveById
        | CtlName::RuleRemoveByTag
        | CtlName::RuleRemoveTargetById
        | CtlName::RuleRemoveTargetByTag => {
            let allowed = |c: char| c.is_ascii_alphanumeric() || "_/.*:;$[]-".contains(c);
            match value.char_indices().find(|&(_, c)| !allowed(c)) {
                _ if value.is_empty() => {
                    Err(Problem::new(0, format!("ctl:{name} expects a value"), ""))
                }
                None => Ok(()),
                Some((at, c)) => {
                    let hint = match c {
                        '|' => " (one target per ctl: write a ctl for each)",
                        _ => "",
                    };
                    Err(Problem::new(
                        at,
                        format!(
                            "ctl:{name}: '{c}' is not allowed in its value (letters, digits and \
                             _/.*:;$[]- are){hint}"
                        ),
                        &value[at..],
                    ))
                }
            }
        }
    }
}

/// A `ctl:ruleRemoveTargetById`'s rule, read by `std::stoi` (`2-3` is 2).
fn leading_integer(text: &str) -> PResult<()> {
    match stoi_reads(text) {
        true => Ok(()),
        false => Err(Problem::new(
            0,
            format!("not able to convert '{text}' into a number"),
            text,
        )),
    }
}

/// The collections a `setvar` may name (libmodsecurity v3's).
const SETVAR_COLLECTIONS: [&str; 6] = ["tx", "ip", "session", "user", "global", "resource"];

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
    // (`tx.` loads in libmodsecurity v3: an element named nothing)
    if collection.is_empty() {
        return Err(Problem::new(
            body_at,
            "setvar: expected COLLECTION.NAME",
            target,
        ));
    }
    // (the collections libmodsecurity v3's lexer knows there, in any case)
    if !SETVAR_COLLECTIONS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(collection))
    {
        return Err(Problem::new(
            body_at,
            format!(
                "setvar: the collection must be one of {}",
                SETVAR_COLLECTIONS.join(", ")
            ),
            collection,
        ));
    }
    if let Some(eq) = value.find('=') {
        return Err(Problem::new(
            value_at + eq,
            "setvar: '=' is not allowed in a value (libmodsecurity v3 does not load it)",
            &value[eq..],
        ));
    }
    if value.is_empty()
        && matches!(
            op,
            SetVarOperation::Set | SetVarOperation::Add | SetVarOperation::Subtract
        )
    {
        return Err(Problem::new(
            value_at,
            "setvar: a value is needed after '=' (libmodsecurity v3 does not load an empty one)",
            "",
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
        let got =
            parse_actions_t("ctl:ruleRemoveTargetById=942100;ARGS:foo,setvar:!tx.a,setvar:tx.b")
                .unwrap();
        match &got[0].1.argument {
            ActionArgument::Ctl(c) => {
                assert_eq!(c.name, CtlName::RuleRemoveTargetById);
                assert_eq!(c.targets.len(), 1);
                assert_eq!(c.targets[0].name, crate::names::VariableName::Args);
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
        let e = parse_actions_t("id:1,setvar:tx.a=%{bad}").unwrap_err();
        assert_eq!(e.at, 19);
    }

    /// `ctl`s load where libmodsecurity 3.0.15's do, and no others (its answers: `tests/oracle/
    /// run.sh --lib wheel @text:...`, a rule with each): for the removals its lexer takes
    /// `[0-9A-Za-z_/.*:;$[]-]`, `ruleRemoveTargetById` wants an integer before `;` and something
    /// after it, and a target that names no variable loads; the switches take their words in
    /// any case, `auditLogParts` a sign and part letters; ModSecurity v2's options do not load.
    #[test]
    fn ctl_values_load_as_in_libmodsecurity() {
        let load = |ctl: &str| parse_actions_t(&format!("id:1,{ctl}"));
        for ok in [
            "ctl:ruleRemoveTargetById=2;ARGS:a",
            "ctl:ruleRemoveTargetById=2-3;ARGS:a",
            "ctl:ruleRemoveTargetById=0x2;ARGS:a",
            "ctl:ruleRemoveTargetById=2;ARGS:a;b",
            "ctl:ruleRemoveTargetById=2;;ARGS:a",
            "ctl:ruleRemoveTargetById=2;FOO",
            "ctl:ruleRemoveTargetById=2;ARGS:*",
            "ctl:ruleRemoveTargetById=2;ARGS:a$b",
            "ctl:ruleRemoveTargetById=2;ARGS:a[b]",
            "ctl:ruleRemoveTargetById=2;XML:/*",
            "ctl:ruleRemoveTargetByTag=;ARGS:a",
            "ctl:ruleRemoveTargetByTag=OWASP_CRS/WEB_ATTACK;REQUEST_FILENAME",
            "ctl:ruleRemoveById=920100-920199",
            "ctl:ruleRemoveByTag=attack-sqli",
            "ctl:ruleEngine=detectiononly",
            "ctl:RULEENGINE=Off",
            "ctl:auditEngine=relevantonly",
            "ctl:auditLogParts=+E",
            "ctl:auditLogParts=-E",
            "ctl:auditLogParts=|ABCDEFGHJKIZ",
            "ctl:requestBodyProcessor=Json",
            "ctl:requestBodyProcessor=URLENCODED",
            "ctl:requestBodyAccess=off",
            "ctl:forceRequestBodyVariable=On",
        ] {
            assert!(load(ok).is_ok(), "{ok}: {:?}", load(ok).unwrap_err());
        }
        // (where the error is: in the value, or at the option's name or quote)
        for (bad, at) in [
            ("ctl:ruleRemoveTargetById=2;ARGS:a|ARGS:b", Some(8)),
            ("ctl:ruleRemoveTargetById=2;!ARGS:a", Some(2)),
            ("ctl:ruleRemoveTargetById=2;&ARGS", Some(2)),
            ("ctl:ruleRemoveTargetById=2;ARGS:/^a/", Some(8)),
            ("ctl:ruleRemoveTargetById=2;ARGS:a b", Some(8)),
            ("ctl:ruleRemoveTargetById=2;ARGS:a@b", Some(8)),
            ("ctl:ruleRemoveTargetById=2", Some(0)),
            ("ctl:ruleRemoveTargetById=2;", Some(0)),
            ("ctl:ruleRemoveTargetById=a;ARGS:a", Some(0)),
            ("ctl:ruleRemoveTargetById=;ARGS:a", Some(0)),
            ("ctl:ruleRemoveTargetByTag=abc", Some(0)),
            ("ctl:ruleRemoveTargetByTag=a b;ARGS:a", Some(1)),
            ("ctl:ruleRemoveByTag=a b", Some(1)),
            ("ctl:ruleRemoveById=1 2", Some(1)),
            ("ctl:ruleRemoveById=", Some(0)),
            ("ctl:ruleRemoveByTag=%{tx.a}", Some(0)),
            ("ctl:ruleEngine=Foo", Some(0)),
            ("ctl:ruleEngine=OffX", Some(0)),
            ("ctl:auditEngine=Foo", Some(0)),
            ("ctl:auditLogParts=ABC", Some(0)),
            ("ctl:auditLogParts=-e", Some(1)),
            ("ctl:auditLogParts=+L", Some(1)),
            ("ctl:auditLogParts=+", Some(1)),
            ("ctl:requestBodyProcessor=MULTIPART", Some(0)),
            ("ctl:requestBodyAccess=Foo", Some(0)),
            ("ctl:forceRequestBodyVariable=1", Some(0)),
            ("ctl:hashEngine=On", None),
            ("ctl:ruleRemoveTargetByMsg=abc;ARGS:a", None),
            ("ctl:responseBodyAccess=On", None),
            ("ctl:'ruleEngine=Off'", None),
        ] {
            let e = load(bad).unwrap_err();
            let value_at = "id:1,".len() + bad.find('=').unwrap() + 1;
            let want = at.map_or("id:1,ctl:".len(), |k| value_at + k);
            assert_eq!(e.at, want, "{bad}: {}", e.message);
        }
        let e = load("ctl:ruleRemoveTargetById=2;ARGS:a|ARGS:b").unwrap_err();
        assert!(e.message.contains("one target per ctl"), "{}", e.message);
        let e = load("ctl:ruleRemoveByMsg=abc").unwrap_err();
        assert!(e.message.contains("ModSecurity v2's"), "{}", e.message);
    }

    /// Action values load where libmodsecurity 3.0.15's do (each answer taken from
    /// `tests/oracle/run.sh --lib wheel @text:...`, a rule with the action; 3.0.9 answers the
    /// same): values its lexer reads bare only or quoted only, no empty value, `accuracy` and
    /// `maturity` numbers, `initcol` of `ip`, `global` or `resource`, `setvar` of the six
    /// collections it knows, marker names without blanks or quotes; v2's `proxy` and `pause`
    /// do not load.
    #[test]
    fn actions_load_as_in_libmodsecurity() {
        let load = |a: &str| parse_actions_t(&format!("id:1,{a},pass"));
        for ok in [
            "status:403",
            "skip:1",
            "accuracy:5",
            "accuracy:'5'",
            "accuracy:5x",
            "maturity:' 5'",
            "ver:'OWASP_CRS/4.28.0'",
            "rev:2",
            "rev:'2'",
            "initcol:ip=%{REMOTE_ADDR}",
            "initcol:global=global",
            "initcol:resource=a b",
            "setvar:Tx.a=1",
            "setvar:IP.a=+1",
            "setvar:SESSION.a=1",
            "setvar:user.a=1",
            "setvar:global.a=1",
            "setvar:resource.a=1",
            "setvar:tx.a",
            "setvar:!tx.a",
            "skipAfter:END_HOST_CHECK",
            "skipAfter:'END'",
            "skipAfter:''",
            "skipAfter:a'b",
            "setvar:tx.",
            "setvar:tx.=1",
            "msg:'a b'",
            "phase:'2'",
            "id:'1'",
            "allow:phase",
            "t:lowercase",
        ] {
            assert!(load(ok).is_ok(), "{ok}: {:?}", load(ok).unwrap_err());
        }
        for bad in [
            "status:'403'",
            "skip:'1'",
            "t:'none'",
            "allow:'request'",
            "initcol:'ip=x'",
            "ver:OWASP_CRS/4.0",
            "ver:''",
            "rev:''",
            "rev:",
            "msg:''",
            "msg:",
            "tag:''",
            "logdata:",
            "setenv:''",
            "setuid:",
            "redirect:",
            "expirevar:''",
            "skipAfter:",
            "accuracy:x",
            "accuracy:''",
            "maturity:x",
            "initcol:IP=x",
            "initcol:session=x",
            "initcol:tx=x",
            "initcol:ip=",
            "setvar:foo.a=1",
            "setvar:env.a=1",
            "setvar:'tx .a=1'",
            "setvar:tx.a=",
            "setvar:'tx.a=+'",
            "skipAfter:a b",
            "skipAfter:'a b'",
            "setvar:tx.a==1",
            "setvar:'tx.a=1=2'",
            "proxy:http://x",
            "pause:10",
            "pause",
        ] {
            assert!(load(bad).is_err(), "{bad} loaded");
        }
        let e = load("pause:10").unwrap_err();
        assert!(e.message.contains("ModSecurity v2's"), "{}", e.message);
        // (at the value, or at its quote)
        assert_eq!(load("ver:x").unwrap_err().at, "id:1,ver:".len());
        assert_eq!(load("status:'403'").unwrap_err().at, "id:1,status:".len());
        assert_eq!(load("msg:''").unwrap_err().at, "id:1,msg:".len());
    }
}
