//! The `bpfbox` command-line tool.

use bpfbox_cli::{CliError, Input};
use bpfbox_isa::{llvm, ubpf, Syntax};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "kernel")]
macro_rules! kernel_backend {
    () => {
        "yes"
    };
}
#[cfg(not(feature = "kernel"))]
macro_rules! kernel_backend {
    () => {
        "no (build with --features kernel)"
    };
}

/// `bpfbox --version`: the crate version and the commit it was built from (build.rs),
/// and whether the kernel backend is in.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BPFBOX_COMMIT"),
    ", kernel backend: ",
    kernel_backend!(),
    ")"
);

/// What `bpfbox` alone prints: the main verbs and one command line to try.
const SHORT_USAGE: &str = "\
bpfbox: eBPF, complete: assemble, disassemble, verify and run eBPF programs without root

usage: bpfbox <COMMAND> [ARGS]

  run      run a program of a clang-built object (or raw bytecode) on packets or a context
  verify   check an object as the kernel's verifier does, explaining any rejection
  disasm   disassemble bytecode or an object as llvm-objdump prints it
  asm      assemble text into bytecode
  trace    run a bpftrace script (-e 'PROGRAM' or FILE), compiled straight to eBPF
  load, attach, detach, prog, map   the same objects in the running kernel (bpftool's words)

example:
  bpfbox run examples/xdp_firewall.bpf.o --pcap examples/traffic.pcap --dump-maps

`bpfbox help` lists every command, `bpfbox help <COMMAND>` its options.
";

#[derive(Parser, Debug)]
#[command(name = "bpfbox", version = VERSION, about = "eBPF, complete: assemble, disassemble and run eBPF programs")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum SyntaxArg {
    /// Detect from the text: `%r` registers mean uBPF, otherwise llvm.
    Auto,
    /// The syntax `llvm-objdump -d` prints (`r1 = *(u32 *)(r6 + 0x4)`).
    Llvm,
    /// The uBPF / bpf_conformance syntax (`ldxw %r1, [%r6+4]`).
    Ubpf,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum EngineArg {
    /// The interpreter (checked mode).
    Interp,
    /// The Cranelift JIT (checked mode).
    Jit,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    #[command(flatten)]
    Kernel(bpfbox_cli::kernel_args::KernelCmd),
    /// Run a bpftrace script (`-e 'PROGRAM'` or a FILE), compiled straight to eBPF.
    Trace(bpfbox_cli::trace_cmd::TraceArgs),
    /// Debug a program of an ELF object at the source level (gdb's commands, reverse
    /// execution); commands from standard input when it is not a terminal.
    Debug(bpfbox_cli::debug_cmd::DebugArgs),
    /// Verify the programs of an ELF object as the kernel's verifier would, explaining
    /// rejections in terms of the source.
    Verify {
        file: PathBuf,
        /// Only this program (default: every program of the object).
        #[arg(long)]
        prog: Option<String>,
        /// Machine-readable diagnostics and statistics.
        #[arg(long)]
        json: bool,
        /// Print the state-by-state trace (comparable to the kernel's log level 2).
        #[arg(long)]
        log: bool,
        /// BTF to resolve CO-RE relocations against (default: /sys/kernel/btf/vmlinux).
        #[arg(long)]
        btf: Option<PathBuf>,
        /// Give a program a type: NAME=TYPE, for sections libbpf does not know.
        #[arg(long = "type", value_name = "NAME=TYPE")]
        types: Vec<String>,
        /// Verify as for a loader without CAP_BPF/CAP_PERFMON (no pointer leaks or
        /// pointer comparisons, no uninitialised stack reads, ...).
        #[arg(long)]
        unprivileged: bool,
        /// Which kernel build to be faithful to (which helpers each program type may
        /// call): `auto` (the running kernel's when it can be asked, else the facts
        /// committed with bpfbox), `running`, `committed`, or a facts FILE written by
        /// `bpfbox feature probe`.
        #[arg(long, value_name = "auto|running|committed|FILE", default_value = "auto")]
        kernel_facts: String,
        /// BPF_PROG_LOAD flags, comma-separated: strict-alignment, any-alignment,
        /// sleepable, xdp-has-frags, test-state-freq, test-rnd-hi32, test-reg-invariants.
        #[arg(long, value_name = "FLAG,...", value_delimiter = ',')]
        flags: Vec<String>,
    },
    /// Assemble a text file into raw bytecode.
    Asm {
        file: PathBuf,
        /// Write the bytecode here (raw bytes); without it, print hex, one instruction per line.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = SyntaxArg::Auto)]
        syntax: SyntaxArg,
    },
    /// Disassemble raw bytecode or an ELF object (as `llvm-objdump -d` prints it).
    Disasm {
        file: PathBuf,
        /// Only the program (function) with this name (ELF objects).
        #[arg(long)]
        prog: Option<String>,
        #[arg(long, value_enum, default_value_t = SyntaxArg::Llvm)]
        syntax: SyntaxArg,
    },
    /// Run a program: raw bytecode, assembly text, or a program of an ELF object (with
    /// its maps, helpers and context, like BPF_PROG_TEST_RUN).
    Run {
        file: PathBuf,
        /// Memory given to a raw or assembly program in r1 (r2 = its length), as hex bytes.
        #[arg(long)]
        mem: Option<String>,
        /// The program to run (its function name), for objects with several.
        #[arg(long)]
        prog: Option<String>,
        /// Give a program a type: NAME=TYPE (e.g. `myprog=xdp`), for sections libbpf does not know.
        #[arg(long = "type", value_name = "NAME=TYPE")]
        types: Vec<String>,
        /// Packet data from a file.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Packet data as hex bytes.
        #[arg(long)]
        data_hex: Option<String>,
        /// Run every packet of a pcap file through the same program instance, in order.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// The context (ctx_in) from a file: `struct xdp_md`, `struct __sk_buff`, raw tracepoint bytes...
        #[arg(long)]
        ctx: Option<PathBuf>,
        /// Run each input N times (duration_ns is the mean).
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// Seed a map before the run: MAP=FILE.json (an array of {"key": .., "value": ..}).
        #[arg(long = "map-init", value_name = "MAP=FILE.json")]
        map_init: Vec<String>,
        /// Print every map's contents after the run(s).
        #[arg(long)]
        dump_maps: bool,
        /// Write the output packets (those not dropped) to a pcap file.
        #[arg(long)]
        out_pcap: Option<PathBuf>,
        /// BTF to resolve CO-RE relocations against (default: /sys/kernel/btf/vmlinux).
        #[arg(long)]
        btf: Option<PathBuf>,
        /// The host the program runs on (bpf_fib_lookup, tunnel keys), one statement a
        /// line: `interface eth0 index 2 mac 02:00:00:00:00:01 mtu 1500 addr 10.0.0.1/24`,
        /// `route 10.1.0.0/16 via 10.0.0.2 [dev eth0] [metric N]`, `route
        /// blackhole|unreachable|prohibit PREFIX`, `neighbour 10.0.0.2 lladdr MAC dev eth0
        /// [nud STATE]`, `tunnel id N remote A local B`. Default: lo + eth0 (10.0.0.1/24,
        /// fd00::1/64). With --kernel/--compare the kernel runs in a network namespace
        /// built from the same file (deleted afterwards).
        #[arg(long, value_name = "FILE")]
        world: Option<PathBuf>,
        /// Run in the Linux kernel through BPF_PROG_TEST_RUN instead of bpfbox.
        #[arg(long, conflicts_with = "compare")]
        kernel: bool,
        /// Run in both bpfbox and the kernel and report every difference (exit 1 if any).
        #[arg(long)]
        compare: bool,
        /// With --kernel: print the whole verifier log when the kernel refuses the program.
        #[arg(long)]
        log: bool,
        /// Objects: skip bpfbox's verifier and run every access bounds-checked instead
        /// (by default the object's programs are verified first and a rejection stops the run).
        #[arg(long)]
        no_verify: bool,
        /// With --no-verify: when a run faults, stop in the debugger (`bpfbox debug`'s
        /// commands on standard input) before the faulting instruction, with the
        /// history to step back through.
        #[arg(long, requires = "no_verify", conflicts_with_all = ["kernel", "compare", "json"])]
        debug: bool,
        #[arg(long, value_enum, default_value_t = SyntaxArg::Auto)]
        syntax: SyntaxArg,
        #[arg(long, value_enum, default_value_t = EngineArg::Interp)]
        engine: EngineArg,
        /// Maximum number of instructions to execute before stopping the program.
        #[arg(long)]
        max_insns: Option<u64>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn syntax_for(arg: SyntaxArg, text: &str) -> Syntax {
    match arg {
        SyntaxArg::Llvm => Syntax::Llvm,
        SyntaxArg::Ubpf => Syntax::Ubpf,
        SyntaxArg::Auto => {
            if text.contains("%r") {
                Syntax::Ubpf
            } else {
                Syntax::Llvm
            }
        }
    }
}

fn main() -> ExitCode {
    if std::env::args_os().len() <= 1 {
        eprint!("{SHORT_USAGE}");
        return ExitCode::from(2);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("bpfbox: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Write to stdout; a closed pipe (`bpfbox disasm x.o | head`) ends the program quietly.
fn emit(s: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("bpfbox: error: writing output: {e}");
        std::process::exit(2);
    }
}

macro_rules! outln {
    ($($t:tt)*) => { emit(&format!("{}\n", format_args!($($t)*))) };
}

fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.cmd {
        Cmd::Kernel(k) => bpfbox_cli::run_kernel_cmd(k),
        Cmd::Trace(t) => bpfbox_cli::trace_cmd::run(t),
        Cmd::Debug(d) => bpfbox_cli::debug_cmd::run(&d),
        Cmd::Verify { file, prog, json, log, btf, types, unprivileged, kernel_facts, flags } => {
            let mut prog_flags = 0;
            for f in &flags {
                prog_flags |= bpfbox_verifier::prog_flag(f).ok_or_else(|| {
                    CliError::usage(format!(
                        "--flags: unknown flag `{f}` (strict-alignment, any-alignment, sleepable, xdp-has-frags, \
                         xdp-dev-bound-only, test-state-freq, test-rnd-hi32, test-reg-invariants)"
                    ))
                })?;
            }
            let types = types
                .iter()
                .map(|t| {
                    t.split_once('=')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .ok_or_else(|| CliError::usage(format!("--type expects NAME=TYPE, got `{t}`")))
                })
                .collect::<Result<_, _>>()?;
            let kernel_facts = bpfbox_cli::facts::FactsChoice::parse(&kernel_facts);
            let args = bpfbox_cli::verify_cmd::VerifyArgs {
                file,
                prog,
                json,
                log,
                btf,
                types,
                unprivileged,
                kernel_facts,
                prog_flags,
            };
            let (text, code) = bpfbox_cli::verify_cmd::run(&args)?;
            emit(&text);
            Ok(code)
        }
        Cmd::Asm { file, output, syntax } => {
            let text = bpfbox_cli::read_text(&file)?;
            let insns =
                bpfbox_isa::assemble(&text, syntax_for(syntax, &text)).map_err(|e| CliError::input(&file, e))?;
            let bytes = bpfbox_isa::encode_program(&insns);
            match output {
                Some(out) => std::fs::write(&out, &bytes).map_err(|e| CliError::io(&out, e))?,
                None => {
                    for chunk in bytes.chunks(8) {
                        let line: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                        outln!("{}", line.join(" "));
                    }
                }
            }
            Ok(0)
        }
        Cmd::Disasm { file, prog, syntax } => {
            let data = std::fs::read(&file).map_err(|e| CliError::io(&file, e))?;
            if bpfbox_cli::is_elf(&data) {
                emit(&bpfbox_cli::objdump(&file, &data, prog.as_deref())?);
                return Ok(0);
            }
            if prog.is_some() {
                return Err(CliError::usage("--prog applies to ELF objects only"));
            }
            let insns = bpfbox_isa::decode_program(&data).map_err(|e| CliError::input(&file, e))?;
            for (pc, insn) in insns.iter().enumerate() {
                let text = match syntax {
                    SyntaxArg::Ubpf => ubpf::disasm_insn(insn),
                    _ => llvm::disasm_insn(insn),
                };
                if !text.is_empty() {
                    outln!("{pc:>8}:\t{text}");
                }
            }
            Ok(0)
        }
        Cmd::Run {
            file,
            mem,
            syntax,
            engine,
            max_insns,
            json,
            prog,
            types,
            data,
            data_hex,
            pcap,
            ctx,
            repeat,
            map_init,
            dump_maps,
            out_pcap,
            btf,
            world,
            kernel,
            compare,
            log,
            no_verify,
            debug,
        } => {
            let head = std::fs::read(&file).map_err(|e| CliError::io(&file, e))?;
            if bpfbox_cli::is_elf(&head) {
                // With --compare, --engine picks bpfbox's side.
                if engine == EngineArg::Jit && kernel {
                    return Err(CliError::usage("--engine applies to bpfbox's own runs, not --kernel"));
                }
                if mem.is_some() {
                    return Err(CliError::usage(
                        "--mem is for raw programs; give an object's packet with --data or --data-hex",
                    ));
                }
                if debug && engine == EngineArg::Jit {
                    return Err(CliError::usage("--debug runs the program on the interpreter, not --engine jit"));
                }
                let split = |s: &String, flag: &str| -> Result<(String, String), CliError> {
                    s.split_once('=')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .ok_or_else(|| CliError::usage(format!("{flag} expects NAME=VALUE, got `{s}`")))
                };
                let args = bpfbox_cli::run_obj::RunObjArgs {
                    file,
                    prog,
                    types: types.iter().map(|t| split(t, "--type")).collect::<Result<_, _>>()?,
                    data,
                    data_hex,
                    pcap,
                    ctx,
                    repeat,
                    map_init: map_init
                        .iter()
                        .map(|t| split(t, "--map-init").map(|(a, b)| (a, PathBuf::from(b))))
                        .collect::<Result<_, _>>()?,
                    dump_maps,
                    out_pcap,
                    btf,
                    backend: if compare {
                        bpfbox_cli::run_obj::Backend::Compare
                    } else if kernel {
                        bpfbox_cli::run_obj::Backend::Kernel
                    } else {
                        bpfbox_cli::run_obj::Backend::User
                    },
                    json,
                    log,
                    jit: engine == EngineArg::Jit,
                    verify: !no_verify,
                    world,
                };
                let result = bpfbox_cli::run_obj::run(&args);
                if debug && matches!(result, Ok(_) | Err(CliError::Fault(_))) {
                    let code = match &result {
                        Ok((text, code)) => {
                            emit(text);
                            *code
                        }
                        Err(e) => {
                            eprintln!("bpfbox: error: {e}");
                            1
                        }
                    };
                    return bpfbox_cli::debug_cmd::after_run(&args, code);
                }
                let (text, code) = result?;
                emit(&text);
                return Ok(code);
            }
            if debug {
                return Err(CliError::usage("--debug is for ELF objects (the debugger reads their source lines)"));
            }
            if world.is_some() {
                return Err(CliError::usage("--world applies to ELF objects (their helpers read it)"));
            }
            if engine == EngineArg::Jit && (kernel || compare) {
                return Err(CliError::usage("--engine applies to bpfbox's own runs, not --kernel/--compare"));
            }
            if prog.is_some() || kernel || compare || pcap.is_some() || data.is_some() || data_hex.is_some() {
                return Err(CliError::usage(
                    "--prog, --data, --data-hex, --pcap, --kernel and --compare apply to ELF objects",
                ));
            }
            let mem = match mem {
                Some(h) => bpfbox_cli::parse_hex(&h).map_err(|e| CliError::usage(format!("--mem: {e}")))?,
                None => Vec::new(),
            };
            let input = Input::load(&file, |text| syntax_for(syntax, text))?;
            let report = bpfbox_cli::run_program(&file, input, mem, max_insns, engine == EngineArg::Jit)?;
            if json {
                outln!("{}", report.to_json());
            } else {
                emit(&report.to_human());
            }
            Ok(if report.error.is_some() { 1 } else { 0 })
        }
    }
}
