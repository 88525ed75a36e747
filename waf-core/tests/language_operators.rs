//! The SecRules language tests for operators (`../shared/modsecurity-tests/
//! secrules-language-tests/operators/*.json`), run as ModSecurity's unit test runner
//! (`test/unit/unit.cc`, `unit_test.cc`) runs them:
//!
//! - `input` is the JSON string as YAJL gives it to a C string (UTF-8, cut at the first NUL),
//!   then decoded by the runner's `json2bin`: every `\xHH` (a backslash, `x`, two characters)
//!   becomes that byte, then every `\uHHHH` the byte of its low 8 bits, each repeated until
//!   none is left;
//! - the operator is built from `name` and `param` (through the SecLang parser, as a rule
//!   would have it; a `param` with a newline, which no rule line can hold, or a blank one,
//!   which no rule loads, is given to the operator directly), with data files (`@pmFromFile test-cases/...`) resolved from a
//!   directory where `test-cases` is the suite, as the runner's working directory has it;
//! - the verdict is compared with `ret`; for `@rx`, the captures with `re_groups` too
//!   (`TX:0`, `TX:1`...);
//! - cases that need a `resource` the build lacks (GeoIP) are skipped, as the runner skips
//!   them.
//!
//! Cases that cannot pass for a reason outside the engine are listed, with the reason, in
//! `tests/expected_failures.txt` (suite `secrules-operators`, case `file.json:index`); a
//! listed case that passes fails the test too. The last line printed is `N passed, M failed`.

use seclang_parser::names::OperatorName;
use seclang_parser::{DirectiveKind, MacroString, OperatorArgument, Span};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use waf_core::operators::{compile, CompileContext, Operator, OperatorContext};

const SUITE: &str = "secrules-operators";

/// The runner's `json2bin` on the C string YAJL returns.
fn json2bin(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    if let Some(z) = v.iter().position(|&b| b == 0) {
        v.truncate(z);
    }
    replace_escapes(&mut v, b'x', 2);
    replace_escapes(&mut v, b'u', 4);
    v
}

/// Replaces `\<letter>` + `digits` alphanumerics (ModSecurity's regex `\\x([a-z0-9A-Z]{2})`)
/// by the byte `sscanf("%x")` reads from them, everywhere the same text occurs, until none is
/// left.
fn replace_escapes(v: &mut Vec<u8>, letter: u8, digits: usize) {
    loop {
        let found = (0..v.len()).find(|&i| {
            v.len() >= i + 2 + digits
                && v[i] == b'\\'
                && v[i + 1] == letter
                && v[i + 2..i + 2 + digits]
                    .iter()
                    .all(u8::is_ascii_alphanumeric)
        });
        let Some(i) = found else { return };
        let seq = v[i..i + 2 + digits].to_vec();
        let mut value: u32 = 0;
        for &d in &seq[2..] {
            match (d as char).to_digit(16) {
                Some(h) => value = value * 16 + h,
                None => break,
            }
        }
        let byte = value as u8;
        let mut out = Vec::with_capacity(v.len());
        let mut j = 0;
        while j < v.len() {
            if v[j..].starts_with(&seq) {
                out.push(byte);
                j += seq.len();
            } else {
                out.push(v[j]);
                j += 1;
            }
        }
        *v = out;
    }
}

#[derive(Default)]
struct Cx {
    tx: BTreeMap<usize, Vec<u8>>,
}

impl OperatorContext for Cx {
    fn expand(&mut self, argument: &MacroString) -> Vec<u8> {
        argument.raw.as_bytes().to_vec()
    }
    fn capturing(&self) -> bool {
        true
    }
    fn capture(&mut self, index: usize, value: &[u8]) {
        self.tx.insert(index, value.to_vec());
    }
}

/// The operator as a rule would have it, or given directly when no rule line can hold it.
fn operator(name: &str, param: &str) -> Result<seclang_parser::Operator, String> {
    let op_name =
        OperatorName::from_name(name).ok_or_else(|| format!("unknown operator {name}"))?;
    // (a blank parameter no rule loads either, as in libmodsecurity v3; its unit runner builds
    // the operator itself)
    let blank = param.trim_matches(' ').is_empty() && !op_name.takes_no_argument();
    if param.contains('\n') || blank {
        return Ok(seclang_parser::Operator {
            span: Span::default(),
            negated: false,
            name: op_name,
            argument: MacroString::literal(param),
            parsed: OperatorArgument::Text,
        });
    }
    let arg = if param.is_empty() && op_name.takes_no_argument() {
        String::new()
    } else {
        format!(" {}", param.replace('"', "\\\""))
    };
    let rule = format!("SecRule ARGS \"@{name}{arg}\" \"id:1\"");
    let (d, errors) = seclang_parser::parse_str(&rule, seclang_parser::FileId(0));
    if let Some(e) = errors.first() {
        return Err(format!("the parser refuses `{rule}`: {e:?}"));
    }
    match d.into_iter().next().map(|d| d.kind) {
        Some(DirectiveKind::Rule(r)) => Ok(r.operator),
        _ => Err("not a rule".into()),
    }
}

/// A directory where `test-cases` is the suite (ModSecurity's runner works from `test/`).
fn work_dir(suite: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sekisho-lang-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("test-cases");
    if !link.exists() {
        std::os::unix::fs::symlink(suite, &link).unwrap();
    }
    dir
}

fn show(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        if (0x20..0x7f).contains(&c) && c != b'\\' {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s
}

#[test]
fn secrules_language_operator_cases() {
    let Some(shared) = sekisho_tests::shared_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/modsecurity-tests is required in CI"
        );
        eprintln!("skipped: no ../shared (the SecRules language tests) beside the repository");
        return;
    };
    let suite = shared.join("modsecurity-tests");
    let dir = work_dir(&suite);
    let expected = sekisho_tests::expected_failures(SUITE);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(suite.join("secrules-language-tests/operators"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
    files.sort();
    let (mut passed, mut listed, mut skipped) = (0, 0, 0);
    let mut wrong = Vec::new();
    let mut stale = Vec::new();
    for file in &files {
        let fname = file.file_name().unwrap().to_string_lossy().into_owned();
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap())
            .unwrap_or_else(|e| panic!("{fname}: {e}"));
        for (i, case) in json.as_array().expect("a JSON array").iter().enumerate() {
            let id = format!("{fname}:{i}");
            if case.get("resource").is_some() {
                skipped += 1;
                continue;
            }
            let name = case["name"].as_str().unwrap_or("");
            let param = case["param"].as_str().unwrap_or("");
            let input = json2bin(case["input"].as_str().unwrap_or(""));
            let want = case["ret"].as_i64().unwrap_or(-1) == 1;
            let outcome: Result<(), String> = (|| {
                let op = operator(name, param)?;
                let mut warnings = Vec::new();
                let mut cx = CompileContext::new(&dir, &mut warnings);
                let compiled: Box<dyn Operator> =
                    compile(&op, &mut cx).map_err(|e| format!("load error: {e}"))?;
                let mut tx = Cx::default();
                let got = compiled.evaluate(&mut tx, &input);
                if got != want {
                    return Err(format!(
                        "returned {}, expected {}",
                        u8::from(got),
                        u8::from(want)
                    ));
                }
                if let (true, Some(groups)) = (name == "rx", case["re_groups"].as_array()) {
                    for (k, g) in groups.iter().enumerate() {
                        let g = g.as_str().unwrap_or("").as_bytes();
                        if tx.tx.get(&k).map(Vec::as_slice) != Some(g) {
                            return Err(format!(
                                "TX:{k} is {:?}, expected {:?}",
                                tx.tx.get(&k).map(|v| show(v)),
                                show(g)
                            ));
                        }
                    }
                }
                Ok(())
            })();
            match (outcome, expected.get(&id)) {
                (Ok(()), None) => passed += 1,
                (Err(_), Some(_)) => listed += 1,
                (Ok(()), Some(reason)) => stale.push(format!(
                    "{id}: passes now; remove it from tests/expected_failures.txt ({reason})"
                )),
                (Err(e), None) => wrong.push(format!(
                    "{id}: @{name} {:?} on \"{}\": {e}",
                    param,
                    show(&input)
                )),
            }
        }
    }
    for w in wrong.iter().chain(&stale) {
        eprintln!("{w}");
    }
    eprintln!(
        "{} listed as expected failures, {} stale entries",
        listed,
        stale.len()
    );
    eprintln!(
        "{} passed, {} failed, {} skipped",
        passed + stale.len(),
        wrong.len() + listed,
        skipped
    );
    assert!(
        wrong.is_empty() && stale.is_empty(),
        "{} unexpected results",
        wrong.len() + stale.len()
    );
    assert!(passed > 3500, "too few cases judged: {passed}");
}

#[test]
fn json2bin_like_the_runner() {
    assert_eq!(json2bin("\\xe4"), vec![0xe4]);
    assert_eq!(json2bin("\\0\\xe4"), b"\\0\xe4".to_vec());
    assert_eq!(json2bin("\\xFF\\0"), b"\xff\\0".to_vec());
    assert_eq!(json2bin("a\u{0}b"), b"a".to_vec());
    assert_eq!(json2bin("\u{d0}"), vec![0xc3, 0x90]);
    assert_eq!(json2bin("\\x5cx41"), b"A".to_vec());
    assert_eq!(json2bin("\\u0041"), b"A".to_vec());
}
