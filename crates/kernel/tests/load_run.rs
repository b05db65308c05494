//! Load every example object in tests/progs into the kernel and test-run every program
//! whose type supports BPF_PROG_TEST_RUN; map round trips; verifier rejections.

mod common;

use bpfbox_kernel::{inspect, KernelError, KernelObject, OpenOptions, TestRunInput};
use common::*;
use std::collections::BTreeMap;

const XDP_ABORTED: u32 = 0;
const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const TC_ACT_SHOT: u32 = 2;

fn run(o: &KernelObject, prog: &str, data: &[u8]) -> bpfbox_kernel::TestRunOutput {
    o.test_run(prog, &TestRunInput { data_in: data.to_vec(), ctx_in: None, repeat: 1 })
        .unwrap_or_else(|e| panic!("test_run {prog}: {e}"))
}

fn load(name: &str) -> KernelObject {
    let path = progs_dir().join(name);
    KernelObject::load(&path, &OpenOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn ids(o: &KernelObject) -> (Vec<u32>, Vec<u32>) {
    (o.programs().iter().map(|p| p.id).collect(), o.maps().iter().map(|m| m.id).collect())
}

/// The standard packets: (label, bytes).
fn packets() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("udp:9", ipv4_packet(17, 9, b"discard me")),
        ("udp:53", ipv4_packet(17, 53, &[0u8; 40])),
        ("tcp:80", ipv4_packet(6, 80, b"GET / HTTP/1.0\r\n\r\n")),
        ("arp", {
            let mut p = vec![0xff; 6];
            p.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
            p.extend_from_slice(&[0u8; 28]);
            p
        }),
        ("big-udp", ipv4_packet(17, 1234, &[0xab; 1400])),
    ]
}

#[test]
fn every_example_loads_or_is_rejected_with_a_log_and_test_runs() {
    if !kernel_available() {
        return;
    }
    // The test programs and the examples (when present).
    let mut files: Vec<_> = [progs_dir(), repo().join("examples")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "examples missing: {files:?}");
    let mut ran = 0;
    let mut report = BTreeMap::new();
    for f in &files {
        let name = f.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let o = match KernelObject::load(f, &OpenOptions::default()) {
            Ok(o) => o,
            Err(KernelError::Load(l)) => {
                // A rejection must carry the evidence: errno, program, section, verifier log.
                assert!(l.program.is_some() && l.section.is_some(), "{name}: {l:?}");
                assert!(!l.verifier_log.is_empty(), "{name}: rejected without a verifier log: {l}");
                report.insert(name, format!("rejected: {} / {}", l.errno.name(), l.log_tail(2).join(" | ")));
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let (progs, maps) = ids(&o);
        assert!(!progs.is_empty() && progs.iter().all(|&id| id > 0), "{name}: {:?}", o.programs());
        for p in o.programs() {
            let info = inspect::prog_info(p.id).expect("prog info");
            assert_eq!(info.name, p.name.chars().take(15).collect::<String>());
            assert_eq!(info.type_name, p.prog_type);
            assert!(info.bytes_xlated > 0 && info.bytes_xlated.is_multiple_of(8));
            let insns = o.loaded_insns(&p.name).expect("insns");
            assert!(!insns.is_empty() && insns.len() % 8 == 0);
            if !matches!(p.prog_type.as_str(), "xdp" | "sched_cls" | "socket_filter" | "cgroup_skb") {
                // Tracing programs: BPF_PROG_TEST_RUN is refused, with an errno.
                let e = o
                    .test_run(&p.name, &TestRunInput { data_in: vec![0; 64], ..Default::default() })
                    .expect_err("tracing test run");
                assert!(e.errno().is_some(), "{e}");
                continue;
            }
            for (label, pkt) in packets() {
                let out = run(&o, &p.name, &pkt);
                ran += 1;
                match p.prog_type.as_str() {
                    "xdp" => assert!(out.retval <= 4, "{name}/{label}: xdp verdict {}", out.retval),
                    "sched_cls" => {
                        assert!(out.retval <= 8 || out.retval == u32::MAX, "{name}/{label}: tc verdict {}", out.retval)
                    }
                    "cgroup_skb" => assert!(out.retval <= 3, "{name}/{label}: cgroup_skb verdict {}", out.retval),
                    _ => assert!(out.retval as usize <= pkt.len().max(0xffff), "{name}/{label}"),
                }
                assert_eq!(out.data_out.len(), pkt.len(), "{name}/{label}: packet length changed");
            }
        }
        report.insert(name, format!("loaded {} program(s), {} map(s)", progs.len(), maps.len()));
        drop(o);
        assert_released(&progs, &maps);
    }
    for (k, v) in &report {
        println!("{k}: {v}");
    }
    assert!(ran >= 30, "only {ran} test runs");
    // mem_sum uses the conformance calling convention (r2 = length), which the kernel refuses.
    assert!(
        report.get("mem_sum.bpf.o").is_some_and(|r| r.contains("EACCES") && r.contains("R2 !read_ok")),
        "{report:?}"
    );
}

#[test]
fn verdicts_match_the_programs_intent() {
    if !kernel_available() {
        return;
    }
    let o = load("xdp_parse.bpf.o");
    let pk = packets();
    assert_eq!(run(&o, "xdp_parse", &pk[0].1).retval, XDP_DROP, "udp to port 9 is dropped");
    assert_eq!(run(&o, "xdp_parse", &pk[1].1).retval, XDP_PASS);
    assert_eq!(run(&o, "xdp_parse", &pk[2].1).retval, XDP_PASS);
    assert_eq!(run(&o, "xdp_parse", &pk[3].1).retval, XDP_PASS, "arp passes");
    assert_eq!(run(&o, "xdp_parse", &pk[0].1[..20]).retval, XDP_ABORTED, "truncated ip header");
    let out = run(&o, "xdp_parse", &pk[1].1);
    assert_eq!(out.data_out, pk[1].1);

    // Socket filters (like cgroup_skb) run on the packet from the network header on:
    // BPF_PROG_TEST_RUN strips the Ethernet header (eth_type_trans) and zeroes it in
    // data_out. So sock_http, which expects an Ethernet header, sees tcp:80 only behind
    // a second Ethernet header.
    let s = load("socket_filter.bpf.o");
    assert_eq!(run(&s, "sock_http", &pk[2].1).retval, 0, "L3 view: no Ethernet type at offset 12");
    let mut double = pk[2].1[..14].to_vec();
    double.extend_from_slice(&pk[2].1);
    let out = run(&s, "sock_http", &double);
    assert_eq!(out.retval, 96, "tcp:80 kept, truncated to 96");
    assert_eq!(&out.data_out[..14], &[0u8; 14], "the L2 header comes back zeroed");
    assert_eq!(&out.data_out[14..], &double[14..]);
    assert_eq!(run(&s, "sock_http", &pk[1].1).retval, 0);

    let t = load("tc_mark.bpf.o");
    // A short packet (< 64 bytes): the first payload byte after the Ethernet header is incremented.
    let short = &pk[0].1;
    assert!(short.len() < 64);
    let out = run(&t, "tc_mark", short);
    assert_eq!(out.retval, 0);
    assert_eq!(out.data_out[14], short[14].wrapping_add(1));
    assert_eq!(&out.data_out[15..], &short[15..]);
    // cls_drop_small drops packets shorter than 60 bytes.
    assert_eq!(run(&t, "cls_drop_small", short).retval, TC_ACT_SHOT);
    assert_eq!(run(&t, "cls_drop_small", &pk[4].1).retval, 0);

    // A context in and out: __sk_buff with a mark; tc_mark writes skb->mark.
    let mut ctx = vec![0u8; 4 * 23];
    ctx[8..12].copy_from_slice(&0xdeadu32.to_le_bytes());
    let out = t
        .test_run("tc_mark", &TestRunInput { data_in: pk[4].1.clone(), ctx_in: Some(ctx), repeat: 3 })
        .expect("tc_mark with ctx");
    let ctx_out = out.ctx_out.expect("ctx_out");
    assert_eq!(
        u32::from_le_bytes([ctx_out[8], ctx_out[9], ctx_out[10], ctx_out[11]]),
        1,
        "mark = 1 for a packet > 1000 bytes"
    );
}

#[test]
fn maps_count_packets_and_round_trip() {
    if !kernel_available() {
        return;
    }
    let o = load("maps.bpf.o");
    let pk = packets();
    let mut total = 0u64;
    for (_, p) in &pk {
        assert_eq!(run(&o, "xdp_count", p).retval, XDP_PASS);
        total += p.len() as u64;
    }
    let dump = o.map_dump().expect("dump");
    let counts = dump.iter().find(|m| m.name == "proto_count").expect("proto_count");
    assert_eq!((counts.key_size, counts.value_size, counts.max_entries), (4, 8, 256));
    let mut got: Vec<(u32, u64)> = counts
        .entries
        .iter()
        .map(|(k, v)| {
            (
                u32::from_le_bytes(k[..4].try_into().unwrap_or_default()),
                u64::from_le_bytes(v[..8].try_into().unwrap_or_default()),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, vec![(6, 1), (17, 3)]);
    let totals = dump.iter().find(|m| m.name == "totals").expect("totals");
    assert_eq!(totals.entries.len(), 2);
    assert_eq!(totals.entries[0].1, total.to_le_bytes().to_vec());

    // Update / lookup / delete, through the object and through the map's kernel id.
    o.map_update("proto_count", &99u32.to_le_bytes(), &7u64.to_le_bytes(), 0).expect("update");
    assert_eq!(o.map_lookup("proto_count", &99u32.to_le_bytes()).expect("lookup"), Some(7u64.to_le_bytes().to_vec()));
    let id = o.maps().iter().find(|m| m.name == "proto_count").map(|m| m.id).expect("id");
    assert_eq!(inspect::map_lookup(id, &99u32.to_le_bytes()).expect("lookup by id"), Some(7u64.to_le_bytes().to_vec()));
    inspect::map_update(id, &99u32.to_le_bytes(), &8u64.to_le_bytes(), 2).expect("update existing by id");
    assert_eq!(o.map_lookup("proto_count", &99u32.to_le_bytes()).expect("lookup"), Some(8u64.to_le_bytes().to_vec()));
    // BPF_NOEXIST on an existing key: EEXIST.
    let e = inspect::map_update(id, &99u32.to_le_bytes(), &8u64.to_le_bytes(), 1).expect_err("noexist");
    assert_eq!(e.errno().map(|e| e.name()), Some("EEXIST".to_string()));
    inspect::map_delete(id, &99u32.to_le_bytes()).expect("delete");
    assert_eq!(inspect::map_lookup(id, &99u32.to_le_bytes()).expect("lookup"), None);
    let e = inspect::map_delete(id, &99u32.to_le_bytes()).expect_err("delete twice");
    assert_eq!(e.errno().map(|e| e.name()), Some("ENOENT".to_string()));
    // Wrong sizes are refused before the kernel sees them.
    assert!(matches!(
        o.map_update("proto_count", &[1, 2], &[0; 8], 0),
        Err(KernelError::Size { expected: 4, got: 2, .. })
    ));
    assert!(matches!(o.map_update("nope", &[0; 4], &[0; 8], 0), Err(KernelError::NoSuchMap { .. })));
    // .bss is a map too.
    let c = load("cgroup_skb.bpf.o");
    let pkt = &pk[1].1;
    assert_eq!(run(&c, "cg_ingress", pkt).retval, 1);
    let bss = c.map_dump().expect("dump").into_iter().find(|m| m.name == ".bss").expect(".bss");
    assert_eq!(bss.entries.len(), 1);
    assert_eq!(
        bss.entries[0].1,
        (pkt.len() as u64 - 14).to_le_bytes().to_vec(),
        "skb->len at cgroup level excludes L2"
    );
}

#[test]
fn prog_types_can_be_given_for_unknown_sections() {
    if !kernel_available() {
        return;
    }
    // The socket-filter example loaded as a tc classifier instead.
    let path = progs_dir().join("socket_filter.bpf.o");
    let o = KernelObject::load(
        &path,
        &OpenOptions { prog_types: vec![("sock_http".into(), "sched_cls".into())], ..Default::default() },
    )
    .expect("load");
    assert_eq!(o.programs()[0].prog_type, "sched_cls");
    let e = KernelObject::load(
        &path,
        &OpenOptions { prog_types: vec![("sock_http".into(), "no_such_type".into())], ..Default::default() },
    )
    .expect_err("bad type");
    assert!(matches!(e, KernelError::UnknownProgType { .. }), "{e}");
    let e = KernelObject::load(
        &path,
        &OpenOptions { prog_types: vec![("nope".into(), "xdp".into())], ..Default::default() },
    )
    .expect_err("bad prog");
    assert!(matches!(e, KernelError::NoSuchProgram { .. }), "{e}");
    let e = KernelObject::load(std::path::Path::new("/nonexistent.o"), &OpenOptions::default()).expect_err("missing");
    assert!(matches!(e, KernelError::Io { .. }), "{e}");
    let e = KernelObject::load(&progs_dir().join("xdp_parse.bpf.c"), &OpenOptions::default()).expect_err("not elf");
    assert!(matches!(e, KernelError::Open { .. }), "{e}");
}
