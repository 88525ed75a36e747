//! A count's decimal text without the formatting machinery, for the hot paths that write one:
//! a logged match's ranges (CRS's 920450, once per header name), a JSON array's indexes (once
//! per element of a body).

/// The decimal digits of `n`, written at the end of `buf`.
pub(crate) fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[at..]
}

#[cfg(test)]
mod tests {
    #[test]
    fn as_format_writes_them() {
        for n in [0, 7, 10, 99, 1234567, usize::MAX] {
            let mut buf = [0; 20];
            assert_eq!(super::decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }
}
