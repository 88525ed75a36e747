//! The part of Go's `text/template` (with Sprig's functions) that go-ftw applies to `data`.
//!
//! go-ftw runs every `data` string through `template.New("ftw").Funcs(sprig.TxtFuncMap())`,
//! `Parse`, then `Execute` with nil data (go-ftw `test/data.go`). When parsing or executing fails,
//! go-ftw logs it at debug level and sends **no body at all**. CRS 4.28 uses one construct,
//! `{{ "1" | repeat 64200 }}` (920400.yaml). This module evaluates literal text, comments, trim
//! markers and pipelines of literals and a few functions; anything else is reported as
//! [`TemplateError::Unsupported`] so that a test is never silently run with the wrong body.

use crate::goutil;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// Go would fail to parse or execute the template: go-ftw then sends no body.
    Go(String),
    /// Valid Go, perhaps, but beyond this subset (control structures, data access, other
    /// functions): the stage cannot be reproduced faithfully.
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl Value {
    fn render(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(Value),
    Ident(String),
    Pipe,
}

/// Expands `text` as go-ftw does (see the module docs).
pub fn expand(text: &str) -> Result<String, TemplateError> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let mut out = String::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut lit = &rest[..open];
        if trim_next {
            lit = lit.trim_start_matches(is_space);
        }
        let mut body = &rest[open + 2..];
        // "{{- " trims the whitespace before the action (the dash must be followed by space).
        if body.starts_with('-') && body[1..].starts_with(is_space) {
            lit = lit.trim_end_matches(is_space);
            body = &body[1..];
        }
        out.push_str(lit);
        let (toks, after, trim_right) = lex_action(body)?;
        trim_next = trim_right;
        if let Some(v) = eval(toks)? {
            out.push_str(&v.render());
        }
        rest = after;
    }
    let lit = if trim_next {
        rest.trim_start_matches(is_space)
    } else {
        rest
    };
    out.push_str(lit);
    Ok(out)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Lexes one action body (after `{{`, after a left trim marker). Returns the tokens (empty for a
/// comment), the text after `}}`, and whether a right trim marker ` -}}` was present.
fn lex_action(s: &str) -> Result<(Vec<Tok>, &str, bool), TemplateError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut toks = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && is_space(b[*i] as char) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if s[i..].starts_with("/*") {
        let end = s[i + 2..]
            .find("*/")
            .ok_or_else(|| go_err("unclosed comment"))?;
        let mut j = i + 2 + end + 2;
        let mut trim = false;
        if s[j..].starts_with(" -}}") {
            trim = true;
            j += 4;
        } else if s[j..].starts_with("}}") {
            j += 2;
        } else {
            return Err(go_err("comment ends before closing delimiter"));
        }
        return Ok((Vec::new(), &s[j..], trim));
    }
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            return Err(go_err("unclosed action"));
        }
        let rest = &s[i..];
        if rest.starts_with("-}}") && i > 0 && is_space(b[i - 1] as char) {
            return finish(toks, &s[i + 3..], true);
        }
        if rest.starts_with("}}") {
            return finish(toks, &s[i + 2..], false);
        }
        match b[i] {
            b'|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            b'"' => {
                let (v, n) = lex_quoted(&s[i..])?;
                toks.push(Tok::Lit(Value::Str(v)));
                i += n;
            }
            b'`' => {
                let end = s[i + 1..]
                    .find('`')
                    .ok_or_else(|| go_err("unterminated raw quoted string"))?;
                toks.push(Tok::Lit(Value::Str(s[i + 1..i + 1 + end].to_string())));
                i += end + 2;
            }
            b'0'..=b'9' | b'-' | b'+' => {
                let n = b[i..]
                    .iter()
                    .position(|&c| is_space(c as char) || c == b'|' || c == b'}')
                    .unwrap_or(b.len() - i);
                let word = &s[i..i + n];
                let v = word
                    .parse::<i64>()
                    .map_err(|_| unsupported(format!("number {word:?}")))?;
                toks.push(Tok::Lit(Value::Int(v)));
                i += n;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let n = b[i..]
                    .iter()
                    .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
                    .unwrap_or(b.len() - i);
                let word = &s[i..i + n];
                toks.push(match word {
                    "true" => Tok::Lit(Value::Bool(true)),
                    "false" => Tok::Lit(Value::Bool(false)),
                    _ => Tok::Ident(word.to_string()),
                });
                i += n;
            }
            _ => {
                return Err(unsupported(format!(
                    "template syntax at {:?}",
                    &rest[..rest.len().min(20)]
                )))
            }
        }
    }
}

fn finish(
    toks: Vec<Tok>,
    after: &str,
    trim: bool,
) -> Result<(Vec<Tok>, &str, bool), TemplateError> {
    if toks.is_empty() {
        return Err(go_err("missing value for command"));
    }
    Ok((toks, after, trim))
}

/// A Go interpreted string literal (`strconv.Unquote`); returns the value and the bytes consumed.
fn lex_quoted(s: &str) -> Result<(String, usize), TemplateError> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\n' => break,
            '\\' => {
                let (_, e) = chars
                    .next()
                    .ok_or_else(|| go_err("unterminated quoted string"))?;
                let mut hex = |n: usize| -> Result<u32, TemplateError> {
                    let mut v = 0;
                    for _ in 0..n {
                        let (_, h) = chars.next().ok_or_else(|| go_err("bad escape"))?;
                        v = v * 16 + h.to_digit(16).ok_or_else(|| go_err("bad escape"))?;
                    }
                    Ok(v)
                };
                match e {
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\x0b'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    'u' => out.push(char::from_u32(hex(4)?).ok_or_else(|| go_err("bad escape"))?),
                    'U' => out.push(char::from_u32(hex(8)?).ok_or_else(|| go_err("bad escape"))?),
                    // \xHH and octal escapes are bytes in Go; a non-UTF-8 result cannot live in a
                    // Rust String and no CRS test needs it.
                    _ => return Err(unsupported(format!("escape \\{e} in a template string"))),
                }
            }
            c => out.push(c),
        }
    }
    Err(go_err("unterminated quoted string"))
}

fn eval(toks: Vec<Tok>) -> Result<Option<Value>, TemplateError> {
    if toks.is_empty() {
        return Ok(None); // a comment
    }
    let mut prev: Option<Value> = None;
    for cmd in toks.split(|t| *t == Tok::Pipe) {
        let Some((head, args)) = cmd.split_first() else {
            return Err(go_err("missing command in pipeline"));
        };
        let mut argv = Vec::new();
        for a in args {
            match a {
                Tok::Lit(v) => argv.push(v.clone()),
                Tok::Ident(f) => return Err(unsupported(format!("nested call of {f}"))),
                Tok::Pipe => unreachable!("split on pipes"),
            }
        }
        if let Some(p) = prev.take() {
            argv.push(p);
        }
        prev = Some(match head {
            Tok::Lit(v) => {
                if !argv.is_empty() {
                    return Err(go_err("can't give argument to non-function"));
                }
                v.clone()
            }
            Tok::Ident(f) => call(f, argv)?,
            Tok::Pipe => unreachable!("split on pipes"),
        });
    }
    Ok(prev)
}

fn call(f: &str, args: Vec<Value>) -> Result<Value, TemplateError> {
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(go_err(format!(
                "wrong number of args for {f}: want {n} got {}",
                args.len()
            )))
        }
    };
    let string = |v: &Value| match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(go_err(format!(
            "wrong type for value; expected string; got {other:?}"
        ))),
    };
    Ok(match f {
        // Sprig: func repeat(count int, str string) string { return strings.Repeat(str, count) }
        "repeat" => {
            want(2)?;
            let Value::Int(n) = args[0] else {
                return Err(go_err("wrong type for value; expected int"));
            };
            if n < 0 {
                return Err(go_err("strings: negative Repeat count"));
            }
            Value::Str(string(&args[1])?.repeat(n as usize))
        }
        "upper" => {
            want(1)?;
            Value::Str(string(&args[0])?.to_uppercase())
        }
        "lower" => {
            want(1)?;
            Value::Str(string(&args[0])?.to_lowercase())
        }
        "trim" => {
            want(1)?;
            Value::Str(string(&args[0])?.trim().to_string())
        }
        // Sprig's b64enc: base64.StdEncoding.EncodeToString.
        "b64enc" => {
            want(1)?;
            Value::Str(base64_encode(string(&args[0])?.as_bytes()))
        }
        // Sprig's b64dec returns the error text when decoding fails.
        "b64dec" => {
            want(1)?;
            let s = string(&args[0])?;
            match goutil::base64_decode(&s).map(String::from_utf8) {
                Some(Ok(d)) => Value::Str(d),
                _ => return Err(unsupported("b64dec of invalid or non-UTF-8 data")),
            }
        }
        // Go's builtin print: fmt.Sprint, a space between operands when neither is a string.
        "print" => {
            let mut s = String::new();
            for (i, a) in args.iter().enumerate() {
                let is_str = |v: &Value| matches!(v, Value::Str(_));
                if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
                    s.push(' ');
                }
                s.push_str(&a.render());
            }
            Value::Str(s)
        }
        other => return Err(unsupported(format!("function {other:?}"))),
    })
}

fn base64_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | b as u32) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn go_err(msg: impl Into<String>) -> TemplateError {
    TemplateError::Go(msg.into())
}

fn unsupported(msg: impl Into<String>) -> TemplateError {
    TemplateError::Unsupported(msg.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_untouched() {
        assert_eq!(expand("a=b&c={d}").unwrap(), "a=b&c={d}");
    }

    #[test]
    fn crs_920400_repeat() {
        let t = "x\n{{ \"1\" | repeat 5 }}\ny";
        assert_eq!(expand(t).unwrap(), "x\n11111\ny");
        assert_eq!(expand("{{ repeat 3 \"ab\" }}").unwrap(), "ababab");
    }

    #[test]
    fn trim_markers_and_comments() {
        assert_eq!(expand("a  {{- \"b\" -}}  c").unwrap(), "abc");
        assert_eq!(expand("a{{/* note */}}b").unwrap(), "ab");
        assert_eq!(expand("a {{- /* note */ -}} b").unwrap(), "ab");
        assert_eq!(expand("{{ -3 }}").unwrap(), "-3");
    }

    #[test]
    fn go_errors_and_unsupported() {
        assert!(matches!(expand("{{ \"1\" "), Err(TemplateError::Go(_))));
        assert!(matches!(expand("{{}}"), Err(TemplateError::Go(_))));
        assert!(matches!(
            expand("{{ repeat \"x\" \"y\" }}"),
            Err(TemplateError::Go(_))
        ));
        assert!(matches!(
            expand("{{ if true }}x{{ end }}"),
            Err(TemplateError::Unsupported(_))
        ));
        assert!(matches!(
            expand("{{ .Foo }}"),
            Err(TemplateError::Unsupported(_))
        ));
    }

    #[test]
    fn functions() {
        assert_eq!(expand("{{ \"aB\" | upper }}").unwrap(), "AB");
        assert_eq!(expand("{{ \"hi\" | b64enc }}").unwrap(), "aGk=");
        assert_eq!(expand("{{ print 1 2 \"x\" 3 }}").unwrap(), "1 2x3");
        assert_eq!(expand("{{ `a\\n` }}").unwrap(), "a\\n");
    }
}
