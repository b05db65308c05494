//! Every script of the bpftrace comparison corpus (`tests/corpus/*.bt`) and every tool of
//! `tools/*.bt`, without root and without a kernel: compiled against a described system
//! (tracepoint formats copied from a Linux 6.18 machine's tracefs into
//! `tests/fixtures/tracepoints/CATEGORY/NAME.format`), checked by bpfbox's verifier
//! (`link::verify`), written as an ELF object (`link::to_elf`), loaded into bpfbox's own
//! runtime (`bpfbox_vm::Runtime`) and run on synthetic contexts: a zeroed tracepoint
//! record of the format's size with its fields set (strings behind pointers in the
//! runtime's probe memory), a zeroed `pt_regs` with the argument and return registers set.
//! Each run must finish, every ring buffer record must decode against the compiled
//! script's event tables, and every script map must decode and print.

use bpfbox_trace::codegen::{Compiled, EventKind};
use bpfbox_trace::decode::{self, NoResolver};
use bpfbox_trace::output;
use bpfbox_trace::probes::{self, ProbeEnv, ProbeKind};
use bpfbox_trace::{compile, link, CompileOptions};
use bpfbox_vm::{FakeTask, Runtime, RuntimeError, RuntimeOptions, TestRunInput};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Scripts bpfbox refuses (bpftrace runs them), with the error: the same scripts are
/// known differences of the comparison test (crates/cli/tests/trace_compare.rs).
const REFUSED: &[(&str, &str)] = &[];

/// Helpers the generated code calls that bpfbox's runtime does not implement, and the
/// scripts that need them. A script listed here is compiled and verified but not run.
const VM_MISSING_HELPERS: &[&str] = &[];

/// The task the runtime reports: the traced workload.
const PID: u32 = 4242;
/// Fake user memory the pointers of contexts point into.
const STR_ADDR: u64 = 0x7000_0000;
const STR2_ADDR: u64 = 0x7000_0100;
const ARGV_ADDR: u64 = 0x7000_0200;
const STR: &str = "/etc/hostname";
const STR2: &str = "bpfbox-arg";

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The described system: the fixture tracepoints, and the workload's three functions.
struct FixtureEnv {
    /// (category, name) → format text.
    formats: BTreeMap<(String, String), String>,
}

impl FixtureEnv {
    fn load() -> FixtureEnv {
        let mut formats = BTreeMap::new();
        let root = tests_dir().join("fixtures/tracepoints");
        for cat in std::fs::read_dir(&root).expect("fixtures/tracepoints") {
            let cat = cat.expect("dir entry").path();
            let cname = cat.file_name().expect("name").to_string_lossy().into_owned();
            for f in std::fs::read_dir(&cat).expect("category") {
                let f = f.expect("dir entry").path();
                let name = f.file_stem().expect("name").to_string_lossy().into_owned();
                formats.insert((cname.clone(), name), std::fs::read_to_string(&f).expect("format"));
            }
        }
        FixtureEnv { formats }
    }
}

impl ProbeEnv for FixtureEnv {
    fn tracepoints(&self, category: &str, name: &str) -> Vec<(String, String)> {
        self.formats
            .keys()
            .filter(|(c, n)| probes::glob_match(category, c) && probes::glob_match(name, n))
            .cloned()
            .collect()
    }
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<String> {
        self.formats.get(&(category.to_string(), name.to_string())).cloned()
    }
    fn symbols(&self, _binary: &Path, pattern: &str) -> Result<Vec<String>, String> {
        Ok(["workload_fn", "workload_ret", "workload_str"]
            .iter()
            .filter(|s| probes::glob_match(pattern, s))
            .map(|s| s.to_string())
            .collect())
    }
}

/// A script of the corpus or a tool, with its positional parameters.
struct Script {
    name: String,
    text: String,
    args: Vec<String>,
}

fn scripts() -> Vec<Script> {
    // Uprobe paths must exist (the binary is resolved, never opened here): the
    // workload's source stands in for the workload binary.
    let workload = tests_dir().join("workload/workload.c").display().to_string();
    let mut out = Vec::new();
    for (dir, prefix) in [(tests_dir().join("corpus"), ""), (tests_dir().join("../../../tools"), "tools/")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("script dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "bt"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("script").replace("{workload}", &workload);
            let args = text
                .lines()
                .find_map(|l| l.strip_prefix("// args:"))
                .map(|a| a.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            let name = format!("{prefix}{}", f.file_stem().expect("stem").to_string_lossy());
            out.push(Script { name, text, args });
        }
    }
    out
}

fn put(buf: &mut [u8], off: usize, size: usize, v: u64) {
    let b = v.to_le_bytes();
    let n = size.min(8);
    if let Some(dst) = buf.get_mut(off..off + n) {
        dst.copy_from_slice(&b[..n]);
    }
}

/// An integer field's value: plausible for the field, so that predicates pass.
fn int_value(name: &str) -> u64 {
    match name {
        "count" => 5,
        "ret" => 3,
        "sig" => 10,
        "pid" | "parent_pid" | "child_pid" | "prev_pid" | "next_pid" => PID as u64,
        "newstate" => 7,
        "oldstate" => 1,
        "protocol" => 6,
        "family" => 2,
        "prev_state" => 0,
        "id" => 1,
        "sector" => 2048,
        "dev" => 0x800001,
        "nr_sector" | "bytes" => 8,
        _ => 3,
    }
}

/// A tracepoint record of `format`: zeroed, common_pid set, every field given a value.
fn tracepoint_ctx(format: &str) -> Vec<u8> {
    let fields = probes::parse_format(format);
    let size = fields.iter().map(|f| (f.offset + f.size) as usize).max().unwrap_or(8).max(8);
    let mut rec = vec![0u8; size];
    put(&mut rec, 4, 4, PID as u64);
    let mut tail = Vec::new();
    for f in &fields {
        let (off, sz) = (f.offset as usize, f.size as usize);
        if f.data_loc {
            let at = size + tail.len();
            tail.extend_from_slice(b"workload\0");
            put(&mut rec, off, 4, (9u64 << 16) | at as u64);
        } else if let Some(n) = f.array_len {
            let bytes: &[u8] =
                if f.c_type.contains("char") && !f.c_type.contains("u8") { b"workload" } else { &[127, 0, 0, 1] };
            for (i, b) in bytes.iter().take(n as usize).enumerate() {
                rec[off + i] = *b;
            }
        } else if f.c_type.contains("* const *") || f.c_type.contains("**") || f.c_type.ends_with("*const") {
            put(&mut rec, off, sz, ARGV_ADDR);
        } else if f.c_type.contains('*') {
            put(&mut rec, off, sz, if f.c_type.contains("char") { STR_ADDR } else { 0xffff_8880_1234_5600 });
        } else {
            put(&mut rec, off, sz, int_value(&f.name));
        }
    }
    rec.extend_from_slice(&tail);
    rec
}

/// x86-64 `struct pt_regs` (168 bytes): rdi (arg0) at 112 points at a string, rsi (arg1)
/// at 104 is 3, rax (the return value) at 80 is 30.
fn pt_regs_ctx() -> Vec<u8> {
    let mut r = vec![0u8; 168];
    put(&mut r, 112, 8, STR_ADDR);
    put(&mut r, 104, 8, 3);
    put(&mut r, 80, 8, 30);
    put(&mut r, 128, 8, 0x401615);
    r
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(256, 0);
    v
}

fn runtime() -> Runtime {
    let mut opts = RuntimeOptions::deterministic(2);
    opts.task = FakeTask { comm: "workload".into(), pid: PID, tgid: PID, uid: 0, gid: 0, ..FakeTask::fixed() };
    let mut argv = Vec::new();
    for a in [STR_ADDR, STR2_ADDR, 0] {
        argv.extend_from_slice(&a.to_le_bytes());
    }
    opts.probe_memory = vec![(STR_ADDR, cstr(STR)), (STR2_ADDR, cstr(STR2)), (ARGV_ADDR, argv)];
    Runtime::new(opts)
}

/// What running one script in the runtime found wrong.
#[derive(Debug)]
enum Problem {
    MissingHelper(String),
    Failed(String),
}

/// Decode one ring buffer record against the script's event tables.
fn check_record(c: &Compiled, data: &[u8]) -> Result<(), String> {
    let (kind, idx, payload) = decode::event_header(data).ok_or("a record shorter than its header")?;
    let k = |e: EventKind| decode::is_kind(kind, e);
    if k(EventKind::Printf) || k(EventKind::Cat) || k(EventKind::System) {
        let spec = c.printfs.get(idx).ok_or_else(|| format!("printf record #{idx} of {}", c.printfs.len()))?;
        let args = decode::args(&spec.args, payload, &NoResolver);
        output::format_printf(&spec.format, &args).map_err(|e| format!("printf `{}`: {e}", spec.format))?;
    } else if k(EventKind::MapOp) {
        c.map_ops.get(idx).ok_or_else(|| format!("map op record #{idx} of {}", c.map_ops.len()))?;
    } else if k(EventKind::Time) {
        c.time_formats.get(idx).ok_or_else(|| format!("time record #{idx} of {}", c.time_formats.len()))?;
    } else if k(EventKind::PrintValue) {
        let ty = c.prints.get(idx).ok_or_else(|| format!("print record #{idx} of {}", c.prints.len()))?;
        let v = decode::value(ty, payload, &NoResolver);
        output::format_value(&v, output::Format::Text);
    } else if !(k(EventKind::Exit) || k(EventKind::Join)) {
        return Err(format!("a record of unknown kind {kind}"));
    }
    Ok(())
}

/// Load the script's object into a runtime, run every program (BEGIN first, END last) on
/// a synthetic context, decode what they sent and the maps they left.
fn run_in_vm(c: &Compiled, elf: &[u8], env: &FixtureEnv) -> Result<usize, Problem> {
    let fail = |m: String| Problem::Failed(m);
    let obj = bpfbox_object::load(elf, &Default::default()).map_err(|e| fail(format!("loading the object: {e}")))?;
    let rt = runtime();
    let mut ids = Vec::new();
    for m in &obj.maps {
        let def = bpfbox_vm::MapDef {
            name: m.name.clone(),
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            map_flags: m.map_flags,
            ..Default::default()
        };
        ids.push(rt.create_map(&def).map_err(|e| fail(format!("map {}: {e}", m.name)))?);
    }
    let mut order: Vec<&bpfbox_trace::codegen::ProgOut> = c.programs.iter().collect();
    order.sort_by_key(|p| match p.probe {
        ProbeKind::Begin => 0,
        ProbeKind::End => 2,
        _ => 1,
    });
    let mut records = 0;
    for p in order {
        let spec =
            obj.programs.iter().find(|s| s.name == p.name).ok_or_else(|| fail(format!("no program {}", p.name)))?;
        let pt = spec.prog_type.map(|t| t.number()).unwrap_or(0);
        let id = match rt.load_program_with(
            &p.name,
            pt,
            spec.expected_attach_type.map(|t| t.number()),
            spec.insns.clone(),
            &ids,
        ) {
            Ok(id) => id,
            Err(RuntimeError::MissingHelper { name, .. }) => return Err(Problem::MissingHelper(name.to_string())),
            Err(e) => return Err(fail(format!("loading {}: {e}", p.name))),
        };
        let ctx = match &p.probe {
            ProbeKind::Tracepoint { category, name } => {
                Some(tracepoint_ctx(&env.tracepoint_format(category, name).expect("fixture format")))
            }
            k if k.has_pt_regs() => Some(pt_regs_ctx()),
            _ => None,
        };
        // Twice: the second run sees the maps the first one filled.
        for _ in 0..2 {
            let out = rt
                .test_run(id, &TestRunInput { ctx_in: ctx.clone(), ..Default::default() })
                .map_err(|e| fail(format!("running {} ({}): {e}", p.name, p.probe.full_name())))?;
            for ev in &out.events {
                check_record(c, &ev.data).map_err(|e| fail(format!("{}: {e}", p.name)))?;
                records += 1;
            }
        }
    }
    let mut dumps = Vec::new();
    for (m, decl) in decode::script_maps(c) {
        let i = obj.maps.iter().position(|o| o.name == m.symbol).ok_or_else(|| fail(format!("no map {}", m.symbol)))?;
        dumps.push(decode::map_dump(decl, &rt.map(ids[i]).entries(), &NoResolver));
    }
    output::format_maps_at_exit(&dumps);
    output::format_maps_at_exit_json(&dumps);
    Ok(records)
}

#[test]
fn every_corpus_script_and_tool_compiles_verifies_and_runs_in_the_vm() {
    let env = FixtureEnv::load();
    let all = scripts();
    assert!(all.len() >= 50, "{} scripts", all.len());
    let mut failures = Vec::new();
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ran = 0;
    for s in &all {
        let opts = CompileOptions { positional: s.args.clone(), cpid: PID, ..Default::default() };
        let known = REFUSED.iter().find(|(n, _)| *n == s.name).map(|(_, e)| *e);
        let built = compile(&s.text, &env, &opts).and_then(|c| {
            link::verify(&c, &Default::default())?;
            let elf = link::to_elf(&c, &s.text, &s.name)?;
            Ok((c, elf))
        });
        let (compiled, elf) = match (built, known) {
            (Ok(_), Some(_)) => {
                failures.push(format!("{}: listed in REFUSED but builds: remove it", s.name));
                continue;
            }
            (Err(d), Some(e)) => {
                if !d.message.contains(e) {
                    failures.push(format!("{}: refused, but no longer with `{e}`: {}", s.name, d.message));
                }
                continue;
            }
            (Err(d), None) => {
                failures.push(format!("{}: {}", s.name, d.render(&s.name, &s.text)));
                continue;
            }
            (Ok(b), None) => b,
        };
        match run_in_vm(&compiled, &elf, &env) {
            Ok(_) => ran += 1,
            Err(Problem::MissingHelper(h)) => missing.entry(h).or_default().push(s.name.clone()),
            Err(Problem::Failed(m)) => failures.push(format!("{}: {m}", s.name)),
        }
    }
    println!("{ran} of {} scripts ran in bpfbox's runtime", all.len());
    for (h, scripts) in &missing {
        println!("the runtime lacks helper bpf_{h}, needed by: {}", scripts.join(", "));
    }
    let lacking: Vec<&str> = missing.keys().map(String::as_str).collect();
    assert_eq!(lacking, VM_MISSING_HELPERS, "the helpers the runtime lacks changed: update VM_MISSING_HELPERS");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
