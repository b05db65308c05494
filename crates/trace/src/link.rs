//! A compiled script as an ELF object (for libbpf and `--emit-elf`), and its programs
//! checked by bpfbox's verifier before anything is loaded.

use crate::codegen::Compiled;
use crate::diag::{Diagnostic, Span, Stage};
use bpfbox_isa::{Imm64, Insn};
use bpfbox_object::write::{LineDef, MapDef, ObjectBuilder, ProgDef};
use bpfbox_verifier::{MapInfo, ProgramInput, VerifyOptions};

/// The ELF object of a compiled script; line info points into `src` (named `file`).
pub fn to_elf(c: &Compiled, src: &str, file: &str) -> Result<Vec<u8>, Diagnostic> {
    let mut b = ObjectBuilder::new("GPL", file);
    for m in &c.maps {
        b.map(MapDef {
            name: m.symbol.clone(),
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            map_flags: 0,
        });
    }
    for p in &c.programs {
        let mut relocs = Vec::new();
        for (slot, insn) in p.insns.iter().enumerate() {
            if let Insn::LoadImm64 { imm: Imm64::MapIdx(i), .. } = insn {
                relocs.push((slot, c.maps[*i as usize].symbol.clone()));
            }
        }
        b.prog(ProgDef {
            name: p.name.clone(),
            section: p.section.clone(),
            insns: p.insns.clone(),
            map_relocs: relocs,
            lines: line_defs(&p.lines, &p.insns, src),
        });
    }
    b.write().map_err(|e| Diagnostic::new(Stage::Codegen, Span::default(), format!("writing the object: {e}")))
}

/// Line info: one entry per slot where a statement starts (the last one wins), the first
/// at slot 0, never on an `lddw`'s second slot.
fn line_defs(lines: &[(usize, Span)], insns: &[Insn], src: &str) -> Vec<LineDef> {
    let mut out: Vec<LineDef> = Vec::new();
    for &(slot, span) in lines {
        if slot >= insns.len() || matches!(insns[slot], Insn::LoadImm64Tail) {
            continue;
        }
        let (line, col) = Diagnostic::line_col(src, span.start);
        let text = src.lines().nth(line - 1).unwrap_or("").to_string();
        let d = LineDef { slot, line: line as u32, col: col as u32, text };
        match out.last_mut() {
            Some(last) if last.slot == slot => *last = d,
            _ => out.push(d),
        }
    }
    if out.first().is_some_and(|d| d.slot != 0) {
        let first = LineDef { slot: 0, ..out[0].clone() };
        out.insert(0, first);
    }
    out
}

/// Per-program verifier statistics (`-v`).
#[derive(Debug, Clone)]
pub struct VerifyStat {
    pub program: String,
    pub insns: usize,
    pub processed: u64,
    pub stack: u32,
}

/// Check every program with bpfbox's verifier; a rejection is a diagnostic at the
/// statement whose code the verifier refused.
pub fn verify(c: &Compiled, opts: &VerifyOptions) -> Result<Vec<VerifyStat>, Diagnostic> {
    let maps: Vec<MapInfo> = c
        .maps
        .iter()
        .map(|m| MapInfo {
            name: m.symbol.clone(),
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            ..Default::default()
        })
        .collect();
    let mut stats = Vec::new();
    for p in &c.programs {
        let def = bpfbox_abi::prog_types::from_section(&p.section).ok_or_else(|| {
            Diagnostic::new(Stage::Codegen, Span::default(), format!("no program type for section `{}`", p.section))
        })?;
        let input = ProgramInput {
            name: p.name.clone(),
            insns: p.insns.clone(),
            prog_type: def.prog_type,
            expected_attach_type: def.expected_attach_type.map(|a| a.number()),
            maps: maps.clone(),
            attach_target: def.attach_target.clone(),
            sleepable: def.sleepable,
            kernel_btf: None,
            funcs: Vec::new(),
        };
        let report = bpfbox_verifier::verify(&input, opts);
        if !report.accepted() {
            let d = report.diagnostics.first();
            let pc = d.map_or(0, |d| d.pc);
            let span = p.lines.iter().take_while(|(slot, _)| *slot <= pc).last().map_or(Span::default(), |(_, s)| *s);
            let msg = d.map_or_else(|| "rejected".to_string(), |d| d.message.lines().next().unwrap_or("").to_string());
            let mut diag = Diagnostic::new(
                Stage::Verify,
                span,
                format!(
                    "bpfbox's verifier rejects the code generated for {} (a bpfbox bug): {msg}",
                    p.probe.full_name()
                ),
            );
            if let Some(h) = d.and_then(|d| d.hint.clone()) {
                diag = diag.with_note(h);
            }
            diag = diag.with_note(format!("at instruction {pc} of program {}", p.name));
            return Err(diag);
        }
        stats.push(VerifyStat {
            program: p.name.clone(),
            insns: p.insns.len(),
            processed: report.stats.processed_insns,
            stack: p.stack,
        });
    }
    Ok(stats)
}
