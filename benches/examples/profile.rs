//! Sekisho alone on one of `compare`'s workloads, in one process and one thread: for a
//! profiler (`perf record`, `valgrind --tool=callgrind --toggle-collect='*timed_run*'`) or
//! to time a change, build against build.
//!
//! ```sh
//! cargo build --release -p sekisho-benches --example profile
//! target/release/examples/profile [--steps] RULES WORKLOAD [ROUNDS]
//! ```
//!
//! - `RULES`: `crs4-pl1`, `crs4-pl2` or `crs3` (CRS 4 found as `compare` finds it).
//! - `WORKLOAD`: `regression` (CRS's regression inputs), `benign`, or `form`, `json`,
//!   `multipart` with a size in bytes (`json:1048576`), or one of `compare`'s worst inputs,
//!   `worst-FAMILY:SIZE` (`worst-percent:2048`).
//! - `ROUNDS` (default 3): how many times the requests run after a first, untimed round (the
//!   one in which `@rx` automata are built).
//!
//! `SEKISHO_PROFILE_RULES=a.conf,b.conf` loads those rule files instead of the rule set's (its
//! `crs-setup.conf` and paranoia level stay): what one rule costs is the time with it less
//! the time without (CRS 4.28's 920450, each header name captured into `TX` and looked up
//! again by its chain, ~9.6 µs of a benign request at PL1 over 901's alone, 2026-12-03).
//!
//! `SEKISHO_PROFILE_HALF=odd` (or `even`) keeps every other request, from the second (or the
//! first): `scripts/pgo.sh` trains a profile-guided build on the odd half, which can then be
//! measured on the other.
//!
//! `SEKISHO_PROFILE_BAND=40-60` keeps only the requests whose time is within those
//! percentiles of the workload's (a median's requests, without the few large ones that
//! would fill a profile).
//!
//! `SEKISHO_PROFILE_EVICT=16` writes a 16 MB buffer, untimed, before every request: what a
//! request costs when the processor's caches hold none of Sekisho (in a server, after the rest
//! of the server's work). `SEKISHO_PROFILE_EVICT=16:100` does it before every 100th request
//! only, and leaves the request after it untimed: `compare`'s turns, each of Sekisho's 100
//! requests after ~100 of libmodsecurity's, the first of them untimed. Callgrind counts the
//! walk too (its own function, `evict`).
//!
//! It prints the median and mean time of a transaction, as `compare` times one (`Sekisho::run`:
//! connection to logging, then the transaction dropped); with `--steps`, of each step of it
//! (the phases, and the drop) instead.

use sekisho_benches::compare::{
    config,
    engine::{Engine, Prepared, Sink},
    sekisho::Sekisho,
    workloads,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use waf_core::{RuleSet, Transaction};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let steps = args.first().is_some_and(|a| a == "--steps");
    if steps {
        args.remove(0);
    }
    let (Some(rules), Some(workload)) = (args.first(), args.get(1)) else {
        eprintln!("usage: profile [--steps] crs4-pl1|crs4-pl2|crs3 regression|benign|form:N|json:N|multipart:N|worst-FAMILY:N [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let crs4 = config::crs4_dir(None);
    let mut spec = config::rule_set(rules, crs4.as_deref()).unwrap_or_else(|e| fail(&e));
    if let Ok(files) = std::env::var("SEKISHO_PROFILE_RULES") {
        let files = files.split(',').filter(|f| !f.is_empty());
        spec.rules = files.map(std::path::PathBuf::from).collect();
    }
    let dir = std::env::temp_dir().join(format!("sekisho-profile-{}", std::process::id()));
    let conf = std::fs::create_dir_all(&dir)
        .and_then(|_| spec.write(&dir))
        .unwrap_or_else(|e| fail(&e.to_string()));
    let mut requests = requests(workload, crs4.as_deref());
    if let Ok(half) = std::env::var("SEKISHO_PROFILE_HALF") {
        // every other request, from the first (`even`) or the second (`odd`): a profile-guided
        // build trained on one half is measured on the other
        let from = usize::from(half == "odd");
        requests = requests.into_iter().skip(from).step_by(2).collect();
    }
    if let Ok(band) = std::env::var("SEKISHO_PROFILE_BAND") {
        requests = in_band(&conf, requests, &band);
    }
    if requests.is_empty() {
        fail(&format!("no requests for {workload}"));
    }
    let times = match steps {
        true => {
            let rules = RuleSet::from_files(&[&conf]).unwrap_or_else(|e| fail(&e.to_string()));
            let rules = Arc::new(rules);
            run_steps(&rules, &requests, 1);
            run_steps(&rules, &requests, rounds)
        }
        false => {
            let mut engine = Sekisho::default();
            engine.load(&conf).unwrap_or_else(|e| fail(&e));
            warm_run(&mut engine, &requests);
            let evict = std::env::var("SEKISHO_PROFILE_EVICT").ok();
            let (mb, every) = match evict
                .as_deref()
                .map(|e| e.split_once(':').unwrap_or((e, "1")))
            {
                Some((mb, every)) => match (mb.parse::<usize>(), every.parse::<usize>()) {
                    (Ok(mb), Ok(every)) if every > 0 => (mb, every),
                    _ => fail("SEKISHO_PROFILE_EVICT is MB or MB:EVERY"),
                },
                None => (0, 1),
            };
            let mut evict = Evict {
                buffer: vec![0u8; mb << 20],
                every,
            };
            vec![(
                "transaction",
                timed_run(&mut engine, &requests, rounds, &mut evict),
            )]
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{rules} {workload}: {} requests x {rounds} rounds",
        requests.len()
    );
    for (name, mut t) in times {
        t.sort_by(f64::total_cmp);
        let mean = t.iter().sum::<f64>() / t.len().max(1) as f64;
        let median = t.get(t.len() / 2).copied().unwrap_or(0.0);
        println!("{name:>12}: median {median:9.2} µs  mean {mean:9.2} µs");
    }
}

fn fail(why: &str) -> ! {
    eprintln!("profile: {why}");
    std::process::exit(1);
}

fn requests(workload: &str, crs4: Option<&std::path::Path>) -> Vec<Prepared> {
    let (kind, size) = workload.split_once(':').unwrap_or((workload, "1048576"));
    let size: usize = size.parse().unwrap_or_else(|_| fail("a size in bytes"));
    let one = |r| Prepared::new(r).into_iter().collect();
    match kind {
        "form" => one(workloads::urlencoded_body(size)),
        "json" => one(workloads::json_body(size)),
        "multipart" => one(workloads::multipart_body(size)),
        family if family.starts_with("worst-") => {
            let family = &family["worst-".len()..];
            match sekisho_benches::compare::worst::worst_request(family, size) {
                Some(r) => one(r),
                None => fail(&format!("no worst input family {family}")),
            }
        }
        "regression" | "benign" => {
            let name = if kind == "benign" {
                "benign"
            } else {
                "crs-regression"
            };
            let size = workloads::Size {
                quick: false,
                rounds: None,
            };
            workloads::all(size, crs4, &|n: &str| n == name)
                .into_iter()
                .find(|w| w.name == name)
                .map(|w| w.requests)
                .unwrap_or_default()
        }
        _ => fail(&format!("unknown workload {kind}")),
    }
}

/// The requests whose time (the median of three, after a first untimed round) is within
/// `band`, percentiles `LOW-HIGH` of all of them: to profile the requests a median is made
/// of, which a few large ones would otherwise hide.
fn in_band(conf: &std::path::Path, requests: Vec<Prepared>, band: &str) -> Vec<Prepared> {
    let bounds = band.split_once('-').and_then(|(l, h)| {
        let (l, h) = (l.parse::<usize>().ok()?, h.parse::<usize>().ok()?);
        (l < h && h <= 100).then_some((l, h))
    });
    let (low, high) = bounds.unwrap_or_else(|| fail("SEKISHO_PROFILE_BAND is LOW-HIGH, 0-100"));
    let mut engine = Sekisho::default();
    engine.load(conf).unwrap_or_else(|e| fail(&e));
    warm_run(&mut engine, &requests);
    let mut each: Vec<(f64, usize)> = (0..requests.len()).map(|i| (0.0, i)).collect();
    for (t, i) in &mut each {
        let mut three = [0.0; 3];
        for t in &mut three {
            let started = Instant::now();
            engine.run(&requests[*i], &mut Sink::default());
            *t = started.elapsed().as_secs_f64();
        }
        three.sort_by(f64::total_cmp);
        *t = three[1];
    }
    each.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = each.len();
    let mut kept: Vec<usize> = each[n * low / 100..n * high / 100]
        .iter()
        .map(|&(_, i)| i)
        .collect();
    kept.sort_unstable();
    let mut kept = kept.into_iter().peekable();
    let mut requests = requests;
    let mut i = 0;
    requests.retain(|_| {
        let keep = kept.next_if_eq(&i).is_some();
        i += 1;
        keep
    });
    requests
}

/// The untimed first round (kept apart from [`timed_run`] for callgrind's `--toggle-collect`).
#[inline(never)]
fn warm_run(engine: &mut Sekisho, requests: &[Prepared]) {
    for r in requests {
        engine.run(r, &mut Sink::default());
    }
}

/// Each transaction's time in µs, `rounds` times over the requests.
#[inline(never)]
fn timed_run(
    engine: &mut Sekisho,
    requests: &[Prepared],
    rounds: usize,
    evict: &mut Evict,
) -> Vec<f64> {
    let mut times = Vec::with_capacity(requests.len() * rounds);
    let mut n = 0;
    for round in 0..rounds {
        for r in requests {
            if !evict.buffer.is_empty() && n % evict.every == 0 {
                self::evict(&mut evict.buffer, round);
                if evict.every > 1 {
                    // (as `compare`'s turns: the first request after the other engine's turn
                    // runs untimed)
                    engine.run(r, &mut Sink::default());
                }
            }
            n += 1;
            let mut sink = Sink::default();
            let t = Instant::now();
            engine.run(r, &mut sink);
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    times
}

/// `SEKISHO_PROFILE_EVICT`: the buffer written before every `every`th request.
struct Evict {
    buffer: Vec<u8>,
    every: usize,
}

/// Writes a byte of each cache line of `buffer` (a new value each round, so no line is left
/// as it was): the caches then hold the buffer, not what the last request used.
#[inline(never)]
fn evict(buffer: &mut [u8], round: usize) {
    for line in buffer.chunks_mut(64) {
        line[0] = line[0].wrapping_add(round as u8 | 1);
    }
    std::hint::black_box(&buffer[0]);
}

const STEPS: [&str; 8] = [
    "connection",
    "uri",
    "phase 1",
    "phase 2",
    "phase 3",
    "phase 4",
    "phase 5",
    "drop",
];

/// Each step's time in µs, per transaction, driven as `Sekisho::run` drives one (the
/// phases after an intervention skipped, their steps 0).
fn run_steps(
    rules: &Arc<RuleSet>,
    requests: &[Prepared],
    rounds: usize,
) -> Vec<(&'static str, Vec<f64>)> {
    let mut times = vec![Vec::with_capacity(requests.len() * rounds); STEPS.len()];
    for _ in 0..rounds {
        for p in requests {
            let req = &p.req;
            let mut step = [Duration::ZERO; STEPS.len()];
            let mut at = Instant::now();
            let mut lap = |i: usize| {
                let now = Instant::now();
                step[i] += now - at;
                at = now;
            };
            let mut tx = Transaction::new(Arc::clone(rules));
            tx.on_log(|_| {});
            tx.process_connection("127.0.0.1", 40000, "127.0.0.1", 80);
            lap(0);
            tx.process_uri(&req.uri, req.method.as_bytes(), req.version.as_bytes());
            lap(1);
            for (n, v) in &req.headers {
                tx.add_request_header(n, v);
            }
            tx.process_request_headers();
            lap(2);
            if tx.intervention().is_none() {
                if !req.body.is_empty() {
                    tx.append_request_body(&req.body);
                }
                tx.process_request_body();
                lap(3);
            }
            if tx.intervention().is_none() {
                let (name, value) = sekisho_benches::compare::engine::RESPONSE_HEADER;
                tx.add_response_header(name, value);
                tx.process_response_headers(200, b"HTTP 1.1");
                lap(4);
                tx.process_response_body();
                lap(5);
            }
            tx.process_logging();
            lap(6);
            drop(tx);
            lap(7);
            for (t, s) in times.iter_mut().zip(step) {
                t.push(s.as_secs_f64() * 1e6);
            }
        }
    }
    STEPS.into_iter().zip(times).collect()
}
