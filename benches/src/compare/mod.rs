//! `compare`: Sekisho against libmodsecurity v3 on the same requests and rules.
//!
//! | module | job |
//! |---|---|
//! | [`config`] | the rule sets (CRS 4.28 PL1/PL2, Debian's CRS 3.3.4) and the file each engine loads |
//! | [`workloads`], [`benign`], [`worst`] | the requests: CRS regression inputs, a benign shop/API set, scaling series, worst inputs |
//! | [`engine`] | what an engine offers: load, run one whole transaction |
//! | [`modsec`] | libmodsecurity (or Sekisho's drop-in) through the C API, `dlopen`ed |
//! | [`sekisho`] | Sekisho through its Rust API |
//! | [`libs`] | where the libraries are |
//! | [`worker`] | one engine × one rule set in its own process |
//! | [`turns`] | the workers of a rule set run in alternating turns, so both see the same load on the machine |
//! | [`report`] | the driver's table |

pub mod benign;
pub mod config;
pub mod engine;
pub mod libs;
pub mod modsec;
pub mod report;
pub mod sekisho;
pub mod turns;
pub mod worker;
pub mod workloads;
pub mod worst;
