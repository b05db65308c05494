//! The code generator: a checked syntax tree to eBPF instructions, one program per
//! attach point (after wildcard expansion), plus the maps and event formats the runtime
//! needs to print what the programs send.
//!
//! Values live in 8-byte-aligned stack slots ([`Val`]); every expression is evaluated
//! into one, then loaded into r1..r5 for the operation that uses it. r6 holds the
//! context for the whole program. Types are found while generating: a map's or
//! variable's type is fixed by its first assignment anywhere in the script, so the
//! driver generates code again while a round learned a new type (a map read in an
//! earlier probe than its assignment), at most a few times.

mod btf;
mod emit;
mod expr;
mod stmt;

use crate::ast::Script;
use crate::diag::Span;
use crate::diag::{Diagnostic, Stage};
use crate::probes::{self, ProbeEnv, ProbeKind};
use crate::types::{MapDecl, Ty};
use bpfbox_isa::Insn;
use std::collections::BTreeMap;

pub use emit::Emitter;

/// Internal maps the programs use besides the script's.
pub const RINGBUF_MAP: &str = "__bpfbox_events";
pub const STACK_MAP: &str = "__bpfbox_stacks";
/// A per-CPU buffer for records too large for the 512-byte stack (`join`).
pub const SCRATCH_MAP: &str = "__bpfbox_scratch";
pub const SCRATCH_SIZE: u32 = 2048;
/// `join()`: at most this many strings of [`crate::types::STRLEN`] bytes.
pub const JOIN_MAX: u32 = 16;
/// The ring buffer's size (bytes).
pub const RINGBUF_SIZE: u32 = 1 << 20;
/// How many entries each script map holds (bpftrace's default `BPFTRACE_MAP_KEYS_MAX`).
pub const MAP_MAX_ENTRIES: u32 = 4096;

/// What a program sends to user space: the first 8 bytes of every ring buffer record are
/// `kind << 32 | index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum EventKind {
    Exit = 0,
    /// `printf`; index into [`Compiled::printfs`]; the arguments follow.
    Printf = 1,
    /// `print(@map)` and friends; index into [`Compiled::map_ops`].
    MapOp = 2,
    /// `time(fmt)`; index into [`Compiled::time_formats`].
    Time = 3,
    /// `print(value)`; index into [`Compiled::prints`]; the value follows.
    PrintValue = 4,
    /// `cat(file)`, `system(cmd)` (printf-formatted); index into [`Compiled::printfs`].
    Cat = 5,
    System = 6,
    /// `join(argv)`: a count, then [`JOIN_MAX`] strings; index into [`Compiled::joins`].
    Join = 7,
}

/// `printf(fmt, args)`: the format and the arguments' types, in record order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintfSpec {
    pub format: String,
    pub args: Vec<Ty>,
}

/// Map actions done by user space when a program asks (`print`, `clear`, `zero`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapOp {
    Print { map: String, top: u64, div: u64 },
    Clear(String),
    Zero(String),
}

/// One generated program.
#[derive(Debug, Clone)]
pub struct ProgOut {
    /// The function's symbol name.
    pub name: String,
    pub probe: ProbeKind,
    pub section: String,
    /// Slot-indexed; maps referenced as `Imm64::MapIdx(i)` into [`Compiled::maps`].
    pub insns: Vec<Insn>,
    /// (slot index, span of the statement that starts there).
    pub lines: Vec<(usize, Span)>,
    /// The bytes of stack used.
    pub stack: u32,
}

/// One BPF map of the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapOut {
    pub symbol: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// The script's map it implements (None: internal).
    pub decl: Option<MapDecl>,
}

/// A compiled script.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub programs: Vec<ProgOut>,
    pub maps: Vec<MapOut>,
    pub printfs: Vec<PrintfSpec>,
    pub map_ops: Vec<MapOp>,
    pub time_formats: Vec<String>,
    pub prints: Vec<Ty>,
    /// `join()`'s delimiters.
    pub joins: Vec<String>,
    /// How many `Attaching N probes...` counts (bpftrace counts attach points after
    /// wildcard expansion; BEGIN and END count too).
    pub probe_count: usize,
}

impl Compiled {
    pub fn map_index(&self, symbol: &str) -> Option<usize> {
        self.maps.iter().position(|m| m.symbol == symbol)
    }
}

/// What the compilation knows of the outside.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// `$1`, `$2`, ...
    pub positional: Vec<String>,
    /// `cpid`: the pid of the `-c` command.
    pub cpid: u32,
    /// `-p PID`: uprobes attach to this process only (and `pid` filters nothing more).
    pub pid: Option<u32>,
    /// `ktime_get_ns()` when the script started (`elapsed` counts from it).
    pub start_ns: u64,
    /// bpftrace's `--unsafe` (allows `system()`, `signal()`).
    pub unsafe_: bool,
}

/// Types learned across generation rounds.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Knowledge {
    pub maps: BTreeMap<String, MapDecl>,
    /// (probe index, variable) → type.
    pub vars: BTreeMap<(usize, String), Ty>,
}

/// Compile a parsed script.
pub fn compile(script: &Script, env: &dyn ProbeEnv, opts: &CompileOptions) -> Result<Compiled, Diagnostic> {
    if script.probes.is_empty() {
        return Err(Diagnostic::new(Stage::Type, Span::default(), "the script has no probes"));
    }
    // Expand attach points once.
    let mut expanded: Vec<(usize, Vec<ProbeKind>)> = Vec::new();
    let mut probe_count = 0;
    for (i, p) in script.probes.iter().enumerate() {
        let mut kinds = Vec::new();
        for ap in &p.attach {
            kinds.extend(probes::expand(ap, env)?);
        }
        probe_count += kinds.len();
        expanded.push((i, kinds));
    }
    // Read each tracepoint's format once, not once per round.
    let mut formats = std::collections::HashMap::new();
    for (i, kinds) in &expanded {
        for kind in kinds {
            if let ProbeKind::Tracepoint { category, name } = kind {
                let text = env.tracepoint_format(category, name).ok_or_else(|| {
                    Diagnostic::new(
                        Stage::Type,
                        script.probes[*i].span,
                        format!("cannot read the format of tracepoint {category}:{name}"),
                    )
                })?;
                formats.insert((category.clone(), name.clone()), probes::parse_format(&text));
            }
        }
    }
    let mut know = Knowledge::default();
    for _round in 0..6 {
        let mut gen = stmt::ScriptGen::new(script, env, opts, &know, &formats);
        for (i, kinds) in &expanded {
            for kind in kinds {
                gen.probe(*i, kind)?;
            }
        }
        let (compiled, learned) = gen.finish(probe_count)?;
        if learned == know {
            return Ok(compiled);
        }
        know = learned;
    }
    Err(Diagnostic::new(Stage::Type, Span::default(), "the types of the script's maps and variables do not settle"))
}
