//! The external oracle of `bpfbox trace`: every script of `crates/trace/tests/corpus/`
//! runs under bpftrace and under `bpfbox trace`, both tracing the same deterministic
//! workload (`crates/trace/tests/workload/workload.c`) with `-c`, and their stdout must
//! be equal. Then the tools of `tools/*.bt` run against workloads made here, under both.
//!
//! A corpus script's header says how to run it:
//!
//! ```text
//! // cmd: {workload} open 5 /etc/hostname      the -c command ({workload}: the built workload)
//! // args: 6 /etc/hostname                      positional parameters ($1, $2)
//! // flags: -f json                             options before -c
//! // compare: exact | lines-sorted (why) | skip-values (why)
//! ```
//!
//! `{workload}` is also replaced in the script's text (uprobe paths).
//!
//! Normalisations, and only these:
//! - only stdout is compared: bpftrace prints an RLIMIT_MEMLOCK warning and its own type
//!   warnings on stderr; the exit status must be 0 for both (a script that one tool
//!   refuses shows as a difference);
//! - in every mode, consecutive one-line entries of one map with the same value
//!   (`@x[a]: 6`, `@x[b]: 6`) are sorted among themselves: both tools sort entries by value
//!   and keep ties in their own hash map's walk order, which differs between them (and
//!   between runs), so only the order of tied entries is ignored;
//! - `lines-sorted`: lines are sorted before comparing, for maps whose entries have equal
//!   values (bpftrace orders ties by its hash table's order);
//! - `skip-values`: every run of decimal digits becomes `N`, for output whose numbers
//!   cannot be the same in two runs (times, kernel stack offsets).
//!
//! A script whose outputs differ fails the test unless it is in [`KNOWN_DIFFERENCES`]
//! with the reason; one listed there that has become equal fails it too (remove it).
//! Run with `--nocapture` to see the table. Needs root, the kernel backend and bpftrace:
//! without them the test prints `SKIP: reason` (and fails when CI=true).

#![cfg(feature = "kernel")] // scripts/test.sh builds the tests with the kernel backend
#![allow(clippy::unwrap_used)]

mod kernel_common;

use kernel_common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Scripts whose bpfbox output differs from bpftrace's for a reason in bpfbox (a bug or a
/// missing feature), with the symptom. Keep it short and true: a listed script that has
/// become equal fails the test.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn trace_tests() -> PathBuf {
    repo().join("crates/trace/tests")
}

/// True when bpftrace runs; otherwise prints `SKIP: reason` (and fails under CI=true).
fn bpftrace_available() -> bool {
    let ok = Command::new("bpftrace").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "bpftrace is not installed in CI");
        println!("SKIP: bpftrace is not installed (scripts/install-deps.sh installs it)");
    }
    ok
}

/// The workload, built once with cc (static: no dynamic loader opening files before main).
fn workload() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("workload-{}/workload", std::process::id()));
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let src = trace_tests().join("workload/workload.c");
        must("cc", &["-O0", "-g", "-static", "-o", &out.display().to_string(), &src.display().to_string()]);
        out
    })
    .clone()
}

/// A scratch directory of this test process (script copies, disk workload files).
fn scratch() -> PathBuf {
    let d = workload().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Compare {
    Exact,
    LinesSorted,
    SkipValues,
}

/// One corpus script and how to run it.
#[derive(Debug, Clone)]
struct Case {
    name: String,
    /// The script text, `{workload}` replaced.
    text: String,
    cmd: String,
    args: Vec<String>,
    flags: Vec<String>,
    compare: Compare,
}

fn header<'a>(src: &'a str, key: &str) -> Option<&'a str> {
    src.lines().find_map(|l| l.trim().strip_prefix("//")?.trim().strip_prefix(key)?.strip_prefix(':')).map(str::trim)
}

fn expand(s: &str) -> String {
    s.replace("{workload}", &workload().display().to_string()).replace("{tmp}", &scratch().display().to_string())
}

fn parse_case(path: &Path) -> Case {
    let src = std::fs::read_to_string(path).unwrap();
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let cmd = header(&src, "cmd").unwrap_or_else(|| panic!("{name}: no `// cmd:` line"));
    let compare = match header(&src, "compare").map(|c| c.split_whitespace().next().unwrap_or("")) {
        Some("exact") => Compare::Exact,
        Some("lines-sorted") => Compare::LinesSorted,
        Some("skip-values") => Compare::SkipValues,
        c => panic!("{name}: `// compare:` must be exact, lines-sorted or skip-values, not {c:?}"),
    };
    let words = |k: &str| header(&src, k).map(|a| a.split_whitespace().map(expand).collect()).unwrap_or_default();
    Case { text: expand(&src), cmd: expand(cmd), args: words("args"), flags: words("flags"), compare, name }
}

/// What one tool printed.
#[derive(Debug, Clone)]
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run `prog args`, killed after `limit`.
fn run_limited(prog: &str, args: &[String], limit: Duration) -> Output {
    let dir = scratch();
    let out_path = dir.join("run.stdout");
    let err_path = dir.join("run.stderr");
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    let start = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break -9;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

const LIMIT: Duration = Duration::from_secs(30);

/// Run a script file under one tool: `bpftrace FLAGS -c CMD FILE ARGS` or
/// `bpfbox trace FLAGS -c CMD FILE ARGS`.
fn run_tool(bpftrace: bool, script: &Path, flags: &[String], cmd: &str, args: &[String]) -> Output {
    let mut a: Vec<String> = Vec::new();
    if !bpftrace {
        a.push("trace".into());
    }
    a.extend(flags.iter().cloned());
    a.push("-c".into());
    a.push(cmd.into());
    a.push(script.display().to_string());
    a.extend(args.iter().cloned());
    run_limited(if bpftrace { "bpftrace" } else { BPFBOX }, &a, LIMIT)
}

/// `@name[key]: value` split into (name, value), for one-line map entries.
fn entry(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('@')?;
    let name_end = rest.find(['[', ':'])?;
    let (_, value) = line.rsplit_once("]: ")?;
    Some((&rest[..name_end], value))
}

/// Sort runs of consecutive entries of one map that have the same value.
fn sort_ties(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let mut j = i + 1;
        if let Some(e) = entry(lines[i]) {
            while j < lines.len() && entry(lines[j]) == Some(e) {
                j += 1;
            }
        }
        let mut run = lines[i..j].to_vec();
        run.sort_unstable();
        out.extend(run);
        i = j;
    }
    out.join("\n")
}

fn normalise(out: &Output, compare: &Compare) -> String {
    let text = sort_ties(&format!("exit status {}\n{}", out.code, out.stdout));
    match compare {
        Compare::Exact => text,
        Compare::LinesSorted => {
            let mut lines: Vec<&str> = text.lines().collect();
            lines.sort_unstable();
            lines.join("\n")
        }
        Compare::SkipValues => {
            let mut s = String::new();
            let mut in_num = false;
            for c in text.chars() {
                if c.is_ascii_digit() {
                    if !in_num {
                        s.push('N');
                    }
                    in_num = true;
                } else {
                    in_num = false;
                    s.push(c);
                }
            }
            s
        }
    }
}

/// Both tools' outputs of one case, normalised.
fn run_case(c: &Case) -> (String, String, Output, Output) {
    let script = scratch().join(format!("{}.bt", c.name));
    std::fs::write(&script, &c.text).unwrap();
    let reference = run_tool(true, &script, &c.flags, &c.cmd, &c.args);
    let ours = run_tool(false, &script, &c.flags, &c.cmd, &c.args);
    (normalise(&reference, &c.compare), normalise(&ours, &c.compare), reference, ours)
}

fn corpus() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(trace_tests().join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bt"))
        .collect();
    files.sort();
    files.iter().map(|p| parse_case(p)).collect()
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    | {l}\n")).collect()
}

#[test]
fn corpus_gives_the_same_output_under_bpftrace_and_bpfbox() {
    if !kernel_available() || !bpftrace_available() {
        return;
    }
    let _g = serial();
    let cases = corpus();
    assert!(cases.len() >= 40, "the corpus has {} scripts", cases.len());
    for (name, _) in KNOWN_DIFFERENCES {
        assert!(cases.iter().any(|c| &c.name == name), "KNOWN_DIFFERENCES names `{name}`, not in the corpus");
    }
    let mut equal = 0;
    let mut failures = Vec::new();
    let mut table = String::new();
    for c in &cases {
        let (mut want, mut got, mut reference, mut ours) = run_case(c);
        if want != got {
            // Once more: a difference that does not come back was a timing accident.
            (want, got, reference, ours) = run_case(c);
        }
        let known = KNOWN_DIFFERENCES.iter().find(|(n, _)| *n == c.name).map(|(_, why)| *why);
        let verdict = match (want == got, known) {
            (true, None) => {
                equal += 1;
                "equal".to_string()
            }
            (true, Some(_)) => {
                equal += 1;
                failures.push(format!("{}: listed in KNOWN_DIFFERENCES but now equal: remove it", c.name));
                "equal (listed as a known difference!)".to_string()
            }
            (false, Some(why)) => format!("DIFFERENT (known: {why})"),
            (false, None) => {
                failures.push(format!(
                    "{}: outputs differ\n  bpftrace (exit {}):\n{}  bpfbox (exit {}):\n{}  bpfbox stderr:\n{}",
                    c.name,
                    reference.code,
                    indent(&reference.stdout),
                    ours.code,
                    indent(&ours.stdout),
                    indent(&ours.stderr)
                ));
                "DIFFERENT".to_string()
            }
        };
        table.push_str(&format!("{:<22} {verdict}\n", c.name));
    }
    println!("{table}{equal} of {} scripts give equal output", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- tools/*.bt: each runs against a workload made here, under bpfbox and bpftrace ----

/// Run `tools/NAME.bt` with `-c CMD` under one tool; its stdout (the exit status must be 0).
fn run_tool_script(bpftrace: bool, name: &str, cmd: &str) -> String {
    let script = repo().join("tools").join(format!("{name}.bt"));
    let out = run_tool(bpftrace, &script, &[], &expand(cmd), &[]);
    let who = if bpftrace { "bpftrace" } else { "bpfbox trace" };
    assert_eq!(out.code, 0, "{who} tools/{name}.bt -c {cmd}: exit {}\n{}{}", out.code, out.stdout, out.stderr);
    out.stdout
}

/// The check of one tool's output, run for bpfbox and then bpftrace.
fn check_tool(name: &str, cmd: &str, check: impl Fn(&str) -> Result<(), String>) {
    if !kernel_available() || !bpftrace_available() {
        return;
    }
    let _g = serial();
    for bpftrace in [false, true] {
        let out = run_tool_script(bpftrace, name, cmd);
        if let Err(e) = check(&out) {
            panic!("tools/{name}.bt under {}: {e}\n{out}", if bpftrace { "bpftrace" } else { "bpfbox" });
        }
    }
}

/// Lines that contain every one of `words`.
fn lines_with(out: &str, words: &[&str]) -> usize {
    out.lines().filter(|l| words.iter().all(|w| l.contains(w))).count()
}

/// The value of a map line `KEY: N`.
fn map_value(out: &str, key: &str) -> Option<u64> {
    out.lines().filter_map(|l| l.strip_prefix(key)?.strip_prefix(": ")?.trim().parse().ok()).reduce(|a, b| a + b)
}

/// The total count of a histogram printed as `[lo, hi)   N |@@@|` lines.
fn hist_total(out: &str) -> u64 {
    out.lines()
        .filter(|l| l.starts_with('['))
        .filter_map(|l| l[l.find([')', ']'])? + 1..].split('|').next()?.trim().parse::<u64>().ok())
        .sum()
}

fn expect(ok: bool, what: impl Fn() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

#[test]
fn tool_opensnoop_shows_the_workloads_opens() {
    check_tool("opensnoop", "{workload} open 3 /etc/hostname", |out| {
        let ok = lines_with(out, &["workload", " 0 /etc/hostname"]);
        let failed = lines_with(out, &["workload", "-1   2 /nonexistent/bpfbox-workload"]);
        expect(ok == 3 && failed == 1, || format!("{ok} successful and {failed} failed opens, want 3 and 1"))
    });
}

#[test]
fn tool_execsnoop_shows_the_workloads_exec() {
    check_tool("execsnoop", "{workload} exec /bin/echo bpfbox-exec", |out| {
        let n = lines_with(out, &["workload", "/bin/echo"]);
        expect(n == 1, || format!("{n} exec lines of /bin/echo by the workload, want 1"))
    });
}

#[test]
fn tool_syscount_counts_the_workloads_writes() {
    // The tool prints the top 10 of the whole system: enough writes that the
    // workload's stay in it on a busy machine (50 did not).
    check_tool("syscount", "{workload} write 5000", |out| {
        let writes = map_value(out, "@syscall[1]").unwrap_or(0);
        let workload = map_value(out, "@process[workload]").unwrap_or(0);
        expect(writes >= 5000 && workload >= 5000, || {
            format!("{writes} writes, {workload} workload syscalls, want 5000+")
        })
    });
}

#[test]
fn tool_killsnoop_shows_the_workloads_signals() {
    check_tool("killsnoop", "{workload} kill 3", |out| {
        let n = out
            .lines()
            .filter(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() == 6 && f[2] == "workload" && f[3] == "10" && f[1] == f[4] && f[5] == "0"
            })
            .count();
        expect(n == 3, || format!("{n} SIGUSR1 lines of the workload to itself, want 3"))
    });
}

#[test]
fn tool_vfsstat_counts_the_workloads_writes() {
    check_tool("vfsstat", "{workload} write 30 sleep 1100", |out| {
        let n = map_value(out, "@[tracepoint:syscalls:sys_enter_write]").unwrap_or(0);
        let stamps = out.lines().filter(|l| l.len() == 8 && l.as_bytes()[2] == b':' && l.as_bytes()[5] == b':').count();
        expect(n >= 30 && stamps >= 1, || format!("{n} writes over {stamps} intervals, want 30+ and 1+"))
    });
}

#[test]
fn tool_biolatency_sees_the_workloads_disk_writes() {
    check_tool("biolatency", "{workload} disk 10 {tmp}", |out| {
        let n = hist_total(out);
        expect(out.contains("@usecs:") && n >= 10, || format!("{n} requests in @usecs, want 10+"))
    });
}

#[test]
fn tool_runqlat_sees_wakeups() {
    check_tool("runqlat", "{workload} sleep 5 sleep 5 sleep 5 sleep 5", |out| {
        let n = hist_total(out);
        expect(out.contains("@usecs:") && n >= 4, || format!("{n} run queue latencies, want 4+"))
    });
}

#[test]
fn tool_tcplife_shows_the_workloads_sessions() {
    check_tool("tcplife", "{workload} tcp 3", |out| {
        let n = lines_with(out, &["workload", "IPv4"]);
        expect(n >= 6, || format!("{n} IPv4 sessions of the workload, want 6+ (both ends of 3 connections)"))
    });
}

/// bashreadline: an interactive bash in a pseudo-terminal (`script`) types a command
/// while the tool runs (no -c: readline is only used on a terminal); stopped with SIGINT.
#[test]
fn tool_bashreadline_shows_a_typed_command() {
    if !kernel_available() || !bpftrace_available() {
        return;
    }
    let (code, syms, _) = sh(BPFBOX, &["trace", "-l", "uprobe:/bin/bash:readline"]);
    if code != 0 || !syms.lines().any(|l| l.ends_with(":readline")) {
        println!("SKIP: /bin/bash has no readline symbol");
        return;
    }
    if sh("sh", &["-c", "command -v script"]).0 != 0 {
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "`script` (util-linux) is not installed in CI");
        println!("SKIP: `script` (util-linux) is not installed");
        return;
    }
    let _g = serial();
    let script = repo().join("tools/bashreadline.bt").display().to_string();
    for bpftrace in [false, true] {
        let out_path = scratch().join("bashreadline.out");
        let mut cmd = if bpftrace { Command::new("bpftrace") } else { Command::new(BPFBOX) };
        if !bpftrace {
            cmd.arg("trace");
        }
        let mut child =
            cmd.arg(&script).stdout(std::fs::File::create(&out_path).unwrap()).stderr(Stdio::null()).spawn().unwrap();
        let start = Instant::now();
        while !std::fs::read_to_string(&out_path).unwrap_or_default().contains("COMMAND") {
            assert!(start.elapsed() < LIMIT, "bashreadline did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        must(
            "sh",
            &[
                "-c",
                "(sleep 0.3; echo 'echo bpfbox-readline-42'; sleep 0.3; echo exit) | \
                 script -qfc 'bash --norc --noprofile -i' /dev/null > /dev/null 2>&1",
            ],
        );
        std::thread::sleep(Duration::from_millis(300));
        must("kill", &["-INT", &child.id().to_string()]);
        let status = child.wait().unwrap();
        let out = std::fs::read_to_string(&out_path).unwrap();
        let who = if bpftrace { "bpftrace" } else { "bpfbox" };
        assert!(status.success(), "{who}: {status}\n{out}");
        assert_eq!(lines_with(&out, &["echo bpfbox-readline-42"]), 1, "{who}:\n{out}");
    }
}
