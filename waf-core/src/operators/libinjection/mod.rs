//! `@detectSQLi` and `@detectXSS`: libinjection's SQL injection and XSS detectors.
//!
//! **Description.** True when libinjection flags the value (`libinjection_sqli`,
//! `libinjection_xss`, over the whole value, NUL bytes included). This is Sekisho's own Rust
//! implementation of libinjection v4.0.0, the version libmodsecurity 3.0.15 embeds: the SQL
//! tokenizer, folding and fingerprint check (`sqli`), and the HTML5 tokenizer and XSS
//! checks (`html5`, `xss`), with v4.0.0's keyword table and event-handler list. It allocates
//! nothing per call.
//!
//! Parity is checked by `tests/tests/libinjection_differential.rs` against the libinjection
//! inside libmodsecurity 3.0.15 (called directly through `tests/oracle/libinjection.c`): on
//! 183,562 strings (CRS 4.28's test payloads, ModSecurity's test data, every keyword and event
//! name in context, and random SQL/HTML soup with NUL and non-ASCII bytes) the SQLi verdicts
//! and fingerprints and the XSS verdicts all agree, and so they did on 1.5 million strings with
//! another random seed. That includes what the earlier `libinjectionrs` port missed:
//! `1 into outfile '/tmp/x'` in any case (`1ks`), v4.0.0's `f(f(E` and `so1n(` fingerprints, and
//! v4.0.0's event-handler list (`onauxclick`, `onscrollend`, ...; not `onbegin`).
//!
//! Speed (median per string of the mean over repeated calls, `examples/libinjection_speed.rs`
//! against the harness's `--time` and `libinjectionrs` 0.1.1, on the same corpus, one busy
//! 2-core machine): SQLi 0.47-0.64 µs, against 0.89-1.15 µs for the C code and 2.3-3.4 µs for
//! `libinjectionrs`; XSS 0.26-0.34 µs, against 0.41-0.57 µs (C) and 0.27-0.42 µs
//! (`libinjectionrs`). Most of the gain over C is the keyword table, a compile-time hash table
//! here where C binary-searches 9,352 rows.
//!
//! **Arguments.** None.
//!
//! **Captures.** `@detectSQLi`: `TX:0` is the fingerprint (`s&sos`); `@detectXSS`: `TX:0` is
//! the whole value (both as libmodsecurity stores them).
//!
//! **Example.** `SecRule ARGS "@detectSQLi" "id:942100,phase:2,block,capture"`

mod html5;
mod sqli;
mod sqli_keywords;
mod sqli_tokenizer;
mod xss;

pub use sqli::Fingerprint;

use super::{Operator, OperatorContext};

/// libinjection's SQLi verdict: the fingerprint (such as `s&sos`) when `value` looks like SQL
/// injection.
pub fn is_sqli(value: &[u8]) -> Option<Fingerprint> {
    sqli::detect(value)
}

/// libinjection's XSS verdict.
pub fn is_xss(value: &[u8]) -> bool {
    xss::detect(value)
}

/// `@detectSQLi`
#[derive(Debug)]
pub struct DetectSqli;

/// `@detectXSS`
#[derive(Debug)]
pub struct DetectXss;

/// Bytes one of which a value libinjection calls SQLi holds: all but ASCII letters, digits
/// and `_`. A value of those alone is one token, or a number and a word (a word takes in the
/// letters and digits after it: `1union` is `1` and `union`, `unionselect` one word), and no
/// fingerprint of one or two of those is SQLi; in the quote contexts the whole value is one
/// string. (Tested against the detector: `sqli_needs_a_byte_besides_word_bytes`.) Most
/// values of a request are such words: ids, numbers, names of arguments and cookies.
fn sqli_bytes() -> &'static crate::regex::RequiredBytes {
    static SQLI_BYTES: std::sync::LazyLock<crate::regex::RequiredBytes> =
        std::sync::LazyLock::new(|| {
            let others: Vec<u8> = (0..=255u8)
                .filter(|&b| !b.is_ascii_alphanumeric() && b != b'_')
                .collect();
            crate::regex::RequiredBytes::of_bytes(&others)
        });
    &SQLI_BYTES
}

impl Operator for DetectSqli {
    fn is_pure(&self) -> bool {
        true
    }

    /// [`sqli_bytes`]: all of a variable whose values are words (`ARGS_NAMES`,
    /// `REQUEST_COOKIES_NAMES`) is skipped at once.
    fn required_bytes(&self) -> Option<&crate::regex::RequiredBytes> {
        Some(sqli_bytes())
    }

    /// A value of word bytes alone ([`sqli_bytes`]) or one word (`sqli::detect`'s first
    /// test): a JSON body's argument names (`json.items.array_0.id`), both told by the
    /// value's bytes.
    fn quick_rule_out(&self) -> Option<fn(&[u8], &crate::regex::ByteSet) -> bool> {
        Some(|value, bytes| !sqli_bytes().meets(bytes) || sqli::rules_out_of(value, bytes))
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        if !sqli_bytes().found_in(value) {
            return false;
        }
        let Some(fp) = is_sqli(value) else {
            return false;
        };
        if ctx.capturing() {
            ctx.capture(0, fp.as_bytes());
        }
        true
    }
}

impl Operator for DetectXss {
    fn is_pure(&self) -> bool {
        true
    }

    /// A `<` or an `=`: libinjection flags a tag, a comment or a doctype (after a `<`) or an
    /// attribute's value (after an `=`), and nothing else ([`xss::detect`]). A benign
    /// request's arguments seldom hold either, and the rule then skips them all at once.
    fn required_bytes(&self) -> Option<&crate::regex::RequiredBytes> {
        static XSS_BYTES: std::sync::LazyLock<crate::regex::RequiredBytes> =
            std::sync::LazyLock::new(|| crate::regex::RequiredBytes::of_bytes(xss::REQUIRED));
        Some(&XSS_BYTES)
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        if !is_xss(value) {
            return false;
        }
        if ctx.capturing() {
            ctx.capture(0, value);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{is_sqli, is_xss};
    use crate::operators::testing::{eval, op, Cx};

    #[test]
    fn operators_capture() {
        let o = op("@detectSQLi");
        assert!(!eval(&*o, b""));
        assert!(!eval(&*o, b"this is not isqli"));
        assert!(eval(&*o, b"ascii(substring(version() from 1 for 1))"));
        let mut cx = Cx {
            capture: true,
            ..Cx::default()
        };
        assert!(o.evaluate(&mut cx, b"1' or '1'='1"));
        assert_eq!(cx.tx[&0], b"s&sos");
        let o = op("@detectXSS");
        assert!(!eval(&*o, b"this is not an XSS"));
        let mut cx = Cx {
            capture: true,
            ..Cx::default()
        };
        assert!(o.evaluate(&mut cx, b"<script>alert(1)</script>"));
        assert_eq!(cx.tx[&0], b"<script>alert(1)</script>");
    }

    /// `@detectSQLi`'s quick look rules out words and argument names, and nothing the
    /// detector flags.
    #[test]
    fn quick_rule_out_passes_by_words_only() {
        use crate::operators::Operator;
        let quick = super::DetectSqli.quick_rule_out().unwrap();
        let rules_out = |v: &[u8]| quick(v, &crate::regex::ByteSet::of(v));
        for v in ["", "json.items.array_0.id", "word", "_x1", "12345"] {
            assert!(rules_out(v.as_bytes()), "{v}");
        }
        for v in [
            "Product 123",
            "1' or '1'='1",
            "1 union select 1,2,3--",
            "admin'--",
            "@@version",
            "a.b c",
        ] {
            assert!(!rules_out(v.as_bytes()), "{v}");
        }
        for v in [
            "1' or '1'='1",
            "1 union select 1,2,3--",
            "admin'--",
            "' or 1=1#",
        ] {
            assert!(
                is_sqli(v.as_bytes()).is_some() && !rules_out(v.as_bytes()),
                "{v}"
            );
        }
    }

    /// Verdicts of libmodsecurity 3.0.15's libinjection (`tests/oracle/libinjection.c`).
    #[test]
    fn sqli_cases_from_the_oracle() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (&b"1' or '1'='1"[..], Some(&b"s&sos"[..])),
            (&b"1 into outfile '/tmp/x'"[..], Some(&b"1ks"[..])),
            (&b"1 iNTO OUTFILE '/tmp/x'"[..], Some(&b"1ks"[..])),
            (&b"1 into dumpfile '/tmp/x'"[..], Some(&b"1ks"[..])),
            (
                &b"1.e(ascii 1.e(substring(1.e(select"[..],
                Some(&b"f(f(E"[..]),
            ),
            (&b"x' = 1 abc("[..], Some(&b"so1n("[..])),
            (&b"this is not isqli"[..], None),
            (&b""[..], None),
            (&b"1 union select 1,2,3--"[..], Some(&b"1UE1c"[..])),
            (&b"admin'--"[..], Some(&b"sc"[..])),
            (&b"1;DROP TABLE users"[..], Some(&b"1;Tnn"[..])),
            (&b"' or 1=1#"[..], Some(&b"s&1c"[..])),
            (&b"-1 OR 1=1"[..], Some(&b"1&1"[..])),
            (&b"1 AND SLEEP(5)"[..], Some(&b"1&f(1"[..])),
            (&b"SELECT * FROM users WHERE id=1"[..], Some(&b"Eoknk"[..])),
            (&b"@@version"[..], None),
            (&b"1/*!UNION*/SELECT"[..], Some(&b"X"[..])),
            (&b"{`a`.`b`}"[..], None),
            (&b"$$foo$$ or 1"[..], Some(&b"s&1"[..])),
            (&b"x' AND 1=(SELECT 1)--"[..], Some(&b"s&1o("[..])),
            (&b"hello world"[..], None),
            (&b"1 union"[..], None),
            (&b"1-- "[..], Some(&b"1c"[..])),
            (&b"1234-ABCDEF--"[..], Some(&b"1c"[..])),
            (&b"\"a\" or \"b\"=\"b"[..], Some(&b"s&sos"[..])),
            (&b"q'[x]' or 1=1"[..], Some(&b"s&1"[..])),
            (&b"1 or\x001=1"[..], Some(&b"1&1"[..])),
            (&b"1\xa0or 1=1"[..], Some(&b"1&1"[..])),
            // `[` opens a bracketed word in both dialects in this version.
            (&b"[a] or 1=1"[..], Some(&b"n&1"[..])),
            (&b"1 [x] union select 1"[..], Some(&b"1nUE1"[..])),
        ];
        for (input, want) in cases {
            let got = is_sqli(input);
            assert_eq!(
                got.as_ref().map(|f| f.as_bytes()),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// Verdicts of libmodsecurity 3.0.15's libinjection (`tests/oracle/libinjection.c`).
    #[test]
    fn xss_cases_from_the_oracle() {
        let cases: &[(&[u8], bool)] = &[
            (&b"<script>alert(1)</script>"[..], true),
            (&b"this is not an XSS"[..], false),
            (&b"<a onauxclick=x>"[..], true),
            (&b"<a onclick=x>"[..], true),
            (&b"<a onclickx=1>"[..], true),
            (&b"<a onbegin=1>"[..], false),
            (&b"<a href=\"javascript:alert(1)\">"[..], true),
            (&b"<a href=\"&#106;avascript:x\">"[..], true),
            (&b"<img src=x>"[..], false),
            (&b"<!DOCTYPE html>"[..], true),
            (&b"<svg/onload=1>"[..], true),
            (&b"<!--[if IE]>"[..], true),
            (&b"<b style=color:red>"[..], true),
            (&b"<a xmlns:x=1>"[..], true),
            (&b"\"><img src=x onerror=alert(1)>"[..], true),
            (&b"<a href=data:text/html,1>"[..], true),
            (&b"<a on\x00click=1>"[..], false),
            (&b"<p>hello</p>"[..], false),
            (&b"<a onpointerrawupdate=1>"[..], true),
            (&b"<?xml version=1?>"[..], true),
            (&b"<% x %>"[..], false),
            (&b"<animate attributeName=onclick>"[..], true),
            // A 0xFF byte reads as C's EOF (-1) where white space is skipped.
            (&b"\xffx oncontextmenu=alert(1)"[..], false),
            (&b"x oncontextmenu=alert(1)"[..], true),
            (&b"<a onclick\xff=1>"[..], true),
        ];
        for (input, want) in cases {
            assert_eq!(is_xss(input), *want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    /// Words and numbers of SQL, run together without a byte besides letters, digits and
    /// `_`: [`super::sqli_bytes`]' pieces.
    const WORD_PIECES: &[&str] = &[
        "1",
        "0",
        "1e1",
        "0x1f",
        "0b1",
        "9e",
        "union",
        "select",
        "or",
        "and",
        "xor",
        "from",
        "where",
        "null",
        "true",
        "all",
        "sleep",
        "benchmark",
        "version",
        "user",
        "like",
        "in",
        "not",
        "div",
        "case",
        "when",
        "end",
        "limit",
        "order",
        "by",
        "having",
        "into",
        "outfile",
        "char",
        "concat",
        "exec",
        "waitfor",
        "drop",
        "insert",
        "delete",
        "admin",
        "x",
        "_",
        "e",
        "n",
    ];

    #[test]
    fn the_pieces_make_sqli_with_other_bytes() {
        // (so the property below is about values the detector would flag otherwise)
        for v in [
            "1 union select 1",
            "1 or sleep(5)",
            "admin'--",
            "1;drop table x",
        ] {
            assert!(is_sqli(v.as_bytes()).is_some(), "{v}");
        }
    }

    /// The thread's last head before a `.` (`json` of every JSON argument name) answers only
    /// for the same bytes: a keyword of the same length, or another case, is looked up.
    #[test]
    fn one_word_asks_again_for_another_head() {
        use super::sqli_tokenizer::one_word;
        for (v, one) in [
            ("json.items.array_0.id", true),
            ("json.items.array_1.id", true),
            ("abcdef.x", true),
            ("select.x", false),
            ("SELECT.x", false),
            ("selecx.x", true),
            ("json.a", true),
            ("union.a", false),
            ("sys.stragg.x", false),
            ("sys.x.y", true),
        ] {
            assert_eq!(one_word(v.as_bytes()), one, "{v}");
        }
    }

    /// Values the detector reads as one word (`sqli_tokenizer::one_word`), which it then
    /// passes by without its passes: none of them is SQLi by the passes either. Every keyword
    /// of the table (those with a `.` too: `SYS.STRAGG`), alone and with a dotted tail, and
    /// names as JSON and forms make them.
    #[test]
    fn one_word_values_are_not_sqli() {
        use super::sqli::detect_tokens;
        use super::sqli_tokenizer::one_word;
        let mut values: Vec<String> = vec![
            "json.items.array_0.id".into(),
            "json.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v".into(),
            "x.".into(),
            "_".into(),
        ];
        for (word, _) in super::sqli_keywords::WORDS {
            let word = String::from_utf8_lossy(word);
            values.push(word.to_string());
            for tail in [".1", ".x", ".union.select.1", "..", ".0x1f.e1"] {
                values.push(format!("{word}{tail}"));
                values.push(format!("json.{word}{tail}"));
            }
        }
        let mut words = 0;
        for v in &values {
            if one_word(v.as_bytes()) {
                words += 1;
                assert_eq!(detect_tokens(v.as_bytes()), None, "{v}");
            }
        }
        // (not an empty claim: about half of them are one word)
        assert!(words > values.len() / 3, "{words} of {}", values.len());
        // a keyword before a `.` cuts the word there: not one word
        for v in ["select.1", "union.x", "sys.stragg.x", "DBMS_LOCK.sleep.1"] {
            assert!(!one_word(v.as_bytes()), "{v}");
        }
        for v in ["1.x", "a b", "a'b", "a-b", "", "a`b"] {
            assert!(!one_word(v.as_bytes()), "{v}");
        }
    }

    proptest::proptest! {
        /// Values of SQL's words and numbers joined by `.`: when the detector would pass one
        /// by as one word, its passes do not flag it.
        #[test]
        fn dotted_words_read_as_one_word_are_not_sqli(
            pieces in proptest::collection::vec(0..WORD_PIECES.len(), 1..8),
            head in "[A-Za-z_][A-Za-z0-9_]{0,6}",
        ) {
            let mut value = head;
            for &i in &pieces {
                value.push('.');
                value.push_str(WORD_PIECES[i]);
            }
            if super::sqli_tokenizer::one_word(value.as_bytes()) {
                proptest::prop_assert!(super::sqli::detect_tokens(value.as_bytes()).is_none(), "{value} flagged");
            }
        }

        /// [`super::sqli_tokenizer::one_word_of`], told by the value's bytes, answers as
        /// `one_word` does, which reads them: values of SQL's words joined by `.` (and now and
        /// then another byte), past the tokenizer's 32-byte words too.
        #[test]
        fn one_word_told_by_its_bytes_is_one_word(
            pieces in proptest::collection::vec((0..WORD_PIECES.len(), "[.]{1,2}|[ '(_-]"), 0..8),
            head in "|[A-Za-z_0-9.][A-Za-z0-9_]{0,40}",
        ) {
            use super::sqli_tokenizer::{one_word, one_word_of};
            let mut value = head;
            for (i, sep) in &pieces {
                // (without a head, the first piece starts the value: `select.1`)
                if !value.is_empty() {
                    value.push_str(sep);
                }
                value.push_str(WORD_PIECES[*i]);
            }
            let v = value.as_bytes();
            proptest::prop_assert_eq!(
                one_word_of(v, &crate::regex::ByteSet::of(v)),
                one_word(v),
                "{}", value
            );
        }

        /// A value of letters, digits and `_` alone is never SQLi ([`super::sqli_bytes`],
        /// [`super::DetectSqli`]'s required bytes): the detector itself is run here.
        #[test]
        fn sqli_needs_a_byte_besides_word_bytes(
            pieces in proptest::collection::vec(0..WORD_PIECES.len(), 0..12),
            tail in "[A-Za-z0-9_]{0,8}",
        ) {
            let mut value: String = pieces.iter().map(|&i| WORD_PIECES[i]).collect();
            value.push_str(&tail);
            proptest::prop_assert!(!super::sqli_bytes().found_in(value.as_bytes()));
            proptest::prop_assert!(is_sqli(value.as_bytes()).is_none(), "{value} flagged");
        }
    }
}
