//! Tokens. The lexer is pulled by the parser one token at a time, so that the
//! error reported is always the first one in the source.

use std::ops::Range;

use super::{CmpOp, ExprError};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LParen,
    RParen,
    Comma,
    Cmp(CmpOp),
    /// A string literal, unescaped.
    Str(String),
    Num(i64),
    /// `42568.75`: the literal as written (Entra's decimal literals evaluate to their text).
    Decimal(String),
    /// `[name]`: the name.
    Attr(String),
    /// A bare word: a function name when followed by `(`.
    Ident(String),
    Eof,
}

impl Tok {
    /// How the token is named in error messages.
    pub(super) fn describe(&self, src: &str, span: &Range<usize>) -> String {
        match self {
            Tok::Eof => "the end of the expression".to_string(),
            Tok::Str(_) => "a string".to_string(),
            Tok::Num(_) | Tok::Decimal(_) => format!("the number `{}`", &src[span.clone()]),
            Tok::Attr(_) => format!("the attribute `{}`", &src[span.clone()]),
            _ => format!("`{}`", &src[span.clone()]),
        }
    }
}

pub(super) struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Lexer<'s> {
    pub(super) fn new(src: &'s str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_char_at(&self, offset: usize) -> Option<char> {
        self.src.get(self.pos + offset..)?.chars().next()
    }

    /// The next token and its byte range.
    pub(super) fn next_token(&mut self) -> Result<(Tok, Range<usize>), ExprError> {
        while let Some(c) = self.peek_char() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok((Tok::Eof, start..start));
        };
        let single = |lexer: &mut Self, tok: Tok, len: usize| {
            lexer.pos += len;
            Ok((tok, start..start + len))
        };
        match c {
            '(' => single(self, Tok::LParen, 1),
            ')' => single(self, Tok::RParen, 1),
            ',' => single(self, Tok::Comma, 1),
            '=' => {
                if self.peek_char_at(1) == Some('=') {
                    return Err(ExprError::syntax("`==` is not an operator", start..start + 2)
                        .with_help("write a single `=` to compare"));
                }
                single(self, Tok::Cmp(CmpOp::Eq), 1)
            }
            '<' => match self.peek_char_at(1) {
                Some('>') => single(self, Tok::Cmp(CmpOp::Ne), 2),
                Some('=') => single(self, Tok::Cmp(CmpOp::Le), 2),
                _ => single(self, Tok::Cmp(CmpOp::Lt), 1),
            },
            '>' => match self.peek_char_at(1) {
                Some('=') => single(self, Tok::Cmp(CmpOp::Ge), 2),
                _ => single(self, Tok::Cmp(CmpOp::Gt), 1),
            },
            '!' if self.peek_char_at(1) == Some('=') => {
                Err(ExprError::syntax("`!=` is not an operator", start..start + 2)
                    .with_help("write `<>` for \"not equal\""))
            }
            '"' => self.string(),
            '[' => self.attribute(),
            // VBA's hexadecimal literal, as in Entra's `BitAnd(&HF, &HF7)`.
            '&' if self.peek_char_at(1).is_some_and(|c| c == 'H' || c == 'h') => self.hex(start),
            '0'..='9' => self.number(start),
            '-' if self.peek_char_at(1).is_some_and(|c| c.is_ascii_digit()) => {
                self.pos += 1;
                self.number(start)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let len = self.src[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(self.src.len() - start);
                self.pos += len;
                Ok((Tok::Ident(self.src[start..start + len].to_string()), start..start + len))
            }
            c => {
                let span = start..start + c.len_utf8();
                let err = ExprError::syntax(format!("unexpected character `{c}`"), span);
                Err(match c {
                    '-' | '+' | '*' | '/' | '&' => err.with_help(
                        "the language has no arithmetic or `&` operator: use `Append` or `Join` to concatenate",
                    ),
                    '\'' => err.with_help("strings are written in double quotes: \"text\""),
                    ']' => err.with_help("attribute references are written `[name]`"),
                    _ => err,
                })
            }
        }
    }

    fn string(&mut self) -> Result<(Tok, Range<usize>), ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(ExprError::syntax("unterminated string", start..self.src.len())
                    .with_help("close the string with `\"`; write `\\\"` for a quote inside it"));
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok((Tok::Str(out), start..self.pos));
                }
                '\\' => match self.peek_char_at(1) {
                    Some(e @ ('"' | '\\')) => {
                        out.push(e);
                        self.pos += 2;
                    }
                    other => {
                        let end = self.pos + 1 + other.map_or(0, char::len_utf8);
                        return Err(ExprError::syntax(
                            format!("unknown escape `{}` in a string", &self.src[self.pos..end]),
                            self.pos..end,
                        )
                        .with_help(
                            "only `\\\"` and `\\\\` are escapes: write `\\\\` for a backslash (regular expressions too: \"\\\\d\")",
                        ));
                    }
                },
                c => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn attribute(&mut self) -> Result<(Tok, Range<usize>), ExprError> {
        let start = self.pos;
        let rest = &self.src[start + 1..];
        let Some(len) = rest.find([']', '[', '"', '\n', '\r']) else {
            return Err(ExprError::syntax("unterminated attribute reference", start..self.src.len())
                .with_help("close it with `]`: [attributeName]"));
        };
        if !rest[len..].starts_with(']') {
            return Err(ExprError::syntax("unterminated attribute reference", start..start + 1 + len)
                .with_help("close it with `]`: [attributeName]"));
        }
        let name = &rest[..len];
        let end = start + 1 + len + 1;
        if name.trim().is_empty() {
            return Err(ExprError::syntax("empty attribute reference", start..end)
                .with_help("name an attribute: [attributeName]"));
        }
        if name.trim() != name {
            return Err(ExprError::syntax(
                format!("attribute name `{name}` has leading or trailing spaces"),
                start..end,
            )
            .with_help(format!("write [{}]", name.trim())));
        }
        if let Some(c) = name.chars().find(|c| c.is_control()) {
            return Err(ExprError::syntax(format!("attribute name contains the control character {c:?}"), start..end));
        }
        self.pos = end;
        Ok((Tok::Attr(name.to_string()), start..end))
    }

    fn hex(&mut self, start: usize) -> Result<(Tok, Range<usize>), ExprError> {
        let digits = &self.src[start + 2..];
        let len = digits.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(digits.len());
        let end = start + 2 + len;
        let trailing = self.src[end..].chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_');
        if len == 0 || trailing {
            let bad_end =
                self.src[end..].find(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(self.src.len(), |n| end + n);
            return Err(ExprError::syntax(
                format!("`{}` is not a hexadecimal number", &self.src[start..bad_end]),
                start..bad_end,
            )
            .with_help("write hexadecimal numbers as &H followed by the digits 0-9, A-F, e.g. &HF7"));
        }
        self.pos = end;
        match i64::from_str_radix(&self.src[start + 2..end], 16) {
            Ok(v) => Ok((Tok::Num(v), start..end)),
            Err(_) => Err(ExprError::syntax("number out of range", start..end)
                .with_help("numbers must fit in 64 bits; write long digit strings as strings")),
        }
    }

    fn number(&mut self, start: usize) -> Result<(Tok, Range<usize>), ExprError> {
        let digits_start = self.pos;
        let len = self.src[digits_start..].find(|c: char| !c.is_ascii_digit()).unwrap_or(self.src.len() - digits_start);
        self.pos += len;
        // A decimal part: `42568.75` (Entra's `Len(42568.75)`).
        if self.peek_char() == Some('.') && self.peek_char_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            let frac = self.src[self.pos..].find(|c: char| !c.is_ascii_digit()).unwrap_or(self.src.len() - self.pos);
            self.pos += frac;
            if !self.peek_char().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                return Ok((Tok::Decimal(self.src[start..self.pos].to_string()), start..self.pos));
            }
        }
        let span = start..self.pos;
        if let Some(c) = self.peek_char()
            && (c.is_alphanumeric() || c == '_' || c == '.')
        {
            let bad_end = self.src[self.pos..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .map_or(self.src.len(), |n| self.pos + n);
            return Err(ExprError::syntax(format!("`{}` is not a number", &self.src[start..bad_end]), start..bad_end)
                .with_help("numbers are written 3, -1, 2.5 or &HF7; write other values as strings"));
        }
        match self.src[span.clone()].parse::<i64>() {
            Ok(v) => Ok((Tok::Num(v), span)),
            Err(_) => Err(ExprError::syntax("number out of range", span)
                .with_help("numbers must fit in 64 bits; write long digit strings as strings")),
        }
    }
}
