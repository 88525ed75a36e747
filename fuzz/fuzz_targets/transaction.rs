//! Fuzz target `transaction`: arbitrary requests through the engine. A request is cut from the
//! input bytes (method, URI, headers, body, response) and run through every phase of a rule set
//! that exercises each body processor, transformation family and operator family. Nothing may
//! panic or hang, whatever the bytes: bad input is normal input for a WAF.
//!
//! Run from the repository root:
//! `cargo +nightly fuzz run transaction fuzz/corpus/transaction fuzz/seeds-transaction -- -max_total_time=60 -timeout=10`
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use waf_core::{RuleSet, Transaction};

/// Rules touching every part of the engine (no CRS: it is not bundled).
const RULES: &str = r#"
SecRuleEngine On
SecRequestBodyAccess On
SecResponseBodyAccess On
SecRequestBodyLimit 65536
SecArgumentsLimit 200
SecRule REQUEST_HEADERS:Content-Type "@rx (?i)json" "id:10,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQUEST_HEADERS:Content-Type "@rx (?i)xml" "id:11,phase:1,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule ARGS|ARGS_NAMES|REQUEST_COOKIES|REQUEST_HEADERS "@detectSQLi" "id:20,phase:2,pass,log,capture,t:none,t:urlDecodeUni,t:htmlEntityDecode,t:jsDecode,t:cssDecode,t:lowercase,multiMatch"
SecRule ARGS|XML:/*|XML://@* "@detectXSS" "id:21,phase:2,pass,log,t:none,t:utf8toUnicode,t:removeNulls,t:cmdLine,t:normalizePathWin"
SecRule ARGS "@rx (?i)(union.{0,20}select|<script)" "id:22,phase:2,pass,log,capture,t:none,t:base64DecodeExt,t:hexDecode,t:sqlHexDecode,t:escapeSeqDecode,setvar:'tx.score=+%{tx.0}'"
SecRule ARGS "@pm select union insert drop" "id:23,phase:2,pass,log,t:none,t:compressWhitespace,t:removeComments,t:replaceComments,t:trim"
SecRule REQUEST_FILENAME "@validateUrlEncoding" "id:24,phase:2,pass,log,chain"
    SecRule REQUEST_URI "@validateUtf8Encoding" "t:none,t:normalizePath"
SecRule ARGS "@validateByteRange 32-126" "id:25,phase:2,pass,log,t:none,t:md5,t:sha1,t:hexEncode,t:length"
SecRule &ARGS "@gt 50" "id:26,phase:2,pass,log"
SecRule FILES|FILES_NAMES|MULTIPART_PART_HEADERS|MULTIPART_STRICT_ERROR "@rx ." "id:27,phase:2,pass,log"
SecRule REQBODY_ERROR "!@eq 0" "id:28,phase:2,pass,log,logdata:'%{reqbody_error_msg}'"
SecRule REMOTE_ADDR "@ipMatch 10.0.0.0/8,2001:db8::/32" "id:29,phase:1,pass,log"
SecRule ARGS "@verifyCC \d{13,16}" "id:30,phase:2,pass,log"
SecRule REQUEST_METHOD "!@within GET POST HEAD" "id:31,phase:1,deny,status:405,log"
SecRule RESPONSE_BODY "@contains error" "id:40,phase:4,pass,log"
SecRule TX:score "@gt 5" "id:50,phase:2,deny,status:403,log,msg:'score %{tx.score}'"
"#;

fn rules() -> Arc<RuleSet> {
    static RULES_SET: OnceLock<Arc<RuleSet>> = OnceLock::new();
    Arc::clone(RULES_SET.get_or_init(|| {
        Arc::new(RuleSet::from_text("fuzz.conf", RULES, None).expect("the fuzz rules load"))
    }))
}

/// Splits `data` at `\0` into fields: method, URI, headers (`name: value` lines), request body,
/// response body.
fn field<'a>(parts: &mut std::slice::Split<'a, u8, impl FnMut(&u8) -> bool>) -> &'a [u8] {
    parts.next().unwrap_or(b"")
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let method = field(&mut parts);
    let uri = field(&mut parts);
    let headers = field(&mut parts);
    let body = field(&mut parts);
    let response = field(&mut parts);

    let mut tx = Transaction::new(rules());
    tx.process_connection("10.1.2.3", 40000, "127.0.0.1", 80);
    tx.process_uri(uri, method, b"1.1");
    for line in headers.split(|&b| b == b'\n') {
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(p) => (&line[..p], &line[p + 1..]),
            None => (line, &b""[..]),
        };
        tx.add_request_header(name, value);
    }
    tx.process_request_headers();
    let _ = tx.intervention();
    for chunk in body.chunks(1024) {
        tx.append_request_body(chunk);
    }
    tx.process_request_body();
    let _ = tx.intervention();
    tx.add_response_header(b"Content-Type", b"text/html");
    tx.process_response_headers(200, b"HTTP/1.1");
    tx.append_response_body(response);
    tx.process_response_body();
    tx.process_logging();
    let _ = tx.intervention();
});
