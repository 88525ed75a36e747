//! From a test stage to the bytes go-ftw puts on the wire, and from those bytes to the request a
//! web server hands to its WAF.
//!
//! [`build_wire`] follows go-ftw v2 (`runner/run.go` `getRequestFromTest`,
//! `ftwhttp/request.go` `BuildRequest`, `ftwhttp/header.go`, `test/data.go`):
//!
//! 1. `encoded_request` (base64) is decoded and sent verbatim; nothing else of the input is used.
//! 2. Otherwise the request line is `{method} {uri} {version}\r\n`, each field as written in the
//!    file (defaults `GET`, `/`, `HTTP/1.1`; an empty version leaves `GET / \r\n`).
//! 3. The `headers:` map is turned into a list **sorted by name** (Go's `slices.Sort`, byte
//!    order, so `Accept` < `Host` < `User-Agent` < `test`); names and values are sent as written.
//! 4. The body is `data` after Go-template expansion (or `encoded_data`, base64).
//! 5. With a non-empty body and `autocomplete_headers` (default on): `Content-Type:
//!    application/x-www-form-urlencoded` is appended when no `Content-Type` exists (names
//!    compared canonically, i.e. case-insensitively); and when some `Content-Type` equals that
//!    type (case-insensitively) and URL-unescaping the body would not change it, the body is split
//!    on `&` and each key and value is `url.QueryEscape`d (`a=1 OR 1=1` → `a=1+OR+1%3D1`).
//! 6. When some `Content-Type` contains `multipart/form-data;` (case-insensitively), every `\n`
//!    of the body becomes `\r\n`, autocomplete or not (an existing `\r\n` becomes `\r\r\n`).
//! 7. With autocomplete: `Connection: close` is appended unless a `Connection` header exists;
//!    then, unless a `Content-Length` exists, `Content-Length: <len>` is appended when the body is
//!    non-empty or the method matches go-ftw's `^POST|PUT|PATCH|DELETE$` (which, by Go regexp
//!    precedence, means: starts with POST, contains PUT or PATCH, or ends with DELETE).
//! 8. Headers are written in list order as `Name: value\r\n`, then `\r\n`, then the body.
//!
//! [`parse_request`] reads such bytes leniently, as the web server in front of the WAF would:
//! see its docs for the rules.

use crate::goutil::{self, canonical_mime_header_key, is_tchar};
use crate::template::{self, TemplateError};
use crate::yaml::Input;

/// A request as the web server hands it to the WAF (and, unless the WAF interrupts it, to the
/// backend).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Request {
    pub method: String,
    /// The request target exactly as on the request line (query string, absolute URI...).
    pub uri: Vec<u8>,
    /// The protocol version without `HTTP/`: `"1.1"`, `"1.0"`, `"4.0"`; `"0.9"` for a request
    /// line without a version.
    pub version: String,
    /// Header fields in wire order, names as sent, values without surrounding whitespace.
    /// Duplicates are kept as separate entries.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The message body as the server reads it: `Content-Length` bytes, or the de-chunked data
    /// of a `Transfer-Encoding: chunked` body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }

    /// The request line as a server reconstructs it: `METHOD URI HTTP/x.y` (no CRLF).
    pub fn request_line(&self) -> Vec<u8> {
        let mut l = Vec::with_capacity(self.uri.len() + 20);
        l.extend_from_slice(self.method.as_bytes());
        l.push(b' ');
        l.extend_from_slice(&self.uri);
        if self.version != "0.9" {
            l.extend_from_slice(b" HTTP/");
            l.extend_from_slice(self.version.as_bytes());
        }
        l
    }

    /// The path part of the target: without query string, and without scheme and authority for
    /// an absolute URI (`""` for an authority-form target).
    pub fn path(&self) -> &[u8] {
        let uri = self.uri.as_slice();
        let uri = &uri[..uri.iter().position(|&b| b == b'?').unwrap_or(uri.len())];
        if uri.starts_with(b"/") || uri == b"*" {
            return uri;
        }
        match find(uri, b"://") {
            Some(i) => {
                let rest = &uri[i + 3..];
                &rest[rest.iter().position(|&b| b == b'/').unwrap_or(rest.len())..]
            }
            None => &[],
        }
    }
}

/// Why go-ftw could not produce a request for a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// `data` and `encoded_request` are both set (go-ftw `checkTestSanity` refuses the test).
    DataAndEncodedRequest,
    /// `encoded_request` is not valid base64 (go-ftw aborts the run).
    BadBase64,
    /// `data` uses Go-template features beyond what this crate evaluates.
    UnsupportedTemplate(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::DataAndEncodedRequest => {
                f.write_str("'data' and 'encoded_request' must not be set simultaneously")
            }
            BuildError::BadBase64 => f.write_str("encoded_request is not valid base64"),
            BuildError::UnsupportedTemplate(m) => {
                write!(f, "data uses an unsupported Go template feature: {m}")
            }
        }
    }
}

impl std::error::Error for BuildError {}

/// go-ftw's `Input.GetData`: `data` through the Go template engine (a template error gives no
/// body, as in go-ftw), else `encoded_data` decoded (bad base64 gives no body).
pub fn stage_data(input: &Input) -> Result<Vec<u8>, BuildError> {
    if let Some(d) = &input.data {
        return match template::expand(d) {
            Ok(s) => Ok(s.into_bytes()),
            Err(TemplateError::Go(_)) => Ok(Vec::new()),
            Err(TemplateError::Unsupported(m)) => Err(BuildError::UnsupportedTemplate(m)),
        };
    }
    if let Some(e) = &input.encoded_data {
        return Ok(goutil::base64_decode(e).unwrap_or_default());
    }
    Ok(Vec::new())
}

/// The exact bytes go-ftw sends for a stage (see the module docs).
pub fn build_wire(input: &Input) -> Result<Vec<u8>, BuildError> {
    let encoded = input.encoded_request.as_deref().unwrap_or("");
    if !encoded.is_empty() {
        if input.data.as_deref().is_some_and(|d| !d.is_empty()) {
            return Err(BuildError::DataAndEncodedRequest);
        }
        return goutil::base64_decode(encoded).ok_or(BuildError::BadBase64);
    }
    // ftw v1's `raw_request` (deprecated; go-ftw v2 ignores it): the request as text, verbatim.
    if let Some(raw) = input.raw_request.as_deref().filter(|r| !r.is_empty()) {
        return Ok(raw.as_bytes().to_vec());
    }

    let method = input.method.as_deref().unwrap_or("GET");
    let uri = input.uri.as_deref().unwrap_or("/");
    let version = input.version.as_deref().unwrap_or("HTTP/1.1");
    let autocomplete = input.autocomplete();

    let mut headers = GoHeader::from_map(input.headers.as_deref().unwrap_or(&[]));
    let mut data = stage_data(input)?;

    if !data.is_empty() && autocomplete {
        if !headers.has_any("Content-Type") {
            headers.add("Content-Type", "application/x-www-form-urlencoded");
        }
        data = encode_data_parameters(&headers, data);
    }
    if headers.has_any_value_containing("Content-Type", "multipart/form-data;") {
        data = replace_lf_with_crlf(&data);
    }
    if autocomplete {
        if !headers.has_any("Connection") {
            headers.add("Connection", "close");
        }
        if !headers.has_any("Content-Length") && (!data.is_empty() || method_wants_body(method)) {
            headers.add("Content-Length", &data.len().to_string());
        }
    }

    let mut wire = Vec::with_capacity(256 + data.len());
    wire.extend_from_slice(format!("{method} {uri} {version}\r\n").as_bytes());
    for (name, value) in &headers.entries {
        wire.extend_from_slice(name.as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(value.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    wire.extend_from_slice(&data);
    Ok(wire)
}

/// go-ftw's `methodsWithBodyRegex` = `^POST|PUT|PATCH|DELETE$`, with Go's alternation precedence.
fn method_wants_body(method: &str) -> bool {
    method.starts_with("POST")
        || method.contains("PUT")
        || method.contains("PATCH")
        || method.ends_with("DELETE")
}

fn replace_lf_with_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for &b in data {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// go-ftw's `encodeDataParameters`.
fn encode_data_parameters(h: &GoHeader, data: Vec<u8>) -> Vec<u8> {
    if data.is_empty()
        || !h.has_any_value("Content-Type", "application/x-www-form-urlencoded")
        || goutil::query_unescape(&data).as_deref() != Some(data.as_slice())
    {
        return data;
    }
    let mut out = Vec::with_capacity(data.len() * 2);
    let mut remaining: &[u8] = &data;
    while !remaining.is_empty() {
        let token = match remaining.iter().position(|&b| b == b'&') {
            Some(i) => {
                let t = &remaining[..i];
                remaining = &remaining[i + 1..];
                t
            }
            None => std::mem::take(&mut remaining),
        };
        match token.iter().position(|&b| b == b'=') {
            None => out.extend(goutil::query_escape(token)),
            Some(i) => {
                out.extend(goutil::query_escape(&token[..i]));
                out.push(b'=');
                out.extend(goutil::query_escape(&token[i + 1..]));
            }
        }
        out.push(b'&');
    }
    out.pop(); // the trailing '&'
    out
}

/// go-ftw's ordered `ftwhttp.Header`: entries in insertion order, lookups by canonical name.
struct GoHeader {
    entries: Vec<(String, String)>,
}

impl GoHeader {
    /// `NewHeaderFromMap`: the map's keys sorted (byte order), then added in that order.
    fn from_map(map: &[(String, String)]) -> GoHeader {
        let mut entries = map.to_vec();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        GoHeader { entries }
    }

    fn add(&mut self, name: &str, value: &str) {
        self.entries.push((name.to_string(), value.to_string()));
    }

    fn named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let key = canonical_mime_header_key(name);
        self.entries
            .iter()
            .filter(move |(n, _)| canonical_mime_header_key(n) == key)
            .map(|(_, v)| v.as_str())
    }

    fn has_any(&self, name: &str) -> bool {
        self.named(name).next().is_some()
    }

    /// `HasAnyValue`: `strings.EqualFold`.
    fn has_any_value(&self, name: &str, value: &str) -> bool {
        self.named(name)
            .any(|v| v.to_lowercase() == value.to_lowercase())
    }

    /// `HasAnyValueContaining`: both sides lower-cased, then `strings.Contains`.
    fn has_any_value_containing(&self, name: &str, needle: &str) -> bool {
        let needle = needle.to_lowercase();
        self.named(name).any(|v| v.to_lowercase().contains(&needle))
    }
}

// ---------------------------------------------------------------------------------------------
// The server side.

/// What the web server in front of the WAF makes of the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerView {
    /// An HTTP/1.x request: the WAF sees it.
    Request(Request),
    /// A request line without a version (HTTP/0.9): the server runs the request (the WAF sees
    /// it, with no headers — HTTP/0.9 has none), but its answer has no status line, so the
    /// client (go-ftw) gets an error instead of a response.
    Http09(Request),
    /// The server answers this status itself; the WAF never sees the request.
    Rejected { status: u16, reason: String },
}

/// [`parse_request`]'s result: the view, and remarks about bytes the server would not read or
/// would wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub view: ServerView,
    pub notes: Vec<String>,
}

/// Reads request bytes as the web server would, never panicking.
///
/// The rules are RFC 9112's message syntax, plus the checks through which the CRS suite's
/// unmodified expectations (written against Apache httpd 2.4, `HttpProtocolOptions Strict`)
/// reject a request before the WAF: those stages expect `status: 400`.
///
/// * Leading empty lines are skipped. Lines may end in CRLF or a bare LF.
/// * Request line: exactly `method SP target SP version`. Two parts (or an empty version) is
///   HTTP/0.9, allowed for GET only ([`ServerView::Http09`]). Anything else is a 400: leading or
///   doubled spaces, a tab, a method that is not a token, a control byte or space in the target
///   (a target with spaces makes extra parts), a version other than `HTTP/d.d` or below 1.0.
/// * Target: origin-form (`/...`), absolute-form (`scheme://...`), authority-form
///   (`host:port`, CONNECT only, and CONNECT only takes it) or `*` (OPTIONS only); a `#`
///   fragment is a 400 (httpd; nginx accepts it).
/// * Header lines: `name: value`, the name a token with nothing between it and the colon; the
///   value trimmed of spaces and tabs, with no control byte but tab (a bare CR is a 400). A
///   continuation line (obs-fold) is joined to the previous value with a space. A missing blank
///   line after the headers is tolerated (noted).
/// * Host: HTTP/1.1 and later need exactly one; more than one is a 400 in any version; a
///   non-empty value must be a host name of letters, digits, `-`, `.`, `_` or a bracketed IPv6
///   literal, with an optional numeric port (httpd's check: `localhost%00` is a 400; nginx
///   accepts it); an empty value is a 400 from HTTP/1.1 on.
/// * Body: `Transfer-Encoding` ending in `chunked` is de-chunked (a malformed chunk-size line
///   is a 400, a truncated body is kept as far as it goes) and any `Content-Length` field is
///   removed (RFC 9112 §6.3, as httpd does); any other transfer coding is a 400;
///   else `Content-Length` (all values must be the same 1*DIGIT) bytes are read, or fewer if the
///   bytes end first (a real server would wait: noted); without either there is no body. Bytes
///   the server would not read as part of this request are noted.
///
/// What is *not* modelled: httpd merging duplicate header fields into one (`a, b`), nginx
/// dropping header names with `_` or `.` (`ignore_invalid_headers`), 505 for major versions
/// above 1 (nginx), CONNECT handling beyond syntax.
pub fn parse_request(wire: &[u8]) -> Parsed {
    let mut notes = Vec::new();
    let view = parse_inner(wire, &mut notes);
    Parsed { view, notes }
}

fn reject(reason: impl Into<String>) -> ServerView {
    ServerView::Rejected {
        status: 400,
        reason: reason.into(),
    }
}

/// The next line from `pos`: its content (without CRLF/LF) and the position after it.
fn take_line(wire: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = wire.get(pos..)?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let line = &rest[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, pos + nl + 1))
}

fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_inner(wire: &[u8], notes: &mut Vec<String>) -> ServerView {
    let mut pos = 0;
    while wire[pos..].starts_with(b"\r\n") || wire[pos..].starts_with(b"\n") {
        pos += if wire[pos] == b'\r' { 2 } else { 1 };
    }
    let Some((line, mut pos)) = take_line(wire, pos) else {
        return reject("no complete request line (a server would wait, then time out)");
    };

    // --- request line
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let (method, target, version) = match parts.as_slice() {
        [m, t] => (*m, *t, &b""[..]),
        [m, t, v] => (*m, *t, *v),
        _ => return reject("request line is not `method SP target SP version`"),
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return reject("invalid method token");
    }
    let method = String::from_utf8_lossy(method).into_owned();
    if target.is_empty() || target.iter().any(|&b| is_ctl(b)) {
        return reject("invalid request target");
    }
    if let Err(why) = check_target(&method, target) {
        return reject(why);
    }
    if version.is_empty() {
        if method != "GET" {
            return reject("HTTP/0.9 request with a method other than GET");
        }
        if pos < wire.len() {
            notes.push(format!(
                "HTTP/0.9: the {} bytes after the request line are not read",
                wire.len() - pos
            ));
        }
        return ServerView::Http09(Request {
            method,
            uri: target.to_vec(),
            version: "0.9".into(),
            headers: Vec::new(),
            body: Vec::new(),
        });
    }
    let (major, minor) = match version {
        [b'H', b'T', b'T', b'P', b'/', ma, b'.', mi]
            if ma.is_ascii_digit() && mi.is_ascii_digit() =>
        {
            (ma - b'0', mi - b'0')
        }
        _ => return reject("invalid protocol version"),
    };
    if major == 0 {
        return reject("protocol version below HTTP/1.0");
    }
    let at_least_11 = (major, minor) >= (1, 1);

    // --- header section
    let mut headers: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    loop {
        let Some((line, next)) = take_line(wire, pos) else {
            if pos < wire.len() {
                // A last header line without its line end: a server would wait; take it.
                notes.push("header section not terminated (a server would wait)".into());
                let line = &wire[pos..];
                pos = wire.len();
                if let Err(why) = push_header(&mut headers, line) {
                    return reject(why);
                }
            } else {
                notes.push("header section not terminated by an empty line".into());
            }
            break;
        };
        pos = next;
        if line.is_empty() {
            break;
        }
        if let Err(why) = push_header(&mut headers, line) {
            return reject(why);
        }
    }

    // --- Host
    let hosts: Vec<&[u8]> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"host"))
        .map(|(_, v)| v.as_slice())
        .collect();
    match hosts.as_slice() {
        [] if at_least_11 => return reject("HTTP/1.1 request without Host"),
        [] => {}
        [h] => {
            if h.is_empty() {
                if at_least_11 {
                    return reject("HTTP/1.1 request with an empty Host");
                }
            } else if !valid_host(h) {
                return reject("invalid Host header");
            }
        }
        _ => return reject("more than one Host header"),
    }

    // --- body
    let values = |name: &[u8]| -> Vec<&[u8]> {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    };
    let te = values(b"transfer-encoding");
    let cl = values(b"content-length");
    let rest = &wire[pos..];
    let body = if !te.is_empty() {
        let joined = te.join(&b","[..]);
        let last = joined
            .rsplit(|&b| b == b',')
            .map(|c| c.trim_ascii())
            .find(|c| !c.is_empty())
            .unwrap_or(b"");
        if !last.eq_ignore_ascii_case(b"chunked") {
            return reject("a transfer coding other than chunked");
        }
        let body = match dechunk(rest, notes) {
            Ok(b) => b,
            Err(why) => return reject(why),
        };
        if !cl.is_empty() {
            // RFC 9112 6.3: Transfer-Encoding overrides Content-Length, which an intermediary
            // must remove before forwarding (httpd drops it; nginx rejects the request).
            notes.push("Content-Length removed: Transfer-Encoding takes precedence".into());
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(b"content-length"));
        }
        body
    } else if let Some(first) = cl.first() {
        if cl
            .iter()
            .any(|v| v.is_empty() || !v.iter().all(u8::is_ascii_digit))
        {
            return reject("invalid Content-Length");
        }
        if cl.iter().any(|v| v != first) {
            return reject("conflicting Content-Length values");
        }
        let Ok(n) = std::str::from_utf8(first).unwrap_or("x").parse::<usize>() else {
            return reject("Content-Length too large");
        };
        if rest.len() < n {
            notes.push(format!(
                "body has {} of the {} bytes Content-Length announces (a server would wait)",
                rest.len(),
                n
            ));
            rest.to_vec()
        } else {
            if rest.len() > n {
                notes.push(format!(
                    "{} bytes after the {n}-byte body are not part of this request",
                    rest.len() - n
                ));
            }
            rest[..n].to_vec()
        }
    } else {
        if !rest.is_empty() {
            notes.push(format!(
                "{} bytes after the header section are not part of this request (no Content-Length)",
                rest.len()
            ));
        }
        Vec::new()
    };

    ServerView::Request(Request {
        method,
        uri: target.to_vec(),
        version: format!("{major}.{minor}"),
        headers: merge_repeated_headers(headers),
        body,
    })
}

/// httpd (`apr_table_mergen`) hands the modules one field per name: repeated fields are joined
/// with `", "` in arrival order, at the first one's place. CRS's expectations assume this (920620:
/// two `Content-Type` fields reach the WAF as one).
fn merge_repeated_headers(headers: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            Some((_, v)) => {
                v.extend_from_slice(b", ");
                v.extend_from_slice(&value);
            }
            None => out.push((name, value)),
        }
    }
    out
}

fn check_target(method: &str, target: &[u8]) -> Result<(), &'static str> {
    if target.contains(&b'#') {
        return Err("fragment in the request target");
    }
    if method == "CONNECT" {
        // authority-form: host ":" port
        let ok = match target.iter().rposition(|&b| b == b':') {
            Some(i) => {
                i > 0
                    && i + 1 < target.len()
                    && target[i + 1..].iter().all(u8::is_ascii_digit)
                    && !target.contains(&b'/')
            }
            None => false,
        };
        return if ok {
            Ok(())
        } else {
            Err("CONNECT needs an authority-form target (host:port)")
        };
    }
    if target == b"*" {
        return if method == "OPTIONS" {
            Ok(())
        } else {
            Err("asterisk-form target with a method other than OPTIONS")
        };
    }
    if target.starts_with(b"/") {
        return Ok(());
    }
    // absolute-form: scheme "://" ...
    if let Some(i) = find(target, b"://") {
        let scheme = &target[..i];
        if !scheme.is_empty()
            && scheme[0].is_ascii_alphabetic()
            && scheme
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Ok(());
        }
    }
    Err("invalid request target")
}

fn push_header(headers: &mut Vec<(Vec<u8>, Vec<u8>)>, line: &[u8]) -> Result<(), &'static str> {
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        // obs-fold: RFC 9112 lets a server replace it with a space.
        let Some(last) = headers.last_mut() else {
            return Err("continuation line before any header");
        };
        let cont = line.trim_ascii();
        if cont.iter().any(|&b| is_ctl(b) && b != b'\t') {
            return Err("control character in a header value");
        }
        if !cont.is_empty() {
            last.1.push(b' ');
            last.1.extend_from_slice(cont);
        }
        return Ok(());
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err("header line without a colon");
    };
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err("invalid header name");
    }
    let value = trim_ows(&line[colon + 1..]);
    if value.iter().any(|&b| is_ctl(b) && b != b'\t') {
        return Err("control character in a header value");
    }
    headers.push((name.to_vec(), value.to_vec()));
    Ok(())
}

fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &v[start..end]
}

/// httpd's host check: a name of `[A-Za-z0-9._-]` or a bracketed IPv6 literal, then an optional
/// `:port` of digits.
fn valid_host(h: &[u8]) -> bool {
    let (host, port) = if h.starts_with(b"[") {
        let Some(close) = h.iter().position(|&b| b == b']') else {
            return false;
        };
        let inner = &h[1..close];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        (&h[..=close], &h[close + 1..])
    } else {
        match h.iter().position(|&b| b == b':') {
            Some(i) => (&h[..i], &h[i..]),
            None => (h, &b""[..]),
        }
    };
    let host_ok = host.starts_with(b"[")
        || (!host.is_empty()
            && host
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
    let port_ok = port.is_empty() || (port[0] == b':' && port[1..].iter().all(u8::is_ascii_digit));
    host_ok && port_ok
}

/// Decodes a chunked body, leniently at its end.
fn dechunk(mut rest: &[u8], notes: &mut Vec<String>) -> Result<Vec<u8>, &'static str> {
    let mut body = Vec::new();
    loop {
        let Some((line, next)) = take_line(rest, 0) else {
            notes.push("chunked body ends before its last chunk (a server would wait)".into());
            return Ok(body);
        };
        let size_field = line
            .split(|&b| b == b';')
            .next()
            .unwrap_or(b"")
            .trim_ascii();
        if size_field.is_empty() || !size_field.iter().all(u8::is_ascii_hexdigit) {
            return Err("malformed chunk size");
        }
        let size = size_field
            .iter()
            .try_fold(0usize, |n, &b| {
                n.checked_mul(16)?
                    .checked_add(goutil::hex_val(b).unwrap_or(0) as usize)
            })
            .ok_or("chunk size too large")?;
        rest = &rest[next..];
        if size == 0 {
            // Trailer section, up to an empty line.
            loop {
                match take_line(rest, 0) {
                    Some((l, n)) => {
                        rest = &rest[n..];
                        if l.is_empty() {
                            break;
                        }
                    }
                    None => {
                        if !rest.is_empty() {
                            notes.push("chunked body: trailer section not terminated".into());
                        }
                        rest = &[];
                        break;
                    }
                }
            }
            if !rest.is_empty() {
                notes.push(format!(
                    "{} bytes after the chunked body are not part of this request",
                    rest.len()
                ));
            }
            return Ok(body);
        }
        if rest.len() < size {
            notes.push("chunked body ends inside a chunk (a server would wait)".into());
            body.extend_from_slice(rest);
            return Ok(body);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size..];
        if let Some(r) = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
        {
            rest = r;
        } else if rest.is_empty() {
            notes.push("chunked body ends after a chunk (a server would wait)".into());
            return Ok(body);
        } else {
            return Err("chunk data not followed by CRLF");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(yaml: &str) -> Input {
        serde_norway::from_str(yaml).unwrap()
    }

    fn wire(yaml: &str) -> String {
        String::from_utf8(build_wire(&input(yaml)).unwrap()).unwrap()
    }

    fn req(v: ServerView) -> Request {
        match v {
            ServerView::Request(r) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn status(wire: &[u8]) -> u16 {
        match parse_request(wire).view {
            ServerView::Rejected { status, .. } => status,
            _ => 0,
        }
    }

    #[test]
    fn defaults_and_sorted_headers() {
        let w = wire("headers: {User-Agent: ua, Host: localhost, test: x, Accept: '*/*'}");
        assert_eq!(
            w,
            "GET / HTTP/1.1\r\nAccept: */*\r\nHost: localhost\r\nUser-Agent: ua\r\ntest: x\r\n\
             Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn form_data_is_url_encoded_and_completed() {
        let w = wire("method: POST\nheaders: {Host: h}\ndata: var=1234 OR 1=1&b\n");
        assert_eq!(
            w,
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Connection: close\r\nContent-Length: 19\r\n\r\nvar=1234+OR+1%3D1&b"
        );
        // Already escaped (unescaping changes it): sent as is.
        let w = wire("method: POST\nheaders: {Host: h}\ndata: a=%41+b\n");
        assert!(w.ends_with("\r\n\r\na=%41+b"), "{w}");
        // Another content type: as is.
        let w = wire("method: POST\nheaders: {Host: h, Content-Type: text/plain}\ndata: a b=c\n");
        assert!(w.ends_with("Content-Length: 5\r\n\r\na b=c"), "{w}");
    }

    #[test]
    fn multipart_gets_crlf_even_without_autocomplete() {
        let w = wire(
            "method: POST\nautocomplete_headers: false\nheaders:\n  Content-Type: \
             multipart/form-data; boundary=x\ndata: \"--x\\nA\\r\\n--x--\"\n",
        );
        assert!(
            w.ends_with("boundary=x\r\n\r\n--x\r\nA\r\r\n--x--"),
            "{w:?}"
        );
        assert!(!w.contains("Connection"));
    }

    #[test]
    fn content_length_rules() {
        // POST without data: Content-Length: 0.
        assert!(wire("method: POST\nheaders: {Host: h}").contains("Content-Length: 0\r\n"));
        // Go's regexp precedence: "XPUTX" contains PUT, "GETX" does not match.
        assert!(wire("method: XPUTX\nheaders: {Host: h}").contains("Content-Length: 0"));
        assert!(!wire("method: GETX\nheaders: {Host: h}").contains("Content-Length"));
        // An explicit Content-Length (any case) is kept alone.
        let w = wire("method: POST\nheaders: {Host: h, content-length: '3'}\ndata: abcdef");
        assert!(
            w.contains("content-length: 3\r\n") && !w.contains("Content-Length"),
            "{w}"
        );
    }

    #[test]
    fn empty_version_and_encoded_request() {
        assert!(wire("version: ''\nheaders: {Host: h}").starts_with("GET / \r\n"));
        let i = input("encoded_request: R0VUIC8gSFRUUC8xLjANCkhvc3Q6DQoNCg==");
        assert_eq!(build_wire(&i).unwrap(), b"GET / HTTP/1.0\r\nHost:\r\n\r\n");
        let i = input("encoded_request: '%%%'");
        assert_eq!(build_wire(&i), Err(BuildError::BadBase64));
    }

    #[test]
    fn template_parse_error_sends_no_body() {
        let w = wire("method: POST\nheaders: {Host: h}\ndata: 'a={{ oops'");
        assert!(w.ends_with("Content-Length: 0\r\n\r\n"), "{w}");
    }

    #[test]
    fn parses_a_plain_request() {
        let r = req(parse_request(
            b"POST /p?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX: a  \r\n\r\nabcdef",
        )
        .view);
        assert_eq!(r.method, "POST");
        assert_eq!(r.uri, b"/p?q=1");
        assert_eq!(r.version, "1.1");
        assert_eq!(r.header("x"), Some(&b"a"[..]));
        assert_eq!(r.body, b"abc");
        assert_eq!(r.path(), b"/p");
    }

    #[test]
    fn chunked_bodies_are_decoded() {
        let p = parse_request(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nHi \r\n3\r\nCRS\r\n0\r\n\r\n",
        );
        assert!(p.notes.is_empty(), "{:?}", p.notes);
        assert_eq!(req(p.view).body, b"Hi CRS");
        // Content-Length and chunked, no body at all: lenient, empty body.
        let p = parse_request(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        let r = req(p.view);
        assert_eq!(r.body, b"");
        assert!(r.header("Content-Length").is_none());
    }

    #[test]
    fn server_rejections() {
        assert_eq!(status(b"     GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"\tGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET \\ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP\\1.0\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET / JUNK/1.0\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET /#frag HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(
            status(b"CONNECT www.x.org HTTP/1.1\r\nHost: h\r\n\r\n"),
            400
        );
        assert_eq!(status(b"CONNECT 1.2.3.4:80 HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
        assert_eq!(
            status(b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3;\r\n\r\n"),
            400
        );
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: h\r\nA: x\ry\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: localhost%00\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost:\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.0\r\nHost:\r\n\r\n"), 0);
        assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.0\r\n\r\n"), 0);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: [fe80::1]:80\r\n\r\n"), 0);
        assert_eq!(status(b"|GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
        assert_eq!(
            status(b"GET http://localhost HTTP/1.1\r\nHost: h\r\n\r\n"),
            0
        );
        assert_eq!(status(b"GET / HTTP/4.0\r\nHost: h\r\n\r\n"), 0);
    }

    #[test]
    fn http09() {
        match parse_request(b"GET / \r\nHost: h\r\n\r\n").view {
            ServerView::Http09(r) => {
                assert_eq!(r.version, "0.9");
                assert!(r.headers.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_never_panics() {
        for w in [
            &b""[..],
            b"\r\n",
            b"\n\n\n",
            b"GET",
            b"\xff\xfe\x00 \x00 \x00\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"GET / HTTP/1.1\r\n continuation\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h",
        ] {
            let _ = parse_request(w);
        }
    }
}
