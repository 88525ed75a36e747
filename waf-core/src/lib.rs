//! # waf-core
//!
//! Sekisho's engine. It will own: compiling a `seclang-parser` AST into an immutable `RuleSet`
//! (defaults resolved, chains linked, markers placed, automata built) and running a
//! `Transaction` through phases 1 to 5 with libmodsecurity's semantics.
//!
//! Not written yet (issue "Engine"): this crate holds no engine code today. It re-exports the
//! parser so dependants can already name the syntax types from here.

pub use seclang_parser as syntax;
