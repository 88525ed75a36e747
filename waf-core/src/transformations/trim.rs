//! `t:trim`, `t:trimLeft`, `t:trimRight`: remove leading and/or trailing whitespace (the "C"
//! locale's `isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`; not NBSP).
//!
//! Example: `trim` of `" \t a b \r\n"` is `"a b"`.

use super::is_space;

fn keep(input: &[u8], out: &mut Vec<u8>, left: bool, right: bool) -> bool {
    let start = if left {
        input
            .iter()
            .position(|&c| !is_space(c))
            .unwrap_or(input.len())
    } else {
        0
    };
    let rest = &input[start..];
    let end = if right {
        rest.iter()
            .rposition(|&c| !is_space(c))
            .map_or(0, |p| p + 1)
    } else {
        rest.len()
    };
    out.clear();
    out.extend_from_slice(&rest[..end]);
    out.len() != input.len()
}

pub(super) fn trim(input: &[u8], out: &mut Vec<u8>) -> bool {
    keep(input, out, true, true)
}

pub(super) fn trim_left(input: &[u8], out: &mut Vec<u8>) -> bool {
    keep(input, out, true, false)
}

pub(super) fn trim_right(input: &[u8], out: &mut Vec<u8>) -> bool {
    keep(input, out, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_c_whitespace_only() {
        let mut out = Vec::new();
        assert!(trim(b" \t\x0ba b\r\n\x0c", &mut out));
        assert_eq!(out, b"a b");
        assert!(!trim(b"\xa0a\xa0", &mut out));
        assert!(trim(b"   ", &mut out));
        assert_eq!(out, b"");
        assert!(trim_left(b" a ", &mut out));
        assert_eq!(out, b"a ");
        assert!(trim_right(b" a ", &mut out));
        assert_eq!(out, b" a");
        assert!(!trim_right(b" a", &mut out));
    }
}
