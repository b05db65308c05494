//! `bpfbox run OBJ` as a user runs it: the examples on the standard packet set, in user
//! space and (where the machine allows) compared with the kernel's BPF_PROG_TEST_RUN.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::process::Command;

#[cfg(feature = "kernel")]
mod kernel_common;

const BPFBOX: &str = env!("CARGO_BIN_EXE_bpfbox");

fn root(p: &str) -> String {
    format!("{}/../../{p}", env!("CARGO_MANIFEST_DIR"))
}

fn bpfbox(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BPFBOX).args(args).output().expect("bpfbox runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let (c, out, err) = bpfbox(args);
    assert_eq!(c, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn firewall_drops_blocklisted_sources_on_the_pcap() {
    let fw = root("examples/xdp_firewall.bpf.o");
    let pcap = root("examples/traffic.pcap");
    let init = format!("blocklist={}", root("examples/blocklist.json"));
    let v = json(&["run", &fw, "--pcap", &pcap, "--map-init", &init, "--dump-maps", "--json"]);
    let actions: Vec<&str> =
        v["packets"].as_array().unwrap().iter().map(|p| p["action"].as_str().unwrap_or("error")).collect();
    assert_eq!(
        actions,
        [
            "XDP_PASS", "XDP_PASS", "XDP_DROP", "XDP_PASS", "XDP_PASS", "XDP_PASS", "XDP_PASS", "error", "XDP_DROP",
            "XDP_PASS"
        ]
    );
    assert_eq!(v["summary"]["XDP_PASS"], 7);
    assert_eq!(v["summary"]["XDP_DROP"], 2);
    let maps = v["maps"].as_array().unwrap();
    let block = maps.iter().find(|m| m["name"] == "blocklist").unwrap();
    assert_eq!(block["type"], "hash");
    assert_eq!(block["entries"][0]["key"], "c0000242");
    assert_eq!(block["entries"][0]["value"], "0200000000000000");
    let stats = maps.iter().find(|m| m["name"] == "stats").unwrap();
    let count = |k: usize| stats["entries"][k]["formatted_value"].as_u64().unwrap();
    assert_eq!((count(1), count(2)), (2, 7));
    // Output packets: the 7 passed ones.
    let out = std::env::temp_dir().join(format!("bpfbox-out-{}.pcap", std::process::id()));
    let (c, _, err) = bpfbox(&["run", &fw, "--pcap", &pcap, "--map-init", &init, "--out-pcap", out.to_str().unwrap()]);
    assert_eq!(c, 0, "{err}");
    let data = std::fs::read(&out).unwrap();
    assert_eq!(&data[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    let _ = std::fs::remove_file(out);
}

#[test]
fn single_packet_json_has_the_stable_fields() {
    let v = json(&[
        "run",
        &root("examples/tc_rewrite.bpf.o"),
        "--data-hex",
        "02000000000202000000000108004500",
        "--json",
        "--repeat",
        "3",
    ]);
    for f in ["retval", "action", "data_out", "ctx_out", "duration_ns", "printk", "events"] {
        assert!(v.get(f).is_some(), "missing {f}: {v}");
    }
    assert_eq!(v["action"], "TC_ACT_OK");
}

#[test]
fn tc_rewrite_fixes_checksums() {
    let v = json(&["run", &root("examples/tc_rewrite.bpf.o"), "--pcap", &root("examples/traffic.pcap"), "--json"]);
    let hexs = v["packets"][1]["data_out"].as_str().unwrap();
    let b: Vec<u8> = (0..hexs.len()).step_by(2).map(|i| u8::from_str_radix(&hexs[i..i + 2], 16).unwrap()).collect();
    let sum = |d: &[u8]| {
        let mut s: u32 = d.chunks(2).map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0))).sum();
        while s >> 16 != 0 {
            s = (s & 0xffff) + (s >> 16);
        }
        s
    };
    assert_eq!(b[22], 64, "TTL rewritten");
    assert_eq!(u16::from_be_bytes([b[36], b[37]]), 5353, "port rewritten");
    assert_eq!(sum(&b[14..34]), 0xffff, "IPv4 header checksum");
    let udp = &b[34..];
    let mut pseudo = b[26..34].to_vec();
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&(udp.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(udp);
    assert_eq!(sum(&pseudo), 0xffff, "UDP checksum");
}

#[test]
fn ringbuf_and_printk_on_a_synthetic_tracepoint_context() {
    // raw_syscalls:sys_enter record: 8 common bytes, id = 257 (openat), args[2] = 0x241.
    let mut ctx = vec![0u8; 64];
    ctx[8..16].copy_from_slice(&257u64.to_le_bytes());
    ctx[32..40].copy_from_slice(&0x241u64.to_le_bytes());
    let path = std::env::temp_dir().join(format!("bpfbox-tp-ctx-{}", std::process::id()));
    std::fs::write(&path, &ctx).unwrap();
    let v = json(&["run", &root("examples/ringbuf_events.bpf.o"), "--ctx", path.to_str().unwrap(), "--json"]);
    let _ = std::fs::remove_file(&path);
    let ev = v["events"].as_array().unwrap();
    assert_eq!(ev.len(), 1, "{v}");
    assert_eq!(ev[0]["map"], "events");
    let data = ev[0]["data"].as_str().unwrap();
    assert_eq!(&data[24..32], "41020000", "flags field: {data}");
    assert_eq!(&data[32..48], "0101000000000000", "syscall id field: {data}");
    let printk = v["printk"].as_array().unwrap();
    assert!(printk[0].as_str().unwrap().contains("flags 241"), "{printk:?}");
}

#[test]
fn user_errors_are_one_line() {
    let (c, _, err) = bpfbox(&["run", &root("tests/progs/tc_mark.bpf.o")]);
    assert_eq!(c, 2, "{err}");
    assert!(err.contains("--prog"), "{err}");
    let (c, _, err) = bpfbox(&["run", &root("examples/xdp_firewall.bpf.o"), "--map-init", "nosuch=x.json"]);
    assert_eq!(c, 2);
    assert!(err.contains("no map named `nosuch`"), "{err}");
    let (c, _, err) = bpfbox(&["run", &root("examples/xdp_firewall.bpf.o"), "--prog", "nope"]);
    assert_eq!(c, 2);
    assert!(err.contains("no program named `nope`"), "{err}");
    let (c, _, err) = bpfbox(&["run", &root("examples/xdp_firewall.bpf.o"), "--data-hex", "0102"]);
    assert_eq!(c, 2);
    assert!(err.contains("14 bytes"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[cfg(feature = "kernel")]
fn kernel_available() -> bool {
    bpfbox_kernel::available_or_skip()
}

#[cfg(not(feature = "kernel"))]
fn kernel_available() -> bool {
    assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI builds the tests with --features kernel");
    println!("SKIP: built without the `kernel` feature (scripts/test.sh turns it on)");
    false
}

/// Every XDP, tc and socket-filter program of the examples and test programs gives the
/// same verdicts, output packets and maps in bpfbox and in the kernel on the standard
/// packet set (IPv4 TCP/UDP/ICMP, IPv6, ARP, a truncated frame, a large packet).
#[test]
fn compare_with_the_kernel_on_the_standard_packets() {
    if !kernel_available() {
        return;
    }
    let pcap = root("examples/traffic.pcap");
    let init = format!("blocklist={}", root("examples/blocklist.json"));
    let mut cases: Vec<Vec<String>> = vec![
        vec![root("examples/xdp_firewall.bpf.o"), "--map-init".into(), init],
        vec![root("examples/proto_counter.bpf.o")],
        vec![root("examples/tc_rewrite.bpf.o")],
    ];
    for (obj, prog) in [
        ("tests/progs/xdp_parse.bpf.o", None),
        ("tests/progs/tc_mark.bpf.o", Some("tc_mark")),
        ("tests/progs/tc_mark.bpf.o", Some("cls_drop_small")),
        ("tests/progs/socket_filter.bpf.o", None),
        ("tests/progs/cgroup_skb.bpf.o", Some("cg_egress")),
        ("tests/progs/cgroup_skb.bpf.o", Some("cg_ingress")),
        ("tests/progs/maps.bpf.o", None),
    ] {
        let mut c = vec![root(obj)];
        if let Some(p) = prog {
            c.push("--prog".into());
            c.push(p.into());
        }
        cases.push(c);
    }
    let mut compared = 0;
    for c in &cases {
        let mut args: Vec<&str> = vec!["run"];
        args.extend(c.iter().map(String::as_str));
        args.extend(["--pcap", &pcap, "--compare", "--json"]);
        let (code, out, err) = bpfbox(&args);
        if code == 2 && err.contains("several programs") {
            panic!("{c:?}: {err}");
        }
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{c:?}: exit {code}: {err}{out}"));
        assert_eq!(v["differences"], Value::Array(vec![]), "{c:?}");
        assert_eq!(code, 0, "{c:?}: {err}");
        compared += 1;
    }
    println!("compare: {compared} programs agree with the kernel on {} packets each", 10);
}

/// `v` without its `duration_ns` fields (timings differ between runs).
fn without_durations(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("duration_ns");
            m.values_mut().for_each(without_durations);
        }
        Value::Array(a) => a.iter_mut().for_each(without_durations),
        _ => {}
    }
}

/// The JSON of `run` with `--engine jit` and with `--engine interp`, durations removed.
fn jit_and_interp(args: &[&str]) -> (Value, Value) {
    let run = |engine: &str| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--engine", engine]);
        let mut v = json(&a);
        without_durations(&mut v);
        v
    };
    (run("jit"), run("interp"))
}

#[test]
fn objects_run_the_same_on_the_jit_as_on_the_interpreter() {
    let pcap = root("examples/traffic.pcap");
    let init = format!("blocklist={}", root("examples/blocklist.json"));
    let fw = root("examples/xdp_firewall.bpf.o");
    let (jit, interp) = jit_and_interp(&["run", &fw, "--pcap", &pcap, "--map-init", &init, "--dump-maps", "--json"]);
    for key in ["packets", "summary", "maps"] {
        assert!(!interp[key].is_null(), "{key}: {interp}");
        assert_eq!(jit[key], interp[key], "xdp_firewall {key}");
    }
    assert_eq!(jit, interp);

    let tc = root("examples/tc_rewrite.bpf.o");
    let (jit, interp) = jit_and_interp(&["run", &tc, "--pcap", &pcap, "--dump-maps", "--json"]);
    assert!(!interp["packets"].is_null(), "{interp}");
    assert_eq!(jit, interp, "tc_rewrite");

    let mut ctx = vec![0u8; 64];
    ctx[8..16].copy_from_slice(&257u64.to_le_bytes());
    ctx[32..40].copy_from_slice(&0x241u64.to_le_bytes());
    let path = std::env::temp_dir().join(format!("bpfbox-tp-ctx-jit-{}", std::process::id()));
    std::fs::write(&path, &ctx).unwrap();
    let rb = root("examples/ringbuf_events.bpf.o");
    let (mut jit, mut interp) = jit_and_interp(&["run", &rb, "--ctx", path.to_str().unwrap(), "--dump-maps", "--json"]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(jit["events"].as_array().map(Vec::len), Some(1), "{jit}");
    // Each run has its own process: mask the pid/tgid (event bytes 0..8, printk's `by PID`).
    for v in [&mut jit, &mut interp] {
        let data = v["events"][0]["data"].as_str().unwrap().to_string();
        v["events"][0]["data"] = Value::from(format!("{}{}", "_".repeat(16), &data[16..]));
        let line = v["printk"][0].as_str().unwrap().to_string();
        let masked: Vec<&str> = line
            .split(' ')
            .scan("", |prev, w| Some(if std::mem::replace(prev, w) == "by" { "PID" } else { w }))
            .collect();
        v["printk"][0] = Value::from(masked.join(" "));
    }
    assert_eq!(jit, interp, "ringbuf_events");
}

/// `run` verifies first: a program the verifier rejects is not run (exit 1, the
/// rendered diagnostic with its source line); `--no-verify` runs it checked, and a
/// packet long enough makes that run succeed.
#[test]
fn run_verifies_first_and_no_verify_runs_checked() {
    let obj = root("tests/verifier/c/pkt_nocheck_bad.o");
    let pkt = "000000000000000000000000080045000014000000004006000000000000000000000000";
    let (code, out, err) = bpfbox(&["run", &obj, "--data-hex", pkt]);
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("rejected by bpfbox's verifier, not run"), "{out}");
    assert!(out.contains("invalid access to packet"), "{out}");
    assert!(out.contains("pkt_nocheck_bad.c:"), "source line missing: {out}");
    assert!(out.contains("--no-verify"), "{out}");
    let (code, out, _) = bpfbox(&["run", &obj, "--data-hex", pkt, "--json"]);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "rejected", "{v}");
    assert_eq!(v["programs"][0]["name"], "prog", "{v}");
    // Unverified: runs, every access checked; byte 13 is 0x00 so XDP_DROP (1).
    for engine in ["interp", "jit"] {
        let v = json(&["run", &obj, "--data-hex", pkt, "--no-verify", "--engine", engine, "--json"]);
        assert_eq!(v["retval"], 1, "{engine}: {v}");
    }
    // Unverified with a 4-byte packet: the read of byte 13 faults instead.
    let (code, out, _) = bpfbox(&["run", &obj, "--data-hex", "00000000", "--no-verify"]);
    assert_ne!(code, 0, "{out}");
}

/// A verified program runs unchecked but for its converted (ctx / kernel pointer)
/// accesses; it must give exactly what the fully checked run (`--no-verify`) gives,
/// on every program of the repository that the verifier accepts, on both engines.
/// In-process (the library behind `bpfbox run`), so that pid and comm are equal.
#[test]
fn verified_runs_equal_checked_runs_on_every_repository_program() {
    use bpfbox_cli::run_obj::{run, Backend, RunObjArgs};
    let pkt =
        "0200000000020200000000010800450000280001400040064e93c0000201c63364079c400050000003e8000000005002ffff232e0000";
    let mut compared = 0;
    for dir in ["examples", "tests/progs", "tests/realworld"] {
        let mut files: Vec<_> = std::fs::read_dir(root(dir))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "o"))
            .collect();
        files.sort();
        for f in files {
            let fs = f.to_string_lossy().to_string();
            let va = bpfbox_cli::verify_cmd::VerifyArgs { file: f.clone(), json: true, ..Default::default() };
            let Ok((out, 0)) = bpfbox_cli::verify_cmd::run(&va) else {
                continue; // unloadable or rejected: `run` refuses it
            };
            let v: Value = serde_json::from_str(&out).unwrap();
            for p in v["programs"].as_array().unwrap() {
                let name = p["name"].as_str().unwrap();
                for jit in [false, true] {
                    let mut a = RunObjArgs {
                        file: f.clone(),
                        prog: Some(name.to_string()),
                        types: vec![],
                        data: None,
                        data_hex: Some(pkt.to_string()),
                        pcap: None,
                        ctx: None,
                        repeat: 1,
                        map_init: vec![],
                        dump_maps: false,
                        out_pcap: None,
                        btf: None,
                        backend: Backend::User,
                        json: true,
                        log: false,
                        jit,
                        verify: true,
                        world: None,
                    };
                    let mut r1 = run(&a);
                    if r1.as_ref().is_err_and(|e| e.to_string().contains("take no data_in")) {
                        a.data_hex = None;
                        r1 = run(&a);
                    }
                    a.verify = false;
                    let r2 = run(&a);
                    let ((o1, c1), (o2, c2)) = match (r1, r2) {
                        (Ok(x), Ok(y)) => (x, y),
                        (Err(x), Err(y)) => {
                            assert_eq!(x.to_string(), y.to_string(), "{fs} {name}");
                            continue;
                        }
                        (x, y) => panic!("{fs} {name} jit={jit}: {x:?} / {y:?}"),
                    };
                    assert_eq!(c1, c2, "{fs} {name} jit={jit}: exit codes differ\n{o1}\n{o2}");
                    let (mut j1, mut j2): (Value, Value) =
                        (serde_json::from_str(&o1).unwrap(), serde_json::from_str(&o2).unwrap());
                    without_durations(&mut j1);
                    without_durations(&mut j2);
                    assert_eq!(j1, j2, "{fs} {name} jit={jit}: verified and checked runs differ");
                    compared += 1;
                }
            }
        }
    }
    eprintln!("verified vs checked: {compared} program runs identical");
    assert!(compared >= 80, "only {compared} programs compared");
}

/// The kernel's programs and maps named `bbx_*` (the test objects'), by id.
#[cfg(feature = "kernel")]
fn bbx_ids() -> (Vec<u32>, Vec<u32>) {
    use bpfbox_kernel::inspect;
    let progs = inspect::prog_list().unwrap().into_iter().filter(|p| p.name.starts_with("bbx_")).map(|p| p.id);
    let maps = inspect::map_list().unwrap().into_iter().filter(|m| m.name.starts_with("bbx_")).map(|m| m.id);
    (progs.collect(), maps.collect())
}

/// Every entry under `dir` (recursively) whose name starts with `prefix`, sorted.
#[cfg(feature = "kernel")]
fn pins_named(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with(prefix) {
            out.push(e.path());
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(pins_named(&e.path(), prefix));
        }
    }
    out.sort();
    out
}

/// `run OBJ --pcap traffic.pcap --dump-maps` twice with `--kernel` and twice with
/// `--compare`: each run's map dump (equal to the first one's), after `check(run)` and
/// after waiting until the kernel's `bbx_*` programs and maps are `before` again.
#[cfg(feature = "kernel")]
fn kernel_runs(obj: &str, before: &(Vec<u32>, Vec<u32>), check: impl Fn(&str)) -> Value {
    let pcap = root("examples/traffic.pcap");
    let mut first: Option<Value> = None;
    for backend in ["--kernel", "--compare"] {
        for round in 0..2 {
            let v = json(&["run", obj, "--pcap", &pcap, backend, "--dump-maps", "--json"]);
            let at = format!("{backend} run {round}");
            if backend == "--compare" {
                assert_eq!(v["differences"], Value::Array(vec![]), "{at}");
            }
            // Packet 0 is the first the maps have seen; the next one finds it counted.
            assert_eq!(v["packets"][0]["action"], "XDP_PASS", "{at}: {v}");
            assert_eq!(v["packets"][1]["action"], "XDP_DROP", "{at}: {v}");
            let maps = first.get_or_insert_with(|| v["maps"].clone());
            assert_eq!(&v["maps"], maps, "{at}: the maps did not start from the object's own");
            kernel_common::eventually(&format!("{at}: the run's programs or maps still loaded"), || {
                bbx_ids() == *before
            });
            check(&at);
        }
    }
    first.unwrap_or_default()
}

/// Issue 13: tests/progs/pinned_maps pins its two maps by name. `run --kernel` and
/// `--compare` start from the object's own maps every time (the second run dumps what
/// the first dumped) and leave nothing behind: no pin anywhere under /sys/fs/bpf, no
/// program, map or link in the kernel's listing. A pin of the same name that was
/// there before (someone else's maps, which libbpf itself would reuse) is neither
/// used nor removed.
#[cfg(feature = "kernel")]
#[test]
fn kernel_runs_start_from_the_objects_maps_and_leave_nothing_behind() {
    use bpfbox_kernel::{attach, inspect, KernelObject, MapPinning, OpenOptions};
    use std::path::Path;
    if !kernel_available() {
        return;
    }
    let _g = kernel_common::serial();
    let obj = root("tests/progs/pinned_maps.bpf.o");
    let bpffs = Path::new("/sys/fs/bpf");
    // Pins of an earlier, interrupted run of this test (bbx_* names are the tests').
    for p in pins_named(bpffs, "bbx_pin_") {
        let _ = attach::detach_pinned(&p);
    }
    kernel_common::assert_no_leaks();
    let fresh = kernel_runs(&obj, &bbx_ids(), |at| {
        assert_eq!(pins_named(bpffs, "bbx_pin_"), Vec::<std::path::PathBuf>::new(), "{at}: pins left behind");
    });
    assert_eq!(fresh[0]["name"], "bbx_pin_count");
    // 10 packets, one too short for BPF_PROG_TEST_RUN (an error, not run).
    assert_eq!(fresh[0]["entries"][0]["formatted_value"], 9, "{fresh}");
    kernel_common::assert_no_leaks();

    // Someone else's maps pinned under the same names as libbpf pins them, 41 packets counted.
    let opts = OpenOptions { map_pinning: MapPinning::ByName, ..Default::default() };
    let theirs = KernelObject::load(Path::new(&obj), &opts).unwrap_or_else(|e| panic!("{e}"));
    theirs.map_update("bbx_pin_count", &0u32.to_le_bytes(), &41u64.to_le_bytes(), 0).unwrap();
    let (pins, their_maps): (Vec<_>, Vec<u32>) = {
        let mut p: Vec<_> = theirs.map_pins().into_iter().map(|(_, p)| p).collect();
        p.sort();
        let ids = p.iter().map(|p| theirs.maps().iter().find(|m| p.ends_with(&m.name)).unwrap().id).collect();
        (p, ids)
    };
    assert_eq!(pins, [bpffs.join("bbx_pin_bytes"), bpffs.join("bbx_pin_count")]);
    drop(theirs);
    let before = bbx_ids();
    let mut stay = their_maps.clone();
    stay.sort();
    assert_eq!(before.1, stay, "only the pinned maps stay");
    let with_pins = kernel_runs(&obj, &before, |at| {
        assert_eq!(pins_named(bpffs, "bbx_pin_"), pins, "{at}: pins other than theirs");
        let ids: Vec<u32> = pins
            .iter()
            .map(|p| match inspect::pinned(p) {
                Ok((_, inspect::PinnedObject::Map(m))) => m.id,
                other => panic!("{at}: {}: {:?}", p.display(), other.map(|(_, o)| o)),
            })
            .collect();
        assert_eq!(ids, their_maps, "{at}: their pins changed");
        let count = bpfbox_kernel::MapHandle::from_id(their_maps[1]).unwrap().lookup(&0u32.to_le_bytes());
        assert_eq!(count.unwrap(), 41u64.to_le_bytes(), "{at}: their map was used");
    });
    assert_eq!(with_pins, fresh);
    for p in &pins {
        attach::detach_pinned(p).unwrap_or_else(|e| panic!("{e}"));
    }
    kernel_common::assert_no_leaks();
}
