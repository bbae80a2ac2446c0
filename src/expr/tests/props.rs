//! Property tests: the parser never panics (on random text and on random token
//! soup), errors always carry a valid span, and printing a syntax tree then parsing
//! it gives the same tree.

use proptest::prelude::*;

use crate::expr::functions::Func;
use crate::expr::{Call, Cmp, CmpOp, Expr, Kind, Node, Prepared, ReplaceForm};

/// Parses `src` and checks what must hold whatever it is.
fn check(src: &str) {
    match Expr::parse(src) {
        Ok(expr) => {
            // Evaluating never panics either, on an empty or a full record.
            let _ = expr.eval(&Vec::new());
            let _ = expr.eval(&vec![("a", "Zoë O'Neil"), ("b", "10"), ("pat", "(")]);
            for (name, span) in expr.references() {
                assert_eq!(&src[span], format!("[{name}]"));
            }
            let printed = expr.to_string();
            let again = Expr::parse(&printed).unwrap_or_else(|e| panic!("{src:?} printed as {printed:?}: {e:?}"));
            assert_eq!(again, expr, "{src:?} printed as {printed:?}");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(e.span.start <= e.span.end && e.span.end <= src.len(), "{e:?}");
                assert!(src.is_char_boundary(e.span.start) && src.is_char_boundary(e.span.end));
                assert!(!e.message.is_empty());
            }
        }
    }
}

const TOKENS: &[&str] = &[
    "(",
    ")",
    ",",
    ", ,",
    "[a]",
    "[b]",
    "[",
    "]",
    "\"",
    "\"s\"",
    "\"\\\"\"",
    "\\",
    "\"\\d\"",
    "IIF",
    "ToLower",
    "Replace",
    "Switch",
    "Join",
    "Split",
    "Coalesce",
    "Left",
    "Mid",
    "Word",
    "Not",
    "IsNull",
    "PCase",
    "NormalizeDiacritics",
    "Guid",
    "toLower",
    "AND",
    "True",
    "=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "==",
    "!=",
    "-",
    "-1",
    "0",
    "3",
    "99999999999999999999",
    "1.5",
    " ",
    "\n",
    "é",
    "ё",
    "&",
    "'",
    "\"(?<g>x)\"",
    "\"(\"",
    "\"g\"",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|t| t.concat())
}

// ---------------------------------------------------------------------------
// Syntax trees

fn node(kind: Kind) -> Node {
    Node { kind, span: 0..0 }
}

fn call(func: Func, args: Vec<Node>) -> Node {
    let prepared = match func {
        Func::Replace => Prepared::Replace { form: ReplaceForm::Literal, regex: None },
        _ => Prepared::None,
    };
    node(Kind::Call(Box::new(Call { func, args, prepared })))
}

fn omitted() -> Node {
    node(Kind::Omitted)
}

fn leaf() -> impl Strategy<Value = Node> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_:.-]{0,12}".prop_map(|n| node(Kind::Attr(n))),
        any::<String>().prop_map(|s| node(Kind::Str(s))),
        "[\"\\\\a-z ]{0,6}".prop_map(|s| node(Kind::Str(s))),
        any::<i64>().prop_map(|v| node(Kind::Num(v, v.to_string()))),
    ]
}

const FIXED: &[(Func, usize)] = &[
    (Func::Append, 2),
    (Func::CBool, 1),
    (Func::ConvertToBase64, 1),
    (Func::ConvertToUtf8Hex, 1),
    (Func::CStr, 1),
    (Func::IgnoreFlowIfNullOrEmpty, 1),
    (Func::Iif, 3),
    (Func::IsNull, 1),
    (Func::IsNullOrEmpty, 1),
    (Func::IsPresent, 1),
    (Func::IsString, 1),
    (Func::Left, 2),
    (Func::Len, 1),
    (Func::Mid, 3),
    (Func::NormalizeDiacritics, 1),
    (Func::Not, 1),
    (Func::PCase, 1),
    (Func::PCase, 2),
    (Func::StripSpaces, 1),
    (Func::ToLower, 1),
    (Func::ToLower, 2),
    (Func::ToUpper, 1),
    (Func::ToUpper, 2),
    (Func::Trim, 1),
    (Func::Word, 3),
];

fn op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(&[CmpOp::Eq, CmpOp::Ne, CmpOp::Gt, CmpOp::Ge, CmpOp::Lt, CmpOp::Le][..])
}

/// A node or, `omittable` of the time, an empty argument.
fn maybe_omitted(inner: BoxedStrategy<Node>) -> impl Strategy<Value = Node> {
    prop_oneof![3 => inner, 1 => Just(omitted())]
}

fn replace(inner: BoxedStrategy<Node>) -> impl Strategy<Value = Node> {
    let pattern = prop_oneof![
        Just(node(Kind::Str("(?<g>[a-z]+)".into()))),
        Just(node(Kind::Str("a|b".into()))),
        Just(node(Kind::Attr("pat".into()))),
    ];
    let group = || Just(node(Kind::Str("g".into())));
    let pattern_with_group = Just(node(Kind::Str("(?<g>[a-z]+)".into())));
    let i = || inner.clone();
    // source, oldValue, regexPattern, regexGroupName, replacementValue,
    // replacementAttributeName, template
    prop_oneof![
        (i(), i(), i()).prop_map(|(s, o, r)| vec![s, o, omitted(), omitted(), r, omitted(), omitted()]),
        (i(), i(), i()).prop_map(|(s, o, t)| vec![s, o, omitted(), omitted(), omitted(), omitted(), t]),
        (i(), pattern, i()).prop_map(|(s, p, r)| vec![s, omitted(), p, omitted(), r, omitted(), omitted()]),
        (i(), pattern_with_group.clone(), group(), i()).prop_map(|(s, p, g, r)| vec![
            s,
            omitted(),
            p,
            g,
            r,
            omitted(),
            omitted()
        ]),
        (i(), pattern_with_group, group(), i()).prop_map(|(s, p, g, a)| vec![
            s,
            omitted(),
            p,
            g,
            omitted(),
            a,
            omitted()
        ]),
    ]
    .prop_map(|args| call(Func::Replace, args))
}

fn tree() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(4, 48, 8, |inner| {
        let fixed = prop::sample::select(FIXED).prop_flat_map({
            let inner = inner.clone();
            move |(func, n)| prop::collection::vec(inner.clone(), n).prop_map(move |args| call(func, args))
        });
        let operand = inner.clone().prop_filter("comparisons do not chain", |n| !matches!(n.kind, Kind::Cmp(_)));
        let cmp =
            (operand.clone(), op(), operand).prop_map(|(lhs, op, rhs)| node(Kind::Cmp(Box::new(Cmp { op, lhs, rhs }))));
        let coalesce =
            prop::collection::vec(maybe_omitted(inner.clone()), 2..5).prop_map(|args| call(Func::Coalesce, args));
        let split = (inner.clone(), inner.clone()).prop_map(|(s, d)| call(Func::Split, vec![s, d]));
        let source = prop_oneof![3 => maybe_omitted(inner.clone()), 1 => split];
        let join = (inner.clone(), prop::collection::vec(source, 1..4)).prop_map(|(sep, mut rest)| {
            rest.insert(0, sep);
            call(Func::Join, rest)
        });
        let switch =
            (inner.clone(), maybe_omitted(inner.clone()), prop::collection::vec((inner.clone(), inner.clone()), 1..3))
                .prop_map(|(source, default, pairs)| {
                    let mut args = vec![source, default];
                    for (k, v) in pairs {
                        args.push(k);
                        args.push(v);
                    }
                    call(Func::Switch, args)
                });
        prop_oneof![
            6 => fixed,
            2 => cmp,
            1 => coalesce,
            1 => join,
            1 => switch,
            1 => replace(inner.clone()),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parser_never_panics_on_text(src in any::<String>()) {
        check(&src);
    }

    #[test]
    fn parser_never_panics_on_syntax_characters(src in "[\\[\\]\"(),=<>!&a-zA-Z0-9 \\\\é-]{0,60}") {
        check(&src);
    }

    #[test]
    fn parser_never_panics_on_token_soup(src in soup()) {
        check(&src);
    }

    #[test]
    fn print_then_parse_gives_the_same_tree(root in tree()) {
        let expr = Expr { root };
        let printed = expr.to_string();
        let parsed = Expr::parse(&printed)
            .unwrap_or_else(|e| panic!("{printed}: {e:#?}"));
        prop_assert_eq!(&parsed, &expr, "printed: {}", printed);
        // Printing is canonical: printing the parsed tree gives the same text.
        prop_assert_eq!(parsed.to_string(), printed.clone());
        check(&printed);
    }
}

#[test]
fn length_limit() {
    let ok = format!("\"{}\"", "é".repeat(crate::expr::MAX_LEN - 2));
    assert!(Expr::parse(&ok).is_ok());
    let long = format!("\"{}\"", "é".repeat(crate::expr::MAX_LEN - 1));
    let errors = Expr::parse(&long).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, crate::expr::ExprErrorCode::Syntax);
    // The span covers the characters past the limit: here the closing quote.
    assert_eq!(&long[errors[0].span.clone()], "\"");
}

#[test]
fn depth_limit() {
    let nested = |n: usize| format!("{}[a]{}", "ToLower(".repeat(n), ")".repeat(n));
    assert!(Expr::parse(&nested(crate::expr::MAX_DEPTH)).is_ok());
    let errors = Expr::parse(&nested(crate::expr::MAX_DEPTH + 1)).unwrap_err();
    assert_eq!(errors.len(), 1);
    let at = "ToLower(".len() * crate::expr::MAX_DEPTH;
    assert_eq!(errors[0].span, at..at + "ToLower".len());
    // Far deeper input (within the length limit) is an error, not a stack overflow.
    let deep = format!("{}{}", "ToLower(".repeat(1200), ")".repeat(1200));
    assert!(Expr::parse(&deep).is_err());
    let deep = "IIF(".repeat(2400);
    assert!(Expr::parse(&deep).is_err());
}
