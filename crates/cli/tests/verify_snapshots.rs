//! Snapshots of `bpfbox verify`'s human rendering for the most common kernel
//! verifier errors (tests/verifier/c/*_bad.o against tests/verifier/snapshots/*.txt).
//! Durations are normalised to "0.2 ms". `BPFBOX_BLESS=1` rewrites the snapshots.

use bpfbox_cli::verify_cmd::{run, VerifyArgs};
use std::path::{Path, PathBuf};

/// (case, a fragment of the kernel-style message the snapshot must contain)
const CASES: [(&str, &str); 11] = [
    ("stack_oob_read_bad", "stack"),
    ("helper_unknown_bad", "func"),
    ("helper_wrong_type_bad", "program of this type cannot use helper bpf_skb_load_bytes#26"),
    ("stack_misaligned_bad", "misaligned"),
    ("ctx_modified_bad", "ctx"),
    ("loop_unbounded_bad", ""),
    ("r0_uninit_bad", "R0"),
    ("ringbuf_leak_bad", "reference"),
    ("map_nonull_bad", "map_value_or_null"),
    ("map_index_bad", "map_value"),
    ("pkt_short_check_bad", "invalid access to packet"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn normalise(s: &str) -> String {
    s.lines()
        .map(|l| match (l.rfind(", "), l.ends_with(" ms")) {
            (Some(i), true) => format!("{}, 0.2 ms", &l[..i]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn verify_human_snapshots() {
    let bless = std::env::var("BPFBOX_BLESS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for (case, fragment) in CASES {
        let args = VerifyArgs { file: root().join(format!("tests/verifier/c/{case}.o")), ..Default::default() };
        let (out, code) = run(&args).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(code, 1, "{case} must be rejected:\n{out}");
        let out = normalise(&out);
        assert!(out.contains(fragment), "{case}: no `{fragment}` in\n{out}");
        assert!(out.contains(&format!("--> {case}.c:")), "{case}: no source line in\n{out}");
        let snap = root().join(format!("tests/verifier/snapshots/{case}.txt"));
        if bless {
            std::fs::write(&snap, &out).expect("write snapshot");
            continue;
        }
        let want = std::fs::read_to_string(&snap)
            .unwrap_or_else(|e| panic!("{}: {e} (run with BPFBOX_BLESS=1)", snap.display()));
        if want != out {
            failures.push(format!("{case}: snapshot differs\n--- expected\n{want}--- got\n{out}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every rejected C case of the corpus (`tests/verifier/c/*_bad.o`, all built with
/// `-g`) renders with the source file, line and text of the failing instruction.
#[test]
fn every_rejection_renders_a_source_line() {
    let dir = root().join("tests/verifier/c");
    let mut n = 0;
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("read dir").filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
        let Some(case) = name.strip_suffix("_bad.o") else { continue };
        let (out, code) =
            run(&VerifyArgs { file: path.clone(), ..Default::default() }).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(code, 1, "{name} must be rejected:\n{out}");
        let src = out.lines().skip_while(|l| !l.trim_start().starts_with(&format!("--> {case}_bad.c:"))).nth(1);
        assert!(src.is_some_and(|l| !l.trim().is_empty()), "{name}: no source line and text in\n{out}");
        n += 1;
    }
    eprintln!("{n} rejected C cases render with their source line");
    assert!(n >= 15, "only {n} rejected C cases");
}
