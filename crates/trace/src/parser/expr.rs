//! Expressions, by precedence climbing over C's operator table:
//! `?:` < `||` < `&&` < `|` < `^` < `&` < `== !=` < `< <= > >=` < `<< >>` < `+ -` < `* / %`
//! < casts and unary operators < postfix (`.`, `->`, `[i]`, `++`, `--`, calls).

use super::{PResult, Parser};
use crate::ast::{BinOp, Expr, ExprKind, MapRef, TypeName, UnOp};
use crate::diag::Span;
use crate::lexer::Tok;

/// Builtin variables (besides `argN` and `sargN`), as bpftrace 0.17 documents them.
const BUILTINS: &[&str] = &[
    "pid", "tid", "uid", "gid", "nsecs", "elapsed", "numaid", "cpu", "comm", "kstack", "ustack", "func", "probe",
    "curtask", "rand", "cgroup", "cpid", "args", "ctx", "username", "retval", "jiffies",
];

/// Words that cannot start an expression.
const KEYWORDS: &[&str] = &["if", "else", "while", "unroll", "return", "break", "continue", "struct", "union", "enum"];

/// Words that make up an integer type in a cast: `(uint32)`, `(unsigned long)`, `(int8 *)`.
const INT_TYPE_WORDS: &[&str] = &[
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "int", "uint", "char", "short", "long",
    "unsigned", "signed", "bool", "void",
];

/// Whether `name` is a builtin variable.
pub fn is_builtin(name: &str) -> bool {
    let numbered = |prefix: &str| {
        name.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    };
    BUILTINS.contains(&name) || numbered("arg") || numbered("sarg")
}

/// Binding strength of a binary operator (higher binds tighter).
fn precedence(op: BinOp) -> u8 {
    use BinOp::*;
    match op {
        LogOr => 1,
        LogAnd => 2,
        BitOr => 3,
        BitXor => 4,
        BitAnd => 5,
        Eq | Ne => 6,
        Lt | Le | Gt | Ge => 7,
        Shl | Shr => 8,
        Add | Sub => 9,
        Mul | Div | Mod => 10,
    }
}

impl Parser {
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        let cond = self.binary(1)?;
        if self.eat(&Tok::Question).is_none() {
            return Ok(cond);
        }
        let then = self.nested(|p| p.expr())?;
        self.expect(&Tok::Colon, "':'")?;
        let els = self.nested(|p| p.expr())?;
        let span = cond.span.to(els.span);
        Ok(Expr { kind: ExprKind::Ternary { cond: Box::new(cond), then: Box::new(then), els: Box::new(els) }, span })
    }

    /// The binary operator at the current token, if it is one.
    fn binop(&self) -> Option<BinOp> {
        match self.peek() {
            Tok::Op(op) => Some(*op),
            Tok::Slash { ends_pred } if !(*ends_pred && self.in_pred) => Some(BinOp::Div),
            _ => None,
        }
    }

    /// Operators binding at least as tightly as `min_prec`, left-associative.
    fn binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let saved = self.depth;
        let mut lhs = self.unary()?;
        while let Some(op) = self.binop().filter(|&op| precedence(op) >= min_prec) {
            self.bump();
            let rhs = self.binary(precedence(op) + 1)?;
            self.deeper()?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span };
        }
        self.depth = saved;
        Ok(lhs)
    }

    /// Prefix operators and casts.
    fn unary(&mut self) -> PResult<Expr> {
        self.nested(|p| {
            let start = p.span();
            let op = match p.peek() {
                Tok::Op(BinOp::Sub) => Some(UnOp::Neg),
                Tok::Op(BinOp::Mul) => Some(UnOp::Deref),
                Tok::Op(BinOp::BitAnd) => Some(UnOp::AddrOf),
                Tok::Bang => Some(UnOp::Not),
                Tok::Tilde => Some(UnOp::BitNot),
                _ => None,
            };
            if let Some(op) = op {
                p.bump();
                let expr = p.unary()?;
                let span = start.to(expr.span);
                return Ok(Expr { kind: ExprKind::Unary { op, expr: Box::new(expr) }, span });
            }
            if let inc @ (Tok::PlusPlus | Tok::MinusMinus) = p.peek() {
                let inc = *inc == Tok::PlusPlus;
                p.bump();
                let target = p.primary()?;
                return p.inc_dec(target, start, inc, true);
            }
            if let Some((ty, after)) = p.type_in_parens(p.pos) {
                p.pos = after;
                let expr = p.unary()?;
                let span = start.to(expr.span);
                return Ok(Expr { kind: ExprKind::Cast { ty, expr: Box::new(expr) }, span });
            }
            p.postfix()
        })
    }

    /// `++`/`--` applied to `target` (which must be a `$var` or an `@map`).
    fn inc_dec(&self, target: Expr, op: Span, inc: bool, prefix: bool) -> PResult<Expr> {
        if !matches!(target.kind, ExprKind::Var(_) | ExprKind::Map(_)) {
            let sym = if inc { "++" } else { "--" };
            return self.error(op, format!("The {sym} operator must be applied to a map or variable"));
        }
        let span = op.to(target.span);
        Ok(Expr { kind: ExprKind::IncDec { target: Box::new(target), inc, prefix }, span })
    }

    /// `(type)` starting at token `at`: the type and the index of the token after `)`.
    fn type_in_parens(&self, at: usize) -> Option<(TypeName, usize)> {
        let tok = |i: usize| self.tokens.get(i).map_or(&Tok::Eof, |t| &t.tok);
        if *tok(at) != Tok::LParen {
            return None;
        }
        let word = |i: usize| match tok(i) {
            Tok::Ident(w) => Some(w.as_str()),
            _ => None,
        };
        let mut i = at + 1;
        let name = match (word(i), word(i + 1)) {
            (Some(kw @ ("struct" | "union" | "enum")), Some(name)) => {
                i += 2;
                format!("{kw} {name}")
            }
            _ => {
                let words: Vec<&str> = (i..).map_while(|j| word(j).filter(|w| INT_TYPE_WORDS.contains(w))).collect();
                if words.is_empty() {
                    return None;
                }
                i += words.len();
                words.join(" ")
            }
        };
        let mut ptr_depth = 0;
        while *tok(i) == Tok::Op(BinOp::Mul) {
            ptr_depth += 1;
            i += 1;
        }
        if *tok(i) != Tok::RParen {
            return None;
        }
        let span = self.tokens[at + 1].span.to(self.tokens[i - 1].span);
        Some((TypeName { name, ptr_depth, span }, i + 1))
    }

    /// A primary expression and its postfix operators: `.field`, `->field`, `[index]`,
    /// `++`, `--`.
    fn postfix(&mut self) -> PResult<Expr> {
        let saved = self.depth;
        let mut e = self.primary()?;
        loop {
            let start = e.span;
            let kind = match self.peek() {
                Tok::Dot | Tok::Arrow => {
                    let arrow = *self.peek() == Tok::Arrow;
                    self.bump();
                    let field = match self.peek() {
                        Tok::Ident(name) => name.clone(),
                        Tok::Int(n) if !arrow => n.to_string(),
                        _ => return self.unexpected("field name"),
                    };
                    self.bump();
                    ExprKind::Field { expr: Box::new(e), field, arrow }
                }
                Tok::LBracket => {
                    self.bump();
                    let index = self.expr()?;
                    self.expect(&Tok::RBracket, "']'")?;
                    ExprKind::Index { expr: Box::new(e), index: Box::new(index) }
                }
                inc @ (Tok::PlusPlus | Tok::MinusMinus) => {
                    let inc = *inc == Tok::PlusPlus;
                    let op = self.bump().span;
                    e = self.inc_dec(e, op, inc, false)?;
                    self.deeper()?;
                    continue;
                }
                _ => break,
            };
            self.deeper()?;
            e = Expr { kind, span: self.since(start) };
        }
        self.depth = saved;
        Ok(e)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let start = self.span();
        let kind = match self.peek().clone() {
            Tok::Int(n) => ExprKind::Int(n),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Positional(n) => ExprKind::Positional(n),
            Tok::PositionalCount => ExprKind::PositionalCount,
            Tok::Var(name) => ExprKind::Var(name),
            Tok::Map(name) => {
                self.bump();
                let keys =
                    if self.eat(&Tok::LBracket).is_some() { self.list(&Tok::RBracket, "']'")? } else { Vec::new() };
                let span = self.since(start);
                return Ok(Expr { kind: ExprKind::Map(MapRef { name, keys, span }), span });
            }
            Tok::Ident(name) if KEYWORDS.contains(&name.as_str()) => return self.unexpected("expression"),
            Tok::Ident(name) if *self.peek_nth(1) == Tok::LParen => return self.call(name),
            Tok::Ident(name) if is_builtin(&name) => ExprKind::Builtin(name),
            Tok::Ident(name) => ExprKind::Ident(name),
            Tok::LParen => return self.parens(),
            _ => return self.unexpected("expression"),
        };
        self.bump();
        Ok(Expr { kind, span: start })
    }

    /// `(expr)` (its span widened to the parentheses) or a tuple `(a, b, ...)`.
    fn parens(&mut self) -> PResult<Expr> {
        let start = self.bump().span;
        let first = self.expr()?;
        if self.eat(&Tok::Comma).is_none() {
            self.expect(&Tok::RParen, "')' or ','")?;
            return Ok(Expr { span: self.since(start), ..first });
        }
        let mut items = vec![first];
        items.extend(self.list(&Tok::RParen, "')'")?);
        Ok(Expr { kind: ExprKind::Tuple(items), span: self.since(start) })
    }

    /// `name(args)`; `sizeof(type)` takes the type as an `Ident` with its text.
    fn call(&mut self, name: String) -> PResult<Expr> {
        let name_span = self.bump().span;
        let args = match self.type_in_parens(self.pos) {
            Some((ty, after)) if name == "sizeof" => {
                self.pos = after;
                let text = format!("{}{}", ty.name, if ty.ptr_depth > 0 { " " } else { "" })
                    + &"*".repeat(ty.ptr_depth as usize);
                vec![Expr { kind: ExprKind::Ident(text), span: ty.span }]
            }
            _ => {
                self.bump();
                if self.eat(&Tok::RParen).is_some() {
                    Vec::new()
                } else {
                    self.list(&Tok::RParen, "')'")?
                }
            }
        };
        Ok(Expr { kind: ExprKind::Call { name, name_span, args }, span: self.since(name_span) })
    }

    /// `expr, expr, ... <close>` (at least one expression).
    fn list(&mut self, close: &Tok, closing: &str) -> PResult<Vec<Expr>> {
        let mut items = Vec::new();
        loop {
            items.push(self.expr()?);
            if self.eat(close).is_some() {
                return Ok(items);
            }
            if self.eat(&Tok::Comma).is_none() {
                return self.unexpected(&format!("',' or {closing}"));
            }
        }
    }
}
