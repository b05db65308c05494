//! Running a compiled script against the kernel: load the object, attach every probe,
//! run BEGIN, print what the programs send until `exit()`, Ctrl-C or the traced command
//! ends, run END, print the maps. Everything that talks to the kernel goes through
//! `bpfbox-kernel`.

use crate::codegen::{Compiled, EventKind, MapOp};
use crate::decode::{self, Resolver};
use crate::output::{self, Format, MessageKind, PrintOpts, Value};
use crate::probes::ProbeKind;
use bpfbox_kernel::attach::{self, PerfEventSpec, Sample, Target, UprobeLocation};
use bpfbox_kernel::events::{Event, EventStream};
use bpfbox_kernel::{KernelError, KernelObject, OpenOptions, TestRunInput};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub format: Format,
    /// `-p PID`: uprobes attach to this process.
    pub pid: Option<i32>,
    /// Stop after this long (tests); `None`: until exit()/Ctrl-C/the command ends.
    pub timeout: Option<Duration>,
}

/// A command started paused (`-c CMD`): it runs once the probes are attached.
#[derive(Debug)]
pub struct PausedChild {
    pid: libc::pid_t,
    go: Option<std::fs::File>,
    status: Option<i32>,
}

impl PausedChild {
    /// Start `argv` stopped before `exec` (it waits on a pipe), so its pid is known for
    /// `cpid` and the probes are attached before it runs. (`std::process::Command` cannot
    /// do this: its `spawn` waits for the exec.)
    pub fn spawn(argv: &[String]) -> std::io::Result<PausedChild> {
        use std::ffi::CString;
        if argv.is_empty() {
            return Err(std::io::Error::other("empty command"));
        }
        let cargs: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_str()).map_err(|_| std::io::Error::other("a NUL byte in the command")))
            .collect::<Result<_, _>>()?;
        let mut ptrs: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let mut fds = [0i32; 2];
        // SAFETY: fds has room for two descriptors.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let (rd, wr) = (fds[0], fds[1]);
        // SAFETY: the child only calls async-signal-safe functions (close, read, execvp,
        // _exit) on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: see above.
            unsafe {
                libc::close(wr);
                let mut b = 0u8;
                libc::read(rd, (&mut b as *mut u8).cast(), 1);
                libc::execvp(ptrs[0], ptrs.as_ptr());
                libc::_exit(127);
            }
        }
        // SAFETY: our copy of the read end; wr is ours.
        unsafe { libc::close(rd) };
        let go = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(wr) };
        Ok(PausedChild { pid, go: Some(go), status: None })
    }
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }
    /// End the command before it runs (SIGKILL while it waits before exec).
    fn kill(&mut self) {
        // SAFETY: our child.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }

    /// SIGTERM to a command still running.
    fn terminate(&mut self) {
        if !self.exited() {
            // SAFETY: our child, not yet reaped.
            unsafe { libc::kill(self.pid, libc::SIGTERM) };
        }
    }

    fn release(&mut self) {
        if let Some(mut g) = self.go.take() {
            let _ = g.write_all(&[1]);
        }
    }
    fn exited(&mut self) -> bool {
        if self.status.is_some() {
            return true;
        }
        let mut st = 0;
        // SAFETY: our child.
        let r = unsafe { libc::waitpid(self.pid, &mut st, libc::WNOHANG) };
        if r == self.pid || r < 0 {
            self.status = Some(st);
            return true;
        }
        false
    }
}

impl Drop for PausedChild {
    fn drop(&mut self) {
        if self.go.is_some() {
            // Never released (the script did not compile or load): it must not run.
            self.kill();
        }
        self.release();
        if self.status.is_none() {
            let mut st = 0;
            // SAFETY: our child.
            unsafe { libc::waitpid(self.pid, &mut st, 0) };
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Kernel(#[from] KernelError),
    #[error("writing the object: {0}")]
    Io(#[from] std::io::Error),
    #[error("{probe}: {message}")]
    Probe { probe: String, message: String },
}

/// Symbols from /proc/kallsyms, user names from /etc/passwd, stacks from the stack map.
/// Both tables are read the first time they are needed (/proc/kallsyms takes ~100 ms).
struct SysResolver<'o> {
    kallsyms: std::cell::OnceCell<Vec<(u64, String)>>,
    users: std::cell::OnceCell<BTreeMap<u32, String>>,
    /// Symbol tables of the user binaries seen so far.
    user_syms: std::cell::RefCell<std::collections::HashMap<std::path::PathBuf, Vec<(u64, u64, String)>>>,
    /// `/proc/PID/maps` as last read (kept for processes that have exited).
    maps: std::cell::RefCell<std::collections::HashMap<u32, String>>,
    /// The process `usym()` values belong to when they carry none (`-p`/`-c`'s).
    pid: std::cell::Cell<u32>,
    obj: &'o KernelObject,
}

impl<'o> SysResolver<'o> {
    fn new(obj: &'o KernelObject) -> SysResolver<'o> {
        SysResolver {
            kallsyms: std::cell::OnceCell::new(),
            users: std::cell::OnceCell::new(),
            user_syms: Default::default(),
            pid: std::cell::Cell::new(0),
            maps: Default::default(),
            obj,
        }
    }

    fn kallsyms(&self) -> &[(u64, String)] {
        self.kallsyms.get_or_init(|| {
            let mut k: Vec<(u64, String)> = std::fs::read_to_string("/proc/kallsyms")
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let mut it = l.split_whitespace();
                    let a = u64::from_str_radix(it.next()?, 16).ok()?;
                    let t = it.next()?;
                    let n = it.next()?;
                    (matches!(t, "t" | "T" | "w" | "W") && a != 0).then(|| (a, n.to_string()))
                })
                .collect();
            k.sort();
            k
        })
    }

    fn users(&self) -> &BTreeMap<u32, String> {
        self.users.get_or_init(|| {
            std::fs::read_to_string("/etc/passwd")
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    Some((f.get(2)?.parse().ok()?, f.first()?.to_string()))
                })
                .collect()
        })
    }
}

impl Resolver for SysResolver<'_> {
    fn ksym(&self, addr: u64) -> String {
        let k = self.kallsyms();
        match k.partition_point(|(a, _)| *a <= addr) {
            0 => format!("0x{addr:x}"),
            i => k[i - 1].1.clone(),
        }
    }
    fn usym(&self, pid: u32, addr: u64) -> String {
        let pid = if pid == 0 { self.pid.get() } else { pid };
        crate::elfsyms::resolve_user(&self.maps_of(pid), addr, &mut self.user_syms.borrow_mut())
            .map(|s| s.split('+').next().unwrap_or(&s).to_string())
            .unwrap_or_else(|| format!("0x{addr:x}"))
    }
    fn stack(&self, id: u32, user: bool, pid: u32) -> Vec<(u64, String)> {
        let Ok(Some(v)) = self.obj.map_lookup(crate::codegen::STACK_MAP, &id.to_le_bytes()) else {
            return Vec::new();
        };
        v.chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .take_while(|&a| a != 0)
            .map(|a| {
                let name = if user {
                    crate::elfsyms::resolve_user(&self.maps_of(pid), a, &mut self.user_syms.borrow_mut())
                        .unwrap_or_else(|| format!("0x{a:x}"))
                } else {
                    self.ksym_off(a)
                };
                (a, name)
            })
            .collect()
    }
    fn username(&self, uid: u32) -> String {
        self.users().get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}

impl SysResolver<'_> {
    /// The memory map of `pid`: read fresh while it lives, the last copy after.
    fn maps_of(&self, pid: u32) -> String {
        // A zombie's maps read as empty: keep the last copy then too.
        match std::fs::read_to_string(format!("/proc/{pid}/maps")).ok().filter(|m| !m.is_empty()) {
            Some(m) => {
                self.maps.borrow_mut().insert(pid, m.clone());
                m
            }
            None => self.maps.borrow().get(&pid).cloned().unwrap_or_default(),
        }
    }

    fn ksym_off(&self, addr: u64) -> String {
        let k = self.kallsyms();
        match k.partition_point(|(a, _)| *a <= addr) {
            0 => format!("0x{addr:x}"),
            i => format!("{}+{}", k[i - 1].1, addr - k[i - 1].0),
        }
    }
}

/// The attach target of a probe (None: BEGIN/END, run by test runs).
fn target(kind: &ProbeKind, opts: &RunOptions) -> Result<Option<Target>, RunError> {
    Ok(Some(match kind {
        ProbeKind::Begin | ProbeKind::End => return Ok(None),
        ProbeKind::Tracepoint { category, name } => {
            Target::Tracepoint { category: category.clone(), name: name.clone() }
        }
        ProbeKind::RawTracepoint { name } => Target::RawTracepoint { name: name.clone() },
        ProbeKind::Uprobe { binary, symbol, ret } => Target::Uprobe {
            binary: binary.clone(),
            location: UprobeLocation::Symbol(symbol.clone()),
            ret: *ret,
            pid: opts.pid,
        },
        ProbeKind::Interval { period_ns } => Target::PerfSample {
            event: PerfEventSpec::parse("software:cpu-clock")?,
            sample: Sample::Period(*period_ns),
            cpus: Some(vec![bpfbox_kernel::sys::online_cpus().first().copied().unwrap_or(0)]),
        },
        ProbeKind::Profile { hz, period_ns } => Target::PerfSample {
            event: PerfEventSpec::parse("software:cpu-clock")?,
            sample: match (hz, period_ns) {
                (Some(h), _) => Sample::Freq(*h),
                (None, p) => Sample::Period(p.unwrap_or(10_000_000)),
            },
            cpus: None,
        },
        ProbeKind::Perf { hardware, event, count } => Target::PerfSample {
            event: PerfEventSpec::parse(&format!("{}:{event}", if *hardware { "hardware" } else { "software" }))?,
            sample: Sample::Period(*count),
            cpus: None,
        },
        ProbeKind::Usdt { binary, offset, semaphore, .. } => Target::Uprobe {
            binary: binary.clone(),
            location: UprobeLocation::Usdt { offset: *offset, semaphore: *semaphore },
            ret: false,
            pid: opts.pid,
        },
        ProbeKind::Kprobe { .. } | ProbeKind::Kfunc { .. } => {
            return Err(RunError::Probe {
                probe: kind.full_name(),
                message: "attaching is handled by the loader".into(),
            });
        }
    }))
}

/// Explain load failures of probe kinds this kernel may not have.
fn explain(kind: &ProbeKind, e: &KernelError) -> Option<String> {
    match kind {
        ProbeKind::Kprobe { .. } if !std::path::Path::new("/sys/kernel/tracing/kprobe_events").exists() => Some(format!(
            "this kernel has no kprobes (CONFIG_KPROBES is off: no kprobe_events in tracefs): {e}"
        )),
        ProbeKind::Kfunc { .. } => Some(format!(
            "the kernel refused the fentry/fexit program (kfunc probes need BPF trampolines; this kernel's policy may forbid them): {e}"
        )),
        _ => None,
    }
}

/// Run a compiled script; `elf` is its object. Output goes to `out`; returns when the
/// script exits.
pub fn run(
    c: &Compiled,
    elf: &[u8],
    opts: &RunOptions,
    mut child: Option<&mut PausedChild>,
    out: &mut dyn Write,
) -> Result<(), RunError> {
    bpfbox_kernel::sys::ensure_tracefs()?;
    let path = std::env::temp_dir().join(format!("bpfbox-trace-{}.o", std::process::id()));
    std::fs::write(&path, elf)?;
    let loaded = KernelObject::load(&path, &OpenOptions::default());
    let _ = std::fs::remove_file(&path);
    let obj = loaded.map_err(|e| {
        // A kprobe/kfunc program the kernel cannot take: say why.
        for p in &c.programs {
            if let Some(m) = explain(&p.probe, &e) {
                if e.to_string().contains(&p.name)
                    || c.programs.iter().all(|q| {
                        matches!(
                            q.probe,
                            ProbeKind::Kprobe { .. } | ProbeKind::Kfunc { .. } | ProbeKind::Begin | ProbeKind::End
                        )
                    })
                {
                    return RunError::Probe { probe: p.probe.full_name(), message: m };
                }
            }
        }
        RunError::Kernel(e)
    })?;
    let mut printed = output::format_attached_probes(c.probe_count as u64, opts.format);
    out.write_all(printed.as_bytes())?;
    printed.clear();
    let mut attachments = Vec::new();
    for p in &c.programs {
        let t = match &p.probe {
            ProbeKind::Kprobe { func, ret } => Some(Target::Kprobe { func: func.clone(), ret: *ret }),
            ProbeKind::Kfunc { .. } => Some(Target::Auto),
            k => target(k, opts)?,
        };
        if let Some(t) = t {
            let a = attach::attach(&obj, &p.name, &t, None).map_err(|e| match explain(&p.probe, &e) {
                Some(m) => RunError::Probe { probe: p.probe.full_name(), message: m },
                None => RunError::Probe { probe: p.probe.full_name(), message: e.to_string() },
            })?;
            attachments.push(a);
        }
    }
    let mut events = EventStream::new(&obj, false)?;
    let res = SysResolver::new(&obj);
    res.pid.set(opts.pid.map(|p| p as u32).or(child.as_ref().map(|c| c.pid())).unwrap_or(0));
    let mut st = State { exit: false, ending: false, fmt: opts.format };
    for p in c.programs.iter().filter(|p| p.probe == ProbeKind::Begin) {
        obj.test_run(&p.name, &TestRunInput::default())?;
    }
    drain(c, &obj, &mut events, &res, &mut st, out, Duration::ZERO)?;
    if let Some(ch) = child.as_deref_mut() {
        if st.exit {
            // exit() in BEGIN: the command never runs (as bpftrace).
            ch.kill();
        }
        ch.release();
    }
    let start = Instant::now();
    while !st.exit && !bpfbox_kernel::sys::interrupted() {
        drain(c, &obj, &mut events, &res, &mut st, out, Duration::from_millis(100))?;
        if let Some(ch) = child.as_deref_mut() {
            // Keep the command's memory map for symbolising its stacks after it exits.
            if res.pid.get() != 0 {
                res.maps_of(res.pid.get());
            }
            if ch.exited() {
                // Collect what its last events sent.
                drain(c, &obj, &mut events, &res, &mut st, out, Duration::from_millis(10))?;
                break;
            }
        }
        if opts.timeout.is_some_and(|t| start.elapsed() >= t) {
            break;
        }
    }
    drop(attachments);
    if let Some(ch) = child.as_deref_mut() {
        // The script ended first: end the command too (as bpftrace).
        ch.terminate();
    }
    st.ending = true;
    for p in c.programs.iter().filter(|p| p.probe == ProbeKind::End) {
        obj.test_run(&p.name, &TestRunInput::default())?;
    }
    drain(c, &obj, &mut events, &res, &mut st, out, Duration::ZERO)?;
    let maps = dump_maps(c, &obj, &res)?;
    let text = match opts.format {
        Format::Text => output::format_maps_at_exit(&maps),
        Format::Json => output::format_maps_at_exit_json(&maps),
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

struct State {
    exit: bool,
    /// END is running: its records are printed even after an exit().
    ending: bool,
    fmt: Format,
}

fn dump_maps(c: &Compiled, obj: &KernelObject, res: &dyn Resolver) -> Result<Vec<output::MapDump>, RunError> {
    let dumps = obj.map_dump_where(|name, _| name.starts_with("AT_"))?;
    let mut out = Vec::new();
    for (m, decl) in decode::script_maps(c) {
        let entries = dumps.iter().find(|d| d.name == m.symbol).map(|d| d.entries.clone()).unwrap_or_default();
        out.push(decode::map_dump(decl, &entries, res));
    }
    Ok(out)
}

fn map_by_name<'c>(c: &'c Compiled, name: &str) -> Option<&'c crate::codegen::MapOut> {
    decode::script_maps(c).find(|(_, d)| d.name == name).map(|(m, _)| m)
}

fn drain(
    c: &Compiled,
    obj: &KernelObject,
    events: &mut EventStream<'_>,
    res: &dyn Resolver,
    st: &mut State,
    out: &mut dyn Write,
    timeout: Duration,
) -> Result<(), RunError> {
    for ev in events.poll(timeout)? {
        let Event::Ring { data, .. } = ev else { continue };
        let Some((kind, idx, payload)) = decode::event_header(&data) else { continue };
        if st.exit && !st.ending {
            // Records sent after exit() are dropped, as bpftrace stops reading at exit.
            continue;
        }
        let text = match kind {
            k if decode::is_kind(k, EventKind::Exit) => {
                st.exit = true;
                continue;
            }
            k if decode::is_kind(k, EventKind::Printf)
                || decode::is_kind(k, EventKind::Cat)
                || decode::is_kind(k, EventKind::System) =>
            {
                let Some(spec) = c.printfs.get(idx) else { continue };
                let args = decode::args(&spec.args, payload, res);
                let s = output::format_printf(&spec.format, &args).unwrap_or_else(|e| format!("[printf: {e}]"));
                if decode::is_kind(k, EventKind::Printf) {
                    output::format_message(MessageKind::Printf, &s, st.fmt)
                } else if decode::is_kind(k, EventKind::Cat) {
                    let body = std::fs::read_to_string(s.trim()).unwrap_or_default();
                    output::format_message(MessageKind::Cat, &body, st.fmt)
                } else {
                    let o = std::process::Command::new("sh").arg("-c").arg(&s).output()?;
                    output::format_message(MessageKind::Syscall, &String::from_utf8_lossy(&o.stdout), st.fmt)
                }
            }
            k if decode::is_kind(k, EventKind::Time) => {
                let Some(fmt) = c.time_formats.get(idx) else { continue };
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                let s = output::format_time(fmt, now).unwrap_or_default();
                output::format_message(MessageKind::Time, &s, st.fmt)
            }
            k if decode::is_kind(k, EventKind::Join) => {
                let Some(delim) = c.joins.get(idx) else { continue };
                let n = payload.get(..8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize);
                let parts: Vec<String> = (0..n.min(crate::codegen::JOIN_MAX as usize))
                    .map(|i| {
                        let at = 8 + i * crate::types::STRLEN as usize;
                        match decode::value(
                            &crate::types::Ty::Str(crate::types::STRLEN),
                            payload.get(at..).unwrap_or(&[]),
                            res,
                        ) {
                            Value::Str(s) => s,
                            _ => String::new(),
                        }
                    })
                    .collect();
                output::format_join(&parts, delim, st.fmt)
            }
            k if decode::is_kind(k, EventKind::PrintValue) => {
                let Some(ty) = c.prints.get(idx) else { continue };
                let v: Value = decode::value(ty, payload, res);
                output::format_value(&v, st.fmt)
            }
            k if decode::is_kind(k, EventKind::MapOp) => {
                let Some(op) = c.map_ops.get(idx) else { continue };
                match op {
                    MapOp::Print { map, top, div } => {
                        let Some(m) = map_by_name(c, map) else { continue };
                        let decl = m.decl.as_ref().expect("script maps have a declaration");
                        let dumps = obj.map_dump_where(|n, _| n == m.symbol)?;
                        let entries = dumps.first().map(|d| d.entries.clone()).unwrap_or_default();
                        let dump = decode::map_dump(decl, &entries, res);
                        let mut s = String::new();
                        let po = PrintOpts { top: *top, div: *div };
                        match st.fmt {
                            Format::Text => output::format_map(&mut s, &dump, &po),
                            Format::Json => output::format_map_json(&mut s, &dump, &po),
                        }
                        s
                    }
                    MapOp::Clear(map) | MapOp::Zero(map) => {
                        if let Some(m) = map_by_name(c, map) {
                            let zero = matches!(op, MapOp::Zero(_));
                            let dumps = obj.map_dump_where(|n, _| n == m.symbol)?;
                            for (k, v) in dumps.first().map(|d| d.entries.clone()).unwrap_or_default() {
                                if zero {
                                    let _ = obj.map_update(&m.symbol, &k, &vec![0u8; v.len()], 0);
                                } else {
                                    let _ = obj.map_delete(&m.symbol, &k);
                                }
                            }
                        }
                        continue;
                    }
                }
            }
            _ => continue,
        };
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}
