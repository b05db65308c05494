//! A test host embedding bpfbox with two helpers of its own (`tests/host/host_helpers.bpf.c`):
//! host_add (#1000, two scalars) and host_hash (#1001, memory + size). Correct calls run
//! and return what the host computed; misuses are rejected by the verifier with the
//! kernel's diagnostics.

use bpfbox::{Arg, Engine, Error, HelperCall, HelperError, HostHelpers, Input, Instance, Object, Ret};

fn object() -> Object {
    Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/host/host_helpers.bpf.o")).expect("object opens")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100_0000_01b3))
}

fn helpers(add_bias: u64) -> HostHelpers {
    let mut h = HostHelpers::new();
    h.register(1000, "host_add", Ret::Integer, &[Arg::Scalar, Arg::Scalar], move |c: &mut HelperCall<'_, '_>| {
        Ok(c.arg(0) + c.arg(1) + add_bias)
    })
    .expect("host_add");
    h.register(1001, "host_hash", Ret::Integer, &[Arg::Memory, Arg::Size], |c: &mut HelperCall<'_, '_>| {
        Ok(fnv1a(&c.memory(0)?))
    })
    .expect("host_hash");
    h
}

fn results(inst: &Instance) -> (u64, u64) {
    let m = inst.map::<u32, u64>("results").expect("results map");
    (m.get(&0).expect("get").unwrap_or(0), m.get(&1).expect("get").unwrap_or(0))
}

fn packet() -> Vec<u8> {
    (1..=20u8).collect()
}

#[test]
fn correct_calls_run_the_host_implementations() {
    for engine in [Engine::interpreter(), Engine::jit()] {
        let jit = engine.is_jit();
        let inst = object().load(&engine.helpers(helpers(0))).expect("load");
        assert!(inst.programs().any(|p| p == "good"), "good is loaded (jit: {jit})");
        let out = inst.test_run("good", &Input::data(packet())).expect("run");
        assert_eq!(out.retval, 2, "XDP_PASS");
        assert_eq!(results(&inst), (fnv1a(&packet()[..8]), 20 + 1000), "jit: {jit}");
    }
}

#[test]
fn misuses_are_rejected_with_the_kernels_diagnostics() {
    let inst = object().load(&Engine::interpreter().helpers(helpers(0))).expect("load");
    let diag = |prog: &str| {
        let r = inst.rejection(prog).unwrap_or_else(|| panic!("{prog} must be rejected"));
        assert!(!r.accepted);
        r.diagnostics[0].clone()
    };
    let d = diag("wrong_arg_type");
    assert_eq!(d.kind, "helper_arg");
    assert!(d.message.starts_with("R1 type=scalar expected="), "{}", d.message);
    assert!(d.source.as_ref().is_some_and(|s| s.text.contains("host_hash")), "{:?}", d.source);

    let d = diag("bad_size");
    assert!(d.message.starts_with("invalid access to packet, off=0 size=16"), "{}", d.message);

    let d = diag("unknown_helper");
    assert_eq!(d.message, "invalid func unknown#1002");
    let hint = d.hint.unwrap_or_default();
    assert!(hint.contains("host_add#1000") && hint.contains("host_hash#1001"), "{hint}");

    // Running a rejected program is an error that says why.
    let err = inst.test_run("bad_size", &Input::data(packet())).unwrap_err();
    assert!(matches!(err, Error::Rejected { .. }));
    assert!(err.to_string().contains("invalid access to packet"), "{err}");
}

#[test]
fn without_the_host_helpers_the_ids_are_unknown() {
    let inst = object().load(&Engine::interpreter()).expect("load");
    let r = inst.rejection("good").expect("good is rejected without its helpers");
    assert_eq!(r.diagnostics[0].message, "invalid func unknown#1001");
    assert_eq!(r.diagnostics[0].hint.as_deref(), Some("this helper id does not exist in the kernel"));
}

#[test]
fn a_failing_or_panicking_helper_stops_the_run_with_an_error() {
    let mut h = helpers(0);
    let mut failing = HostHelpers::new();
    failing
        .register(1000, "host_add", Ret::Integer, &[Arg::Scalar, Arg::Scalar], |_| {
            Err(HelperError::new("quota exceeded"))
        })
        .expect("register");
    failing
        .register(1001, "host_hash", Ret::Integer, &[Arg::Memory, Arg::Size], |_| panic!("host bug"))
        .expect("register");
    let inst = object().load(&Engine::interpreter().helpers(failing)).expect("load");
    let err = inst.test_run("good", &Input::data(packet())).unwrap_err();
    assert!(matches!(err, Error::Run(_)));
    assert!(err.to_string().contains("bpf_host_hash: the host helper panicked"), "{err}");

    h.register(1002, "host_missing", Ret::Integer, &[Arg::Scalar], |_| Err("not today".into())).expect("register");
    let inst = object().load(&Engine::interpreter().helpers(h)).expect("load");
    let err = inst.test_run("unknown_helper", &Input::data(packet())).unwrap_err();
    assert!(err.to_string().contains("bpf_host_missing: not today"), "{err}");
}

#[test]
fn instances_on_several_threads_call_their_own_implementations() {
    let a = object().load(&Engine::interpreter().helpers(helpers(0))).expect("load");
    let b = object().load(&Engine::jit().helpers(helpers(5))).expect("load");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    a.test_run("good", &Input::data(packet())).expect("a");
                    b.test_run("good", &Input::data(packet())).expect("b");
                }
            });
        }
    });
    assert_eq!(results(&a).1, 1020);
    assert_eq!(results(&b).1, 1025);
}

#[test]
fn bad_prototypes_are_refused_at_registration() {
    let mut h = HostHelpers::new();
    let cases: &[(u32, &str, &[Arg], &str)] = &[
        (6, "x", &[], "kernel helper bpf_trace_printk"),
        (1000, "map_lookup_elem", &[], "kernel helper's name"),
        (1000, "bad name", &[], "C identifier"),
        (1000, "x", &[Arg::Size], "must follow a memory argument"),
        (1000, "x", &[Arg::MemoryOut, Arg::Scalar], "must be followed by its size"),
        (1000, "x", &[Arg::MapKey], "needs an Arg::Map"),
        (1000, "x", &[Arg::Scalar; 6], "at most 5"),
        (u32::MAX, "x", &[], "do not fit"),
    ];
    for (id, name, args, why) in cases {
        let err = h.register(*id, name, Ret::Integer, args, |_| Ok(0)).unwrap_err();
        assert!(matches!(err, Error::HelperPrototype { .. }));
        assert!(err.to_string().contains(why), "{err} (expected: {why})");
    }
    h.register(1000, "x", Ret::Integer, &[Arg::Map, Arg::MapKey], |_| Ok(0)).expect("valid");
    let err = h.register(1000, "y", Ret::Integer, &[], |_| Ok(0)).unwrap_err();
    assert!(err.to_string().contains("already host helper x"), "{err}");
}

#[test]
fn a_helper_fills_memory_the_program_left_uninitialized() {
    let mut h = helpers(0);
    h.register(1003, "host_fill", Ret::Void, &[Arg::MemoryOut, Arg::Size], |c: &mut HelperCall<'_, '_>| {
        let n = c.arg(1) as usize;
        c.write_memory(0, &(1..=n as u8).collect::<Vec<u8>>())?;
        // More than the buffer: refused, nothing written past it.
        assert!(c.write_memory(0, &vec![0; n + 1]).is_err());
        // Reading an argument that is not memory is an error, not a crash.
        assert!(c.memory(1).is_err());
        Ok(0)
    })
    .expect("host_fill");
    for engine in [Engine::interpreter(), Engine::jit()] {
        let inst = object().load(&engine.helpers(h.clone())).expect("load");
        assert!(inst.rejection("fill").is_none(), "{:?}", inst.rejection("fill"));
        inst.test_run("fill", &Input::data(packet())).expect("run");
        let sum = inst.map::<u32, u64>("results").expect("map").get(&2).expect("get");
        assert_eq!(sum, Some((1..=16).sum::<u64>()));
    }
}
