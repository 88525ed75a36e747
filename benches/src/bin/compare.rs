//! `compare`: Sekisho side by side with libmodsecurity v3, printing one table.
//!
//! ```text
//! compare [--quick] [--rules crs4-pl1,crs4-pl2,crs3] [--engines debian,wheel,sekisho,sekisho-ffi]
//!         [--crs DIR] [--ffi-lib PATH] [--examples N] [--workloads PREFIX,...] [--rounds N]
//! ```
//!
//! `--workloads` keeps the workloads whose name starts with one of the prefixes (`crs-regression`,
//! `benign`, `body`, `body json`, `args`, `cookies`). `--rounds N` times every workload N times
//! (by default 5, 3 with `--quick`, fewer for the large series: one for the 1 MB bodies).
//!
//! Each engine runs each rule set in a worker process of its own (this binary again, with
//! `--worker`), so loading memory is measured per engine and Debian's 3.0.9 and the wheel's
//! 3.0.15 never share a process. A rule set's workers run side by side in alternating turns
//! of a hundred requests, one at a time ([`sekisho_benches::compare::turns`]), so the engines'
//! medians come from the same minutes of a shared machine. Engines or rule sets that are not installed are skipped with a
//! note. Exit status: 0 when every worker ran, 1 when one failed, 2 on a usage error.

use sekisho_benches::compare::report::{render, EngineResult, RuleSetResults};
use sekisho_benches::compare::turns::{run_in_turns, spin_while_waiting, Turns, Worker};
use sekisho_benches::compare::workloads::Size;
use sekisho_benches::compare::{config, libs, worker};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const USAGE: &str = "usage: compare [--quick] [--rules crs4-pl1,crs4-pl2,crs3] \
[--engines debian,wheel,sekisho,sekisho-ffi] [--crs DIR] [--ffi-lib PATH] [--examples N] \
[--workloads PREFIX,...] [--rounds N]";

struct Args {
    quick: bool,
    rules: Vec<String>,
    engines: Vec<String>,
    crs: Option<PathBuf>,
    ffi_lib: Option<PathBuf>,
    examples: usize,
    workloads: Vec<String>,
    rounds: Option<usize>,
    // worker mode
    worker: Option<String>,
    lib: Option<PathBuf>,
    conf: Option<PathBuf>,
    turns: bool,
    spin: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        quick: false,
        rules: config::RULE_SET_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        engines: libs::ENGINES.iter().map(|(e, _)| e.to_string()).collect(),
        crs: None,
        ffi_lib: None,
        examples: 5,
        workloads: Vec::new(),
        rounds: None,
        worker: None,
        lib: None,
        conf: None,
        turns: false,
        spin: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or(format!("{arg} needs a value"));
        let list = |s: String| s.split(',').map(|x| x.trim().to_string()).collect();
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--rules" => a.rules = list(val()?),
            "--engines" => a.engines = list(val()?),
            "--crs" => a.crs = Some(val()?.into()),
            "--ffi-lib" => a.ffi_lib = Some(val()?.into()),
            "--examples" => a.examples = val()?.parse().map_err(|_| "--examples needs a number")?,
            "--workloads" => a.workloads = list(val()?),
            "--rounds" => {
                a.rounds = Some(
                    val()?
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or("--rounds needs a number above 0")?,
                )
            }
            "--worker" => a.worker = Some(val()?),
            "--lib" => a.lib = Some(val()?.into()),
            "--conf" => a.conf = Some(val()?.into()),
            "--turns" => a.turns = true,
            "--spin" => a.spin = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    for r in &a.rules {
        if !config::RULE_SET_NAMES.contains(&r.as_str()) {
            return Err(format!("unknown rule set {r:?}"));
        }
    }
    for e in &a.engines {
        if !libs::ENGINES.iter().any(|(n, _)| n == e) {
            return Err(format!("unknown engine {e:?}"));
        }
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("compare: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let crs4 = config::crs4_dir(args.crs.as_deref());
    let size = Size {
        quick: args.quick,
        rounds: args.rounds,
    };
    if let Some(engine) = &args.worker {
        let Some(conf) = &args.conf else {
            eprintln!("compare: --worker needs --conf");
            std::process::exit(2);
        };
        let job = worker::Job {
            engine,
            lib: args.lib.as_deref(),
            conf,
            crs4: crs4.as_deref(),
            size,
            loads: if args.quick { 3 } else { 5 },
            only: &args.workloads,
            turns: Turns {
                on: args.turns,
                spin: args.spin,
            },
        };
        if let Err(e) = worker::run(&job) {
            eprintln!("compare worker {engine}: {e}");
            std::process::exit(1);
        }
        return;
    }
    std::process::exit(drive(&args, crs4.as_deref()));
}

/// The driver: a worker per (rule set, engine), then the table. Returns the exit status.
fn drive(args: &Args, crs4: Option<&Path>) -> i32 {
    let started = Instant::now();
    let tmp = std::env::temp_dir().join(format!("sekisho-compare-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&tmp) {
        eprintln!("compare: {}: {e}", tmp.display());
        return 1;
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("compare: cannot find my own executable: {e}");
            return 1;
        }
    };
    let mut notes: Vec<String> = Vec::new();
    let mut engines: Vec<(String, Option<PathBuf>)> = Vec::new();
    for e in &args.engines {
        match libs::lib_for(e, args.ffi_lib.as_deref()) {
            Ok(lib) => engines.push((e.clone(), lib)),
            Err(msg) => notes.push(format!("engine {e} skipped: {msg}")),
        }
    }
    let mut results = Vec::new();
    let mut failed = false;
    for name in &args.rules {
        let spec = match config::rule_set(name, crs4) {
            Ok(s) => s,
            Err(msg) => {
                notes.push(format!("rule set {name} skipped: {msg}"));
                continue;
            }
        };
        let conf = match spec.write(&tmp) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("compare: writing {name}'s configuration: {e}");
                return 1;
            }
        };
        let mut rs = RuleSetResults {
            name: name.clone(),
            engines: Vec::new(),
        };
        eprintln!(
            "compare: {name} on {} (at {:.0} s)",
            engines
                .iter()
                .map(|(e, _)| e.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            started.elapsed().as_secs_f64()
        );
        let mut workers = Vec::new();
        let mut spawned = Vec::new();
        let spin = spin_while_waiting(engines.len());
        for (e, lib) in &engines {
            let mut cmd = Command::new(&exe);
            cmd.arg("--worker")
                .arg(e)
                .arg("--conf")
                .arg(&conf)
                .arg("--turns");
            if spin {
                cmd.arg("--spin");
            }
            if let Some(l) = lib {
                cmd.arg("--lib").arg(l);
            }
            if let Some(c) = crs4 {
                cmd.arg("--crs").arg(c);
            }
            if args.quick {
                cmd.arg("--quick");
            }
            if !args.workloads.is_empty() {
                cmd.arg("--workloads").arg(args.workloads.join(","));
            }
            if let Some(n) = args.rounds {
                cmd.arg("--rounds").arg(n.to_string());
            }
            // The wheel's library finds its own dependencies through RPATH; nothing preloaded.
            cmd.env_remove("LD_PRELOAD");
            match Worker::spawn(cmd) {
                Ok(w) => {
                    workers.push(w);
                    spawned.push(Ok(()));
                }
                Err(err) => spawned.push(Err(err.to_string())),
            }
        }
        run_in_turns(&mut workers);
        let mut finished = workers.into_iter().map(Worker::finish);
        for ((e, lib), spawn) in engines.iter().zip(spawned) {
            let r = match spawn.and_then(|()| finished.next().ok_or("no worker".into())) {
                Ok(done) => {
                    let mut r = EngineResult::parse(&done.stdout);
                    match done.status {
                        Ok(status) if status.success() => {}
                        Ok(status) => {
                            let last = done
                                .stderr
                                .lines()
                                .rev()
                                .find(|l| !l.trim().is_empty())
                                .unwrap_or("");
                            r.error = Some(format!("{status} {last}"));
                            eprintln!("compare: {name} on {e} failed ({status}):\n{}", done.stderr);
                            failed = true;
                        }
                        Err(err) => {
                            r.error = Some(err.to_string());
                            failed = true;
                        }
                    }
                    r
                }
                Err(err) => {
                    failed = true;
                    EngineResult {
                        error: Some(err),
                        ..EngineResult::default()
                    }
                }
            };
            let lib = lib
                .as_ref()
                .map_or("in process".into(), |l| l.display().to_string());
            rs.engines.push((e.clone(), lib, r));
        }
        results.push(rs);
    }
    let _ = std::fs::remove_dir_all(&tmp);

    println!(
        "Sekisho vs libmodsecurity ({} mode; CRS 4 from {})",
        if args.quick { "--quick" } else { "full" },
        crs4.map_or("-".into(), |p| p.display().to_string())
    );
    for (e, lib) in &engines {
        println!(
            "  {e}: {}",
            lib.as_ref()
                .map_or("Rust API, in process".into(), |l| l.display().to_string())
        );
    }
    println!(
        "  workers waiting for their turns: {} (SEKISHO_COMPARE_BLOCK=1 to block; see benches/src/compare/turns.rs)",
        match spin_while_waiting(engines.len()) {
            true => "spin, each on a core of its own",
            false => "block",
        }
    );
    println!();
    print!("{}", render(&results, args.examples));
    for n in &notes {
        println!("note: {n}");
    }
    println!("\ncompare: {:.0} s in all", started.elapsed().as_secs_f64());
    if failed {
        1
    } else {
        0
    }
}
