//! Temporary stand-in for the expression module while it is being written.
use std::ops::Range;
#[derive(Debug)]
pub struct Expr(String);
pub trait Record {
    fn get(&self, attribute: &str) -> Option<&str>;
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprErrorCode {
    Syntax,
    UnknownFunction,
    ArgumentCount,
}
impl ExprErrorCode {
    pub fn code(&self) -> &'static str {
        "rollcall::expression-syntax"
    }
}
pub struct ExprError {
    pub code: ExprErrorCode,
    pub message: String,
    pub span: Range<usize>,
    pub help: Option<String>,
}
impl Expr {
    pub fn parse(src: &str) -> Result<Expr, Vec<ExprError>> {
        Ok(Expr(src.to_owned()))
    }
    pub fn references(&self) -> Vec<(&str, Range<usize>)> {
        let s = &self.0;
        match (s.find('['), s.find(']')) {
            (Some(a), Some(b)) if b > a => vec![(&s[a + 1..b], a..b + 1)],
            _ => vec![],
        }
    }
    pub fn eval(&self, record: &dyn Record) -> Option<String> {
        self.references().first().and_then(|(n, _)| record.get(n)).map(str::to_owned)
    }
}
