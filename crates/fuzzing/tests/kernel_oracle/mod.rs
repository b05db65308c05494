//! The running kernel as the verifier fuzzer's oracle (shared by the bounded test and
//! the campaign example).
#![allow(dead_code)]

use bpfbox_fuzzing::kernel_diff::{Case, Tally};
use bpfbox_kernel::{verdict_raw, RawLoad, RawMap};

/// bpfbox's kfunc ids replaced by the running kernel's BTF ids of the same functions.
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
                let id = bpfbox_abi::kfuncs::kfunc_name(btf_id)
                    .and_then(|n| btf.as_ref()?.find_by_name_kind(n, bpfbox_object::btf::Kind::Func));
                Insn::Call(CallTarget::Kfunc { btf_id: id.map_or(btf_id, |id| id as i32), off })
            }
            other => other,
        })
        .collect()
}

/// The kernel's verdict: `Ok(())` loaded, `Err(last log line)` refused.
pub fn verdict(c: &Case) -> Result<(), String> {
    let Some(input) = c.input() else { return Err("does not assemble".into()) };
    let bytes = bpfbox_isa::encode_program(&kernel_kfunc_ids(&input.insns));
    let maps: Vec<RawMap> = c
        .maps
        .iter()
        .map(|m| RawMap {
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            flags: m.map_flags,
            frozen: false,
            spin_lock_off: None,
        })
        .collect();
    let req = RawLoad {
        prog_type: c.prog_type.number(),
        expected_attach_type: c.expected_attach_type,
        insns: &bytes,
        maps: &maps,
        prog_flags: 0,
    };
    match verdict_raw(&req) {
        Ok(()) => Ok(()),
        Err(e) => Err(e
            .log
            .lines()
            .rev()
            .find(|l| {
                !l.trim().is_empty()
                    && !l.starts_with("processed")
                    && !l.starts_with("verification time")
                    && !l.starts_with("stack depth")
            })
            .unwrap_or(&e.stage)
            .trim()
            .to_string()),
    }
}

/// Counts, agreement rate and the minimised disagreements.
pub fn report(t: &Tally) -> String {
    let mut s = format!(
        "kernel-differential verifier fuzzing: {} programs, {} both accept, {} both reject, \
         agreement {:.4}; {} unsound accepts, {} over-strict rejects",
        t.programs,
        t.both_accept,
        t.both_reject,
        t.agreement_rate(),
        t.unsound,
        t.over_strict
    );
    let mut shapes: Vec<(&String, &u64)> = t.reject_shapes.iter().collect();
    shapes.sort_by(|a, b| b.1.cmp(a.1));
    s.push_str("\nmost common rejections both gave:");
    for (m, n) in shapes.iter().take(12) {
        s.push_str(&format!("\n  {n:>7}  {m}"));
    }
    for (k, (n, text)) in &t.samples {
        s.push_str(&format!("\n--- {k} ({n} programs), minimised:\n{text}"));
    }
    s
}
