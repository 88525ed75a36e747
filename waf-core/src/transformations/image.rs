//! The bytes a transformation's output holds, told from the bytes its input holds: for the
//! steps that map or drop bytes one at a time (the case maps, the null and white-space
//! removals, `t:compressWhitespace`, the URL decoders without a `%`, `t:cmdLine` within a
//! space), for any step given none of the bytes it acts on, and as a bound for the steps
//! that only take bytes out (trims, comment removals, path normalizations).
//!
//! The byte tests (`crate::transaction`'s `candidates`) ask which bytes the values of a
//! variable hold after a rule's chain; a chain of such steps answers it from the union of the
//! values' own bytes, which each phase value carries, without a value's output looked up or
//! made (a `t:lowercase` chain acts on nearly every value: its capitals).

use super::known_sets;
use crate::regex::ByteSet;
use seclang_parser::names::TransformationName;

/// The bytes the outputs of `name` hold, for values whose bytes together are `input`: `None`
/// when they depend on more than which bytes are there (a decoder given its escapes). Exact
/// but for the bounds of `t:cmdLine` and of the steps that take bytes out by where they are:
/// each other step treats a byte the same wherever it is, so the union of the outputs is the
/// image of the union. (A bound is enough for a byte test, which only ever says "none of
/// these bytes": a rule it lets through is evaluated.)
pub(crate) fn image(name: TransformationName, input: ByteSet) -> Option<ByteSet> {
    use TransformationName as N;
    match name {
        // (steps that only take bytes out, or turn `\` into `/`, or a comment into a space:
        // bounds, as what they take out depends on where the bytes are)
        N::Trim | N::TrimLeft | N::TrimRight | N::RemoveCommentsChar => return Some(input),
        // (a comment that ends the value leaves the string's NUL terminator: `comments`)
        N::RemoveComments => {
            let mut set = with_space(input);
            set.insert(0);
            return Some(set);
        }
        N::NormalizePath | N::NormalizePathWin => {
            let mut set = input;
            if name == N::NormalizePathWin && input.contains(b'\\') {
                set.insert(b'/');
            }
            return Some(set);
        }
        N::ReplaceComments => return Some(with_space(input)),
        _ => {}
    }
    // (a value holding none of the bytes a step acts on comes out as it went in)
    let acted_on = known_sets(name).0?;
    if !acted_on.intersects(&input) {
        return Some(input);
    }
    // (for the removals, the bytes they act on are those they drop: `the_image_is_the_
    // outputs_bytes` holds them to it)
    let without = input.intersect_not(acted_on);
    match name {
        N::Lowercase => Some(input.to_ascii_lowercase()),
        N::Uppercase => Some(input.to_ascii_uppercase()),
        N::RemoveNulls | N::RemoveWhitespace => Some(without),
        // (with a NUL, or white space, among them: it becomes spaces)
        N::ReplaceNulls | N::CompressWhitespace => Some(with_space(without)),
        // without a `%`, only `+` is decoded, to a space (`application/xhtml+xml` in most
        // browsers' `Accept`)
        N::UrlDecode | N::UrlDecodeUni if !input.contains(b'%') => {
            let mut plus = ByteSet::EMPTY;
            plus.insert(b'+');
            Some(with_space(input.intersect_not(&plus)))
        }
        // deleted quotes, carets and backslashes; separators and white space made spaces
        // (a bound: a space before `/` or `(` goes, which the set cannot tell)
        N::CmdLine => {
            let deleted = ByteSet::of(b"\"'\\^");
            let spaces = ByteSet::of(b" ,;\t\r\n");
            let kept = input.intersect_not(&deleted).intersect_not(&spaces);
            Some(match input.intersects(&spaces) {
                true => with_space(kept.to_ascii_lowercase()),
                false => kept.to_ascii_lowercase(),
            })
        }
        _ => None,
    }
}

fn with_space(mut set: ByteSet) -> ByteSet {
    set.insert(b' ');
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use TransformationName as N;

    /// Every step with an image, and some without.
    const NAMES: [N; 19] = [
        N::Trim,
        N::TrimLeft,
        N::TrimRight,
        N::RemoveComments,
        N::RemoveCommentsChar,
        N::NormalizePath,
        N::NormalizePathWin,
        N::ReplaceComments,
        N::Lowercase,
        N::Uppercase,
        N::RemoveNulls,
        N::ReplaceNulls,
        N::RemoveWhitespace,
        N::CompressWhitespace,
        N::UrlDecodeUni,
        N::UrlDecode,
        N::HtmlEntityDecode,
        N::CmdLine,
        N::JsDecode,
    ];

    /// Values over a few bytes that the steps treat differently (letters of both cases,
    /// white space, NUL, NBSP, escapes, high bytes).
    fn values() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let byte =
            prop::sample::select(b"aZq \t\r\x0b\x00\xa0\xc2\xff%+&;\\/-*x0#.<!>(\"'\n".to_vec());
        prop::collection::vec(prop::collection::vec(byte, 0..16), 0..4)
    }

    proptest! {
        /// The image of the values' bytes is the bytes of their outputs, for each step that
        /// has one (a step that says `None` is not checked).
        #[test]
        fn the_image_is_the_outputs_bytes(values in values()) {
            for name in NAMES {
                let f = super::super::get(name).unwrap();
                let mut input = ByteSet::EMPTY;
                let mut outputs = ByteSet::EMPTY;
                for v in &values {
                    let mut out = Vec::new();
                    f(v, &mut out);
                    input = input.union(ByteSet::of(v));
                    outputs = outputs.union(ByteSet::of(&out));
                }
                let Some(image) = image(name, input) else { continue };
                // every byte of the outputs is in the image
                prop_assert!(outputs.intersect_not(&image) == ByteSet::EMPTY, "{name:?} {values:?}");
                match name {
                    // (bounds: what they take out depends on where it is)
                    N::Trim
                    | N::TrimLeft
                    | N::TrimRight
                    | N::RemoveComments
                    | N::RemoveCommentsChar
                    | N::NormalizePath
                    | N::NormalizePathWin
                    | N::ReplaceComments => {}
                    // (its spaces before `/` or `(` go)
                    N::CmdLine => prop_assert!(
                        image.intersect_not(&outputs).intersect_not(&ByteSet::of(b" "))
                            == ByteSet::EMPTY,
                        "{name:?} {values:?}"
                    ),
                    _ => prop_assert!(image == outputs, "{name:?} {values:?}"),
                }
            }
        }
    }

    #[test]
    fn steps_without_an_image() {
        let escapes = ByteSet::of(b"%41&lt;");
        assert_eq!(image(N::UrlDecodeUni, escapes), None);
        assert_eq!(image(N::HtmlEntityDecode, escapes), None);
        // ... unless given none of what they act on
        let plain = ByteSet::of(b"plain");
        assert_eq!(image(N::UrlDecodeUni, plain), Some(plain));
        assert_eq!(
            image(N::Lowercase, ByteSet::of(b"AbZ")),
            Some(ByteSet::of(b"abz"))
        );
        assert_eq!(
            image(N::Uppercase, ByteSet::of(b"aBz")),
            Some(ByteSet::of(b"ABZ"))
        );
    }
}
