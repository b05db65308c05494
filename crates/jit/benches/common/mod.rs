//! Shared by the JIT benchmark, the `compile_time` example and `tests/cross.rs`: a
//! deterministic random generator, the synthetic 1,000-instruction program and the
//! benchmark programs' inputs.

// Each includer uses part of it.
#![allow(dead_code)]

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

// ---------------------------------------------------------------- benchmark inputs

fn frame(kind: usize, r: &mut Rng) -> [u8; 128] {
    let mut f = [0u8; 128];
    for b in f.iter_mut() {
        *b = r.next() as u8;
    }
    let mut p = 12;
    let put16 = |f: &mut [u8; 128], at: usize, v: u16| f[at..at + 2].copy_from_slice(&v.to_be_bytes());
    let tags: &[u16] = match kind % 4 {
        1 => &[0x8100],
        3 => &[0x88a8, 0x8100],
        _ => &[],
    };
    for &t in tags {
        put16(&mut f, p, t);
        p += 4;
    }
    let v6 = kind % 5 == 3;
    let ethertype = match kind {
        5 => 0x0806,
        11 => 0x1234,
        _ if v6 => 0x86dd,
        _ => 0x0800,
    };
    put16(&mut f, p, ethertype);
    let l3 = p + 2;
    let proto = [6u8, 17, 1, 6, 17, 6, 6, 17, 6, 1, 6, 17, 6, 6, 17, 6][kind % 16];
    let l4 = if v6 {
        f[l3] = 0x60;
        f[l3 + 6] = if proto == 1 { 58 } else { proto };
        f[l3 + 7] = 64;
        f[l3 + 24] = if kind == 8 { 0xff } else { 0x20 };
        l3 + 40
    } else {
        let ihl = if kind == 6 { 6 } else { 5 };
        f[l3] = 0x40 | ihl;
        put16(&mut f, l3 + 6, if kind == 7 { 0x2001 } else { 0x4000 });
        f[l3 + 8] = if kind == 9 { 1 } else { 64 };
        f[l3 + 9] = proto;
        f[l3 + 12] = if kind == 13 { 10 } else { 192 };
        f[l3 + 16] = if kind == 13 { 10 } else { 172 };
        l3 + ihl as usize * 4
    };
    let dport: u16 = [80, 53, 0, 22, 123, 443, 8080, 5000, 6010, 0, 25, 53, 80, 443, 1234, 6001][kind % 16];
    match proto {
        6 => {
            put16(&mut f, l4, 40000 + kind as u16);
            put16(&mut f, l4 + 2, dport);
            f[l4 + 13] = if kind == 12 { 0x03 } else { 0x10 };
        }
        17 => {
            put16(&mut f, l4, 30000 + kind as u16);
            put16(&mut f, l4 + 2, dport);
            put16(&mut f, l4 + 4, if kind == 11 { 600 } else { 64 });
        }
        _ => f[l4] = if kind == 2 { 8 } else { 3 },
    }
    f
}

/// The input buffer of benchmark program `name` (tests/bench), deterministic.
pub fn input(name: &str) -> Vec<u8> {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    match name {
        "sieve" => vec![0xaa; 2000],
        "checksum" => (0..1500).map(|_| r.next() as u8).collect(),
        "parse" => (0..16).flat_map(|k| frame(k, &mut r)).collect(),
        "hash" => {
            let mut table = vec![0u32; 512];
            let mut present = Vec::new();
            for _ in 0..170 {
                let key = (r.next() as u32) | 1;
                let h = (key.wrapping_mul(2_654_435_761) >> 24) as usize;
                for probe in 0..8 {
                    let slot = (h + probe) & 255;
                    if table[slot * 2] == 0 {
                        table[slot * 2] = key;
                        table[slot * 2 + 1] = r.next() as u32 & 0xffff;
                        present.push(key);
                        break;
                    }
                }
            }
            let keys: Vec<u32> =
                (0..128)
                    .map(|i| {
                        if i % 3 == 2 {
                            (r.next() as u32) | 1
                        } else {
                            present[r.below(present.len() as u64) as usize]
                        }
                    })
                    .collect();
            table.iter().chain(&keys).flat_map(|v| v.to_le_bytes()).collect()
        }
        "lpm" => {
            // nodes: [child0, child1, value, has_value] as u16
            let mut nodes: Vec<[u16; 4]> = vec![[0; 4]];
            let mut prefixes = Vec::new();
            'add: for i in 0..200u16 {
                let len = 8 + r.below(17) as u32;
                let addr = (10u32 << 24) | (r.next() as u32 & 0x00ff_ffff);
                let mut n = 0usize;
                let mut path = Vec::new();
                for depth in 0..len {
                    let bit = ((addr >> (31 - depth)) & 1) as usize;
                    if nodes[n][bit] == 0 {
                        if nodes.len() + (len - depth) as usize > 256 {
                            continue 'add;
                        }
                        nodes.push([0; 4]);
                        let c = (nodes.len() - 1) as u16;
                        nodes[n][bit] = c;
                    }
                    n = nodes[n][bit] as usize;
                    path.push(n);
                }
                nodes[n][2] = i + 1;
                nodes[n][3] = 1;
                prefixes.push(addr);
            }
            nodes[0][2] = 999;
            nodes[0][3] = 1;
            nodes.resize(256, [0; 4]);
            let addrs: Vec<u32> = (0..32)
                .map(|i| {
                    if i % 4 == 3 {
                        r.next() as u32
                    } else {
                        prefixes[r.below(prefixes.len() as u64) as usize] ^ (r.next() as u32 & 0xff)
                    }
                })
                .collect();
            nodes
                .iter()
                .flat_map(|n| n.iter().flat_map(|v| v.to_le_bytes()))
                .chain(addrs.iter().flat_map(|a| a.to_le_bytes()))
                .collect()
        }
        "strcmp" => {
            let needle: Vec<u8> = (0..64).map(|_| r.next() as u8).collect();
            let mut out = needle.clone();
            for c in 0..32 {
                let mut s = needle.clone();
                if c % 4 != 0 {
                    let at = r.below(64) as usize;
                    s[at] = s[at].wrapping_add(1 + r.below(255) as u8);
                }
                out.extend(s);
            }
            out
        }
        _ => unreachable!(),
    }
}
