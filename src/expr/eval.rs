//! Evaluation. Values are `Option<Cow<str>>` (`None` is null) and borrow from the
//! expression or the record whenever a function leaves its input unchanged.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Range;

use super::functions::Func;
use super::{Call, CmpOp, Kind, Node, Prepared, Record, ReplaceForm, dates, diacritics};

type Value<'a> = Option<Cow<'a, str>>;

const TRUE: &str = "True";
const FALSE: &str = "False";

fn boolean(b: bool) -> Value<'static> {
    Some(Cow::Borrowed(if b { TRUE } else { FALSE }))
}

pub(super) fn eval<'a>(node: &'a Node, rec: &'a dyn Record) -> Value<'a> {
    match &node.kind {
        Kind::Attr(name) => rec.get(name).map(Cow::Borrowed),
        Kind::Str(s) => Some(Cow::Borrowed(s)),
        Kind::Num(_, text) => Some(Cow::Borrowed(text)),
        Kind::Omitted => None,
        Kind::Cmp(cmp) => {
            let lhs = eval(&cmp.lhs, rec);
            let rhs = eval(&cmp.rhs, rec);
            boolean(compare(cmp.op, lhs.as_deref(), rhs.as_deref()))
        }
        Kind::Call(call) => eval_call(call, rec, node.span.start),
    }
}

/// Functions whose value is several values (a multi-valued attribute, in Entra's terms).
pub(super) fn is_multi(func: Func) -> bool {
    matches!(func, Func::Split | Func::RemoveDuplicates | Func::AppRoleAssignmentsComplex)
}

/// The values of a node: the pieces of a `Split`, deduplicated by `RemoveDuplicates`, or
/// the one value of anything else. None when null.
fn values<'a>(node: &'a Node, rec: &'a dyn Record) -> Option<Vec<Cow<'a, str>>> {
    let Kind::Call(call) = &node.kind else {
        return eval(node, rec).map(|v| vec![v]);
    };
    match call.func {
        Func::Split => {
            let text = eval(&call.args[0], rec)?;
            let delimiter = eval(&call.args[1], rec);
            Some(match delimiter.as_deref() {
                Some(d) if !d.is_empty() => text.split(d).map(|p| Cow::Owned(p.to_owned())).collect(),
                _ => vec![text],
            })
        }
        Func::AppRoleAssignmentsComplex => Some(rec.app_roles().into_iter().map(Cow::Borrowed).collect()),
        Func::RemoveDuplicates => {
            let mut seen = std::collections::HashSet::new();
            let all = values(&call.args[0], rec)?;
            Some(all.into_iter().filter(|v| seen.insert(v.clone())).collect())
        }
        _ => eval(node, rec).map(|v| vec![v]),
    }
}

/// A deterministic stream of bytes for `Guid()` and `RandomString()`: the person's
/// identity and where the call is in the expression, hashed.
fn stream(rec: &dyn Record, what: &str, at: usize) -> impl Iterator<Item = u8> {
    use sha2::{Digest, Sha256};
    let seed = format!("rollcall {what}\0{}\0{at}", rec.identity().unwrap_or("").to_lowercase());
    (0u64..).flat_map(move |block| {
        let mut h = Sha256::new();
        h.update(seed.as_bytes());
        h.update(block.to_le_bytes());
        h.finalize().to_vec()
    })
}

fn guid(rec: &dyn Record, at: usize) -> String {
    let mut b: Vec<u8> = stream(rec, "Guid", at).take(16).collect();
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// `RandomString(length, minNumbers, minSpecial, minCapital, minLower, charactersToAvoid)`.
fn random_string(rec: &dyn Record, at: usize, n: [i64; 5], avoid: &str) -> Option<String> {
    const SPECIAL: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";
    let [length, numbers, special, capital, lower] = n;
    if !(1..=256).contains(&length) || n[1..].iter().any(|m| *m < 0) || numbers + special + capital + lower > length {
        return None;
    }
    let class = |chars: &str| -> Vec<char> { chars.chars().filter(|c| !avoid.contains(*c)).collect() };
    let classes = [
        (class("0123456789"), numbers),
        (class(SPECIAL), special),
        (class("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), capital),
        (class("abcdefghijklmnopqrstuvwxyz"), lower),
    ];
    let any: Vec<char> = classes.iter().flat_map(|(c, _)| c.iter().copied()).collect();
    if any.is_empty() || classes.iter().any(|(c, min)| c.is_empty() && *min > 0) {
        return None;
    }
    let mut bytes = stream(rec, "RandomString", at);
    let mut pick = |from: &[char]| from[usize::from(bytes.next().unwrap_or(0)) % from.len()];
    let mut out: Vec<char> = Vec::new();
    for (chars, min) in &classes {
        for _ in 0..*min {
            out.push(pick(chars));
        }
    }
    while out.len() < length as usize {
        out.push(pick(&any));
    }
    // Shuffle (Fisher-Yates), so the required characters are not always first.
    let mut bytes = stream(rec, "RandomString shuffle", at);
    for i in (1..out.len()).rev() {
        let j = usize::from(bytes.next().unwrap_or(0)) % (i + 1);
        out.swap(i, j);
    }
    Some(out.into_iter().collect())
}

/// `InStr(value1, value2, start, compareType)`: the 1-based position of value2 in value1
/// from `start`, 0 when absent; vbTextCompare (1) ignores case.
fn instr(haystack: &str, needle: &str, start: i64, text_compare: bool) -> Option<i64> {
    if start < 1 {
        return None;
    }
    let fold = |s: &str| -> Vec<char> {
        if text_compare { s.chars().flat_map(char::to_lowercase).collect() } else { s.chars().collect() }
    };
    let (h, n) = (fold(haystack), fold(needle));
    let from = usize::try_from(start - 1).ok()?;
    if n.is_empty() {
        return Some(start);
    }
    if from >= h.len() {
        return Some(0);
    }
    Some(h[from..].windows(n.len()).position(|w| w == n.as_slice()).map_or(0, |p| (from + p + 1) as i64))
}

/// Whether a value counts as true: `"True"` in any case, or a non-zero number.
/// Null, `""`, `"False"` and any other text are false.
pub(super) fn truthy(v: Option<&str>) -> bool {
    match v {
        None => false,
        Some(s) if s.eq_ignore_ascii_case(TRUE) => true,
        Some(s) => number(s).is_some_and(|n| n != 0.0),
    }
}

/// `s` as a number when it is written as one: optional sign, digits, optional
/// decimal part (`-12`, `3.50`). No spaces, exponents or thousands separators.
fn number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    s.parse().ok()
}

fn integer(s: &str) -> Option<i128> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `=` and `<>` compare text exactly (case-sensitive), null counting as `""`.
/// The orderings are false when either side is null; two numbers compare as
/// numbers (so `"05" >= 5` and `"05" <= 5` are both true while `"05" = 5` is
/// false), anything else by Unicode code points.
pub(super) fn compare(op: CmpOp, lhs: Option<&str>, rhs: Option<&str>) -> bool {
    match op {
        CmpOp::Eq => lhs.unwrap_or("") == rhs.unwrap_or(""),
        CmpOp::Ne => lhs.unwrap_or("") != rhs.unwrap_or(""),
        _ => {
            let (Some(a), Some(b)) = (lhs, rhs) else {
                return false;
            };
            let ord = order(a, b);
            match op {
                CmpOp::Gt => ord.is_gt(),
                CmpOp::Ge => ord.is_ge(),
                CmpOp::Lt => ord.is_lt(),
                CmpOp::Le => ord.is_le(),
                CmpOp::Eq | CmpOp::Ne => unreachable!(),
            }
        }
    }
}

fn order(a: &str, b: &str) -> Ordering {
    let numeric = match (integer(a), integer(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        },
    };
    numeric.unwrap_or_else(|| a.cmp(b))
}

/// A whole-number argument (Left, Mid, Word): a number literal, or a value that
/// reads as one. `None` when null or not a whole number.
fn int_arg(node: &Node, rec: &dyn Record) -> Option<i64> {
    if let Kind::Num(v, _) = node.kind {
        return Some(v);
    }
    eval(node, rec)?.trim().parse().ok()
}

/// The part `range` (byte offsets) of `v`, borrowing when `v` does.
fn slice(v: Cow<'_, str>, range: Range<usize>) -> Cow<'_, str> {
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(&s[range]),
        Cow::Owned(mut s) => {
            s.truncate(range.end);
            s.drain(..range.start);
            Cow::Owned(s)
        }
    }
}

/// Applies a function that may borrow its input to a value, keeping the borrow.
fn map_str<'a>(v: Cow<'a, str>, f: impl for<'x> Fn(&'x str) -> Cow<'x, str>) -> Cow<'a, str> {
    match v {
        Cow::Borrowed(s) => f(s),
        Cow::Owned(s) => match f(&s) {
            Cow::Borrowed(_) => Cow::Owned(s),
            Cow::Owned(t) => Cow::Owned(t),
        },
    }
}

/// Byte offset of the `n`-th character (0-based) of `s`, or `s.len()` past the end.
fn char_offset(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

fn eval_call<'a>(call: &'a Call, rec: &'a dyn Record, at: usize) -> Value<'a> {
    let args = &call.args;
    let arg = |i: usize| -> Value<'a> { args.get(i).and_then(|a| eval(a, rec)) };
    let int = |i: usize| -> Option<i64> { args.get(i).and_then(|a| int_arg(a, rec)) };
    match call.func {
        Func::BitAnd => Some(Cow::Owned((int(0)? & int(1)?).to_string())),
        Func::Count => Some(Cow::Owned(values(&args[0], rec).map_or(0, |v| v.len()).to_string())),
        Func::Guid => Some(Cow::Owned(guid(rec, at))),
        Func::InStr => {
            let (haystack, needle) = (arg(0)?, arg(1)?);
            let start = if args.get(2).is_some_and(|a| a.kind != Kind::Omitted) { int(2)? } else { 1 };
            let text_compare = int(3).is_some_and(|c| c == 1);
            Some(Cow::Owned(instr(&haystack, &needle, start, text_compare)?.to_string()))
        }
        Func::Item => {
            let index = usize::try_from(int(1)?).ok()?.checked_sub(1)?;
            values(&args[0], rec)?.into_iter().nth(index)
        }
        Func::RandomString => {
            let n = [int(0)?, int(1)?, int(2)?, int(3)?, int(4)?];
            let avoid = arg(5);
            Some(Cow::Owned(random_string(rec, at, n, avoid.as_deref().unwrap_or(""))?))
        }
        Func::Redact => arg(0),
        Func::Now => rec.now().map(Cow::Borrowed),
        Func::DefaultDomain => rec.default_domain().map(Cow::Borrowed),
        // Entra gives no guarantee which role of several; rollcall gives the first by name.
        Func::SingleAppRoleAssignment => rec.app_roles().first().map(|r| Cow::Borrowed(*r)),
        // Only reached through Join, Count or Item.
        Func::AppRoleAssignmentsComplex => Some(Cow::Owned(rec.app_roles().join(","))),
        Func::CDate | Func::DateAdd | Func::DateDiff | Func::DateFromNum | Func::NumFromDate | Func::FormatDateTime => {
            date_call(call, rec).map(Cow::Owned)
        }
        // Only reached through Join, Count or Item (the parser allows it nowhere else).
        Func::RemoveDuplicates => arg(0),
        Func::Append => append(arg(0)?, arg(1)),
        Func::CBool => boolean(truthy(arg(0).as_deref())),
        Func::Coalesce => args.iter().find_map(|a| eval(a, rec)),
        // Without the other accounts: the first candidate (the planner picks among them).
        Func::SelectUniqueValue => args.iter().find_map(|a| eval(a, rec).filter(|v| !v.is_empty())),
        Func::ConvertToBase64 => {
            let bytes: Vec<u8> = arg(0)?.encode_utf16().flat_map(u16::to_le_bytes).collect();
            Some(Cow::Owned(base64(&bytes)))
        }
        Func::ConvertToUtf8Hex => Some(Cow::Owned(arg(0)?.bytes().map(|b| format!("{b:02X}")).collect())),
        Func::CStr => arg(0),
        Func::IgnoreFlowIfNullOrEmpty => arg(0).filter(|v| !v.is_empty()),
        Func::Iif => {
            if truthy(arg(0).as_deref()) {
                arg(1)
            } else {
                arg(2)
            }
        }
        Func::IsNull => boolean(arg(0).is_none()),
        Func::IsNullOrEmpty => boolean(arg(0).is_none_or(|v| v.is_empty())),
        Func::IsPresent => boolean(arg(0).is_some_and(|v| !v.is_empty())),
        Func::IsString => boolean(arg(0).is_some()),
        Func::Join => join(args, rec),
        Func::Left => left(arg(0)?, int_arg(&args[1], rec)?),
        Func::Len => Some(Cow::Owned(arg(0)?.chars().count().to_string())),
        Func::Mid => mid(arg(0)?, int_arg(&args[1], rec)?, int_arg(&args[2], rec)?),
        Func::NormalizeDiacritics => Some(map_str(arg(0)?, diacritics::normalize)),
        Func::Not => boolean(!truthy(arg(0).as_deref())),
        Func::PCase => {
            let s = arg(0)?;
            let separators = arg(1);
            Some(Cow::Owned(pcase(&s, separators.as_deref())))
        }
        Func::Replace => replace(call, rec),
        // Only reached through Join (the parser rejects Split anywhere else).
        Func::Split => arg(0),
        Func::StripSpaces => {
            Some(map_str(arg(0)?, |s| if s.contains(' ') { Cow::Owned(s.replace(' ', "")) } else { Cow::Borrowed(s) }))
        }
        Func::Switch => switch(args, rec),
        Func::ToLower => {
            let s = arg(0)?;
            let turkic = is_turkic(arg(1).as_deref());
            Some(map_str(s, |s| to_lower(s, turkic)))
        }
        Func::ToUpper => {
            let s = arg(0)?;
            let turkic = is_turkic(arg(1).as_deref());
            Some(map_str(s, |s| to_upper(s, turkic)))
        }
        Func::Trim => {
            let s = arg(0)?;
            let trimmed = s.trim();
            let start = trimmed.as_ptr() as usize - s.as_ptr() as usize;
            let end = start + trimmed.len();
            Some(slice(s, start..end))
        }
        Func::Word => word(arg(0)?, int_arg(&args[1], rec)?, arg(2).as_deref().unwrap_or("")),
    }
}

/// The date functions: `CDate`, `DateAdd`, `DateDiff`, `DateFromNum`, `NumFromDate`,
/// `FormatDateTime`.
fn date_call(call: &Call, rec: &dyn Record) -> Option<String> {
    let args = &call.args;
    let arg = |i: usize| -> Value<'_> { args.get(i).and_then(|a| eval(a, rec)) };
    let int = |i: usize| -> Option<i64> { args.get(i).and_then(|a| int_arg(a, rec)) };
    match call.func {
        Func::CDate => Some(dates::display(dates::parse(&arg(0)?)?)),
        Func::DateAdd => {
            let date = dates::parse(&arg(2)?)?;
            Some(dates::display(dates::add(&arg(0)?, int(1)?, date)?))
        }
        Func::DateDiff => {
            let (a, b) = (dates::parse(&arg(1)?)?, dates::parse(&arg(2)?)?);
            Some(dates::diff(&arg(0)?, a, b)?.to_string())
        }
        Func::DateFromNum => Some(dates::display(dates::from_filetime(int(0)?)?)),
        Func::NumFromDate => Some(dates::to_filetime(dates::parse(&arg(0)?)?)?.to_string()),
        Func::FormatDateTime => {
            let date = dates::parse_with(&arg(0)?, &arg(2)?)?;
            Some(dates::format(date, &arg(3)?))
        }
        _ => unreachable!("date_call is called for date functions only"),
    }
}

/// `Append(source, suffix)`: the source unchanged when the suffix is null or empty.
fn append<'a>(source: Cow<'a, str>, suffix: Value<'_>) -> Value<'a> {
    match suffix {
        Some(suffix) if !suffix.is_empty() => {
            let mut out = source.into_owned();
            out.push_str(&suffix);
            Some(Cow::Owned(out))
        }
        _ => Some(source),
    }
}

/// `Left(s, n)`: the first n characters; the whole string when n is negative.
fn left(s: Cow<'_, str>, n: i64) -> Value<'_> {
    if n < 0 {
        return Some(s);
    }
    let end = char_offset(&s, usize::try_from(n).unwrap_or(usize::MAX));
    Some(slice(s, 0..end))
}

/// `Mid(s, start, len)`: 1-based, clipped at the end of the string.
fn mid(s: Cow<'_, str>, start: i64, len: i64) -> Value<'_> {
    if len <= 0 {
        return Some(Cow::Borrowed(""));
    }
    let skip = usize::try_from(start.max(1) - 1).unwrap_or(usize::MAX);
    let from = char_offset(&s, skip);
    let to = from + char_offset(&s[from..], usize::try_from(len).unwrap_or(usize::MAX));
    Some(slice(s, from..to))
}

/// `Switch(source, default, key1, value1, ...)`: case-sensitive keys, null as `""`.
fn switch<'a>(args: &'a [Node], rec: &'a dyn Record) -> Value<'a> {
    let source = eval(&args[0], rec);
    let source = source.as_deref().unwrap_or("");
    for pair in args[2..].chunks(2) {
        let key = eval(&pair[0], rec);
        if key.as_deref().unwrap_or("") == source {
            return eval(&pair[1], rec);
        }
    }
    eval(&args[1], rec)
}

/// `Word(s, n, delimiters)`: the n-th (1-based) non-empty word, `""` when there is none.
fn word<'a>(s: Cow<'a, str>, n: i64, delimiters: &str) -> Value<'a> {
    if n < 1 {
        return Some(Cow::Borrowed(""));
    }
    let n = usize::try_from(n - 1).unwrap_or(usize::MAX);
    let word = s.split(|c: char| delimiters.contains(c)).filter(|w| !w.is_empty()).nth(n).map(|w| {
        let start = w.as_ptr() as usize - s.as_ptr() as usize;
        start..start + w.len()
    });
    Some(match word {
        Some(range) => slice(s, range),
        None => Cow::Borrowed(""),
    })
}

/// `Join(separator, source1, ...)`: the sources that are neither null nor empty,
/// separated; a `Split(...)` source contributes each of its pieces. Null when no
/// source has a value at all.
fn join<'a>(args: &'a [Node], rec: &'a dyn Record) -> Value<'a> {
    let separator = eval(&args[0], rec);
    let separator = separator.as_deref().unwrap_or("");
    let mut out = String::new();
    let mut any = false;
    let mut first = true;
    let mut push = |piece: &str| {
        if piece.is_empty() {
            return;
        }
        if !first {
            out.push_str(separator);
        }
        first = false;
        out.push_str(piece);
    };
    for source in &args[1..] {
        if let Kind::Call(call) = &source.kind
            && is_multi(call.func)
        {
            let Some(pieces) = values(source, rec) else {
                continue;
            };
            any = true;
            pieces.iter().for_each(|p| push(p));
        } else if let Some(value) = eval(source, rec) {
            any = true;
            push(&value);
        }
    }
    any.then_some(Cow::Owned(out))
}

fn replace<'a>(call: &'a Call, rec: &'a dyn Record) -> Value<'a> {
    let Prepared::Replace { form, regex } = &call.prepared else {
        unreachable!("Replace calls are prepared by the parser");
    };
    let args = &call.args;
    let arg = |i: usize| -> Value<'a> { args.get(i).and_then(|a| eval(a, rec)) };
    // The pattern: compiled at parse time when it is a literal, else now.
    let compiled;
    let regex: Option<&regex::Regex> = match (form, regex) {
        (ReplaceForm::Literal | ReplaceForm::Template, _) => None,
        (_, Some(re)) => Some(re),
        (_, None) => {
            compiled = regex::Regex::new(&arg(2)?).ok()?;
            Some(&compiled)
        }
    };
    match form {
        ReplaceForm::Literal => {
            let source = arg(0)?;
            let (Some(old), Some(new)) = (arg(1), arg(4)) else {
                return Some(source);
            };
            if old.is_empty() || !source.contains(&*old) {
                return Some(source);
            }
            Some(Cow::Owned(source.replace(&*old, &new)))
        }
        ReplaceForm::Template => {
            let source = arg(0)?;
            let template = arg(6)?;
            match arg(1) {
                Some(old) if !old.is_empty() => Some(Cow::Owned(template.replace(&*old, &source))),
                _ => Some(template),
            }
        }
        ReplaceForm::Regex => {
            let source = arg(0)?;
            let re = regex?;
            let Some(replacement) = arg(4) else {
                return Some(source);
            };
            Some(match source {
                Cow::Borrowed(s) => re.replace_all(s, &*replacement),
                Cow::Owned(s) => Cow::Owned(re.replace_all(&s, &*replacement).into_owned()),
            })
        }
        ReplaceForm::RegexGroup => {
            let source = arg(0)?;
            let re = regex?;
            let (Some(group), Some(replacement)) = (arg(3), arg(4)) else {
                return Some(source);
            };
            let mut out = String::new();
            let mut last = 0;
            let mut replaced = false;
            for caps in re.captures_iter(&source) {
                if let Some(m) = caps.name(&group) {
                    out.push_str(&source[last..m.start()]);
                    out.push_str(&replacement);
                    last = m.end();
                    replaced = true;
                }
            }
            if !replaced {
                return Some(source);
            }
            out.push_str(&source[last..]);
            Some(Cow::Owned(out))
        }
        ReplaceForm::RegexFallback => {
            let source = arg(0);
            if let Some(source) = source.filter(|s| !s.is_empty()) {
                return Some(source);
            }
            let re = regex?;
            let group = arg(3)?;
            let other = arg(5)?;
            let range = re.captures(&other)?.name(&group)?.range();
            Some(slice(other, range))
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether a culture name (`tr`, `tr-TR`, `az-Latn-AZ`) asks for Turkic casing
/// of `I`/`i`.
fn is_turkic(culture: Option<&str>) -> bool {
    culture.is_some_and(|c| {
        let language = c.split(['-', '_']).next().unwrap_or("");
        language.eq_ignore_ascii_case("tr") || language.eq_ignore_ascii_case("az")
    })
}

fn to_lower(s: &str, turkic: bool) -> Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(s);
    }
    if !turkic {
        return Cow::Owned(s.to_lowercase());
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'I' => out.push('ı'),
            'İ' => out.push('i'),
            c => out.extend(c.to_lowercase()),
        }
    }
    Cow::Owned(out)
}

fn to_upper(s: &str, turkic: bool) -> Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_lowercase()) {
        return Cow::Borrowed(s);
    }
    if !turkic {
        return Cow::Owned(s.to_uppercase());
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'i' => out.push('İ'),
            'ı' => out.push('I'),
            c => out.extend(c.to_uppercase()),
        }
    }
    Cow::Owned(out)
}

/// Combining marks (they belong to the word of the letter they follow).
fn is_combining(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Default word separators of `PCase`: everything but letters, digits, combining
/// marks and apostrophes (like .NET's `ToTitleCase`, `O'NEIL` gives `O'neil`).
fn default_separator(c: char) -> bool {
    !(c.is_alphanumeric() || is_combining(c) || c == '\'' || c == '\u{2019}')
}

fn pcase(s: &str, separators: Option<&str>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word_start = true;
    for c in s.chars() {
        let separator = match separators {
            Some(set) => set.contains(c),
            None => default_separator(c),
        };
        if separator {
            out.push(c);
            word_start = true;
        } else if word_start {
            out.extend(c.to_uppercase());
            word_start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}
