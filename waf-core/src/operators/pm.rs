//! `@pm` and `@pmFromFile` / `@pmf`: phrase matching.
//!
//! **Description.** True when one of the phrases occurs in the value, ASCII case-insensitively,
//! as libmodsecurity's Aho-Corasick matcher (`utils/acmp.cc`) decides it. That matcher has
//! quirks that change verdicts, all verified against libmodsecurity 3.0.15 and reproduced
//! here:
//! - its failure links follow only one step (a node's link is its parent's link's child, or
//!   the root), so some occurrences are missed: with the phrases `xabyq abz by`, the value
//!   `xaby` does not match, although it contains `by`;
//! - when an occurrence is found through a failure link, the reported phrase (`TX:0` with
//!   `capture`) is the text of the trie node reached, not the phrase: with `abcd bc`, the
//!   value `abcx` matches and `TX:0` is `abc`;
//! - a phrase that contains a NUL byte (`|00|`) matches as bytes, but `TX:0` stops at the NUL.
//!
//! The tree is walked only on values that hold one of the phrases (ASCII case aside): the
//! grouped matcher ([`crate::matcher`]) searches for the phrases of the request phases' lists
//! together with the other rules' literals, in the one scan each value gets. (A prefilter of
//! its own in front of each list, tried before, cost a fifth of the load time and 2 MB, for a
//! walk that costs about what an automaton's does: the root's children are a table indexed by
//! byte, so a byte that starts no phrase costs one load.)
//!
//! **Arguments.** `@pm`: the argument is first decoded as libmodsecurity 3.0.15's
//! `parse_pm_content` does (leading blanks skipped, one pair of surrounding `"` removed,
//! `|41 42|`-style hex only with hex digits between the bars, `\:` `\;` `\\` `\"` escapes);
//! if that decoding fails (any other character between bars, so `|41 42|` with its space,
//! or another escape) the argument is used as written. The result is split on white space.
//! `@pmFromFile`: file names separated by spaces, each found as the path given then beside
//! the rule's file; every line that is not empty and not a `#` comment (blanks allowed before
//! the `#`) is a phrase, taken whole (trailing blanks, a `\r`, and a `#` after text included).
//! `https://` sources are refused (this build downloads nothing).
//!
//! **Captures.** `TX:0`: the matched text (see above).
//!
//! **Example.** `SecRule REQUEST_FILENAME "@pmFromFile restricted-files.data" "id:1,phase:1,deny"`

use super::{find_resource, read_resource, CompileContext, Operator, OperatorContext};
use crate::regex::RequiredBytes;
use crate::shared_cache::SharedCache;
use std::sync::Arc;

const ROOT: u32 = 0;

/// A node of the built tree: its children are at `first..first + count` of the edge arrays
/// (CRS's phrase files make ~100,000 nodes; one allocation per node's children cost
/// megabytes).
#[derive(Debug, Clone)]
struct Node {
    first: u32,
    count: u16,
    is_last: bool,
    other_match: bool,
    fail: u32,
    phrase: u32,
    depth: u32,
}

/// `@pm`/`@pmFromFile`: its phrase tree, shared with the other rules (and rule sets) that
/// have the same phrases (CRS gives two rules each of `lfi-os-files.data` and
/// `unix-shell.data`; a reload compiles them all again).
#[derive(Debug, Clone)]
pub struct Pm {
    tree: Arc<Acmp>,
}

type Phrases = Arc<PhraseList>;

/// The phrases end to end in one buffer: CRS's phrase files hold ~6,000 phrases, and one
/// allocation each cost more than their text.
type PhraseList = crate::ragged::Ragged<u8>;

static TREES: SharedCache<Phrases, Acmp> = SharedCache::new();

/// The phrase set, as libmodsecurity's `ACMP` tree.
#[derive(Debug)]
struct Acmp {
    nodes: Vec<Node>,
    /// Every node's children as (lowercased byte, node), sorted per node, in two arrays (as
    /// tuples, padding was 3 bytes in 8).
    letters: Vec<u8>,
    targets: Vec<u32>,
    phrases: Phrases,
    /// The root's child for each (lowercased) byte, `ROOT` for none: most bytes of a value
    /// start no phrase, and are passed over here without a search of the root's children.
    root: Box<[u32; 256]>,
    /// Bytes one of which every match holds ([`RequiredBytes::of_phrases`]).
    required: Option<RequiredBytes>,
}

/// `isspace` in the "C" locale: what `std::istream >> std::string` splits on.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// libmodsecurity 3.0.15's `parse_pm_content`: `None` where it gives up (and the argument is
/// then used as written).
fn parse_pm_content(param: &[u8]) -> Option<Vec<u8>> {
    let offset = param.iter().position(|&b| b != b' ' && b != b'\t')?;
    let mut body = &param[offset..];
    if body.len() >= 2 && body[0] == b'"' && body[body.len() - 1] == b'"' {
        body = &body[1..body.len() - 1];
    }
    if body.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let (mut bin, mut esc) = (false, false);
    let mut hex = [0u8; 2];
    let mut hex_len = 0;
    for &c in body {
        if c == b'|' {
            bin = !bin;
        } else if !esc && c == b'\\' {
            esc = true;
        } else if bin {
            if !c.is_ascii_hexdigit() {
                return None;
            }
            hex[hex_len] = c;
            hex_len += 1;
            if hex_len == 2 {
                let v = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
                out.push(v(hex[0]) << 4 | v(hex[1]));
                hex_len = 0;
            }
        } else if esc {
            if !matches!(c, b':' | b';' | b'\\' | b'"') {
                return None;
            }
            out.push(c);
            esc = false;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// libmodsecurity's `PmFromFile::isComment`.
fn is_comment(line: &[u8]) -> bool {
    match line.iter().position(|&b| b == b'#') {
        _ if line.is_empty() => true,
        Some(p) => line[..p].iter().all(|&b| is_c_space(b)),
        None => false,
    }
}

impl Pm {
    fn new(mut phrases: PhraseList) -> Pm {
        phrases.shrink_to_fit();
        let phrases = Arc::new(phrases);
        let tree = TREES.get_or_insert(
            &phrases,
            || Arc::clone(&phrases),
            || Acmp::new(Arc::clone(&phrases)),
        );
        Pm { tree }
    }

    /// `@pm` with its argument.
    pub(crate) fn from_param(param: &str) -> Pm {
        let content =
            parse_pm_content(param.as_bytes()).unwrap_or_else(|| param.as_bytes().to_vec());
        let mut phrases = PhraseList::default();
        for p in content.split(|&b| is_c_space(b)).filter(|p| !p.is_empty()) {
            phrases.push(p);
        }
        Pm::new(phrases)
    }

    /// Both have the one tree (built once).
    #[cfg(test)]
    pub(crate) fn same_tree(&self, other: &Pm) -> bool {
        Arc::ptr_eq(&self.tree, &other.tree)
    }

    /// `@pmFromFile` with its argument (file names).
    pub(crate) fn from_files(param: &str, ctx: &mut CompileContext<'_>) -> Result<Pm, String> {
        let mut phrases = PhraseList::default();
        for name in param.split(' ').filter(|t| !t.is_empty()) {
            if name.starts_with("https://") {
                return Err(format!(
                    "@pmFromFile: '{name}': downloading phrase lists is not supported by this build"
                ));
            }
            let path = find_resource(name, ctx)
                .map_err(|e| format!("Failed to open file: '{name}'. {e}"))?;
            let data = read_resource("pmFromFile", name, &path, ctx)?;
            if phrases.items_len() + data.len() > u32::MAX as usize {
                return Err(format!("@pmFromFile: '{name}': the phrase lists pass 4 GB"));
            }
            let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
            if data.last() == Some(&b'\n') {
                lines.pop();
            }
            for line in lines.into_iter().filter(|l| !is_comment(l)) {
                phrases.push(line);
            }
        }
        Ok(Pm::new(phrases))
    }
}

impl Acmp {
    fn new(phrases: Phrases) -> Acmp {
        // The phrases are inserted in the order of their lowercased bytes: a node's children
        // are then made in the order of their letters, so a phrase's next letter is either
        // the last child made at its node or a new one, and children are kept as sibling
        // links (one vector per node was ~85,000 small allocations for CRS's phrase files,
        // half the time of a load's phrase trees). A node's text is that of the first phrase,
        // in the file's order, through it.
        const NONE: u32 = u32::MAX;
        let lower = |i: u32| phrases.get(i as usize).iter().map(u8::to_ascii_lowercase);
        let mut order: Vec<u32> = (0..phrases.len() as u32).collect();
        order.sort_by(|&a, &b| lower(a).cmp(lower(b)));
        let mut nodes = vec![Node {
            first: 0,
            count: 0,
            is_last: false,
            other_match: false,
            fail: ROOT,
            phrase: 0,
            depth: 0,
        }];
        let (mut first_child, mut last_child, mut next_sibling, mut letter_of) =
            (vec![NONE], vec![NONE], vec![NONE], vec![0u8]);
        for &pi in &order {
            let phrase = phrases.get(pi as usize);
            let mut cur = ROOT;
            for (i, &b) in phrase.iter().enumerate() {
                let letter = b.to_ascii_lowercase();
                let last = last_child[cur as usize];
                let next = if last != NONE && letter_of[last as usize] == letter {
                    last
                } else {
                    let id = nodes.len() as u32;
                    nodes.push(Node {
                        first: 0,
                        count: 0,
                        is_last: false,
                        other_match: false,
                        fail: ROOT,
                        phrase: pi,
                        depth: i as u32 + 1,
                    });
                    first_child.push(NONE);
                    last_child.push(NONE);
                    next_sibling.push(NONE);
                    letter_of.push(letter);
                    if last == NONE {
                        first_child[cur as usize] = id;
                    } else {
                        next_sibling[last as usize] = id;
                    }
                    last_child[cur as usize] = id;
                    id
                };
                let n = &mut nodes[next as usize];
                n.phrase = n.phrase.min(pi);
                if i + 1 == phrase.len() {
                    n.is_last = true;
                }
                cur = next;
            }
        }
        // (grown by pushes: the rule set keeps it for its lifetime)
        nodes.shrink_to_fit();
        let mut letters = Vec::with_capacity(nodes.len());
        let mut targets = Vec::with_capacity(nodes.len());
        for (id, n) in nodes.iter_mut().enumerate() {
            n.first = letters.len() as u32;
            let mut c = first_child[id];
            while c != NONE {
                letters.push(letter_of[c as usize]);
                targets.push(c);
                c = next_sibling[c as usize];
            }
            n.count = (letters.len() - n.first as usize) as u16;
        }
        let mut acmp = Acmp {
            nodes,
            letters,
            targets,
            required: RequiredBytes::of_phrases(phrases.iter()),
            phrases,
            root: Box::new([ROOT; 256]),
        };
        // Failure links, level by level, as acmp_connect_fail_branches sets them: one step
        // from the parent's link, else the root.
        let mut level: Vec<(u32, u8, u32)> = acmp.edges(ROOT).collect();
        while !level.is_empty() {
            let mut next_level = Vec::new();
            for &(parent, letter, node) in &level {
                let fail = if parent == ROOT {
                    ROOT
                } else {
                    let parent_fail = acmp.nodes[parent as usize].fail;
                    acmp.child_in_edges(parent_fail, letter).unwrap_or(ROOT)
                };
                // The failure node is shallower, so its own `other_match` is already known.
                let f = &acmp.nodes[fail as usize];
                let other = fail != ROOT && (f.is_last || f.other_match);
                let n = &mut acmp.nodes[node as usize];
                n.fail = fail;
                n.other_match = other;
                next_level.extend(acmp.edges(node));
            }
            level = next_level;
        }
        for b in 0..=255u8 {
            acmp.root[usize::from(b)] = acmp
                .child_in_edges(ROOT, b.to_ascii_lowercase())
                .unwrap_or(ROOT);
        }
        acmp
    }

    /// Where `node`'s edges are in the edge arrays.
    fn edge_range(&self, node: u32) -> std::ops::Range<usize> {
        let n = &self.nodes[node as usize];
        n.first as usize..n.first as usize + usize::from(n.count)
    }

    /// `node`'s edges as (node, letter, child).
    fn edges(&self, node: u32) -> impl Iterator<Item = (u32, u8, u32)> + '_ {
        self.edge_range(node)
            .map(move |e| (node, self.letters[e], self.targets[e]))
    }

    /// `node`'s child for `letter`, from the edge arrays.
    fn child_in_edges(&self, node: u32, letter: u8) -> Option<u32> {
        let at = self.edge_range(node);
        self.letters[at.clone()]
            .binary_search(&letter)
            .ok()
            .map(|i| self.targets[at.start + i])
    }

    fn child(&self, node: u32, letter: u8) -> Option<u32> {
        if node == ROOT {
            return Some(self.root[usize::from(letter)]).filter(|&c| c != ROOT);
        }
        self.child_in_edges(node, letter)
    }

    /// The node where libmodsecurity's `acmp_process_quick` reports a match.
    /// The matching node and the index of the byte where it matched (libmodsecurity's
    /// `acmp_process_quick` return value).
    fn find(&self, value: &[u8]) -> Option<(u32, usize)> {
        let nodes = &self.nodes;
        let mut node = ROOT;
        for (i, &b) in value.iter().enumerate() {
            let letter = b.to_ascii_lowercase();
            let mut go_to;
            loop {
                go_to = self.child(node, letter);
                if let Some(g) = go_to {
                    if nodes[g as usize].is_last {
                        return Some((g, i));
                    }
                    break;
                }
                if node == ROOT {
                    break;
                }
                node = nodes[node as usize].fail;
            }
            if let Some(g) = go_to {
                node = g;
            }
            if nodes[node as usize].other_match {
                return Some((node, i));
            }
        }
        None
    }

    /// A node's text, cut at a NUL byte as the C string it is in libmodsecurity.
    fn text(&self, node: u32) -> &[u8] {
        let n = &self.nodes[node as usize];
        let t = &self.phrases.get(n.phrase as usize)[..n.depth as usize];
        match t.iter().position(|&b| b == 0) {
            Some(z) => &t[..z],
            None => t,
        }
    }
}

impl Operator for Pm {
    fn is_pure(&self) -> bool {
        true
    }

    fn required_bytes(&self) -> Option<&RequiredBytes> {
        self.tree.required.as_ref()
    }

    /// The phrases: the tree finds only phrases that occur in the value (its failure links
    /// lead to suffixes of what it has read, if not to all of them), so a value that holds
    /// none of them does not match. `None` with an empty phrase.
    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        let phrases = &self.tree.phrases;
        if phrases.iter().any(<[u8]>::is_empty) {
            return None;
        }
        Some(phrases.iter().map(<[u8]>::to_ascii_lowercase).collect())
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let tree = &*self.tree;
        match tree.find(value) {
            Some((node, at)) => {
                let text = tree.text(node);
                // libmodsecurity logs `rc - strlen(match) + 1`: the match's start
                ctx.match_range((at + 1).saturating_sub(text.len()), text.len());
                if ctx.capturing() {
                    ctx.capture(0, text);
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::testing::{eval, op, try_op_in, Cx};

    /// libmodsecurity's `acmp` as it builds its tree: phrases in the file's order, each node's
    /// children in a sorted list, links one step from the parent's; its search, as
    /// `acmp_process_quick`. The reference for the tree [`Acmp::new`] builds another way.
    fn reference_find(phrases: &[&[u8]], value: &[u8]) -> Option<(Vec<u8>, usize)> {
        struct N {
            children: Vec<(u8, usize)>,
            fail: usize,
            last: bool,
            other: bool,
            text: Vec<u8>,
        }
        let child =
            |n: &[N], at: usize, l: u8| n[at].children.iter().find(|c| c.0 == l).map(|c| c.1);
        let mut n = vec![N {
            children: vec![],
            fail: 0,
            last: false,
            other: false,
            text: vec![],
        }];
        for p in phrases {
            let mut cur = 0;
            for (i, &b) in p.iter().enumerate() {
                let l = b.to_ascii_lowercase();
                cur = match child(&n, cur, l) {
                    Some(c) => c,
                    None => {
                        n.push(N {
                            children: vec![],
                            fail: 0,
                            last: false,
                            other: false,
                            text: p[..=i].to_vec(),
                        });
                        let id = n.len() - 1;
                        n[cur].children.push((l, id));
                        id
                    }
                };
                if i + 1 == p.len() {
                    n[cur].last = true;
                }
            }
        }
        let mut level: Vec<(usize, u8, usize)> =
            n[0].children.iter().map(|&(l, c)| (0, l, c)).collect();
        while !level.is_empty() {
            let mut next = Vec::new();
            for &(parent, l, node) in &level {
                let fail = if parent == 0 {
                    0
                } else {
                    child(&n, n[parent].fail, l).unwrap_or(0)
                };
                n[node].fail = fail;
                n[node].other = fail != 0 && (n[fail].last || n[fail].other);
                next.extend(n[node].children.iter().map(|&(l2, c)| (node, l2, c)));
            }
            level = next;
        }
        let mut node = 0;
        for (i, &b) in value.iter().enumerate() {
            let l = b.to_ascii_lowercase();
            let go = loop {
                if let Some(g) = child(&n, node, l) {
                    if n[g].last {
                        return Some((n[g].text.clone(), i));
                    }
                    break Some(g);
                }
                if node == 0 {
                    break None;
                }
                node = n[node].fail;
            };
            if let Some(g) = go {
                node = g;
            }
            if n[node].other {
                return Some((n[node].text.clone(), i));
            }
        }
        None
    }

    proptest::proptest! {
        /// The tree built in sorted order finds what libmodsecurity's finds, node text and
        /// place included, whatever the phrases' order and case.
        #[test]
        fn the_tree_finds_what_the_reference_finds(
            phrases in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(&b"abAB\x00c"[..]), 0..5), 0..8),
            value in proptest::collection::vec(proptest::sample::select(&b"abABcx"[..]), 0..16),
        ) {
            let mut list = PhraseList::default();
            for p in &phrases {
                list.push(p);
            }
            let tree = Acmp::new(Arc::new(list));
            let found = tree.find(&value).map(|(node, at)| {
                let n = &tree.nodes[node as usize];
                (tree.phrases.get(n.phrase as usize)[..n.depth as usize].to_vec(), at)
            });
            let refs: Vec<&[u8]> = phrases.iter().map(|p| &p[..]).collect();
            proptest::prop_assert_eq!(found, reference_find(&refs, &value));
        }
    }

    fn tx0(param: &str, value: &[u8]) -> Option<Vec<u8>> {
        let o = op(&format!("@pm {param}"));
        let mut cx = Cx {
            capture: true,
            ..Cx::default()
        };
        o.evaluate(&mut cx, value)
            .then(|| cx.tx.remove(&0).unwrap_or_default())
    }

    #[test]
    fn acmp_quirks() {
        // One-step failure links miss `by` here (libmodsecurity 3.0.15 does too).
        assert_eq!(tx0("xabyq abz by", b"xaby"), None);
        assert_eq!(tx0("xabyq abz by", b"zby"), Some(b"by".to_vec()));
        // The reported text is the trie node's.
        assert_eq!(tx0("abcd bc", b"abcx"), Some(b"abc".to_vec()));
        assert_eq!(tx0("x é", b"x"), Some(b"x".to_vec()));
        assert_eq!(tx0("x é", "aé".as_bytes()), Some("é".as_bytes().to_vec()));
        assert_eq!(tx0("AbC", b"xabc"), Some(b"AbC".to_vec()));
    }

    #[test]
    fn hex_and_escapes() {
        assert_eq!(tx0("|41 42|", b"AB"), None);
        assert_eq!(tx0("|41 42|", b"|41"), Some(b"|41".to_vec()));
        assert_eq!(tx0("|4a|", b"J"), Some(b"J".to_vec()));
        assert_eq!(tx0("|4||1|", b"a"), Some(b"A".to_vec()));
        assert_eq!(tx0("|41", b"a"), Some(b"A".to_vec()));
        assert_eq!(tx0("a|20|b", b"b"), Some(b"b".to_vec()));
        assert_eq!(tx0("x|00|y", b"x"), None);
        assert_eq!(tx0("x|00|y", b"x\0y"), Some(b"x".to_vec()));
        assert_eq!(tx0("a\\:b", b"a:bb"), Some(b"a:b".to_vec()));
        assert_eq!(tx0("a\\x", b"a\\x"), Some(b"a\\x".to_vec()));
        assert_eq!(parse_pm_content(b" \"ab\""), Some(b"ab".to_vec()));
        assert_eq!(parse_pm_content(b""), None);
    }

    #[test]
    fn the_same_phrases_share_one_tree() {
        let (a, b, c) = (
            Pm::from_param("abc def"),
            Pm::from_param("abc def"),
            Pm::from_param("abc"),
        );
        assert!(Arc::ptr_eq(&a.tree, &b.tree) && !Arc::ptr_eq(&a.tree, &c.tree));
    }

    #[test]
    fn language_cases() {
        let o = op("@pm abc def ghi");
        for v in [&b"abcxxxyyy"[..], b"xxxdefyyy", b"xxxyyyghi"] {
            assert!(eval(&*o, v));
        }
        assert!(!eval(&*o, b"xxxyyy"));
        assert!(!eval(&*op("@pm TestCase"), b""));
    }

    #[test]
    fn from_file() {
        let dir = std::env::temp_dir().join(format!("sekisho-pm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.data"),
            b"# comment\n  # indented comment\n\nfoo\nbar # not a comment\n",
        )
        .unwrap();
        std::fs::write(dir.join("b.data"), b"baz").unwrap();
        let o = try_op_in("@pmFromFile a.data b.data", &dir).unwrap();
        assert!(eval(&*o, b"xFOOx"));
        assert!(eval(&*o, b"baz"));
        assert!(!eval(&*o, b"bar"));
        assert!(eval(&*o, b"bar # not a comment"));
        assert!(!eval(&*o, b"comment"));
        let e = try_op_in("@pmFromFile missing.data", &dir).unwrap_err();
        assert!(e.starts_with("Failed to open file: 'missing.data'."), "{e}");
        assert!(try_op_in("@pmFromFile https://example.com/x", &dir).is_err());
        // a directory is a file of no phrases (libmodsecurity 3.0.15 loads
        // `@pmFromFile /tmp`), with a warning
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let mut warnings = Vec::new();
        let o =
            Pm::from_files("sub b.data", &mut CompileContext::new(&dir, &mut warnings)).unwrap();
        assert!(eval(&o, b"baz") && !eval(&o, b"sub"));
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("@pmFromFile: 'sub' is a directory"),
            "{warnings:?}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
