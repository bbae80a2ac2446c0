//! Problems for machines: `--format json` prints them as one JSON document on stdout, and
//! under GitHub Actions (`GITHUB_ACTIONS=true`) each is also a workflow annotation on stderr,
//! so the pull request shows it on the manifest line.

use serde::Serialize;

use crate::diag::{Problem, Problems, line_col};

/// One diagnostic as JSON. `file`, `line` and `column` (1-based, in characters) are null when
/// the problem points into no file; `help` is null when there is nothing to add.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    /// Always `error` today; `warning` is reserved.
    pub severity: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub help: Option<String>,
    /// Every place the problem points at, the first one included.
    pub labels: Vec<JsonLabel>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JsonLabel {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub label: Option<String>,
}

fn labels(p: &Problem) -> Vec<JsonLabel> {
    let Some(src) = &p.source else { return Vec::new() };
    let text: &str = src.inner();
    p.labels
        .iter()
        .map(|l| {
            let (line, column) = line_col(text, l.offset());
            // The end is the last character underlined (inclusive), as editors show it.
            let (end_line, end_column) =
                if l.is_empty() { (line, column) } else { line_col(text, l.offset() + l.len() - 1) };
            JsonLabel { line, column, end_line, end_column, label: l.label().map(str::to_owned) }
        })
        .collect()
}

impl From<&Problem> for JsonDiagnostic {
    fn from(p: &Problem) -> Self {
        let labels = labels(p);
        let first = labels.first();
        JsonDiagnostic {
            code: p.code.as_str(),
            severity: "error",
            message: p.message.clone(),
            file: p.source.as_ref().map(|s| s.name().to_owned()),
            line: first.map(|l| l.line),
            column: first.map(|l| l.column),
            end_line: first.map(|l| l.end_line),
            end_column: first.map(|l| l.end_column),
            help: p.help.clone(),
            labels,
        }
    }
}

/// `{"ok": false, "diagnostics": [...]}` (or `ok: true` and none), pretty-printed.
pub fn json(problems: &Problems) -> String {
    let diagnostics: Vec<JsonDiagnostic> = problems.0.iter().map(JsonDiagnostic::from).collect();
    let doc = serde_json::json!({ "ok": diagnostics.is_empty(), "diagnostics": diagnostics });
    let mut s = serde_json::to_string_pretty(&doc).expect("diagnostics serialise");
    s.push('\n');
    s
}

/// Is this run a GitHub Actions step?
pub fn github_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// `::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message`, one per problem.
pub fn github_annotations(problems: &Problems) -> String {
    problems.0.iter().map(|p| annotation(&JsonDiagnostic::from(p))).collect()
}

/// One workflow command for one diagnostic: properties escaped as GitHub's runner expects
/// (`%`, CR, LF, `:` and `,`), the message with its help on the following lines.
pub fn annotation(d: &JsonDiagnostic) -> String {
    let mut props = Vec::new();
    if let (Some(file), Some(line), Some(col)) = (&d.file, d.line, d.column) {
        props.push(format!("file={}", escape_property(file)));
        props.push(format!("line={line},col={col}"));
        if let (Some(end_line), Some(end_col)) = (d.end_line, d.end_column) {
            props.push(format!("endLine={end_line},endColumn={}", end_col + 1));
        }
    }
    props.push(format!("title={}", escape_property(d.code)));
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!("::{} {}::{}\n", d.severity, props.join(","), escape_data(&message))
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, source};

    #[test]
    fn annotations_escape_what_the_runner_would_misread() {
        let src = source("a,b.yaml", "x: 1\nrole: 100%\n");
        let p = Problem::new(Code::WrongType, "bad: 100%\nreally").at(&src, (11, 4), "here").help("fix it");
        let a = github_annotations(&Problems(vec![p]));
        assert_eq!(
            a,
            "::error file=a%2Cb.yaml,line=2,col=7,endLine=2,endColumn=11,title=rollcall%3A%3Awrong-type::bad: 100%25%0Areally%0Ahelp: fix it\n"
        );
        let bare = github_annotations(&Problems(vec![Problem::new(Code::Target, "unreachable")]));
        assert_eq!(bare, "::error title=rollcall%3A%3Atarget::unreachable\n");
    }
}
