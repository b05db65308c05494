//! The Debug Adapter Protocol over a byte stream (`bpfbox debug OBJ --dap`, stdio):
//! editors (VS Code, nvim-dap, dape) drive the same [`Session`] the terminal does.
//!
//! Requests map onto session commands (`setBreakpoints` → `break FILE:LINE [if
//! COND]`, `next` → `next`, `stepBack` → `reverse-next`, `reverseContinue` →
//! `reverse-continue` ...); after each command that runs the program the adapter
//! sends `output` (what the command printed), then `stopped` or `exited` +
//! `terminated`. Malformed messages get an error and the conversation goes on.

use crate::engine::StopReason;
use crate::session::{Session, Status};
use serde_json::{json, Value};
use std::io::{self, BufRead, Write};

/// Variables reference of the registers scope (frames use `1 + frame`).
const REGISTERS_REF: u64 = 100_000;

struct Adapter<'a> {
    session: &'a mut Session,
    out: &'a mut dyn Write,
    seq: u64,
    banner: String,
    stop_on_entry: bool,
}

/// Read one message: `Content-Length: N` headers, a blank line, N bytes of JSON.
/// `Ok(None)` at the end of input; `Ok(Some(Err(why)))` for a malformed message.
fn read_message(input: &mut dyn BufRead) -> io::Result<Option<Result<Value, String>>> {
    let mut len: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(if saw_header { Some(Err("end of input inside a message header".into())) } else { None });
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if !saw_header {
                continue;
            }
            break;
        }
        saw_header = true;
        if let Some(v) = line.strip_prefix("Content-Length:") {
            len = v.trim().parse().ok();
        }
    }
    let Some(len) = len.filter(|l| *l <= 1 << 24) else {
        return Ok(Some(Err("a message without a valid Content-Length header".into())));
    };
    let mut body = vec![0; len];
    input.read_exact(&mut body)?;
    Ok(Some(serde_json::from_slice(&body).map_err(|e| format!("the message is not JSON: {e}"))))
}

impl Adapter<'_> {
    fn send(&mut self, mut msg: Value) -> io::Result<()> {
        self.seq += 1;
        msg["seq"] = json!(self.seq);
        let body = msg.to_string();
        write!(self.out, "Content-Length: {}\r\n\r\n{body}", body.len())?;
        self.out.flush()
    }

    fn respond(&mut self, req: &Value, body: Value) -> io::Result<()> {
        self.send(json!({
            "type": "response",
            "request_seq": req["seq"],
            "success": true,
            "command": req["command"],
            "body": body,
        }))
    }

    fn fail(&mut self, req: &Value, message: &str) -> io::Result<()> {
        self.send(json!({
            "type": "response",
            "request_seq": req.get("seq").cloned().unwrap_or(json!(0)),
            "success": false,
            "command": req.get("command").cloned().unwrap_or(json!("")),
            "message": message,
        }))
    }

    fn event(&mut self, event: &str, body: Value) -> io::Result<()> {
        self.send(json!({"type": "event", "event": event, "body": body}))
    }

    /// Run a command that moves the program, then say where it is.
    fn go(&mut self, req: &Value, command: &str, body: Value) -> io::Result<()> {
        self.respond(req, body)?;
        let text = self.session.execute(command);
        if !text.trim().is_empty() {
            self.event("output", json!({"category": "console", "output": text}))?;
        }
        match self.session.status() {
            Status::Stopped(reason) => {
                let (reason, description) = match reason {
                    StopReason::Breakpoint => ("breakpoint", None),
                    StopReason::Watch { .. } => ("data breakpoint", None),
                    StopReason::End => ("step", Some("before the program's final exit")),
                    _ => ("step", None),
                };
                let mut body = json!({"reason": reason, "threadId": 1, "allThreadsStopped": true});
                if let Some(d) = description {
                    body["description"] = json!(d);
                }
                self.event("stopped", body)
            }
            Status::Exited => {
                self.event("exited", json!({"exitCode": 0}))?;
                self.event("terminated", json!({}))
            }
            Status::Idle => Ok(()),
        }
    }

    /// Handle one request; `false` ends the conversation.
    fn handle(&mut self, req: &Value) -> io::Result<bool> {
        let args = req.get("arguments").cloned().unwrap_or(json!({}));
        let Some(command) = req.get("command").and_then(Value::as_str) else {
            self.fail(req, "a request without a command")?;
            return Ok(true);
        };
        match command {
            "initialize" => {
                self.respond(
                    req,
                    json!({
                        "supportsConfigurationDoneRequest": true,
                        "supportsStepBack": true,
                        "supportsConditionalBreakpoints": true,
                        "supportsEvaluateForHovers": true,
                    }),
                )?;
                let banner = std::mem::take(&mut self.banner);
                if !banner.is_empty() {
                    self.event("output", json!({"category": "console", "output": banner}))?;
                }
                self.event("initialized", json!({}))?;
            }
            "launch" | "attach" => {
                self.stop_on_entry = args.get("stopOnEntry").and_then(Value::as_bool).unwrap_or(false);
                self.respond(req, json!({}))?;
            }
            "setBreakpoints" => {
                let Some(path) = args.pointer("/source/path").and_then(Value::as_str) else {
                    self.fail(req, "setBreakpoints needs source.path")?;
                    return Ok(true);
                };
                self.session.clear_breakpoints_in(path);
                let mut result = Vec::new();
                for bp in args.get("breakpoints").and_then(Value::as_array).cloned().unwrap_or_default() {
                    let line = bp.get("line").and_then(Value::as_u64).unwrap_or(0);
                    let cond =
                        bp.get("condition").and_then(Value::as_str).map(|c| format!(" if {c}")).unwrap_or_default();
                    let text = self.session.execute(&format!("break {path}:{line}{cond}"));
                    let verified = text.starts_with("Breakpoint");
                    // "... line N." : where it landed.
                    let actual = text
                        .rsplit_once("line ")
                        .and_then(|(_, r)| r.trim_end_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().ok())
                        .unwrap_or(line);
                    let mut b = json!({"verified": verified, "line": actual});
                    if !verified {
                        b["message"] = json!(text.trim());
                    }
                    result.push(b);
                }
                self.respond(req, json!({"breakpoints": result}))?;
            }
            "setExceptionBreakpoints" | "setFunctionBreakpoints" => self.respond(req, json!({"breakpoints": []}))?,
            "configurationDone" => {
                let cmd = if self.stop_on_entry { "start" } else { "run" };
                self.go(req, cmd, json!({}))?;
            }
            "threads" => self.respond(req, json!({"threads": [{"id": 1, "name": "bpf"}]}))?,
            "stackTrace" => {
                let frames: Vec<Value> = self
                    .session
                    .frames()
                    .into_iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let mut v = json!({"id": i, "name": f.name, "line": f.line, "column": 1});
                        if let Some(path) = f.file {
                            let name = path.rsplit('/').next().unwrap_or(&path).to_string();
                            v["source"] = json!({"name": name, "path": path});
                        }
                        v
                    })
                    .collect();
                let n = frames.len();
                self.respond(req, json!({"stackFrames": frames, "totalFrames": n}))?;
            }
            "scopes" => {
                let frame = args.get("frameId").and_then(Value::as_u64).unwrap_or(0);
                self.respond(
                    req,
                    json!({"scopes": [
                        {"name": "Locals", "variablesReference": frame + 1, "expensive": false},
                        {"name": "Registers", "variablesReference": REGISTERS_REF, "expensive": false},
                    ]}),
                )?;
            }
            "variables" => {
                let r = args.get("variablesReference").and_then(Value::as_u64).unwrap_or(0);
                let vars = if r == REGISTERS_REF {
                    self.session.registers()
                } else if r >= 1 {
                    self.session.variables((r - 1) as usize)
                } else {
                    Vec::new()
                };
                let vars: Vec<Value> =
                    vars.into_iter().map(|(n, v)| json!({"name": n, "value": v, "variablesReference": 0})).collect();
                self.respond(req, json!({"variables": vars}))?;
            }
            "evaluate" => {
                let e = args.get("expression").and_then(Value::as_str).unwrap_or("");
                let text = self.session.execute(&format!("print {e}"));
                match text.trim().split_once(" = ") {
                    Some((h, v)) if h.starts_with('$') => {
                        self.respond(req, json!({"result": v, "variablesReference": 0}))?
                    }
                    _ => self.fail(req, text.trim())?,
                }
            }
            "next" => self.go(req, "next", json!({}))?,
            "stepIn" => self.go(req, "step", json!({}))?,
            "stepOut" => self.go(req, "finish", json!({}))?,
            "stepBack" => self.go(req, "reverse-next", json!({}))?,
            "reverseContinue" => self.go(req, "reverse-continue", json!({}))?,
            "continue" => self.go(req, "continue", json!({"allThreadsContinued": true}))?,
            "pause" => self.respond(req, json!({}))?,
            "disconnect" | "terminate" => {
                self.respond(req, json!({}))?;
                return Ok(false);
            }
            other => self.fail(req, &format!("unsupported request `{other}`"))?,
        }
        Ok(true)
    }
}

/// Serve one debugging conversation: requests from `input`, responses and events to
/// `output`, until `disconnect` or the end of input. `banner` is sent as output
/// after `initialize`.
pub fn serve(session: &mut Session, banner: &str, input: &mut dyn BufRead, output: &mut dyn Write) -> io::Result<()> {
    let mut a = Adapter { session, out: output, seq: 0, banner: banner.to_string(), stop_on_entry: false };
    while let Some(msg) = read_message(input)? {
        match msg {
            Ok(req) if req.get("type").and_then(Value::as_str) == Some("request") => {
                if !a.handle(&req)? {
                    break;
                }
            }
            Ok(other) => a.fail(&other, "expected a request")?,
            Err(why) => a.fail(&json!({}), &why)?,
        }
    }
    Ok(())
}
