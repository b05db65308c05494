//! The `bpfbox` Python module: bcc's `BPF` object and tables, over the `bpfbox` crate, plus
//! what bcc lacks — `run` and `verify` in user space, without root — so eBPF programs
//! get pytest unit tests.
//!
//! Every failure is a Python exception with the reason (`ValueError` for bad input,
//! `KeyError` for unknown names and missing keys, `OSError` for files,
//! `RuntimeError` for refused or faulting runs); nothing here panics on user input.

use bpfbox::{Engine, Error, Input, Instance, LoadOptions, Object};
use pyo3::exceptions::{PyKeyError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::path::PathBuf;

mod compile;
mod helpers;
mod table;
use table::Table;
#[cfg(feature = "kernel")]
mod kernel;

pub(crate) fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::UnknownProgram { .. } | Error::UnknownMap { .. } => PyKeyError::new_err(msg),
        Error::Io { .. } => PyOSError::new_err(msg),
        Error::Object { .. }
        | Error::Btf { .. }
        | Error::UnknownProgramType { .. }
        | Error::SizeMismatch { .. }
        | Error::UntypedProgram { .. }
        | Error::UnusableProgram { .. }
        | Error::WrongMapKind { .. }
        | Error::HelperPrototype { .. } => PyValueError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// An eBPF object, in bpfbox's user-space runtime or, with `kernel=True`, in the
/// running kernel.
///
/// `BPF(obj="prog.bpf.o")` opens a prebuilt object; `BPF(src_file="prog.bpf.c")` or
/// `BPF(text="...")` compiles C with clang first (`cflags` adds flags; objects are
/// cached by content). In user space (the default, no root): `run` test-runs programs
/// in bpfbox's interpreter (or JIT with `jit=True`; `max_insns` bounds each run;
/// `verify=False` loads programs without verifying them, every access then checked at
/// run time), `b["map"]` reads and writes its maps; `helpers=[(id, name, [argument
/// kinds], callable[, return kind])]` gives its programs helpers written in Python. With `kernel=True` the object is
/// loaded into the kernel (as `KernelBPF`): bcc's `attach_*`, buffer polling and
/// `trace_print` are there, `b["map"]` is the kernel's map and `run` is
/// BPF_PROG_TEST_RUN. `verify` is bpfbox's verifier in both.
#[pyclass(module = "bpfbox", name = "BPF", frozen)]
struct Bpf {
    path: PathBuf,
    /// The object in user space: opened at once in user-space mode, on the first
    /// `verify` in kernel mode.
    obj: std::sync::OnceLock<Object>,
    mode: Mode,
    /// The engine's host helpers are checked by `verify` too.
    engine: Engine,
}

enum Mode {
    User(Instance),
    /// A `KernelBPF`.
    #[cfg_attr(not(feature = "kernel"), allow(dead_code))]
    Kernel(Py<PyAny>),
}

impl Bpf {
    fn object(&self) -> PyResult<&Object> {
        if let Some(o) = self.obj.get() {
            return Ok(o);
        }
        let o = Object::open(&self.path).map_err(to_py)?;
        Ok(self.obj.get_or_init(|| o))
    }

    /// The user-space instance, or the error that says the object is in the kernel.
    fn user(&self, what: &str) -> PyResult<&Instance> {
        match &self.mode {
            Mode::User(i) => Ok(i),
            Mode::Kernel(_) => Err(PyRuntimeError::new_err(format!("{what}: only in user space (BPF(kernel=False))"))),
        }
    }
}

fn diag_dict<'py>(py: Python<'py>, prog: &str, d: &bpfbox::Diagnostic) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("program", prog)?;
    out.set_item("pc", d.pc)?;
    out.set_item("kind", &d.kind)?;
    out.set_item("message", &d.message)?;
    out.set_item("hint", d.hint.as_deref())?;
    out.set_item("file", d.source.as_ref().map(|s| s.file.as_str()))?;
    out.set_item("line", d.source.as_ref().map(|s| s.line))?;
    out.set_item("source", d.source.as_ref().map(|s| s.text.as_str()))?;
    Ok(out)
}

#[pymethods]
impl Bpf {
    #[new]
    #[pyo3(signature = (obj=None, text=None, src_file=None, cflags=None, jit=false, verify=true, max_insns=None, kernel=false, helpers=None))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments
    fn new(
        py: Python<'_>,
        obj: Option<PathBuf>,
        text: Option<&str>,
        src_file: Option<PathBuf>,
        cflags: Option<Vec<String>>,
        jit: bool,
        verify: bool,
        max_insns: Option<u64>,
        kernel: bool,
        helpers: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<Bpf> {
        let path = compile::object_path(obj, text, src_file, &cflags.unwrap_or_default())?;
        if kernel && helpers.is_some() {
            return Err(PyValueError::new_err(
                "helpers= are host helpers of the user-space runtime, not of the kernel",
            ));
        }
        if kernel {
            #[cfg(feature = "kernel")]
            {
                let k = Py::new(py, kernel::KernelBpf::open(path.clone())?)?.into_any();
                let engine = Engine::interpreter();
                return Ok(Bpf { path, obj: std::sync::OnceLock::new(), mode: Mode::Kernel(k), engine });
            }
            #[cfg(not(feature = "kernel"))]
            {
                let _ = py;
                return Err(PyRuntimeError::new_err("bpfbox was built without its kernel feature"));
            }
        }
        let object = Object::open(&path).map_err(to_py)?;
        let mut engine = if jit { Engine::jit() } else { Engine::interpreter() };
        if let Some(n) = max_insns {
            engine = engine.max_insns(n);
        }
        if let Some(list) = helpers {
            engine = engine.helpers(helpers::host_helpers(list)?);
        }
        let inst = object.load_with(&engine, &LoadOptions { verify }).map_err(to_py)?;
        Ok(Bpf { path, obj: std::sync::OnceLock::from(object), mode: Mode::User(inst), engine })
    }

    /// Whether the object is in the kernel (`kernel=True`).
    #[getter]
    fn in_kernel(&self) -> bool {
        matches!(self.mode, Mode::Kernel(_))
    }

    /// The object's program names.
    #[getter]
    fn programs(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        match &self.mode {
            Mode::User(_) => Ok(self.object()?.programs().map(|p| p.name().to_string()).collect()),
            Mode::Kernel(k) => k.getattr(py, "programs")?.extract(py),
        }
    }

    /// The object's map names.
    #[getter]
    fn maps(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        match &self.mode {
            Mode::User(i) => Ok(i.maps().map(str::to_string).collect()),
            Mode::Kernel(k) => k.getattr(py, "maps")?.extract(py),
        }
    }

    /// `b["map"]`: a map as a bcc table.
    fn __getitem__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        match &self.mode {
            Mode::User(i) => Ok(Py::new(py, Table::new(i.raw_map(name).map_err(to_py)?))?.into_any()),
            Mode::Kernel(k) => k.call_method1(py, "__getitem__", (name,)),
        }
    }

    /// `b.get_table("map")`, as bcc spells it.
    fn get_table(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        self.__getitem__(py, name)
    }

    /// In kernel mode, the `KernelBPF` methods (`attach_*`, `ring_buffer_poll`,
    /// `perf_buffer_poll`, `trace_print`, `cleanup`...).
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        match &self.mode {
            Mode::Kernel(k) => k.getattr(py, name),
            Mode::User(_) => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "'BPF' object has no attribute '{name}' (attaching and polling need BPF(..., kernel=True))"
            ))),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, py: Python<'_>, _t: Py<PyAny>, _v: Py<PyAny>, _tb: Py<PyAny>) -> PyResult<bool> {
        if let Mode::Kernel(k) = &self.mode {
            k.call_method0(py, "cleanup")?;
        }
        Ok(false)
    }

    /// Test-run program `prog` on packet `data` (and context `ctx`) `repeat` times, as
    /// `BPF_PROG_TEST_RUN` does (in the kernel with `kernel=True`): returns
    /// `(retval, data_out)`.
    #[pyo3(signature = (prog, data=None, ctx=None, repeat=1))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        prog: &str,
        data: Option<Vec<u8>>,
        ctx: Option<Vec<u8>>,
        repeat: u32,
    ) -> PyResult<(u64, Bound<'py, PyBytes>)> {
        let inst = match &self.mode {
            Mode::User(i) => i,
            Mode::Kernel(k) => return k.call_method1(py, "run", (prog, data, ctx, repeat))?.extract(py),
        };
        let input = Input { data: data.unwrap_or_default(), ctx, repeat };
        let out = py.detach(|| inst.test_run(prog, &input)).map_err(to_py)?;
        Ok((out.retval, PyBytes::new(py, &out.data)))
    }

    /// Verify `prog` (default: every program whose type is known) with bpfbox's
    /// verifier; returns the diagnostics, an empty list when all are accepted. Each is
    /// a dict: program, pc, kind, message, hint, file, line, source.
    #[pyo3(signature = (prog=None))]
    fn verify<'py>(&self, py: Python<'py>, prog: Option<&str>) -> PyResult<Bound<'py, PyList>> {
        let programs = match prog {
            Some(name) => vec![self.object()?.program(name).map_err(to_py)?],
            None => self.object()?.programs().filter(|p| p.program_type().is_some()).collect(),
        };
        let mut out = Vec::new();
        for p in programs {
            let report = py.detach(|| p.verify_with(&self.engine)).map_err(to_py)?;
            for d in &report.diagnostics {
                out.push(diag_dict(py, p.name(), d)?);
            }
        }
        PyList::new(py, out)
    }

    /// Consume the records programs submitted to ring buffer `name`, oldest first.
    fn ring_buffer_consume<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyList>> {
        let rb = self.user("ring_buffer_consume(name)")?.ring_buffer(name).map_err(to_py)?;
        PyList::new(py, rb.drain().iter().map(|r| PyBytes::new(py, r)))
    }

    fn __repr__(&self) -> String {
        let place = if self.in_kernel() { "kernel" } else { "user space" };
        format!("<bpfbox.BPF {} ({place})>", self.path.display())
    }
}

#[pymodule(name = "bpfbox")]
fn bpfbox_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Bpf>()?;
    m.add_class::<Table>()?;
    #[cfg(feature = "kernel")]
    {
        m.add_class::<kernel::KernelBpf>()?;
    }
    m.add("HAS_KERNEL", cfg!(feature = "kernel"))?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
