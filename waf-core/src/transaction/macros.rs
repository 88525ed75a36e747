//! `%{VARIABLE}` / `%{COLLECTION.key}` expansion at run time.

use super::Transaction;
use crate::collection::{Bytes, Collection};
use seclang_parser::names::VariableName as V;
use seclang_parser::{MacroString, Segment};

thread_local! {
    /// The buffer [`Transaction::expand_shared`] writes an expansion in.
    static EXPANSION: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The room the expansion buffer keeps from one expansion to the next.
const EXPANSION_KEPT: usize = 4096;

impl Transaction {
    /// The text of `m` with its macros replaced by the variables' current (first) values; an
    /// unknown or empty variable expands to nothing.
    pub(crate) fn expand_macros(&self, m: &MacroString) -> Vec<u8> {
        if let Some(text) = m.literal_text() {
            return text.as_bytes().to_vec();
        }
        // (room for what the macros give: `tx.header_name_920450_%{tx.0}` grew three times)
        let mut out = Vec::with_capacity(m.raw.len() + 64);
        self.expand_into(m, &mut out);
        out
    }

    /// Appends the text of `m` to `out` ([`Transaction::expand_macros`]).
    pub(crate) fn expand_into(&self, m: &MacroString, out: &mut Vec<u8>) {
        for s in &m.segments {
            match s {
                Segment::Literal(l) => out.extend_from_slice(l.as_bytes()),
                Segment::Macro { variable, key } => {
                    match self.named_element(*variable, key.as_deref()) {
                        // (the element's bytes, borrowed: no count taken on its buffer and
                        // dropped again, as `macro_value`'s shared buffer is; 920450 writes
                        // `%{tx.0}` twice for each header)
                        Some(element) => {
                            if let Some(e) = element {
                                out.extend_from_slice(&e.value);
                            }
                        }
                        None => {
                            if let Some(v) = self.macro_value(*variable, key.as_deref()) {
                                out.extend_from_slice(&v);
                            }
                        }
                    }
                }
            }
        }
    }

    /// When `%{COLLECTION.name}` names an element by its name (not a `/regex/`, not `RULE`):
    /// the element it expands to, if there is one; `None` for another macro ([`macro_value`]'s).
    // (inlined in both callers: a call from `expand_into`'s loop cost ~0.1% of a request)
    #[inline(always)]
    fn named_element<'a>(
        &'a self,
        v: V,
        key: Option<&'a str>,
    ) -> Option<Option<&'a crate::collection::Entry>> {
        let k = key?;
        if v == V::Rule || !v.is_collection() || is_regex_key(k) {
            return None;
        }
        match self.collection(v) {
            Some(c) => Some(c.named(k.as_bytes()).next()),
            None => Some(None),
        }
    }

    /// [`Transaction::expand_macros`] as a shared buffer: a text that is one macro and nothing
    /// else (`%{tx.critical_anomaly_score}`) is the variable's own buffer, not a copy; another
    /// is written in the thread's buffer and copied once into its own (CRS's 920450 sets
    /// `/%{tx.0}/` for each header).
    pub(crate) fn expand_shared(&self, m: &MacroString) -> Bytes {
        if let [Segment::Macro { variable, key }] = &m.segments[..] {
            return self
                .macro_value(*variable, key.as_deref())
                .unwrap_or_default();
        }
        if let Some(text) = m.literal_text() {
            return Bytes::from(text.as_bytes());
        }
        EXPANSION
            .try_with(|buffer| match buffer.try_borrow_mut() {
                Ok(mut buffer) => {
                    buffer.clear();
                    self.expand_into(m, &mut buffer);
                    let shared = Bytes::from(&buffer[..]);
                    // (a thread does not hold on to a large expansion)
                    buffer.truncate(0);
                    buffer.shrink_to(EXPANSION_KEPT);
                    shared
                }
                // (an expansion within an expansion: its own vector)
                Err(_) => self.expand_macros(m).into(),
            })
            .unwrap_or_else(|_| self.expand_macros(m).into())
    }

    /// What a lone `%{tx.name}` expands to: the first value of `TX:name` (whose
    /// [`crate::collection::name_hash`] is `hash`), or nothing.
    pub(crate) fn tx_value(&self, name: &[u8], hash: u64) -> Bytes {
        self.tx
            .named_by_hash(name, hash)
            .next()
            .map(|e| e.value.clone())
            .unwrap_or_default()
    }

    pub(crate) fn expand_to_string(&self, m: &MacroString) -> String {
        // (UTF-8, as nearly all are: the bytes become the string, not a copy)
        String::from_utf8(self.expand_macros(m))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// [`Self::expand_to_string`], shared: a text without macros is the rule's own.
    pub(crate) fn expand_to_text(&self, m: &MacroString) -> std::sync::Arc<str> {
        if m.literal_text().is_some() {
            return m.raw.clone();
        }
        self.expand_to_string(m).into()
    }

    /// `expand_to_string(m) == s`, without expanding a text that has no macro.
    pub(crate) fn expands_to(&self, m: &MacroString, s: &str) -> bool {
        match m.literal_text() {
            Some(text) => text == s,
            None => self.expand_to_string(m) == s,
        }
    }

    /// `RULE.id`, `RULE.msg`...: metadata of the rule being evaluated (a chain's starter).
    pub(crate) fn rule_value(&self, key: &str) -> Option<Vec<u8>> {
        let rule = self.current_rule()?;
        let k = key.to_ascii_lowercase();
        Some(match k.as_str() {
            "id" => rule.id.to_string().into_bytes(),
            "rev" => rule.actions.rev.as_bytes().to_vec(),
            "ver" => rule.actions.ver.as_bytes().to_vec(),
            "severity" => rule.severity()?.to_string().into_bytes(),
            "msg" => self.expand_macros(rule.msg()?),
            "logdata" => self.expand_macros(rule.logdata()?),
            _ => return None,
        })
    }

    fn macro_value(&self, v: V, key: Option<&str>) -> Option<Bytes> {
        if v == V::Rule {
            // (in a `setvar` only: see `Transaction::rule_macros`)
            if !self.rule_macros {
                return None;
            }
            return self.rule_value(key?).map(Bytes::from);
        }
        if let Some(element) = self.named_element(v, key) {
            return element.map(|e| e.value.clone());
        }
        match key {
            // (a collection's other key) `%{ARGS:/^name$/}`: the first element whose name
            // matches
            Some(k) if v.is_collection() => {
                let c: &Collection = self.collection(v)?;
                let re = crate::rule::SelectorRegex::new(&k[1..k.len() - 1]).ok()?;
                c.iter()
                    .find(|e| re.is_match(&e.name))
                    .map(|e| e.value.clone())
            }
            _ => self.scalar_value(v),
        }
    }
}

/// `%{ARGS:/^name$/}`'s key: the first element whose name matches the regex.
fn is_regex_key(k: &str) -> bool {
    k.len() > 2 && k.starts_with('/') && k.ends_with('/')
}

#[cfg(test)]
mod tests {
    use crate::transaction::test_log;

    /// `%{RULE.id}` is the rule's id in a `setvar` (its name and its value) and empty
    /// everywhere else (the message, the log data, a tag, an operator's argument: `@streq
    /// a%{rule.id}` matches `a`). Expected: libmodsecurity 3.0.15's lines, and 3.0.9's, for
    /// the same rules and request (`tests/oracle/txn.sh --lib wheel|debian`).
    #[test]
    fn rule_macros_expand_in_a_setvar_only() {
        let rules = "SecRuleEngine DetectionOnly\n\
            SecRule ARGS:q \"@streq a%{rule.id}\" \"id:4,phase:1,pass,log,msg:'m=%{RULE.id}',\
             logdata:'d=%{rule.id}',tag:'t%{rule.id}',setvar:tx.%{rule.id}-x=%{rule.id}\"\n\
            SecAction \"id:7,phase:1,pass,log,msg:'a=%{tx.4-x} b=%{tx.-x}'\"";
        let lines = test_log::lines(rules, test_log::get("/?q=a", &[]));
        let fields: Vec<[String; 3]> = lines
            .iter()
            .map(|l| ["msg", "data", "tag"].map(|f| test_log::field(l, f)))
            .collect();
        assert_eq!(
            fields,
            [["m=", "d=", "t"], ["a=4 b=", "", ""]].map(|l| l.map(String::from))
        );
    }

    /// An element named by its name is written from the collection (borrowed), in any case,
    /// nothing when it is missing; a `/regex/` key and a scalar as `macro_value` gives them.
    /// Expected: libmodsecurity 3.0.15's message for the same rules and request
    /// (`tests/oracle/txn.sh --lib wheel`).
    #[test]
    fn macros_expand_to_their_variables_values() {
        let rules = "SecRuleEngine DetectionOnly\n\
            SecAction \"id:1,phase:1,pass,nolog,setvar:tx.foo=bar\"\n\
            SecRule ARGS \"@rx .\" \"id:2,phase:1,pass,log,\
             msg:'%{tx.foo}|%{TX.FOO}|%{tx.missing}|%{ARGS:/^b/}|%{ARGS.a}|%{REQUEST_METHOD}'\"";
        let lines = test_log::lines(rules, test_log::get("/?a=1&bb=2", &[]));
        let msgs: Vec<String> = lines.iter().map(|l| test_log::field(l, "msg")).collect();
        assert_eq!(msgs, ["bar|bar||2|1|GET"]);
    }
}
