//! The kernel backend against bpfbox's engines: the same XDP objects, the same packets,
//! through `Instance` (interpreter and JIT) and `KernelInstance`, with the same code
//! (generic over `Backend`): equal return values, packets and maps. And a kernel
//! instance leaves nothing behind: its programs and maps are gone from the kernel's
//! lists once it (and the last map handle) is dropped.
//!
//! Needs root (or CAP_BPF): prints a SKIP line otherwise, and fails when `CI=true`.
//! Compiled only with the feature `kernel` (`required-features` in Cargo.toml).

use bpfbox::{Backend, Engine, Error, Input, KernelLoadOptions, KernelObject, Output};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn root(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
}

/// Whether the kernel can be used here; `SKIP: <why>` when not, a failure under CI.
fn kernel_or_skip() -> bool {
    match KernelObject::available() {
        Ok(()) => true,
        Err(e) => {
            assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "the kernel is required under CI: {e}");
            println!("SKIP: {e}");
            false
        }
    }
}

fn ipv4_from(src: [u8; 4], len: usize) -> Vec<u8> {
    let mut pkt = vec![0u8; len.max(34)];
    pkt[12..14].copy_from_slice(&[0x08, 0x00]);
    pkt[14] = 0x45;
    pkt[26..30].copy_from_slice(&src);
    pkt
}

/// Ethernet, `vlans` 802.1Q tags, IPv6 (next header `next`), then `payload`.
fn ipv6(vlans: usize, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 12];
    for _ in 0..vlans {
        p.extend_from_slice(&[0x81, 0x00, 0, 1]);
    }
    p.extend_from_slice(&[0x86, 0xdd]);
    let mut ip = [0u8; 40];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    ip[6] = next;
    ip[7] = 64;
    p.extend_from_slice(&ip);
    p.extend_from_slice(payload);
    p
}

/// Packets of every shape the programs look at: too short, not IP, IPv4 from a few
/// sources, IPv6 behind VLAN tags to port 23 and 80, extension headers, large.
fn packets() -> Vec<Vec<u8>> {
    let udp = |dport: u16| {
        let mut u = vec![0u8; 8];
        u[0..2].copy_from_slice(&1234u16.to_be_bytes());
        u[2..4].copy_from_slice(&dport.to_be_bytes());
        u
    };
    let mut hop_by_hop = vec![17u8, 0, 0, 0, 0, 0, 0, 0];
    hop_by_hop.extend(udp(23));
    let mut pkts = vec![
        vec![0u8; 14],
        vec![0xffu8; 60],
        ipv4_from([10, 0, 0, 1], 34),
        ipv4_from([10, 0, 0, 1], 98),
        ipv4_from([10, 0, 0, 2], 64),
        ipv4_from([192, 168, 1, 7], 1500),
        ipv4_from([10, 0, 0, 1], 20)[..20].to_vec(),
        ipv6(0, 17, &udp(23)),
        ipv6(1, 17, &udp(80)),
        ipv6(2, 6, &udp(23)),
        ipv6(1, 0, &hop_by_hop),
        ipv6(2, 17, &udp(23))[..60].to_vec(),
    ];
    // Different lengths fill the memcmp / array programs' inputs differently.
    pkts.push((0..200u32).map(|i| (i * 7) as u8).collect());
    pkts
}

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// What one object does on `packets` through one backend: each run's result (or that
/// it failed) and then every map's sorted contents.
#[derive(Debug, PartialEq, Eq)]
struct Trace {
    runs: Vec<Result<(u64, Vec<u8>), String>>,
    maps: Vec<(String, Entries)>,
}

/// The code under test is written once, for any backend.
fn run_all(inst: &impl Backend, prog: &str, maps: &[&str], pkts: &[Vec<u8>]) -> Trace {
    let mut runs = Vec::new();
    for p in pkts {
        runs.push(match inst.test_run(prog, &Input::data(p.clone())) {
            Ok(Output { retval, data, .. }) => Ok((retval, data)),
            // The kernel's EINVAL and bpfbox's are different error values; that both refused is what matters.
            Err(_) => Err("refused".to_string()),
        });
    }
    let mut out = Vec::new();
    for m in maps {
        let mut entries = inst.raw_map(m).expect("map").entries();
        entries.sort();
        out.push((m.to_string(), entries));
    }
    Trace { runs, maps: out }
}

/// The XDP program of an object (the bench objects have a second, `bpfbox`-section entry).
fn xdp_prog(obj: &KernelObject) -> String {
    obj.programs().find(|p| p.program_type() == Some("xdp")).expect("an xdp program").name().to_string()
}

fn compare(file: &str, seed: impl Fn(&dyn Fn(&str, &[u8], &[u8]))) {
    let obj = KernelObject::open(root(file)).expect("open");
    let prog = xdp_prog(&obj);
    let kernel = obj.load_with(&KernelLoadOptions { programs: Some(vec![prog.clone()]) }).expect("kernel load");
    let maps: Vec<String> = kernel.maps().map(str::to_string).collect();
    let maps: Vec<&str> = maps.iter().map(String::as_str).collect();
    let pkts = packets();
    let kseed = |m: &str, k: &[u8], v: &[u8]| kernel.raw_map(m).expect("map").insert(k, v).expect("seed");
    seed(&kseed);
    let want = run_all(&kernel, &prog, &maps, &pkts);
    assert!(want.runs.iter().any(Result::is_ok), "{file}: the kernel ran nothing: {want:?}");
    for engine in [Engine::interpreter(), Engine::jit()] {
        let user = obj.object().load(&engine).expect("user-space load");
        let useed = |m: &str, k: &[u8], v: &[u8]| user.raw_map(m).expect("map").insert(k, v).expect("seed");
        seed(&useed);
        let got = run_all(&user, &prog, &maps, &pkts);
        for (i, (g, w)) in got.runs.iter().zip(&want.runs).enumerate() {
            assert_eq!(
                g,
                w,
                "{file} ({}), packet {i} ({} bytes): bpfbox vs kernel",
                engine_name(&engine),
                pkts[i].len()
            );
        }
        assert_eq!(got.maps, want.maps, "{file} ({}): maps after the runs, bpfbox vs kernel", engine_name(&engine));
    }
    println!(
        "{file}: {prog}: {} packets, {} maps: equal on the interpreter, the JIT and the kernel",
        pkts.len(),
        maps.len()
    );
}

fn engine_name(e: &Engine) -> &'static str {
    if e.is_jit() { "jit" } else { "interpreter" }
}

#[test]
fn xdp_firewall_same_results_as_the_kernel() {
    if !kernel_or_skip() {
        return;
    }
    compare("examples/xdp_firewall.bpf.o", |insert| {
        insert("blocklist", &[10, 0, 0, 1], &0u64.to_ne_bytes());
        insert("blocklist", &[192, 168, 1, 7], &5u64.to_ne_bytes());
        insert("stats", &4u32.to_ne_bytes(), &100u64.to_ne_bytes());
    });
}

#[test]
fn bench_objects_same_results_as_the_kernel() {
    if !kernel_or_skip() {
        return;
    }
    for f in ["empty", "vlan_ipv6", "memcmp", "array64", "hash64"] {
        compare(&format!("tests/bench/run/{f}.bpf.o"), |_| {});
    }
}

/// Hash values handed to helpers (another map's key, their own key's new value) and
/// elements replaced and deleted while the program holds a pointer: the JIT's direct
/// hash lookups, the interpreter and the kernel agree.
#[test]
fn hash_values_same_results_as_the_kernel() {
    if !kernel_or_skip() {
        return;
    }
    compare("tests/progs/hash_values.bpf.o", |_| {});
}

/// Open-coded number iterators (`bpf_iter_num_*`, as `bpf_for` uses them): ranges,
/// nesting, an early break, an empty and an invalid range give what the kernel's give.
#[test]
fn iter_num_same_results_as_the_kernel() {
    if !kernel_or_skip() {
        return;
    }
    compare("tests/progs/iter_num.bpf.o", |_| {});
}

#[test]
fn typed_maps_and_errors_match_the_user_space_ones() {
    if !kernel_or_skip() {
        return;
    }
    let obj = KernelObject::open(root("examples/xdp_firewall.bpf.o")).expect("open");
    let kernel = obj.load().expect("load");
    let user = obj.object().load(&Engine::interpreter()).expect("load");
    fn check(inst: &impl Backend) {
        let b = inst.map::<[u8; 4], u64>("blocklist").expect("blocklist");
        assert_eq!(b.get(&[1, 2, 3, 4]).expect("get"), None);
        b.insert(&[1, 2, 3, 4], &9).expect("insert");
        assert_eq!(b.get(&[1, 2, 3, 4]).expect("get"), Some(9));
        assert_eq!(b.iter().expect("iter").collect::<Vec<_>>(), [([1, 2, 3, 4], 9)]);
        assert!(b.remove(&[1, 2, 3, 4]).expect("remove"));
        assert!(!b.remove(&[1, 2, 3, 4]).expect("remove"));
        let stats = inst.map::<u32, u64>("stats").expect("stats");
        assert_eq!(stats.iter().expect("iter").count(), 5);
        // An array cannot delete (EINVAL) and has no index 5 (E2BIG), as errors of the map.
        assert!(matches!(stats.remove(&0), Err(Error::Map { op: "delete", .. })), "{:?}", stats.remove(&0));
        assert!(matches!(stats.insert(&5, &1), Err(Error::Map { op: "update", .. })));
        stats.insert(&1, &3).expect("insert");
        stats.raw().clear().expect("clear");
        assert_eq!(stats.get(&1).expect("get"), Some(0));
        assert!(matches!(
            inst.map::<u64, u64>("stats"),
            Err(Error::SizeMismatch { what: "key", expected: 4, given: 8, .. })
        ));
        assert!(matches!(inst.map::<u32, u64>("nope"), Err(Error::UnknownMap { .. })));
        assert!(matches!(inst.test_run("nope", &Input::data(vec![0; 14])), Err(Error::UnknownProgram { .. })));
    }
    check(&kernel);
    check(&user);
    // The errno values themselves agree.
    let errno = |inst: &dyn Fn() -> bpfbox::Result<()>| match inst() {
        Err(Error::Map { errno, .. }) => errno,
        other => panic!("{other:?}"),
    };
    let k = errno(&|| kernel.map::<u32, u64>("stats")?.insert(&9, &0));
    let u = errno(&|| user.map::<u32, u64>("stats")?.insert(&9, &0));
    assert_eq!(k, u);
}

/// Whether `ids` are all gone from the kernel's list `list` within a few seconds (the
/// kernel frees programs and maps after an RCU grace period).
fn gone(list: fn() -> Result<Vec<u32>, bpfbox_kernel::KernelError>, ids: &[u32]) -> bool {
    let start = Instant::now();
    loop {
        let live = list().expect("listing");
        if !ids.iter().any(|i| live.contains(i)) {
            return true;
        }
        if start.elapsed() > Duration::from_secs(10) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn dropping_the_instance_removes_what_it_created() {
    if !kernel_or_skip() {
        return;
    }
    use bpfbox_kernel::inspect::{map_ids, prog_ids};
    // From bytes too: the temporary file goes with the load.
    let bytes = std::fs::read(root("examples/xdp_firewall.bpf.o")).expect("read");
    for obj in [
        KernelObject::open(root("examples/xdp_firewall.bpf.o")).expect("open"),
        KernelObject::from_bytes(&bytes).expect("open"),
    ] {
        let inst = obj.load().expect("load");
        inst.test_run("xdp_firewall", &Input::data(ipv4_from([10, 0, 0, 1], 34))).expect("run");
        let prog = inst.program_id("xdp_firewall").expect("program id");
        let maps: Vec<u32> = inst.maps().map(|m| inst.map_id(m).expect("map id")).collect();
        assert!(maps.len() >= 2, "{maps:?}");
        assert!(prog_ids().expect("list").contains(&prog));
        assert!(maps.iter().all(|m| map_ids().expect("list").contains(m)));
        // A map handle keeps its map (only) past the instance.
        let stats = inst.map::<u32, u64>("stats").expect("stats");
        let stats_id = inst.map_id("stats").expect("map id");
        let others: Vec<u32> = maps.iter().copied().filter(|&m| m != stats_id).collect();
        drop(inst);
        assert!(gone(prog_ids, &[prog]), "program {prog} is still loaded after the drop");
        assert!(gone(map_ids, &others), "maps {others:?} are still in the kernel after the drop");
        // The packet from 10.0.0.1 (not blocked) passed: XDP_PASS is counted at 2.
        assert_eq!(stats.get(&2).expect("the map lives on with its handle"), Some(1));
        assert!(map_ids().expect("list").contains(&stats_id), "the handle's map is gone");
        drop(stats);
        assert!(gone(map_ids, &maps), "maps {maps:?} are still in the kernel after the drop");
        // (Pinned maps or programs would keep their ids alive: none are left.)
    }
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("tmp")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("bpfbox-api-{}-", std::process::id())))
        .collect();
    assert!(leftovers.is_empty(), "temporary objects left: {leftovers:?}");
}

#[test]
fn a_refused_load_is_a_kernel_error_with_the_log() {
    if !kernel_or_skip() {
        return;
    }
    let bytes = std::fs::read(root("tests/verifier/c/pkt_short_check_bad.o")).expect("read");
    let obj = KernelObject::from_bytes(&bytes).expect("open");
    let err = obj.load().expect_err("the kernel refuses it");
    let Error::Kernel(e) = &err else { panic!("{err:?}") };
    assert!(e.verifier_log().is_some_and(|l| l.contains("invalid access to packet")), "{err}");
    // Named after the object, not the temporary file libbpf read.
    assert!(err.to_string().starts_with("obj: "), "{err}");
}
