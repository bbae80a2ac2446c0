//! Every call into the YAML parser lives here, so that the crate can be swapped.

use miette::SourceSpan;
use serde::de::DeserializeOwned;

use crate::diag::{Code, Problem, Source, did_you_mean};

pub use serde_saphyr::Spanned;

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
    let options = serde_saphyr::options! {
        // Manifest sizes are bounded by what people write; directories by what Entra exports.
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(256 * 1024 * 1024),
            max_events: 50_000_000,
            max_depth: 64,
        },
    };
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|e| yaml_problem(&e, source))
}

fn yaml_problem(err: &serde_saphyr::Error, source: &Source) -> Problem {
    let text: &str = source.inner();
    let message = bare_message(err);
    let (code, headline, help) = classify(&message);
    let span = err
        .location()
        .map(|loc| location_span(&loc))
        .filter(|sp| sp.offset() > 0 || !sp.is_empty() || err.location().is_some_and(|l| l.line() == 1))
        .map(|sp| widen_to_token(text, sp));
    let mut p = Problem::new(code, headline);
    if let Some(sp) = span {
        p = p.at(source, sp, message);
    } else {
        p.message = format!("{}: {message}", p.message);
    }
    if let Some(h) = help {
        p = p.help(h);
    }
    p
}

/// The parser's message without the location it appends.
fn bare_message(err: &serde_saphyr::Error) -> String {
    let full = err.to_string();
    let first = full.lines().next().unwrap_or(&full).trim();
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_owned(),
        None => first.to_owned(),
    }
}

fn classify(message: &str) -> (Code, String, Option<String>) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or("");
        if let Some(var) = credential_variable(field) {
            return (
                Code::CredentialInManifest,
                format!("`{field}` is a credential and must not be written into a manifest"),
                Some(format!(
                    "remove it from the file (and rotate it if it was committed); rollcall reads it from the environment variable {var}"
                )),
            );
        }
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        let help = did_you_mean(field, expected.iter().copied())
            .or_else(|| (!expected.is_empty()).then(|| format!("expected one of: {}", expected.join(", "))));
        return (Code::UnknownKey, format!("unknown key `{field}`"), help);
    }
    if message.contains("duplicate") && message.contains("key") {
        return (
            Code::DuplicateKey,
            "duplicate key".into(),
            Some("each key may appear once in a mapping; remove or merge the repeated one".into()),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or("");
        return (Code::MissingKey, format!("missing key `{field}`"), Some(format!("add `{field}:` here")));
    }
    if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.contains("expected") && !message.contains("while parsing")
    {
        return (Code::WrongType, "value of the wrong type".into(), None);
    }
    if message.contains("unknown variant") {
        return (Code::WrongType, "value not allowed here".into(), None);
    }
    (Code::YamlSyntax, "invalid YAML".into(), Some("fix the YAML syntax at the marked place".into()))
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

/// Zero-length spans are hard to see: underline the token that starts there.
fn widen_to_token(text: &str, sp: SourceSpan) -> SourceSpan {
    if !sp.is_empty() || sp.offset() >= text.len() {
        return sp;
    }
    let rest = &text[sp.offset()..];
    let len = rest.find(|c: char| c.is_whitespace() || c == ',' || c == '}' || c == ']').unwrap_or(rest.len());
    (sp.offset(), len.max(1).min(rest.len())).into()
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
