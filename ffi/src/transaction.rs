//! Transactions (`Transaction *`): `msc_new_transaction*`, `msc_process_*`, `msc_add_*`,
//! `msc_append_*`, `msc_intervention`, `msc_*_body*`, `msc_transaction_cleanup`, and 3.0.15's
//! `msc_get_rules_messages_*`.
//!
//! Return values follow libmodsecurity: `1` for success, `0` for failure (a NULL handle or
//! argument, a body over its limit with `Reject`). Disruption is reported only through
//! `msc_intervention`. Calls out of the usual order are allowed and behave like
//! libmodsecurity: processing headers before `msc_process_uri` sees empty request-line
//! variables, skipping the body steps runs nothing for them, and so on.

use crate::engine::ModSecurity;
use crate::rules::RulesSet;
use crate::{c_bytes, c_free, c_slice, c_strdup, c_text, ffi_boundary};
use std::ffi::{c_char, c_int, c_void, CString};

/// libmodsecurity's `ModSecurityIntervention` (`intervention.h`).
#[repr(C)]
#[derive(Debug)]
pub struct ModSecurityIntervention {
    pub status: c_int,
    pub pause: c_int,
    pub url: *mut c_char,
    pub log: *mut c_char,
    pub disruptive: c_int,
}

/// The `Transaction` handle of the C API (opaque to C; to C++ it shows `m_rules` first, see
/// `include/modsecurity/transaction.h`).
#[repr(C)]
pub struct Transaction {
    /// `m_rules`: the rule set handle given to `msc_new_transaction*`. Must stay first.
    rules: *const RulesSet,
    txn: waf_core::Transaction,
    /// `msc_get_response_body`'s NUL-terminated copy (valid until the next call or cleanup).
    response_body: Vec<u8>,
}

/// The log callback and its data, moved into the engine's log sink.
struct LogTarget {
    cb: unsafe extern "C" fn(*mut c_void, *const c_void),
    data: *mut c_void,
}

// SAFETY: the pointer is the connector's opaque `logCbData`; libmodsecurity calls the callback
// from whichever thread runs the transaction, and so do we (the sink only runs inside calls on
// this transaction).
unsafe impl Send for LogTarget {}

impl LogTarget {
    fn send(&self, line: &str) {
        let line = CString::new(line.replace('\0', "\\x00")).unwrap_or_default();
        // SAFETY: a callback and data given by the C caller, a NUL-terminated line.
        unsafe { (self.cb)(self.data, line.as_ptr() as *const c_void) }
    }
}

unsafe fn new_transaction(
    ms: *mut ModSecurity,
    rules: *mut RulesSet,
    id: Option<String>,
    log_cb_data: *mut c_void,
) -> *mut Transaction {
    let (Some(ms), Some(rules)) = (ms.as_ref(), rules.as_ref()) else {
        return std::ptr::null_mut();
    };
    let compiled = rules.compiled();
    let mut txn = match id {
        Some(id) => waf_core::Transaction::with_id(compiled, &id),
        None => waf_core::Transaction::new(compiled),
    };
    if let Some(cb) = ms.log_cb() {
        let target = LogTarget {
            cb,
            data: log_cb_data,
        };
        txn.on_log(move |line| target.send(line));
    }
    Box::into_raw(Box::new(Transaction {
        rules: rules as *const RulesSet,
        txn,
        response_body: Vec::new(),
    }))
}

/// `Transaction *msc_new_transaction(ModSecurity *, RulesSet *, void *logCbData)`: NULL if
/// `ms` or `rules` is NULL. `logCbData` is passed back to the log callback.
#[no_mangle]
pub unsafe extern "C" fn msc_new_transaction(
    ms: *mut ModSecurity,
    rules: *mut RulesSet,
    log_cb_data: *mut c_void,
) -> *mut Transaction {
    ffi_boundary!(std::ptr::null_mut(), {
        new_transaction(ms, rules, None, log_cb_data)
    })
}

/// `Transaction *msc_new_transaction_with_id(ModSecurity *, RulesSet *, char *id, void *)`:
/// `id` becomes `UNIQUE_ID` (a NULL id: a generated one, as `msc_new_transaction`).
#[no_mangle]
pub unsafe extern "C" fn msc_new_transaction_with_id(
    ms: *mut ModSecurity,
    rules: *mut RulesSet,
    id: *mut c_char,
    log_cb_data: *mut c_void,
) -> *mut Transaction {
    ffi_boundary!(std::ptr::null_mut(), {
        new_transaction(ms, rules, c_text(id), log_cb_data)
    })
}

/// Runs `f` on the transaction behind `t`; `0` for NULL, else `f`'s value.
unsafe fn with_txn(t: *mut Transaction, f: impl FnOnce(&mut Transaction) -> c_int) -> c_int {
    match t.as_mut() {
        Some(t) => f(t),
        None => 0,
    }
}

fn port(p: c_int) -> u16 {
    u16::try_from(p).unwrap_or(0)
}

/// `int msc_process_connection(Transaction *, const char *client, int cPort, const char
/// *server, int sPort)`: runs phase 0; 1, or 0 for NULL arguments. Ports outside 0–65535 are
/// recorded as 0.
#[no_mangle]
pub unsafe extern "C" fn msc_process_connection(
    transaction: *mut Transaction,
    client: *const c_char,
    c_port: c_int,
    server: *const c_char,
    s_port: c_int,
) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            let (Some(client), Some(server)) = (c_text(client), c_text(server)) else {
                return 0;
            };
            t.txn
                .process_connection(&client, port(c_port), &server, port(s_port));
            1
        })
    })
}

/// `int msc_process_uri(Transaction *, const char *uri, const char *protocol, const char
/// *http_version)`: `protocol` is the request method (libmodsecurity's name). 1, or 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_process_uri(
    transaction: *mut Transaction,
    uri: *const c_char,
    protocol: *const c_char,
    http_version: *const c_char,
) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            let (Some(uri), Some(method), Some(version)) =
                (c_bytes(uri), c_bytes(protocol), c_bytes(http_version))
            else {
                return 0;
            };
            t.txn.process_uri(uri, method, version);
            1
        })
    })
}

/// `int msc_set_request_hostname(Transaction *, const unsigned char *hostname)`: 1, or 0 for
/// NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_set_request_hostname(
    transaction: *mut Transaction,
    hostname: *const u8,
) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            let Some(host) = c_text(hostname as *const c_char) else {
                return 0;
            };
            t.txn.set_request_hostname(&host);
            1
        })
    })
}

/// Adds one header through `add` (request or response side): 1, or 0 for a NULL handle or
/// name/value.
unsafe fn add_header(
    transaction: *mut Transaction,
    name: Option<&[u8]>,
    value: Option<&[u8]>,
    add: fn(&mut waf_core::Transaction, &[u8], &[u8]),
) -> c_int {
    with_txn(transaction, |t| {
        let (Some(k), Some(v)) = (name, value) else {
            return 0;
        };
        add(&mut t.txn, k, v);
        1
    })
}

/// `int msc_add_request_header(Transaction *, const unsigned char *key, const unsigned char
/// *value)`: NUL-terminated strings; 1, or 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_add_request_header(
    transaction: *mut Transaction,
    key: *const u8,
    value: *const u8,
) -> c_int {
    ffi_boundary!(0, {
        add_header(
            transaction,
            c_bytes(key as *const c_char),
            c_bytes(value as *const c_char),
            waf_core::Transaction::add_request_header,
        )
    })
}

/// `int msc_add_n_request_header(Transaction *, const unsigned char *key, size_t len_key, const
/// unsigned char *value, size_t len_value)`: 1, or 0 for NULL (with a non-zero length).
#[no_mangle]
pub unsafe extern "C" fn msc_add_n_request_header(
    transaction: *mut Transaction,
    key: *const u8,
    len_key: usize,
    value: *const u8,
    len_value: usize,
) -> c_int {
    ffi_boundary!(0, {
        add_header(
            transaction,
            c_slice(key, len_key),
            c_slice(value, len_value),
            waf_core::Transaction::add_request_header,
        )
    })
}

/// `int msc_process_request_headers(Transaction *)`: runs phase 1; 1, or 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_process_request_headers(transaction: *mut Transaction) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            t.txn.process_request_headers();
            1
        })
    })
}

/// `int msc_append_request_body(Transaction *, const unsigned char *body, size_t size)`: 1, or
/// 0 for NULL or when the body limit rejects the request (see `msc_intervention`).
#[no_mangle]
pub unsafe extern "C" fn msc_append_request_body(
    transaction: *mut Transaction,
    body: *const u8,
    size: usize,
) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            let Some(chunk) = c_slice(body, size) else {
                return 0;
            };
            c_int::from(t.txn.append_request_body(chunk))
        })
    })
}

/// `int msc_request_body_from_file(Transaction *, const char *path)`: appends the file's
/// bytes as the request body; 0 if it cannot be read (or for NULL), else as
/// `msc_append_request_body`.
#[no_mangle]
pub unsafe extern "C" fn msc_request_body_from_file(
    transaction: *mut Transaction,
    path: *const c_char,
) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            let Some(path) = c_text(path) else {
                return 0;
            };
            match std::fs::read(&path) {
                Ok(bytes) => c_int::from(t.txn.append_request_body(&bytes)),
                Err(_) => 0,
            }
        })
    })
}

/// `int msc_process_request_body(Transaction *)`: runs phase 2; 1, or 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_process_request_body(transaction: *mut Transaction) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            t.txn.process_request_body();
            1
        })
    })
}

/// `int msc_add_response_header(Transaction *, const unsigned char *key, const unsigned char
/// *value)`: 1, or 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_add_response_header(
    transaction: *mut Transaction,
    key: *const u8,
    value: *const u8,
) -> c_int {
    ffi_boundary!(0, {
        add_header(
            transaction,
            c_bytes(key as *const c_char),
            c_bytes(value as *const c_char),
            waf_core::Transaction::add_response_header,
        )
    })
}

/// `int msc_add_n_response_header(Transaction *, const unsigned char *key, size_t len_key,
/// const unsigned char *value, size_t len_value)`: 1, or 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_add_n_response_header(
    transaction: *mut Transaction,
    key: *const u8,
    len_key: usize,
    value: *const u8,
    len_value: usize,
) -> c_int {
    ffi_boundary!(0, {
        add_header(
            transaction,
            c_slice(key, len_key),
            c_slice(value, len_value),
            waf_core::Transaction::add_response_header,
        )
    })
}

/// `int msc_process_response_headers(Transaction *, int code, const char *protocol)`: runs
/// phase 3 (`protocol` like `"HTTP 1.1"`; NULL is taken as empty). 1, or 0 for a NULL handle
/// or a status outside 0–65535.
#[no_mangle]
pub unsafe extern "C" fn msc_process_response_headers(
    transaction: *mut Transaction,
    code: c_int,
    protocol: *const c_char,
) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            let Ok(status) = u16::try_from(code) else {
                return 0;
            };
            t.txn
                .process_response_headers(status, c_bytes(protocol).unwrap_or_default());
            1
        })
    })
}

/// `int msc_update_status_code(Transaction *, int status)`: sets `RESPONSE_STATUS` for
/// logging; 1, or 0 for NULL or a status outside 0–65535.
#[no_mangle]
pub unsafe extern "C" fn msc_update_status_code(
    transaction: *mut Transaction,
    status: c_int,
) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            let Ok(status) = u16::try_from(status) else {
                return 0;
            };
            t.txn.update_status_code(status);
            1
        })
    })
}

/// `int msc_append_response_body(Transaction *, const unsigned char *body, size_t size)`: 1,
/// or 0 for NULL or a body over its limit with `Reject`.
#[no_mangle]
pub unsafe extern "C" fn msc_append_response_body(
    transaction: *mut Transaction,
    body: *const u8,
    size: usize,
) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            let Some(chunk) = c_slice(body, size) else {
                return 0;
            };
            c_int::from(t.txn.append_response_body(chunk))
        })
    })
}

/// `int msc_process_response_body(Transaction *)`: runs phase 4; 1, or 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_process_response_body(transaction: *mut Transaction) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            t.txn.process_response_body();
            1
        })
    })
}

/// `const char *msc_get_response_body(Transaction *)`: the response body as appended, with a
/// NUL after it (it may contain NULs: use `msc_get_response_body_length`); owned by the
/// transaction, valid until the next call of this function or `msc_transaction_cleanup`.
/// NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_get_response_body(transaction: *mut Transaction) -> *const c_char {
    ffi_boundary!(std::ptr::null(), {
        let Some(t) = transaction.as_mut() else {
            return std::ptr::null();
        };
        t.response_body.clear();
        t.response_body.extend_from_slice(t.txn.response_body());
        t.response_body.push(0);
        t.response_body.as_ptr() as *const c_char
    })
}

/// `size_t msc_get_response_body_length(Transaction *)`: 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_get_response_body_length(transaction: *mut Transaction) -> usize {
    ffi_boundary!(0, {
        transaction
            .as_ref()
            .map_or(0, |t| t.txn.response_body().len())
    })
}

/// `size_t msc_get_request_body_length(Transaction *)`: 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_get_request_body_length(transaction: *mut Transaction) -> usize {
    ffi_boundary!(0, {
        transaction
            .as_ref()
            .map_or(0, |t| t.txn.request_body().len())
    })
}

/// `int msc_process_logging(Transaction *)`: runs phase 5; 1, or 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_process_logging(transaction: *mut Transaction) -> c_int {
    ffi_boundary!(0, {
        with_txn(transaction, |t| {
            t.txn.process_logging();
            1
        })
    })
}

/// `int msc_intervention(Transaction *, ModSecurityIntervention *it)`: non-zero when the
/// server must act. Then `it` gets the status, `disruptive = 1`, `pause`, and `url`/`log` as
/// strings from `malloc` (or NULL) that the caller releases with `free()` or
/// `msc_intervention_cleanup` — `%d` in the log is replaced by the status — and the pending
/// intervention is reset, so the next call returns 0. When it returns 0, `*it` is untouched.
/// NULL arguments: 0.
#[no_mangle]
pub unsafe extern "C" fn msc_intervention(
    transaction: *mut Transaction,
    it: *mut ModSecurityIntervention,
) -> c_int {
    ffi_boundary!(0, {
        let (Some(t), Some(it)) = (transaction.as_mut(), it.as_mut()) else {
            return 0;
        };
        let Some(i) = t.txn.intervention() else {
            return 0;
        };
        it.status = c_int::from(i.status);
        it.pause = c_int::try_from(i.pause).unwrap_or(c_int::MAX);
        it.url = i.url.as_deref().map_or(std::ptr::null_mut(), c_strdup);
        it.log = i.log.as_deref().map_or(std::ptr::null_mut(), c_strdup);
        it.disruptive = 1;
        1
    })
}

/// `void msc_intervention_cleanup(ModSecurityIntervention *it)`: `free()`s `url` and `log` and
/// resets the struct (status 200, the rest 0/NULL). NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn msc_intervention_cleanup(it: *mut ModSecurityIntervention) {
    ffi_boundary!((), {
        let Some(it) = it.as_mut() else {
            return;
        };
        c_free(it.url as *mut c_void);
        c_free(it.log as *mut c_void);
        it.url = std::ptr::null_mut();
        it.log = std::ptr::null_mut();
        it.status = 200;
        it.pause = 0;
        it.disruptive = 0;
    })
}

/// `size_t msc_get_rules_messages_size(Transaction *)` (3.0.15): the number of rule messages
/// (matched rules that log) so far; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn msc_get_rules_messages_size(transaction: *mut Transaction) -> usize {
    ffi_boundary!(0, {
        transaction.as_ref().map_or(0, |t| t.txn.messages().len())
    })
}

/// `size_t msc_get_rules_messages_rule_ids(Transaction *, int64_t *ids, size_t max)` (3.0.15):
/// copies the rule ids of the first `max` messages into `ids`, returns how many; 0 for NULL
/// arguments or `max == 0`.
#[no_mangle]
pub unsafe extern "C" fn msc_get_rules_messages_rule_ids(
    transaction: *mut Transaction,
    ids: *mut i64,
    max: usize,
) -> usize {
    ffi_boundary!(0, {
        let Some(t) = transaction.as_ref() else {
            return 0;
        };
        if ids.is_null() || max == 0 {
            return 0;
        }
        let mut n = 0;
        for m in t.txn.messages().iter().take(max) {
            *ids.add(n) = i64::try_from(m.rule_id).unwrap_or(i64::MAX);
            n += 1;
        }
        n
    })
}

/// `void msc_transaction_cleanup(Transaction *)`: frees the transaction; NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn msc_transaction_cleanup(transaction: *mut Transaction) {
    ffi_boundary!((), {
        if !transaction.is_null() {
            drop(Box::from_raw(transaction));
        }
    })
}
