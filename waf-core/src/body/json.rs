//! JSON: the `application/json` request body processor (`ctl:requestBodyProcessor=JSON`),
//! giving the ARGS names and values of libmodsecurity v3.0.15's `src/request_body_processor/
//! json.cc`, which drives yajl 2.1 (`yajl_parse` + `yajl_complete_parse`).
//!
//! # Description
//!
//! A hand-written, iterative (no recursion) port of the parts of yajl that decide the result:
//! its lexer (what is accepted, which error text), its parser state machine and its string
//! unescaping, feeding the same callbacks as `json.cc`. `serde_json` is not used: it rejects
//! what yajl accepts and the reverse (yajl checks UTF-8 structure only, so overlong forms and
//! surrogates pass; it decodes a lone `\uD800` to `?` and eats the next character), does not
//! keep the number text, and recurses.
//!
//! Argument names (`JSON::addArgument`, `getCurrentKey`):
//! - the top-level value is named `json`: `{"a":1}` gives `json.a`, a top-level scalar `json`;
//! - an object member is `<path>.<key>`; an empty key is `empty-key`;
//! - an array element is `<path>.array_<index>`, and a container nested in an array takes the
//!   empty name: `{"a":[[1,2]]}` gives `json.a.array_0.array_0`, `json.a.array_0.array_1`;
//!   `[{"b":1}]` gives `json.array_0.b`;
//! - an empty object or array adds nothing (but uses up an array index);
//! - values: strings unescaped (bytes, may hold NUL), numbers as written (`1.50`, `-0`, `1E5`),
//!   `true`, `false`, and `null` as the empty string. Duplicate keys give one argument each,
//!   in document order.
//!
//! Limits and errors (the text is what `REQBODY_ERROR_MSG` shows after `JSON parsing error: `):
//! - depth: every `{`/`[` adds one; above `depth_limit` (`SecRequestBodyJsonDepthLimit`,
//!   default [`DEFAULT_DEPTH_LIMIT`]) the callback stops the parse:
//!   `parse error: client cancelled parse via callback return value\n. Parsing depth limit
//!   exceeded` (yajl's error text ends with a line feed, then json.cc appends its suffix);
//! - arguments: libmodsecurity's `Transaction::addArgument` refuses an argument once ARGS has
//!   `SecArgumentsLimit` entries (query-string ones included) and the callback then stops the
//!   parse: `parse error: client cancelled parse via callback return value\n`. `args_limit` is
//!   the number of arguments that may still be added (`usize::MAX` when no limit is set);
//! - yajl's own errors: `lexical error: <reason>\n` or `parse error: <reason>\n`, e.g.
//!   `parse error: premature EOF\n`, `parse error: trailing garbage\n`,
//!   `lexical error: invalid char in json text.\n`.
//!
//! Arguments added before an error stay in ARGS (yajl is a streaming parser), so [`parse`]'s
//! error carries them ([`JsonError::args`]); [`parse_each`] has given them already.
//!
//! An empty body is a yajl error (`premature EOF`) that libmodsecurity ignores
//! (`error.empty() == false && m_requestBody.str().size() > 0`): [`parse`] returns `Ok` with no
//! argument for it. A body of only whitespace is an error.
//!
//! Cost: linear in the input plus the output; the output itself (name = full path for every
//! value) is what libmodsecurity builds, so very deep documents with many values are only
//! bounded by the two limits.
//!
//! # Example
//!
//! ```
//! use waf_core::body::json;
//! let args = json::parse(br#"{"a":[1,{"b":null}],"":true}"#, 10000, usize::MAX).unwrap();
//! let names: Vec<&[u8]> = args.iter().map(|(n, _)| n.as_slice()).collect();
//! assert_eq!(names, [&b"json.a.array_0"[..], b"json.a.array_1.b", b"json.empty-key"]);
//! ```

/// libmodsecurity's depth limit when `SecRequestBodyJsonDepthLimit` is not set
/// (`json_depth_limit_default`).
pub const DEFAULT_DEPTH_LIMIT: usize = 10000;

/// ARGS `(name, value)` pairs, in document order.
pub type Args = Vec<(Vec<u8>, Vec<u8>)>;

/// Why the JSON processor failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// yajl's lexer rejected the input.
    Lexical,
    /// yajl's parser rejected the input (including `premature EOF`).
    Parse,
    /// `SecRequestBodyJsonDepthLimit` exceeded.
    DepthLimit,
    /// `SecArgumentsLimit` reached.
    ArgsLimit,
}

/// A JSON processor error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// What failed.
    pub kind: JsonErrorKind,
    /// The error text libmodsecurity stores (yajl's, then json.cc's depth suffix).
    pub message: String,
    /// The arguments added before the error (they stay in ARGS); empty from [`parse_each`],
    /// which gave them as they came.
    pub args: Args,
}

impl JsonError {
    /// `REQBODY_ERROR_MSG` / `REQBODY_PROCESSOR_ERROR_MSG`.
    pub fn reqbody_error_msg(&self) -> String {
        format!("JSON parsing error: {}", self.message)
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reqbody_error_msg())
    }
}

impl std::error::Error for JsonError {}

/// Parses a JSON body into libmodsecurity's ARGS `(name, value)` pairs.
pub fn parse(input: &[u8], depth_limit: usize, args_limit: usize) -> Result<Args, JsonError> {
    let mut args = Args::new();
    match parse_each(input, depth_limit, args_limit, |name, value| {
        args.push((name.to_vec(), value.to_vec()))
    }) {
        Ok(()) => Ok(args),
        Err(e) => Err(JsonError { args, ..e }),
    }
}

/// [`parse`], giving each `(name, value)` pair to `each` as it is found, from buffers reused
/// from pair to pair (no vector per name and value, copied again into ARGS: a tenth of a
/// JSON body's cost). On an error, the pairs before it have been given already: the error's
/// [`JsonError::args`] is empty.
pub fn parse_each(
    input: &[u8],
    depth_limit: usize,
    args_limit: usize,
    mut each: impl FnMut(&[u8], &[u8]),
) -> Result<(), JsonError> {
    if input.is_empty() {
        return Ok(());
    }
    let mut sink = Sink {
        containers: Vec::new(),
        current_key: Vec::new(),
        each: &mut each,
        added: 0,
        args_limit,
        depth: 0,
        max_depth: depth_limit,
        depth_exceeded: false,
        path: Vec::new(),
        seg_start: Vec::new(),
        name: Vec::new(),
        decoded: Vec::new(),
    };
    let outcome = run(input, &mut sink);
    let (kind, text) = match outcome {
        Outcome::Ok => return Ok(()),
        Outcome::Lexical(e) => (
            JsonErrorKind::Lexical,
            format!("lexical error: {}\n", e.text()),
        ),
        Outcome::Parse(msg) => (JsonErrorKind::Parse, format!("parse error: {msg}\n")),
        Outcome::Cancelled => (
            if sink.depth_exceeded {
                JsonErrorKind::DepthLimit
            } else {
                JsonErrorKind::ArgsLimit
            },
            format!("parse error: {CANCELLED}\n"),
        ),
    };
    let mut message = text;
    if sink.depth_exceeded {
        message.push_str(". Parsing depth limit exceeded");
    }
    Err(JsonError {
        kind,
        message,
        args: Args::new(),
    })
}

const CANCELLED: &str = "client cancelled parse via callback return value";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LexError {
    InvalidUtf8,
    InvalidEscapedChar,
    InvalidJsonChar,
    InvalidHexChar,
    InvalidChar,
    InvalidString,
    MissingIntegerAfterExponent,
    MissingIntegerAfterDecimal,
    MissingIntegerAfterMinus,
    UnallowedComment,
}

impl LexError {
    /// `yajl_lex_error_to_string`.
    fn text(self) -> &'static str {
        match self {
            LexError::InvalidUtf8 => "invalid bytes in UTF8 string.",
            LexError::InvalidEscapedChar => {
                "inside a string, '\\' occurs before a character which it may not."
            }
            LexError::InvalidJsonChar => "invalid character inside string.",
            LexError::InvalidHexChar => {
                "invalid (non-hex) character occurs after '\\u' inside string."
            }
            LexError::InvalidChar => "invalid char in json text.",
            LexError::InvalidString => "invalid string in json text.",
            LexError::MissingIntegerAfterExponent => {
                "malformed number, a digit is required after the exponent."
            }
            LexError::MissingIntegerAfterDecimal => {
                "malformed number, a digit is required after the decimal point."
            }
            LexError::MissingIntegerAfterMinus => {
                "malformed number, a digit is required after the minus sign."
            }
            LexError::UnallowedComment => {
                "probable comment found in input text, comments are not enabled."
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Eof,
    Error(LexError),
    ObjStart,
    ObjEnd,
    ArrStart,
    ArrEnd,
    Comma,
    Colon,
    Bool(bool),
    Null,
    /// String content `[start, end)` of the input, and whether it holds escapes.
    Str(usize, usize, bool),
    /// Number text `[start, end)`.
    Num(usize, usize),
}

/// yajl's lexer over `input` followed by the single space that `yajl_complete_parse` feeds
/// (`yajl_do_finish` parses `" "`); a token split across the two chunks is lexed as if they
/// were one text, as yajl's lexer buffer does.
struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    #[inline]
    fn get(&self, i: usize) -> Option<u8> {
        match i.cmp(&self.s.len()) {
            std::cmp::Ordering::Less => Some(self.s[i]),
            std::cmp::Ordering::Equal => Some(b' '),
            std::cmp::Ordering::Greater => None,
        }
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let c = self.get(self.pos)?;
        self.pos += 1;
        Some(c)
    }

    fn lex(&mut self) -> Tok {
        loop {
            let Some(c) = self.next() else {
                return Tok::Eof;
            };
            return match c {
                b'{' => Tok::ObjStart,
                b'}' => Tok::ObjEnd,
                b'[' => Tok::ArrStart,
                b']' => Tok::ArrEnd,
                b',' => Tok::Comma,
                b':' => Tok::Colon,
                b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' => continue,
                b't' => self.literal(b"rue", Tok::Bool(true)),
                b'f' => self.literal(b"alse", Tok::Bool(false)),
                b'n' => self.literal(b"ull", Tok::Null),
                b'"' => self.string(),
                b'-' | b'0'..=b'9' => {
                    self.pos -= 1;
                    self.number()
                }
                b'/' => Tok::Error(LexError::UnallowedComment),
                _ => Tok::Error(LexError::InvalidChar),
            };
        }
    }

    fn literal(&mut self, want: &[u8], tok: Tok) -> Tok {
        for &w in want {
            match self.get(self.pos) {
                None => return Tok::Eof,
                Some(c) if c == w => self.pos += 1,
                Some(_) => return Tok::Error(LexError::InvalidString),
            }
        }
        tok
    }

    fn string(&mut self) -> Tok {
        /// Bytes a string holds as they are: not `"`, `\\`, a control byte or a UTF-8 byte.
        static PLAIN: [bool; 256] = {
            let mut t = [false; 256];
            let mut b = 0x20;
            while b < 0x80 {
                t[b] = b != b'"' as usize && b != b'\\' as usize;
                b += 1;
            }
            t
        };
        let start = self.pos;
        let mut esc = false;
        loop {
            // (a run of plain bytes at a table look each: most of a string)
            while self.s.get(self.pos).is_some_and(|&c| PLAIN[usize::from(c)]) {
                self.pos += 1;
            }
            let Some(c) = self.next() else {
                return Tok::Eof;
            };
            match c {
                b'"' => return Tok::Str(start, self.pos - 1, esc),
                b'\\' => {
                    esc = true;
                    let Some(e) = self.next() else {
                        return Tok::Eof;
                    };
                    if e == b'u' {
                        for _ in 0..4 {
                            match self.get(self.pos) {
                                None => return Tok::Eof,
                                Some(h) if h.is_ascii_hexdigit() => self.pos += 1,
                                Some(_) => return Tok::Error(LexError::InvalidHexChar),
                            }
                        }
                    } else if !matches!(e, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') {
                        return Tok::Error(LexError::InvalidEscapedChar);
                    }
                }
                0x00..=0x1f => return Tok::Error(LexError::InvalidJsonChar),
                0x80..=0xff => {
                    // yajl_lex_utf8_char: structure only (overlongs and surrogates pass).
                    let n = if c >> 5 == 0x6 {
                        1
                    } else if c >> 4 == 0x0e {
                        2
                    } else if c >> 3 == 0x1e {
                        3
                    } else {
                        return Tok::Error(LexError::InvalidUtf8);
                    };
                    for _ in 0..n {
                        let Some(b) = self.next() else {
                            return Tok::Eof;
                        };
                        if b >> 6 != 0x2 {
                            return Tok::Error(LexError::InvalidUtf8);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn number(&mut self) -> Tok {
        let start = self.pos;
        macro_rules! next {
            () => {
                match self.next() {
                    Some(c) => c,
                    None => return Tok::Eof,
                }
            };
        }
        let mut c = next!();
        if c == b'-' {
            c = next!();
        }
        if c == b'0' {
            c = next!();
        } else if c.is_ascii_digit() {
            loop {
                c = next!();
                if !c.is_ascii_digit() {
                    break;
                }
            }
        } else {
            self.pos -= 1;
            return Tok::Error(LexError::MissingIntegerAfterMinus);
        }
        if c == b'.' {
            let mut digits = 0;
            c = next!();
            while c.is_ascii_digit() {
                digits += 1;
                c = next!();
            }
            if digits == 0 {
                self.pos -= 1;
                return Tok::Error(LexError::MissingIntegerAfterDecimal);
            }
        }
        if c == b'e' || c == b'E' {
            c = next!();
            if c == b'+' || c == b'-' {
                c = next!();
            }
            if c.is_ascii_digit() {
                loop {
                    c = next!();
                    if !c.is_ascii_digit() {
                        break;
                    }
                }
            } else {
                self.pos -= 1;
                return Tok::Error(LexError::MissingIntegerAfterExponent);
            }
        }
        // "we always go one too far"
        self.pos -= 1;
        Tok::Num(start, self.pos)
    }
}

/// `yajl_string_decode` on the string content at `[start, start + len)` of `input`. Reads past
/// the content exactly where yajl does (a lone high surrogate skips one more character; a
/// malformed escape after it may read the closing quote and beyond, taken as NUL past the end).
fn decode_string(input: &[u8], start: usize, len: usize, out: &mut Vec<u8>) {
    let b = |k: usize| input.get(start + k).copied().unwrap_or(0);
    let hex4 = |val: &mut u32, at: usize| {
        for k in 0..4 {
            let mut c = b(at + k);
            if c >= b'A' {
                c = (c & !0x20).wrapping_sub(7);
            }
            c = c.wrapping_sub(b'0');
            *val = (*val << 4) | u32::from(c);
        }
    };
    out.clear();
    out.reserve(len);
    let (mut beg, mut end) = (0usize, 0usize);
    while end < len {
        if b(end) != b'\\' {
            end += 1;
            continue;
        }
        out.extend_from_slice(&input[start + beg..start + end]);
        end += 1;
        let mut utf8 = [0u8; 4];
        let unescaped: &[u8] = match b(end) {
            b'r' => b"\r",
            b'n' => b"\n",
            b'\\' => b"\\",
            b'/' => b"/",
            b'"' => b"\"",
            b'f' => b"\x0c",
            b'b' => b"\x08",
            b't' => b"\t",
            b'u' => {
                let mut cp: u32 = 0;
                end += 1;
                hex4(&mut cp, end);
                end += 3;
                let mut lone = false;
                if cp & 0xFC00 == 0xD800 {
                    end += 1;
                    if b(end) == b'\\' && b(end + 1) == b'u' {
                        let mut sur: u32 = 0;
                        hex4(&mut sur, end + 2);
                        cp = ((cp & 0x3F) << 10) | ((((cp >> 6) & 0xF) + 1) << 16) | (sur & 0x3FF);
                        end += 5;
                    } else {
                        lone = true;
                    }
                }
                if lone {
                    b"?"
                } else {
                    let n = utf32_to_utf8(cp, &mut utf8);
                    if cp == 0 {
                        out.push(0);
                        end += 1;
                        beg = end;
                        continue;
                    }
                    &utf8[..n]
                }
            }
            // `assert` compiled out: the initial "?" stays.
            _ => b"?",
        };
        out.extend_from_slice(unescaped);
        end += 1;
        beg = end;
    }
    if beg < end {
        out.extend_from_slice(&input[start + beg..start + end]);
    }
}

/// yajl's `Utf32toUtf8` (no range checks: surrogates and up to 0x1FFFFF are encoded).
fn utf32_to_utf8(cp: u32, buf: &mut [u8; 4]) -> usize {
    if cp < 0x80 {
        buf[0] = cp as u8;
        1
    } else if cp < 0x800 {
        buf[0] = ((cp >> 6) | 0xC0) as u8;
        buf[1] = ((cp & 0x3F) | 0x80) as u8;
        2
    } else if cp < 0x10000 {
        buf[0] = ((cp >> 12) | 0xE0) as u8;
        buf[1] = (((cp >> 6) & 0x3F) | 0x80) as u8;
        buf[2] = ((cp & 0x3F) | 0x80) as u8;
        3
    } else if cp < 0x200000 {
        buf[0] = ((cp >> 18) | 0xF0) as u8;
        buf[1] = (((cp >> 12) & 0x3F) | 0x80) as u8;
        buf[2] = (((cp >> 6) & 0x3F) | 0x80) as u8;
        buf[3] = ((cp & 0x3F) | 0x80) as u8;
        4
    } else {
        buf[0] = b'?';
        1
    }
}

/// A value given to [`Sink::add_argument`]: text of the input (or a constant), or the
/// string just unescaped into [`Sink::decoded`].
enum Value<'a> {
    Text(&'a [u8]),
    Decoded,
}

struct Container {
    name: Vec<u8>,
    is_array: bool,
    counter: usize,
}

/// The callbacks of `json.cc` (`JSON::yajl_*`, `addArgument`, `getCurrentKey`).
struct Sink<'e> {
    containers: Vec<Container>,
    current_key: Vec<u8>,
    each: &'e mut dyn FnMut(&[u8], &[u8]),
    /// Pairs given to `each`.
    added: usize,
    args_limit: usize,
    depth: usize,
    max_depth: usize,
    depth_exceeded: bool,
    /// The name prefix built from `containers`, kept up to date so that naming a value costs
    /// the length of its name, not the depth times the segment lengths.
    path: Vec<u8>,
    seg_start: Vec<usize>,
    /// The name of the pair being given, and a value's unescaped text.
    name: Vec<u8>,
    decoded: Vec<u8>,
}

impl Sink<'_> {
    fn render_last_segment(&mut self) {
        if let (Some(c), Some(&s)) = (self.containers.last(), self.seg_start.last()) {
            self.path.truncate(s);
            self.path.extend_from_slice(&c.name);
            if c.is_array {
                self.path.extend_from_slice(b".array_");
                let mut buf = [0; 20];
                let index = crate::decimal::decimal(c.counter as u64, &mut buf);
                self.path.extend_from_slice(index);
            } else {
                self.path.push(b'.');
            }
        }
    }

    /// `getCurrentKey`, appended to `out` (the key is used up).
    fn take_current_key(&mut self, out: &mut Vec<u8>) {
        match self.containers.last() {
            None => out.extend_from_slice(b"json"),
            Some(c) if self.current_key.is_empty() => {
                if !c.is_array {
                    out.extend_from_slice(b"empty-key");
                }
            }
            Some(_) => {
                out.extend_from_slice(&self.current_key);
                self.current_key.clear();
            }
        }
    }

    /// Gives the pair of the current name and `value`; returns `false` to cancel the parse
    /// (arguments limit).
    fn add_argument(&mut self, value: Value) -> bool {
        let mut name = std::mem::take(&mut self.name);
        name.clear();
        name.extend_from_slice(&self.path);
        let last_is_array = self.containers.last().is_some_and(|c| c.is_array);
        if last_is_array {
            if let Some(c) = self.containers.last_mut() {
                c.counter += 1;
            }
            self.render_last_segment();
        } else {
            self.take_current_key(&mut name);
        }
        let cancelled = self.added >= self.args_limit;
        if !cancelled {
            let value: &[u8] = match value {
                Value::Text(t) => t,
                Value::Decoded => &self.decoded,
            };
            (self.each)(&name, value);
            self.added += 1;
        }
        self.name = name;
        !cancelled
    }

    fn start(&mut self, is_array: bool) -> bool {
        let mut name = Vec::new();
        self.take_current_key(&mut name);
        self.containers.push(Container {
            name,
            is_array,
            counter: 0,
        });
        self.seg_start.push(self.path.len());
        self.render_last_segment();
        self.depth += 1;
        if self.depth > self.max_depth {
            self.depth_exceeded = true;
            return false;
        }
        true
    }

    fn end(&mut self) -> bool {
        if self.containers.pop().is_some() {
            if let Some(s) = self.seg_start.pop() {
                self.path.truncate(s);
            }
            if let Some(c) = self.containers.last_mut() {
                if c.is_array {
                    c.counter += 1;
                }
            }
            self.render_last_segment();
        }
        self.depth = self.depth.saturating_sub(1);
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Start,
    ParseComplete,
    MapStart,
    MapNeedKey,
    MapSep,
    MapNeedVal,
    MapGotVal,
    ArrayStart,
    ArrayNeedVal,
    ArrayGotVal,
}

enum Outcome {
    Ok,
    Lexical(LexError),
    Parse(&'static str),
    Cancelled,
}

/// yajl_do_parse + yajl_do_finish, iterative.
fn run(input: &[u8], sink: &mut Sink) -> Outcome {
    let mut lx = Lexer { s: input, pos: 0 };
    let mut stack: Vec<St> = vec![St::Start];
    macro_rules! cc {
        ($e:expr) => {
            if !$e {
                return Outcome::Cancelled;
            }
        };
    }
    loop {
        let Some(&top) = stack.last() else {
            return Outcome::Parse("premature EOF");
        };
        match top {
            St::ParseComplete => {
                return match lx.lex() {
                    Tok::Eof => Outcome::Ok,
                    _ => Outcome::Parse("trailing garbage"),
                };
            }
            St::Start | St::MapNeedVal | St::ArrayNeedVal | St::ArrayStart => {
                let mut push = None;
                match lx.lex() {
                    Tok::Eof => break,
                    Tok::Error(e) => return Outcome::Lexical(e),
                    Tok::Str(s, e, esc) => {
                        let v = if esc {
                            decode_string(input, s, e - s, &mut sink.decoded);
                            Value::Decoded
                        } else {
                            Value::Text(&input[s..e])
                        };
                        cc!(sink.add_argument(v));
                    }
                    Tok::Bool(b) => {
                        cc!(sink.add_argument(Value::Text(if b { b"true" } else { b"false" })))
                    }
                    Tok::Null => cc!(sink.add_argument(Value::Text(b""))),
                    Tok::Num(s, e) => cc!(sink.add_argument(Value::Text(&input[s..e]))),
                    Tok::ObjStart => {
                        cc!(sink.start(false));
                        push = Some(St::MapStart);
                    }
                    Tok::ArrStart => {
                        cc!(sink.start(true));
                        push = Some(St::ArrayStart);
                    }
                    Tok::ArrEnd if top == St::ArrayStart => {
                        cc!(sink.end());
                        stack.pop();
                        continue;
                    }
                    Tok::ArrEnd | Tok::ObjEnd | Tok::Colon | Tok::Comma => {
                        return Outcome::Parse("unallowed token at this point in JSON text")
                    }
                }
                let next = match top {
                    St::Start => St::ParseComplete,
                    St::MapNeedVal => St::MapGotVal,
                    _ => St::ArrayGotVal,
                };
                if let Some(t) = stack.last_mut() {
                    *t = next;
                }
                if let Some(p) = push {
                    stack.push(p);
                }
            }
            St::MapStart | St::MapNeedKey => match lx.lex() {
                Tok::Eof => break,
                Tok::Error(e) => return Outcome::Lexical(e),
                Tok::Str(s, e, esc) => {
                    if esc {
                        decode_string(input, s, e - s, &mut sink.current_key);
                    } else {
                        sink.current_key.clear();
                        sink.current_key.extend_from_slice(&input[s..e]);
                    }
                    if let Some(t) = stack.last_mut() {
                        *t = St::MapSep;
                    }
                }
                Tok::ObjEnd if top == St::MapStart => {
                    cc!(sink.end());
                    stack.pop();
                }
                _ => return Outcome::Parse("invalid object key (must be a string)"),
            },
            St::MapSep => match lx.lex() {
                Tok::Colon => {
                    if let Some(t) = stack.last_mut() {
                        *t = St::MapNeedVal;
                    }
                }
                Tok::Eof => break,
                Tok::Error(e) => return Outcome::Lexical(e),
                _ => {
                    return Outcome::Parse(
                        "object key and value must be separated by a colon (':')",
                    )
                }
            },
            St::MapGotVal => match lx.lex() {
                Tok::ObjEnd => {
                    cc!(sink.end());
                    stack.pop();
                }
                Tok::Comma => {
                    if let Some(t) = stack.last_mut() {
                        *t = St::MapNeedKey;
                    }
                }
                Tok::Eof => break,
                Tok::Error(e) => return Outcome::Lexical(e),
                _ => return Outcome::Parse("after key and value, inside map, I expect ',' or '}'"),
            },
            St::ArrayGotVal => match lx.lex() {
                Tok::ArrEnd => {
                    cc!(sink.end());
                    stack.pop();
                }
                Tok::Comma => {
                    if let Some(t) = stack.last_mut() {
                        *t = St::ArrayNeedVal;
                    }
                }
                Tok::Eof => break,
                Tok::Error(e) => return Outcome::Lexical(e),
                _ => return Outcome::Parse("after array element, I expect ',' or ']'"),
            },
        }
    }
    // End of input (after the finishing space) in a state that is not complete.
    Outcome::Parse("premature EOF")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Vec<u8> {
        let input = format!("\"{s}\"");
        let mut out = Vec::new();
        decode_string(input.as_bytes(), 1, s.len(), &mut out);
        out
    }

    #[test]
    fn unescape() {
        assert_eq!(dec(r"a\nb\t\/\\\u0041"), b"a\nb\t/\\A");
        assert_eq!(dec(r"\u00e9"), "é".as_bytes());
        assert_eq!(dec(r"\ud83d\ude00"), "😀".as_bytes());
        assert_eq!(dec(r"\u0000x"), b"\0x");
        // A lone high surrogate gives '?' and swallows the next character.
        assert_eq!(dec(r"\ud800abc"), b"?bc");
        assert_eq!(dec(r"\ud800"), b"?");
        // A lone low surrogate is encoded as is (CESU-like).
        assert_eq!(dec(r"\udc00"), vec![0xED, 0xB0, 0x80]);
        // U+FFFF is three bytes.
        assert_eq!(dec(r"\uffff"), vec![0xEF, 0xBF, 0xBF]);
    }

    #[test]
    fn utf8_ranges() {
        let mut b = [0; 4];
        assert_eq!(utf32_to_utf8(0x10FFFF, &mut b), 4);
        assert_eq!(utf32_to_utf8(0x200000, &mut b), 1);
        assert_eq!(b[0], b'?');
    }
}
