//! One logical line to one [`Directive`].

use super::actions::parse_actions;
use super::operator::parse_operator;
use super::variables::parse_variables;
use super::{number, Problem};
use crate::ast::{Action, Directive, DirectiveKind, IdRange, Rule, Variable};
use crate::error::Error;
use crate::lexer::{is_blank, Cursor, LogicalLine, Mode, Next, Token};
use crate::names::{DirectiveName, Shape};
use crate::span::LineMap;

/// Parses one logical line. Warnings (accepted, but probably not what was meant) go to `warnings`.
pub(crate) fn parse_line(
    line: &LogicalLine,
    warnings: &mut Vec<Error>,
) -> Result<Directive, Error> {
    let text = line.text.as_str();
    let map = &line.map;
    let name_end = text.bytes().position(is_blank).unwrap_or(text.len());
    let name_text = &text[..name_end];
    let name = DirectiveName::from_name(name_text).ok_or_else(|| {
        Error::new(
            map.span(0),
            format!("unknown directive '{name_text}'"),
            text,
        )
    })?;
    let mut p = Args {
        cursor: Cursor::new(text, name_end),
        map,
        directive: name,
        warnings,
    };
    let kind = p.directive_kind()?;
    p.end()?;
    Ok(Directive {
        span: map.span(0),
        kind,
    })
}

/// The arguments of one directive being read.
struct Args<'a, 'w> {
    cursor: Cursor<'a>,
    map: &'a LineMap,
    directive: DirectiveName,
    warnings: &'w mut Vec<Error>,
}

impl<'a> Args<'a, '_> {
    fn error_at(&self, offset: usize, message: impl Into<String>, snippet: &str) -> Error {
        Error::new(self.map.span(offset), message, snippet)
    }

    /// Turns a problem found inside `token` into a positioned error.
    fn located(&self, token: &Token<'_>, p: Problem) -> Error {
        self.error_at(token.offset + p.at, p.message, &p.snippet)
    }

    fn next(&mut self, mode: Mode) -> Result<Option<Token<'a>>, Error> {
        match self.cursor.next(mode) {
            Next::Token(t) => Ok(Some(t)),
            Next::End => Ok(None),
            // libmodsecurity ends an action list at the end of the line, closing quote or not
            Next::Unterminated(at) if mode == Mode::Actions => {
                self.warnings.push(self.error_at(
                    at,
                    "action list without its closing '\"'; it ends at the end of the line, as in libmodsecurity",
                    &self.cursor.line[at..],
                ));
                Ok(Some(Token {
                    text: &self.cursor.line[at + 1..],
                    quoted: true,
                    offset: at + 1,
                    unterminated: true,
                }))
            }
            Next::Unterminated(at) => Err(self.error_at(
                at,
                "unterminated quoted string (missing '\"')",
                &self.cursor.line[at..],
            )),
        }
    }

    fn required(&mut self, mode: Mode, what: &str) -> Result<Token<'a>, Error> {
        match self.next(mode)? {
            Some(t) => Ok(t),
            None => Err(self.error_at(
                self.cursor.line.len(),
                format!("{} expects {what}", self.directive),
                self.cursor.line,
            )),
        }
    }

    /// Nothing may follow the last argument but a comment.
    fn end(&mut self) -> Result<(), Error> {
        let rest = self.cursor.rest();
        match self.next(Mode::Plain)? {
            None => Ok(()),
            Some(t) => Err(self.error_at(
                t.offset - usize::from(t.quoted),
                format!("unexpected argument after {}", self.directive),
                rest,
            )),
        }
    }

    fn variables(&self, t: &Token<'_>) -> Result<Vec<Variable>, Error> {
        let vars = parse_variables(t.text).map_err(|p| self.located(t, p))?;
        Ok(vars
            .into_iter()
            .map(|(at, mut v)| {
                v.span = self.map.span(t.offset + at);
                v
            })
            .collect())
    }

    fn actions(&self, t: &Token<'_>) -> Result<Vec<Action>, Error> {
        let actions = parse_actions(t.text, t.unterminated).map_err(|p| self.located(t, p))?;
        Ok(actions
            .into_iter()
            .map(|(at, mut a)| {
                a.span = self.map.span(t.offset + at);
                if let crate::ast::ActionArgument::Ctl(c) = &mut a.argument {
                    for v in &mut c.targets {
                        v.span = a.span;
                    }
                }
                a
            })
            .collect())
    }

    fn ids(&self, tokens: &[Token<'_>]) -> Result<Vec<IdRange>, Error> {
        let mut out = Vec::new();
        for t in tokens {
            let mut at = 0;
            for part in t.text.split([',', ' ', '\t']) {
                let here = at;
                at += part.len() + 1;
                if part.is_empty() {
                    continue;
                }
                let range = match part.split_once('-') {
                    Some((a, b)) => number(a)
                        .zip(number(b))
                        .map(|(a, b)| IdRange { start: a, end: b }),
                    None => number(part).map(IdRange::single),
                };
                match range {
                    Some(r) if r.start <= r.end => out.push(r),
                    _ => {
                        return Err(self.error_at(
                            t.offset + here,
                            "expected a rule id or a range of ids (N-M)",
                            part,
                        ))
                    }
                }
            }
        }
        if out.is_empty() {
            return Err(self.error_at(
                self.cursor.line.len(),
                format!("{} expects rule ids", self.directive),
                "",
            ));
        }
        Ok(out)
    }

    fn directive_kind(&mut self) -> Result<DirectiveKind, Error> {
        use DirectiveName as D;
        Ok(match self.directive {
            D::SecRule => {
                let vars = self.required(Mode::Plain, "VARIABLES OPERATOR [ACTIONS]")?;
                let op = self.required(Mode::Plain, "an operator after the variables")?;
                let variables = self.variables(&vars)?;
                let mut problems = Vec::new();
                let mut operator = parse_operator(op.text, op.quoted, &mut problems)
                    .map_err(|p| self.located(&op, p))?;
                for p in problems {
                    let w = self.located(&op, p);
                    self.warnings.push(w);
                }
                operator.span = self.map.span(op.offset);
                let actions = match self.next(Mode::Actions)? {
                    Some(t) => self.actions(&t)?,
                    None => Vec::new(),
                };
                DirectiveKind::Rule(Rule {
                    variables,
                    operator,
                    actions,
                })
            }
            D::SecAction => {
                let t = self.required(Mode::Actions, "an action list")?;
                DirectiveKind::Action(self.actions(&t)?)
            }
            D::SecDefaultAction => {
                let t = self.required(Mode::Actions, "an action list")?;
                let actions = self.actions(&t)?;
                self.check_default_actions(&t, &actions)?;
                DirectiveKind::DefaultAction(actions)
            }
            D::SecRuleScript => {
                let path = self.required(Mode::Plain, "a script path")?;
                let actions = match self.next(Mode::Actions)? {
                    Some(t) => self.actions(&t)?,
                    None => Vec::new(),
                };
                DirectiveKind::RuleScript {
                    path: path.text.to_string(),
                    actions,
                }
            }
            D::SecMarker => {
                let t = self.required(Mode::Plain, "a marker name")?;
                if t.text.is_empty() {
                    return Err(self.error_at(t.offset, "empty marker name", ""));
                }
                // (libmodsecurity v3's lexer reads a marker as one word without a comma or
                // a double quote, quoted or not)
                if let Some(at) = t
                    .text
                    .find(|c: char| c == ',' || c == '"' || c.is_whitespace())
                {
                    return Err(self.error_at(
                        t.offset + at,
                        "a marker name holds no blank, comma or double quote (libmodsecurity v3 does not load it)",
                        t.text,
                    ));
                }
                DirectiveKind::Marker(t.text.to_string())
            }
            D::Include | D::IncludeOptional => {
                let t = self.required(Mode::Plain, "a file path or glob")?;
                DirectiveKind::Include {
                    path: t.text.to_string(),
                    optional: self.directive == D::IncludeOptional,
                }
            }
            D::SecRuleRemoveById => {
                let mut tokens = Vec::new();
                while let Some(t) = self.next(Mode::Plain)? {
                    // (libmodsecurity v3 does not load `SecRuleRemoveById "1 2"`)
                    if t.quoted {
                        return Err(self.error_at(
                            t.offset - 1,
                            "SecRuleRemoveById takes its ids unquoted (libmodsecurity v3 does not load them quoted)",
                            t.text,
                        ));
                    }
                    tokens.push(t);
                }
                DirectiveKind::RemoveById(self.ids(&tokens)?)
            }
            D::SecRuleRemoveByTag => DirectiveKind::RemoveByTag(
                self.required(Mode::Plain, "a tag (regex)")?
                    .text
                    .to_string(),
            ),
            D::SecRuleRemoveByMsg => DirectiveKind::RemoveByMsg(
                self.required(Mode::Plain, "a message (regex)")?
                    .text
                    .to_string(),
            ),
            D::SecRuleUpdateTargetById => {
                let ids = self.required(Mode::Plain, "RULE-IDS TARGETS")?;
                let vars = self.required(Mode::Plain, "targets after the rule ids")?;
                DirectiveKind::UpdateTargetById {
                    ids: self.ids(&[ids])?,
                    variables: self.variables(&vars)?,
                }
            }
            D::SecRuleUpdateTargetByTag | D::SecRuleUpdateTargetByMsg => {
                let which = self.required(Mode::Plain, "TEXT TARGETS")?;
                let vars = self.required(Mode::Plain, "targets")?;
                let variables = self.variables(&vars)?;
                if self.directive == D::SecRuleUpdateTargetByTag {
                    DirectiveKind::UpdateTargetByTag {
                        tag: which.text.to_string(),
                        variables,
                    }
                } else {
                    DirectiveKind::UpdateTargetByMsg {
                        msg: which.text.to_string(),
                        variables,
                    }
                }
            }
            D::SecRuleUpdateActionById => {
                let id = self.required(Mode::Plain, "RULE-ID ACTIONS")?;
                let (id_text, offset_text) = match id.text.split_once(':') {
                    Some((a, b)) => (a, Some(b)),
                    None => (id.text, None),
                };
                let bad =
                    || self.error_at(id.offset, "expected a rule id (N or N:OFFSET)", id.text);
                let rule_id = number(id_text).ok_or_else(bad)?;
                let offset = match offset_text {
                    Some(o) => Some(
                        number(o)
                            .and_then(|o| u32::try_from(o).ok())
                            .ok_or_else(bad)?,
                    ),
                    None => None,
                };
                let t = self.required(Mode::Actions, "an action list")?;
                DirectiveKind::UpdateActionById {
                    id: rule_id,
                    offset,
                    actions: self.actions(&t)?,
                }
            }
            D::SecComponentSignature => {
                let t = self.required(Mode::Plain, "a signature")?;
                if !t.quoted {
                    return Err(self.error_at(
                        t.offset,
                        "SecComponentSignature takes its value in double quotes (libmodsecurity v3 does not load it bare)",
                        t.text,
                    ));
                }
                DirectiveKind::ComponentSignature(t.text.to_string())
            }
            D::SecWebAppId => DirectiveKind::Config {
                name: D::SecWebAppId,
                args: vec![self.web_app_id()?],
            },
            D::SecUnicodeMapFile => {
                let path = self.required(Mode::Plain, "PATH CODE-PAGE")?;
                let page = self.required(Mode::Plain, "a code page after the path")?;
                if number(page.text).is_none() {
                    return Err(self.error_at(
                        page.offset,
                        "SecUnicodeMapFile expects a code page number",
                        page.text,
                    ));
                }
                DirectiveKind::Config {
                    name: D::SecUnicodeMapFile,
                    args: vec![path.text.to_string(), page.text.to_string()],
                }
            }
            other => {
                let shape = other.shape().unwrap_or(Shape::Words);
                let mut args = Vec::new();
                let mut tokens = Vec::new();
                while let Some(t) = self.next(Mode::Plain)? {
                    args.push(t.text.to_string());
                    tokens.push(t);
                }
                self.check_shape(shape, &tokens)?;
                self.check_value(&tokens)?;
                DirectiveKind::Config { name: other, args }
            }
        })
    }

    /// libmodsecurity's rules for `SecDefaultAction`: no rule metadata, no `t:none`, and a
    /// disruptive action other than `block`.
    fn check_default_actions(&self, t: &Token<'_>, actions: &[Action]) -> Result<(), Error> {
        use crate::ast::ActionArgument;
        use crate::names::{ActionName as A, TransformationName};
        for a in actions {
            let refused = match a.name {
                A::Id | A::Chain | A::Rev | A::Ver | A::Accuracy | A::Maturity => true,
                A::T => a.argument == ActionArgument::Transformation(TransformationName::None),
                _ => false,
            };
            if refused {
                let what = if a.name == A::T {
                    "the transformation 'none'".to_string()
                } else {
                    format!("the action '{}'", a.name)
                };
                return Err(Error::new(
                    a.span,
                    format!("{what} is not allowed in SecDefaultAction"),
                    t.text,
                ));
            }
        }
        let disruptive = actions
            .iter()
            .any(|a| matches!(a.name, A::Deny | A::Drop | A::Pass | A::Allow | A::Redirect));
        if !disruptive {
            return Err(self.error_at(
                t.offset,
                "SecDefaultAction must name a disruptive action (deny, drop, pass, allow, redirect; block does not count)",
                t.text,
            ));
        }
        Ok(())
    }

    /// What libmodsecurity 3.0.15 checks in some directives' values: audit log parts are
    /// `[ABCDEFGHJKIZ]+` (no sign, as `ctl:auditLogParts` takes), an argument separator is one
    /// character.
    fn check_value(&self, tokens: &[Token<'_>]) -> Result<(), Error> {
        use DirectiveName as D;
        let Some(t) = tokens.first() else {
            return Ok(());
        };
        match self.directive {
            D::SecAuditLogParts => super::audit_parts(t.text)
                .map_err(|p| self.error_at(t.offset + p.at, p.message, &p.snippet)),
            D::SecArgumentSeparator if t.text.chars().count() != 1 => Err(self.error_at(
                t.offset,
                "SecArgumentSeparator takes one character (libmodsecurity v3 loads no other)",
                t.text,
            )),
            // (libmodsecurity v3's lexer reads a mode as digits, and only the audit log
            // directory's also in double quotes)
            D::SecAuditLogDirMode | D::SecAuditLogFileMode | D::SecUploadFileMode
                if t.quoted && self.directive != D::SecAuditLogDirMode =>
            {
                Err(self.error_at(
                    t.offset - 1,
                    format!(
                        "{} takes its value unquoted (libmodsecurity v3 does not load it quoted)",
                        self.directive
                    ),
                    t.text,
                ))
            }
            D::SecAuditLogDirMode | D::SecAuditLogFileMode | D::SecUploadFileMode => {
                match t.text.bytes().position(|b| !b.is_ascii_digit()) {
                    None if !t.text.is_empty() => Ok(()),
                    at => Err(self.error_at(
                        t.offset + at.unwrap_or(0),
                        format!("{} expects a file mode in digits (0640)", self.directive),
                        t.text,
                    )),
                }
            }
            D::SecResponseBodyMimeType => match tokens.iter().find(|t| t.quoted) {
                Some(t) => Err(self.error_at(
                    t.offset - 1,
                    "SecResponseBodyMimeType takes its types unquoted (libmodsecurity v3 does not load them quoted)",
                    t.text,
                )),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// `SecWebAppId`'s value: the rest of the line as written, as libmodsecurity v3 reads it
    /// (`SecWebAppId shop one` is `shop one`); of a value in single quotes, what they hold,
    /// and of one that starts with a double quote, what follows that quote (v3's
    /// `SecWebAppId "shop"` is `shop"`).
    fn web_app_id(&mut self) -> Result<String, Error> {
        let line = self.cursor.line;
        let start = self.cursor.pos + line[self.cursor.pos..].len()
            - line[self.cursor.pos..]
                .trim_start_matches(|c: char| is_blank(c as u8))
                .len();
        let text = line[start..].trim_end_matches(|c: char| is_blank(c as u8));
        self.cursor.pos = line.len();
        if text.is_empty() {
            return Err(self.error_at(start, "SecWebAppId expects an application id", ""));
        }
        // (a double quote may open it and end it; any other is not loaded)
        let value = match text.strip_prefix('"') {
            Some(rest) => rest,
            None => text
                .strip_prefix('\'')
                .and_then(|t| t.strip_suffix('\''))
                .unwrap_or(text),
        };
        let stray = match text.strip_prefix('"') {
            Some(rest) => rest
                .strip_suffix('"')
                .unwrap_or(rest)
                .find('"')
                .map(|i| i + 1),
            None => text.find('"'),
        };
        if let Some(i) = stray {
            return Err(self.error_at(
                start + i,
                "a double quote in SecWebAppId's value (libmodsecurity v3 does not load it)",
                text,
            ));
        }
        Ok(value.to_string())
    }

    fn check_shape(&self, shape: Shape, tokens: &[Token<'_>]) -> Result<(), Error> {
        let d = self.directive;
        let end = self.cursor.line.len();
        let count = |n: usize| -> Result<(), Error> {
            if tokens.len() < n {
                return Err(self.error_at(end, format!("{d} expects an argument"), ""));
            }
            if let Some(extra) = tokens.get(n) {
                return Err(self.error_at(
                    extra.offset,
                    format!("unexpected argument after {d}"),
                    extra.text,
                ));
            }
            Ok(())
        };
        match shape {
            Shape::Nothing => count(0),
            Shape::Text => count(1),
            Shape::Words => {
                if tokens.is_empty() {
                    return Err(self.error_at(end, format!("{d} expects an argument"), ""));
                }
                Ok(())
            }
            // (libmodsecurity v3's lexer reads these values bare only: `SecRuleEngine "On"`,
            // `SecRequestBodyLimit "100"` do not load)
            Shape::Number | Shape::OneOf(_) if tokens.first().is_some_and(|t| t.quoted) => {
                count(1)?;
                Err(self.error_at(
                    tokens[0].offset - 1,
                    format!(
                        "{d} takes its value unquoted (libmodsecurity v3 does not load it quoted)"
                    ),
                    tokens[0].text,
                ))
            }
            Shape::Number => {
                count(1)?;
                let t = &tokens[0];
                if number(t.text).is_none() {
                    return Err(self.error_at(t.offset, format!("{d} expects a number"), t.text));
                }
                Ok(())
            }
            Shape::OneOf(words) => {
                count(1)?;
                let t = &tokens[0];
                if !words.iter().any(|w| w.eq_ignore_ascii_case(t.text)) {
                    return Err(self.error_at(
                        t.offset,
                        format!("{d} expects one of: {}", words.join(", ")),
                        t.text,
                    ));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_str, FileId};

    fn column_of_error(text: &str) -> Option<u32> {
        let (_, errors) = parse_str(text, FileId(0));
        errors.first().map(|e| e.span.column)
    }

    /// Configuration values load where libmodsecurity 3.0.15's do (each answer from
    /// `tests/oracle/run.sh --lib wheel` on a file holding the line): the switches' and the
    /// numbers' values bare only, audit log parts of its letters, a one-character argument
    /// separator, rule ids unquoted.
    #[test]
    fn configuration_values_load_as_in_libmodsecurity() {
        for ok in [
            "SecRuleEngine On",
            "SecRequestBodyLimit 100",
            "SecAuditLogParts ABIJDEFHZ",
            "SecAuditLogParts \"ABZ\"",
            "SecAuditLogParts ABCDEFGHIJKZ",
            "SecArgumentSeparator &",
            "SecArgumentSeparator \"&\"",
            "SecAuditLog \"/tmp/a.log\"",
            "SecRuleRemoveById 1 2-3",
            "SecAuditLogDirMode 0750",
            "SecAuditLogDirMode \"0750\"",
            "SecAuditLogFileMode 0640",
            "SecUploadFileMode 0600",
            "SecComponentSignature \"x y\"",
            "SecResponseBodyMimeType text/plain text/html",
            "SecResponseBodyMimeType 'text/plain'",
            "SecMarker END-X",
            "SecMarker \"END\"",
            "SecMarker 'END'",
            "SecWebAppId x y",
            "SecWebAppId 'x y'",
            "SecWebAppId x # y",
            "SecWebAppId #x",
            "SecWebAppId \"x y\"",
        ] {
            assert_eq!(column_of_error(ok), None, "{ok}");
        }
        for (bad, column) in [
            ("SecRuleEngine \"On\"", 15),
            ("SecRequestBodyAccess \"On\"", 22),
            ("SecAuditLogFormat \"JSON\"", 19),
            ("SecRequestBodyLimit \"100\"", 21),
            ("SecDebugLogLevel \"3\"", 18),
            ("SecAuditLogParts ABL", 20),
            ("SecAuditLogParts +E", 18),
            ("SecArgumentSeparator ab", 22),
            ("SecRuleRemoveById \"1 2\"", 19),
            ("SecAuditLogDirMode default", 20),
            ("SecAuditLogDirMode 0x1", 21),
            ("SecAuditLogDirMode '0750'", 20),
            ("SecAuditLogFileMode \"0640\"", 21),
            ("SecUploadFileMode x1", 19),
            ("SecComponentSignature x", 23),
            ("SecResponseBodyMimeType \"text/plain text/html\"", 25),
            ("SecMarker \"END x\"", 15),
            ("SecMarker END,x", 14),
            ("SecMarker END\"x", 14),
            ("SecWebAppId \"x\" y", 15),
            ("SecWebAppId x \"y\"", 15),
        ] {
            assert_eq!(column_of_error(bad), Some(column), "{bad}");
        }
    }
}
