//! go-ftw test files and platform override files, parsed into typed structs.
//!
//! The schema is ftw-tests-schema v2/v3 as go-ftw v2 reads it (`types/types.go`,
//! `types/overrides/types.go`), plus the two legacy shapes that cost nothing: a stage wrapped in
//! `stage:` (ftw v1) and `output.status` given as a list. Like Go's YAML decoding, unknown keys
//! are ignored; unlike it, they are reported ([`TestFile::warnings`]) so a typo in a test file
//! does not silently disable an expectation.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// One test file (`920100.yaml`).
#[derive(Debug, Clone)]
pub struct TestFile {
    pub path: PathBuf,
    pub meta: Meta,
    /// `rule_id`, or (like go-ftw) the first number in the file name when it is missing.
    pub rule_id: u64,
    pub tests: Vec<Test>,
    /// Keys the schema does not know, as `path.to.key` (go-ftw ignores them silently).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Meta {
    #[serde(deserialize_with = "opt_text")]
    pub author: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub description: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub name: Option<String>,
    /// Deprecated in the schema and ignored by go-ftw v2.
    pub enabled: Option<bool>,
    #[serde(deserialize_with = "opt_text")]
    pub version: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub tags: Vec<String>,
}

/// One test case: `tests[n]`.
#[derive(Debug, Clone)]
pub struct Test {
    pub rule_id: u64,
    /// `test_id`, or its 1-based position in the file when missing or 0 (go-ftw `postLoadTest`).
    pub test_id: u64,
    /// The deprecated `test_title`, when given.
    pub test_title: Option<String>,
    pub desc: Option<String>,
    pub tags: Vec<String>,
    pub stages: Vec<Stage>,
}

impl Test {
    /// `<rule_id>-<test_id>`, the name go-ftw prints and matches `--include`/`--exclude` against.
    pub fn id_string(&self) -> String {
        format!("{}-{}", self.rule_id, self.test_id)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Stage {
    pub description: Option<String>,
    pub input: Input,
    pub output: Output,
}

/// What to send (`stages[n].input`). `None` means "absent"; go-ftw's defaults apply then
/// (GET, `/`, `HTTP/1.1`, autocomplete on) — see `request.rs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Input {
    #[serde(deserialize_with = "opt_text")]
    pub dest_addr: Option<String>,
    pub port: Option<i64>,
    #[serde(deserialize_with = "opt_text")]
    pub protocol: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub method: Option<String>,
    /// The request target, sent verbatim (query string, absolute URI, garbage alike).
    #[serde(deserialize_with = "opt_text")]
    pub uri: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub uris: Vec<String>,
    /// Everything after the target on the request line (`HTTP/1.1`; `""` is legal).
    #[serde(deserialize_with = "opt_text")]
    pub version: Option<String>,
    /// The `headers:` map in file order. go-ftw sends them sorted by name (`request.rs`).
    #[serde(deserialize_with = "opt_headers")]
    pub headers: Option<Vec<(String, String)>>,
    /// The body, a Go template (`template.rs`).
    #[serde(deserialize_with = "opt_text")]
    pub data: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    pub encoded_data: Option<String>,
    /// The whole request, base64: sent as is, nothing else of the input is used.
    #[serde(deserialize_with = "opt_text")]
    pub encoded_request: Option<String>,
    /// Deprecated (ftw v1): the whole request as text.
    #[serde(deserialize_with = "opt_text")]
    pub raw_request: Option<String>,
    pub autocomplete_headers: Option<bool>,
    /// Deprecated inverse of `autocomplete_headers`.
    pub stop_magic: Option<bool>,
    pub save_cookie: Option<bool>,
    pub follow_redirect: Option<bool>,
    pub virtual_host_mode: Option<bool>,
}

impl Input {
    /// go-ftw `postProcessAutocompleteHeaders`: `autocomplete_headers`, else `!stop_magic`, else
    /// true.
    pub fn autocomplete(&self) -> bool {
        match (self.autocomplete_headers, self.stop_magic) {
            (Some(a), _) => a,
            (None, Some(s)) => !s,
            (None, None) => true,
        }
    }
}

/// What to expect (`stages[n].output`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The status must be one of these (empty: not checked). v2+ files give one integer.
    pub status: Vec<u16>,
    /// A Go regexp matched against the whole raw response.
    pub response_contains: Option<String>,
    pub log: LogExpect,
    pub expect_error: Option<bool>,
    /// A go-ftw workaround for log-flush races; meaningless in-process, kept for completeness.
    pub retry_once: Option<bool>,
    /// Exactly one rule (the one in `expect_ids`) may appear in the log.
    pub isolated: bool,
}

impl Output {
    pub fn expects_error(&self) -> bool {
        self.expect_error == Some(true)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LogExpect {
    /// All of these ids must be in the log.
    #[serde(deserialize_with = "null_default")]
    pub expect_ids: Vec<u64>,
    /// None of these ids may be in the log.
    #[serde(deserialize_with = "null_default")]
    pub no_expect_ids: Vec<u64>,
    /// A Go regexp that must match some log line.
    #[serde(deserialize_with = "opt_text")]
    pub match_regex: Option<String>,
    /// A Go regexp that must match no log line.
    #[serde(deserialize_with = "opt_text")]
    pub no_match_regex: Option<String>,
}

/// A platform overrides file (`nginx-overrides.yaml`).
#[derive(Debug, Clone, Default)]
pub struct OverridesFile {
    pub path: PathBuf,
    pub version: Option<String>,
    pub engine: Option<String>,
    pub platform: Option<String>,
    /// `annotations`, flattened: the schema says a map, CRS writes a list of one-key maps.
    pub annotations: Vec<(String, String)>,
    pub test_overrides: Vec<TestOverride>,
}

#[derive(Debug, Clone, Default)]
pub struct TestOverride {
    pub rule_id: u64,
    /// Empty: every test of the rule (the schema's wording).
    pub test_ids: Vec<u64>,
    /// 0-based stage indexes; empty: every stage.
    pub stage_ids: Vec<u64>,
    pub reason: String,
    pub retry_once: Option<bool>,
    /// The replacement output. `None` when the entry has no `output:`; go-ftw then replaces the
    /// stage's output with an empty one, i.e. turns every check off.
    pub output: Option<Output>,
}

impl TestOverride {
    pub fn applies_to(&self, rule_id: u64, test_id: u64) -> bool {
        self.rule_id == rule_id && (self.test_ids.is_empty() || self.test_ids.contains(&test_id))
    }
}

impl OverridesFile {
    /// The entries that apply to one test, in file order.
    pub fn for_test(&self, rule_id: u64, test_id: u64) -> Vec<&TestOverride> {
        self.test_overrides
            .iter()
            .filter(|o| o.applies_to(rule_id, test_id))
            .collect()
    }
}

/// Why a file could not be read.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ParseError {}

// ---------------------------------------------------------------------------------------------
// Raw serde shapes.

#[derive(Deserialize)]
struct RawFile {
    #[serde(default, deserialize_with = "null_default")]
    meta: Meta,
    #[serde(default)]
    rule_id: Option<u64>,
    #[serde(default, deserialize_with = "null_default")]
    tests: Vec<RawTest>,
}

#[derive(Deserialize)]
struct RawTest {
    #[serde(default, deserialize_with = "opt_text")]
    test_title: Option<String>,
    #[serde(default)]
    test_id: Option<u64>,
    #[serde(default, deserialize_with = "opt_text")]
    desc: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    tags: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    stages: Vec<RawStage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawStage {
    #[serde(deserialize_with = "opt_text")]
    description: Option<String>,
    #[serde(deserialize_with = "null_default")]
    input: Input,
    #[serde(deserialize_with = "null_default")]
    output: RawOutput,
    /// ftw v1 wrapped each stage in `stage:`.
    stage: Option<Box<RawStage>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawOutput {
    #[serde(deserialize_with = "status_list")]
    status: Vec<u16>,
    #[serde(deserialize_with = "opt_text")]
    response_contains: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    log_contains: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    no_log_contains: Option<String>,
    #[serde(deserialize_with = "null_default")]
    log: LogExpect,
    expect_error: Option<bool>,
    retry_once: Option<bool>,
    #[serde(deserialize_with = "null_default")]
    isolated: bool,
}

impl RawOutput {
    /// go-ftw `postProcessLogContains`: the deprecated `log_contains`/`no_log_contains` become
    /// `match_regex`/`no_match_regex` unless `log` already says something.
    fn finish(self) -> Output {
        let mut log = self.log;
        if let Some(re) = self.log_contains.filter(|s| !s.is_empty()) {
            if log.expect_ids.is_empty() && log.match_regex.as_deref().unwrap_or("").is_empty() {
                log.match_regex = Some(re);
            }
        }
        if let Some(re) = self.no_log_contains.filter(|s| !s.is_empty()) {
            if log.no_expect_ids.is_empty()
                && log.no_match_regex.as_deref().unwrap_or("").is_empty()
            {
                log.no_match_regex = Some(re);
            }
        }
        Output {
            status: self.status,
            response_contains: self.response_contains.filter(|s| !s.is_empty()),
            log,
            expect_error: self.expect_error,
            retry_once: self.retry_once,
            isolated: self.isolated,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawOverridesFile {
    #[serde(deserialize_with = "opt_text")]
    version: Option<String>,
    #[serde(deserialize_with = "null_default")]
    meta: RawOverridesMeta,
    #[serde(deserialize_with = "null_default")]
    test_overrides: Vec<RawTestOverride>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawOverridesMeta {
    #[serde(deserialize_with = "opt_text")]
    engine: Option<String>,
    #[serde(deserialize_with = "opt_text")]
    platform: Option<String>,
    annotations: Option<serde_norway::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTestOverride {
    rule_id: u64,
    #[serde(deserialize_with = "null_default")]
    test_ids: Vec<u64>,
    #[serde(deserialize_with = "null_default")]
    stage_ids: Vec<u64>,
    #[serde(deserialize_with = "opt_text")]
    reason: Option<String>,
    retry_once: Option<bool>,
    output: Option<RawOutput>,
}

// ---------------------------------------------------------------------------------------------
// Public entry points.

/// Parses one test file. A file with no YAML content (CRS's 920539.yaml is all comments) gives a
/// [`TestFile`] with no tests, as in go-ftw.
pub fn parse_test_file(text: &str, path: &Path) -> Result<TestFile, ParseError> {
    let err = |message: String| ParseError {
        path: path.to_path_buf(),
        message,
    };
    let value: serde_norway::Value =
        serde_norway::from_str(text).map_err(|e| err(e.to_string()))?;
    let mut warnings = Vec::new();
    check_keys(&value, "", TOP_KEYS, &mut warnings);
    let raw: RawFile = if value.is_null() {
        RawFile {
            meta: Meta::default(),
            rule_id: None,
            tests: Vec::new(),
        }
    } else {
        serde_norway::from_str(text).map_err(|e| err(e.to_string()))?
    };
    let rule_id = match raw.rule_id.filter(|&r| r > 0) {
        Some(r) => r,
        None => rule_id_from_file_name(path).ok_or_else(|| {
            err("the rule_id field is missing and the file name holds no number".into())
        })?,
    };
    let tests = raw
        .tests
        .into_iter()
        .enumerate()
        .map(|(i, t)| Test {
            rule_id,
            test_id: t.test_id.filter(|&n| n > 0).unwrap_or(i as u64 + 1),
            test_title: t.test_title,
            desc: t.desc,
            tags: t.tags,
            stages: t.stages.into_iter().map(finish_stage).collect(),
        })
        .collect();
    Ok(TestFile {
        path: path.to_path_buf(),
        meta: raw.meta,
        rule_id,
        tests,
        warnings,
    })
}

/// Reads and parses one test file from disk.
pub fn load_test_file(path: &Path) -> Result<TestFile, ParseError> {
    let text = std::fs::read_to_string(path).map_err(|e| ParseError {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    parse_test_file(&text, path)
}

/// The test files under `dir`, recursively, sorted by path: every file whose name matches
/// go-ftw's default glob `*.y*ml` (so `999999.yml` too).
pub fn find_test_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(matches_yaml_glob)
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// `*.y*ml`: a `.y` somewhere, `ml` at the end after it.
fn matches_yaml_glob(name: &str) -> bool {
    name.find(".y")
        .is_some_and(|i| name[i + 2..].ends_with("ml"))
}

/// Loads every test file under `dir`; files that fail to parse are returned separately.
pub fn load_test_dir(dir: &Path) -> std::io::Result<(Vec<TestFile>, Vec<ParseError>)> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in find_test_files(dir)? {
        match load_test_file(&path) {
            Ok(f) => files.push(f),
            Err(e) => errors.push(e),
        }
    }
    Ok((files, errors))
}

/// Parses a platform overrides file.
pub fn parse_overrides(text: &str, path: &Path) -> Result<OverridesFile, ParseError> {
    let err = |message: String| ParseError {
        path: path.to_path_buf(),
        message,
    };
    let raw: RawOverridesFile = if text.trim().is_empty() {
        RawOverridesFile::default()
    } else {
        serde_norway::from_str::<Option<RawOverridesFile>>(text)
            .map_err(|e| err(e.to_string()))?
            .unwrap_or_default()
    };
    let mut annotations = Vec::new();
    if let Some(v) = raw.meta.annotations {
        flatten_annotations(&v, &mut annotations);
    }
    Ok(OverridesFile {
        path: path.to_path_buf(),
        version: raw.version,
        engine: raw.meta.engine,
        platform: raw.meta.platform,
        annotations,
        test_overrides: raw
            .test_overrides
            .into_iter()
            .map(|o| TestOverride {
                rule_id: o.rule_id,
                test_ids: o.test_ids,
                stage_ids: o.stage_ids,
                reason: o.reason.unwrap_or_default(),
                retry_once: o.retry_once,
                output: o.output.map(RawOutput::finish),
            })
            .collect(),
    })
}

/// Reads and parses an overrides file from disk.
pub fn load_overrides(path: &Path) -> Result<OverridesFile, ParseError> {
    let text = std::fs::read_to_string(path).map_err(|e| ParseError {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    parse_overrides(&text, path)
}

fn finish_stage(s: RawStage) -> Stage {
    match s.stage {
        Some(inner) => finish_stage(RawStage {
            description: inner.description.or(s.description),
            ..*inner
        }),
        None => Stage {
            description: s.description,
            input: s.input,
            output: s.output.finish(),
        },
    }
}

fn rule_id_from_file_name(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let start = name.find(|c: char| c.is_ascii_digit())?;
    let digits: String = name[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn flatten_annotations(v: &serde_norway::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_norway::Value::Mapping(m) => {
            for (k, v) in m {
                out.push((scalar_text(k), scalar_text(v)));
            }
        }
        serde_norway::Value::Sequence(items) => {
            for item in items {
                flatten_annotations(item, out);
            }
        }
        other => out.push((String::new(), scalar_text(other))),
    }
}

fn scalar_text(v: &serde_norway::Value) -> String {
    match v {
        serde_norway::Value::String(s) => s.clone(),
        serde_norway::Value::Number(n) => n.to_string(),
        serde_norway::Value::Bool(b) => b.to_string(),
        serde_norway::Value::Null => String::new(),
        other => format!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Unknown-key report.

type Keys = &'static [(&'static str, Option<&'static Sub>)];

enum Sub {
    Map(Keys),
    SeqOfMap(Keys),
    /// A map with free keys (headers).
    Any,
}

const LOG_KEYS: Keys = &[
    ("expect_ids", None),
    ("no_expect_ids", None),
    ("match_regex", None),
    ("no_match_regex", None),
];
const OUTPUT_KEYS: Keys = &[
    ("status", None),
    ("response_contains", None),
    ("log_contains", None),
    ("no_log_contains", None),
    ("log", Some(&Sub::Map(LOG_KEYS))),
    ("expect_error", None),
    ("retry_once", None),
    ("isolated", None),
];
const INPUT_KEYS: Keys = &[
    ("dest_addr", None),
    ("port", None),
    ("protocol", None),
    ("method", None),
    ("uri", None),
    ("uris", None),
    ("version", None),
    ("headers", Some(&Sub::Any)),
    ("data", None),
    ("encoded_data", None),
    ("encoded_request", None),
    ("raw_request", None),
    ("autocomplete_headers", None),
    ("stop_magic", None),
    ("save_cookie", None),
    ("follow_redirect", None),
    ("virtual_host_mode", None),
    ("response", Some(&Sub::Any)),
];
const STAGE_KEYS: Keys = &[
    ("description", None),
    ("input", Some(&Sub::Map(INPUT_KEYS))),
    ("output", Some(&Sub::Map(OUTPUT_KEYS))),
    // ftw v1's wrapper; its content is not checked.
    ("stage", Some(&Sub::Any)),
];
const TEST_KEYS: Keys = &[
    ("test_title", None),
    ("test_id", None),
    ("desc", None),
    ("tags", None),
    ("stages", Some(&Sub::SeqOfMap(STAGE_KEYS))),
];
const META_KEYS: Keys = &[
    ("author", None),
    ("description", None),
    ("enabled", None),
    ("name", None),
    ("version", None),
    ("tags", None),
];
const TOP_KEYS: Keys = &[
    ("meta", Some(&Sub::Map(META_KEYS))),
    ("rule_id", None),
    ("tests", Some(&Sub::SeqOfMap(TEST_KEYS))),
];

fn check_keys(v: &serde_norway::Value, at: &str, keys: Keys, out: &mut Vec<String>) {
    let serde_norway::Value::Mapping(m) = v else {
        return;
    };
    for (k, child) in m {
        let name = scalar_text(k);
        let path = if at.is_empty() {
            name.clone()
        } else {
            format!("{at}.{name}")
        };
        match keys.iter().find(|(n, _)| *n == name) {
            None => out.push(path),
            Some((_, None | Some(Sub::Any))) => {}
            Some((_, Some(Sub::Map(sub)))) => check_keys(child, &path, sub, out),
            Some((_, Some(Sub::SeqOfMap(sub)))) => {
                if let serde_norway::Value::Sequence(items) = child {
                    for (i, item) in items.iter().enumerate() {
                        check_keys(item, &format!("{path}[{i}]"), sub, out);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field deserializers.

/// Any scalar as its text, like Go's YAML decoding into a `string`: `Content-Length: 7` is "7".
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(String::new()))
            }
        }
        // deserialize_str hands the scalar's source text to visit_str for plain scalars.
        d.deserialize_str(V)
    }
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Text>::deserialize(d)?.map(|t| t.0))
}

/// `null` (or `~`, or an empty value) as the type's default, like a Go zero value.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `status: 200` (v2+) or `status: [200, 403]` (older schema).
fn status_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S {
        One(u16),
        Many(Vec<u16>),
    }
    Ok(match Option::<S>::deserialize(d)? {
        None => Vec::new(),
        Some(S::One(0)) => Vec::new(), // Go's zero value: "no expectation"
        Some(S::One(s)) => vec![s],
        Some(S::Many(v)) => v,
    })
}

/// The `headers:` mapping, in file order, values as text; a key given twice is an error, as in
/// Go's YAML decoding.
fn opt_headers<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<(String, String)>>, D::Error> {
    struct Headers(Vec<(String, String)>);
    impl<'de> Deserialize<'de> for Headers {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Headers;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a mapping of header names to values")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Headers, A::Error> {
                    let mut out: Vec<(String, String)> = Vec::new();
                    while let Some((Text(k), Text(v))) = m.next_entry::<Text, Text>()? {
                        if out.iter().any(|(n, _)| *n == k) {
                            return Err(de::Error::custom(format!(
                                "header {k:?} is given twice (a YAML mapping key must be unique)"
                            )));
                        }
                        out.push((k, v));
                    }
                    Ok(Headers(out))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Headers, A::Error> {
                    Err(de::Error::custom("headers must be a mapping"))
                }
            }
            d.deserialize_map(V)
        }
    }
    Ok(Option::<Headers>::deserialize(d)?.map(|h| h.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"---
meta:
  author: "someone"
rule_id: 920181
tests:
  - test_id: 1
    desc: "x"
    stages:
      - input:
          dest_addr: "127.0.0.1"
          port: 80
          method: "POST"
          headers:
            User-Agent: "OWASP CRS test agent"
            Host: "localhost"
            Content-Length: 7
            Yes-Header: yes
          uri: "/anything"
          data: |
            a=b
        output:
          status: 200
          respons_contains: typo
          log:
            no_expect_ids: [920181]
  - stages:
      - stage:
          input:
            uri: /x
          output:
            status: [200, 403]
            log_contains: id "942100"
            bogus: 1
"#;

    #[test]
    fn parses_the_schema() {
        let f = parse_test_file(SAMPLE, Path::new("920181.yaml")).unwrap();
        assert_eq!(f.rule_id, 920181);
        assert_eq!(f.tests.len(), 2);
        let t = &f.tests[0];
        assert_eq!(t.id_string(), "920181-1");
        let s = &t.stages[0];
        let h = s.input.headers.as_ref().unwrap();
        assert_eq!(h[0], ("User-Agent".into(), "OWASP CRS test agent".into()));
        assert_eq!(h[2], ("Content-Length".into(), "7".into()));
        assert_eq!(h[3], ("Yes-Header".into(), "yes".into()));
        assert_eq!(s.input.data.as_deref(), Some("a=b\n"));
        assert_eq!(s.input.port, Some(80));
        assert!(s.input.autocomplete());
        assert_eq!(s.output.status, vec![200]);
        assert_eq!(s.output.log.no_expect_ids, vec![920181]);
        // Test 2: no test_id (position), a v1 `stage:` wrapper, a status list, log_contains.
        let t = &f.tests[1];
        assert_eq!(t.test_id, 2);
        assert_eq!(t.stages[0].input.uri.as_deref(), Some("/x"));
        assert_eq!(t.stages[0].output.status, vec![200, 403]);
        assert_eq!(
            t.stages[0].output.log.match_regex.as_deref(),
            Some("id \"942100\"")
        );
        // Unknown keys are reported (not inside a v1 `stage:` wrapper, which is not checked).
        assert_eq!(
            f.warnings,
            vec!["tests[0].stages[0].output.respons_contains"]
        );
    }

    #[test]
    fn empty_document_and_file_name_rule_id() {
        let f = parse_test_file("# all comments\n", Path::new("dir/920539.yaml")).unwrap();
        assert_eq!(f.rule_id, 920539);
        assert!(f.tests.is_empty());
    }

    #[test]
    fn duplicate_header_is_an_error() {
        let y = "rule_id: 1\ntests:\n- stages:\n  - input:\n      headers:\n        A: 1\n        A: 2\n";
        assert!(parse_test_file(y, Path::new("1.yaml")).is_err());
    }

    #[test]
    fn overrides() {
        let y = r#"version: "v0.0.0"
meta:
  engine: "libmodsecurity3"
  platform: "nginx"
  annotations:
    - os: "Debian Bullseye"
    - purpose: "CRS test suite"
test_overrides:
  - rule_id: 920100
    test_ids: [4, 8]
    reason: "Nginx returns a 400 bad request"
    output:
      status: 400
  - rule_id: 933220
    reason: "all of them"
"#;
        let o = parse_overrides(y, Path::new("nginx-overrides.yaml")).unwrap();
        assert_eq!(o.engine.as_deref(), Some("libmodsecurity3"));
        assert_eq!(o.annotations.len(), 2);
        assert_eq!(o.for_test(920100, 8).len(), 1);
        assert!(o.for_test(920100, 5).is_empty());
        assert_eq!(o.for_test(933220, 77)[0].reason, "all of them");
        assert_eq!(
            o.test_overrides[0].output.as_ref().unwrap().status,
            vec![400]
        );
        assert!(o.test_overrides[1].output.is_none());
    }

    #[test]
    fn yaml_glob() {
        assert!(matches_yaml_glob("920100.yaml"));
        assert!(matches_yaml_glob("999999.yml"));
        assert!(!matches_yaml_glob("positivetest.yaml.skeleton"));
        assert!(!matches_yaml_glob("README.md"));
    }
}
