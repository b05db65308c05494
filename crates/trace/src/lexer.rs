//! Tokens of the bpftrace language.
//!
//! bpftrace's lexical structure depends on where in a script the text is: attach points
//! (`uprobe:/bin/bash:readline`, `kprobe:vfs_*`) are free-form text up to whitespace, `,` or
//! `{`; the preamble (`#include` lines, `struct X { ... };`) is kept verbatim; probe bodies and
//! predicates are ordinary tokens. The lexer follows that structure with a small state machine
//! (top level → attach points → predicate → body → top level), so the whole script becomes one
//! token list and the parser can look ahead freely.
//!
//! A lexical error does not stop the lexer's caller at once: it becomes a [`Tok::Error`] token
//! (the last before [`Tok::Eof`]), so the parser reports whichever error comes first in the
//! script.

use std::fmt;

use crate::ast::BinOp;
use crate::diag::Span;

/// One token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A word: identifiers, keywords (`if`, `struct`, ...), builtins and function names.
    Ident(String),
    Int(u64),
    /// A string literal, escapes resolved.
    Str(String),
    /// `@name` (without the `@`; `@` alone is the empty name).
    Map(String),
    /// `$name` (without the `$`).
    Var(String),
    /// `$1`, `$2`, ...
    Positional(u32),
    /// `$#`
    PositionalCount,
    /// An attach point's text as written (`kprobe:vfs_*`, `uprobe:"/a b":f`).
    AttachPoint(String),
    /// A preamble item, verbatim: a `#...` line or a C `struct`/`union`/`enum` definition.
    Preamble(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Semi,
    Colon,
    Question,
    Dot,
    Arrow,
    /// `=` (`None`) or a compound assignment such as `+=` (`Some(Add)`).
    Assign(Option<BinOp>),
    /// A binary operator other than `/`, also the unary `-`, `*`, `&`.
    Op(BinOp),
    /// `/`; `ends_pred` when only whitespace or comments stand between it and a `{` (so it can
    /// close a predicate: `/pid == 1/ {`).
    Slash {
        ends_pred: bool,
    },
    Bang,
    Tilde,
    PlusPlus,
    MinusMinus,
    /// A lexical error (unterminated string, bad escape, invalid character...).
    Error(String),
    Eof,
}

impl fmt::Display for Tok {
    /// How the token is named in "unexpected ..." messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "identifier '{s}'"),
            Tok::Int(n) => write!(f, "integer '{n}'"),
            Tok::Str(_) => write!(f, "string"),
            Tok::Map(s) => write!(f, "map '@{s}'"),
            Tok::Var(s) => write!(f, "variable '${s}'"),
            Tok::Positional(n) => write!(f, "positional parameter '${n}'"),
            Tok::PositionalCount => write!(f, "'$#'"),
            Tok::AttachPoint(s) => write!(f, "attach point '{s}'"),
            Tok::Preamble(_) => write!(f, "preprocessor directive or C definition"),
            Tok::Error(msg) => write!(f, "{msg}"),
            Tok::Eof => write!(f, "end of file"),
            other => write!(f, "'{}'", other.symbol()),
        }
    }
}

impl Tok {
    /// The source text of a punctuation token.
    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Semi => ";",
            Tok::Colon => ":",
            Tok::Question => "?",
            Tok::Dot => ".",
            Tok::Arrow => "->",
            Tok::Assign(None) => "=",
            Tok::Assign(Some(op)) => compound_symbol(*op),
            Tok::Op(op) => op.symbol(),
            Tok::Slash { .. } => "/",
            Tok::Bang => "!",
            Tok::Tilde => "~",
            Tok::PlusPlus => "++",
            Tok::MinusMinus => "--",
            _ => "?",
        }
    }
}

fn compound_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+=",
        BinOp::Sub => "-=",
        BinOp::Mul => "*=",
        BinOp::Div => "/=",
        BinOp::Mod => "%=",
        BinOp::BitAnd => "&=",
        BinOp::BitOr => "|=",
        BinOp::BitXor => "^=",
        BinOp::Shl => "<<=",
        BinOp::Shr => ">>=",
        _ => "=",
    }
}

/// Where in the script the lexer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Between probes: preamble items or the first attach point of a probe.
    Top,
    /// After a `,` between attach points.
    Attach,
    /// After an attach point: `,`, a predicate's `/` or the body's `{`.
    AfterAttach,
    /// Inside `/predicate/`.
    Pred,
    /// Inside a probe body, at this brace depth.
    Body(u32),
}

/// Split a whole script into tokens; the list always ends with [`Tok::Eof`].
pub fn tokenize(src: &str) -> Vec<Token> {
    let mut lx = Lexer { src, bytes: src.as_bytes(), pos: 0, mode: Mode::Top, seen_probe: false, out: Vec::new() };
    lx.run();
    lx.out
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    mode: Mode,
    /// Preamble items are recognised only before the first probe.
    seen_probe: bool,
    out: Vec<Token>,
}

/// Lexing stops at the first error; the error travels as a token.
type Stop = ();

impl Lexer<'_> {
    fn run(&mut self) {
        let _ = self.all_tokens();
        let end = self.src.len();
        self.out.push(Token { tok: Tok::Eof, span: Span::new(end, end) });
    }

    fn all_tokens(&mut self) -> Result<(), Stop> {
        loop {
            self.skip_trivia()?;
            if self.pos >= self.bytes.len() {
                return Ok(());
            }
            let start = self.pos;
            let tok = match self.mode {
                Mode::Top if self.bytes[start] == b'#' => self.preproc_line(),
                Mode::Top if self.at_c_definition() => self.c_definition()?,
                Mode::Top | Mode::Attach if is_attach_start(self.bytes[start]) => {
                    self.seen_probe = true;
                    self.mode = Mode::AfterAttach;
                    self.attach_point()?
                }
                _ => self.token()?,
            };
            self.mode = next_mode(self.mode, &tok);
            self.out.push(Token { tok, span: Span::new(start, self.pos) });
        }
    }

    fn error<T>(&mut self, start: usize, msg: impl Into<String>) -> Result<T, Stop> {
        let end = self.pos.max(start + 1).min(self.bytes.len());
        self.out.push(Token { tok: Tok::Error(msg.into()), span: Span::new(start.min(end), end) });
        Err(())
    }

    fn peek_at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    /// Whitespace, `//` and `/* */` comments, and `#!` lines (the shebang).
    fn skip_trivia(&mut self) -> Result<(), Stop> {
        loop {
            let c = self.peek_at(self.pos);
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else if c == b'/' && self.peek_at(self.pos + 1) == b'/' || c == b'#' && self.peek_at(self.pos + 1) == b'!'
            {
                self.pos = self.line_end(self.pos);
            } else if c == b'/' && self.peek_at(self.pos + 1) == b'*' {
                let start = self.pos;
                match self.src[start + 2..].find("*/") {
                    Some(i) => self.pos = start + 2 + i + 2,
                    None => {
                        self.pos = self.bytes.len();
                        return self.error(start, "unterminated comment: end of file during comment");
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    fn line_end(&self, from: usize) -> usize {
        self.src[from..].find('\n').map_or(self.bytes.len(), |i| from + i)
    }

    /// A `#...` line, with `\`-continued lines.
    fn preproc_line(&mut self) -> Tok {
        let start = self.pos;
        let mut end = self.line_end(start);
        while self.src[start..end].trim_end().ends_with('\\') && end < self.bytes.len() {
            end = self.line_end(end + 1);
        }
        self.pos = end;
        Tok::Preamble(self.src[start..end].trim_end().to_string())
    }

    /// `struct`, `union` or `enum` (or `typedef`) starting a C definition at top level.
    fn at_c_definition(&self) -> bool {
        if self.seen_probe {
            return false;
        }
        let word = self.word_at(self.pos);
        matches!(word, "struct" | "union" | "enum" | "typedef")
    }

    fn word_at(&self, at: usize) -> &str {
        let len = self.bytes[at..].iter().take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_').count();
        &self.src[at..at + len]
    }

    /// A C definition, verbatim: up to its closing `}` (and a following `;`), or up to a `;`.
    fn c_definition(&mut self) -> Result<Tok, Stop> {
        let start = self.pos;
        let mut depth = 0u32;
        while self.pos < self.bytes.len() {
            let c = self.bytes[self.pos];
            self.pos += 1;
            match c {
                b'{' => depth += 1,
                b'}' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        // `};` belongs to the definition; a declarator (`} x;`) too.
                        let rest = &self.src[self.pos..];
                        let declarator = |c: char| c.is_ascii_alphanumeric() || c.is_whitespace() || "_*,".contains(c);
                        if let Some(semi) = rest.find(';').filter(|&i| rest[..i].chars().all(declarator)) {
                            self.pos += semi + 1;
                        }
                        return Ok(Tok::Preamble(self.src[start..self.pos].to_string()));
                    }
                }
                b';' if depth == 0 => return Ok(Tok::Preamble(self.src[start..self.pos].to_string())),
                _ => {}
            }
        }
        self.error(start, "unterminated C definition: end of file before its closing '}'")
    }

    /// An attach point's raw text: stops at whitespace, `,`, `{`, a comment, or any character
    /// that cannot be part of one. Quoted parts may hold anything but a newline.
    fn attach_point(&mut self) -> Result<Tok, Stop> {
        let start = self.pos;
        while self.pos < self.bytes.len() {
            let c = self.bytes[self.pos];
            let next = self.peek_at(self.pos + 1);
            if c == b'"' {
                let quote = self.pos;
                self.pos += 1;
                loop {
                    if self.pos >= self.bytes.len() || self.bytes[self.pos] == b'\n' {
                        return self.error(quote, "unterminated string");
                    }
                    match self.bytes[self.pos] {
                        b'"' => break,
                        b'\\' if !matches!(self.peek_at(self.pos + 1), 0 | b'\n') => self.pos += 2,
                        _ => self.pos += 1,
                    }
                }
                self.pos += 1;
            } else if c == b'\\' && next != 0 && !next.is_ascii_whitespace() {
                self.pos += 2;
            } else if c == b'/' && (next == b'/' || next == b'*') {
                break;
            } else if is_attach_char(c) {
                self.pos += 1;
            } else {
                break;
            }
        }
        // Keep a multi-byte character whole if one follows an escape.
        while !self.src.is_char_boundary(self.pos) {
            self.pos += 1;
        }
        Ok(Tok::AttachPoint(self.src[start..self.pos].to_string()))
    }

    /// One ordinary token.
    fn token(&mut self) -> Result<Tok, Stop> {
        let start = self.pos;
        let c = self.bytes[start];
        if c.is_ascii_alphabetic() || c == b'_' {
            let word = self.word_at(start).to_string();
            self.pos += word.len();
            return Ok(Tok::Ident(word));
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        match c {
            b'"' => return self.string(),
            b'@' => {
                let name = self.word_after_sigil(start);
                return Ok(Tok::Map(name));
            }
            b'$' => return self.dollar(),
            _ => {}
        }
        let (tok, len) = match (c, self.peek_at(start + 1), self.peek_at(start + 2)) {
            (b'<', b'<', b'=') => (Tok::Assign(Some(BinOp::Shl)), 3),
            (b'>', b'>', b'=') => (Tok::Assign(Some(BinOp::Shr)), 3),
            (b'<', b'<', _) => (Tok::Op(BinOp::Shl), 2),
            (b'>', b'>', _) => (Tok::Op(BinOp::Shr), 2),
            (b'<', b'=', _) => (Tok::Op(BinOp::Le), 2),
            (b'>', b'=', _) => (Tok::Op(BinOp::Ge), 2),
            (b'=', b'=', _) => (Tok::Op(BinOp::Eq), 2),
            (b'!', b'=', _) => (Tok::Op(BinOp::Ne), 2),
            (b'&', b'&', _) => (Tok::Op(BinOp::LogAnd), 2),
            (b'|', b'|', _) => (Tok::Op(BinOp::LogOr), 2),
            (b'+', b'+', _) => (Tok::PlusPlus, 2),
            (b'-', b'-', _) => (Tok::MinusMinus, 2),
            (b'-', b'>', _) => (Tok::Arrow, 2),
            (b'/', b'=', _) => (Tok::Assign(Some(BinOp::Div)), 2),
            (b'/', _, _) => (Tok::Slash { ends_pred: self.brace_follows(start + 1) }, 1),
            (op @ (b'+' | b'-' | b'*' | b'%' | b'&' | b'|' | b'^'), b'=', _) => (Tok::Assign(Some(arith_op(op))), 2),
            (op @ (b'+' | b'-' | b'*' | b'%' | b'&' | b'|' | b'^' | b'<' | b'>'), _, _) => (Tok::Op(arith_op(op)), 1),
            (b'=', _, _) => (Tok::Assign(None), 1),
            (b'!', _, _) => (Tok::Bang, 1),
            (b'~', _, _) => (Tok::Tilde, 1),
            (b'(', _, _) => (Tok::LParen, 1),
            (b')', _, _) => (Tok::RParen, 1),
            (b'{', _, _) => (Tok::LBrace, 1),
            (b'}', _, _) => (Tok::RBrace, 1),
            (b'[', _, _) => (Tok::LBracket, 1),
            (b']', _, _) => (Tok::RBracket, 1),
            (b',', _, _) => (Tok::Comma, 1),
            (b';', _, _) => (Tok::Semi, 1),
            (b':', _, _) => (Tok::Colon, 1),
            (b'?', _, _) => (Tok::Question, 1),
            (b'.', _, _) => (Tok::Dot, 1),
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or('?');
                self.pos += ch.len_utf8();
                return self.error(start, format!("invalid character '{}'", ch.escape_debug()));
            }
        };
        self.pos += len;
        Ok(tok)
    }

    /// Whether only whitespace and comments stand between `at` and a `{`.
    fn brace_follows(&self, mut at: usize) -> bool {
        loop {
            match (self.peek_at(at), self.peek_at(at + 1)) {
                (c, _) if c.is_ascii_whitespace() => at += 1,
                (b'/', b'/') => at = self.line_end(at),
                (b'/', b'*') => match self.src[at + 2..].find("*/") {
                    Some(i) => at += 2 + i + 2,
                    None => return false,
                },
                (c, _) => return c == b'{',
            }
        }
    }

    /// The identifier after `@` or `$` (possibly empty); moves past both.
    fn word_after_sigil(&mut self, sigil: usize) -> String {
        let rest = &self.bytes[sigil + 1..];
        let len = if rest.first().is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_') {
            self.word_at(sigil + 1).len()
        } else {
            0
        };
        self.pos = sigil + 1 + len;
        self.src[sigil + 1..self.pos].to_string()
    }

    /// `$name`, `$1`, `$#`.
    fn dollar(&mut self) -> Result<Tok, Stop> {
        let start = self.pos;
        match self.peek_at(start + 1) {
            b'#' => {
                self.pos += 2;
                Ok(Tok::PositionalCount)
            }
            c if c.is_ascii_digit() => {
                let digits = self.bytes[start + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                self.pos = start + 1 + digits;
                match self.src[start + 1..self.pos].parse::<u32>() {
                    Ok(n) if n >= 1 => Ok(Tok::Positional(n)),
                    _ => {
                        let text = self.src[start..self.pos].to_string();
                        self.error(start, format!("param {text} is out of integer range [1, {}]", u32::MAX))
                    }
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => Ok(Tok::Var(self.word_after_sigil(start))),
            _ => {
                self.pos += 1;
                self.error(start, "'$' must be followed by a variable name, a number or '#'")
            }
        }
    }

    /// Integer literals: `123`, `1_000`, `0x1f`, `017`, `1e6`, with an optional C suffix
    /// (`u`, `l`, `ul`, `ll`, `ull`, any case).
    fn number(&mut self) -> Result<Tok, Stop> {
        let start = self.pos;
        let len = self.bytes[start..].iter().take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_').count();
        self.pos = start + len;
        let text = &self.src[start..self.pos];
        match parse_int(text) {
            Ok(n) => Ok(Tok::Int(n)),
            Err(why) => {
                let msg = format!("{why}: '{text}'");
                self.error(start, msg)
            }
        }
    }

    /// A string literal with escapes `\n \t \r \\ \" \xNN \NNN`. Escaped bytes above 0x7f
    /// become the character with that code point.
    fn string(&mut self) -> Result<Tok, Stop> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(ch) = self.src[self.pos..].chars().next() else {
                return self.error(start, "unterminated string");
            };
            match ch {
                '"' => {
                    self.pos += 1;
                    return Ok(Tok::Str(out));
                }
                '\n' => return self.error(start, "unterminated string"),
                '\\' => {
                    let esc = self.pos;
                    self.pos += 1;
                    let c = self.peek_at(self.pos);
                    let simple = match c {
                        b'n' => Some('\n'),
                        b't' => Some('\t'),
                        b'r' => Some('\r'),
                        b'\\' => Some('\\'),
                        b'"' => Some('"'),
                        _ => None,
                    };
                    if let Some(s) = simple {
                        out.push(s);
                        self.pos += 1;
                    } else if c == b'x' && self.peek_at(self.pos + 1).is_ascii_hexdigit() {
                        let digits =
                            self.bytes[self.pos + 1..].iter().take(2).take_while(|c| c.is_ascii_hexdigit()).count();
                        let v = u8::from_str_radix(&self.src[self.pos + 1..self.pos + 1 + digits], 16).unwrap_or(0);
                        out.push(char::from(v));
                        self.pos += 1 + digits;
                    } else if (b'0'..=b'7').contains(&c) {
                        let digits =
                            self.bytes[self.pos..].iter().take(3).take_while(|c| (b'0'..=b'7').contains(c)).count();
                        let v = u32::from_str_radix(&self.src[self.pos..self.pos + digits], 8).unwrap_or(0);
                        match u8::try_from(v) {
                            Ok(b) => out.push(char::from(b)),
                            Err(_) => {
                                self.pos += digits;
                                return self.error(esc, "octal escape out of range (at most \\377)");
                            }
                        }
                        self.pos += digits;
                    } else {
                        let Some(bad) = self.src[self.pos..].chars().next() else {
                            return self.error(start, "unterminated string");
                        };
                        self.pos += bad.len_utf8();
                        return self.error(esc, format!("invalid escape character '\\{}'", bad.escape_debug()));
                    }
                }
                _ => {
                    out.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }
}

/// The mode after `tok` was read in `mode`.
fn next_mode(mode: Mode, tok: &Tok) -> Mode {
    match (mode, tok) {
        (Mode::Body(1), Tok::RBrace) => Mode::Top,
        (Mode::Body(d), Tok::RBrace) => Mode::Body(d - 1),
        (Mode::Body(d), Tok::LBrace) => Mode::Body(d + 1),
        (Mode::Body(d), _) => Mode::Body(d),
        (_, Tok::LBrace) => Mode::Body(1),
        (Mode::AfterAttach, Tok::Comma) => Mode::Attach,
        (Mode::AfterAttach, Tok::Slash { .. }) => Mode::Pred,
        (Mode::Pred, Tok::Slash { ends_pred: true }) => Mode::AfterAttach,
        (m, _) => m,
    }
}

fn arith_op(c: u8) -> BinOp {
    match c {
        b'+' => BinOp::Add,
        b'-' => BinOp::Sub,
        b'*' => BinOp::Mul,
        b'%' => BinOp::Mod,
        b'&' => BinOp::BitAnd,
        b'|' => BinOp::BitOr,
        b'^' => BinOp::BitXor,
        b'<' => BinOp::Lt,
        _ => BinOp::Gt,
    }
}

fn is_attach_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'*' || c == b'?'
}

fn is_attach_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"_-./+*?[]:$".contains(&c)
}

/// The value of an integer literal's text, or why it is not one.
pub fn parse_int(text: &str) -> Result<u64, &'static str> {
    const BAD: &str = "invalid integer literal";
    const RANGE: &str = "integer literal out of range";
    let lower = text.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        let digits = strip_int_suffix(hex);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(BAD);
        }
        return u64::from_str_radix(digits, 16).map_err(|_| RANGE);
    }
    if let Some((coeff, exp)) = lower.split_once('e') {
        let (coeff, exp) = (decimal(coeff).ok_or(BAD)?, decimal(strip_int_suffix(exp)).ok_or(BAD)?);
        let scale = u32::try_from(exp).ok().and_then(|e| 10u64.checked_pow(e)).ok_or(RANGE)?;
        return coeff.checked_mul(scale).ok_or(RANGE);
    }
    let digits = strip_int_suffix(&lower);
    if digits.len() > 1 && digits.starts_with('0') && !digits.contains('_') {
        if !digits.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
            return Err("invalid octal integer literal");
        }
        return u64::from_str_radix(digits, 8).map_err(|_| RANGE);
    }
    match decimal(digits) {
        Some(n) => Ok(n),
        None if digits.bytes().all(|c| c.is_ascii_digit()) && !digits.is_empty() => Err(RANGE),
        None => Err(BAD),
    }
}

/// Decimal digits with single `_` separators between them (`1_000`).
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    let mut n: u64 = 0;
    for c in text.bytes().filter(|&c| c != b'_') {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// Without a C integer suffix: `u`, `l`, `ul`, `ll`, `ull` (already lower case).
fn strip_int_suffix(text: &str) -> &str {
    for suffix in ["ull", "ll", "ul", "u", "l"] {
        if let Some(s) = text.strip_suffix(suffix) {
            return s;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn integer_literals() {
        assert_eq!(parse_int("123"), Ok(123));
        assert_eq!(parse_int("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_int("0x1F"), Ok(31));
        assert_eq!(parse_int("017"), Ok(15));
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("1e6"), Ok(1_000_000));
        assert_eq!(parse_int("5E3"), Ok(5_000));
        assert_eq!(parse_int("10ULL"), Ok(10));
        assert_eq!(parse_int("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_int("18446744073709551616").is_err());
        assert!(parse_int("2e20").is_err());
        assert!(parse_int("09").is_err());
        assert!(parse_int("1__0").is_err());
        assert!(parse_int("12ab").is_err());
        assert!(parse_int("0x").is_err());
    }

    #[test]
    fn attach_points_and_modes() {
        let t = toks("kprobe:vfs_* /pid == 1/ { @x[comm] = count(); }");
        assert_eq!(t[0], Tok::AttachPoint("kprobe:vfs_*".into()));
        assert_eq!(t[1], Tok::Slash { ends_pred: false });
        assert_eq!(t[2], Tok::Ident("pid".into()));
        assert_eq!(t[5], Tok::Slash { ends_pred: true });
        assert_eq!(t[6], Tok::LBrace);
        assert_eq!(*t.last().unwrap(), Tok::Eof);
    }

    #[test]
    fn preamble_and_shebang() {
        let t = toks("#!/usr/bin/env bpftrace\n#include <linux/sched.h>\nstruct a { int x; };\nBEGIN {}");
        assert_eq!(t[0], Tok::Preamble("#include <linux/sched.h>".into()));
        assert_eq!(t[1], Tok::Preamble("struct a { int x; };".into()));
        assert_eq!(t[2], Tok::AttachPoint("BEGIN".into()));
    }

    #[test]
    fn strings_and_errors() {
        assert_eq!(toks(r#"BEGIN { "a\n\x41\101\"" }"#)[2], Tok::Str("a\nAA\"".into()));
        assert!(matches!(&toks(r#"BEGIN { "a\q" }"#)[2], Tok::Error(m) if m.contains("invalid escape")));
        assert!(matches!(&toks("BEGIN { \"abc\n\" }")[2], Tok::Error(m) if m == "unterminated string"));
        assert!(matches!(&toks("BEGIN { ` }")[2], Tok::Error(m) if m.contains("invalid character")));
    }
}
