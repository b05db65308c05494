//! `Object::parse`: what it extracts from the C test programs, the errors it
//! gives for broken files, and that truncated or corrupted files never panic.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{CallTarget, Insn};
use bpfbox_object::{objdump, Object, ObjectError, RelocTarget, SymbolKind};
use std::path::Path;

fn prog(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn all_progs() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/progs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".bpf.o")))
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read")))
        .collect();
    v.sort();
    v
}

#[test]
fn sections_symbols_relocations() {
    let obj = Object::parse(&prog("subprogs.bpf.o")).expect("parses");
    let names: Vec<&str> = obj.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [".text", "xdp"]);
    let text = obj.section(".text").expect(".text");
    let funcs: Vec<&str> = text.functions().map(|f| f.name.as_str()).collect();
    assert_eq!(funcs, ["classify", "sum_bytes", "csum_fold"]);
    let (sec, f) = obj.function("sum_bytes").expect("sum_bytes");
    assert_eq!((sec.name.as_str(), f.offset % 8, f.size % 8, f.kind), (".text", 0, 0, SymbolKind::Func));
    assert_eq!(sec.symbol_bytes(f).len() as u64, f.size);
    // The xdp program calls into .text: every call carries a relocation.
    let xdp = obj.section("xdp").expect("xdp");
    let insns = xdp.insns().expect("decodes");
    let calls: Vec<u64> = insns
        .iter()
        .enumerate()
        .filter(|(_, i)| matches!(i, Insn::Call(CallTarget::Local(_))))
        .map(|(pc, _)| pc as u64 * 8)
        .collect();
    let relocated: Vec<u64> = xdp.relocations.iter().map(|r| r.offset).collect();
    assert_eq!(calls, relocated);
    assert!(xdp
        .relocations
        .iter()
        .all(|r| r.target == RelocTarget::Section { index: text.index, name: ".text".into() }));

    // Map references point into `.maps` by symbol name.
    let obj = Object::parse(&prog("maps.bpf.o")).expect("parses");
    let maps: Vec<&str> = obj.sections[0].relocations.iter().map(|r| r.symbol_name.as_str()).collect();
    assert_eq!(maps, ["totals", "proto_count", "proto_count"]);
    assert!(obj.sections[0]
        .relocations
        .iter()
        .all(|r| matches!(&r.target, RelocTarget::Section { name, .. } if name == ".maps")));

    // kfuncs are undefined externs.
    let obj = Object::parse(&prog("kprobe.bpf.o")).expect("parses");
    let ext: Vec<&str> = obj.sections[0]
        .relocations
        .iter()
        .filter(|r| r.target == RelocTarget::Undefined)
        .map(|r| r.symbol_name.as_str())
        .collect();
    assert_eq!(ext, ["bpf_rcu_read_lock", "bpf_rcu_read_unlock"]);
}

#[test]
fn every_program_parses_and_decodes() {
    for (name, bytes) in all_progs() {
        let obj = Object::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!obj.sections.is_empty(), "{name}");
        for sec in &obj.sections {
            sec.insns().unwrap_or_else(|e| panic!("{name} {}: {e}", sec.name));
            assert!(sec.functions().count() >= 1, "{name} {}", sec.name);
        }
    }
}

/// Offsets of ELF64 header fields.
const E_MACHINE: usize = 18;
const E_SHOFF: usize = 40;
const E_SHNUM: usize = 60;

fn read_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// File offset of section header `index`.
fn shdr(b: &[u8], index: usize) -> usize {
    read_u64(b, E_SHOFF) as usize + index * 64
}

#[test]
fn errors_say_what_and_where() {
    let good = prog("xdp_parse.bpf.o");
    let xdp_index = Object::parse(&good).expect("parses").sections[0].index;

    assert!(matches!(Object::parse(b"MZ\x90\x00"), Err(ObjectError::NotElf { .. })));
    assert!(matches!(Object::parse(b""), Err(ObjectError::NotElf { .. })));
    let e = Object::parse(&good[..40]).expect_err("short");
    assert_eq!(e, ObjectError::Truncated { what: "ELF header", needed: 64, len: 40 });
    assert_eq!(e.to_string(), "truncated file: the ELF header needs 64 bytes, the file has 40");

    let mut b = good.clone();
    b[E_MACHINE] = 62; // EM_X86_64
    assert_eq!(Object::parse(&b), Err(ObjectError::NotBpf { machine: 62 }));

    let mut b = good.clone();
    b[4] = 1; // ELFCLASS32
    assert!(matches!(Object::parse(&b), Err(ObjectError::Unsupported { .. })));
    let mut b = good.clone();
    b[5] = 2; // big endian
    assert!(matches!(Object::parse(&b), Err(ObjectError::Unsupported { .. })));

    // Section header table cut off.
    let shoff = read_u64(&good, E_SHOFF) as usize;
    let e = Object::parse(&good[..shoff + 100]).expect_err("truncated table");
    assert!(matches!(e, ObjectError::Truncated { what: "section header table", .. }), "{e}");

    // Code section pointing past the end of the file.
    let mut b = good.clone();
    let at = shdr(&b, xdp_index) + 24; // sh_offset
    put_u64(&mut b, at, good.len() as u64 - 8);
    match Object::parse(&b) {
        Err(ObjectError::SectionOutOfBounds { index, name, .. }) => {
            assert_eq!((index, name.as_str()), (xdp_index, "xdp"))
        }
        other => panic!("{other:?}"),
    }

    // Code section size not a multiple of 8.
    let mut b = good.clone();
    let at = shdr(&b, xdp_index) + 32; // sh_size
    let size = read_u64(&b, at);
    put_u64(&mut b, at, size - 4);
    let e = Object::parse(&b).expect_err("odd size");
    assert_eq!(e, ObjectError::BadSectionSize { index: xdp_index, name: "xdp".into(), size: size - 4 });
    assert!(e.to_string().contains("not a multiple of 8"), "{e}");

    // A relocation whose offset is outside its section.
    let mut b = prog("maps.bpf.o");
    let obj = Object::parse(&b).expect("parses");
    let target = obj.sections[0].index as u32;
    let shnum = u16::from_le_bytes([b[E_SHNUM], b[E_SHNUM + 1]]) as usize;
    let rel = (0..shnum)
        .find(|&i| {
            let h = shdr(&b, i);
            u32::from_le_bytes(b[h + 4..h + 8].try_into().expect("4")) == 9 // SHT_REL
                && u32::from_le_bytes(b[h + 44..h + 48].try_into().expect("4")) == target
            // sh_info
        })
        .expect("relocation section for xdp");
    let rel_off = read_u64(&b, shdr(&b, rel) + 24) as usize;
    put_u64(&mut b, rel_off, 0x10_0000); // r_offset of entry 0
    match Object::parse(&b) {
        Err(ObjectError::RelocationOutOfBounds { entry: 0, section, .. }) => assert_eq!(section, "xdp"),
        other => panic!("{other:?}"),
    }
    // ... or whose symbol does not exist.
    let mut b = prog("maps.bpf.o");
    put_u64(&mut b, rel_off + 8, (9999u64 << 32) | 1); // r_info: symbol 9999, R_BPF_64_64
    assert!(matches!(Object::parse(&b), Err(ObjectError::BadRelocationSymbol { symbol: 9999, .. })));
}

#[test]
fn misaligned_input_is_fine() {
    let good = prog("subprogs.bpf.o");
    let mut buf = vec![0u8; good.len() + 3];
    for skew in 0..3 {
        buf[skew..skew + good.len()].copy_from_slice(&good);
        let obj = Object::parse(&buf[skew..skew + good.len()]).expect("parses at any alignment");
        assert_eq!(obj, Object::parse(&good).expect("parses"));
    }
}

/// Deterministic xorshift so the corruption test is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn parse_and_dump(b: &[u8]) {
    if let Ok(obj) = Object::parse(b) {
        let _ = objdump(&obj, "x.o", None);
        for sec in &obj.sections {
            let _ = sec.insns();
            for f in sec.functions() {
                let _ = sec.symbol_bytes(f);
            }
        }
    }
}

#[test]
fn truncated_and_corrupted_files_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (_, good) in all_progs() {
        // Every truncation length (the files are a few KiB).
        for len in 0..good.len() {
            parse_and_dump(&good[..len]);
        }
        // Random byte, u16 and u64 corruptions, biased to the headers.
        for _ in 0..3000 {
            let mut b = good.clone();
            for _ in 0..(1 + rng.next() % 4) {
                let at = if rng.next().is_multiple_of(2) {
                    (rng.next() % 64) as usize
                } else if rng.next().is_multiple_of(2) {
                    let sh = read_u64(&good, E_SHOFF) as usize;
                    (sh + (rng.next() as usize % (good.len() - sh))).min(good.len() - 1)
                } else {
                    rng.next() as usize % good.len()
                };
                match rng.next() % 3 {
                    0 => b[at] = rng.next() as u8,
                    1 => b[at] ^= 1 << (rng.next() % 8),
                    _ => {
                        let v = [0u64, u64::MAX, 1 << 63, rng.next(), good.len() as u64, 7][rng.next() as usize % 6];
                        let at = at.min(b.len() - 8);
                        put_u64(&mut b, at, v);
                    }
                }
            }
            parse_and_dump(&b);
        }
    }
}
