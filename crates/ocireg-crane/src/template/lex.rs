//! The lexer of an action (the text between `{{` and `}}`).

use super::TemplateError;

/// A token of an action, with its byte span in the template.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Token {
    pub(super) kind: Tok,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// The kinds of token.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// `.`
    Dot,
    /// `.Name`
    Field(String),
    /// `$name`, or `$` alone (the name is then empty)
    Var(String),
    /// A function name or keyword (`if`, `len`, `time.Now`).
    Ident(String),
    /// A string constant, unquoted.
    Str(String),
    /// A number constant.
    Num(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `nil`
    Nil,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `|`
    Pipe,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    /// `,`
    Comma,
}

fn ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Lexes `src[start..end]` (the inside of one action) into tokens.
pub(super) fn lex(src: &str, start: usize, end: usize) -> Result<Vec<Token>, TemplateError> {
    let text = &src[start..end];
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        let at = start + i;
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let rest = &text[i..];
        let (kind, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '|' => (Tok::Pipe, 1),
            ',' => (Tok::Comma, 1),
            '=' => (Tok::Assign, 1),
            ':' if rest.starts_with(":=") => (Tok::Declare, 2),
            '.' => {
                let name: String = rest[1..].chars().take_while(|&c| ident_char(c)).collect();
                if name.is_empty() {
                    if rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
                        number(rest, at)?
                    } else {
                        (Tok::Dot, 1)
                    }
                } else {
                    let len = 1 + name.len();
                    (Tok::Field(name), len)
                }
            }
            '$' => {
                let name: String = rest[1..].chars().take_while(|&c| ident_char(c)).collect();
                let len = 1 + name.len();
                (Tok::Var(name), len)
            }
            '"' => quoted(rest, at)?,
            '`' => match rest[1..].find('`') {
                Some(n) => (Tok::Str(rest[1..=n].to_owned()), n + 2),
                None => return Err(TemplateError::new(at, "unterminated raw quoted string")),
            },
            c if c.is_ascii_digit() || c == '-' || c == '+' => number(rest, at)?,
            c if ident_start(c) => {
                // Letters, digits, `_`, and `.` between words: `time.Now` is one name.
                let mut len = 0;
                let bytes: Vec<char> = rest.chars().collect();
                let mut k = 0;
                while k < bytes.len() {
                    let c = bytes[k];
                    if ident_char(c)
                        || (c == '.' && k + 1 < bytes.len() && ident_start(bytes[k + 1]))
                    {
                        len += c.len_utf8();
                        k += 1;
                    } else {
                        break;
                    }
                }
                let word = &rest[..len];
                let kind = match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    w => Tok::Ident(w.to_owned()),
                };
                (kind, len)
            }
            c => {
                return Err(TemplateError::new(
                    at,
                    format!("unexpected {c:?} in action"),
                ));
            }
        };
        out.push(Token {
            kind,
            start: at,
            end: at + len,
        });
        // Skip the token's characters.
        while let Some(&(j, _)) = chars.peek() {
            if j >= i + len {
                break;
            }
            chars.next();
        }
    }
    Ok(out)
}

fn number(rest: &str, at: usize) -> Result<(Tok, usize), TemplateError> {
    let len = rest
        .char_indices()
        .take_while(|&(i, c)| {
            c.is_ascii_alphanumeric() || c == '.' || c == '_' || (i == 0 && (c == '-' || c == '+'))
        })
        .map(|(_, c)| c.len_utf8())
        .sum::<usize>();
    let word = &rest[..len];
    let clean = word.replace('_', "");
    let value = if let Some(hex) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        u32::from_str_radix(hex, 16).ok().map(f64::from)
    } else {
        clean.parse::<f64>().ok()
    };
    match value {
        Some(n) if !word.is_empty() => Ok((Tok::Num(n), len)),
        _ => Err(TemplateError::new(
            at,
            format!("bad number syntax: {word:?}"),
        )),
    }
}

fn quoted(rest: &str, at: usize) -> Result<(Tok, usize), TemplateError> {
    let mut out = String::new();
    let mut chars = rest.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((Tok::Str(out), i + 1)),
            '\n' => break,
            '\\' => {
                let Some((j, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    '0' => out.push('\0'),
                    'x' | 'u' | 'U' => {
                        let digits = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = rest[j + 1..].chars().take(digits).collect();
                        let ch = u32::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == digits)
                            .and_then(char::from_u32)
                            .ok_or_else(|| {
                                TemplateError::new(at + j, "bad escape in quoted string")
                            })?;
                        out.push(ch);
                        for _ in 0..digits {
                            chars.next();
                        }
                    }
                    _ => {
                        return Err(TemplateError::new(
                            at + j,
                            format!("unknown escape \\{e} in quoted string"),
                        ));
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err(TemplateError::new(at, "unterminated quoted string"))
}
