//! The per-run path allocates nothing: `test_run` with `repeat = 1001` makes exactly
//! as many heap allocations as with `repeat = 1` (what a call allocates — the
//! context, the output packet — it allocates once, whatever the repeat count),
//! for both engines, on programs with packet parsing, context field loads and
//! stores, and array and hash map lookups.

use bpfbox::{Engine, Input, Object};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the allocations of the thread that turned counting on.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: allocations during thread-local teardown are not counted.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: forwards to the system allocator; the counting touches only `Cell`s.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded.
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(|c| c.get())
}

fn object(name: &str) -> Object {
    let path = format!("{}/../../tests/bench/run/{name}.bpf.o", env!("CARGO_MANIFEST_DIR"));
    Object::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn udp4() -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0];
    p.extend_from_slice(&[0x45, 0, 0, 60, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(&[0x03, 0xe8, 0x07, 0xd0, 0, 40, 0, 0]);
    p.extend_from_slice(&[0; 32]);
    p
}

#[test]
fn a_thousand_more_runs_allocate_nothing() {
    let cases = [
        ("empty", "empty_xdp", vec![0u8; 64]),
        ("vlan_ipv6", "vlan_ipv6_xdp", vec![0u8; 64]),
        ("tc_fields", "tc_fields", udp4()),
        ("array64", "array64", vec![0u8; 64]),
        ("hash64", "hash64", vec![0u8; 64]),
    ];
    for (engine_name, engine) in [("jit", Engine::jit()), ("interpreter", Engine::interpreter())] {
        for (obj, prog, data) in &cases {
            let inst = object(obj).load(&engine).unwrap();
            let input = |repeat| Input { data: data.clone(), ctx: None, repeat };
            // Warm up: maps filled, per-thread buffers made.
            inst.test_run(prog, &input(3)).unwrap();
            let (one, many) = (input(1), input(1001));
            let a = allocations(|| {
                inst.test_run(prog, &one).unwrap();
            });
            let b = allocations(|| {
                inst.test_run(prog, &many).unwrap();
            });
            assert!(a > 0, "{obj} on the {engine_name}: the counter saw no allocation at all");
            assert_eq!(b, a, "{obj} on the {engine_name}: 1,000 more runs made {} allocations", b as i64 - a as i64);
        }
    }
}

/// Repeated runs are the same runs however the runtime makes them (the JIT sets a
/// program that calls nothing up once for all of them): the packet carries over from
/// run to run, and the last run's value and packet are reported.
#[test]
fn repeated_runs_see_what_earlier_runs_left() {
    for (engine_name, engine) in [("jit", Engine::jit()), ("interpreter", Engine::interpreter())] {
        let inst = object("bump").load(&engine).unwrap();
        for repeat in [1u32, 2, 7, 1000] {
            let out = inst.test_run("bump", &Input { data: vec![0u8; 64], ctx: None, repeat }).unwrap();
            let want = (repeat % 256) as u8;
            assert_eq!(out.retval, want as u64, "{engine_name}, repeat {repeat}");
            assert_eq!(out.data[0], want, "{engine_name}, repeat {repeat}");
        }
    }
}
