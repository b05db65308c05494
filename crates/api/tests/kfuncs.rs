//! Objects calling the kfuncs bpfbox implements (dynptrs over the packet) verify and
//! run through the library as through `bpfbox run`: `Object::open` gives those calls
//! bpfbox's kfunc ids, as libbpf gives them the kernel's.

#![allow(clippy::unwrap_used)]

use bpfbox::{Engine, Input, Object};

const XDP_DROP: u64 = 1;
const XDP_PASS: u64 = 2;

/// Ethernet + IPv4 + TCP (SYN) to `dport`.
fn tcp_packet(dport: u16) -> Vec<u8> {
    let mut p = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00];
    p.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1]);
    p.extend_from_slice(&1234u16.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    p
}

#[test]
fn dynptr_programs_verify_and_run() {
    let obj =
        Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/realworld/xdp_dynptr_parse.bpf.o")).unwrap();
    let mut n = 0;
    for p in obj.programs() {
        let r = p.verify().unwrap();
        assert!(r.accepted, "{}: {:?}", r.program, r.diagnostics);
        n += 1;
    }
    assert_eq!(n, 3);
    let inst = obj.load(&Engine::interpreter()).unwrap();
    // Telnet is dropped, the rest passes: the parser read the ports through slices.
    assert_eq!(inst.test_run("xdp_dynptr_parse", &Input::data(tcp_packet(23))).unwrap().retval, XDP_DROP);
    assert_eq!(inst.test_run("xdp_dynptr_parse", &Input::data(tcp_packet(80))).unwrap().retval, XDP_PASS);
}
