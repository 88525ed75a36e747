//! libmodsecurity's native audit log format (`SecAuditLogFormat Native`, the default), as
//! 3.0.15's `Transaction::toOldAuditLogFormat` writes it: sections headed
//! `---<8 random characters>---<part>--`, `A` and `Z` always present, `D`, `G`, `I`, `J`
//! and `K` written empty (libmodsecurity fills none of them), `C` and `E` only when there is
//! a body, and one empty line after the place of `F` whether or not `F` is written.

use super::record::{hex_if_needed, serial_time, Record};
use super::{PART_B, PART_C, PART_D, PART_E, PART_F, PART_G, PART_H, PART_I, PART_J, PART_K};

/// The record in Serial format; `boundary`: the 8 random characters of this record.
pub(crate) fn render(r: &Record<'_>, parts: u32, boundary: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + r.request_body.len() + r.response_body.len());
    let head = |out: &mut Vec<u8>, part: char| {
        out.extend_from_slice(format!("---{boundary}---{part}--\n").as_bytes());
    };
    head(&mut out, 'A');
    out.extend_from_slice(
        format!(
            "{} {} {} ",
            serial_time(r.started),
            r.unique_id,
            r.client_ip
        )
        .as_bytes(),
    );
    out.extend_from_slice(r.client_port);
    out.push(b' ');
    out.extend_from_slice(r.server_ip.as_bytes());
    out.push(b' ');
    out.extend_from_slice(r.server_port);
    out.push(b'\n');
    if parts & PART_B != 0 {
        head(&mut out, 'B');
        out.extend_from_slice(if r.method.is_empty() { b"-" } else { r.method });
        out.push(b' ');
        out.extend_from_slice(r.uri);
        out.extend_from_slice(b" HTTP/");
        out.extend_from_slice(r.http_version);
        out.push(b'\n');
        header_lines(&mut out, &r.request_headers);
        out.push(b'\n');
    }
    if parts & PART_C != 0 && !r.request_body.is_empty() {
        head(&mut out, 'C');
        out.extend_from_slice(r.request_body);
        out.extend_from_slice(b"\n\n");
    }
    if parts & PART_D != 0 {
        head(&mut out, 'D');
        out.push(b'\n');
    }
    if parts & PART_E != 0 && !r.response_body.is_empty() {
        head(&mut out, 'E');
        out.extend_from_slice(&hex_if_needed(r.response_body));
        out.extend_from_slice(b"\n\n");
    }
    if parts & PART_F != 0 {
        head(&mut out, 'F');
        out.extend_from_slice(b"HTTP/");
        out.extend_from_slice(r.http_version);
        out.extend_from_slice(format!(" {}\n", r.status).as_bytes());
        header_lines(&mut out, &r.response_headers);
    }
    // libmodsecurity ends F's section outside its `if`: the empty line is always there
    out.push(b'\n');
    if parts & PART_G != 0 {
        head(&mut out, 'G');
        out.push(b'\n');
    }
    if parts & PART_H != 0 {
        head(&mut out, 'H');
        for m in r.messages {
            // the line of the log callback, an interrupting rule's with the response status
            out.extend_from_slice(m.log_line(true, Some(r.status), false).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    for (bit, part) in [(PART_I, 'I'), (PART_J, 'J'), (PART_K, 'K')] {
        if parts & bit != 0 {
            head(&mut out, part);
            out.push(b'\n');
        }
    }
    head(&mut out, 'Z');
    out.push(b'\n');
    out
}

fn header_lines(out: &mut Vec<u8>, headers: &[(&[u8], &[u8])]) {
    for (name, value) in headers {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.push(b'\n');
    }
}
