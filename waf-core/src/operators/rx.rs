//! `@rx` and `@rxGlobal`: PCRE pattern matching.
//!
//! **Description.** `@rx` is true when the pattern matches anywhere in the value; `@rxGlobal`
//! when it matches at least once, and it visits every match. Patterns are PCRE as
//! libmodsecurity compiles them (8-bit, no UTF, `DOTALL|MULTILINE`), run by
//! [`crate::regex::Regex`].
//!
//! **Arguments.** A pattern; it may contain macros (`@rx ^%{tx.allowed}$`), then it is expanded
//! and compiled for each evaluation. An empty pattern always matches (libmodsecurity returns
//! true before looking at the value, and stores no capture). A pattern PCRE itself refuses
//! still loads, with a warning, and never matches (verified against libmodsecurity 3.0.15:
//! `@rx (` loads, and `!@rx (` matches everything); a valid pattern Sekisho cannot run
//! (recursion, `\p{..}`, verbs) is a load error.
//!
//! **Captures** (with the `capture` action), as libmodsecurity 3.0.15 stores them (verified):
//! `@rx` stores `TX:0` (the match) and `TX:n` for every group `n` that took part in the
//! match, all of them, also past 9; a group that did not take part leaves `TX:n` as it was.
//! `@rxGlobal` stores the groups of every match, numbered on: the groups of the second match
//! start at the number of captures stored so far (`(a)|(b)` on `ab` stores `TX:0=a TX:1=a
//! TX:2=b TX:4=b`), and an empty match is followed by a try for a non-empty match at the same
//! offset (`(|a)` on `a` stores `"" "" a a "" ""`).
//!
//! **Example.** `SecRule ARGS "@rx (?i)union\s+select" "id:1,phase:2,deny,capture"`

use super::{CompileContext, Operator, OperatorContext};
use crate::regex::{Captures, CompileError, Regex};
use seclang_parser::MacroString;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
enum Pattern {
    /// An empty pattern: always true.
    Empty,
    /// A pattern PCRE refuses: never true.
    Invalid,
    /// Shared with other rule sets that have the same pattern ([`crate::regex::shared`]).
    Static(Arc<Regex>),
    /// Compiled at each evaluation; the last compiled pattern is kept.
    Dynamic {
        argument: MacroString,
        last: Mutex<Option<(Vec<u8>, Arc<Regex>)>>,
    },
}

/// `@rx`.
#[derive(Debug)]
pub struct Rx(Pattern);

/// `@rxGlobal`.
#[derive(Debug)]
pub struct RxGlobal(Pattern);

fn pattern(arg: &MacroString, name: &str, ctx: &mut CompileContext<'_>) -> Result<Pattern, String> {
    if arg.has_macros() {
        return Ok(Pattern::Dynamic {
            argument: arg.clone(),
            last: Mutex::new(None),
        });
    }
    if arg.raw.is_empty() {
        return Ok(Pattern::Empty);
    }
    let compiled = match ctx.prebuilt {
        Some(prebuilt) => prebuilt.pattern(&arg.raw),
        None => crate::regex::shared(&arg.raw),
    };
    match compiled {
        Ok(re) => {
            if let Some(w) = re.warning() {
                ctx.warnings.push(w);
            }
            Ok(Pattern::Static(re))
        }
        Err(CompileError::Invalid(m)) => {
            ctx.warnings.push(format!(
                "{name}: {m}; libmodsecurity loads this rule and its operator never matches"
            ));
            Ok(Pattern::Invalid)
        }
        Err(CompileError::Unsupported(m)) => Err(format!("{name}: {m}")),
    }
}

pub(crate) fn compile_rx(
    arg: &MacroString,
    ctx: &mut CompileContext<'_>,
) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(Rx(pattern(arg, "@rx", ctx)?)))
}

pub(crate) fn compile_rx_global(
    arg: &MacroString,
    ctx: &mut CompileContext<'_>,
) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(RxGlobal(pattern(arg, "@rxGlobal", ctx)?)))
}

enum Resolved<'a> {
    Always,
    Never,
    Static(&'a Regex),
    Dynamic(Arc<Regex>),
}

impl Pattern {
    fn resolve(&self, ctx: &mut dyn OperatorContext) -> Resolved<'_> {
        match self {
            Pattern::Empty => Resolved::Always,
            Pattern::Invalid => Resolved::Never,
            Pattern::Static(re) => Resolved::Static(re),
            Pattern::Dynamic { argument, last } => {
                let mut text = ctx.expand(argument);
                if text.is_empty() {
                    // libmodsecurity's Regex turns an empty pattern into ".*".
                    text = b".*".to_vec();
                }
                if let Ok(guard) = last.lock() {
                    if let Some((p, re)) = guard.as_ref() {
                        if *p == text {
                            return Resolved::Dynamic(Arc::clone(re));
                        }
                    }
                }
                match Regex::new_bytes(&text) {
                    Ok(re) => {
                        let re = Arc::new(re);
                        if let Ok(mut guard) = last.lock() {
                            *guard = Some((text, Arc::clone(&re)));
                        }
                        Resolved::Dynamic(re)
                    }
                    Err(_) => Resolved::Never,
                }
            }
        }
    }
}

impl Resolved<'_> {
    fn regex(&self) -> Option<&Regex> {
        match self {
            Resolved::Static(re) => Some(re),
            Resolved::Dynamic(re) => Some(re),
            _ => None,
        }
    }
}

thread_local! {
    /// Reused group buffers: a match's groups are read once and copied out.
    static CAPTURES: std::cell::RefCell<Captures> = std::cell::RefCell::new(Captures::new());
}

impl Operator for Rx {
    fn static_regex(&self) -> Option<&Regex> {
        match &self.0 {
            Pattern::Static(re) => Some(re),
            _ => None,
        }
    }

    fn required_bytes(&self) -> Option<&crate::regex::RequiredBytes> {
        self.static_regex()?.required_bytes()
    }

    /// Not for a pattern on the backtracking fallback, nor one whose `^` needs PCRE's
    /// end-of-subject re-check.
    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        let re = self.static_regex()?;
        if re.uses_fallback() || re.rechecks_line_start() {
            return None;
        }
        re.required_literals().map(<[Vec<u8>]>::to_vec)
    }

    /// With a pattern known at load time (an expanded one depends on the transaction).
    fn is_pure(&self) -> bool {
        !matches!(self.0, Pattern::Dynamic { .. })
    }

    /// Under the same conditions as [`Operator::required_literals`].
    fn lacks_literals(&self, value: &[u8]) -> bool {
        self.static_regex().is_some_and(|re| {
            !re.uses_fallback() && !re.rechecks_line_start() && re.lacks_literals(value)
        })
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let resolved = self.0.resolve(ctx);
        let re = match resolved {
            Resolved::Always => return true,
            Resolved::Never => return false,
            ref r => match r.regex() {
                Some(re) => re,
                None => return false,
            },
        };
        let capturing = ctx.capturing();
        if re.matches_whole_subject() {
            // (no search: group 0 is the whole value, and there is no other group)
            if capturing {
                ctx.capture(0, value);
            }
            ctx.match_range(0, value.len());
            return true;
        }
        // the cheap test decides; the groups are only looked for on a match, for `capture` and
        // `[ref]`'s ranges
        if !re.is_match(value) {
            return false;
        }
        if !capturing && !ctx.wants_ranges() {
            return true;
        }
        CAPTURES.with_borrow_mut(|caps| {
            if !re.captures(value, caps) {
                return !capturing;
            }
            for i in 0..caps.len() {
                if let Some((s, e)) = caps.get(i) {
                    if capturing {
                        ctx.capture(i, &value[s..e]);
                    }
                    ctx.match_range(s, e - s);
                }
            }
            true
        })
    }
}

impl Operator for RxGlobal {
    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let resolved = self.0.resolve(ctx);
        let re = match resolved {
            Resolved::Always => return true,
            Resolved::Never => return false,
            ref r => match r.regex() {
                Some(re) => re,
                None => return false,
            },
        };
        let capturing = ctx.capturing();
        if !capturing && !re.is_match(value) {
            return false;
        }
        if !capturing && !ctx.wants_ranges() {
            return true;
        }
        // every match's groups: the captures (numbered on) and `[ref]`'s ranges
        let mut stored = 0usize;
        let mut it = re.find_iter(value);
        while let Some(caps) = it.next_captures() {
            let first = stored;
            for i in 0..caps.len() {
                if let Some((s, e)) = caps.get(i) {
                    if capturing {
                        ctx.capture(first + i, &value[s..e]);
                    }
                    ctx.match_range(s, e - s);
                    stored += 1;
                }
            }
        }
        stored > 0 || !capturing
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testing::{eval, op, try_op, Cx};

    fn tx(text: &str, value: &[u8]) -> (bool, Vec<(usize, String)>) {
        let o = op(text);
        let mut cx = Cx {
            capture: true,
            ..Cx::default()
        };
        let r = o.evaluate(&mut cx, value);
        (
            r,
            cx.tx
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect(),
        )
    }

    fn s(v: &[(usize, &str)]) -> Vec<(usize, String)> {
        v.iter().map(|(k, x)| (*k, x.to_string())).collect()
    }

    /// `^.*$` and its like skip the search: what they capture and where is what the search of
    /// the same pattern in other words gives (PCRE's `.` takes line breaks too).
    #[test]
    fn whole_subject_patterns_capture_what_a_search_would() {
        for value in [&b""[..], b"abc", b"a\nb", b"a\n", b"\n\n", b"\r\nx-a"] {
            for (short, long) in [
                ("@rx ^.*$", "@rx ^(?:.*)$"),
                ("@rx ^.*", "@rx ^(?:.*)"),
                ("@rx .*$", "@rx (?:.*)$"),
                ("@rx .*", "@rx (?:.*)"),
            ] {
                assert_eq!(tx(short, value), tx(long, value), "{short} on {value:?}");
                assert_eq!(
                    tx(short, value).1,
                    s(&[(0, &String::from_utf8_lossy(value))])
                );
            }
        }
    }

    #[test]
    fn rx_captures_every_group_that_took_part() {
        assert_eq!(tx("@rx (a)|(b)", b"b"), (true, s(&[(0, "b"), (2, "b")])));
        let (r, caps) = tx("@rx (a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)", b"abcdefghijkl");
        assert!(r);
        assert_eq!(caps.len(), 13);
        assert_eq!(caps[12], (12, "l".to_string()));
        assert_eq!(tx("@rx x", b"y"), (false, vec![]));
    }

    #[test]
    fn rx_global_numbering() {
        assert_eq!(
            tx("@rxGlobal (a)|(b)", b"ab"),
            (true, s(&[(0, "a"), (1, "a"), (2, "b"), (4, "b")]))
        );
        assert_eq!(
            tx("@rxGlobal (|a)", b"a"),
            (
                true,
                s(&[(0, ""), (1, ""), (2, "a"), (3, "a"), (4, ""), (5, "")])
            )
        );
        assert_eq!(
            tx("@rxGlobal (^|a)(b|c)(d)", b"bdacd"),
            (
                true,
                s(&[
                    (0, "bd"),
                    (1, ""),
                    (2, "b"),
                    (3, "d"),
                    (4, "acd"),
                    (5, "a"),
                    (6, "c"),
                    (7, "d")
                ])
            )
        );
    }

    #[test]
    fn empty_invalid_and_macro_patterns() {
        // (an empty pattern does not load, as in libmodsecurity v3)
        assert!(try_op("@rx ").is_err());
        let o = op("@rx (");
        assert!(!eval(&*o, b"(") && !eval(&*o, b""));
        assert!(try_op("@rx (?R)").is_err());
        let o = op("@rx ^%{tx.allowed}$");
        let mut cx = Cx::default();
        cx.vars.insert("allowed".into(), b"a|b".to_vec());
        assert!(o.evaluate(&mut cx, b"b"));
        assert!(!o.evaluate(&mut cx, b"c"));
        cx.vars.insert("allowed".into(), b"(".to_vec());
        assert!(!o.evaluate(&mut cx, b"("));
    }
}
