//! Kernel-differential verifier fuzzing: a structured generator of programs near the
//! verifier's accept/reject boundary, whose verdicts are compared with the running
//! kernel's (the harness that loads them lives where the kernel crate is:
//! `crates/fuzzing/tests/kernel_diff.rs`, `crates/fuzzing/examples/kernel_diff.rs`), and
//! a minimiser for the programs on which the two disagree.
//!
//! A program is text in the llvm syntax (so a minimised disagreement is a readable
//! corpus case, see `tests/verifier/asm/`), built from gadgets: scalar sources and
//! arithmetic, branches, stack stores, loads, spills and fills, map lookups with or
//! without (or with wrong) NULL checks and in- or out-of-bounds, fixed or variable
//! offsets, map updates, ring-buffer reserve/submit/discard (leaks and double
//! releases), packet accesses behind right or wrong `data_end` checks, bounded and
//! unbounded loops, helpers given stack memory, context reads and writes, pointer
//! arithmetic and comparisons, static subprograms, sockmap lookups (socket references),
//! packet memory given to helpers, one load reached with different pointer types,
//! jmp32 compares, ISA v4 ALU operations (sdiv/smod, sign extension, byte swaps) and
//! sign-extending loads, 32-bit spills, stack atomics (fetch, xchg, cmpxchg), packet
//! pointers kept across helpers that move the packet, `bpf_sk_lookup_*` socket
//! references with `struct bpf_sock` field reads, `may_goto` loops, tail calls,
//! open-coded number iterators and RCU sections (kfuncs by bpfbox's ids; the kernel
//! harness gives the kernel its BTF ids of the same functions).
//! Maps come with random `BPF_F_RDONLY_PROG`/`BPF_F_WRONLY_PROG` flags.

use crate::Rng;
use bpfbox_abi::map_types::MapType;
use bpfbox_abi::prog_types::ProgType;
use bpfbox_verifier::{MapInfo, ProgramInput, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG};
use std::fmt::Write as _;

/// One generated program: what the verifier and the kernel are both given.
#[derive(Debug, Clone)]
pub struct Case {
    pub prog_type: ProgType,
    pub expected_attach_type: Option<u32>,
    pub maps: Vec<MapInfo>,
    /// One instruction per line, `label: ` prefixes allowed.
    pub lines: Vec<String>,
}

impl Case {
    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    /// The verifier's input, `None` when the text does not assemble (minimising can
    /// remove a label's line).
    pub fn input(&self) -> Option<ProgramInput> {
        let insns = bpfbox_isa::llvm::assemble(&self.text()).ok()?;
        Some(ProgramInput {
            name: "fuzz".into(),
            insns,
            prog_type: self.prog_type,
            expected_attach_type: self.expected_attach_type,
            maps: self.maps.clone(),
            attach_target: None,
            sleepable: false,
            kernel_btf: None,
            funcs: vec![],
        })
    }

    /// The case in the corpus format of `tests/verifier/asm/*.s` (without its
    /// expectation line).
    pub fn corpus_text(&self, title: &str) -> String {
        let mut s = format!("=== {title}\n; prog: {}\n", self.prog_type.name());
        if let Some(a) = self.expected_attach_type {
            let _ = writeln!(s, "; attach: {a}");
        }
        for m in &self.maps {
            let t = MapType::name_of(m.map_type);
            let _ = write!(s, "; map: {t} key={} value={} entries={}", m.key_size, m.value_size, m.max_entries);
            if m.map_flags & BPF_F_RDONLY_PROG != 0 {
                s.push_str(" rdonly_prog");
            }
            if m.map_flags & BPF_F_WRONLY_PROG != 0 {
                s.push_str(" wronly_prog");
            }
            s.push('\n');
        }
        s + &self.text()
    }
}

fn pick<'a, T>(r: &mut Rng, xs: &'a [T]) -> &'a T {
    &xs[r.below(xs.len() as u64) as usize]
}

fn chance(r: &mut Rng, pct: u64) -> bool {
    r.below(100) < pct
}

/// Map 0: array (value 16, 4 entries), 1: hash (value 16), 2: ring buffer, 3: array of
/// one 8-byte value (direct value addresses), 4: sockmap (lookups give socket references),
/// 5: program array (tail calls).
fn maps(r: &mut Rng) -> Vec<MapInfo> {
    let flags = |r: &mut Rng| match r.below(10) {
        0 => BPF_F_RDONLY_PROG,
        1 => BPF_F_WRONLY_PROG,
        _ => 0,
    };
    let m = |name: &str, t: MapType, k: u32, v: u32, n: u32, map_flags: u32| MapInfo {
        name: name.into(),
        map_type: t as u32,
        key_size: k,
        value_size: v,
        max_entries: n,
        map_flags,
        ..MapInfo::default()
    };
    vec![
        m("arr", MapType::Array, 4, 16, 4, flags(r)),
        m("hash", MapType::Hash, 4, 16, 8, flags(r)),
        m("rb", MapType::Ringbuf, 0, 0, 4096, 0),
        m("one", MapType::Array, 4, 8, 1, flags(r)),
        m("socks", MapType::Sockmap, 4, 4, 1, 0),
        m("progs", MapType::ProgArray, 4, 4, 2, 0),
    ]
}

/// Registers the gadgets keep values in across gadgets (r6 is the context).
const KEEP: [u8; 3] = [7, 8, 9];
const SIZES: [(&str, i64); 4] = [("u8", 1), ("u16", 2), ("u32", 4), ("u64", 8)];

/// `e!(g, "fmt", args)`: format first (the arguments may use the generator's random
/// source), then emit.
macro_rules! e {
    ($g:expr, $($t:tt)*) => {{
        let line = format!($($t)*);
        $g.emit(line);
    }};
}

struct Gen<'r> {
    r: &'r mut Rng,
    lines: Vec<String>,
    labels: u32,
    prog_type: ProgType,
    subprogs: Vec<Vec<String>>,
    /// Percent chance that a gadget takes one of its wrong variants (per program, so
    /// some programs are mostly right and get deep, others break early and often).
    err: u64,
}

impl Gen<'_> {
    fn bad(&mut self) -> bool {
        chance(self.r, self.err)
    }
    fn n(&mut self, below: u64) -> u64 {
        self.r.below(below)
    }
    fn emit(&mut self, s: String) {
        self.lines.push(s);
    }
    fn label(&mut self) -> String {
        self.labels += 1;
        format!("L{}", self.labels)
    }
    /// A join point: `label: r1 = 0` (a harmless instruction to hang the label on).
    fn join(&mut self, l: &str) {
        e!(self, "{l}: r1 = 0");
    }
    /// A stack offset below r10: a multiple of 8 unless this is a wrong variant.
    fn off(&mut self, max: i64) -> i64 {
        if !self.bad() {
            8 * (1 + self.n((max / 8) as u64) as i64)
        } else {
            self.n(max as u64 + 16) as i64 - 8
        }
    }
    fn fp(off: i64) -> String {
        if off >= 0 {
            format!("- {off}")
        } else {
            format!("+ {}", -off)
        }
    }
    fn keep(&mut self) -> u8 {
        *pick(self.r, &KEEP)
    }
    fn size(&mut self) -> (&'static str, i64) {
        *pick(self.r, &SIZES)
    }

    fn scalar_source(&mut self) {
        let d = self.keep();
        match self.n(5) {
            0 => e!(self, "r{d} = {}", self.n(64) as i64 - 8),
            1 | 2 => {
                let mask = *pick(self.r, &[0x7u64, 0xf, 0x3f, 0xff, 0xfff, 0xffff_ffff]);
                e!(self, "call 7\nr{d} = r0");
                if !self.bad() {
                    e!(self, "r{d} &= {mask}");
                }
            }
            3 => {
                // A context field: __sk_buff.len; for XDP ingress_ifindex.
                let off = if self.prog_type == ProgType::Xdp { 12 } else { 0 };
                e!(self, "r{d} = *(u32 *)(r6 + {off})");
            }
            _ => {
                let s = self.keep();
                e!(self, "r{d} = r{s}");
            }
        }
    }

    fn alu(&mut self) {
        let d = self.keep();
        let w = if chance(self.r, 20) { "w" } else { "r" };
        if chance(self.r, 20) {
            // Unary and ISA v4 operations: negation, sign extension, byte swaps.
            let s = self.keep();
            match self.n(5) {
                0 => e!(self, "{w}{d} = -{w}{d}"),
                1 => e!(self, "{w}{d} = ({}){w}{s}", pick(self.r, &["s8", "s16"])),
                2 => e!(self, "r{d} = (s32)r{s}"),
                3 => e!(self, "r{d} = {} r{d}", pick(self.r, &["be16", "be32", "be64", "le16", "le32"])),
                _ => e!(self, "r{d} = {} r{d}", pick(self.r, &["bswap16", "bswap32", "bswap64"])),
            }
            return;
        }
        let op =
            *pick(self.r, &["+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>=", "s>>=", "/=", "%=", "s/=", "s%=", "="]);
        if chance(self.r, 60) {
            let imm = if op.contains("<<") || op.contains(">>") { self.n(40) as i64 } else { self.n(40) as i64 - 4 };
            e!(self, "{w}{d} {op} {imm}");
        } else {
            let s = self.keep();
            e!(self, "{w}{d} {op} {w}{s}");
        }
    }

    fn branch(&mut self) {
        let d = self.keep();
        let op = *pick(self.r, &["==", "!=", ">", ">=", "<", "<=", "s>", "s<", "s>=", "s<=", "&"]);
        let l = self.label();
        // 32-bit compares (jmp32) refine the low half only.
        let w = if chance(self.r, 30) { "w" } else { "r" };
        if chance(self.r, 60) {
            e!(self, "if {w}{d} {op} {} goto {l}", self.n(40) as i64 - 4);
        } else {
            let s = self.keep();
            e!(self, "if {w}{d} {op} {w}{s} goto {l}");
        }
        for _ in 0..1 + self.n(3) {
            self.simple();
        }
        self.join(&l);
    }

    fn stack_store(&mut self) {
        let (ty, sz) = self.size();
        let off = self.off(64) / sz * sz;
        if chance(self.r, 60) {
            let s = self.keep();
            e!(self, "*({ty} *)(r10 {}) = r{s}", Self::fp(off));
        } else {
            e!(self, "*({ty} *)(r10 {}) = {}", Self::fp(off), self.n(100));
        }
    }

    fn stack_load(&mut self) {
        let (ty, sz) = self.size();
        let off = self.off(64) / sz * sz;
        let d = self.keep();
        let ty = if sz < 8 && chance(self.r, 25) { ty.replacen('u', "s", 1) } else { ty.to_string() };
        e!(self, "r{d} = *({ty} *)(r10 {})", Self::fp(off));
    }

    /// A variable stack offset: `r2 = r10; r2 += -N; r2 += rK` then an access.
    fn stack_var(&mut self) {
        let k = self.keep();
        let (ty, sz) = self.size();
        if !self.bad() {
            e!(self, "r{k} &= {}", 8 - sz);
        }
        e!(self, "r2 = r10\nr2 += -{}\nr2 += r{k}", 8 * (2 + self.n(7)));
        if chance(self.r, 50) {
            e!(self, "*({ty} *)(r2 + 0) = r{}", self.keep());
        } else {
            e!(self, "r{} = *({ty} *)(r2 + 0)", self.keep());
        }
    }

    fn spill_fill(&mut self) {
        let off = 8 * (1 + self.n(8) as i64);
        let s = if chance(self.r, 25) { 6 } else { self.keep() };
        let (ty, _) = if s == 6 || !self.bad() {
            // Scalars spill at 32 bits too (their fills keep the spilled identity).
            if s != 6 && chance(self.r, 25) {
                ("u32", 4)
            } else {
                ("u64", 8)
            }
        } else {
            self.size()
        };
        e!(self, "*({ty} *)(r10 - {off}) = r{s}");
        if chance(self.r, 50) {
            self.simple();
        }
        let d = self.keep();
        let ty2 = if !self.bad() { ty } else { self.size().0 };
        e!(self, "r{d} = *({ty2} *)(r10 - {off})");
    }

    /// `bpf_map_lookup_elem(map, &key)` into r0 (key on the stack, maybe
    /// uninitialised), then a NULL check (maybe wrong or missing) and value accesses.
    fn map_lookup(&mut self) {
        let map = *pick(self.r, &[0, 0, 1, 1, 3]);
        let koff = 4 * (1 + self.n(4) as i64);
        if !self.bad() {
            if chance(self.r, 60) {
                e!(self, "r1 = {}\n*(u32 *)(r10 - {koff}) = r1", self.n(6));
            } else {
                e!(self, "*(u32 *)(r10 - {koff}) = r{}", self.keep());
            }
        }
        e!(self, "r2 = r10\nr2 += -{koff}\nld_pseudo r1, 0x5, {map}\ncall 1");
        let out = self.label();
        if !self.bad() {
            e!(self, "if r0 == 0 goto {out}");
        } else if chance(self.r, 50) {
            e!(self, "if r0 != 0 goto {out}");
        }
        let vsize = if map == 3 { 8 } else { 16 };
        for _ in 0..1 + self.n(3) {
            self.value_access("r0", vsize);
        }
        if chance(self.r, 30) {
            e!(self, "r{} = r0", self.keep());
        }
        self.join(&out);
    }

    fn value_access(&mut self, p: &str, vsize: i64) {
        let (ty, sz) = self.size();
        let off = if !self.bad() {
            self.n((vsize - sz + 1) as u64) as i64 / sz * sz
        } else {
            self.n(vsize as u64 + 8) as i64 - 4
        };
        match self.n(6) {
            0 => {
                // A variable offset, bounded first unless this is a wrong variant.
                let k = self.keep();
                if !self.bad() {
                    e!(self, "r{k} &= {}", vsize - 8);
                }
                e!(self, "{p} += r{k}");
            }
            1 | 2 => e!(self, "r1 = *({ty} *)({p} + {off})"),
            3 => e!(self, "*({ty} *)({p} + {off}) = r{}", self.keep()),
            4 => e!(self, "*({ty} *)({p} + {off}) = {}", self.n(9)),
            _ => {
                let w = if sz == 4 { "u32" } else { "u64" };
                e!(self, "r1 = 1\nlock *({w} *)({p} + {}) += r1", off & !3);
            }
        }
    }

    fn map_update(&mut self) {
        let map = *pick(self.r, &[0, 1, 1, 3]);
        e!(self, "r1 = 0\n*(u32 *)(r10 - 4) = r1");
        if !self.bad() {
            e!(self, "*(u64 *)(r10 - 24) = r1\n*(u64 *)(r10 - 16) = r1");
        }
        if chance(self.r, 70) {
            e!(self, "r2 = r10\nr2 += -4\nr3 = r10\nr3 += -24\nr4 = 0\nld_pseudo r1, 0x5, {map}\ncall 2");
        } else {
            e!(self, "r2 = r10\nr2 += -4\nld_pseudo r1, 0x5, {map}\ncall 3");
        }
    }

    /// Ring buffer: reserve, check, write, then submit or discard (wrong variants: no
    /// check, a leak, a double release, a use after release).
    fn ringbuf(&mut self) {
        let size = *pick(self.r, &[8, 16, 24]);
        e!(self, "ld_pseudo r1, 0x5, 2\nr2 = {size}\nr3 = 0\ncall 131");
        let out = self.label();
        if !self.bad() {
            e!(self, "if r0 == 0 goto {out}");
        }
        e!(self, "r8 = r0");
        for _ in 0..self.n(3) {
            self.value_access("r8", size);
        }
        if self.bad() {
            if chance(self.r, 50) {
                e!(self, "r1 = r8\nr2 = 0\ncall 132\nr1 = r8\nr2 = 0\ncall 133");
            }
        } else if chance(self.r, 50) {
            e!(self, "r1 = r8\nr2 = 0\ncall 132");
        } else {
            e!(self, "r1 = r8\nr2 = 0\ncall 133");
        }
        if self.bad() {
            e!(self, "r1 = *(u64 *)(r8 + 0)");
        }
        e!(self, "r8 = 0");
        self.join(&out);
    }

    /// Packet data through the context, behind a `data_end` check (maybe wrong).
    fn packet(&mut self) {
        let (data, end) = match self.prog_type {
            ProgType::Xdp => (0, 4),
            ProgType::SchedCls => (76, 80),
            _ => return self.ctx_access(),
        };
        e!(self, "r2 = *(u32 *)(r6 + {data})\nr3 = *(u32 *)(r6 + {end})");
        let checked = 1 + self.n(40) as i64;
        let out = self.label();
        e!(self, "r4 = r2\nr4 += {checked}");
        let cond = if self.bad() { *pick(self.r, &[">= r3", "< r3", "!= r3"]) } else { "> r3" };
        e!(self, "if r4 {cond} goto {out}");
        let (ty, sz) = self.size();
        let off = if !self.bad() { self.n((checked.max(sz) - sz + 1) as u64) as i64 } else { self.n(40) as i64 };
        if chance(self.r, 60) {
            e!(self, "r{} = *({ty} *)(r2 + {off})", self.keep());
        } else {
            e!(self, "*({ty} *)(r2 + {off}) = r{}", self.keep());
        }
        if chance(self.r, 15) {
            // Packet memory to a helper: csum_diff may read it (pkt_access), ringbuf_output may not.
            if chance(self.r, 50) {
                e!(self, "r1 = r2\nr2 = {}\nr3 = 0\nr4 = 0\nr5 = 0\ncall 28", 1 + self.n(checked as u64));
            } else {
                e!(self, "ld_pseudo r1, 0x5, 2\nr3 = {}\nr4 = 0\ncall 130", 1 + self.n(checked as u64));
            }
        } else if chance(self.r, 20) {
            let k = self.keep();
            if !self.bad() {
                e!(self, "r{k} &= 7\nr2 += r{k}\nr4 = r2\nr4 += 1\nif r4 > r3 goto {out}");
            } else {
                e!(self, "r2 += r{k}");
            }
            e!(self, "r1 = *(u8 *)(r2 + 0)");
        }
        self.join(&out);
    }

    fn ctx_access(&mut self) {
        let bad = self.bad();
        let off = if bad {
            *pick(self.r, &[0, 4, 8, 16, 20, 24, 36, 40, 44, 48, 76, 80, 140, 200, 3])
        } else if self.prog_type == ProgType::Xdp {
            *pick(self.r, &[12, 16, 20])
        } else {
            *pick(self.r, &[0, 4, 8, 16, 20, 24, 36])
        };
        let ty = if bad { self.size().0 } else { "u32" };
        match self.n(4) {
            0 if bad => e!(self, "*({ty} *)(r6 + {off}) = r{}", self.keep()),
            1 if bad => e!(self, "r1 = r6\nr1 += {}\nr{} = *(u32 *)(r1 + 0)", self.n(12), self.keep()),
            _ => e!(self, "r{} = *({ty} *)(r6 + {off})", self.keep()),
        }
    }

    fn helper_mem(&mut self) {
        let off = 8 * (1 + self.n(6) as i64);
        let len = if self.bad() { *pick(self.r, &[0, 64, 3]) } else { *pick(self.r, &[1, 4, 8]) };
        match self.prog_type {
            ProgType::SocketFilter | ProgType::SchedCls => {
                // bpf_skb_load_bytes(ctx, 0, fp - off, len)
                e!(self, "r1 = r6\nr2 = 0\nr3 = r10\nr3 += -{off}\nr4 = {len}\ncall 26");
            }
            _ => {
                // bpf_ringbuf_output(rb, fp - off, len, 0)
                e!(self, "ld_pseudo r1, 0x5, 2\nr2 = r10\nr2 += -{off}\nr3 = {len}\nr4 = 0\ncall 130");
            }
        }
        if chance(self.r, 30) && self.prog_type != ProgType::Xdp {
            let k = self.keep();
            if !self.bad() {
                e!(self, "r{k} &= 31\nr{k} += 1");
            }
            e!(self, "r1 = r6\nr2 = 0\nr3 = r10\nr3 += -32\nr4 = r{k}\ncall 26");
        }
    }

    fn bounded_loop(&mut self) {
        let n = self.n(20);
        let top = self.label();
        let c = self.keep();
        e!(self, "r{c} = 0");
        e!(self, "{top}: r{c} += 1");
        if chance(self.r, 50) {
            self.simple();
        }
        // Mostly bounded; now and then one the verifier walks to its limit (slow on both sides).
        let cond = if chance(self.r, 99) { *pick(self.r, &["<", "<=", "s<"]) } else { *pick(self.r, &["!=", ">"]) };
        e!(self, "if r{c} {cond} {n} goto {top}");
    }

    fn pointer_ops(&mut self) {
        let d = self.keep();
        match self.n(6) {
            0 => e!(self, "r{d} = r10\nr{d} += -{}", self.n(80)),
            1 => e!(self, "r{d} = r6"),
            2 => {
                let l = self.label();
                let s = self.keep();
                e!(self, "if r{d} == r{s} goto {l}");
                self.simple();
                self.join(&l);
            }
            3 => e!(self, "r{d} = r10\nr{d} -= r{}", self.keep()),
            4 => {
                let l = self.label();
                e!(self, "if r{d} == 0 goto {l}\nr1 = *(u64 *)(r{d} + 0)");
                self.join(&l);
            }
            _ => e!(self, "ld_pseudo r{d}, 0x6, 3, {}", *pick(self.r, &[0, 0, 4, 8])),
        }
    }

    fn subprog_call(&mut self) {
        let name = format!("f{}", self.subprogs.len());
        let body = match self.n(5) {
            0 => "r0 = r1\nr0 += 1",
            1 => "r0 = *(u64 *)(r1 + 0)",
            2 => "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)",
            3 => "r2 = 7\n*(u64 *)(r1 + 0) = r2\nr0 = 0",
            _ => "r0 = r1\nr0 &= 7",
        };
        let mut lines: Vec<String> = body.lines().map(str::to_string).collect();
        lines[0] = format!("{name}: {}", lines[0]);
        lines.push("exit".into());
        self.subprogs.push(lines);
        match *pick(self.r, &["r10", "r6", "r7", "r8"]) {
            "r10" => e!(self, "r1 = r10\nr1 += -8"),
            a => e!(self, "r1 = {a}"),
        }
        e!(self, "call {name}\nr{} = r0", self.keep());
    }

    /// A sockmap lookup: a socket reference or NULL, checked and released (wrong
    /// variants: no check, a leak, a write into the socket, a use after the release).
    fn sock_lookup(&mut self) {
        e!(self, "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nld_pseudo r1, 0x5, 4\ncall 1");
        let out = self.label();
        if !self.bad() {
            e!(self, "if r0 == 0 goto {out}");
        }
        e!(self, "r8 = r0");
        if chance(self.r, 50) {
            let off = if self.bad() { *pick(self.r, &[2, 8, 100]) } else { *pick(self.r, &[0, 4, 16]) };
            e!(self, "r1 = *(u32 *)(r8 + {off})");
        }
        if self.bad() {
            e!(self, "r1 = 0\n*(u32 *)(r8 + 0) = r1");
        }
        if !self.bad() {
            e!(self, "r1 = r8\ncall 86");
        }
        if self.bad() {
            e!(self, "r1 = *(u32 *)(r8 + 4)");
        }
        e!(self, "r8 = 0");
        self.join(&out);
    }

    /// One load reached with the context on one path and a stack pointer on the
    /// other ("same insn cannot be used with different pointers"), or the same type
    /// on both.
    fn mixed_ptr_load(&mut self) {
        let d = self.keep();
        let k = self.keep();
        let l = self.label();
        e!(self, "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr{d} = r10\nr{d} += -8");
        e!(self, "if r{k} > {} goto {l}", self.n(8));
        if self.bad() {
            e!(self, "r{d} = r6");
        } else {
            e!(self, "r{d} = r10\nr{d} += -8");
        }
        self.join(&l);
        e!(self, "r1 = *(u32 *)(r{d} + 0)");
    }

    /// Atomics on a stack slot (initialised unless this is a wrong variant): add, or,
    /// fetch-and-op, exchange, compare-and-exchange, 32 or 64 bits.
    fn stack_atomic(&mut self) {
        let off = self.off(48);
        let d = self.keep();
        if !self.bad() {
            e!(self, "*(u64 *)(r10 {}) = r{}", Self::fp(off), self.keep());
        }
        let (w, ty) = if chance(self.r, 30) { ("w", "u32") } else { ("r", "u64") };
        let (bits, x) = if w == "w" { (32, "32") } else { (64, "") };
        let fp = Self::fp(off);
        match self.n(5) {
            0 => e!(self, "lock *({ty} *)(r10 {fp}) += {w}{d}"),
            1 => {
                let op = *pick(self.r, &["add", "and", "or", "xor"]);
                e!(self, "{w}{d} = atomic_fetch_{op}(({ty} *)(r10 {fp}), {w}{d})");
            }
            2 => e!(self, "{w}{d} = xchg{x}_{bits}(r10 {fp}, {w}{d})"),
            3 => {
                if !self.bad() {
                    e!(self, "r0 = {}", self.n(4));
                }
                e!(self, "{w}0 = cmpxchg{x}_{bits}(r10 {fp}, {w}0, {w}{d})");
                e!(self, "r{d} = r0");
            }
            _ => e!(self, "lock *({ty} *)(r10 {fp}) {} {w}{d}", pick(self.r, &["|=", "&=", "^="])),
        }
    }

    /// Packet pointers kept across a helper that may move the packet
    /// (`bpf_xdp_adjust_head`/`_tail`, `bpf_skb_pull_data`, `bpf_skb_change_tail`):
    /// invalid after it; the right variant reloads and checks again.
    fn packet_invalidate(&mut self) {
        let (data, end, call) = match self.prog_type {
            ProgType::Xdp => (0, 4, *pick(self.r, &["r2 = 4\ncall 44", "r2 = -4\ncall 65"])),
            ProgType::SchedCls => (76, 80, *pick(self.r, &["r2 = 14\ncall 39", "r2 = 64\nr3 = 0\ncall 38"])),
            _ => return self.packet(),
        };
        let k = self.keep();
        let out = self.label();
        let load =
            format!("r2 = *(u32 *)(r6 + {data})\nr3 = *(u32 *)(r6 + {end})\nr4 = r2\nr4 += 8\nif r4 > r3 goto {out}");
        e!(self, "{load}");
        e!(self, "r{k} = r2\nr1 = r6\n{call}");
        if self.bad() {
            e!(self, "r1 = *(u8 *)(r{k} + 0)");
        } else {
            e!(self, "{load}");
            e!(self, "r1 = *(u8 *)(r2 + {})", self.n(8));
        }
        e!(self, "r{k} = 0");
        self.join(&out);
    }

    /// `bpf_sk_lookup_tcp/udp` / `bpf_skc_lookup_tcp` on a tuple on the stack: a socket
    /// reference or NULL; `struct bpf_sock` field reads, `bpf_tcp_sock` /
    /// `bpf_sk_fullsock`, and the release (wrong variants: no NULL check, arithmetic
    /// on the maybe-NULL pointer, a bad field access, a leak, a use after release).
    fn sk_lookup(&mut self) {
        let tuple = if self.bad() { *pick(self.r, &[4, 12, 36, 13]) } else { *pick(self.r, &[12, 36]) };
        e!(self, "r1 = 0");
        for off in (8..=40).step_by(8) {
            if off > 8 || !self.bad() {
                e!(self, "*(u64 *)(r10 - {off}) = r1");
            }
        }
        let f = *pick(self.r, &[84, 85, 99]);
        e!(self, "r1 = r6\nr2 = r10\nr2 += -40\nr3 = {tuple}\nr4 = -1\nr5 = 0\ncall {f}");
        let out = self.label();
        if self.bad() && chance(self.r, 30) {
            e!(self, "r0 += {}", self.n(8));
        }
        if !self.bad() {
            e!(self, "if r0 == 0 goto {out}");
        }
        e!(self, "r8 = r0");
        const FIELDS: [(&str, i64); 12] = [
            ("u32", 0),
            ("u32", 4),
            ("u32", 8),
            ("u32", 12),
            ("u32", 16),
            ("u32", 24),
            ("u32", 44),
            ("u16", 48),
            ("u32", 52),
            ("u32", 72),
            ("u8", 4),
            ("u16", 44),
        ];
        for _ in 0..self.n(3) {
            let (ty, off) = if self.bad() { (self.size().0, self.n(90) as i64) } else { *pick(self.r, &FIELDS) };
            e!(self, "r1 = *({ty} *)(r8 + {off})");
        }
        if chance(self.r, 30) {
            let l = self.label();
            e!(self, "r1 = r8\ncall {}", pick(self.r, &[95, 96]));
            e!(self, "if r0 == 0 goto {l}\nr1 = *(u32 *)(r0 + {})", pick(self.r, &[0, 4, 8, 16, 64]));
            self.join(&l);
        }
        if !self.bad() || chance(self.r, 50) {
            e!(self, "r1 = r8\ncall 86");
        }
        if self.bad() {
            e!(self, "r1 = *(u32 *)(r8 + 4)");
        }
        e!(self, "r8 = 0");
        self.join(&out);
    }

    /// A loop with a `may_goto` (what `bpf_for` / `can_loop` compile to), almost always
    /// with a bound of its own too.
    fn may_goto_loop(&mut self) {
        let c = self.keep();
        let (top, out) = (self.label(), self.label());
        e!(self, "r{c} = 0");
        e!(self, "{top}: may_goto {out}");
        e!(self, "r{c} += 1");
        if chance(self.r, 50) {
            self.simple();
        }
        // Rarely with no bound but may_goto's: bpfbox does not yet converge on all of
        // those as the kernel does (it walks them to the 1M-instruction limit, slowly).
        if chance(self.r, 99) {
            e!(self, "if r{c} < {} goto {top}", self.n(20));
        } else {
            e!(self, "goto {top}");
        }
        self.join(&out);
    }

    /// An open-coded number iterator loop (`bpf_for`): new, next until NULL with the
    /// element read (sometimes bounded and used as a map value offset, or written, or
    /// read past its 4 bytes, or not NULL-checked), destroy (sometimes forgotten or
    /// done twice). The slot may be shared with other gadgets' stack data.
    fn iter_loop(&mut self) {
        let it = -8 * (1 + self.n(10) as i64);
        let c = self.keep();
        let (top, out) = (self.label(), self.label());
        let id = |n: &str| bpfbox_abi::kfuncs::kfunc_id(n).unwrap_or(0);
        let (new, next, destroy) = (id("bpf_iter_num_new"), id("bpf_iter_num_next"), id("bpf_iter_num_destroy"));
        let (start, end) = (self.n(4) as i64 - 1, self.n(40) as i64);
        e!(self, "r1 = r10\nr1 += {it}\nr2 = {start}\nr3 = {end}\ncall kfunc {new:#x}");
        e!(self, "r{c} = 0");
        e!(self, "{top}: r1 = r10\nr1 += {it}\ncall kfunc {next:#x}");
        if !self.bad() {
            e!(self, "if r0 == 0 goto {out}");
        }
        let variants = if self.bad() { 6 } else { 4 };
        match self.n(variants) {
            0 => e!(self, "r{c} += 1"),
            1 => e!(self, "r1 = *(u32 *)(r0 + 0)\nr{c} += r1"),
            2 => {
                // The element as an offset into a map value, bounded (or not).
                let l = self.label();
                e!(self, "r{c} = *(u32 *)(r0 + 0)");
                if !self.bad() {
                    e!(self, "if r{c} > 7 goto {l}");
                }
                e!(self, "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nld_pseudo r1, 0x5, 0\ncall 1");
                e!(self, "if r0 == 0 goto {l}\nr0 += r{c}\nr1 = *(u8 *)(r0 + 8)");
                self.join(&l);
            }
            3 => self.simple(),
            4 => e!(self, "r1 = 1\n*(u32 *)(r0 + 0) = r1"),
            _ => e!(self, "r1 = *(u32 *)(r0 + 4)"),
        }
        e!(self, "goto {top}");
        self.join(&out);
        if !self.bad() || chance(self.r, 50) {
            e!(self, "r1 = r10\nr1 += {it}\ncall kfunc {destroy:#x}");
        }
        if self.bad() {
            e!(self, "r1 = r10\nr1 += {it}\ncall kfunc {destroy:#x}");
        }
    }

    /// An RCU read-side section around a little work (wrong variants: left open,
    /// opened twice, closed twice).
    fn rcu_section(&mut self) {
        let id = |n: &str| bpfbox_abi::kfuncs::kfunc_id(n).unwrap_or(0);
        let (lock, unlock) = (id("bpf_rcu_read_lock"), id("bpf_rcu_read_unlock"));
        e!(self, "call kfunc {lock:#x}");
        if self.bad() {
            e!(self, "call kfunc {lock:#x}");
        }
        self.simple();
        if !self.bad() || chance(self.r, 50) {
            e!(self, "call kfunc {unlock:#x}");
        }
        if self.bad() {
            e!(self, "call kfunc {unlock:#x}");
        }
    }

    /// `bpf_tail_call(ctx, progs, index)`: the context must be r1 (wrong variant: it
    /// is not); when it returns (no program at the index) the program goes on.
    fn tail_call(&mut self) {
        if self.bad() {
            e!(self, "r1 = r{}", self.keep());
        } else {
            e!(self, "r1 = r6");
        }
        e!(self, "ld_pseudo r2, 0x5, 5\nr3 = {}\ncall 12", self.n(3));
    }

    fn simple(&mut self) {
        match self.n(6) {
            0 => self.scalar_source(),
            1 | 2 => self.alu(),
            3 => self.stack_store(),
            4 => self.stack_load(),
            _ => self.spill_fill(),
        }
    }

    fn gadget(&mut self) {
        match self.n(28) {
            26 => self.iter_loop(),
            27 => self.rcu_section(),
            20 => self.stack_atomic(),
            21 => self.packet_invalidate(),
            22 | 23 => self.sk_lookup(),
            24 => self.may_goto_loop(),
            25 => self.tail_call(),
            0..=2 => self.simple(),
            3 | 4 => self.branch(),
            5 => self.stack_var(),
            6 => self.spill_fill(),
            7..=9 => self.map_lookup(),
            10 => self.map_update(),
            11 => self.ringbuf(),
            12 | 13 => self.packet(),
            14 => self.ctx_access(),
            15 => self.helper_mem(),
            16 => self.bounded_loop(),
            17 => self.pointer_ops(),
            18 => self.subprog_call(),
            19 if chance(self.r, 50) => self.sock_lookup(),
            19 => self.mixed_ptr_load(),
            _ => self.scalar_source(),
        }
    }
}

/// A random program (see the module documentation).
pub fn generate(r: &mut Rng) -> Case {
    let (prog_type, attach) = match r.below(3) {
        0 => (ProgType::SocketFilter, None),
        1 => (ProgType::Xdp, Some(37)),
        _ => (ProgType::SchedCls, None),
    };
    let maps = maps(r);
    let err = *pick(r, &[1, 3, 8, 20, 40]);
    let mut g = Gen { r, lines: Vec::new(), labels: 0, prog_type, subprogs: Vec::new(), err };
    e!(g, "r6 = r1");
    for k in KEEP {
        if !g.bad() {
            e!(g, "r{k} = {}", g.n(8));
        }
    }
    for _ in 0..2 + g.n(7) {
        g.gadget();
    }
    if g.bad() {
        e!(g, "r0 = r{}", g.keep());
    } else {
        e!(g, "r0 = {}", g.n(3));
    }
    e!(g, "exit");
    let mut lines: Vec<String> = g.lines.iter().flat_map(|l| l.lines().map(str::to_string)).collect();
    for s in g.subprogs {
        lines.extend(s);
    }
    Case { prog_type, expected_attach_type: attach, maps, lines }
}

/// Remove lines from `case` while `still` holds (greedy, last line first, repeated
/// until nothing more can go); a label on a removed line moves to the next one.
pub fn minimise(case: &Case, mut still: impl FnMut(&Case) -> bool) -> Case {
    let mut cur = case.clone();
    loop {
        let mut shrunk = false;
        let mut i = cur.lines.len();
        while i > 0 {
            i -= 1;
            if i >= cur.lines.len() {
                continue;
            }
            let mut next = cur.clone();
            let removed = next.lines.remove(i);
            if let Some((label, _)) = removed.split_once(": ").filter(|(l, _)| !l.contains(' ')) {
                match next.lines.get_mut(i) {
                    Some(l) if !l.split_once(": ").is_some_and(|(x, _)| !x.contains(' ')) => {
                        *l = format!("{label}: {l}");
                    }
                    _ => continue,
                }
            }
            if next.input().is_some() && still(&next) {
                cur = next;
                shrunk = true;
            }
        }
        // Maps no remaining instruction names could go too, but their indices are
        // referenced by number: keep them.
        if !shrunk {
            return cur;
        }
    }
}

/// The kernel's verdict message reduced to its shape (numbers and registers dropped), to
/// tell whether two rejections are the same kind.
pub fn message_shape(msg: &str) -> String {
    let mut s: String = msg.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect();
    s.truncate(48);
    s
}

/// What the two verifiers said about one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    /// Both accept, or both reject.
    Same,
    /// bpfbox accepts what the kernel rejects (the kernel's message): unsound.
    UnsoundAccept(String),
    /// bpfbox rejects (its message) what the kernel accepts: too strict.
    OverStrict(String),
}

/// Compare bpfbox's verdict on `case` with `kernel` (`Ok(())` accepted, `Err(message)`
/// the kernel's last log line). `None` when the case does not assemble.
pub fn compare(case: &Case, kernel: &Result<(), String>) -> Option<Agreement> {
    let input = case.input()?;
    let report = bpfbox_verifier::verify(&input, &bpfbox_verifier::VerifyOptions::default());
    Some(match (report.accepted(), kernel) {
        (true, Ok(())) | (false, Err(_)) => Agreement::Same,
        (true, Err(k)) => Agreement::UnsoundAccept(k.clone()),
        (false, Ok(())) => {
            Agreement::OverStrict(report.diagnostics.first().map_or(String::new(), |d| d.message.clone()))
        }
    })
}

/// Tallies of a campaign.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub programs: u64,
    pub both_accept: u64,
    pub both_reject: u64,
    pub unsound: u64,
    pub over_strict: u64,
    /// Minimised disagreements, one per (direction, message shape): (shape, corpus text).
    pub samples: std::collections::BTreeMap<String, (u64, String)>,
    /// How often each kind of rejection both gave (the kernel's message shape).
    pub reject_shapes: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    pub fn agreement_rate(&self) -> f64 {
        (self.both_accept + self.both_reject) as f64 / self.programs.max(1) as f64
    }

    /// Run `budget` worth of programs from `seed`, asking `kernel` for each verdict;
    /// disagreements are minimised (the first few of each kind) and kept in `samples`.
    pub fn run(
        &mut self,
        seed: u64,
        budget: std::time::Duration,
        max_programs: u64,
        mut kernel: impl FnMut(&Case) -> Result<(), String>,
    ) {
        let start = std::time::Instant::now();
        let mut rng = Rng::new(seed);
        while start.elapsed() < budget && self.programs < max_programs {
            let case = generate(&mut rng);
            let k = kernel(&case);
            let Some(a) = compare(&case, &k) else { continue };
            self.programs += 1;
            let (dir, msg) = match &a {
                Agreement::Same => {
                    match &k {
                        Ok(()) => self.both_accept += 1,
                        Err(m) => {
                            self.both_reject += 1;
                            *self.reject_shapes.entry(message_shape(m)).or_insert(0) += 1;
                        }
                    }
                    continue;
                }
                Agreement::UnsoundAccept(m) => {
                    self.unsound += 1;
                    ("unsound accept", m.clone())
                }
                Agreement::OverStrict(m) => {
                    self.over_strict += 1;
                    ("over-strict reject", m.clone())
                }
            };
            let key = format!("{dir}: {}", message_shape(&msg));
            if let Some(e) = self.samples.get_mut(&key) {
                e.0 += 1;
                continue;
            }
            let same_kind = |c: &Case| {
                let k2 = kernel(c);
                match compare(c, &k2) {
                    Some(Agreement::UnsoundAccept(m)) if dir == "unsound accept" => {
                        message_shape(&m) == message_shape(&msg)
                    }
                    Some(Agreement::OverStrict(m)) if dir == "over-strict reject" => {
                        message_shape(&m) == message_shape(&msg)
                    }
                    _ => false,
                }
            };
            let small = minimise(&case, same_kind);
            let verdict = match kernel(&small) {
                Ok(()) => "; kernel: accepted".to_string(),
                Err(m) => format!("; kernel: {m}"),
            };
            let bpfbox = match compare(&small, &Ok(())) {
                Some(Agreement::OverStrict(m)) => format!("; bpfbox: {m}"),
                _ => "; bpfbox: accepted".to_string(),
            };
            let text = format!("{}{verdict}\n{bpfbox}\n", small.corpus_text(&key));
            self.samples.insert(key, (1, text));
        }
    }
}
