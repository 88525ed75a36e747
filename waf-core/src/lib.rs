//! # waf-core
//!
//! Sekisho's engine: compiling a `seclang-parser` AST into an immutable [`RuleSet`] and running
//! a [`Transaction`] through phases 1 to 5 with libmodsecurity's semantics.
//!
//! Layers (each module's doc says what it owns):
//! - [`transformations`]: `t:` functions, byte-exact with libmodsecurity; one file per family.
//! - [`operators`]: `@` operators, compiled once, evaluated per value; one file per family.
//! - [`regex`]: ModSecurity's PCRE patterns translated for regex-automata (byte mode), with a
//!   backtracking fallback for the few that need lookaround.
//! - [`body`]: request body processors (URLENCODED, MULTIPART, JSON, XML).
//! - [`compile()`]: configuration → [`RuleSet`] (defaults, chains, markers, exceptions); the
//!   configuration's exceptions are worked out per rule once (`exceptions`), and `@rx` rules
//!   that share a transformation chain get one literal prefilter (`matcher`); rules that read
//!   only `TX` values no request can change are decided at load (`plan`).
//! - [`Transaction`]: one request/response through the phases; [`Intervention`]s and
//!   [`RuleMessage`] log lines in libmodsecurity's format.
//! - `shared_bytes`: the shared byte buffers of collections' names and values
//!   ([`SharedBytes`], `Arc<[u8]>`'s shape), and the arena a large request's arguments are
//!   written into; the crate's only unsafe code.
//!
//! ```
//! use std::sync::Arc;
//! use waf_core::{RuleSet, Transaction};
//!
//! let rules = RuleSet::from_text(
//!     "example.conf",
//!     "SecRuleEngine On\n\
//!      SecRule ARGS:q \"@detectSQLi\" \"id:1,phase:1,deny,status:403,log,msg:'SQLi'\"",
//!     None,
//! )
//! .unwrap();
//! let mut tx = Transaction::new(Arc::new(rules));
//! tx.process_connection("203.0.113.7", 51234, "10.0.0.1", 80);
//! tx.process_uri(b"/search?q=1%27+OR+1=1--", b"GET", b"1.1");
//! tx.process_request_headers();
//! let it = tx.intervention().expect("denied");
//! assert_eq!(it.status, 403);
//! assert!(it.log.unwrap().contains("[id \"1\"]"));
//! ```

mod audit;
pub mod body;
mod chains;
mod collection;
mod compile;
pub mod config;
mod decimal;
mod exceptions;
mod matcher;
mod message;
pub mod operators;
use seclang_parser::parallel;
pub mod persistent;
mod plan;
mod prebuild;
mod ragged;
pub mod regex;
mod rule;
mod ruleset;
mod shared_bytes;
mod shared_cache;
mod time;
mod transaction;
pub mod transformations;
mod word_hash;

pub use collection::{Collection, Entry as CollectionEntry};
pub use compile::compile;
pub use config::EngineConfig;
pub use message::RuleMessage;
pub use ruleset::RuleSet;
pub use seclang_parser as syntax;
pub use shared_bytes::Bytes as SharedBytes;
pub use transaction::{Intervention, Transaction};
