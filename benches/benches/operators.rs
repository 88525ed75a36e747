//! Operators over 1 KB values through the public `Operator` API (`waf_core::operators::compile`):
//! `@rx` with CRS patterns, `@pm`/`@pmFromFile`, `@detectSQLi`, `@detectXSS`. Benign values
//! (the common case: no match, whole input scanned) and attack values.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sekisho_benches::micro::{crs4, crs_operator, operator, repeat_to, NoCapture};
use std::time::Duration;
use waf_core::operators::Operator;

fn operators(c: &mut Criterion) {
    let benign = repeat_to(
        "the quick brown fox jumps over the lazy dog 0123456789 ",
        1024,
    );
    let mut sqli = repeat_to("x ", 1000);
    sqli.extend_from_slice(b"1' OR 1=1--");
    let mut xss = repeat_to("x ", 1000);
    xss.extend_from_slice(b"<script>alert(1)</script>");

    let mut ops: Vec<(String, Box<dyn Operator>)> = vec![
        (
            "@pm (6 words)".into(),
            operator("@pm select union insert update delete drop"),
        ),
        ("@detectSQLi".into(), operator("@detectSQLi")),
        ("@detectXSS".into(), operator("@detectXSS")),
    ];
    match crs4() {
        Some(crs) => {
            for (file, id, what) in [
                (
                    "REQUEST-942-APPLICATION-ATTACK-SQLI.conf",
                    942190,
                    "@rx 942190 (SQLi)",
                ),
                (
                    "REQUEST-941-APPLICATION-ATTACK-XSS.conf",
                    941160,
                    "@rx 941160 (XSS)",
                ),
                (
                    "REQUEST-932-APPLICATION-ATTACK-RCE.conf",
                    932230,
                    "@rx 932230 (RCE, 12 KB)",
                ),
                (
                    "REQUEST-930-APPLICATION-ATTACK-LFI.conf",
                    930120,
                    "@pmFromFile 930120",
                ),
            ] {
                ops.push((what.into(), crs_operator(&crs, file, id)));
            }
        }
        None => eprintln!("operators: no CRS 4 found (SEKISHO_CRS_DIR); CRS patterns skipped"),
    }

    for (input_name, input) in [("benign", &benign), ("sqli", &sqli), ("xss", &xss)] {
        let mut g = c.benchmark_group(format!("operator 1KB {input_name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        for (name, op) in &ops {
            g.bench_function(name.as_str(), |b| {
                b.iter(|| op.evaluate(&mut NoCapture, black_box(input)))
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = operators
}
criterion_main!(benches);
