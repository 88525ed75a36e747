//! A quick timing loop for profiling the engine on CRS (not a benchmark; `benches/` has those):
//! `cargo run --release -p waf-core --example crs_speed -- CRS_DIR [ROUNDS]`.
//! Runs a browser-like GET and a form POST through CRS at PL1 and prints median µs/request
//! (ROUNDS 0: loads only).

use std::sync::Arc;
use std::time::Instant;
use waf_core::{RuleSet, Transaction};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let crs = std::path::PathBuf::from(args.get(1).expect("usage: crs_speed CRS_DIR [ROUNDS]"));
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(2000);
    let dir = std::env::temp_dir().join("sekisho-crs-speed");
    std::fs::create_dir_all(&dir).unwrap();
    let main = dir.join("main.conf");
    let mut text = String::from(
        "SecRuleEngine On\nSecRequestBodyAccess On\nSecRequestBodyLimit 13107200\n\
         SecRequestBodyNoFilesLimit 131072\n",
    );
    text.push_str(&format!(
        "Include {}\n",
        crs.join("crs-setup.conf.example").display()
    ));
    text.push_str(&format!("Include {}/rules/*.conf\n", crs.display()));
    std::fs::write(&main, text).unwrap();
    let t = Instant::now();
    let mut rules = RuleSet::from_files(&[&main]).expect("rules load");
    // SEKISHO_NO_GROUPED_MATCHER=1: every @rx rule runs its own regex (for comparison)
    if std::env::var_os("SEKISHO_NO_GROUPED_MATCHER").is_some() {
        rules.set_grouped_matching(false);
    }
    // SEKISHO_NO_STATIC_DECISIONS=1: every rule is evaluated (for comparison)
    if std::env::var_os("SEKISHO_NO_STATIC_DECISIONS").is_some() {
        rules.set_static_decisions(false);
    }
    let rules = Arc::new(rules);
    eprintln!(
        "loaded {} rules in {:?}; grouped matcher: {:?} (rules, groups); decided at load: {}",
        rules.rule_count(),
        t.elapsed(),
        rules.grouped_rules(),
        rules.decided_rules()
    );
    if rounds == 0 {
        // Load only: exit without dropping, so a heap profiler's last snapshot is the loaded set.
        std::process::exit(0);
    }
    let headers: &[(&str, &str)] = &[
        ("Host", "shop.example.com"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-US,en;q=0.5"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Referer", "https://shop.example.com/product/blue-shirt/"),
        ("Cookie", "wordpress_logged_in_abc=admin%7C1700000000%7Cabcdef; woocommerce_items_in_cart=1; wp_woocommerce_session_abc=123%7C%7C1700000000%7C%7C1699990000%7C%7Cdef"),
        ("Connection", "keep-alive"),
    ];
    // SEKISHO_ARGS=N: the form POST carries N arguments (a scaling series)
    let body: Vec<u8> = match std::env::var("SEKISHO_ARGS").ok().and_then(|n| n.parse().ok()) {
        Some(n) => (0..n)
            .map(|i: usize| format!("field_{i}=value+number+{i}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes(),
        None => b"action=woocommerce_add_to_cart&product_id=42&quantity=1&variation_id=0&security=ab12cd34ef".to_vec(),
    };
    let mut times = Vec::new();
    for round in 0..rounds {
        let post = round % 2 == 1;
        let t = Instant::now();
        let mut tx = Transaction::new(Arc::clone(&rules));
        tx.process_connection("10.0.0.1", 50000, "10.0.0.2", 443);
        if post {
            tx.process_uri(b"/wp-admin/admin-ajax.php", b"POST", b"1.1");
        } else {
            tx.process_uri(
                b"/product/blue-shirt/?attribute_size=large&quantity=2",
                b"GET",
                b"1.1",
            );
        }
        for (k, v) in headers {
            tx.add_request_header(k.as_bytes(), v.as_bytes());
        }
        if post {
            tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
        }
        tx.process_request_headers();
        if post {
            tx.append_request_body(&body);
        }
        tx.process_request_body();
        tx.process_response_headers(200, b"HTTP/1.1");
        tx.process_response_body();
        tx.process_logging();
        assert!(tx.intervention().is_none());
        if round < 2 && std::env::var_os("SEKISHO_SHOW_MESSAGES").is_some() {
            let ids: Vec<u64> = tx.messages().iter().map(|m| m.rule_id).collect();
            eprintln!("round {round}: {} messages {ids:?}", ids.len());
        }
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "median {:.1} µs/request over {} requests",
        times[times.len() / 2],
        rounds
    );
}
