//! Verifier inputs from a loaded ELF object (`bpfbox_object::load`).

use crate::{FuncArg, FuncSig, KernelBtf, MapInfo, ProgramInput};
use bpfbox_abi::prog_types::ProgType;
use bpfbox_object::btf::{Btf, Detail, Kind, Type};
use bpfbox_object::{LoadedObject, MapSpec, ProgramSpec};

/// The offset of a top-level member of struct type `ty` (`bpf_spin_lock`, `bpf_timer`)
/// in the map's value type.
fn special_field_off(obj: &LoadedObject, m: &MapSpec, ty: &str) -> Option<u32> {
    let btf = obj.btf.as_deref()?;
    let (_, value) = btf.skip_mods_and_typedefs(m.value_type_id?)?;
    value.members().iter().find_map(|mem| {
        let (_, t) = btf.skip_mods_and_typedefs(mem.type_id)?;
        (btf.name(t.name_off) == ty).then_some(mem.bit_offset / 8)
    })
}

fn map_info(obj: &LoadedObject, m: &MapSpec) -> MapInfo {
    MapInfo {
        name: m.name.clone(),
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        frozen: m.frozen,
        map_flags: m.map_flags,
        inner: m.inner.as_deref().map(|i| Box::new(map_info(obj, i))),
        spin_lock_off: special_field_off(obj, m, "bpf_spin_lock"),
        timer_off: special_field_off(obj, m, "bpf_timer"),
        frozen_data: if m.frozen && m.map_type == 2 { m.initial_data.clone() } else { None },
    }
}

/// The verifier's view of program `prog` of `obj`; `None` when the program's type
/// is unknown (the caller must name one). Without kernel BTF (set
/// `ProgramInput::kernel_btf`, or use [`input_with_kernel_btf`]) kernel pointers
/// stay untyped.
pub fn input_from_object(obj: &LoadedObject, prog: &ProgramSpec) -> Option<ProgramInput> {
    let prog_type: ProgType = prog.prog_type?;
    Some(ProgramInput {
        name: prog.name.clone(),
        insns: prog.insns.clone(),
        prog_type,
        expected_attach_type: prog.expected_attach_type.map(|a| a.number()),
        maps: obj.maps.iter().map(|m| map_info(obj, m)).collect(),
        attach_target: prog.attach_target.clone(),
        sleepable: prog.sleepable,
        kernel_btf: None,
        funcs: func_sigs(obj, prog, prog_type),
    })
}

/// The context struct a program type's functions take (`bpf_ctx_convert`'s
/// `prog_ctx_type` in Linux 6.18's `bpf_types.h`); `None` where it is not a named
/// struct (`__u64`, `void *`: such functions need `__arg_ctx`).
fn ctx_struct(pt: ProgType) -> Option<&'static str> {
    use ProgType::*;
    Some(match pt {
        SocketFilter | SchedCls | SchedAct | CgroupSkb | LwtIn | LwtOut | LwtXmit | LwtSeg6local | SkSkb
        | FlowDissector => "__sk_buff",
        Xdp => "xdp_md",
        CgroupSock => "bpf_sock",
        CgroupSockAddr => "bpf_sock_addr",
        SockOps => "bpf_sock_ops",
        SkMsg => "sk_msg_md",
        // `bpf_user_pt_regs_t`, a typedef of `struct pt_regs` on x86-64.
        Kprobe => "pt_regs",
        PerfEvent => "bpf_perf_event_data",
        RawTracepoint | RawTracepointWritable => "bpf_raw_tracepoint_args",
        CgroupDevice => "bpf_cgroup_dev_ctx",
        CgroupSysctl => "bpf_sysctl",
        CgroupSockopt => "bpf_sockopt",
        SkReuseport => "sk_reuseport_md",
        SkLookup => "bpf_sk_lookup",
        Netfilter => "bpf_nf_ctx",
        _ => return None,
    })
}

/// The kernel's `btf_type_is_modifier` (typedefs included).
fn skip_modifiers(btf: &Btf, id: u32) -> Option<(u32, &Type)> {
    btf.skip_mods_and_typedefs(id)
}

/// `btf_is_prog_ctx_type`: `ptr` (a pointer type) points to the program type's
/// context struct (or the kernel struct it projects: `sk_buff`, `xdp_buff`).
fn is_prog_ctx_type(btf: &Btf, ptr: &Type, pt: ProgType) -> bool {
    if pt == ProgType::Kprobe {
        if let Some((_, t)) = btf.skip_mods(ptr.type_id()) {
            if t.kind == Kind::Typedef && btf.name(t.name_off) == "bpf_user_pt_regs_t" {
                return true;
            }
        }
    }
    let Some((_, t)) = skip_modifiers(btf, ptr.type_id()) else { return false };
    if !t.kind.is_composite() {
        return false;
    }
    let name = btf.name(t.name_off);
    match ctx_struct(pt) {
        Some(ctx) => name == ctx || (ctx, name) == ("__sk_buff", "sk_buff") || (ctx, name) == ("xdp_md", "xdp_buff"),
        None => false,
    }
}

/// The kernel's `btf_resolve_size` (`void`, forward declarations and functions
/// have no size; unlike libbpf's, no variables or decl tags).
fn kernel_resolve_size(btf: &Btf, mut id: u32) -> Option<u32> {
    let mut nelems: u64 = 1;
    for _ in 0..32 {
        let t = btf.type_by_id(id)?;
        let size = match t.kind {
            Kind::Int | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Float => t.size() as u64,
            Kind::Ptr => 8,
            Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                id = t.type_id();
                continue;
            }
            Kind::Array => {
                let a = t.array()?;
                nelems = nelems.checked_mul(a.nelems as u64).filter(|n| *n <= u32::MAX as u64)?;
                id = a.elem_type;
                continue;
            }
            _ => return None,
        };
        return u32::try_from(nelems.checked_mul(size)?).ok();
    }
    None
}

/// What the kernel calls a BTF kind in messages (`btf_type_str`).
fn kind_str(k: Kind) -> &'static str {
    if k == Kind::Unknown {
        "UNKNOWN"
    } else {
        k.name()
    }
}

const ARG_TAG_CTX: u32 = 1;
const ARG_TAG_NONNULL: u32 = 2;
const ARG_TAG_TRUSTED: u32 = 4;
const ARG_TAG_UNTRUSTED: u32 = 8;
const ARG_TAG_NULLABLE: u32 = 16;
const ARG_TAG_ARENA: u32 = 32;

/// `btf_prepare_func_args` for a global function: its arguments, or the kernel's
/// message (`i`-th `arg:` decl tags in `tags`).
fn global_args(btf: &Btf, func: &Type, name: &str, pt: ProgType, tags: &[(i32, &str)]) -> Result<Vec<FuncArg>, String> {
    let Some(proto) = btf.type_by_id(func.type_id()).filter(|t| t.kind == Kind::FuncProto) else {
        return Err(format!("Invalid type of function {name}()"));
    };
    let params = proto.params();
    if params.len() > 5 {
        return Err(format!("Global function {name}() with {} > 5 args. Buggy compiler.", params.len()));
    }
    let ret = skip_modifiers(btf, proto.type_id()).map(|(_, t)| t.kind);
    if !matches!(ret, Some(Kind::Int | Kind::Enum | Kind::Enum64)) {
        return Err(format!("Global function {name}() doesn't return scalar. Only those are supported."));
    }
    let mut args = Vec::new();
    for (i, param) in params.iter().enumerate() {
        let mut set = 0;
        for (_, tag) in tags.iter().filter(|(c, _)| *c == i as i32) {
            set |= match *tag {
                "ctx" => ARG_TAG_CTX,
                "trusted" => ARG_TAG_TRUSTED,
                "untrusted" => ARG_TAG_UNTRUSTED,
                "nonnull" => ARG_TAG_NONNULL,
                "nullable" => ARG_TAG_NULLABLE,
                "arena" => ARG_TAG_ARENA,
                _ => return Err(format!("arg#{i} has unsupported set of tags")),
            };
        }
        let invalid = || Err(format!("arg#{i} has invalid combination of tags"));
        let Some((_, t)) = skip_modifiers(btf, param.type_id) else {
            return Err(format!("Arg#{i} type UNKNOWN in {name}() is not supported yet."));
        };
        if t.kind != Kind::Ptr {
            if set != 0 {
                return Err(format!("arg#{i} has pointer tag, but is not a pointer type"));
            }
            if t.kind == Kind::Int || t.kind.is_any_enum() {
                args.push(FuncArg::Scalar);
                continue;
            }
            return Err(format!("Arg#{i} type {} in {name}() is not supported yet.", kind_str(t.kind)));
        }
        if set & ARG_TAG_CTX != 0 || is_prog_ctx_type(btf, t, pt) {
            if set & !ARG_TAG_CTX != 0 {
                return invalid();
            }
            args.push(FuncArg::Ctx);
            continue;
        }
        let pointee = skip_modifiers(btf, t.type_id());
        if pointee.is_some_and(|(_, p)| p.kind == Kind::Struct && btf.name(p.name_off) == "bpf_dynptr") {
            if set != 0 {
                return invalid();
            }
            args.push(FuncArg::Unsupported(format!("arg#{i} is a struct bpf_dynptr pointer")));
            continue;
        }
        if set & (ARG_TAG_TRUSTED | ARG_TAG_UNTRUSTED | ARG_TAG_ARENA) != 0 {
            args.push(FuncArg::Unsupported(format!("arg#{i} is tagged trusted, untrusted or arena")));
            continue;
        }
        if set & ARG_TAG_NULLABLE != 0 {
            return invalid();
        }
        let size = pointee.and_then(|(id, _)| kernel_resolve_size(btf, id));
        let Some(size) = size else {
            let (kind, pname) = pointee.map_or(("UNKNOWN", ""), |(_, p)| (kind_str(p.kind), btf.name(p.name_off)));
            return Err(format!("arg#{i} reference type('{kind} {pname}') size cannot be determined: -22"));
        };
        args.push(FuncArg::Mem { size, nullable: set & ARG_TAG_NONNULL == 0 });
    }
    Ok(args)
}

/// The BTF signatures of `prog`'s subprograms (empty without BTF or func info).
fn func_sigs(obj: &LoadedObject, prog: &ProgramSpec, pt: ProgType) -> Vec<FuncSig> {
    let Some(btf) = obj.btf.as_deref() else { return vec![] };
    // `arg:` decl tags, by the FUNC they tag: (component index, tag).
    let mut tags: std::collections::HashMap<u32, Vec<(i32, &str)>> = Default::default();
    for (_, t) in btf.types() {
        if let (Kind::DeclTag, Detail::DeclTag { component_idx }) = (t.kind, &t.detail) {
            if let Some(tag) = btf.name(t.name_off).strip_prefix("arg:") {
                tags.entry(t.type_id()).or_default().push((*component_idx, tag));
            }
        }
    }
    prog.func_info
        .iter()
        .filter_map(|fi| {
            let func = btf.type_by_id(fi.type_id).filter(|t| t.kind == Kind::Func)?;
            let name = btf.name(func.name_off).to_string();
            let global = func.linkage() == 1;
            let args = if global {
                global_args(btf, func, &name, pt, tags.get(&fi.type_id).map_or(&[], |v| v.as_slice()))
            } else {
                Ok(vec![])
            };
            Some(FuncSig { insn_off: fi.insn_off, name, global, args })
        })
        .collect()
}

/// [`input_from_object`] with the kernel's BTF (typically the one the object's CO-RE
/// relocations were resolved against). Make the [`KernelBtf`] once and pass it to
/// every program: what the verifier derives from the BTF is kept in it.
pub fn input_with_kernel_btf(
    obj: &LoadedObject,
    prog: &ProgramSpec,
    kernel_btf: Option<&KernelBtf>,
) -> Option<ProgramInput> {
    let mut input = input_from_object(obj, prog)?;
    input.kernel_btf = kernel_btf.cloned();
    Some(input)
}
