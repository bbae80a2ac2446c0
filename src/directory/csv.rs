//! CSV: a header row of attribute names, one person per row. Empty cells are null. A
//! `groups` column names the groups the person is in, `;`-separated (SPEC §2.1), so a
//! 3,000-person export needs no separate groups file.

use super::{Attributes, Contribution, Origin, Person, Record};
use crate::diag::{Code, Problem, Problems, Source};

pub(super) fn read(source: &Source, problems: &mut Problems) -> Option<Contribution> {
    let text: &str = source.inner();
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let headers: Vec<Box<str>> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().into()).collect(),
        Err(e) => {
            problems.push(
                Problem::new(Code::CsvRow, format!("cannot read the header row of {}: {e}", source.name())).at(
                    source,
                    (0, text.find('\n').unwrap_or(text.len())),
                    "header row",
                ),
            );
            return None;
        }
    };
    let groups_column = headers.iter().position(|h| &**h == "groups");
    let mut records = Vec::new();
    let mut memberships = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let start = record.position().map_or(0, |p| p.byte() as usize);
                let line_len = text[start..].find(['\n', '\r']).unwrap_or(text.len() - start);
                let mut attributes = Attributes::with_capacity(headers.len());
                for (h, v) in headers.iter().zip(record.iter()) {
                    if !v.is_empty() {
                        attributes.push(h, v);
                    }
                }
                let origin = Origin::new(source, (start, line_len));
                if let (Some(column), Some(id)) = (groups_column, Person::identity(&attributes)) {
                    for group in record.get(column).unwrap_or("").split(';').map(str::trim).filter(|g| !g.is_empty()) {
                        memberships.push((group.to_owned(), id.clone(), origin.clone()));
                    }
                }
                records.push(Record { attributes, origin });
            }
            Err(e) => {
                let (start, message) = match e.kind() {
                    csv::ErrorKind::UnequalLengths { pos, expected_len, len } => (
                        pos.as_ref().map_or(0, |p| p.byte() as usize),
                        format!("this row has {len} fields, the header has {expected_len}"),
                    ),
                    _ => (e.position().map_or(0, |p| p.byte() as usize), e.to_string()),
                };
                let start = start.min(text.len());
                let line_len = text[start..].find(['\n', '\r']).unwrap_or(text.len() - start);
                problems.push(
                    Problem::new(Code::CsvRow, format!("a row of {} does not fit its header", source.name()))
                        .at(source, (start, line_len), message)
                        .help("every row needs one field per header column; quote fields that contain commas"),
                );
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    return None;
                }
            }
        }
    }
    Some(Contribution { records, groups: Vec::new(), memberships })
}
