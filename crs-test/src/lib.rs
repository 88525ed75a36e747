//! Runs OWASP CRS's go-ftw regression tests (`tests/regression/tests/**/*.yaml`) in-process
//! against any WAF engine, judging each stage the way go-ftw judges it in CRS's CI.
//!
//! * [`yaml`]: the test files and the platform override files, typed.
//! * [`request`]: the exact bytes go-ftw sends for a stage, and the request a web server makes
//!   of them ([`Request`]) — or its own 400.
//! * [`backend`]: albedo, CRS's CI backend (`/reflect` and the empty 200).
//! * [`runner`]: the [`Engine`] trait, [`run_tests`] and its [`Report`].
//! * [`config`]: the SecLang CRS's tests expect to be loaded with ([`crs_test_config`]).
//!
//! Reference figure: the real libmodsecurity 3.0.15 (driven through the repository's
//! `tests/oracle/txn.sh`; see `tests/oracle/differential.rs`) on CRS 4.28 with this harness: 4967 tests
//! pass and 36 fail, and those 36 are exactly the libmodsecurity-specific entries of CRS's
//! `nginx-overrides.yaml` (920620-1, 942131-3/5/7, the 944100/944110/944120/944210 lists,
//! 980170-1/2). Debian's libmodsecurity 3.0.9 fails nine 922110 tests more (4958/45). An
//! engine with libmodsecurity 3.0.15's verdicts scores 4967/36.
//!
//! ```no_run
//! use crs_test::{run_tests, Engine, Filter, Outcome, Overrides, Request, Response};
//!
//! struct MyWaf;
//! impl Engine for MyWaf {
//!     fn run(&self, req: &Request, resp_for: &dyn Fn(&Request) -> Response) -> Outcome {
//!         let resp = resp_for(req); // no interruption in this sketch
//!         Outcome { status: resp.status, ..Outcome::default() }
//!     }
//! }
//! let dir = crs_test::crs_dir().unwrap().join("tests/regression/tests");
//! let report = run_tests(&MyWaf, &dir, &Filter::all(), Overrides::Off);
//! println!("{}", report.summary_line());
//! ```

pub mod backend;
pub mod config;
mod goutil;
pub mod request;
pub mod runner;
#[cfg(feature = "sekisho")]
pub mod sekisho;
pub mod template;
pub mod yaml;

use std::path::PathBuf;

pub use backend::{albedo, Response};
pub use config::{crs_test_config, CRS_TEST_PREAMBLE};
pub use request::{build_wire, parse_request, BuildError, Parsed, Request, ServerView};
pub use runner::{
    run_files, run_stage, run_tests, Engine, Filter, Outcome, Overrides, Report, StageReport,
    TestReport, TestStatus,
};
pub use yaml::{
    load_overrides, load_test_dir, load_test_file, parse_overrides, parse_test_file, Input,
    LogExpect, Output, OverridesFile, ParseError, Stage, Test, TestFile, TestOverride,
};

/// The shared reference data: `$SEKISHO_SHARED`, else `../shared` beside the repository root,
/// if it exists.
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SEKISHO_SHARED") {
        return Some(PathBuf::from(d));
    }
    let repo_root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .to_path_buf();
    let d = repo_root.parent()?.join("shared");
    d.is_dir().then_some(d)
}

/// CRS 4.28.0 in the shared data (`<shared>/crs/v4.28.0`), if present.
pub fn crs_dir() -> Option<PathBuf> {
    let d = shared_dir()?.join("crs").join("v4.28.0");
    d.is_dir().then_some(d)
}
