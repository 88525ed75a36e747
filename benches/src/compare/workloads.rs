//! The requests every engine runs, built here in Rust and identical for all engines (each
//! worker process rebuilds them; everything is deterministic).
//!
//! 1. `crs-regression`: CRS 4's go-ftw regression inputs, built by `crs-test` exactly as go-ftw
//!    sends them and read back as the web server hands them to the WAF (requests the server
//!    itself would reject, HTTP/0.9 ones, and request lines with a NUL byte are left out).
//! 2. `benign`: a WordPress/WooCommerce shop and a JSON API ([`super::benign`]).
//! 3. Scaling series: one request each, growing body (urlencoded, JSON, multipart), argument
//!    count and cookie count.
//! 4. Worst inputs for the slowest patterns ([`super::worst`]): one request each.

use super::benign;
use super::engine::Prepared;
use crs_test::{build_wire, parse_request, Request, ServerView};
use std::path::Path;

/// A named group of requests.
pub struct Workload {
    pub name: String,
    pub requests: Vec<Prepared>,
    /// Timed passes over the requests (after one untimed pass that collects the verdicts).
    pub rounds: usize,
}

/// How much to run.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub quick: bool,
    /// Timed rounds of every workload, in place of the defaults below (`compare --rounds`: the
    /// 1 MB series take one by default, libmodsecurity's seconds each).
    pub rounds: Option<usize>,
}

impl Size {
    fn rounds(self) -> usize {
        if let Some(n) = self.rounds {
            return n.max(1);
        }
        if self.quick {
            3
        } else {
            5
        }
    }

    /// Timed samples of a single-request series of `bytes` (or arguments × 1000): more for the
    /// small ones; the largest take seconds per transaction on CRS, and fewer samples keep the
    /// run bounded (their spread is small next to their length).
    fn series_rounds(self, bytes: usize) -> usize {
        if let Some(n) = self.rounds {
            return n.max(1);
        }
        match (self.quick, bytes) {
            (true, b) if b < 64 * 1024 => 5,
            (true, _) => 2,
            (false, b) if b < 100 * 1024 => 15,
            (false, b) if b < 1024 * 1024 => 5,
            (false, _) => 1,
        }
    }
}

/// The workloads `selected` keeps (by name), in table order. `crs4` is the CRS 4 directory
/// holding the regression tests.
pub fn all(size: Size, crs4: Option<&Path>, selected: &dyn Fn(&str) -> bool) -> Vec<Workload> {
    let mut out = Vec::new();
    // Reading ~5,000 test files takes a while: only when asked for.
    if let Some(dir) = crs4.filter(|_| selected("crs-regression")) {
        let reqs = crs_regression(&dir.join("tests/regression/tests"));
        // --quick: every 8th request (a spread over all rule files) keeps the run short.
        let step = if size.quick { 8 } else { 1 };
        out.push(Workload {
            name: "crs-regression".into(),
            requests: reqs
                .into_iter()
                .step_by(step)
                .filter_map(Prepared::new)
                .collect(),
            rounds: size.rounds(),
        });
    }
    out.push(Workload {
        name: "benign".into(),
        requests: benign::requests()
            .into_iter()
            .filter_map(Prepared::new)
            .collect(),
        rounds: if size.quick { 5 } else { 15 },
    });
    let kb = |n: usize| n * 1024;
    let bodies: &[usize] = if size.quick {
        &[kb(1), kb(8), kb(64)]
    } else {
        &[kb(1), kb(10), kb(100), kb(1024)]
    };
    for (kind, build) in [
        ("urlencoded", urlencoded_body as fn(usize) -> Request),
        ("json", json_body),
        ("multipart", multipart_body),
    ] {
        for &n in bodies {
            out.push(series(
                format!("body {kind} {}", human(n)),
                build(n),
                size.series_rounds(n),
            ));
        }
    }
    let args: &[usize] = if size.quick {
        &[10, 100, 1000]
    } else {
        &[10, 100, 1000, 10_000]
    };
    for &n in args {
        out.push(series(
            format!("args {n}"),
            many_args(n),
            size.series_rounds(n * 1000),
        ));
    }
    for n in [1, 10, 100] {
        out.push(series(
            format!("cookies {n}"),
            many_cookies(n),
            size.series_rounds(n * 1000),
        ));
    }
    // Worst inputs: one small size and few rounds. libmodsecurity's time on the worst of them
    // grows with the square of the size (4 KB of `\r\n` takes 3.0.15 over 20 s at PL1, and
    // CI runs two libmodsecurity builds on three rule sets).
    let (worst_size, worst_rounds) = if size.quick { (kb(2), 2) } else { (kb(4), 3) };
    for family in super::worst::names() {
        if let Some(req) = super::worst::worst_request(family, worst_size) {
            out.push(series(
                format!("worst {family} {}", human(worst_size)),
                req,
                worst_rounds,
            ));
        }
    }
    out.retain(|w| selected(&w.name));
    out
}

fn series(name: String, req: Request, rounds: usize) -> Workload {
    Workload {
        name,
        requests: Prepared::new(req).into_iter().collect(),
        rounds,
    }
}

fn human(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{}MB", n / (1024 * 1024))
    } else {
        format!("{}KB", n / 1024)
    }
}

/// CRS's regression inputs, in file and stage order.
pub fn crs_regression(tests: &Path) -> Vec<Request> {
    let Ok((files, _errors)) = crs_test::load_test_dir(tests) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for f in &files {
        for t in &f.tests {
            for s in &t.stages {
                let Ok(wire) = build_wire(&s.input) else {
                    continue;
                };
                if let ServerView::Request(r) = parse_request(&wire).view {
                    out.push(r);
                }
            }
        }
    }
    out
}

/// A request with `Host`, the given headers, and `Content-Length` when there is a body.
pub fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Request {
    let mut h: Vec<(Vec<u8>, Vec<u8>)> = vec![(b"Host".to_vec(), b"shop.example.com".to_vec())];
    h.extend(
        headers
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())),
    );
    if !body.is_empty() || method == "POST" {
        h.push((
            b"Content-Length".to_vec(),
            body.len().to_string().into_bytes(),
        ));
    }
    Request {
        method: method.into(),
        uri: uri.as_bytes().to_vec(),
        version: "1.1".into(),
        headers: h,
        body,
    }
}

const LOREM: &[&str] = &[
    "soft",
    "cotton",
    "hoodie",
    "with",
    "a",
    "printed",
    "logo",
    "on",
    "the",
    "front",
    "machine",
    "washable",
    "at",
    "forty",
    "degrees",
    "available",
    "in",
    "blue",
    "red",
    "and",
    "black",
    "sizes",
    "from",
    "small",
    "to",
    "extra",
    "large",
    "ships",
    "within",
    "two",
    "days",
];

/// `n` words of shop text, deterministic from `seed`.
pub fn words(seed: usize, n: usize, sep: &str) -> String {
    (0..n)
        .map(|i| LOREM[(seed * 7 + i * 13) % LOREM.len()])
        .collect::<Vec<_>>()
        .join(sep)
}

const FORM_HEADERS: &[(&str, &str)] = &[
    ("User-Agent", benign::CHROME_UA),
    ("Accept", "*/*"),
    (
        "Content-Type",
        "application/x-www-form-urlencoded; charset=UTF-8",
    ),
];

/// A form post of about `size` bytes: `field_N=` plus a dozen words each.
pub fn urlencoded_body(size: usize) -> Request {
    let mut body = String::new();
    let mut i = 0;
    while body.len() < size {
        if i > 0 {
            body.push('&');
        }
        body.push_str(&format!("field_{i}={}", words(i, 12, "+")));
        i += 1;
    }
    request(
        "POST",
        "/wp-admin/admin-ajax.php",
        FORM_HEADERS,
        body.into_bytes(),
    )
}

/// A JSON body of about `size` bytes: an order with product lines.
pub fn json_body(size: usize) -> Request {
    let mut items = Vec::new();
    let mut len = 0;
    let mut i = 0;
    while len < size {
        let item = format!(
            r#"{{"id":{},"sku":"HD-{:05}","name":"Product {i}","description":"{}","price":{}.{:02},"quantity":{},"tags":["clothing","sale"]}}"#,
            1000 + i,
            i,
            words(i, 10, " "),
            10 + i % 90,
            i % 100,
            1 + i % 4
        );
        len += item.len() + 1;
        items.push(item);
        i += 1;
    }
    let body = format!(
        r#"{{"customer_id":42,"currency":"EUR","items":[{}]}}"#,
        items.join(",")
    );
    request(
        "POST",
        "/api/v1/orders",
        &[
            ("User-Agent", "shop-client/2.3 (+https://shop.example.com)"),
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("Authorization", benign::BEARER),
        ],
        body.into_bytes(),
    )
}

/// An upload of about `size` bytes: three form fields and an image file.
pub fn multipart_body(size: usize) -> Request {
    let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    let image = benign::fake_jpeg(size.saturating_sub(600), 7);
    let body = benign::multipart(
        boundary,
        &[
            benign::Part::field("name", "hoodie-blue.jpg"),
            benign::Part::field("action", "upload-attachment"),
            benign::Part::field("_wpnonce", "9f2c4e1a7b"),
            benign::Part::file("async-upload", "hoodie-blue.jpg", "image/jpeg", image),
        ],
    );
    let ctype = format!("multipart/form-data; boundary={boundary}");
    request(
        "POST",
        "/wp-admin/async-upload.php",
        &[
            ("User-Agent", benign::CHROME_UA),
            ("Accept", "*/*"),
            ("Content-Type", &ctype),
            ("Cookie", benign::ADMIN_COOKIES),
        ],
        body,
    )
}

/// A search with `n` query arguments.
pub fn many_args(n: usize) -> Request {
    let q: Vec<String> = (0..n)
        .map(|i| format!("filter_{i}={}", LOREM[i % LOREM.len()]))
        .collect();
    let uri = format!("/shop/?{}", q.join("&"));
    request(
        "GET",
        &uri,
        &[
            ("User-Agent", benign::CHROME_UA),
            ("Accept", benign::ACCEPT_HTML),
        ],
        Vec::new(),
    )
}

/// A page view with `n` cookies.
pub fn many_cookies(n: usize) -> Request {
    let c: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "pref_{i}={:016x}{:08x}",
                (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                i * 31
            )
        })
        .collect();
    let cookie = c.join("; ");
    request(
        "GET",
        "/product/hoodie-with-logo/",
        &[
            ("User-Agent", benign::CHROME_UA),
            ("Accept", benign::ACCEPT_HTML),
            ("Cookie", &cookie),
        ],
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_reach_their_size_and_say_so() {
        for build in [urlencoded_body, json_body, multipart_body] {
            let r = build(10 * 1024);
            assert!(r.body.len() >= 10 * 1024 - 600, "{}", r.body.len());
            assert!(r.body.len() < 12 * 1024, "{}", r.body.len());
            let cl = r.header("Content-Length").unwrap();
            assert_eq!(cl, r.body.len().to_string().as_bytes());
        }
        let m = multipart_body(4096);
        assert!(m.body.ends_with(b"--\r\n"));
    }

    #[test]
    fn series_have_the_counts_in_their_names() {
        let r = many_args(100);
        let q = &r.uri[r.uri.iter().position(|&b| b == b'?').unwrap() + 1..];
        assert_eq!(q.split(|&b| b == b'&').count(), 100);
        let c = many_cookies(10);
        assert_eq!(
            c.header("Cookie").unwrap().split(|&b| b == b';').count(),
            10
        );
    }

    #[test]
    fn benign_set_is_about_fifty_requests_with_c_safe_request_lines() {
        let reqs = benign::requests();
        assert!((50..=60).contains(&reqs.len()), "{}", reqs.len());
        assert!(reqs.into_iter().all(|r| Prepared::new(r).is_some()));
    }

    #[test]
    fn selection_by_name() {
        let size = Size {
            quick: true,
            rounds: None,
        };
        let w = all(size, None, &|n: &str| n.starts_with("cookies"));
        let names: Vec<&str> = w.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["cookies 1", "cookies 10", "cookies 100"]);
    }

    /// `--rounds` sets every workload's rounds, the 1 MB series' (one by default) included.
    #[test]
    fn rounds_given_apply_to_every_workload() {
        let size = |rounds| Size {
            quick: false,
            rounds,
        };
        let large = |n: &str| n.starts_with("body json 1MB") || n == "args 10";
        let default: Vec<usize> = all(size(None), None, &large)
            .iter()
            .map(|w| w.rounds)
            .collect();
        assert_eq!(default, [1, 15]);
        let given: Vec<usize> = all(size(Some(7)), None, &large)
            .iter()
            .map(|w| w.rounds)
            .collect();
        assert_eq!(given, [7, 7]);
    }
}
