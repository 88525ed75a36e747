//! What each step of the request and response records (libmodsecurity's
//! `Transaction::process*`/`add*`/`append*`), and the phases they run.

use super::{BodyProcessor, Transaction};
use crate::collection::Bytes;
use crate::config::BodyLimitAction;
use seclang_parser::names::VariableName as V;

/// `%XX` decoding where both digits are hex; anything else kept (libmodsecurity's
/// `uri_decode`, used for the path variables). `+` stays `+`.
pub(crate) fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// How much of a chunk went into a body with a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    All,
    /// `ProcessPartial`: cut at the limit.
    Partial,
    /// `Reject`: nothing more taken.
    Rejected,
}

/// Appends `chunk` to `body` within `limit` bytes (0: no limit), libmodsecurity's way: with
/// `ProcessPartial` the body is cut at the limit, with `Reject` the chunk is dropped.
pub(crate) fn append_limited(
    body: &mut Vec<u8>,
    chunk: &[u8],
    limit: u64,
    action: BodyLimitAction,
) -> Appended {
    let current = body.len() as u64;
    if limit == 0 || current + chunk.len() as u64 <= limit {
        body.extend_from_slice(chunk);
        return Appended::All;
    }
    match action {
        BodyLimitAction::ProcessPartial => {
            let room = limit.saturating_sub(current) as usize;
            body.extend_from_slice(&chunk[..room.min(chunk.len())]);
            Appended::Partial
        }
        BodyLimitAction::Reject => Appended::Rejected,
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn find(hay: &[u8], needle: u8) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

impl Transaction {
    /// Connection data; runs the `phase:0` rules.
    pub fn process_connection(
        &mut self,
        client_ip: &str,
        client_port: u16,
        server_ip: &str,
        server_port: u16,
    ) {
        self.client_ip = client_ip.to_string();
        self.server_ip = server_ip.to_string();
        self.set_scalar(V::RemoteHost, client_ip.as_bytes());
        self.set_scalar(V::RemoteAddr, client_ip.as_bytes());
        self.set_scalar(V::ServerAddr, server_ip.as_bytes());
        // (the digits written on the stack: `set_scalar` shares or copies them)
        let mut digits = [0; 20];
        self.set_scalar(
            V::ServerPort,
            crate::decimal::decimal(server_port, &mut digits),
        );
        self.set_scalar(
            V::RemotePort,
            crate::decimal::decimal(client_port, &mut digits),
        );
        self.run_phase(0);
    }

    /// `msc_set_request_hostname`: the host name used in log lines.
    pub fn set_request_hostname(&mut self, hostname: &str) {
        self.hostname = Some(hostname.to_string());
    }

    /// The request line. `uri` as received (path and query), `http_version` like `1.1`.
    pub fn process_uri(&mut self, uri: &[u8], method: &[u8], http_version: &[u8]) {
        // (the request line's variables change: values kept from an earlier phase are not theirs)
        self.phase_values.clear();
        // libmodsecurity (3.0.12+) drops a `#fragment` before anything else
        let full_uri = uri;
        let uri = match find(uri, b'#') {
            Some(p) => &uri[..p],
            None => uri,
        };
        self.uri_raw = uri.to_vec();
        let decoded = percent_decode(uri);
        let q_raw = find(uri, b'?');

        // the offsets of libmodsecurity's processURI (`[ref]`'s `v` parts): the request line
        // is `METHOD URI HTTP/VERSION`, counted from the transaction's current offset for some
        // variables and from 0 for others, as it does
        let base = self.var_offset;
        let after_method = method.len() + 1;
        self.set_scalar_at(V::RequestMethod, method, 0, method.len());
        // (each made at its length: grown piece by piece they were copied twice or three times)
        let mut line =
            Vec::with_capacity(method.len() + 1 + full_uri.len() + 6 + http_version.len());
        line.extend_from_slice(method);
        line.push(b' ');
        line.extend_from_slice(full_uri);
        let method_and_uri = line.len();
        line.extend_from_slice(b" HTTP/");
        line.extend_from_slice(http_version);
        self.set_scalar(V::RequestLine, &line);
        // (the request line's own bytes: no buffer of its own)
        let proto = &line[method_and_uri + 1..];
        self.set_scalar_at(
            V::RequestProtocol,
            proto,
            base + method_and_uri + 1,
            proto.len(),
        );

        // the path is split from the query on the raw URI, then decoded (an encoded `%3F`
        // stays part of the path, as in libmodsecurity 3.0.15)
        let path = match q_raw {
            Some(p) => percent_decode(&uri[..p]),
            None => decoded.clone(),
        };
        let query_offset = q_raw.map_or(0, |p| p + 1 + after_method);
        if let Some(p) = q_raw {
            let q = &uri[p + 1..];
            self.set_scalar_at(V::QueryString, q, query_offset, q.len());
        }
        let raw_path_len = q_raw.unwrap_or(uri.len());
        self.set_scalar_at(V::PathInfo, &path, base + after_method, raw_path_len);
        self.set_scalar_at(V::RequestFilename, &path, base + after_method, raw_path_len);
        if let Some(slash) = path.iter().rposition(|&c| c == b'/' || c == b'\\') {
            if path.len() > slash + 1 {
                let name = &path[slash + 1..];
                let at = base + after_method + slash + 1;
                self.set_scalar_at(V::RequestBasename, name, at, name.len());
            }
        }
        // (kept for the log lines' `uri`)
        self.path_decoded = path;
        self.var_offset = line.len();
        // REQUEST_URI: decoded; an absolute URI loses its scheme and authority.
        let mut parsed: &[u8] = &decoded;
        if !decoded.is_empty() && decoded[0] != b'/' {
            if let Some(colon) = find(&decoded, b':') {
                let scheme_end = colon + 1;
                if decoded[scheme_end..].starts_with(b"//") {
                    let netloc = scheme_end + 2;
                    if let Some(slash) = find(&decoded[netloc..], b'/') {
                        parsed = &decoded[netloc + slash..];
                    }
                }
            }
        }
        self.set_scalar_at(V::RequestUri, parsed, after_method, uri.len());
        self.set_scalar_at(V::RequestUriRaw, full_uri, after_method, full_uri.len());
        if let Some(p) = q_raw {
            let query = &uri[p + 1..];
            if !query.is_empty() {
                self.extract_arguments(true, query, query_offset);
            }
        }
        self.var_offset += 1;
    }

    /// Splits `a=1&b=2` into arguments (GET when `get`, POST otherwise); `offset`: where
    /// `input` starts in the request.
    pub(crate) fn extract_arguments(&mut self, get: bool, input: &[u8], mut offset: usize) {
        let separator = self.rules.config.separator();
        // the raw piece lengths move the offset, as in libmodsecurity's extractArguments
        let status = crate::body::urlencoded::parse_each(input, separator, |piece, k, v| {
            self.add_argument(get, k, v, Some(offset));
            offset += piece.len() + 1;
        });
        if status.urlencoded_error {
            self.set_scalar(V::UrlencodedError, b"1");
        }
    }

    /// One argument; `offset`: where its name starts in the request, as libmodsecurity's
    /// `addArgument` counts it (the value then starts after the decoded name and `=`).
    pub(crate) fn add_argument(
        &mut self,
        get: bool,
        name: &[u8],
        value: &[u8],
        offset: Option<usize>,
    ) {
        if let Some(limit) = self.rules.config.arguments_limit {
            if self.args.len() as u64 >= limit {
                return;
            }
        }
        let value_offset = offset.map(|o| o + name.len() + 1);
        let origin = value_offset.map(|o| (o, value.len()));
        self.push_argument(get, name, value, origin);
        self.args_combined_size_set = true;
        if let Some(o) = offset {
            // set twice, with the name's and then the value's origin
            let origins = &mut self.scalar_origins[V::ArgsCombinedSize as usize];
            origins.push((o, name.len()));
            origins.push((o + name.len() + 1, value.len()));
        }
    }

    /// A form field of a multipart body: libmodsecurity's multipart processor sets ARGS and
    /// ARGS_POST directly (with the value's origin), not through `addArgument`, so
    /// `ARGS_COMBINED_SIZE` gets no origin from it.
    pub(crate) fn add_multipart_argument(
        &mut self,
        name: &[u8],
        value: &[u8],
        origin: Option<(usize, usize)>,
    ) {
        if let Some(limit) = self.rules.config.arguments_limit {
            if self.args.len() as u64 >= limit {
                return;
            }
        }
        self.push_argument(false, name, value, origin);
        self.args_combined_size_set = true;
    }

    fn push_argument(
        &mut self,
        get: bool,
        name: &[u8],
        value: &[u8],
        origin: Option<(usize, usize)>,
    ) {
        // ARGS and ARGS_GET/ARGS_POST share the buffers; a large request's are written into
        // its arena's blocks (a small one's are few, and the texts of those the thread keeps
        // for its next transactions would then be copied out of their blocks)
        let large = self.args.len() >= SHARED_VALUES_FROM;
        let value_bytes = match large && value.len() <= SHARED_VALUE_LEN {
            true => self.shared_argument_value(value),
            false if large => self.argument_bytes.copy(value),
            false => value.into(),
        };
        let name_bytes: Bytes = match large {
            true => self.argument_bytes.copy(name),
            false => name.into(),
        };
        let hash = crate::collection::name_hash(name);
        if get {
            self.args_get
                .add_shared_hashed(name_bytes.clone(), hash, value_bytes.clone(), origin);
        } else {
            // (`ARGS_POST` is made from `ARGS` when a rule asks for it: see `args_post`)
            self.post_args.push(self.args.len() as u32);
            self.args_post.take();
        }
        self.args
            .add_shared_hashed(name_bytes, hash, value_bytes, origin);
        self.args_combined_size += (name.len() + value.len()) as u64;
    }

    /// A buffer of `value`: the one an earlier argument of this text has, when there is one.
    /// (A form's or a JSON document's values repeat: a 1 MB form's 13,500 fields held 31
    /// texts, each allocated, copied and freed again per field.)
    fn shared_argument_value(&mut self, value: &[u8]) -> Bytes {
        let key = (
            crate::word_hash::KeyHasher::text_hash(value, 0),
            value.len(),
        );
        let table = &mut self.scratch.argument_values;
        if let Some(earlier) = table.get(&key) {
            // (a text of the same hash but other bytes gets a buffer of its own)
            return super::reused(Some(earlier), value);
        }
        let bytes = self.argument_bytes.copy(value);
        if table.len() < SHARED_VALUES_MAX {
            table.insert(key, bytes.clone());
        }
        bytes
    }

    /// One request header (repeat for each; order kept).
    pub fn add_request_header(&mut self, name: &[u8], value: &[u8]) {
        // (as for the request line)
        self.phase_values.clear();
        // libmodsecurity counts `Name: value\n` per header (the name at the current offset)
        self.var_offset += name.len() + 2;
        // (the buffers of the header at this place in the thread's last request when they hold
        // these bytes: two allocations a header saved)
        let earlier = self.earlier_headers.get(self.request_headers.len());
        let earlier = earlier.filter(|(n, _)| n[..] == *name);
        let shared_name = super::reused(earlier.map(|(n, _)| n), name);
        let shared_value = super::reused(earlier.and_then(|(_, v)| v.as_ref()), value);
        let origin = Some((self.var_offset, value.len()));
        self.request_headers
            .add_shared(shared_name, shared_value, origin);
        // (the name compared without regard to case, not lowercased into a copy per header)
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        if is(b"authorization") {
            let first = value.split(|&c| c == b' ').next().unwrap_or(b"");
            self.set_scalar(V::AuthType, first);
        } else if is(b"cookie") {
            self.add_cookies(value, self.var_offset);
        } else if is(b"content-type") {
            let starts = |p: &[u8]| crate::rule::starts_with_ignore_case(value, p);
            if starts(b"multipart/form-data") {
                self.body_processor = Some(BodyProcessor::Multipart);
                self.set_scalar(V::ReqbodyProcessor, b"MULTIPART");
            }
            if starts(b"application/x-www-form-urlencoded") {
                self.body_processor = Some(BodyProcessor::UrlEncoded);
                self.set_scalar(V::ReqbodyProcessor, b"URLENCODED");
            }
        } else if is(b"host") {
            let host = value.split(|&c| c == b':').next().unwrap_or(b"");
            self.set_scalar(V::ServerName, host);
        }
        self.var_offset += value.len() + 1;
    }

    /// `Cookie: a=1; b=2` (version 0 cookies, as libmodsecurity splits them); `offset`: where
    /// the header's value starts.
    fn add_cookies(&mut self, value: &[u8], mut offset: usize) {
        let mut parts: Vec<&[u8]> = value.split(|&c| c == b';').collect();
        // libmodsecurity's split drops a trailing empty piece
        if parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        if let Some(last) = parts.last_mut() {
            while last.last().is_some_and(u8::is_ascii_whitespace) {
                *last = &last[..last.len() - 1];
            }
        }
        // the offsets as libmodsecurity's addRequestHeader moves its local offset
        for c in parts {
            if c.is_empty() {
                offset += 1;
                continue;
            }
            let (mut key, val): (&[u8], &[u8]) = match find(c, b'=') {
                Some(p) => (&c[..p], &c[p + 1..]),
                None => (c, b""),
            };
            while key.first().is_some_and(u8::is_ascii_whitespace) {
                key = &key[1..];
                offset += 1;
            }
            if key.is_empty() {
                offset += c.len() + 1;
                continue;
            }
            offset += key.len() + 1;
            self.request_cookies
                .add_at(key, val, Some((offset, val.len())));
            offset += val.len() + 1;
        }
    }

    /// Runs the phase 1 rules.
    pub fn process_request_headers(&mut self) {
        if self.engine_off() {
            return;
        }
        self.run_phase(1);
    }

    /// Adds request body bytes; `false` when the body limit was reached
    /// (`SecRequestBodyLimitAction ProcessPartial`: the body is cut there).
    pub fn append_request_body(&mut self, chunk: &[u8]) -> bool {
        let limit = self.rules.config.request_body_limit.unwrap_or(0);
        let action = self.rules.config.request_body_limit_action;
        match append_limited(&mut self.request_body, chunk, limit, action) {
            Appended::All => true,
            overflow => self.body_over_limit(V::InboundDataError, "Request", overflow),
        }
    }

    /// A body went past its limit: the `*_DATA_ERROR` flag, and with `Reject` an interruption
    /// (only when the engine is On). Returns what `append_*_body` returns.
    fn body_over_limit(&mut self, flag: V, which: &str, overflow: Appended) -> bool {
        self.set_scalar(flag, b"1");
        if overflow == Appended::Partial {
            return false;
        }
        if self.engine_on() {
            self.intervention.log = Some(format!(
                "{which} body limit is marked to reject the request"
            ));
            self.intervention.status = 403;
            self.intervention.disruptive = true;
        }
        true
    }

    /// `FULL_REQUEST` as libmodsecurity builds it: each header as `name: value` and a line
    /// feed, two more, the body.
    pub(crate) fn full_request_text(&self) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.full_request_len());
        for h in &self.request_headers {
            full.extend_from_slice(&h.name);
            full.extend_from_slice(b": ");
            full.extend_from_slice(&h.value);
            full.push(b'\n');
        }
        full.extend_from_slice(b"\n\n");
        full.extend_from_slice(&self.request_body);
        full
    }

    fn full_request_len(&self) -> usize {
        let headers: usize = (&self.request_headers)
            .into_iter()
            .map(|h| h.name.len() + 2 + h.value.len() + 1)
            .sum();
        headers + 2 + self.request_body.len()
    }

    /// Parses the request body and runs the phase 2 rules.
    pub fn process_request_body(&mut self) {
        if self.engine_off() {
            return;
        }
        if self.scalar(V::InboundDataError).is_none() {
            self.set_scalar(V::InboundDataError, b"0");
        }
        self.run_body_processor();

        let access = match self.rules.config.request_body_access {
            Some(false) => self.request_body_access == Some(true),
            _ => self.request_body_access != Some(false),
        };
        if !access {
            return;
        }
        // FULL_REQUEST: its length and origin now, its text when a rule asks for it
        // (`scalar_value`): no CRS rule does, and two copies of the whole body were made for
        // each request with one (1 MB bodies: a copy costs what the rules' scan of it does)
        let len = self.full_request_len();
        self.full_request = true;
        self.scalar_origins[V::FullRequest as usize].push((self.var_offset, len));
        self.set_scalar(V::FullRequestLength, len.to_string().as_bytes());
        // REQUEST_BODY: libmodsecurity 3 always fills it; ModSecurity v2, on which CRS's
        // expectations were written, leaves it empty when the XML processor parsed the body
        // (unless `ctl:forceRequestBodyVariable=On`), and CRS's 944100-944210 tests expect those
        // rules not to fire on XML bodies. Sekisho follows CRS there and libmodsecurity
        // elsewhere (README, "Deliberate differences").
        let body_variable = self.force_request_body_variable
            || !matches!(self.body_processor, Some(BodyProcessor::Xml));
        if body_variable && !self.request_body.is_empty() {
            let body = std::mem::take(&mut self.request_body);
            self.set_scalar(V::RequestBody, &body);
            let at = self.var_offset;
            let length = body.len().to_string();
            self.set_scalar_at(V::RequestBodyLength, length.as_bytes(), at, body.len());
            self.request_body = body;
        }
        self.run_phase(2);
    }

    /// One response header.
    pub fn add_response_header(&mut self, name: &[u8], value: &[u8]) {
        // libmodsecurity does not move its offset for response headers
        self.response_headers
            .add_at(name, value, Some((self.var_offset, value.len())));
        if name.eq_ignore_ascii_case(b"content-type") {
            let first = value.split(|&c| c == b';').next().unwrap_or(b"");
            self.set_scalar_at(V::ResponseContentType, first, 0, first.len());
        }
    }

    /// The response status line; runs the phase 3 rules.
    pub fn process_response_headers(&mut self, status: u16, protocol: &[u8]) {
        self.set_scalar(V::ResponseStatus, status.to_string().as_bytes());
        self.set_scalar(V::ResponseProtocol, protocol);
        if self.engine_off() {
            return;
        }
        self.run_phase(3);
    }

    /// A later status code (`msc_update_status_code`).
    pub fn update_status_code(&mut self, status: u16) {
        self.set_scalar(V::ResponseStatus, status.to_string().as_bytes());
    }

    fn response_type_inspected(&self) -> bool {
        let ct = self
            .scalar(V::ResponseContentType)
            .unwrap_or(b"")
            .to_ascii_lowercase();
        match &self.rules.config.response_body_mime_types {
            None => true,
            Some(types) => types.contains(&ct),
        }
    }

    /// Adds response body bytes; `false` when the limit cut it (ProcessPartial).
    pub fn append_response_body(&mut self, chunk: &[u8]) -> bool {
        if !self.response_type_inspected() {
            return true;
        }
        let limit = self.rules.config.response_body_limit.unwrap_or(0);
        let action = self.rules.config.response_body_limit_action;
        match append_limited(&mut self.response_body, chunk, limit, action) {
            Appended::All => true,
            overflow => self.body_over_limit(V::OutboundDataError, "Response", overflow),
        }
    }

    /// Runs the phase 4 rules (when `SecResponseBodyAccess On` and the type is inspected).
    pub fn process_response_body(&mut self) {
        if self.engine_off() || self.rules.config.response_body_access != Some(true) {
            return;
        }
        if !self.response_type_inspected() {
            return;
        }
        if self.scalar(V::OutboundDataError).is_none() {
            self.set_scalar(V::OutboundDataError, b"0");
        }
        let body = std::mem::take(&mut self.response_body);
        self.set_scalar(V::ResponseBody, &body);
        self.set_scalar(V::ResponseContentLength, body.len().to_string().as_bytes());
        self.response_body = body;
        self.run_phase(4);
    }

    /// Runs the phase 5 (logging) rules.
    pub fn process_logging(&mut self) {
        if self.engine_off() {
            return;
        }
        self.run_phase(5);
        self.write_audit_log();
    }

    /// The request body as received so far.
    pub fn request_body(&self) -> &[u8] {
        &self.request_body
    }

    /// The response body as received so far (`msc_get_response_body`).
    pub fn response_body(&self) -> &[u8] {
        &self.response_body
    }
}

/// `ARGS_COMBINED_SIZE`'s text: libmodsecurity keeps the size as a double, and std::to_string
/// gives "12.000000" (written from the integer: a float's formatting was a tenth of the cost of
/// adding an argument).
pub(crate) fn combined_size_text(size: u64) -> Bytes {
    use std::io::Write;
    let mut text = [0u8; 48];
    let mut w = &mut text[..];
    let _ = if size < 1 << f64::MANTISSA_DIGITS {
        write!(w, "{size}.000000")
    } else {
        write!(w, "{:.6}", size as f64)
    };
    let len = 48 - w.len();
    Bytes::from(&text[..len])
}

/// A request's arguments share the buffers of equal values, and are written into its arena,
/// from this many arguments on (a small request's values seldom repeat, and a table is not
/// worth its hashing),
const SHARED_VALUES_FROM: usize = 64;
/// for values this long at most (a long one seldom repeats),
const SHARED_VALUE_LEN: usize = 256;
/// and this many distinct texts at most.
const SHARED_VALUES_MAX: usize = 4096;

#[cfg(test)]
mod tests {
    use super::{combined_size_text, percent_decode, Bytes, SHARED_VALUES_FROM, SHARED_VALUE_LEN};
    use super::{Transaction, V};

    /// `Content-Type` picks the body processor without regard to case (libmodsecurity
    /// lowercases the value before it compares); the connection's ports are their digits.
    #[test]
    fn content_type_picks_the_body_processor_in_any_case() {
        let rules = std::sync::Arc::new(
            crate::RuleSet::from_text("t.conf", "SecRuleEngine On\nSecRequestBodyAccess On", None)
                .unwrap(),
        );
        for (content_type, processor) in [
            ("Multipart/Form-Data; boundary=x", Some(&b"MULTIPART"[..])),
            ("APPLICATION/X-WWW-FORM-URLENCODED", Some(b"URLENCODED")),
            (
                "application/x-www-form-urlencoded; charset=UTF-8",
                Some(b"URLENCODED"),
            ),
            ("multipart/form", None),
            ("text/plain", None),
        ] {
            let mut tx = Transaction::new(std::sync::Arc::clone(&rules));
            tx.process_connection("192.0.2.1", 40001, "198.51.100.2", 8443);
            tx.process_uri(b"/", b"POST", b"1.1");
            tx.add_request_header(b"Content-Type", content_type.as_bytes());
            let scalar = |v| tx.scalar_value(v).map(|b| b.to_vec());
            assert_eq!(
                scalar(V::ReqbodyProcessor).as_deref(),
                processor,
                "{content_type}"
            );
            assert_eq!(scalar(V::RemotePort).as_deref(), Some(&b"40001"[..]));
            assert_eq!(scalar(V::ServerPort).as_deref(), Some(&b"8443"[..]));
        }
    }

    /// `ARGS_POST` (made from `ARGS` when first asked for) holds the body's arguments alone,
    /// in order, with their origins and `ARGS`' buffers; `ARGS_GET` the query's; an argument
    /// added after it was made is in it when asked again.
    #[test]
    fn args_post_is_the_bodys_arguments_of_args() {
        let rules = std::sync::Arc::new(
            crate::RuleSet::from_text("t.conf", "SecRuleEngine On\nSecRequestBodyAccess On", None)
                .unwrap(),
        );
        let mut tx = Transaction::new(rules);
        tx.process_connection("192.0.2.1", 40001, "198.51.100.2", 80);
        tx.process_uri(b"/?g=1&both=q", b"POST", b"1.1");
        tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
        tx.process_request_headers();
        tx.append_request_body(b"p=x&both=y&p=z");
        tx.process_request_body();
        let listed = |tx: &Transaction, v| {
            let c = tx.collection(v).unwrap();
            c.iter()
                .map(|e| (e.name.to_vec(), e.value.to_vec(), e.origin))
                .collect::<Vec<_>>()
        };
        let args = listed(&tx, V::Args);
        assert_eq!(args.len(), 5);
        assert_eq!(listed(&tx, V::ArgsGet), args[..2].to_vec());
        assert_eq!(listed(&tx, V::ArgsPost), args[2..].to_vec());
        assert_eq!(
            listed(&tx, V::ArgsPost)
                .into_iter()
                .map(|(n, v, _)| (n, v))
                .collect::<Vec<_>>(),
            [("p", "x"), ("both", "y"), ("p", "z")]
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        );
        let post = tx.collection(V::ArgsPost).unwrap();
        let shared = post.iter().zip(tx.args.iter().skip(2));
        assert!(shared
            .into_iter()
            .all(|(p, a)| Bytes::ptr_eq(&p.value, &a.value)));
        // found by name, as a collection of its own
        assert_eq!(post.get(b"BOTH"), Some(&b"y"[..]));
        tx.add_argument(false, b"late", b"w", None);
        tx.add_argument(true, b"late_get", b"v", None);
        let post = listed(&tx, V::ArgsPost);
        assert_eq!(post.len(), 4);
        assert_eq!(&post[3].0[..], b"late");
    }

    proptest::proptest! {
        /// The size's text is what a double's `{:.6}` gives, past 2^53 included.
        #[test]
        fn combined_size_is_written_as_a_double(size in proptest::prop_oneof![
            0..100_000u64,
            0..u64::MAX,
            proptest::strategy::Just((1u64 << 53) + 1),
        ]) {
            let expected = format!("{:.6}", size as f64);
            proptest::prop_assert_eq!(&combined_size_text(size)[..], expected.as_bytes());
        }
    }

    /// FULL_REQUEST, built when a rule asks: libmodsecurity 3.0.15's text, length and `[ref]`
    /// for the request of tests/oracle/cases/txn (tests/oracle/FINDINGS.md, "Transactions":
    /// `o0,116o0,116v147,116`); empty before the body phase.
    #[test]
    fn full_request_is_built_when_asked() {
        use crate::transaction::test_log;
        let rules = "SecRuleEngine DetectionOnly\n\
            SecRule FULL_REQUEST \"@rx ^(.*)$\" \"id:1,phase:1,pass,log,capture,logdata:'%{TX.1}'\"\n\
            SecRule FULL_REQUEST \"@rx ^(.*)$\" \"id:2,phase:2,pass,log,capture,logdata:'%{TX.1}'\"\n\
            SecRule FULL_REQUEST_LENGTH \"@rx ^(.*)$\" \"id:3,phase:2,pass,log,capture,logdata:'%{TX.1}'\"";
        let lines = test_log::lines(rules, |tx| {
            tx.process_uri(b"/", b"POST", b"1.1");
            for (k, v) in [
                ("Host", "www.example.com"),
                ("Cookie", "a=1; b=2"),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Content-Length", "9"),
            ] {
                tx.add_request_header(k.as_bytes(), v.as_bytes());
            }
            tx.process_request_headers();
            tx.append_request_body(b"p=1&q=%zz");
            tx.process_request_body();
        });
        let field = |i: usize, name| test_log::field(&lines[i], name);
        // phase 1: the variable is there, empty, as libmodsecurity's anchored variables are
        assert_eq!(
            (field(0, "id"), field(0, "data")),
            ("1".into(), String::new())
        );
        assert_eq!(field(0, "ref"), "o0,0o0,0");
        // (the oracle's request line is longer: its `v` offset is 147)
        assert!(field(1, "ref").starts_with("o0,116o0,116v"), "{lines:?}");
        assert!(field(2, "ref").starts_with("o0,3o0,3v"), "{lines:?}");
        let text = "Host: www.example.com\\x0aCookie: a=1; b=2\\x0aContent-Type: \
            application/x-www-form-urlencoded\\x0aContent-Length: 9\\x0a\\x0a\\x0ap=1&q=%zz";
        assert_eq!(field(1, "data"), text);
        assert_eq!(field(2, "data"), "116");
    }

    /// A large form's equal values share one buffer (past the first arguments), and every
    /// argument keeps its own text: repeated, unique, long, empty values.
    #[test]
    fn equal_argument_values_share_a_buffer() {
        use std::sync::Arc;
        let rules = Arc::new(
            crate::RuleSet::from_text("t.conf", "SecRuleEngine On\nSecRequestBodyAccess On", None)
                .unwrap(),
        );
        let mut tx = crate::Transaction::new(rules);
        let value = |i: usize| match i % 4 {
            0 => format!("red+shoes+{}", i % 3),
            1 => format!("unique{i}"),
            2 => "x".repeat(300 + i % 2),
            _ => String::new(),
        };
        let body: Vec<String> = (0..400).map(|i| format!("f{i}={}", value(i))).collect();
        let body = body.join("&");
        tx.process_uri(b"/", b"POST", b"1.1");
        tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
        tx.add_request_header(b"Content-Length", body.len().to_string().as_bytes());
        tx.process_request_headers();
        tx.append_request_body(body.as_bytes());
        tx.process_request_body();
        let values: Vec<&Bytes> = tx.args.iter().map(|e| &e.value).collect();
        assert_eq!(values.len(), 400);
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                v[..],
                *value(i).replace('+', " ").as_bytes(),
                "argument {i}"
            );
        }
        // (the same text's buffer from the first argument of it past SHARED_VALUES_FROM)
        let first = |i: usize| {
            (SHARED_VALUES_FROM..)
                .find(|&j| value(j) == value(i))
                .unwrap()
        };
        let mut shared = 0;
        for i in SHARED_VALUES_FROM..400 {
            let same = Bytes::ptr_eq(values[i], values[first(i)]);
            let expected = value(i).len() <= SHARED_VALUE_LEN;
            assert!(same == expected || first(i) == i, "argument {i}");
            shared += usize::from(same && first(i) != i);
        }
        assert!(shared > 100, "{shared}");
        // a large request's arguments from there on are slices of its arena (but the empty
        // ones, which share one header); the first ones each their own
        for (i, e) in tx.args.iter().enumerate() {
            assert_eq!(e.name.is_own(), i < SHARED_VALUES_FROM, "argument {i}");
            let own = i < SHARED_VALUES_FROM || e.value.is_empty();
            assert_eq!(e.value.is_own(), own, "argument {i}");
        }
    }

    #[test]
    fn percent_decoding_keeps_invalid_sequences() {
        assert_eq!(percent_decode(b"/a%20b%zz%4"), b"/a b%zz%4".to_vec());
        assert_eq!(percent_decode(b"a+b%41"), b"a+bA".to_vec());
    }
}
