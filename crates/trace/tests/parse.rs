//! The parser on scripts in bpftrace's style: every construct, precedence (checked through an
//! s-expression rendering of the tree), spans, and errors with their exact line:column.

use bpfbox_trace::ast::{Block, Expr, ExprKind, Script, Stmt, StmtKind, UnOp};
use bpfbox_trace::diag::{Diagnostic, Stage};
use bpfbox_trace::parser::parse;

fn ok(src: &str) -> Script {
    parse(src).unwrap_or_else(|d| panic!("parse failed:\n{}", d.render("test.bt", src)))
}

/// `line:col: message` of the error `src` must give.
fn err(src: &str) -> String {
    match parse(src) {
        Ok(s) => panic!("expected an error for {src:?}, got {s:#?}"),
        Err(d) => {
            assert_eq!(d.stage, Stage::Parse);
            let (line, col) = Diagnostic::line_col(src, d.span.start);
            format!("{line}:{col}: {}", d.message)
        }
    }
}

fn sexpr(e: &Expr) -> String {
    let list = |items: &[Expr]| items.iter().map(sexpr).collect::<Vec<_>>().join(" ");
    match &e.kind {
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Builtin(b) => b.clone(),
        ExprKind::Positional(n) => format!("${n}"),
        ExprKind::PositionalCount => "$#".into(),
        ExprKind::Var(v) => format!("${v}"),
        ExprKind::Map(m) if m.keys.is_empty() => format!("@{}", m.name),
        ExprKind::Map(m) => format!("(@{} {})", m.name, list(&m.keys)),
        ExprKind::Call { name, args, .. } => format!("{name}({})", list(args)),
        ExprKind::Ident(i) => format!("'{i}"),
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", op.symbol(), sexpr(lhs), sexpr(rhs)),
        ExprKind::Unary { op, expr } => {
            let sym = match op {
                UnOp::Neg => "neg",
                UnOp::Not => "!",
                UnOp::BitNot => "~",
                UnOp::Deref => "deref",
                UnOp::AddrOf => "addr",
            };
            format!("({sym} {})", sexpr(expr))
        }
        ExprKind::Ternary { cond, then, els } => format!("(? {} {} {})", sexpr(cond), sexpr(then), sexpr(els)),
        ExprKind::Field { expr, field, arrow } => {
            format!("({} {} {field})", if *arrow { "->" } else { "." }, sexpr(expr))
        }
        ExprKind::Index { expr, index } => format!("([] {} {})", sexpr(expr), sexpr(index)),
        ExprKind::Cast { ty, expr } => {
            format!("(cast {}{} {})", ty.name, "*".repeat(ty.ptr_depth as usize), sexpr(expr))
        }
        ExprKind::Tuple(items) => format!("(tuple {})", list(items)),
        ExprKind::IncDec { target, inc, prefix } => {
            let op = if *inc { "++" } else { "--" };
            if *prefix {
                format!("({op}pre {})", sexpr(target))
            } else {
                format!("({op}post {})", sexpr(target))
            }
        }
    }
}

fn stmt_s(s: &Stmt) -> String {
    let op = |op: &Option<bpfbox_trace::ast::BinOp>| op.map_or("=".to_string(), |o| format!("{}=", o.symbol()));
    match &s.kind {
        StmtKind::Expr(e) => sexpr(e),
        StmtKind::AssignMap { map, op: o, value } => {
            let target = Expr { kind: ExprKind::Map(map.clone()), span: map.span };
            format!("({} {} {})", op(o), sexpr(&target), sexpr(value))
        }
        StmtKind::AssignVar { name, op: o, value, .. } => format!("({} ${name} {})", op(o), sexpr(value)),
        StmtKind::If { cond, then, els: None } => format!("(if {} {})", sexpr(cond), block_s(then)),
        StmtKind::If { cond, then, els: Some(els) } => {
            format!("(if {} {} else {})", sexpr(cond), block_s(then), block_s(els))
        }
        StmtKind::Unroll { count, body } => format!("(unroll {} {})", sexpr(count), block_s(body)),
        StmtKind::While { cond, body } => format!("(while {} {})", sexpr(cond), block_s(body)),
        StmtKind::Return => "return".into(),
        StmtKind::Break => "break".into(),
        StmtKind::Continue => "continue".into(),
    }
}

fn block_s(b: &Block) -> String {
    format!("{{{}}}", b.stmts.iter().map(stmt_s).collect::<Vec<_>>().join("; "))
}

/// The body of the only probe of `src`, rendered.
fn body(src: &str) -> String {
    let script = ok(src);
    assert_eq!(script.probes.len(), 1, "{src}");
    block_s(&script.probes[0].body)
}

/// The expression `e`, parsed in a probe body and rendered.
fn ex(e: &str) -> String {
    let src = format!("BEGIN {{ {e} }}");
    let script = ok(&src);
    match &script.probes[0].body.stmts[..] {
        [Stmt { kind: StmtKind::Expr(e), .. }] => sexpr(e),
        other => panic!("{e}: not one expression statement: {other:?}"),
    }
}

#[test]
fn documentation_style_one_liners() {
    let cases = [
        (r#"BEGIN { printf("Hello, World!\n"); }"#, r#"{printf("Hello, World!\n")}"#),
        (
            r#"tracepoint:syscalls:sys_enter_openat { printf("%s %s\n", comm, str(args->filename)); }"#,
            r#"{printf("%s %s\n" comm str((-> args filename)))}"#,
        ),
        ("tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }", "{(= (@ comm) count())}"),
        (
            "tracepoint:syscalls:sys_exit_read /args->ret/ { @[comm] = sum(args->ret); }",
            "{(= (@ comm) sum((-> args ret)))}",
        ),
        ("kretprobe:vfs_read { @bytes = hist(retval); }", "{(= @bytes hist(retval))}"),
        ("profile:hz:99 /pid == 189/ { @[ustack] = count(); }", "{(= (@ ustack) count())}"),
        ("interval:s:1 { print(@); clear(@); }", "{print(@); clear(@)}"),
        ("kprobe:do_nanosleep { printf(\"PID %d sleeping\\n\", pid) }", "{printf(\"PID %d sleeping\\n\" pid)}"),
        ("uretprobe:/bin/bash:readline { printf(\"%s\\n\", str(retval)); }", "{printf(\"%s\\n\" str(retval))}"),
        ("kprobe:vfs_read { @start[tid] = nsecs; }", "{(= (@start tid) nsecs)}"),
        (
            "kretprobe:vfs_read /@start[tid]/ { @ns[comm] = hist(nsecs - @start[tid]); delete(@start[tid]); }",
            "{(= (@ns comm) hist((- nsecs (@start tid)))); delete((@start tid))}",
        ),
        ("software:faults:1 { @[comm, kstack(5)] = count(); }", "{(= (@ comm kstack(5)) count())}"),
        ("kprobe:f { @[ustack(perf, 3)] = count(); }", "{(= (@ ustack('perf 3)) count())}"),
        ("END { clear(@a); clear(@b) }", "{clear(@a); clear(@b)}"),
    ];
    for (src, want) in cases {
        assert_eq!(body(src), want, "{src}");
    }
}

#[test]
fn attach_points_resolve_aliases() {
    let cases = [
        ("t:syscalls:sys_enter_read", "tracepoint", &["syscalls", "sys_enter_read"][..]),
        ("u:/bin/bash:readline", "uprobe", &["/bin/bash", "readline"]),
        ("ur:/lib/x86_64-linux-gnu/libc.so.6:malloc", "uretprobe", &["/lib/x86_64-linux-gnu/libc.so.6", "malloc"]),
        ("k:vfs_*", "kprobe", &["vfs_*"]),
        ("kr:do_sys_open", "kretprobe", &["do_sys_open"]),
        ("f:vmlinux:tcp_sendmsg", "kfunc", &["vmlinux", "tcp_sendmsg"]),
        ("fr:tcp_sendmsg", "kretfunc", &["tcp_sendmsg"]),
        ("i:ms:100", "interval", &["ms", "100"]),
        ("p:hz:99", "profile", &["hz", "99"]),
        ("s:cpu-clock:1000", "software", &["cpu-clock", "1000"]),
        ("h:cache-misses:1000000", "hardware", &["cache-misses", "1000000"]),
        ("U:/usr/sbin/mysqld:mysql:query__start", "usdt", &["/usr/sbin/mysqld", "mysql", "query__start"]),
        ("rt:sched_switch", "rawtracepoint", &["sched_switch"]),
        ("kprobe:lookup_fast.constprop.*", "kprobe", &["lookup_fast.constprop.*"]),
        ("kprobe:tcp_v4_connect+16", "kprobe", &["tcp_v4_connect+16"]),
        ("tracepoint:syscalls:sys_enter_open?", "tracepoint", &["syscalls", "sys_enter_open?"]),
        ("uprobe:$1:main", "uprobe", &["$1", "main"]),
        ("uprobe:/bin/x:\"ns::f(int, char)\"", "uprobe", &["/bin/x", "ns::f(int, char)"]),
        ("watchpoint:0x10000000:8:rw", "watchpoint", &["0x10000000", "8", "rw"]),
        ("BEGIN", "BEGIN", &[]),
        ("END", "END", &[]),
    ];
    for (text, provider, parts) in cases {
        let src = format!("{text} {{ }}");
        let script = ok(&src);
        let ap = &script.probes[0].attach[0];
        assert_eq!((ap.provider.as_str(), ap.parts.clone()), (provider, parts.iter().map(|s| s.to_string()).collect()));
        assert_eq!(ap.raw, text);
        assert_eq!(&src[ap.span.start as usize..ap.span.end as usize], text);
    }
}

#[test]
fn several_attach_points_newlines_and_predicates() {
    let src = "kprobe:vfs_read*,\n\tkprobe:vfs_write* ,k:vfs_open\n/comm == \"bash\"/\n{\n\t@[probe] = count();\n}\n";
    let script = ok(src);
    let probe = &script.probes[0];
    let raws: Vec<&str> = probe.attach.iter().map(|a| a.raw.as_str()).collect();
    assert_eq!(raws, ["kprobe:vfs_read*", "kprobe:vfs_write*", "k:vfs_open"]);
    assert_eq!(sexpr(probe.predicate.as_ref().unwrap()), "(== comm \"bash\")");
    assert_eq!(&src[probe.span.start as usize..probe.span.end as usize], src.trim_end());

    // A `/` inside the predicate divides unless a `{` follows it; comments may stand between.
    let script = ok("kprobe:f /$1 / 2 == pid/ // why\n /* and */ { exit() }");
    assert_eq!(sexpr(script.probes[0].predicate.as_ref().unwrap()), "(== (/ $1 2) pid)");
    let script = ok("BEGIN{exit()}END{print(1)}");
    assert_eq!(script.probes.len(), 2);
    assert_eq!(ok("BEGIN,END { }").probes[0].attach.len(), 2);
}

#[test]
fn preamble_is_kept_verbatim() {
    let src = "#!/usr/bin/env bpftrace\n/* header */\n#ifndef BPFTRACE_HAVE_BTF\n#include <linux/sched.h>\n\
               #define MAX(a, b) \\\n  ((a) > (b) ? (a) : (b))\nstruct cfs_rq {\n\tstruct load_weight load;\n\
               \tunion { int a; long b; } u;\n\tunsigned int nr_running;\n};\n#endif\n// c\nBEGIN { }\n";
    let script = ok(src);
    let items: Vec<&str> = script.preamble.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        items,
        [
            "#ifndef BPFTRACE_HAVE_BTF",
            "#include <linux/sched.h>",
            "#define MAX(a, b) \\\n  ((a) > (b) ? (a) : (b))",
            "struct cfs_rq {\n\tstruct load_weight load;\n\tunion { int a; long b; } u;\n\tunsigned int nr_running;\n};",
            "#endif",
        ]
    );
    for (text, span) in &script.preamble {
        assert_eq!(&src[span.start as usize..span.end as usize], text);
    }
    assert_eq!(script.probes.len(), 1);
}

#[test]
fn statements() {
    assert_eq!(body("BEGIN { ;; @x = 1;; ; $y = 2 }"), "{(= @x 1); (= $y 2)}");
    assert_eq!(body("BEGIN { }"), "{}");
    assert_eq!(
        body("BEGIN { if ($x > 1) { @a = 1 } else if ($x) { @b = 2; } else { @c = 3 } @d = 4 }"),
        "{(if (> $x 1) {(= @a 1)} else {(if $x {(= @b 2)} else {(= @c 3)})}); (= @d 4)}"
    );
    assert_eq!(body("BEGIN { if (1) {} ; exit() }"), "{(if 1 {}); exit()}");
    assert_eq!(body("BEGIN { unroll(5) { @i++; } unroll ($2) { } }"), "{(unroll 5 {(++post @i)}); (unroll $2 {})}");
    assert_eq!(
        body("BEGIN { while ($i < 10) { if ($i == 5) { break } $i++; continue; } return }"),
        "{(while (< $i 10) {(if (== $i 5) {break}); (++post $i); continue}); return}"
    );
}

#[test]
fn assignments_compound_and_increments() {
    let ops = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"];
    for op in ops {
        assert_eq!(
            body(&format!("BEGIN {{ @x[1] {op}= 2; $y {op}= 3 }}")),
            format!("{{({op}= (@x 1) 2); ({op}= $y 3)}}")
        );
    }
    assert_eq!(
        body("BEGIN { @ = 1; @[1, \"a\"] = 2; @m[(1, 2)] = 3 }"),
        "{(= @ 1); (= (@ 1 \"a\") 2); (= (@m (tuple 1 2)) 3)}"
    );
    assert_eq!(body("BEGIN { @x++; $y--; ++@z[1]; --$w }"), "{(++post @x); (--post $y); (++pre (@z 1)); (--pre $w)}");
    // The value of a var assignment; chained assignment is not an expression in bpftrace.
    assert_eq!(body("BEGIN { $a = $b == 1 ? 2 : 3 }"), "{(= $a (? (== $b 1) 2 3))}");
    let script = ok("BEGIN { $abc = 1 }");
    match &script.probes[0].body.stmts[0].kind {
        StmtKind::AssignVar { name, name_span, .. } => {
            assert_eq!((name.as_str(), name_span.start, name_span.end), ("abc", 8, 12));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn c_operator_precedence() {
    let cases = [
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("1 * 2 + 3", "(+ (* 1 2) 3)"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("8 / 4 / 2 % 3", "(% (/ (/ 8 4) 2) 3)"),
        ("1 << 2 + 3", "(<< 1 (+ 2 3))"),
        ("1 < 2 << 3", "(< 1 (<< 2 3))"),
        ("1 == 2 < 3", "(== 1 (< 2 3))"),
        ("1 & 2 == 3", "(& 1 (== 2 3))"),
        ("1 ^ 2 & 3", "(^ 1 (& 2 3))"),
        ("1 | 2 ^ 3", "(| 1 (^ 2 3))"),
        ("1 && 2 | 3", "(&& 1 (| 2 3))"),
        ("1 || 2 && 3", "(|| 1 (&& 2 3))"),
        ("1 || 2 ? 3 : 4", "(? (|| 1 2) 3 4)"),
        ("1 ? 2 : 3 ? 4 : 5", "(? 1 2 (? 3 4 5))"),
        ("1 ? 2 ? 3 : 4 : 5", "(? 1 (? 2 3 4) 5)"),
        ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
        ("-1 * 2", "(* (neg 1) 2)"),
        ("!$a && ~$b", "(&& (! $a) (~ $b))"),
        ("- -$x", "(neg (neg $x))"),
        ("*arg0 + 1", "(+ (deref arg0) 1)"),
        ("&$x", "(addr $x)"),
        ("$a != $b >= $c", "(!= $a (>= $b $c))"),
        ("$a >> 1 <= $b", "(<= (>> $a 1) $b)"),
        ("$x++ + 1", "(+ (++post $x) 1)"),
        ("1 - --$x", "(- 1 (--pre $x))"),
        ("$a->b.c[2]->d", "(-> ([] (. (-> $a b) c) 2) d)"),
        ("-$s->len", "(neg (-> $s len))"),
        ("@x[1].a", "(. (@x 1) a)"),
        ("$t.0 + $t.1", "(+ (. $t 0) (. $t 1))"),
        ("$x->comm", "(-> $x comm)"),
    ];
    for (e, want) in cases {
        assert_eq!(ex(e), want, "{e}");
    }
}

#[test]
fn casts() {
    let cases = [
        ("(uint32)$x", "(cast uint32 $x)"),
        ("(struct sock *)arg0", "(cast struct sock* arg0)"),
        ("(struct sock**)arg0", "(cast struct sock** arg0)"),
        ("(union u *)arg0", "(cast union u* arg0)"),
        ("(int8)-1", "(cast int8 (neg 1))"),
        ("(uint8 *)arg1", "(cast uint8* arg1)"),
        ("(unsigned int)$x", "(cast unsigned int $x)"),
        ("(uint8)$x * 2", "(* (cast uint8 $x) 2)"),
        ("-(int64)$x", "(neg (cast int64 $x))"),
        ("(struct task_struct *)curtask->parent", "(cast struct task_struct* (-> curtask parent))"),
        ("((struct sock *)arg0)->sk_state", "(-> (cast struct sock* arg0) sk_state)"),
        ("(AF_INET) - 1", "(- 'AF_INET 1)"),
        ("(uint32)(uint16)$x", "(cast uint32 (cast uint16 $x))"),
    ];
    for (e, want) in cases {
        assert_eq!(ex(e), want, "{e}");
    }
    let script = ok("BEGIN { (struct sock *)0 }");
    let StmtKind::Expr(Expr { kind: ExprKind::Cast { ty, .. }, span }) = &script.probes[0].body.stmts[0].kind else {
        panic!("not a cast");
    };
    assert_eq!((ty.name.as_str(), ty.ptr_depth, ty.span.start, ty.span.end), ("struct sock", 1, 9, 22));
    assert_eq!((span.start, span.end), (8, 24));
}

#[test]
fn primaries_literals_builtins_calls() {
    let cases = [
        ("123", "123"),
        ("1_000_000", "1000000"),
        ("0x1F", "31"),
        ("0755", "493"),
        ("1e6", "1000000"),
        ("5E3", "5000"),
        ("10ULL", "10"),
        ("18446744073709551615", "18446744073709551615"),
        (r#""a\tb\n\"q\" \\ \x41\101""#, r#""a\tb\n\"q\" \\ AA""#),
        ("$1", "$1"),
        ("$#", "$#"),
        ("str($1)", "str($1)"),
        ("$var_1", "$var_1"),
        ("@", "@"),
        ("@[1]", "(@ 1)"),
        ("@m[$a, comm, 3]", "(@m $a comm 3)"),
        ("arg0 + arg12 + sarg3", "(+ (+ arg0 arg12) sarg3)"),
        (
            "pid + tid + uid + gid + cpu + cgroup + elapsed + rand",
            "(+ (+ (+ (+ (+ (+ (+ pid tid) uid) gid) cpu) cgroup) elapsed) rand)",
        ),
        ("kstack", "kstack"),
        ("kstack(5)", "kstack(5)"),
        ("ustack(perf)", "ustack('perf)"),
        ("AF_INET", "'AF_INET"),
        ("argx", "'argx"),
        ("nsecs()", "nsecs()"),
        ("exit()", "exit()"),
        ("printf(\"%d %s\\n\", $x, comm)", "printf(\"%d %s\\n\" $x comm)"),
        ("(1, \"two\", $x)", "(tuple 1 \"two\" $x)"),
        ("((1, 2), 3)", "(tuple (tuple 1 2) 3)"),
        ("(((7)))", "7"),
        ("sizeof(struct task_struct)", "sizeof('struct task_struct)"),
        ("sizeof(uint8 *)", "sizeof('uint8 *)"),
        ("sizeof($x)", "sizeof($x)"),
        ("args->filename", "(-> args filename)"),
        ("args.filename", "(. args filename)"),
        ("curtask->real_parent->pid", "(-> (-> curtask real_parent) pid)"),
        ("retval", "retval"),
        ("probe", "probe"),
        ("$x[0][1]", "([] ([] $x 0) 1)"),
    ];
    for (e, want) in cases {
        assert_eq!(ex(e), want, "{e}");
    }
}

#[test]
fn expression_spans() {
    let src = "BEGIN { @x[pid] = count(1) + (2 * 3); }";
    let script = ok(src);
    let text = |s: bpfbox_trace::Span| &src[s.start as usize..s.end as usize];
    let stmt = &script.probes[0].body.stmts[0];
    assert_eq!(text(stmt.span), "@x[pid] = count(1) + (2 * 3)");
    let StmtKind::AssignMap { map, value, .. } = &stmt.kind else { panic!() };
    assert_eq!(text(map.span), "@x[pid]");
    assert_eq!(text(map.keys[0].span), "pid");
    assert_eq!(text(value.span), "count(1) + (2 * 3)");
    let ExprKind::Binary { lhs, rhs, .. } = &value.kind else { panic!() };
    assert_eq!(text(rhs.span), "(2 * 3)");
    let ExprKind::Call { name_span, args, .. } = &lhs.kind else { panic!() };
    assert_eq!((text(lhs.span), text(*name_span), text(args[0].span)), ("count(1)", "count", "1"));
    assert_eq!(text(script.probes[0].body.span), "{ @x[pid] = count(1) + (2 * 3); }");
}

#[test]
fn syntax_errors_point_at_the_token() {
    let cases = [
        ("BEGIN { @b = 1 + ; }", "1:18: syntax error, unexpected ';', expecting expression"),
        ("BEGIN { foo(1, ); }", "1:16: syntax error, unexpected ')', expecting expression"),
        ("BEGIN { @b = (1 + 2; }", "1:20: syntax error, unexpected ';', expecting ')' or ','"),
        ("BEGIN { @b = 1 }}", "1:17: syntax error, unexpected '}', expecting probe"),
        ("BEGIN { @b = 1 ", "1:16: syntax error, unexpected end of file, expecting ';' or '}'"),
        ("BEGIN { @b = 1 @c = 2 }", "1:16: syntax error, unexpected map '@c', expecting ';' or '}'"),
        ("BEGIN { 1++; }", "1:10: The ++ operator must be applied to a map or variable"),
        ("BEGIN { --pid; }", "1:9: The -- operator must be applied to a map or variable"),
        ("kprobe:f/pid==1/{ }", "1:13: syntax error, unexpected '==', expecting ',', '/' or '{'"),
        ("BEGIN { return 1; }", "1:16: syntax error, unexpected integer '1', expecting ';' or '}'"),
        ("BEGIN { if $x { } }", "1:12: syntax error, unexpected variable '$x', expecting '('"),
        (
            "BEGIN { unroll($x) { } }",
            "1:16: syntax error, unexpected variable '$x', expecting integer or positional parameter",
        ),
        ("BEGIN { else { } }", "1:9: 'else' without a preceding 'if'"),
        ("BEGIN { struct }", "1:9: syntax error, unexpected identifier 'struct', expecting expression"),
        ("BEGIN { @x[] = 1 }", "1:12: syntax error, unexpected ']', expecting expression"),
        ("BEGIN { ($x) = 1 }", "1:14: syntax error, unexpected '=': only maps (@x) and variables ($x) can be assigned"),
        ("BEGIN { pid = 1 }", "1:13: syntax error, unexpected '=': only maps (@x) and variables ($x) can be assigned"),
        (
            "BEGIN { $t.0 = 1 }",
            "1:9: Tuples are immutable once created. Consider creating a new tuple and assigning it instead.",
        ),
        ("BEGIN { $x = $a->; }", "1:18: syntax error, unexpected ';', expecting field name"),
        ("BEGIN { $x = $a->0; }", "1:18: syntax error, unexpected integer '0', expecting field name"),
        ("BEGIN { $x = (1 ? 2); }", "1:20: syntax error, unexpected ')', expecting ':'"),
        ("BEGIN { $x = \"abc; }", "1:14: unterminated string"),
        ("BEGIN { $x = \"abc\\", "1:14: unterminated string"),
        ("BEGIN { $x = \"a\\qb\"; }", "1:16: invalid escape character '\\q'"),
        ("BEGIN { $x = $0; }", "1:14: param $0 is out of integer range [1, 4294967295]"),
        ("BEGIN { $x = 09; }", "1:14: invalid octal integer literal: '09'"),
        ("BEGIN { $x = 0x1_0; }", "1:14: invalid integer literal: '0x1_0'"),
        ("BEGIN { $x = 99999999999999999999; }", "1:14: integer literal out of range: '99999999999999999999'"),
        ("BEGIN { $x = 1 ` 2; }", "1:16: invalid character '`'"),
        ("BEGIN { $x = 1; } /* never closed", "1:19: unterminated comment: end of file during comment"),
        ("", "1:1: syntax error, unexpected end of file, expecting probe"),
        ("#include <linux/sched.h>\n", "2:1: syntax error, unexpected end of file, expecting probe"),
        ("BEGIN { }\n#include <x.h>\n", "2:1: preprocessor directives and C definitions must come before the probes"),
        ("kprobe:a, { }", "1:11: syntax error, unexpected '{', expecting attach point"),
        ("kprobe:a kprobe:b { }", "1:10: syntax error, unexpected identifier 'kprobe', expecting ',', '/' or '{'"),
        ("struct x { int a; \nBEGIN { }", "1:1: unterminated C definition: end of file before its closing '}'"),
        (
            "BEGIN { $x = \"ok\" } // fine\nEND {\n  $y = (1 + );\n}",
            "3:13: syntax error, unexpected ')', expecting expression",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(err(src), want, "{src}");
    }
    // A predicate that never closes: the body's `{` comes where the closing `/` should be.
    assert_eq!(err("kprobe:f /pid == 1 { }"), "1:20: syntax error, unexpected '{', expecting '/' ending the predicate");
}

#[test]
fn errors_render_with_a_caret() {
    let src = "BEGIN {\n  @x = 1 +;\n}\n";
    let d = parse(src).unwrap_err();
    assert_eq!(
        d.render("t.bt", src),
        "error: syntax error, unexpected ';', expecting expression\n --> t.bt:2:11\n  |\n2 |   @x = 1 +;\n  |           ^\n"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let n = 100_000;
    let deep = [
        format!("BEGIN {{ $x = {}1{}; }}", "(".repeat(n), ")".repeat(n)),
        format!("BEGIN {{ $x = {}1; }}", "- ".repeat(n)),
        format!("BEGIN {{ $x = {}1; }}", "!~".repeat(n)),
        format!("BEGIN {{ $x = {}1; }}", "(uint8)".repeat(n)),
        format!("BEGIN {{ $x = 1{}; }}", " + 1".repeat(n)),
        format!("BEGIN {{ $x = 1{}; }}", " ? 1 : 1".repeat(n)),
        format!("BEGIN {{ $x = $a{}; }}", "->b[0]".repeat(n)),
        format!("BEGIN {{ $x = {}1{}; }}", "f(".repeat(n), ")".repeat(n)),
        format!("BEGIN {{ @x[{}1{}] = 1; }}", "@x[".repeat(n), "]".repeat(n)),
        format!("BEGIN {{ {}{} }}", "if (1) { ".repeat(n), "}".repeat(n)),
        format!("BEGIN {{ if (1) {{ }} {} }}", "else if (1) { } ".repeat(n)),
        format!("BEGIN {{ {} }}", "while (1) { ".repeat(n)),
    ];
    for src in &deep {
        let e = err(src);
        assert!(e.contains("nesting too deep"), "{}...: {e}", &src[..40]);
    }
    // Nesting within the limit is fine.
    assert_eq!(ex(&format!("{}1{}", "(".repeat(50), ")".repeat(50))), "1");
}
