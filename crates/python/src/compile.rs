//! C to BPF objects with clang, as bcc does at start, but cached: the object of a
//! source (with its cflags, the headers next to it and the `vmlinux.h` it includes) is
//! compiled once and kept under the cache directory, so a tool's second start opens a
//! file instead of running clang. `vmlinux.h` is generated from the running kernel's
//! BTF (`bpftool btf dump file /sys/kernel/btf/vmlinux format c`) once per BTF content.

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyResult;
use std::path::{Path, PathBuf};

/// FNV-1a, 64 bits: a stable content hash for cache keys (not for security).
fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| (h ^ *b as u64).wrapping_mul(0x100_0000_01b3))
}

const FNV_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// `$BPFBOX_CACHE_DIR`, else `$XDG_CACHE_HOME/bpfbox/python`, else `~/.cache/bpfbox/python`.
pub(crate) fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BPFBOX_CACHE_DIR") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("bpfbox").join("python")
}

fn io_err(path: &Path, e: std::io::Error) -> pyo3::PyErr {
    PyOSError::new_err(format!("{}: {e}", path.display()))
}

/// Write `bytes` to `path` through a temporary file and a rename, so that concurrent
/// starts never read half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> PyResult<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// The directory holding a `vmlinux.h` generated from the running kernel's BTF.
fn vmlinux_include(cache: &Path) -> PyResult<(PathBuf, u64)> {
    let btf_path = Path::new("/sys/kernel/btf/vmlinux");
    let btf = std::fs::read(btf_path).map_err(|e| io_err(btf_path, e))?;
    let hash = fnv(FNV_SEED, &btf);
    let dir = cache.join(format!("vmlinux-{hash:016x}"));
    let header = dir.join("vmlinux.h");
    if !header.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let out = std::process::Command::new("bpftool")
            .args(["btf", "dump", "file"])
            .arg(btf_path)
            .args(["format", "c"])
            .output()
            .map_err(|e| PyRuntimeError::new_err(format!("bpftool (to generate vmlinux.h): {e}")))?;
        if !out.status.success() {
            return Err(PyRuntimeError::new_err(format!(
                "bpftool btf dump failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        write_atomic(&header, &out.stdout)?;
    }
    Ok((dir, hash))
}

pub(crate) fn target_arch() -> (&'static str, &'static str) {
    // As libbpf-tools build: the host's architecture for bpf_tracing.h, and Debian's
    // multiarch include directory for <asm/types.h>.
    match std::env::consts::ARCH {
        "aarch64" => ("arm64", "aarch64-linux-gnu"),
        "riscv64" => ("riscv", "riscv64-linux-gnu"),
        "s390x" => ("s390", "s390x-linux-gnu"),
        _ => ("x86", "x86_64-linux-gnu"),
    }
}

/// The object for C source `src` (a file), compiled with clang-19 (else clang) or
/// taken from the cache. Returns the cached object's path.
pub(crate) fn compile(src: &Path, cflags: &[String]) -> PyResult<PathBuf> {
    let text = std::fs::read(src).map_err(|e| io_err(src, e))?;
    let cache = cache_dir();
    std::fs::create_dir_all(&cache).map_err(|e| io_err(&cache, e))?;
    let mut key = fnv(FNV_SEED, &text);
    for f in cflags {
        key = fnv(key, f.as_bytes());
        key = fnv(key, b"\0");
    }
    // The headers next to the source may be included: their contents are part of the key.
    let dir = src.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let Ok(rd) = std::fs::read_dir(dir) {
        let mut headers: Vec<PathBuf> =
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "h")).collect();
        headers.sort();
        for h in headers {
            key = fnv(key, h.as_os_str().as_encoded_bytes());
            key = fnv(key, &std::fs::read(&h).unwrap_or_default());
        }
    }
    let includes_vmlinux = text.windows(9).any(|w| w == b"vmlinux.h");
    let vmlinux = if includes_vmlinux {
        let (d, h) = vmlinux_include(&cache)?;
        key = fnv(key, &h.to_le_bytes());
        Some(d)
    } else {
        None
    };
    let obj = cache.join(format!("obj-{key:016x}.bpf.o"));
    if obj.exists() {
        return Ok(obj);
    }
    let (arch, multiarch) = target_arch();
    let tmp = obj.with_extension(format!("tmp{}", std::process::id()));
    let mut last = String::from("no clang-19 or clang on PATH");
    for clang in ["clang-19", "clang"] {
        let mut cmd = std::process::Command::new(clang);
        cmd.args(["-O2", "-g", "-target", "bpf", "-c"]).arg(src).arg("-o").arg(&tmp);
        cmd.arg(format!("-D__TARGET_ARCH_{arch}"));
        let inc = Path::new("/usr/include").join(multiarch);
        if inc.is_dir() {
            cmd.arg("-I").arg(inc);
        }
        if let Some(d) = &vmlinux {
            cmd.arg("-I").arg(d);
        }
        cmd.args(cflags);
        cmd.arg("-I").arg(dir);
        match cmd.output() {
            Ok(o) if o.status.success() => {
                std::fs::rename(&tmp, &obj).map_err(|e| io_err(&obj, e))?;
                return Ok(obj);
            }
            Ok(o) => {
                let _ = std::fs::remove_file(&tmp);
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

/// The object for `BPF(obj= | text= | src_file=, cflags=)`: a prebuilt file as is, C
/// compiled (or found in the cache).
pub(crate) fn object_path(
    obj: Option<PathBuf>,
    text: Option<&str>,
    src_file: Option<PathBuf>,
    cflags: &[String],
) -> PyResult<PathBuf> {
    match (obj, text, src_file) {
        (Some(p), None, None) => Ok(p),
        (None, None, Some(src)) => compile(&src, cflags),
        (None, Some(t), None) => {
            // The text goes to a file named by its hash, so its object is cached too.
            let cache = cache_dir();
            std::fs::create_dir_all(&cache).map_err(|e| io_err(&cache, e))?;
            let src = cache.join(format!("text-{:016x}.bpf.c", fnv(FNV_SEED, t.as_bytes())));
            if !src.exists() {
                write_atomic(&src, t.as_bytes())?;
            }
            compile(&src, cflags)
        }
        _ => Err(PyValueError::new_err("give exactly one of obj=, text= or src_file=")),
    }
}
