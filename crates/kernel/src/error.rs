//! Errors of the kernel crate: every variant keeps the evidence (errno, program and
//! section, the verifier log); only the CLI turns them into prose for users.

use std::fmt;
use std::path::PathBuf;

/// An errno value, displayed with its symbolic name (`EACCES (Permission denied)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The errno of the last failed libc call on this thread.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// The symbolic name (`EPERM`), or `E<number>` for one without a name here.
    pub fn name(self) -> String {
        let n = match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::ESRCH => "ESRCH",
            libc::EINTR => "EINTR",
            libc::EIO => "EIO",
            libc::ENXIO => "ENXIO",
            libc::E2BIG => "E2BIG",
            libc::ENOEXEC => "ENOEXEC",
            libc::EBADF => "EBADF",
            libc::EAGAIN => "EAGAIN",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::EXDEV => "EXDEV",
            libc::ENODEV => "ENODEV",
            libc::ENOTDIR => "ENOTDIR",
            libc::EISDIR => "EISDIR",
            libc::EINVAL => "EINVAL",
            libc::ENFILE => "ENFILE",
            libc::EMFILE => "EMFILE",
            libc::ENOTTY => "ENOTTY",
            libc::EFBIG => "EFBIG",
            libc::ENOSPC => "ENOSPC",
            libc::ESPIPE => "ESPIPE",
            libc::EROFS => "EROFS",
            libc::ERANGE => "ERANGE",
            libc::EDEADLK => "EDEADLK",
            libc::ENAMETOOLONG => "ENAMETOOLONG",
            libc::ENOSYS => "ENOSYS",
            libc::ENOTEMPTY => "ENOTEMPTY",
            libc::ELOOP => "ELOOP",
            libc::ENOMSG => "ENOMSG",
            libc::ENODATA => "ENODATA",
            libc::EBADMSG => "EBADMSG",
            libc::EOVERFLOW => "EOVERFLOW",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            libc::EAFNOSUPPORT => "EAFNOSUPPORT",
            libc::EADDRINUSE => "EADDRINUSE",
            libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
            libc::ENETDOWN => "ENETDOWN",
            libc::ETIMEDOUT => "ETIMEDOUT",
            libc::EALREADY => "EALREADY",
            libc::ECANCELED => "ECANCELED",
            libc::EPROTO => "EPROTO",
            libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
            // Kernel-internal codes that bpf() does return to user space.
            524 => "ENOTSUPP",
            4007 => "LIBBPF_ERRNO__PROG2BIG",
            4000 => "LIBBPF_ERRNO__LIBELF",
            4001 => "LIBBPF_ERRNO__FORMAT",
            4002 => "LIBBPF_ERRNO__KVERSION",
            4003 => "LIBBPF_ERRNO__ENDIAN",
            4004 => "LIBBPF_ERRNO__INTERNAL",
            4005 => "LIBBPF_ERRNO__RELOC",
            4006 => "LIBBPF_ERRNO__LOAD",
            4008 => "LIBBPF_ERRNO__KVER",
            4009 => "LIBBPF_ERRNO__PROGTYPE",
            4010 => "LIBBPF_ERRNO__WRNGPID",
            4011 => "LIBBPF_ERRNO__INVSEQ",
            4012 => "LIBBPF_ERRNO__NLPARSE",
            _ => return format!("E{}", self.0),
        };
        n.to_string()
    }

    /// The C library's description (`Permission denied`).
    pub fn description(self) -> String {
        match self.0 {
            524 => "Operation not supported by this program or map type".to_string(),
            _ => {
                let s = std::io::Error::from_raw_os_error(self.0).to_string();
                match s.rfind(" (os error") {
                    Some(i) => s[..i].to_string(),
                    None => s,
                }
            }
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

/// The kernel refused to load a program: everything needed to understand why.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// The object file.
    pub path: PathBuf,
    /// The program the kernel (or libbpf) refused, when known.
    pub program: Option<String>,
    /// Its ELF section.
    pub section: Option<String>,
    /// Its program type (libbpf's name, e.g. `xdp`).
    pub prog_type: Option<String>,
    pub errno: Errno,
    /// The kernel verifier log, whole (empty when the kernel gave none).
    pub verifier_log: String,
    /// What libbpf reported during the load (warnings), whole.
    pub libbpf_log: String,
}

/// How many verifier-log lines `Display` shows.
pub const LOG_TAIL_LINES: usize = 20;

impl LoadError {
    /// The last `n` non-empty lines of the verifier log.
    pub fn log_tail(&self, n: usize) -> Vec<&str> {
        tail_lines(&self.verifier_log, n)
    }

    /// The most telling line of what libbpf said (when there is no verifier log).
    pub fn libbpf_summary(&self) -> Option<&str> {
        let lines: Vec<&str> = self.libbpf_log.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        // The first warning is usually the cause; later ones repeat it ("failed to load object").
        lines
            .iter()
            .copied()
            .find(|l| !l.contains("failed to load object") && !l.contains("BPF program load failed"))
            .or_else(|| lines.first().copied())
    }
}

pub(crate) fn tail_lines(s: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].to_vec()
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.verifier_log.is_empty() { "could not load" } else { "the kernel verifier rejected" };
        match &self.program {
            Some(p) => write!(f, "{}: {verdict} program `{p}`", self.path.display())?,
            None => write!(f, "{}: {verdict} the object", self.path.display())?,
        }
        if let Some(s) = &self.section {
            write!(f, " (section `{s}`")?;
            if let Some(t) = &self.prog_type {
                write!(f, ", type {t}")?;
            }
            write!(f, ")")?;
        }
        write!(f, ": {}", self.errno)?;
        if self.verifier_log.is_empty() {
            if let Some(l) = self.libbpf_summary() {
                write!(f, "\n  {l}")?;
            }
        }
        for l in self.log_tail(LOG_TAIL_LINES) {
            write!(f, "\n  | {l}")?;
        }
        Ok(())
    }
}

/// What failed, with its evidence.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The kernel's bpf() is not usable here (not root, no syscall).
    #[error("{0}")]
    Unavailable(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// libbpf could not open (parse) the object.
    #[error("{}: not a loadable BPF object: {errno}{}", path.display(), fmt_detail(detail))]
    Open { path: PathBuf, errno: Errno, detail: String },
    /// The kernel (usually its verifier) or libbpf refused to load a program.
    #[error("{0}")]
    Load(Box<LoadError>),
    #[error("no program named `{name}` (the object has: {})", list(available))]
    NoSuchProgram { name: String, available: Vec<String> },
    #[error("no map named `{name}` (the object has: {})", list(available))]
    NoSuchMap { name: String, available: Vec<String> },
    #[error("unknown program type `{name}` (try xdp, sched_cls, socket_filter, cgroup_skb, tracepoint, ...)")]
    UnknownProgType { name: String },
    /// A bpf() (or perf, netlink) operation failed.
    #[error("{op} on {target}: {errno}")]
    Syscall { op: &'static str, target: String, errno: Errno },
    /// A key or value of the wrong size.
    #[error("{what} must be {expected} bytes, got {got}")]
    Size { what: &'static str, expected: usize, got: usize },
    /// No kernel object with this id (or path).
    #[error("no {kind} with id {id}")]
    NoSuchId { kind: &'static str, id: u32 },
    #[error("no network interface named `{name}`{}", fmt_netns(netns))]
    NoInterface { name: String, netns: Option<String> },
    #[error("{}: not a cgroup v2 directory: {reason}", path.display())]
    BadCgroup { path: PathBuf, reason: String },
    /// The program's type cannot be attached to that kind of target.
    #[error("program `{prog}` has type {prog_type}, which cannot attach to a {target} target (it needs {needs})")]
    Incompatible { prog: String, prog_type: String, target: &'static str, needs: String },
    /// Attaching failed in the kernel.
    #[error("attaching `{prog}` to {target}: {errno}{}", fmt_detail(detail))]
    Attach { prog: String, target: String, errno: Errno, detail: String },
    /// A target description that cannot be used (bad tracepoint name, unknown symbol, ...).
    #[error("{0}")]
    BadTarget(String),
    #[error("{}: {errno}{}", path.display(), fmt_detail(detail))]
    Pin { path: PathBuf, errno: Errno, detail: String },
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

fn fmt_detail(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(" ({d})")
    }
}

fn fmt_netns(n: &Option<String>) -> String {
    match n {
        Some(n) => format!(" in network namespace `{n}`"),
        None => String::new(),
    }
}

impl KernelError {
    /// True when the kernel refused the program or the operation (exit 1 in the CLI);
    /// false for unusable input or usage (exit 2).
    pub fn is_kernel_rejection(&self) -> bool {
        matches!(self, KernelError::Load(_) | KernelError::Attach { .. } | KernelError::Syscall { .. })
    }

    /// The whole verifier log, when this is a load failure that has one.
    pub fn verifier_log(&self) -> Option<&str> {
        match self {
            KernelError::Load(l) if !l.verifier_log.is_empty() => Some(&l.verifier_log),
            _ => None,
        }
    }

    /// The errno, when the failure came with one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            KernelError::Open { errno, .. }
            | KernelError::Syscall { errno, .. }
            | KernelError::Attach { errno, .. }
            | KernelError::Pin { errno, .. } => Some(*errno),
            KernelError::Load(l) => Some(l.errno),
            KernelError::Io { source, .. } => source.raw_os_error().map(Errno),
            _ => None,
        }
    }

    pub(crate) fn syscall(op: &'static str, target: impl Into<String>, errno: Errno) -> KernelError {
        KernelError::Syscall { op, target: target.into(), errno }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(Errno(13).to_string(), "EACCES (Permission denied)");
        assert_eq!(Errno(1).name(), "EPERM");
        assert_eq!(Errno(524).name(), "ENOTSUPP");
        assert_eq!(Errno(9999).name(), "E9999");
    }

    #[test]
    fn load_error_shows_tail() {
        let log: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let e = LoadError {
            path: "x.o".into(),
            program: Some("p".into()),
            section: Some("xdp".into()),
            prog_type: Some("xdp".into()),
            errno: Errno(13),
            verifier_log: log,
            libbpf_log: String::new(),
        };
        let s = e.to_string();
        assert!(s.starts_with("x.o: the kernel verifier rejected program `p` (section `xdp`, type xdp): EACCES"));
        assert!(s.contains("| line 49") && s.contains("| line 30") && !s.contains("| line 29"));
    }
}
