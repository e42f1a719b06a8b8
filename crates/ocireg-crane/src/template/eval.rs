//! The evaluator: a template tree over a JSON document.

use std::fmt::Write as _;

use serde_json::Value;

use super::TemplateError;
use super::go_field_name;
use super::parse::{Arg, Cmd, Control, Node, Pipe};
use super::time::{self, Time};

/// Steps (actions, fields, iterations) one run may take: nested ranges over
/// a large document end with an error instead of running for hours.
const MAX_STEPS: u64 = 10_000_000;
/// Output one run may produce.
const MAX_OUTPUT: usize = 64 << 20;
/// The largest printf width or precision (Go's bound).
const MAX_WIDTH: usize = 1_000_000;

/// The functions a template may call.
pub(super) const FUNCTIONS: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "default",
    "env",
    "file",
    "join",
    "json",
    "jsonPretty",
    "lower",
    "printPretty",
    "split",
    "time.Now",
    "time.Parse",
    "upper",
];

/// A value during evaluation.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Val {
    Json(Value),
    Time(Time),
}

impl From<Value> for Val {
    fn from(v: Value) -> Self {
        Self::Json(v)
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Self {
        Self::Json(Value::String(s.to_owned()))
    }
}

impl From<String> for Val {
    fn from(s: String) -> Self {
        Self::Json(Value::String(s))
    }
}

impl From<bool> for Val {
    fn from(b: bool) -> Self {
        Self::Json(Value::Bool(b))
    }
}

impl From<i64> for Val {
    fn from(n: i64) -> Self {
        Self::Json(Value::from(n))
    }
}

const NULL: Val = Val::Json(Value::Null);

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Self::Json(Value::Null) => "nil",
            Self::Json(Value::Bool(_)) => "bool",
            Self::Json(Value::Number(_)) => "number",
            Self::Json(Value::String(_)) => "string",
            Self::Json(Value::Array(_)) => "list",
            Self::Json(Value::Object(_)) => "map",
            Self::Time(_) => "time",
        }
    }

    fn truth(&self) -> bool {
        match self {
            Self::Json(Value::Null) => false,
            Self::Json(Value::Bool(b)) => *b,
            Self::Json(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Self::Json(Value::String(s)) => !s.is_empty(),
            Self::Json(Value::Array(a)) => !a.is_empty(),
            Self::Json(Value::Object(o)) => !o.is_empty(),
            Self::Time(_) => true,
        }
    }

    /// The value as JSON (a time as Go marshals it: RFC 3339 with nanoseconds).
    fn to_json(&self) -> Value {
        match self {
            Self::Json(v) => v.clone(),
            Self::Time(t) => Value::String(time::format(t, "2006-01-02T15:04:05.999999999Z07:00")),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Json(Value::Number(n)) => n.as_f64(),
            _ => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Json(Value::Number(n)) => {
                n.as_i64().or_else(|| n.as_f64().and_then(exact_integer))
            }
            _ => None,
        }
    }
}

/// Go's `%v` of a value.
pub(super) fn show(v: &Val) -> String {
    let mut s = String::new();
    show_into(&mut s, v, true);
    s
}

fn show_into(out: &mut String, v: &Val, top: bool) {
    match v {
        Val::Json(Value::Null) => out.push_str(if top { "<no value>" } else { "<nil>" }),
        Val::Json(Value::Bool(b)) => {
            let _ = write!(out, "{b}");
        }
        Val::Json(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                let _ = write!(out, "{}", n.as_f64().unwrap_or(0.0));
            }
        }
        Val::Json(Value::String(s)) => out.push_str(s),
        Val::Json(Value::Array(a)) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                show_into(out, &Val::Json(e.clone()), false);
            }
            out.push(']');
        }
        Val::Json(Value::Object(o)) => {
            out.push_str("map[");
            // serde_json's map is sorted by key, as Go prints maps.
            for (i, (k, e)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                show_into(out, &Val::Json(e.clone()), false);
            }
            out.push(']');
        }
        Val::Time(t) => out.push_str(&t.go_string()),
    }
}

struct State<'a> {
    vars: Vec<(String, Val)>,
    out: &'a mut String,
    steps: u64,
}

/// Checks that every function the template names exists (as Go does when parsing).
pub(super) fn check(nodes: &[Node]) -> Result<(), TemplateError> {
    fn pipe(p: &Pipe) -> Result<(), TemplateError> {
        for c in &p.cmds {
            for a in &c.args {
                match a {
                    Arg::Ident(name, at) if !FUNCTIONS.contains(&name.as_str()) => {
                        return Err(TemplateError::new(
                            *at,
                            format!("function {name:?} not defined"),
                        ));
                    }
                    Arg::Sub(p, _) => pipe(p)?,
                    _ => {}
                }
            }
        }
        Ok(())
    }
    for n in nodes {
        match n {
            Node::Text(_) => {}
            Node::Action(p) => pipe(p)?,
            Node::Control {
                pipe: p,
                body,
                otherwise,
                ..
            } => {
                pipe(p)?;
                check(body)?;
                check(otherwise)?;
            }
        }
    }
    Ok(())
}

/// Runs `nodes` over `data`, appending to `out`.
pub(super) fn execute(nodes: &[Node], data: &Value, out: &mut String) -> Result<(), TemplateError> {
    let root = Val::Json(data.clone());
    let mut st = State {
        vars: vec![(String::new(), root.clone())],
        out,
        steps: 0,
    };
    st.list(nodes, &root)
}

impl State<'_> {
    fn step(&mut self, at: usize) -> Result<(), TemplateError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(TemplateError::new(
                at,
                format!("template took more than {MAX_STEPS} steps"),
            ));
        }
        if self.out.len() > MAX_OUTPUT {
            return Err(TemplateError::new(
                at,
                format!("template output is larger than {MAX_OUTPUT} bytes"),
            ));
        }
        Ok(())
    }

    fn list(&mut self, nodes: &[Node], dot: &Val) -> Result<(), TemplateError> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p) => {
                    self.step(p.pos)?;
                    let v = self.pipe(p, dot)?;
                    if p.vars.is_empty() {
                        show_into(self.out, &v, true);
                    }
                }
                Node::Control {
                    kind,
                    pipe,
                    body,
                    otherwise,
                } => {
                    let mark = self.vars.len();
                    self.control(*kind, pipe, body, otherwise, dot)?;
                    self.vars.truncate(mark);
                }
            }
        }
        Ok(())
    }

    fn control(
        &mut self,
        kind: Control,
        pipe: &Pipe,
        body: &[Node],
        otherwise: &[Node],
        dot: &Val,
    ) -> Result<(), TemplateError> {
        self.step(pipe.pos)?;
        if kind != Control::Range {
            let v = self.pipe(pipe, dot)?;
            if v.truth() {
                let inner = if kind == Control::With { &v } else { dot };
                return self.list(body, inner);
            }
            return self.list(otherwise, dot);
        }
        // range: evaluate without declaring, then declare per element.
        let bare = Pipe {
            pos: pipe.pos,
            vars: Vec::new(),
            assign: false,
            cmds: pipe.cmds.clone(),
        };
        let v = self.pipe(&bare, dot)?;
        let items: Vec<(Val, Val)> = match &v {
            Val::Json(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    (
                        Val::from(i64::try_from(i).unwrap_or(i64::MAX)),
                        Val::Json(e.clone()),
                    )
                })
                .collect(),
            Val::Json(Value::Object(o)) => o
                .iter()
                .map(|(k, e)| (Val::from(k.as_str()), Val::Json(e.clone())))
                .collect(),
            Val::Json(Value::Null) => Vec::new(),
            Val::Json(Value::Number(_)) => {
                let n = v.as_i64().ok_or_else(|| {
                    TemplateError::new(pipe.pos, "range can't iterate over a non-integer number")
                })?;
                if u64::try_from(n).is_ok_and(|n| n > MAX_STEPS) {
                    return Err(TemplateError::new(
                        pipe.pos,
                        format!("range over {n}: more than {MAX_STEPS} steps"),
                    ));
                }
                (0..n.max(0))
                    .map(|i| (Val::from(i), Val::from(i)))
                    .collect()
            }
            other => {
                return Err(TemplateError::new(
                    pipe.pos,
                    format!("range can't iterate over {}", show(other)),
                ));
            }
        };
        if items.is_empty() {
            return self.list(otherwise, dot);
        }
        let mark = self.vars.len();
        for (key, elem) in items {
            self.step(pipe.pos)?;
            self.vars.truncate(mark);
            match pipe.vars.as_slice() {
                [] => {}
                [e] => self.bind(e, elem.clone(), pipe.assign, pipe.pos)?,
                [k, e, ..] => {
                    self.bind(k, key, pipe.assign, pipe.pos)?;
                    self.bind(e, elem.clone(), pipe.assign, pipe.pos)?;
                }
            }
            self.list(body, &elem)?;
        }
        Ok(())
    }

    fn bind(&mut self, name: &str, v: Val, assign: bool, at: usize) -> Result<(), TemplateError> {
        if assign {
            match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = v,
                None => {
                    return Err(TemplateError::new(
                        at,
                        format!("undefined variable: ${name}"),
                    ));
                }
            }
        } else {
            self.vars.push((name.to_owned(), v));
        }
        Ok(())
    }

    fn pipe(&mut self, p: &Pipe, dot: &Val) -> Result<Val, TemplateError> {
        let mut v: Option<Val> = None;
        for c in &p.cmds {
            v = Some(self.cmd(c, dot, v)?);
        }
        let v = v.unwrap_or(NULL);
        if let Some(name) = p.vars.first() {
            self.bind(name, v.clone(), p.assign, p.pos)?;
        }
        Ok(v)
    }

    fn cmd(&mut self, c: &Cmd, dot: &Val, piped: Option<Val>) -> Result<Val, TemplateError> {
        self.step(c.pos)?;
        let first = &c.args[0];
        if let Arg::Ident(name, at) = first {
            let mut args = Vec::with_capacity(c.args.len());
            for a in &c.args[1..] {
                args.push(self.arg(a, dot)?);
            }
            if let Some(p) = piped {
                args.push(p);
            }
            return call(name, args)
                .map_err(|m| TemplateError::new(*at, format!("error calling {name}: {m}")));
        }
        if c.args.len() == 1 && piped.is_none() {
            return self.arg(first, dot);
        }
        // A method with arguments: `$t.Format "2006"`.
        let (receiver, method, at) = match first {
            Arg::Dot(fields, at) if !fields.is_empty() => {
                let (last, init) = fields.split_last().unwrap_or((&fields[0], &[]));
                (self.fields(dot.clone(), init, *at)?, last, *at)
            }
            Arg::Var(name, fields, at) if !fields.is_empty() => {
                let (last, init) = fields.split_last().unwrap_or((&fields[0], &[]));
                let base = self.var(name, *at)?;
                (self.fields(base, init, *at)?, last, *at)
            }
            _ => {
                return Err(TemplateError::new(
                    c.pos,
                    "can't give argument to non-function",
                ));
            }
        };
        let mut args = Vec::new();
        for a in &c.args[1..] {
            args.push(self.arg(a, dot)?);
        }
        if let Some(p) = piped {
            args.push(p);
        }
        match (&receiver, method.as_str(), args.as_slice()) {
            (Val::Time(t), "Format", [layout]) => {
                let layout = want_str(layout).map_err(|m| TemplateError::new(at, m))?;
                Ok(Val::from(time::format(t, layout)))
            }
            _ => Err(TemplateError::new(
                at,
                format!(
                    "can't give argument to field {method} of {}",
                    receiver.type_name()
                ),
            )),
        }
    }

    fn var(&self, name: &str, at: usize) -> Result<Val, TemplateError> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| TemplateError::new(at, format!("undefined variable: ${name}")))
    }

    fn arg(&mut self, a: &Arg, dot: &Val) -> Result<Val, TemplateError> {
        match a {
            Arg::Dot(fields, at) => self.fields(dot.clone(), fields, *at),
            Arg::Var(name, fields, at) => {
                let v = self.var(name, *at)?;
                self.fields(v, fields, *at)
            }
            Arg::Ident(name, at) => call(name, Vec::new())
                .map_err(|m| TemplateError::new(*at, format!("error calling {name}: {m}"))),
            Arg::Sub(p, fields) => {
                let v = self.pipe(p, dot)?;
                self.fields(v, fields, p.pos)
            }
            Arg::Str(s) => Ok(Val::from(s.as_str())),
            Arg::Num(n) => Ok(Val::Json(number(*n))),
            Arg::Bool(b) => Ok(Val::from(*b)),
            Arg::Nil => Ok(NULL),
        }
    }

    fn fields(&mut self, mut v: Val, fields: &[String], at: usize) -> Result<Val, TemplateError> {
        for f in fields {
            self.step(at)?;
            v = field(&v, f).map_err(|m| TemplateError::new(at, m))?;
        }
        Ok(v)
    }
}

/// `n` as an integer when it is one (and small enough to be exact).
#[expect(
    clippy::cast_possible_truncation,
    reason = "checked: a whole number below 2^53"
)]
fn exact_integer(n: f64) -> Option<i64> {
    (n.fract() == 0.0 && n.abs() < 9e15).then_some(n as i64)
}

fn number(n: f64) -> Value {
    match exact_integer(n) {
        Some(i) => Value::from(i),
        None => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
    }
}

/// `.name` of a value: an object's key by its Go field name (or exactly), a time's method.
fn field(v: &Val, name: &str) -> Result<Val, String> {
    match v {
        Val::Json(Value::Object(o)) => {
            if let Some(e) = o.get(name) {
                return Ok(Val::Json(e.clone()));
            }
            Ok(o.iter()
                .find(|(k, _)| go_field_name(k) == name)
                .map_or(NULL, |(_, e)| Val::Json(e.clone())))
        }
        Val::Json(Value::Null) => Ok(NULL),
        Val::Time(t) => {
            let p = t.parts();
            Ok(match name {
                "Year" => Val::from(p.year),
                "Month" => Val::from(i64::from(p.month)),
                "Day" => Val::from(i64::from(p.day)),
                "Hour" => Val::from(i64::from(p.hour)),
                "Minute" => Val::from(i64::from(p.minute)),
                "Second" => Val::from(i64::from(p.second)),
                "Nanosecond" => Val::from(i64::from(t.nanos)),
                "YearDay" => Val::from(p.yday),
                "Weekday" => Val::from(i64::try_from(p.weekday).unwrap_or(0)),
                "Unix" => Val::from(t.unix),
                "UTC" => Val::Time(Time { offset: 0, ..*t }),
                "String" => Val::from(t.go_string()),
                "Format" => return Err("method Format needs a layout argument".to_owned()),
                _ => return Err(format!("can't evaluate field {name} in type time")),
            })
        }
        other @ Val::Json(_) => Err(format!(
            "can't evaluate field {name} in type {}",
            other.type_name()
        )),
    }
}

fn want_str(v: &Val) -> Result<&str, String> {
    match v {
        Val::Json(Value::String(s)) => Ok(s),
        other => Err(format!("expected string; got {}", other.type_name())),
    }
}

fn arity(args: &[Val], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args: want {n}, got {}",
            args.len()
        ))
    }
}

fn compare(a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    match (a, b) {
        (Val::Json(Value::String(x)), Val::Json(Value::String(y))) => Ok(x.cmp(y)),
        (Val::Time(x), Val::Time(y)) => Ok((x.unix, x.nanos).cmp(&(y.unix, y.nanos))),
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x
                .partial_cmp(&y)
                .ok_or_else(|| "incomparable numbers".to_owned()),
            _ => Err(format!(
                "incompatible types for comparison: {} and {}",
                a.type_name(),
                b.type_name()
            )),
        },
    }
}

fn equal(a: &Val, b: &Val) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y).is_eq(),
        _ => a == b,
    }
}

/// Calls function `name`.
#[expect(clippy::too_many_lines, reason = "one arm per function, a table")]
fn call(name: &str, args: Vec<Val>) -> Result<Val, String> {
    match name {
        "and" => {
            if args.is_empty() {
                return Err("wrong number of args: want at least 1".to_owned());
            }
            let i = args
                .iter()
                .position(|a| !a.truth())
                .unwrap_or(args.len() - 1);
            Ok(args[i].clone())
        }
        "or" => {
            if args.is_empty() {
                return Err("wrong number of args: want at least 1".to_owned());
            }
            let i = args.iter().position(Val::truth).unwrap_or(args.len() - 1);
            Ok(args[i].clone())
        }
        "not" => {
            arity(&args, 1)?;
            Ok(Val::from(!args[0].truth()))
        }
        "len" => {
            arity(&args, 1)?;
            let n = match &args[0] {
                Val::Json(Value::String(s)) => s.len(),
                Val::Json(Value::Array(a)) => a.len(),
                Val::Json(Value::Object(o)) => o.len(),
                Val::Json(Value::Null) => 0,
                other => return Err(format!("len of {}", other.type_name())),
            };
            Ok(Val::from(i64::try_from(n).unwrap_or(i64::MAX)))
        }
        "index" => {
            let Some((first, keys)) = args.split_first() else {
                return Err("wrong number of args: want at least 1".to_owned());
            };
            let mut item = first.clone();
            for key in keys {
                item = match (&item, key) {
                    (Val::Json(Value::Array(list)), key) => {
                        let n = key.as_i64().ok_or("cannot index list with non-integer")?;
                        let elem = usize::try_from(n)
                            .ok()
                            .and_then(|n| list.get(n))
                            .ok_or_else(|| format!("index out of range: {n}"))?;
                        Val::Json(elem.clone())
                    }
                    (Val::Json(Value::Object(map)), Val::Json(Value::String(name))) => {
                        map.get(name).map_or(NULL, |elem| Val::Json(elem.clone()))
                    }
                    (Val::Json(Value::Null), _) => NULL,
                    (item, key) => {
                        return Err(format!(
                            "can't index item of type {} with {}",
                            item.type_name(),
                            key.type_name()
                        ));
                    }
                };
            }
            Ok(item)
        }
        "slice" => {
            let Some((first, idx)) = args.split_first() else {
                return Err("wrong number of args: want at least 1".to_owned());
            };
            let idx = idx
                .iter()
                .map(|i| {
                    i.as_i64()
                        .and_then(|i| usize::try_from(i).ok())
                        .ok_or("bad slice index")
                })
                .collect::<Result<Vec<_>, _>>()?;
            match first {
                Val::Json(Value::String(s)) => {
                    let from = idx.first().copied().unwrap_or(0);
                    let to = idx.get(1).copied().unwrap_or(s.len());
                    s.get(from..to)
                        .map(Val::from)
                        .ok_or_else(|| format!("slice index out of range: {from}:{to}"))
                }
                Val::Json(Value::Array(a)) => {
                    let from = idx.first().copied().unwrap_or(0);
                    let to = idx.get(1).copied().unwrap_or(a.len());
                    a.get(from..to)
                        .map(|s| Val::Json(Value::Array(s.to_vec())))
                        .ok_or_else(|| format!("slice index out of range: {from}:{to}"))
                }
                other => Err(format!("can't slice item of type {}", other.type_name())),
            }
        }
        "print" => {
            let mut s = String::new();
            for (i, a) in args.iter().enumerate() {
                let is_str = |v: &Val| matches!(v, Val::Json(Value::String(_)));
                if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
                    s.push(' ');
                }
                s.push_str(&show(a));
            }
            Ok(Val::from(s))
        }
        "println" => {
            let parts: Vec<String> = args.iter().map(show).collect();
            Ok(Val::from(parts.join(" ") + "\n"))
        }
        "printf" => {
            let Some((f, rest)) = args.split_first() else {
                return Err("wrong number of args: want at least 1".to_owned());
            };
            Ok(Val::from(printf(want_str(f)?, rest)))
        }
        "eq" => {
            let Some((first, rest)) = args.split_first() else {
                return Err("missing argument for comparison".to_owned());
            };
            if rest.is_empty() {
                return Err("missing argument for comparison".to_owned());
            }
            Ok(Val::from(rest.iter().any(|b| equal(first, b))))
        }
        "ne" => {
            arity(&args, 2)?;
            Ok(Val::from(!equal(&args[0], &args[1])))
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(&args, 2)?;
            let o = compare(&args[0], &args[1])?;
            Ok(Val::from(match name {
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            }))
        }
        "default" => {
            arity(&args, 2)?;
            let mut args = args;
            let orig = args.pop().unwrap_or(NULL);
            let def = args.pop().unwrap_or(NULL);
            Ok(if orig.truth() { orig } else { def })
        }
        "env" => {
            arity(&args, 1)?;
            Ok(Val::from(
                std::env::var(want_str(&args[0])?).unwrap_or_default(),
            ))
        }
        "file" => {
            arity(&args, 1)?;
            let path = want_str(&args[0])?;
            Ok(Val::from(read_file(path)?.trim()))
        }
        "join" => {
            arity(&args, 2)?;
            let sep = want_str(&args[1])?;
            match &args[0] {
                Val::Json(Value::Array(a)) => Ok(Val::from(
                    a.iter()
                        .map(|e| show(&Val::Json(e.clone())))
                        .collect::<Vec<_>>()
                        .join(sep),
                )),
                Val::Json(Value::Null) => Ok(Val::from("")),
                other => Err(format!("expected list; got {}", other.type_name())),
            }
        }
        "split" => {
            arity(&args, 2)?;
            let s = want_str(&args[0])?;
            let sep = want_str(&args[1])?;
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep).map(|p| Value::String(p.to_owned())).collect()
            };
            Ok(Val::Json(Value::Array(parts)))
        }
        "json" => {
            arity(&args, 1)?;
            Ok(Val::from(go_json(&args[0].to_json())?))
        }
        "jsonPretty" => {
            arity(&args, 1)?;
            Ok(Val::from(indent(&go_json(&args[0].to_json())?)))
        }
        "printPretty" => {
            arity(&args, 1)?;
            Ok(Val::from(pretty(&args[0].to_json())?))
        }
        "lower" => {
            arity(&args, 1)?;
            Ok(Val::from(want_str(&args[0])?.to_lowercase()))
        }
        "upper" => {
            arity(&args, 1)?;
            Ok(Val::from(want_str(&args[0])?.to_uppercase()))
        }
        "time.Now" => {
            arity(&args, 0)?;
            Ok(Val::Time(Time::now()))
        }
        "time.Parse" => {
            arity(&args, 2)?;
            Ok(Val::Time(time::parse(
                want_str(&args[0])?,
                want_str(&args[1])?,
            )?))
        }
        _ => Err(format!("function {name:?} not defined")),
    }
}

/// The text of the file at `path`, at most [`MAX_OUTPUT`] bytes of it (`/dev/zero` ends).
fn read_file(path: &str) -> Result<String, String> {
    use std::io::Read as _;
    let file = fs_err::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_OUTPUT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading {path}: {e}"))?;
    if bytes.len() > MAX_OUTPUT {
        return Err(format!("{path} is larger than {MAX_OUTPUT} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8 text"))
}

fn go_json(v: &Value) -> Result<String, String> {
    let bytes = ocireg_v1::to_go_json(v).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// Go's `json.Indent(dst, src, "", "  ")` of compact JSON.
fn indent(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    let mut chars = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if chars.peek().is_some_and(|&n| n == '}' || n == ']') {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    out
}

/// A readable view of a tag list, repository list, manifest or index;
/// `jsonPretty` for anything else.
fn pretty(v: &Value) -> Result<String, String> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut out = String::new();
    if let Some(list) = v
        .get("tags")
        .or_else(|| v.get("repositories"))
        .and_then(Value::as_array)
    {
        for e in list {
            out.push_str(&show(&Val::Json(e.clone())));
            out.push('\n');
        }
        return Ok(out);
    }
    let descriptor = |out: &mut String, d: &Value, pad: &str| {
        let _ = writeln!(out, "{pad}Digest:     {}", s(d, "digest"));
        let _ = writeln!(out, "{pad}MediaType:  {}", s(d, "mediaType"));
        if let Some(size) = d.get("size").and_then(Value::as_i64) {
            let _ = writeln!(out, "{pad}Size:       {size}");
        }
        if let Some(p) = d.get("platform") {
            let mut plat = format!("{}/{}", s(p, "os"), s(p, "architecture"));
            let variant = s(p, "variant");
            if !variant.is_empty() {
                plat = format!("{plat}/{variant}");
            }
            let _ = writeln!(out, "{pad}Platform:   {plat}");
        }
    };
    let manifests = v.get("manifests").and_then(Value::as_array);
    let layers = v.get("layers").and_then(Value::as_array);
    if manifests.is_none() && layers.is_none() {
        return Ok(indent(&go_json(v)?));
    }
    let _ = writeln!(out, "MediaType:  {}", s(v, "mediaType"));
    let artifact = s(v, "artifactType");
    if !artifact.is_empty() {
        let _ = writeln!(out, "ArtifactType: {artifact}");
    }
    if let Some(config) = v.get("config") {
        let _ = writeln!(out, "Config:");
        descriptor(&mut out, config, "  ");
    }
    for (title, list) in [("Manifests", manifests), ("Layers", layers)] {
        if let Some(list) = list {
            let _ = writeln!(out, "{title}:");
            for d in list {
                out.push('\n');
                descriptor(&mut out, d, "  ");
            }
        }
    }
    if let Some(Value::Object(a)) = v.get("annotations") {
        let _ = writeln!(out, "Annotations:");
        for (k, e) in a {
            let _ = writeln!(out, "  {k}: {}", show(&Val::Json(e.clone())));
        }
    }
    Ok(out)
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %q %x %X %f %e %g %t %%`,
/// with flags `-+ 0#`, a width and a precision.
#[expect(clippy::too_many_lines, reason = "one arm per verb")]
fn printf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero, mut space) = (false, false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(
                width
                    .unwrap_or(0usize)
                    .saturating_mul(10)
                    .saturating_add(d as usize),
            );
            chars.next();
        }
        let mut prec = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p.saturating_mul(10).saturating_add(d as usize);
                chars.next();
            }
            prec = Some(p);
        }
        // Go's bound: a larger width or precision is an error in the output.
        if width.is_some_and(|w| w > MAX_WIDTH) {
            out.push_str("%!(BADWIDTH)");
            width = None;
        }
        if prec.is_some_and(|p| p > MAX_WIDTH) {
            out.push_str("%!(BADPREC)");
            prec = None;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        let body = match verb {
            'v' | 's' => {
                let s = show(arg);
                match (verb, prec) {
                    ('s', Some(p)) => s.chars().take(p).collect(),
                    _ => s,
                }
            }
            'q' => match arg {
                Val::Json(Value::String(s)) => serde_json::to_string(s).unwrap_or_default(),
                other => format!("%!q({})", show(other)),
            },
            't' => match arg {
                Val::Json(Value::Bool(b)) => b.to_string(),
                other => format!("%!t({})", show(other)),
            },
            'd' => match arg.as_i64() {
                Some(i) => {
                    let sign = if i >= 0 && plus {
                        "+"
                    } else if i >= 0 && space {
                        " "
                    } else {
                        ""
                    };
                    format!("{sign}{i}")
                }
                None => format!("%!d({})", show(arg)),
            },
            'x' | 'X' => {
                let s = match (arg.as_i64(), arg) {
                    (Some(i), _) => format!("{i:x}"),
                    (None, Val::Json(Value::String(s))) => {
                        s.bytes().fold(String::new(), |mut acc, b| {
                            let _ = write!(acc, "{b:02x}");
                            acc
                        })
                    }
                    _ => format!("%!x({})", show(arg)),
                };
                if verb == 'X' { s.to_uppercase() } else { s }
            }
            'f' | 'F' | 'e' | 'g' => match arg.as_f64() {
                Some(f) => match verb {
                    'e' => format!("{:.*e}", prec.unwrap_or(6), f),
                    'g' => prec.map_or_else(|| f.to_string(), |p| format!("{f:.p$}")),
                    _ => format!("{:.*}", prec.unwrap_or(6), f),
                },
                None => format!("%!{verb}({})", show(arg)),
            },
            other => format!("%!{other}({})", show(arg)),
        };
        let len = body.chars().count();
        match width {
            Some(w) if w > len => {
                let pad = w - len;
                if minus {
                    out.push_str(&body);
                    out.extend(std::iter::repeat_n(' ', pad));
                } else if zero && matches!(verb, 'd' | 'f' | 'x' | 'X' | 'e' | 'g') {
                    let (sign, digits) = match body.strip_prefix(['-', '+']) {
                        Some(d) => (&body[..1], d),
                        None => ("", body.as_str()),
                    };
                    out.push_str(sign);
                    out.extend(std::iter::repeat_n('0', pad));
                    out.push_str(digits);
                } else {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(&body);
                }
            }
            _ => out.push_str(&body),
        }
    }
    if next < args.len() {
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), show(a)))
            .collect();
        let _ = write!(out, "%!(EXTRA {})", extra.join(", "));
    }
    out
}
