//! The rule sets compared, and the configuration file each engine loads for them.
//!
//! Every engine loads the same generated file: a base configuration (engine On, request bodies
//! on, response bodies off, limits wide enough for the 1 MB and 10,000-argument series), then
//! CRS's setup file, then a `SecAction` setting the paranoia level, then the rule files one
//! `Include` each (so CRS 3.3.4's REQUEST-910 can be left out by name).

use std::path::{Path, PathBuf};

/// Debian's CRS 3.3.4 (package `modsecurity-crs`).
pub const DEBIAN_CRS: &str = "/usr/share/modsecurity-crs";

/// The base configuration, in front of CRS for every rule set and engine.
pub const BASE_CONF: &str = r#"# Sekisho compare: base configuration (generated).
# Blocking mode, as a production server runs CRS.
SecRuleEngine On
# Request bodies inspected; response bodies not (the workloads have none).
SecRequestBodyAccess On
SecResponseBodyAccess Off
# Limits: the 1 MB body series must be inspected, not rejected (the recommended 128 KB
# no-files limit would turn it into a 413/403 before any rule runs).
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 4194304
SecRequestBodyLimitAction Reject
SecRequestBodyJsonDepthLimit 512
# The 10,000-argument series and the 1 MB JSON body (about 40,000 values) must be parsed whole:
# past the limit libmodsecurity stops parsing and flags REQBODY_ERROR, which 200002 denies.
SecArgumentsLimit 100000
SecPcreMatchLimit 100000
SecPcreMatchLimitRecursion 100000
# The recommended configuration's body-processor rules: XML and JSON bodies are parsed as such.
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" "id:'200000',phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:'200001',phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQBODY_ERROR "!@eq 0" "id:'200002',phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:'200003',phase:2,t:none,log,deny,status:400,msg:'Multipart request body failed strict validation'"
SecArgumentSeparator &
SecCookieFormat 0
SecTmpDir /tmp
# No audit log: Sekisho has none yet, and file I/O would blur the engine figures.
SecAuditEngine Off
SecStatusEngine Off
"#;

/// A rule set under comparison.
#[derive(Debug, Clone)]
pub struct RuleSetSpec {
    /// `crs4-pl1`, `crs4-pl2`, `crs3`.
    pub name: &'static str,
    pub setup: PathBuf,
    pub rules: Vec<PathBuf>,
    /// The paranoia-level `SecAction` placed after the setup file.
    pub paranoia: String,
}

/// The names `--rules` accepts, in table order.
pub const RULE_SET_NAMES: &[&str] = &["crs4-pl1", "crs4-pl2", "crs3"];

/// Resolves a rule set name; `crs4` is the CRS 4 directory (`--crs`, `$SEKISHO_CRS_DIR`,
/// `../shared/crs/v4.28.0`).
pub fn rule_set(name: &str, crs4: Option<&Path>) -> Result<RuleSetSpec, String> {
    let (dir, pl, var) = match name {
        "crs4-pl1" => (crs4, 1, "blocking_paranoia_level"),
        "crs4-pl2" => (crs4, 2, "blocking_paranoia_level"),
        "crs3" => (Some(Path::new(DEBIAN_CRS)), 1, "paranoia_level"),
        other => {
            return Err(format!(
                "unknown rule set {other:?} (known: crs4-pl1, crs4-pl2, crs3)"
            ))
        }
    };
    let dir = dir.ok_or("no CRS 4 directory: pass --crs DIR or set SEKISHO_CRS_DIR")?;
    let crs = crs_rules::open(dir)
        .ok_or_else(|| format!("{}: not a CRS directory (no rules/*.conf)", dir.display()))?;
    let setup = crs
        .setup
        .clone()
        .ok_or_else(|| format!("{}: no crs-setup.conf", dir.display()))?;
    // REQUEST-910 (CRS 3) needs GeoIP, which the wheel's 3.0.15 lacks; left out for every
    // engine, as tests/oracle/differential.rs does.
    let rules = crs
        .rules
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("REQUEST-910-"))
        })
        .collect();
    Ok(RuleSetSpec {
        name: RULE_SET_NAMES
            .iter()
            .find(|n| **n == name)
            .copied()
            .unwrap_or("?"),
        setup,
        rules,
        paranoia: format!("SecAction \"id:900000,phase:1,pass,t:none,nolog,setvar:tx.{var}={pl}\""),
    })
}

impl RuleSetSpec {
    /// The configuration text.
    pub fn conf_text(&self) -> String {
        let quote = |p: &Path| {
            let s = p.display().to_string();
            if s.contains(char::is_whitespace) {
                format!("\"{s}\"")
            } else {
                s
            }
        };
        let mut t = String::from(BASE_CONF);
        t.push_str(&format!(
            "# {}\nInclude {}\n",
            self.name,
            quote(&self.setup)
        ));
        t.push_str(&self.paranoia);
        t.push('\n');
        for r in &self.rules {
            t.push_str(&format!("Include {}\n", quote(r)));
        }
        t
    }

    /// Writes the configuration to `dir/<name>.conf`.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let p = dir.join(format!("{}.conf", self.name));
        std::fs::write(&p, self.conf_text())?;
        Ok(p)
    }
}

/// CRS 4: `--crs`, else `$SEKISHO_CRS_DIR`, else `$SEKISHO_SHARED/crs/v4.28.0`, else
/// `../shared/crs/v4.28.0` beside the repository (as `parse-crs` and the tests find it).
pub fn crs4_dir(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(f) = flag {
        return Some(f.to_path_buf());
    }
    if let Some(d) = std::env::var_os(crs_rules::ENV_VAR) {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("SEKISHO_SHARED") {
        let d = PathBuf::from(d).join("crs/v4.28.0");
        if d.is_dir() {
            return Some(d);
        }
    }
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs/v4.28.0");
    shared.is_dir().then_some(shared)
}
