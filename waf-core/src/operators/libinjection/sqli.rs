//! libinjection v4.0.0's SQL injection detector: token folding, the fingerprint, the
//! fingerprint blacklist and its false-positive filter, and the passes `libinjection_is_sqli`
//! makes (as is, then as if inside a `'` string, then inside a `"` string; each in ANSI mode,
//! and again in MySQL mode when the ANSI pass saw `#` or `--x`).
//!
//! Everything is on the stack: a pass keeps at most 6 tokens (libinjection folds the statement
//! into 5, sometimes reading a 6th to decide) and the fingerprint is a fixed 8-byte array.

use super::sqli_keywords::FINGERPRINTS;
use super::sqli_tokenizer::*;

/// libinjection keeps 5 tokens in a fingerprint.
const MAX_TOKENS: usize = 5;

/// A fingerprint: up to 5 token type characters (`s&sos`), NUL-padded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 8]);

impl Fingerprint {
    pub fn as_bytes(&self) -> &[u8] {
        let n = self.0.iter().position(|&c| c == 0).unwrap_or(8);
        &self.0[..n]
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// The fingerprint table packed into integers (big-endian bytes, so integer order is the
/// table's byte order), for a branch-light binary search.
const PACKED_LEN: usize = FINGERPRINTS.len();
static PACKED: [u64; PACKED_LEN] = pack_fingerprints();

const fn pack(fp: &[u8]) -> u64 {
    let mut v = 0u64;
    let mut i = 0;
    while i < 8 {
        v <<= 8;
        if i < fp.len() {
            v |= fp[i] as u64;
        }
        i += 1;
    }
    v
}

const fn pack_fingerprints() -> [u64; PACKED_LEN] {
    let mut out = [0u64; PACKED_LEN];
    let mut i = 0;
    while i < PACKED_LEN {
        out[i] = pack(FINGERPRINTS[i]);
        i += 1;
    }
    out
}

/// One pass over the input: its tokens, folded, and the resulting fingerprint.
struct Pass<'a> {
    s: &'a [u8],
    tokens: [Token; 8],
    fp: [u8; 8],
    fp_len: usize,
    stats_tokens: u32,
    comment_ddx: u32,
    comment_hash: u32,
}

/// Three tokens that fold into their first: `1 + 1`, `+ x -` (operators around anything but a
/// paren), `and x or`, `@a = 1`, `a * b`, `x::type`, `a, b`.
fn folds_to_first(a: &Token, b: &Token, c: &Token) -> bool {
    let (ak, bk, ck) = (a.kind, b.kind, c.kind);
    (ak == T_NUMBER && bk == T_OPERATOR && ck == T_NUMBER)
        || (ak == T_OPERATOR && bk != T_LEFTPARENS && ck == T_OPERATOR)
        || (ak == T_LOGIC_OPERATOR && ck == T_LOGIC_OPERATOR)
        || (ak == T_VARIABLE
            && bk == T_OPERATOR
            && matches!(ck, T_VARIABLE | T_NUMBER | T_BAREWORD))
        || (matches!(ak, T_BAREWORD | T_NUMBER)
            && bk == T_OPERATOR
            && matches!(ck, T_NUMBER | T_BAREWORD))
        || (matches!(ak, T_BAREWORD | T_NUMBER | T_VARIABLE | T_STRING)
            && bk == T_OPERATOR
            && b.val() == b"::"
            && ck == T_SQLTYPE)
        || (matches!(ak, T_BAREWORD | T_NUMBER | T_STRING | T_VARIABLE)
            && bk == T_COMMA
            && matches!(ck, T_NUMBER | T_BAREWORD | T_STRING | T_VARIABLE))
}

impl<'a> Pass<'a> {
    /// Tokenizes and folds `s` in `mode`, and computes the fingerprint.
    fn run(s: &'a [u8], mode: Mode) -> Self {
        let mut p = Pass {
            s,
            tokens: [Token::EMPTY; 8],
            fp: [0; 8],
            fp_len: 0,
            stats_tokens: 0,
            comment_ddx: 0,
            comment_hash: 0,
        };
        let mut tz = Tokenizer::new(s, mode);
        let n = p.fold(&mut tz);
        p.stats_tokens = tz.stats_tokens;
        p.comment_ddx = tz.stats_comment_ddx;
        p.comment_hash = tz.stats_comment_hash;

        // PHP's backtick comment: a trailing, empty, unclosed backtick word is a comment.
        if n > 2 {
            let last = &mut p.tokens[n - 1];
            if last.kind == T_BAREWORD
                && last.str_open == b'`'
                && last.len == 0
                && last.str_close == 0
            {
                last.kind = T_COMMENT;
            }
        }
        for i in 0..n {
            p.fp[i] = p.tokens[i].kind;
        }
        p.fp_len = n;
        // Unparsable input (nested or MySQL conditional comments): the fingerprint is just `X`.
        // (libinjection also resets the tokens, but nothing looks at the tokens of a one-token
        // fingerprint.)
        if p.fp[..n].contains(&T_EVIL) {
            p.fp = [0; 8];
            p.fp[0] = T_EVIL;
            p.fp_len = 1;
        }
        p
    }

    fn fingerprint(&self) -> &[u8] {
        &self.fp[..self.fp_len]
    }

    /// Reads the next token into slot `pos`; comments are remembered, not kept.
    /// Returns (more tokens?, new pos).
    fn read(
        &mut self,
        tz: &mut Tokenizer<'_>,
        pos: usize,
        last_comment: &mut Option<Token>,
    ) -> (bool, usize) {
        let more = tz.next_token(&mut self.tokens[pos]);
        if !more {
            return (false, pos);
        }
        if self.tokens[pos].kind == T_COMMENT {
            *last_comment = Some(self.tokens[pos]);
            (true, pos)
        } else {
            *last_comment = None;
            (true, pos + 1)
        }
    }

    /// libinjection's folding: merges and drops tokens so that equivalent SQL gives the same
    /// fingerprint. Returns the number of tokens kept (at most 5).
    fn fold(&mut self, tz: &mut Tokenizer<'_>) -> usize {
        let mut last_comment: Option<Token> = None;
        let mut pos = 0usize; // where the next token goes
        let mut left = 0usize; // tokens already final

        // Skip leading comments, left parens, SQL types and unary operators.
        let mut more = true;
        while more {
            more = tz.next_token(&mut self.tokens[0]);
            let t = &self.tokens[0];
            if !(t.kind == T_COMMENT
                || t.kind == T_LEFTPARENS
                || t.kind == T_SQLTYPE
                || t.is_unary_op())
            {
                break;
            }
        }
        if !more {
            return 0;
        }
        pos += 1;

        loop {
            if pos >= MAX_TOKENS && self.five_token_special() {
                if pos > MAX_TOKENS {
                    self.tokens[1] = self.tokens[MAX_TOKENS];
                    pos = 2;
                } else {
                    pos = 1;
                }
                left = 0;
            }
            if !more || left >= MAX_TOKENS {
                left = pos;
                break;
            }

            // Two tokens.
            while more && pos <= MAX_TOKENS && pos - left < 2 {
                (more, pos) = self.read(tz, pos, &mut last_comment);
            }
            if pos - left < 2 {
                left = pos;
                continue;
            }
            let (a, b) = (self.tokens[left], self.tokens[left + 1]);
            if (a.kind == T_STRING && b.kind == T_STRING)
                || (a.kind == T_SEMICOLON && b.kind == T_SEMICOLON)
            {
                // "foo" "bar" is one string; repeated semicolons are one.
                pos -= 1;
                continue;
            } else if (a.kind == T_OPERATOR || a.kind == T_LOGIC_OPERATOR)
                && (b.is_unary_op() || b.kind == T_SQLTYPE)
            {
                pos -= 1;
                left = 0;
                continue;
            } else if (a.kind == T_LEFTPARENS && b.is_unary_op()) || self.merge_words(left) {
                // `( -` is `(`; and two words that make a known phrase are one token.
                pos -= 1;
                left = left.saturating_sub(1);
                continue;
            } else if a.kind == T_SEMICOLON
                && b.kind == T_FUNCTION
                && matches!(b.val[0], b'I' | b'i')
                && matches!(b.val[1], b'F' | b'f')
            {
                // `; IF` is Transact-SQL control flow, not the IF() function.
                self.tokens[left + 1].kind = T_TSQL;
                continue;
            } else if (a.kind == T_BAREWORD || a.kind == T_VARIABLE)
                && b.kind == T_LEFTPARENS
                && [
                    &b"USER_ID"[..],
                    b"USER_NAME",
                    b"DATABASE",
                    b"PASSWORD",
                    b"USER",
                    b"CURRENT_USER",
                    b"CURRENT_DATE",
                    b"CURRENT_TIME",
                    b"CURRENT_TIMESTAMP",
                    b"LOCALTIME",
                    b"LOCALTIMESTAMP",
                ]
                .iter()
                .any(|w| upper_eq(w, a.val()))
            {
                // Words that are column names as often as functions: functions before `(`.
                self.tokens[left].kind = T_FUNCTION;
                continue;
            } else if a.kind == T_KEYWORD
                && (upper_eq(b"IN", a.val()) || upper_eq(b"NOT IN", a.val()))
            {
                // `IN (` is an operator; `IN` alone (as in `IN BOOLEAN MODE`) a word.
                self.tokens[left].kind = if b.kind == T_LEFTPARENS {
                    T_OPERATOR
                } else {
                    T_BAREWORD
                };
                continue;
            } else if a.kind == T_OPERATOR
                && (upper_eq(b"LIKE", a.val()) || upper_eq(b"NOT LIKE", a.val()))
            {
                if b.kind == T_LEFTPARENS {
                    // `LIKE(` is a function.
                    self.tokens[left].kind = T_FUNCTION;
                }
            } else if a.kind == T_SQLTYPE
                && matches!(
                    b.kind,
                    T_BAREWORD
                        | T_NUMBER
                        | T_SQLTYPE
                        | T_LEFTPARENS
                        | T_FUNCTION
                        | T_VARIABLE
                        | T_STRING
                )
            {
                self.tokens[left] = b;
                pos -= 1;
                left = 0;
                continue;
            } else if a.kind == T_COLLATE && b.kind == T_BAREWORD {
                // Collation names with `_` are types (C looks only before a NUL).
                let v = b.val();
                let v = &v[..v.iter().position(|&c| c == 0).unwrap_or(v.len())];
                if v.contains(&b'_') {
                    self.tokens[left + 1].kind = T_SQLTYPE;
                    left = 0;
                }
            } else if a.kind == T_BACKSLASH {
                if b.is_arithmetic_op() {
                    // T-SQL reads `\%1` as `0 % 1`.
                    self.tokens[left].kind = T_NUMBER;
                } else {
                    // ... and `\1` as `1`.
                    self.tokens[left] = b;
                    pos -= 1;
                }
                left = 0;
                continue;
            } else if (a.kind == T_LEFTPARENS && b.kind == T_LEFTPARENS)
                || (a.kind == T_RIGHTPARENS && b.kind == T_RIGHTPARENS)
            {
                pos -= 1;
                left = 0;
                continue;
            } else if a.kind == T_LEFTBRACE && b.kind == T_BAREWORD {
                // ODBC / MySQL `{foo expr}` is `expr`; `{ ``` is blacklisted outright.
                if b.len == 0 {
                    self.tokens[left + 1].kind = T_EVIL;
                    return left + 2;
                }
                left = 0;
                pos -= 2;
                continue;
            } else if b.kind == T_RIGHTBRACE {
                pos -= 1;
                left = 0;
                continue;
            }

            // Three tokens.
            while more && pos <= MAX_TOKENS && pos - left < 3 {
                (more, pos) = self.read(tz, pos, &mut last_comment);
            }
            if pos - left < 3 {
                left = pos;
                continue;
            }
            let (a, b, c) = (
                self.tokens[left],
                self.tokens[left + 1],
                self.tokens[left + 2],
            );
            let (ak, bk, ck) = (a.kind, b.kind, c.kind);
            if folds_to_first(&a, &b, &c) {
                pos -= 2;
                left = 0;
                continue;
            } else if matches!(ak, T_EXPRESSION | T_GROUP | T_COMMA)
                && b.is_unary_op()
                && ck == T_LEFTPARENS
            {
                // `SELECT + (`: drop the unary operator.
                self.tokens[left + 1] = c;
                pos -= 1;
                left = 0;
                continue;
            } else if matches!(ak, T_KEYWORD | T_EXPRESSION | T_GROUP)
                && b.is_unary_op()
                && matches!(
                    ck,
                    T_NUMBER | T_BAREWORD | T_VARIABLE | T_STRING | T_FUNCTION
                )
            {
                // `SELECT - 1`
                self.tokens[left + 1] = c;
                pos -= 1;
                left = 0;
                continue;
            } else if ak == T_COMMA
                && b.is_unary_op()
                && matches!(ck, T_NUMBER | T_BAREWORD | T_VARIABLE | T_STRING)
            {
                // `, -1` is `,1`, and back up a token to fold `1,1`.
                self.tokens[left + 1] = c;
                left = 0;
                pos -= 3;
                continue;
            } else if ak == T_COMMA && b.is_unary_op() && ck == T_FUNCTION {
                self.tokens[left + 1] = c;
                pos -= 1;
                left = 0;
                continue;
            } else if ak == T_BAREWORD && bk == T_DOT && ck == T_BAREWORD {
                // `db.table`
                pos -= 2;
                left = 0;
                continue;
            } else if ak == T_EXPRESSION && bk == T_DOT && ck == T_BAREWORD {
                // `SELECT . foo` is `SELECT foo`.
                self.tokens[left + 1] = c;
                pos -= 1;
                left = 0;
                continue;
            } else if ak == T_FUNCTION && bk == T_LEFTPARENS && ck != T_RIGHTPARENS {
                // `USER()` takes no arguments: `USER(foo)` is not the function.
                if upper_eq(b"USER", a.val()) {
                    self.tokens[left].kind = T_BAREWORD;
                }
            }
            left += 1;
        }

        // A trailing comment counts as a token when there is room for it.
        if left < MAX_TOKENS {
            if let Some(c) = last_comment {
                self.tokens[left] = c;
                left += 1;
            }
        }
        left.min(MAX_TOKENS)
    }

    /// The 5-token shapes libinjection collapses to keep reading (`1,(1)`, `n-(1)`, ...).
    fn five_token_special(&self) -> bool {
        let k = |i: usize| self.tokens[i].kind;
        (k(0) == T_NUMBER
            && (k(1) == T_OPERATOR || k(1) == T_COMMA)
            && k(2) == T_LEFTPARENS
            && k(3) == T_NUMBER
            && k(4) == T_RIGHTPARENS)
            || (k(0) == T_BAREWORD
                && k(1) == T_OPERATOR
                && k(2) == T_LEFTPARENS
                && (k(3) == T_BAREWORD || k(3) == T_NUMBER)
                && k(4) == T_RIGHTPARENS)
            || (k(0) == T_NUMBER
                && k(1) == T_RIGHTPARENS
                && k(2) == T_COMMA
                && k(3) == T_LEFTPARENS
                && k(4) == T_NUMBER)
            || (k(0) == T_BAREWORD
                && k(1) == T_RIGHTPARENS
                && k(2) == T_OPERATOR
                && k(3) == T_LEFTPARENS
                && k(4) == T_BAREWORD)
    }

    /// Merges two words into a known phrase (`UNION` + `ALL` → `UNION ALL`).
    fn merge_words(&mut self, left: usize) -> bool {
        let (a, b) = (&self.tokens[left], &self.tokens[left + 1]);
        let word_like = |k: u8| {
            matches!(
                k,
                T_KEYWORD
                    | T_BAREWORD
                    | T_OPERATOR
                    | T_UNION
                    | T_FUNCTION
                    | T_EXPRESSION
                    | T_TSQL
                    | T_SQLTYPE
            )
        };
        if !word_like(a.kind) || !(word_like(b.kind) || b.kind == T_LOGIC_OPERATOR) {
            return false;
        }
        let (n1, n2) = (a.len as usize, b.len as usize);
        let n = n1 + n2 + 1;
        if n >= VAL_SIZE {
            return false;
        }
        let mut buf = [0u8; VAL_SIZE];
        buf[..n1].copy_from_slice(a.val());
        buf[n1] = b' ';
        buf[n1 + 1..n].copy_from_slice(b.val());
        match lookup_word(&buf[..n]) {
            Some(kind) => {
                let t = &mut self.tokens[left];
                t.kind = kind;
                t.len = n as u8;
                t.val[..n].copy_from_slice(&buf[..n]);
                t.val[n] = 0;
                true
            }
            None => false,
        }
    }

    /// Is the fingerprint in libinjection's blacklist?
    fn blacklisted(&self) -> bool {
        let fp = self.fingerprint();
        if fp.is_empty() {
            return false;
        }
        let mut up = [0u8; 8];
        for (d, s) in up.iter_mut().zip(fp) {
            *d = s.to_ascii_uppercase();
        }
        PACKED.binary_search(&pack(&up[..fp.len()])).is_ok()
    }

    /// libinjection's false-positive filter for blacklisted fingerprints: true if SQLi after all.
    fn not_whitelisted(&self) -> bool {
        let fp = self.fingerprint();
        let t = &self.tokens;
        // Bytes past the end read as the NUL that terminates ModSecurity's strings.
        let at = |i: usize| self.s.get(i).copied().unwrap_or(0);

        // MS SQL's audit log skips statements mentioning sp_password.
        if fp.len() > 1
            && fp[fp.len() - 1] == T_COMMENT
            && memchr::memmem::find(self.s, b"sp_password").is_some()
        {
            return true;
        }
        match fp.len() {
            2 => {
                if fp[1] == T_UNION {
                    // `1 union` alone is common text; with folding or comments it is not.
                    return self.stats_tokens != 2;
                }
                if t[1].val[0] == b'#' {
                    return false;
                }
                if t[0].kind == T_BAREWORD && t[1].kind == T_COMMENT && t[1].val[0] != b'/' {
                    return false;
                }
                if t[0].kind == T_NUMBER && t[1].kind == T_COMMENT && t[1].val[0] == b'/' {
                    return true;
                }
                if t[0].kind == T_NUMBER && t[1].kind == T_COMMENT {
                    if self.stats_tokens > 2 {
                        return true;
                    }
                    // `1234 --` and `1234/*` are SQLi, base64-ish `1234-ABCD--` is not. C
                    // indexes the input by the number's length, whatever its position.
                    let n = t[0].len as usize;
                    let c = at(n);
                    // (C's char is signed: bytes from 0x80 count as white space too.)
                    return c <= 32
                        || c >= 0x80
                        || (c == b'/' && at(n + 1) == b'*')
                        || (c == b'-' && at(n + 1) == b'-');
                }
                // Text ending in `--` is SQLi only when nothing follows the dashes.
                if t[1].len > 2 && t[1].val[0] == b'-' {
                    return false;
                }
                true
            }
            3 => {
                if fp == b"sos" || fp == b"s&s" {
                    // `...foo' + 'bar...`: unopened and unclosed strings around an operator.
                    return t[0].str_open == 0
                        && t[2].str_close == 0
                        && t[0].str_close == t[2].str_open;
                }
                if matches!(fp, b"s&n" | b"n&1" | b"1&1" | b"1&v" | b"1&s") {
                    // 'sexy and 17' is not SQLi; 'sexy and 17<18' is.
                    return self.stats_tokens != 3;
                }
                if t[1].kind == T_KEYWORD {
                    // Only MySQL's `INTO OUTFILE` / `INTO DUMPFILE` (any case).
                    return t[1].len >= 5 && t[1].val[..4].eq_ignore_ascii_case(b"INTO");
                }
                true
            }
            _ => true,
        }
    }

    fn is_sqli(&self) -> bool {
        self.blacklisted() && self.not_whitelisted()
    }

    /// The ANSI pass saw a `#` or a `--x` comment: MySQL reads those differently.
    fn reparse_as_mysql(&self) -> bool {
        self.comment_ddx != 0 || self.comment_hash != 0
    }
}

/// libinjection's `libinjection_sqli`: the fingerprint when `s` looks like SQL injection.
pub fn detect(s: &[u8]) -> Option<Fingerprint> {
    // (one token: its fingerprint, one letter, is not SQLi; a JSON body's ~40,000 argument
    // names were a tenth of its time here)
    if rules_out(s) {
        return None;
    }
    detect_tokens(s)
}

/// Whether [`detect`] is sure to find no SQLi in `s` without tokenizing it: the empty value,
/// one word.
pub(super) fn rules_out(s: &[u8]) -> bool {
    s.is_empty() || one_word(s)
}

/// [`rules_out`] of `s`, whose bytes are `bytes` ([`super::sqli_tokenizer::one_word_of`]).
pub(super) fn rules_out_of(s: &[u8], bytes: &crate::regex::ByteSet) -> bool {
    s.is_empty() || super::sqli_tokenizer::one_word_of(s, bytes)
}

/// [`detect`] of a value not all one word: the passes of the tokenizer and the fingerprint.
pub(super) fn detect_tokens(s: &[u8]) -> Option<Fingerprint> {
    let found = |p: &Pass<'_>| {
        p.is_sqli().then(|| {
            let mut f = [0u8; 8];
            f[..p.fp_len].copy_from_slice(p.fingerprint());
            Fingerprint(f)
        })
    };
    let ansi = |quote| Mode {
        quote,
        mysql: false,
    };
    let mysql = |quote| Mode { quote, mysql: true };

    for quote in [0, b'\''] {
        if quote != 0 && memchr::memchr(quote, s).is_none() {
            continue;
        }
        let p = Pass::run(s, ansi(quote));
        if let Some(f) = found(&p) {
            return Some(f);
        }
        if p.reparse_as_mysql() {
            if let Some(f) = found(&Pass::run(s, mysql(quote))) {
                return Some(f);
            }
        }
    }
    if memchr::memchr(b'"', s).is_some() {
        // The double-quote context is only tried in MySQL mode.
        return found(&Pass::run(s, mysql(b'"')));
    }
    None
}
