//! # Operators
//!
//! The `@` operators of SecLang, compiled once per rule and evaluated per value, with
//! libmodsecurity 3.0.15's results (each file's doc says where that took care, and which
//! behaviours were checked against the real library). One file per operator family, as in
//! Coraza's `internal/operators`:
//!
//! | file | operators |
//! |---|---|
//! | [`rx`] | `@rx`, `@rxGlobal` (patterns: [`crate::regex`]) |
//! | [`pm`] | `@pm`, `@pmFromFile` / `@pmf` |
//! | [`strings`] | `@beginsWith`, `@endsWith`, `@contains`, `@containsWord`, `@streq`, `@strmatch`, `@within` |
//! | [`numeric`] | `@eq`, `@ge`, `@gt`, `@le`, `@lt` |
//! | [`validate`] | `@validateByteRange`, `@validateUrlEncoding`, `@validateUtf8Encoding` |
//! | [`verify`] | `@verifyCC`, `@verifyCPF`, `@verifySSN`, `@verifySVNR` |
//! | [`ip_match`] | `@ipMatch`, `@ipMatchFromFile` / `@ipMatchF` |
//! | [`libinjection`] | `@detectSQLi`, `@detectXSS` |
//! | [`unconditional`] | `@unconditionalMatch`, `@noMatch` |
//! | [`unsupported`] | `@gsbLookup`, `@rsub`, `@validateHash` (refused by libmodsecurity too), `@fuzzyHash`, `@validateDTD`, `@validateSchema` (need libraries this build lacks), `@inspectFile`, `@rbl` |
//!
//! Negation (`!@rx`) is applied by the caller. Captures (`TX:0`...) are stored only through
//! [`OperatorContext::capture`] and only when [`OperatorContext::capturing`] says the rule has
//! the `capture` action, with what libmodsecurity stores: `@rx` the match and every group that
//! took part (all of them, not only nine), `@rxGlobal` the groups of every match numbered on
//! from each other, `@pm`/`@pmFromFile` the matched phrase, `@verify*` the verified number,
//! `@detectSQLi` the fingerprint, `@detectXSS` the whole value, `@rbl` the value; the other
//! operators store nothing.

pub mod ip_match;
pub mod libinjection;
pub mod numeric;
pub mod pm;
pub mod rx;
pub mod strings;
pub mod unconditional;
pub mod unsupported;
pub mod validate;
pub mod verify;

use seclang_parser::names::OperatorName;
use seclang_parser::MacroString;
use std::path::{Path, PathBuf};

/// What an operator needs from the transaction while it runs.
pub trait OperatorContext {
    /// The text of an argument with `%{...}` macros expanded (only called for arguments with macros).
    fn expand(&mut self, argument: &seclang_parser::MacroString) -> Vec<u8>;
    /// [`OperatorContext::expand`] as a shared buffer, which a text that is one macro alone
    /// may give without a copy.
    fn expand_shared(
        &mut self,
        argument: &seclang_parser::MacroString,
    ) -> crate::collection::Bytes {
        self.expand(argument).into()
    }
    /// [`OperatorContext::expand_shared`] of `argument`, a lone `%{tx.name}` whose element
    /// name and [`crate::collection::name_hash`] are `name` and `hash`.
    fn tx_value(
        &mut self,
        argument: &seclang_parser::MacroString,
        _name: &[u8],
        _hash: u64,
    ) -> crate::collection::Bytes {
        self.expand_shared(argument)
    }
    /// The value of `TX:name` (whose [`crate::collection::name_hash`] is `hash`) in the rule
    /// set's plan's `TX`, the one every transaction starts phase 1 from ([`crate::plan`]):
    /// the configuration's, shared by the rule set for its lifetime. `None` without a plan.
    fn planned_tx_value(&self, _name: &[u8], _hash: u64) -> Option<crate::collection::Bytes> {
        None
    }
    /// Whether the rule has the `capture` action.
    fn capturing(&self) -> bool;
    /// Stores capture `index` (TX:0..TX:9) — call only when `capturing()`.
    fn capture(&mut self, index: usize, value: &[u8]);
    /// Reports a matched range of the value (libmodsecurity's `Operator::logOffset`: the
    /// `o<start>,<len>` parts of a log line's `[ref]`), for the operators that report them.
    fn match_range(&mut self, _start: usize, _len: usize) {}
    /// Whether the ranges of this evaluation can be read: an operator may skip the search
    /// for where it matched (not whether) when they cannot and it does not capture.
    fn wants_ranges(&self) -> bool {
        true
    }
}

/// A compiled operator (negation `!` is applied by the caller, not here).
pub trait Operator: Send + Sync + std::fmt::Debug {
    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool;

    /// For `@rx` with a pattern known at load time: the pattern, so that the grouped matcher
    /// ([`crate::matcher`]) can search it together with others. `evaluate` must then be true
    /// exactly when this regex matches somewhere in the value.
    fn static_regex(&self) -> Option<&crate::regex::Regex> {
        None
    }

    /// Literals (ASCII-lowercased) one of which every value the operator matches holds, ASCII
    /// case aside: the grouped matcher ([`crate::matcher`]) searches for them together with
    /// other rules' and runs the operator only on the values that hold one. `evaluate` must
    /// then be false on any value that holds none of them.
    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        None
    }

    /// Whether `evaluate`'s answer depends on the value alone, and a `false` leaves nothing
    /// behind (no range, no capture, nothing set): a rule then tests each text of a large
    /// variable once, however many values hold it.
    fn is_pure(&self) -> bool {
        false
    }

    /// Whether `evaluate`'s answer depends on the value alone, and a `true` leaves nothing
    /// behind but its ranges and captures: a negated rule without `capture` then works out the
    /// ranges of the values it did not match only when it matches another (what they are for).
    fn reports_only_ranges(&self) -> bool {
        self.is_pure()
    }

    /// Whether `value` holds none of [`Operator::required_literals`]: `evaluate` is then false
    /// on it. `false` when the operator has none (or does not search for them itself).
    fn lacks_literals(&self, _value: &[u8]) -> bool {
        false
    }

    /// For an operator without literals: a look at a value, much cheaper than `evaluate`,
    /// that tells some values `evaluate` is false on (`true`: false on it; `false`: unsure),
    /// given the value and the set of its bytes. A `multiMatch` rule asks it of each text of a
    /// large variable before testing any (their bytes are known then).
    fn quick_rule_out(&self) -> Option<fn(&[u8], &crate::regex::ByteSet) -> bool> {
        None
    }

    /// For a comparison of integers with a constant argument (`@eq 0`): the comparison, which
    /// answers for a number without its text (a count's). `evaluate` on a number's decimal
    /// text must then be what [`numeric::IntegerTest::holds`] says of the number.
    fn integer_test(&self) -> Option<numeric::IntegerTest> {
        None
    }

    /// Bytes one of which every value the operator matches holds, when there is such a set of
    /// uncommon bytes: a rule none of whose values holds one is skipped (see
    /// `transaction::candidates`). `evaluate` must then be false on any value without them.
    fn required_bytes(&self) -> Option<&crate::regex::RequiredBytes> {
        None
    }
}

/// Where the operator's files are looked up (`@pmFromFile x.data` is relative to the rule's file's directory, as libmodsecurity resolves it), and where load-time warnings go.
pub struct CompileContext<'a> {
    pub rule_dir: &'a std::path::Path,
    pub warnings: &'a mut Vec<String>,
    /// What the load builds on other threads meanwhile ([`crate::prebuild`]).
    pub(crate) prebuilt: Option<&'a crate::prebuild::Prebuilt<'a>>,
}

impl<'a> CompileContext<'a> {
    pub fn new(rule_dir: &'a std::path::Path, warnings: &'a mut Vec<String>) -> CompileContext<'a> {
        CompileContext {
            rule_dir,
            warnings,
            prebuilt: None,
        }
    }
}

/// Compiles an operator; an error is a load error (message only; the caller adds file:line:col).
pub fn compile(
    op: &seclang_parser::Operator,
    ctx: &mut CompileContext<'_>,
) -> Result<Box<dyn Operator>, String> {
    use OperatorName as N;
    let arg = &op.argument;
    Ok(match op.name {
        N::Rx => rx::compile_rx(arg, ctx)?,
        N::RxGlobal => rx::compile_rx_global(arg, ctx)?,
        N::Pm => Box::new(pm::Pm::from_param(&arg.raw)),
        N::PmFromFile => Box::new(match ctx.prebuilt {
            Some(prebuilt) => {
                let (pm, warnings) = prebuilt.phrases(&arg.raw, ctx.rule_dir)?;
                ctx.warnings.extend(warnings);
                pm
            }
            None => pm::Pm::from_files(&arg.raw, ctx)?,
        }),
        N::BeginsWith => Box::new(strings::BeginsWith::new(Param::new(arg))),
        N::EndsWith => Box::new(strings::EndsWith::new(Param::new(arg))),
        N::Contains => Box::new(strings::Contains::new(Param::new(arg))),
        N::ContainsWord => Box::new(strings::ContainsWord::new(Param::new(arg))),
        N::StrEq => Box::new(strings::StrEq::new(Param::new(arg))),
        N::StrMatch => Box::new(strings::StrMatch::new(Param::new(arg))),
        N::Within => Box::new(strings::Within::new(Param::new(arg))),
        N::Eq => Box::new(numeric::Numeric::new(numeric::Comparison::Eq, arg)),
        N::Ge => Box::new(numeric::Numeric::new(numeric::Comparison::Ge, arg)),
        N::Gt => Box::new(numeric::Numeric::new(numeric::Comparison::Gt, arg)),
        N::Le => Box::new(numeric::Numeric::new(numeric::Comparison::Le, arg)),
        N::Lt => Box::new(numeric::Numeric::new(numeric::Comparison::Lt, arg)),
        N::ValidateByteRange => Box::new(validate::ValidateByteRange::compile(op)?),
        N::ValidateUrlEncoding => Box::new(validate::ValidateUrlEncoding),
        N::ValidateUtf8Encoding => Box::new(validate::ValidateUtf8Encoding),
        N::VerifyCc => Box::new(verify::Verify::compile(verify::Kind::CreditCard, &arg.raw)?),
        N::VerifyCpf => Box::new(verify::Verify::compile(verify::Kind::Cpf, &arg.raw)?),
        N::VerifySsn => Box::new(verify::Verify::compile(verify::Kind::Ssn, &arg.raw)?),
        N::VerifySvnr => Box::new(verify::Verify::compile(verify::Kind::Svnr, &arg.raw)?),
        N::IpMatch => Box::new(ip_match::IpMatch::from_param(&arg.raw)?),
        N::IpMatchFromFile => Box::new(ip_match::IpMatch::from_file(&arg.raw, ctx)?),
        N::DetectSqli => Box::new(libinjection::DetectSqli),
        N::DetectXss => Box::new(libinjection::DetectXss),
        N::UnconditionalMatch => Box::new(unconditional::UnconditionalMatch),
        N::NoMatch => Box::new(unconditional::NoMatch),
        N::InspectFile => Box::new(unsupported::InspectFile::compile(&arg.raw, ctx)?),
        N::Rbl => Box::new(unsupported::Rbl::compile(&arg.raw, ctx)),
        // No GeoIP/MaxMind support: the rule loads and never matches (a libmodsecurity with
        // GeoIP but no database fails every lookup the same way), so configurations that carry
        // @geoLookup (Debian's CRS 3.3.4, REQUEST-910) still load; the load warning says so.
        N::GeoLookup => {
            ctx.warnings.push(
                "@geoLookup: this build has no GeoIP/MaxMind support; the operator never matches"
                    .into(),
            );
            Box::new(unconditional::NoMatch)
        }
        N::GsbLookup
        | N::Rsub
        | N::ValidateHash
        | N::FuzzyHash
        | N::ValidateDtd
        | N::ValidateSchema => return Err(unsupported::refusal(op.name, &arg.raw, ctx)),
    })
}

/// An argument that may contain `%{...}` macros, expanded at run time (libmodsecurity's
/// `RunTimeString`).
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Static(Vec<u8>),
    Dynamic(MacroString),
    /// `%{tx.name}` alone (`@within %{tx.allowed_methods}`, `@ge
    /// %{tx.inbound_anomaly_score_threshold}`), with the element's name and hash
    /// ([`crate::rule::lone_tx_macro`]).
    Tx(MacroString, crate::collection::Bytes, u64),
}

impl Param {
    pub(crate) fn new(arg: &MacroString) -> Param {
        match crate::rule::lone_tx_macro(arg) {
            Some((name, hash)) => Param::Tx(arg.clone(), name, hash),
            None if arg.has_macros() => Param::Dynamic(arg.clone()),
            None => Param::Static(arg.raw.as_bytes().to_vec()),
        }
    }

    pub(crate) fn get<'a>(&'a self, ctx: &mut dyn OperatorContext) -> ParamValue<'a> {
        match self {
            Param::Static(v) => ParamValue::Static(v),
            Param::Dynamic(m) => ParamValue::Expanded(ctx.expand_shared(m)),
            Param::Tx(m, name, hash) => ParamValue::Expanded(ctx.tx_value(m, name, *hash)),
        }
    }
}

/// A [`Param`]'s text at run time: the rule's own, or the expansion of its macros (for one
/// macro alone, `@within %{tx.restricted_headers_basic}`, the variable's buffer, not a copy).
pub(crate) enum ParamValue<'a> {
    Static(&'a [u8]),
    Expanded(crate::collection::Bytes),
}

impl std::ops::Deref for ParamValue<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ParamValue::Static(v) => v,
            ParamValue::Expanded(v) => v,
        }
    }
}

/// A data file named by an operator, found as libmodsecurity's `utils::find_resource` finds
/// it: the path as given (absolute, or relative to the process's directory), then relative
/// to the directory of the rule's file. What it opens there may be a directory (an `ifstream`
/// opens one), which [`read_resource`] reads as nothing.
pub(crate) fn find_resource(name: &str, ctx: &CompileContext<'_>) -> Result<PathBuf, String> {
    let given = Path::new(name);
    if given.is_file() || given.is_dir() {
        return Ok(given.to_path_buf());
    }
    let beside = ctx.rule_dir.join(name);
    if beside.is_file() || beside.is_dir() {
        return Ok(beside);
    }
    Err(format!(
        "Looking at: '{}', '{}'",
        given.display(),
        beside.display()
    ))
}

/// The bytes of a file [`find_resource`] found for the operator `@op`. A directory loads as
/// an empty file, as in libmodsecurity (whose read of it fails without an error), with a
/// load warning: a list that can never match is seldom what was meant.
pub(crate) fn read_resource(
    op: &str,
    name: &str,
    path: &Path,
    ctx: &mut CompileContext<'_>,
) -> Result<Vec<u8>, String> {
    if path.is_dir() {
        ctx.warnings.push(format!(
            "@{op}: '{name}' is a directory ({}): read as an empty list, as libmodsecurity does",
            path.display()
        ));
        return Ok(Vec::new());
    }
    std::fs::read(path).map_err(|e| format!("Failed to open file: '{name}'. {e}"))
}

#[cfg(test)]
pub(crate) mod testing {
    //! A minimal [`OperatorContext`] for the unit tests.
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    pub(crate) struct Cx {
        pub(crate) capture: bool,
        pub(crate) tx: BTreeMap<usize, Vec<u8>>,
        pub(crate) vars: BTreeMap<String, Vec<u8>>,
    }

    impl OperatorContext for Cx {
        fn expand(&mut self, argument: &MacroString) -> Vec<u8> {
            if let Some(text) = argument.literal_text() {
                return text.as_bytes().to_vec();
            }
            let mut out = Vec::new();
            for s in &argument.segments {
                match s {
                    seclang_parser::Segment::Literal(l) => out.extend_from_slice(l.as_bytes()),
                    seclang_parser::Segment::Macro { key, .. } => {
                        if let Some(v) = key.as_ref().and_then(|k| self.vars.get(&k.to_lowercase()))
                        {
                            out.extend_from_slice(v);
                        }
                    }
                }
            }
            out
        }

        fn capturing(&self) -> bool {
            self.capture
        }

        fn capture(&mut self, index: usize, value: &[u8]) {
            self.tx.insert(index, value.to_vec());
        }
    }

    /// Compiles `@name param` through the SecLang parser.
    pub(crate) fn op(text: &str) -> Box<dyn Operator> {
        try_op(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    pub(crate) fn try_op(text: &str) -> Result<Box<dyn Operator>, String> {
        try_op_in(text, Path::new("."))
    }

    pub(crate) fn try_op_in(text: &str, dir: &Path) -> Result<Box<dyn Operator>, String> {
        let rule = format!("SecRule ARGS \"{text}\" \"id:1\"");
        let (d, errors) = seclang_parser::parse_str(&rule, seclang_parser::FileId(0));
        if let Some(e) = errors.first() {
            return Err(format!("parse: {e:?}"));
        }
        let seclang_parser::DirectiveKind::Rule(r) = &d[0].kind else {
            return Err("not a rule".into());
        };
        let mut warnings = Vec::new();
        compile(&r.operator, &mut CompileContext::new(dir, &mut warnings))
    }

    pub(crate) fn eval(op: &dyn Operator, value: &[u8]) -> bool {
        op.evaluate(&mut Cx::default(), value)
    }
}
