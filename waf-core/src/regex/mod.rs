//! # PCRE patterns on linear-time engines
//!
//! libmodsecurity compiles `@rx` patterns with PCRE2 (8-bit, no UTF, `DOTALL|MULTILINE`). This
//! module gives the same results on regex-automata, whose search time is linear in the input:
//!
//! 1. [`pcre`] parses the pattern with PCRE2's rules (where PCRE and Rust's regex syntax
//!    disagree: `\x{c2}` is a byte, a `{` that is not a quantifier is literal, `[` inside a
//!    class is literal, `\<` is `<`, `\v` and `\h` are classes, `\Q..\E`, `(?#..)`, octal
//!    escapes, `(?x)`...);
//! 2. [`analyze`] decides whether the linear engine gives PCRE's results (see its doc for
//!    possessive quantifiers and for PCRE's `^`, which does not match after a final newline);
//! 3. for the linear engine, [`hir`] turns the tree into regex-syntax's HIR directly; for
//!    fancy-regex, when the pattern needs look-around, back references, atomic groups or `\K`,
//!    [`emit`] writes it back as text, every construct spelled out: the backtracking fallback,
//!    whose backtrack limit stands in for PCRE's match limit (a search that hits it does not
//!    match, as a PCRE error does not);
//! 4. the linear engine (regex-automata's meta regex) is built from the HIR at load for a
//!    pattern that runs on every value, else on its first search ([`Regex::build_now`]);
//! 5. from the same HIR, [`required_bytes`] finds a few bytes one of which every match holds
//!    (`;`, `|`, `<`...), when there are such: a value without any of them is answered "no
//!    match" without a search (and a pattern no value has reached is never built); and the
//!    grouped matcher's literals come from it too (regex-syntax's prefixes and suffixes, or
//!    [`factors`] inside the matches).
//!
//! Not here: macro expansion (`@rx %{tx.x}`), captures into `TX`, `@rxGlobal`'s bookkeeping
//! (see `operators::rx`), and one union automaton over all rules (a later layer).
//!
//! ```
//! use waf_core::regex::{Captures, Regex};
//! let re = Regex::new(r"\x{c2}\x{b4}|a{").unwrap();
//! assert!(re.is_match(b"x\xc2\xb4"));
//! assert!(re.is_match(b"a{"));
//! let re = Regex::new("(a)(b)?c").unwrap();
//! let mut caps = Captures::new();
//! assert!(re.captures(b"xac", &mut caps));
//! assert_eq!((caps.get(0), caps.get(1), caps.get(2)), (Some((1, 3)), Some((1, 2)), None));
//! ```

mod analyze;
mod emit;
mod factors;
mod hir;
mod literal_search;
mod pcre;
mod required_bytes;
mod shared;

pub use shared::shared;

pub use pcre::ByteSet;
use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::util::syntax;
use regex_automata::{meta, Anchored, Input};
pub use required_bytes::RequiredBytes;
use std::fmt;
use std::sync::OnceLock;

/// The fallback's backtrack limit (fancy-regex's own default), standing in for PCRE's match
/// limit: a search that reaches it reports no match.
pub const BACKTRACK_LIMIT: usize = 1_000_000;
/// regex-automata's NFA size limit per pattern; a larger pattern goes to the fallback.
const NFA_SIZE_LIMIT: usize = 16 << 20;

/// Why a pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// PCRE2 refuses the pattern too. libmodsecurity loads such a rule, and it never matches.
    Invalid(String),
    /// Valid PCRE that Sekisho cannot run.
    Unsupported(String),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Invalid(m) | CompileError::Unsupported(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CompileError {}

enum Engine {
    /// Built on the first search (see [`Regex::new_bytes`]), or at load for a pattern that
    /// may be too large for it.
    Linear(OnceLock<Linear>),
    Backtrack(fancy_regex::Regex),
}

enum Linear {
    Built(meta::Regex),
    /// The engine refused the pattern as too large when it was built on first use; the
    /// fallback runs it (`None` when it refuses too: no match, as PCRE's errors).
    TooLarge(Option<fancy_regex::Regex>),
}

/// The engine a search runs.
enum Running<'a> {
    Linear(&'a meta::Regex),
    Backtrack(Option<&'a fancy_regex::Regex>),
}

/// A compiled PCRE pattern.
pub struct Regex {
    /// The pattern as given (bytes: a macro-expanded pattern need not be UTF-8). The rare
    /// backtracking variants are built from it again rather than keeping its parse tree (a
    /// quarter of CRS's memory).
    source: Box<[u8]>,
    /// Capture groups, group 0 included.
    slots: usize,
    engine: Engine,
    /// On the linear engine: [`required_literals`].
    literals: Option<Literals>,
    /// On the linear engine: bytes one of which every match holds ([`required_bytes`]); a
    /// value without any is answered "no match" without a search.
    required_bytes: Option<RequiredBytes>,
    fallback: Option<&'static str>,
    /// No assertion looks at the text around a position (`^`, `$`, `\b`, look-around, `\K`).
    context_free: bool,
    /// For a linear pattern whose multiline `^` PCRE would refuse after a final newline: the
    /// exact (backtracking) pattern, used only for matches that end at the end of such a
    /// subject.
    line_start_check: Option<OnceLock<Option<fancy_regex::Regex>>>,
    /// For `@rxGlobal`'s "non-empty match here" retry after an empty match.
    not_empty: OnceLock<Option<fancy_regex::Regex>>,
    /// On the fallback, for a possessive run it cannot move into what follows: the pattern with
    /// the ways through that need it dropped, on the linear engine
    /// ([`analyze::rewrite_possessive_subset`]). Its matches are PCRE's, so a match it finds
    /// answers [`Regex::is_match`]; only its "no" goes to the fallback.
    subset: Option<meta::Regex>,
    /// A search for [`Regex::literals`] alone, built on the first [`Regex::lacks_literals`].
    literal_search: OnceLock<Option<literal_search::LiteralSearch>>,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Regex")
            .field("pattern", &self.pattern())
            .field("translated", &self.translated())
            .field("fallback", &self.fallback)
            .finish()
    }
}

/// The syntax translated patterns are written for: bytes, PCRE's `DOTALL|MULTILINE`.
pub(crate) fn syntax_config() -> syntax::Config {
    syntax::Config::new()
        .unicode(false)
        .utf8(false)
        .dot_matches_new_line(true)
        .multi_line(true)
        .nest_limit(1000)
}

/// Above this [`nfa_estimate`] the linear engine is built at load, where a pattern it refuses
/// as too large can still go to the fallback with a load-time warning. CRS's largest patterns
/// estimate under 30,000; [`NFA_SIZE_LIMIT`] is reached around a million.
const BUILD_AT_LOAD_ESTIMATE: usize = 100_000;

/// Above this [`nfa_estimate`] a pattern with one-byte literals is built at load ([`linear`]).
const RUNS_SOON_ESTIMATE: usize = 10_000;

/// The linear engine's cell for a parsed pattern, and the pattern's [`required_literals`].
///
/// The pattern's HIR is built here ([`hir`]: syntax errors are load errors, and the grouped
/// matcher needs the literals). The engine is built here too when the pattern has no literals
/// (no group can take it); else later: by the rule set, at load, when the rule runs the pattern
/// on every value (outside the grouped matcher), or on its first search
/// ([`Regex::build_now`]). Most grouped patterns never run on ordinary traffic (their
/// literals are not in it), and building every pattern was two thirds of the load time and
/// half of the memory.
fn linear(node: &pcre::Node) -> Result<LinearParts, LinearError> {
    // The prefilters come from the lowercased tree (its literals are searched without regard
    // to case; its required bytes are folded back to both cases); the engine's own tree is
    // built only with the engine.
    let lower = hir::linear_hir_lowercased(node).map_err(LinearError::Refused)?;
    let bytes = RequiredBytes::of_lowercased(&lower);
    // (without required bytes nothing else would keep the pattern off a value: a costlier set
    // is still a search saved on each value without its literals; 932260's command names)
    let literals = required_literals(&lower, bytes.is_none());
    let cell = OnceLock::new();
    // Without literals or required bytes nothing keeps the pattern off a value: it will run on
    // every value and be built at load anyway, so from the HIR in hand rather than a second
    // parse. With required bytes it runs only on values that hold one of them, which ordinary
    // traffic seldom does (`;`, `<`, `$`...): built on its first search, like a grouped one.
    // (a lowercased letter stands for a class of two: the estimate is scaled back up)
    let estimate = nfa_estimate(&lower).saturating_mul(3);
    // A large pattern whose set has one-byte literals (escape bytes: a quote, `=`, `;`...)
    // runs on the first value holding one, most likely in the first requests: built at load
    // too, before a server forks its workers (the command patterns, 932230 and its kin, took
    // 5M instructions each to build on their first search; the smaller ones, 942190's kin, are
    // left to their first search, as load time goes).
    let runs_soon = estimate > RUNS_SOON_ESTIMATE
        && literals
            .as_ref()
            .is_some_and(|l| l.iter().any(|l| l.len() == 1));
    if (literals.is_none() && bytes.is_none()) || runs_soon || estimate > BUILD_AT_LOAD_ESTIMATE {
        let hir = hir::linear_hir(node).map_err(LinearError::Refused)?;
        let _ = cell.set(Linear::Built(build_linear(&hir)?));
    }
    // Without a light set, a set of punctuation and spaces keeps the pattern off values of
    // letters and digits alone (after the choice above: such a pattern still runs on most
    // text, and is built at load as before).
    let bytes = bytes.or_else(|| RequiredBytes::without_words(&lower));
    Ok((cell, literals, bytes))
}

/// What [`linear`] makes of a pattern: the engine's cell and the two prefilters.
type LinearParts = (OnceLock<Linear>, Option<Literals>, Option<RequiredBytes>);

enum LinearError {
    /// Past [`NFA_SIZE_LIMIT`]: the fallback runs it.
    TooLarge,
    Refused(String),
}

fn build_linear(hir: &regex_syntax::hir::Hir) -> Result<meta::Regex, LinearError> {
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .utf8_empty(false)
                // Its own literal prefilter: the grouped matcher has already searched the
                // value for the pattern's literals, and the patterns without usable literals
                // (CRS's caseless alternations) made extracting them most of the build (3×
                // the build time, no faster searches on CRS's inputs).
                .auto_prefilter(false)
                .nfa_size_limit(Some(NFA_SIZE_LIMIT)),
        )
        .build_from_hir(hir)
        .map_err(|e| match e.size_limit() {
            Some(_) => LinearError::TooLarge,
            None => LinearError::Refused(e.to_string()),
        })
}

/// A rough upper bound on the NFA states of a pattern (repetitions multiply), computed from
/// the tree without building anything.
fn nfa_estimate(hir: &regex_syntax::hir::Hir) -> usize {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len(),
        HirKind::Class(Class::Bytes(c)) => c.ranges().len() + 1,
        HirKind::Class(Class::Unicode(c)) => c.ranges().len().saturating_mul(4) + 1,
        HirKind::Repetition(r) => {
            let copies = r.max.unwrap_or(r.min).max(r.min).saturating_add(1);
            nfa_estimate(&r.sub).saturating_mul(copies as usize)
        }
        HirKind::Capture(c) => nfa_estimate(&c.sub).saturating_add(2),
        HirKind::Concat(v) | HirKind::Alternation(v) => v
            .iter()
            .map(nfa_estimate)
            .fold(v.len(), usize::saturating_add),
    }
}

/// Shortest literal worth a prefilter: shorter ones occur in nearly every value.
const MIN_LITERAL: usize = 2;

/// Literals (lowercased, sorted, distinct) one of which every match holds at one end.
type Literals = Vec<Vec<u8>>;

/// The literals (ASCII-lowercased, sorted, distinct) one of which every match starts with, or
/// one of which every match ends with (regex-syntax's prefix and suffix extraction; the set
/// whose shortest literal is longer, the more selective); when neither set is finite with
/// literals of at least [`MIN_LITERAL`] bytes, literals one of which every match holds
/// somewhere ([`factors::inner_factors`], with a higher budget when the pattern is `alone`:
/// without required bytes); `None` without any. The grouped matcher scans for them.
///
/// `lower` is the pattern's lowercased tree ([`hir::linear_hir_lowercased`]): the literals are
/// searched without regard to case anyway, and a caseless `(?i)select` is `[sS][eE]...`, whose
/// 64 spellings (times each alternative) overflow the extractor's limits, so CRS's large
/// caseless alternations got no literals and ran on every value.
fn required_literals(lower: &regex_syntax::hir::Hir, alone: bool) -> Option<Literals> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let usable = |kind: ExtractKind| {
        let seq = Extractor::new().kind(kind).extract(lower);
        let lits = seq.literals()?;
        let shortest = lits.iter().map(|l| l.as_bytes().len()).min()?;
        (shortest >= MIN_LITERAL).then(|| {
            let mut out: Vec<Vec<u8>> = lits
                .iter()
                .map(|l| l.as_bytes().to_ascii_lowercase())
                .collect();
            out.sort();
            out.dedup();
            (shortest, out)
        })
    };
    match (usable(ExtractKind::Prefix), usable(ExtractKind::Suffix)) {
        (Some(p), Some(s)) => Some(if s.0 > p.0 { s.1 } else { p.1 }),
        (Some((_, l)), None) | (None, Some((_, l))) => Some(l),
        // literals inside the matches, when they have no common start or end
        (None, None) => factors::inner_factors(lower, alone),
    }
}

/// `hir` with every byte it matches replaced by its ASCII lowercase: the lowercase of each of
/// `hir`'s matches is a match of it, so literals every match of it holds are, without regard
/// to case, held by every match of `hir` (word boundaries do not depend on case). The
/// reference [`hir::linear_hir_lowercased`] is checked against.
fn lowercased(hir: &regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{self, Class, Hir, HirKind};
    match hir.kind() {
        HirKind::Literal(l) => Hir::literal(l.0.to_ascii_lowercase()),
        HirKind::Class(Class::Bytes(c)) => Hir::class(Class::Bytes(self::hir::lowercase_class(c))),
        HirKind::Class(Class::Unicode(_)) | HirKind::Empty | HirKind::Look(_) => hir.clone(),
        HirKind::Repetition(r) => Hir::repetition(hir::Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(lowercased(&r.sub)),
        }),
        HirKind::Capture(c) => Hir::capture(hir::Capture {
            index: c.index,
            name: c.name.clone(),
            sub: Box::new(lowercased(&c.sub)),
        }),
        HirKind::Concat(v) => Hir::concat(v.iter().map(lowercased).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(lowercased).collect()),
    }
}

/// The linear engine for the subset of the pattern's matches that need no possessive run PCRE
/// keeps ([`Regex::subset`]); `None` when that still needs the fallback.
fn linear_subset(pattern: &[u8]) -> Option<meta::Regex> {
    let mut parsed = pcre::parse(pattern).ok()?;
    analyze::rewrite_possessive_subset(&mut parsed.node);
    let analysis = analyze::analyze(&parsed.node);
    // (a multiline `^` after a final newline is one more thing PCRE refuses)
    if analysis.fallback.is_some() || analysis.line_start_at_end {
        return None;
    }
    build_linear(&hir::linear_hir(&parsed.node).ok()?).ok()
}

/// The pattern's tree as the engines are made from it: PCRE's parse, possessive repetitions
/// rewritten where the linear engine gives the same results without them.
fn parse(pattern: &[u8]) -> Result<pcre::Parsed, pcre::Error> {
    let mut parsed = pcre::parse(pattern)?;
    analyze::rewrite_possessive(&mut parsed.node);
    Ok(parsed)
}

fn backtracking(pattern: &str, not_empty: bool) -> Result<fancy_regex::Regex, String> {
    fancy_regex::RegexBuilder::new(pattern)
        .bytes_mode(fancy_regex::BytesMode::Ascii)
        .dot_matches_new_line(true)
        .multi_line(true)
        .backtrack_limit(BACKTRACK_LIMIT)
        .find_not_empty(not_empty)
        .build()
        .map_err(|e| e.to_string())
}

/// A buffer for capture groups, reusable across searches and patterns.
#[derive(Debug, Clone, Default)]
pub struct Captures {
    spans: Vec<Option<(usize, usize)>>,
    slots: Vec<Option<NonMaxUsize>>,
}

impl Captures {
    pub fn new() -> Captures {
        Captures::default()
    }

    /// The span of group `i` (0 = the whole match), if it took part in the match.
    pub fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.spans.get(i).copied().flatten()
    }

    /// The number of groups, group 0 included (after a successful search).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn clear(&mut self) {
        self.spans.clear();
    }

    fn fill_from_fancy(&mut self, c: &fancy_regex::Captures<'_, [u8]>, n: usize) {
        self.spans.clear();
        self.spans
            .extend((0..n).map(|i| c.get(i).map(|m| (m.start(), m.end()))));
    }
}

/// A search that hit the backtrack limit (treated as "no match", as PCRE's errors are).
struct LimitHit;

impl Regex {
    /// Compiles a pattern as libmodsecurity's `@rx` does.
    pub fn new(pattern: &str) -> Result<Regex, CompileError> {
        Regex::new_bytes(pattern.as_bytes())
    }

    /// Compiles a pattern given as bytes (a macro-expanded `@rx` argument).
    pub fn new_bytes(pattern: &[u8]) -> Result<Regex, CompileError> {
        let parsed = parse(pattern).map_err(|e| match e {
            pcre::Error::Syntax { .. } => CompileError::Invalid(e.to_string()),
            pcre::Error::Unsupported { .. } => CompileError::Unsupported(e.to_string()),
        })?;
        let analysis = analyze::analyze(&parsed.node);
        let slots = parsed.groups + 1;
        let cf = context_free(&parsed.node);
        let mut fallback = analysis.fallback;
        if fallback.is_none() {
            match linear(&parsed.node) {
                Ok((cell, literals, required_bytes)) => {
                    return Ok(Regex {
                        source: pattern.into(),
                        slots,
                        engine: Engine::Linear(cell),
                        literals,
                        required_bytes,
                        fallback: None,
                        context_free: cf,
                        line_start_check: analysis.line_start_at_end.then(OnceLock::new),
                        not_empty: OnceLock::new(),
                        subset: None,
                        literal_search: OnceLock::new(),
                    });
                }
                Err(LinearError::TooLarge) => {
                    fallback = Some("a pattern too large for the linear engine");
                }
                Err(LinearError::Refused(e)) => {
                    return Err(CompileError::Unsupported(format!(
                        "translated pattern does not compile: {e}"
                    )))
                }
            }
        }
        let translated = emit::emit(&parsed.node, emit::Target::Backtrack);
        let re = backtracking(&translated, false).map_err(|e| {
            CompileError::Unsupported(format!(
                "pattern needs {} and the backtracking fallback refuses it: {e}",
                fallback.unwrap_or("the fallback")
            ))
        })?;
        Ok(Regex {
            source: pattern.into(),
            slots,
            context_free: cf,
            engine: Engine::Backtrack(re),
            literals: None,
            required_bytes: None,
            subset: match fallback {
                Some(analyze::POSSESSIVE) => linear_subset(pattern),
                _ => None,
            },
            fallback,
            line_start_check: None,
            not_empty: OnceLock::new(),
            literal_search: OnceLock::new(),
        })
    }

    /// Whether every subject matches, the match being all of it: `^.*$` and its like, with
    /// PCRE's `DOTALL` (CRS 920450 captures each header name so, a dozen times a request).
    pub fn matches_whole_subject(&self) -> bool {
        matches!(&*self.source, b"^.*$" | b"^.*" | b".*$" | b".*")
    }

    /// The pattern as given (invalid UTF-8 replaced).
    pub fn pattern(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.source)
    }

    /// The pattern the engine runs (regex-syntax's or fancy-regex's syntax).
    pub fn translated(&self) -> String {
        let target = match self.engine {
            Engine::Linear(_) => emit::Target::Linear,
            Engine::Backtrack(_) => emit::Target::Backtrack,
        };
        self.reparse()
            .map(|p| emit::emit(&p.node, target))
            .unwrap_or_default()
    }

    /// The pattern parsed again, as at load.
    fn reparse(&self) -> Option<pcre::Parsed> {
        parse(&self.source).ok()
    }

    /// Whether [`hir`]'s direct translation gives regex-syntax's HIR for `emit`'s text on
    /// `pattern`, and its lowercased translation the prefilters (literals, required bytes)
    /// that lowercasing that HIR gives (a test of the translations, over CRS's patterns; `Err`
    /// says where they differ).
    #[doc(hidden)]
    pub fn direct_hir_agrees(pattern: &[u8]) -> Result<(), String> {
        let parsed = parse(pattern).map_err(|e| e.to_string())?;
        let text = emit::emit(&parsed.node, emit::Target::Linear);
        match (
            hir::linear_hir(&parsed.node),
            syntax::parse_with(&text, &syntax_config()),
        ) {
            (Ok(a), Ok(b)) if a == b => {
                // and the lowercased tree gives the prefilters lowercasing the direct one gives
                let lower = hir::linear_hir_lowercased(&parsed.node).map_err(|e| e.to_string())?;
                let (direct, via) = (
                    required_literals(&lower, false),
                    required_literals(&lowercased(&a), false),
                );
                let (bytes, bytes_via) =
                    (RequiredBytes::of_lowercased(&lower), RequiredBytes::of(&a));
                if direct != via {
                    return Err(format!(
                        "{}\n  literals from the lowercased tree: {direct:?}\n  from the tree lowercased: {via:?}",
                        String::from_utf8_lossy(pattern)
                    ));
                }
                // (a case-sensitive upper-case letter stands for both cases in the lowercased
                // tree, and weighs more: `^OPTIONS$` loses its `O`)
                if bytes != bytes_via && !bytes_via.is_some_and(|b| b.holds_upper_case()) {
                    return Err(format!(
                        "{}\n  bytes from the lowercased tree: {bytes:?}\n  from the tree: {bytes_via:?}",
                        String::from_utf8_lossy(pattern)
                    ));
                }
                Ok(())
            }
            (Err(_), Err(_)) => Ok(()),
            (a, b) => Err(format!(
                "{}\n  direct: {a:?}\n  via {text}: {b:?}",
                String::from_utf8_lossy(pattern)
            )),
        }
    }

    /// Why the pattern runs on the backtracking fallback, if it does.
    pub fn fallback_reason(&self) -> Option<&'static str> {
        self.fallback
    }

    /// On the fallback, whether a linear subset of the pattern answers the matches it finds
    /// ([`analyze::rewrite_possessive_subset`]).
    pub fn has_linear_subset(&self) -> bool {
        self.subset.is_some()
    }

    pub fn uses_fallback(&self) -> bool {
        self.fallback.is_some()
    }

    /// On the linear engine, the literals (lowercased) one of which starts every match, or
    /// ends every match, or failing those occurs in every match, when there is such a finite
    /// set of literals of two bytes or more.
    pub(crate) fn required_literals(&self) -> Option<&[Vec<u8>]> {
        self.literals.as_deref()
    }

    /// Whether `haystack` holds none of [`Regex::required_literals`] (ASCII case aside): then
    /// the pattern cannot match it. `false` for a pattern without literals. Asked by a rule
    /// outside the grouped matcher's groups (`multiMatch`: CRS's 934100 tests each argument's
    /// whitespace-free and base64-decoded stages) before each stage's search: the automaton
    /// of a few literals reads a short value about as fast as the pattern's lazy DFA, without
    /// its search's set-up and captures. Built on the first call.
    pub(crate) fn lacks_literals(&self, haystack: &[u8]) -> bool {
        let search = self
            .literal_search
            .get_or_init(|| literal_search::LiteralSearch::new(self.literals.as_ref()?));
        search.as_ref().is_some_and(|s| s.lacks(haystack))
    }

    /// On the linear engine, bytes one of which every match holds, when there is such a set
    /// of uncommon bytes.
    pub(crate) fn required_bytes(&self) -> Option<&RequiredBytes> {
        self.required_bytes.as_ref()
    }

    /// The load-time warning for a pattern on the fallback (the caller adds the rule id).
    pub fn warning(&self) -> Option<String> {
        self.fallback
            .map(|why| format!("rule uses {why}; runs on the backtracking fallback"))
    }

    /// Whether no assertion of the pattern looks at the text around a position (`^`, `$`,
    /// `\b`, look-around, `\K`): then a match found in `haystack[i..]` is the one found in
    /// `haystack` from offset `i`.
    pub fn is_context_free(&self) -> bool {
        self.context_free
    }

    /// Whether matches that end at the end of a subject ending in `\n` are re-checked with
    /// PCRE's `^` (which does not match there); see [`analyze`].
    pub fn rechecks_line_start(&self) -> bool {
        self.line_start_check.is_some()
    }

    /// Capture groups, group 0 included.
    pub fn captures_len(&self) -> usize {
        self.slots
    }

    /// Builds the linear engine now rather than on the first search (for a pattern that runs
    /// on every request: built once before a server forks its workers, they share it).
    pub(crate) fn build_now(&self) {
        let _ = self.running();
    }

    /// The engine to search with, the linear one built on the first call.
    fn running(&self) -> Running<'_> {
        let cell = match &self.engine {
            Engine::Backtrack(re) => return Running::Backtrack(Some(re)),
            Engine::Linear(cell) => cell,
        };
        let built = cell.get_or_init(|| {
            // Translated at load, so only a size limit can refuse it here.
            let hir = self.reparse().and_then(|p| hir::linear_hir(&p.node).ok());
            match hir.map(|h| build_linear(&h)) {
                Some(Ok(re)) => Linear::Built(re),
                _ => Linear::TooLarge(self.backtracking_variant(false)),
            }
        });
        match built {
            Linear::Built(re) => Running::Linear(re),
            Linear::TooLarge(f) => Running::Backtrack(f.as_ref()),
        }
    }

    /// The pattern on the backtracking fallback (`not_empty`: PCRE's `NOTEMPTY_ATSTART`),
    /// parsed again from the source.
    fn backtracking_variant(&self, not_empty: bool) -> Option<fancy_regex::Regex> {
        let parsed = self.reparse()?;
        backtracking(
            &emit::emit(&parsed.node, emit::Target::Backtrack),
            not_empty,
        )
        .ok()
    }

    /// Whether the pattern matches anywhere in `haystack`.
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        if !self.may_match(haystack) {
            return false;
        }
        match self.running() {
            Running::Linear(re) => {
                if self.line_start_check.is_none() || haystack.last() != Some(&b'\n') {
                    return re.is_match(haystack);
                }
                match re.find(haystack) {
                    None => false,
                    Some(m) if m.end() < haystack.len() => true,
                    Some(_) => self
                        .exact()
                        .is_some_and(|f| f.is_match(haystack).unwrap_or(false)),
                }
            }
            Running::Backtrack(re) => {
                self.subset.as_ref().is_some_and(|s| s.is_match(haystack))
                    || re.is_some_and(|re| re.is_match(haystack).unwrap_or(false))
            }
        }
    }

    /// `false` when `haystack` lacks every byte one of which each match holds.
    fn may_match(&self, haystack: &[u8]) -> bool {
        self.required_bytes.map_or(true, |r| r.found_in(haystack))
    }

    /// The first match's groups; `false` (and `caps` emptied) if there is none.
    pub fn captures(&self, haystack: &[u8], caps: &mut Captures) -> bool {
        self.captures_at(haystack, 0, caps)
    }

    /// The first match at or after `start` (the text before `start` is seen by look-behind,
    /// `^` and `\b`, as with PCRE's start offset).
    pub fn captures_at(&self, haystack: &[u8], start: usize, caps: &mut Captures) -> bool {
        self.search(haystack, start, caps)
            .unwrap_or_else(|LimitHit| {
                caps.clear();
                false
            })
    }

    fn exact(&self) -> Option<&fancy_regex::Regex> {
        self.line_start_check
            .as_ref()?
            .get_or_init(|| self.backtracking_variant(false))
            .as_ref()
    }

    fn search(&self, h: &[u8], start: usize, caps: &mut Captures) -> Result<bool, LimitHit> {
        caps.clear();
        if start > h.len() || !self.may_match(&h[start..]) {
            return Ok(false);
        }
        match self.running() {
            Running::Linear(re) => {
                let found = linear_captures(re, h, start, Anchored::No, self.slots, caps);
                if found
                    && self.line_start_check.is_some()
                    && h.last() == Some(&b'\n')
                    && caps.get(0).is_some_and(|(_, e)| e == h.len())
                {
                    let Some(f) = self.exact() else {
                        caps.clear();
                        return Ok(false);
                    };
                    return fancy_captures(f, h, start, self.slots, caps);
                }
                Ok(found)
            }
            Running::Backtrack(Some(re)) => fancy_captures(re, h, start, self.slots, caps),
            Running::Backtrack(None) => Ok(false),
        }
    }

    /// A non-empty match starting exactly at `start` (PCRE's `ANCHORED|NOTEMPTY_ATSTART`).
    fn search_not_empty_at(
        &self,
        h: &[u8],
        start: usize,
        caps: &mut Captures,
    ) -> Result<bool, LimitHit> {
        caps.clear();
        if start > h.len() {
            return Ok(false);
        }
        if let Running::Linear(re) = self.running() {
            let ambiguous_end = self.line_start_check.is_some() && h.last() == Some(&b'\n');
            if !linear_captures(re, h, start, Anchored::Yes, self.slots, caps) {
                return Ok(false);
            }
            match caps.get(0) {
                Some((s, e)) if e > s && !(ambiguous_end && e == h.len()) => return Ok(true),
                _ => {}
            }
        }
        // The highest-priority match here is empty: PCRE backtracks into the lower-priority
        // alternatives, which only a backtracking engine enumerates.
        let f = self
            .not_empty
            .get_or_init(|| self.backtracking_variant(true));
        let Some(f) = f else {
            caps.clear();
            return Ok(false);
        };
        let found = fancy_captures(f, h, start, self.slots, caps)?;
        if found && caps.get(0).is_some_and(|(s, _)| s == start) {
            Ok(true)
        } else {
            caps.clear();
            Ok(false)
        }
    }

    /// The matches of `haystack` in the order libmodsecurity's `@rxGlobal` finds them
    /// (`Regex::searchGlobal`): after a match, the next search starts at its end; after an
    /// empty match, a non-empty match is tried at the same offset, then the offset advances
    /// by one. An empty match found past the search offset is reported once for each offset
    /// that finds it again, as libmodsecurity does.
    pub fn find_iter<'r, 'h>(&'r self, haystack: &'h [u8]) -> FindIter<'r, 'h> {
        FindIter {
            re: self,
            h: haystack,
            start: 0,
            prev_empty: false,
            repeat: 0,
            done: false,
            caps: Captures::new(),
        }
    }
}

fn context_free(node: &pcre::Node) -> bool {
    use pcre::{GroupKind, Node};
    match node {
        Node::Look(_) | Node::KeepOut => false,
        Node::Group(g) => {
            !matches!(
                g.kind,
                GroupKind::Lookahead { .. } | GroupKind::Lookbehind { .. }
            ) && context_free(&g.node)
        }
        Node::Repeat(r) => context_free(&r.node),
        Node::Concat(v) | Node::Alt(v) => v.iter().all(context_free),
        _ => true,
    }
}

fn linear_captures(
    re: &meta::Regex,
    h: &[u8],
    start: usize,
    anchored: Anchored,
    n: usize,
    caps: &mut Captures,
) -> bool {
    caps.slots.clear();
    caps.slots.resize(2 * n, None);
    let input = Input::new(h).range(start..).anchored(anchored);
    let found = re.search_slots(&input, &mut caps.slots).is_some();
    caps.spans.clear();
    if found {
        caps.spans
            .extend(caps.slots.chunks(2).map(|s| match (s[0], s[1]) {
                (Some(a), Some(b)) => Some((a.get(), b.get())),
                _ => None,
            }));
    }
    found
}

fn fancy_captures(
    re: &fancy_regex::Regex,
    h: &[u8],
    start: usize,
    n: usize,
    caps: &mut Captures,
) -> Result<bool, LimitHit> {
    match re.captures_from_pos(h, start) {
        Ok(Some(c)) => {
            caps.fill_from_fancy(&c, n);
            Ok(true)
        }
        Ok(None) => {
            caps.clear();
            Ok(false)
        }
        Err(_) => {
            caps.clear();
            Err(LimitHit)
        }
    }
}

/// The matches of a [`Regex`], as `@rxGlobal` finds them (see [`Regex::find_iter`]).
pub struct FindIter<'r, 'h> {
    re: &'r Regex,
    h: &'h [u8],
    start: usize,
    prev_empty: bool,
    /// More copies of the current (empty) match to report.
    repeat: usize,
    done: bool,
    caps: Captures,
}

impl FindIter<'_, '_> {
    /// The next match's groups.
    pub fn next_captures(&mut self) -> Option<&Captures> {
        if self.repeat > 0 {
            self.repeat -= 1;
            return Some(&self.caps);
        }
        let len = self.h.len();
        loop {
            if self.done || self.start > len {
                self.done = true;
                return None;
            }
            if self.prev_empty {
                self.prev_empty = false;
                match self
                    .re
                    .search_not_empty_at(self.h, self.start, &mut self.caps)
                {
                    Ok(true) => {
                        self.start = self.caps.get(0).map_or(len + 1, |(_, e)| e);
                        return Some(&self.caps);
                    }
                    Ok(false) => {
                        self.start += 1;
                        continue;
                    }
                    Err(LimitHit) => {
                        self.done = true;
                        return None;
                    }
                }
            }
            match self.re.search(self.h, self.start, &mut self.caps) {
                Ok(true) => {}
                Ok(false) | Err(LimitHit) => {
                    self.done = true;
                    return None;
                }
            }
            let Some((s, e)) = self.caps.get(0) else {
                self.done = true;
                return None;
            };
            if e > s {
                self.start = e;
            } else if self.start == len {
                self.start = len + 1;
            } else {
                // Every offset from `start` to `s` finds this empty match again; the last one
                // (at `s`) then tries a non-empty match there.
                self.repeat = s - self.start;
                self.start = s;
                if s == len {
                    self.start = len + 1;
                } else {
                    self.prev_empty = true;
                }
            }
            return Some(&self.caps);
        }
    }
}

impl Iterator for FindIter<'_, '_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        self.next_captures().and_then(|c| c.get(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `Accept`-like grammar whose `;\s*+(?:...|;?)`, in a loop, the linear engine cannot
    /// take exactly (the shape of CRS 3.3.4's 920600; the second branch may start with a
    /// blank, so the possessive run matters).
    const ACCEPT_LIKE: &str = concat!(
        r#"^(?:\*|[^",/;=\s]+)/(?:\*|[^",/;=\s]+)"#,
        r#"(?:\s*+;\s*+(?:charset\s*+=\s*+utf-8|(?:c[^h",/;=]|[^c",/;=])[^",/;=]*\s*+=\s*+[^",/;=]+|;?))*"#,
        r#"(?:\s*+,\s*+(?:\*|[^",/;=\s]+)/(?:\*|[^",/;=\s]+)"#,
        r#"(?:\s*+;\s*+(?:[^",/;=][^",/;=]*\s*+=\s*+[^",/;=]+|;?))*)*$"#
    );

    /// The subset's "yes" answers the usual values on the linear engine; every answer is the
    /// fallback's, where the possessive run matters too.
    #[test]
    fn a_possessive_runs_subset_answers_as_the_fallback() {
        let re = Regex::new(ACCEPT_LIKE).unwrap();
        assert_eq!(re.fallback_reason(), Some(analyze::POSSESSIVE));
        let subset = re.subset.as_ref().expect("a linear subset");
        for v in [
            "text/html",
            "text/html;q=0.9, */*;q=0.8",
            "a/b ; charset = utf-8",
        ] {
            assert!(subset.is_match(v.as_bytes()), "{v}");
        }
        // without the possessive runs these match (a blank given back to the second
        // branch); PCRE does not
        let loose = Regex::new(&ACCEPT_LIKE.replace("*+", "*")).unwrap();
        for v in ["text/html; =1", "a/b; \n=x"] {
            let v = v.as_bytes();
            assert!(loose.is_match(v) && !re.is_match(v), "{v:?}");
        }
        let exact = re.backtracking_variant(false).unwrap();
        let config = proptest::test_runner::Config::with_cases(3000);
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let tail =
            proptest::collection::vec(proptest::sample::select(b"ab;,= \n/c*".to_vec()), 0..14);
        runner
            .run(&tail, |tail| {
                let v = [b"a/b".as_slice(), &tail].concat();
                let want = exact.is_match(v.as_slice()).unwrap();
                proptest::prop_assert_eq!(re.is_match(&v), want, "{:?}", v);
                Ok(())
            })
            .unwrap();
    }

    fn m(p: &str, h: &[u8]) -> bool {
        Regex::new(p).unwrap().is_match(h)
    }

    fn groups(p: &str, h: &[u8]) -> Vec<Option<Vec<u8>>> {
        let re = Regex::new(p).unwrap();
        let mut c = Captures::new();
        if !re.captures(h, &mut c) {
            return Vec::new();
        }
        (0..c.len())
            .map(|i| c.get(i).map(|(s, e)| h[s..e].to_vec()))
            .collect()
    }

    fn global(p: &str, h: &[u8]) -> Vec<Vec<u8>> {
        let re = Regex::new(p).unwrap();
        re.find_iter(h).map(|(s, e)| h[s..e].to_vec()).collect()
    }

    #[test]
    fn braced_hex_is_a_byte() {
        assert!(m(r"\x{c2}\x{b4}", b"\xc2\xb4"));
        assert!(m(r"[\x{c2}]", b"\xc2"));
        assert!(m(r"[\x7f-\x{ff}]", b"\xfe"));
        assert!(!m(r"[\x7f-\x{ff}]", b"a"));
        assert!(m(r"\x{ 41 }", b"A"));
    }

    #[test]
    fn non_ascii_literals_are_bytes() {
        assert!(m("é", "é".as_bytes()));
        // One class member per byte, as PCRE without UTF sees it.
        assert!(m("[é]", b"\xa9"));
        assert!(m("[´’‘]", b"\x80"));
        // Caseless matching is ASCII only.
        assert!(!m("(?i)é", "É".as_bytes()));
        assert!(!m(r"\w", b"\xe9"));
        assert!(m("(?i)abc", b"xABC"));
    }

    #[test]
    fn literal_brace_and_bracket() {
        assert!(m("a{", b"a{"));
        assert!(m(r"\${", b"${"));
        assert!(m(":{.*}", b":{x}"));
        assert!(m("{{.*?}}", b"{{7*7}}"));
        assert!(m("[a[b]", b"["));
        assert!(m("[a[b]", b"b"));
        assert!(!m("[a[b]", b"]"));
        assert!(m("a{,2}b", b"aab"));
        assert!(m("a{ 2 }b", b"aab"));
        assert!(!m("a{ 2 }b", b"a{ 2 }b"));
    }

    #[test]
    fn pcre_escapes() {
        assert!(m(r"a\<b\>", b"a<b>"));
        assert!(m(r"[\<]", b"<"));
        for b in [b'\n', 0x0b, 0x0c, b'\r', 0x85] {
            assert!(m(r"\v", &[b]), "{b:#x}");
        }
        assert!(!m(r"\v", b" "));
        assert!(m(r"\h", b"\xa0") && m(r"\h", b"\t") && !m(r"\h", b"\n"));
        assert!(m(r"\V", b"a") && !m(r"\V", b"\n"));
        assert!(m(r"\e", b"\x1b"));
        assert!(m(r"\101", b"A"));
        assert!(m(r"\0101", b"\x081"));
        assert!(m(r"\cA", b"\x01"));
        assert!(m(r"\Qa.b\E+", b"a.bb") && !m(r"\Qa.b\E+", b"axb"));
        assert!(m("a(?#comment)b", b"ab"));
        assert!(m(r"[&&]", b"&"));
        assert!(m(r"[%--]", b"+"));
        assert!(m(r"[~~]", b"~"));
        assert!(m(r"\Aab\z", b"ab") && !m(r"\Aab\z", b"ab\n"));
        assert!(m(r"x\Z", b"x\n") && !m(r"x\Z", b"x\n\n"));
        assert!(m(r"[[:alpha:]]+", b"abc"));
    }

    #[test]
    fn multiline_and_dotall() {
        // `$` matches before a final newline (and any newline: MULTILINE).
        assert!(m("x$", b"x\n"));
        assert!(m("x$", b"x\ny"));
        assert!(!m("x$", b"x\r\n"));
        assert!(m("^b", b"a\nb"));
        assert!(m("a.b", b"a\nb"));
        // PCRE's `^` does not match after a newline that ends the subject.
        assert!(!m("^$", b"a\n"));
        assert!(m("^$", b"\n"));
        assert!(m("^$", b"a\n\n"));
        assert!(!m("a\\n^", b"a\n"));
        assert!(m("a\\n^", b"a\nb"));
        assert!(m("^$", b""));
    }

    #[test]
    fn possessive() {
        let re = Regex::new(r"\s*+;").unwrap();
        assert!(!re.uses_fallback());
        assert!(re.is_match(b"  ;"));
        // PCRE never matches this: the run keeps every `a`.
        let re = Regex::new(r"a*+a").unwrap();
        assert!(!re.uses_fallback());
        assert!(!re.is_match(b"aaa"));
        // Dropping the `+` would match here; libmodsecurity 3.0.15 does not.
        assert!(!m(r"^a=\s*+[^;]+$", b"a=   "));
        assert!(m(r"^a=\s*+[^;]+$", b"a= x"));
        let re = Regex::new(r"(a\s*+)\s").unwrap();
        assert!(re.uses_fallback());
        assert!(!re.is_match(b"a  "));
    }

    #[test]
    fn fallback() {
        let re = Regex::new(r"<\?(?!xml)").unwrap();
        assert_eq!(
            re.warning().as_deref(),
            Some("rule uses lookaround; runs on the backtracking fallback")
        );
        assert!(re.is_match(b"<?php") && !re.is_match(b"<?xml"));
        assert!(m(r"(a)\1", b"aa") && !m(r"(a)\1", b"ab"));
        assert!(m(r"(?<=\x80)b", b"\x80b"));
    }

    #[test]
    fn the_linear_engine_is_built_on_first_search_unless_it_may_be_too_large() {
        let built = |re: &Regex| matches!(&re.engine, Engine::Linear(c) if c.get().is_some());
        let re = Regex::new(r"(?i)union\s+select").unwrap();
        assert!(!built(&re));
        assert!(re.required_literals().is_some());
        assert!(re.is_match(b"x UNION  SELECT"));
        assert!(built(&re));
        // Estimated past the threshold: built at load, where the size limit is a load error
        // (the fallback refuses it too).
        let err = Regex::new("(?:a[b-z]{1000}){1000}").unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        let big = Regex::new("(?:a[b-z]{300}){300}").unwrap();
        assert!(!big.uses_fallback() && built(&big));
    }

    #[test]
    fn errors() {
        assert!(matches!(Regex::new("("), Err(CompileError::Invalid(_))));
        assert!(matches!(
            Regex::new("a{3,2}"),
            Err(CompileError::Invalid(_))
        ));
        assert!(matches!(
            Regex::new(r"\x{100}"),
            Err(CompileError::Invalid(_))
        ));
        assert!(matches!(
            Regex::new("(?R)"),
            Err(CompileError::Unsupported(_))
        ));
    }

    #[test]
    fn captures_like_pcre() {
        let g = |v: &[Option<&str>]| -> Vec<Option<Vec<u8>>> {
            v.iter().map(|x| x.map(|s| s.as_bytes().to_vec())).collect()
        };
        assert_eq!(
            groups("(abc)(def)", b"abcdef"),
            g(&[Some("abcdef"), Some("abc"), Some("def")])
        );
        assert_eq!(
            groups("(a|b|1|2)(a|b|1|2)", b"a2b1"),
            g(&[Some("a2"), Some("a"), Some("2")])
        );
        assert_eq!(
            groups("(a)(b?)(c)", b"ac"),
            g(&[Some("ac"), Some("a"), Some(""), Some("c")])
        );
        assert_eq!(groups("(a)|(b)", b"b"), g(&[Some("b"), None, Some("b")]));
        assert_eq!(groups("(?:(a)|b)+", b"ab"), g(&[Some("ab"), Some("a")]));
        assert_eq!(groups("[a-z]*", b"aaa0bbb"), g(&[Some("aaa")]));
    }

    #[test]
    fn global_like_libmodsecurity() {
        let v = |s: &[&str]| s.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(global("[a-z]*", b"aaa0bbb"), v(&["aaa", "", "bbb", ""]));
        assert_eq!(global("(|a)", b"a"), v(&["", "a", ""]));
        assert_eq!(global("(^|a)(b|c)(d)", b"bdacd"), v(&["bd", "acd"]));
        assert_eq!(global("x", b"axbx"), v(&["x", "x"]));
        // An empty match past the search offset is found again from each offset before it:
        // from 0, 1 and 2 (the boundary at 2), then from 3 and 4 (the one at 4).
        assert_eq!(global(r"\b", b"  ab"), v(&["", "", "", "", ""]));
    }

    /// Pieces the prefilters' random patterns are made of: punctuation, letters, words,
    /// optional and repeated parts, assertions, classes, caseless parts, groups.
    const PIECES: &[&str] = &[
        ";",
        "a",
        "ab",
        "b",
        "<",
        "[;&]",
        "[a-c]",
        "\\s*",
        "\\s+",
        "\\b",
        "^",
        "$",
        "(?:x|;)",
        "(?:xy|;)",
        "(?:;|<a)",
        "(?:a|b)",
        "(?:ab|ba)",
        "b?",
        ";?",
        "(?:;)+",
        "(?:<a)*",
        "(?i)ab",
        "[^a]",
        ".",
        "\\w+",
        "(?:&&|\\|\\|)",
        "x{2,3}",
        "(?:;{0,2})",
        "(?:)",
        "A",
        "[A-C]",
        "(?i)a;x",
        "(a)(b)",
        // optional punctuation between letters ([`factors::escape_factors`])
        "[;<]*",
        "(?:<b)?",
        // words with common starts, their tails ending in a class ([`factors`]'s leads)
        "x(?:a\\s+|ab)",
        "(?:a(?:b|[^x])|xy)",
        "y(?:[ab;<]|ab?)",
        "a?b",
        "(?:xa)+",
    ];

    proptest::proptest! {
        /// Whatever the pattern, a value a prefilter rules out is one the pattern does not
        /// match: the required bytes (of the tree as it is, and of the lowercased tree the
        /// engine uses), and the literals (prefixes, suffixes or factors), which the matcher
        /// searches without regard to ASCII case.
        #[test]
        fn a_ruled_out_value_never_matches(
            branches in proptest::collection::vec(
                proptest::collection::vec(0..PIECES.len(), 1..6), 1..4),
            hays in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(
                    &b"ab;<&|xy AB\n"[..]), 0..14), 1..20),
        ) {
            let pattern = branches
                .iter()
                .map(|b| b.iter().map(|&i| PIECES[i]).collect::<String>())
                .collect::<Vec<_>>()
                .join("|");
            let parsed = parse(pattern.as_bytes()).unwrap();
            let Ok(tree) = hir::linear_hir(&parsed.node) else { return Ok(()) };
            let Ok(re) = build_linear(&tree) else { return Ok(()) };
            let lower = hir::linear_hir_lowercased(&parsed.node).unwrap();
            for set in [RequiredBytes::of(&tree), RequiredBytes::of_lowercased(&lower)]
                .into_iter()
                .flatten()
            {
                for h in &hays {
                    proptest::prop_assert!(
                        set.found_in(h) || !re.is_match(h),
                        "{pattern} matches {:?} without any of {set:?}",
                        h.escape_ascii().to_string()
                    );
                }
            }
            let sets = [required_literals(&lower, true), factors::last_resort_factors(&lower)];
            for literals in sets.into_iter().flatten() {
                for h in &hays {
                    let lower_h = h.to_ascii_lowercase();
                    let held = literals
                        .iter()
                        .any(|l| lower_h.windows(l.len()).any(|w| w == &l[..]));
                    proptest::prop_assert!(
                        held || !re.is_match(h),
                        "{pattern} matches {:?} without any of {literals:?}",
                        h.escape_ascii().to_string()
                    );
                }
            }
        }
    }
}
