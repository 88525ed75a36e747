//! The configuration CRS's regression tests assume.
//!
//! Sources: CRS 4.28 `tests/regression/README.md` (ModSecurity in DetectionOnly mode; rule
//! 900005 added before CRS) and what its CI runs the tests on (`tests/docker-compose.yml`: the
//! `owasp/modsecurity-crs:nginx` image, i.e. ModSecurity's `modsecurity.conf-recommended`, the
//! image's `modsecurity-override.conf` with its environment defaults, and the compose file's
//! environment).

use std::path::Path;

/// The directives loaded before CRS, one comment per directive saying why.
pub const CRS_TEST_PREAMBLE: &str = r#"# --- Engine mode ---------------------------------------------------------------------------
# README requirement 3: "Make sure ModSecurity is in DetectionOnly mode". The tests assert on
# the error log, not on 403s (compose: MODSEC_RULE_ENGINE=DetectionOnly).
SecRuleEngine DetectionOnly

# --- Request bodies --------------------------------------------------------------------------
# Body rules (ARGS_POST, XML, JSON, multipart tests) need the body (image: MODSEC_REQ_BODY_ACCESS=on).
SecRequestBodyAccess On
# CRS leaves the XML body processor to the host configuration: recommended rule 200000.
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" "id:'200000',phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
# Likewise the JSON body processor: recommended rule 200001.
SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:'200001',phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
# Largest body buffered (image: MODSEC_REQ_BODY_LIMIT=13107200); 920400's 64 KB upload fits.
SecRequestBodyLimit 13107200
# Largest body without files (image: MODSEC_REQ_BODY_NOFILES_LIMIT=131072).
SecRequestBodyNoFilesLimit 131072
# Over the limit: Reject (image default); DetectionOnly turns it into ProcessPartial.
SecRequestBodyLimitAction Reject
# JSON nesting limit (image: MODSEC_REQ_BODY_JSON_DEPTH_LIMIT=512).
SecRequestBodyJsonDepthLimit 512
# At most 1000 arguments parsed (image: MODSEC_ARGUMENTS_LIMIT=1000) ...
SecArgumentsLimit 1000
# ... and the recommended rule 200007 that flags a request which reached it.
SecRule &ARGS "@ge 1000" "id:'200007',phase:2,t:none,log,deny,status:400,msg:'Failed to fully parse request body due to large argument count',severity:2"
# Recommended rule 200002: a body the processor could not parse is logged (REQBODY_ERROR).
SecRule REQBODY_ERROR "!@eq 0" "id:'200002',phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2"
# Recommended rule 200003: multipart strict-validation errors (922xxx tests, Coraza's overrides name it).
SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:'200003',phase:2,t:none,log,deny,status:400,msg:'Multipart request body failed strict validation: PE %{REQBODY_PROCESSOR_ERROR}, BQ %{MULTIPART_BOUNDARY_QUOTED}, BW %{MULTIPART_BOUNDARY_WHITESPACE}, DB %{MULTIPART_DATA_BEFORE}, DA %{MULTIPART_DATA_AFTER}, HF %{MULTIPART_HEADER_FOLDING}, LF %{MULTIPART_LF_LINE}, SM %{MULTIPART_MISSING_SEMICOLON}, IQ %{MULTIPART_INVALID_QUOTING}, IP %{MULTIPART_INVALID_PART}, IH %{MULTIPART_INVALID_HEADER_FOLDING}, FL %{MULTIPART_FILE_LIMIT_EXCEEDED}'"
# Recommended rule 200004: a line that looks like a boundary but is not.
SecRule MULTIPART_UNMATCHED_BOUNDARY "@eq 1" "id:'200004',phase:2,t:none,log,deny,msg:'Multipart parser detected a possible unmatched boundary.'"

# --- Regular expressions ---------------------------------------------------------------------
# PCRE match limit (image: MODSEC_PCRE_MATCH_LIMIT=100000); an engine without backtracking ignores it.
SecPcreMatchLimit 100000
# PCRE recursion limit (image: MODSEC_PCRE_MATCH_LIMIT_RECURSION=100000).
SecPcreMatchLimitRecursion 100000
# Recommended rule 200005: internal errors (MSC_PCRE_LIMITS_EXCEEDED) are flagged.
SecRule TX:/^MSC_/ "!@streq 0" "id:'200005',phase:2,t:none,deny,msg:'ModSecurity internal error flagged: %{MATCHED_VAR_NAME}'"

# --- Response bodies -------------------------------------------------------------------------
# RESPONSE-95x tests need the body albedo reflects (compose: MODSEC_RESP_BODY_ACCESS=On).
SecResponseBodyAccess On
# Inspected types (compose: MODSEC_RESP_BODY_MIMETYPE); albedo's bodies are sniffed as text/plain or text/html.
SecResponseBodyMimeType text/plain text/html text/xml application/json
# Largest response body buffered (image: MODSEC_RESP_BODY_LIMIT=1048576).
SecResponseBodyLimit 1048576
# Over the limit: inspect what fits (image: MODSEC_RESP_BODY_LIMIT_ACTION=ProcessPartial).
SecResponseBodyLimitAction ProcessPartial

# --- Parsing conventions ---------------------------------------------------------------------
# `&` separates arguments (image's override file).
SecArgumentSeparator &
# Version 0 cookies (image's override file).
SecCookieFormat 0
# Temporary files (compose: MODSEC_TMP_DIR=/tmp).
SecTmpDir /tmp
# Not set: SecUnicodeMapFile (the image loads unicode.mapping code page 20127, which is not in
# shared/; t:urlDecodeUni then uses the engine's built-in mapping), SecDataDir, SecUploadDir
# (no CRS 4 rule needs persistent collections or kept uploads).

# --- Logging ---------------------------------------------------------------------------------
# go-ftw reads only the error log (one line per rule with `log`); the in-process runner takes
# those lines from the engine, so the audit log is configured as in CI but discarded.
SecAuditEngine RelevantOnly
# Which statuses make a transaction relevant (image's override file).
SecAuditLogRelevantStatus "^(?:5|4(?!04))"
# Parts written (image: MODSEC_AUDIT_LOG_PARTS=ABIJDEFHZ).
SecAuditLogParts ABIJDEFHZ
# One file (compose: MODSEC_AUDIT_LOG_TYPE=Serial).
SecAuditLogType Serial
# Native format (compose: MODSEC_AUDIT_LOG_FORMAT=Native).
SecAuditLogFormat Native
# Nothing reads it here.
SecAuditLog /dev/null
# No phoning home (image: MODSEC_STATUS_ENGINE=Off).
SecStatusEngine Off
# Not set: go-ftw's marker rule 999999 (REQUEST_HEADERS:X-CRS-Test, CRS_ENABLE_TEST_MARKER=1):
# it only fires on go-ftw's marker requests, which the in-process runner does not send.

# --- README: "The following rule is provided to properly configure your engine for testing" --
# Rule 900005 verbatim: DetectionOnly again, rule 910000 removed, blocking paranoia level 4
# (every PL1-PL4 rule runs), UTF-8 validation on, and the limits the 920xxx tests probe
# (compose differs on one: TOTAL_ARG_LENGTH=6400 instead of 64000).
SecAction "id:900005,\
  phase:1,\
  nolog,\
  pass,\
  ctl:ruleEngine=DetectionOnly,\
  ctl:ruleRemoveById=910000,\
  setvar:tx.blocking_paranoia_level=4,\
  setvar:tx.crs_validate_utf8_encoding=1,\
  setvar:tx.arg_name_length=100,\
  setvar:tx.arg_length=400,\
  setvar:tx.total_arg_length=64000,\
  setvar:tx.max_num_args=255,\
  setvar:tx.max_file_size=64100,\
  setvar:tx.combined_file_sizes=65535"
"#;

/// The whole test configuration: [`CRS_TEST_PREAMBLE`], then CRS itself from `crs_dir` (a CRS
/// checkout or release: `crs-setup.conf.example`, which CI copies to `crs-setup.conf`, then
/// `rules/*.conf`, which leaves out the two `*.conf.example` exclusion files as CI does).
pub fn crs_test_config(crs_dir: &Path) -> String {
    let dir = crs_dir.display().to_string();
    let dir = dir.trim_end_matches('/');
    // libmodsecurity 3.0.9 keeps the quotes of a quoted Include glob as part of the path: quote
    // only a path that needs it.
    let path = |p: String| {
        if p.contains(char::is_whitespace) {
            format!("\"{p}\"")
        } else {
            p
        }
    };
    let setup = path(format!("{dir}/crs-setup.conf.example"));
    let rules = path(format!("{dir}/rules/*.conf"));
    format!(
        "{CRS_TEST_PREAMBLE}
# --- CRS -------------------------------------------------------------------------------------
# CI copies crs-setup.conf.example to crs-setup.conf unchanged (SecDefaultAction phases 1-5: log,auditlog,pass).
Include {setup}
# The rules, in file-name order.
Include {rules}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_directive_has_a_comment_above() {
        let text = crs_test_config(Path::new("/x/crs"));
        let lines: Vec<&str> = text.lines().collect();
        let mut prev_is_comment = false;
        let mut in_continuation = false;
        for l in &lines {
            let t = l.trim();
            if t.is_empty() {
                prev_is_comment = false;
                continue;
            }
            if t.starts_with('#') {
                prev_is_comment = true;
                continue;
            }
            if !in_continuation {
                assert!(prev_is_comment, "directive without a comment: {l}");
            }
            in_continuation = t.ends_with('\\');
            prev_is_comment = false;
        }
        assert!(text.contains("\nInclude /x/crs/rules/*.conf\n"));
        assert!(text.contains("setvar:tx.total_arg_length=64000"));
    }
}
