//! Engine settings: what the configuration directives (`SecRuleEngine`, `SecRequestBodyLimit`,
//! ...) set. A setting not named in the configuration stays unset (`None`), because
//! libmodsecurity treats "unset" differently from either value in places (an unset
//! `SecRuleEngine` evaluates rules but runs no disruptive action).

use seclang_parser::names::DirectiveName;

/// `SecRuleEngine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleEngine {
    On,
    Off,
    DetectionOnly,
}

impl RuleEngine {
    /// `On`, `Off`, anything else `DetectionOnly` (ASCII case-insensitive), as
    /// `SecRuleEngine` and `ctl:ruleEngine` read it.
    pub fn from_value(v: &str) -> RuleEngine {
        if v.eq_ignore_ascii_case("on") {
            RuleEngine::On
        } else if v.eq_ignore_ascii_case("off") {
            RuleEngine::Off
        } else {
            RuleEngine::DetectionOnly
        }
    }
}

/// `SecRequestBodyLimitAction` / `SecResponseBodyLimitAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyLimitAction {
    #[default]
    Reject,
    ProcessPartial,
}

/// `SecAuditEngine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEngine {
    On,
    Off,
    RelevantOnly,
}

/// The engine settings of a rule set.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    pub rule_engine: Option<RuleEngine>,
    pub request_body_access: Option<bool>,
    pub response_body_access: Option<bool>,
    /// Bytes; 0 or unset: no limit.
    pub request_body_limit: Option<u64>,
    pub request_body_no_files_limit: Option<u64>,
    pub request_body_limit_action: BodyLimitAction,
    pub response_body_limit: Option<u64>,
    pub response_body_limit_action: BodyLimitAction,
    /// `SecResponseBodyMimeType` (lower-cased); `None` when never given (inspect any type).
    pub response_body_mime_types: Option<Vec<Vec<u8>>>,
    pub request_body_json_depth_limit: Option<u64>,
    pub arguments_limit: Option<u64>,
    pub argument_separator: Option<u8>,
    pub cookie_format: Option<u64>,
    pub pcre_match_limit: Option<u64>,
    pub xml_external_entity: Option<bool>,
    pub upload_dir: Option<String>,
    pub upload_file_limit: Option<u64>,
    pub upload_keep_files: Option<String>,
    pub tmp_save_uploaded_files: Option<bool>,
    pub unicode_map_file: Option<(String, u32)>,
    pub web_app_id: Option<String>,
    pub audit_engine: Option<AuditEngine>,
    pub audit_log: Option<String>,
    pub audit_log_parts: Option<String>,
    pub audit_log_relevant_status: Option<String>,
    pub audit_log_type: Option<String>,
    pub audit_log_format: Option<String>,
    pub audit_log_storage_dir: Option<String>,
    pub debug_log: Option<String>,
    pub debug_log_level: Option<u64>,
    pub http_bl_key: Option<String>,
    pub geo_lookup_db: Option<String>,
    /// `SecComponentSignature`s, in order.
    pub components: Vec<String>,
}

fn on_off(v: &str) -> bool {
    v.eq_ignore_ascii_case("on")
}

fn number(v: &str) -> Option<u64> {
    v.trim().parse().ok()
}

impl EngineConfig {
    /// The argument separator for query strings and urlencoded bodies (`&` unless set).
    pub fn separator(&self) -> u8 {
        self.argument_separator.unwrap_or(b'&')
    }

    /// Applies one configuration directive (arguments as the parser read them). Directives
    /// that only matter to the server that hosts libmodsecurity are accepted and ignored.
    pub fn apply(&mut self, name: DirectiveName, args: &[String]) {
        use DirectiveName as D;
        let first = args.first().map(String::as_str).unwrap_or("");
        match name {
            D::SecRuleEngine => self.rule_engine = Some(RuleEngine::from_value(first)),
            D::SecRequestBodyAccess => self.request_body_access = Some(on_off(first)),
            D::SecResponseBodyAccess => self.response_body_access = Some(on_off(first)),
            D::SecRequestBodyLimit => self.request_body_limit = number(first),
            D::SecRequestBodyNoFilesLimit => self.request_body_no_files_limit = number(first),
            D::SecResponseBodyLimit => self.response_body_limit = number(first),
            D::SecRequestBodyLimitAction => {
                self.request_body_limit_action = if first.eq_ignore_ascii_case("ProcessPartial") {
                    BodyLimitAction::ProcessPartial
                } else {
                    BodyLimitAction::Reject
                }
            }
            D::SecResponseBodyLimitAction => {
                self.response_body_limit_action = if first.eq_ignore_ascii_case("ProcessPartial") {
                    BodyLimitAction::ProcessPartial
                } else {
                    BodyLimitAction::Reject
                }
            }
            D::SecResponseBodyMimeType => {
                let types = self.response_body_mime_types.get_or_insert_with(Vec::new);
                for a in args {
                    for t in a.split_whitespace() {
                        let t = t.to_ascii_lowercase().into_bytes();
                        if !types.contains(&t) {
                            types.push(t);
                        }
                    }
                }
            }
            D::SecResponseBodyMimeTypesClear => self.response_body_mime_types = Some(Vec::new()),
            D::SecRequestBodyJsonDepthLimit => self.request_body_json_depth_limit = number(first),
            D::SecArgumentsLimit => self.arguments_limit = number(first),
            D::SecArgumentSeparator => self.argument_separator = first.bytes().next(),
            D::SecCookieFormat => self.cookie_format = number(first),
            D::SecPcreMatchLimit => self.pcre_match_limit = number(first),
            D::SecXmlExternalEntity => self.xml_external_entity = Some(on_off(first)),
            D::SecUploadDir => self.upload_dir = Some(first.to_string()),
            D::SecUploadFileLimit => self.upload_file_limit = number(first),
            D::SecUploadKeepFiles => self.upload_keep_files = Some(first.to_string()),
            D::SecTmpSaveUploadedFiles => self.tmp_save_uploaded_files = Some(on_off(first)),
            D::SecUnicodeMapFile => {
                let page = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
                self.unicode_map_file = Some((first.to_string(), page));
            }
            D::SecWebAppId => self.web_app_id = Some(first.to_string()),
            D::SecAuditEngine => {
                self.audit_engine = Some(if first.eq_ignore_ascii_case("on") {
                    AuditEngine::On
                } else if first.eq_ignore_ascii_case("off") {
                    AuditEngine::Off
                } else {
                    AuditEngine::RelevantOnly
                })
            }
            D::SecAuditLog => self.audit_log = Some(first.to_string()),
            D::SecAuditLogParts => self.audit_log_parts = Some(first.to_string()),
            D::SecAuditLogRelevantStatus => {
                self.audit_log_relevant_status = Some(first.to_string())
            }
            D::SecAuditLogType => self.audit_log_type = Some(first.to_string()),
            D::SecAuditLogFormat => self.audit_log_format = Some(first.to_string()),
            D::SecAuditLogStorageDir => self.audit_log_storage_dir = Some(first.to_string()),
            D::SecDebugLog => self.debug_log = Some(first.to_string()),
            D::SecDebugLogLevel => self.debug_log_level = number(first),
            D::SecHttpBlKey => self.http_bl_key = Some(first.to_string()),
            D::SecGeoLookupDb => self.geo_lookup_db = Some(first.to_string()),
            _ => {}
        }
    }

    /// libmodsecurity's merge of a later configuration into this one: what the later one sets
    /// wins; the rest is kept.
    pub fn merge(&mut self, later: &EngineConfig) {
        macro_rules! take {
            ($($f:ident),*) => { $( if later.$f.is_some() { self.$f = later.$f.clone(); } )* };
        }
        take!(
            rule_engine,
            request_body_access,
            response_body_access,
            request_body_limit,
            request_body_no_files_limit,
            response_body_limit,
            response_body_mime_types,
            request_body_json_depth_limit,
            arguments_limit,
            argument_separator,
            cookie_format,
            pcre_match_limit,
            xml_external_entity,
            upload_dir,
            upload_file_limit,
            upload_keep_files,
            tmp_save_uploaded_files,
            unicode_map_file,
            web_app_id,
            audit_engine,
            audit_log,
            audit_log_parts,
            audit_log_relevant_status,
            audit_log_type,
            audit_log_format,
            audit_log_storage_dir,
            debug_log,
            debug_log_level,
            http_bl_key,
            geo_lookup_db
        );
        if later.request_body_limit_action != BodyLimitAction::default() {
            self.request_body_limit_action = later.request_body_limit_action;
        }
        if later.response_body_limit_action != BodyLimitAction::default() {
            self.response_body_limit_action = later.response_body_limit_action;
        }
        self.components.extend(later.components.iter().cloned());
    }
}
