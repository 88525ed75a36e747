//! A count's decimal text without the formatting machinery, for the hot paths that write one:
//! a logged match's ranges (CRS's 920450, once per header name), a JSON array's indexes (once
//! per element of a body), a log line's numbers (a line per match on an attack).

/// The decimal digits of `n`, written at the end of `buf`.
pub(crate) fn decimal(n: impl Into<u64>, buf: &mut [u8; 20]) -> &[u8] {
    let mut n: u64 = n.into();
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

/// The decimal digits of `n` appended to `out`.
#[inline]
pub(crate) fn push_decimal(out: &mut String, n: impl Into<u64>) {
    push_padded(out, n, 0);
}

/// [`push_decimal`] with zeros before the digits up to `width` (`format!("{n:0width$}")`).
#[inline]
pub(crate) fn push_padded(out: &mut String, n: impl Into<u64>, width: usize) {
    let mut buf = [0; 20];
    let digits = decimal(n, &mut buf);
    for _ in digits.len()..width {
        out.push('0');
    }
    // (a digit at a time: no UTF-8 check of the digits and no copy call for one to four of
    // them; 920450's `[ref]` pairs wrote ~70 numbers a 12-header GET)
    for &digit in digits {
        out.push(char::from(digit));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn as_format_writes_them() {
        for n in [0, 7, 10, 99, 1234567, u64::MAX] {
            let mut buf = [0; 20];
            assert_eq!(super::decimal(n, &mut buf), n.to_string().as_bytes());
            let mut out = String::from("x");
            super::push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
            for width in [0, 2, 6, 25] {
                let mut out = String::from("x");
                super::push_padded(&mut out, n, width);
                assert_eq!(out, format!("x{n:0width$}"));
            }
        }
    }
}
