//! The grouped matcher against rule-by-rule evaluation: random rule sets and requests go
//! through the same rules twice, once with the grouped matcher (the default) and once with
//! every `@rx` rule running its own regex; log lines, interventions and what rules left in TX
//! must be identical.

use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use waf_core::{RuleSet, Transaction};

const TARGETS: &[&str] = &[
    "ARGS",
    "ARGS_NAMES",
    "ARGS:q",
    "REQUEST_HEADERS",
    "REQUEST_HEADERS:User-Agent",
    "REQUEST_COOKIES",
    "REQUEST_URI",
    "REQUEST_FILENAME",
    "ARGS|REQUEST_COOKIES|!ARGS:x",
    // whole-variable skipping: `XML:/*` has no value without an XML body, `TX` can change
    "REQUEST_COOKIES|ARGS_NAMES|ARGS|XML:/*",
    "ARGS|TX:seen",
];
const CHAINS: &[&str] = &[
    "t:none",
    "t:none,t:lowercase",
    "t:none,t:urlDecodeUni",
    "t:none,t:urlDecodeUni,t:lowercase",
    "t:none,t:lowercase,t:removeWhitespace",
    "t:none,t:htmlEntityDecode,t:lowercase",
    "t:none,t:compressWhitespace",
];
const PATTERNS: &[&str] = &[
    "a+b",
    "(?i)select\\s+\\w+",
    "^x",
    "[0-9]{3}",
    "evil$",
    "a|bc",
    "(foo)(bar)?",
    "^$",
    "(?i:union)",
    "<script",
    "\\bor\\b",
    "^[a-z]+$",
    "%[0-9a-f]{2}",
    "\\x41",
    "(?:b|c){2,}",
    // literals come from the lowercased pattern
    "(?i)\\b(?:sel|uni)[a-z]+",
    "[A-Z]{2}x",
    "F[O0]O",
    "(?i)(?:un|sel)(?:ion|ect)",
    // @pm: phrase lists whose rarest bytes rule out whole variables
    "@pm <script a/b",
    "@pm $x ../ evil",
    "@pm %41 &lt;",
    // no literals, but a quick look for multiMatch (`Operator::quick_rule_out`)
    "@detectSQLi",
];
const WORDS: &[&str] = &[
    "a",
    "ab",
    "aab",
    "bc",
    "x",
    "xy",
    "123",
    "4567",
    "evil",
    "FOO",
    "foobar",
    "select id",
    "SeLeCt  x",
    "union",
    "<script>",
    "1 or 2",
    "%41",
    "&lt;",
    " ",
    "%20",
    "cc",
    "SELECT",
    "ABx",
    "F0O",
    "UNION",
    "a/b",
    "$x",
    "../etc",
    // literals only a transformation brings out (the query is decoded once before the rules:
    // `%2541` is `%41` to them): for multiMatch, whose stages are each prefix's output
    "%2541",
    "a b",
    "%253Cscript",
    "&lt;script",
    "sel ect",
    "1' or '1'='1",
    "%2527 or 1=1--",
    "a.b_c",
];

#[derive(Debug, Clone)]
struct RuleSpec {
    target: usize,
    chain: usize,
    pattern: usize,
    negated: bool,
    capture: bool,
    multi: bool,
    deny: bool,
    chained: bool,
    /// With a `setvar` (without, a chain's links before the last may change nothing until it
    /// matches: the phase loop then asks a later link's test first).
    setvar: bool,
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        0..TARGETS.len(),
        0..CHAINS.len(),
        0..PATTERNS.len(),
        prop::bool::weighted(0.15),
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.6),
    )
        .prop_map(
            |(target, chain, pattern, negated, capture, multi, deny, chained, setvar)| RuleSpec {
                target,
                chain,
                pattern,
                negated,
                capture,
                multi,
                deny,
                chained,
                setvar,
            },
        )
}

fn rules_text(specs: &[RuleSpec]) -> String {
    let mut out = String::from("SecRuleEngine On\n");
    let mut in_chain = false;
    for (i, s) in specs.iter().enumerate() {
        let pattern = PATTERNS[s.pattern];
        let op = format!(
            "{}{}{pattern}",
            if s.negated { "!" } else { "" },
            if pattern.starts_with('@') { "" } else { "@rx " }
        );
        let mut actions = Vec::new();
        if !in_chain {
            actions.push(format!("id:{}", i + 1));
            actions.push("phase:2".to_string());
            actions.push(if s.deny { "deny" } else { "pass" }.to_string());
            actions.push("log".to_string());
            actions.push(format!("msg:'r{} %{{TX.0}}'", i + 1));
        }
        actions.push(CHAINS[s.chain].to_string());
        if s.capture {
            actions.push("capture".to_string());
        }
        if s.multi {
            actions.push("multiMatch".to_string());
        }
        if s.setvar {
            actions.push(format!("setvar:tx.r{}=%{{MATCHED_VAR}}", i + 1));
        }
        let last = i + 1 == specs.len();
        if s.chained && !last {
            actions.push("chain".to_string());
        }
        out.push_str(&format!(
            "SecRule {} \"{}\" \"{}\"\n",
            TARGETS[s.target],
            op.replace('"', "\\\""),
            actions.join(",")
        ));
        in_chain = s.chained && !last;
    }
    out
}

/// `pad`: filler in the path, so that `REQUEST_URI` and `REQUEST_FILENAME` are long values
/// (a group scans a long value of a variable few of its members name by their own literals).
fn run(
    rules: &Arc<RuleSet>,
    query: &str,
    cookie: &str,
    agent: &str,
    pad: usize,
) -> (Vec<String>, u16) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let mut tx = Transaction::with_id(Arc::clone(rules), "fixed-id");
    tx.on_log(move |l| sink.lock().unwrap().push(l.to_string()));
    tx.process_connection("10.0.0.1", 1000, "10.0.0.2", 80);
    let filler = "_".repeat(pad);
    tx.process_uri(
        format!("/p{filler}/x.php?{query}").as_bytes(),
        b"GET",
        b"1.1",
    );
    tx.add_request_header(b"Host", b"h");
    tx.add_request_header(b"User-Agent", agent.as_bytes());
    tx.add_request_header(b"Cookie", cookie.as_bytes());
    tx.process_request_headers();
    tx.process_request_body();
    let status = tx.intervention().map_or(200, |i| i.status);
    let lines = log.lock().unwrap().clone();
    (lines, status)
}

fn word_list(n: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(WORDS).prop_map(str::to_string), 1..n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn grouped_matcher_changes_nothing(
        specs in prop::collection::vec(rule_spec(), 1..24),
        values in word_list(8),
        cookies in word_list(4),
        agent in word_list(3),
        long in prop::bool::weighted(0.3),
        many in prop::bool::weighted(0.2),
    ) {
        same_either_way(&specs, &values, &cookies, &agent, long, many)?;
    }

    /// The same, with every rule `multiMatch` and 64 values or more: a large variable's
    /// values whose raw stage the matcher's probe tells ([`waf_core`]'s `mark_raw_misses`),
    /// which the property above gives a few in a thousand cases.
    #[test]
    fn multi_match_rules_on_many_values_change_nothing(
        specs in prop::collection::vec(rule_spec(), 1..12),
        values in word_list(8),
    ) {
        let specs: Vec<RuleSpec> = specs
            .into_iter()
            .map(|s| RuleSpec { multi: true, ..s })
            .collect();
        same_either_way(&specs, &values, &[], &[], false, true)?;
    }
}

/// The log lines and status of `specs`' rules, with the grouped matcher and without, on a
/// request of these values (as arguments, `many`: copied to 70 or more), cookies and agent
/// words (`long`: a long path and agent), then on a second request of the values reversed.
fn same_either_way(
    specs: &[RuleSpec],
    values: &[String],
    cookies: &[String],
    agent: &[String],
    long: bool,
    many: bool,
) -> Result<(), TestCaseError> {
    {
        let text = rules_text(specs);
        let grouped = RuleSet::from_text("p.conf", &text, None).unwrap();
        let mut single = RuleSet::from_text("p.conf", &text, None).unwrap();
        single.set_grouped_matching(false);
        let (grouped, single) = (Arc::new(grouped), Arc::new(single));
        // (64 values or more: a variable transformed by columns)
        let copies = if many {
            70usize.div_ceil(values.len())
        } else {
            1
        };
        let query_of = |values: &[String]| {
            let query: Vec<String> = std::iter::repeat(values)
                .take(copies)
                .flatten()
                .enumerate()
                .map(|(i, v)| {
                    format!(
                        "{}={}",
                        if i == 0 {
                            "q".to_string()
                        } else {
                            format!("k{i}{v}")
                        },
                        v.replace(' ', "%20")
                    )
                })
                .collect();
            query.join("&")
        };
        let query = query_of(values);
        let cookie: Vec<String> = cookies
            .iter()
            .enumerate()
            .map(|(i, c)| format!("c{i}={c}"))
            .collect();
        let cookie = cookie.join("; ");
        let mut agent = agent.join(" ");
        let pad = if long { 1100 } else { 0 };
        if long {
            agent.push_str(&" -".repeat(pad / 2));
        }
        prop_assert_eq!(
            run(&grouped, &query, &cookie, &agent, pad),
            run(&single, &query, &cookie, &agent, pad),
            "rules:\n{}",
            text
        );
        // the thread's next transaction on the rule set, with the same texts in other places
        // and a new one: what the first kept by text (scans, outputs, the rules' misses)
        // changes nothing either
        let mut shuffled = values.to_vec();
        shuffled.reverse();
        shuffled.push("zz'".to_string());
        let query = query_of(&shuffled);
        prop_assert_eq!(
            run(&grouped, &query, &cookie, &agent, pad),
            run(&single, &query, &cookie, &agent, pad),
            "rules (second transaction):\n{}",
            text
        );
    }
    Ok(())
}

/// The matcher is in use on rules like these (a test of the test: the property above would
/// hold trivially if nothing were grouped).
#[test]
fn rules_are_grouped() {
    let text = "SecRule ARGS \"@rx (?i)select\\s\" \"id:1,phase:2,pass,t:none,t:lowercase\"\n\
                SecRule ARGS \"@rx evil$\" \"id:2,phase:2,pass,t:none,t:lowercase\"\n\
                SecRule ARGS \"!@rx evil$\" \"id:3,phase:2,pass,t:none,t:lowercase\"\n\
                SecRule ARGS \"@rx a+b\" \"id:4,phase:2,pass,t:none,t:lowercase\"\n\
                SecRule ARGS \"@rx [0-9]\" \"id:5,phase:2,pass,t:none,t:lowercase\"";
    let rules = RuleSet::from_text("g.conf", text, None).unwrap();
    // 3 is negated, 5 matches one byte: 1, 2 and 4 (every match of `a+b` ends with `ab`) are
    // prefiltered
    assert_eq!(rules.grouped_rules(), (3, 1));
}
