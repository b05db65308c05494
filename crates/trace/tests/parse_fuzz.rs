//! No-panic fuzzing of the lexer and parser: random token soups, random bytes, deep random
//! nesting, and mutations of real scripts (a few written here plus the installed bpftrace
//! tools, when there are any). The parser must return `Ok` or `Err` — never panic, never
//! hang — and an error's span must lie within the script.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use bpfbox_trace::parser::parse;

/// Pieces of bpftrace syntax, valid and not, that the soups are made of.
const VOCAB: &[&str] = &[
    "BEGIN",
    "END",
    "kprobe:f",
    "kr:vfs_*",
    "uprobe:/bin/sh:main",
    "t:a:b",
    "u:\"x y\":\"a::b\"",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "/",
    "//",
    "/*",
    "*/",
    ";",
    ",",
    ":",
    "?",
    ".",
    "->",
    "=",
    "==",
    "!=",
    "+=",
    "<<=",
    ">>=",
    "+",
    "-",
    "++",
    "--",
    "*",
    "&",
    "!",
    "~",
    "<",
    ">>",
    "&&",
    "||",
    "^",
    "%",
    "@",
    "@x",
    "@x[1]",
    "$",
    "$x",
    "$1",
    "$0",
    "$#",
    "0",
    "42",
    "1e6",
    "9e30",
    "0x",
    "0x1f",
    "017",
    "09",
    "1_",
    "1_000",
    "\"",
    "\"s\"",
    "\"\\",
    "\"\\x4",
    "\\",
    "#",
    "#include <linux/sched.h>\n",
    "#!",
    "struct",
    "struct s { int a; };",
    "union",
    "enum",
    "(uint32)",
    "(struct sock *)",
    "(int8 **)",
    "if",
    "else",
    "while",
    "unroll",
    "return",
    "break",
    "continue",
    "printf",
    "count()",
    "str(",
    "args",
    "arg0",
    "sarg1",
    "pid",
    "comm",
    "sizeof",
    "\n",
    " ",
    "\t",
    "é",
    "\u{0}",
    "`",
];

/// Openers that nest when repeated.
const OPENERS: &[&str] = &["(", "- ", "!", "~", "*", "@x[", "f(", "(uint8)", "$a->b[", "1 ? ", "if (1) { ", "$x + "];

/// A few scripts of our own to mutate (the installed tools join them when present).
const SCRIPTS: &[&str] = &[
    "BEGIN { printf(\"hi\\n\"); @start = nsecs; }\nEND { clear(@start) }",
    "kprobe:vfs_read,kprobe:vfs_write /pid == $1 && comm != \"sh\"/ { @io[probe, comm] = hist(arg2); }",
    "#include <net/sock.h>\nstruct x { int a; };\nkretprobe:tcp_v4_connect { $sk = (struct sock *)retval; \
     @[ntop($sk->__sk_common.skc_daddr)] = count(); }",
    "tracepoint:syscalls:sys_enter_openat { @fname[tid] = args->filename; }\n\
     tracepoint:syscalls:sys_exit_openat /@fname[tid]/ { $ret = args->ret; $fd = $ret >= 0 ? $ret : -1;\n\
     if ($fd < 0) { @errs++ } else if ($fd > 100) { @big += 1 } else { unroll(3) { @x <<= 1; } }\n\
     printf(\"%d %s\\n\", $fd, str(@fname[tid])); delete(@fname[tid]); }",
    "interval:s:1 { $i = 0; while ($i < 10) { $i++; if ($i % 2) { continue } @t = ($i, \"a\"); } exit(); }",
];

fn corpus() -> Vec<String> {
    let mut all: Vec<String> = SCRIPTS.iter().map(|s| s.to_string()).collect();
    for dir in ["/usr/sbin", "/usr/share/bpftrace/tools"] {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut tools: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "bt"))
            .collect();
        tools.sort();
        all.extend(tools.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    }
    all
}

/// Parse and check the result is well-formed; fail on a slow parse (a hang in the making).
fn check(src: &str) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let result = parse(src);
    prop_assert!(start.elapsed() < Duration::from_secs(2), "parsing took {:?}", start.elapsed());
    match result {
        Ok(script) => {
            for probe in &script.probes {
                prop_assert!(probe.span.start <= probe.span.end && probe.span.end as usize <= src.len());
            }
        }
        Err(d) => {
            prop_assert!(
                d.span.start <= d.span.end && d.span.end as usize <= src.len(),
                "{d:?} in {} bytes",
                src.len()
            );
            prop_assert!(!d.message.is_empty());
            let _ = d.render("fuzz.bt", src);
        }
    }
    Ok(())
}

fn soup(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(VOCAB), any::<bool>()), 0..max).prop_map(|pieces| {
        pieces.into_iter().map(|(piece, space)| if space { format!("{piece} ") } else { piece.to_string() }).collect()
    })
}

/// One edit of a script; positions are fractions of its length (in 1/10000).
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, piece: &'static str },
    Duplicate { at: usize, len: usize, to: usize },
    Truncate { at: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..10_000usize, 1..20usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (0..10_000usize, prop::sample::select(VOCAB)).prop_map(|(at, piece)| Edit::Insert { at, piece }),
        (0..10_000usize, 1..40usize, 0..10_000usize).prop_map(|(at, len, to)| Edit::Duplicate { at, len, to }),
        (0..10_000usize).prop_map(|at| Edit::Truncate { at }),
    ]
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut bytes = src.as_bytes().to_vec();
    for e in edits {
        let pos = |frac: usize, len: usize| frac * len / 10_000;
        let n = bytes.len();
        match *e {
            Edit::Delete { at, len } => {
                let a = pos(at, n);
                bytes.drain(a..(a + len).min(n));
            }
            Edit::Insert { at, piece } => {
                let a = pos(at, n);
                bytes.splice(a..a, piece.bytes());
            }
            Edit::Duplicate { at, len, to } => {
                let a = pos(at, n);
                let chunk = bytes[a..(a + len).min(n)].to_vec();
                let t = pos(to, n);
                bytes.splice(t..t, chunk);
            }
            Edit::Truncate { at } => bytes.truncate(pos(at, n)),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn token_soup(src in soup(60)) {
        check(&src)?;
    }

    #[test]
    fn token_soup_inside_a_probe(body in soup(40), pred in soup(6)) {
        check(&format!("kprobe:f {{ {body} }}"))?;
        check(&format!("kprobe:f /{pred}/ {{ {body} }}"))?;
    }

    #[test]
    fn random_text(src in "\\PC{0,200}") {
        check(&src)?;
    }

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn deep_random_nesting(openers in prop::collection::vec(prop::sample::select(OPENERS), 0..3000)) {
        let src = format!("BEGIN {{ $r = {}1; }}", openers.concat());
        check(&src)?;
    }

    #[test]
    fn mutated_scripts(which in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..6)) {
        thread_local!(static CORPUS: Vec<String> = corpus());
        let src = CORPUS.with(|c| apply(&c[which.index(c.len())], &edits));
        check(&src)?;
    }
}

#[test]
fn own_scripts_parse() {
    for src in SCRIPTS {
        if let Err(d) = parse(src) {
            panic!("{}", d.render("script.bt", src));
        }
    }
}
