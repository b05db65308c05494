//! bpfbox's `--log` against the kernel's verifier log (level 2), line by line, on
//! a few simple objects of `tests/verifier/c/`.
//!
//! Compared, for every instruction both logs print: the instruction line up to the
//! state column (`5: (2d) if r3 > r2 goto pc+4          ;` — the instruction in the
//! kernel's syntax and the `;` at the kernel's column) must be identical; the
//! registers printed after it (first visit of the instruction) must be identical
//! wherever both print the register, but for the kernel's precision marks (`P`),
//! which bpfbox does not track. The header (`func#0 @0`) and the initial state line
//! must match too, and so must the block of live registers before each instruction
//! (`Live regs before insn:`). Where the kernel logged precision backtracking between an
//! instruction and its state, only the instruction text is compared. `lddw` of a map prints the kernel's address on one side and
//! `map[idx:N]` on the other: only `(18) rN = ` is compared there.

use bpfbox_object::{load, LoadOptions};
use bpfbox_verifier::object::input_with_kernel_btf;
use bpfbox_verifier::{verify, KernelBtf, VerifyOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// bpfbox's log of the object's only program, verified as `bpfbox verify` does.
fn bpfbox_log(path: &Path) -> String {
    let data = std::fs::read(path).expect("object");
    let btf = std::fs::read("/sys/kernel/btf/vmlinux")
        .ok()
        .and_then(|b| bpfbox_object::btf::Btf::parse_vec(b).ok())
        .map(Arc::new);
    let kernel_version = bpfbox_object::running_kernel_version().unwrap_or(0);
    let opts = LoadOptions { target_btf: btf.clone(), kernel_version, ..Default::default() };
    let obj = load(&data, &opts).expect("loads");
    let p = &obj.programs[0];
    let input = input_with_kernel_btf(&obj, p, btf.map(KernelBtf::new).as_ref()).expect("known type");
    let r = verify(&input, &VerifyOptions { log: true, ..VerifyOptions::default() });
    assert!(r.accepted(), "{}: {:?}", path.display(), r.diagnostics);
    r.log.expect("log asked for")
}

fn kernel_log(path: &Path) -> String {
    let obj = bpfbox_kernel::KernelObject::load_with_log(
        path,
        &bpfbox_kernel::OpenOptions::default(),
        bpfbox_kernel::types::BPF_LOG_LEVEL2,
    )
    .unwrap_or_else(|e| panic!("{}: the kernel refuses it: {e}", path.display()));
    let name = obj.program_names().into_iter().next().expect("a program");
    obj.verifier_log(&name).expect("log").to_string()
}

/// An instruction line: (the part up to and including `;`, or the whole line
/// without one; the registers after `;`, by name).
type InsnLine = (String, BTreeMap<String, String>);

/// The first line printed for each instruction (`N: (xx) ...`).
fn insn_lines(log: &str) -> BTreeMap<usize, InsnLine> {
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let Some((n, rest)) = line.split_once(": (") else { continue };
        let Ok(pc) = n.parse::<usize>() else { continue };
        if rest.get(2..4) != Some(") ") {
            continue;
        }
        let (head, regs) = match line.find(" ;") {
            Some(i) => {
                let head = line[..i + 2].to_string();
                (head, regs_of(&line[i + 2..]))
            }
            None => (line.trim_end().to_string(), BTreeMap::new()),
        };
        out.entry(pc).or_insert((head, regs));
    }
    out
}

/// `R0=1 R1=scalar(..., var_off=(0x0; 0xff)) fp-8=mmmmmmmm` by name (`R0`, `fp-8`);
/// the value may contain spaces inside parentheses.
fn regs_of(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.trim().chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ' ' if depth == 0 => {
                if !cur.is_empty() {
                    items.push(std::mem::take(&mut cur));
                }
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        items.push(cur);
    }
    for it in items {
        if let Some((k, v)) = it.split_once('=') {
            out.insert(k.to_string(), v.trim_start_matches('P').to_string());
        }
    }
    out
}

/// `.1.3......`: which of r0..r9 are live.
fn is_live(s: &str) -> bool {
    s.len() == 10 && s.char_indices().all(|(i, c)| c == '.' || c == char::from(b'0' + i as u8))
}

/// Compares one object's logs; returns (instruction lines compared, registers
/// compared, the differences found).
fn compare(file: &str) -> (usize, usize, Vec<String>) {
    let path = root().join("tests/verifier/c").join(file);
    let (ours, theirs) = (bpfbox_log(&path), kernel_log(&path));
    let mut diffs = Vec::new();
    for head in ["func#0 @0", "0: R1=ctx() R10=fp0"] {
        if !ours.lines().any(|l| l == head) || !theirs.lines().any(|l| l == head) {
            diffs.push(format!("{file}: `{head}` missing from one log"));
        }
    }
    // "Live regs before insn:", one line per instruction: `      5: 0123...... (2d) if r3 > r2 goto pc+4`.
    let live = |log: &str| -> Vec<String> {
        log.lines().filter(|l| l.starts_with("  ") && l.get(9..19).is_some_and(is_live)).map(str::to_string).collect()
    };
    let (la, lb) = (live(&ours), live(&theirs));
    if la.len() != lb.len() || la.is_empty() {
        diffs.push(format!("{file}: {} live-register lines, the kernel has {}", la.len(), lb.len()));
    }
    for (x, y) in la.iter().zip(&lb) {
        let same = if x.contains("map[") { x.split(" = ").next() == y.split(" = ").next() } else { x == y };
        if !same {
            diffs.push(format!("{file} live registers:\n  bpfbox: {x}\n  kernel: {y}"));
        }
    }
    let (a, b) = (insn_lines(&ours), insn_lines(&theirs));
    let (mut lines, mut regs) = (0, 0);
    for (pc, (head, rs)) in &a {
        let Some((khead, krs)) = b.get(pc) else { continue };
        lines += 1;
        let same = if head.contains("map[") {
            head.split(" = ").next() == khead.split(" = ").next()
        } else if !khead.ends_with(';') {
            // The kernel printed something else after the instruction (precision
            // backtracking, `mark_precise: ...`), so its state went on a line of its own.
            head.trim_end_matches(';').trim_end() == khead
        } else {
            head == khead
        };
        if !same {
            diffs.push(format!("{file} insn {pc}:\n  bpfbox: {head}\n  kernel: {khead}"));
        }
        for (name, v) in rs {
            if let Some(kv) = krs.get(name) {
                regs += 1;
                if v != kv {
                    diffs.push(format!("{file} insn {pc} {name}: bpfbox {v}, kernel {kv}"));
                }
            }
        }
    }
    (lines, regs, diffs)
}

#[test]
fn log_lines_match_the_kernel() {
    if !bpfbox_kernel::available_or_skip() {
        return;
    }
    let mut all = Vec::new();
    for file in ["pkt_check_ok.o", "map_index_ok.o", "loop_bounded_ok.o", "map_null_ok.o"] {
        let (lines, regs, diffs) = compare(file);
        eprintln!("{file}: {lines} instruction lines, {regs} registers compared, {} differences", diffs.len());
        assert!(lines >= 10, "{file}: only {lines} instruction lines in common");
        assert!(regs >= 10, "{file}: only {regs} registers in common");
        all.extend(diffs);
    }
    assert!(all.is_empty(), "bpfbox's log differs from the kernel's:\n{}", all.join("\n"));
}

#[test]
fn parses_kernel_lines() {
    let log = "0: R1=ctx() R10=fp0\n\
               6: (71) r1 = *(u8 *)(r1 +13)          ; R1=scalar(smin=smin32=0,var_off=(0x0; 0xff)) fp-8=mmmmmmmm\n\
               10: (95) exit\n\
               10: R0=1\n";
    let l = insn_lines(log);
    assert_eq!(l.len(), 2);
    let (head, regs) = &l[&6];
    assert_eq!(head, "6: (71) r1 = *(u8 *)(r1 +13)          ;");
    assert_eq!(regs["R1"], "scalar(smin=smin32=0,var_off=(0x0; 0xff))");
    assert_eq!(regs["fp-8"], "mmmmmmmm");
    assert_eq!(l[&10].0, "10: (95) exit");
}
