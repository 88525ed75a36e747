//! # seclang-parser
//!
//! SecLang — the rule language of ModSecurity — from text to an abstract syntax tree with source
//! positions. This crate owns the syntax only: which directives, variables, operators, actions
//! and transformations exist, how a configuration is split into them, and where each came from.
//! It applies no defaults and compiles nothing; `waf-core` does that.
//!
//! Layers, in the order text goes through them:
//! - `lexer` (private): physical lines to logical lines (continuations,
//!   comments), logical lines to quoted/unquoted arguments.
//! - `parse` (private): one module per SecLang part (variables, operator, actions, macros) and a
//!   directive dispatcher.
//! - [`names`]: the vocabulary, one table per kind of name.
//! - [`ast`]: the tree. [`printer`] writes it back as canonical SecLang.
//! - [`loader`]: files, `Include`s, all-or-nothing results.
//!
//! ```
//! let (directives, errors) = seclang_parser::parse_str(
//!     "SecRule ARGS \"@rx foo\" \"id:1,phase:2,deny\"",
//!     seclang_parser::FileId(0),
//! );
//! assert!(errors.is_empty());
//! assert_eq!(seclang_parser::rule_count(&directives), 1);
//! ```

pub mod ast;
mod error;
mod lexer;
pub mod loader;
pub mod names;
pub mod parallel;
mod parse;
pub mod printer;
mod span;

pub use ast::*;
pub use error::{Error, Errors};
pub use loader::{Config, Loader, Stats};
pub use span::{FileId, SourceMap, Span};

/// Parses one source text (no `Include` is followed). Returns the directives that parsed and an
/// error for each one that did not.
pub fn parse_str(text: &str, file: FileId) -> (Vec<Directive>, Vec<Error>) {
    let p = parse_source(text, file);
    (p.directives, p.errors)
}

/// What [`parse_source`] found in one text.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub directives: Vec<Directive>,
    pub errors: Vec<Error>,
    /// Accepted as libmodsecurity accepts it, but probably not what was meant.
    pub warnings: Vec<Error>,
}

/// Parses one source text (no `Include` is followed), with warnings.
pub fn parse_source(text: &str, file: FileId) -> Parsed {
    let mut p = Parsed::default();
    for line in lexer::logical_lines(text, file) {
        match parse::parse_line(&line, &mut p.warnings) {
            Ok(d) => p.directives.push(d),
            Err(e) => p.errors.push(e),
        }
    }
    p
}

/// Splits a text into literal parts and `%{...}` macros, as the parser does for action values.
pub fn parse_macros(text: &str) -> Result<MacroString, String> {
    parse::parse_macro_string(text).map_err(|p| p.message)
}

/// Rules as libmodsecurity counts them: each `SecRule`, `SecAction` or `SecRuleScript` that does
/// not continue a chain.
pub fn rule_count(directives: &[Directive]) -> usize {
    let mut count = 0;
    let mut chained = false;
    for d in directives {
        let (is_rule, starts_chain) = match &d.kind {
            DirectiveKind::Rule(r) => (true, r.is_chain_start()),
            DirectiveKind::Action(a) | DirectiveKind::RuleScript { actions: a, .. } => {
                (true, a.iter().any(|x| x.name == names::ActionName::Chain))
            }
            _ => (false, false),
        };
        if is_rule {
            if !chained {
                count += 1;
            }
            chained = starts_chain;
        }
    }
    count
}
