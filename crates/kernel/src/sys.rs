//! Small system helpers: libbpf's log capture, errno extraction, bpffs/tracefs mounts,
//! interface names, network namespaces.

use crate::error::{Errno, KernelError};
use std::cell::RefCell;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::Once;

thread_local! {
    static LIBBPF_LOG: RefCell<String> = const { RefCell::new(String::new()) };
}

/// At most this much libbpf output is kept per thread between two `take_libbpf_log`s.
const LIBBPF_LOG_CAP: usize = 8 << 20;

fn capture(_level: libbpf_rs::PrintLevel, msg: String) {
    LIBBPF_LOG.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() + msg.len() <= LIBBPF_LOG_CAP {
            l.push_str(&msg);
        }
    });
}

/// Route libbpf's messages (warnings and info, which carry the verifier log of a failed
/// load) into a per-thread buffer instead of stderr. Idempotent.
pub(crate) fn init_libbpf_log() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Info, capture)));
    });
}

/// Everything libbpf printed on this thread since the last call.
pub(crate) fn take_libbpf_log() -> String {
    LIBBPF_LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// The errno behind a libbpf-rs error (libbpf reports `-errno`).
pub(crate) fn errno_of(e: &libbpf_rs::Error) -> Errno {
    // libbpf-rs keeps the io::Error private; its alternate Display ends in "(os error N)".
    let s = format!("{e:#}");
    if let Some(i) = s.rfind("(os error ") {
        let rest = &s[i + "(os error ".len()..];
        if let Some(n) = rest.split(')').next().and_then(|n| n.trim().parse::<i32>().ok()) {
            return Errno(n);
        }
    }
    Errno(match e.kind() {
        libbpf_rs::ErrorKind::NotFound => libc::ENOENT,
        libbpf_rs::ErrorKind::PermissionDenied => libc::EPERM,
        libbpf_rs::ErrorKind::AlreadyExists => libc::EEXIST,
        libbpf_rs::ErrorKind::WouldBlock => libc::EAGAIN,
        libbpf_rs::ErrorKind::InvalidInput | libbpf_rs::ErrorKind::InvalidData => libc::EINVAL,
        libbpf_rs::ErrorKind::TimedOut => libc::ETIMEDOUT,
        libbpf_rs::ErrorKind::Interrupted => libc::EINTR,
        libbpf_rs::ErrorKind::Unsupported => libc::EOPNOTSUPP,
        libbpf_rs::ErrorKind::OutOfMemory => libc::ENOMEM,
        libbpf_rs::ErrorKind::TooBig => libc::E2BIG,
        _ => libc::EINVAL,
    })
}

/// libbpf's warnings, one line each, without the `libbpf: ` prefix.
pub(crate) fn libbpf_warnings(log: &str) -> String {
    log.lines()
        .map(|l| l.strip_prefix("libbpf: ").unwrap_or(l).trim_end())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last meaningful line of a libbpf log (for one-line error details).
pub(crate) fn libbpf_last_line(log: &str) -> String {
    libbpf_warnings(log).lines().last().unwrap_or("").to_string()
}

const BPF_FS_MAGIC: i64 = 0xcafe4a11;
const TRACEFS_MAGIC: i64 = 0x74726163;
pub(crate) const CGROUP2_SUPER_MAGIC: i64 = 0x63677270;

pub(crate) fn fs_magic(path: &Path) -> Option<i64> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a writable statfs.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)]
    Some(st.f_type as i64)
}

/// Mount `fstype` at `target` unless a file system with `magic` is there already. Two
/// bpfbox processes must not both mount (the second mount would hide the first's pins),
/// so the check and the mount happen under an exclusive lock file.
fn mount_once(fstype: &str, target: &Path, magic: i64) -> Result<(), KernelError> {
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open("/run/bpfbox-mount.lock").ok();
    if let Some(f) = &lock {
        // SAFETY: flock on an fd we own; released when `lock` is dropped.
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(f), libc::LOCK_EX) };
    }
    if fs_magic(target) == Some(magic) {
        return Ok(());
    }
    mount_fs(fstype, target)
}

fn mount_fs(fstype: &str, target: &Path) -> Result<(), KernelError> {
    std::fs::create_dir_all(target).map_err(|e| KernelError::Io { path: target.to_path_buf(), source: e })?;
    let src = CString::new(fstype).map_err(|_| KernelError::BadTarget(format!("bad fs type {fstype}")))?;
    let tgt = CString::new(target.as_os_str().as_encoded_bytes())
        .map_err(|_| KernelError::BadTarget(format!("{}: path contains NUL", target.display())))?;
    // SAFETY: valid C strings; no data argument.
    let rc = unsafe { libc::mount(src.as_ptr(), tgt.as_ptr(), src.as_ptr(), 0, std::ptr::null()) };
    if rc != 0 {
        return Err(KernelError::Pin {
            path: target.to_path_buf(),
            errno: Errno::last(),
            detail: format!("mounting {fstype}"),
        });
    }
    Ok(())
}

/// The bpffs mount point used for pins.
pub const BPFFS: &str = "/sys/fs/bpf";
/// The tracefs mount point.
pub const TRACEFS: &str = "/sys/kernel/tracing";

/// Mount bpffs at /sys/fs/bpf unless something bpffs is already there.
pub fn ensure_bpffs() -> Result<(), KernelError> {
    let p = Path::new(BPFFS);
    if fs_magic(p) == Some(BPF_FS_MAGIC) {
        return Ok(());
    }
    mount_once("bpf", p, BPF_FS_MAGIC)
}

/// True when `path` lies on a bpf file system.
pub fn is_on_bpffs(path: &Path) -> bool {
    fs_magic(path) == Some(BPF_FS_MAGIC)
}

/// The tracefs directory, mounting tracefs at /sys/kernel/tracing if needed.
pub fn ensure_tracefs() -> Result<&'static Path, KernelError> {
    let p = Path::new(TRACEFS);
    if fs_magic(p) == Some(TRACEFS_MAGIC) {
        return Ok(p);
    }
    let dbg = Path::new("/sys/kernel/debug/tracing");
    if fs_magic(dbg) == Some(TRACEFS_MAGIC) {
        return Ok(dbg);
    }
    mount_once("tracefs", p, TRACEFS_MAGIC)?;
    Ok(p)
}

/// The interface index of `name` in the calling thread's network namespace.
pub fn ifindex(name: &str, netns: Option<&str>) -> Result<u32, KernelError> {
    let none = || KernelError::NoInterface { name: name.to_string(), netns: netns.map(str::to_string) };
    let c = CString::new(name).map_err(|_| none())?;
    // SAFETY: valid C string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(none());
    }
    Ok(idx)
}

/// Move the calling thread into the network namespace `name` (a name under
/// /run/netns, as `ip netns add` creates, or a path such as /proc/PID/ns/net).
/// Returns the namespace the thread was in, to go back with `setns_fd`.
pub fn enter_netns(name: &str) -> Result<OwnedFd, KernelError> {
    let path = if name.contains('/') { std::path::PathBuf::from(name) } else { Path::new("/run/netns").join(name) };
    let target = std::fs::File::open(&path)
        .map_err(|e| KernelError::BadTarget(format!("network namespace `{name}`: {}: {e}", path.display())))?;
    let cur = std::fs::File::open("/proc/thread-self/ns/net")
        .map_err(|e| KernelError::Io { path: "/proc/thread-self/ns/net".into(), source: e })?;
    setns_fd(target.as_raw_fd())
        .map_err(|errno| KernelError::syscall("setns", format!("network namespace `{name}`"), errno))?;
    // SAFETY: `cur` owns its fd; we move it into the OwnedFd.
    Ok(unsafe { OwnedFd::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(cur)) })
}

pub fn setns_fd(fd: i32) -> Result<(), Errno> {
    // SAFETY: plain syscall on an fd we hold.
    let rc = unsafe { libc::setns(fd, libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// The number of possible CPUs (the kernel's percpu value count).
pub fn possible_cpus() -> Result<usize, KernelError> {
    libbpf_rs::num_possible_cpus()
        .map_err(|e| KernelError::syscall("reading /sys/devices/system/cpu/possible", "this machine", errno_of(&e)))
}

/// Online CPU numbers (for per-CPU perf events).
pub fn online_cpus() -> Vec<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    parse_cpu_list(text.trim())
}

pub(crate) fn parse_cpu_list(s: &str) -> Vec<u32> {
    let mut v = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    v.extend(a..=b);
                }
            }
            None => {
                if let Ok(a) = part.parse() {
                    v.push(a);
                }
            }
        }
    }
    v
}

/// Turn a C string pointer from libbpf into a String (empty for NULL).
pub(crate) fn cstr(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: libbpf returns NUL-terminated static strings.
    unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,5"), vec![0, 1, 2, 3, 5]);
        assert_eq!(parse_cpu_list("0"), vec![0]);
        assert_eq!(parse_cpu_list(""), Vec::<u32>::new());
    }
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_interrupt(_sig: libc::c_int) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Catch SIGINT and SIGTERM (Ctrl-C) so that a foreground `attach` can detach cleanly;
/// see [`interrupted`].
pub fn install_interrupt_handler() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only stores an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_interrupt as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// True once SIGINT or SIGTERM arrived (after `install_interrupt_handler`).
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Symbols of /proc/kallsyms and `__bpf_call_base`, to name the helpers that the
/// kernel's translated instructions call (their imm is relative to `__bpf_call_base`).
#[derive(Debug, Default)]
pub struct Kallsyms {
    syms: Vec<(u64, String)>,
    call_base: Option<u64>,
}

impl Kallsyms {
    /// Read /proc/kallsyms (addresses are zero without privileges; then nothing resolves).
    pub fn load() -> Kallsyms {
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
        let mut syms = Vec::new();
        let mut call_base = None;
        for line in text.lines() {
            let mut it = line.split_whitespace();
            let (Some(addr), Some(kind), Some(name)) = (it.next(), it.next(), it.next()) else { continue };
            if !matches!(kind, "T" | "t") {
                continue;
            }
            let Ok(addr) = u64::from_str_radix(addr, 16) else { continue };
            if addr == 0 {
                continue;
            }
            if name == "__bpf_call_base" {
                call_base = Some(addr);
            }
            syms.push((addr, name.to_string()));
        }
        syms.sort();
        Kallsyms { syms, call_base }
    }

    /// The function a translated `call imm` goes to (exact symbol start only).
    pub fn helper_name(&self, imm: i32) -> Option<&str> {
        let base = self.call_base?;
        let addr = base.wrapping_add(imm as i64 as u64);
        let i = self.syms.binary_search_by_key(&addr, |(a, _)| *a).ok()?;
        Some(&self.syms[i].1)
    }
}
