//! Internet checksum arithmetic as the kernel does it on a little-endian host:
//! 16-bit words are loaded natively, so values stay in network byte order and
//! one's-complement sums work unchanged.

/// `csum_add`: 32-bit one's-complement addition.
pub(crate) fn add(a: u32, b: u32) -> u32 {
    let (s, c) = a.overflowing_add(b);
    s.wrapping_add(c as u32)
}

/// `csum_sub`.
pub(crate) fn sub(a: u32, b: u32) -> u32 {
    add(a, !b)
}

/// `csum_partial`: one's-complement sum of `data` (16-bit native words, a trailing
/// byte as the low byte) added to `seed`, as a 32-bit partial sum.
pub(crate) fn partial(data: &[u8], seed: u32) -> u32 {
    let mut sum: u64 = 0;
    let mut chunks = data.chunks_exact(2);
    for w in &mut chunks {
        sum += u16::from_le_bytes([w[0], w[1]]) as u64;
    }
    if let [b] = chunks.remainder() {
        sum += *b as u64;
    }
    while sum >> 32 != 0 {
        sum = (sum & 0xffff_ffff) + (sum >> 32);
    }
    add(sum as u32, seed)
}

/// `csum_from32to16`: fold a 32-bit sum to 16 bits (no complement).
pub(crate) fn from32to16(sum: u32) -> u16 {
    let s = sum.wrapping_add(sum.rotate_right(16));
    (s >> 16) as u16
}

/// `csum_fold`: fold and complement.
pub(crate) fn fold(sum: u32) -> u16 {
    !from32to16(sum)
}

/// `csum_replace4`: update checksum `sum` for a 32-bit field going `from` -> `to`.
pub(crate) fn replace4(sum: u16, from: u32, to: u32) -> u16 {
    let tmp = sub(!(sum as u32), from);
    fold(add(tmp, to))
}

fn add16(a: u16, b: u16) -> u16 {
    let (s, c) = a.overflowing_add(b);
    s.wrapping_add(c as u16)
}

/// `csum_replace2`.
pub(crate) fn replace2(sum: u16, from: u16, to: u16) -> u16 {
    !add16(add16(!sum, !from), to)
}

/// `csum_replace_by_diff`.
pub(crate) fn replace_by_diff(sum: u16, diff: u32) -> u16 {
    fold(add(diff, !(sum as u32)))
}

/// `bpf_csum_diff` (6.12+): the folded 16-bit difference.
pub(crate) fn diff(from: &[u8], to: &[u8], seed: u32) -> u32 {
    match (from.is_empty(), to.is_empty()) {
        (false, false) => from32to16(sub(partial(to, seed), partial(from, 0))) as u32,
        (true, false) => from32to16(partial(to, seed)) as u32,
        (false, true) => from32to16(!partial(from, !seed)) as u32,
        (true, true) => seed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4 header checksum computed from scratch, stored as the kernel would.
    fn ip_csum(h: &[u8]) -> u16 {
        fold(partial(h, 0))
    }

    #[test]
    fn ipv4_header_checksum_and_incremental_updates() {
        // 45 00 00 73 00 00 40 00 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7 (a classic example)
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
            0x00, 0xc7,
        ];
        let c = ip_csum(&h);
        assert_eq!(c.to_le_bytes(), [0xb8, 0x61]);
        h[10..12].copy_from_slice(&c.to_le_bytes());
        assert_eq!(ip_csum(&h), 0, "a correct header sums to zero");
        // Change the TTL/protocol word 0x4011 -> 0x3f11 with csum_replace2.
        let from = u16::from_le_bytes([h[8], h[9]]);
        h[8] = 0x3f;
        let to = u16::from_le_bytes([h[8], h[9]]);
        let c2 = replace2(c, from, to);
        h[10..12].copy_from_slice(&c2.to_le_bytes());
        assert_eq!(ip_csum(&h), 0);
        // Change the destination address with csum_replace4.
        let from = u32::from_le_bytes([h[16], h[17], h[18], h[19]]);
        h[16..20].copy_from_slice(&[10, 1, 2, 3]);
        let to = u32::from_le_bytes([h[16], h[17], h[18], h[19]]);
        let c3 = replace4(c2, from, to);
        h[10..12].copy_from_slice(&c3.to_le_bytes());
        assert_eq!(ip_csum(&h), 0);
        // The same through csum_diff + replace_by_diff.
        let old = h;
        h[12..16].copy_from_slice(&[172, 16, 0, 9]);
        let d = diff(&old[12..16], &h[12..16], 0);
        let c4 = replace_by_diff(c3, d);
        h[10..12].copy_from_slice(&c4.to_le_bytes());
        assert_eq!(ip_csum(&h), 0);
    }
}
