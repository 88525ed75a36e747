//! What a matched rule does: `setvar` (per match), then after the whole chain matched: tags,
//! `logdata`, `msg`, the non-disruptive actions in order (`status`, `skip`, `skipAfter`, `ctl`,
//! `initcol`...), the disruptive action (`deny`, `drop`, `redirect`, `allow`; `block` takes the
//! default one), and the log line — libmodsecurity's `executeActionsAfterFullMatch` order.

use super::variables::number_text;
use super::{AllowState, BodyProcessor, Transaction};
use crate::collection::{Bytes, Collection};
use crate::message::{shared_text, RuleMessage};
use crate::persistent::Change;
use crate::rule::{AllowKind, Disruptive, MatchAction, Rule, RuleSetVar};
use seclang_parser::names::{CtlName, VariableName as V};
use seclang_parser::{IdRange, SetVarOperation};
use std::sync::Arc;

/// A leading integer, as C++'s `stoi` reads it (0 when there is none): after the C locale's
/// white space (`isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`), a sign, then digits.
fn stoi(b: &[u8]) -> i64 {
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t'..=b'\r'))
        .unwrap_or(b.len());
    let t = &b[start..];
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n: i64 = digits
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |a, d| {
            a.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

/// `942100 942101-942110,942200`
pub(crate) fn id_ranges(text: &str) -> Vec<IdRange> {
    text.split([' ', ',', '\t'])
        .filter(|p| !p.is_empty())
        .filter_map(|p| match p.split_once('-') {
            Some((a, b)) => Some(IdRange {
                start: a.trim().parse().ok()?,
                end: b.trim().parse().ok()?,
            }),
            None => p.trim().parse().ok().map(IdRange::single),
        })
        .collect()
}

impl Transaction {
    /// The `setvar`s of a rule (defaults first): run once per matching value.
    pub(crate) fn run_setvars(&mut self, rule: &Rule) {
        for s in rule
            .defaults
            .setvars
            .iter()
            .chain(rule.actions.setvars.iter())
        {
            self.setvar(s);
        }
    }

    /// `initcol`/`setsid`/`setuid`/`setrsc`: the collection's variables for `key`, from the
    /// rule set's store.
    /// (A name other than the five is opened nowhere: no variable reads it, no `setvar`
    /// writes it.)
    fn open_collection(&mut self, collection: &str, key: Vec<u8>) {
        let Some(name) = crate::persistent::known_name(collection) else {
            return;
        };
        let loaded = self.rules.store.load(name, &key);
        self.persistent.open(name, loaded, key);
    }

    /// Writes a change of a persistent collection through to the store (under the key it was
    /// opened with; an unopened collection lives under the empty key, as in libmodsecurity).
    fn persist(&self, collection: &str, change: Change) {
        let key = self.persistent.key(collection).cloned().unwrap_or_default();
        self.rules.store.apply(collection, &key, change);
    }

    fn setvar(&mut self, rs: &RuleSetVar) {
        self.rule_macros = true;
        self.setvar_expanded(rs);
        self.rule_macros = false;
    }

    /// [`Transaction::setvar`], its `RULE.*` macros expanded.
    fn setvar_expanded(&mut self, rs: &RuleSetVar) {
        // CRS runs a few dozen `setvar`s a request, mostly on `tx` with a literal name and
        // value: both are the rule's shared buffers, and nothing is copied or allocated
        match &rs.key {
            Some((k, _)) => self.setvar_named(rs, k),
            None => {
                // a name with macros (920450's `tx.header_name_920450_%{tx.0}`) is written in
                // the transaction's buffer
                let mut name = std::mem::take(&mut self.scratch.name);
                name.clear();
                self.expand_into(&rs.var.key, &mut name);
                self.setvar_named(rs, &name);
                self.scratch.name = name;
            }
        }
    }

    /// [`Transaction::setvar`] of the variable named `key`.
    fn setvar_named(&mut self, rs: &RuleSetVar, key: &[u8]) {
        let s = &rs.var;
        let is_tx = s.collection.eq_ignore_ascii_case("tx");
        let value = match s.operation {
            SetVarOperation::Set | SetVarOperation::Add | SetVarOperation::Subtract => {
                match (&rs.value, &rs.value_of_tx) {
                    (Some(v), _) => v.clone(),
                    // (`%{tx.name}` alone, as the macro gives it: its first value or nothing)
                    (None, Some((k, hash))) => self.tx_value(k, *hash),
                    (None, None) => self.expand_shared(&s.value),
                }
            }
            SetVarOperation::Create | SetVarOperation::Delete => Bytes::default(),
        };
        let Some(collection) = self.setvar_collection(&s.collection, is_tx) else {
            return;
        };
        let add = |pre: Option<&[u8]>, by: &[u8]| {
            let (pre, by) = (pre.map_or(0, stoi), stoi(by));
            number_text(match s.operation == SetVarOperation::Add {
                true => pre.saturating_add(by),
                false => pre.saturating_sub(by),
            })
        };
        if let (true, Some((k, hash)), SetVarOperation::Add | SetVarOperation::Subtract) =
            (is_tx, &rs.key, s.operation)
        {
            // `TX`'s element read and written where it is found once (CRS adds to its scores
            // a dozen times a request)
            collection.update_shared(k, *hash, |pre| add(pre, &value));
            return;
        }
        let new_value = match s.operation {
            SetVarOperation::Set => Some(value),
            SetVarOperation::Create => Some(number_text(1)),
            SetVarOperation::Delete => None,
            SetVarOperation::Add | SetVarOperation::Subtract => {
                let pre = match &rs.key {
                    Some((k, hash)) => collection.named_by_hash(k, *hash).next(),
                    None => collection.named(key).next(),
                };
                Some(add(pre.map(|e| &e.value[..]), &value))
            }
        };
        let set = |c: &mut Collection, v: Bytes| match &rs.key {
            Some((k, hash)) => c.set_shared(k, *hash, v),
            None => c.set(key, v),
        };
        if is_tx {
            match new_value {
                Some(v) => set(collection, v),
                None => collection.remove(key),
            }
            return;
        }
        match &new_value {
            Some(v) => set(collection, v.clone()),
            None => collection.remove(key),
        }
        let key = key.to_vec();
        let change = match new_value {
            Some(v) => Change::Set(key, v.to_vec()),
            None => Change::Remove(key),
        };
        self.persist(&s.collection.to_ascii_lowercase(), change);
    }

    /// The collection a `setvar` writes: `tx`, or a persistent one (opened empty when no
    /// `initcol` opened it); `None` for any other name.
    fn setvar_collection(&mut self, name: &str, is_tx: bool) -> Option<&mut Collection> {
        if is_tx {
            return Some(&mut self.tx);
        }
        let col = crate::persistent::known_name(&name.to_ascii_lowercase())?;
        Some(self.persistent.get_or_default(col))
    }

    /// After the rule (and its chain) matched: everything but `setvar`, then the log line.
    pub(crate) fn after_full_match(&mut self, rule: &Rule, message: &mut RuleMessage) {
        let defaults = &rule.defaults;
        // CRS's bookkeeping rules (`pass,nolog`) match on every request: no text for them
        let needed = self.message_needed();
        if needed {
            message
                .tags
                .extend(rule.all_tags().map(|t| self.expand_to_text(t)));
            if let Some(m) = rule.logdata() {
                message.data = self.expand_to_text(m);
            }
            if let Some(m) = rule.msg() {
                message.msg = self.expand_to_text(m);
            }
        }
        if let Some(s) = rule.severity() {
            message.severity = Some(s);
            if s < self.highest_severity {
                self.highest_severity = s;
            }
        }
        for a in defaults
            .match_actions
            .iter()
            .chain(rule.actions.match_actions.iter())
        {
            self.match_action(a);
        }
        if rule.chained_child {
            return;
        }
        // the disruptive action: the rule's own, or the default one through `block`
        let disruptive = match &rule.actions.disruptive {
            Some(d) => Some(d.clone()),
            None if rule.has_block() => defaults.disruptive.clone(),
            None => None,
        };
        Self::fill_rule_fields(rule, message, needed);
        if needed {
            self.fill_request_texts(message);
        }
        self.write_multi_match_lines(rule);
        let engine_on = self.engine_on();
        let mut acted = false;
        if let Some(d) = disruptive {
            if engine_on {
                acted = self.disrupt(&d, message);
            }
        }
        message.disruptive = acted;
        // the audit log saves by libmodsecurity v3's reading (last of log/nolog/auditlog/
        // noauditlog), whatever the error log's reading is
        // (a multiMatch rule has saved each of its matches already, and libmodsecurity does
        // not save its chain's final message, even when it interrupts)
        let saved = rule.is_logged_as(true) && !rule.multi_match();
        self.audit
            .record_match(&self.rules.config, saved, acted, message);
        // An interrupting rule speaks through the intervention's log only; any other logged
        // match goes to the log callback.
        if acted || rule.multi_match() || !rule.is_logged_as(self.rules.noauditlog_hides_rule) {
            if acted {
                // (the message is done with: kept, not copied)
                self.messages.push(std::mem::take(message));
            }
            return;
        }
        let line = message.log_line(engine_on, None, false);
        self.messages.push(std::mem::take(message));
        self.emit_log(&line);
    }

    /// A match of a `multiMatch` rule (a chain's starter or one of its links), given its own
    /// log line as libmodsecurity 3.0.15 gives it: whatever the rule's `log`/`nolog`; `msg`,
    /// `logdata`, tags and severity are the matching link's own, expanded now
    /// (`%{MATCHED_VAR}` is this match's); `[ref]` is what the chain gathered since the
    /// previous such line. The message is then emptied for what follows. The line is written
    /// when the whole chain matches ([`Self::write_multi_match_lines`]): v3 writes it at once,
    /// so a chain that then fails leaves it (CRS 942131), which CRS's own tests call a bug;
    /// Sekisho follows CRS there (README, "Deliberate differences"). Expected output:
    /// `tests/oracle/FINDINGS.md`, "multiMatch in chains".
    pub(crate) fn log_multi_match(&mut self, link: &Rule, message: &mut RuleMessage) {
        message.msg = link
            .msg()
            .map(|m| self.expand_to_text(m))
            .unwrap_or_default();
        message.data = link
            .logdata()
            .map(|m| self.expand_to_text(m))
            .unwrap_or_default();
        if let Some(s) = link.severity() {
            message.severity = Some(s);
        }
        message.tags = link.all_tags().map(|t| self.expand_to_text(t)).collect();
        let starter = self.current_rule().unwrap_or(link);
        Self::fill_rule_fields(starter, message, true);
        self.fill_request_texts(message);
        message.disruptive = false;
        self.multi_match_lines.push(message.clone());
        message.matched.clear();
        message.reference.clear();
        message.msg = Default::default();
        message.data = Default::default();
        message.tags.clear();
    }

    /// The chain matched in full: the lines of its `multiMatch` matches, in order.
    fn write_multi_match_lines(&mut self, starter: &Rule) {
        if self.multi_match_lines.is_empty() {
            return;
        }
        let saved = starter.is_logged_as(true);
        let engine_on = self.engine_on();
        for message in std::mem::take(&mut self.multi_match_lines) {
            self.audit
                .record_match(&self.rules.config, saved, false, &message);
            let line = message.log_line(engine_on, None, false);
            self.emit_log(&line);
            self.messages.push(message);
        }
    }

    /// The chain starter's part of a log line: id, phase, file and line, rev/ver
    /// (`needed`: the text fields are worth filling).
    fn fill_rule_fields(rule: &Rule, message: &mut RuleMessage, needed: bool) {
        message.rule_id = rule.id;
        message.phase = rule.phase;
        message.line = rule.line;
        message.maturity = rule.actions.maturity.unwrap_or(0);
        message.accuracy = rule.actions.accuracy.unwrap_or(0);
        if needed {
            message.file = rule.file.clone();
            message.rev = rule.actions.rev.clone();
            message.ver = rule.actions.ver.clone();
        }
    }

    /// The request's part of a log line: its host, URI, id and client.
    fn fill_request_texts(&mut self, message: &mut RuleMessage) {
        let host = self.hostname.as_deref().unwrap_or(&self.server_ip);
        let texts = &mut self.request_texts;
        message.server_ip = shared_text(&mut texts.server_ip, host.as_bytes());
        message.uri = shared_text(&mut texts.uri, &self.path_decoded);
        message.unique_id = shared_text(&mut texts.unique_id, self.id.as_bytes());
        message.client_ip = shared_text(&mut texts.client_ip, self.client_ip.as_bytes());
    }

    /// Whether the rule being evaluated (its chain's starter) can write a log line, so that
    /// its message text is worth building: it is logged, or its disruptive action (its own,
    /// or the default one through `block`) interrupts. A `pass,nolog` rule (CRS's paranoia
    /// level skips, its score bookkeeping) matches on every request and writes nothing.
    pub(crate) fn message_needed(&self) -> bool {
        let Some(r) = self.current_rule() else {
            return true;
        };
        if r.is_logged_as(self.rules.noauditlog_hides_rule) {
            return true;
        }
        // the audit log keeps the messages libmodsecurity v3 saves
        if self.rules.config.audit_log.is_some() && r.is_logged_as(true) {
            return true;
        }
        let disruptive = match &r.actions.disruptive {
            Some(d) => Some(d),
            None if r.has_block() => r.defaults.disruptive.as_ref(),
            None => None,
        };
        matches!(disruptive, Some(d) if !matches!(d, Disruptive::Pass | Disruptive::Allow(_)))
    }

    /// Runs a disruptive action (the engine is On). Returns whether it interrupts.
    fn disrupt(&mut self, d: &Disruptive, message: &mut RuleMessage) -> bool {
        match d {
            Disruptive::Pass => return false,
            Disruptive::Allow(kind) => {
                self.allow = match kind {
                    AllowKind::Transaction => AllowState::Transaction,
                    AllowKind::Request => AllowState::Request,
                    AllowKind::Phase => AllowState::Phase,
                };
                return false;
            }
            Disruptive::Deny | Disruptive::Drop => {
                if self.intervention.status == 200 {
                    self.intervention.status = 403;
                }
            }
            Disruptive::Redirect(m) => {
                let s = self.intervention.status;
                if s == 200 || !(301..=307).contains(&s) {
                    self.intervention.status = 302;
                }
                self.intervention.url = Some(self.expand_to_string(m));
            }
        }
        self.intervention.disruptive = true;
        // (the line of the message as disruptive, without a copy of it)
        let was = std::mem::replace(&mut message.disruptive, true);
        self.intervention.log = Some(message.log_line(true, None, true));
        message.disruptive = was;
        true
    }

    fn match_action(&mut self, a: &MatchAction) {
        match a {
            MatchAction::Status(s) => self.intervention.status = *s,
            MatchAction::Skip(n) => self.skip_next = *n,
            MatchAction::SkipAfter(m) => self.marker = Some(m.clone()),
            MatchAction::Ctl(c) => self.ctl(c),
            MatchAction::InitCol { collection, key } => {
                let k = self.expand_macros(key);
                self.open_collection(collection, k);
            }
            MatchAction::SetSid(m) => {
                let k = self.expand_macros(m);
                self.open_collection("session", k);
            }
            MatchAction::SetUid(m) => {
                let k = self.expand_macros(m);
                self.open_collection("user", k);
            }
            MatchAction::SetRsc(m) => {
                let k = self.expand_macros(m);
                self.open_collection("resource", k);
            }
            MatchAction::SetEnv(m) => {
                let text = self.expand_macros(m);
                let (k, v) = match text.iter().position(|&c| c == b'=') {
                    Some(p) => (text[..p].to_vec(), text[p + 1..].to_vec()),
                    None => (text.clone(), Vec::new()),
                };
                self.env
                    .get_or_insert_with(|| super::process_env().clone())
                    .set(&k, v);
            }
            MatchAction::ExpireVar(m) => {
                // `expirevar:ip.name=60`
                let text = self.expand_to_string(m);
                let (target, secs) = text.split_once('=').unwrap_or((text.as_str(), "0"));
                if let Some((col, name)) = target.split_once('.') {
                    let col = col.trim().to_ascii_lowercase();
                    let secs = secs.trim().parse().unwrap_or(0);
                    self.persist(&col, Change::Expire(name.trim().as_bytes().to_vec(), secs));
                }
            }
            // `auditlog`/`noauditlog` act through the rule's log flag (`after_full_match`)
            MatchAction::AuditLog(_) | MatchAction::Ignored(_) => {}
        }
    }

    fn ctl(&mut self, rule_ctl: &crate::rule::RuleCtl) {
        let c = &rule_ctl.ctl;
        let value = c.value.trim();
        match c.name {
            CtlName::RuleEngine => {
                self.rule_engine = Some(crate::config::RuleEngine::from_value(value))
            }
            CtlName::RequestBodyAccess => {
                self.request_body_access = Some(value.eq_ignore_ascii_case("on"))
            }
            CtlName::RequestBodyProcessor => {
                // (the three libmodsecurity v3 loads: the parser admits no other)
                let (p, name): (BodyProcessor, &[u8]) = if value.eq_ignore_ascii_case("xml") {
                    (BodyProcessor::Xml, b"XML")
                } else if value.eq_ignore_ascii_case("json") {
                    (BodyProcessor::Json, b"JSON")
                } else {
                    (BodyProcessor::UrlEncoded, b"URLENCODED")
                };
                self.body_processor = Some(p);
                self.set_scalar(V::ReqbodyProcessor, name);
            }
            CtlName::ForceRequestBodyVariable => {
                self.force_request_body_variable = value.eq_ignore_ascii_case("on")
            }
            CtlName::RuleRemoveById => self.removed_ids.extend(&rule_ctl.ids),
            CtlName::RuleRemoveByTag => {
                self.removed_tags.extend(rule_ctl.tag.iter().cloned());
            }
            CtlName::RuleRemoveTargetById => {
                for &r in &rule_ctl.ids {
                    for t in &rule_ctl.targets {
                        self.removed_targets_by_id.push((r, t.clone()));
                    }
                }
            }
            CtlName::RuleRemoveTargetByTag => {
                if let Some((tag, bit)) = &rule_ctl.tag {
                    for t in &rule_ctl.targets {
                        self.removed_targets_by_tag
                            .push((Arc::clone(tag), t.clone(), *bit));
                        self.removed_targets_tag_bits |= *bit;
                    }
                }
            }
            CtlName::AuditEngine => self.audit.ctl_engine(value),
            CtlName::AuditLogParts => self.audit.ctl_parts(&self.rules.config, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_log;

    /// The `msg` the last rule logs after `setvars` ran in phase 1 (as one `SecAction`'s
    /// actions, in order), for `GET /?a=5`.
    fn after_setvars(setvars: &str, msg: &str) -> String {
        let rules = format!(
            "SecRuleEngine DetectionOnly\n\
             SecAction \"id:1,phase:1,pass,nolog,{setvars}\"\n\
             SecAction \"id:2,phase:1,pass,log,msg:'{msg}'\""
        );
        let lines = test_log::lines(&rules, test_log::get("/?a=5", &[]));
        lines
            .last()
            .map_or(String::new(), |l| test_log::field(l, "msg"))
    }

    #[test]
    fn setvar_operations() {
        let cases = [
            ("setvar:tx.a", "[%{tx.a}]", "[1]"),
            ("setvar:tx.a=1,setvar:!tx.a", "[%{tx.a}]", "[]"),
            ("setvar:tx.a=0", "%{tx.a}", "0"),
            ("setvar:tx.a=x,setvar:tx.A=y", "%{tx.a}", "y"),
            ("setvar:tx.a=+5", "%{tx.a}", "5"),
            ("setvar:tx.a=2,setvar:tx.a=+5", "%{tx.a}", "7"),
            ("setvar:tx.a=60,setvar:tx.a=+5", "%{tx.a}", "65"),
            ("setvar:tx.a=3,setvar:tx.a=-5", "%{tx.a}", "-2"),
            (
                "setvar:tx.a=%{ARGS.a},setvar:tx.a=+%{tx.a}",
                "%{tx.a}",
                "10",
            ),
            ("setvar:tx.b=4,setvar:tx.a=x%{tx.b}y", "%{tx.a}", "x4y"),
            ("setvar:tx.b=k,setvar:tx.a_%{tx.b}=1", "%{tx.a_k}", "1"),
            ("setvar:tx.a=1,setvar:tx.a=+%{tx.missing}", "%{tx.a}", "1"),
            (
                "setvar:tx.b=3,setvar:tx.a=10,setvar:tx.a=-%{TX.B}",
                "%{tx.a}",
                "7",
            ),
            ("setvar:tx.b=3,setvar:tx.a=%{tx.b}", "%{tx.a}", "3"),
            ("setvar:ip.a=2,setvar:ip.a=+3", "%{ip.a}", "5"),
        ];
        for (setvars, msg, want) in cases {
            assert_eq!(after_setvars(setvars, msg), want, "{setvars}");
        }
    }

    #[test]
    fn stoi_reads_a_leading_integer() {
        assert_eq!(stoi(b" 12abc"), 12);
        assert_eq!(stoi(b"-3"), -3);
        assert_eq!(stoi(b"x"), 0);
        // the C locale's white space only (strtol's isspace), not Unicode's
        assert_eq!(stoi(b"\t\x0b\x0c\r\n +7"), 7);
        assert_eq!(stoi("\u{a0}5".as_bytes()), 0);
        assert_eq!(stoi(b"\xff9"), 0);
        assert_eq!(stoi(b""), 0);
    }

    #[test]
    fn ctl_lists() {
        assert_eq!(
            id_ranges("1 2-4,7"),
            vec![
                IdRange::single(1),
                IdRange { start: 2, end: 4 },
                IdRange::single(7)
            ]
        );
    }
}
