//! `bpfbox trace`: bpftrace's command line over `bpfbox-trace`.

use crate::CliError;
use bpfbox_trace::diag::Stage;
use bpfbox_trace::output::Format;
use bpfbox_trace::probes::{self, ProbeEnv, SystemEnv};
use bpfbox_trace::{link, CompileOptions, Diagnostic};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

/// `bpfbox trace [OPTIONS] {-e PROGRAM | FILE} [ARGS...]`, as bpftrace takes them.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// The program text (instead of a script file).
    #[arg(short = 'e', value_name = "PROGRAM")]
    pub program: Option<String>,
    /// List probes (tracepoints, a binary's uprobe symbols) matching PATTERN.
    #[arg(short = 'l', value_name = "PATTERN", num_args = 0..=1, default_missing_value = "*")]
    pub list: Option<String>,
    /// Attach uprobes to this process only.
    #[arg(short = 'p', value_name = "PID")]
    pub pid: Option<i32>,
    /// Run this command (split on spaces), trace it, and exit when it exits.
    #[arg(short = 'c', value_name = "CMD")]
    pub command: Option<String>,
    /// Write the output to FILE instead of stdout.
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format: text or json.
    #[arg(short = 'f', value_name = "FORMAT", default_value = "text")]
    pub format: String,
    /// Print the verifier statistics of every generated program.
    #[arg(short = 'v')]
    pub verbose: bool,
    /// Write the generated ELF object (BTF, line info pointing into the script) to OUT.
    #[arg(long = "emit-elf", value_name = "OUT")]
    pub emit_elf: Option<PathBuf>,
    /// Compile and verify only; load nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Skip bpfbox's verifier (the kernel still verifies what it loads).
    #[arg(long = "no-verify")]
    pub no_verify: bool,
    /// Allow unsafe functions (system, signal).
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
    /// The script file (when no -e), then the positional parameters ($1, $2, ...).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "FILE|ARGS")]
    pub rest: Vec<String>,
}

fn monotonic_ns() -> u64 {
    // CLOCK_MONOTONIC is what bpf_ktime_get_ns() reads.
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Run `bpfbox trace`. Script errors are printed here (rustc style) and give exit 2;
/// the kernel's refusals exit 1.
pub fn run(a: TraceArgs) -> Result<u8, CliError> {
    let format = match a.format.as_str() {
        "text" => Format::Text,
        "json" => Format::Json,
        f => return Err(CliError::usage(format!("-f: unknown output format `{f}` (text, json)"))),
    };
    if let Some(pat) = &a.list {
        return list(pat);
    }
    let (file, src, positional) = match (&a.program, a.rest.split_first()) {
        (Some(p), _) => ("stdin".to_string(), p.clone(), a.rest.clone()),
        (None, Some((f, rest))) => {
            let path = PathBuf::from(f);
            let src = std::fs::read_to_string(&path).map_err(|e| CliError::io(&path, e))?;
            (f.clone(), src, rest.to_vec())
        }
        (None, None) => return Err(CliError::usage("bpfbox trace needs a program: -e 'PROGRAM' or a script FILE")),
    };
    #[cfg(feature = "kernel")]
    let mut child = match &a.command {
        Some(c) if !a.dry_run => {
            let argv = shell_words(c).map_err(|m| CliError::usage(format!("-c: {m}")))?;
            Some(
                bpfbox_trace::run::PausedChild::spawn(&argv)
                    .map_err(|e| CliError::usage(format!("-c: cannot run `{c}`: {e}")))?,
            )
        }
        _ => None,
    };
    #[cfg(feature = "kernel")]
    let cpid = child.as_ref().map_or(0, |c| c.pid());
    #[cfg(not(feature = "kernel"))]
    let cpid = 0;
    let opts =
        CompileOptions { positional, cpid, pid: a.pid.map(|p| p as u32), start_ns: monotonic_ns(), unsafe_: a.unsafe_ };
    let fail = |d: Diagnostic| -> Result<u8, CliError> {
        eprint!("{}", d.render(&file, &src));
        Ok(if d.stage == Stage::Kernel { 1 } else { 2 })
    };
    let t0 = std::time::Instant::now();
    let compiled = match bpfbox_trace::compile(&src, &SystemEnv, &opts) {
        Ok(c) => c,
        Err(d) => return fail(d),
    };
    let t1 = std::time::Instant::now();
    let stats = if a.no_verify {
        Vec::new()
    } else {
        match link::verify(&compiled, &Default::default()) {
            Ok(s) => s,
            Err(d) => return fail(d),
        }
    };
    let t2 = std::time::Instant::now();
    if a.verbose {
        eprintln!(
            "compiled {} programs in {:.3} ms, verified in {:.3} ms",
            compiled.programs.len(),
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3
        );
        for s in &stats {
            eprintln!(
                "{}: {} instructions, {} processed by bpfbox's verifier, {} bytes of stack",
                s.program, s.insns, s.processed, s.stack
            );
        }
    }
    let elf = match link::to_elf(&compiled, &src, &file) {
        Ok(e) => e,
        Err(d) => return fail(d),
    };
    if let Some(out) = &a.emit_elf {
        std::fs::write(out, &elf).map_err(|e| CliError::io(out, e))?;
    }
    if a.dry_run {
        return Ok(0);
    }
    #[cfg(feature = "kernel")]
    {
        let mut out: Box<dyn Write> = match &a.output {
            Some(p) => Box::new(std::fs::File::create(p).map_err(|e| CliError::io(p, e))?),
            None => Box::new(std::io::stdout()),
        };
        bpfbox_kernel::sys::install_interrupt_handler();
        let ro = bpfbox_trace::run::RunOptions { format, pid: a.pid, timeout: None };
        match bpfbox_trace::run::run(&compiled, &elf, &ro, child.as_mut(), &mut out) {
            Ok(()) => Ok(0),
            Err(e) => {
                let _ = out.flush();
                Err(CliError::Rejected(e.to_string()))
            }
        }
    }
    #[cfg(not(feature = "kernel"))]
    {
        let _ = (format, &a.output);
        Err(crate::no_kernel_backend("running a script (`bpfbox trace` without --dry-run)"))
    }
}

/// `-l PATTERN`: `tracepoint:CAT:NAME` lines (and a binary's symbols for `uprobe:BIN:PAT`).
fn list(pattern: &str) -> Result<u8, CliError> {
    let env = SystemEnv;
    let mut out = String::new();
    let (provider, rest) = match pattern.split_once(':') {
        Some((p, r)) => (p, r),
        None => ("*", pattern),
    };
    match provider {
        "uprobe" | "u" => {
            let (bin, pat) = rest.split_once(':').unwrap_or((rest, "*"));
            let path = probes::resolve_binary(bin).map_err(CliError::usage)?;
            for s in env.symbols(&path, pat).map_err(CliError::usage)? {
                out.push_str(&format!("uprobe:{}:{s}\n", path.display()));
            }
        }
        _ => {
            let (cat, name) = match rest.split_once(':') {
                Some((c, n)) => (c, n),
                None if provider == "*" => ("*", rest),
                None => (rest, "*"),
            };
            if matches!(provider, "*" | "tracepoint" | "t") {
                for (c, n) in env.tracepoints(cat, name) {
                    out.push_str(&format!("tracepoint:{c}:{n}\n"));
                }
            }
        }
    }
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(out.as_bytes());
    Ok(0)
}

/// Split a command line as a shell would split plain words: whitespace separates, `'...'`
/// and `"..."` quote, a backslash escapes the next character (outside single quotes).
pub fn shell_words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                have = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                have = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x) => cur.push(x),
                            None => return Err("a backslash at the end".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                have = true;
                cur.push(chars.next().ok_or("a backslash at the end")?);
            }
            c if c.is_whitespace() => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                have = true;
                cur.push(c);
            }
        }
    }
    if have {
        out.push(cur);
    }
    if out.is_empty() {
        return Err("empty command".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::shell_words;

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(shell_words("ls -l /tmp").unwrap(), ["ls", "-l", "/tmp"]);
        assert_eq!(
            shell_words(r#"python3 -c "import os; os.getpid()""#).unwrap(),
            ["python3", "-c", "import os; os.getpid()"]
        );
        assert_eq!(shell_words("echo 'a  b' c\\ d \"x\\\"y\"").unwrap(), ["echo", "a  b", "c d", "x\"y"]);
        assert_eq!(shell_words("a ''").unwrap(), ["a", ""]);
        assert!(shell_words("echo 'open").is_err());
        assert!(shell_words("   ").is_err());
    }
}
