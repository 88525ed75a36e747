//! ModSecurity's transformation unit tests (`secrules-language-tests/transformations/*.json`,
//! in `../shared/modsecurity-tests`), run through `waf_core::transformations::get`.
//!
//! Each case is decoded exactly as ModSecurity's unit runner (`test/unit/unit_test.cc`) decodes
//! it, so a case means here what it means there:
//! 1. yajl decodes the JSON string, and the runner takes it as a C string: it ends at the first
//!    NUL (a JSON `\u0000` cuts the value).
//! 2. `json2bin`: the text `\xHH` becomes the byte 0xHH, then the text `\uHHHH` the byte 0xHH
//!    (low 8 bits). The runner finds the leftmost `\x` + two alphanumerics, replaces every copy
//!    of those four characters, and starts over; `sscanf("%x")` reads the hex digits it can, and
//!    when it reads none the previous value stays (so `\xga` repeats the byte before it).
//!
//! Like the runner, only the output is compared (the `ret` field is ignored). The name is looked
//! up as the runner's `Transformation::instantiate` does it, which also knows `cmd_line`.
//!
//! Cases listed in `tests/expected_failures.txt` (suite `secrules-transformations`) are expected
//! to fail, each for the reason given there; a listed case that passes fails the test too.

use seclang_parser::names::TransformationName;
use std::path::{Path, PathBuf};
use waf_core::transformations::get;

const SUITE: &str = "secrules-transformations";

/// The runner's `Transformation::instantiate("t:" + name)`: the SecLang names, plus `cmd_line`,
/// its name for `cmdLine`.
fn lookup(name: &str) -> Option<TransformationName> {
    TransformationName::from_name(name)
        .or((name == "cmd_line").then_some(TransformationName::CmdLine))
}

/// A JSON string as the runner sees it: a C string (cut at the first NUL), then `json2bin`.
fn runner_bytes(value: &serde_json::Value) -> Vec<u8> {
    let s = value.as_str().unwrap_or("").as_bytes();
    let c_str = &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())];
    json2bin(c_str.to_vec())
}

fn json2bin(mut s: Vec<u8>) -> Vec<u8> {
    for (letter, digits) in [(b'x', 2), (b'u', 4)] {
        // `sscanf` leaves the variable alone when it reads no digit.
        let mut value: u32 = 0;
        while let Some(pos) = find_escape(&s, letter, digits) {
            let escape = s[pos..pos + 2 + digits].to_vec();
            if let Some(v) = scan_hex(&escape[2..]) {
                value = v;
            }
            replace_all(&mut s, &escape, value as u8);
        }
    }
    s
}

/// The leftmost `\` + `letter` + `digits` ASCII alphanumerics (the runner's regex).
fn find_escape(s: &[u8], letter: u8, digits: usize) -> Option<usize> {
    s.windows(2 + digits).position(|w| {
        w[0] == b'\\' && w[1] == letter && w[2..].iter().all(u8::is_ascii_alphanumeric)
    })
}

/// `sscanf("%x")` on alphanumerics: the leading hex digits, if any.
fn scan_hex(s: &[u8]) -> Option<u32> {
    let n = s.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    (n > 0).then(|| {
        s[..n]
            .iter()
            .fold(0, |v, &c| v * 16 + char::from(c).to_digit(16).unwrap_or(0))
    })
}

/// The runner's `replaceAll`: replace each occurrence, searching again from the replacement.
fn replace_all(s: &mut Vec<u8>, search: &[u8], byte: u8) {
    let mut pos = 0;
    while let Some(found) = s[pos..].windows(search.len()).position(|w| w == search) {
        pos += found;
        s.splice(pos..pos + search.len(), [byte]);
    }
}

/// `"\xHH"`-escaped, for failure messages.
fn show(b: &[u8]) -> String {
    b.iter()
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect()
}

fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn modsecurity_transformation_cases_give_libmodsecurity_output() {
    let Some(shared) = sekisho_tests::shared_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/modsecurity-tests is required in CI"
        );
        eprintln!("skipped: no ../shared (ModSecurity's language tests) beside the repository");
        return;
    };
    let dir = shared.join("modsecurity-tests/secrules-language-tests/transformations");
    let expected = sekisho_tests::expected_failures(SUITE);
    let (mut passed, mut listed) = (0, 0);
    let mut wrong = Vec::new();
    let mut out = Vec::new();
    for file in case_files(&dir) {
        let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
                .unwrap_or_else(|e| panic!("{file_name}: {e}"));
        for (i, case) in json.as_array().expect("a JSON array").iter().enumerate() {
            let id = format!("{file_name}:{i}");
            let name = case["name"].as_str().unwrap_or("");
            let input = runner_bytes(&case["input"]);
            let want = runner_bytes(&case["output"]);
            let got = match lookup(name).map(get) {
                Some(Some(f)) => {
                    f(&input, &mut out);
                    Ok(out.clone())
                }
                Some(None) => Ok(input.clone()), // t:none
                None => Err(format!("no transformation named {name:?}")),
            };
            let ok = got.as_ref().is_ok_and(|g| *g == want);
            match (ok, expected.get(&id)) {
                (true, None) => passed += 1,
                (false, Some(_)) => listed += 1,
                (true, Some(reason)) => wrong.push(format!(
                    "{id}: passes now; remove it from tests/expected_failures.txt ({reason})"
                )),
                (false, None) => wrong.push(format!(
                    "{id}: t:{name} of \"{}\": expected \"{}\", got {}",
                    show(&input),
                    show(&want),
                    match &got {
                        Ok(g) => format!("\"{}\"", show(g)),
                        Err(e) => e.clone(),
                    }
                )),
            }
        }
    }
    for w in &wrong {
        eprintln!("{w}");
    }
    eprintln!(
        "{passed} passed, {} failed ({listed} listed as expected failures)",
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{} cases disagree (listed above)",
        wrong.len()
    );
    assert!(passed > 350, "too few cases judged: {passed}");
}

#[test]
fn json2bin_matches_the_runner() {
    assert_eq!(json2bin(br"a\x41\u0042".to_vec()), b"aAB");
    // Replacements are searched again from the replaced byte.
    assert_eq!(json2bin(br"\x5cx41".to_vec()), b"A");
    // `\xga` reads no digit: the previous value is used again.
    assert_eq!(json2bin(br"\xb6\xag\xga".to_vec()), b"\xb6\x0a\x0a");
    assert_eq!(runner_bytes(&serde_json::json!("ab\u{0}cd")), b"ab");
}
