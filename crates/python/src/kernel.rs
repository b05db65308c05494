//! The kernel half of the Python package (cargo feature `kernel`): `KernelBPF`, an
//! object loaded into the running kernel through `bpfbox-kernel` (libbpf), with bcc's
//! attach methods, tables over the kernel's maps, ring/perf buffer polling with Python
//! callbacks and trace_pipe.

use crate::compile;
use crate::table::{Backend, Table};
use bpfbox_kernel::attach::{self, Attachment, PerfEventSpec, Sample, Target, UprobeLocation, XdpMode};
use bpfbox_kernel::events::{trace_message, Event, EventStream};
use bpfbox_kernel::{Errno, KernelError, KernelObject, MapHandle, OpenOptions, TestRunInput};
use bpfbox_object::btf::{Btf, Kind};
use pyo3::exceptions::{PyKeyError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn kerr(e: KernelError) -> PyErr {
    let msg = e.to_string();
    match e {
        KernelError::NoSuchProgram { .. } | KernelError::NoSuchMap { .. } => PyKeyError::new_err(msg),
        KernelError::Io { .. } | KernelError::Open { .. } => PyOSError::new_err(msg),
        KernelError::BadTarget(_) | KernelError::Size { .. } | KernelError::Incompatible { .. } => {
            PyValueError::new_err(msg)
        }
        _ => PyRuntimeError::new_err(msg),
    }
}

fn errno_err(map: &str, op: &str, e: Errno) -> PyErr {
    PyOSError::new_err(format!("map `{map}`: {op}: {}", std::io::Error::from_raw_os_error(e.0)))
}

const ENOENT: i32 = 2;

/// trace_pipe, read without blocking, split into lines.
struct TracePipe {
    file: std::fs::File,
    pending: Vec<u8>,
}

impl TracePipe {
    fn open() -> PyResult<TracePipe> {
        let dir = bpfbox_kernel::sys::ensure_tracefs().map_err(kerr)?;
        let path = dir.join("trace_pipe");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc_o_nonblock())
            .open(&path)
            .map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))?;
        Ok(TracePipe { file, pending: Vec::new() })
    }

    /// The next complete line, if one is there now.
    fn line(&mut self) -> PyResult<Option<String>> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                if text.trim().is_empty() {
                    continue;
                }
                return Ok(Some(text));
            }
            let mut buf = [0u8; 4096];
            match self.file.read(&mut buf) {
                Ok(0) => return Ok(None),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {
                    return Ok(None)
                }
                Err(e) => return Err(PyOSError::new_err(format!("trace_pipe: {e}"))),
            }
        }
    }
}

/// O_NONBLOCK without a libc dependency of our own (Linux's value on every architecture
/// bpfbox builds for but alpha/sparc/parisc/mips).
fn libc_o_nonblock() -> i32 {
    0o4000
}

/// Callbacks of one ring buffer or perf buffer: (sample callback, lost callback).
type Callbacks = (Py<PyAny>, Option<Py<PyAny>>);

/// An eBPF object loaded into the running kernel (root or CAP_BPF + CAP_PERFMON).
///
/// `KernelBPF(obj="prog.bpf.o")` opens and loads a prebuilt object (the fast start);
/// `KernelBPF(src_file="prog.bpf.c")` / `KernelBPF(text="...")` compile C with clang
/// first, with a `vmlinux.h` generated from the running kernel when the source
/// includes it; objects are cached by content hash, so the next start is as fast.
/// Programs are attached with bcc's `attach_*` methods and detached on `cleanup()`,
/// on leaving a `with` block, or when the object is garbage-collected.
#[pyclass(module = "bpfbox", name = "KernelBPF", unsendable)]
pub(crate) struct KernelBpf {
    // Field order is drop order: what uses the object goes before it.
    stream: Option<EventStream<'static>>,
    attachments: Vec<(String, Attachment)>,
    trace: Option<TracePipe>,
    callbacks: HashMap<String, Callbacks>,
    obj: Box<KernelObject>,
    path: PathBuf,
    /// The object file's BTF (map value types), read on first use.
    btf: std::cell::OnceCell<Option<Arc<Btf>>>,
}

impl KernelBpf {
    /// Load the object file at `path` into the kernel.
    pub(crate) fn open(path: PathBuf) -> PyResult<KernelBpf> {
        bpfbox_kernel::availability().map_err(PyRuntimeError::new_err)?;
        let obj = KernelObject::load(&path, &OpenOptions::default()).map_err(kerr)?;
        Ok(KernelBpf {
            stream: None,
            attachments: Vec::new(),
            trace: None,
            callbacks: HashMap::new(),
            obj: Box::new(obj),
            path,
            btf: std::cell::OnceCell::new(),
        })
    }

    fn section(&self, prog: &str) -> PyResult<String> {
        self.obj.section_of(prog).map_err(kerr)
    }

    fn attach(&mut self, key: String, prog: &str, target: Target) -> PyResult<()> {
        let a = attach::attach(&self.obj, prog, &target, None).map_err(kerr)?;
        self.attachments.push((key, a));
        Ok(())
    }

    fn stream(&mut self) -> PyResult<&mut EventStream<'static>> {
        if self.stream.is_none() {
            // SAFETY: the stream borrows `*self.obj`, a box that lives at a fixed address
            // until `self` is dropped, and `stream` is declared before `obj`, so it is
            // dropped first; `obj` is never replaced.
            let obj: &'static KernelObject = unsafe { &*(&*self.obj as *const KernelObject) };
            self.stream = Some(EventStream::new(obj, false).map_err(kerr)?);
        }
        Ok(self.stream.as_mut().expect("just set"))
    }

    /// Poll buffers for up to `timeout_ms` (negative: until something arrives) and run
    /// the callbacks. Returns the number of records.
    fn poll(&mut self, py: Python<'_>, timeout_ms: i64) -> PyResult<usize> {
        let start = Instant::now();
        loop {
            let slice = if timeout_ms < 0 { 100 } else { timeout_ms.clamp(0, 100) as u64 };
            let events = self.stream()?.poll(Duration::from_millis(slice)).map_err(kerr)?;
            let n = events.iter().filter(|e| matches!(e, Event::Ring { .. } | Event::Perf { .. })).count();
            for e in events {
                let (map, args): (String, (Py<PyAny>, Py<PyAny>, usize)) = match e {
                    Event::Ring { map, data } => {
                        let len = data.len();
                        (
                            map,
                            (
                                0i32.into_pyobject(py)?.into_any().unbind(),
                                PyBytes::new(py, &data).into_any().unbind(),
                                len,
                            ),
                        )
                    }
                    Event::Perf { map, cpu, data } => {
                        let len = data.len();
                        (
                            map,
                            (
                                cpu.into_pyobject(py)?.into_any().unbind(),
                                PyBytes::new(py, &data).into_any().unbind(),
                                len,
                            ),
                        )
                    }
                    Event::Lost { map, cpu, count } => {
                        if let Some((_, Some(lost))) = self.callbacks.get(&map) {
                            lost.call1(py, (cpu, count))?;
                        }
                        continue;
                    }
                    Event::Trace { .. } => continue,
                };
                if let Some((cb, _)) = self.callbacks.get(&map) {
                    cb.call1(py, args)?;
                }
            }
            py.check_signals()?;
            let elapsed = start.elapsed().as_millis() as i64;
            if n > 0 || (timeout_ms >= 0 && elapsed >= timeout_ms) {
                return Ok(n);
            }
        }
    }
}

fn split_tp(tp: &str) -> PyResult<(String, String)> {
    match tp.split_once(':') {
        Some((c, n)) if !c.is_empty() && !n.is_empty() => Ok((c.to_string(), n.to_string())),
        _ => Err(PyValueError::new_err(format!("tracepoint `{tp}`: expected CATEGORY:NAME"))),
    }
}

/// A binary for a uprobe: a path, or a name looked up on PATH (`bash`), or a library
/// name bcc-style (`c` for libc, which libbpf finds through ld.so.cache).
fn uprobe_binary(name: &str) -> PathBuf {
    if name.contains('/') {
        return PathBuf::from(name);
    }
    if let Some(found) =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|c| c.is_file()))
    {
        return found;
    }
    let (_, multiarch) = compile::target_arch();
    let dirs = [format!("/lib/{multiarch}"), format!("/usr/lib/{multiarch}"), "/lib64".into(), "/usr/lib64".into()];
    let files = [format!("lib{name}.so.6"), format!("lib{name}.so"), format!("lib{name}.so.1"), name.to_string()];
    for d in &dirs {
        for f in &files {
            let p = PathBuf::from(d).join(f);
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from(name)
}

#[pymethods]
impl KernelBpf {
    #[new]
    #[pyo3(signature = (obj=None, text=None, src_file=None, cflags=None))]
    fn new(
        obj: Option<PathBuf>,
        text: Option<&str>,
        src_file: Option<PathBuf>,
        cflags: Option<Vec<String>>,
    ) -> PyResult<KernelBpf> {
        KernelBpf::open(compile::object_path(obj, text, src_file, &cflags.unwrap_or_default())?)
    }

    /// The object file loaded (a cached compilation for `text=`/`src_file=`).
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The object's program names.
    #[getter]
    fn programs(&self) -> Vec<String> {
        self.obj.program_names()
    }

    /// The object's map names.
    #[getter]
    fn maps(&self) -> Vec<String> {
        self.obj.maps().into_iter().map(|m| m.name).collect()
    }

    /// `b["map"]`: a kernel map as a bcc table.
    fn __getitem__(slf: &Bound<'_, Self>, name: &str) -> PyResult<Table> {
        let me = slf.borrow();
        let maps = me.obj.maps();
        let Some(m) = maps.iter().find(|m| m.name == name) else {
            let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
            return Err(PyKeyError::new_err(format!("no map named `{name}` (maps: {})", names.join(", "))));
        };
        let handle = MapHandle::from_id(m.id).map_err(kerr)?;
        let map_type = m.map_type.clone();
        let btf = me.btf.get_or_init(|| std::fs::read(&me.path).ok().and_then(|b| Btf::parse(&b).ok()).map(Arc::new));
        let value_type = btf.as_ref().and_then(|b| map_value_type(b, name).map(|id| (b.clone(), id)));
        Ok(Table::new(KernelMap { handle, name: name.to_string(), map_type, bpf: slf.clone().unbind(), value_type }))
    }

    /// `b.get_table("map")`, as bcc spells it.
    fn get_table(slf: &Bound<'_, Self>, name: &str) -> PyResult<Table> {
        KernelBpf::__getitem__(slf, name)
    }

    /// Attach `fn_name` to tracepoint `tp` ("sched:sched_switch"); without `tp`, the
    /// one its section names (`SEC("tracepoint/sched/sched_switch")`).
    #[pyo3(signature = (tp=None, fn_name=""))]
    fn attach_tracepoint(&mut self, tp: Option<&str>, fn_name: &str) -> PyResult<()> {
        let (category, name) = match tp {
            Some(tp) => split_tp(tp)?,
            None => attach::tracepoint_from_section(&self.section(fn_name)?).ok_or_else(|| {
                PyValueError::new_err(format!("program `{fn_name}`: its section names no tracepoint; give tp="))
            })?,
        };
        self.attach(format!("tp:{category}:{name}:{fn_name}"), fn_name, Target::Tracepoint { category, name })
    }

    /// Attach `fn_name` to raw tracepoint `tp` ("sched_switch"); without `tp`, its section's.
    #[pyo3(signature = (tp=None, fn_name=""))]
    fn attach_raw_tracepoint(&mut self, tp: Option<&str>, fn_name: &str) -> PyResult<()> {
        let name = match tp {
            Some(t) => t.to_string(),
            None => attach::raw_tracepoint_from_section(&self.section(fn_name)?).ok_or_else(|| {
                PyValueError::new_err(format!("program `{fn_name}`: its section names no raw tracepoint; give tp="))
            })?,
        };
        self.attach(format!("raw_tp:{name}:{fn_name}"), fn_name, Target::RawTracepoint { name })
    }

    /// Attach `fn_name` to the entry of function `sym` of binary `name` (a path, a
    /// command on PATH, or a library: "c"), in every process or only `pid`.
    #[pyo3(signature = (name, sym, fn_name, pid=-1))]
    fn attach_uprobe(&mut self, name: &str, sym: &str, fn_name: &str, pid: i32) -> PyResult<()> {
        self.uprobe(name, sym, fn_name, pid, false)
    }

    /// Attach `fn_name` to the returns of function `sym` of binary `name`.
    #[pyo3(signature = (name, sym, fn_name, pid=-1))]
    fn attach_uretprobe(&mut self, name: &str, sym: &str, fn_name: &str, pid: i32) -> PyResult<()> {
        self.uprobe(name, sym, fn_name, pid, true)
    }

    /// Attach XDP program `fn_name` to interface `dev`; `flags` as bcc's:
    /// `XDP_FLAGS_SKB_MODE` (2) generic mode, `XDP_FLAGS_DRV_MODE` (4) driver mode.
    #[pyo3(signature = (dev, fn_name, flags=0))]
    fn attach_xdp(&mut self, dev: &str, fn_name: &str, flags: u32) -> PyResult<()> {
        let mode = match flags & 0b110 {
            2 => XdpMode::Generic,
            4 => XdpMode::Driver,
            _ => XdpMode::Auto,
        };
        self.attach(format!("xdp:{dev}"), fn_name, Target::Xdp { iface: dev.to_string(), mode })
    }

    /// Detach the XDP program this object attached to `dev`. False if there was none.
    #[pyo3(signature = (dev, flags=0))]
    fn remove_xdp(&mut self, dev: &str, flags: u32) -> PyResult<bool> {
        let _ = flags;
        let key = format!("xdp:{dev}");
        match self.attachments.iter().position(|(k, _)| *k == key) {
            Some(i) => {
                let (_, a) = self.attachments.remove(i);
                a.detach().map_err(kerr)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Attach `fn_name` to a perf event (`ev_type` 0 hardware, 1 software; `ev_config`
    /// the event) on every online CPU or `cpu`, every `sample_period` events or at
    /// `sample_freq` Hz.
    #[pyo3(signature = (ev_type, ev_config, fn_name, sample_period=0, sample_freq=0, cpu=-1))]
    fn attach_perf_event(
        &mut self,
        ev_type: u32,
        ev_config: u64,
        fn_name: &str,
        sample_period: u64,
        sample_freq: u64,
        cpu: i32,
    ) -> PyResult<()> {
        let sample = match (sample_period, sample_freq) {
            (0, 0) => return Err(PyValueError::new_err("give sample_period= or sample_freq=")),
            (p, 0) => Sample::Period(p),
            (0, f) => Sample::Freq(f),
            _ => return Err(PyValueError::new_err("give sample_period= or sample_freq=, not both")),
        };
        let event = PerfEventSpec { type_: ev_type, config: ev_config, name: format!("{ev_type}:{ev_config}") };
        let cpus = u32::try_from(cpu).ok().map(|c| vec![c]);
        self.attach(
            format!("perf:{ev_type}:{ev_config}:{fn_name}"),
            fn_name,
            Target::PerfSample { event, sample, cpus },
        )
    }

    /// How many attachments this object holds.
    fn num_attached(&self) -> usize {
        self.attachments.len()
    }

    /// Detach everything this object attached.
    fn cleanup(&mut self) -> PyResult<()> {
        let mut first_err = None;
        for (_, a) in self.attachments.drain(..) {
            if let Err(e) = a.detach() {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(kerr(e)),
            None => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&mut self, _t: Py<PyAny>, _v: Py<PyAny>, _tb: Py<PyAny>) -> PyResult<bool> {
        self.cleanup()?;
        Ok(false)
    }

    /// Wait up to `timeout` ms (-1: until a record arrives) for ring-buffer records and
    /// call the callbacks given to `open_ring_buffer`. Returns how many records came.
    #[pyo3(signature = (timeout=-1))]
    fn ring_buffer_poll(&mut self, py: Python<'_>, timeout: i64) -> PyResult<usize> {
        self.poll(py, timeout)
    }

    /// Process the ring-buffer records there are, without waiting.
    fn ring_buffer_consume(&mut self, py: Python<'_>) -> PyResult<usize> {
        self.poll(py, 0)
    }

    /// Wait up to `timeout` ms (-1: until a sample arrives) for perf-buffer samples and
    /// call the callbacks given to `open_perf_buffer`.
    #[pyo3(signature = (timeout=-1))]
    fn perf_buffer_poll(&mut self, py: Python<'_>, timeout: i64) -> PyResult<usize> {
        self.poll(py, timeout)
    }

    /// The next trace_pipe line (bpf_trace_printk output), waiting for it unless
    /// `nonblocking`; None when nonblocking and there is none.
    #[pyo3(signature = (nonblocking=false))]
    fn trace_readline(&mut self, py: Python<'_>, nonblocking: bool) -> PyResult<Option<String>> {
        if self.trace.is_none() {
            self.trace = Some(TracePipe::open()?);
        }
        loop {
            if let Some(l) = self.trace.as_mut().expect("opened").line()? {
                return Ok(Some(l));
            }
            if nonblocking {
                return Ok(None);
            }
            py.check_signals()?;
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Print trace_pipe lines (their bpf_trace_printk message only with
    /// `fmt="{msg}"`), forever, or `count` lines, or for `timeout` seconds.
    #[pyo3(signature = (fmt=None, count=None, timeout=None))]
    fn trace_print(
        &mut self,
        py: Python<'_>,
        fmt: Option<&str>,
        count: Option<usize>,
        timeout: Option<f64>,
    ) -> PyResult<usize> {
        let start = Instant::now();
        let mut printed = 0;
        let print = py.import("builtins")?.getattr("print")?;
        while count.is_none_or(|c| printed < c) {
            if timeout.is_some_and(|t| start.elapsed().as_secs_f64() >= t) {
                break;
            }
            let Some(line) = self.trace_readline(py, true)? else {
                py.check_signals()?;
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let out = match fmt {
                Some(f) => f.replace("{msg}", trace_message(&line)).replace("{line}", &line),
                None => line,
            };
            print.call1((out,))?;
            printed += 1;
        }
        Ok(printed)
    }

    /// Test-run `prog` in the kernel (BPF_PROG_TEST_RUN): `(retval, data_out)`.
    #[pyo3(signature = (prog, data=None, ctx=None, repeat=1))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        prog: &str,
        data: Option<Vec<u8>>,
        ctx: Option<Vec<u8>>,
        repeat: u32,
    ) -> PyResult<(u64, Bound<'py, PyBytes>)> {
        let input = TestRunInput { data_in: data.unwrap_or_default(), ctx_in: ctx, repeat };
        let out = self.obj.test_run(prog, &input).map_err(kerr)?;
        Ok((out.retval as u64, PyBytes::new(py, &out.data_out)))
    }

    fn __repr__(&self) -> String {
        format!("<bpfbox.KernelBPF {} programs={:?}>", self.path.display(), self.programs())
    }
}

impl KernelBpf {
    fn uprobe(&mut self, name: &str, sym: &str, fn_name: &str, pid: i32, ret: bool) -> PyResult<()> {
        let binary = uprobe_binary(name);
        let pid = (pid >= 0).then_some(pid);
        let target = Target::Uprobe { binary, location: UprobeLocation::Symbol(sym.to_string()), ret, pid };
        self.attach(format!("uprobe:{name}:{sym}:{ret}:{fn_name}"), fn_name, target)
    }
}

/// The BTF type of the values of map `name`, from the object's `.maps` section
/// (`__type(value, T)` makes a member `value` pointing at T).
fn map_value_type(btf: &Btf, name: &str) -> Option<u32> {
    let sec = btf.type_by_id(btf.datasec(".maps")?)?;
    let var = sec.secinfos().iter().filter_map(|v| btf.type_by_id(v.type_id)).find(|v| btf.name(v.name_off) == name)?;
    let (_, def) = btf.skip_mods_and_typedefs(var.type_id())?;
    let value = def.members().iter().find(|m| btf.name(m.name_off) == "value")?;
    let (_, ptr) = btf.skip_mods_and_typedefs(value.type_id)?;
    (ptr.kind == Kind::Ptr).then(|| ptr.type_id())
}

/// A kernel map, as a [`Table`] backend.
pub(crate) struct KernelMap {
    handle: MapHandle,
    name: String,
    map_type: String,
    bpf: Py<KernelBpf>,
    /// The object's BTF and the map's value type in it, when it has them.
    value_type: Option<(Arc<Btf>, u32)>,
}

impl KernelMap {
    fn lookup(&self, key: &[u8]) -> PyResult<Option<Vec<u8>>> {
        match self.handle.lookup(key) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.0 == ENOENT => Ok(None),
            Err(e) => Err(errno_err(&self.name, "lookup", e)),
        }
    }

    fn check_key(&self, key: &[u8]) -> PyResult<()> {
        let size = self.handle.shape().key_size as usize;
        if key.len() != size {
            return Err(PyValueError::new_err(format!(
                "map `{}`: the key is {size} bytes, {} given",
                self.name,
                key.len()
            )));
        }
        Ok(())
    }

    fn all_keys(&self) -> PyResult<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        let mut prev: Option<Vec<u8>> = None;
        let limit = self.handle.shape().max_entries as usize + 1;
        while keys.len() <= limit {
            match self.handle.next_key(prev.as_deref()) {
                Ok(k) => {
                    keys.push(k.clone());
                    prev = Some(k);
                }
                Err(e) if e.0 == ENOENT => break,
                Err(e) => return Err(errno_err(&self.name, "get_next_key", e)),
            }
        }
        Ok(keys)
    }
}

impl Backend for KernelMap {
    fn name(&self) -> &str {
        &self.name
    }
    fn map_type(&self) -> String {
        self.map_type.clone()
    }
    fn key_size(&self) -> usize {
        self.handle.shape().key_size as usize
    }
    fn value_size(&self) -> usize {
        self.handle.shape().value_size as usize
    }
    fn is_percpu(&self) -> bool {
        self.handle.shape().is_percpu()
    }
    fn get(&self, key: &[u8]) -> PyResult<Option<Vec<u8>>> {
        self.check_key(key)?;
        self.lookup(key)
    }
    fn set(&self, key: &[u8], value: &[u8]) -> PyResult<()> {
        self.check_key(key)?;
        let size = self.value_size();
        if value.len() != size {
            return Err(PyValueError::new_err(format!(
                "map `{}`: the value is {size} bytes, {} given",
                self.name,
                value.len()
            )));
        }
        let mut all = vec![0u8; self.handle.value_buf_size()];
        // Per-CPU maps: the same value for every CPU.
        for c in all.chunks_mut(size.div_ceil(8) * 8) {
            c[..size].copy_from_slice(value);
        }
        self.handle.update(key, &all, 0).map_err(|e| errno_err(&self.name, "update", e))
    }
    fn remove(&self, key: &[u8]) -> PyResult<bool> {
        self.check_key(key)?;
        match self.handle.delete(key) {
            Ok(()) => Ok(true),
            Err(e) if e.0 == ENOENT => Ok(false),
            Err(e) => Err(errno_err(&self.name, "delete", e)),
        }
    }
    fn entries(&self) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        for k in self.all_keys()? {
            if let Some(v) = self.lookup(&k)? {
                out.push((k, v));
            }
        }
        Ok(out)
    }
    fn clear(&self) -> PyResult<()> {
        let zero = vec![0u8; self.handle.value_buf_size()];
        let array = matches!(self.handle.shape().map_type, 2 | 6);
        for k in self.all_keys()? {
            let r = if array { self.handle.update(&k, &zero, 0) } else { self.handle.delete(&k) };
            match r {
                Ok(()) => {}
                Err(e) if e.0 == ENOENT => {}
                Err(e) => return Err(errno_err(&self.name, "clear", e)),
            }
        }
        Ok(())
    }
    fn value_json(&self, value: &[u8]) -> Option<serde_json::Value> {
        let (btf, id) = self.value_type.as_ref()?;
        Some(btf.format_value(*id, value))
    }
    fn open_buffer(&self, py: Python<'_>, perf: bool, cb: Py<PyAny>, lost: Option<Py<PyAny>>) -> PyResult<()> {
        let (want, what) = if perf { (4, "a perf event array") } else { (27, "a ring buffer") };
        if self.handle.shape().map_type != want {
            return Err(PyValueError::new_err(format!("map `{}` is not {what}", self.name)));
        }
        let mut bpf = self.bpf.borrow_mut(py);
        bpf.callbacks.insert(self.name.clone(), (cb, lost));
        // Subscribe now, so that records sent from here on are kept for the next poll.
        bpf.stream()?;
        Ok(())
    }
}
