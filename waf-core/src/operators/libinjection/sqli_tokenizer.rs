//! The SQL tokenizer of libinjection v4.0.0: one token at a time, in ANSI or MySQL mode,
//! optionally starting inside a quoted string.
//!
//! The verdicts depend on every quirk of the original, so the comments below name them where
//! they are not what one would guess (which bytes end a word, where a NUL byte counts, ...). Two
//! of C's string helpers behave unexpectedly on NUL and are mirrored on purpose: `strspn`-style
//! scans over a character set also accept NUL (C's `strchr` finds the set's terminator), and
//! `strcspn`-style scans stop at it.

use super::sqli_keywords::WORDS;
use crate::regex::ByteSet;

/// libinjection's token value buffer is 32 bytes, NUL-terminated: values keep at most 31.
pub(super) const VAL_SIZE: usize = 32;

// Token types (libinjection's type characters; the fingerprint is made of them).
pub(super) const T_NONE: u8 = 0;
pub(super) const T_KEYWORD: u8 = b'k';
pub(super) const T_UNION: u8 = b'U';
pub(super) const T_GROUP: u8 = b'B';
pub(super) const T_EXPRESSION: u8 = b'E';
pub(super) const T_SQLTYPE: u8 = b't';
pub(super) const T_FUNCTION: u8 = b'f';
pub(super) const T_BAREWORD: u8 = b'n';
pub(super) const T_NUMBER: u8 = b'1';
pub(super) const T_VARIABLE: u8 = b'v';
pub(super) const T_STRING: u8 = b's';
pub(super) const T_OPERATOR: u8 = b'o';
pub(super) const T_LOGIC_OPERATOR: u8 = b'&';
pub(super) const T_COMMENT: u8 = b'c';
pub(super) const T_COLLATE: u8 = b'A';
pub(super) const T_LEFTPARENS: u8 = b'(';
pub(super) const T_RIGHTPARENS: u8 = b')';
pub(super) const T_LEFTBRACE: u8 = b'{';
pub(super) const T_RIGHTBRACE: u8 = b'}';
pub(super) const T_DOT: u8 = b'.';
pub(super) const T_COMMA: u8 = b',';
pub(super) const T_COLON: u8 = b':';
pub(super) const T_SEMICOLON: u8 = b';';
pub(super) const T_TSQL: u8 = b'T';
pub(super) const T_UNKNOWN: u8 = b'?';
pub(super) const T_EVIL: u8 = b'X';
pub(super) const T_BACKSLASH: u8 = b'\\';

/// Where the input is assumed to start, and which SQL dialect decides `#` and `--x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mode {
    /// `0` (as is), `'` or `"`: pretend the input starts inside such a string.
    pub quote: u8,
    /// MySQL: `#` starts a comment and `[` a bracketed word; ANSI: `--x` is a comment.
    pub mysql: bool,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Token {
    pub kind: u8,
    /// The opening / closing delimiter of a string-like token (`0` when absent).
    pub str_open: u8,
    pub str_close: u8,
    pub len: u8,
    pub val: [u8; VAL_SIZE],
}

impl Token {
    pub const EMPTY: Token = Token {
        kind: T_NONE,
        str_open: 0,
        str_close: 0,
        len: 0,
        val: [0; VAL_SIZE],
    };

    pub fn val(&self) -> &[u8] {
        &self.val[..self.len as usize]
    }

    /// Sets type and value, truncated to 31 bytes as libinjection does (the length too).
    fn assign(&mut self, kind: u8, value: &[u8]) {
        let n = value.len().min(VAL_SIZE - 1);
        self.kind = kind;
        self.len = n as u8;
        self.val[..n].copy_from_slice(&value[..n]);
        self.val[n] = 0;
    }

    fn assign_char(&mut self, kind: u8, ch: u8) {
        self.kind = kind;
        self.len = 1;
        self.val[0] = ch;
        self.val[1] = 0;
    }

    /// A unary operator: `+ - ! ~ !! NOT`.
    pub fn is_unary_op(&self) -> bool {
        if self.kind != T_OPERATOR {
            return false;
        }
        match self.val() {
            [c] => matches!(c, b'+' | b'-' | b'!' | b'~'),
            b"!!" => true,
            v @ [_, _, _] => v.eq_ignore_ascii_case(b"NOT"),
            _ => false,
        }
    }

    pub fn is_arithmetic_op(&self) -> bool {
        self.kind == T_OPERATOR && matches!(self.val(), [b'*' | b'/' | b'-' | b'+' | b'%'])
    }
}

/// Case-insensitive equality of a token value with an upper-case word, the way libinjection's
/// `cstrcasecmp` compares (only `a`-`z` fold; a NUL never matches).
pub(super) fn upper_eq(word: &[u8], val: &[u8]) -> bool {
    word.len() == val.len()
        && word
            .iter()
            .zip(val)
            .all(|(w, v)| *w == v.to_ascii_uppercase() && *v != 0)
}

/// Slots of the keyword hash table (a power of two, about four per word so probes are short).
const SLOTS: usize = 4096;
const EMPTY_SLOT: u16 = u16::MAX;

/// FNV-1a over the (upper-case) word, folded to a slot.
const fn slot_of(word: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < word.len() {
        h = (h ^ word[i] as u32).wrapping_mul(0x0100_0193);
        i += 1;
    }
    (h ^ (h >> 16)) as usize & (SLOTS - 1)
}

/// The keyword table as an open-addressing hash table of indexes into `WORDS`, built at compile
/// time: libinjection binary-searches its sorted table, which gives the same answers (exact,
/// case-insensitive matches) but costs a dozen string compares per lookup.
static WORD_SLOTS: [u16; SLOTS] = build_slots();

const fn build_slots() -> [u16; SLOTS] {
    assert!(WORDS.len() < SLOTS / 2);
    let mut slots = [EMPTY_SLOT; SLOTS];
    let mut i = 0;
    while i < WORDS.len() {
        let mut h = slot_of(WORDS[i].0);
        while slots[h] != EMPTY_SLOT {
            h = (h + 1) & (SLOTS - 1);
        }
        slots[h] = i as u16;
        i += 1;
    }
    slots
}

/// The type of a word in libinjection's keyword table, looked up case-insensitively; `None` for
/// unknown words. Keys with a NUL or a non-ASCII byte are never found (as in C).
pub(super) fn lookup_word(key: &[u8]) -> Option<u8> {
    if key.is_empty() || key.len() >= VAL_SIZE {
        return None;
    }
    let mut buf = [0u8; VAL_SIZE];
    let up = &mut buf[..key.len()];
    for (d, s) in up.iter_mut().zip(key) {
        *d = s.to_ascii_uppercase();
    }
    let mut h = slot_of(up);
    loop {
        let i = WORD_SLOTS[h];
        if i == EMPTY_SLOT {
            return None;
        }
        let (word, kind) = WORDS[i as usize];
        if word == up {
            return Some(kind);
        }
        h = (h + 1) & (SLOTS - 1);
    }
}

/// Whether the tokenizer reads all of `s` as one word, in every context the detector tries:
/// `s` starts with a letter or `_` (the prefixed strings `b'..'`, `N'..'`, `U&'..'`... need a
/// quote or `&`), holds only letters, digits, `_` and `.` (no byte ends a word, and there is
/// no quote for the quoted contexts), and no part of it before a `.` that [`Tokenizer::word`]
/// looks at is a keyword that would cut the word there (`select.1`). A fingerprint of one
/// token is never SQLi (`one_word_values_are_not_sqli`): argument names such as
/// `json.items.array_0.id`, which the byte test cannot pass by for their `.`.
pub(super) fn one_word(s: &[u8]) -> bool {
    starts_a_word(s) && s.iter().all(|&c| WORD_OR_DOT.contains(c)) && no_keyword_at_dots(s)
}

/// [`one_word`] of `s`, whose bytes are `bytes`: their set says whether `s` holds only
/// letters, digits, `_` and `.`, without a pass over it (a JSON body's ~46,000 argument
/// names were each read byte by byte here, once for that and once for their dots).
pub(super) fn one_word_of(s: &[u8], bytes: &ByteSet) -> bool {
    starts_a_word(s)
        && bytes.intersect_not(&WORD_OR_DOT) == ByteSet::EMPTY
        && (!bytes.contains(b'.') || no_keyword_at_dots(s))
}

/// Letters, digits, `_` and `.`: the bytes of a value [`one_word`] may pass.
const WORD_OR_DOT: ByteSet = ByteSet::of_ranges(
    &[
        (b'0', b'9'),
        (b'A', b'Z'),
        (b'a', b'z'),
        (b'_', b'_'),
        (b'.', b'.'),
    ],
    false,
);

/// The first byte of a value that may be one word: a letter or `_`.
fn starts_a_word(s: &[u8]) -> bool {
    s.first()
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
}

/// Whether no part of `s` (of word bytes and dots) before a `.` the tokenizer looks at is a
/// keyword that cuts the word there. Past the first `.`, only a keyword with a `.` of its own
/// can be what precedes one (`SYS.STRAGG`; their heads are few).
fn no_keyword_at_dots(s: &[u8]) -> bool {
    let Some(first) = memchr::memchr(b'.', s).filter(|&i| i < VAL_SIZE - 1) else {
        return true;
    };
    let (dotted_head, cuts) = head_of(&s[..first]);
    if cuts {
        return false;
    }
    if !dotted_head {
        return true;
    }
    for i in memchr::memchr_iter(b'.', &s[first + 1..]).map(|i| first + 1 + i) {
        if i >= VAL_SIZE - 1 {
            break;
        }
        if cuts_word(&s[..i]) {
            return false;
        }
    }
    true
}

/// Of `head`, the part of a value before its first `.` (shorter than [`VAL_SIZE`]): whether
/// it is what precedes the first `.` of a keyword, and whether it is a keyword that cuts the
/// word there. The last head asked about is remembered by the thread: every argument name of
/// a JSON body starts with `json.` (a keyword look for each of a 1 MB body's 46,000 names was
/// 2.9% of its time).
fn head_of(head: &[u8]) -> (bool, bool) {
    type Last = ([u8; VAL_SIZE], usize, bool, bool);
    thread_local! {
        static LAST: std::cell::Cell<Last> = const {
            std::cell::Cell::new(([0; VAL_SIZE], usize::MAX, false, false))
        };
    }
    let answer = |head: &[u8]| {
        let dotted = dotted_heads().iter().any(|h| h.eq_ignore_ascii_case(head));
        (dotted, cuts_word(head))
    };
    if head.len() >= VAL_SIZE {
        return answer(head);
    }
    LAST.try_with(|last| {
        let (text, len, dotted, cuts) = last.get();
        if len == head.len() && text[..len] == *head {
            return (dotted, cuts);
        }
        let (dotted, cuts) = answer(head);
        let mut text = [0; VAL_SIZE];
        text[..head.len()].copy_from_slice(head);
        last.set((text, head.len(), dotted, cuts));
        (dotted, cuts)
    })
    .unwrap_or_else(|_| answer(head))
}

/// Whether `word`, followed by a `.`, is a keyword that ends the tokenizer's word there.
fn cuts_word(word: &[u8]) -> bool {
    lookup_word(word).is_some_and(|kind| kind != T_BAREWORD)
}

/// What precedes the first `.` of each keyword that has one (`SYS` of `SYS.STRAGG`).
fn dotted_heads() -> &'static [&'static [u8]] {
    static HEADS: std::sync::LazyLock<Vec<&'static [u8]>> = std::sync::LazyLock::new(|| {
        let mut heads: Vec<&[u8]> = WORDS
            .iter()
            .filter_map(|(word, _)| Some(&word[..memchr::memchr(b'.', word)?]))
            .collect();
        heads.sort_unstable();
        heads.dedup();
        heads
    });
    &HEADS
}

/// C's `char_is_white` (NUL and Latin-1 NBSP included).
fn is_white(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0 | 0)
}

/// Bytes that end a bare word: those that end a `@variable` name but the backtick, and
/// brackets, braces and NBSP.
fn ends_word(c: u8) -> bool {
    (ends_var(c) && c != b'`') || matches!(c, b'[' | b']' | b'{' | b'}' | 0xa0)
}

/// Bytes that end a `@variable` name (no NBSP, brackets or braces here, unlike words).
fn ends_var(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'<'
            | b'>'
            | b':'
            | b'\\'
            | b'?'
            | b'='
            | b'@'
            | b'!'
            | b'#'
            | b'~'
            | b'+'
            | b'-'
            | b'*'
            | b'/'
            | b'&'
            | b'|'
            | b'^'
            | b'%'
            | b'('
            | b')'
            | b','
            | b'\''
            | b';'
            | b'\t'
            | b'\n'
            | 0x0b
            | 0x0c
            | b'\r'
            | b'`'
            | b'"'
            | 0
    )
}

/// Length of the run of bytes accepted by `ok` (which must accept NUL, see the module doc).
fn span(s: &[u8], ok: impl Fn(u8) -> bool) -> usize {
    s.iter().position(|&c| !ok(c)).unwrap_or(s.len())
}

fn is_hex_or_nul(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == 0
}

fn is_bin_or_nul(c: u8) -> bool {
    matches!(c, b'0' | b'1' | 0)
}

/// A string token from `body` up to the two bytes `end` (both consumed), or to the end of the
/// input when they never come (then unclosed); `mark` is its open/close marker.
fn delimited_string(t: &mut Token, s: &[u8], body: usize, end: [u8; 2], mark: u8) -> usize {
    match find2(&s[body..], end[0], end[1]) {
        None => {
            t.assign(T_STRING, &s[body..]);
            t.str_open = mark;
            t.str_close = 0;
            s.len()
        }
        Some(i) => {
            t.assign(T_STRING, &s[body..body + i]);
            t.str_open = mark;
            t.str_close = mark;
            body + i + 2
        }
    }
}

/// The first `ab` pair in `h`.
fn find2(h: &[u8], a: u8, b: u8) -> Option<usize> {
    h.windows(2).position(|w| w[0] == a && w[1] == b)
}

fn find_sub(h: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > h.len() {
        return None;
    }
    h.windows(needle.len()).position(|w| w == needle)
}

/// An odd number of backslashes right before `end` (not looking before `start`).
fn backslash_escaped(s: &[u8], start: usize, end: usize) -> bool {
    s[start..end]
        .iter()
        .rev()
        .take_while(|&&c| c == b'\\')
        .count()
        & 1
        == 1
}

/// Tokenizer state for one pass over the input.
pub(super) struct Tokenizer<'a> {
    s: &'a [u8],
    pos: usize,
    mode: Mode,
    /// Tokens returned so far (comments included).
    pub stats_tokens: u32,
    /// `--x` comments seen in ANSI mode, and `#` seen: either makes the MySQL pass worth doing.
    pub stats_comment_ddx: u32,
    pub stats_comment_hash: u32,
}

impl<'a> Tokenizer<'a> {
    pub fn new(s: &'a [u8], mode: Mode) -> Self {
        Tokenizer {
            s,
            pos: 0,
            mode,
            stats_tokens: 0,
            stats_comment_ddx: 0,
            stats_comment_hash: 0,
        }
    }

    /// The next token into `t`; false at the end of the input.
    pub fn next_token(&mut self, t: &mut Token) -> bool {
        let s = self.s;
        if s.is_empty() {
            return false;
        }
        *t = Token::EMPTY;
        if self.pos == 0 && self.mode.quote != 0 {
            self.pos = self.string_core(t, 0, self.mode.quote, 0);
            self.stats_tokens += 1;
            return true;
        }
        while self.pos < s.len() {
            self.pos = self.dispatch(t);
            if t.kind != T_NONE {
                self.stats_tokens += 1;
                return true;
            }
        }
        false
    }

    /// libinjection's per-byte parser table; returns the position after the token.
    fn dispatch(&mut self, t: &mut Token) -> usize {
        let pos = self.pos;
        let c = self.s[pos];
        match c {
            0..=32 | 127 | 0xa0 => pos + 1,
            b'!' | b'&' | b'*' | b':' | b'<' | b'=' | b'>' | b'|' => self.operator2(t),
            b'"' | b'\'' => self.string_core(t, pos, c, 1),
            b'#' => self.hash(t),
            b'$' => self.money(t),
            b'%' | b'+' | b'^' | b'~' => {
                t.assign_char(T_OPERATOR, c);
                pos + 1
            }
            b'(' | b')' | b',' | b';' | b'{' | b'}' => {
                t.assign_char(c, c);
                pos + 1
            }
            b'-' => self.dash(t),
            b'.' | b'0'..=b'9' => self.number(t),
            b'/' => self.slash(t),
            b'?' | b']' => {
                t.assign_char(T_UNKNOWN, c);
                pos + 1
            }
            b'@' => self.var(t),
            b'B' | b'b' => self.bstring(t),
            b'E' | b'e' => self.estring(t),
            b'N' | b'n' => self.nqstring(t),
            b'Q' | b'q' => self.qstring(t, 0),
            b'U' | b'u' => self.ustring(t),
            b'X' | b'x' => self.xstring(t),
            b'[' => self.bword(t),
            b'\\' => self.backslash(t),
            b'`' => self.tick(t),
            _ => self.word(t),
        }
    }

    fn eol_comment(&self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        match memchr::memchr(b'\n', &s[pos..]) {
            None => {
                t.assign(T_COMMENT, &s[pos..]);
                s.len()
            }
            Some(i) => {
                t.assign(T_COMMENT, &s[pos..pos + i]);
                pos + i + 1
            }
        }
    }

    /// `#`: a comment in MySQL, an operator in ANSI.
    fn hash(&mut self, t: &mut Token) -> usize {
        self.stats_comment_hash += 1;
        if self.mode.mysql {
            self.stats_comment_hash += 1;
            self.eol_comment(t)
        } else {
            t.assign_char(T_OPERATOR, b'#');
            self.pos + 1
        }
    }

    /// `--` + white or end is a comment everywhere; `--x` only in ANSI; else `-` is an operator.
    fn dash(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        let next_dash = s.get(pos + 1) == Some(&b'-');
        if next_dash && (pos + 2 == s.len() || is_white(s[pos + 2])) {
            self.eol_comment(t)
        } else if next_dash && !self.mode.mysql {
            self.stats_comment_ddx += 1;
            self.eol_comment(t)
        } else {
            t.assign_char(T_OPERATOR, b'-');
            pos + 1
        }
    }

    /// `/` alone, or a `/* */` comment; nested `/*` and MySQL's `/*!` make it "evil" (X).
    fn slash(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 1 == s.len() || s[pos + 1] != b'*' {
            t.assign_char(T_OPERATOR, b'/');
            return pos + 1;
        }
        let close = find2(&s[pos + 2..], b'*', b'/').map(|i| pos + 2 + i);
        let clen = match close {
            None => s.len() - pos,
            Some(c) => c + 2 - pos,
        };
        // The nested-comment search runs up to and including the closing `*`.
        let nested = close.is_some_and(|c| find2(&s[pos + 2..c + 1], b'/', b'*').is_some());
        let mysql_cond = pos + 2 < s.len() && s[pos + 2] == b'!';
        let kind = if nested || mysql_cond {
            T_EVIL
        } else {
            T_COMMENT
        };
        t.assign(kind, &s[pos..pos + clen]);
        pos + clen
    }

    /// `\N` is MySQL's NULL (a number); any other backslash is its own token.
    fn backslash(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        if s.get(pos + 1) == Some(&b'N') {
            t.assign(T_NUMBER, &s[pos..pos + 2]);
            pos + 2
        } else {
            t.assign_char(T_BACKSLASH, s[pos]);
            pos + 1
        }
    }

    fn operator2(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 1 >= s.len() {
            t.assign_char(T_OPERATOR, s[pos]);
            return pos + 1;
        }
        if s[pos..].starts_with(b"<=>") {
            t.assign(T_OPERATOR, &s[pos..pos + 3]);
            return pos + 3;
        }
        if let Some(kind) = lookup_word(&s[pos..pos + 2]) {
            t.assign(kind, &s[pos..pos + 2]);
            return pos + 2;
        }
        if s[pos] == b':' {
            t.assign(T_COLON, &s[pos..pos + 1]);
        } else {
            t.assign_char(T_OPERATOR, s[pos]);
        }
        pos + 1
    }

    /// A string delimited by `delim`, starting at `pos` (`offset` 1 skips the opening quote; 0
    /// is the pretend string at the start of a quote-context pass). Doubled delimiters and
    /// backslash-escaped ones do not end it.
    fn string_core(&self, t: &mut Token, pos: usize, delim: u8, offset: usize) -> usize {
        let s = self.s;
        let start = pos + offset;
        t.str_open = if offset > 0 { delim } else { 0 };
        let mut from = start;
        loop {
            match memchr::memchr(delim, &s[from.min(s.len())..]).map(|i| from + i) {
                None => {
                    t.assign(T_STRING, &s[start..]);
                    t.str_close = 0;
                    return s.len();
                }
                Some(q) if backslash_escaped(s, start, q) => from = q + 1,
                Some(q) if q + 1 < s.len() && s[q + 1] == delim => from = q + 2,
                Some(q) => {
                    t.assign(T_STRING, &s[start..q]);
                    t.str_close = delim;
                    return q + 1;
                }
            }
        }
    }

    /// `E'...'` (PostgreSQL) and `N'...'` (national character set).
    fn estring(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 2 >= s.len() || s[pos + 1] != b'\'' {
            return self.word(t);
        }
        self.string_core(t, pos, b'\'', 2)
    }

    /// `U&'...'` (unicode string).
    fn ustring(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 2 < s.len() && s[pos + 1] == b'&' && s[pos + 2] == b'\'' {
            self.pos += 2;
            let end = self.string_core(t, self.pos, b'\'', 1);
            t.str_open = b'u';
            if t.str_close == b'\'' {
                t.str_close = b'u';
            }
            end
        } else {
            self.word(t)
        }
    }

    /// Oracle's `q'<...>'` strings (`offset` 1 for `nq'...'`).
    fn qstring(&mut self, t: &mut Token, offset: usize) -> usize {
        let s = self.s;
        let pos = self.pos + offset;
        if pos >= s.len()
            || !matches!(s[pos], b'q' | b'Q')
            || pos + 2 >= s.len()
            || s[pos + 1] != b'\''
        {
            return self.word(t);
        }
        // C compares a signed char: non-ASCII bytes count as below 33.
        let open = s[pos + 2];
        if !(33..=127).contains(&open) {
            return self.word(t);
        }
        let close = match open {
            b'(' => b')',
            b'[' => b']',
            b'{' => b'}',
            b'<' => b'>',
            c => c,
        };
        let body = pos + 3;
        t.str_open = b'q';
        delimited_string(t, s, body, [close, b'\''], b'q')
    }

    /// `N'...'` or Oracle's `nq'...'`.
    fn nqstring(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 2 < s.len() && s[pos + 1] == b'\'' {
            return self.estring(t);
        }
        self.qstring(t, 1)
    }

    /// `b'0101'` and `x'1F'` literals (numbers), else a word.
    fn prefixed_literal(&mut self, t: &mut Token, digit: fn(u8) -> bool) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 2 >= s.len() || s[pos + 1] != b'\'' {
            return self.word(t);
        }
        let n = span(&s[pos + 2..], digit);
        if pos + 2 + n >= s.len() || s[pos + 2 + n] != b'\'' {
            return self.word(t);
        }
        t.assign(T_NUMBER, &s[pos..pos + n + 3]);
        pos + n + 3
    }

    fn bstring(&mut self, t: &mut Token) -> usize {
        self.prefixed_literal(t, is_bin_or_nul)
    }

    fn xstring(&mut self, t: &mut Token) -> usize {
        self.prefixed_literal(t, is_hex_or_nul)
    }

    /// `[`: a SQL Server-style `[bracketed word]`, in either dialect. (Later libinjection
    /// releases read `[` as a left paren in ANSI mode; v4.0.0 as embedded in libmodsecurity
    /// 3.0.15 does not.)
    fn bword(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        match memchr::memchr(b']', &s[pos..]) {
            None => {
                t.assign(T_BAREWORD, &s[pos..]);
                s.len()
            }
            Some(i) => {
                t.assign(T_BAREWORD, &s[pos..pos + i + 1]);
                pos + i + 1
            }
        }
    }

    /// A bare word, typed from the keyword table. A word such as `SELECT.1` or
    /// ``SELECT`col` `` is cut at the `.` or backtick when what precedes it is a known word.
    fn word(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        let wlen = span(&s[pos..], |c| !ends_word(c));
        t.assign(T_BAREWORD, &s[pos..pos + wlen]);
        for i in 0..t.len as usize {
            if matches!(t.val[i], b'.' | b'`') {
                if let Some(kind) = lookup_word(&t.val[..i]) {
                    if kind != T_BAREWORD {
                        *t = Token::EMPTY;
                        t.assign(kind, &s[pos..pos + i]);
                        return pos + i;
                    }
                }
            }
        }
        if wlen < VAL_SIZE {
            t.kind = lookup_word(&s[pos..pos + wlen]).unwrap_or(T_BAREWORD);
        }
        pos + wlen
    }

    /// MySQL's backtick-quoted identifier: a function if its content is one, else a bare word.
    fn tick(&mut self, t: &mut Token) -> usize {
        let end = self.string_core(t, self.pos, b'`', 1);
        t.kind = if lookup_word(t.val()) == Some(T_FUNCTION) {
            T_FUNCTION
        } else {
            T_BAREWORD
        };
        end
    }

    /// `@var`, `@@var`, ``@@`var` ``, `@'var'`.
    fn var(&mut self, t: &mut Token) -> usize {
        let s = self.s;
        let mut pos = self.pos + 1;
        if s.get(pos) == Some(&b'@') {
            pos += 1;
        }
        match s.get(pos) {
            Some(b'`') => {
                self.pos = pos;
                let end = self.tick(t);
                t.kind = T_VARIABLE;
                return end;
            }
            Some(&q @ (b'\'' | b'"')) => {
                self.pos = pos;
                let end = self.string_core(t, pos, q, 1);
                t.kind = T_VARIABLE;
                return end;
            }
            _ => {}
        }
        let n = span(&s[pos..], |c| !ends_var(c));
        t.assign(T_VARIABLE, &s[pos..pos + n]);
        pos + n
    }

    /// `$1,000.00` (a number), PostgreSQL's `$$...$$` and `$tag$...$tag$` strings, else `$`.
    fn money(&mut self, t: &mut Token) -> usize {
        let (s, pos) = (self.s, self.pos);
        if pos + 1 == s.len() {
            t.assign_char(T_BAREWORD, b'$');
            return s.len();
        }
        let n = span(&s[pos + 1..], |c| {
            c.is_ascii_digit() || c == b'.' || c == b',' || c == 0
        });
        if n == 1 && s[pos + 1] == b'.' {
            return self.word(t);
        }
        if n > 0 {
            t.assign(T_NUMBER, &s[pos..pos + 1 + n]);
            return pos + 1 + n;
        }
        if s[pos + 1] == b'$' {
            let body = pos + 2;
            return delimited_string(t, s, body, [b'$', b'$'], b'$');
        }
        let n = span(&s[pos + 1..], |c| c.is_ascii_alphabetic() || c == 0);
        if n == 0 || pos + n + 1 == s.len() || s[pos + n + 1] != b'$' {
            t.assign_char(T_BAREWORD, b'$');
            return pos + 1;
        }
        // `$tag$ ... $tag$`
        let tag = &s[pos..pos + n + 2];
        let body = pos + n + 2;
        match find_sub(&s[body..], tag) {
            None => {
                t.assign(T_STRING, &s[body..]);
                t.str_open = b'$';
                t.str_close = 0;
                s.len()
            }
            Some(i) => {
                t.assign(T_STRING, &s[body..body + i]);
                t.str_open = b'$';
                t.str_close = b'$';
                body + i + n + 2
            }
        }
    }

    /// Numbers: `0x..`, `0b..`, decimals, exponents, Oracle's `f`/`d` suffixes. A lone `.` is
    /// a dot; `1.e` (exponent without digits) yields no token at all, so MySQL's `1.e(` trick
    /// tokenizes as what follows it.
    fn number(&mut self, t: &mut Token) -> usize {
        let s = self.s;
        let mut pos = self.pos;
        if s[pos] == b'0' && pos + 1 < s.len() {
            let digits: Option<fn(u8) -> bool> = match s[pos + 1] {
                b'X' | b'x' => Some(is_hex_or_nul),
                b'B' | b'b' => Some(is_bin_or_nul),
                _ => None,
            };
            if let Some(digit) = digits {
                let n = span(&s[pos + 2..], digit);
                if n == 0 {
                    t.assign(T_BAREWORD, &s[pos..pos + 2]);
                    return pos + 2;
                }
                t.assign(T_NUMBER, &s[pos..pos + 2 + n]);
                return pos + 2 + n;
            }
        }
        let start = pos;
        pos += span(&s[pos..], |c| c.is_ascii_digit());
        if s.get(pos) == Some(&b'.') {
            pos += 1;
            pos += span(&s[pos..], |c| c.is_ascii_digit());
            if pos - start == 1 {
                t.assign_char(T_DOT, b'.');
                return pos;
            }
        }
        let (mut have_e, mut have_exp) = (false, false);
        if matches!(s.get(pos), Some(b'E' | b'e')) {
            have_e = true;
            pos += 1;
            if matches!(s.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            let n = span(&s[pos..], |c| c.is_ascii_digit());
            have_exp = n > 0;
            pos += n;
        }
        if matches!(s.get(pos), Some(b'd' | b'D' | b'f' | b'F')) {
            match s.get(pos + 1) {
                None => pos += 1,
                Some(&c) if is_white(c) || c == b';' => pos += 1,
                Some(b'u' | b'U') => pos += 1,
                _ => {}
            }
        }
        if !have_e || have_exp {
            t.assign(T_NUMBER, &s[start..pos]);
        }
        pos
    }
}
