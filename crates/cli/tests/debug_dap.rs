//! `bpfbox debug --dap`: a scripted Debug Adapter Protocol client, checked message by
//! message (initialize, launch, setBreakpoints, configurationDone, stopped,
//! stackTrace, scopes, variables, next, stepBack, continue, terminated), and garbage
//! from the client answered with errors while the conversation goes on.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

const PACKET: &str = "000000000002000000000001080045000054000040004011000001020304050607080000";

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn frame(v: &Value) -> Vec<u8> {
    let body = v.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Every message the adapter sent.
fn parse_all(bytes: &[u8]) -> Vec<Value> {
    let mut r = BufReader::new(bytes);
    let mut out = Vec::new();
    loop {
        let mut len = None;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).expect("reads") == 0 {
                return out;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            len = line.strip_prefix("Content-Length: ").and_then(|l| l.parse::<usize>().ok());
        }
        let mut body = vec![0; len.expect("Content-Length")];
        r.read_exact(&mut body).expect("body");
        out.push(serde_json::from_slice(&body).expect("JSON"));
    }
}

/// The messages after the response to request `seq`, up to the next response.
fn after(msgs: &[Value], seq: u64) -> (&Value, Vec<&Value>) {
    let i = msgs
        .iter()
        .position(|m| m["type"] == "response" && m["request_seq"] == seq)
        .unwrap_or_else(|| panic!("no response to {seq}: {msgs:#?}"));
    let events = msgs[i + 1..].iter().take_while(|m| m["type"] == "event").collect();
    (&msgs[i], events)
}

#[test]
fn a_dap_conversation_checked_message_by_message() {
    let src = root().join("tests/progs/debug_demo.bpf.c").display().to_string();
    let requests = [
        json!({"seq": 1, "type": "request", "command": "initialize", "arguments": {"adapterID": "bpfbox"}}),
        json!({"seq": 2, "type": "request", "command": "launch", "arguments": {}}),
        json!({"seq": 3, "type": "request", "command": "setBreakpoints",
               "arguments": {"source": {"path": src}, "breakpoints": [{"line": 20}, {"line": 9999}]}}),
        json!({"seq": 4, "type": "request", "command": "configurationDone"}),
        json!({"seq": 5, "type": "request", "command": "stackTrace", "arguments": {"threadId": 1}}),
        json!({"seq": 6, "type": "request", "command": "scopes", "arguments": {"frameId": 0}}),
        json!({"seq": 7, "type": "request", "command": "variables", "arguments": {"variablesReference": 1}}),
        json!({"seq": 8, "type": "request", "command": "next", "arguments": {"threadId": 1}}),
        json!({"seq": 9, "type": "request", "command": "stepBack", "arguments": {"threadId": 1}}),
        json!({"seq": 10, "type": "request", "command": "evaluate", "arguments": {"expression": "a * 31 + b"}}),
        json!({"seq": 11, "type": "request", "command": "nonsense"}),
        json!({"seq": 12, "type": "request", "command": "continue", "arguments": {"threadId": 1}}),
        json!({"seq": 13, "type": "request", "command": "continue", "arguments": {"threadId": 1}}),
        json!({"seq": 14, "type": "request", "command": "disconnect"}),
    ];
    let mut input = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        input.extend(frame(r));
        if i == 4 {
            // Garbage between requests: a body that is not JSON, then a header without a length.
            input.extend(b"Content-Length: 7\r\n\r\n{oops!}");
            input.extend(b"X-Nothing: 1\r\n\r\n");
        }
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpfbox"))
        .arg("debug")
        .arg(root().join("tests/progs/debug_demo.bpf.o"))
        .args(["--data-hex", PACKET, "--dap"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    child.stdin.take().expect("stdin").write_all(&input).expect("written");
    let out = child.wait_with_output().expect("ends");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let msgs = parse_all(&out.stdout);
    // Sequence numbers increase by one.
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m["seq"], json!(i + 1), "{m}");
    }

    let (r, ev) = after(&msgs, 1);
    assert_eq!(r["success"], true);
    assert_eq!(r["body"]["supportsStepBack"], true);
    assert_eq!(ev.last().map(|e| e["event"].clone()), Some(json!("initialized")));

    let (r, _) = after(&msgs, 2);
    assert_eq!((r["command"].clone(), r["success"].clone()), (json!("launch"), json!(true)));

    let (r, _) = after(&msgs, 3);
    let bps = r["body"]["breakpoints"].as_array().expect("breakpoints");
    assert_eq!(bps[0]["verified"], true);
    assert_eq!(bps[0]["line"], 20);
    assert_eq!(bps[1]["verified"], false);
    assert!(bps[1]["message"].as_str().unwrap_or("").contains("No line 9999"), "{}", bps[1]);

    let (_, ev) = after(&msgs, 4);
    let stopped = ev.iter().find(|e| e["event"] == "stopped").expect("stopped");
    assert_eq!(stopped["body"]["reason"], "breakpoint");
    assert_eq!(stopped["body"]["threadId"], 1);

    let (r, _) = after(&msgs, 5);
    let frames = r["body"]["stackFrames"].as_array().expect("frames");
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[0]["name"].clone(), frames[0]["line"].clone()), (json!("mix"), json!(20)));
    assert_eq!(frames[0]["source"]["name"], "debug_demo.bpf.c");
    assert_eq!(frames[1]["name"], "xdp_debug_demo");

    // The garbage got two error responses, in order, before the scopes response.
    let errors: Vec<&Value> = msgs.iter().filter(|m| m["type"] == "response" && m["success"] == false).collect();
    assert!(errors[0]["message"].as_str().unwrap_or("").contains("not JSON"), "{errors:#?}");
    assert!(errors[1]["message"].as_str().unwrap_or("").contains("Content-Length"), "{errors:#?}");

    let (r, _) = after(&msgs, 6);
    let scopes = r["body"]["scopes"].as_array().expect("scopes");
    assert_eq!(scopes[0]["name"], "Locals");
    assert_eq!(scopes[0]["variablesReference"], 1);

    let (r, _) = after(&msgs, 7);
    let vars = r["body"]["variables"].as_array().expect("variables");
    let a = u32::from_le_bytes([1, 2, 3, 4]);
    let b = u32::from_le_bytes([5, 6, 7, 8]);
    assert_eq!(vars[0], json!({"name": "a", "value": a.to_string(), "variablesReference": 0}));
    assert_eq!(vars[1], json!({"name": "b", "value": b.to_string(), "variablesReference": 0}));

    let (_, ev) = after(&msgs, 8);
    assert!(
        ev.iter().any(|e| e["event"] == "output" && e["body"]["output"].as_str().unwrap_or("").starts_with("21\t")),
        "{ev:#?}"
    );
    assert_eq!(ev.last().map(|e| e["body"]["reason"].clone()), Some(json!("step")));

    let (_, ev) = after(&msgs, 9);
    assert!(
        ev.iter().any(|e| e["event"] == "output" && e["body"]["output"].as_str().unwrap_or("").starts_with("20\t")),
        "{ev:#?}"
    );
    assert_eq!(ev.last().map(|e| e["event"].clone()), Some(json!("stopped")));

    let (r, _) = after(&msgs, 10);
    assert_eq!(r["body"]["result"], json!(a.wrapping_mul(31).wrapping_add(b).to_string()));

    let (r, _) = after(&msgs, 11);
    assert_eq!(r["success"], false);
    assert!(r["message"].as_str().unwrap_or("").contains("unsupported request `nonsense`"));

    // The first continue stops before the final exit, the second ends the run.
    let (_, ev) = after(&msgs, 12);
    assert_eq!(ev.last().map(|e| e["event"].clone()), Some(json!("stopped")));
    let (_, ev) = after(&msgs, 13);
    let names: Vec<&str> = ev.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(names.ends_with(&["exited", "terminated"]), "{names:?}");

    let (r, _) = after(&msgs, 14);
    assert_eq!(r["command"], "disconnect");
    assert_eq!(msgs.last(), Some(r));
}
