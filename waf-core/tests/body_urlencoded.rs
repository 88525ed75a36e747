//! URLENCODED splitting: libmodsecurity's regression cases (`variable-ARGS*.json`,
//! `variable-URLENCODED_ERROR.json`, `action-ctl_request_body_processor_urlencoded.json`).
//! The regression runner appends "\n" to every body line, which ends up in the last value.

use waf_core::body::urlencoded::parse;

fn run(input: &str) -> (Vec<(String, String)>, bool) {
    let mut out = Vec::new();
    let st = parse(input.as_bytes(), b'&', &mut out);
    assert_eq!(st.count, out.len());
    (
        out.into_iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(&n).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect(),
        st.urlencoded_error,
    )
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn regression_args() {
    assert_eq!(
        run("key=value&key=other_value").0,
        pairs(&[("key", "value"), ("key", "other_value")])
    );
    assert_eq!(
        run("param1=value1=morevalue1&param2=value2\n").0,
        pairs(&[("param1", "value1=morevalue1"), ("param2", "value2\n")])
    );
    assert_eq!(
        run("param1=value1=morevalue1&param2=value2&param3=\n").0,
        pairs(&[
            ("param1", "value1=morevalue1"),
            ("param2", "value2"),
            ("param3", "\n")
        ])
    );
    // "&&&&&" gives empty arguments; ARGS:param2 is still "value2".
    let (a, _) = run("param1=value1=morevalue1&param2=value2&&&&&\n");
    assert_eq!(a[1], ("param2".into(), "value2".into()));
    assert_eq!(a.len(), 7);
    assert_eq!(a[6], ("\n".into(), "".into()));
    // ARGS_POST:param2 is empty (t:length gives 0).
    assert_eq!(run("param1=value1&param2=&param3=value3\n").0[1].1, "");
    // ctl:requestBodyProcessor=URLENCODED: "param1=value1\r\n".
    assert_eq!(
        run("param1=value1\r\n").0,
        pairs(&[("param1", "value1\r\n")])
    );
}

#[test]
fn regression_urlencoded_error() {
    assert!(run("key=value&key=other_value%2").1);
    assert!(!run("key=value&key=other_value&a=b%2a").1);
    assert!(run("param1=value12%&param2=value2%2\n").1);
    assert!(!run("param1=value1&param2=value2&a=b5%2a\n\n").1);
    assert!(!run("a=%EC%A7%84%20%EB%A7%88%EC%9D%BC%20%EB%A6%AC\n").1);
    assert!(run("z=%EC%A7%84%20%EB%A7%88%EC%9D%BC%20%EB%A6%A%AC").1);
    assert!(!run("z=진 마일 리").1);
    let mut out = Vec::new();
    parse(b"a=%EC%A7%84%20%EB", b'&', &mut out);
    let mut want = "진 ".as_bytes().to_vec();
    want.push(0xEB);
    assert_eq!(out[0].1, want);
}

#[test]
fn separator() {
    let mut out = Vec::new();
    parse(b"a=1;b=2&c=3", b';', &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1], (b"b".to_vec(), b"2&c=3".to_vec()));
}

#[test]
fn plus_and_escapes() {
    assert_eq!(run("a+b=c+d%20e%2B").0, pairs(&[("a b", "c d e+")]));
    // Only a value's invalid escape sets URLENCODED_ERROR (libmodsecurity resets the counter
    // between the name and the value).
    assert!(!run("%zz=1").1);
    assert!(run("1=%zz").1);
}

#[test]
fn many_separators() {
    let input = "&".repeat(100_000);
    let (a, e) = run(&input);
    assert_eq!(a.len(), 100_000);
    assert!(!e);
}
