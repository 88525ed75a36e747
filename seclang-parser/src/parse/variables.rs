//! Target lists: `ARGS|!ARGS:foo|&TX:count|REQUEST_HEADERS:/^x-/|XML:/*`.
//!
//! As in libmodsecurity: targets are separated by `|` (or `,`); `!` excludes, `&` counts; a
//! collection takes `:key` or `.key`; `/regex/` (no blanks, `=` or `|` inside) or `'/regex/'`
//! (which may hold `|`) selects by regex; anything else up to the next separator is a key.

use super::{word, PResult, Problem};
use crate::ast::{Selector, Variable, VariableModifier};
use crate::names::VariableName;
use crate::span::Span;
use nom::bytes::complete::take_while1;
use nom::IResult;

fn name(input: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_')(input)
}

/// Parses a target list. Spans are left at their default; the caller fills them in from the
/// offsets returned beside each variable.
pub(crate) fn parse_variables(text: &str) -> PResult<Vec<(usize, Variable)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    let b = text.as_bytes();
    if text.is_empty() {
        return Err(Problem::new(0, "expected a variable", ""));
    }
    loop {
        let start = pos;
        let modifier = match b.get(pos) {
            Some(b'!') => {
                pos += 1;
                VariableModifier::Exclude
            }
            Some(b'&') => {
                pos += 1;
                VariableModifier::Count
            }
            _ => VariableModifier::None,
        };
        let rest = &text[pos..];
        let (after, n) =
            name(rest).map_err(|_| Problem::new(pos, "expected a variable", word(rest)))?;
        let variable = VariableName::from_name(n)
            .ok_or_else(|| Problem::new(pos, format!("unknown variable '{n}'"), n))?;
        if variable == VariableName::WebserverErrorLog {
            return Err(Problem::new(
                pos,
                "variable WEBSERVER_ERROR_LOG is not supported by libmodsecurity v3",
                n,
            ));
        }
        pos += n.len();
        let mut selector = None;
        if after.starts_with(':') || after.starts_with('.') {
            if !variable.is_collection() {
                return Err(Problem::new(
                    pos,
                    format!(
                        "variable '{}' is not a collection and takes no selector",
                        variable
                    ),
                    word(&text[start..]),
                ));
            }
            pos += 1;
            let (len, sel) = selector_at(&text[pos..]).map_err(|p| p.shift(pos))?;
            pos += len;
            selector = Some(sel);
        }
        out.push((
            start,
            Variable {
                span: Span::default(),
                modifier,
                name: variable,
                selector,
            },
        ));
        match b.get(pos) {
            None => return Ok(out),
            Some(b'|') | Some(b',') => {
                pos += 1;
                if pos == b.len() {
                    return Err(Problem::new(
                        pos - 1,
                        "expected a variable after the separator",
                        "",
                    ));
                }
            }
            Some(_) => {
                return Err(Problem::new(
                    pos,
                    "unexpected text in the variable list",
                    word(&text[pos..]),
                ))
            }
        }
    }
}

/// Reads a selector at the start of `s`; returns its length in `s`.
fn selector_at(s: &str) -> PResult<(usize, Selector)> {
    // '/regex/' may contain '|'
    if let Some(inner) = s.strip_prefix("'/") {
        if let Some(end) = inner.find("/'") {
            return Ok((end + 4, Selector::Regex(inner[..end].to_string())));
        }
        return Err(Problem::new(0, "unterminated '/regex/' selector", s));
    }
    let len = key_len(s);
    let key = &s[..len];
    if key.is_empty() {
        return Err(Problem::new(0, "empty selector after ':'", word(s)));
    }
    if key.len() >= 3
        && key.starts_with('/')
        && key.ends_with('/')
        && !key.contains(['=', ' ', '\t', '"'])
    {
        return Ok((len, Selector::Regex(key[1..key.len() - 1].to_string())));
    }
    // (libmodsecurity v3's lexer ends an element name before a `}`, and the rule does not
    // load: nor does a macro there, `TX:%{tx.name}`)
    if let Some(at) = key.find('}') {
        return Err(Problem::new(
            at,
            "'}' is not allowed in an element name (libmodsecurity v3 does not load it, nor a \
             macro there)",
            &key[at..],
        ));
    }
    Ok((len, Selector::Key(key.to_string())))
}

/// A key runs to the next unescaped `|`, `,` or blank (`\"` may appear inside).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(s: &str) -> Vec<(VariableModifier, VariableName, Option<Selector>)> {
        parse_variables(s)
            .unwrap()
            .into_iter()
            .map(|(_, v)| (v.modifier, v.name, v.selector))
            .collect()
    }

    #[test]
    fn collections_keys_regexes() {
        use VariableName::*;
        let got = vars("ARGS|!ARGS:foo|&TX:a|REQUEST_HEADERS:/^x-/|XML:/*|xml://@*,tx.b");
        assert_eq!(
            got,
            vec![
                (VariableModifier::None, Args, None),
                (
                    VariableModifier::Exclude,
                    Args,
                    Some(Selector::Key("foo".into()))
                ),
                (VariableModifier::Count, Tx, Some(Selector::Key("a".into()))),
                (
                    VariableModifier::None,
                    RequestHeaders,
                    Some(Selector::Regex("^x-".into()))
                ),
                (
                    VariableModifier::None,
                    Xml,
                    Some(Selector::Key("/*".into()))
                ),
                (
                    VariableModifier::None,
                    Xml,
                    Some(Selector::Key("//@*".into()))
                ),
                (VariableModifier::None, Tx, Some(Selector::Key("b".into()))),
            ]
        );
        assert_eq!(
            vars("ARGS:'/a|b/'"),
            vec![(
                VariableModifier::None,
                Args,
                Some(Selector::Regex("a|b".into()))
            )]
        );
    }

    #[test]
    fn errors() {
        let e = parse_variables("ARGS|FOO").unwrap_err();
        assert_eq!((e.at, e.message.as_str()), (5, "unknown variable 'FOO'"));
        let e = parse_variables("REQUEST_URI:x").unwrap_err();
        assert_eq!(e.at, 11);
        let e = parse_variables("ARGS|").unwrap_err();
        assert_eq!(e.at, 4);
        let e = parse_variables("ARGS:").unwrap_err();
        assert_eq!(e.at, 5);
    }

    /// An element name holds no `}` (libmodsecurity 3.0.15: "Expecting a variable"), so no
    /// macro either; `=` and a lone `%{` load, as there, and a `/regex/` may hold a `}`.
    #[test]
    fn an_element_name_holds_no_brace() {
        for bad in [
            "TX:%{tx.a}",
            "ARGS:a}",
            "ARGS:a%{tx.a}b",
            "ARGS|!ARGS:%{tx.a}",
            "XML:/a}",
        ] {
            let e = parse_variables(bad).unwrap_err();
            assert_eq!(e.at, bad.find('}').unwrap(), "{bad}: {}", e.message);
        }
        for ok in ["ARGS:a=b", "ARGS:%{", "ARGS:/a}/", "XML:/a[@b='c']"] {
            assert!(parse_variables(ok).is_ok(), "{ok}");
        }
    }
}
