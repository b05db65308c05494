//! The kernel backend (cargo feature `kernel`): the same object, test runs and typed
//! maps as [`Object`] and [`Instance`](crate::Instance), with the running kernel doing
//! the verifying and the running, through `bpfbox-kernel` (libbpf) — the crate
//! `bpfbox run --kernel` and the Python package's `BPF(kernel=True)` use.

use crate::maps::{Entries, Map, Pod, RawMap};
use crate::{Backend, Error, Input, Object, OpenOptions, Output, Program, Result, TargetBtf};
use bpfbox_kernel as bk;
use bpfbox_vm::Errno;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// An eBPF object to load into the running kernel: [`Object`]'s view of it (programs,
/// maps, bpfbox's verifier) and the bytes libbpf loads. Cheap to clone; `Send + Sync`.
///
/// Code written against [`Object`] and [`Instance`](crate::Instance) moves to the
/// kernel by changing the line that loads: `Object::open(p)?.load(&Engine::jit())?`
/// becomes `KernelObject::open(p)?.load()?`; `test_run`, `map::<K, V>` and the
/// [`Error`]s stay (see [`Backend`] for code that takes either).
///
/// ```
/// use bpfbox::{Input, KernelObject};
/// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
/// let obj = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
/// let inst = obj.load()?;
/// inst.map::<[u8; 4], u64>("blocklist")?.insert(&[10, 0, 0, 1], &0)?;
/// let mut pkt = vec![0u8; 34];
/// pkt[12..14].copy_from_slice(&[0x08, 0x00]);
/// pkt[14] = 0x45;
/// pkt[26..30].copy_from_slice(&[10, 0, 0, 1]);
/// assert_eq!(inst.test_run("xdp_firewall", &Input::data(pkt))?.retval, 1); // XDP_DROP
/// assert_eq!(inst.map::<[u8; 4], u64>("blocklist")?.get(&[10, 0, 0, 1])?, Some(1));
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct KernelObject {
    object: Object,
    source: Source,
    prog_types: Vec<(String, String)>,
    btf: Option<PathBuf>,
}

#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    Bytes(Arc<[u8]>),
}

/// How [`KernelObject::load_with`] loads.
///
/// ```
/// let o = bpfbox::KernelLoadOptions { programs: Some(vec!["xdp_firewall".into()]) };
/// assert_ne!(o.programs, bpfbox::KernelLoadOptions::default().programs);
/// ```
#[derive(Debug, Clone, Default)]
pub struct KernelLoadOptions {
    /// Load only these programs (the maps are all created), so that a program the
    /// kernel refuses does not stop the others; `None` (default): every program, and
    /// one refusal fails the load. Programs left out fail to run with
    /// [`Error::UnusableProgram`].
    pub programs: Option<Vec<String>>,
}

impl KernelObject {
    /// Whether this process can load programs into the kernel (root or `CAP_BPF`, a
    /// kernel with bpf()): `Err(Error::Kernel(..))` saying why not.
    ///
    /// ```
    /// match bpfbox::KernelObject::available() {
    ///     Ok(()) => println!("the kernel backend works here"),
    ///     Err(e) => println!("SKIP: {e}"),
    /// }
    /// ```
    pub fn available() -> Result<()> {
        bk::availability().map_err(|why| Error::Kernel(Box::new(bk::KernelError::Unavailable(why))))
    }

    /// Open an object file with the default [`OpenOptions`] (nothing is loaded yet).
    ///
    /// ```
    /// let obj = bpfbox::KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert_eq!(obj.name(), "xdp_firewall.bpf.o");
    /// assert!(bpfbox::KernelObject::open("/nonexistent.bpf.o").is_err());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<KernelObject> {
        KernelObject::open_with(path, &OpenOptions::default())
    }

    /// Open an object file: [`OpenOptions::program_types`] and a
    /// [`TargetBtf::File`] are given to libbpf too ([`OpenOptions::name`] names the
    /// object on bpfbox's side only).
    ///
    /// ```
    /// use bpfbox::{KernelObject, OpenOptions};
    /// let opts = OpenOptions { name: Some("fw".into()), ..OpenOptions::default() };
    /// let obj = KernelObject::open_with(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"), &opts)?;
    /// assert_eq!(obj.name(), "fw");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<KernelObject> {
        let path = path.as_ref();
        let object = Object::open_with(path, opts)?;
        Ok(KernelObject::new(object, Source::File(path.to_path_buf()), opts))
    }

    /// Open an object from its bytes (written to a temporary file for libbpf while
    /// [`KernelObject::load`] runs).
    ///
    /// ```
    /// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o")).unwrap();
    /// let obj = bpfbox::KernelObject::from_bytes(&bytes)?;
    /// assert!(obj.program("xdp_firewall").is_ok());
    /// assert!(bpfbox::KernelObject::from_bytes(b"not an ELF file").is_err());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<KernelObject> {
        KernelObject::from_bytes_with(bytes, &OpenOptions::default())
    }

    /// Open an object from its bytes with options.
    ///
    /// ```
    /// use bpfbox::{KernelObject, OpenOptions};
    /// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o")).unwrap();
    /// let obj = KernelObject::from_bytes_with(&bytes, &OpenOptions { name: Some("fw.o".into()), ..Default::default() })?;
    /// assert_eq!(obj.name(), "fw.o");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn from_bytes_with(bytes: &[u8], opts: &OpenOptions) -> Result<KernelObject> {
        let object = Object::from_bytes_with(bytes, opts)?;
        Ok(KernelObject::new(object, Source::Bytes(bytes.into()), opts))
    }

    fn new(object: Object, source: Source, opts: &OpenOptions) -> KernelObject {
        let btf = match &opts.target_btf {
            TargetBtf::File(p) => Some(p.clone()),
            TargetBtf::Running | TargetBtf::None => None,
        };
        KernelObject { object, source, prog_types: opts.program_types.clone(), btf }
    }

    /// The object as bpfbox's user-space side sees it: verify its programs, or load
    /// it into an [`Engine`](crate::Engine) to compare.
    ///
    /// ```
    /// use bpfbox::{Engine, KernelObject};
    /// let obj = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let user = obj.object().load(&Engine::interpreter())?;
    /// assert!(user.programs().any(|p| p == "xdp_firewall"));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn object(&self) -> &Object {
        &self.object
    }

    /// The object's name (the file name, or [`OpenOptions::name`]).
    ///
    /// ```
    /// let obj = bpfbox::KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert_eq!(obj.name(), "xdp_firewall.bpf.o");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        self.object.name()
    }

    /// The programs, as [`Object::programs`].
    ///
    /// ```
    /// let obj = bpfbox::KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert_eq!(obj.programs().map(|p| p.name()).collect::<Vec<_>>(), ["xdp_firewall"]);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn programs(&self) -> impl Iterator<Item = Program<'_>> + '_ {
        self.object.programs()
    }

    /// The program called `name`, as [`Object::program`] (its `verify` is bpfbox's
    /// verifier; the kernel's runs at [`KernelObject::load`]).
    ///
    /// ```
    /// let obj = bpfbox::KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert!(obj.program("xdp_firewall")?.verify()?.accepted);
    /// assert!(matches!(obj.program("nope"), Err(bpfbox::Error::UnknownProgram { .. })));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn program(&self, name: &str) -> Result<Program<'_>> {
        self.object.program(name)
    }

    /// The maps the object defines, as (name, key size, value size).
    ///
    /// ```
    /// let obj = bpfbox::KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// assert!(obj.maps().any(|m| m == ("stats", 4, 8)));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn maps(&self) -> impl Iterator<Item = (&str, u32, u32)> + '_ {
        self.object.maps()
    }

    /// Load the object into the kernel, as libbpf does (`bpf_object__load`): create
    /// its maps and load every program through the kernel's verifier. Maps declared
    /// pinned are neither pinned nor reused: the instance starts from its own maps and
    /// leaves nothing under /sys/fs/bpf. A refused program fails the load with
    /// [`Error::Kernel`] holding the verifier's log.
    ///
    /// ```no_run
    /// // Needs root or CAP_BPF.
    /// let obj = bpfbox::KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let inst = obj.load()?;
    /// assert!(inst.program_id("xdp_firewall").is_some());
    /// drop(inst); // the program and its maps leave the kernel
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn load(&self) -> Result<KernelInstance> {
        self.load_with(&KernelLoadOptions::default())
    }

    /// [`KernelObject::load`] with options (which programs).
    ///
    /// ```
    /// use bpfbox::{Error, Input, KernelLoadOptions, KernelObject};
    /// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
    /// let obj = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/verifier/c/pkt_short_check_bad.o"))?;
    /// // The kernel's verifier refuses the program: the error holds its log.
    /// let Err(Error::Kernel(e)) = obj.load() else { panic!("loaded") };
    /// assert!(e.verifier_log().is_some_and(|log| log.contains("invalid access to packet")));
    /// // Without it, the maps load.
    /// let inst = obj.load_with(&KernelLoadOptions { programs: Some(vec![]) })?;
    /// assert!(matches!(inst.test_run("prog", &Input::data(vec![0; 64])), Err(Error::UnusableProgram { .. })));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn load_with(&self, opts: &KernelLoadOptions) -> Result<KernelInstance> {
        KernelObject::available()?;
        let kopts = bk::OpenOptions {
            prog_types: self.prog_types.clone(),
            btf_custom_path: self.btf.clone(),
            only: opts.programs.clone(),
            map_pinning: bk::MapPinning::Private,
        };
        let k = match &self.source {
            Source::File(path) => bk::KernelObject::load(path, &kopts).map_err(kernel_err)?,
            Source::Bytes(bytes) => {
                let tmp = TempObject::write(self.name(), bytes)?;
                bk::KernelObject::load(&tmp.file, &kopts).map_err(|e| kernel_err(renamed(e, &tmp.file, self.name())))?
            }
        };
        let created = k.maps();
        let mut maps = Vec::new();
        for spec in &self.object.loaded().maps {
            // libbpf names global-data maps by their section (`.rodata`), bpfbox after the object.
            let found =
                created.iter().find(|m| m.name == spec.name || spec.global_section.as_deref() == Some(m.name.as_str()));
            let map = match found {
                Some(m) => Some(Arc::new(KernelMap::open(m.id, &spec.name).map_err(kernel_err)?)),
                None => None,
            };
            maps.push(map);
        }
        let progs = k.programs().into_iter().map(|p| (p.name, p.id)).collect();
        Ok(KernelInstance { k, object: self.object.clone(), maps, progs })
    }
}

fn kernel_err(e: bk::KernelError) -> Error {
    Error::Kernel(Box::new(e))
}

/// An error about the temporary file `tmp` names the object instead.
fn renamed(mut e: bk::KernelError, tmp: &Path, name: &str) -> bk::KernelError {
    let fix = |p: &mut PathBuf| {
        if p == tmp {
            *p = PathBuf::from(name);
        }
    };
    match &mut e {
        bk::KernelError::Load(l) => fix(&mut l.path),
        bk::KernelError::Open { path, .. } | bk::KernelError::Io { path, .. } => fix(path),
        _ => {}
    }
    e
}

/// An object's bytes in a file of their own for libbpf, removed on drop.
struct TempObject {
    dir: PathBuf,
    file: PathBuf,
}

impl TempObject {
    fn write(name: &str, bytes: &[u8]) -> Result<TempObject> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("bpfbox-api-{}-{n}", std::process::id()));
        // libbpf names the object (and its global-data maps) after the file.
        let mut base: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
        if !base.ends_with(".o") {
            base.push_str(".o");
        }
        let file = dir.join(base);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir(&dir).map_err(io(&dir))?;
        let tmp = TempObject { dir, file };
        std::fs::write(&tmp.file, bytes).map_err(io(&tmp.file))?;
        Ok(tmp)
    }
}

impl Drop for TempObject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An object loaded into the running kernel: its maps and programs, with the kernel's
/// ids. Dropping it removes everything the load created (programs and maps: nothing
/// is pinned or attached), except maps whose [`Map`]/[`RawMap`] handles are still
/// held, which go with the last handle. `Send + Sync`.
///
/// ```
/// use bpfbox::{Input, KernelInstance, KernelObject};
/// fn shared<T: Send + Sync>(_: &T) {}
/// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
/// let obj = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
/// let inst: KernelInstance = obj.load()?;
/// shared(&inst);
/// // Not IPv4: XDP_PASS, counted in `stats` by the kernel.
/// assert_eq!(inst.test_run("xdp_firewall", &Input::data(vec![0u8; 14]))?.retval, 2);
/// assert_eq!(inst.map::<u32, u64>("stats")?.get(&2)?, Some(1));
/// # Ok::<(), bpfbox::Error>(())
/// ```
pub struct KernelInstance {
    k: bk::KernelObject,
    object: Object,
    /// The kernel's map for each of `object`'s maps (in its order), when libbpf made it.
    maps: Vec<Option<Arc<KernelMap>>>,
    /// Loaded programs and their kernel ids.
    progs: BTreeMap<String, u32>,
}

impl std::fmt::Debug for KernelInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelInstance").field("object", &self.object.name()).field("programs", &self.progs).finish()
    }
}

impl KernelInstance {
    /// Run program `prog` once (or `input.repeat` times) with the kernel's
    /// `BPF_PROG_TEST_RUN`. The [`Output`] is the user-space one, but for what the kernel
    /// does not report: `insns` is 0, `printk` is empty (the lines go to trace_pipe),
    /// and `retval` holds the kernel's 32 bits.
    ///
    /// ```
    /// use bpfbox::{Error, Input, KernelObject};
    /// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
    /// let inst = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load()?;
    /// let out = inst.test_run("xdp_firewall", &Input::data(vec![0u8; 14]))?;
    /// assert_eq!((out.retval, out.data.len(), out.insns), (2, 14, 0));
    /// // XDP needs at least an Ethernet header: the kernel's EINVAL.
    /// assert!(matches!(inst.test_run("xdp_firewall", &Input::default()), Err(Error::Kernel(_))));
    /// assert!(matches!(inst.test_run("nope", &Input::default()), Err(Error::UnknownProgram { .. })));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn test_run(&self, prog: &str, input: &Input) -> Result<Output> {
        self.check_prog(prog)?;
        let i = bk::TestRunInput { data_in: input.data.clone(), ctx_in: input.ctx.clone(), repeat: input.repeat };
        let o = self.k.test_run(prog, &i).map_err(kernel_err)?;
        Ok(Output {
            retval: u64::from(o.retval),
            data: o.data_out,
            ctx: o.ctx_out,
            duration: Duration::from_nanos(o.duration_ns),
            insns: 0,
            printk: Vec::new(),
        })
    }

    fn check_prog(&self, prog: &str) -> Result<()> {
        if self.progs.contains_key(prog) {
            return Ok(());
        }
        Err(match self.object.program(prog) {
            Ok(_) => Error::UnusableProgram {
                name: prog.into(),
                reason: "not loaded into the kernel (KernelLoadOptions::programs)".into(),
            },
            Err(Error::UnknownProgram { .. }) => Error::UnknownProgram {
                name: prog.into(),
                available: self.progs.keys().cloned().collect::<Vec<_>>().join(", "),
            },
            Err(e) => e,
        })
    }

    /// The names of the programs in the kernel, which can run.
    ///
    /// ```
    /// # use bpfbox::KernelObject;
    /// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
    /// let inst = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load()?;
    /// assert_eq!(inst.programs().collect::<Vec<_>>(), ["xdp_firewall"]);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn programs(&self) -> impl Iterator<Item = &str> + '_ {
        self.progs.keys().map(String::as_str)
    }

    /// The kernel's id of a loaded program (as `bpftool prog show` lists it).
    ///
    /// ```
    /// # use bpfbox::KernelObject;
    /// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
    /// let inst = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load()?;
    /// assert!(inst.program_id("xdp_firewall").is_some_and(|id| id > 0));
    /// assert_eq!(inst.program_id("nope"), None);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn program_id(&self, prog: &str) -> Option<u32> {
        self.progs.get(prog).copied()
    }

    /// The kernel's id of one of the object's maps (as `bpftool map show` lists it).
    ///
    /// ```
    /// # use bpfbox::KernelObject;
    /// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
    /// let inst = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load()?;
    /// assert!(inst.map_id("stats").is_some_and(|id| id > 0));
    /// assert_eq!(inst.map_id("nope"), None);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn map_id(&self, name: &str) -> Option<u32> {
        let i = self.object.loaded().maps.iter().position(|m| m.name == name)?;
        self.maps[i].as_ref().map(|m| m.id)
    }

    /// A map by name, untyped: keys and values as bytes, as [`Instance::raw_map`](crate::Instance::raw_map).
    ///
    /// ```
    /// # use bpfbox::KernelObject;
    /// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
    /// let inst = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load()?;
    /// let stats = inst.raw_map("stats")?;
    /// assert_eq!((stats.key_size(), stats.value_size(), stats.map_type()), (4, 8, "array"));
    /// assert_eq!(stats.get(&2u32.to_ne_bytes())?, Some(vec![0; 8]));
    /// assert!(inst.raw_map("nope").is_err());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn raw_map(&self, name: &str) -> Result<RawMap> {
        let specs = &self.object.loaded().maps;
        let found = specs.iter().position(|m| m.name == name).and_then(|i| Some((&specs[i], self.maps[i].clone()?)));
        let Some((spec, map)) = found else {
            return Err(Error::UnknownMap { name: name.into(), available: self.maps().collect::<Vec<_>>().join(", ") });
        };
        Ok(RawMap::kernel(map, spec.key_type_id, spec.value_type_id, self.object.loaded().btf.clone()))
    }

    /// A map by name with typed keys and values, checked as
    /// [`Instance::map`](crate::Instance::map) checks them.
    ///
    /// ```
    /// use bpfbox::{Error, KernelObject};
    /// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
    /// let inst = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load()?;
    /// let blocklist = inst.map::<[u8; 4], u64>("blocklist")?;
    /// blocklist.insert(&[10, 0, 0, 1], &7)?;
    /// assert_eq!(blocklist.iter()?.collect::<Vec<_>>(), [([10, 0, 0, 1], 7)]);
    /// assert!(blocklist.remove(&[10, 0, 0, 1])? && !blocklist.remove(&[10, 0, 0, 1])?);
    /// let err = inst.map::<u64, u64>("stats").unwrap_err();
    /// assert!(matches!(err, Error::SizeMismatch { what: "key", expected: 4, given: 8, .. }));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn map<K: Pod, V: Pod>(&self, name: &str) -> Result<Map<K, V>> {
        Map::new(self.raw_map(name)?)
    }

    /// The names of the object's maps that the kernel created.
    ///
    /// ```
    /// # use bpfbox::KernelObject;
    /// # if KernelObject::available().is_err() { return Ok(()); } // needs root or CAP_BPF
    /// let inst = KernelObject::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?.load()?;
    /// assert!(inst.maps().any(|m| m == "blocklist"));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn maps(&self) -> impl Iterator<Item = &str> + '_ {
        self.object.loaded().maps.iter().zip(&self.maps).filter(|(_, k)| k.is_some()).map(|(m, _)| m.name.as_str())
    }
}

impl Backend for KernelInstance {
    fn test_run(&self, prog: &str, input: &Input) -> Result<Output> {
        KernelInstance::test_run(self, prog, input)
    }
    fn raw_map(&self, name: &str) -> Result<RawMap> {
        KernelInstance::raw_map(self, name)
    }
}

/// A map the kernel created, held open by its own fd: what a [`RawMap`] of a
/// [`KernelInstance`] reads and writes.
#[derive(Debug)]
pub(crate) struct KernelMap {
    handle: bk::MapHandle,
    id: u32,
    /// bpfbox's name for it (the kernel truncates names to 15 bytes).
    name: String,
    nr_cpus: u32,
}

fn errno(e: bk::Errno) -> Errno {
    Errno(e.0)
}

impl KernelMap {
    fn open(id: u32, name: &str) -> std::result::Result<KernelMap, bk::KernelError> {
        let handle = bk::MapHandle::from_id(id)?;
        Ok(KernelMap { handle, id, name: name.into(), nr_cpus: bk::possible_cpus() as u32 })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn shape(&self) -> &bk::MapShape {
        self.handle.shape()
    }

    pub(crate) fn nr_cpus(&self) -> u32 {
        self.nr_cpus
    }

    pub(crate) fn value_buf_size(&self) -> usize {
        self.handle.value_buf_size()
    }

    /// `EINVAL` for a key or value the kernel would not take (the handle asserts sizes).
    fn sizes(&self, key: &[u8], value: Option<&[u8]>) -> std::result::Result<(), Errno> {
        let key_ok = key.len() == self.shape().key_size as usize;
        if key_ok && value.is_none_or(|v| v.len() == self.value_buf_size()) { Ok(()) } else { Err(Errno::EINVAL) }
    }

    pub(crate) fn lookup(&self, key: &[u8]) -> std::result::Result<Vec<u8>, Errno> {
        self.sizes(key, None)?;
        self.handle.lookup(key).map_err(errno)
    }

    pub(crate) fn update(&self, key: &[u8], value: &[u8], flags: u64) -> std::result::Result<(), Errno> {
        self.sizes(key, Some(value))?;
        self.handle.update(key, value, flags).map_err(errno)
    }

    pub(crate) fn delete(&self, key: &[u8]) -> std::result::Result<(), Errno> {
        self.sizes(key, None)?;
        self.handle.delete(key).map_err(errno)
    }

    /// Every (key, value), walking the keys with `BPF_MAP_GET_NEXT_KEY`; empty for maps
    /// whose keys or values user space cannot read (ring buffers, queues, prog arrays...).
    pub(crate) fn entries(&self) -> std::result::Result<Entries, Errno> {
        let unreadable = |e: Errno| matches!(e, Errno::EINVAL | Errno::EOPNOTSUPP | Errno::ENOTSUPP | Errno::EPERM);
        if self.shape().key_size == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut prev: Option<Vec<u8>> = None;
        // A hash map changing under the walk may restart it: stop after twice its size.
        let limit = self.shape().max_entries as usize * 2 + 16;
        while out.len() < limit {
            let key = match self.handle.next_key(prev.as_deref()).map_err(errno) {
                Ok(k) => k,
                Err(Errno::ENOENT) => break,
                Err(e) if out.is_empty() && unreadable(e) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            match self.lookup(&key) {
                Ok(v) => out.push((key.clone(), v)),
                // Deleted since its key was read.
                Err(Errno::ENOENT) => {}
                Err(e) if out.is_empty() && unreadable(e) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            }
            prev = Some(key);
        }
        Ok(out)
    }
}
