//! Map operations on a map file descriptor (bpf() lookup/update/delete/next_key),
//! shared by loaded objects and maps found by id.

use crate::error::{Errno, KernelError};
use crate::sys;
use std::os::fd::{AsRawFd, BorrowedFd};

/// A map's (key, value) pairs.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// The shape of a map, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapShape {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

impl MapShape {
    /// Per-CPU maps hold one value per possible CPU.
    pub fn is_percpu(&self) -> bool {
        libbpf_rs::MapType::from(self.map_type).is_percpu()
    }

    /// The size of the value buffer bpf() reads and writes: `value_size`, or for
    /// per-CPU maps `round_up(value_size, 8)` for every possible CPU.
    pub fn value_buf_size(&self) -> Result<usize, KernelError> {
        if self.is_percpu() {
            Ok(round_up8(self.value_size as usize) * sys::possible_cpus()?)
        } else {
            Ok(self.value_size as usize)
        }
    }
}

pub(crate) fn round_up8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// The kernel's view of the map behind `fd`.
pub(crate) fn shape_of(fd: BorrowedFd<'_>) -> Result<MapShape, KernelError> {
    let info = map_info(fd)?;
    Ok(MapShape {
        name: crate::inspect::c_name(&info.name),
        map_type: info.type_,
        key_size: info.key_size,
        value_size: info.value_size,
        max_entries: info.max_entries,
    })
}

pub(crate) fn map_info(fd: BorrowedFd<'_>) -> Result<libbpf_rs::libbpf_sys::bpf_map_info, KernelError> {
    let mut info = libbpf_rs::libbpf_sys::bpf_map_info::default();
    let mut len = std::mem::size_of_val(&info) as u32;
    // SAFETY: `info` is a writable bpf_map_info of `len` bytes.
    let rc = unsafe { libbpf_rs::libbpf_sys::bpf_map_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) };
    if rc != 0 {
        return Err(KernelError::syscall("BPF_OBJ_GET_INFO_BY_FD", "map", Errno(-rc)));
    }
    Ok(info)
}

fn check_key(shape: &MapShape, key: &[u8]) -> Result<(), KernelError> {
    if key.len() != shape.key_size as usize {
        return Err(KernelError::Size { what: "the key", expected: shape.key_size as usize, got: key.len() });
    }
    Ok(())
}

fn key_ptr(key: &[u8]) -> *const std::ffi::c_void {
    if key.is_empty() {
        std::ptr::null()
    } else {
        key.as_ptr().cast()
    }
}

/// Look up `key`; `None` when it is absent.
pub(crate) fn lookup(fd: BorrowedFd<'_>, shape: &MapShape, key: &[u8]) -> Result<Option<Vec<u8>>, KernelError> {
    check_key(shape, key)?;
    let mut value = vec![0u8; shape.value_buf_size()?];
    // SAFETY: key has key_size bytes, value the size the kernel writes for this map.
    let rc =
        unsafe { libbpf_rs::libbpf_sys::bpf_map_lookup_elem(fd.as_raw_fd(), key_ptr(key), value.as_mut_ptr().cast()) };
    if rc != 0 {
        let errno = Errno(-rc);
        if errno.0 == libc::ENOENT {
            return Ok(None);
        }
        return Err(KernelError::syscall("BPF_MAP_LOOKUP_ELEM", format!("map `{}`", shape.name), errno));
    }
    Ok(Some(value))
}

/// Update (or insert) `key` with `value` (all CPUs' values concatenated for per-CPU maps).
pub(crate) fn update(
    fd: BorrowedFd<'_>,
    shape: &MapShape,
    key: &[u8],
    value: &[u8],
    flags: u64,
) -> Result<(), KernelError> {
    check_key(shape, key)?;
    let want = shape.value_buf_size()?;
    if value.len() != want {
        let what = if shape.is_percpu() { "the value (one rounded-up value per possible CPU)" } else { "the value" };
        return Err(KernelError::Size { what, expected: want, got: value.len() });
    }
    // SAFETY: sizes checked above.
    let rc = unsafe {
        libbpf_rs::libbpf_sys::bpf_map_update_elem(fd.as_raw_fd(), key_ptr(key), value.as_ptr().cast(), flags)
    };
    if rc != 0 {
        return Err(KernelError::syscall("BPF_MAP_UPDATE_ELEM", format!("map `{}`", shape.name), Errno(-rc)));
    }
    Ok(())
}

/// Delete `key`.
pub(crate) fn delete(fd: BorrowedFd<'_>, shape: &MapShape, key: &[u8]) -> Result<(), KernelError> {
    check_key(shape, key)?;
    // SAFETY: key size checked.
    let rc = unsafe { libbpf_rs::libbpf_sys::bpf_map_delete_elem(fd.as_raw_fd(), key_ptr(key)) };
    if rc != 0 {
        return Err(KernelError::syscall("BPF_MAP_DELETE_ELEM", format!("map `{}`", shape.name), Errno(-rc)));
    }
    Ok(())
}

/// Every (key, value) pair; empty for maps whose elements user space cannot read
/// (ring buffers, perf event arrays, program arrays, queues).
pub(crate) fn entries(fd: BorrowedFd<'_>, shape: &MapShape) -> Result<Entries, KernelError> {
    use libbpf_rs::MapType;
    match MapType::from(shape.map_type) {
        MapType::RingBuf
        | MapType::UserRingBuf
        | MapType::PerfEventArray
        | MapType::ProgArray
        | MapType::Queue
        | MapType::Stack
        | MapType::BloomFilter
        | MapType::StructOps
        | MapType::Arena => return Ok(Vec::new()),
        _ => {}
    }
    if shape.key_size == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut prev: Option<Vec<u8>> = None;
    let mut next = vec![0u8; shape.key_size as usize];
    let limit = shape.max_entries as usize * 2 + 16;
    while out.len() < limit {
        let prev_ptr = prev.as_ref().map_or(std::ptr::null(), |k| k.as_ptr().cast());
        // SAFETY: `next` holds key_size bytes; `prev` is a previous key or NULL.
        let rc =
            unsafe { libbpf_rs::libbpf_sys::bpf_map_get_next_key(fd.as_raw_fd(), prev_ptr, next.as_mut_ptr().cast()) };
        if rc != 0 {
            let errno = Errno(-rc);
            if errno.0 == libc::ENOENT {
                break;
            }
            if out.is_empty() && (errno.0 == libc::EINVAL || errno.0 == libc::EOPNOTSUPP || errno.0 == 524) {
                return Ok(Vec::new());
            }
            return Err(KernelError::syscall("BPF_MAP_GET_NEXT_KEY", format!("map `{}`", shape.name), errno));
        }
        match lookup(fd, shape, &next) {
            Ok(Some(v)) => out.push((next.clone(), v)),
            // Deleted since we saw its key, or a map whose values cannot be read.
            Ok(None) => {}
            Err(KernelError::Syscall { errno, .. })
                if errno.0 == libc::EOPNOTSUPP || errno.0 == 524 || errno.0 == libc::EPERM =>
            {
                return Ok(Vec::new())
            }
            Err(e) => return Err(e),
        }
        prev = Some(next.clone());
    }
    Ok(out)
}
