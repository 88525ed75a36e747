//! MULTIPART: the `multipart/form-data` request body processor, a port of libmodsecurity
//! v3.0.15's `src/request_body_processor/multipart.cc` with the same verdicts.
//!
//! # Description
//!
//! libmodsecurity calls, from `Transaction::processRequestBody`, `Multipart::init` (the
//! `Content-Type` header), then `Multipart::process` once on the whole body (only when `init`
//! succeeded), then always `Multipart::multipart_complete`. [`parse`] does the three steps.
//! The parser works one line at a time through a 4096-byte buffer (`MULTIPART_BUF_SIZE`); a
//! line longer than that is cut into pieces, which matters (a header line that does not fit is
//! an error; a data line is cut without a line break). Everything below follows the C++ code,
//! including its quirks, which are kept because they decide what rules see:
//!
//! - **Form values lose their line breaks.** `process_part_data` holds back the `\r\n` (or
//!   `\n`) that ends each data line ("reserve"), in case a boundary follows; for form fields the
//!   reserve is then dropped (`d.assign(reserve); d.assign(m_buf)` overwrites it), so the value
//!   of a field sent as `a\r\nb` is `ab` (regression test "multipart parser (final CRLF)":
//!   value `22.12.22.3`). The same holds for `FILES_TMP_CONTENT` (`m_value` gets `m_buf` only),
//!   while the file itself (and `FILES_SIZES`) keeps the inner line breaks.
//! - **Errors in part headers do not stop parsing.** `process_part_header` returns `false`
//!   (0) on errors and the caller tests `< 0`, so parsing goes on: the error text is kept (it
//!   may be replaced by a later one) and the part stays in header state, so its data lines are
//!   read as header lines. A duplicate part header is ignored without any error text.
//! - **The last error text wins**, and `multipart_complete` replaces it with
//!   `Multipart: Final boundary missing.` / `Multipart: No boundaries found in payload.` when
//!   the final boundary was not seen. When that happens no part becomes an argument or a file
//!   (the loop that fills ARGS/FILES is after the early return); `MULTIPART_NAME`,
//!   `MULTIPART_FILENAME` and `MULTIPART_PART_HEADERS` are filled while parsing and stay.
//! - A boundary line right after a part's blank line (no data line at all) is not a boundary:
//!   it sets `MULTIPART_INVALID_PART` and is read as data ("data contains boundary").
//! - `init` failures for an empty boundary (`boundary=` or `boundary=""`) return without an
//!   error text: no argument, `REQBODY_ERROR` 0.
//! - An empty body is not parsed at all (`process` returns at once): no error.
//! - `SecUploadFileLimit` counts the temporary files created so far and is tested on every data
//!   line of a file, so with a limit of N the N-th file's second line already exceeds it.
//! - The variables are computed at the start of `multipart_complete`; the later final-boundary
//!   check updates only `MULTIPART_LF_LINE`, `MULTIPART_CRLF_LF_LINES`,
//!   `MULTIPART_INVALID_PART` and `MULTIPART_STRICT_ERROR` (to 1), as the C++ does.
//!
//! `MULTIPART_STRICT_ERROR` is `1` when any of these is set: the internal error flag (set by
//! `init` failures and by aborting `process` errors), `BOUNDARY_QUOTED`,
//! `BOUNDARY_WHITESPACE`, `DATA_BEFORE`, `DATA_AFTER`, `HEADER_FOLDING`, `LF_LINE`,
//! `MISSING_SEMICOLON`, `INVALID_QUOTING`, `INVALID_PART`, `INVALID_HEADER_FOLDING`,
//! `FILE_LIMIT_EXCEEDED`. It does not include `UNMATCHED_BOUNDARY` nor `CRLF_LF_LINES`.
//!
//! **One deliberate difference**, ModSecurity issue #3610: `count_boundary_params` counts
//! every substring `boundary` (case-insensitive) that has an `=` anywhere after it. A browser
//! boundary such as `----geckoformboundary3f2…` or `----WebKitFormBoundary7MA…` followed by
//! another parameter (`; charset=UTF-8`, added by Spring/Feign/Apache HttpClient) is therefore
//! counted twice and the request fails with `Multiple boundary parameters in C-T.` (or, after
//! that, `Invalid boundary in C-T (content).`). Here only an occurrence that starts a
//! parameter name counts: at the start of the string or after whitespace, `;` or `,`. Real
//! duplicates (`boundary=a; boundary=b`, `boundary=a, boundary=b`) are still rejected, as are
//! all the regression cases of `request-body-parser-multipart.json`.
//!
//! # Arguments
//!
//! `content_type`: the request's `Content-Type` value (libmodsecurity uses the first
//! `Content-Type` header). `body`: the whole body. `config`: upload settings.
//!
//! # Returns
//!
//! A [`Multipart`]: arguments, files, the `MULTIPART_*` variables, and the error text for
//! `REQBODY_ERROR_MSG` ([`Multipart::reqbody_error_msg`]).
//!
//! # Example
//!
//! ```
//! use waf_core::body::multipart::{parse, MultipartConfig};
//! let body = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n";
//! let m = parse(b"multipart/form-data; boundary=b", body, &MultipartConfig::default());
//! assert_eq!(m.args, vec![(b"a".to_vec(), b"1".to_vec())]);
//! assert!(!m.flags.strict_error && m.error.is_none());
//! ```

/// `MULTIPART_BUF_SIZE`: the line buffer of the C++ parser.
pub const BUF_SIZE: usize = 4096;

/// Upload settings that change what the parser does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultipartConfig {
    /// `SecUploadKeepFiles On` or `SecTmpSaveUploadedFiles On`: libmodsecurity then writes each
    /// file to a temporary file (`FILES_TMPNAMES`) and fills `FILES_TMP_CONTENT`; here the
    /// file's bytes are kept in memory instead ([`MultipartFile::content`]).
    pub extract_files: bool,
    /// `SecUploadFileLimit`; `0` means no limit (`m_uploadFileLimit.m_value && ...`). Only
    /// checked when [`Self::extract_files`] is set, as in libmodsecurity.
    pub upload_file_limit: usize,
}

/// Where a value sits, in libmodsecurity's multipart offsets: relative to the `offset` the
/// transaction passes to `Multipart::process` (its running variable offset). The C++ mixes
/// two counters, so these are not always plain body positions: header values count loop
/// iterations of `process` (`offset + z`), form values count `m_buf_offset`, which loses the
/// held-back line break of a data line that is followed by a cut (over-long) line.
pub type RelativeOffset = isize;

/// One uploaded file (a part with a `filename` parameter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultipartFile {
    /// The part's `name` (`FILES_NAMES`, and the key of `FILES`, `FILES_SIZES`, ...).
    pub name: Vec<u8>,
    /// The `filename` parameter (`FILES`).
    pub filename: Vec<u8>,
    /// `FILES_SIZES`: the file's size as libmodsecurity counts it (inner line breaks included,
    /// the line break before the closing boundary excluded).
    pub size: usize,
    /// The bytes libmodsecurity would have written to the temporary file (`FILES_TMPNAMES`,
    /// `@inspectFile`), when [`MultipartConfig::extract_files`] is set and a temporary file was
    /// created (a file with no data line gets none); `None` otherwise.
    pub content: Option<Vec<u8>>,
    /// `FILES_TMP_CONTENT`: libmodsecurity's `m_value`, the extracted data without the line
    /// breaks held back between lines; empty when files are not extracted.
    pub tmp_content: Vec<u8>,
    /// `[ref]` origins: of the `name` parameter (`FILES_NAMES`), of the `filename` parameter
    /// (`FILES`, `FILES_TMPNAMES`), of the size (`FILES_SIZES`, `FILES_COMBINED_SIZE`: offset,
    /// length = the size) and of the extracted data (`FILES_TMP_CONTENT`).
    pub name_offset: RelativeOffset,
    pub filename_offset: RelativeOffset,
    pub size_offset: RelativeOffset,
    pub tmp_content_offset: RelativeOffset,
}

/// The `MULTIPART_*` variables, as `multipart_complete` sets them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MultipartFlags {
    /// `MULTIPART_STRICT_ERROR`.
    pub strict_error: bool,
    /// `MULTIPART_BOUNDARY_QUOTED`.
    pub boundary_quoted: bool,
    /// `MULTIPART_BOUNDARY_WHITESPACE`.
    pub boundary_whitespace: bool,
    /// `MULTIPART_DATA_BEFORE`.
    pub data_before: bool,
    /// `MULTIPART_DATA_AFTER`.
    pub data_after: bool,
    /// `MULTIPART_HEADER_FOLDING`.
    pub header_folding: bool,
    /// `MULTIPART_LF_LINE`.
    pub lf_line: bool,
    /// `MULTIPART_CRLF_LF_LINES` (both CRLF and LF line endings seen).
    pub crlf_lf_lines: bool,
    /// `MULTIPART_MISSING_SEMICOLON` (alias `MULTIPART_SEMICOLON_MISSING`).
    pub missing_semicolon: bool,
    /// `MULTIPART_INVALID_QUOTING`.
    pub invalid_quoting: bool,
    /// `MULTIPART_INVALID_PART`.
    pub invalid_part: bool,
    /// `MULTIPART_INVALID_HEADER_FOLDING`.
    pub invalid_header_folding: bool,
    /// `MULTIPART_FILE_LIMIT_EXCEEDED`.
    pub file_limit_exceeded: bool,
    /// `MULTIPART_UNMATCHED_BOUNDARY`: `0`, `1` (a line that looks like a boundary but is not
    /// ours), or `2` (a line matching our boundary was seen after the first one; the last
    /// assignment wins).
    pub unmatched_boundary: u8,
}

/// The result of parsing a multipart body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Multipart {
    /// The boundary taken from the `Content-Type` header (empty when `init` failed early).
    pub boundary: Vec<u8>,
    /// Form fields (parts without `filename`), in order: `ARGS_POST` (and `ARGS`).
    pub args: Vec<(Vec<u8>, Vec<u8>)>,
    /// Where each of [`Self::args`]' values starts (`m_valueOffset`; libmodsecurity adds one
    /// more to it than to the other offsets).
    pub arg_offsets: Vec<RelativeOffset>,
    /// Files, in order.
    pub files: Vec<MultipartFile>,
    /// `MULTIPART_PART_HEADERS`: (part name, raw header line without its line ending), in
    /// order. A folded header is rebuilt as `Name: value continuation`.
    pub part_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// `MULTIPART_NAME` values (key = value), in order, one per `name=` parameter parsed,
    /// with where each sits.
    pub names: Vec<(Vec<u8>, RelativeOffset)>,
    /// `MULTIPART_FILENAME` values (key = value), in order, with where each sits.
    pub filenames: Vec<(Vec<u8>, RelativeOffset)>,
    /// The `MULTIPART_*` variables.
    pub flags: MultipartFlags,
    /// The processor's error text (e.g. `Multipart: Final boundary missing.`); `Some` means
    /// `REQBODY_ERROR` = 1 and `REQBODY_PROCESSOR_ERROR` = 1.
    pub error: Option<Vec<u8>>,
    /// `m_reqbody_no_files_length`: the body size without file data, compared by the caller
    /// with `SecRequestBodyNoFilesLimit` when there is no error.
    pub reqbody_no_files_length: usize,
}

impl Multipart {
    /// `REQBODY_ERROR_MSG` / `REQBODY_PROCESSOR_ERROR_MSG`: `Multipart parsing error: ` + the
    /// error text, or `None` without error.
    pub fn reqbody_error_msg(&self) -> Option<Vec<u8>> {
        self.error.as_ref().map(|e| {
            let mut m = b"Multipart parsing error: ".to_vec();
            m.extend_from_slice(e);
            m
        })
    }

    /// `FILES_COMBINED_SIZE`: the sum of the file sizes (`None` when there is no file; then
    /// libmodsecurity does not set the variable).
    pub fn files_combined_size(&self) -> Option<usize> {
        if self.files.is_empty() {
            None
        } else {
            Some(self.files.iter().map(|f| f.size).sum())
        }
    }
}

/// Parses a multipart body as libmodsecurity's `init` + `process` + `multipart_complete`.
pub fn parse(content_type: &[u8], body: &[u8], config: &MultipartConfig) -> Multipart {
    let mut p = Parser::new(config);
    if p.init(content_type) {
        p.process(body);
    }
    p.complete()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartType {
    FormData,
    File,
}

#[derive(Debug)]
struct Part {
    kind: PartType,
    name: Vec<u8>,
    value: Vec<u8>,
    /// Each data line with `m_buf_offset` when it was added.
    value_parts: Vec<(Vec<u8>, RelativeOffset)>,
    filename: Vec<u8>,
    /// `m_headers`: unique names, compared without case, with where each value starts.
    headers: Vec<(Vec<u8>, Vec<u8>, RelativeOffset)>,
    last_header_name: Vec<u8>,
    last_header_line: Vec<u8>,
    header_lines: Vec<Vec<u8>>,
    tmp_file_size: usize,
    /// `m_tmp_file_size.second`: set once, from the first data line.
    size_offset: RelativeOffset,
    tmp_file: Option<Vec<u8>>,
    name_offset: RelativeOffset,
    filename_offset: RelativeOffset,
    value_offset: RelativeOffset,
}

impl Part {
    fn new() -> Self {
        Part {
            kind: PartType::FormData,
            name: Vec::new(),
            value: Vec::new(),
            value_parts: Vec::new(),
            filename: Vec::new(),
            headers: Vec::new(),
            last_header_name: Vec::new(),
            last_header_line: Vec::new(),
            header_lines: Vec::new(),
            tmp_file_size: 0,
            size_offset: 0,
            tmp_file: None,
            name_offset: 0,
            filename_offset: 0,
            value_offset: 0,
        }
    }

    /// `if (m_tmp_file_size.second == 0) second = offset - first`.
    fn set_size_offset(&mut self, offset: RelativeOffset) {
        if self.size_offset == 0 {
            self.size_offset = offset - self.tmp_file_size as RelativeOffset;
        }
    }

    fn header_index(&self, name: &[u8]) -> Option<usize> {
        self.headers
            .iter()
            .position(|(n, _, _)| n.eq_ignore_ascii_case(name))
    }
}

struct Parser<'c> {
    config: &'c MultipartConfig,
    out: Multipart,
    parts: Vec<Part>,
    mpp: Option<Part>,
    nfiles: usize,
    boundary_count: usize,
    buf: Vec<u8>,
    buf_contains_line: bool,
    crlf_state: u8,
    crlf_state_buf_end: u8,
    mpp_state: u8,
    substate_part_data_read: bool,
    reserve: Vec<u8>,
    seen_data: bool,
    is_complete: bool,
    flag_error: bool,
    data_before: bool,
    data_after: bool,
    header_folding: bool,
    boundary_quoted: bool,
    lf_line: bool,
    crlf_line: bool,
    unmatched_boundary: u8,
    boundary_whitespace: bool,
    missing_semicolon: bool,
    invalid_quoting: bool,
    invalid_part: bool,
    invalid_header_folding: bool,
    file_limit_exceeded: bool,
    /// `z`: loop iterations of `process` so far (offsets of header values and file data).
    z: RelativeOffset,
    /// `m_buf_offset`: where the current line started, as the C++ counts it.
    buf_offset: RelativeOffset,
    /// `--` and the boundary, looked for in every line that does not start with it: built
    /// once (built per line, it was a fifth of a 1 MB upload's parse).
    dashed_boundary: Option<memchr::memmem::Finder<'static>>,
}

/// C `isspace` in the "C" locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Length of the C string at the start of `s` (up to the first NUL).
fn cstrlen(s: &[u8]) -> usize {
    memchr::memchr(0, s).unwrap_or(s.len())
}

fn cstr(s: &[u8]) -> &[u8] {
    &s[..cstrlen(s)]
}

/// Byte `i` of a NUL-terminated view of `s` (`0` at and past the end).
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// `utils::string::chomp`: removes trailing `\r`/`\n`, unless the string has nothing else.
fn chomp(v: &mut Vec<u8>) {
    if let Some(pos) = v.iter().rposition(|&c| c != b'\n' && c != b'\r') {
        v.truncate(pos + 1);
    }
}

fn is_token_char(c: u8) -> bool {
    if c <= 32 || c >= 127 {
        return false;
    }
    !matches!(
        c,
        b'(' | b')'
            | b'<'
            | b'>'
            | b'@'
            | b','
            | b';'
            | b':'
            | b'\\'
            | b'"'
            | b'/'
            | b'['
            | b']'
            | b'?'
            | b'='
    )
}

/// RFC 2046 `bchars`; a space is allowed except as the last character.
fn boundary_characters_valid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, &c)| {
        c.is_ascii_alphanumeric()
            || (c == b' ' && i + 1 != b.len())
            || matches!(
                c,
                b'\'' | b'(' | b')' | b'+' | b'_' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
            )
    })
}

/// `count_boundary_params`, with the ModSecurity #3610 fix: an occurrence of `boundary`
/// (case-insensitive) counts when some `=` follows it (as in libmodsecurity) **and** it starts
/// a parameter name: it is at the start or after whitespace, `;` or `,` (not, as
/// libmodsecurity also counts, inside a word such as `geckoformboundary`).
pub fn count_boundary_params(s: &[u8]) -> usize {
    let s = cstr(s);
    let lower = s.to_ascii_lowercase();
    let finder = memchr::memmem::Finder::new(b"boundary");
    let mut count = 0;
    let mut from = 0;
    // Position of the last '=' decides "an '=' somewhere after" in O(1).
    let last_eq = memchr::memrchr(b'=', &lower);
    while let Some(i) = finder.find(&lower[from..]) {
        let k = from + i;
        let starts_param = k == 0 || {
            let prev = lower[k - 1];
            is_space(prev) || prev == b';' || prev == b','
        };
        if starts_param && last_eq.is_some_and(|e| e >= k + 8) {
            count += 1;
        }
        from = k + 8;
    }
    count
}

/// Whether `process` takes a line's plain bytes in one piece: always, but the tests compare
/// it with the byte-at-a-time loop.
#[cfg(not(test))]
#[inline(always)]
fn bulk_runs() -> bool {
    true
}

#[cfg(test)]
thread_local! {
    static BULK_RUNS: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

#[cfg(test)]
fn bulk_runs() -> bool {
    BULK_RUNS.with(|b| b.get())
}

const FINAL_MISSING: &[u8] = b"Multipart: Final boundary missing.";
const NO_BOUNDARIES: &[u8] = b"Multipart: No boundaries found in payload.";

impl<'c> Parser<'c> {
    fn new(config: &'c MultipartConfig) -> Self {
        Parser {
            config,
            out: Multipart::default(),
            parts: Vec::new(),
            mpp: None,
            nfiles: 0,
            boundary_count: 0,
            buf: Vec::with_capacity(BUF_SIZE),
            buf_contains_line: true,
            crlf_state: 0,
            crlf_state_buf_end: 0,
            mpp_state: 0,
            substate_part_data_read: false,
            reserve: Vec::new(),
            seen_data: false,
            is_complete: false,
            flag_error: false,
            data_before: false,
            data_after: false,
            header_folding: false,
            boundary_quoted: false,
            lf_line: false,
            crlf_line: false,
            unmatched_boundary: 0,
            boundary_whitespace: false,
            missing_semicolon: false,
            invalid_quoting: false,
            invalid_part: false,
            invalid_header_folding: false,
            file_limit_exceeded: false,
            z: 0,
            buf_offset: 0,
            dashed_boundary: None,
        }
    }

    fn set_error(&mut self, msg: &[u8]) {
        self.out.error = Some(msg.to_vec());
    }

    fn fail_init(&mut self, msg: &[u8]) -> bool {
        self.flag_error = true;
        self.set_error(msg);
        false
    }

    /// `Multipart::init`: validates the `Content-Type` header and extracts the boundary.
    fn init(&mut self, header: &[u8]) -> bool {
        if header.is_empty() {
            return self.fail_init(b"Multipart: Content-Type header not available.");
        }
        if header.len() > 1024 {
            return self.fail_init(b"Multipart: Invalid boundary in C-T (length).");
        }
        // From here on the C++ works on `c_str()`: the header ends at its first NUL.
        let h = cstr(header);
        if h.len() < 19 || !h[..19].eq_ignore_ascii_case(b"multipart/form-data") {
            return self.fail_init(b"Multipart: Invalid MIME type.");
        }
        if count_boundary_params(h) > 1 {
            return self.fail_init(b"Multipart: Multiple boundary parameters in C-T.");
        }
        let Some(pos) = memchr::memmem::find(h, b"boundary") else {
            if count_boundary_params(h) > 0 {
                return self.fail_init(b"Multipart: Invalid boundary in C-T (case sensitivity).");
            }
            return self.fail_init(b"Multipart: Boundary not found in C-T.");
        };
        let mut seen_semicolon = false;
        for &c in &h[19..pos] {
            if !is_space(c) {
                if !seen_semicolon && c == b';' {
                    seen_semicolon = true;
                } else {
                    return self.fail_init(b"Multipart: Invalid boundary in C-T (malformed).");
                }
            }
        }
        if !seen_semicolon {
            self.missing_semicolon = true;
        }
        let Some(eq) = memchr::memchr(b'=', &h[pos + 8..]).map(|e| pos + 8 + e) else {
            return self.fail_init(b"Multipart: Invalid boundary in C-T (malformed).");
        };
        for &c in &h[pos + 8..eq] {
            if is_space(c) {
                self.boundary_whitespace = true;
            } else {
                return self.fail_init(b"Multipart: Invalid boundary in C-T (parameter name).");
            }
        }
        let b = &h[eq + 1..];
        if is_space(at(b, 0)) {
            self.boundary_whitespace = true;
        }
        let mut boundary;
        if b.len() >= 2 && b[0] == b'"' && b[b.len() - 1] == b'"' {
            boundary = b[1..b.len() - 1].to_vec();
            if boundary.is_empty() {
                // `return false` without an error text nor a flag.
                return false;
            }
            self.boundary_quoted = true;
        } else {
            if at(b, 0) == b'"' || (b.len() >= 2 && b[b.len() - 1] == b'"') {
                return self.fail_init(b"Multipart: Invalid boundary in C-T (quote).");
            }
            boundary = b.to_vec();
            if boundary.is_empty() {
                return false;
            }
            self.boundary_quoted = false;
        }
        if count_boundary_params(&boundary) != 0 {
            return self.fail_init(b"Multipart: Invalid boundary in C-T (content).");
        }
        // "Some frameworks are known to incorrectly include a charset= parameter after the
        // boundary": tolerated by cutting at the first ';'.
        if !boundary_characters_valid(&boundary) {
            if let Some(semi) = memchr::memchr(b';', &boundary) {
                boundary.truncate(semi);
            }
        }
        if !boundary_characters_valid(&boundary) {
            return self.fail_init(b"Multipart: Invalid boundary in C-T (characters).");
        }
        if boundary.is_empty() {
            return self.fail_init(b"Multipart: Invalid boundary in C-T (empty).");
        }
        let mut dashed = b"--".to_vec();
        dashed.extend_from_slice(&boundary);
        self.dashed_boundary = Some(memchr::memmem::Finder::new(&dashed).into_owned());
        self.out.boundary = boundary;
        true
    }

    /// `Multipart::process` on the whole body.
    fn process(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.seen_data = true;
        let mut i = 0;
        while i < data.len() {
            // The bytes before the next line feed, while the buffer keeps a free slot, only go
            // into it: they are taken in one piece (a byte at a time, this loop was half of a
            // 1 MB upload's parse). The loop below then sees what it acts on one byte at a
            // time: the line feed, the buffer's last slot, a `\r` held back from it.
            let room = BUF_SIZE - self.buf.len();
            if room >= 2 && !self.is_complete && bulk_runs() {
                let run = &data[i..data.len().min(i + room - 1)];
                let n = memchr::memchr(b'\n', run).unwrap_or(run.len());
                if n > 0 {
                    self.buf.extend_from_slice(&run[..n]);
                    self.z += n as RelativeOffset;
                    i += n;
                    self.crlf_state = u8::from(run[n - 1] == b'\r');
                    continue;
                }
            }
            let c = data[i];
            let mut process_buffer = false;
            self.z += 1;
            if c == b'\r' && BUF_SIZE - self.buf.len() == 1 {
                // "we don't want to take \r as the last byte in the buffer"
                process_buffer = true;
            } else {
                i += 1;
                self.buf.push(c);
            }
            if c == b'\n' || self.buf.len() == BUF_SIZE || process_buffer {
                if !self.process_buffer(process_buffer) {
                    return;
                }
                // process_part_data has cut the held-back line break off the buffer
                self.buf_offset += self.buf.len() as RelativeOffset;
                self.buf.clear();
                self.buf_contains_line = c == b'\n';
                if c == b'\n' {
                    self.crlf_state = if self.crlf_state == 1 { 3 } else { 2 };
                }
                self.crlf_state_buf_end = self.crlf_state;
            }
            if c == b'\r' {
                self.crlf_state = 1;
            } else if c != b'\n' {
                self.crlf_state = 0;
            }
            if self.is_complete && i < data.len() {
                self.data_after = true;
                return;
            }
        }
    }

    /// The body of `process`'s loop once a line (or a full buffer) is collected. Returns
    /// `false` when `process` returns (an aborting error).
    fn process_buffer(&mut self, process_buffer: bool) -> bool {
        let blen = self.out.boundary.len();
        let slen = cstrlen(&self.buf);
        let mut processed_as_boundary = false;
        if self.buf_contains_line && slen > 3 && self.buf[0] == b'-' && self.buf[1] == b'-' {
            if slen >= blen + 2 && self.buf[2..2 + blen] == self.out.boundary[..] {
                if self.crlf_state_buf_end == 2 {
                    self.lf_line = true;
                }
                if !self.substate_part_data_read && self.boundary_count > 0 {
                    // "string matches our boundary, but it's where part data should begin"
                    self.invalid_part = true;
                } else {
                    let mut end = 2 + blen;
                    if self.boundary_count > 0 {
                        self.unmatched_boundary = 2;
                    }
                    let mut is_final = false;
                    if at(&self.buf, end) == b'-' && at(&self.buf, end + 1) == b'-' {
                        is_final = true;
                        end += 2;
                        if self.is_complete {
                            self.flag_error = true;
                            self.set_error(b"Multipart: Invalid boundary (final duplicate).");
                            return false;
                        }
                    }
                    let b0 = at(&self.buf, end);
                    if (b0 == b'\r'
                        && at(&self.buf, end + 1) == b'\n'
                        && at(&self.buf, end + 2) == 0)
                        || (b0 == b'\n' && at(&self.buf, end + 1) == 0)
                    {
                        if b0 == b'\n' {
                            self.lf_line = true;
                        } else {
                            self.crlf_line = true;
                        }
                        self.process_boundary(is_final);
                        if is_final {
                            self.is_complete = true;
                        }
                        processed_as_boundary = true;
                        self.boundary_count += 1;
                    } else {
                        self.flag_error = true;
                        let mut msg = b"Multipart: Invalid boundary: ".to_vec();
                        msg.extend_from_slice(cstr(&self.buf));
                        self.set_error(&msg);
                        return false;
                    }
                }
            } else {
                // It looks like a boundary but it is not ours.
                if self.boundary_quoted
                    && slen >= blen + 3
                    && self.buf[2] == b'"'
                    && self.buf[3..3 + blen] == self.out.boundary[..]
                {
                    self.flag_error = true;
                    self.set_error(b"Multipart: Invalid boundary (quotes).");
                    return false;
                }
                let mut p = 2;
                while is_space(at(&self.buf, p)) {
                    p += 1;
                }
                if p != 2 && self.buf.get(p..p + blen) == Some(&self.out.boundary[..]) {
                    self.flag_error = true;
                    self.set_error(b"Multipart: Invalid boundary (whitespace).");
                    return false;
                }
                self.unmatched_boundary = 1;
            }
        } else if self.buf_contains_line {
            // Anything that resembles a boundary inside the line?
            let dashed = self.dashed_boundary.as_ref();
            if dashed.is_some_and(|d| d.find(&self.buf).is_some()) {
                self.unmatched_boundary = 1;
            }
        }

        if !processed_as_boundary {
            if self.mpp.is_none() {
                self.data_before = true;
            } else if self.mpp_state == 0 {
                if self.buf.len() == BUF_SIZE || process_buffer {
                    self.flag_error = true;
                    self.set_error(
                        format!("Multipart: Part header line over {BUF_SIZE} bytes long")
                            .as_bytes(),
                    );
                    return false;
                }
                self.process_part_header();
            } else {
                self.process_part_data();
            }
        }
        true
    }

    /// `Multipart::process_part_header`; its `false` returns do not stop parsing.
    fn process_part_header(&mut self) {
        let len = self.buf.len();
        if memchr::memchr(0, &self.buf).is_some() {
            self.set_error(b"Multipart: Nul byte in part headers.");
            return;
        }
        self.out.reqbody_no_files_length += len;
        let mut len_without_termination = len as isize - 1;
        if len > 1 {
            if self.buf[len - 2] == b'\r' {
                self.crlf_line = true;
                len_without_termination -= 1;
            } else {
                self.lf_line = true;
            }
        } else {
            self.lf_line = true;
        }
        let Some(mut mpp) = self.mpp.take() else {
            return;
        };
        self.part_header_line(&mut mpp, len_without_termination);
        self.mpp = Some(mpp);
    }

    fn part_header_line(&mut self, mpp: &mut Part, len_without_termination: isize) {
        let line = std::mem::take(&mut self.buf);
        let restore = |s: &mut Self, line: Vec<u8>| s.buf = line;
        if line[..] == b"\r\n"[..] || line[..] == b"\n"[..] {
            // Empty line: the end of the part's headers.
            if !mpp.last_header_line.is_empty() {
                mpp.header_lines
                    .push(std::mem::take(&mut mpp.last_header_line));
            }
            let Some(cd) = mpp.header_index(b"Content-Disposition") else {
                self.set_error(b"Multipart: Part missing Content-Disposition header.");
                return restore(self, line);
            };
            let value = mpp.headers[cd].1.clone();
            let rc = self.parse_content_disposition(mpp, &value, mpp.headers[cd].2);
            if rc < 0 {
                let mut msg =
                    format!("Multipart: Invalid Content-Disposition header ({rc}): ").into_bytes();
                msg.extend_from_slice(&value);
                self.set_error(&msg);
                return restore(self, line);
            }
            if mpp.name.is_empty() {
                self.set_error(b"Multipart: Content-Disposition header missing name field.");
                return restore(self, line);
            }
            if !mpp.filename.is_empty() {
                if memchr::memmem::find(&value, b"filename=").is_none() {
                    self.set_error(b"Multipart: Invalid Content-Disposition header (filename).");
                    return restore(self, line);
                }
                mpp.kind = PartType::File;
            } else {
                mpp.kind = PartType::FormData;
            }
            self.mpp_state = 1;
            self.substate_part_data_read = false;
            mpp.last_header_name.clear();
        } else if is_space(line[0]) {
            // Header folding.
            self.header_folding = true;
            if line[0] != b'\t' && line[0] != b' ' {
                self.invalid_header_folding = true;
            }
            if mpp.last_header_name.is_empty() {
                self.set_error(b"Multipart: Invalid part header (folding error).");
                return restore(self, line);
            }
            let mut d = 0;
            while is_space(at(&line, d)) {
                if line[d] != b'\t' && line[d] != b' ' {
                    self.invalid_header_folding = true;
                }
                d += 1;
            }
            let mut new_value = cstr(&line[d..]).to_vec();
            chomp(&mut new_value);
            let Some(idx) = mpp.header_index(&mpp.last_header_name) else {
                return restore(self, line);
            };
            let mut joined = mpp.headers[idx].1.clone();
            joined.push(b' ');
            joined.extend_from_slice(&new_value);
            mpp.headers[idx].1 = joined.clone();
            if joined.len() > BUF_SIZE {
                self.set_error(b"Multipart: Part header too long.");
                return restore(self, line);
            }
            let mut l = mpp.last_header_name.clone();
            l.extend_from_slice(b": ");
            l.extend_from_slice(&joined);
            mpp.last_header_line = l;
        } else {
            // A new header.
            if !mpp.last_header_line.is_empty() {
                mpp.header_lines
                    .push(std::mem::take(&mut mpp.last_header_line));
            }
            let Some(colon) = memchr::memchr(b':', &line) else {
                let mut msg = b"Multipart: Invalid part header (colon missing): ".to_vec();
                msg.extend_from_slice(&line);
                self.set_error(&msg);
                return restore(self, line);
            };
            let name = &line[..colon];
            if name.is_empty() {
                self.set_error(b"Multipart: Invalid part header (header name missing).");
                return restore(self, line);
            }
            if name.iter().any(|&c| !(33..=126).contains(&c)) {
                self.set_error(b"Multipart: Invalid part header (contains invalid character).");
                return restore(self, line);
            }
            let mut v = colon + 1;
            while v < line.len() && (line[v] == b'\t' || line[v] == b' ') {
                v += 1;
            }
            let mut value = line[v..].to_vec();
            chomp(&mut value);
            if mpp.header_index(name).is_some() {
                // "Duplicate part header": logged only, no error text.
                return restore(self, line);
            }
            mpp.last_header_name = name.to_vec();
            let offset = self.z - line.len() as RelativeOffset + v as RelativeOffset;
            mpp.headers.push((name.to_vec(), value, offset));
            mpp.last_header_line = if len_without_termination > 0 {
                line[..len_without_termination as usize].to_vec()
            } else {
                Vec::new()
            };
        }
        restore(self, line);
    }

    /// `Multipart::parse_content_disposition`; returns the C++ return code.
    fn parse_content_disposition(
        &mut self,
        mpp: &mut Part,
        cd: &[u8],
        cd_offset: RelativeOffset,
    ) -> i32 {
        let cd = cstr(cd);
        if !cd.starts_with(b"form-data") {
            return -1;
        }
        let mut p = 9;
        let ws = |s: &[u8], mut p: usize| {
            while at(s, p) == b'\t' || at(s, p) == b' ' {
                p += 1;
            }
            p
        };
        p = ws(cd, p);
        if at(cd, p) == 0 {
            return 1;
        }
        if at(cd, p) != b';' {
            return -2;
        }
        p += 1;
        let mut filename_star: Vec<u8> = Vec::new();
        while at(cd, p) != 0 {
            p = ws(cd, p);
            if at(cd, p) == 0 {
                return -3;
            }
            let start = p;
            while !matches!(at(cd, p), 0 | b'=' | b'\t' | b' ') {
                p += 1;
            }
            if at(cd, p) == 0 {
                return -4;
            }
            let name = cd[start..p].to_vec();
            p = ws(cd, p);
            if at(cd, p) == 0 {
                return -5;
            }
            if at(cd, p) != b'=' {
                return -13;
            }
            p += 1;
            p = ws(cd, p);
            if at(cd, p) == 0 {
                return -6;
            }
            let mut quote = 0u8;
            let mut value = Vec::new();
            if name == b"filename*" {
                // filename*=charset'[optional-language]'filename
                let start_of_charset = p;
                while at(cd, p) != 0
                    && (at(cd, p).is_ascii_alphanumeric() || b"!#$%&+-^_`{}~".contains(&at(cd, p)))
                {
                    p += 1;
                }
                if at(cd, p) != b'\'' || p == start_of_charset {
                    return -16;
                }
                p += 1;
                while at(cd, p) != 0 && at(cd, p) != b'\'' {
                    p += 1;
                }
                if at(cd, p) != b'\'' {
                    return -17;
                }
                p += 1;
                let start_of_filename = p;
                while at(cd, p) != 0 && at(cd, p) != b';' {
                    let c = at(cd, p);
                    if c == b'%' {
                        if at(cd, p + 1) == 0
                            || !at(cd, p + 1).is_ascii_hexdigit()
                            || !at(cd, p + 2).is_ascii_hexdigit()
                        {
                            return -18;
                        }
                        p += 3;
                    } else if c.is_ascii_alphanumeric() || b"!#$&+-.^_`~".contains(&c) {
                        p += 1;
                    } else {
                        return -19;
                    }
                }
                value = cd[start_of_filename..p].to_vec();
            } else if at(cd, p) == b'"' || at(cd, p) == b'\'' {
                quote = at(cd, p);
                if quote == b'\'' {
                    self.invalid_quoting = true;
                }
                p += 1;
                if at(cd, p) == 0 {
                    return -7;
                }
                while at(cd, p) != 0 {
                    if at(cd, p) == b'\\' {
                        if at(cd, p + 1) == 0 {
                            return -8;
                        }
                        if at(cd, p + 1) == quote || at(cd, p + 1) == b'\\' {
                            p += 1;
                        }
                    } else if at(cd, p) == quote {
                        break;
                    }
                    value.push(at(cd, p));
                    p += 1;
                }
                // Over the closing quote. An unterminated quote leaves `p` one past the end of
                // the C string, where the C++ reads whatever follows; it is taken as a NUL.
                p += 1;
            } else {
                let start = p;
                while at(cd, p) != 0 && is_token_char(at(cd, p)) {
                    p += 1;
                }
                value = cd[start..p].to_vec();
            }

            // `offset + ((p - c_d_value) - value.size())`
            let offset = cd_offset + p as RelativeOffset - value.len() as RelativeOffset;
            if name == b"name" {
                self.validate_quotes(&value, quote);
                self.out.names.push((value.clone(), offset));
                if !mpp.name.is_empty() {
                    return -14;
                }
                mpp.name = value;
                mpp.name_offset = offset;
            } else if name == b"filename" {
                self.validate_quotes(&value, quote);
                self.out.filenames.push((value.clone(), offset));
                if !mpp.filename.is_empty() {
                    return -15;
                }
                mpp.filename = value;
                mpp.filename_offset = offset;
            } else if name == b"filename*" {
                if !filename_star.is_empty() {
                    return -20;
                }
                filename_star = value;
            } else {
                return -11;
            }

            if at(cd, p) != 0 {
                p = ws(cd, p);
                if at(cd, p) != 0 {
                    if at(cd, p) != b';' {
                        let prev = at(cd, p - 1);
                        if prev == b'\'' || prev == b'"' {
                            self.invalid_quoting = true;
                        }
                        return -12;
                    }
                    p += 1;
                }
            }
        }
        if !filename_star.is_empty() && mpp.filename.is_empty() {
            return -21;
        }
        1
    }

    fn validate_quotes(&mut self, data: &[u8], quote: u8) {
        if quote == b'"' {
            return;
        }
        if memchr::memchr(b'\'', cstr(data)).is_some() {
            self.invalid_quoting = true;
        }
    }

    /// `Multipart::process_part_data`.
    fn process_part_data(&mut self) {
        self.substate_part_data_read = true;
        let mut local_reserve: Vec<u8> = Vec::new();
        let len = self.buf.len();
        if len >= 1 && self.buf[len - 1] == b'\n' {
            if len >= 2 && self.buf[len - 2] == b'\r' {
                local_reserve.extend_from_slice(b"\r\n");
                self.buf.truncate(len - 2);
            } else {
                local_reserve.push(b'\n');
                self.buf.truncate(len - 1);
            }
        }
        let Some(mut mpp) = self.mpp.take() else {
            return;
        };
        let data_len = self.buf.len();
        // `process_part_data`'s `offset`: the end of this line
        let offset = self.z;
        match mpp.kind {
            PartType::File => {
                let mut extract = self.config.extract_files;
                let limit = self.config.upload_file_limit;
                if extract && limit != 0 && self.nfiles >= limit {
                    if !self.file_limit_exceeded {
                        self.set_error(
                            format!(
                                "Multipart: Upload file limit exceeded {limit}. \
                                 Use SecUploadFileLimit to change the limit."
                            )
                            .as_bytes(),
                        );
                        self.file_limit_exceeded = true;
                    }
                    extract = false;
                }
                if extract {
                    let file = mpp.tmp_file.get_or_insert_with(|| {
                        self.nfiles += 1;
                        Vec::new()
                    });
                    file.extend_from_slice(&self.reserve);
                    file.extend_from_slice(&self.buf);
                    if !self.reserve.is_empty() {
                        mpp.tmp_file_size += self.reserve.len();
                        mpp.set_size_offset(offset);
                    }
                    mpp.value.extend_from_slice(&self.buf);
                    // each line moves it: the last line's start wins
                    mpp.value_offset = offset - data_len as RelativeOffset;
                    mpp.tmp_file_size += data_len;
                } else {
                    mpp.tmp_file_size += data_len + self.reserve.len();
                }
                mpp.set_size_offset(offset);
            }
            PartType::FormData => {
                self.out.reqbody_no_files_length += data_len + self.reserve.len();
                // The reserve is assigned, then overwritten by the data: it is lost.
                mpp.value_parts.push((self.buf.clone(), self.buf_offset));
            }
        }
        self.mpp = Some(mpp);
        if local_reserve.is_empty() {
            self.buf_offset -= self.reserve.len() as RelativeOffset;
        } else {
            self.buf_offset += local_reserve.len() as RelativeOffset;
        }
        self.reserve = local_reserve;
    }

    /// `Multipart::process_boundary`.
    fn process_boundary(&mut self, last_part: bool) {
        if let Some(mut mpp) = self.mpp.take() {
            for line in mpp.header_lines.drain(..) {
                self.out.part_headers.push((mpp.name.clone(), line));
            }
            if mpp.kind != PartType::File {
                let parts = std::mem::take(&mut mpp.value_parts);
                for (v, offset) in parts {
                    if mpp.value_offset == 0 {
                        mpp.value_offset = offset;
                    }
                    mpp.value.extend_from_slice(&v);
                }
            }
            if !mpp.name.is_empty() {
                self.parts.push(mpp);
            } else {
                self.invalid_part = true;
            }
        }
        if !last_part {
            self.mpp = Some(Part::new());
            self.mpp_state = 0;
            self.substate_part_data_read = false;
            self.reserve.clear();
        }
    }

    /// `Multipart::multipart_complete`.
    fn complete(mut self) -> Multipart {
        let mut flags = MultipartFlags {
            unmatched_boundary: self.unmatched_boundary,
            data_before: self.data_before,
            data_after: self.data_after,
            boundary_quoted: self.boundary_quoted,
            boundary_whitespace: self.boundary_whitespace,
            header_folding: self.header_folding,
            lf_line: self.lf_line,
            crlf_lf_lines: self.crlf_line && self.lf_line,
            missing_semicolon: self.missing_semicolon,
            invalid_quoting: self.invalid_quoting,
            invalid_part: self.invalid_part,
            invalid_header_folding: self.invalid_header_folding,
            file_limit_exceeded: self.file_limit_exceeded,
            strict_error: self.flag_error
                || self.boundary_quoted
                || self.boundary_whitespace
                || self.data_before
                || self.data_after
                || self.header_folding
                || self.lf_line
                || self.missing_semicolon
                || self.invalid_quoting
                || self.invalid_part
                || self.invalid_header_folding
                || self.file_limit_exceeded,
        };

        if self.seen_data && !self.is_complete {
            if self.boundary_count > 0 {
                let b = &self.out.boundary;
                let blen = b.len();
                let pending = &self.buf;
                if self.buf_contains_line
                    && pending.len() == 4 + blen
                    && pending.starts_with(b"--")
                    && pending[2..2 + blen] == b[..]
                    && pending[2 + blen] == b'-'
                    && pending[3 + blen] == b'-'
                {
                    if self.crlf_state_buf_end == 2 && !self.lf_line {
                        self.lf_line = true;
                        flags.lf_line = true;
                        flags.crlf_lf_lines = self.crlf_line;
                        flags.strict_error = true;
                    }
                    if !self.substate_part_data_read && !self.invalid_part {
                        // "it looks like the final boundary, but it's where part data should
                        // begin"
                        self.invalid_part = true;
                        flags.strict_error = true;
                        flags.invalid_part = true;
                    }
                    self.process_boundary(true);
                    self.is_complete = true;
                }
                if !self.is_complete {
                    self.set_error(FINAL_MISSING);
                    self.out.flags = flags;
                    return self.out;
                }
            } else {
                self.set_error(NO_BOUNDARIES);
                self.out.flags = flags;
                return self.out;
            }
        }

        for part in std::mem::take(&mut self.parts) {
            match part.kind {
                PartType::File => self.out.files.push(MultipartFile {
                    name: part.name,
                    filename: part.filename,
                    size: part.tmp_file_size,
                    content: part.tmp_file,
                    tmp_content: part.value,
                    name_offset: part.name_offset,
                    filename_offset: part.filename_offset,
                    size_offset: part.size_offset,
                    tmp_content_offset: part.value_offset,
                }),
                PartType::FormData => {
                    self.out.args.push((part.name, part.value));
                    self.out.arg_offsets.push(part.value_offset);
                }
            }
        }
        self.out.flags = flags;
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of every length about the buffer's size, with `\r`, `\n`, boundaries and part
    /// headers between them.
    fn long_line_bodies() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            // boundaries (a final one, one after a space) and part headers; line breaks come
            // from the runs below
            prop::sample::select(vec![
                &b"Content-Disposition: form-data; name=\"a\""[..],
                b"Content-Disposition: form-data; name=\"f\"; filename=\"x\"",
                b"Content-Type: image/jpeg",
                b"--b",
                b"--b--",
                b" --b",
                b"\0",
            ])
            .prop_map(<[u8]>::to_vec),
            (4090usize..4100, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
            (0usize..40, prop::sample::select(vec![b'x', b'\r', b'\n']))
                .prop_map(|(n, b)| vec![b; n]),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        /// The lines' plain bytes taken in one piece give what the byte-at-a-time loop
        /// (libmodsecurity's) gives: values, offsets, flags, errors.
        #[test]
        fn bulk_runs_change_nothing(body in long_line_bodies(), extract in proptest::bool::ANY) {
            let config = MultipartConfig { extract_files: extract, upload_file_limit: 0 };
            let ct = b"multipart/form-data; boundary=b";
            let bulk = parse(ct, &body, &config);
            BULK_RUNS.with(|b| b.set(false));
            let per_byte = parse(ct, &body, &config);
            BULK_RUNS.with(|b| b.set(true));
            proptest::prop_assert_eq!(bulk, per_byte);
        }
    }

    #[test]
    fn count_params_3610() {
        assert_eq!(
            count_boundary_params(
                b"multipart/form-data; boundary=----geckoformboundary1a2b; charset=UTF-8"
            ),
            1
        );
        assert_eq!(
            count_boundary_params(b"multipart/form-data; boundary=a; boundary=b"),
            2
        );
        assert_eq!(
            count_boundary_params(b"multipart/form-data; boundary=a, boundary=b"),
            2
        );
        assert_eq!(
            count_boundary_params(b"multipart/form-data; bOundAry=0000"),
            1
        );
        assert_eq!(count_boundary_params(b"boundary=x"), 1);
        assert_eq!(count_boundary_params(b"----boundary"), 0);
    }

    #[test]
    fn chomp_keeps_all_crlf() {
        let mut v = b"\r\n".to_vec();
        chomp(&mut v);
        assert_eq!(v, b"\r\n");
        let mut v = b"a\r\n".to_vec();
        chomp(&mut v);
        assert_eq!(v, b"a");
    }

    #[test]
    fn boundary_chars() {
        assert!(boundary_characters_valid(b"0000 1111"));
        assert!(!boundary_characters_valid(b"0000 "));
        assert!(!boundary_characters_valid(b"00\"00"));
        assert!(boundary_characters_valid(b""));
    }
}
