//! `t:cmdLine`: normalises a command line the way an attacker's shell would read it. Deletes
//! `"`, `'`, `\` and `^`; turns each run of space, `,`, `;`, `\t`, `\r`, `\n` into one space;
//! drops a space before `/` or `(`; lowercases ASCII letters.
//!
//! The "changed" flag is libmodsecurity's: it reports only a change of length, so
//! `"ABC"` → `"abc"` is not a change.
//!
//! Example: `"C^OMMAND /C DIR"` becomes `"command/c dir"`.

pub(super) fn cmd_line(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let mut space = false;
    for &c in input {
        match c {
            b'"' | b'\'' | b'\\' | b'^' => {}
            b' ' | b',' | b';' | b'\t' | b'\r' | b'\n' => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            b'/' | b'(' => {
                if space {
                    out.pop();
                }
                space = false;
                out.push(c);
            }
            _ => {
                out.push(c.to_ascii_lowercase());
                space = false;
            }
        }
    }
    out.len() != input.len()
}

/// Whether [`cmd_line`] gives `input` back as it is: no byte it deletes, lowercases or turns
/// into a space, and every space alone and not before a `/` or `(`. (A single space between
/// words, as in most text, stays: told by this scan, such a value is neither transformed nor
/// copied.)
///
/// (Without a branch per byte: a table gives each byte's class, and a chunk's bytes are all
/// read before the verdict is looked at; the one pass with a `match` per byte, which a 1 MB
/// form's words made 6% of its time, took twice the instructions.)
pub(super) fn leaves_unchanged(input: &[u8]) -> bool {
    /// Acted on wherever it is.
    const ALONE: u8 = 1;
    /// Acted on after a space.
    const AFTER_SPACE: u8 = 2;
    static CLASS: [u8; 256] = {
        let mut t = [0; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = match b as u8 {
                b'"' | b'\'' | b'\\' | b'^' | b',' | b';' | b'\t' | b'\r' | b'\n' => ALONE,
                b'A'..=b'Z' => ALONE,
                b' ' | b'/' | b'(' => AFTER_SPACE,
                _ => 0,
            };
            b += 1;
        }
        t
    };
    let mut after_space = 0u8;
    for chunk in input.chunks(32) {
        let mut acted = 0u8;
        for &b in chunk {
            let class = CLASS[usize::from(b)];
            acted |= class & (ALONE | after_space);
            after_space = u8::from(b == b' ') * AFTER_SPACE;
        }
        if acted != 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_reports_only_length_changes() {
        let mut out = Vec::new();
        assert!(cmd_line(b"\"command\" ,; /c DiR", &mut out));
        assert_eq!(out, b"command/c dir");
        assert!(!cmd_line(b"ABC", &mut out));
        assert_eq!(out, b"abc");
        // The space before '/' goes even when it came from a run.
        assert!(cmd_line(b"a \t(b", &mut out));
        assert_eq!(out, b"a(b");
    }

    #[test]
    fn a_lone_space_is_left_as_it_is() {
        assert!(leaves_unchanged(b"soft cotton hoodie/x(y)"));
        for changed in [&b"a  b"[..], b"a /b", b"a (b", b"A b", b"a,b", b"a'b"] {
            assert!(!leaves_unchanged(changed), "{changed:?}");
        }
    }
}
