//! Tests beyond the doc examples: bad input never panics, engines agree, threads share.

use crate::{Engine, Error, Input, Instance, Object, OpenOptions};
use std::path::PathBuf;

fn root(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
}

fn ipv4_from(src: [u8; 4]) -> Vec<u8> {
    let mut pkt = vec![0u8; 34];
    pkt[12..14].copy_from_slice(&[0x08, 0x00]);
    pkt[14] = 0x45;
    pkt[26..30].copy_from_slice(&src);
    pkt
}

#[test]
fn send_and_sync() {
    fn both<T: Send + Sync>() {}
    both::<Object>();
    both::<Instance>();
    both::<crate::Map<u32, u64>>();
    both::<crate::RawMap>();
    both::<crate::RingBuffer>();
    both::<Engine>();
}

#[test]
fn garbage_and_truncated_objects_are_errors() {
    let bytes = std::fs::read(root("examples/xdp_firewall.bpf.o")).expect("object");
    for n in [0, 4, 16, 64, 200, bytes.len() / 2, bytes.len() - 1] {
        let _ = Object::from_bytes(&bytes[..n]);
    }
    // Flipped bytes across the file: errors or objects, never a panic.
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0xff;
        if let Ok(o) = Object::from_bytes(&b) {
            for p in o.programs() {
                let _ = p.verify();
            }
        }
    }
    assert!(matches!(Object::from_bytes(&[]), Err(Error::Object { .. })));
}

#[test]
fn interpreter_and_jit_agree_and_count() {
    let obj = Object::open(root("examples/xdp_firewall.bpf.o")).expect("open");
    for engine in [Engine::interpreter(), Engine::jit()] {
        let inst = obj.load(&engine).expect("load");
        inst.map::<[u8; 4], u64>("blocklist").expect("map").insert(&[10, 0, 0, 1], &0).expect("insert");
        let drop = inst.test_run("xdp_firewall", &Input::data(ipv4_from([10, 0, 0, 1]))).expect("run");
        let pass = inst.test_run("xdp_firewall", &Input::data(ipv4_from([10, 0, 0, 2]))).expect("run");
        assert_eq!((drop.retval, pass.retval), (1, 2), "{engine:?}");
        let stats = inst.map::<u32, u64>("stats").expect("stats");
        assert_eq!((stats.get(&1).expect("get"), stats.get(&2).expect("get")), (Some(1), Some(1)));
    }
}

#[test]
fn instruction_budget_stops_a_run() {
    let obj = Object::open(root("examples/xdp_firewall.bpf.o")).expect("open");
    let inst = obj.load(&Engine::interpreter().max_insns(5)).expect("load");
    let err = inst.test_run("xdp_firewall", &Input::data(ipv4_from([1, 2, 3, 4]))).unwrap_err();
    assert!(matches!(err, Error::Run(_)), "{err}");
}

#[test]
fn rejected_program_is_not_run() {
    let obj = Object::open(root("tests/verifier/c/pkt_short_check_bad.o")).expect("open");
    let inst = obj.load(&Engine::interpreter()).expect("load");
    let err = inst.test_run("prog", &Input::data(vec![0; 64])).unwrap_err();
    let Error::Rejected { report, .. } = &err else { panic!("{err}") };
    assert!(!report.accepted);
    assert!(err.to_string().contains("invalid access to packet"), "{err}");
    // Unverified, it runs with every access checked.
    let inst = obj.load_with(&Engine::interpreter(), &crate::LoadOptions { verify: false }).expect("load");
    assert!(inst.test_run("prog", &Input::data(vec![0; 64])).is_ok());
}

#[test]
fn map_errors_name_the_map() {
    let obj = Object::open(root("examples/xdp_firewall.bpf.o")).expect("open");
    let inst = obj.load(&Engine::interpreter()).expect("load");
    let e = inst.map::<u32, u32>("blocklist").unwrap_err();
    assert_eq!(e.to_string(), "map `blocklist`: the value is 8 bytes, but 4 bytes were given (`u32`)");
    let e = inst.map::<u32, u64>("nope").unwrap_err();
    assert!(e.to_string().contains("maps: blocklist, stats"), "{e}");
    let e = inst.raw_map("stats").expect("map").insert(&[0; 4], &[0; 3]).unwrap_err();
    assert!(matches!(e, Error::SizeMismatch { what: "value", .. }), "{e}");
    assert!(inst.ring_buffer("stats").is_err());
}

#[test]
fn threads_share_an_instance() {
    let obj = Object::open(root("examples/xdp_firewall.bpf.o")).expect("open");
    let inst = obj.load(&Engine::jit()).expect("load");
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100 {
                    inst.test_run("xdp_firewall", &Input::data(vec![0u8; 14])).expect("run");
                }
            });
        }
    });
    assert_eq!(inst.map::<u32, u64>("stats").expect("map").get(&2).expect("get"), Some(200));
}

#[test]
fn untyped_section_needs_a_type() {
    let opts = OpenOptions { program_types: vec![("xdp_firewall".into(), "xdp".into())], ..Default::default() };
    assert!(Object::open_with(root("examples/xdp_firewall.bpf.o"), &opts).is_ok());
}
