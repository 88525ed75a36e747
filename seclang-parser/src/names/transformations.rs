//! Transformation names (`t:name`), as libmodsecurity v3 accepts them.

name_table! {
    /// A transformation function name.
    pub enum TransformationName {
        Base64Decode => ["base64Decode"],
        Base64DecodeExt => ["base64DecodeExt"],
        Base64Encode => ["base64Encode"],
        CmdLine => ["cmdLine"],
        CompressWhitespace => ["compressWhitespace"],
        CssDecode => ["cssDecode"],
        EscapeSeqDecode => ["escapeSeqDecode"],
        HexDecode => ["hexDecode"],
        HexEncode => ["hexEncode"],
        HtmlEntityDecode => ["htmlEntityDecode"],
        JsDecode => ["jsDecode"],
        Length => ["length"],
        Lowercase => ["lowercase"],
        Md5 => ["md5"],
        /// Clears the transformations inherited from `SecDefaultAction` and earlier `t:`.
        None => ["none"],
        NormalizePath => ["normalizePath", "normalisePath"],
        NormalizePathWin => ["normalizePathWin", "normalisePathWin"],
        ParityEven7bit => ["parityEven7bit"],
        ParityOdd7bit => ["parityOdd7bit"],
        ParityZero7bit => ["parityZero7bit"],
        RemoveComments => ["removeComments"],
        RemoveCommentsChar => ["removeCommentsChar"],
        RemoveNulls => ["removeNulls"],
        RemoveWhitespace => ["removeWhitespace"],
        ReplaceComments => ["replaceComments"],
        ReplaceNulls => ["replaceNulls"],
        Sha1 => ["sha1"],
        SqlHexDecode => ["sqlHexDecode"],
        Trim => ["trim"],
        TrimLeft => ["trimLeft"],
        TrimRight => ["trimRight"],
        Uppercase => ["uppercase"],
        UrlDecode => ["urlDecode"],
        UrlDecodeUni => ["urlDecodeUni"],
        UrlEncode => ["urlEncode"],
        Utf8ToUnicode => ["utf8toUnicode"],
    }
}
