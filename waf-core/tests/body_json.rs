//! JSON processor: libmodsecurity's regression cases (`request-body-parser-json.json`,
//! `secargumentslimit.json`) and yajl code paths.

use waf_core::body::json::{parse, JsonErrorKind, DEFAULT_DEPTH_LIMIT};

fn ok(input: &str) -> Vec<(String, String)> {
    parse(input.as_bytes(), DEFAULT_DEPTH_LIMIT, usize::MAX)
        .unwrap_or_else(|e| panic!("{input}: {e}"))
        .into_iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(&n).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn err(input: &str) -> String {
    parse(input.as_bytes(), DEFAULT_DEPTH_LIMIT, usize::MAX)
        .expect_err(input)
        .message
}

/// The regression runner appends "\n" to every body line.
fn lines(l: &[&str]) -> String {
    l.iter().map(|s| format!("{s}\n")).collect()
}

#[test]
fn regression_objects() {
    assert_eq!(
        ok(&lines(&[
            "{",
            "       \"foo\":\"bar\",",
            "       \"mod\":\"sec\"",
            "}"
        ])),
        pairs(&[("json.foo", "bar"), ("json.mod", "sec")])
    );
    assert_eq!(
        ok(&lines(&[
            "{",
            "\"first_level\":",
            "{",
            "       \"first_key\":\"bar\",",
            "       \"second_key\":\"sec\"",
            "}",
            "}"
        ])),
        pairs(&[
            ("json.first_level.first_key", "bar"),
            ("json.first_level.second_key", "sec")
        ])
    );
}

#[test]
fn regression_issue_1822() {
    // Empty body: no error (libmodsecurity ignores yajl's for a 0-byte body).
    assert_eq!(ok(""), pairs(&[]));
    // "a\n": an error.
    let e = parse(b"a\n", DEFAULT_DEPTH_LIMIT, usize::MAX).unwrap_err();
    assert_eq!(e.kind, JsonErrorKind::Lexical);
    assert_eq!(e.message, "lexical error: invalid char in json text.\n");
    assert_eq!(
        e.reqbody_error_msg(),
        "JSON parsing error: lexical error: invalid char in json text.\n"
    );
}

#[test]
fn regression_depth_limit() {
    let body = lines(&[
        "{",
        "   \"key1\":",
        "{",
        "   \"key2\":",
        "{",
        "   \"key3\":",
        "{",
        "   \"key4\":",
        "{",
        "   \"key5\":\"thevalue\"",
        "}}}}}",
    ]);
    let args = parse(body.as_bytes(), 5, usize::MAX).unwrap();
    assert_eq!(args[0].0, b"json.key1.key2.key3.key4.key5");
    let e = parse(body.as_bytes(), 4, usize::MAX).unwrap_err();
    assert_eq!(e.kind, JsonErrorKind::DepthLimit);
    assert_eq!(
        e.message,
        "parse error: client cancelled parse via callback return value\n. Parsing depth limit exceeded"
    );
}

#[test]
fn regression_arguments_limit() {
    // secargumentslimit.json: one GET argument, SecArgumentsLimit 6 passes, 5 fails.
    let body = lines(&[
        "{",
        "       \"k1\":\"v1\",",
        "       \"k2\":\"v2\",",
        "       \"k3\":\"v3\",",
        "       \"k4\":\"v4\",",
        "       \"k5\":\"v5\"",
        "}",
    ]);
    assert_eq!(
        parse(body.as_bytes(), DEFAULT_DEPTH_LIMIT, 6 - 1)
            .unwrap()
            .len(),
        5
    );
    let e = parse(body.as_bytes(), DEFAULT_DEPTH_LIMIT, 5 - 1).unwrap_err();
    assert_eq!(e.kind, JsonErrorKind::ArgsLimit);
    assert_eq!(
        e.message,
        "parse error: client cancelled parse via callback return value\n"
    );
    assert_eq!(e.args.len(), 4);
}

#[test]
fn naming() {
    assert_eq!(
        ok(r#"{"a":[1,2,[3,4],{"b":5},[],{},6]}"#),
        pairs(&[
            ("json.a.array_0", "1"),
            ("json.a.array_1", "2"),
            ("json.a.array_2.array_0", "3"),
            ("json.a.array_2.array_1", "4"),
            ("json.a.array_3.b", "5"),
            ("json.a.array_6", "6"),
        ])
    );
    assert_eq!(
        ok("[1,[2]]"),
        pairs(&[("json.array_0", "1"), ("json.array_1.array_0", "2")])
    );
    assert_eq!(ok(r#""top""#), pairs(&[("json", "top")]));
    assert_eq!(ok("42"), pairs(&[("json", "42")]));
    assert_eq!(
        ok(r#"{"":1,"x":{"":2}}"#),
        pairs(&[("json.empty-key", "1"), ("json.x.empty-key", "2")])
    );
    assert_eq!(ok(r#"{"":{"a":1}}"#), pairs(&[("json.empty-key.a", "1")]));
    assert_eq!(
        ok(r#"{"a":1,"a":2}"#),
        pairs(&[("json.a", "1"), ("json.a", "2")])
    );
    assert_eq!(ok("{}"), pairs(&[]));
    assert_eq!(ok("[]"), pairs(&[]));
    assert_eq!(ok(r#"{"a.b":{"c":1}}"#), pairs(&[("json.a.b.c", "1")]));
}

#[test]
fn values() {
    assert_eq!(
        ok(r#"{"t":true,"f":false,"n":null,"i":-0,"d":1.50,"e":1E+5,"s":"x\u0041\n"}"#),
        pairs(&[
            ("json.t", "true"),
            ("json.f", "false"),
            ("json.n", ""),
            ("json.i", "-0"),
            ("json.d", "1.50"),
            ("json.e", "1E+5"),
            ("json.s", "xA\n"),
        ])
    );
    // Keys are unescaped too.
    assert_eq!(ok(r#"{"\u0061b":1}"#), pairs(&[("json.ab", "1")]));
    // yajl checks UTF-8 structure only: an overlong form passes as bytes.
    let v = parse(b"[\"\xc0\xaf\"]", DEFAULT_DEPTH_LIMIT, usize::MAX).unwrap();
    assert_eq!(v[0].1, b"\xc0\xaf");
    // A lone high surrogate is '?' and eats the next character.
    assert_eq!(ok(r#"["\ud800xyz"]"#), pairs(&[("json.array_0", "?yz")]));
    // \u0000 is kept.
    let v = parse(br#"["a\u0000b"]"#, DEFAULT_DEPTH_LIMIT, usize::MAX).unwrap();
    assert_eq!(v[0].1, b"a\0b");
}

#[test]
fn yajl_errors() {
    assert_eq!(err(" "), "parse error: premature EOF\n");
    assert_eq!(err("{\"a\":1"), "parse error: premature EOF\n");
    assert_eq!(err("\"abc"), "parse error: premature EOF\n");
    assert_eq!(err("{} x"), "parse error: trailing garbage\n");
    assert_eq!(err("1 2"), "parse error: trailing garbage\n");
    assert_eq!(err("01"), "parse error: trailing garbage\n");
    assert_eq!(
        err("[1,]"),
        "parse error: unallowed token at this point in JSON text\n"
    );
    assert_eq!(
        err("{\"a\":1,}"),
        "parse error: invalid object key (must be a string)\n"
    );
    assert_eq!(
        err("{1:2}"),
        "parse error: invalid object key (must be a string)\n"
    );
    assert_eq!(
        err("{\"a\" 1}"),
        "parse error: object key and value must be separated by a colon (':')\n"
    );
    assert_eq!(
        err("{\"a\":1 \"b\"}"),
        "parse error: after key and value, inside map, I expect ',' or '}'\n"
    );
    assert_eq!(
        err("[1 2]"),
        "parse error: after array element, I expect ',' or ']'\n"
    );
    assert_eq!(err("tru"), "lexical error: invalid string in json text.\n");
    assert_eq!(err("nul"), "lexical error: invalid string in json text.\n");
    assert_eq!(
        err("-"),
        "lexical error: malformed number, a digit is required after the minus sign.\n"
    );
    assert_eq!(
        err("1."),
        "lexical error: malformed number, a digit is required after the decimal point.\n"
    );
    assert_eq!(
        err("1e"),
        "lexical error: malformed number, a digit is required after the exponent.\n"
    );
    assert_eq!(
        err("/*x*/1"),
        "lexical error: probable comment found in input text, comments are not enabled.\n"
    );
    assert_eq!(
        err("[\"\t\"]"),
        "lexical error: invalid character inside string.\n"
    );
    assert_eq!(
        err("[\"\\x\"]"),
        "lexical error: inside a string, '\\' occurs before a character which it may not.\n"
    );
    assert_eq!(
        err("[\"\\u12g4\"]"),
        "lexical error: invalid (non-hex) character occurs after '\\u' inside string.\n"
    );
    let e = parse(b"[\"\xff\"]", DEFAULT_DEPTH_LIMIT, usize::MAX).unwrap_err();
    assert_eq!(e.message, "lexical error: invalid bytes in UTF8 string.\n");
    // Whitespace includes \v and \f.
    assert_eq!(ok("\x0b\x0c[1]"), pairs(&[("json.array_0", "1")]));
}

#[test]
fn arguments_before_an_error_are_kept() {
    let e = parse(br#"{"a":"x","b":[1,2"#, DEFAULT_DEPTH_LIMIT, usize::MAX).unwrap_err();
    assert_eq!(e.kind, JsonErrorKind::Parse);
    let names: Vec<&[u8]> = e.args.iter().map(|(n, _)| n.as_slice()).collect();
    assert_eq!(
        names,
        [&b"json.a"[..], b"json.b.array_0", b"json.b.array_1"]
    );
}

#[test]
fn deep_input_does_not_overflow() {
    let deep = "[".repeat(1 << 20);
    let e = parse(deep.as_bytes(), DEFAULT_DEPTH_LIMIT, usize::MAX).unwrap_err();
    assert_eq!(e.kind, JsonErrorKind::DepthLimit);
    // Without a depth limit the parse ends with "premature EOF", iteratively.
    let e = parse(deep.as_bytes(), usize::MAX, usize::MAX).unwrap_err();
    assert_eq!(e.message, "parse error: premature EOF\n");
    let deep_obj = "{\"a\":".repeat(100_000);
    let e = parse(deep_obj.as_bytes(), usize::MAX, usize::MAX).unwrap_err();
    assert_eq!(e.kind, JsonErrorKind::Parse);
}
