//! What each attach point means: the program type and section the code generator emits
//! for it, wildcard expansion, and the tracepoint formats tracefs describes.

use crate::ast::AttachPoint;
use crate::diag::{Diagnostic, Span, Stage};
use std::path::{Path, PathBuf};

/// One attach point after wildcard expansion: one BPF program each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    Begin,
    End,
    Tracepoint {
        category: String,
        name: String,
    },
    RawTracepoint {
        name: String,
    },
    Uprobe {
        binary: PathBuf,
        symbol: String,
        ret: bool,
    },
    /// A USDT site: file offset, semaphore (0: none), where its arguments are.
    Usdt {
        binary: PathBuf,
        provider: String,
        name: String,
        offset: u64,
        semaphore: u64,
        args: Vec<crate::elfsyms::UsdtArg>,
    },
    /// `interval:s:1` (period in ns), on one CPU.
    Interval {
        period_ns: u64,
    },
    /// `profile:hz:99` (frequency) or `profile:ms:10` (period), on every CPU.
    Profile {
        hz: Option<u64>,
        period_ns: Option<u64>,
    },
    /// `software:EVENT:COUNT` / `hardware:EVENT:COUNT`.
    Perf {
        hardware: bool,
        event: String,
        count: u64,
    },
    Kprobe {
        func: String,
        ret: bool,
    },
    Kfunc {
        func: String,
        ret: bool,
    },
}

impl ProbeKind {
    /// The name bpftrace's `probe` builtin gives it (`tracepoint:syscalls:sys_enter_openat`).
    pub fn full_name(&self) -> String {
        match self {
            ProbeKind::Begin => "BEGIN".into(),
            ProbeKind::End => "END".into(),
            ProbeKind::Tracepoint { category, name } => format!("tracepoint:{category}:{name}"),
            ProbeKind::RawTracepoint { name } => format!("rawtracepoint:{name}"),
            ProbeKind::Uprobe { binary, symbol, ret } => {
                format!("{}:{}:{symbol}", if *ret { "uretprobe" } else { "uprobe" }, binary.display())
            }
            ProbeKind::Usdt { binary, provider, name, .. } => format!("usdt:{}:{provider}:{name}", binary.display()),
            ProbeKind::Interval { period_ns } => interval_name("interval", *period_ns),
            ProbeKind::Profile { hz: Some(hz), .. } => format!("profile:hz:{hz}"),
            ProbeKind::Profile { period_ns, .. } => interval_name("profile", period_ns.unwrap_or(0)),
            ProbeKind::Perf { hardware, event, count } => {
                format!("{}:{event}:{count}", if *hardware { "hardware" } else { "software" })
            }
            ProbeKind::Kprobe { func, ret } => format!("{}:{func}", if *ret { "kretprobe" } else { "kprobe" }),
            ProbeKind::Kfunc { func, ret } => format!("{}:{func}", if *ret { "kretfunc" } else { "kfunc" }),
        }
    }

    /// The libbpf section name of the program the code generator emits.
    pub fn section(&self) -> String {
        match self {
            // BEGIN and END run once, through BPF_PROG_TEST_RUN of a raw tracepoint program.
            ProbeKind::Begin | ProbeKind::End => "raw_tp".into(),
            ProbeKind::Tracepoint { category, name } => format!("tracepoint/{category}/{name}"),
            ProbeKind::RawTracepoint { name } => format!("raw_tracepoint/{name}"),
            ProbeKind::Uprobe { ret: false, .. } | ProbeKind::Usdt { .. } => "uprobe".into(),
            ProbeKind::Uprobe { ret: true, .. } => "uretprobe".into(),
            ProbeKind::Interval { .. } | ProbeKind::Profile { .. } | ProbeKind::Perf { .. } => "perf_event".into(),
            ProbeKind::Kprobe { func, ret: false } => format!("kprobe/{func}"),
            ProbeKind::Kprobe { func, ret: true } => format!("kretprobe/{func}"),
            ProbeKind::Kfunc { func, ret: false } => format!("fentry/{func}"),
            ProbeKind::Kfunc { func, ret: true } => format!("fexit/{func}"),
        }
    }

    /// Whether the context is a `struct pt_regs` (argN, retval read registers).
    pub fn has_pt_regs(&self) -> bool {
        matches!(self, ProbeKind::Uprobe { .. } | ProbeKind::Usdt { .. } | ProbeKind::Kprobe { .. })
    }
}

fn interval_name(provider: &str, ns: u64) -> String {
    if ns.is_multiple_of(1_000_000_000) {
        format!("{provider}:s:{}", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{provider}:ms:{}", ns / 1_000_000)
    } else if ns.is_multiple_of(1000) {
        format!("{provider}:us:{}", ns / 1000)
    } else {
        format!("{provider}:ns:{ns}")
    }
}

/// Where tracepoints, binaries and symbols are looked up.
pub trait ProbeEnv {
    /// Tracepoints `(category, name)` matching the glob patterns.
    fn tracepoints(&self, category: &str, name: &str) -> Vec<(String, String)>;
    /// The format of one tracepoint (the contents of tracefs' `format` file).
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<String>;
    /// Function symbols of `binary` matching the glob.
    fn symbols(&self, binary: &Path, pattern: &str) -> Result<Vec<String>, String>;
    /// The kernel's BTF (struct field access: `curtask->comm`, `(struct sock *)arg0`).
    fn kernel_btf(&self) -> Option<std::sync::Arc<bpfbox_object::Btf>> {
        None
    }
}

/// The running system: tracefs at /sys/kernel/tracing (or debugfs), ELF symbols.
#[derive(Debug, Default)]
pub struct SystemEnv;

pub fn tracefs_root() -> Option<PathBuf> {
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].iter().map(PathBuf::from).find(|p| p.join("events").is_dir())
}

impl ProbeEnv for SystemEnv {
    fn tracepoints(&self, category: &str, name: &str) -> Vec<(String, String)> {
        let Some(root) = tracefs_root() else { return Vec::new() };
        if !has_wildcard(category) && !has_wildcard(name) {
            // One file to look at, not the whole events/ tree.
            let exists = root.join("events").join(category).join(name).join("format").is_file();
            return if exists { vec![(category.to_string(), name.to_string())] } else { Vec::new() };
        }
        let mut out = Vec::new();
        let Ok(cats) = std::fs::read_dir(root.join("events")) else { return out };
        for c in cats.flatten() {
            let cname = c.file_name().to_string_lossy().into_owned();
            if !glob_match(category, &cname) || !c.path().is_dir() {
                continue;
            }
            let Ok(evs) = std::fs::read_dir(c.path()) else { continue };
            for e in evs.flatten() {
                let ename = e.file_name().to_string_lossy().into_owned();
                if e.path().join("format").is_file() && glob_match(name, &ename) {
                    out.push((cname.clone(), ename));
                }
            }
        }
        out.sort();
        out
    }
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<String> {
        std::fs::read_to_string(tracefs_root()?.join("events").join(category).join(name).join("format")).ok()
    }
    fn kernel_btf(&self) -> Option<std::sync::Arc<bpfbox_object::Btf>> {
        static BTF: std::sync::OnceLock<Option<std::sync::Arc<bpfbox_object::Btf>>> = std::sync::OnceLock::new();
        BTF.get_or_init(|| {
            let data = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
            bpfbox_object::Btf::parse_vec(data).ok().map(std::sync::Arc::new)
        })
        .clone()
    }
    fn symbols(&self, binary: &Path, pattern: &str) -> Result<Vec<String>, String> {
        crate::elfsyms::function_symbols(binary)
            .map(|syms| syms.into_iter().filter(|s| glob_match(pattern, s)).collect())
    }
}

/// `struct pt_regs` of x86-64 in memory order, 8 bytes each, by the names bpftrace's
/// `reg()` takes.
pub const PT_REGS: [&str; 21] = [
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di", "orig_ax", "ip",
    "cs", "flags", "sp", "ss",
];
/// The registers the x86-64 calling convention passes `arg0`..`arg5` in; `retval` is in `ax`.
pub const ARG_REGS: [&str; 6] = ["di", "si", "dx", "cx", "r8", "r9"];

/// The byte offset of a register (a [`PT_REGS`] name) in `struct pt_regs`.
pub fn pt_regs_offset(reg: &str) -> Option<i16> {
    PT_REGS.iter().position(|r| *r == reg).map(|i| 8 * i as i16)
}

/// Shell-style glob with `*` and `?` (bpftrace's wildcards).
pub fn glob_match(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// Resolve an attach point into the probes it names (wildcards expanded).
pub fn expand(ap: &AttachPoint, env: &dyn ProbeEnv) -> Result<Vec<ProbeKind>, Diagnostic> {
    let err = |m: String| Diagnostic::new(Stage::Type, ap.span, m);
    let parts: Vec<&str> = ap.parts.iter().map(String::as_str).collect();
    let want = |n: usize, form: &str| -> Result<(), Diagnostic> {
        if parts.len() == n {
            Ok(())
        } else {
            Err(err(format!("invalid attach point `{}`: expected {form}", ap.raw)))
        }
    };
    match ap.provider.as_str() {
        "BEGIN" => Ok(vec![ProbeKind::Begin]),
        "END" => Ok(vec![ProbeKind::End]),
        "tracepoint" => {
            want(2, "tracepoint:CATEGORY:NAME")?;
            let found = env.tracepoints(parts[0], parts[1]);
            if found.is_empty() {
                return Err(err(if has_wildcard(&ap.raw) {
                    format!("no tracepoint matches `{}`", ap.raw)
                } else {
                    format!("unknown tracepoint `{}:{}` (not in tracefs' events/)", parts[0], parts[1])
                }));
            }
            Ok(found.into_iter().map(|(category, name)| ProbeKind::Tracepoint { category, name }).collect())
        }
        "rawtracepoint" => {
            let name = match parts.as_slice() {
                [n] => n,
                [_module, n] => n,
                _ => return Err(err(format!("invalid attach point `{}`: expected rawtracepoint:NAME", ap.raw))),
            };
            if has_wildcard(name) {
                return Err(err("rawtracepoint does not take wildcards in bpfbox yet".into()));
            }
            Ok(vec![ProbeKind::RawTracepoint { name: name.to_string() }])
        }
        "uprobe" | "uretprobe" => {
            want(2, "uprobe:BINARY:SYMBOL")?;
            let binary = resolve_binary(parts[0]).map_err(err)?;
            let ret = ap.provider == "uretprobe";
            let symbols = if has_wildcard(parts[1]) {
                env.symbols(&binary, parts[1]).map_err(err)?
            } else {
                vec![parts[1].to_string()]
            };
            if symbols.is_empty() {
                return Err(err(format!("no symbol of {} matches `{}`", binary.display(), parts[1])));
            }
            Ok(symbols.into_iter().map(|symbol| ProbeKind::Uprobe { binary: binary.clone(), symbol, ret }).collect())
        }
        "usdt" => {
            let (bin, provider, name) = match parts.as_slice() {
                [b, p, n] => (*b, *p, *n),
                [b, n] => (*b, "*", *n),
                _ => {
                    return Err(err(format!("invalid attach point `{}`: expected usdt:BINARY:[PROVIDER:]NAME", ap.raw)))
                }
            };
            let binary = resolve_binary(bin).map_err(err)?;
            let notes = crate::elfsyms::usdt_notes(&binary).map_err(err)?;
            let found: Vec<ProbeKind> = notes
                .into_iter()
                .filter(|n| glob_match(provider, &n.provider) && glob_match(name, &n.name))
                .map(|n| ProbeKind::Usdt {
                    binary: binary.clone(),
                    provider: n.provider,
                    name: n.name,
                    offset: n.offset,
                    semaphore: n.semaphore,
                    args: n.args,
                })
                .collect();
            if found.is_empty() {
                return Err(err(format!("no USDT probe of {} matches `{provider}:{name}`", binary.display())));
            }
            Ok(found)
        }
        "interval" | "profile" => {
            let (unit, n) = match parts.as_slice() {
                [u, n] => (*u, *n),
                _ => return Err(err(format!("invalid attach point `{}`: expected {}:UNIT:N", ap.raw, ap.provider))),
            };
            let n: u64 =
                parse_u64(n).filter(|n| *n > 0).ok_or_else(|| err(format!("invalid count `{n}` in `{}`", ap.raw)))?;
            let period_ns = match unit {
                "s" => n.checked_mul(1_000_000_000),
                "ms" => n.checked_mul(1_000_000),
                "us" => n.checked_mul(1000),
                "ns" => Some(n),
                "hz" => None,
                _ => return Err(err(format!("invalid unit `{unit}` in `{}` (s, ms, us, hz)", ap.raw))),
            };
            if ap.provider == "interval" {
                let period_ns = match unit {
                    "hz" => 1_000_000_000 / n.max(1),
                    _ => period_ns.ok_or_else(|| err("interval too long".into()))?,
                };
                Ok(vec![ProbeKind::Interval { period_ns }])
            } else if unit == "hz" {
                Ok(vec![ProbeKind::Profile { hz: Some(n), period_ns: None }])
            } else {
                Ok(vec![ProbeKind::Profile { hz: None, period_ns }])
            }
        }
        "software" | "hardware" => {
            let (event, count) = match parts.as_slice() {
                [e] => (*e, None),
                [e, c] => (*e, Some(*c)),
                _ => {
                    return Err(err(format!(
                        "invalid attach point `{}`: expected {}:EVENT[:COUNT]",
                        ap.raw, ap.provider
                    )))
                }
            };
            let count = match count {
                Some(c) => parse_u64(c).filter(|n| *n > 0).ok_or_else(|| err(format!("invalid count `{c}`")))?,
                None => {
                    if ap.provider == "software" {
                        1000
                    } else {
                        1_000_000
                    }
                }
            };
            Ok(vec![ProbeKind::Perf { hardware: ap.provider == "hardware", event: event.into(), count }])
        }
        "kprobe" | "kretprobe" => {
            let func = match parts.as_slice() {
                [f] => f,
                [_module, f] => f,
                _ => return Err(err(format!("invalid attach point `{}`: expected {}:FUNCTION", ap.raw, ap.provider))),
            };
            Ok(vec![ProbeKind::Kprobe { func: func.to_string(), ret: ap.provider == "kretprobe" }])
        }
        "kfunc" | "kretfunc" | "fentry" | "fexit" => {
            let func = match parts.as_slice() {
                [f] => f,
                [_module, f] => f,
                _ => return Err(err(format!("invalid attach point `{}`: expected {}:FUNCTION", ap.raw, ap.provider))),
            };
            Ok(vec![ProbeKind::Kfunc {
                func: func.to_string(),
                ret: matches!(ap.provider.as_str(), "kretfunc" | "fexit"),
            }])
        }
        other => Err(err(format!("unknown probe type `{other}`"))),
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    let s = s.replace('_', "");
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else if let Some((m, e)) = s.split_once('e') {
        let m: u64 = m.parse().ok()?;
        m.checked_mul(10u64.checked_pow(e.parse().ok()?)?)
    } else {
        s.parse().ok()
    }
}

/// A binary named as bpftrace takes it: a path, or a name looked up in $PATH and the
/// usual library directories (`libc` → the C library).
pub fn resolve_binary(name: &str) -> Result<PathBuf, String> {
    let p = Path::new(name);
    if name.contains('/') {
        return if p.exists() { Ok(p.to_path_buf()) } else { Err(format!("no such binary `{name}`")) };
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in path.split(':') {
            let c = Path::new(dir).join(name);
            if c.is_file() {
                return Ok(c);
            }
        }
    }
    for dir in ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib", "/lib"] {
        for cand in [format!("{name}.so.6"), format!("{name}.so"), format!("lib{name}.so.6"), format!("lib{name}.so")] {
            let c = Path::new(dir).join(&cand);
            if c.exists() {
                return Ok(c);
            }
        }
    }
    Err(format!("no binary named `{name}` in $PATH or the library directories"))
}

/// One field of a tracepoint's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpField {
    pub name: String,
    /// The C declaration's type (`const char *`, `int`, `char[16]`, `__data_loc char[]`).
    pub c_type: String,
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
    /// `char name[N]`: N.
    pub array_len: Option<u32>,
    /// `__data_loc`: the field holds `len << 16 | offset` of the data in the record.
    pub data_loc: bool,
}

/// Parse tracefs' `format` file: the fields after the common ones.
pub fn parse_format(text: &str) -> Vec<TpField> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("field:") else { continue };
        let mut decl = "";
        let (mut offset, mut size, mut signed) = (None, None, false);
        for (i, part) in rest.split(';').enumerate() {
            let part = part.trim();
            if i == 0 {
                decl = part;
            } else if let Some(v) = part.strip_prefix("offset:") {
                offset = v.parse().ok();
            } else if let Some(v) = part.strip_prefix("size:") {
                size = v.parse().ok();
            } else if let Some(v) = part.strip_prefix("signed:") {
                signed = v == "1";
            }
        }
        let (Some(offset), Some(size)) = (offset, size) else { continue };
        let data_loc = decl.starts_with("__data_loc");
        let decl_wo = decl.trim_start_matches("__data_loc").trim();
        // The name is the last identifier, before any `[N]`.
        let (head, array_len) = match decl_wo.rfind('[') {
            Some(b) if decl_wo.ends_with(']') => (&decl_wo[..b], decl_wo[b + 1..decl_wo.len() - 1].trim().parse().ok()),
            _ => (decl_wo, None),
        };
        let head = head.trim_end();
        let split = head.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let name = head[split..].to_string();
        let c_type = head[..split].trim().to_string();
        if name.starts_with("common_") {
            continue;
        }
        out.push(TpField { name, c_type, offset, size, signed, array_len, data_loc });
    }
    out
}

/// `Span` helper for probes created without source (tests).
pub fn no_span() -> Span {
    Span::default()
}
