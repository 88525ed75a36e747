//! XML: the XML request body processor (`ctl:requestBodyProcessor=XML`) and the XPath
//! selection behind the `XML:<xpath>` variable, after libmodsecurity v3.0.15's
//! `src/request_body_processor/xml.cc` (libxml2 push parser) and `src/variables/xml.cc`.
//!
//! # Description
//!
//! **Parsing.** libmodsecurity feeds the whole body to a libxml2 push parser created with no
//! option (no `XML_PARSE_NOENT`, no DTD loading; with `SecXmlExternalEntity Off`, the default,
//! the external entity loader is replaced by one that loads nothing). When the parser ends
//! with `wellFormed != 1`, `REQBODY_ERROR` is 1 and `REQBODY_ERROR_MSG` is
//! `XML parsing error: XML: Failed to parse document.` ([`XmlError::reqbody_error_msg`]; the
//! wording of v3.0.15, earlier v3 releases said `XML: Failed parsing document.`). An empty
//! body is not well-formed either.
//!
//! Here the document is parsed with `roxmltree` (DTDs allowed, internal entities expanded with
//! its billion-laughs guards; it never reads files or URLs, so no external entity is ever
//! loaded), after what libxml2 does before parsing:
//! - the encoding: a UTF-16 byte-order mark, or the `encoding` of the XML declaration
//!   (ISO-8859-1 / Latin-1, US-ASCII, windows-1252) is decoded to UTF-8; without either the
//!   text must be UTF-8, as libxml2 requires (an invalid byte is a fatal error there too);
//!   another declared encoding is accepted only if the bytes are UTF-8;
//! - undeclared namespace prefixes (`<a:b>`) are namespace errors for libxml2, not
//!   well-formedness errors: such names are kept whole (`a:b`, no namespace), as libxml2 does;
//! - nesting deeper than 257 elements is libxml2's fatal "Excessive depth in document" (256
//!   without `XML_PARSE_HUGE`).
//!
//! Known differences with libxml2 (documented, not emulated): a reference to an external
//! entity (`<!ENTITY x SYSTEM "...">`, or any undeclared entity when the DOCTYPE names an
//! external subset) is accepted by libxml2 and expands to nothing; roxmltree rejects it. When
//! the document is not well-formed, libxml2 keeps the part of the tree built before the error
//! and `XML:/*` still sees it; here there is no tree. roxmltree merges adjacent text and CDATA
//! into one text node (libxml2 keeps them apart: `//text()` may give fewer, longer values).
//!
//! **Selection.** For `XML:<xpath>` libmodsecurity evaluates the XPath expression on the
//! document and returns, for every node of the resulting node set in document order,
//! `xmlNodeGetContent(node)`: for an element (or `/`), all its descendant text concatenated
//! (comments and processing instructions excluded, whitespace kept); for an attribute, its
//! value; for a text node, its text. So `XML:/*` is **one** value, the whole text of the
//! document, and `XML://@*` is one value per attribute (namespace declarations are not
//! attributes). An expression libxml2 cannot evaluate gives no value.
//!
//! Supported XPath (what rules use): location paths of steps separated by `/` or `//`,
//! absolute or relative (the context node is the document), each step one of `*`, `name`,
//! `prefix:name`, `prefix:*`, `@*`, `@name`, `@prefix:name`, `text()`, `node()`,
//! `comment()`, with the `child::`, `attribute::`, `descendant::` and
//! `descendant-or-self::` axes, and `/` alone. Prefixes resolve through the rule's `xmlns`
//! actions ([`XPath::eval`]'s `namespaces`); an unknown prefix is an evaluation error in
//! libxml2 (no value). A name without prefix matches only names in no namespace, as in XPath
//! 1.0. Predicates without positions are supported: `[text()]`, `[@a]`, `[child]`,
//! `[local-name()='x']`, `[name()!='x']`, `[@a='v']`, `[text()='v']`, `[child='v']`,
//! `[.='v']` (the forms of the regression suite and of rule exclusions). Positions, other
//! functions, `and`/`or` and unions are not supported: [`compile`] says so, so that the
//! compiler can report it.
//!
//! Cost: parsing is linear; evaluation is linear in the size of the node set and of the
//! values returned (an element's value is its whole text, so `//*` on a deep document returns
//! a lot, as it does in libmodsecurity).
//!
//! # Example
//!
//! ```
//! use waf_core::body::xml;
//! let doc = xml::parse(br#"<a x="1"><b y="2">hi</b> there</a>"#).unwrap();
//! assert_eq!(xml::select(&doc, "/*"), vec![b"hi there".to_vec()]);
//! assert_eq!(xml::select(&doc, "//@*"), vec![b"1".to_vec(), b"2".to_vec()]);
//! ```

use std::borrow::Cow;

/// Maximum element depth libxml2 accepts without `XML_PARSE_HUGE` (a start tag is refused when
/// more than 256 elements are open).
pub const MAX_DEPTH: usize = 257;

/// The XML body is not well-formed (for libxml2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// What the parser found (for debug logs; not part of libmodsecurity's message).
    pub detail: String,
}

impl XmlError {
    /// The processor's error text (libmodsecurity's `error`).
    pub const MESSAGE: &'static str = "XML: Failed to parse document.";

    /// `REQBODY_ERROR_MSG` / `REQBODY_PROCESSOR_ERROR_MSG`.
    pub fn reqbody_error_msg(&self) -> String {
        format!("XML parsing error: {}", Self::MESSAGE)
    }
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", Self::MESSAGE, self.detail)
    }
}

impl std::error::Error for XmlError {}

#[derive(Debug, Clone)]
enum Kind {
    Document,
    Element {
        local: Box<[u8]>,
        ns: Option<Box<[u8]>>,
        /// The name as written (`prefix:local`), for `name()`.
        qname: Box<[u8]>,
        attrs: std::ops::Range<u32>,
    },
    Text(Box<[u8]>),
    Comment(Box<[u8]>),
    Pi(Box<[u8]>),
}

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    /// One past the last node of this node's subtree (nodes are in document order).
    end: u32,
}

#[derive(Debug, Clone)]
struct Attr {
    local: Box<[u8]>,
    ns: Option<Box<[u8]>>,
    value: Box<[u8]>,
}

/// A parsed XML body: an owned, read-only tree in document order.
#[derive(Debug, Clone)]
pub struct XmlDocument {
    nodes: Vec<Node>,
    attrs: Vec<Attr>,
}

/// Namespace URI given to undeclared prefixes so that roxmltree accepts them; such names are
/// stored whole and without namespace, as libxml2 does.
const UNDECLARED_NS: &str = "urn:x-sekisho:undeclared-prefix";

/// Markup (`<`) allowed in the replacement text of all internal entities together: roxmltree
/// expands entities by recursive descent, so this bounds the extra nesting they can add (see
/// the module doc).
pub const MAX_ENTITY_MARKUP: usize = 16;

/// Parses an XML body as libmodsecurity's XML processor would accept it.
pub fn parse(input: &[u8]) -> Result<XmlDocument, XmlError> {
    let fail = |detail: &str| XmlError {
        detail: detail.to_string(),
    };
    let text = to_utf8(input).ok_or_else(|| fail("input is not in a supported encoding"))?;
    // roxmltree recurses once per element level: check the nesting first (libxml2's limit).
    let scan = scan_markup(text.as_bytes());
    if scan.max_depth > MAX_DEPTH {
        return Err(fail(
            "excessive depth in document (libxml2: over 256 open elements)",
        ));
    }
    if scan.entity_markup > MAX_ENTITY_MARKUP {
        return Err(fail("too much markup in internal entities"));
    }
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        nodes_limit: u32::MAX,
    };
    let mut undeclared: Vec<String> = Vec::new();
    let mut owned: Cow<str> = Cow::Borrowed(&text);
    for _attempt in 0..128 {
        match roxmltree::Document::parse_with_options(&owned, opts) {
            Ok(doc) => return convert(&doc, !undeclared.is_empty()),
            Err(roxmltree::Error::UnknownNamespace(prefix, _))
                if undeclared.len() < 64 && !undeclared.contains(&prefix) =>
            {
                undeclared.push(prefix);
                let t = declare_prefixes(
                    &owned,
                    undeclared.last().map(std::slice::from_ref).unwrap_or(&[]),
                )
                .ok_or_else(|| fail("undeclared namespace prefix"))?;
                owned = Cow::Owned(t);
            }
            Err(roxmltree::Error::UnknownEntityReference(name, pos))
                if scan.external_entities.contains(&name)
                    || (scan.lax_undeclared && !scan.declared_entities.contains(&name)) =>
            {
                // libxml2 leaves such a reference unexpanded (no content), in text only.
                let t = drop_reference(&owned, &name, pos)
                    .ok_or_else(|| fail("external entity reference in an attribute"))?;
                owned = Cow::Owned(t);
            }
            Err(e) => return Err(fail(&e.to_string())),
        }
    }
    Err(fail("too many unresolved names"))
}

/// Removes the entity reference `&name;` that roxmltree reported at `pos`, if it is in text.
fn drop_reference(text: &str, name: &str, pos: roxmltree::TextPos) -> Option<String> {
    let line_start = if pos.row <= 1 {
        0
    } else {
        let mut n = 1;
        let mut off = None;
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                n += 1;
                if n == pos.row {
                    off = Some(i + 1);
                    break;
                }
            }
        }
        off?
    };
    let col = (pos.col as usize).saturating_sub(1);
    let at = line_start + text.get(line_start..)?.char_indices().nth(col)?.0;
    let reference = format!("&{name};");
    if !text.get(at..)?.starts_with(&reference) {
        return None;
    }
    // In a start tag (attribute value)? libxml2 refuses external entities there.
    let before = &text.as_bytes()[..at];
    let lt = memchr::memrchr(b'<', before);
    let gt = memchr::memrchr(b'>', before);
    if lt > gt {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(text.get(..at)?);
    out.push_str(text.get(at + reference.len()..)?);
    Some(out)
}

#[derive(Debug, Default)]
struct Scan {
    max_depth: usize,
    entity_markup: usize,
    /// The DOCTYPE names an external subset or the internal subset uses parameter entities:
    /// libxml2 then only warns about undeclared entities.
    lax_undeclared: bool,
    declared_entities: Vec<String>,
    external_entities: Vec<String>,
}

/// One pass over the text: element nesting depth, and what the DOCTYPE declares.
fn scan_markup(s: &[u8]) -> Scan {
    let mut scan = Scan::default();
    let find = |hay: &[u8], needle: &[u8]| memchr::memmem::find(hay, needle);
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(j) = memchr::memchr(b'<', &s[i..]) {
        i += j;
        let rest = &s[i..];
        let skip = if rest.starts_with(b"<!--") {
            find(rest, b"-->").map(|k| k + 3)
        } else if rest.starts_with(b"<![CDATA[") {
            find(rest, b"]]>").map(|k| k + 3)
        } else if rest.starts_with(b"<?") {
            find(rest, b"?>").map(|k| k + 2)
        } else if rest.starts_with(b"<!") {
            let end = decl_end(rest);
            if rest.starts_with(b"<!DOCTYPE") {
                doctype_info(&rest[..end.unwrap_or(rest.len())], &mut scan);
            }
            end.map(|k| k + 1)
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            memchr::memchr(b'>', rest).map(|k| k + 1)
        } else {
            let end = tag_end(rest);
            let self_closing = end.is_some_and(|k| k > 0 && rest[k - 1] == b'/');
            if !self_closing {
                depth += 1;
                scan.max_depth = scan.max_depth.max(depth);
            }
            end.map(|k| k + 1)
        };
        match skip {
            Some(k) => i += k.max(1),
            None => break,
        }
    }
    scan
}

/// Index of the `>` closing a start tag (quotes honoured).
fn tag_end(s: &[u8]) -> Option<usize> {
    let mut quote = 0u8;
    for (k, &c) in s.iter().enumerate().skip(1) {
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'"' || c == b'\'' {
            quote = c;
        } else if c == b'>' {
            return Some(k);
        }
    }
    None
}

/// Index of the `>` closing a `<!...>` declaration (quotes, brackets and comments honoured).
fn decl_end(s: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = 0u8;
    let mut k = 2;
    while k < s.len() {
        let c = s[k];
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if s[k..].starts_with(b"<!--") {
            k += memchr::memmem::find(&s[k..], b"-->")? + 3;
            continue;
        } else {
            match c {
                b'"' | b'\'' => quote = c,
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'>' if depth == 0 => return Some(k),
                _ => {}
            }
        }
        k += 1;
    }
    None
}

/// What a DOCTYPE declares: external subset, parameter entities, general entities.
fn doctype_info(d: &[u8], scan: &mut Scan) {
    let subset = memchr::memchr(b'[', d);
    let head = &d[..subset.unwrap_or(d.len())];
    if memchr::memmem::find(head, b"SYSTEM").is_some()
        || memchr::memmem::find(head, b"PUBLIC").is_some()
    {
        scan.lax_undeclared = true;
    }
    let Some(start) = subset else {
        return;
    };
    let body = &d[start..];
    let mut i = 0;
    while let Some(k) = memchr::memmem::find(&body[i..], b"<!ENTITY") {
        i += k + 8;
        let mut j = i;
        let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
        while j < body.len() && ws(body[j]) {
            j += 1;
        }
        if body.get(j) == Some(&b'%') {
            // A parameter entity declaration.
            continue;
        }
        let n0 = j;
        while j < body.len() && !ws(body[j]) && body[j] != b'>' {
            j += 1;
        }
        let name = String::from_utf8_lossy(&body[n0..j]).into_owned();
        while j < body.len() && ws(body[j]) {
            j += 1;
        }
        let rest = &body[j..];
        if rest.starts_with(b"SYSTEM") || rest.starts_with(b"PUBLIC") {
            scan.external_entities.push(name.clone());
        } else if let Some(&q) = rest.first().filter(|&&q| q == b'"' || q == b'\'') {
            if let Some(e) = memchr::memchr(q, &rest[1..]) {
                scan.entity_markup += memchr::memchr_iter(b'<', &rest[1..1 + e]).count();
            }
        }
        scan.declared_entities.push(name);
    }
    // Parameter entity references in the internal subset.
    if body.iter().enumerate().any(|(k, &c)| {
        c == b'%'
            && body
                .get(k + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_')
    }) {
        scan.lax_undeclared = true;
    }
}

/// Inserts `xmlns:p="UNDECLARED_NS"` for the given prefixes on the root start tag.
fn declare_prefixes(text: &str, prefixes: &[String]) -> Option<String> {
    let at = root_name_end(text.as_bytes())?;
    let mut decl = String::new();
    for p in prefixes {
        decl.push_str(&format!(" xmlns:{p}=\"{UNDECLARED_NS}\""));
    }
    let mut out = String::with_capacity(text.len() + decl.len());
    out.push_str(text.get(..at)?);
    out.push_str(&decl);
    out.push_str(text.get(at..)?);
    Some(out)
}

/// Byte offset just after the root element's name in its start tag, skipping the prolog
/// (declaration, comments, processing instructions, DOCTYPE with its internal subset).
fn root_name_end(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &s[i..];
        if rest.starts_with(b"<?") {
            i += memchr::memmem::find(rest, b"?>")? + 2;
        } else if rest.starts_with(b"<!--") {
            i += memchr::memmem::find(rest, b"-->")? + 3;
        } else if rest.starts_with(b"<!") {
            // DOCTYPE: skip to the matching '>' outside quotes and brackets.
            let mut depth = 0usize;
            let mut quote = 0u8;
            let mut j = 2;
            loop {
                let c = *rest.get(j)?;
                if quote != 0 {
                    if c == quote {
                        quote = 0;
                    }
                } else {
                    match c {
                        b'"' | b'\'' => quote = c,
                        b'[' => depth += 1,
                        b']' => depth = depth.saturating_sub(1),
                        b'>' if depth == 0 => break,
                        _ => {}
                    }
                }
                j += 1;
            }
            i += j + 1;
        } else {
            let mut j = i + 1;
            while j < s.len() && !matches!(s[j], b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') {
                j += 1;
            }
            return Some(j);
        }
    }
    None
}

fn convert(doc: &roxmltree::Document, undeclared: bool) -> Result<XmlDocument, XmlError> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut attrs: Vec<Attr> = Vec::new();
    let mut parent_of: Vec<u32> = Vec::new();
    let mut depth_of: Vec<u32> = Vec::new();
    // roxmltree node id -> our index.
    let mut index_of: Vec<u32> = Vec::new();
    let split =
        |ns: Option<&str>, local: &str, prefix: Option<&str>| -> (Box<[u8]>, Option<Box<[u8]>>) {
            match ns {
                Some(u) if undeclared && u == UNDECLARED_NS => {
                    let full = format!("{}:{}", prefix.unwrap_or(""), local);
                    (full.into_bytes().into_boxed_slice(), None)
                }
                Some(u) => (
                    local.as_bytes().into(),
                    Some(u.as_bytes().to_vec().into_boxed_slice()),
                ),
                None => (local.as_bytes().into(), None),
            }
        };
    for n in doc.root().descendants() {
        let id = n.id().get_usize();
        if index_of.len() <= id {
            index_of.resize(id + 1, u32::MAX);
        }
        let me = nodes.len() as u32;
        index_of[id] = me;
        let parent = n
            .parent()
            .map(|p| index_of.get(p.id().get_usize()).copied().unwrap_or(0))
            .unwrap_or(u32::MAX);
        let depth = if parent == u32::MAX {
            0
        } else {
            depth_of[parent as usize] + u32::from(n.is_element())
        };
        if depth as usize > MAX_DEPTH {
            return Err(XmlError {
                detail: format!("excessive depth in document (over {MAX_DEPTH})"),
            });
        }
        let kind = match n.node_type() {
            roxmltree::NodeType::Root => Kind::Document,
            roxmltree::NodeType::Element => {
                let start = attrs.len() as u32;
                for a in n.attributes() {
                    let prefix = a
                        .namespace()
                        .and_then(|u| n.lookup_prefix(u))
                        .filter(|p| !p.is_empty());
                    let (local, ns) = split(a.namespace(), a.name(), prefix);
                    attrs.push(Attr {
                        local,
                        ns,
                        value: a.value().as_bytes().into(),
                    });
                }
                let tag = n.tag_name();
                let prefix = tag
                    .namespace()
                    .and_then(|u| n.lookup_prefix(u))
                    .filter(|p| !p.is_empty());
                let (local, ns) = split(tag.namespace(), tag.name(), prefix);
                let qname = match (prefix, &ns) {
                    (Some(p), Some(_)) => format!("{p}:{}", tag.name()).into_bytes().into(),
                    _ => local.clone(),
                };
                Kind::Element {
                    local,
                    ns,
                    qname,
                    attrs: start..attrs.len() as u32,
                }
            }
            roxmltree::NodeType::Text => Kind::Text(n.text().unwrap_or("").as_bytes().into()),
            roxmltree::NodeType::Comment => Kind::Comment(n.text().unwrap_or("").as_bytes().into()),
            roxmltree::NodeType::PI => {
                Kind::Pi(n.pi().and_then(|p| p.value).unwrap_or("").as_bytes().into())
            }
        };
        nodes.push(Node { kind, end: 0 });
        parent_of.push(parent);
        depth_of.push(depth);
    }
    // Subtree ends, children after parents in document order.
    let mut size = vec![1u32; nodes.len()];
    for i in (1..nodes.len()).rev() {
        let p = parent_of[i];
        if p != u32::MAX {
            size[p as usize] += size[i];
        }
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        n.end = i as u32 + size[i];
    }
    Ok(XmlDocument { nodes, attrs })
}

/// Decodes the body to UTF-8 text the way libxml2 picks the encoding (see the module doc).
fn to_utf8(input: &[u8]) -> Option<Cow<'_, str>> {
    if let Some(rest) = input.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes).map(Cow::Owned);
    }
    if let Some(rest) = input.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes).map(Cow::Owned);
    }
    let enc = declared_encoding(input).map(|e| e.to_ascii_lowercase());
    match enc.as_deref() {
        Some(
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" | "iso-latin-1"
            | "iso-ir-100" | "cp819" | "ibm819",
        ) => Some(Cow::Owned(input.iter().map(|&b| char::from(b)).collect())),
        Some("us-ascii" | "ascii" | "iso-646.irv:1991" | "us") => {
            if input.is_ascii() {
                std::str::from_utf8(input).ok().map(Cow::Borrowed)
            } else {
                None
            }
        }
        Some("windows-1252" | "cp1252" | "x-cp1252") => {
            Some(Cow::Owned(input.iter().map(|&b| cp1252(b)).collect()))
        }
        _ => std::str::from_utf8(input).ok().map(Cow::Borrowed),
    }
}

fn utf16(b: &[u8], f: fn([u8; 2]) -> u16) -> Option<String> {
    if b.len() % 2 != 0 {
        return None;
    }
    let units = b.chunks_exact(2).map(|c| f([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

fn cp1252(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    if (0x80..0xA0).contains(&b) {
        char::from_u32(u32::from(HIGH[usize::from(b - 0x80)])).unwrap_or('\u{FFFD}')
    } else {
        char::from(b)
    }
}

/// The `encoding` pseudo-attribute of a leading XML declaration.
fn declared_encoding(input: &[u8]) -> Option<&str> {
    let decl_end = if input.starts_with(b"<?xml") {
        memchr::memmem::find(input, b"?>")?
    } else {
        return None;
    };
    let decl = &input[..decl_end];
    let i = memchr::memmem::find(decl, b"encoding")?;
    let mut j = i + 8;
    while j < decl.len() && matches!(decl[j], b' ' | b'\t' | b'\r' | b'\n') {
        j += 1;
    }
    if decl.get(j) != Some(&b'=') {
        return None;
    }
    j += 1;
    while j < decl.len() && matches!(decl[j], b' ' | b'\t' | b'\r' | b'\n') {
        j += 1;
    }
    let q = *decl.get(j)?;
    if q != b'"' && q != b'\'' {
        return None;
    }
    let rest = &decl[j + 1..];
    let k = memchr::memchr(q, rest)?;
    std::str::from_utf8(&rest[..k]).ok()
}

/// Why an XPath expression is not supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XPathError {
    /// The expression.
    pub expr: String,
    /// What is not supported.
    pub reason: &'static str,
}

impl std::fmt::Display for XPathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "XPath `{}`: {}", self.expr, self.reason)
    }
}

impl std::error::Error for XPathError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum NameTest {
    Any,
    Name(Option<String>, String),
    PrefixAny(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    Element(NameTest),
    Attribute(NameTest),
    Text,
    Node,
    Comment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    /// Reached through `//` (descendant-or-self::node()/) or the `descendant` axes.
    descendant: bool,
    /// `descendant-or-self::` (the context node itself is included).
    or_self: bool,
    test: Test,
    preds: Vec<Pred>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Operand {
    /// `text()`: the text children.
    Text,
    /// `local-name()`.
    LocalName,
    /// `name()`.
    Name,
    /// `.`: the node's string-value.
    SelfValue,
    /// `@name`, `@*`.
    Attr(NameTest),
    /// `name`, `*`: child elements (their string-values).
    Child(NameTest),
}

/// `[operand]` (exists / non-empty) or `[operand = 'literal']` / `!=`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pred {
    lhs: Operand,
    cmp: Option<(bool, Vec<u8>)>,
}

/// A compiled XPath expression of the supported subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XPath {
    steps: Vec<Step>,
}

/// Compiles an XPath expression (the part after `XML:`).
pub fn compile(expr: &str) -> Result<XPath, XPathError> {
    let err = |reason| XPathError {
        expr: expr.to_string(),
        reason,
    };
    let s = expr.trim();
    if s.is_empty() {
        return Err(err("empty expression"));
    }
    if s == "/" {
        return Ok(XPath { steps: Vec::new() });
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut steps = Vec::new();
    let mut descendant = false;
    if b.starts_with(b"//") {
        descendant = true;
        i = 2;
    } else if b.starts_with(b"/") {
        i = 1;
    }
    loop {
        let (mut step, next) =
            parse_step(b, i, descendant).ok_or_else(|| err("unsupported step"))?;
        i = next;
        while i < b.len() && b[i] == b'[' {
            let (pred, next) = parse_pred(b, i).ok_or_else(|| {
                err("unsupported predicate (supported: text(), local-name(), name(), ., @a, child, = / != 'literal')")
            })?;
            step.preds.push(pred);
            i = next;
        }
        steps.push(step);
        if i == b.len() {
            break;
        }
        if b[i..].starts_with(b"//") {
            descendant = true;
            i += 2;
        } else if b[i] == b'/' {
            descendant = false;
            i += 1;
        } else if b[i] == b'|' {
            return Err(err("unions are not supported"));
        } else {
            return Err(err("unsupported syntax"));
        }
    }
    Ok(XPath { steps })
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.') || c >= 0x80
}

/// One step at `b[i..]`; returns it and the index after it.
fn parse_step(b: &[u8], mut i: usize, mut descendant: bool) -> Option<(Step, usize)> {
    let mut attribute = false;
    let mut or_self = false;
    let axes: [(&[u8], u8); 5] = [
        (b"child::", 0),
        (b"attribute::", 1),
        (b"descendant-or-self::", 3),
        (b"descendant::", 2),
        (b"@", 1),
    ];
    for (axis, kind) in axes {
        if b[i..].starts_with(axis) {
            i += axis.len();
            match kind {
                1 => attribute = true,
                2 => descendant = true,
                3 => {
                    descendant = true;
                    or_self = true;
                }
                _ => {}
            }
            break;
        }
    }
    let start = i;
    while i < b.len() && (is_name_char(b[i]) || b[i] == b':' || b[i] == b'*') {
        // `::` belongs to an axis we do not support.
        if b[i..].starts_with(b"::") {
            return None;
        }
        i += 1;
    }
    let word = std::str::from_utf8(&b[start..i]).ok()?;
    if word.is_empty() {
        return None;
    }
    let test = if b[i..].starts_with(b"()") {
        i += 2;
        match (word, attribute) {
            ("text", false) => Test::Text,
            ("node", false) => Test::Node,
            ("comment", false) => Test::Comment,
            ("node", true) => Test::Attribute(NameTest::Any),
            _ => return None,
        }
    } else {
        let nt = name_test(word)?;
        if attribute {
            Test::Attribute(nt)
        } else {
            Test::Element(nt)
        }
    };
    if or_self && !matches!(test, Test::Node | Test::Element(_)) {
        return None;
    }
    Some((
        Step {
            descendant,
            or_self,
            test,
            preds: Vec::new(),
        },
        i,
    ))
}

/// A predicate at `b[i] == '['`; returns it and the index after `]`.
fn parse_pred(b: &[u8], i: usize) -> Option<(Pred, usize)> {
    // Find the closing ']' outside quotes.
    let mut quote = 0u8;
    let mut end = None;
    for (k, &c) in b.iter().enumerate().skip(i + 1) {
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'\'' || c == b'"' {
            quote = c;
        } else if c == b'[' {
            return None;
        } else if c == b']' {
            end = Some(k);
            break;
        }
    }
    let end = end?;
    let inner = std::str::from_utf8(&b[i + 1..end]).ok()?.trim();
    // Split at the first `=` / `!=` outside quotes.
    let mut quote = 0u8;
    let mut split = None;
    for (k, c) in inner.bytes().enumerate() {
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'\'' || c == b'"' {
            quote = c;
        } else if c == b'=' {
            let neg = k > 0 && inner.as_bytes()[k - 1] == b'!';
            split = Some((if neg { k - 1 } else { k }, k + 1, !neg));
            break;
        }
    }
    let (lhs_s, cmp) = match split {
        Some((l_end, r_start, eq)) => {
            let rhs = inner[r_start..].trim();
            let q = *rhs.as_bytes().first()?;
            if rhs.len() < 2 || (q != b'\'' && q != b'"') || rhs.as_bytes()[rhs.len() - 1] != q {
                return None;
            }
            let lit = &rhs[1..rhs.len() - 1];
            if lit.as_bytes().contains(&q) {
                return None;
            }
            (inner[..l_end].trim(), Some((eq, lit.as_bytes().to_vec())))
        }
        None => (inner, None),
    };
    let lhs = match lhs_s {
        "text()" => Operand::Text,
        "local-name()" => Operand::LocalName,
        "name()" => Operand::Name,
        "." => Operand::SelfValue,
        _ => {
            if let Some(a) = lhs_s.strip_prefix('@') {
                Operand::Attr(name_test(a)?)
            } else {
                Operand::Child(name_test(lhs_s)?)
            }
        }
    };
    Some((Pred { lhs, cmp }, end + 1))
}

fn name_test(word: &str) -> Option<NameTest> {
    if word == "*" {
        return Some(NameTest::Any);
    }
    let valid = |s: &str| {
        s.bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80)
            && s.bytes().all(is_name_char)
    };
    match word.split_once(':') {
        Some((p, "*")) if valid(p) => Some(NameTest::PrefixAny(p.to_string())),
        Some((p, l)) if valid(p) && valid(l) => {
            Some(NameTest::Name(Some(p.to_string()), l.to_string()))
        }
        None if valid(word) => Some(NameTest::Name(None, word.to_string())),
        _ => None,
    }
}

/// Selects with an expression and no namespace registration; an unsupported or failing
/// expression gives no value (as libmodsecurity does when libxml2 cannot evaluate it).
pub fn select(doc: &XmlDocument, xpath: &str) -> Vec<Vec<u8>> {
    match compile(xpath) {
        Ok(x) => x.eval(doc, &[]),
        Err(_) => Vec::new(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    node: u32,
    /// 0 for the node itself, 1 + index in the document's attribute table for an attribute.
    attr: u32,
}

impl XPath {
    /// Evaluates on `doc`; `namespaces` are the rule's `xmlns:prefix=uri` registrations. An
    /// unregistered prefix is an evaluation error: no value.
    pub fn eval(&self, doc: &XmlDocument, namespaces: &[(&str, &str)]) -> Vec<Vec<u8>> {
        let Some(items) = self.select_items(doc, namespaces) else {
            return Vec::new();
        };
        items.into_iter().map(|it| doc.content(it)).collect()
    }

    fn select_items(&self, doc: &XmlDocument, ns: &[(&str, &str)]) -> Option<Vec<Item>> {
        if doc.nodes.is_empty() {
            return Some(Vec::new());
        }
        let mut set = vec![Item { node: 0, attr: 0 }];
        for step in &self.steps {
            let test = resolve(&step.test, ns)?;
            let mut next = Vec::new();
            let mut covered_until = 0u32;
            for ctx in &set {
                if ctx.attr != 0 {
                    continue;
                }
                let n = ctx.node;
                let end = doc.nodes[n as usize].end;
                if step.descendant {
                    // Context nodes are sorted: skip those inside a subtree already walked.
                    if n < covered_until {
                        continue;
                    }
                    covered_until = end;
                    let first = if step.or_self { n } else { n + 1 };
                    match &test {
                        RTest::Attribute(_) => {
                            for m in n..end {
                                doc.push_attrs(m, &test, &mut next);
                            }
                        }
                        _ => {
                            for m in first..end {
                                if doc.matches(m, &test) {
                                    next.push(Item { node: m, attr: 0 });
                                }
                            }
                        }
                    }
                } else {
                    match &test {
                        RTest::Attribute(_) => doc.push_attrs(n, &test, &mut next),
                        _ => {
                            let mut c = n + 1;
                            while c < end {
                                if doc.matches(c, &test) {
                                    next.push(Item { node: c, attr: 0 });
                                }
                                c = doc.nodes[c as usize].end;
                            }
                        }
                    }
                }
            }
            next.sort_unstable();
            next.dedup();
            if !step.preds.is_empty() {
                let mut preds = Vec::with_capacity(step.preds.len());
                for p in &step.preds {
                    let lhs = match &p.lhs {
                        Operand::Attr(n) => ROperand::Attr(resolve_name(n, ns)?),
                        Operand::Child(n) => ROperand::Child(resolve_name(n, ns)?),
                        Operand::Text => ROperand::Text,
                        Operand::LocalName => ROperand::LocalName,
                        Operand::Name => ROperand::Name,
                        Operand::SelfValue => ROperand::SelfValue,
                    };
                    preds.push((lhs, p.cmp.clone()));
                }
                next.retain(|it| {
                    preds
                        .iter()
                        .all(|(l, c)| doc.pred_holds(*it, l, c.as_ref()))
                });
            }
            set = next;
        }
        Some(set)
    }
}

enum RName {
    Any,
    Name(Option<Vec<u8>>, Vec<u8>),
    NsAny(Vec<u8>),
}

enum RTest {
    Element(RName),
    Attribute(RName),
    Text,
    Node,
    Comment,
}

fn resolve_name(n: &NameTest, ns: &[(&str, &str)]) -> Option<RName> {
    let lookup = |p: &str| {
        ns.iter()
            .find(|(q, _)| *q == p)
            .map(|(_, u)| u.as_bytes().to_vec())
    };
    Some(match n {
        NameTest::Any => RName::Any,
        NameTest::Name(None, l) => RName::Name(None, l.as_bytes().to_vec()),
        NameTest::Name(Some(p), l) => RName::Name(Some(lookup(p)?), l.as_bytes().to_vec()),
        NameTest::PrefixAny(p) => RName::NsAny(lookup(p)?),
    })
}

enum ROperand {
    Text,
    LocalName,
    Name,
    SelfValue,
    Attr(RName),
    Child(RName),
}

fn resolve(t: &Test, ns: &[(&str, &str)]) -> Option<RTest> {
    Some(match t {
        Test::Element(n) => RTest::Element(resolve_name(n, ns)?),
        Test::Attribute(n) => RTest::Attribute(resolve_name(n, ns)?),
        Test::Text => RTest::Text,
        Test::Node => RTest::Node,
        Test::Comment => RTest::Comment,
    })
}

fn clone_rname(n: &RName) -> RName {
    match n {
        RName::Any => RName::Any,
        RName::Name(a, b) => RName::Name(a.clone(), b.clone()),
        RName::NsAny(u) => RName::NsAny(u.clone()),
    }
}

fn name_matches(t: &RName, local: &[u8], ns: Option<&[u8]>) -> bool {
    match t {
        RName::Any => true,
        RName::Name(want_ns, l) => l[..] == *local && want_ns.as_deref() == ns,
        RName::NsAny(u) => Some(&u[..]) == ns,
    }
}

impl XmlDocument {
    fn matches(&self, i: u32, t: &RTest) -> bool {
        match (&self.nodes[i as usize].kind, t) {
            (Kind::Element { local, ns, .. }, RTest::Element(n)) => {
                name_matches(n, local, ns.as_deref())
            }
            (Kind::Text(_), RTest::Text) => true,
            (Kind::Comment(_), RTest::Comment) => true,
            (Kind::Document, RTest::Node) => false,
            (_, RTest::Node) => true,
            _ => false,
        }
    }

    fn push_attrs(&self, i: u32, t: &RTest, out: &mut Vec<Item>) {
        let (Kind::Element { attrs, .. }, RTest::Attribute(n)) = (&self.nodes[i as usize].kind, t)
        else {
            return;
        };
        for a in attrs.clone() {
            let at = &self.attrs[a as usize];
            if name_matches(n, &at.local, at.ns.as_deref()) {
                out.push(Item {
                    node: i,
                    attr: a + 1,
                });
            }
        }
    }

    fn pred_holds(&self, it: Item, lhs: &ROperand, cmp: Option<&(bool, Vec<u8>)>) -> bool {
        let test = |v: &[u8]| match cmp {
            None => true,
            Some((eq, lit)) => (v == lit.as_slice()) == *eq,
        };
        let node = &self.nodes[it.node as usize];
        let children = || {
            let mut c = it.node + 1;
            std::iter::from_fn(move || {
                if it.attr != 0 || c >= node.end {
                    return None;
                }
                let cur = c;
                c = self.nodes[cur as usize].end;
                Some(cur)
            })
        };
        match lhs {
            ROperand::Text => children().any(|c| match &self.nodes[c as usize].kind {
                Kind::Text(t) => test(t),
                _ => false,
            }),
            ROperand::Child(n) => children().any(|c| match &self.nodes[c as usize].kind {
                Kind::Element { local, ns, .. } => {
                    name_matches(n, local, ns.as_deref())
                        && test(&self.content(Item { node: c, attr: 0 }))
                }
                _ => false,
            }),
            ROperand::Attr(n) => {
                let mut out = Vec::new();
                if it.attr == 0 {
                    self.push_attrs(it.node, &RTest::Attribute(clone_rname(n)), &mut out);
                }
                out.iter().any(|a| test(&self.content(*a)))
            }
            ROperand::SelfValue => test(&self.content(it)),
            ROperand::LocalName | ROperand::Name => {
                let name: &[u8] = if it.attr != 0 {
                    &self.attrs[(it.attr - 1) as usize].local
                } else {
                    match &node.kind {
                        Kind::Element { local, qname, .. } => {
                            if matches!(lhs, ROperand::Name) {
                                qname
                            } else {
                                local
                            }
                        }
                        _ => b"",
                    }
                };
                match cmp {
                    None => !name.is_empty(),
                    Some(_) => test(name),
                }
            }
        }
    }

    /// `xmlNodeGetContent`.
    fn content(&self, it: Item) -> Vec<u8> {
        if it.attr != 0 {
            return self.attrs[(it.attr - 1) as usize].value.to_vec();
        }
        let node = &self.nodes[it.node as usize];
        match &node.kind {
            Kind::Text(t) | Kind::Comment(t) | Kind::Pi(t) => t.to_vec(),
            Kind::Document | Kind::Element { .. } => {
                let mut out = Vec::new();
                for m in it.node + 1..node.end {
                    if let Kind::Text(t) = &self.nodes[m as usize].kind {
                        out.extend_from_slice(t);
                    }
                }
                out
            }
        }
    }

    /// The document's text content (`XML:/*` and `XML:/` both give this one value).
    pub fn text_content(&self) -> Vec<u8> {
        self.content(Item { node: 0, attr: 0 })
    }

    /// Every attribute value in document order (`XML://@*`).
    pub fn attribute_values(&self) -> Vec<Vec<u8>> {
        self.attrs.iter().map(|a| a.value.to_vec()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_forms() {
        for ok in [
            "/*", "//@*", "/a/b", "//name", "/a/@attr", "//text()", "/", "a/b", "//p:x", "//*",
            "/a//b/@*",
        ] {
            assert!(compile(ok).is_ok(), "{ok}");
        }
        for ok in [
            "/bookstore/book/price[text()]",
            "//bookstore/*[local-name()='some-tag']",
            "//a[@x!=\"1\"][b]",
        ] {
            assert!(compile(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/a[1]",
            "//a | //b",
            "count(//a)",
            "/a/",
            "//",
            "@",
            "/a[b and c]",
            "/a[x='1]",
        ] {
            assert!(compile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn encodings() {
        let doc = parse(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>").unwrap();
        assert_eq!(select(&doc, "/*"), vec!["é".as_bytes().to_vec()]);
        assert!(parse(b"<a>\xe9</a>").is_err());
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "<a>x</a>".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(select(&parse(&utf16).unwrap(), "/*"), vec![b"x".to_vec()]);
    }

    #[test]
    fn undeclared_prefix_kept_whole() {
        let doc = parse(b"<r><p:a q:x=\"1\">t</p:a></r>").unwrap();
        assert_eq!(select(&doc, "/*"), vec![b"t".to_vec()]);
        assert_eq!(select(&doc, "//@*"), vec![b"1".to_vec()]);
        assert_eq!(select(&doc, "/r/*"), vec![b"t".to_vec()]);
    }
}
