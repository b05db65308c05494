//! Streaming what attached programs send: ring buffers, perf buffers and
//! bpf_trace_printk lines from trace_pipe.

use crate::error::{Errno, KernelError};
use crate::object::KernelObject;
use crate::sys;
use libbpf_rs::{MapCore, MapType};
use std::cell::RefCell;
use std::io::Read;
use std::marker::PhantomData;
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;
use std::time::Duration;

/// One thing a program sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A ring-buffer record.
    Ring { map: String, data: Vec<u8> },
    /// A perf-buffer sample.
    Perf { map: String, cpu: i32, data: Vec<u8> },
    /// Perf-buffer samples lost on a CPU.
    Lost { map: String, cpu: i32, count: u64 },
    /// A trace_pipe line (bpf_trace_printk output), without the trailing newline.
    Trace { line: String },
}

/// The message part of a trace_pipe line (`... bpf_trace_printk: MESSAGE`).
pub fn trace_message(line: &str) -> &str {
    match line.find("bpf_trace_printk: ") {
        Some(i) => &line[i + "bpf_trace_printk: ".len()..],
        None => line,
    }
}

/// Reads ring buffers, perf buffers and (optionally) trace_pipe of one object.
pub struct EventStream<'o> {
    ring: Option<libbpf_rs::RingBuffer<'static>>,
    perfs: Vec<libbpf_rs::PerfBuffer<'static>>,
    trace: Option<(std::fs::File, Vec<u8>)>,
    queue: Rc<RefCell<Vec<Event>>>,
    sources: Vec<String>,
    _obj: PhantomData<&'o KernelObject>,
}

impl std::fmt::Debug for EventStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").field("sources", &self.sources).finish()
    }
}

impl<'o> EventStream<'o> {
    /// Subscribe to every ring buffer and perf event array of `obj`, and to trace_pipe
    /// when `trace_pipe` (mounting tracefs if needed).
    pub fn new(obj: &'o KernelObject, trace_pipe: bool) -> Result<EventStream<'o>, KernelError> {
        let queue: Rc<RefCell<Vec<Event>>> = Rc::new(RefCell::new(Vec::new()));
        let maps: Vec<libbpf_rs::Map<'_>> = obj.lib().maps().collect();
        let mut sources = Vec::new();
        let mut rb = libbpf_rs::RingBufferBuilder::new();
        let mut have_ring = false;
        let mut perfs = Vec::new();
        for m in &maps {
            let name = m.name().to_string_lossy().into_owned();
            match m.map_type() {
                MapType::RingBuf => {
                    let q = queue.clone();
                    let n = name.clone();
                    rb.add(m, move |data: &[u8]| {
                        q.borrow_mut().push(Event::Ring { map: n.clone(), data: data.to_vec() });
                        0
                    })
                    .map_err(|e| {
                        KernelError::syscall("ring_buffer__add", format!("map `{name}`"), sys::errno_of(&e))
                    })?;
                    have_ring = true;
                    sources.push(format!("ringbuf {name}"));
                }
                MapType::PerfEventArray => {
                    let q = queue.clone();
                    let q2 = queue.clone();
                    let n = name.clone();
                    let n2 = name.clone();
                    let pb = libbpf_rs::PerfBufferBuilder::new(m)
                        .sample_cb(move |cpu: i32, data: &[u8]| {
                            q.borrow_mut().push(Event::Perf { map: n.clone(), cpu, data: data.to_vec() })
                        })
                        .lost_cb(move |cpu: i32, count: u64| {
                            q2.borrow_mut().push(Event::Lost { map: n2.clone(), cpu, count })
                        })
                        .build()
                        .map_err(|e| {
                            KernelError::syscall("perf_buffer__new", format!("map `{name}`"), sys::errno_of(&e))
                        })?;
                    perfs.push(pb);
                    sources.push(format!("perf buffer {name}"));
                }
                _ => {}
            }
        }
        let ring = if have_ring {
            Some(rb.build().map_err(|e| KernelError::syscall("ring_buffer__new", "ring buffers", sys::errno_of(&e)))?)
        } else {
            None
        };
        let trace = if trace_pipe {
            let dir = sys::ensure_tracefs()?;
            let path = dir.join("trace_pipe");
            let f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&path)
                .map_err(|e| KernelError::Io { path: path.clone(), source: e })?;
            sources.push("trace_pipe".into());
            Some((f, Vec::new()))
        } else {
            None
        };
        Ok(EventStream { ring, perfs, trace, queue, sources, _obj: PhantomData })
    }

    /// What this stream reads (`ringbuf events`, `perf buffer out`, `trace_pipe`).
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Wait up to `timeout` for events and return those that arrived.
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<Event>, KernelError> {
        let n_sources = usize::from(self.ring.is_some()) + self.perfs.len() + usize::from(self.trace.is_some());
        let slice = if n_sources == 0 { timeout } else { timeout / n_sources as u32 };
        if let Some(r) = &self.ring {
            let rc = r.poll_raw(slice);
            if rc < 0 && -rc != libc::EINTR {
                return Err(KernelError::syscall("ring_buffer__poll", "ring buffers", Errno(-rc)));
            }
        }
        for p in &self.perfs {
            if let Err(e) = p.poll(slice) {
                let errno = sys::errno_of(&e);
                if errno.0 != libc::EINTR {
                    return Err(KernelError::syscall("perf_buffer__poll", "perf buffers", errno));
                }
            }
        }
        let mut lines = Vec::new();
        if let Some((f, pending)) = &mut self.trace {
            let mut got = false;
            let mut buf = [0u8; 8192];
            loop {
                match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        pending.extend_from_slice(&buf[..n]);
                        got = true;
                    }
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::Interrupted =>
                    {
                        break
                    }
                    Err(e) => return Err(KernelError::Io { path: "trace_pipe".into(), source: e }),
                }
            }
            while let Some(i) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                // A format ending in "\n" leaves an empty line after the message.
                if !text.trim().is_empty() {
                    lines.push(Event::Trace { line: text });
                }
            }
            if !got && n_sources == 1 {
                std::thread::sleep(slice);
            }
        }
        if n_sources == 0 {
            std::thread::sleep(timeout);
        }
        let mut out = std::mem::take(&mut *self.queue.borrow_mut());
        out.extend(lines);
        Ok(out)
    }
}

impl KernelObject {
    /// True when program `prog` calls any of these helper ids (e.g. 6
    /// bpf_trace_printk, 177 bpf_trace_vprintk).
    pub fn calls_helpers(&self, prog: &str, ids: &[i32]) -> Result<bool, KernelError> {
        let bytes = self.loaded_insns(prog)?;
        let slots = bpfbox_isa::raw::slots(&bytes);
        let mut pc = 0;
        while pc < slots.len() {
            match bpfbox_isa::insn::decode_at(&slots, pc) {
                Ok(insn) => {
                    if let bpfbox_isa::Insn::Call(bpfbox_isa::insn::CallTarget::Helper(id)) = insn {
                        if ids.contains(&id) {
                            return Ok(true);
                        }
                    }
                    pc += insn.slots();
                }
                Err(_) => pc += 1,
            }
        }
        Ok(false)
    }

    /// The ring buffers and perf event arrays of the object (names).
    pub fn event_maps(&self) -> Vec<String> {
        self.lib()
            .maps()
            .filter(|m| matches!(m.map_type(), MapType::RingBuf | MapType::PerfEventArray))
            .map(|m| m.name().to_string_lossy().into_owned())
            .collect()
    }
}
