//! bpfbox-abi: the Linux eBPF ABI as data.
//!
//! [`HelperProto`] is the kernel's `struct bpf_func_proto` reduced to what a
//! verifier or an interpreter needs: the helper's number, its name, the kind of
//! value it returns and the kinds of its (up to five) arguments. The table
//! covers every helper of `___BPF_FUNC_MAPPER` (ids 1..=211, the list is
//! frozen upstream; new kernel functionality comes as kfuncs).
//!
//! Numbers come from `include/uapi/linux/bpf.h`. Prototypes follow mainline
//! (6.x) `bpf_func_proto` definitions. Where a helper has several program-type
//! specific prototypes (`setsockopt`, `fib_lookup`, `get_socket_cookie`, ...)
//! the table holds the one taking the program context (`ARG_PTR_TO_CTX`).
//!
//! This crate has no behaviour: the VM, the verifier and the kernel crate read it.

pub mod helper_access;
pub mod kernel_facts;
pub mod kfuncs;
pub mod map_types;
pub mod prog_types;
mod table;

pub use table::HELPERS;

/// The base kind of a helper argument (`enum bpf_arg_type` without its flag bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// `ARG_DONTCARE`: the argument is not used (nor checked).
    DontCare,
    /// `ARG_ANYTHING`: any initialized scalar or pointer.
    Anything,
    /// `ARG_CONST_MAP_PTR`: a map, loaded by a pseudo `lddw`.
    ConstMapPtr,
    /// `ARG_PTR_TO_MAP_KEY`: readable memory of the map's key size.
    PtrToMapKey,
    /// `ARG_PTR_TO_MAP_VALUE`: memory of the map's value size.
    PtrToMapValue,
    /// `ARG_PTR_TO_MEM`: memory whose size is the following `ConstSize*` argument.
    PtrToMem,
    /// `ARG_PTR_TO_FIXED_SIZE_MEM` with its `argN_size`. The kernel's former
    /// `ARG_PTR_TO_LONG`/`ARG_PTR_TO_INT` are this with size 8/4 (see [`ArgType::PTR_TO_LONG`]).
    PtrToFixedSizeMem(u32),
    /// `ARG_CONST_SIZE`: size of the preceding memory argument, > 0.
    ConstSize,
    /// `ARG_CONST_SIZE_OR_ZERO`: size of the preceding memory argument, >= 0.
    ConstSizeOrZero,
    /// `ARG_CONST_ALLOC_SIZE_OR_ZERO`: size of the memory the helper returns.
    ConstAllocSizeOrZero,
    /// `ARG_PTR_TO_CTX`: the program's context pointer.
    PtrToCtx,
    /// `ARG_PTR_TO_STACK`: a pointer into the program's stack.
    PtrToStack,
    /// `ARG_PTR_TO_FUNC`: a subprogram address (`lddw` with src=4).
    PtrToFunc,
    /// `ARG_PTR_TO_ALLOC_MEM` (5.x name of ring-buffer sample pointers).
    PtrToAllocMem,
    /// `ARG_PTR_TO_RINGBUF_MEM`: a sample returned by `ringbuf_reserve`.
    PtrToRingbufMem,
    /// `ARG_PTR_TO_SOCK_COMMON`.
    PtrToSockCommon,
    /// `ARG_PTR_TO_SOCKET`.
    PtrToSocket,
    /// `ARG_PTR_TO_BTF_ID`: a kernel object of a BTF type fixed by the helper.
    PtrToBtfId,
    /// `ARG_PTR_TO_BTF_ID_SOCK_COMMON`: any socket type.
    PtrToBtfIdSockCommon,
    /// `ARG_PTR_TO_PERCPU_BTF_ID`.
    PtrToPercpuBtfId,
    /// `ARG_PTR_TO_SPIN_LOCK`: a `struct bpf_spin_lock` in a map value.
    PtrToSpinLock,
    /// `ARG_PTR_TO_TIMER`: a `struct bpf_timer` in a map value.
    PtrToTimer,
    /// `ARG_PTR_TO_CONST_STR`: a NUL-terminated string in a read-only map.
    PtrToConstStr,
    /// `ARG_PTR_TO_DYNPTR`: a `struct bpf_dynptr` on the stack.
    PtrToDynptr,
    /// `ARG_PTR_TO_KPTR` / `ARG_KPTR_XCHG_DEST`: a kptr field in a map value.
    PtrToKptr,
}

/// Modifier bits of argument and return types (`enum bpf_type_flag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TypeFlags(pub u16);

impl TypeFlags {
    pub const NONE: TypeFlags = TypeFlags(0);
    /// `PTR_MAYBE_NULL`: NULL is accepted (argument) or possible (return).
    pub const MAYBE_NULL: TypeFlags = TypeFlags(1 << 0);
    /// `MEM_RDONLY`: the helper only reads the memory.
    pub const RDONLY: TypeFlags = TypeFlags(1 << 1);
    /// `MEM_UNINIT`: the memory need not be initialized; the helper fills it.
    pub const UNINIT: TypeFlags = TypeFlags(1 << 2);
    /// `MEM_WRITE`: the helper writes the memory.
    pub const WRITE: TypeFlags = TypeFlags(1 << 3);
    /// `MEM_ALIGNED`: the memory must be aligned to its size.
    pub const ALIGNED: TypeFlags = TypeFlags(1 << 4);
    /// `OBJ_RELEASE`: the helper releases the referenced object.
    pub const RELEASE: TypeFlags = TypeFlags(1 << 5);
    /// `PTR_TRUSTED` (return types).
    pub const TRUSTED: TypeFlags = TypeFlags(1 << 6);

    pub const fn union(self, o: TypeFlags) -> TypeFlags {
        TypeFlags(self.0 | o.0)
    }
    pub const fn contains(self, o: TypeFlags) -> bool {
        self.0 & o.0 == o.0
    }
}

impl std::ops::BitOr for TypeFlags {
    type Output = TypeFlags;
    fn bitor(self, o: TypeFlags) -> TypeFlags {
        self.union(o)
    }
}

/// A helper argument type: a base kind plus modifier flags, as in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArgType {
    pub kind: ArgKind,
    pub flags: TypeFlags,
}

impl ArgType {
    pub const fn new(kind: ArgKind, flags: TypeFlags) -> ArgType {
        ArgType { kind, flags }
    }
    const fn k(kind: ArgKind) -> ArgType {
        ArgType { kind, flags: TypeFlags::NONE }
    }
    pub const DONTCARE: ArgType = ArgType::k(ArgKind::DontCare);
    pub const ANYTHING: ArgType = ArgType::k(ArgKind::Anything);
    pub const CONST_MAP_PTR: ArgType = ArgType::k(ArgKind::ConstMapPtr);
    pub const PTR_TO_MAP_KEY: ArgType = ArgType::k(ArgKind::PtrToMapKey);
    pub const PTR_TO_MAP_VALUE: ArgType = ArgType::k(ArgKind::PtrToMapValue);
    pub const PTR_TO_MAP_VALUE_OR_NULL: ArgType = ArgType::new(ArgKind::PtrToMapValue, TypeFlags::MAYBE_NULL);
    /// `ARG_PTR_TO_MAP_VALUE | MEM_UNINIT | MEM_WRITE` (`map_pop_elem`, `map_peek_elem`).
    pub const PTR_TO_UNINIT_MAP_VALUE: ArgType =
        ArgType::new(ArgKind::PtrToMapValue, TypeFlags::UNINIT.union(TypeFlags::WRITE));
    /// `ARG_PTR_TO_MEM` (read and written).
    pub const PTR_TO_MEM: ArgType = ArgType::k(ArgKind::PtrToMem);
    /// `ARG_PTR_TO_MEM | MEM_RDONLY`.
    pub const PTR_TO_MEM_RDONLY: ArgType = ArgType::new(ArgKind::PtrToMem, TypeFlags::RDONLY);
    /// `ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY`.
    pub const PTR_TO_MEM_RDONLY_OR_NULL: ArgType =
        ArgType::new(ArgKind::PtrToMem, TypeFlags::RDONLY.union(TypeFlags::MAYBE_NULL));
    /// `ARG_PTR_TO_MEM_OR_NULL`.
    pub const PTR_TO_MEM_OR_NULL: ArgType = ArgType::new(ArgKind::PtrToMem, TypeFlags::MAYBE_NULL);
    /// `ARG_PTR_TO_UNINIT_MEM` = `ARG_PTR_TO_MEM | MEM_UNINIT | MEM_WRITE`.
    pub const PTR_TO_UNINIT_MEM: ArgType = ArgType::new(ArgKind::PtrToMem, TypeFlags::UNINIT.union(TypeFlags::WRITE));
    /// `ARG_PTR_TO_MEM | MEM_WRITE`.
    pub const PTR_TO_MEM_WRITE: ArgType = ArgType::new(ArgKind::PtrToMem, TypeFlags::WRITE);
    pub const CONST_SIZE: ArgType = ArgType::k(ArgKind::ConstSize);
    pub const CONST_SIZE_OR_ZERO: ArgType = ArgType::k(ArgKind::ConstSizeOrZero);
    pub const CONST_ALLOC_SIZE_OR_ZERO: ArgType = ArgType::k(ArgKind::ConstAllocSizeOrZero);
    pub const PTR_TO_CTX: ArgType = ArgType::k(ArgKind::PtrToCtx);
    pub const PTR_TO_CTX_OR_NULL: ArgType = ArgType::new(ArgKind::PtrToCtx, TypeFlags::MAYBE_NULL);
    pub const PTR_TO_STACK: ArgType = ArgType::k(ArgKind::PtrToStack);
    pub const PTR_TO_STACK_OR_NULL: ArgType = ArgType::new(ArgKind::PtrToStack, TypeFlags::MAYBE_NULL);
    pub const PTR_TO_FUNC: ArgType = ArgType::k(ArgKind::PtrToFunc);
    /// The former `ARG_PTR_TO_LONG`: 8 writable, aligned, possibly uninitialized bytes.
    pub const PTR_TO_LONG: ArgType = ArgType::new(
        ArgKind::PtrToFixedSizeMem(8),
        TypeFlags::UNINIT.union(TypeFlags::WRITE).union(TypeFlags::ALIGNED),
    );
    /// The former `ARG_PTR_TO_INT`: 4 writable, aligned bytes.
    pub const PTR_TO_INT: ArgType =
        ArgType::new(ArgKind::PtrToFixedSizeMem(4), TypeFlags::WRITE.union(TypeFlags::ALIGNED));
    pub const PTR_TO_ALLOC_MEM: ArgType = ArgType::k(ArgKind::PtrToAllocMem);
    /// `ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE`.
    pub const PTR_TO_RINGBUF_MEM_RELEASE: ArgType = ArgType::new(ArgKind::PtrToRingbufMem, TypeFlags::RELEASE);
    pub const PTR_TO_SOCK_COMMON: ArgType = ArgType::k(ArgKind::PtrToSockCommon);
    pub const PTR_TO_BTF_ID: ArgType = ArgType::k(ArgKind::PtrToBtfId);
    pub const PTR_TO_BTF_ID_OR_NULL: ArgType = ArgType::new(ArgKind::PtrToBtfId, TypeFlags::MAYBE_NULL);
    pub const PTR_TO_BTF_ID_SOCK_COMMON: ArgType = ArgType::k(ArgKind::PtrToBtfIdSockCommon);
    pub const PTR_TO_PERCPU_BTF_ID: ArgType = ArgType::k(ArgKind::PtrToPercpuBtfId);
    pub const PTR_TO_SPIN_LOCK: ArgType = ArgType::k(ArgKind::PtrToSpinLock);
    pub const PTR_TO_TIMER: ArgType = ArgType::k(ArgKind::PtrToTimer);
    pub const PTR_TO_CONST_STR: ArgType = ArgType::k(ArgKind::PtrToConstStr);
    pub const PTR_TO_DYNPTR: ArgType = ArgType::k(ArgKind::PtrToDynptr);
    pub const PTR_TO_KPTR: ArgType = ArgType::k(ArgKind::PtrToKptr);

    /// Whether the argument is a pointer the helper may dereference.
    pub fn is_mem(&self) -> bool {
        matches!(
            self.kind,
            ArgKind::PtrToMapKey | ArgKind::PtrToMapValue | ArgKind::PtrToMem | ArgKind::PtrToFixedSizeMem(_)
        )
    }
    /// Whether the argument is the size of the preceding memory argument.
    pub fn is_size(&self) -> bool {
        matches!(self.kind, ArgKind::ConstSize | ArgKind::ConstSizeOrZero)
    }
}

/// The base kind of a helper's return value (`enum bpf_return_type` without flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetKind {
    /// `RET_INTEGER`: a scalar.
    Integer,
    /// `RET_VOID`: r0 is undefined after the call.
    Void,
    /// `RET_PTR_TO_MAP_VALUE`.
    PtrToMapValue,
    /// `RET_PTR_TO_SOCKET`.
    PtrToSocket,
    /// `RET_PTR_TO_TCP_SOCK`.
    PtrToTcpSock,
    /// `RET_PTR_TO_SOCK_COMMON`.
    PtrToSockCommon,
    /// `RET_PTR_TO_RINGBUF_MEM` (5.x: `RET_PTR_TO_ALLOC_MEM`): memory of the
    /// size given by the `ConstAllocSizeOrZero` argument.
    PtrToRingbufMem,
    /// `RET_PTR_TO_DYNPTR_MEM`.
    PtrToDynptrMem,
    /// `RET_PTR_TO_MEM_OR_BTF_ID`.
    PtrToMemOrBtfId,
    /// `RET_PTR_TO_BTF_ID`.
    PtrToBtfId,
}

/// A helper return type: a base kind plus flags (`MAYBE_NULL`, `RDONLY`, `TRUSTED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetType {
    pub kind: RetKind,
    pub flags: TypeFlags,
}

impl RetType {
    pub const fn new(kind: RetKind, flags: TypeFlags) -> RetType {
        RetType { kind, flags }
    }
    pub const INTEGER: RetType = RetType::new(RetKind::Integer, TypeFlags::NONE);
    pub const VOID: RetType = RetType::new(RetKind::Void, TypeFlags::NONE);
    pub const PTR_TO_MAP_VALUE: RetType = RetType::new(RetKind::PtrToMapValue, TypeFlags::NONE);
    pub const PTR_TO_MAP_VALUE_OR_NULL: RetType = RetType::new(RetKind::PtrToMapValue, TypeFlags::MAYBE_NULL);
    pub const PTR_TO_SOCKET_OR_NULL: RetType = RetType::new(RetKind::PtrToSocket, TypeFlags::MAYBE_NULL);
    pub const PTR_TO_TCP_SOCK_OR_NULL: RetType = RetType::new(RetKind::PtrToTcpSock, TypeFlags::MAYBE_NULL);
    pub const PTR_TO_SOCK_COMMON_OR_NULL: RetType = RetType::new(RetKind::PtrToSockCommon, TypeFlags::MAYBE_NULL);
    /// `RET_PTR_TO_RINGBUF_MEM_OR_NULL` (5.x: `RET_PTR_TO_ALLOC_MEM_OR_NULL`).
    pub const PTR_TO_RINGBUF_MEM_OR_NULL: RetType = RetType::new(RetKind::PtrToRingbufMem, TypeFlags::MAYBE_NULL);
    /// Alias of [`RetType::PTR_TO_RINGBUF_MEM_OR_NULL`] under its older kernel name.
    pub const PTR_TO_ALLOC_MEM_OR_NULL: RetType = RetType::PTR_TO_RINGBUF_MEM_OR_NULL;
    pub const PTR_TO_DYNPTR_MEM_OR_NULL: RetType = RetType::new(RetKind::PtrToDynptrMem, TypeFlags::MAYBE_NULL);
    pub const PTR_TO_BTF_ID: RetType = RetType::new(RetKind::PtrToBtfId, TypeFlags::NONE);
    pub const PTR_TO_BTF_ID_OR_NULL: RetType = RetType::new(RetKind::PtrToBtfId, TypeFlags::MAYBE_NULL);
    pub const PTR_TO_BTF_ID_TRUSTED: RetType = RetType::new(RetKind::PtrToBtfId, TypeFlags::TRUSTED);

    pub fn maybe_null(&self) -> bool {
        self.flags.contains(TypeFlags::MAYBE_NULL)
    }
}

/// The prototype of one kernel helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HelperProto {
    /// `BPF_FUNC_*` number, the `imm` of `call`.
    pub id: u32,
    /// Name without the `bpf_` prefix, as in `___BPF_FUNC_MAPPER`.
    pub name: &'static str,
    pub ret: RetType,
    /// r1..r5; unused trailing arguments are [`ArgType::DONTCARE`].
    pub args: [ArgType; 5],
}

impl HelperProto {
    /// Build a prototype, padding `args` with `DONTCARE`. More than five
    /// arguments is a compile-time error when used in a `const`.
    pub const fn new(id: u32, name: &'static str, ret: RetType, args: &[ArgType]) -> HelperProto {
        let mut a = [ArgType::DONTCARE; 5];
        let mut i = 0;
        while i < args.len() {
            a[i] = args[i];
            i += 1;
        }
        HelperProto { id, name, ret, args: a }
    }

    /// The declared arguments (up to the last one that is not `DONTCARE`).
    pub fn declared_args(&self) -> &[ArgType] {
        let n = self.args.iter().rposition(|a| a.kind != ArgKind::DontCare).map_or(0, |i| i + 1);
        &self.args[..n]
    }
}

/// The highest helper number (`__BPF_FUNC_MAX_ID - 1`).
pub const MAX_HELPER_ID: u32 = 211;

/// The prototype of helper `id`, if `id` is a kernel helper number.
pub fn helper_by_id(id: u32) -> Option<&'static HelperProto> {
    // HELPERS[i].id == i + 1 (checked by a unit test).
    let p = HELPERS.get((id as usize).checked_sub(1)?)?;
    debug_assert_eq!(p.id, id);
    Some(p)
}

/// The prototype of the helper named `name`, with or without the `bpf_` prefix.
pub fn helper_by_name(name: &str) -> Option<&'static HelperProto> {
    let name = name.strip_prefix("bpf_").unwrap_or(name);
    HELPERS.iter().find(|p| p.name == name)
}

/// Well-known helper numbers (`BPF_FUNC_*`) for code that calls helpers by number.
pub mod ids {
    pub const MAP_LOOKUP_ELEM: u32 = 1;
    pub const MAP_UPDATE_ELEM: u32 = 2;
    pub const MAP_DELETE_ELEM: u32 = 3;
    pub const PROBE_READ: u32 = 4;
    pub const KTIME_GET_NS: u32 = 5;
    pub const TRACE_PRINTK: u32 = 6;
    pub const GET_PRANDOM_U32: u32 = 7;
    pub const GET_SMP_PROCESSOR_ID: u32 = 8;
    pub const SKB_STORE_BYTES: u32 = 9;
    pub const L3_CSUM_REPLACE: u32 = 10;
    pub const L4_CSUM_REPLACE: u32 = 11;
    pub const TAIL_CALL: u32 = 12;
    pub const GET_CURRENT_PID_TGID: u32 = 14;
    pub const GET_CURRENT_UID_GID: u32 = 15;
    pub const GET_CURRENT_COMM: u32 = 16;
    pub const REDIRECT: u32 = 23;
    pub const PERF_EVENT_OUTPUT: u32 = 25;
    pub const SKB_LOAD_BYTES: u32 = 26;
    pub const CSUM_DIFF: u32 = 28;
    pub const XDP_ADJUST_HEAD: u32 = 44;
    pub const REDIRECT_MAP: u32 = 51;
    pub const XDP_ADJUST_META: u32 = 54;
    pub const XDP_ADJUST_TAIL: u32 = 65;
    pub const FIB_LOOKUP: u32 = 69;
    pub const MAP_PUSH_ELEM: u32 = 87;
    pub const MAP_POP_ELEM: u32 = 88;
    pub const MAP_PEEK_ELEM: u32 = 89;
    pub const SPIN_LOCK: u32 = 93;
    pub const SPIN_UNLOCK: u32 = 94;
    pub const PROBE_READ_USER: u32 = 112;
    pub const PROBE_READ_KERNEL: u32 = 113;
    pub const PROBE_READ_KERNEL_STR: u32 = 115;
    pub const JIFFIES64: u32 = 118;
    pub const KTIME_GET_BOOT_NS: u32 = 125;
    pub const RINGBUF_OUTPUT: u32 = 130;
    pub const RINGBUF_RESERVE: u32 = 131;
    pub const RINGBUF_SUBMIT: u32 = 132;
    pub const RINGBUF_DISCARD: u32 = 133;
    pub const RINGBUF_QUERY: u32 = 134;
    pub const FOR_EACH_MAP_ELEM: u32 = 164;
    pub const SNPRINTF: u32 = 165;
    pub const TIMER_INIT: u32 = 169;
    pub const TRACE_VPRINTK: u32 = 177;
    pub const LOOP: u32 = 181;
    pub const STRNCMP: u32 = 182;
    pub const KTIME_GET_TAI_NS: u32 = 208;
    pub const USER_RINGBUF_DRAIN: u32 = 209;
    pub const CGRP_STORAGE_GET: u32 = 210;
    pub const CGRP_STORAGE_DELETE: u32 = 211;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_dense_and_ordered() {
        assert_eq!(HELPERS.len(), MAX_HELPER_ID as usize);
        for (i, p) in HELPERS.iter().enumerate() {
            assert_eq!(p.id as usize, i + 1, "{}", p.name);
        }
        let mut names: Vec<_> = HELPERS.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), HELPERS.len(), "duplicate helper name");
    }

    #[test]
    fn known_ids() {
        let cases = [
            (1, "map_lookup_elem"),
            (2, "map_update_elem"),
            (3, "map_delete_elem"),
            (4, "probe_read"),
            (5, "ktime_get_ns"),
            (6, "trace_printk"),
            (7, "get_prandom_u32"),
            (8, "get_smp_processor_id"),
            (9, "skb_store_bytes"),
            (10, "l3_csum_replace"),
            (11, "l4_csum_replace"),
            (12, "tail_call"),
            (25, "perf_event_output"),
            (45, "probe_read_str"),
            (46, "get_socket_cookie"),
            (51, "redirect_map"),
            (93, "spin_lock"),
            (130, "ringbuf_output"),
            (131, "ringbuf_reserve"),
            (132, "ringbuf_submit"),
            (133, "ringbuf_discard"),
            (134, "ringbuf_query"),
            (164, "for_each_map_elem"),
            (181, "loop"),
            (194, "kptr_xchg"),
            (209, "user_ringbuf_drain"),
            (211, "cgrp_storage_delete"),
        ];
        for (id, name) in cases {
            assert_eq!(helper_by_id(id).map(|p| p.name), Some(name), "id {id}");
            assert_eq!(helper_by_name(name).map(|p| p.id), Some(id), "{name}");
        }
        assert_eq!(helper_by_name("bpf_map_lookup_elem").map(|p| p.id), Some(1));
        assert!(helper_by_id(0).is_none());
        assert!(helper_by_id(212).is_none());
        assert!(helper_by_name("no_such_helper").is_none());
    }

    #[test]
    fn prototypes() {
        let p = helper_by_id(ids::MAP_LOOKUP_ELEM).expect("lookup");
        assert_eq!(p.ret, RetType::PTR_TO_MAP_VALUE_OR_NULL);
        assert_eq!(p.declared_args(), &[ArgType::CONST_MAP_PTR, ArgType::PTR_TO_MAP_KEY]);

        let p = helper_by_id(ids::MAP_UPDATE_ELEM).expect("update");
        assert_eq!(
            p.declared_args(),
            &[ArgType::CONST_MAP_PTR, ArgType::PTR_TO_MAP_KEY, ArgType::PTR_TO_MAP_VALUE, ArgType::ANYTHING]
        );

        let p = helper_by_id(ids::RINGBUF_RESERVE).expect("reserve");
        assert_eq!(p.ret, RetType::PTR_TO_ALLOC_MEM_OR_NULL);
        assert!(p.ret.maybe_null());
        assert_eq!(p.args[1].kind, ArgKind::ConstAllocSizeOrZero);

        let p = helper_by_id(ids::RINGBUF_SUBMIT).expect("submit");
        assert_eq!(p.ret, RetType::VOID);
        assert_eq!(p.args[0].kind, ArgKind::PtrToRingbufMem);
        assert!(p.args[0].flags.contains(TypeFlags::RELEASE));

        let p = helper_by_id(ids::LOOP).expect("loop");
        assert_eq!(p.args[1], ArgType::PTR_TO_FUNC);
        assert_eq!(p.args[2], ArgType::PTR_TO_STACK_OR_NULL);

        let p = helper_by_id(ids::TRACE_PRINTK).expect("printk");
        assert_eq!(p.declared_args(), &[ArgType::PTR_TO_MEM_RDONLY, ArgType::CONST_SIZE]);

        let p = helper_by_id(ids::PROBE_READ).expect("probe_read");
        assert_eq!(p.args[0], ArgType::PTR_TO_UNINIT_MEM);
        assert!(p.args[0].is_mem() && p.args[1].is_size());

        let p = helper_by_id(ids::KTIME_GET_NS).expect("ktime");
        assert!(p.declared_args().is_empty());
        assert_eq!(p.ret, RetType::INTEGER);

        let p = helper_by_name("strtol").expect("strtol");
        assert_eq!(p.args[3], ArgType::PTR_TO_LONG);
    }

    #[test]
    fn every_size_argument_follows_memory() {
        for p in HELPERS {
            for (i, a) in p.args.iter().enumerate() {
                if a.is_size() {
                    assert!(i > 0 && p.args[i - 1].kind == ArgKind::PtrToMem, "{} arg{}", p.name, i + 1);
                }
            }
        }
    }
}
