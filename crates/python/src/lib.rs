//! The `bpfbox` Python module: bcc's `BPF` object and tables, over `bpfbox-api`, plus
//! what bcc lacks — `run` and `verify` in user space, without root — so eBPF programs
//! get pytest unit tests.
//!
//! Every failure is a Python exception with the reason (`ValueError` for bad input,
//! `KeyError` for unknown names and missing keys, `OSError` for files,
//! `RuntimeError` for refused or faulting runs); nothing here panics on user input.

use bpfbox_api::{Engine, Error, Input, Instance, LoadOptions, Object};
use pyo3::exceptions::{PyKeyError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::path::PathBuf;

mod compile;
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
        | Error::WrongMapKind { .. } => PyValueError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// An eBPF object loaded into bpfbox's user-space runtime.
///
/// `BPF(obj="prog.bpf.o")` opens a prebuilt object; `BPF(src_file="prog.bpf.c")` or
/// `BPF(text="...")` compiles C with clang first (`cflags` adds flags). `jit=True`
/// runs on the JIT; `max_insns` bounds each run; `verify=False` loads programs
/// without verifying them (every access is then checked at run time).
#[pyclass(module = "bpfbox", name = "BPF", frozen)]
struct Bpf {
    obj: Object,
    inst: Instance,
}

fn diag_dict<'py>(py: Python<'py>, prog: &str, d: &bpfbox_api::Diagnostic) -> PyResult<Bound<'py, PyDict>> {
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
    #[pyo3(signature = (obj=None, text=None, src_file=None, cflags=None, jit=false, verify=true, max_insns=None))]
    fn new(
        obj: Option<PathBuf>,
        text: Option<&str>,
        src_file: Option<PathBuf>,
        cflags: Option<Vec<String>>,
        jit: bool,
        verify: bool,
        max_insns: Option<u64>,
    ) -> PyResult<Bpf> {
        let path = compile::object_path(obj, text, src_file, &cflags.unwrap_or_default())?;
        let object = Object::open(&path).map_err(to_py)?;
        let mut engine = if jit { Engine::jit() } else { Engine::interpreter() };
        if let Some(n) = max_insns {
            engine = engine.max_insns(n);
        }
        let inst = object.load_with(&engine, &LoadOptions { verify }).map_err(to_py)?;
        Ok(Bpf { obj: object, inst })
    }

    /// The object's program names.
    #[getter]
    fn programs(&self) -> Vec<String> {
        self.obj.programs().map(|p| p.name().to_string()).collect()
    }

    /// The object's map names.
    #[getter]
    fn maps(&self) -> Vec<String> {
        self.inst.maps().map(str::to_string).collect()
    }

    /// `b["map"]`: a map as a bcc table.
    fn __getitem__(&self, name: &str) -> PyResult<Table> {
        Ok(Table::new(self.inst.raw_map(name).map_err(to_py)?))
    }

    /// `b.get_table("map")`, as bcc spells it.
    fn get_table(&self, name: &str) -> PyResult<Table> {
        self.__getitem__(name)
    }

    /// Test-run program `prog` on packet `data` (and context `ctx`) `repeat` times, as
    /// `BPF_PROG_TEST_RUN` does: returns `(retval, data_out)`.
    #[pyo3(signature = (prog, data=None, ctx=None, repeat=1))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        prog: &str,
        data: Option<Vec<u8>>,
        ctx: Option<Vec<u8>>,
        repeat: u32,
    ) -> PyResult<(u64, Bound<'py, PyBytes>)> {
        let input = Input { data: data.unwrap_or_default(), ctx, repeat };
        let out = py.detach(|| self.inst.test_run(prog, &input)).map_err(to_py)?;
        Ok((out.retval, PyBytes::new(py, &out.data)))
    }

    /// Verify `prog` (default: every program whose type is known) with bpfbox's
    /// verifier; returns the diagnostics, an empty list when all are accepted. Each is
    /// a dict: program, pc, kind, message, hint, file, line, source.
    #[pyo3(signature = (prog=None))]
    fn verify<'py>(&self, py: Python<'py>, prog: Option<&str>) -> PyResult<Bound<'py, PyList>> {
        let programs = match prog {
            Some(name) => vec![self.obj.program(name).map_err(to_py)?],
            None => self.obj.programs().filter(|p| p.program_type().is_some()).collect(),
        };
        let mut out = Vec::new();
        for p in programs {
            let report = py.detach(|| p.verify()).map_err(to_py)?;
            for d in &report.diagnostics {
                out.push(diag_dict(py, p.name(), d)?);
            }
        }
        PyList::new(py, out)
    }

    /// Consume the records programs submitted to ring buffer `name`, oldest first.
    fn ring_buffer_consume<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyList>> {
        let rb = self.inst.ring_buffer(name).map_err(to_py)?;
        PyList::new(py, rb.drain().iter().map(|r| PyBytes::new(py, r)))
    }

    fn __repr__(&self) -> String {
        format!("<bpfbox.BPF {} programs={:?}>", self.obj.name(), self.programs())
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
