//! The `bpfbox` Python module: bcc's `BPF` object and tables, over `bpfbox-api`, plus
//! what bcc lacks — `run` and `verify` in user space, without root — so eBPF programs
//! get pytest unit tests.
//!
//! Every failure is a Python exception with the reason (`ValueError` for bad input,
//! `KeyError` for unknown names and missing keys, `OSError` for files,
//! `RuntimeError` for refused or faulting runs); nothing here panics on user input.

use bpfbox_api::{Engine, Error, Input, Instance, LoadOptions, Object, RawMap};
use pyo3::exceptions::{PyKeyError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::path::{Path, PathBuf};

fn to_py(e: Error) -> PyErr {
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

/// Compile C to a BPF object with clang (`clang-19`, else `clang`), as bcc does at start.
fn compile(src: &Path, cflags: &[String]) -> PyResult<Vec<u8>> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!("bpfbox-{}-{n}.bpf.o", std::process::id()));
    let mut last = String::from("no clang-19 or clang on PATH");
    for clang in ["clang-19", "clang"] {
        let mut cmd = std::process::Command::new(clang);
        cmd.args(["-O2", "-g", "-target", "bpf", "-c"]).arg(src).arg("-o").arg(&out);
        // As libbpf-tools build: the host's architecture for bpf_tracing.h, and Debian's
        // multiarch include directory for <asm/types.h>.
        let (target_arch, multiarch) = match std::env::consts::ARCH {
            "aarch64" => ("arm64", "aarch64-linux-gnu"),
            "riscv64" => ("riscv", "riscv64-linux-gnu"),
            "s390x" => ("s390", "s390x-linux-gnu"),
            _ => ("x86", "x86_64-linux-gnu"),
        };
        cmd.arg(format!("-D__TARGET_ARCH_{target_arch}"));
        let inc = Path::new("/usr/include").join(multiarch);
        if inc.is_dir() {
            cmd.arg("-I").arg(inc);
        }
        cmd.args(cflags);
        if let Some(dir) = src.parent() {
            cmd.arg("-I").arg(dir);
        }
        match cmd.output() {
            Ok(o) if o.status.success() => {
                let bytes = std::fs::read(&out).map_err(|e| PyOSError::new_err(format!("{}: {e}", out.display())));
                let _ = std::fs::remove_file(&out);
                return bytes;
            }
            Ok(o) => {
                return Err(PyValueError::new_err(format!(
                    "{clang} failed to compile {}:\n{}",
                    src.display(),
                    String::from_utf8_lossy(&o.stderr)
                )));
            }
            Err(e) => last = format!("{clang}: {e}"),
        }
    }
    Err(PyRuntimeError::new_err(format!("cannot compile C: {last}")))
}

/// A key given as an int (little-endian, the map's key size) or as bytes.
fn key_bytes(map: &RawMap, key: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    to_bytes(map.name(), "key", map.key_size(), key)
}

fn to_bytes(map: &str, what: &str, size: usize, v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.extract::<Vec<u8>>() {
        if v.is_instance_of::<PyBytes>() || v.is_instance_of::<pyo3::types::PyByteArray>() {
            if b.len() != size {
                return Err(PyValueError::new_err(format!(
                    "map `{map}`: the {what} is {size} bytes, {} bytes given",
                    b.len()
                )));
            }
            return Ok(b);
        }
    }
    if let Ok(i) = v.extract::<i128>() {
        if size > 16 {
            return Err(PyValueError::new_err(format!(
                "map `{map}`: an int cannot fill a {size}-byte {what}; give bytes"
            )));
        }
        let bits = 8 * size as u32;
        let fits = if bits >= 128 { true } else { i >= -(1i128 << (bits - 1)) && i < (1i128 << bits) };
        if !fits {
            return Err(PyValueError::new_err(format!("map `{map}`: {i} does not fit the {size}-byte {what}")));
        }
        return Ok(i.to_le_bytes()[..size].to_vec());
    }
    Err(PyValueError::new_err(format!(
        "map `{map}`: the {what} must be an int or bytes, not {}",
        v.get_type().name().map(|n| n.to_string()).unwrap_or_default()
    )))
}

/// A value as Python sees it: an int for 1/2/4/8 bytes, else bytes.
fn decode<'py>(py: Python<'py>, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let int = match b.len() {
        1 => Some(b[0] as u64),
        2 => Some(u16::from_le_bytes([b[0], b[1]]) as u64),
        4 => Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64),
        8 => Some(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
        _ => None,
    };
    match int {
        Some(i) => Ok(i.into_pyobject(py)?.into_any()),
        None => Ok(PyBytes::new(py, b).into_any()),
    }
}

/// A map value: per-CPU maps give a list with one value per CPU.
fn decode_value<'py>(py: Python<'py>, map: &RawMap, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if !map.is_percpu() {
        return decode(py, b);
    }
    let slot = map.value_size().div_ceil(8) * 8;
    let items =
        b.chunks(slot).map(|c| decode(py, &c[..map.value_size().min(c.len())])).collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, items)?.into_any())
}

/// A map, as bcc's tables: `t[key]`, `t[key] = value`, `del t[key]`, `keys()`,
/// `values()`, `items()`, `clear()`, `len(t)`, `key in t`, iteration over keys.
#[pyclass(module = "bpfbox", name = "Table", frozen)]
struct Table {
    map: RawMap,
}

#[pymethods]
impl Table {
    /// The map's name.
    #[getter]
    fn name(&self) -> String {
        self.map.name().to_string()
    }

    /// The map type as bpftool names it (`hash`, `array`...).
    #[getter]
    fn map_type(&self) -> &'static str {
        self.map.map_type()
    }

    #[getter]
    fn key_size(&self) -> usize {
        self.map.key_size()
    }

    #[getter]
    fn value_size(&self) -> usize {
        self.map.value_size()
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let k = key_bytes(&self.map, key)?;
        match self.map.get(&k).map_err(to_py)? {
            Some(v) => decode_value(py, &self.map, &v),
            None => Err(PyKeyError::new_err(key.clone().unbind())),
        }
    }

    fn __setitem__(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = key_bytes(&self.map, key)?;
        let v = to_bytes(self.map.name(), "value", self.map.value_size(), value)?;
        self.map.insert(&k, &v).map_err(to_py)
    }

    fn __delitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = key_bytes(&self.map, key)?;
        if self.map.remove(&k).map_err(to_py)? {
            Ok(())
        } else {
            Err(PyKeyError::new_err(key.clone().unbind()))
        }
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = key_bytes(&self.map, key)?;
        Ok(self.map.get(&k).map_err(to_py)?.is_some())
    }

    fn __len__(&self) -> usize {
        self.map.entries().len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.keys(py)?.into_any().try_iter().map(|i| i.into_any())
    }

    /// The keys, decoded as values are (ints for 1/2/4/8 bytes, else bytes).
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let keys = self.map.entries().into_iter().map(|(k, _)| decode(py, &k)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, keys)
    }

    /// The values.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let values = self
            .map
            .entries()
            .into_iter()
            .map(|(_, v)| decode_value(py, &self.map, &v))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, values)
    }

    /// (key, value) pairs.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut items = Vec::new();
        for (k, v) in self.map.entries() {
            items.push((decode(py, &k)?, decode_value(py, &self.map, &v)?));
        }
        PyList::new(py, items)
    }

    /// Delete every key (arrays: zero every element), as bcc's `clear()`.
    fn clear(&self) -> PyResult<()> {
        self.map.clear().map_err(to_py)
    }

    fn __repr__(&self) -> String {
        format!(
            "<bpfbox.Table {} ({}, key {} B, value {} B)>",
            self.map.name(),
            self.map.map_type(),
            self.map.key_size(),
            self.map.value_size()
        )
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
        let cflags = cflags.unwrap_or_default();
        let given = [obj.is_some(), text.is_some(), src_file.is_some()].iter().filter(|g| **g).count();
        if given != 1 {
            return Err(PyValueError::new_err("give exactly one of obj=, text= or src_file="));
        }
        let object = if let Some(p) = obj {
            Object::open(&p).map_err(to_py)?
        } else {
            let (src, tmp) = match (src_file, text) {
                (Some(p), _) => (p, None),
                (None, Some(t)) => {
                    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let p = std::env::temp_dir().join(format!("bpfbox-{}-{n}.bpf.c", std::process::id()));
                    std::fs::write(&p, t).map_err(|e| PyOSError::new_err(format!("{}: {e}", p.display())))?;
                    (p.clone(), Some(p))
                }
                (None, None) => return Err(PyValueError::new_err("give exactly one of obj=, text= or src_file=")),
            };
            let bytes = compile(&src, &cflags);
            if let Some(t) = tmp {
                let _ = std::fs::remove_file(t);
            }
            Object::from_bytes(&bytes?).map_err(to_py)?
        };
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
        Ok(Table { map: self.inst.raw_map(name).map_err(to_py)? })
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
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
