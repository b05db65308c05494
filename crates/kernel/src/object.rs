//! Opening, loading and test-running an ELF object with libbpf's semantics.

use crate::error::{Errno, KernelError, LoadError};
use crate::maps::{self, MapShape};
use crate::sys;
use crate::types;
use libbpf_rs::{AsRawLibbpf, MapCore};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

/// How to open an object before loading it.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Program types to set before loading, for sections libbpf does not know:
    /// (program name, type name such as `xdp`, `sched_cls`, `socket_filter`, or a
    /// libbpf section name such as `tc` or `cgroup_skb/ingress`).
    pub prog_types: Vec<(String, String)>,
    /// A vmlinux BTF file to use for CO-RE relocations instead of the kernel's.
    pub btf_custom_path: Option<PathBuf>,
    /// Load only the programs named here (the others' autoload off), so that one
    /// program the kernel refuses does not stop the others; `None`: every program.
    pub only: Option<Vec<String>>,
    /// What becomes of the maps the object declares pinned by name.
    pub map_pinning: MapPinning,
}

/// What becomes of the maps an object declares pinned by name
/// (`__uint(pinning, LIBBPF_PIN_BY_NAME)`), which libbpf otherwise pins at load under
/// /sys/fs/bpf — reusing whatever map is pinned there under the same name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MapPinning {
    /// Neither reused nor pinned (their pin paths cleared after open): the object
    /// starts from its own maps and leaves nothing under bpffs; a pin of the same
    /// name, someone else's, is not touched. For test runs and checks.
    #[default]
    Private,
    /// As libbpf does it: reuse a compatible pin of the same name under /sys/fs/bpf,
    /// else pin the new map there; the pins outlive the object. For deploying.
    ByName,
}

/// An object opened and loaded into the kernel (all its programs and maps), as
/// `bpf_object__open_file` + `bpf_object__load` do it. Dropping it unloads everything
/// that is not pinned or attached.
pub struct KernelObject {
    pub(crate) obj: libbpf_rs::Object,
    pub(crate) path: PathBuf,
    /// (program name, verifier log) for loads with a log level
    /// ([`KernelObject::load_with_log`]); empty otherwise.
    logs: Vec<(String, String)>,
}

impl std::fmt::Debug for KernelObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelObject").field("path", &self.path).field("programs", &self.program_names()).finish()
    }
}

/// Input of one BPF_PROG_TEST_RUN.
#[derive(Debug, Clone, Default)]
pub struct TestRunInput {
    /// The packet (or other data) given to the program.
    pub data_in: Vec<u8>,
    /// The context (`struct __sk_buff`, `struct xdp_md`, ...) given to the program.
    pub ctx_in: Option<Vec<u8>>,
    /// How many times the kernel runs the program (0 counts as 1); `duration_ns` is the
    /// average.
    pub repeat: u32,
}

/// Output of one BPF_PROG_TEST_RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunOutput {
    pub retval: u32,
    pub data_out: Vec<u8>,
    /// The context after the run (only when a context was given).
    pub ctx_out: Option<Vec<u8>>,
    /// Average run time per repetition, as the kernel measured it.
    pub duration_ns: u64,
}

/// The contents of one map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDump {
    /// The map's name; libbpf's internal maps are named by their ELF section
    /// (`.data`, `.rodata`, `.bss`, `.kconfig`) rather than the kernel's truncated name.
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// (key, value) pairs in the kernel's iteration order; for per-CPU maps the value
    /// is every possible CPU's value, each rounded up to 8 bytes, concatenated.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// The map's BTF (key and value types), when the kernel has it.
    pub btf: Option<crate::inspect::MapBtf>,
}

/// A loaded program, as `bpfbox load` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSummary {
    pub name: String,
    pub section: String,
    /// libbpf's type name (`xdp`, `sched_cls`, ...).
    pub prog_type: String,
    pub prog_type_id: u32,
    /// The kernel's program id.
    pub id: u32,
}

/// A created map, as `bpfbox load` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSummary {
    pub name: String,
    pub map_type: String,
    pub id: u32,
}

const LOG_BEGIN: &str = ": -- BEGIN PROG LOAD LOG --";
const LOG_END: &str = "-- END PROG LOAD LOG --";

/// Split what libbpf printed during a failed load into (failing program, verifier
/// log, the remaining libbpf warnings).
fn split_libbpf_log(log: &str) -> (Option<String>, String, String) {
    let mut prog = None;
    let mut verifier = String::new();
    let mut rest = String::new();
    let mut in_log = false;
    for line in log.split_inclusive('\n') {
        let plain = line.strip_prefix("libbpf: ").unwrap_or(line);
        if in_log {
            if let Some(before) = plain.trim_end().strip_suffix(LOG_END) {
                verifier.push_str(before);
                if !before.is_empty() {
                    verifier.push('\n');
                }
                in_log = false;
            } else {
                verifier.push_str(plain);
            }
            continue;
        }
        if let Some(i) = plain.find(LOG_BEGIN) {
            if prog.is_none() {
                prog = quoted_prog(&plain[..i]);
            }
            verifier.clear();
            in_log = true;
            continue;
        }
        if plain.contains("BPF program load failed") || plain.contains("failed to load program") {
            if let Some(p) = quoted_prog(plain) {
                prog = Some(p);
            }
        }
        rest.push_str(plain);
    }
    if prog.is_none() {
        prog = rest.lines().find_map(quoted_prog);
    }
    (prog, verifier, sys::libbpf_warnings(&rest))
}

/// The program name in a libbpf message `prog 'NAME': ...`.
fn quoted_prog(s: &str) -> Option<String> {
    let i = s.find("prog '")? + "prog '".len();
    let j = s[i..].find('\'')?;
    Some(s[i..i + j].to_string())
}

fn internal_map_name(map: &libbpf_rs::Map<'_>) -> String {
    let name = map.name().to_string_lossy().into_owned();
    // SAFETY: the map pointer comes from a live object.
    let internal = unsafe { libbpf_rs::libbpf_sys::bpf_map__is_internal(map.as_libbpf_object().as_ptr()) };
    if internal {
        if let Some(i) = name.find('.') {
            return name[i..].to_string();
        }
    }
    name
}

/// The verifier log buffer for one program at `log_level`: statistics fit in a few
/// lines; the full logs get libbpf's own maximum (`BPF_LOG_BUF_SIZE`, 16 MiB).
fn log_buf_size(log_level: u32) -> usize {
    if log_level & (types::BPF_LOG_LEVEL1 | types::BPF_LOG_LEVEL2) != 0 {
        (u32::MAX >> 8) as usize
    } else {
        64 << 10
    }
}

/// The text the kernel wrote into a log buffer (NUL-terminated).
fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl KernelObject {
    /// Open `path` with libbpf, apply `opts` and load every program and map.
    pub fn load(path: &Path, opts: &OpenOptions) -> Result<KernelObject, KernelError> {
        Self::load_with_log(path, opts, 0)
    }

    /// Like [`KernelObject::load`], asking the kernel's verifier for a log at
    /// `log_level` (a mask of [`types::BPF_LOG_LEVEL1`], [`types::BPF_LOG_LEVEL2`] and
    /// [`types::BPF_LOG_STATS`]) for every program, kept for
    /// [`KernelObject::verifier_log`] and [`KernelObject::verifier_stats`]. With
    /// `log_level` 0 this is exactly `load`. When a load fails, the error carries the
    /// failing program's log at this level (libbpf does not retry with level 1 then).
    pub fn load_with_log(path: &Path, opts: &OpenOptions, log_level: u32) -> Result<KernelObject, KernelError> {
        sys::init_libbpf_log();
        let _ = sys::take_libbpf_log();
        std::fs::File::open(path).map_err(|e| KernelError::Io { path: path.to_path_buf(), source: e })?;
        let mut builder = libbpf_rs::ObjectBuilder::default();
        if let Some(btf) = &opts.btf_custom_path {
            std::fs::File::open(btf).map_err(|e| KernelError::Io { path: btf.clone(), source: e })?;
            builder.btf_custom_path(btf).map_err(|e| KernelError::Open {
                path: path.to_path_buf(),
                errno: sys::errno_of(&e),
                detail: "bad BTF path".into(),
            })?;
        }
        let mut open = builder.open_file(path).map_err(|e| KernelError::Open {
            path: path.to_path_buf(),
            errno: sys::errno_of(&e),
            detail: sys::libbpf_last_line(&sys::take_libbpf_log()),
        })?;

        for (prog, ty) in &opts.prog_types {
            let (prog_type, attach) =
                types::prog_type_by_name(ty).ok_or_else(|| KernelError::UnknownProgType { name: ty.clone() })?;
            let names: Vec<String> = open.progs().map(|p| p.name().to_string_lossy().into_owned()).collect();
            let mut found = false;
            for mut p in open.progs_mut() {
                if p.name().to_string_lossy() == prog.as_str() {
                    p.set_prog_type(prog_type);
                    if let Some(a) = attach.clone() {
                        p.set_attach_type(a);
                    }
                    found = true;
                }
            }
            if !found {
                return Err(KernelError::NoSuchProgram { name: prog.clone(), available: names });
            }
        }
        if let Some(only) = &opts.only {
            let names: Vec<String> = open.progs().map(|p| p.name().to_string_lossy().into_owned()).collect();
            if let Some(missing) = only.iter().find(|n| !names.contains(n)) {
                return Err(KernelError::NoSuchProgram { name: missing.clone(), available: names });
            }
            for mut p in open.progs_mut() {
                let keep = only.iter().any(|n| p.name().to_string_lossy() == n.as_str());
                p.set_autoload(keep);
            }
        }
        if opts.map_pinning == MapPinning::Private {
            for m in open.maps_mut() {
                // SAFETY: the map pointer is live; NULL clears the pin path (libbpf frees it),
                // so `bpf_object__load` neither reuses nor creates a pin.
                let rc = unsafe {
                    libbpf_rs::libbpf_sys::bpf_map__set_pin_path(m.as_libbpf_object().as_ptr(), std::ptr::null())
                };
                debug_assert_eq!(rc, 0, "bpf_map__set_pin_path(NULL) cannot fail");
            }
        }
        // Remember every program's section and type for the error report.
        let progs: Vec<(String, String, String)> = open
            .progs()
            .map(|p| {
                (
                    p.name().to_string_lossy().into_owned(),
                    p.section().to_string_lossy().into_owned(),
                    types::prog_type_name(p.prog_type() as u32),
                )
            })
            .collect();
        // One log buffer per program; libbpf writes through the raw pointers during
        // `load`, so the buffers live (and do not move) until it returns.
        let mut bufs: Vec<(String, Vec<u8>)> = Vec::new();
        if log_level != 0 {
            for mut p in open.progs_mut() {
                let mut buf = vec![0u8; log_buf_size(log_level)];
                p.set_log_level(log_level);
                // SAFETY: the program pointer is live; `buf` outlives the load below and
                // its heap storage does not move when the Vec is moved into `bufs`.
                let rc = unsafe {
                    libbpf_rs::libbpf_sys::bpf_program__set_log_buf(
                        p.as_libbpf_object().as_ptr(),
                        buf.as_mut_ptr().cast(),
                        buf.len() as _,
                    )
                };
                if rc != 0 {
                    return Err(KernelError::Open {
                        path: path.to_path_buf(),
                        errno: Errno(-rc),
                        detail: "cannot set the verifier log buffer".into(),
                    });
                }
                bufs.push((p.name().to_string_lossy().into_owned(), buf));
            }
        }
        let _ = sys::take_libbpf_log();
        let loaded = open.load();
        let logs: Vec<(String, String)> = bufs.iter().map(|(n, b)| (n.clone(), log_text(b))).collect();
        drop(bufs);
        match loaded {
            Ok(obj) => {
                let _ = sys::take_libbpf_log();
                Ok(KernelObject { obj, path: path.to_path_buf(), logs })
            }
            Err(e) => {
                let errno = sys::errno_of(&e);
                let (prog, mut verifier_log, libbpf_log) = split_libbpf_log(&sys::take_libbpf_log());
                if verifier_log.is_empty() {
                    if let Some((_, log)) = logs.iter().find(|(n, _)| Some(n) == prog.as_ref()) {
                        verifier_log = log.clone();
                    }
                }
                let prog = prog.or_else(|| if progs.len() == 1 { Some(progs[0].0.clone()) } else { None });
                let meta = prog.as_ref().and_then(|n| progs.iter().find(|p| &p.0 == n));
                Err(KernelError::Load(Box::new(LoadError {
                    path: path.to_path_buf(),
                    program: prog.clone(),
                    section: meta.map(|m| m.1.clone()),
                    prog_type: meta.map(|m| m.2.clone()),
                    errno,
                    verifier_log,
                    libbpf_log,
                })))
            }
        }
    }

    /// The kernel verifier's log for `prog`, when the object was loaded with
    /// [`KernelObject::load_with_log`] and a nonzero log level.
    pub fn verifier_log(&self, prog: &str) -> Option<&str> {
        self.logs.iter().find(|(n, _)| n == prog).map(|(_, l)| l.as_str())
    }

    /// The kernel verifier's statistics for `prog` (processed instructions, states,
    /// its own verification time), when the object was loaded with
    /// [`KernelObject::load_with_log`] and a log level including
    /// [`types::BPF_LOG_STATS`].
    pub fn verifier_stats(&self, prog: &str) -> Option<types::VerifierStats> {
        types::VerifierStats::parse(self.verifier_log(prog)?)
    }

    /// The object file this was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the object's programs (libbpf order: by section, then offset).
    pub fn program_names(&self) -> Vec<String> {
        self.obj.progs().map(|p| p.name().to_string_lossy().into_owned()).collect()
    }

    pub(crate) fn program(&self, name: &str) -> Result<libbpf_rs::Program<'_>, KernelError> {
        self.obj
            .progs()
            .find(|p| p.name().to_string_lossy() == name)
            .ok_or_else(|| KernelError::NoSuchProgram { name: name.to_string(), available: self.program_names() })
    }

    pub(crate) fn program_mut(&self, name: &str) -> Result<libbpf_rs::ProgramMut<'_>, KernelError> {
        self.obj
            .progs_mut()
            .find(|p| p.name().to_string_lossy() == name)
            .ok_or_else(|| KernelError::NoSuchProgram { name: name.to_string(), available: self.program_names() })
    }

    /// Every loaded program with its kernel id.
    pub fn programs(&self) -> Vec<ProgramSummary> {
        self.obj
            .progs()
            .filter(|p| p.as_fd().as_raw_fd() >= 0)
            .map(|p| {
                let ty = p.prog_type() as u32;
                ProgramSummary {
                    name: p.name().to_string_lossy().into_owned(),
                    section: p.section().to_string_lossy().into_owned(),
                    prog_type: types::prog_type_name(ty),
                    prog_type_id: ty,
                    id: crate::inspect::prog_id_of_fd(p.as_fd()).unwrap_or(0),
                }
            })
            .collect()
    }

    /// The maps pinned by name at load ([`MapPinning::ByName`]: new pins, or pins of
    /// the same name reused), with their paths; empty with [`MapPinning::Private`].
    pub fn map_pins(&self) -> Vec<(String, PathBuf)> {
        self.obj
            .maps()
            .filter(|m| m.is_pinned())
            .filter_map(|m| Some((internal_map_name(&m), PathBuf::from(m.get_pin_path()?))))
            .collect()
    }

    /// Every created map with its kernel id.
    pub fn maps(&self) -> Vec<MapSummary> {
        self.obj
            .maps()
            .filter(|m| m.as_fd().as_raw_fd() >= 0)
            .map(|m| MapSummary {
                name: internal_map_name(&m),
                map_type: types::map_type_name(m.map_type() as u32),
                id: m.info().map(|i| i.info.id).unwrap_or(0),
            })
            .collect()
    }

    /// The section name of program `prog`.
    pub fn section_of(&self, prog: &str) -> Result<String, KernelError> {
        Ok(self.program(prog)?.section().to_string_lossy().into_owned())
    }

    /// Run program `prog` once (or `repeat` times) with BPF_PROG_TEST_RUN.
    pub fn test_run(&self, prog: &str, input: &TestRunInput) -> Result<TestRunOutput, KernelError> {
        let p = self.program(prog)?;
        test_run_fd(p.as_fd(), prog, input)
    }

    fn map_by_name(&self, name: &str) -> Result<libbpf_rs::Map<'_>, KernelError> {
        let mut available = Vec::new();
        for m in self.obj.maps() {
            let display = internal_map_name(&m);
            if display == name || m.name().to_string_lossy() == name {
                return Ok(m);
            }
            available.push(display);
        }
        Err(KernelError::NoSuchMap { name: name.to_string(), available })
    }

    fn shape(&self, m: &libbpf_rs::Map<'_>) -> Result<MapShape, KernelError> {
        let mut s = maps::shape_of(m.as_fd())?;
        s.name = internal_map_name(m);
        Ok(s)
    }

    /// Update `key` in map `map` (flags: BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2). For
    /// per-CPU maps `value` is every possible CPU's value (each rounded up to 8 bytes).
    pub fn map_update(&self, map: &str, key: &[u8], value: &[u8], flags: u64) -> Result<(), KernelError> {
        let m = self.map_by_name(map)?;
        let shape = self.shape(&m)?;
        maps::update(m.as_fd(), &shape, key, value, flags)
    }

    /// Delete `key` from map `map`.
    pub fn map_delete(&self, map: &str, key: &[u8]) -> Result<(), KernelError> {
        let m = self.map_by_name(map)?;
        let shape = self.shape(&m)?;
        maps::delete(m.as_fd(), &shape, key)
    }

    /// Look up `key` in map `map`.
    pub fn map_lookup(&self, map: &str, key: &[u8]) -> Result<Option<Vec<u8>>, KernelError> {
        let m = self.map_by_name(map)?;
        let shape = self.shape(&m)?;
        maps::lookup(m.as_fd(), &shape, key)
    }

    /// The contents of every map of the object, `.data`, `.rodata` and `.bss` included.
    pub fn map_dump(&self) -> Result<Vec<MapDump>, KernelError> {
        self.map_dump_where(|_, _| true)
    }

    /// Like [`KernelObject::map_dump`], for the maps `keep(name, max_entries)` selects
    /// (dumping a huge array through the syscall one entry at a time takes long).
    pub fn map_dump_where(&self, keep: impl Fn(&str, u32) -> bool) -> Result<Vec<MapDump>, KernelError> {
        let mut out = Vec::new();
        for m in self.obj.maps() {
            if m.as_fd().as_raw_fd() < 0 {
                continue;
            }
            let shape = self.shape(&m)?;
            if !keep(&shape.name, shape.max_entries) {
                continue;
            }
            let entries = maps::entries(m.as_fd(), &shape)?;
            // BTF only decorates the dump: a map whose BTF cannot be read prints as hex.
            let btf = crate::inspect::map_btf_fd(m.as_fd()).ok().flatten();
            out.push(MapDump {
                name: shape.name,
                map_type: shape.map_type,
                key_size: shape.key_size,
                value_size: shape.value_size,
                max_entries: shape.max_entries,
                entries,
                btf,
            });
        }
        Ok(out)
    }

    /// The instructions libbpf sent to the kernel for `prog` (after relocation), as
    /// raw 8-byte slots.
    pub fn loaded_insns(&self, prog: &str) -> Result<Vec<u8>, KernelError> {
        let p = self.program(prog)?;
        let insns = p.insns();
        let mut out = Vec::with_capacity(insns.len() * 8);
        for insn in insns {
            // SAFETY: bpf_insn is a repr(C) 8-byte struct without padding.
            let bytes: [u8; 8] = unsafe { std::mem::transmute_copy(insn) };
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }

    /// The file descriptor of a map, for ring/perf buffers.
    pub(crate) fn map_fd(&self, name: &str) -> Result<BorrowedFd<'_>, KernelError> {
        let m = self.map_by_name(name)?;
        let raw = m.as_fd().as_raw_fd();
        // SAFETY: the fd lives as long as the object, which outlives the borrow.
        Ok(unsafe { BorrowedFd::borrow_raw(raw) })
    }

    pub(crate) fn lib(&self) -> &libbpf_rs::Object {
        &self.obj
    }
}

/// BPF_PROG_TEST_RUN on a program fd.
pub(crate) fn test_run_fd(fd: BorrowedFd<'_>, prog: &str, input: &TestRunInput) -> Result<TestRunOutput, KernelError> {
    use libbpf_rs::libbpf_sys;
    let mut data_out = vec![0u8; input.data_in.len() + 4096];
    let mut ctx_in = input.ctx_in.clone();
    let mut ctx_out = input.ctx_in.as_ref().map(|c| vec![0u8; c.len().max(1024)]);
    // SAFETY: zeroed is a valid bpf_test_run_opts (all pointers NULL).
    let mut opts: libbpf_sys::bpf_test_run_opts = unsafe { std::mem::zeroed() };
    opts.sz = std::mem::size_of::<libbpf_sys::bpf_test_run_opts>() as _;
    if !input.data_in.is_empty() {
        opts.data_in = input.data_in.as_ptr().cast();
        opts.data_size_in = input.data_in.len() as u32;
        opts.data_out = data_out.as_mut_ptr().cast();
        opts.data_size_out = data_out.len() as u32;
    }
    if let (Some(ci), Some(co)) = (ctx_in.as_mut(), ctx_out.as_mut()) {
        opts.ctx_in = ci.as_ptr().cast();
        opts.ctx_size_in = ci.len() as u32;
        opts.ctx_out = co.as_mut_ptr().cast();
        opts.ctx_size_out = co.len() as u32;
    }
    opts.repeat = input.repeat as i32;
    // SAFETY: every buffer outlives the call and its size is given.
    let rc = unsafe { libbpf_sys::bpf_prog_test_run_opts(fd.as_raw_fd(), &mut opts) };
    if rc != 0 {
        return Err(KernelError::syscall("BPF_PROG_TEST_RUN", format!("program `{prog}`"), Errno(-rc)));
    }
    let data_len = if input.data_in.is_empty() { 0 } else { (opts.data_size_out as usize).min(data_out.len()) };
    data_out.truncate(data_len);
    let ctx_out = ctx_out.map(|mut c| {
        let n = (opts.ctx_size_out as usize).min(c.len());
        c.truncate(n);
        c
    });
    Ok(TestRunOutput { retval: opts.retval, data_out, ctx_out, duration_ns: u64::from(opts.duration) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_verifier_log_out_of_libbpf_output() {
        let log = "libbpf: prog 'bad': BPF program load failed: Permission denied\n\
                   libbpf: prog 'bad': -- BEGIN PROG LOAD LOG --\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\ninvalid access\n-- END PROG LOAD LOG --\n\
                   libbpf: prog 'bad': failed to load: -13\n\
                   libbpf: failed to load object 'x.o'\n";
        let (p, v, rest) = split_libbpf_log(log);
        assert_eq!(p.as_deref(), Some("bad"));
        assert_eq!(v, "0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\ninvalid access\n");
        assert!(rest.contains("failed to load object"));
        assert!(!rest.contains("invalid access"));
    }
}
