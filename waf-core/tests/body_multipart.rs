//! MULTIPART processor: cases from libmodsecurity's regression suite
//! (`test/test-cases/regression/request-body-parser-multipart*.json`, `variable-MULTIPART_*`,
//! `variable-FILES*`, `config-body_limits.json`, `issue-1825.json`, `issue-2427.json`), turned
//! into direct checks of what the parser must produce, plus cases from the C++ code paths.
//! The regression runner joins `request.body` lines with "\n" and adds a final "\n"; the
//! `body()` helper does the same.

use waf_core::body::multipart::{parse, Multipart, MultipartConfig, BUF_SIZE};

/// Joins lines like the regression runner: each line + "\n".
fn body(lines: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    for l in lines {
        b.extend_from_slice(l.as_bytes());
        b.push(b'\n');
    }
    b
}

fn run(ct: &str, body: &[u8]) -> Multipart {
    parse(ct.as_bytes(), body, &MultipartConfig::default())
}

fn args(m: &Multipart) -> Vec<(String, String)> {
    m.args
        .iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

fn err(m: &Multipart) -> Option<String> {
    m.error
        .as_ref()
        .map(|e| String::from_utf8_lossy(e).into_owned())
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const B69: &str = "---------------------------69343412719991675451336310646";
const CT69: &str =
    "multipart/form-data; boundary=---------------------------69343412719991675451336310646";

fn normal_body() -> Vec<u8> {
    body(&[
        "--0000\r",
        "Content-Disposition: form-data; name=\"name\"\r",
        "\r",
        "Brian Rectanus\r",
        "--0000\r",
        "Content-Disposition: form-data; name=\"email\"\r",
        "\r",
        "brian.rectanus@breach.com\r",
        "--0000\r",
        "Content-Disposition: form-data; name=\"image\"; filename=\"image.jpg\"\r",
        "Content-Type: image/jpeg\r",
        "\r",
        "BINARYDATA\r",
        "--0000--\r",
    ])
}

#[test]
fn normal() {
    // request-body-parser-multipart.json "multipart parser (normal)".
    let m = run("multipart/form-data; boundary=0000", &normal_body());
    assert_eq!(err(&m), None);
    assert_eq!(m.boundary, b"0000");
    assert_eq!(
        args(&m),
        pairs(&[
            ("name", "Brian Rectanus"),
            ("email", "brian.rectanus@breach.com")
        ])
    );
    assert_eq!(m.files.len(), 1);
    assert_eq!(m.files[0].name, b"image");
    assert_eq!(m.files[0].filename, b"image.jpg");
    assert_eq!(m.files[0].size, 10);
    assert_eq!(m.files[0].content, None);
    assert_eq!(m.files_combined_size(), Some(10));
    assert!(!m.flags.strict_error);
    // Every boundary after the first sets the flag to 2 ("@eq 1" rules stay quiet).
    assert_eq!(m.flags.unmatched_boundary, 2);
    assert_eq!(
        values(&m.names),
        vec![b"name".to_vec(), b"email".to_vec(), b"image".to_vec()]
    );
    assert_eq!(values(&m.filenames), vec![b"image.jpg".to_vec()]);
    assert_eq!(
        m.part_headers,
        vec![
            (
                b"name".to_vec(),
                b"Content-Disposition: form-data; name=\"name\"".to_vec()
            ),
            (
                b"email".to_vec(),
                b"Content-Disposition: form-data; name=\"email\"".to_vec()
            ),
            (
                b"image".to_vec(),
                b"Content-Disposition: form-data; name=\"image\"; filename=\"image.jpg\"".to_vec()
            ),
            (b"image".to_vec(), b"Content-Type: image/jpeg".to_vec()),
        ]
    );
}

#[test]
fn form_values_lose_line_breaks() {
    // request-body-parser-multipart-crlf.json: 'Adding request argument (BODY): name "b",
    // value "22.12.22.3"' and a 403 from MULTIPART_STRICT_ERROR (the boundary lines end in LF).
    let m = run(
        CT69,
        &body(&[
            &format!("--{B69}"),
            "Content-Disposition: form-data; name=\"a\"\r",
            "\r",
            "1\r",
            "1.1\r",
            "1.2\r",
            "1.3\r",
            &format!("--{B69}"),
            "Content-Disposition: form-data; name=\"b\"\r",
            "\r",
            "2\r",
            "2.1\r",
            "2.2\r",
            "2.3\r",
            &format!("--{B69}--"),
        ]),
    );
    assert_eq!(err(&m), None);
    assert_eq!(args(&m), pairs(&[("a", "11.11.21.3"), ("b", "22.12.22.3")]));
    assert!(m.flags.lf_line && m.flags.crlf_lf_lines && m.flags.strict_error);
}

#[test]
fn final_crlf_and_boundary_words() {
    for (ct, b) in [
        (CT69.to_string(), B69.to_string()),
        (
            format!("multipart/form-data; boundary={}boundary", "-".repeat(48)),
            format!("{}boundary", "-".repeat(48)),
        ),
        (
            "multipart/form-data; boundary=--------0xKhTmLbOuNdArY".to_string(),
            "--------0xKhTmLbOuNdArY".to_string(),
        ),
    ] {
        let m = run(
            &ct,
            &body(&[
                &format!("--{b}\r"),
                "Content-Disposition: form-data; name=\"a\"\r",
                "\r",
                "1\r",
                &format!("--{b}\r"),
                "Content-Disposition: form-data; name=\"b\"\r",
                "\r",
                "2\r",
                &format!("--{b}--\r"),
            ]),
        );
        assert_eq!(err(&m), None, "{ct}");
        assert_eq!(args(&m), pairs(&[("a", "1"), ("b", "2")]));
        assert!(!m.flags.strict_error);
    }
}

#[test]
fn data_contains_dashes() {
    let m = run(
        CT69,
        &body(&[
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=\"a\"\r",
            "\r",
            "--test\r",
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=\"b\"\r",
            "\r",
            "--\r",
            &format!("--{B69}--\r"),
        ]),
    );
    assert_eq!(args(&m), pairs(&[("a", "--test"), ("b", "--")]));
    assert!(!m.flags.strict_error);
    // "--test" and "--" look like boundaries that are not ours.
    assert_eq!(m.flags.unmatched_boundary, 2);
}

#[test]
fn no_final_boundary_drops_all_arguments() {
    let m = run(
        CT69,
        &body(&[
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=\"a\"\r",
            "\r",
            "1\r",
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=\"b\"\r",
            "\r",
            "2\r",
        ]),
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
    assert_eq!(
        m.reqbody_error_msg().unwrap(),
        b"Multipart parsing error: Multipart: Final boundary missing."
    );
    assert!(m.args.is_empty());
    // MULTIPART_NAME and part headers are set while parsing; b's header is still pending.
    assert_eq!(values(&m.names), vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(m.part_headers.len(), 1);
}

#[test]
fn missing_disposition_ends_as_final_boundary_missing() {
    // "multipart parser error (no disposition)": the part stays in header state, the next
    // boundary right after it is "data contains boundary", and the final one is never seen.
    let m = run(
        CT69,
        &body(&[
            &format!("--{B69}\r"),
            "\r",
            "1\r",
            &format!("--{B69}\r"),
            "\r",
            "2\r",
            &format!("--{B69}--\r"),
        ]),
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
    assert!(m.flags.invalid_part && m.flags.strict_error);
    assert!(m.args.is_empty());
}

#[test]
fn bad_disposition() {
    let m = run(
        CT69,
        &body(&[
            &format!("--{B69}\r"),
            "Content-Disposition: form-data name=\"a\"\r",
            "\r",
            "1\r",
            &format!("--{B69}--\r"),
        ]),
    );
    // The C-D error is replaced: the final boundary is read as a header line of the same part.
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
    // With data before the final boundary the error text survives.
    let m = run(
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data name=\"a\"\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nv\r\n--b--\r\n",
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
}

#[test]
fn disposition_without_name() {
    let m = run(
        CT69,
        &body(&[
            &format!("--{B69}\r"),
            "Content-Disposition: form-data;\r",
            "\r",
            "1\r",
            &format!("--{B69}\r"),
            "Content-Disposition: form-data;\r",
            "\r",
            "2\r",
            &format!("--{B69}--\r"),
        ]),
    );
    // rc 1 for "form-data;" (the loop ends at once), then "missing name field".
    assert!(m.flags.invalid_part);
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
}

#[test]
fn header_name_missing_error_survives() {
    // "multipart parser error (no disposition name)" 2nd case.
    let m = run(
        CT69,
        &body(&[
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=\"a\"\r",
            "\r",
            "1\r",
            &format!("--{B69}\r"),
            ":\r",
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=\"b\"\r",
            "\r",
            "2\r",
            &format!("--{B69}--\r"),
        ]),
    );
    assert_eq!(args(&m), pairs(&[("a", "1"), ("b", "2")]));
    assert!(m.flags.invalid_part);
    assert_eq!(
        err(&m),
        Some(format!(
            "Multipart: Invalid part header (colon missing): --{B69}\r\n"
        ))
    );
}

#[test]
fn header_folding() {
    for (fold, invalid) in [
        (" ", false),
        ("\t", false),
        ("    ", false),
        ("\x0c", true),
        ("\x0c\t", true),
    ] {
        let m = run(
            CT69,
            &body(&[
                &format!("--{B69}\r"),
                "Content-Disposition: form-data; name=\"a\"\r",
                "\r",
                "1\r",
                &format!("--{B69}\r"),
                "Content-Disposition: form-data;\r",
                &format!("{fold}name=\"b\"\r"),
                "\r",
                "2\r",
                &format!("--{B69}--\r"),
            ]),
        );
        assert_eq!(err(&m), None);
        assert_eq!(args(&m), pairs(&[("a", "1"), ("b", "2")]));
        assert!(m.flags.header_folding && m.flags.strict_error);
        assert_eq!(m.flags.invalid_header_folding, invalid, "{fold:?}");
        assert_eq!(
            m.part_headers[1],
            (
                b"b".to_vec(),
                b"Content-Disposition: form-data; name=\"b\"".to_vec()
            )
        );
    }
}

#[test]
fn folding_with_lf_lines() {
    // variable-MULTIPART_INVALID_HEADER_FOLDING.json: LF only, " name" folding.
    let b = format!("--{}", "-".repeat(29) + "69343412719991675451336310646");
    let ct = format!("multipart/form-data; boundary={}", &b[2..]);
    let m = run(
        &ct,
        &body(&[
            &b,
            "Content-Disposition: form-data;",
            " name=\"a\"",
            "",
            "1",
            &b,
            "Content-Disposition: form-data;",
            "    name=\"b\"",
            "",
            "2",
            &format!("{b}--"),
        ]),
    );
    assert_eq!(args(&m), pairs(&[("a", "1"), ("b", "2")]));
    assert!(m.flags.strict_error && m.flags.header_folding && !m.flags.invalid_header_folding);
    assert!(m.flags.lf_line && !m.flags.crlf_lf_lines);
    assert_eq!(err(&m), None);
}

#[test]
fn data_after_final_boundary() {
    let m = run(
        CT69,
        &body(&[
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=\"a\"\r",
            "\r",
            "1\r",
            &format!("--{B69}--\r"),
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=\"b\"\r",
            "\r",
            "2\r",
            &format!("--{B69}--\r"),
        ]),
    );
    assert_eq!(err(&m), None);
    assert_eq!(args(&m), pairs(&[("a", "1")]));
    assert!(m.flags.data_after && m.flags.strict_error);
}

#[test]
fn single_quotes_in_disposition() {
    // "multipart parser (C-D uses single quotes)": Duplicate Content-Disposition name.
    let m = run(
        CT69,
        &body(&[
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=\"a\"\r",
            "\r",
            "1\r",
            &format!("--{B69}\r"),
            "Content-Disposition: form-data; name=';filename=\"dummy';name=b;\"\r",
            "\r",
            "2\r",
            &format!("--{B69}--\r"),
        ]),
    );
    assert!(m.flags.invalid_quoting);
    assert_eq!(
        values(&m.names),
        vec![b"a".to_vec(), b";filename=\"dummy".to_vec(), b"b".to_vec()]
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
}

#[test]
fn content_type_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "multipart/form-data, boundary=0000",
            "Multipart: Invalid boundary in C-T (malformed).",
        ),
        (
            "multipart/form-data; bOundAry=0000",
            "Multipart: Invalid boundary in C-T (case sensitivity).",
        ),
        (
            "multipart/form-data; boundary123=0000",
            "Multipart: Invalid boundary in C-T (parameter name).",
        ),
        (
            "multipart/form-data; boundary=\"0000\"; boundary=1111",
            "Multipart: Multiple boundary parameters in C-T.",
        ),
        (
            "multipart/form-data; boundary=0000, boundary=1111",
            "Multipart: Multiple boundary parameters in C-T.",
        ),
        (
            "multipart/form-data; boundary=0000 ",
            "Multipart: Invalid boundary in C-T (characters).",
        ),
        (
            "multipart/form-data;boundary=0000!1111",
            "Multipart: Invalid boundary in C-T (characters).",
        ),
        (
            "multipart/form-data;boundary=\"0000 \"",
            "Multipart: Invalid boundary in C-T (characters).",
        ),
        (
            "multipart/form-data;boundary=\"00\"00\"",
            "Multipart: Invalid boundary in C-T (characters).",
        ),
        (
            "multipart/form-data;boundary=\"00\"\"00\"",
            "Multipart: Invalid boundary in C-T (characters).",
        ),
        (
            "multipart/form-data;boundary=\"0000",
            "Multipart: Invalid boundary in C-T (quote).",
        ),
        (
            "multipart/form-data;boundary=0000\"",
            "Multipart: Invalid boundary in C-T (quote).",
        ),
        (
            "multipart/form-data;boundary=\"",
            "Multipart: Invalid boundary in C-T (quote).",
        ),
        (
            "multipart/form-data",
            "Multipart: Boundary not found in C-T.",
        ),
        (
            "multipart/form-datax; boundary",
            "Multipart: Invalid boundary in C-T (malformed).",
        ),
        (
            "multipart/form-data; boundary",
            "Multipart: Invalid boundary in C-T (malformed).",
        ),
        (
            "multipart/mixed; boundary=0000",
            "Multipart: Invalid MIME type.",
        ),
        ("", "Multipart: Content-Type header not available."),
        (
            "multipart/form-data; boundary=;x",
            "Multipart: Invalid boundary in C-T (empty).",
        ),
        (
            "multipart/form-data; boundary=a boundary=b",
            "Multipart: Multiple boundary parameters in C-T.",
        ),
    ];
    for (ct, msg) in cases {
        let m = run(ct, &normal_body());
        assert_eq!(err(&m).as_deref(), Some(*msg), "{ct}");
        assert!(m.flags.strict_error, "{ct}");
        assert!(m.args.is_empty() && m.files.is_empty());
    }
    let long = format!("multipart/form-data; boundary={}", "a".repeat(1000));
    assert_eq!(
        err(&run(&long, b"x")).as_deref(),
        Some("Multipart: Invalid boundary in C-T (length).")
    );
}

#[test]
fn empty_boundary_fails_silently() {
    for ct in [
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
    ] {
        let m = run(ct, &normal_body());
        assert_eq!(err(&m), None, "{ct}");
        assert!(m.args.is_empty());
        assert!(!m.flags.strict_error);
    }
}

#[test]
fn content_type_flags() {
    // missing semicolon, whitespace, quoted: parse fine, strict error.
    for (ct, semi, ws, quoted) in [
        ("multipart/form-data boundary=0000", true, false, false),
        ("multipart/form-data; boundary =0000", false, true, false),
        ("multipart/form-data;boundary=\"0000\"", false, false, true),
        ("MULTIPART/FORM-DATA;boundary=0000", false, false, false),
    ] {
        let m = run(ct, &normal_body());
        assert_eq!(err(&m), None, "{ct}");
        assert_eq!(m.args.len(), 2);
        assert_eq!(m.flags.missing_semicolon, semi);
        assert_eq!(m.flags.boundary_whitespace, ws);
        assert_eq!(m.flags.boundary_quoted, quoted);
        assert_eq!(m.flags.strict_error, semi || ws || quoted);
    }
    // The whitespace before the value is part of the boundary: nothing matches.
    for ct in [
        "multipart/form-data; boundary= 0000",
        "multipart/form-data;boundary=0000 1111",
        "multipart/form-data;boundary=\" 0000\"",
        "multipart/form-data;boundary=\"0000 1111\"",
    ] {
        let m = run(ct, &normal_body());
        assert_eq!(
            err(&m).as_deref(),
            Some("Multipart: No boundaries found in payload."),
            "{ct}"
        );
        assert!(m.flags.data_before && m.flags.strict_error);
        assert_eq!(m.flags.unmatched_boundary, 1);
    }
}

#[test]
fn charset_after_boundary_tolerated() {
    let m = run(
        "multipart/form-data; boundary=00000000; charset=UTF-8",
        &body(&[
            "--00000000\r",
            "Content-Disposition: form-data; name=\"namea\"\r",
            "\r",
            "111\r",
            "--00000000\r",
            "Content-Disposition: form-data; name=\"nameb\"\r",
            "\r",
            "222\r",
            "--00000000--\r",
        ]),
    );
    assert_eq!(err(&m), None);
    assert_eq!(m.boundary, b"00000000");
    assert_eq!(args(&m), pairs(&[("namea", "111"), ("nameb", "222")]));
}

/// ModSecurity issue #3610: a browser boundary containing "boundary" followed by a charset.
#[test]
fn issue_3610_boundary_word_inside_the_boundary() {
    for b in [
        "----geckoformboundary8f1e6c3a9b2d4e7f",
        "----WebKitFormBoundary7MA4YWxkTrZu0gW",
        "------------boundary",
    ] {
        let ct = format!("multipart/form-data; boundary={b};charset=UTF-8");
        let body =
            format!("--{b}\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nv\r\n--{b}--\r\n");
        let m = run(&ct, body.as_bytes());
        assert_eq!(err(&m), None, "{ct}");
        assert_eq!(m.boundary, b.as_bytes());
        assert_eq!(args(&m), pairs(&[("q", "v")]));
        assert!(!m.flags.strict_error);
    }
    // A real second parameter is still refused.
    let m = run(
        "multipart/form-data; boundary=----geckoformboundaryx; boundary=y",
        b"",
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Multiple boundary parameters in C-T.")
    );
}

#[test]
fn invalid_part_header_character() {
    let m = run(
        "multipart/form-data; boundary=a",
        &body(&[
            "--a\r",
            "\x0eContent-Disposition\x0e: form-data; name=\"file\"; filename=\"1.jsp\"\r",
            "Content-Disposition: form-data; name=\"post\";\r",
            "\r",
            "<%out.print(123)%>\r",
            "--a--\r",
        ]),
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Invalid part header (contains invalid character).")
    );
    assert_eq!(args(&m), pairs(&[("post", "<%out.print(123)%>")]));
}

#[test]
fn multipart_mixed_attachment() {
    let lines = [
        "--0000\r",
        "Content-Disposition: form-data; name=\"name\"\r",
        "\r",
        "Brian Rectanus\r",
        "--0000\r",
        "Content-Disposition: attachment\r",
        "Content-Type: multipart/mixed; boundary=BbC04y\r",
        "\r",
        "--BbC04y\r",
        "Content-Disposition: file; filename=\"file1.txt\"\r",
        "\r",
        "... contents of file1.txt ...\r",
        "--0000--\r",
    ];
    let m = run("multipart/form-data; boundary=0000", &body(&lines));
    // "Invalid Content-Disposition header (-1): attachment", later replaced.
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
    assert_eq!(m.flags.unmatched_boundary, 1);
    assert!(m.flags.strict_error);
}

fn foreign(lead: &str, sep: &str, fin: &str) -> Vec<u8> {
    let dashes = "-".repeat(31);
    body(&[
        &format!("{dashes}{lead}\r"),
        "Content-Disposition: form-data; name=\"_token\"\r",
        "\r",
        "9e433de44c9e9b4ce19603269aa34edb\r",
        &format!("{dashes}{sep}\r"),
        "Content-Disposition: form-data; name=\"_attachments[]\"; filename=\"msg.txt\"\r",
        "Content-Type: text/plain\r",
        "\r",
        "----ea520cef1a2937d8e928e357992c8fdd\r",
        "Content-Transfer-Encoding: 7bit\r",
        "\r",
        "Test message, the txt file had been attached.\r",
        "\r",
        "--\r",
        "Ervin\r",
        "\r",
        "\r",
        &format!("{dashes}{fin}--\r"),
    ])
}

#[test]
fn foreign_boundaries() {
    let ct =
        "multipart/form-data; boundary=-----------------------------8842564605616207552020332273";
    let ok = "8842564605616207552020332273";
    let bad = "8842564605616207552020332274";
    // all valid: 2 ("@eq 1" quiet, "!@eq 0" fires)
    let m = run(ct, &foreign(ok, ok, ok));
    assert_eq!(err(&m), None);
    assert_eq!(m.flags.unmatched_boundary, 2);
    assert_eq!(m.files.len(), 1);
    assert_eq!(
        args(&m),
        pairs(&[("_token", "9e433de44c9e9b4ce19603269aa34edb")])
    );
    // wrong lead: still 2 at the end
    let m = run(ct, &foreign(bad, ok, ok));
    assert_eq!(m.flags.unmatched_boundary, 2);
    assert!(m.flags.data_before);
    // wrong separator: the second part is data of the first
    let m = run(ct, &foreign(ok, bad, ok));
    assert_eq!(m.flags.unmatched_boundary, 2);
    assert_eq!(m.args.len(), 1);
    assert!(m.files.is_empty());
    // wrong final: 1, and no final boundary
    let m = run(ct, &foreign(ok, ok, bad));
    assert_eq!(m.flags.unmatched_boundary, 1);
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
}

#[test]
fn file_sizes_and_combined_size() {
    // variable-FILES_SIZES.json / FILES_COMBINED_SIZE.json: 38 and 70 (32 + 38).
    let b = "--------------------------756b6d74fa1a8ee2";
    let m = run(
        &format!("multipart/form-data; boundary={b}"),
        &body(&[
            &format!("--{b}"),
            "Content-Disposition: form-data; name=\"name\"",
            "",
            "test",
            &format!("--{b}"),
            "Content-Disposition: form-data; name=\"filedata\"; filename=\"small_text_file.txt\"",
            "Content-Type: text/plain",
            "",
            "This is a very small test file..",
            &format!("--{b}"),
            "Content-Disposition: form-data; name=\"filedata\"; filename=\"small_text_file.txt\"",
            "Content-Type: text/plain",
            "",
            "This is another very small test file..",
            &format!("--{b}--"),
        ]),
    );
    assert_eq!(err(&m), None);
    assert_eq!(m.files.len(), 2);
    assert_eq!(m.files[0].size, 32);
    assert_eq!(m.files[1].size, 38);
    assert_eq!(m.files_combined_size(), Some(70));
    assert_eq!(m.files[1].filename, b"small_text_file.txt");
    assert!(m.flags.lf_line && !m.flags.crlf_lf_lines && m.flags.strict_error);
}

#[test]
fn mixed_line_endings() {
    // variable-MULTIPART_CRLF_LF_LINES.json (1/1, 2nd case).
    let b = "--------------------------756b6d74fa1a8ee2";
    let m = run(
        &format!("multipart/form-data; boundary={b}"),
        &body(&[
            &format!("--{b}"),
            "Content-Disposition: form-data; name=\"name\"",
            "",
            "test",
            &format!("--{b}"),
            "Content-Disposition: form-data; name=\"filedata\"; filename=\"small_text_file.txt\"\r",
            "Content-Type: text/plain\r",
            "\r",
            "This is another very small test file..\r",
            &format!("--{b}--\r"),
        ]),
    );
    assert!(m.flags.crlf_lf_lines);
}

#[test]
fn invalid_quoting() {
    let b = "--------------------------756b6d74fa1a8ee2";
    let mk = |cd: &str| {
        run(
            &format!("multipart/form-data; boundary={b}"),
            format!(
                "--{b}\r\nContent-Disposition: form-data; {cd}; filename=\"f.txt\"\r\n\r\nx\r\n--{b}--\r\n"
            )
            .as_bytes(),
        )
    };
    // name=file'data (token with a quote): IQ; name="file'data": not.
    assert!(mk("name=file'data").flags.invalid_quoting);
    assert!(!mk("name=\"file'data\"").flags.invalid_quoting);
    assert!(mk("name='filedata'").flags.invalid_quoting);
    assert!(mk("name=\"filedata\"").files.len() == 1);
}

#[test]
fn filename_star() {
    let b = "--------------------------756b6d74fa1a8ee2";
    let mk = |cd: &str| {
        run(
            &format!("multipart/form-data; boundary={b}"),
            format!(
                "--{b}\nContent-Disposition: form-data; name=\"name\"\n\ntest\n--{b}\nContent-Disposition: {cd}\nContent-Type: text/plain\n\nThis is a very small test file..\n--{b}--\n"
            )
            .as_bytes(),
        )
    };
    let m = mk(
        "form-data; name=\"filedata\"; filename=\"03CB1664.txt\"; filename*=utf-8''03CB1664.txt",
    );
    assert_eq!(err(&m), None);
    assert_eq!(values(&m.filenames), vec![b"03CB1664.txt".to_vec()]);
    assert_eq!(m.files.len(), 1);
    let m = mk("form-data; name=\"filedata\"; filename*= ISO-8859-1''ab0-_xy.txt; filename=\"ab0-_xy.txt\"");
    assert_eq!(err(&m), None);
    assert_eq!(values(&m.filenames), vec![b"ab0-_xy.txt".to_vec()]);
    let m =
        mk("form-data; name=\"filedata\"; filename=\"03CB1664.txt\"; filename*=utf-8''%61%62.txt");
    assert_eq!(err(&m), None);
    for (cd, rc) in [
        (
            "form-data; name=\"filedata\"; filename*=utf-8''03CB1664.txt",
            -21,
        ),
        (
            "form-data; name=\"filedata\"; filename=\"03CB1664.txt\"; filename*=''03CB1664.txt",
            -16,
        ),
        (
            "form-data; name=\"filedata\"; filename=\"03CB1664.txt\"; filename*=UTF-8'03CB1664.txt",
            -17,
        ),
        (
            "form-data; name=\"filedata\"; filename=\"03CB1664.txt\"; filename*=utf-8''%61%4G.txt",
            -18,
        ),
        (
            "form-data; name=\"filedata\"; filename=\"x\"; filename*=utf-8''a b",
            -19,
        ),
    ] {
        // The C-D error is then replaced by "Final boundary missing": the part never leaves
        // header state, so no later boundary line is taken as one.
        let m = mk(cd);
        assert_eq!(
            err(&m).as_deref(),
            Some("Multipart: Final boundary missing."),
            "{cd}"
        );
        // When the final boundary ends the body without a line break, multipart_complete
        // recognises it and the C-D error text stays.
        let m2 = run(
            "multipart/form-data; boundary=z",
            format!("--z\r\nContent-Disposition: {cd}\r\n\r\n--z--").as_bytes(),
        );
        assert_eq!(
            err(&m2),
            Some(format!(
                "Multipart: Invalid Content-Disposition header ({rc}): {cd}"
            )),
        );
        assert!(m2.flags.invalid_part);
    }
}

#[test]
fn disposition_error_text() {
    // After a C-D error the part stays in header state and swallows the rest of the body:
    // every later boundary line is "data contains boundary" and the error text is replaced by
    // "Final boundary missing", unless the body ends with the final boundary and no line break.
    let m = run(
        "multipart/form-data; boundary=z",
        b"--z\r\nContent-Disposition: form-data name=\"a\"\r\nX-Note: hi\r\n\r\n--z\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--z--\r\n",
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
    assert!(m.args.is_empty());
    let m = run(
        "multipart/form-data; boundary=z",
        b"--z\r\nContent-Disposition: form-data name=\"a\"\r\nX-Note: hi\r\n\r\n--z--",
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Invalid Content-Disposition header (-2): form-data name=\"a\"")
    );
    assert_eq!(m.part_headers.len(), 2);
    assert_eq!(m.part_headers[1], (Vec::new(), b"X-Note: hi".to_vec()));
}

#[test]
fn upload_file_limit() {
    // request-body-parser-multipart.json "Upload file limit exceeded" (SecUploadKeepFiles On,
    // SecUploadFileLimit 2): 3 FILES, 2 FILES_TMPNAMES, MULTIPART_FILE_LIMIT_EXCEEDED 1.
    let body = body(&[
        "--0000\r",
        "Content-Disposition: form-data; name=\"name\"\r",
        "\r",
        "Brian Rectanus\r",
        "--0000\r",
        "Content-Disposition: form-data; name=\"image1\"; filename=\"image1.jpg\"\r",
        "Content-Type: image/jpeg\r",
        "\r",
        "BINARYDATA1\r",
        "--0000\r",
        "Content-Disposition: form-data; name=\"image2\"; filename=\"image2.jpg\"\r",
        "Content-Type: image/jpeg\r",
        "\r",
        "BINARYDATA2\r",
        "--0000\r",
        "Content-Disposition: form-data; name=\"image3\"; filename=\"image3.jpg\"\r",
        "Content-Type: image/jpeg\r",
        "\r",
        "BINARYDATA3\r",
        "--0000\r",
        "Content-Disposition: form-data; name=\"test\"\r",
        "\r",
        "This is test data.\r",
        "--0000--\r",
    ]);
    let cfg = MultipartConfig {
        extract_files: true,
        upload_file_limit: 2,
    };
    let m = parse(b"multipart/form-data; boundary=0000", &body, &cfg);
    assert_eq!(m.files.len(), 3);
    assert_eq!(m.files.iter().filter(|f| f.content.is_some()).count(), 2);
    assert!(m.files.iter().all(|f| f.size == 11));
    assert!(m.flags.file_limit_exceeded && m.flags.strict_error);
    assert_eq!(
        err(&m).as_deref(),
        Some(
            "Multipart: Upload file limit exceeded 2. Use SecUploadFileLimit to change the limit."
        )
    );
    assert_eq!(m.files[0].content.as_deref(), Some(&b"BINARYDATA1"[..]));
    assert_eq!(m.files[0].tmp_content, b"BINARYDATA1");
    // Without extraction the limit is not checked.
    let m = parse(
        b"multipart/form-data; boundary=0000",
        &body,
        &MultipartConfig {
            extract_files: false,
            upload_file_limit: 2,
        },
    );
    assert_eq!(err(&m), None);
    assert!(m
        .files
        .iter()
        .all(|f| f.content.is_none() && f.tmp_content.is_empty()));
}

#[test]
fn extracted_file_keeps_inner_line_breaks() {
    let cfg = MultipartConfig {
        extract_files: true,
        upload_file_limit: 0,
    };
    let m = parse(
        b"multipart/form-data; boundary=z",
        b"--z\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nl1\r\nl2\nl3\r\n--z--\r\n",
        &cfg,
    );
    assert_eq!(m.files[0].content.as_deref(), Some(&b"l1\r\nl2\nl3"[..]));
    // FILES_TMP_CONTENT: m_value gets the lines without the held-back line breaks.
    assert_eq!(m.files[0].tmp_content, b"l1l2l3");
    assert_eq!(m.files[0].size, 9);
    // An empty file gets no temporary file.
    let m = parse(
        b"multipart/form-data; boundary=z",
        b"--z\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\n\r\n--z--\r\n",
        &cfg,
    );
    assert_eq!(m.files[0].size, 0);
    assert_eq!(m.files[0].content.as_deref(), Some(&b""[..]));
}

#[test]
fn no_files_length() {
    // config-body_limits.json: limit 80 exceeded, 120 not.
    let m = run(
        "multipart/form-data; boundary=0000",
        &body(&[
            "--0000",
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "1",
            "--0000",
            "Content-Disposition: form-data; name=\"b\"; filename=\"c.txt\"",
            "",
            &"2".repeat(70),
            "--0000--",
        ]),
    );
    assert_eq!(err(&m), None);
    assert_eq!(m.reqbody_no_files_length, 103);
}

#[test]
fn part_headers_eol_and_duplicates() {
    // variable-MULTIPART_PART_HEADERS.json (check EOL): the line ending is not kept.
    let m = run(
        "multipart/form-data; boundary=z",
        b"--z\r\nContent-Disposition: form-data; name=\"a\"\r\nX-A:  v1 \r\nx-a: dup\r\nX-B:\r\n\r\nv\r\n--z--\r\n",
    );
    assert_eq!(err(&m), None);
    assert_eq!(
        m.part_headers,
        vec![
            (
                b"a".to_vec(),
                b"Content-Disposition: form-data; name=\"a\"".to_vec()
            ),
            (b"a".to_vec(), b"X-A:  v1 ".to_vec()),
            (b"a".to_vec(), b"X-B:".to_vec()),
        ]
    );
}

#[test]
fn empty_and_preamble() {
    // An empty body is not parsed: no error.
    let m = run("multipart/form-data; boundary=z", b"");
    assert_eq!(err(&m), None);
    // Only data: no boundaries.
    let m = run("multipart/form-data; boundary=z", b"hello\r\n");
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: No boundaries found in payload.")
    );
    assert!(m.flags.data_before);
    // A preamble line is data before.
    let m = run(
        "multipart/form-data; boundary=z",
        b"preamble\r\n--z\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--z--\r\n",
    );
    assert_eq!(args(&m), pairs(&[("a", "v")]));
    assert!(m.flags.data_before && m.flags.strict_error);
}

#[test]
fn final_boundary_without_line_end() {
    // The last line has no "\n": multipart_complete recognises "--b--" in the buffer.
    let m = run(
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--",
    );
    assert_eq!(err(&m), None);
    assert_eq!(args(&m), pairs(&[("a", "1")]));
    assert!(!m.flags.strict_error);
    // LF before it: MULTIPART_LF_LINE set late, with STRICT_ERROR.
    let m = run(
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\n--b--",
    );
    assert!(m.flags.lf_line && m.flags.strict_error && m.flags.crlf_lf_lines);
    // Right after the headers: invalid part.
    let m = run(
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--b--",
    );
    assert!(m.flags.invalid_part && m.flags.strict_error);
    assert_eq!(args(&m), pairs(&[("a", "")]));
}

#[test]
fn boundary_right_after_headers_is_data() {
    // No data line between the blank line and the next boundary.
    let m = run(
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nv\r\n--b--\r\n",
    );
    assert_eq!(err(&m), None);
    assert!(m.flags.invalid_part);
    assert_eq!(
        args(&m),
        pairs(&[("a", "--bContent-Disposition: form-data; name=\"c\"v")])
    );
    // The normal empty value has a line of its own.
    let m = run(
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--b--\r\n",
    );
    assert_eq!(args(&m), pairs(&[("a", "")]));
    assert!(!m.flags.strict_error);
}

#[test]
fn boundary_line_variants() {
    let ct = "multipart/form-data; boundary=b";
    let good = b"Content-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b--\r\n";
    // Trailing garbage after our boundary: "Invalid boundary: ..." (aborting, then replaced).
    let mut body = b"--b \r\n".to_vec();
    body.extend_from_slice(good);
    let m = run(ct, &body);
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: No boundaries found in payload.")
    );
    assert!(m.flags.strict_error);
    // Quoted boundary used with its quotes in the body.
    let m = run(
        "multipart/form-data; boundary=\"b\"",
        b"--\"b\"\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b--\r\n",
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: No boundaries found in payload.")
    );
    // Whitespace before the boundary.
    let m = run(ct, b"-- b\r\n");
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: No boundaries found in payload.")
    );
    assert!(m.flags.strict_error);
}

#[test]
fn long_lines() {
    // A data line longer than the buffer is cut without line breaks; the value stays whole.
    let long = "x".repeat(3 * BUF_SIZE + 17);
    let m = run(
        "multipart/form-data; boundary=b",
        format!("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n{long}\r\n--b--\r\n")
            .as_bytes(),
    );
    assert_eq!(err(&m), None);
    assert_eq!(m.args[0].1.len(), long.len());
    // A header line that does not fit: aborting error, replaced by "Final boundary missing".
    let m = run(
        "multipart/form-data; boundary=b",
        format!("--b\r\nX-Long: {long}\r\n\r\nv\r\n--b--\r\n").as_bytes(),
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Final boundary missing.")
    );
    assert!(m.flags.strict_error);
}

#[test]
fn nul_bytes() {
    let m = run(
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX: a\0b\r\n\r\nv\0w\r\n--b--\r\n",
    );
    assert_eq!(
        err(&m).as_deref(),
        Some("Multipart: Nul byte in part headers.")
    );
    assert_eq!(args(&m), pairs(&[("a", "v\0w")]));
    // The header stops at the first NUL for the C++ string functions.
    let m = run("multipart/form-data; boundary=b\0; boundary=c", b"");
    assert_eq!(m.boundary, b"b");
}

/// The values of `MULTIPART_NAME`/`MULTIPART_FILENAME`, without their offsets.
fn values(v: &[(Vec<u8>, isize)]) -> Vec<Vec<u8>> {
    v.iter().map(|(n, _)| n.clone()).collect()
}
