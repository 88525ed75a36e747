//! `t:removeComments`, `t:replaceComments`, `t:removeCommentsChar`: SQL, C and HTML comments.
//!
//! - `removeComments` deletes `/* ... */` and `<!-- ... -->` (an unterminated one becomes a single
//!   space), and cuts the value at `--` or `#`. Quirk kept from libmodsecurity: after a comment
//!   ends, the next byte is copied without being looked at, so `/*a*//*b*/` keeps `/*b*/`, and a
//!   comment that ends the value copies the string's NUL terminator (`"/*x*/"` becomes `"\0"`).
//! - `replaceComments` turns each `/* ... */` into one space (an unterminated one too).
//! - `removeCommentsChar` deletes the comment markers themselves: `/*`, `*/`, `<!--`, `-->`,
//!   `--` and `#`, keeping what they enclose.
//!
//! Example: `removeComments` of `"SELECT/*x*/1-- rest"` is `"SELECT1"`; `replaceComments` of
//! `"SELECT/*x*/1"` is `"SELECT 1"`; `removeCommentsChar` of `"SELECT/*x*/1"` is `"SELECTx1"`.

use super::at;

pub(super) fn remove_comments(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let len = input.len();
    let mut changed = false;
    let mut in_comment = false;
    let mut i = 0;
    while i < len {
        let c = input[i];
        if !in_comment {
            if c == b'/' && at(input, i + 1) == b'*' {
                changed = true;
                in_comment = true;
                i += 2;
            } else if c == b'<' && input[i..].starts_with(b"<!--") {
                changed = true;
                in_comment = true;
                i += 4;
            } else if (c == b'-' && at(input, i + 1) == b'-') || c == b'#' {
                // The rest of the value is a comment.
                changed = true;
                break;
            } else {
                out.push(c);
                i += 1;
            }
        } else if c == b'*' && at(input, i + 1) == b'/' {
            in_comment = false;
            // The byte after the comment is copied unexamined (possibly the NUL terminator).
            out.push(at(input, i + 2));
            i += 3;
        } else if c == b'-' && input[i..].starts_with(b"-->") {
            in_comment = false;
            out.push(at(input, i + 3));
            i += 4;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    changed
}

pub(super) fn replace_comments(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let len = input.len();
    let mut changed = false;
    let mut in_comment = false;
    let mut i = 0;
    while i < len {
        let c = input[i];
        if !in_comment {
            if c == b'/' && at(input, i + 1) == b'*' {
                changed = true;
                in_comment = true;
                i += 2;
            } else {
                out.push(c);
                i += 1;
            }
        } else if c == b'*' && at(input, i + 1) == b'/' {
            in_comment = false;
            out.push(b' ');
            i += 2;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    changed
}

/// Whether [`remove_comments_char`] gives `input` back as it is: no `#`, `--`, `/*` or `*/`
/// (`<!--` and `-->` hold a `--`). A lone `-` or `*` stays (`HD-00001`, a JSON order's SKU).
pub(super) fn remove_comments_char_leaves_unchanged(input: &[u8]) -> bool {
    memchr::memchr3_iter(b'#', b'-', b'*', input).all(|i| match input[i] {
        b'-' => input.get(i + 1) != Some(&b'-'),
        b'*' => input.get(i + 1) != Some(&b'/') && (i == 0 || input[i - 1] != b'/'),
        _ => false,
    })
}

pub(super) fn remove_comments_char(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        let skip = if rest.starts_with(b"/*") || rest.starts_with(b"*/") {
            2
        } else if rest.starts_with(b"<!--") {
            4
        } else if rest.starts_with(b"-->") {
            3
        } else if rest.starts_with(b"--") {
            2
        } else if rest[0] == b'#' {
            1
        } else {
            out.push(rest[0]);
            1
        };
        i += skip;
    }
    out.len() != input.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::run;

    #[test]
    fn remove_comments_char_keeps_lone_dashes_and_stars() {
        for kept in [&b"HD-00001"[..], b"a*b", b"-a-", b"*", b""] {
            assert!(remove_comments_char_leaves_unchanged(kept), "{kept:?}");
        }
        for cut in [&b"a--b"[..], b"#", b"/*", b"x*/", b"<!--", b"-->"] {
            assert!(!remove_comments_char_leaves_unchanged(cut), "{cut:?}");
        }
    }

    #[test]
    fn remove_comments_copies_the_byte_after_a_comment_blindly() {
        assert_eq!(run(remove_comments, b"/*x*/"), (b"\0".to_vec(), true));
        assert_eq!(
            run(remove_comments, b"a/*x*//*y*/b"),
            (b"a/*y*/b".to_vec(), true)
        );
        assert_eq!(run(remove_comments, b"<!--x-->a"), (b"a".to_vec(), true));
        assert_eq!(run(remove_comments, b"<!--x-->"), (b"\0".to_vec(), true));
        assert_eq!(run(remove_comments, b"a/*b"), (b"a ".to_vec(), true));
        assert_eq!(run(remove_comments, b"a--b"), (b"a".to_vec(), true));
        assert_eq!(run(remove_comments, b"a#b"), (b"a".to_vec(), true));
        assert_eq!(run(remove_comments, b"*/"), (b"*/".to_vec(), false));
        // `-->` closes a comment only inside one; outside, its `--` cuts.
        assert_eq!(run(remove_comments, b"a/*x-->b"), (b"ab".to_vec(), true));
    }

    #[test]
    fn replace_comments_leaves_a_space() {
        assert_eq!(run(replace_comments, b"a/**/b"), (b"a b".to_vec(), true));
        assert_eq!(run(replace_comments, b"/*x*/"), (b" ".to_vec(), true));
        assert_eq!(run(replace_comments, b"a/*b"), (b"a ".to_vec(), true));
        assert_eq!(run(replace_comments, b"*/"), (b"*/".to_vec(), false));
    }

    #[test]
    fn remove_comments_char_drops_markers_only() {
        assert_eq!(
            run(remove_comments_char, b"a/*b*/c"),
            (b"abc".to_vec(), true)
        );
        assert_eq!(
            run(remove_comments_char, b"<!--a-->"),
            (b"a".to_vec(), true)
        );
        assert_eq!(run(remove_comments_char, b"---"), (b"-".to_vec(), true));
        assert_eq!(run(remove_comments_char, b"abc"), (b"abc".to_vec(), false));
    }
}
