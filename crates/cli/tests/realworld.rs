//! The real-world-style objects of tests/realworld (libbpf-tools, xdp-tutorial and Katran
//! style, CO-RE against the host's vmlinux BTF) load and run in user space: packet
//! programs on the standard packet set (compared with the kernel where it can run
//! them), tracing programs on a synthetic all-zero context.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

const BPFBOX: &str = env!("CARGO_BIN_EXE_bpfbox");

fn root(p: &str) -> String {
    format!("{}/../../{p}", env!("CARGO_MANIFEST_DIR"))
}

/// Programs bpfbox cannot run yet, with the reason (each is refused with a clear error).
const NOT_RUNNABLE: &[(&str, &str, &str)] = &[
    ("sockops_rtt", "tcp_rtt", "sock_ops helpers are not implemented"),
    ("task_iter", "dump_task", "bpf_seq_printf (iterators) is not implemented"),
    ("task_iter", "dump_vma", "bpf_seq_printf (iterators) is not implemented"),
    ("tcp_ca", "bpfbox_init", "struct_ops contexts are not modelled"),
    ("tcp_ca", "bpfbox_ssthresh", "struct_ops contexts are not modelled"),
    ("tcp_ca", "bpfbox_cong_avoid", "struct_ops contexts are not modelled"),
];

fn programs(obj: &Path) -> Vec<(String, Option<u32>)> {
    let bytes = std::fs::read(obj).unwrap();
    let btf = std::fs::read("/sys/kernel/btf/vmlinux").ok().and_then(|b| bpfbox_object::btf::Btf::parse(&b).ok());
    let opts = bpfbox_object::LoadOptions { target_btf: btf.map(std::sync::Arc::new), ..Default::default() };
    let loaded = bpfbox_object::load(&bytes, &opts).unwrap_or_else(|e| panic!("{}: {e}", obj.display()));
    loaded.programs.iter().map(|p| (p.name.clone(), p.prog_type.map(|t| t.number()))).collect()
}

#[test]
fn realworld_programs_run_in_user_space() {
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "no /sys/kernel/btf/vmlinux in CI");
        println!("SKIP: /sys/kernel/btf/vmlinux is missing (CO-RE objects need a target BTF)");
        return;
    }
    #[cfg(feature = "kernel")]
    let kernel = bpfbox_kernel::availability().is_ok();
    #[cfg(not(feature = "kernel"))]
    let kernel = false;
    let ctx = std::env::temp_dir().join(format!("bpfbox-zero-ctx-{}", std::process::id()));
    std::fs::write(&ctx, [0u8; 64]).unwrap();
    let pcap = root("examples/traffic.pcap");
    let mut objs: Vec<_> = std::fs::read_dir(root("tests/realworld")).unwrap().map(|e| e.unwrap().path()).collect();
    objs.retain(|p| p.to_string_lossy().ends_with(".bpf.o"));
    objs.sort();
    let (mut ran, mut compared, mut refused) = (0, 0, 0);
    for obj in &objs {
        let stem = obj.file_name().unwrap().to_string_lossy().trim_end_matches(".bpf.o").to_string();
        for (prog, ty) in programs(obj) {
            let packet = matches!(ty, Some(1 | 3 | 4 | 6 | 8)); // socket_filter, sched_cls, sched_act, xdp, cgroup_skb
            let mut args = vec![
                "run".to_string(),
                obj.to_string_lossy().into_owned(),
                "--prog".into(),
                prog.clone(),
                "--json".into(),
            ];
            if packet {
                args.extend(["--pcap".into(), pcap.clone()]);
                if kernel {
                    args.push("--compare".into());
                }
            } else if ty.is_some() {
                args.extend(["--ctx".into(), ctx.to_string_lossy().into_owned()]);
            } else {
                continue; // no program type: needs --type
            }
            let o = Command::new(BPFBOX).args(&args).output().unwrap();
            let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            if let Some((_, _, why)) = NOT_RUNNABLE.iter().find(|(s, p, _)| *s == stem && *p == prog) {
                assert_ne!(o.status.code(), Some(0), "{stem}/{prog} now runs: remove it from NOT_RUNNABLE ({why})");
                assert!(!err.contains("panicked"), "{stem}/{prog}: {err}");
                refused += 1;
                continue;
            }
            assert_eq!(o.status.code(), Some(0), "{stem}/{prog}: {err}{out}");
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            if packet {
                let pkts = v["packets"].as_array().unwrap();
                let errors: Vec<&str> = pkts.iter().filter_map(|p| p.get("error").and_then(|e| e.as_str())).collect();
                // Only the truncated frame is refused, except for programs the kernel
                // never test-runs (XDP programs for devmap/cpumap entries).
                let devmap = errors.len() == pkts.len() && errors.iter().all(|e| e.contains("devmap/cpumap"));
                assert!(errors.len() == 1 || devmap, "{stem}/{prog}: {v}");
                if kernel {
                    assert_eq!(v["differences"], serde_json::json!([]), "{stem}/{prog}");
                    compared += 1;
                }
            }
            ran += 1;
        }
    }
    let _ = std::fs::remove_file(&ctx);
    println!(
        "realworld: {} objects, {ran} programs ran in user space ({compared} of them compared with the kernel), {refused} refused as expected",
        objs.len()
    );
    assert!(objs.len() >= 20 && ran >= 60, "{} objects, {ran} programs", objs.len());
}
