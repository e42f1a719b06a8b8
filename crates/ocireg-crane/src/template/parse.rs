//! The parser: template text into a tree of nodes.

use super::TemplateError;
use super::lex::{Tok, Token, lex};

/// Nesting deeper than this is refused (the evaluator recurses on it).
const MAX_DEPTH: usize = 100;

/// A node of the template tree.
#[derive(Clone, Debug)]
pub(super) enum Node {
    /// Text printed as it is.
    Text(String),
    /// `{{pipeline}}`: printed unless it declares variables.
    Action(Pipe),
    /// `{{if}}`, `{{with}}`, `{{range}}`.
    Control {
        kind: Control,
        pipe: Pipe,
        body: Vec<Self>,
        otherwise: Vec<Self>,
    },
}

/// The kinds of control structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Control {
    If,
    With,
    Range,
}

/// A pipeline: optional variable declarations, then commands joined by `|`.
#[derive(Clone, Debug)]
pub(super) struct Pipe {
    pub(super) pos: usize,
    pub(super) vars: Vec<String>,
    /// `=` (assign to existing variables) instead of `:=`.
    pub(super) assign: bool,
    pub(super) cmds: Vec<Cmd>,
}

/// A command: an operand, or a function with its arguments.
#[derive(Clone, Debug)]
pub(super) struct Cmd {
    pub(super) pos: usize,
    pub(super) args: Vec<Arg>,
}

/// An operand.
#[derive(Clone, Debug)]
pub(super) enum Arg {
    /// `.`, then fields: `.A.B` is `Dot` with fields `[A, B]`.
    Dot(Vec<String>, usize),
    /// `$x.A`
    Var(String, Vec<String>, usize),
    /// A function name.
    Ident(String, usize),
    /// `(pipeline).A`
    Sub(Box<Pipe>, Vec<String>),
    Str(String),
    Num(f64),
    Bool(bool),
    Nil,
}

/// What ended a list of nodes.
enum End {
    Eof,
    Close(usize),
    Else(usize),
    ElseControl(Control, Pipe),
}

pub(super) struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// The text before the next action loses its trailing whitespace.
    trim_next_left: bool,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Self {
            src,
            pos: 0,
            trim_next_left: false,
            depth: 0,
        }
    }

    pub(super) fn parse(mut self) -> Result<Vec<Node>, TemplateError> {
        let (nodes, end) = self.list()?;
        match end {
            End::Eof => Ok(nodes),
            End::Close(at) => Err(TemplateError::new(at, "unexpected {{end}}")),
            End::Else(at) => Err(TemplateError::new(at, "unexpected {{else}}")),
            End::ElseControl(_, pipe) => Err(TemplateError::new(pipe.pos, "unexpected {{else}}")),
        }
    }

    /// Nodes up to the end of input, `{{end}}` or `{{else}}`.
    fn list(&mut self) -> Result<(Vec<Node>, End), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            let rest = &self.src[self.pos..];
            let open = rest.find("{{");
            let mut text = match open {
                Some(n) => &rest[..n],
                None => rest,
            };
            if std::mem::take(&mut self.trim_next_left) {
                text = text.trim_start();
            }
            let Some(n) = open else {
                if !text.is_empty() {
                    nodes.push(Node::Text(text.to_owned()));
                }
                self.pos = self.src.len();
                return Ok((nodes, End::Eof));
            };
            let action_start = self.pos + n;
            let mut inner = action_start + 2;
            let after = &self.src[inner..];
            if after.starts_with('-') && after[1..].starts_with(char::is_whitespace) {
                text = text.trim_end();
                inner += 1;
            }
            if !text.is_empty() {
                nodes.push(Node::Text(text.to_owned()));
            }
            let (inner_end, close_end, trim_right) = self.action_end(action_start, inner)?;
            self.pos = close_end;
            self.trim_next_left = trim_right;
            let trimmed = self.src[inner..inner_end].trim();
            if trimmed.starts_with("/*") {
                if !trimmed.ends_with("*/") {
                    return Err(TemplateError::new(action_start, "unclosed comment"));
                }
                continue;
            }
            let tokens = lex(self.src, inner, inner_end)?;
            let Some(first) = tokens.first() else {
                return Err(TemplateError::new(
                    action_start,
                    "missing value for command",
                ));
            };
            let keyword = match &first.kind {
                Tok::Ident(w) => w.as_str(),
                _ => "",
            };
            match keyword {
                "end" => {
                    if tokens.len() > 1 {
                        return Err(TemplateError::new(tokens[1].start, "unexpected in {{end}}"));
                    }
                    return Ok((nodes, End::Close(first.start)));
                }
                "else" => {
                    if tokens.len() == 1 {
                        return Ok((nodes, End::Else(first.start)));
                    }
                    let kind = match &tokens[1].kind {
                        Tok::Ident(w) if w == "if" => Control::If,
                        Tok::Ident(w) if w == "with" => Control::With,
                        _ => {
                            return Err(TemplateError::new(
                                tokens[1].start,
                                "expected end; found in {{else}}",
                            ));
                        }
                    };
                    let pipe = pipeline_of(&tokens[2..], tokens[1].end, true)?;
                    return Ok((nodes, End::ElseControl(kind, pipe)));
                }
                "if" | "with" | "range" => {
                    let kind = match keyword {
                        "if" => Control::If,
                        "with" => Control::With,
                        _ => Control::Range,
                    };
                    let pipe = pipeline_of(&tokens[1..], first.end, true)?;
                    nodes.push(self.control(kind, pipe, first.start)?);
                }
                "define" | "template" | "block" | "break" | "continue" => {
                    return Err(TemplateError::new(
                        first.start,
                        format!("{{{{{keyword}}}}} is not supported in --format templates"),
                    ));
                }
                _ => nodes.push(Node::Action(pipeline_of(&tokens, inner, true)?)),
            }
        }
    }

    /// The rest of a control structure whose pipeline is parsed: its body,
    /// its else branch, through its `{{end}}`.
    fn control(&mut self, kind: Control, pipe: Pipe, at: usize) -> Result<Node, TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(TemplateError::new(at, "templates nested too deeply"));
        }
        let (body, end) = self.list()?;
        let otherwise = match end {
            End::Close(_) => Vec::new(),
            End::Else(_) => {
                let (otherwise, end) = self.list()?;
                match end {
                    End::Close(_) => otherwise,
                    End::Else(at) => return Err(TemplateError::new(at, "unexpected {{else}}")),
                    End::ElseControl(_, p) => {
                        return Err(TemplateError::new(p.pos, "unexpected {{else}}"));
                    }
                    End::Eof => return Err(TemplateError::new(at, "unexpected EOF: no {{end}}")),
                }
            }
            End::ElseControl(k, p) => {
                // `{{else if x}}` is `{{else}}{{if x}}...{{end}}{{end}}` sharing one `{{end}}`.
                let pos = p.pos;
                vec![self.control(k, p, pos)?]
            }
            End::Eof => return Err(TemplateError::new(at, "unexpected EOF: no {{end}}")),
        };
        self.depth -= 1;
        Ok(Node::Control {
            kind,
            pipe,
            body,
            otherwise,
        })
    }

    /// Where the action opened at `open` ends: (end of its inside, after `}}`, `-}}`).
    fn action_end(&self, open: usize, inner: usize) -> Result<(usize, usize, bool), TemplateError> {
        let bytes = self.src.as_bytes();
        let mut i = inner;
        let trimmed = self.src[inner..].trim_start();
        if trimmed.starts_with("/*") {
            let start = self.src.len() - trimmed.len();
            let Some(n) = self.src[start..].find("*/") else {
                return Err(TemplateError::new(open, "unclosed comment"));
            };
            i = start + n + 2;
        }
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    let quote = i;
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        if bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    if i >= bytes.len() || bytes[i] == b'\n' {
                        return Err(TemplateError::new(quote, "unterminated quoted string"));
                    }
                }
                b'`' => {
                    let quote = i;
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'`' {
                        i += 1;
                    }
                    if i >= bytes.len() {
                        return Err(TemplateError::new(quote, "unterminated raw quoted string"));
                    }
                }
                b'}' if bytes.get(i + 1) == Some(&b'}') => {
                    let trim = i >= inner + 2
                        && bytes[i - 1] == b'-'
                        && (bytes[i - 2] as char).is_whitespace();
                    let inner_end = if trim { i - 1 } else { i };
                    return Ok((inner_end, i + 2, trim));
                }
                _ => {}
            }
            i += 1;
        }
        Err(TemplateError::new(open, "unclosed action"))
    }
}

/// A pipeline from the tokens of an action; `at` is where it starts.
fn pipeline_of(tokens: &[Token], at: usize, whole: bool) -> Result<Pipe, TemplateError> {
    let mut p = TokenParser { tokens, i: 0 };
    let pipe = p.pipeline(at, 0)?;
    if whole && p.i < tokens.len() {
        return Err(TemplateError::new(
            tokens[p.i].start,
            format!("unexpected {}", describe(&tokens[p.i].kind)),
        ));
    }
    Ok(pipe)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Dot => "\".\"".to_owned(),
        Tok::Field(f) => format!("field .{f}"),
        Tok::Var(v) => format!("variable ${v}"),
        Tok::Ident(i) => format!("{i:?}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Bool(b) => format!("{b}"),
        Tok::Nil => "nil".to_owned(),
        Tok::LParen => "\"(\"".to_owned(),
        Tok::RParen => "\")\"".to_owned(),
        Tok::Pipe => "\"|\"".to_owned(),
        Tok::Declare => "\":=\"".to_owned(),
        Tok::Assign => "\"=\"".to_owned(),
        Tok::Comma => "\",\"".to_owned(),
    }
}

struct TokenParser<'t> {
    tokens: &'t [Token],
    i: usize,
}

impl TokenParser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.i)
    }

    fn pipeline(&mut self, at: usize, depth: usize) -> Result<Pipe, TemplateError> {
        if depth > MAX_DEPTH {
            return Err(TemplateError::new(at, "parentheses nested too deeply"));
        }
        let pos = self.peek().map_or(at, |t| t.start);
        let mut vars = Vec::new();
        let mut assign = false;
        // `$x :=`, `$i, $e :=`, `$x =`
        let decl_len = match self.tokens[self.i..] {
            [
                Token {
                    kind: Tok::Var(_), ..
                },
                Token {
                    kind: Tok::Declare | Tok::Assign,
                    ..
                },
                ..,
            ] => 2,
            [
                Token {
                    kind: Tok::Var(_), ..
                },
                Token {
                    kind: Tok::Comma, ..
                },
                Token {
                    kind: Tok::Var(_), ..
                },
                Token {
                    kind: Tok::Declare | Tok::Assign,
                    ..
                },
                ..,
            ] => 4,
            _ => 0,
        };
        if decl_len > 0 {
            for t in &self.tokens[self.i..self.i + decl_len] {
                match &t.kind {
                    Tok::Var(v) => vars.push(v.clone()),
                    Tok::Assign => assign = true,
                    _ => {}
                }
            }
            self.i += decl_len;
        }
        let mut cmds = Vec::new();
        let mut cmd_at = at;
        loop {
            let cmd = self.command(cmd_at, depth)?;
            cmds.push(cmd);
            match self.peek() {
                Some(Token {
                    kind: Tok::Pipe,
                    start,
                    ..
                }) => {
                    cmd_at = *start;
                    self.i += 1;
                }
                _ => break,
            }
        }
        Ok(Pipe {
            pos,
            vars,
            assign,
            cmds,
        })
    }

    fn command(&mut self, at: usize, depth: usize) -> Result<Cmd, TemplateError> {
        let pos = self.peek().map_or(at, |t| t.start);
        let mut args = Vec::new();
        while let Some(t) = self.peek() {
            if matches!(t.kind, Tok::Pipe | Tok::RParen) {
                break;
            }
            args.push(self.operand(depth)?);
        }
        if args.is_empty() {
            let at = self.peek().map_or(at, |t| t.start);
            return Err(TemplateError::new(at, "missing value for command"));
        }
        Ok(Cmd { pos, args })
    }

    /// Fields directly after the token that ended at `end` (no space between).
    fn fields(&mut self, mut end: usize) -> Vec<String> {
        let mut fields = Vec::new();
        while let Some(Token {
            kind: Tok::Field(f),
            start,
            end: e,
        }) = self.peek()
        {
            if *start != end {
                break;
            }
            fields.push(f.clone());
            end = *e;
            self.i += 1;
        }
        fields
    }

    fn operand(&mut self, depth: usize) -> Result<Arg, TemplateError> {
        let t = self.tokens[self.i].clone();
        self.i += 1;
        Ok(match t.kind {
            Tok::Dot => Arg::Dot(Vec::new(), t.start),
            Tok::Field(f) => {
                let mut fields = vec![f];
                fields.extend(self.fields(t.end));
                Arg::Dot(fields, t.start)
            }
            Tok::Var(v) => {
                let fields = self.fields(t.end);
                Arg::Var(v, fields, t.start)
            }
            Tok::Ident(name) => Arg::Ident(name, t.start),
            Tok::Str(s) => Arg::Str(s),
            Tok::Num(n) => Arg::Num(n),
            Tok::Bool(b) => Arg::Bool(b),
            Tok::Nil => Arg::Nil,
            Tok::LParen => {
                let pipe = self.pipeline(t.start, depth + 1)?;
                match self.peek() {
                    Some(Token {
                        kind: Tok::RParen,
                        end,
                        ..
                    }) => {
                        let end = *end;
                        self.i += 1;
                        let fields = self.fields(end);
                        Arg::Sub(Box::new(pipe), fields)
                    }
                    _ => return Err(TemplateError::new(t.start, "unclosed left paren")),
                }
            }
            other => {
                return Err(TemplateError::new(
                    t.start,
                    format!("unexpected {} in operand", describe(&other)),
                ));
            }
        })
    }
}
