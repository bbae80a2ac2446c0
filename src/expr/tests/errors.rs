//! Error reports: codes, messages, help and spans. Each snapshot shows the
//! source, a caret line under the exact characters the span covers, the
//! code, the byte range, the message and the help.

use super::render_errors;

fn render(sources: &[&str]) -> String {
    sources.iter().map(|s| render_errors(s)).collect()
}

#[test]
fn empty_input() {
    insta::assert_snapshot!(render(&[r#""#]), @r#"
    | 
    | ^
    rollcall::expression-syntax 0..0: empty expression
    help: write an attribute such as [mail], a string such as "text", or a function call
    "#);
}

#[test]
fn unterminated_string() {
    insta::assert_snapshot!(render(&[r#"ToLower("abc)"#]), @r#"
    | ToLower("abc)
    |         ^^^^^
    rollcall::expression-syntax 8..13: unterminated string
    help: close the string with `"`; write `\"` for a quote inside it
    "#);
}

#[test]
fn unknown_escape() {
    insta::assert_snapshot!(render(&[r#"Replace([a], , "\d", , "", , )"#]), @r#"
    | Replace([a], , "\d", , "", , )
    |                 ^^
    rollcall::expression-syntax 16..18: unknown escape `\d` in a string
    help: only `\"` and `\\` are escapes: write `\\` for a backslash (regular expressions too: "\\d")
    "#);
}

#[test]
fn missing_close_paren() {
    insta::assert_snapshot!(render(&[r#"ToLower([mail]"#, r#"Join(" ", [a], ToLower([b]"#]), @r#"
    | ToLower([mail]
    |               ^
    rollcall::expression-syntax 14..14: missing `)`: the call to `ToLower` is not closed
    help: close the `(` at offset 7 with `)`
    | Join(" ", [a], ToLower([b]
    |                           ^
    rollcall::expression-syntax 26..26: missing `)`: the call to `ToLower` is not closed
    help: close the `(` at offset 22 with `)`
    "#);
}

#[test]
fn stray_tokens() {
    insta::assert_snapshot!(render(&[r#"ToLower([mail]))"#, r#"[a] [b]"#, r#"ToLower(([a]))"#, r#"IIF([a]=, 1, 2)"#]), @r#"
    | ToLower([mail]))
    |                ^
    rollcall::expression-syntax 15..16: expected the end of the expression, found `)`
    | [a] [b]
    |     ^^^
    rollcall::expression-syntax 4..7: expected the end of the expression, found the attribute `[b]`
    | ToLower(([a]))
    |         ^
    rollcall::expression-syntax 8..9: unexpected `(`
    help: parentheses only follow a function name; there is no grouping
    | IIF([a]=, 1, 2)
    |         ^
    rollcall::expression-syntax 8..9: expected a value, found `,`
    "#);
}

#[test]
fn unterminated_and_empty_attributes() {
    insta::assert_snapshot!(render(&[r#"[abc"#, r#"ToLower([abc)"#, r#"[]"#, r#"[ givenName ]"#]), @r#"
    | [abc
    | ^^^^
    rollcall::expression-syntax 0..4: unterminated attribute reference
    help: close it with `]`: [attributeName]
    | ToLower([abc)
    |         ^^^^^
    rollcall::expression-syntax 8..13: unterminated attribute reference
    help: close it with `]`: [attributeName]
    | []
    | ^^
    rollcall::expression-syntax 0..2: empty attribute reference
    help: name an attribute: [attributeName]
    | [ givenName ]
    | ^^^^^^^^^^^^^
    rollcall::expression-syntax 0..13: attribute name ` givenName ` has leading or trailing spaces
    help: write [givenName]
    "#);
}

#[test]
fn operators() {
    insta::assert_snapshot!(render(&[r#"IIF([a]="x" AND [b]="y", "1", "0")"#, r#"IIF([a]="x"=[b], "1", "0")"#, r#"[a] == "b""#, r#"[a] != "b""#, r#"Append([a], & "x")"#]), @r#"
    | IIF([a]="x" AND [b]="y", "1", "0")
    |             ^^^
    rollcall::expression-syntax 12..15: expected `,` or `)` after an argument of `IIF`, found `AND`
    help: there is no AND: nest IIFs along the true branch, IIF(a, IIF(b, x, y), y)
    | IIF([a]="x"=[b], "1", "0")
    |            ^
    rollcall::expression-syntax 11..12: comparisons cannot be chained
    help: compare two values at a time; nest IIFs to combine conditions
    | [a] == "b"
    |     ^^
    rollcall::expression-syntax 4..6: `==` is not an operator
    help: write a single `=` to compare
    | [a] != "b"
    |     ^^
    rollcall::expression-syntax 4..6: `!=` is not an operator
    help: write `<>` for "not equal"
    | Append([a], & "x")
    |             ^
    rollcall::expression-syntax 12..13: unexpected character `&`
    help: the language has no arithmetic or `&` operator: use `Append` or `Join` to concatenate
    "#);
}

#[test]
fn bare_words() {
    insta::assert_snapshot!(render(&[r#"IIF(True, "a", "b")"#, r#"ToLower [a]"#]), @r#"
    | IIF(True, "a", "b")
    |     ^^^^
    rollcall::expression-syntax 4..8: expected `(` after the function name `True`
    help: booleans are the strings "True" and "False": write "True"
    | ToLower [a]
    | ^^^^^^^
    rollcall::expression-syntax 0..7: expected `(` after the function name `ToLower`
    help: a bare word must be a function call; write text in double quotes
    "#);
}

#[test]
fn numbers() {
    insta::assert_snapshot!(render(&[r#"Left([a], 1.5x)"#, r#"Left([a], 99999999999999999999)"#]), @r#"
    | Left([a], 1.5x)
    |           ^^^^
    rollcall::expression-syntax 10..14: `1.5x` is not a number
    help: numbers are written 3, -1, 2.5 or &HF7; write other values as strings
    | Left([a], 99999999999999999999)
    |           ^^^^^^^^^^^^^^^^^^^^
    rollcall::expression-syntax 10..30: number out of range
    help: numbers must fit in 64 bits; write long digit strings as strings
    "#);
}

#[test]
fn unknown_function_suggestions() {
    insta::assert_snapshot!(render(&[r#"toLower([mail])"#, r#"ToLowr([mail])"#, r#"Iif([a], 1, 2)"#]), @r#"
    | toLower([mail])
    | ^^^^^^^
    rollcall::unknown-function 0..7: unknown function `toLower`
    help: did you mean `ToLower`?
    | ToLowr([mail])
    | ^^^^^^
    rollcall::unknown-function 0..6: unknown function `ToLowr`
    help: did you mean `ToLower`?
    | Iif([a], 1, 2)
    | ^^^
    rollcall::unknown-function 0..3: unknown function `Iif`
    help: did you mean `IIF`?
    "#);
}

#[test]
fn every_semantic_error_is_reported() {
    insta::assert_snapshot!(render(&[r#"Join(" ", Frobnicate([a]), ToLowr([b]), Left([c]))"#]), @r#"
    | Join(" ", Frobnicate([a]), ToLowr([b]), Left([c]))
    |           ^^^^^^^^^^
    rollcall::unknown-function 10..20: unknown function `Frobnicate`
    | Join(" ", Frobnicate([a]), ToLowr([b]), Left([c]))
    |                            ^^^^^^
    rollcall::unknown-function 27..33: unknown function `ToLowr`
    help: did you mean `ToLower`?
    | Join(" ", Frobnicate([a]), ToLowr([b]), Left([c]))
    |                                         ^^^^^^^^^
    rollcall::argument-count 40..49: `Left` takes 2 arguments, but 1 was given
    help: Left(string, numChars)
    "#);
}

#[test]
fn select_unique_value_needs_two_rules_and_the_top() {
    // [E-FN] SelectUniqueValue: "Requires a minimum of two arguments"; "must be at the
    // top-level and cannot be nested". (Not on a matching attribute: checked by config.)
    insta::assert_snapshot!(render(&[r#"SelectUniqueValue([a])"#, r#"ToLower(SelectUniqueValue([a], [b]))"#, r#"SelectUniqueValue([a], Coalesce(SelectUniqueValue([a], [b]), [b]))"#]), @r#"
    | SelectUniqueValue([a])
    | ^^^^^^^^^^^^^^^^^^^^^^
    rollcall::argument-count 0..22: `SelectUniqueValue` takes at least 2 arguments, but 1 was given
    help: SelectUniqueValue(rule1, rule2, ...): at least 2 rules, the first value no other account holds
    | ToLower(SelectUniqueValue([a], [b]))
    |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^
    rollcall::unique-value-placement 8..35: `SelectUniqueValue` must be the whole expression, not inside another
    help: move the other functions into its rules: SelectUniqueValue(ToLower(rule1), ToLower(rule2))
    | SelectUniqueValue([a], Coalesce(SelectUniqueValue([a], [b]), [b]))
    |                                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^
    rollcall::unique-value-placement 32..59: `SelectUniqueValue` must be the whole expression, not inside another
    help: move the other functions into its rules: SelectUniqueValue(ToLower(rule1), ToLower(rule2))
    "#);
}

#[test]
fn argument_counts() {
    insta::assert_snapshot!(render(&[r#"Left([a])"#, r#"Switch([a], "d", "k")"#, r#"IIF([a]="x", "y")"#, r#"ToLower()"#, r#"Append([a], )"#, r#"Replace([a], "x")"#]), @r#"
    | Left([a])
    | ^^^^^^^^^
    rollcall::argument-count 0..9: `Left` takes 2 arguments, but 1 was given
    help: Left(string, numChars)
    | Switch([a], "d", "k")
    | ^^^^^^^^^^^^^^^^^^^^^
    rollcall::argument-count 0..21: `Switch` takes an even number of arguments, at least 4, but 3 were given
    help: Switch(source, defaultValue, key1, value1, key2, value2, ...)
    | IIF([a]="x", "y")
    | ^^^^^^^^^^^^^^^^^
    rollcall::argument-count 0..17: `IIF` takes 3 arguments, but 2 were given
    help: IIF(condition, valueIfTrue, valueIfFalse)
    | ToLower()
    | ^^^^^^^^^
    rollcall::argument-count 0..9: `ToLower` takes 1 or 2 arguments, but none was given
    help: ToLower(source) or ToLower(source, culture)
    | Append([a], )
    | ^^^^^^^^^^^^^
    rollcall::argument-count 0..13: argument 2 of `Append` is empty
    help: Append(source, suffix)
    | Replace([a], "x")
    | ^^^^^^^^^^^^^^^^^
    rollcall::argument-count 0..17: `Replace` takes 3 to 7 arguments, but 2 were given
    help: Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template) takes one of: oldValue + replacementValue; oldValue + template; regexPattern + replacementValue; regexPattern + regexGroupName + replacementValue; regexPattern + regexGroupName + replacementAttributeName (leave the other arguments empty)
    "#);
}

#[test]
fn replace_forms_and_regexes() {
    insta::assert_snapshot!(render(&[r#"Replace([a], "x", "y", , "", , )"#, r#"Replace([a], , "(?<=x)a", , "", , )"#, r#"Replace([a], , "(?<x>a)", "y", "", , )"#]), @r#"
    | Replace([a], "x", "y", , "", , )
    | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    rollcall::argument-count 0..32: `Replace` is given a combination of arguments that is none of its forms
    help: Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template) takes one of: oldValue + replacementValue; oldValue + template; regexPattern + replacementValue; regexPattern + regexGroupName + replacementValue; regexPattern + regexGroupName + replacementAttributeName (leave the other arguments empty)
    | Replace([a], , "(?<=x)a", , "", , )
    |                ^^^^^^^^^
    rollcall::expression-syntax 15..24: the regular expression does not compile
    help: look-around, including look-ahead and look-behind, is not supported (rollcall uses Rust regex syntax: named groups (?<name>...) work; look-around and backreferences do not)
    | Replace([a], , "(?<x>a)", "y", "", , )
    |                           ^^^
    rollcall::expression-syntax 26..29: the regular expression has no group named `y`
    help: name a group in the pattern with (?<name>...)
    "#);
}

#[test]
fn split_outside_join() {
    insta::assert_snapshot!(render(&[r#"ToLower(Split([a], ","))"#, r#"Split([a], ",")"#]), @r#"
    | ToLower(Split([a], ","))
    |         ^^^^^^^^^^^^^^^
    rollcall::expression-syntax 8..23: `Split` can only be used as a source of `Join`, `Count`, `Item` or `RemoveDuplicates`
    help: it gives several values and a rollcall attribute has one: Join(",", Split([a], ";")) re-joins the pieces
    | Split([a], ",")
    | ^^^^^^^^^^^^^^^
    rollcall::expression-syntax 0..15: `Split` can only be used as a source of `Join`, `Count`, `Item` or `RemoveDuplicates`
    help: it gives several values and a rollcall attribute has one: Join(",", Split([a], ";")) re-joins the pieces
    "#);
}

#[test]
fn a_bad_call_sets_off_no_errors_in_the_calls_around_it() {
    insta::assert_snapshot!(render(&[r#"Append([a], Frobnicate())"#, r#"Replace([a], , "(?<g>x)", Left(1), "", , )"#]), @r#"
    | Append([a], Frobnicate())
    |             ^^^^^^^^^^
    rollcall::unknown-function 12..22: unknown function `Frobnicate`
    | Replace([a], , "(?<g>x)", Left(1), "", , )
    |                           ^^^^^^^
    rollcall::argument-count 26..33: `Left` takes 2 arguments, but 1 was given
    help: Left(string, numChars)
    "#);
}
