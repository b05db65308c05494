//! `bpfbox debug` driven through its line mode (commands on stdin, as scripts and
//! editors drive it) on the repository's objects: breakpoints where the source says,
//! stepping over helper and bpf-to-bpf calls, values of locals and fields through
//! pointers, watches on map values, reverse execution back to identical states, and
//! bad input that leaves the session usable.

use std::io::Write;
use std::process::{Command, Stdio};

const DEMO: &str = "tests/progs/debug_demo.bpf.o";
/// Ethernet (IPv4) + an IPv4 header: protocol 17, saddr 1.2.3.4, daddr 5.6.7.8; 36 bytes.
const PACKET: &str = "000000000002000000000001080045000054000040004011000001020304050607080000";

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `bpfbox debug OBJ ARGS` with `script` on stdin; returns stdout (stderr must
/// be empty: no panics, no errors).
fn debug(obj: &str, args: &[&str], script: &str) -> String {
    let all: Vec<&str> = ["debug", obj].into_iter().chain(args.iter().copied()).collect();
    let (stdout, stderr, code) = bpfbox(&all, script);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.is_empty(), "stderr:\n{stderr}\nstdout:\n{stdout}");
    stdout
}

fn demo(script: &str) -> String {
    debug(DEMO, &["--data-hex", PACKET], script)
}

/// The text between two markers printed with `echo`-like `print` of constants.
fn section(out: &str, from: &str, to: &str) -> String {
    let a = out.find(from).unwrap_or_else(|| panic!("no `{from}` in:\n{out}"));
    let start = a + from.len();
    let b = out[start..].find(to).map(|b| start + b).unwrap_or_else(|| panic!("no `{to}` after `{from}` in:\n{out}"));
    out[start..b].to_string()
}

/// What `mix` computes (debug_demo.bpf.c).
fn mix(a: u32, b: u32) -> u32 {
    let h = a.wrapping_mul(31).wrapping_add(b);
    h ^ (h >> 7)
}

const SADDR: u32 = u32::from_le_bytes([1, 2, 3, 4]);
const DADDR: u32 = u32::from_le_bytes([5, 6, 7, 8]);

#[test]
fn breakpoints_on_lines_and_functions_hit_where_the_source_says() {
    let out = demo("break debug_demo.bpf.c:40\nbreak mix\ninfo breakpoints\nrun\ncontinue\nbt\ncontinue\ncontinue\n");
    assert!(out.contains("Breakpoint 1 at pc "), "{out}");
    assert!(out.contains("Breakpoint 2 at pc "), "{out}");
    assert!(out.contains("\nBreakpoint 1, xdp_debug_demo (ctx="), "{out}");
    assert!(out.contains("at debug_demo.bpf.c:40\n40\t\t__u32 key = ip->protocol;\n"), "{out}");
    // mix's arguments are what the program passes: saddr and daddr.
    let hit =
        format!("\nBreakpoint 2, mix (a={SADDR}, b={DADDR}) at debug_demo.bpf.c:20\n20\t\t__u32 h = a * 31 + b;\n");
    assert!(out.contains(&hit), "{out}");
    assert!(out.contains("#0  mix (a="), "{out}");
    assert!(out.contains("#1  xdp_debug_demo (ctx="), "{out}");
    assert!(out.contains("The program returns 2 from packet 1"), "{out}");
    assert!(out.contains("[packet 1: returned 2 (XDP_PASS)]"), "{out}");
    assert!(out.contains("[Inferior 1 (program xdp_debug_demo) exited]"), "{out}");
    // A line is hit once: breakpoint 1 is reported once.
    assert_eq!(out.matches("\nBreakpoint 1, ").count(), 1, "{out}");
}

#[test]
fn next_steps_over_helper_and_bpf_to_bpf_calls() {
    let out = demo("break 42\nrun\nnext\nnext\nnext\nprint st\nprint *st\nprint key\n");
    assert!(out.contains("\n42\t\tstruct stats *st = bpf_map_lookup_elem(&proto_stats, &key);\n"), "{out}");
    // Never inside mix, and the lookup's result is in `st`.
    assert!(!out.contains("mix ("), "{out}");
    let st = out.lines().find(|l| l.starts_with("$1 = (struct stats *) 0x")).unwrap_or_else(|| panic!("{out}"));
    assert_ne!(st, "$1 = (struct stats *) 0x0", "{out}");
    assert!(out.contains("$2 = {packets = 0, bytes = 0}\n") || out.contains("$2 = {packets = 1, bytes = "), "{out}");
    assert!(out.contains("$3 = 17\n"), "{out}");
}

#[test]
fn finish_returns_from_a_bpf_to_bpf_call_with_its_value() {
    let out = demo("break mix\nrun\nfinish\nbt\n");
    assert!(out.contains("Run till exit from #0  mix (a="), "{out}");
    assert!(out.contains("\nxdp_debug_demo (ctx="), "{out}");
    assert!(out.contains(&format!("Value returned is $1 = {}\n", mix(SADDR, DADDR))), "{out}");
    // Back in the caller: one frame.
    assert!(out.contains("#0  xdp_debug_demo (ctx=") && !out.contains("#1  xdp_debug_demo"), "{out}");
}

#[test]
fn print_locals_and_fields_through_pointers_equal_what_the_program_computes() {
    let out = demo("break 40\nrun\nprint ip->saddr\nprint ip->daddr\nprint/x ip->protocol\nprint *eth\nprint eth->h_proto\nprint ip->saddr + ip->daddr == $r7\ninfo locals\nprint (ip->ttl)\nprint ip[0].protocol\nprint data_end - (void *)eth\n");
    assert!(out.contains(&format!("$1 = {SADDR}\n")), "{out}");
    assert!(out.contains(&format!("$2 = {DADDR}\n")), "{out}");
    assert!(out.contains("$3 = 0x11\n"), "{out}");
    assert!(
        out.contains("$4 = {h_dest = \"\\000\\000\\000\\000\\000\\002\", h_source = \"\\000\\000\\000\\000\\000\\001\", h_proto = 8}\n"),
        "{out}"
    );
    assert!(out.contains("$5 = 8\n"), "{out}");
    assert!(out.contains("$6 = 0\n"), "{out}");
    assert!(out.contains("\neth = (struct ethhdr *) 0x"), "{out}");
    assert!(out.contains("\nip = (struct iphdr *) 0x"), "{out}");
    // u8 fields print as gdb prints unsigned char.
    assert!(out.contains("$7 = 64 '@'\n"), "{out}");
    assert!(out.contains("$8 = 17 '\\021'\n"), "{out}");
    // No casts in expressions: a clear message.
    assert!(out.contains("A syntax error in expression"), "{out}");
}

#[test]
fn watch_stops_when_a_map_value_changes() {
    let dir = std::env::temp_dir().join(format!("bpfbox-debug-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let init = dir.join("stats.json");
    // Protocol 17 has seen 41 packets of 1000 bytes.
    std::fs::write(&init, r#"[{"key": 17, "value": "2900000000000000e803000000000000"}]"#).expect("written");
    let map_init = format!("proto_stats={}", init.display());
    let out = debug(
        DEMO,
        &["--data-hex", PACKET, "--map-init", &map_init],
        "break mix\nrun\nfinish\nwatch st->packets\nwatch st->bytes\ncontinue\ncontinue\nprint *st\ncontinue\nreverse-continue\nreverse-continue\nprint *st\nreverse-continue\n",
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.contains("Hardware watchpoint 2: st->packets\n"), "{out}");
    assert!(out.contains("\nHardware watchpoint 2: st->packets\n\nOld value = 41\nNew value = 42\n"), "{out}");
    assert!(out.contains("\nHardware watchpoint 3: st->bytes\n\nOld value = 1000\nNew value = 1036\n"), "{out}");
    assert!(out.contains("= {packets = 42, bytes = 1036}\n"), "{out}");
    // Backwards, each watch stops at the store that changed it, newest first.
    let back = &out[out.find("reverse commands go back").unwrap_or_else(|| panic!("{out}"))..];
    let bytes = back.find("\nHardware watchpoint 3: st->bytes\n\nOld value = 1036\nNew value = 1000\n");
    let packets = back.find("\nHardware watchpoint 2: st->packets\n\nOld value = 42\nNew value = 41\n");
    assert!(bytes.is_some() && packets.is_some() && bytes < packets, "{out}");
    assert!(back.contains("= {packets = 41, bytes = 1000}\n"), "{out}");
    assert!(back.contains("\nBreakpoint 1, mix (a="), "{out}");
}

#[test]
fn reverse_continue_returns_to_the_previous_breakpoint_with_identical_state() {
    let probe = "info registers\nx/4xw $r10+496\ninfo maps\nprint $step\n";
    let script = format!(
        "break mix\nrun\nprint 111\n{probe}print 222\ncontinue\ninfo maps\nreverse-continue\nprint 333\n{probe}print 444\nreverse-stepi\nstepi\nprint 555\n{probe}print 666\n"
    );
    let out = demo(&script);
    let first = section(&out, "$1 = 111\n", "$3 = 222\n");
    let back = section(&out, "$4 = 333\n", "$6 = 444\n");
    let again = section(&out, "$7 = 555\n", "$9 = 666\n");
    assert!(first.contains("r10            0x"), "{out}");
    // The map value was 1 packet at the end, 0 again after going back.
    assert!(out.contains("  11 00 00 00: 01 00 00 00 00 00 00 00 24 00 00 00 00 00 00 00\n"), "{out}");
    assert!(
        first.contains("proto_stats: type 2, key 4 bytes, value 16 bytes, 256 entries\n  (256 entries all zero)\n"),
        "{out}"
    );
    let strip_history =
        |s: &str| s.lines().map(|l| l.split_once(" = ").map(|x| x.1).unwrap_or(l).to_string()).collect::<Vec<_>>();
    assert_eq!(strip_history(&first), strip_history(&back), "reverse-continue:\n{out}");
    assert_eq!(strip_history(&first), strip_history(&again), "reverse-stepi + stepi:\n{out}");
    assert!(out.contains("\nBreakpoint 1, mix (a="), "{out}");
    assert_eq!(out.matches("\nBreakpoint 1, mix (a=").count(), 3, "{out}");
}

#[test]
fn reverse_step_next_and_finish_walk_back_through_the_source() {
    let out = demo("break 40\nrun\nnext\nnext\nnext\nreverse-next\nreverse-next\nreverse-next\nbreak mix\ncontinue\nstep\nreverse-finish\nreverse-step\n");
    // Three lines forward then the same three back: the stop lines mirror.
    let lines: Vec<&str> = out.lines().filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit())).collect();
    let fwd = &lines[..4];
    let back = &lines[3..7];
    let mut rev = back.to_vec();
    rev.reverse();
    assert_eq!(fwd, rev.as_slice(), "{out}");
    // reverse-finish goes back to the call in the caller.
    let tail = &out[out.rfind("Breakpoint 2, mix").unwrap_or(0)..];
    assert!(tail.contains("xdp_debug_demo (ctx="), "{out}");
    assert!(tail.contains("41\t\t__u32 hash = mix(ip->saddr, ip->daddr);"), "{out}");
}

#[test]
fn list_disassemble_and_info_commands_show_source() {
    let out = demo(
        "list mix\nbreak mix\nrun\ndisassemble\ninfo frame\ninfo args\ninfo locals\nx/2xw $r10+504\ndisplay a\nstepi\n",
    );
    assert!(out.contains("18\tstatic __noinline __u32 mix(__u32 a, __u32 b)\n"), "{out}");
    assert!(out.contains("Dump of assembler code for function mix:\n"), "{out}");
    assert!(out.contains("debug_demo.bpf.c:20\t\t__u32 h = a * 31 + b;\n"), "{out}");
    assert!(out.contains("=> "), "{out}");
    assert!(out.contains(&format!("\na = {SADDR}\nb = {DADDR}\n")), "{out}");
    assert!(out.contains("Stack level 0, pc "), "{out}");
    assert!(out.contains(&format!("1: a = {SADDR}\n")), "{out}");
}

#[test]
fn bad_input_gives_a_message_and_the_session_goes_on() {
    let out = demo(
        "print 1 +\nbreak nosuch.c:3\nbreak 9999\nbreak nosuch_func\nbreak *100000\nfoo\nbreak 40\nrun\nprint nosuchvar\nprint ip->nosuchfield\nprint *key\nprint )\nx/4q $r10\nwatch 5\ninfo nonsense\nbreak 45 if ip->\nnext\nprint key\n",
    );
    for msg in [
        "A syntax error in expression, near `'.",
        "No source file named nosuch.c.",
        "No line 9999 in file \"debug_demo.bpf.c\".",
        "Function \"nosuch_func\" not defined.",
        "No instruction 100000 in `xdp_debug_demo`.",
        "Undefined command: \"foo\".",
        "No symbol \"nosuchvar\" in current context.",
        "There is no member named nosuchfield.",
        "Attempt to take contents of a non-pointer value.",
        "Invalid format letter 'q'",
        "Cannot watch constant value or a value in a register.",
        "Undefined info command: \"nonsense\".",
    ] {
        assert!(out.contains(msg), "missing `{msg}` in:\n{out}");
    }
    // And the session still works.
    assert!(out.contains("\nBreakpoint 1, xdp_debug_demo (ctx="), "{out}");
    assert!(out.contains("$1 = 17\n"), "{out}");
}

#[test]
fn commands_before_run_say_the_program_is_not_running() {
    let out = demo("next\nfinish\nreverse-step\nx/4x 0\ninfo registers\ncontinue\n");
    assert_eq!(out.matches("The program is not being run.").count(), 6, "{out}");
}

#[test]
fn objects_without_dwarf_debug_with_btf_lines_and_registers() {
    let out = debug(
        "tests/realworld/katran_balancer.bpf.o",
        &["--prog", "balancer_ingress", "--data-hex", PACKET],
        "start\nnext\nnext\ninfo locals\nprint $r1 == $r1\nprint data\nbreak *5\ncontinue\nreverse-stepi\ncontinue\ncontinue\ncontinue\n",
    );
    assert!(out.contains("the object has no DWARF (.debug_info); build it with -g"), "{out}");
    assert!(
        out.contains(
            "balancer_ingress () at katran_balancer.bpf.c:278\n278\tint balancer_ingress(struct xdp_md *ctx)\n"
        ),
        "{out}"
    );
    assert!(out.contains("No symbol table info available."), "{out}");
    assert!(out.contains("$1 = 1\n"), "{out}");
    assert!(out.contains("No symbol table is loaded (no DWARF)."), "{out}");
    assert!(out.contains("\nBreakpoint 1, balancer_ingress () at"), "{out}");
    assert!(out.contains("[packet 1: returned 1 (XDP_DROP)]"), "{out}");
}

#[test]
fn pcap_packets_and_the_packet_variable() {
    let out = debug(
        "examples/xdp_firewall.bpf.o",
        &["--pcap", &root().join("examples/traffic.pcap").display().to_string()],
        "break xdp_firewall if $packet == 3\nrun\nprint $packet\ninfo frame\ndelete\ncontinue\n",
    );
    assert!(out.contains("[packet 1: returned "), "{out}");
    assert!(out.contains("[packet 2: returned "), "{out}");
    assert!(out.contains("\nBreakpoint 1, xdp_firewall ("), "{out}");
    assert!(out.contains("$1 = 3\n"), "{out}");
    assert!(out.contains("of packet 3:"), "{out}");
}

#[test]
fn reverse_across_a_map_update_replays_the_run_to_the_same_state() {
    // maps.bpf.c: `totals` grows at line 31, `proto_count` gets its first entry from
    // bpf_map_update_elem at line 40 (which the undo log does not keep).
    let out = debug(
        "tests/progs/maps.bpf.o",
        &["--data-hex", PACKET],
        "break 35\nbreak 41\nrun\ninfo maps\ncontinue\ninfo maps\nreverse-continue\nprint key\nprint ip->protocol\ninfo maps\nnext\nprint key\n",
    );
    assert!(out.contains("(replaying from the start"), "{out}");
    assert_eq!(out.matches("\nBreakpoint 1, xdp_count (").count(), 2, "{out}");
    // The maps at line 35, the first time and after going back, are the same: totals
    // has the packet's 36 bytes, proto_count nothing yet (it has an entry at line 42).
    let maps = |after: &str| {
        let rest = &out[out.find(after).unwrap_or_else(|| panic!("no `{after}` in:\n{out}"))..];
        rest[rest.find("totals:").unwrap_or(0)..].lines().take(4).collect::<Vec<_>>().join("\n")
    };
    let first = maps("35\t\tkey = ip->protocol;\n");
    let back = maps("$2 = 17 '\\021'\n");
    assert_eq!(first, back, "{out}");
    assert!(first.contains("  00 00 00 00: 24 00 00 00 00 00 00 00\n"), "{out}");
    assert!(first.ends_with("proto_count: type 1, key 4 bytes, value 8 bytes, 0 entries"), "{out}");
    assert!(out.contains("  11 00 00 00: 01 00 00 00 00 00 00 00\n"), "{out}");
    // And the run goes on from there as the first time.
    assert!(out.contains("$3 = 17\n"), "{out}");
}

#[test]
fn reverse_continue_goes_back_to_an_earlier_packet() {
    let out = debug(
        "examples/xdp_firewall.bpf.o",
        &["--pcap", &root().join("examples/traffic.pcap").display().to_string()],
        "break xdp_firewall\nrun\nprint $packet\ncontinue\nprint $packet\nreverse-continue\nprint $packet\nreverse-continue\n",
    );
    assert!(out.contains("$1 = 1\n$2 = 2\n") || out.contains("$1 = 1\n") && out.contains("$2 = 2\n"), "{out}");
    assert!(out.contains("$3 = 1\n"), "{out}");
    assert!(out.contains("No more reverse-execution history."), "{out}");
}

#[test]
fn a_terminal_gets_a_prompt() {
    // util-linux `script` runs the debugger on a pseudo-terminal.
    if Command::new("script").arg("--version").output().is_err() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("`script` (util-linux) is needed for the terminal test");
        }
        eprintln!("SKIP: no `script` command to run bpfbox debug on a pseudo-terminal");
        return;
    }
    let cmd = format!("{} debug {} --data-hex {PACKET}", env!("CARGO_BIN_EXE_bpfbox"), root().join(DEMO).display());
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script starts");
    child.stdin.take().expect("stdin").write_all(b"break mix\nrun\n\nquit\n").expect("written");
    let out = child.wait_with_output().expect("script ends");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("(bpfbox-debug) "), "{text}");
    assert!(text.contains("Breakpoint 1, mix (a="), "{text}");
    // An empty line repeats the last command (`run` again: the same stop).
    assert_eq!(text.matches("Breakpoint 1, mix (a=").count(), 2, "{text}");
}

/// The programs of an object, as `bpfbox debug` lists them when asked to choose.
fn programs_of(obj: &std::path::Path) -> Vec<String> {
    let out =
        Command::new(env!("CARGO_BIN_EXE_bpfbox")).arg("debug").arg(obj).stdin(Stdio::null()).output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    match err.split_once("choose one with --prog (") {
        Some((_, rest)) => rest.split(')').next().unwrap_or("").split(", ").map(str::to_string).collect(),
        None => vec![String::new()],
    }
}

#[test]
fn repository_objects_step_forward_and_back_without_a_panic() {
    let script = "start\nnext\nstep\nstep\ninfo locals\ninfo args\ninfo verifier\nbt\nup\ninfo frame\ninfo registers\ninfo locals\nprint $r6\nx/2x $fp-8\nfinish\ndown\nreverse-step\nreverse-next\nfinish\ncontinue\nreverse-continue\nstepi\nreverse-finish\nreverse-stepi\nnexti\nuntil\ninfo maps\ncontinue\ncontinue\n";
    let mut objects = Vec::new();
    for dir in ["tests/progs", "examples"] {
        for e in std::fs::read_dir(root().join(dir)).expect("dir").flatten() {
            if e.file_name().to_string_lossy().ends_with(".bpf.o") {
                objects.push(e.path());
            }
        }
    }
    // The packet programs of tests/realworld (the tracing ones load against the running
    // kernel's BTF: most of a second each in a debug build, for no more coverage here).
    for o in ["katran_balancer", "loop_callbacks", "xdp_dynptr_parse", "xdp_redirect", "xdp_rewrite", "xdp_syn_ct"] {
        objects.push(root().join(format!("tests/realworld/{o}.bpf.o")));
    }
    objects.sort();
    assert!(objects.len() >= 20, "{objects:?}");
    let cases: Vec<(std::path::PathBuf, String)> =
        objects.iter().flat_map(|o| programs_of(o).into_iter().map(move |p| (o.clone(), p))).collect();
    assert!(cases.len() >= 35, "{} programs", cases.len());
    let run = |obj: &std::path::Path, prog: &str, data: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpfbox"));
        cmd.arg("debug").arg(obj).args(data);
        if !prog.is_empty() {
            cmd.args(["--prog", prog]);
        }
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starts");
        child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("written");
        let out = child.wait_with_output().expect("ends");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked") && out.status.code() != Some(101), "{} {prog}:\n{stderr}", obj.display());
        // Exit 1 only for what `bpfbox run` refuses too (helpers bpfbox lacks).
        let refused = stderr.contains("which bpfbox does not implement");
        assert!(out.status.success() || refused, "{} {prog}:\n{stderr}", obj.display());
        stdout
    };
    // Two at a time; programs that take no packet run again without one.
    std::thread::scope(|s| {
        for half in cases.chunks(cases.len().div_ceil(2)) {
            s.spawn(move || {
                for (obj, prog) in half {
                    let out = run(obj, prog, &["--data-hex", PACKET]);
                    if out.contains("the run failed") {
                        run(obj, prog, &[]);
                    }
                }
            });
        }
    });
}

#[test]
fn tbreak_until_display_address_of_and_examine_formats() {
    let out = demo("tbreak 40\nrun\ninfo breakpoints\nx/4xb $r7+12\nx/2dw $r7+26\nx/1xh $r7+12\ndisplay key\nuntil\nprint &key\nprint *&key\nprint &ip->protocol\nundisplay 1\nnext\n");
    assert!(out.contains("Temporary breakpoint 1, xdp_debug_demo ("), "{out}");
    // A temporary breakpoint is gone once hit.
    assert!(out.contains("No breakpoints or watchpoints.\n"), "{out}");
    // Ethernet type 0x0800 at offset 12, then 0x45 0x00.
    assert!(out.contains(":\t0x08\t0x00\t0x45\t0x00\n"), "{out}");
    assert!(out.contains(&format!(":\t{SADDR}\t{DADDR}\n")), "{out}");
    assert!(out.contains(":\t0x0008\n"), "{out}");
    assert!(out.contains("1: key = 0\n41\t\t__u32 hash = mix(ip->saddr, ip->daddr);\n1: key = 17\n"), "{out}");
    assert!(out.contains("$1 = (__u32 *) 0x"), "{out}");
    assert!(out.contains("$2 = 17\n"), "{out}");
    assert!(out.contains("$3 = (__u8 *) 0x"), "{out}");
    // undisplay: no more `1: key` after the last `next`.
    let tail = &out[out.rfind("$3 = ").unwrap_or(0)..];
    assert!(!tail.contains("1: key"), "{out}");
}

#[test]
fn info_verifier_shows_the_proved_states_beside_the_concrete_values() {
    let out = demo("info verifier\nbreak 40\nbreak mix\nrun\ninfo verifier\ncontinue\ninfo verifier\n");
    assert!(out.starts_with("Debugging") && out.contains("The program is not being run.\n"), "{out}");
    // At line 40 (pc 13): the packet check before it, the load at it.
    assert!(out.contains("The verifier accepted the program. What it recorded before pc 13:\n"), "{out}");
    assert!(out.contains("  12: (2d) if r1 > r9 goto pc+28"), "{out}");
    assert!(out.contains("  13: (71) r1 = *(u8 *)(r7 +23)"), "{out}");
    // In mix: the callee's entry state (frame 1) with both arguments as 32-bit scalars.
    assert!(out.contains("before pc 42:\n  42: frame1: R1=scalar("), "{out}");
    assert_eq!(out.matches("Every concrete scalar is within what the verifier proved.").count(), 2, "{out}");
    assert!(!out.contains("VERIFIER BUG?"), "{out}");
}

#[test]
fn a_faulting_run_stops_before_the_fault_with_the_history_to_step_back() {
    // debug_fault.bpf.c reads p[p[0] * 100], unchecked: p[0] = 0xff faults.
    let out = debug(
        "crates/cli/tests/debug_data/debug_fault.bpf.o",
        &["--data-hex", "ff0000000000000000000000000000"],
        "run\nprint at\nreverse-step\ninfo args\nreverse-finish\ninfo verifier\ncontinue\ncontinue\n",
    );
    assert!(
        out.contains("[packet 1: the run failed: program `xdp_fault` faulted: pc 6: out-of-bounds read of 1 bytes"),
        "{out}"
    );
    assert!(out.contains("The program faulted at pc 6 (packet 1): stopped before that instruction; reverse commands go back.\nxdp_fault (ctx=<optimized out>) at debug_fault.bpf.c:18\npc 6\t18\t\treturn p[at];\n"), "{out}");
    assert!(out.contains("$1 = 25500\n"), "{out}");
    // Back into the call that computed the index, then out to the call.
    assert!(out.contains("scaled (v=255) at debug_fault.bpf.c:9\n"), "{out}");
    assert!(out.contains("\nv = 255\n"), "{out}");
    assert!(out.contains("17\t\t__u32 at = scaled(i);\n"), "{out}");
    assert!(out.contains("The verifier rejected the program."), "{out}");
    // From the fault, `continue` faults again: once, then the run is over.
    assert_eq!(out.matches("The program faulted at pc 6").count(), 2, "{out}");
    assert!(out.ends_with("[Inferior 1 (program xdp_fault) exited]\n"), "{out}");
}

/// A pseudo-terminal (openpty): the master side to type into and read from, the
/// slave side for the debugger's stdin, stdout and stderr.
fn open_pty() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize { ws_row: 40, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty writes two descriptors; no name buffer, default terminal modes.
    let r = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    Ok(unsafe { (std::fs::File::from_raw_fd(master), std::fs::File::from_raw_fd(slave)) })
}

/// What the debugger wrote to the terminal so far (a thread reads the master side).
struct Screen(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Screen {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Wait until `needle` appears at or after byte `from`; the offset after it.
    fn wait_for(&self, needle: &str, from: usize) -> usize {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let text = self.text();
            if let Some(i) = text.get(from..).and_then(|t| t.find(needle)) {
                return from + i + needle.len();
            }
            assert!(std::time::Instant::now() < deadline, "no `{needle:?}` after byte {from} in:\n{text:?}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

#[test]
fn a_terminal_has_line_editing_and_a_history_file() {
    let (mut master, slave) = match open_pty() {
        Ok(p) => p,
        Err(e) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "cannot make a pseudo-terminal: {e}");
            eprintln!("SKIP: cannot make a pseudo-terminal ({e})");
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("bpfbox-debug-pty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let history = dir.join("history");
    std::fs::write(&history, "info record\n").expect("history seeded");
    let io = |f: &std::fs::File| Stdio::from(f.try_clone().expect("dup"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpfbox"))
        .arg("debug")
        .arg(root().join(DEMO))
        .args(["--data-hex", PACKET])
        .env("TERM", "xterm")
        .env("BPFBOX_DEBUG_HISTORY", &history)
        .stdin(io(&slave))
        .stdout(io(&slave))
        .stderr(io(&slave))
        .spawn()
        .expect("bpfbox starts");
    drop(slave);
    let screen = Screen(Default::default());
    let buf = screen.0.clone();
    let mut reader = master.try_clone().expect("dup");
    let reading = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        // Ends with EIO when the debugger closes the terminal.
        while let Ok(n @ 1..) = std::io::Read::read(&mut reader, &mut chunk) {
            buf.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&chunk[..n]);
        }
    });
    const PROMPT: &str = "(bpfbox-debug) ";
    let mut at = screen.wait_for(PROMPT, 0);
    let mut send = |keys: &str, answer: &str, at: &mut usize| {
        master.write_all(keys.as_bytes()).expect("typed");
        *at = screen.wait_for(answer, *at);
        *at = screen.wait_for(PROMPT, *at);
    };
    send("break mix\r", "Breakpoint 1 at pc ", &mut at);
    send("run\r", &format!("Breakpoint 1, mix (a={SADDR}, b={DADDR})"), &mut at);
    send("print b\r", &format!("$1 = {DADDR}"), &mut at);
    // Typed with a typo, mended by moving the cursor back: `prit a` -> `print a`.
    send("prit a\x1b[D\x1b[D\x1b[Dn\r", &format!("$2 = {SADDR}"), &mut at);
    // The up arrow twice recalls `print b`.
    send("\x1b[A\x1b[A\r", &format!("$3 = {DADDR}"), &mut at);
    // The entry the history file had from an earlier session is there too (six up:
    // print b, print a, print b, run, break mix, info record).
    send("\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A\r", "steps recorded.", &mut at);
    send("continue\r", "The program returns 2 from packet 1", &mut at);
    // Ctrl-D quits.
    master.write_all(b"\x04").expect("typed");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the debugger did not end on Ctrl-D:\n{}", screen.text());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    drop(master);
    let _ = reading.join();
    let text = screen.text();
    assert!(status.success(), "{status:?}\n{text}");
    assert!(!text.contains("panicked"), "{text}");
    let saved = std::fs::read_to_string(&history).expect("history written");
    let _ = std::fs::remove_dir_all(&dir);
    let lines: Vec<&str> = saved.lines().filter(|l| !l.starts_with('#')).collect();
    for cmd in ["info record", "break mix", "run", "print b", "print a", "continue"] {
        assert!(lines.contains(&cmd), "`{cmd}` not in the history file:\n{saved}");
    }
}

const FRAMES: &str = "crates/cli/tests/debug_data/debug_frames.bpf.o";
/// data[0] = 5, data[1] = 3 (XDP wants 14 bytes): k1 = 12, k2 = 14, middle's m1 = 1012,
/// m2 = 28, leaf's x = 1012 ^ 28 = 1000; middle returns 3001 + 1012 + 28 = 4041.
const FRAMES_PACKET: &str = "0503000000000000000000000000";

#[test]
fn up_down_and_frame_select_a_callers_frame_with_its_saved_registers() {
    // debug_frames.bpf.c: xdp_frames keeps k1, k2 in r7, r6 across its call of middle,
    // which keeps m1, m2 in r7, r6 across its call of leaf: each frame's values come
    // from the registers its call saved, not from the innermost frame's.
    let out = debug(
        FRAMES,
        &["--data-hex", FRAMES_PACKET],
        "break leaf\nrun\nup\ninfo locals\nprint m1 + m2\nup\ninfo locals\nprint $r7\nprint $r1\ninfo registers\n\
         print 1111\ninfo frame\nup\ndown 2\nprint x\nframe 1\ninfo frame\nprint k1\nframe\nprint 2222\nframe 3\nframe x\n\
         down 1x\nfinish\ninfo locals\ninfo registers\n",
    );
    assert!(out.contains("\nBreakpoint 1, leaf (x=1000) at debug_frames.bpf.c:9\n"), "{out}");
    // up: middle, stopped in its call of leaf.
    assert!(
        out.contains("#1  middle (a=<optimized out>, b=<optimized out>) at debug_frames.bpf.c:16\n16\t\t__u32 r = leaf(m1 ^ m2);\nm1 = 1012\nm2 = 28\n"),
        "{out}"
    );
    assert!(out.contains("$1 = 1040\n"), "{out}");
    // up again: xdp_frames, in its call of middle; r6 and r7 as that call saved them.
    assert!(
        out.contains(
            "#2  xdp_frames (ctx=<optimized out>) at debug_frames.bpf.c:29\n29\t\t__u32 v = middle(k1, k2);\n"
        ),
        "{out}"
    );
    assert!(out.contains("\nk1 = 12\nk2 = 14\n"), "{out}");
    assert!(out.contains("$2 = 12\n$3 = <not saved>\n"), "{out}");
    let regs = section(&out, "$3 = <not saved>\n", "$4 = 1111\n");
    assert!(regs.starts_with("r0             <not saved>\nr1             <not saved>\n"), "{regs}");
    assert!(regs.contains("r6             0xe                14\nr7             0xc                12\n"), "{regs}");
    assert!(regs.contains("pc             0xc                12\n"), "{regs}");
    assert!(out.contains("Stack level 2, pc 12 in program xdp_frames, step "), "{out}");
    assert!(out.contains(" call depth 0\n caller of frame at level 1\n saved registers: r6 0xe, r7 0xc, "), "{out}");
    assert!(out.contains("Initial frame selected; you cannot go up.\n"), "{out}");
    // down 2: back in leaf.
    assert!(out.contains("#0  leaf (x=1000) at debug_frames.bpf.c:9\n9\t\treturn x * 3 + 1;\n$5 = 1000\n"), "{out}");
    // frame 1 is middle: k1 is not a name there; `frame` alone shows the selection.
    assert!(out.contains("Stack level 1, pc "), "{out}");
    assert!(
        out.contains(" called by frame at level 2\n caller of frame at level 0\n saved registers: r6 0x1c, r7 0x3f4, "),
        "{out}"
    );
    assert!(out.contains("No symbol \"k1\" in current context.\n#1  middle ("), "{out}");
    assert!(out.contains("$6 = 2222\nNo frame at level 3.\nInvalid number \"x\".\nInvalid number \"1x\".\n"), "{out}");
    // finish in frame 1 runs until middle returns, with its value.
    assert!(out.contains("Run till exit from #1  middle ("), "{out}");
    assert!(out.contains("Value returned is $7 = 4041\n"), "{out}");
    // Back in xdp_frames (a stop selects frame 0): its r6, r7 restored, equal to what
    // frame 2 showed.
    let after = section(&out, "Value returned is $7 = 4041\n", "pc      ");
    assert!(after.contains("k1 = 12\nk2 = 14\n"), "{after}");
    assert!(after.contains("r6             0xe                14\nr7             0xc                12\n"), "{after}");
}

#[test]
fn frame_commands_without_a_stack_or_frames_say_so() {
    let out = demo("up\ndown\nframe 1\nbreak mix\nrun\ndown\nframe 2\nup 5\nframe\nfinish\nup\nfinish\n");
    assert_eq!(out.matches("No stack.\n").count(), 3, "{out}");
    assert!(out.contains("Bottom (innermost) frame selected; you cannot go down.\n"), "{out}");
    assert!(out.contains("No frame at level 2.\n"), "{out}");
    // up 5 stops at the outermost frame, which `frame` shows again.
    assert_eq!(out.matches("#1  xdp_debug_demo (ctx=<optimized out>) at debug_demo.bpf.c:41\n").count(), 2, "{out}");
    assert!(out.contains("\"finish\" not meaningful in the outermost frame.\n"), "{out}");
    assert!(out.contains("Initial frame selected; you cannot go up.\n"), "{out}");
}

const FAULT: &str = "crates/cli/tests/debug_data/debug_fault.bpf.o";

/// `bpfbox ARGS` (run in the repository's root) with `script` on stdin: (stdout,
/// stderr, exit code).
fn bpfbox(args: &[&str], script: &str) -> (String, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpfbox"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bpfbox starts");
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("script written");
    let out = child.wait_with_output().expect("bpfbox ends");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr, out.status.code().unwrap_or(-1))
}

#[test]
fn run_no_verify_debug_stops_in_the_debugger_at_the_fault() {
    // debug_fault.bpf.c reads p[p[0] * 100]: p[0] = 0xff is out of bounds.
    let (out, err, code) = bpfbox(
        &["run", "--no-verify", "--debug", FAULT, "--data-hex", "ff0000000000000000000000000000"],
        "print at\nfoo bar\nprint at +\nreverse-step\ninfo args\nbt\nreverse-finish\nnext\nnext\ncontinue\n",
    );
    // The run reports its fault as `bpfbox run` does, then the debugger takes over.
    assert!(
        err.starts_with("bpfbox: error: program `xdp_fault` faulted: pc 6: out-of-bounds read of 1 bytes"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.starts_with("\nbpfbox run --debug: the run faulted; the debugger stops before the faulting instruction.\n[packet 1: the run failed: program `xdp_fault` faulted: pc 6: "), "{out}");
    assert!(out.contains("\nThe program faulted at pc 6 (packet 1): stopped before that instruction; reverse commands go back.\nxdp_fault (ctx=<optimized out>) at debug_fault.bpf.c:18\npc 6\t18\t\treturn p[at];\n"), "{out}");
    assert!(
        out.contains("$1 = 25500\nUndefined command: \"foo\".  Try \"help\".\nA syntax error in expression"),
        "{out}"
    );
    // The history: back into the call that computed the index.
    assert!(out.contains("scaled (v=255) at debug_fault.bpf.c:9\n9\t\treturn v * 100;\nv = 255\n#0  scaled (v=255) at debug_fault.bpf.c:9\n#1  xdp_fault ("), "{out}");
    assert!(out.contains("17\t\t__u32 at = scaled(i);\n"), "{out}");
    // Forward again to the fault, once more, and then the run is over.
    assert_eq!(out.matches("The program faulted at pc 6 (packet 1)").count(), 2, "{out}");
    assert!(out.ends_with("[Inferior 1 (program xdp_fault) exited]\n"), "{out}");
}

/// A pcap file (Ethernet link type) of `packets`.
fn write_pcap(path: &std::path::Path, packets: &[&[u8]]) {
    let mut b = Vec::new();
    for x in [0xa1b2c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    for (i, p) in packets.iter().enumerate() {
        for x in [i as u32, 0, p.len() as u32, p.len() as u32] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b.extend_from_slice(p);
    }
    std::fs::write(path, b).expect("pcap written");
}

#[test]
fn run_debug_with_a_pcap_stops_at_the_packet_that_faults() {
    let dir = std::env::temp_dir().join(format!("bpfbox-debug-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pcap = dir.join("three.pcap");
    let (ok, bad) = ([0u8; 15], { [0xffu8; 15] });
    write_pcap(&pcap, &[&ok, &bad, &ok]);
    let pcap = pcap.display().to_string();
    let (out, err, code) = bpfbox(
        &["run", "--no-verify", "--debug", FAULT, "--pcap", &pcap],
        "print $packet\nprint at\nreverse-stepi\ninfo frame\ncontinue\ncontinue\ncontinue\n",
    );
    // `bpfbox run` renders every packet (the second failed) ...
    assert!(out.contains("packet 2: error: "), "{out}");
    assert!(err.is_empty(), "{err}");
    // ... then the debugger stops in the second packet's run, before the fault.
    let dbg = section(&out, "bpfbox run --debug: the run faulted", "[Inferior 1");
    assert!(
        dbg.contains(
            "[packet 1: returned 0 (XDP_ABORTED)]\n[packet 2: the run failed: program `xdp_fault` faulted: pc 6: "
        ),
        "{dbg}"
    );
    assert!(dbg.contains("The program faulted at pc 6 (packet 2): stopped before that instruction"), "{dbg}");
    assert!(dbg.contains("$1 = 2\n$2 = 25500\n"), "{dbg}");
    assert!(dbg.contains(" of packet 2:\n"), "{dbg}");
    // Back one instruction, continuing stops at the fault again; continuing from the
    // fault runs it (not stopped at twice) and the third packet.
    assert!(dbg.contains("[packet 3: returned 0 (XDP_ABORTED)]\n"), "{dbg}");
    assert_eq!(dbg.matches("The program faulted at pc 6").count(), 2, "{dbg}");
    assert!(dbg.contains("The program returns 0 from packet 3 at its exit"), "{dbg}");
    assert!(out.ends_with("[Inferior 1 (program xdp_fault) exited]\n"), "{out}");
    let _ = code;
    // `bpfbox debug` on the same inputs stops at that fault too.
    let out = debug(FAULT, &["--pcap", &pcap], "run\nprint $packet\n");
    assert!(out.contains("The program faulted at pc 6 (packet 2)"), "{out}");
    assert!(out.contains("$1 = 2\n"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_debug_needs_no_verify_an_object_and_a_fault() {
    // Without --no-verify the verifier would refuse the program before it could fault.
    let (_, err, code) = bpfbox(&["run", "--debug", FAULT, "--data-hex", "ff00"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--no-verify"), "{err}");
    let (_, err, code) = bpfbox(&["run", "--no-verify", "--debug", "--engine", "jit", FAULT, "--data-hex", "ff00"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--debug runs the program on the interpreter"), "{err}");
    // A run that does not fault: its result, and nothing to debug.
    let (out, err, code) =
        bpfbox(&["run", "--no-verify", "--debug", FAULT, "--data-hex", "000000000000000000000000000000"], "print 1\n");
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.ends_with("bpfbox run --debug: no run faulted, nothing to debug.\n"), "{out}");
}
