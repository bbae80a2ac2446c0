//! The Entra ID attribute-mapping expression language (SPEC §2.5).
//!
//! An expression such as `NormalizeDiacritics(ToLower(Join(".", [givenName], [surname])))`
//! is parsed once per mapping with [`Expr::parse`] and evaluated once per person with
//! [`Expr::eval`]. The language, its functions and its null rules are documented in
//! `docs/expressions.md`; the short version:
//!
//! - `[attribute]` reads an attribute of the person; a missing attribute is null.
//! - `"text"` is a string (`\"` and `\\` are the only escapes), `42` / `-1` a number.
//! - `Function(arg, ...)` calls one of [`function_names`]; names are case-sensitive.
//! - `a = b`, `a <> b`, `a > b`, `a >= b`, `a < b`, `a <= b` compare two values and give
//!   `"True"` or `"False"` (normally inside `IIF`'s condition).
//! - Booleans are the strings `"True"` and `"False"`.

use std::fmt;
use std::ops::Range;

pub mod dates;
mod diacritics;
mod eval;
mod functions;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

use functions::Func;

/// Longest expression accepted, in characters (Entra's own maximum).
pub const MAX_LEN: usize = 10_000;

/// Deepest nesting of function calls accepted.
pub const MAX_DEPTH: usize = 64;

/// A parsed expression, ready to be evaluated for many people.
///
/// Two expressions are equal when they have the same syntax tree, wherever their
/// parts were in the source (spans are not compared).
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    root: Node,
}

/// The attributes of one person, as the expression reads them.
pub trait Record {
    /// The value of `attribute`, or `None` when the person has no such attribute
    /// (null).
    fn get(&self, attribute: &str) -> Option<&str>;

    /// Who the person is (userPrincipalName, else mail): what `Guid()` and
    /// `RandomString()` derive their values from, so that plans do not churn.
    fn identity(&self) -> Option<&str> {
        self.get("userPrincipalName").or_else(|| self.get("mail"))
    }

    /// The rollcall roles the person is assigned (what `SingleAppRoleAssignment` and
    /// `AppRoleAssignmentsComplex` see), sorted.
    fn app_roles(&self) -> Vec<&str> {
        Vec::new()
    }

    /// What `DefaultDomain()` gives: the first of `scope.domains`.
    fn default_domain(&self) -> Option<&str> {
        None
    }

    /// What `Now()` gives: the plan's time in Entra's form (`M/d/yyyy h:mm:ss tt`); null
    /// where no plan is made.
    fn now(&self) -> Option<&str> {
        None
    }
}

/// A time (seconds since 1970-01-01 UTC) in the form `Now()` gives it.
pub fn time_text(unix_seconds: i64) -> String {
    dates::display_unix(unix_seconds)
}

/// Function calls whose argument is Entra's `[appRoleAssignments]`: not a directory
/// attribute, so it is not checked against the records.
fn reads_app_roles(call: &Call) -> bool {
    matches!(call.func, Func::SingleAppRoleAssignment | Func::AppRoleAssignmentsComplex)
}

impl<S: std::hash::BuildHasher> Record for std::collections::HashMap<String, String, S> {
    fn get(&self, attribute: &str) -> Option<&str> {
        std::collections::HashMap::get(self, attribute).map(String::as_str)
    }
}

impl Record for std::collections::BTreeMap<String, String> {
    fn get(&self, attribute: &str) -> Option<&str> {
        std::collections::BTreeMap::get(self, attribute).map(String::as_str)
    }
}

impl<const N: usize> Record for [(&str, &str); N] {
    fn get(&self, attribute: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == attribute).map(|&(_, v)| v)
    }
}

impl Record for Vec<(&str, &str)> {
    fn get(&self, attribute: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == attribute).map(|&(_, v)| v)
    }
}

/// What kind of problem an [`ExprError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExprErrorCode {
    /// The text is not a well-formed expression (also: too long, too deeply nested,
    /// a regular expression that does not compile).
    Syntax,
    /// A function name that rollcall does not know (or deliberately does not support).
    UnknownFunction,
    /// A function called with a number (or combination) of arguments it does not take.
    ArgumentCount,
    /// A function where it may not be: `SelectUniqueValue` inside another call.
    Placement,
}

impl ExprErrorCode {
    /// The diagnostic code, e.g. `rollcall::expression-syntax`.
    pub fn code(&self) -> &'static str {
        match self {
            ExprErrorCode::Syntax => "rollcall::expression-syntax",
            ExprErrorCode::UnknownFunction => "rollcall::unknown-function",
            ExprErrorCode::ArgumentCount => "rollcall::argument-count",
            ExprErrorCode::Placement => "rollcall::unique-value-placement",
        }
    }
}

/// One problem found in an expression, with the byte range of the offending text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub code: ExprErrorCode,
    pub message: String,
    /// Byte range in the source given to [`Expr::parse`]. Empty (`n..n`) when the
    /// problem is something missing at offset `n`, e.g. a `)` at the end.
    pub span: Range<usize>,
    pub help: Option<String>,
}

impl ExprError {
    fn new(code: ExprErrorCode, message: impl Into<String>, span: Range<usize>) -> Self {
        ExprError { code, message: message.into(), span, help: None }
    }

    fn syntax(message: impl Into<String>, span: Range<usize>) -> Self {
        Self::new(ExprErrorCode::Syntax, message, span)
    }

    fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExprError {}

/// The names of every supported function, sorted (for "did you mean").
pub fn function_names() -> &'static [&'static str] {
    functions::NAMES
}

impl Expr {
    /// Parses an expression. On failure returns every error found: the first syntax
    /// error; or, when the syntax is fine, every unknown function and wrong argument
    /// count.
    pub fn parse(src: &str) -> Result<Expr, Vec<ExprError>> {
        parser::parse(src).map(|root| Expr { root })
    }

    /// Every `[attribute]` reference, in source order, with the byte range of the
    /// whole reference (brackets included) in the source given to [`Expr::parse`].
    pub fn references(&self) -> Vec<(&str, Range<usize>)> {
        let mut out = Vec::new();
        self.root.references(&mut out);
        out
    }

    /// Evaluates the expression for one person. `None` is null.
    ///
    /// `SelectUniqueValue` gives its first candidate here: which one is unique is decided
    /// by the planner, which sees every account ([`Expr::unique_candidates`]).
    pub fn eval(&self, record: &dyn Record) -> Option<String> {
        eval::eval(&self.root, record).map(|v| v.into_owned())
    }

    /// Whether the expression is `SelectUniqueValue(...)` (the parser allows it only as
    /// the whole expression).
    pub fn selects_unique(&self) -> bool {
        matches!(&self.root.kind, Kind::Call(call) if call.func == Func::SelectUniqueValue)
    }

    /// For `SelectUniqueValue(rule1, rule2, ...)`: the value of each rule for one person,
    /// in order, leaving out null and empty values and repeats. `None` for any other
    /// expression.
    pub fn unique_candidates(&self, record: &dyn Record) -> Option<Vec<String>> {
        let Kind::Call(call) = &self.root.kind else { return None };
        if call.func != Func::SelectUniqueValue {
            return None;
        }
        let mut out: Vec<String> = Vec::with_capacity(call.args.len());
        for rule in &call.args {
            if let Some(v) = eval::eval(rule, record).filter(|v| !v.is_empty())
                && !out.iter().any(|o| *o == *v)
            {
                out.push(v.into_owned());
            }
        }
        Some(out)
    }

    /// Whether any part of the expression is `Redact(...)`: its value is a secret, shown
    /// masked in every output.
    pub fn is_secret(&self) -> bool {
        self.root.calls(Func::Redact)
    }
}

impl fmt::Display for Expr {
    /// Canonical form: `Name(arg, arg)`, `a = b`, strings with `\"` and `\\` escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

// ---------------------------------------------------------------------------
// Syntax tree

/// One node of the tree and the byte range of its source text.
#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    span: Range<usize>,
}

impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// `[name]`
    Attr(String),
    /// `"text"` (unescaped)
    Str(String),
    /// `42`: the value and its canonical text (what it evaluates to).
    Num(i64, String),
    /// An argument left empty: `Replace([x], , "re", , "", , )`. Evaluates to null.
    Omitted,
    Call(Box<Call>),
    Cmp(Box<Cmp>),
}

#[derive(Debug, Clone)]
struct Call {
    func: Func,
    args: Vec<Node>,
    /// Work done once at parse time (Replace's form and compiled regex).
    prepared: Prepared,
}

impl PartialEq for Call {
    fn eq(&self, other: &Self) -> bool {
        self.func == other.func && self.args == other.args
    }
}

#[derive(Debug, Clone)]
enum Prepared {
    None,
    Replace {
        form: ReplaceForm,
        /// The pattern, compiled when it is a string literal.
        regex: Option<regex::Regex>,
    },
}

/// Which of Entra's forms of `Replace(source, oldValue, regexPattern, regexGroupName,
/// replacementValue, replacementAttributeName, template)` a call uses, from which
/// arguments are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplaceForm {
    /// oldValue + replacementValue
    Literal,
    /// oldValue + template
    Template,
    /// regexPattern + replacementValue
    Regex,
    /// regexPattern + regexGroupName + replacementValue
    RegexGroup,
    /// regexPattern + regexGroupName + replacementAttributeName
    RegexFallback,
}

#[derive(Debug, Clone, PartialEq)]
struct Cmp {
    op: CmpOp,
    lhs: Node,
    rhs: Node,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

impl Node {
    fn calls(&self, func: Func) -> bool {
        match &self.kind {
            Kind::Call(call) => call.func == func || call.args.iter().any(|a| a.calls(func)),
            Kind::Cmp(cmp) => cmp.lhs.calls(func) || cmp.rhs.calls(func),
            Kind::Attr(_) | Kind::Str(_) | Kind::Num(..) | Kind::Omitted => false,
        }
    }

    fn references<'a>(&'a self, out: &mut Vec<(&'a str, Range<usize>)>) {
        match &self.kind {
            Kind::Attr(name) => out.push((name.as_str(), self.span.clone())),
            Kind::Str(_) | Kind::Num(..) | Kind::Omitted => {}
            Kind::Call(call) if reads_app_roles(call) => {}
            Kind::Call(call) => call.args.iter().for_each(|a| a.references(out)),
            Kind::Cmp(cmp) => {
                cmp.lhs.references(out);
                cmp.rhs.references(out);
            }
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Attr(name) => write!(f, "[{name}]"),
            Kind::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Kind::Num(_, text) => f.write_str(text),
            Kind::Omitted => Ok(()),
            Kind::Call(call) => {
                write!(f, "{}(", call.func.name())?;
                for (i, arg) in call.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    arg.fmt(f)?;
                }
                f.write_str(")")
            }
            Kind::Cmp(cmp) => write!(f, "{} {} {}", cmp.lhs, cmp.op.as_str(), cmp.rhs),
        }
    }
}
