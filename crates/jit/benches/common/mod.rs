//! Shared by the JIT benchmark and the `compile_time` example: a deterministic
//! random generator and the synthetic 1,000-instruction program.

use bpfbox_isa::{assemble, Insn, Syntax};

/// xorshift64*: deterministic inputs.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A 1,000-slot program of the usual mix (loads from a packet, ALU, stack spills,
/// forward branches) for the compile-time measurement.
pub fn thousand() -> Vec<Insn> {
    synthetic(1000)
}

/// The same kind of program, `n` instructions long.
pub fn synthetic(n: usize) -> Vec<Insn> {
    let mut r = Rng(42);
    let mut lines = vec!["ldxdw %r2, [%r1+0]".to_string(), "mov %r0, 0".to_string()];
    while lines.len() < n - 1 {
        let left = n - 1 - lines.len();
        let x = 3 + r.below(7);
        let y = 3 + r.below(7);
        let l = match r.below(10) {
            0 | 1 => format!("ldxw %r{x}, [%r2+{}]", r.below(1400)),
            2 => format!("stxdw [%r10-{}], %r{x}", 8 * (1 + r.below(60))),
            3 => format!("ldxdw %r{x}, [%r10-{}]", 8 * (1 + r.below(60))),
            4 if left > 2 => format!("jgt %r{x}, %r{y}, +{}", r.below(left.min(20) as u64 - 1)),
            5 => format!("mul %r{x}, {}", r.below(1000)),
            6 => format!("lsh %r{x}, {}", r.below(63)),
            7 => format!("xor %r{x}, %r{y}"),
            8 => format!("add %r0, %r{x}"),
            _ => format!("and32 %r{x}, {}", r.below(0xffff)),
        };
        lines.push(l);
    }
    lines.push("exit".into());
    let insns = assemble(&lines.join("\n"), Syntax::Ubpf).unwrap();
    assert_eq!(insns.len(), n);
    insns
}
