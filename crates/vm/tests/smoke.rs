mod common;
use common::*;

#[test]
fn xdp_counts_packets_in_an_array() {
    let rt = rt();
    let m = map(&rt, "counts", ARRAY, 4, 8, 4);
    let p = load(
        &rt,
        XDP,
        "r2 = *(u32 *)(r1 + 0x0)
         r3 = *(u32 *)(r1 + 0x4)
         r3 -= r2
         *(u32 *)(r10 - 0x4) = r3
         r2 = r10
         r2 += -0x4
         r2 = 0 ll
         *(u32 *)(r10 - 0x4) = r2
         r2 = r10
         r2 += -0x4
         ld_pseudo r1, 0x5, 0x0
         call 0x1
         if r0 == 0x0 goto +3
         r1 = 0x1
         lock *(u64 *)(r0 + 0x0) += r1
         r0 = 0x2
         exit
         r0 = 0x1
         exit",
        &[m],
    );
    let pkt = udp_packet(b"hi");
    for _ in 0..3 {
        let o = run(&rt, p, &pkt);
        assert_eq!(o.retval, 2);
        assert_eq!(o.data_out, pkt);
    }
    assert_eq!(rt.map(m).lookup(&0u32.to_le_bytes()).unwrap(), 3u64.to_le_bytes());
}

#[test]
fn asm_forms() {
    let p = asm("*(u32 *)(r10 - 4) = 1\n r2 = r10\n r2 += -4\n if r0 == 0 goto out\n r0 <<= 32\n r0 |= r6\n ld_pseudo r2, 0x4, 0\n ld_pseudo r2, 0x6, 1, 8\nout:\n r0 = -1\n exit");
    assert_eq!(p.len(), 12);
}
