//! Variable (target) names, as libmodsecurity v3 accepts them.

name_table! {
    /// A variable: a scalar (`REQUEST_URI`) or a collection (`ARGS`, `TX`, `XML`).
    pub enum VariableName {
        Args => ["ARGS"],
        ArgsCombinedSize => ["ARGS_COMBINED_SIZE"],
        ArgsGet => ["ARGS_GET"],
        ArgsGetNames => ["ARGS_GET_NAMES"],
        ArgsNames => ["ARGS_NAMES"],
        ArgsPost => ["ARGS_POST"],
        ArgsPostNames => ["ARGS_POST_NAMES"],
        AuthType => ["AUTH_TYPE"],
        Duration => ["DURATION"],
        Env => ["ENV"],
        Files => ["FILES"],
        FilesCombinedSize => ["FILES_COMBINED_SIZE"],
        FilesNames => ["FILES_NAMES"],
        FilesSizes => ["FILES_SIZES"],
        FilesTmpContent => ["FILES_TMP_CONTENT"],
        FilesTmpNames => ["FILES_TMPNAMES"],
        FullRequest => ["FULL_REQUEST"],
        FullRequestLength => ["FULL_REQUEST_LENGTH"],
        Geo => ["GEO"],
        Global => ["GLOBAL"],
        HighestSeverity => ["HIGHEST_SEVERITY"],
        InboundDataError => ["INBOUND_DATA_ERROR"],
        Ip => ["IP"],
        MatchedVar => ["MATCHED_VAR"],
        MatchedVarName => ["MATCHED_VAR_NAME"],
        MatchedVars => ["MATCHED_VARS"],
        MatchedVarsNames => ["MATCHED_VARS_NAMES"],
        ModsecBuild => ["MODSEC_BUILD"],
        MscPcreError => ["MSC_PCRE_ERROR"],
        MscPcreLimitsExceeded => ["MSC_PCRE_LIMITS_EXCEEDED"],
        MultipartBoundaryQuoted => ["MULTIPART_BOUNDARY_QUOTED"],
        MultipartBoundaryWhitespace => ["MULTIPART_BOUNDARY_WHITESPACE"],
        MultipartCrlfLfLines => ["MULTIPART_CRLF_LF_LINES"],
        MultipartDataAfter => ["MULTIPART_DATA_AFTER"],
        MultipartDataBefore => ["MULTIPART_DATA_BEFORE"],
        MultipartFileLimitExceeded => ["MULTIPART_FILE_LIMIT_EXCEEDED"],
        MultipartFilename => ["MULTIPART_FILENAME"],
        MultipartHeaderFolding => ["MULTIPART_HEADER_FOLDING"],
        MultipartInvalidHeaderFolding => ["MULTIPART_INVALID_HEADER_FOLDING"],
        MultipartInvalidPart => ["MULTIPART_INVALID_PART"],
        MultipartInvalidQuoting => ["MULTIPART_INVALID_QUOTING"],
        MultipartLfLine => ["MULTIPART_LF_LINE"],
        MultipartMissingSemicolon => ["MULTIPART_MISSING_SEMICOLON", "MULTIPART_SEMICOLON_MISSING"],
        MultipartName => ["MULTIPART_NAME"],
        MultipartPartHeaders => ["MULTIPART_PART_HEADERS"],
        MultipartStrictError => ["MULTIPART_STRICT_ERROR"],
        MultipartUnmatchedBoundary => ["MULTIPART_UNMATCHED_BOUNDARY"],
        OutboundDataError => ["OUTBOUND_DATA_ERROR"],
        PathInfo => ["PATH_INFO"],
        QueryString => ["QUERY_STRING"],
        RemoteAddr => ["REMOTE_ADDR"],
        RemoteHost => ["REMOTE_HOST"],
        RemotePort => ["REMOTE_PORT"],
        RemoteUser => ["REMOTE_USER"],
        ReqbodyError => ["REQBODY_ERROR"],
        ReqbodyErrorMsg => ["REQBODY_ERROR_MSG"],
        ReqbodyProcessor => ["REQBODY_PROCESSOR"],
        ReqbodyProcessorError => ["REQBODY_PROCESSOR_ERROR"],
        ReqbodyProcessorErrorMsg => ["REQBODY_PROCESSOR_ERROR_MSG"],
        RequestBasename => ["REQUEST_BASENAME"],
        RequestBody => ["REQUEST_BODY"],
        RequestBodyLength => ["REQUEST_BODY_LENGTH"],
        RequestCookies => ["REQUEST_COOKIES"],
        RequestCookiesNames => ["REQUEST_COOKIES_NAMES"],
        RequestFilename => ["REQUEST_FILENAME"],
        RequestHeaders => ["REQUEST_HEADERS"],
        RequestHeadersNames => ["REQUEST_HEADERS_NAMES"],
        RequestLine => ["REQUEST_LINE"],
        RequestMethod => ["REQUEST_METHOD"],
        RequestProtocol => ["REQUEST_PROTOCOL"],
        RequestUri => ["REQUEST_URI"],
        RequestUriRaw => ["REQUEST_URI_RAW"],
        Resource => ["RESOURCE"],
        ResponseBody => ["RESPONSE_BODY"],
        ResponseContentLength => ["RESPONSE_CONTENT_LENGTH"],
        ResponseContentType => ["RESPONSE_CONTENT_TYPE"],
        ResponseHeaders => ["RESPONSE_HEADERS"],
        ResponseHeadersNames => ["RESPONSE_HEADERS_NAMES"],
        ResponseProtocol => ["RESPONSE_PROTOCOL"],
        ResponseStatus => ["RESPONSE_STATUS"],
        Rule => ["RULE"],
        ServerAddr => ["SERVER_ADDR"],
        ServerName => ["SERVER_NAME"],
        ServerPort => ["SERVER_PORT"],
        Session => ["SESSION"],
        SessionId => ["SESSIONID"],
        Status => ["STATUS"],
        StatusLine => ["STATUS_LINE"],
        Time => ["TIME"],
        TimeDay => ["TIME_DAY"],
        TimeEpoch => ["TIME_EPOCH"],
        TimeHour => ["TIME_HOUR"],
        TimeMin => ["TIME_MIN"],
        TimeMon => ["TIME_MON"],
        TimeSec => ["TIME_SEC"],
        TimeWday => ["TIME_WDAY"],
        TimeYear => ["TIME_YEAR"],
        Tx => ["TX"],
        UniqueId => ["UNIQUE_ID"],
        UrlencodedError => ["URLENCODED_ERROR"],
        User => ["USER"],
        UserId => ["USERID"],
        WebAppId => ["WEBAPPID"],
        /// Rejected by libmodsecurity ("not supported"); accepted by the parser so the loader can say so.
        WebserverErrorLog => ["WEBSERVER_ERROR_LOG"],
        Xml => ["XML"],
    }
}

impl VariableName {
    /// Whether the variable takes a `:key`, `:/regex/` or `:/xpath` selector.
    pub fn is_collection(self) -> bool {
        use VariableName::*;
        matches!(
            self,
            Args | ArgsGet
                | ArgsGetNames
                | ArgsNames
                | ArgsPost
                | ArgsPostNames
                | Env
                | Files
                | FilesNames
                | FilesSizes
                | FilesTmpContent
                | FilesTmpNames
                | Geo
                | Global
                | Ip
                | MatchedVars
                | MatchedVarsNames
                | MultipartFilename
                | MultipartName
                | MultipartPartHeaders
                | RequestCookies
                | RequestCookiesNames
                | RequestHeaders
                | RequestHeadersNames
                | Resource
                | ResponseHeaders
                | ResponseHeadersNames
                | Rule
                | Session
                | Tx
                | User
                | Xml
        )
    }
}
