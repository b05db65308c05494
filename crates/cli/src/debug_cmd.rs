//! `bpfbox debug OBJ`: the source-level debugger (`bpfbox_debug::Session`) on a
//! terminal or on a script. The inputs are `bpfbox run`'s, and each run of the
//! program is built as `run` builds it (`run_obj::build_runtime`), with a fixed clock
//! and random seed so that replays (reverse execution) are exact.

use crate::run_obj::{self, RunObjArgs};
use crate::CliError;
use bpfbox_debug::{Launch, Session, Target};
use bpfbox_object::LoadedObject;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// `bpfbox debug` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct DebugArgs {
    /// The ELF object (built with -g for source-level debugging).
    pub file: PathBuf,
    /// The program to debug (its function name), for objects with several.
    #[arg(long)]
    pub prog: Option<String>,
    /// Give a program a type: NAME=TYPE, for sections libbpf does not know.
    #[arg(long = "type", value_name = "NAME=TYPE")]
    pub types: Vec<String>,
    /// Packet data from a file.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Packet data as hex bytes.
    #[arg(long)]
    pub data_hex: Option<String>,
    /// Every packet of a pcap file, in order (`$packet` is the packet's number, from 1).
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// The context (ctx_in) from a file.
    #[arg(long)]
    pub ctx: Option<PathBuf>,
    /// Seed a map before the run: MAP=FILE.json.
    #[arg(long = "map-init", value_name = "MAP=FILE.json")]
    pub map_init: Vec<String>,
    /// BTF to resolve CO-RE relocations against (default: /sys/kernel/btf/vmlinux).
    #[arg(long)]
    pub btf: Option<PathBuf>,
    /// The host the program runs on (as `bpfbox run --world`).
    #[arg(long, value_name = "FILE")]
    pub world: Option<PathBuf>,
    /// Run the commands of FILE first (one per line), then read standard input.
    #[arg(short = 'x', long = "command", value_name = "FILE")]
    pub commands: Option<PathBuf>,
    /// Speak the Debug Adapter Protocol on stdin/stdout (for VS Code, nvim-dap, dape).
    #[arg(long)]
    pub dap: bool,
}

/// Runs of one program of a loaded object.
struct ObjTarget {
    args: RunObjArgs,
    obj: LoadedObject,
    prog: String,
    inputs: Vec<bpfbox_vm::TestRunInput>,
}

impl Target for ObjTarget {
    fn launch(&self) -> Result<Launch, String> {
        let spec = self.obj.programs.iter().find(|p| p.name == self.prog).ok_or("the program is gone")?;
        let mut opts = bpfbox_vm::RuntimeOptions::deterministic(bpfbox_vm::runtime::host_cpus());
        opts.world = run_obj::world(&self.args).map_err(|e| e.to_string())?;
        let (runtime, _maps, prog) =
            run_obj::build_runtime(&self.args, &self.obj, spec, opts, None).map_err(|e| e.to_string())?;
        let prog_type = spec.prog_type.map(|t| t.number());
        Ok(Launch {
            runtime,
            prog,
            inputs: self.inputs.clone(),
            describe: Box::new(move |r| run_obj::action_name(prog_type, r)),
        })
    }
}

fn split(s: &str, flag: &str) -> Result<(String, String), CliError> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| CliError::usage(format!("{flag} expects NAME=VALUE, got `{s}`")))
}

/// Build the session: load the object, check the inputs, make the first runtime.
pub fn session(d: &DebugArgs) -> Result<(Session, String), CliError> {
    let args = RunObjArgs {
        file: d.file.clone(),
        prog: d.prog.clone(),
        types: d.types.iter().map(|t| split(t, "--type")).collect::<Result<_, _>>()?,
        data: d.data.clone(),
        data_hex: d.data_hex.clone(),
        pcap: d.pcap.clone(),
        ctx: d.ctx.clone(),
        repeat: 1,
        map_init: d
            .map_init
            .iter()
            .map(|t| split(t, "--map-init").map(|(a, b)| (a, PathBuf::from(b))))
            .collect::<Result<_, _>>()?,
        dump_maps: false,
        out_pcap: None,
        btf: d.btf.clone(),
        world: d.world.clone(),
        backend: run_obj::Backend::User,
        json: false,
        log: false,
        jit: false,
        verify: false,
    };
    session_of(args)
}

/// The session over the runs `args` describe (as `bpfbox run` makes them, on the
/// interpreter, checked).
fn session_of(mut args: RunObjArgs) -> Result<(Session, String), CliError> {
    (args.repeat, args.backend, args.jit, args.verify) = (1, run_obj::Backend::User, false, false);
    let file = args.file.clone();
    let (elf, obj, _btf) = run_obj::load_object_file(&args.file, args.btf.as_deref(), &args.types)?;
    let prog = run_obj::select_prog(&args, &obj)?.name.clone();
    let ctx = match &args.ctx {
        Some(p) => Some(std::fs::read(p).map_err(|e| CliError::io(p, e))?),
        None => None,
    };
    let inputs = run_obj::inputs(&args)?
        .into_iter()
        .map(|data_in| bpfbox_vm::TestRunInput { data_in, ctx_in: ctx.clone(), repeat: 1, cpu: 0 })
        .collect();
    let target = ObjTarget { args, obj: obj.clone(), prog: prog.clone(), inputs };
    // Make one runtime now so that bad inputs (maps, --map-init) fail before the prompt.
    target.launch().map_err(CliError::Fault)?;
    Session::new(&elf, &obj, &prog, Arc::new(target)).map_err(|e| CliError::input(&file, e))
}

/// `bpfbox run --no-verify --debug`: after a run that ended with exit `code` (already
/// rendered by the caller; a fault is exit 1), the same inputs again under the debugger, stopped before
/// the faulting instruction with the history to step back through; then the commands
/// of standard input. The exit code is the run's.
pub fn after_run(args: &RunObjArgs, code: u8) -> Result<u8, CliError> {
    let (mut s, _banner) = session_of(args.clone())?;
    let o = s.execute("run");
    let mut out = std::io::stdout().lock();
    if !s.at_fault() {
        let _ = writeln!(out, "bpfbox run --debug: no run faulted, nothing to debug.");
        return Ok(code);
    }
    let _ = writeln!(out, "\nbpfbox run --debug: the run faulted; the debugger stops before the faulting instruction.");
    let _ = out.write_all(o.trim_start_matches('\n').as_bytes());
    let _ = out.flush();
    interact(&mut s, &mut out);
    Ok(code)
}

/// `bpfbox debug`: commands from `-x FILE`, then standard input (with a prompt and
/// "empty line repeats" on a terminal, plain lines otherwise).
pub fn run(d: &DebugArgs) -> Result<u8, CliError> {
    let (mut s, banner) = session(d)?;
    if d.dap {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut output = std::io::stdout().lock();
        bpfbox_debug::dap::serve(&mut s, &banner, &mut input, &mut output)
            .map_err(|e| CliError::Fault(format!("dap: {e}")))?;
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    let write = |out: &mut std::io::StdoutLock<'_>, text: &str| {
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    };
    write(&mut out, &banner);
    if let Some(f) = &d.commands {
        let text = crate::read_text(f)?;
        for line in text.lines() {
            let o = s.execute(line);
            write(&mut out, &o);
            if s.quit_requested() {
                return Ok(0);
            }
        }
    }
    interact(&mut s, &mut out);
    Ok(0)
}

/// Commands from standard input until `quit` or its end.
fn interact(s: &mut Session, out: &mut std::io::StdoutLock<'_>) {
    let write = |out: &mut std::io::StdoutLock<'_>, text: &str| {
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    };
    if std::io::stdin().is_terminal() {
        match rustyline::DefaultEditor::new() {
            Ok(editor) => return terminal(s, editor, out),
            Err(e) => write(out, &format!("(no line editing: {e})\n")),
        }
    }
    // Plain lines (a pipe, a file, or a terminal rustyline cannot drive).
    let tty = std::io::stdin().is_terminal();
    let mut last = String::new();
    let mut lines = std::io::stdin().lock().lines();
    loop {
        if tty {
            write(out, s.prompt());
        }
        let Some(Ok(line)) = lines.next() else { break };
        let line = if tty && line.trim().is_empty() { last.clone() } else { line };
        let o = s.execute(&line);
        write(out, &o);
        last = line;
        if s.quit_requested() {
            break;
        }
    }
}

/// Where the terminal's command history is kept (as gdb's `~/.gdb_history`):
/// `$BPFBOX_DEBUG_HISTORY`, else `~/.bpfbox_debug_history`.
fn history_file() -> Option<PathBuf> {
    match std::env::var_os("BPFBOX_DEBUG_HISTORY") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".bpfbox_debug_history")),
    }
}

/// The terminal: line editing and history (rustyline); an empty line repeats the
/// last command, Ctrl-C drops the line, Ctrl-D quits. The history file is read at the
/// start and written at the end; when it cannot be, the session goes on without it.
fn terminal(s: &mut Session, mut editor: rustyline::DefaultEditor, out: &mut std::io::StdoutLock<'_>) {
    use rustyline::error::ReadlineError;
    let history = history_file();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let mut last = String::new();
    loop {
        let line = match editor.readline(s.prompt()) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => {
                let _ = out.write_all(b"quit\n");
                break;
            }
            Err(e) => {
                let _ = writeln!(out, "cannot read the terminal: {e}");
                break;
            }
        };
        let line = if line.trim().is_empty() {
            last.clone()
        } else {
            let _ = editor.add_history_entry(line.as_str());
            line
        };
        let o = s.execute(&line);
        let _ = out.write_all(o.as_bytes());
        let _ = out.flush();
        last = line;
        if s.quit_requested() {
            break;
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
}
