//! Resolving a rule's targets to (name, value) pairs, as libmodsecurity names them in logs
//! and in `MATCHED_VAR_NAME`: `ARGS:id`, `REQUEST_HEADERS:User-Agent`, `REQUEST_URI`.

use super::Transaction;
use crate::collection::{Bytes, Collection};
use crate::rule::{CompiledSelector, Rule, Target};
use seclang_parser::names::VariableName as V;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::UNIX_EPOCH;

/// One value of a target.
#[derive(Debug, Clone)]
pub(crate) struct Value {
    /// What the value is called (`ARGS:id`, `REQUEST_URI`...): see [`Value::key`].
    pub name: ValueName,
    /// The element name alone (`id`), for exclusions.
    pub element: Option<Bytes>,
    pub value: Bytes,
    /// Where the value came from in the request (the `v` parts of `[ref]`).
    pub origin: Origin,
}

/// A value's name, kept in parts: most values never match, and their name is only needed
/// (as text) for a match, an exclusion or `MATCHED_VAR_NAME`.
#[derive(Debug, Clone)]
pub(crate) enum ValueName {
    /// A scalar: `REQUEST_URI`.
    Scalar(V),
    /// A collection element: `ARGS:id` (the element is [`Value::element`]).
    Element(V),
    /// Anything else, spelt out (`&ARGS`, `XML:/a/b`).
    Text(Arc<str>),
}

impl Value {
    /// `ARGS:id`, `REQUEST_URI`..., as libmodsecurity names the value in logs and in
    /// `MATCHED_VAR_NAME`.
    pub fn key(&self) -> Cow<'_, str> {
        match &self.name {
            ValueName::Scalar(v) => Cow::Borrowed(v.as_str()),
            ValueName::Element(v) => Cow::Owned(
                String::from_utf8(self.element_key(*v))
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
            ValueName::Text(t) => Cow::Borrowed(t),
        }
    }

    /// `VARIABLE:element` as bytes (put together without formatting).
    fn element_key(&self, v: V) -> Vec<u8> {
        let element = self.element.as_deref().unwrap_or_default();
        let name = v.as_str().as_bytes();
        let mut key = Vec::with_capacity(name.len() + 1 + element.len());
        key.extend_from_slice(name);
        key.push(b':');
        key.extend_from_slice(element);
        key
    }

    /// [`Value::key`] as shared bytes (`MATCHED_VAR_NAME`): for an element named in UTF-8
    /// (nearly all), without the string.
    pub fn key_bytes(&self) -> Bytes {
        match &self.name {
            ValueName::Element(v) => {
                let element = self.element.as_deref().unwrap_or_default();
                if std::str::from_utf8(element).is_err() {
                    return String::from_utf8_lossy(&self.element_key(*v))
                        .as_bytes()
                        .into();
                }
                // (a short key is written on the stack and copied once into its shared
                // buffer: one allocation, not a vector's too)
                let name = v.as_str().as_bytes();
                let mut key = [0u8; 128];
                let len = name.len() + 1 + element.len();
                match key.get_mut(..len) {
                    Some(k) => {
                        k[..name.len()].copy_from_slice(name);
                        k[name.len()] = b':';
                        k[name.len() + 1..].copy_from_slice(element);
                        Bytes::from(&*k)
                    }
                    None => self.element_key(*v).into(),
                }
            }
            // (a count's name is the target's, copied; a scalar's a static one's)
            ValueName::Text(t) => Bytes::from(t.as_bytes()),
            ValueName::Scalar(v) => scalar_name(*v),
        }
    }

    /// [`Value::key_eq_ignore_case`] of `full_name`, an element's full name whose element
    /// part is `element` and whose variable is this value's: the element names compared.
    pub fn element_eq_ignore_case(&self, element: &[u8], full_name: &str) -> bool {
        let own = self.element.as_deref().unwrap_or_default();
        // (a name equal byte for byte is valid UTF-8 as `full_name` is, and so its own key;
        // U+FFFD in the key stands for bytes that are not UTF-8, told by the whole key)
        own.eq_ignore_ascii_case(element)
            || (!element.is_ascii() && self.key_eq_ignore_case(full_name))
    }

    /// Whether a `ctl:ruleRemoveTarget*` removal names this value: its whole name, byte for
    /// byte (`ARGS:a` names `ARGS:a`; not `ARGS:A`, and `args:a` names nothing), as
    /// libmodsecurity 3.0.15 and 3.0.9 compare them (a removal names a rule's target without
    /// regard to case: `Transaction::target_removed_at_run_time`). A variable's value is
    /// named `VARIABLE` or `VARIABLE:element`, so one of another variable is told by the
    /// variables alone (CRS's 941010 removes `REQUEST_FILENAME` from ~26 rules on most
    /// requests, and each value of theirs had its name compared with it).
    #[inline]
    pub(crate) fn is_named_by(&self, removed: &crate::rule::RemovedTarget) -> bool {
        match (&self.name, removed.variable) {
            (ValueName::Scalar(var) | ValueName::Element(var), Some(v)) if *var != v => false,
            (ValueName::Scalar(_) | ValueName::Element(_), None) => false,
            _ => self.key_is_exactly(&removed.name),
        }
    }

    /// (Apart from [`Value::is_named_by`]'s test of the variables, which every value of a rule
    /// a removal applies to passes through: inlined in the rules' loops, the whole comparison
    /// cost them more than it saved.)
    #[inline(never)]
    fn key_is_exactly(&self, other: &str) -> bool {
        self.key_is(other, |a, b| a == b)
    }

    /// `self.key().eq_ignore_ascii_case(other)`, without building the key when it can.
    pub fn key_eq_ignore_case(&self, other: &str) -> bool {
        self.key_is(other, <[u8]>::eq_ignore_ascii_case)
    }

    /// Whether `eq` holds between the parts of this value's key and those of `other`,
    /// without building the key when it can.
    fn key_is(&self, other: &str, eq: impl Fn(&[u8], &[u8]) -> bool) -> bool {
        match &self.name {
            ValueName::Scalar(v) => eq(v.as_str().as_bytes(), other.as_bytes()),
            ValueName::Text(t) => eq(t.as_bytes(), other.as_bytes()),
            ValueName::Element(v) => {
                // an element that is not UTF-8 is named with U+FFFD in its place: only then
                // can the byte comparison below be wrong
                if !other.is_ascii() && other.contains('\u{FFFD}') {
                    return eq(self.key().as_bytes(), other.as_bytes());
                }
                let element = self.element.as_deref().unwrap_or_default();
                let name = v.as_str();
                let o = other.as_bytes();
                o.len() == name.len() + 1 + element.len()
                    && eq(&o[..name.len()], name.as_bytes())
                    && o[name.len()] == b':'
                    && eq(&o[name.len() + 1..], element)
            }
        }
    }
}

/// Where a value sits in the request, as libmodsecurity's `VariableOrigin`s say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Not from the request (`TX`, `ENV`, counts, computed variables...).
    None,
    /// A collection element: `(offset, length)`.
    One(usize, usize),
    /// A scalar: the origins recorded each time it was set
    /// ([`Transaction::scalar_origins`]).
    Scalar(V),
}

impl Origin {
    fn of(origin: Option<(usize, usize)>) -> Origin {
        origin.map_or(Origin::None, |(o, l)| Origin::One(o, l))
    }
}

/// The collection whose elements are `v`'s values (its own, or the one a `*_NAMES` variable
/// lists the names of); `None` for a scalar.
fn counted_collection(v: V) -> Option<V> {
    match names_of(v) {
        Some(base) => Some(base),
        None if v.is_collection() => Some(v),
        None => None,
    }
}

/// The collection a `*_NAMES` variable lists the names of.
fn names_of(v: V) -> Option<V> {
    Some(match v {
        V::ArgsNames => V::Args,
        V::ArgsGetNames => V::ArgsGet,
        V::ArgsPostNames => V::ArgsPost,
        V::RequestHeadersNames => V::RequestHeaders,
        V::RequestCookiesNames => V::RequestCookies,
        V::ResponseHeadersNames => V::ResponseHeaders,
        V::MatchedVarsNames => V::MatchedVars,
        _ => return None,
    })
}

impl Transaction {
    /// (Inlined for the collections rules ask most, ~100 times a request; the others are
    /// the call.)
    #[inline]
    pub(crate) fn collection(&self, v: V) -> Option<&Collection> {
        match v {
            V::Tx => Some(&self.tx),
            V::RequestHeaders => Some(&self.request_headers),
            V::Args => Some(&self.args),
            V::RequestCookies => Some(&self.request_cookies),
            _ => self.any_collection(v),
        }
    }

    #[inline(never)]
    fn any_collection(&self, v: V) -> Option<&Collection> {
        Some(match v {
            V::Args => &self.args,
            V::ArgsGet => &self.args_get,
            V::ArgsPost => self
                .args_post
                .get_or_init(|| self.args.selected(&self.post_args)),
            V::RequestHeaders => &self.request_headers,
            V::RequestCookies => &self.request_cookies,
            V::ResponseHeaders => &self.response_headers,
            V::Files => &self.files,
            V::FilesNames => &self.files_names,
            V::FilesSizes => &self.files_sizes,
            V::FilesTmpNames => &self.files_tmp_names,
            V::FilesTmpContent => &self.files_tmp_content,
            V::MultipartPartHeaders => &self.multipart_part_headers,
            V::MultipartName => &self.multipart_names,
            V::MultipartFilename => &self.multipart_filenames,
            V::Env => self.env(),
            V::Geo => &self.geo,
            V::Rule => &self.rule_vars,
            V::Tx => &self.tx,
            V::MatchedVars => self.matched_vars(),
            V::Ip | V::Global | V::Session | V::User | V::Resource => {
                return self.persistent.get(persistent_name(v))
            }
            _ => return None,
        })
    }

    /// The value of a scalar variable, computing the ones that change with time.
    pub(crate) fn scalar_value(&self, v: V) -> Option<Bytes> {
        let now = || {
            std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
        };
        let civil = || crate::time::Civil::from_unix(now().as_secs() as i64);
        match v {
            V::MatchedVar => return self.matched_vars().last().map(|m| m.value.clone()),
            V::MatchedVarName => return self.matched_vars().last().map(|m| m.name.clone()),
            V::ArgsCombinedSize => {
                return self
                    .args_combined_size_set
                    .then(|| super::request::combined_size_text(self.args_combined_size))
            }
            _ => {}
        }
        Some(Bytes::from(match v {
            V::HighestSeverity => self.highest_severity.to_string().into_bytes(),
            V::Duration => format!("{}", self.started.elapsed().as_secs_f64()).into_bytes(),
            V::ModsecBuild => b"030015100".to_vec(),
            V::TimeEpoch => now().as_secs().to_string().into_bytes(),
            V::Time => {
                let c = civil();
                format!("{:02}:{:02}:{:02}", c.hour, c.min, c.sec).into_bytes()
            }
            V::TimeDay => civil().day.to_string().into_bytes(),
            V::TimeHour => civil().hour.to_string().into_bytes(),
            V::TimeMin => civil().min.to_string().into_bytes(),
            V::TimeMon => (civil().month - 1).to_string().into_bytes(),
            V::TimeSec => civil().sec.to_string().into_bytes(),
            V::TimeWday => civil().weekday.to_string().into_bytes(),
            V::TimeYear => civil().year.to_string().into_bytes(),
            V::WebAppId => self.rules.config.web_app_id.clone()?.into_bytes(),
            V::Status | V::StatusLine => self.scalar(V::ResponseStatus)?.to_vec(),
            V::FullRequest if self.full_request => self.full_request_text(),
            V::SessionId => self.persistent.key("session")?.clone(),
            V::UserId => self.persistent.key("user")?.clone(),
            _ => return self.stored_scalar(v),
        }))
    }

    /// Appends the values `target` has now. `rule` answers `RULE:*` and macro keys.
    pub(crate) fn resolve(&self, rule: &Rule, target: &Target, out: &mut Vec<Value>) {
        if target.count {
            // counted, not gathered: CRS's 901 rules count a dozen `&TX:...` a request
            let n = self.count_values(rule, target);
            out.push(Value {
                name: ValueName::Text(Arc::clone(&target.full_name)),
                element: None,
                value: number_text(i64::try_from(n).unwrap_or(i64::MAX)),
                origin: Origin::None,
            });
            return;
        }
        self.visit(rule, target, &mut |v| out.push(v));
    }

    /// How many values `target` (all of a variable) has at most, told without a look at them:
    /// a collection's elements, a scalar's one; 0 otherwise (a selector, `XML`, `RULE`...).
    pub(crate) fn values_hint(&self, target: &Target) -> usize {
        let v = target.variable;
        if target.selector.is_some() || target.count || matches!(v, V::Rule | V::Xml) {
            return 0;
        }
        match counted_collection(v) {
            Some(base) => self.collection(base).map_or(0, Collection::len),
            None => 1,
        }
    }

    /// How many values [`Transaction::visit`] gives, counted without making them (a value
    /// made and dropped was four atomic counts on its buffers).
    pub(crate) fn count_values(&self, rule: &Rule, target: &Target) -> usize {
        let v = target.variable;
        if matches!(v, V::Rule | V::Xml | V::RemoteUser) {
            // (made as `visit` makes them)
            let mut n = 0;
            self.visit(rule, target, &mut |_| n += 1);
            return n;
        }
        // (a scalar always has its one value)
        let Some(collection) = counted_collection(v) else {
            return 1;
        };
        let Some(c) = self.collection(collection) else {
            return 0;
        };
        match &target.selector {
            Some(CompiledSelector::Key(k, hash)) if collection == v => {
                c.named_by_hash(k, *hash).count()
            }
            _ => {
                let mut n = 0;
                self.each_selected(target, c, |_| n += 1);
                n
            }
        }
    }

    /// Calls `f` with each value `target` (counted or not) has now.
    ///
    /// (Generic over `f`: `resolve` pushes each value inline, ~90 a regression request, where
    /// a `dyn` callback was a call each.)
    pub(crate) fn visit(&self, rule: &Rule, target: &Target, f: &mut impl FnMut(Value)) {
        let v = target.variable;
        if v == V::Rule {
            return self.resolve_rule_collection(rule, target, f);
        }
        if v == V::Xml {
            // (told here: CRS's `XML:/*` is a target of ~40 rules a request, nearly all of
            // them without an XML body)
            if self.xml.is_some() {
                self.resolve_xml(target, f);
            }
            return;
        }
        if v == V::RemoteUser {
            return self.resolve_remote_user(f);
        }
        if let Some(base) = names_of(v) {
            if let Some(c) = self.collection(base) {
                self.each_selected(target, c, |e| {
                    // where the name sits: libmodsecurity keeps request and response header
                    // names apart (a header's name is 2 bytes before its value, `: `; a
                    // response header's at the same offset), and derives the others from
                    // the value's offset (`name=value`)
                    let n = e.name.len();
                    let origin = e.origin.map(|(o, _)| match base {
                        V::RequestHeaders => (o.saturating_sub(n + 2), n),
                        V::ResponseHeaders => (o, n),
                        _ => (o.saturating_sub(n + 1), n),
                    });
                    f(Value {
                        name: ValueName::Element(v),
                        element: Some(e.name.clone()),
                        value: e.name.clone(),
                        origin: Origin::of(origin),
                    });
                });
            }
            return;
        }
        if v.is_collection() {
            let Some(c) = self.collection(v) else { return };
            let mut push = |e: &crate::collection::Entry| {
                f(Value {
                    name: ValueName::Element(v),
                    element: Some(e.name.clone()),
                    value: e.value.clone(),
                    origin: Origin::of(e.origin),
                })
            };
            if let Some(CompiledSelector::Key(k, hash)) = &target.selector {
                // `TX:score`: found by the name's hash, not by a walk over the collection
                for e in c.named_by_hash(k, *hash) {
                    push(e);
                }
                return;
            }
            self.each_selected(target, c, push);
            return;
        }
        // libmodsecurity's scalar ("anchored") variables always give one value, empty when
        // never set: `!@endsWith .pdf` on an unset REQUEST_BASENAME matches.
        f(Value {
            name: ValueName::Scalar(v),
            element: None,
            value: self.scalar_value(v).unwrap_or_default(),
            origin: Origin::Scalar(v),
        });
    }

    /// `REMOTE_USER`, as libmodsecurity computes it when a rule asks: the user name of the
    /// first `Authorization: Basic` header (before the `:` of the decoded credentials), under
    /// the header's key and origin; no value at all without header, `Basic ` or `:`.
    fn resolve_remote_user(&self, f: &mut dyn FnMut(Value)) {
        let Some(header) = self
            .request_headers
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(b"authorization"))
        else {
            return;
        };
        let mut decoded = Vec::new();
        if let Some(b64) = header.value.strip_prefix(b"Basic ") {
            // mbedTLS's strict decoder; what it rejects decodes to nothing
            if !crate::transformations::base64_decode(b64, &mut decoded) {
                decoded.clear();
            }
        }
        let Some(colon) = memchr::memchr(b':', &decoded) else {
            return;
        };
        f(Value {
            name: ValueName::Element(V::RequestHeaders),
            element: Some(header.name.clone()),
            value: decoded[..colon].into(),
            origin: Origin::of(header.origin),
        });
    }

    /// Whether a collection element named `name` is selected by `target`'s selector.
    ///
    /// (Inlined: ~120 elements a request are asked.)
    #[inline]
    pub(crate) fn selected(&self, target: &Target, name: &[u8]) -> bool {
        match &target.selector {
            None => true,
            Some(CompiledSelector::Key(k, _)) => name.eq_ignore_ascii_case(k),
            Some(CompiledSelector::Regex(re, _)) => re.is_match(name),
        }
    }

    /// Calls `f` with each element of `c` that `target`'s selector picks: by a pattern, only
    /// among the names that have the marks of what every name it picks holds
    /// ([`Collection::iter_marked`]).
    #[inline]
    fn each_selected<'c>(
        &self,
        target: &Target,
        c: &'c Collection,
        mut f: impl FnMut(&'c crate::collection::Entry),
    ) {
        let marks = match &target.selector {
            Some(CompiledSelector::Regex(re, _)) => re.marks(),
            _ => 0,
        };
        for e in c.iter_marked(marks) {
            if self.selected(target, &e.name) {
                f(e);
            }
        }
    }

    fn resolve_rule_collection(&self, _rule: &Rule, target: &Target, f: &mut dyn FnMut(Value)) {
        let mut c = Collection::new();
        for k in ["id", "rev", "severity", "logdata", "msg"] {
            if let Some(v) = self.rule_value(k) {
                c.add(k.as_bytes(), &v);
            }
        }
        for e in &c {
            if self.selected(target, &e.name) {
                f(Value {
                    name: ValueName::Element(V::Rule),
                    element: Some(e.name.clone()),
                    value: e.value.clone(),
                    origin: Origin::None,
                });
            }
        }
    }

    fn resolve_xml(&self, target: &Target, f: &mut dyn FnMut(Value)) {
        let Some(doc) = &self.xml else { return };
        let key = match &target.selector {
            Some(CompiledSelector::Key(k, ..)) => k,
            _ => return,
        };
        let found = self
            .xml_selections
            .borrow()
            .iter()
            .find(|s| s.xpath[..] == key[..])
            .map(|s| (Arc::clone(&s.name), Arc::clone(&s.values)));
        let (name, values) = found.unwrap_or_else(|| {
            let xpath = String::from_utf8_lossy(key);
            let selection = XmlSelection {
                xpath: key.clone().into_boxed_slice(),
                name: format!("XML:{xpath}").into(),
                values: crate::body::xml::select(doc, &xpath)
                    .into_iter()
                    .map(Bytes::from)
                    .collect(),
            };
            let found = (Arc::clone(&selection.name), Arc::clone(&selection.values));
            self.xml_selections.borrow_mut().push(selection);
            found
        });
        for value in values.iter() {
            f(Value {
                name: ValueName::Text(Arc::clone(&name)),
                element: None,
                value: value.clone(),
                origin: Origin::None,
            });
        }
    }
}

/// What an XPath selects in the transaction's XML document, with the name its values go by.
#[derive(Debug)]
pub(crate) struct XmlSelection {
    xpath: Box<[u8]>,
    name: Arc<str>,
    values: Arc<[Bytes]>,
}

/// A scalar variable's name as shared bytes (`MATCHED_VAR_NAME` of `REQUEST_URI`...), made
/// once per process.
fn scalar_name(v: V) -> Bytes {
    static NAMES: OnceLock<Vec<Bytes>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut names = vec![Bytes::default(); V::ALL.len()];
        for &n in V::ALL {
            if let Some(slot) = names.get_mut(n as usize) {
                *slot = n.as_str().as_bytes().into();
            }
        }
        names
    });
    names
        .get(v as usize)
        .filter(|n| !n.is_empty())
        .cloned()
        .unwrap_or_else(|| v.as_str().as_bytes().into())
}

/// A number as a value (a count, a `setvar` sum): the small numbers CRS counts and adds up
/// (`&TX:x` is 0 or 1, an anomaly score a few points) are shared buffers, not written and
/// allocated each time.
pub(crate) fn number_text(n: i64) -> Bytes {
    static SMALL: OnceLock<Vec<Bytes>> = OnceLock::new();
    let small = SMALL.get_or_init(|| (0..64).map(|i| i.to_string().as_bytes().into()).collect());
    match usize::try_from(n).ok().and_then(|i| small.get(i)) {
        Some(b) => b.clone(),
        None => n.to_string().as_bytes().into(),
    }
}

/// The store name of a persistent collection.
pub(crate) fn persistent_name(v: V) -> &'static str {
    match v {
        V::Ip => "ip",
        V::Global => "global",
        V::Session => "session",
        V::User => "user",
        _ => "resource",
    }
}

#[cfg(test)]
mod tests {
    use crate::transaction::test_log;

    /// The `msg` of each line the rules log for `GET <uri>` with these headers.
    fn messages(rules: &str, uri: &str, headers: &[(&str, &str)]) -> Vec<String> {
        let rules = format!("SecRuleEngine DetectionOnly\n{rules}");
        let lines = test_log::lines(&rules, test_log::get(uri, headers));
        lines.iter().map(|l| test_log::field(l, "msg")).collect()
    }

    /// A count is the number of values the variable gives, counted without making them:
    /// collections whole, by a name, by a regex, their names, `TX`, scalars, a variable
    /// without values.
    #[test]
    fn counts_are_the_number_of_values() {
        let targets = "ARGS|ARGS:a|ARGS:A|ARGS:/^b/|ARGS_NAMES|ARGS_NAMES:a|ARGS_GET_NAMES:/./|\
                       REQUEST_HEADERS|REQUEST_HEADERS:X-A|REQUEST_HEADERS:/^x-/|\
                       REQUEST_HEADERS_NAMES|REQUEST_COOKIES|TX|TX:t|TX:/^T/|TX:none|\
                       REQUEST_METHOD|REQUEST_BODY|FILES|MATCHED_VARS|XML:/*|RULE:id|REMOTE_USER";
        let rules = std::sync::Arc::new(
            crate::RuleSet::from_text(
                "t.conf",
                &format!(
                    "SecRuleEngine DetectionOnly\n\
                     SecAction \"id:1,phase:1,pass,nolog,setvar:tx.t=1,setvar:tx.t2=2\"\n\
                     SecRule {targets} \"@rx ^$\" \"id:2,phase:5,pass,nolog\""
                ),
                None,
            )
            .unwrap(),
        );
        let mut tx = super::Transaction::new(std::sync::Arc::clone(&rules));
        tx.process_uri(b"/?a=1&A=2&b1=3&c=4", b"GET", b"1.1");
        for (k, v) in [
            ("X-A", "1"),
            ("x-b", "2"),
            ("Cookie", "k=v; l=w"),
            ("Host", "h"),
        ] {
            tx.add_request_header(k.as_bytes(), v.as_bytes());
        }
        tx.process_request_headers();
        let crate::ruleset::Entry::Rule(rule) = &rules.phases[5][0] else {
            unreachable!()
        };
        let counts: Vec<usize> = rule
            .targets
            .iter()
            .map(|target| {
                let mut made = 0;
                tx.visit(rule, target, &mut |_| made += 1);
                assert_eq!(tx.count_values(rule, target), made, "&{}", target.full_name);
                made
            })
            .collect();
        assert_eq!(counts.len(), 23);
        // ARGS, ARGS:a (either case), TX:/^T/ (t and t2), REQUEST_METHOD
        assert_eq!([counts[0], counts[1], counts[14], counts[16]], [4, 2, 2, 1]);
    }

    /// An XPath's values are selected once per document, whatever the number of rules that
    /// name it; every rule sees them (with their names).
    #[test]
    fn xml_selections_are_made_once_per_document() {
        let rules = std::sync::Arc::new(
            crate::RuleSet::from_text(
                "t.conf",
                "SecRuleEngine DetectionOnly\n\
                 SecRequestBodyAccess On\n\
                 SecRule REQUEST_HEADERS:Content-Type \"xml\" \"id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=XML\"\n\
                 SecRule XML:/* \"@rx bar\" \"id:2,phase:2,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
                 SecRule XML:/* \"@rx BAZ\" \"id:3,phase:2,pass,log,t:uppercase,msg:'%{MATCHED_VAR}'\"\n\
                 SecRule XML://@* \"@rx ^q$\" \"id:4,phase:2,pass,log,msg:'%{MATCHED_VAR}'\"",
                None,
            )
            .unwrap(),
        );
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&log);
        let mut tx = super::Transaction::new(rules);
        tx.on_log(move |l| sink.lock().unwrap().push(test_log::field(l, "msg")));
        tx.process_uri(b"/", b"POST", b"1.1");
        tx.add_request_header(b"Content-Type", b"text/xml");
        tx.process_request_headers();
        tx.append_request_body(b"<a x=\"q\"><b>bar</b><c>baz</c></a>");
        tx.process_request_body();
        assert_eq!(
            *log.lock().unwrap(),
            ["XML:/*", "BARBAZ", "q"],
            "the rules' matches"
        );
        let made: Vec<String> = tx
            .xml_selections
            .borrow()
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(made, ["XML:/*", "XML://@*"]);
    }

    #[test]
    fn scalar_names_are_the_variables_names() {
        for &v in super::V::ALL {
            assert_eq!(&super::scalar_name(v)[..], v.as_str().as_bytes(), "{v:?}");
        }
    }

    #[test]
    fn counts_are_the_number_of_values_the_target_has() {
        let rules = "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1,setvar:tx.ab=2\"\n\
            SecRule &ARGS \"@ge 0\" \"id:2,phase:2,pass,log,msg:'args %{MATCHED_VAR}'\"\n\
            SecRule &ARGS:/^x/ \"@ge 0\" \"id:3,phase:2,pass,log,msg:'x %{MATCHED_VAR}'\"\n\
            SecRule &TX:a \"@ge 0\" \"id:4,phase:2,pass,log,msg:'tx.a %{MATCHED_VAR}'\"\n\
            SecRule &TX:/^a/ \"@ge 0\" \"id:5,phase:2,pass,log,msg:'tx./a/ %{MATCHED_VAR}'\"\n\
            SecRule &TX:missing \"@ge 0\" \"id:6,phase:2,pass,log,msg:'missing %{MATCHED_VAR}'\"\n\
            SecRule &REQUEST_HEADERS_NAMES \"@ge 0\" \"id:7,phase:2,pass,log,msg:'names %{MATCHED_VAR_NAME}=%{MATCHED_VAR}'\"\n\
            SecRule &REQUEST_URI \"@ge 0\" \"id:8,phase:2,pass,log,msg:'uri %{MATCHED_VAR}'\"";
        let many: String = (0..40).map(|i| format!("x{i}=1&")).collect();
        for (query, args, x) in [("", 0, 0), ("y=1", 1, 0), ("x=1&x=2&y", 3, 2)] {
            let got = messages(rules, &format!("/?{query}"), &[("Host", "h"), ("A", "b")]);
            assert_eq!(
                got,
                [
                    format!("args {args}"),
                    format!("x {x}"),
                    "tx.a 1".to_string(),
                    "tx./a/ 2".to_string(),
                    "missing 0".to_string(),
                    "names REQUEST_HEADERS_NAMES=2".to_string(),
                    "uri 1".to_string(),
                ],
                "{query}"
            );
        }
        let got = messages(rules, &format!("/?{many}"), &[("Host", "h")]);
        assert_eq!(got[..2], ["args 40", "x 40"]);
    }
}
