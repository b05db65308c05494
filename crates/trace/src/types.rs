//! The types of bpftrace values, and how each is laid out in BPF memory (stack slots,
//! map keys and values, event records).

/// bpftrace's default string size (`BPFTRACE_STRLEN`).
pub const STRLEN: u32 = 64;
/// `comm`'s size (`TASK_COMM_LEN`).
pub const COMM_LEN: u32 = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    /// An integer; stored in 8 bytes whatever its width.
    Int {
        bits: u8,
        signed: bool,
    },
    /// A NUL-terminated string in a buffer of this many bytes.
    Str(u32),
    Tuple(Vec<Ty>),
    /// A pointer (an integer that `str()`/`*` can read through); `user` for user memory.
    Ptr {
        user: bool,
        pointee: Box<Ty>,
    },
    /// An address printed as a kernel / user symbol (`ksym`, `usym`, `func` of uprobes).
    Ksym,
    Usym,
    /// A stack id (`kstack`, `ustack`) in the probe's stack map.
    Kstack,
    Ustack,
    /// A uid printed as a user name.
    Username,
    /// `buf()`: a length (8 bytes) then the bytes.
    Buf(u32),
    /// `ntop()`: the address family (8 bytes) then 16 address bytes.
    Inet,
    /// A kernel (or user) struct or union in memory, by its BTF id: a place whose value
    /// is its address; fields are read from it (`curtask->comm`, `$sk->__sk_common.skc_family`).
    Record {
        btf_id: u32,
        name: String,
        user: bool,
    },
    /// `time()`-like values that only exist as events; also statements' "no value".
    Void,
}

impl Ty {
    pub const I64: Ty = Ty::Int { bits: 64, signed: true };
    pub const U64: Ty = Ty::Int { bits: 64, signed: false };

    /// Bytes it takes in a stack slot, map key or value, or event (8-byte aligned).
    pub fn size(&self) -> u32 {
        match self {
            Ty::Str(n) => round8(*n),
            Ty::Tuple(elems) => elems.iter().map(Ty::size).sum(),
            Ty::Buf(n) => 8 + round8(*n),
            Ty::Inet => 24,
            Ty::Void => 0,
            _ => 8,
        }
    }

    pub fn is_int(&self) -> bool {
        matches!(self, Ty::Int { .. } | Ty::Ptr { .. } | Ty::Ksym | Ty::Usym | Ty::Username)
    }
    pub fn is_signed(&self) -> bool {
        matches!(self, Ty::Int { signed: true, .. })
    }

    /// How bpftrace names it in messages.
    pub fn name(&self) -> String {
        match self {
            Ty::Int { bits, signed: true } => format!("int{bits}"),
            Ty::Int { bits, signed: false } => format!("uint{bits}"),
            Ty::Str(n) => format!("string[{n}]"),
            Ty::Tuple(e) => format!("({})", e.iter().map(Ty::name).collect::<Vec<_>>().join(", ")),
            Ty::Ptr { pointee, .. } => format!("{} *", pointee.name()),
            Ty::Ksym => "ksym".into(),
            Ty::Usym => "usym".into(),
            Ty::Kstack => "kstack".into(),
            Ty::Ustack => "ustack".into(),
            Ty::Username => "username".into(),
            Ty::Buf(n) => format!("buffer[{n}]"),
            Ty::Inet => "inet".into(),
            Ty::Record { name, .. } => name.clone(),
            Ty::Void => "none".into(),
        }
    }

    /// The type two values unify to (a variable or map assigned twice, the two arms of `?:`):
    /// strings widen to the longer, integers to 64 bits.
    pub fn unify(&self, other: &Ty) -> Option<Ty> {
        match (self, other) {
            (a, b) if a == b => Some(a.clone()),
            (Ty::Str(a), Ty::Str(b)) => Some(Ty::Str((*a).max(*b))),
            (Ty::Int { signed: a, .. }, Ty::Int { signed: b, .. }) => Some(Ty::Int { bits: 64, signed: *a || *b }),
            (a, b) if a.is_int() && b.is_int() => Some(Ty::Int { bits: 64, signed: a.is_signed() || b.is_signed() }),
            (Ty::Tuple(a), Ty::Tuple(b)) if a.len() == b.len() => {
                a.iter().zip(b).map(|(x, y)| x.unify(y)).collect::<Option<Vec<_>>>().map(Ty::Tuple)
            }
            _ => None,
        }
    }
}

pub fn round8(n: u32) -> u32 {
    n.div_ceil(8) * 8
}

/// What a map holds: a plain value, or one of bpftrace's aggregations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MapKind {
    Scalar(Ty),
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Stats,
    Hist,
    Lhist { min: i64, max: i64, step: i64 },
}

impl MapKind {
    /// Aggregations are per-CPU maps, summed (or min/max-ed) when read.
    pub fn per_cpu(&self) -> bool {
        !matches!(self, MapKind::Scalar(_))
    }
    /// The BPF value size (per CPU).
    pub fn value_size(&self) -> u32 {
        match self {
            MapKind::Scalar(t) => t.size().max(8),
            MapKind::Count | MapKind::Sum | MapKind::Hist | MapKind::Lhist { .. } => 8,
            // [value, set] and [count, total]
            MapKind::Min | MapKind::Max | MapKind::Avg | MapKind::Stats => 16,
        }
    }
    pub fn name(&self) -> String {
        match self {
            MapKind::Scalar(t) => t.name(),
            MapKind::Count => "count".into(),
            MapKind::Sum => "sum".into(),
            MapKind::Min => "min".into(),
            MapKind::Max => "max".into(),
            MapKind::Avg => "avg".into(),
            MapKind::Stats => "stats".into(),
            MapKind::Hist => "hist".into(),
            MapKind::Lhist { .. } => "lhist".into(),
        }
    }
}

/// A `@map` of the script: its key (None: `@x` without key), what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDecl {
    /// Without the `@` (`""` for `@`, `start` for `@start`).
    pub name: String,
    pub key: Option<Ty>,
    pub kind: MapKind,
}

impl MapDecl {
    /// The BPF key size: the key's bytes (8 for a keyless map), plus the bucket for hists.
    pub fn key_size(&self) -> u32 {
        let base = self.key.as_ref().map_or(8, Ty::size);
        match self.kind {
            MapKind::Hist | MapKind::Lhist { .. } => base + 8,
            _ => base,
        }
    }
    /// The BPF map's type: `BPF_MAP_TYPE_PERCPU_HASH` for aggregations, `HASH` otherwise.
    pub fn bpf_map_type(&self) -> u32 {
        if self.kind.per_cpu() {
            5
        } else {
            1
        }
    }
    /// The symbol name in the object (`@` → `AT_`, `@x` → `AT_x`, as bpftrace names them).
    pub fn symbol(&self) -> String {
        format!("AT_{}", self.name)
    }
}
