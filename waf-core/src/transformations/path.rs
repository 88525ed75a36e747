//! `t:normalizePath` (`t:normalisePath`), `t:normalizePathWin` (`t:normalisePathWin`): collapse
//! `//`, `/./` and `/segment/../` in a path. The Windows variant first reads `\` as `/`.
//!
//! This is libmodsecurity's `normalize_path_inplace`, step for step: it works in place with a
//! read and a write position, and its corner cases (a relative path that climbs above its start
//! keeps its `..`; a trailing `/` is kept only when the input had one) are easiest to keep by
//! doing the same. The output buffer holds the copy being rewritten.
//!
//! The "changed" flag is libmodsecurity's, which misses a back-reference at the very end:
//! `"a/b/.."` becomes `"a"` (and `"lt.."` becomes `""`) without a reported change.
//!
//! Example: `"/a/b/../c/./d//e"` becomes `"/a/c/d/e"`; `normalizePathWin` of `"a\\..\\..\\b"`
//! becomes `"../b"`.

pub(super) fn normalize_path(input: &[u8], out: &mut Vec<u8>) -> bool {
    normalize(input, out, false)
}

pub(super) fn normalize_path_win(input: &[u8], out: &mut Vec<u8>) -> bool {
    normalize(input, out, true)
}

fn normalize(input: &[u8], out: &mut Vec<u8>, win: bool) -> bool {
    out.clear();
    if input.is_empty() {
        return false;
    }
    out.extend_from_slice(input);
    let buf = out;
    let is_sep = |c: u8| c == b'/' || (win && c == b'\\');

    let end = buf.len() - 1;
    let relative = !is_sep(buf[0]);
    let trailing = is_sep(buf[end]);
    let mut changed = false;
    let mut hit_root = false;
    let mut done = false;
    // `dst` can point before the start for a moment (libmodsecurity's `dst -= 3`): signed.
    let (mut src, mut dst): (usize, isize) = (0, 0);

    while !done && src <= end && dst <= end as isize {
        if win {
            if buf[src] == b'\\' {
                buf[src] = b'/';
                changed = true;
            }
            if src < end && buf[src + 1] == b'\\' {
                buf[src + 1] = b'/';
                changed = true;
            }
        }

        // Normalise at the end of each segment (and at the end of the input); elsewhere copy.
        let mut normalise = true;
        if src == end {
            done = true;
        } else if buf[src + 1] != b'/' {
            normalise = false;
        }

        if normalise {
            let d = dst as usize; // dst >= 0 between iterations.
            if src != end && buf[src] == b'/' {
                // An empty segment: the copy below skips the repeated slashes.
                changed = true;
            } else if buf[src] == b'.' {
                if d > 0 && buf[d - 1] == b'.' {
                    // A back-reference.
                    if relative && (hit_root || dst - 2 <= 0) {
                        // Nothing to remove above a relative start: keep the "..".
                        hit_root = true;
                    } else {
                        // Remove the ".." and the segment before it.
                        dst -= 3;
                        while dst > 0 && buf[dst as usize] != b'/' {
                            dst -= 1;
                        }
                        // But not above the root.
                        if dst <= 0 {
                            hit_root = true;
                            dst = 0;
                            // Keep the root slash when the input ends on the back-reference.
                            if !relative && src == end {
                                dst += 1;
                            }
                        }
                        if done {
                            continue;
                        }
                        src += 1;
                        changed = true;
                    }
                } else if d == 0 {
                    // A relative self-reference: drop it.
                    changed = true;
                    if done {
                        continue;
                    }
                    src += 1;
                } else if buf[d - 1] == b'/' {
                    // A self-reference: drop it and its slash.
                    changed = true;
                    if done {
                        continue;
                    }
                    dst -= 1;
                    src += 1;
                }
            } else if d > 0 {
                // A regular segment.
                hit_root = false;
            }
        }

        // Copy one byte, skipping to the last of several slashes.
        if buf[src] == b'/' {
            let old = src;
            while src < end && is_sep(buf[src + 1]) {
                src += 1;
            }
            if old != src {
                changed = true;
            }
            // A relative path does not start with the slash: move over it.
            if relative && dst == 0 {
                src += 1;
                continue;
            }
        }
        buf[dst as usize] = buf[src];
        dst += 1;
        src += 1;
    }

    let mut len = dst.max(0) as usize;
    // No trailing slash unless the input had one.
    if !trailing && len > 0 && buf[len - 1] == b'/' {
        len -= 1;
    }
    buf.truncate(len);
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::run;

    #[test]
    fn collapses_segments() {
        assert_eq!(
            run(normalize_path, b"/a/b/../c/./d//e"),
            (b"/a/c/d/e".to_vec(), true)
        );
        assert_eq!(
            run(normalize_path, b"/../../etc/passwd"),
            (b"/etc/passwd".to_vec(), true)
        );
        assert_eq!(
            run(normalize_path, b"../../etc"),
            (b"../../etc".to_vec(), false)
        );
        assert_eq!(run(normalize_path, b"a/../../b"), (b"../b".to_vec(), true));
        // The root slash is kept, then dropped as a trailing slash the input did not have.
        assert_eq!(run(normalize_path, b"/a/.."), (b"".to_vec(), false));
        assert_eq!(run(normalize_path, b"./a/"), (b"a/".to_vec(), true));
        assert_eq!(run(normalize_path, b"/a/b"), (b"/a/b".to_vec(), false));
        assert_eq!(run(normalize_path, b""), (b"".to_vec(), false));
    }

    #[test]
    fn a_final_back_reference_is_not_reported() {
        assert_eq!(run(normalize_path, b"ab/.."), (b"".to_vec(), false));
        assert_eq!(run(normalize_path, b"lt.."), (b"".to_vec(), false));
        assert_eq!(run(normalize_path, b"ab/c.."), (b"ab".to_vec(), false));
        assert_eq!(run(normalize_path, b"a.."), (b"a..".to_vec(), false));
    }

    #[test]
    fn windows_reads_backslashes_as_slashes() {
        assert_eq!(
            run(normalize_path_win, b"a\\..\\..\\b"),
            (b"../b".to_vec(), true)
        );
        assert_eq!(
            run(normalize_path_win, b"\\a\\\\b\\"),
            (b"/a/b/".to_vec(), true)
        );
        assert_eq!(
            run(normalize_path, b"a\\..\\b"),
            (b"a\\..\\b".to_vec(), false)
        );
    }
}
