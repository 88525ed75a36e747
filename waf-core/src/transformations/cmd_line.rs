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
pub(super) fn leaves_unchanged(input: &[u8]) -> bool {
    let mut after_space = false;
    input.iter().all(|&b| {
        let kept = match b {
            b'"' | b'\'' | b'\\' | b'^' | b',' | b';' | b'\t' | b'\r' | b'\n' => false,
            b' ' | b'/' | b'(' => !after_space,
            _ => !b.is_ascii_uppercase(),
        };
        after_space = b == b' ';
        kept
    })
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
