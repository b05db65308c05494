//! `bpfbox trace` as a user runs it, without the kernel: `--dry-run` compiles and verifies;
//! bad scripts give one rustc-style error with line, column and caret, and exit 2.

#![allow(clippy::unwrap_used)]

use std::process::Command;

const BPFBOX: &str = env!("CARGO_BIN_EXE_bpfbox");

fn trace(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BPFBOX).arg("trace").args(args).output().expect("bpfbox runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A script error: exit 2, `error: MESSAGE`, ` --> stdin:LINE:COL`, the line, a caret under COL.
fn assert_script_error(script: &str, needle: &str, line: usize, col: usize) {
    let (code, out, err) = trace(&["--dry-run", "-e", script]);
    assert_eq!(code, 2, "{script}: exit {code}\n{err}");
    assert!(out.is_empty(), "{script}: printed {out}");
    assert!(err.starts_with("error: "), "{script}: {err}");
    assert!(err.contains(needle), "{script}: expected `{needle}` in\n{err}");
    assert!(err.contains(&format!("--> stdin:{line}:{col}")), "{script}: expected {line}:{col} in\n{err}");
    let src_line = script.lines().nth(line - 1).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    let at = lines.iter().position(|l| l.ends_with(src_line)).unwrap_or_else(|| panic!("no source line in\n{err}"));
    let caret = lines[at + 1];
    let bar = caret.find('|').unwrap();
    assert_eq!(caret[bar + 2..].find('^'), Some(col - 1), "{script}: caret misplaced in\n{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_scripts_point_at_the_problem() {
    assert_script_error("BEGIN { printf(\"x\" }", "syntax error", 1, 20);
    assert_script_error("BEGIN {\n  @x = count(;\n}", "syntax error", 2, 14);
    assert_script_error("tracepoint:nosuchcat:nosuchevent { }", "unknown tracepoint", 1, 1);
    assert_script_error("bogus:thing { }", "unknown probe type", 1, 1);
    assert_script_error("BEGIN { nosuchfn(1); }", "unknown function `nosuchfn`", 1, 9);
    assert_script_error("BEGIN { $x = 1; $x = \"str\"; }", "type mismatch for $x", 1, 17);
    assert_script_error("BEGIN { @x = count(); @x = 5; }", "@x", 1, 23);
    assert_script_error("BEGIN { printf(\"%d\\n\", $undefined); }", "undefined variable: $undefined", 1, 24);
    assert_script_error("BEGIN { @y = @never + 1; }", "undefined map: @never", 1, 14);
    assert_script_error("BEGIN { @h = lhist(1, 10, 5, 1); }", "lhist()", 1, 14);
    assert_script_error("BEGIN { @c = count(1); }", "count() takes 0 arguments", 1, 14);
    assert_script_error("BEGIN { $x = count(); }", "can only be assigned to a map", 1, 14);
    assert_script_error("BEGIN { system(\"ls\"); }", "--unsafe", 1, 9);
}

#[test]
fn good_scripts_compile_without_root() {
    for s in [
        "BEGIN { printf(\"hello\\n\"); exit(); }",
        "BEGIN { @[1, \"a\"] = count(); @s = sum(3); @h = hist(100); @l = lhist(5, 0, 10, 1); exit(); }",
        "interval:s:1 { print(@x); clear(@x); } BEGIN { @x[\"k\"] = 1 }",
        "BEGIN { $i = 0; while ($i < 5) { $i++; if ($i == 3) { continue; } } unroll(2) { @u = @u + 1; } exit(); }",
    ] {
        let (code, out, err) = trace(&["--dry-run", "-e", s]);
        assert_eq!(code, 0, "{s}\n{err}");
        assert!(out.is_empty());
    }
}

#[test]
fn emit_elf_writes_an_object_the_other_commands_read() {
    let dir = std::env::temp_dir().join(format!("bpfbox-trace-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let obj = dir.join("s.o");
    let (code, _, err) = trace(&[
        "--dry-run",
        "--emit-elf",
        obj.to_str().unwrap(),
        "-e",
        "BEGIN { @n = count(); printf(\"%d\\n\", 1); }",
    ]);
    assert_eq!(code, 0, "{err}");
    for cmd in [&["verify"][..], &["disasm"][..]] {
        let o = Command::new(BPFBOX).args(cmd).arg(&obj).output().unwrap();
        assert!(o.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("BEGIN"), "{cmd:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_usage_exits_2() {
    let (code, _, err) = trace(&["-f", "yaml", "-e", "BEGIN {}"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown output format `yaml`"), "{err}");
    let (code, _, err) = trace(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("needs a program"), "{err}");
    let (code, _, err) = trace(&["/nonexistent/script.bt"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn struct_fields_through_the_kernels_btf() {
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but no /sys/kernel/btf/vmlinux");
        println!("SKIP struct_fields_through_the_kernels_btf: no /sys/kernel/btf/vmlinux");
        return;
    }
    let (code, _, err) = trace(&[
        "--dry-run",
        "-e",
        "BEGIN { printf(\"%s %d %d\\n\", curtask->comm, curtask->pid, curtask->real_parent->tgid); \
         @f[((struct task_struct *)curtask)->mm->mmap_base] = count(); exit(); }",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_script_error(
        "BEGIN { printf(\"%d\", curtask->no_such_field); }",
        "has no field named `no_such_field`",
        1,
        22,
    );
    assert_script_error("BEGIN { $t = *curtask; }", "cannot be used as a value", 1, 9);
    assert_script_error("BEGIN { $p = (struct no_such_struct *)0; }", "unknown type `struct no_such_struct`", 1, 15);
}
