//! Runs the JIT's AArch64 code: every bpf_conformance file whose expected result is
//! not an error is compiled with `bpfbox_jit::cross::compile_for` for
//! `aarch64-unknown-linux-gnu`, written into a minimal static ELF executable (built
//! here by hand: an entry stub that calls the program and writes its r0, status and
//! memory to stdout) and run under `qemu-aarch64`. r0 and the memory after the run
//! must be the interpreter's (and r0 the file's expected result), with both register
//! allocators. The same executable path for x86-64, run natively on every file,
//! checks the harness itself where the JIT is known good.
//!
//! Without `qemu-aarch64` (`scripts/install-deps.sh` installs the `qemu-user` package)
//! or without the suite (`../shared/conformance` or `$BPFBOX_CONFORMANCE_DIR`) the
//! tests print SKIP, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used)]

use bpfbox_conformance::{data_files, suite_dir, TestFile};
use bpfbox_isa::{check_jumps, decode_program, Insn};
use bpfbox_jit::cross::{compile_for, ctx_image, STACK_AREA};
use bpfbox_jit::{JitOptions, RegAlloc};
use bpfbox_vm::{HelperTable, Vm, VmOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Conformance files whose AArch64 code is known to disagree with the interpreter
/// (a JIT bug to fix, not in this harness). A file listed here that agrees again
/// fails the test, so that the list is kept current.
///
/// Empty since the JIT clears the upper half of a 32-bit cmpxchg's expected value
/// (Cranelift 0.135's AArch64 compare-and-swap loop compares all 64 bits).
const KNOWN_AARCH64_FAILURES: &[&str] = &[];

/// How long one run of an executable may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(10);

/// Address of the text segment; the file's first byte is mapped there.
const TEXT_BASE: u64 = 0x40_0000;
/// File offset (in the text segment) of the entry stub, after the headers.
const STUB_OFF: usize = 0x100;
/// File offset of the program's code (the stub must fit before it).
const CODE_OFF: usize = 0x400;
/// The data segment's addresses are `DATA_BASE + file offset` (congruent with the
/// offset modulo any page size, so the segment needs no padding in the file).
const DATA_BASE: u64 = 0x1000_0000;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;

/// The target of an executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arch {
    Aarch64,
    X86_64,
}

impl Arch {
    fn triple(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64-unknown-linux-gnu",
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
        }
    }

    /// ELF `e_machine`.
    fn machine(self) -> u16 {
        match self {
            Arch::Aarch64 => 183,
            Arch::X86_64 => 62,
        }
    }
}

/// Where the data segment puts things, and the values the stub passes.
#[derive(Debug, Clone, Copy)]
struct Args {
    ctx: u64,
    fp: u64,
    /// r1 and r2: the memory's address and length (both 0 without memory, as the
    /// interpreter's `Vm::run` does).
    r1: u64,
    r2: u64,
    /// r0 and status, immediately followed by the memory.
    result: u64,
    /// Bytes the stub writes to stdout from `result`.
    out_len: u64,
}

/// The entry stub for AArch64: load the arguments into x0..x6, `bl` the program,
/// store x0 and x1 at `result`, `write(1, result, out_len)`, `exit_group(0)`.
fn stub_aarch64(stub_addr: u64, entry: u64, a: &Args) -> Result<Vec<u8>, String> {
    let mut w: Vec<u32> = Vec::new();
    let mov64 = |w: &mut Vec<u32>, rd: u32, v: u64| {
        // MOVZ for the low half-word, MOVK for the others.
        w.push(0xd280_0000 | (((v & 0xffff) as u32) << 5) | rd);
        for hw in 1..4u32 {
            let part = ((v >> (16 * hw)) & 0xffff) as u32;
            if part != 0 {
                w.push(0xf280_0000 | (hw << 21) | (part << 5) | rd);
            }
        }
    };
    for (rd, v) in [(0, a.ctx), (1, a.fp), (2, a.r1), (3, a.r2), (4, 0), (5, 0), (6, 0)] {
        mov64(&mut w, rd, v);
    }
    let at = stub_addr + 4 * w.len() as u64;
    let delta = entry.wrapping_sub(at) as i64;
    if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
        return Err(format!("entry {entry:#x} out of `bl` range from {at:#x}"));
    }
    w.push(0x9400_0000 | ((delta >> 2) as u32 & 0x03ff_ffff)); // bl entry
    mov64(&mut w, 9, a.result);
    w.push(0xf900_0000 | (9 << 5)); // str x0, [x9]
    w.push(0xf900_0000 | (1 << 10) | (9 << 5) | 1); // str x1, [x9, #8]
    mov64(&mut w, 0, 1);
    w.push(0xaa00_03e0 | (9 << 16) | 1); // mov x1, x9
    mov64(&mut w, 2, a.out_len);
    mov64(&mut w, 8, 64); // write
    w.push(0xd400_0001); // svc #0
    mov64(&mut w, 0, 0);
    mov64(&mut w, 8, 94); // exit_group
    w.push(0xd400_0001); // svc #0
    Ok(w.iter().flat_map(|x| x.to_le_bytes()).collect())
}

/// The entry stub for x86-64 (System V: rdi, rsi, rdx, rcx, r8, r9, then the stack;
/// results in rax and rdx), doing what [`stub_aarch64`] does.
fn stub_x86_64(stub_addr: u64, entry: u64, a: &Args) -> Result<Vec<u8>, String> {
    let mut b: Vec<u8> = Vec::new();
    let movabs = |b: &mut Vec<u8>, rex: u8, op: u8, v: u64| {
        b.extend_from_slice(&[rex, op]);
        b.extend_from_slice(&v.to_le_bytes());
    };
    movabs(&mut b, 0x48, 0xbf, a.ctx); // mov rdi, ctx
    movabs(&mut b, 0x48, 0xbe, a.fp); // mov rsi, fp
    movabs(&mut b, 0x48, 0xba, a.r1); // mov rdx, r1
    movabs(&mut b, 0x48, 0xb9, a.r2); // mov rcx, r2
    movabs(&mut b, 0x49, 0xb8, 0); // mov r8, 0
    movabs(&mut b, 0x49, 0xb9, 0); // mov r9, 0

    // rsp is 16-aligned at process start: pad, push the 7th argument (0), call.
    b.extend_from_slice(&[0x48, 0x83, 0xec, 0x08, 0x6a, 0x00]); // sub rsp, 8; push 0
    let next = stub_addr + b.len() as u64 + 5;
    let rel = i32::try_from(entry.wrapping_sub(next) as i64).map_err(|_| "entry out of `call` range".to_string())?;
    b.push(0xe8); // call rel32
    b.extend_from_slice(&rel.to_le_bytes());
    movabs(&mut b, 0x49, 0xbb, a.result); // mov r11, result
    b.extend_from_slice(&[0x49, 0x89, 0x03]); // mov [r11], rax
    b.extend_from_slice(&[0x49, 0x89, 0x53, 0x08]); // mov [r11 + 8], rdx
    b.extend_from_slice(&[0xb8, 1, 0, 0, 0]); // mov eax, 1 (write)
    b.extend_from_slice(&[0xbf, 1, 0, 0, 0]); // mov edi, 1
    b.extend_from_slice(&[0x4c, 0x89, 0xde]); // mov rsi, r11
    movabs(&mut b, 0x48, 0xba, a.out_len); // mov rdx, out_len
    b.extend_from_slice(&[0x0f, 0x05]); // syscall
    b.extend_from_slice(&[0xb8, 231, 0, 0, 0]); // mov eax, 231 (exit_group)
    b.extend_from_slice(&[0x31, 0xff]); // xor edi, edi
    b.extend_from_slice(&[0x0f, 0x05]); // syscall
    Ok(b)
}

/// Address at which [`executable`] loads the program's code (`compile_for`'s base).
fn code_base() -> u64 {
    TEXT_BASE + CODE_OFF as u64
}

fn align16(x: usize) -> usize {
    x.next_multiple_of(16)
}

/// A static ELF executable for `arch`: the stub and `code` (linked for
/// [`code_base`], main function at `entry`) in a read+execute segment; the result
/// area, a copy of `mem`, the run context and the stack frames (zeroed, in .bss) in a
/// read+write one.
fn executable(arch: Arch, code: &[u8], entry: u64, mem: &[u8]) -> Result<Vec<u8>, String> {
    let text_end = CODE_OFF + code.len();
    let data_off = align16(text_end);
    let data_addr = |off: usize| DATA_BASE + off as u64;
    let result_off = data_off;
    let mem_off = result_off + 16;
    let ctx_off = align16(mem_off + mem.len());
    let ctx_len = ctx_image(STACK_AREA as u64).len();
    let file_end = ctx_off + ctx_len;
    let stack_off = align16(file_end);
    let stack_top = data_addr(stack_off + STACK_AREA);
    let ctx = ctx_image(stack_top);
    if ctx.len() != ctx_len {
        return Err("ctx_image changed size".into());
    }
    let args = Args {
        ctx: data_addr(ctx_off),
        fp: stack_top,
        r1: if mem.is_empty() { 0 } else { data_addr(mem_off) },
        r2: mem.len() as u64,
        result: data_addr(result_off),
        out_len: 16 + mem.len() as u64,
    };
    let stub_addr = TEXT_BASE + STUB_OFF as u64;
    let stub = match arch {
        Arch::Aarch64 => stub_aarch64(stub_addr, entry, &args)?,
        Arch::X86_64 => stub_x86_64(stub_addr, entry, &args)?,
    };
    if STUB_OFF + stub.len() > CODE_OFF {
        return Err(format!("stub of {} bytes does not fit", stub.len()));
    }

    let mut f = vec![0u8; file_end];
    // ELF header.
    let mut h: Vec<u8> = Vec::with_capacity(EHDR_SIZE);
    h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]); // 64-bit, LE, version 1, SysV ABI
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    h.extend_from_slice(&arch.machine().to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes()); // e_version
    h.extend_from_slice(&stub_addr.to_le_bytes()); // e_entry
    h.extend_from_slice(&(EHDR_SIZE as u64).to_le_bytes()); // e_phoff
    h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    h.extend_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    h.extend_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes()); // e_phnum
    h.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx

    // Program headers: text (R+X) from file offset 0, data (R+W) with .bss after it.
    let phdr = |h: &mut Vec<u8>, flags: u32, off: usize, vaddr: u64, filesz: usize, memsz: usize| {
        h.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&(off as u64).to_le_bytes());
        h.extend_from_slice(&vaddr.to_le_bytes());
        h.extend_from_slice(&vaddr.to_le_bytes()); // p_paddr
        h.extend_from_slice(&(filesz as u64).to_le_bytes());
        h.extend_from_slice(&(memsz as u64).to_le_bytes());
        h.extend_from_slice(&0x1_0000u64.to_le_bytes()); // p_align (64 KiB pages at most)
    };
    phdr(&mut h, 5, 0, TEXT_BASE, text_end, text_end);
    phdr(&mut h, 6, data_off, data_addr(data_off), file_end - data_off, stack_off + STACK_AREA - data_off);
    f[..h.len()].copy_from_slice(&h);
    f[STUB_OFF..STUB_OFF + stub.len()].copy_from_slice(&stub);
    f[CODE_OFF..text_end].copy_from_slice(code);
    f[mem_off..mem_off + mem.len()].copy_from_slice(mem);
    f[ctx_off..file_end].copy_from_slice(&ctx);
    Ok(f)
}

/// What an executable reported.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Output {
    r0: u64,
    status: u64,
    mem: Vec<u8>,
}

/// Write `elf` to `path`, run it (under `qemu-aarch64` for AArch64, natively for
/// x86-64) with a timeout and parse what it wrote: r0, status, `mem_len` bytes.
fn run_executable(arch: Arch, elf: &[u8], path: &Path, mem_len: usize) -> Result<Output, String> {
    use std::os::unix::fs::PermissionsExt;
    let io = |what: &str, e: std::io::Error| format!("{what} {}: {e}", path.display());
    std::fs::write(path, elf).map_err(|e| io("write", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|e| io("chmod", e))?;
    let out_path = path.with_extension("out");
    let mut tries = 0;
    let mut child = loop {
        let out = std::fs::File::create(&out_path).map_err(|e| io("create output of", e))?;
        let mut cmd = match arch {
            Arch::Aarch64 => {
                let mut c = Command::new("qemu-aarch64");
                c.arg(path);
                c
            }
            Arch::X86_64 => Command::new(path),
        };
        match cmd.stdin(Stdio::null()).stdout(out).stderr(Stdio::piped()).spawn() {
            Ok(c) => break c,
            // ETXTBSY: another thread's child inherited our write descriptor for a moment.
            Err(e) if e.raw_os_error() == Some(26) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(io("run", e)),
        }
    };
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| io("wait for", e))? {
            break s;
        }
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {RUN_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    if !status.success() {
        return Err(format!("exited with {status}; stderr: {}", stderr.trim()));
    }
    let bytes = std::fs::read(&out_path).map_err(|e| io("read output of", e))?;
    if bytes.len() != 16 + mem_len {
        return Err(format!("wrote {} bytes, expected {}", bytes.len(), 16 + mem_len));
    }
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    Ok(Output { r0: word(0), status: word(8), mem: bytes[16..].to_vec() })
}

/// A directory of our own for executables, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("bpfbox-cross-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Is `qemu-aarch64` there? If not: `false` after printing SKIP, or a panic under
/// `CI=true`.
fn qemu_or_skip() -> bool {
    let ok = Command::new("qemu-aarch64")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let msg = "qemu-aarch64 not installed (scripts/install-deps.sh installs qemu-user)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        println!("SKIP: {msg}");
    }
    ok
}

/// One conformance file.
struct Case {
    name: String,
    insns: Vec<Insn>,
    mem: Vec<u8>,
    result: Option<u64>,
    error: Option<String>,
}

/// The suite's files, or `None` after printing SKIP (a panic under `CI=true`).
fn suite() -> Option<Vec<Result<Case, String>>> {
    let dir = suite_dir().join("tests");
    let files = match data_files(&dir) {
        Ok(f) if !f.is_empty() => f,
        _ => {
            let msg = format!("conformance suite not found at {} (set BPFBOX_CONFORMANCE_DIR)", dir.display());
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg}");
            }
            println!("SKIP: {msg}");
            return None;
        }
    };
    // A debugging aid: `BPFBOX_CROSS_ONLY=name.data` runs only that file (with
    // `BPFBOX_JIT_DUMP=1`, its code is printed).
    let only = std::env::var("BPFBOX_CROSS_ONLY").ok();
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| only.as_ref().is_none_or(|o| f.file_name().is_some_and(|n| n == o.as_str())))
        .collect();
    let load = |f: &PathBuf| -> Result<Case, String> {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(f).map_err(|e| format!("{name}: {e}"))?;
        let t = TestFile::parse(&text).map_err(|e| format!("{name}: {e}"))?;
        let code = t.bytecode().map_err(|e| format!("{name}: {e}"))?;
        let insns = decode_program(&code).map_err(|e| format!("{name}: {e}"))?;
        check_jumps(&insns).map_err(|e| format!("{name}: {e}"))?;
        Ok(Case { name, insns, mem: t.mem, result: t.result, error: t.error })
    };
    Some(files.iter().map(load).collect())
}

/// The interpreter's r0 and memory after the run.
fn on_interp(c: &Case) -> Result<(u64, Vec<u8>), String> {
    let opts = VmOptions { helpers: HelperTable::conformance(), ..Default::default() };
    let vm = Vm::new(c.insns.clone(), opts).map_err(|e| e.to_string())?;
    let mut mem = c.mem.clone();
    let out = vm.run(&mut mem).map_err(|e| e.to_string())?;
    Ok((out.r0, mem))
}

/// How one file went on one target.
enum Judged {
    /// Agreed with the interpreter and the expected result, with both allocators.
    Agree,
    /// Calls helpers or the like: cross code cannot run it.
    NeedsRuntime,
    /// Disagreements (one line each).
    Disagree(Vec<String>),
}

fn judge_case(arch: Arch, c: &Case, regallocs: &[RegAlloc], dir: &Path) -> Judged {
    let interp = match on_interp(c) {
        Ok(x) => x,
        Err(e) => return Judged::Disagree(vec![format!("{}: interpreter failed: {e}", c.name)]),
    };
    if c.result.is_some_and(|want| want != interp.0) {
        let want = c.result.unwrap_or_default();
        return Judged::Disagree(vec![format!("{}: interpreter r0 {:#x} != expected {want:#x}", c.name, interp.0)]);
    }
    let mut bad = Vec::new();
    for &regalloc in regallocs {
        let opts = JitOptions {
            checked: false,
            count_insns: false,
            helpers: HelperTable::conformance(),
            regalloc,
            ..Default::default()
        };
        let cc = match compile_for(arch.triple(), &c.insns, &opts, code_base()) {
            Ok(cc) => cc,
            Err(e) if e.to_string().contains("needs bpfbox's runtime") => return Judged::NeedsRuntime,
            Err(e) => {
                bad.push(format!("{} ({regalloc:?}): compile_for failed: {e}", c.name));
                continue;
            }
        };
        let path = dir.join(format!("{}-{regalloc:?}", c.name.trim_end_matches(".data")));
        let got =
            executable(arch, &cc.code, cc.entry, &c.mem).and_then(|elf| run_executable(arch, &elf, &path, c.mem.len()));
        match got {
            Err(e) => bad.push(format!("{} ({regalloc:?}): {e}", c.name)),
            Ok(o) if o.status != 0 => {
                bad.push(format!("{} ({regalloc:?}): status {} (r0 {:#x})", c.name, o.status, o.r0))
            }
            Ok(o) if o.r0 != interp.0 => {
                bad.push(format!("{} ({regalloc:?}): r0 {:#x}, interpreter {:#x}", c.name, o.r0, interp.0))
            }
            Ok(o) if o.mem != interp.1 => bad
                .push(format!("{} ({regalloc:?}): memory after {:02x?}, interpreter {:02x?}", c.name, o.mem, interp.1)),
            Ok(_) => {}
        }
    }
    if bad.is_empty() {
        Judged::Agree
    } else {
        Judged::Disagree(bad)
    }
}

/// Counts of a run over the suite.
#[derive(Debug, Default)]
struct Tally {
    ran: usize,
    agree: usize,
    needs_runtime: usize,
    expected_errors: usize,
    /// (file name, disagreement lines).
    disagree: Vec<(String, Vec<String>)>,
}

/// Judge `cases` on `arch` with `threads` workers (each runs its executables one at a
/// time).
fn run_suite(arch: Arch, cases: &[Case], regallocs: &[RegAlloc], threads: usize, dir: &Path) -> Tally {
    let tally = Mutex::new(Tally::default());
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = cases.get(i) else { break };
                if c.error.is_some() {
                    tally.lock().unwrap().expected_errors += 1;
                    continue;
                }
                let j = judge_case(arch, c, regallocs, dir);
                let mut t = tally.lock().unwrap();
                match j {
                    Judged::Agree => {
                        t.ran += 1;
                        t.agree += 1;
                    }
                    Judged::NeedsRuntime => t.needs_runtime += 1,
                    Judged::Disagree(lines) => {
                        t.ran += 1;
                        t.disagree.push((c.name.clone(), lines));
                    }
                }
            });
        }
    });
    let mut t = tally.into_inner().unwrap();
    t.disagree.sort();
    t
}

/// At least this many files must run under qemu (measured: see the report line).
const MIN_RAN: usize = 300;

#[test]
fn conformance_suite_agrees_on_aarch64_under_qemu() {
    if !qemu_or_skip() {
        return;
    }
    let Some(loaded) = suite() else { return };
    let mut failures: Vec<String> = Vec::new();
    let mut cases = Vec::new();
    for c in loaded {
        match c {
            Ok(c) => cases.push(c),
            Err(e) => failures.push(format!("unusable: {e}")),
        }
    }
    let dir = TempDir::new("aarch64");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8) * 2;
    let t = run_suite(Arch::Aarch64, &cases, &[RegAlloc::Backtracking, RegAlloc::SinglePass], threads, &dir.0);
    println!(
        "cross aarch64: {} files ran under qemu, {} agree, {} skipped (needs runtime), {} expected errors",
        t.ran, t.agree, t.needs_runtime, t.expected_errors
    );
    for (name, lines) in &t.disagree {
        if KNOWN_AARCH64_FAILURES.contains(&name.as_str()) {
            println!("known failure: {}", lines.join("; "));
        } else {
            failures.extend(lines.iter().cloned());
        }
    }
    for known in KNOWN_AARCH64_FAILURES {
        if !t.disagree.iter().any(|(n, _)| n == known) {
            failures.push(format!("{known}: listed in KNOWN_AARCH64_FAILURES but agrees (or is gone): remove it"));
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    assert!(t.ran >= MIN_RAN, "only {} files ran under qemu (at least {MIN_RAN} expected)", t.ran);
}

/// The harness on the host architecture, where the JIT is known good: the same
/// executables for x86-64, run natively (no qemu), on every file.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[test]
fn harness_agrees_natively_on_x86_64() {
    let Some(loaded) = suite() else { return };
    let cases: Vec<Case> = loaded.into_iter().filter_map(Result::ok).filter(|c| c.error.is_none()).collect();
    let dir = TempDir::new("x86_64");
    let t = run_suite(Arch::X86_64, &cases, &[RegAlloc::Backtracking], 2, &dir.0);
    println!(
        "cross x86-64 (native): {} files ran, {} agree, {} skipped (needs runtime)",
        t.ran, t.agree, t.needs_runtime
    );
    let lines: Vec<String> = t.disagree.into_iter().flat_map(|(_, l)| l).collect();
    assert!(lines.is_empty(), "disagreements:\n{}", lines.join("\n"));
    assert!(t.ran >= MIN_RAN, "only {} files ran natively", t.ran);
}

/// A hand-written function in place of a compiled program: stores 0x5a at r1,
/// returns r0 = r2 + 0x100 and status 7.
fn fake_program(arch: Arch) -> Vec<u8> {
    match arch {
        Arch::Aarch64 => [
            0x5280_0000u32 | (0x5a << 5) | 9,       // mov w9, #0x5a
            0x3900_0000 | (2 << 5) | 9,             // strb w9, [x2]
            0x9100_0000 | (0x100 << 10) | (3 << 5), // add x0, x3, #0x100
            0xd280_0000 | (7 << 5) | 1,             // mov x1, #7
            0xd65f_03c0,                            // ret
        ]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect(),
        Arch::X86_64 => vec![
            0xc6, 0x02, 0x5a, // mov byte [rdx], 0x5a
            0x48, 0x8d, 0x81, 0x00, 0x01, 0x00, 0x00, // lea rax, [rcx + 0x100]
            0xba, 0x07, 0x00, 0x00, 0x00, // mov edx, 7
            0xc3, // ret
        ],
    }
}

fn check_elf_writer(arch: Arch) {
    let dir = TempDir::new(&format!("stub-{arch:?}"));
    let code = fake_program(arch);
    let mem = [1u8, 2, 3, 4, 5];
    let elf = executable(arch, &code, code_base(), &mem).unwrap();
    let out = run_executable(arch, &elf, &dir.0.join("stub"), mem.len()).unwrap();
    assert_eq!(out, Output { r0: 0x105, status: 7, mem: vec![0x5a, 2, 3, 4, 5] });
}

#[test]
fn elf_writer_runs_a_stub_only_program_on_aarch64() {
    if !qemu_or_skip() {
        return;
    }
    check_elf_writer(Arch::Aarch64);
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[test]
fn elf_writer_runs_a_stub_only_program_natively() {
    check_elf_writer(Arch::X86_64);
}
