//! `t:htmlEntityDecode`: decodes `&#DDD;`, `&#xHH;` and the named entities `&quot;`, `&amp;`,
//! `&lt;`, `&gt;`, `&nbsp;` (to 0xa0); the `;` is optional. The result is one byte per entity.
//!
//! libmodsecurity 3.0.15's rules, kept as they are:
//! - numeric entities take every digit that follows, `strtol` them (saturating at `LONG_MAX`)
//!   and keep the low byte: `&#x4142;` is `B`, `&#1234;` is 0xd2, `&#99999999999999999999;` 0xff;
//! - a name matches when the run of letters and digits after `&` *starts* with it, ignoring case:
//!   `&ltest;` is `<` and the whole run is consumed (later releases match whole names only);
//! - an unknown name is copied as it is.
//!
//! The "changed" flag is libmodsecurity's: the output is shorter than the input.
//!
//! Example: `"&lt;script&gt;&#x41;&#66"` becomes `"<script>AB"`.

const NBSP: u8 = 0xa0;

/// Checked in this order, as libmodsecurity does.
const NAMED: [(&[u8], u8); 5] = [
    (b"quot", b'"'),
    (b"amp", b'&'),
    (b"lt", b'<'),
    (b"gt", b'>'),
    (b"nbsp", NBSP),
];

/// The byte of the named entity `text` starts with (ignoring case), if one does.
fn named_at(text: &[u8]) -> Option<u8> {
    NAMED
        .iter()
        .find(|(name, _)| text.len() >= name.len() && text[..name.len()].eq_ignore_ascii_case(name))
        .map(|&(_, byte)| byte)
}

/// `(unsigned char) strtol(digits, NULL, radix)`, with `strtol`'s saturation at `LONG_MAX`.
fn strtol_low_byte(digits: &[u8], radix: u32) -> u8 {
    let mut value: i64 = 0;
    for &d in digits {
        let v = char::from(d).to_digit(radix).map_or(0, i64::from);
        match value
            .checked_mul(i64::from(radix))
            .and_then(|x| x.checked_add(v))
        {
            Some(x) => value = x,
            None => return i64::MAX as u8,
        }
    }
    value as u8
}

/// Whether [`html_entity_decode`] gives `input` back as it is: no `&` before a `#` or a
/// name's start (a form body's `&field=`, a URL's `&page=2`, are copied). A `&#` is taken as
/// a change without looking further.
pub(super) fn leaves_unchanged(input: &[u8]) -> bool {
    memchr::memchr_iter(b'&', input).all(|i| {
        let rest = &input[i + 1..];
        match rest.first() {
            None => true,
            Some(b'#') => false,
            Some(_) => named_at(rest).is_none(),
        }
    })
}

pub(super) fn html_entity_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let len = input.len();
    let mut i = 0;
    while i < len {
        if input[i] != b'&' {
            // the run up to the next `&` is copied as it is, in one piece (a byte at a time,
            // a 1 MB upload's body took 39 M instructions)
            let run = memchr::memchr(b'&', &input[i..]).unwrap_or(len - i);
            out.extend_from_slice(&input[i..i + run]);
            i += run;
            continue;
        }
        // How many input bytes to copy when what follows `&` is not an entity we decode.
        let mut copy = 1;
        if i + 1 < len {
            let mut j = i + 1;
            if input[j] == b'#' {
                copy += 1;
                if j + 1 < len {
                    j += 1;
                    let (radix, class): (u32, fn(&u8) -> bool) = if matches!(input[j], b'x' | b'X')
                    {
                        copy += 1;
                        j += 1;
                        (16, u8::is_ascii_hexdigit)
                    } else {
                        (10, u8::is_ascii_digit)
                    };
                    if j < len {
                        let k = j;
                        while j < len && class(&input[j]) {
                            j += 1;
                        }
                        if j > k {
                            out.push(strtol_low_byte(&input[k..j], radix));
                            i = if j < len && input[j] == b';' {
                                j + 1
                            } else {
                                j
                            };
                            continue;
                        }
                    }
                }
            } else {
                let k = j;
                while j < len && input[j].is_ascii_alphanumeric() {
                    j += 1;
                }
                if j > k {
                    match named_at(&input[k..j]) {
                        Some(byte) => {
                            out.push(byte);
                            i = if j < len && input[j] == b';' {
                                j + 1
                            } else {
                                j
                            };
                            continue;
                        }
                        None => copy = j - k + 1,
                    }
                }
            }
        }
        out.extend_from_slice(&input[i..i + copy]);
        i += copy;
    }
    out.len() != len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Vec<u8>, bool) {
        super::super::run(html_entity_decode, input)
    }

    #[test]
    fn ampersands_before_no_entity_are_left_as_they_are() {
        for kept in [&b"a=1&b=2&field_1=x"[..], b"&", b"x&y", b"&apos;", b"& lt"] {
            assert!(leaves_unchanged(kept), "{kept:?}");
        }
        for decoded in [&b"&lt"[..], b"a&AMP;b", b"&#65", b"&nbspx", b"&quot"] {
            assert!(!leaves_unchanged(decoded), "{decoded:?}");
        }
    }

    proptest::proptest! {
        /// A value said to come out unchanged does, flag down.
        #[test]
        fn leaves_unchanged_is_never_wrong(input in proptest::collection::vec(
            proptest::sample::select(&b"&#;xXlLtgampquonbs09 "[..]), 0..16)
        ) {
            if leaves_unchanged(&input) {
                proptest::prop_assert_eq!(run(&input), (input.clone(), false));
            }
        }
    }

    #[test]
    fn numeric_entities_keep_the_low_byte() {
        assert_eq!(run(b"&#x41;&#66"), (b"AB".to_vec(), true));
        assert_eq!(run(b"&#x4142;"), (b"B".to_vec(), true));
        assert_eq!(run(b"&#1234;"), (vec![0xd2], true));
        assert_eq!(run(b"&#99999999999999999999;"), (vec![0xff], true));
        assert_eq!(run(b"&#x999999999999999999999;"), (vec![0xff], true));
        assert_eq!(run(b"&#0000065;"), (b"A".to_vec(), true));
    }

    #[test]
    fn named_entities_match_by_prefix() {
        assert_eq!(
            run(b"&lt;&GT;&Amp&quot;&nbsp;"),
            (b"<>&\"\xa0".to_vec(), true)
        );
        assert_eq!(run(b"&ltest;x"), (b"<x".to_vec(), true));
        assert_eq!(run(b"&apos;&lpar;"), (b"&apos;&lpar;".to_vec(), false));
    }

    #[test]
    fn incomplete_entities_are_copied() {
        for s in [&b"&"[..], b"a&", b"&#", b"&#x", b"&#X;", b"&#;", b"& ;"] {
            assert_eq!(run(s), (s.to_vec(), false), "{s:?}");
        }
    }
}
