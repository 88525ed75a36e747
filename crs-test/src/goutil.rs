//! Small re-implementations of the Go standard library functions whose exact behaviour decides the
//! bytes go-ftw sends or albedo answers: `textproto.CanonicalMIMEHeaderKey`,
//! `url.QueryEscape`/`QueryUnescape`, `base64.StdEncoding.DecodeString`,
//! `http.DetectContentType`, `http.StatusText`.

/// RFC 9110 `tchar` (Go's `httpguts.IsTokenRune` / textproto's `validHeaderFieldByte`).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: `content-type` → `Content-Type`. A key holding a byte
/// that is not a token character (a space, say) is returned unchanged.
pub(crate) fn canonical_mime_header_key(key: &str) -> String {
    if !key.bytes().all(is_tchar) {
        return key.to_string();
    }
    let mut upper = true;
    key.bytes()
        .map(|b| {
            let c = if upper {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            };
            upper = b == b'-';
            c as char
        })
        .collect()
}

/// Go's `url.QueryEscape`: everything but `[A-Za-z0-9-_.~]` is %XX-escaped, space becomes `+`.
pub(crate) fn query_escape(s: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b);
        } else if b == b' ' {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        }
    }
    out
}

/// Go's `url.QueryUnescape`: `+` becomes a space, `%XX` a byte; a `%` without two hex digits
/// after it is an error.
pub(crate) fn query_unescape(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                let hi = s.get(i + 1).and_then(|&c| hex_val(c))?;
                let lo = s.get(i + 2).and_then(|&c| hex_val(c))?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

pub(crate) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Go's `base64.StdEncoding.DecodeString`: standard alphabet, `=` padding required, `\r` and `\n`
/// anywhere are ignored; anything else is an error (`None`).
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = s.bytes().filter(|&b| b != b'\r' && b != b'\n').collect();
    if clean.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    let quads = clean.len() / 4;
    for (qi, q) in clean.chunks(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && qi + 1 != quads) {
            return None;
        }
        let mut n: u32 = 0;
        for &b in &q[..4 - pad] {
            n = n << 6 | val(b)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// Go's `net/http.DetectContentType` (the WHATWG sniffing table Go ships, first 512 bytes).
pub(crate) fn detect_content_type(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(512)];
    let is_ws = |b: u8| matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ');
    let first_non_ws = data.iter().position(|&b| !is_ws(b)).unwrap_or(data.len());
    let rest = &data[first_non_ws..];

    const HTML: [&[u8]; 17] = [
        b"<!DOCTYPE HTML",
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
    ];
    for sig in HTML {
        if rest.len() > sig.len()
            && sig.iter().zip(rest).all(|(&s, &d)| {
                let d = if s.is_ascii_uppercase() { d & 0xDF } else { d };
                s == d
            })
            && matches!(rest[sig.len()], b' ' | b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if rest.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    const EXACT: [(&[u8], &str); 15] = [
        (b"%PDF-", "application/pdf"),
        (b"%!PS-Adobe-", "application/postscript"),
        (b"\xFE\xFF", "text/plain; charset=utf-16be"),
        (b"\xFF\xFE", "text/plain; charset=utf-16le"),
        (b"\xEF\xBB\xBF", "text/plain; charset=utf-8"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"BM", "image/bmp"),
        (b"\x00\x00\x01\x00", "image/vnd.microsoft.icon"),
        (b"\x1A\x45\xDF\xA3", "video/webm"),
        (b"Rar \x1A\x07\x00", "application/x-rar-compressed"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1F\x8B\x08", "application/x-gzip"),
    ];
    for (sig, ct) in EXACT {
        // The BOM signatures are masked 4-byte patterns in Go: they need 4 bytes of data.
        let need = if ct.starts_with("text/plain") {
            4
        } else {
            sig.len()
        };
        if data.len() >= need && data.starts_with(sig) {
            return ct;
        }
    }
    // Text: no byte in the C0 ranges that mark binary data (after leading whitespace).
    if rest.iter().all(|&b| {
        !(b <= 0x08 || b == 0x0B || (0x0E..=0x1A).contains(&b) || (0x1C..=0x1F).contains(&b))
    }) {
        return "text/plain; charset=utf-8";
    }
    "application/octet-stream"
}

/// Go's `http.StatusText`, for the status line of a rendered response.
pub(crate) fn status_text(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Request Entity Too Large",
        414 => "Request URI Too Long",
        415 => "Unsupported Media Type",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keys() {
        assert_eq!(canonical_mime_header_key("content-type"), "Content-Type");
        assert_eq!(canonical_mime_header_key("X_Filename"), "X_filename");
        assert_eq!(canonical_mime_header_key("x-cRS-test"), "X-Crs-Test");
        assert_eq!(canonical_mime_header_key("bad key"), "bad key");
    }

    #[test]
    fn query_escaping_like_go() {
        assert_eq!(query_escape(b"1234 OR 1=1"), b"1234+OR+1%3D1");
        assert_eq!(query_escape(b"a-_.~/?&"), b"a-_.~%2F%3F%26");
        assert_eq!(query_unescape(b"a+b%41").unwrap(), b"a bA");
        assert!(query_unescape(b"100%").is_none());
        assert!(query_unescape(b"%zz").is_none());
    }

    #[test]
    fn base64_like_go() {
        assert_eq!(base64_decode("R0VU").unwrap(), b"GET");
        assert_eq!(base64_decode("SGk=\r\n").unwrap(), b"Hi");
        assert_eq!(base64_decode("SA==").unwrap(), b"H");
        assert!(base64_decode("SGk").is_none());
        assert!(base64_decode("S===").is_none());
        assert!(base64_decode("SA==SA==").is_none());
        assert!(base64_decode("S*k=").is_none());
    }

    #[test]
    fn sniffing_like_go() {
        assert_eq!(detect_content_type(b"Hello"), "text/plain; charset=utf-8");
        assert_eq!(
            detect_content_type(b"<?php echo 1 ?>"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            detect_content_type(b"  <html><body>"),
            "text/html; charset=utf-8"
        );
        assert_eq!(detect_content_type(b"<b>x</b>"), "text/html; charset=utf-8");
        assert_eq!(
            detect_content_type(b"<?xml version=\"1.0\"?>"),
            "text/xml; charset=utf-8"
        );
        assert_eq!(detect_content_type(b"\x00\x01"), "application/octet-stream");
        assert_eq!(detect_content_type(b"%PDF-1.4"), "application/pdf");
    }
}
