//! The real-world-style objects of tests/realworld (libbpf-tools, xdp-tutorial and
//! Katran styles) loaded with CO-RE against the running kernel's BTF:
//!
//! - every object loads with the expected programs and maps, calls and map
//!   references are linked, and no CO-RE relocation is left unresolved except where
//!   the kernel really lacks the field, type or enumerator (checked independently);
//! - a CO-RE oracle: every relocated offset, size, type id and enum value is
//!   recomputed from `bpftool btf dump file /sys/kernel/btf/vmlinux` output by a
//!   separate, pahole-like walker in this file, and a few well-known offsets
//!   (`task_struct->pid`, `tgid`) are checked by hand.
//!
//! Without /sys/kernel/btf/vmlinux (or bpftool, for the oracle) the tests print a
//! SKIP line and pass, unless `CI=true`, where they fail.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{check_jumps, CallTarget, Imm64, Insn};
use bpfbox_object::btf_ext::CoreReloKind;
use bpfbox_object::{load, Btf, CoreOutcome, LoadOptions, LoadedObject};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/realworld")
}

fn skip(what: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} (required when CI=true)");
    }
    println!("SKIP: {what}");
    true
}

fn vmlinux() -> Option<Arc<Btf>> {
    static B: OnceLock<Option<Arc<Btf>>> = OnceLock::new();
    B.get_or_init(|| {
        let data = std::fs::read(VMLINUX).ok()?;
        Some(Arc::new(Btf::parse(&data).expect("vmlinux BTF parses")))
    })
    .clone()
}

fn load_all(target: &Arc<Btf>) -> Vec<(String, LoadedObject)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let opts =
                LoadOptions { target_btf: Some(target.clone()), object_name: Some(name.clone()), ..Default::default() };
            let obj = load(&std::fs::read(p).unwrap(), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, obj)
        })
        .collect()
}

/// (object, programs, maps) of every object in tests/realworld.
const EXPECTED: &[(&str, usize, &[&str])] = &[
    ("bashreadline.bpf.o", 1, &["events"]),
    ("biolatency.bpf.o", 6, &["cgroup_map", "start", "hists", "biolaten.rodata", "biolaten.bss", "biolate.kconfig"]),
    ("core_kinds.bpf.o", 1, &["core_kin.bss", "core_ki.kconfig"]),
    ("execsnoop.bpf.o", 2, &["cgroup_map", "execs", "events", "execsnoo.rodata"]),
    (
        "katran_balancer.bpf.o",
        2,
        &[
            "lru_cpu0",
            "lru_cpu1",
            "lru_mapping",
            "root_array",
            "vip_map",
            "fallback_cache",
            "ch_rings",
            "reals",
            "stats",
            "ctl_array",
        ],
    ),
    ("katran_hc.bpf.o", 1, &["hc_stats_map", "hc_reals_map", "hc_ctrl_map", "hc_pckt_macs"]),
    ("killsnoop.bpf.o", 2, &["values", "rb", "killsnoo.rodata", "killsno.kconfig"]),
    ("loop_callbacks.bpf.o", 2, &["counters", "loop_cal.bss", ".rodata.cst16"]),
    ("lsm_fentry.bpf.o", 4, &["denied_names", "lsm_fent.bss", "lsm_fent.rodata"]),
    ("opensnoop.bpf.o", 4, &["start", "events", "opensnoo.rodata"]),
    ("profile.bpf.o", 1, &["stackmap", "counts", "profile.rodata"]),
    ("runqlat.bpf.o", 5, &["cgroup_map", "start", "hists", "runqlat.rodata", "runqlat.bss"]),
    ("sockfilter.bpf.o", 2, &["rb"]),
    ("sockops_rtt.bpf.o", 2, &["hists", "services", "sockops_.bss"]),
    ("syscount.bpf.o", 2, &["cgroup_map", "start", "data", "syscount.rodata"]),
    ("task_iter.bpf.o", 2, &["task_ite.rodata", "task_ite.bss", ".rodata.str1.1"]),
    ("tc_classifier.bpf.o", 5, &["nat_table", "counters"]),
    ("tc_nat64.bpf.o", 2, &["nat64_stats"]),
    ("tc_skb_misc.bpf.o", 3, &["misc_log"]),
    ("tc_tunnel_key.bpf.o", 2, &["hc_reals", "hc_seen", "hc_seen_len"]),
    ("tcp_ca.bpf.o", 4, &["tcp_ca.bss"]),
    ("tcpconnect.bpf.o", 4, &["sockets", "ipv4_count", "ipv6_count", "events", "tcpconne.rodata", "tcpconne.bss"]),
    (
        "usdt_probe.bpf.o",
        2,
        &["__bpf_usdt_specs", "__bpf_usdt_ip_to_spec_id", "usdt_pro.bss", "usdt_pro.rodata", "usdt_pr.kconfig"],
    ),
    ("vfsstat.bpf.o", 12, &["vfsstat.bss"]),
    ("xdp_dynptr_parse.bpf.o", 3, &["dp_results", "dp_flows"]),
    ("xdp_fib_fwd.bpf.o", 7, &["mtu_log", "fib_log", "fib_log_len"]),
    ("xdp_parser.bpf.o", 1, &["xdp_stats_map"]),
    ("xdp_redirect.bpf.o", 4, &["redirect_params", "tx_port", "xdp_stats_map"]),
    ("xdp_rewrite.bpf.o", 3, &[]),
    ("xdp_stats.bpf.o", 4, &["xdp_stats_map"]),
    ("xdp_stats_legacy.bpf.o", 3, &["xdp_stats_map", "pass_count"]),
    ("xdp_syn_ct.bpf.o", 2, &["ct_log", ".rodata.cst16"]),
];

#[test]
fn realworld_objects_load_with_core() {
    let Some(target) = vmlinux() else {
        skip(&format!("{VMLINUX} is absent: CO-RE objects cannot be loaded"));
        return;
    };
    let objs = load_all(&target);
    let names: Vec<&str> = objs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, EXPECTED.iter().map(|e| e.0).collect::<Vec<_>>(), "the set of objects");
    assert!(objs.len() >= 20);
    let oracle = Oracle::get();
    let (mut relos, mut poisoned) = (0, 0);
    for ((name, obj), (_, nprogs, maps)) in objs.iter().zip(EXPECTED) {
        assert_eq!(obj.programs.len(), *nprogs, "{name}: programs");
        let got: Vec<&str> = obj.maps.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(&got, maps, "{name}: maps");
        assert!(obj.license == "GPL" || obj.license == "Dual BSD/GPL", "{name}: license {}", obj.license);
        for p in &obj.programs {
            check_jumps(&p.insns).unwrap_or_else(|e| panic!("{name} {}: {e}", p.name));
            assert!(!p.line_info.is_empty(), "{name} {}: line info", p.name);
            let starts: Vec<usize> = p.func_info.iter().map(|f| f.insn_off).collect();
            for (pc, i) in p.insns.iter().enumerate() {
                match *i {
                    Insn::Call(CallTarget::Local(rel)) | Insn::LoadImm64 { imm: Imm64::Func(rel), .. } => {
                        let t = (pc as i64 + 1 + rel as i64) as usize;
                        assert!(starts.contains(&t), "{name} {}: call at {pc} lands at {t}", p.name);
                    }
                    Insn::LoadImm64 { imm: Imm64::MapIdx(m) | Imm64::MapIdxValue { idx: m, .. }, .. } => {
                        assert!((m as usize) < obj.maps.len(), "{name} {}: map {m}", p.name)
                    }
                    _ => {}
                }
            }
            for r in &p.core_relos {
                relos += 1;
                match &r.outcome {
                    CoreOutcome::Patched { .. } => {}
                    CoreOutcome::Poisoned => {
                        poisoned += 1;
                        // Only where the kernel really lacks what the program asks for.
                        if let Some(o) = oracle {
                            assert!(
                                !o.path_exists(&r.local),
                                "{name} {}: relocation at {} on `{}` poisoned, but the kernel has it",
                                p.name,
                                r.insn,
                                r.local
                            );
                        }
                        assert!(
                            matches!(p.insns[r.insn], Insn::Call(CallTarget::Helper(0xbad2310))),
                            "{name}: poisoned instruction"
                        );
                    }
                    CoreOutcome::Failed(why) => panic!("{name} {}: relocation at {} failed: {why}", p.name, r.insn),
                }
            }
        }
    }
    println!("{} objects, {relos} CO-RE relocations, {poisoned} poisoned where the kernel lacks the field", objs.len());
    assert!(relos > 100);
}

// --- the oracle: bpftool's dump, walked independently ---------------------------

#[derive(Debug, Default, Clone)]
struct OType {
    kind: String,
    name: String,
    size: Option<u64>,
    type_id: Option<u32>,
    nelems: Option<u64>,
    /// (name, type_id, bits_offset, bitfield_size) or, for enums, (name, 0, value, 0).
    members: Vec<(String, u32, u64, u64)>,
}

struct Oracle {
    types: HashMap<u32, OType>,
    by_name: HashMap<String, Vec<u32>>,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|t| t.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

impl Oracle {
    fn get() -> Option<&'static Oracle> {
        static O: OnceLock<Option<Oracle>> = OnceLock::new();
        O.get_or_init(|| {
            let out = std::process::Command::new("bpftool").args(["btf", "dump", "file", VMLINUX]).output().ok()?;
            if !out.status.success() {
                return None;
            }
            Some(Oracle::parse(&String::from_utf8_lossy(&out.stdout)))
        })
        .as_ref()
    }

    /// bpftool's raw format: `[id] KIND 'name' key=value...`, members on tab-indented
    /// lines `'name' type_id=N bits_offset=N [bitfield_size=N]` or `'NAME' val=N`.
    fn parse(text: &str) -> Oracle {
        let mut types = HashMap::new();
        let mut cur: Option<(u32, OType)> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix('[') {
                if let Some((id, t)) = cur.take() {
                    types.insert(id, t);
                }
                let (id, rest) = rest.split_once("] ").unwrap();
                let (kind, rest) = rest.split_once(' ').unwrap();
                let name = rest.split('\'').nth(1).unwrap_or("").to_string();
                let t = OType {
                    kind: kind.to_string(),
                    name: if name == "(anon)" { String::new() } else { name },
                    size: field(rest, "size").and_then(|v| v.parse().ok()),
                    type_id: field(rest, "type_id").and_then(|v| v.parse().ok()),
                    nelems: field(rest, "nr_elems").and_then(|v| v.parse().ok()),
                    members: Vec::new(),
                };
                cur = Some((id.parse().unwrap(), t));
            } else if let Some(m) = line.strip_prefix('\t') {
                let Some((_, t)) = cur.as_mut() else { continue };
                let name = m.split('\'').nth(1).unwrap_or("").to_string();
                let name = if name == "(anon)" { String::new() } else { name };
                if let Some(v) = field(m, "val") {
                    let v = v.parse::<i64>().map(|v| v as u64).or_else(|_| v.parse::<u64>()).unwrap_or(0);
                    t.members.push((name, 0, v, 0));
                } else {
                    let tid = field(m, "type_id").and_then(|v| v.parse().ok()).unwrap_or(0);
                    let off = field(m, "bits_offset").and_then(|v| v.parse().ok()).unwrap_or(0);
                    let bf = field(m, "bitfield_size").and_then(|v| v.parse().ok()).unwrap_or(0);
                    t.members.push((name, tid, off, bf));
                }
            }
        }
        if let Some((id, t)) = cur {
            types.insert(id, t);
        }
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
        for (id, t) in &types {
            if !t.name.is_empty() {
                by_name.entry(t.name.clone()).or_default().push(*id);
            }
        }
        for v in by_name.values_mut() {
            v.sort();
        }
        Oracle { types, by_name }
    }

    fn strip(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.types.get(&id) {
                Some(t) if matches!(t.kind.as_str(), "TYPEDEF" | "CONST" | "VOLATILE" | "RESTRICT" | "TYPE_TAG") => {
                    id = t.type_id.unwrap_or(0)
                }
                _ => return id,
            }
        }
        id
    }

    fn size(&self, id: u32) -> u64 {
        let id = self.strip(id);
        let t = &self.types[&id];
        match t.kind.as_str() {
            "PTR" => 8,
            "ARRAY" => t.nelems.unwrap() * self.size(t.type_id.unwrap()),
            _ => t.size.unwrap(),
        }
    }

    /// Find member `name` in composite `id`, looking into anonymous members:
    /// (bit offset, type id, bitfield size).
    fn member(&self, id: u32, name: &str) -> Option<(u64, u32, u64)> {
        let t = self.types.get(&self.strip(id))?;
        for (mname, tid, off, bf) in &t.members {
            if mname == name {
                return Some((*off, *tid, *bf));
            }
            if mname.is_empty() {
                if let Some((o, t2, b2)) = self.member(*tid, name) {
                    return Some((off + o, t2, b2));
                }
            }
        }
        None
    }

    /// Ids of the kernel types named like `local` without its `___flavor`.
    fn roots(&self, local: &str, kinds: &[&str]) -> Vec<u32> {
        let name = match local.find("___") {
            Some(i) => &local[..i],
            None => local,
        };
        self.by_name
            .get(name)
            .map(|v| v.iter().copied().filter(|id| kinds.contains(&self.types[id].kind.as_str())).collect())
            .unwrap_or_default()
    }

    /// Walk `root.a.b[2].c` from the local access path: (byte offset, bit offset,
    /// final type, final bitfield size).
    fn walk(&self, path: &str) -> Option<(u64, u32, u64)> {
        let mut parts = path.split('.');
        let head = parts.next()?;
        let (root, idx0) = match head.split_once('[') {
            Some((r, i)) => (r, i.trim_end_matches(']').parse::<u64>().ok()?),
            None => (head, 0),
        };
        let roots = self.roots(root, &["STRUCT", "UNION"]);
        let mut found = None;
        for r in roots {
            let mut bits = idx0 * self.size(r) * 8;
            let mut ty = r;
            let mut bf = 0;
            let mut ok = true;
            for p in parts.clone() {
                let (name, idxs) = match p.find('[') {
                    Some(i) => (&p[..i], &p[i..]),
                    None => (p, ""),
                };
                match self.member(ty, name) {
                    Some((o, t, b)) => {
                        bits += o;
                        ty = t;
                        bf = b;
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
                for i in idxs.split('[').filter(|s| !s.is_empty()) {
                    let i: u64 = i.trim_end_matches(']').parse().ok()?;
                    let a = &self.types[&self.strip(ty)];
                    let elem = a.type_id?;
                    bits += i * self.size(elem) * 8;
                    ty = elem;
                    bf = 0;
                }
            }
            if ok {
                found = Some((bits, ty, bf));
                break;
            }
        }
        found
    }

    fn path_exists(&self, local: &str) -> bool {
        if let Some((ty, val)) = local.split_once("::") {
            let roots = self.roots(ty, &["ENUM", "ENUM64"]);
            let val = match val.find("___") {
                Some(i) => &val[..i],
                None => val,
            };
            return roots.iter().any(|r| self.types[r].members.iter().any(|m| m.0 == val));
        }
        if local.contains('.') || local.contains('[') {
            return self.walk(local).is_some();
        }
        !self.roots(local, &["STRUCT", "UNION", "ENUM", "ENUM64", "TYPEDEF", "INT", "FWD"]).is_empty()
    }
}

#[test]
fn core_oracle_from_bpftool() {
    let Some(target) = vmlinux() else {
        skip(&format!("{VMLINUX} is absent"));
        return;
    };
    let Some(o) = Oracle::get() else {
        skip("bpftool is not installed: no independent CO-RE oracle");
        return;
    };
    // Hand-checked: task_struct's pid and tgid, adjacent pid_t fields.
    let pid = o.walk("task_struct.pid").unwrap();
    let tgid = o.walk("task_struct.tgid").unwrap();
    assert_eq!(pid.0 % 8, 0);
    assert_eq!(tgid.0, pid.0 + 32, "tgid follows pid");
    assert_eq!(o.size(pid.1), 4);

    let objs = load_all(&target);
    let mut checked: HashMap<&'static str, usize> = HashMap::new();
    for (name, obj) in &objs {
        for p in &obj.programs {
            for r in &p.core_relos {
                let CoreOutcome::Patched { new, .. } = r.outcome else { continue };
                let what = format!("{name} {} insn {} {:?} `{}`", p.name, r.insn, r.kind, r.local);
                match r.kind {
                    CoreReloKind::FieldByteOffset => {
                        let (bits, _, bf) = o.walk(&r.local).unwrap_or_else(|| panic!("{what}: oracle cannot walk it"));
                        if bf == 0 {
                            assert_eq!(new, bits / 8, "{what}");
                            *checked.entry("byte_off").or_default() += 1;
                        } else {
                            // The containing load: aligned to the bitfield's base type.
                            assert!(new * 8 <= bits && bits + bf <= new * 8 + 64, "{what}");
                            *checked.entry("bitfield byte_off").or_default() += 1;
                        }
                    }
                    CoreReloKind::FieldByteSize => {
                        let (_, ty, bf) = o.walk(&r.local).unwrap();
                        if bf == 0 {
                            assert_eq!(new, o.size(ty), "{what}");
                            *checked.entry("byte_sz").or_default() += 1;
                        }
                    }
                    CoreReloKind::FieldExists => {
                        assert_eq!(new, o.walk(&r.local).is_some() as u64, "{what}");
                        *checked.entry("field_exists").or_default() += 1;
                    }
                    CoreReloKind::FieldLshiftU64 => {
                        let (bits, ty, bf) = o.walk(&r.local).unwrap();
                        let word = o.size(ty) * 8;
                        let byte_off = bits / word * word;
                        assert_eq!(new, 64 - (bits + bf - byte_off), "{what}");
                        *checked.entry("lshift").or_default() += 1;
                    }
                    CoreReloKind::FieldRshiftU64 => {
                        let (_, ty, bf) = o.walk(&r.local).unwrap();
                        let bits = if bf > 0 { bf } else { o.size(ty) * 8 };
                        assert_eq!(new, 64 - bits, "{what}");
                        *checked.entry("rshift").or_default() += 1;
                    }
                    CoreReloKind::TypeIdTarget => {
                        let ids = o.roots(&r.local, &["STRUCT", "UNION", "TYPEDEF", "ENUM", "ENUM64", "INT"]);
                        assert!(ids.contains(&(new as u32)), "{what}: {new} not in {ids:?}");
                        *checked.entry("target_type_id").or_default() += 1;
                    }
                    CoreReloKind::TypeSize => {
                        let ids = o.roots(&r.local, &["STRUCT", "UNION", "TYPEDEF", "ENUM", "ENUM64", "INT"]);
                        assert_eq!(new, o.size(ids[0]), "{what}");
                        *checked.entry("type_size").or_default() += 1;
                    }
                    CoreReloKind::TypeExists => {
                        assert_eq!(new, o.path_exists(&r.local) as u64, "{what}");
                        *checked.entry("type_exists").or_default() += 1;
                    }
                    CoreReloKind::EnumvalValue | CoreReloKind::EnumvalExists => {
                        let (ty, val) = r.local.split_once("::").unwrap();
                        let found = o
                            .roots(ty, &["ENUM", "ENUM64"])
                            .iter()
                            .find_map(|id| o.types[id].members.iter().find(|m| m.0 == val).map(|m| m.2));
                        if r.kind == CoreReloKind::EnumvalValue {
                            assert_eq!(Some(new), found, "{what}");
                        } else {
                            assert_eq!(new, found.is_some() as u64, "{what}");
                        }
                        *checked.entry("enumval").or_default() += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    println!("oracle-checked relocations: {checked:?}");
    for k in ["byte_off", "byte_sz", "field_exists", "lshift", "rshift", "target_type_id", "type_size", "enumval"] {
        assert!(checked.get(k).copied().unwrap_or(0) > 0, "no `{k}` relocation was checked");
    }
    assert!(checked["byte_off"] > 100);

    // The hand-checked offsets are the ones core_kinds.bpf.o was relocated to.
    let (_, ck) = objs.iter().find(|(n, _)| n == "core_kinds.bpf.o").unwrap();
    let p = &ck.programs[0];
    let patched = |local: &str| {
        p.core_relos
            .iter()
            .find_map(|r| match (r.kind, &r.outcome) {
                (CoreReloKind::FieldByteOffset, CoreOutcome::Patched { new, .. }) if r.local == local => Some(*new),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(patched("task_struct.pid"), pid.0 / 8);
    assert_eq!(patched("task_struct.tgid"), tgid.0 / 8);
}
