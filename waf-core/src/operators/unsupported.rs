//! Operators that libmodsecurity itself refuses, that need libraries this build lacks, or
//! that reach outside the process: `@gsbLookup`, `@rsub`, `@validateHash`, `@fuzzyHash`,
//! `@validateDTD`, `@validateSchema` (load errors), `@inspectFile` and `@rbl` (implemented).
//! (`@geoLookup` loads with a warning and never matches: see `operators/mod.rs`.)
//!
//! **Description.**
//! - `@gsbLookup`, `@rsub`, `@validateHash`: libmodsecurity 3.0.15 refuses them at load
//!   ("Operator: GsbLookup is not yet supported."); so does this.
//! - `@fuzzyHash` (ssdeep), `@validateDTD` and `@validateSchema` (libxml2): load errors
//!   naming the missing support. A libmodsecurity built without ssdeep refuses `@fuzzyHash`
//!   the same way (checked against the PyPI build of 3.0.15).
//! - `@inspectFile PROGRAM`: runs the program (found as the path given, then beside the
//!   rule's file) with the value as its one argument, and is true when the program prints
//!   more than one byte and the first is not `1`. libmodsecurity runs `PROGRAM VALUE` through
//!   the shell (`popen`); here the value is passed as a single argument without a shell, so
//!   that a value can never run commands of its own. Lua scripts (`.lua`) are not supported:
//!   load error. Output beyond 64 KiB is not read.
//! - `@rbl SERVICE`: a blocking DNS lookup, as libmodsecurity's (`getaddrinfo`): for a value
//!   read as an IPv4 address `a.b.c.d` (C `sscanf("%d.%d.%d.%d")`), of `d.c.b.a.SERVICE`,
//!   otherwise of `VALUE.SERVICE`; true when the name resolves. `TX:0` is the value (with
//!   `capture`). A service on `httpbl.org` needs the `SecHttpBlKey` access key, which this
//!   build does not pass to operators: such a rule loads with a warning and never matches,
//!   as libmodsecurity's does without a key.
//!
//! **Example.** `SecRule REMOTE_ADDR "@rbl sbl-xbl.spamhaus.org" "id:1,phase:1,deny"`

use super::{find_resource, CompileContext, Operator, OperatorContext};
use seclang_parser::names::OperatorName;
use std::io::Read;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The load error for an operator this build does not run.
pub(crate) fn refusal(name: OperatorName, _param: &str, _ctx: &CompileContext<'_>) -> String {
    use OperatorName as N;
    match name {
        N::GsbLookup => "@gsbLookup is not supported (libmodsecurity 3.0.15 refuses it too: \"Operator: GsbLookup is not yet supported.\")".into(),
        N::Rsub => "@rsub is not supported (libmodsecurity 3.0.15 refuses it too: \"Operator: Rsub is not yet supported.\")".into(),
        N::ValidateHash => "@validateHash is not supported (libmodsecurity 3.0.15 refuses it too: \"Operator: ValidateHash is not yet supported.\")".into(),
        N::FuzzyHash => "@fuzzyHash needs ssdeep fuzzy hashing, which this build does not include (a libmodsecurity built without ssdeep refuses it the same way)".into(),
        N::ValidateDtd => "@validateDTD needs libxml2's DTD validation, which this build does not include".into(),
        N::ValidateSchema => "@validateSchema needs libxml2's XML Schema validation, which this build does not include".into(),
        other => format!("@{other} is not supported by this build"),
    }
}

/// `@inspectFile`
#[derive(Debug)]
pub struct InspectFile {
    program: PathBuf,
}

/// Output read from `@inspectFile`'s program, at most.
const MAX_OUTPUT: u64 = 64 << 10;

impl InspectFile {
    pub(crate) fn compile(
        param: &str,
        ctx: &mut CompileContext<'_>,
    ) -> Result<InspectFile, String> {
        let program = find_resource(param, ctx)
            .map_err(|e| format!("@inspectFile: Failed to open file: {param}. {e}"))?;
        if program.extension().is_some_and(|e| e == "lua") {
            return Err(format!(
                "@inspectFile: '{param}' is a Lua script; Lua is not supported by this build"
            ));
        }
        Ok(InspectFile { program })
    }
}

impl Operator for InspectFile {
    fn evaluate(&self, _: &mut dyn OperatorContext, value: &[u8]) -> bool {
        #[cfg(unix)]
        let arg = {
            use std::os::unix::ffi::OsStrExt;
            std::ffi::OsStr::from_bytes(value).to_os_string()
        };
        #[cfg(not(unix))]
        let arg = String::from_utf8_lossy(value).into_owned();
        let child = Command::new(&self.program)
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            return false;
        };
        let mut out = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = stdout.take(MAX_OUTPUT).read_to_end(&mut out);
        }
        let _ = child.kill();
        let _ = child.wait();
        out.len() > 1 && out[0] != b'1'
    }
}

/// `@rbl`
#[derive(Debug)]
pub struct Rbl {
    service: String,
    /// httpbl.org needs a key this build does not have: never matches.
    needs_key: bool,
}

impl Rbl {
    pub(crate) fn compile(param: &str, ctx: &mut CompileContext<'_>) -> Rbl {
        let needs_key = param.contains("httpbl.org");
        if needs_key {
            ctx.warnings.push(format!(
                "@rbl {param}: httpbl.org needs the SecHttpBlKey access key, which this build does not pass to operators; the rule never matches"
            ));
        }
        Rbl {
            service: param.to_string(),
            needs_key,
        }
    }

    /// libmodsecurity's `Rbl::mapIpToAddress`.
    fn host(&self, value: &[u8]) -> Option<String> {
        let text = String::from_utf8_lossy(value);
        let text = text.split('\0').next().unwrap_or("");
        if let Some([a, b, c, d]) = scan_dotted(text) {
            if self.needs_key {
                return None;
            }
            return Some(format!("{d}.{c}.{b}.{a}.{}", self.service));
        }
        Some(format!("{text}.{}", self.service))
    }
}

/// C's `sscanf(s, "%d.%d.%d.%d")` succeeding on all four.
fn scan_dotted(s: &str) -> Option<[i64; 4]> {
    let mut out = [0i64; 4];
    let mut rest = s;
    for (i, slot) in out.iter_mut().enumerate() {
        if i > 0 {
            rest = rest.strip_prefix('.')?;
        }
        let t = rest.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
        let sign = usize::from(t.starts_with(['+', '-']));
        let n = t[sign..].bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        *slot = super::numeric::atoll(&t.as_bytes()[..sign + n])
            .clamp(i64::from(i32::MIN), i64::from(i32::MAX));
        rest = &t[sign + n..];
    }
    Some(out)
}

impl Operator for Rbl {
    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let Some(host) = self.host(value) else {
            return false;
        };
        let resolved = (host.as_str(), 0u16)
            .to_socket_addrs()
            .is_ok_and(|mut a| a.next().is_some());
        if resolved && ctx.capturing() {
            ctx.capture(0, value);
        }
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::testing::{eval, try_op};

    #[test]
    fn refused() {
        for (op, word) in [
            ("@gsbLookup x", "GsbLookup"),
            ("@rsub s/a/b/", "Rsub"),
            ("@validateHash x", "ValidateHash"),
            ("@fuzzyHash /tmp/x 10", "ssdeep"),
            ("@validateDTD /tmp/x.dtd", "libxml2"),
            ("@validateSchema /tmp/x.xsd", "libxml2"),
        ] {
            let e = try_op(op).unwrap_err();
            assert!(e.contains(word), "{op}: {e}");
        }
        assert!(try_op("@inspectFile /nonexistent/prog").is_err());
    }

    #[test]
    fn rbl_names() {
        let r = Rbl {
            service: "bl.example".into(),
            needs_key: false,
        };
        assert_eq!(r.host(b"1.2.3.4").as_deref(), Some("4.3.2.1.bl.example"));
        assert_eq!(
            r.host(b"example.com").as_deref(),
            Some("example.com.bl.example")
        );
        assert_eq!(scan_dotted(" 1. 2.3.4x"), Some([1, 2, 3, 4]));
        assert_eq!(scan_dotted("1.2.3"), None);
    }

    #[cfg(unix)]
    #[test]
    fn inspect_file_runs_the_program() {
        let dir = std::env::temp_dir().join(format!("sekisho-inspect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("check.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\nif [ \"$1\" = bad ]; then echo 0 found; else echo 1 clean; fi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let o = try_op(&format!("@inspectFile {}", script.display())).unwrap();
        assert!(eval(&*o, b"bad"));
        assert!(!eval(&*o, b"good"));
        assert!(!eval(&*o, b"bad; echo 0"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
