//! The user-space runtime: maps, loaded programs, and `BPF_PROG_TEST_RUN`.
//!
//! A [`Runtime`] owns maps ([`Runtime::create_map`]) and programs
//! ([`Runtime::load_program`]); [`Runtime::test_run`] runs a program on a packet or
//! a context the way the kernel's `BPF_PROG_TEST_RUN` does (context layouts and
//! rules in `ctx.rs`), with the kernel helpers of `kernel_helpers.rs`.
//!
//! Map references: `lddw` of a map (src=1/5) loads an opaque handle,
//! [`MAP_HANDLE_TAG`]` | id` (bit 63 set: never a user-space address, so any access
//! through it faults); helpers take it back. `lddw` of a map value (src=2/6, global
//! data) loads the real address of the array's value, which is a region of every run.
//! A map fd in `lddw` (src=1/2) is taken as an index into the program's map list,
//! like src=5/6.
//!
//! A `Runtime` is `Send + Sync`: any number of threads may run programs and use
//! maps at once.

use crate::ctx::{self, Ctx};
use crate::kernel_helpers;
use crate::maps::{CreateError, Entry, Errno, Map, MapId, MapInfo, ProgId};
use crate::memory::{Region, RegionKind};
use crate::{HelperTable, Program, RunEnv, RunOutcome, VirtualAccess, Vm, VmError, VmOptions, DEFAULT_MAX_INSNS};
use bpfbox_isa::{CallTarget, Imm64, Insn};
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Tag of map handles loaded by `lddw` (`| map id`). Like [`crate::FUNC_ADDR_TAG`],
/// a non-canonical address on x86-64 and AArch64.
pub const MAP_HANDLE_TAG: u64 = 0xbe00_0000_0000_0000;
const HANDLE_MASK: u64 = 0xffff_ffff_0000_0000;

/// The helper id of libbpf's poisoned calls (failed CO-RE relocations).
const POISONED_CALL: i32 = 0xbad2310;

/// The kernel's limit of tail calls in one run (`MAX_TAIL_CALL_CNT`).
pub const MAX_TAIL_CALL_CNT: u32 = 33;

/// A kernel program type number (`enum bpf_prog_type`).
pub type ProgTypeNum = u32;

/// Where `ktime_get_ns` and friends read the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The host's clocks (`CLOCK_MONOTONIC`, `CLOCK_BOOTTIME`, ...).
    Real,
    /// Every clock reads this many nanoseconds and `duration_ns` is 0: runs are
    /// deterministic.
    Fixed(u64),
}

/// The task helpers such as `get_current_pid_tgid` report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTask {
    /// Thread id (`pid` in kernel terms).
    pub pid: u32,
    /// Process id (`tgid`).
    pub tgid: u32,
    pub uid: u32,
    pub gid: u32,
    /// At most 15 bytes are used (`TASK_COMM_LEN` 16 with the NUL).
    pub comm: String,
    pub cgroup_id: u64,
    /// What `get_current_task` returns: an address programs cannot read.
    pub task_addr: u64,
}

impl FakeTask {
    /// The calling thread as the kernel would see it (what the kernel's test_run
    /// reports for tracing programs run from this process).
    pub fn current() -> FakeTask {
        // SAFETY: plain system calls without pointer arguments.
        let (pid, uid, gid) = unsafe { (libc::gettid() as u32, libc::getuid(), libc::getgid()) };
        let comm = std::fs::read_to_string("/proc/thread-self/comm")
            .map(|s| s.trim_end().to_string())
            .unwrap_or_else(|_| "bpfbox".into());
        FakeTask { pid, tgid: std::process::id(), uid, gid, comm, cgroup_id: 1, task_addr: 0xffff_8880_0bad_c000 }
    }

    /// A fixed task for deterministic tests: pid/tgid 4242, uid/gid 1000, comm "bpfbox".
    pub fn fixed() -> FakeTask {
        FakeTask {
            pid: 4242,
            tgid: 4242,
            uid: 1000,
            gid: 1000,
            comm: "bpfbox".into(),
            cgroup_id: 1,
            task_addr: 0xffff_8880_0bad_c000,
        }
    }
}

/// An execution engine other than the interpreter (a JIT) for the programs a
/// [`Runtime`] loads: see [`RuntimeOptions::engine`]. Runtime programs are not
/// verified, so an engine must check every memory access as the interpreter does.
pub trait Engine: Send + Sync + fmt::Debug {
    /// Compile `program` (already validated, its pseudo `lddw`s resolved by
    /// `opts.resolver`), to run with `opts.helpers` and budget `opts.max_insns`.
    fn compile(&self, program: &Program, opts: &VmOptions) -> Result<Box<dyn CompiledProgram>, String>;

    /// Compile a program a sound verifier accepted to run without bounds checks,
    /// except for the `converted` loads and stores (through ctx or kernel-object
    /// pointers), which must still be translated and reach
    /// [`RunEnv::virtual_access`] as in checked mode. `None` (the default): this
    /// engine has no unchecked mode, and the runtime uses [`Engine::compile`].
    ///
    /// # Safety
    /// The caller promises the verification: runs of the result are not checked.
    unsafe fn compile_verified(
        &self,
        program: &Program,
        opts: &VmOptions,
        converted: &[usize],
    ) -> Option<Result<Box<dyn CompiledProgram>, String>> {
        let _ = (program, opts, converted);
        None
    }
}

/// A program an [`Engine`] compiled.
pub trait CompiledProgram: Send + Sync {
    /// Run as [`Vm::run_env`] does, with the same results and errors.
    fn run_env(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
    ) -> Result<RunOutcome, VmError>;

    /// `n` runs as `n` calls of [`CompiledProgram::run_env`] would make them (each
    /// with its own budget), for a program that calls no helper: set up once. The
    /// last run's outcome, or the first error. `None` (the default): not supported.
    fn run_repeat(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
        n: u32,
    ) -> Option<Result<RunOutcome, VmError>> {
        let _ = (args, regions, env, max_insns, n);
        None
    }
}

/// How a [`Runtime`] behaves.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// CPUs of per-CPU maps and `test_run`'s `cpu` range. Default: the host's
    /// possible CPUs (as libbpf counts them for per-CPU values).
    pub nr_cpus: u32,
    /// Instruction budget of one run (tail-called programs included). Verified
    /// programs on the JIT are held to it (and report `insns_executed`) only when
    /// it differs from [`DEFAULT_MAX_INSNS`]: like the kernel, the default runs them
    /// uncounted.
    pub max_insns: u64,
    pub clock: Clock,
    /// Seed of `get_prandom_u32`.
    pub prandom_seed: u64,
    pub task: FakeTask,
    /// After each run, consume what the run put in ring buffers and perf buffers
    /// (it is in [`TestRunOutput::events`]), as a user-space reader polling after
    /// every run would. Off: records stay for [`Map::ringbuf_consume`] /
    /// [`Map::perf_consume`] and ring buffers fill up like unread kernel ones.
    pub consume_events: bool,
    /// What `get_attach_cookie` returns.
    pub attach_cookie: u64,
    /// What `get_func_ip` returns for program types other than kprobe (kprobe:
    /// the context's `ip`).
    pub func_ip: u64,
    /// Memory that `probe_read*` can read besides the run's regions, as
    /// (address, bytes): fake kernel or user memory for tracing programs.
    pub probe_memory: Vec<(u64, Vec<u8>)>,
    /// Engine that runs loaded programs; `None` (the default): the interpreter.
    pub engine: Option<Arc<dyn Engine>>,
    /// The host the programs run on (`bpf_fib_lookup`, tunnel keys): lo + eth0 by default.
    pub world: Arc<crate::World>,
}

/// The host's possible CPUs (`/sys/devices/system/cpu/possible`), else the available parallelism.
pub fn host_cpus() -> u32 {
    fn parse(s: &str) -> Option<u32> {
        let mut max = 0;
        for part in s.trim().split(',') {
            let hi = part.rsplit('-').next()?;
            max = max.max(hi.trim().parse::<u32>().ok()? + 1);
        }
        Some(max)
    }
    std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .and_then(|s| parse(&s))
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get() as u32))
        .unwrap_or(1)
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            nr_cpus: host_cpus(),
            max_insns: DEFAULT_MAX_INSNS,
            clock: Clock::Real,
            prandom_seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x5eed),
            task: FakeTask::current(),
            consume_events: true,
            attach_cookie: 0,
            func_ip: 0,
            probe_memory: Vec::new(),
            engine: None,
            world: Arc::default(),
        }
    }
}

impl RuntimeOptions {
    /// Deterministic options for tests: fixed clock (1 s), seed 1, [`FakeTask::fixed`], `nr_cpus` CPUs.
    pub fn deterministic(nr_cpus: u32) -> RuntimeOptions {
        RuntimeOptions {
            nr_cpus,
            clock: Clock::Fixed(1_000_000_000),
            prandom_seed: 1,
            task: FakeTask::fixed(),
            ..RuntimeOptions::default()
        }
    }
}

/// A map to create, as an ELF object declares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MapDef {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub map_extra: u64,
    /// The inner-map template of a map-in-map.
    pub inner: Option<Box<MapDef>>,
    /// Global data: the value of key 0 of an array (`.data`, `.rodata`).
    pub initial_data: Option<Vec<u8>>,
    /// Freeze after initialization (`.rodata`, `.kconfig`): no more user-space writes.
    pub frozen: bool,
}

impl MapDef {
    fn info(&self) -> MapInfo {
        MapInfo {
            name: self.name.clone(),
            map_type: self.map_type,
            key_size: self.key_size,
            value_size: self.value_size,
            max_entries: self.max_entries,
            map_flags: self.map_flags,
            map_extra: self.map_extra,
        }
    }
}

/// Input of [`Runtime::test_run`] (`BPF_PROG_TEST_RUN`'s attributes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestRunInput {
    pub data_in: Vec<u8>,
    pub ctx_in: Option<Vec<u8>>,
    /// Runs on the same context; 0 means 1.
    pub repeat: u32,
    /// The CPU the program runs on (per-CPU maps, `get_smp_processor_id`).
    pub cpu: u32,
}

/// A ring buffer or perf buffer record a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The map's name.
    pub map: String,
    /// Perf buffer index (CPU); `None` for ring buffers.
    pub cpu: Option<u32>,
    pub data: Vec<u8>,
}

/// Where `redirect` / `redirect_map` sent the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub ifindex: u32,
    pub flags: u64,
    /// The map of a `redirect_map`, and the key.
    pub map: Option<String>,
    pub key: Option<u32>,
}

/// Output of [`Runtime::test_run`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestRunOutput {
    pub retval: u64,
    /// The packet after the run (XDP: from `data_meta`; socket filter and
    /// cgroup_skb: with the 14 zeroed Ethernet bytes the kernel pushes back).
    pub data_out: Vec<u8>,
    /// The context after the run, for types the kernel copies one out for.
    pub ctx_out: Option<Vec<u8>>,
    /// Mean duration of one run (0 with [`Clock::Fixed`]).
    pub duration_ns: u64,
    /// `trace_printk` / `trace_vprintk` lines, as trace_pipe would show the messages.
    pub printk: Vec<String>,
    /// Ring buffer and perf buffer records, in submission order.
    pub events: Vec<Event>,
    /// Instructions executed in the (last) run, tail-called programs included.
    pub insns_executed: u64,
    /// The redirect target of the last run, if it redirected.
    pub redirect: Option<Redirect>,
}

/// Errors of the runtime. Kernel-like refusals carry the kernel's error number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error("map `{name}`: {error}")]
    MapCreate { name: String, error: CreateError },
    #[error("no map {0} in this runtime")]
    UnknownMap(MapId),
    #[error("no program {0} in this runtime")]
    UnknownProg(ProgId),
    #[error("{what}: {errno}")]
    Map { what: String, errno: Errno },
    #[error("program `{prog}`: {error}")]
    Program { prog: String, error: VmError },
    #[error("program `{prog}`: compilation failed: {reason}")]
    Compile { prog: String, reason: String },
    #[error(
        "program `{prog}`, pc {pc}: calls helper bpf_{name} (#{id}), which bpfbox does not implement: {}",
        crate::kernel_helpers::missing_reason(.name)
    )]
    MissingHelper { prog: String, pc: usize, id: u32, name: &'static str },
    #[error("program `{prog}`, pc {pc}: calls unknown helper #{id}")]
    UnknownHelper { prog: String, pc: usize, id: i64 },
    #[error("program `{prog}`, pc {pc}: helper bpf_{name} is not available to {prog_type} programs")]
    HelperNotAllowed { prog: String, pc: usize, name: &'static str, prog_type: String },
    #[error("program `{prog}`, pc {pc}: calls kernel function (kfunc) with BTF id {btf_id}, which bpfbox cannot run")]
    Kfunc { prog: String, pc: usize, btf_id: i32 },
    #[error("program `{prog}`, pc {pc}: lddw references map #{index}, but the program has {count} maps")]
    BadMapIndex { prog: String, pc: usize, index: i64, count: usize },
    #[error("program `{prog}`, pc {pc}: direct value access at offset {off} of map `{map}`: {errno}")]
    BadDirectValue { prog: String, pc: usize, map: String, off: u32, errno: Errno },
    #[error("test run of `{prog}`: {errno}: {reason}")]
    BadInput { prog: String, errno: Errno, reason: String },
    #[error("program `{prog}` faulted: {error}")]
    Fault { prog: String, error: VmError },
}

/// An append-only table with lock-free reads (up to 65536 entries).
type Chunk<T> = Box<[OnceLock<T>]>;

struct Table<T> {
    chunks: Box<[OnceLock<Chunk<T>>]>,
    len: Mutex<u32>,
}

const CHUNK: usize = 256;

impl<T> Table<T> {
    fn new() -> Table<T> {
        Table { chunks: (0..CHUNK).map(|_| OnceLock::new()).collect(), len: Mutex::new(0) }
    }

    fn get(&self, i: u32) -> Option<&T> {
        let (c, j) = (i as usize / CHUNK, i as usize % CHUNK);
        self.chunks.get(c)?.get()?[j].get()
    }

    /// Append the value `make(index)` builds; `None` when full.
    fn push<E>(&self, make: impl FnOnce(u32) -> Result<T, E>) -> Option<Result<u32, E>> {
        let mut len = self.len.lock().unwrap_or_else(|e| e.into_inner());
        let i = *len;
        let (c, j) = (i as usize / CHUNK, i as usize % CHUNK);
        let chunk = self.chunks.get(c)?.get_or_init(|| (0..CHUNK).map(|_| OnceLock::new()).collect());
        match make(i) {
            Ok(v) => {
                let _ = chunk[j].set(v);
                *len += 1;
                Some(Ok(i))
            }
            Err(e) => Some(Err(e)),
        }
    }

    fn len(&self) -> u32 {
        *self.len.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A loaded program.
pub(crate) struct Prog {
    /// Kernel `enum bpf_attach_type` number the program was loaded for.
    pub expected_attach_type: Option<u32>,
    pub id: ProgId,
    pub name: String,
    pub prog_type: u32,
    pub vm: Vm,
    /// Loaded with [`Runtime::load_verified_program`]: `vm` (or `compiled`, when it
    /// came from [`Engine::compile_verified`]) runs unchecked but for converted accesses.
    pub verified: bool,
    /// The program as [`RuntimeOptions::engine`] compiled it (runs use it instead of `vm`).
    pub compiled: Option<Box<dyn CompiledProgram>>,
    /// Map values the program addresses directly (global data): (map, address, length).
    pub direct: Vec<(Arc<Map>, u64, usize)>,
    /// The program calls no helper or kfunc: a run changes nothing a later run or
    /// the run state sees but memory, so repeated runs need no work between them.
    pub calls_nothing: bool,
}

impl fmt::Debug for Prog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prog").field("id", &self.id).field("name", &self.name).finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    pub opts: RuntimeOptions,
    maps: Table<Arc<Map>>,
    progs: Table<Arc<Prog>>,
    helpers: HelperTable,
    pub prandom: AtomicU64,
    pub start: Instant,
}

impl Shared {
    pub fn map(&self, id: u32) -> Option<&Arc<Map>> {
        self.maps.get(id)
    }

    pub fn prog(&self, id: ProgId) -> Option<&Arc<Prog>> {
        self.progs.get(id.0)
    }

    /// The map a handle names.
    pub fn map_of_handle(&self, h: u64) -> Option<&Arc<Map>> {
        if h & HANDLE_MASK != MAP_HANDLE_TAG {
            return None;
        }
        self.map((h & !HANDLE_MASK) as u32)
    }

    /// Nanoseconds of `clock_id` (`CLOCK_MONOTONIC`, ...) or the fixed time.
    pub fn now(&self, clock_id: libc::clockid_t) -> u64 {
        match self.opts.clock {
            Clock::Fixed(t) => t,
            Clock::Real => {
                let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                // SAFETY: `ts` is a valid timespec to fill.
                if unsafe { libc::clock_gettime(clock_id, &mut ts) } != 0 {
                    return self.start.elapsed().as_nanos() as u64;
                }
                ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
            }
        }
    }
}

/// The handle `lddw` loads for map `id`.
pub fn map_handle(id: MapId) -> u64 {
    MAP_HANDLE_TAG | id.0 as u64
}

/// Owns maps and programs and runs programs. See the module documentation.
pub struct Runtime {
    shared: Arc<Shared>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("maps", &self.shared.maps.len())
            .field("programs", &self.shared.progs.len())
            .finish_non_exhaustive()
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new(RuntimeOptions::default())
    }
}

impl Runtime {
    pub fn new(opts: RuntimeOptions) -> Runtime {
        Runtime::with_helpers(opts, HelperTable::empty())
    }

    /// A runtime whose programs may also call `extra`: host-defined helpers (an
    /// embedder's own ids and implementations), added to the kernel helpers and
    /// replacing any with the same id.
    pub fn with_helpers(opts: RuntimeOptions, extra: HelperTable) -> Runtime {
        let mut helpers = kernel_helpers::table();
        for e in extra.iter() {
            helpers.register(e.proto, e.func);
        }
        let mut opts = opts;
        opts.nr_cpus = opts.nr_cpus.max(1);
        let seed = opts.prandom_seed;
        Runtime {
            shared: Arc::new(Shared {
                opts,
                maps: Table::new(),
                progs: Table::new(),
                helpers,
                prandom: AtomicU64::new(seed),
                start: Instant::now(),
            }),
        }
    }

    pub fn options(&self) -> &RuntimeOptions {
        &self.shared.opts
    }

    /// The helpers programs may call.
    pub fn helpers(&self) -> &HelperTable {
        &self.shared.helpers
    }

    /// Create a map, checked as `BPF_MAP_CREATE` checks it, then fill global data
    /// and freeze it if the definition says so.
    pub fn create_map(&self, def: &MapDef) -> Result<MapId, RuntimeError> {
        self.create_map_with(def, None)
    }

    /// [`Runtime::create_map`] for a value holding a `struct bpf_spin_lock` at
    /// `spin_lock_off` (from BTF): what `BPF_F_LOCK` needs.
    pub fn create_map_with(&self, def: &MapDef, spin_lock_off: Option<u32>) -> Result<MapId, RuntimeError> {
        let name = def.name.clone();
        let inner = match &def.inner {
            Some(t) => {
                // The template must itself be a valid map (the kernel has a real inner map fd).
                Map::new(MapId(u32::MAX), t.info(), self.shared.opts.nr_cpus, None, None)
                    .map_err(|error| RuntimeError::MapCreate { name: format!("{name}.inner"), error })?;
                Some(t.info())
            }
            None => None,
        };
        let nr = self.shared.opts.nr_cpus;
        let r = self.shared.maps.push(|i| {
            let m = Map::new(MapId(i), def.info(), nr, inner.as_ref(), spin_lock_off)
                .map_err(|error| RuntimeError::MapCreate { name: name.clone(), error })?;
            if let Some(d) = &def.initial_data {
                m.init_data(d).map_err(|errno| RuntimeError::Map {
                    what: format!("map `{name}`: initial data of {} bytes", d.len()),
                    errno,
                })?;
            }
            if def.frozen {
                m.freeze();
            }
            Ok(Arc::new(m))
        });
        match r {
            Some(Ok(i)) => Ok(MapId(i)),
            Some(Err(e)) => Err(e),
            None => Err(RuntimeError::MapCreate {
                name,
                error: CreateError { errno: Errno::ENOSPC, reason: "too many maps" },
            }),
        }
    }

    /// The map `id`.
    ///
    /// # Panics
    /// If `id` did not come from this runtime's [`Runtime::create_map`].
    pub fn map(&self, id: MapId) -> Arc<Map> {
        match self.try_map(id) {
            Some(m) => m,
            None => panic!("{id} does not belong to this runtime"),
        }
    }

    pub fn try_map(&self, id: MapId) -> Option<Arc<Map>> {
        self.shared.map(id.0).cloned()
    }

    /// Every map, in creation order.
    pub fn maps(&self) -> Vec<Arc<Map>> {
        (0..self.shared.maps.len()).filter_map(|i| self.shared.map(i).cloned()).collect()
    }

    /// Put map `inner` at `index` of the array-of-maps `outer` (for a hash-of-maps,
    /// under the key `index` as 4 little-endian bytes).
    pub fn set_map_slot(&self, outer: MapId, index: u32, inner: MapId) -> Result<(), RuntimeError> {
        self.set_map_entry(outer, &index.to_le_bytes(), inner)
    }

    /// Put map `inner` under `key` of the map-in-map `outer` (`BPF_ANY`).
    pub fn set_map_entry(&self, outer: MapId, key: &[u8], inner: MapId) -> Result<(), RuntimeError> {
        let o = self.try_map(outer).ok_or(RuntimeError::UnknownMap(outer))?;
        let i = self.try_map(inner).ok_or(RuntimeError::UnknownMap(inner))?;
        o.set_inner(key, i, crate::maps::BPF_ANY).map_err(|errno| RuntimeError::Map {
            what: format!("map `{}`: setting inner map `{}`", o.name(), self.map(inner).name()),
            errno,
        })
    }

    /// Put program `prog` at `index` of the prog_array `prog_array`.
    pub fn set_prog_slot(&self, prog_array: MapId, index: u32, prog: ProgId) -> Result<(), RuntimeError> {
        let m = self.try_map(prog_array).ok_or(RuntimeError::UnknownMap(prog_array))?;
        let p = self.shared.prog(prog).ok_or(RuntimeError::UnknownProg(prog))?;
        m.set_prog(index, prog, p.prog_type).map_err(|errno| RuntimeError::Map {
            what: format!("map `{}`: setting slot {index} to program `{}`", m.name(), p.name),
            errno,
        })
    }

    /// The name of a loaded program.
    pub fn prog_name(&self, prog: ProgId) -> Option<&str> {
        self.shared.prog(prog).map(|p| p.name.as_str())
    }

    /// Load a program of kernel type `prog_type`. `maps` is the program's map list:
    /// `lddw` src=5/6 (and src=1/2) index it. Refuses, naming the instruction,
    /// calls of helpers bpfbox lacks or that the program type may not call, kfunc
    /// calls, and map references out of range.
    pub fn load_program(
        &self,
        name: &str,
        prog_type: ProgTypeNum,
        insns: Vec<Insn>,
        maps: &[MapId],
    ) -> Result<ProgId, RuntimeError> {
        self.load_program_with(name, prog_type, None, insns, maps)
    }

    /// [`Runtime::load_program`] with the program's expected attach type (kernel
    /// `enum bpf_attach_type` number), which changes what a test run accepts (the
    /// kernel refuses to test-run XDP programs for devmap/cpumap entries).
    pub fn load_program_with(
        &self,
        name: &str,
        prog_type: ProgTypeNum,
        expected_attach_type: Option<u32>,
        insns: Vec<Insn>,
        maps: &[MapId],
    ) -> Result<ProgId, RuntimeError> {
        // SAFETY: no verification is claimed (`None`): runs stay checked.
        unsafe { self.load(name, prog_type, expected_attach_type, insns, maps, None) }
    }

    /// [`Runtime::load_program_with`] for a program that bpfbox's verifier accepted
    /// for this program type and these maps: its runs skip bounds checks on every
    /// load and store but the `converted` ones (the verifier's
    /// `Report::converted_accesses`: through ctx or kernel-object pointers), as the
    /// kernel runs verified programs. On the engine when it has an unchecked mode
    /// ([`Engine::compile_verified`]), else on the interpreter. A program with an
    /// atomic among `converted` is loaded checked.
    ///
    /// # Safety
    /// The program must have been accepted by a sound verifier with exactly these
    /// instructions, program type, expected attach type and map definitions, and
    /// `converted` must be that verification's list: otherwise its accesses can
    /// reach any memory of the process.
    pub unsafe fn load_verified_program(
        &self,
        name: &str,
        prog_type: ProgTypeNum,
        expected_attach_type: Option<u32>,
        insns: Vec<Insn>,
        maps: &[MapId],
        converted: &[usize],
    ) -> Result<ProgId, RuntimeError> {
        // SAFETY: forwarded to the caller.
        unsafe { self.load(name, prog_type, expected_attach_type, insns, maps, Some(converted)) }
    }

    /// # Safety
    /// With `verified` given: the contract of [`Runtime::load_verified_program`].
    unsafe fn load(
        &self,
        name: &str,
        prog_type: ProgTypeNum,
        expected_attach_type: Option<u32>,
        insns: Vec<Insn>,
        maps: &[MapId],
        verified: Option<&[usize]>,
    ) -> Result<ProgId, RuntimeError> {
        let prog = || name.to_string();
        let maps: Vec<Arc<Map>> =
            maps.iter().map(|id| self.try_map(*id).ok_or(RuntimeError::UnknownMap(*id))).collect::<Result<_, _>>()?;
        let insns = kernel_helpers::kfuncs_as_helpers(insns);
        let program = Program::new(insns).map_err(|error| RuntimeError::Program { prog: prog(), error })?;
        let mut resolved: HashMap<usize, u64> = HashMap::new();
        let mut direct: Vec<(Arc<Map>, u64, usize)> = Vec::new();
        let mut inline_arrays: Vec<crate::InlineArray> = Vec::new();
        let mut direct_hashes: Vec<crate::DirectHash> = Vec::new();
        for (pc, insn) in program.insns().iter().enumerate() {
            match *insn {
                // What libbpf leaves for a failed CO-RE relocation (`call 0xbad2310`) and
                // an unresolved weak kfunc (id 0) are refused by the kernel only when
                // reachable; here they fail when executed.
                Insn::Call(CallTarget::Helper(POISONED_CALL)) | Insn::Call(CallTarget::Kfunc { btf_id: 0, .. }) => {}
                Insn::Call(CallTarget::Helper(id)) => {
                    let Some(e) = u32::try_from(id).ok().and_then(|i| self.shared.helpers.get(i)) else {
                        return Err(match u32::try_from(id).ok().and_then(bpfbox_abi::helper_by_id) {
                            Some(p) => RuntimeError::MissingHelper { prog: prog(), pc, id: p.id, name: p.name },
                            None => RuntimeError::UnknownHelper { prog: prog(), pc, id: id as i64 },
                        });
                    };
                    if !ctx::helper_allowed(prog_type, e.proto.name) {
                        return Err(RuntimeError::HelperNotAllowed {
                            prog: prog(),
                            pc,
                            name: e.proto.name,
                            prog_type: ctx::prog_type_name(prog_type),
                        });
                    }
                }
                Insn::Call(CallTarget::Kfunc { btf_id, .. }) => {
                    return Err(RuntimeError::Kfunc { prog: prog(), pc, btf_id });
                }
                Insn::LoadImm64 { imm, .. } => {
                    let (index, off) = match imm {
                        Imm64::MapFd(i) | Imm64::MapIdx(i) => (i as i64, None),
                        Imm64::MapValue { fd, off } => (fd as i64, Some(off)),
                        Imm64::MapIdxValue { idx, off } => (idx as i64, Some(off)),
                        _ => continue,
                    };
                    let m = usize::try_from(index)
                        .ok()
                        .and_then(|i| maps.get(i))
                        .ok_or_else(|| RuntimeError::BadMapIndex { prog: prog(), pc, index, count: maps.len() })?;
                    let v = match off {
                        None => {
                            let handle = map_handle(m.id());
                            // Verified programs may look plain arrays up inline: the
                            // whole array is then one of the run's regions.
                            if let (Some(_), Some((base, stride, max_entries))) = (verified, m.inline_array()) {
                                if !inline_arrays.iter().any(|a| a.handle == handle) {
                                    inline_arrays.push(crate::InlineArray { handle, base, stride, max_entries });
                                    direct.push((m.clone(), base, stride as usize * max_entries as usize));
                                }
                            }
                            // ... and call preallocated hash lookups directly.
                            if verified.is_some()
                                && m.direct_hash()
                                && !direct_hashes.iter().any(|d| d.handle == handle)
                            {
                                direct_hashes.push(crate::DirectHash { handle, map: m.clone() });
                            }
                            handle
                        }
                        Some(off) => {
                            let bad = |errno| RuntimeError::BadDirectValue {
                                prog: prog(),
                                pc,
                                map: m.name().to_string(),
                                off,
                                errno,
                            };
                            let (addr, len) = m.direct_value().map_err(bad)?;
                            if off as usize >= len {
                                return Err(bad(Errno::EINVAL));
                            }
                            if !direct.iter().any(|(d, _, _)| d.id() == m.id()) {
                                direct.push((m.clone(), addr, len));
                            }
                            addr + off as u64
                        }
                    };
                    resolved.insert(pc, v);
                }
                _ => {}
            }
        }
        let resolver: crate::Resolver = Arc::new(move |pc, _| resolved.get(&pc).copied());
        let opts = VmOptions {
            max_insns: self.shared.opts.max_insns,
            helpers: self.shared.helpers.clone(),
            resolver: Some(resolver),
            ctx_direct: crate::ctx::direct_loads(prog_type).map(Arc::from),
            inline_arrays: inline_arrays.into(),
            direct_hashes: direct_hashes.into(),
        };
        let compile_err = |reason| RuntimeError::Compile { prog: prog(), reason };
        // Converted atomics (atomics on the context) are not supported unchecked.
        let unchecked_vm = match verified {
            Some(converted) => Vm::from_verified(program.clone(), opts.clone(), converted).ok(),
            None => None,
        };
        let mut verified_compiled = false;
        let compiled = match &self.shared.opts.engine {
            Some(engine) => {
                // SAFETY: `verified` carries the caller's promise (load_verified_program).
                let fast = match (verified, &unchecked_vm) {
                    (Some(converted), Some(_)) => unsafe { engine.compile_verified(&program, &opts, converted) },
                    _ => None,
                };
                match fast {
                    Some(r) => {
                        verified_compiled = true;
                        Some(r.map_err(compile_err)?)
                    }
                    None => Some(engine.compile(&program, &opts).map_err(compile_err)?),
                }
            }
            None => None,
        };
        let (vm, verified) = match unchecked_vm {
            // With an engine, `verified` says whether the engine's code is unchecked;
            // the interpreter's copy is then unused.
            Some(vm) if compiled.is_none() || verified_compiled => (vm, true),
            _ => (Vm::from_program(program, opts), false),
        };
        let calls_nothing =
            !vm.program().insns().iter().any(|i| {
                matches!(i, Insn::Call(CallTarget::Helper(_) | CallTarget::Kfunc { .. }) | Insn::CallX { .. })
            });
        let r = self.shared.progs.push(|i| {
            Ok::<_, RuntimeError>(Arc::new(Prog {
                id: ProgId(i),
                name: name.to_string(),
                prog_type,
                expected_attach_type,
                vm,
                verified,
                compiled,
                direct,
                calls_nothing,
            }))
        });
        match r {
            Some(Ok(i)) => Ok(ProgId(i)),
            Some(Err(e)) => Err(e),
            None => {
                Err(RuntimeError::BadInput { prog: prog(), errno: Errno::ENOSPC, reason: "too many programs".into() })
            }
        }
    }

    /// Run program `prog` as `BPF_PROG_TEST_RUN` would: build its context from
    /// `input` (the rules of the program type, `ctx.rs`), run it `repeat` times on
    /// that context, and report the last return value, the packet and context after
    /// the runs, the mean duration, printk lines and events.
    pub fn test_run(&self, prog: ProgId, input: &TestRunInput) -> Result<TestRunOutput, RuntimeError> {
        let p = self.shared.prog(prog).ok_or(RuntimeError::UnknownProg(prog))?.clone();
        let bad = |errno: Errno, reason: &str| RuntimeError::BadInput {
            prog: p.name.clone(),
            errno,
            reason: reason.to_string(),
        };
        if input.cpu >= self.shared.opts.nr_cpus {
            return Err(bad(Errno::EINVAL, "cpu is not below nr_cpus"));
        }
        let (xdp, devmap, cpumap) = (
            bpfbox_abi::prog_types::ProgType::Xdp.number(),
            bpfbox_abi::prog_types::AttachType::XdpDevmap.number(),
            bpfbox_abi::prog_types::AttachType::XdpCpumap.number(),
        );
        if p.prog_type == xdp && matches!(p.expected_attach_type, Some(t) if t == devmap || t == cpumap) {
            return Err(bad(Errno::EINVAL, "XDP programs for devmap/cpumap entries cannot be test-run"));
        }
        let ctx = Ctx::new(p.prog_type, input).map_err(|(errno, reason)| bad(errno, &reason))?;
        ctx.check_devices(&self.shared.opts.world).map_err(|(errno, reason)| bad(errno, &reason))?;
        let mut st = RunState::new(self.shared.clone(), input.cpu, p.prog_type, ctx);
        let repeat = input.repeat.max(1);
        let mut retval = 0;
        let mut insns = 0;
        let started = Instant::now();
        let mut left = repeat;
        while left > 0 {
            if left > 1 && p.calls_nothing {
                if let Some((r, n)) = self.run_repeat(&p, &mut st, left)? {
                    (retval, insns) = (r, n);
                    break;
                }
            }
            let (r, n) = self.run_once(&p, &mut st)?;
            retval = r;
            insns = n;
            left -= 1;
        }
        let elapsed = started.elapsed();
        let duration_ns = match self.shared.opts.clock {
            Clock::Fixed(_) => 0,
            Clock::Real => (elapsed / repeat).as_nanos().min(u32::MAX as u128) as u64,
        };
        let (data_out, ctx_out) = st.ctx.finish();
        Ok(TestRunOutput {
            retval,
            data_out,
            ctx_out,
            duration_ns,
            printk: std::mem::take(&mut st.printk),
            events: std::mem::take(&mut st.events),
            insns_executed: insns,
            redirect: st.redirect.take(),
        })
    }

    /// Time `repeat` runs of `prog` on `input` (no output kept): for benchmarks.
    pub fn time_runs(&self, prog: ProgId, input: &TestRunInput, repeat: u32) -> Result<Duration, RuntimeError> {
        let mut i = input.clone();
        i.repeat = repeat;
        let started = Instant::now();
        self.test_run(prog, &i)?;
        Ok(started.elapsed())
    }

    /// `n` runs of a compiled program that calls nothing, set up once
    /// ([`CompiledProgram::run_repeat`]); `None` if its engine cannot.
    fn run_repeat(&self, p: &Arc<Prog>, st: &mut RunState, n: u32) -> Result<Option<(u64, u64)>, RuntimeError> {
        // A debugger records each run as it starts: not under a debug hook.
        if p.compiled.is_none() && crate::debug::current().is_some() {
            return Ok(None);
        }
        let mut regions = st.take_regions(p);
        let args = [st.ctx.r1(), st.ctx.r2(), 0, 0, 0];
        let max = Some(self.shared.opts.max_insns);
        let out = match &p.compiled {
            Some(c) => c.run_repeat(args, &regions, st, max, n),
            // SAFETY: a `verified` program was accepted by a sound verifier (the
            // contract of `load_verified_program`), as in `run_once`.
            None => Some(unsafe { p.vm.run_repeat(args, &regions, st, max, n, p.verified) }),
        };
        regions.clear();
        st.regions = regions;
        match out {
            None => Ok(None),
            Some(Ok(o)) => Ok(Some((o.r0, o.insns_executed))),
            Some(Err(error)) => Err(RuntimeError::Fault { prog: p.name.clone(), error }),
        }
    }

    /// One run, tail calls followed. Returns (r0, instructions).
    fn run_once(&self, first: &Arc<Prog>, st: &mut RunState) -> Result<(u64, u64), RuntimeError> {
        let mut cur = first.clone();
        let mut budget = self.shared.opts.max_insns;
        let mut total = 0u64;
        let mut r1 = st.ctx.r1();
        st.tail_calls = 0;
        st.redirect = None;
        let result = loop {
            let mut regions = st.take_regions(&cur);
            let args = [r1, st.ctx.r2(), 0, 0, 0];
            let out = match &cur.compiled {
                Some(c) => c.run_env(args, &regions, st, Some(budget)),
                // SAFETY: `verified` programs were accepted by a sound verifier
                // (the contract of `load_verified_program`); the converted accesses
                // still go through `st` (the context).
                None if cur.verified => unsafe { cur.vm.run_env_unchecked(args, &regions, st, Some(budget)) },
                None => cur.vm.run_env(args, &regions, st, Some(budget)),
            };
            regions.clear();
            st.regions = regions;
            match out {
                Ok(o) => {
                    total += o.insns_executed;
                    budget = budget.saturating_sub(o.insns_executed);
                    if let Some((next, ctx_arg)) = st.tail_call.take() {
                        cur = next;
                        r1 = ctx_arg;
                        continue;
                    }
                    break Ok((o.r0, total));
                }
                Err(error) => break Err(RuntimeError::Fault { prog: cur.name.clone(), error }),
            }
        };
        let end = st.end_of_run();
        let (r0, n) = result?;
        end.map_err(|error| RuntimeError::Fault { prog: cur.name.clone(), error })?;
        Ok((r0, n))
    }
}

/// [`crate::jit_support::JitMem::map_lookup_verified`].
///
/// # Safety
/// `key..key + key_size` must be readable.
pub(crate) unsafe fn map_lookup_verified(
    mem: &mut crate::memory::Mem,
    env: &mut dyn RunEnv,
    handle: u64,
    key: u64,
) -> Option<u64> {
    let st = env.as_any().downcast_mut::<RunState>()?;
    let m = st.shared.map_of_handle(handle)?;
    if !m.prog_readable() {
        return None;
    }
    // SAFETY: the caller's contract.
    let key = unsafe {
        std::slice::from_raw_parts(std::ptr::with_exposed_provenance::<u8>(key as usize), m.key_size() as usize)
    };
    match m.prog_lookup(key, st.cpu, &mut st.pins) {
        Ok(Some(crate::maps::Found::Mem { ptr, len, writable })) => {
            // SAFETY: map storage, kept alive by the map or the run's pins.
            mem.add(&unsafe { Region::from_raw_parts(RegionKind::MapValue, ptr, len as u64, writable) });
            Some(ptr.expose_provenance() as u64)
        }
        Ok(None) => Some(0),
        Ok(Some(crate::maps::Found::Map(_))) | Err(_) => None,
    }
}

/// The environment of one test run: what helpers reach.
pub(crate) struct RunState {
    pub shared: Arc<Shared>,
    pub cpu: u32,
    pub prog_type: u32,
    pub ctx: Ctx,
    pub printk: Vec<String>,
    pub events: Vec<Event>,
    /// Hash elements this run looked up (kept alive, as RCU would).
    pub pins: Vec<Arc<Entry>>,
    /// A successful tail call: the program to run next and its r1.
    pub tail_call: Option<(Arc<Prog>, u64)>,
    pub tail_calls: u32,
    /// The spin lock the program holds (address and lock word).
    pub held_lock: Option<(u64, *const AtomicU32)>,
    /// Ring buffer records reserved and not yet submitted or discarded.
    pub reservations: Vec<(Arc<Map>, u64)>,
    /// Ring and perf buffers written in this run (to consume afterwards).
    pub touched: Vec<Arc<Map>>,
    pub redirect: Option<Redirect>,
    /// Buffers the run handed to the program (for_each_map_elem keys).
    pub scratch: Vec<Box<[u8]>>,
    /// The regions of the current run (kept for its capacity: no allocation per run).
    pub regions: Vec<Region<'static>>,
}

impl RunState {
    fn new(shared: Arc<Shared>, cpu: u32, prog_type: u32, ctx: Ctx) -> RunState {
        RunState {
            shared,
            cpu,
            prog_type,
            ctx,
            printk: Vec::new(),
            events: Vec::new(),
            pins: Vec::new(),
            tail_call: None,
            tail_calls: 0,
            held_lock: None,
            reservations: Vec::new(),
            touched: Vec::new(),
            redirect: None,
            scratch: Vec::new(),
            regions: Vec::new(),
        }
    }

    /// The regions of a run of `p`: the context's and the map values `p` addresses
    /// directly, in the run state's reused buffer (give it back to `regions`).
    fn take_regions(&mut self, p: &Prog) -> Vec<Region<'static>> {
        let mut regions = std::mem::take(&mut self.regions);
        regions.clear();
        self.ctx.regions_into(&mut regions);
        for (m, addr, len) in &p.direct {
            // SAFETY: array storage lives as long as the map, which the caller's `Prog`
            // (kept alive for the run) holds.
            regions.push(unsafe {
                Region::from_raw_parts(
                    RegionKind::MapValue,
                    std::ptr::with_exposed_provenance_mut(*addr as usize),
                    *len as u64,
                    m.prog_writable(),
                )
            });
        }
        regions
    }

    /// Note a ring or perf buffer written by this run.
    pub fn touch(&mut self, m: &Arc<Map>) {
        if !self.touched.iter().any(|t| t.id() == m.id()) {
            self.touched.push(m.clone());
        }
    }

    /// What the kernel's verifier guarantees at exit, enforced after the fact:
    /// no spin lock held, no ring buffer record left reserved. Also drops the
    /// run's pins and consumes its events (see `RuntimeOptions::consume_events`).
    fn end_of_run(&mut self) -> Result<(), VmError> {
        let mut err = None;
        if let Some((addr, w)) = self.held_lock.take() {
            // SAFETY: the lock word lies in a map value kept alive by `pins` or the map.
            crate::maps::spin_unlock(unsafe { &*w });
            err = Some(VmError::Helper {
                pc: 0,
                id: bpfbox_abi::ids::SPIN_LOCK,
                reason: format!("the program ended holding the bpf_spin_lock at {addr:#x}"),
            });
        }
        if !self.reservations.is_empty() {
            for (m, addr) in self.reservations.drain(..) {
                if let Some(rb) = m.ringbuf() {
                    let _ = rb.finish(addr, false);
                }
                err.get_or_insert(VmError::Helper {
                    pc: 0,
                    id: bpfbox_abi::ids::RINGBUF_RESERVE,
                    reason: format!(
                        "the program ended without submitting or discarding the ring buffer record at {addr:#x}"
                    ),
                });
            }
        }
        self.pins.clear();
        self.scratch.clear();
        if self.shared.opts.consume_events && !self.touched.is_empty() {
            for m in self.touched.drain(..) {
                m.ringbuf_consume();
            }
        }
        self.tail_call = None;
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl RunEnv for RunState {
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn virtual_access(&mut self, access: VirtualAccess) -> Option<Result<u64, VmError>> {
        if let Some(r) = self.ctx.access(access) {
            return Some(r);
        }
        // Tracing programs (fentry/fexit/tp_btf/lsm/iter, struct_ops) dereference
        // kernel pointers directly; the kernel turns those loads into PROBE_MEM
        // loads that read 0 when they fault. Here they read `probe_memory` or 0.
        if crate::ctx::probe_mem_loads(self.prog_type) {
            if let crate::AccessKind::Load { .. } = access.kind {
                let n = access.size as usize;
                for (base, bytes) in &self.shared.opts.probe_memory {
                    let off = access.addr.wrapping_sub(*base);
                    if off < bytes.len() as u64 && bytes.len() as u64 - off >= n as u64 {
                        let mut w = [0u8; 8];
                        w[..n].copy_from_slice(&bytes[off as usize..off as usize + n]);
                        return Some(Ok(u64::from_le_bytes(w)));
                    }
                }
                return Some(Ok(0));
            }
        }
        None
    }
}

// `Runtime` is shared between threads; `Map`s are `Send + Sync` and `Prog`s only
// hold `Vm`s (themselves `Send + Sync`) and maps.
const _: () = {
    fn assert_send_sync<T: Send + Sync>() {}
    fn check() {
        assert_send_sync::<Runtime>();
        assert_send_sync::<Map>();
        assert_send_sync::<Arc<Map>>();
    }
    let _ = check;
};
