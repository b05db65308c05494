//! The syntax tree of a bpftrace script, as the parser produces it. Every node carries the
//! [`Span`] of the source text it came from, so later stages point errors at the script.

use crate::diag::Span;

/// A whole script: C definitions (kept as text), then probes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// `#include <...>` / `#define` lines and `struct X { ... };` definitions before the
    /// probes, verbatim (bpfbox types come from BTF; these are kept for messages).
    pub preamble: Vec<(String, Span)>,
    pub probes: Vec<Probe>,
}

/// `attach, attach /predicate/ { body }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub attach: Vec<AttachPoint>,
    pub predicate: Option<Expr>,
    pub body: Block,
    pub span: Span,
}

/// One attach point, split at `:` with the provider's alias resolved
/// (`t` → `tracepoint`, `u` → `uprobe`, `ur` → `uretprobe`, `k` → `kprobe`, `kr` → `kretprobe`,
/// `f` → `kfunc`, `fr` → `kretfunc`, `i` → `interval`, `p` → `profile`, `s` → `software`,
/// `h` → `hardware`, `U` → `usdt`, `rt` → `rawtracepoint`, `BEGIN`/`END` as themselves).
/// `uprobe:/bin/bash:readline` → provider `uprobe`, parts `["/bin/bash", "readline"]`.
/// Quoted parts (`uprobe:x:"a::b"`) come out unquoted.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachPoint {
    pub provider: String,
    pub parts: Vec<String>,
    /// The text as written.
    pub raw: String,
    pub span: Span,
}

/// `{ stmt; stmt; ... }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect: `printf(...)`, `@x++`, `exit()`.
    Expr(Expr),
    /// `@name[keys] = value`, `@name[keys] += value` (op `Some(Add)`), `@name = count()`.
    AssignMap {
        map: MapRef,
        op: Option<BinOp>,
        value: Expr,
    },
    /// `$name = value`, `$name += value`.
    AssignVar {
        name: String,
        name_span: Span,
        op: Option<BinOp>,
        value: Expr,
    },
    /// `if (cond) { } else if (...) { } else { }` (an `else if` is an `If` alone in `els`).
    If {
        cond: Expr,
        then: Block,
        els: Option<Block>,
    },
    /// `unroll (N) { }` (N an integer literal or positional parameter, 1..=100).
    Unroll {
        count: Expr,
        body: Block,
    },
    /// `while (cond) { }`.
    While {
        cond: Expr,
        body: Block,
    },
    /// `return;` — leaves the probe.
    Return,
    Break,
    Continue,
}

/// `@name` or `@name[k1, k2]` (`@` alone is the map named "").
#[derive(Debug, Clone, PartialEq)]
pub struct MapRef {
    pub name: String,
    /// Empty for `@name`. Several keys (`@x[a, b]`) form a tuple key.
    pub keys: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// Integer literal (decimal, `0x` hex, `0` octal; `1_000` underscores allowed).
    Int(u64),
    /// String literal with escapes resolved (`\n \t \\ \" \xNN \NNN`).
    Str(String),
    /// A builtin variable: `pid tid uid gid comm nsecs elapsed cpu cgroup curtask retval func
    /// probe args arg0..argN kstack ustack cpid rand username sarg0..` — the name as written.
    Builtin(String),
    /// `$1`, `$2`, ... (positional parameter).
    Positional(u32),
    /// `$#`.
    PositionalCount,
    /// `$name`.
    Var(String),
    /// `@name[keys]` read.
    Map(MapRef),
    /// `name(args)`: `printf`, `count`, `str`, `hist`, ... Also `kstack(5)`, `ustack(perf)`:
    /// identifiers as arguments come out as `Ident`.
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
    /// A bare identifier where one is allowed as a call argument (`ustack(perf)`) or an enum
    /// constant; the type checker decides.
    Ident(String),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    /// `cond ? a : b`.
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// `expr.field` (`arrow: false`) or `expr->field` (`arrow: true`).
    Field {
        expr: Box<Expr>,
        field: String,
        arrow: bool,
    },
    /// `expr[index]` on a non-map (array or pointer).
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `(type)expr`: `(uint32)x`, `(struct sock *)arg0`.
    Cast {
        ty: TypeName,
        expr: Box<Expr>,
    },
    /// `(a, b, c)`: a tuple (two or more elements).
    Tuple(Vec<Expr>),
    /// `x++`, `++x`, `x--`, `--x` on a `$var` or `@map[...]`.
    IncDec {
        target: Box<Expr>,
        inc: bool,
        prefix: bool,
    },
}

/// A type as written in a cast: `uint32`, `int8`, `struct sock *`, `char`, `unsigned int`...
#[derive(Debug, Clone, PartialEq)]
pub struct TypeName {
    /// Without the stars: `struct sock`, `uint32`, `int`.
    pub name: String,
    /// Number of `*`.
    pub ptr_depth: u32,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LogAnd,
    LogOr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `!x`
    Not,
    /// `~x`
    BitNot,
    /// `*x`
    Deref,
    /// `&x`
    AddrOf,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
            Shl => "<<",
            Shr => ">>",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            LogAnd => "&&",
            LogOr => "||",
        }
    }
}
