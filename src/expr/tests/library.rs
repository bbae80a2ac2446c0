//! The rest of Entra's function library (issue #19), each with the worked examples of
//! Microsoft's reference that give concrete inputs and outputs. Source:
//! MicrosoftDocs/entra-docs, docs/identity/app-provisioning/functions-for-customizing-application-data.md
//! @1241ebe7 ([E-FN] in reference/provisioning-anchors.md).

use super::{ev, some};
use crate::expr::Expr;

#[test]
fn bit_and_with_hexadecimal_literals() {
    // [E-FN] BitAnd: `BitAnd(&HF, &HF7)` returns 7. (Microsoft's prose says
    // "11110111 AND 00000111 = 00000111"; &HF is 00001111, and the result is 7 all the same.)
    assert_eq!(ev("BitAnd(&HF, &HF7)", &[]), some("7"));
    assert_eq!(ev("BitAnd(&hff, 12)", &[]), some("12"));
    assert_eq!(ev("BitAnd([flags], 2)", &[("flags", "6")]), some("2"));
    assert_eq!(ev("BitAnd([flags], 2)", &[]), None);
    assert_eq!(ev("BitAnd([flags], 2)", &[("flags", "six")]), None);
    assert!(Expr::parse("BitAnd(&H, 1)").is_err(), "&H needs digits");
    assert!(Expr::parse("BitAnd(&HFG, 1)").is_err());
}

#[test]
fn decimal_literals() {
    // [E-FN] (newer text, see [DIFF]) Len: `Len(42568.75)` is 8.
    assert_eq!(ev("Len(42568.75)", &[]), some("8"));
    assert_eq!(ev("Append(2.5, \"x\")", &[]), some("2.5x"));
    assert_eq!(Expr::parse("Len(42568.75)").unwrap().to_string(), "Len(42568.75)");
    assert!(Expr::parse("Len(1.2.3)").is_err());
}

#[test]
fn instr_with_start_and_compare_mode() {
    // [E-FN] InStr: `InStr("The quick brown fox","quick")` evaluates to 5.
    assert_eq!(ev(r#"InStr("The quick brown fox","quick")"#, &[]), some("5"));
    // [E-FN] InStr: `InStr("repEated","e",3,vbBinaryCompare)` evaluates to 7.
    assert_eq!(ev(r#"InStr("repEated","e",3,vbBinaryCompare)"#, &[]), some("7"));
    // vbTextCompare ignores case: the E at 4.
    assert_eq!(ev(r#"InStr("repEated","e",3,vbTextCompare)"#, &[]), some("4"));
    assert_eq!(ev(r#"InStr("abc","z")"#, &[]), some("0"));
    assert_eq!(ev(r#"InStr("abc","")"#, &[]), some("1"));
    assert_eq!(ev(r#"InStr("abc","c", 9)"#, &[]), some("0"));
    assert_eq!(ev(r#"InStr("abc","c", 0)"#, &[]), None, "start is 1-based");
    assert_eq!(ev(r#"InStr([x],"c")"#, &[]), None);
    assert_eq!(ev(r#"InStr("äbc","c")"#, &[]), some("3"), "positions count characters");
    assert_eq!(
        Expr::parse(r#"InStr("a","b",1,vbTextCompare)"#).unwrap().to_string(),
        r#"InStr("a", "b", 1, vbTextCompare)"#
    );
}

#[test]
fn count_item_and_remove_duplicates_over_split() {
    // [E-FN] Item: `Item([proxyAddresses], 1)` returns the first item; index 0 shouldn't be used.
    let rec = [("proxyAddresses", "SMTP:a@x;smtp:b@x;smtp:b@x")];
    assert_eq!(ev(r#"Item(Split([proxyAddresses], ";"), 1)"#, &rec), some("SMTP:a@x"));
    assert_eq!(ev(r#"Item(Split([proxyAddresses], ";"), 0)"#, &rec), None);
    assert_eq!(ev(r#"Item(Split([proxyAddresses], ";"), 4)"#, &rec), None);
    assert_eq!(ev(r#"Count(Split([proxyAddresses], ";"))"#, &rec), some("3"));
    assert_eq!(ev("Count([proxyAddresses])", &rec), some("1"), "a single value is one value");
    assert_eq!(ev("Count([missing])", &rec), some("0"));
    assert_eq!(
        ev(r#"Join(";", RemoveDuplicates(Split([proxyAddresses], ";")))"#, &rec),
        some("SMTP:a@x;smtp:b@x"),
        "case-sensitive, as Entra's multi-valued strings"
    );
    assert_eq!(ev(r#"Count(RemoveDuplicates(Split("a,b,a", ",")))"#, &[]), some("2"));
    let e = Expr::parse(r#"ToLower(RemoveDuplicates(Split([a], ",")))"#).unwrap_err();
    assert!(e[0].message.contains("`RemoveDuplicates` can only be used as a source of `Join`"), "{e:?}");
}

#[test]
fn is_string() {
    // [E-FN] IsString: True when the expression evaluates to a string.
    assert_eq!(ev("IsString([a])", &[("a", "x")]), some("True"));
    assert_eq!(ev("IsString([a])", &[]), some("False"));
}

#[test]
fn guid_is_stable_per_person_and_shaped_like_a_guid() {
    // [E-FN] Guid: "generates a new random GUID", sample "00aa00aa-bb11-cc22-dd33-44ee44ee44ee".
    // rollcall derives it from the person's identity instead, so plans do not churn.
    let ann = [("userPrincipalName", "ann@x.example")];
    let bob = [("userPrincipalName", "bob@x.example")];
    let a1 = ev("Guid()", &ann).unwrap();
    assert_eq!(a1, ev("Guid()", &ann).unwrap(), "the same person, the same value");
    assert_ne!(a1, ev("Guid()", &bob).unwrap());
    let shape = regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$").unwrap();
    assert!(shape.is_match(&a1), "{a1}");
    // Two calls in one expression differ.
    let two = ev(r#"Join(" ", Guid(), Guid())"#, &ann).unwrap();
    let (x, y) = two.split_once(' ').unwrap();
    assert_ne!(x, y);
    assert!(Expr::parse("Guid(1)").is_err());
}

#[test]
fn random_string_meets_its_minimums_and_is_stable() {
    // [E-FN] RandomString(Length, MinimumNumbers, MinimumSpecialCharacters,
    // MinimumCapital, MinimumLowerCase, CharactersToAvoid); maximum length 256.
    let ann = [("userPrincipalName", "ann@x.example")];
    let s = ev(r#"RandomString(6, 3, 0, 0, 3)"#, &ann).unwrap();
    assert_eq!(s.chars().count(), 6);
    assert_eq!(s.chars().filter(char::is_ascii_digit).count(), 3, "{s}");
    assert_eq!(s.chars().filter(char::is_ascii_lowercase).count(), 3, "{s}");
    assert_eq!(s, ev(r#"RandomString(6, 3, 0, 0, 3)"#, &ann).unwrap());
    let s = ev(r#"RandomString(10, 2, 2, 2, 1, "?,")"#, &ann).unwrap();
    assert_eq!(s.chars().count(), 10);
    assert!(!s.contains('?') && !s.contains(','), "{s}");
    assert!(s.chars().filter(char::is_ascii_digit).count() >= 2, "{s}");
    assert!(s.chars().filter(char::is_ascii_uppercase).count() >= 2, "{s}");
    assert_eq!(ev("RandomString(257, 0, 0, 0, 0)", &ann), None, "longer than 256");
    assert_eq!(ev("RandomString(2, 1, 1, 1, 0)", &ann), None, "minimums beyond the length");
}

/// Microsoft's example: a unique userPrincipalName from the preferred first and last name.
const UNIQUE_UPN: &str = r#"SelectUniqueValue(
    Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"),
    Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), "contoso.com"),
    Join("@", NormalizeDiacritics(StripSpaces(Join(".", Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), "contoso.com")
)"#;

#[test]
fn select_unique_value_offers_each_rule_in_order() {
    // [E-FN] SelectUniqueValue, "Generate unique value for userPrincipalName (UPN)
    // attribute": John Smith gets John.Smith@contoso.com, else J.Smith@contoso.com, else
    // Jo.Smith@contoso.com. Which one is free is the planner's to decide
    // (plan::unique::tests::microsofts_example_upn); the expression offers them in order.
    let expr = Expr::parse(UNIQUE_UPN).unwrap();
    let john = [("PreferredFirstName", "John"), ("PreferredLastName", "Smith")];
    assert_eq!(
        expr.unique_candidates(&john).unwrap(),
        ["John.Smith@contoso.com", "J.Smith@contoso.com", "Jo.Smith@contoso.com"]
    );
    assert!(expr.selects_unique());
    // Alone (no other account in view) it gives the first rule's value.
    assert_eq!(expr.eval(&john), some("John.Smith@contoso.com"));
    // Null and empty rules and repeats are no candidates: a one-letter first name makes
    // rules 2 and 3 the same.
    let jo = [("PreferredFirstName", "J"), ("PreferredLastName", "Smith")];
    assert_eq!(expr.unique_candidates(&jo).unwrap(), ["J.Smith@contoso.com"]);
    let rules = Expr::parse(r#"SelectUniqueValue([a], [b], "")"#).unwrap();
    assert_eq!(rules.unique_candidates(&[("b", "x")]).unwrap(), ["x"]);
    assert_eq!(ev(r#"SelectUniqueValue([a], [b])"#, &[]), None);
    assert!(Expr::parse("ToLower([a])").unwrap().unique_candidates(&[("a", "x")]).is_none());
}

#[test]
fn redact_yields_its_value() {
    // [E-FN] Redact: the value is provisioned; Entra shows "[Redact]" in its logs.
    assert_eq!(ev("Redact([employeeId])", &[("employeeId", "E1001")]), some("E1001"));
    assert_eq!(ev("Redact([employeeId])", &[]), None);
}

#[test]
fn cdate_gives_utc_in_entras_format() {
    // [E-FN] CDate, examples 1 to 3.
    assert_eq!(ev("CDate([StatusHireDate])", &[("StatusHireDate", "2020-03-16-07:00")]), some("3/16/2020 7:00:00 AM"));
    assert_eq!(ev(r#"CDate("2021-06-30+08:00")"#, &[]), some("6/29/2021 4:00:00 PM"));
    assert_eq!(ev(r#"CDate("2009-06-15T01:45:30-07:00")"#, &[]), some("6/15/2009 8:45:30 AM"));
    // Entra's own output form reads back; nonsense and impossible dates are null.
    assert_eq!(ev(r#"CDate("8/25/2021 5:41:18 PM")"#, &[]), some("8/25/2021 5:41:18 PM"));
    assert_eq!(ev(r#"CDate("2021-02-30")"#, &[]), None);
    assert_eq!(ev(r#"CDate("soon")"#, &[]), None);
    assert_eq!(ev("CDate([missing])", &[]), None);
}

#[test]
fn date_add_with_every_interval_of_the_reference() {
    // [E-FN] DateAdd, example 1's table: StatusHireDate 2012-03-16-07:00.
    let hire = [("StatusHireDate", "2012-03-16-07:00")];
    for (interval, n, out) in [
        ("d", "7", "3/23/2012 7:00:00 AM"),
        ("d", "-10", "3/6/2012 7:00:00 AM"),
        ("ww", "2", "3/30/2012 7:00:00 AM"),
        ("m", "10", "1/16/2013 7:00:00 AM"),
        ("yyyy", "2", "3/16/2014 7:00:00 AM"),
    ] {
        let e = format!(r#"DateAdd("{interval}", {n}, CDate([StatusHireDate]))"#);
        assert_eq!(ev(&e, &hire), some(out), "{e}");
    }
    assert_eq!(ev(r#"DateAdd("m", 1, CDate("2021-01-31"))"#, &[]), some("2/28/2021 12:00:00 AM"));
    assert_eq!(ev(r#"DateAdd("h", 1, CDate("2021-01-31"))"#, &[]), some("1/31/2021 1:00:00 AM"));
    assert_eq!(ev(r#"DateAdd("q", 1, CDate("2021-01-31"))"#, &[]), None, "not an interval");
}

#[test]
fn date_diff_with_every_row_of_the_reference() {
    // [E-FN] DateDiff, example 1's table.
    for (interval, d1, d2, out) in [
        ("d", "2021-08-18+08:00", "2021-08-31+08:00", "13"),
        ("d", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", "-3449"),
        ("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", "-493"),
        ("m", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", "-113"),
        ("yyyy", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", "-9"),
        ("d", "2021-08-31+08:00", "2021-08-31+08:00", "0"),
        ("h", "2021-08-24", "2021-08-25", "24"),
        ("n", "2021-08-24", "2021-08-25", "1440"),
        ("s", "2021-08-24", "2021-08-25", "86400"),
    ] {
        let e = format!(r#"DateDiff("{interval}", CDate("{d1}"), CDate("{d2}"))"#);
        assert_eq!(ev(&e, &[]), some(out), "{e}");
    }
    // [E-FN] DateDiff example 2 (pre-hire provisioning), with a fixed date for Now().
    let e = r#"IIF(DateDiff("d", CDate([today]), CDate([StatusHireDate])) > 5, "False", "True")"#;
    assert_eq!(ev(e, &[("today", "2021-08-18"), ("StatusHireDate", "2021-08-31")]), some("False"));
    assert_eq!(ev(e, &[("today", "2021-08-28"), ("StatusHireDate", "2021-08-31")]), some("True"));
}

#[test]
fn date_from_num_and_num_from_date() {
    // [E-FN] DateFromNum(129699324000000000) is January 1, 2012 at 11:00 PM.
    assert_eq!(ev("DateFromNum(129699324000000000)", &[]), some("1/1/2012 11:00:00 PM"));
    assert_eq!(ev("NumFromDate(\"2012-01-01T23:00:00Z\")", &[]), some("129699324000000000"));
    // [E-FN] NumFromDate's Workday example: ContractEndDate 2020-12-31-08:00, the end of
    // that day at -08:00 as an AD date (2021-01-01 07:59:59 UTC).
    let e = r#"NumFromDate(Join("", FormatDateTime([ContractEndDate], , "yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))"#;
    assert_eq!(ev(e, &[("ContractEndDate", "2020-12-31-08:00")]), some("132539615990000000"));
    // [E-FN] The SuccessFactors example, endDate in M/d/yyyy hh:mm:ss tt.
    let e =
        r#"NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")," 23:59:59-08:00"))"#;
    assert_eq!(ev(e, &[("endDate", "12/31/2020 09:30:00 AM")]), some("132539615990000000"));
}

#[test]
fn format_date_time() {
    // [E-FN] FormatDateTime: "20150123105347.1Z" with "yyyyMMddHHmmss.fZ" to "yyyy-MM-dd".
    let e = r#"FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#;
    assert_eq!(ev(e, &[("extensionAttribute1", "20150123105347.1Z")]), some("2015-01-23"));
    assert_eq!(ev(e, &[("extensionAttribute1", "2015-01-23")]), None, "does not fit the input format");
    assert_eq!(
        ev(r#"FormatDateTime("2015-01-23 10:53", , "yyyy-MM-dd HH:mm", "dddd, MMMM d, yyyy h:mm tt")"#, &[]),
        some("Friday, January 23, 2015 10:53 AM")
    );
}

/// A person with roles, a default domain and a plan time, as desired state builds them.
struct Planned(&'static [(&'static str, &'static str)], &'static [&'static str]);

impl crate::expr::Record for Planned {
    fn get(&self, attribute: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| *k == attribute).map(|&(_, v)| v)
    }
    fn app_roles(&self) -> Vec<&str> {
        self.1.to_vec()
    }
    fn default_domain(&self) -> Option<&str> {
        Some("acme.example")
    }
    fn now(&self) -> Option<&str> {
        Some("8/18/2021 12:00:00 AM")
    }
}

fn ev_planned(src: &str, p: &Planned) -> Option<String> {
    Expr::parse(src).unwrap_or_else(|e| panic!("{src}: {e:#?}")).eval(p)
}

#[test]
fn now_is_the_plans_time() {
    // [E-FN] DateDiff example 2: pre-hire provisioning, hire date within the next five days.
    let e = r#"Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True"), "0", "False")"#;
    let later = Planned(&[("Active", "1"), ("StatusHireDate", "2021-08-31+08:00")], &[]);
    let soon = Planned(&[("Active", "1"), ("StatusHireDate", "2021-08-20")], &[]);
    assert_eq!(ev_planned(e, &later), some("False"));
    assert_eq!(ev_planned(e, &soon), some("True"));
    assert_eq!(ev_planned("Now()", &later), some("8/18/2021 12:00:00 AM"));
    // Outside a plan (validate, diff) there is no time: null.
    assert_eq!(ev("Now()", &[]), None);
}

#[test]
fn default_domain_and_app_role_functions_see_the_manifest() {
    let p = Planned(&[("givenName", "Ann")], &["admin", "organizer"]);
    // DefaultDomain (newer reference text, [DIFF]): rollcall's is the first scope domain.
    assert_eq!(ev_planned(r#"Join("@", ToLower([givenName]), DefaultDomain())"#, &p), some("ann@acme.example"));
    // [E-FN] SingleAppRoleAssignment([appRoleAssignments]): one role; of several, Entra
    // gives no guarantee which, rollcall the first by name.
    assert_eq!(ev_planned("SingleAppRoleAssignment([appRoleAssignments])", &p), some("admin"));
    assert_eq!(ev_planned("SingleAppRoleAssignment([appRoleAssignments])", &Planned(&[], &[])), None);
    // AppRoleAssignmentsComplex: every role, a multi-valued source.
    assert_eq!(
        ev_planned(r#"Join(";", AppRoleAssignmentsComplex([appRoleAssignments]))"#, &p),
        some("admin;organizer")
    );
    assert_eq!(ev_planned("Count(AppRoleAssignmentsComplex([appRoleAssignments]))", &p), some("2"));
    // `[appRoleAssignments]` is not a directory attribute: it is not reported as unknown.
    assert!(Expr::parse("SingleAppRoleAssignment([appRoleAssignments])").unwrap().references().is_empty());
}
