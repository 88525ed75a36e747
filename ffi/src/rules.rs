//! Rule sets (`RulesSet *`): `msc_create_rules_set`, `msc_rules_add`, `msc_rules_add_file`,
//! `msc_rules_add_remote`, `msc_rules_merge`, `msc_rules_dump`, `msc_rules_cleanup`,
//! `msc_rules_error_cleanup`.
//!
//! A handle keeps the configuration *sources* given to it (files and texts, in order) and the
//! [`waf_core::RuleSet`] compiled from all of them. Each successful add or merge recompiles the
//! whole list, so `SecMarker`/`skipAfter`, `SecRuleRemoveById` and duplicate-id checks work
//! across adds; a failed add changes nothing (all-or-nothing, like libmodsecurity). A
//! transaction keeps the `Arc<RuleSet>` it was created with.
//!
//! Differences from libmodsecurity, on purpose or for now:
//! - files are read again on every recompile (an edited file changes the next rebuild);
//! - one `SecDefaultAction` per phase across all the sources of a handle (libmodsecurity allows
//!   one per phase per add);
//! - `msc_rules_add_remote` never downloads: it fails with an error string.
//!
//! Error strings: `Rules error. File: <file>. Line: <n>. Column: <n>. <message>: <text>` for the
//! first error found (`<<reference missing or not informed>>` as the file of `msc_rules_add`, as
//! libmodsecurity writes it), malloc'd, for `free()` or `msc_rules_error_cleanup`.

use crate::{c_free, c_strdup, c_text, ffi_boundary};
use std::ffi::{c_char, c_int, c_void};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use waf_core::config::{BodyLimitAction, EngineConfig, RuleEngine};
use waf_core::syntax::{Errors, Loader};
use waf_core::RuleSet;

/// The file name libmodsecurity reports for rules given as text.
pub const TEXT_SOURCE_NAME: &str = "<<reference missing or not informed>>";

/// libmodsecurity's `ConfigDouble` (`{bool m_set; double m_value;}`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConfigDouble {
    pub set: bool,
    pub value: f64,
}

/// libmodsecurity's `ConfigInt` (`{bool m_set; int m_value;}`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfigInt {
    pub set: bool,
    pub value: c_int,
}

/// `RulesSetProperties::ConfigBoolean` values.
pub const TRUE_CONFIG_BOOLEAN: c_int = 0;
pub const FALSE_CONFIG_BOOLEAN: c_int = 1;
pub const PROPERTY_NOT_SET_CONFIG_BOOLEAN: c_int = 2;
/// `RulesSetProperties::BodyLimitAction` values.
pub const PROCESS_PARTIAL_BODY_LIMIT_ACTION: c_int = 0;
pub const REJECT_BODY_LIMIT_ACTION: c_int = 1;
/// `RulesSetProperties::RuleEngine` values.
pub const DISABLED_RULE_ENGINE: c_int = 0;
pub const ENABLED_RULE_ENGINE: c_int = 1;
pub const DETECTION_ONLY_RULE_ENGINE: c_int = 2;
pub const PROPERTY_NOT_SET_RULE_ENGINE: c_int = 3;
/// `RulesSetProperties::OnFailedRemoteRulesAction::PropertyNotSetRemoteRulesAction`.
pub const PROPERTY_NOT_SET_REMOTE_RULES_ACTION: c_int = 2;

/// The first 152 bytes of libmodsecurity's `RulesSet` (its base `RulesSetProperties`, x86_64,
/// identical in 3.0.9 and 3.0.13+), as compiled C++ code reads them: OpenLiteSpeed's module
/// reads `m_secRequestBodyAccess` (0x10), `m_secResponseBodyAccess` (0x14),
/// `m_requestBodyLimit.m_value` (0x50) and `m_responseBodyLimit.m_value` (0x70). The pointers
/// are always NULL. Rewritten from the compiled configuration after every add and merge.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RulesSetProperties {
    pub audit_log: *mut c_void,
    pub request_body_limit_action: c_int,
    pub response_body_limit_action: c_int,
    pub sec_request_body_access: c_int,
    pub sec_response_body_access: c_int,
    pub sec_xml_external_entity: c_int,
    pub tmp_save_uploaded_files: c_int,
    pub upload_keep_files: c_int,
    pub arguments_limit: ConfigDouble,
    pub request_body_json_depth_limit: ConfigDouble,
    pub request_body_limit: ConfigDouble,
    pub request_body_no_files_limit: ConfigDouble,
    pub response_body_limit: ConfigDouble,
    pub upload_file_limit: ConfigInt,
    pub upload_file_mode: ConfigInt,
    pub debug_log: *mut c_void,
    pub remote_rules_action_on_failed: c_int,
    pub sec_rule_engine: c_int,
}

fn config_bool(v: Option<bool>) -> c_int {
    match v {
        Some(true) => TRUE_CONFIG_BOOLEAN,
        Some(false) => FALSE_CONFIG_BOOLEAN,
        None => PROPERTY_NOT_SET_CONFIG_BOOLEAN,
    }
}

fn config_double(v: Option<u64>) -> ConfigDouble {
    match v {
        Some(n) => ConfigDouble {
            set: true,
            value: n as f64,
        },
        None => ConfigDouble::default(),
    }
}

fn limit_action(a: BodyLimitAction) -> c_int {
    match a {
        BodyLimitAction::ProcessPartial => PROCESS_PARTIAL_BODY_LIMIT_ACTION,
        BodyLimitAction::Reject => REJECT_BODY_LIMIT_ACTION,
    }
}

impl RulesSetProperties {
    /// The values of `config` (an empty configuration gives libmodsecurity's "not set" values).
    pub fn from_config(config: &EngineConfig) -> RulesSetProperties {
        RulesSetProperties {
            audit_log: std::ptr::null_mut(),
            request_body_limit_action: limit_action(config.request_body_limit_action),
            response_body_limit_action: limit_action(config.response_body_limit_action),
            sec_request_body_access: config_bool(config.request_body_access),
            sec_response_body_access: config_bool(config.response_body_access),
            sec_xml_external_entity: config_bool(config.xml_external_entity),
            tmp_save_uploaded_files: config_bool(config.tmp_save_uploaded_files),
            upload_keep_files: config_bool(
                config
                    .upload_keep_files
                    .as_deref()
                    .map(|v| !v.eq_ignore_ascii_case("off")),
            ),
            arguments_limit: config_double(config.arguments_limit),
            request_body_json_depth_limit: config_double(config.request_body_json_depth_limit),
            request_body_limit: config_double(config.request_body_limit),
            request_body_no_files_limit: config_double(config.request_body_no_files_limit),
            response_body_limit: config_double(config.response_body_limit),
            upload_file_limit: match config.upload_file_limit {
                Some(n) => ConfigInt {
                    set: true,
                    value: c_int::try_from(n).unwrap_or(c_int::MAX),
                },
                None => ConfigInt::default(),
            },
            upload_file_mode: ConfigInt::default(),
            debug_log: std::ptr::null_mut(),
            remote_rules_action_on_failed: PROPERTY_NOT_SET_REMOTE_RULES_ACTION,
            sec_rule_engine: match config.rule_engine {
                Some(RuleEngine::Off) => DISABLED_RULE_ENGINE,
                Some(RuleEngine::On) => ENABLED_RULE_ENGINE,
                Some(RuleEngine::DetectionOnly) => DETECTION_ONLY_RULE_ENGINE,
                None => PROPERTY_NOT_SET_RULE_ENGINE,
            },
        }
    }
}

/// One configuration source of a handle.
#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Text(String),
}

#[derive(Debug)]
struct Inner {
    sources: Vec<Source>,
    compiled: Arc<RuleSet>,
    /// `msc_rules_add*`'s count for all the sources together.
    count: usize,
}

/// The `RulesSet` handle of the C API: libmodsecurity's property prefix, then Sekisho's state.
#[repr(C)]
#[derive(Debug)]
pub struct RulesSet {
    /// Must stay the first field (OpenLiteSpeed reads it through the C++ class layout).
    pub properties: RulesSetProperties,
    inner: Mutex<Inner>,
}

/// Compiled from `sources`: the rule set and its libmodsecurity rule count.
fn build(sources: &[Source]) -> Result<(RuleSet, usize), Errors> {
    let mut loader = Loader::new();
    for s in sources {
        match s {
            Source::File(p) => {
                loader.add_file(p);
            }
            Source::Text(t) => {
                loader.add_str(TEXT_SOURCE_NAME, t, None);
            }
        }
    }
    let config = loader.finish()?;
    let count = config.stats.libmodsecurity_count();
    Ok((waf_core::compile(config)?, count))
}

/// libmodsecurity's style of error text, for the first error.
pub fn error_text(errors: &Errors) -> String {
    match errors.errors.first() {
        Some(e) => {
            let mut s = format!(
                "Rules error. File: {}. Line: {}. Column: {}. {}",
                errors.sources.name(e.span.file).display(),
                e.span.line,
                e.span.column,
                e.message
            );
            if !e.snippet.is_empty() {
                s.push_str(": ");
                s.push_str(&e.snippet);
            }
            s
        }
        None => "Rules error. Unknown error.".to_string(),
    }
}

impl RulesSet {
    fn empty() -> RulesSet {
        let (compiled, count) = build(&[]).unwrap_or_else(|_| {
            // An empty configuration always compiles; this is only a fallback.
            (RuleSet::from_text("", "", None).expect("empty rule set"), 0)
        });
        RulesSet {
            properties: RulesSetProperties::from_config(&compiled.config),
            inner: Mutex::new(Inner {
                sources: Vec::new(),
                compiled: Arc::new(compiled),
                count,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The compiled rules in force (what a new transaction gets).
    pub fn compiled(&self) -> Arc<RuleSet> {
        self.lock().compiled.clone()
    }

    /// The sources, compiled rules and rule count (for a merge).
    fn snapshot(&self) -> (Vec<Source>, Arc<RuleSet>, usize) {
        let inner = self.lock();
        (inner.sources.clone(), inner.compiled.clone(), inner.count)
    }

    /// Merges `from` (its [`Self::snapshot`]) into this rule set: when this one has no source
    /// yet (a server's or location's rules inheriting from the enclosing block, as nginx's
    /// connector merges every block's configuration), it takes `from`'s compiled rules as they
    /// are, as libmodsecurity copies already-built rules; otherwise the sources are appended
    /// and compiled again. Returns the rules added, or the error text (nothing changes).
    fn merge(&mut self, from: (Vec<Source>, Arc<RuleSet>, usize)) -> Result<usize, String> {
        let (sources, compiled, count) = from;
        if sources.is_empty() {
            return Ok(0);
        }
        let mut inner = self.lock();
        if !inner.sources.is_empty() {
            drop(inner);
            return self.extend(sources);
        }
        let properties = RulesSetProperties::from_config(&compiled.config);
        let added = count.saturating_sub(inner.count);
        inner.sources = sources;
        inner.compiled = compiled;
        inner.count = count;
        drop(inner);
        self.properties = properties;
        Ok(added)
    }

    /// Appends `more` and recompiles; returns how many rules that added, or the error text
    /// (and nothing changes).
    fn extend(&mut self, more: Vec<Source>) -> Result<usize, String> {
        let mut inner = self.lock();
        let mut sources = inner.sources.clone();
        sources.extend(more);
        let (compiled, count) = build(&sources).map_err(|e| error_text(&e))?;
        let added = count.saturating_sub(inner.count);
        let properties = RulesSetProperties::from_config(&compiled.config);
        inner.sources = sources;
        inner.compiled = Arc::new(compiled);
        inner.count = count;
        drop(inner);
        self.properties = properties;
        Ok(added)
    }
}

/// Converts an add/merge result to the C return value, writing `*error` on failure.
unsafe fn report(result: Result<usize, String>, error: *mut *const c_char) -> c_int {
    match result {
        Ok(n) => c_int::try_from(n).unwrap_or(c_int::MAX),
        Err(msg) => {
            set_error(error, &msg);
            -1
        }
    }
}

unsafe fn set_error(error: *mut *const c_char, msg: &str) {
    if !error.is_null() {
        *error = c_strdup(msg);
    }
}

/// `RulesSet *msc_create_rules_set(void)`: an empty rule set; NULL only if a panic was caught.
#[no_mangle]
pub extern "C" fn msc_create_rules_set() -> *mut RulesSet {
    ffi_boundary!(std::ptr::null_mut(), {
        Box::into_raw(Box::new(RulesSet::empty()))
    })
}

/// `msc_rules_add` and `msc_rules_add_file`: `text` (the rules, or a file name; `what` names
/// it in the NULL error) becomes one more source of the rule set.
unsafe fn add_source(
    rules: *mut RulesSet,
    text: *const c_char,
    what: &str,
    source: impl FnOnce(String) -> Source,
    error: *mut *const c_char,
) -> c_int {
    let Some(rs) = rules.as_mut() else {
        set_error(error, "Rules error. No rule set (NULL RulesSet).");
        return -1;
    };
    let Some(text) = c_text(text) else {
        set_error(error, &format!("Rules error. No {what} (NULL string)."));
        return -1;
    };
    report(rs.extend(vec![source(text)]), error)
}

/// `int msc_rules_add(RulesSet *, const char *plain_rules, const char **error)`: rules added
/// (libmodsecurity's count: rules, chains once, `SecMarker` 7) or -1 with `*error` set (when
/// `error` is not NULL). NULL `rules`/`plain_rules`: -1.
#[no_mangle]
pub unsafe extern "C" fn msc_rules_add(
    rules: *mut RulesSet,
    plain_rules: *const c_char,
    error: *mut *const c_char,
) -> c_int {
    ffi_boundary!(-1, {
        add_source(rules, plain_rules, "rules", Source::Text, error)
    })
}

/// `int msc_rules_add_file(RulesSet *, const char *file, const char **error)`: as
/// `msc_rules_add`, for a file (relative paths and `Include`s from the current directory).
#[no_mangle]
pub unsafe extern "C" fn msc_rules_add_file(
    rules: *mut RulesSet,
    file: *const c_char,
    error: *mut *const c_char,
) -> c_int {
    ffi_boundary!(-1, {
        add_source(
            rules,
            file,
            "file name",
            |path| Source::File(PathBuf::from(path)),
            error,
        )
    })
}

/// `int msc_rules_add_remote(RulesSet *, const char *key, const char *uri, const char **error)`:
/// always -1 — this library does not download rules (no network access from the WAF).
#[no_mangle]
pub unsafe extern "C" fn msc_rules_add_remote(
    rules: *mut RulesSet,
    key: *const c_char,
    uri: *const c_char,
    error: *mut *const c_char,
) -> c_int {
    ffi_boundary!(-1, {
        let _ = (rules, key);
        let uri = c_text(uri).unwrap_or_default();
        set_error(
            error,
            &format!(
                "Rules error. SecRemoteRules {uri}: remote rules are not supported by Sekisho \
                 (download the file and use msc_rules_add_file)."
            ),
        );
        -1
    })
}

/// `int msc_rules_merge(RulesSet *dst, RulesSet *from, const char **error)`: appends `from`'s
/// sources to `dst`'s and recompiles (later settings win, as in libmodsecurity where `from`'s
/// set properties override); an empty `dst` takes `from`'s compiled rules without compiling.
/// Returns the rules added or -1 with `*error` (`dst` unchanged).
#[no_mangle]
pub unsafe extern "C" fn msc_rules_merge(
    rules_dst: *mut RulesSet,
    rules_from: *mut RulesSet,
    error: *mut *const c_char,
) -> c_int {
    ffi_boundary!(-1, {
        if rules_dst.is_null() || rules_from.is_null() {
            set_error(error, "Rules error. No rule set (NULL RulesSet).");
            return -1;
        }
        // Read `from` before borrowing `dst` mutably: they may be the same handle.
        let from = (*rules_from).snapshot();
        report((*rules_dst).merge(from), error)
    })
}

/// `void msc_rules_dump(RulesSet *)`: prints the rules per phase to stdout (`Phase: N (M
/// rules)` then `    Rule ID: <id>` lines). NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn msc_rules_dump(rules: *mut RulesSet) {
    ffi_boundary!((), {
        let Some(rs) = rules.as_ref() else {
            return;
        };
        let compiled = rs.compiled();
        let mut out = String::from("Rules: \n");
        for phase in 0..=5u8 {
            let ids: Vec<u64> = compiled.rules(phase).map(|r| r.id).collect();
            out.push_str(&format!("Phase: {phase} ({} rules)\n", ids.len()));
            for id in ids {
                out.push_str(&format!("    Rule ID: {id}\n"));
            }
        }
        use std::io::Write;
        let _ = std::io::stdout().write_all(out.as_bytes());
        let _ = std::io::stdout().flush();
    })
}

/// `int msc_rules_cleanup(RulesSet *)`: frees the handle, returns 1; 0 for NULL. Transactions
/// created from it keep their rules.
#[no_mangle]
pub unsafe extern "C" fn msc_rules_cleanup(rules: *mut RulesSet) -> c_int {
    ffi_boundary!(0, {
        if rules.is_null() {
            return 0;
        }
        drop(Box::from_raw(rules));
        1
    })
}

/// `void msc_rules_error_cleanup(const char *error)`: `free(error)`; NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn msc_rules_error_cleanup(error: *const c_char) {
    ffi_boundary!((), { c_free(error as *mut c_void) })
}
