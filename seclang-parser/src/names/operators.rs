//! Operator names (`@name`), as libmodsecurity v3 accepts them.

name_table! {
    /// An operator name.
    pub enum OperatorName {
        BeginsWith => ["beginsWith"],
        Contains => ["contains"],
        ContainsWord => ["containsWord"],
        DetectSqli => ["detectSQLi"],
        DetectXss => ["detectXSS"],
        EndsWith => ["endsWith"],
        Eq => ["eq"],
        FuzzyHash => ["fuzzyHash"],
        Ge => ["ge"],
        GeoLookup => ["geoLookup"],
        GsbLookup => ["gsbLookup"],
        Gt => ["gt"],
        InspectFile => ["inspectFile"],
        IpMatch => ["ipMatch"],
        IpMatchFromFile => ["ipMatchFromFile", "ipMatchF"],
        Le => ["le"],
        Lt => ["lt"],
        NoMatch => ["noMatch"],
        Pm => ["pm"],
        PmFromFile => ["pmFromFile", "pmf"],
        Rbl => ["rbl"],
        Rsub => ["rsub"],
        Rx => ["rx"],
        RxGlobal => ["rxGlobal"],
        StrEq => ["streq"],
        StrMatch => ["strmatch"],
        UnconditionalMatch => ["unconditionalMatch"],
        ValidateByteRange => ["validateByteRange"],
        ValidateDtd => ["validateDTD"],
        ValidateHash => ["validateHash"],
        ValidateSchema => ["validateSchema"],
        ValidateUrlEncoding => ["validateUrlEncoding"],
        ValidateUtf8Encoding => ["validateUtf8Encoding"],
        VerifyCc => ["verifyCC"],
        VerifyCpf => ["verifyCPF"],
        VerifySsn => ["verifySSN"],
        VerifySvnr => ["verifySVNR"],
        Within => ["within"],
    }
}

impl OperatorName {
    /// Operators that take no argument (libmodsecurity ignores one if given).
    pub fn takes_no_argument(self) -> bool {
        matches!(
            self,
            OperatorName::DetectSqli
                | OperatorName::DetectXss
                | OperatorName::GeoLookup
                | OperatorName::NoMatch
                | OperatorName::UnconditionalMatch
                | OperatorName::ValidateUrlEncoding
                | OperatorName::ValidateUtf8Encoding
        )
    }

    /// Operators whose argument libmodsecurity reads once, when the rule loads (their
    /// `init`: a phrase list, an address list, a pattern, a file name), with no transaction
    /// to expand a macro from: each `%{...}` in it is then nothing (`@pm a %{tx.b}` is the
    /// phrase `a`, `@ipMatch %{tx.a}` an empty list). The others expand theirs at run time.
    pub fn reads_argument_at_load(self) -> bool {
        use OperatorName as N;
        matches!(
            self,
            N::Pm
                | N::PmFromFile
                | N::IpMatch
                | N::IpMatchFromFile
                | N::ValidateByteRange
                | N::VerifyCc
                | N::VerifyCpf
                | N::VerifySsn
                | N::VerifySvnr
                | N::Rbl
                | N::InspectFile
                | N::FuzzyHash
                | N::ValidateDtd
                | N::ValidateSchema
                | N::ValidateHash
                | N::GsbLookup
                | N::Rsub
        )
    }
}
