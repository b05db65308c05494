//! Attaching a loaded program to a hook: xdp, tc (clsact), tracepoints, raw
//! tracepoints, uprobes, perf events, cgroups. Pins (bpffs) and detaching.

use crate::error::{Errno, KernelError};
use crate::inspect;
use crate::object::KernelObject;
use crate::sys;
use libbpf_rs::libbpf_sys;
use libbpf_rs::{AsRawLibbpf, ProgramType};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// XDP attach mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpMode {
    /// Driver mode if the driver supports XDP, generic otherwise (the kernel's choice).
    #[default]
    Auto,
    /// Generic (skb) mode: works on every interface.
    Generic,
    /// Native driver mode.
    Driver,
}

/// Which way packets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "ingress" => Some(Direction::Ingress),
            "egress" => Some(Direction::Egress),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Where in a binary a uprobe goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UprobeLocation {
    /// An ELF symbol, resolved by libbpf.
    Symbol(String),
    /// A file offset.
    Offset(u64),
    /// A USDT probe site: its file offset and its semaphore's file offset (0: none),
    /// which the kernel counts up while the probe is attached (`ref_ctr_offset`).
    Usdt { offset: u64, semaphore: u64 },
}

/// A perf event to sample on: (perf type, config), e.g. software cpu-clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerfEventSpec {
    pub type_: u32,
    pub config: u64,
    /// As the user wrote it (`software:cpu-clock`).
    pub name: String,
}

impl PerfEventSpec {
    /// `software:cpu-clock`, `software:task-clock`, `hardware:cycles`,
    /// `hardware:instructions`, ... (perf's names).
    pub fn parse(s: &str) -> Result<PerfEventSpec, KernelError> {
        let (kind, name) = s.split_once(':').ok_or_else(|| {
            KernelError::BadTarget(format!("perf event `{s}`: expected software:NAME or hardware:NAME"))
        })?;
        let sw = [
            ("cpu-clock", 0),
            ("task-clock", 1),
            ("page-faults", 2),
            ("faults", 2),
            ("context-switches", 3),
            ("cs", 3),
            ("cpu-migrations", 4),
            ("migrations", 4),
            ("minor-faults", 5),
            ("major-faults", 6),
            ("alignment-faults", 7),
            ("emulation-faults", 8),
            ("dummy", 9),
            ("bpf-output", 10),
        ];
        let hw = [
            ("cycles", 0),
            ("cpu-cycles", 0),
            ("instructions", 1),
            ("cache-references", 2),
            ("cache-misses", 3),
            ("branch-instructions", 4),
            ("branches", 4),
            ("branch-misses", 5),
            ("bus-cycles", 6),
            ("stalled-cycles-frontend", 7),
            ("stalled-cycles-backend", 8),
            ("ref-cycles", 9),
        ];
        let (type_, table): (u32, &[(&str, u64)]) = match kind {
            "software" | "sw" => (libbpf_sys::PERF_TYPE_SOFTWARE, &sw),
            "hardware" | "hw" => (libbpf_sys::PERF_TYPE_HARDWARE, &hw),
            _ => {
                return Err(KernelError::BadTarget(format!("perf event `{s}`: the kind must be software or hardware")))
            }
        };
        let config = table.iter().find(|(n, _)| *n == name).map(|(_, c)| *c).ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            KernelError::BadTarget(format!("perf event `{s}`: unknown {kind} event (known: {})", names.join(", ")))
        })?;
        Ok(PerfEventSpec { type_, config, name: s.to_string() })
    }
}

/// How often a perf event runs its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// At this frequency (Hz).
    Freq(u64),
    /// Every this many events (nanoseconds for cpu-clock).
    Period(u64),
}

/// Where to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Xdp {
        iface: String,
        mode: XdpMode,
    },
    /// A clsact qdisc filter (created with libbpf's tc hook API).
    Tc {
        iface: String,
        direction: Direction,
    },
    Tracepoint {
        category: String,
        name: String,
    },
    RawTracepoint {
        name: String,
    },
    Uprobe {
        binary: PathBuf,
        location: UprobeLocation,
        ret: bool,
        pid: Option<i32>,
    },
    /// One perf event per online CPU, sampling at `freq` Hz.
    PerfEvent {
        event: PerfEventSpec,
        freq: u64,
    },
    /// A kprobe or kretprobe on a kernel function (needs CONFIG_KPROBES).
    Kprobe {
        func: String,
        ret: bool,
    },
    /// Where the program's section says (fentry/fexit/lsm: libbpf's auto-attach).
    Auto,
    /// One perf event on each of `cpus` (`None`: every online CPU), sampling as `sample`
    /// says (bpftrace's `interval`, `profile`, `software` and `hardware` probes).
    PerfSample {
        event: PerfEventSpec,
        sample: Sample,
        cpus: Option<Vec<u32>>,
    },
    CgroupSkb {
        cgroup: PathBuf,
        direction: Direction,
    },
    /// `cgroup/sock_create`.
    CgroupSock {
        cgroup: PathBuf,
    },
}

impl Target {
    /// The kind of target, as the CLI names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Xdp { .. } => "xdp",
            Target::Tc { .. } => "tc",
            Target::Tracepoint { .. } => "tracepoint",
            Target::RawTracepoint { .. } => "raw_tracepoint",
            Target::Uprobe { ret: false, .. } => "uprobe",
            Target::Uprobe { ret: true, .. } => "uretprobe",
            Target::PerfEvent { .. } | Target::PerfSample { .. } => "perf_event",
            Target::Kprobe { ret: false, .. } => "kprobe",
            Target::Kprobe { ret: true, .. } => "kretprobe",
            Target::Auto => "auto",
            Target::CgroupSkb { .. } => "cgroup_skb",
            Target::CgroupSock { .. } => "cgroup_sock",
        }
    }

    /// A one-line description (`xdp veth0 (generic mode)`).
    pub fn describe(&self) -> String {
        match self {
            Target::Xdp { iface, mode } => {
                let m = match mode {
                    XdpMode::Auto => "",
                    XdpMode::Generic => " (generic mode)",
                    XdpMode::Driver => " (driver mode)",
                };
                format!("xdp {iface}{m}")
            }
            Target::Tc { iface, direction } => format!("tc {iface} {}", direction.name()),
            Target::Tracepoint { category, name } => format!("tracepoint {category}:{name}"),
            Target::RawTracepoint { name } => format!("raw_tracepoint {name}"),
            Target::Kprobe { func, ret } => format!("{} {func}", if *ret { "kretprobe" } else { "kprobe" }),
            Target::Auto => "its section's target".to_string(),
            Target::Uprobe { binary, location, ret, .. } => {
                let loc = match location {
                    UprobeLocation::Symbol(s) => s.clone(),
                    UprobeLocation::Offset(o) => format!("{o:#x}"),
                    UprobeLocation::Usdt { offset, .. } => format!("usdt site {offset:#x}"),
                };
                format!("{} {}:{loc}", if *ret { "uretprobe" } else { "uprobe" }, binary.display())
            }
            Target::PerfEvent { event, freq } => format!("perf_event {} at {freq} Hz", event.name),
            Target::PerfSample { event, sample: Sample::Freq(f), .. } => format!("perf_event {} at {f} Hz", event.name),
            Target::PerfSample { event, sample: Sample::Period(p), .. } => {
                format!("perf_event {} every {p}", event.name)
            }
            Target::CgroupSkb { cgroup, direction } => format!("cgroup_skb {} {}", cgroup.display(), direction.name()),
            Target::CgroupSock { cgroup } => format!("cgroup_sock {}", cgroup.display()),
        }
    }

    /// The program types that fit this target.
    fn fitting_types(&self) -> &'static [ProgramType] {
        match self {
            Target::Xdp { .. } => &[ProgramType::Xdp],
            Target::Tc { .. } => &[ProgramType::SchedCls, ProgramType::SchedAct],
            Target::Tracepoint { .. } => &[ProgramType::Tracepoint],
            Target::RawTracepoint { .. } => &[ProgramType::RawTracepoint, ProgramType::RawTracepointWritable],
            Target::Uprobe { .. } => &[ProgramType::Kprobe],
            Target::PerfEvent { .. } | Target::PerfSample { .. } => &[ProgramType::PerfEvent],
            Target::Kprobe { .. } => &[ProgramType::Kprobe],
            Target::Auto => &[
                ProgramType::Tracing,
                ProgramType::Lsm,
                ProgramType::Kprobe,
                ProgramType::Tracepoint,
                ProgramType::RawTracepoint,
            ],
            Target::CgroupSkb { .. } => &[ProgramType::CgroupSkb],
            Target::CgroupSock { .. } => &[ProgramType::CgroupSock],
        }
    }
}

/// A tracepoint `category:name` from a section name `tracepoint/cat/name` or `tp/cat/name`.
pub fn tracepoint_from_section(section: &str) -> Option<(String, String)> {
    let rest = section.strip_prefix("tracepoint/").or_else(|| section.strip_prefix("tp/"))?;
    let (c, n) = rest.split_once('/')?;
    if c.is_empty() || n.is_empty() {
        return None;
    }
    Some((c.to_string(), n.to_string()))
}

/// A raw tracepoint name from a section `raw_tracepoint/NAME` or `raw_tp/NAME`.
pub fn raw_tracepoint_from_section(section: &str) -> Option<String> {
    let rest = section
        .strip_prefix("raw_tracepoint.w/")
        .or_else(|| section.strip_prefix("raw_tp.w/"))
        .or_else(|| section.strip_prefix("raw_tracepoint/"))
        .or_else(|| section.strip_prefix("raw_tp/"))?;
    if rest.is_empty() {
        None
    } else {
        Some(rest.to_string())
    }
}

enum Hook {
    /// A bpf link made by libbpf.
    Libbpf(libbpf_rs::Link),
    /// A bpf link fd made with BPF_LINK_CREATE directly (xdp with a mode).
    Fd(OwnedFd),
    /// A tc filter on a clsact qdisc (netlink; not a bpf link).
    Tc { hook: libbpf_rs::TcHook, created_qdisc: bool, ifindex: i32 },
}

/// A program attached to a target; dropping it (or [`Attachment::detach`]) detaches,
/// unless the link was pinned.
pub struct Attachment {
    hooks: Vec<Hook>,
    prog: String,
    prog_id: u32,
    target: Target,
    netns: Option<String>,
    pinned: Vec<PathBuf>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("prog", &self.prog)
            .field("target", &self.target)
            .field("link_ids", &self.link_ids())
            .finish()
    }
}

fn link_id(fd: BorrowedFd<'_>) -> u32 {
    inspect::link_info_fd(fd).map(|l| l.id).unwrap_or(0)
}

impl Attachment {
    pub fn prog(&self) -> &str {
        &self.prog
    }

    pub fn prog_id(&self) -> u32 {
        self.prog_id
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The kernel ids of the bpf links (tc filters have none).
    pub fn link_ids(&self) -> Vec<u32> {
        self.hooks
            .iter()
            .filter_map(|h| match h {
                Hook::Libbpf(l) => Some(link_id(l.as_fd())),
                Hook::Fd(fd) => Some(link_id(fd.as_fd())),
                Hook::Tc { .. } => None,
            })
            .collect()
    }

    /// Pin the link(s) under `dir` on bpffs (`DIR/link`, or `DIR/link_N` for per-CPU
    /// perf events) so that the attachment outlives this process.
    pub fn pin(&mut self, dir: &Path) -> Result<Vec<PathBuf>, KernelError> {
        prepare_pin_dir(dir)?;
        let n = self.hooks.len();
        let mut out = Vec::new();
        for (i, h) in self.hooks.iter_mut().enumerate() {
            let path = if n == 1 { dir.join("link") } else { dir.join(format!("link_{i}")) };
            match h {
                Hook::Libbpf(l) => l.pin(&path).map_err(|e| KernelError::Pin { path: path.clone(), errno: sys::errno_of(&e), detail: "pinning the link".into() })?,
                Hook::Fd(fd) => obj_pin(fd.as_fd(), &path)?,
                Hook::Tc { .. } => {
                    return Err(KernelError::BadTarget(
                        "a tc (clsact) attachment is a netlink filter, not a bpf link, and cannot be pinned; run `bpfbox attach` in the foreground".into(),
                    ))
                }
            }
            self.pinned.push(path.clone());
            out.push(path);
        }
        Ok(out)
    }

    /// Detach now (pinned links stay until `detach_pinned`).
    pub fn detach(mut self) -> Result<(), KernelError> {
        self.detach_all()
    }

    fn detach_all(&mut self) -> Result<(), KernelError> {
        let mut first_err = None;
        let _ns = match &self.netns {
            Some(n) => Some(NetnsGuard::enter(n)?),
            None => None,
        };
        for h in self.hooks.drain(..) {
            match h {
                Hook::Libbpf(l) => drop(l),
                Hook::Fd(fd) => drop(fd),
                Hook::Tc { mut hook, created_qdisc, ifindex } => {
                    if let Err(e) = hook.detach() {
                        first_err.get_or_insert(KernelError::syscall(
                            "tc filter delete",
                            format!("ifindex {ifindex}"),
                            sys::errno_of(&e),
                        ));
                    }
                    if created_qdisc {
                        if let Err(errno) = destroy_clsact(ifindex) {
                            if errno.0 != libc::ENOENT && errno.0 != libc::EINVAL {
                                first_err.get_or_insert(KernelError::syscall(
                                    "clsact qdisc delete",
                                    format!("ifindex {ifindex}"),
                                    errno,
                                ));
                            }
                        }
                    }
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        let _ = self.detach_all();
    }
}

/// Enters a network namespace for its lifetime (this thread only).
struct NetnsGuard {
    prev: OwnedFd,
}

impl NetnsGuard {
    fn enter(name: &str) -> Result<NetnsGuard, KernelError> {
        Ok(NetnsGuard { prev: sys::enter_netns(name)? })
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        let _ = sys::setns_fd(self.prev.as_raw_fd());
    }
}

/// Delete the clsact qdisc of `ifindex` (libbpf deletes the qdisc only when asked for
/// both hook points; one point alone just flushes its filters).
fn destroy_clsact(ifindex: i32) -> Result<(), Errno> {
    let mut hook = libbpf_sys::bpf_tc_hook {
        sz: std::mem::size_of::<libbpf_sys::bpf_tc_hook>() as _,
        ifindex,
        attach_point: libbpf_sys::BPF_TC_INGRESS | libbpf_sys::BPF_TC_EGRESS,
        ..Default::default()
    };
    // SAFETY: a valid tc hook description.
    let rc = unsafe { libbpf_sys::bpf_tc_hook_destroy(&mut hook) };
    if rc != 0 {
        return Err(Errno(-rc));
    }
    Ok(())
}

fn obj_pin(fd: BorrowedFd<'_>, path: &Path) -> Result<(), KernelError> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| KernelError::BadTarget(format!("{}: path contains NUL", path.display())))?;
    // SAFETY: valid fd and C string.
    let rc = unsafe { libbpf_sys::bpf_obj_pin(fd.as_raw_fd(), c.as_ptr()) };
    if rc != 0 {
        return Err(KernelError::Pin { path: path.to_path_buf(), errno: Errno(-rc), detail: "BPF_OBJ_PIN".into() });
    }
    Ok(())
}

/// Make `dir` (mounting bpffs at /sys/fs/bpf if needed) and check it is on bpffs.
pub fn prepare_pin_dir(dir: &Path) -> Result<(), KernelError> {
    sys::ensure_bpffs()?;
    std::fs::create_dir_all(dir).map_err(|e| KernelError::Io { path: dir.to_path_buf(), source: e })?;
    if !sys::is_on_bpffs(dir) {
        return Err(KernelError::Pin {
            path: dir.to_path_buf(),
            errno: Errno(libc::EXDEV),
            detail: format!("not on a bpf file system (use a directory under {})", sys::BPFFS),
        });
    }
    Ok(())
}

fn check_type<'o>(
    obj: &'o KernelObject,
    prog: &str,
    target: &Target,
) -> Result<(libbpf_rs::ProgramMut<'o>, u32), KernelError> {
    let p = obj.program_mut(prog)?;
    let ty = p.prog_type();
    if !target.fitting_types().contains(&ty) {
        let needs: Vec<String> =
            target.fitting_types().iter().map(|t| crate::types::prog_type_name(*t as u32)).collect();
        return Err(KernelError::Incompatible {
            prog: prog.to_string(),
            prog_type: crate::types::prog_type_name(ty as u32),
            target: target.kind(),
            needs: needs.join(" or "),
        });
    }
    let id = inspect::prog_id_of_fd(p.as_fd())?;
    Ok((p, id))
}

fn open_cgroup(path: &Path) -> Result<std::fs::File, KernelError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| KernelError::BadCgroup { path: path.to_path_buf(), reason: e.to_string() })?;
    if !meta.is_dir() {
        return Err(KernelError::BadCgroup { path: path.to_path_buf(), reason: "not a directory".into() });
    }
    if sys::fs_magic(path) != Some(sys::CGROUP2_SUPER_MAGIC) {
        return Err(KernelError::BadCgroup {
            path: path.to_path_buf(),
            reason: "not on a cgroup2 file system (cgroup v2 is usually at /sys/fs/cgroup or /sys/fs/cgroup/unified)"
                .into(),
        });
    }
    std::fs::File::open(path).map_err(|e| KernelError::BadCgroup { path: path.to_path_buf(), reason: e.to_string() })
}

const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

fn perf_event_open(spec: &PerfEventSpec, sample: Sample, cpu: u32) -> Result<OwnedFd, Errno> {
    let mut attr = libbpf_sys::perf_event_attr {
        type_: spec.type_,
        size: std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32,
        config: spec.config,
        ..Default::default()
    };
    match sample {
        Sample::Freq(freq) => {
            attr.__bindgen_anon_1.sample_freq = freq;
            attr.set_freq(1);
        }
        Sample::Period(period) => attr.__bindgen_anon_1.sample_period = period,
    }
    // SAFETY: a valid perf_event_attr; pid -1 (all tasks) on one cpu.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const libbpf_sys::perf_event_attr,
            -1i32,
            cpu as i32,
            -1i32,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attach program `prog` of `obj` to `target`. `netns` names a network namespace
/// (`ip netns` name or path) in which the interface of an xdp or tc target lives.
pub fn attach(obj: &KernelObject, prog: &str, target: &Target, netns: Option<&str>) -> Result<Attachment, KernelError> {
    sys::init_libbpf_log();
    let (p, prog_id) = check_type(obj, prog, target)?;
    let _ = sys::take_libbpf_log();
    let desc = target.describe();
    let fail = |errno: Errno| KernelError::Attach {
        prog: prog.to_string(),
        target: desc.clone(),
        errno,
        detail: sys::libbpf_last_line(&sys::take_libbpf_log()),
    };
    let lfail = |e: libbpf_rs::Error| fail(sys::errno_of(&e));
    let mut hooks = Vec::new();
    let mut keep_netns = None;
    match target {
        Target::Xdp { iface, mode } => {
            let _ns = match netns {
                Some(n) => Some(NetnsGuard::enter(n)?),
                None => None,
            };
            let ifindex = sys::ifindex(iface, netns)?;
            let flags = match mode {
                XdpMode::Auto => 0,
                XdpMode::Generic => libbpf_sys::XDP_FLAGS_SKB_MODE,
                XdpMode::Driver => libbpf_sys::XDP_FLAGS_DRV_MODE,
            };
            let opts = libbpf_sys::bpf_link_create_opts {
                sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
                flags,
                ..Default::default()
            };
            // SAFETY: valid prog fd and options.
            let fd = unsafe {
                libbpf_sys::bpf_link_create(p.as_fd().as_raw_fd(), ifindex as i32, libbpf_sys::BPF_XDP, &opts)
            };
            if fd < 0 {
                return Err(fail(Errno(-fd)));
            }
            // SAFETY: a fresh link fd.
            hooks.push(Hook::Fd(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        Target::Tc { iface, direction } => {
            let _ns = match netns {
                Some(n) => Some(NetnsGuard::enter(n)?),
                None => None,
            };
            keep_netns = netns.map(str::to_string);
            let ifindex = sys::ifindex(iface, netns)? as i32;
            let point = match direction {
                Direction::Ingress => libbpf_rs::TC_INGRESS,
                Direction::Egress => libbpf_rs::TC_EGRESS,
            };
            // Create the clsact qdisc ourselves to know whether it was there before.
            let mut raw = libbpf_sys::bpf_tc_hook {
                sz: std::mem::size_of::<libbpf_sys::bpf_tc_hook>() as _,
                ifindex,
                attach_point: point,
                ..Default::default()
            };
            // SAFETY: a valid tc hook description.
            let rc = unsafe { libbpf_sys::bpf_tc_hook_create(&mut raw) };
            let created_qdisc = match rc {
                0 => true,
                rc if -rc == libc::EEXIST => false,
                rc => return Err(fail(Errno(-rc))),
            };
            let mut hook = libbpf_rs::TcHookBuilder::new(p.as_fd())
                .ifindex(ifindex)
                .replace(false)
                .handle(0)
                .priority(0)
                .hook(point);
            match hook.attach() {
                Ok(h) => hook = h,
                Err(e) => {
                    let err = lfail(e);
                    if created_qdisc {
                        let _ = destroy_clsact(ifindex);
                    }
                    return Err(err);
                }
            }
            hooks.push(Hook::Tc { hook, created_qdisc, ifindex });
        }
        Target::Tracepoint { category, name } => {
            sys::ensure_tracefs()?;
            let events = Path::new(sys::TRACEFS).join("events").join(category).join(name);
            if !events.exists() && Path::new(sys::TRACEFS).join("events").exists() {
                return Err(KernelError::BadTarget(format!(
                    "no tracepoint {category}:{name} (see {}/available_events)",
                    sys::TRACEFS
                )));
            }
            let l =
                p.attach_tracepoint(libbpf_rs::TracepointCategory::Custom(category.clone()), name).map_err(lfail)?;
            hooks.push(Hook::Libbpf(l));
        }
        Target::RawTracepoint { name } => {
            let l = p.attach_raw_tracepoint(name).map_err(lfail)?;
            hooks.push(Hook::Libbpf(l));
        }
        Target::Kprobe { func, ret } => {
            let l = p.attach_kprobe(*ret, func).map_err(lfail)?;
            hooks.push(Hook::Libbpf(l));
        }
        Target::Auto => {
            let l = p.attach().map_err(lfail)?;
            hooks.push(Hook::Libbpf(l));
        }
        Target::Uprobe { binary, location, ret, pid } => {
            if !binary.is_file() {
                return Err(KernelError::BadTarget(format!(
                    "{}: no such file (a uprobe needs an ELF binary or library)",
                    binary.display()
                )));
            }
            let pid = pid.unwrap_or(-1);
            let l = match location {
                UprobeLocation::Offset(off) => p.attach_uprobe(*ret, pid, binary, *off as usize),
                UprobeLocation::Usdt { offset, semaphore } => {
                    let opts = libbpf_rs::UprobeOpts {
                        retprobe: *ret,
                        ref_ctr_offset: *semaphore as usize,
                        ..Default::default()
                    };
                    p.attach_uprobe_with_opts(pid, binary, *offset as usize, opts)
                }
                UprobeLocation::Symbol(sym) => {
                    let opts =
                        libbpf_rs::UprobeOpts { retprobe: *ret, func_name: Some(sym.clone()), ..Default::default() };
                    p.attach_uprobe_with_opts(pid, binary, 0, opts)
                }
            };
            hooks.push(Hook::Libbpf(l.map_err(|e| {
                let errno = sys::errno_of(&e);
                let log = sys::take_libbpf_log();
                let detail = sys::libbpf_last_line(&log);
                if errno.0 == libc::ENOENT {
                    if let UprobeLocation::Symbol(sym) = location {
                        return KernelError::BadTarget(format!(
                            "{}: no symbol `{sym}` (libbpf: {detail})",
                            binary.display()
                        ));
                    }
                }
                KernelError::Attach { prog: prog.to_string(), target: desc.clone(), errno, detail }
            })?));
        }
        Target::PerfEvent { .. } | Target::PerfSample { .. } => {
            let (event, sample, cpus) = match target {
                Target::PerfEvent { event, freq } => (event, Sample::Freq(*freq), sys::online_cpus()),
                Target::PerfSample { event, sample, cpus } => {
                    (event, *sample, cpus.clone().unwrap_or_else(sys::online_cpus))
                }
                _ => unreachable!("matched above"),
            };
            if cpus.is_empty() {
                return Err(KernelError::BadTarget("no online CPUs found in /sys/devices/system/cpu/online".into()));
            }
            for cpu in cpus {
                let pfd = perf_event_open(event, sample, cpu).map_err(|errno| KernelError::Attach {
                    prog: prog.to_string(),
                    target: desc.clone(),
                    errno,
                    detail: format!(
                        "perf_event_open on cpu {cpu}{}",
                        if errno.0 == libc::ENOENT || errno.0 == libc::EOPNOTSUPP {
                            ": this event is not supported here (no such PMU in a VM?)"
                        } else {
                            ""
                        }
                    ),
                })?;
                // libbpf takes over the perf event fd and closes it on detach.
                let raw = std::os::fd::IntoRawFd::into_raw_fd(pfd);
                match p.attach_perf_event(raw) {
                    Ok(l) => hooks.push(Hook::Libbpf(l)),
                    Err(e) => {
                        // SAFETY: libbpf did not take the fd on failure.
                        drop(unsafe { OwnedFd::from_raw_fd(raw) });
                        return Err(lfail(e));
                    }
                }
            }
        }
        Target::CgroupSkb { cgroup, direction } => {
            let f = open_cgroup(cgroup)?;
            let attach_type = match direction {
                Direction::Ingress => libbpf_sys::BPF_CGROUP_INET_INGRESS,
                Direction::Egress => libbpf_sys::BPF_CGROUP_INET_EGRESS,
            };
            hooks.push(Hook::Fd(cgroup_link(p.as_fd(), f.as_fd(), attach_type).map_err(fail)?));
        }
        Target::CgroupSock { cgroup } => {
            let f = open_cgroup(cgroup)?;
            hooks.push(Hook::Fd(
                cgroup_link(p.as_fd(), f.as_fd(), libbpf_sys::BPF_CGROUP_INET_SOCK_CREATE).map_err(fail)?,
            ));
        }
    }
    // The program fd stays valid; the libbpf handle was only borrowed.
    let _ = p.as_libbpf_object();
    Ok(Attachment {
        hooks,
        prog: prog.to_string(),
        prog_id,
        target: target.clone(),
        netns: keep_netns,
        pinned: Vec::new(),
    })
}

/// A cgroup link with an explicit attach type (the section's expected attach type may
/// say ingress while the user asks for egress).
fn cgroup_link(prog: BorrowedFd<'_>, cgroup: BorrowedFd<'_>, attach_type: u32) -> Result<OwnedFd, Errno> {
    // SAFETY: valid fds, no options.
    let fd =
        unsafe { libbpf_sys::bpf_link_create(prog.as_raw_fd(), cgroup.as_raw_fd(), attach_type, std::ptr::null()) };
    if fd < 0 {
        return Err(Errno(-fd));
    }
    // SAFETY: a fresh link fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What `detach_pinned` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub path: PathBuf,
    /// `link`, `program` or `map`, with the kernel id.
    pub kind: &'static str,
    pub id: u32,
}

/// Remove a pin: a pinned link is detached (BPF_LINK_DETACH) and unpinned; a
/// pinned program or map is unpinned; a directory is emptied recursively and removed.
pub fn detach_pinned(path: &Path) -> Result<Vec<Removed>, KernelError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| KernelError::Io { path: path.to_path_buf(), source: e })?;
    if !sys::is_on_bpffs(path) {
        return Err(KernelError::Pin {
            path: path.to_path_buf(),
            errno: Errno(libc::EXDEV),
            detail: "not on a bpf file system".into(),
        });
    }
    let mut out = Vec::new();
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| KernelError::Io { path: path.to_path_buf(), source: e })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        // Links first, so that programs are detached before their pins go.
        entries.sort_by_key(|p| (!p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("link")), p.clone()));
        for e in entries {
            out.extend(detach_pinned(&e)?);
        }
        std::fs::remove_dir(path).map_err(|e| KernelError::Io { path: path.to_path_buf(), source: e })?;
        return Ok(out);
    }
    let (fd, what) = inspect::pinned(path)?;
    let (kind, id) = match what {
        inspect::PinnedObject::Link(l) => {
            // SAFETY: a link fd.
            let rc = unsafe { libbpf_sys::bpf_link_detach(fd.as_raw_fd()) };
            // Links that cannot be detached explicitly (EOPNOTSUPP) go when the pin goes.
            if rc != 0 && -rc != libc::EOPNOTSUPP && -rc != libc::EINVAL {
                return Err(KernelError::Pin {
                    path: path.to_path_buf(),
                    errno: Errno(-rc),
                    detail: "BPF_LINK_DETACH".into(),
                });
            }
            ("link", l.id)
        }
        inspect::PinnedObject::Program(p) => ("program", p.id),
        inspect::PinnedObject::Map(m) => ("map", m.id),
    };
    drop(fd);
    std::fs::remove_file(path).map_err(|e| KernelError::Io { path: path.to_path_buf(), source: e })?;
    out.push(Removed { path: path.to_path_buf(), kind, id });
    Ok(out)
}

/// Pin every program at `DIR/<program>` and every map at `DIR/maps/<map>` (internal
/// maps without their leading dot: `bss`, `data`, `rodata`).
pub fn pin_object(obj: &KernelObject, dir: &Path) -> Result<Vec<PathBuf>, KernelError> {
    prepare_pin_dir(dir)?;
    let mut out = Vec::new();
    for p in obj.programs() {
        let prog = obj.program(&p.name)?;
        let path = dir.join(&p.name);
        obj_pin(prog.as_fd(), &path)?;
        out.push(path);
    }
    let maps = obj.maps();
    if !maps.is_empty() {
        let mdir = dir.join("maps");
        std::fs::create_dir_all(&mdir).map_err(|e| KernelError::Io { path: mdir.clone(), source: e })?;
        for m in maps {
            let fd = obj.map_fd(&m.name)?;
            let path = mdir.join(m.name.trim_start_matches('.'));
            obj_pin(fd, &path)?;
            out.push(path);
        }
    }
    Ok(out)
}

/// Pin every map at `DIR/maps/<map>` (for `attach --pin`).
pub fn pin_maps(obj: &KernelObject, dir: &Path) -> Result<Vec<PathBuf>, KernelError> {
    prepare_pin_dir(dir)?;
    let mut out = Vec::new();
    let maps = obj.maps();
    if maps.is_empty() {
        return Ok(out);
    }
    let mdir = dir.join("maps");
    std::fs::create_dir_all(&mdir).map_err(|e| KernelError::Io { path: mdir.clone(), source: e })?;
    for m in maps {
        let fd = obj.map_fd(&m.name)?;
        let path = mdir.join(m.name.trim_start_matches('.'));
        obj_pin(fd, &path)?;
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_give_targets() {
        assert_eq!(
            tracepoint_from_section("tracepoint/syscalls/sys_enter_execve"),
            Some(("syscalls".into(), "sys_enter_execve".into()))
        );
        assert_eq!(tracepoint_from_section("tp/sched/sched_switch"), Some(("sched".into(), "sched_switch".into())));
        assert_eq!(tracepoint_from_section("xdp"), None);
        assert_eq!(raw_tracepoint_from_section("raw_tp/sys_enter"), Some("sys_enter".into()));
        assert_eq!(raw_tracepoint_from_section("raw_tracepoint/"), None);
    }

    #[test]
    fn perf_event_names() {
        assert_eq!(PerfEventSpec::parse("software:cpu-clock").ok().map(|e| (e.type_, e.config)), Some((1, 0)));
        assert_eq!(PerfEventSpec::parse("hardware:cycles").ok().map(|e| (e.type_, e.config)), Some((0, 0)));
        assert!(PerfEventSpec::parse("software:nope").is_err());
        assert!(PerfEventSpec::parse("cycles").is_err());
    }
}
