//! `t:compressWhitespace`, `t:removeWhitespace`.
//!
//! `compressWhitespace` turns each run of whitespace (the "C" locale's `isspace`: space, `\t`,
//! `\n`, `\v`, `\f`, `\r`) into one space. `removeWhitespace` deletes whitespace, and also the
//! bytes 0xa0 and 0xc2 wherever they are: libmodsecurity's way of removing NBSP, both as Latin-1
//! (`a0`) and as UTF-8 (`c2 a0`), so a lone 0xc2 goes too.
//!
//! The "changed" flags are libmodsecurity's: a change of length. So `compressWhitespace` of
//! `"a\tb"` gives `"a b"` but does not report a change.
//!
//! Example: `compressWhitespace` of `"a \t\r\n b"` is `"a b"`; `removeWhitespace` of it is `"ab"`.

use super::is_space;

/// NBSP in Latin-1, and the lead byte of NBSP in UTF-8.
const NBSP: [u8; 2] = [0xa0, 0xc2];

pub(super) fn compress_whitespace(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let mut in_space = false;
    for &c in input {
        if is_space(c) {
            if !in_space {
                out.push(b' ');
                in_space = true;
            }
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out.len() != input.len()
}

/// The bytes `removeWhitespace` deletes, by value.
const REMOVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = is_space(c) || c == NBSP[0] || c == NBSP[1];
        i += 1;
    }
    t
};

/// Whether `removeWhitespace` deletes `c`.
pub(super) fn removes(c: u8) -> bool {
    REMOVED[usize::from(c)]
}

pub(super) fn remove_whitespace(input: &[u8], out: &mut Vec<u8>) -> bool {
    // every byte written, the count moved past the kept ones: no branch on the byte (a form
    // value's words and spaces made the filter's branch a coin toss)
    out.clear();
    out.resize(input.len(), 0);
    let mut kept = 0;
    for &c in input {
        if let Some(slot) = out.get_mut(kept) {
            *slot = c;
        }
        kept += usize::from(!removes(c));
    }
    out.truncate(kept);
    kept != input.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_isspace_and_nbsp() {
        let removed: Vec<u8> = (0..=255u8).filter(|&c| removes(c)).collect();
        assert_eq!(removed, b"\t\n\x0b\x0c\r \xa0\xc2");
    }

    #[test]
    fn compress() {
        let mut out = Vec::new();
        assert!(compress_whitespace(b"a \t\r\n b\x0b\x0c", &mut out));
        assert_eq!(out, b"a b ");
        assert!(!compress_whitespace(b"a\tb", &mut out));
        assert_eq!(out, b"a b");
        assert!(!compress_whitespace(b"a\xa0\xa0b", &mut out));
    }

    #[test]
    fn remove_includes_nbsp() {
        let mut out = Vec::new();
        assert!(remove_whitespace(b"a \xa0b\x0b", &mut out));
        assert_eq!(out, b"ab");
        assert!(!remove_whitespace(b"\x85x", &mut out));
        assert!(remove_whitespace(b"a\xc2\xa0b\xc2", &mut out));
        assert_eq!(out, b"ab");
    }
}
