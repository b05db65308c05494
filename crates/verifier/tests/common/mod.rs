//! The parser of `tests/verifier/asm/*.s`, shared by `corpus.rs` and `kernel_corpus.rs`
//! (the file format is described at the top of `corpus.rs`).

#![allow(dead_code)]

use bpfbox_abi::map_types::MapType;
use bpfbox_abi::prog_types::ProgType;
use bpfbox_verifier::{MapInfo, ProgramInput};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum Expect {
    Accept,
    Error { pc: usize, text: String },
}

#[derive(Debug)]
pub struct Case {
    pub file: String,
    pub name: String,
    pub line: usize,
    pub prog: ProgramInput,
    pub expect: Expect,
    /// `; unprivileged`: verify with the unprivileged rules.
    pub unprivileged: bool,
    /// `; flags: strict_alignment any_alignment ...`: `BPF_F_*` load flags.
    pub prog_flags: u32,
    /// `; btf`: the case is verified with the running kernel's BTF
    /// (`/sys/kernel/btf/vmlinux`); without it the case cannot run (`prog.kernel_btf`
    /// is then `None`).
    pub needs_btf: bool,
}

/// The running kernel's BTF, parsed once.
pub fn vmlinux_btf() -> Option<bpfbox_verifier::KernelBtf> {
    static BTF: std::sync::OnceLock<Option<bpfbox_verifier::KernelBtf>> = std::sync::OnceLock::new();
    BTF.get_or_init(|| {
        let b = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
        bpfbox_object::btf::Btf::parse_vec(b).ok().map(|b| bpfbox_verifier::KernelBtf::new(std::sync::Arc::new(b)))
    })
    .clone()
}

/// Whether `c` can run here; prints why not (and fails with `CI=true`).
pub fn runnable(c: &Case) -> bool {
    if c.needs_btf && c.prog.kernel_btf.is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "{}: `{}` needs /sys/kernel/btf/vmlinux, unreadable in CI",
            c.file,
            c.name
        );
        eprintln!("SKIP: {}: `{}` needs the kernel's BTF (/sys/kernel/btf/vmlinux)", c.file, c.name);
        return false;
    }
    true
}

fn strip_comment(s: &str) -> &str {
    let mut end = s.len();
    for pat in [";", "#", "//"] {
        if let Some(i) = s.find(pat) {
            end = end.min(i);
        }
    }
    &s[..end]
}

fn parse_map(spec: &str) -> MapInfo {
    let mut it = spec.split_whitespace();
    let ty = it.next().expect("map type");
    let mut m = MapInfo {
        name: format!("m_{ty}"),
        map_type: MapType::from_name(ty).unwrap_or_else(|| panic!("unknown map type {ty}")) as u32,
        ..MapInfo::default()
    };
    for kv in it {
        match kv.split_once('=') {
            Some(("key", v)) => m.key_size = v.parse().expect("key"),
            Some(("value", v)) => m.value_size = v.parse().expect("value"),
            Some(("entries", v)) => m.max_entries = v.parse().expect("entries"),
            None if kv == "frozen" => m.frozen = true,
            None if kv == "rdonly_prog" => m.map_flags |= bpfbox_verifier::BPF_F_RDONLY_PROG,
            None if kv == "wronly_prog" => m.map_flags |= bpfbox_verifier::BPF_F_WRONLY_PROG,
            Some(("spinlock", v)) => m.spin_lock_off = Some(v.parse().expect("spinlock")),
            _ => panic!("bad map field {kv}"),
        }
    }
    m
}

/// `call kfunc NAME`: a kfunc bpfbox runs, by its bpfbox id (`bpfbox_abi::kfuncs`;
/// `kernel_corpus.rs` gives the kernel the running kernel's BTF id of the same name).
fn kfuncs_by_name(line: &str) -> String {
    let Some(at) = line.find("call kfunc ") else { return line.to_string() };
    let rest = &line[at + "call kfunc ".len()..];
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    let name = &rest[..end];
    if !name.starts_with("bpf_") {
        return line.to_string();
    }
    let id = bpfbox_abi::kfuncs::kfunc_id(name).unwrap_or_else(|| panic!("unknown kfunc `{name}` in `{line}`"));
    format!("{}call kfunc {id:#x}{}", &line[..at], &rest[end..])
}

pub fn parse_file(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).expect("read corpus file");
    let file = path.file_name().expect("name").to_string_lossy().to_string();
    let mut cases = Vec::new();
    let mut common_type: Option<ProgType> = None;
    let mut common_maps: Vec<MapInfo> = Vec::new();
    struct Cur {
        name: String,
        line: usize,
        ptype: Option<ProgType>,
        maps: Vec<MapInfo>,
        src: String,
        slots: usize,
        expect: Option<Expect>,
        unpriv: bool,
        flags: u32,
        attach: Option<u32>,
        btf: bool,
    }
    let mut cur: Option<Cur> = None;
    let finish = |c: Cur, cases: &mut Vec<Case>, file: &str| {
        let insns = bpfbox_isa::llvm::assemble(&c.src).unwrap_or_else(|e| panic!("{file}: case `{}`: {e}", c.name));
        assert_eq!(insns.len(), c.slots, "{file}: case `{}`: slot counting", c.name);
        cases.push(Case {
            file: file.to_string(),
            name: c.name.clone(),
            line: c.line,
            prog: ProgramInput {
                name: c.name.clone(),
                insns,
                prog_type: c.ptype.unwrap_or_else(|| panic!("{file}: case `{}` has no `; prog:`", c.name)),
                expected_attach_type: c.attach,
                maps: c.maps,
                attach_target: None,
                sleepable: false,
                kernel_btf: if c.btf { vmlinux_btf() } else { None },
                funcs: vec![],
            },
            expect: c.expect.unwrap_or_else(|| panic!("{file}: case `{}` has no expectation", c.name)),
            unprivileged: c.unpriv,
            prog_flags: c.flags,
            needs_btf: c.btf,
        });
    };
    for (i, line) in text.lines().enumerate() {
        let line = &kfuncs_by_name(line);
        let t = line.trim();
        if let Some(name) = t.strip_prefix("===") {
            if let Some(c) = cur.take() {
                finish(c, &mut cases, &file);
            }
            cur = Some(Cur {
                name: name.trim().to_string(),
                line: i + 1,
                ptype: common_type,
                maps: common_maps.clone(),
                src: String::new(),
                slots: 0,
                expect: None,
                unpriv: false,
                flags: 0,
                attach: None,
                btf: false,
            });
            continue;
        }
        if let Some(p) = t.strip_prefix("; prog:") {
            let ty = ProgType::from_name(p.trim()).unwrap_or_else(|| panic!("unknown prog type {p}"));
            match cur.as_mut() {
                Some(c) => c.ptype = Some(ty),
                None => common_type = Some(ty),
            }
            continue;
        }
        if let Some(m) = t.strip_prefix("; map:") {
            let m = parse_map(m.trim());
            match cur.as_mut() {
                Some(c) => c.maps.push(m),
                None => common_maps.push(m),
            }
            continue;
        }
        let Some(c) = cur.as_mut() else { continue };
        if let Some(a) = t.strip_prefix("; attach:") {
            c.attach =
                Some(a.trim().parse().unwrap_or_else(|_| panic!("{file}:{}: `; attach:` takes a number", i + 1)));
            continue;
        }
        if let Some(f) = t.strip_prefix("; flags:") {
            for name in f.split_whitespace() {
                c.flags |= bpfbox_verifier::prog_flag(name)
                    .unwrap_or_else(|| panic!("{file}:{}: unknown program flag `{name}`", i + 1));
            }
            continue;
        }
        if t == "; unprivileged" {
            c.unpriv = true;
            continue;
        }
        if t == "; btf" {
            c.btf = true;
            continue;
        }
        if t == "; accept" {
            c.expect = Some(Expect::Accept);
            continue;
        }
        let code = strip_comment(t).trim();
        let is_insn = !code.is_empty() && (!code.ends_with(':') || code.contains(' '));
        if let Some(idx) = line.find("; error:") {
            assert!(is_insn, "{file}:{}: `; error:` must sit on an instruction line", i + 1);
            c.expect = Some(Expect::Error { pc: c.slots, text: line[idx + 8..].trim().to_string() });
        }
        if is_insn {
            let body = code.rsplit(':').next().unwrap_or(code).trim();
            c.slots += if body.ends_with(" ll") || body.starts_with("ld_pseudo") { 2 } else { 1 };
        }
        c.src.push_str(line);
        c.src.push('\n');
    }
    if let Some(c) = cur.take() {
        finish(c, &mut cases, &file);
    }
    cases
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/verifier/asm")
}

/// `BPFBOX_CORPUS_FILE=NAME`: only the corpus files whose name contains NAME (for
/// working on one file; the corpus size check is skipped then).
pub fn corpus_filter() -> Option<String> {
    std::env::var("BPFBOX_CORPUS_FILE").ok().filter(|f| !f.is_empty())
}

pub fn all_cases() -> Vec<Case> {
    let only = corpus_filter();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "s"))
        .filter(|p| {
            only.as_ref().is_none_or(|o| p.file_name().is_some_and(|n| n.to_string_lossy().contains(o.as_str())))
        })
        .collect();
    files.sort();
    files.iter().flat_map(|f| parse_file(f)).collect()
}
