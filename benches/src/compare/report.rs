//! The driver: one worker process per (rule set, engine), then one table.
//!
//! Verdicts are compared with a reference engine, libmodsecurity 3.0.15 (the version Sekisho
//! aims to decide like), else 3.0.9 when the wheel is missing: the share of requests with the
//! same status, and with the same set of logged rule ids.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// One request's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: u16,
    pub ids: BTreeSet<u64>,
    pub summary: String,
}

/// One workload's timing.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    pub requests: usize,
    pub samples: usize,
    pub median_ns: u64,
    pub p90_ns: u64,
    pub mean_ns: u64,
}

/// What a worker reported (see [`super::worker`]).
#[derive(Debug, Clone, Default)]
pub struct EngineResult {
    pub version: String,
    pub rules: usize,
    /// Each load's CPU time (the process's) and wall time.
    pub load_ms: Vec<f64>,
    pub load_wall_ms: Vec<f64>,
    pub rss_before_kb: u64,
    pub rss_after_kb: u64,
    /// malloc'd bytes in use before and after the first load, and their growth after all the
    /// workloads (0: not reported).
    pub heap_before_kb: u64,
    pub heap_after_kb: u64,
    pub heap_end_growth_kb: u64,
    /// What the clock adds to a sample, taken off each (the median of empty intervals).
    pub clock_ns: u64,
    /// In workload order.
    pub timings: Vec<(String, Timing)>,
    pub verdicts: BTreeMap<String, Vec<Verdict>>,
    /// Set when the worker failed (its stderr's last line, or the exit status).
    pub error: Option<String>,
}

impl EngineResult {
    /// Parses a worker's stdout.
    pub fn parse(text: &str) -> EngineResult {
        let mut r = EngineResult::default();
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let num = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            match f[0] {
                "engine" => r.version = f.get(1).unwrap_or(&"?").to_string(),
                "rules" => r.rules = num(1) as usize,
                "load_ms" => {
                    let ms = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok());
                    r.load_ms.extend(ms(1));
                    r.load_wall_ms.extend(ms(2));
                }
                "rss_kb" => {
                    r.rss_before_kb = num(1);
                    r.rss_after_kb = num(2);
                }
                "heap_kb" => {
                    r.heap_before_kb = num(1);
                    r.heap_after_kb = num(2);
                }
                "heap_end_kb" => r.heap_end_growth_kb = num(1),
                "clock_ns" => r.clock_ns = num(1),
                "time" if f.len() >= 7 => r.timings.push((
                    f[1].to_string(),
                    Timing {
                        requests: num(2) as usize,
                        samples: num(3) as usize,
                        median_ns: num(4),
                        p90_ns: num(5),
                        mean_ns: num(6),
                    },
                )),
                "verdict" if f.len() >= 7 => {
                    let v = Verdict {
                        status: num(3) as u16,
                        ids: f[4].split(',').filter_map(|s| s.parse().ok()).collect(),
                        summary: f[6..].join("\t"),
                    };
                    r.verdicts.entry(f[1].to_string()).or_default().push(v);
                }
                _ => {}
            }
        }
        r
    }

    fn timing(&self, workload: &str) -> Option<&Timing> {
        self.timings
            .iter()
            .find(|(n, _)| n == workload)
            .map(|(_, t)| t)
    }

    fn load_median_ms(&self) -> Option<f64> {
        median(&self.load_ms)
    }
}

fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

impl EngineResult {
    fn load_wall_median_ms(&self) -> Option<f64> {
        median(&self.load_wall_ms)
    }
}

/// The results of one rule set: engine name → result, in engine order.
pub struct RuleSetResults {
    pub name: String,
    pub engines: Vec<(String, String, EngineResult)>,
}

fn us(ns: u64) -> String {
    let us = ns as f64 / 1e3;
    if us < 100.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

/// Whether a logged id takes part in the comparison. CRS's correlation rules (RESPONSE-980,
/// 980000-980999) are left out: they only report, never decide, and libmodsecurity v3 hides their
/// lines through `noauditlog` where Sekisho, on purpose, logs them as CRS's own tests expect
/// (README, "Deliberate differences"). [`raw_id_differences`] counts what that leaves out.
fn compared(id: &u64) -> bool {
    !(980_000..981_000).contains(id)
}

fn same_ids(a: &Verdict, b: &Verdict) -> bool {
    a.ids
        .iter()
        .filter(|i| compared(i))
        .eq(b.ids.iter().filter(|i| compared(i)))
}

/// Requests whose id sets differ only in RESPONSE-980 ids.
fn raw_id_differences(a: &[Verdict], b: &[Verdict]) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.ids != y.ids && same_ids(x, y))
        .count()
}

/// `(same status, same ids)` as percentages, and the disagreeing indices.
fn agreement(a: &[Verdict], b: &[Verdict]) -> (f64, f64, Vec<usize>) {
    let n = a.len().min(b.len());
    if n == 0 {
        return (0.0, 0.0, Vec::new());
    }
    let mut st = 0;
    let mut ids = 0;
    let mut diff = Vec::new();
    for i in 0..n {
        let s = a[i].status == b[i].status;
        let d = same_ids(&a[i], &b[i]);
        st += s as usize;
        ids += d as usize;
        if !s || !d {
            diff.push(i);
        }
    }
    let pct = |k: usize| 100.0 * k as f64 / n as f64;
    (pct(st), pct(ids), diff)
}

fn pct(p: f64) -> String {
    if p == 100.0 {
        "100".into()
    } else {
        format!("{p:.1}")
    }
}

/// A plain text table with right-aligned columns (the first two left-aligned).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = width[c] - cell.chars().count();
            if c > 0 {
                line.push_str("  ");
            }
            if c < 2 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(width.iter().sum::<usize>() + 2 * (cols.max(1) - 1)));
            out.push('\n');
        }
    }
    out
}

/// The whole report: the speed and agreement table, the load table, then disagreement examples.
pub fn render(results: &[RuleSetResults], examples: usize) -> String {
    let mut out = String::new();
    // Engines present anywhere, in order.
    let mut engines: Vec<String> = Vec::new();
    for rs in results {
        for (e, _, _) in &rs.engines {
            if !engines.contains(e) {
                engines.push(e.clone());
            }
        }
    }
    let reference = ["wheel", "debian"]
        .into_iter()
        .find(|r| engines.iter().any(|e| e == r));
    let others: Vec<&String> = engines
        .iter()
        .filter(|e| Some(e.as_str()) != reference)
        .collect();
    let libs: Vec<&str> = ["wheel", "debian"]
        .into_iter()
        .filter(|r| engines.iter().any(|e| e == r))
        .collect();

    // --- speed and agreement -------------------------------------------------------------
    let mut head = vec!["rules".to_string(), "workload".into(), "reqs".into()];
    for e in &engines {
        head.push(format!("{} med/p90 µs", label(e)));
    }
    let has_sek = engines.iter().any(|e| e == "sekisho");
    if has_sek {
        for l in &libs {
            head.push(format!("{}÷sek", label(l)));
        }
    }
    if let Some(r) = reference {
        for o in &others {
            head.push(format!("{} st/ids %", label(o)));
        }
        head.push(format!("blocked {}", label(r)));
    }
    let mut rows = vec![head];
    let mut diffs: Vec<String> = Vec::new();
    for rs in results {
        let get = |e: &str| {
            rs.engines
                .iter()
                .find(|(n, _, _)| n == e)
                .map(|(_, _, r)| r)
        };
        // Workloads in the order the first successful engine ran them.
        let order: Vec<String> = rs
            .engines
            .iter()
            .map(|(_, _, r)| r)
            .max_by_key(|r| r.timings.len())
            .map(|r| r.timings.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        for w in &order {
            let mut row = vec![rs.name.clone(), w.clone()];
            let reqs = rs
                .engines
                .iter()
                .find_map(|(_, _, r)| r.timing(w))
                .map_or(0, |t| t.requests);
            row.push(reqs.to_string());
            for e in &engines {
                row.push(match get(e).and_then(|r| r.timing(w)) {
                    Some(t) => format!("{}/{}", us(t.median_ns), us(t.p90_ns)),
                    None if get(e).is_some_and(|r| r.error.is_some()) => "failed".into(),
                    None => "-".into(),
                });
            }
            let sek = get("sekisho").and_then(|r| r.timing(w));
            if has_sek {
                for l in &libs {
                    row.push(match (get(l).and_then(|r| r.timing(w)), sek) {
                        (Some(a), Some(b)) if b.median_ns > 0 => {
                            format!("{:.2}x", a.median_ns as f64 / b.median_ns as f64)
                        }
                        _ => "-".into(),
                    });
                }
            }
            if let Some(r) = reference {
                let refv = get(r).and_then(|x| x.verdicts.get(w));
                for o in &others {
                    let ov = get(o).and_then(|x| x.verdicts.get(w));
                    row.push(match (refv, ov) {
                        (Some(a), Some(b)) => {
                            let (st, ids, d) = agreement(a, b);
                            if o.as_str() == "sekisho" {
                                for &i in d.iter().take(examples) {
                                    diffs.push(diff_line(&rs.name, w, i, &a[i], &b[i], label(r)));
                                }
                                if d.len() > examples {
                                    diffs.push(format!(
                                        "  {} {w}: {} more",
                                        rs.name,
                                        d.len() - examples
                                    ));
                                }
                            }
                            format!("{}/{}", pct(st), pct(ids))
                        }
                        _ => "-".into(),
                    });
                }
                row.push(match refv {
                    Some(a) => format!("{}", a.iter().filter(|v| v.status != 200).count()),
                    None => "-".into(),
                });
            }
            rows.push(row);
        }
    }
    out.push_str(&table(&rows));
    let clocks = results
        .iter()
        .flat_map(|rs| &rs.engines)
        .map(|e| e.2.clock_ns);
    let (low, high) = clocks.fold((u64::MAX, 0), |(l, h), c| (l.min(c), h.max(c)));
    out.push_str(
        "\nmed/p90: median and 90th percentile of the CPU time of one whole transaction \
         (connection → logging, a new transaction each), over all requests × rounds",
    );
    if high > 0 {
        out.push_str(&format!(
            ", less what reading the clock adds to a sample (measured in each engine's process: \
             {low}-{high} ns in this run)"
        ));
    }
    out.push_str(".\n");
    out.push_str(
        "X÷sek: libmodsecurity's median over \
         Sekisho's (above 1: Sekisho is faster).\nX st/ids %: % of requests on which X gives the same \
         status / the same set of logged rule ids as the reference, libmodsecurity 3.0.15 (3.0.9 \
         without the wheel); RESPONSE-980 correlation ids left out, see below.\nblocked: requests \
         the reference answered with a status other than 200.\n",
    );

    // --- loading ---------------------------------------------------------------------------
    let mut rows = vec![vec![
        "rules".to_string(),
        "engine".into(),
        "rule count".into(),
        "first load CPU ms".into(),
        "wall ms".into(),
        "load CPU ms (median)".into(),
        "wall ms".into(),
        "loads".into(),
        "RSS growth MB".into(),
        "heap MB".into(),
        "heap MB after requests".into(),
        "version".into(),
    ]];
    for rs in results {
        for (e, _, r) in &rs.engines {
            rows.push(vec![
                rs.name.clone(),
                label(e).to_string(),
                r.rules.to_string(),
                r.load_ms.first().map_or("-".into(), |m| format!("{m:.0}")),
                r.load_wall_ms
                    .first()
                    .map_or("-".into(), |m| format!("{m:.0}")),
                r.load_median_ms().map_or("-".into(), |m| format!("{m:.0}")),
                r.load_wall_median_ms()
                    .map_or("-".into(), |m| format!("{m:.0}")),
                r.load_ms.len().to_string(),
                if r.rss_after_kb > 0 {
                    format!(
                        "{:.1}",
                        r.rss_after_kb.saturating_sub(r.rss_before_kb) as f64 / 1024.0
                    )
                } else {
                    "-".into()
                },
                mb(r.heap_after_kb.saturating_sub(r.heap_before_kb)),
                mb(r.heap_end_growth_kb),
                match &r.error {
                    Some(e) => format!("FAILED: {e}"),
                    None => r.version.clone(),
                },
            ]);
        }
    }
    out.push('\n');
    out.push_str(&table(&rows));
    out.push_str(
        "first load: the first load in a fresh process; CPU is the process's CPU time, every \
         thread (Sekisho builds patterns on up to 4 threads; SEKISHO_LOAD_THREADS=1: one), \
         wall the time it took. Later loads in the same process reuse \
         Sekisho's compiled @rx patterns (a process-wide cache, as a server reload does), so its \
         median is a reload's time; libmodsecurity has no such cache.\nheap MB: malloc'd bytes \
         held after the first load (glibc's mallinfo2; both engines allocate through malloc); \
         after requests: held once every workload has run (Sekisho builds an @rx pattern's \
         automaton on its first search, libmodsecurity all at load). RSS growth also counts \
         pages the load freed but the process kept.\n",
    );

    // --- per rule set: Sekisho's two front doors must agree exactly; what 980 leaves out ------
    out.push('\n');
    for rs in results {
        let get = |e: &str| {
            rs.engines
                .iter()
                .find(|(n, _, _)| n == e)
                .map(|(_, _, r)| r)
        };
        let mut notes = Vec::new();
        if let (Some(a), Some(b)) = (get("sekisho"), get("sekisho-ffi")) {
            let n: usize = a.verdicts.values().map(Vec::len).sum();
            let d: usize = a
                .verdicts
                .iter()
                .map(|(w, va)| {
                    b.verdicts
                        .get(w)
                        .map_or(va.len(), |vb| agreement(va, vb).2.len())
                })
                .sum();
            notes.push(format!("Rust API vs C API: {d} of {n} verdicts differ"));
        }
        if let (Some(r), Some(b)) = (reference, get("sekisho")) {
            if let Some(a) = get(r) {
                let n: usize = a
                    .verdicts
                    .iter()
                    .map(|(w, va)| b.verdicts.get(w).map_or(0, |vb| raw_id_differences(va, vb)))
                    .sum();
                notes.push(format!(
                    "{n} requests differ from {} only in RESPONSE-980 ids (not counted above)",
                    label(r)
                ));
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "{}: {}", rs.name, notes.join("; "));
        }
    }

    if let Some(r) = reference {
        if !diffs.is_empty() {
            let _ = writeln!(
                out,
                "\nSekisho vs {} disagreements (first {examples} per workload; -: only {0}, +: only Sekisho):",
                label(r)
            );
            for d in diffs {
                out.push_str(&d);
                out.push('\n');
            }
        }
    }
    out
}

/// An engine's short name in the tables.
/// kB as MB with one decimal; `-` for 0 (not reported).
fn mb(kb: u64) -> String {
    if kb == 0 {
        "-".into()
    } else {
        format!("{:.1}", kb as f64 / 1024.0)
    }
}

fn label(e: &str) -> &str {
    match e {
        "debian" => "3.0.9",
        "wheel" => "3.0.15",
        "sekisho" => "sekisho",
        "sekisho-ffi" => "sek-C-API",
        other => other,
    }
}

fn diff_line(rules: &str, w: &str, i: usize, a: &Verdict, b: &Verdict, rl: &str) -> String {
    let only = |x: &BTreeSet<u64>, y: &BTreeSet<u64>| {
        x.difference(y)
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut s = format!("  {rules} {w} #{i} {}: ", a.summary);
    if a.status != b.status {
        let _ = write!(s, "status {rl} {} vs sekisho {}; ", a.status, b.status);
    }
    let keep = |v: &BTreeSet<u64>| {
        v.iter()
            .copied()
            .filter(compared)
            .collect::<BTreeSet<u64>>()
    };
    let (ai, bi) = (keep(&a.ids), keep(&b.ids));
    let minus = only(&ai, &bi);
    let plus = only(&bi, &ai);
    if !minus.is_empty() {
        let _ = write!(s, "-[{minus}] ");
    }
    if !plus.is_empty() {
        let _ = write!(s, "+[{plus}]");
    }
    s.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKER: &str = "engine\tModSecurity v3.0.15 (Linux)\nrules\t845\nrss_kb\t1000\t32000\n\
        heap_kb\t700\t20000\nheap_end_kb\t25000\n\
        load_ms\t150.5\t90.5\nload_ms\t140.0\t80.0\nload_ms\t160.0\t70.0\n\
        verdict\tbenign\t0\t200\t\t0\tGET /\n\
        verdict\tbenign\t1\t403\t942100,949110,980170\t3\tGET /?q=1'\tor\n\
        time\tbenign\t2\t10\t5000\t9000\t6000\n";

    #[test]
    fn parses_what_a_worker_prints() {
        let r = EngineResult::parse(WORKER);
        assert_eq!(r.rules, 845);
        assert_eq!(r.load_median_ms(), Some(150.5));
        assert_eq!(r.load_wall_median_ms(), Some(80.0));
        assert_eq!((r.rss_before_kb, r.rss_after_kb), (1000, 32000));
        assert_eq!(
            (r.heap_before_kb, r.heap_after_kb, r.heap_end_growth_kb),
            (700, 20000, 25000)
        );
        let v = &r.verdicts["benign"];
        assert_eq!(v[1].status, 403);
        assert_eq!(v[1].summary, "GET /?q=1'\tor");
        assert_eq!(r.timing("benign").unwrap().median_ns, 5000);
    }

    #[test]
    fn correlation_ids_do_not_count_as_disagreement() {
        let a = EngineResult::parse(WORKER).verdicts["benign"].clone();
        let mut b = a.clone();
        b[1].ids.remove(&980170);
        assert_eq!(agreement(&a, &b), (100.0, 100.0, vec![]));
        assert_eq!(raw_id_differences(&a, &b), 1);
        b[1].ids.remove(&942100);
        b[1].status = 200;
        assert_eq!(agreement(&a, &b), (50.0, 50.0, vec![1]));
        let line = diff_line("crs4-pl1", "benign", 1, &a[1], &b[1], "3.0.15");
        assert!(
            line.ends_with("status 3.0.15 403 vs sekisho 200; -[942100]"),
            "{line}"
        );
    }
}
