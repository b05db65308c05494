//! Which helpers a program may call depends on its type (and sometimes its expected
//! attach type): the verifier refuses the others as the kernel does, with the kernel's
//! message, using `bpfbox_abi::helper_access` (a table generated from the kernel).

use bpfbox_abi::map_types::MapType;
use bpfbox_abi::prog_types::{AttachType, ProgType};
use bpfbox_verifier::{verify, Diagnostic, MapInfo, ProgramInput, Rule, VerifyOptions};

fn input(src: &str, prog_type: ProgType, attach: Option<AttachType>) -> ProgramInput {
    let insns = bpfbox_isa::llvm::assemble(src).unwrap_or_else(|e| panic!("bad asm: {e}\n{src}"));
    let ringbuf = MapInfo {
        name: "rb".into(),
        map_type: MapType::Ringbuf as u32,
        key_size: 0,
        value_size: 0,
        max_entries: 4096,
        frozen: false,
        map_flags: 0,
        inner: None,
        frozen_data: None,
        spin_lock_off: None,
        timer_off: None,
    };
    ProgramInput {
        name: "prog".into(),
        insns,
        prog_type,
        expected_attach_type: attach.map(AttachType::number),
        maps: vec![ringbuf],
        attach_target: None,
        sleepable: false,
        kernel_btf: None,
        funcs: vec![],
    }
}

/// The first diagnostic, if the program is rejected.
fn check(src: &str, prog_type: ProgType, attach: Option<AttachType>) -> Option<Diagnostic> {
    verify(&input(src, prog_type, attach), &VerifyOptions::default()).diagnostics.into_iter().next()
}

fn accepted(src: &str, prog_type: ProgType, attach: Option<AttachType>) {
    if let Some(d) = check(src, prog_type, attach) {
        panic!("{prog_type} {attach:?}: expected accept, got pc {}: {}\n{src}", d.pc, d.message);
    }
}

fn rejected(src: &str, prog_type: ProgType, attach: Option<AttachType>, pc: usize, message: &str) -> Diagnostic {
    let d = check(src, prog_type, attach).unwrap_or_else(|| panic!("{prog_type}: expected `{message}`, accepted"));
    assert_eq!((d.pc, d.kind, d.message.as_str()), (pc, Rule::UnknownHelper, message), "{prog_type} {attach:?}");
    d
}

/// `bpf_skb_load_bytes(ctx, 0, fp-8, 4)`.
const SKB_LOAD_BYTES: &str = "r1 = r1\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 4\ncall 26\nr0 = 0\nexit";
/// `bpf_xdp_adjust_head(ctx, 0)`.
const XDP_ADJUST_HEAD: &str = "r2 = 0\ncall 44\nr0 = 0\nexit";
/// `bpf_get_current_pid_tgid()`.
const PID_TGID: &str = "call 14\nr0 = 0\nexit";
/// `bpf_ringbuf_output(&rb, fp-8, 8, 0)`.
const RINGBUF_OUTPUT: &str =
    "r1 = 0\n*(u64 *)(r10 - 8) = r1\nld_pseudo r1, 0x5, 0x0\nr2 = r10\nr2 += -8\nr3 = 8\nr4 = 0\ncall 130\nr0 = 0\nexit";

#[test]
fn skb_load_bytes() {
    let d = rejected(
        SKB_LOAD_BYTES,
        ProgType::Xdp,
        Some(AttachType::Xdp),
        5,
        "program of this type cannot use helper bpf_skb_load_bytes#26",
    );
    let hint = d.hint.unwrap_or_default();
    assert!(hint.contains("sched_cls") && hint.contains("socket_filter"), "{hint}");
    assert!(hint.contains("bpf_xdp_load_bytes"), "{hint}");
    // Without an attach type too (every XDP variant refuses it).
    rejected(SKB_LOAD_BYTES, ProgType::Xdp, None, 5, "program of this type cannot use helper bpf_skb_load_bytes#26");
    for t in [ProgType::SchedCls, ProgType::SchedAct, ProgType::SocketFilter, ProgType::CgroupSkb] {
        accepted(SKB_LOAD_BYTES, t, None);
    }
    accepted(SKB_LOAD_BYTES, ProgType::SchedCls, Some(AttachType::TcxIngress));
}

#[test]
fn xdp_adjust_head() {
    accepted(XDP_ADJUST_HEAD, ProgType::Xdp, Some(AttachType::Xdp));
    let d = rejected(
        XDP_ADJUST_HEAD,
        ProgType::SchedCls,
        None,
        1,
        "program of this type cannot use helper bpf_xdp_adjust_head#44",
    );
    assert!(d.hint.is_some_and(|h| h.starts_with("bpf_xdp_adjust_head is available to xdp")));
}

#[test]
fn get_current_pid_tgid() {
    // Linux 6.18 gives it to every program type through bpf_base_func_proto (to a
    // privileged loader), socket filters and XDP included.
    for t in [ProgType::SocketFilter, ProgType::Xdp, ProgType::Kprobe, ProgType::SchedCls] {
        accepted(PID_TGID, t, None);
    }
}

#[test]
fn ringbuf_output_is_broadly_available() {
    for t in [
        ProgType::SocketFilter,
        ProgType::Kprobe,
        ProgType::SchedCls,
        ProgType::Xdp,
        ProgType::Tracepoint,
        ProgType::PerfEvent,
        ProgType::RawTracepoint,
        ProgType::CgroupSkb,
    ] {
        accepted(RINGBUF_OUTPUT, t, None);
    }
}

#[test]
fn attach_type_matters() {
    // bpf_bind(ctx, fp-16, 16): only from the cgroup connect hooks.
    let src =
        "r2 = 0\n*(u64 *)(r10 - 16) = r2\n*(u64 *)(r10 - 8) = r2\nr2 = r10\nr2 += -16\nr3 = 16\ncall 64\nr0 = 1\nexit";
    accepted(src, ProgType::CgroupSockAddr, Some(AttachType::CgroupInet4Connect));
    let d = rejected(
        src,
        ProgType::CgroupSockAddr,
        Some(AttachType::CgroupInet4Bind),
        6,
        "program of this type cannot use helper bpf_bind#64",
    );
    let hint = d.hint.unwrap_or_default();
    assert!(hint.contains("CgroupInet4Connect") && hint.contains("CgroupInet6Connect"), "{hint}");
    assert!(!hint.contains("CgroupInet4Bind"), "{hint}");
}

#[test]
fn sleepable_only_helpers() {
    // bpf_copy_from_user(fp-8, 8, 0): sleepable programs only.
    let src = "r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 148\nr0 = 0\nexit";
    let d = rejected(src, ProgType::Xdp, None, 4, "helper call might sleep in a non-sleepable prog");
    assert!(d.hint.is_some_and(|h| h.contains("sleepable")));
    // A kprobe only when sleepable (`uprobe.s/...`: ProgramInput::sleepable).
    rejected(src, ProgType::Kprobe, None, 4, "helper call might sleep in a non-sleepable prog");
    let mut p = input(src, ProgType::Kprobe, None);
    p.sleepable = true;
    let r = verify(&p, &VerifyOptions::default());
    assert!(r.accepted(), "{:?}", r.diagnostics);
}

#[test]
fn types_without_a_table_are_not_refused_on_this_basis() {
    // fentry/LSM programs: the kernel would not load them here, so there is no table.
    for t in [ProgType::Tracing, ProgType::Lsm] {
        if let Some(d) = check("call 5\nr0 = 0\nexit", t, None) {
            assert_ne!(d.kind, Rule::UnknownHelper, "{t}: {}", d.message);
        }
    }
}

#[test]
fn unknown_ids_keep_their_message() {
    let d = check("call 9999\nr0 = 0\nexit", ProgType::Xdp, None).expect("rejected");
    assert_eq!((d.kind, d.message.as_str()), (Rule::UnknownHelper, "invalid func unknown#9999"));
}
