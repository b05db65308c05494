//! Kernel subcommands: `load`, `attach`, `detach`, `prog` and `map` (bpftool's
//! vocabulary). The kernel crate returns typed results and errors; this module turns
//! them into text, JSON and exit codes (2: unusable input or usage, 1: the kernel
//! refused).

use crate::CliError;
use bpfbox_kernel::attach::{self, Direction, PerfEventSpec, Target, UprobeLocation, XdpMode};
use bpfbox_kernel::events::{self, Event, EventStream};
use bpfbox_kernel::inspect::{self, MapBtf, MapInfo, ProgInfo};
use bpfbox_kernel::{KernelError, KernelObject, MapPinning, OpenOptions};
use bpfbox_object::btf::{Btf, Kind};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::kernel_args::*;

// ---------------------------------------------------------------------------------
// Output

/// Write to stdout; a closed pipe ends the program quietly.
fn emit(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("bpfbox: error: writing output: {e}");
        std::process::exit(2);
    }
}

macro_rules! outln {
    ($($t:tt)*) => { emit(&format!("{}\n", format_args!($($t)*))) };
}

fn hex_spaced(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

fn hex_json(b: &[u8]) -> Value {
    Value::Array(b.iter().map(|x| Value::String(format!("0x{x:02x}"))).collect())
}

fn hex_plain(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A KernelError as the user sees it (one line, then for a verifier rejection the
/// end of the log, or all of it with `full_log`), without the `bpfbox: error: ` prefix.
pub fn error_text(e: &KernelError, full_log: bool) -> String {
    match e {
        KernelError::Unavailable(r) => format!("the kernel backend is unavailable: {r}"),
        KernelError::Load(l) if full_log && !l.verifier_log.is_empty() => {
            let first = e.to_string();
            let head = first.lines().next().unwrap_or("").to_string();
            format!("{head}\nverifier log:\n{}", l.verifier_log.trim_end())
        }
        KernelError::Load(l) if !l.verifier_log.is_empty() => {
            let s = e.to_string();
            let total = l.verifier_log.lines().filter(|x| !x.trim().is_empty()).count();
            if total > bpfbox_kernel::LOG_TAIL_LINES {
                format!(
                    "{s}\n  (last {} of {total} verifier log lines; --log shows all)",
                    bpfbox_kernel::LOG_TAIL_LINES
                )
            } else {
                s
            }
        }
        KernelError::NoInterface { .. } => format!("{e} (see `ip link`)"),
        KernelError::Attach { errno, .. } if errno.name() == "EPERM" => {
            format!("{e} (the kernel refused this hook: is it enabled in this kernel?)")
        }
        _ => e.to_string(),
    }
}

/// Print a KernelError; the exit code: 1 when the kernel refused, 2 for unusable input.
fn report(e: &KernelError, full_log: bool) -> u8 {
    eprintln!("bpfbox: error: {}", error_text(e, full_log));
    if e.is_kernel_rejection() {
        1
    } else {
        2
    }
}

fn available() -> Result<(), u8> {
    bpfbox_kernel::availability().map_err(|r| report(&KernelError::Unavailable(r), false))
}

// ---------------------------------------------------------------------------------
// Entry point

/// Run a kernel subcommand; returns the exit code.
pub fn run(cmd: KernelCmd) -> Result<u8, CliError> {
    if let Err(code) = available() {
        return Ok(code);
    }
    match cmd {
        KernelCmd::Prog { cmd } => prog_cmd(cmd),
        KernelCmd::Map { cmd } => map_cmd(cmd),
        KernelCmd::Load { obj, pin, open, json } => load_cmd(&obj, pin.as_deref(), &open, json),
        KernelCmd::Attach { obj, prog, target, mode, ret, pid, freq, netns, duration, dump_maps, pin, open, json } => {
            let opts = AttachOpts { mode, ret, pid, freq, netns, duration, dump_maps, pin, json };
            attach_cmd(&obj, prog.as_deref(), &target, &opts, &open)
        }
        KernelCmd::Detach { path, json } => detach_cmd(&path, json),
        KernelCmd::Feature { cmd: FeatureCmd::Probe { output, diff } } => feature_probe(output, diff),
    }
}

/// `bpfbox feature probe [-o FILE] [--diff]`.
fn feature_probe(output: Option<PathBuf>, diff: bool) -> Result<u8, CliError> {
    use bpfbox_abi::kernel_facts::KernelFacts;
    if let Err(code) = available() {
        return Ok(code);
    }
    let facts = match bpfbox_kernel::facts::probe() {
        Ok(f) => f,
        Err(e) => return Ok(report(&e, false)),
    };
    if diff {
        let committed = KernelFacts::committed();
        let d = committed.helper_differences(&facts);
        let mut out = format!("committed: {}\nrunning:   {}\n", committed.stamp, facts.stamp);
        if d.is_empty() {
            out.push_str("the same helpers for every program type\n");
        }
        for l in &d {
            out.push_str(&format!("  {l}\n"));
        }
        emit(&out);
        return Ok(u8::from(!d.is_empty()));
    }
    let text = facts.to_text("bpfbox kernel facts, probed by `bpfbox feature probe`");
    match output {
        Some(p) => std::fs::write(&p, text).map_err(|e| CliError::io(&p, e))?,
        None => emit(&text),
    }
    Ok(0)
}

fn open_options(open: &OpenArgs, map_pinning: MapPinning) -> Result<OpenOptions, CliError> {
    let mut prog_types = Vec::new();
    for t in &open.types {
        let (p, ty) = t
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--type {t}: expected PROG=TYPE (e.g. my_prog=xdp)")))?;
        if p.is_empty() || ty.is_empty() {
            return Err(CliError::usage(format!("--type {t}: expected PROG=TYPE (e.g. my_prog=xdp)")));
        }
        prog_types.push((p.to_string(), ty.to_string()));
    }
    Ok(OpenOptions { prog_types, btf_custom_path: open.btf.clone(), only: None, map_pinning })
}

// ---------------------------------------------------------------------------------
// prog

/// `ID`, `id ID` or `pinned PATH` → a program or map id.
fn parse_ref(words: &[String], kind: &str) -> Result<u32, CliError> {
    let bad =
        || CliError::usage(format!("expected a {kind} as ID, `id ID` or `pinned PATH`, got `{}`", words.join(" ")));
    match words {
        [id] => parse_id(id).ok_or_else(bad),
        [k, id] if k == "id" => parse_id(id).ok_or_else(bad),
        [k, path] if k == "pinned" => {
            let (_fd, what) = inspect::pinned(Path::new(path)).map_err(|e| CliError::usage(e.to_string()))?;
            match (what, kind) {
                (inspect::PinnedObject::Program(p), "program") => Ok(p.id),
                (inspect::PinnedObject::Map(m), "map") => Ok(m.id),
                (inspect::PinnedObject::Link(l), "program") => Ok(l.prog_id),
                _ => Err(CliError::usage(format!("{path}: not a pinned {kind}"))),
            }
        }
        _ => Err(bad()),
    }
}

fn parse_id(s: &str) -> Option<u32> {
    s.parse::<u32>().ok().filter(|&n| n > 0)
}

/// `2026-11-24T19:33:37+0000` (UTC) for seconds since the epoch.
fn iso_time(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+0000", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn prog_json(p: &ProgInfo) -> Value {
    let mut v = json!({
        "id": p.id,
        "type": p.type_name,
        "name": p.name,
        "tag": p.tag_hex(),
        "gpl_compatible": p.gpl_compatible,
        "loaded_at": p.loaded_at,
        "uid": p.uid,
        "bytes_xlated": p.bytes_xlated,
        "jited": p.jited,
    });
    if p.jited {
        v["bytes_jited"] = json!(p.bytes_jited);
    }
    if let Some(m) = p.bytes_memlock {
        v["bytes_memlock"] = json!(m);
    }
    if !p.map_ids.is_empty() {
        v["map_ids"] = json!(p.map_ids);
    }
    if p.btf_id != 0 {
        v["btf_id"] = json!(p.btf_id);
    }
    v
}

fn prog_human(p: &ProgInfo) -> String {
    let mut s = format!("{}: {}  ", p.id, p.type_name);
    if !p.name.is_empty() {
        s += &format!("name {}  ", p.name);
    }
    s += &format!("tag {}", p.tag_hex());
    if p.gpl_compatible {
        s += "  gpl";
    }
    s += &format!("\n\tloaded_at {}  uid {}\n\txlated {}B", iso_time(p.loaded_at), p.uid, p.bytes_xlated);
    if p.jited {
        s += &format!("  jited {}B", p.bytes_jited);
    } else {
        s += "  not jited";
    }
    if let Some(m) = p.bytes_memlock {
        s += &format!("  memlock {m}B");
    }
    if !p.map_ids.is_empty() {
        s += &format!("  map_ids {}", p.map_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    }
    if p.btf_id != 0 {
        s += &format!("\n\tbtf_id {}", p.btf_id);
    }
    s
}

/// Print `list` results (a JSON array) or, with `show`, the one item (a JSON object), as
/// bpftool does; returns the exit code.
fn print_items<T>(
    items: Result<Vec<T>, KernelError>,
    json: bool,
    show: bool,
    to_json: fn(&T) -> Value,
    to_human: fn(&T) -> String,
) -> u8 {
    let items = match items {
        Ok(i) => i,
        Err(e) => return report(&e, false),
    };
    if json && show {
        for i in &items {
            outln!("{}", to_json(i));
        }
    } else if json {
        outln!("{}", Value::Array(items.iter().map(to_json).collect()));
    } else {
        for i in &items {
            outln!("{}", to_human(i));
        }
    }
    0
}

fn prog_cmd(cmd: ProgCmd) -> Result<u8, CliError> {
    match cmd {
        ProgCmd::List { json } => Ok(print_items(inspect::prog_list(), json, false, prog_json, prog_human)),
        ProgCmd::Show { prog, json } => {
            let id = parse_ref(&prog, "program")?;
            Ok(print_items(inspect::prog_info(id).map(|p| vec![p]), json, true, prog_json, prog_human))
        }
        ProgCmd::Dump { what: DumpWhat::Xlated, prog, json } => {
            let id = parse_ref(&prog, "program")?;
            let bytes = match inspect::prog_xlated(id) {
                Ok(b) => b,
                Err(e) => return Ok(report(&e, false)),
            };
            if bytes.is_empty() {
                eprintln!("bpfbox: error: the kernel gave no translated instructions for program {id} (kernel.kptr_restrict or bpf_jit_harden may hide them)");
                return Ok(1);
            }
            let lines = xlated_lines(&bytes);
            if json {
                let arr: Vec<Value> = lines.iter().map(|l| json!({"pc": l.pc, "opcode": format!("0x{:02x}", l.code), "disasm": l.text, "comment": l.comment, "raw": l.raw})).collect();
                outln!("{}", Value::Array(arr));
            } else {
                let mut s = String::new();
                for l in &lines {
                    s += &format!("{:>4}: ({:02x}) {}", l.pc, l.code, l.text);
                    if let Some(c) = &l.comment {
                        s += &format!("\t; {c}");
                    }
                    s.push('\n');
                }
                emit(&s);
            }
            Ok(0)
        }
        ProgCmd::Dump { what: DumpWhat::Jited, prog, json } => {
            let id = parse_ref(&prog, "program")?;
            let bytes = match inspect::prog_jited(id) {
                Ok(b) => b,
                Err(e) => return Ok(report(&e, false)),
            };
            if bytes.is_empty() {
                eprintln!("bpfbox: error: program {id} is not JIT-compiled (or the kernel hides its image)");
                return Ok(1);
            }
            if json {
                outln!("{}", json!({"id": id, "bytes_jited": bytes.len(), "hex": hex_plain(&bytes)}));
            } else {
                let mut s = String::new();
                for (i, chunk) in bytes.chunks(16).enumerate() {
                    s += &format!("{:>6x}:  {}\n", i * 16, hex_spaced(chunk));
                }
                emit(&s);
            }
            Ok(0)
        }
    }
}

struct XlatedLine {
    pc: usize,
    code: u8,
    text: String,
    comment: Option<String>,
    raw: String,
}

/// Disassemble the kernel's translated instructions with bpfbox's disassembler; map
/// references show their map ids and helper calls the kernel function they reach.
fn xlated_lines(bytes: &[u8]) -> Vec<XlatedLine> {
    use bpfbox_isa::insn::{CallTarget, Imm64};
    use bpfbox_isa::Insn;
    let slots = bpfbox_isa::raw::slots(bytes);
    let syms = bpfbox_kernel::sys::Kallsyms::load();
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < slots.len() {
        let raw = &slots[pc];
        let raw_hex = hex_plain(&raw.to_bytes());
        match bpfbox_isa::insn::decode_at(&slots, pc) {
            Ok(insn) => {
                let comment = match insn {
                    Insn::LoadImm64 { imm: Imm64::MapFd(id), .. } => Some(format!("map[id:{id}]")),
                    Insn::LoadImm64 { imm: Imm64::MapValue { fd, off }, .. } => Some(format!("map[id:{fd}][0]+{off}")),
                    Insn::Call(CallTarget::Helper(imm)) => syms.helper_name(imm).map(str::to_string),
                    _ => None,
                };
                out.push(XlatedLine {
                    pc,
                    code: raw.code,
                    text: bpfbox_isa::llvm::disasm_insn(&insn),
                    comment,
                    raw: raw_hex,
                });
                pc += insn.slots();
            }
            Err(e) => {
                out.push(XlatedLine {
                    pc,
                    code: raw.code,
                    text: format!(".8byte 0x{raw_hex}"),
                    comment: Some(format!("kernel-internal instruction ({e})")),
                    raw: raw_hex,
                });
                pc += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// map

fn map_json(m: &MapInfo) -> Value {
    let mut v = json!({
        "id": m.id,
        "type": m.type_name,
        "name": m.name,
        "flags": m.flags,
        "bytes_key": m.bytes_key,
        "bytes_value": m.bytes_value,
        "max_entries": m.max_entries,
    });
    if let Some(b) = m.bytes_memlock {
        v["bytes_memlock"] = json!(b);
    }
    v["frozen"] = json!(u32::from(m.frozen));
    if m.btf_id != 0 {
        v["btf_id"] = json!(m.btf_id);
    }
    v
}

fn map_human(m: &MapInfo) -> String {
    let mut s = format!("{}: {}  ", m.id, m.type_name);
    if !m.name.is_empty() {
        s += &format!("name {}  ", m.name);
    }
    s += &format!(
        "flags 0x{:x}\n\tkey {}B  value {}B  max_entries {}",
        m.flags, m.bytes_key, m.bytes_value, m.max_entries
    );
    if let Some(b) = m.bytes_memlock {
        s += &format!("  memlock {b}B");
    }
    if m.frozen {
        s += "\n\tfrozen";
    }
    if m.btf_id != 0 {
        s += &format!("\n\tbtf_id {}", m.btf_id);
    }
    s
}

/// A map's key and value types from its BTF, for decoding entries as bpftool does.
struct MapDecoder {
    btf: Btf,
    /// Type ids whose size matches the map's key/value size (`None`: print as hex).
    key: Option<u32>,
    value: Option<u32>,
}

impl MapDecoder {
    /// `None` when the map has no BTF or it cannot be parsed or does not fit the map.
    fn new(mb: Option<&MapBtf>, shape: &bpfbox_kernel::MapShape) -> Option<MapDecoder> {
        let mb = mb?;
        let btf = Btf::parse_raw(&mb.raw).ok()?;
        let fits = |id: u32, size: u32| (id != 0 && btf.resolve_size(id).ok() == Some(u64::from(size))).then_some(id);
        let key = fits(mb.key_type_id, shape.key_size);
        let value = fits(mb.value_type_id, shape.value_size);
        if key.is_none() && value.is_none() {
            return None;
        }
        Some(MapDecoder { btf, key, value })
    }

    /// The map's decoder, fetched from the kernel; hex (None) when anything fails.
    fn by_id(id: u32, shape: &bpfbox_kernel::MapShape) -> Option<MapDecoder> {
        MapDecoder::new(inspect::map_btf(id).ok().flatten().as_ref(), shape)
    }

    fn key(&self, k: &[u8]) -> Option<Value> {
        self.key.map(|id| self.btf.format_value(id, k))
    }

    fn value(&self, v: &[u8]) -> Option<Value> {
        self.value.map(|id| self.btf.format_value(id, v))
    }
}

/// One CPU's value out of a per-CPU slot.
fn cpu_value<'a>(shape: &bpfbox_kernel::MapShape, c: &'a [u8]) -> &'a [u8] {
    &c[..(shape.value_size as usize).min(c.len())]
}

/// Entries in bpftool's layouts. `values_per_cpu` splits per-CPU values. With BTF,
/// each entry also has bpftool's `formatted` object (the decoded key and value(s)).
fn entries_json(shape: &bpfbox_kernel::MapShape, entries: &[(Vec<u8>, Vec<u8>)], dec: Option<&MapDecoder>) -> Value {
    let per = per_cpu_size(shape);
    Value::Array(
        entries
            .iter()
            .map(|(k, v)| {
                let mut e = match per {
                    Some(n) => json!({
                        "key": hex_json(k),
                        "values": v.chunks(n).enumerate().map(|(cpu, c)| json!({"cpu": cpu, "value": hex_json(cpu_value(shape, c))})).collect::<Vec<_>>(),
                    }),
                    None => json!({"key": hex_json(k), "value": hex_json(v)}),
                };
                if let Some(d) = dec {
                    let mut f = serde_json::Map::new();
                    if let Some(key) = d.key(k) {
                        f.insert("key".into(), key);
                    }
                    if d.value.is_some() {
                        match per {
                            Some(n) => {
                                let vals = v.chunks(n).enumerate().map(|(cpu, c)| json!({"cpu": cpu, "value": d.value(cpu_value(shape, c))})).collect::<Vec<_>>();
                                f.insert("values".into(), Value::Array(vals));
                            }
                            None => {
                                f.insert("value".into(), d.value(v).unwrap_or(Value::Null));
                            }
                        }
                    }
                    e["formatted"] = Value::Object(f);
                }
                e
            })
            .collect(),
    )
}

fn per_cpu_size(shape: &bpfbox_kernel::MapShape) -> Option<usize> {
    if shape.is_percpu() {
        Some(((shape.value_size as usize).div_ceil(8) * 8).max(8))
    } else {
        None
    }
}

/// Entries as text: BTF-decoded keys and values as JSON where the map has BTF, hex
/// otherwise.
fn entries_human(shape: &bpfbox_kernel::MapShape, entries: &[(Vec<u8>, Vec<u8>)], dec: Option<&MapDecoder>) -> String {
    let mut s = String::new();
    let per = per_cpu_size(shape);
    let key_text = |k: &[u8]| dec.and_then(|d| d.key(k)).map(|v| v.to_string());
    let value_text = |v: &[u8]| dec.and_then(|d| d.value(v)).map_or_else(|| hex_spaced(v), |v| v.to_string());
    for (k, v) in entries {
        match per {
            Some(n) => {
                match key_text(k) {
                    Some(t) => s += &format!("key: {t}\n"),
                    None => s += &format!("key:\n{}\n", hex_spaced(k)),
                }
                for (cpu, c) in v.chunks(n).enumerate() {
                    s += &format!("value (CPU {cpu:02}): {}\n", value_text(cpu_value(shape, c)));
                }
            }
            None => s += &format!("key: {}  value: {}\n", key_text(k).unwrap_or_else(|| hex_spaced(k)), value_text(v)),
        }
    }
    let n = entries.len();
    s += &format!("Found {n} element{}\n", if n == 1 { "" } else { "s" });
    s
}

/// Bytes after an optional `hex` keyword, until one of `stop` words.
fn take_bytes<'a>(words: &'a [String], stop: &[&str]) -> Result<(Vec<u8>, &'a [String]), CliError> {
    let mut i = 0;
    if words.first().is_some_and(|w| w == "hex") {
        i = 1;
    }
    let mut text = String::new();
    while i < words.len() && !stop.contains(&words[i].as_str()) {
        text += &words[i];
        text.push(' ');
        i += 1;
    }
    let bytes = crate::parse_hex(&text)
        .map_err(|e| CliError::usage(format!("{e} (keys and values are hex bytes, e.g. `key 01 00 00 00`)")))?;
    Ok((bytes, &words[i..]))
}

/// `ID [key] [hex] BYTES...` → (id, key).
fn id_and_key(args: &[String]) -> Result<(u32, Vec<u8>), CliError> {
    let (id, rest) = split_ref(args)?;
    let rest = match rest.first() {
        Some(k) if k == "key" => &rest[1..],
        _ => rest,
    };
    let (key, tail) = take_bytes(rest, &[])?;
    if !tail.is_empty() {
        return Err(CliError::usage(format!("unexpected `{}`", tail.join(" "))));
    }
    Ok((id, key))
}

fn split_ref(args: &[String]) -> Result<(u32, &[String]), CliError> {
    match args.first().map(String::as_str) {
        Some("id") | Some("pinned") if args.len() >= 2 => Ok((parse_ref(&args[..2], "map")?, &args[2..])),
        Some(_) => Ok((parse_ref(&args[..1], "map")?, &args[1..])),
        None => Err(CliError::usage("expected a map id")),
    }
}

fn map_cmd(cmd: MapCmd) -> Result<u8, CliError> {
    match cmd {
        MapCmd::List { json } => Ok(print_items(inspect::map_list(), json, false, map_json, map_human)),
        MapCmd::Show { map, json } => {
            let id = parse_ref(&map, "map")?;
            Ok(print_items(inspect::map_info(id).map(|m| vec![m]), json, true, map_json, map_human))
        }
        MapCmd::Dump { map, json } => {
            let id = parse_ref(&map, "map")?;
            let (shape, entries) = match inspect::map_entries(id) {
                Ok(x) => x,
                Err(e) => return Ok(report(&e, false)),
            };
            let dec = MapDecoder::by_id(id, &shape);
            if json {
                outln!("{}", entries_json(&shape, &entries, dec.as_ref()));
            } else {
                emit(&entries_human(&shape, &entries, dec.as_ref()));
            }
            Ok(0)
        }
        MapCmd::Lookup { args, json } => {
            let (id, key) = id_and_key(&args)?;
            match inspect::map_lookup(id, &key) {
                Ok(Some(v)) => {
                    let shape = match inspect::map_entries(id) {
                        Ok((s, _)) => s,
                        Err(e) => return Ok(report(&e, false)),
                    };
                    let one = [(key, v)];
                    let dec = MapDecoder::by_id(id, &shape);
                    if json {
                        let arr = entries_json(&shape, &one, dec.as_ref());
                        outln!("{}", arr.get(0).cloned().unwrap_or(Value::Null));
                    } else {
                        let s = entries_human(&shape, &one, dec.as_ref());
                        emit(
                            s.lines()
                                .filter(|l| !l.starts_with("Found "))
                                .map(|l| format!("{l}\n"))
                                .collect::<String>()
                                .as_str(),
                        );
                    }
                    Ok(0)
                }
                Ok(None) => {
                    eprintln!("bpfbox: error: key {} not found in map {id}", hex_spaced(&key));
                    Ok(1)
                }
                Err(e) => Ok(report(&e, false)),
            }
        }
        MapCmd::Update { args } => {
            let (id, rest) = split_ref(&args)?;
            let usage = || CliError::usage("expected `map update ID key BYTES... value BYTES... [any|noexist|exist]`");
            if rest.first().map(String::as_str) != Some("key") {
                return Err(usage());
            }
            let (key, rest) = take_bytes(&rest[1..], &["value"])?;
            if rest.first().map(String::as_str) != Some("value") {
                return Err(usage());
            }
            let (value, rest) = take_bytes(&rest[1..], &["any", "noexist", "exist"])?;
            let flags = match rest {
                [] => 0,
                [f] if f == "any" => 0,
                [f] if f == "noexist" => 1,
                [f] if f == "exist" => 2,
                _ => return Err(usage()),
            };
            match inspect::map_update(id, &key, &value, flags) {
                Ok(()) => Ok(0),
                Err(e) => Ok(report(&e, false)),
            }
        }
        MapCmd::Delete { args } => {
            let (id, key) = id_and_key(&args)?;
            match inspect::map_delete(id, &key) {
                Ok(()) => Ok(0),
                Err(e) if e.errno().is_some_and(|n| n.name() == "ENOENT") => {
                    eprintln!("bpfbox: error: key {} not found in map {id}", hex_spaced(&key));
                    Ok(1)
                }
                Err(e) => Ok(report(&e, false)),
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// load

/// Load `obj`; `map_pinning` says whether the maps it declares pinned by name are
/// pinned (and reused) under /sys/fs/bpf as libbpf does it.
fn load_obj(obj: &Path, open: &OpenArgs, map_pinning: MapPinning) -> Result<Result<KernelObject, u8>, CliError> {
    let opts = open_options(open, map_pinning)?;
    Ok(KernelObject::load(obj, &opts).map_err(|e| report(&e, open.log)))
}

fn load_cmd(obj: &Path, pin: Option<&Path>, open: &OpenArgs, json: bool) -> Result<u8, CliError> {
    // Without --pin everything goes when bpfbox exits, by-name pins included.
    let map_pinning = if pin.is_some() { MapPinning::ByName } else { MapPinning::Private };
    let o = match load_obj(obj, open, map_pinning)? {
        Ok(o) => o,
        Err(code) => return Ok(code),
    };
    let pinned = match pin {
        Some(dir) => match attach::pin_object(&o, dir) {
            Ok(mut p) => {
                p.extend(o.map_pins().into_iter().map(|(_, path)| path));
                p
            }
            Err(e) => {
                // Leave nothing half-pinned behind.
                let _ = attach::detach_pinned(dir);
                return Ok(report(&e, false));
            }
        },
        None => Vec::new(),
    };
    let progs = o.programs();
    let maps = o.maps();
    if json {
        outln!(
            "{}",
            json!({
                "file": obj.display().to_string(),
                "programs": progs.iter().map(|p| json!({"name": p.name, "section": p.section, "type": p.prog_type, "id": p.id})).collect::<Vec<_>>(),
                "maps": maps.iter().map(|m| json!({"name": m.name, "type": m.map_type, "id": m.id})).collect::<Vec<_>>(),
                "pinned": pinned.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            })
        );
    } else {
        let mut s = format!("loaded {}\n", obj.display());
        for p in &progs {
            s += &format!("  prog {}  type {}  section {}  id {}\n", p.name, p.prog_type, p.section, p.id);
        }
        for m in &maps {
            s += &format!("  map {}  type {}  id {}\n", m.name, m.map_type, m.id);
        }
        if pinned.is_empty() {
            s += "not pinned: unloaded again when bpfbox exits (use --pin DIR to keep it)\n";
        } else {
            for p in &pinned {
                s += &format!("pinned {}\n", p.display());
            }
        }
        emit(&s);
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------
// attach / detach

struct AttachOpts {
    mode: Option<XdpModeArg>,
    ret: bool,
    pid: Option<i32>,
    freq: u64,
    netns: Option<String>,
    duration: Option<f64>,
    dump_maps: bool,
    pin: Option<PathBuf>,
    json: bool,
}

/// The target words as typed; names from the section are filled in after loading.
/// With `section` None (before loading), names that would come from the section are
/// left empty.
fn parse_target(words: &[String], o: &AttachOpts, section: Option<&str>) -> Result<Target, CliError> {
    let kind = words.first().map(String::as_str).unwrap_or("");
    let args = &words[1.min(words.len())..];
    let need = |n: usize, syntax: &str| -> Result<(), CliError> {
        if args.len() != n {
            return Err(CliError::usage(format!("target: expected `{syntax}`, got `{}`", words.join(" "))));
        }
        Ok(())
    };
    let direction = |s: &str, syntax: &str| {
        Direction::parse(s)
            .ok_or_else(|| CliError::usage(format!("target: `{s}` is not ingress or egress (`{syntax}`)")))
    };
    if o.mode.is_some() && kind != "xdp" {
        return Err(CliError::usage("--mode applies to xdp targets only"));
    }
    if (o.ret || o.pid.is_some()) && kind != "uprobe" && kind != "uretprobe" {
        return Err(CliError::usage("--ret and --pid apply to uprobe targets only"));
    }
    if o.netns.is_some() && kind != "xdp" && kind != "tc" {
        return Err(CliError::usage("--netns applies to xdp and tc targets only"));
    }
    Ok(match kind {
        "xdp" => {
            need(1, "xdp IFACE")?;
            let mode = match o.mode {
                None => XdpMode::Auto,
                Some(XdpModeArg::Generic) => XdpMode::Generic,
                Some(XdpModeArg::Driver) => XdpMode::Driver,
            };
            Target::Xdp { iface: args[0].clone(), mode }
        }
        "tc" => {
            need(2, "tc IFACE ingress|egress")?;
            Target::Tc { iface: args[0].clone(), direction: direction(&args[1], "tc IFACE ingress|egress")? }
        }
        "tracepoint" | "tp" => {
            let (category, name) = match args {
                [] => match section {
                    None => (String::new(), String::new()),
                    Some(section) => attach::tracepoint_from_section(section).ok_or_else(|| {
                        CliError::usage(format!("target: section `{section}` names no tracepoint; give one: `tracepoint CATEGORY:NAME`"))
                    })?,
                },
                [tp] => {
                    let (c, n) = tp.split_once(':').or_else(|| tp.split_once('/')).ok_or_else(|| CliError::usage(format!("target: tracepoint `{tp}`: expected CATEGORY:NAME, e.g. syscalls:sys_enter_openat")))?;
                    (c.to_string(), n.to_string())
                }
                _ => return Err(CliError::usage("target: expected `tracepoint [CATEGORY:NAME]`")),
            };
            Target::Tracepoint { category, name }
        }
        "raw_tracepoint" | "raw_tp" => {
            let name = match args {
                [] => match section {
                    None => String::new(),
                    Some(section) => attach::raw_tracepoint_from_section(section)
                        .ok_or_else(|| CliError::usage(format!("target: section `{section}` names no raw tracepoint; give one: `raw_tracepoint NAME`")))?,
                },
                [n] => n.clone(),
                _ => return Err(CliError::usage("target: expected `raw_tracepoint [NAME]`")),
            };
            Target::RawTracepoint { name }
        }
        "uprobe" | "uretprobe" => {
            need(1, "uprobe BINARY:SYMBOL or BINARY:0xOFFSET")?;
            let (bin, loc) = args[0].rsplit_once(':').ok_or_else(|| CliError::usage(format!("target: `{}`: expected BINARY:SYMBOL or BINARY:0xOFFSET", args[0])))?;
            if bin.is_empty() || loc.is_empty() {
                return Err(CliError::usage(format!("target: `{}`: expected BINARY:SYMBOL or BINARY:0xOFFSET", args[0])));
            }
            let location = match loc.strip_prefix("0x") {
                Some(h) => UprobeLocation::Offset(u64::from_str_radix(h, 16).map_err(|_| CliError::usage(format!("target: bad offset `{loc}`")))?),
                None => UprobeLocation::Symbol(loc.to_string()),
            };
            Target::Uprobe { binary: PathBuf::from(bin), location, ret: o.ret || kind == "uretprobe", pid: o.pid }
        }
        "perf_event" => {
            need(1, "perf_event software:cpu-clock|hardware:cycles")?;
            let event = PerfEventSpec::parse(&args[0]).map_err(|e| CliError::usage(format!("target: {e}")))?;
            if o.freq == 0 {
                return Err(CliError::usage("--freq must be at least 1"));
            }
            Target::PerfEvent { event, freq: o.freq }
        }
        "cgroup_skb" => {
            need(2, "cgroup_skb CGROUP_DIR ingress|egress")?;
            Target::CgroupSkb { cgroup: PathBuf::from(&args[0]), direction: direction(&args[1], "cgroup_skb CGROUP_DIR ingress|egress")? }
        }
        "cgroup_sock" => {
            need(1, "cgroup_sock CGROUP_DIR")?;
            Target::CgroupSock { cgroup: PathBuf::from(&args[0]) }
        }
        other => {
            return Err(CliError::usage(format!(
                "unknown target kind `{other}` (expected xdp, tc, tracepoint, raw_tracepoint, uprobe, uretprobe, perf_event, cgroup_skb or cgroup_sock)"
            )))
        }
    })
}

/// Decodes ring-buffer and perf-buffer records with the object file's BTF: a record
/// is decoded when exactly one struct with a conventional event name (`event`,
/// `event_t`, `data_t`, `*_event`, `*_event_t`, `*_data_t`) has the record's size
/// (perf records may carry up to 7 bytes of padding). Otherwise records stay hex.
struct EventDecoder {
    btf: Option<Btf>,
    /// (record length, perf?) → the struct chosen (None: none or ambiguous).
    cache: std::collections::HashMap<(usize, bool), Option<u32>>,
}

/// 2: the usual names (`event`, `event_t`, `data_t`); 1: `*_event`, `*_event_t`,
/// `*_data_t`; 0: anything else.
fn event_name_rank(name: &str) -> u8 {
    if matches!(name, "event" | "event_t" | "data_t") {
        2
    } else if name.ends_with("_event") || name.ends_with("_event_t") || name.ends_with("_data_t") {
        1
    } else {
        0
    }
}

/// The one conventionally named struct of `btf` that a `len`-byte record holds
/// (usual names first, then suffixes); `None` when there is none or several.
fn event_struct(btf: &Btf, len: usize, perf: bool) -> Option<u32> {
    let fits = |size: usize| if perf { size <= len && len - size < 8 } else { size == len };
    let cands: Vec<(u32, u8)> = btf
        .types()
        .filter(|(_, t)| t.kind == Kind::Struct && t.size() > 0 && fits(t.size() as usize))
        .map(|(id, t)| (id, event_name_rank(btf.name(t.name_off))))
        .filter(|&(_, r)| r > 0)
        .collect();
    for rank in [2, 1] {
        match cands.iter().filter(|c| c.1 == rank).collect::<Vec<_>>().as_slice() {
            [one] => return Some(one.0),
            [] => continue,
            _ => return None,
        }
    }
    None
}

impl EventDecoder {
    fn new(obj: &Path) -> EventDecoder {
        let btf = std::fs::read(obj).ok().and_then(|b| Btf::parse(&b).ok());
        EventDecoder { btf, cache: Default::default() }
    }

    fn decode(&mut self, e: &Event) -> Option<Value> {
        let btf = self.btf.as_ref()?;
        let (data, perf) = match e {
            Event::Ring { data, .. } => (data, false),
            Event::Perf { data, .. } => (data, true),
            _ => return None,
        };
        let id = (*self.cache.entry((data.len(), perf)).or_insert_with(|| event_struct(btf, data.len(), perf)))?;
        Some(btf.format_value(id, data))
    }
}

fn event_json(e: &Event, decoded: Option<Value>) -> Value {
    let mut v = match e {
        Event::Ring { map, data } => json!({"event": "ringbuf", "map": map, "data": hex_plain(data)}),
        Event::Perf { map, cpu, data } => json!({"event": "perf", "map": map, "cpu": cpu, "data": hex_plain(data)}),
        Event::Lost { map, cpu, count } => json!({"event": "lost", "map": map, "cpu": cpu, "count": count}),
        Event::Trace { line } => json!({"event": "trace", "line": line, "message": events::trace_message(line)}),
    };
    if let Some(d) = decoded {
        v["formatted"] = d;
    }
    v
}

fn event_human(e: &Event, decoded: Option<Value>) -> String {
    let body = |data: &[u8]| decoded.as_ref().map_or_else(|| hex_spaced(data), |d| d.to_string());
    match e {
        Event::Ring { map, data } => format!("ringbuf {map}: {}", body(data)),
        Event::Perf { map, cpu, data } => format!("perf {map} cpu {cpu}: {}", body(data)),
        Event::Lost { map, cpu, count } => format!("perf {map} cpu {cpu}: lost {count} samples"),
        Event::Trace { line } => format!("trace: {}", line.trim()),
    }
}

fn dump_maps(o: &KernelObject, json: bool) -> Result<(), KernelError> {
    let dumps = o.map_dump()?;
    for d in &dumps {
        let shape = bpfbox_kernel::MapShape {
            name: d.name.clone(),
            map_type: d.map_type,
            key_size: d.key_size,
            value_size: d.value_size,
            max_entries: d.max_entries,
        };
        let ty = bpfbox_kernel::types::map_type_name(d.map_type);
        let dec = MapDecoder::new(d.btf.as_ref(), &shape);
        let dec = dec.as_ref();
        if json {
            outln!(
                "{}",
                json!({"event": "map", "name": d.name, "type": ty, "bytes_key": d.key_size, "bytes_value": d.value_size, "max_entries": d.max_entries, "entries": entries_json(&shape, &d.entries, dec)})
            );
        } else {
            emit(&format!(
                "map {} ({ty}, key {}B, value {}B, max_entries {}):\n{}",
                d.name,
                d.key_size,
                d.value_size,
                d.max_entries,
                entries_human(&shape, &d.entries, dec)
            ));
        }
    }
    Ok(())
}

fn attach_cmd(
    obj: &Path,
    prog: Option<&str>,
    target_words: &[String],
    o: &AttachOpts,
    open: &OpenArgs,
) -> Result<u8, CliError> {
    // Usage errors first, before touching the kernel (section-derived names come later).
    parse_target(target_words, o, None)?;
    if o.pin.is_some() && target_words.first().is_some_and(|k| k == "tc") {
        return Err(CliError::usage(
            "--pin: a tc (clsact) attachment is a netlink filter, not a bpf link, and cannot be pinned",
        ));
    }
    if let Some(d) = o.duration {
        if !(d.is_finite() && d >= 0.0) {
            return Err(CliError::usage(format!("--duration {d}: expected a number of seconds")));
        }
    }
    // An attached program is deployed: its by-name pins are how user space finds its maps.
    let obj_loaded = match load_obj(obj, open, MapPinning::ByName)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let names = obj_loaded.program_names();
    let prog: &str = match (prog, names.as_slice()) {
        (Some(p), _) => p,
        (None, [only]) => only,
        (None, _) => {
            return Err(CliError::usage(format!(
                "{}: the object has several programs ({}): choose one with --prog",
                obj.display(),
                names.join(", ")
            )))
        }
    };
    let section = match obj_loaded.section_of(prog) {
        Ok(s) => s,
        Err(e) => return Ok(report(&e, false)),
    };
    let target = parse_target(target_words, o, Some(&section))?;
    bpfbox_kernel::sys::install_interrupt_handler();
    // The event readers exist before the program is attached: a perf buffer's per-CPU
    // slots are filled in when it is opened, and an event the program sends before
    // that is dropped by the kernel (bpf_perf_event_output gets -ENOENT).
    let trace = obj_loaded.calls_helpers(prog, &[6, 177]).unwrap_or(false);
    let mut stream = match EventStream::new(&obj_loaded, trace) {
        Ok(s) => s,
        Err(e) => return Ok(report(&e, false)),
    };
    let mut att = match attach::attach(&obj_loaded, prog, &target, o.netns.as_deref()) {
        Ok(a) => a,
        Err(e) => return Ok(report(&e, false)),
    };
    let mut pinned = Vec::new();
    if let Some(dir) = &o.pin {
        let r = att.pin(dir).and_then(|mut p| {
            p.extend(attach::pin_maps(&obj_loaded, dir)?);
            Ok(p)
        });
        match r {
            Ok(p) => pinned = p,
            Err(e) => {
                let _ = attach::detach_pinned(dir);
                return Ok(report(&e, false));
            }
        }
    }
    let link_ids = att.link_ids();
    if o.json {
        outln!(
            "{}",
            json!({"event": "attached", "prog": prog, "prog_id": att.prog_id(), "target": target.describe(), "link_ids": link_ids, "pinned": pinned.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()})
        );
    } else {
        let links = if link_ids.is_empty() {
            String::new()
        } else {
            format!(", link id {}", link_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","))
        };
        outln!("attached {prog} (prog id {}) to {}{links}", att.prog_id(), target.describe());
        for p in &pinned {
            outln!("pinned {}", p.display());
        }
    }
    if !o.json && !stream.sources().is_empty() {
        outln!("streaming {} (Ctrl-C to stop)", stream.sources().join(", "));
    }
    let mut decoder = EventDecoder::new(obj);
    let start = Instant::now();
    let limit = o.duration.map(Duration::from_secs_f64);
    let mut code = 0;
    // After Ctrl-C or the duration, drain what the buffers still hold (a few short
    // polls) so no submitted event is lost.
    let mut draining = 0;
    loop {
        let stopping = bpfbox_kernel::sys::interrupted() || limit.is_some_and(|l| start.elapsed() >= l);
        if stopping {
            draining += 1;
            if draining > 3 {
                break;
            }
        }
        let slice = match limit {
            _ if stopping => Duration::from_millis(20),
            Some(l) => l.saturating_sub(start.elapsed()).min(Duration::from_millis(100)),
            None => Duration::from_millis(100),
        };
        match stream.poll(slice) {
            Ok(evs) => {
                let mut s = String::new();
                for e in &evs {
                    let decoded = decoder.decode(e);
                    if o.json {
                        s += &format!("{}\n", event_json(e, decoded));
                    } else {
                        s += &format!("{}\n", event_human(e, decoded));
                    }
                }
                if !s.is_empty() {
                    emit(&s);
                }
            }
            Err(e) => {
                code = report(&e, false);
                break;
            }
        }
    }
    drop(stream);
    let detached = if pinned.is_empty() { att.detach() } else { drop_pinned(att) };
    if let Err(e) = detached {
        code = report(&e, false);
    }
    if o.json {
        outln!(
            "{}",
            json!({"event": if pinned.is_empty() { "detached" } else { "left pinned" }, "prog": prog, "elapsed_ms": start.elapsed().as_millis() as u64})
        );
    } else if pinned.is_empty() {
        outln!("detached {prog} from {}", target.describe());
    } else if let Some(dir) = &o.pin {
        outln!("left attached, pinned under {} (`bpfbox detach {}` removes it)", dir.display(), dir.display());
    }
    if o.dump_maps {
        if let Err(e) = dump_maps(&obj_loaded, o.json) {
            code = report(&e, false);
        }
    }
    Ok(code)
}

/// Close our handles of a pinned attachment; the pins keep it alive.
fn drop_pinned(att: attach::Attachment) -> Result<(), KernelError> {
    drop(att);
    Ok(())
}

fn detach_cmd(path: &Path, json: bool) -> Result<u8, CliError> {
    match attach::detach_pinned(path) {
        Ok(removed) => {
            if json {
                outln!(
                    "{}",
                    Value::Array(
                        removed
                            .iter()
                            .map(|r| json!({"path": r.path.display().to_string(), "kind": r.kind, "id": r.id}))
                            .collect()
                    )
                );
            } else {
                for r in &removed {
                    let verb = if r.kind == "link" { "detached" } else { "unpinned" };
                    outln!("{verb} {} id {} ({})", r.kind, r.id, r.path.display());
                }
            }
            Ok(0)
        }
        Err(e) => Ok(report(&e, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00+0000");
        assert_eq!(iso_time(1795548817), "2026-11-24T19:33:37+0000");
    }

    #[test]
    fn key_value_parsing() {
        let w = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(id_and_key(&w("5 key hex 01 02 03 04")).ok(), Some((5, vec![1, 2, 3, 4])));
        assert_eq!(id_and_key(&w("id 5 01020304")).ok(), Some((5, vec![1, 2, 3, 4])));
        assert!(id_and_key(&w("x 01")).is_err());
        assert!(id_and_key(&w("5 key zz")).is_err());
    }

    #[test]
    fn ring_events_decoded_with_the_objects_btf() {
        // killsnoop: struct event { u32 pid, tpid; int sig, ret; char comm[16]; } = 32 bytes.
        let obj = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/realworld/killsnoop.bpf.o");
        let mut dec = EventDecoder::new(&obj);
        let mut data = Vec::new();
        for x in [7i32, 8, 9, -3] {
            data.extend(x.to_le_bytes());
        }
        data.extend(b"kill\0\0\0\0\0\0\0\0\0\0\0\0");
        let ring = Event::Ring { map: "events".into(), data: data.clone() };
        let got = dec.decode(&ring).unwrap();
        assert_eq!(got, json!({"pid": 7, "tpid": 8, "sig": 9, "ret": -3, "comm": "kill"}));
        let j = event_json(&ring, Some(got.clone()));
        assert_eq!(j["data"], hex_plain(&data));
        assert_eq!(j["formatted"], got);
        assert_eq!(
            event_human(&ring, Some(got)),
            r#"ringbuf events: {"comm":"kill","pid":7,"ret":-3,"sig":9,"tpid":8}"#
        );
        // Perf records may carry padding; other sizes stay hex.
        let mut padded = data.clone();
        padded.extend([0u8; 4]);
        assert!(dec.decode(&Event::Perf { map: "p".into(), cpu: 0, data: padded }).is_some());
        assert!(dec.decode(&Event::Ring { map: "events".into(), data: data[..31].to_vec() }).is_none());
        assert!(event_human(&Event::Ring { map: "m".into(), data: vec![1, 2] }, None).ends_with("01 02"));
        // An object whose event struct is not in its BTF (only used through a local
        // pointer): hex.
        let obj = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/ringbuf_events.bpf.o");
        assert!(EventDecoder::new(&obj).decode(&Event::Ring { map: "events".into(), data: vec![0; 40] }).is_none());
    }
}
