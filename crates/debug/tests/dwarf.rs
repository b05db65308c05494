//! DWARF of the repository's clang-built objects: functions in their sections, line
//! rows, variable locations (registers, frame offsets, computed values) and types.

use bpfbox_debug::dwarf::{DebugInfo, DwarfError, Location, Type};

fn read(rel: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn functions_lines_variables_and_types_of_debug_demo() {
    let info = DebugInfo::parse(&read("tests/progs/debug_demo.bpf.o")).expect("DWARF");
    let main = info.function_named("xdp_debug_demo").expect("main function");
    let mix = info.function_named("mix").expect("mix");
    // Different sections (xdp and .text), each starting at offset 0.
    assert_ne!(main.low.section, mix.low.section);
    assert_eq!((main.low.offset, mix.low.offset), (0, 0));
    assert_eq!(main.high, 42 * 8, "xdp_debug_demo is 42 slots");
    assert_eq!(info.files[main.decl_file].rsplit('/').next(), Some("debug_demo.bpf.c"));
    assert_eq!((main.decl_line, mix.decl_line), (26, 18));
    // Line 40 (`__u32 key = ip->protocol;`) starts at slot 13 of the xdp section.
    assert!(info
        .lines
        .iter()
        .any(|r| r.addr == bpfbox_debug::dwarf::Address { section: main.low.section, offset: 13 * 8 } && r.line == 40));
    // `key` lives in the frame (frame base + 12 = r10 - 4 with a 16-byte frame),
    // `ip` is the value r7 + 14 (the end of the Ethernet header).
    let var = |f: &bpfbox_debug::dwarf::Function, n: &str| f.vars.iter().find(|v| v.name == n).cloned().expect(n);
    assert_eq!(var(main, "key").location_at(13 * 8), Location::FrameOffset(12));
    assert_eq!(var(main, "ip").location_at(13 * 8), Location::RegValue(7, 14));
    assert_eq!(var(main, "ip").location_at(0), Location::OptimizedOut);
    assert_eq!(var(mix, "a").location_at(0), Location::Reg(1));
    assert!(var(mix, "a").is_param && !var(main, "key").is_param);
    assert_eq!(info.type_name(var(main, "ip").ty), "struct iphdr *");
    assert_eq!(info.type_name(var(main, "st").ty), "struct stats *");
    let st = info.resolve(var(main, "st").ty).expect("pointer");
    let Type::Pointer { to } = &info.types[st] else { panic!("st is a pointer") };
    let Some(Type::Struct { members, size, .. }) = info.resolve(*to).map(|t| &info.types[t]) else { panic!("stats") };
    assert_eq!(*size, 16);
    let m: Vec<(&str, u64)> = members.iter().map(|m| (m.name.as_str(), m.offset)).collect();
    assert_eq!(m, [("packets", 0), ("bytes", 8)]);
    assert_eq!(info.size_of(var(main, "key").ty), 4);
}

#[test]
fn objects_without_dwarf_say_so() {
    assert!(matches!(DebugInfo::parse(&read("tests/realworld/katran_balancer.bpf.o")), Err(DwarfError::Missing)));
    assert!(matches!(DebugInfo::parse(b"not an elf"), Err(DwarfError::Elf(_))));
    // Truncated DWARF-bearing objects fail without panicking.
    let obj = read("tests/progs/subprogs.bpf.o");
    for cut in [64, obj.len() / 2, obj.len() - 9] {
        let _ = DebugInfo::parse(&obj[..cut]);
    }
}

#[test]
fn corrupted_dwarf_never_panics() {
    let obj = read("tests/progs/debug_demo.bpf.o");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..3000 {
        let mut bad = obj.clone();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = (seed % bad.len() as u64) as usize;
            bad[i] ^= (seed >> 32) as u8 | 1;
        }
        if let Ok(info) = DebugInfo::parse(&bad) {
            for f in &info.functions {
                let _ = info.type_name(f.ret);
                for v in &f.vars {
                    let _ = (info.type_name(v.ty), info.size_of(v.ty), v.location_at(0));
                }
            }
        }
    }
}
