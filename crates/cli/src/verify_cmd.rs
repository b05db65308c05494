//! `bpfbox verify OBJ [--prog NAME] [--json] [--log]`: the static verifier's
//! verdicts, rendered with the object's source lines.
//!
//! Exit codes: 0 when every selected program is accepted, 1 when one is rejected,
//! 2 (an `Err`) on unusable input.

use crate::CliError;
use bpfbox_object::btf::Btf;
use bpfbox_object::{LoadedObject, ProgramSpec, UnusableProgram};
use bpfbox_verifier::object::input_with_kernel_btf;
use bpfbox_verifier::{verify, Diagnostic, KernelBtf, Report, VerifyOptions};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `bpfbox verify`.
#[derive(Debug, Clone, Default)]
pub struct VerifyArgs {
    pub file: PathBuf,
    /// Only this program (default: all programs of the object).
    pub prog: Option<String>,
    pub json: bool,
    /// Include the state-by-state trace.
    pub log: bool,
    /// Target BTF for CO-RE relocations (default: /sys/kernel/btf/vmlinux when readable).
    pub btf: Option<PathBuf>,
    /// (program, type name) overrides for sections without a known type.
    pub types: Vec<(String, String)>,
    /// The unprivileged rules (`VerifyOptions::unprivileged`).
    pub unprivileged: bool,
    /// Which kernel build's facts to verify against (`--kernel-facts`).
    pub kernel_facts: crate::facts::FactsChoice,
    /// `BPF_F_*` load flags (`--flags`).
    pub prog_flags: u32,
}

/// The object, and the kernel BTF its CO-RE relocations were resolved against (the
/// verifier types kernel pointers with it).
fn load_object(a: &VerifyArgs) -> Result<(LoadedObject, Option<Arc<Btf>>), CliError> {
    let (_, obj, btf) = crate::run_obj::load_object_file(&a.file, a.btf.as_deref(), &a.types)?;
    Ok((obj, btf))
}

/// The source line covering `pc` (the last line-info entry at or before it).
fn source_of(p: &ProgramSpec, pc: usize) -> Option<&bpfbox_object::LineInfo> {
    p.line_info.iter().filter(|l| l.insn_off <= pc).max_by_key(|l| l.insn_off)
}

fn short_file(f: &str) -> &str {
    f.rsplit('/').next().unwrap_or(f)
}

fn render_diag(out: &mut String, p: &ProgramSpec, d: &Diagnostic) {
    let mut lines = d.message.lines();
    let _ = writeln!(out, "  error at insn {}: {}", d.pc, lines.next().unwrap_or(""));
    for l in lines {
        let _ = writeln!(out, "    {l}");
    }
    if let Some(li) = source_of(p, d.pc) {
        let _ = writeln!(out, "  --> {}:{}:{}", short_file(&li.file), li.line, li.col);
        if !li.text.trim().is_empty() {
            let _ = writeln!(out, "      {}", li.text.trim());
        }
    }
    if !d.path.is_empty() {
        let _ = writeln!(out, "  on the path:");
        // Branches in source terms; consecutive decisions on one line are merged, and
        // only the last ones are shown (a loop's passes would fill the screen).
        const SHOWN: usize = 24;
        let mut lines: Vec<String> = Vec::new();
        let mut last: Option<(String, bool)> = None;
        for b in &d.path {
            let (loc, text) = match source_of(p, b.pc) {
                Some(li) => (format!("{}:{}", short_file(&li.file), li.line), li.text.trim().to_string()),
                None => (format!("insn {}", b.pc), String::new()),
            };
            let key = (loc.clone(), b.taken);
            if last.as_ref() == Some(&key) {
                continue;
            }
            last = Some(key);
            let what = if b.taken { "jump taken" } else { "fell through" };
            lines.push(format!("    {loc}: {what} (insn {})  {text}", b.pc));
        }
        if lines.len() > SHOWN {
            let _ = writeln!(out, "    ... {} earlier decisions", lines.len() - SHOWN);
        }
        for l in &lines[lines.len().saturating_sub(SHOWN)..] {
            let _ = writeln!(out, "{l}");
        }
    }
    if !d.regs.is_empty() {
        let regs: Vec<String> = d.regs.iter().map(|(r, v)| format!("R{r}={v}")).collect();
        let _ = writeln!(out, "  registers: {}", regs.join(" "));
    }
    if let Some(h) = &d.hint {
        let _ = writeln!(out, "  hint: {h}");
    }
}

/// The verifier's log with the source line of each instruction before it, where
/// the line changes, as the kernel prints them (`; text @ file:line`). Only
/// instruction lines (`12: (bf) r1 = r6`) count, not state lines (`12: R1=...`).
/// Kfunc calls get their names from the object (`call bpf_rcu_read_lock#0`).
fn with_source_lines(p: &ProgramSpec, log: &str) -> String {
    let mut out = String::with_capacity(log.len() * 2);
    let mut last: Option<(String, u32)> = None;
    for line in log.lines() {
        let pc = line.split_once(": (").and_then(|(n, _)| n.parse::<usize>().ok());
        let kfunc =
            pc.and_then(|pc| p.externs.iter().find(|x| x.insn == pc && x.kind == bpfbox_object::ExternKind::Kfunc));
        let named;
        let line = match kfunc {
            Some(x) if line.contains(") call unknown#") => {
                named = realign(&line.replacen(") call unknown#", &format!(") call {}#", x.name), 1));
                named.as_str()
            }
            _ => line,
        };
        if let Some(li) = pc.and_then(|pc| source_of(p, pc)) {
            let key = (li.file.clone(), li.line);
            if last.as_ref() != Some(&key) && !li.text.trim().is_empty() {
                let _ = writeln!(out, "; {} @ {}:{}", li.text.trim(), short_file(&li.file), li.line);
            }
            last = Some(key);
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// An instruction line whose instruction text changed length: the registers after
/// it (`; R0=1`) go back to the kernel's column (`vlog_alignment`).
fn realign(line: &str) -> String {
    match line.split_once(" ;") {
        Some((insn, regs)) => {
            let insn = insn.trim_end();
            let pos = insn.len() + 1;
            let pad = (pos + 4).max(40).div_ceil(8) * 8 - pos - 1;
            format!("{insn}{:pad$};{regs}", "")
        }
        None => line.to_string(),
    }
}

fn diag_json(p: &ProgramSpec, d: &Diagnostic) -> serde_json::Value {
    let mut v = serde_json::to_value(d).unwrap_or(serde_json::Value::Null);
    if let (Some(obj), Some(li)) = (v.as_object_mut(), source_of(p, d.pc)) {
        obj.insert("source".into(), json!({ "file": li.file, "line": li.line, "col": li.col, "text": li.text }));
    }
    v
}

/// Run `bpfbox verify`: (stdout text, exit code).
pub fn run(args: &VerifyArgs) -> Result<(String, u8), CliError> {
    let (obj, kernel_btf) = load_object(args)?;
    // Programs that could not be built (a function that does not decode ...) are
    // reported one by one; the others are verified as usual.
    let (selected, unreadable): (Vec<&ProgramSpec>, Vec<&UnusableProgram>) = match &args.prog {
        Some(name) => match (obj.program(name), obj.unusable.iter().find(|u| &u.name == name)) {
            (Some(p), _) => (vec![p], vec![]),
            (None, Some(u)) => (vec![], vec![u]),
            (None, None) => {
                let names: Vec<&str> = obj
                    .programs
                    .iter()
                    .map(|p| p.name.as_str())
                    .chain(obj.unusable.iter().map(|u| u.name.as_str()))
                    .collect();
                return Err(CliError::usage(format!(
                    "no program named `{name}` (the object has: {})",
                    names.join(", ")
                )));
            }
        },
        None => (obj.programs.iter().collect(), obj.unusable.iter().collect()),
    };
    if selected.is_empty() && unreadable.is_empty() {
        return Err(CliError::input(&args.file, "the object has no programs"));
    }
    let used = crate::facts::resolve(&args.kernel_facts)?;
    let opts = VerifyOptions {
        log: args.log,
        unprivileged: args.unprivileged,
        kernel_facts: used.facts.clone(),
        prog_flags: args.prog_flags,
        ..VerifyOptions::default()
    };
    // One model of the kernel's BTF for all the programs.
    let kernel_btf = kernel_btf.map(KernelBtf::new);
    let mut results: Vec<(&ProgramSpec, Report)> = Vec::new();
    for p in selected {
        let input = input_with_kernel_btf(&obj, p, kernel_btf.as_ref()).ok_or_else(|| {
            CliError::input(
                &args.file,
                format!(
                    "program `{}` (section `{}`) has no known type: name one with --type {}=TYPE",
                    p.name, p.section, p.name
                ),
            )
        })?;
        results.push((p, verify(&input, &opts)));
    }
    let rejected = results.iter().any(|(_, r)| !r.accepted()) || !unreadable.is_empty();
    let mut out = String::new();
    if args.json {
        let programs: Vec<serde_json::Value> = results
            .iter()
            .map(|(p, r)| {
                let mut v = json!({
                    "name": p.name,
                    "section": p.section,
                    "verdict": r.verdict,
                    "diagnostics": r.diagnostics.iter().map(|d| diag_json(p, d)).collect::<Vec<_>>(),
                    "stats": r.stats,
                });
                if let (Some(log), Some(o)) = (&r.log, v.as_object_mut()) {
                    o.insert("log".into(), json!(log));
                }
                v
            })
            .chain(unreadable.iter().map(|u| {
                json!({
                    "name": u.name,
                    "section": u.section,
                    "verdict": "unreadable",
                    "error": u.error.to_string(),
                    "diagnostics": [],
                })
            }))
            .collect();
        let doc = json!({
            "file": args.file.display().to_string(),
            "kernel_facts": used.to_json(),
            "programs": programs,
        });
        out = serde_json::to_string_pretty(&doc).unwrap_or_default();
        out.push('\n');
    } else {
        for (p, r) in &results {
            if let Some(log) = &r.log {
                let log = with_source_lines(p, log);
                let _ = writeln!(out, "--- {} ({}) verifier log ---\n{log}--- end of log ---", p.name, p.section);
            }
            let s = &r.stats;
            let verdict = if r.accepted() { "accepted" } else { "rejected" };
            let _ = writeln!(
                out,
                "{} ({}): {verdict} — {} insns processed, {} states, {:.1} ms",
                p.name,
                p.section,
                s.processed_insns,
                s.total_states,
                s.duration_ns as f64 / 1e6
            );
            for d in &r.diagnostics {
                render_diag(&mut out, p, d);
            }
        }
        for u in &unreadable {
            let _ = writeln!(out, "{} ({}): cannot be read — {}", u.name, u.section, u.error);
            let _ = writeln!(out, "  (the object's other programs are verified without it)");
        }
        // Which kernel build the verdicts are faithful to (stderr: stdout is the verdicts).
        eprintln!("{}", used.line());
    }
    Ok((out, u8::from(rejected)))
}

/// What `bpfbox run`'s verification step found.
#[derive(Debug)]
pub enum BeforeRun {
    /// Every program with a known type was accepted: per program name, the
    /// verifier's converted accesses (`Report::converted_accesses`).
    Accepted(BTreeMap<String, Vec<usize>>),
    /// The rendered rejections (as `bpfbox verify` renders them, `--json` or not).
    Rejected(String),
}

/// `bpfbox run`'s verification step: verify the program to run and, when it uses
/// `bpf_tail_call`, every program of `obj` whose type is known (each may be a target).
/// A selected program without a known type is an error: it cannot be verified.
pub fn verify_before_run(
    obj: &LoadedObject,
    kernel_btf: Option<Arc<Btf>>,
    file: &Path,
    selected: &ProgramSpec,
    json: bool,
) -> Result<BeforeRun, CliError> {
    let used = crate::facts::resolve(&crate::facts::FactsChoice::Auto)?;
    let opts = VerifyOptions { kernel_facts: used.facts, ..VerifyOptions::default() };
    let mut rejected: Vec<(&ProgramSpec, Report)> = Vec::new();
    let mut accepted = BTreeMap::new();
    // The program to run, and — when it tail-calls — every program it might reach
    // (any program of the object can be put into a prog array). The others are not
    // needed: a program that does not verify does not stop another from running.
    let kernel_btf = kernel_btf.map(KernelBtf::new);
    let tail_calls = selected.insns.iter().any(|i| *i == bpfbox_isa::Insn::Call(bpfbox_isa::CallTarget::Helper(12)));
    for p in obj.programs.iter().filter(|p| p.name == selected.name || tail_calls) {
        let Some(input) = input_with_kernel_btf(obj, p, kernel_btf.as_ref()) else {
            if p.name == selected.name {
                return Err(CliError::input(
                    file,
                    format!(
                        "program `{}` (section `{}`) has no known type, so it cannot be verified: \
                         name one with --type {}=TYPE, or run unverified with --no-verify",
                        p.name, p.section, p.name
                    ),
                ));
            }
            continue;
        };
        let r = verify(&input, &opts);
        if r.accepted() {
            accepted.insert(p.name.clone(), r.converted_accesses);
        } else {
            rejected.push((p, r));
        }
    }
    if rejected.is_empty() {
        return Ok(BeforeRun::Accepted(accepted));
    }
    let mut out = String::new();
    if json {
        let programs: Vec<serde_json::Value> = rejected
            .iter()
            .map(|(p, r)| {
                json!({
                    "name": p.name,
                    "section": p.section,
                    "verdict": r.verdict,
                    "diagnostics": r.diagnostics.iter().map(|d| diag_json(p, d)).collect::<Vec<_>>(),
                    "stats": r.stats,
                })
            })
            .collect();
        let doc = json!({ "file": file.display().to_string(), "verdict": "rejected", "programs": programs });
        out = serde_json::to_string_pretty(&doc).unwrap_or_default();
        out.push('\n');
    } else {
        for (p, r) in &rejected {
            let _ = writeln!(out, "{} ({}): rejected by bpfbox's verifier, not run", p.name, p.section);
            for d in &r.diagnostics {
                render_diag(&mut out, p, d);
            }
        }
        let _ = writeln!(out, "(run it anyway, every access checked, with --no-verify)");
    }
    Ok(BeforeRun::Rejected(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn accepted_object_exits_zero() {
        let a = VerifyArgs { file: root().join("tests/verifier/c/pkt_check_ok.o"), ..Default::default() };
        let (out, code) = run(&a).expect("runs");
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("prog (xdp): accepted"), "{out}");
    }

    #[test]
    fn rejection_renders_source_and_hint() {
        let a = VerifyArgs { file: root().join("tests/verifier/c/pkt_short_check_bad.o"), ..Default::default() };
        let (out, code) = run(&a).expect("runs");
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("invalid access to packet, off=12 size=2"), "{out}");
        assert!(out.contains("pkt_short_check_bad.c:5"), "{out}");
        assert!(out.contains("hint: the bounds check before this access only covers 12 bytes"), "{out}");
        assert!(out.contains("on the path:"), "{out}");
    }

    #[test]
    fn json_and_log() {
        let a = VerifyArgs {
            file: root().join("tests/verifier/c/ringbuf_leak_bad.o"),
            json: true,
            log: true,
            ..Default::default()
        };
        let (out, code) = run(&a).expect("runs");
        assert_eq!(code, 1);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let d = &v["programs"][0]["diagnostics"][0];
        assert_eq!(d["kind"], "unreleased_reference");
        assert!(d["message"].as_str().is_some_and(|m| m.starts_with("Unreleased reference id=")));
        assert!(d["source"]["line"].as_u64().is_some());
        assert!(v["programs"][0]["stats"]["processed_insns"].as_u64().is_some_and(|n| n > 0));
        assert!(v["programs"][0]["log"].as_str().is_some_and(|l| l.contains("call")));
    }

    #[test]
    fn unprivileged_rules_on_request() {
        let file = root().join("tests/verifier/c/stack_uninit_priv_ok.o");
        let (out, code) = run(&VerifyArgs { file: file.clone(), ..Default::default() }).expect("runs");
        assert_eq!(code, 0, "{out}");
        let (out, code) = run(&VerifyArgs { file, unprivileged: true, ..Default::default() }).expect("runs");
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("invalid read from stack"), "{out}");
    }

    #[test]
    fn human_log_shows_source_lines_as_the_kernel_does() {
        let a = VerifyArgs { file: root().join("tests/verifier/c/pkt_check_ok.o"), log: true, ..Default::default() };
        let (out, code) = run(&a).expect("runs");
        assert_eq!(code, 0, "{out}");
        let lines: Vec<&str> = out.lines().collect();
        // The source line comes right before the first instruction it covers.
        let i = lines.iter().position(|l| l.starts_with("; if (data + 14 > end)")).expect(&out);
        assert!(lines[i].ends_with("@ pkt_check_ok.c:4"), "{}", lines[i]);
        assert!(lines[i + 1].starts_with("3: "), "{}", lines[i + 1]);
    }

    #[test]
    fn log_names_kfuncs_and_keeps_the_column() {
        let a = VerifyArgs { file: root().join("tests/progs/kprobe.bpf.o"), log: true, ..Default::default() };
        let (out, _) = run(&a).expect("runs");
        let line = out.lines().find(|l| l.starts_with("4: (85) call ")).expect(&out);
        // (Named, with bpfbox's kfunc id where the kernel prints its BTF id.)
        assert!(line.starts_with("4: (85) call bpf_rcu_read_lock#"), "{line}");
        // The kernel's column for a line this long (41 characters): `;` at 46 (and at 38
        // for the 33 characters of `call bpf_rcu_read_lock#0`).
        assert_eq!(line.find(';'), Some(46), "{line}");
        assert_eq!(realign("4: (85) call bpf_rcu_read_lock#0 ;").find(';'), Some(38));
        assert_eq!(realign("2: (b7) r0 = 1 ; R0=1"), format!("2: (b7) r0 = 1{};{}", " ".repeat(24), " R0=1"));
    }

    #[test]
    fn unusable_input_is_an_error() {
        let a = VerifyArgs { file: root().join("Cargo.toml"), ..Default::default() };
        assert_eq!(run(&a).err().map(|e| e.exit_code()), Some(2));
        let a = VerifyArgs {
            file: root().join("tests/verifier/c/pkt_check_ok.o"),
            prog: Some("nope".into()),
            ..Default::default()
        };
        assert_eq!(run(&a).err().map(|e| e.exit_code()), Some(2));
    }
}
