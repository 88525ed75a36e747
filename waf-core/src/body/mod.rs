//! Request body processors: what libmodsecurity v3.0.15 extracts from a request body (and, for
//! URLENCODED, from the query string) before the rules of phase 2 run.
//!
//! One file per processor, each a port of the C++ code that decides the verdicts, quirks
//! included (every file's doc lists the quirks it keeps and the C++ they come from):
//!
//! | processor | C++ | gives |
//! |---|---|---|
//! | [`urlencoded`] | `Transaction::extractArguments`, `utils::urldecode_nonstrict_inplace` | ARGS_GET / ARGS_POST pairs, `URLENCODED_ERROR` |
//! | [`multipart`] | `request_body_processor/multipart.cc` | ARGS_POST, FILES*, `MULTIPART_*`, `REQBODY_ERROR_MSG` |
//! | [`json`] | `request_body_processor/json.cc` + yajl 2.1 | ARGS (`json.a.array_0`...), depth/argument limits |
//! | [`xml`] | `request_body_processor/xml.cc` (libxml2), `variables/xml.cc` | the document, `XML:<xpath>` values |
//!
//! What this module does not own: choosing the processor (`Content-Type`,
//! `ctl:requestBodyProcessor`), body size limits (`SecRequestBodyLimit`,
//! `SecRequestBodyNoFilesLimit`: the caller compares [`multipart::Multipart::reqbody_no_files_length`]
//! or the body size), setting the variables of the transaction, `SecArgumentsLimit` for
//! URLENCODED and MULTIPART (the caller counts the arguments it adds; JSON takes the remaining
//! room because libmodsecurity stops the JSON parse there). Everything here takes bytes and
//! returns owned values; nothing panics, recurses on input depth, or needs more than linear
//! time in the input (plus the size of what it returns).
//!
//! Error texts for `REQBODY_ERROR_MSG` are libmodsecurity's: `Multipart parsing error: ...`,
//! `JSON parsing error: ...`, `XML parsing error: XML: Failed to parse document.`.

pub mod json;
pub mod multipart;
pub mod urlencoded;
pub mod xml;

pub use json::{JsonError, JsonErrorKind};
pub use multipart::{Multipart, MultipartConfig, MultipartFile, MultipartFlags};
pub use urlencoded::UrlencodedStatus;
pub use xml::{XPath, XPathError, XmlDocument, XmlError};
