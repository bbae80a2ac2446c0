//! Every call into the YAML parser lives here, so that the crate can be swapped.

use miette::SourceSpan;
use serde::de::DeserializeOwned;

use crate::diag::{Code, Problem, Source, did_you_mean};

pub use serde_saphyr::Spanned;

pub mod events;

/// The byte span of a spanned value (quotes included for quoted scalars).
pub fn span<T>(s: &Spanned<T>) -> SourceSpan {
    location_span(&s.referenced)
}

fn location_span(loc: &serde_saphyr::Location) -> SourceSpan {
    let sp = loc.span();
    match (sp.byte_offset(), sp.byte_len()) {
        (Some(o), Some(l)) => (o as usize, l as usize).into(),
        _ => (0, 0).into(),
    }
}

/// Whether the value carries a real position (values inside some enum shapes do not).
pub fn has_span<T>(s: &Spanned<T>) -> bool {
    s.referenced.span().byte_offset().is_some() && s.referenced.line() > 0
}

/// Parses one YAML document of `source` into `T`, or says precisely why not.
pub fn parse<T: DeserializeOwned>(source: &Source) -> Result<T, Problem> {
    let text: &str = source.inner();
    serde_saphyr::from_str_with_options::<T>(text, options()).map_err(|e| yaml_problem(&e, source))
}

/// The parser's settings for every rollcall file (the parse-floor benchmark uses them too).
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // YAML 1.2 core: `no`, `on`, `y` are strings, never booleans.
        strict_booleans: true,
        // Manifest sizes are bounded by what people write; directories by what Entra exports.
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(256 * 1024 * 1024),
            max_events: 50_000_000,
            max_depth: 64,
            max_nodes: 50_000_000,
            max_total_scalar_bytes: 256 * 1024 * 1024,
        },
    }
}

fn yaml_problem(err: &serde_saphyr::Error, source: &Source) -> Problem {
    use serde_saphyr::{Error as E, MessageFormatter, UserMessageFormatter};
    let text: &str = source.inner();
    let inner = err.without_snippet();
    let message = UserMessageFormatter.format_message(inner).into_owned();
    let at = err.location().and_then(|loc| error_span(text, &loc)).map(|sp| widen_to_token(text, sp));
    let found = at.map_or("", |sp| &text[sp.offset()..sp.offset() + sp.len()]);
    let mut first = None;
    let (code, headline, label, help) = match inner {
        E::SerdeUnknownField { field, expected, .. } => match credential_variable(field) {
            Some(var) => (
                Code::CredentialInManifest,
                format!("`{field}` is a credential and must not be written into a manifest"),
                "credentials come from the environment, never from a file".to_owned(),
                Some(format!(
                    "remove it from the file (and rotate it if it was committed); rollcall reads it from the environment variable {var}"
                )),
            ),
            None => (
                Code::UnknownKey,
                format!("unknown key `{field}`"),
                "not a key here".to_owned(),
                did_you_mean(field, expected.iter().copied())
                    .or_else(|| (!expected.is_empty()).then(|| format!("expected one of: {}", expected.join(", ")))),
            ),
        },
        E::DuplicateMappingKey { key, .. } => {
            let key = key.clone().unwrap_or_else(|| found.trim_end_matches(':').to_owned());
            first = at.and_then(|sp| earlier_key(text, sp.offset(), &key));
            (
                Code::DuplicateKey,
                format!("duplicate key `{key}`"),
                "repeated here".to_owned(),
                Some("each key may appear once in a mapping; remove or merge the repeated one".to_owned()),
            )
        }
        E::SerdeMissingField { field, .. } => (
            Code::MissingKey,
            format!("missing key `{field}`"),
            format!("`{field}` is required in this mapping"),
            Some(format!("add `{field}:` here")),
        ),
        E::InvalidScalar { ty, .. } => {
            let wanted = friendly_type(ty);
            (
                Code::WrongType,
                format!("`{found}` is not {wanted}"),
                format!("expected {wanted}"),
                Some(format!("write {wanted} here, without quotes")),
            )
        }
        E::SerdeInvalidType { unexpected, expected, .. } | E::SerdeInvalidValue { unexpected, expected, .. } => (
            Code::WrongType,
            format!("expected {expected}, found {unexpected}"),
            format!("expected {expected}"),
            Some(SCHEMA_HELP.to_owned()),
        ),
        E::SerdeUnknownVariant { variant, expected, .. } => (
            Code::WrongType,
            format!("`{variant}` is not allowed here"),
            "not one of the allowed values".to_owned(),
            Some(
                did_you_mean(variant, expected.iter().copied())
                    .unwrap_or_else(|| format!("use one of: {}", expected.join(", "))),
            ),
        ),
        _ => (Code::YamlSyntax, format!("invalid YAML: {message}"), message.clone(), Some(syntax_help(&message))),
    };
    let mut p = Problem::new(code, headline);
    // The snippet around a credential would print it into CI logs: mask every secret first.
    let shown = if code == Code::CredentialInManifest {
        crate::diag::source(source.name(), redact_credentials(text))
    } else {
        source.clone()
    };
    if let Some(sp) = at {
        p = p.at(&shown, sp, label);
        if let Some(first) = first {
            p = p.also(first, "first here");
        }
    }
    if let Some(h) = help {
        p = p.help(h);
    }
    p
}

/// The byte span of an error location: the parser's byte span when it has one, else the
/// line and column.
fn error_span(text: &str, loc: &serde_saphyr::Location) -> Option<SourceSpan> {
    if loc.line() == 0 {
        return None;
    }
    let sp = loc.span();
    if let (Some(o), Some(l)) = (sp.byte_offset(), sp.byte_len())
        && (o > 0 || loc.line() == 1)
    {
        return Some((o as usize, l as usize).into());
    }
    let offset = miette::SourceOffset::from_location(text, loc.line() as usize, loc.column() as usize).offset();
    Some((offset.min(text.len()), 0).into())
}

const SCHEMA_HELP: &str = "what each key takes is in schema/ (editors that read the `# yaml-language-server: $schema=` line show it as you type)";

/// What a Rust type means to someone writing YAML.
fn friendly_type(ty: &str) -> &'static str {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => {
            "a whole number"
        }
        "f32" | "f64" => "a number",
        "bool" => "true or false",
        _ => "a value of the expected type",
    }
}

fn syntax_help(message: &str) -> String {
    if message.contains("unclosed") {
        "a `{` or `[` opened here is never closed: close it on the same line, or write the mapping in block style"
            .into()
    } else if message.contains("tab") {
        "YAML indents with spaces; replace the tab".into()
    } else if message.contains("indent") {
        "the keys of one mapping must start in the same column".into()
    } else {
        "fix the YAML syntax at the marked place; quote values that contain `: `, ` #`, `{` or `[`".into()
    }
}

/// Where `key` first appears in the block mapping holding the duplicate at byte `dup`: a key
/// in the same column with no less-indented line in between. Flow mappings get no second label.
fn earlier_key(text: &str, dup: usize, key: &str) -> Option<SourceSpan> {
    let line_start = text[..dup].rfind('\n').map_or(0, |i| i + 1);
    let column = dup - line_start;
    let mut end = line_start;
    while end > 0 {
        let start = text[..end - 1].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[start..end - 1];
        end = start;
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        // A key after `- ` is in the same column as the keys below it.
        let mut at = line.len() - content.len();
        let mut rest = content;
        while let Some(item) = rest.strip_prefix("- ") {
            let item = item.trim_start();
            at += rest.len() - item.len();
            rest = item;
        }
        if at < column {
            return None;
        }
        if at == column {
            for written in [key.to_owned(), format!("\"{key}\""), format!("'{key}'")] {
                if rest.strip_prefix(written.as_str()).is_some_and(|after| after.trim_start().starts_with(':')) {
                    return Some((start + at, written.len()).into());
                }
            }
        }
    }
    None
}

/// Which environment variable holds a credential that someone tried to put into `target:`.
pub fn credential_variable(key: &str) -> Option<&'static str> {
    Some(match key.to_ascii_lowercase().replace('-', "_").as_str() {
        "token" | "access_token" | "bearer_token" => "GOTO_ACCESS_TOKEN (or SCIM_TOKEN for a scim target)",
        "client_id" => "GOTO_CLIENT_ID",
        "client_secret" | "secret" => "GOTO_CLIENT_SECRET",
        "pat" | "personal_access_token" => "GOTO_PAT",
        "refresh_token" => "GOTO_REFRESH_TOKEN",
        "scim_token" => "SCIM_TOKEN",
        "password" => "GOTO_PAT (a personal access token; rollcall never uses passwords)",
        _ => return None,
    })
}

/// `text` with the value of every credential key replaced by `*` (byte offsets unchanged).
fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let content = line.trim_start().trim_start_matches("- ").trim_start_matches(['{', ' ']);
        let key = content.split(':').next().unwrap_or("").trim().trim_matches(['"', '\'']);
        match (credential_variable(key), line.find(':')) {
            (Some(_), Some(colon)) => {
                out.push_str(&line[..=colon]);
                out.extend(line[colon + 1..].bytes().map(|b| if b.is_ascii_whitespace() { b as char } else { '*' }));
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Zero-length spans are hard to see: underline the token that starts there.
fn widen_to_token(text: &str, sp: SourceSpan) -> SourceSpan {
    if !sp.is_empty() || sp.offset() >= text.len() {
        return sp;
    }
    let rest = &text[sp.offset()..];
    let len = rest.find(|c: char| c.is_whitespace() || c == ',' || c == '}' || c == ']').unwrap_or(rest.len());
    (sp.offset(), len.max(1).min(rest.len())).into()
}

/// The document as plain JSON, for digests that must not change when only formatting,
/// comments or key order change.
pub fn to_json(source: &Source) -> Result<serde_json::Value, Problem> {
    parse::<serde_json::Value>(source)
}

/// Maps byte offsets inside the decoded value of a YAML scalar back to byte offsets in the
/// file, so that a diagnostic about an expression underlines the right characters even when
/// the expression sits in a quoted, escaped or folded string.
pub struct ScalarOffsets {
    /// `map[i]` is the file offset of decoded byte `i`; one extra entry for the end.
    map: Vec<usize>,
}

impl ScalarOffsets {
    /// `raw` is the scalar's text as it stands in the file (starting at `file_offset`),
    /// `decoded` its value.
    pub fn new(raw: &str, file_offset: usize, decoded: &str) -> Self {
        let raw_chars: Vec<(usize, char)> = raw.char_indices().collect();
        let mut map = Vec::with_capacity(decoded.len() + 1);
        let mut r = 0; // index into raw_chars
        // Skip a quote or a block indicator line.
        if let Some(&(_, first)) = raw_chars.first() {
            if first == '"' || first == '\'' {
                r = 1;
            } else if first == '|' || first == '>' {
                while r < raw_chars.len() && raw_chars[r].1 != '\n' {
                    r += 1;
                }
            }
        }
        for ch in decoded.chars() {
            let found = (r..raw_chars.len().min(r + 12)).find(|&j| same(raw_chars[j].1, ch));
            let at = match found {
                Some(j) => {
                    r = j + 1;
                    raw_chars[j].0
                }
                None => {
                    let at = raw_chars.get(r).map_or(raw.len(), |c| c.0);
                    r = (r + 1).min(raw_chars.len());
                    at
                }
            };
            for _ in 0..ch.len_utf8() {
                map.push(file_offset + at);
            }
        }
        let end = raw_chars.get(r).map_or(raw.len(), |c| c.0);
        map.push(file_offset + end);
        ScalarOffsets { map }
    }

    /// The file span of a byte range of the decoded value.
    pub fn span(&self, range: std::ops::Range<usize>) -> SourceSpan {
        let last = self.map.len() - 1;
        let start = self.map[range.start.min(last)];
        let end = if range.end > range.start {
            // End of the last character of the range, not the start of the next.
            self.map[(range.end - 1).min(last)] + 1
        } else {
            start
        };
        (start, end.max(start) - start).into()
    }
}

fn same(raw: char, decoded: char) -> bool {
    raw == decoded || (decoded == ' ' || decoded == '\n') && (raw == '\n' || raw == ' ')
}

/// The expression offsets of a spanned string value.
pub fn scalar_offsets(source: &Source, value: &Spanned<String>) -> ScalarOffsets {
    let sp = span(value);
    let text: &str = source.inner();
    let raw = text.get(sp.offset()..sp.offset() + sp.len()).unwrap_or("");
    ScalarOffsets::new(raw, sp.offset(), &value.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag;

    #[derive(serde::Deserialize)]
    struct M {
        from: Spanned<String>,
    }

    fn underline(yaml: &str, range: std::ops::Range<usize>) -> String {
        let src = diag::source("t.yaml", yaml);
        let m: M = parse(&src).unwrap();
        let offsets = scalar_offsets(&src, &m.from);
        let sp = offsets.span(range);
        yaml[sp.offset()..sp.offset() + sp.len()].to_owned()
    }

    #[test]
    fn offsets_in_plain_scalars() {
        let yaml = "from: ToLower([userPrincipalNme])\n";
        assert_eq!(underline(yaml, 8..26), "[userPrincipalNme]");
    }

    #[test]
    fn offsets_in_double_quoted_scalars_with_escapes() {
        // decoded: Append([a], "\"x") ; the reference [bb] comes after an escaped quote
        let yaml = "from: \"Join(\\\"\\\\\\\", [bb])\"\n";
        let src = diag::source("t.yaml", yaml);
        let m: M = parse(&src).unwrap();
        let at = m.from.value.find("[bb]").unwrap();
        let offsets = scalar_offsets(&src, &m.from);
        let sp = offsets.span(at..at + 4);
        assert_eq!(&yaml[sp.offset()..sp.offset() + sp.len()], "[bb]");
    }

    #[test]
    fn offsets_in_single_quoted_scalars() {
        let yaml = "from: 'Switch([x], ''it''''s'', [yy])'\n";
        let src = diag::source("t.yaml", yaml);
        let m: M = parse(&src).unwrap();
        let at = m.from.value.find("[yy]").unwrap();
        let sp = scalar_offsets(&src, &m.from).span(at..at + 4);
        assert_eq!(&yaml[sp.offset()..sp.offset() + sp.len()], "[yy]");
    }

    #[test]
    fn offsets_in_folded_scalars() {
        let yaml = "from: >-\n  Join(\" \",\n    [givenName],\n    [surnme])\n";
        let src = diag::source("t.yaml", yaml);
        let m: M = parse(&src).unwrap();
        let at = m.from.value.find("[surnme]").unwrap();
        let sp = scalar_offsets(&src, &m.from).span(at..at + 8);
        assert_eq!(&yaml[sp.offset()..sp.offset() + sp.len()], "[surnme]");
    }
}
