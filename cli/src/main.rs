//! `sekisho`: the command-line front of Sekisho. Thin: each subcommand calls a library crate.
//!
//! - `sekisho rules check [--crs [DIR]] [--time] PATH...` — loads SecLang files (following
//!   `Include`s), compiles them with the engine (operators, regexes, data files), and prints
//!   `N files, M rules, K directives, E errors`; every error as
//!   `file:line:column: message` with the offending text. Exit 0 when clean, 1 on errors,
//!   2 on usage errors.
//! - `sekisho crs-test [--rules DIR] [--tests DIR] [-i RE] [-e RE]` — runs CRS's go-ftw
//!   regression tests in-process against Sekisho's engine (see the `crs-test` crate); the last
//!   line is `N passed, M failed`.

use seclang_parser::Loader;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage:
  sekisho crs-test [--rules CRS-DIR] [--tests DIR] [-i REGEX] [-e REGEX] [--overrides FILE]
      Run OWASP CRS's go-ftw regression tests (default: CRS-DIR/tests/regression/tests) against
      Sekisho's engine, configured as CRS's tests/regression/README.md prescribes. -i/-e select
      tests by `<rule>-<test>`; --overrides FILE skips the tests an overrides file excuses.
  sekisho rules check [--crs [DIR]] [--time] [PATH...]
      Load SecLang files (and what they Include) and report errors as file:line:column.
      --crs [DIR]  also load OWASP CRS (setup file, then rules/*.conf) from DIR, else from
                   $SEKISHO_CRS_DIR or a standard install path
      --time       print how long reading and parsing took
  sekisho --version";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("rules") if args.get(1).map(String::as_str) == Some("check") => {
            rules_check(&args[2..])
        }
        Some("crs-test") => crs_test(&args[1..]),
        Some("--version") | Some("-V") => {
            println!("sekisho {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help") | Some("-h") | Some("help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn rules_check(args: &[String]) -> ExitCode {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut time = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--time" => time = true,
            "--crs" => {
                let dir = args
                    .get(i + 1)
                    .filter(|a| !a.starts_with("--"))
                    .map(PathBuf::from);
                if dir.is_some() {
                    i += 1;
                }
                match crs_rules::find(dir.as_deref()) {
                    Ok(crs) => {
                        eprintln!(
                            "CRS {} at {}",
                            crs.version.as_deref().unwrap_or("(unknown version)"),
                            crs.root.display()
                        );
                        paths.extend(crs.files());
                    }
                    Err(e) => {
                        eprintln!("sekisho: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            a if a.starts_with("--") => {
                eprintln!("sekisho: unknown option {a}\n{USAGE}");
                return ExitCode::from(2);
            }
            a => paths.push(PathBuf::from(a)),
        }
        i += 1;
    }
    if paths.is_empty() {
        eprintln!("sekisho: rules check needs at least one PATH or --crs\n{USAGE}");
        return ExitCode::from(2);
    }
    let started = Instant::now();
    let mut loader = Loader::new();
    for p in &paths {
        loader.add_file(p);
    }
    let result = loader.finish();
    let elapsed = started.elapsed();
    if time {
        eprintln!("read and parsed in {:.2} ms", elapsed.as_secs_f64() * 1e3);
    }
    // A closed pipe (`| head`) is not an error worth a panic: write what can be written.
    let mut out = std::io::stdout().lock();
    match result {
        Ok(config) => {
            for w in &config.warnings {
                let _ = writeln!(out, "warning: {}", w.display(&config.sources));
            }
            let s = config.stats;
            // The engine's load step too: operators, regexes, data files, Lua/GeoIP needs.
            match waf_core::compile(config) {
                Ok(rules) => {
                    for w in &rules.warnings {
                        let _ = writeln!(out, "warning: {w}");
                    }
                    let _ = writeln!(
                        out,
                        "{} files, {} rules, {} directives, 0 errors",
                        s.files, s.rules, s.directives
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => report_errors(&mut out, &errors),
            }
        }
        Err(errors) => report_errors(&mut out, &errors),
    }
}

/// Every error as `file:line:column: message` and the offending text; exit 1.
fn report_errors(out: &mut impl Write, errors: &seclang_parser::Errors) -> ExitCode {
    for e in &errors.errors {
        let _ = writeln!(out, "{}", e.display(&errors.sources));
    }
    let n = errors.errors.len();
    let _ = writeln!(
        out,
        "{n} error{}; nothing was loaded",
        if n == 1 { "" } else { "s" }
    );
    ExitCode::from(1)
}

fn crs_test(args: &[String]) -> ExitCode {
    let mut rules: Option<PathBuf> = None;
    let mut tests: Option<PathBuf> = None;
    let (mut include, mut exclude, mut overrides) = (None, None, None);
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned();
        match (args[i].as_str(), value) {
            ("--rules", Some(v)) => rules = Some(PathBuf::from(v)),
            ("--tests", Some(v)) => tests = Some(PathBuf::from(v)),
            ("-i" | "--include", Some(v)) => include = Some(v),
            ("-e" | "--exclude", Some(v)) => exclude = Some(v),
            ("--overrides", Some(v)) => overrides = Some(PathBuf::from(v)),
            (a, _) => {
                eprintln!("sekisho: crs-test: unexpected argument {a}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
        i += 2;
    }
    let crs = match crs_rules::find(rules.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sekisho: {e}");
            return ExitCode::from(2);
        }
    };
    let tests = tests.unwrap_or_else(|| crs.root.join("tests/regression/tests"));
    let filter = match crs_test::Filter::new(include.as_deref(), exclude.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("sekisho: crs-test: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let config = crs_test::crs_test_config(&crs.root);
    let mut ruleset = match waf_core::RuleSet::from_text("crs-test.conf", &config, Some(&crs.root))
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sekisho: crs-test: the rules do not load:\n{e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "CRS {} at {}: {} rules compiled in {:.0} ms",
        crs.version.as_deref().unwrap_or("?"),
        crs.root.display(),
        ruleset.rule_count(),
        started.elapsed().as_secs_f64() * 1e3
    );
    // CRS's tests expect ModSecurity v2's logging: only `nolog` hides a match (980170)
    ruleset.set_noauditlog_hides_rule(false);
    let engine = crs_test::sekisho::SekishoEngine::new(std::sync::Arc::new(ruleset));
    let overrides_file = match overrides.as_deref().map(crs_test::load_overrides) {
        Some(Ok(o)) => Some(o),
        Some(Err(e)) => {
            eprintln!("sekisho: crs-test: {e}");
            return ExitCode::from(2);
        }
        None => None,
    };
    let mode = match &overrides_file {
        Some(o) => crs_test::Overrides::Skip(o),
        None => crs_test::Overrides::Off,
    };
    let started = Instant::now();
    let report = crs_test::run_tests(&engine, &tests, &filter, mode);
    let mut out = std::io::stdout().lock();
    for line in report.failure_lines() {
        let _ = writeln!(out, "{line}");
    }
    eprintln!("ran in {:.1} s", started.elapsed().as_secs_f64());
    let _ = writeln!(out, "{}", report.summary_line());
    if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
