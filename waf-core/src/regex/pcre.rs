//! A parser for PCRE2 patterns as libmodsecurity compiles them (8-bit code units, no UTF, options
//! `DOTALL|MULTILINE`), into a small syntax tree that [`super::emit`] writes back as the syntax
//! of regex-syntax or of fancy-regex.
//!
//! The parser knows PCRE2 10.44's rules (the version statically linked into libmodsecurity
//! 3.0.15's PyPI build) for the places where PCRE and Rust's regex syntaxes disagree: a `{`
//! that is not a quantifier is a literal (and `{,n}` and `{ n }` are quantifiers, new in
//! 10.43), `[` inside a class is a literal, `\<` is a literal `<`, `\x{HH}` is a byte, `\v` and
//! `\h` are classes, `\1` is a back reference or an octal escape depending on how many groups
//! came before, `\Q..\E` quotes, `(?#..)` is a comment, `(?x)` skips blanks and `#` comments.
//!
//! Errors come in two kinds: [`Error::Syntax`] for patterns PCRE2 itself refuses (libmodsecurity
//! loads such a rule and it never matches), and [`Error::Unsupported`] for valid PCRE that
//! Sekisho cannot run (recursion, callouts, `\p`, verbs...), which is a load error.

use std::fmt;

/// A set of bytes (what a value holds, for the tests that pass values by: opaque outside the
/// crate).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteSet([u64; 4]);

/// The bit of each byte in the first word of a [`ByteSet`] (0 for the bytes of the others),
const LOW_WORD_BIT: [u64; 256] = word_bits(0);
/// and in the second.
const HIGH_WORD_BIT: [u64; 256] = word_bits(1);

const fn word_bits(word: usize) -> [u64; 256] {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        if b >> 6 == word {
            t[b] = 1 << (b & 63);
        }
        b += 1;
    }
    t
}

impl ByteSet {
    pub(crate) const EMPTY: ByteSet = ByteSet([0; 4]);
    pub(crate) const ALL: ByteSet = ByteSet([u64::MAX; 4]);

    /// The bytes of `ranges` (each `a..=b`), or with `outside` the bytes of none of them: for
    /// sets built in constants.
    pub(crate) const fn of_ranges(ranges: &[(u8, u8)], outside: bool) -> ByteSet {
        let mut words = [0u64; 4];
        let mut c = 0;
        while c < 256 {
            let mut inside = false;
            let mut r = 0;
            while r < ranges.len() {
                inside |= ranges[r].0 as usize <= c && c <= ranges[r].1 as usize;
                r += 1;
            }
            if inside != outside {
                words[c / 64] |= 1 << (c % 64);
            }
            c += 1;
        }
        ByteSet(words)
    }

    pub(crate) fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    /// Inserts `a..=b` (nothing when `a > b`), a word at a time.
    pub(crate) fn insert_range(&mut self, a: u8, b: u8) {
        if a > b {
            return;
        }
        let (first, last) = (usize::from(a >> 6), usize::from(b >> 6));
        for w in first..=last {
            let lo = if w == first { a & 63 } else { 0 };
            let hi = if w == last { b & 63 } else { 63 };
            self.0[w] |= (u64::MAX >> (63 - hi)) & (u64::MAX << lo);
        }
    }

    /// How many bytes the set holds.
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub(crate) fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    pub(crate) fn union(self, o: ByteSet) -> ByteSet {
        let mut r = self;
        for i in 0..4 {
            r.0[i] |= o.0[i];
        }
        r
    }

    pub(crate) fn negate(self) -> ByteSet {
        let mut r = self;
        for w in &mut r.0 {
            *w = !*w;
        }
        r
    }

    /// The bytes of `self` that are not in `o`.
    pub(crate) fn intersect_not(&self, o: &ByteSet) -> ByteSet {
        let mut r = *self;
        for i in 0..4 {
            r.0[i] &= !o.0[i];
        }
        r
    }

    pub(crate) fn intersects(&self, o: &ByteSet) -> bool {
        (0..4).any(|i| self.0[i] & o.0[i] != 0)
    }

    /// The bytes for which `member` holds.
    pub(crate) fn from_fn(member: impl Fn(u8) -> bool) -> ByteSet {
        let mut set = ByteSet::EMPTY;
        for b in (0..=255u8).filter(|&b| member(b)) {
            set.insert(b);
        }
        set
    }

    /// Whether `value` holds one of the set's bytes.
    pub(crate) fn occurs_in(&self, value: &[u8]) -> bool {
        value.iter().any(|&b| self.contains(b))
    }

    /// The bytes of `value`.
    pub(crate) fn of(value: &[u8]) -> ByteSet {
        let mut set = ByteSet::default();
        set.add(value);
        set
    }

    /// Adds the bytes of `value` (the bytes of a whole variable's values, for
    /// [`super::RequiredBytes::meets`]).
    pub(crate) fn add(&mut self, value: &[u8]) {
        if value.len() < 32 {
            // a short ASCII value (most of a JSON body's are) sets the two low words, kept in
            // registers: the sets below, in memory, are read back wide right after their
            // byte-wise stores, which the processor cannot forward, a stall that a short
            // value's few bytes do not pay for (10% of a 1 MB JSON body's time was here)
            // (each byte's bits read from tables: the shifts of a computed bit were vectorised
            // into SSE2's two-lane shifts, ~15 instructions a byte)
            let (mut low, mut high, mut all) = (0u64, 0u64, 0u8);
            for &b in value {
                low |= LOW_WORD_BIT[usize::from(b)];
                high |= HIGH_WORD_BIT[usize::from(b)];
                all |= b;
            }
            if all < 0x80 {
                self.0[0] |= low;
                self.0[1] |= high;
                return;
            }
        }
        if value.len() < 512 {
            // four sets, one per byte of each group of four, merged at the end: a byte's bit
            // is set in memory, and consecutive bytes in one word waited on each other (1.4x
            // the time on cookie-like values)
            let mut sets = [[0u64; 4]; 4];
            let mut groups = value.chunks_exact(4);
            for group in &mut groups {
                for (set, &b) in sets.iter_mut().zip(group) {
                    set[usize::from(b >> 6)] |= 1 << (b & 63);
                }
            }
            for &b in groups.remainder() {
                self.insert(b);
            }
            for set in &sets {
                for (w, s) in self.0.iter_mut().zip(set) {
                    *w |= s;
                }
            }
            return;
        }
        // on a long value a table store per byte is cheaper than setting bits one by one; a
        // binary one (an upload's body) holds every byte within a few kilobytes, and the rest
        // of it can add nothing
        for chunk in value.chunks(4096) {
            let mut seen = [false; 256];
            for &b in chunk {
                seen[usize::from(b)] = true;
            }
            for (i, &s) in seen.iter().enumerate() {
                self.0[i >> 6] |= u64::from(s) << (i & 63);
            }
            if self.0 == [u64::MAX; 4] {
                return;
            }
        }
    }

    /// The set with ASCII letters in both cases.
    pub(crate) fn case_fold(self) -> ByteSet {
        // `A`..`Z` are bits 1..=26 of the second word, `a`..`z` bits 33..=58
        const LETTERS: u64 = (1 << 26) - 1;
        let mut r = self;
        let either = ((self.0[1] >> 1) | (self.0[1] >> 33)) & LETTERS;
        r.0[1] |= (either << 1) | (either << 33);
        r
    }

    /// The set with its capitals made small letters (what `t:lowercase` makes of a value of
    /// these bytes).
    pub(crate) fn to_ascii_lowercase(self) -> ByteSet {
        const CAPITALS: u64 = ((1 << 26) - 1) << 1;
        let mut r = self;
        r.0[1] = (self.0[1] & !CAPITALS) | ((self.0[1] & CAPITALS) << 32);
        r
    }

    /// The set with its small letters made capitals (`t:uppercase`).
    pub(crate) fn to_ascii_uppercase(self) -> ByteSet {
        const SMALL: u64 = ((1 << 26) - 1) << 33;
        let mut r = self;
        r.0[1] = (self.0[1] & !SMALL) | ((self.0[1] & SMALL) >> 32);
        r
    }

    /// The set as inclusive ranges, in order (found a run at a time from the words' bits:
    /// a class is turned into ranges for each of the thousands of `\w`, `[^...]`... in CRS).
    pub(crate) fn ranges(&self) -> Vec<(u8, u8)> {
        let mut out = Vec::new();
        let mut b = 0usize;
        while b < 256 {
            // the next member at or after `b`
            let word = self.0[b / 64] >> (b % 64);
            if word == 0 {
                b = (b / 64 + 1) * 64;
                continue;
            }
            let start = b + word.trailing_zeros() as usize;
            // the first non-member after `start`
            let mut end = start;
            loop {
                let w = !self.0[end / 64] >> (end % 64);
                if w != 0 {
                    end += w.trailing_zeros() as usize;
                    break;
                }
                end = (end / 64 + 1) * 64;
                if end >= 256 {
                    end = 256;
                    break;
                }
            }
            out.push((start as u8, (end - 1) as u8));
            b = end;
        }
        out
    }

    fn from_ranges(ranges: &[(u8, u8)]) -> ByteSet {
        let mut s = ByteSet::EMPTY;
        for &(a, b) in ranges {
            s.insert_range(a, b);
        }
        s
    }
}

impl fmt::Debug for ByteSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ByteSet{:?}", self.ranges())
    }
}

/// Why a pattern cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// PCRE2 refuses the pattern too (libmodsecurity loads the rule; it never matches).
    Syntax { offset: usize, message: String },
    /// Valid PCRE2 that Sekisho cannot run.
    Unsupported { offset: usize, message: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax { offset, message } => {
                write!(f, "invalid PCRE pattern at offset {offset}: {message}")
            }
            Error::Unsupported { offset, message } => {
                write!(
                    f,
                    "unsupported PCRE construct at offset {offset}: {message}"
                )
            }
        }
    }
}

type Result<T> = std::result::Result<T, Error>;

/// `\d`, `\w`, `\s` (ASCII, as PCRE2's default "C" tables define them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Perl {
    Digit,
    Word,
    Space,
}

impl Perl {
    pub(crate) fn set(self) -> ByteSet {
        match self {
            Perl::Digit => ByteSet::from_ranges(&[(b'0', b'9')]),
            Perl::Word => {
                ByteSet::from_ranges(&[(b'0', b'9'), (b'A', b'Z'), (b'a', b'z'), (b'_', b'_')])
            }
            Perl::Space => ByteSet::from_ranges(&[(b'\t', b'\r'), (b' ', b' ')]),
        }
    }
}

/// One member of a character class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClassItem {
    Range(u8, u8),
    Perl {
        kind: Perl,
        negated: bool,
    },
    /// `\h`, `\v`, `[:alpha:]`...: an explicit set.
    Set {
        set: ByteSet,
        negated: bool,
    },
}

impl ClassItem {
    fn set(&self) -> ByteSet {
        match self {
            ClassItem::Range(a, b) => ByteSet::from_ranges(&[(*a, *b)]),
            ClassItem::Perl { kind, negated } => {
                if *negated {
                    kind.set().negate()
                } else {
                    kind.set()
                }
            }
            ClassItem::Set { set, negated } => {
                if *negated {
                    set.negate()
                } else {
                    *set
                }
            }
        }
    }
}

/// A bracketed class, or a class escape used alone (`\d`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Class {
    pub(crate) negated: bool,
    pub(crate) items: Vec<ClassItem>,
    pub(crate) caseless: bool,
}

impl Class {
    /// The bytes the class matches.
    pub(crate) fn set(&self) -> ByteSet {
        let mut s = self
            .items
            .iter()
            .fold(ByteSet::EMPTY, |acc, i| acc.union(i.set()));
        if self.caseless {
            s = s.case_fold();
        }
        if self.negated {
            s.negate()
        } else {
            s
        }
    }
}

/// Zero-width assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Look {
    /// `^`: with multiline, PCRE matches at the start and after an internal newline (not after
    /// a newline that ends the subject).
    LineStart {
        multiline: bool,
    },
    /// `$`: with multiline, before any newline and at the end; without, at the end or before a
    /// final newline.
    LineEnd {
        multiline: bool,
    },
    WordBoundary,
    NotWordBoundary,
    /// `\A` (and `\G`, the same for a search from offset 0).
    TextStart,
    /// `\z`
    TextEnd,
    /// `\Z`: the end, or before a final newline.
    TextEndNewline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GroupKind {
    Capture(usize),
    NonCapture,
    Atomic,
    Lookahead { negated: bool },
    Lookbehind { negated: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    pub(crate) kind: GroupKind,
    pub(crate) node: Node,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repeat {
    pub(crate) node: Node,
    pub(crate) min: u32,
    pub(crate) max: Option<u32>,
    pub(crate) greedy: bool,
    pub(crate) possessive: bool,
}

/// The syntax tree. Flags are resolved while parsing: every node carries what it needs (a
/// caseless literal, a dot that does or does not match newline...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Empty,
    Byte {
        byte: u8,
        caseless: bool,
    },
    Class(Box<Class>),
    /// `.`; `dotall` says whether it matches `\n`.
    Dot {
        dotall: bool,
    },
    Look(Look),
    Group(Box<Group>),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Repeat>),
    Backref {
        group: usize,
        caseless: bool,
    },
    /// `\R`: `(?>\r\n|\n|\x0b|\f|\r|\x85)`.
    NewlineSeq,
    /// `\K`
    KeepOut,
    /// `(*FAIL)`
    Fail,
}

/// A parsed pattern.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub(crate) node: Node,
    /// Capture groups, not counting group 0.
    pub(crate) groups: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flags {
    caseless: bool,
    multiline: bool,
    dotall: bool,
    extended: bool,
    extended_more: bool,
    no_auto_capture: bool,
    ungreedy: bool,
}

/// PCRE2's nesting limit for parentheses (`PARENS_NEST_LIMIT`).
const MAX_DEPTH: usize = 250;
/// PCRE2's largest quantifier number.
const MAX_REPEAT: u32 = 65535;

/// Parses `pattern` with libmodsecurity's options.
pub(crate) fn parse(pattern: &[u8]) -> Result<Parsed> {
    let mut p = Parser {
        p: pattern,
        pos: 0,
        flags: Flags {
            multiline: true,
            dotall: true,
            ..Flags::default()
        },
        groups: 0,
        names: Vec::new(),
        named_refs: Vec::new(),
        numbered_refs: Vec::new(),
        depth: 0,
    };
    let mut node = p.parse_alt()?;
    if p.pos < p.p.len() {
        // Only an unmatched ')' stops the top level.
        return Err(p.syntax("unmatched closing parenthesis"));
    }
    for &(offset, group) in &p.numbered_refs {
        if group == 0 || group > p.groups {
            return Err(Error::Syntax {
                offset,
                message: "reference to non-existent subpattern".into(),
            });
        }
    }
    if !p.named_refs.is_empty() {
        let names = std::mem::take(&mut p.names);
        resolve_names(&mut node, &names)?;
    }
    Ok(Parsed {
        node,
        groups: p.groups,
    })
}

/// Replaces the named back references (parsed as `Backref { group: usize::MAX - k }`, `k` an
/// index into the name list) by group numbers.
fn resolve_names(node: &mut Node, names: &[(Vec<u8>, usize, usize)]) -> Result<()> {
    match node {
        Node::Backref { group, .. } if *group >= usize::MAX / 2 => {
            let k = usize::MAX - *group;
            let (name, offset, _) = &names[k];
            match names.iter().find(|(n, _, g)| n == name && *g != usize::MAX) {
                Some((_, _, g)) => *group = *g,
                None => {
                    return Err(Error::Syntax {
                        offset: *offset,
                        message: format!(
                            "reference to non-existent subpattern '{}'",
                            String::from_utf8_lossy(name)
                        ),
                    })
                }
            }
        }
        Node::Group(g) => resolve_names(&mut g.node, names)?,
        Node::Repeat(r) => resolve_names(&mut r.node, names)?,
        Node::Concat(v) | Node::Alt(v) => {
            for n in v {
                resolve_names(n, names)?;
            }
        }
        _ => {}
    }
    Ok(())
}

struct Parser<'a> {
    p: &'a [u8],
    pos: usize,
    flags: Flags,
    /// Capture groups opened so far.
    groups: usize,
    /// Group names: (name, offset, group number); named references are entries with group
    /// number `usize::MAX`.
    names: Vec<(Vec<u8>, usize, usize)>,
    named_refs: Vec<usize>,
    /// Numbered back references: (offset, group), checked at the end.
    numbered_refs: Vec<(usize, usize)>,
    depth: usize,
}

enum Escape {
    Byte(u8),
    Class(ClassItem),
    Look(Look),
    Backref(usize),
    NamedBackref(Vec<u8>),
    /// `\Q`
    Quote,
    /// `\E` (alone: ignored)
    EndQuote,
    KeepOut,
    NewlineSeq,
    /// `\C`: one code unit, any byte.
    AnyByte,
    /// `\N`: any byte but newline.
    NotNewline,
}

fn is_octal(b: u8) -> bool {
    (b'0'..=b'7').contains(&b)
}

fn hex_value(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.p.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.p.get(self.pos + k).copied()
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.p[self.pos..].starts_with(s)
    }

    fn syntax(&self, message: &str) -> Error {
        Error::Syntax {
            offset: self.pos,
            message: message.to_string(),
        }
    }

    fn unsupported(&self, message: &str) -> Error {
        Error::Unsupported {
            offset: self.pos,
            message: message.to_string(),
        }
    }

    /// Skips what PCRE ignores between items: blanks and `#` comments in extended mode,
    /// `(?#...)` comments, and empty `\E` / `\Q\E`.
    fn skip_ignorable(&mut self) -> Result<()> {
        loop {
            let before = self.pos;
            if self.flags.extended {
                while let Some(b) = self.peek() {
                    if matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x85) {
                        self.pos += 1;
                    } else if b == b'#' {
                        while let Some(c) = self.peek() {
                            self.pos += 1;
                            if c == b'\n' {
                                break;
                            }
                        }
                    } else {
                        break;
                    }
                }
            }
            if self.starts_with(b"(?#") {
                match self.p[self.pos..].iter().position(|&b| b == b')') {
                    Some(i) => self.pos += i + 1,
                    None => return Err(self.syntax("missing ) after (?# comment")),
                }
            } else if self.starts_with(b"\\E") {
                self.pos += 2;
            } else if self.starts_with(b"\\Q\\E") {
                self.pos += 4;
            }
            if self.pos == before {
                return Ok(());
            }
        }
    }

    fn parse_alt(&mut self) -> Result<Node> {
        let mut branches = vec![self.parse_concat()?];
        while self.peek() == Some(b'|') {
            self.pos += 1;
            branches.push(self.parse_concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn parse_concat(&mut self) -> Result<Node> {
        let mut items: Vec<Node> = Vec::new();
        loop {
            self.skip_ignorable()?;
            match self.peek() {
                None | Some(b'|') | Some(b')') => break,
                _ => {}
            }
            if self.starts_with(b"\\Q") {
                self.pos += 2;
                let mut lits = Vec::new();
                while self.pos < self.p.len() && !self.starts_with(b"\\E") {
                    lits.push(self.p[self.pos]);
                    self.pos += 1;
                }
                if self.starts_with(b"\\E") {
                    self.pos += 2;
                }
                let caseless = self.flags.caseless;
                let Some(last) = lits.pop() else { continue };
                items.extend(lits.into_iter().map(|byte| Node::Byte { byte, caseless }));
                let atom = Node::Byte {
                    byte: last,
                    caseless,
                };
                let atom = self.parse_quantifier(atom)?;
                items.push(atom);
                continue;
            }
            let start = self.pos;
            let atom = self.parse_atom()?;
            let Some(atom) = atom else { continue };
            let repeatable = !matches!(atom, Node::Look(_) | Node::Empty | Node::KeepOut);
            self.skip_ignorable()?;
            if self.at_quantifier()? {
                if !repeatable {
                    self.pos = start;
                    return Err(self.syntax("quantifier does not follow a repeatable item"));
                }
                let atom = self.parse_quantifier(atom)?;
                items.push(atom);
            } else {
                items.push(atom);
            }
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// Whether a quantifier starts here.
    fn at_quantifier(&self) -> Result<bool> {
        Ok(match self.peek() {
            Some(b'*' | b'+' | b'?') => true,
            Some(b'{') => self.counted_repeat()?.is_some(),
            _ => false,
        })
    }

    /// Reads `{n}`, `{n,}`, `{n,m}`, `{,m}` (blanks allowed around numbers, PCRE2 ≥ 10.43)
    /// at the current position without moving; `None` if the `{` is a literal.
    fn counted_repeat(&self) -> Result<Option<(u32, Option<u32>, usize)>> {
        let s = &self.p[self.pos..];
        debug_assert_eq!(s.first(), Some(&b'{'));
        let mut i = 1;
        let skip_blanks = |i: &mut usize| {
            while matches!(s.get(*i), Some(b' ' | b'\t')) {
                *i += 1;
            }
        };
        let read_num = |i: &mut usize| -> Option<u64> {
            let start = *i;
            let mut v: u64 = 0;
            while let Some(d) = s.get(*i).filter(|b| b.is_ascii_digit()) {
                v = (v * 10 + u64::from(d - b'0')).min(u64::from(u32::MAX));
                *i += 1;
            }
            (*i > start).then_some(v)
        };
        skip_blanks(&mut i);
        let min = read_num(&mut i);
        skip_blanks(&mut i);
        let (min, max) = match s.get(i) {
            Some(b'}') => match min {
                Some(m) => (m, Some(m)),
                None => return Ok(None),
            },
            Some(b',') => {
                i += 1;
                skip_blanks(&mut i);
                let max = read_num(&mut i);
                skip_blanks(&mut i);
                if s.get(i) != Some(&b'}') || (min.is_none() && max.is_none()) {
                    return Ok(None);
                }
                (min.unwrap_or(0), max)
            }
            _ => return Ok(None),
        };
        let too_big = |v: u64| v > u64::from(MAX_REPEAT);
        if too_big(min) || max.is_some_and(too_big) {
            return Err(self.syntax("number too big in {} quantifier"));
        }
        if max.is_some_and(|m| m < min) {
            return Err(self.syntax("numbers out of order in {} quantifier"));
        }
        Ok(Some((min as u32, max.map(|m| m as u32), i + 1)))
    }

    fn parse_quantifier(&mut self, atom: Node) -> Result<Node> {
        self.skip_ignorable()?;
        let (min, max) = match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                (0, None)
            }
            Some(b'+') => {
                self.pos += 1;
                (1, None)
            }
            Some(b'?') => {
                self.pos += 1;
                (0, Some(1))
            }
            Some(b'{') => match self.counted_repeat()? {
                Some((min, max, len)) => {
                    self.pos += len;
                    (min, max)
                }
                None => return Ok(atom),
            },
            _ => return Ok(atom),
        };
        let (mut greedy, mut possessive) = (true, false);
        match self.peek() {
            Some(b'?') => {
                self.pos += 1;
                greedy = false;
            }
            Some(b'+') => {
                self.pos += 1;
                possessive = true;
            }
            _ => {}
        }
        if self.flags.ungreedy && !possessive {
            greedy = !greedy;
        }
        // PCRE2 refuses a quantifier that follows a quantifier ("a**", "a{2}{3}").
        let after = self.pos;
        self.skip_ignorable()?;
        if self.at_quantifier()? {
            return Err(self.syntax("quantifier does not follow a repeatable item"));
        }
        self.pos = after;
        Ok(Node::Repeat(Box::new(Repeat {
            node: atom,
            min,
            max,
            greedy,
            possessive,
        })))
    }

    /// One item; `None` for things that are not items (inline flag settings are returned as
    /// `Some(Node::Empty)`... no: flags are applied and `None` is returned).
    fn parse_atom(&mut self) -> Result<Option<Node>> {
        let Some(b) = self.peek() else {
            return Ok(None);
        };
        match b {
            b'(' => {
                self.pos += 1;
                self.parse_group()
            }
            b'[' => {
                self.pos += 1;
                Ok(Some(Node::Class(Box::new(self.parse_class()?))))
            }
            b'\\' => self.parse_escape_atom().map(Some),
            b'.' => {
                self.pos += 1;
                Ok(Some(Node::Dot {
                    dotall: self.flags.dotall,
                }))
            }
            b'^' => {
                self.pos += 1;
                Ok(Some(Node::Look(Look::LineStart {
                    multiline: self.flags.multiline,
                })))
            }
            b'$' => {
                self.pos += 1;
                Ok(Some(Node::Look(Look::LineEnd {
                    multiline: self.flags.multiline,
                })))
            }
            b'*' | b'+' | b'?' => Err(self.syntax("quantifier does not follow a repeatable item")),
            b'{' if self.counted_repeat()?.is_some() => {
                Err(self.syntax("quantifier does not follow a repeatable item"))
            }
            _ => {
                self.pos += 1;
                Ok(Some(Node::Byte {
                    byte: b,
                    caseless: self.flags.caseless,
                }))
            }
        }
    }

    fn parse_escape_atom(&mut self) -> Result<Node> {
        let caseless = self.flags.caseless;
        Ok(match self.parse_escape(false)? {
            Escape::Byte(byte) => Node::Byte { byte, caseless },
            Escape::Class(item) => Node::Class(Box::new(Class {
                negated: false,
                items: vec![item],
                caseless,
            })),
            Escape::Look(l) => Node::Look(l),
            Escape::Backref(group) => Node::Backref { group, caseless },
            Escape::NamedBackref(name) => {
                let k = self.names.len();
                self.names.push((name, self.pos, usize::MAX));
                self.named_refs.push(k);
                Node::Backref {
                    group: usize::MAX - k,
                    caseless,
                }
            }
            Escape::KeepOut => Node::KeepOut,
            Escape::NewlineSeq => Node::NewlineSeq,
            Escape::AnyByte => Node::Dot { dotall: true },
            Escape::NotNewline => Node::Dot { dotall: false },
            // Handled by parse_concat / skip_ignorable.
            Escape::Quote | Escape::EndQuote => Node::Empty,
        })
    }

    /// Parses an escape; `self.pos` is at the backslash.
    fn parse_escape(&mut self, in_class: bool) -> Result<Escape> {
        let at = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            self.pos = at;
            return Err(self.syntax("\\ at end of pattern"));
        };
        self.pos += 1;
        let class = |kind, negated| Escape::Class(ClassItem::Perl { kind, negated });
        let set = |ranges: &[(u8, u8)], negated| {
            Escape::Class(ClassItem::Set {
                set: ByteSet::from_ranges(ranges),
                negated,
            })
        };
        const H: &[(u8, u8)] = &[(b'\t', b'\t'), (b' ', b' '), (0xa0, 0xa0)];
        const V: &[(u8, u8)] = &[(b'\n', b'\r'), (0x85, 0x85)];
        let e = match c {
            b'a' => Escape::Byte(0x07),
            b'e' => Escape::Byte(0x1b),
            b'f' => Escape::Byte(0x0c),
            b'n' => Escape::Byte(b'\n'),
            b'r' => Escape::Byte(b'\r'),
            b't' => Escape::Byte(b'\t'),
            b'd' => class(Perl::Digit, false),
            b'D' => class(Perl::Digit, true),
            b'w' => class(Perl::Word, false),
            b'W' => class(Perl::Word, true),
            b's' => class(Perl::Space, false),
            b'S' => class(Perl::Space, true),
            b'h' => set(H, false),
            b'H' => set(H, true),
            b'v' => set(V, false),
            b'V' => set(V, true),
            b'Q' => Escape::Quote,
            b'E' => Escape::EndQuote,
            b'b' if in_class => Escape::Byte(0x08),
            b'b' => Escape::Look(Look::WordBoundary),
            b'B' if !in_class => Escape::Look(Look::NotWordBoundary),
            b'A' if !in_class => Escape::Look(Look::TextStart),
            b'G' if !in_class => Escape::Look(Look::TextStart),
            b'z' if !in_class => Escape::Look(Look::TextEnd),
            b'Z' if !in_class => Escape::Look(Look::TextEndNewline),
            b'K' if !in_class => Escape::KeepOut,
            b'R' if !in_class => Escape::NewlineSeq,
            b'C' if !in_class => Escape::AnyByte,
            b'N' if !in_class => {
                if self.peek() == Some(b'{') {
                    self.pos = at;
                    return Err(self.syntax("\\N{name} is not supported"));
                }
                Escape::NotNewline
            }
            b'B' | b'A' | b'G' | b'z' | b'Z' | b'K' | b'R' | b'C' | b'N' => {
                self.pos = at;
                return Err(self.syntax("escape sequence is invalid in character class"));
            }
            b'p' | b'P' | b'X' => {
                self.pos = at;
                return Err(self.unsupported("Unicode property escapes (\\p, \\P, \\X)"));
            }
            b'c' => {
                let Some(x) = self.peek().filter(|x| (32..=126).contains(x)) else {
                    self.pos = at;
                    return Err(self.syntax("\\c must be followed by a printable ASCII character"));
                };
                self.pos += 1;
                Escape::Byte(x.to_ascii_uppercase() ^ 0x40)
            }
            b'x' => Escape::Byte(self.hex_escape(at)?),
            b'o' => Escape::Byte(self.octal_brace(at)?),
            b'0' => {
                let mut v: u32 = 0;
                for _ in 0..2 {
                    match self.peek().filter(|b| is_octal(*b)) {
                        Some(d) => {
                            v = v * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                Escape::Byte(v as u8)
            }
            b'1'..=b'9' if in_class => {
                if c >= b'8' {
                    // PCRE2: in a class, \8 and \9 are the literal digits.
                    Escape::Byte(c)
                } else {
                    self.pos -= 1;
                    Escape::Byte(self.octal_digits(at)?)
                }
            }
            b'1'..=b'9' => {
                self.pos -= 1;
                let start = self.pos;
                let mut n: usize = 0;
                while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
                    n = (n * 10 + usize::from(d - b'0')).min(1 << 20);
                    self.pos += 1;
                }
                if n < 10 || c >= b'8' || n <= self.groups {
                    if n > MAX_REPEAT as usize {
                        self.pos = at;
                        return Err(self.syntax("subpattern number is too big"));
                    }
                    self.numbered_refs.push((at, n));
                    Escape::Backref(n)
                } else {
                    self.pos = start;
                    Escape::Byte(self.octal_digits(at)?)
                }
            }
            b'g' if !in_class => self.g_escape(at)?,
            b'k' if !in_class => {
                let close = match self.peek() {
                    Some(b'<') => b'>',
                    Some(b'\'') => b'\'',
                    Some(b'{') => b'}',
                    _ => {
                        self.pos = at;
                        return Err(self.syntax("\\k is not followed by a name in <>, '' or {}"));
                    }
                };
                self.pos += 1;
                let name = self.read_name(close)?;
                Escape::NamedBackref(name)
            }
            c if c.is_ascii_alphanumeric() => {
                self.pos = at;
                return Err(self.syntax("unrecognized character follows \\"));
            }
            // Any other character (punctuation, `<`, `>`, a non-ASCII byte) is itself.
            c => Escape::Byte(c),
        };
        Ok(e)
    }

    /// Up to three octal digits (the first is at `self.pos`).
    fn octal_digits(&mut self, at: usize) -> Result<u8> {
        let mut v: u32 = 0;
        for _ in 0..3 {
            match self.peek().filter(|b| is_octal(*b)) {
                Some(d) => {
                    v = v * 8 + u32::from(d - b'0');
                    self.pos += 1;
                }
                None => break,
            }
        }
        if v > 255 {
            self.pos = at;
            return Err(self.syntax("octal value is greater than \\377 in 8-bit non-UTF mode"));
        }
        Ok(v as u8)
    }

    /// `\o{...}`; `self.pos` after the `o`.
    fn octal_brace(&mut self, at: usize) -> Result<u8> {
        if self.peek() != Some(b'{') {
            self.pos = at;
            return Err(self.syntax("missing opening brace after \\o"));
        }
        self.pos += 1;
        let mut v: u64 = 0;
        let mut n = 0;
        while let Some(d) = self.peek().filter(|b| is_octal(*b)) {
            v = (v * 8 + u64::from(d - b'0')).min(1 << 20);
            self.pos += 1;
            n += 1;
        }
        if n == 0 || self.peek() != Some(b'}') {
            self.pos = at;
            return Err(self.syntax("non-octal character in \\o{} (closing brace missing?)"));
        }
        self.pos += 1;
        if v > 255 {
            self.pos = at;
            return Err(self.syntax("character code point value in \\o{} is too large"));
        }
        Ok(v as u8)
    }

    /// `\xHH`, `\x{HH}`; `self.pos` after the `x`.
    fn hex_escape(&mut self, at: usize) -> Result<u8> {
        if self.peek() == Some(b'{') {
            self.pos += 1;
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.pos += 1;
            }
            let mut v: u64 = 0;
            let mut n = 0;
            while let Some(d) = self.peek().and_then(hex_value) {
                v = (v * 16 + u64::from(d)).min(1 << 24);
                self.pos += 1;
                n += 1;
            }
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.pos += 1;
            }
            if n == 0 || self.peek() != Some(b'}') {
                self.pos = at;
                return Err(self.syntax("non-hex character in \\x{} (closing brace missing?)"));
            }
            self.pos += 1;
            if v > 255 {
                self.pos = at;
                return Err(self.syntax("character code point value in \\x{} is too large"));
            }
            Ok(v as u8)
        } else {
            let mut v: u32 = 0;
            for _ in 0..2 {
                match self.peek().and_then(hex_value) {
                    Some(d) => {
                        v = v * 16 + d;
                        self.pos += 1;
                    }
                    None => break,
                }
            }
            Ok(v as u8)
        }
    }

    /// `\g{n}`, `\gn`, `\g{-n}`, `\g-n`, `\g{name}`; `self.pos` after the `g`.
    fn g_escape(&mut self, at: usize) -> Result<Escape> {
        match self.peek() {
            Some(b'<' | b'\'') => {
                self.pos = at;
                Err(self.unsupported("subroutine calls (\\g<...>)"))
            }
            Some(b'{') => {
                self.pos += 1;
                let save = self.pos;
                if let Some(n) = self.signed_number(at)? {
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return self.numbered_ref(n, at);
                    }
                }
                self.pos = save;
                let name = self.read_name(b'}')?;
                Ok(Escape::NamedBackref(name))
            }
            _ => match self.signed_number(at)? {
                Some(n) => self.numbered_ref(n, at),
                None => {
                    self.pos = at;
                    Err(self.syntax("a numbered reference must not be zero"))
                }
            },
        }
    }

    fn signed_number(&mut self, at: usize) -> Result<Option<(bool, bool, usize)>> {
        let (neg, pos) = match self.peek() {
            Some(b'-') => (true, false),
            Some(b'+') => (false, true),
            _ => (false, false),
        };
        if neg || pos {
            self.pos += 1;
        }
        let start = self.pos;
        let mut n: usize = 0;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            n = (n * 10 + usize::from(d - b'0')).min(1 << 20);
            self.pos += 1;
        }
        if self.pos == start {
            if neg || pos {
                self.pos = at;
                return Err(self.syntax("\\g is not followed by a number or name"));
            }
            return Ok(None);
        }
        Ok(Some((neg, pos, n)))
    }

    fn numbered_ref(&mut self, (neg, plus, n): (bool, bool, usize), at: usize) -> Result<Escape> {
        let group = if neg {
            if n == 0 || n > self.groups {
                self.pos = at;
                return Err(self.syntax("reference to non-existent subpattern"));
            }
            self.groups + 1 - n
        } else if plus {
            self.groups + n
        } else {
            n
        };
        if group == 0 {
            self.pos = at;
            return Err(self.syntax("a numbered reference must not be zero"));
        }
        self.numbered_refs.push((at, group));
        Ok(Escape::Backref(group))
    }

    /// A group name, then `close`.
    fn read_name(&mut self, close: u8) -> Result<Vec<u8>> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        let name = self.p[start..self.pos].to_vec();
        if name.is_empty() || name[0].is_ascii_digit() || name.len() > 32 {
            return Err(self.syntax("invalid group name"));
        }
        if self.peek() != Some(close) {
            return Err(self.syntax("syntax error in subpattern name (missing terminator?)"));
        }
        self.pos += 1;
        Ok(name)
    }

    /// After `(`.
    fn parse_group(&mut self) -> Result<Option<Node>> {
        let open = self.pos - 1;
        if self.peek() == Some(b'*') {
            let end = self.p[self.pos..].iter().position(|&b| b == b')');
            let verb = &self.p[self.pos + 1..end.map_or(self.p.len(), |e| self.pos + e)];
            if matches!(verb, b"FAIL" | b"F") {
                self.pos += end.map_or(0, |e| e + 1);
                return Ok(Some(Node::Fail));
            }
            self.pos = open;
            return Err(self.unsupported("PCRE verbs and start-of-pattern options ((*...))"));
        }
        let kind = if self.peek() == Some(b'?') {
            self.pos += 1;
            let Some(c) = self.peek() else {
                return Err(self.syntax("missing closing parenthesis"));
            };
            match c {
                b':' => {
                    self.pos += 1;
                    GroupKind::NonCapture
                }
                b'>' => {
                    self.pos += 1;
                    GroupKind::Atomic
                }
                b'=' => {
                    self.pos += 1;
                    GroupKind::Lookahead { negated: false }
                }
                b'!' => {
                    self.pos += 1;
                    GroupKind::Lookahead { negated: true }
                }
                b'<' if matches!(self.peek_at(1), Some(b'=' | b'!')) => {
                    let negated = self.peek_at(1) == Some(b'!');
                    self.pos += 2;
                    GroupKind::Lookbehind { negated }
                }
                b'<' | b'\'' => {
                    self.pos += 1;
                    let name = self.read_name(if c == b'<' { b'>' } else { b'\'' })?;
                    self.named_capture(name)
                }
                b'P' => match self.peek_at(1) {
                    Some(b'<') => {
                        self.pos += 2;
                        let name = self.read_name(b'>')?;
                        self.named_capture(name)
                    }
                    Some(b'=') => {
                        self.pos += 2;
                        let name = self.read_name(b')')?;
                        let k = self.names.len();
                        self.names.push((name, open, usize::MAX));
                        self.named_refs.push(k);
                        return Ok(Some(Node::Backref {
                            group: usize::MAX - k,
                            caseless: self.flags.caseless,
                        }));
                    }
                    Some(b'>') => {
                        self.pos = open;
                        return Err(self.unsupported("recursion and subroutine calls"));
                    }
                    _ => return Err(self.syntax("unrecognized character after (?P")),
                },
                b'|' => {
                    self.pos = open;
                    return Err(self.unsupported("branch reset groups ((?|...))"));
                }
                b'R' | b'&' | b'+' | b'0'..=b'9' => {
                    self.pos = open;
                    return Err(self.unsupported("recursion and subroutine calls"));
                }
                b'-' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => {
                    self.pos = open;
                    return Err(self.unsupported("recursion and subroutine calls"));
                }
                b'(' => {
                    self.pos = open;
                    return Err(self.unsupported("conditional groups ((?(...)...))"));
                }
                b'C' => {
                    self.pos = open;
                    return Err(self.unsupported("callouts ((?C...))"));
                }
                _ => {
                    // Option setting: (?imnsxxU-imnsxU) or (?^...) alone or with ':'.
                    let flags = self.parse_flags()?;
                    match self.peek() {
                        Some(b')') => {
                            self.pos += 1;
                            // Applies to the rest of the enclosing group.
                            self.flags = flags;
                            return Ok(None);
                        }
                        Some(b':') => {
                            self.pos += 1;
                            let saved = self.flags;
                            self.flags = flags;
                            let node = self.group_body(GroupKind::NonCapture, open);
                            self.flags = saved;
                            return node.map(Some);
                        }
                        _ => return Err(self.syntax("unrecognized character after (? or (?-")),
                    }
                }
            }
        } else if self.flags.no_auto_capture {
            GroupKind::NonCapture
        } else {
            self.groups += 1;
            GroupKind::Capture(self.groups)
        };
        let saved = self.flags;
        let node = self.group_body(kind, open);
        self.flags = saved;
        node.map(Some)
    }

    fn named_capture(&mut self, name: Vec<u8>) -> GroupKind {
        self.groups += 1;
        self.names.push((name, self.pos, self.groups));
        GroupKind::Capture(self.groups)
    }

    fn group_body(&mut self, kind: GroupKind, open: usize) -> Result<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.syntax("parentheses are too deeply nested"));
        }
        let node = self.parse_alt()?;
        self.depth -= 1;
        if self.peek() != Some(b')') {
            return Err(Error::Syntax {
                offset: open,
                message: "missing closing parenthesis".into(),
            });
        }
        self.pos += 1;
        Ok(Node::Group(Box::new(Group { kind, node })))
    }

    /// The letters of `(?...)`, returning the new flags.
    fn parse_flags(&mut self) -> Result<Flags> {
        let mut f = self.flags;
        let mut on = true;
        if self.peek() == Some(b'^') {
            self.pos += 1;
            f.caseless = false;
            f.multiline = false;
            f.dotall = false;
            f.extended = false;
            f.extended_more = false;
            f.no_auto_capture = false;
            f.ungreedy = false;
        }
        let mut saw_minus = false;
        while let Some(c) = self.peek() {
            match c {
                b'-' if !saw_minus => {
                    on = false;
                    saw_minus = true;
                }
                b'i' => f.caseless = on,
                b'm' => f.multiline = on,
                b's' => f.dotall = on,
                b'n' => f.no_auto_capture = on,
                b'U' => f.ungreedy = on,
                b'J' => {}
                b'x' => {
                    if on && self.peek_at(1) == Some(b'x') {
                        self.pos += 1;
                        f.extended_more = true;
                    } else if !on {
                        f.extended_more = false;
                    }
                    f.extended = on;
                }
                b')' | b':' => return Ok(f),
                _ => return Err(self.syntax("unrecognized character after (? or (?-")),
            }
            self.pos += 1;
        }
        Err(self.syntax("missing closing parenthesis"))
    }

    /// After `[`.
    fn parse_class(&mut self) -> Result<Class> {
        let open = self.pos - 1;
        let mut class = Class {
            negated: false,
            items: Vec::new(),
            caseless: self.flags.caseless,
        };
        if self.peek() == Some(b'^') {
            self.pos += 1;
            class.negated = true;
        }
        let mut first = true;
        loop {
            if self.flags.extended_more {
                while matches!(self.peek(), Some(b' ' | b'\t')) {
                    self.pos += 1;
                }
            }
            let Some(c) = self.peek() else {
                return Err(Error::Syntax {
                    offset: open,
                    message: "missing terminating ] for character class".into(),
                });
            };
            if c == b']' && !first {
                self.pos += 1;
                return Ok(class);
            }
            first = false;
            if self.starts_with(b"\\Q") {
                self.pos += 2;
                while self.pos < self.p.len() && !self.starts_with(b"\\E") {
                    let b = self.p[self.pos];
                    class.items.push(ClassItem::Range(b, b));
                    self.pos += 1;
                }
                if self.starts_with(b"\\E") {
                    self.pos += 2;
                }
                continue;
            }
            if self.starts_with(b"\\E") {
                self.pos += 2;
                continue;
            }
            let start_item = self.pos;
            let item = self.class_atom()?;
            match item {
                ClassAtom::Byte(a) => {
                    // A range?
                    if self.peek() == Some(b'-')
                        && self.peek_at(1).is_some_and(|n| n != b']')
                        && self.peek_at(1).is_some()
                    {
                        let save = self.pos;
                        self.pos += 1;
                        if self.starts_with(b"\\Q") || self.starts_with(b"\\E") {
                            // Leave '-' literal; let the loop read the quoted part.
                            self.pos = save + 1;
                            class.items.push(ClassItem::Range(a, a));
                            class.items.push(ClassItem::Range(b'-', b'-'));
                            continue;
                        }
                        match self.class_atom()? {
                            ClassAtom::Byte(b) => {
                                if b < a {
                                    self.pos = start_item;
                                    return Err(
                                        self.syntax("range out of order in character class")
                                    );
                                }
                                class.items.push(ClassItem::Range(a, b));
                            }
                            ClassAtom::Item(_) => {
                                self.pos = save;
                                return Err(self.syntax("invalid range in character class"));
                            }
                        }
                    } else {
                        class.items.push(ClassItem::Range(a, a));
                    }
                }
                ClassAtom::Item(item) => {
                    if self.peek() == Some(b'-') && self.peek_at(1).is_some_and(|n| n != b']') {
                        return Err(self.syntax("invalid range in character class"));
                    }
                    class.items.push(item);
                }
            }
        }
    }

    /// One member of a class: a byte, or a class escape / POSIX class.
    fn class_atom(&mut self) -> Result<ClassAtom> {
        let Some(c) = self.peek() else {
            return Err(self.syntax("missing terminating ] for character class"));
        };
        if c == b'[' {
            if let Some(term) = self.peek_at(1).filter(|t| matches!(t, b':' | b'.' | b'=')) {
                if let Some(end) = self.posix_end(term) {
                    if term != b':' {
                        return Err(self.syntax("POSIX collating elements are not supported"));
                    }
                    let mut name = &self.p[self.pos + 2..end];
                    let negated = name.first() == Some(&b'^');
                    if negated {
                        name = &name[1..];
                    }
                    let Some(set) = posix_class(name) else {
                        return Err(self.syntax("unknown POSIX class name"));
                    };
                    self.pos = end + 2;
                    return Ok(ClassAtom::Item(ClassItem::Set { set, negated }));
                }
            }
            self.pos += 1;
            return Ok(ClassAtom::Byte(b'['));
        }
        if c == b'\\' {
            return Ok(match self.parse_escape(true)? {
                Escape::Byte(b) => ClassAtom::Byte(b),
                Escape::Class(item) => ClassAtom::Item(item),
                _ => return Err(self.syntax("escape sequence is invalid in character class")),
            });
        }
        self.pos += 1;
        Ok(ClassAtom::Byte(c))
    }

    /// Where a POSIX class `[:name:]` started at `self.pos` ends (the index of the terminator
    /// character before `]`), as PCRE2's `check_posix_syntax` finds it.
    fn posix_end(&self, term: u8) -> Option<usize> {
        let s = self.p;
        let mut i = self.pos + 2;
        while i < s.len() {
            if s[i] == b'\\' && matches!(s.get(i + 1), Some(b']' | b'\\')) {
                i += 1;
            } else if (s[i] == b'[' && s.get(i + 1) == Some(&term)) || s[i] == b']' {
                return None;
            } else if s[i] == term && s.get(i + 1) == Some(&b']') {
                return Some(i);
            }
            i += 1;
        }
        None
    }
}

enum ClassAtom {
    Byte(u8),
    Item(ClassItem),
}

/// POSIX class names, ASCII only (PCRE2's default tables, built in the "C" locale).
fn posix_class(name: &[u8]) -> Option<ByteSet> {
    let r: &[(u8, u8)] = match name {
        b"alnum" => &[(b'0', b'9'), (b'A', b'Z'), (b'a', b'z')],
        b"alpha" => &[(b'A', b'Z'), (b'a', b'z')],
        b"ascii" => &[(0, 127)],
        b"blank" => &[(b'\t', b'\t'), (b' ', b' ')],
        b"cntrl" => &[(0, 31), (127, 127)],
        b"digit" => &[(b'0', b'9')],
        b"graph" => &[(33, 126)],
        b"lower" => &[(b'a', b'z')],
        b"print" => &[(32, 126)],
        b"punct" => &[(33, 47), (58, 64), (91, 96), (123, 126)],
        b"space" => &[(b'\t', b'\r'), (b' ', b' ')],
        b"upper" => &[(b'A', b'Z')],
        b"word" => &[(b'0', b'9'), (b'A', b'Z'), (b'a', b'z'), (b'_', b'_')],
        b"xdigit" => &[(b'0', b'9'), (b'A', b'F'), (b'a', b'f')],
        _ => return None,
    };
    Some(ByteSet::from_ranges(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The ranges hold exactly the set's members, in order, apart and not touching.
        #[test]
        fn ranges_are_the_members(words in proptest::array::uniform4(proptest::prelude::any::<u64>()),
                                  runs in proptest::collection::vec((0u8..=255, 0u8..=255), 0..4)) {
            let mut set = ByteSet(words);
            for (a, b) in runs {
                set.insert_range(a.min(b), a.max(b));
            }
            let ranges = set.ranges();
            let members: Vec<u8> = (0..=255u8).filter(|&b| set.contains(b)).collect();
            let from_ranges: Vec<u8> = ranges.iter().flat_map(|&(a, b)| a..=b).collect();
            proptest::prop_assert_eq!(members, from_ranges);
            for w in ranges.windows(2) {
                proptest::prop_assert!(u16::from(w[0].1) + 1 < u16::from(w[1].0));
            }
        }

        /// A value's bytes added at once (short ASCII values in registers, other values of
        /// less than 512 bytes four sets at a time, long ones through a table, a chunk at a
        /// time until every byte is in) are the bytes inserted one by one.
        #[test]
        fn added_bytes_are_the_inserted_ones(
            words in proptest::array::uniform4(proptest::prelude::any::<u64>()),
            value in proptest::prop_oneof![
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..700),
                // ASCII, short ones in registers
                proptest::collection::vec(0u8..0x80, 0..64),
                // several chunks, every byte in the first
                proptest::collection::vec(proptest::prelude::any::<u8>(), 4000..13000),
                // several chunks, a new byte in the last
                proptest::strategy::Strategy::prop_map(
                    proptest::collection::vec(0u8..100, 4000..13000),
                    |mut v| {
                        v.push(255);
                        v
                    },
                ),
            ],
        ) {
            let mut added = ByteSet(words);
            added.add(&value);
            let mut inserted = ByteSet(words);
            for &b in &value {
                inserted.insert(b);
            }
            proptest::prop_assert_eq!(added.0, inserted.0);
        }

        /// A range inserted a word at a time, and case folding by shifts, are the byte-by-byte
        /// definitions.
        #[test]
        fn word_operations_are_the_bytewise_ones(
            words in proptest::array::uniform4(proptest::prelude::any::<u64>()),
            a in 0u8..=255, b in 0u8..=255,
        ) {
            let mut set = ByteSet(words);
            set.insert_range(a, b);
            for x in 0..=255u8 {
                let inserted = a <= x && x <= b;
                proptest::prop_assert_eq!(set.contains(x), ByteSet(words).contains(x) || inserted);
            }
            let folded = ByteSet(words).case_fold();
            for x in 0..=255u8 {
                let other = if x.is_ascii_alphabetic() { x ^ 0x20 } else { x };
                let want = ByteSet(words).contains(x) || ByteSet(words).contains(other);
                proptest::prop_assert_eq!(folded.contains(x), want, "{}", x);
            }
        }
    }

    fn p(s: &str) -> Node {
        parse(s.as_bytes()).unwrap().node
    }

    fn syntax_err(s: &str) -> bool {
        matches!(parse(s.as_bytes()), Err(Error::Syntax { .. }))
    }

    #[test]
    fn literal_braces() {
        assert_eq!(
            p("a{"),
            Node::Concat(vec![
                Node::Byte {
                    byte: b'a',
                    caseless: false
                },
                Node::Byte {
                    byte: b'{',
                    caseless: false
                }
            ])
        );
        for lit in ["a{}", "a{,}", "a{1", "a{1,2", "a{x}", "{", "}"] {
            let n = p(lit);
            assert!(
                !format!("{n:?}").contains("Repeat"),
                "{lit} should be literal: {n:?}"
            );
        }
        for q in ["a{2}", "a{2,}", "a{,2}", "a{ 2 }", "a{1, 3}"] {
            assert!(format!("{:?}", p(q)).contains("Repeat"), "{q}");
        }
        assert!(syntax_err("a{3,2}"));
        assert!(syntax_err("x{65536}"));
    }

    #[test]
    fn errors_pcre_also_reports() {
        for s in [
            "a**",
            "a{2}{3}",
            "[\\d-z]",
            "[z-a]",
            "(?z)a",
            "[[:foo:]]",
            "\\o{400}",
            "\\777",
            "\\q",
            "a)",
            "(a",
            "[a",
            "*a",
            "a|*",
            "^*a",
            "\\b+a",
            "\\x{100}",
            "\\c",
            "[\\B]",
            "[a-\\d]",
            "(?#x)*a",
            "\\8",
            "(a)\\2",
        ] {
            assert!(syntax_err(s), "{s} should be a PCRE syntax error");
        }
    }

    #[test]
    fn backreference_or_octal() {
        assert_eq!(
            p("\\101"),
            Node::Byte {
                byte: b'A',
                caseless: false
            }
        );
        assert_eq!(
            p("\\0101"),
            Node::Concat(vec![
                Node::Byte {
                    byte: 8,
                    caseless: false
                },
                Node::Byte {
                    byte: b'1',
                    caseless: false
                }
            ])
        );
        assert!(
            matches!(p("(a)\\1"), Node::Concat(v) if matches!(v[1], Node::Backref { group: 1, .. }))
        );
        assert!(
            matches!(p("(?<n>a)\\k<n>"), Node::Concat(v) if matches!(v[1], Node::Backref { group: 1, .. }))
        );
        assert!(
            matches!(p("(a)\\g{-1}"), Node::Concat(v) if matches!(v[1], Node::Backref { group: 1, .. }))
        );
    }

    #[test]
    fn classes() {
        let Node::Class(c) = p("[a[b]") else { panic!() };
        assert!(c.set().contains(b'[') && c.set().contains(b'a') && c.set().contains(b'b'));
        // `[[:alpha]` (no `:]` before the `]`: not a POSIX class), then a literal `]`.
        let Node::Concat(v) = p("[[:alpha]]") else {
            panic!()
        };
        let Node::Class(c) = &v[0] else { panic!() };
        assert_eq!(c.set().ranges().len(), 6);
        assert_eq!(
            v[1],
            Node::Byte {
                byte: b']',
                caseless: false
            }
        );
        let Node::Class(c) = p("[[:alpha:]]") else {
            panic!()
        };
        assert!(c.set().contains(b'q') && !c.set().contains(b':'));
    }

    #[test]
    fn class_details() {
        let Node::Class(c) = p("[\\18]") else {
            panic!()
        };
        assert_eq!(c.set().ranges(), vec![(1, 1), (b'8', b'8')]);
        let Node::Class(c) = p("[%--]") else { panic!() };
        assert!(c.set().contains(b'+'));
        let Node::Class(c) = p("[\\w-]") else {
            panic!()
        };
        assert!(c.set().contains(b'-'));
        let Node::Class(c) = p("[]a]") else { panic!() };
        assert!(c.set().contains(b']'));
        let Node::Class(c) = p("[^]a]") else { panic!() };
        assert!(!c.set().contains(b']') && c.set().contains(b'b'));
        let Node::Class(c) = p("[\\b]") else { panic!() };
        assert_eq!(c.set().ranges(), vec![(8, 8)]);
        let Node::Class(c) = p("[&&]") else { panic!() };
        assert_eq!(c.set().ranges(), vec![(b'&', b'&')]);
        let Node::Class(c) = p("[\\x{c2}\\xb4]") else {
            panic!()
        };
        assert_eq!(c.set().ranges(), vec![(0xb4, 0xb4), (0xc2, 0xc2)]);
        let Node::Class(c) = p("\\v") else { panic!() };
        assert_eq!(c.set().ranges(), vec![(10, 13), (0x85, 0x85)]);
        let Node::Class(c) = p("\\h") else { panic!() };
        assert_eq!(c.set().ranges(), vec![(9, 9), (32, 32), (0xa0, 0xa0)]);
    }

    #[test]
    fn extended_and_comments() {
        assert_eq!(p("(?x) a b # c"), p("ab"));
        assert_eq!(p("a(?#x)*"), p("a*"));
        assert_eq!(p("\\Qa.b\\E+"), p("a\\.b+"));
        assert_eq!(p("(?x)a +"), p("a+"));
    }

    #[test]
    fn unsupported() {
        for s in [
            "(?R)",
            "(?1)",
            "(?|a)",
            "\\p{L}",
            "(*UTF)a",
            "(?(1)a|b)",
            "(?C)a",
        ] {
            assert!(
                matches!(parse(s.as_bytes()), Err(Error::Unsupported { .. })),
                "{s}"
            );
        }
    }
}
