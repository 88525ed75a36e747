//! A whole transaction (connection → logging, a new transaction each) on CRS 4.28 PL1 with the
//! `compare` base configuration, through the Rust API: a benign page view and an attack GET.

use criterion::{criterion_group, criterion_main, Criterion};
use sekisho_benches::compare::config::rule_set;
use sekisho_benches::compare::engine::{Engine, Prepared, Sink};
use sekisho_benches::compare::sekisho::Sekisho;
use sekisho_benches::compare::{benign, workloads};
use sekisho_benches::micro::crs4;
use std::time::Duration;

fn transaction(c: &mut Criterion) {
    let Some(crs) = crs4() else {
        eprintln!("transaction: no CRS 4 found (SEKISHO_CRS_DIR); skipped");
        return;
    };
    let spec = rule_set("crs4-pl1", Some(&crs)).expect("CRS 4");
    let dir = std::env::temp_dir().join(format!("sekisho-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = spec.write(&dir).expect("configuration written");
    let mut engine = Sekisho::default();
    engine.load(&conf).expect("CRS loads");
    let _ = std::fs::remove_dir_all(&dir);

    let page = benign::requests().into_iter().next().expect("a page view");
    let attack = workloads::request(
        "GET",
        "/shop/?s=1%27%20UNION%20SELECT%20user_pass%20FROM%20wp_users--%20&post_type=product",
        &[
            ("User-Agent", benign::CHROME_UA),
            ("Accept", benign::ACCEPT_HTML),
        ],
        Vec::new(),
    );
    let mut g = c.benchmark_group("transaction CRS 4.28 PL1");
    for (name, req) in [("benign GET", page), ("attack GET", attack)] {
        let p = Prepared::new(req).expect("no NUL");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sink = Sink::default();
                engine.run(&p, &mut sink)
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = transaction
}
criterion_main!(benches);
