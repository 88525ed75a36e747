//! Action names and `ctl:` option names.

name_table! {
    /// An action name (the part before `:`).
    pub enum ActionName {
        Accuracy => ["accuracy"],
        Allow => ["allow"],
        Append => ["append"],
        AuditLog => ["auditlog"],
        Block => ["block"],
        Capture => ["capture"],
        Chain => ["chain"],
        Ctl => ["ctl"],
        Deny => ["deny"],
        DeprecateVar => ["deprecatevar"],
        Drop => ["drop"],
        Exec => ["exec"],
        ExpireVar => ["expirevar"],
        Id => ["id"],
        InitCol => ["initcol"],
        Log => ["log"],
        LogData => ["logdata"],
        Maturity => ["maturity"],
        Msg => ["msg"],
        MultiMatch => ["multiMatch"],
        NoAuditLog => ["noauditlog"],
        NoLog => ["nolog"],
        Pass => ["pass"],
        Phase => ["phase"],
        Prepend => ["prepend"],
        Redirect => ["redirect"],
        Rev => ["rev"],
        SanitiseArg => ["sanitiseArg"],
        SanitiseMatched => ["sanitiseMatched"],
        SanitiseMatchedBytes => ["sanitiseMatchedBytes"],
        SanitiseRequestHeader => ["sanitiseRequestHeader"],
        SanitiseResponseHeader => ["sanitiseResponseHeader"],
        SetEnv => ["setenv"],
        SetRsc => ["setrsc"],
        SetSid => ["setsid"],
        SetUid => ["setuid"],
        SetVar => ["setvar"],
        Severity => ["severity"],
        Skip => ["skip"],
        SkipAfter => ["skipAfter"],
        Status => ["status"],
        /// `t:name`, a transformation.
        T => ["t"],
        Tag => ["tag"],
        Ver => ["ver"],
        Xmlns => ["xmlns"],
    }
}

/// What an action's argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgumentKind {
    /// No argument allowed.
    None,
    /// An argument is optional (`allow`, `allow:request`).
    Optional,
    /// An argument is required.
    Required,
}

impl ActionName {
    pub fn argument(self) -> ArgumentKind {
        use ActionName::*;
        match self {
            AuditLog | Block | Capture | Chain | Deny | Drop | Log | MultiMatch | NoAuditLog
            | NoLog | Pass | SanitiseMatched => ArgumentKind::None,
            Allow | SanitiseMatchedBytes => ArgumentKind::Optional,
            _ => ArgumentKind::Required,
        }
    }

    /// Whether the argument is text in which `%{...}` macros are expanded at run time.
    pub fn expands_macros(self) -> bool {
        use ActionName::*;
        matches!(
            self,
            Msg | LogData
                | Tag
                | SetVar
                | InitCol
                | Redirect
                | SetEnv
                | SetRsc
                | SetSid
                | SetUid
                | ExpireVar
                | DeprecateVar
                | Append
                | Prepend
        )
    }
}

name_table! {
    /// A `ctl:` option (the part before `=`): libmodsecurity v3's (ModSecurity v2's others,
    /// `ctl:hashEngine`, `ruleRemoveByMsg`..., do not load in v3, nor here).
    pub enum CtlName {
        AuditEngine => ["auditEngine"],
        AuditLogParts => ["auditLogParts"],
        ForceRequestBodyVariable => ["forceRequestBodyVariable"],
        RequestBodyAccess => ["requestBodyAccess"],
        RequestBodyProcessor => ["requestBodyProcessor"],
        RuleEngine => ["ruleEngine"],
        RuleRemoveById => ["ruleRemoveById"],
        RuleRemoveByTag => ["ruleRemoveByTag"],
        RuleRemoveTargetById => ["ruleRemoveTargetById"],
        RuleRemoveTargetByTag => ["ruleRemoveTargetByTag"],
    }
}
