//! bpfbox-kernel: the only bpfbox crate that talks to the running kernel (bpf(), perf
//! events, netlink), built on libbpf-rs so that opening, relocating, loading,
//! attaching and test runs behave exactly as libbpf does.
//!
//! - [`KernelObject`]: an ELF object opened and loaded with libbpf; test runs, maps.
//! - [`inspect`]: programs, maps and links by id, as bpftool shows them.
//! - [`attach`]: attaching a loaded program to xdp, tc, tracepoints, uprobes, perf
//!   events and cgroups; pins and detaching.
//! - [`events`]: ring-buffer, perf-buffer and trace_pipe streaming.
//! - [`netns`]: network namespaces made for a run (`--world`), deleted on drop.
//! - [`facts`]: the running kernel's facts (which helpers each program type may call),
//!   stamped with its release and BTF hash.
//!
//! Errors are [`KernelError`]s that keep the errno, program, section and the whole
//! verifier log.

pub mod attach;
mod error;
pub mod events;
pub mod facts;
mod handle;
pub mod inspect;
mod maps;
pub mod netns;
mod object;
pub mod raw;
pub mod sys;
pub mod types;
pub mod unpriv;

pub use error::{Errno, KernelError, LoadError, LOG_TAIL_LINES};
pub use handle::MapHandle;
pub use maps::{Entries, MapShape};
pub use object::{
    KernelObject, MapDump, MapPinning, MapSummary, OpenOptions, ProgramSummary, TestRunInput, TestRunOutput,
};
pub use raw::{load_raw, verdict_raw, RawLoad, RawLoadError, RawMap};
pub use unpriv::{load_raw_unprivileged, UnprivilegedBpfWindow};

use std::sync::OnceLock;

/// The number of possible CPUs: per-CPU map values hold this many values (each rounded
/// up to 8 bytes). Falls back to the online CPU count if sysfs cannot be read.
pub fn possible_cpus() -> usize {
    match sys::possible_cpus() {
        Ok(n) if n > 0 => n,
        _ => sys::online_cpus().len().max(1),
    }
}

/// Whether this process can use the kernel's bpf(): `Err(reason)` when not (not root,
/// no bpf() syscall, ...). Loads and unloads a two-instruction socket filter once.
pub fn availability() -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT.get_or_init(probe).clone()
}

/// For tests and benchmarks that need the kernel: `true` when [`availability`] is
/// `Ok`; otherwise prints `SKIP: <reason>` and returns `false` — or panics when the
/// environment has `CI=true`, where the kernel is required.
pub fn available_or_skip() -> bool {
    match availability() {
        Ok(()) => true,
        Err(why) => {
            assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "kernel unavailable in CI: {why}");
            println!("SKIP: {why}");
            false
        }
    }
}

fn probe() -> Result<(), String> {
    use libbpf_rs::libbpf_sys;
    #[cfg(not(target_os = "linux"))]
    return Err("the kernel backend needs Linux".to_string());
    sys::init_libbpf_log();
    // r0 = 0; exit
    let insns = [
        libbpf_sys::bpf_insn { code: 0xb7, ..Default::default() },
        libbpf_sys::bpf_insn { code: 0x95, ..Default::default() },
    ];
    let license = c"GPL";
    let name = c"bpfbox_probe";
    // SAFETY: valid instruction array, NUL-terminated strings, no options.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            libbpf_sys::BPF_PROG_TYPE_SOCKET_FILTER,
            name.as_ptr(),
            license.as_ptr(),
            insns.as_ptr(),
            insns.len() as _,
            std::ptr::null_mut(),
        )
    };
    let _ = sys::take_libbpf_log();
    if fd >= 0 {
        // SAFETY: our own fresh fd.
        unsafe { libc::close(fd) };
        return Ok(());
    }
    let errno = Errno(-fd);
    // SAFETY: no arguments.
    let euid = unsafe { libc::geteuid() };
    Err(match errno.0 {
        libc::ENOSYS => "the kernel has no bpf() syscall (ENOSYS)".to_string(),
        libc::EPERM | libc::EACCES if euid != 0 => {
            format!("bpf() needs root (or CAP_BPF): running as uid {euid}, got {}", errno.name())
        }
        _ => format!("bpf() is not usable: loading a trivial socket filter failed with {errno}"),
    })
}
