//! What the rules on one short value found no match in, on the thread's earlier
//! transactions: the next evaluation of such a rule on the same bytes is answered "no match"
//! at once.
//!
//! Most of the rules a small request reaches test one value that is the same from request to
//! request: the method, the protocol, `Host`, `Accept`, `User-Agent`, the client's address
//! (CRS's REQUEST-905, -911 and -920: ~40 evaluations of a plain GET, each 700 to 1,900
//! instructions of targets, values, transformation cache and operator for a "no"). Such a
//! rule's answer is a function of the value's bytes (and of its operator's argument, kept with
//! them when it is a `TX` variable's), and a "no" leaves nothing behind: it is kept, per rule,
//! with the bytes it was given, and asked before the rule is evaluated again.
//!
//! A rule has a place in the memo ([`crate::rule::Rule::memo_slot`], given at load by
//! [`number_memo_slots`]) when its operator answers by the value and its argument alone and
//! leaves nothing but ranges ([`crate::operators::Operator::reports_only_ranges`]), its
//! argument is plain text or one `TX` variable, it has no `multiMatch` (nor `capture` when
//! negated: a capture is made where the operator matches, a negated rule's "no"), and it
//! has one target: a variable of one value, a header by its name (not a credential's), or a
//! `TX` element. At run time the memo is asked only when the rule keeps that one target (no
//! exclusion, no target removed by a `ctl`) and it has exactly one value, short ([`value_max`]:
//! what [`super::SpareTables`] keeps of a request, no body, no credentials).

use super::Transaction;
use crate::collection::Bytes;
use crate::rule::{CompiledSelector, Rule};
use seclang_parser::names::VariableName as V;
use std::sync::atomic::Ordering::Relaxed;

/// [`Rule::memo_slot`] of a rule without a place in the memo.
pub(crate) const NO_MEMO: u32 = u32::MAX;

/// The longest value kept: a header's, as [`super::KEPT_HEADER_LEN`]; any other, as
/// [`super::KEPT_SCALAR_LEN`].
fn value_max(v: V) -> usize {
    match v {
        V::RequestHeaders => super::KEPT_HEADER_LEN,
        _ => super::KEPT_SCALAR_LEN,
    }
}

/// What a rule with a place in the memo needs at run time: its operator's argument, when it
/// is one `TX` variable (its element's name and hash), whose value is kept with the rule's.
#[derive(Debug, Default)]
pub(crate) struct MemoRule {
    tx_argument: Option<(Bytes, u64)>,
}

/// A thread's memo: for each rule with a place, the value (and argument) it last found no
/// match in.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    /// The rule set whose rules' places these are ([`crate::RuleSet::id`]).
    owner: u64,
    entries: Vec<Option<(Bytes, Option<Bytes>)>>,
    /// How many evaluations it answered (in tests: reset for each transaction).
    #[cfg(test)]
    pub(crate) answered: usize,
}

impl Memo {
    /// This memo for `rules`: emptied when it was another rule set's.
    pub(crate) fn for_rules(mut self, rules: &crate::RuleSet) -> Memo {
        if self.owner != rules.id || self.entries.len() != rules.memo.len() {
            self.entries.clear();
            self.entries.resize(rules.memo.len(), None);
            self.owner = rules.id;
        }
        #[cfg(test)]
        {
            self.answered = 0;
        }
        self
    }
}

/// Whether `rule` may have a place in the memo, and what it then needs.
fn memo_rule(rule: &Rule) -> Option<MemoRule> {
    let op = rule.operator.as_ref()?;
    // (a capture is made by a match: a negated rule's "no")
    if !op.operator.reports_only_ranges() || (rule.capture() && op.negated) || rule.multi_match() {
        return None;
    }
    let tx_argument = match op.argument.has_macros() {
        false => None,
        true => Some(crate::rule::lone_tx_macro(&op.argument)?),
    };
    let [t] = &rule.targets[..] else {
        return None;
    };
    if t.count || !rule.exclusions.is_empty() {
        return None;
    }
    let one_value = match &t.selector {
        // (not a body: a short one may be a login form's)
        None => {
            !t.variable.is_collection()
                && !matches!(
                    t.variable,
                    V::Xml
                        | V::RequestBody
                        | V::ResponseBody
                        | V::FullRequest
                        | V::RemoteUser
                        | V::Rule
                        | V::MatchedVar
                        | V::MatchedVarName
                )
        }
        Some(CompiledSelector::Key(name, _)) => match t.variable {
            V::RequestHeaders => !super::is_credential(name),
            // (not a capture, `TX:0`: a piece of any value)
            V::Tx => !name.iter().all(u8::is_ascii_digit),
            _ => false,
        },
        Some(_) => false,
    };
    one_value.then_some(MemoRule { tx_argument })
}

/// Gives each rule (and chain link) of `rules` that may have one its place in the memo;
/// returns what each place's rule needs.
pub(crate) fn number_memo_slots<'r>(rules: impl Iterator<Item = &'r Rule>) -> Vec<MemoRule> {
    let mut slots = Vec::new();
    for rule in rules {
        if let Some(m) = memo_rule(rule) {
            rule.memo_slot.store(slots.len() as u32, Relaxed);
            slots.push(m);
        }
    }
    slots
}

/// What the memo says of an evaluation about to be made.
pub(crate) enum Asked {
    /// The rule found no match in these bytes before, or its target has no value: it finds
    /// none now.
    NoMatch,
    /// Not known: the bytes to keep if the rule finds no match.
    Unknown(Bytes, Option<Bytes>),
    /// The memo does not hold for this evaluation.
    Off,
}

impl Transaction {
    /// What the memo says of `rule`, whose place is `slot`.
    pub(crate) fn ask_memo(&mut self, rule: &Rule, slot: u32) -> Asked {
        // (its own target: no exception of the configuration's, no `ctl` removal)
        let own_targets = matches!(
            rule.static_exceptions.get(),
            Some(crate::exceptions::StaticExceptions { targets: None, .. })
        );
        if !own_targets || !self.rules.grouped_matching || self.runtime_removals_apply(rule) {
            return Asked::Off;
        }
        let value = match self.one_value(&rule.targets[0]) {
            Ok(Some(value)) => value,
            // (no value: the operator is never run, and the rule matches nothing)
            Ok(None) => return Asked::NoMatch,
            Err(()) => return Asked::Off,
        };
        let argument = self.rules.memo[slot as usize]
            .tx_argument
            .as_ref()
            .map(|(name, hash)| self.tx_value(name, *hash));
        // (`Arc`'s `==` compares the pointers first: a repeated scalar or header is most often
        // the thread's last transaction's buffer, [`super::reused`])
        let known = matches!(
            &self.memo.entries[slot as usize],
            Some((v, a)) if *v == value && *a == argument
        );
        if !known {
            return Asked::Unknown(value, argument);
        }
        #[cfg(test)]
        {
            self.memo.answered += 1;
        }
        Asked::NoMatch
    }

    /// The values of `target` (of a rule with a place in the memo): none, or one short
    /// enough to keep; `Err` otherwise.
    fn one_value(&self, target: &crate::rule::Target) -> Result<Option<Bytes>, ()> {
        let value = match &target.selector {
            Some(CompiledSelector::Key(name, hash)) => {
                let Some(c) = self.collection(target.variable) else {
                    return Ok(None);
                };
                let mut named = c.named_by_hash(name, *hash);
                let Some(one) = named.next() else {
                    return Ok(None);
                };
                if named.next().is_some() {
                    return Err(());
                }
                one.value.clone()
            }
            Some(_) => return Err(()),
            // (a scalar has one value, empty when unset: `Transaction::resolve`)
            None => self.scalar_value(target.variable).unwrap_or_default(),
        };
        match value.len() <= value_max(target.variable) {
            true => Ok(Some(value)),
            false => Err(()),
        }
    }

    /// Keeps what `rule` (at `slot`) found no match in.
    pub(crate) fn keep_in_memo(&mut self, slot: u32, value: Bytes, argument: Option<Bytes>) {
        if let Some(e) = self.memo.entries.get_mut(slot as usize) {
            // (kept past the request: not a slice keeping its arguments' block alive)
            *e = Some((value.unshared(), argument.map(|a| a.unshared())));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{RuleSet, Transaction};
    use std::sync::{Arc, Mutex};

    /// A request: method and headers.
    type Request<'a> = (&'a str, Vec<(&'a str, String)>);

    /// The log lines of each request, run one after another on this thread over `rules`, and
    /// how many rule evaluations the memo answered in each.
    fn run(rules: &Arc<RuleSet>, requests: &[Request<'_>]) -> Vec<(Vec<String>, usize)> {
        requests
            .iter()
            .map(|(method, headers)| {
                let log = Arc::new(Mutex::new(Vec::new()));
                let sink = Arc::clone(&log);
                let mut tx = Transaction::new(Arc::clone(rules));
                tx.on_log(move |l| sink.lock().unwrap().push(l.to_string()));
                tx.process_connection("127.0.0.1", 12345, "127.0.0.1", 80);
                tx.process_uri(b"/", method.as_bytes(), b"1.1");
                for (k, v) in headers {
                    tx.add_request_header(k.as_bytes(), v.as_bytes());
                }
                tx.process_request_headers();
                let answered = tx.memo.answered;
                drop(tx);
                // (each transaction's own unique id aside)
                let lines = log.lock().unwrap().clone();
                let lines = lines.iter().map(|l| {
                    let (a, b) = l.split_once("[unique_id \"").unwrap_or((l, ""));
                    format!("{a}{}", b.split_once('"').map_or("", |(_, rest)| rest))
                });
                (lines.collect(), answered)
            })
            .collect()
    }

    fn rules(text: &str, grouped: bool) -> Arc<RuleSet> {
        let mut r = RuleSet::from_text("t.conf", text, None).unwrap();
        r.set_grouped_matching(grouped);
        Arc::new(r)
    }

    /// The memo answers a rule's second "no" on the same bytes, and only when its `TX`
    /// argument is the same too: here the list changes and the rule matches the same value.
    #[test]
    fn a_no_is_kept_with_the_value_and_the_argument() {
        let text = "SecRuleEngine DetectionOnly\n\
            SecAction \"id:1,phase:1,pass,nolog,setvar:tx.list=%{REQUEST_HEADERS.X-List}\"\n\
            SecRule REQUEST_HEADERS:X-Value \"@within %{tx.list}\" \"id:2,phase:1,pass,log\"";
        let set = rules(text, true);
        let req = |list: &str, value: &str| {
            let h = vec![("X-List", list.to_string()), ("X-Value", value.to_string())];
            ("GET", h)
        };
        let out = run(
            &set,
            &[
                req("a b", "c"),
                req("a b", "c"),
                req("c d", "c"),
                req("a b", "c"),
                req("a b", "a"),
            ],
        );
        let ids: Vec<usize> = out.iter().map(|(l, _)| l.len()).collect();
        assert_eq!(ids, [0, 0, 1, 0, 1], "{out:?}");
        let answered: Vec<usize> = out.iter().map(|(_, a)| *a).collect();
        // (the third's match leaves the second's "no" kept: the fourth is its bytes again)
        assert_eq!(answered, [0, 1, 0, 1, 0]);
    }

    /// Requests drawn from small pools (so that values repeat, with the same length where they
    /// differ) give the same log lines with the memo as without it (the grouped matcher off),
    /// over every operator that may have a place, negated or not, on each kind of target, with
    /// captures (kept by a match, so by a negated rule's "no": 20 has no place).
    #[test]
    fn the_memo_answers_as_the_rules_would() {
        let text = "SecRuleEngine DetectionOnly\n\
            SecAction \"id:1,phase:1,pass,nolog,setvar:tx.list=%{REQUEST_HEADERS.X-List},setvar:tx.n=%{REQUEST_HEADERS.X-N}\"\n\
            SecRule REQUEST_METHOD \"!@within GET HEAD\" \"id:10,phase:1,pass,log,msg:'%{MATCHED_VAR}'\"\n\
            SecRule REQUEST_METHOD \"@streq PUT\" \"id:11,phase:1,pass,log\"\n\
            SecRule REQUEST_METHOD \"@within %{tx.list}\" \"id:12,phase:1,pass,log\"\n\
            SecRule REQUEST_HEADERS:Host \"!@rx ^[a-c]+$\" \"id:13,phase:1,pass,log\"\n\
            SecRule REQUEST_HEADERS:Host \"@beginsWith b\" \"id:14,phase:1,pass,log,t:uppercase,t:lowercase\"\n\
            SecRule REQUEST_HEADERS:X-N \"@gt 2\" \"id:15,phase:1,pass,log\"\n\
            SecRule TX:n \"!@eq 1\" \"id:16,phase:1,pass,log\"\n\
            SecRule REMOTE_ADDR \"@ipMatch 127.0.0.1\" \"id:17,phase:1,pass,log,chain\"\n\
                SecRule REQUEST_HEADERS:Host \"@endsWith c\" \"t:none\"\n\
            SecRule REQUEST_HEADERS:X-List \"@contains PUT\" \"id:18,phase:1,pass,log\"\n\
            SecRule REQUEST_HEADERS:Host \"@rx ^b(.)\" \"id:19,phase:1,pass,log,capture,msg:'%{TX.1}'\"\n\
            SecRule REQUEST_METHOD \"!@rx ^(P)\" \"id:20,phase:1,pass,log,capture,msg:'%{TX.1}'\"\n\
            SecRule REQUEST_METHOD \"@rx .\" \"id:21,phase:1,pass,log,msg:'%{TX.0} %{TX.1}'\"";
        let (with, without) = (rules(text, true), rules(text, false));
        let methods = ["GET", "PUT", "POST", "HEAD"];
        let hosts = ["abc", "bbc", "abd", "", "cab"];
        let lists = ["GET PUT", "POST", "HEAD PUT", ""];
        let mut seed = 7u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let requests: Vec<Request<'_>> = (0..400)
            .map(|_| {
                let mut h = vec![("X-List", lists[next(lists.len())].to_string())];
                if next(4) != 0 {
                    h.push(("Host", hosts[next(hosts.len())].to_string()));
                }
                h.push(("X-N", next(4).to_string()));
                if next(8) == 0 {
                    // (two values: no place in the memo for this request)
                    h.push(("Host", "x".to_string()));
                }
                (methods[next(methods.len())], h)
            })
            .collect();
        let (a, b) = (run(&with, &requests), run(&without, &requests));
        for (i, ((x, _), (y, _))) in a.iter().zip(&b).enumerate() {
            assert_eq!(x, y, "request {i}: {:?}", requests[i]);
        }
        let answered: usize = a.iter().map(|(_, n)| n).sum();
        assert!(answered > 400, "the memo answered {answered} evaluations");
        assert_eq!(b.iter().map(|(_, n)| n).sum::<usize>(), 0);
    }
}
