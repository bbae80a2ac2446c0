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

#[test]
fn redact_yields_its_value() {
    // [E-FN] Redact: the value is provisioned; Entra shows "[Redact]" in its logs.
    assert_eq!(ev("Redact([employeeId])", &[("employeeId", "E1001")]), some("E1001"));
    assert_eq!(ev("Redact([employeeId])", &[]), None);
}
