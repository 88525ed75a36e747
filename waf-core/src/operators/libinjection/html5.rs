//! libinjection v4.0.0's HTML5 tokenizer (`libinjection_html5`): a simplified HTML5 tokenizer
//! that splits input into tag names, attribute names and values, comments and text, starting
//! either in text or inside an attribute value (the XSS check tries every start).
//!
//! The C version's states call each other directly; here a state either yields a token or names
//! the next state, and [`Html5::next_token`] loops, so long runs such as `<a //////` cannot grow
//! the stack.
//!
//! Non-standard rules kept from the original: NUL bytes are ignored in tag names and count as
//! white space elsewhere; a backtick quotes attribute values (old IE); `<% ... %>` is a comment.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenType {
    DataText,
    TagNameOpen,
    TagNameClose,
    TagNameSelfClose,
    TagClose,
    AttrName,
    AttrValue,
    TagComment,
    Doctype,
}

/// Where tokenizing starts: in text, or inside an attribute value of each kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Start {
    Data,
    ValueNoQuote,
    ValueSingleQuote,
    ValueDoubleQuote,
    ValueBackQuote,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Eof,
    Data,
    TagOpen,
    EndTagOpen,
    TagName,
    TagNameClose,
    BeforeAttrName,
    AttrName,
    AfterAttrName,
    BeforeAttrValue,
    AttrValueQuoted(u8),
    AttrValueNoQuote,
    AfterAttrValueQuoted,
    SelfClosingStartTag,
    BogusComment,
    BogusComment2,
    MarkupDeclarationOpen,
    Comment,
    Cdata,
    Doctype,
}

/// A state's outcome: a token is ready (`true`), input is exhausted (`false`), or go on in
/// another state at once.
enum Step {
    Done(bool),
    Goto(State),
}

pub(super) struct Html5<'a> {
    s: &'a [u8],
    pos: usize,
    state: State,
    is_close: bool,
    pub token_type: TokenType,
    pub token_start: usize,
    pub token_len: usize,
}

/// White space for the tokenizer (C's `strchr` on `" \t\n\v\f\r"` also finds NUL).
fn is_white(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0)
}

impl<'a> Html5<'a> {
    pub fn new(s: &'a [u8], start: Start) -> Self {
        let state = match start {
            Start::Data => State::Data,
            Start::ValueNoQuote => State::BeforeAttrName,
            Start::ValueSingleQuote => State::AttrValueQuoted(b'\''),
            Start::ValueDoubleQuote => State::AttrValueQuoted(b'"'),
            Start::ValueBackQuote => State::AttrValueQuoted(b'`'),
        };
        Html5 {
            s,
            pos: 0,
            state,
            is_close: false,
            token_type: TokenType::DataText,
            token_start: 0,
            token_len: 0,
        }
    }

    /// The token's bytes.
    pub fn token(&self) -> &'a [u8] {
        &self.s[self.token_start..self.token_start + self.token_len]
    }

    /// Advances to the next token; false at the end.
    pub fn next_token(&mut self) -> bool {
        let mut state = self.state;
        loop {
            match self.step(state) {
                Step::Done(more) => return more,
                Step::Goto(next) => state = next,
            }
        }
    }

    fn emit(&mut self, kind: TokenType, start: usize, len: usize) {
        self.token_type = kind;
        self.token_start = start;
        self.token_len = len;
    }

    /// Skips white space (NUL included); the next byte, if any. C returns the byte as a signed
    /// char in an int whose -1 means "end of input", so a 0xFF byte ends the input here too.
    fn skip_white(&mut self) -> Option<u8> {
        while self.pos < self.s.len() {
            let c = self.s[self.pos];
            if !is_white(c) {
                return (c != 0xff).then_some(c);
            }
            self.pos += 1;
        }
        None
    }

    fn find(&self, from: usize, c: u8) -> Option<usize> {
        memchr::memchr(c, &self.s[from.min(self.s.len())..]).map(|i| from + i)
    }

    fn step(&mut self, state: State) -> Step {
        let (s, len) = (self.s, self.s.len());
        match state {
            State::Eof => Step::Done(false),
            State::Data => match self.find(self.pos, b'<') {
                None => {
                    self.emit(TokenType::DataText, self.pos, len - self.pos);
                    self.state = State::Eof;
                    Step::Done(self.token_len != 0)
                }
                Some(lt) => {
                    self.emit(TokenType::DataText, self.pos, lt - self.pos);
                    self.pos = lt + 1;
                    self.state = State::TagOpen;
                    if self.token_len == 0 {
                        Step::Goto(State::TagOpen)
                    } else {
                        Step::Done(true)
                    }
                }
            },
            State::TagOpen => {
                let Some(&c) = s.get(self.pos) else {
                    return Step::Done(false);
                };
                match c {
                    b'!' => {
                        self.pos += 1;
                        Step::Goto(State::MarkupDeclarationOpen)
                    }
                    b'/' => {
                        self.pos += 1;
                        self.is_close = true;
                        Step::Goto(State::EndTagOpen)
                    }
                    b'?' => {
                        self.pos += 1;
                        Step::Goto(State::BogusComment)
                    }
                    // Old IE and Safari's `<% ... %>` comments.
                    b'%' => {
                        self.pos += 1;
                        Step::Goto(State::BogusComment2)
                    }
                    // NUL in a tag name is ignored (old IE).
                    c if c.is_ascii_alphabetic() || c == 0 => Step::Goto(State::TagName),
                    _ if self.pos == 0 => Step::Goto(State::Data),
                    _ => {
                        // A `<` that opens nothing is text.
                        self.emit(TokenType::DataText, self.pos - 1, 1);
                        self.state = State::Data;
                        Step::Done(true)
                    }
                }
            }
            State::EndTagOpen => {
                let Some(&c) = s.get(self.pos) else {
                    return Step::Done(false);
                };
                if c == b'>' {
                    Step::Goto(State::Data)
                } else if c.is_ascii_alphabetic() {
                    Step::Goto(State::TagName)
                } else {
                    self.is_close = false;
                    Step::Goto(State::BogusComment)
                }
            }
            State::TagNameClose => {
                self.is_close = false;
                self.emit(TokenType::TagNameClose, self.pos, 1);
                self.pos += 1;
                self.state = if self.pos < len {
                    State::Data
                } else {
                    State::Eof
                };
                Step::Done(true)
            }
            State::TagName => {
                let start = self.pos;
                let mut p = start;
                while p < len {
                    let c = s[p];
                    if c == 0 {
                        p += 1;
                    } else if is_white(c) {
                        self.emit(TokenType::TagNameOpen, start, p - start);
                        self.pos = p + 1;
                        self.state = State::BeforeAttrName;
                        return Step::Done(true);
                    } else if c == b'/' {
                        self.emit(TokenType::TagNameOpen, start, p - start);
                        self.pos = p + 1;
                        self.state = State::SelfClosingStartTag;
                        return Step::Done(true);
                    } else if c == b'>' {
                        if self.is_close {
                            self.emit(TokenType::TagClose, start, p - start);
                            self.pos = p + 1;
                            self.is_close = false;
                            self.state = State::Data;
                        } else {
                            self.emit(TokenType::TagNameOpen, start, p - start);
                            self.pos = p;
                            self.state = State::TagNameClose;
                        }
                        return Step::Done(true);
                    } else {
                        p += 1;
                    }
                }
                self.emit(TokenType::TagNameOpen, start, len - start);
                self.state = State::Eof;
                Step::Done(true)
            }
            State::BeforeAttrName => match self.skip_white() {
                None => Step::Done(false),
                Some(b'/') => {
                    self.pos += 1;
                    Step::Goto(State::SelfClosingStartTag)
                }
                Some(b'>') => {
                    self.state = State::Data;
                    self.emit(TokenType::TagNameClose, self.pos, 1);
                    self.pos += 1;
                    Step::Done(true)
                }
                Some(_) => Step::Goto(State::AttrName),
            },
            State::AttrName => {
                // The first byte belongs to the name whatever it is.
                let start = self.pos;
                let mut p = start + 1;
                while p < len {
                    let c = s[p];
                    let next = if is_white(c) {
                        Some((State::AfterAttrName, p + 1))
                    } else if c == b'/' {
                        Some((State::SelfClosingStartTag, p + 1))
                    } else if c == b'=' {
                        Some((State::BeforeAttrValue, p + 1))
                    } else if c == b'>' {
                        Some((State::TagNameClose, p))
                    } else {
                        None
                    };
                    if let Some((state, pos)) = next {
                        self.emit(TokenType::AttrName, start, p - start);
                        self.state = state;
                        self.pos = pos;
                        return Step::Done(true);
                    }
                    p += 1;
                }
                self.emit(TokenType::AttrName, start, len - start);
                self.state = State::Eof;
                self.pos = len;
                Step::Done(true)
            }
            State::AfterAttrName => match self.skip_white() {
                None => Step::Done(false),
                Some(b'/') => {
                    self.pos += 1;
                    Step::Goto(State::SelfClosingStartTag)
                }
                Some(b'=') => {
                    self.pos += 1;
                    Step::Goto(State::BeforeAttrValue)
                }
                Some(b'>') => Step::Goto(State::TagNameClose),
                Some(_) => Step::Goto(State::AttrName),
            },
            State::BeforeAttrValue => match self.skip_white() {
                None => {
                    self.state = State::Eof;
                    Step::Done(false)
                }
                Some(q @ (b'"' | b'\'' | b'`')) => Step::Goto(State::AttrValueQuoted(q)),
                Some(_) => Step::Goto(State::AttrValueNoQuote),
            },
            State::AttrValueQuoted(q) => {
                // Skip the opening quote, unless tokenizing started inside the value.
                if self.pos > 0 {
                    self.pos += 1;
                }
                let start = self.pos;
                match self.find(start, q) {
                    None => {
                        self.emit(TokenType::AttrValue, start, len - start);
                        self.state = State::Eof;
                    }
                    Some(end) => {
                        self.emit(TokenType::AttrValue, start, end - start);
                        self.state = State::AfterAttrValueQuoted;
                        self.pos = end + 1;
                    }
                }
                Step::Done(true)
            }
            State::AttrValueNoQuote => {
                let start = self.pos;
                let mut p = start;
                while p < len {
                    let c = s[p];
                    if is_white(c) {
                        self.emit(TokenType::AttrValue, start, p - start);
                        self.pos = p + 1;
                        self.state = State::BeforeAttrName;
                        return Step::Done(true);
                    } else if c == b'>' {
                        self.emit(TokenType::AttrValue, start, p - start);
                        self.pos = p;
                        self.state = State::TagNameClose;
                        return Step::Done(true);
                    }
                    p += 1;
                }
                self.state = State::Eof;
                self.emit(TokenType::AttrValue, start, len - start);
                Step::Done(true)
            }
            State::AfterAttrValueQuoted => {
                let Some(&c) = s.get(self.pos) else {
                    return Step::Done(false);
                };
                if is_white(c) {
                    self.pos += 1;
                    Step::Goto(State::BeforeAttrName)
                } else if c == b'/' {
                    self.pos += 1;
                    Step::Goto(State::SelfClosingStartTag)
                } else if c == b'>' {
                    self.emit(TokenType::TagNameClose, self.pos, 1);
                    self.pos += 1;
                    self.state = State::Data;
                    Step::Done(true)
                } else {
                    Step::Goto(State::BeforeAttrName)
                }
            }
            State::SelfClosingStartTag => {
                let Some(&c) = s.get(self.pos) else {
                    return Step::Done(false);
                };
                if c == b'>' && self.pos > 0 {
                    self.emit(TokenType::TagNameSelfClose, self.pos - 1, 2);
                    self.state = State::Data;
                    self.pos += 1;
                    Step::Done(true)
                } else {
                    Step::Goto(State::BeforeAttrName)
                }
            }
            State::BogusComment => {
                let start = self.pos;
                match self.find(start, b'>') {
                    None => {
                        self.emit(TokenType::TagComment, start, len - start);
                        self.pos = len;
                        self.state = State::Eof;
                    }
                    Some(gt) => {
                        self.emit(TokenType::TagComment, start, gt - start);
                        self.pos = gt + 1;
                        self.state = State::Data;
                    }
                }
                Step::Done(true)
            }
            State::BogusComment2 => {
                let start = self.pos;
                let mut p = start;
                loop {
                    match self.find(p, b'%') {
                        Some(pct) if pct + 1 < len => {
                            if s[pct + 1] != b'>' {
                                p = pct + 1;
                                continue;
                            }
                            self.emit(TokenType::TagComment, start, pct - start);
                            self.pos = pct + 2;
                            self.state = State::Data;
                        }
                        _ => {
                            self.emit(TokenType::TagComment, start, len - start);
                            self.pos = len;
                            self.state = State::Eof;
                        }
                    }
                    return Step::Done(true);
                }
            }
            State::MarkupDeclarationOpen => {
                let rest = &s[self.pos..];
                if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"DOCTYPE") {
                    Step::Goto(State::Doctype)
                } else if rest.starts_with(b"[CDATA[") {
                    self.pos += 7;
                    Step::Goto(State::Cdata)
                } else if rest.starts_with(b"--") {
                    self.pos += 2;
                    Step::Goto(State::Comment)
                } else {
                    Step::Goto(State::BogusComment)
                }
            }
            State::Comment => {
                // Ends at `-->` or `-!>` (NULs allowed after the first dash), or at the end.
                let start = self.pos;
                let mut p = start;
                loop {
                    let dash = match self.find(p, b'-') {
                        Some(d) if d + 3 <= len => d,
                        _ => break,
                    };
                    let mut off = 1;
                    while dash + off < len && s[dash + off] == 0 {
                        off += 1;
                    }
                    if dash + off == len {
                        break;
                    }
                    if !matches!(s[dash + off], b'-' | b'!') {
                        p = dash + 1;
                        continue;
                    }
                    off += 1;
                    if dash + off == len {
                        break;
                    }
                    if s[dash + off] != b'>' {
                        p = dash + 1;
                        continue;
                    }
                    self.emit(TokenType::TagComment, start, dash - start);
                    self.pos = dash + off + 1;
                    self.state = State::Data;
                    return Step::Done(true);
                }
                self.state = State::Eof;
                self.emit(TokenType::TagComment, start, len - start);
                Step::Done(true)
            }
            State::Cdata => {
                let start = self.pos;
                let mut p = start;
                loop {
                    match self.find(p, b']') {
                        Some(rb) if rb + 3 <= len => {
                            if s[rb + 1] == b']' && s[rb + 2] == b'>' {
                                self.state = State::Data;
                                self.emit(TokenType::DataText, start, rb - start);
                                self.pos = rb + 3;
                                return Step::Done(true);
                            }
                            p = rb + 1;
                        }
                        _ => {
                            self.state = State::Eof;
                            self.emit(TokenType::DataText, start, len - start);
                            return Step::Done(true);
                        }
                    }
                }
            }
            State::Doctype => {
                let start = self.pos;
                match self.find(start, b'>') {
                    None => {
                        self.state = State::Eof;
                        self.emit(TokenType::Doctype, start, len - start);
                    }
                    Some(gt) => {
                        self.state = State::Data;
                        self.emit(TokenType::Doctype, start, gt - start);
                        self.pos = gt + 1;
                    }
                }
                Step::Done(true)
            }
        }
    }
}
