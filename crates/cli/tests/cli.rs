//! The `bpfbox` command as a user runs it: happy paths and bad input. Every error is one
//! line naming the file and location, with a non-zero exit code and no panic.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

const BPFBOX: &str = env!("CARGO_BIN_EXE_bpfbox");

fn tmp(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpfbox-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write tmp file");
    p
}

fn bpfbox(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BPFBOX).args(args).output().expect("bpfbox runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn assert_one_line_error(args: &[&str], code: i32, needle: &str) {
    let (c, _out, err) = bpfbox(args);
    assert_eq!(c, code, "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: expected one line, got {err}");
    assert!(err.contains(needle), "{args:?}: {err:?} does not mention {needle:?}");
}

fn example(p: &str) -> String {
    format!("{}/../../{p}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn runs_the_examples() {
    let (c, out, err) = bpfbox(&["run", &example("examples/asm/primes.s")]);
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("retval: 0xa8 (168)"), "{out}");
    let (c, out, _) =
        bpfbox(&["run", &example("examples/asm/checksum.ubpf"), "--mem", "45 00 00 3c 1c 46 40 00", "--json"]);
    assert_eq!(c, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["retval"], 0x4500 + 0x003c + 0x1c46 + 0x4000);
    assert_eq!(v["data_out"], "4500003c1c464000");
    assert!(v["duration_ns"].is_u64() && v["insns_executed"].as_u64().unwrap_or(0) > 10);
}

#[test]
fn asm_then_disasm_then_run() {
    let src = tmp("p.s", b"r0 = 7\nr0 *= 6\nexit\n");
    let bin = src.with_extension("bin");
    let (c, _, err) = bpfbox(&["asm", src.to_str().unwrap(), "-o", bin.to_str().unwrap()]);
    assert_eq!(c, 0, "{err}");
    assert_eq!(std::fs::read(&bin).unwrap().len(), 24);
    let (c, out, _) = bpfbox(&["disasm", bin.to_str().unwrap()]);
    assert_eq!(c, 0);
    assert!(out.contains("r0 = 0x7") && out.contains("r0 *= 0x6") && out.contains("exit"), "{out}");
    let (c, out, _) = bpfbox(&["disasm", bin.to_str().unwrap(), "--syntax", "ubpf"]);
    assert_eq!(c, 0);
    assert!(out.contains("mov %r0, 7"), "{out}");
    for engine in ["interp", "jit"] {
        let (c, out, _) = bpfbox(&["run", bin.to_str().unwrap(), "--json", "--engine", engine]);
        assert_eq!(c, 0);
        assert!(out.contains("\"retval\":42"), "{engine}: {out}");
    }
}

#[test]
fn bad_input_gets_one_line_errors() {
    let empty = tmp("empty.bin", b"");
    assert_one_line_error(&["run", empty.to_str().unwrap()], 2, "empty");
    assert_one_line_error(&["disasm", empty.to_str().unwrap()], 2, "empty");
    let trunc = tmp("trunc.bin", &[0x95, 0, 0, 0, 0]);
    assert_one_line_error(&["disasm", trunc.to_str().unwrap()], 2, "not a multiple of 8");
    let lddw = tmp("lddw.bin", &[0x18, 0, 0, 0, 1, 0, 0, 0]);
    assert_one_line_error(&["disasm", lddw.to_str().unwrap()], 2, "instruction 0: lddw is truncated");
    let random =
        tmp("random.bin", &[0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 1, 2, 3]);
    assert_one_line_error(&["run", random.to_str().unwrap()], 2, "instruction 0");
    let mnem = tmp("mnem.s", b"r0 = 1\nfrobnicate r0\nexit\n");
    assert_one_line_error(&["asm", mnem.to_str().unwrap()], 2, "line 2");
    let imm = tmp("imm.ubpf", b"mov32 %r0, 0x100000000\nexit\n");
    assert_one_line_error(&["asm", imm.to_str().unwrap()], 2, "line 1: immediate `0x100000000` out of 32-bit range");
    let jump = tmp("jump.s", b"goto +5\nexit\n");
    assert_one_line_error(&["run", jump.to_str().unwrap()], 2, "instruction 0: jump to 6 is out of the program");
    let missing = "/nonexistent/prog.bin";
    assert_one_line_error(&["run", missing], 2, "/nonexistent/prog.bin");
    let notelf = tmp("bad.o", b"\x7fELF\x02\x01\x01garbage");
    assert_one_line_error(&["disasm", notelf.to_str().unwrap()], 2, "bad.o");
    let (c, _, err) = bpfbox(&["run", "--bogus-flag", "x"]);
    assert_eq!(c, 2, "{err}");
    let (c, _, err) = bpfbox(&["run", empty.to_str().unwrap(), "--mem", "xyz"]);
    assert_eq!(c, 2, "{err}");
}

#[test]
fn runtime_faults_exit_1_naming_pc_and_address() {
    // r1 = 0x1000; r0 = *(u64 *)(r1 + 0); exit  -> out-of-bounds read in checked mode.
    let p = tmp("oob.s", b"r1 = 0x1000\nr0 = *(u64 *)(r1 + 0x0)\nexit\n");
    for engine in ["interp", "jit"] {
        let (c, out, err) = bpfbox(&["run", p.to_str().unwrap(), "--engine", engine]);
        assert_eq!(c, 1, "{out}{err}");
        assert!(out.contains("0x1000") && (out.contains("pc 1") || out.contains("instruction 1")), "{engine}: {out}");
    }
    // A runaway loop stops at the budget.
    let p = tmp("loop.s", b"goto -1\nexit\n");
    let (c, out, _) = bpfbox(&["run", p.to_str().unwrap(), "--max-insns", "1000"]);
    assert_eq!(c, 1);
    assert!(out.contains("1000"), "{out}");
}

/// `verify --kernel-facts FILE` verifies against that kernel build's helper table and
/// says so; a bad facts file is unusable input naming the line.
#[test]
fn verify_uses_the_kernel_facts_it_is_given() {
    use bpfbox_abi::kernel_facts::KernelFacts;
    let fw = example("examples/xdp_firewall.bpf.o");
    // The committed facts accept the firewall (it calls bpf_map_lookup_elem#1).
    let (c, out, err) = bpfbox(&["verify", &fw, "--kernel-facts", "committed"]);
    assert_eq!(c, 0, "{out}{err}");
    assert!(err.contains("kernel facts: committed with bpfbox (Linux "), "{err}");
    // A kernel build whose XDP programs may not call bpf_map_lookup_elem.
    let mut f = KernelFacts::committed().clone();
    f.stamp.release = "9.9.9-test".into();
    for r in f.helpers.rows.iter_mut().filter(|r| r.prog_type.name() == "xdp") {
        r.ok[0] &= !(1 << 1);
    }
    let file = tmp("no-lookup.facts", f.to_text("test").as_bytes());
    let file = file.to_string_lossy();
    let (c, out, err) = bpfbox(&["verify", &fw, "--kernel-facts", &file]);
    assert_eq!(c, 1, "{out}{err}");
    assert!(out.contains("program of this type cannot use helper bpf_map_lookup_elem#1"), "{out}");
    assert!(err.contains("kernel facts: from ") && err.contains("Linux 9.9.9-test"), "{err}");
    let (c, out, _) = bpfbox(&["verify", &fw, "--kernel-facts", &file, "--json"]);
    assert_eq!(c, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["kernel_facts"]["source"], "file");
    assert_eq!(v["kernel_facts"]["release"], "9.9.9-test");
    // Load flags: known ones change the rules, unknown ones are bad usage.
    let (c, _, err) = bpfbox(&["verify", &fw, "--flags", "strict-alignment,test-state-freq"]);
    assert_eq!(c, 0, "{err}");
    assert_one_line_error(&["verify", &fw, "--flags", "strict-alignment,nope"], 2, "unknown flag `nope`");
    // Unusable facts files: exit 2, one line naming the file and the line.
    let bad = tmp("bad.facts", b"release x\nhelpers 6 37 0 ok=1 sleep=0 probe=0\n");
    assert_one_line_error(&["verify", &fw, "--kernel-facts", &bad.to_string_lossy()], 2, "kernel facts: line 2");
}

/// `bpfbox` alone prints a short usage naming the main verbs and an example; `--version`
/// names the commit.
#[test]
fn bare_command_and_version() {
    let (c, out, err) = bpfbox(&[]);
    assert_eq!(c, 2, "{out}");
    for verb in ["run", "verify", "disasm", "asm", "example:", "bpfbox run examples/xdp_firewall.bpf.o"] {
        assert!(err.contains(verb), "no `{verb}` in\n{err}");
    }
    assert!(err.lines().count() < 25, "{err}");
    let (c, out, _) = bpfbox(&["--version"]);
    assert_eq!(c, 0);
    assert!(out.starts_with(&format!("bpfbox {} (commit ", env!("CARGO_PKG_VERSION"))), "{out}");
    assert!(out.contains("kernel backend: "), "{out}");
}

/// Without the kernel backend, the kernel verbs and flags name the feature (exit 2).
#[cfg(not(feature = "kernel"))]
#[test]
fn kernel_verbs_name_the_missing_feature() {
    assert_one_line_error(&["prog", "list"], 2, "--features kernel");
    assert_one_line_error(
        &["run", &example("examples/xdp_firewall.bpf.o"), "--data-hex", &"00".repeat(60), "--kernel"],
        2,
        "--kernel needs the kernel backend",
    );
}

/// tc_classifier.bpf.o with the second instruction of `tc_mark_limit` broken (opcode
/// 0xff), written to a temporary file.
fn object_with_an_undecodable_program() -> PathBuf {
    let bytes = std::fs::read(example("tests/realworld/tc_classifier.bpf.o")).expect("object");
    let obj = bpfbox_object::load(&bytes, &Default::default()).expect("loads");
    let victim = obj.program("tc_mark_limit").expect("tc_mark_limit");
    let head = bpfbox_isa::encode_program(&victim.insns[..2]);
    let at: Vec<usize> = bytes.windows(16).enumerate().filter(|(_, w)| *w == &head[..]).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1);
    let mut broken = bytes;
    broken[at[0] + 8] = 0xff;
    tmp("undecodable.bpf.o", &broken)
}

/// One program whose code cannot be decoded does not sink the object: `verify`
/// reports it and verifies the others, `run --prog` runs another one and refuses it by
/// name.
#[test]
fn one_unreadable_program_does_not_sink_the_others() {
    let file = object_with_an_undecodable_program();
    let file = file.to_string_lossy();
    let (c, out, _) = bpfbox(&["verify", &file]);
    assert_eq!(c, 1, "{out}");
    assert!(out.contains("tc_dnat (tc/ingress): accepted"), "{out}");
    assert!(out.contains("tc_mark_limit (tc/egress): cannot be read"), "{out}");
    assert!(out.contains("instruction 1"), "{out}");
    let (c, out, _) = bpfbox(&["verify", &file, "--prog", "tc_dnat"]);
    assert_eq!(c, 0, "{out}");
    let (c, out, _) = bpfbox(&["verify", &file, "--json"]);
    assert_eq!(c, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let bad: Vec<&serde_json::Value> =
        v["programs"].as_array().expect("programs").iter().filter(|p| p["verdict"] == "unreadable").collect();
    assert_eq!(bad.len(), 1, "{out}");
    assert_eq!(bad[0]["name"], "tc_mark_limit");
    let packet = "00".repeat(60);
    let (c, out, err) = bpfbox(&["run", &file, "--prog", "tc_pass", "--data-hex", &packet]);
    assert_eq!(c, 0, "{out}{err}");
    assert_one_line_error(&["run", &file, "--prog", "tc_mark_limit", "--data-hex", &packet], 2, "cannot be run");
}

/// `run --kernel --prog X` loads only X (the others' autoload off), as the kernel
/// would refuse the broken program and, with it, the whole object.
#[cfg(feature = "kernel")]
#[test]
fn kernel_runs_load_only_the_program_asked_for() {
    if !bpfbox_kernel::available_or_skip() {
        return;
    }
    let file = object_with_an_undecodable_program();
    let file = file.to_string_lossy();
    let packet = "00".repeat(60);
    let (c, out, err) = bpfbox(&["run", &file, "--prog", "tc_pass", "--data-hex", &packet, "--kernel", "--json"]);
    assert_eq!(c, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(v["retval"].is_number(), "{out}");
    // Asked for the broken one, the kernel refuses it (exit 1), naming it.
    let (c, out, err) = bpfbox(&["run", &file, "--prog", "tc_mark_limit", "--data-hex", &packet, "--kernel"]);
    assert_ne!(c, 0, "{out}{err}");
}
