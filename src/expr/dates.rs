//! Entra's date functions (CDate, DateAdd, DateDiff, DateFromNum, FormatDateTime,
//! NumFromDate). A date is a UTC instant; its text form is Entra's `M/d/yyyy h:mm:ss tt`.
//! Civil-date arithmetic is Howard Hinnant's `days_from_civil` algorithm; format strings
//! are the subset of .NET's custom date and time format that Entra's examples use.

use std::sync::OnceLock;

use regex::Regex;

/// An instant: seconds since 1970-01-01T00:00:00Z and 100-nanosecond ticks within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Instant {
    secs: i64,
    ticks: i64,
}

const DAY: i64 = 86_400;
/// Seconds from 1601-01-01 (Windows file time, AD's date) to 1970-01-01.
const FILETIME_EPOCH: i64 = 11_644_473_600;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's civil_from_days: (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let next = if m == 12 { days_from_civil(y + 1, 1, 1) } else { days_from_civil(y, m + 1, 1) };
    next - days_from_civil(y, m, 1)
}

/// The parts of a date as written, before it becomes an instant.
#[derive(Debug, Default, Clone, Copy)]
struct Parts {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    ticks: i64,
    /// Offset from UTC in seconds (`-07:00` is -25,200).
    offset: i64,
}

impl Parts {
    fn instant(self) -> Option<Instant> {
        let valid = (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && (0..24).contains(&self.hour)
            && (0..60).contains(&self.minute)
            && (0..60).contains(&self.second);
        valid.then(|| Instant {
            secs: days_from_civil(self.year, self.month, self.day) * DAY
                + self.hour * 3600
                + self.minute * 60
                + self.second
                - self.offset,
            ticks: self.ticks,
        })
    }

    fn of(i: Instant) -> Parts {
        let days = i.secs.div_euclid(DAY);
        let rest = i.secs.rem_euclid(DAY);
        let (year, month, day) = civil_from_days(days);
        Parts {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
            ticks: i.ticks,
            offset: 0,
        }
    }
}

fn offset(sign: &str, hours: &str, minutes: &str) -> i64 {
    let v = hours.parse::<i64>().unwrap_or(0) * 3600 + minutes.parse::<i64>().unwrap_or(0) * 60;
    if sign == "-" { -v } else { v }
}

fn ticks_of(fraction: &str) -> i64 {
    let digits: String = fraction.chars().chain(std::iter::repeat('0')).take(7).collect();
    digits.parse().unwrap_or(0)
}

/// A date as Entra's CDate reads it: ISO 8601 (`2009-06-15T01:45:30-07:00`, `2020-03-16-07:00`,
/// `2021-08-24`) or Entra's own output form (`8/25/2021 5:41:18 PM`). No offset: UTC.
pub(super) fn parse(s: &str) -> Option<Instant> {
    static ISO: OnceLock<Regex> = OnceLock::new();
    static US: OnceLock<Regex> = OnceLock::new();
    let iso = ISO.get_or_init(|| {
        Regex::new(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))?$")
            .expect("a valid pattern")
    });
    let us = US.get_or_init(|| {
        Regex::new(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?)?$")
            .expect("a valid pattern")
    });
    let s = s.trim();
    let num = |m: Option<regex::Match<'_>>| m.map_or(0, |m| m.as_str().parse().unwrap_or(0));
    if let Some(c) = iso.captures(s) {
        let parts = Parts {
            year: num(c.get(1)),
            month: num(c.get(2)),
            day: num(c.get(3)),
            hour: num(c.get(4)),
            minute: num(c.get(5)),
            second: num(c.get(6)),
            ticks: c.get(7).map_or(0, |m| ticks_of(m.as_str())),
            offset: match (c.get(9), c.get(10), c.get(11)) {
                (Some(sign), Some(h), Some(m)) => offset(sign.as_str(), h.as_str(), m.as_str()),
                _ => 0,
            },
        };
        return parts.instant();
    }
    let c = us.captures(s)?;
    let mut hour = num(c.get(4));
    if let Some(tt) = c.get(7) {
        if !(1..=12).contains(&hour) {
            return None;
        }
        let pm = tt.as_str().eq_ignore_ascii_case("pm");
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    Parts {
        year: num(c.get(3)),
        month: num(c.get(1)),
        day: num(c.get(2)),
        hour,
        minute: num(c.get(5)),
        second: num(c.get(6)),
        ..Parts::default()
    }
    .instant()
}

/// [`display`] of a time given in seconds since 1970.
pub(super) fn display_unix(secs: i64) -> String {
    display(Instant { secs, ticks: 0 })
}

/// Entra's text form of a date: `M/d/yyyy h:mm:ss tt`, in UTC.
pub(super) fn display(i: Instant) -> String {
    format(i, "M/d/yyyy h:mm:ss tt")
}

/// `DateAdd`: intervals `yyyy`, `m`, `d`, `ww`, `h`, `n`, `s`.
pub(super) fn add(interval: &str, n: i64, i: Instant) -> Option<Instant> {
    let seconds = |unit: i64| Some(Instant { secs: i.secs.checked_add(n.checked_mul(unit)?)?, ticks: i.ticks });
    match interval {
        "s" => seconds(1),
        "n" => seconds(60),
        "h" => seconds(3600),
        "d" => seconds(DAY),
        "ww" => seconds(7 * DAY),
        "m" | "yyyy" => {
            let months = if interval == "m" { n } else { n.checked_mul(12)? };
            let p = Parts::of(i);
            let total = p.year.checked_mul(12)? + (p.month - 1) + months;
            let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
            // The 31st plus a month is the last day of a shorter month, as .NET's AddMonths.
            Parts { year, month, day: p.day.min(days_in_month(year, month)), ..p }.instant()
        }
        _ => None,
    }
}

/// `DateDiff`: positive when `b` is later. Years and months count calendar boundaries;
/// the other intervals are the elapsed time in that unit, rounded (Entra's examples:
/// -3449 days and -493 weeks between 8/25/2021 5:41:18 PM and 2012-03-16-07:00).
pub(super) fn diff(interval: &str, a: Instant, b: Instant) -> Option<i64> {
    let elapsed = (b.secs - a.secs) as f64 + (b.ticks - a.ticks) as f64 / 1e7;
    let unit = |u: f64| Some((elapsed / u).round() as i64);
    match interval {
        "s" => unit(1.0),
        "n" => unit(60.0),
        "h" => unit(3600.0),
        "d" => unit(DAY as f64),
        "ww" => unit(7.0 * DAY as f64),
        "m" => {
            let (pa, pb) = (Parts::of(a), Parts::of(b));
            Some((pb.year - pa.year) * 12 + (pb.month - pa.month))
        }
        "yyyy" => Some(Parts::of(b).year - Parts::of(a).year),
        _ => None,
    }
}

/// `DateFromNum`: an AD date (100-nanosecond intervals since 1601-01-01 UTC).
pub(super) fn from_filetime(n: i64) -> Option<Instant> {
    (n >= 0).then(|| Instant { secs: n / 10_000_000 - FILETIME_EPOCH, ticks: n % 10_000_000 })
}

/// `NumFromDate`: the AD date of an instant.
pub(super) fn to_filetime(i: Instant) -> Option<i64> {
    (i.secs + FILETIME_EPOCH).checked_mul(10_000_000)?.checked_add(i.ticks).filter(|n| *n >= 0)
}

/// One piece of a .NET custom format string.
#[derive(Debug, PartialEq)]
enum Piece {
    /// A run of one specifier letter: `yyyy`, `MM`, `f`, `tt`, `zzz`, `K`.
    Field(char, usize),
    Literal(String),
}

fn pieces(format: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = format.chars().peekable();
    let literal = |out: &mut Vec<Piece>, c: char| match out.last_mut() {
        Some(Piece::Literal(s)) => s.push(c),
        _ => out.push(Piece::Literal(c.to_string())),
    };
    while let Some(c) = chars.next() {
        match c {
            'y' | 'M' | 'd' | 'H' | 'h' | 'm' | 's' | 'f' | 'F' | 't' | 'z' | 'K' => {
                let mut n = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    n += 1;
                }
                out.push(Piece::Field(c, n));
            }
            '\'' | '"' => {
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    literal(&mut out, q);
                }
            }
            '\\' => {
                if let Some(q) = chars.next() {
                    literal(&mut out, q);
                }
            }
            c => literal(&mut out, c),
        }
    }
    out
}

/// `i` written with a .NET custom format (UTC).
pub(super) fn format(i: Instant, format: &str) -> String {
    let p = Parts::of(i);
    let mut out = String::new();
    for piece in pieces(format) {
        match piece {
            Piece::Literal(s) => out.push_str(&s),
            Piece::Field(c, n) => out.push_str(&match (c, n) {
                ('y', 1) => (p.year % 100).to_string(),
                ('y', 2) => format!("{:02}", p.year % 100),
                ('y', n) => format!("{:0n$}", p.year),
                ('M', 1) => p.month.to_string(),
                ('M', 2) => format!("{:02}", p.month),
                ('M', 3) => MONTHS[(p.month - 1) as usize][..3].to_string(),
                ('M', _) => MONTHS[(p.month - 1) as usize].to_string(),
                ('d', 1) => p.day.to_string(),
                ('d', 2) => format!("{:02}", p.day),
                ('d', 3) => DAYS[weekday(i)][..3].to_string(),
                ('d', _) => DAYS[weekday(i)].to_string(),
                ('H', 1) => p.hour.to_string(),
                ('H', _) => format!("{:02}", p.hour),
                ('h', 1) => ((p.hour + 11) % 12 + 1).to_string(),
                ('h', _) => format!("{:02}", (p.hour + 11) % 12 + 1),
                ('m', 1) => p.minute.to_string(),
                ('m', _) => format!("{:02}", p.minute),
                ('s', 1) => p.second.to_string(),
                ('s', _) => format!("{:02}", p.second),
                ('f', n) => format!("{:07}", p.ticks)[..n.min(7)].to_string(),
                ('F', n) => format!("{:07}", p.ticks)[..n.min(7)].trim_end_matches('0').to_string(),
                ('t', 1) => (if p.hour < 12 { "A" } else { "P" }).to_string(),
                ('t', _) => (if p.hour < 12 { "AM" } else { "PM" }).to_string(),
                ('z', 1) => "+0".to_string(),
                ('z', 2) => "+00".to_string(),
                ('z', _) => "+00:00".to_string(),
                ('K', _) => "Z".to_string(),
                _ => String::new(),
            }),
        }
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

fn weekday(i: Instant) -> usize {
    // 1970-01-01 was a Thursday.
    ((i.secs.div_euclid(DAY) + 4).rem_euclid(7)) as usize
}

/// `s` read with a .NET custom format; None when it does not fit.
pub(super) fn parse_with(s: &str, format: &str) -> Option<Instant> {
    let mut p = Parts { year: 1, month: 1, day: 1, ..Parts::default() };
    let mut rest = s.trim();
    let mut pm = None;
    let digits = |rest: &mut &str, min: usize, max: usize| -> Option<i64> {
        let n = rest.chars().take(max).take_while(char::is_ascii_digit).count();
        if n < min {
            return None;
        }
        let (d, r) = rest.split_at(n);
        *rest = r;
        d.parse().ok()
    };
    for piece in pieces(format) {
        match piece {
            Piece::Literal(l) => rest = rest.strip_prefix(l.as_str())?,
            Piece::Field(c, n) => match c {
                'y' => {
                    let v = digits(&mut rest, n.min(4), if n <= 2 { 2 } else { n.max(4) })?;
                    p.year = if n <= 2 { 2000 + v } else { v };
                }
                'M' => p.month = digits(&mut rest, n.min(2), 2)?,
                'd' => p.day = digits(&mut rest, n.min(2), 2)?,
                'H' | 'h' => p.hour = digits(&mut rest, n.min(2), 2)?,
                'm' => p.minute = digits(&mut rest, n.min(2), 2)?,
                's' => p.second = digits(&mut rest, n.min(2), 2)?,
                'f' | 'F' => {
                    let len = rest.chars().take(n).take_while(char::is_ascii_digit).count();
                    if c == 'f' && len < n {
                        return None;
                    }
                    p.ticks = ticks_of(&rest[..len]);
                    rest = &rest[len..];
                }
                't' => {
                    let word = if n == 1 { 1 } else { 2 };
                    let t = rest.get(..word)?;
                    pm = Some(t.to_ascii_uppercase().starts_with('P'));
                    rest = &rest[word..];
                }
                'z' | 'K' => {
                    if c == 'K'
                        && let Some(r) = rest.strip_prefix('Z')
                    {
                        rest = r;
                        continue;
                    }
                    let sign = rest.get(..1).filter(|s| *s == "+" || *s == "-")?.to_owned();
                    rest = &rest[1..];
                    let h = digits(&mut rest, 1, 2)?;
                    let m = if n >= 3 || c == 'K' {
                        rest = rest.strip_prefix(':')?;
                        digits(&mut rest, 2, 2)?
                    } else {
                        0
                    };
                    p.offset = offset(&sign, &h.to_string(), &m.to_string());
                }
                _ => return None,
            },
        }
    }
    if !rest.is_empty() {
        return None;
    }
    if let Some(pm) = pm {
        p.hour = p.hour % 12 + if pm { 12 } else { 0 };
    }
    p.instant()
}
