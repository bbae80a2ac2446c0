//! The function table: names as Entra spells them, and argument counts.

/// A supported function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Func {
    Append,
    AppRoleAssignmentsComplex,
    BitAnd,
    CBool,
    CDate,
    Coalesce,
    ConvertToBase64,
    ConvertToUtf8Hex,
    Count,
    CStr,
    DateAdd,
    DateDiff,
    DateFromNum,
    DefaultDomain,
    FormatDateTime,
    Guid,
    IgnoreFlowIfNullOrEmpty,
    Iif,
    InStr,
    IsNull,
    IsNullOrEmpty,
    IsPresent,
    IsString,
    Item,
    Join,
    Left,
    Len,
    Mid,
    NormalizeDiacritics,
    Not,
    Now,
    NumFromDate,
    PCase,
    RandomString,
    Redact,
    RemoveDuplicates,
    Replace,
    SelectUniqueValue,
    SingleAppRoleAssignment,
    Split,
    StripSpaces,
    Switch,
    ToLower,
    ToUpper,
    Trim,
    Word,
}

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arity {
    /// Between `min` and `max` arguments.
    Range(usize, usize),
    /// At least `min` arguments.
    AtLeast(usize),
    /// An even number of arguments, at least `min` (Switch).
    EvenAtLeast(usize),
}

impl Arity {
    pub(super) fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Range(min, max) => (min..=max).contains(&n),
            Arity::AtLeast(min) => n >= min,
            Arity::EvenAtLeast(min) => n >= min && n.is_multiple_of(2),
        }
    }

    /// "1 argument", "1 or 2 arguments", "3 to 7 arguments", "at least 2 arguments",
    /// "an even number of arguments, at least 4".
    pub(super) fn describe(self) -> String {
        fn args(n: usize) -> &'static str {
            if n == 1 { "argument" } else { "arguments" }
        }
        match self {
            Arity::Range(min, max) if min == max => format!("{min} {}", args(min)),
            Arity::Range(min, max) if max == min + 1 => format!("{min} or {max} arguments"),
            Arity::Range(min, max) => format!("{min} to {max} arguments"),
            Arity::AtLeast(min) => format!("at least {min} {}", args(min)),
            Arity::EvenAtLeast(min) => format!("an even number of arguments, at least {min}"),
        }
    }
}

/// Every supported function, sorted by name.
pub(super) const FUNCS: &[(&str, Func)] = &[
    ("AppRoleAssignmentsComplex", Func::AppRoleAssignmentsComplex),
    ("Append", Func::Append),
    ("BitAnd", Func::BitAnd),
    ("CBool", Func::CBool),
    ("CDate", Func::CDate),
    ("CStr", Func::CStr),
    ("Coalesce", Func::Coalesce),
    ("ConvertToBase64", Func::ConvertToBase64),
    ("ConvertToUTF8Hex", Func::ConvertToUtf8Hex),
    ("Count", Func::Count),
    ("DateAdd", Func::DateAdd),
    ("DateDiff", Func::DateDiff),
    ("DateFromNum", Func::DateFromNum),
    ("DefaultDomain", Func::DefaultDomain),
    ("FormatDateTime", Func::FormatDateTime),
    ("Guid", Func::Guid),
    ("IIF", Func::Iif),
    ("IgnoreFlowIfNullOrEmpty", Func::IgnoreFlowIfNullOrEmpty),
    ("InStr", Func::InStr),
    ("IsNull", Func::IsNull),
    ("IsNullOrEmpty", Func::IsNullOrEmpty),
    ("IsPresent", Func::IsPresent),
    ("IsString", Func::IsString),
    ("Item", Func::Item),
    ("Join", Func::Join),
    ("Left", Func::Left),
    ("Len", Func::Len),
    ("Mid", Func::Mid),
    ("NormalizeDiacritics", Func::NormalizeDiacritics),
    ("Not", Func::Not),
    ("Now", Func::Now),
    ("NumFromDate", Func::NumFromDate),
    ("PCase", Func::PCase),
    ("RandomString", Func::RandomString),
    ("Redact", Func::Redact),
    ("RemoveDuplicates", Func::RemoveDuplicates),
    ("Replace", Func::Replace),
    ("SelectUniqueValue", Func::SelectUniqueValue),
    ("SingleAppRoleAssignment", Func::SingleAppRoleAssignment),
    ("Split", Func::Split),
    ("StripSpaces", Func::StripSpaces),
    ("Switch", Func::Switch),
    ("ToLower", Func::ToLower),
    ("ToUpper", Func::ToUpper),
    ("Trim", Func::Trim),
    ("Word", Func::Word),
];

/// The names of [`FUNCS`], in the same order.
pub(super) const NAMES: &[&str] = &[
    "AppRoleAssignmentsComplex",
    "Append",
    "BitAnd",
    "CBool",
    "CDate",
    "CStr",
    "Coalesce",
    "ConvertToBase64",
    "ConvertToUTF8Hex",
    "Count",
    "DateAdd",
    "DateDiff",
    "DateFromNum",
    "DefaultDomain",
    "FormatDateTime",
    "Guid",
    "IIF",
    "IgnoreFlowIfNullOrEmpty",
    "InStr",
    "IsNull",
    "IsNullOrEmpty",
    "IsPresent",
    "IsString",
    "Item",
    "Join",
    "Left",
    "Len",
    "Mid",
    "NormalizeDiacritics",
    "Not",
    "Now",
    "NumFromDate",
    "PCase",
    "RandomString",
    "Redact",
    "RemoveDuplicates",
    "Replace",
    "SelectUniqueValue",
    "SingleAppRoleAssignment",
    "Split",
    "StripSpaces",
    "Switch",
    "ToLower",
    "ToUpper",
    "Trim",
    "Word",
];

impl Func {
    pub(super) fn lookup(name: &str) -> Option<Func> {
        FUNCS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    pub(super) fn name(self) -> &'static str {
        FUNCS.iter().find(|(_, f)| *f == self).map(|&(n, _)| n).expect("every Func is in FUNCS")
    }

    pub(super) fn arity(self) -> Arity {
        use Func::*;
        match self {
            Append | BitAnd | Item | Left | Split => Arity::Range(2, 2),
            Guid | Now | DefaultDomain => Arity::Range(0, 0),
            SingleAppRoleAssignment | AppRoleAssignmentsComplex => Arity::Range(1, 1),
            InStr => Arity::Range(2, 4),
            RandomString => Arity::Range(5, 6),
            CBool
            | CDate
            | DateFromNum
            | NumFromDate
            | ConvertToBase64
            | ConvertToUtf8Hex
            | Count
            | CStr
            | IgnoreFlowIfNullOrEmpty
            | IsNull
            | IsNullOrEmpty
            | IsPresent
            | IsString
            | Len
            | NormalizeDiacritics
            | Not
            | Redact
            | RemoveDuplicates
            | StripSpaces
            | Trim => Arity::Range(1, 1),
            Coalesce => Arity::AtLeast(1),
            Iif | Mid | Word | DateAdd | DateDiff => Arity::Range(3, 3),
            FormatDateTime => Arity::Range(4, 4),
            Join | SelectUniqueValue => Arity::AtLeast(2),
            PCase | ToLower | ToUpper => Arity::Range(1, 2),
            Replace => Arity::Range(3, 7),
            Switch => Arity::EvenAtLeast(4),
        }
    }

    /// Whether argument `index` (0-based) may be left empty, as in
    /// `Replace([mail], "@contoso.com", , , "", , )`.
    pub(super) fn may_omit(self, index: usize) -> bool {
        match self {
            Func::Replace => index >= 1,
            Func::Switch => index == 1,
            Func::Coalesce => true,
            Func::Join => index >= 1,
            Func::InStr => index >= 2,
            Func::FormatDateTime => index == 1,
            Func::RandomString => index == 5,
            _ => false,
        }
    }
}
