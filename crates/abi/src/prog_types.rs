//! Program types and attach types (kernel `enum bpf_prog_type` / `enum bpf_attach_type`)
//! and the way libbpf 1.x derives them from an ELF section name.
//!
//! Numbers are the kernel's (`include/uapi/linux/bpf.h`, checked against a 6.18
//! kernel's BTF). [`from_section`] follows libbpf 1.x's `section_defs[]` table and its
//! matching rules (`sec_def_matches`): the first entry that matches wins, and an entry
//! matches
//! - exactly (`"xdp"`, `"tc"`, `"socket"`, `"cgroup/connect4"` ...),
//! - or, for the entries libbpf spells with a trailing `+` (`kprobe+`, `tracepoint+`,
//!   `fentry+` ...), exactly or followed by `/` and anything (`kprobe/do_unlinkat`),
//! - or, for entries ending in `/`, as a plain prefix.
//!
//! libbpf 1.0 dropped the 0.x "sloppy" prefixes (`SEC_SLOPPY_PFX`): `xdp_foo`,
//! `socket_bar` or `classifier/x` are *unknown* sections in libbpf 1.x and give
//! `None` here too. [`from_section_legacy`] implements the 0.x rules for callers that
//! want to suggest a type for such old objects.

/// `enum bpf_prog_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum ProgType {
    Unspec = 0,
    SocketFilter = 1,
    Kprobe = 2,
    SchedCls = 3,
    SchedAct = 4,
    Tracepoint = 5,
    Xdp = 6,
    PerfEvent = 7,
    CgroupSkb = 8,
    CgroupSock = 9,
    LwtIn = 10,
    LwtOut = 11,
    LwtXmit = 12,
    SockOps = 13,
    SkSkb = 14,
    CgroupDevice = 15,
    SkMsg = 16,
    RawTracepoint = 17,
    CgroupSockAddr = 18,
    LwtSeg6local = 19,
    LircMode2 = 20,
    SkReuseport = 21,
    FlowDissector = 22,
    CgroupSysctl = 23,
    RawTracepointWritable = 24,
    CgroupSockopt = 25,
    Tracing = 26,
    StructOps = 27,
    Ext = 28,
    Lsm = 29,
    SkLookup = 30,
    Syscall = 31,
    Netfilter = 32,
}

impl ProgType {
    /// Every program type, in number order.
    pub const ALL: [ProgType; 33] = [
        ProgType::Unspec,
        ProgType::SocketFilter,
        ProgType::Kprobe,
        ProgType::SchedCls,
        ProgType::SchedAct,
        ProgType::Tracepoint,
        ProgType::Xdp,
        ProgType::PerfEvent,
        ProgType::CgroupSkb,
        ProgType::CgroupSock,
        ProgType::LwtIn,
        ProgType::LwtOut,
        ProgType::LwtXmit,
        ProgType::SockOps,
        ProgType::SkSkb,
        ProgType::CgroupDevice,
        ProgType::SkMsg,
        ProgType::RawTracepoint,
        ProgType::CgroupSockAddr,
        ProgType::LwtSeg6local,
        ProgType::LircMode2,
        ProgType::SkReuseport,
        ProgType::FlowDissector,
        ProgType::CgroupSysctl,
        ProgType::RawTracepointWritable,
        ProgType::CgroupSockopt,
        ProgType::Tracing,
        ProgType::StructOps,
        ProgType::Ext,
        ProgType::Lsm,
        ProgType::SkLookup,
        ProgType::Syscall,
        ProgType::Netfilter,
    ];

    /// The kernel number.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The type with kernel number `n`.
    pub fn from_number(n: u32) -> Option<ProgType> {
        ProgType::ALL.get(n as usize).copied()
    }

    /// libbpf's name (`libbpf_bpf_prog_type_str`, as bpftool prints it): `xdp`,
    /// `sched_cls`, `socket_filter`, `raw_tracepoint_writable` ...
    pub fn name(self) -> &'static str {
        match self {
            ProgType::Unspec => "unspec",
            ProgType::SocketFilter => "socket_filter",
            ProgType::Kprobe => "kprobe",
            ProgType::SchedCls => "sched_cls",
            ProgType::SchedAct => "sched_act",
            ProgType::Tracepoint => "tracepoint",
            ProgType::Xdp => "xdp",
            ProgType::PerfEvent => "perf_event",
            ProgType::CgroupSkb => "cgroup_skb",
            ProgType::CgroupSock => "cgroup_sock",
            ProgType::LwtIn => "lwt_in",
            ProgType::LwtOut => "lwt_out",
            ProgType::LwtXmit => "lwt_xmit",
            ProgType::SockOps => "sock_ops",
            ProgType::SkSkb => "sk_skb",
            ProgType::CgroupDevice => "cgroup_device",
            ProgType::SkMsg => "sk_msg",
            ProgType::RawTracepoint => "raw_tracepoint",
            ProgType::CgroupSockAddr => "cgroup_sock_addr",
            ProgType::LwtSeg6local => "lwt_seg6local",
            ProgType::LircMode2 => "lirc_mode2",
            ProgType::SkReuseport => "sk_reuseport",
            ProgType::FlowDissector => "flow_dissector",
            ProgType::CgroupSysctl => "cgroup_sysctl",
            ProgType::RawTracepointWritable => "raw_tracepoint_writable",
            ProgType::CgroupSockopt => "cgroup_sockopt",
            ProgType::Tracing => "tracing",
            ProgType::StructOps => "struct_ops",
            ProgType::Ext => "ext",
            ProgType::Lsm => "lsm",
            ProgType::SkLookup => "sk_lookup",
            ProgType::Syscall => "syscall",
            ProgType::Netfilter => "netfilter",
        }
    }

    /// A type from what a user may type after `--type`: libbpf's type name
    /// (`sched_cls`, `socket_filter`), a section name libbpf knows (`tc`, `socket`,
    /// `kprobe/foo`), or a kernel number.
    pub fn from_name(s: &str) -> Option<ProgType> {
        if let Some(t) = ProgType::ALL.iter().copied().find(|t| t.name() == s) {
            return Some(t);
        }
        if let Some(def) = from_section(s) {
            return Some(def.prog_type);
        }
        s.parse::<u32>().ok().and_then(ProgType::from_number)
    }
}

impl std::fmt::Display for ProgType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `enum bpf_attach_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum AttachType {
    CgroupInetIngress = 0,
    CgroupInetEgress = 1,
    CgroupInetSockCreate = 2,
    CgroupSockOps = 3,
    SkSkbStreamParser = 4,
    SkSkbStreamVerdict = 5,
    CgroupDevice = 6,
    SkMsgVerdict = 7,
    CgroupInet4Bind = 8,
    CgroupInet6Bind = 9,
    CgroupInet4Connect = 10,
    CgroupInet6Connect = 11,
    CgroupInet4PostBind = 12,
    CgroupInet6PostBind = 13,
    CgroupUdp4Sendmsg = 14,
    CgroupUdp6Sendmsg = 15,
    LircMode2 = 16,
    FlowDissector = 17,
    CgroupSysctl = 18,
    CgroupUdp4Recvmsg = 19,
    CgroupUdp6Recvmsg = 20,
    CgroupGetsockopt = 21,
    CgroupSetsockopt = 22,
    TraceRawTp = 23,
    TraceFentry = 24,
    TraceFexit = 25,
    ModifyReturn = 26,
    LsmMac = 27,
    TraceIter = 28,
    CgroupInet4Getpeername = 29,
    CgroupInet6Getpeername = 30,
    CgroupInet4Getsockname = 31,
    CgroupInet6Getsockname = 32,
    XdpDevmap = 33,
    CgroupInetSockRelease = 34,
    XdpCpumap = 35,
    SkLookup = 36,
    Xdp = 37,
    SkSkbVerdict = 38,
    SkReuseportSelect = 39,
    SkReuseportSelectOrMigrate = 40,
    PerfEvent = 41,
    TraceKprobeMulti = 42,
    LsmCgroup = 43,
    StructOps = 44,
    Netfilter = 45,
    TcxIngress = 46,
    TcxEgress = 47,
    TraceUprobeMulti = 48,
    CgroupUnixConnect = 49,
    CgroupUnixSendmsg = 50,
    CgroupUnixRecvmsg = 51,
    CgroupUnixGetpeername = 52,
    CgroupUnixGetsockname = 53,
    NetkitPrimary = 54,
    NetkitPeer = 55,
    TraceKprobeSession = 56,
    TraceUprobeSession = 57,
    TraceFsession = 58,
}

impl AttachType {
    /// Every attach type, in number order.
    pub const ALL: [AttachType; 59] = {
        use AttachType::*;
        [
            CgroupInetIngress,
            CgroupInetEgress,
            CgroupInetSockCreate,
            CgroupSockOps,
            SkSkbStreamParser,
            SkSkbStreamVerdict,
            CgroupDevice,
            SkMsgVerdict,
            CgroupInet4Bind,
            CgroupInet6Bind,
            CgroupInet4Connect,
            CgroupInet6Connect,
            CgroupInet4PostBind,
            CgroupInet6PostBind,
            CgroupUdp4Sendmsg,
            CgroupUdp6Sendmsg,
            LircMode2,
            FlowDissector,
            CgroupSysctl,
            CgroupUdp4Recvmsg,
            CgroupUdp6Recvmsg,
            CgroupGetsockopt,
            CgroupSetsockopt,
            TraceRawTp,
            TraceFentry,
            TraceFexit,
            ModifyReturn,
            LsmMac,
            TraceIter,
            CgroupInet4Getpeername,
            CgroupInet6Getpeername,
            CgroupInet4Getsockname,
            CgroupInet6Getsockname,
            XdpDevmap,
            CgroupInetSockRelease,
            XdpCpumap,
            SkLookup,
            Xdp,
            SkSkbVerdict,
            SkReuseportSelect,
            SkReuseportSelectOrMigrate,
            PerfEvent,
            TraceKprobeMulti,
            LsmCgroup,
            StructOps,
            Netfilter,
            TcxIngress,
            TcxEgress,
            TraceUprobeMulti,
            CgroupUnixConnect,
            CgroupUnixSendmsg,
            CgroupUnixRecvmsg,
            CgroupUnixGetpeername,
            CgroupUnixGetsockname,
            NetkitPrimary,
            NetkitPeer,
            TraceKprobeSession,
            TraceUprobeSession,
            TraceFsession,
        ]
    };

    /// The kernel number.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The attach type with kernel number `n`.
    pub fn from_number(n: u32) -> Option<AttachType> {
        AttachType::ALL.get(n as usize).copied()
    }
}

/// What libbpf derives from a program's section name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SectionDef {
    pub prog_type: ProgType,
    /// The expected attach type libbpf passes to `BPF_PROG_LOAD` (`None` where the
    /// table has 0 and the type does not use one).
    pub expected_attach_type: Option<AttachType>,
    /// What follows the section's `type/` prefix, for sections that name their
    /// target: `syscalls/sys_enter_openat` for `tracepoint/syscalls/sys_enter_openat`,
    /// `do_unlinkat` for `kprobe/do_unlinkat`, `task` for `iter/task`.
    pub attach_target: Option<String>,
    /// `SEC_SLEEPABLE`: `uprobe.s`, `fentry.s`, `lsm.s`, `iter.s`, `syscall` ...
    pub sleepable: bool,
}

/// How a table entry matches a section name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// The whole name.
    Exact,
    /// libbpf's `type+`: `type` alone or `type/anything`.
    Plus,
}

struct Def {
    sec: &'static str,
    how: Match,
    prog_type: ProgType,
    attach: Option<AttachType>,
    sleepable: bool,
    /// Part of the 0.x `SEC_SLOPPY_PFX` set (plain prefix match in legacy mode).
    sloppy: bool,
}

const fn def(sec: &'static str, how: Match, prog_type: ProgType, attach: Option<AttachType>) -> Def {
    Def { sec, how, prog_type, attach, sleepable: false, sloppy: false }
}
const fn sleepable(d: Def) -> Def {
    Def { sleepable: true, ..d }
}
const fn sloppy(d: Def) -> Def {
    Def { sloppy: true, ..d }
}

/// libbpf 1.x `section_defs[]`, in its order (the first match wins).
static DEFS: &[Def] = {
    use AttachType as A;
    use Match::{Exact as E, Plus as P};
    use ProgType as T;
    &[
        sloppy(def("socket", E, T::SocketFilter, None)),
        sloppy(def("sk_reuseport/migrate", E, T::SkReuseport, Some(A::SkReuseportSelectOrMigrate))),
        sloppy(def("sk_reuseport", E, T::SkReuseport, Some(A::SkReuseportSelect))),
        def("kprobe", P, T::Kprobe, None),
        def("uprobe", P, T::Kprobe, None),
        sleepable(def("uprobe.s", P, T::Kprobe, None)),
        def("kretprobe", P, T::Kprobe, None),
        def("uretprobe", P, T::Kprobe, None),
        sleepable(def("uretprobe.s", P, T::Kprobe, None)),
        def("kprobe.multi", P, T::Kprobe, Some(A::TraceKprobeMulti)),
        def("kretprobe.multi", P, T::Kprobe, Some(A::TraceKprobeMulti)),
        def("kprobe.session", P, T::Kprobe, Some(A::TraceKprobeSession)),
        def("uprobe.multi", P, T::Kprobe, Some(A::TraceUprobeMulti)),
        def("uretprobe.multi", P, T::Kprobe, Some(A::TraceUprobeMulti)),
        def("uprobe.session", P, T::Kprobe, Some(A::TraceUprobeSession)),
        sleepable(def("uprobe.multi.s", P, T::Kprobe, Some(A::TraceUprobeMulti))),
        sleepable(def("uretprobe.multi.s", P, T::Kprobe, Some(A::TraceUprobeMulti))),
        sleepable(def("uprobe.session.s", P, T::Kprobe, Some(A::TraceUprobeSession))),
        def("ksyscall", P, T::Kprobe, None),
        def("kretsyscall", P, T::Kprobe, None),
        def("usdt", P, T::Kprobe, None),
        sleepable(def("usdt.s", P, T::Kprobe, None)),
        def("tc/ingress", E, T::SchedCls, Some(A::TcxIngress)),
        def("tc/egress", E, T::SchedCls, Some(A::TcxEgress)),
        def("tcx/ingress", E, T::SchedCls, Some(A::TcxIngress)),
        def("tcx/egress", E, T::SchedCls, Some(A::TcxEgress)),
        def("tc", E, T::SchedCls, None),
        sloppy(def("classifier", E, T::SchedCls, None)),
        sloppy(def("action", E, T::SchedAct, None)),
        def("netkit/primary", E, T::SchedCls, Some(A::NetkitPrimary)),
        def("netkit/peer", E, T::SchedCls, Some(A::NetkitPeer)),
        def("tracepoint", P, T::Tracepoint, None),
        def("tp", P, T::Tracepoint, None),
        def("raw_tracepoint", P, T::RawTracepoint, None),
        def("raw_tp", P, T::RawTracepoint, None),
        def("raw_tracepoint.w", P, T::RawTracepointWritable, None),
        def("raw_tp.w", P, T::RawTracepointWritable, None),
        def("tp_btf", P, T::Tracing, Some(A::TraceRawTp)),
        def("fentry", P, T::Tracing, Some(A::TraceFentry)),
        def("fmod_ret", P, T::Tracing, Some(A::ModifyReturn)),
        def("fexit", P, T::Tracing, Some(A::TraceFexit)),
        sleepable(def("fentry.s", P, T::Tracing, Some(A::TraceFentry))),
        sleepable(def("fmod_ret.s", P, T::Tracing, Some(A::ModifyReturn))),
        sleepable(def("fexit.s", P, T::Tracing, Some(A::TraceFexit))),
        def("fsession", P, T::Tracing, Some(A::TraceFsession)),
        sleepable(def("fsession.s", P, T::Tracing, Some(A::TraceFsession))),
        def("freplace", P, T::Ext, None),
        def("lsm", P, T::Lsm, Some(A::LsmMac)),
        sleepable(def("lsm.s", P, T::Lsm, Some(A::LsmMac))),
        def("lsm_cgroup", P, T::Lsm, Some(A::LsmCgroup)),
        def("iter", P, T::Tracing, Some(A::TraceIter)),
        sleepable(def("iter.s", P, T::Tracing, Some(A::TraceIter))),
        sleepable(def("syscall", E, T::Syscall, None)),
        def("xdp.frags/devmap", E, T::Xdp, Some(A::XdpDevmap)),
        def("xdp/devmap", E, T::Xdp, Some(A::XdpDevmap)),
        def("xdp.frags/cpumap", E, T::Xdp, Some(A::XdpCpumap)),
        def("xdp/cpumap", E, T::Xdp, Some(A::XdpCpumap)),
        def("xdp.frags", E, T::Xdp, Some(A::Xdp)),
        sloppy(def("xdp", E, T::Xdp, Some(A::Xdp))),
        sloppy(def("perf_event", E, T::PerfEvent, None)),
        sloppy(def("lwt_in", E, T::LwtIn, None)),
        sloppy(def("lwt_out", E, T::LwtOut, None)),
        sloppy(def("lwt_xmit", E, T::LwtXmit, None)),
        sloppy(def("lwt_seg6local", E, T::LwtSeg6local, None)),
        sloppy(def("sockops", E, T::SockOps, Some(A::CgroupSockOps))),
        sloppy(def("sk_skb/stream_parser", E, T::SkSkb, Some(A::SkSkbStreamParser))),
        sloppy(def("sk_skb/stream_verdict", E, T::SkSkb, Some(A::SkSkbStreamVerdict))),
        def("sk_skb/verdict", E, T::SkSkb, Some(A::SkSkbVerdict)),
        sloppy(def("sk_skb", E, T::SkSkb, None)),
        sloppy(def("sk_msg", E, T::SkMsg, Some(A::SkMsgVerdict))),
        sloppy(def("lirc_mode2", E, T::LircMode2, Some(A::LircMode2))),
        sloppy(def("flow_dissector", E, T::FlowDissector, Some(A::FlowDissector))),
        sloppy(def("cgroup_skb/ingress", E, T::CgroupSkb, Some(A::CgroupInetIngress))),
        sloppy(def("cgroup_skb/egress", E, T::CgroupSkb, Some(A::CgroupInetEgress))),
        sloppy(def("cgroup/skb", E, T::CgroupSkb, None)),
        sloppy(def("cgroup/sock_create", E, T::CgroupSock, Some(A::CgroupInetSockCreate))),
        sloppy(def("cgroup/sock_release", E, T::CgroupSock, Some(A::CgroupInetSockRelease))),
        sloppy(def("cgroup/sock", E, T::CgroupSock, Some(A::CgroupInetSockCreate))),
        sloppy(def("cgroup/post_bind4", E, T::CgroupSock, Some(A::CgroupInet4PostBind))),
        sloppy(def("cgroup/post_bind6", E, T::CgroupSock, Some(A::CgroupInet6PostBind))),
        sloppy(def("cgroup/bind4", E, T::CgroupSockAddr, Some(A::CgroupInet4Bind))),
        sloppy(def("cgroup/bind6", E, T::CgroupSockAddr, Some(A::CgroupInet6Bind))),
        sloppy(def("cgroup/connect4", E, T::CgroupSockAddr, Some(A::CgroupInet4Connect))),
        sloppy(def("cgroup/connect6", E, T::CgroupSockAddr, Some(A::CgroupInet6Connect))),
        def("cgroup/connect_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixConnect)),
        sloppy(def("cgroup/sendmsg4", E, T::CgroupSockAddr, Some(A::CgroupUdp4Sendmsg))),
        sloppy(def("cgroup/sendmsg6", E, T::CgroupSockAddr, Some(A::CgroupUdp6Sendmsg))),
        def("cgroup/sendmsg_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixSendmsg)),
        sloppy(def("cgroup/recvmsg4", E, T::CgroupSockAddr, Some(A::CgroupUdp4Recvmsg))),
        sloppy(def("cgroup/recvmsg6", E, T::CgroupSockAddr, Some(A::CgroupUdp6Recvmsg))),
        def("cgroup/recvmsg_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixRecvmsg)),
        sloppy(def("cgroup/getpeername4", E, T::CgroupSockAddr, Some(A::CgroupInet4Getpeername))),
        sloppy(def("cgroup/getpeername6", E, T::CgroupSockAddr, Some(A::CgroupInet6Getpeername))),
        def("cgroup/getpeername_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixGetpeername)),
        sloppy(def("cgroup/getsockname4", E, T::CgroupSockAddr, Some(A::CgroupInet4Getsockname))),
        sloppy(def("cgroup/getsockname6", E, T::CgroupSockAddr, Some(A::CgroupInet6Getsockname))),
        def("cgroup/getsockname_unix", E, T::CgroupSockAddr, Some(A::CgroupUnixGetsockname)),
        sloppy(def("cgroup/sysctl", E, T::CgroupSysctl, Some(A::CgroupSysctl))),
        sloppy(def("cgroup/getsockopt", E, T::CgroupSockopt, Some(A::CgroupGetsockopt))),
        sloppy(def("cgroup/setsockopt", E, T::CgroupSockopt, Some(A::CgroupSetsockopt))),
        sloppy(def("cgroup/dev", E, T::CgroupDevice, Some(A::CgroupDevice))),
        def("struct_ops", P, T::StructOps, None),
        sleepable(def("struct_ops.s", P, T::StructOps, None)),
        sloppy(def("sk_lookup", E, T::SkLookup, Some(A::SkLookup))),
        def("netfilter", E, T::Netfilter, Some(A::Netfilter)),
    ]
};

fn matches(d: &Def, sec: &str) -> bool {
    match d.how {
        Match::Exact => sec == d.sec,
        Match::Plus => match sec.strip_prefix(d.sec) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        },
    }
}

fn section_def(d: &Def, sec: &str) -> SectionDef {
    let attach_target = match d.how {
        Match::Plus => sec.strip_prefix(d.sec).and_then(|r| r.strip_prefix('/')).filter(|t| !t.is_empty()),
        Match::Exact => None,
    };
    SectionDef {
        prog_type: d.prog_type,
        expected_attach_type: d.attach,
        attach_target: attach_target.map(str::to_string),
        sleepable: d.sleepable,
    }
}

/// The program type, expected attach type and attach target libbpf 1.x gives a
/// program in section `sec`; `None` for a section libbpf does not know (libbpf then
/// leaves the type unset and the user has to set it).
///
/// A leading `?` (libbpf's "do not auto-load" marker) is ignored.
pub fn from_section(sec: &str) -> Option<SectionDef> {
    let sec = sec.strip_prefix('?').unwrap_or(sec);
    DEFS.iter().find(|d| matches(d, sec)).map(|d| section_def(d, sec))
}

/// libbpf 0.x's lookup (before `LIBBPF_STRICT_SEC_NAME` became the only mode): as
/// [`from_section`], then the entries that carried `SEC_SLOPPY_PFX` also match any
/// section that *starts* with their name (`xdp_prog`, `socket1`, `classifier_ingress`,
/// `cgroup_skb/ingress_x`), and `xdp_devmap/`, `xdp_cpumap/` are recognized.
/// bpfbox does not type programs this way; it is offered as a hint for old objects.
pub fn from_section_legacy(sec: &str) -> Option<SectionDef> {
    if let Some(d) = from_section(sec) {
        return Some(d);
    }
    let sec = sec.strip_prefix('?').unwrap_or(sec);
    if let Some(rest) = sec.strip_prefix("xdp_devmap/") {
        return Some(SectionDef {
            prog_type: ProgType::Xdp,
            expected_attach_type: Some(AttachType::XdpDevmap),
            attach_target: (!rest.is_empty()).then(|| rest.to_string()),
            sleepable: false,
        });
    }
    if let Some(rest) = sec.strip_prefix("xdp_cpumap/") {
        return Some(SectionDef {
            prog_type: ProgType::Xdp,
            expected_attach_type: Some(AttachType::XdpCpumap),
            attach_target: (!rest.is_empty()).then(|| rest.to_string()),
            sleepable: false,
        });
    }
    DEFS.iter().find(|d| d.sloppy && sec.starts_with(d.sec)).map(|d| SectionDef {
        prog_type: d.prog_type,
        expected_attach_type: d.attach,
        attach_target: None,
        sleepable: d.sleepable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttachType as A;
    use ProgType as T;

    fn check(sec: &str, t: ProgType, a: Option<AttachType>, target: Option<&str>, sleep: bool) {
        let d = from_section(sec).unwrap_or_else(|| panic!("`{sec}` not recognized"));
        assert_eq!(d.prog_type, t, "{sec}");
        assert_eq!(d.expected_attach_type, a, "{sec}");
        assert_eq!(d.attach_target.as_deref(), target, "{sec}");
        assert_eq!(d.sleepable, sleep, "{sec}");
    }

    #[test]
    fn numbers_match_the_kernel() {
        for (i, t) in ProgType::ALL.iter().enumerate() {
            assert_eq!(t.number() as usize, i);
            assert_eq!(ProgType::from_number(i as u32), Some(*t));
        }
        for (i, a) in AttachType::ALL.iter().enumerate() {
            assert_eq!(a.number() as usize, i);
        }
        assert_eq!(T::Xdp as u32, 6);
        assert_eq!(T::Tracing as u32, 26);
        assert_eq!(T::Netfilter as u32, 32);
        assert_eq!(A::Xdp as u32, 37);
        assert_eq!(A::TcxIngress as u32, 46);
        assert_eq!(A::NetkitPeer as u32, 55);
        assert_eq!(ProgType::from_number(33), None);
    }

    #[test]
    fn names() {
        assert_eq!(ProgType::from_name("sched_cls"), Some(T::SchedCls));
        assert_eq!(ProgType::from_name("socket_filter"), Some(T::SocketFilter));
        assert_eq!(ProgType::from_name("tc"), Some(T::SchedCls));
        assert_eq!(ProgType::from_name("socket"), Some(T::SocketFilter));
        assert_eq!(ProgType::from_name("kprobe/foo"), Some(T::Kprobe));
        assert_eq!(ProgType::from_name("6"), Some(T::Xdp));
        assert_eq!(ProgType::from_name("nonsense"), None);
        for t in ProgType::ALL {
            assert_eq!(ProgType::from_name(t.name()), Some(t));
        }
    }

    #[test]
    fn libbpf_section_names() {
        check("socket", T::SocketFilter, None, None, false);
        check("sk_reuseport", T::SkReuseport, Some(A::SkReuseportSelect), None, false);
        check("sk_reuseport/migrate", T::SkReuseport, Some(A::SkReuseportSelectOrMigrate), None, false);
        check("kprobe/do_unlinkat", T::Kprobe, None, Some("do_unlinkat"), false);
        check("kprobe", T::Kprobe, None, None, false);
        check("kretprobe/do_unlinkat", T::Kprobe, None, Some("do_unlinkat"), false);
        check("uprobe//bin/bash:readline", T::Kprobe, None, Some("/bin/bash:readline"), false);
        check("uprobe.s/libc.so.6:malloc", T::Kprobe, None, Some("libc.so.6:malloc"), true);
        check("uretprobe/libc.so.6:malloc", T::Kprobe, None, Some("libc.so.6:malloc"), false);
        check("kprobe.multi/tcp_*", T::Kprobe, Some(A::TraceKprobeMulti), Some("tcp_*"), false);
        check("ksyscall/openat", T::Kprobe, None, Some("openat"), false);
        check("kretsyscall/openat", T::Kprobe, None, Some("openat"), false);
        check("usdt/libc.so.6:libc:setjmp", T::Kprobe, None, Some("libc.so.6:libc:setjmp"), false);
        check("usdt", T::Kprobe, None, None, false);
        check("tc", T::SchedCls, None, None, false);
        check("tc/ingress", T::SchedCls, Some(A::TcxIngress), None, false);
        check("tc/egress", T::SchedCls, Some(A::TcxEgress), None, false);
        check("tcx/ingress", T::SchedCls, Some(A::TcxIngress), None, false);
        check("netkit/primary", T::SchedCls, Some(A::NetkitPrimary), None, false);
        check("classifier", T::SchedCls, None, None, false);
        check("action", T::SchedAct, None, None, false);
        check("tracepoint/syscalls/sys_enter_openat", T::Tracepoint, None, Some("syscalls/sys_enter_openat"), false);
        check("tp/sched/sched_switch", T::Tracepoint, None, Some("sched/sched_switch"), false);
        check("raw_tracepoint/sched_switch", T::RawTracepoint, None, Some("sched_switch"), false);
        check("raw_tp/sys_enter", T::RawTracepoint, None, Some("sys_enter"), false);
        check("raw_tracepoint.w/bpf_test_finish", T::RawTracepointWritable, None, Some("bpf_test_finish"), false);
        check("raw_tp.w/x", T::RawTracepointWritable, None, Some("x"), false);
        check("tp_btf/sched_wakeup", T::Tracing, Some(A::TraceRawTp), Some("sched_wakeup"), false);
        check("fentry/do_unlinkat", T::Tracing, Some(A::TraceFentry), Some("do_unlinkat"), false);
        check("fexit/do_unlinkat", T::Tracing, Some(A::TraceFexit), Some("do_unlinkat"), false);
        check("fentry.s/do_unlinkat", T::Tracing, Some(A::TraceFentry), Some("do_unlinkat"), true);
        check(
            "fmod_ret/bpf_modify_return_test",
            T::Tracing,
            Some(A::ModifyReturn),
            Some("bpf_modify_return_test"),
            false,
        );
        check("freplace/handle_kprobe", T::Ext, None, Some("handle_kprobe"), false);
        check("lsm/file_open", T::Lsm, Some(A::LsmMac), Some("file_open"), false);
        check("lsm.s/bprm_committed_creds", T::Lsm, Some(A::LsmMac), Some("bprm_committed_creds"), true);
        check("lsm_cgroup/socket_bind", T::Lsm, Some(A::LsmCgroup), Some("socket_bind"), false);
        check("iter/task", T::Tracing, Some(A::TraceIter), Some("task"), false);
        check("iter.s/task_vma", T::Tracing, Some(A::TraceIter), Some("task_vma"), true);
        check("syscall", T::Syscall, None, None, true);
        check("xdp", T::Xdp, Some(A::Xdp), None, false);
        check("xdp.frags", T::Xdp, Some(A::Xdp), None, false);
        check("xdp/devmap", T::Xdp, Some(A::XdpDevmap), None, false);
        check("xdp/cpumap", T::Xdp, Some(A::XdpCpumap), None, false);
        check("xdp.frags/devmap", T::Xdp, Some(A::XdpDevmap), None, false);
        check("perf_event", T::PerfEvent, None, None, false);
        check("lwt_in", T::LwtIn, None, None, false);
        check("lwt_xmit", T::LwtXmit, None, None, false);
        check("lwt_seg6local", T::LwtSeg6local, None, None, false);
        check("cgroup_skb/ingress", T::CgroupSkb, Some(A::CgroupInetIngress), None, false);
        check("cgroup_skb/egress", T::CgroupSkb, Some(A::CgroupInetEgress), None, false);
        check("cgroup/skb", T::CgroupSkb, None, None, false);
        check("cgroup/sock", T::CgroupSock, Some(A::CgroupInetSockCreate), None, false);
        check("cgroup/sock_release", T::CgroupSock, Some(A::CgroupInetSockRelease), None, false);
        check("cgroup/connect4", T::CgroupSockAddr, Some(A::CgroupInet4Connect), None, false);
        check("cgroup/connect6", T::CgroupSockAddr, Some(A::CgroupInet6Connect), None, false);
        check("cgroup/connect_unix", T::CgroupSockAddr, Some(A::CgroupUnixConnect), None, false);
        check("cgroup/sendmsg4", T::CgroupSockAddr, Some(A::CgroupUdp4Sendmsg), None, false);
        check("cgroup/post_bind4", T::CgroupSock, Some(A::CgroupInet4PostBind), None, false);
        check("sockops", T::SockOps, Some(A::CgroupSockOps), None, false);
        check("sk_skb/stream_parser", T::SkSkb, Some(A::SkSkbStreamParser), None, false);
        check("sk_skb/stream_verdict", T::SkSkb, Some(A::SkSkbStreamVerdict), None, false);
        check("sk_skb/verdict", T::SkSkb, Some(A::SkSkbVerdict), None, false);
        check("sk_skb", T::SkSkb, None, None, false);
        check("sk_msg", T::SkMsg, Some(A::SkMsgVerdict), None, false);
        check("lirc_mode2", T::LircMode2, Some(A::LircMode2), None, false);
        check("flow_dissector", T::FlowDissector, Some(A::FlowDissector), None, false);
        check("cgroup/sysctl", T::CgroupSysctl, Some(A::CgroupSysctl), None, false);
        check("cgroup/getsockopt", T::CgroupSockopt, Some(A::CgroupGetsockopt), None, false);
        check("cgroup/setsockopt", T::CgroupSockopt, Some(A::CgroupSetsockopt), None, false);
        check("cgroup/dev", T::CgroupDevice, Some(A::CgroupDevice), None, false);
        check("struct_ops/tcp_cong_avoid", T::StructOps, None, Some("tcp_cong_avoid"), false);
        check("struct_ops.s/init", T::StructOps, None, Some("init"), true);
        check("sk_lookup", T::SkLookup, Some(A::SkLookup), None, false);
        check("netfilter", T::Netfilter, Some(A::Netfilter), None, false);
        check("?xdp", T::Xdp, Some(A::Xdp), None, false);
    }

    #[test]
    fn unknown_sections() {
        for sec in [
            "xdp_prog",     // 0.x sloppy prefix: unknown in 1.x
            "xdp/foo",      // exact-only entry
            "socket1",      //
            "classifier/x", //
            "tc/other",     //
            "kprobex",      // `kprobe+` needs `/` after the prefix
            "tracepointx/a",
            "fentry_foo",
            "iterx",
            "cgroup/unknown",
            "sk_skb/unknown",
            ".text",
            "maps",
            "",
            "?",
            "license",
        ] {
            assert_eq!(from_section(sec), None, "`{sec}` must be unknown");
        }
    }

    #[test]
    fn first_match_wins() {
        // `uprobe.s/..` is not `uprobe+` (the character after `uprobe` is `.`).
        assert!(from_section("uprobe.s/x").is_some_and(|d| d.sleepable));
        // `raw_tp.w` is not `raw_tp+`.
        assert_eq!(from_section("raw_tp.w/x").map(|d| d.prog_type), Some(T::RawTracepointWritable));
        // `lsm_cgroup/..` is not `lsm+`.
        assert_eq!(from_section("lsm_cgroup/x").and_then(|d| d.expected_attach_type), Some(A::LsmCgroup));
    }

    #[test]
    fn legacy_prefixes() {
        let d = from_section_legacy("xdp_prog").expect("xdp_ sloppy");
        assert_eq!((d.prog_type, d.expected_attach_type), (T::Xdp, Some(A::Xdp)));
        assert_eq!(from_section_legacy("socket1").map(|d| d.prog_type), Some(T::SocketFilter));
        assert_eq!(from_section_legacy("classifier_ingress").map(|d| d.prog_type), Some(T::SchedCls));
        assert_eq!(from_section_legacy("xdp_devmap/redirect").and_then(|d| d.expected_attach_type), Some(A::XdpDevmap));
        assert_eq!(from_section_legacy("tc_foo"), None, "`tc` was never sloppy");
        assert_eq!(from_section_legacy("kprobe_x"), None);
    }
}
