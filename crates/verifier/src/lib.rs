//! bpfbox-verifier: a static verifier for eBPF programs that aims at the Linux
//! kernel's verdicts (6.18, privileged by default) and explains rejections as data.
//!
//! Stages, as in the kernel and PREVAIL:
//! 1. [`cfg`]: structural checks (jump targets, subprograms, unreachable code,
//!    the last instruction, back-edges when unprivileged) and register liveness.
//! 2. Abstract domains: [`tnum`] (tristate numbers), [`bounds`] (signed and
//!    unsigned 64/32-bit ranges with `reg_bounds_sync`), [`state`] (register
//!    types, stack bytes, frames, references), [`ctx`] (context fields per program type).
//! 3. Path-sensitive abstract interpretation (`check`): every instruction is checked
//!    against the state before it; states are pruned at jump targets when an
//!    already verified state subsumes them.
//!
//! **Architecture Invariant:** the verifier never executes code and never probes the
//! kernel: map definitions, the program type and helper prototypes are inputs.

pub mod bounds;
mod btf_model;
pub mod cfg;
mod check;
pub mod ctx;
pub mod object;
pub mod sock;
pub mod state;
pub mod tnum;

use bpfbox_abi::prog_types::ProgType;
use bpfbox_isa::Insn;
use serde::Serialize;

/// A map as the program sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MapInfo {
    pub name: String,
    /// `enum bpf_map_type` number.
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// Read-only for programs and frozen (`.rodata`, `.kconfig`: `BPF_F_RDONLY_PROG`
    /// and `BPF_MAP_FREEZE`).
    pub frozen: bool,
    /// The map's creation flags (`BPF_F_RDONLY_PROG`, `BPF_F_WRONLY_PROG`, ...).
    pub map_flags: u32,
    /// The inner map of a map-in-map.
    pub inner: Option<Box<MapInfo>>,
    /// Where the value's `struct bpf_spin_lock` is (from the map's BTF), if it has one.
    pub spin_lock_off: Option<u32>,
    /// Where the value's `struct bpf_timer` is (from the map's BTF), if it has one.
    pub timer_off: Option<u32>,
    /// The contents of a frozen read-only array (`.rodata`, `.kconfig`): as the
    /// kernel does (`bpf_map_direct_read`), loads at constant offsets read these
    /// bytes as known constants, so branches on configuration are decided.
    pub frozen_data: Option<Vec<u8>>,
}

/// `BPF_F_RDONLY_PROG`: programs may read the map's values, not change them.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_WRONLY_PROG`: programs may write the map's values, not read them.
pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;

impl MapInfo {
    /// Whether programs may read the values (`bpf_map_flags_to_cap`).
    pub fn prog_can_read(&self) -> bool {
        self.map_flags & BPF_F_WRONLY_PROG == 0
    }
    /// Whether programs may write the values (`bpf_map_flags_to_cap`).
    pub fn prog_can_write(&self) -> bool {
        // Devmaps are read-only for programs whatever their flags (dev_map_alloc).
        !self.frozen && self.map_flags & BPF_F_RDONLY_PROG == 0 && !matches!(self.map_type, 14 | 25)
    }
}

/// One program to verify.
#[derive(Debug, Clone)]
pub struct ProgramInput {
    pub name: String,
    /// Slot-indexed instructions (`Insn::LoadImm64Tail` in the second slot of `lddw`).
    /// Maps are referenced by `Imm64::MapIdx`/`MapIdxValue` (or `MapFd`/`MapValue`
    /// with the fd taken as an index into `maps`).
    pub insns: Vec<Insn>,
    pub prog_type: ProgType,
    /// `enum bpf_attach_type` number, when the program has one.
    pub expected_attach_type: Option<u32>,
    pub maps: Vec<MapInfo>,
    /// What a tracing program attaches to (`tp_btf/NAME`, `fentry/NAME`, `lsm/NAME`,
    /// `iter/NAME`): its arguments are typed from `kernel_btf`.
    pub attach_target: Option<String>,
    /// A sleepable program (`.s` sections): may call the helpers that sleep.
    pub sleepable: bool,
    /// The kernel's BTF (`/sys/kernel/btf/vmlinux`): types tracing programs'
    /// arguments and what kernel-object pointers point to. Without it, those
    /// pointers are untyped and any read through them gives an unknown value.
    pub kernel_btf: Option<KernelBtf>,
    /// The subprograms' BTF signatures (from the object's BTF and the program's
    /// `func_info`). Empty without BTF: then every subprogram is static, verified
    /// with its caller's knowledge; global ones are verified once, on their own.
    pub funcs: Vec<FuncSig>,
}

/// One subprogram's BTF `FUNC` as the kernel reads it (`btf_prepare_func_args`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncSig {
    /// The subprogram's first instruction.
    pub insn_off: usize,
    pub name: String,
    /// `BTF_FUNC_GLOBAL` linkage.
    pub global: bool,
    /// The arguments as the verifier types them, or the kernel's message when the
    /// signature is one a global function cannot have (it fails at every call).
    pub args: Result<Vec<FuncArg>, String>,
}

/// A global function's argument (`struct bpf_subprog_arg_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FuncArg {
    /// `ARG_ANYTHING`: an int or enum.
    Scalar,
    /// `ARG_PTR_TO_CTX`: a pointer to the program type's context (or `__arg_ctx`).
    Ctx,
    /// `ARG_PTR_TO_MEM`: `size` bytes, possibly NULL unless `__arg_nonnull`.
    Mem { size: u32, nullable: bool },
    /// A kind bpfbox does not model yet (`__arg_trusted`, `__arg_arena`, dynptr ...).
    Unsupported(String),
}

/// The kernel's BTF and the verifier's model of it (tracing prototypes, struct ids,
/// each derived on first use), shared between verifications: make one per process
/// with [`KernelBtf::new`] and clone it (an `Arc`) into every [`ProgramInput`].
#[derive(Clone)]
pub struct KernelBtf(pub std::sync::Arc<btf_model::KernelModel>);

impl KernelBtf {
    pub fn new(btf: std::sync::Arc<bpfbox_object::btf::Btf>) -> KernelBtf {
        KernelBtf(std::sync::Arc::new(btf_model::KernelModel::new(btf)))
    }

    /// The BTF itself.
    pub fn btf(&self) -> &std::sync::Arc<bpfbox_object::btf::Btf> {
        self.0.btf()
    }
}

impl std::fmt::Debug for KernelBtf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KernelBtf({} types)", self.0.len())
    }
}

pub use bpfbox_abi::kernel_facts::KernelFacts;
pub use btf_model::KernelModel;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Keep a state-by-state trace (like the kernel's log level 2).
    pub log: bool,
    /// Unprivileged rules (no back-edges, no pointer comparisons or leaks).
    pub unprivileged: bool,
    /// The complexity limit (`BPF_COMPLEXITY_LIMIT_INSNS`).
    pub insn_limit: u64,
    /// The kernel build to be faithful to (which helpers each program type may call):
    /// the running kernel's facts when the caller could probe them, `None` for the
    /// facts committed with bpfbox ([`KernelFacts::committed`]).
    pub kernel_facts: Option<std::sync::Arc<KernelFacts>>,
    /// `BPF_PROG_LOAD`'s `prog_flags` ([`prog_flag`]): `BPF_F_STRICT_ALIGNMENT` makes
    /// every access checked for alignment, `BPF_F_ANY_ALIGNMENT` undoes it,
    /// `BPF_F_SLEEPABLE` makes the program sleepable; the test flags change nothing
    /// bpfbox decides.
    pub prog_flags: u32,
    /// Host-defined helpers (an embedder's own, by ids no kernel helper uses): calls
    /// of these ids are checked against these prototypes exactly as kernel helpers
    /// are against theirs, and every program type may call them.
    pub host_helpers: Vec<bpfbox_abi::HelperProto>,
}

/// `BPF_F_*` program load flags by the names `bpfbox verify --flags` takes
/// (`strict-alignment` or `strict_alignment`...).
pub fn prog_flag(name: &str) -> Option<u32> {
    Some(match name.replace('-', "_").as_str() {
        "strict_alignment" => 1 << 0,
        "any_alignment" => 1 << 1,
        "test_rnd_hi32" => 1 << 2,
        "test_state_freq" => 1 << 3,
        "sleepable" => 1 << 4,
        "xdp_has_frags" => 1 << 5,
        "xdp_dev_bound_only" => 1 << 6,
        "test_reg_invariants" => 1 << 7,
        _ => return None,
    })
}

/// `BPF_F_STRICT_ALIGNMENT`.
pub const BPF_F_STRICT_ALIGNMENT: u32 = 1 << 0;
/// `BPF_F_ANY_ALIGNMENT`.
pub const BPF_F_ANY_ALIGNMENT: u32 = 1 << 1;
/// `BPF_F_TEST_STATE_FREQ`: a state at every prune point.
pub const BPF_F_TEST_STATE_FREQ: u32 = 1 << 3;
/// `BPF_F_SLEEPABLE`.
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            log: false,
            unprivileged: false,
            insn_limit: 1_000_000,
            kernel_facts: None,
            prog_flags: 0,
            host_helpers: Vec::new(),
        }
    }
}

impl VerifyOptions {
    /// `env->strict_alignment`: this machine has efficient unaligned access, so only
    /// `BPF_F_STRICT_ALIGNMENT` (without `BPF_F_ANY_ALIGNMENT`) asks for it.
    pub fn strict_alignment(&self) -> bool {
        self.prog_flags & BPF_F_STRICT_ALIGNMENT != 0 && self.prog_flags & BPF_F_ANY_ALIGNMENT == 0
    }

    /// The kernel facts in use ([`VerifyOptions::kernel_facts`] or the committed ones).
    pub fn facts(&self) -> &KernelFacts {
        match &self.kernel_facts {
            Some(f) => f,
            None => KernelFacts::committed(),
        }
    }
}

/// The rule a diagnostic is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Structure,
    JumpOutOfRange,
    JumpIntoLddw,
    FallThrough,
    Unreachable,
    BackEdge,
    Recursion,
    CallDepth,
    StackSize,
    UninitRegister,
    ReadOnlyRegister,
    PointerArithmetic,
    PointerComparison,
    PointerLeak,
    ModifiedCtx,
    CtxAccess,
    StackAccess,
    StackUninitRead,
    MapValueAccess,
    MapKeyAccess,
    PacketAccess,
    MemAccess,
    NullDeref,
    InvalidMemAccess,
    Misaligned,
    UnknownHelper,
    HelperArg,
    UnreleasedReference,
    ReturnValue,
    TooComplex,
    InfiniteLoop,
    InvalidMap,
    LdAbs,
    Unsupported,
}

/// One decision on the path to a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BranchDecision {
    /// The conditional jump.
    pub pc: usize,
    pub taken: bool,
}

/// Why a program is rejected, at one instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub pc: usize,
    pub kind: Rule,
    /// The kernel-style message (possibly several lines).
    pub message: String,
    /// The registers involved and their abstract values.
    pub regs: Vec<(u8, String)>,
    /// The conditional jumps on the path that reaches `pc`, oldest first.
    pub path: Vec<BranchDecision>,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Stats {
    /// Instructions processed on all paths (the kernel's "processed N insns").
    pub processed_insns: u64,
    /// Most states stored at one time.
    pub peak_states: usize,
    /// States stored for pruning in total.
    pub total_states: usize,
    pub duration_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub diagnostics: Vec<Diagnostic>,
    pub stats: Stats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Loads, stores and atomics that go through a ctx or kernel-object (BTF) pointer
    /// on some path: the instructions the kernel rewrites (`convert_ctx_access`,
    /// `PROBE_MEM`). Every other access of an accepted program reads or writes plain
    /// memory (stack, packet, map value/key, ring-buffer record) inside its bounds,
    /// so an engine may run those unchecked and only these through the run's context.
    #[serde(skip)]
    pub converted_accesses: Vec<usize>,
}

impl Report {
    pub fn accepted(&self) -> bool {
        self.verdict == Verdict::Accepted
    }
}

/// Verify one program.
pub fn verify(prog: &ProgramInput, opts: &VerifyOptions) -> Report {
    let start = std::time::Instant::now();
    let mut report = check::run(prog, opts);
    report.stats.duration_ns = start.elapsed().as_nanos() as u64;
    report
}
