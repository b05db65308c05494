//! `bpfbox run OBJ`: the user-space counterpart of BPF_PROG_TEST_RUN for clang-built
//! objects, its kernel twin (`--kernel`) and the comparison of both (`--compare`).
//!
//! Flow: ELF bytes → `bpfbox_object::load` (programs, maps, relocations, CO-RE) →
//! `bpfbox_vm::Runtime` (maps created, every program loaded for tail calls) → one
//! test run per input packet → [`RunRecord`]s → rendering (human or JSON) at the end.

use crate::verify_cmd::BeforeRun;
use crate::CliError;
use bpfbox_object::{LoadOptions, LoadedObject};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    User,
    Kernel,
    Compare,
}

/// Everything `bpfbox run OBJ` was asked to do.
#[derive(Debug, Clone)]
pub struct RunObjArgs {
    pub file: PathBuf,
    pub prog: Option<String>,
    pub types: Vec<(String, String)>,
    pub data: Option<PathBuf>,
    pub data_hex: Option<String>,
    pub pcap: Option<PathBuf>,
    pub ctx: Option<PathBuf>,
    pub repeat: u32,
    pub map_init: Vec<(String, PathBuf)>,
    pub dump_maps: bool,
    pub out_pcap: Option<PathBuf>,
    pub btf: Option<PathBuf>,
    pub backend: Backend,
    pub json: bool,
    pub log: bool,
    /// Run on the checked JIT instead of the interpreter.
    pub jit: bool,
    /// Verify the object's programs with bpfbox's verifier before running them in
    /// bpfbox (not for `--kernel`, where the kernel verifies); a rejection stops the run.
    pub verify: bool,
    /// The host to run in (`--world`): bpfbox's runtime answers from it, the kernel
    /// side runs in a network namespace built from it.
    pub world: Option<PathBuf>,
}

/// One test run, as rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub retval: u64,
    pub action: Option<&'static str>,
    pub data_out: Vec<u8>,
    pub ctx_out: Option<Vec<u8>>,
    pub duration_ns: u64,
    pub printk: Vec<String>,
    pub events: Vec<(String, Vec<u8>)>,
    /// The run was refused or faulted (the other fields are then empty).
    pub error: Option<String>,
}

impl RunRecord {
    fn failed(error: String) -> RunRecord {
        RunRecord {
            retval: 0,
            action: None,
            data_out: Vec::new(),
            ctx_out: None,
            duration_ns: 0,
            printk: Vec::new(),
            events: Vec::new(),
            error: Some(error),
        }
    }
}

/// A map's contents after the runs: entries as (key, value) bytes and, when BTF allows,
/// decoded JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct MapContents {
    pub name: String,
    pub map_type: u32,
    pub value_size: u32,
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The action name of a return value, for program types that have actions.
pub fn action_name(prog_type: Option<u32>, retval: u64) -> Option<&'static str> {
    use bpfbox_abi::prog_types::ProgType;
    let t = prog_type?;
    if t == ProgType::Xdp as u32 {
        return Some(match retval as u32 {
            0 => "XDP_ABORTED",
            1 => "XDP_DROP",
            2 => "XDP_PASS",
            3 => "XDP_TX",
            4 => "XDP_REDIRECT",
            _ => "XDP_UNKNOWN",
        });
    }
    if t == ProgType::SchedCls as u32 || t == ProgType::SchedAct as u32 {
        return Some(match retval as u32 as i32 {
            -1 => "TC_ACT_UNSPEC",
            0 => "TC_ACT_OK",
            1 => "TC_ACT_RECLASSIFY",
            2 => "TC_ACT_SHOT",
            3 => "TC_ACT_PIPE",
            4 => "TC_ACT_STOLEN",
            5 => "TC_ACT_QUEUED",
            6 => "TC_ACT_REPEAT",
            7 => "TC_ACT_REDIRECT",
            _ => "TC_ACT_UNKNOWN",
        });
    }
    if t == ProgType::CgroupSkb as u32 {
        return Some(if retval & 1 == 1 { "ALLOW" } else { "DROP" });
    }
    if t == ProgType::SocketFilter as u32 {
        return Some(if retval == 0 { "DROP" } else { "KEEP" });
    }
    None
}

fn is_drop(action: Option<&str>) -> bool {
    matches!(action, Some("XDP_DROP" | "XDP_ABORTED" | "TC_ACT_SHOT" | "DROP"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The inputs: one packet per run (`--data`, `--data-hex`) or every packet of a pcap.
pub(crate) fn inputs(a: &RunObjArgs) -> Result<Vec<Vec<u8>>, CliError> {
    let given = [a.data.is_some(), a.data_hex.is_some(), a.pcap.is_some()].iter().filter(|x| **x).count();
    if given > 1 {
        return Err(CliError::usage("--data, --data-hex and --pcap exclude each other"));
    }
    if let Some(p) = &a.data {
        return Ok(vec![std::fs::read(p).map_err(|e| CliError::io(p, e))?]);
    }
    if let Some(h) = &a.data_hex {
        return Ok(vec![crate::parse_hex(h).map_err(|e| CliError::usage(format!("--data-hex: {e}")))?]);
    }
    if let Some(p) = &a.pcap {
        return read_pcap(p);
    }
    Ok(vec![Vec::new()])
}

fn read_pcap(p: &Path) -> Result<Vec<Vec<u8>>, CliError> {
    let f = std::fs::File::open(p).map_err(|e| CliError::io(p, e))?;
    let mut r = pcap_file::pcap::PcapReader::new(f).map_err(|e| CliError::input(p, format!("not a pcap file: {e}")))?;
    let mut out = Vec::new();
    while let Some(pkt) = r.next_packet() {
        let pkt = pkt.map_err(|e| CliError::input(p, format!("packet {}: {e}", out.len() + 1)))?;
        out.push(pkt.data.into_owned());
    }
    Ok(out)
}

fn write_pcap(p: &Path, packets: &[&[u8]]) -> Result<(), CliError> {
    let f = std::fs::File::create(p).map_err(|e| CliError::io(p, e))?;
    let mut w = pcap_file::pcap::PcapWriter::new(f).map_err(|e| CliError::input(p, e))?;
    for (i, data) in packets.iter().enumerate() {
        let pkt = pcap_file::pcap::PcapPacket::new(std::time::Duration::from_secs(i as u64), data.len() as u32, data);
        w.write_packet(&pkt).map_err(|e| CliError::input(p, e))?;
    }
    Ok(())
}

/// Map entries as (key, value) byte strings.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Parse a `--map-init` JSON file: an array of `{"key": K, "value": V}` where K and V
/// are hex strings (bytes in order), numbers (little-endian integers of the map's
/// size), or arrays of byte values (numbers or hex strings, as `bpftool map dump -j`
/// prints them). Percpu maps take one value for all CPUs or an array `"values"`.
pub fn parse_map_init(file: &Path, text: &str, key_size: u32, value_size: u32) -> Result<Entries, CliError> {
    let v: Value = serde_json::from_str(text).map_err(|e| CliError::input(file, format!("invalid JSON: {e}")))?;
    let arr =
        v.as_array().ok_or_else(|| CliError::input(file, "expected a JSON array of {\"key\": .., \"value\": ..}"))?;
    let mut out = Vec::new();
    for (i, e) in arr.iter().enumerate() {
        let key = e.get("key").ok_or_else(|| CliError::input(file, format!("entry {i}: no \"key\"")))?;
        let value = e.get("value").ok_or_else(|| CliError::input(file, format!("entry {i}: no \"value\"")))?;
        let k = json_bytes(key, key_size).map_err(|m| CliError::input(file, format!("entry {i} key: {m}")))?;
        let val = json_bytes(value, value_size).map_err(|m| CliError::input(file, format!("entry {i} value: {m}")))?;
        out.push((k, val));
    }
    Ok(out)
}

fn json_bytes(v: &Value, size: u32) -> Result<Vec<u8>, String> {
    let bytes = match v {
        Value::String(s) => crate::parse_hex(s)?,
        Value::Number(n) => {
            let x = n.as_u64().or_else(|| n.as_i64().map(|i| i as u64)).ok_or("not an integer")?;
            if size > 8 {
                return Err(format!("a number cannot fill {size} bytes; give hex"));
            }
            x.to_le_bytes()[..size as usize].to_vec()
        }
        Value::Array(items) => items
            .iter()
            .map(|b| match b {
                Value::Number(n) => {
                    n.as_u64().filter(|x| *x <= 255).map(|x| x as u8).ok_or("byte out of range".to_string())
                }
                Value::String(s) => u8::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| e.to_string()),
                _ => Err("bytes must be numbers or hex strings".to_string()),
            })
            .collect::<Result<Vec<u8>, String>>()?,
        _ => return Err("expected a hex string, a number or an array of bytes".into()),
    };
    if bytes.len() != size as usize {
        return Err(format!("{} bytes given, the map needs {size}", bytes.len()));
    }
    Ok(bytes)
}

/// The running kernel's BTF, parsed once per process (library users and tests run
/// many objects).
pub(crate) fn vmlinux_btf() -> Option<Arc<bpfbox_object::btf::Btf>> {
    static BTF: std::sync::OnceLock<Option<Arc<bpfbox_object::btf::Btf>>> = std::sync::OnceLock::new();
    BTF.get_or_init(|| {
        let sys = Path::new("/sys/kernel/btf/vmlinux");
        std::fs::read(sys).ok().and_then(|b| bpfbox_object::btf::Btf::parse_vec(b).ok()).map(Arc::new)
    })
    .clone()
}

/// The object's bytes, the loaded object and the kernel BTF used for CO-RE.
pub(crate) type Loaded = (Vec<u8>, LoadedObject, Option<Arc<bpfbox_object::btf::Btf>>);

fn load_object(a: &RunObjArgs) -> Result<Loaded, CliError> {
    load_object_file(&a.file, a.btf.as_deref(), &a.types)
}

/// Load an object as `run` and `verify` do: CO-RE against `btf` (default: the running
/// kernel's BTF, with `LINUX_KERNEL_VERSION` its version, as libbpf sets them), `types`
/// naming (program, type) for unknown sections, global-data maps named after the file.
pub(crate) fn load_object_file(
    file: &Path,
    btf: Option<&Path>,
    types: &[(String, String)],
) -> Result<Loaded, CliError> {
    let data = std::fs::read(file).map_err(|e| CliError::io(file, e))?;
    let target_btf = match btf {
        Some(p) => {
            let b = std::fs::read(p).map_err(|e| CliError::io(p, e))?;
            Some(Arc::new(bpfbox_object::btf::Btf::parse_vec(b).map_err(|e| CliError::input(p, e))?))
        }
        None => vmlinux_btf(),
    };
    let mut prog_types = Vec::new();
    for (name, t) in types {
        let pt = bpfbox_abi::prog_types::ProgType::from_name(t)
            .ok_or_else(|| CliError::usage(format!("--type {name}={t}: unknown program type")))?;
        prog_types.push((name.clone(), pt));
    }
    let obj_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let kernel_version = if btf.is_none() { bpfbox_object::running_kernel_version().unwrap_or(0) } else { 0 };
    let opts = LoadOptions {
        target_btf: target_btf.clone(),
        prog_types,
        object_name: Some(obj_name),
        kernel_version,
        ..Default::default()
    };
    let mut obj = bpfbox_object::load(&data, &opts).map_err(|e| CliError::input(file, e))?;
    obj.use_bpfbox_kfunc_ids();
    Ok((data, obj, target_btf))
}

pub(crate) fn select_prog<'o>(
    a: &RunObjArgs,
    obj: &'o LoadedObject,
) -> Result<&'o bpfbox_object::ProgramSpec, CliError> {
    let names = || obj.programs.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ");
    match &a.prog {
        Some(n) => {
            obj.programs.iter().find(|p| &p.name == n).ok_or_else(|| match obj.unusable.iter().find(|u| &u.name == n) {
                Some(u) => CliError::input(&a.file, format!("program `{n}` cannot be run: {}", u.error)),
                None => CliError::input(&a.file, format!("no program named `{n}` (programs: {})", names())),
            })
        }
        None if obj.programs.len() == 1 => Ok(&obj.programs[0]),
        None if obj.programs.is_empty() => Err(CliError::input(&a.file, "the object has no programs")),
        None => Err(CliError::usage(format!("the object has several programs, choose one with --prog ({})", names()))),
    }
}

/// The results of a whole `bpfbox run OBJ`: one record per input, then the maps.
#[derive(Debug, Clone)]
pub struct Session {
    pub prog_type: Option<u32>,
    pub records: Vec<RunRecord>,
    pub maps: Vec<MapContents>,
}

/// The runtime `run` builds for an object: its maps created and filled (prog-array and
/// map-in-map slots, `--map-init`), every program loaded so that tail calls find their
/// targets (`verified` ones unchecked). Returns the runtime, the map ids (by index
/// into `obj.maps`) and the id of `prog`. `bpfbox debug` builds its runs with it.
pub(crate) fn build_runtime(
    a: &RunObjArgs,
    obj: &LoadedObject,
    prog: &bpfbox_object::ProgramSpec,
    opts: bpfbox_vm::RuntimeOptions,
    verified: Option<&BTreeMap<String, Vec<usize>>>,
) -> Result<(bpfbox_vm::Runtime, Vec<bpfbox_vm::MapId>, bpfbox_vm::ProgId), CliError> {
    let file = &a.file;
    let rt = bpfbox_vm::Runtime::new(opts);
    let mut ids = Vec::new();
    for m in &obj.maps {
        ids.push(
            rt.create_map(&bpfbox::map_def(m)).map_err(|e| CliError::input(file, format!("map `{}`: {e}", m.name)))?,
        );
    }
    // Every program is loaded, so that tail calls find their targets.
    let mut prog_ids = BTreeMap::new();
    for p in &obj.programs {
        let pt = p.prog_type.map(|t| t.number()).unwrap_or(0);
        let eat = p.expected_attach_type.map(|t| t.number());
        let loaded = match verified.and_then(|v| v.get(&p.name)) {
            // SAFETY: bpfbox's verifier accepted exactly these instructions, type,
            // attach type and maps (`verify_before_run` on this object), and
            // `converted` is its list.
            Some(converted) => unsafe { rt.load_verified_program(&p.name, pt, eat, p.insns.clone(), &ids, converted) },
            None => rt.load_program_with(&p.name, pt, eat, p.insns.clone(), &ids),
        };
        match loaded {
            Ok(id) => {
                prog_ids.insert(p.name.clone(), id);
            }
            Err(e) if p.name == prog.name => return Err(CliError::input(file, format!("program `{}`: {e}", p.name))),
            Err(_) => {}
        }
    }
    for (mi, m) in obj.maps.iter().enumerate() {
        for (slot, init) in &m.init_slots {
            match init {
                bpfbox_object::InitSlot::Map(inner) => rt
                    .set_map_slot(ids[mi], *slot, ids[*inner])
                    .map_err(|e| CliError::input(file, format!("map `{}` slot {slot}: {e}", m.name)))?,
                bpfbox_object::InitSlot::Prog(name) => {
                    if let Some(pid) = prog_ids.get(name) {
                        rt.set_prog_slot(ids[mi], *slot, *pid)
                            .map_err(|e| CliError::input(file, format!("map `{}` slot {slot}: {e}", m.name)))?;
                    }
                }
            }
        }
    }
    for (name, path) in &a.map_init {
        let mi = obj
            .maps
            .iter()
            .position(|m| &m.name == name)
            .ok_or_else(|| CliError::usage(format!("--map-init: no map named `{name}`")))?;
        let m = &obj.maps[mi];
        let text = crate::read_text(path)?;
        let map = rt.map(ids[mi]);
        let vsize = if map.is_percpu() { map.percpu_value_len() as u32 } else { m.value_size };
        for (k, v) in parse_map_init(path, &text, m.key_size, vsize)? {
            map.update(&k, &v, 0).map_err(|e| CliError::input(path, format!("updating `{name}`: {e}")))?;
        }
    }
    let pid = *prog_ids.get(&prog.name).ok_or_else(|| CliError::input(file, "program did not load"))?;
    Ok((rt, ids, pid))
}

fn run_user(
    a: &RunObjArgs,
    obj: &LoadedObject,
    packets: &[Vec<u8>],
    ctx: &Option<Vec<u8>>,
    verified: Option<&BTreeMap<String, Vec<usize>>>,
) -> Result<Session, CliError> {
    use bpfbox_vm::{RuntimeOptions, TestRunInput};
    let file = &a.file;
    let prog = select_prog(a, obj)?;
    let mut opts = RuntimeOptions { world: world(a)?, ..RuntimeOptions::default() };
    if a.jit {
        opts.engine = Some(std::sync::Arc::new(bpfbox_jit::JitEngine));
    }
    let (rt, ids, pid) = build_runtime(a, obj, prog, opts, verified)?;
    let prog_type = prog.prog_type.map(|t| t.number());
    let mut records = Vec::new();
    for data in packets {
        let input = TestRunInput { data_in: data.clone(), ctx_in: ctx.clone(), repeat: a.repeat, cpu: 0 };
        let out = match rt.test_run(pid, &input) {
            Ok(o) => o,
            Err(e) if packets.len() > 1 => {
                records.push(RunRecord::failed(e.to_string()));
                continue;
            }
            Err(e @ bpfbox_vm::RuntimeError::BadInput { .. }) => return Err(CliError::input(file, e)),
            Err(e) => return Err(CliError::Fault(e.to_string())),
        };
        records.push(RunRecord {
            error: None,
            retval: out.retval,
            action: action_name(prog_type, out.retval),
            data_out: out.data_out,
            ctx_out: out.ctx_out,
            duration_ns: out.duration_ns,
            printk: out.printk,
            events: out.events.into_iter().map(|e| (e.map, e.data)).collect(),
        });
    }
    let mut maps = Vec::new();
    for (mi, m) in obj.maps.iter().enumerate() {
        if !keep_map(a, m.max_entries) {
            continue;
        }
        let map = rt.map(ids[mi]);
        maps.push(MapContents {
            name: m.name.clone(),
            map_type: m.map_type,
            value_size: m.value_size,
            entries: map.entries(),
        });
    }
    Ok(Session { prog_type, records, maps })
}

#[cfg(not(feature = "kernel"))]
fn run_kernel(a: &RunObjArgs, _: &LoadedObject, _: &[Vec<u8>], _: &Option<Vec<u8>>) -> Result<Session, CliError> {
    Err(crate::no_kernel_backend(if a.backend == Backend::Compare { "--compare" } else { "--kernel" }))
}

#[cfg(feature = "kernel")]
fn run_kernel(
    a: &RunObjArgs,
    obj: &LoadedObject,
    packets: &[Vec<u8>],
    ctx: &Option<Vec<u8>>,
) -> Result<Session, CliError> {
    use bpfbox_kernel::{KernelObject, MapPinning, OpenOptions, TestRunInput};
    bpfbox_kernel::availability()
        .map_err(|why| CliError::usage(format!("--kernel: the kernel is not available: {why}")))?;
    let prog = select_prog(a, obj)?;
    // With a world — or without one when the program looks routes or connections up,
    // so that the kernel sees the default world bpfbox answers from instead of the
    // host's — the
    // test runs happen inside a network namespace made from it (deleted when this
    // function returns, after the thread left it).
    // Conntrack entries a program inserts stay in the namespace's table: never the host's.
    // (bpf_fib_lookup 69, bpf_check_mtu 163 read the namespace's interfaces;
    // bpf_clone_redirect 13 sends a packet through one: never the host's.)
    let fib_lookup =
        [13, 69, 163].iter().any(|&h| prog.insns.contains(&bpfbox_isa::Insn::Call(bpfbox_isa::CallTarget::Helper(h))));
    let conntrack = prog.externs.iter().any(|x| {
        x.kind == bpfbox_object::ExternKind::Kfunc
            && ["bpf_xdp_ct_", "bpf_skb_ct_", "bpf_ct_"].iter().any(|p| x.name.starts_with(p))
    });
    let ns = match a.world.as_ref().or((fib_lookup || conntrack).then_some(&a.file)) {
        Some(p) => {
            let steps = world(a)?.host_setup().into_iter().map(|s| match s {
                bpfbox_vm::world::HostStep::Ip(v) => bpfbox_kernel::netns::Step::Ip(v),
                bpfbox_vm::world::HostStep::Sysctl(k, v) => bpfbox_kernel::netns::Step::Sysctl(k, v),
            });
            let ns = bpfbox_kernel::netns::Netns::create("world", &steps.collect::<Vec<_>>())
                .map_err(|e| CliError::input(p, format!("kernel: building the world's network namespace: {e}")))?;
            Some(ns)
        }
        None => None,
    };
    let _inside = match &ns {
        Some(ns) => Some(ns.enter().map_err(|e| CliError::input(&a.file, format!("kernel: {e}")))?),
        None => None,
    };
    // Only the program to run — and, when it tail-calls, every program (each may be a
    // target) — so a program the kernel refuses does not stop another from running.
    let tail_calls = prog.insns.contains(&bpfbox_isa::Insn::Call(bpfbox_isa::CallTarget::Helper(12)));
    let only = (!tail_calls).then(|| vec![prog.name.clone()]);
    // A test run starts from the object's own maps and leaves nothing behind: maps it
    // declares pinned by name are neither reused nor pinned (MapPinning::Private).
    let opts = OpenOptions {
        prog_types: a.types.clone(),
        btf_custom_path: a.btf.clone(),
        only,
        map_pinning: MapPinning::Private,
    };
    let k = KernelObject::load(&a.file, &opts).map_err(|e| CliError::Rejected(crate::kernel_error_text(&e, a.log)))?;
    for (name, path) in &a.map_init {
        let m = obj
            .maps
            .iter()
            .find(|m| &m.name == name)
            .ok_or_else(|| CliError::usage(format!("--map-init: no map named `{name}`")))?;
        let text = crate::read_text(path)?;
        let percpu = matches!(m.map_type, 5 | 6 | 10);
        let vsize =
            if percpu { m.value_size.div_ceil(8) * 8 * bpfbox_kernel::possible_cpus() as u32 } else { m.value_size };
        for (key, v) in parse_map_init(path, &text, m.key_size, vsize)? {
            k.map_update(name, &key, &v, 0).map_err(|e| CliError::input(path, e))?;
        }
    }
    let prog_type = prog.prog_type.map(|t| t.number());
    let mut records = Vec::new();
    for data in packets {
        let input = TestRunInput { data_in: data.clone(), ctx_in: ctx.clone(), repeat: a.repeat.max(1) };
        let out = match k.test_run(&prog.name, &input) {
            Ok(o) => o,
            Err(e) if packets.len() > 1 => {
                records.push(RunRecord::failed(e.to_string()));
                continue;
            }
            Err(e) => return Err(CliError::input(&a.file, format!("kernel: {e}"))),
        };
        records.push(RunRecord {
            error: None,
            retval: out.retval as u64,
            action: action_name(prog_type, out.retval as u64),
            data_out: out.data_out,
            ctx_out: out.ctx_out,
            duration_ns: out.duration_ns,
            printk: Vec::new(),
            events: Vec::new(),
        });
    }
    let maps = k
        .map_dump_where(|_, max| keep_map(a, max))
        .map_err(|e| CliError::input(&a.file, e))?
        .into_iter()
        .map(|d| MapContents { name: d.name, map_type: d.map_type, value_size: d.value_size, entries: d.entries })
        .collect();
    Ok(Session { prog_type, records, maps })
}

/// The world of `--world FILE`, or the default one (lo + eth0).
pub(crate) fn world(a: &RunObjArgs) -> Result<Arc<bpfbox_vm::World>, CliError> {
    match &a.world {
        Some(p) => {
            let text = crate::read_text(p)?;
            bpfbox_vm::World::parse(&text).map(Arc::new).map_err(|e| CliError::input(p, e))
        }
        None => Ok(Arc::default()),
    }
}

/// Maps larger than this are not compared by `--compare` (dumping them through the
/// syscall one entry at a time takes minutes); the report says which were left out.
pub const COMPARE_MAX_ENTRIES: u32 = 1 << 16;

/// Whether a map's contents are collected: always with `--dump-maps`; with `--compare`
/// when it is small enough to compare; otherwise never.
fn keep_map(a: &RunObjArgs, max_entries: u32) -> bool {
    a.dump_maps || (a.backend == Backend::Compare && max_entries <= COMPARE_MAX_ENTRIES)
}

/// Differences between a user-space and a kernel session, one line each.
pub fn differences(user: &Session, kernel: &Session) -> Vec<String> {
    let mut d = Vec::new();
    for (i, (u, k)) in user.records.iter().zip(&kernel.records).enumerate() {
        let n = i + 1;
        if u.error.is_some() || k.error.is_some() {
            if u.error.is_some() != k.error.is_some() {
                d.push(format!(
                    "packet {n}: bpfbox {}, kernel {}",
                    u.error.as_deref().map_or("ran".to_string(), |e| format!("refused ({e})")),
                    k.error.as_deref().map_or("ran".to_string(), |e| format!("refused ({e})"))
                ));
            }
            continue;
        }
        if u.retval as u32 != k.retval as u32 {
            d.push(format!(
                "packet {n}: retval bpfbox {:#x} ({}), kernel {:#x} ({})",
                u.retval,
                u.action.unwrap_or("-"),
                k.retval,
                k.action.unwrap_or("-")
            ));
        }
        if u.data_out != k.data_out {
            d.push(format!(
                "packet {n}: data_out differs\n  bpfbox: {}\n  kernel: {}",
                hex(&u.data_out),
                hex(&k.data_out)
            ));
        }
        if let (Some(uc), Some(kc)) = (&u.ctx_out, &k.ctx_out) {
            if uc != kc {
                d.push(format!("packet {n}: ctx_out differs\n  bpfbox: {}\n  kernel: {}", hex(uc), hex(kc)));
            }
        }
    }
    for um in &user.maps {
        // The kernel names global-data maps `<obj prefix>.data`; match on the suffix too.
        let km = kernel.maps.iter().find(|k| {
            k.name == um.name || (um.name.contains('.') && k.name.ends_with(&um.name[um.name.find('.').unwrap_or(0)..]))
        });
        let Some(km) = km else { continue };
        let mut ue = um.entries.clone();
        let mut ke = km.entries.clone();
        // Not comparable: ring buffers hold no entries, and maps whose values are
        // kernel object ids (prog arrays, perf event arrays, map-in-maps, device,
        // socket, cpu and cgroup maps) hold ids that differ between the two by nature.
        if matches!(um.map_type, 3 | 4 | 8 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 25 | 27) {
            continue;
        }
        if matches!(um.map_type, 5 | 6 | 10) {
            // Per-CPU values: the kernel runs the program on whichever CPU the test
            // runs on, so compare each key's per-CPU values as a multiset.
            let slot = (um.value_size as usize).div_ceil(8) * 8;
            ue = ue.into_iter().map(|(k, v)| (k, sort_slots(&v, slot))).collect();
            ke = ke.into_iter().map(|(k, v)| (k, sort_slots(&v, slot))).collect();
        }
        ue.sort();
        ke.sort();
        if ue != ke {
            d.push(format!(
                "map `{}`: contents differ\n  bpfbox: {}\n  kernel: {}",
                um.name,
                entries_text(&ue),
                entries_text(&ke)
            ));
        }
    }
    d
}

fn sort_slots(v: &[u8], slot: usize) -> Vec<u8> {
    if slot == 0 || !v.len().is_multiple_of(slot) {
        return v.to_vec();
    }
    let mut chunks: Vec<&[u8]> = v.chunks(slot).collect();
    chunks.sort();
    chunks.concat()
}

fn entries_text(e: &[(Vec<u8>, Vec<u8>)]) -> String {
    e.iter().map(|(k, v)| format!("{}={}", hex(k), hex(v))).collect::<Vec<_>>().join(" ")
}

fn summary(s: &Session) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in &s.records {
        if r.error.is_some() {
            *m.entry("error".to_string()).or_insert(0) += 1;
            continue;
        }
        let k = r.action.map(str::to_string).unwrap_or_else(|| format!("retval {:#x}", r.retval));
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

fn record_json(r: &RunRecord) -> Value {
    if let Some(e) = &r.error {
        return json!({ "error": e });
    }
    let mut v = json!({
        "retval": r.retval,
        "data_out": hex(&r.data_out),
        "duration_ns": r.duration_ns,
        "printk": r.printk,
        "events": r.events.iter().map(|(m, d)| json!({"map": m, "data": hex(d)})).collect::<Vec<_>>(),
    });
    if let Some(a) = r.action {
        v["action"] = json!(a);
    }
    if let Some(c) = &r.ctx_out {
        v["ctx_out"] = json!(hex(c));
    }
    v
}

fn maps_json(maps: &[MapContents], obj: &LoadedObject) -> Value {
    Value::Array(
        maps.iter()
            .map(|m| {
                let spec = obj.maps.iter().find(|s| s.name == m.name);
                let entries: Vec<Value> = m
                    .entries
                    .iter()
                    .map(|(k, v)| {
                        let mut e = json!({"key": hex(k), "value": hex(v)});
                        if let (Some(spec), Some(btf)) = (spec, obj.btf.as_ref()) {
                            if let Some(t) = spec.key_type_id {
                                e["formatted_key"] = btf.format_value(t, k);
                            }
                            if let Some(t) = spec.value_type_id {
                                if v.len() == spec.value_size as usize {
                                    e["formatted_value"] = btf.format_value(t, v);
                                }
                            }
                        }
                        e
                    })
                    .collect();
                json!({"name": m.name, "type": bpfbox_abi::map_types::MapType::name_of(m.map_type), "entries": entries})
            })
            .collect(),
    )
}

fn session_json(s: &Session, a: &RunObjArgs, obj: &LoadedObject) -> Value {
    let mut v = if a.pcap.is_some() {
        json!({"packets": s.records.iter().map(record_json).collect::<Vec<_>>(), "summary": summary(s)})
    } else {
        s.records.first().map(record_json).unwrap_or_else(|| json!({}))
    };
    if a.dump_maps {
        v["maps"] = maps_json(&s.maps, obj);
    }
    v
}

fn session_human(s: &Session, a: &RunObjArgs, obj: &LoadedObject) -> String {
    let mut out = String::new();
    let many = s.records.len() > 1;
    for (i, r) in s.records.iter().enumerate() {
        let prefix = if many { format!("packet {}: ", i + 1) } else { String::new() };
        if let Some(e) = &r.error {
            out.push_str(&format!("{prefix}error: {e}\n"));
            continue;
        }
        let action = r.action.map(|a| format!(" {a}")).unwrap_or_default();
        out.push_str(&format!("{prefix}retval: {} ({:#x}){action}", r.retval as i64, r.retval));
        if many {
            out.push_str(&format!(" len {}\n", r.data_out.len()));
        } else {
            out.push('\n');
            if !r.data_out.is_empty() {
                out.push_str(&format!("data_out: {}\n", hex(&r.data_out)));
            }
            if let Some(c) = &r.ctx_out {
                out.push_str(&format!("ctx_out: {}\n", hex(c)));
            }
            out.push_str(&format!("duration_ns: {}\n", r.duration_ns));
        }
        for p in &r.printk {
            out.push_str(&format!("{prefix}printk: {p}\n"));
        }
        for (m, d) in &r.events {
            out.push_str(&format!("{prefix}event {m}: {}\n", hex(d)));
        }
    }
    if many {
        out.push_str("summary:");
        for (k, n) in summary(s) {
            out.push_str(&format!(" {k}={n}"));
        }
        out.push('\n');
    }
    if a.dump_maps {
        if let Value::Array(maps) = maps_json(&s.maps, obj) {
            for m in maps {
                out.push_str(&format!(
                    "map {} ({}):\n",
                    m["name"].as_str().unwrap_or(""),
                    m["type"].as_str().unwrap_or("")
                ));
                for e in m["entries"].as_array().into_iter().flatten() {
                    let k = e
                        .get("formatted_key")
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| e["key"].as_str().unwrap_or("").to_string());
                    let v = e
                        .get("formatted_value")
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| e["value"].as_str().unwrap_or("").to_string());
                    out.push_str(&format!("  {k}: {v}\n"));
                }
            }
        }
    }
    out
}

/// Run `bpfbox run OBJ`; returns the text to print and the exit code.
pub fn run(a: &RunObjArgs) -> Result<(String, u8), CliError> {
    let (_data, obj, kernel_btf) = load_object(a)?;
    // Per program: the verifier's converted accesses, when the object was verified.
    let mut verified = None;
    if a.verify && a.backend != Backend::Kernel {
        let selected = select_prog(a, &obj)?;
        match crate::verify_cmd::verify_before_run(&obj, kernel_btf, &a.file, selected, a.json)? {
            BeforeRun::Accepted(v) => verified = Some(v),
            BeforeRun::Rejected(text) => return Ok((text, 1)),
        }
    }
    let packets = inputs(a)?;
    let ctx = match &a.ctx {
        Some(p) => Some(std::fs::read(p).map_err(|e| CliError::io(p, e))?),
        None => None,
    };
    let (session, diffs) = match a.backend {
        Backend::User => (run_user(a, &obj, &packets, &ctx, verified.as_ref())?, None),
        Backend::Kernel => (run_kernel(a, &obj, &packets, &ctx)?, None),
        Backend::Compare => {
            let u = run_user(a, &obj, &packets, &ctx, verified.as_ref())?;
            let k = run_kernel(a, &obj, &packets, &ctx)?;
            let d = differences(&u, &k);
            (u, Some(d))
        }
    };
    if let Some(p) = &a.out_pcap {
        let kept: Vec<&[u8]> = session
            .records
            .iter()
            .filter(|r| r.error.is_none() && !is_drop(r.action))
            .map(|r| r.data_out.as_slice())
            .collect();
        write_pcap(p, &kept)?;
    }
    let mut text = if a.json {
        let mut v = session_json(&session, a, &obj);
        if let Some(d) = &diffs {
            v["differences"] = json!(d);
        }
        format!("{v}\n")
    } else {
        session_human(&session, a, &obj)
    };
    let mut code = 0;
    let skipped: Vec<String> = if a.backend == Backend::Compare {
        obj.maps
            .iter()
            .filter(|m| !keep_map(a, m.max_entries))
            .map(|m| format!("{} ({} entries)", m.name, m.max_entries))
            .collect()
    } else {
        Vec::new()
    };
    if a.json && diffs.is_some() && !skipped.is_empty() {
        // Re-render with the list of maps left out of the comparison.
        let mut v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        v["not_compared"] = json!(skipped);
        text = format!("{v}\n");
    }
    if !a.json && !skipped.is_empty() {
        text.push_str(&format!("compare: maps too large to compare, left out: {}\n", skipped.join(", ")));
    }
    if let Some(d) = diffs {
        if !a.json {
            if d.is_empty() {
                text.push_str("compare: bpfbox and the kernel agree\n");
            } else {
                text.push_str(&format!("compare: {} difference(s)\n", d.len()));
                for x in &d {
                    text.push_str(&format!("  {x}\n"));
                }
            }
        }
        if !d.is_empty() {
            code = 1;
        }
    }
    Ok((text, code))
}
