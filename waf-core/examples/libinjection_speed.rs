//! Times `@detectSQLi` / `@detectXSS` (Sekisho's libinjection) per string, for comparison with
//! the C libinjection inside libmodsecurity (`tests/oracle/libinjection.c --time`).
//!
//! Usage: `cargo run --release -p waf-core --example libinjection_speed -- CORPUS [REPEAT]`
//!
//! CORPUS holds records of a 4-byte little-endian length and that many bytes; the libinjection
//! differential test writes one (`libinjection-corpus.bin` in cargo's target tmp directory).
//! Each string is checked REPEAT times (default 20) per detector; the output is the median
//! over the strings of the mean ns per call, in the harness's format:
//!
//! `sqli_median_ns N xss_median_ns N records N`

use std::hint::black_box;
use std::time::Instant;
use waf_core::operators::libinjection::{is_sqli, is_xss};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: libinjection_speed CORPUS [REPEAT]");
        std::process::exit(2);
    };
    let repeat: u32 = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let data = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    let mut corpus = Vec::new();
    let mut rest = &data[..];
    while rest.len() >= 4 {
        let n = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        corpus.push(&rest[4..4 + n]);
        rest = &rest[4 + n..];
    }
    let mut sqli = Vec::with_capacity(corpus.len());
    let mut xss = Vec::with_capacity(corpus.len());
    for s in &corpus {
        let t0 = Instant::now();
        for _ in 0..repeat {
            black_box(is_sqli(black_box(s)));
        }
        let t1 = Instant::now();
        for _ in 0..repeat {
            black_box(is_xss(black_box(s)));
        }
        let t2 = Instant::now();
        sqli.push((t1 - t0).as_nanos() as f64 / f64::from(repeat));
        xss.push((t2 - t1).as_nanos() as f64 / f64::from(repeat));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    println!(
        "sqli_median_ns {:.0} xss_median_ns {:.0} records {}",
        median(&mut sqli),
        median(&mut xss),
        corpus.len()
    );
}
