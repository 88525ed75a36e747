//! The load-time decisions (`waf_core`'s plan: rules that read only `TX` values no request
//! can change are decided once) against evaluating every rule: random rule sets of `TX`
//! bookkeeping (paranoia-level-like jumps, defaults, counters) mixed with rules that depend on
//! the request (setting `TX`, jumping, denying, allowing, capturing, removing rules), run on
//! random requests twice, with the plan and without; log lines, the verdict, and every `TX`
//! value the phases leave must be identical.

use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use waf_core::{RuleSet, Transaction};

const KEYS: &[&str] = &["a", "b", "c", "pl"];
const MARKERS: usize = 3;

#[derive(Debug, Clone)]
enum Spec {
    /// `SecRule TX:key "@op n"`: decidable unless the key can change.
    TxTest {
        key: usize,
        op: usize,
        n: u8,
        then: Then,
    },
    /// A chain whose starter is a `TxTest` and whose link depends on the request.
    TxChain {
        key: usize,
        n: u8,
        pattern: usize,
        then: Then,
    },
    /// A chain of `TX` tests alone (CRS 3's 912100, `&TX:dos_* "@eq 0"`, `skipAfter`): decided
    /// as a whole when every link is; its link may count, and may set a key.
    TxOnlyChain {
        key: usize,
        n: u8,
        link_key: usize,
        link_counts: bool,
        link_sets: bool,
        then: Then,
    },
    /// `SecRule &TX:key "@eq 0"` (a default).
    Default {
        key: usize,
        n: u8,
    },
    /// `SecAction` setting a key.
    Action {
        key: usize,
        n: u8,
        add: bool,
    },
    /// `SecRule ARGS:q "@rx pattern"`: depends on the request.
    Request {
        pattern: usize,
        then: Then,
    },
    /// A chain whose link reads `MATCHED_VARS` (CRS's 932xxx, 942xxx): sees what the rules
    /// before it matched.
    ReadsMatched {
        pattern: usize,
    },
    Marker(usize),
}

#[derive(Debug, Clone)]
enum Then {
    Pass,
    Log,
    Set(usize, u8),
    Add(usize),
    SetFromRequest(usize),
    Jump(usize),
    Deny,
    Allow,
    Capture,
    RemoveById,
    RemoveByTag,
    RemoveTarget(usize),
    Severity,
}

const OPS: &[&str] = &["eq", "lt", "ge", "streq", "rx ^[12]"];
const PATTERNS: &[&str] = &["^x", "y", "^$", "1", "z$"];
const VALUES: &[&str] = &["x", "xy", "1", "zz", "", "y1"];

fn then() -> impl Strategy<Value = Then> {
    prop_oneof![
        4 => Just(Then::Pass),
        2 => Just(Then::Log),
        3 => (0..KEYS.len(), 0u8..3).prop_map(|(k, n)| Then::Set(k, n)),
        2 => (0..KEYS.len()).prop_map(Then::Add),
        1 => (0..KEYS.len()).prop_map(Then::SetFromRequest),
        4 => (0..MARKERS).prop_map(Then::Jump),
        1 => Just(Then::Deny),
        1 => Just(Then::Allow),
        1 => Just(Then::Capture),
        1 => Just(Then::RemoveById),
        1 => Just(Then::RemoveByTag),
        1 => (0..KEYS.len()).prop_map(Then::RemoveTarget),
        1 => Just(Then::Severity),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        5 => (0..KEYS.len(), 0..OPS.len(), 0u8..3, then())
            .prop_map(|(key, op, n, then)| Spec::TxTest { key, op, n, then }),
        2 => (0..KEYS.len(), 0u8..3, 0..PATTERNS.len(), then())
            .prop_map(|(key, n, pattern, then)| Spec::TxChain { key, n, pattern, then }),
        2 => (0..KEYS.len(), 0u8..3, 0..KEYS.len(), any::<bool>(), any::<bool>(), then())
            .prop_map(|(key, n, link_key, link_counts, link_sets, then)| Spec::TxOnlyChain {
                key,
                n,
                link_key,
                link_counts,
                link_sets,
                then
            }),
        2 => (0..KEYS.len(), 0u8..3).prop_map(|(key, n)| Spec::Default { key, n }),
        2 => (0..KEYS.len(), 0u8..3, any::<bool>())
            .prop_map(|(key, n, add)| Spec::Action { key, n, add }),
        4 => (0..PATTERNS.len(), then()).prop_map(|(pattern, then)| Spec::Request { pattern, then }),
        1 => (0..PATTERNS.len()).prop_map(|pattern| Spec::ReadsMatched { pattern }),
        3 => (0..MARKERS).prop_map(Spec::Marker),
    ]
}

fn actions(id: usize, phase: u8, then: &Then) -> String {
    let mut a = vec![format!("id:{id}"), format!("phase:{phase}")];
    // every other rule is tagged, for `ctl:ruleRemoveByTag`
    if id % 2 == 0 {
        a.push("tag:'even'".into());
    }
    match then {
        Then::Log => a.push("log,msg:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'".into()),
        Then::Deny => a.push("deny,log".into()),
        Then::Allow => a.push("allow,nolog".into()),
        Then::Severity => a.push("severity:2,nolog".into()),
        _ => a.push("pass,nolog".into()),
    }
    match then {
        Then::Set(k, n) => a.push(format!("setvar:tx.{}={n}", KEYS[*k])),
        Then::Add(k) => a.push(format!("setvar:tx.{}=+1", KEYS[*k])),
        Then::SetFromRequest(k) => a.push(format!("setvar:tx.{}=%{{ARGS.q}}", KEYS[*k])),
        Then::Jump(m) => a.push(format!("skipAfter:M{m}")),
        Then::Capture => a.push("capture,setvar:tx.c=%{TX.0}".into()),
        Then::RemoveById => a.push(format!("ctl:ruleRemoveById={}-{}", id + 1, id + 3)),
        Then::RemoveByTag => a.push("ctl:ruleRemoveByTag=even".into()),
        Then::RemoveTarget(k) => a.push(format!(
            "ctl:ruleRemoveTargetById={}-{};TX:{}",
            id + 1,
            id + 9,
            KEYS[*k]
        )),
        _ => {}
    }
    a.join(",")
}

fn rules_text(specs: &[(Spec, u8)]) -> String {
    let mut out = String::from("SecRuleEngine On\n");
    for (i, (s, phase)) in specs.iter().enumerate() {
        let id = i + 1;
        let line = match s {
            Spec::TxTest { key, op, n, then } => {
                let op = match OPS[*op] {
                    o if o.starts_with("rx") => o.to_string(),
                    o => format!("{o} {n}"),
                };
                format!(
                    "SecRule TX:{} \"@{op}\" \"{}\"",
                    KEYS[*key],
                    actions(id, *phase, then)
                )
            }
            Spec::TxChain {
                key,
                n,
                pattern,
                then,
            } => format!(
                "SecRule TX:{} \"@ge {n}\" \"{},chain\"\n\
                 SecRule ARGS:q \"@rx {}\" \"setvar:tx.b=+1\"",
                KEYS[*key],
                actions(id, *phase, then),
                PATTERNS[*pattern]
            ),
            Spec::TxOnlyChain {
                key,
                n,
                link_key,
                link_counts,
                link_sets,
                then,
            } => format!(
                "SecRule TX:{} \"@ge {n}\" \"{},chain\"\n\
                 SecRule {}TX:{} \"{}\" \"{}\"",
                KEYS[*key],
                actions(id, *phase, then),
                if *link_counts { "&" } else { "" },
                KEYS[*link_key],
                if *link_counts { "@eq 0" } else { "@lt 2" },
                if *link_sets { "setvar:tx.c=+1" } else { "t:none" },
            ),
            Spec::Default { key, n } => format!(
                "SecRule &TX:{k} \"@eq 0\" \"id:{id},phase:{phase},pass,nolog,setvar:tx.{k}={n}\"",
                k = KEYS[*key]
            ),
            Spec::Action { key, n, add } => format!(
                "SecAction \"id:{id},phase:{phase},pass,nolog,setvar:tx.{}={}{n}\"",
                KEYS[*key],
                if *add { "+" } else { "" }
            ),
            Spec::Request { pattern, then } => format!(
                "SecRule ARGS:q \"@rx {}\" \"{}\"",
                PATTERNS[*pattern],
                actions(id, *phase, then)
            ),
            Spec::ReadsMatched { pattern } => format!(
                "SecRule REQUEST_METHOD \"@rx G\" \"id:{id},phase:{phase},pass,log,chain,msg:'%{{MATCHED_VAR_NAME}}'\"\n\
                 SecRule MATCHED_VARS \"@rx {}\" \"setvar:tx.seen=%{{MATCHED_VAR_NAME}}\"",
                PATTERNS[*pattern]
            ),
            Spec::Marker(m) => format!("SecMarker M{m}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    // what the phases left: every key (and its absence), and the matches of all of TX
    for (i, k) in KEYS.iter().chain(["c", "seen", "0"].iter()).enumerate() {
        out.push_str(&format!(
            "SecRule TX:{k} \"@rx ^\" \"id:{},phase:5,pass,log,msg:'{k}=%{{TX.{k}}}'\"\n\
             SecRule &TX:{k} \"@eq 0\" \"id:{},phase:5,pass,log,msg:'{k} absent'\"\n",
            900 + 2 * i,
            901 + 2 * i
        ));
    }
    out.push_str(
        "SecRule TX \"@rx .\" \"id:990,phase:5,pass,log,multiMatch,msg:'%{MATCHED_VAR_NAME}'\"\n",
    );
    out
}

fn run(rules: &Arc<RuleSet>, q: &str) -> (Vec<String>, Option<u16>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let mut tx = Transaction::with_id(Arc::clone(rules), "fixed-id");
    tx.on_log(move |l| sink.lock().unwrap().push(l.to_string()));
    tx.process_connection("10.0.0.1", 1000, "10.0.0.2", 80);
    tx.process_uri(format!("/x?q={q}").as_bytes(), b"GET", b"1.1");
    tx.add_request_header(b"Host", b"h");
    tx.process_request_headers();
    tx.process_request_body();
    tx.process_response_headers(200, b"HTTP/1.1");
    tx.process_logging();
    let status = tx.intervention().map(|i| i.status);
    let lines = log.lock().unwrap().clone();
    (lines, status)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn decisions_change_nothing(
        specs in prop::collection::vec((spec(), prop::sample::select(vec![1u8, 1, 2, 2, 3])), 1..28),
        q in prop::sample::select(VALUES),
    ) {
        let text = rules_text(&specs);
        let planned = RuleSet::from_text("p.conf", &text, None).unwrap();
        let mut every = RuleSet::from_text("p.conf", &text, None).unwrap();
        every.set_static_decisions(false);
        let (planned, every) = (Arc::new(planned), Arc::new(every));
        prop_assert_eq!(run(&planned, q), run(&every, q), "rules:\n{}", text);
    }
}

/// CRS-like bookkeeping is decided (a test of the test: the property above would hold
/// trivially if nothing were).
#[test]
fn bookkeeping_is_decided() {
    let text = "SecRuleEngine On\n\
        SecRule REQUEST_HEADERS:Content-Type \"@rx json\" \"id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON\"\n\
        SecRule &TX:pl \"@eq 0\" \"id:2,phase:1,pass,nolog,setvar:tx.pl=1\"\n\
        SecAction \"id:3,phase:1,pass,nolog,setvar:tx.score=0\"\n\
        SecRule ARGS \"@rx attack\" \"id:4,phase:2,pass,log,setvar:tx.score=+5\"\n\
        SecRule TX:pl \"@lt 1\" \"id:5,phase:2,pass,nolog,skipAfter:END\"\n\
        SecRule TX:pl \"@lt 2\" \"id:6,phase:2,pass,nolog,skipAfter:END\"\n\
        SecRule ARGS \"@rx pl2\" \"id:7,phase:2,pass,log,setvar:tx.score=+5\"\n\
        SecMarker END\n\
        SecRule TX:score \"@ge 5\" \"id:8,phase:2,deny,log\"";
    let rules = RuleSet::from_text("d.conf", text, None).unwrap();
    // 2 and 3 folded, 5 and 6 decided; 1 and 4 depend on the request, 7 is jumped over and 8
    // reads a score the request sets
    assert_eq!(rules.decided_rules(), 4);
    let rules = Arc::new(rules);
    assert_eq!(run(&rules, "attack").1, Some(403));
    assert_eq!(run(&rules, "pl2").1, None);
}

/// A chain of `TX` tests that matches in full, CRS 3's 912100 (three `&TX:dos_* "@eq 0"`
/// links, `skipAfter`), is decided, and jumps as evaluated; one whose link does not match is
/// decided too (its starter does), and one whose link sets `TX` outside phase 1's folding is not.
#[test]
fn chains_of_tx_tests_are_decided() {
    let text = "SecRuleEngine On\n\
        SecRule REQUEST_HEADERS:Content-Type \"@rx json\" \"id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON\"\n\
        SecRule &TX:dos_a \"@eq 0\" \"id:2,phase:1,pass,nolog,skipAfter:END,chain\"\n\
        SecRule &TX:dos_b \"@eq 0\" \"chain\"\n\
        SecRule &TX:dos_c \"@eq 0\"\n\
        SecRule ARGS \"@rx y\" \"id:3,phase:1,deny,log\"\n\
        SecMarker END\n\
        SecRule ARGS \"@rx x\" \"id:4,phase:1,pass,log,setvar:tx.n=+1\"\n\
        SecRule &TX:n \"@eq 1\" \"id:5,phase:1,pass,nolog,chain\"\n\
        SecRule &TX:m \"@eq 0\"\n\
        SecRule &TX:m \"@eq 0\" \"id:6,phase:2,pass,nolog,chain\"\n\
        SecRule &TX:dos_a \"@eq 0\" \"setvar:tx.p=1\"\n\
        SecRule TX:p \"@eq 1\" \"id:7,phase:2,deny,log\"";
    let rules = RuleSet::from_text("c.conf", text, None).unwrap();
    // 2 decided (a hit that jumps over 3); 5 reads a count the request sets; 6 sets TX outside
    // the folding (with its setvars, a decided hit would run its starter's alone)
    assert_eq!(rules.decided_rules(), 1);
    let [planned, every] = both(text, "y");
    assert_eq!(planned, every);
    assert_eq!(every.1, Some(403), "7 denies: 6's link set tx.p");
    assert!(!every.0.iter().any(|l| l.contains("id \"3\"")));
}

/// Both ways, the log lines and verdict of `run` on `q`.
fn both(text: &str, q: &str) -> [(Vec<String>, Option<u16>); 2] {
    let planned = Arc::new(RuleSet::from_text("t.conf", text, None).unwrap());
    let mut every = RuleSet::from_text("t.conf", text, None).unwrap();
    every.set_static_decisions(false);
    [run(&planned, q), run(&Arc::new(every), q)]
}

/// Cases the property found: a jump to a marker the phase does not have (the skip goes on
/// into the next phases), and the phase 5 rules after a deny (a phase that starts after an
/// interruption evaluates one rule).
#[test]
fn found_cases() {
    let lost_marker = "SecRuleEngine On\n\
        SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=2\"\n\
        SecRule TX:a \"@eq 2\" \"id:2,phase:1,pass,nolog,skipAfter:NOWHERE\"\n\
        SecRule TX:a \"@eq 2\" \"id:3,phase:5,pass,log\"";
    let [planned, every] = both(lost_marker, "x");
    assert_eq!(planned, every);
    assert!(every.0.is_empty());
    let denied = "SecRuleEngine On\n\
        SecRule ARGS:q \"@rx y\" \"id:1,phase:1,deny,log\"\n\
        SecRule TX:a \"@rx ^\" \"id:2,phase:5,pass,log\"\n\
        SecRule &TX:a \"@eq 0\" \"id:3,phase:5,pass,log\"";
    let [planned, every] = both(denied, "y");
    assert_eq!(planned, every);
    assert_eq!(every.1, Some(403));
}

/// Markers, missed rules and removed rules are passed at once, but not while a `skipAfter`
/// looks for a marker among them; both ways give the same lines, and the jump lands.
#[test]
fn passages_keep_their_markers() {
    let text = "SecRuleEngine On\n\
        SecRule ARGS:q \"@rx y\" \"id:1,phase:1,pass,nolog,skipAfter:M\"\n\
        SecRule TX:a \"@rx ^\" \"id:2,phase:1,pass,log\"\n\
        SecRule ARGS:q \"@rx .\" \"id:3,phase:1,pass,log,msg:'removed'\"\n\
        SecMarker M\n\
        SecRule TX:b \"@rx ^\" \"id:4,phase:1,pass,log\"\n\
        SecRule &TX:a \"@eq 0\" \"id:5,phase:1,pass,log,msg:'after M'\"\n\
        SecRuleRemoveById 3";
    for q in ["y", "x"] {
        let [planned, every] = both(text, q);
        assert_eq!(planned, every, "q={q}");
        assert_eq!(planned.0.len(), 1, "q={q}");
        assert!(planned.0[0].contains("after M"), "q={q}");
    }
}

/// A phase run a second time is evaluated rule by rule: its counters count twice.
#[test]
fn a_phase_run_twice_is_evaluated() {
    let text = "SecRuleEngine On\n\
        SecAction \"id:1,phase:1,pass,nolog,setvar:tx.n=+1\"\n\
        SecRule TX:n \"@eq 2\" \"id:2,phase:1,pass,log,msg:'twice'\"\n\
        SecRule TX:n \"@eq 2\" \"id:3,phase:2,pass,log,msg:'twice, then phase 2'\"";
    let rules = Arc::new(RuleSet::from_text("t.conf", text, None).unwrap());
    assert_eq!(rules.decided_rules(), 3);
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let mut tx = Transaction::with_id(rules, "fixed-id");
    tx.on_log(move |l| sink.lock().unwrap().push(l.to_string()));
    tx.process_uri(b"/", b"GET", b"1.1");
    tx.process_request_headers();
    tx.process_request_headers();
    tx.process_request_body();
    let lines = log.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
}

/// A target added by `SecRuleUpdateTargetById` counts: a rule that reads `TX` that way keeps
/// the later defaults from being folded before it.
#[test]
fn updated_targets_count() {
    let text = "SecRuleEngine On\n\
        SecRule ARGS:q \"@rx .\" \"id:1,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
        SecAction \"id:2,phase:1,pass,nolog,setvar:tx.y=1\"\n\
        SecRuleUpdateTargetById 1 \"TX:y\"";
    let [planned, every] = both(text, "x");
    assert_eq!(planned, every);
    assert_eq!(every.0.len(), 1, "{:?}", every.0);
    assert!(every.0[0].contains("[msg \"ARGS:q\"]"), "{:?}", every.0);
}

/// Two rule sets take turns on one thread: each transaction's `TX` starts as its own rule
/// set's plan made it, never as the other's (the thread keeps a copy of the last one's for
/// the next transaction, taken as it is only by a transaction of the same rule set).
#[test]
fn rule_sets_take_turns_with_their_own_tx() {
    let text = |me: &str, other: &str| {
        format!(
            "SecRuleEngine On\n\
            SecAction \"id:1,phase:1,pass,nolog,setvar:tx.who={me}\"\n\
            SecRule ARGS:q \"@rx .\" \"id:2,phase:1,deny,status:403,log,chain\"\n\
            SecRule TX:who \"@streq {other}\"\n\
            SecRule ARGS:q \"@rx .\" \"id:3,phase:1,deny,status:409,log,chain\"\n\
            SecRule TX:who \"!@streq {me}\""
        )
    };
    let a = Arc::new(RuleSet::from_text("a.conf", &text("a", "b"), None).unwrap());
    let b = Arc::new(RuleSet::from_text("b.conf", &text("b", "a"), None).unwrap());
    // (the plan decides the `SecAction`, its `TX` holding `who`; the chains read the request,
    // and `TX` as the transaction has it)
    assert_eq!(a.decided_rules(), 1);
    for rules in [&a, &b, &b, &a, &a, &b] {
        let (lines, status) = run(rules, "x");
        assert_eq!(status, None, "{lines:?}");
    }
}

/// A phase that starts after an interruption ends after its first rule, as libmodsecurity's
/// loop breaks after any rule's evaluation, also when that rule is told not to match without
/// its operator being run (its bytes, its literals): the phase 3 rule that sets `tx.a` from
/// the request must not run after phase 1's deny. (Found by `decisions_change_nothing`: the
/// plan decided it right and the rule-by-rule run did not.)
#[test]
fn a_phase_after_an_interruption_ends_after_a_rule_told_not_to_match() {
    let text = "SecRuleEngine On\n\
        SecRule &TX:a \"@eq 0\" \"id:1,phase:3,pass,nolog,setvar:tx.a=0\"\n\
        SecRule ARGS:q \"@rx 1\" \"id:2,phase:3,pass,nolog,setvar:tx.a=%{ARGS.q}\"\n\
        SecRule &TX:a \"@eq 0\" \"id:4,phase:1,pass,nolog,setvar:tx.a=2\"\n\
        SecRule ARGS:q \"@rx 1\" \"id:5,phase:1,deny,log\"\n\
        SecRule TX:a \"@rx ^\" \"id:900,phase:5,pass,log,msg:'a=%{TX.a}'\"\n";
    for planned in [true, false] {
        let mut rules = RuleSet::from_text("p.conf", text, None).unwrap();
        rules.set_static_decisions(planned);
        let (lines, status) = run(&Arc::new(rules), "1");
        assert_eq!(status, Some(403));
        assert!(
            lines.iter().any(|l| l.contains("[msg \"a=2\"]")),
            "planned {planned}: {lines:#?}"
        );
    }
}
