//! Helpers for the criterion micro-benchmarks in `benches/`: CRS operators taken by rule id
//! from the real rule files, and the 1 KB inputs they run on.

use seclang_parser::{parse_source, DirectiveKind, FileId};
use std::path::{Path, PathBuf};
use waf_core::operators::{self, CompileContext, Operator, OperatorContext};

/// CRS 4 (`$SEKISHO_CRS_DIR`, else `../shared/crs/v4.28.0`), if present.
pub fn crs4() -> Option<PathBuf> {
    crate::compare::config::crs4_dir(None).filter(|d| d.join("rules").is_dir())
}

/// The operator of CRS rule `id` (first rule of a chain), compiled through the public
/// [`operators::compile`] with the rule file's directory for data files.
pub fn crs_operator(crs: &Path, file: &str, id: u64) -> Box<dyn Operator> {
    let path = crs.join("rules").join(file);
    let text = std::fs::read_to_string(&path).expect("CRS rule file");
    let parsed = parse_source(&text, FileId(0));
    let rule = parsed
        .directives
        .into_iter()
        .find_map(|d| match d.kind {
            DirectiveKind::Rule(r) if r.id() == Some(id) => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("rule {id} not in {file}"));
    compile_operator(&rule.operator, &crs.join("rules"))
}

/// An operator from SecLang text such as `@detectSQLi` or `@pm a b c`.
pub fn operator(text: &str) -> Box<dyn Operator> {
    let rule = format!("SecRule ARGS \"{text}\" \"id:1,phase:2,pass\"");
    let parsed = parse_source(&rule, FileId(0));
    let op = parsed
        .directives
        .into_iter()
        .find_map(|d| match d.kind {
            DirectiveKind::Rule(r) => Some(r.operator),
            _ => None,
        })
        .expect("a rule");
    compile_operator(&op, Path::new("."))
}

fn compile_operator(op: &seclang_parser::Operator, dir: &Path) -> Box<dyn Operator> {
    let mut warnings = Vec::new();
    let mut ctx = CompileContext::new(dir, &mut warnings);
    operators::compile(op, &mut ctx).expect("operator compiles")
}

/// An operator context for a rule without `capture` and without macros.
pub struct NoCapture;

impl OperatorContext for NoCapture {
    fn expand(&mut self, argument: &seclang_parser::MacroString) -> Vec<u8> {
        argument.raw.as_bytes().to_vec()
    }
    fn capturing(&self) -> bool {
        false
    }
    fn capture(&mut self, _index: usize, _value: &[u8]) {}
}

/// `piece` repeated to `len` bytes.
pub fn repeat_to(piece: &str, len: usize) -> Vec<u8> {
    piece.bytes().cycle().take(len).collect()
}
