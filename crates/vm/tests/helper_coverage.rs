//! Issue 13: how many of the helpers the kernel allows each packet program type (the
//! committed kernel facts, generated from the kernel) bpfbox implements. Prints the
//! table (`cargo test -p bpfbox-vm --test helper_coverage -- --nocapture`) and holds
//! the counts at or above today's, with the networking helpers the world programs
//! need among the implemented ones.

use bpfbox_abi::prog_types::ProgType;
use bpfbox_vm::helper_coverage;

/// (program type, implemented at least)
const FLOORS: &[(ProgType, usize)] = &[
    (ProgType::Xdp, 56),
    (ProgType::SchedCls, 73),
    (ProgType::SchedAct, 73),
    (ProgType::SocketFilter, 48),
    (ProgType::CgroupSkb, 49),
    (ProgType::LwtIn, 51),
    (ProgType::LwtOut, 51),
    (ProgType::LwtXmit, 63),
    (ProgType::LwtSeg6local, 51),
    (ProgType::SkSkb, 52),
];

#[test]
fn helpers_implemented_per_packet_program_type() {
    println!("{:<16} {:>11} {:>7}  missing", "type", "implemented", "allowed");
    for &(t, floor) in FLOORS {
        let c = helper_coverage(t);
        let allowed = c.implemented.len() + c.missing.len();
        println!("{:<16} {:>11} {:>7}  {}", format!("{t:?}"), c.implemented.len(), allowed, c.missing.join(" "));
        assert!(allowed > 0, "{t:?}: no helper allowed: the committed facts lost the type");
        assert!(c.implemented.len() >= floor, "{t:?}: {} implemented, fewer than {floor}", c.implemented.len());
    }
    for (t, names) in [
        (ProgType::Xdp, &["fib_lookup", "redirect", "xdp_adjust_head"][..]),
        (ProgType::SchedCls, &["fib_lookup", "skb_change_proto", "skb_set_tunnel_key", "skb_get_tunnel_key"][..]),
    ] {
        let c = helper_coverage(t);
        for n in names {
            assert!(c.implemented.contains(n), "{t:?}: {n} not implemented");
        }
    }
    // A helper the kernel does not allow XDP programs is not counted for them.
    assert!(!helper_coverage(ProgType::Xdp).implemented.contains(&"skb_change_proto"));
}
