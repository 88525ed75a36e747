//! One engine on one rule set, in a process of its own (so the RSS growth of loading the rules
//! is that engine's alone, and two libmodsecurity versions never share a process). The results
//! go to stdout as tab-separated lines for the driver ([`super::report`]):
//!
//! ```text
//! engine   <version>
//! rules    <rule count>
//! load_ms  <CPU ms> <wall ms>       (one line per load; the process's CPU time, all threads)
//! rss_kb   <VmRSS before> <after>   (around the first load)
//! heap_kb  <before> <after>         (malloc'd bytes in use around the first load)
//! heap_end_kb <in use>              (after every workload: patterns built on first use too)
//! clock_ns <ns>                     (what reading the CPU clock twice adds to a sample)
//! time     <workload> <requests> <samples> <median ns> <p90 ns> <mean ns>   (thread CPU time,
//!          less clock_ns)
//! verdict  <workload> <index> <status> <id,id,...> <log lines> <METHOD uri (cut)>
//! req_time <workload> <index> <median ns> <METHOD uri (cut)>   (with SEKISHO_COMPARE_PER_REQUEST)
//! ```

use super::engine::{Engine, Sink};
use super::modsec::ModSec;
use super::sekisho::Sekisho;
use super::turns::{Turns, TURN_REQUESTS};
use super::workloads::{self, Size};
use std::io::Write;
use std::path::Path;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// glibc's `struct mallinfo2` (all `size_t`).
#[repr(C)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    fn mallinfo2() -> MallInfo2;
}

/// Bytes malloc has handed out and not had back (glibc: small chunks plus mmap'd blocks), in
/// kB. Both engines allocate through malloc (Rust's default allocator, C++'s `new`), so this is
/// the heap each holds, without RSS's freed-but-kept pages.
pub fn heap_kb() -> u64 {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct (glibc >= 2.33).
    let m = unsafe { mallinfo2() };
    ((m.uordblks + m.hblkhd) / 1024) as u64
}

/// Linux's `CLOCK_PROCESS_CPUTIME_ID` and `CLOCK_THREAD_CPUTIME_ID`.
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

/// Loads `conf`: the rule count, and the load's CPU time (the process's, every thread: Sekisho
/// builds patterns on helper threads) and wall time, in ms.
fn timed_load(engine: &mut dyn Engine, conf: &Path) -> Result<(usize, f64, f64), String> {
    let (cpu, wall) = (cpu_ns(CLOCK_PROCESS_CPUTIME_ID), std::time::Instant::now());
    let count = engine.load(conf)?;
    let cpu = cpu_ns(CLOCK_PROCESS_CPUTIME_ID).saturating_sub(cpu) as f64 / 1e6;
    Ok((count, cpu, wall.elapsed().as_secs_f64() * 1e3))
}

/// CPU time of this thread in ns. Transactions are timed in CPU time, not wall time: the
/// machines this runs on (2 cores, shared with builds) keep other processes queued for the
/// cores, and wall time would count their turns. Every engine runs on the calling thread.
pub fn thread_cpu_ns() -> u64 {
    cpu_ns(CLOCK_THREAD_CPUTIME_ID)
}

/// What a sample gains from the clock itself: the median of 1,001 empty intervals. A read of
/// the thread's CPU clock is a system call (~0.5 µs in the CI's virtual machines, against
/// ~40 µs a Sekisho transaction), and half of each of a sample's two reads falls inside it;
/// each sample is given less this, as a benchmark harness does with its timer's cost.
fn clock_overhead_ns() -> u64 {
    let mut empty: Vec<u64> = (0..1001)
        .map(|_| {
            let t = thread_cpu_ns();
            thread_cpu_ns().saturating_sub(t)
        })
        .collect();
    stats(&mut empty).0
}

fn cpu_ns(clock: i32) -> u64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec (x86_64/aarch64 Linux layout: two i64).
    unsafe { clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `VmRSS` of this process in kB (0 where /proc is missing).
pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// What the worker is asked to do.
pub struct Job<'a> {
    pub engine: &'a str,
    /// The library for a C API engine.
    pub lib: Option<&'a Path>,
    pub conf: &'a Path,
    pub crs4: Option<&'a Path>,
    pub size: Size,
    pub loads: usize,
    /// Only the workloads whose name starts with one of these (all when empty).
    pub only: &'a [String],
    /// Stop before each step for the driver's go ([`super::turns`]).
    pub turns: Turns,
}

/// `(median, p90, mean)` of nanosecond samples.
fn stats(samples: &mut [u64]) -> (u64, u64, u64) {
    if samples.is_empty() {
        return (0, 0, 0);
    }
    samples.sort_unstable();
    let n = samples.len();
    let mean = samples.iter().sum::<u64>() / n as u64;
    (samples[n / 2], samples[(n * 9 / 10).min(n - 1)], mean)
}

/// A request's first line for the disagreement examples: tabs and controls escaped, cut.
fn summary(method: &str, uri: &[u8]) -> String {
    let mut s = format!("{method} {}", String::from_utf8_lossy(uri));
    s = s.escape_debug().to_string();
    if s.len() > 120 {
        let mut cut = 117;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// Runs the job; an error is a load failure.
pub fn run(job: &Job<'_>) -> Result<(), String> {
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut engine: Box<dyn Engine> = match job.lib {
        Some(lib) => {
            let m = ModSec::open(lib)?;
            // Sekisho's drop-in answers msc_who_am_i as libmodsecurity does; say which it is.
            let drop_in = if job.engine == "sekisho-ffi" {
                "Sekisho C API; "
            } else {
                ""
            };
            writeln!(out, "engine\t{drop_in}{}", m.version()).ok();
            Box::new(m)
        }
        None => {
            writeln!(
                out,
                "engine\tSekisho {} (Rust API)",
                env!("CARGO_PKG_VERSION")
            )
            .ok();
            Box::new(Sekisho::default())
        }
    };

    job.turns.wait(&mut out)?;
    let (before, heap_before) = (rss_kb(), heap_kb());
    let (count, cpu, wall) = timed_load(engine.as_mut(), job.conf)?;
    let (after, heap_after) = (rss_kb(), heap_kb());
    writeln!(out, "rules\t{count}").ok();
    writeln!(out, "rss_kb\t{before}\t{after}").ok();
    writeln!(out, "heap_kb\t{heap_before}\t{heap_after}").ok();
    writeln!(out, "load_ms\t{cpu:.3}\t{wall:.3}").ok();
    for _ in 1..job.loads {
        job.turns.wait(&mut out)?;
        let (_, cpu, wall) = timed_load(engine.as_mut(), job.conf)?;
        engine.unload_all_but_first();
        writeln!(out, "load_ms\t{cpu:.3}\t{wall:.3}").ok();
    }
    out.flush().ok();

    let selected =
        |name: &str| job.only.is_empty() || job.only.iter().any(|o| name.starts_with(o.as_str()));
    let clock = clock_overhead_ns();
    writeln!(out, "clock_ns\t{clock}").ok();
    for w in workloads::all(job.size, job.crs4, &selected) {
        // One untimed pass collects the verdicts (and warms the caches).
        job.turns.wait(&mut out)?;
        for (i, p) in w.requests.iter().enumerate() {
            let mut sink = Sink::collecting();
            let status = engine.run(p, &mut sink);
            let ids: Vec<String> = sink.ids().iter().map(u64::to_string).collect();
            writeln!(
                out,
                "verdict\t{}\t{i}\t{status}\t{}\t{}\t{}",
                w.name,
                ids.join(","),
                sink.lines,
                summary(&p.req.method, &p.req.uri)
            )
            .ok();
        }
        let mut samples = Vec::with_capacity(w.rounds * w.requests.len());
        for _ in 0..w.rounds {
            for turn in w.requests.chunks(TURN_REQUESTS) {
                job.turns.wait(&mut out)?;
                // the turn's first request once untimed (why: [`super::turns`])
                engine.run(&turn[0], &mut Sink::default());
                for p in turn {
                    let mut sink = Sink::default();
                    let t = thread_cpu_ns();
                    engine.run(p, &mut sink);
                    samples.push(thread_cpu_ns().saturating_sub(t).saturating_sub(clock));
                }
            }
        }
        // SEKISHO_COMPARE_PER_REQUEST=1: each request's median too (which requests cost most).
        if std::env::var_os("SEKISHO_COMPARE_PER_REQUEST").is_some() {
            let n = w.requests.len();
            for (i, p) in w.requests.iter().enumerate() {
                let mut own: Vec<u64> = samples.iter().skip(i).step_by(n).copied().collect();
                let (med, _, _) = stats(&mut own);
                let what = summary(&p.req.method, &p.req.uri);
                writeln!(out, "req_time\t{}\t{i}\t{med}\t{what}", w.name).ok();
            }
        }
        let n = samples.len();
        let (med, p90, mean) = stats(&mut samples);
        writeln!(
            out,
            "time\t{}\t{}\t{n}\t{med}\t{p90}\t{mean}",
            w.name,
            w.requests.len()
        )
        .ok();
        out.flush().ok();
    }
    // Relative to before the load, like heap_kb.
    writeln!(
        out,
        "heap_end_kb\t{}",
        heap_kb().saturating_sub(heap_before)
    )
    .ok();
    Ok(())
}
