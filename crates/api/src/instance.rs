//! Engines, loading an object into one, and test runs.

use crate::helpers::{HostHelpers, Scope};
use crate::maps::{Map, PerfBuffer, Pod, RawMap, RingBuffer};
use crate::{Error, Object, Report, Result};
use bpfbox_object::{InitSlot, LoadedObject, MapSpec};
use bpfbox_vm::{MapId, ProgId, Runtime, RuntimeOptions, TestRunInput};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Where programs run: bpfbox's interpreter or its Cranelift JIT, with an
/// instruction budget per run.
///
/// ```
/// use bpfbox::Engine;
/// let e = Engine::jit().max_insns(10_000).deterministic(true);
/// assert!(e.is_jit());
/// ```
#[derive(Debug, Clone)]
pub struct Engine {
    jit: bool,
    max_insns: u64,
    deterministic: bool,
    nr_cpus: Option<u32>,
    helpers: Arc<HostHelpers>,
}

impl Engine {
    /// The interpreter (the reference engine).
    ///
    /// ```
    /// assert!(!bpfbox::Engine::interpreter().is_jit());
    /// ```
    pub fn interpreter() -> Engine {
        Engine {
            jit: false,
            max_insns: bpfbox_vm::DEFAULT_MAX_INSNS,
            deterministic: false,
            nr_cpus: None,
            helpers: Arc::default(),
        }
    }

    /// The JIT: same results and errors as the interpreter, faster.
    ///
    /// ```
    /// assert!(bpfbox::Engine::jit().is_jit());
    /// ```
    pub fn jit() -> Engine {
        Engine { jit: true, ..Engine::interpreter() }
    }

    /// The instruction budget of one run (tail-called programs included); a run that
    /// exceeds it fails with [`Error::Run`]. Default: 100 million.
    ///
    /// ```
    /// let e = bpfbox::Engine::interpreter().max_insns(1_000);
    /// assert_eq!(e.budget(), 1_000);
    /// ```
    pub fn max_insns(mut self, n: u64) -> Engine {
        self.max_insns = n;
        self
    }

    /// Deterministic runs: a fixed clock (1 s, durations 0), a fixed random seed and
    /// task (pid, comm), for reproducible tests.
    ///
    /// ```
    /// let e = bpfbox::Engine::interpreter().deterministic(true);
    /// # let _ = e;
    /// ```
    pub fn deterministic(mut self, on: bool) -> Engine {
        self.deterministic = on;
        self
    }

    /// The number of CPUs per-CPU maps have (default: the host's possible CPUs).
    ///
    /// ```
    /// let e = bpfbox::Engine::interpreter().nr_cpus(4);
    /// # let _ = e;
    /// ```
    pub fn nr_cpus(mut self, n: u32) -> Engine {
        self.nr_cpus = Some(n.max(1));
        self
    }

    /// The host-defined helpers programs loaded into this engine may call (see
    /// [`HostHelpers`]); they replace any given before.
    ///
    /// ```
    /// use bpfbox::{Arg, Engine, HostHelpers, Ret};
    /// let mut h = HostHelpers::new();
    /// h.register(1000, "twice", Ret::Integer, &[Arg::Scalar], |c| Ok(c.arg(0) * 2))?;
    /// let e = Engine::jit().helpers(h);
    /// assert_eq!(e.host_helpers().names().count(), 1);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn helpers(mut self, helpers: HostHelpers) -> Engine {
        self.helpers = Arc::new(helpers);
        self
    }

    /// The host-defined helpers of this engine.
    ///
    /// ```
    /// assert_eq!(bpfbox::Engine::interpreter().host_helpers().names().count(), 0);
    /// ```
    pub fn host_helpers(&self) -> &HostHelpers {
        &self.helpers
    }

    /// Whether this is the JIT.
    ///
    /// ```
    /// assert!(bpfbox::Engine::jit().is_jit());
    /// ```
    pub fn is_jit(&self) -> bool {
        self.jit
    }

    /// The instruction budget of one run.
    ///
    /// ```
    /// assert_eq!(bpfbox::Engine::jit().budget(), 100_000_000);
    /// ```
    pub fn budget(&self) -> u64 {
        self.max_insns
    }

    fn runtime_options(&self) -> RuntimeOptions {
        let mut o = if self.deterministic {
            RuntimeOptions::deterministic(self.nr_cpus.unwrap_or_else(bpfbox_vm::runtime::host_cpus))
        } else {
            RuntimeOptions::default()
        };
        if let Some(n) = self.nr_cpus {
            o.nr_cpus = n;
        }
        o.max_insns = self.max_insns;
        // Events stay in their buffers for `Instance::ring_buffer` / `perf_buffer`.
        o.consume_events = false;
        if self.jit {
            o.engine = Some(Arc::new(bpfbox_jit::JitEngine));
        }
        o
    }
}

/// How [`Object::load_with`] loads.
///
/// ```
/// let o = bpfbox::LoadOptions::default();
/// assert!(o.verify);
/// ```
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Verify each program first (default). Accepted programs run as the kernel runs
    /// them, without bounds checks but on context accesses; rejected ones are not
    /// loaded. Off: every program is loaded unverified and every access is checked
    /// (`bpfbox run --no-verify`).
    pub verify: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { verify: true }
    }
}

/// What happened to one program at load time.
#[derive(Debug)]
enum Loaded {
    Ok(ProgId),
    Rejected(Box<Report>),
    Failed(bpfbox_vm::RuntimeError),
    Untyped(String),
}

/// An object loaded into an engine: its maps, created and initialised, and its
/// programs, ready to run. `Send + Sync`: runs and map accesses may come from several
/// threads.
///
/// ```
/// use bpfbox::{Engine, Instance, Object};
/// fn shared<T: Send + Sync>(_: &T) {}
/// let obj = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
/// let inst: Instance = obj.load(&Engine::interpreter())?;
/// shared(&inst);
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug)]
pub struct Instance {
    rt: Runtime,
    obj: Arc<LoadedObject>,
    maps: Vec<MapId>,
    progs: BTreeMap<String, Loaded>,
    helpers: Arc<HostHelpers>,
}

/// The runtime's definition of an object's map (for clients that drive `bpfbox-vm`
/// themselves, such as the CLI; [`Object::load`](crate::Object::load) uses it).
///
/// ```
/// let obj = bpfbox::Object::open("../../examples/xdp_firewall.bpf.o").unwrap();
/// let loaded = bpfbox_object::load(&std::fs::read("../../examples/xdp_firewall.bpf.o").unwrap(), &Default::default()).unwrap();
/// let def = bpfbox::map_def(&loaded.maps[0]);
/// assert_eq!(def.name, loaded.maps[0].name);
/// assert!(obj.maps().any(|(name, _, _)| name == def.name));
/// ```
pub fn map_def(m: &MapSpec) -> bpfbox_vm::MapDef {
    bpfbox_vm::MapDef {
        name: m.name.clone(),
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        map_flags: m.map_flags,
        map_extra: m.map_extra,
        inner: m.inner.as_ref().map(|i| Box::new(map_def(i))),
        initial_data: m.initial_data.clone(),
        frozen: m.frozen,
    }
}

pub(crate) fn load(object: &Object, engine: &Engine, opts: &LoadOptions) -> Result<Instance> {
    let obj = object.loaded().clone();
    let rt = Runtime::with_helpers(engine.runtime_options(), engine.helpers.vm_table());
    let host_protos = engine.helpers.prototypes();
    let mut maps = Vec::new();
    for m in &obj.maps {
        maps.push(rt.create_map(&map_def(m)).map_err(|e| Error::Setup(Box::new(e)))?);
    }
    let mut progs = BTreeMap::new();
    for p in object.programs() {
        let spec = p.spec();
        let name = spec.name.clone();
        let Some(pt) = spec.prog_type else {
            progs.insert(name, Loaded::Untyped(spec.section.clone()));
            continue;
        };
        let eat = spec.expected_attach_type.map(|t| t.number());
        let loaded = if opts.verify {
            let (report, raw) = p.verify_raw(&host_protos)?;
            if !report.accepted {
                progs.insert(name, Loaded::Rejected(Box::new(report)));
                continue;
            }
            // SAFETY: bpfbox's verifier has just accepted exactly these instructions,
            // program type, attach type and maps (`verify_raw` builds its input from
            // this object's `spec` and `obj.maps`, created above in the same order),
            // and `converted_accesses` is that verification's list.
            unsafe {
                rt.load_verified_program(&name, pt.number(), eat, spec.insns.clone(), &maps, &raw.converted_accesses)
            }
        } else {
            rt.load_program_with(&name, pt.number(), eat, spec.insns.clone(), &maps)
        };
        progs.insert(name, loaded.map_or_else(Loaded::Failed, Loaded::Ok));
    }
    // Map-in-map and prog-array slots the object initialises.
    for (mi, m) in obj.maps.iter().enumerate() {
        for (slot, init) in &m.init_slots {
            match init {
                InitSlot::Map(inner) => {
                    if let Some(inner) = maps.get(*inner) {
                        rt.set_map_slot(maps[mi], *slot, *inner).map_err(|e| Error::Setup(Box::new(e)))?;
                    }
                }
                InitSlot::Prog(name) => {
                    if let Some(Loaded::Ok(pid)) = progs.get(name) {
                        rt.set_prog_slot(maps[mi], *slot, *pid).map_err(|e| Error::Setup(Box::new(e)))?;
                    }
                }
            }
        }
    }
    Ok(Instance { rt, obj, maps, progs, helpers: engine.helpers.clone() })
}

/// The input of a test run (`BPF_PROG_TEST_RUN`'s `data_in`, `ctx_in`, `repeat`).
///
/// ```
/// let i = bpfbox::Input { data: vec![0; 64], repeat: 10, ..Default::default() };
/// assert_eq!(i.ctx, None);
/// assert_eq!(bpfbox::Input::data(vec![1, 2]).data, [1, 2]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// The packet (network programs).
    pub data: Vec<u8>,
    /// The context (`__sk_buff`, `xdp_md`, a tracepoint's record...), when the program type takes one.
    pub ctx: Option<Vec<u8>>,
    /// Runs on the same input; 0 means 1. The output is the last run's.
    pub repeat: u32,
}

impl Input {
    /// An input with just a packet.
    ///
    /// ```
    /// assert_eq!(bpfbox::Input::data(vec![0; 14]).repeat, 0);
    /// ```
    pub fn data(data: impl Into<Vec<u8>>) -> Input {
        Input { data: data.into(), ..Input::default() }
    }

    /// An input with just a context.
    ///
    /// ```
    /// assert_eq!(bpfbox::Input::ctx(vec![0; 64]).ctx.map(|c| c.len()), Some(64));
    /// ```
    pub fn ctx(ctx: impl Into<Vec<u8>>) -> Input {
        Input { ctx: Some(ctx.into()), ..Input::default() }
    }
}

/// The result of a test run.
///
/// ```
/// use bpfbox::{Engine, Input, Object};
/// let obj = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
/// let inst = obj.load(&Engine::interpreter())?;
/// let out = inst.test_run("xdp_firewall", &Input::data(vec![0u8; 14]))?;
/// assert_eq!(out.retval, 2); // XDP_PASS: not IPv4
/// assert_eq!(out.data.len(), 14);
/// assert!(out.insns > 0);
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Output {
    /// R0 at exit.
    pub retval: u64,
    /// The packet after the run.
    pub data: Vec<u8>,
    /// The context after the run, for program types the kernel copies it out for.
    pub ctx: Option<Vec<u8>>,
    /// Mean duration of one run (zero on a deterministic engine).
    pub duration: Duration,
    /// Instructions executed by the last run.
    pub insns: u64,
    /// `bpf_printk` lines, as trace_pipe shows them.
    pub printk: Vec<String>,
}

impl Instance {
    /// Run program `prog` once (or `input.repeat` times) as `BPF_PROG_TEST_RUN` would.
    ///
    /// ```
    /// use bpfbox::{Engine, Error, Input, Object};
    /// let obj = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let inst = obj.load(&Engine::interpreter())?;
    /// // XDP needs at least an Ethernet header: the kernel's EINVAL, as an error.
    /// assert!(matches!(inst.test_run("xdp_firewall", &Input::default()), Err(Error::Run(_))));
    /// assert!(matches!(inst.test_run("nope", &Input::default()), Err(Error::UnknownProgram { .. })));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn test_run(&self, prog: &str, input: &Input) -> Result<Output> {
        let id = self.prog_id(prog)?;
        let i = TestRunInput { data_in: input.data.clone(), ctx_in: input.ctx.clone(), repeat: input.repeat, cpu: 0 };
        let _scope = (!self.helpers.is_empty()).then(|| Scope::enter(&self.helpers));
        let o = self.rt.test_run(id, &i).map_err(|e| Error::Run(Box::new(e)))?;
        Ok(Output {
            retval: o.retval,
            data: o.data_out,
            ctx: o.ctx_out,
            duration: Duration::from_nanos(o.duration_ns),
            insns: o.insns_executed,
            printk: o.printk,
        })
    }

    /// The names of the programs that loaded and can run.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.programs().collect::<Vec<_>>(), ["xdp_firewall"]);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn programs(&self) -> impl Iterator<Item = &str> + '_ {
        self.progs.iter().filter(|(_, l)| matches!(l, Loaded::Ok(_))).map(|(n, _)| n.as_str())
    }

    /// The verifier's report on a program it rejected at load time, if it did.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/verifier/c/pkt_short_check_bad.o"))?;
    /// let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert!(inst.rejection("prog").is_some_and(|r| !r.accepted));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn rejection(&self, prog: &str) -> Option<&Report> {
        match self.progs.get(prog) {
            Some(Loaded::Rejected(r)) => Some(r),
            _ => None,
        }
    }

    fn prog_id(&self, prog: &str) -> Result<ProgId> {
        match self.progs.get(prog) {
            Some(Loaded::Ok(id)) => Ok(*id),
            Some(Loaded::Rejected(r)) => Err(Error::Rejected { name: prog.into(), report: r.clone() }),
            Some(Loaded::Failed(e)) => Err(Error::Load { name: prog.into(), source: Box::new(e.clone()) }),
            Some(Loaded::Untyped(section)) => {
                Err(Error::UntypedProgram { name: prog.into(), section: section.clone() })
            }
            None => Err(match self.obj.unusable.iter().find(|u| u.name == prog) {
                Some(u) => Error::UnusableProgram { name: prog.into(), reason: u.error.to_string() },
                None => Error::UnknownProgram {
                    name: prog.into(),
                    available: self.progs.keys().cloned().collect::<Vec<_>>().join(", "),
                },
            }),
        }
    }

    /// A map by name, untyped: keys and values as bytes.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// let stats = inst.raw_map("stats")?;
    /// assert_eq!((stats.key_size(), stats.value_size()), (4, 8));
    /// assert_eq!(stats.get(&2u32.to_le_bytes())?, Some(vec![0; 8]));
    /// assert!(inst.raw_map("nope").is_err());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn raw_map(&self, name: &str) -> Result<RawMap> {
        let Some(i) = self.obj.maps.iter().position(|m| m.name == name) else {
            return Err(Error::UnknownMap { name: name.into(), available: self.map_names() });
        };
        let spec = &self.obj.maps[i];
        Ok(RawMap::new(self.rt.map(self.maps[i]), spec.key_type_id, spec.value_type_id, self.obj.btf.clone()))
    }

    /// A map by name with typed keys and values, checked against the map's key and
    /// value sizes (and the sizes of its BTF types, when the object has BTF).
    ///
    /// ```
    /// use bpfbox::Error;
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// let stats = inst.map::<u32, u64>("stats")?;
    /// assert_eq!(stats.get(&1)?, Some(0));
    /// let err = inst.map::<u64, u64>("stats").unwrap_err();
    /// assert!(matches!(err, Error::SizeMismatch { what: "key", expected: 4, given: 8, .. }));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn map<K: Pod, V: Pod>(&self, name: &str) -> Result<Map<K, V>> {
        Map::new(self.raw_map(name)?)
    }

    /// A reader of the records a `BPF_MAP_TYPE_RINGBUF` map received.
    ///
    /// ```
    /// use bpfbox::{Engine, Input, Object};
    /// let obj = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ringbuf_events.bpf.o"))?;
    /// let inst = obj.load(&Engine::interpreter())?;
    /// let mut ctx = vec![0u8; 64];
    /// ctx[8..16].copy_from_slice(&257u64.to_le_bytes()); // the openat syscall
    /// inst.test_run("emit_openat", &Input::ctx(ctx))?;
    /// let events = inst.ring_buffer("events")?.drain();
    /// assert_eq!(events.len(), 1);
    /// assert_eq!(events[0].len(), 40);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn ring_buffer(&self, name: &str) -> Result<RingBuffer> {
        RingBuffer::new(self.raw_map(name)?)
    }

    /// A reader of the records a `BPF_MAP_TYPE_PERF_EVENT_ARRAY` map received.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert!(inst.perf_buffer("stats").is_err()); // an array, not a perf buffer
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn perf_buffer(&self, name: &str) -> Result<PerfBuffer> {
        PerfBuffer::new(self.raw_map(name)?)
    }

    /// The names of the object's maps.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert!(inst.maps().any(|m| m == "blocklist"));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn maps(&self) -> impl Iterator<Item = &str> + '_ {
        self.obj.maps.iter().map(|m| m.name.as_str())
    }

    fn map_names(&self) -> String {
        self.maps().collect::<Vec<_>>().join(", ")
    }
}
