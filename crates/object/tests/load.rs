//! `load`: what the loader makes of the C test programs in tests/progs (programs,
//! types, maps, relocations, sub-programs, line info), and the clear errors — never
//! panics — it gives for malformed objects (truncated at every length, corrupted
//! bytes, bad relocations, keyless maps, unknown map layouts).

#![allow(clippy::unwrap_used)]

use bpfbox_abi::prog_types::{AttachType, ProgType};
use bpfbox_isa::{check_jumps, CallTarget, Imm64, Insn};
use bpfbox_object::{load, ExternKind, InitSlot, LoadError, LoadOptions, LoadedObject, ObjectError};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> Vec<u8> {
    let path = root().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load_ok(rel: &str) -> LoadedObject {
    let opts = LoadOptions { object_name: Some(rel.rsplit('/').next().unwrap().into()), ..Default::default() };
    load(&read(rel), &opts).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every call and function address lands inside the program, on a function that
/// func_info announces; every map index is in range.
fn check_linked(obj: &LoadedObject) {
    for p in &obj.programs {
        check_jumps(&p.insns).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        let starts: Vec<usize> = p.func_info.iter().map(|f| f.insn_off).collect();
        if !p.func_info.is_empty() {
            assert_eq!(starts[0], 0, "{}: func_info starts at 0", p.name);
            assert!(starts.windows(2).all(|w| w[0] < w[1]), "{}: func_info sorted", p.name);
        }
        for (pc, insn) in p.insns.iter().enumerate() {
            match *insn {
                Insn::Call(CallTarget::Local(rel)) | Insn::LoadImm64 { imm: Imm64::Func(rel), .. } => {
                    let target = (pc as i64 + 1 + rel as i64) as usize;
                    if !p.func_info.is_empty() {
                        assert!(starts.contains(&target), "{}: call at {pc} to {target}, not a function start", p.name);
                    }
                }
                Insn::LoadImm64 { imm: Imm64::MapIdx(i) | Imm64::MapIdxValue { idx: i, .. }, .. } => {
                    assert!((i as usize) < obj.maps.len(), "{}: map index {i} at {pc}", p.name);
                }
                Insn::LoadImm64 { imm: Imm64::MapFd(_) | Imm64::MapValue { .. }, .. } => {
                    panic!("{}: unrelocated map reference at {pc}", p.name)
                }
                _ => {}
            }
        }
        let lines: Vec<usize> = p.line_info.iter().map(|l| l.insn_off).collect();
        assert!(lines.iter().all(|&l| l < p.insns.len()), "{}: line info in range", p.name);
    }
}

#[test]
fn test_programs_load() {
    // (file, [(program, section, type, attach type, attach target)], [(map, type, key, value, max)])
    type Prog<'a> = (&'a str, &'a str, Option<ProgType>, Option<AttachType>, Option<&'a str>);
    type Map<'a> = (&'a str, u32, u32, u32, u32);
    let cases: &[(&str, &[Prog<'_>], &[Map<'_>])] = &[
        (
            "atomics_loops.v3.bpf.o",
            &[(
                "atomics_loops",
                "tracepoint/sched/sched_switch",
                Some(ProgType::Tracepoint),
                None,
                Some("sched/sched_switch"),
            )],
            &[("atomics_.bss", 2, 4, 40, 1)],
        ),
        (
            "cgroup_skb.bpf.o",
            &[
                ("cg_egress", "cgroup_skb/egress", Some(ProgType::CgroupSkb), Some(AttachType::CgroupInetEgress), None),
                (
                    "cg_ingress",
                    "cgroup_skb/ingress",
                    Some(ProgType::CgroupSkb),
                    Some(AttachType::CgroupInetIngress),
                    None,
                ),
            ],
            &[("cgroup_s.bss", 2, 4, 8, 1)],
        ),
        (
            "isa_v4.v4.bpf.o",
            &[("isa_v4", "socket", Some(ProgType::SocketFilter), None, None)],
            &[("isa_v4.bss", 2, 4, 72, 1)],
        ),
        (
            "kprobe.bpf.o",
            &[("kprobe_unlinkat", "kprobe/do_unlinkat", Some(ProgType::Kprobe), None, Some("do_unlinkat"))],
            &[("kprobe.bss", 2, 4, 8, 1)],
        ),
        (
            "maps.bpf.o",
            &[("xdp_count", "xdp", Some(ProgType::Xdp), Some(AttachType::Xdp), None)],
            &[("totals", 2, 4, 8, 2), ("proto_count", 1, 4, 8, 256)],
        ),
        (
            "map_types.bpf.o",
            &[("xdp_map_types", "xdp", Some(ProgType::Xdp), Some(AttachType::Xdp), None)],
            &[
                ("t_hash", 1, 4, 8, 4),
                ("t_array", 2, 4, 8, 4),
                ("t_percpu_hash", 5, 4, 4, 4),
                ("t_percpu_array", 6, 4, 4, 4),
                ("t_lru_hash", 9, 4, 8, 4),
                ("t_lru_percpu_hash", 10, 4, 4, 4),
                ("t_lpm", 11, 8, 4, 4),
                ("t_queue", 22, 0, 4, 4),
                ("t_stack", 23, 0, 4, 4),
                ("t_bloom", 30, 0, 4, 4),
            ],
        ),
        ("can_loop.bpf.o", &[("can_loop_sum", "socket", Some(ProgType::SocketFilter), None, None)], &[]),
        (
            "debug_demo.bpf.o",
            &[("xdp_debug_demo", "xdp", Some(ProgType::Xdp), Some(AttachType::Xdp), None)],
            &[("proto_stats", 2, 4, 16, 256)],
        ),
        (
            "hash_values.bpf.o",
            &[("hash_values", "xdp", Some(ProgType::Xdp), Some(AttachType::Xdp), None)],
            &[("small", 2, 4, 8, 4), ("flows", 1, 4, 16, 16), ("seen", 1, 16, 8, 64)],
        ),
        (
            "iter_num.bpf.o",
            &[("iter_num", "xdp", Some(ProgType::Xdp), Some(AttachType::Xdp), None)],
            &[("hist", 2, 4, 8, 16), ("out", 2, 4, 8, 8)],
        ),
        ("mem_sum.bpf.o", &[("mem_sum", "socket", Some(ProgType::SocketFilter), None, None)], &[]),
        (
            "pinned_maps.bpf.o",
            &[("bbx_pin_xdp", "xdp", Some(ProgType::Xdp), Some(AttachType::Xdp), None)],
            &[("bbx_pin_count", 2, 4, 8, 2), ("bbx_pin_bytes", 1, 4, 8, 16)],
        ),
        ("socket_filter.bpf.o", &[("sock_http", "socket", Some(ProgType::SocketFilter), None, None)], &[]),
        ("subprogs.bpf.o", &[("xdp_subprogs", "xdp", Some(ProgType::Xdp), Some(AttachType::Xdp), None)], &[]),
        (
            "tc_mark.bpf.o",
            &[
                ("tc_mark", "tc", Some(ProgType::SchedCls), None, None),
                ("cls_drop_small", "classifier", Some(ProgType::SchedCls), None, None),
            ],
            &[],
        ),
        (
            "tracepoint.bpf.o",
            &[(
                "trace_execve",
                "tracepoint/syscalls/sys_enter_execve",
                Some(ProgType::Tracepoint),
                None,
                Some("syscalls/sys_enter_execve"),
            )],
            &[("tracepoi.rodata", 2, 4, 29, 1)],
        ),
        ("xdp_parse.bpf.o", &[("xdp_parse", "xdp", Some(ProgType::Xdp), Some(AttachType::Xdp), None)], &[]),
    ];
    let mut seen = 0;
    for (file, progs, maps) in cases {
        let obj = load_ok(&format!("tests/progs/{file}"));
        assert_eq!(obj.license, "GPL", "{file}");
        let got: Vec<Prog<'_>> = obj
            .programs
            .iter()
            .map(|p| {
                (p.name.as_str(), p.section.as_str(), p.prog_type, p.expected_attach_type, p.attach_target.as_deref())
            })
            .collect();
        assert_eq!(&got, progs, "{file}: programs");
        let got: Vec<_> =
            obj.maps.iter().map(|m| (m.name.as_str(), m.map_type, m.key_size, m.value_size, m.max_entries)).collect();
        assert_eq!(&got, maps, "{file}: maps");
        check_linked(&obj);
        for p in &obj.programs {
            assert!(!p.line_info.is_empty() && !p.func_info.is_empty(), "{file}: {} has BTF.ext info", p.name);
            assert!(p.core_relos.is_empty());
        }
        seen += 1;
    }
    // Every object in tests/progs is covered.
    let all = std::fs::read_dir(root().join("tests/progs"))
        .unwrap()
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".bpf.o")));
    assert_eq!(all.count(), seen);
}

#[test]
fn subprograms_are_appended_depth_first_in_call_order() {
    let obj = load_ok("tests/progs/subprogs.bpf.o");
    let p = &obj.programs[0];
    let funcs: Vec<(usize, &str)> = p.func_info.iter().map(|f| (f.insn_off, f.name.as_str())).collect();
    // xdp_subprogs calls sum_bytes, then csum_fold, then classify: appended in that order.
    assert_eq!(funcs.iter().map(|f| f.1).collect::<Vec<_>>(), ["xdp_subprogs", "sum_bytes", "csum_fold", "classify"]);
    // Each call lands on the function it names.
    let calls: Vec<usize> = p
        .insns
        .iter()
        .enumerate()
        .filter_map(|(pc, i)| match i {
            Insn::Call(CallTarget::Local(rel)) => Some((pc as i64 + 1 + *rel as i64) as usize),
            _ => None,
        })
        .collect();
    assert_eq!(calls, [funcs[1].0, funcs[2].0, funcs[3].0]);
    // Every function ends with exit right before the next one starts.
    for w in funcs.windows(2) {
        assert_eq!(p.insns[w[1].0 - 1], Insn::Exit, "{} ends before {}", w[0].1, w[1].1);
    }
    assert_eq!(p.insns.last(), Some(&Insn::Exit));
}

#[test]
fn map_and_global_data_references() {
    let obj = load_ok("tests/progs/maps.bpf.o");
    let p = &obj.programs[0];
    let maps: Vec<i32> = p
        .insns
        .iter()
        .filter_map(|i| match i {
            Insn::LoadImm64 { imm: Imm64::MapIdx(m), .. } => Some(*m),
            _ => None,
        })
        .collect();
    // totals (0), then proto_count (1) twice, as the relocations name them.
    assert_eq!(maps, [0, 1, 1]);
    let btf = obj.btf.as_ref().unwrap();
    let m = &obj.maps[1];
    let (k, v) = (m.key_type_id.unwrap(), m.value_type_id.unwrap());
    assert_eq!(btf.format_value(k, &6u32.to_le_bytes()), serde_json::json!(6));
    assert_eq!(btf.format_value(v, &42u64.to_le_bytes()), serde_json::json!(42));

    // .rodata: the format string is the map's initial data; the lddw points into it.
    let obj = load_ok("tests/progs/tracepoint.bpf.o");
    let m = &obj.maps[0];
    assert_eq!(m.global_section.as_deref(), Some(".rodata"));
    assert!(m.frozen);
    assert_eq!(m.map_flags & 0x80, 0x80, "BPF_F_RDONLY_PROG");
    let data = m.initial_data.as_ref().unwrap();
    assert!(data.starts_with(b"execve pid=%d comm=%s nr=%d\n"));
    let refs: Vec<(i32, u32)> = obj.programs[0]
        .insns
        .iter()
        .filter_map(|i| match i {
            Insn::LoadImm64 { imm: Imm64::MapIdxValue { idx, off }, .. } => Some((*idx, *off)),
            _ => None,
        })
        .collect();
    assert_eq!(refs, [(0, 0)]);
    // The DATASEC describes the value: the static variable by name.
    let v = obj.btf.as_ref().unwrap().format_value(m.value_type_id.unwrap(), data);
    assert_eq!(v["trace_execve.fmt"], serde_json::json!("execve pid=%d comm=%s nr=%d\n"));

    // .bss: zero-filled initial data.
    let obj = load_ok("tests/progs/cgroup_skb.bpf.o");
    assert_eq!(obj.maps[0].initial_data.as_deref(), Some(&[0u8; 8][..]));
    assert_eq!(obj.map(".bss").map(|m| m.name.as_str()), Some("cgroup_s.bss"));
}

#[test]
fn kfuncs_are_recorded_not_resolved() {
    let obj = load_ok("tests/progs/kprobe.bpf.o");
    let p = &obj.programs[0];
    let names: Vec<(&str, ExternKind)> = p.externs.iter().map(|x| (x.name.as_str(), x.kind)).collect();
    assert_eq!(names, [("bpf_rcu_read_lock", ExternKind::Kfunc), ("bpf_rcu_read_unlock", ExternKind::Kfunc)]);
    for x in &p.externs {
        assert_eq!(p.insns[x.insn], Insn::Call(CallTarget::Kfunc { btf_id: 0, off: 0 }));
    }
    assert_eq!(obj.externs.len(), 2);
}

#[test]
fn line_info_has_source_text() {
    let obj = load_ok("tests/progs/subprogs.bpf.o");
    let p = &obj.programs[0];
    assert!(p.line_info.iter().all(|l| l.file.ends_with("subprogs.bpf.c") && l.line > 0));
    assert!(p.line_info.iter().any(|l| l.text.contains("classify(csum_fold(s))")));
    // Lines of the appended sub-programs are re-based into them.
    let sum = p.func_info.iter().find(|f| f.name == "sum_bytes").unwrap().insn_off;
    let l = p.line_of(sum).unwrap();
    assert!(l.text.contains("sum_bytes") || l.text.contains("sum = 0") || l.text.contains("for"), "{l:?}");
}

#[test]
fn type_overrides() {
    let data = read("tests/realworld/malformed/unknown_sections.bpf.o");
    let obj = load(&data, &LoadOptions::default()).unwrap();
    let types: Vec<_> = obj.programs.iter().map(|p| (p.name.as_str(), p.prog_type)).collect();
    assert_eq!(types, [("custom_prog", None), ("foo_bar_prog", None), ("typed_prog", Some(ProgType::Xdp))]);
    let opts = LoadOptions {
        prog_types: vec![("custom_prog".into(), ProgType::SocketFilter), ("foo/bar".into(), ProgType::Kprobe)],
        ..Default::default()
    };
    let obj = load(&data, &opts).unwrap();
    let types: Vec<_> = obj.programs.iter().map(|p| p.prog_type).collect();
    assert_eq!(types, [Some(ProgType::SocketFilter), Some(ProgType::Kprobe), Some(ProgType::Xdp)]);
}

#[test]
fn keyless_maps_and_unknown_layouts_are_refused() {
    let e = load(&read("tests/realworld/malformed/zero_key.bpf.o"), &LoadOptions::default()).unwrap_err();
    assert_eq!(e, LoadError::ZeroKeySize { section: ".maps".into(), map: "keyless".into(), map_type: 1 });
    assert_eq!(e.to_string(), "section `.maps`: map `keyless` has key_size 0, but a map of type 1 needs a key");
    let e = load(&read("tests/realworld/malformed/legacy_zero_key.bpf.o"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(&e, LoadError::ZeroKeySize { section, map, map_type: 2 } if section == "maps" && map == "counts"));
    let e = load(&read("tests/realworld/malformed/odd_legacy_maps.bpf.o"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(&e, LoadError::MapLayout { section, .. } if section == "maps"), "{e}");
    assert!(e.to_string().contains("unknown map section layout"), "{e}");
}

#[test]
fn core_objects_need_a_target() {
    let e = load(&read("tests/realworld/core_kinds.bpf.o"), &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(&e, LoadError::NoTargetBtf { section, count } if section == "raw_tp/sys_enter" && *count > 20),
        "{e}"
    );
}

// --- malformed ELF -------------------------------------------------------------

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// (section header offset, section data offset, size) of section `name`.
fn section(b: &[u8], name: &str) -> (usize, usize, usize) {
    let shoff = u64_at(b, 0x28) as usize;
    let (shentsize, shnum, shstrndx) = (u16_at(b, 0x3a) as usize, u16_at(b, 0x3c) as usize, u16_at(b, 0x3e) as usize);
    let strtab = u64_at(b, shoff + shstrndx * shentsize + 0x18) as usize;
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        let n = strtab + u32_at(b, sh) as usize;
        let end = b[n..].iter().position(|&c| c == 0).unwrap();
        if &b[n..n + end] == name.as_bytes() {
            return (sh, u64_at(b, sh + 0x18) as usize, u64_at(b, sh + 0x20) as usize);
        }
    }
    panic!("no section {name}");
}

fn relocation_error(e: LoadError) -> String {
    match e {
        LoadError::BadRelocation { reason, rel_section, section, .. } => {
            assert_eq!((rel_section.as_str(), section.as_str()), (".relxdp", "xdp"));
            reason
        }
        other => panic!("expected a relocation error, got {other}"),
    }
}

#[test]
fn bad_relocations_are_named() {
    let good = read("tests/progs/maps.bpf.o");
    let (_, rel, size) = section(&good, ".relxdp");
    let (_, code, _) = section(&good, "xdp");
    assert!(size >= 16);
    let first_offset = u64_at(&good, rel) as usize;
    let opts = LoadOptions::default();
    let insn_at = |b: &[u8], off: usize| b[code + off];

    // Symbol index out of range.
    let mut b = good.clone();
    b[rel + 12..rel + 16].copy_from_slice(&0xffffu32.to_le_bytes());
    let r = relocation_error(load(&b, &opts).unwrap_err());
    assert!(r.contains("out of range"), "{r}");

    // Into the middle of an instruction.
    let mut b = good.clone();
    b[rel..rel + 8].copy_from_slice(&(first_offset as u64 + 4).to_le_bytes());
    let r = relocation_error(load(&b, &opts).unwrap_err());
    assert!(r.contains("middle of an instruction"), "{r}");

    // Into the second slot of the lddw.
    let mut b = good.clone();
    b[rel..rel + 8].copy_from_slice(&(first_offset as u64 + 8).to_le_bytes());
    let r = relocation_error(load(&b, &opts).unwrap_err());
    assert!(r.contains("second slot of an lddw"), "{r}");

    // On an instruction that is neither lddw nor call (the first one that is not).
    let plain = (0..64).map(|i| i * 8).find(|&o| !matches!(insn_at(&good, o), 0x18 | 0x00 | 0x85)).unwrap();
    let mut b = good.clone();
    b[rel..rel + 8].copy_from_slice(&(plain as u64).to_le_bytes());
    let r = relocation_error(load(&b, &opts).unwrap_err());
    assert!(r.contains("neither lddw nor call"), "{r}");

    // On a helper call.
    let helper = (0..64).map(|i| i * 8).find(|&o| insn_at(&good, o) == 0x85).unwrap();
    let mut b = good.clone();
    b[rel..rel + 8].copy_from_slice(&(helper as u64).to_le_bytes());
    let r = relocation_error(load(&b, &opts).unwrap_err());
    assert!(r.contains("not a bpf-to-bpf call"), "{r}");

    // Outside the section.
    let mut b = good.clone();
    b[rel..rel + 8].copy_from_slice(&0x10_0000u64.to_le_bytes());
    let r = relocation_error(load(&b, &opts).unwrap_err());
    assert!(r.contains("outside the section"), "{r}");

    // Against a symbol that is no map (the license string).
    let (_, symtab, symsize) = section(&good, ".symtab");
    let strtab = section(&good, ".strtab").1;
    let license_sym = (0..symsize / 24)
        .find(|i| {
            let n = strtab + u32_at(&good, symtab + i * 24) as usize;
            good[n..].starts_with(b"_license\0")
        })
        .unwrap();
    let mut b = good.clone();
    b[rel + 12..rel + 16].copy_from_slice(&(license_sym as u32).to_le_bytes());
    let r = relocation_error(load(&b, &opts).unwrap_err());
    assert!(r.contains("not a map, global data or .text"), "{r}");
}

#[test]
fn truncated_at_every_length() {
    for rel in ["tests/progs/maps.bpf.o", "tests/progs/subprogs.bpf.o", "tests/realworld/xdp_stats_legacy.bpf.o"] {
        let good = read(rel);
        assert!(load(&good, &LoadOptions::default()).is_ok());
        for len in 0..good.len() {
            match load(&good[..len], &LoadOptions::default()) {
                Ok(_) => panic!("{rel}: truncated to {len} bytes and still loaded"),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
    assert!(matches!(load(b"\x7fEL", &LoadOptions::default()), Err(LoadError::Elf(ObjectError::NotElf { .. }))));
    assert!(matches!(
        load(&read("tests/progs/maps.bpf.o")[..40], &LoadOptions::default()),
        Err(LoadError::Elf(ObjectError::Truncated { .. }))
    ));
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let objs: Vec<Vec<u8>> =
        ["tests/progs/maps.bpf.o", "tests/progs/subprogs.bpf.o", "tests/realworld/katran_balancer.bpf.o"]
            .iter()
            .map(|r| read(r))
            .collect();
    let target = std::sync::Arc::new(
        bpfbox_object::Btf::parse(&read("tests/progs/maps.bpf.o")).expect("an object's BTF parses as a target"),
    );
    let opts = LoadOptions { target_btf: Some(target), ..Default::default() };
    let (mut ok, mut err) = (0, 0);
    for round in 0..3000 {
        let mut b = objs[round % objs.len()].clone();
        for _ in 0..1 + rng.next() % 8 {
            let i = (rng.next() % b.len() as u64) as usize;
            b[i] = match rng.next() % 4 {
                0 => 0,
                1 => 0xff,
                2 => b[i] ^ (1 << (rng.next() % 8)),
                _ => rng.next() as u8,
            };
        }
        match load(&b, &opts) {
            Ok(o) => {
                ok += 1;
                for p in &o.programs {
                    let _ = bpfbox_isa::encode_program(&p.insns);
                }
                for m in &o.maps {
                    if let (Some(btf), Some(v)) = (&o.btf, m.value_type_id) {
                        let _ = btf.format_value(v, m.initial_data.as_deref().unwrap_or(&[0; 64]));
                    }
                }
            }
            Err(e) => {
                err += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok} err {err}");
}

#[test]
fn init_slots_name_maps_and_programs() {
    let obj = load_ok("tests/realworld/katran_balancer.bpf.o");
    let mim = obj.map("lru_mapping").unwrap();
    assert_eq!(mim.map_type, 12);
    let inner = mim.inner.as_ref().unwrap();
    assert_eq!(
        (inner.name.as_str(), inner.map_type, inner.max_entries, inner.map_flags),
        ("lru_mapping.inner", 9, 1000, 2)
    );
    let names: Vec<(u32, &str)> = mim
        .init_slots
        .iter()
        .map(|(i, s)| match s {
            InitSlot::Map(m) => (*i, obj.maps[*m].name.as_str()),
            InitSlot::Prog(p) => panic!("prog {p} in a map-in-map"),
        })
        .collect();
    assert_eq!(names, [(0, "lru_cpu0"), (1, "lru_cpu1")]);
    let pa = obj.map("root_array").unwrap();
    assert_eq!(pa.init_slots, [(1, InitSlot::Prog("balancer_ingress".into()))]);
    check_linked(&obj);
}

#[test]
fn kconfig_externs_become_a_read_only_map() {
    let data = read("tests/realworld/core_kinds.bpf.o");
    // The object's own BTF as the CO-RE target: every relocation resolves to itself.
    let own = std::sync::Arc::new(bpfbox_object::Btf::parse(&data).unwrap());
    let opts = LoadOptions {
        target_btf: Some(own),
        object_name: Some("core_kinds.bpf.o".into()),
        kernel_version: 0x0006_1200,
        kconfig: vec![
            ("CONFIG_HZ".into(), "250".into()),
            ("CONFIG_BPF_SYSCALL".into(), "y".into()),
            ("CONFIG_IPV6".into(), "m".into()),
            ("CONFIG_DEFAULT_HOSTNAME".into(), "\"bpfbox\"".into()),
            ("CONFIG_NR_CPUS".into(), "0x40".into()),
        ],
        ..Default::default()
    };
    let obj = load(&data, &opts).unwrap();
    let (mi, m) = obj.maps.iter().enumerate().find(|(_, m)| m.global_section.as_deref() == Some(".kconfig")).unwrap();
    assert_eq!(m.name, "core_ki.kconfig");
    assert!(m.frozen && m.map_flags & 0x80 != 0);
    // libbpf's layout: by alignment (descending), size, then name.
    let offs: Vec<(&str, u32)> =
        obj.externs.iter().filter_map(|x| x.kconfig_offset.map(|o| (x.name.as_str(), o))).collect();
    let mut sorted = offs.clone();
    sorted.sort_by_key(|x| x.1);
    assert_eq!(
        sorted,
        [
            ("CONFIG_NR_CPUS", 0),
            ("CONFIG_HZ", 8),
            ("CONFIG_IPV6", 12),
            ("LINUX_KERNEL_VERSION", 16),
            ("CONFIG_BPF_SYSCALL", 20),
            ("CONFIG_DEFAULT_HOSTNAME", 21)
        ]
    );
    let d = m.initial_data.as_ref().unwrap();
    assert_eq!(m.value_size, 37);
    assert_eq!(u64::from_le_bytes(d[0..8].try_into().unwrap()), 64);
    assert_eq!(u32::from_le_bytes(d[8..12].try_into().unwrap()), 250);
    assert_eq!(u32::from_le_bytes(d[12..16].try_into().unwrap()), 2, "TRI_MODULE");
    assert_eq!(u32::from_le_bytes(d[16..20].try_into().unwrap()), 0x0006_1200);
    assert_eq!(d[20], 1);
    assert_eq!(&d[21..28], b"bpfbox\0");
    // Each reference reads its own slot of the map.
    let p = &obj.programs[0];
    for x in &p.externs {
        let off = offs.iter().find(|o| o.0 == x.name).unwrap().1;
        assert!(
            matches!(p.insns[x.insn], Insn::LoadImm64 { imm: Imm64::MapIdxValue { idx, off: o }, .. } if idx == mi as i32 && o == off),
            "{}: {:?}",
            x.name,
            p.insns[x.insn]
        );
    }
    // Against its own BTF, `task_struct` and `task_struct___local` are both
    // candidates for either: with different offsets, libbpf's ambiguity rule refuses
    // the relocation (reported, instruction poisoned); unambiguous ones apply.
    for r in &p.core_relos {
        match &r.outcome {
            bpfbox_object::CoreOutcome::Failed(why) => {
                assert!(r.local.starts_with("task_struct") && why.contains("ambiguity"), "{r:?}");
                assert_eq!(p.insns[r.insn], Insn::Call(CallTarget::Helper(0xbad2310)));
            }
            bpfbox_object::CoreOutcome::Patched { orig, new } if r.local.starts_with("bpf_func_id::") => {
                assert_eq!(orig, new, "{r:?}")
            }
            _ => {}
        }
    }
    // BTF formats the kconfig map's value through its DATASEC.
    let v = obj.btf.as_ref().unwrap().format_value(m.value_type_id.unwrap(), d);
    assert_eq!(v["CONFIG_HZ"], serde_json::json!(250));
    assert_eq!(v["CONFIG_DEFAULT_HOSTNAME"], serde_json::json!("bpfbox"));
}

/// One function that cannot be decoded makes only its own programs unusable: the
/// others load, and the unusable one is reported with the section, the function and
/// the instruction.
#[test]
fn an_undecodable_function_does_not_sink_the_object() {
    let rel = "tests/realworld/tc_classifier.bpf.o";
    let good = load_ok(rel);
    assert!(good.unusable.is_empty());
    let victim = good.program("tc_mark_limit").expect("tc_mark_limit");
    // Find the program's first two instructions in the file and break the second one's
    // opcode (0xff: no such ALU64 operation).
    let bytes = read(rel);
    let head = bpfbox_isa::encode_program(&victim.insns[..2]);
    let at: Vec<usize> = bytes.windows(16).enumerate().filter(|(_, w)| *w == &head[..]).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "the first two instructions of tc_mark_limit are not unique in the file");
    let mut broken = bytes.clone();
    broken[at[0] + 8] = 0xff;
    let obj = load(&broken, &LoadOptions::default()).expect("the object still loads");
    let names: Vec<&str> = obj.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), good.programs.len() - 1, "{names:?}");
    assert!(!names.contains(&"tc_mark_limit"), "{names:?}");
    assert_eq!(obj.unusable.len(), 1);
    let u = &obj.unusable[0];
    assert_eq!((u.name.as_str(), u.section.as_str()), ("tc_mark_limit", victim.section.as_str()));
    assert!(matches!(u.error, LoadError::Decode { .. }), "{:?}", u.error);
    let text = u.error.to_string();
    assert!(text.contains("tc_mark_limit") && text.contains("instruction 1"), "{text}");
    // The other programs are the same as before.
    for p in &obj.programs {
        assert_eq!(p.insns, good.program(&p.name).expect("same program").insns, "{}", p.name);
    }
}
