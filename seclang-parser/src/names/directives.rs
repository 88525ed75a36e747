//! Directive names: what libmodsecurity v3 accepts, plus the v2 ones real configurations still
//! carry (`IncludeOptional`, `SecServerSignature`, ...). Whether a directive has an effect is the
//! engine's business; the parser only knows its name and the shape of its arguments.

name_table! {
    /// A configuration directive.
    pub enum DirectiveName {
        Include => ["Include"],
        /// Apache's: like `Include`, but a missing file or an empty glob is not an error.
        IncludeOptional => ["IncludeOptional"],
        SecAction => ["SecAction"],
        SecArgumentSeparator => ["SecArgumentSeparator"],
        SecArgumentsLimit => ["SecArgumentsLimit"],
        SecAuditEngine => ["SecAuditEngine"],
        SecAuditLog => ["SecAuditLog"],
        SecAuditLog2 => ["SecAuditLog2"],
        SecAuditLogDirMode => ["SecAuditLogDirMode"],
        SecAuditLogFileMode => ["SecAuditLogFileMode"],
        SecAuditLogFormat => ["SecAuditLogFormat"],
        SecAuditLogParts => ["SecAuditLogParts"],
        SecAuditLogRelevantStatus => ["SecAuditLogRelevantStatus"],
        SecAuditLogStorageDir => ["SecAuditLogStorageDir"],
        SecAuditLogType => ["SecAuditLogType"],
        SecCacheTransformations => ["SecCacheTransformations"],
        SecChrootDir => ["SecChrootDir"],
        SecCollectionTimeout => ["SecCollectionTimeout"],
        SecComponentSignature => ["SecComponentSignature"],
        SecConnEngine => ["SecConnEngine"],
        SecConnReadStateLimit => ["SecConnReadStateLimit"],
        SecConnWriteStateLimit => ["SecConnWriteStateLimit"],
        SecContentInjection => ["SecContentInjection"],
        SecCookieFormat => ["SecCookieFormat"],
        SecCookieV0Separator => ["SecCookieV0Separator"],
        SecDataDir => ["SecDataDir"],
        SecDebugLog => ["SecDebugLog"],
        SecDebugLogLevel => ["SecDebugLogLevel"],
        SecDefaultAction => ["SecDefaultAction"],
        SecDisableBackendCompression => ["SecDisableBackendCompression"],
        SecGeoLookupDb => ["SecGeoLookupDb"],
        SecGsbLookupDb => ["SecGsbLookupDb"],
        SecGuardianLog => ["SecGuardianLog"],
        SecHashEngine => ["SecHashEngine"],
        SecHashKey => ["SecHashKey"],
        SecHashMethodPm => ["SecHashMethodPm"],
        SecHashMethodRx => ["SecHashMethodRx"],
        SecHashParam => ["SecHashParam"],
        SecHttpBlKey => ["SecHttpBlKey"],
        SecInterceptOnError => ["SecInterceptOnError"],
        SecMarker => ["SecMarker"],
        SecPcreMatchLimit => ["SecPcreMatchLimit"],
        SecPcreMatchLimitRecursion => ["SecPcreMatchLimitRecursion"],
        SecRemoteRules => ["SecRemoteRules"],
        SecRemoteRulesFailAction => ["SecRemoteRulesFailAction"],
        SecRequestBodyAccess => ["SecRequestBodyAccess"],
        SecRequestBodyInMemoryLimit => ["SecRequestBodyInMemoryLimit"],
        SecRequestBodyJsonDepthLimit => ["SecRequestBodyJsonDepthLimit"],
        SecRequestBodyLimit => ["SecRequestBodyLimit"],
        SecRequestBodyLimitAction => ["SecRequestBodyLimitAction"],
        SecRequestBodyNoFilesLimit => ["SecRequestBodyNoFilesLimit"],
        SecResponseBodyAccess => ["SecResponseBodyAccess"],
        SecResponseBodyLimit => ["SecResponseBodyLimit"],
        SecResponseBodyLimitAction => ["SecResponseBodyLimitAction"],
        SecResponseBodyMimeType => ["SecResponseBodyMimeType"],
        SecResponseBodyMimeTypesClear => ["SecResponseBodyMimeTypesClear"],
        SecRule => ["SecRule"],
        SecRuleEngine => ["SecRuleEngine"],
        SecRuleInheritance => ["SecRuleInheritance"],
        SecRulePerfTime => ["SecRulePerfTime"],
        SecRuleRemoveById => ["SecRuleRemoveById"],
        SecRuleRemoveByMsg => ["SecRuleRemoveByMsg"],
        SecRuleRemoveByTag => ["SecRuleRemoveByTag"],
        SecRuleScript => ["SecRuleScript"],
        SecRuleUpdateActionById => ["SecRuleUpdateActionById"],
        SecRuleUpdateTargetById => ["SecRuleUpdateTargetById"],
        SecRuleUpdateTargetByMsg => ["SecRuleUpdateTargetByMsg"],
        SecRuleUpdateTargetByTag => ["SecRuleUpdateTargetByTag"],
        SecSensorId => ["SecSensorId"],
        SecServerSignature => ["SecServerSignature"],
        SecStatusEngine => ["SecStatusEngine"],
        SecStreamInBodyInspection => ["SecStreamInBodyInspection"],
        SecStreamOutBodyInspection => ["SecStreamOutBodyInspection"],
        SecTmpDir => ["SecTmpDir"],
        SecTmpSaveUploadedFiles => ["SecTmpSaveUploadedFiles"],
        SecUnicodeMapFile => ["SecUnicodeMapFile"],
        SecUploadDir => ["SecUploadDir"],
        SecUploadFileLimit => ["SecUploadFileLimit"],
        SecUploadFileMode => ["SecUploadFileMode"],
        SecUploadKeepFiles => ["SecUploadKeepFiles"],
        SecWebAppId => ["SecWebAppId"],
        SecXmlExternalEntity => ["SecXmlExternalEntity"],
    }
}

/// The arguments a plain configuration directive takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No argument.
    Nothing,
    /// One of these words (case-insensitive).
    OneOf(&'static [&'static str]),
    /// A decimal number.
    Number,
    /// Free text (a path, a regex, a name): one argument.
    Text,
    /// One or more free-text arguments.
    Words,
}

const ON_OFF: &[&str] = &["On", "Off"];

impl DirectiveName {
    /// Whether this is one of ModSecurity v2's directives, which libmodsecurity v3 refuses
    /// ("... is not supported") and Sekisho loads without an effect (configurations carried
    /// over from Apache's mod_security2 still hold them). `args` matter for two:
    /// `SecCookieFormat 1` and `SecUploadKeepFiles RelevantOnly` are v2's, their other values
    /// v3's.
    pub fn is_v2_only(self, args: &[String]) -> bool {
        use DirectiveName::*;
        let first = args.first().map_or("", String::as_str);
        match self {
            SecCookieFormat => first.trim() == "1",
            SecUploadKeepFiles => first.eq_ignore_ascii_case("RelevantOnly"),
            _ => matches!(
                self,
                SecServerSignature
                    | SecRequestBodyInMemoryLimit
                    | SecHashEngine
                    | SecHashKey
                    | SecHashParam
                    | SecHashMethodPm
                    | SecHashMethodRx
                    | SecRuleInheritance
                    | SecConnEngine
                    | SecConnReadStateLimit
                    | SecConnWriteStateLimit
                    | SecContentInjection
                    | SecStreamInBodyInspection
                    | SecStreamOutBodyInspection
                    | SecInterceptOnError
                    | SecChrootDir
                    | SecGuardianLog
                    | SecSensorId
                    | SecCacheTransformations
                    | SecDisableBackendCompression
                    | SecCookieV0Separator
                    | SecGsbLookupDb
            ),
        }
    }

    /// The argument shape of a plain configuration directive; `None` for directives with a
    /// grammar of their own (rules, actions, includes, removals and updates, markers).
    pub fn shape(self) -> Option<Shape> {
        use DirectiveName::*;
        use Shape::*;
        Some(match self {
            Include
            | IncludeOptional
            | SecAction
            | SecDefaultAction
            | SecMarker
            | SecRule
            | SecRuleScript
            | SecRuleRemoveById
            | SecRuleRemoveByMsg
            | SecRuleRemoveByTag
            | SecRuleUpdateActionById
            | SecRuleUpdateTargetById
            | SecRuleUpdateTargetByMsg
            | SecRuleUpdateTargetByTag
            | SecComponentSignature => return None,
            SecRuleEngine => OneOf(&["On", "Off", "DetectionOnly"]),
            SecRequestBodyAccess
            | SecResponseBodyAccess
            | SecXmlExternalEntity
            | SecTmpSaveUploadedFiles
            | SecConnEngine
            | SecContentInjection
            | SecDisableBackendCompression
            | SecHashEngine
            | SecInterceptOnError
            | SecRuleInheritance
            | SecStreamInBodyInspection
            | SecStreamOutBodyInspection => OneOf(ON_OFF),
            SecUploadKeepFiles => OneOf(&["On", "Off", "RelevantOnly"]),
            SecAuditEngine => OneOf(&["On", "Off", "RelevantOnly"]),
            SecAuditLogType => OneOf(&["Serial", "Concurrent", "Parallel", "HTTPS"]),
            SecAuditLogFormat => OneOf(&["JSON", "Native"]),
            SecRequestBodyLimitAction | SecResponseBodyLimitAction => {
                OneOf(&["Reject", "ProcessPartial"])
            }
            SecRemoteRulesFailAction => OneOf(&["Abort", "Warn"]),
            SecStatusEngine => OneOf(ON_OFF),
            SecArgumentsLimit
            | SecRequestBodyJsonDepthLimit
            | SecRequestBodyLimit
            | SecRequestBodyNoFilesLimit
            | SecRequestBodyInMemoryLimit
            | SecResponseBodyLimit
            | SecPcreMatchLimit
            | SecPcreMatchLimitRecursion
            | SecDebugLogLevel
            | SecUploadFileLimit
            | SecCollectionTimeout
            | SecRulePerfTime
            | SecCookieFormat => Number,
            SecResponseBodyMimeTypesClear => Nothing,
            SecUnicodeMapFile => return None,
            SecResponseBodyMimeType
            | SecRemoteRules
            | SecHashMethodPm
            | SecHashMethodRx
            | SecHashKey
            | SecConnReadStateLimit
            | SecConnWriteStateLimit
            | SecCacheTransformations => Words,
            SecArgumentSeparator
            | SecAuditLog
            | SecAuditLog2
            | SecAuditLogDirMode
            | SecAuditLogFileMode
            | SecAuditLogParts
            | SecAuditLogRelevantStatus
            | SecAuditLogStorageDir
            | SecChrootDir
            | SecCookieV0Separator
            | SecDataDir
            | SecDebugLog
            | SecGeoLookupDb
            | SecGsbLookupDb
            | SecGuardianLog
            | SecHashParam
            | SecHttpBlKey
            | SecSensorId
            | SecServerSignature
            | SecTmpDir
            | SecUploadDir
            | SecUploadFileMode
            | SecWebAppId => Text,
        })
    }
}
