//! `@beginsWith`, `@endsWith`, `@contains`, `@containsWord`, `@streq`, `@strmatch`, `@within`:
//! byte-string comparisons.
//!
//! **Description.** All compare bytes exactly (no case folding), as libmodsecurity's
//! `begins_with.cc`, `ends_with.cc`, `contains.cc`, `contains_word.cc`, `str_eq.cc`,
//! `str_match.cc` and `within.cc` do:
//! - `@beginsWith P` / `@endsWith P`: the value starts / ends with P (an empty P: true).
//! - `@contains P`, `@strmatch P`: P occurs in the value (an empty P: true).
//! - `@containsWord P`: P occurs with no ASCII letter right before and right after it (digits
//!   and `_` do separate words here, unlike `\b`: `1abc2` contains the word `abc`; checked
//!   against libmodsecurity 3.0.15). An empty P is true, an empty value (with a non-empty P)
//!   false.
//! - `@streq P`: the value is P.
//! - `@within P`: the value occurs in P; an empty value is true.
//!
//! **Arguments.** A text, with macros expanded at run time (`@within %{tx.allowed_methods}`).
//!
//! **Example.** `SecRule REQUEST_METHOD "!@within %{tx.allowed_methods}" "id:1,phase:1,deny"`

use super::{Operator, OperatorContext, Param, ParamValue};
use crate::collection::Bytes;
use crate::regex::RequiredBytes;
use memchr::memmem;

/// Where `needle` first occurs in `haystack` (an empty needle: at 0). The texts these
/// operators compare are mostly short (`@within %{tx.restricted_headers_basic}` asks a
/// header name at a time, a dozen a request, of a list of `/name/`s), where finding the
/// needle's second byte (its first is often the list's separator) and comparing costs less
/// than setting up memmem's searcher (620 instructions a search of CRS's lists, memmem 810;
/// a name past 16 bytes, `/accept-language/`, went to memmem); long ones go to memmem, so a
/// search never costs more than ~10k instructions (512 places, 64 bytes compared at each).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() < 2 || needle.len() > 64 || haystack.len() > 512 {
        return memmem::find(haystack, needle);
    }
    let last_start = haystack.len().checked_sub(needle.len())?;
    let (first, last) = (needle[0], needle[needle.len() - 1]);
    let at_start = |at: usize| {
        haystack[at] == first
            && haystack[at + needle.len() - 1] == last
            && haystack[at..at + needle.len()] == *needle
    };
    if haystack.len() <= SHORT_HAYSTACK {
        // (each place in turn: a search for the second byte is a call per place found)
        return (0..=last_start).find(|&at| at_start(at));
    }
    // (the second byte at `at + 1` of `haystack`: the needle would start at `at`; its first
    // and last bytes are compared before the call that compares the rest: `HTTP/1.1` has its
    // second byte at eight places of CRS's `HTTP/1.0 HTTP/1.1 HTTP/2 HTTP/2.0`, and each was
    // a call)
    memchr::memchr_iter(needle[1], &haystack[1..=last_start + 1]).find(|&at| at_start(at))
}

/// A haystack this short is searched place by place ([`find`]).
const SHORT_HAYSTACK: usize = 64;

/// The operators whose every match holds their parameter as it is, each with the rarest byte
/// of a parameter known at load: a rule of one is passed over, like an `@rx` rule, when none of
/// its values holds that byte (CRS's 920610, `REQUEST_URI_RAW "@contains #"`, was evaluated on
/// every request).
macro_rules! needle_operators {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub(crate) Param, Option<RequiredBytes>);

        impl $name {
            pub(crate) fn new(param: Param) -> $name {
                let required = match &param {
                    Param::Static(needle) => RequiredBytes::of_needle(needle),
                    Param::Dynamic(_) | Param::Tx(..) => None,
                };
                $name(param, required)
            }
        }
    )*};
}

needle_operators!(
    /// `@beginsWith`
    BeginsWith,
    /// `@endsWith`
    EndsWith,
    /// `@contains`
    Contains,
    /// `@containsWord`
    ContainsWord,
    /// `@streq`
    StrEq,
    /// `@strmatch`
    StrMatch,
);

/// `@within`
#[derive(Debug)]
pub struct Within {
    param: Param,
    /// The byte pairs of the list when it is known before the request: a literal list's, made
    /// at load; a lone `%{tx.name}`'s, made on the first evaluation from the rule set's plan's
    /// `TX` (the configuration's value, which the transactions share until one sets another),
    /// with that value, to know it again.
    pairs: std::sync::OnceLock<Option<(Option<Bytes>, BytePairs)>>,
}

impl Within {
    pub(crate) fn new(param: Param) -> Within {
        let pairs = std::sync::OnceLock::new();
        if let Param::Static(list) = &param {
            let _ = pairs.set(Some((None, BytePairs::of(list))));
        }
        Within { param, pairs }
    }

    /// The pairs of `list`, the parameter's text in this evaluation, when they are known.
    fn pairs_of(&self, ctx: &dyn OperatorContext, list: &ParamValue<'_>) -> Option<&BytePairs> {
        let (value, pairs) = match &self.param {
            Param::Static(_) => self.pairs.get()?.as_ref()?,
            Param::Tx(_, name, hash) => self
                .pairs
                .get_or_init(|| {
                    let v = ctx.planned_tx_value(name, *hash)?;
                    let pairs = BytePairs::of(&v);
                    Some((Some(v), pairs))
                })
                .as_ref()?,
            Param::Dynamic(_) => return None,
        };
        match (value, list) {
            (None, _) => Some(pairs),
            // (the same buffer: a transaction that set the variable again has another)
            (Some(v), ParamValue::Expanded(b)) if crate::collection::Bytes::ptr_eq(v, b) => {
                Some(pairs)
            }
            _ => None,
        }
    }
}

/// The pairs of adjacent bytes a text holds, ASCII's exactly (each byte's high bit dropped:
/// any other pair may be taken for one that is there, never the other way round). A needle
/// with a pair the text lacks does not occur in it: `@within` answers most of its values
/// (920450's header names, one list a request) after a look or two, where a search of the
/// list cost ~300–600 instructions.
#[derive(Clone)]
pub(crate) struct BytePairs([u64; 256]);

impl std::fmt::Debug for BytePairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BytePairs")
    }
}

impl BytePairs {
    pub(crate) fn of(text: &[u8]) -> BytePairs {
        let mut bits = [0u64; 256];
        for w in text.windows(2) {
            let i = Self::index(w[0], w[1]);
            bits[i >> 6] |= 1 << (i & 63);
        }
        BytePairs(bits)
    }

    fn index(a: u8, b: u8) -> usize {
        (usize::from(a & 0x7f) << 7) | usize::from(b & 0x7f)
    }

    /// `false` when `needle` (two bytes or more) cannot occur in the text.
    pub(crate) fn may_hold(&self, needle: &[u8]) -> bool {
        needle.windows(2).all(|w| {
            let i = Self::index(w[0], w[1]);
            self.0[i >> 6] & (1 << (i & 63)) != 0
        })
    }
}

impl Operator for BeginsWith {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn required_bytes(&self) -> Option<&RequiredBytes> {
        self.1.as_ref()
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let p = self.0.get(ctx);
        let hit = value.starts_with(&p);
        if hit {
            ctx.match_range(0, p.len());
        }
        hit
    }
}

impl Operator for EndsWith {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn required_bytes(&self) -> Option<&RequiredBytes> {
        self.1.as_ref()
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let p = self.0.get(ctx);
        let hit = value.ends_with(&p);
        if hit {
            ctx.match_range(value.len() - p.len(), p.len());
        }
        hit
    }
}

impl Operator for Contains {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn required_bytes(&self) -> Option<&RequiredBytes> {
        self.1.as_ref()
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let p = self.0.get(ctx);
        match find(value, &p) {
            Some(at) => {
                ctx.match_range(at, p.len());
                true
            }
            None => false,
        }
    }
}

impl Operator for StrMatch {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn required_bytes(&self) -> Option<&RequiredBytes> {
        self.1.as_ref()
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        find(value, &self.0.get(ctx)).is_some()
    }
}

impl Operator for StrEq {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn required_bytes(&self) -> Option<&RequiredBytes> {
        self.1.as_ref()
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        *value == *self.0.get(ctx)
    }
}

impl Operator for Within {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        if value.is_empty() {
            return true;
        }
        let list = self.param.get(ctx);
        if value.len() >= 2
            && self
                .pairs_of(ctx, &list)
                .is_some_and(|p| !p.may_hold(value))
        {
            return false;
        }
        // the range is where the value sits in the parameter
        match find(&list, value) {
            Some(at) => {
                ctx.match_range(at, value.len());
                true
            }
            None => false,
        }
    }
}

impl Operator for ContainsWord {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn required_bytes(&self) -> Option<&RequiredBytes> {
        self.1.as_ref()
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let word = self.0.get(ctx);
        match find_word(value, &word) {
            Some(Some(at)) => {
                ctx.match_range(at, word.len());
                true
            }
            Some(None) => true,
            None => false,
        }
    }
}

/// libmodsecurity's `ContainsWord::evaluate`: an occurrence of `word` whose neighbours (if
/// any) are not ASCII letters. Occurrences may overlap, so they are found with
/// Knuth-Morris-Pratt: linear in `value` and `word`, whatever both contain. `Some(Some(at))`:
/// found at `at`; `Some(None)`: an empty word (true); `None`: not found.
fn find_word(value: &[u8], word: &[u8]) -> Option<Option<usize>> {
    if word.is_empty() {
        return Some(None);
    }
    if value.is_empty() {
        return None;
    }
    let m = word.len();
    // fail[i]: length of the longest proper border of word[..=i].
    let mut fail = vec![0usize; m];
    let mut k = 0;
    for i in 1..m {
        while k > 0 && word[i] != word[k] {
            k = fail[k - 1];
        }
        if word[i] == word[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let separates = |i: usize| !value[i].is_ascii_alphabetic();
    let mut k = 0;
    for (i, &b) in value.iter().enumerate() {
        while k > 0 && b != word[k] {
            k = fail[k - 1];
        }
        if b == word[k] {
            k += 1;
        }
        if k == m {
            let pos = i + 1 - m;
            let end = i + 1;
            if (pos == 0 || separates(pos - 1)) && (end == value.len() || separates(end)) {
                return Some(Some(pos));
            }
            k = fail[m - 1];
        }
    }
    None
}

#[cfg(test)]
fn contains_word(value: &[u8], word: &[u8]) -> bool {
    find_word(value, word).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::testing::{eval, op, Cx};

    proptest::proptest! {
        /// The short search finds what memmem finds, where it finds it.
        #[test]
        fn find_is_memmems_find(
            haystack in proptest::collection::vec(b'a'..=b'd', 0..600),
            needle in proptest::collection::vec(b'a'..=b'd', 0..20),
        ) {
            proptest::prop_assert_eq!(find(&haystack, &needle), memmem::find(&haystack, &needle));
        }
    }

    #[test]
    fn prefixes_and_suffixes() {
        assert!(eval(&*op("@beginsWith abc"), b"abcdef"));
        assert!(!eval(&*op("@beginsWith abc"), b"ab"));
        assert!(eval(&*op("@endsWith ghi"), b"abcdef\\0ghi"));
        assert!(!eval(&*op("@endsWith ghi"), b"gh"));
    }

    #[test]
    fn contains_word_boundaries() {
        assert!(contains_word(b"1abc2", b"abc"));
        assert!(contains_word(b"_abc_", b"abc"));
        assert!(contains_word(b"\xe9abc", b"abc"));
        assert!(!contains_word(b"xabc", b"abc"));
        assert!(contains_word(b"xabc abc", b"abc"));
        assert!(contains_word(
            b"hidingX<-not on word boundary, but is later on->hiding",
            b"hiding"
        ));
        assert!(!contains_word(b"", b"x"));
        assert!(contains_word(b"", b""));
        assert!(contains_word(b"abc\\0def ghi", b"abc"));
        assert!(contains_word(b"aaaa aa", b"aa"));
        assert!(!contains_word(b"aaaaaa", b"aa"));
        assert!(contains_word(b"abab-ab", b"ab"));
    }

    /// A text's pairs hold every needle found in it (high bytes, which share their pairs with
    /// ASCII's, included), and, ASCII all through, no needle with a pair the text lacks.
    #[test]
    fn a_texts_pairs_hold_each_needle_it_holds() {
        use super::{find, BytePairs};
        let pairs = BytePairs::of(b"/content-range/ /if/");
        assert!(pairs.may_hold(b"/if/") && pairs.may_hold(b"nt-r") && pairs.may_hold(b"nge/ /"));
        assert!(!pairs.may_hold(b"/host/") && !pairs.may_hold(b"fi") && !pairs.may_hold(b"//"));
        let alphabet = b"ab/ \x80\xe1\xff";
        proptest::proptest!(|(
            text in proptest::collection::vec(proptest::sample::select(alphabet.to_vec()), 0..40),
            needle in proptest::collection::vec(proptest::sample::select(alphabet.to_vec()), 2..6),
        )| {
            let pairs = BytePairs::of(&text);
            if find(&text, &needle).is_some() {
                proptest::prop_assert!(pairs.may_hold(&needle));
            }
            // (of ASCII texts and needles, exactly)
            let pair_missing = needle.windows(2).any(|w| !text.windows(2).any(|t| t == w));
            if text.is_ascii() && needle.is_ascii() && pair_missing {
                proptest::prop_assert!(!pairs.may_hold(&needle));
            }
        });
    }

    #[test]
    fn within_and_macros() {
        let o = op("@within %{tx.allowed}");
        let mut cx = Cx::default();
        cx.vars.insert("allowed".into(), b"GET POST".to_vec());
        assert!(o.evaluate(&mut cx, b"POST"));
        assert!(!o.evaluate(&mut cx, b"PUT"));
        assert!(o.evaluate(&mut cx, b""));
        assert!(eval(&*op("@streq abc"), b"abc"));
        assert!(!eval(&*op("@streq abc"), b"abcd"));
    }
}
