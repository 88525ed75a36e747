//! libinjection v4.0.0's XSS check (`libinjection_xss`): the input is tokenized as HTML five
//! times (as text, and as the inside of an unquoted, `'`, `"` and backtick-quoted attribute
//! value), and flagged when any pass meets a doctype, a dangerous tag, an event-handler or other
//! dangerous attribute, a URL attribute whose value starts with a script-capable scheme, or a
//! comment that old browsers execute.
//!
//! The name lists are libinjection v4.0.0's as embedded in libmodsecurity 3.0.15 (BSD-3-Clause,
//! Copyright (c) 2012-2016 Nick Galbreath; see `sqli_keywords.rs` for the full notice). Names
//! are compared the way libinjection does: ASCII case-insensitively, skipping NUL bytes in the
//! input; event handlers (`on` + name) match by prefix, so `onclickfoo` counts as `onclick`.

use super::html5::{Html5, Start, TokenType};

/// How an attribute is dangerous.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attr {
    None,
    /// Always (event handlers, `xmlns`, IE data binding).
    Black,
    /// When its value is a `javascript:`, `data:`, `vbscript:` or `view-source:` URL.
    Url,
    /// Any value (inline CSS).
    Style,
    /// SVG's `attributeName`: its value names the attribute.
    Indirect,
}

/// Tags that are dangerous whatever their attributes (plus any tag starting `svg` or `xsl`).
#[rustfmt::skip]
const BLACK_TAGS: &[&[u8]] = &[
    b"APPLET", b"BASE", b"COMMENT", b"EMBED", b"FRAME", b"FRAMESET", b"HANDLER", b"IFRAME",
    b"IMPORT", b"ISINDEX", b"LINK", b"LISTENER", b"META", b"NOSCRIPT", b"OBJECT", b"SCRIPT",
    b"STYLE", b"VMLFRAME", b"XML", b"XSS",
];

const BLACK_ATTRS: &[(&[u8], Attr)] = &[
    (b"ACTION", Attr::Url),
    (b"ATTRIBUTENAME", Attr::Indirect),
    (b"BY", Attr::Url),
    (b"BACKGROUND", Attr::Url),
    (b"DATAFORMATAS", Attr::Black),
    (b"DATASRC", Attr::Black),
    (b"DYNSRC", Attr::Url),
    (b"FILTER", Attr::Style),
    (b"FORMACTION", Attr::Url),
    (b"FOLDER", Attr::Url),
    (b"FROM", Attr::Url),
    (b"HANDLER", Attr::Url),
    (b"HREF", Attr::Url),
    (b"LOWSRC", Attr::Url),
    (b"POSTER", Attr::Url),
    (b"SRC", Attr::Url),
    (b"STYLE", Attr::Style),
    (b"TO", Attr::Url),
    (b"VALUES", Attr::Url),
    (b"XLINK:HREF", Attr::Url),
];

/// v4.0.0's fixed list of event names (the attribute is `on` + name), sorted. Earlier
/// libinjection versions flagged every `on*` attribute instead.
#[rustfmt::skip]
const EVENTS: &[&[u8]] = &[
    b"ABORT", b"ACCESSKEYNOTFOUND", b"ACTIVATE", b"ACTIVE", b"ADDSOURCEBUFFER", b"ADDSTREAM",
    b"ADDTRACK", b"AFTERPAINT", b"AFTERPRINT", b"AFTERSCRIPTEXECUTE", b"ANIMATIONCANCEL",
    b"ANIMATIONEND", b"ANIMATIONITERATION", b"ANIMATIONSTART", b"AUDIOCOMPLETE", b"AUDIOEND",
    b"AUDIOPROCESS", b"AUDIOSTART", b"AUTOCOMPLETE", b"AUTOCOMPLETEERROR", b"AUXCLICK",
    b"BACKGROUNDFETCHABORT", b"BACKGROUNDFETCHCLICK", b"BACKGROUNDFETCHFAIL",
    b"BACKGROUNDFETCHSUCCESS", b"BEFOREACTIVATE", b"BEFORECOPY", b"BEFORECUT", b"BEFOREINPUT",
    b"BEFORELOAD", b"BEFOREMATCH", b"BEFOREPASTE", b"BEFOREPRINT", b"BEFORESCRIPTEXECUTE",
    b"BEFORETOGGLE", b"BEFOREUNLOAD", b"BEGINEVENT", b"BLOCKED", b"BLUR", b"BOUNDARY",
    b"BUFFEREDAMOUNTLOW", b"BUFFEREDCHANGE", b"CACHED", b"CANCEL", b"CANPLAY", b"CANPLAYTHROUGH",
    b"CHANGE", b"CHARGINGCHANGE", b"CHARGINGTIMECHANGE", b"CHECKING", b"CLICK", b"CLOSE",
    b"CLOSING", b"COMMAND", b"COMPLETE", b"COMPOSITIONCHANGE", b"COMPOSITIONEND",
    b"COMPOSITIONSTART", b"COMPOSITIONUPDATE", b"CONFIGURATIONCHANGE", b"CONNECT", b"CONNECTING",
    b"CONNECTIONSTATECHANGE", b"CONTENTVISIBILITYAUTOSTATECHANGE", b"CONTEXTLOST", b"CONTEXTMENU",
    b"CONTEXTRESTORED", b"CONTROLLERCHANGE", b"COOKIECHANGE", b"COORDINATORSTATECHANGE", b"COPY",
    b"COUPONCODECHANGED", b"CUECHANGE", b"CURRENTENTRYCHANGE", b"CUT", b"DATAAVAILABLE",
    b"DATACHANNEL", b"DBLCLICK", b"DEQUEUE", b"DEVICECHANGE", b"DEVICELIGHT", b"DEVICEMOTION",
    b"DEVICEORIENTATION", b"DEVICEORIENTATIONABSOLUTE", b"DISCHARGINGTIMECHANGE", b"DISCONNECT",
    b"DISPOSE", b"DOMACTIVATE", b"DOMCHARACTERDATAMODIFIED", b"DOMCONTENTLOADED",
    b"DOMNODEINSERTED", b"DOMNODEINSERTEDINTODOCUMENT", b"DOMNODEREMOVED",
    b"DOMNODEREMOVEDFROMDOCUMENT", b"DOMSUBTREEMODIFIED", b"DOWNLOADING", b"DRAG", b"DRAGEND",
    b"DRAGENTER", b"DRAGEXIT", b"DRAGLEAVE", b"DRAGOVER", b"DRAGSTART", b"DROP", b"DURATIONCHANGE",
    b"EDGEUICANCELED", b"EDGEUICOMPLETED", b"EDGEUISTARTED", b"EDITORBEFOREINPUT", b"EDITORINPUT",
    b"EMPTIED", b"ENCRYPTED", b"END", b"ENDED", b"ENDEVENT", b"ENDSTREAMING", b"ENTER",
    b"ENTERPICTUREINPICTURE", b"ERROR", b"EXIT", b"FENCEDTREECLICK", b"FETCH", b"FINISH", b"FOCUS",
    b"FOCUSIN", b"FOCUSOUT", b"FORMCHANGE", b"FORMCHECKBOXSTATECHANGE", b"FORMDATA",
    b"FORMINVALID", b"FORMRADIOSTATECHANGE", b"FORMRESET", b"FORMSELECT", b"FORMSUBMIT",
    b"FULLSCREENCHANGE", b"FULLSCREENERROR", b"GAMEPADAXISMOVE", b"GAMEPADBUTTONDOWN",
    b"GAMEPADBUTTONUP", b"GAMEPADCONNECTED", b"GAMEPADDISCONNECTED", b"GATHERINGSTATECHANGE",
    b"GESTURECHANGE", b"GESTUREEND", b"GESTURESCROLLEND", b"GESTURESCROLLSTART",
    b"GESTURESCROLLUPDATE", b"GESTURESTART", b"GESTURETAP", b"GESTURETAPDOWN",
    b"GOTPOINTERCAPTURE", b"HASHCHANGE", b"ICECANDIDATE", b"ICECANDIDATEERROR",
    b"ICECONNECTIONSTATECHANGE", b"ICEGATHERINGSTATECHANGE", b"IMAGEABORT", b"INACTIVE", b"INPUT",
    b"INPUTSOURCESCHANGE", b"INSTALL", b"INVALID", b"INVOKE", b"KEYDOWN", b"KEYPRESS",
    b"KEYSTATUSESCHANGE", b"KEYUP", b"LANGUAGECHANGE", b"LEAVEPICTUREINPICTURE",
    b"LEGACYATTRMODIFIED", b"LEGACYCHARACTERDATAMODIFIED", b"LEGACYDOMACTIVATE",
    b"LEGACYDOMFOCUSIN", b"LEGACYDOMFOCUSOUT", b"LEGACYMOUSELINEORPAGESCROLL",
    b"LEGACYMOUSEPIXELSCROLL", b"LEGACYNODEINSERTED", b"LEGACYNODEINSERTEDINTODOCUMENT",
    b"LEGACYNODEREMOVED", b"LEGACYNODEREMOVEDFROMDOCUMENT", b"LEGACYSUBTREEMODIFIED",
    b"LEGACYTEXTINPUT", b"LEVELCHANGE", b"LOAD", b"LOADEDDATA", b"LOADEDMETADATA", b"LOADEND",
    b"LOADING", b"LOADINGDONE", b"LOADINGERROR", b"LOADSTART", b"LOSTPOINTERCAPTURE",
    b"MAGNIFYGESTURE", b"MAGNIFYGESTURESTART", b"MAGNIFYGESTUREUPDATE", b"MARK",
    b"MEDIARECORDERDATAAVAILABLE", b"MEDIARECORDERSTOP", b"MEDIARECORDERWARNING",
    b"MERCHANTVALIDATION", b"MESSAGE", b"MESSAGEERROR", b"MOUSEDOUBLECLICK", b"MOUSEDOWN",
    b"MOUSEENTER", b"MOUSEEXPLOREBYTOUCH", b"MOUSEHITTEST", b"MOUSELEAVE", b"MOUSELONGTAP",
    b"MOUSEMOVE", b"MOUSEOUT", b"MOUSEOVER", b"MOUSEUP", b"MOUSEWHEEL", b"MOZFULLSCREENCHANGE",
    b"MOZFULLSCREENERROR", b"MOZPOINTERLOCKCHANGE", b"MOZPOINTERLOCKERROR", b"MOZVISUALRESIZE",
    b"MOZVISUALSCROLL", b"MUTE", b"NAVIGATE", b"NAVIGATEERROR", b"NAVIGATESUCCESS",
    b"NEGOTIATIONNEEDED", b"NEXTTRACK", b"NOMATCH", b"NOTIFICATIONCLICK", b"NOTIFICATIONCLOSE",
    b"NOUPDATE", b"OBSOLETE", b"OFFLINE", b"ONLINE", b"OPEN", b"ORIENTATIONCHANGE",
    b"OVERFLOWCHANGED", b"OVERSCROLL", b"PAGEHIDE", b"PAGEREVEAL", b"PAGESHOW", b"PAGESWAP",
    b"PASTE", b"PAUSE", b"PAYERDETAILCHANGE", b"PAYMENTAUTHORIZED", b"PAYMENTMETHODCHANGE",
    b"PAYMENTMETHODSELECTED", b"PLAY", b"PLAYING", b"POINTERAUXCLICK", b"POINTERCANCEL",
    b"POINTERCLICK", b"POINTERDOWN", b"POINTERENTER", b"POINTERGOTCAPTURE", b"POINTERLEAVE",
    b"POINTERLOCKCHANGE", b"POINTERLOCKERROR", b"POINTERLOSTCAPTURE", b"POINTERMOVE",
    b"POINTEROUT", b"POINTEROVER", b"POINTERRAWUPDATE", b"POINTERUP", b"POPSTATE",
    b"PRESSTAPGESTURE", b"PREVIOUSTRACK", b"PROCESSORERROR", b"PROGRESS", b"PROPERTYCHANGE",
    b"PUSH", b"PUSHNOTIFICATION", b"PUSHSUBSCRIPTIONCHANGE", b"QUALITYCHANGE", b"RATECHANGE",
    b"READYSTATECHANGE", b"REDRAW", b"REJECTIONHANDLED", b"RELEASE", b"REMOVE",
    b"REMOVESOURCEBUFFER", b"REMOVESTREAM", b"REMOVETRACK", b"REPEAT", b"REPEATEVENT", b"RESET",
    b"RESIZE", b"RESOURCETIMINGBUFFERFULL", b"RESULT", b"RESUME", b"ROTATEGESTURE",
    b"ROTATEGESTURESTART", b"ROTATEGESTUREUPDATE", b"RTCTRANSFORM", b"SCROLL",
    b"SCROLLEDAREACHANGED", b"SCROLLEND", b"SCROLLPORTOVERFLOW", b"SCROLLPORTUNDERFLOW",
    b"SCROLLSNAPCHANGE", b"SCROLLSNAPCHANGING", b"SEARCH", b"SECURITYPOLICYVIOLATION", b"SEEKED",
    b"SEEKING", b"SELECT", b"SELECTEDCANDIDATEPAIRCHANGE", b"SELECTEND", b"SELECTIONCHANGE",
    b"SELECTSTART", b"SHIPPINGADDRESSCHANGE", b"SHIPPINGCONTACTSELECTED",
    b"SHIPPINGMETHODSELECTED", b"SHIPPINGOPTIONCHANGE", b"SHOW", b"SIGNALINGSTATECHANGE",
    b"SLOTCHANGE", b"SMILBEGINEVENT", b"SMILENDEVENT", b"SMILREPEATEVENT", b"SORT", b"SOUNDEND",
    b"SOUNDSTART", b"SOURCECLOSE", b"SOURCEENDED", b"SOURCEOPEN", b"SPEECHEND", b"SPEECHSTART",
    b"SQUEEZE", b"SQUEEZEEND", b"SQUEEZESTART", b"STALLED", b"START", b"STARTED",
    b"STARTSTREAMING", b"STATECHANGE", b"STOP", b"STORAGE", b"SUBMIT", b"SUCCESS", b"SUSPEND",
    b"SVGLOAD", b"SVGSCROLL", b"SWIPEGESTURE", b"SWIPEGESTUREEND", b"SWIPEGESTUREMAYSTART",
    b"SWIPEGESTURESTART", b"SWIPEGESTUREUPDATE", b"TAPGESTURE", b"TEXTINPUT", b"TIMEOUT",
    b"TIMEUPDATE", b"TOGGLE", b"TONECHANGE", b"TOUCHCANCEL", b"TOUCHEND", b"TOUCHFORCECHANGE",
    b"TOUCHMOVE", b"TOUCHSTART", b"TRACK", b"TRANSITIONCANCEL", b"TRANSITIONEND", b"TRANSITIONRUN",
    b"TRANSITIONSTART", b"UNCAPTUREDERROR", b"UNHANDLEDREJECTION", b"UNIDENTIFIEDEVENT", b"UNLOAD",
    b"UNMUTE", b"UPDATE", b"UPDATEEND", b"UPDATEFOUND", b"UPDATEREADY", b"UPDATESTART",
    b"UPGRADENEEDED", b"USERPROXIMITY", b"VALIDATEMERCHANT", b"VERSIONCHANGE", b"VISIBILITYCHANGE",
    b"VOICESCHANGED", b"VOLUMECHANGE", b"VRDISPLAYACTIVATE", b"VRDISPLAYCONNECT",
    b"VRDISPLAYDEACTIVATE", b"VRDISPLAYDISCONNECT", b"VRDISPLAYPRESENTCHANGE", b"WAITING",
    b"WAITINGFORKEY", b"WEBGLCONTEXTCREATIONERROR", b"WEBGLCONTEXTLOST", b"WEBGLCONTEXTRESTORED",
    b"WEBKITANIMATIONEND", b"WEBKITANIMATIONITERATION", b"WEBKITANIMATIONSTART",
    b"WEBKITASSOCIATEFORMCONTROLS", b"WEBKITAUTOFILLREQUEST", b"WEBKITBEFORETEXTINSERTED",
    b"WEBKITBEGINFULLSCREEN", b"WEBKITCURRENTPLAYBACKTARGETISWIRELESSCHANGED",
    b"WEBKITENDFULLSCREEN", b"WEBKITFULLSCREENCHANGE", b"WEBKITFULLSCREENERROR", b"WEBKITKEYADDED",
    b"WEBKITKEYERROR", b"WEBKITKEYMESSAGE", b"WEBKITMEDIASESSIONMETADATACHANGED",
    b"WEBKITMOUSEFORCECHANGED", b"WEBKITMOUSEFORCEDOWN", b"WEBKITMOUSEFORCEUP",
    b"WEBKITMOUSEFORCEWILLBEGIN", b"WEBKITNEEDKEY", b"WEBKITNETWORKINFOCHANGE",
    b"WEBKITPLAYBACKTARGETAVAILABILITYCHANGED", b"WEBKITPRESENTATIONMODECHANGED",
    b"WEBKITREMOVESOURCEBUFFER", b"WEBKITSHADOWROOTATTACHED", b"WEBKITSOURCECLOSE",
    b"WEBKITSOURCEENDED", b"WEBKITSOURCEOPEN", b"WEBKITTRANSITIONEND", b"WHEEL", b"WRITE",
    b"WRITEEND", b"WRITESTART", b"XULBROADCAST", b"XULCOMMANDUPDATE", b"XULPOPUPHIDDEN",
    b"XULPOPUPHIDING", b"XULPOPUPSHOWING", b"XULPOPUPSHOWN", b"XULSYSTEMSTATUSBARCLICK", b"ZOOM",
];

/// The longest event name.
const MAX_EVENT: usize = 44;

/// libinjection's `cstrcasecmp_with_null(name, b, b.len()) == 0`: `b` without its NUL bytes,
/// upper-cased, equals `name`.
fn eq_skip_nul(name: &[u8], b: &[u8]) -> bool {
    let mut want = name.iter();
    for &c in b {
        if c == 0 {
            continue;
        }
        if want.next() != Some(&c.to_ascii_uppercase()) {
            return false;
        }
    }
    want.next().is_none()
}

/// Does an event name start the bytes after `on`? (C compares past the attribute name, into
/// the rest of the input; a NUL or the end of the input never matches.)
fn is_event(after_on: &[u8]) -> bool {
    let n = after_on.len().min(MAX_EVENT);
    let mut buf = [0u8; MAX_EVENT];
    for (d, s) in buf.iter_mut().zip(&after_on[..n]) {
        *d = s.to_ascii_uppercase();
    }
    let rest = &buf[..n];
    let Some(&first) = rest.first() else {
        return false;
    };
    let lo = EVENTS.partition_point(|e| e[0] < first);
    let hi = EVENTS.partition_point(|e| e[0] <= first);
    EVENTS[lo..hi].iter().any(|e| rest.starts_with(e))
}

/// `eq_skip_nul`, with a shortcut for the usual name without NULs.
fn name_eq(name: &[u8], b: &[u8], has_nul: bool) -> bool {
    if has_nul {
        eq_skip_nul(name, b)
    } else {
        name.len() == b.len()
            && name
                .iter()
                .zip(b)
                .all(|(n, c)| *n == c.to_ascii_uppercase())
    }
}

fn black_tag(tag: &[u8]) -> bool {
    if tag.len() < 3 {
        return false;
    }
    let nul = tag.contains(&0);
    BLACK_TAGS.iter().any(|t| name_eq(t, tag, nul))
        || tag[..3].eq_ignore_ascii_case(b"SVG")
        || tag[..3].eq_ignore_ascii_case(b"XSL")
}

/// The danger of attribute `s[start..start + len]`.
fn black_attr(s: &[u8], start: usize, len: usize) -> Attr {
    let name = &s[start..start + len];
    if len < 2 {
        return Attr::None;
    }
    if len >= 5 {
        if name[..2].eq_ignore_ascii_case(b"ON") && is_event(&s[start + 2..]) {
            return Attr::Black;
        }
        // xmlns can create arbitrary tags.
        if eq_skip_nul(b"XMLNS", &name[..5]) || eq_skip_nul(b"XLINK", &name[..5]) {
            return Attr::Black;
        }
    }
    let nul = name.contains(&0);
    BLACK_ATTRS
        .iter()
        .find(|(a, _)| name_eq(a, name, nul))
        .map_or(Attr::None, |(_, kind)| *kind)
}

/// libinjection's `html_decode_char_at`: the character at `s[at..]` (of which `len` bytes
/// belong to the value), decoding `&#NN;` and `&#xHH;`, and how many bytes it took. Like C, it
/// may look a byte or two past the value; past the input it sees a NUL.
fn decode_char(s: &[u8], at: usize, len: usize) -> (u32, usize) {
    let byte = |i: usize| s.get(at + i).copied().unwrap_or(0);
    let c = byte(0);
    if c != b'&' || len < 2 {
        return (u32::from(c), 1);
    }
    if byte(1) != b'#' {
        return (u32::from(b'&'), 1);
    }
    let (radix, mut i) = if matches!(byte(2), b'x' | b'X') {
        (16, 3)
    } else {
        (10, 2)
    };
    let Some(d) = char::from(byte(i)).to_digit(radix) else {
        return (u32::from(b'&'), 1);
    };
    let mut val = d;
    i += 1;
    while i < len {
        let c = byte(i);
        if c == b';' {
            return (val, i + 1);
        }
        let Some(d) = char::from(c).to_digit(radix) else {
            return (val, i);
        };
        val = val * radix + d;
        if val > 0x10_00FF {
            return (u32::from(b'&'), 1);
        }
        i += 1;
    }
    (val, i)
}

/// Does the HTML-encoded value `s[at..at + len]` start with `prefix` (upper case), ignoring
/// leading white space and control characters, and NUL and newline characters anywhere?
fn html_starts_with(prefix: &[u8], s: &[u8], mut at: usize, mut len: usize) -> bool {
    let mut want = prefix.iter();
    let mut first = true;
    while len > 0 {
        let Some(&w) = want.as_slice().first() else {
            return true;
        };
        let (c, used) = decode_char(s, at, len);
        at += used;
        len = len.saturating_sub(used);
        if first && c <= 32 {
            continue;
        }
        first = false;
        if c == 0 || c == 10 {
            continue;
        }
        let c = if (u32::from(b'a')..=u32::from(b'z')).contains(&c) {
            c - 0x20
        } else {
            c
        };
        // C compares the decoded value truncated to a char.
        if w != c as u8 {
            return false;
        }
        want.next();
    }
    want.as_slice().is_empty()
}

/// A URL value with a scheme that can run script (or `data:`, `view-source:`).
fn black_url(s: &[u8], start: usize, len: usize) -> bool {
    let value = &s[start..start + len];
    // Leading bytes outside printable ASCII are skipped (C's signed char: high bytes too).
    let skip = value
        .iter()
        .position(|c| (33..=126).contains(c))
        .unwrap_or(len);
    let (at, len) = (start + skip, len - skip);
    [&b"DATA"[..], b"VIEW-SOURCE", b"JAVA", b"VBSCRIPT"]
        .iter()
        .any(|p| html_starts_with(p, s, at, len))
}

/// Comments that old browsers treat as markup: a backtick, IE conditional comments, `<?xml`,
/// `<?import`, `<!ENTITY`.
fn black_comment(c: &[u8]) -> bool {
    if c.contains(&b'`') {
        return true;
    }
    if c.len() > 3
        && ((c[0] == b'[' && c[1..3].eq_ignore_ascii_case(b"IF"))
            || c[..3].eq_ignore_ascii_case(b"XML"))
    {
        return true;
    }
    c.len() > 5 && (eq_skip_nul(b"IMPORT", &c[..6]) || eq_skip_nul(b"ENTITY", &c[..6]))
}

/// One pass of `libinjection_is_xss`, tokenizing from `start`.
fn is_xss_from(s: &[u8], start: Start) -> bool {
    let mut h = Html5::new(s, start);
    let mut attr = Attr::None;
    while h.next_token() {
        if h.token_type != TokenType::AttrValue {
            attr = Attr::None;
        }
        match h.token_type {
            TokenType::Doctype => return true,
            TokenType::TagNameOpen if black_tag(h.token()) => return true,
            TokenType::AttrName => attr = black_attr(s, h.token_start, h.token_len),
            TokenType::AttrValue => {
                let (at, len) = (h.token_start, h.token_len);
                match attr {
                    Attr::None => {}
                    Attr::Black | Attr::Style => return true,
                    Attr::Url if black_url(s, at, len) => return true,
                    Attr::Indirect if black_attr(s, at, len) != Attr::None => return true,
                    Attr::Url | Attr::Indirect => {}
                }
                attr = Attr::None;
            }
            TokenType::TagComment if black_comment(h.token()) => return true,
            _ => {}
        }
    }
    false
}

/// The bytes one of which every value [`detect`] flags holds. Whatever state the tokenizer
/// starts in, a tag name, a comment or a doctype is only ever read after a `<`, and an
/// attribute's value after an attribute name only after an `=` (a value the tokenizer starts
/// in is one no attribute name came before, which is never flagged).
pub(super) const REQUIRED: &[u8] = b"<=";

/// libinjection's `libinjection_xss`.
pub fn detect(s: &[u8]) -> bool {
    if memchr::memchr2(REQUIRED[0], REQUIRED[1], s).is_none() {
        return false;
    }
    [
        Start::Data,
        Start::ValueNoQuote,
        Start::ValueSingleQuote,
        Start::ValueDoubleQuote,
        Start::ValueBackQuote,
    ]
    .into_iter()
    .any(|start| is_xss_from(s, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces of markup: every one a flagged value needs but `<` and `=`.
    const PIECES: &[&str] = &[
        " ",
        "\t",
        "\n",
        "/",
        ">",
        "'",
        "\"",
        "`",
        "!",
        "?",
        "%",
        "-",
        "&",
        ";",
        ":",
        "\0",
        "onload",
        "onerror",
        "style",
        "src",
        "href",
        "formaction",
        "xlink:href",
        "script",
        "iframe",
        "!DOCTYPE",
        "--",
        "[if",
        "javascript:",
        "vbscript:",
        "data:",
        "alert(1)",
        "x",
        "ON",
    ];

    const STARTS: [Start; 5] = [
        Start::Data,
        Start::ValueNoQuote,
        Start::ValueSingleQuote,
        Start::ValueDoubleQuote,
        Start::ValueBackQuote,
    ];

    #[test]
    fn the_pieces_make_xss_with_a_lt_or_an_eq() {
        // (so the property below is about values the tokenizer would flag otherwise)
        for v in [
            "x onload=alert(1)",
            "<script>",
            "' onerror='x",
            "<!DOCTYPE html>",
        ] {
            assert!(detect(v.as_bytes()), "{v}");
        }
    }

    proptest::proptest! {
        /// Without `<` and `=`, no start state flags anything ([`REQUIRED`]; the shortcut in
        /// [`detect`] skips the tokenizer, which is run here).
        #[test]
        fn nothing_is_flagged_without_a_lt_or_an_eq(
            pieces in proptest::collection::vec(0..PIECES.len(), 0..24),
        ) {
            let value: Vec<u8> = pieces.iter().flat_map(|&i| PIECES[i].bytes()).collect();
            for start in STARTS {
                proptest::prop_assert!(
                    !is_xss_from(&value, start),
                    "{:?} flagged from {start:?}",
                    value.escape_ascii().to_string()
                );
            }
        }
    }
}
