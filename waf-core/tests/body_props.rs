//! Property tests for the body processors: no panic on any input, and hostile inputs of a
//! megabyte that a quadratic algorithm would not finish (no timing assertion: they must just
//! finish within the test run).

use proptest::prelude::*;
use waf_core::body::{json, multipart, urlencoded, xml};

fn fragments() -> impl Strategy<Value = Vec<u8>> {
    let parts = prop::sample::select(vec![
        &b"--b"[..],
        b"--b--",
        b"\r\n",
        b"\n",
        b"\r",
        b"Content-Disposition: form-data; name=\"a\"",
        b"Content-Disposition: form-data; name=\"f\"; filename=\"x\"",
        b"; filename*=utf-8''a%41",
        b"name='q\\'x'",
        b"Content-Type: text/plain",
        b" folded",
        b"\t",
        b"\x0c",
        b"\0",
        b":",
        b"\"",
        b"--",
        b"value",
        b"\xff\xfe",
    ]);
    prop::collection::vec(parts, 0..64).prop_map(|v| v.concat())
}

fn content_types() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"multipart/form-data; boundary=b".to_vec()),
        Just(b"multipart/form-data; boundary=\"b\"".to_vec()),
        Just(b"multipart/form-data boundary = b".to_vec()),
        Just(b"multipart/form-data; boundary=b; charset=UTF-8".to_vec()),
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|mut v| {
            let mut ct = b"multipart/form-data; boundary=".to_vec();
            ct.append(&mut v);
            ct
        }),
        prop::collection::vec(any::<u8>(), 0..80),
    ]
}

fn json_soup() -> impl Strategy<Value = Vec<u8>> {
    let parts = prop::sample::select(vec![
        &b"{"[..],
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\"k\"",
        b"\"\\ud800\"",
        b"\"\\u12",
        b"\"\\",
        b"\"",
        b"1.5e",
        b"-0",
        b"true",
        b"nul",
        b" ",
        b"\xc3\xa9",
        b"\xed\xa0\x80",
        b"\xff",
    ]);
    prop::collection::vec(parts, 0..64).prop_map(|v| v.concat())
}

fn xml_soup() -> impl Strategy<Value = Vec<u8>> {
    let parts = prop::sample::select(vec![
        &b"<a>"[..],
        b"</a>",
        b"<p:b x='1'>",
        b"</p:b>",
        b"<c/>",
        b"text",
        b"&amp;",
        b"&e;",
        b"<!DOCTYPE r [<!ENTITY e \"v\"><!ENTITY x SYSTEM \"f\">]>",
        b"&x;",
        b"<!--c-->",
        b"<![CDATA[<]]>",
        b"<?xml version='1.0' encoding='ISO-8859-1'?>",
        b"\xe9",
        b"\"",
        b"<",
        b">",
    ]);
    prop::collection::vec(parts, 0..48).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn multipart_never_panics(ct in content_types(), body in fragments()) {
        for extract in [false, true] {
            let cfg = multipart::MultipartConfig { extract_files: extract, upload_file_limit: 1 };
            let m = multipart::parse(&ct, &body, &cfg);
            // STRICT_ERROR covers every flag it is made of.
            let f = m.flags;
            if f.data_before || f.data_after || f.lf_line || f.invalid_part || f.header_folding {
                prop_assert!(f.strict_error);
            }
            prop_assert!(f.unmatched_boundary <= 2);
        }
    }

    #[test]
    fn multipart_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = multipart::parse(b"multipart/form-data; boundary=b", &body, &Default::default());
    }

    #[test]
    fn json_never_panics(input in json_soup()) {
        match json::parse(&input, 5, 10) {
            Ok(args) => prop_assert!(args.len() <= 10),
            Err(e) => prop_assert!(e.message.starts_with("lexical error: ") || e.message.starts_with("parse error: ")),
        }
    }

    #[test]
    fn json_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = json::parse(&input, json::DEFAULT_DEPTH_LIMIT, usize::MAX);
    }

    #[test]
    fn xml_never_panics(input in xml_soup(), xp in prop::sample::select(vec!["/*", "//@*", "//a[@x='1']", "//text()", "/a//c", "//*[local-name()='p:b']"])) {
        if let Ok(doc) = xml::parse(&input) {
            let _ = xml::select(&doc, xp);
        }
    }

    #[test]
    fn xml_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = xml::parse(&input);
    }

    #[test]
    fn urlencoded_pieces(input in prop::collection::vec(prop::sample::select(vec![b'a', b'&', b'=', b'%', b'+', b'4', b'1', 0xff]), 0..256)) {
        let mut out = Vec::new();
        let st = urlencoded::parse(&input, b'&', &mut out);
        prop_assert_eq!(st.count, out.len());
        let seps = input.iter().filter(|&&c| c == b'&').count();
        let trailing = input.last() == Some(&b'&');
        let expected = if input.is_empty() { 0 } else { seps + 1 - usize::from(trailing) };
        prop_assert_eq!(out.len(), expected);
    }
}

const MB: usize = 1 << 20;

#[test]
fn multipart_dash_lines() {
    let body = b"--\n".repeat(MB / 3);
    let m = multipart::parse(
        b"multipart/form-data; boundary=b",
        &body,
        &Default::default(),
    );
    // "--\n" is too short to look like a boundary (strlen > 3).
    assert_eq!(m.flags.unmatched_boundary, 0);
    assert!(m.flags.data_before);
    // Lines that start like our (long) boundary but differ at the end.
    let b = "x".repeat(900);
    let mut line = format!("--{}", &b[..899]).into_bytes();
    line.extend_from_slice(b"y\r\n");
    let body = line.repeat(MB / line.len());
    let ct = format!("multipart/form-data; boundary={b}");
    let m = multipart::parse(ct.as_bytes(), &body, &Default::default());
    assert_eq!(
        m.error.as_deref(),
        Some(&b"Multipart: No boundaries found in payload."[..])
    );
    // Boundary-like text inside long data lines (the "resembles a boundary" scan).
    let data = "-".repeat(MB);
    let body =
        format!("--{b}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n{data}\r\n--{b}--\r\n");
    let m = multipart::parse(ct.as_bytes(), body.as_bytes(), &Default::default());
    assert_eq!(m.args[0].1.len(), MB);
}

#[test]
fn multipart_many_parts_and_headers() {
    let mut body = Vec::new();
    for i in 0..20_000 {
        body.extend_from_slice(
            format!("--b\r\nContent-Disposition: form-data; name=\"n{i}\"\r\nX: 1\r\n\r\nv\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(b"--b--\r\n");
    let m = multipart::parse(
        b"multipart/form-data; boundary=b",
        &body,
        &Default::default(),
    );
    assert_eq!(m.args.len(), 20_000);
    assert_eq!(m.part_headers.len(), 40_000);
    // One part with a megabyte of folded header lines.
    let mut body = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n".to_vec();
    body.extend_from_slice(&b" x\r\n".repeat(MB / 4));
    body.extend_from_slice(b"\r\nv\r\n--b--\r\n");
    let m = multipart::parse(
        b"multipart/form-data; boundary=b",
        &body,
        &Default::default(),
    );
    assert_eq!(
        m.error.as_deref(),
        Some(&b"Multipart: Final boundary missing."[..])
    );
}

#[test]
fn json_large_inputs() {
    let many = format!("[{}1]", "1,".repeat(MB / 2));
    assert_eq!(
        json::parse(many.as_bytes(), 10_000, usize::MAX)
            .unwrap()
            .len(),
        MB / 2 + 1
    );
    let keys: String = (0..50_000)
        .map(|i| format!("\"k{i}\":{{\"x\":[1,2]}},"))
        .collect();
    let obj = format!("{{{keys}\"end\":0}}");
    assert_eq!(
        json::parse(obj.as_bytes(), 10_000, usize::MAX)
            .unwrap()
            .len(),
        100_001
    );
    let long_string = format!("[\"{}\"]", "\\u0041".repeat(MB / 6));
    assert_eq!(
        json::parse(long_string.as_bytes(), 10, 10).unwrap()[0]
            .1
            .len(),
        MB / 6
    );
}

#[test]
fn xml_large_inputs() {
    let wide = format!("<r>{}</r>", "<a x=\"1\">t</a>".repeat(MB / 16));
    let doc = xml::parse(wide.as_bytes()).unwrap();
    assert_eq!(xml::select(&doc, "//@*").len(), MB / 16);
    assert_eq!(xml::select(&doc, "/*")[0].len(), MB / 16);
    assert_eq!(xml::select(&doc, "//a//a").len(), 0);
    // Nested descendant steps on a deep (allowed) document.
    let deep = format!("{}{}", "<a>".repeat(250), "</a>".repeat(250));
    let doc = xml::parse(deep.as_bytes()).unwrap();
    assert_eq!(xml::select(&doc, "//a//a//a").len(), 248);
}

#[test]
fn urlencoded_large_inputs() {
    let input = "%".repeat(MB);
    let mut out = Vec::new();
    let st = urlencoded::parse(input.as_bytes(), b'&', &mut out);
    assert!(st.invalid_in_names);
    let input = "a=%41&".repeat(MB / 6);
    out.clear();
    urlencoded::parse(input.as_bytes(), b'&', &mut out);
    assert_eq!(out.len(), MB / 6);
}
