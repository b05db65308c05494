//! Fuzz oracles, as a library (wasmtime's `crates/fuzzing` pattern): the cargo-fuzz
//! targets under `/fuzz` are one-line glue around these functions, and the tests of
//! this crate run them on generated inputs for a bounded time.
//!
//! Every oracle panics when it finds a bug; returning means the input was handled.

use bpfbox_isa::{decode_program, encode_program, llvm, ubpf};

pub mod kernel_diff;
pub mod soundness;

/// Decoder: never panics; whatever it accepts re-encodes to the same bytes and
/// survives a round trip through both text syntaxes.
pub fn decode(bytes: &[u8]) {
    let Ok(insns) = decode_program(bytes) else { return };
    assert_eq!(encode_program(&insns), bytes, "accepted encoding is not canonical");
    let text = ubpf::disasm(&insns);
    let back = ubpf::assemble(&text).unwrap_or_else(|e| panic!("ubpf disasm output does not assemble: {e}\n{text}"));
    assert_eq!(back, insns, "ubpf round trip\n{text}");
    let text = llvm::disasm(&insns);
    let back = llvm::assemble(&text).unwrap_or_else(|e| panic!("llvm disasm output does not assemble: {e}\n{text}"));
    assert_eq!(back, insns, "llvm round trip\n{text}");
}

/// Assemblers: never panic on arbitrary text; what they accept disassembles and
/// assembles back to the same program.
pub fn assemble(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    if let Ok(p) = ubpf::assemble(text) {
        let again = ubpf::assemble(&ubpf::disasm(&p)).expect("ubpf disasm output assembles");
        assert_eq!(again, p);
    }
    if let Ok(p) = llvm::assemble(text) {
        let again = llvm::assemble(&llvm::disasm(&p)).expect("llvm disasm output assembles");
        assert_eq!(again, p);
    }
}

/// A tiny deterministic generator (xorshift) so the bounded test needs no extra crates.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Plausible instruction bytes: a valid opcode byte most of the time, registers in
/// range most of the time, small offsets and immediates, lddw tails.
pub fn gen_program(rng: &mut Rng) -> Vec<u8> {
    const CODES: &[u8] = &[
        0x04, 0x07, 0x0c, 0x0f, 0x14, 0x17, 0x1c, 0x1f, 0x24, 0x27, 0x2c, 0x2f, 0x34, 0x37, 0x3c, 0x3f, 0x44, 0x47,
        0x4c, 0x4f, 0x54, 0x57, 0x5c, 0x5f, 0x64, 0x67, 0x6c, 0x6f, 0x74, 0x77, 0x7c, 0x7f, 0x84, 0x87, 0x94, 0x97,
        0x9c, 0x9f, 0xa4, 0xa7, 0xac, 0xaf, 0xb4, 0xb7, 0xbc, 0xbf, 0xc4, 0xc7, 0xcc, 0xcf, 0xd4, 0xd7, 0xdc, 0x18,
        0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63,
        0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x05, 0x06, 0x15, 0x1d, 0x16, 0x1e, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x55,
        0x5d, 0x65, 0x6d, 0x75, 0x7d, 0xa5, 0xad, 0xb5, 0xbd, 0xc5, 0xcd, 0xd5, 0xdd, 0x26, 0xa6, 0xde, 0x85, 0x8d,
        0x95,
    ];
    let n = 1 + rng.below(12) as usize;
    let mut out = Vec::new();
    for _ in 0..n {
        let code =
            if rng.below(16) == 0 { rng.next_u64() as u8 } else { CODES[rng.below(CODES.len() as u64) as usize] };
        let regs =
            if rng.below(8) == 0 { rng.next_u64() as u8 } else { (rng.below(11) as u8) | ((rng.below(11) as u8) << 4) };
        let (off, imm): (i16, i32) = match rng.below(6) {
            0 => (0, 0),
            1 => (rng.below(3) as i16 - 1, rng.below(3) as i32 - 1),
            2 => ([8i16, 16, 32, 1][rng.below(4) as usize], 0),
            3 => (0, [16, 32, 64, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1][rng.below(12) as usize]),
            4 => (rng.next_u64() as i16, rng.next_u64() as i32),
            _ => (rng.below(5) as i16 - 2, 0),
        };
        let mut regs = regs;
        if code == 0x18 {
            regs = (regs & 0x0f) | ((rng.below(7) as u8) << 4);
        }
        out.push(code);
        out.push(regs);
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&imm.to_le_bytes());
        if code == 0x18 && rng.below(8) != 0 {
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(&(if rng.below(2) == 0 { 0 } else { rng.next_u64() as i32 }).to_le_bytes());
        }
    }
    out
}

/// Object loader: never panics on any bytes; what it accepts is self-consistent
/// (function, line, CO-RE and extern records point into the program; initial slots
/// name existing maps; the instructions re-encode canonically; BTF formats the maps'
/// initial data). Loaded twice: without a CO-RE target, and with the object's own
/// BTF as the target so that the relocator runs on every CO-RE record.
pub fn load_object(bytes: &[u8]) {
    use bpfbox_object::{load, Btf, InitSlot, LoadOptions};
    let own_btf = Btf::parse(bytes).ok().map(std::sync::Arc::new);
    let with_target = LoadOptions { target_btf: own_btf, ..LoadOptions::default() };
    for opts in [LoadOptions::default(), with_target] {
        let obj = match load(bytes, &opts) {
            Ok(o) => o,
            Err(e) => {
                assert!(!e.to_string().is_empty(), "empty error message");
                continue;
            }
        };
        for p in &obj.programs {
            let n = p.insns.len();
            assert!(n > 0, "{}: empty program", p.name);
            assert!(p.func_info.iter().all(|f| f.insn_off < n), "{}: func_info out of range", p.name);
            assert!(p.line_info.iter().all(|l| l.insn_off < n), "{}: line_info out of range", p.name);
            assert!(p.core_relos.iter().all(|r| r.insn < n), "{}: CO-RE report out of range", p.name);
            assert!(p.externs.iter().all(|x| x.insn < n), "{}: extern reference out of range", p.name);
            let bytes = encode_program(&p.insns);
            assert_eq!(decode_program(&bytes).as_ref(), Ok(&p.insns), "{}: relocated program re-encodes", p.name);
        }
        for m in &obj.maps {
            for (_, slot) in &m.init_slots {
                if let InitSlot::Map(i) = slot {
                    assert!(*i < obj.maps.len(), "map `{}`: initial slot names map {i}", m.name);
                }
            }
            if let (Some(btf), Some(v)) = (&obj.btf, m.value_type_id) {
                let _ = btf.format_value(v, m.initial_data.as_deref().unwrap_or(&[]));
            }
        }
    }
}

/// Mutate a valid object a little (a few bytes set, flipped, or the file cut), for
/// the bounded loader test: inputs stay close enough to ELF to reach the loader.
pub fn mutate_object(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    if b.is_empty() {
        return b;
    }
    for _ in 0..1 + rng.below(6) {
        let i = rng.below(b.len() as u64) as usize;
        b[i] = match rng.below(5) {
            0 => 0,
            1 => 0xff,
            2 => b[i] ^ (1 << rng.below(8)),
            3 => b[i].wrapping_add(rng.below(16) as u8),
            _ => rng.next_u64() as u8,
        };
    }
    if rng.below(16) == 0 {
        b.truncate(rng.below(b.len() as u64) as usize);
    }
    b
}
