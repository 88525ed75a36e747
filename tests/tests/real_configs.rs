//! Real configurations load with no error and with the rule counts the real libmodsecurity v3
//! reports for them:
//! - OWASP CRS 4.28 (`<shared>/crs/v4.28.0`): crs-setup.conf.example, then rules/*.conf;
//! - Debian's CRS 3.3.4 (`modsecurity-crs`), through `/usr/share/modsecurity-crs/owasp-crs.load`;
//! - ModSecurity v3's recommended `modsecurity.conf` (from Debian's `libnginx-mod-http-modsecurity`).
//!
//! The expected counts are libmodsecurity's, measured with `tests/oracle` (FINDINGS.md). When the
//! oracle itself is usable (`tests/oracle/run.sh --lib debian|wheel`), it is also run live on the
//! same files and its per-file counts must equal Sekisho's (`Stats::libmodsecurity_count`).
//!
//! Missing data or a missing libmodsecurity: with `CI` set, the test fails and says what to install;
//! otherwise it prints why it did not run and passes.

use seclang_parser::{Config, Loader};
use sekisho_tests::{repo_root, shared_dir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

// --- helpers ---------------------------------------------------------------------------------

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Data for a test is missing: fail in CI (saying how to get it), else explain and skip.
/// Returns normally only when the test should just return.
fn missing(test: &str, what: &str, how: &str) {
    let msg = format!("{test}: {what}; {how}");
    if in_ci() {
        panic!("{msg} (CI is set, so this is an error)");
    }
    eprintln!("{test}: not run: {what}. To run it: {how}");
}

const SETUP_HINT: &str = "run scripts/setup-debian.sh (or: apt-get install -y libmodsecurity3 \
                          libmodsecurity-dev modsecurity-crs pkg-config gcc; pip install libmodsecurity)";

fn sorted_confs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
        .collect();
    // Byte order of the names, like `LC_ALL=C ls` and libmodsecurity's sorted glob.
    v.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    v
}

fn load_files(files: &[PathBuf]) -> (Config, Duration) {
    let start = Instant::now();
    let mut loader = Loader::new();
    for f in files {
        loader.add_file(f);
    }
    let result = loader.finish();
    let elapsed = start.elapsed();
    match result {
        Ok(c) => (c, elapsed),
        Err(e) => panic!("expected no errors, got {}:\n{e}", e.errors.len()),
    }
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    }
}

/// libmodsecurity's count for each file loaded on its own (the files here need nothing from
/// each other to parse).
fn per_file_counts(files: &[PathBuf]) -> Vec<usize> {
    files
        .iter()
        .map(|f| {
            load_files(std::slice::from_ref(f))
                .0
                .stats
                .libmodsecurity_count()
        })
        .collect()
}

fn crs428() -> Option<PathBuf> {
    let d = shared_dir()?.join("crs/v4.28.0");
    d.join("rules").is_dir().then_some(d)
}

fn crs428_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("crs-setup.conf.example")];
    files.extend(sorted_confs(&root.join("rules")));
    files
}

const DEBIAN_LOAD: &str = "/usr/share/modsecurity-crs/owasp-crs.load";

/// What `owasp-crs.load` includes, as a plain file list (the oracle cannot read the `.load` file
/// itself: libmodsecurity v3 has no `IncludeOptional`).
fn debian_crs_files() -> Vec<PathBuf> {
    let mut files = vec![
        PathBuf::from("/etc/modsecurity/crs/crs-setup.conf"),
        PathBuf::from("/etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf"),
    ];
    files.extend(sorted_confs(Path::new("/usr/share/modsecurity-crs/rules")));
    files.push(PathBuf::from(
        "/etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf",
    ));
    files
}

/// The recommended configuration: `$SEKISHO_MODSEC_RECOMMENDED`, else where
/// scripts/setup-debian.sh unpacks it, else nginx's installed copy.
fn recommended_config() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("SEKISHO_MODSEC_RECOMMENDED").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "SEKISHO_MODSEC_RECOMMENDED={} is not a file",
                p.display()
            ))
        };
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    let mut tried = Vec::new();
    if let Some(c) = cache {
        tried.push(c.join("sekisho/modsecurity-recommended/etc/nginx/modsecurity.conf"));
    }
    tried.push(PathBuf::from("/etc/nginx/modsecurity.conf"));
    for p in &tried {
        if p.is_file() {
            return Ok(p.clone());
        }
    }
    Err(format!(
        "ModSecurity's recommended modsecurity.conf not found (tried {})",
        tried
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

const RECOMMENDED_HINT: &str = "run scripts/setup-debian.sh, or `cd /tmp && apt-get download \
    libnginx-mod-http-modsecurity && dpkg-deb -x libnginx-mod-http-modsecurity_*.deb /tmp/nginx-modsec` \
    and set SEKISHO_MODSEC_RECOMMENDED=/tmp/nginx-modsec/etc/nginx/modsecurity.conf";

// --- the oracle (real libmodsecurity) ----------------------------------------------------------

/// One run of `tests/oracle/run.sh`.
struct OracleRun {
    /// `(count, argument)` per argument, in order (`-1` for a failed call).
    per_file: Vec<(i64, String)>,
    total: i64,
    output: String,
}

/// Runs the oracle; `Err` with its message when it is not usable (exit 2) or output is odd.
fn oracle(lib: &str, args: &[String]) -> Result<OracleRun, String> {
    let script = repo_root().join("tests/oracle/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(["--lib", lib])
        .args(args)
        // Relative names in the rules resolve against the including file, not our cwd.
        .current_dir(std::env::temp_dir())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() == Some(2) || !stdout.contains("total ") {
        return Err(format!(
            "tests/oracle/run.sh --lib {lib} is not usable (exit {:?}): {}",
            out.status.code(),
            stderr.trim()
        ));
    }
    let mut per_file = Vec::new();
    let mut total = None;
    for line in stdout.lines() {
        if let Some(t) = line.strip_prefix("total ") {
            total = t.trim().parse().ok();
        } else if let Some((n, arg)) = line.split_once('\t') {
            if let Ok(n) = n.parse::<i64>() {
                per_file.push((n, arg.to_string()));
            }
        }
    }
    let total = total.ok_or_else(|| format!("no total in oracle output:\n{stdout}"))?;
    Ok(OracleRun {
        per_file,
        total,
        output: format!("{stdout}{stderr}"),
    })
}

/// Whether the oracle works with `lib`: a probe with one `SecMarker` (libmodsecurity counts 7).
fn oracle_usable(test: &str, lib: &str) -> bool {
    match oracle(lib, &["@text:SecMarker probe".to_string()]) {
        Ok(run) if run.total == 7 => true,
        Ok(run) => panic!(
            "{test}: oracle probe returned {} (expected 7):\n{}",
            run.total, run.output
        ),
        Err(e) => {
            missing(
                test,
                &format!("libmodsecurity oracle unavailable: {e}"),
                SETUP_HINT,
            );
            false
        }
    }
}

/// Runs the oracle on `files` (one RulesSet) and compares every per-file count, and the total,
/// with Sekisho's.
fn differential(test: &str, lib: &str, files: &[PathBuf], ours_total: usize) {
    let args: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let run = oracle(lib, &args).unwrap_or_else(|e| panic!("{test}: {e}"));
    assert_eq!(
        run.per_file.len(),
        files.len(),
        "{test}: oracle ({lib}) reported {} files for {} given:\n{}",
        run.per_file.len(),
        files.len(),
        run.output
    );
    let ours = per_file_counts(files);
    let mut diffs = Vec::new();
    for ((theirs, name), ours) in run.per_file.iter().zip(&ours) {
        if *theirs != *ours as i64 {
            diffs.push(format!(
                "  {name}: libmodsecurity ({lib}) {theirs}, Sekisho {ours}"
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{test}: per-file counts differ:\n{}\n{}",
        diffs.join("\n"),
        run.output
    );
    assert_eq!(
        run.total, ours_total as i64,
        "{test}: libmodsecurity ({lib}) total {} vs Sekisho {ours_total}",
        run.total
    );
    eprintln!(
        "{test}: libmodsecurity ({lib}) agrees: {} files, total {}",
        files.len(),
        run.total
    );
}

// --- CRS 4.28 ----------------------------------------------------------------------------------

#[test]
fn crs_4_28_loads_with_libmodsecurity_counts() {
    let test = "crs_4_28";
    let Some(root) = crs428() else {
        missing(
            test,
            "CRS 4.28 not found under the shared data directory",
            "put CRS v4.28.0 at ../shared/crs/v4.28.0 or set SEKISHO_SHARED",
        );
        return;
    };
    let files = crs428_files(&root);
    assert!(files[0].is_file(), "{} missing", files[0].display());
    let (config, elapsed) = load_files(&files);
    let s = config.stats;
    eprintln!(
        "{test}: {} files, {} directives, {} rules, {} markers, read and parsed in {:.1} ms ({})",
        s.files,
        s.directives,
        s.rules,
        s.markers,
        elapsed.as_secs_f64() * 1e3,
        profile()
    );
    assert_eq!(s.files, 28, "files");
    assert_eq!(s.rules, 630, "top-level rules");
    assert_eq!(s.markers, 30, "SecMarkers");
    assert_eq!(
        s.libmodsecurity_count(),
        840,
        "libmodsecurity's total (FINDINGS.md)"
    );
    assert_eq!(config.sources.len(), 28);

    // Per-file counts as FINDINGS.md lists them (3.0.9 and 3.0.15 agree).
    let expected: &[(&str, usize)] = &[
        ("crs-setup.conf.example", 1),
        ("REQUEST-901-INITIALIZATION.conf", 38),
        ("REQUEST-905-COMMON-EXCEPTIONS.conf", 2),
        ("REQUEST-911-METHOD-ENFORCEMENT.conf", 16),
        ("REQUEST-913-SCANNER-DETECTION.conf", 16),
        ("REQUEST-920-PROTOCOL-ENFORCEMENT.conf", 82),
        ("REQUEST-921-PROTOCOL-ATTACK.conf", 33),
        ("REQUEST-922-MULTIPART-ATTACK.conf", 6),
        ("REQUEST-930-APPLICATION-ATTACK-LFI.conf", 21),
        ("REQUEST-931-APPLICATION-ATTACK-RFI.conf", 20),
        ("REQUEST-932-APPLICATION-ATTACK-RCE.conf", 63),
        ("REQUEST-933-APPLICATION-ATTACK-PHP.conf", 36),
        ("REQUEST-934-APPLICATION-ATTACK-GENERIC.conf", 29),
        ("REQUEST-941-APPLICATION-ATTACK-XSS.conf", 49),
        ("REQUEST-942-APPLICATION-ATTACK-SQLI.conf", 75),
        ("REQUEST-943-APPLICATION-ATTACK-SESSION-FIXATION.conf", 18),
        ("REQUEST-944-APPLICATION-ATTACK-JAVA.conf", 29),
        ("REQUEST-949-BLOCKING-EVALUATION.conf", 42),
        ("REQUEST-999-COMMON-EXCEPTIONS-AFTER.conf", 0),
        ("RESPONSE-950-DATA-LEAKAGES.conf", 21),
        ("RESPONSE-951-DATA-LEAKAGES-SQL.conf", 40),
        ("RESPONSE-952-DATA-LEAKAGES-JAVA.conf", 17),
        ("RESPONSE-953-DATA-LEAKAGES-PHP.conf", 20),
        ("RESPONSE-954-DATA-LEAKAGES-IIS.conf", 21),
        ("RESPONSE-955-WEB-SHELLS.conf", 43),
        ("RESPONSE-956-DATA-LEAKAGES-RUBY.conf", 18),
        ("RESPONSE-959-BLOCKING-EVALUATION.conf", 42),
        ("RESPONSE-980-CORRELATION.conf", 42),
    ];
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let want_names: Vec<&str> = expected.iter().map(|e| e.0).collect();
    assert_eq!(names, want_names, "CRS 4.28 file list");
    let counts = per_file_counts(&files);
    for ((name, want), got) in expected.iter().zip(&counts) {
        assert_eq!(got, want, "{name}: libmodsecurity counts {want}");
    }
}

#[test]
fn crs_4_28_matches_live_libmodsecurity() {
    let test = "crs_4_28_oracle";
    let Some(root) = crs428() else {
        missing(
            test,
            "CRS 4.28 not found",
            "put CRS v4.28.0 at ../shared/crs/v4.28.0 or set SEKISHO_SHARED",
        );
        return;
    };
    let files = crs428_files(&root);
    let total = load_files(&files).0.stats.libmodsecurity_count();
    if oracle_usable(test, "debian") {
        differential(test, "debian", &files, total);
    }
    // The PyPI wheel (3.0.15) is optional where scripts/setup-debian.sh was told to skip it.
    if std::env::var_os("SEKISHO_SKIP_WHEEL").is_some() {
        eprintln!("{test}: wheel not checked: SEKISHO_SKIP_WHEEL is set");
    } else if oracle_usable(test, "wheel") {
        differential(test, "wheel", &files, total);
    }
}

// --- Debian CRS 3.3.4 --------------------------------------------------------------------------

#[test]
fn debian_crs_3_3_4_loads_with_libmodsecurity_counts() {
    let test = "debian_crs_3_3_4";
    if !Path::new(DEBIAN_LOAD).is_file() {
        missing(
            test,
            &format!("{DEBIAN_LOAD} not found"),
            "apt-get install -y modsecurity-crs",
        );
        return;
    }
    let (config, elapsed) = load_files(&[PathBuf::from(DEBIAN_LOAD)]);
    let s = config.stats;
    eprintln!(
        "{test}: {} files, {} directives, {} rules, {} markers, read and parsed in {:.1} ms ({})",
        s.files,
        s.directives,
        s.rules,
        s.markers,
        elapsed.as_secs_f64() * 1e3,
        profile()
    );
    // libmodsecurity 3.0.9 on the equivalent file list: 914 = 634 rules + 40 markers × 7.
    assert_eq!(s.rules, 634, "top-level rules");
    assert_eq!(s.markers, 40, "SecMarkers");
    assert_eq!(s.libmodsecurity_count(), 914);
    // owasp-crs.load + what it includes: the load file, setup, 2 exclusion files, rules/*.conf.
    let list = debian_crs_files();
    assert_eq!(s.files, 1 + list.len(), "files read");

    // The explicit list gives the same.
    let (by_list, _) = load_files(&list);
    assert_eq!(by_list.stats.libmodsecurity_count(), 914);
    assert_eq!(
        by_list.directives, config.directives,
        "same directives either way"
    );
}

#[test]
fn debian_crs_3_3_4_matches_live_libmodsecurity() {
    let test = "debian_crs_3_3_4_oracle";
    if !Path::new(DEBIAN_LOAD).is_file() {
        missing(
            test,
            &format!("{DEBIAN_LOAD} not found"),
            "apt-get install -y modsecurity-crs",
        );
        return;
    }
    // Only 3.0.9: the wheel (3.0.15) is built without GeoIP, so REQUEST-910's @geoLookup
    // fails there (FINDINGS.md).
    if !oracle_usable(test, "debian") {
        return;
    }
    let list = debian_crs_files();
    let total = load_files(&[PathBuf::from(DEBIAN_LOAD)])
        .0
        .stats
        .libmodsecurity_count();
    differential(test, "debian", &list, total);
}

// --- modsecurity.conf (recommended) ------------------------------------------------------------

#[test]
fn recommended_config_loads() {
    let test = "recommended_config";
    let path = match recommended_config() {
        Ok(p) => p,
        Err(why) => {
            missing(test, &why, RECOMMENDED_HINT);
            return;
        }
    };
    let (config, elapsed) = load_files(std::slice::from_ref(&path));
    let s = config.stats;
    eprintln!(
        "{test}: {} ({} directives) read and parsed in {:.2} ms ({})",
        path.display(),
        s.directives,
        elapsed.as_secs_f64() * 1e3,
        profile()
    );
    assert_eq!(s.files, 1);
    assert_eq!(
        s.rules, 7,
        "rules 200000, 200001, 200007, 200002, 200003, 200004, 200005"
    );
    assert_eq!(s.markers, 0);
    assert_eq!(s.libmodsecurity_count(), 7);
    let ids: Vec<u64> = config
        .directives
        .iter()
        .filter_map(|d| match &d.kind {
            seclang_parser::DirectiveKind::Rule(r) => r.id(),
            seclang_parser::DirectiveKind::Action(a) => seclang_parser::action_id(a),
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        vec![200000, 200001, 200007, 200002, 200003, 200004, 200005]
    );

    if oracle_usable("recommended_config_oracle", "debian") {
        differential("recommended_config_oracle", "debian", &[path], 7);
    }
}
