//! bpfbox's verdicts against the kernel's on compiled objects: the C cases of
//! `tests/verifier/c/` (which must agree, or be listed in `EXPECTED_DISAGREEMENTS`
//! with the reason), and the repository's other programs (examples, tests/progs,
//! tests/realworld), whose agreement count is printed.
//!
//! An object's kernel verdict is whether `KernelObject::load` accepts it (all its
//! programs); bpfbox's is whether it accepts every program of the object.

mod common;

use bpfbox_object::{load, LoadOptions};
use bpfbox_verifier::object::input_with_kernel_btf;
use bpfbox_verifier::{verify, VerifyOptions};
use std::path::{Path, PathBuf};

/// Objects where bpfbox and the kernel are known to disagree: (file name, reason).
const EXPECTED_DISAGREEMENTS: &[(&str, &str)] = &[];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn objects(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.to_string_lossy().ends_with(".o")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// bpfbox: `Ok(())` when every program is accepted, else the first rejection.
fn bpfbox_verdict(path: &Path) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let kernel_btf = common::vmlinux_btf();
    let btf = kernel_btf.as_ref().map(|k| k.btf().clone());
    // As libbpf against the running kernel: its BTF and version.
    let kernel_version = bpfbox_object::running_kernel_version().unwrap_or(0);
    let opts = LoadOptions { target_btf: btf.clone(), kernel_version, ..Default::default() };
    let obj = load(&data, &opts).map_err(|e| format!("load: {e}"))?;
    for p in &obj.programs {
        let Some(input) = input_with_kernel_btf(&obj, p, kernel_btf.as_ref()) else {
            return Err(format!("{}: unknown program type", p.name));
        };
        let r = verify(&input, &VerifyOptions::default());
        if let Some(d) = r.diagnostics.first() {
            return Err(format!("{} pc {}: {}", p.name, d.pc, d.message.lines().next().unwrap_or("")));
        }
    }
    Ok(())
}

fn kernel_verdict(path: &Path) -> Result<(), String> {
    match bpfbox_kernel::KernelObject::load(path, &bpfbox_kernel::OpenOptions::default()) {
        Ok(_) => Ok(()),
        Err(e) => {
            let last = e.verifier_log().and_then(|l| {
                l.lines().rev().find(|x| !x.trim().is_empty() && !x.starts_with("processed")).map(str::to_string)
            });
            Err(last.unwrap_or_else(|| e.to_string()))
        }
    }
}

/// Compare verdicts; returns (agreements, lines describing each disagreement).
fn compare(files: &[PathBuf]) -> (usize, Vec<String>) {
    let mut agree = 0;
    let mut diffs = Vec::new();
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let ours = bpfbox_verdict(f);
        let theirs = kernel_verdict(f);
        if ours.is_ok() == theirs.is_ok() {
            agree += 1;
        } else {
            diffs.push(format!("{name}: bpfbox {:?} / kernel {:?}", ours, theirs));
        }
    }
    (agree, diffs)
}

#[test]
fn c_cases_agree_with_the_kernel() {
    let files = objects("tests/verifier/c");
    assert!(!files.is_empty(), "no compiled C cases (run tests/verifier/c/build.sh)");
    let listed = |name: &str| EXPECTED_DISAGREEMENTS.iter().any(|(n, _)| *n == name);
    // The file name says what the case expects: *_ok.o accepted, *_bad.o rejected.
    let mut wrong = Vec::new();
    for f in &files {
        let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let ours = bpfbox_verdict(f);
        if ours.is_ok() != name.ends_with("_ok.o") && !listed(&name) {
            wrong.push(format!("{name}: bpfbox says {ours:?}"));
        }
    }
    assert!(wrong.is_empty(), "unexpected verdicts:\n  {}", wrong.join("\n  "));
    if !bpfbox_kernel::available_or_skip() {
        return;
    }
    for f in &files {
        let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        assert_eq!(
            kernel_verdict(f).is_ok(),
            name.ends_with("_ok.o"),
            "{name}: the kernel disagrees with the file name"
        );
    }
    let (agree, diffs) = compare(&files);
    eprintln!("C cases: bpfbox and the kernel agree on {agree} of {}", files.len());
    let unexpected: Vec<&String> =
        diffs.iter().filter(|d| !EXPECTED_DISAGREEMENTS.iter().any(|(n, _)| d.starts_with(n))).collect();
    assert!(
        unexpected.is_empty(),
        "disagreements:\n  {}",
        unexpected.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  ")
    );
}

/// Reports (does not fail on) agreement on the repository's other programs;
/// the count is the honest state of the verifier.
#[test]
fn repository_programs_agreement_report() {
    if !bpfbox_kernel::available_or_skip() {
        return;
    }
    let mut files = objects("examples");
    files.extend(objects("tests/progs"));
    files.extend(objects("tests/realworld"));
    let (agree, diffs) = compare(&files);
    eprintln!("repository programs: bpfbox and the kernel agree on {agree} of {}", files.len());
    for d in &diffs {
        eprintln!("  DISAGREE {d}");
    }
}
