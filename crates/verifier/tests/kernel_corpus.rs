//! Loads every case of `tests/verifier/asm/*.s` into the running kernel and requires
//! the kernel's verdict (accept or reject) to be the one the file expects. A case
//! where they differ fails the test unless it is listed in `EXPECTED_DISAGREEMENTS`
//! with the reason. For rejections, whether the kernel's log holds the expected
//! message text is counted and printed (informative: bpfbox aims at the kernel's
//! messages, the verdict is what must agree).
//!
//! With `BPFBOX_KERNEL_CORPUS_DUMP=FILE`, the kernel's verdict on every case is
//! written to FILE, one tab-separated line per case: file, case name, `accept` or
//! `reject`, the pc of the last instruction the log shows before the error (or -1),
//! and the error lines (joined by ` | `) — a help for writing the `; error:` annotations.
//!
//! With `BPFBOX_KERNEL_CORPUS_LOG=NAME`, the kernel's whole log of each case whose name
//! contains NAME is printed.
//!
//! `; unprivileged` cases are loaded by an unprivileged caller
//! (`bpfbox_kernel::load_raw_unprivileged`: a thread dropped to uid/gid 65534 without
//! capabilities). That needs root and `kernel.unprivileged_bpf_disabled` at 0 or 2: the
//! test sets it to 0 for the few milliseconds of those loads
//! (`bpfbox_kernel::UnprivilegedBpfWindow`) and restores it, printing the value before
//! and after. Otherwise (not root, the sysctl at 1) they are skipped with the reason.

mod common;

use bpfbox_kernel::unpriv::unprivileged_bpf_disabled;
use bpfbox_kernel::{load_raw, load_raw_unprivileged, RawLoad, RawLoadError, RawMap, UnprivilegedBpfWindow};
use common::{all_cases, Case, Expect};

/// Cases where the kernel's verdict differs from the file's: (file, case, reason).
const EXPECTED_DISAGREEMENTS: &[(&str, &str, &str)] = &[(
    "iterators.s",
    "an accumulator decided after the loop where one pass made it small (over-strict)",
    "bpfbox prunes with a static, per-instruction precision: the drained path of each pass \
     decides `r9 == r7` where the kernel prunes it against a state whose r9 is imprecise, so \
     the accumulator stays exact on every pass and never converges (the kernel widens it)",
)];

/// The program with bpfbox's kfunc ids replaced by the running kernel's BTF ids of
/// the same functions (`/sys/kernel/btf/vmlinux`).
fn kernel_kfunc_ids(insns: &[bpfbox_isa::Insn]) -> Vec<bpfbox_isa::Insn> {
    use bpfbox_isa::{CallTarget, Insn};
    static VMLINUX: std::sync::OnceLock<Option<bpfbox_object::btf::Btf>> = std::sync::OnceLock::new();
    let btf = VMLINUX.get_or_init(|| {
        let b = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
        bpfbox_object::btf::Btf::parse_vec(b).ok()
    });
    insns
        .iter()
        .map(|i| match *i {
            Insn::Call(CallTarget::Kfunc { btf_id, off }) => {
                let Some(name) = bpfbox_abi::kfuncs::kfunc_name(btf_id) else { return *i };
                let id = btf
                    .as_ref()
                    .and_then(|b| b.find_by_name_kind(name, bpfbox_object::btf::Kind::Func))
                    .unwrap_or_else(|| panic!("kfunc {name}: not in the running kernel's BTF"));
                Insn::Call(CallTarget::Kfunc { btf_id: id as i32, off })
            }
            other => other,
        })
        .collect()
}

/// The kernel's verdict: `Ok(())`, or the error and the whole log.
type Verdict = Result<(), (String, String)>;

/// Loads `c` with `load` (privileged or not); the outer `Err` comes from `load`.
fn kernel_verdict<E>(
    c: &Case,
    load: impl FnOnce(&RawLoad<'_>) -> Result<Result<String, RawLoadError>, E>,
) -> Result<Verdict, E> {
    let bytes = bpfbox_isa::encode_program(&kernel_kfunc_ids(&c.prog.insns));
    let maps: Vec<RawMap> = c
        .prog
        .maps
        .iter()
        .map(|m| RawMap {
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            flags: m.map_flags,
            frozen: m.frozen,
            spin_lock_off: m.spin_lock_off,
        })
        .collect();
    let req = RawLoad {
        prog_type: c.prog.prog_type.number(),
        expected_attach_type: c.prog.expected_attach_type,
        insns: &bytes,
        maps: &maps,
        prog_flags: c.prog_flags,
    };
    Ok(match load(&req)? {
        Ok(_) => Ok(()),
        Err(e) => Err((e.to_string(), e.log)),
    })
}

/// The unprivileged cases' verdicts, loaded with `kernel.unprivileged_bpf_disabled`
/// at 0 only for the time of these loads; `Err(why)` when they cannot run here.
fn unprivileged_verdicts(cases: &[&Case]) -> Result<Vec<Verdict>, String> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let before = unprivileged_bpf_disabled()?;
    let window = UnprivilegedBpfWindow::open()?;
    let during = unprivileged_bpf_disabled()?;
    let verdicts: Result<Vec<Verdict>, String> =
        cases.iter().map(|c| kernel_verdict(c, load_raw_unprivileged)).collect();
    drop(window);
    let after = unprivileged_bpf_disabled()?;
    eprintln!(
        "kernel.unprivileged_bpf_disabled: {before} before, {during} during the {} unprivileged loads, {after} after",
        cases.len()
    );
    assert_eq!(after, before, "kernel.unprivileged_bpf_disabled was not restored");
    verdicts
}

#[test]
fn asm_cases_agree_with_the_kernel() {
    if !bpfbox_kernel::available_or_skip() {
        return;
    }
    let cases = all_cases();
    let unpriv_cases: Vec<&Case> = cases.iter().filter(|c| c.unprivileged).collect();
    let mut unpriv = match unprivileged_verdicts(&unpriv_cases) {
        Ok(v) => Some(v.into_iter()),
        Err(why) => {
            eprintln!("SKIP: the {} unprivileged cases: {why}", unpriv_cases.len());
            None
        }
    };
    let listed = |c: &Case| EXPECTED_DISAGREEMENTS.iter().find(|(f, n, _)| *f == c.file && *n == c.name);
    let (mut loaded, mut agree, mut listed_n, mut skipped, mut unpriv_loaded) = (0, 0, 0, 0, 0);
    let (mut rejects, mut text_found) = (0, 0);
    let mut unexpected = Vec::new();
    let mut text_missing = Vec::new();
    let mut dump = String::new();
    for c in &cases {
        let what = format!("{}:{} `{}`", c.file, c.line, c.name);
        let kernel = if !c.unprivileged {
            let Ok(v) = kernel_verdict(c, |r| Ok::<_, std::convert::Infallible>(load_raw(r)));
            v
        } else if let Some(v) = unpriv.as_mut().and_then(|v| v.next()) {
            unpriv_loaded += 1;
            v
        } else {
            skipped += 1;
            continue;
        };
        loaded += 1;
        if let (Ok(want), Err((_, log))) = (std::env::var("BPFBOX_KERNEL_CORPUS_LOG"), &kernel) {
            if !want.is_empty() && c.name.contains(want.as_str()) {
                eprintln!("--- kernel log of {what}:\n{log}");
            }
        }
        match &kernel {
            Ok(()) => dump.push_str(&format!("{}\t{}\taccept\t-1\t\n", c.file, c.name)),
            Err((e, log)) => {
                let msg = if log.is_empty() { e.clone() } else { error_lines(log) };
                dump.push_str(&format!("{}\t{}\treject\t{}\t{msg}\n", c.file, c.name, error_pc(log)));
            }
        }
        let expect_ok = matches!(c.expect, Expect::Accept);
        if let (Expect::Error { text, .. }, Err((_, log))) = (&c.expect, &kernel) {
            rejects += 1;
            if log.contains(text.as_str()) {
                text_found += 1;
            } else {
                text_missing.push(format!("{what}: expected `{text}`, kernel: {}", last_line(log)));
            }
        }
        if kernel.is_ok() == expect_ok {
            agree += 1;
            if let Some((_, _, why)) = listed(c) {
                unexpected.push(format!("{what}: listed as a disagreement ({why}) but the kernel agrees now"));
            }
            continue;
        }
        let kernel_says = match &kernel {
            Ok(()) => "accepts".to_string(),
            Err((e, _)) => format!("rejects: {e}"),
        };
        if let Some((_, _, why)) = listed(c) {
            listed_n += 1;
            eprintln!("  listed {what}: kernel {kernel_says} ({why})");
        } else {
            unexpected.push(format!("{what}: expected {:?}, kernel {kernel_says}", c.expect));
        }
    }
    eprintln!(
        "asm cases: {loaded} loaded into the kernel ({unpriv_loaded} of them unprivileged), {agree} agree, \
         {listed_n} listed, {skipped} skipped (unprivileged)"
    );
    eprintln!("rejections: the kernel's log holds the expected text in {text_found} of {rejects}");
    for m in &text_missing {
        eprintln!("  message differs: {m}");
    }
    if let Ok(path) = std::env::var("BPFBOX_KERNEL_CORPUS_DUMP") {
        std::fs::write(&path, dump).unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
    assert!(
        unexpected.is_empty(),
        "{} disagreements with the kernel:\n  {}",
        unexpected.len(),
        unexpected.join("\n  ")
    );
}

fn last_line(log: &str) -> &str {
    log.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with("processed")).unwrap_or("")
}

/// The log's lines after the last instruction line, joined by ` | `.
fn error_lines(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("processed")).collect();
    let start = lines
        .iter()
        .rposition(|l| l.split_once(": (").is_some_and(|(n, _)| n.parse::<u32>().is_ok()))
        .map_or(0, |i| i + 1);
    lines[start..].join(" | ")
}

/// The pc of the last instruction line (`N: (op) ...`) the log shows before its error
/// line, or -1.
fn error_pc(log: &str) -> i64 {
    let lines: Vec<&str> = log.lines().collect();
    let err = lines.iter().rposition(|l| !l.trim().is_empty() && !l.starts_with("processed")).unwrap_or(0);
    lines[..err]
        .iter()
        .rev()
        .find_map(|l| {
            let (n, rest) = l.split_once(": (")?;
            n.parse::<i64>().ok().filter(|_| rest.contains(')'))
        })
        .unwrap_or(-1)
}
