//! Loading raw instructions into the kernel, without an ELF object: the maps the
//! program references are created first and passed as `fd_array`, so `lddw` with
//! `src = BPF_PSEUDO_MAP_IDX` (5) or `BPF_PSEUDO_MAP_IDX_VALUE` (6) and `imm = i`
//! refers to the `i`-th map of [`RawLoad::maps`] (indices past the last map read
//! `-1`); a map with `spin_lock_off` gets a BTF value type holding a `struct bpf_spin_lock`
//! there. Programs with subprograms (bpf-to-bpf calls, callbacks) get a minimal BTF:
//! one `int f<N>(void)` function per subprogram, static, as `func_info` — the kernel
//! refuses callbacks (`BPF_PSEUDO_FUNC`) without it. Used to compare bpfbox's verifier
//! with the kernel's on hand-written cases.

use crate::error::Errno;
use libbpf_rs::libbpf_sys;
use std::ffi::CString;

/// `BPF_F_RDONLY_PROG`: the map is read-only for programs.
const BPF_F_RDONLY_PROG: u32 = 1 << 7;

/// The first log buffer size; doubled on `ENOSPC` up to [`MAX_LOG_SIZE`].
const FIRST_LOG_SIZE: usize = 1 << 20;
/// The largest log buffer tried (the kernel caps `log_size` at `u32::MAX >> 2`).
const MAX_LOG_SIZE: usize = 64 << 20;

/// A map to create before loading the program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawMap {
    /// `enum bpf_map_type` number.
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// `BPF_F_*` creation flags.
    pub flags: u32,
    /// Create it read-only for programs (`BPF_F_RDONLY_PROG`) and freeze it
    /// (`BPF_MAP_FREEZE`), as libbpf does for `.rodata`.
    pub frozen: bool,
    /// Give the map a BTF value type with a `struct bpf_spin_lock` at this offset
    /// (the key type is `int` when `key_size` is 4), so programs may lock it.
    pub spin_lock_off: Option<u32>,
}

/// One raw program load.
#[derive(Clone, Debug, Default)]
pub struct RawLoad<'a> {
    /// `enum bpf_prog_type` number.
    pub prog_type: u32,
    /// `enum bpf_attach_type` number, when the program type needs one.
    pub expected_attach_type: Option<u32>,
    /// The encoded instructions (8 bytes each, host byte order).
    pub insns: &'a [u8],
    /// Maps created in this order; map `i` is `fd_array[i]`.
    pub maps: &'a [RawMap],
    /// `BPF_F_*` load flags (`BPF_F_STRICT_ALIGNMENT`, `BPF_F_ANY_ALIGNMENT`, ...).
    pub prog_flags: u32,
}

/// Why a raw load failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawLoadError {
    pub errno: Errno,
    /// What failed: `"BPF_PROG_LOAD"`, or the map creation step.
    pub stage: String,
    /// The whole verifier log (empty when the failure came before verification).
    pub log: String,
}

impl std::fmt::Display for RawLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.stage, self.errno)?;
        if let Some(last) = self.log.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with("processed")) {
            write!(f, ": {last}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RawLoadError {}

/// Closes the fds it holds when dropped.
struct Fds(Vec<i32>);

impl Drop for Fds {
    fn drop(&mut self) {
        for &fd in &self.0 {
            // SAFETY: fds this module created and owns.
            unsafe { libc::close(fd) };
        }
    }
}

/// A BTF blob from raw type records (`u32`s) and a string section.
fn btf_blob(types: &[u32], strings: &[u8]) -> Vec<u8> {
    let type_len = (types.len() * 4) as u32;
    let mut btf = Vec::new();
    btf.extend_from_slice(&0xeb9f_u16.to_ne_bytes());
    btf.extend_from_slice(&[1, 0]);
    for v in [24, 0, type_len, type_len, strings.len() as u32] {
        btf.extend_from_slice(&v.to_ne_bytes());
    }
    for t in types {
        btf.extend_from_slice(&t.to_ne_bytes());
    }
    btf.extend_from_slice(strings);
    btf
}

/// `BPF_BTF_LOAD`; the fd.
fn load_btf(btf: &[u8]) -> Result<i32, RawLoadError> {
    let mut opts = libbpf_sys::bpf_btf_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_btf_load_opts>() as _,
        ..Default::default()
    };
    // SAFETY: the blob and the sized options outlive the call.
    let fd = unsafe { libbpf_sys::bpf_btf_load(btf.as_ptr().cast(), btf.len() as _, &mut opts) };
    if fd < 0 {
        return Err(RawLoadError { errno: Errno(-fd), stage: "BPF_BTF_LOAD".to_string(), log: String::new() });
    }
    Ok(fd)
}

/// BTF for a map value of `value_size` bytes holding a `struct bpf_spin_lock` at
/// `off`: [1] `int`, [2] `struct bpf_spin_lock { int val; }`, [3] `struct v { lock }`.
fn spin_lock_btf(value_size: u32, off: u32) -> Vec<u8> {
    const KIND_INT: u32 = 1;
    const KIND_STRUCT: u32 = 4;
    let strings = b"\0int\0bpf_spin_lock\0val\0v\0l\0";
    let (int, lock, val, v, l) = (1, 5, 19, 23, 25);
    let types = [
        int,
        KIND_INT << 24,
        4,
        (1 << 24) | 32,
        lock,
        (KIND_STRUCT << 24) | 1,
        4,
        val,
        1,
        0,
        v,
        (KIND_STRUCT << 24) | 1,
        value_size,
        l,
        2,
        off * 8,
    ];
    btf_blob(&types, strings)
}

fn create_map(i: usize, m: &RawMap) -> Result<i32, RawLoadError> {
    let fail = |errno: Errno, what: &str| RawLoadError { errno, stage: format!("map {i}: {what}"), log: String::new() };
    let flags = m.flags | if m.frozen { BPF_F_RDONLY_PROG } else { 0 };
    let mut opts = libbpf_sys::bpf_map_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as _,
        map_flags: flags,
        ..Default::default()
    };
    // The map keeps its own reference to the BTF: this fd is closed on return.
    let _btf = match m.spin_lock_off {
        Some(off) => {
            let fd = load_btf(&spin_lock_btf(m.value_size, off))?;
            opts.btf_fd = fd as u32;
            opts.btf_key_type_id = if m.key_size == 4 { 1 } else { 0 };
            opts.btf_value_type_id = 3;
            Some(Fds(vec![fd]))
        }
        None => None,
    };
    let name = CString::new(format!("raw_m{i}")).unwrap_or_default();
    // SAFETY: a NUL-terminated name and a sized options struct that outlive the call.
    let fd = unsafe {
        libbpf_sys::bpf_map_create(m.map_type, name.as_ptr(), m.key_size, m.value_size, m.max_entries, &opts)
    };
    if fd < 0 {
        return Err(fail(Errno(-fd), "BPF_MAP_CREATE"));
    }
    if m.frozen {
        // SAFETY: our own fresh map fd.
        let r = unsafe { libbpf_sys::bpf_map_freeze(fd) };
        if r < 0 {
            // SAFETY: as above; not used afterwards.
            unsafe { libc::close(fd) };
            return Err(fail(Errno(-r), "BPF_MAP_FREEZE"));
        }
    }
    Ok(fd)
}

/// The first instruction of every subprogram: 0, the targets of `call` with
/// `src = BPF_PSEUDO_CALL` (1) and of `lddw` with `src = BPF_PSEUDO_FUNC` (4).
/// `None` when a target is outside the program (the kernel reports that itself).
fn subprog_starts(insns: &[libbpf_sys::bpf_insn]) -> Option<Vec<u32>> {
    let mut starts = vec![0i64];
    for (pc, insn) in insns.iter().enumerate() {
        let src = insn.src_reg();
        let is_pseudo_call = insn.code == 0x85 && src == 1;
        let is_pseudo_func = insn.code == 0x18 && src == 4;
        if is_pseudo_call || is_pseudo_func {
            starts.push(pc as i64 + 1 + i64::from(insn.imm));
        }
    }
    starts.sort_unstable();
    starts.dedup();
    if starts.iter().any(|&s| s < 0 || s >= insns.len() as i64) {
        return None;
    }
    Some(starts.into_iter().map(|s| s as u32).collect())
}

/// A BTF blob with `int` and one static `int f<i>(void)` per subprogram (type ids
/// 3, 4, ...), and the matching `func_info` records (`insn_off`, `type_id`).
fn func_btf(starts: &[u32]) -> (Vec<u8>, Vec<u32>) {
    const KIND_INT: u32 = 1;
    const KIND_FUNC: u32 = 12;
    const KIND_FUNC_PROTO: u32 = 13;
    let mut strings = b"\0int\0".to_vec();
    let mut types: Vec<u32> = vec![1, KIND_INT << 24, 4, (1 << 24) | 32, 0, KIND_FUNC_PROTO << 24, 1];
    let mut func_info = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let name_off = strings.len() as u32;
        strings.extend_from_slice(format!("f{i}\0").as_bytes());
        types.extend_from_slice(&[name_off, KIND_FUNC << 24, 2]);
        func_info.extend_from_slice(&[start, 3 + i as u32]);
    }
    (btf_blob(&types, &strings), func_info)
}

/// Loads the BTF of [`func_btf`]; its fd and the `func_info` records.
fn load_func_btf(starts: &[u32]) -> Result<(i32, Vec<u32>), RawLoadError> {
    let (btf, func_info) = func_btf(starts);
    Ok((load_btf(&btf)?, func_info))
}

/// The BTF fd and `func_info` records of a program with subprograms.
struct FuncInfo {
    btf_fd: i32,
    records: Vec<u32>,
}

/// One `BPF_PROG_LOAD`; `log_size == 0` asks for no log. Returns the fd or -errno,
/// with the log.
fn prog_load(
    req: &RawLoad<'_>,
    insns: &[libbpf_sys::bpf_insn],
    fds: &[i32],
    funcs: Option<&FuncInfo>,
    log_size: usize,
    log_level: u32,
) -> (i32, String) {
    let mut log = vec![0u8; log_size];
    let mut opts = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
        expected_attach_type: req.expected_attach_type.unwrap_or(0),
        prog_flags: req.prog_flags,
        fd_array: if fds.is_empty() { std::ptr::null() } else { fds.as_ptr() },
        log_level: if log_size > 0 { log_level } else { 0 },
        log_size: log_size as u32,
        log_buf: if log_size > 0 { log.as_mut_ptr().cast() } else { std::ptr::null_mut() },
        ..Default::default()
    };
    if let Some(f) = funcs {
        opts.prog_btf_fd = f.btf_fd as u32;
        opts.func_info = f.records.as_ptr().cast();
        opts.func_info_cnt = (f.records.len() / 2) as u32;
        opts.func_info_rec_size = 8;
    }
    let license = c"GPL";
    let name = c"bpfbox_raw";
    // SAFETY: the instruction array, the fd array and the log buffer outlive the call;
    // the strings are NUL-terminated; `opts.sz` is its size.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            req.prog_type,
            name.as_ptr(),
            license.as_ptr(),
            insns.as_ptr(),
            insns.len() as _,
            &mut opts,
        )
    };
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    (fd, String::from_utf8_lossy(&log[..end]).into_owned())
}

/// Loads `req` into the kernel (license "GPL") and unloads it again: `Ok(log)` when
/// the verifier accepts it, `Err` with the errno and the whole verifier log otherwise.
/// Every fd created (maps, the program) is closed before returning.
///
/// The log is requested at level 1; when it does not fit the biggest buffer tried
/// (the kernel then fails the load with `ENOSPC` whatever its verdict, keeping the
/// log's tail), the verdict comes from a second load without a log and the log
/// returned is that tail.
pub fn load_raw(req: &RawLoad<'_>) -> Result<String, RawLoadError> {
    load_with(req, FIRST_LOG_SIZE, true)
}

/// One load with a log buffer of `size` bytes (0: no log) at log level 4
/// (`BPF_LOG_STATS`: messages and statistics, no instruction trace), not retried.
fn load_raw_with_log(req: &RawLoad<'_>, size: usize) -> Result<(), RawLoadError> {
    load_with(req, size, false).map(|_| ())
}

/// A load with a log of `first_size` bytes; with `grow`, retried with a bigger buffer
/// while the log does not fit.
fn load_with(req: &RawLoad<'_>, first_size: usize, grow: bool) -> Result<String, RawLoadError> {
    let level = if grow { 1 } else { 4 };
    crate::sys::init_libbpf_log();
    if req.insns.is_empty() || !req.insns.len().is_multiple_of(8) {
        return Err(RawLoadError {
            errno: Errno(libc::EINVAL),
            stage: format!("instructions: {} bytes is not a non-zero multiple of 8", req.insns.len()),
            log: String::new(),
        });
    }
    let insns: Vec<libbpf_sys::bpf_insn> = req
        .insns
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            // SAFETY: `bpf_insn` is 8 bytes of plain data; every bit pattern is valid.
            unsafe { std::mem::transmute::<[u8; 8], libbpf_sys::bpf_insn>(b) }
        })
        .collect();
    let mut owned = Fds(Vec::with_capacity(req.maps.len() + 1));
    for (i, m) in req.maps.iter().enumerate() {
        owned.0.push(create_map(i, m)?);
    }
    // fd_array: the maps, then -1 for every further index an `lddw` uses, so the
    // kernel never reads past the array.
    let mut fds = owned.0.clone();
    let max_idx = insns
        .iter()
        .filter(|i| i.code == 0x18 && matches!(i.src_reg(), 5 | 6) && i.imm >= 0)
        .map(|i| i.imm as usize)
        .max();
    if let Some(m) = max_idx {
        if m >= 1 << 16 {
            return Err(RawLoadError {
                errno: Errno(libc::EINVAL),
                stage: format!("map index {m}: too big for the fd_array this loader builds"),
                log: String::new(),
            });
        }
        if m >= fds.len() {
            fds.resize(m + 1, -1);
        }
    }
    let funcs = match subprog_starts(&insns) {
        Some(starts) if starts.len() > 1 => {
            let (btf_fd, records) = load_func_btf(&starts)?;
            owned.0.push(btf_fd);
            Some(FuncInfo { btf_fd, records })
        }
        _ => None,
    };
    let mut size = first_size;
    let (fd, log) = loop {
        let (fd, log) = prog_load(req, &insns, &fds, funcs.as_ref(), size, level);
        if fd != -libc::ENOSPC || !grow || size == 0 {
            break (fd, log);
        }
        if size >= MAX_LOG_SIZE {
            let (fd, _) = prog_load(req, &insns, &fds, funcs.as_ref(), 0, 0);
            break (fd, log);
        }
        size *= 4;
    };
    let _ = crate::sys::take_libbpf_log();
    if fd >= 0 {
        // SAFETY: our own fresh program fd.
        unsafe { libc::close(fd) };
        Ok(log)
    } else {
        Err(RawLoadError { errno: Errno(-fd), stage: "BPF_PROG_LOAD".to_string(), log })
    }
}

/// The kernel's verdict on a raw program, fast: a load without a log first, and only
/// when that fails a second one at log level `BPF_LOG_STATS` (4), which prints the
/// error and the statistics but not every instruction (level 1 logging a program the
/// verifier walks a million times costs seconds). `Err` carries the errno of the first load and the log tail.
pub fn verdict_raw(req: &RawLoad<'_>) -> Result<(), RawLoadError> {
    match load_raw_with_log(req, 0) {
        Ok(()) => Ok(()),
        Err(e) if e.stage != "BPF_PROG_LOAD" => Err(e),
        Err(first) => {
            let log = match load_raw_with_log(req, VERDICT_LOG_SIZE) {
                Err(e) => e.log,
                Ok(()) => String::new(),
            };
            Err(RawLoadError { log, ..first })
        }
    }
}

/// The log buffer [`verdict_raw`] reads the error from (its tail is enough).
const VERDICT_LOG_SIZE: usize = 256 << 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = code;
        b[1] = dst | (src << 4);
        b[2..4].copy_from_slice(&off.to_ne_bytes());
        b[4..8].copy_from_slice(&imm.to_ne_bytes());
        b
    }
    fn prog(insns: &[[u8; 8]]) -> Vec<u8> {
        insns.concat()
    }
    const MOV_IMM: u8 = 0xb7;
    const EXIT: u8 = 0x95;
    const CALL: u8 = 0x85;
    const LDDW: u8 = 0x18;
    const STX_W: u8 = 0x63;
    const ST_W: u8 = 0x62;
    const ADD_IMM: u8 = 0x07;
    const MOV_REG: u8 = 0xbf;
    const JEQ_IMM: u8 = 0x15;
    const SOCKET_FILTER: u32 = 1;
    const ARRAY: u32 = 2;

    /// Without bpf() (not root, no kernel) the tests have nothing to check.
    fn kernel() -> bool {
        crate::available_or_skip()
    }

    fn load(insns: &[u8], maps: &[RawMap]) -> Result<String, RawLoadError> {
        load_raw(&RawLoad { prog_type: SOCKET_FILTER, expected_attach_type: None, insns, maps, prog_flags: 0 })
    }

    #[test]
    fn malformed_instruction_bytes_are_refused_before_loading() {
        let e = load(&[0u8; 12], &[]).expect_err("12 bytes");
        assert_eq!(e.errno, Errno(libc::EINVAL));
        assert!(e.stage.contains("multiple of 8"), "{e}");
    }

    #[test]
    fn accepted_and_rejected_programs() {
        if !kernel() {
            return;
        }
        let ok = load(&prog(&[insn(MOV_IMM, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0)]), &[]).expect("r0 = 0; exit");
        assert!(ok.contains("processed"), "log: {ok}");
        let e = load(&prog(&[insn(EXIT, 0, 0, 0, 0)]), &[]).expect_err("exit without r0");
        assert_eq!(e.errno, Errno(libc::EACCES));
        assert!(e.log.contains("R0 !read_ok"), "log: {}", e.log);
    }

    /// A lookup in map `map_idx` of the fd array (`lddw` with `src` 5), then a store into the value.
    fn lookup(map_idx: i32) -> Vec<u8> {
        prog(&[
            insn(ST_W, 10, 0, -4, 0),
            insn(MOV_REG, 2, 10, 0, 0),
            insn(ADD_IMM, 2, 0, 0, -4),
            insn(LDDW, 1, 5, 0, map_idx),
            insn(0, 0, 0, 0, 0),
            insn(CALL, 0, 0, 0, 1),
            insn(JEQ_IMM, 0, 0, 1, 0),
            insn(STX_W, 0, 10, 0, 0),
            insn(MOV_IMM, 0, 0, 0, 0),
            insn(EXIT, 0, 0, 0, 0),
        ])
    }

    #[test]
    fn maps_come_from_the_fd_array() {
        if !kernel() {
            return;
        }
        let array = RawMap { map_type: ARRAY, key_size: 4, value_size: 8, max_entries: 1, ..Default::default() };
        // The lookup's value is written with r10: privileged, a pointer may be stored.
        load(&lookup(0), std::slice::from_ref(&array)).expect("lookup in map 0");
        let e = load(&lookup(3), std::slice::from_ref(&array)).expect_err("map 3 does not exist");
        assert!(e.log.contains("is not pointing to valid bpf_map"), "log: {}", e.log);
        let frozen = RawMap { frozen: true, ..array };
        let e = load(&lookup(0), &[frozen]).expect_err("write into a frozen map");
        assert!(e.log.contains("write into map forbidden"), "log: {}", e.log);
    }

    #[test]
    fn callbacks_get_func_info() {
        if !kernel() {
            return;
        }
        // bpf_loop(10, callback, NULL, 0) with `callback: r0 = 0; exit`.
        let p = prog(&[
            insn(MOV_IMM, 1, 0, 0, 10),
            insn(LDDW, 2, 4, 0, 6),
            insn(0, 0, 0, 0, 0),
            insn(MOV_IMM, 3, 0, 0, 0),
            insn(MOV_IMM, 4, 0, 0, 0),
            insn(CALL, 0, 0, 0, 181),
            insn(MOV_IMM, 0, 0, 0, 0),
            insn(EXIT, 0, 0, 0, 0),
            insn(MOV_IMM, 0, 0, 0, 0),
            insn(EXIT, 0, 0, 0, 0),
        ]);
        load(&p, &[]).expect("bpf_loop with a callback");
    }
}
