//! `info verifier` (the parsing and checking live in `crate::verifier_view`).

use super::Session;
use std::fmt::Write as _;

impl Session {
    /// What bpfbox's verifier recorded before this pc, the concrete registers, and the
    /// registers whose value is outside every recorded state.
    pub(super) fn info_verifier(&mut self, out: &mut String) {
        let Some(snap) = self.stop.clone() else { return Self::not_running(out) };
        let prog = usize::from(snap.rec.prog);
        let obj = self.obj.clone();
        let log = self.verifier_logs.entry(prog).or_insert_with(|| {
            let spec = obj.programs.get(prog).ok_or("no such program")?;
            let input = bpfbox_verifier::object::input_from_object(&obj, spec)
                .ok_or("the program's type is unknown to the verifier")?;
            let opts = bpfbox_verifier::VerifyOptions { log: true, ..Default::default() };
            let report = bpfbox_verifier::verify(&input, &opts);
            let verdict = if report.accepted() { "accepted" } else { "rejected" };
            report.log.map(|l| format!("{verdict}\n{l}")).ok_or_else(|| "the verifier wrote no log".to_string())
        });
        let log = match log {
            Ok(l) => l.clone(),
            Err(e) => {
                let _ = writeln!(out, "No verifier states: {e}.");
                return;
            }
        };
        let (verdict, log) = log.split_once('\n').unwrap_or(("", log.as_str()));
        let pc = snap.rec.pc as usize;
        let frame = usize::from(snap.rec.depth);
        let (lines, states) = crate::verifier_view::states_before(log, pc);
        let _ = writeln!(out, "The verifier {verdict} the program. What it recorded before pc {pc}:");
        if lines.is_empty() {
            out.push_str("  (no state: the verifier never reached this pc, or pruned it)\n");
        }
        for l in &lines {
            let _ = writeln!(out, "  {l}");
        }
        out.push_str("Concrete:");
        for (i, r) in snap.regs.iter().enumerate() {
            let _ = write!(out, " r{i}={r:#x}");
        }
        out.push('\n');
        let bad = crate::verifier_view::violations(&states, frame, &snap.regs);
        for (r, v, what) in &bad {
            let _ = writeln!(
                out,
                "VERIFIER BUG? r{r} = {v} ({v:#x}) is outside every state the verifier recorded here: {what}"
            );
        }
        if bad.is_empty() && !states.is_empty() {
            out.push_str("Every concrete scalar is within what the verifier proved.\n");
        }
    }
}
