//! A map fd held open, with the raw bpf() map commands and their errno as the kernel
//! returns it (`ENOENT` included): what differential tests and benchmarks need, without
//! the per-call id lookups of [`crate::inspect`] or the name lookups of
//! [`crate::KernelObject`].

use crate::error::{Errno, KernelError};
use crate::maps::{self, MapShape};
use libbpf_rs::libbpf_sys;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// An open map and its shape.
#[derive(Debug)]
pub struct MapHandle {
    fd: OwnedFd,
    shape: MapShape,
}

fn ptr_or_null(b: &[u8]) -> *const std::ffi::c_void {
    if b.is_empty() {
        std::ptr::null()
    } else {
        b.as_ptr().cast()
    }
}

fn rc(r: i32) -> Result<(), Errno> {
    if r < 0 {
        Err(Errno(-r))
    } else {
        Ok(())
    }
}

impl MapHandle {
    /// Open the map with kernel id `id`.
    pub fn from_id(id: u32) -> Result<MapHandle, KernelError> {
        let fd = crate::inspect::map_fd_by_id(id)?;
        let shape = maps::shape_of(fd.as_fd())?;
        Ok(MapHandle { fd, shape })
    }

    /// Create a map with BPF_MAP_CREATE (`flags`: `map_flags`, e.g. `BPF_F_NO_PREALLOC`).
    pub fn create(
        name: &str,
        map_type: u32,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        flags: u32,
    ) -> Result<MapHandle, KernelError> {
        let opts = libbpf_sys::bpf_map_create_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as _,
            map_flags: flags,
            ..Default::default()
        };
        let cname = std::ffi::CString::new(name)
            .map_err(|_| KernelError::BadTarget(format!("{name}: map name contains NUL")))?;
        // SAFETY: valid C string and options struct.
        let r =
            unsafe { libbpf_sys::bpf_map_create(map_type, cname.as_ptr(), key_size, value_size, max_entries, &opts) };
        if r < 0 {
            return Err(KernelError::syscall("BPF_MAP_CREATE", format!("map `{name}`"), Errno(-r)));
        }
        // SAFETY: a fresh fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(r) };
        let mut shape = maps::shape_of(fd.as_fd())?;
        shape.name = name.to_string();
        Ok(MapHandle { fd, shape })
    }

    pub fn shape(&self) -> &MapShape {
        &self.shape
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The size of the value buffer bpf() reads and writes (all CPUs' for per-CPU maps).
    pub fn value_buf_size(&self) -> usize {
        self.shape.value_buf_size().unwrap_or(self.shape.value_size as usize)
    }

    /// BPF_MAP_LOOKUP_ELEM into `out` ([`MapHandle::value_buf_size`] bytes; for a bloom
    /// filter `out` holds the value to test). An empty key is passed as NULL (queue,
    /// stack and bloom filter: peek).
    pub fn lookup_into(&self, key: &[u8], out: &mut [u8]) -> Result<(), Errno> {
        // SAFETY: the kernel reads key_size bytes of `key` and writes the value size of
        // this map into `out`; callers pass buffers of those sizes (checked by the kernel
        // only through EFAULT, so sizes are asserted here).
        assert!(key.len() == self.shape.key_size as usize && out.len() >= self.value_buf_size());
        rc(unsafe { libbpf_sys::bpf_map_lookup_elem(self.fd.as_raw_fd(), ptr_or_null(key), out.as_mut_ptr().cast()) })
    }

    /// BPF_MAP_LOOKUP_ELEM, allocating the value.
    pub fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, Errno> {
        let mut v = vec![0u8; self.value_buf_size()];
        self.lookup_into(key, &mut v)?;
        Ok(v)
    }

    /// BPF_MAP_UPDATE_ELEM (an empty key: push for queue, stack, bloom filter).
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        assert!(key.len() == self.shape.key_size as usize && value.len() == self.value_buf_size());
        // SAFETY: sizes asserted above.
        rc(unsafe {
            libbpf_sys::bpf_map_update_elem(self.fd.as_raw_fd(), ptr_or_null(key), value.as_ptr().cast(), flags)
        })
    }

    /// BPF_MAP_DELETE_ELEM.
    pub fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        assert!(key.len() == self.shape.key_size as usize);
        // SAFETY: size asserted above.
        rc(unsafe { libbpf_sys::bpf_map_delete_elem(self.fd.as_raw_fd(), ptr_or_null(key)) })
    }

    /// BPF_MAP_LOOKUP_AND_DELETE_ELEM (an empty key: pop for queue and stack).
    pub fn lookup_and_delete(&self, key: &[u8]) -> Result<Vec<u8>, Errno> {
        assert!(key.len() == self.shape.key_size as usize);
        let mut v = vec![0u8; self.value_buf_size()];
        // SAFETY: size asserted above; `v` holds the map's value buffer size.
        rc(unsafe {
            libbpf_sys::bpf_map_lookup_and_delete_elem(self.fd.as_raw_fd(), ptr_or_null(key), v.as_mut_ptr().cast())
        })?;
        Ok(v)
    }

    /// BPF_MAP_GET_NEXT_KEY: the key after `key`, the first for `None`.
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, Errno> {
        if let Some(k) = key {
            assert!(k.len() == self.shape.key_size as usize);
        }
        let mut next = vec![0u8; self.shape.key_size as usize];
        let prev = key.map_or(std::ptr::null(), |k| k.as_ptr().cast());
        // SAFETY: `next` holds key_size bytes; `prev` is NULL or key_size bytes.
        rc(unsafe { libbpf_sys::bpf_map_get_next_key(self.fd.as_raw_fd(), prev, next.as_mut_ptr().cast()) })?;
        Ok(next)
    }
}
