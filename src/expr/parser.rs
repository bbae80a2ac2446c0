//! Recursive-descent parser and the checks made once the syntax is fine.
//!
//! Grammar (whitespace allowed between tokens):
//!
//! ```text
//! expr    := operand (cmp operand)?           cmp := = | <> | > | >= | < | <=
//! operand := STRING | NUMBER | [ATTRIBUTE] | NAME "(" args? ")"
//! args    := arg ("," arg)*                   arg := expr | (nothing)
//! ```

use std::ops::Range;

use super::functions::Func;
use super::lexer::{Lexer, Tok};
use super::{Call, Cmp, ExprError, ExprErrorCode, Kind, MAX_DEPTH, MAX_LEN, Node, Prepared, ReplaceForm};

pub(super) fn parse(src: &str) -> Result<Node, Vec<ExprError>> {
    if src.len() > MAX_LEN
        && let Some((cut, _)) = src.char_indices().nth(MAX_LEN)
    {
        return Err(vec![
            ExprError::syntax(format!("the expression is longer than {MAX_LEN} characters"), cut..src.len())
                .with_help(format!("Entra's maximum is {MAX_LEN} characters; split the logic over several mappings")),
        ]);
    }
    let mut p = Parser { src, lexer: Lexer::new(src), tok: Tok::Eof, span: 0..0, errors: Vec::new() };
    let root = p.root().map_err(|e| vec![e])?;
    if !p.errors.is_empty() {
        // Inner calls are checked before the calls around them: report in source order.
        p.errors.sort_by_key(|e| e.span.start);
        return Err(p.errors);
    }
    let mut errors = Vec::new();
    check_split(&root, false, &mut errors);
    if let Kind::Call(call) = &root.kind {
        call.args.iter().for_each(|a| check_unique_nested(a, &mut errors));
    }
    if errors.is_empty() { Ok(root) } else { Err(errors) }
}

struct Parser<'s> {
    src: &'s str,
    lexer: Lexer<'s>,
    /// The current token and its byte range.
    tok: Tok,
    span: Range<usize>,
    /// Unknown functions and wrong argument counts, reported when the syntax is fine.
    errors: Vec<ExprError>,
}

type PResult<T> = Result<T, ExprError>;

impl Parser<'_> {
    fn advance(&mut self) -> PResult<()> {
        let (tok, span) = self.lexer.next_token()?;
        self.tok = tok;
        self.span = span;
        Ok(())
    }

    fn found(&self) -> String {
        self.tok.describe(self.src, &self.span)
    }

    fn root(&mut self) -> PResult<Node> {
        self.advance()?;
        if self.tok == Tok::Eof {
            return Err(ExprError::syntax("empty expression", 0..self.src.len())
                .with_help("write an attribute such as [mail], a string such as \"text\", or a function call"));
        }
        let node = self.expr(0)?;
        if self.tok != Tok::Eof {
            let err = ExprError::syntax(
                format!("expected the end of the expression, found {}", self.found()),
                self.span.clone(),
            );
            return Err(self.and_or_help(err));
        }
        Ok(node)
    }

    /// Help for `AND` / `OR`, which Entra's language does not have.
    fn and_or_help(&self, err: ExprError) -> ExprError {
        match &self.tok {
            Tok::Ident(word) if word.eq_ignore_ascii_case("and") => {
                err.with_help("there is no AND: nest IIFs along the true branch, IIF(a, IIF(b, x, y), y)")
            }
            Tok::Ident(word) if word.eq_ignore_ascii_case("or") => {
                err.with_help("there is no OR: nest IIFs along the false branch, IIF(a, x, IIF(b, x, y))")
            }
            Tok::Cmp(_) => err.with_help("compare two values at a time; nest IIFs to combine conditions"),
            _ => err,
        }
    }

    /// `depth` is the number of calls enclosing this expression.
    fn expr(&mut self, depth: usize) -> PResult<Node> {
        let lhs = self.operand(depth)?;
        let Tok::Cmp(op) = self.tok else {
            return Ok(lhs);
        };
        self.advance()?;
        let rhs = self.operand(depth)?;
        if let Tok::Cmp(_) = self.tok {
            return Err(ExprError::syntax("comparisons cannot be chained", self.span.clone())
                .with_help("compare two values at a time; nest IIFs to combine conditions"));
        }
        let span = lhs.span.start..rhs.span.end;
        Ok(Node { kind: Kind::Cmp(Box::new(Cmp { op, lhs, rhs })), span })
    }

    fn operand(&mut self, depth: usize) -> PResult<Node> {
        let span = self.span.clone();
        let kind = match &mut self.tok {
            Tok::Str(s) => Kind::Str(std::mem::take(s)),
            Tok::Num(v) => Kind::Num(*v, v.to_string()),
            Tok::Decimal(text) => {
                let whole = text.split('.').next().and_then(|w| w.parse().ok()).unwrap_or(0);
                Kind::Num(whole, std::mem::take(text))
            }
            Tok::Attr(name) => Kind::Attr(std::mem::take(name)),
            // InStr's compare modes, VBA's named constants.
            Tok::Ident(name) if name == "vbBinaryCompare" || name == "vbTextCompare" => {
                Kind::Num(i64::from(name == "vbTextCompare"), std::mem::take(name))
            }
            Tok::Ident(name) => {
                let name = std::mem::take(name);
                return self.call(name, span, depth);
            }
            Tok::LParen => {
                return Err(ExprError::syntax("unexpected `(`", span)
                    .with_help("parentheses only follow a function name; there is no grouping"));
            }
            _ => {
                return Err(ExprError::syntax(format!("expected a value, found {}", self.found()), span));
            }
        };
        self.advance()?;
        Ok(Node { kind, span })
    }

    fn call(&mut self, name: String, name_span: Range<usize>, depth: usize) -> PResult<Node> {
        self.advance()?;
        if self.tok != Tok::LParen {
            let err = ExprError::syntax(format!("expected `(` after the function name `{name}`"), name_span);
            return Err(match name.as_str() {
                "True" | "False" | "true" | "false" => {
                    err.with_help(format!("booleans are the strings \"True\" and \"False\": write \"{name}\""))
                }
                "AND" | "OR" | "And" | "Or" | "and" | "or" => err.with_help("there is no AND/OR: nest IIFs instead"),
                _ => err.with_help("a bare word must be a function call; write text in double quotes"),
            });
        }
        if depth >= MAX_DEPTH {
            return Err(ExprError::syntax(format!("function calls are nested more than {MAX_DEPTH} deep"), name_span));
        }
        let open = self.span.clone();
        self.advance()?;
        let mut args = Vec::new();
        let end;
        if self.tok == Tok::RParen {
            end = self.span.end;
            self.advance()?;
        } else {
            loop {
                if matches!(self.tok, Tok::Comma | Tok::RParen) {
                    let at = self.span.start;
                    args.push(Node { kind: Kind::Omitted, span: at..at });
                } else {
                    args.push(self.expr(depth + 1)?);
                }
                match self.tok {
                    Tok::Comma => self.advance()?,
                    Tok::RParen => {
                        end = self.span.end;
                        self.advance()?;
                        break;
                    }
                    Tok::Eof => {
                        return Err(ExprError::syntax(
                            format!("missing `)`: the call to `{name}` is not closed"),
                            self.span.clone(),
                        )
                        .with_help(format!("close the `(` at offset {} with `)`", open.start)));
                    }
                    _ => {
                        let err = ExprError::syntax(
                            format!("expected `,` or `)` after an argument of `{name}`, found {}", self.found()),
                            self.span.clone(),
                        );
                        return Err(self.and_or_help(err));
                    }
                }
            }
        }
        let span = name_span.start..end;
        Ok(self.resolve(name, name_span, args, span))
    }

    /// Checks a call whose syntax is fine; unknown functions and wrong argument
    /// counts are collected in `self.errors` (the node returned is then a stand-in).
    fn resolve(&mut self, name: String, name_span: Range<usize>, args: Vec<Node>, span: Range<usize>) -> Node {
        // What a call with errors leaves in the tree, which is then never returned.
        // An attribute: it cannot set off further errors in the calls around it
        // (an empty argument, a Replace form, a regex group check).
        let stand_in = Node { kind: Kind::Attr(String::new()), span: span.clone() };
        let Some(func) = Func::lookup(&name) else {
            self.errors.push(unknown_function(&name, name_span));
            return stand_in;
        };
        let arity = func.arity();
        if !arity.accepts(args.len()) {
            let mut err = ExprError::new(
                ExprErrorCode::ArgumentCount,
                format!(
                    "`{name}` takes {}, but {} given",
                    arity.describe(),
                    match args.len() {
                        0 => "none was".to_string(),
                        1 => "1 was".to_string(),
                        n => format!("{n} were"),
                    }
                ),
                span,
            );
            err.help = signature_help(func).map(str::to_string);
            self.errors.push(err);
            return stand_in;
        }
        let before = self.errors.len();
        for (i, arg) in args.iter().enumerate() {
            if arg.kind == Kind::Omitted && !func.may_omit(i) {
                let mut err = ExprError::new(
                    ExprErrorCode::ArgumentCount,
                    format!("argument {} of `{name}` is empty", i + 1),
                    span.clone(),
                );
                err.help = signature_help(func).map(str::to_string);
                self.errors.push(err);
                break;
            }
        }
        let prepared = match func {
            Func::Replace => match self.prepare_replace(&args, &span) {
                Some(p) => p,
                None => return stand_in,
            },
            _ => Prepared::None,
        };
        if self.errors.len() > before {
            return stand_in;
        }
        Node { kind: Kind::Call(Box::new(Call { func, args, prepared })), span }
    }

    fn prepare_replace(&mut self, args: &[Node], span: &Range<usize>) -> Option<Prepared> {
        let given = |i: usize| args.get(i).is_some_and(|a| a.kind != Kind::Omitted);
        // source, oldValue, regexPattern, regexGroupName, replacementValue,
        // replacementAttributeName, template
        let pattern: [bool; 6] = [given(1), given(2), given(3), given(4), given(5), given(6)];
        let form = match pattern {
            [true, false, false, true, false, false] => ReplaceForm::Literal,
            [true, false, false, false, false, true] => ReplaceForm::Template,
            [false, true, false, true, false, false] => ReplaceForm::Regex,
            [false, true, true, true, false, false] => ReplaceForm::RegexGroup,
            [false, true, true, false, true, false] => ReplaceForm::RegexFallback,
            _ => {
                self.errors.push(
                    ExprError::new(
                        ExprErrorCode::ArgumentCount,
                        "`Replace` is given a combination of arguments that is none of its forms",
                        span.clone(),
                    )
                    .with_help(REPLACE_FORMS),
                );
                return None;
            }
        };
        let mut regex = None;
        if matches!(form, ReplaceForm::Regex | ReplaceForm::RegexGroup | ReplaceForm::RegexFallback)
            && let Kind::Str(pattern) = &args[2].kind
        {
            match regex::Regex::new(pattern) {
                Ok(re) => {
                    if let Kind::Str(group) = &args[3].kind
                        && form != ReplaceForm::Regex
                        && !re.capture_names().any(|n| n == Some(group.as_str()))
                    {
                        self.errors.push(
                            ExprError::syntax(
                                format!("the regular expression has no group named `{group}`"),
                                args[3].span.clone(),
                            )
                            .with_help("name a group in the pattern with (?<name>...)"),
                        );
                        return None;
                    }
                    regex = Some(re);
                }
                Err(e) => {
                    self.errors.push(
                        ExprError::syntax("the regular expression does not compile", args[2].span.clone())
                            .with_help(regex_error_help(&e)),
                    );
                    return None;
                }
            }
        }
        Some(Prepared::Replace { form, regex })
    }
}

const REPLACE_FORMS: &str = "Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template) takes one of: oldValue + replacementValue; oldValue + template; regexPattern + replacementValue; regexPattern + regexGroupName + replacementValue; regexPattern + regexGroupName + replacementAttributeName (leave the other arguments empty)";

fn signature_help(func: Func) -> Option<&'static str> {
    Some(match func {
        Func::Append => "Append(source, suffix)",
        Func::BitAnd => "BitAnd(value1, value2)",
        Func::DateAdd => "DateAdd(interval, number, dateTime): interval is yyyy, m, d, ww, h, n or s",
        Func::DateDiff => "DateDiff(interval, date1, date2): interval is yyyy, m, d, ww, h, n or s",
        Func::FormatDateTime => {
            "FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat): dateTimeStyles may be left empty"
        }
        Func::Guid => "Guid() takes no arguments",
        Func::InStr => {
            "InStr(value1, value2, start, compareType): start and compareType (vbBinaryCompare or vbTextCompare) are optional"
        }
        Func::Item => "Item(Split(source, delimiter), index), index from 1",
        Func::RandomString => {
            "RandomString(length, minNumbers, minSpecialCharacters, minCapitals, minLowerCase, charactersToAvoid)"
        }
        Func::CBool | Func::CStr | Func::IgnoreFlowIfNullOrEmpty | Func::IsNull => return None,
        Func::Coalesce => "Coalesce(source1, source2, ..., defaultValue)",
        Func::Iif => "IIF(condition, valueIfTrue, valueIfFalse)",
        Func::Join => "Join(separator, source1, source2, ...)",
        Func::Left => "Left(string, numChars)",
        Func::Mid => "Mid(source, start, length)",
        Func::PCase => "PCase(source) or PCase(source, wordSeparators)",
        Func::Replace => REPLACE_FORMS,
        Func::Split => "Split(source, delimiter), used as an argument of Join, Count, Item or RemoveDuplicates",
        Func::Switch => "Switch(source, defaultValue, key1, value1, key2, value2, ...)",
        Func::ToLower => "ToLower(source) or ToLower(source, culture)",
        Func::ToUpper => "ToUpper(source) or ToUpper(source, culture)",
        Func::Word => "Word(string, wordNumber, delimiters)",
        Func::SelectUniqueValue => {
            "SelectUniqueValue(rule1, rule2, ...): at least 2 rules, the first value no other account holds"
        }
        _ => return None,
    })
}

fn regex_error_help(e: &regex::Error) -> String {
    let text = e.to_string();
    let detail = text.lines().find_map(|l| l.strip_prefix("error: ")).unwrap_or(text.lines().last().unwrap_or(""));
    format!(
        "{detail} (rollcall uses Rust regex syntax: named groups (?<name>...) work; look-around and backreferences do not)"
    )
}

fn unknown_function(name: &str, span: Range<usize>) -> ExprError {
    let err = ExprError::new(ExprErrorCode::UnknownFunction, format!("unknown function `{name}`"), span);
    match suggest(name) {
        Some(best) => err.with_help(format!("did you mean `{best}`?")),
        None => err,
    }
}

/// The closest supported name, if one is close enough.
fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if let Some(exact) = super::function_names().iter().find(|n| n.eq_ignore_ascii_case(name)) {
        return Some(exact);
    }
    let (best, distance) = super::function_names()
        .iter()
        .map(|n| (*n, strsim::damerau_levenshtein(&lower, &n.to_ascii_lowercase())))
        .min_by_key(|&(_, d)| d)?;
    let allowed = (name.chars().count() / 3).clamp(1, 3);
    (distance <= allowed).then_some(best)
}

/// `SelectUniqueValue` decides among the accounts of the whole target, so it must be the
/// whole expression (as in Entra): anywhere below the top it is an error.
fn check_unique_nested(node: &Node, errors: &mut Vec<ExprError>) {
    match &node.kind {
        Kind::Call(call) => {
            if call.func == Func::SelectUniqueValue {
                errors.push(
                    ExprError::new(
                        ExprErrorCode::Placement,
                        "`SelectUniqueValue` must be the whole expression, not inside another",
                        node.span.clone(),
                    )
                    .with_help(
                        "move the other functions into its rules: SelectUniqueValue(ToLower(rule1), ToLower(rule2))",
                    ),
                );
            }
            call.args.iter().for_each(|a| check_unique_nested(a, errors));
        }
        Kind::Cmp(cmp) => {
            check_unique_nested(&cmp.lhs, errors);
            check_unique_nested(&cmp.rhs, errors);
        }
        Kind::Attr(_) | Kind::Str(_) | Kind::Num(..) | Kind::Omitted => {}
    }
}

/// `Split` yields several values, which only `Join` can take (as a source).
fn check_split(node: &Node, allowed: bool, errors: &mut Vec<ExprError>) {
    match &node.kind {
        Kind::Call(call) => {
            if super::eval::is_multi(call.func) && !allowed {
                errors.push(
                    ExprError::syntax(
                        format!("`{}` can only be used as a source of `Join`, `Count`, `Item` or `RemoveDuplicates`", call.func.name()),
                        node.span.clone(),
                    )
                    .with_help(
                        "it gives several values and a rollcall attribute has one: Join(\",\", Split([a], \";\")) re-joins the pieces",
                    ),
                );
            }
            for (i, arg) in call.args.iter().enumerate() {
                let takes_several = match call.func {
                    Func::Join => i >= 1,
                    Func::Count | Func::Item | Func::RemoveDuplicates => i == 0,
                    Func::SingleAppRoleAssignment | Func::AppRoleAssignmentsComplex => true,
                    _ => false,
                };
                check_split(arg, takes_several, errors);
            }
        }
        Kind::Cmp(cmp) => {
            check_split(&cmp.lhs, false, errors);
            check_split(&cmp.rhs, false, errors);
        }
        Kind::Attr(_) | Kind::Str(_) | Kind::Num(..) | Kind::Omitted => {}
    }
}
