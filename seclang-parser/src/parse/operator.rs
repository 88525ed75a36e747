//! The operator argument of `SecRule`: `"@rx ..."`, `"!@eq 0"`, `"@detectSQLi"`, or a bare
//! pattern (an implicit `@rx`).

use super::macros::parse_macro_string;
use super::{number, PResult, Problem};
use crate::ast::{Operator, OperatorArgument};
use crate::names::OperatorName;
use crate::span::Span;

/// Parses an operator. `quoted`: whether it was written in double quotes (then, and only then,
/// `\"` is unescaped, as libmodsecurity does).
pub(crate) fn parse_operator(
    text: &str,
    quoted: bool,
    warnings: &mut Vec<Problem>,
) -> PResult<Operator> {
    let mut pos = 0;
    let negated = text.starts_with('!');
    if negated {
        pos += 1;
    }
    let rest = &text[pos..];
    let (name, arg_at) = if let Some(after_at) = rest.strip_prefix('@') {
        let len = after_at
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after_at.len());
        let n = &after_at[..len];
        let name = OperatorName::from_name(n).ok_or_else(|| {
            Problem::new(pos, format!("unknown operator '@{n}'"), &rest[..len + 1])
        })?;
        let after = &after_at[len..];
        let arg_at = pos + 1 + len;
        if after.is_empty() {
            if !name.takes_no_argument() {
                return Err(Problem::new(
                    pos,
                    format!("operator '@{}' needs an argument", name),
                    rest,
                ));
            }
            (name, arg_at)
        } else if after.starts_with([' ', '\t']) {
            (name, arg_at + 1)
        } else {
            let bad = &rest[..rest.find([' ', '\t']).unwrap_or(rest.len())];
            return Err(Problem::new(pos, format!("unknown operator '{bad}'"), bad));
        }
    } else {
        (OperatorName::Rx, pos)
    };
    let raw = &text[arg_at..];
    // (libmodsecurity v3 loads no empty argument: `"@rx "`, `"@pm "`, `""`, `"!"`; a blank
    // one, `"@rx  "` or `" "`, it does)
    if raw.is_empty() && !name.takes_no_argument() {
        return Err(Problem::new(
            pos,
            match text[pos..].starts_with('@') {
                true => format!("operator '@{name}' needs an argument"),
                false => "expected an operator or a regex".to_string(),
            },
            rest,
        ));
    }
    let argument_text = if quoted && raw.contains("\\\"") {
        raw.replace("\\\"", "\"")
    } else {
        raw.to_string()
    };
    let argument = parse_macro_string(&argument_text).map_err(|p| p.shift(arg_at))?;
    // An argument libmodsecurity reads at load is its text with each macro as nothing; a
    // problem in it is reported at the argument's start (its offsets are not the text's).
    let parsed = if name.reads_argument_at_load() && argument.has_macros() {
        structure(name, &argument.load_time_text(), true, warnings, arg_at)
            .map_err(|p| Problem { at: 0, ..p }.shift(arg_at))?
    } else {
        structure(
            name,
            &argument_text,
            argument.has_macros(),
            warnings,
            arg_at,
        )
        .map_err(|p| p.shift(arg_at))?
    };
    Ok(Operator {
        span: Span::default(),
        negated,
        name,
        argument,
        parsed,
    })
}

/// The structure of an operator's argument, for the operators that have one.
fn structure(
    name: OperatorName,
    arg: &str,
    has_macros: bool,
    warnings: &mut Vec<Problem>,
    arg_at: usize,
) -> PResult<OperatorArgument> {
    use OperatorName::*;
    Ok(match name {
        Eq | Ge | Gt | Le | Lt => {
            if has_macros {
                OperatorArgument::Integer(None)
            } else {
                let (v, clean) = atoi(arg);
                if !clean {
                    warnings.push(Problem::new(
                        arg_at,
                        format!("operator '@{name}': '{arg}' is not an integer; read as {v}, as libmodsecurity does"),
                        arg,
                    ));
                }
                OperatorArgument::Integer(Some(v))
            }
        }
        Pm => OperatorArgument::Phrases(arg.split_whitespace().map(str::to_string).collect()),
        PmFromFile | IpMatchFromFile => {
            let files: Vec<String> = arg.split_whitespace().map(str::to_string).collect();
            // (an argument of macros alone is no file: libmodsecurity opens the rule file's
            // directory, which reads as nothing)
            if files.is_empty() && !has_macros {
                return Err(Problem::new(
                    0,
                    format!("operator '@{name}' needs a file name"),
                    arg,
                ));
            }
            OperatorArgument::Files(files)
        }
        IpMatch => OperatorArgument::Addresses(
            arg.split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        ValidateByteRange => OperatorArgument::ByteRanges(byte_ranges(arg)?),
        _ => OperatorArgument::Text,
    })
}

/// C's `atoi`, which libmodsecurity's numeric operators use: leading blanks, a sign, digits, and
/// the rest ignored (`"70.5"` is 70, `"abc"` is 0). Also says whether the text was a clean integer.
pub(crate) fn atoi(s: &str) -> (i64, bool) {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let len = digits.bytes().take_while(u8::is_ascii_digit).count();
    let mut v: i64 = 0;
    for b in digits[..len].bytes() {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    let clean = len > 0 && len == digits.trim_end().len();
    (if neg { -v } else { v }, clean)
}

/// `1-255,10, 32-126` → inclusive ranges.
fn byte_ranges(arg: &str) -> PResult<Vec<(u8, u8)>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for part in arg.split(',') {
        let t = part.trim();
        let at = offset + (part.len() - part.trim_start().len());
        offset += part.len() + 1;
        if t.is_empty() {
            continue;
        }
        let bad = || Problem::new(at, "invalid byte range (expected N or N-M, 0 to 255)", t);
        let (a, b) = match t.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (t, t),
        };
        let a = number(a).filter(|v| *v <= 255).ok_or_else(bad)? as u8;
        let b = number(b).filter(|v| *v <= 255).ok_or_else(bad)? as u8;
        if a > b {
            return Err(bad());
        }
        out.push((a, b));
    }
    if out.is_empty() {
        return Err(Problem::new(0, "empty byte range", arg));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_operator_t(text: &str, quoted: bool) -> PResult<Operator> {
        parse_operator(text, quoted, &mut Vec::new())
    }

    #[test]
    fn explicit_implicit_negated() {
        let o = parse_operator_t(r#"@rx ^a\"b\\d$"#, true).unwrap();
        assert_eq!((o.name, o.negated), (OperatorName::Rx, false));
        assert_eq!(&*o.argument.raw, r#"^a"b\\d$"#);
        let o = parse_operator_t(r#"a\"b"#, false).unwrap();
        assert_eq!(&*o.argument.raw, r#"a\"b"#);
        let o = parse_operator_t("!^foo", true).unwrap();
        assert_eq!(
            (o.name, o.negated, o.argument.raw.as_ref()),
            (OperatorName::Rx, true, "^foo")
        );
        let o = parse_operator_t("!@within %{tx.allowed_methods}", true).unwrap();
        assert!(o.negated && o.argument.has_macros());
        let o = parse_operator_t("@detectSQLi", true).unwrap();
        assert_eq!(o.name, OperatorName::DetectSqli);
        let o = parse_operator_t("@PMF a.data b.data", true).unwrap();
        assert_eq!(
            o.parsed,
            OperatorArgument::Files(vec!["a.data".into(), "b.data".into()])
        );
        let o = parse_operator_t("@validateByteRange 1-9, 11 ,32-126", true).unwrap();
        assert_eq!(
            o.parsed,
            OperatorArgument::ByteRanges(vec![(1, 9), (11, 11), (32, 126)])
        );
        let o = parse_operator_t("@lt %{tx.x}", true).unwrap();
        assert_eq!(o.parsed, OperatorArgument::Integer(None));
    }

    /// The operators libmodsecurity reads at load see their argument with each macro as
    /// nothing (checked with `tests/oracle/run.sh --lib wheel`: each of these loads, and
    /// `@validateByteRange %{tx.a}` does not); the others keep theirs for run time.
    #[test]
    fn an_argument_read_at_load_has_its_macros_as_nothing() {
        let parsed = |text: &str| parse_operator_t(text, true).unwrap().parsed;
        assert_eq!(
            parsed("@pmFromFile %{tx.a}"),
            OperatorArgument::Files(vec![])
        );
        assert_eq!(
            parsed("@ipMatch 1.2.3.4,%{tx.a}"),
            OperatorArgument::Addresses(vec!["1.2.3.4".into()])
        );
        assert_eq!(
            parsed("@validateByteRange 10%{tx.a}"),
            OperatorArgument::ByteRanges(vec![(10, 10)])
        );
        assert_eq!(
            parsed("@pm a%{tx.b}c %{tx.d}"),
            OperatorArgument::Phrases(vec!["ac".into()])
        );
        assert_eq!(parsed("@lt %{tx.x}"), OperatorArgument::Integer(None));
        let o = parse_operator_t("@pm a %{tx.b}", true).unwrap();
        assert_eq!(
            (&*o.argument.raw, &*o.argument.load_time_text()),
            ("a %{tx.b}", "a ")
        );
        let e = parse_operator_t("@validateByteRange 9,%{tx.a}x", true).unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (19, "invalid byte range (expected N or N-M, 0 to 255)")
        );
    }

    #[test]
    fn errors() {
        let e = parse_operator_t("@foo x", true).unwrap_err();
        assert_eq!((e.at, e.message.as_str()), (0, "unknown operator '@foo'"));
        let e = parse_operator_t("!@rxx y", true).unwrap_err();
        assert_eq!(e.at, 1);
        let e = parse_operator_t("@rx", true).unwrap_err();
        assert!(e.message.contains("needs an argument"));
        let mut w = Vec::new();
        let o = parse_operator("@gt 70.000000", true, &mut w).unwrap();
        assert_eq!(
            (o.parsed, w.len(), w[0].at),
            (OperatorArgument::Integer(Some(70)), 1, 4)
        );
        assert_eq!(atoi(" -12abc"), (-12, false));
        assert_eq!(atoi("ten"), (0, false));
        assert_eq!(atoi(" 5 "), (5, true));
        let e = parse_operator_t("@validateByteRange 1-10,300", true).unwrap_err();
        assert_eq!(e.at, 24);
    }

    /// No empty argument loads, as in libmodsecurity 3.0.15 ("syntax error, unexpected Id"
    /// for `"@rx "`, `""`, `"!"`, `"!@rx "`, `"@beginsWith "`; `tests/oracle/run.sh --lib wheel`),
    /// where a blank one does (`"@rx  "`, `" "`); operators without one take a trailing blank.
    #[test]
    fn an_empty_argument_does_not_load() {
        for bad in [
            "@rx ",
            "@pm ",
            "@eq ",
            "@within ",
            "@ipMatch ",
            "",
            "!",
            "!@rx ",
        ] {
            assert!(parse_operator_t(bad, true).is_err(), "{bad:?} loaded");
        }
        for ok in [
            "@detectSQLi",
            "@detectSQLi ",
            "@unconditionalMatch ",
            "@rx a",
            "@rx  ",
            " ",
            "a",
            "!a",
        ] {
            assert!(parse_operator_t(ok, true).is_ok(), "{ok:?}");
        }
    }
}
