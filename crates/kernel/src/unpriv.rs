//! Loading raw programs as an unprivileged caller, to compare bpfbox's unprivileged
//! verifier rules with the kernel's.
//!
//! The kernel decides what a `bpf()` caller may do from the credentials of the calling
//! *task* (thread): `bpf_capable()`, `perfmon_capable()` and `capable(CAP_SYS_ADMIN)`
//! look at `current_cred()`. [`load_raw_unprivileged`] therefore runs the load on a
//! fresh thread that first drops its own credentials, with the raw `setgroups`,
//! `setresgid` and `setresuid` system calls (not the libc wrappers, which change every
//! thread of the process), to uid and gid 65534 (`nobody`) with no supplementary
//! groups. Leaving uid 0 clears the thread's permitted and effective capabilities, so
//! the kernel sees an ordinary user; the thread ends after the load and the rest of the
//! process keeps its privileges.
//!
//! Unprivileged `bpf()` also needs `kernel.unprivileged_bpf_disabled` = 0.
//! [`UnprivilegedBpfWindow`] sets it to 0 while it lives when the value is 2 ("disabled,
//! but an admin may re-enable it") and restores the original value when dropped; it
//! never touches the value 1, which the kernel does not allow to be undone.

use crate::raw::{load_raw, RawLoad, RawLoadError};
use std::sync::Mutex;

/// The sysctl that gates unprivileged `bpf()`.
pub const UNPRIVILEGED_BPF_DISABLED: &str = "/proc/sys/kernel/unprivileged_bpf_disabled";

/// The uid and gid unprivileged loads run as (`nobody`/`nogroup`).
pub const UNPRIVILEGED_ID: u32 = 65534;

/// The current value of `kernel.unprivileged_bpf_disabled` (0, 1 or 2).
pub fn unprivileged_bpf_disabled() -> Result<u32, String> {
    let s = std::fs::read_to_string(UNPRIVILEGED_BPF_DISABLED)
        .map_err(|e| format!("reading {UNPRIVILEGED_BPF_DISABLED}: {e}"))?;
    s.trim().parse().map_err(|_| format!("{UNPRIVILEGED_BPF_DISABLED} holds `{}`, not a number", s.trim()))
}

/// The file bpfbox processes lock (`flock`, exclusive) while they hold the sysctl at 0,
/// so that one process never restores it under another's loads.
const LOCK_FILE: &str = "bpfbox-unprivileged-bpf.lock";

/// The windows of this process: how many are open, the value to restore when the last
/// one closes (`None`: it was already 0) and the locked file.
struct Windows {
    open: usize,
    restore: Option<u32>,
    lock: Option<std::fs::File>,
}

static WINDOWS: Mutex<Windows> = Mutex::new(Windows { open: 0, restore: None, lock: None });

/// Opens and locks [`LOCK_FILE`] in the temporary directory, waiting for other
/// processes' windows to close.
fn lock_windows() -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let path = std::env::temp_dir().join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| format!("opening {}: {e}", path.display()))?;
    // SAFETY: a valid fd owned by `file`; flock has no memory arguments.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("locking {}: {}", path.display(), std::io::Error::last_os_error()));
    }
    Ok(file)
}

/// While alive, `kernel.unprivileged_bpf_disabled` is 0 so that unprivileged callers
/// may use `bpf()`; dropping the last window of the process restores the value it had
/// (also when a panic unwinds through it). Windows opened by several threads share one
/// change; windows of several processes (using this crate) wait for each other through
/// a lock file in the temporary directory.
#[derive(Debug)]
pub struct UnprivilegedBpfWindow {
    original: u32,
}

impl UnprivilegedBpfWindow {
    /// Opens the window: needs root, and the sysctl at 0 or 2. `Err` says why not.
    pub fn open() -> Result<UnprivilegedBpfWindow, String> {
        let mut w = WINDOWS.lock().unwrap_or_else(|e| e.into_inner());
        if w.open > 0 {
            w.open += 1;
            let original = match w.restore {
                Some(v) => v,
                None => unprivileged_bpf_disabled()?,
            };
            return Ok(UnprivilegedBpfWindow { original });
        }
        // Unlocked again (closed) when this function fails.
        let lock = lock_windows()?;
        let current = unprivileged_bpf_disabled()?;
        match current {
            0 => {}
            2 => {
                // SAFETY: no arguments.
                if unsafe { libc::geteuid() } != 0 {
                    return Err("kernel.unprivileged_bpf_disabled = 2 and not root: cannot set it to 0".to_string());
                }
                std::fs::write(UNPRIVILEGED_BPF_DISABLED, "0\n")
                    .map_err(|e| format!("setting kernel.unprivileged_bpf_disabled to 0: {e}"))?;
            }
            v => return Err(format!("kernel.unprivileged_bpf_disabled = {v}: unprivileged bpf() is off until reboot")),
        }
        *w = Windows { open: 1, restore: (current != 0).then_some(current), lock: Some(lock) };
        Ok(UnprivilegedBpfWindow { original: current })
    }

    /// The sysctl's value before the window opened.
    pub fn original(&self) -> u32 {
        self.original
    }
}

impl Drop for UnprivilegedBpfWindow {
    fn drop(&mut self) {
        let mut w = WINDOWS.lock().unwrap_or_else(|e| e.into_inner());
        w.open = w.open.saturating_sub(1);
        if w.open > 0 {
            return;
        }
        if let Some(v) = w.restore.take() {
            if let Err(e) = std::fs::write(UNPRIVILEGED_BPF_DISABLED, format!("{v}\n")) {
                eprintln!("warning: restoring kernel.unprivileged_bpf_disabled to {v}: {e}");
            }
        }
        // Closing the file releases the lock, after the restore.
        w.lock = None;
    }
}

/// Drops the calling thread's credentials to uid/gid [`UNPRIVILEGED_ID`] without
/// supplementary groups, then checks it holds no capability. Only this thread changes.
fn drop_thread_privileges() -> Result<(), String> {
    let id = UNPRIVILEGED_ID as libc::c_long;
    let check = |name: &str, r: libc::c_long| match r {
        0 => Ok(()),
        _ => Err(format!("{name}: {}", std::io::Error::last_os_error())),
    };
    // SAFETY (the three calls): raw system calls on the calling thread's credentials;
    // the group list pointer is null with a zero count.
    check("setgroups", unsafe {
        libc::syscall(libc::SYS_setgroups, 0 as libc::c_long, std::ptr::null::<libc::gid_t>())
    })?;
    // SAFETY: as above.
    check("setresgid", unsafe { libc::syscall(libc::SYS_setresgid, id, id, id) })?;
    // SAFETY: as above.
    check("setresuid", unsafe { libc::syscall(libc::SYS_setresuid, id, id, id) })?;
    let status = std::fs::read_to_string("/proc/thread-self/status")
        .map_err(|e| format!("reading /proc/thread-self/status: {e}"))?;
    for field in ["CapEff:", "CapPrm:"] {
        let caps = status.lines().find_map(|l| l.strip_prefix(field)).map(str::trim);
        match caps.map(|c| u64::from_str_radix(c, 16)) {
            Some(Ok(0)) => {}
            Some(Ok(c)) => return Err(format!("capabilities left after dropping to uid {UNPRIVILEGED_ID}: {c:#x}")),
            _ => return Err(format!("no {field} line in /proc/thread-self/status")),
        }
    }
    Ok(())
}

/// Loads `req` as [`load_raw`] does, as an unprivileged caller: on a new thread whose
/// credentials are dropped to uid/gid [`UNPRIVILEGED_ID`] with no capabilities.
///
/// The outer `Err` says why the load could not run unprivileged (not root, so the
/// credentials cannot change; thread creation failed). The inner result is the kernel's
/// verdict, as [`load_raw`] gives it. With `kernel.unprivileged_bpf_disabled` ≠ 0 (see
/// [`UnprivilegedBpfWindow`]) the kernel refuses every such load with `EPERM`: that is
/// an outer `Err` too. Only
/// socket filters and `cgroup_skb` programs, array-like and hash maps are open to
/// unprivileged callers, and no BTF (so no subprograms with `func_info` and no
/// `spin_lock_off` maps).
pub fn load_raw_unprivileged(req: &RawLoad<'_>) -> Result<Result<String, RawLoadError>, String> {
    // SAFETY: no arguments.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root: cannot switch a thread to another uid".to_string());
    }
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("bpfbox-unpriv".to_string())
            .spawn_scoped(s, || {
                drop_thread_privileges()?;
                Ok(load_raw(req))
            })
            .map_err(|e| format!("starting the unprivileged thread: {e}"))?;
        worker.join().map_err(|_| "the unprivileged thread panicked".to_string())?
    })
    .and_then(|r| match r {
        // EPERM before verification: the sysctl refuses every unprivileged bpf(), the
        // verdict says nothing about the program.
        Err(e) if e.errno.0 == libc::EPERM && e.log.is_empty() => match unprivileged_bpf_disabled() {
            Ok(0) => Ok(Err(e)),
            Ok(v) => Err(format!("kernel.unprivileged_bpf_disabled = {v}: unprivileged bpf() is refused ({e})")),
            Err(why) => Err(why),
        },
        r => Ok(r),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Root with bpf() and a sysctl that can be opened; otherwise why not.
    fn setup() -> Option<UnprivilegedBpfWindow> {
        let why = match crate::availability() {
            Ok(()) => match UnprivilegedBpfWindow::open() {
                Ok(w) => return Some(w),
                Err(why) => why,
            },
            Err(why) => why,
        };
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("unprivileged loads unavailable in CI: {why}");
        }
        eprintln!("SKIP: {why}");
        None
    }

    fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = code;
        b[1] = dst | (src << 4);
        b[2..4].copy_from_slice(&off.to_ne_bytes());
        b[4..8].copy_from_slice(&imm.to_ne_bytes());
        b
    }

    fn socket_filter(insns: &[u8]) -> RawLoad<'_> {
        RawLoad { prog_type: 1, expected_attach_type: None, insns, maps: &[], prog_flags: 0 }
    }

    #[test]
    fn unprivileged_loads_see_the_unprivileged_rules() {
        let ok = [insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)].concat();
        // Before the window (when the sysctl is 2 here): refused whatever the program.
        if crate::availability().is_ok() && unprivileged_bpf_disabled() == Ok(2) {
            let _no_window = lock_windows().expect("the window lock");
            if unprivileged_bpf_disabled() == Ok(2) {
                let why = load_raw_unprivileged(&socket_filter(&ok)).expect_err("sysctl 2 refuses unprivileged bpf()");
                assert!(why.contains("unprivileged_bpf_disabled = 2"), "{why}");
            }
        }
        let Some(window) = setup() else { return };
        assert_eq!(unprivileged_bpf_disabled(), Ok(0));
        // r0 = r10; exit: a pointer leak, fine for root, refused for an ordinary user.
        let leak = [insn(0xbf, 0, 10, 0, 0), insn(0x95, 0, 0, 0, 0)].concat();
        load_raw(&socket_filter(&leak)).expect("privileged: a returned pointer is allowed");
        let e = load_raw_unprivileged(&socket_filter(&leak)).expect("unprivileged thread").expect_err("leak");
        assert!(e.log.contains("R0 leaks addr as return value"), "log: {}", e.log);
        load_raw_unprivileged(&socket_filter(&ok)).expect("unprivileged thread").expect("r0 = 0; exit");
        // A window opened while another is open shares it.
        let inner = UnprivilegedBpfWindow::open().expect("a second window");
        assert_eq!(inner.original(), window.original());
        drop(inner);
        assert_eq!(unprivileged_bpf_disabled(), Ok(0), "closing the inner window keeps the outer one open");
        // kprobe programs are for CAP_PERFMON (with CAP_BPF) only.
        let kprobe = RawLoad { prog_type: 2, ..socket_filter(&ok) };
        let e = load_raw_unprivileged(&kprobe).expect("unprivileged thread").expect_err("kprobe");
        assert_eq!(e.errno, crate::Errno(libc::EPERM), "{e}");
        // This thread kept its privileges.
        load_raw(&socket_filter(&leak)).expect("still privileged after the unprivileged loads");
        let original = window.original();
        drop(window);
        assert_eq!(unprivileged_bpf_disabled(), Ok(original));
    }
}
