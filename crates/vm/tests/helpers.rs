//! Kernel helpers called from programs run by the Runtime: results and error paths.

mod common;
use bpfbox_isa::{CallTarget, Insn};
use bpfbox_vm::{Clock, Errno, MapDef, RuntimeError, TestRunInput, VmError};
use common::*;

const EEXIST: i32 = 17;
const ENOENT: i32 = 2;
const E2BIG: i32 = 7;
const EINVAL: i32 = 22;
const EFAULT: i32 = 14;
const EAGAIN: i32 = 11;
const ERANGE: i32 = 34;

/// Run a program of unknown type (no context) and return r0.
fn r0(rt: &bpfbox_vm::Runtime, src: &str, maps: &[bpfbox_vm::MapId]) -> u64 {
    let p = load(rt, 0, src, maps);
    run(rt, p, &[]).retval
}

const UPDATE_1: &str = "
    ld_pseudo r1, 0x5, 0x0
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    call 2";

#[test]
fn map_update_flags_and_errors() {
    let rt = rt();
    let m = map(&rt, "h", HASH, 4, 8, 2);
    let prog = |flags: u64, key: u32| {
        format!("*(u32 *)(r10 - 4) = {key}\n r1 = 10\n *(u64 *)(r10 - 16) = r1\n r4 = {flags}\n{UPDATE_1}\n exit")
    };
    assert_eq!(r0(&rt, &prog(2, 1), &[m]), neg(ENOENT), "BPF_EXIST on a missing key");
    assert_eq!(r0(&rt, &prog(1, 1), &[m]), 0, "BPF_NOEXIST inserts");
    assert_eq!(r0(&rt, &prog(1, 1), &[m]), neg(EEXIST), "BPF_NOEXIST on a present key");
    assert_eq!(r0(&rt, &prog(2, 1), &[m]), 0);
    assert_eq!(r0(&rt, &prog(0, 2), &[m]), 0);
    assert_eq!(r0(&rt, &prog(0, 3), &[m]), neg(E2BIG), "max_entries reached");
    assert_eq!(r0(&rt, &prog(8, 3), &[m]), neg(EINVAL), "unknown flag");
    assert_eq!(r0(&rt, &prog(4, 1), &[m]), neg(EINVAL), "BPF_F_LOCK without a spin lock");
    assert_eq!(rt.map(m).lookup(&1u32.to_le_bytes()).unwrap(), 10u64.to_le_bytes());
    let del = "*(u32 *)(r10 - 4) = 9\n ld_pseudo r1, 0x5, 0x0\n r2 = r10\n r2 += -4\n call 3\n exit";
    assert_eq!(r0(&rt, del, &[m]), neg(ENOENT));
    let a = map(&rt, "a", ARRAY, 4, 8, 2);
    assert_eq!(r0(&rt, &prog(0, 2), &[a]), neg(E2BIG), "array index out of range");
    assert_eq!(r0(&rt, &prog(1, 0), &[a]), neg(EEXIST), "array elements always exist");
    assert_eq!(r0(&rt, &del.replace("= 9", "= 0"), &[a]), neg(EINVAL), "array delete");
}

#[test]
fn lookup_returns_a_writable_value_that_survives_delete() {
    let rt = rt();
    let m = map(&rt, "h", HASH, 4, 8, 4);
    rt.map(m).update(&1u32.to_le_bytes(), &5u64.to_le_bytes(), 0).unwrap();
    let src = "
        *(u32 *)(r10 - 4) = 1
        ld_pseudo r1, 0x5, 0x0
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto miss
        r6 = r0
        r7 = *(u64 *)(r6 + 0)
        ld_pseudo r1, 0x5, 0x0
        r2 = r10
        r2 += -4
        call 3
        r1 = 77
        *(u64 *)(r6 + 0) = r1
        r0 = *(u64 *)(r6 + 0)
        r0 += r7
        exit
    miss:
        r0 = 0
        exit";
    assert_eq!(r0(&rt, src, &[m]), 82, "5 read before the delete, 77 written after it");
    assert!(rt.map(m).is_empty());
    // A value is only its own bytes: reading past it faults.
    rt.map(m).update(&1u32.to_le_bytes(), &5u64.to_le_bytes(), 0).unwrap();
    let p = load(&rt, 0, &src.replace("r7 = *(u64 *)(r6 + 0)", "r7 = *(u64 *)(r6 + 8)"), &[m]);
    match err_of(&rt, p, TestRunInput::default()) {
        RuntimeError::Fault { error: VmError::OutOfBounds { pc: 8, .. }, .. } => {}
        e => panic!("{e}"),
    }
}

#[test]
fn percpu_maps_use_the_run_cpu() {
    let rt = rt();
    let m = map(&rt, "pc", PERCPU_ARRAY, 4, 4, 1);
    let src = "
        *(u32 *)(r10 - 4) = 0
        ld_pseudo r1, 0x5, 0x0
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto out
        r6 = r0
        call 8
        r0 += 100
        *(u32 *)(r6 + 0) = r0
    out:
        r0 = 0
        exit";
    let p = load(&rt, 0, src, &[m]);
    run_input(&rt, p, TestRunInput { cpu: 1, ..Default::default() });
    assert_eq!(rt.map(m).lookup(&0u32.to_le_bytes()).unwrap(), [0, 0, 0, 0, 0, 0, 0, 0, 101, 0, 0, 0, 0, 0, 0, 0]);
    assert!(matches!(err_of(&rt, p, TestRunInput { cpu: 2, ..Default::default() }), RuntimeError::BadInput { .. }));
    // map_lookup_percpu_elem reads another CPU's value.
    let src2 = "
        *(u32 *)(r10 - 4) = 0
        ld_pseudo r1, 0x5, 0x0
        r2 = r10
        r2 += -4
        r3 = 1
        call 195
        if r0 == 0 goto out
        r0 = *(u32 *)(r0 + 0)
        exit
    out:
        r0 = 999
        exit";
    assert_eq!(r0(&rt, src2, &[m]), 101);
    assert_eq!(r0(&rt, &src2.replace("r3 = 1", "r3 = 2"), &[m]), 999, "cpu out of range: NULL");
    // A per-CPU hash update from a program writes its CPU only, zeroing the others.
    let h = map(&rt, "ph", PERCPU_HASH, 4, 4, 4);
    let upd = format!("*(u32 *)(r10 - 4) = 1\n r1 = 7\n *(u64 *)(r10 - 16) = r1\n r4 = 0\n{UPDATE_1}\n exit");
    let p = load(&rt, 0, &upd, &[h]);
    run_input(&rt, p, TestRunInput { cpu: 1, ..Default::default() });
    assert_eq!(rt.map(h).lookup(&1u32.to_le_bytes()).unwrap(), [0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn lru_program_lookups_refresh_entries() {
    let rt = rt();
    let m = map(&rt, "lru", LRU_HASH, 4, 8, 2);
    let mm = rt.map(m);
    mm.update(&1u32.to_le_bytes(), &[1; 8], 0).unwrap();
    mm.update(&2u32.to_le_bytes(), &[2; 8], 0).unwrap();
    let touch1 = "*(u32 *)(r10 - 4) = 1\n ld_pseudo r1, 0x5, 0x0\n r2 = r10\n r2 += -4\n call 1\n r0 = 0\n exit";
    r0(&rt, touch1, &[m]);
    let ins3 = format!("*(u32 *)(r10 - 4) = 3\n r1 = 3\n *(u64 *)(r10 - 16) = r1\n r4 = 0\n{UPDATE_1}\n exit");
    assert_eq!(r0(&rt, &ins3, &[m]), 0, "LRU inserts evict instead of failing");
    assert!(mm.lookup(&1u32.to_le_bytes()).is_ok(), "1 was used by the program");
    assert_eq!(mm.lookup(&2u32.to_le_bytes()), Err(Errno::ENOENT));
}

#[test]
fn queue_stack_and_bloom_helpers() {
    let rt = rt();
    let q = map(&rt, "q", QUEUE, 0, 8, 2);
    let push = |v: u64, flags: u64| {
        format!("r1 = {v}\n *(u64 *)(r10 - 8) = r1\n ld_pseudo r1, 0x5, 0x0\n r2 = r10\n r2 += -8\n r3 = {flags}\n call 87\n exit")
    };
    assert_eq!(r0(&rt, &push(1, 0), &[q]), 0);
    assert_eq!(r0(&rt, &push(2, 0), &[q]), 0);
    assert_eq!(r0(&rt, &push(3, 0), &[q]), neg(E2BIG));
    assert_eq!(r0(&rt, &push(3, 2), &[q]), 0, "BPF_EXIST overwrites the oldest");
    // pop/peek into a buffer pre-filled with 0xff..; result = (helper r0 << 32) | low bits of value.
    let get = |helper: u32| {
        format!(
            "r1 = -1\n *(u64 *)(r10 - 8) = r1\n ld_pseudo r1, 0x5, 0x0\n r2 = r10\n r2 += -8\n call {helper}\n
             r0 <<= 32\n r1 = *(u64 *)(r10 - 8)\n r1 &= 0xffff\n r0 |= r1\n exit"
        )
    };
    assert_eq!(r0(&rt, &get(89), &[q]), 2, "peek: front is 2");
    assert_eq!(r0(&rt, &get(88), &[q]), 2);
    assert_eq!(r0(&rt, &get(88), &[q]), 3);
    assert_eq!(r0(&rt, &get(88), &[q]), (neg(ENOENT) << 32), "empty: -ENOENT, buffer zeroed");
    let s = map(&rt, "s", STACK, 0, 8, 4);
    r0(&rt, &push(1, 0), &[s]);
    r0(&rt, &push(2, 0), &[s]);
    assert_eq!(r0(&rt, &get(88), &[s]), 2, "LIFO");
    // Bloom filter: push then peek (0 = maybe present, -ENOENT = absent).
    let b = rt
        .create_map(&MapDef {
            name: "bloom".into(),
            map_type: BLOOM,
            value_size: 8,
            max_entries: 16,
            map_extra: 3,
            ..Default::default()
        })
        .unwrap();
    let peek = |v: u64| {
        format!("r1 = {v}\n *(u64 *)(r10 - 8) = r1\n ld_pseudo r1, 0x5, 0x0\n r2 = r10\n r2 += -8\n call 89\n exit")
    };
    assert_eq!(r0(&rt, &peek(42), &[b]), neg(ENOENT));
    assert_eq!(r0(&rt, &push(42, 0), &[b]), 0);
    assert_eq!(r0(&rt, &peek(42), &[b]), 0);
    assert_eq!(r0(&rt, &push(43, 2), &[b]), neg(EINVAL), "bloom push takes BPF_ANY only");
}

/// A program that counts its runs in `counts[0]`, then tail-calls slot `slot` of the prog array.
fn counting_tail_caller(slot: u32) -> String {
    format!(
        "r6 = r1
         *(u32 *)(r10 - 4) = 0
         ld_pseudo r1, 0x5, 0x0
         r2 = r10
         r2 += -4
         call 1
         if r0 == 0 goto out
         r1 = 1
         lock *(u64 *)(r0 + 0) += r1
         r1 = r6
         ld_pseudo r2, 0x5, 0x1
         r3 = {slot}
         call 12
         r0 <<= 8
         r0 |= 42
         exit
     out:
         r0 = 0
         exit"
    )
}

#[test]
fn tail_calls_stop_after_33() {
    let rt = rt();
    let counts = map(&rt, "counts", ARRAY, 4, 8, 1);
    let pa = map(&rt, "jmp", PROG_ARRAY, 4, 4, 2);
    let p = load(&rt, XDP, &counting_tail_caller(0), &[counts, pa]);
    rt.set_prog_slot(pa, 0, p).unwrap();
    let o = run(&rt, p, &udp_packet(b""));
    assert_eq!(rt.map(counts).lookup(&0u32.to_le_bytes()).unwrap(), 34u64.to_le_bytes(), "1 run + 33 tail calls");
    assert_eq!(o.retval, neg(ENOENT) << 8 | 42, "the 34th tail call fails and returns -ENOENT");
    assert!(o.insns_executed > 34 * 10, "instructions of every program: {}", o.insns_executed);
    // Empty slot and out-of-range index fall through.
    let q = load(&rt, XDP, &counting_tail_caller(1), &[counts, pa]);
    assert_eq!(run(&rt, q, &udp_packet(b"")).retval, neg(ENOENT) << 8 | 42);
    let r = load(&rt, XDP, &counting_tail_caller(7), &[counts, pa]);
    assert_eq!(run(&rt, r, &udp_packet(b"")).retval, neg(ENOENT) << 8 | 42);
    // Programs of another type cannot join the array.
    let t = load(&rt, SCHED_CLS, "r0 = 0\n exit", &[]);
    assert!(matches!(rt.set_prog_slot(pa, 1, t), Err(RuntimeError::Map { errno: Errno::EINVAL, .. })));
    assert!(matches!(rt.set_prog_slot(pa, 5, p), Err(RuntimeError::Map { errno: Errno::E2BIG, .. })));
    // The user-space view of a prog array: the program id.
    assert_eq!(rt.map(pa).lookup(&0u32.to_le_bytes()).unwrap(), p.0.to_le_bytes());
}

#[test]
fn tail_call_target_gets_the_context() {
    let rt = rt();
    let pa = map(&rt, "jmp", PROG_ARRAY, 4, 4, 1);
    let target = load(&rt, XDP, "r2 = *(u32 *)(r1 + 0)\n r3 = *(u32 *)(r1 + 4)\n r3 -= r2\n r0 = r3\n exit", &[]);
    rt.set_prog_slot(pa, 0, target).unwrap();
    let caller = load(&rt, XDP, "ld_pseudo r2, 0x5, 0x0\n r3 = 0\n call 12\n r0 = 1\n exit", &[pa]);
    assert_eq!(run(&rt, caller, &udp_packet(b"abc")).retval, 45, "the target read data_end - data");
}

#[test]
fn map_in_map_lookups_return_the_inner_map() {
    let rt = rt();
    let inner_def = MapDef {
        name: "inner".into(),
        map_type: ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 4,
        ..Default::default()
    };
    let outer = rt
        .create_map(&MapDef {
            name: "outer".into(),
            map_type: ARRAY_OF_MAPS,
            key_size: 4,
            value_size: 4,
            max_entries: 2,
            inner: Some(Box::new(inner_def.clone())),
            ..Default::default()
        })
        .unwrap();
    let inner = rt.create_map(&inner_def).unwrap();
    let wrong = map(&rt, "wrong", ARRAY, 4, 8, 5);
    assert!(
        matches!(rt.set_map_slot(outer, 0, wrong), Err(RuntimeError::Map { errno: Errno::EINVAL, .. })),
        "max_entries differ"
    );
    rt.set_map_slot(outer, 0, inner).unwrap();
    let src = "
        *(u32 *)(r10 - 4) = 0
        ld_pseudo r1, 0x5, 0x0
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto out
        *(u32 *)(r10 - 8) = 2
        r1 = r0
        r2 = r10
        r2 += -8
        call 1
        if r0 == 0 goto out
        r1 = 55
        *(u64 *)(r0 + 0) = r1
        r0 = 1
        exit
    out:
        r0 = 0
        exit";
    assert_eq!(r0(&rt, src, &[outer]), 1);
    assert_eq!(rt.map(inner).lookup(&2u32.to_le_bytes()).unwrap(), 55u64.to_le_bytes());
    assert_eq!(rt.map(outer).lookup(&0u32.to_le_bytes()).unwrap(), inner.0.to_le_bytes());
    assert_eq!(r0(&rt, &src.replace("*(u32 *)(r10 - 4) = 0", "*(u32 *)(r10 - 4) = 1"), &[outer]), 0, "empty slot");
    // hash of maps
    let hom = rt
        .create_map(&MapDef {
            name: "hom".into(),
            map_type: HASH_OF_MAPS,
            key_size: 4,
            value_size: 4,
            max_entries: 2,
            inner: Some(Box::new(inner_def)),
            ..Default::default()
        })
        .unwrap();
    rt.set_map_slot(hom, 0, inner).unwrap();
    assert_eq!(r0(&rt, src, &[hom]), 1);
    // A map handle is not memory.
    let p = load(&rt, 0, "ld_pseudo r1, 0x5, 0x0\n r0 = *(u64 *)(r1 + 0)\n exit", &[outer]);
    assert!(matches!(
        err_of(&rt, p, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::OutOfBounds { .. }, .. }
    ));
}

#[test]
fn ring_buffer_helpers() {
    let rt = rt();
    let rb = map(&rt, "rb", RINGBUF, 0, 0, 4096);
    let src = "
        ld_pseudo r1, 0x5, 0x0
        r2 = 16
        r3 = 0
        call 131
        if r0 == 0 goto fail
        r1 = 0x1122334455667788 ll
        *(u64 *)(r0 + 0) = r1
        *(u64 *)(r0 + 8) = r1
        r1 = r0
        r2 = 0
        call 132
        ld_pseudo r1, 0x5, 0x0
        r2 = 8
        r3 = 0
        call 131
        if r0 == 0 goto fail
        r1 = r0
        r2 = 0
        call 133
        r1 = 0xab
        *(u64 *)(r10 - 8) = r1
        ld_pseudo r1, 0x5, 0x0
        r2 = r10
        r2 += -8
        r3 = 4
        r4 = 0
        call 130
        r6 = r0
        ld_pseudo r1, 0x5, 0x0
        r2 = 0
        call 134
        r6 <<= 32
        r0 |= r6
        exit
    fail:
        r0 = -1
        exit";
    let p = load(&rt, 0, src, &[rb]);
    let o = run(&rt, p, &[]);
    assert_eq!(o.retval, 24 + 16 + 16, "output ok (0), AVAIL_DATA = 3 records");
    let evs: Vec<_> = o.events.iter().map(|e| (e.map.as_str(), e.cpu, e.data.clone())).collect();
    assert_eq!(
        evs,
        vec![
            ("rb", None, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11].repeat(2)),
            ("rb", None, vec![0xab, 0, 0, 0])
        ]
    );
    assert!(rt.map(rb).ringbuf_consume().is_empty(), "consumed after the run");
    // Errors: too big a record, bad flags, and a record never submitted.
    let big = "ld_pseudo r1, 0x5, 0x0\n r2 = 5000\n r3 = 0\n call 131\n exit";
    assert_eq!(r0(&rt, big, &[rb]), 0, "NULL");
    let flags = "ld_pseudo r1, 0x5, 0x0\n r2 = 8\n r3 = 1\n call 131\n exit";
    assert_eq!(r0(&rt, flags, &[rb]), 0, "NULL for flags");
    let out_flags =
        "ld_pseudo r1, 0x5, 0x0\n r2 = r10\n r2 += -8\n r3 = 8\n r4 = 4\n *(u64 *)(r10 - 8) = r4\n call 130\n exit";
    assert_eq!(r0(&rt, out_flags, &[rb]), neg(EINVAL));
    let leak = load(&rt, 0, "ld_pseudo r1, 0x5, 0x0\n r2 = 8\n r3 = 0\n call 131\n r0 = 0\n exit", &[rb]);
    assert!(matches!(
        err_of(&rt, leak, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::Helper { .. }, .. }
    ));
    // Submitting twice is refused.
    let twice = load(
        &rt,
        0,
        "ld_pseudo r1, 0x5, 0x0\n r2 = 8\n r3 = 0\n call 131\n r6 = r0\n r1 = r6\n r2 = 0\n call 132\n r1 = r6\n r2 = 0\n call 132\n exit",
        &[rb],
    );
    assert!(matches!(
        err_of(&rt, twice, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::Helper { pc: 11, .. }, .. }
    ));
}

#[test]
fn ring_buffer_fills_without_a_consumer() {
    let rt = rt_with(|o| o.consume_events = false);
    let rb = map(&rt, "rb", RINGBUF, 0, 0, 4096);
    let out = "ld_pseudo r1, 0x5, 0x0\n r2 = r10\n r2 += -400\n r3 = 400\n r4 = 0\n call 130\n exit";
    let p = load(&rt, 0, out, &[rb]);
    let results: Vec<u64> = (0..11).map(|_| run(&rt, p, &[]).retval).collect();
    assert_eq!(&results[..10], &[0; 10], "10 records of 408 bytes fit in 4095");
    assert_eq!(results[10], neg(EAGAIN));
    assert_eq!(rt.map(rb).ringbuf_consume().len(), 10);
    assert_eq!(run(&rt, p, &[]).retval, 0, "room again");
}

#[test]
fn perf_event_output_records_per_cpu() {
    let rt = rt();
    let pe = map(&rt, "events", PERF_EVENT_ARRAY, 4, 4, 0);
    let src = |flags: &str| {
        format!("r1 = 0x0a0b0c0d\n *(u64 *)(r10 - 8) = r1\n r6 = r1\n ld_pseudo r2, 0x5, 0x0\n r3 = {flags} ll\n r4 = r10\n r4 += -8\n r5 = 4\n call 25\n exit")
    };
    let p = load(&rt, 0, &src("0xffffffff"), &[pe]);
    let o = run_input(&rt, p, TestRunInput { cpu: 1, ..Default::default() });
    assert_eq!(o.retval, 0);
    assert_eq!(o.events.len(), 1);
    assert_eq!((o.events[0].cpu, o.events[0].data.clone()), (Some(1), vec![0x0d, 0x0c, 0x0b, 0x0a]));
    assert_eq!(r0(&rt, &src("0"), &[pe]), 0);
    assert_eq!(r0(&rt, &src("5"), &[pe]), neg(E2BIG), "index beyond the CPUs");
    assert_eq!(r0(&rt, &src("0x100000000"), &[pe]), neg(EINVAL), "BPF_F_CTXLEN needs a packet context");
    assert_eq!(r0(&rt, &src("0x10000000000000"), &[pe]), neg(EINVAL), "unknown flag bits");
    rt.map(pe).delete(&0u32.to_le_bytes()).unwrap();
    assert_eq!(r0(&rt, &src("0"), &[pe]), neg(ENOENT), "no perf buffer at index 0");
    // With a packet: BPF_F_CTXLEN appends its first bytes.
    let x = load(&rt, XDP, &src("0x0000000e00000001"), &[pe]);
    let o = run(&rt, x, &udp_packet(b""));
    assert_eq!(o.events[0].data.len(), 4 + 14);
    assert_eq!(&o.events[0].data[4..], &udp_packet(b"")[..14]);
}

#[test]
fn trace_printk_snprintf_and_vprintk() {
    let rt = rt();
    let fmt = b"n=%d u=%u s=%s\n\0";
    let src = format!(
        "{}{}
         r1 = r10
         r1 += -48
         r2 = {}
         r3 = -5
         r4 = 7
         r5 = r10
         r5 += -64
         call 6
         exit",
        stack_bytes(48, fmt),
        stack_bytes(64, b"str\0"),
        fmt.len()
    );
    let p = load(&rt, 0, &src, &[]);
    let o = run(&rt, p, &[]);
    assert_eq!(o.printk, vec!["n=-5 u=7 s=str".to_string()]);
    assert_eq!(o.retval, 15, "bytes printed, newline included");
    // Four conversions but three arguments: -EINVAL, nothing printed.
    let bad = format!("{}\n r1 = r10\n r1 += -16\n r2 = 12\n call 6\n exit", stack_bytes(16, b"%d%d%d%d\0"));
    let p = load(&rt, 0, &bad, &[]);
    let o = run(&rt, p, &[]);
    assert_eq!((o.retval, o.printk.len()), (neg(EINVAL), 0));
    // fmt without a NUL inside fmt_size.
    let nonul = format!("{}\n r1 = r10\n r1 += -16\n r2 = 4\n call 6\n exit", stack_bytes(16, b"abcdefgh"));
    assert_eq!(r0(&rt, &nonul, &[]), neg(EINVAL));
    // snprintf into an array value from a read-only format (global .rodata), args as u64s.
    let rodata = rt
        .create_map(&MapDef {
            name: ".rodata".into(),
            map_type: ARRAY,
            key_size: 4,
            value_size: 16,
            max_entries: 1,
            map_flags: 0x80,
            initial_data: Some(b"%s-%03d\0".to_vec()),
            frozen: true,
            ..Default::default()
        })
        .unwrap();
    let bss = map(&rt, ".bss", ARRAY, 4, 16, 1);
    let snp = format!(
        "{}
         r1 = r10
         r1 += -16
         *(u64 *)(r10 - 32) = r1
         r1 = 7
         *(u64 *)(r10 - 24) = r1
         ld_pseudo r1, 0x6, 0x1, 0x0
         r2 = 6
         ld_pseudo r3, 0x6, 0x0, 0x0
         r4 = r10
         r4 += -32
         r5 = 16
         call 165
         exit",
        stack_bytes(16, b"abc\0")
    );
    assert_eq!(r0(&rt, &snp, &[rodata, bss]), 8, "strlen(\"abc-007\") + 1");
    assert_eq!(rt.map(bss).lookup(&0u32.to_le_bytes()).unwrap()[..6], *b"abc-0\0", "truncated to 6 with the NUL");
    let odd = snp.replace("r5 = 16", "r5 = 12");
    assert_eq!(r0(&rt, &odd, &[rodata, bss]), neg(EINVAL), "data_len not a multiple of 8");
    // trace_vprintk: more than three arguments.
    let vp = format!(
        "{}
         r1 = 1
         *(u64 *)(r10 - 64) = r1
         r1 = 2
         *(u64 *)(r10 - 56) = r1
         r1 = 3
         *(u64 *)(r10 - 48) = r1
         r1 = 4
         *(u64 *)(r10 - 40) = r1
         r1 = r10
         r1 += -16
         r2 = 12
         r3 = r10
         r3 += -64
         r4 = 32
         call 177
         exit",
        stack_bytes(16, b"%d%d%d%d\0")
    );
    let p = load(&rt, 0, &vp, &[]);
    let o = run(&rt, p, &[]);
    assert_eq!((o.retval, o.printk), (4, vec!["1234".to_string()]));
}

#[test]
fn probe_reads() {
    let rt = rt_with(|o| o.probe_memory = vec![(0xffff_8880_0000_1000, b"kernel!\0".to_vec())]);
    let read = |helper: u32, size: u32, src: &str| {
        format!(
            "{}
             r1 = -1
             *(u64 *)(r10 - 32) = r1
             *(u64 *)(r10 - 24) = r1
             r1 = r10
             r1 += -32
             r2 = {size}
             r3 = {src}
             call {helper}
             r6 = r0
             r0 = *(u64 *)(r10 - 32)
             exit",
            stack_bytes(16, b"hello\0")
        )
    };
    let stack_src = "r10\n r3 += -16";
    let hello = u64::from_le_bytes(*b"hello\0\0\0");
    assert_eq!(r0(&rt, &read(4, 8, stack_src), &[]), hello);
    assert_eq!(r0(&rt, &read(113, 8, stack_src), &[]), hello);
    assert_eq!(r0(&rt, &read(112, 8, "0x1000 ll"), &[]), 0, "fault: destination zeroed");
    assert_eq!(r0(&rt, &read(113, 8, "0xffff888000001000 ll"), &[]), u64::from_le_bytes(*b"kernel!\0"));
    // The return values.
    let rv = |helper: u32, size: u32, src: &str| {
        r0(&rt, &read(helper, size, src).replace("r0 = *(u64 *)(r10 - 32)", "r0 = r6"), &[])
    };
    assert_eq!(rv(4, 8, stack_src), 0);
    assert_eq!(rv(4, 8, "0x1000 ll"), neg(EFAULT));
    assert_eq!(rv(45, 16, stack_src), 6, "\"hello\" + NUL");
    assert_eq!(rv(115, 4, stack_src), 4, "truncated: 3 bytes + NUL");
    assert_eq!(rv(114, 16, "0x1000 ll"), neg(EFAULT));
    assert_eq!(rv(115, 16, "0xffff888000001000 ll"), 8);
    assert_eq!(r0(&rt, &read(115, 4, stack_src), &[]), u64::from_le_bytes(*b"hel\0\xff\xff\xff\xff"), "not padded");
}

#[test]
fn task_time_random_and_cpu() {
    let rt = rt();
    assert_eq!(r0(&rt, "call 14\n exit", &[]), 4242 << 32 | 4242);
    assert_eq!(r0(&rt, "call 15\n exit", &[]), 1000 << 32 | 1000);
    let comm = "r1 = -1\n *(u64 *)(r10 - 16) = r1\n *(u64 *)(r10 - 8) = r1\n r1 = r10\n r1 += -16\n r2 = 16\n call 16\n r0 = *(u64 *)(r10 - 16)\n exit";
    assert_eq!(r0(&rt, comm, &[]), u64::from_le_bytes(*b"bpfbox\0\0"), "strscpy_pad");
    let comm4 = comm.replace("r2 = 16", "r2 = 4");
    assert_eq!(r0(&rt, &comm4, &[]), u64::from_le_bytes(*b"bpf\0\xff\xff\xff\xff"));
    assert_eq!(r0(&rt, "call 5\n exit", &[]), 1_000_000_000);
    assert_eq!(r0(&rt, "call 125\n exit", &[]), 1_000_000_000);
    assert_eq!(r0(&rt, "call 160\n exit", &[]), 1_000_000_000);
    assert_eq!(r0(&rt, "call 118\n exit", &[]), (1u64 << 32) - 300_000 + 1000);
    assert_eq!(r0(&rt, "call 42\n exit", &[]), 0);
    assert_ne!(r0(&rt, "call 35\n exit", &[]), 0);
    let p = load(&rt, 0, "call 8\n exit", &[]);
    assert_eq!(run_input(&rt, p, TestRunInput { cpu: 1, ..Default::default() }).retval, 1);
    // prandom: deterministic per seed, different per call.
    let two = "call 7\n r6 = r0\n call 7\n r0 <<= 32\n r0 |= r6\n exit";
    let a = r0(&rt, two, &[]);
    assert_ne!(a >> 32, a & 0xffff_ffff);
    assert_eq!(r0(&common::rt(), two, &[]), a, "same seed, same numbers");
    let real = rt_with(|o| o.clock = Clock::Real);
    let t1 = r0(&real, "call 5\n exit", &[]);
    let t2 = r0(&real, "call 5\n exit", &[]);
    assert!(t2 >= t1 && t1 > 0);
    let cookie = rt_with(|o| o.attach_cookie = 99);
    assert_eq!(r0(&cookie, "call 174\n exit", &[]), 99);
}

#[test]
fn loop_and_for_each_callbacks() {
    let rt = rt();
    let main = "
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = 10
        ld_pseudo r2, 0x4, 0
        r3 = r10
        r3 += -8
        r4 = 0
        call 181
        r6 = r0
        r0 = *(u64 *)(r10 - 8)
        r0 <<= 32
        r0 |= r6
        exit";
    let sum = "r3 = *(u64 *)(r2 + 0)\n r3 += r1\n *(u64 *)(r2 + 0) = r3\n r0 = 0\n exit";
    let p = load_insns(&rt, 0, with_callbacks(main, &[sum]), &[]);
    assert_eq!(run(&rt, p, &[]).retval, 45 << 32 | 10);
    let stop3 =
        "r3 = *(u64 *)(r2 + 0)\n r3 += r1\n *(u64 *)(r2 + 0) = r3\n r0 = 0\n if r1 != 3 goto +1\n r0 = 1\n exit";
    let p = load_insns(&rt, 0, with_callbacks(main, &[stop3]), &[]);
    assert_eq!(run(&rt, p, &[]).retval, 6 << 32 | 4, "stopped after index 3");
    let flags = with_callbacks(&main.replace("r4 = 0", "r4 = 1"), &[sum]);
    let p = load_insns(&rt, 0, flags, &[]);
    assert_eq!(run(&rt, p, &[]).retval & 0xffff_ffff, neg(EINVAL) & 0xffff_ffff);
    let many = with_callbacks(&main.replace("r1 = 10", "r1 = 0x800001"), &[sum]);
    let p = load_insns(&rt, 0, many, &[]);
    assert_eq!(run(&rt, p, &[]).retval & 0xffff_ffff, neg(E2BIG) & 0xffff_ffff);
    // A callback that calls back in too deep: 8 frames at most.
    let recurse = "
        r1 = 1
        ld_pseudo r2, 0x4, 0
        r3 = 0
        r4 = 0
        call 181
        r0 = 0
        exit";
    let p = load_insns(&rt, 0, with_callbacks(recurse, &[recurse]), &[]);
    assert!(matches!(
        err_of(&rt, p, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::CallDepthExceeded { .. }, .. }
    ));

    // for_each_map_elem over a hash: sums values, counts elements.
    let h = map(&rt, "h", HASH, 4, 8, 8);
    for i in 1..=3u32 {
        rt.map(h).update(&i.to_le_bytes(), &(i as u64 * 10).to_le_bytes(), 0).unwrap();
    }
    let fe = "
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        ld_pseudo r1, 0x5, 0x0
        ld_pseudo r2, 0x4, 0
        r3 = r10
        r3 += -8
        r4 = 0
        call 164
        r6 = r0
        r0 = *(u64 *)(r10 - 8)
        r0 <<= 32
        r0 |= r6
        exit";
    let cb = "
        r5 = *(u32 *)(r2 + 0)
        r3 = *(u64 *)(r3 + 0)
        r3 += r5
        r1 = *(u64 *)(r4 + 0)
        r1 += r3
        *(u64 *)(r4 + 0) = r1
        r0 = 0
        exit";
    let p = load_insns(&rt, 0, with_callbacks(fe, &[cb]), &[h]);
    assert_eq!(run(&rt, p, &[]).retval, (60 + 6) << 32 | 3);
    // On an array, the callback may write values; returning 1 stops (that element counts).
    let a = map(&rt, "a", ARRAY, 4, 8, 4);
    let wr = "r1 = 9\n *(u64 *)(r3 + 0) = r1\n r0 = 0\n r5 = *(u32 *)(r2 + 0)\n if r5 != 1 goto +1\n r0 = 1\n exit";
    let p = load_insns(&rt, 0, with_callbacks(fe, &[wr]), &[a]);
    assert_eq!(run(&rt, p, &[]).retval, 2);
    let vals: Vec<u64> =
        rt.map(a).entries().iter().map(|(_, v)| u64::from_le_bytes(v[..8].try_into().unwrap())).collect();
    assert_eq!(vals, vec![9, 9, 0, 0]);
}

#[test]
fn spin_locks_serialize_threads() {
    let rt = std::sync::Arc::new(rt());
    let def = MapDef {
        name: "locked".into(),
        map_type: HASH,
        key_size: 4,
        value_size: 16,
        max_entries: 1,
        ..Default::default()
    };
    let m = rt.create_map_with(&def, Some(0)).unwrap();
    rt.map(m).update(&0u32.to_le_bytes(), &[0; 16], 0).unwrap();
    let src = "
        *(u32 *)(r10 - 4) = 0
        ld_pseudo r1, 0x5, 0x0
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto out
        r6 = r0
        r1 = r6
        call 93
        r1 = *(u64 *)(r6 + 8)
        r1 += 1
        *(u64 *)(r6 + 8) = r1
        r1 = r6
        call 94
    out:
        r0 = 0
        exit";
    let p = load(&rt, 0, src, &[m]);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    rt.test_run(p, &TestRunInput::default()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(rt.map(m).lookup(&0u32.to_le_bytes()).unwrap()[8..], 2000u64.to_le_bytes());
    // Exiting with the lock held is an error (and the lock is released).
    let held = load(&rt, 0, &src.replace("call 94", "r0 = 0"), &[m]);
    assert!(matches!(
        err_of(&rt, held, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::Helper { .. }, .. }
    ));
    assert_eq!(run(&rt, p, &[]).retval, 0, "the lock was released");
    // Unlocking what is not held, locking a stack address.
    let bad = load(&rt, 0, "r1 = r10\n r1 += -8\n call 94\n exit", &[]);
    assert!(matches!(
        err_of(&rt, bad, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::Helper { pc: 2, .. }, .. }
    ));
    let stack = load(&rt, 0, "r1 = r10\n r1 += -8\n call 93\n exit", &[]);
    assert!(matches!(
        err_of(&rt, stack, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::Helper { pc: 2, .. }, .. }
    ));
}

#[test]
fn strtol_strtoul_strncmp() {
    let rt = rt();
    let conv = |helper: u32, text: &[u8], flags: u32| {
        format!(
            "{}
             r1 = r10
             r1 += -32
             r2 = {}
             r3 = {flags}
             r4 = r10
             r4 += -8
             call {helper}
             r6 = r0
             r0 = *(u64 *)(r10 - 8)
             r6 <<= 32
             r0 <<= 32
             r0 >>= 32
             r0 |= r6
             exit",
            stack_bytes(32, text),
            text.len()
        )
    };
    assert_eq!(r0(&rt, &conv(105, b"  -42xyz", 10), &[]), 5 << 32 | ((-42i64) as u64 & 0xffff_ffff));
    assert_eq!(r0(&rt, &conv(106, b"0x1F", 0), &[]), 4 << 32 | 31);
    assert_eq!(r0(&rt, &conv(106, b"-1", 10), &[]), neg(EINVAL) << 32, "strtoul refuses a minus; res zeroed");
    assert_eq!(r0(&rt, &conv(105, b"99999999999999999999", 10), &[]), neg(ERANGE) << 32);
    assert_eq!(r0(&rt, &conv(105, b"9223372036854775808", 10), &[]), neg(ERANGE) << 32, "above LONG_MAX");
    assert_eq!(r0(&rt, &conv(105, b"12", 3), &[]), neg(EINVAL) << 32, "base 3");
    let cmp = |a: &[u8], n: u32| {
        let rodata = rt
            .create_map(&MapDef {
                name: ".rodata".into(),
                map_type: ARRAY,
                key_size: 4,
                value_size: 8,
                max_entries: 1,
                map_flags: 0x80,
                initial_data: Some(b"abd\0".to_vec()),
                frozen: true,
                ..Default::default()
            })
            .unwrap();
        r0(
            &rt,
            &format!(
                "{}\n r1 = r10\n r1 += -8\n r2 = {n}\n ld_pseudo r3, 0x6, 0, 0\n call 182\n exit",
                stack_bytes(8, a)
            ),
            &[rodata],
        )
    };
    assert_eq!(cmp(b"abd\0", 8), 0);
    assert_eq!(cmp(b"abc\0", 8), u64::MAX, "abc < abd");
    assert_eq!(cmp(b"abz\0", 8), 1);
    assert_eq!(cmp(b"abz\0", 2), 0, "only 2 bytes compared");
}

#[test]
fn loading_refuses_what_bpfbox_cannot_run() {
    let rt = rt();
    match rt.load_program("sk", XDP, asm("r0 = 0\n call 84\n exit"), &[]) {
        Err(RuntimeError::MissingHelper { pc: 1, id: 84, name: "sk_lookup_tcp", .. }) => {}
        r => panic!("{r:?}"),
    }
    let e = rt.load_program("sk", XDP, asm("r0 = 0\n call 84\n exit"), &[]).unwrap_err().to_string();
    assert!(e.contains("bpf_sk_lookup_tcp") && e.contains("pc 1"), "{e}");
    assert!(matches!(
        rt.load_program("x", 0, asm("call 9999\n exit"), &[]),
        Err(RuntimeError::UnknownHelper { id: 9999, .. })
    ));
    let kf = vec![Insn::Call(CallTarget::Kfunc { btf_id: 1234, off: 0 }), Insn::Exit];
    assert!(matches!(rt.load_program("k", 0, kf, &[]), Err(RuntimeError::Kfunc { pc: 0, btf_id: 1234, .. })));
    match rt.load_program("tc", SCHED_CLS, asm("r2 = 4\n call 44\n exit"), &[]) {
        Err(RuntimeError::HelperNotAllowed { pc: 1, name: "xdp_adjust_head", .. }) => {}
        r => panic!("{r:?}"),
    }
    let m = map(&rt, "h", HASH, 4, 4, 1);
    assert!(matches!(
        rt.load_program("x", 0, asm("ld_pseudo r1, 0x5, 0x3\n exit"), &[m]),
        Err(RuntimeError::BadMapIndex { pc: 0, index: 3, count: 1, .. })
    ));
    assert!(matches!(
        rt.load_program("x", 0, asm("ld_pseudo r1, 0x6, 0x0, 0x0\n exit"), &[m]),
        Err(RuntimeError::BadDirectValue { errno: Errno::EINVAL, .. })
    ));
    let a2 = map(&rt, "a2", ARRAY, 4, 4, 2);
    assert!(matches!(
        rt.load_program("x", 0, asm("ld_pseudo r1, 0x6, 0x0, 0x0\n exit"), &[a2]),
        Err(RuntimeError::BadDirectValue { errno: Errno::ENOTSUPP, .. })
    ));
    let a1 = map(&rt, "a1", ARRAY, 4, 4, 1);
    assert!(matches!(
        rt.load_program("x", 0, asm("ld_pseudo r1, 0x6, 0x0, 0x4\n exit"), &[a1]),
        Err(RuntimeError::BadDirectValue { off: 4, .. })
    ));
    assert!(rt.load_program("ok", 0, asm("ld_pseudo r1, 0x6, 0x0, 0x3\n r0 = 0\n exit"), &[a1]).is_ok());
    assert!(matches!(rt.load_program("e", 0, vec![], &[]), Err(RuntimeError::Program { .. })));
}

#[test]
fn global_data_direct_access() {
    let rt = rt();
    let data = rt
        .create_map(&MapDef {
            name: ".data".into(),
            map_type: ARRAY,
            key_size: 4,
            value_size: 8,
            max_entries: 1,
            initial_data: Some(vec![5, 0, 0, 0]),
            ..Default::default()
        })
        .unwrap();
    let rodata = rt
        .create_map(&MapDef {
            name: ".rodata".into(),
            map_type: ARRAY,
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            map_flags: 0x80,
            initial_data: Some(vec![7, 0, 0, 0]),
            frozen: true,
            ..Default::default()
        })
        .unwrap();
    let src = "
        ld_pseudo r1, 0x6, 0x0, 0x0
        r2 = *(u32 *)(r1 + 0)
        ld_pseudo r3, 0x6, 0x1, 0x0
        r4 = *(u32 *)(r3 + 0)
        r2 += r4
        *(u32 *)(r1 + 4) = r2
        r0 = r2
        exit";
    assert_eq!(r0(&rt, src, &[data, rodata]), 12);
    assert_eq!(rt.map(data).lookup(&0u32.to_le_bytes()).unwrap(), [5, 0, 0, 0, 12, 0, 0, 0]);
    assert_eq!(rt.map(rodata).update(&0u32.to_le_bytes(), &[0; 4], 0), Err(Errno::EPERM), "frozen");
    let w = load(&rt, 0, "ld_pseudo r1, 0x6, 0x0, 0x0\n *(u32 *)(r1 + 0) = 1\n exit", &[rodata]);
    assert!(matches!(
        err_of(&rt, w, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::ReadOnly { pc: 2, .. }, .. }
    ));
    // A program may not update a BPF_F_RDONLY_PROG map through helpers either.
    let u =
        load(&rt, 0, &format!("*(u32 *)(r10 - 4) = 0\n *(u64 *)(r10 - 16) = 0\n r4 = 0\n{UPDATE_1}\n exit"), &[rodata]);
    assert!(matches!(
        err_of(&rt, u, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::Helper { .. }, .. }
    ));
    // Global data that does not fit.
    let too_big = MapDef {
        name: ".data".into(),
        map_type: ARRAY,
        key_size: 4,
        value_size: 2,
        max_entries: 1,
        initial_data: Some(vec![0; 3]),
        ..Default::default()
    };
    assert!(matches!(rt.create_map(&too_big), Err(RuntimeError::Map { errno: Errno::EINVAL, .. })));
}

#[test]
fn concurrent_runs_share_maps() {
    let rt = std::sync::Arc::new(rt());
    let m = map(&rt, "counts", ARRAY, 4, 8, 1);
    let src = "*(u32 *)(r10 - 4) = 0\n ld_pseudo r1, 0x5, 0x0\n r2 = r10\n r2 += -4\n call 1\n if r0 == 0 goto +2\n r1 = 1\n lock *(u64 *)(r0 + 0) += r1\n r0 = 2\n exit";
    let p = load(&rt, XDP, src, &[m]);
    let pkt = udp_packet(b"x");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (rt, pkt) = (rt.clone(), pkt.clone());
            std::thread::spawn(move || {
                for _ in 0..500 {
                    assert_eq!(
                        rt.test_run(p, &TestRunInput { data_in: pkt.clone(), ..Default::default() }).unwrap().retval,
                        2
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(rt.map(m).lookup(&0u32.to_le_bytes()).unwrap(), 2000u64.to_le_bytes());
}

#[test]
fn stacks_cgroups_and_user_copies() {
    let rt = rt_with(|o| o.task.cgroup_id = 77);
    let st = map(&rt, "stacks", 7, 4, 8 * 127, 16);
    assert_eq!(
        r0(&rt, "ld_pseudo r2, 0x5, 0x0\n r3 = 0\n call 27\n exit", &[st]),
        neg(EFAULT),
        "no stacks in user space"
    );
    assert_eq!(r0(&rt, "ld_pseudo r2, 0x5, 0x0\n r3 = 0x10000\n call 27\n exit", &[st]), neg(EINVAL));
    assert_eq!(rt.map(st).lookup(&0u32.to_le_bytes()), Err(Errno::ENOENT));
    let gs = "r1 = -1\n *(u64 *)(r10 - 8) = r1\n r2 = r10\n r2 += -8\n r3 = 8\n r4 = 0\n call 67\n r0 <<= 32\n r1 = *(u64 *)(r10 - 8)\n r0 |= r1\n exit";
    assert_eq!(r0(&rt, gs, &[]), neg(EFAULT) << 32, "buffer zeroed");
    let cg = map(&rt, "cgroup_map", 8, 4, 4, 2);
    let under = |i: u32| format!("ld_pseudo r1, 0x5, 0x0\n r2 = {i}\n call 37\n exit");
    assert_eq!(r0(&rt, &under(0), &[cg]), neg(EAGAIN), "empty slot");
    assert_eq!(r0(&rt, &under(5), &[cg]), neg(E2BIG));
    rt.map(cg).update(&0u32.to_le_bytes(), &77u32.to_le_bytes(), 0).unwrap();
    rt.map(cg).update(&1u32.to_le_bytes(), &78u32.to_le_bytes(), 0).unwrap();
    assert_eq!(r0(&rt, &under(0), &[cg]), 1);
    assert_eq!(r0(&rt, &under(1), &[cg]), 0);
    assert_eq!(rt.map(cg).lookup(&0u32.to_le_bytes()), Err(Errno::EOPNOTSUPP));
    let cfu = |src: &str| {
        format!("{}\n r1 = r10\n r1 += -16\n r2 = 8\n r3 = {src}\n call 148\n r0 <<= 32\n r1 = *(u32 *)(r10 - 16)\n r0 |= r1\n exit", stack_bytes(8, b"user"))
    };
    assert_eq!(r0(&rt, &cfu("r10\n r3 += -8"), &[]), u32::from_le_bytes(*b"user") as u64);
    assert_eq!(r0(&rt, &cfu("0x1000 ll"), &[]), neg(EFAULT) << 32);
}

#[test]
fn poisoned_relocations_load_and_fail_only_when_run() {
    let rt = rt();
    let p = load(&rt, 0, "r0 = 1\n if r0 != 0 goto +1\n call 0xbad2310\n exit", &[]);
    assert_eq!(run(&rt, p, &[]).retval, 1, "dead poisoned call: fine");
    let p = load(&rt, 0, "r0 = 0\n if r0 != 0 goto +1\n call 0xbad2310\n exit", &[]);
    assert!(matches!(
        err_of(&rt, p, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::UnknownHelper { pc: 2, .. }, .. }
    ));
    let kf = vec![Insn::Call(CallTarget::Kfunc { btf_id: 0, off: 0 }), Insn::Exit];
    let p = rt.load_program("weak", 0, kf, &[]).expect("an unresolved weak kfunc loads");
    assert!(matches!(
        err_of(&rt, p, TestRunInput::default()),
        RuntimeError::Fault { error: VmError::Kfunc { pc: 0, .. }, .. }
    ));
}

#[test]
fn remaining_small_helpers() {
    let rt = rt_with(|o| {
        o.task.cgroup_id = 0x77;
        o.consume_events = false;
    });
    assert_eq!(r0(&rt, "call 208\n exit", &[]), 1_000_000_000, "ktime_get_tai_ns");
    assert_eq!(r0(&rt, "call 80\n exit", &[]), 0x77, "get_current_cgroup_id");
    assert_eq!(r0(&rt, "call 158\n exit", &[]), r0(&rt, "call 35\n exit", &[]), "get_current_task_btf");
    let pkt = udp_packet(b"");
    let tc = |src: &str| run(&rt, load(&rt, SCHED_CLS, src, &[]), &pkt).retval;
    assert_eq!(
        tc("r6 = r1\n r2 = 0x1234\n call 48\n r1 = r6\n call 34\n exit"),
        0x1234,
        "set_hash then get_hash_recalc"
    );
    assert_ne!(tc("call 34\n exit"), 0, "a computed hash");
    assert_eq!(tc("r2 = 0\n call 40\n exit"), neg(524), "csum_update: not CHECKSUM_COMPLETE");
    assert_eq!(tc("call 17\n exit"), 0, "get_cgroup_classid");
    assert_eq!(tc("call 24\n exit"), 0, "get_route_realm");
    // Perf records kept for a reader when runs do not consume them.
    let pe = map(&rt, "events", PERF_EVENT_ARRAY, 4, 4, 2);
    let out = "r1 = 0x11\n *(u64 *)(r10 - 8) = r1\n ld_pseudo r2, 0x5, 0x0\n r3 = 1\n r4 = r10\n r4 += -8\n r5 = 1\n call 25\n exit";
    let p = load(&rt, 0, out, &[pe]);
    run(&rt, p, &[]);
    run(&rt, p, &[]);
    assert_eq!(rt.map(pe).perf_consume(), vec![(1, vec![0x11]), (1, vec![0x11])]);
    assert!(rt.map(pe).perf_consume().is_empty());
}
