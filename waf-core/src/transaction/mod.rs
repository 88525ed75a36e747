//! A transaction: one request and its response, run through the phases of a [`RuleSet`].
//!
//! The call order is libmodsecurity's (and the connectors'): `process_connection` (phase 0
//! rules), `process_uri`, `add_request_header`…, `process_request_headers` (phase 1),
//! `append_request_body`…, `process_request_body` (phase 2), `add_response_header`…,
//! `process_response_headers` (phase 3), `append_response_body`…, `process_response_body`
//! (phase 4), `process_logging` (phase 5). After each step, [`Transaction::intervention`] says
//! whether the server must act (deny, drop, redirect).
//!
//! Submodules: `request` (what each step records), `variables` (resolving targets),
//! `evaluate` (rules and chains), `actions` (what matched rules do), `macros` (`%{...}`),
//! `transform_cache` (each value transformed once per chain, the grouped matcher's results),
//! `candidates` (grouped rules skipped by whole variables), `memo` (rules on one repeated
//! value answered by their last "no").

mod actions;
pub(crate) use actions::id_ranges;
mod body;
mod candidates;
mod columns;
pub(crate) use candidates::{number_phase_keys, PhaseKeyCounts};
mod evaluate;
mod macros;
mod memo;
pub(crate) use memo::{number_memo_slots, MemoRule, NO_MEMO};
mod request;
mod spare;
mod transform_cache;
mod variables;

use crate::collection::Collection;
use crate::config::RuleEngine;
use crate::message::RuleMessage;
use crate::ruleset::RuleSet;
use seclang_parser::names::VariableName;
use seclang_parser::IdRange;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// What the server must do, as libmodsecurity's `ModSecurityIntervention` says it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intervention {
    /// HTTP status to answer with (200 when nothing was set).
    pub status: u16,
    /// Milliseconds to pause: always 0, as in libmodsecurity v3, which loads no `pause`
    /// action (the field is its `ModSecurityIntervention`'s).
    pub pause: u64,
    /// `redirect` target.
    pub url: Option<String>,
    /// The log line of the disruptive rule (`%d` replaced by the status).
    pub log: Option<String>,
    /// Whether the server must interrupt the transaction.
    pub disruptive: bool,
}

/// How far `allow` reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum AllowState {
    #[default]
    None,
    /// `allow`: skip every later rule (logging phase excepted).
    Transaction,
    /// `allow:request`: skip the rest of the request phases.
    Request,
    /// `allow:phase`: skip the rest of this phase.
    Phase,
}

/// Which body processor parses the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyProcessor {
    UrlEncoded,
    Multipart,
    Json,
    Xml,
}

type LogSink = Box<dyn FnMut(&str) + Send>;

/// One request and its response.
pub struct Transaction {
    pub(crate) rules: Arc<RuleSet>,
    pub(crate) id: String,
    pub(crate) started: Instant,
    pub(crate) client_ip: String,
    pub(crate) server_ip: String,
    pub(crate) hostname: Option<String>,
    pub(crate) uri_raw: Vec<u8>,
    /// The decoded path without the query string (the log's `[uri]`).
    pub(crate) path_decoded: Vec<u8>,
    /// Those texts as the messages share them.
    pub(crate) request_texts: crate::message::RequestTexts,
    /// Scalar variables, indexed by `VariableName as usize`.
    pub(crate) scalars: Vec<Option<crate::collection::Bytes>>,
    /// Where each scalar's values were taken from, `(offset, length)`, one per time it was
    /// set, as libmodsecurity's `AnchoredVariable` keeps them (the `v` parts of `[ref]`).
    pub(crate) scalar_origins: Vec<Vec<(usize, usize)>>,
    /// The thread's transaction before this one's short scalars, by variable: a scalar set to
    /// the same bytes shares that buffer instead of allocating one ([`KEPT_SCALAR_LEN`]).
    earlier_scalars: Vec<Option<crate::collection::Bytes>>,
    /// The thread's transaction before this one's request headers, by position, as
    /// [`SpareTables::earlier_headers`] keeps them: a header of the same name (or the same
    /// name and value) at the same place shares their buffers.
    pub(crate) earlier_headers: Vec<(crate::collection::Bytes, Option<crate::collection::Bytes>)>,
    /// libmodsecurity's `Transaction::m_variableOffset`: how far into the request (request
    /// line, headers, body) the data recorded so far reaches, by its bookkeeping.
    pub(crate) var_offset: usize,
    pub(crate) args: Collection,
    pub(crate) args_get: Collection,
    /// `ARGS_POST`, made from `args` ([`Transaction::post_args`]) when a rule first asks for
    /// it after an argument was added: CRS never does, and a large body's arguments were each
    /// copied into it (two counts up on their buffers, and down again at the end).
    pub(crate) args_post: std::cell::OnceCell<Collection>,
    /// The positions in `args` of the body's arguments (`ARGS_POST`'s), in order.
    pub(crate) post_args: Vec<u32>,
    /// The blocks the arguments' names and values are written into
    /// ([`Transaction::push_argument`]): most are a few bytes, and were an allocation each.
    pub(crate) argument_bytes: crate::shared_bytes::Arena,
    pub(crate) args_combined_size: u64,
    /// `ARGS_COMBINED_SIZE` exists (an argument was added); its text is written when a rule
    /// reads it ([`Transaction::scalar_value`]): written at each argument, it was a third of
    /// the cost of adding one (10,000 query arguments: 11 M instructions).
    pub(crate) args_combined_size_set: bool,
    pub(crate) request_headers: Collection,
    pub(crate) request_cookies: Collection,
    pub(crate) response_headers: Collection,
    pub(crate) files: Collection,
    /// `FILES_NAMES`: the form field names of the uploaded files, at the `name` parameter.
    pub(crate) files_names: Collection,
    pub(crate) files_sizes: Collection,
    pub(crate) files_tmp_names: Collection,
    pub(crate) files_tmp_content: Collection,
    pub(crate) multipart_part_headers: Collection,
    pub(crate) multipart_names: Collection,
    pub(crate) multipart_filenames: Collection,
    /// `ENV`: the process environment, copied only once a `setenv` changes it.
    pub(crate) env: Option<Collection>,
    pub(crate) geo: Collection,
    pub(crate) rule_vars: Collection,
    pub(crate) tx: Collection,
    /// The thread's last `TX` made a copy of the plan's again (see `SpareTables::tx`), until
    /// the plan takes it (`Transaction::follow_plan`); else empty.
    pub(crate) spare_tx: Collection,
    /// The rule set whose plan's `TX` `spare_tx` is a copy of (`SpareTables::tx_of`): the
    /// plan takes such a copy as it is, when it is this transaction's rule set's.
    pub(crate) spare_tx_of: u64,
    /// Persistent collections (`ip`, `global`, `session`, `user`, `resource`) as loaded by
    /// `initcol`/`setsid`/`setuid`/`setrsc`, with the key each was opened with
    /// (`initcol:ip=%{REMOTE_ADDR}`).
    pub(crate) persistent: crate::persistent::Opened,
    /// `MATCHED_VARS`; its last element is `MATCHED_VAR` and `MATCHED_VAR_NAME` (both are set
    /// by each match, and emptied by a rule that does not match): not a copy of it, whose
    /// buffers' counts were two atomic adds and subtracts per match.
    pub(crate) matched_vars: Collection,
    /// `MATCHED_VARS` is the plan's record of a [`crate::plan::Decision::Hit`] rule (its
    /// `matched` entry, not copied), when `matched_vars` is empty: most hits are followed by
    /// a rule that empties it, and their copies cost four atomic counts a value.
    pub(crate) matched_planned: Option<u32>,
    /// Names of matched collection elements, by `(variable, element buffer's address and
    /// length)`, with the element's buffer ([`Transaction::matched_name`]).
    pub(crate) matched_names: MatchedNames,
    /// What the rules on one short value found no match in, on this thread ([`memo`]).
    pub(crate) memo: memo::Memo,
    /// The room the thread's spare tables keep ([`Room`]), carried to the next transaction.
    room: Room,
    pub(crate) xml: Option<crate::body::xml::XmlDocument>,
    /// What each XPath a rule names (`XML:/*`, `XML://@*`) selects in `xml`, made on its first
    /// use: the document does not change once parsed, and CRS names those two in a hundred
    /// rules, each evaluated anew per rule (a twentieth of CRS's regression inputs' time).
    pub(crate) xml_selections: std::cell::RefCell<Vec<variables::XmlSelection>>,
    pub(crate) request_body: Vec<u8>,
    pub(crate) response_body: Vec<u8>,
    pub(crate) body_processor: Option<BodyProcessor>,
    pub(crate) rule_engine: Option<RuleEngine>,
    pub(crate) request_body_access: Option<bool>,
    /// `ctl:forceRequestBodyVariable=On`.
    pub(crate) force_request_body_variable: bool,
    /// `FULL_REQUEST` is set: the request body was processed ([`Transaction::full_request_text`]
    /// builds its text when a rule asks).
    pub(crate) full_request: bool,
    pub(crate) removed_ids: Vec<IdRange>,
    /// `ctl:ruleRemoveByTag`: the tag and its [`crate::rule::tag_bit`].
    pub(crate) removed_tags: Vec<(Arc<str>, u64)>,
    pub(crate) removed_targets_by_id: Vec<(IdRange, crate::rule::RemovedTarget)>,
    /// `ctl:ruleRemoveTargetByTag`: tag, target, and the tag's [`crate::rule::tag_bit`].
    pub(crate) removed_targets_by_tag: Vec<(Arc<str>, crate::rule::RemovedTarget, u64)>,
    /// The union of `removed_targets_by_tag`'s tag bits: a rule none of whose tags has one
    /// is none of theirs ([`Transaction::runtime_removals_apply`]).
    pub(crate) removed_targets_tag_bits: u64,
    pub(crate) skip_next: u32,
    pub(crate) marker: Option<std::sync::Arc<str>>,
    /// The last phase run with the rule set's [`crate::plan::Plan`] (0: not in use): the plan
    /// holds for phases run once each, in order, from an empty `TX`.
    pub(crate) planned_through: u8,
    /// Working out the plan: a chain's starter is evaluated alone (`true`: it matched).
    pub(crate) starter_only: bool,
    pub(crate) allow: AllowState,
    /// A `setvar` is being expanded: `%{RULE.id}` and the like give the rule's metadata only
    /// there (libmodsecurity's `setvar` hands its expansions the rule; `msg`, `logdata`,
    /// `tag`, operator arguments and the other actions do not, and there `RULE.*` is empty).
    pub(crate) rule_macros: bool,
    pub(crate) intervention: Intervention,
    pub(crate) messages: Vec<RuleMessage>,
    /// The log lines of the `multiMatch` matches of the chain being evaluated, written when all
    /// of it matches (`actions::log_multi_match`).
    pub(crate) multi_match_lines: Vec<RuleMessage>,
    pub(crate) highest_severity: u8,
    /// Where the rule (chain starter) being evaluated sits in `rules.phases`: `(phase,
    /// index)`, for `RULE.*` and the starter's log fields ([`Transaction::current_rule`]). A
    /// position, not an `Arc` of the rule: an atomic count up and down per rule evaluated
    /// (~300 a request with CRS).
    pub(crate) current_rule_at: Option<(usize, usize)>,
    log_sink: Option<LogSink>,
    pub(crate) transform_cache: transform_cache::TransformCache,
    /// Grouped-matcher candidates and bytes of whole variables, for the phase running, by
    /// the numbers of the targets ([`candidates`], [`crate::rule::PhaseKeys`]).
    pub(crate) phase_tables: candidates::PhaseTables,
    /// The values of whole fixed variables, with their bytes, for the phase running.
    pub(crate) phase_values: candidates::PhaseValues,
    /// Those values after each transformation chain a rule asked for, for the phase running.
    pub(crate) phase_columns: columns::PhaseColumns,
    /// Buffers the rules reuse from value to value and rule to rule.
    pub(crate) scratch: Scratch,
    /// The rule about to be evaluated passed its [`crate::rule::ByteTest`] (asked by
    /// `run_phase`): its evaluation does not ask the same of its variables again.
    pub(crate) bytes_tested: bool,
    /// And its grouped matcher's test of its variables' candidates.
    pub(crate) candidates_tested: bool,
    /// What the audit record needs beyond the rest ([`crate::audit`]).
    pub(crate) audit: crate::audit::TransactionAudit,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("id", &self.id)
            .field("intervention", &self.intervention)
            .field("messages", &self.messages.len())
            .finish_non_exhaustive()
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The process environment, read once (not per transaction).
pub(crate) fn process_env() -> &'static Collection {
    static ENV: std::sync::OnceLock<Collection> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut c = Collection::new();
        for (k, v) in std::env::vars_os() {
            c.add(
                k.to_string_lossy().as_bytes(),
                v.to_string_lossy().as_bytes(),
            );
        }
        c
    })
}

/// A unique id: time in microseconds plus a process-wide counter.
fn unique_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // `{secs}{n % 100:02}.{micros:06}`, without the formatting machinery (~600 instructions
    // of each transaction's making)
    let mut id = String::with_capacity(24);
    crate::decimal::push_decimal(&mut id, now.as_secs());
    crate::decimal::push_padded(&mut id, n % 100, 2);
    id.push('.');
    crate::decimal::push_padded(&mut id, now.subsec_micros(), 6);
    id
}

/// See [`Transaction::matched_names`].
pub(crate) type MatchedNames = std::collections::HashMap<
    (VariableName, usize, usize),
    (crate::collection::Bytes, crate::collection::Bytes),
    std::hash::BuildHasherDefault<crate::word_hash::KeyHasher>,
>;

/// The tables a transaction fills as it goes (the per-phase tables of [`candidates`], the
/// matched names, the scalars and their origins), kept for the thread's next transaction
/// ([`spare`]).
#[derive(Default)]
struct SpareTables {
    tables: candidates::PhaseTables,
    values: candidates::PhaseValues,
    columns: columns::PhaseColumns,
    matched_names: MatchedNames,
    /// What the rules on one short value found no match in ([`memo`]).
    memo: memo::Memo,
    scalars: Vec<Option<crate::collection::Bytes>>,
    scalar_origins: Vec<Vec<(usize, usize)>>,
    /// The short scalars of the thread's last transaction ([`Transaction::set_scalar_at`]).
    earlier_scalars: Vec<Option<crate::collection::Bytes>>,
    /// The last transaction's request headers' names, with their values when short and not
    /// credentials ([`Transaction::add_request_header`]): a browser's next request has most of
    /// them again, at the same places.
    earlier_headers: Vec<(crate::collection::Bytes, Option<crate::collection::Bytes>)>,
    /// `TX`: a copy of the rule set's plan's (its snapshot: [`Collection::copy_with_room`]
    /// then keeps the elements still shared), else emptied; the buffers the plan's `TX` is
    /// copied into.
    tx: Collection,
    /// The rule set ([`RuleSet::id`]) whose plan's `TX` `tx` is a copy of; 0 for none.
    tx_of: u64,
    /// The request's collections most requests fill (headers, cookies, arguments) and
    /// `MATCHED_VARS`, emptied: grown from nothing in each transaction, each grew its two
    /// vectors a few times (~15 reallocations a request).
    request: [Collection; 5],
    /// [`Transaction::post_args`]' buffer.
    post_args: Vec<u32>,
    /// The rules' scratch buffers, emptied (each grew from nothing in each transaction: a
    /// chain's `TX:/^header_name_920450_/` reallocated its values' vector on every request).
    scratch: Scratch,
    /// The room the tables and buffers keep.
    room: Room,
}

/// The room a thread's spare tables and buffers keep: for [`SPARE_TABLE_CAPACITY`] entries,
/// or, for [`LARGE_ROOM_KEPT_FOR`] transactions after one with more values in a collection,
/// for that many (up to [`LARGE_ROOM_MAX`]). A large request's arrays (its arguments, their
/// phase values, columns and scratch, ~100 bytes a value) made anew in each were each mapped
/// from the kernel, faulted in page by page and unmapped again: a fifth of a 1 MB JSON body's
/// time. A thread that saw one keeps what it needed while such requests go on, and gives it
/// back after a run of small ones. (What it keeps is at most what such a request held at its
/// peak, for up to `LARGE_ROOM_MAX` values a collection: tens of megabytes after a 1 MB JSON
/// body, whose 40,000 values peaked at ~70 MB of RSS.)
#[derive(Debug, Default)]
struct Room {
    /// The room of the recent large requests (0 after none).
    large: usize,
    /// Transactions since the last large one.
    since: u32,
}

/// Entries the kept tables keep room for after small requests,
const SPARE_TABLE_CAPACITY: usize = 1024;
/// and at most after a large one;
const LARGE_ROOM_MAX: usize = 1 << 16;
/// for how many transactions after the last large one.
const LARGE_ROOM_KEPT_FOR: u32 = 16;

impl Room {
    /// The room to keep after a transaction whose largest collection held `needed` entries.
    fn after(&mut self, needed: usize) -> usize {
        if needed > SPARE_TABLE_CAPACITY {
            self.large = self.large.max(needed.min(LARGE_ROOM_MAX));
            self.since = 0;
        } else {
            self.since = self.since.saturating_add(1);
            if self.since >= LARGE_ROOM_KEPT_FOR {
                self.large = 0;
            }
        }
        self.large.max(SPARE_TABLE_CAPACITY)
    }
}

/// A transaction's scratch buffers, taken by a rule and given back (kept to reuse their
/// allocations), and between transactions the thread's spare ones.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The values of the rule being evaluated.
    pub(crate) values: Vec<variables::Value>,
    /// The first values of the same text of a variable whose phase values are being made
    /// ([`candidates::same_texts`]),
    pub(crate) same_texts: Vec<u32>,
    /// and the bytes of each, worked out at its first value.
    pub(crate) text_bytes: Vec<crate::regex::ByteSet>,
    /// The texts of a large variable a rule being evaluated found no match in, a bit each
    /// (by the position of their first value: [`candidates::PhaseValue::same_as`]).
    pub(crate) no_match: Vec<u64>,
    /// The texts of a large variable whose value as it is lacks the literals of the
    /// `multiMatch` rule being evaluated, a bit each as in `no_match`.
    pub(crate) raw_misses: Vec<u64>,
    /// The values of a large variable whose texts are not known to miss before a rule's
    /// look at them, a bit each ([`Transaction::live_values`]).
    pub(crate) live: Vec<u64>,
    /// The ranges an operator reports for a value ([`Transaction::try_value`]).
    pub(crate) ranges: Vec<(usize, usize)>,
    /// The values a negated rule's operator matched, whose ranges wait for a match.
    pub(crate) deferred_ranges: evaluate::DeferredRanges,
    /// The `[ref]` pieces of chains' matches, written when the chain matches.
    pub(crate) deferred_references: evaluate::DeferredReferences,
    /// A `setvar`'s expanded name.
    pub(crate) name: Vec<u8>,
    /// The message a rule being evaluated fills, emptied and kept from rule to rule (most
    /// rules do not match: making and dropping an empty one each was ~2% of a small request).
    pub(crate) message: Option<Box<RuleMessage>>,
    /// The buffers the steps of a chain write into outside the transformation cache
    /// (`multiMatch`), kept from value to value.
    pub(crate) steps: [Vec<u8>; 2],
    /// The buffers of a large request's argument values by their text
    /// ([`Transaction::push_argument`]).
    pub(crate) argument_values: std::collections::HashMap<
        (u64, usize),
        crate::collection::Bytes,
        std::hash::BuildHasherDefault<crate::word_hash::KeyHasher>,
    >,
}

impl Scratch {
    /// Empties the buffers, keeping room for at most `room` entries (bytes for the byte
    /// buffers: a value's steps may be a whole body).
    fn empty(&mut self, room: usize) {
        use spare::Empty;
        self.values.empty(room);
        self.same_texts.empty(room);
        self.text_bytes.empty(room);
        self.no_match.empty(room);
        self.raw_misses.empty(room);
        self.ranges.empty(room);
        self.deferred_ranges.empty(room);
        self.deferred_references.empty(room);
        self.name.empty(room);
        self.argument_values.empty(room);
        for step in &mut self.steps {
            step.empty(room * 64);
        }
        if let Some(m) = &mut self.message {
            m.empty();
        }
    }
}

/// The longest scalar a transaction leaves for the thread's next one to share
/// ([`Transaction::set_scalar_at`]).
const KEPT_SCALAR_LEN: usize = 64;

/// `earlier` (a buffer of the thread's last transaction) when it holds `bytes`, else a new
/// buffer of them ([`KEPT_SCALAR_LEN`], [`KEPT_HEADERS`]).
pub(crate) fn reused(
    earlier: Option<&crate::collection::Bytes>,
    bytes: &[u8],
) -> crate::collection::Bytes {
    match earlier {
        Some(e) if e[..] == *bytes => e.clone(),
        _ => bytes.into(),
    }
}

/// How many of its request headers a transaction leaves for the thread's next one, and the
/// longest value (a browser's `User-Agent` and `Accept` are 100 to 150 bytes).
const KEPT_HEADERS: usize = 32;
const KEPT_HEADER_LEN: usize = 256;

/// A request header that carries credentials: its value is never kept past its transaction.
pub(crate) fn is_credential(name: &[u8]) -> bool {
    [&b"cookie"[..], b"authorization", b"proxy-authorization"]
        .iter()
        .any(|c| name.eq_ignore_ascii_case(c))
}

thread_local! {
    static SPARE_TABLES: std::cell::RefCell<Option<SpareTables>> =
        const { std::cell::RefCell::new(None) };
}

impl SpareTables {
    /// Empty tables, the thread's spare ones when there are.
    fn take() -> SpareTables {
        let mut t = spare::take(&SPARE_TABLES);
        t.scalars.resize(VariableName::ALL.len(), None);
        t.scalar_origins.resize(VariableName::ALL.len(), Vec::new());
        t.earlier_scalars.resize(VariableName::ALL.len(), None);
        t
    }

    /// Empties the tables and keeps them as the thread's spare; `TX` is made a copy of the
    /// rule set's `snapshot` (the plan's) when there is one, for the next transaction's plan.
    /// No request's data outlives its transaction in a spare but its short scalars and its
    /// headers' names (with the `MATCHED_VAR_NAME`s made of them) and short values other than
    /// credentials, kept to be shared by the next
    /// transaction where it has the same bytes, never seen by it otherwise; and the memo's
    /// values ([`memo`]: short scalars, headers other than credentials and `TX` elements,
    /// one per rule), only ever compared with a later value.
    fn recycle(mut self, snapshot: Option<&Collection>, rules: u64) {
        use spare::Empty;
        // (the values of the largest collection, as room grows by doubling: not its room,
        // which may be the one kept from before)
        let needed = self.request.iter().map(Collection::len).max().unwrap_or(0);
        let room = self
            .room
            .after(needed.checked_next_power_of_two().unwrap_or(needed));
        self.values.empty(room);
        columns::recycle(&mut self.columns, room);
        match snapshot {
            Some(snapshot) if self.tx.room() <= SPARE_TABLE_CAPACITY => {
                self.tx.copy_with_room(snapshot, 0);
                self.tx_of = rules;
            }
            _ => {
                self.tx.empty_keeping_room(SPARE_TABLE_CAPACITY, true);
                self.tx_of = 0;
            }
        }
        self.earlier_headers.clear();
        let headers = self.request[0].iter().take(KEPT_HEADERS).map(|h| {
            let value = (h.value.len() <= KEPT_HEADER_LEN && !is_credential(&h.name))
                .then(|| h.value.clone());
            (h.name.clone(), value)
        });
        self.earlier_headers.extend(headers);
        // the names of matched header elements stay with the header names kept (920450
        // matches each header's name on every request: its `MATCHED_VAR_NAME` was made anew)
        let kept = &self.earlier_headers;
        self.matched_names.retain(|_, (element, _)| {
            kept.iter()
                .any(|(name, _)| crate::collection::Bytes::ptr_eq(name, element))
        });
        self.matched_names.shrink_to(SPARE_TABLE_CAPACITY);
        for c in &mut self.request {
            c.empty_keeping_room(room, false);
        }
        {
            use spare::Empty;
            self.post_args.empty(room);
        }
        // (a long scalar, a body's, is not kept: nor is anything else of a request but the
        // short scalars a next one may have too, its method, protocol, addresses, flags)
        for (scalar, earlier) in self.scalars.iter_mut().zip(&mut self.earlier_scalars) {
            *earlier = scalar.take().filter(|b| b.len() <= KEPT_SCALAR_LEN);
        }
        for origins in &mut self.scalar_origins {
            // (`ARGS_COMBINED_SIZE` has two a value)
            origins.empty(room * 2);
        }
        self.scratch.empty(room);
        spare::keep(&SPARE_TABLES, self);
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        std::mem::take(&mut self.transform_cache).recycle();
        SpareTables {
            tables: std::mem::take(&mut self.phase_tables),
            values: std::mem::take(&mut self.phase_values),
            columns: std::mem::take(&mut self.phase_columns),
            matched_names: std::mem::take(&mut self.matched_names),
            memo: std::mem::take(&mut self.memo),
            room: std::mem::take(&mut self.room),
            scalars: std::mem::take(&mut self.scalars),
            scalar_origins: std::mem::take(&mut self.scalar_origins),
            earlier_scalars: std::mem::take(&mut self.earlier_scalars),
            earlier_headers: std::mem::take(&mut self.earlier_headers),
            // (the copy of the plan's `TX` this transaction did not take)
            tx: match self.spare_tx.is_empty() {
                true => std::mem::take(&mut self.tx),
                false => std::mem::take(&mut self.spare_tx),
            },
            tx_of: 0,
            request: [
                &mut self.request_headers,
                &mut self.request_cookies,
                &mut self.args,
                &mut self.args_get,
                &mut self.matched_vars,
            ]
            .map(std::mem::take),
            post_args: std::mem::take(&mut self.post_args),
            scratch: std::mem::take(&mut self.scratch),
        }
        .recycle(self.rules.plan.snapshot.as_ref(), self.rules.id);
    }
}

impl Transaction {
    /// A new transaction over `rules`, with a generated unique id.
    pub fn new(rules: Arc<RuleSet>) -> Transaction {
        Transaction::with_own_id(rules, unique_id())
    }

    /// A new transaction with the caller's unique id (`msc_new_transaction_with_id`).
    pub fn with_id(rules: Arc<RuleSet>, id: &str) -> Transaction {
        Transaction::with_own_id(rules, id.to_string())
    }

    fn with_own_id(rules: Arc<RuleSet>, id: String) -> Transaction {
        let tables = SpareTables::take();
        let [request_headers, request_cookies, args, args_get, matched_vars] = tables.request;
        let transform_cache = transform_cache::TransformCache::take(&rules);
        let memo = tables.memo.for_rules(&rules);
        // (an emptied `TX` is this one's; a copy of the plan's waits for the plan)
        let (tx, spare_tx, spare_tx_of) = match tables.tx.is_empty() {
            true => (tables.tx, Collection::new(), 0),
            false => (Collection::new(), tables.tx, tables.tx_of),
        };
        let mut t = Transaction {
            rules,
            id,
            started: Instant::now(),
            client_ip: String::new(),
            server_ip: String::new(),
            hostname: None,
            uri_raw: Vec::new(),
            path_decoded: Vec::new(),
            request_texts: Default::default(),
            scalars: tables.scalars,
            scalar_origins: tables.scalar_origins,
            earlier_scalars: tables.earlier_scalars,
            earlier_headers: tables.earlier_headers,
            var_offset: 0,
            args,
            args_get,
            args_post: std::cell::OnceCell::new(),
            post_args: tables.post_args,
            argument_bytes: Default::default(),
            args_combined_size: 0,
            args_combined_size_set: false,
            request_headers,
            request_cookies,
            response_headers: Collection::new(),
            files: Collection::new(),
            files_names: Collection::new(),
            files_sizes: Collection::new(),
            files_tmp_names: Collection::new(),
            files_tmp_content: Collection::new(),
            multipart_part_headers: Collection::new(),
            multipart_names: Collection::new(),
            multipart_filenames: Collection::new(),
            env: None,
            geo: Collection::new(),
            rule_vars: Collection::new(),
            tx,
            spare_tx,
            spare_tx_of,
            persistent: Default::default(),
            matched_vars,
            matched_planned: None,
            matched_names: tables.matched_names,
            memo,
            room: tables.room,
            xml: None,
            xml_selections: Default::default(),
            request_body: Vec::new(),
            response_body: Vec::new(),
            body_processor: None,
            rule_engine: None,
            request_body_access: None,
            force_request_body_variable: false,
            full_request: false,
            removed_ids: Vec::new(),
            removed_tags: Vec::new(),
            removed_targets_by_id: Vec::new(),
            removed_targets_by_tag: Vec::new(),
            removed_targets_tag_bits: 0,
            skip_next: 0,
            marker: None,
            planned_through: 0,
            starter_only: false,
            allow: AllowState::None,
            rule_macros: false,
            intervention: Intervention {
                status: 200,
                ..Intervention::default()
            },
            messages: Vec::new(),
            multi_match_lines: Vec::new(),
            highest_severity: 255,
            current_rule_at: None,
            log_sink: None,
            transform_cache,
            phase_tables: tables.tables,
            phase_values: tables.values,
            phase_columns: tables.columns,
            scratch: tables.scratch,
            bytes_tested: false,
            candidates_tested: false,
            audit: Default::default(),
        };
        t.set_scalar(VariableName::UrlencodedError, b"0");
        let id = std::mem::take(&mut t.id);
        t.set_scalar(VariableName::UniqueId, id.as_bytes());
        t.id = id;
        // (the spare tables' entries are an ended transaction's: out of date from here on)
        t.phase_tables.next_phase(t.rules.phase_keys);
        t
    }

    /// Sends every log line (rule matches) to `sink`, as libmodsecurity's log callback.
    pub fn on_log(&mut self, sink: impl FnMut(&str) + Send + 'static) {
        self.log_sink = Some(Box::new(sink));
    }

    /// The transaction's unique id (`UNIQUE_ID`, `[unique_id "..."]`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Rule matches logged so far.
    pub fn messages(&self) -> &[RuleMessage] {
        &self.messages
    }

    /// The pending intervention, if disruptive; taking it resets it (libmodsecurity's
    /// `msc_intervention`): `%d` in its log is replaced by the status.
    pub fn intervention(&mut self) -> Option<Intervention> {
        if !self.intervention.disruptive {
            return None;
        }
        let mut it = std::mem::replace(
            &mut self.intervention,
            Intervention {
                status: 200,
                ..Intervention::default()
            },
        );
        if let Some(log) = &mut it.log {
            if let Some(with_status) = replace_status(log, it.status) {
                *log = with_status;
            }
        }
        Some(it)
    }

    /// The rule engine state in force (`ctl:ruleEngine` over `SecRuleEngine`).
    pub fn rule_engine(&self) -> Option<RuleEngine> {
        self.rule_engine.or(self.rules.config.rule_engine)
    }

    pub(crate) fn engine_on(&self) -> bool {
        self.rule_engine() == Some(RuleEngine::On)
    }

    pub(crate) fn engine_off(&self) -> bool {
        self.rule_engine() == Some(RuleEngine::Off)
    }

    /// `ENV` as this transaction sees it.
    pub(crate) fn env(&self) -> &Collection {
        self.env.as_ref().unwrap_or_else(|| process_env())
    }

    /// Sets a scalar taken from the current offset (libmodsecurity's
    /// `set(value, m_variableOffset)`).
    pub(crate) fn set_scalar(&mut self, v: VariableName, value: &[u8]) {
        self.set_scalar_at(v, value, self.var_offset, value.len());
    }

    /// Sets a scalar whose origin is `len` bytes at `offset`; origins accumulate, as
    /// libmodsecurity's `AnchoredVariable::set` appends one per call.
    pub(crate) fn set_scalar_at(
        &mut self,
        v: VariableName,
        value: &[u8],
        offset: usize,
        len: usize,
    ) {
        // (the earlier transaction's buffer when it holds these bytes: most of a request's ~45
        // scalars are the last one's, and a buffer each was a sixth of its allocations)
        self.scalars[v as usize] = Some(reused(self.earlier_scalars[v as usize].as_ref(), value));
        self.scalar_origins[v as usize].push((offset, len));
    }

    pub(crate) fn scalar(&self, v: VariableName) -> Option<&[u8]> {
        self.scalars[v as usize].as_deref()
    }

    /// A scalar as set, shared.
    pub(crate) fn stored_scalar(&self, v: VariableName) -> Option<crate::collection::Bytes> {
        self.scalars[v as usize].clone()
    }

    pub(crate) fn emit_log(&mut self, line: &str) {
        if let Some(sink) = self.log_sink.as_mut() {
            sink(line);
        }
    }
}

/// The intervention's log line with each `%d` replaced by the status (libmodsecurity's
/// `replaceAll(log, "%d", status)`); `None` when it has none. (A line is ~1 KB: a search
/// for `%` first, as `str::replace`'s two-way search took ~1,000 instructions a blocked
/// request.)
fn replace_status(log: &str, status: u16) -> Option<String> {
    let bytes = log.as_bytes();
    let mut at = memchr::memchr_iter(b'%', bytes).filter(|&i| bytes.get(i + 1) == Some(&b'd'));
    let first = at.next()?;
    let status = status.to_string();
    let mut out = String::with_capacity(log.len() + status.len());
    let mut from = 0;
    // (matches cannot overlap: a `%` followed by `d` is not followed by `%`)
    for i in std::iter::once(first).chain(at) {
        out.push_str(&log[from..i]);
        out.push_str(&status);
        from = i + 2;
    }
    out.push_str(&log[from..]);
    Some(out)
}

/// Test support: the log lines rules write for a request.
#[cfg(test)]
pub(crate) mod test_log {
    use super::Transaction;
    use crate::RuleSet;
    use std::sync::{Arc, Mutex};

    /// The log lines `rules` write while `request` drives a transaction (after its
    /// connection, 127.0.0.1:12345 to 127.0.0.1:80).
    pub fn lines(rules: &str, request: impl FnOnce(&mut Transaction)) -> Vec<String> {
        let rules = Arc::new(RuleSet::from_text("t.conf", rules, None).unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let mut tx = Transaction::new(rules);
        tx.on_log(move |l| sink.lock().unwrap().push(l.to_string()));
        tx.process_connection("127.0.0.1", 12345, "127.0.0.1", 80);
        request(&mut tx);
        let out = log.lock().unwrap().clone();
        out
    }

    /// A `GET` (HTTP/1.1) of `uri` with these headers, through phase 2.
    pub fn get<'a>(
        uri: &'a str,
        headers: &'a [(&'a str, &'a str)],
    ) -> impl FnOnce(&mut Transaction) + 'a {
        move |tx| {
            tx.process_uri(uri.as_bytes(), b"GET", b"1.1");
            for (k, v) in headers {
                tx.add_request_header(k.as_bytes(), v.as_bytes());
            }
            tx.process_request_headers();
            tx.process_request_body();
        }
    }

    /// A log line's `[name "..."]`; empty when it has none.
    pub fn field(line: &str, name: &str) -> String {
        line.split(&format!("[{name} \""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::test_log;

    /// A large request's room is kept while large ones go on, and for
    /// `LARGE_ROOM_KEPT_FOR` transactions after the last; at most `LARGE_ROOM_MAX`.
    #[test]
    fn a_large_requests_room_is_kept_for_a_while() {
        use super::{Room, LARGE_ROOM_KEPT_FOR, LARGE_ROOM_MAX, SPARE_TABLE_CAPACITY};
        let mut room = Room::default();
        assert_eq!(room.after(10), SPARE_TABLE_CAPACITY);
        assert_eq!(room.after(5000), 5000);
        assert_eq!(room.after(3000), 5000, "the larger recent one");
        for _ in 1..LARGE_ROOM_KEPT_FOR {
            assert_eq!(room.after(10), 5000);
        }
        assert_eq!(room.after(10), SPARE_TABLE_CAPACITY);
        assert_eq!(room.after(usize::MAX), LARGE_ROOM_MAX);
    }

    /// The thread's next transaction after one with thousands of arguments finds their room,
    /// and after a run of small ones it is given back.
    #[test]
    fn the_next_transaction_finds_a_large_ones_room() {
        use std::sync::Arc;
        let rules = Arc::new(
            crate::RuleSet::from_text(
                "t.conf",
                "SecRule ARGS \"@rx x\" \"id:1,phase:1,pass\"",
                None,
            )
            .unwrap(),
        );
        let uri: String = (0..3000).map(|i| format!("a{i}=v&")).collect();
        let run = |uri: &str| {
            let mut tx = super::Transaction::new(Arc::clone(&rules));
            tx.process_uri(format!("/?{uri}").as_bytes(), b"GET", b"HTTP/1.1");
            tx.process_request_headers();
        };
        run(&uri);
        let tx = super::Transaction::new(Arc::clone(&rules));
        assert!(tx.args.room() >= 3000, "{}", tx.args.room());
        drop(tx);
        for _ in 0..super::LARGE_ROOM_KEPT_FOR {
            run("a=1");
        }
        let tx = super::Transaction::new(Arc::clone(&rules));
        assert!(
            tx.args.room() <= super::SPARE_TABLE_CAPACITY,
            "{}",
            tx.args.room()
        );
    }

    /// Each `%d` of an intervention's log line is the status, as a left-to-right replace of
    /// every occurrence gives it; a line without one is left as it is.
    #[test]
    fn a_log_lines_percent_ds_are_the_status() {
        use super::replace_status;
        let cases = [
            "Access denied with code %d (phase 2).",
            "%d%d",
            "%%d and %%%d, %D %",
            "ends with %d",
            "%",
            "",
            "Matched \"%\" against `%s' é%d",
        ];
        for line in cases {
            let expected = line.replace("%d", "403");
            let got = replace_status(line, 403);
            assert_eq!(got.as_deref().unwrap_or(line), expected, "{line:?}");
            assert_eq!(got.is_some(), line.contains("%d"), "{line:?}");
        }
    }

    /// A short scalar or a header a transaction has again at the same place shares the last
    /// transaction's buffer (no allocation); other bytes, a long scalar and credentials do not.
    #[test]
    fn equal_scalars_and_headers_share_the_last_transactions_buffers() {
        use super::Transaction;
        use crate::collection::Bytes;
        use seclang_parser::names::VariableName as V;
        use std::sync::Arc;
        let rules = Arc::new(crate::RuleSet::from_text("t.conf", "", None).unwrap());
        let long = "x".repeat(super::KEPT_SCALAR_LEN + 1);
        let run = |method: &str, uri: &str, headers: &[(&str, &str)]| {
            let mut tx = Transaction::new(Arc::clone(&rules));
            tx.process_connection("10.0.0.1", 40000, "10.0.0.2", 80);
            tx.process_uri(uri.as_bytes(), method.as_bytes(), b"1.1");
            for (n, v) in headers {
                tx.add_request_header(n.as_bytes(), v.as_bytes());
            }
            let scalar = |v: V| tx.stored_scalar(v).unwrap();
            let scalars = [V::RequestMethod, V::RemoteAddr, V::QueryString].map(scalar);
            let headers: Vec<(Bytes, Bytes)> = tx
                .request_headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect();
            (scalars, headers)
        };
        let q = format!("/?{long}");
        let headers = [
            ("Host", "shop.example"),
            ("Cookie", "a=1"),
            ("Accept", "*/*"),
        ];
        let (s1, h1) = run("GET", &q, &headers);
        let (s2, h2) = run("GET", &q, &headers);
        assert!(Bytes::ptr_eq(&s1[0], &s2[0]) && Bytes::ptr_eq(&s1[1], &s2[1]));
        assert!(!Bytes::ptr_eq(&s1[2], &s2[2]), "a long scalar is not kept");
        assert_eq!(s1[2], s2[2]);
        assert!(h1.iter().zip(&h2).all(|(a, b)| Bytes::ptr_eq(&a.0, &b.0)));
        let shared: Vec<bool> = h1
            .iter()
            .zip(&h2)
            .map(|(a, b)| Bytes::ptr_eq(&a.1, &b.1))
            .collect();
        assert_eq!(shared, [true, false, true], "a cookie's value is not kept");
        // other bytes at the same place: their own buffers, with their own bytes
        let (s3, h3) = run("POST", &q, &[("Host", "other.example"), ("Accept", "*/*")]);
        assert_eq!(&s3[0][..], b"POST");
        assert!(Bytes::ptr_eq(&s2[1], &s3[1]));
        assert_eq!(&h3[0].1[..], b"other.example");
        assert!(Bytes::ptr_eq(&h2[0].0, &h3[0].0) && !Bytes::ptr_eq(&h2[0].1, &h3[0].1));
        assert_eq!(
            &h3[1].0[..],
            b"Accept",
            "a header elsewhere is not the one at its place"
        );
        assert!(!Bytes::ptr_eq(&h2[1].0, &h3[1].0));
    }

    /// A transaction's tables and scalars are kept for the thread's next one (`SpareTables`):
    /// emptied, so that nothing of a request shows in the next.
    #[test]
    fn a_transaction_sees_nothing_of_the_one_before() {
        let rules = "SecRuleEngine DetectionOnly\n\
             SecRule REQUEST_URI \"@rx secret\" \"id:1,phase:1,pass,log,setvar:tx.seen=1\"\n\
             SecRule REQUEST_HEADERS:X-A \"@rx .\" \"id:2,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}'\"\n\
             SecRule QUERY_STRING \"@rx ^$\" \"id:3,phase:2,pass,log\"\n\
             SecRule ARGS \"@rx secret\" \"id:4,phase:2,pass,log\"\n\
             SecRule &TX:seen \"@eq 0\" \"id:5,phase:2,pass,log\"\n\
             SecRule REQUEST_COOKIES \"@rx secret\" \"id:6,phase:2,pass,log\"";
        let fields = |lines: &[String], name: &str| -> Vec<String> {
            lines.iter().map(|l| test_log::field(l, name)).collect()
        };
        let first = test_log::lines(
            rules,
            test_log::get("/secret?a=secret", &[("X-A", "1"), ("Cookie", "c=secret")]),
        );
        assert_eq!(fields(&first, "id"), ["1", "2", "4", "6"]);
        // (the same thread: the first's tables, TX and collections are the second's, emptied)
        let second = test_log::lines(rules, test_log::get("/", &[]));
        assert_eq!(fields(&second, "id"), ["3", "5"]);
        // as on a thread that never ran a transaction
        let fresh = std::thread::spawn(move || test_log::lines(rules, test_log::get("/", &[])))
            .join()
            .unwrap();
        assert_eq!(fields(&second, "ref"), fields(&fresh, "ref"));
        assert!(second.iter().all(|l| !l.contains("secret")), "{second:?}");
    }
}
