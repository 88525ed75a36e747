//! Request body processing: which processor runs (Content-Type, or `ctl:requestBodyProcessor`),
//! what it adds to the transaction, and the `REQBODY_*` variables — as libmodsecurity's
//! `processRequestBody` sets them.

use super::{BodyProcessor, Transaction};
use crate::body::{json, multipart, xml};
use seclang_parser::names::VariableName as V;

impl Transaction {
    fn body_error(&mut self, message: Option<&[u8]>) {
        match message {
            Some(m) => {
                self.set_scalar(V::ReqbodyError, b"1");
                self.set_scalar(V::ReqbodyProcessorError, b"1");
                self.set_scalar(V::ReqbodyErrorMsg, m);
                self.set_scalar(V::ReqbodyProcessorErrorMsg, m);
            }
            None => {
                self.set_scalar(V::ReqbodyError, b"0");
                self.set_scalar(V::ReqbodyProcessorError, b"0");
            }
        }
    }

    pub(crate) fn run_body_processor(&mut self) {
        let body = std::mem::take(&mut self.request_body);
        let no_files_limit = self.rules.config.request_body_no_files_limit.unwrap_or(0);
        if no_files_limit > 0
            && self.body_processor != Some(BodyProcessor::Multipart)
            && body.len() as u64 > no_files_limit
        {
            self.set_scalar(V::InboundDataError, b"1");
            self.body_error(Some(
                b"Request body excluding files is bigger than the maximum expected.",
            ));
            self.request_body = body;
            return;
        }
        match self.body_processor {
            Some(BodyProcessor::Xml) => match xml::parse(&body) {
                Ok(doc) => {
                    self.xml = Some(doc);
                    self.xml_selections.get_mut().clear();
                    self.body_error(None);
                }
                Err(e) => self.body_error(Some(e.reqbody_error_msg().as_bytes())),
            },
            Some(BodyProcessor::Json) => {
                let depth = self
                    .rules
                    .config
                    .request_body_json_depth_limit
                    .map_or(json::DEFAULT_DEPTH_LIMIT, |d| d as usize);
                // SecArgumentsLimit counts every argument, query string ones included
                let args_limit = self
                    .rules
                    .config
                    .arguments_limit
                    .map_or(usize::MAX, |l| (l as usize).saturating_sub(self.args.len()));
                // libmodsecurity's JSON processor adds each at offset 0, as yajl finds it
                // (those before an error stay)
                let parsed = json::parse_each(&body, depth, args_limit, |k, v| {
                    self.add_argument(false, k, v, Some(0))
                });
                match parsed {
                    Ok(()) => self.body_error(None),
                    Err(e) => {
                        if body.is_empty() {
                            self.body_error(None);
                        } else {
                            self.body_error(Some(e.reqbody_error_msg().as_bytes()));
                        }
                    }
                }
            }
            Some(BodyProcessor::Multipart) => {
                let ct = self
                    .request_headers
                    .get(b"content-type")
                    .map(<[u8]>::to_vec);
                match ct {
                    Some(ct) => self.multipart(&ct, &body),
                    None => self.body_error(None),
                }
            }
            Some(BodyProcessor::UrlEncoded) => {
                self.var_offset += 1;
                self.extract_arguments(false, &body, self.var_offset);
            }
            None => self.body_error(None),
        }
        self.request_body = body;
    }

    fn multipart(&mut self, content_type: &[u8], body: &[u8]) {
        let c = &self.rules.config;
        let extract = c.tmp_save_uploaded_files == Some(true)
            || c.upload_keep_files
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("on"));
        let config = multipart::MultipartConfig {
            extract_files: extract,
            upload_file_limit: c.upload_file_limit.unwrap_or(0) as usize,
        };
        let m = multipart::parse(content_type, body, &config);
        // Offsets: libmodsecurity passes its running variable offset to the parser, and the
        // parser's offsets count from there (form values one further).
        let base = self.var_offset as isize;
        let at = |relative: isize, len: usize| Some(((base + relative).max(0) as usize, len));
        for ((k, v), offset) in m.args.iter().zip(&m.arg_offsets) {
            self.add_multipart_argument(k, v, at(offset + 1, v.len()));
        }
        let mut combined = 0;
        for f in &m.files {
            self.files.add_at(
                &f.name,
                &f.filename,
                at(f.filename_offset, f.filename.len()),
            );
            self.files_names
                .add_at(&f.name, &f.name, at(f.name_offset, f.name.len()));
            self.files_sizes.add_at(
                &f.name,
                f.size.to_string().as_bytes(),
                at(f.size_offset, f.size),
            );
            if f.content.is_some() {
                self.files_tmp_content.add_at(
                    &f.name,
                    &f.tmp_content,
                    at(f.tmp_content_offset, f.tmp_content.len()),
                );
            }
            // FILES_COMBINED_SIZE is set once per file: an origin each
            combined += f.size;
            if let Some((offset, len)) = at(f.size_offset, f.size) {
                self.set_scalar_at(
                    V::FilesCombinedSize,
                    combined.to_string().as_bytes(),
                    offset,
                    len,
                );
            }
        }
        for (name, line) in &m.part_headers {
            self.multipart_part_headers.add(name, line);
        }
        for (n, offset) in &m.names {
            self.multipart_names.add_at(n, n, at(*offset, n.len()));
        }
        for (n, offset) in &m.filenames {
            self.multipart_filenames.add_at(n, n, at(*offset, n.len()));
        }
        let f = &m.flags;
        let flag = |b: bool| -> &'static [u8] {
            if b {
                b"1"
            } else {
                b"0"
            }
        };
        self.set_scalar(V::MultipartStrictError, flag(f.strict_error));
        self.set_scalar(V::MultipartBoundaryQuoted, flag(f.boundary_quoted));
        self.set_scalar(V::MultipartBoundaryWhitespace, flag(f.boundary_whitespace));
        self.set_scalar(V::MultipartDataBefore, flag(f.data_before));
        self.set_scalar(V::MultipartDataAfter, flag(f.data_after));
        self.set_scalar(V::MultipartHeaderFolding, flag(f.header_folding));
        self.set_scalar(V::MultipartLfLine, flag(f.lf_line));
        self.set_scalar(V::MultipartCrlfLfLines, flag(f.crlf_lf_lines));
        self.set_scalar(V::MultipartMissingSemicolon, flag(f.missing_semicolon));
        self.set_scalar(V::MultipartInvalidQuoting, flag(f.invalid_quoting));
        self.set_scalar(V::MultipartInvalidPart, flag(f.invalid_part));
        self.set_scalar(
            V::MultipartInvalidHeaderFolding,
            flag(f.invalid_header_folding),
        );
        self.set_scalar(V::MultipartFileLimitExceeded, flag(f.file_limit_exceeded));
        self.set_scalar(
            V::MultipartUnmatchedBoundary,
            f.unmatched_boundary.to_string().as_bytes(),
        );
        let no_files_limit = self.rules.config.request_body_no_files_limit.unwrap_or(0);
        if m.error.is_none()
            && no_files_limit > 0
            && m.reqbody_no_files_length as u64 > no_files_limit
        {
            self.set_scalar(V::InboundDataError, b"1");
            self.body_error(Some(
                b"Request body excluding files is bigger than the maximum expected.",
            ));
            return;
        }
        self.body_error(m.reqbody_error_msg().as_deref());
    }
}
