//! libbpfbox: the C API of bpfbox, over the `bpfbox` crate. Every function is declared in
//! `include/bpfbox.h`, whose declarations are generated from this file by
//! `tests/header.rs` (`BPFBOX_BLESS=1` rewrites them).
//!
//! Conventions: functions that create something return a pointer, NULL on error;
//! functions that do something return 0 on success and -1 on error (some return 1
//! for "not found"). After an error, `bpfbox_last_error()` says why (per thread).
//! No Rust panic crosses the boundary: each entry point catches it and reports an
//! error. Strings bpfbox returns are freed with `bpfbox_string_free`.

use facade::{Arg, Engine, HelperCall, HelperError, HostHelpers, Input, Instance, Object, RawMap, Report, Ret};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An opened object (`bpfbox_object` in C).
#[derive(Debug)]
pub struct BpfboxObject(Object);

/// An object loaded into an engine, with its maps (`bpfbox_instance` in C).
#[derive(Debug)]
pub struct BpfboxInstance(Instance);

/// Host-defined helpers (`bpfbox_helpers` in C).
#[derive(Debug)]
pub struct BpfboxHelpers(HostHelpers);

/// One call of a host helper, valid during the callback only (`bpfbox_call` in C).
#[derive(Debug)]
pub struct BpfboxCall {
    _opaque: [u8; 0],
}

/// A host helper implemented in C: reads its arguments through `call`, stores its
/// result in `*ret` and returns 0, or returns non-zero to stop the program with an error.
pub type BpfboxHelperFn = unsafe extern "C" fn(user: *mut c_void, call: *mut BpfboxCall, ret: *mut u64) -> c_int;

/// Argument kind (`bpfbox_helpers_register`): any initialized value (`ARG_ANYTHING`).
pub const BPFBOX_ARG_SCALAR: c_int = 0;
/// Readable memory; its size is the next argument (`ARG_PTR_TO_MEM | MEM_RDONLY`).
pub const BPFBOX_ARG_MEMORY: c_int = 1;
/// Memory the helper fills; its size is the next argument (`ARG_PTR_TO_UNINIT_MEM`).
pub const BPFBOX_ARG_MEMORY_OUT: c_int = 2;
/// The size of the preceding memory argument, > 0 (`ARG_CONST_SIZE`).
pub const BPFBOX_ARG_SIZE: c_int = 3;
/// The size of the preceding memory argument, >= 0 (`ARG_CONST_SIZE_OR_ZERO`).
pub const BPFBOX_ARG_SIZE_OR_ZERO: c_int = 4;
/// A map (`ARG_CONST_MAP_PTR`).
pub const BPFBOX_ARG_MAP: c_int = 5;
/// A key of the preceding map (`ARG_PTR_TO_MAP_KEY`).
pub const BPFBOX_ARG_MAP_KEY: c_int = 6;
/// A value of the preceding map (`ARG_PTR_TO_MAP_VALUE`).
pub const BPFBOX_ARG_MAP_VALUE: c_int = 7;
/// The program's context (`ARG_PTR_TO_CTX`).
pub const BPFBOX_ARG_CONTEXT: c_int = 8;
/// Return kind (`bpfbox_helpers_register`): a scalar (`RET_INTEGER`).
pub const BPFBOX_RET_INTEGER: c_int = 0;
/// Nothing (`RET_VOID`).
pub const BPFBOX_RET_VOID: c_int = 1;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(msg: impl Into<String>) {
    let msg = msg.into().replace('\0', "\\0");
    let c = CString::new(msg).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Run `f`, turning its error or panic into `fallback` and the thread's last error.
fn guard<T>(fallback: T, f: impl FnOnce() -> Result<T, String>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_error(e);
            fallback
        }
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            set_error(format!("internal error in bpfbox (a bug): {what}"));
            fallback
        }
    }
}

/// A C string argument.
///
/// # Safety
/// `s` is NULL or a NUL-terminated string.
unsafe fn str_arg<'a>(s: *const c_char, what: &str) -> Result<&'a str, String> {
    if s.is_null() {
        return Err(format!("{what} is NULL"));
    }
    // SAFETY: the caller passes a NUL-terminated string.
    unsafe { CStr::from_ptr(s) }.to_str().map_err(|_| format!("{what} is not UTF-8"))
}

/// A byte buffer argument (NULL is allowed when `len` is 0).
///
/// # Safety
/// `p` points at `len` readable bytes, or `len` is 0.
unsafe fn bytes_arg<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8], String> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(format!("{what} is NULL"));
    }
    // SAFETY: the caller passes `len` readable bytes at `p`.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A handle argument.
///
/// # Safety
/// `p` is NULL or a pointer this library returned and that was not freed.
unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T, String> {
    // SAFETY: the caller passes a live handle or NULL.
    unsafe { p.as_ref() }.ok_or_else(|| format!("{what} is NULL"))
}

/// Free a handle made by `Box::into_raw` (NULL is ignored).
///
/// # Safety
/// `p` is NULL or a handle this library returned, not freed before.
unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: `p` came from `Box::into_raw` in this library, as the caller promises.
        drop(unsafe { Box::from_raw(p) });
    }
}

fn owned_string(s: String) -> *mut c_char {
    CString::new(s.replace('\0', "\\0")).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// The reason of the last error on this thread ("" if none). The string stays valid
/// until the next failing call on the same thread.
#[no_mangle]
pub extern "C" fn bpfbox_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Free a string bpfbox returned (NULL is ignored).
///
/// # Safety
/// `s` is NULL or a string returned by this library, not freed before.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `CString::into_raw` in this library.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Open an eBPF ELF object file. NULL on error.
///
/// # Safety
/// `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_object_open(path: *const c_char) -> *mut BpfboxObject {
    guard(std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let path = unsafe { str_arg(path, "path") }?;
        let obj = Object::open(path).map_err(|e| e.to_string())?;
        Ok(Box::into_raw(Box::new(BpfboxObject(obj))))
    })
}

/// Open an object from `len` bytes at `data` (copied). NULL on error.
///
/// # Safety
/// `data` points at `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_object_open_bytes(data: *const u8, len: usize) -> *mut BpfboxObject {
    guard(std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let bytes = unsafe { bytes_arg(data, len, "data") }?;
        let obj = Object::from_bytes(bytes).map_err(|e| e.to_string())?;
        Ok(Box::into_raw(Box::new(BpfboxObject(obj))))
    })
}

/// Free an object (NULL is ignored). Instances loaded from it stay valid.
///
/// # Safety
/// `obj` is NULL or a live object handle.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_object_free(obj: *mut BpfboxObject) {
    // SAFETY: forwarded from the caller.
    unsafe { free_handle(obj) }
}

/// The object's program names, separated by newlines (free with bpfbox_string_free).
/// NULL on error.
///
/// # Safety
/// `obj` is a live object handle.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_object_programs(obj: *const BpfboxObject) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let obj = unsafe { handle(obj, "obj") }?;
        let names: Vec<&str> = obj.0.programs().map(|p| p.name()).collect();
        Ok(owned_string(names.join("\n")))
    })
}

fn report_text(r: &Report) -> String {
    let mut out = String::new();
    for d in &r.diagnostics {
        out.push_str(&format!("insn {}: {} [{}]\n", d.pc, d.message.trim_end(), d.kind));
        if let Some(s) = &d.source {
            out.push_str(&format!("  at {}:{}: {}\n", s.file, s.line, s.text));
        }
        if let Some(h) = &d.hint {
            out.push_str(&format!("  hint: {h}\n"));
        }
    }
    out
}

fn engine(jit: c_int, helpers: Option<&BpfboxHelpers>) -> Engine {
    let e = if jit != 0 { Engine::jit() } else { Engine::interpreter() };
    match helpers {
        Some(h) => e.helpers(h.0.clone()),
        None => e,
    }
}

/// Verify program `prog` of `obj` with bpfbox's verifier, checking calls of the host
/// helpers `helpers` (may be NULL) against their prototypes. Stores 1 (accepted) or 0
/// in `*accepted` and returns the diagnostics as text ("" when accepted; free with
/// bpfbox_string_free). NULL on error (unknown program...).
///
/// # Safety
/// `obj` is a live object handle, `prog` a NUL-terminated string, `helpers` NULL or a
/// live helpers handle, `accepted` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_verify(
    obj: *const BpfboxObject,
    prog: *const c_char,
    helpers: *const BpfboxHelpers,
    accepted: *mut c_int,
) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let (obj, prog, helpers) = unsafe { (handle(obj, "obj")?, str_arg(prog, "prog")?, helpers.as_ref()) };
        let p = obj.0.program(prog).map_err(|e| e.to_string())?;
        let report = p.verify_with(&engine(0, helpers)).map_err(|e| e.to_string())?;
        if !accepted.is_null() {
            // SAFETY: the caller passes a writable int or NULL.
            unsafe { *accepted = c_int::from(report.accepted) };
        }
        Ok(owned_string(report_text(&report)))
    })
}

/// A new, empty set of host helpers. Never NULL.
#[no_mangle]
pub extern "C" fn bpfbox_helpers_new() -> *mut BpfboxHelpers {
    Box::into_raw(Box::new(BpfboxHelpers(HostHelpers::new())))
}

/// Free a set of host helpers (NULL is ignored). Instances loaded with it keep theirs.
///
/// # Safety
/// `helpers` is NULL or a live helpers handle.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_helpers_free(helpers: *mut BpfboxHelpers) {
    // SAFETY: forwarded from the caller.
    unsafe { free_handle(helpers) }
}

/// The C callback and its user pointer. The host promises that calling `func` with
/// `user` is safe from whichever thread runs the program (the thread that calls
/// bpfbox_test_run).
#[derive(Clone, Copy)]
struct CHelper {
    func: BpfboxHelperFn,
    user: *mut c_void,
}

// SAFETY: see `CHelper`: thread safety of the callback is the C host's promise.
unsafe impl Send for CHelper {}
// SAFETY: as above.
unsafe impl Sync for CHelper {}

impl CHelper {
    fn call(&self, call: &mut HelperCall<'_, '_>) -> Result<u64, HelperError> {
        let mut ret = 0u64;
        let ptr = (call as *mut HelperCall<'_, '_>).cast::<BpfboxCall>();
        // SAFETY: the host registered `func` for this `user`; `ptr` is valid during the call.
        let rc = unsafe { (self.func)(self.user, ptr, &mut ret) };
        if rc == 0 {
            Ok(ret)
        } else {
            Err(HelperError::new(format!("the C helper returned {rc}")))
        }
    }
}

fn arg_kind(k: c_int) -> Result<Arg, String> {
    Ok(match k {
        BPFBOX_ARG_SCALAR => Arg::Scalar,
        BPFBOX_ARG_MEMORY => Arg::Memory,
        BPFBOX_ARG_MEMORY_OUT => Arg::MemoryOut,
        BPFBOX_ARG_SIZE => Arg::Size,
        BPFBOX_ARG_SIZE_OR_ZERO => Arg::SizeOrZero,
        BPFBOX_ARG_MAP => Arg::Map,
        BPFBOX_ARG_MAP_KEY => Arg::MapKey,
        BPFBOX_ARG_MAP_VALUE => Arg::MapValue,
        BPFBOX_ARG_CONTEXT => Arg::Context,
        _ => return Err(format!("unknown argument kind {k}")),
    })
}

/// Define host helper `id` called `name` returning `ret` (BPFBOX_RET_*) with `nargs`
/// arguments of the kinds `args` (BPFBOX_ARG_*), implemented by `func`, which gets
/// `user` back. 0, or -1 when the prototype cannot be used (a kernel helper's id, a
/// memory argument without its size...).
///
/// # Safety
/// `helpers` is a live helpers handle, `name` a NUL-terminated string, `args` points
/// at `nargs` ints; `func` may be called with `user` from the thread running a program.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_helpers_register(
    helpers: *mut BpfboxHelpers,
    id: u32,
    name: *const c_char,
    ret: c_int,
    args: *const c_int,
    nargs: usize,
    func: Option<BpfboxHelperFn>,
    user: *mut c_void,
) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded from the caller.
        let h = unsafe { helpers.as_mut() }.ok_or("helpers is NULL")?;
        // SAFETY: forwarded from the caller.
        let name = unsafe { str_arg(name, "name") }?;
        let func = func.ok_or("func is NULL")?;
        if nargs > 5 {
            return Err(format!("host helper {name}#{id}: {nargs} arguments: helpers take at most 5"));
        }
        let kinds: &[c_int] = if nargs == 0 {
            &[]
        } else if args.is_null() {
            return Err("args is NULL".into());
        } else {
            // SAFETY: the caller passes `nargs` ints at `args`.
            unsafe { std::slice::from_raw_parts(args, nargs) }
        };
        let kinds: Vec<Arg> = kinds.iter().map(|k| arg_kind(*k)).collect::<Result<_, _>>()?;
        let ret = match ret {
            BPFBOX_RET_INTEGER => Ret::Integer,
            BPFBOX_RET_VOID => Ret::Void,
            _ => return Err(format!("unknown return kind {ret}")),
        };
        let c = CHelper { func, user };
        h.0.register(id, name, ret, &kinds, move |call| c.call(call)).map_err(|e| e.to_string())?;
        Ok(0)
    })
}

/// Argument `i` (0 for r1) of a helper call.
///
/// # Safety
/// `call` is the pointer the running callback received.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_call_arg(call: *const BpfboxCall, i: u32) -> u64 {
    guard(0, || {
        // SAFETY: a `BpfboxCall` pointer is a `HelperCall` during its callback.
        let call = unsafe { handle(call.cast::<HelperCall<'_, '_>>(), "call") }?;
        Ok(call.arg(i as usize))
    })
}

/// Copy the memory argument `i` points at (as many bytes as its size argument says, at
/// most `cap`) into `buf`. Returns the argument's size, or -1 on error.
///
/// # Safety
/// `call` is the pointer the running callback received; `buf` has `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_call_read(call: *mut BpfboxCall, i: u32, buf: *mut u8, cap: usize) -> i64 {
    guard(-1, || {
        // SAFETY: a `BpfboxCall` pointer is a `HelperCall` during its callback.
        let call = unsafe { call.cast::<HelperCall<'_, '_>>().as_mut() }.ok_or("call is NULL")?;
        let bytes = call.memory(i as usize).map_err(|e| e.to_string())?;
        let n = bytes.len().min(cap);
        if n > 0 {
            if buf.is_null() {
                return Err("buf is NULL".into());
            }
            // SAFETY: `buf` has `cap` >= `n` writable bytes.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, n) };
        }
        Ok(bytes.len() as i64)
    })
}

/// Write `len` bytes into the memory argument `i` (at most its size). 0 or -1.
///
/// # Safety
/// `call` is the pointer the running callback received; `buf` has `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_call_write(call: *mut BpfboxCall, i: u32, buf: *const u8, len: usize) -> c_int {
    guard(-1, || {
        // SAFETY: a `BpfboxCall` pointer is a `HelperCall` during its callback.
        let call = unsafe { call.cast::<HelperCall<'_, '_>>().as_mut() }.ok_or("call is NULL")?;
        // SAFETY: forwarded from the caller.
        let data = unsafe { bytes_arg(buf, len, "buf") }?;
        call.write_memory(i as usize, data).map_err(|e| e.to_string())?;
        Ok(0)
    })
}

/// Load `obj` into the interpreter (`jit` = 0) or the JIT, with host helpers `helpers`
/// (may be NULL): maps created, every program verified, accepted ones loaded. A rejected
/// program does not fail the load; running it fails with the verifier's reason. NULL on error.
///
/// # Safety
/// `obj` is a live object handle, `helpers` NULL or a live helpers handle.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_load(
    obj: *const BpfboxObject,
    jit: c_int,
    helpers: *const BpfboxHelpers,
) -> *mut BpfboxInstance {
    guard(std::ptr::null_mut(), || {
        // SAFETY: forwarded from the caller.
        let (obj, helpers) = unsafe { (handle(obj, "obj")?, helpers.as_ref()) };
        let inst = obj.0.load(&engine(jit, helpers)).map_err(|e| e.to_string())?;
        Ok(Box::into_raw(Box::new(BpfboxInstance(inst))))
    })
}

/// Free an instance (NULL is ignored).
///
/// # Safety
/// `inst` is NULL or a live instance handle, not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_instance_free(inst: *mut BpfboxInstance) {
    // SAFETY: forwarded from the caller.
    unsafe { free_handle(inst) }
}

/// Run program `prog` once on packet `data` (`len` bytes), as BPF_PROG_TEST_RUN does.
/// Stores r0 in `*retval`; when `data_out` is not NULL, copies the packet after the run
/// into it (at most `*data_out_len` bytes) and stores its full length in `*data_out_len`.
/// 0 or -1.
///
/// # Safety
/// `inst` is a live instance handle, `prog` a NUL-terminated string, `data` has `len`
/// readable bytes, `data_out` NULL or `*data_out_len` writable bytes, `retval` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_test_run(
    inst: *const BpfboxInstance,
    prog: *const c_char,
    data: *const u8,
    len: usize,
    data_out: *mut u8,
    data_out_len: *mut usize,
    retval: *mut u64,
) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded from the caller.
        let (inst, prog, data) =
            unsafe { (handle(inst, "inst")?, str_arg(prog, "prog")?, bytes_arg(data, len, "data")?) };
        let out = inst.0.test_run(prog, &Input::data(data)).map_err(|e| e.to_string())?;
        if !retval.is_null() {
            // SAFETY: writable or NULL, as the caller promises.
            unsafe { *retval = out.retval };
        }
        if !data_out.is_null() && !data_out_len.is_null() {
            // SAFETY: the caller passes `*data_out_len` writable bytes at `data_out`.
            unsafe {
                let n = out.data.len().min(*data_out_len);
                std::ptr::copy_nonoverlapping(out.data.as_ptr(), data_out, n);
                *data_out_len = out.data.len();
            }
        }
        Ok(0)
    })
}

/// Run program `prog` once with context `ctx` (`ctx_len` bytes: a tracepoint's record,
/// `struct __sk_buff`, `struct xdp_md`...; may be NULL with 0) and packet `data` (`len`
/// bytes, may be NULL with 0), as BPF_PROG_TEST_RUN does; for tracing programs whose
/// input is their context. Stores r0 in `*retval`. 0 or -1.
///
/// # Safety
/// `inst` is a live instance handle, `prog` a NUL-terminated string, `ctx` and `data`
/// have `ctx_len` and `len` readable bytes, `retval` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_test_run_ctx(
    inst: *const BpfboxInstance,
    prog: *const c_char,
    ctx: *const u8,
    ctx_len: usize,
    data: *const u8,
    len: usize,
    retval: *mut u64,
) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded from the caller.
        let (inst, prog, ctx, data) = unsafe {
            (
                handle(inst, "inst")?,
                str_arg(prog, "prog")?,
                bytes_arg(ctx, ctx_len, "ctx")?,
                bytes_arg(data, len, "data")?,
            )
        };
        let input = Input { data: data.to_vec(), ctx: (!ctx.is_empty()).then(|| ctx.to_vec()), repeat: 0 };
        let out = inst.0.test_run(prog, &input).map_err(|e| e.to_string())?;
        if !retval.is_null() {
            // SAFETY: writable or NULL, as the caller promises.
            unsafe { *retval = out.retval };
        }
        Ok(0)
    })
}

/// The map called `map` of `inst` and the key bytes.
///
/// # Safety
/// As for `bpfbox_map_lookup`.
unsafe fn map_key<'a>(
    inst: *const BpfboxInstance,
    map: *const c_char,
    key: *const u8,
    key_len: usize,
) -> Result<(RawMap, &'a str, &'a [u8]), String> {
    // SAFETY: forwarded from the caller.
    let (inst, name, key) = unsafe { (handle(inst, "inst")?, str_arg(map, "map")?, bytes_arg(key, key_len, "key")?) };
    Ok((inst.0.raw_map(name).map_err(|e| e.to_string())?, name, key))
}

/// Look `key` up in map `map`, copying the value into `value` (`value_len` must be the
/// value size; per-CPU maps: every CPU's value, one after the other). 0 when found, 1
/// when the key is absent, -1 on error.
///
/// # Safety
/// `inst` is a live instance handle, `map` a NUL-terminated string, `key` has `key_len`
/// readable bytes and `value` `value_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_map_lookup(
    inst: *const BpfboxInstance,
    map: *const c_char,
    key: *const u8,
    key_len: usize,
    value: *mut u8,
    value_len: usize,
) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded from the caller.
        let (m, name, key) = unsafe { map_key(inst, map, key, key_len) }?;
        let Some(v) = m.get(key).map_err(|e| e.to_string())? else {
            return Ok(1);
        };
        if v.len() != value_len {
            return Err(format!("map `{name}`: the value is {} bytes, but value_len is {value_len}", v.len()));
        }
        if value.is_null() {
            return Err("value is NULL".into());
        }
        // SAFETY: `value` has `value_len` == `v.len()` writable bytes.
        unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), value, v.len()) };
        Ok(0)
    })
}

/// Set `key` to `value` in map `map` (BPF_ANY). 0 or -1.
///
/// # Safety
/// `inst` is a live instance handle, `map` a NUL-terminated string, `key` and `value`
/// have `key_len` and `value_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_map_update(
    inst: *const BpfboxInstance,
    map: *const c_char,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded from the caller.
        let (m, _, key) = unsafe { map_key(inst, map, key, key_len) }?;
        // SAFETY: forwarded from the caller.
        let value = unsafe { bytes_arg(value, value_len, "value") }?;
        m.insert(key, value).map_err(|e| e.to_string())?;
        Ok(0)
    })
}

/// Delete `key` from map `map`. 0 when deleted, 1 when absent, -1 on error.
///
/// # Safety
/// `inst` is a live instance handle, `map` a NUL-terminated string, `key` has `key_len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn bpfbox_map_delete(
    inst: *const BpfboxInstance,
    map: *const c_char,
    key: *const u8,
    key_len: usize,
) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded from the caller.
        let (m, _, key) = unsafe { map_key(inst, map, key, key_len) }?;
        Ok(if m.remove(key).map_err(|e| e.to_string())? { 0 } else { 1 })
    })
}

#[cfg(test)]
mod ffi_tests;
