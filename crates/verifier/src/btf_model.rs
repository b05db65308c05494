//! The running kernel's BTF as the verifier uses it: the typed arguments of
//! tracing programs (`btf_ctx_access`) and loads through kernel-object pointers
//! (`PTR_TO_BTF_ID`, `btf_struct_walk`).
//!
//! Only what the kernel rejects for certain is rejected (reads past the end of a
//! struct, partial reads of a pointer member, arguments a function does not have);
//! where the kernel's rules get intricate (bitfields, unions, flexible arrays,
//! padding) a read yields an unknown scalar.

use bpfbox_abi::prog_types::{AttachType, ProgType};
use bpfbox_object::btf::{Btf, Kind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// (program type, attach type, target) → the target's arguments.
type TracingMemo = HashMap<(ProgType, Option<u32>, String), Option<Args>>;

/// The kernel's BTF with what the verifier derives from it, each derived once and
/// kept for every later verification: tracing programs' arguments by attach target,
/// struct ids by name. The BTF itself decodes only the types asked for
/// (`Btf::decoded_types`). Shared through [`crate::KernelBtf`].
pub struct KernelModel {
    btf: Arc<Btf>,
    tracing: Mutex<TracingMemo>,
    structs: Mutex<HashMap<&'static str, Option<u32>>>,
    /// How many prototypes were read from the BTF (one per distinct target).
    prototypes_built: AtomicUsize,
}

impl KernelModel {
    pub fn new(btf: Arc<Btf>) -> KernelModel {
        KernelModel { btf, tracing: Mutex::default(), structs: Mutex::default(), prototypes_built: AtomicUsize::new(0) }
    }

    pub fn btf(&self) -> &Arc<Btf> {
        &self.btf
    }

    /// How many tracing prototypes were read from the BTF so far: one per distinct
    /// (program type, attach type, target), however many programs were verified.
    pub fn prototypes_built(&self) -> usize {
        self.prototypes_built.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for KernelModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KernelModel({} types, {} prototypes built)", self.btf.len(), self.prototypes_built())
    }
}

impl std::ops::Deref for KernelModel {
    type Target = Btf;
    fn deref(&self) -> &Btf {
        &self.btf
    }
}

/// What a tracing program finds in one 8-byte context slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg {
    Scalar,
    /// A pointer to the struct or union of kernel BTF type `type_id`.
    Ptr {
        type_id: u32,
        maybe_null: bool,
    },
}

/// The arguments of the function a tracing program attaches to.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    /// The function (or tracepoint) name, for messages.
    pub func: String,
    pub args: Vec<Arg>,
    /// How the kernel numbers `args[0]` in "doesn't have N-th argument": 1, or 2
    /// for tracepoints (whose prototype starts with the hidden `void *__data`).
    pub first_number: usize,
}

/// What a load through a `PTR_TO_BTF_ID` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Walk {
    Scalar,
    /// A pointer member: to the struct or union of this type id.
    Ptr(u32),
    /// The kernel's message.
    Denied(String),
}

fn arg_of(btf: &Btf, type_id: u32, maybe_null: bool) -> Arg {
    let Some((_, t)) = btf.skip_mods_and_typedefs(type_id) else { return Arg::Scalar };
    if t.kind != Kind::Ptr {
        return Arg::Scalar;
    }
    match btf.skip_mods_and_typedefs(t.type_id()) {
        Some((id, p)) if matches!(p.kind, Kind::Struct | Kind::Union) => Arg::Ptr { type_id: id, maybe_null },
        _ => Arg::Scalar,
    }
}

fn func_proto_params(btf: &Btf, func_id: u32) -> Option<(Vec<u32>, u32)> {
    let f = btf.type_by_id(func_id)?;
    let (_, proto) = btf.skip_mods_and_typedefs(f.type_id())?;
    if proto.kind != Kind::FuncProto {
        return None;
    }
    Some((proto.params().iter().map(|p| p.type_id).collect(), proto.type_id()))
}

/// The arguments of a tracing program (`tp_btf`, `fentry`/`fexit`/`fmod_ret`,
/// `lsm`, `iter`) attached to `target`, from the kernel's BTF; `None` when the
/// target or its prototype is not found (the verifier then stays untyped). Read from
/// the BTF once per target and model.
pub(crate) fn tracing_args(
    model: &KernelModel,
    prog_type: ProgType,
    attach: Option<u32>,
    target: &str,
) -> Option<Args> {
    let key = (prog_type, attach, target.to_string());
    let mut memo = model.tracing.lock().unwrap_or_else(|e| e.into_inner());
    memo.entry(key)
        .or_insert_with(|| {
            model.prototypes_built.fetch_add(1, Ordering::Relaxed);
            read_tracing_args(&model.btf, prog_type, attach, target)
        })
        .clone()
}

fn read_tracing_args(btf: &Btf, prog_type: ProgType, attach: Option<u32>, target: &str) -> Option<Args> {
    let attach = attach.and_then(AttachType::from_number);
    let (params, ret, extra_ret, skip_first, nullable_rest, func) = match (prog_type, attach) {
        (ProgType::Tracing, Some(AttachType::TraceRawTp)) => {
            // `btf_trace_NAME` is a typedef of a pointer to the probe's prototype,
            // whose first parameter is the tracepoint's private data.
            let td = btf.find_by_name_kind(&format!("btf_trace_{target}"), Kind::Typedef)?;
            let (_, ptr) = btf.skip_mods_and_typedefs(td)?;
            let (_, proto) = btf.skip_mods_and_typedefs(ptr.type_id())?;
            if proto.kind != Kind::FuncProto {
                return None;
            }
            let params = proto.params().iter().map(|p| p.type_id).collect::<Vec<_>>();
            (params, 0, false, true, false, target.to_string())
        }
        (ProgType::Tracing, Some(AttachType::TraceIter)) => {
            let name = format!("bpf_iter_{target}");
            let id = btf.find_by_name_kind(&name, Kind::Func)?;
            let (params, ret) = func_proto_params(btf, id)?;
            (params, ret, false, false, true, name)
        }
        (ProgType::Tracing, Some(AttachType::TraceFentry)) => {
            let id = btf.find_by_name_kind(target, Kind::Func)?;
            let (params, ret) = func_proto_params(btf, id)?;
            (params, ret, false, false, false, target.to_string())
        }
        (ProgType::Tracing, Some(AttachType::TraceFexit | AttachType::ModifyReturn)) => {
            let id = btf.find_by_name_kind(target, Kind::Func)?;
            let (params, ret) = func_proto_params(btf, id)?;
            (params, ret, true, false, false, target.to_string())
        }
        (ProgType::Lsm, _) => {
            let name = format!("bpf_lsm_{target}");
            let id = btf.find_by_name_kind(&name, Kind::Func)?;
            let (params, ret) = func_proto_params(btf, id)?;
            (params, ret, true, false, false, name)
        }
        _ => return None,
    };
    let mut args: Vec<Arg> = params
        .iter()
        .skip(usize::from(skip_first))
        .enumerate()
        .map(|(i, &t)| arg_of(btf, t, nullable_rest && i > 0))
        .collect();
    if extra_ret {
        // fexit / fmod_ret / lsm see the return value after the arguments.
        args.push(if ret == 0 { Arg::Scalar } else { arg_of(btf, ret, false) });
    }
    Some(Args { func, args, first_number: if skip_first { 2 } else { 1 } })
}

/// A load of `size` bytes at offset `off` of the struct or union `type_id`.
pub(crate) fn struct_access(btf: &Btf, type_id: u32, off: i64, size: u32) -> Walk {
    walk(btf, type_id, off, size, 0)
}

fn walk(btf: &Btf, type_id: u32, off: i64, size: u32, depth: u32) -> Walk {
    let Some((id, t)) = btf.skip_mods_and_typedefs(type_id) else { return Walk::Scalar };
    if !matches!(t.kind, Kind::Struct | Kind::Union) || depth > 32 {
        return Walk::Scalar;
    }
    let tname = btf.type_name(id).to_string();
    let end = off + i64::from(size);
    if off < 0 || end > i64::from(t.size()) {
        // A trailing flexible array lets reads run past the declared size.
        let flex = t.members().last().is_some_and(|m| {
            btf.skip_mods_and_typedefs(m.type_id)
                .is_some_and(|(_, mt)| mt.kind == Kind::Array && mt.array().is_some_and(|a| a.nelems == 0))
                && off >= i64::from(m.bit_offset / 8)
        });
        if flex && off >= 0 {
            return Walk::Scalar;
        }
        return Walk::Denied(format!("access beyond struct {tname} at off {off} size {size}"));
    }
    for m in t.members() {
        if m.bitfield_size != 0 || m.bit_offset % 8 != 0 {
            if off * 8 < i64::from(m.bit_offset) + i64::from(m.bitfield_size.max(1))
                && end * 8 > i64::from(m.bit_offset)
            {
                return Walk::Scalar;
            }
            continue;
        }
        let moff = i64::from(m.bit_offset / 8);
        let Ok(msize) = btf.resolve_size(m.type_id) else { return Walk::Scalar };
        let msize = msize as i64;
        if off < moff || off >= moff + msize.max(1) {
            continue;
        }
        let Some((mid, mt)) = btf.skip_mods_and_typedefs(m.type_id) else { return Walk::Scalar };
        return match mt.kind {
            Kind::Struct | Kind::Union => walk(btf, mid, off - moff, size, depth + 1),
            Kind::Array => {
                let Some(a) = mt.array() else { return Walk::Scalar };
                let Some((eid, et)) = btf.skip_mods_and_typedefs(a.elem_type) else { return Walk::Scalar };
                let esize = btf.resolve_size(eid).unwrap_or(0) as i64;
                if matches!(et.kind, Kind::Struct | Kind::Union) && esize > 0 {
                    walk(btf, eid, (off - moff) % esize, size, depth + 1)
                } else if et.kind == Kind::Ptr && esize == 8 && (off - moff) % 8 == 0 && size == 8 {
                    ptr_member(btf, et.type_id())
                } else {
                    Walk::Scalar
                }
            }
            Kind::Ptr => {
                if i64::from(size) != msize || off != moff {
                    let mname = btf.name(m.name_off);
                    return Walk::Denied(format!(
                        "cannot access ptr member {mname} with moff {moff} in struct {tname} with off {off} size {size}"
                    ));
                }
                ptr_member(btf, mt.type_id())
            }
            _ => Walk::Scalar,
        };
    }
    Walk::Scalar
}

fn ptr_member(btf: &Btf, pointee: u32) -> Walk {
    match btf.skip_mods_and_typedefs(pointee) {
        Some((id, p)) if matches!(p.kind, Kind::Struct | Kind::Union) => Walk::Ptr(id),
        _ => Walk::Scalar,
    }
}

/// The kernel struct behind a map of type `map_type` (`map_ops::map_btf_id`), which
/// privileged programs may read through a map pointer.
pub(crate) fn map_struct(btf: &Btf, map_type: u32) -> Option<u32> {
    let name = match map_type {
        2 | 3 | 4 | 6 | 8 | 12 => "bpf_array",
        1 | 5 | 9 | 10 | 13 => "bpf_htab",
        7 => "bpf_stack_map",
        11 => "lpm_trie",
        14 | 25 => "bpf_dtab",
        15 => "bpf_stab",
        16 => "bpf_cpu_map",
        17 => "xsk_map",
        18 => "bpf_shtab",
        19 | 21 => "bpf_cgroup_storage_map",
        20 => "reuseport_array",
        22 | 23 => "bpf_queue_stack",
        24 | 28 | 29 | 32 => "bpf_local_storage_map",
        26 => "bpf_struct_ops_map",
        27 | 31 => "bpf_ringbuf_map",
        30 => "bpf_bloom_filter",
        33 => "bpf_arena",
        _ => return None,
    };
    btf.find_by_name_kind(name, Kind::Struct)
}

/// The BTF type id of `struct NAME` in the kernel's BTF (looked up once per model).
pub(crate) fn struct_id(model: &KernelModel, name: &'static str) -> Option<u32> {
    let mut memo = model.structs.lock().unwrap_or_else(|e| e.into_inner());
    *memo.entry(name).or_insert_with(|| model.btf.find_by_name_kind(name, Kind::Struct))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn vmlinux() -> Option<&'static KernelModel> {
        static B: OnceLock<Option<KernelModel>> = OnceLock::new();
        let read = || std::fs::read("/sys/kernel/btf/vmlinux").ok().and_then(|b| Btf::parse_vec(b).ok());
        B.get_or_init(|| read().map(|b| KernelModel::new(Arc::new(b)))).as_ref()
    }

    #[test]
    fn task_struct_fields() {
        let Some(btf) = vmlinux() else {
            eprintln!("SKIP: no /sys/kernel/btf/vmlinux");
            return;
        };
        let task = struct_id(btf, "task_struct").expect("task_struct");
        let t = btf.type_by_id(task).unwrap();
        // Past the end.
        let past = struct_access(btf, task, i64::from(t.size()), 8);
        assert!(matches!(&past, Walk::Denied(m) if m.starts_with("access beyond struct task_struct")), "{past:?}");
        // `pid` is an int; `real_parent` a pointer to task_struct; half of it is denied.
        let member_off = |name: &str| {
            t.members().iter().find(|m| btf.name(m.name_off) == name).map(|m| i64::from(m.bit_offset / 8)).unwrap()
        };
        assert_eq!(struct_access(btf, task, member_off("pid"), 4), Walk::Scalar);
        assert_eq!(struct_access(btf, task, member_off("real_parent"), 8), Walk::Ptr(task));
        let half = struct_access(btf, task, member_off("real_parent") + 4, 4);
        assert!(matches!(&half, Walk::Denied(m) if m.starts_with("cannot access ptr member real_parent")), "{half:?}");
    }

    #[test]
    fn map_structs_exist_in_the_kernel() {
        let Some(btf) = vmlinux() else {
            eprintln!("SKIP: no /sys/kernel/btf/vmlinux");
            return;
        };
        // Every map type up to BPF_MAP_TYPE_ARENA (33) has a kernel struct here.
        for t in 1..=33 {
            assert!(map_struct(btf, t).is_some(), "map type {t}: its kernel struct is not in vmlinux");
        }
        assert_eq!(map_struct(btf, 0), None);
    }

    #[test]
    fn tracing_arguments() {
        let Some(btf) = vmlinux() else {
            eprintln!("SKIP: no /sys/kernel/btf/vmlinux");
            return;
        };
        let task = struct_id(btf, "task_struct").unwrap();
        // sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
        let a = tracing_args(btf, ProgType::Tracing, Some(AttachType::TraceRawTp.number()), "sched_switch").unwrap();
        assert_eq!(a.args.len(), 4);
        assert_eq!(a.args[0], Arg::Scalar);
        assert_eq!(a.args[1], Arg::Ptr { type_id: task, maybe_null: false });
        // iter/task: (struct bpf_iter_meta *meta, struct task_struct *task), task may be NULL.
        let i = tracing_args(btf, ProgType::Tracing, Some(AttachType::TraceIter.number()), "task").unwrap();
        assert_eq!(i.args[1], Arg::Ptr { type_id: task, maybe_null: true });
        // fexit sees the return value last.
        let f = tracing_args(btf, ProgType::Tracing, Some(AttachType::TraceFexit.number()), "vfs_read").unwrap();
        assert_eq!(f.args.len(), 5);
        assert_eq!(f.args[4], Arg::Scalar);
    }
}
