//! Sekisho's benchmarks. Figures are printed, never asserted: a 2-core CI machine is noisy, so
//! each binary repeats its measurement and quotes the median.
//!
//! - `parse-crs`: reading and parsing OWASP CRS (setup + `rules/*.conf`) with `seclang-parser`.
//! - `compare`: Sekisho and libmodsecurity v3 (3.0.9, 3.0.15) on the same rules and requests:
//!   time per transaction, verdict agreement, rule load time and memory ([`compare`]).
//! - `benches/`: criterion micro-benchmarks (transformations, operators, whole transactions).

pub mod compare;
pub mod micro;

use std::time::{Duration, Instant};

/// Runs `f` `runs` times and returns the sorted durations.
pub fn measure(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times
}

/// `median X ms (min Y, max Z, N runs)`.
pub fn summary(times: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.2} ms (min {:.2}, max {:.2}, {} runs)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len()
    )
}
