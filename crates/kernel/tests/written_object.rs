//! The kernel oracle of the object writer (`bpfbox_object::write`): objects it
//! writes open and load through libbpf like clang-built ones — BTF-defined maps
//! created as defined, map relocations resolved, func and line info accepted by the
//! kernel — and a written tracepoint program, attached, counts this process's
//! `openat` calls in its hash map. SKIP (a printed line) without a usable kernel;
//! under `CI=true` that fails.

#![allow(clippy::unwrap_used)]

mod common;

use bpfbox_isa::llvm::assemble;
use bpfbox_kernel::attach::{attach, Target};
use bpfbox_kernel::{inspect, KernelObject, OpenOptions};
use bpfbox_object::write::{LineDef, MapDef, ObjectBuilder, ProgDef};
use std::path::PathBuf;

const HASH: u32 = 1;
const PERCPU_ARRAY: u32 = 6;
const RINGBUF: u32 = 27;

fn line(slot: usize, line: u32, col: u32, text: &str) -> LineDef {
    LineDef { slot, line, col, text: text.into() }
}

/// `@opens[pid] = count()` on `sys_enter_openat`: `lddw`s of `opens` at slots 6 and 18.
fn count_opens() -> ProgDef {
    let insns = assemble(
        "call 14
        r0 >>= 32
        *(u64 *)(r10 - 8) = r0
        r1 = 1
        *(u64 *)(r10 - 16) = r1
        r2 = r10
        r1 = 0 ll
        r2 += -8
        call 1
        if r0 == 0 goto +3
        r1 = 1
        lock *(u64 *)(r0 + 0) += r1
        goto +8
        r2 = r10
        r2 += -8
        r3 = r10
        r3 += -16
        r1 = 0 ll
        r4 = 0
        call 2
        r0 = 0
        exit",
    )
    .unwrap();
    ProgDef {
        name: "count_opens".into(),
        section: "tracepoint/syscalls/sys_enter_openat".into(),
        insns,
        map_relocs: vec![(6, "opens".into()), (18, "opens".into())],
        lines: vec![
            line(0, 1, 1, "tracepoint:syscalls:sys_enter_openat {"),
            line(1, 2, 3, "  @opens[pid] = count();"),
            line(22, 3, 1, "}"),
        ],
    }
}

fn opens_map() -> MapDef {
    MapDef { name: "opens".into(), map_type: HASH, key_size: 8, value_size: 8, max_entries: 1024, map_flags: 0 }
}

/// `bytes` in a temporary file, removed when dropped.
struct TempObject(PathBuf);

impl TempObject {
    fn new(tag: &str, bytes: &[u8]) -> TempObject {
        let path = std::env::temp_dir().join(format!("bpfbox-written-{tag}-{}.o", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempObject(path)
    }
}

impl Drop for TempObject {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn load(tag: &str, b: &ObjectBuilder) -> KernelObject {
    let file = TempObject::new(tag, &b.write().unwrap());
    KernelObject::load(&file.0, &OpenOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_written_tracepoint_program_and_hash_map_load_and_run() {
    if !common::kernel_available() {
        return;
    }
    let mut b = ObjectBuilder::new("GPL", "opens.bt");
    b.map(opens_map());
    b.prog(count_opens());
    let obj = load("tracepoint", &b);

    let progs = obj.programs();
    assert_eq!(progs.len(), 1);
    assert_eq!(
        (progs[0].name.as_str(), progs[0].section.as_str()),
        ("count_opens", "tracepoint/syscalls/sys_enter_openat")
    );
    assert_eq!(progs[0].prog_type, "tracepoint");
    let info = inspect::prog_info(progs[0].id).unwrap();
    assert!(info.gpl_compatible);
    assert_ne!(info.btf_id, 0, "the kernel took the program's BTF (func and line info)");
    let maps = obj.maps();
    assert_eq!(maps.len(), 1);
    assert_eq!(info.map_ids, [maps[0].id], "the lddws name the map");
    let m = inspect::map_info(maps[0].id).unwrap();
    assert_eq!((m.name.as_str(), m.map_type, m.bytes_key, m.bytes_value, m.max_entries), ("opens", HASH, 8, 8, 1024));

    // Attached, it counts this process's openat calls.
    let target = Target::Tracepoint { category: "syscalls".into(), name: "sys_enter_openat".into() };
    let att = attach(&obj, "count_opens", &target, None).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..5 {
        drop(std::fs::File::open("/proc/self/stat").unwrap());
    }
    att.detach().unwrap();
    let key = u64::from(std::process::id()).to_le_bytes();
    let count = obj.map_lookup("opens", &key).unwrap().expect("an entry for this process");
    let count = u64::from_le_bytes(count[..8].try_into().unwrap());
    assert!(count >= 5, "{count} openat calls counted");

    bpftool_shows_the_lines(progs[0].id);
}

/// `bpftool prog dump xlated id N linum` prints the kernel's copy of the line info.
fn bpftool_shows_the_lines(id: u32) {
    let out =
        std::process::Command::new("bpftool").args(["prog", "dump", "xlated", "id", &id.to_string(), "linum"]).output();
    let Ok(out) = out.map_err(|e| println!("SKIP: bpftool: {e}")) else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "bpftool is required when CI=true");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bpftool: {}", String::from_utf8_lossy(&out.stderr));
    for want in
        ["; tracepoint:syscalls:sys_enter_openat { [file:opens.bt line_num:1 line_col:1]", "@opens[pid] = count();"]
    {
        assert!(text.contains(want), "no `{want}` in:\n{text}");
    }
}

#[test]
fn every_map_kind_and_a_second_section_load() {
    if !common::kernel_available() {
        return;
    }
    let mut b = ObjectBuilder::new("GPL", "two.bt");
    b.map(opens_map());
    b.map(MapDef {
        name: "stats".into(),
        map_type: PERCPU_ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        map_flags: 0,
    });
    b.map(MapDef {
        name: "events".into(),
        map_type: RINGBUF,
        key_size: 0,
        value_size: 0,
        max_entries: 64 << 10,
        map_flags: 0,
    });
    b.prog(count_opens());
    let insns = assemble(
        "r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = 0 ll
        r2 = r10
        r2 += -8
        r3 = 8
        r4 = 0
        call 130
        r0 = 0
        exit",
    )
    .unwrap();
    b.prog(ProgDef {
        name: "on_sample".into(),
        section: "perf_event".into(),
        insns,
        map_relocs: vec![(2, "events".into())],
        lines: vec![line(0, 5, 1, "profile:hz:99 { ringbuf(0); }")],
    });
    let obj = load("kinds", &b);
    let mut names: Vec<String> = obj.programs().iter().map(|p| format!("{} {}", p.name, p.prog_type)).collect();
    names.sort();
    assert_eq!(names, ["count_opens tracepoint", "on_sample perf_event"]);
    let maps: Vec<(String, u32, u32, u32, u32)> = obj
        .maps()
        .iter()
        .map(|m| {
            let i = inspect::map_info(m.id).unwrap();
            (i.name, i.map_type, i.bytes_key, i.bytes_value, i.max_entries)
        })
        .collect();
    assert_eq!(
        maps,
        [
            ("opens".to_string(), HASH, 8, 8, 1024),
            ("stats".to_string(), PERCPU_ARRAY, 4, 8, 1),
            ("events".to_string(), RINGBUF, 0, 0, 64 << 10),
        ]
    );
}
