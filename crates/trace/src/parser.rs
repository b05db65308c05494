//! The parser: tokens to [`crate::ast::Script`], by recursive descent (expressions by
//! precedence climbing, in [`expr`]).
//!
//! The grammar is bpftrace's (0.17): a preamble of `#` lines and C definitions, then probes —
//! `attach, attach /predicate/ { statements }`. Errors are one [`Diagnostic`] at the offending
//! token, worded like bpftrace's (`syntax error, unexpected ')', expecting expression`).
//! Nesting is bounded ([`MAX_DEPTH`]) so no input can exhaust the stack.

mod expr;

use crate::ast::{AttachPoint, Block, Expr, ExprKind, Probe, Script, Stmt, StmtKind};
use crate::diag::{Diagnostic, Span, Stage};
use crate::lexer::{self, Tok, Token};

/// How deep expressions, blocks and operator chains may nest: the syntax tree is never deeper
/// (counting expression and statement nodes), so later stages may recurse over it.
pub const MAX_DEPTH: u32 = 200;

/// The parser's own stack. Unoptimised builds spend ~13 KiB of stack per parenthesis level, so
/// [`MAX_DEPTH`] levels would not fit the 2 MiB of a test thread: the parser runs on a thread
/// of its own with room to spare (pages are only touched as deep as a script nests).
const PARSER_STACK: usize = 32 << 20;

type PResult<T> = Result<T, Diagnostic>;

/// Parse a whole script.
pub fn parse(src: &str) -> Result<Script, Diagnostic> {
    let run = || Parser { tokens: lexer::tokenize(src), pos: 0, depth: 0, in_pred: false }.script();
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().name("bpfbox-trace-parser".into()).stack_size(PARSER_STACK);
        match thread.spawn_scoped(scope, run) {
            Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had (resource limits): parse here, still depth-bounded.
            Err(_) => run(),
        }
    })
}

struct Parser {
    /// Always ends with [`Tok::Eof`].
    tokens: Vec<Token>,
    pos: usize,
    depth: u32,
    /// Inside `/predicate/`: a `/` before `{` ends the predicate instead of dividing.
    in_pred: bool,
}

/// The provider names' short forms.
const PROVIDER_ALIASES: &[(&str, &str)] = &[
    ("t", "tracepoint"),
    ("u", "uprobe"),
    ("ur", "uretprobe"),
    ("k", "kprobe"),
    ("kr", "kretprobe"),
    ("f", "kfunc"),
    ("fr", "kretfunc"),
    ("i", "interval"),
    ("p", "profile"),
    ("s", "software"),
    ("h", "hardware"),
    ("U", "usdt"),
    ("rt", "rawtracepoint"),
    ("w", "watchpoint"),
    ("aw", "asyncwatchpoint"),
];

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }

    fn peek_nth(&self, n: usize) -> &Tok {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + n).min(last)].tok
    }

    fn span(&self) -> Span {
        self.tokens[self.pos].span
    }

    /// The end of the last token consumed.
    fn prev_end(&self) -> u32 {
        self.pos.checked_sub(1).map_or(0, |i| self.tokens[i].span.end)
    }

    /// The span from `start` to the end of the last token consumed.
    fn since(&self, start: Span) -> Span {
        Span { start: start.start, end: self.prev_end().max(start.end) }
    }

    /// Consume the current token (never moves past the end).
    fn bump(&mut self) -> Token {
        let tok = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn eat(&mut self, tok: &Tok) -> Option<Span> {
        if self.peek() == tok {
            Some(self.bump().span)
        } else {
            None
        }
    }

    fn expect(&mut self, tok: &Tok, expecting: &str) -> PResult<Span> {
        match self.eat(tok) {
            Some(span) => Ok(span),
            None => self.unexpected(expecting),
        }
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    /// `syntax error, unexpected <current token>, expecting <expecting>` (or the lexer's
    /// error when the current token is one).
    fn unexpected<T>(&self, expecting: &str) -> PResult<T> {
        let tok = &self.tokens[self.pos];
        let message = match &tok.tok {
            Tok::Error(msg) => msg.clone(),
            t if expecting.is_empty() => format!("syntax error, unexpected {t}"),
            t => format!("syntax error, unexpected {t}, expecting {expecting}"),
        };
        Err(Diagnostic::new(Stage::Parse, tok.span, message))
    }

    fn error<T>(&self, span: Span, message: impl Into<String>) -> PResult<T> {
        Err(Diagnostic::new(Stage::Parse, span, message))
    }

    /// Run `f` one nesting level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.deeper()?;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// One level deeper (the caller restores `depth`).
    fn deeper(&mut self) -> PResult<()> {
        if self.depth >= MAX_DEPTH {
            return self.error(self.span(), format!("nesting too deep: more than {MAX_DEPTH} levels"));
        }
        self.depth += 1;
        Ok(())
    }

    fn script(&mut self) -> PResult<Script> {
        let mut script = Script::default();
        loop {
            match self.peek().clone() {
                Tok::Preamble(text) if script.probes.is_empty() => {
                    let span = self.bump().span;
                    script.preamble.push((text, span));
                }
                Tok::Preamble(_) => {
                    return self
                        .error(self.span(), "preprocessor directives and C definitions must come before the probes")
                }
                Tok::AttachPoint(_) => script.probes.push(self.probe()?),
                Tok::Eof if !script.probes.is_empty() => return Ok(script),
                _ => return self.unexpected("probe"),
            }
        }
    }

    fn probe(&mut self) -> PResult<Probe> {
        let start = self.span();
        let mut attach = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::AttachPoint(raw) => {
                    let span = self.bump().span;
                    attach.push(attach_point(raw, span));
                }
                _ => return self.unexpected("attach point"),
            }
            if self.eat(&Tok::Comma).is_none() {
                break;
            }
        }
        let predicate = if let Tok::Slash { .. } = self.peek() {
            self.bump();
            self.in_pred = true;
            let pred = self.expr();
            self.in_pred = false;
            let pred = pred?;
            if self.eat(&Tok::Slash { ends_pred: true }).is_none() {
                return self.unexpected("'/' ending the predicate");
            }
            Some(pred)
        } else {
            None
        };
        if *self.peek() != Tok::LBrace {
            return self.unexpected(if predicate.is_some() { "'{'" } else { "',', '/' or '{'" });
        }
        let body = self.block()?;
        Ok(Probe { attach, predicate, body, span: self.since(start) })
    }

    /// `{ stmt; stmt; ... }`: empty statements allowed, the last `;` optional, none needed
    /// after `if`, `while` and `unroll`.
    fn block(&mut self) -> PResult<Block> {
        let start = self.expect(&Tok::LBrace, "'{'")?;
        self.nested(|p| {
            let mut stmts = Vec::new();
            loop {
                while p.eat(&Tok::Semi).is_some() {}
                if p.eat(&Tok::RBrace).is_some() {
                    return Ok(Block { stmts, span: p.since(start) });
                }
                let stmt = p.stmt()?;
                let compound =
                    matches!(stmt.kind, StmtKind::If { .. } | StmtKind::While { .. } | StmtKind::Unroll { .. });
                stmts.push(stmt);
                if !compound && !matches!(p.peek(), Tok::Semi | Tok::RBrace) {
                    return p.unexpected("';' or '}'");
                }
            }
        })
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        let start = self.span();
        let word = match self.peek() {
            Tok::Ident(w) => w.as_str(),
            _ => "",
        };
        let kind = match word {
            "if" => return self.if_stmt(),
            "while" => {
                self.bump();
                let cond = self.paren_expr()?;
                StmtKind::While { cond, body: self.block()? }
            }
            "unroll" => {
                self.bump();
                self.expect(&Tok::LParen, "'('")?;
                let count = match self.peek() {
                    Tok::Int(n) => ExprKind::Int(*n),
                    Tok::Positional(n) => ExprKind::Positional(*n),
                    _ => return self.unexpected("integer or positional parameter"),
                };
                let count = Expr { kind: count, span: self.bump().span };
                self.expect(&Tok::RParen, "')'")?;
                StmtKind::Unroll { count, body: self.block()? }
            }
            "return" | "break" | "continue" => {
                let kind = match word {
                    "return" => StmtKind::Return,
                    "break" => StmtKind::Break,
                    _ => StmtKind::Continue,
                };
                self.bump();
                kind
            }
            "else" => return self.error(start, "'else' without a preceding 'if'"),
            _ => return self.expr_or_assign(),
        };
        Ok(Stmt { kind, span: self.since(start) })
    }

    /// `( expr )`
    fn paren_expr(&mut self) -> PResult<Expr> {
        self.expect(&Tok::LParen, "'('")?;
        let e = self.expr()?;
        self.expect(&Tok::RParen, "')'")?;
        Ok(e)
    }

    /// `if (c) { } else if (c) { } else { }`; an `else if` is an `If` alone in `els`.
    fn if_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump().span;
        let cond = self.paren_expr()?;
        let then = self.block()?;
        let els = if self.at_word("else") {
            self.bump();
            if self.at_word("if") {
                let inner = self.nested(|p| p.if_stmt())?;
                Some(Block { span: inner.span, stmts: vec![inner] })
            } else {
                Some(self.block()?)
            }
        } else {
            None
        };
        Ok(Stmt { kind: StmtKind::If { cond, then, els }, span: self.since(start) })
    }

    /// An expression statement, or an assignment to a map or a variable.
    fn expr_or_assign(&mut self) -> PResult<Stmt> {
        let start = self.span();
        let first_pos = self.pos;
        let target = self.expr()?;
        let Tok::Assign(op) = *self.peek() else {
            return Ok(Stmt { kind: StmtKind::Expr(target), span: self.since(start) });
        };
        let assign = self.span();
        // Only a bare `@map[...]` or `$var` (not parenthesised) can be assigned.
        let first_is_map = matches!(self.tokens[first_pos].tok, Tok::Map(_));
        let bare_var = matches!(self.tokens[first_pos].tok, Tok::Var(_)) && self.pos == first_pos + 1;
        let kind = match target.kind {
            ExprKind::Map(map) if first_is_map => {
                self.bump();
                StmtKind::AssignMap { map, op, value: self.expr()? }
            }
            ExprKind::Var(name) if bare_var => {
                self.bump();
                StmtKind::AssignVar { name, name_span: target.span, op, value: self.expr()? }
            }
            ExprKind::Field { field, arrow: false, .. } if field.bytes().all(|c| c.is_ascii_digit()) => {
                return self.error(
                    target.span.to(assign),
                    "Tuples are immutable once created. Consider creating a new tuple and assigning it instead.",
                );
            }
            _ => {
                let message = format!(
                    "syntax error, unexpected {}: only maps (@x) and variables ($x) can be assigned",
                    self.peek()
                );
                return self.error(assign, message);
            }
        };
        Ok(Stmt { kind, span: self.since(start) })
    }
}

/// Split an attach point at `:` (outside quotes), unquote, resolve the provider alias.
fn attach_point(raw: String, span: Span) -> AttachPoint {
    let mut pieces = vec![String::new()];
    let mut quoted = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        let cur = pieces.last_mut().expect("pieces is never empty");
        match c {
            '"' => quoted = !quoted,
            '\\' => cur.extend(chars.next()),
            ':' if !quoted => pieces.push(String::new()),
            c => cur.push(c),
        }
    }
    let first = pieces.remove(0);
    let provider =
        PROVIDER_ALIASES.iter().find(|(alias, _)| *alias == first).map_or(first, |(_, full)| full.to_string());
    AttachPoint { provider, parts: pieces, raw, span }
}
