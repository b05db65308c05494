//! `bpfbox attach` against real hooks: a veth pair in network namespaces the test makes
//! (xdp, tc), tracepoints fired by a process the test starts, a uprobe on a helper
//! binary the test builds (ring buffer, perf buffer, trace_pipe), perf events, cgroups;
//! pinning and `bpfbox detach`. After every test nothing of it remains in the kernel.

#![cfg(feature = "kernel")] // scripts/test.sh builds the tests with the kernel backend
#![allow(clippy::unwrap_used)]

mod kernel_common;

use kernel_common::*;
use serde_json::Value;
use std::process::{Command, Stdio};

fn count_for_pid(entries: &[(Vec<u8>, Vec<u8>)], pid: u32) -> u64 {
    entries.iter().find(|(k, _)| u32_at(k, 0) == pid).map(|(_, v)| u64_at(v, 0)).unwrap_or(0)
}

fn xdp_counts_udp(mode: &str) {
    let net = NetnsPair::new(&format!("xdp{}", &mode[..1]));
    let a = Attached::start(&[
        &kobj("net_count.bpf.o"),
        "--prog",
        "bbx_xdp_udp",
        "xdp",
        "bbxb",
        "--mode",
        mode,
        "--netns",
        &net.b,
        "--dump-maps",
        "--duration",
        "30",
    ])
    .unwrap();
    assert!(a.attached["link_ids"].as_array().is_some_and(|l| l.len() == 1), "{}", a.attached);
    let (_, out, _) = sh("ip", &["-n", &net.b, "link", "show", "bbxb"]);
    assert!(
        out.contains(if mode == "generic" { "xdpgeneric" } else { "xdp qdisc" }) && out.contains("prog/xdp"),
        "{out}"
    );
    net.udp_a_to_b(9, 20);
    let (lines, code, err) = a.stop();
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines.iter().filter(|l| l["event"] == "detached").count(), 1);
    let hits = map_entries(&lines, "bbx_net_hits");
    assert!(slot(&hits, 0) >= 20, "xdp saw {} udp packets: {hits:?}", slot(&hits, 0));
    let (_, out, _) = sh("ip", &["-n", &net.b, "link", "show", "bbxb"]);
    assert!(!out.contains("prog/xdp"), "still attached: {out}");
}

#[test]
fn xdp_generic_and_driver_mode_count_udp_on_a_veth() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    xdp_counts_udp("generic");
    xdp_counts_udp("driver");
    assert_no_leaks();
}

#[test]
fn tc_ingress_and_egress_count_and_remove_their_qdisc() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let net = NetnsPair::new("tc");
    for (ns, dev, dir) in [(&net.b, "bbxb", "ingress"), (&net.a, "bbxa", "egress")] {
        let a = Attached::start(&[
            &kobj("net_count.bpf.o"),
            "--prog",
            "bbx_tc_count",
            "tc",
            dev,
            dir,
            "--netns",
            ns,
            "--dump-maps",
            "--duration",
            "30",
        ])
        .unwrap();
        assert!(net.qdiscs(ns, dev).contains("clsact"));
        let (_, filters, _) = sh("ip", &["netns", "exec", ns, "tc", "filter", "show", "dev", dev, dir]);
        assert!(filters.contains("bbx_tc_count"), "{filters}");
        net.udp_a_to_b(5353, 20);
        let (lines, code, err) = a.stop();
        assert_eq!(code, 0, "{err}");
        let hits = map_entries(&lines, "bbx_net_hits");
        assert!(slot(&hits, 1) >= 20, "tc {dir} saw {} IPv4 packets", slot(&hits, 1));
        assert!(!net.qdiscs(ns, dev).contains("clsact"), "clsact left on {dev}: {}", net.qdiscs(ns, dev));
    }
    drop(net);
    assert_no_leaks();
}

/// The acceptance test: a tracepoint counting sys_enter by pid shows the count of a
/// process the test starts.
#[test]
fn tracepoint_and_raw_tracepoint_count_syscalls_of_a_child_by_pid() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let bin = probe_target();
    for (prog, target, map) in [
        ("bbx_tp_sys_enter", vec!["tracepoint", "raw_syscalls:sys_enter"], "bbx_tp_counts"),
        ("bbx_rtp_sys_enter", vec!["raw_tracepoint"], "bbx_raw_counts"),
    ] {
        let mut args = vec![kobj("trace_count.bpf.o"), "--prog".into(), prog.into()];
        args.extend(target.iter().map(|s| s.to_string()));
        args.extend(["--dump-maps".into(), "--duration".into(), "30".into()]);
        let a = Attached::start(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let out = Command::new(&bin).args(["syscalls", "500"]).stdout(Stdio::null()).spawn().unwrap();
        let pid = out.id();
        let st = { out }.wait().unwrap();
        assert!(st.success());
        let (lines, code, err) = a.stop();
        assert_eq!(code, 0, "{err}");
        let counts = map_entries(&lines, map);
        let n = count_for_pid(&counts, pid);
        assert!(n >= 500, "{prog}: pid {pid} made at least 500 syscalls, counted {n}");
        println!("{prog}: pid {pid}: {n} sys_enter events");
    }
    assert_no_leaks();
}

/// The acceptance test: ring-buffer events checked field by field (and the trace_pipe
/// lines and the uretprobe's perf-buffer events).
#[test]
fn uprobe_streams_ring_buffer_events_and_trace_lines_uretprobe_perf_events() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let bin = probe_target();
    let target = format!("{}:bbx_probe_target", bin.display());
    let a = Attached::start(&[&kobj("events.bpf.o"), "--prog", "bbx_uprobe", "uprobe", &target, "--duration", "30"])
        .unwrap();
    let child = Command::new(&bin).args(["call", "5"]).stdout(Stdio::null()).spawn().unwrap();
    let pid = child.id();
    assert!({ child }.wait_with_output().unwrap().status.success());
    // Wait for the 5 events (and the trace lines) before stopping.
    let mut lines: Vec<Value> = Vec::new();
    let start = std::time::Instant::now();
    while lines.iter().filter(|l| l["event"] == "trace").count() < 5 && start.elapsed().as_secs() < 10 {
        if let Ok(l) = a.lines.recv_timeout(std::time::Duration::from_millis(200)) {
            lines.push(serde_json::from_str(&l).unwrap());
        }
    }
    let (rest, code, err) = a.stop();
    assert_eq!(code, 0, "{err}");
    lines.extend(rest);
    let events: Vec<Vec<u8>> = lines
        .iter()
        .filter(|l| l["event"] == "ringbuf" && l["map"] == "bbx_events")
        .map(|l| unhex(l["data"].as_str().unwrap()))
        .collect();
    assert_eq!(events.len(), 5, "{lines:?}");
    for (i, e) in events.iter().enumerate() {
        let k = i as u64 + 1;
        // struct bbx_event { u32 pid, tid; u64 a, b; u32 kind, seq; char comm[16]; }
        assert_eq!(e.len(), 48);
        assert_eq!(u32_at(e, 0), pid, "pid");
        assert_eq!(u32_at(e, 4), pid, "tid (single-threaded)");
        assert_eq!(u64_at(e, 8), k, "first argument");
        assert_eq!(u64_at(e, 16), 7 * k, "second argument");
        assert_eq!(u32_at(e, 24), 1, "kind: entry");
        assert_eq!(u32_at(e, 28), i as u32, "sequence number");
        // comm: the executable's name, truncated to 15 bytes and NUL-terminated.
        let name = bin.file_name().unwrap().to_string_lossy().into_owned();
        let want: Vec<u8> = name.bytes().take(15).collect();
        assert_eq!(&e[32..32 + want.len()], &want[..], "comm");
        assert_eq!(e[32 + want.len()], 0);
    }
    let traces: Vec<&str> =
        lines.iter().filter(|l| l["event"] == "trace").map(|l| l["message"].as_str().unwrap()).collect();
    for k in 1..=5 {
        let want = format!("bbx uprobe a={k} b={}", 7 * k);
        assert!(traces.iter().any(|t| *t == want), "no trace line `{want}` in {traces:?}");
    }

    // The uretprobe sends the return value (a * 1000 + b) through a perf buffer.
    let a = Attached::start(&[
        &kobj("events.bpf.o"),
        "--prog",
        "bbx_uretprobe",
        "uprobe",
        &target,
        "--ret",
        "--duration",
        "30",
    ])
    .unwrap();
    let child = Command::new(&bin).args(["call", "3"]).stdout(Stdio::null()).spawn().unwrap();
    let pid = child.id();
    assert!({ child }.wait_with_output().unwrap().status.success());
    let mut lines: Vec<Value> = Vec::new();
    let start = std::time::Instant::now();
    while lines.len() < 3 && start.elapsed().as_secs() < 10 {
        if let Ok(l) = a.lines.recv_timeout(std::time::Duration::from_millis(200)) {
            lines.push(serde_json::from_str(&l).unwrap());
        }
    }
    let (rest, code, err) = a.stop();
    assert_eq!(code, 0, "{err}");
    lines.extend(rest);
    let mut rets: Vec<u64> = lines
        .iter()
        .filter(|l| l["event"] == "perf" && l["map"] == "bbx_perf_out")
        .map(|l| unhex(l["data"].as_str().unwrap()))
        .inspect(|e| {
            assert_eq!(u32_at(e, 0), pid);
            assert_eq!(u32_at(e, 24), 2, "kind: return");
        })
        .map(|e| u64_at(&e, 8))
        .collect();
    rets.sort();
    assert_eq!(rets, vec![1007, 2014, 3021]);
    assert_no_leaks();
}

#[test]
fn perf_event_samples_a_spinning_child() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let a = Attached::start(&[
        &kobj("trace_count.bpf.o"),
        "--prog",
        "bbx_perf_tick",
        "perf_event",
        "software:cpu-clock",
        "--freq",
        "1000",
        "--dump-maps",
        "--duration",
        "30",
    ])
    .unwrap();
    assert!(!a.attached["link_ids"].as_array().unwrap().is_empty());
    let child = Command::new(probe_target()).args(["spin", "300"]).stdout(Stdio::null()).spawn().unwrap();
    let pid = child.id();
    assert!({ child }.wait_with_output().unwrap().status.success());
    let (lines, code, err) = a.stop();
    assert_eq!(code, 0, "{err}");
    let n = count_for_pid(&map_entries(&lines, "bbx_perf_counts"), pid);
    // 300 ms at 1000 Hz: about 300 samples; be generous with a busy machine.
    assert!(n >= 30, "cpu-clock samples of the spinning child: {n}");
    // Hardware events may not exist in a VM: a clear error, not a crash.
    let (code, _, err) = bpfbox(&[
        "attach",
        &kobj("trace_count.bpf.o"),
        "--prog",
        "bbx_perf_tick",
        "perf_event",
        "hardware:cycles",
        "--duration",
        "0",
    ]);
    assert!(code == 0 || (code == 1 && err.contains("perf_event_open")), "{code}: {err}");
    assert_no_leaks();
}

#[test]
fn cgroup_skb_and_cgroup_sock_see_a_child_in_a_test_cgroup() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let Some(cg) = TestCgroup::new("cg") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("no cgroup v2 hierarchy");
        }
        println!("SKIP: no cgroup v2 hierarchy mounted");
        return;
    };
    let path = cg.path.display().to_string();
    let a = Attached::start(&[
        &kobj("net_count.bpf.o"),
        "--prog",
        "bbx_cg_skb",
        "cgroup_skb",
        &path,
        "egress",
        "--dump-maps",
        "--duration",
        "30",
    ])
    .unwrap();
    cg.run(&["udp", "127.0.0.1", "9", "6"]);
    let (lines, code, err) = a.stop();
    assert_eq!(code, 0, "{err}");
    assert!(slot(&map_entries(&lines, "bbx_net_hits"), 2) >= 6);

    let a = Attached::start(&[
        &kobj("net_count.bpf.o"),
        "--prog",
        "bbx_sock_create",
        "cgroup_sock",
        &path,
        "--dump-maps",
        "--duration",
        "30",
    ])
    .unwrap();
    cg.run(&["sockets", "7"]);
    let (lines, code, err) = a.stop();
    assert_eq!(code, 0, "{err}");
    assert_eq!(slot(&map_entries(&lines, "bbx_net_hits"), 3), 7);
    drop(cg);
    assert_no_leaks();
}

#[test]
fn pinned_attachments_outlive_bpfbox_until_detach() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let net = NetnsPair::new("pin");
    let dir = format!("/sys/fs/bpf/{}", unique("pin"));
    let (code, out, err) = bpfbox(&[
        "attach",
        &kobj("net_count.bpf.o"),
        "--prog",
        "bbx_xdp_udp",
        "xdp",
        "bbxb",
        "--netns",
        &net.b,
        "--pin",
        &dir,
        "--duration",
        "0",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let link_id = first["link_ids"][0].as_u64().unwrap() as u32;
    // The process is gone; the link, its program and the pinned map stay.
    assert!(std::path::Path::new(&dir).join("link").exists());
    assert!(bpfbox_kernel::inspect::link_list().unwrap().iter().any(|l| l.id == link_id));
    let (_, show, _) = sh("ip", &["-n", &net.b, "link", "show", "bbxb"]);
    assert!(show.contains("prog/xdp"), "{show}");
    // Traffic is still counted, visible through the pinned map.
    net.udp_a_to_b(9, 5);
    let (code, dump, err) = bpfbox(&["map", "dump", "pinned", &format!("{dir}/maps/bbx_net_hits"), "--json"]);
    assert_eq!(code, 0, "{err}");
    let dump: Value = serde_json::from_str(&dump).unwrap();
    let udp = dump
        .as_array()
        .unwrap()
        .iter()
        .find(|e| bytes(&e["key"]) == [0, 0, 0, 0])
        .map(|e| u64_at(&bytes(&e["value"]), 0))
        .unwrap();
    assert!(udp >= 5, "{udp}");
    let (code, out, err) = bpfbox(&["detach", &dir]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("detached link id {link_id}")), "{out}");
    assert!(!std::path::Path::new(&dir).exists());
    let (_, show, _) = sh("ip", &["-n", &net.b, "link", "show", "bbxb"]);
    assert!(!show.contains("prog/xdp"), "{show}");
    drop(net);
    assert_no_leaks();
}

fn one_line_error(args: &[&str], code: i32, needle: &str) -> String {
    let (c, out, err) = bpfbox(args);
    assert_eq!(c, code, "{args:?}: {out}{err}");
    let first = err.lines().next().unwrap_or("");
    assert!(first.starts_with("bpfbox: error: ") && first.contains(needle), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn errors_a_new_user_meets() {
    if !kernel_available() {
        return;
    }
    let _g = serial();
    let net = kobj("net_count.bpf.o");
    one_line_error(
        &["attach", &net, "--prog", "bbx_xdp_udp", "xdp", "no-such-if0"],
        2,
        "no network interface named `no-such-if0`",
    );
    one_line_error(
        &["attach", &net, "--prog", "bbx_cg_skb", "cgroup_skb", "/no/such/cgroup", "egress"],
        2,
        "/no/such/cgroup: not a cgroup v2 directory",
    );
    one_line_error(
        &["attach", &net, "--prog", "bbx_cg_skb", "cgroup_skb", "/tmp", "egress"],
        2,
        "not a cgroup v2 directory",
    );
    one_line_error(
        &["attach", &net, "--prog", "bbx_tc_count", "xdp", "lo"],
        2,
        "has type sched_cls, which cannot attach to a xdp target",
    );
    one_line_error(&["attach", &net, "--prog", "nope", "xdp", "lo"], 2, "no program named `nope`");
    one_line_error(&["attach", &net, "--prog", "bbx_xdp_udp", "warp", "lo"], 2, "unknown target kind `warp`");
    one_line_error(&["attach", &net, "--prog", "bbx_xdp_udp", "tc", "lo", "sideways"], 2, "not ingress or egress");
    one_line_error(
        &["attach", &kobj("events.bpf.o"), "--prog", "bbx_uprobe", "uprobe", "/no/such/binary:main"],
        2,
        "no such file",
    );
    one_line_error(
        &[
            "attach",
            &kobj("events.bpf.o"),
            "--prog",
            "bbx_uprobe",
            "uprobe",
            &format!("{}:no_such_symbol", probe_target().display()),
        ],
        2,
        "no symbol `no_such_symbol`",
    );
    one_line_error(
        &["attach", &kobj("trace_count.bpf.o"), "--prog", "bbx_tp_sys_enter", "tracepoint", "nosuch:event"],
        2,
        "no tracepoint nosuch:event",
    );
    one_line_error(&["load", "/no/such.o"], 2, "/no/such.o");
    one_line_error(&["load", &kobj("net_count.bpf.c")], 2, "not a loadable BPF object");
    one_line_error(&["load", &net, "--type", "bbx_xdp_udp"], 2, "expected PROG=TYPE");
    // The verifier: exit 1, the errno, program, section and the end of the log.
    let err = one_line_error(
        &["load", &kobj("bad_verifier.bpf.o")],
        1,
        "the kernel verifier rejected program `bbx_bad_xdp` (section `xdp`, type xdp): EACCES",
    );
    assert!(err.contains("invalid access to packet"), "{err}");
    let (_, _, full) = bpfbox(&["load", &kobj("bad_verifier.bpf.o"), "--log"]);
    assert!(full.contains("verifier log:\n0: R1=ctx() R10=fp0"), "{full}");
    // Not root: run the binary as nobody.
    let (c, _, err) = sh("setpriv", &["--reuid=65534", "--regid=65534", "--clear-groups", BPFBOX, "prog", "list"]);
    if c != 127 && !err.contains("setpriv:") {
        assert_eq!(c, 2, "{err}");
        assert!(err.starts_with("bpfbox: error: the kernel backend is unavailable: bpf() needs root"), "{err}");
    }
    assert_no_leaks();
}
