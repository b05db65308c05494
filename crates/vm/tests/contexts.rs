//! Program contexts with BPF_PROG_TEST_RUN's rules: xdp_md, __sk_buff, tracing contexts.

mod common;
use bpfbox_vm::{Errno, Redirect, RuntimeError, TestRunInput, VmError};
use common::*;

fn ctx_err(e: RuntimeError) -> (usize, &'static str, bool) {
    match e {
        RuntimeError::Fault { error: VmError::CtxAccess { pc, field, write, .. }, .. } => (pc, field, write),
        e => panic!("expected a context access error, got {e}"),
    }
}

fn bad_input(e: RuntimeError) -> Errno {
    match e {
        RuntimeError::BadInput { errno, .. } => errno,
        e => panic!("expected a refused input, got {e}"),
    }
}

fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect()
}

const XDP_FIELDS: &str = "
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r4 = *(u32 *)(r1 + 8)
    r5 = *(u32 *)(r1 + 12)
    r6 = *(u32 *)(r1 + 16)
    r0 = r3
    r0 -= r2
    r5 <<= 16
    r0 |= r5
    r6 <<= 24
    r0 |= r6
    r2 -= r4
    r2 <<= 32
    r0 |= r2
    exit";

#[test]
fn xdp_md_fields_and_ctx_in() {
    // Device 3 must exist in the runtime's world (the kernel looks it up: ENODEV).
    let world = bpfbox_vm::World::parse("interface eth0 index 3").unwrap();
    let rt = bpfbox_vm::Runtime::new(bpfbox_vm::RuntimeOptions { world: std::sync::Arc::new(world), ..options() });
    let p = load(&rt, XDP, XDP_FIELDS, &[]);
    let pkt = udp_packet(b"abc");
    let o = run(&rt, p, &pkt);
    assert_eq!(o.retval, 45 | 1 << 16, "45 bytes, ingress loopback (1), queue 0, no metadata");
    assert_eq!(o.data_out, pkt);
    assert_eq!(o.ctx_out, None, "no ctx_in, no ctx_out (the kernel refuses ctx_out alone for XDP)");
    // ctx_in: 8 bytes of metadata in front of the packet, device 3 queue 2.
    let mut data = vec![0xee; 8];
    data.extend_from_slice(&pkt);
    let md: Vec<u8> = [8u32, data.len() as u32, 0, 3, 2, 0].iter().flat_map(|x| x.to_le_bytes()).collect();
    let o = run_input(&rt, p, TestRunInput { data_in: data.clone(), ctx_in: Some(md), ..Default::default() });
    assert_eq!(o.retval, 45 | 3 << 16 | 2 << 24 | 8 << 32);
    assert_eq!(o.data_out, data, "data_out starts at data_meta");
    assert_eq!(u32s(&o.ctx_out.expect("ctx_out")), vec![8, 53, 0, 3, 2, 0]);
    // Refused inputs.
    let input = |data: Vec<u8>, md: &[u32]| TestRunInput {
        data_in: data,
        ctx_in: Some(md.iter().flat_map(|x| x.to_le_bytes()).collect()),
        ..Default::default()
    };
    assert_eq!(bad_input(err_of(&rt, p, input(pkt.clone(), &[0, 44, 0, 0, 0, 0]))), Errno::EINVAL, "data_end != size");
    assert_eq!(bad_input(err_of(&rt, p, input(pkt.clone(), &[0, 45, 4, 0, 0, 0]))), Errno::EINVAL, "data_meta != 0");
    assert_eq!(bad_input(err_of(&rt, p, input(pkt.clone(), &[0, 45, 0, 0, 0, 1]))), Errno::EINVAL, "egress_ifindex");
    assert_eq!(
        bad_input(err_of(&rt, p, input(pkt.clone(), &[6, 45, 0, 0, 0, 0]))),
        Errno::EINVAL,
        "metadata not 4-aligned"
    );
    assert_eq!(bad_input(err_of(&rt, p, input(pkt.clone(), &[36, 45, 0, 0, 0, 0]))), Errno::EINVAL, "metadata > 32");
    assert_eq!(
        bad_input(err_of(&rt, p, input(pkt.clone(), &[0, 45, 0, 0, 1, 0]))),
        Errno::EINVAL,
        "queue without device"
    );
    assert_eq!(
        bad_input(err_of(&rt, p, input(pkt.clone(), &[0, 45, 0, 0, 0, 0, 0, 1]))),
        Errno::E2BIG,
        "tail not zero"
    );
    assert_eq!(bad_input(err_of(&rt, p, input(pkt.clone(), &[0, 45, 0, 9, 0, 0]))), Errno::ENODEV, "no device 9");
    assert_eq!(bad_input(err_of(&rt, p, TestRunInput { data_in: vec![0; 13], ..Default::default() })), Errno::EINVAL);
    assert_eq!(
        bad_input(err_of(&rt, p, TestRunInput { data_in: vec![0; 3521], ..Default::default() })),
        Errno::EOPNOTSUPP
    );
    assert_eq!(run(&rt, p, &[0; 3520]).retval & 0xffff, 3520);
}

#[test]
fn xdp_md_access_errors_name_the_field() {
    let rt = rt();
    let pkt = udp_packet(b"");
    let e = |src: &str| {
        let p = load(&rt, XDP, src, &[]);
        ctx_err(err_of(&rt, p, TestRunInput { data_in: pkt.clone(), ..Default::default() }))
    };
    assert_eq!(e("r0 = 0\n *(u32 *)(r1 + 0) = r0\n exit"), (1, "data", true));
    assert_eq!(e("r0 = *(u64 *)(r1 + 0)\n exit"), (0, "data", false));
    assert_eq!(e("r0 = *(u16 *)(r1 + 12)\n exit"), (0, "ingress_ifindex", false));
    assert_eq!(e("r0 = *(u32 *)(r1 + 20)\n exit"), (0, "egress_ifindex", false));
    assert_eq!(e("r0 = *(s32 *)(r1 + 4)\n exit"), (0, "data_end", false));
    assert_eq!(e("r0 = 1\n lock *(u32 *)(r1 + 12) += r0\n exit"), (1, "ingress_ifindex", true));
    let p = load(&rt, XDP, "r0 = *(u32 *)(r1 + 24)\n exit", &[]);
    assert!(matches!(
        err_of(&rt, p, TestRunInput { data_in: pkt, ..Default::default() }),
        RuntimeError::Fault { error: VmError::OutOfBounds { .. }, .. }
    ));
    let msg = VmError::CtxAccess { pc: 3, off: 0, size: 4, write: true, field: "data", reason: "xdp_md is read-only" };
    assert_eq!(msg.to_string(), "pc 3: invalid write of 4 bytes at context offset 0 (data): xdp_md is read-only");
}

/// Call `helper(ctx, delta)`; on success fill the first `fill` bytes at `data` with 0xff.
fn adjust(helper: u32, delta: i32, fill: bool) -> String {
    format!(
        "r6 = r1
         r2 = {delta}
         call {helper}
         if r0 != 0 goto out
         r2 = *(u32 *)(r6 + 0)
         r3 = *(u32 *)(r6 + 4)
         r0 = 2
         {}
     out:
         exit",
        if fill { "r1 = -1\n *(u64 *)(r2 + 0) = r1\n *(u32 *)(r2 + 8) = r1\n *(u16 *)(r2 + 12) = r1" } else { "" }
    )
}

#[test]
fn xdp_adjust_head() {
    let rt = rt();
    let pkt = udp_packet(b"abc");
    let p = load(&rt, XDP, &adjust(44, -14, true), &[]);
    let o = run(&rt, p, &pkt);
    assert_eq!(o.retval, 2);
    let mut want = vec![0xff; 14];
    want.extend_from_slice(&pkt);
    assert_eq!(o.data_out, want);
    let p = load(&rt, XDP, &adjust(44, 20, false), &[]);
    assert_eq!(run(&rt, p, &pkt).data_out, pkt[20..]);
    let r = |d: i32| run(&rt, load(&rt, XDP, &adjust(44, d, false), &[]), &pkt).retval;
    assert_eq!(r(-216), 2, "down to the xdp_frame (40 bytes)");
    assert_eq!(r(-217), neg(22));
    assert_eq!(r(31), 2, "14 bytes must remain");
    assert_eq!(r(32), neg(22));
    // Old packet pointers are no longer valid after a shrink.
    let stale = "r6 = r1\n r7 = *(u32 *)(r1 + 0)\n r2 = 20\n call 44\n r0 = *(u8 *)(r7 + 0)\n exit";
    let p = load(&rt, XDP, stale, &[]);
    assert!(matches!(
        err_of(&rt, p, TestRunInput { data_in: pkt.clone(), ..Default::default() }),
        RuntimeError::Fault { error: VmError::OutOfBounds { pc: 4, .. }, .. }
    ));
    // repeat runs on the same frame: the adjustments add up.
    let p = load(&rt, XDP, &adjust(44, 1, false), &[]);
    let o = run_input(&rt, p, TestRunInput { data_in: pkt.clone(), repeat: 3, ..Default::default() });
    assert_eq!(o.data_out, pkt[3..]);
    assert_eq!(o.duration_ns, 0, "fixed clock");
}

#[test]
fn xdp_adjust_tail_and_meta() {
    let rt = rt();
    let pkt = udp_packet(b"abc");
    let r = |helper: u32, d: i32| run(&rt, load(&rt, XDP, &adjust(helper, d, false), &[]), &pkt);
    assert_eq!(r(65, -10).data_out, pkt[..35]);
    let mut grown = pkt.clone();
    grown.extend_from_slice(&[0; 100]);
    assert_eq!(r(65, 100).data_out, grown, "grown tail is zeroed");
    assert_eq!(r(65, 3475).retval, 2, "up to the frame end minus skb_shared_info");
    assert_eq!(r(65, 3476).retval, neg(22));
    assert_eq!(r(65, -31).retval, 2);
    assert_eq!(r(65, -32).retval, neg(22), "14 bytes must remain");
    let m = r(54, -8);
    assert_eq!(m.retval, 2);
    let mut with_meta = vec![0; 8];
    with_meta.extend_from_slice(&pkt);
    assert_eq!(m.data_out, with_meta);
    assert_eq!(r(54, -6).retval, neg(13), "metadata length not a multiple of 4: -EACCES");
    assert_eq!(r(54, -36).retval, neg(13), "more than 32 bytes: -EACCES");
    assert_eq!(r(54, 4).retval, neg(22), "data_meta after data");
    let write_meta =
        "r6 = r1\n r2 = -4\n call 54\n r2 = *(u32 *)(r6 + 8)\n r1 = 0x11223344\n *(u32 *)(r2 + 0) = r1\n r0 = 2\n exit";
    let o = run(&rt, load(&rt, XDP, write_meta, &[]), &pkt);
    assert_eq!(o.data_out[..4], [0x44, 0x33, 0x22, 0x11]);
    assert_eq!(o.data_out[4..], pkt);
}

#[test]
fn xdp_bytes_helpers_and_redirects() {
    let rt = rt();
    let pkt = udp_packet(b"abc");
    let src = "
        r6 = r1
        call 188
        r7 = r0
        r1 = r6
        r2 = 12
        r3 = r10
        r3 += -8
        r4 = 2
        call 189
        r1 = r6
        r2 = 0
        r3 = r10
        r3 += -8
        r4 = 2
        call 190
        r0 = *(u16 *)(r10 - 8)
        r0 <<= 16
        r0 |= r7
        exit";
    let o = run(&rt, load(&rt, XDP, src, &[]), &pkt);
    assert_eq!(o.retval, 0x0008 << 16 | 45);
    assert_eq!(o.data_out[..2], [0x08, 0x00], "ethertype copied to the front");
    let oob = "r6 = r1\n r2 = 44\n r3 = r10\n r3 += -8\n r4 = 2\n call 189\n exit";
    assert_eq!(run(&rt, load(&rt, XDP, oob, &[]), &pkt).retval, neg(22));
    // redirect(ifindex, flags)
    let o = run(&rt, load(&rt, XDP, "r1 = 5\n r2 = 0\n call 23\n exit", &[]), &pkt);
    assert_eq!(o.retval, 4, "XDP_REDIRECT");
    assert_eq!(o.redirect, Some(Redirect { ifindex: 5, flags: 0, map: None, key: None }));
    assert_eq!(run(&rt, load(&rt, XDP, "r1 = 5\n r2 = 1\n call 23\n exit", &[]), &pkt).retval, 0, "flags: XDP_ABORTED");
    // redirect_map through a devmap: present key, absent key (low flag bits = fallback action).
    let dm = map(&rt, "tx_ports", DEVMAP, 4, 4, 8);
    rt.map(dm).update(&1u32.to_le_bytes(), &7u32.to_le_bytes(), 0).unwrap();
    let rm = |key: u32, flags: u64| {
        let p = load(&rt, XDP, &format!("ld_pseudo r1, 0x5, 0x0\n r2 = {key}\n r3 = {flags}\n call 51\n exit"), &[dm]);
        run(&rt, p, &pkt)
    };
    let o = rm(1, 0);
    assert_eq!(o.retval, 4);
    assert_eq!(o.redirect, Some(Redirect { ifindex: 7, flags: 0, map: Some("tx_ports".into()), key: Some(1) }));
    assert_eq!(rm(2, 2).retval, 2, "absent: XDP_PASS from the flags");
    assert_eq!(rm(2, 0).retval, 0, "absent: XDP_ABORTED");
    assert_eq!(rm(1, 64).retval, 0, "unknown flags");
    assert!(rt.map(dm).update(&9u32.to_le_bytes(), &[0; 4], 0).is_err(), "devmap index range");
}

const SKB_FIELDS: &str = "
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 16)
    r4 = *(u32 *)(r1 + 4)
    r5 = *(u32 *)(r1 + 40)
    r0 = r2
    r3 <<= 16
    r0 |= r3
    r4 <<= 32
    r0 |= r4
    r5 <<= 40
    r0 |= r5
    exit";

#[test]
fn tc_skb_fields_and_data() {
    let rt = rt();
    let pkt = udp_packet(b"abc");
    let p = load(&rt, SCHED_CLS, SKB_FIELDS, &[]);
    let o = run(&rt, p, &pkt);
    assert_eq!(o.retval, 45 | 0x0008 << 16 | 3 << 32 | 1 << 40, "len, htons(ETH_P_IP), PACKET_OTHERHOST, ifindex lo");
    assert_eq!(o.data_out, pkt, "tc sees and returns the packet from the MAC header");
    let c = u32s(&o.ctx_out.expect("skb test runs always give ctx_out"));
    assert_eq!((c[10], c[40]), (1, 45), "ifindex, wire_len");
    let mut bcast = pkt.clone();
    bcast[..6].fill(0xff);
    assert_eq!(run(&rt, p, &bcast).retval >> 32 & 0xff, 1, "PACKET_BROADCAST");
    let mut host = pkt.clone();
    host[..6].fill(0);
    assert_eq!(run(&rt, p, &host).retval >> 32 & 0xff, 0, "PACKET_HOST (lo's address)");
    let mut mcast = pkt.clone();
    mcast[0] = 0x01;
    assert_eq!(run(&rt, p, &mcast).retval >> 32 & 0xff, 2, "PACKET_MULTICAST");
    let direct = "r2 = *(u32 *)(r1 + 76)\n r3 = *(u32 *)(r1 + 80)\n r4 = r2\n r4 += 14\n if r4 > r3 goto +3\n r0 = *(u16 *)(r2 + 12)\n r1 = 0x1111\n *(u16 *)(r2 + 0) = r1\n exit";
    let o = run(&rt, load(&rt, SCHED_CLS, direct, &[]), &pkt);
    assert_eq!(o.retval, 0x0008);
    assert_eq!(o.data_out[..2], [0x11, 0x11]);
    assert_eq!(o.data_out[2..], pkt[2..]);
    // Narrow loads of u32 fields.
    let narrow = "r0 = *(u8 *)(r1 + 0)\n r2 = *(u16 *)(r1 + 16)\n r2 <<= 8\n r0 |= r2\n exit";
    assert_eq!(run(&rt, load(&rt, SCHED_CLS, narrow, &[]), &pkt).retval, 45 | 0x0008 << 8);
    assert_eq!(bad_input(err_of(&rt, p, TestRunInput { data_in: vec![0; 13], ..Default::default() })), Errno::EINVAL);
    assert_eq!(bad_input(err_of(&rt, p, TestRunInput { data_in: vec![0; 3713], ..Default::default() })), Errno::EINVAL);
}

#[test]
fn skb_ctx_in_and_ctx_out() {
    let rt = rt();
    let pkt = udp_packet(b"abc");
    let src = "
        r2 = *(u32 *)(r1 + 8)
        r3 = *(u32 *)(r1 + 48)
        r2 += r3
        *(u32 *)(r1 + 52) = r2
        r4 = 9
        *(u32 *)(r1 + 8) = r4
        r4 = 0x77
        *(u32 *)(r1 + 44) = r4
        r5 = *(u64 *)(r1 + 152)
        r5 += 1
        *(u64 *)(r1 + 152) = r5
        r0 = *(u32 *)(r1 + 32)
        exit";
    let p = load(&rt, SCHED_CLS, src, &[]);
    let mut ctx = [0u8; 192];
    ctx[8..12].copy_from_slice(&5u32.to_le_bytes()); // mark
    ctx[32..36].copy_from_slice(&6u32.to_le_bytes()); // priority
    ctx[48..52].copy_from_slice(&7u32.to_le_bytes()); // cb[0]
    ctx[152..160].copy_from_slice(&100u64.to_le_bytes()); // tstamp
    ctx[160..164].copy_from_slice(&60u32.to_le_bytes()); // wire_len
    ctx[176..180].copy_from_slice(&1400u32.to_le_bytes()); // gso_size
    let o = run_input(&rt, p, TestRunInput { data_in: pkt.clone(), ctx_in: Some(ctx.to_vec()), ..Default::default() });
    assert_eq!(o.retval, 6);
    let c = o.ctx_out.expect("ctx_out");
    let w = u32s(&c);
    assert_eq!((w[2], w[8], w[12], w[13], w[10], w[40], w[44]), (9, 6, 7, 12, 1, 60, 1400));
    assert_eq!(u64::from_le_bytes(c[152..160].try_into().unwrap()), 101);
    assert_eq!(w[11], 0, "tc_index is not copied out");
    let refused = |f: &dyn Fn(&mut [u8; 192])| {
        let mut c = [0u8; 192];
        f(&mut c);
        bad_input(err_of(&rt, p, TestRunInput { data_in: pkt.clone(), ctx_in: Some(c.to_vec()), ..Default::default() }))
    };
    assert_eq!(refused(&|c| c[0] = 1), Errno::EINVAL, "len is not accepted");
    assert_eq!(refused(&|c| c[16] = 1), Errno::EINVAL, "protocol is not accepted");
    assert_eq!(refused(&|c| c[72] = 1), Errno::EINVAL, "tc_classid is not accepted");
    assert_eq!(refused(&|c| c[160] = 10), Errno::EINVAL, "wire_len below len");
    assert_eq!(refused(&|c| c[166] = 1), Errno::EINVAL, "gso_segs above 65535");
    let mut long = vec![0u8; 200];
    long[195] = 1;
    assert_eq!(
        bad_input(err_of(&rt, p, TestRunInput { data_in: pkt.clone(), ctx_in: Some(long), ..Default::default() })),
        Errno::E2BIG
    );
    // Access rules.
    let e = |t: u32, src: &str| {
        let p = load(&rt, t, src, &[]);
        ctx_err(err_of(&rt, p, TestRunInput { data_in: pkt.clone(), ..Default::default() }))
    };
    assert_eq!(e(SCHED_CLS, "r0 = 1\n *(u32 *)(r1 + 0) = r0\n exit"), (1, "len", true));
    assert_eq!(e(SCHED_CLS, "r0 = 1\n *(u32 *)(r1 + 76) = r0\n exit"), (1, "data", true));
    assert_eq!(e(SCHED_CLS, "r0 = *(u16 *)(r1 + 76)\n exit"), (0, "data", false));
    assert_eq!(e(SCHED_CLS, "r0 = *(u32 *)(r1 + 88)\n exit"), (0, "family", false));
    assert_eq!(e(SCHED_CLS, "r0 = *(u64 *)(r1 + 168)\n exit"), (0, "sk", false));
    assert_eq!(e(SCHED_CLS, "r0 = *(u32 *)(r1 + 152)\n exit"), (0, "tstamp", false));
    assert_eq!(e(SCHED_CLS, "r0 = 1\n *(u16 *)(r1 + 8) = r0\n exit"), (1, "mark", true));
    assert_eq!(e(SOCKET_FILTER, "r0 = *(u32 *)(r1 + 76)\n exit"), (0, "data", false));
    assert_eq!(e(SOCKET_FILTER, "r0 = 1\n *(u32 *)(r1 + 8) = r0\n exit"), (1, "mark", true));
    assert_eq!(e(CGROUP_SKB, "r0 = *(u32 *)(r1 + 140)\n exit"), (0, "data_meta", false));
}

#[test]
fn socket_filter_and_cgroup_skb_start_at_the_network_header() {
    let rt = rt();
    let pkt = udp_packet(b"abc");
    let sf = "r6 = r1\n r0 = *(u8 *)skb[9]\n r2 = *(u32 *)(r6 + 0)\n r2 <<= 8\n r0 |= r2\n r3 = 5\n *(u32 *)(r6 + 48) = r3\n exit";
    let p = load(&rt, SOCKET_FILTER, sf, &[]);
    let o = run(&rt, p, &pkt);
    assert_eq!(o.retval, 17 | 31 << 8, "IP protocol UDP via LD_ABS; len without the Ethernet header");
    let mut want = vec![0; 14];
    want.extend_from_slice(&pkt[14..]);
    assert_eq!(o.data_out, want, "the Ethernet header comes back zeroed");
    assert_eq!(u32s(&o.ctx_out.unwrap())[12], 5, "cb[0] written");
    let past = load(&rt, SOCKET_FILTER, "r6 = r1\n r0 = *(u32 *)skb[29]\n r0 = 7\n exit", &[]);
    assert_eq!(run(&rt, past, &pkt).retval, 0, "a legacy load past the end returns 0");
    let cg = "
        r2 = *(u32 *)(r1 + 0)
        r3 = *(u32 *)(r1 + 88)
        r4 = *(u32 *)(r1 + 96)
        r5 = *(u32 *)(r1 + 76)
        r6 = *(u32 *)(r1 + 80)
        r6 -= r5
        r0 = r2
        r3 <<= 8
        r0 |= r3
        r6 <<= 16
        r0 |= r6
        r4 <<= 32
        r0 |= r4
        exit";
    let o = run(&rt, load(&rt, CGROUP_SKB, cg, &[]), &pkt);
    let local = u32::from_ne_bytes([10, 0, 0, 1]) as u64;
    assert_eq!(o.retval, 31 | 2 << 8 | 31 << 16 | local << 32, "len, AF_INET, data_end - data, local_ip4 (saddr)");
    let wr = load(&rt, CGROUP_SKB, "r2 = *(u32 *)(r1 + 76)\n r0 = 1\n *(u8 *)(r2 + 0) = r0\n exit", &[]);
    assert!(
        matches!(
            err_of(&rt, wr, TestRunInput { data_in: pkt, ..Default::default() }),
            RuntimeError::Fault { error: VmError::ReadOnly { .. }, .. }
        ),
        "cgroup_skb cannot write the packet"
    );
}

/// Verify the IPv4 header checksum and the UDP checksum (with pseudo header) of a packet.
fn checksums_ok(p: &[u8]) -> (bool, bool) {
    let sum = |d: &[u8], init: u32| {
        let mut s = init;
        for w in d.chunks(2) {
            s += u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u32;
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s
    };
    let ip_ok = sum(&p[14..34], 0) == 0xffff;
    let udp = &p[34..];
    let mut ph = p[26..34].to_vec();
    ph.extend_from_slice(&[0, 17]);
    ph.extend_from_slice(&(udp.len() as u16).to_be_bytes());
    let udp_ok = sum(udp, sum(&ph, 0)) == 0xffff;
    (ip_ok, udp_ok)
}

fn with_udp_csum(mut p: Vec<u8>) -> Vec<u8> {
    let sum = |d: &[u8], init: u32| {
        let mut s = init;
        for w in d.chunks(2) {
            s += u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u32;
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s
    };
    let mut ph = p[26..34].to_vec();
    ph.extend_from_slice(&[0, 17]);
    ph.extend_from_slice(&((p.len() - 34) as u16).to_be_bytes());
    let c = !(sum(&p[34..], sum(&ph, 0)) as u16);
    p[40..42].copy_from_slice(&c.to_be_bytes());
    p
}

/// Rewrite the destination address to 192.168.1.1 with skb_store_bytes, then fix
/// the IP checksum with l3_csum_replace and the UDP one with l4_csum_replace.
fn nat(l4_flags: u64) -> String {
    format!(
        "r6 = r1
         r1 = *(u32 *)(r6 + 76)
         r2 = *(u32 *)(r6 + 80)
         r3 = r1
         r3 += 42
         if r3 > r2 goto out
         r7 = *(u32 *)(r1 + 30)
         r8 = 0x0101a8c0
         *(u32 *)(r10 - 4) = r8
         r1 = r6
         r2 = 30
         r3 = r10
         r3 += -4
         r4 = 4
         r5 = 0
         call 9
         r1 = r6
         r2 = 24
         r3 = r7
         r4 = r8
         r5 = 4
         call 10
         r9 = r0
         r1 = r6
         r2 = 40
         r3 = r7
         r4 = r8
         r5 = {l4_flags:#x}
         call 11
         r0 |= r9
     out:
         exit"
    )
}

#[test]
fn skb_store_bytes_and_checksum_helpers() {
    let rt = rt();
    let pkt = with_udp_csum(udp_packet(b"hello"));
    assert_eq!(checksums_ok(&pkt), (true, true));
    let o = run(&rt, load(&rt, SCHED_CLS, &nat(0x14), &[]), &pkt);
    assert_eq!(o.retval, 0);
    assert_eq!(o.data_out[30..34], [192, 168, 1, 1]);
    assert_eq!(checksums_ok(&o.data_out), (true, true));
    // BPF_F_MARK_MANGLED_0 leaves a zero (absent) UDP checksum alone.
    let nocsum = udp_packet(b"hello");
    let o = run(&rt, load(&rt, SCHED_CLS, &nat(0x34), &[]), &nocsum);
    assert_eq!((o.retval, o.data_out[40..42].to_vec()), (0, vec![0, 0]));
    assert!(checksums_ok(&o.data_out).0);
    // Errors.
    let r = |src: &str| run(&rt, load(&rt, SCHED_CLS, src, &[]), &pkt).retval;
    assert_eq!(r("r2 = 24\n r3 = 0\n r4 = 0\n r5 = 3\n call 10\n exit"), neg(22), "size 3");
    assert_eq!(r("r2 = 25\n r3 = 0\n r4 = 0\n r5 = 2\n call 10\n exit"), neg(14), "odd offset");
    assert_eq!(r("r2 = 60\n r3 = 0\n r4 = 0\n r5 = 2\n call 10\n exit"), neg(14), "past the end");
    assert_eq!(r("r2 = 24\n r3 = 1\n r4 = 0\n r5 = 0\n call 10\n exit"), neg(22), "diff form needs from = 0");
    assert_eq!(r("r2 = 24\n r3 = 0\n r4 = 0\n r5 = 0x20\n call 10\n exit"), neg(22), "l4 flag on l3");
    assert_eq!(r("r2 = 44\n r3 = r10\n r3 += -8\n r4 = 4\n r5 = 0\n call 9\n exit"), neg(14), "store past the end");
    assert_eq!(r("r2 = 0\n r3 = r10\n r3 += -8\n r4 = 4\n r5 = 4\n call 9\n exit"), neg(22), "store flags");
    // skb_load_bytes: in range, and past the end (-EFAULT, zeroed).
    let lb = |off: u32| {
        format!("r2 = {off}\n r5 = -1\n *(u64 *)(r10 - 8) = r5\n r3 = r10\n r3 += -8\n r4 = 4\n call 26\n r0 <<= 32\n r1 = *(u32 *)(r10 - 8)\n r0 |= r1\n exit")
    };
    assert_eq!(r(&lb(26)), u32::from_le_bytes([10, 0, 0, 1]) as u64);
    assert_eq!(r(&lb(44)), neg(14) << 32, "zeroed");
    assert_eq!(r(&lb(0x10000)), neg(14) << 32);
    // csum_diff: the same IP change as a diff, then l3_csum_replace with the diff form.
    let diff = "
        r6 = r1
        r1 = *(u32 *)(r6 + 76)
        r2 = *(u32 *)(r6 + 80)
        r3 = r1
        r3 += 42
        if r3 > r2 goto out
        r7 = *(u32 *)(r1 + 30)
        *(u32 *)(r10 - 4) = r7
        r8 = 0x0101a8c0
        *(u32 *)(r10 - 8) = r8
        r1 = r10
        r1 += -4
        r2 = 4
        r3 = r10
        r3 += -8
        r4 = 4
        r5 = 0
        call 28
        r9 = r0
        r1 = r6
        r2 = 30
        r3 = r10
        r3 += -8
        r4 = 4
        r5 = 0
        call 9
        r1 = r6
        r2 = 24
        r3 = 0
        r4 = r9
        r5 = 0
        call 10
    out:
        exit";
    let o = run(&rt, load(&rt, SCHED_CLS, diff, &[]), &pkt);
    assert_eq!(o.retval, 0);
    assert!(checksums_ok(&o.data_out).0);
    assert_eq!(
        r("r1 = r10\n r1 += -8\n r2 = 3\n r3 = r10\n r3 += -8\n r4 = 4\n r5 = 0\n call 28\n exit"),
        neg(22),
        "sizes multiple of 4"
    );
}

#[test]
fn skb_length_changes_and_redirect() {
    let rt = rt();
    let pkt = udp_packet(b"abc");
    let r = |src: &str| run(&rt, load(&rt, SCHED_CLS, src, &[]), &pkt);
    let o = r("r6 = r1\n r2 = 55\n r3 = 0\n call 38\n r1 = *(u32 *)(r6 + 0)\n r0 <<= 32\n r0 |= r1\n exit");
    assert_eq!(o.retval, 55);
    let mut grown = pkt.clone();
    grown.extend_from_slice(&[0; 10]);
    assert_eq!(o.data_out, grown);
    assert_eq!(r("r2 = 20\n r3 = 0\n call 38\n exit").data_out, pkt[..20]);
    assert_eq!(r("r2 = 13\n r3 = 0\n call 38\n exit").retval, neg(22), "below the network header");
    assert_eq!(r("r2 = 50\n r3 = 1\n call 38\n exit").retval, neg(22), "flags");
    // The packet may move: pointers must be reloaded, and reloaded pointers work.
    let reload = "r6 = r1\n r2 = 3000\n r3 = 0\n call 38\n r2 = *(u32 *)(r6 + 76)\n r3 = *(u32 *)(r6 + 80)\n r3 -= r2\n r0 = *(u8 *)(r2 + 2999)\n r0 += r3\n exit";
    assert_eq!(r(reload).retval, 3000);
    let o = r("r2 = 4\n r3 = 0\n call 43\n exit");
    let mut pushed = vec![0; 4];
    pushed.extend_from_slice(&pkt);
    assert_eq!((o.retval, o.data_out), (0, pushed));
    assert_eq!(r("r2 = 20000\n r3 = 0\n call 43\n exit").retval, neg(22));
    assert_eq!(r("r2 = 45\n call 39\n exit").retval, 0);
    assert_eq!(r("r2 = 46\n call 39\n exit").retval, neg(12), "skb_pull_data past the end: -ENOMEM");
    assert_eq!(r("r2 = 0x1234\n call 48\n r1 = r6\n exit").retval, 0);
    let o = r("r1 = 3\n r2 = 1\n call 23\n exit");
    assert_eq!(
        (o.retval, o.redirect.map(|r| (r.ifindex, r.flags))),
        (7, Some((3, 1))),
        "TC_ACT_REDIRECT, BPF_F_INGRESS"
    );
    assert_eq!(r("r1 = 3\n r2 = 2\n call 23\n exit").retval, 2, "unknown flag: TC_ACT_SHOT");
    // xdp helpers are refused at load time for tc, skb helpers for XDP.
    assert!(matches!(
        rt.load_program("x", XDP, asm("call 26\n exit"), &[]),
        Err(RuntimeError::HelperNotAllowed { .. })
    ));
}

#[test]
fn tracing_contexts() {
    let rt = rt();
    let mut regs = [0u8; 168];
    regs[112..120].copy_from_slice(&0x1234u64.to_le_bytes()); // di
    regs[128..136].copy_from_slice(&0xffff_ffff_8100_0000u64.to_le_bytes()); // ip
    let kp = load(&rt, KPROBE, "r0 = *(u64 *)(r1 + 112)\n exit", &[]);
    assert_eq!(ctx_run(&rt, kp, &regs).retval, 0x1234);
    assert_eq!(run(&rt, kp, &[]).retval, 0, "no ctx_in: zeroed pt_regs");
    let ip = load(&rt, KPROBE, "call 173\n exit", &[]);
    assert_eq!(ctx_run(&rt, ip, &regs).retval, 0xffff_ffff_8100_0000);
    let w = load(&rt, KPROBE, "r0 = 1\n *(u64 *)(r1 + 112) = r0\n exit", &[]);
    assert!(matches!(
        err_of(&rt, w, TestRunInput { ctx_in: Some(regs.to_vec()), ..Default::default() }),
        RuntimeError::Fault { error: VmError::ReadOnly { pc: 1, .. }, .. }
    ));
    assert_eq!(
        bad_input(err_of(&rt, kp, TestRunInput { ctx_in: Some(vec![0; 169]), ..Default::default() })),
        Errno::EINVAL
    );
    assert_eq!(bad_input(err_of(&rt, kp, TestRunInput { data_in: vec![0; 20], ..Default::default() })), Errno::EINVAL);
    // raw_tracepoint: u64 arguments.
    let args: Vec<u8> = [1u64, 2, 3].iter().flat_map(|x| x.to_le_bytes()).collect();
    let tp = load(
        &rt,
        RAW_TP,
        "r0 = *(u64 *)(r1 + 0)\n r2 = *(u64 *)(r1 + 8)\n r0 += r2\n r2 = *(u64 *)(r1 + 16)\n r0 += r2\n exit",
        &[],
    );
    assert_eq!(ctx_run(&rt, tp, &args).retval, 6);
    assert_eq!(
        bad_input(err_of(&rt, tp, TestRunInput { ctx_in: Some(vec![0; 104]), ..Default::default() })),
        Errno::EINVAL,
        "at most 12 arguments"
    );
    // tracepoint: the record as given (zeros by default).
    let tr = load(&rt, TRACEPOINT, "r0 = *(u32 *)(r1 + 8)\n exit", &[]);
    assert_eq!(ctx_run(&rt, tr, &[0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0]).retval, 42);
    assert_eq!(run(&rt, tr, &[]).retval, 0);
    // syscall: the context is writable user memory, copied out; none means NULL.
    let sc = load(
        &rt,
        SYSCALL,
        "if r1 == 0 goto +4\n r0 = *(u64 *)(r1 + 0)\n r0 += 1\n *(u64 *)(r1 + 0) = r0\n exit\n r0 = 99\n exit",
        &[],
    );
    let o = ctx_run(&rt, sc, &41u64.to_le_bytes());
    assert_eq!((o.retval, o.ctx_out), (42, Some(42u64.to_le_bytes().to_vec())));
    assert_eq!(run(&rt, sc, &[]).retval, 99);
    // An unknown program type: the packet as memory (r1 = address, r2 = length).
    let raw = load(&rt, 0, "r0 = r2\n r3 = 9\n *(u8 *)(r1 + 0) = r3\n exit", &[]);
    let o = run(&rt, raw, &[1, 2, 3]);
    assert_eq!((o.retval, o.data_out), (3, vec![9, 2, 3]));
}

#[test]
fn skb_adjust_room() {
    let rt = rt();
    let pkt = udp_packet(b"abc");
    let r = |diff: i32, mode: u32, flags: u64| {
        run(
            &rt,
            load(&rt, SCHED_CLS, &format!("r2 = {diff}\n r3 = {mode}\n r4 = {flags:#x} ll\n call 50\n exit"), &[]),
            &pkt,
        )
    };
    let o = r(8, 1, 0);
    let mut want = pkt[..14].to_vec();
    want.extend_from_slice(&[0; 8]);
    want.extend_from_slice(&pkt[14..]);
    assert_eq!((o.retval, o.data_out), (0, want), "MAC mode: room after the Ethernet header");
    let o = r(8, 0, 0);
    let mut want = pkt[..34].to_vec();
    want.extend_from_slice(&[0; 8]);
    want.extend_from_slice(&pkt[34..]);
    assert_eq!((o.retval, o.data_out), (0, want), "NET mode: room after the 20-byte IPv4 header");
    let o = r(-8, 0, 0);
    let mut want = pkt[..34].to_vec();
    want.extend_from_slice(&pkt[42..]);
    assert_eq!((o.retval, o.data_out), (0, want), "NET mode shrink removes the UDP header");
    assert_eq!(r(-12, 0, 0).retval, neg(524), "shrinking below the IPv4 header");
    assert_eq!(r(8, 2, 0).retval, neg(524), "unknown mode");
    assert_eq!(r(0x1000, 1, 0).retval, neg(14));
    assert_eq!(r(8, 1, 1 << 20).retval, neg(22), "unknown flag");
    let mut arp = pkt.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let p = load(&rt, SCHED_CLS, "r2 = 8\n r3 = 1\n r4 = 0\n call 50\n exit", &[]);
    assert_eq!(run(&rt, p, &arp).retval, neg(524), "not IP");
}

#[test]
fn tracing_programs_read_kernel_pointers_like_probe_mem() {
    let rt = rt_with(|o| o.probe_memory = vec![(0xffff_8880_0000_2000, 4242u32.to_le_bytes().to_vec())]);
    let src = "r2 = *(u64 *)(r1 + 0)\n r0 = *(u32 *)(r2 + 0)\n exit";
    let fentry = load(&rt, 26, src, &[]);
    let args: Vec<u8> = 0xffff_8880_0000_2000u64.to_le_bytes().to_vec();
    assert_eq!(ctx_run(&rt, fentry, &args).retval, 4242, "a pointer argument into probe memory");
    assert_eq!(run(&rt, fentry, &[]).retval, 0, "a NULL argument: the load reads 0 instead of faulting");
    let w = load(&rt, 26, "r2 = 0x1000 ll\n r0 = 1\n *(u32 *)(r2 + 0) = r0\n exit", &[]);
    assert!(
        matches!(
            err_of(&rt, w, TestRunInput::default()),
            RuntimeError::Fault { error: VmError::OutOfBounds { .. }, .. }
        ),
        "stores still fault"
    );
    let kp = load(&rt, KPROBE, "r2 = 0x1000 ll\n r0 = *(u32 *)(r2 + 0)\n exit", &[]);
    assert!(
        matches!(
            err_of(&rt, kp, TestRunInput::default()),
            RuntimeError::Fault { error: VmError::OutOfBounds { .. }, .. }
        ),
        "kprobes use probe_read"
    );
}
