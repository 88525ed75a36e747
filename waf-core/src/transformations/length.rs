//! `t:length`: the value's length in bytes, as decimal digits. Always reported as a change.
//!
//! Example: `"abc"` becomes `"3"`; `""` becomes `"0"`.

pub(super) fn length(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut n = input.len();
    // Digits, least significant first, then reversed: no formatting machinery, no allocation.
    loop {
        out.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_length() {
        let mut out = Vec::new();
        assert!(length(b"", &mut out));
        assert_eq!(out, b"0");
        assert!(length(&[0u8; 1234], &mut out));
        assert_eq!(out, b"1234");
    }
}
