//! The object writer (`bpfbox_object::write`): objects it writes read back through
//! [`bpfbox_object::load`] and [`Object::parse`] as they were built, and the LLVM and
//! bpftool oracles read them as clang-built ones: `llvm-objdump-19 -d` (the
//! instructions, section by section), `llvm-objdump-19 -S` (the line info),
//! `llvm-readelf-19 -r` (the relocations), `bpftool btf dump file` (the map
//! structs and FUNCs). A missing tool prints a SKIP line; with `CI=true` it fails.
//! Bad input is refused with a `WriteError` naming what and where.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{encode_program, llvm, Imm64, Insn};
use bpfbox_object::write::{LineDef, MapDef, ObjectBuilder, ProgDef, WriteError};
use bpfbox_object::{load, Binding, LoadOptions, Object, SymbolKind};
use std::path::PathBuf;
use std::process::Command;

const HASH: u32 = 1;
const PERCPU_ARRAY: u32 = 6;
const RINGBUF: u32 = 27;
const TRACEPOINT: &str = "tracepoint/syscalls/sys_enter_openat";
const SOURCE: &str = "opens.bt";

fn map(name: &str, map_type: u32, key_size: u32, value_size: u32, max_entries: u32) -> MapDef {
    MapDef { name: name.into(), map_type, key_size, value_size, max_entries, map_flags: 0 }
}

fn line(slot: usize, line: u32, col: u32, text: &str) -> LineDef {
    LineDef { slot, line, col, text: text.into() }
}

fn asm(text: &str) -> Vec<Insn> {
    llvm::assemble(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Counts openat calls in a hash map and sends the key to a ring buffer; the map
/// `lddw`s are at slots 3 and 11.
fn openat_prog() -> ProgDef {
    let insns = asm("r1 = 0
        *(u64 *)(r10 - 8) = r1
        *(u64 *)(r10 - 16) = r1
        r1 = 0 ll
        r2 = r10
        r2 += -8
        r3 = r10
        r3 += -16
        r4 = 1
        call 2
        r1 = 0 ll
        r2 = r10
        r2 += -8
        r3 = 8
        r4 = 0
        call 130
        r0 = 0
        exit");
    ProgDef {
        name: "handle_openat".into(),
        section: TRACEPOINT.into(),
        insns,
        map_relocs: vec![(3, "counts".into()), (11, "events".into())],
        lines: vec![
            line(0, 1, 1, "tracepoint:syscalls:sys_enter_openat {"),
            line(3, 2, 3, "  @counts[tid] = 1;"),
            line(11, 3, 3, "  ringbuf(tid);"),
            line(18, 4, 1, "}"),
        ],
    }
}

/// Bumps a per-CPU counter; the `lddw` is at slot 4.
fn sample_prog() -> ProgDef {
    let insns = asm("r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = 0 ll
        call 1
        if r0 == 0 goto +2
        r1 = 1
        lock *(u64 *)(r0 + 0) += r1
        r0 = 0
        exit");
    ProgDef {
        name: "on_sample".into(),
        section: "perf_event".into(),
        insns,
        map_relocs: vec![(4, "stats".into())],
        lines: vec![line(0, 6, 1, "profile:hz:99 {"), line(4, 7, 3, "  @stats = count();")],
    }
}

fn sample() -> ObjectBuilder {
    let mut b = ObjectBuilder::new("GPL", SOURCE);
    b.map(map("counts", HASH, 8, 8, 1024));
    b.map(map("stats", PERCPU_ARRAY, 4, 8, 1));
    b.map(map("events", RINGBUF, 0, 0, 256 * 1024));
    b.prog(openat_prog());
    b.prog(sample_prog());
    b
}

/// The instructions as the file holds them: relocated `lddw`s as `r = 0 ll`.
fn as_written(p: &ProgDef) -> Vec<Insn> {
    let mut insns = p.insns.clone();
    for (slot, _) in &p.map_relocs {
        if let Insn::LoadImm64 { dst, .. } = insns[*slot] {
            insns[*slot] = Insn::LoadImm64 { dst, imm: Imm64::Value(0) };
        }
    }
    insns
}

#[test]
fn round_trip_through_the_loader() {
    let bytes = sample().write().unwrap();
    let obj = load(&bytes, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(obj.license, "GPL");
    assert!(obj.unusable.is_empty(), "{:?}", obj.unusable);

    let maps: Vec<(String, u32, u32, u32, u32, u32)> = obj
        .maps
        .iter()
        .map(|m| (m.name.clone(), m.map_type, m.key_size, m.value_size, m.max_entries, m.map_flags))
        .collect();
    assert_eq!(
        maps,
        [
            ("counts".to_string(), HASH, 8, 8, 1024, 0),
            ("stats".to_string(), PERCPU_ARRAY, 4, 8, 1, 0),
            ("events".to_string(), RINGBUF, 0, 0, 256 * 1024, 0),
        ]
    );

    assert_eq!(obj.programs.len(), 2);
    for def in [openat_prog(), sample_prog()] {
        let p = obj.program(&def.name).unwrap_or_else(|| panic!("no program {}", def.name));
        assert_eq!(p.section, def.section);
        assert!(p.prog_type.is_some(), "{}: libbpf knows the section", def.name);
        // The same instructions, the map lddws now naming their map's index.
        let mut expected = def.insns.clone();
        for (slot, name) in &def.map_relocs {
            let Insn::LoadImm64 { dst, .. } = expected[*slot] else { panic!("slot {slot} is no lddw") };
            let idx = obj.map_index(name).unwrap() as i32;
            expected[*slot] = Insn::LoadImm64 { dst, imm: Imm64::MapIdx(idx) };
        }
        assert_eq!(p.insns, expected, "{}", def.name);
        assert_eq!(p.func_info.len(), 1);
        assert_eq!((p.func_info[0].insn_off, p.func_info[0].name.as_str()), (0, def.name.as_str()));
        let lines: Vec<(usize, String, u32, u32, String)> =
            p.line_info.iter().map(|l| (l.insn_off, l.file.clone(), l.line, l.col, l.text.clone())).collect();
        let expected: Vec<(usize, String, u32, u32, String)> =
            def.lines.iter().map(|l| (l.slot, SOURCE.to_string(), l.line, l.col, l.text.clone())).collect();
        assert_eq!(lines, expected, "{}", def.name);
    }
    // The BTF describes the programs and the map definitions.
    let btf = obj.btf.as_ref().unwrap();
    assert!(btf.datasec(".maps").is_some());
}

#[test]
fn sections_symbols_and_relocations() {
    let bytes = sample().write().unwrap();
    let obj = Object::parse(&bytes).unwrap();
    let names: Vec<&str> = obj.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [TRACEPOINT, "perf_event"]);
    for def in [openat_prog(), sample_prog()] {
        let (sec, sym) = obj.function(&def.name).unwrap();
        assert_eq!(sec.name, def.section);
        assert_eq!((sym.offset, sym.size), (0, def.insns.len() as u64 * 8));
        assert_eq!((sym.kind, sym.binding), (SymbolKind::Func, Binding::Global));
        assert_eq!(sec.bytes, encode_program(&as_written(&def)));
        let relocs: Vec<(u64, u32, &str, &str)> = sec
            .relocations
            .iter()
            .map(|r| {
                let target = match &r.target {
                    bpfbox_object::RelocTarget::Section { name, .. } => name.as_str(),
                    other => panic!("relocation against {other:?}"),
                };
                (r.offset, r.r_type, r.symbol_name.as_str(), target)
            })
            .collect();
        let expected: Vec<(u64, u32, &str, &str)> =
            def.map_relocs.iter().map(|(slot, m)| (*slot as u64 * 8, 1, m.as_str(), ".maps")).collect();
        assert_eq!(relocs, expected, "{}", def.name);
    }
}

#[test]
fn programs_sharing_a_section_are_laid_out_one_after_the_other() {
    let mut b = sample();
    let mut second = openat_prog();
    second.name = "handle_openat_again".into();
    second.lines.truncate(1);
    b.prog(second.clone());
    let bytes = b.write().unwrap();

    let obj = Object::parse(&bytes).unwrap();
    let sec = obj.section(TRACEPOINT).unwrap();
    let offsets: Vec<(&str, u64)> = sec.functions().map(|f| (f.name.as_str(), f.offset)).collect();
    let first_len = openat_prog().insns.len() as u64 * 8;
    assert_eq!(offsets, [("handle_openat", 0), ("handle_openat_again", first_len)]);
    assert_eq!(sec.relocations.iter().map(|r| r.offset).collect::<Vec<_>>(), [24, 88, first_len + 24, first_len + 88]);

    let loaded = load(&bytes, &LoadOptions::default()).unwrap();
    let p = loaded.program("handle_openat_again").unwrap();
    assert_eq!(p.insns.len(), second.insns.len());
    assert_eq!(p.line_info.len(), 1);
    assert_eq!((p.line_info[0].insn_off, p.line_info[0].line), (0, 1));
    assert_eq!(p.func_info[0].name, "handle_openat_again");
}

#[test]
fn an_object_without_maps_or_lines() {
    let mut b = ObjectBuilder::new("Dual BSD/GPL", "empty.bt");
    b.prog(ProgDef {
        name: "noop".into(),
        section: "raw_tracepoint/sched_switch".into(),
        insns: asm("r0 = 0\nexit"),
        map_relocs: vec![],
        lines: vec![],
    });
    let obj = load(&b.write().unwrap(), &LoadOptions::default()).unwrap();
    assert_eq!(obj.license, "Dual BSD/GPL");
    assert!(obj.maps.is_empty());
    let p = obj.program("noop").unwrap();
    assert_eq!(p.insns, asm("r0 = 0\nexit"));
    assert!(p.line_info.is_empty());
    assert_eq!(p.func_info.len(), 1);
}

// ---- bad input ----

fn write_err(edit: impl FnOnce(&mut ObjectBuilder, &mut ProgDef)) -> WriteError {
    let mut b = ObjectBuilder::new("GPL", SOURCE);
    b.map(map("counts", HASH, 8, 8, 1024));
    b.map(map("events", RINGBUF, 0, 0, 4096));
    let mut p = openat_prog();
    edit(&mut b, &mut p);
    b.prog(p);
    let err = b.write().unwrap_err();
    println!("{err}");
    err
}

#[test]
fn a_map_relocation_on_a_slot_that_is_not_an_lddw() {
    let err = write_err(|_, p| p.map_relocs[0].0 = 5);
    assert_eq!(
        err,
        WriteError::NotLddw {
            program: "handle_openat".into(),
            slot: 5,
            map: "counts".into(),
            found: "r2 = r10".into()
        }
    );
    assert!(err.to_string().contains("slot 5"), "{err}");
    let err = write_err(|_, p| p.map_relocs[0].0 = 4);
    assert!(matches!(&err, WriteError::NotLddw { slot: 4, found, .. } if found.contains("second slot")), "{err}");
    let err = write_err(|_, p| p.map_relocs[0].0 = 99);
    assert!(matches!(err, WriteError::RelocOutOfRange { slot: 99, len: 20, .. }), "{err}");
    let err = write_err(|_, p| p.map_relocs.push((3, "events".into())));
    assert_eq!(err, WriteError::DuplicateReloc { program: "handle_openat".into(), slot: 3 });
}

#[test]
fn an_unknown_map_name() {
    let err = write_err(|_, p| p.map_relocs[1].1 = "evnets".into());
    assert_eq!(err, WriteError::UnknownMap { program: "handle_openat".into(), slot: 11, map: "evnets".into() });
    assert!(err.to_string().contains("`evnets`"), "{err}");
}

#[test]
fn duplicate_names() {
    let err = write_err(|b, _| b.map(map("counts", HASH, 4, 4, 1)));
    assert_eq!(err, WriteError::Duplicate { what: "map", name: "counts".into() });
    let err = write_err(|b, p| b.prog(p.clone()));
    assert_eq!(err, WriteError::Duplicate { what: "program", name: "handle_openat".into() });
    // Programs and maps share the ELF symbol table.
    let err = write_err(|_, p| p.name = "events".into());
    assert_eq!(err, WriteError::Duplicate { what: "program", name: "events".into() });
    let err = write_err(|b, _| b.map(map("LICENSE", HASH, 4, 4, 1)));
    assert_eq!(err, WriteError::Duplicate { what: "map", name: "LICENSE".into() });
}

#[test]
fn bad_names_and_sections() {
    let err = write_err(|_, p| p.name = "on-open".into());
    assert!(matches!(&err, WriteError::BadName { what: "program", name, .. } if name == "on-open"), "{err}");
    let err = write_err(|b, _| b.map(map("", HASH, 4, 4, 1)));
    assert!(matches!(err, WriteError::BadName { what: "map", .. }), "{err}");
    for section in ["", ".text", "license", ".maps"] {
        let err = write_err(|_, p| p.section = section.into());
        assert!(matches!(&err, WriteError::BadName { what: "section", name, .. } if name == section), "{err}");
    }
}

#[test]
fn bad_instructions_and_lines() {
    let err = write_err(|_, p| p.insns.clear());
    assert_eq!(err, WriteError::EmptyProgram { program: "handle_openat".into() });
    // An lddw cut in half.
    let err = write_err(|_, p| {
        p.insns.remove(4);
    });
    assert!(matches!(err, WriteError::BadInsn { slot: 3, .. }), "{err}");
    // A map lddw by index without a relocation.
    let err = write_err(|_, p| {
        p.map_relocs.remove(1);
        let Insn::LoadImm64 { dst, .. } = p.insns[11] else { panic!("slot 11 is no lddw") };
        p.insns[11] = Insn::LoadImm64 { dst, imm: Imm64::MapIdx(1) };
    });
    assert!(matches!(err, WriteError::BadInsn { slot: 11, .. }), "{err}");
    type Edit = fn(&mut Vec<LineDef>);
    let bad_line = |edit: Edit| write_err(|_, p| edit(&mut p.lines));
    let cases: [(Edit, usize); 5] = [
        (|l| l[0].slot = 1, 0),
        (|l| l[2].slot = 3, 2),
        (|l| l[3].slot = 50, 3),
        (|l| l[2].slot = 12, 2),
        (|l| l[1].line = 1 << 22, 1),
    ];
    for (edit, index) in cases {
        let err = bad_line(edit);
        assert!(matches!(&err, WriteError::BadLine { index: i, .. } if *i == index), "{err}");
    }
}

// ---- external oracles ----

fn tool(name: &str) -> Option<&str> {
    if Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Some(name);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{name} is required when CI=true");
    println!("SKIP: {name} not found");
    None
}

/// The sample written to a temporary file.
fn sample_file(tag: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("bpfbox-write-{tag}-{}.o", std::process::id()));
    std::fs::write(&path, sample().write().unwrap()).unwrap();
    path
}

fn run(tool: &str, args: &[&str], path: &PathBuf) -> String {
    let out = Command::new(tool).args(args).arg(path).output().unwrap();
    let _ = std::fs::remove_file(path);
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `llvm-objdump -d` output as `(section, [instruction text])`, branch
/// annotations (` <sym+0x..>`) removed.
fn objdump_sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for l in text.lines() {
        if let Some(name) = l.strip_prefix("Disassembly of section ").and_then(|s| s.strip_suffix(':')) {
            out.push((name.to_string(), Vec::new()));
            continue;
        }
        let mut parts = l.splitn(3, '\t');
        let (Some(idx), Some(_bytes), Some(insn)) = (parts.next(), parts.next(), parts.next()) else { continue };
        if idx.trim().strip_suffix(':').is_some_and(|i| i.parse::<u64>().is_ok()) {
            let insn = insn.split(" <").next().unwrap_or(insn);
            out.last_mut().unwrap().1.push(insn.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    out
}

#[test]
fn llvm_objdump_disassembles_the_programs() {
    let Some(tool) = tool("llvm-objdump-19") else { return };
    let text = run(tool, &["-d"], &sample_file("objdump"));
    let expected: Vec<(String, Vec<String>)> = [openat_prog(), sample_prog()]
        .iter()
        .map(|p| {
            let lines = as_written(p)
                .iter()
                .filter(|i| **i != Insn::LoadImm64Tail)
                .map(|i| llvm::objdump_insn(i).split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            (p.section.clone(), lines)
        })
        .collect();
    assert_eq!(objdump_sections(&text), expected, "{text}");
    assert!(text.contains("<handle_openat>:") && text.contains("<on_sample>:"), "{text}");
}

#[test]
fn llvm_objdump_shows_the_source_lines() {
    let Some(tool) = tool("llvm-objdump-19") else { return };
    let text = run(tool, &["-S"], &sample_file("source"));
    for l in openat_prog().lines.iter().chain(&sample_prog().lines) {
        assert!(text.lines().any(|t| t == format!("; {}", l.text)), "line `{}`:\n{text}", l.text);
    }
}

#[test]
fn llvm_readelf_shows_the_relocations() {
    let Some(tool) = tool("llvm-readelf-19") else { return };
    let text = run(tool, &["-r"], &sample_file("readelf"));
    assert!(text.contains(&format!("Relocation section '.rel{TRACEPOINT}'")), "{text}");
    assert!(text.contains("Relocation section '.relperf_event'"), "{text}");
    let relocs: Vec<(u64, String)> = text
        .lines()
        .filter(|l| l.contains("R_BPF_64_64"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (u64::from_str_radix(f[0], 16).unwrap(), f.last().unwrap().to_string())
        })
        .collect();
    assert_eq!(relocs, [(24, "counts".to_string()), (88, "events".to_string()), (32, "stats".to_string())], "{text}");
}

#[test]
fn bpftool_dumps_the_map_structs_and_funcs() {
    let Some(tool) = tool("bpftool") else { return };
    let text = run(tool, &["btf", "dump", "file"], &sample_file("bpftool"));
    let has = |needle: &str| assert!(text.contains(needle), "no `{needle}` in:\n{text}");
    has("INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED");
    has("STRUCT '(anon)' size=32 vlen=4");
    has("STRUCT '(anon)' size=16 vlen=2");
    for m in ["type", "max_entries", "key_size", "value_size"] {
        has(&format!("'{m}' type_id="));
    }
    has("nr_elems=262144");
    has("nr_elems=1024");
    has("VAR 'counts' type_id=");
    has("VAR 'events' type_id=");
    has("DATASEC '.maps' size=80 vlen=3");
    has("FUNC_PROTO '(anon)' ret_type_id=1 vlen=1");
    has("'ctx' type_id=");
    has("FUNC 'handle_openat' type_id=");
    has("FUNC 'on_sample' type_id=");
    assert_eq!(text.matches("linkage=global").count(), 5, "{text}");
}
