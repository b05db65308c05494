//! Kernel error numbers, as map operations and helpers return them.

use std::fmt;

/// A positive kernel `errno`. Helpers return it negated in r0 ([`Errno::ret`]);
/// the user-space map API returns it as the error, as `bpf(2)` would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ENXIO: Errno = Errno(6);
    pub const E2BIG: Errno = Errno(7);
    pub const EAGAIN: Errno = Errno(11);
    pub const ENOMEM: Errno = Errno(12);
    pub const EACCES: Errno = Errno(13);
    pub const EFAULT: Errno = Errno(14);
    pub const EBUSY: Errno = Errno(16);
    pub const EEXIST: Errno = Errno(17);
    pub const ENODEV: Errno = Errno(19);
    pub const EINVAL: Errno = Errno(22);
    pub const ENOSPC: Errno = Errno(28);
    pub const ERANGE: Errno = Errno(34);
    pub const EDEADLK: Errno = Errno(35);
    pub const EMSGSIZE: Errno = Errno(90);
    pub const EOPNOTSUPP: Errno = Errno(95);
    /// The kernel-internal `ENOTSUPP` (524), which leaks to user space from bpf().
    pub const ENOTSUPP: Errno = Errno(524);

    /// The value a helper returns for this error: `-errno` as a 64-bit register.
    pub const fn ret(self) -> u64 {
        (-(self.0 as i64)) as u64
    }

    /// The symbolic name (`"ENOENT"`), or `"E?"` for a number this table lacks.
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "EPERM",
            2 => "ENOENT",
            6 => "ENXIO",
            7 => "E2BIG",
            11 => "EAGAIN",
            12 => "ENOMEM",
            13 => "EACCES",
            14 => "EFAULT",
            16 => "EBUSY",
            17 => "EEXIST",
            19 => "ENODEV",
            22 => "EINVAL",
            28 => "ENOSPC",
            34 => "ERANGE",
            35 => "EDEADLK",
            90 => "EMSGSIZE",
            95 => "EOPNOTSUPP",
            524 => "ENOTSUPP",
            _ => "E?",
        }
    }

    fn describe(self) -> &'static str {
        match self.0 {
            1 => "operation not permitted",
            2 => "no such entry",
            6 => "no such device or address",
            7 => "argument list too long",
            11 => "try again",
            12 => "out of memory",
            13 => "permission denied",
            14 => "bad address",
            16 => "busy",
            17 => "entry exists",
            19 => "no such device",
            22 => "invalid argument",
            28 => "no space left",
            34 => "out of range",
            35 => "deadlock",
            90 => "message too long",
            95 => "operation not supported",
            524 => "not supported",
            _ => "unknown error",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.describe())
    }
}

impl std::error::Error for Errno {}
