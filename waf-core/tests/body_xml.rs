//! XML processor and `XML:<xpath>` selection: libmodsecurity's regression cases
//! (`variable-XML.json`, `action-xmlns.json`, `action-ctl_request_body_processor.json`,
//! `config-xml_external_entity.json`, `variable-REQBODY_PROCESSOR_ERROR.json`) and the CRS
//! targets `XML:/*` and `XML://@*`.

use waf_core::body::xml::{self, compile, parse, select, XmlError, MAX_DEPTH};

fn lines(l: &[&str]) -> Vec<u8> {
    l.iter()
        .map(|s| format!("{s}\n"))
        .collect::<String>()
        .into_bytes()
}

fn strs(v: Vec<Vec<u8>>) -> Vec<String> {
    v.into_iter()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

fn bookstore() -> Vec<u8> {
    lines(&[
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<bookstore>",
        "<book category=\"COOKING\">",
        "<title lang=\"en\">Everyday Italian</title>",
        "<author>Giada De Laurentiis</author>",
        "<year>2005</year>",
        "<price>30.00</price>",
        "</book>",
        "<book category=\"WEB\">",
        "<title lang=\"en\">Learning XML</title>",
        "<author>Erik T. Ray</author>",
        "<year>2003</year>",
        "<price>39.95</price>",
        "</book>",
        "</bookstore>",
    ])
}

#[test]
fn crs_targets() {
    let doc = parse(&bookstore()).unwrap();
    // XML:/* is one value: all the text of the document, whitespace included.
    assert_eq!(
        strs(select(&doc, "/*")),
        vec!["\n\nEveryday Italian\nGiada De Laurentiis\n2005\n30.00\n\n\nLearning XML\nErik T. Ray\n2003\n39.95\n\n"]
    );
    assert_eq!(select(&doc, "/"), select(&doc, "/*"));
    assert_eq!(doc.text_content(), select(&doc, "/*")[0]);
    // XML://@* is every attribute value, in document order.
    assert_eq!(
        strs(select(&doc, "//@*")),
        vec!["COOKING", "en", "WEB", "en"]
    );
    assert_eq!(doc.attribute_values(), select(&doc, "//@*"));
}

#[test]
fn regression_xpaths() {
    let doc = parse(&bookstore()).unwrap();
    // action-xmlns.json: Target value "39.95" (Variable: XML:/bookstore/book/price[text()]).
    assert_eq!(
        strs(select(&doc, "/bookstore/book/price[text()]")),
        vec!["30.00", "39.95"]
    );
    assert_eq!(
        strs(select(&doc, "/bookstore/book/@category")),
        vec!["COOKING", "WEB"]
    );
    assert_eq!(
        strs(select(&doc, "//title")),
        vec!["Everyday Italian", "Learning XML"]
    );
    assert_eq!(
        strs(select(&doc, "//book[@category='WEB']/year")),
        vec!["2003"]
    );
    assert_eq!(
        strs(select(&doc, "//book[year!='2003']/price")),
        vec!["30.00"]
    );
    assert_eq!(strs(select(&doc, "//price/text()")), vec!["30.00", "39.95"]);
    assert_eq!(select(&doc, "/nothing"), Vec::<Vec<u8>>::new());
    // variable-XML.json: XML://bookstore/*[local-name()='some-tag'] has "bbb".
    let doc = parse(&lines(&[
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<!DOCTYPE author [",
        "<!ELEMENT book ANY>",
        "<!ENTITY js SYSTEM \"/etc/passwd\">",
        "]>",
        "<bookstore>",
        "<some-tag>aaa</some-tag><some-tag>bbb</some-tag>",
        "</bookstore>",
    ]))
    .unwrap();
    assert_eq!(
        strs(select(&doc, "//bookstore/*[local-name()='some-tag']")),
        vec!["aaa", "bbb"]
    );
}

#[test]
fn internal_and_external_entities() {
    // config-xml_external_entity.json XXE 1: internal entity expanded: " Jo Smith".
    let doc = parse(&lines(&[
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<!DOCTYPE author [",
        "<!ELEMENT book (#PCDATA)>",
        "<!ENTITY js \"Jo Smith\">",
        "]>",
        "<bookstore>",
        "<book category=\"WEB\"> &js;</book>",
        "</bookstore>",
    ]))
    .unwrap();
    assert_eq!(
        strs(select(&doc, "/bookstore/book[text()]")),
        vec![" Jo Smith"]
    );
    // XXE 2: an external entity is well-formed for libxml2 and expands to nothing.
    let doc = parse(&lines(&[
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<!DOCTYPE author [",
        "<!ELEMENT book ANY>",
        "<!ENTITY js SYSTEM \"/etc/passwd\">",
        "]>",
        "<bookstore>",
        "<book category=\"WEB\"> &js;</book>",
        "</bookstore>",
    ]))
    .unwrap();
    assert_eq!(strs(select(&doc, "/bookstore/book")), vec![" "]);
    // ... but not in an attribute value.
    assert!(parse(b"<!DOCTYPE a [<!ENTITY x SYSTEM \"f\">]><a b=\"&x;\"/>").is_err());
    // Undeclared entity without external subset: fatal.
    assert!(parse(b"<a>&nope;</a>").is_err());
    // With an external subset: a warning only.
    let doc = parse(b"<!DOCTYPE a SYSTEM \"a.dtd\"><a>x&nope;y</a>").unwrap();
    assert_eq!(strs(select(&doc, "/*")), vec!["xy"]);
    // Billion laughs is refused.
    let mut lol = String::from("<!DOCTYPE l [<!ENTITY l0 \"lol\">");
    for i in 1..10 {
        let prev = format!("&l{};", i - 1).repeat(10);
        lol.push_str(&format!("<!ENTITY l{i} \"{prev}\">"));
    }
    lol.push_str("]><l>&l9;</l>");
    assert!(parse(lol.as_bytes()).is_err());
}

#[test]
fn not_well_formed() {
    // variable-REQBODY_PROCESSOR_ERROR.json: mismatched end tag.
    let e = parse(b"<bookstore><book></bookasdf></bookstore>").unwrap_err();
    assert_eq!(
        e.reqbody_error_msg(),
        "XML parsing error: XML: Failed to parse document."
    );
    assert_eq!(XmlError::MESSAGE, "XML: Failed to parse document.");
    // action-ctl_request_body_processor.json (3): "not a xml".
    assert!(parse(b"not a xml\n").is_err());
    assert!(parse(b"").is_err());
    assert!(parse(b"<a></a><b/>").is_err());
    assert!(parse(b"<a x='1' x='2'/>").is_err());
    assert!(parse(b"<a>\xff</a>").is_err());
}

#[test]
fn namespaces() {
    let soap = lines(&[
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"",
        "   xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">",
        "<soap:Body soap:encodingStyle=\"enc\">",
        "<q1:getInput xmlns:q1=\"http://DefaultNamespace\">",
        "<id xsi:type=\"xsd:string\">12123</id>",
        "</q1:getInput>",
        "</soap:Body>",
        "</soap:Envelope>",
    ]);
    let doc = parse(&soap).unwrap();
    // Namespace declarations are not attributes.
    assert_eq!(strs(select(&doc, "//@*")), vec!["enc", "xsd:string"]);
    let x = compile("/soap:Envelope/soap:Body/@soap:encodingStyle").unwrap();
    let ns = [("soap", "http://schemas.xmlsoap.org/soap/envelope/")];
    assert_eq!(strs(x.eval(&doc, &ns)), vec!["enc"]);
    // Unregistered prefix: libxml2 evaluation error, no value.
    assert!(x.eval(&doc, &[]).is_empty());
    // A name without prefix does not match a namespaced element.
    assert!(select(&doc, "/Envelope").is_empty());
    assert_eq!(strs(select(&doc, "//id")), vec!["12123"]);
    assert_eq!(
        strs(select(&doc, "//*[name()='q1:getInput']")),
        vec!["\n12123\n"]
    );
    // Undeclared prefixes are namespace errors only.
    let doc = parse(b"<r><p:a q:x=\"1\">t</p:a></r>").unwrap();
    assert_eq!(strs(select(&doc, "//@*")), vec!["1"]);
    assert_eq!(strs(select(&doc, "//*[local-name()='p:a']")), vec!["t"]);
}

#[test]
fn text_and_cdata() {
    let doc = parse(b"<a>x<!-- c --><![CDATA[<y>]]><?pi v?>z<b>&amp;&#65;</b></a>").unwrap();
    assert_eq!(strs(select(&doc, "/*")), vec!["x<y>z&A"]);
    assert_eq!(strs(select(&doc, "//comment()")), vec![" c "]);
    assert_eq!(strs(select(&doc, "/a/b/text()")), vec!["&A"]);
    // Attribute values are normalised (tabs and newlines become spaces).
    let doc = parse(b"<a v=\"1\t2\n3\"/>").unwrap();
    assert_eq!(strs(select(&doc, "//@*")), vec!["1 2 3"]);
}

#[test]
fn depth_limit() {
    let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
    assert!(parse(ok.as_bytes()).is_ok());
    let deep = format!(
        "{}{}",
        "<a>".repeat(MAX_DEPTH + 1),
        "</a>".repeat(MAX_DEPTH + 1)
    );
    assert!(parse(deep.as_bytes()).is_err());
    // A megabyte of open tags must not overflow the stack.
    assert!(parse("<a>".repeat(300_000).as_bytes()).is_err());
    // Self-closing tags and comments do not nest.
    let flat = format!(
        "<r>{}<!--{}--></r>",
        "<a/>".repeat(10_000),
        "<b>".repeat(1000)
    );
    assert!(parse(flat.as_bytes()).is_ok());
}

#[test]
fn encodings() {
    let doc = parse(b"<?xml version='1.0' encoding='windows-1252'?><a>\x80</a>").unwrap();
    assert_eq!(strs(select(&doc, "/*")), vec!["\u{20ac}"]);
    let mut be = vec![0xFE, 0xFF];
    for u in "<a b='\u{e9}'/>".encode_utf16() {
        be.extend_from_slice(&u.to_be_bytes());
    }
    assert_eq!(strs(select(&parse(&be).unwrap(), "//@*")), vec!["\u{e9}"]);
    assert!(parse(b"<?xml version='1.0' encoding='us-ascii'?><a>\xe9</a>").is_err());
    // UTF-8 BOM.
    assert!(parse(b"\xef\xbb\xbf<a/>").is_ok());
}

#[test]
fn unsupported_xpath_gives_nothing() {
    let doc = parse(b"<a><b>1</b></a>").unwrap();
    assert!(select(&doc, "/a/b[1]").is_empty());
    assert!(xml::compile("count(//b)").is_err());
}
