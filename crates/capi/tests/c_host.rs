//! The C example host (examples/host.c) compiled against include/bpfbox.h with the
//! system's C compiler, linked with libbpfbox.so, and run on a repository object.
//! Without a C compiler it prints SKIP (and fails under CI=true).

use std::path::PathBuf;
use std::process::Command;

fn c_compiler() -> Option<String> {
    ["cc", "gcc", "clang-19", "clang"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(str::to_string)
}

/// Where cargo put libbpfbox.so: target/<profile>/ after `cargo build` (a cdylib is
/// not built for tests), or target/<profile>/deps/ next to this test.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let deps = exe.parent().expect("target/<profile>/deps").to_path_buf();
    match deps.join("libbpfbox.so").exists() {
        true => deps,
        false => deps.parent().expect("target/<profile>").to_path_buf(),
    }
}

#[test]
fn c_host_runs_against_the_library() {
    let Some(cc) = c_compiler() else {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "no C compiler (cc, gcc, clang) under CI");
        println!("SKIP: c_host: no C compiler (cc, gcc or clang) on PATH");
        return;
    };
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let lib = lib_dir();
    assert!(
        lib.join("libbpfbox.so").exists(),
        "{} has no libbpfbox.so: build it first (cargo build -p bpfbox-capi; scripts/test.sh does)",
        lib.display()
    );
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bpfbox_c_host");
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(crate_dir.join("include"))
        .arg(crate_dir.join("examples/host.c"))
        .arg("-L")
        .arg(&lib)
        .arg("-lbpfbox")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run the C compiler");
    assert!(out.status.success(), "{cc} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let object = crate_dir.join("../api/tests/host/host_helpers.bpf.o");
    let run = Command::new(&exe).arg(&object).output().expect("run the C host");
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(run.status.success(), "C host failed:\n{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("jit=0: retval=2 hash=") && stdout.contains("jit=1: retval=2 hash="), "{stdout}");
    assert!(stdout.contains("sum=1020"), "{stdout}");
    assert!(stdout.contains("bad_size: insn "), "{stdout}");
    assert!(stdout.contains("garbage: obj: not an ELF file"), "{stdout}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
}
