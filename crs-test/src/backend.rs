//! The response CRS's CI backend gives: albedo (`ghcr.io/coreruleset/albedo:0.3.0`,
//! `server/server.go`), a Go `net/http` server.
//!
//! * `POST /reflect` (and `POST /reflect/...`): the body is a JSON spec `{"status": int,
//!   "headers": {name: value}, "body": "...", "encodedBody": "<base64>", "logMessage": "..."}`
//!   (Go's `encoding/json`: keys match case-insensitively, unknown keys are ignored). Status 0
//!   means 200; a status in 1..=99 or >= 600 gives `400 Invalid status code: N`; bad JSON gives
//!   `400 Invalid JSON in request body`; `body` wins over `encodedBody`; bad base64 gives the
//!   text `invalid base64 encoding of response body` with the spec's status (Go ignores the
//!   second `WriteHeader`). Spec headers are added with Go's canonical names.
//! * Anything else (any method, any path): 200 with an empty body.
//!
//! What Go's server adds is reproduced too, since RESPONSE-95x rules see it: header fields
//! sorted by name, then `Date`, `Content-Length` and — when the handler set no `Content-Type`
//! and wrote a body — a sniffed `Content-Type` (`http.DetectContentType`: `text/plain;
//! charset=utf-8` for plain text, `text/html; charset=utf-8` for HTML...). That sniffed type is
//! what makes `SecResponseBodyMimeType text/plain text/html ...` inspect the reflected bodies.
//! Go's `ServeMux` also answers a path that is not clean (`//x`, `/a/../b`) with a 301 to the
//! cleaned path, `OPTIONS *` with an empty 200, and a path with a broken `%` escape with
//! `400 Bad Request`.
//!
//! The request albedo handles is the one the WAF saw, target as sent (nginx's `proxy_pass`
//! without a URI forwards it unchanged); an absolute-form target counts by its path, an empty
//! path as `/` (what the proxy forwards).
//!
//! `Date` is the fixed [`BACKEND_DATE`] so that runs are reproducible. A response body is always
//! framed with `Content-Length` (Go switches to chunked above 2 KiB on HTTP/1.1; the proxy in
//! front de-chunks it for the WAF anyway).

use crate::goutil::{self, canonical_mime_header_key, is_tchar};
use crate::request::Request;

/// The `Date` albedo's responses carry here.
pub const BACKEND_DATE: &str = "Mon, 01 Jan 2024 00:00:00 GMT";

/// A response as the WAF sees it in its response phases.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Response {
    pub status: u16,
    /// Header fields in wire order.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }

    /// The raw response as the client reads it: status line, header fields, blank line, body
    /// (what go-ftw's `response_contains` is matched against).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.body.len());
        let text = goutil::status_text(self.status);
        if text.is_empty() {
            out.extend_from_slice(
                format!("HTTP/1.1 {0:03} status code {0}\r\n", self.status).as_bytes(),
            );
        } else {
            out.extend_from_slice(format!("HTTP/1.1 {:03} {text}\r\n", self.status).as_bytes());
        }
        for (n, v) in &self.headers {
            out.extend_from_slice(n);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// albedo's answer to `req` (see the module docs).
pub fn albedo(req: &Request) -> Response {
    let mut w = GoResponseWriter::default();
    let method = req.method.as_str();
    if method == "OPTIONS" && req.uri == b"*" {
        // net/http's globalOptionsHandler.
        w.header.push(("Content-Length".into(), "0".into()));
        return w.finish(method);
    }
    let path = req.path();
    if method != "CONNECT" {
        let Some(decoded) = percent_decode(path) else {
            return go_bad_request();
        };
        let decoded = if decoded.is_empty() {
            b"/".to_vec()
        } else {
            decoded
        };
        let clean = clean_path(&decoded);
        if clean != decoded {
            let mut location = escape_path(&clean);
            if let Some(q) = req.uri.iter().position(|&b| b == b'?') {
                location.extend_from_slice(&req.uri[q..]);
            }
            return redirect(method, &location);
        }
        if method == "POST" && (clean == b"/reflect" || clean.starts_with(b"/reflect/")) {
            reflect(&req.body, &mut w);
            return w.finish(method);
        }
    }
    // handleDefault: writes nothing.
    w.finish(method)
}

/// What a Go handler accumulates before the server writes the response.
#[derive(Default)]
struct GoResponseWriter {
    status: Option<u16>,
    /// `w.Header()`, canonical names (a Go map: written sorted).
    header: Vec<(String, String)>,
    body: Vec<u8>,
}

impl GoResponseWriter {
    fn add_header(&mut self, name: &str, value: &str) {
        self.header
            .push((canonical_mime_header_key(name), value.to_string()));
    }

    fn write_header(&mut self, status: u16) {
        // A second WriteHeader is "superfluous" and ignored.
        self.status.get_or_insert(status);
    }

    fn write(&mut self, data: &[u8]) {
        self.write_header(200);
        self.body.extend_from_slice(data);
    }

    /// net/http's chunkWriter.writeHeader + Header.writeSubset.
    fn finish(self, method: &str) -> Response {
        let status = self.status.unwrap_or(200);
        let body_allowed = !((100..200).contains(&status) || status == 204 || status == 304);
        let has = |n: &str| self.header.iter().any(|(k, _)| k == n);
        let mut headers: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut sorted = self.header.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0)); // stable: values of one name keep their order
        for (k, v) in &sorted {
            if k.is_empty() || !k.bytes().all(is_tchar) {
                continue; // invalid names are dropped
            }
            let v = v.replace(['\r', '\n'], " ");
            headers.push((
                k.clone().into_bytes(),
                v.trim_matches([' ', '\t']).as_bytes().to_vec(),
            ));
        }
        if !has("Date") {
            headers.push((b"Date".to_vec(), BACKEND_DATE.as_bytes().to_vec()));
        }
        let body = if body_allowed && method != "HEAD" {
            self.body
        } else {
            Vec::new()
        };
        if body_allowed && !has("Content-Length") && (method != "HEAD" || !body.is_empty()) {
            headers.push((
                b"Content-Length".to_vec(),
                body.len().to_string().into_bytes(),
            ));
        }
        if body_allowed && !has("Content-Type") && !body.is_empty() {
            headers.push((
                b"Content-Type".to_vec(),
                goutil::detect_content_type(&body).as_bytes().to_vec(),
            ));
        }
        Response {
            status,
            headers,
            body,
        }
    }
}

/// albedo's handleReflect / doReflect.
fn reflect(body: &[u8], w: &mut GoResponseWriter) {
    let Some(spec) = parse_spec(body) else {
        w.write_header(400);
        w.write(b"Invalid JSON in request body");
        return;
    };
    for (name, value) in &spec.headers {
        w.add_header(name, value);
    }
    if (spec.status > 0 && spec.status < 100) || spec.status >= 600 {
        w.write_header(400);
        w.write(format!("Invalid status code: {}", spec.status).as_bytes());
        return;
    }
    w.write_header(if spec.status == 0 {
        200
    } else {
        spec.status as u16
    });
    let body = if !spec.body.is_empty() {
        spec.body.into_bytes()
    } else if spec.encoded_body.is_empty() {
        Vec::new()
    } else {
        match goutil::base64_decode(&spec.encoded_body) {
            Some(b) => b,
            None => b"invalid base64 encoding of response body".to_vec(),
        }
    };
    if !body.is_empty() {
        w.write(&body);
    }
}

#[derive(Default)]
struct ReflectionSpec {
    status: i64,
    headers: Vec<(String, String)>,
    body: String,
    encoded_body: String,
}

/// Go's `json.Unmarshal` into albedo's `reflectionSpec`: field names match case-insensitively,
/// unknown fields are ignored, `null` leaves a field alone, a type mismatch is an error.
/// Invalid UTF-8 is replaced by U+FFFD as Go does.
fn parse_spec(body: &[u8]) -> Option<ReflectionSpec> {
    let text = String::from_utf8_lossy(body);
    let serde_json::Value::Object(map) = serde_json::from_str::<serde_json::Value>(&text).ok()?
    else {
        return None;
    };
    let mut spec = ReflectionSpec::default();
    for (key, value) in map {
        if value.is_null() {
            continue;
        }
        let string = |v: &serde_json::Value| v.as_str().map(str::to_string);
        match key.to_ascii_lowercase().as_str() {
            "status" => spec.status = value.as_i64()?,
            "headers" => {
                let serde_json::Value::Object(h) = value else {
                    return None;
                };
                for (n, v) in h {
                    if v.is_null() {
                        spec.headers.push((n, String::new()));
                    } else {
                        spec.headers.push((n, string(&v)?));
                    }
                }
            }
            "body" => spec.body = string(&value)?,
            "encodedbody" => spec.encoded_body = string(&value)?,
            "logmessage" => {
                string(&value)?;
            }
            _ => {}
        }
    }
    Some(spec)
}

/// net/http's answer when it cannot parse the request (before any handler).
fn go_bad_request() -> Response {
    Response {
        status: 400,
        headers: vec![
            (
                b"Content-Type".to_vec(),
                b"text/plain; charset=utf-8".to_vec(),
            ),
            (b"Connection".to_vec(), b"close".to_vec()),
        ],
        body: b"400 Bad Request".to_vec(),
    }
}

/// net/http's `Redirect(w, r, url, 301)` as ServeMux uses it.
fn redirect(method: &str, location: &[u8]) -> Response {
    let mut w = GoResponseWriter::default();
    w.header.push((
        "Location".into(),
        String::from_utf8_lossy(location).into_owned(),
    ));
    if method == "GET" || method == "HEAD" {
        w.header
            .push(("Content-Type".into(), "text/html; charset=utf-8".into()));
    }
    w.write_header(301);
    if method == "GET" {
        let loc = String::from_utf8_lossy(location)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;");
        w.write(format!("<a href=\"{loc}\">Moved Permanently</a>.\n\n").as_bytes());
    }
    w.finish(method)
}

fn percent_decode(path: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i] == b'%' {
            let hi = goutil::hex_val(*path.get(i + 1)?)?;
            let lo = goutil::hex_val(*path.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(path[i]);
            i += 1;
        }
    }
    Some(out)
}

/// net/http's `cleanPath`: `path.Clean` on a rooted path, keeping a trailing slash.
fn clean_path(p: &[u8]) -> Vec<u8> {
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in p.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let mut out = Vec::with_capacity(p.len());
    for s in &segs {
        out.push(b'/');
        out.extend_from_slice(s);
    }
    // The root, or a trailing slash kept.
    if out.is_empty() || p.ends_with(b"/") {
        out.push(b'/');
    }
    out
}

/// Go's `url.URL.EscapedPath` for a path without a RawPath.
fn escape_path(p: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(p.len());
    for &b in p {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'~'
                    | b'$'
                    | b'&'
                    | b'+'
                    | b','
                    | b'/'
                    | b':'
                    | b';'
                    | b'='
                    | b'@'
            )
        {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(uri: &str, body: &str) -> Request {
        Request {
            method: "POST".into(),
            uri: uri.as_bytes().to_vec(),
            version: "1.1".into(),
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    fn hdrs(r: &Response) -> Vec<(String, String)> {
        r.headers
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn default_handler() {
        let mut r = post("/post", "a=b");
        let resp = albedo(&r);
        assert_eq!(resp.status, 200);
        assert!(resp.body.is_empty());
        assert_eq!(
            hdrs(&resp),
            vec![
                ("Date".into(), BACKEND_DATE.into()),
                ("Content-Length".into(), "0".into())
            ]
        );
        r.method = "HEAD".into();
        assert_eq!(albedo(&r).headers.len(), 1);
        // GET on /reflect is not a reflection.
        r.method = "GET".into();
        r.uri = b"/reflect".to_vec();
        assert!(albedo(&r).body.is_empty());
    }

    #[test]
    fn reflection() {
        let resp = albedo(&post(
            "/reflect",
            r#"{"body": "SQL Error: ORA-00933", "headers": {"x-b": "2", "a-h": "1"}, "Status": 201}"#,
        ));
        assert_eq!(resp.status, 201);
        assert_eq!(resp.body, b"SQL Error: ORA-00933");
        assert_eq!(
            hdrs(&resp),
            vec![
                ("A-H".into(), "1".into()),
                ("X-B".into(), "2".into()),
                ("Date".into(), BACKEND_DATE.into()),
                ("Content-Length".into(), "20".into()),
                ("Content-Type".into(), "text/plain; charset=utf-8".into()),
            ]
        );
        let resp = albedo(&post(
            "/reflect",
            r#"{"encodedBody": "PGh0bWw+PC9odG1sPg=="}"#,
        ));
        assert_eq!(resp.body, b"<html></html>");
        assert_eq!(
            resp.header("content-type"),
            Some(&b"text/html; charset=utf-8"[..])
        );
        let resp = albedo(&post(
            "/reflect",
            r#"{"body": "x", "headers": {"Content-Type": "application/json"}}"#,
        ));
        assert_eq!(resp.header("Content-Type"), Some(&b"application/json"[..]));
        assert_eq!(
            resp.headers
                .iter()
                .filter(|(n, _)| n == b"Content-Type")
                .count(),
            1
        );
    }

    #[test]
    fn reflection_errors() {
        let resp = albedo(&post("/reflect", "not json"));
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (400, &b"Invalid JSON in request body"[..])
        );
        let resp = albedo(&post("/reflect", r#"{"status": 42}"#));
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (400, &b"Invalid status code: 42"[..])
        );
        let resp = albedo(&post("/reflect", r#"{"status": "200"}"#));
        assert_eq!(resp.status, 400);
        let resp = albedo(&post("/reflect", r#"{"status": 302, "encodedBody": "!!"}"#));
        assert_eq!(resp.status, 302);
        assert_eq!(resp.body, b"invalid base64 encoding of response body");
        let resp = albedo(&post("/reflect", r#"{"status": 204, "body": "x"}"#));
        assert_eq!(resp.status, 204);
        assert!(resp.body.is_empty() && resp.header("Content-Length").is_none());
    }

    #[test]
    fn mux_details() {
        let mut r = post("/a/../get?x=1", "");
        r.method = "GET".into();
        let resp = albedo(&r);
        assert_eq!(resp.status, 301);
        assert_eq!(resp.header("Location"), Some(&b"/get?x=1"[..]));
        assert_eq!(
            resp.body,
            b"<a href=\"/get?x=1\">Moved Permanently</a>.\n\n"
        );
        assert_eq!(albedo(&post("/%zz", "")).status, 400);
        assert_eq!(albedo(&post("/reflect/", "{}")).status, 200);
        assert_eq!(clean_path(b"//a/./b/"), b"/a/b/");
    }
}
