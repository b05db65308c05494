//! `Table`: a map as bcc's tables, over either backend — a map of bpfbox's user-space
//! runtime (`BPF`) or a kernel map (`KernelBPF`). Keys and values are ints for 1, 2, 4
//! and 8 bytes, bytes otherwise; per-CPU maps give a list with one value per CPU.

use crate::to_py;
use bpfbox::RawMap;
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

/// What a table needs of a map. Values are the map's value bytes, or for per-CPU maps
/// every CPU's value, each rounded up to 8 bytes, one after the other.
pub(crate) trait Backend: Send + Sync {
    fn name(&self) -> &str;
    fn map_type(&self) -> String;
    fn key_size(&self) -> usize;
    fn value_size(&self) -> usize;
    fn is_percpu(&self) -> bool;
    fn get(&self, key: &[u8]) -> PyResult<Option<Vec<u8>>>;
    /// Set `key` to `value` (`value_size` bytes; per-CPU maps: for every CPU).
    fn set(&self, key: &[u8], value: &[u8]) -> PyResult<()>;
    /// Delete `key`; false when it was absent.
    fn remove(&self, key: &[u8]) -> PyResult<bool>;
    fn entries(&self) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Delete every key (arrays: zero every element).
    fn clear(&self) -> PyResult<()>;
    /// One value (one CPU's, for per-CPU maps) decoded with the map's BTF, when known.
    fn value_json(&self, value: &[u8]) -> Option<serde_json::Value> {
        let _ = value;
        None
    }
    /// Call `callback` for each record of this ring buffer / perf buffer, from the
    /// object's `*_buffer_poll` (kernel maps only).
    fn open_buffer(&self, py: Python<'_>, perf: bool, cb: Py<PyAny>, lost: Option<Py<PyAny>>) -> PyResult<()> {
        let _ = (py, perf, cb, lost);
        Err(PyValueError::new_err(format!(
            "map `{}`: buffers are polled on KernelBPF objects; in user space use BPF.ring_buffer_consume",
            self.name()
        )))
    }
}

impl Backend for RawMap {
    fn name(&self) -> &str {
        RawMap::name(self)
    }
    fn map_type(&self) -> String {
        RawMap::map_type(self).to_string()
    }
    fn key_size(&self) -> usize {
        RawMap::key_size(self)
    }
    fn value_size(&self) -> usize {
        RawMap::value_size(self)
    }
    fn is_percpu(&self) -> bool {
        RawMap::is_percpu(self)
    }
    fn get(&self, key: &[u8]) -> PyResult<Option<Vec<u8>>> {
        RawMap::get(self, key).map_err(to_py)
    }
    fn set(&self, key: &[u8], value: &[u8]) -> PyResult<()> {
        self.insert(key, value).map_err(to_py)
    }
    fn remove(&self, key: &[u8]) -> PyResult<bool> {
        RawMap::remove(self, key).map_err(to_py)
    }
    fn entries(&self) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(RawMap::entries(self))
    }
    fn clear(&self) -> PyResult<()> {
        RawMap::clear(self).map_err(to_py)
    }
    fn value_json(&self, value: &[u8]) -> Option<serde_json::Value> {
        RawMap::value_json(self, value)
    }
}

/// A key or value given as an int (little-endian, `size` bytes) or as bytes.
pub(crate) fn to_bytes(map: &str, what: &str, size: usize, v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if v.is_instance_of::<PyBytes>() || v.is_instance_of::<pyo3::types::PyByteArray>() {
        let b = v.extract::<Vec<u8>>()?;
        if b.len() != size {
            return Err(PyValueError::new_err(format!(
                "map `{map}`: the {what} is {size} bytes, {} bytes given",
                b.len()
            )));
        }
        return Ok(b);
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
pub(crate) fn decode<'py>(py: Python<'py>, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
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

/// A map, as bcc's tables: `t[key]`, `t[key] = value`, `del t[key]`, `keys()`,
/// `values()`, `items()`, `clear()`, `len(t)`, `key in t`, iteration over keys.
#[pyclass(module = "bpfbox", name = "Table", frozen)]
pub(crate) struct Table {
    map: Box<dyn Backend>,
}

impl Table {
    pub(crate) fn new(map: impl Backend + 'static) -> Table {
        Table { map: Box::new(map) }
    }

    fn key(&self, key: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        to_bytes(self.map.name(), "key", self.map.key_size(), key)
    }

    /// A map value: structs and arrays decoded with BTF (dicts and lists), else an int
    /// or bytes; per-CPU maps give a list with one value per CPU.
    fn value<'py>(&self, py: Python<'py>, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let size = self.map.value_size();
        let one = |v: &[u8]| -> PyResult<Bound<'py, PyAny>> {
            let v = &v[..size.min(v.len())];
            match self.map.value_json(v) {
                Some(j @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => json_to_py(py, &j),
                _ => decode(py, v),
            }
        };
        if !self.map.is_percpu() {
            return one(b);
        }
        let items = b.chunks(size.div_ceil(8) * 8).map(one).collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, items)?.into_any())
    }
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
    fn map_type(&self) -> String {
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
        match self.map.get(&self.key(key)?)? {
            Some(v) => self.value(py, &v),
            None => Err(PyKeyError::new_err(key.clone().unbind())),
        }
    }

    fn __setitem__(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = self.key(key)?;
        let v = to_bytes(self.map.name(), "value", self.map.value_size(), value)?;
        self.map.set(&k, &v)
    }

    fn __delitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.map.remove(&self.key(key)?)? {
            Ok(())
        } else {
            Err(PyKeyError::new_err(key.clone().unbind()))
        }
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.map.get(&self.key(key)?)?.is_some())
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.map.entries()?.len())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.keys(py)?.into_any().try_iter().map(|i| i.into_any())
    }

    /// The keys, decoded as values are (ints for 1/2/4/8 bytes, else bytes).
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let keys = self.map.entries()?.iter().map(|(k, _)| decode(py, k)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, keys)
    }

    /// The values.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let values = self.map.entries()?.iter().map(|(_, v)| self.value(py, v)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, values)
    }

    /// (key, value) pairs.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut items = Vec::new();
        for (k, v) in self.map.entries()? {
            items.push((decode(py, &k)?, self.value(py, &v)?));
        }
        PyList::new(py, items)
    }

    /// Delete every key (arrays: zero every element), as bcc's `clear()`.
    fn clear(&self) -> PyResult<()> {
        self.map.clear()
    }

    /// Call `callback(ctx, data, size)` for each record of this ring buffer, from
    /// `ring_buffer_poll` / `ring_buffer_consume` (`data`: the record as bytes).
    fn open_ring_buffer(&self, py: Python<'_>, callback: Py<PyAny>) -> PyResult<()> {
        self.map.open_buffer(py, false, callback, None)
    }

    /// Call `callback(cpu, data, size)` for each sample of this perf event array (and
    /// `lost_cb(cpu, count)` for lost ones), from `perf_buffer_poll`.
    #[pyo3(signature = (callback, page_cnt=8, lost_cb=None))]
    fn open_perf_buffer(
        &self,
        py: Python<'_>,
        callback: Py<PyAny>,
        page_cnt: usize,
        lost_cb: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let _ = page_cnt;
        self.map.open_buffer(py, true, callback, lost_cb)
    }

    /// Print a log2 histogram whose keys are bucket indexes (bucket i counts values in
    /// [2^i, 2^(i+1)), bucket 0 counts 0 and 1), in bcc's format.
    #[pyo3(signature = (val_type="value"))]
    fn print_log2_hist(&self, py: Python<'_>, val_type: &str) -> PyResult<()> {
        let mut buckets: Vec<(u64, u64)> = Vec::new();
        let size = self.map.value_size();
        for (k, v) in self.map.entries()? {
            let key = decode(py, &k)?.extract::<u64>().unwrap_or(u64::MAX);
            let val = decode(py, &v[..size.min(v.len())])?.extract::<u64>().unwrap_or(0);
            if key < 63 && val > 0 {
                buckets.push((key, val));
            }
        }
        py.import("builtins")?.getattr("print")?.call1((log2_hist(&buckets, val_type),))?;
        Ok(())
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

/// JSON (from BTF decoding) as Python values: objects as dicts, arrays as lists.
fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.into_pyobject(py)?.into_any(),
            (_, Some(i), _) => i.into_pyobject(py)?.into_any(),
            (_, _, Some(f)) => f.into_pyobject(py)?.into_any(),
            _ => py.None().into_bound(py),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(a) => {
            PyList::new(py, a.iter().map(|x| json_to_py(py, x)).collect::<PyResult<Vec<_>>>()?)?.into_any()
        }
        Value::Object(o) => {
            let d = pyo3::types::PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// bcc's `print_log2_hist` text for (bucket, count) pairs.
fn log2_hist(buckets: &[(u64, u64)], val_type: &str) -> String {
    let Some(max_bucket) = buckets.iter().map(|b| b.0).max() else {
        return String::new();
    };
    let max_count = buckets.iter().map(|b| b.1).max().unwrap_or(1).max(1);
    let mut out = format!("{:>10}{:<25} : count     distribution\n", "", val_type);
    for i in 0..=max_bucket {
        let count = buckets.iter().find(|b| b.0 == i).map_or(0, |b| b.1);
        let low = if i == 0 { 0 } else { 1u64 << i };
        let high = (1u64 << (i + 1)) - 1;
        let stars = (count * 40 / max_count) as usize;
        out.push_str(&format!("{low:>20} -> {high:<16} : {count:<8} |{:<40}|\n", "*".repeat(stars)));
    }
    out.pop();
    out
}
