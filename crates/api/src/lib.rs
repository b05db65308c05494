//! bpfbox as a library: open a clang-built eBPF object, verify its programs, load it
//! into a user-space engine (interpreter or JIT) and test-run programs, with typed
//! access to the maps and the events the runs produced — no kernel, no privileges.
//!
//! ```
//! use bpfbox::{Engine, Input, Object};
//!
//! let obj = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
//! assert!(obj.program("xdp_firewall")?.verify()?.accepted);
//!
//! let inst = obj.load(&Engine::interpreter())?;
//! let blocklist = inst.map::<[u8; 4], u64>("blocklist")?;
//! blocklist.insert(&[10, 0, 0, 1], &0)?;
//!
//! // An IPv4 packet from 10.0.0.1: dropped (XDP_DROP is 1) and counted.
//! let mut pkt = vec![0u8; 34];
//! pkt[12..14].copy_from_slice(&[0x08, 0x00]);
//! pkt[14] = 0x45;
//! pkt[26..30].copy_from_slice(&[10, 0, 0, 1]);
//! let out = inst.test_run("xdp_firewall", &Input::data(pkt))?;
//! assert_eq!(out.retval, 1);
//! assert_eq!(blocklist.get(&[10, 0, 0, 1])?, Some(1));
//! # Ok::<(), bpfbox::Error>(())
//! ```
//!
//! With the cargo feature `kernel`, `KernelObject` gives the same shapes over the
//! running kernel (root or `CAP_BPF`): `KernelObject::open(path)?.load()?` in place of
//! `Object::open(path)?.load(&engine)?`, then the same `test_run`, `map::<K, V>` and
//! [`Error`]s; code generic over [`Backend`] takes either instance.
//!
//! The crate sits on top of bpfbox's internal crates (`bpfbox-object`, `-verifier`,
//! `-vm`, `-jit`, and with `kernel` `bpfbox-kernel`) and is the one whose surface is
//! meant to stay stable.

mod helpers;
mod instance;
#[cfg(feature = "kernel")]
mod kernel;
mod maps;

pub use helpers::{Arg, HelperCall, HelperError, HostHelpers, Ret};
pub use instance::{Engine, Input, Instance, LoadOptions, Output, map_def};
#[cfg(feature = "kernel")]
pub use kernel::{KernelInstance, KernelLoadOptions, KernelObject};
pub use maps::{Map, PerfBuffer, Pod, RawMap, RingBuffer};

use bpfbox_object::btf::Btf;
use bpfbox_object::{LoadedObject, ProgramSpec};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Everything that can go wrong, naming what (program, map, file) and where.
///
/// ```
/// use bpfbox::{Error, Object};
///
/// let err = Object::from_bytes(b"not an ELF file").unwrap_err();
/// assert!(matches!(err, Error::Object { .. }));
/// assert!(err.to_string().contains("not an ELF file"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A host helper's prototype cannot be used ([`HostHelpers::register`]).
    #[error("host helper {helper}: {reason}")]
    HelperPrototype { helper: String, reason: String },
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The object's bytes are not a usable eBPF ELF object.
    #[error("{object}: {source}")]
    Object { object: String, source: Box<bpfbox_object::LoadError> },
    /// A BTF file given for CO-RE could not be parsed.
    #[error("{}: {source}", path.display())]
    Btf { path: PathBuf, source: bpfbox_object::BtfError },
    /// A program type name that bpfbox does not know (`OpenOptions::program_types`).
    #[error("program `{program}`: unknown program type `{type_name}`")]
    UnknownProgramType { program: String, type_name: String },
    /// No program of that name in the object.
    #[error("no program named `{name}` (programs: {available})")]
    UnknownProgram { name: String, available: String },
    /// The program is in the object but could not be decoded or relocated.
    #[error("program `{name}` cannot be used: {reason}")]
    UnusableProgram { name: String, reason: String },
    /// The program's section gives no program type, so it can be neither verified nor run.
    #[error("program `{name}` (section `{section}`) has no known type: name one in OpenOptions::program_types")]
    UntypedProgram { name: String, section: String },
    /// bpfbox's verifier rejected the program; the report holds the diagnostics.
    #[error("program `{name}` was rejected by the verifier: {}", first_diagnostic(report))]
    Rejected { name: String, report: Box<Report> },
    /// The runtime refused to load the program (a helper bpfbox lacks, a kfunc...).
    #[error("program `{name}` could not be loaded: {source}")]
    Load { name: String, source: Box<bpfbox_vm::RuntimeError> },
    /// A test run was refused (bad input for the program type) or faulted.
    #[error(transparent)]
    Run(Box<bpfbox_vm::RuntimeError>),
    /// No map of that name in the object.
    #[error("no map named `{name}` (maps: {available})")]
    UnknownMap { name: String, available: String },
    /// A key or value whose size is not the map's.
    #[error("map `{map}`: the {what} is {expected} bytes, but {given} bytes were given (`{type_name}`)")]
    SizeMismatch { map: String, what: &'static str, expected: usize, given: usize, type_name: &'static str },
    /// The operation does not apply to this kind of map.
    #[error("map `{map}`: {reason}")]
    WrongMapKind { map: String, reason: String },
    /// A map operation failed with the kernel's error number (`E2BIG`, `EEXIST`...).
    #[error("map `{map}`: {op}: {errno}")]
    Map { map: String, op: &'static str, errno: bpfbox_vm::Errno },
    /// The object could not be set up in the runtime (map creation, map-in-map slots).
    #[error("setting up the object: {0}")]
    Setup(Box<bpfbox_vm::RuntimeError>),
    /// The kernel backend failed: bpf() unavailable ([`KernelObject::available`]), the
    /// kernel's verifier refused a program (the error keeps its whole log), or a test
    /// run was refused.
    #[cfg(feature = "kernel")]
    #[error(transparent)]
    Kernel(Box<bpfbox_kernel::KernelError>),
}

fn first_diagnostic(r: &Report) -> String {
    match r.diagnostics.first() {
        Some(d) => format!("insn {}: {}", d.pc, d.message.lines().next().unwrap_or("")),
        None => "no diagnostic".into(),
    }
}

/// The crate's result type.
///
/// ```
/// fn open() -> bpfbox::Result<bpfbox::Object> {
///     bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))
/// }
/// assert!(open().is_ok());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a loaded object offers whichever backend runs it — bpfbox's engines
/// ([`Instance`]) or, with the feature `kernel`, the kernel (`KernelInstance`) — for
/// code that takes either.
///
/// ```
/// use bpfbox::{Backend, Engine, Input, Object};
/// fn drops(inst: &impl Backend, src: [u8; 4]) -> bpfbox::Result<bool> {
///     let mut pkt = vec![0u8; 34];
///     pkt[12..14].copy_from_slice(&[0x08, 0x00]);
///     pkt[14] = 0x45;
///     pkt[26..30].copy_from_slice(&src);
///     Ok(inst.test_run("xdp_firewall", &Input::data(pkt))?.retval == 1)
/// }
/// let inst = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load(&Engine::jit())?;
/// inst.map::<[u8; 4], u64>("blocklist")?.insert(&[10, 0, 0, 1], &0)?;
/// assert!(drops(&inst, [10, 0, 0, 1])? && !drops(&inst, [10, 0, 0, 2])?);
/// # Ok::<(), bpfbox::Error>(())
/// ```
pub trait Backend {
    /// Run program `prog` once (or `input.repeat` times), as `BPF_PROG_TEST_RUN`.
    ///
    /// ```
    /// use bpfbox::{Backend, Engine, Input, Object};
    /// let inst = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load(&Engine::interpreter())?;
    /// assert_eq!(Backend::test_run(&inst, "xdp_firewall", &Input::data(vec![0u8; 14]))?.retval, 2);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    fn test_run(&self, prog: &str, input: &Input) -> Result<Output>;

    /// A map by name, untyped.
    ///
    /// ```
    /// use bpfbox::{Backend, Engine, Object};
    /// let inst = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load(&Engine::interpreter())?;
    /// assert_eq!(Backend::raw_map(&inst, "stats")?.key_size(), 4);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    fn raw_map(&self, name: &str) -> Result<RawMap>;

    /// A map by name with typed keys and values, checked against its sizes and BTF.
    ///
    /// ```
    /// use bpfbox::{Backend, Engine, Object};
    /// let inst = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load(&Engine::interpreter())?;
    /// assert_eq!(Backend::map::<u32, u64>(&inst, "stats")?.get(&0)?, Some(0));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    fn map<K: Pod, V: Pod>(&self, name: &str) -> Result<Map<K, V>> {
        Map::new(self.raw_map(name)?)
    }
}

impl Backend for Instance {
    fn test_run(&self, prog: &str, input: &Input) -> Result<Output> {
        Instance::test_run(self, prog, input)
    }
    fn raw_map(&self, name: &str) -> Result<RawMap> {
        Instance::raw_map(self, name)
    }
}

/// The BTF that CO-RE relocations are resolved against.
///
/// ```
/// use bpfbox::{Object, OpenOptions, TargetBtf};
///
/// let opts = OpenOptions { target_btf: TargetBtf::None, ..OpenOptions::default() };
/// let obj = Object::open_with(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"), &opts)?;
/// assert_eq!(obj.programs().count(), 1);
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TargetBtf {
    /// `/sys/kernel/btf/vmlinux` when it is readable (as libbpf does), else none.
    #[default]
    Running,
    /// A BTF file (raw BTF or an ELF with a `.BTF` section).
    File(PathBuf),
    /// No target BTF: objects with CO-RE relocations fail to open.
    None,
}

/// How an object is opened.
///
/// ```
/// use bpfbox::{Object, OpenOptions};
///
/// let opts = OpenOptions { name: Some("fw".into()), ..OpenOptions::default() };
/// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o")).unwrap();
/// let obj = Object::from_bytes_with(&bytes, &opts)?;
/// assert_eq!(obj.name(), "fw");
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The BTF for CO-RE relocations (and for typing kernel pointers in the verifier).
    pub target_btf: TargetBtf,
    /// (program, type name as `bpftool` spells it, e.g. `xdp`) for sections without a known type.
    pub program_types: Vec<(String, String)>,
    /// The object's name (global-data maps are named after it); default: the file name.
    pub name: Option<String>,
}

/// The running kernel's BTF, parsed once per process.
fn running_btf() -> Option<Arc<Btf>> {
    static BTF: OnceLock<Option<Arc<Btf>>> = OnceLock::new();
    BTF.get_or_init(|| std::fs::read("/sys/kernel/btf/vmlinux").ok().and_then(|b| Btf::parse_vec(b).ok()).map(Arc::new))
        .clone()
}

/// The verifier's model of the running kernel's BTF, built once per process.
fn running_kernel_btf() -> Option<bpfbox_verifier::KernelBtf> {
    static MODEL: OnceLock<Option<bpfbox_verifier::KernelBtf>> = OnceLock::new();
    MODEL.get_or_init(|| running_btf().map(bpfbox_verifier::KernelBtf::new)).clone()
}

/// An opened eBPF ELF object: its programs and map definitions, relocated. Cheap to
/// clone; `Send + Sync`.
///
/// ```
/// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
/// let names: Vec<&str> = obj.programs().map(|p| p.name()).collect();
/// assert_eq!(names, ["xdp_firewall"]);
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Object {
    inner: Arc<LoadedObject>,
    name: String,
    kernel_btf: Option<bpfbox_verifier::KernelBtf>,
}

impl Object {
    /// Open an object file with the default [`OpenOptions`].
    ///
    /// ```
    /// let err = bpfbox::Object::open("/nonexistent.bpf.o").unwrap_err();
    /// assert!(err.to_string().starts_with("/nonexistent.bpf.o: "));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Object> {
        Object::open_with(path, &OpenOptions::default())
    }

    /// Open an object file.
    ///
    /// ```
    /// use bpfbox::{Object, OpenOptions};
    /// let opts = OpenOptions { program_types: vec![("nope".into(), "not_a_type".into())], ..Default::default() };
    /// let err = Object::open_with(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"), &opts);
    /// assert!(matches!(err, Err(bpfbox::Error::UnknownProgramType { .. })));
    /// ```
    pub fn open_with(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<Object> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        let mut opts = opts.clone();
        if opts.name.is_none() {
            opts.name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        }
        Object::from_bytes_with(&bytes, &opts)
    }

    /// Open an object from its bytes.
    ///
    /// ```
    /// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o")).unwrap();
    /// let obj = bpfbox::Object::from_bytes(&bytes)?;
    /// assert!(obj.program("xdp_firewall").is_ok());
    /// assert!(bpfbox::Object::from_bytes(&bytes[..100]).is_err());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Object> {
        Object::from_bytes_with(bytes, &OpenOptions::default())
    }

    /// Open an object from its bytes with options.
    ///
    /// ```
    /// use bpfbox::{Object, OpenOptions, TargetBtf};
    /// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o")).unwrap();
    /// let obj = Object::from_bytes_with(&bytes, &OpenOptions { target_btf: TargetBtf::None, ..Default::default() })?;
    /// assert_eq!(obj.name(), "obj");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn from_bytes_with(bytes: &[u8], opts: &OpenOptions) -> Result<Object> {
        let name = opts.name.clone().unwrap_or_else(|| "obj".into());
        let (target_btf, kernel_btf) = match &opts.target_btf {
            TargetBtf::Running => (running_btf(), running_kernel_btf()),
            TargetBtf::File(p) => {
                let b = std::fs::read(p).map_err(|source| Error::Io { path: p.clone(), source })?;
                let btf = Arc::new(Btf::parse_vec(b).map_err(|source| Error::Btf { path: p.clone(), source })?);
                (Some(btf.clone()), Some(bpfbox_verifier::KernelBtf::new(btf)))
            }
            TargetBtf::None => (None, None),
        };
        let mut prog_types = Vec::new();
        for (program, t) in &opts.program_types {
            let pt = bpfbox_abi::prog_types::ProgType::from_name(t)
                .ok_or_else(|| Error::UnknownProgramType { program: program.clone(), type_name: t.clone() })?;
            prog_types.push((program.clone(), pt));
        }
        // LINUX_KERNEL_VERSION is the running kernel's when CO-RE targets it, as libbpf sets it.
        let kernel_version = if opts.target_btf == TargetBtf::Running {
            bpfbox_object::running_kernel_version().unwrap_or(0)
        } else {
            0
        };
        let load_opts = bpfbox_object::LoadOptions {
            target_btf,
            prog_types,
            object_name: Some(name.clone()),
            kernel_version,
            ..Default::default()
        };
        let mut inner = bpfbox_object::load(bytes, &load_opts)
            .map_err(|source| Error::Object { object: name.clone(), source: Box::new(source) })?;
        inner.use_bpfbox_kfunc_ids();
        Ok(Object { inner: Arc::new(inner), name, kernel_btf })
    }

    /// The object's name (the file name, or [`OpenOptions::name`]).
    ///
    /// ```
    /// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert_eq!(obj.name(), "xdp_firewall.bpf.o");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The usable programs, in the object's order.
    ///
    /// ```
    /// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/progs/maps.bpf.o"))?;
    /// assert!(obj.programs().count() >= 1);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn programs(&self) -> impl Iterator<Item = Program<'_>> + '_ {
        self.inner.programs.iter().map(move |spec| Program { obj: self, spec })
    }

    /// The program called `name` (its function name).
    ///
    /// ```
    /// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert_eq!(obj.program("xdp_firewall")?.section(), "xdp");
    /// let err = obj.program("nope").unwrap_err();
    /// assert_eq!(err.to_string(), "no program named `nope` (programs: xdp_firewall)");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn program(&self, name: &str) -> Result<Program<'_>> {
        if let Some(spec) = self.inner.program(name) {
            return Ok(Program { obj: self, spec });
        }
        Err(match self.inner.unusable.iter().find(|u| u.name == name) {
            Some(u) => Error::UnusableProgram { name: name.into(), reason: u.error.to_string() },
            None => Error::UnknownProgram { name: name.into(), available: self.program_names() },
        })
    }

    /// The maps the object defines, as (name, key size, value size).
    ///
    /// ```
    /// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let maps: Vec<_> = obj.maps().collect();
    /// assert!(maps.contains(&("blocklist", 4, 8)));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn maps(&self) -> impl Iterator<Item = (&str, u32, u32)> + '_ {
        self.inner.maps.iter().map(|m| (m.name.as_str(), m.key_size, m.value_size))
    }

    /// Load the object into `engine`: create its maps, verify every typed program with
    /// bpfbox's verifier and load the accepted ones. A rejected program does not stop the
    /// others; running it returns [`Error::Rejected`].
    ///
    /// ```
    /// use bpfbox::{Engine, Object};
    /// let obj = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let inst = obj.load(&Engine::jit())?;
    /// assert!(inst.map::<u32, u64>("stats").is_ok());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn load(&self, engine: &Engine) -> Result<Instance> {
        self.load_with(engine, &LoadOptions::default())
    }

    /// [`Object::load`] with options (verification on or off).
    ///
    /// ```
    /// use bpfbox::{Engine, LoadOptions, Object};
    /// let obj = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let inst = obj.load_with(&Engine::interpreter(), &LoadOptions { verify: false })?;
    /// assert!(inst.programs().any(|p| p == "xdp_firewall"));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn load_with(&self, engine: &Engine, opts: &LoadOptions) -> Result<Instance> {
        instance::load(self, engine, opts)
    }

    fn program_names(&self) -> String {
        let names: Vec<&str> = self.inner.programs.iter().map(|p| p.name.as_str()).collect();
        if names.is_empty() { "none".into() } else { names.join(", ") }
    }

    pub(crate) fn loaded(&self) -> &Arc<LoadedObject> {
        &self.inner
    }
}

/// One program of an [`Object`].
///
/// ```
/// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
/// let p = obj.program("xdp_firewall")?;
/// assert_eq!((p.name(), p.section(), p.program_type()), ("xdp_firewall", "xdp", Some("xdp")));
/// assert!(p.instruction_count() > 10);
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Program<'o> {
    obj: &'o Object,
    spec: &'o ProgramSpec,
}

impl<'o> Program<'o> {
    /// The program's function name.
    ///
    /// ```
    /// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert_eq!(obj.program("xdp_firewall")?.name(), "xdp_firewall");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn name(&self) -> &'o str {
        &self.spec.name
    }

    /// The ELF section it came from (`xdp`, `tracepoint/syscalls/sys_enter_openat`...).
    ///
    /// ```
    /// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert_eq!(obj.program("xdp_firewall")?.section(), "xdp");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn section(&self) -> &'o str {
        &self.spec.section
    }

    /// The program type as bpftool names it (`xdp`, `sched_cls`...), when known.
    ///
    /// ```
    /// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/tc_rewrite.bpf.o"))?;
    /// assert_eq!(obj.programs().next().and_then(|p| p.program_type()), Some("sched_cls"));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn program_type(&self) -> Option<&'static str> {
        self.spec.prog_type.map(|t| t.name())
    }

    /// Its length in instruction slots (an `lddw` takes two).
    ///
    /// ```
    /// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert!(obj.program("xdp_firewall")?.instruction_count() > 0);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn instruction_count(&self) -> usize {
        self.spec.insns.len()
    }

    /// Verify the program with bpfbox's verifier (the kernel's rules, without the kernel).
    /// Fails only when the program has no known type; a rejection is a [`Report`] whose
    /// `accepted` is false.
    ///
    /// ```
    /// let bad = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/verifier/c/pkt_short_check_bad.o");
    /// let obj = bpfbox::Object::open(bad)?;
    /// let report = obj.programs().next().unwrap().verify()?;
    /// assert!(!report.accepted);
    /// let d = &report.diagnostics[0];
    /// assert!(d.message.contains("invalid access to packet"));
    /// assert_eq!(d.source.as_ref().map(|s| s.line), Some(5));
    /// assert!(d.hint.is_some());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn verify(&self) -> Result<Report> {
        let (report, _) = self.verify_raw(&[])?;
        Ok(report)
    }

    /// [`Program::verify`] for `engine`: calls of its host-defined helpers
    /// ([`Engine::helpers`]) are checked against their prototypes.
    ///
    /// ```
    /// use bpfbox::{Arg, Engine, HostHelpers, Object, Ret};
    /// let obj = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/host/host_helpers.bpf.o"))?;
    /// let prog = obj.program("good")?;
    /// // Without the host's helpers, helper 1001 does not exist.
    /// assert_eq!(prog.verify()?.diagnostics[0].message, "invalid func unknown#1001");
    /// let mut h = HostHelpers::new();
    /// h.register(1000, "host_add", Ret::Integer, &[Arg::Scalar, Arg::Scalar], |c| Ok(c.arg(0) + c.arg(1)))?;
    /// h.register(1001, "host_hash", Ret::Integer, &[Arg::Memory, Arg::Size], |_| Ok(0))?;
    /// assert!(prog.verify_with(&Engine::interpreter().helpers(h))?.accepted);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn verify_with(&self, engine: &Engine) -> Result<Report> {
        let (report, _) = self.verify_raw(&engine.host_helpers().prototypes())?;
        Ok(report)
    }

    /// The verifier's own report (with the converted accesses `load` needs) and ours.
    pub(crate) fn verify_raw(
        &self,
        host_helpers: &[bpfbox_abi::HelperProto],
    ) -> Result<(Report, bpfbox_verifier::Report)> {
        let Some(mut input) = bpfbox_verifier::object::input_from_object(self.obj.loaded(), self.spec) else {
            return Err(Error::UntypedProgram { name: self.spec.name.clone(), section: self.spec.section.clone() });
        };
        input.kernel_btf = self.obj.kernel_btf.clone();
        let opts = bpfbox_verifier::VerifyOptions { host_helpers: host_helpers.to_vec(), ..Default::default() };
        let raw = bpfbox_verifier::verify(&input, &opts);
        Ok((Report::new(self.spec, &raw), raw))
    }

    pub(crate) fn spec(&self) -> &'o ProgramSpec {
        self.spec
    }
}

/// The verifier's verdict on one program, as data.
///
/// ```
/// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
/// let r = obj.program("xdp_firewall")?.verify()?;
/// assert!(r.accepted && r.diagnostics.is_empty() && r.processed_insns > 0);
/// assert_eq!(r.program, "xdp_firewall");
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    pub program: String,
    pub accepted: bool,
    pub diagnostics: Vec<Diagnostic>,
    /// Instructions the verifier walked (the kernel's `processed N insns`).
    pub processed_insns: u64,
}

impl Report {
    fn new(spec: &ProgramSpec, r: &bpfbox_verifier::Report) -> Report {
        Report {
            program: spec.name.clone(),
            accepted: r.accepted(),
            diagnostics: r.diagnostics.iter().map(|d| Diagnostic::new(spec, d)).collect(),
            processed_insns: r.stats.processed_insns,
        }
    }
}

/// Why the verifier rejects a program, at one instruction.
///
/// ```
/// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/verifier/c/ringbuf_leak_bad.o"))?;
/// let r = obj.programs().next().unwrap().verify()?;
/// assert_eq!(r.diagnostics[0].kind, "unreleased_reference");
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The instruction index (slots, as `llvm-objdump -d` numbers them).
    pub pc: usize,
    /// The rule broken, in snake case (`invalid_packet_access`, `unreleased_reference`...).
    pub kind: String,
    /// The kernel's message for it.
    pub message: String,
    /// What to change, when bpfbox can tell.
    pub hint: Option<String>,
    /// The C source line, when the object has BTF line info.
    pub source: Option<SourceLine>,
}

impl Diagnostic {
    fn new(spec: &ProgramSpec, d: &bpfbox_verifier::Diagnostic) -> Diagnostic {
        let kind = serde_json::to_value(d.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        Diagnostic {
            pc: d.pc,
            kind,
            message: d.message.clone(),
            hint: d.hint.clone(),
            source: spec.line_of(d.pc).map(|l| SourceLine {
                file: l.file.clone(),
                line: l.line,
                column: l.col,
                text: l.text.trim().to_string(),
            }),
        }
    }
}

/// A line of C source, from BTF line info.
///
/// ```
/// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/verifier/c/pkt_short_check_bad.o"))?;
/// let r = obj.programs().next().unwrap().verify()?;
/// let s = r.diagnostics[0].source.clone().unwrap();
/// assert!(s.file.ends_with("pkt_short_check_bad.c") && !s.text.is_empty());
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub text: String,
}

#[cfg(test)]
mod tests;
