//! Bad input through the C API: errors with reasons, never a panic or a crash.

use crate::*;
use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

fn last_error() -> String {
    // SAFETY: bpfbox_last_error returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(bpfbox_last_error()) }.to_string_lossy().into_owned()
}

fn c(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s).expect("no NUL")
}

const OBJ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../api/tests/host/host_helpers.bpf.o");

#[test]
fn null_and_garbage_are_errors() {
    // SAFETY: every pointer is NULL, a valid C string, or a buffer of the given length.
    unsafe {
        assert!(bpfbox_object_open(null()).is_null());
        assert_eq!(last_error(), "path is NULL");
        assert!(bpfbox_object_open(c("/nonexistent.o").as_ptr()).is_null());
        assert!(last_error().starts_with("/nonexistent.o: "), "{}", last_error());
        let bad_utf8 = [0xffu8, 0];
        assert!(bpfbox_object_open(bad_utf8.as_ptr().cast::<c_char>()).is_null());
        assert_eq!(last_error(), "path is not UTF-8");
        assert!(bpfbox_object_open_bytes(null(), 10).is_null());
        assert!(bpfbox_object_open_bytes(b"\x7fELF".as_ptr(), 4).is_null());
        assert!(!last_error().is_empty());
        assert!(bpfbox_load(null(), 0, null()).is_null());
        assert_eq!(bpfbox_test_run(null(), null(), null(), 0, null_mut(), null_mut(), null_mut()), -1);
        assert_eq!(bpfbox_map_lookup(null(), null(), null(), 0, null_mut(), 0), -1);
        assert_eq!(bpfbox_helpers_register(null_mut(), 1000, null(), 0, null(), 0, None, null_mut()), -1);
        bpfbox_object_free(null_mut());
        bpfbox_instance_free(null_mut());
        bpfbox_helpers_free(null_mut());
        bpfbox_string_free(null_mut());
    }
}

#[test]
fn unknown_names_and_wrong_sizes_are_errors() {
    // SAFETY: valid handles from this library, C strings and sized buffers.
    unsafe {
        let obj = bpfbox_object_open(c(OBJ).as_ptr());
        assert!(!obj.is_null(), "{}", last_error());
        let h = bpfbox_helpers_new();
        let kinds = [BPFBOX_ARG_SCALAR, 99];
        assert_eq!(bpfbox_helpers_register(h, 1000, c("x").as_ptr(), 0, kinds.as_ptr(), 2, None, null_mut()), -1);
        assert_eq!(last_error(), "func is NULL");
        extern "C" fn zero(_: *mut std::ffi::c_void, _: *mut BpfboxCall, r: *mut u64) -> i32 {
            // SAFETY: bpfbox passes a writable result.
            unsafe { *r = 0 };
            0
        }
        assert_eq!(bpfbox_helpers_register(h, 1000, c("x").as_ptr(), 0, kinds.as_ptr(), 2, Some(zero), null_mut()), -1);
        assert_eq!(last_error(), "unknown argument kind 99");
        assert_eq!(bpfbox_helpers_register(h, 1000, c("x").as_ptr(), 7, kinds.as_ptr(), 1, Some(zero), null_mut()), -1);
        assert_eq!(last_error(), "unknown return kind 7");

        let mut accepted = -1;
        let text = bpfbox_verify(obj, c("good").as_ptr(), null(), &mut accepted);
        assert_eq!(accepted, 0, "without the host helpers, 1001 is unknown");
        assert!(CStr::from_ptr(text).to_string_lossy().contains("invalid func unknown#1001"));
        bpfbox_string_free(text);

        let inst = bpfbox_load(obj, 1, h);
        assert!(!inst.is_null(), "{}", last_error());
        let pkt = [0u8; 20];
        let mut r = 0u64;
        assert_eq!(bpfbox_test_run(inst, c("nope").as_ptr(), pkt.as_ptr(), 20, null_mut(), null_mut(), &mut r), -1);
        assert!(last_error().starts_with("no program named `nope`"), "{}", last_error());
        let key = 0u32.to_ne_bytes();
        let mut v = [0u8; 4];
        assert_eq!(bpfbox_map_lookup(inst, c("results").as_ptr(), key.as_ptr(), 4, v.as_mut_ptr(), 4), -1);
        assert!(last_error().contains("value is 8 bytes"), "{}", last_error());
        assert_eq!(bpfbox_map_lookup(inst, c("nomap").as_ptr(), key.as_ptr(), 4, v.as_mut_ptr(), 4), -1);
        assert!(last_error().starts_with("no map named `nomap`"), "{}", last_error());
        bpfbox_instance_free(inst);
        bpfbox_helpers_free(h);
        bpfbox_object_free(obj);
    }
}

#[test]
fn tracing_programs_run_on_a_context() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ringbuf_events.bpf.o");
    // SAFETY: valid handles from this library, C strings and sized buffers.
    unsafe {
        let obj = bpfbox_object_open(c(path).as_ptr());
        assert!(!obj.is_null(), "{}", last_error());
        let inst = bpfbox_load(obj, 0, null());
        assert!(!inst.is_null(), "{}", last_error());
        let mut ctx = [0u8; 64];
        ctx[8..16].copy_from_slice(&257u64.to_le_bytes()); // the openat syscall
        let mut r = 1u64;
        assert_eq!(bpfbox_test_run_ctx(inst, c("emit_openat").as_ptr(), ctx.as_ptr(), 64, null(), 0, &mut r), 0);
        assert_eq!(r, 0);
        // A context of the wrong size is refused with the kernel's reason.
        assert_eq!(bpfbox_test_run_ctx(inst, c("emit_openat").as_ptr(), ctx.as_ptr(), 3, null(), 0, &mut r), -1);
        assert!(!last_error().is_empty());
        bpfbox_instance_free(inst);
        bpfbox_object_free(obj);
    }
}
