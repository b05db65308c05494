//! Host-defined helpers written in Python, for `BPF(..., helpers=[...])` in user space:
//! each is `(id, name, [argument kinds], callable)` or `(id, name, [argument kinds],
//! callable, return kind)`. bpfbox's verifier checks the program's calls against the
//! prototype; the callable gets the arguments — ints for scalars, `bytes` for memory
//! the helper reads, a `bytearray` (written back after the call) for memory it fills —
//! and returns an int (None is 0). An exception ends the run with a RuntimeError
//! carrying its text.

use bpfbox::{Arg, HelperCall, HelperError, HostHelpers, Ret};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyTuple};

fn arg_kind(s: &str) -> PyResult<Arg> {
    Ok(match s {
        "scalar" => Arg::Scalar,
        "memory" => Arg::Memory,
        "memory_out" => Arg::MemoryOut,
        "size" => Arg::Size,
        "size_or_zero" => Arg::SizeOrZero,
        "map" => Arg::Map,
        "map_key" => Arg::MapKey,
        "map_value" => Arg::MapValue,
        "context" => Arg::Context,
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown argument kind `{s}` (scalar, memory, memory_out, size, size_or_zero, map, map_key, \
                 map_value, context)"
            )))
        }
    })
}

fn ret_kind(s: &str) -> PyResult<Ret> {
    match s {
        "integer" => Ok(Ret::Integer),
        "void" => Ok(Ret::Void),
        _ => Err(PyValueError::new_err(format!("unknown return kind `{s}` (integer, void)"))),
    }
}

/// One call of a Python helper: convert the arguments, call, write filled memory back.
fn call(py: Python<'_>, f: &Py<PyAny>, kinds: &[Arg], c: &mut HelperCall<'_, '_>) -> Result<u64, HelperError> {
    let py_err = |e: PyErr| HelperError::new(e.to_string());
    let mut args: Vec<Bound<'_, PyAny>> = Vec::new();
    let mut out: Vec<(usize, Bound<'_, PyByteArray>)> = Vec::new();
    for (i, k) in kinds.iter().enumerate() {
        let a = match k {
            Arg::Memory => PyBytes::new(py, &c.memory(i)?).into_any(),
            Arg::MemoryOut => {
                let b = PyByteArray::new(py, &vec![0u8; c.arg(i + 1) as usize]);
                out.push((i, b.clone()));
                b.into_any()
            }
            _ => pyo3::types::PyInt::new(py, c.arg(i)).into_any(),
        };
        args.push(a);
    }
    let r = f.bind(py).call1(PyTuple::new(py, args).map_err(py_err)?).map_err(py_err)?;
    for (i, b) in out {
        c.write_memory(i, &b.to_vec())?;
    }
    if r.is_none() {
        return Ok(0);
    }
    r.extract::<i128>().map(|v| v as u64).map_err(|_| HelperError::new("the helper must return an int or None"))
}

/// `HostHelpers` from the `helpers=` argument.
pub(crate) fn host_helpers(list: Vec<Bound<'_, PyAny>>) -> PyResult<HostHelpers> {
    let mut h = HostHelpers::new();
    for item in list {
        let t = item.cast::<PyTuple>().map_err(|_| {
            PyValueError::new_err("a helper is a tuple (id, name, [argument kinds], callable[, return kind])")
        })?;
        if !(4..=5).contains(&t.len()) {
            return Err(PyValueError::new_err("a helper is (id, name, [argument kinds], callable[, return kind])"));
        }
        let id: u32 = t.get_item(0)?.extract()?;
        let name: String = t.get_item(1)?.extract()?;
        let kinds =
            t.get_item(2)?.extract::<Vec<String>>()?.iter().map(|k| arg_kind(k)).collect::<PyResult<Vec<_>>>()?;
        let f: Py<PyAny> = t.get_item(3)?.unbind();
        if !f.bind(t.py()).is_callable() {
            return Err(PyValueError::new_err(format!("helper {name}: the implementation is not callable")));
        }
        let ret = if t.len() == 5 { ret_kind(&t.get_item(4)?.extract::<String>()?)? } else { Ret::Integer };
        let k = kinds.clone();
        h.register(id, &name, ret, &kinds, move |c| Python::attach(|py| call(py, &f, &k, c))).map_err(crate::to_py)?;
    }
    Ok(h)
}
