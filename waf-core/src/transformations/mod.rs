//! Transformations (`t:name`): functions from bytes to bytes, applied to a value before an
//! operator sees it. Each one is byte-exact with libmodsecurity v3.0.15, including its quirks
//! (a `removeComments` that appends a NUL, an `htmlEntityDecode` that matches `&ltest;` as `<`, ...);
//! the file of each family says which quirks it keeps and why.
//!
//! The registry is [`get`]: a [`TransformationName`] to a [`TransformFn`]. `t:none` has no
//! function: it only clears the transformations inherited so far, which is the compiler's job.
//!
//! Values are raw bytes, never assumed to be UTF-8. Every function runs in linear time and
//! allocates nothing but the output buffer it is given.
//!
//! # The "changed" flag
//!
//! Each function returns libmodsecurity's own `transform()` result, not `out != input`. The two
//! differ for a few functions (`cmdLine` reports only a change of length, `lowercase` reports any
//! byte in 0x80..=0xfe, `cssDecode` does not report a dropped backslash, `normalizePath` misses a
//! final `..`, `md5` always reports a change, ...). libmodsecurity uses the flag for
//! `multiMatch`: a value is added to the list of values the operator sees only when its
//! transformation reported a change (checked with 3.0.15: under `multiMatch`, `t:cmdLine` turning
//! `ABC` into `abc` is never matched against). Keep the flag as it is.
//!
//! # Example
//!
//! ```
//! use waf_core::transformations::get;
//! use waf_core::syntax::names::TransformationName;
//!
//! let url_decode = get(TransformationName::UrlDecode).unwrap();
//! let mut out = Vec::new();
//! assert!(url_decode(b"a%20b+c", &mut out));
//! assert_eq!(out, b"a b c");
//! ```

use seclang_parser::names::TransformationName;

mod base64;
mod case;
mod cmd_line;
mod comments;
mod css_decode;
mod digest;
mod escape_seq_decode;
mod hex;
mod html_entity_decode;
mod image;
mod js_decode;
mod length;
mod nulls;
mod parity;
mod path;
mod sql_hex_decode;
mod trim;
mod unicode_map;
mod url_decode;
mod utf8_to_unicode;
mod whitespace;

pub(crate) use base64::base64_decode;
pub(crate) use image::image;
pub use unicode_map::{UnicodeMap, UnicodeMapError};
pub(crate) use url_decode::copy_words;
pub use url_decode::url_decode_uni_with_map;

/// A transformation: reads `input`, writes the result to `out` (which it clears first).
/// Returns whether the output differs from the input (libmodsecurity's "changed" flag).
pub type TransformFn = fn(input: &[u8], out: &mut Vec<u8>) -> bool;

/// The function for a transformation; `None` for `t:none` (which only resets the chain).
///
/// `t:urlDecodeUni` is the variant without a `SecUnicodeMapFile`; with one, call
/// [`url_decode_uni_with_map`].
pub fn get(name: TransformationName) -> Option<TransformFn> {
    use TransformationName as N;
    let f: TransformFn = match name {
        N::None => return None,
        N::Base64Decode => base64::base64_decode,
        N::Base64DecodeExt => base64::base64_decode_ext,
        N::Base64Encode => base64::base64_encode,
        N::CmdLine => cmd_line::cmd_line,
        N::CompressWhitespace => whitespace::compress_whitespace,
        N::CssDecode => css_decode::css_decode,
        N::EscapeSeqDecode => escape_seq_decode::escape_seq_decode,
        N::HexDecode => hex::hex_decode,
        N::HexEncode => hex::hex_encode,
        N::HtmlEntityDecode => html_entity_decode::html_entity_decode,
        N::JsDecode => js_decode::js_decode,
        N::Length => length::length,
        N::Lowercase => case::lowercase,
        N::Md5 => digest::md5,
        N::NormalizePath => path::normalize_path,
        N::NormalizePathWin => path::normalize_path_win,
        N::ParityEven7bit => parity::parity_even_7bit,
        N::ParityOdd7bit => parity::parity_odd_7bit,
        N::ParityZero7bit => parity::parity_zero_7bit,
        N::RemoveComments => comments::remove_comments,
        N::RemoveCommentsChar => comments::remove_comments_char,
        N::RemoveNulls => nulls::remove_nulls,
        N::RemoveWhitespace => whitespace::remove_whitespace,
        N::ReplaceComments => comments::replace_comments,
        N::ReplaceNulls => nulls::replace_nulls,
        N::Sha1 => digest::sha1,
        N::SqlHexDecode => sql_hex_decode::sql_hex_decode,
        N::Trim => trim::trim,
        N::TrimLeft => trim::trim_left,
        N::TrimRight => trim::trim_right,
        N::Uppercase => case::uppercase,
        N::UrlDecode => url_decode::url_decode,
        N::UrlDecodeUni => url_decode::url_decode_uni,
        N::UrlEncode => url_decode::url_encode,
        N::Utf8ToUnicode => utf8_to_unicode::utf8_to_unicode,
    };
    Some(f)
}

// Byte classes and helpers shared by the decoders, as libmodsecurity defines them
// (`src/utils/string.h` and the C library's "C" locale).

/// `VALID_HEX`: an ASCII hexadecimal digit.
#[inline]
fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

/// `ISODIGIT`: an ASCII octal digit.
#[inline]
fn is_octal(c: u8) -> bool {
    matches!(c, b'0'..=b'7')
}

/// `isspace` in the "C" locale: space, `\t`, `\n`, `\v`, `\f`, `\r` (not NBSP).
#[inline]
const fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t'..=b'\r')
}

/// `xsingle2c`: one hex digit's value. Not checked: callers that skip `VALID_HEX` get the same
/// wrapped `unsigned char` arithmetic as libmodsecurity (`hexDecode` of `"zz"` is 0x53).
#[inline]
fn xsingle2c(c: u8) -> u8 {
    if c >= b'A' {
        (c & 0xdf).wrapping_sub(b'A').wrapping_add(10)
    } else {
        c.wrapping_sub(b'0')
    }
}

/// `x2c`: two hex digits to a byte, with `xsingle2c`'s wrapping.
#[inline]
fn x2c(hi: u8, lo: u8) -> u8 {
    xsingle2c(hi).wrapping_mul(16).wrapping_add(xsingle2c(lo))
}

/// Whether no byte of `input` is a `hit`.
fn none_of(input: &[u8], hit: impl Fn(u8) -> bool) -> bool {
    !any_byte(input, hit)
}

/// Whether some byte of `input` is a `hit`. A short value one byte at a time; a long one
/// ([`any_byte_in_blocks`]) without a branch per byte.
#[inline]
pub(crate) fn any_byte(input: &[u8], hit: impl Fn(u8) -> bool) -> bool {
    if input.len() < 64 {
        return input.iter().any(|&b| hit(b));
    }
    any_byte_in_blocks(input, hit)
}

/// [`any_byte`] 32 bytes at a time, each block tested without a branch per byte (vector
/// code), then the rest one by one: a byte-by-byte search, with its exit test at each byte,
/// cost ~7 instructions a byte (a 1 MB form body's scan for capitals). Out of line: its
/// callers are on the path of every short value.
#[inline(never)]
fn any_byte_in_blocks(input: &[u8], hit: impl Fn(u8) -> bool) -> bool {
    let mut blocks = input.chunks_exact(32);
    for block in &mut blocks {
        if block.iter().fold(0u8, |a, &b| a | u8::from(hit(b))) != 0 {
            return true;
        }
    }
    blocks.remainder().iter().any(|&b| hit(b))
}

/// Whether the transformation would give `input` back unchanged, told by one scan for the
/// bytes it acts on (`%`/`+` for the URL decoders, `\\` for the escape decoders, `&`, upper-case
/// letters for `lowercase`, white space, `/` and `.` for the path ones...); `false` when it
/// cannot be told so cheaply. Most request values hold none of them, and the transformation
/// cache then skips the call and the copy.
pub(crate) fn leaves_unchanged(name: TransformationName, input: &[u8]) -> bool {
    use TransformationName as N;
    match name {
        N::UrlDecode | N::UrlDecodeUni => memchr::memchr2(b'%', b'+', input).is_none(),
        N::JsDecode | N::CssDecode | N::EscapeSeqDecode => memchr::memchr(b'\\', input).is_none(),
        N::HtmlEntityDecode => html_entity_decode::leaves_unchanged(input),
        N::RemoveNulls | N::ReplaceNulls => memchr::memchr(0, input).is_none(),
        // a comment starts with `/*`
        N::ReplaceComments => memchr::memchr(b'*', input).is_none(),
        N::SqlHexDecode => memchr::memchr2(b'x', b'X', input).is_none(),
        N::Lowercase => none_of(input, |b| b.is_ascii_uppercase()),
        N::Uppercase => none_of(input, |b| b.is_ascii_lowercase()),
        // (a NUL before the end is dropped)
        N::Utf8ToUnicode => none_of(input, |b| b == 0 || b >= 0x80),
        N::RemoveWhitespace => none_of(input, whitespace::removes),
        N::CompressWhitespace => none_of(input, is_space),
        N::CmdLine => cmd_line::leaves_unchanged(input),
        N::RemoveCommentsChar => comments::remove_comments_char_leaves_unchanged(input),
        // not a set of bytes but the shape of the value (its length), so it says no to the
        // empty value and no set is read off it (`clearing_set`)
        N::Base64Decode => base64::rejects(input),
        // without a separator only the end is a segment's end, where a `.` or `..` goes
        // (`"lt.."` becomes `""`): a dotted name or a price (`json.items.price`, `12.34`) is
        // left as it is
        N::NormalizePath => none_of(input, |b| b == b'/') && input.last() != Some(&b'.'),
        N::NormalizePathWin => {
            none_of(input, |b| b == b'/' || b == b'\\') && input.last() != Some(&b'.')
        }
        _ => false,
    }
}

/// Whether the transformation would give `input`, whose bytes are `bytes`, back unchanged, as
/// told by the bytes ([`acted_on`]) and for the path normalizations by its last byte: a
/// dotted name or a price (`json.items.price`, `12.34`) holds the `.` of their set, but only
/// one at the end is acted on without a separator (a JSON body's names were each scanned for
/// `/` per chain with `t:normalizePath`). `false` when that cannot tell.
pub(crate) fn unchanged_with_bytes(
    name: TransformationName,
    bytes: &crate::regex::ByteSet,
    input: &[u8],
) -> bool {
    use TransformationName as N;
    let no_end_dot = || input.last() != Some(&b'.');
    match name {
        N::NormalizePath => !bytes.contains(b'/') && no_end_dot(),
        N::NormalizePathWin => !bytes.contains(b'/') && !bytes.contains(b'\\') && no_end_dot(),
        _ => {
            known_sets(name).0.is_some_and(|a| !a.intersects(bytes))
                || told_by_bytes(name, bytes, input) == Some(true)
        }
    }
}

/// [`reports_unchanged`] of `input`, whose bytes are `bytes`, for a step whose test is the
/// value's shape, not a set of bytes it acts on (`t:base64Decode`), when the bytes tell it:
/// `None` when they cannot (or for any other step). The "changed" flag of such a step is
/// down when it leaves the value as it is, so this is [`leaves_unchanged`] too.
pub(crate) fn told_by_bytes(
    name: TransformationName,
    bytes: &crate::regex::ByteSet,
    input: &[u8],
) -> Option<bool> {
    match name {
        TransformationName::Base64Decode => base64::rejects_by_bytes(input, bytes),
        _ => None,
    }
}

/// [`leaves_unchanged`], and the transformation's "changed" flag is not set either: what
/// `multiMatch` needs to know to skip a stage. The flag is libmodsecurity's and not always
/// "the output differs": `t:lowercase`/`t:uppercase` raise it for bytes 0x80-0xfe, which they
/// copy (see `case`).
pub(crate) fn reports_unchanged(name: TransformationName, input: &[u8]) -> bool {
    use TransformationName as N;
    leaves_unchanged(name, input)
        && match name {
            N::Lowercase | N::Uppercase => none_of(input, case::flagged_though_copied),
            _ => true,
        }
}

/// The bytes a transformation acts on, when [`leaves_unchanged`] knows them: a value holding
/// none of them comes out unchanged. Read off `leaves_unchanged` itself (each of its tests is
/// "none of these bytes", or for the path normalizations that and "not ending with `.`", and
/// it says nothing of the empty value when it knows no set), so a value the set clears is one
/// `leaves_unchanged` clears.
pub(crate) fn acted_on(name: TransformationName) -> Option<crate::regex::ByteSet> {
    clearing_set(name, |input| leaves_unchanged(name, input))
}

/// [`acted_on`] and [`flagged_by`] of `name`, read off once per process (each is 256 calls of
/// its test): what the evaluation asks per step, to skip one without a scan when the value's
/// bytes are known.
pub(crate) fn known_sets(
    name: TransformationName,
) -> (
    Option<&'static crate::regex::ByteSet>,
    Option<&'static crate::regex::ByteSet>,
) {
    type Sets = (Option<crate::regex::ByteSet>, Option<crate::regex::ByteSet>);
    static SETS: std::sync::OnceLock<Vec<Sets>> = std::sync::OnceLock::new();
    let sets = SETS.get_or_init(|| {
        let mut sets = vec![(None, None); TransformationName::ALL.len()];
        for &n in TransformationName::ALL {
            sets[n as usize] = (acted_on(n), flagged_by(n));
        }
        sets
    });
    let (acted, flagged) = &sets[name as usize];
    (acted.as_ref(), flagged.as_ref())
}

/// Bytes a transformation leaves alone by themselves but not next to others, which reading
/// the set off single bytes would miss: `t:cmdLine` keeps a lone space, not two of them, nor
/// one before `/` or `(`; `t:removeCommentsChar` a lone `-` or `*`; `t:htmlEntityDecode` a
/// lone `&`.
fn acted_on_in_pairs(name: TransformationName) -> crate::regex::ByteSet {
    match name {
        TransformationName::CmdLine => crate::regex::ByteSet::from_fn(|b| b == b' '),
        // `&` before a name or `#`
        TransformationName::HtmlEntityDecode => crate::regex::ByteSet::from_fn(|b| b == b'&'),
        // `--`, `/*`, `*/`
        TransformationName::RemoveCommentsChar => {
            crate::regex::ByteSet::from_fn(|b| b == b'-' || b == b'*')
        }
        _ => crate::regex::ByteSet::EMPTY,
    }
}

/// The bytes whose presence may change a value or raise the transformation's "changed"
/// flag: read off [`reports_unchanged`] as [`acted_on`] is off `leaves_unchanged` (for
/// `t:lowercase`/`t:uppercase`, the capitals and the bytes 0x80-0xfe they flag). A value
/// holding none of them is one `reports_unchanged` clears.
pub(crate) fn flagged_by(name: TransformationName) -> Option<crate::regex::ByteSet> {
    clearing_set(name, |input| reports_unchanged(name, input))
}

/// The bytes one of which `test` (`name`'s) needs in a value to say no: when `test` is "no
/// byte of some set" (possibly with more conditions, which only make it say no more often), a
/// value holding none of them passes it; read off single bytes, with the ones `name` acts on
/// only next to others ([`acted_on_in_pairs`]). `None` when `test` refuses even the empty value.
fn clearing_set(
    name: TransformationName,
    test: impl Fn(&[u8]) -> bool,
) -> Option<crate::regex::ByteSet> {
    test(b"")
        .then(|| crate::regex::ByteSet::from_fn(|b| !test(&[b])).union(acted_on_in_pairs(name)))
}

/// The byte at `i`, or 0 past the end: libmodsecurity's values are `std::string`s, whose
/// `data()[len]` is a NUL, and several decoders read that terminator.
#[inline]
fn at(input: &[u8], i: usize) -> u8 {
    input.get(i).copied().unwrap_or(0)
}

/// Lowercase hex digits, as `c2x` and `%x` write them.
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Test helper: runs a transformation, returns (output, changed).
#[cfg(test)]
pub(crate) fn run(f: TransformFn, input: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let changed = f(input, &mut out);
    (out, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block search finds what a byte-by-byte one finds: a capital at each place of
    /// values of every length around the blocks' size, and none in a value without one.
    #[test]
    fn any_byte_finds_a_hit_wherever_it_is() {
        let upper = |b: u8| b.is_ascii_uppercase();
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 95, 96, 97, 200] {
            let plain = vec![b'a'; len];
            assert!(!any_byte(&plain, upper), "{len}");
            for at in 0..len {
                let mut v = plain.clone();
                v[at] = b'Q';
                assert!(any_byte(&v, upper), "{len} {at}");
                // (the bytes around the range count as no hit)
                v[at] = if at % 2 == 0 { b'@' } else { b'[' };
                assert!(!any_byte(&v, upper), "{len} {at}");
            }
        }
    }

    #[test]
    fn leaves_unchanged_only_says_so_when_true() {
        use TransformationName as N;
        let inputs: &[&[u8]] = &[
            b"",
            b"plain text",
            b"a+b",
            b"%41",
            b"%u0041",
            b"\\x41",
            b"&lt;",
            b"&#65;",
            b"a\\",
            b"100%",
            b"12.34",
            b"lt..",
            b".",
            b"a.b.",
            b"x/.",
            b"a\\..",
        ];
        for name in [
            N::UrlDecode,
            N::UrlDecodeUni,
            N::JsDecode,
            N::HtmlEntityDecode,
            N::NormalizePath,
            N::NormalizePathWin,
        ] {
            let f = get(name).unwrap();
            for input in inputs {
                if leaves_unchanged(name, input) {
                    assert_eq!(run(f, input).0, *input, "{name:?} {input:?}");
                }
            }
            assert!(leaves_unchanged(name, b"plain text"));
        }
        assert!(leaves_unchanged(N::NormalizePath, b"json.items.price"));
        assert!(!leaves_unchanged(N::NormalizePath, b"lt.."));
        let with_bytes =
            |name, v: &[u8]| unchanged_with_bytes(name, &crate::regex::ByteSet::of(v), v);
        assert!(with_bytes(N::NormalizePath, b"json.items.price"));
        assert!(with_bytes(N::NormalizePathWin, b"12.34"));
        assert!(!with_bytes(N::NormalizePath, b"lt.."));
        assert!(!with_bytes(N::NormalizePathWin, b"a\\b.c"));
        assert!(!with_bytes(N::NormalizePath, b"a/b"));
        assert!(with_bytes(N::UrlDecode, b"plain"));
        // (`t:base64Decode` by the shape the bytes tell: `_` is no digit; all digits, decoded)
        assert!(with_bytes(N::Base64Decode, b"field_1"));
        assert!(!with_bytes(N::Base64Decode, b"Zm9vYmFy"));
    }

    /// Short values of the bytes transformations act on (and some they do not).
    fn short_value() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::sample::select(
                &b"aZ09 \t\n\x0b\x0c\r%+\\&;#xX/.*\"'^,()-<>!=\x00\x7f\x80\xa0\xc2\xe9\xff"[..],
            ),
            0..12,
        )
    }

    proptest::proptest! {
        /// Whatever the value, a transformation its bytes say leaves it unchanged gives it back.
        #[test]
        fn unchanged_with_bytes_is_never_wrong(input in short_value()) {
            let bytes = crate::regex::ByteSet::of(&input);
            for &name in TransformationName::ALL {
                let Some(f) = get(name) else { continue };
                if unchanged_with_bytes(name, &bytes, &input) {
                    proptest::prop_assert_eq!(&run(f, &input).0, &input, "{:?}", name);
                }
            }
        }

        /// Whatever the value, a transformation said to leave it unchanged gives it back.
        #[test]
        fn leaves_unchanged_is_never_wrong(input in short_value()) {
            for &name in TransformationName::ALL {
                let Some(f) = get(name) else { continue };
                if leaves_unchanged(name, &input) {
                    let (out, changed) = run(f, &input);
                    proptest::prop_assert_eq!(out, input.clone(), "{}", name);
                    proptest::prop_assert!(
                        !changed || !reports_unchanged(name, &input),
                        "{} says it changed {:?}", name, input
                    );
                }
            }
        }

        /// A value `acted_on`'s set clears is one `leaves_unchanged` clears (which may clear
        /// more: `12.34` for the path normalizations); one `flagged_by`'s set clears, one
        /// `reports_unchanged` clears.
        #[test]
        fn acted_on_agrees_with_leaves_unchanged(input in short_value()) {
            for &name in TransformationName::ALL {
                let by_set = acted_on(name).is_some_and(|s| !s.occurs_in(&input));
                proptest::prop_assert!(!by_set || leaves_unchanged(name, &input), "{}", name);
                let quiet = flagged_by(name).is_some_and(|s| !s.occurs_in(&input));
                proptest::prop_assert!(!quiet || reports_unchanged(name, &input), "{}", name);
            }
        }
    }

    #[test]
    fn every_name_but_none_has_a_function() {
        for &name in TransformationName::ALL {
            assert_eq!(
                get(name).is_none(),
                name == TransformationName::None,
                "{name}"
            );
        }
    }

    #[test]
    fn x2c_wraps_like_unsigned_char() {
        assert_eq!(x2c(b'4', b'1'), 0x41);
        assert_eq!(x2c(b'f', b'F'), 0xff);
        assert_eq!(x2c(b'z', b'z'), 0x53);
        assert_eq!(x2c(b'G', b'G'), 0x10);
    }

    #[test]
    fn is_space_is_the_c_locale() {
        let spaces: Vec<u8> = (0..=255u8).filter(|&c| is_space(c)).collect();
        assert_eq!(spaces, b"\t\n\x0b\x0c\r ");
    }
}
