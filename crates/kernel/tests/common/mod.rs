//! Shared by the kernel crate's integration tests: the SKIP rule, packets, leak checks.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// True when the kernel is usable; otherwise prints `SKIP: <reason>` (and fails under CI=true).
pub fn kernel_available() -> bool {
    bpfbox_kernel::available_or_skip()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn progs_dir() -> PathBuf {
    repo().join("tests/progs")
}

pub fn kernel_dir() -> PathBuf {
    repo().join("tests/kernel")
}

fn csum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = if c.len() == 2 { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], 0]) };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 (no options) + L4 header with the given protocol and destination
/// port, and `payload`.
pub fn ipv4_packet(proto: u8, dport: u16, payload: &[u8]) -> Vec<u8> {
    let l4_len = match proto {
        6 => 20,
        17 => 8,
        _ => 0,
    };
    let total = 20 + l4_len + payload.len();
    let mut p = Vec::new();
    p.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
    let mut ip =
        vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 199, 0, 1, 10, 199, 0, 2];
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(&ip);
    match proto {
        17 => {
            p.extend_from_slice(&4321u16.to_be_bytes());
            p.extend_from_slice(&dport.to_be_bytes());
            p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0]);
        }
        6 => {
            p.extend_from_slice(&4321u16.to_be_bytes());
            p.extend_from_slice(&dport.to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        }
        _ => {}
    }
    p.extend_from_slice(payload);
    p
}

/// Wait until `gone()` holds (the kernel frees programs and maps after an RCU grace period).
pub fn eventually(what: &str, gone: impl Fn() -> bool) {
    let start = Instant::now();
    while !gone() {
        if start.elapsed() > Duration::from_secs(5) {
            panic!("still present after 5 s: {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Assert that no program or map with these ids remains in the kernel.
pub fn assert_released(prog_ids: &[u32], map_ids: &[u32]) {
    for &id in prog_ids {
        eventually(&format!("program id {id}"), || {
            matches!(bpfbox_kernel::inspect::prog_info(id), Err(bpfbox_kernel::KernelError::NoSuchId { .. }))
        });
    }
    for &id in map_ids {
        eventually(&format!("map id {id}"), || {
            matches!(bpfbox_kernel::inspect::map_info(id), Err(bpfbox_kernel::KernelError::NoSuchId { .. }))
        });
    }
}
