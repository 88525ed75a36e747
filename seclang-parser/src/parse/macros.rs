//! `%{VARIABLE}` and `%{COLLECTION.key}` macros in text.

use super::{PResult, Problem};
use crate::ast::{MacroString, Segment};
use crate::names::VariableName;
use nom::bytes::complete::{tag, take_till, take_until};
use nom::sequence::delimited;
use nom::IResult;

fn macro_body(input: &str) -> IResult<&str, &str> {
    delimited(tag("%{"), take_till(|c| c == '}'), tag("}"))(input)
}

/// Splits `text` into literal parts and macros. An unknown variable or an unclosed `%{` is an
/// error; a `%` not followed by `{` is literal.
pub(crate) fn parse_macro_string(text: &str) -> PResult<MacroString> {
    let mut segments = Vec::new();
    let mut rest = text;
    let mut literal = String::new();
    while !rest.is_empty() {
        let (before, at) = match take_until::<_, _, nom::error::Error<&str>>("%{")(rest) {
            Ok((at, before)) => (before, at),
            Err(_) => (rest, ""),
        };
        literal.push_str(before);
        if at.is_empty() {
            break;
        }
        let offset = text.len() - at.len();
        let (after, body) = macro_body(at)
            .map_err(|_| Problem::new(offset, "unterminated macro: '%{' without '}'", at))?;
        let (name, key) = match body.find(['.', ':']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let variable = VariableName::from_name(name.trim()).ok_or_else(|| {
            Problem::new(
                offset + 2,
                format!("unknown variable '{name}' in macro"),
                &at[..at.len() - after.len()],
            )
        })?;
        if !literal.is_empty() {
            segments.push(Segment::Literal(std::mem::take(&mut literal)));
        }
        segments.push(Segment::Macro {
            variable,
            key: key.map(str::to_string),
        });
        rest = after;
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    if !segments.iter().any(|s| matches!(s, Segment::Macro { .. })) {
        // no macro: the text is `raw` alone
        segments = Vec::new();
    }
    Ok(MacroString {
        raw: text.into(),
        segments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_macros() {
        let m = parse_macro_string("a %{tx.score} b %{MATCHED_VAR}%").unwrap();
        assert_eq!(
            m.segments,
            vec![
                Segment::Literal("a ".into()),
                Segment::Macro {
                    variable: VariableName::Tx,
                    key: Some("score".into())
                },
                Segment::Literal(" b ".into()),
                Segment::Macro {
                    variable: VariableName::MatchedVar,
                    key: None
                },
                Segment::Literal("%".into()),
            ]
        );
        assert!(!parse_macro_string("100%").unwrap().has_macros());
    }

    #[test]
    fn errors_point_at_the_macro() {
        let e = parse_macro_string("x %{nope.a}").unwrap_err();
        assert_eq!(e.at, 4);
        assert!(e.message.contains("nope"));
        let e = parse_macro_string("ab%{tx.a").unwrap_err();
        assert_eq!(e.at, 2);
    }
}
