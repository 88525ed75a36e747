//! Errors with their location and the offending text.

use crate::span::{SourceMap, Span};
use std::fmt;

/// One problem found while reading SecLang: where, what, and the text that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub span: Span,
    pub message: String,
    /// The offending text (one token or the rest of the line), for the report.
    pub snippet: String,
}

impl Error {
    pub(crate) fn new(span: Span, message: impl Into<String>, snippet: impl Into<String>) -> Error {
        let mut snippet: String = snippet.into();
        if snippet.len() > 120 {
            let mut cut = 117;
            while !snippet.is_char_boundary(cut) {
                cut -= 1;
            }
            snippet.truncate(cut);
            snippet.push_str("...");
        }
        Error {
            span,
            message: message.into(),
            snippet,
        }
    }

    /// `file:line:column: message`, then the offending text on its own line.
    pub fn display<'a>(&'a self, sources: &'a SourceMap) -> impl fmt::Display + 'a {
        DisplayError {
            error: self,
            sources,
        }
    }
}

struct DisplayError<'a> {
    error: &'a Error,
    sources: &'a SourceMap,
}

impl fmt::Display for DisplayError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.error;
        write!(
            f,
            "{}:{}:{}: {}",
            self.sources.name(e.span.file).display(),
            e.span.line,
            e.span.column,
            e.message
        )?;
        if !e.snippet.is_empty() {
            f.write_str("\n    ")?;
            // The text as it is in the file; only control characters are made visible.
            for c in e.snippet.chars() {
                if c.is_control() {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    write!(f, "{c}")?;
                }
            }
        }
        Ok(())
    }
}

/// All the errors of a load; nothing was loaded.
#[derive(Debug, Clone)]
pub struct Errors {
    pub sources: SourceMap,
    pub errors: Vec<Error>,
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", e.display(&self.sources))?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}
