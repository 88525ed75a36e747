//! # crs-rules
//!
//! Finds an OWASP Core Rule Set installation and lists the files to load, in load order:
//! the setup file (`crs-setup.conf`, else `crs-setup.conf.example`), then `rules/*.conf` sorted.
//! CRS is never bundled with Sekisho: it comes from a flag, the `SEKISHO_CRS_DIR` environment
//! variable, or a standard install path.

use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable naming a CRS directory.
pub const ENV_VAR: &str = "SEKISHO_CRS_DIR";

/// Where CRS is installed by common packages and panels, tried in this order.
pub const STANDARD_PATHS: &[&str] = &[
    // Debian/Ubuntu `modsecurity-crs` (setup in /etc/modsecurity/crs/)
    "/usr/share/modsecurity-crs",
    "/etc/modsecurity/crs",
    // Fedora/RHEL `mod_security_crs`
    "/usr/share/mod_modsecurity_crs",
    "/etc/httpd/modsecurity.d/owasp-modsecurity-crs",
    // source installs and containers
    "/usr/local/coreruleset",
    "/opt/coreruleset",
    "/etc/nginx/modsec/coreruleset",
    // OpenLiteSpeed / CyberPanel
    "/usr/local/lsws/conf/modsec/owasp-modsecurity-crs",
];

/// A CRS installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crs {
    /// The directory holding `rules/`.
    pub root: PathBuf,
    /// `crs-setup.conf` (or `.example`), if one was found.
    pub setup: Option<PathBuf>,
    /// `rules/*.conf`, sorted by name.
    pub rules: Vec<PathBuf>,
    /// The version from `SecComponentSignature "OWASP_CRS/x.y.z"`, if found.
    pub version: Option<String>,
}

impl Crs {
    /// The files in load order: setup first, then the rules.
    pub fn files(&self) -> Vec<PathBuf> {
        self.setup
            .iter()
            .cloned()
            .chain(self.rules.iter().cloned())
            .collect()
    }
}

/// Why no CRS was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    pub tried: Vec<PathBuf>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no OWASP CRS found (a directory with rules/*.conf). Pass its path, set {ENV_VAR}, \
             or install it (Debian/Ubuntu: apt-get install modsecurity-crs). Tried: "
        )?;
        for (i, p) in self.tried.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", p.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for NotFound {}

/// Finds CRS: `explicit` if given (and nothing else), else `$SEKISHO_CRS_DIR`, else the first
/// standard path that holds `rules/*.conf`.
pub fn find(explicit: Option<&Path>) -> Result<Crs, NotFound> {
    let candidates: Vec<PathBuf> = match explicit {
        Some(p) => vec![p.to_path_buf()],
        None => std::env::var_os(ENV_VAR)
            .map(PathBuf::from)
            .into_iter()
            .chain(STANDARD_PATHS.iter().map(PathBuf::from))
            .collect(),
    };
    for c in &candidates {
        if let Some(crs) = open(c) {
            return Ok(crs);
        }
    }
    Err(NotFound { tried: candidates })
}

/// Reads a CRS directory: `dir/rules/*.conf`, or `dir/*.conf` when `dir` is the rules folder.
pub fn open(dir: &Path) -> Option<Crs> {
    // Absolute: configurations written from these paths are read from another directory
    // (`sekisho crs-test --rules ../crs` included `../crs/../crs/...`).
    let dir = &std::path::absolute(dir).ok()?;
    let (root, rules_dir) = if dir.join("rules").is_dir() {
        (dir.to_path_buf(), dir.join("rules"))
    } else if dir.file_name().is_some_and(|n| n == "rules") {
        (dir.parent()?.to_path_buf(), dir.to_path_buf())
    } else {
        return None;
    };
    let mut rules: Vec<PathBuf> = std::fs::read_dir(&rules_dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf") && p.is_file())
        .collect();
    if rules.is_empty() {
        return None;
    }
    rules.sort();
    let setup = setup_file(&root);
    let version = rules.iter().find_map(|p| signature(p));
    Some(Crs {
        root,
        setup,
        rules,
        version,
    })
}

fn setup_file(root: &Path) -> Option<PathBuf> {
    let mut dirs = vec![root.to_path_buf()];
    // Debian keeps the editable setup under /etc.
    if root == Path::new("/usr/share/modsecurity-crs") {
        dirs.insert(0, PathBuf::from("/etc/modsecurity/crs"));
    }
    for d in dirs {
        for name in ["crs-setup.conf", "crs-setup.conf.example"] {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// `SecComponentSignature "OWASP_CRS/4.28.0"` → `4.28.0`.
fn signature(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with("SecComponentSignature"))?;
    let at = line.find("OWASP_CRS/")? + "OWASP_CRS/".len();
    let rest = &line[at..];
    let end = rest
        .find(|c: char| c == '"' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_a_crs_like_tree_and_orders_files() {
        let dir = std::env::temp_dir().join(format!("crs-rules-test-{}", std::process::id()));
        let rules = dir.join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        std::fs::write(dir.join("crs-setup.conf.example"), "").unwrap();
        std::fs::write(rules.join("REQUEST-920-X.conf"), "").unwrap();
        std::fs::write(
            rules.join("REQUEST-901-INITIALIZATION.conf"),
            "SecComponentSignature \"OWASP_CRS/4.99.1\"\n",
        )
        .unwrap();
        std::fs::write(rules.join("notes.data"), "").unwrap();
        let crs = open(&dir).unwrap();
        assert_eq!(crs.version.as_deref(), Some("4.99.1"));
        let names: Vec<_> = crs
            .files()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "crs-setup.conf.example",
                "REQUEST-901-INITIALIZATION.conf",
                "REQUEST-920-X.conf"
            ]
        );
        assert_eq!(open(&rules).unwrap().root, dir);
        // A relative directory gives absolute paths (they are included from elsewhere).
        let up: PathBuf = std::env::current_dir()
            .unwrap()
            .components()
            .skip(1)
            .map(|_| "..")
            .collect();
        let relative = up.join(dir.strip_prefix("/").unwrap());
        let crs = open(&relative).unwrap();
        assert!(
            crs.root.is_absolute() && crs.files().iter().all(|p| p.is_absolute() && p.is_file())
        );
        assert!(find(Some(&dir.join("nope"))).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
