//! `parse(print(ast)) == ast`.
//!
//! (a) A property test over random ASTs that the parser could have produced: directive kinds and
//!     names, modifiers, ids and enums are generated directly; every part whose structure the
//!     parser derives from text (a `MacroString`'s segments, an operator's parsed argument) is
//!     obtained by parsing a tiny rule, so it is consistent with its raw text. Texts come from an
//!     alphabet rich in what SecLang quoting finds hard (blanks, `,`, `'`, `"`, `\`, `|`, `#`,
//!     `%{macros}`); only the cases `printer.rs` documents as not representable in SecLang are
//!     left out.
//! (b) Real rules: CRS 4.28 and Debian's CRS 3.3.4 (when present) are parsed, printed, parsed
//!     again, and must give the same directives.

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestCaseError};
use seclang_parser::names::{
    ActionName, ArgumentKind, CtlName, DirectiveName, OperatorName, Shape, TransformationName,
    VariableName,
};
use seclang_parser::printer::print;
use seclang_parser::*;
use sekisho_tests::shared_dir;
use std::path::{Path, PathBuf};

// --- helpers mirroring SecLang's lexical rules (see lexer.rs) ----------------------------------

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

/// Whether the character at byte `i` follows an odd number of backslashes.
fn escaped_at(s: &str, i: usize) -> bool {
    s.as_bytes()[..i]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count()
        % 2
        == 1
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Some `c` in `s` is not escaped by a backslash.
fn has_unescaped(s: &str, pred: impl Fn(char) -> bool) -> bool {
    s.char_indices().any(|(i, c)| pred(c) && !escaped_at(s, i))
}

/// A directive argument (raw token text) the lexer can produce: as a bare token, or between
/// double quotes (nothing is unescaped either way).
fn token_representable(t: &str) -> bool {
    let bare = !t.is_empty()
        && !t.starts_with(['"', '#'])
        && !has_unescaped(t, is_blank)
        && !t.ends_with('\\');
    let quoted = !has_unescaped(t, |c| c == '"') && !ends_with_odd_backslashes(t);
    bare || quoted
}

/// An action value that can be written `name:'v'` or `name:v` (as libmodsecurity v3 loads it:
/// `ctl`, `initcol` and `allow` bare only, `ver` quoted only). `last`: the last action of its
/// list (then a bare value cannot end in a backslash that would escape the list's closing `"`).
fn action_value_representable(v: &str, last: bool, name: ActionName) -> bool {
    let quoted = !has_unescaped(v, |c| c == '\'') && !ends_with_odd_backslashes(v);
    let bare = !v.contains(',')
        && !v.starts_with('\'')
        && !v.ends_with([' ', '\t'])
        && !has_unescaped(v, |c| c == '"')
        && (!last || !ends_with_odd_backslashes(v));
    match name {
        ActionName::Ctl | ActionName::InitCol | ActionName::Allow => bare,
        ActionName::Ver => quoted,
        _ => quoted || bare,
    }
}

/// The text a `setvar:` action carries.
fn setvar_text(s: &SetVar) -> String {
    let mut t = String::new();
    if s.operation == SetVarOperation::Delete {
        t.push('!');
    }
    t.push_str(&s.collection);
    t.push('.');
    t.push_str(&s.key.raw);
    match s.operation {
        SetVarOperation::Set => t.push('='),
        SetVarOperation::Add => t.push_str("=+"),
        SetVarOperation::Subtract => t.push_str("=-"),
        _ => {}
    }
    t.push_str(&s.value.raw);
    t
}

/// The text of an action's argument, as the action parser saw it (None: no argument).
fn action_text(a: &Action) -> Option<String> {
    Some(match &a.argument {
        ActionArgument::None => return None,
        ActionArgument::Text(m) => m.raw.to_string(),
        ActionArgument::Plain(p) => p.clone(),
        ActionArgument::SetVar(s) => setvar_text(s),
        ActionArgument::Ctl(c) => format!("{}={}", c.name, c.value),
        // numbers and names: always plain
        _ => return None,
    })
}

fn actions_representable(actions: &[Action]) -> bool {
    let n = actions.len();
    actions
        .iter()
        .enumerate()
        .all(|(i, a)| match action_text(a) {
            Some(t) => action_value_representable(&t, i + 1 == n, a.name),
            None => true,
        })
}

/// A key selector runs to the next unescaped `|`, `,`, blank or `"` (variables.rs `key_len`).
fn key_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => i += 2,
            b'|' | b',' | b' ' | b'\t' | b'"' => return i,
            _ => i += 1,
        }
    }
    b.len()
}

/// A regex selector the parser can produce: `/r/` bare, or `'/r/'`.
fn regex_representable(r: &str) -> bool {
    let slashed = format!("/{r}/");
    let bare =
        !r.is_empty() && !r.contains(['=', ' ', '\t', '"']) && key_len(&slashed) == slashed.len();
    let quoted = !r.contains("/'");
    bare || quoted
}

fn selector_text(v: &Variable) -> &str {
    match &v.selector {
        Some(Selector::Key(k)) | Some(Selector::Regex(k)) => k,
        None => "",
    }
}

/// A target list fits in one token: not both an unescaped blank (needs `"..."`) and an
/// unescaped `"` (cannot be inside `"..."`).
fn variables_representable(vars: &[Variable]) -> bool {
    let blank = vars
        .iter()
        .any(|v| has_unescaped(selector_text(v), is_blank));
    let quote = vars
        .iter()
        .any(|v| has_unescaped(selector_text(v), |c| c == '"'));
    !(blank && quote)
}

// --- building leaves by parsing ------------------------------------------------------------------

fn parse_kinds(text: &str) -> Result<Vec<DirectiveKind>, String> {
    let (directives, errors) = parse_str(text, FileId(0));
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| format!("{}:{}: {}", e.span.line, e.span.column, e.message))
            .collect::<Vec<_>>()
            .join("; "));
    }
    Ok(directives.into_iter().map(|d| d.kind).collect())
}

/// The operator of `SecRule ARGS <op_source>`.
fn parse_operator_source(op_source: &str) -> Option<Operator> {
    match parse_kinds(&format!("SecRule ARGS {op_source}\n"))
        .ok()?
        .pop()?
    {
        DirectiveKind::Rule(r) => Some(r.operator),
        _ => None,
    }
}

/// Writes an operator argument between double quotes (`"` → `\"`); None when it cannot be.
fn quote_operator_argument(arg: &str) -> Option<String> {
    // a `"` after an odd number of backslashes, or a trailing odd run, cannot be written
    let ok = arg
        .char_indices()
        .all(|(i, c)| c != '"' || !escaped_at(arg, i))
        && !ends_with_odd_backslashes(arg);
    ok.then(|| arg.replace('"', "\\\""))
}

/// A `MacroString` as the parser builds it from `raw` (via an operator argument, whose text
/// goes through the same macro parser as action values).
fn macro_string(raw: &str) -> Option<MacroString> {
    let q = quote_operator_argument(raw)?;
    let op = parse_operator_source(&format!("\"@streq {q}\""))?;
    (*op.argument.raw == *raw).then_some(op.argument)
}

// --- strategies ----------------------------------------------------------------------------------

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

/// Text from pieces that stress quoting, with macros.
fn text_with(pieces: &'static [&'static str], max: usize) -> BoxedStrategy<String> {
    prop::collection::vec(
        prop_oneof![
            3 => "[a-zA-Z0-9_./*-]{1,6}",
            2 => proptest::sample::select(pieces).prop_map(str::to_string),
        ],
        0..max,
    )
    .prop_map(|v| v.concat())
    .boxed()
}

const TEXT_PIECES: &[&str] = &[
    " ",
    "\t",
    ",",
    "'",
    "\"",
    "\\",
    "\\\\",
    "\\\"",
    "\\'",
    "|",
    ":",
    "=",
    ";",
    "#",
    "!",
    "@",
    "%",
    "}",
    "+",
    "-",
    "é",
    "%{tx.score}",
    "%{MATCHED_VAR}",
    "%{request_headers.host}",
    "%{ARGS:id}",
    "%{ tx.a }",
    "%{tx.}",
];

/// Text with macros (for `MacroString`s), as the parser reads it.
fn macro_text(max: usize) -> impl Strategy<Value = MacroString> {
    text_with(TEXT_PIECES, max).prop_filter_map("not a valid macro text", |raw| macro_string(&raw))
}

/// Raw directive-argument text the lexer can produce.
fn token_text(non_empty: bool) -> impl Strategy<Value = String> {
    text_with(TEXT_PIECES, 6).prop_filter("token not representable", move |t| {
        token_representable(t) && (!non_empty || !t.is_empty())
    })
}

fn variable() -> impl Strategy<Value = Variable> {
    let names: Vec<VariableName> = VariableName::ALL
        .iter()
        .copied()
        .filter(|v| *v != VariableName::WebserverErrorLog)
        .collect();
    let modifier = prop_oneof![
        3 => Just(VariableModifier::None),
        1 => Just(VariableModifier::Exclude),
        1 => Just(VariableModifier::Count),
    ];
    let key = text_with(
        &[
            "\\|", "\\ ", "\\\"", "\\,", "'", "=", "/", "*", "@", ":", "%{tx.a}", "é", "-", ".",
        ],
        4,
    )
    .prop_filter("key must be a key", |k| {
        // a key that looks like `/regex/` is read as a regex
        let regex_like = k.len() >= 3
            && k.starts_with('/')
            && k.ends_with('/')
            && !k.contains(['=', ' ', '\t', '"']);
        // (no `}`: libmodsecurity v3 loads none in an element name, nor a macro)
        !k.is_empty()
            && key_len(k) == k.len()
            && !k.starts_with("'/")
            && !regex_like
            && !k.contains('}')
    });
    let regex = text_with(
        &[
            "|", ",", " ", "=", "\"", "'", "/", "\\/", "\\|", "\\", "^", "$", "(a|b)", "[0-9]+",
            "\\d",
        ],
        4,
    )
    .prop_filter("regex not representable", |r| regex_representable(r));
    let selector = prop_oneof![
        2 => Just(None),
        3 => key.prop_map(|k| Some(Selector::Key(k))),
        2 => regex.prop_map(|r| Some(Selector::Regex(r))),
    ];
    (modifier, proptest::sample::select(names), selector).prop_map(|(modifier, name, selector)| {
        Variable {
            span: Span::default(),
            modifier,
            name,
            selector: if name.is_collection() { selector } else { None },
        }
    })
}

fn variables(max: usize) -> impl Strategy<Value = Vec<Variable>> {
    prop::collection::vec(variable(), 1..=max)
        .prop_filter("targets not representable", |v| variables_representable(v))
}

/// An operator, as the parser reads `"[!]@name argument"` (or a bare implicit `@rx`).
fn operator() -> impl Strategy<Value = Operator> {
    use OperatorName::*;
    let numeric = prop_oneof![
        any::<i32>().prop_map(|n| n.to_string()),
        Just("%{tx.inbound_anomaly_score_threshold}".to_string()),
        Just("70.5".to_string()),
        Just(" 5 ".to_string()),
        Just("".to_string()),
    ];
    let phrases = prop::collection::vec("[a-z<>;'\"(]{1,5}", 1..4).prop_map(|v| v.join(" "));
    let files = prop::collection::vec("[a-z]{1,6}\\.data", 1..3).prop_map(|v| v.join(" "));
    let addresses = prop::collection::vec(
        prop_oneof![
            Just("10.0.0.0/8"),
            Just("192.168.1.1"),
            Just("::1"),
            Just("2001:db8::/32")
        ],
        1..4,
    )
    .prop_map(|v| v.join(","));
    let ranges = prop::collection::vec(
        (0u8..=255, 0u8..=255, any::<bool>()).prop_map(|(a, b, single)| {
            let (a, b) = (a.min(b), a.max(b));
            if single {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        }),
        1..4,
    )
    .prop_map(|v| v.join(", "));
    let text = text_with(TEXT_PIECES, 6);
    let named = prop_oneof![
        (pick(&[Eq, Ge, Gt, Le, Lt]), numeric),
        (Just(Pm), phrases),
        (pick(&[PmFromFile, IpMatchFromFile]), files),
        (Just(IpMatch), addresses),
        (Just(ValidateByteRange), ranges),
        (
            pick(&[
                DetectSqli,
                DetectXss,
                GeoLookup,
                NoMatch,
                UnconditionalMatch,
                ValidateUrlEncoding,
                ValidateUtf8Encoding
            ]),
            prop_oneof![3 => Just(String::new()), 1 => "[a-z]{1,4}"]
        ),
        (
            pick(&[
                Rx,
                RxGlobal,
                StrEq,
                StrMatch,
                Contains,
                ContainsWord,
                BeginsWith,
                EndsWith,
                Within,
                Rsub,
                Rbl,
                FuzzyHash,
                InspectFile,
                ValidateHash,
                ValidateDtd,
                ValidateSchema,
                VerifyCc,
                VerifyCpf,
                VerifySsn,
                VerifySvnr,
                GsbLookup
            ]),
            text.clone()
        ),
    ];
    let quoted = (any::<bool>(), named).prop_filter_map(
        "operator not writable",
        |(negated, (name, arg))| {
            let q = quote_operator_argument(&arg)?;
            let neg = if negated { "!" } else { "" };
            let sep = if arg.is_empty() { "" } else { " " };
            parse_operator_source(&format!("\"{neg}@{name}{sep}{q}\""))
        },
    );
    // `SecRule ARGS a\"b`: a bare implicit @rx keeps `\"` as it is
    let bare =
        (any::<bool>(), text).prop_filter_map("bare operator not writable", |(negated, t)| {
            let ok = !t.is_empty()
                && !t.starts_with(['@', '!', '"', '#'])
                && !has_unescaped(&t, is_blank)
                && !t.ends_with('\\');
            if !ok {
                return None;
            }
            parse_operator_source(&format!("{}{t}", if negated { "!" } else { "" }))
        });
    prop_oneof![5 => quoted, 1 => bare]
}

fn action_of(name: ActionName, argument: ActionArgument) -> Action {
    Action {
        span: Span::default(),
        name,
        argument,
    }
}

fn no_argument_actions() -> Vec<ActionName> {
    ActionName::ALL
        .iter()
        .copied()
        .filter(|a| a.argument() == ArgumentKind::None)
        .collect()
}

fn setvar() -> impl Strategy<Value = ActionArgument> {
    // (the collections libmodsecurity v3 loads, in any case)
    let collection =
        pick(&["tx", "TX", "ip", "Session", "user", "global", "RESOURCE"]).prop_map(str::to_string);
    let key = text_with(
        &[
            "%{tx.a}",
            "%{MATCHED_VAR_NAME}",
            "-",
            ".",
            "'",
            " ",
            ",",
            "\\",
        ],
        3,
    )
    .prop_filter_map("bad setvar key", |k| {
        if k.is_empty() || k.contains('=') {
            return None;
        }
        macro_string(&k)
    });
    let op = pick(&[
        SetVarOperation::Set,
        SetVarOperation::Add,
        SetVarOperation::Subtract,
        SetVarOperation::Delete,
        SetVarOperation::Create,
    ]);
    (collection, key, op, macro_text(4)).prop_filter_map(
        "setvar value",
        |(collection, key, operation, value)| {
            let value = match operation {
                SetVarOperation::Delete | SetVarOperation::Create => MacroString::default(),
                // `=+x` would be read as an addition
                SetVarOperation::Set if value.raw.starts_with(['+', '-']) => return None,
                // (v3 loads no empty value after `=`, and no `=` in it)
                _ if value.raw.is_empty() || value.raw.contains('=') => return None,
                _ => value,
            };
            Some(ActionArgument::SetVar(SetVar {
                collection,
                key,
                operation,
                value,
            }))
        },
    )
}

/// Values of each `ctl` that libmodsecurity v3 loads (the parser takes no others).
const CTL_VALUES: &[(CtlName, &[&str])] = &[
    (CtlName::RuleEngine, &["On", "off", "DetectionOnly"]),
    (CtlName::AuditEngine, &["On", "Off", "relevantOnly"]),
    (CtlName::RequestBodyAccess, &["On", "Off"]),
    (CtlName::ForceRequestBodyVariable, &["on", "Off"]),
    (
        CtlName::RequestBodyProcessor,
        &["JSON", "XML", "urlencoded"],
    ),
    (CtlName::AuditLogParts, &["+E", "-HIJ", "|ABCDEFGHJKIZ"]),
    (CtlName::RuleRemoveById, &["942100", "920100-920199"]),
    (
        CtlName::RuleRemoveByTag,
        &["attack-sqli", "OWASP_CRS/WEB_ATTACK", "a$b[c]*:d;e"],
    ),
];

fn ctl() -> impl Strategy<Value = ActionArgument> {
    let names: Vec<VariableName> = VariableName::ALL
        .iter()
        .copied()
        .filter(|v| *v != VariableName::WebserverErrorLog)
        .collect();
    // one target, its key of the characters a removal's value may hold
    let target_ctl = (
        pick(&[
            CtlName::RuleRemoveTargetById,
            CtlName::RuleRemoveTargetByTag,
        ]),
        "[0-9]{1,6}(-[0-9]{1,3})?",
        proptest::sample::select(names),
        proptest::option::of("[0-9A-Za-z_.-]{1,6}"),
    )
        .prop_map(|(name, which, variable, key)| {
            let target = Variable {
                span: Span::default(),
                modifier: VariableModifier::None,
                name: variable,
                selector: key.filter(|_| variable.is_collection()).map(Selector::Key),
            };
            let mut text = String::new();
            seclang_parser::printer::print_variables(std::slice::from_ref(&target), &mut text);
            ActionArgument::Ctl(Ctl {
                name,
                value: format!("{which};{text}"),
                targets: vec![target],
            })
        });
    let plain_ctl = proptest::sample::select(CTL_VALUES).prop_flat_map(|(name, values)| {
        pick(values).prop_map(move |value| {
            ActionArgument::Ctl(Ctl {
                name,
                value: value.to_string(),
                targets: Vec::new(),
            })
        })
    });
    prop_oneof![1 => target_ctl, 3 => plain_ctl]
}

/// Every `ctl` option has values in [`ctl`]'s strategy.
#[test]
fn every_ctl_is_generated() {
    for name in CtlName::ALL {
        let covered = CTL_VALUES.iter().any(|(n, _)| n == name)
            || matches!(
                name,
                CtlName::RuleRemoveTargetById | CtlName::RuleRemoveTargetByTag
            );
        assert!(covered, "{name}");
    }
}

fn action() -> impl Strategy<Value = Action> {
    use ActionName::*;
    let text_names = [
        Msg,
        LogData,
        Tag,
        Redirect,
        SetEnv,
        SetRsc,
        SetSid,
        SetUid,
        ExpireVar,
        DeprecateVar,
        Append,
        Prepend,
    ];
    let plain_names = [
        Rev,
        Ver,
        SanitiseArg,
        SanitiseRequestHeader,
        SanitiseResponseHeader,
        SanitiseMatchedBytes,
    ];
    prop_oneof![
        3 => any::<u64>().prop_map(|n| action_of(Id, ActionArgument::Id(n))),
        2 => (0u8..=5).prop_map(|p| action_of(Phase, ActionArgument::Phase(p))),
        2 => any::<u8>().prop_map(|s| action_of(Severity, ActionArgument::Severity(s))),
        1 => (pick(&[Skip, Status]), any::<u64>())
            .prop_map(|(a, n)| action_of(a, ActionArgument::Number(n))),
        3 => pick(TransformationName::ALL)
            .prop_map(|t| action_of(T, ActionArgument::Transformation(t))),
        2 => ctl().prop_map(|c| action_of(Ctl, c)),
        3 => setvar().prop_map(|s| action_of(SetVar, s)),
        // (no empty values: libmodsecurity v3 does not load them)
        4 => (proptest::sample::select(text_names.to_vec()), macro_text(6))
            .prop_filter("empty value", |(_, m)| !m.raw.is_empty())
            .prop_map(|(a, m)| action_of(a, ActionArgument::Text(m))),
        1 => (pick(&["ip", "global", "resource"]), macro_text(3)).prop_filter_map("initcol", |(c, k)| {
            macro_string(&format!("{c}={}", k.raw))
                .filter(|_| !k.raw.is_empty())
                .map(|m| action_of(InitCol, ActionArgument::Text(m)))
        }),
        2 => (proptest::sample::select(plain_names.to_vec()), text_with(TEXT_PIECES, 4))
            .prop_filter("empty value", |(_, t)| !t.is_empty())
            .prop_map(|(a, t)| action_of(a, ActionArgument::Plain(t))),
        1 => (pick(&[Accuracy, Maturity]), "[0-9]{1,3}[a-z ]{0,2}")
            .prop_map(|(a, t)| action_of(a, ActionArgument::Plain(t))),
        1 => "[A-Za-z0-9_./:%{}-]{1,12}"
            .prop_map(|t| action_of(SkipAfter, ActionArgument::Plain(t))),
        1 => Just(action_of(SanitiseMatchedBytes, ActionArgument::None)),
        1 => prop_oneof![
            Just(action_of(Allow, ActionArgument::None)),
            pick(&["request", "phase", "REQUEST", "Phase"])
                .prop_map(|v| action_of(Allow, ActionArgument::Plain(v.to_string()))),
        ],
        1 => ("[a-z]{1,4}", "http[a-z:/.]{0,10}", any::<bool>()).prop_map(|(p, h, q)| {
            let v = if q { format!("{p}='{h}'") } else { format!("{p}={h}") };
            action_of(Xmlns, ActionArgument::Plain(v))
        }),
        1 => "[a-z/]{1,8}\\.lua".prop_map(|s| action_of(Exec, ActionArgument::Plain(s))),
        4 => proptest::sample::select(no_argument_actions())
            .prop_map(|a| action_of(a, ActionArgument::None)),
    ]
}

fn actions(min: usize, max: usize) -> impl Strategy<Value = Vec<Action>> {
    prop::collection::vec(action(), min..=max).prop_filter("action values not representable", |a| {
        actions_representable(a)
    })
}

/// `SecDefaultAction`: no id/chain/rev/ver/accuracy/maturity/t:none, and a disruptive action.
fn default_actions() -> impl Strategy<Value = Vec<Action>> {
    (
        actions(0, 5),
        pick(&[ActionName::Pass, ActionName::Deny, ActionName::Drop]),
        0usize..6,
    )
        .prop_map(|(mut list, disruptive, at)| {
            list.retain(|a| {
                !matches!(
                    a.name,
                    ActionName::Id
                        | ActionName::Chain
                        | ActionName::Rev
                        | ActionName::Ver
                        | ActionName::Accuracy
                        | ActionName::Maturity
                ) && a.argument != ActionArgument::Transformation(TransformationName::None)
            });
            let at = at.min(list.len());
            list.insert(at, action_of(disruptive, ActionArgument::None));
            list
        })
        .prop_filter("action values not representable", |a| {
            actions_representable(a)
        })
}

fn id_range() -> impl Strategy<Value = IdRange> {
    prop_oneof![
        any::<u64>().prop_map(IdRange::single),
        (0u64..10_000_000, 0u64..1000).prop_map(|(s, n)| IdRange {
            start: s,
            end: s + n
        }),
    ]
}

fn config_directive() -> impl Strategy<Value = DirectiveKind> {
    let names: Vec<DirectiveName> = DirectiveName::ALL
        .iter()
        .copied()
        .filter(|d| d.shape().is_some())
        .collect();
    let plain = proptest::sample::select(names).prop_flat_map(|name| {
        let args: BoxedStrategy<Vec<String>> = match name.shape().unwrap() {
            Shape::Nothing => Just(Vec::new()).boxed(),
            Shape::Number => "[0-9]{1,9}".prop_map(|n| vec![n]).boxed(),
            Shape::OneOf(words) => (proptest::sample::select(words), any::<bool>())
                .prop_map(|(w, lower)| {
                    vec![if lower {
                        w.to_lowercase()
                    } else {
                        w.to_string()
                    }]
                })
                .boxed(),
            // (the values libmodsecurity v3 checks: part letters, one character)
            Shape::Text if name == DirectiveName::SecAuditLogParts => {
                "[ABCDEFGHJKIZ]{1,6}".prop_map(|t| vec![t]).boxed()
            }
            Shape::Text if name == DirectiveName::SecArgumentSeparator => {
                "[&;:|]".prop_map(|t| vec![t]).boxed()
            }
            // (modes in digits; an application id is the rest of its line)
            Shape::Text
                if matches!(
                    name,
                    DirectiveName::SecAuditLogDirMode
                        | DirectiveName::SecAuditLogFileMode
                        | DirectiveName::SecUploadFileMode
                ) =>
            {
                "[0-7]{1,4}".prop_map(|t| vec![t]).boxed()
            }
            Shape::Text if name == DirectiveName::SecWebAppId => {
                "[a-z0-9_'#-]{1,4}( [a-z0-9_'#-]{1,4}){0,2}"
                    .prop_map(|t| vec![t])
                    .boxed()
            }
            // (types bare only)
            Shape::Words if name == DirectiveName::SecResponseBodyMimeType => {
                prop::collection::vec("[a-z0-9/+.;=-]{1,12}", 1..4).boxed()
            }
            Shape::Text => token_text(false).prop_map(|t| vec![t]).boxed(),
            Shape::Words => prop::collection::vec(token_text(false), 1..4).boxed(),
        };
        args.prop_map(move |args| DirectiveKind::Config { name, args })
    });
    let unicode =
        (token_text(false), "[0-9]{1,5}").prop_map(|(path, page)| DirectiveKind::Config {
            name: DirectiveName::SecUnicodeMapFile,
            args: vec![path, page],
        });
    prop_oneof![8 => plain, 1 => unicode]
}

fn directive() -> impl Strategy<Value = DirectiveKind> {
    prop_oneof![
        10 => (variables(4), operator(), actions(0, 7)).prop_map(|(variables, operator, actions)| {
            DirectiveKind::Rule(Rule { variables, operator, actions })
        }),
        3 => actions(0, 6).prop_map(DirectiveKind::Action),
        2 => default_actions().prop_map(DirectiveKind::DefaultAction),
        // (a marker is one word without a comma or a double quote)
        2 => token_text(true)
            .prop_filter("a marker name", |m| !m.contains(|c: char| c == ',' || c == '"' || c.is_whitespace()))
            .prop_map(DirectiveKind::Marker),
        1 => (token_text(false), actions(0, 3))
            .prop_map(|(path, actions)| DirectiveKind::RuleScript { path, actions }),
        1 => (token_text(false), any::<bool>())
            .prop_map(|(path, optional)| DirectiveKind::Include { path, optional }),
        2 => prop::collection::vec(id_range(), 1..4).prop_map(DirectiveKind::RemoveById),
        1 => token_text(false).prop_map(DirectiveKind::RemoveByTag),
        1 => token_text(false).prop_map(DirectiveKind::RemoveByMsg),
        2 => (prop::collection::vec(id_range(), 1..3), variables(3))
            .prop_map(|(ids, variables)| DirectiveKind::UpdateTargetById { ids, variables }),
        1 => (token_text(false), variables(3))
            .prop_map(|(tag, variables)| DirectiveKind::UpdateTargetByTag { tag, variables }),
        1 => (token_text(false), variables(3))
            .prop_map(|(msg, variables)| DirectiveKind::UpdateTargetByMsg { msg, variables }),
        2 => (any::<u64>(), proptest::option::of(any::<u32>()), actions(0, 4))
            .prop_map(|(id, offset, actions)| DirectiveKind::UpdateActionById { id, offset, actions }),
        // (written in double quotes, as libmodsecurity v3 loads it only so)
        1 => token_text(false)
            .prop_filter("quoted", |t| !has_unescaped(t, |c| c == '"') && !ends_with_odd_backslashes(t))
            .prop_map(DirectiveKind::ComponentSignature),
        4 => config_directive(),
    ]
}

fn wrap(kinds: &[DirectiveKind]) -> Vec<Directive> {
    kinds
        .iter()
        .map(|kind| Directive {
            span: Span::default(),
            kind: kind.clone(),
        })
        .collect()
}

fn check_roundtrip(kinds: &[DirectiveKind]) -> Result<(), TestCaseError> {
    let text = print(&wrap(kinds));
    let (parsed, errors) = parse_str(&text, FileId(0));
    prop_assert!(
        errors.is_empty(),
        "printed text does not parse:\n{text}\nerrors: {:?}",
        errors
            .iter()
            .map(|e| format!("{}:{}: {}", e.span.line, e.span.column, e.message))
            .collect::<Vec<_>>()
    );
    let got: Vec<DirectiveKind> = parsed.into_iter().map(|d| d.kind).collect();
    prop_assert_eq!(got.len(), kinds.len(), "directive count; text:\n{}", text);
    for (i, (g, k)) in got.iter().zip(kinds).enumerate() {
        prop_assert_eq!(
            g,
            k,
            "directive {} differs; printed as:\n{}",
            i,
            text.lines().nth(i).unwrap_or("")
        );
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(PtConfig {
        cases: cases(),
        max_global_rejects: 100_000,
        max_local_rejects: 1_000_000,
        failure_persistence: None,
        ..PtConfig::default()
    })]

    #[test]
    fn print_then_parse_is_identity(kinds in prop::collection::vec(directive(), 1..8)) {
        check_roundtrip(&kinds)?;
    }
}

// --- fixed cases: corners the printer has to get right -----------------------------------------

/// Parses `src`, then checks print → parse gives the same directives.
fn roundtrip_source(src: &str) -> Result<(), String> {
    let kinds = parse_kinds(src).map_err(|e| format!("{src:?} does not parse: {e}"))?;
    let text = print(&wrap(&kinds));
    let again = parse_kinds(&text)
        .map_err(|e| format!("{src:?} printed as {text:?}, which does not parse: {e}"))?;
    if again != kinds {
        return Err(format!(
            "{src:?} printed as {text:?}, read back as {again:?}"
        ));
    }
    Ok(())
}

#[test]
fn corner_cases_round_trip() {
    let mut failures = Vec::new();
    for src in [
        // severity numbers beyond DEBUG load in libmodsecurity and must stay numbers
        r#"SecRule ARGS "@rx a" "id:1,severity:9,severity:2,severity:'WARNING'""#,
        // raw token texts keep their backslashes: `\"` in a quoted argument stays `\"`
        r#"SecComponentSignature "a \"b\" c""#,
        r#"SecDebugLog a"b"#,
        r#"SecRuleRemoveByMsg "x\"y""#,
        r#"SecRuleScript "/p/a b.lua""#,
        r#"SecRuleUpdateTargetByTag "a\"b" ARGS"#,
        // an unescaped `"` in a regex selector: only a bare target list can hold it
        r#"SecRuleUpdateTargetById 1 ARGS:'/a"b/'"#,
        r#"SecRule ARGS:'/a"b/' "@rx x" "id:1""#,
        // a blank in a regex selector: only a quoted target list can hold it
        r#"SecRule "ARGS:'/a b/'" "@rx x" "id:1""#,
        // empty regex selector
        "SecRule ARGS:'//' \"@rx x\" \"id:1\"",
        // bare implicit @rx keeps `\"` as written
        r#"SecRule ARGS a\"b "id:1""#,
        r#"SecRule ARGS !a\"b "id:1""#,
        // values with `'`: bare; with `,`: quoted
        r#"SecAction "id:1,msg:it's,setvar:tx.a=it's,tag:1;x'y""#,
        r#"SecAction "id:1,msg:'a, b',setvar:'tx.a=1,2',tag:'1;ARGS:a\,b'""#,
        // a value ending in a backslash: bare, and not last
        r#"SecAction "id:1,tag:1;ARGS:a\,pass""#,
        r#"SecAction "id:1,msg:a\,pass""#,
        // empty action lists (an empty value does not load, as in libmodsecurity v3)
        r#"SecAction """#,
        r#"SecRule ARGS "@rx a" """#,
        // an operator without an argument (an empty one does not load, as in v3)
        r#"SecRule ARGS "@detectSQLi" "id:1""#,
    ] {
        if let Err(e) = roundtrip_source(src) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} corner cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// --- (b) real rule sets ---------------------------------------------------------------------------

fn conf_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file());
    v.sort();
    v
}

/// Parses each file, prints it, parses the print: same directives. Returns the number of
/// directives checked; every difference is listed in the panic message.
fn roundtrip_files(files: &[PathBuf]) -> usize {
    let mut diffs = Vec::new();
    let mut checked = 0;
    for f in files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let (directives, errors) = parse_str(&text, FileId(0));
        assert!(
            errors.is_empty(),
            "{}: {} parse errors",
            f.display(),
            errors.len()
        );
        for d in &directives {
            let printed = print(std::slice::from_ref(d));
            let (again, errors) = parse_str(&printed, FileId(0));
            checked += 1;
            let same = errors.is_empty() && again.len() == 1 && again[0].kind == d.kind;
            if !same {
                diffs.push(format!(
                    "{}:{}: printed as\n    {}\n  errors: {:?}\n  before: {:?}\n  after:  {:?}",
                    f.display(),
                    d.span.line,
                    printed.trim_end(),
                    errors.iter().map(|e| &e.message).collect::<Vec<_>>(),
                    d.kind,
                    again.first().map(|d| &d.kind)
                ));
            }
        }
        // the whole file at once as well
        let printed = print(&directives);
        let (again, errors) = parse_str(&printed, FileId(0));
        if errors.is_empty() {
            let a: Vec<&DirectiveKind> = again.iter().map(|d| &d.kind).collect();
            let b: Vec<&DirectiveKind> = directives.iter().map(|d| &d.kind).collect();
            if a != b {
                diffs.push(format!("{}: whole-file round trip differs", f.display()));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} round-trip differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    checked
}

#[test]
fn crs_4_28_round_trips() {
    let Some(root) = shared_dir()
        .map(|d| d.join("crs/v4.28.0"))
        .filter(|d| d.is_dir())
    else {
        if std::env::var_os("CI").is_some() {
            panic!("CRS 4.28 missing (put it at ../shared/crs/v4.28.0 or set SEKISHO_SHARED)");
        }
        eprintln!(
            "crs_4_28_round_trips: not run: CRS 4.28 not found under the shared data directory"
        );
        return;
    };
    let mut files = vec![root.join("crs-setup.conf.example")];
    files.extend(conf_files(&root.join("rules")));
    let n = roundtrip_files(&files);
    eprintln!(
        "crs_4_28_round_trips: {} files, {n} directives round-trip",
        files.len()
    );
    assert!(n >= 794, "expected all of CRS 4.28's directives, got {n}");
}

#[test]
fn debian_crs_3_3_4_round_trips() {
    let rules = Path::new("/usr/share/modsecurity-crs/rules");
    if !rules.is_dir() {
        if std::env::var_os("CI").is_some() {
            panic!("Debian CRS 3.3.4 missing: apt-get install -y modsecurity-crs");
        }
        eprintln!(
            "debian_crs_3_3_4_round_trips: not run: {} not found",
            rules.display()
        );
        return;
    }
    let mut files: Vec<PathBuf> = [
        "/etc/modsecurity/crs/crs-setup.conf",
        "/etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf",
        "/etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf",
        "/usr/share/modsecurity-crs/owasp-crs.load",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|p| p.is_file())
    .collect();
    files.extend(conf_files(rules));
    let n = roundtrip_files(&files);
    eprintln!(
        "debian_crs_3_3_4_round_trips: {} files, {n} directives round-trip",
        files.len()
    );
}
