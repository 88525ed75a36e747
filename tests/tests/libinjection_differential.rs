//! The differential test of `@detectSQLi` / `@detectXSS` against libinjection v4.0.0 as
//! libmodsecurity 3.0.15 embeds it: Sekisho's own implementation
//! (`waf_core::operators::libinjection::{is_sqli, is_xss}`) must give the same SQLi verdict, the
//! same fingerprint and the same XSS verdict as the C code on every string of a large corpus:
//!
//! - every string value of CRS 4.28's regression tests (request data, URI query arguments and
//!   headers, each as written and URL-decoded, whole and split into arguments);
//! - every string of ModSecurity's test data (`../shared/modsecurity-tests`, JSON files);
//! - every word of libinjection's keyword table and every v4.0.0 event name, in a few contexts;
//! - deterministic random mutations: SQL keyword, operator and quote soup; HTML tag and
//!   attribute soup with `on*` names; NUL and non-ASCII bytes; byte edits of the above.
//!
//! The C side is `tests/oracle/libinjection.c`, built with `cc` and run on the wheel's
//! `libmodsecurity.so.3` (PyPI `libmodsecurity`, found like `tests/oracle/run.sh` does, or in
//! `$MODSEC_WHEEL_LIBDIR`). Without the wheel or a C compiler the test says why and skips, or
//! fails when `$SEKISHO_REQUIRE_ORACLE` (or `$CI`) is set.
//!
//! `$SEKISHO_LIBINJECTION_SEED` changes the random part's seed (default fixed).
//!
//! The corpus is also written to `$CARGO_TARGET_TMPDIR/libinjection-corpus.bin` (4-byte
//! little-endian length + bytes per string), and its non-random part to
//! `libinjection-corpus-real.bin`: the inputs of `waf-core/examples/libinjection_speed.rs` and
//! of the harness's `--time` mode.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use waf_core::operators::libinjection::{is_sqli, is_xss};

/// The corpus must be at least this big.
const MIN_CORPUS: usize = 100_000;

/// Random strings added to the corpus (`$SEKISHO_LIBINJECTION_RANDOM` overrides, for longer
/// hunts).
const DEFAULT_RANDOM: usize = 150_000;

fn oracle_required() -> bool {
    std::env::var_os("SEKISHO_REQUIRE_ORACLE").is_some() || std::env::var_os("CI").is_some()
}

fn wheel_lib() -> Result<PathBuf, String> {
    sekisho_tests::wheel_libmodsecurity()
}

/// Builds `tests/oracle/libinjection.c`.
fn build_harness() -> Result<PathBuf, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle/libinjection.c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libinjection-oracle");
    let o = Command::new("cc")
        .args(["-std=c11", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .arg("-ldl")
        .output()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "cc failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(out)
}

fn encode<'a>(corpus: impl Iterator<Item = &'a Vec<u8>>) -> Vec<u8> {
    let mut buf = Vec::new();
    for s in corpus {
        buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        buf.extend_from_slice(s);
    }
    buf
}

/// Leaves a corpus in cargo's target tmp directory, for the speed measurements.
fn write_corpus<'a>(name: &str, corpus: impl Iterator<Item = &'a Vec<u8>>) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if std::fs::write(&path, encode(corpus)).is_ok() {
        eprintln!("corpus written to {}", path.display());
    }
}

/// The oracle's verdicts: (SQLi, fingerprint, XSS) per string.
fn run_oracle(
    harness: &Path,
    lib: &Path,
    input: &[u8],
) -> Result<Vec<(bool, String, bool)>, String> {
    let mut child = Command::new(harness)
        .arg(lib)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the harness: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    writer
        .join()
        .expect("writer thread")
        .map_err(|e| format!("writing to the harness: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the harness exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            match f[..] {
                [a, fp, b] => Ok((
                    a == "1",
                    if fp == "-" { "" } else { fp }.to_string(),
                    b == "1",
                )),
                _ => Err(format!("unexpected harness line {l:?}")),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The corpus.

/// URL decoding as ModSecurity's argument parser does it (`+` is a space; a bad `%` stays).
fn url_decode(s: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// A value, decoded, and for `a=b&c=d` text each name and value too.
fn add_value(set: &mut BTreeSet<Vec<u8>>, v: &[u8]) {
    set.insert(v.to_vec());
    set.insert(url_decode(v));
    for part in v.split(|&c| c == b'&') {
        let (name, value) = match part.iter().position(|&c| c == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &part[..0]),
        };
        for x in [name, value] {
            set.insert(x.to_vec());
            set.insert(url_decode(x));
        }
    }
}

fn crs_strings(shared: &Path, set: &mut BTreeSet<Vec<u8>>) {
    let dir = shared.join("crs/v4.28.0/tests/regression/tests");
    let (files, _errors) = crs_test::load_test_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for f in &files {
        for t in &f.tests {
            for st in &t.stages {
                let i = &st.input;
                for uri in i.uri.iter().chain(&i.uris) {
                    add_value(set, uri.as_bytes());
                    if let Some((_, q)) = uri.split_once('?') {
                        add_value(set, q.as_bytes());
                    }
                }
                for (_, v) in i.headers.iter().flatten() {
                    add_value(set, v.as_bytes());
                    for c in v.split(';') {
                        add_value(set, c.trim().as_bytes());
                    }
                }
                for d in [&i.data, &i.encoded_data, &i.raw_request, &i.encoded_request]
                    .into_iter()
                    .flatten()
                {
                    add_value(set, d.as_bytes());
                    for line in d.lines() {
                        add_value(set, line.as_bytes());
                    }
                }
            }
        }
    }
}

fn json_strings(v: &serde_json::Value, set: &mut BTreeSet<Vec<u8>>) {
    match v {
        serde_json::Value::String(s) => add_value(set, s.as_bytes()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, set)),
        serde_json::Value::Object(o) => o.values().for_each(|x| json_strings(x, set)),
        _ => {}
    }
}

fn modsecurity_strings(dir: &Path, set: &mut BTreeSet<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            modsecurity_strings(&p, set);
        } else if p.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read(&p).unwrap_or_default();
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&text) {
                json_strings(&v, set);
            }
        }
    }
}

/// The quoted upper-case names of one table in one of our source files (the keyword table, the
/// event list): so that every one of them is tried, in a few contexts.
fn table_names(file: &str, start: &str) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../waf-core/src/operators/libinjection")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let body = &text[text.find(start).expect("table start")..];
    let body = &body[..body.find("];").expect("table end")];
    body.split("b\"")
        .skip(1)
        .filter_map(|s| {
            s.split_once('"')
                .map(|(w, _)| w.replace("\\\\", "\\").replace("\\\"", "\""))
        })
        .map(String::into_bytes)
        .collect()
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

#[rustfmt::skip]
const SQL_BITS: &[&str] = &[
    "1", "0", "-1", "1.5", "1.e", "1e5", "1.e(", ".5", "0x41", "0b01", "0x", "x'41'", "b'01'",
    "N'a'", "n'a'", "E'a'", "q'[a]'", "Q'<a>'", "nq'(a)'", "U&'a'", "$1,00", "$$a$$", "$a$x$a$",
    "$", "'", "\"", "`", "'a'", "\"a\"", "`a`", "``", "''", "\\'", "\\\"", "\\N", "\\", "@a",
    "@@version", "@`a`", "@'a'", "--", "-- ", "--x", "#", "/*", "*/", "/**/", "/*!", "/*!50000",
    "/*/*", ";", ";;", "(", ")", ",", ".", "=", "<", ">", "<=>", "<>", "!=", "!", "!!", "~", "+",
    "-", "*", "/", "%", "^", "&", "|", "||", "&&", ":", "::", "?", "[", "]", "{", "}", "[a]", "{a",
    "{``", "select", "SELECT", "union", "UNION ALL", "all", "distinct", "from", "where", "or",
    "OR", "and", "xor", "not", "NOT", "into", "INTO", "outfile", "dumpfile", "into outfile",
    "iNtO OuTfIlE", "sleep(", "benchmark(", "char(", "concat(", "ascii(", "substring(",
    "version()", "user", "user(", "user()", "database()", "password(", "current_user", "if(", "IF",
    "case", "when", "then", "else", "end", "is", "null", "NULL", "in", "in (", "not in", "like",
    "not like", "like(", "collate", "utf8_bin", "binary", "cast(", "as", "varchar", "int",
    "order by", "group by", "having", "limit", "offset", "drop", "table", "insert", "values",
    "update", "set", "delete", "exec", "xp_cmdshell", "waitfor delay", "sp_password", "declare",
    "begin", "load_file(", "information_schema.tables", "a.b", "a", "foo", "id", "admin", "x",
    "abc_def", "true", "false", "\u{a0}", "\t", "\n", "\r", "\x0b", "\x0c", "\x00", "\u{ff}", "é",
    "日本",
];

#[rustfmt::skip]
const SEPARATORS: &[&str] = &[
    " ", " ", " ", "", "", "\t", "\n", "/**/", "+", "\x00", "\u{a0}",
];

#[rustfmt::skip]
const HTML_BITS: &[&str] = &[
    "<", ">", "/", "/>", "</", "<a", "<A", "<img", "<script", "<SCRIPT", "<svg", "<svg/", "<xsl",
    "<iframe", "<frame", "<embed", "<object", "<applet", "<base", "<link", "<meta", "<style",
    "<isindex", "<xss", "<xml", "<vmlframe", "<handler", "<listener", "<import", "<noscript",
    "<comment", "<frameset", "<b", "<p", "<div", "<animate", "<set", "<body", "<input", "<form",
    "<math", "<video", "<audio", "<marquee", "<details", "<foo", "< a", "<\x00script",
    "<scr\x00ipt", "<!", "<!--", "-->", "--!>", "--\x00>", "-- >", "<!DOCTYPE", "<!doctype",
    "<![CDATA[", "]]>", "<?", "<?xml", "<?import", "<!ENTITY", "<!--[if", "<%", "%>", "`", " ",
    "\t", "\n", "\x00", "\x0c", "=", "'", "\"", "a", "x", "1", "alert(1)", "href", "HREF", "src",
    "style", "filter", "action", "formaction", "background", "dynsrc", "lowsrc", "poster",
    "folder", "from", "to", "by", "values", "handler", "datasrc", "dataformatas", "xmlns",
    "xmlns:x", "xlink", "xlink:href", "attributeName", "attributename", "h\x00ref", "on", "onx",
    "on\x00click", "javascript:", "JaVaScRiPt:", "java", "vbscript:", "data:", "DATA:",
    "view-source:", " javascript:", "\x01javascript:", "\u{ff}javascript:", "&#106;", "&#x6a;",
    "&#X6A;", "&#106", "&#x6A", "&#0000106;", "&#x000006a;", "&#10;", "&#9;", "&#x0;",
    "&#1114111;", "&#x110000;", "&#x141;", "&#", "&#x", "&", "&amp;", "&#32;", "javas&#99;ript:",
    "ja\x00va", "ja\nva", "da\tta:", "expression(", "url(",
];

/// Event names not in libinjection v4.0.0's list (and variations of listed ones).
#[rustfmt::skip]
const OTHER_EVENTS: &[&str] = &[
    "begin", "bounce", "finish", "foo", "x", "", "clic", "mousewheelx", "repeat", "urlflip",
    "zoomx", "beforescriptexecute", "afterscriptexecute", "message", "show", "toggle",
    "contentvisibilityautostatechange", "pointerrawupdate", "scrollend", "formdata",
    "fullscreenchange", "auxclick", "beforetoggle", "loadstart", "readystatechange",
];

fn soup(rng: &mut Rng, bits: &[&str], max: usize, seps: &[&str]) -> Vec<u8> {
    let n = 1 + rng.below(max);
    let mut s = Vec::new();
    for i in 0..n {
        if i > 0 {
            s.extend_from_slice(rng.pick(seps).as_bytes());
        }
        if rng.below(16) == 0 {
            // A raw control or non-ASCII byte (C's signed chars make 0x80-0xFF special).
            s.push(*rng.pick(b"\x00\x01\x08\x0b\x1f\x7f\x80\xa0\xbf\xc0\xe9\xfe\xff"));
        } else {
            s.extend_from_slice(rng.pick(bits).as_bytes());
        }
    }
    s
}

/// A byte-level edit of `s`.
fn mutate(rng: &mut Rng, s: &[u8]) -> Vec<u8> {
    let mut s = s.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = if s.is_empty() { 0 } else { rng.below(s.len()) };
        match rng.below(7) {
            0 if !s.is_empty() => {
                s.remove(at);
            }
            1 => s.insert(at, *rng.pick(b"'\"`()<>=;#-/*\\ \x00\xa0\xff&%ONon")),
            2 if !s.is_empty() => s[at] = rng.next() as u8,
            3 if !s.is_empty() => s[at] = s[at].to_ascii_uppercase(),
            4 => s.truncate(at),
            5 if !s.is_empty() => {
                let tail = s[at..].to_vec();
                s.extend_from_slice(&tail);
            }
            _ => {
                let bit = rng.pick(SQL_BITS).as_bytes().to_vec();
                s.splice(at..at, bit);
            }
        }
    }
    s
}

fn build_corpus(shared: &Path) -> Vec<Vec<u8>> {
    let mut set = BTreeSet::new();
    crs_strings(shared, &mut set);
    let n_crs = set.len();
    modsecurity_strings(&shared.join("modsecurity-tests"), &mut set);
    let n_modsec = set.len() - n_crs;

    let words = table_names("sqli_keywords.rs", "WORDS: &[");
    let events = table_names("xss.rs", "EVENTS: &[");
    assert!(words.len() > 900 && events.len() > 400, "tables not found");
    for w in &words {
        let w = String::from_utf8_lossy(w);
        for form in [
            w.to_string(),
            w.to_lowercase(),
            format!("1 {w} 1"),
            format!("1' {w} '1"),
            format!("1\" {} 1", w.to_lowercase()),
            format!("{w}(1)"),
            format!("1 {w} 1--"),
            format!("-1 {w} select 1 #"),
            format!("`{w}`(1)"),
            format!("a.{w}.b"),
        ] {
            set.insert(form.into_bytes());
        }
    }
    let other: Vec<Vec<u8>> = OTHER_EVENTS.iter().map(|e| e.as_bytes().to_vec()).collect();
    for e in events.iter().chain(&other) {
        let e = String::from_utf8_lossy(e);
        let lower = e.to_lowercase();
        for form in [
            format!("<a on{lower}=x>"),
            format!("<a ON{e}=x>"),
            format!("<svg on{lower}>"),
            format!("x on{lower}=alert(1)"),
            format!("\" on{lower}=1 x=\""),
            format!("' on{lower}x=1"),
            format!("<b on{lower}"),
            format!("<b on{}=1>", &lower[..lower.len().saturating_sub(1)]),
            format!("<b on{lower}\x00=1>"),
            format!("<b o\x00n{lower}=1>"),
        ] {
            set.insert(form.into_bytes());
        }
    }
    let n_tables = set.len() - n_crs - n_modsec;
    write_corpus("libinjection-corpus-real.bin", set.iter());

    let seeds: Vec<Vec<u8>> = set.iter().cloned().collect();
    let seed = std::env::var("SEKISHO_LIBINJECTION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5e41_5e0d_1a7e_c7ed_u64);
    let mut rng = Rng(seed | 1);
    let random = std::env::var("SEKISHO_LIBINJECTION_RANDOM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RANDOM);
    let target = set.len() + random;
    while set.len() < target {
        let s = match rng.below(6) {
            0 | 1 => soup(&mut rng, SQL_BITS, 12, SEPARATORS),
            2 | 3 => soup(&mut rng, HTML_BITS, 10, &["", "", " ", "\x00", "\t"]),
            4 => {
                let seed = rng.pick(&seeds).clone();
                mutate(&mut rng, &seed)
            }
            _ => {
                let s = soup(&mut rng, SQL_BITS, 8, SEPARATORS);
                mutate(&mut rng, &s)
            }
        };
        set.insert(s);
    }
    eprintln!(
        "corpus: {} strings ({n_crs} from CRS 4.28's tests, {n_modsec} from ModSecurity's test \
         data, {n_tables} from the keyword and event tables, the rest random)",
        set.len()
    );
    set.into_iter().collect()
}

fn show(s: &[u8]) -> String {
    s.escape_ascii().to_string()
}

#[test]
fn libinjection_agrees_with_libmodsecurity_3_0_15() {
    let Some(shared) = sekisho_tests::require_shared("the libinjection differential test") else {
        return;
    };
    let setup = wheel_lib().and_then(|lib| build_harness().map(|h| (lib, h)));
    let (lib, harness) = match setup {
        Ok(x) => x,
        Err(why) => {
            assert!(
                !oracle_required(),
                "the libinjection differential test needs libmodsecurity 3.0.15: {why}"
            );
            eprintln!(
                "skipped: the libinjection differential test needs libmodsecurity 3.0.15: {why}"
            );
            return;
        }
    };
    let corpus = build_corpus(&shared);
    assert!(
        corpus.len() >= MIN_CORPUS,
        "corpus too small: {}",
        corpus.len()
    );
    let input = encode(corpus.iter());
    write_corpus("libinjection-corpus.bin", corpus.iter());
    let want = run_oracle(&harness, &lib, &input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        want.len(),
        corpus.len(),
        "the harness answered for fewer strings"
    );

    let (mut sqli_ok, mut xss_ok, mut sqli_flagged, mut xss_flagged) = (0, 0, 0, 0);
    let mut bad = Vec::new();
    for (s, (w_sqli, w_fp, w_xss)) in corpus.iter().zip(&want) {
        let fp = is_sqli(s);
        let got_fp = fp.as_ref().map_or(String::new(), |f| {
            String::from_utf8_lossy(f.as_bytes()).into_owned()
        });
        let xss = is_xss(s);
        sqli_flagged += usize::from(*w_sqli);
        xss_flagged += usize::from(*w_xss);
        if fp.is_some() == *w_sqli && got_fp == *w_fp {
            sqli_ok += 1;
        } else {
            bad.push(format!(
                "SQLi {:?}: libmodsecurity {} {w_fp:?}, Sekisho {} {got_fp:?}",
                show(s),
                w_sqli,
                fp.is_some()
            ));
        }
        if xss == *w_xss {
            xss_ok += 1;
        } else {
            bad.push(format!(
                "XSS {:?}: libmodsecurity {w_xss}, Sekisho {xss}",
                show(s)
            ));
        }
    }
    eprintln!(
        "libinjection on {} strings (library {}): SQLi {sqli_ok} agree ({sqli_flagged} flagged \
         by libmodsecurity), XSS {xss_ok} agree ({xss_flagged} flagged)",
        corpus.len(),
        lib.display()
    );
    for b in bad.iter().take(40) {
        eprintln!("  {b}");
    }
    assert!(
        bad.is_empty(),
        "{} disagreements with libmodsecurity 3.0.15's libinjection",
        bad.len()
    );
}
