//! `bpfbox-conformance-plugin`: runs one program for the bpf_conformance runner.
//!
//! Protocol: `bpfbox-conformance-plugin [MEM_HEX] [--engine interp|jit] [--elf]`; the
//! program arrives on stdin as hex bytes; r0 is printed in hex on stdout with exit 0;
//! on failure a message goes to stderr and the exit code is non-zero. The runner passes
//! the memory and its options as whole strings (`"aa  bb  "`, `"--engine interp"`), so
//! every argument is split on whitespace first. An empty memory string means no memory.

use bpfbox_conformance::{run_bytecode, Engine, Outcome};
use std::io::Read;
use std::process::ExitCode;

const USAGE: &str =
    "usage: bpfbox-conformance-plugin [MEM_HEX] [--engine interp|jit] [--elf]  (program as hex on stdin)";

fn hex_to_bytes(what: &str, tokens: &[&str]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for t in tokens {
        let t = t.trim_start_matches("0x");
        if t.len() % 2 != 0 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{what}: `{t}` is not hex bytes"));
        }
        for i in (0..t.len()).step_by(2) {
            out.push(u8::from_str_radix(&t[i..i + 2], 16).map_err(|e| format!("{what}: {e}"))?);
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(v) => {
            println!("{v:#x}");
            ExitCode::SUCCESS
        }
        Err((code, msg)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}

fn real_main() -> Result<u64, (u8, String)> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tokens: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    let mut engine = Engine::Interp;
    let mut elf = false;
    let mut mem_tokens = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            "--engine" => {
                i += 1;
                engine = match tokens.get(i).copied() {
                    Some("interp") => Engine::Interp,
                    Some("jit") => Engine::Jit,
                    other => return Err((2, format!("unknown engine {other:?}; {USAGE}"))),
                };
            }
            "--elf" => elf = true,
            "-h" | "--help" => return Err((2, USAGE.into())),
            t if t.starts_with('-') => return Err((2, format!("unknown option `{t}`; {USAGE}"))),
            t => mem_tokens.push(t),
        }
        i += 1;
    }
    let mem = hex_to_bytes("memory argument", &mem_tokens).map_err(|e| (2, e))?;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| (2, format!("reading stdin: {e}")))?;
    let toks: Vec<&str> = input.split_whitespace().collect();
    let mut code = hex_to_bytes("program on stdin", &toks).map_err(|e| (2, e))?;
    if elf {
        code = bpfbox_cli::first_program_bytes(&code).map_err(|e| (2, e))?;
    }
    match run_bytecode(&code, &mem, engine) {
        Outcome::Returned(v) => Ok(v),
        Outcome::Failed(msg) => Err((1, msg)),
    }
}
