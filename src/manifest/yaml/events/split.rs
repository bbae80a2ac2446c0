//! Where a large directory file can be cut in two, so that its two halves are read on two
//! cores (`events::read`): inside the top-level `users:` list, at the start of an item.
//!
//! The halves are the file without the cut-out part ("the head": everything before the
//! cut, then everything after the list) and the cut-out items ("the tail", a list of its
//! own). Each is read from the same parser's events; the spans of the head after the cut
//! and those of the tail are moved back to where they are in the file. Reading the halves
//! gives what reading the file whole gives, because:
//! - the head and the file are the same text up to the cut, so the parser reads them the same
//!   way up to there: the reader checks that it finds the `users` key at the line this module
//!   found (a `users:` line inside a quoted scalar or a flow collection is not that key);
//! - from the `users:` line to the end of the list, no quoted scalar or flow collection starts
//!   (a `"`, `'`, `[` or `{` after anything but a letter or digit): so none spans a line
//!   break, and a line that begins with the list's indentation and `- ` is the start of an
//!   item, at every line this module looks at;
//! - every other line of the list is blank, a comment, or more indented than the items: so
//!   the items read the same in the list and as a list of their own, and the list ends at
//!   the first line that starts at the first column (a key, or `---`).
//!
//! Anything else (a quote or a flow collection in the list, a line less indented than the
//! items, no `users:` line) is no cut: the file is read whole. `events::tests` hold the two
//! ways to the same result.

/// A cut: byte offsets into the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cut {
    /// The `users:` line: where the reader of the head must find the key.
    pub users: usize,
    /// The start of the item the tail starts with.
    pub at: usize,
    /// Where the list ends: the tail is `at..end`, the head `..at` then `end..`.
    pub end: usize,
}

/// The cut nearest the middle of the `users:` list of `text`, or `None` when the file cannot
/// be cut safely (then it is read whole).
pub(super) fn find(text: &str) -> Option<Cut> {
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').map(|line| {
        let at = offset;
        offset += line.len();
        (at, line.trim_end_matches(['\n', '\r']))
    });
    let (users, _) = lines.by_ref().find(|(_, line)| line.trim_end_matches(' ') == "users:")?;
    let mut indent = None;
    let mut items = Vec::new();
    let mut end = text.len();
    for (at, line) in lines {
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[spaces..];
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        let item = rest == "-" || rest.starts_with("- ");
        match indent {
            None if item => indent = Some(spaces),
            None => return None,
            Some(k) if spaces == 0 && !(k == 0 && item) => {
                end = at;
                break;
            }
            Some(k) if spaces < k || (spaces == k && !item) => return None,
            Some(k) if spaces == k => items.push(at),
            Some(_) => {}
        }
    }
    if !nothing_spans_lines(&text.as_bytes()[users..end]) {
        return None;
    }
    // `items` are the starts of the second item on: the head keeps at least the first.
    let middle = users + (end - users) / 2;
    let at = *items.get(items.partition_point(|&i| i < middle)).or(items.last())?;
    Some(Cut { users, at, end })
}

/// Whether no quoted scalar and no flow collection starts in `region`: a quote or an opening
/// bracket counts unless it follows a letter or digit (as in `O'Connor`, part of a plain
/// scalar). Conservative: a comment with a quote in it counts too.
fn nothing_spans_lines(region: &[u8]) -> bool {
    let mut previous = b'\n';
    for &b in region {
        if matches!(b, b'"' | b'\'' | b'[' | b'{') && !previous.is_ascii_alphanumeric() {
            return false;
        }
        previous = b;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_list_is_cut_at_an_item_near_its_middle() {
        let text = "groups:\n  staff:\n    members: [a@x.example, b@x.example]\nusers:\n  - userPrincipalName: a@x.example\n    surname: O'Connor\n  - userPrincipalName: b@x.example\n  # a comment\n\n  - userPrincipalName: c@x.example\n  - userPrincipalName: d@x.example\nother: 1\n";
        let cut = find(text).expect("a cut");
        assert_eq!(&text[cut.users..cut.users + 7], "users:\n");
        assert!(text[cut.at..].starts_with("  - userPrincipalName: c@x.example"), "{:?}", &text[cut.at..]);
        assert_eq!(&text[cut.end..], "other: 1\n");
        // Items at the first column: the list ends at the first other line there.
        let text = "users:\n- a: 1\n- a: 2\n- a: 3\ngroups: {}\n";
        let cut = find(text).expect("a cut");
        assert_eq!((&text[cut.at..cut.end], &text[cut.end..]), ("- a: 2\n- a: 3\n", "groups: {}\n"));
    }

    #[test]
    fn a_list_that_might_not_read_the_same_in_halves_is_not_cut() {
        for text in [
            // one item: nothing to cut
            "users:\n  - a: 1\n",
            // a quoted scalar, a flow collection: either could span lines
            "users:\n  - a: 'x'\n  - a: 2\n  - a: 3\n",
            "users:\n  - a: \"x\"\n  - a: 2\n  - a: 3\n",
            "users:\n  - {a: 1}\n  - a: 2\n  - a: 3\n",
            "users:\n  - a: [1]\n  - a: 2\n  - a: 3\n",
            "users:\n  - a: 1 # it's \"quoted\"\n  - a: 2\n  - a: 3\n",
            // a line less indented than the items, or as indented but not an item
            "users:\n  - a: 1\n b: 2\n  - a: 2\n  - a: 3\n",
            "users:\n  - a: 1\n  b: 2\n  - a: 2\n",
            // no users: line, or not a block list under it
            "people:\n  - a: 1\n  - a: 2\n",
            "users: # people\n  - a: 1\n  - a: 2\n",
            "users:\n  [1, 2]\n",
        ] {
            assert_eq!(find(text), None, "cut {text:?}");
        }
    }
}
