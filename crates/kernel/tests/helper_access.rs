//! Which helpers each program type may call, asked of the running kernel: the source of
//! `crates/abi/src/helper_access/table.rs`.
//!
//! For every (program type, expected attach type, sleepable) variant below and every
//! helper id 1..=211, the kernel loads `call N; r0 = 0; exit` (license GPL, log level 1).
//! A rejection whose log says the helper cannot be used here ("program of this type
//! cannot use helper", "unknown func", "invalid func", "not allowed in probe", "might
//! sleep in a non-sleepable prog") means *not allowed*; anything else — acceptance, or a
//! later complaint about the arguments — means *allowed*. A variant whose trivial
//! `r0 = 0; exit` does not load (tracing, LSM, struct_ops, ext need an attach BTF id, ...)
//! has no table; its reason is recorded.
//!
//! `check_committed_table` regenerates the table and compares it (ignoring `//` comment
//! lines) with the committed file. To rewrite the file:
//!
//! ```text
//! BPFBOX_REGEN_HELPER_ACCESS=1 cargo test -p bpfbox-kernel --test helper_access
//! ```

mod common;

use libbpf_rs::libbpf_sys;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The highest helper id (`__BPF_FUNC_MAX_ID - 1`, as `bpfbox_abi::MAX_HELPER_ID`).
const MAX_HELPER_ID: u32 = 211;
/// `BPF_F_SLEEPABLE`.
const BPF_F_SLEEPABLE: u32 = 1 << 4;

/// One load configuration: program type and attach type by kernel number and by their
/// `bpfbox_abi::prog_types` variant names.
struct Variant {
    prog_type: (u32, &'static str),
    attach: Option<(u32, &'static str)>,
    sleepable: bool,
}

const fn v(t: u32, tn: &'static str, a: Option<(u32, &'static str)>) -> Variant {
    Variant { prog_type: (t, tn), attach: a, sleepable: false }
}
const fn sleepable(v: Variant) -> Variant {
    Variant { sleepable: true, ..v }
}

/// Every program type except `Unspec`, with the attach types libbpf's sections give it
/// (`None` where libbpf passes 0 and the kernel does not look at it).
const VARIANTS: &[Variant] = &[
    v(1, "SocketFilter", None),
    v(2, "Kprobe", None),
    sleepable(v(2, "Kprobe", None)),
    v(2, "Kprobe", Some((42, "TraceKprobeMulti"))),
    v(2, "Kprobe", Some((56, "TraceKprobeSession"))),
    v(2, "Kprobe", Some((48, "TraceUprobeMulti"))),
    sleepable(v(2, "Kprobe", Some((48, "TraceUprobeMulti")))),
    v(2, "Kprobe", Some((57, "TraceUprobeSession"))),
    sleepable(v(2, "Kprobe", Some((57, "TraceUprobeSession")))),
    v(3, "SchedCls", None),
    v(3, "SchedCls", Some((46, "TcxIngress"))),
    v(3, "SchedCls", Some((47, "TcxEgress"))),
    v(3, "SchedCls", Some((54, "NetkitPrimary"))),
    v(3, "SchedCls", Some((55, "NetkitPeer"))),
    v(4, "SchedAct", None),
    v(5, "Tracepoint", None),
    v(6, "Xdp", Some((37, "Xdp"))),
    v(6, "Xdp", Some((33, "XdpDevmap"))),
    v(6, "Xdp", Some((35, "XdpCpumap"))),
    v(7, "PerfEvent", None),
    v(8, "CgroupSkb", Some((0, "CgroupInetIngress"))),
    v(8, "CgroupSkb", Some((1, "CgroupInetEgress"))),
    v(9, "CgroupSock", Some((2, "CgroupInetSockCreate"))),
    v(9, "CgroupSock", Some((34, "CgroupInetSockRelease"))),
    v(9, "CgroupSock", Some((12, "CgroupInet4PostBind"))),
    v(9, "CgroupSock", Some((13, "CgroupInet6PostBind"))),
    v(10, "LwtIn", None),
    v(11, "LwtOut", None),
    v(12, "LwtXmit", None),
    v(13, "SockOps", Some((3, "CgroupSockOps"))),
    v(14, "SkSkb", None),
    v(14, "SkSkb", Some((4, "SkSkbStreamParser"))),
    v(14, "SkSkb", Some((5, "SkSkbStreamVerdict"))),
    v(14, "SkSkb", Some((38, "SkSkbVerdict"))),
    v(15, "CgroupDevice", Some((6, "CgroupDevice"))),
    v(16, "SkMsg", Some((7, "SkMsgVerdict"))),
    v(17, "RawTracepoint", None),
    v(18, "CgroupSockAddr", Some((8, "CgroupInet4Bind"))),
    v(18, "CgroupSockAddr", Some((9, "CgroupInet6Bind"))),
    v(18, "CgroupSockAddr", Some((10, "CgroupInet4Connect"))),
    v(18, "CgroupSockAddr", Some((11, "CgroupInet6Connect"))),
    v(18, "CgroupSockAddr", Some((14, "CgroupUdp4Sendmsg"))),
    v(18, "CgroupSockAddr", Some((15, "CgroupUdp6Sendmsg"))),
    v(18, "CgroupSockAddr", Some((19, "CgroupUdp4Recvmsg"))),
    v(18, "CgroupSockAddr", Some((20, "CgroupUdp6Recvmsg"))),
    v(18, "CgroupSockAddr", Some((29, "CgroupInet4Getpeername"))),
    v(18, "CgroupSockAddr", Some((30, "CgroupInet6Getpeername"))),
    v(18, "CgroupSockAddr", Some((31, "CgroupInet4Getsockname"))),
    v(18, "CgroupSockAddr", Some((32, "CgroupInet6Getsockname"))),
    v(18, "CgroupSockAddr", Some((49, "CgroupUnixConnect"))),
    v(18, "CgroupSockAddr", Some((50, "CgroupUnixSendmsg"))),
    v(18, "CgroupSockAddr", Some((51, "CgroupUnixRecvmsg"))),
    v(18, "CgroupSockAddr", Some((52, "CgroupUnixGetpeername"))),
    v(18, "CgroupSockAddr", Some((53, "CgroupUnixGetsockname"))),
    v(19, "LwtSeg6local", None),
    v(20, "LircMode2", Some((16, "LircMode2"))),
    v(21, "SkReuseport", Some((39, "SkReuseportSelect"))),
    v(21, "SkReuseport", Some((40, "SkReuseportSelectOrMigrate"))),
    v(22, "FlowDissector", Some((17, "FlowDissector"))),
    v(23, "CgroupSysctl", Some((18, "CgroupSysctl"))),
    v(24, "RawTracepointWritable", None),
    v(25, "CgroupSockopt", Some((21, "CgroupGetsockopt"))),
    v(25, "CgroupSockopt", Some((22, "CgroupSetsockopt"))),
    v(26, "Tracing", Some((24, "TraceFentry"))),
    v(26, "Tracing", Some((23, "TraceRawTp"))),
    v(26, "Tracing", Some((28, "TraceIter"))),
    v(27, "StructOps", None),
    v(28, "Ext", None),
    v(29, "Lsm", Some((27, "LsmMac"))),
    v(30, "SkLookup", Some((36, "SkLookup"))),
    sleepable(v(31, "Syscall", None)),
    v(32, "Netfilter", Some((45, "Netfilter"))),
];

/// What one load did: `Ok(())` when the kernel accepted it, else (errno, verifier log).
fn load(var: &Variant, insns: &[libbpf_sys::bpf_insn]) -> Result<(), (i32, String)> {
    let mut log = vec![0u8; 64 * 1024];
    let mut opts = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
        expected_attach_type: var.attach.map_or(0, |a| a.0),
        prog_flags: if var.sleepable { BPF_F_SLEEPABLE } else { 0 },
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr().cast(),
        ..Default::default()
    };
    // SAFETY: a valid instruction array, NUL-terminated strings, and a log buffer that
    // outlives the call with its true size in `opts`.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            var.prog_type.0,
            c"bpfbox_helpers".as_ptr(),
            c"GPL".as_ptr(),
            insns.as_ptr(),
            insns.len() as _,
            &mut opts,
        )
    };
    if fd >= 0 {
        // SAFETY: our own fresh fd.
        unsafe { libc::close(fd) };
        return Ok(());
    }
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    Err((-fd, String::from_utf8_lossy(&log[..end]).into_owned()))
}

fn insn(code: u8, imm: i32) -> libbpf_sys::bpf_insn {
    libbpf_sys::bpf_insn { code, imm, ..Default::default() }
}

/// `call id; r0 = ret; exit` (or just `r0 = ret; exit` without an id).
fn program(helper: Option<u32>, ret: i32) -> Vec<libbpf_sys::bpf_insn> {
    let mut v = Vec::new();
    if let Some(id) = helper {
        v.push(insn(0x85, id as i32));
    }
    v.push(insn(0xb7, ret));
    v.push(insn(0x95, 0));
    v
}

/// Whether a rejection log says the helper cannot be called from this program.
fn says_not_allowed(log: &str) -> bool {
    [
        "program of this type cannot use helper",
        "unknown func",
        "invalid func",
        "helper call is not allowed in probe",
        "might sleep in a non-sleepable prog",
    ]
    .iter()
    .any(|m| log.contains(m))
}

/// The last meaningful line of a verifier log.
fn last_line(log: &str) -> &str {
    log.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with("processed")).unwrap_or("").trim()
}

fn variant_name(var: &Variant) -> String {
    let mut s = format!("T::{}, a: ", var.prog_type.1);
    match var.attach {
        Some((_, a)) => write!(s, "Some(A::{a})"),
        None => write!(s, "None"),
    }
    .ok();
    s
}

/// `[0x.., 0, ..]`: a bitset as Rust, zero words written `0`.
fn words(w: &[u64; 4]) -> String {
    let w: Vec<String> = w.iter().map(|&x| if x == 0 { "0".to_string() } else { format!("{x:#018x}") }).collect();
    format!("[{}]", w.join(", "))
}

/// Probe the kernel and render `table.rs`.
fn generate() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut rows = String::new();
    let mut skipped = String::new();
    let mut allowed_pairs = 0;
    let mut denials = std::collections::BTreeMap::<String, usize>::new();
    let mut probed = 0;
    for var in VARIANTS {
        // Some hooks must return 1 (cgroup recvmsg, getpeername ...), most accept 0.
        let Some(ret) = [0, 1].into_iter().find(|&r| load(var, &program(None, r)).is_ok()) else {
            let (errno, log) = load(var, &program(None, 1)).expect_err("failed twice");
            let why = match last_line(&log) {
                "" => format!("errno {errno}, empty log"),
                l => format!("errno {errno}: {l}"),
            };
            let attach = var.attach.map_or(String::new(), |a| format!(" ({})", a.1));
            eprintln!("{}{attach}: not probed, {why}", var.prog_type.1);
            writeln!(skipped, "    ({}, {why:?}),", variant_name(var).replace("a: ", "")).ok();
            continue;
        };
        // ok: the call passed the helper checks; sleep / probe: the kernel has a prototype
        // but refused it as "might sleep in a non-sleepable prog" / "not allowed in probe".
        let (mut ok, mut sleep, mut probe) = ([0u64; 4], [0u64; 4], [0u64; 4]);
        for id in 1..=MAX_HELPER_ID {
            let (word, bit) = ((id / 64) as usize, 1u64 << (id % 64));
            match load(var, &program(Some(id), ret)) {
                Err((_, log)) if says_not_allowed(&log) => {
                    let line = last_line(&log);
                    *denials.entry(line.split(" helper").next().unwrap_or(line).to_string()).or_insert(0) += 1;
                    if log.contains("might sleep in a non-sleepable prog") {
                        sleep[word] |= bit;
                    } else if log.contains("helper call is not allowed in probe") {
                        probe[word] |= bit;
                    }
                }
                _ => {
                    ok[word] |= bit;
                    allowed_pairs += 1;
                }
            }
        }
        writeln!(
            rows,
            "    E {{ t: {}, s: {}, ok: {}, sleep: {}, probe: {} }},",
            variant_name(var),
            var.sleepable,
            words(&ok),
            words(&sleep),
            words(&probe)
        )
        .ok();
        probed += 1;
    }
    eprintln!("denials: {denials:?}");
    eprintln!("{probed} variants x {MAX_HELPER_ID} helpers: {allowed_pairs} allowed pairs");
    let mut out = String::new();
    out.push_str("// @generated by crates/kernel/tests/helper_access.rs from the running kernel; do not edit.\n");
    writeln!(out, "// Kernel: Linux {} (root: CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN).", release.trim()).ok();
    out.push_str("// Regenerate: BPFBOX_REGEN_HELPER_ACCESS=1 cargo test -p bpfbox-kernel --test helper_access\n");
    out.push_str("//\n");
    out.push_str("// One row per (program type, expected attach type, sleepable) load configuration. Bit\n");
    out.push_str("// `id % 64` of word `id / 64` of `ok` is set when helper `id` may be called; of `sleep`,\n");
    out.push_str("// when the kernel refused it as \"helper call might sleep in a non-sleepable prog\"; of\n");
    out.push_str("// `probe`, as \"helper call is not allowed in probe\". Clear in all three: \"program of\n");
    out.push_str("// this type cannot use helper\".\n\n");
    out.push_str("use super::E;\n");
    out.push_str("use crate::prog_types::{AttachType as A, ProgType as T};\n\n");
    out.push_str("/// The allowed helpers of every load configuration the kernel accepted.\n");
    out.push_str("#[rustfmt::skip]\n");
    out.push_str("pub(super) static TABLE: &[E] = &[\n");
    out.push_str(&rows);
    out.push_str("];\n\n");
    out.push_str("/// Program types whose trivial `r0 = 0; exit` the kernel did not load here, and why.\n");
    out.push_str("#[rustfmt::skip]\n");
    out.push_str("pub(super) static NOT_PROBED: &[(T, Option<A>, &str)] = &[\n");
    out.push_str(&skipped);
    out.push_str("];\n");
    out
}

fn table_path() -> PathBuf {
    common::repo().join("crates/abi/src/helper_access/table.rs")
}

/// The file without its comment lines (they name the kernel release).
fn data_lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim_start().starts_with("//")).collect()
}

#[test]
fn check_committed_table() {
    if !common::kernel_available() {
        return;
    }
    let generated = generate();
    let path = table_path();
    if std::env::var_os("BPFBOX_REGEN_HELPER_ACCESS").is_some() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let (g, c) = (data_lines(&generated), data_lines(&committed));
    let diffs: Vec<String> = g
        .iter()
        .zip(&c)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("kernel:    {a}\ncommitted: {b}"))
        .take(10)
        .collect();
    assert!(
        diffs.is_empty() && g.len() == c.len(),
        "the committed helper table differs from this kernel ({} vs {} lines); regenerate with \
         BPFBOX_REGEN_HELPER_ACCESS=1 cargo test -p bpfbox-kernel --test helper_access\n{}",
        g.len(),
        c.len(),
        diffs.join("\n")
    );
}

/// The classification itself, on cases whose answer is known from the kernel sources.
#[test]
fn known_cases() {
    if !common::kernel_available() {
        return;
    }
    let find = |t: u32| VARIANTS.iter().find(|v| v.prog_type.0 == t).expect("variant");
    let (xdp, cls) = (find(6), find(3));
    // bpf_skb_load_bytes#26: sched_cls yes (then complains about R2), xdp no.
    let err = load(xdp, &program(Some(26), 0)).expect_err("skb_load_bytes in xdp");
    assert!(err.1.contains("program of this type cannot use helper bpf_skb_load_bytes#26"), "{}", err.1);
    assert!(says_not_allowed(&err.1));
    let err = load(cls, &program(Some(26), 0)).expect_err("uninitialized R2");
    assert!(!says_not_allowed(&err.1), "{}", err.1);
    // bpf_ktime_get_ns#5 takes no argument: loads everywhere it is allowed.
    assert_eq!(load(xdp, &program(Some(5), 0)), Ok(()));
    assert_eq!(load(cls, &program(Some(5), 0)), Ok(()));
    // bpf_get_current_pid_tgid#14 reaches socket filters through bpf_base_func_proto.
    assert_eq!(load(find(1), &program(Some(14), 0)), Ok(()));
}
