//! bpf_conformance test files, and running them on bpfbox.
//!
//! A test file has sections introduced by `-- name` lines: `asm` (uBPF assembly),
//! `raw` (instructions as 64-bit hex words or as bytes), `mem` (hex bytes given to the
//! program in r1, with r2 = its length), `result` (expected r0), `error` (expected
//! failure text), and ignored `c` / `no register offset` sections. This module parses
//! them ([`TestFile::parse`]), and judges an outcome the way the suite's runner does
//! ([`judge`]), comparing all 64 bits of r0.
//!
//! The suite's data is not part of this repository: [`suite_dir`] finds it beside the
//! workspace (`../shared/conformance`) or where `BPFBOX_CONFORMANCE_DIR` points.

use bpfbox_isa::{ubpf, Insn};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Environment variable overriding the suite location (the folder holding `tests/`).
pub const DIR_ENV: &str = "BPFBOX_CONFORMANCE_DIR";

/// The suite folder: `$BPFBOX_CONFORMANCE_DIR`, else `<workspace>/../shared/conformance`.
pub fn suite_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(DIR_ENV) {
        return PathBuf::from(d);
    }
    // crates/conformance -> workspace root -> its parent
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
}

/// The `*.data` files of the suite's folder `sub` (`tests` or `negative`), sorted;
/// `None` after printing `SKIP: …` when the suite is absent (a user's clone), and a
/// panic instead when `CI=true` (CI must run the suite).
pub fn suite_files_or_skip(sub: &str) -> Option<Vec<PathBuf>> {
    let dir = suite_dir().join(sub);
    match data_files(&dir) {
        Ok(files) if !files.is_empty() => Some(files),
        _ => {
            let msg = format!("conformance suite not found at {} (set {DIR_ENV})", dir.display());
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg}");
            }
            println!("SKIP: {msg}");
            None
        }
    }
}

/// All `*.data` files of a folder, sorted.
pub fn data_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    v.sort();
    Ok(v)
}

/// Why a test file cannot be used as a test (the runner would skip it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown directive `{0}`")]
    UnknownDirective(String),
    #[error("no result or error section")]
    NoExpectation,
    #[error("no instructions")]
    NoInstructions,
    #[error("bad result value `{0}`")]
    BadResult(String),
    #[error("bad mem byte `{0}`")]
    BadMem(String),
    #[error("bad raw word `{0}`")]
    BadRaw(String),
    #[error("assembler: {0}")]
    Asm(#[from] bpfbox_isa::AsmError),
}

/// A parsed test file. `program` is the bytecode the runner would send to a plugin.
#[derive(Debug, Clone)]
pub struct TestFile {
    pub asm: Option<String>,
    pub raw: Option<Vec<u8>>,
    pub mem: Vec<u8>,
    pub result: Option<u64>,
    pub error: Option<String>,
}

impl TestFile {
    /// Parse the text of a test file (without assembling).
    pub fn parse(text: &str) -> Result<TestFile, ParseError> {
        #[derive(PartialEq)]
        enum S {
            Ignore,
            Asm,
            Raw,
            Result,
            Mem,
            Error,
        }
        let mut state = S::Ignore;
        let (mut asm, mut raw_text, mut mem_text) = (String::new(), String::new(), String::new());
        let (mut has_asm, mut has_raw) = (false, false);
        let mut result: Option<String> = None;
        let mut error: Option<String> = None;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if let Some(d) = line.trim_start().strip_prefix("--") {
                state = match d.trim() {
                    "asm" => {
                        has_asm = true;
                        S::Asm
                    }
                    "raw" => {
                        has_raw = true;
                        S::Raw
                    }
                    "result" => S::Result,
                    "mem" => S::Mem,
                    "error" => {
                        error.get_or_insert_with(String::new);
                        S::Error
                    }
                    "c" | "no register offset" => S::Ignore,
                    other => return Err(ParseError::UnknownDirective(other.to_string())),
                };
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            match state {
                S::Asm => {
                    asm.push_str(line);
                    asm.push('\n');
                }
                S::Raw => {
                    raw_text.push(' ');
                    raw_text.push_str(line.split('#').next().unwrap_or(""));
                }
                S::Result => result = Some(line.trim().to_string()),
                S::Mem => {
                    mem_text.push(' ');
                    mem_text.push_str(line);
                }
                S::Error => error = Some(line.trim().to_string()),
                S::Ignore => {}
            }
        }
        if result.is_none() && error.is_none() {
            return Err(ParseError::NoExpectation);
        }
        let result = match result {
            None => None,
            Some(r) => Some(parse_u64(&r).ok_or(ParseError::BadResult(r))?),
        };
        let mem = mem_text
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).map_err(|_| ParseError::BadMem(b.to_string())))
            .collect::<Result<Vec<u8>, _>>()?;
        let raw = if has_raw { Some(parse_raw(&raw_text)?) } else { None };
        Ok(TestFile { asm: has_asm.then_some(asm), raw, mem, result, error })
    }

    /// The bytecode of the test: its `raw` section if present (as the runner does),
    /// else its assembled `asm` section.
    pub fn bytecode(&self) -> Result<Vec<u8>, ParseError> {
        let bytes = match (&self.raw, &self.asm) {
            (Some(raw), _) => raw.clone(),
            (None, Some(asm)) => bpfbox_isa::encode_program(&ubpf::assemble(asm)?),
            (None, None) => Vec::new(),
        };
        if bytes.is_empty() {
            return Err(ParseError::NoInstructions);
        }
        Ok(bytes)
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `raw` sections hold either 64-bit words (`0x5566778800000018`, one instruction each,
/// stored little-endian) or individual hex bytes (`07 00 01 00 ...`).
fn parse_raw(text: &str) -> Result<Vec<u8>, ParseError> {
    let toks: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    if toks.iter().all(|t| t.len() == 2 && t.bytes().all(|b| b.is_ascii_hexdigit())) {
        for t in toks {
            out.push(u8::from_str_radix(t, 16).map_err(|_| ParseError::BadRaw(t.to_string()))?);
        }
    } else {
        for t in toks {
            let v = parse_u64(t).ok_or_else(|| ParseError::BadRaw(t.to_string()))?;
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

/// What an engine did with a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Ran to `exit` with this r0.
    Returned(u64),
    /// Refused or failed; the text is what it reported.
    Failed(String),
}

/// The runner's verdict on one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
}

/// Judge an outcome against a test's expectation, as the bpf_conformance runner does:
/// with an `error` section the engine must fail with that text; otherwise it must
/// return exactly the expected r0 (all 64 bits).
pub fn judge(test: &TestFile, outcome: &Outcome) -> Verdict {
    match (&test.error, outcome) {
        (Some(want), Outcome::Failed(got)) => {
            if got.lines().next().unwrap_or("").trim() == want.as_str() {
                Verdict::Pass
            } else {
                Verdict::Fail(format!("failed with `{got}`, expected error `{want}`"))
            }
        }
        (Some(want), Outcome::Returned(v)) => Verdict::Fail(format!("returned {v:#x}, expected error `{want}`")),
        (None, Outcome::Failed(got)) => Verdict::Fail(format!("failed: {got}")),
        (None, Outcome::Returned(v)) => {
            let want = test.result.unwrap_or(0);
            if *v == want {
                Verdict::Pass
            } else {
                Verdict::Fail(format!("returned {v:#x}, expected {want:#x}"))
            }
        }
    }
}

/// Which bpfbox engine to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Interp,
    Jit,
}

/// Run bytecode in-process the way the conformance plugin does: decode, then execute
/// in checked mode with r1 = memory, r2 = its length and helper 5 as the suite's
/// "unwind" helper.
pub fn run_bytecode(bytecode: &[u8], mem: &[u8], engine: Engine) -> Outcome {
    match run_inner(bytecode, mem, engine) {
        Ok(v) => Outcome::Returned(v),
        Err(e) => Outcome::Failed(e),
    }
}

fn run_inner(bytecode: &[u8], mem: &[u8], engine: Engine) -> Result<u64, String> {
    let insns: Vec<Insn> = bpfbox_isa::decode_program(bytecode).map_err(|e| e.to_string())?;
    bpfbox_isa::check_jumps(&insns).map_err(|e| e.to_string())?;
    let mut mem = mem.to_vec();
    match engine {
        Engine::Interp => {
            let opts = bpfbox_vm::VmOptions { helpers: bpfbox_vm::HelperTable::conformance(), ..Default::default() };
            let vm = bpfbox_vm::Vm::new(insns, opts).map_err(|e| e.to_string())?;
            vm.run(&mut mem).map(|o| o.r0).map_err(|e| e.to_string())
        }
        Engine::Jit => {
            let opts = bpfbox_jit::JitOptions { helpers: bpfbox_vm::HelperTable::conformance(), ..Default::default() };
            let jit = bpfbox_jit::JitProgram::compile(&insns, &opts).map_err(|e| e.to_string())?;
            jit.run(&mut mem).map(|o| o.r0).map_err(|e| e.to_string())
        }
    }
}

/// Encode bytes the way the runner passes them: two hex digits and spaces per byte.
pub fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}  ")).collect()
}

/// Run a test through a plugin process speaking the bpf_conformance protocol:
/// `PLUGIN <mem hex> <options>`, bytecode as hex on stdin, r0 as hex on stdout,
/// non-zero exit on failure.
pub fn run_plugin(plugin: &Path, options: &[&str], bytecode: &[u8], mem: &[u8]) -> std::io::Result<Outcome> {
    use std::io::Write;
    let mut child = Command::new(plugin)
        .arg(hex_bytes(mem))
        .args(options)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A plugin may refuse its arguments and exit before reading its input.
        match writeln!(stdin, "{}", hex_bytes(bytecode)) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
            _ => {}
        }
    }
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).replace(['\r', '\n'], "");
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Ok(Outcome::Failed(if stdout.is_empty() { stderr } else { stdout }));
    }
    match u64::from_str_radix(stdout.trim().trim_start_matches("0x"), 16) {
        Ok(v) => Ok(Outcome::Returned(v)),
        Err(_) => Ok(Outcome::Failed(format!("plugin printed an invalid value `{stdout}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections() {
        let t = TestFile::parse("# c\n-- asm\nmov %r0, 1\nexit\n-- mem\n01 02\n-- result\n0x1\n").unwrap();
        assert_eq!(t.mem, vec![1, 2]);
        assert_eq!(t.result, Some(1));
        assert_eq!(t.bytecode().unwrap().len(), 16);
    }

    #[test]
    fn raw_words_and_bytes() {
        assert_eq!(parse_raw(" 0x0000000000000095").unwrap(), vec![0x95, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse_raw(" 95 00 00 00 00 00 00 00").unwrap(), vec![0x95, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn unknown_directive_is_refused() {
        assert!(matches!(TestFile::parse("-- asm\n-- Unknown directive\n"), Err(ParseError::UnknownDirective(_))));
    }

    #[test]
    fn judge_compares_all_64_bits() {
        let t = TestFile::parse("-- asm\nexit\n-- result\n0x8977665544332211\n").unwrap();
        assert_eq!(judge(&t, &Outcome::Returned(0x8977665544332211)), Verdict::Pass);
        assert!(matches!(judge(&t, &Outcome::Returned(0x8877665544332211)), Verdict::Fail(_)));
    }
}
