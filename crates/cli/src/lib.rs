//! Library part of the `bpfbox` CLI: input loading, running and rendering, shared by the
//! `bpfbox` and `bpfbox-conformance-plugin` binaries. Rendering to prose and JSON
//! happens only here.

use bpfbox_isa::{Insn, Syntax};
use std::fmt;
use std::path::{Path, PathBuf};

/// A CLI failure with its exit code: 2 for bad usage or unusable input, 1 for a
/// negative verdict.
#[derive(Debug)]
pub enum CliError {
    Usage(String),
    /// Unusable input file: what and where.
    Input {
        file: PathBuf,
        msg: String,
    },
    Io {
        file: PathBuf,
        err: std::io::Error,
    },
    /// The program faulted at run time (a negative verdict: exit 1).
    Fault(String),
    /// The kernel refused the program (a negative verdict: exit 1).
    Rejected(String),
}

impl CliError {
    pub fn usage(msg: impl Into<String>) -> CliError {
        CliError::Usage(msg.into())
    }
    pub fn input(file: &Path, msg: impl fmt::Display) -> CliError {
        CliError::Input { file: file.to_path_buf(), msg: msg.to_string() }
    }
    pub fn io(file: &Path, err: std::io::Error) -> CliError {
        CliError::Io { file: file.to_path_buf(), err }
    }
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Fault(_) | CliError::Rejected(_) => 1,
            _ => 2,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) => write!(f, "{m}"),
            CliError::Input { file, msg } => write!(f, "{}: {msg}", file.display()),
            CliError::Io { file, err } => write!(f, "{}: {err}", file.display()),
            CliError::Fault(m) | CliError::Rejected(m) => write!(f, "{m}"),
        }
    }
}

/// Read a text file; a non-UTF-8 file is an input error.
pub fn read_text(file: &Path) -> Result<String, CliError> {
    let data = std::fs::read(file).map_err(|e| CliError::io(file, e))?;
    String::from_utf8(data).map_err(|e| {
        CliError::input(file, format!("not a text file (invalid UTF-8 at byte {})", e.utf8_error().valid_up_to()))
    })
}

pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// Parse hex bytes: whitespace-separated or contiguous (`"aabb"`, `"aa bb"`, `"0xaa 0xbb"`).
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        let t = tok.strip_prefix("0x").unwrap_or(tok);
        if t.len() % 2 != 0 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{tok}` is not hex bytes"));
        }
        for i in (0..t.len()).step_by(2) {
            out.push(u8::from_str_radix(&t[i..i + 2], 16).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

/// A program ready to run.
#[derive(Debug)]
pub struct Input {
    pub insns: Vec<Insn>,
}

impl Input {
    /// Load raw bytecode or assembly text (the syntax chosen by `syntax_of`).
    pub fn load(file: &Path, syntax_of: impl Fn(&str) -> Syntax) -> Result<Input, CliError> {
        let data = std::fs::read(file).map_err(|e| CliError::io(file, e))?;
        if data.is_empty() {
            return Err(CliError::input(file, "file is empty"));
        }
        if is_elf(&data) {
            let code = first_program_bytes(&data).map_err(|e| CliError::input(file, e))?;
            let insns = bpfbox_isa::decode_program(&code).map_err(|e| CliError::input(file, e))?;
            return Ok(Input { insns });
        }
        let is_text = data.iter().all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b));
        let insns = if is_text {
            let text = String::from_utf8_lossy(&data);
            bpfbox_isa::assemble(&text, syntax_of(&text)).map_err(|e| CliError::input(file, e))?
        } else {
            bpfbox_isa::decode_program(&data).map_err(|e| CliError::input(file, e))?
        };
        Ok(Input { insns })
    }
}

/// The result of `bpfbox run`, rendered as text or JSON at the edge.
#[derive(Debug)]
pub struct RunReport {
    pub retval: Option<u64>,
    pub error: Option<String>,
    pub data_out: Vec<u8>,
    pub insns_executed: u64,
    pub duration_ns: u64,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

impl RunReport {
    pub fn to_json(&self) -> String {
        let mut v = serde_json::json!({
            "retval": self.retval,
            "data_out": hex(&self.data_out),
            "duration_ns": self.duration_ns,
            "insns_executed": self.insns_executed,
        });
        if let Some(e) = &self.error {
            v["error"] = serde_json::Value::String(e.clone());
        }
        v.to_string()
    }

    pub fn to_human(&self) -> String {
        let mut s = String::new();
        match (self.retval, &self.error) {
            (Some(r), _) => s.push_str(&format!("retval: {r:#x} ({})\n", r as i64)),
            (None, Some(e)) => s.push_str(&format!("error: {e}\n")),
            (None, None) => {}
        }
        if !self.data_out.is_empty() {
            s.push_str(&format!("data_out: {}\n", hex(&self.data_out)));
        }
        s.push_str(&format!("insns_executed: {}\nduration_ns: {}\n", self.insns_executed, self.duration_ns));
        let _ = json_str;
        s
    }
}

/// Run a program on the interpreter (checked mode) with `mem` as r1/r2.
pub fn run_program(
    file: &Path,
    input: Input,
    mut mem: Vec<u8>,
    max_insns: Option<u64>,
    jit: bool,
) -> Result<RunReport, CliError> {
    bpfbox_isa::check_jumps(&input.insns).map_err(|e| CliError::input(file, e))?;
    let max_insns = max_insns.unwrap_or(bpfbox_vm::DEFAULT_MAX_INSNS);
    let (start, res);
    if jit {
        let opts = bpfbox_jit::JitOptions { max_insns, ..Default::default() };
        let prog = bpfbox_jit::JitProgram::compile(&input.insns, &opts).map_err(|e| CliError::input(file, e))?;
        start = std::time::Instant::now();
        res = prog.run(&mut mem);
    } else {
        let opts = bpfbox_vm::VmOptions { max_insns, ..Default::default() };
        let vm = bpfbox_vm::Vm::new(input.insns, opts).map_err(|e| CliError::input(file, e))?;
        start = std::time::Instant::now();
        res = vm.run(&mut mem);
    }
    let duration_ns = start.elapsed().as_nanos() as u64;
    Ok(match res {
        Ok(o) => {
            RunReport { retval: Some(o.r0), error: None, data_out: mem, insns_executed: o.insns_executed, duration_ns }
        }
        Err(e) => RunReport { retval: None, error: Some(e.to_string()), data_out: mem, insns_executed: 0, duration_ns },
    })
}

/// The bytes of the first program section of an ELF object (for `--elf` in the plugin).
pub fn first_program_bytes(data: &[u8]) -> Result<Vec<u8>, String> {
    let obj = bpfbox_object::Object::parse(data).map_err(|e| e.to_string())?;
    // The first code section that is not `.text` (subprograms), else `.text` itself.
    let sec = obj
        .sections
        .iter()
        .find(|s| s.name != ".text" && !s.bytes.is_empty())
        .or_else(|| obj.sections.iter().find(|s| !s.bytes.is_empty()))
        .ok_or_else(|| "the ELF object has no program section".to_string())?;
    Ok(sec.bytes.clone())
}

/// `llvm-objdump -d`-style disassembly of an ELF object.
pub fn objdump(file: &Path, data: &[u8], prog: Option<&str>) -> Result<String, CliError> {
    let obj = bpfbox_object::Object::parse(data).map_err(|e| CliError::input(file, e))?;
    let name = file.display().to_string();
    bpfbox_object::objdump(&obj, &name, prog).map_err(|e| CliError::input(file, e))
}
pub mod debug_cmd;
pub mod facts;
pub mod kernel_args;
#[cfg(feature = "kernel")]
pub mod kernel_cmds;
pub mod run_obj;
pub mod trace_cmd;
pub mod verify_cmd;

/// The kernel's refusal as the CLI prints it (`full_log`: the whole verifier log).
#[cfg(feature = "kernel")]
pub fn kernel_error_text(e: &bpfbox_kernel::KernelError, full_log: bool) -> String {
    kernel_cmds::error_text(e, full_log)
}

/// Whether this `bpfbox` was built with the kernel backend (the `kernel` cargo feature).
pub const HAS_KERNEL_BACKEND: bool = cfg!(feature = "kernel");

/// The error a build without the kernel backend gives for what needs the kernel (`what`:
/// the verb or flag asked for). Exit 2: the request cannot be served by this build.
pub fn no_kernel_backend(what: &str) -> CliError {
    CliError::usage(format!(
        "{what} needs the kernel backend, and this bpfbox was built without it: rebuild with \
         `cargo build --release --features kernel` (it needs libelf-dev, zlib1g-dev and pkg-config: \
         scripts/install-deps.sh installs them)"
    ))
}

/// Run a kernel subcommand (`load`, `attach`, `detach`, `prog`, `map`).
pub fn run_kernel_cmd(cmd: kernel_args::KernelCmd) -> Result<u8, CliError> {
    #[cfg(feature = "kernel")]
    {
        kernel_cmds::run(cmd)
    }
    #[cfg(not(feature = "kernel"))]
    {
        let verb = match cmd {
            kernel_args::KernelCmd::Prog { .. } => "`bpfbox prog`",
            kernel_args::KernelCmd::Map { .. } => "`bpfbox map`",
            kernel_args::KernelCmd::Load { .. } => "`bpfbox load`",
            kernel_args::KernelCmd::Attach { .. } => "`bpfbox attach`",
            kernel_args::KernelCmd::Detach { .. } => "`bpfbox detach`",
            kernel_args::KernelCmd::Feature { .. } => "`bpfbox feature`",
        };
        Err(no_kernel_backend(verb))
    }
}
