//! The running kernel's facts ([`KernelFacts`]), asked of the kernel itself: which
//! helpers each load configuration may call, stamped with the release and a hash of the
//! kernel's BTF.
//!
//! For every (program type, expected attach type, sleepable) configuration in
//! [`CONFIGS`] and every helper id 1..=211, the kernel loads `call N; r0 = 0; exit`
//! (license GPL, log level 1). A rejection whose log says the helper cannot be used
//! there ("program of this type cannot use helper", "unknown func", "invalid func",
//! "not allowed in probe", "might sleep in a non-sleepable prog") means *not allowed*;
//! anything else — acceptance, or a later complaint about the arguments — means
//! *allowed*. A configuration whose trivial `r0 = 0; exit` does not load (tracing, LSM,
//! struct_ops, ext need an attach BTF id, ...) gets no row; its reason is recorded.
//!
//! A whole probe is about 14,000 loads; [`running_facts`] keeps the result in a cache
//! file named after the stamp, so each kernel build is probed once.

use crate::KernelError;
use bpfbox_abi::helper_access::{insert, HelperSet, HelperTable, NotProbed, Row};
use bpfbox_abi::kernel_facts::{btf_hash, KernelFacts, KernelStamp};
use bpfbox_abi::prog_types::{AttachType as A, ProgType as T};
use bpfbox_abi::MAX_HELPER_ID;
use libbpf_rs::libbpf_sys;
use std::path::{Path, PathBuf};

/// `BPF_F_SLEEPABLE`.
const BPF_F_SLEEPABLE: u32 = 1 << 4;

/// One load configuration: program type, expected attach type, sleepable.
pub type Config = (T, Option<A>, bool);

const fn c(t: T, a: Option<A>) -> Config {
    (t, a, false)
}
const fn sleepable(t: T, a: Option<A>) -> Config {
    (t, a, true)
}

/// Every program type except `Unspec`, with the attach types libbpf's sections give it
/// (`None` where libbpf passes 0 and the kernel does not look at it).
pub const CONFIGS: &[Config] = &[
    c(T::SocketFilter, None),
    c(T::Kprobe, None),
    sleepable(T::Kprobe, None),
    c(T::Kprobe, Some(A::TraceKprobeMulti)),
    c(T::Kprobe, Some(A::TraceKprobeSession)),
    c(T::Kprobe, Some(A::TraceUprobeMulti)),
    sleepable(T::Kprobe, Some(A::TraceUprobeMulti)),
    c(T::Kprobe, Some(A::TraceUprobeSession)),
    sleepable(T::Kprobe, Some(A::TraceUprobeSession)),
    c(T::SchedCls, None),
    c(T::SchedCls, Some(A::TcxIngress)),
    c(T::SchedCls, Some(A::TcxEgress)),
    c(T::SchedCls, Some(A::NetkitPrimary)),
    c(T::SchedCls, Some(A::NetkitPeer)),
    c(T::SchedAct, None),
    c(T::Tracepoint, None),
    c(T::Xdp, Some(A::Xdp)),
    c(T::Xdp, Some(A::XdpDevmap)),
    c(T::Xdp, Some(A::XdpCpumap)),
    c(T::PerfEvent, None),
    c(T::CgroupSkb, Some(A::CgroupInetIngress)),
    c(T::CgroupSkb, Some(A::CgroupInetEgress)),
    c(T::CgroupSock, Some(A::CgroupInetSockCreate)),
    c(T::CgroupSock, Some(A::CgroupInetSockRelease)),
    c(T::CgroupSock, Some(A::CgroupInet4PostBind)),
    c(T::CgroupSock, Some(A::CgroupInet6PostBind)),
    c(T::LwtIn, None),
    c(T::LwtOut, None),
    c(T::LwtXmit, None),
    c(T::SockOps, Some(A::CgroupSockOps)),
    c(T::SkSkb, None),
    c(T::SkSkb, Some(A::SkSkbStreamParser)),
    c(T::SkSkb, Some(A::SkSkbStreamVerdict)),
    c(T::SkSkb, Some(A::SkSkbVerdict)),
    c(T::CgroupDevice, Some(A::CgroupDevice)),
    c(T::SkMsg, Some(A::SkMsgVerdict)),
    c(T::RawTracepoint, None),
    c(T::CgroupSockAddr, Some(A::CgroupInet4Bind)),
    c(T::CgroupSockAddr, Some(A::CgroupInet6Bind)),
    c(T::CgroupSockAddr, Some(A::CgroupInet4Connect)),
    c(T::CgroupSockAddr, Some(A::CgroupInet6Connect)),
    c(T::CgroupSockAddr, Some(A::CgroupUdp4Sendmsg)),
    c(T::CgroupSockAddr, Some(A::CgroupUdp6Sendmsg)),
    c(T::CgroupSockAddr, Some(A::CgroupUdp4Recvmsg)),
    c(T::CgroupSockAddr, Some(A::CgroupUdp6Recvmsg)),
    c(T::CgroupSockAddr, Some(A::CgroupInet4Getpeername)),
    c(T::CgroupSockAddr, Some(A::CgroupInet6Getpeername)),
    c(T::CgroupSockAddr, Some(A::CgroupInet4Getsockname)),
    c(T::CgroupSockAddr, Some(A::CgroupInet6Getsockname)),
    c(T::CgroupSockAddr, Some(A::CgroupUnixConnect)),
    c(T::CgroupSockAddr, Some(A::CgroupUnixSendmsg)),
    c(T::CgroupSockAddr, Some(A::CgroupUnixRecvmsg)),
    c(T::CgroupSockAddr, Some(A::CgroupUnixGetpeername)),
    c(T::CgroupSockAddr, Some(A::CgroupUnixGetsockname)),
    c(T::LwtSeg6local, None),
    c(T::LircMode2, Some(A::LircMode2)),
    c(T::SkReuseport, Some(A::SkReuseportSelect)),
    c(T::SkReuseport, Some(A::SkReuseportSelectOrMigrate)),
    c(T::FlowDissector, Some(A::FlowDissector)),
    c(T::CgroupSysctl, Some(A::CgroupSysctl)),
    c(T::RawTracepointWritable, None),
    c(T::CgroupSockopt, Some(A::CgroupGetsockopt)),
    c(T::CgroupSockopt, Some(A::CgroupSetsockopt)),
    c(T::Tracing, Some(A::TraceFentry)),
    c(T::Tracing, Some(A::TraceRawTp)),
    c(T::Tracing, Some(A::TraceIter)),
    c(T::StructOps, None),
    c(T::Ext, None),
    c(T::Lsm, Some(A::LsmMac)),
    c(T::SkLookup, Some(A::SkLookup)),
    sleepable(T::Syscall, None),
    c(T::Netfilter, Some(A::Netfilter)),
];

/// The running kernel's stamp: `uname -r` and the hash of `/sys/kernel/btf/vmlinux`
/// (`btf_hash: None` when the kernel has no BTF).
///
/// Hashing the 5 MB of BTF takes longer than verifying a small program, and the BTF
/// cannot change before the next boot: the hash is kept for the process, and in the
/// cache directory under the boot's id (`/proc/sys/kernel/random/boot_id`).
pub fn running_stamp() -> KernelStamp {
    static STAMP: std::sync::OnceLock<KernelStamp> = std::sync::OnceLock::new();
    STAMP
        .get_or_init(|| {
            let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
            let btf_hash = running_btf_hash(&release, cache_dir().as_deref());
            KernelStamp { release, btf_hash }
        })
        .clone()
}

/// The hash of `/sys/kernel/btf/vmlinux`, from `dir/btf-hash` when it was computed
/// earlier in this boot (same boot id, release and BTF size).
fn running_btf_hash(release: &str, dir: Option<&Path>) -> Option<u64> {
    const VMLINUX: &str = "/sys/kernel/btf/vmlinux";
    let size = std::fs::metadata(VMLINUX).ok()?.len();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default().trim().to_string();
    let key = format!("{boot} {release} {size}");
    let file = dir.filter(|_| !boot.is_empty()).map(|d| d.join("btf-hash"));
    if let Some(text) = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) {
        let cached = text.trim().rsplit_once(' ').filter(|(k, _)| *k == key);
        if let Some(h) = cached.and_then(|(_, h)| u64::from_str_radix(h, 16).ok()) {
            return Some(h);
        }
    }
    let hash = btf_hash(&std::fs::read(VMLINUX).ok()?);
    if let (Some(dir), Some(file)) = (dir, file) {
        // A cache that cannot be written only costs the next run another hash.
        let tmp = dir.join(format!(".btf-hash-{}.tmp", std::process::id()));
        if std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&tmp, format!("{key} {hash:016x}\n"))).is_ok() {
            let _ = std::fs::rename(&tmp, file);
        }
    }
    Some(hash)
}

/// What one load did: `Ok(())` when the kernel accepted it, else (errno, verifier log).
fn load(cfg: &Config, insns: &[libbpf_sys::bpf_insn], log: &mut [u8]) -> Result<(), (i32, String)> {
    let (t, a, s) = *cfg;
    log[0] = 0;
    let mut opts = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
        expected_attach_type: a.map_or(0, A::number),
        prog_flags: if s { BPF_F_SLEEPABLE } else { 0 },
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr().cast(),
        ..Default::default()
    };
    // SAFETY: a valid instruction array, NUL-terminated strings, and a log buffer that
    // outlives the call with its true size in `opts`.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            t.number(),
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

/// Load `call helper; r0 = 0; exit` (just `r0 = 0; exit` without a helper) as
/// configuration `cfg`: `Ok(())` when the kernel accepted it, else its errno and log.
pub fn load_call(cfg: &Config, helper: Option<u32>) -> Result<(), (i32, String)> {
    load(cfg, &program(helper, 0), &mut vec![0u8; 64 * 1024])
}

/// Whether a rejection log says the helper cannot be called from this program.
pub fn says_not_allowed(log: &str) -> bool {
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

/// How a call to helper `id` from a program of configuration `cfg` fares in the running
/// kernel: `Ok(())` when the call passes the per-program checks, `Err(log)` when the
/// kernel refuses the helper there (the log says why). `ret` is a return value the
/// hook accepts.
fn probe_one(cfg: &Config, id: u32, ret: i32, log: &mut [u8]) -> Result<(), String> {
    match load(cfg, &program(Some(id), ret), log) {
        Err((_, l)) if says_not_allowed(&l) => Err(l),
        _ => Ok(()),
    }
}

/// Ask the running kernel which helpers each configuration of [`CONFIGS`] may call.
pub fn probe_helpers() -> Result<HelperTable, KernelError> {
    crate::availability().map_err(KernelError::Unavailable)?;
    let mut log = vec![0u8; 64 * 1024];
    let mut table = HelperTable::default();
    for cfg in CONFIGS {
        let (t, a, s) = *cfg;
        // Some hooks must return 1 (cgroup recvmsg, getpeername ...), most accept 0.
        let Some(ret) = [0, 1].into_iter().find(|&r| load(cfg, &program(None, r), &mut log).is_ok()) else {
            let why = match load(cfg, &program(None, 1), &mut log) {
                Err((errno, l)) => match last_line(&l) {
                    "" => format!("errno {errno}, empty log"),
                    l => format!("errno {errno}: {l}"),
                },
                Ok(()) => "loads only sometimes".to_string(),
            };
            table.not_probed.push(NotProbed { prog_type: t, attach: a, why });
            continue;
        };
        let (mut ok, mut sleep, mut probe): (HelperSet, HelperSet, HelperSet) = Default::default();
        for id in 1..=MAX_HELPER_ID {
            match probe_one(cfg, id, ret, &mut log) {
                Ok(()) => insert(&mut ok, id),
                Err(l) if l.contains("might sleep in a non-sleepable prog") => insert(&mut sleep, id),
                Err(l) if l.contains("helper call is not allowed in probe") => insert(&mut probe, id),
                Err(_) => {}
            }
        }
        table.rows.push(Row { prog_type: t, attach: a, sleepable: s, ok, sleep, probe });
    }
    Ok(table)
}

/// Probe the running kernel's facts (see the module documentation).
pub fn probe() -> Result<KernelFacts, KernelError> {
    Ok(KernelFacts { stamp: running_stamp(), helpers: probe_helpers()? })
}

/// Where [`running_facts`] keeps probed facts: `$BPFBOX_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/bpfbox`, else `~/.cache/bpfbox`.
pub fn cache_dir() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("BPFBOX_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("bpfbox")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/bpfbox")))
}

/// The cache file for a stamp (release and BTF hash in the name).
pub fn cache_file(dir: &Path, stamp: &KernelStamp) -> PathBuf {
    let release: String =
        stamp.release.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    dir.join(format!("kernel-facts-{release}-{:016x}.facts", stamp.btf_hash.unwrap_or(0)))
}

/// Where running-kernel facts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Probed just now (and written to the cache when there is one).
    Probed,
    /// Read from the cache, probed earlier on the same kernel build.
    Cached,
}

/// The running kernel's facts: from the cache when this kernel build (release and BTF
/// hash) was probed before, else probed now and cached. `Err` when the kernel cannot be
/// asked (no bpf(), not privileged, no BTF to stamp the facts with).
pub fn running_facts(cache: Option<&Path>) -> Result<(KernelFacts, Origin), KernelError> {
    let stamp = running_stamp();
    if stamp.btf_hash.is_none() {
        return Err(KernelError::Unavailable(
            "the kernel has no BTF (/sys/kernel/btf/vmlinux) to stamp facts with".into(),
        ));
    }
    crate::availability().map_err(KernelError::Unavailable)?;
    if let Some(dir) = cache {
        let file = cache_file(dir, &stamp);
        if let Some(f) = std::fs::read_to_string(&file).ok().and_then(|t| KernelFacts::parse(&t).ok()) {
            if f.stamp == stamp {
                return Ok((f, Origin::Cached));
            }
        }
    }
    let facts = KernelFacts { stamp, helpers: probe_helpers()? };
    if let Some(dir) = cache {
        // A cache that cannot be written only costs the next run another probe.
        let tmp = dir.join(format!(".kernel-facts-{}.tmp", std::process::id()));
        let text = facts.to_text("probed by bpfbox from the running kernel");
        if std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&tmp, text)).is_ok() {
            let _ = std::fs::rename(&tmp, cache_file(dir, &facts.stamp));
        }
    }
    Ok((facts, Origin::Probed))
}
