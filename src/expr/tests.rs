//! Tests of the expression language (run in the crate that mounts `expr`).

use super::{Expr, ExprError};

mod errors;
mod functions;
mod library;
mod props;

/// Parses `src` (panicking on errors) and evaluates it for a record given as pairs.
fn ev(src: &str, record: &[(&str, &str)]) -> Option<String> {
    let expr = Expr::parse(src).unwrap_or_else(|e| panic!("{src}: {e:#?}"));
    expr.eval(&record.to_vec())
}

/// `Some(s)` as an owned string, for comparisons with [`ev`].
fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// The errors of `src`: for each, the source and a caret line under the span
/// (both prefixed with `| `), then code, span, message and help.
fn render_errors(src: &str) -> String {
    let errors: Vec<ExprError> = match Expr::parse(src) {
        Ok(_) => return "parsed fine".to_string(),
        Err(errors) => errors,
    };
    let mut out = String::new();
    for e in errors {
        let prefix = src[..e.span.start].chars().count();
        let width = src[e.span.clone()].chars().count().max(1);
        out.push_str(&format!("| {src}\n| {}{}\n", " ".repeat(prefix), "^".repeat(width)));
        out.push_str(&format!("{} {:?}: {}\n", e.code.code(), e.span, e.message));
        if let Some(help) = &e.help {
            out.push_str(&format!("help: {help}\n"));
        }
    }
    out
}
