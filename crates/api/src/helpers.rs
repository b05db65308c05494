//! Host-defined helpers: an embedder's own functions that programs call like kernel
//! helpers, with a typed prototype the verifier checks every call against.

use crate::{Error, Result};
use bpfbox_abi::{ArgType, HelperProto, RetType};
use bpfbox_vm::{HelperCtx, HelperOutcome, HelperTable, VmError};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

/// The kind of one helper argument, as the kernel's verifier types them
/// (`enum bpf_arg_type`).
///
/// ```
/// use bpfbox::Arg;
/// // A buffer the helper reads, then its size: the kernel's ARG_PTR_TO_MEM | MEM_RDONLY, ARG_CONST_SIZE.
/// let args = [Arg::Memory, Arg::Size];
/// assert_ne!(args[0], Arg::MemoryOut);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arg {
    /// Any initialized value (`ARG_ANYTHING`).
    Scalar,
    /// Initialized memory the helper reads; its size is the next argument (`ARG_PTR_TO_MEM | MEM_RDONLY`).
    Memory,
    /// Memory the helper fills, possibly uninitialized before the call; its size is the
    /// next argument (`ARG_PTR_TO_UNINIT_MEM`).
    MemoryOut,
    /// The size of the preceding memory argument, a known bound > 0 (`ARG_CONST_SIZE`).
    Size,
    /// As [`Arg::Size`], but 0 is allowed (`ARG_CONST_SIZE_OR_ZERO`).
    SizeOrZero,
    /// A map of the object (`ARG_CONST_MAP_PTR`).
    Map,
    /// A key of the preceding map argument (`ARG_PTR_TO_MAP_KEY`).
    MapKey,
    /// A value of the preceding map argument (`ARG_PTR_TO_MAP_VALUE`).
    MapValue,
    /// The program's context (`ARG_PTR_TO_CTX`).
    Context,
}

impl Arg {
    fn abi(self) -> ArgType {
        match self {
            Arg::Scalar => ArgType::ANYTHING,
            Arg::Memory => ArgType::PTR_TO_MEM_RDONLY,
            Arg::MemoryOut => ArgType::PTR_TO_UNINIT_MEM,
            Arg::Size => ArgType::CONST_SIZE,
            Arg::SizeOrZero => ArgType::CONST_SIZE_OR_ZERO,
            Arg::Map => ArgType::CONST_MAP_PTR,
            Arg::MapKey => ArgType::PTR_TO_MAP_KEY,
            Arg::MapValue => ArgType::PTR_TO_MAP_VALUE,
            Arg::Context => ArgType::PTR_TO_CTX,
        }
    }

    fn is_memory(self) -> bool {
        matches!(self, Arg::Memory | Arg::MemoryOut)
    }

    fn is_size(self) -> bool {
        matches!(self, Arg::Size | Arg::SizeOrZero)
    }
}

/// What a helper returns in r0 (`enum bpf_return_type`).
///
/// ```
/// assert_ne!(bpfbox::Ret::Integer, bpfbox::Ret::Void);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ret {
    /// A scalar (`RET_INTEGER`).
    Integer,
    /// Nothing: r0 is unreadable after the call (`RET_VOID`).
    Void,
}

/// The failure of a host helper: the run stops with [`Error::Run`] carrying this reason.
///
/// ```
/// let e = bpfbox::HelperError::new("quota exceeded");
/// assert_eq!(e.to_string(), "quota exceeded");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperError(String);

impl HelperError {
    /// An error with this reason.
    ///
    /// ```
    /// let e: bpfbox::HelperError = "bad input".into();
    /// assert_eq!(e, bpfbox::HelperError::new("bad input"));
    /// ```
    pub fn new(reason: impl Into<String>) -> HelperError {
        HelperError(reason.into())
    }
}

impl fmt::Display for HelperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HelperError {}

impl From<&str> for HelperError {
    fn from(s: &str) -> Self {
        HelperError::new(s)
    }
}

impl From<String> for HelperError {
    fn from(s: String) -> Self {
        HelperError(s)
    }
}

/// One call of a host helper: its arguments and the program memory they point at.
///
/// ```
/// use bpfbox::{Arg, HelperCall, HelperError, HostHelpers, Ret};
/// let mut h = HostHelpers::new();
/// // u64 sum(const u8 *buf, u32 size): the sum of the bytes.
/// h.register(1000, "sum", Ret::Integer, &[Arg::Memory, Arg::Size], |call: &mut HelperCall<'_, '_>| {
///     Ok(call.memory(0)?.iter().map(|b| *b as u64).sum())
/// })?;
/// # Ok::<(), bpfbox::Error>(())
/// ```
pub struct HelperCall<'a, 'c> {
    ctx: &'a mut HelperCtx<'c>,
    args: [u64; 5],
    kinds: &'a [Arg],
}

impl fmt::Debug for HelperCall<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelperCall").field("args", &self.args).finish_non_exhaustive()
    }
}

impl HelperCall<'_, '_> {
    /// Argument `i` (0 for r1) as the program passed it (pointers are the VM's addresses).
    ///
    /// ```
    /// # use bpfbox::{Arg, HelperCall, HostHelpers, Ret};
    /// # let mut h = HostHelpers::new();
    /// h.register(1000, "add", Ret::Integer, &[Arg::Scalar, Arg::Scalar], |c: &mut HelperCall<'_, '_>| {
    ///     Ok(c.arg(0).wrapping_add(c.arg(1)))
    /// })?;
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn arg(&self, i: usize) -> u64 {
        self.args.get(i).copied().unwrap_or(0)
    }

    /// The bytes memory argument `i` points at, as many as the size argument after it says.
    ///
    /// ```
    /// # use bpfbox::{Arg, HelperCall, HostHelpers, Ret};
    /// # let mut h = HostHelpers::new();
    /// h.register(1000, "first_byte", Ret::Integer, &[Arg::Memory, Arg::Size], |c: &mut HelperCall<'_, '_>| {
    ///     Ok(c.memory(0)?.first().copied().unwrap_or(0) as u64)
    /// })?;
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn memory(&mut self, i: usize) -> std::result::Result<Vec<u8>, HelperError> {
        let len = self.memory_len(i)?;
        let mut buf = vec![0u8; len];
        self.ctx.read(self.args[i], &mut buf).map_err(|e| HelperError::new(e.to_string()))?;
        Ok(buf)
    }

    /// Write `data` at the start of memory argument `i` (at most its size).
    ///
    /// ```
    /// # use bpfbox::{Arg, HelperCall, HostHelpers, Ret};
    /// # let mut h = HostHelpers::new();
    /// h.register(1000, "fill", Ret::Void, &[Arg::MemoryOut, Arg::Size], |c: &mut HelperCall<'_, '_>| {
    ///     let n = c.arg(1) as usize;
    ///     c.write_memory(0, &vec![0xab; n])?;
    ///     Ok(0)
    /// })?;
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn write_memory(&mut self, i: usize, data: &[u8]) -> std::result::Result<(), HelperError> {
        let len = self.memory_len(i)?;
        if data.len() > len {
            return Err(HelperError::new(format!("{} bytes written to argument {i} of {len} bytes", data.len())));
        }
        self.ctx.write(self.args[i], data).map_err(|e| HelperError::new(e.to_string()))
    }

    fn memory_len(&self, i: usize) -> std::result::Result<usize, HelperError> {
        match (self.kinds.get(i), self.kinds.get(i + 1)) {
            (Some(k), Some(s)) if k.is_memory() && s.is_size() => Ok(self.args[i + 1] as usize),
            _ => Err(HelperError::new(format!("argument {i} is not a memory argument followed by its size"))),
        }
    }
}

type HelperImpl = dyn Fn(&mut HelperCall<'_, '_>) -> std::result::Result<u64, HelperError> + Send + Sync;

#[derive(Clone)]
struct HostHelper {
    proto: HelperProto,
    args: Vec<Arg>,
    func: Arc<HelperImpl>,
}

/// The helpers an embedder defines, given to an [`Engine`](crate::Engine) with
/// [`Engine::helpers`](crate::Engine::helpers). Programs call them by id, like kernel
/// helpers; bpfbox's verifier checks each call against the prototype, and the
/// implementation runs on the thread that called [`Instance::test_run`](crate::Instance::test_run).
///
/// ```
/// use bpfbox::{Arg, Engine, HostHelpers, Ret};
/// let mut h = HostHelpers::new();
/// h.register(1000, "host_add", Ret::Integer, &[Arg::Scalar, Arg::Scalar], |c| Ok(c.arg(0) + c.arg(1)))?;
/// let engine = Engine::interpreter().helpers(h);
/// assert_eq!(engine.host_helpers().names().collect::<Vec<_>>(), ["host_add"]);
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct HostHelpers {
    by_id: BTreeMap<u32, HostHelper>,
}

impl fmt::Debug for HostHelpers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.by_id.iter().map(|(id, h)| (id, h.proto.name))).finish()
    }
}

/// Names of host helpers live as long as the process (`HelperProto` holds `&'static str`);
/// each distinct name is stored once.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut g = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    let set = g.get_or_insert_with(HashSet::new);
    if let Some(n) = set.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(n);
    n
}

impl HostHelpers {
    /// No helpers.
    ///
    /// ```
    /// assert_eq!(bpfbox::HostHelpers::new().names().count(), 0);
    /// ```
    pub fn new() -> HostHelpers {
        HostHelpers::default()
    }

    /// Define helper `id` called `name` (the verifier's messages use `bpf_{name}`) with
    /// up to five arguments and a return kind. The id must not be a kernel helper's
    /// (they are 1..=211; ids from 1000 are a good choice) nor one already defined; a
    /// memory argument must be followed by its size, a size must follow a memory
    /// argument, map keys and values need a map argument before them.
    ///
    /// ```
    /// use bpfbox::{Arg, Error, HostHelpers, Ret};
    /// let mut h = HostHelpers::new();
    /// let err = h.register(1, "mine", Ret::Integer, &[], |_| Ok(0)).unwrap_err();
    /// assert!(err.to_string().contains("kernel helper bpf_map_lookup_elem"));
    /// let err = h.register(1000, "mine", Ret::Integer, &[Arg::Memory], |_| Ok(0)).unwrap_err();
    /// assert!(matches!(err, Error::HelperPrototype { .. }));
    /// assert!(err.to_string().contains("must be followed by its size"));
    /// ```
    pub fn register<F>(&mut self, id: u32, name: &str, ret: Ret, args: &[Arg], func: F) -> Result<&mut HostHelpers>
    where
        F: Fn(&mut HelperCall<'_, '_>) -> std::result::Result<u64, HelperError> + Send + Sync + 'static,
    {
        let bad = |reason: String| Err(Error::HelperPrototype { helper: format!("{name}#{id}"), reason });
        if let Some(k) = bpfbox_abi::helper_by_id(id) {
            return bad(format!("id {id} is the kernel helper bpf_{}; host helpers need ids of their own", k.name));
        }
        if id > i32::MAX as u32 {
            return bad("ids above 2^31 - 1 do not fit a call instruction".into());
        }
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return bad("the name must be a non-empty C identifier".into());
        }
        if bpfbox_abi::helper_by_name(name).is_some() {
            return bad(format!("bpf_{name} is a kernel helper's name"));
        }
        if let Some(other) = self.by_id.get(&id) {
            return bad(format!("id {id} is already host helper {}", other.proto.name));
        }
        if args.len() > 5 {
            return bad(format!("{} arguments: helpers take at most 5", args.len()));
        }
        for (i, a) in args.iter().enumerate() {
            let next = args.get(i + 1).copied();
            let prev = i.checked_sub(1).map(|p| args[p]);
            if a.is_memory() && !next.is_some_and(Arg::is_size) {
                return bad(format!("argument {} ({a:?}) must be followed by its size (Arg::Size)", i + 1));
            }
            if a.is_size() && !prev.is_some_and(Arg::is_memory) {
                return bad(format!("argument {} ({a:?}) must follow a memory argument", i + 1));
            }
            if matches!(a, Arg::MapKey | Arg::MapValue) && !args[..i].contains(&Arg::Map) {
                return bad(format!("argument {} ({a:?}) needs an Arg::Map before it", i + 1));
            }
        }
        let abi: Vec<ArgType> = args.iter().map(|a| a.abi()).collect();
        let ret = match ret {
            Ret::Integer => RetType::INTEGER,
            Ret::Void => RetType::VOID,
        };
        let proto = HelperProto::new(id, intern(name), ret, &abi);
        self.by_id.insert(id, HostHelper { proto, args: args.to_vec(), func: Arc::new(func) });
        Ok(self)
    }

    /// The names of the helpers, by id.
    ///
    /// ```
    /// # use bpfbox::{Arg, HostHelpers, Ret};
    /// let mut h = HostHelpers::new();
    /// h.register(1001, "b", Ret::Void, &[], |_| Ok(0))?.register(1000, "a", Ret::Void, &[], |_| Ok(0))?;
    /// assert_eq!(h.names().collect::<Vec<_>>(), ["a", "b"]);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_id.values().map(|h| h.proto.name)
    }

    /// The prototypes, as the verifier takes them.
    pub(crate) fn prototypes(&self) -> Vec<HelperProto> {
        self.by_id.values().map(|h| h.proto).collect()
    }

    /// The VM's table: every helper runs [`trampoline`], which finds the implementation
    /// of the running instance.
    pub(crate) fn vm_table(&self) -> HelperTable {
        let mut t = HelperTable::empty();
        for h in self.by_id.values() {
            t.register(h.proto, trampoline);
        }
        t
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

thread_local! {
    /// The host helpers of the instance running on this thread.
    static CURRENT: RefCell<Option<Arc<HostHelpers>>> = const { RefCell::new(None) };
}

/// Makes `helpers` the ones this thread's runs call until dropped (then the previous
/// ones again: a helper may itself run another instance).
pub(crate) struct Scope(Option<Arc<HostHelpers>>);

impl Scope {
    pub(crate) fn enter(helpers: &Arc<HostHelpers>) -> Scope {
        Scope(CURRENT.with(|c| c.replace(Some(helpers.clone()))))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

fn trampoline(ctx: &mut HelperCtx<'_>, args: [u64; 5]) -> std::result::Result<HelperOutcome, VmError> {
    let id = ctx.helper_id();
    let Some(helpers) = CURRENT.with(|c| c.borrow().clone()) else {
        return Err(ctx.fail("host helper called outside of Instance::test_run"));
    };
    let Some(h) = helpers.by_id.get(&id) else {
        return Err(ctx.fail(format!("no host helper #{id} in this instance")));
    };
    let func = h.func.clone();
    let kinds = h.args.clone();
    let mut call = HelperCall { ctx, args, kinds: &kinds };
    // A panicking helper stops the run with an error instead of unwinding through the VM.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| func(&mut call)));
    match r {
        Ok(Ok(v)) => Ok(HelperOutcome::Return(v)),
        Ok(Err(e)) => Err(ctx.fail(format!("bpf_{}: {e}", h.proto.name))),
        Err(_) => Err(ctx.fail(format!("bpf_{}: the host helper panicked", h.proto.name))),
    }
}
