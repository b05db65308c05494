//! Scripts compiled without a kernel: every generated program passes bpfbox's verifier.

use bpfbox_trace::probes::ProbeEnv;
use bpfbox_trace::{compile, link, CompileOptions};
use std::path::Path;

/// A described system: two tracepoints with formats as tracefs prints them.
struct FakeEnv;

const OPENAT: &str = "name: sys_enter_openat
ID: 1
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;
";
const SWITCH: &str = "name: sched_switch
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;
\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;
";
const EXIT: &str = "format:
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;
";

impl ProbeEnv for FakeEnv {
    fn tracepoints(&self, category: &str, name: &str) -> Vec<(String, String)> {
        let all = [("syscalls", "sys_enter_openat"), ("syscalls", "sys_exit_openat"), ("sched", "sched_switch")];
        all.iter()
            .filter(|(c, n)| bpfbox_trace::probes::glob_match(category, c) && bpfbox_trace::probes::glob_match(name, n))
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .collect()
    }
    fn tracepoint_format(&self, _category: &str, name: &str) -> Option<String> {
        Some(
            match name {
                "sys_enter_openat" => OPENAT,
                "sys_exit_openat" => EXIT,
                _ => SWITCH,
            }
            .to_string(),
        )
    }
    fn symbols(&self, _binary: &Path, _pattern: &str) -> Result<Vec<String>, String> {
        Ok(vec!["main".into()])
    }
}

fn check(src: &str) -> bpfbox_trace::Compiled {
    let c = match compile(src, &FakeEnv, &CompileOptions::default()) {
        Ok(c) => c,
        Err(d) => panic!("{}", d.render("test.bt", src)),
    };
    if let Err(d) = link::verify(&c, &Default::default()) {
        panic!("{}", d.render("test.bt", src));
    }
    link::to_elf(&c, src, "test.bt").expect("writes");
    c
}

#[test]
fn one_liners_compile_and_verify() {
    let scripts = [
        r#"BEGIN { printf("hello\n"); exit(); }"#,
        r#"tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }"#,
        r#"tracepoint:syscalls:sys_enter_openat { printf("%s %s\n", comm, str(args->filename)); }"#,
        r#"tracepoint:syscalls:sys_exit_openat /args->ret < 0/ { @errs[comm, args->ret] = count(); }"#,
        r#"tracepoint:sched:sched_switch { @[args->prev_comm] = hist(args->prev_state); @x = lhist(args->next_pid, 0, 1000, 100); }"#,
        r#"tracepoint:syscalls:sys_enter_* { @[probe] = count(); }"#,
        r#"BEGIN { @a = sum(5); @b = min(3); @c = max(4); @d = avg(10); @e = stats(7); $x = 1; $x += 2; @f = $x * 3 + 1; @g = @f; exit(); }"#,
        r#"tracepoint:syscalls:sys_enter_openat { @start[tid] = nsecs; } tracepoint:syscalls:sys_exit_openat /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); }"#,
        r#"BEGIN { $s = "abc"; if ($s == "abc") { printf("yes\n"); } else { printf("no\n"); } $i = 0; while ($i < 10) { $i++; } unroll(3) { @u++; } @t = (1, "two"); exit(); }"#,
        r#"interval:s:1 { time("%H:%M:%S\n"); print(@x); clear(@x); } tracepoint:sched:sched_switch { @x[pid, comm] = count(); }"#,
        r#"END { printf("%d %u %x %s\n", -1, 2, 255, comm); }"#,
        r#"BEGIN { @s = comm == "bash" ? "yes" : "no"; exit(); }"#,
    ];
    for s in scripts {
        let c = check(s);
        assert!(!c.programs.is_empty(), "{s}");
    }
}
