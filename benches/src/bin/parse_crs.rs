//! `parse-crs [CRS-DIR] [RUNS]`: how long reading and parsing CRS takes.
//!
//! CRS is found as `sekisho rules check --crs` finds it (argument, `$SEKISHO_CRS_DIR`, standard
//! paths); `../shared/crs/v4.28.0` beside the repository is tried when nothing else is given.
//! Prints the median of RUNS (default 30) for: parsing the in-memory texts, and the whole load
//! (file reads, includes, parse) through `Loader`.

use seclang_parser::{parse_source, FileId, Loader};
use sekisho_benches::{measure, summary};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().map(PathBuf::from).or_else(|| {
        let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/crs/v4.28.0");
        (std::env::var_os(crs_rules::ENV_VAR).is_none() && shared.is_dir()).then_some(shared)
    });
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(30);
    let crs = match crs_rules::find(dir.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("parse-crs: {e}");
            std::process::exit(2);
        }
    };
    let files = crs.files();
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("readable CRS file"))
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut directives = 0;
    let parse = measure(runs, || {
        directives = 0;
        for (i, t) in texts.iter().enumerate() {
            let p = parse_source(t, FileId(i as u32));
            assert!(p.errors.is_empty(), "CRS must parse cleanly");
            directives += p.directives.len();
        }
    });
    let load = measure(runs, || {
        let mut l = Loader::new();
        for f in &files {
            l.add_file(f);
        }
        l.finish().expect("CRS must load cleanly");
    });
    println!(
        "CRS {} at {}: {} files, {} KiB, {} directives",
        crs.version.as_deref().unwrap_or("?"),
        crs.root.display(),
        files.len(),
        bytes / 1024,
        directives
    );
    println!("parse (in memory): {}", summary(&parse));
    println!("load (files + parse): {}", summary(&load));
}
