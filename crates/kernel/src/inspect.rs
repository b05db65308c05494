//! Programs, maps and links loaded in the kernel, found by id as bpftool finds them.

use crate::error::{Errno, KernelError};
use crate::maps::{self, MapShape};
use crate::types;
use libbpf_rs::libbpf_sys;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

/// A loaded program, with bpftool's `prog show` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    pub id: u32,
    pub prog_type: u32,
    /// libbpf's type name (`xdp`, `sched_cls`).
    pub type_name: String,
    pub name: String,
    pub tag: [u8; 8],
    pub gpl_compatible: bool,
    /// Wall-clock load time, seconds since the epoch (bpftool's `loaded_at`).
    pub loaded_at: u64,
    pub uid: u32,
    pub bytes_xlated: u32,
    pub jited: bool,
    pub bytes_jited: u32,
    /// From the fd's fdinfo (`memlock:`), when the kernel reports it.
    pub bytes_memlock: Option<u64>,
    pub map_ids: Vec<u32>,
    /// 0 when the program has no BTF.
    pub btf_id: u32,
    pub run_cnt: u64,
    pub run_time_ns: u64,
    pub verified_insns: u32,
}

impl ProgInfo {
    /// The tag as bpftool prints it (16 hex digits).
    pub fn tag_hex(&self) -> String {
        self.tag.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A map, with bpftool's `map show` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    pub id: u32,
    pub map_type: u32,
    pub type_name: String,
    pub name: String,
    pub flags: u32,
    pub bytes_key: u32,
    pub bytes_value: u32,
    pub max_entries: u32,
    pub bytes_memlock: Option<u64>,
    pub frozen: bool,
    pub btf_id: u32,
}

/// A bpf link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub id: u32,
    pub link_type: u32,
    pub type_name: String,
    pub prog_id: u32,
}

pub(crate) fn c_name(raw: &[std::os::raw::c_char]) -> String {
    let bytes: Vec<u8> = raw.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn fd_from(rc: i32, kind: &'static str, id: u32) -> Result<OwnedFd, KernelError> {
    if rc < 0 {
        let errno = Errno(-rc);
        if errno.0 == libc::ENOENT {
            return Err(KernelError::NoSuchId { kind, id });
        }
        return Err(KernelError::syscall("BPF_*_GET_FD_BY_ID", format!("{kind} {id}"), errno));
    }
    // SAFETY: a fresh fd returned by the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(rc) })
}

/// An fd for the program with this id.
pub fn prog_fd_by_id(id: u32) -> Result<OwnedFd, KernelError> {
    // SAFETY: plain syscall wrapper.
    fd_from(unsafe { libbpf_sys::bpf_prog_get_fd_by_id(id) }, "program", id)
}

/// An fd for the map with this id.
pub fn map_fd_by_id(id: u32) -> Result<OwnedFd, KernelError> {
    // SAFETY: plain syscall wrapper.
    fd_from(unsafe { libbpf_sys::bpf_map_get_fd_by_id(id) }, "map", id)
}

/// An fd for the link with this id.
pub fn link_fd_by_id(id: u32) -> Result<OwnedFd, KernelError> {
    // SAFETY: plain syscall wrapper.
    fd_from(unsafe { libbpf_sys::bpf_link_get_fd_by_id(id) }, "link", id)
}

type NextId = unsafe extern "C" fn(u32, *mut u32) -> i32;

fn all_ids(next: NextId, what: &'static str) -> Result<Vec<u32>, KernelError> {
    let mut ids = Vec::new();
    let mut cur = 0u32;
    loop {
        let mut n = 0u32;
        // SAFETY: plain syscall wrapper with an out pointer.
        let rc = unsafe { next(cur, &mut n) };
        if rc != 0 {
            let errno = Errno(-rc);
            if errno.0 == libc::ENOENT {
                break;
            }
            return Err(KernelError::syscall(what, "the kernel", errno));
        }
        ids.push(n);
        cur = n;
    }
    Ok(ids)
}

/// The ids of every loaded program.
pub fn prog_ids() -> Result<Vec<u32>, KernelError> {
    all_ids(libbpf_sys::bpf_prog_get_next_id, "BPF_PROG_GET_NEXT_ID")
}

/// The ids of every map.
pub fn map_ids() -> Result<Vec<u32>, KernelError> {
    all_ids(libbpf_sys::bpf_map_get_next_id, "BPF_MAP_GET_NEXT_ID")
}

/// The ids of every link.
pub fn link_ids() -> Result<Vec<u32>, KernelError> {
    all_ids(libbpf_sys::bpf_link_get_next_id, "BPF_LINK_GET_NEXT_ID")
}

fn raw_prog_info(fd: BorrowedFd<'_>, info: &mut libbpf_sys::bpf_prog_info) -> Result<(), KernelError> {
    let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is writable and its pointers (if any) point to buffers of the sizes given.
    let rc = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd.as_raw_fd(), info, &mut len) };
    if rc != 0 {
        return Err(KernelError::syscall("BPF_OBJ_GET_INFO_BY_FD", "program", Errno(-rc)));
    }
    Ok(())
}

pub(crate) fn prog_id_of_fd(fd: BorrowedFd<'_>) -> Result<u32, KernelError> {
    let mut info = libbpf_sys::bpf_prog_info::default();
    raw_prog_info(fd, &mut info)?;
    Ok(info.id)
}

/// `memlock:` (and other numeric fields) of an fd's /proc/self/fdinfo entry.
fn fdinfo_field(fd: BorrowedFd<'_>, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if k.trim() == field {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

/// Nanoseconds from boot to the Unix epoch: realtime minus boottime, now.
fn boot_to_epoch_ns() -> i128 {
    let mut rt: libc::timespec = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    let mut bt: libc::timespec = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writable timespecs.
    unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut rt);
        libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut bt);
    }
    let ns = |t: libc::timespec| t.tv_sec as i128 * 1_000_000_000 + t.tv_nsec as i128;
    ns(rt) - ns(bt)
}

/// What bpftool shows for the program behind `fd`.
pub fn prog_info_fd(fd: BorrowedFd<'_>) -> Result<ProgInfo, KernelError> {
    let mut info = libbpf_sys::bpf_prog_info::default();
    raw_prog_info(fd, &mut info)?;
    let mut map_ids = vec![0u32; info.nr_map_ids as usize];
    if !map_ids.is_empty() {
        let nr = info.nr_map_ids;
        let mut again =
            libbpf_sys::bpf_prog_info { nr_map_ids: nr, map_ids: map_ids.as_mut_ptr() as u64, ..Default::default() };
        raw_prog_info(fd, &mut again)?;
        map_ids.truncate(again.nr_map_ids.min(nr) as usize);
    }
    let loaded_ns = boot_to_epoch_ns() + info.load_time as i128;
    Ok(ProgInfo {
        id: info.id,
        prog_type: info.type_,
        type_name: types::prog_type_name(info.type_),
        name: c_name(&info.name),
        tag: info.tag,
        gpl_compatible: info.gpl_compatible() != 0,
        loaded_at: (loaded_ns / 1_000_000_000).max(0) as u64,
        uid: info.created_by_uid,
        bytes_xlated: info.xlated_prog_len,
        jited: info.jited_prog_len > 0,
        bytes_jited: info.jited_prog_len,
        bytes_memlock: fdinfo_field(fd, "memlock"),
        map_ids,
        btf_id: info.btf_id,
        run_cnt: info.run_cnt,
        run_time_ns: info.run_time_ns,
        verified_insns: info.verified_insns,
    })
}

/// What bpftool shows for program `id`.
pub fn prog_info(id: u32) -> Result<ProgInfo, KernelError> {
    let fd = prog_fd_by_id(id)?;
    prog_info_fd(fd.as_fd())
}

/// Every loaded program (programs that vanish while listing are skipped).
pub fn prog_list() -> Result<Vec<ProgInfo>, KernelError> {
    let mut out = Vec::new();
    for id in prog_ids()? {
        match prog_info(id) {
            Ok(i) => out.push(i),
            Err(KernelError::NoSuchId { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The kernel's translated instructions of program `id` (after the verifier's
/// rewrites; map addresses shown as map ids), as raw 8-byte slots.
pub fn prog_xlated(id: u32) -> Result<Vec<u8>, KernelError> {
    let fd = prog_fd_by_id(id)?;
    let mut info = libbpf_sys::bpf_prog_info::default();
    raw_prog_info(fd.as_fd(), &mut info)?;
    let mut buf = vec![0u8; info.xlated_prog_len as usize];
    if buf.is_empty() {
        return Ok(buf);
    }
    let mut again = libbpf_sys::bpf_prog_info {
        xlated_prog_len: buf.len() as u32,
        xlated_prog_insns: buf.as_mut_ptr() as u64,
        ..Default::default()
    };
    raw_prog_info(fd.as_fd(), &mut again)?;
    buf.truncate(again.xlated_prog_len.min(buf.len() as u32) as usize);
    Ok(buf)
}

/// The JIT's native code of program `id` (empty when not JIT-compiled).
pub fn prog_jited(id: u32) -> Result<Vec<u8>, KernelError> {
    let fd = prog_fd_by_id(id)?;
    let mut info = libbpf_sys::bpf_prog_info::default();
    raw_prog_info(fd.as_fd(), &mut info)?;
    let mut buf = vec![0u8; info.jited_prog_len as usize];
    if buf.is_empty() {
        return Ok(buf);
    }
    let mut again = libbpf_sys::bpf_prog_info {
        jited_prog_len: buf.len() as u32,
        jited_prog_insns: buf.as_mut_ptr() as u64,
        ..Default::default()
    };
    raw_prog_info(fd.as_fd(), &mut again)?;
    buf.truncate(again.jited_prog_len.min(buf.len() as u32) as usize);
    Ok(buf)
}

/// What bpftool shows for the map behind `fd`.
pub fn map_info_fd(fd: BorrowedFd<'_>) -> Result<MapInfo, KernelError> {
    let info = maps::map_info(fd)?;
    Ok(MapInfo {
        id: info.id,
        map_type: info.type_,
        type_name: types::map_type_name(info.type_),
        name: c_name(&info.name),
        flags: info.map_flags,
        bytes_key: info.key_size,
        bytes_value: info.value_size,
        max_entries: info.max_entries,
        bytes_memlock: fdinfo_field(fd, "memlock"),
        frozen: fdinfo_field(fd, "frozen").unwrap_or(0) != 0,
        btf_id: info.btf_id,
    })
}

/// What bpftool shows for map `id`.
pub fn map_info(id: u32) -> Result<MapInfo, KernelError> {
    let fd = map_fd_by_id(id)?;
    map_info_fd(fd.as_fd())
}

/// Every map.
pub fn map_list() -> Result<Vec<MapInfo>, KernelError> {
    let mut out = Vec::new();
    for id in map_ids()? {
        match map_info(id) {
            Ok(i) => out.push(i),
            Err(KernelError::NoSuchId { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn shape_by_id(id: u32) -> Result<(OwnedFd, MapShape), KernelError> {
    let fd = map_fd_by_id(id)?;
    let mut shape = maps::shape_of(fd.as_fd())?;
    shape.name = format!("{} (id {id})", shape.name);
    Ok((fd, shape))
}

/// Look up `key` in map `id`.
pub fn map_lookup(id: u32, key: &[u8]) -> Result<Option<Vec<u8>>, KernelError> {
    let (fd, shape) = shape_by_id(id)?;
    maps::lookup(fd.as_fd(), &shape, key)
}

/// Update `key` in map `id` (per-CPU maps: every possible CPU's value concatenated).
pub fn map_update(id: u32, key: &[u8], value: &[u8], flags: u64) -> Result<(), KernelError> {
    let (fd, shape) = shape_by_id(id)?;
    maps::update(fd.as_fd(), &shape, key, value, flags)
}

/// Delete `key` from map `id`.
pub fn map_delete(id: u32, key: &[u8]) -> Result<(), KernelError> {
    let (fd, shape) = shape_by_id(id)?;
    maps::delete(fd.as_fd(), &shape, key)
}

/// Every (key, value) of map `id`, with its shape.
pub fn map_entries(id: u32) -> Result<(MapShape, maps::Entries), KernelError> {
    let (fd, shape) = shape_by_id(id)?;
    let entries = maps::entries(fd.as_fd(), &shape)?;
    Ok((shape, entries))
}

/// What the kernel says about the link behind `fd`.
pub fn link_info_fd(fd: BorrowedFd<'_>) -> Result<LinkInfo, KernelError> {
    let mut info = libbpf_sys::bpf_link_info::default();
    let mut len = std::mem::size_of_val(&info) as u32;
    // SAFETY: writable bpf_link_info of `len` bytes.
    let rc = unsafe { libbpf_sys::bpf_link_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) };
    if rc != 0 {
        return Err(KernelError::syscall("BPF_OBJ_GET_INFO_BY_FD", "link", Errno(-rc)));
    }
    Ok(LinkInfo {
        id: info.id,
        link_type: info.type_,
        type_name: types::link_type_name(info.type_),
        prog_id: info.prog_id,
    })
}

/// Every bpf link.
pub fn link_list() -> Result<Vec<LinkInfo>, KernelError> {
    let mut out = Vec::new();
    for id in link_ids()? {
        let fd = match link_fd_by_id(id) {
            Ok(fd) => fd,
            Err(KernelError::NoSuchId { .. }) => continue,
            Err(e) => return Err(e),
        };
        out.push(link_info_fd(fd.as_fd())?);
    }
    Ok(out)
}

/// What a bpffs pin holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinnedObject {
    Program(ProgInfo),
    Map(MapInfo),
    Link(LinkInfo),
}

/// Open a pinned object and say what it is.
pub fn pinned(path: &Path) -> Result<(OwnedFd, PinnedObject), KernelError> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| KernelError::BadTarget(format!("{}: path contains NUL", path.display())))?;
    // SAFETY: valid C string.
    let rc = unsafe { libbpf_sys::bpf_obj_get(c.as_ptr()) };
    if rc < 0 {
        return Err(KernelError::Pin { path: path.to_path_buf(), errno: Errno(-rc), detail: "not a bpffs pin".into() });
    }
    // SAFETY: a fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(rc) };
    // BPF_OBJ_GET_INFO_BY_FD answers for any kind of fd; fdinfo says which kind it is.
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap_or_default();
    if text.contains("link_type:") {
        let l = link_info_fd(fd.as_fd())?;
        return Ok((fd, PinnedObject::Link(l)));
    }
    if text.contains("prog_type:") {
        let p = prog_info_fd(fd.as_fd())?;
        return Ok((fd, PinnedObject::Program(p)));
    }
    let m = map_info_fd(fd.as_fd())?;
    Ok((fd, PinnedObject::Map(m)))
}

/// A map's BTF as the kernel holds it: the raw BTF of the object that created the
/// map (self-contained for objects loaded by libbpf) and the key and value type ids
/// in it (0 when the map names no type for the key or value, e.g. `.data` keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapBtf {
    pub raw: Vec<u8>,
    pub key_type_id: u32,
    pub value_type_id: u32,
}

/// An fd for the BTF object with this id.
pub fn btf_fd_by_id(id: u32) -> Result<OwnedFd, KernelError> {
    // SAFETY: plain syscall wrapper.
    fd_from(unsafe { libbpf_sys::bpf_btf_get_fd_by_id(id) }, "BTF object", id)
}

fn raw_btf_info(fd: BorrowedFd<'_>, info: &mut libbpf_sys::bpf_btf_info) -> Result<(), KernelError> {
    let mut len = std::mem::size_of::<libbpf_sys::bpf_btf_info>() as u32;
    // SAFETY: `info` is writable and its `btf` pointer (if set) points to `btf_size` bytes.
    let rc = unsafe { libbpf_sys::bpf_btf_get_info_by_fd(fd.as_raw_fd(), info, &mut len) };
    if rc != 0 {
        return Err(KernelError::syscall("BPF_OBJ_GET_INFO_BY_FD", "BTF object", Errno(-rc)));
    }
    Ok(())
}

/// The raw data (header, types, strings) of the BTF object behind `fd`: the size
/// first, then the bytes (BPF_OBJ_GET_INFO_BY_FD twice, as bpftool does).
pub fn btf_raw_fd(fd: BorrowedFd<'_>) -> Result<Vec<u8>, KernelError> {
    let mut info = libbpf_sys::bpf_btf_info::default();
    raw_btf_info(fd, &mut info)?;
    let mut buf = vec![0u8; info.btf_size as usize];
    if buf.is_empty() {
        return Ok(buf);
    }
    let mut again =
        libbpf_sys::bpf_btf_info { btf: buf.as_mut_ptr() as u64, btf_size: buf.len() as u32, ..Default::default() };
    raw_btf_info(fd, &mut again)?;
    buf.truncate(again.btf_size.min(buf.len() as u32) as usize);
    Ok(buf)
}

/// The raw data of BTF object `id`.
pub fn btf_raw(id: u32) -> Result<Vec<u8>, KernelError> {
    let fd = btf_fd_by_id(id)?;
    btf_raw_fd(fd.as_fd())
}

/// The BTF of the map behind `fd`; `None` when the map has none (no `btf_id`, or
/// neither a key nor a value type).
pub fn map_btf_fd(fd: BorrowedFd<'_>) -> Result<Option<MapBtf>, KernelError> {
    let info = maps::map_info(fd)?;
    if info.btf_id == 0 || (info.btf_key_type_id == 0 && info.btf_value_type_id == 0) {
        return Ok(None);
    }
    let raw = btf_raw(info.btf_id)?;
    Ok(Some(MapBtf { raw, key_type_id: info.btf_key_type_id, value_type_id: info.btf_value_type_id }))
}

/// The BTF of map `id` (see [`map_btf_fd`]).
pub fn map_btf(id: u32) -> Result<Option<MapBtf>, KernelError> {
    let fd = map_fd_by_id(id)?;
    map_btf_fd(fd.as_fd())
}
