//! Calls and returns: helper calls (`check_helper_call`: which helpers a program may
//! call, argument types against the prototype, map compatibility, the return type,
//! acquired and released references, callbacks), `bpf_spin_lock`/`bpf_spin_unlock`,
//! frames pushed for subprograms and callbacks, and `exit` (`prepare_func_exit`,
//! `check_return_code`). Kfuncs are handled in `check.rs`'s dispatch (untyped); global
//! functions in `global_funcs.rs`.

use super::mem::ptr_alignment;
use super::precision::Need;
use super::{fail, with_hint, Next, Path, Verifier, MAX_CALL_FRAMES, MAX_VAR_OFF, R};
use crate::bounds::Scalar;
use crate::ctx;
use crate::state::{Frame, IterState, Reference, RegState, RegType, SlotType, SpinLock, StackSlot, State, MAX_STACK};
use crate::Rule;
use bpfbox_abi::prog_types::ProgType;
use bpfbox_abi::{helper_by_id, ArgKind, HelperProto, RetKind, TypeFlags};
use std::fmt::Write as _;

/// Helpers socket filters and `cgroup_skb` programs may call only with CAP_BPF or
/// CAP_PERFMON (measured on Linux 6.18: allowed to root, "cannot use helper" for uid
/// 65534).
const UNPRIV_REFUSED_HELPERS: &[u32] = &[
    6, 16, 17, 22, 35, 37, 55, 80, 93, 94, 109, 112, 113, 114, 115, 117, 118, 123, 136, 137, 138, 139, 140, 141, 148,
    149, 153, 154, 156, 157, 158, 164, 165, 169, 170, 171, 172, 175, 176, 177, 178, 180, 181, 191, 194, 196, 197, 198,
    199, 200, 201, 202, 203, 209, 210, 211,
];

/// Helpers that may change packet data (`bpf_helper_changes_pkt_data`).
pub(super) const PKT_CHANGING: &[&str] = &[
    "skb_vlan_push",
    "skb_vlan_pop",
    "skb_store_bytes",
    "skb_change_proto",
    "skb_change_head",
    "skb_change_tail",
    "skb_adjust_room",
    "skb_pull_data",
    "clone_redirect",
    "l3_csum_replace",
    "l4_csum_replace",
    "xdp_adjust_head",
    "xdp_adjust_meta",
    "msg_pull_data",
    "msg_push_data",
    "msg_pop_data",
    "xdp_adjust_tail",
    "lwt_push_encap",
    "lwt_seg6_store_bytes",
    "lwt_seg6_adjust_srh",
    "lwt_seg6_action",
];

/// Helpers that return an acquired reference (and `map_lookup_elem` on a sockmap or
/// sockhash, `is_acquire_function`).
const ACQUIRE: &[&str] = &["ringbuf_reserve", "sk_lookup_tcp", "sk_lookup_udp", "skc_lookup_tcp"];

/// Helpers that return their socket argument as another socket type
/// (`is_ptr_cast_function`).
const PTR_CAST: &[&str] = &[
    "tcp_sock",
    "sk_fullsock",
    "skc_to_tcp_sock",
    "skc_to_tcp6_sock",
    "skc_to_udp6_sock",
    "skc_to_mptcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
];

/// Helpers whose prototype sets `pkt_access`: the only ones that may be given packet
/// memory (`may_access_direct_pkt_data` with a helper's `meta`); cgroup_sockopt
/// programs may give it to any helper.
const PKT_ACCESS: &[&str] = &[
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "map_push_elem",
    "map_lookup_percpu_elem",
    "csum_diff",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "skc_lookup_tcp",
    "tcp_check_syncookie",
    "tcp_gen_syncookie",
    "tcp_raw_gen_syncookie_ipv4",
    "tcp_raw_gen_syncookie_ipv6",
    "tcp_raw_check_syncookie_ipv4",
    "tcp_raw_check_syncookie_ipv6",
];

/// `may_update_sockmap`: program types that may update (or delete from) a sockmap or
/// sockhash with `map_update_elem`/`map_delete_elem`.
fn may_update_sockmap(t: ProgType, attach: Option<u32>, func: &str) -> bool {
    const BPF_TRACE_ITER: u32 = 28;
    match t {
        ProgType::Tracing => attach == Some(BPF_TRACE_ITER),
        ProgType::SockOps => func == "map_delete_elem",
        ProgType::SocketFilter
        | ProgType::SchedCls
        | ProgType::SchedAct
        | ProgType::Xdp
        | ProgType::SkReuseport
        | ProgType::FlowDissector
        | ProgType::SkLookup => true,
        _ => false,
    }
}

fn invalid_scalar_msg(ctx: &str, v: &Scalar, range: (i32, i32)) -> String {
    let mut s = format!("{ctx} the register R0 has");
    let mut unknown = true;
    if v.smin > i64::MIN {
        let _ = write!(s, " smin={}", v.smin);
        unknown = false;
    }
    if v.smax < i64::MAX {
        let _ = write!(s, " smax={}", v.smax);
        unknown = false;
    }
    if unknown {
        s.push_str(" unknown scalar value");
    }
    let _ = write!(s, " should have been in [{}, {}]", range.0, range.1);
    s
}

impl Verifier<'_> {
    pub(super) fn clobber_caller_saved(&self, st: &mut State) {
        for r in 1..=5 {
            *st.reg_mut(r) = RegState::NOT_INIT;
        }
    }

    pub(super) fn push_frame(&mut self, st: &mut State, callsite: usize, target: usize, callback: bool) -> R<()> {
        if st.frames.len() >= MAX_CALL_FRAMES {
            return fail(
                Rule::CallDepth,
                format!("the call stack of {} frames is too deep !", st.frames.len() + 1),
                &[],
            );
        }
        let sub = self.cfg.subprog_of(target);
        let frameno = st.frames.len() as u32;
        let mut f = Frame::new(sub, Some(callsite), frameno);
        f.callback = callback;
        if !callback {
            for r in 1..=5 {
                f.regs[r] = *st.reg(r);
            }
        }
        st.frames.push(f);
        Ok(())
    }

    pub(super) fn exit(&mut self, p: &mut Path) -> R<Next> {
        // Like the kernel, a subprogram's exit does not require r0 (void functions).
        // struct_ops callbacks may return void (their BTF type says; bpfbox has no BTF here).
        // A callback's r0 is checked below ("R0 not a scalar value").
        let lax = p.st.frames.len() > 1 || self.prog.prog_type == ProgType::StructOps;
        let r0 = if lax { *p.st.reg(0) } else { self.read_reg(&p.st, 0)? };
        if p.st.frames.len() > 1 {
            let callee = p.st.frames.pop().expect("frame");
            // Any stack pointer, the caller's included (prepare_func_exit is conservative).
            if r0.ty == RegType::Stack {
                return with_hint(fail(Rule::PointerLeak, "cannot return stack pointer to the caller", &[0]), || {
                    "a function may not return a stack pointer, not even one its caller passed in: return a scalar (or write through the pointer)".into()
                });
            }
            let callsite = callee.callsite.unwrap_or(0);
            let ret = if callee.callback {
                self.dseeds.push((p.pc, Need { regs: 1, slots: 0 }));
                if r0.ty != RegType::Scalar {
                    return fail(Rule::ReturnValue, "R0 not a scalar value", &[0]);
                }
                if r0.var.smin < 0 || r0.var.smax > 1 {
                    return fail(Rule::ReturnValue, invalid_scalar_msg("At callback return", &r0.var, (0, 1)), &[0]);
                }
                RegState::unknown()
            } else {
                r0
            };
            self.clobber_caller_saved(&mut p.st);
            *p.st.reg_mut(0) = ret;
            return Ok(Next::Goto(callsite + 1));
        }
        if p.st.lock.is_some() {
            return fail(
                Rule::UnreleasedReference,
                "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region",
                &[],
            );
        }
        if let Some(r) = p.st.refs.first() {
            let (id, insn) = (r.id, r.insn);
            let iter = self.insns.get(insn).is_some_and(|i| {
                matches!(*i, bpfbox_isa::Insn::Call(bpfbox_isa::CallTarget::Kfunc { btf_id, .. })
                    if bpfbox_abi::kfuncs::kfunc_name(btf_id) == Some("bpf_iter_num_new"))
            });
            return with_hint(
                fail(Rule::UnreleasedReference, format!("Unreleased reference id={id} alloc_insn={insn}"), &[]),
                || {
                    if iter {
                        format!("the iterator created at insn {insn} must be destroyed on every path: call bpf_iter_num_destroy() on it before this exit")
                    } else {
                        format!(
                            "the object acquired at insn {insn} must be released on every path: for a ring buffer record call bpf_ringbuf_submit() or bpf_ringbuf_discard() before this exit"
                        )
                    }
                },
            );
        }
        if p.st.rcu {
            return with_hint(
                fail(
                    Rule::UnreleasedReference,
                    "BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region",
                    &[],
                ),
                || "call bpf_rcu_read_unlock() on every path before the program returns".into(),
            );
        }
        if p.st.frames[0].subprog != 0 {
            return self.global_exit(p);
        }
        if let Some(range) = ctx::return_range(self.prog.prog_type, self.prog.expected_attach_type) {
            // check_return_code: r0's range matters (mark_chain_precision).
            self.dseeds.push((p.pc, Need { regs: 1, slots: 0 }));
            if r0.ty != RegType::Scalar {
                return fail(
                    Rule::ReturnValue,
                    format!("At program exit the register R0 is not a known value ({})", r0.type_str()),
                    &[0],
                );
            }
            if r0.var.smin < range.0 as i64 || r0.var.smax > range.1 as i64 {
                return with_hint(
                    fail(Rule::ReturnValue, invalid_scalar_msg("At program exit", &r0.var, range), &[0]),
                    || {
                        format!(
                            "{} programs must return a value in [{}, {}]",
                            self.prog.prog_type.name(),
                            range.0,
                            range.1
                        )
                    },
                );
            }
        } else if r0.is_ptr() && self.opts.unprivileged {
            return fail(Rule::PointerLeak, "R0 leaks addr as return value", &[0]);
        }
        Ok(Next::Done)
    }

    /// `bpf_spin_lock`/`bpf_spin_unlock` (`process_spin_lock`), and no other helper
    /// while a lock is held. bpfbox has no map BTF: where the lock lives in the value
    /// is not checked, only that lock and unlock pair on the same constant offset of
    /// the same map value.
    pub(super) fn spin_lock_call(&mut self, st: &mut State, id: i32, pc: usize) -> R<()> {
        const SPIN_LOCK: i32 = 93;
        const SPIN_UNLOCK: i32 = 94;
        // Every helper but the unlock, a second bpf_spin_lock included.
        if st.lock.is_some() && id != SPIN_UNLOCK {
            return fail(Rule::Unsupported, "function calls are not allowed while holding a lock", &[]);
        }
        if id != SPIN_LOCK && id != SPIN_UNLOCK {
            return Ok(());
        }
        let r1 = self.read_reg(st, 1)?;
        if r1.ty != RegType::MapValue || r1.maybe_null {
            return fail(Rule::HelperArg, format!("R1 type={} expected=map_value, ptr_", r1.type_str()), &[1]);
        }
        if !r1.var.is_const() {
            return fail(
                Rule::HelperArg,
                "R1 doesn't have constant offset. bpf_spin_lock has to be at the constant offset",
                &[1],
            );
        }
        let lock = SpinLock { map: r1.map, off: r1.off as i64 + r1.var.var.value as i64, id: r1.id, insn: pc };
        let mi = self.map(r1.map);
        match mi.spin_lock_off {
            None => {
                return fail(Rule::HelperArg, format!("map '{}' has no valid bpf_spin_lock", mi.name), &[1]);
            }
            Some(at) if at as i64 != lock.off => {
                return fail(
                    Rule::HelperArg,
                    format!("off {} doesn't point to 'struct bpf_spin_lock' that is at {at}", lock.off),
                    &[1],
                );
            }
            Some(_) => {}
        }
        if id == SPIN_LOCK {
            st.lock = Some(lock);
            return Ok(());
        }
        match st.lock {
            None => fail(Rule::UnreleasedReference, "bpf_spin_unlock without taking a lock", &[]),
            Some(l) if (l.map, l.off, l.id) != (lock.map, lock.off, lock.id) => {
                fail(Rule::UnreleasedReference, "bpf_spin_unlock of different lock", &[])
            }
            Some(_) => {
                st.lock = None;
                Ok(())
            }
        }
    }

    pub(super) fn helper_call(&mut self, p: &mut Path, id: i32) -> R<()> {
        let pc = p.pc;
        let host = self.opts.host_helpers.iter().find(|h| i64::from(h.id) == i64::from(id));
        let Some(proto) = host.or_else(|| u32::try_from(id).ok().and_then(helper_by_id)) else {
            let hosts = &self.opts.host_helpers;
            return with_hint(fail(Rule::UnknownHelper, format!("invalid func unknown#{id}"), &[]), || {
                if hosts.is_empty() {
                    return "this helper id does not exist in the kernel".into();
                }
                let ids: Vec<String> = hosts.iter().map(|h| format!("{}#{}", h.name, h.id)).collect();
                format!("this helper id is neither a kernel helper nor a host helper ({})", ids.join(", "))
            });
        };
        let proto: &HelperProto = proto;
        let name = proto.name;
        // The kernel's get_func_proto for this program type (a table generated from the kernel).
        let (prog_type, hid) = (self.prog.prog_type, proto.id);
        let helpers = &self.opts.facts().helpers;
        let sleepable = self.prog.sleepable || self.opts.prog_flags & crate::BPF_F_SLEEPABLE != 0;
        // Host helpers are available to every program type.
        let access = match host {
            Some(_) => None,
            None => helpers.access(prog_type, self.prog.expected_attach_type, Some(sleepable), hid),
        };
        if let Some(msg) = access.and_then(|a| a.kernel_message(name, hid)) {
            use bpfbox_abi::helper_access::HelperAccess;
            return with_hint(fail(Rule::UnknownHelper, msg, &[]), || {
                let attach = helpers.attach_types_allowing(prog_type, hid);
                let types: Vec<&str> = helpers.prog_types_allowing(hid).iter().map(|t| t.name()).collect();
                let mut h = if access == Some(HelperAccess::MightSleep) {
                    format!("bpf_{name} may sleep: only sleepable programs (uprobe.s, syscall, ...) may call it")
                } else if !attach.is_empty() {
                    let a: Vec<String> = attach.iter().map(|a| a.map_or("none".into(), |a| format!("{a:?}"))).collect();
                    format!("{prog_type} programs may call bpf_{name} only with expected attach type {}", a.join(", "))
                } else if types.is_empty() {
                    format!("bpf_{name} is not available to the program types bpfbox knows the helpers of")
                } else {
                    let more = if types.len() > 4 { ", ..." } else { "" };
                    format!("bpf_{name} is available to {}{more}", types[..types.len().min(4)].join(", "))
                };
                if prog_type == ProgType::Xdp && matches!(name, "skb_load_bytes" | "skb_store_bytes") {
                    h.push_str("; in XDP use direct packet access or bpf_xdp_load_bytes/bpf_xdp_store_bytes");
                }
                h
            });
        }
        if self.opts.unprivileged
            && matches!(prog_type, ProgType::SocketFilter | ProgType::CgroupSkb)
            && UNPRIV_REFUSED_HELPERS.contains(&hid)
        {
            return with_hint(
                fail(Rule::UnknownHelper, format!("program of this type cannot use helper bpf_{name}#{hid}"), &[]),
                || format!("bpf_{name} needs CAP_BPF or CAP_PERFMON: unprivileged programs cannot call it"),
            );
        }
        if name == "tail_call" && !p.st.refs.is_empty() {
            let (id, insn) = (p.st.refs[0].id, p.st.refs[0].insn);
            let msg = format!("Unreleased reference id={id} alloc_insn={insn}\ntail_call would lead to reference leak");
            return fail(Rule::UnreleasedReference, msg, &[]);
        }
        if name == "tail_call" && p.st.rcu {
            return fail(Rule::UnreleasedReference, "tail_call cannot be used inside bpf_rcu_read_lock-ed region", &[]);
        }
        let arg1_ref = p.st.reg(1).ref_obj_id;
        let args = proto.declared_args();
        let mut map: Option<u32> = None;
        let mut alloc_size: Option<u64> = None;
        let mut release: Option<(usize, u32)> = None;
        let mut callback: Option<usize> = None;
        for (i, a) in args.iter().enumerate() {
            let regno = i + 1;
            let reg = self.read_reg(&p.st, regno)?;
            let rn = regno as u8;
            let maybe_null_ok = a.flags.contains(TypeFlags::MAYBE_NULL);
            if maybe_null_ok && reg.is_null_const() {
                continue;
            }
            let type_err = |exp: &str| -> R<()> {
                fail(Rule::HelperArg, format!("R{regno} type={} expected={exp}", reg.type_str()), &[rn])
            };
            // Host helpers read program memory through bpfbox's checked copies: they
            // may be given packet memory (its size is checked as any memory's).
            if !matches!(a.kind, ArgKind::DontCare | ArgKind::Anything)
                && reg.is_pkt()
                && host.is_none()
                && !(prog_type == ProgType::CgroupSockopt || PKT_ACCESS.contains(&name) && self.direct_pkt_read())
            {
                return with_hint(fail(Rule::HelperArg, "helper access to the packet is not allowed", &[rn]), || {
                    format!("bpf_{name} may not read packet memory here: copy the bytes to the stack first")
                });
            }
            match a.kind {
                ArgKind::DontCare | ArgKind::Anything => {
                    if a.kind == ArgKind::Anything && reg.is_ptr() && self.opts.unprivileged {
                        return fail(Rule::PointerLeak, format!("R{regno} leaks addr into helper function"), &[rn]);
                    }
                }
                ArgKind::ConstMapPtr => {
                    if reg.ty != RegType::ConstMapPtr || reg.maybe_null {
                        // An inner map from a map-in-map lookup is NULL when the slot is empty.
                        return with_hint(type_err("map_ptr"), || {
                            "a map-in-map lookup may return NULL: check the inner map pointer first".into()
                        });
                    }
                    // Map/helper compatibility is checked after all arguments, as in the kernel.
                    map = Some(reg.map);
                }
                ArgKind::PtrToMapValue if map.is_some_and(|m| matches!(self.map(m).map_type, 15 | 18)) => {
                    // resolve_map_arg_type: a sockmap/sockhash value is a socket.
                    if a.flags.contains(TypeFlags::UNINIT) {
                        return fail(Rule::HelperArg, "invalid arg_type for sockmap/sockhash", &[rn]);
                    }
                    if let Err(expected) = crate::sock::arg_ok(ArgKind::PtrToBtfIdSockCommon, false, &reg) {
                        return type_err(expected);
                    }
                }
                ArgKind::PtrToMapKey | ArgKind::PtrToMapValue => {
                    let Some(m) = map else {
                        return fail(
                            Rule::HelperArg,
                            format!(
                                "invalid map_ptr to access map->{}",
                                if a.kind == ArgKind::PtrToMapKey { "key" } else { "value" }
                            ),
                            &[rn],
                        );
                    };
                    if !matches!(
                        reg.ty,
                        RegType::Stack
                            | RegType::Packet
                            | RegType::PacketMeta
                            | RegType::MapKey
                            | RegType::MapValue
                            | RegType::Mem
                    ) || reg.maybe_null
                    {
                        return type_err("fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_");
                    }
                    let mi = self.map(m);
                    let size = if a.kind == ArgKind::PtrToMapKey { mi.key_size } else { mi.value_size } as u64;
                    if size == 0 {
                        return fail(Rule::HelperArg, "invalid zero-sized read", &[rn]);
                    }
                    let uninit = a.flags.contains(TypeFlags::UNINIT);
                    self.helper_mem(&mut p.st, regno, size, size, uninit, uninit, pc)?;
                }
                ArgKind::PtrToMem | ArgKind::PtrToFixedSizeMem(_) => {
                    if let ArgKind::PtrToFixedSizeMem(n) = a.kind {
                        let uninit = a.flags.contains(TypeFlags::UNINIT);
                        self.helper_mem(
                            &mut p.st,
                            regno,
                            n as u64,
                            n as u64,
                            uninit || a.flags.contains(TypeFlags::WRITE),
                            uninit,
                            pc,
                        )?;
                        // MEM_ALIGNED (the former ARG_PTR_TO_LONG/INT): check_ptr_alignment, strict.
                        if a.flags.contains(TypeFlags::ALIGNED) {
                            match reg.ty {
                                RegType::Stack | RegType::MapValue | RegType::Mem => ptr_alignment(&reg, 0, n, regno)?,
                                _ => {}
                            }
                        }
                    } else if !reg.is_ptr() {
                        // NULL only where the prototype says PTR_MAYBE_NULL (handled above).
                        return type_err("fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_");
                    }
                    // The size comes with the next argument.
                }
                ArgKind::ConstSize | ArgKind::ConstSizeOrZero => {
                    if reg.ty != RegType::Scalar {
                        return type_err("scalar");
                    }
                    let v = reg.var;
                    if v.smin < 0 {
                        return with_hint(
                            fail(
                                Rule::HelperArg,
                                format!(
                                    "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."
                                ),
                                &[rn],
                            ),
                            || {
                                "the size passed to the helper may be negative: bound it (e.g. `if (len > sizeof(buf)) len = sizeof(buf);` with an unsigned type)".into()
                            },
                        );
                    }
                    if v.umin == 0 && a.kind == ArgKind::ConstSize {
                        return fail(
                            Rule::HelperArg,
                            format!("R{regno} invalid zero-sized read: u64=[{},{}]", v.umin, v.umax),
                            &[rn],
                        );
                    }
                    if v.umax >= MAX_VAR_OFF as u64 {
                        return with_hint(
                            fail(
                                Rule::HelperArg,
                                format!("R{regno} unbounded memory access, use 'var &= const' or 'if (var < const)'"),
                                &[rn],
                            ),
                            || "bound the size with `if (len > N)` or `len &= N-1` before the call".into(),
                        );
                    }
                    let prev = &args[i - 1];
                    let mem_reg = *p.st.reg(regno - 1);
                    if mem_reg.is_null_const() && v.umax == 0 {
                        continue;
                    }
                    if mem_reg.is_null_const() {
                        return fail(
                            Rule::HelperArg,
                            format!(
                                "R{} type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_",
                                regno - 1
                            ),
                            &[regno as u8 - 1],
                        );
                    }
                    let uninit = prev.flags.contains(TypeFlags::UNINIT);
                    let write = uninit || prev.flags.contains(TypeFlags::WRITE);
                    self.helper_mem(&mut p.st, regno - 1, v.umin, v.umax, write, uninit, pc)?;
                }
                ArgKind::ConstAllocSizeOrZero => {
                    let Some(c) = reg.var.const_value().filter(|_| reg.ty == RegType::Scalar) else {
                        return fail(Rule::HelperArg, format!("R{regno} is not a known constant'"), &[rn]);
                    };
                    alloc_size = Some(c);
                }
                ArgKind::PtrToCtx => {
                    if reg.ty != RegType::Ctx {
                        return type_err("ctx");
                    }
                    if reg.off != 0 || !reg.var.is_const() {
                        return fail(
                            Rule::ModifiedCtx,
                            format!("dereference of modified ctx ptr R{regno} off={} disallowed", reg.off),
                            &[rn],
                        );
                    }
                }
                ArgKind::PtrToStack => {
                    if reg.ty != RegType::Stack {
                        return type_err("fp");
                    }
                }
                ArgKind::PtrToFunc => {
                    if reg.ty != RegType::Func {
                        return type_err("func");
                    }
                    if !reg.var.is_const() || reg.var.var.value != 0 {
                        let var = reg.var.var;
                        return fail(Rule::HelperArg, format!("variable func access var_off={var} disallowed"), &[rn]);
                    }
                    if reg.off != 0 {
                        let off = reg.off;
                        return fail(
                            Rule::HelperArg,
                            format!("dereference of modified func ptr R{regno} off={off} disallowed"),
                            &[rn],
                        );
                    }
                    callback = Some(reg.aux as usize);
                }
                ArgKind::PtrToRingbufMem | ArgKind::PtrToAllocMem => {
                    if reg.ty != RegType::Mem || !reg.ringbuf || reg.maybe_null {
                        return type_err("ringbuf_mem");
                    }
                    if reg.off != 0 || !reg.var.is_const() {
                        return fail(
                            Rule::HelperArg,
                            format!(
                                "R{regno} must have zero offset when passed to release func or trusted arg to kfunc"
                            ),
                            &[rn],
                        );
                    }
                }
                ArgKind::PtrToSockCommon
                | ArgKind::PtrToSocket
                | ArgKind::PtrToBtfId
                | ArgKind::PtrToBtfIdSockCommon
                | ArgKind::PtrToPercpuBtfId => {
                    if let Err(expected) = crate::sock::arg_ok(a.kind, maybe_null_ok, &reg) {
                        return type_err(expected);
                    }
                }
                _ => {
                    // Spin locks, timers, kptrs, dynptrs, constant strings: need BTF; accepted when a pointer.
                    if !reg.is_ptr() {
                        return type_err("ptr_");
                    }
                }
            }
            if a.flags.contains(TypeFlags::RELEASE) {
                if reg.ref_obj_id == 0 {
                    return fail(
                        Rule::HelperArg,
                        format!("R{regno} must be referenced when passed to release function"),
                        &[rn],
                    );
                }
                release = Some((regno, reg.ref_obj_id));
            }
        }
        if let Some(m) = map {
            // `record_func_map`: helpers that change a read-only (BPF_F_RDONLY_PROG) map.
            let mi = self.map(m);
            if !mi.prog_can_write()
                && matches!(name, "map_delete_elem" | "map_update_elem" | "map_push_elem" | "map_pop_elem")
            {
                return with_hint(fail(Rule::HelperArg, "write into map forbidden", &[1]), || {
                    format!(
                        "map `{}` is read-only for programs (BPF_F_RDONLY_PROG): bpf_{name} would change it",
                        mi.name
                    )
                });
            }
            self.check_map_compat(m, name, id)?;
        }
        if name == "get_local_storage" && !p.st.reg(2).is_null_const() {
            // Not made precise: a path pruned against one with 0 here is not rejected.
            return with_hint(
                fail(Rule::HelperArg, "get_local_storage() doesn't support non-zero flags", &[2]),
                || "pass 0 as the flags argument".into(),
            );
        }
        if let Some((_, rid)) = release {
            p.st.refs.retain(|r| r.id != rid);
            p.st.for_each_reg(|r| {
                if r.ref_obj_id == rid {
                    *r = RegState::unknown();
                }
            });
        }
        let changes_pkt = PKT_CHANGING.contains(&name);
        // Callbacks (bpf_loop, bpf_for_each_map_elem): verified as a call with the
        // callback's arguments; the helper's result is an unknown scalar.
        if let Some(target) = callback {
            let cb_args: Vec<RegState> = match name {
                "loop" => vec![RegState::unknown(), *p.st.reg(3)],
                "for_each_map_elem" => {
                    let m = map.unwrap_or(0);
                    vec![
                        RegState { map: m, ..RegState::ptr(RegType::ConstMapPtr) },
                        RegState { map: m, ..RegState::ptr(RegType::MapKey) },
                        RegState { map: m, ..RegState::ptr(RegType::MapValue) },
                        *p.st.reg(3),
                    ]
                }
                _ => {
                    return fail(
                        Rule::Unsupported,
                        format!("callbacks of helper {name}#{id} are not supported by bpfbox yet"),
                        &[],
                    );
                }
            };
            self.push_frame(&mut p.st, pc, target, true)?;
            for (i, a) in cb_args.into_iter().enumerate() {
                p.st.cur_mut().regs[i + 1] = a;
            }
            // Continue in the callback; its exit returns to pc + 1.
            self.redirect = Some(target);
            return Ok(());
        }
        // R0.
        let ret = proto.ret;
        let mut maybe_null = ret.maybe_null();
        // Kernel 6.x: an array lookup with a constant in-range key cannot fail.
        if name == "map_lookup_elem" {
            if let Some(m) = map {
                let mi = self.map(m);
                if matches!(mi.map_type, 2 | 6)
                    && self
                        .const_stack_key(&p.st, p.st.reg(2), mi.key_size)
                        .is_some_and(|(k, _)| k < mi.max_entries as u64)
                {
                    maybe_null = false;
                }
            }
        }
        let mut r0 = match ret.kind {
            RetKind::Integer => RegState::unknown(),
            RetKind::Void => RegState::NOT_INIT,
            RetKind::PtrToMapValue => {
                let m = map.unwrap_or(0);
                let mi = self.map(m);
                if (mi.map_type == 12 || mi.map_type == 13) && mi.inner.is_some() && (m as usize) < self.prog.maps.len()
                {
                    // Map-in-map lookups yield the inner map.
                    RegState { map: m + self.prog.maps.len() as u32, ..RegState::ptr(RegType::ConstMapPtr) }
                } else if name == "map_lookup_elem" && matches!(mi.map_type, 15 | 18) {
                    // mark_ptr_or_null_reg: a sockmap/sockhash lookup gives a socket (a
                    // reference, is_acquire_function), an xskmap lookup an xdp_sock.
                    RegState::ptr(RegType::Sock(crate::sock::SockKind::Sock))
                } else if name == "map_lookup_elem" && mi.map_type == 17 {
                    RegState::ptr(RegType::Sock(crate::sock::SockKind::XdpSock))
                } else {
                    RegState { map: m, ..RegState::ptr(RegType::MapValue) }
                }
            }
            RetKind::PtrToRingbufMem => {
                RegState { aux: alloc_size.unwrap_or(0) as u32, ringbuf: true, ..RegState::ptr(RegType::Mem) }
            }
            RetKind::PtrToSocket => RegState::ptr(RegType::Sock(crate::sock::SockKind::Sock)),
            RetKind::PtrToSockCommon => RegState::ptr(RegType::Sock(crate::sock::SockKind::SockCommon)),
            RetKind::PtrToTcpSock => RegState::ptr(RegType::Sock(crate::sock::SockKind::TcpSock)),
            _ => {
                // Typed where the helper's result type is fixed and known.
                let typed = match name {
                    "get_current_task_btf" | "task_pt_regs" => self.prog.kernel_btf.as_ref().and_then(|b| {
                        let s = if name == "task_pt_regs" { "pt_regs" } else { "task_struct" };
                        crate::btf_model::struct_id(&b.0, s)
                    }),
                    _ => None,
                };
                RegState { aux: typed.unwrap_or(0), ..RegState::ptr(RegType::BtfId) }
            }
        };
        if r0.ty != RegType::NotInit && r0.is_ptr() {
            if maybe_null {
                r0.maybe_null = true;
                r0.id = self.new_id();
            } else if r0.ty == RegType::MapValue && self.map(r0.map).spin_lock_off.is_some() {
                // A lookup that cannot fail still names its lock by a fresh id.
                r0.id = self.new_id();
            }
            if PTR_CAST.contains(&name) {
                // The cast socket is the argument's reference: releasing either
                // releases both (is_ptr_cast_function).
                r0.ref_obj_id = arg1_ref;
            }
            let sock_lookup = name == "map_lookup_elem" && map.is_some_and(|m| matches!(self.map(m).map_type, 15 | 18));
            if ACQUIRE.contains(&name) || sock_lookup {
                let rid = self.new_id();
                r0.ref_obj_id = rid;
                r0.id = rid;
                p.st.refs.push(Reference { id: rid, insn: pc });
            }
        }
        self.clobber_caller_saved(&mut p.st);
        *p.st.reg_mut(0) = r0;
        if changes_pkt {
            p.st.for_each_reg(|r| {
                if matches!(r.ty, RegType::Packet | RegType::PacketMeta | RegType::PacketEnd) {
                    *r = RegState::unknown();
                }
            });
        }
        Ok(())
    }

    /// `may_access_direct_pkt_data(env, meta, BPF_READ)` for a helper with `pkt_access`:
    /// the program types that read packets directly.
    fn direct_pkt_read(&self) -> bool {
        matches!(
            self.prog.prog_type,
            ProgType::LwtIn
                | ProgType::LwtOut
                | ProgType::LwtSeg6local
                | ProgType::SkReuseport
                | ProgType::FlowDissector
                | ProgType::CgroupSkb
                | ProgType::SchedCls
                | ProgType::SchedAct
                | ProgType::Xdp
                | ProgType::LwtXmit
                | ProgType::SkSkb
                | ProgType::SkMsg
        )
    }

    /// A kfunc call. The kfuncs bpfbox runs (`bpfbox_abi::kfuncs`) are typed as the
    /// kernel's BTF declares them: `bpf_dynptr_from_{skb,xdp}(ctx, flags, ptr__uninit)`
    /// returns an int, `bpf_dynptr_slice(ptr, off, buffer__opt, buffer__szk)` memory of
    /// `buffer__szk` bytes or NULL (read-only in the kernel; bpfbox does not refuse
    /// writes through it); the conntrack kfuncs return `struct nf_conn *` references
    /// (or NULL) that `bpf_ct_insert_entry` and `bpf_ct_release` release. Their
    /// tuple and options arguments are not checked. Others are refused (unsupported).
    pub(super) fn kfunc_call(&mut self, p: &mut Path, btf_id: i32) -> R<Next> {
        if p.st.lock.is_some() {
            return fail(Rule::Unsupported, "function calls are not allowed while holding a lock", &[]);
        }
        let mut r0 = RegState::unknown();
        match bpfbox_abi::kfuncs::kfunc_name(btf_id) {
            Some(name @ ("bpf_iter_num_new" | "bpf_iter_num_next" | "bpf_iter_num_destroy")) => {
                return self.iter_num_call(p, name);
            }
            Some(name @ ("bpf_rcu_read_lock" | "bpf_rcu_read_unlock")) => {
                // An RCU read-side section: not nested, unlocked on the path that
                // locked it, closed before the main program exits or tail-calls.
                let lock = name == "bpf_rcu_read_lock";
                if p.st.rcu == lock {
                    let msg = if lock { "nested rcu read lock" } else { "unmatched rcu read unlock" };
                    return with_hint(fail(Rule::HelperArg, format!("{msg} (kernel function {name})"), &[]), || {
                        "each bpf_rcu_read_lock() pairs with one bpf_rcu_read_unlock() on every path".into()
                    });
                }
                p.st.rcu = lock;
                r0 = RegState::NOT_INIT;
            }
            Some(name @ ("bpf_dynptr_from_skb" | "bpf_dynptr_from_xdp")) => {
                let t = self.prog.prog_type;
                let allowed = if name.ends_with("xdp") {
                    t == ProgType::Xdp
                } else {
                    matches!(
                        t,
                        ProgType::SchedCls
                            | ProgType::SchedAct
                            | ProgType::SocketFilter
                            | ProgType::CgroupSkb
                            | ProgType::LwtIn
                            | ProgType::LwtOut
                            | ProgType::LwtXmit
                            | ProgType::LwtSeg6local
                            | ProgType::SkSkb
                            | ProgType::Netfilter
                    )
                };
                if !allowed {
                    return fail(Rule::UnknownHelper, format!("calling kernel function {name} is not allowed"), &[]);
                }
                if self.read_reg(&p.st, 1)?.ty != RegType::Ctx {
                    return fail(Rule::HelperArg, "arg#0 expected pointer to ctx, but got scalar".to_string(), &[1]);
                }
                if self.read_reg(&p.st, 3)?.ty != RegType::Stack {
                    return fail(Rule::HelperArg, "arg#2 expected pointer to stack or const struct bpf_dynptr", &[3]);
                }
            }
            Some(name @ ("bpf_xdp_ct_lookup" | "bpf_xdp_ct_alloc" | "bpf_skb_ct_lookup" | "bpf_skb_ct_alloc")) => {
                let t = self.prog.prog_type;
                let allowed = if name.starts_with("bpf_xdp") {
                    t == ProgType::Xdp
                } else {
                    matches!(t, ProgType::SchedCls | ProgType::SchedAct)
                };
                if !allowed {
                    return fail(Rule::UnknownHelper, format!("calling kernel function {name} is not allowed"), &[]);
                }
                if self.read_reg(&p.st, 1)?.ty != RegType::Ctx {
                    return fail(Rule::HelperArg, "arg#0 expected pointer to ctx, but got scalar".to_string(), &[1]);
                }
                r0 = self.acquired_nf_conn(p);
            }
            Some(name @ ("bpf_ct_insert_entry" | "bpf_ct_release" | "bpf_ct_set_timeout")) => {
                let r1 = self.read_reg(&p.st, 1)?;
                if r1.ty != RegType::BtfId || r1.maybe_null || r1.ref_obj_id == 0 {
                    let msg = format!("{name}: R1 must be a referenced struct nf_conn pointer, checked for NULL");
                    return fail(Rule::HelperArg, msg, &[1]);
                }
                r0 = RegState::NOT_INIT;
                if name != "bpf_ct_set_timeout" {
                    // OBJ_RELEASE: the reference and every copy of the pointer go.
                    let rid = r1.ref_obj_id;
                    p.st.refs.retain(|r| r.id != rid);
                    p.st.for_each_reg(|r| {
                        if r.ref_obj_id == rid {
                            *r = RegState::unknown();
                        }
                    });
                }
                if name == "bpf_ct_insert_entry" {
                    r0 = self.acquired_nf_conn(p);
                }
            }
            Some("bpf_dynptr_slice_rdwr") => {
                // Refused by 6.18 from XDP and tc programs alike (what makes it
                // allowed is not modelled).
                return fail(Rule::UnknownHelper, "bpf_dynptr_slice_rdwr() is not allowed", &[]);
            }
            Some("bpf_dynptr_slice") => {
                let r4 = self.read_reg(&p.st, 4)?;
                let Some(size) = r4.var.const_value().filter(|_| r4.ty == RegType::Scalar) else {
                    return fail(Rule::HelperArg, "arg#3 arg#3 memory, len pair leads to invalid memory access", &[4]);
                };
                if self.read_reg(&p.st, 1)?.ty != RegType::Stack {
                    return fail(Rule::HelperArg, "arg#0 expected pointer to stack or const struct bpf_dynptr", &[1]);
                }
                r0 = RegState { aux: size as u32, rdonly: true, ..RegState::ptr(RegType::Mem) };
                r0.maybe_null = true;
                r0.id = self.new_id();
            }
            _ => {
                // What a kfunc bpfbox does not model takes, returns, acquires or
                // releases is unknown: accepting the call would accept what the kernel
                // may refuse (an iterator never destroyed, a pointer used after release).
                let what = if btf_id == 0 {
                    "an unresolved kernel function".to_string()
                } else {
                    format!("kernel function #{btf_id}")
                };
                return with_hint(
                    fail(Rule::Unsupported, format!("calling {what} is not supported by bpfbox's verifier"), &[]),
                    || format!("bpfbox models these kfuncs: {}", bpfbox_abi::kfuncs::KFUNCS.join(", ")),
                );
            }
        }
        self.clobber_caller_saved(&mut p.st);
        *p.st.reg_mut(0) = r0;
        Ok(Next::Goto(p.pc + 1))
    }

    /// The open-coded number iterator (kernel/bpf/bpf_iter.c, `bpf_for`): `new(it,
    /// start, end)` turns the 8-byte stack slot `it` points to into an iterator holding
    /// a reference (`process_iter_arg`, `mark_stack_slots_iter`); `next(it)` returns
    /// NULL (the iterator drained) or, on a path queued one iteration deeper, a read-only
    /// `int *` of the iterator's reference (`process_iter_next_call`), its imprecise
    /// scalars widened against the previous pass as at a `may_goto`; `destroy(it)`
    /// releases the reference (and every pointer `next` gave) and frees the slot.
    fn iter_num_call(&mut self, p: &mut Path, name: &str) -> R<Next> {
        let pc = p.pc;
        let it = *p.st.reg(1);
        if it.ty != RegType::Stack {
            return with_hint(fail(Rule::HelperArg, "arg#0 expected pointer to an iterator on stack", &[1]), || {
                format!("pass {name} the address of a struct bpf_iter_num on the stack")
            });
        }
        let frameno = it.aux as usize;
        // stack_slot_obj_get_spi: a constant, 8-byte aligned offset.
        let off = it.var.const_value().map(|v| it.off as i64 + v as i64).filter(|o| o % 8 == 0);
        let slot_of = |off: i64| ((-off - 1) / 8) as usize;
        if name == "bpf_iter_num_new" {
            let Some(off) = off.filter(|o| *o < 0) else {
                return fail(Rule::HelperArg, "expected uninitialized iter_num as arg #0", &[1]);
            };
            let frame = &p.st.frames[frameno];
            if off >= -(MAX_STACK as i64) && frame.slot(slot_of(off)).bytes.contains(&SlotType::Iter) {
                return with_hint(fail(Rule::HelperArg, "expected uninitialized iter_num as arg #0", &[1]), || {
                    "this iterator was created already: destroy it (bpf_iter_num_destroy) before creating it again"
                        .into()
                });
            }
            // The iterator's 8 bytes are written (bounds, stack depth).
            // (As the kernel's write of no register: no id is taken for a spilled value.)
            self.mem_access(&mut p.st, 1, it, 0, 8, Some((RegState::konst(0), None)), pc)?;
            for r in [2, 3] {
                if p.st.reg(r).ty != RegType::Scalar {
                    return fail(Rule::HelperArg, format!("R{r} is not a scalar"), &[r as u8]);
                }
            }
            let id = self.new_id();
            p.st.refs.push(Reference { id, insn: pc });
            *p.st.frames[frameno].slot_mut(slot_of(off)) =
                IterState { ref_obj_id: id, drained: false, depth: 0 }.slot();
            self.clobber_caller_saved(&mut p.st);
            *p.st.reg_mut(0) = RegState::unknown();
            return Ok(Next::Goto(pc + 1));
        }
        let cur = off
            .filter(|o| (-(MAX_STACK as i64)..0).contains(o))
            .and_then(|o| IterState::of(&p.st.frames[frameno].slot(slot_of(o))).map(|s| (o, s)));
        let Some((off, state)) = cur else {
            return with_hint(fail(Rule::HelperArg, "expected an initialized iter_num as arg #0", &[1]), || {
                "create the iterator with bpf_iter_num_new() first (and do not use it after bpf_iter_num_destroy())"
                    .into()
            });
        };
        self.mark_stack_ptr_access(&p.st, &it, 0, 8, pc);
        self.clobber_caller_saved(&mut p.st);
        let s = slot_of(off);
        if name == "bpf_iter_num_destroy" {
            let rid = state.ref_obj_id;
            p.st.refs.retain(|r| r.id != rid);
            p.st.for_each_reg(|r| {
                if r.ref_obj_id == rid {
                    *r = RegState::unknown();
                }
            });
            *p.st.frames[frameno].slot_mut(s) = StackSlot::INVALID;
            *p.st.reg_mut(0) = RegState::NOT_INIT;
            return Ok(Next::Goto(pc + 1));
        }
        // bpf_iter_num_next: this path sees it drained (NULL); while it is active, a
        // path one element deeper is queued.
        let queued = (!state.drained).then(|| {
            let mut q = p.st.clone();
            let deeper = IterState { depth: state.depth + 1, ..state };
            *q.frames[frameno].slot_mut(s) = deeper.slot();
            let id = self.new_id();
            *q.reg_mut(0) =
                RegState { aux: 4, rdonly: true, id, ref_obj_id: state.ref_obj_id, ..RegState::ptr(RegType::Mem) };
            q
        });
        *p.st.frames[frameno].slot_mut(s) = IterState { drained: true, ..state }.slot();
        *p.st.reg_mut(0) = RegState::konst(0);
        let Some(mut q) = queued else { return Ok(Next::Goto(pc + 1)) };
        self.widen_loop_state(pc, p.node, &p.st, &mut q);
        Ok(Next::Branch(
            Box::new(Path { pc: pc + 1, st: q, node: p.node, path: p.path.clone(), hist: p.hist.clone() }),
            pc + 1,
        ))
    }

    /// r0 of the conntrack kfuncs that return a reference: `struct nf_conn *` (typed by
    /// the kernel's BTF when given) or NULL, acquired.
    fn acquired_nf_conn(&mut self, p: &mut Path) -> RegState {
        let typed = self.prog.kernel_btf.as_ref().and_then(|b| crate::btf_model::struct_id(&b.0, "nf_conn"));
        let mut r0 = RegState { aux: typed.unwrap_or(0), ..RegState::ptr(RegType::BtfId) };
        let rid = self.new_id();
        r0.maybe_null = true;
        r0.ref_obj_id = rid;
        r0.id = rid;
        p.st.refs.push(Reference { id: rid, insn: p.pc });
        r0
    }

    /// The constant the stack pointer `reg` points at (a spilled scalar of at least `size`
    /// bytes, or zero bytes), and whether it is a spilled scalar's: zero bytes are
    /// compared by type when states are, a spilled scalar's value only when precise.
    pub(super) fn const_stack_key(&self, st: &State, reg: &RegState, size: u32) -> Option<(u64, bool)> {
        // get_constant_map_key, byte for byte: from the key's first byte up to the top
        // of its 8-byte slot, either at least `size` zero bytes, or exactly `size` bytes
        // of a spilled constant scalar (whose whole value is the key).
        if self.opts.unprivileged {
            return None;
        }
        if reg.ty != RegType::Stack || !reg.var.is_const() {
            return None;
        }
        let a = reg.off as i64 + reg.var.var.value as i64;
        let frame = st.frames.get(reg.aux as usize)?;
        if a >= 0 || a < -(MAX_STACK as i64) {
            return None;
        }
        let s = (-a - 1) / 8;
        let top = -8 * s; // one past the slot's highest byte
        let run = |t: SlotType| (a..top).take_while(|&o| frame.byte(o) == t).count() as u32;
        if run(SlotType::Zero) >= size {
            return Some((0, false));
        }
        let slot = frame.slot(s as usize);
        if slot.bytes[0] != SlotType::Spill || slot.spilled.ty != RegType::Scalar {
            return None;
        }
        if run(SlotType::Spill) != size {
            return None;
        }
        slot.spilled.var.const_value().map(|k| (k, true))
    }

    /// `check_map_func_compatibility`: the helpers each map type may be given to,
    /// and the map types each map-taking helper accepts.
    fn check_map_compat(&self, m: u32, func: &str, id: i32) -> R<()> {
        let t = self.map(m).map_type;
        let storage = |kind: &str| {
            matches!(func, "kptr_xchg")
                || func == format!("{kind}_storage_get")
                || func == format!("{kind}_storage_delete")
        };
        let ok = match t {
            3 => func == "tail_call",
            4 => matches!(
                func,
                "perf_event_read" | "perf_event_output" | "perf_event_read_value" | "skb_output" | "xdp_output"
            ),
            27 => matches!(
                func,
                "ringbuf_output"
                    | "ringbuf_reserve"
                    | "ringbuf_query"
                    | "ringbuf_reserve_dynptr"
                    | "ringbuf_submit_dynptr"
                    | "ringbuf_discard_dynptr"
            ),
            31 => func == "user_ringbuf_drain",
            7 => func == "get_stackid",
            8 => matches!(func, "skb_under_cgroup" | "current_task_under_cgroup"),
            19 | 21 => func == "get_local_storage",
            14 | 25 | 17 => matches!(func, "redirect_map" | "map_lookup_elem"),
            16 => func == "redirect_map",
            12 | 13 => func == "map_lookup_elem",
            15 => {
                matches!(
                    func,
                    "sk_redirect_map"
                        | "sock_map_update"
                        | "msg_redirect_map"
                        | "sk_select_reuseport"
                        | "map_lookup_elem"
                ) || may_update_sockmap(self.prog.prog_type, self.prog.expected_attach_type, func)
            }
            18 => {
                matches!(
                    func,
                    "sk_redirect_hash"
                        | "sock_hash_update"
                        | "msg_redirect_hash"
                        | "sk_select_reuseport"
                        | "map_lookup_elem"
                ) || may_update_sockmap(self.prog.prog_type, self.prog.expected_attach_type, func)
            }
            20 => func == "sk_select_reuseport",
            22 | 23 => matches!(func, "map_peek_elem" | "map_pop_elem" | "map_push_elem"),
            30 => matches!(func, "map_peek_elem" | "map_push_elem"),
            24 => storage("sk"),
            28 => storage("inode"),
            29 => storage("task"),
            32 => storage("cgrp"),
            _ => true,
        };
        let rev = match func {
            "tail_call" => t == 3,
            "perf_event_read" | "perf_event_output" | "perf_event_read_value" | "skb_output" | "xdp_output" => t == 4,
            "ringbuf_output" | "ringbuf_reserve" | "ringbuf_query" | "ringbuf_reserve_dynptr" => t == 27,
            "user_ringbuf_drain" => t == 31,
            "get_stackid" => t == 7,
            "redirect_map" => matches!(t, 14 | 25 | 16 | 17),
            "sk_redirect_map" | "msg_redirect_map" | "sock_map_update" => t == 15,
            // (skb_under_cgroup and current_task_under_cgroup take any map: 6.18
            // accepts an array.)
            "sk_redirect_hash" | "msg_redirect_hash" | "sock_hash_update" => t == 18,
            "get_local_storage" => matches!(t, 19 | 21),
            "sk_select_reuseport" => matches!(t, 20 | 15 | 18),
            "map_pop_elem" => matches!(t, 22 | 23),
            "map_peek_elem" | "map_push_elem" => matches!(t, 22 | 23 | 30),
            "map_lookup_percpu_elem" => matches!(t, 5 | 6 | 10),
            "sk_storage_get" | "sk_storage_delete" => t == 24,
            "inode_storage_get" | "inode_storage_delete" => t == 28,
            "task_storage_get" | "task_storage_delete" => t == 29,
            "cgrp_storage_get" | "cgrp_storage_delete" => t == 32,
            _ => true,
        };
        if func == "tail_call" && t != 3 {
            return fail(Rule::HelperArg, "expected prog array map for tail call", &[2]);
        }
        // Map types with a for-each callback (hash, array and their per-CPU/LRU kinds).
        if func == "for_each_map_elem" && !matches!(t, 1 | 2 | 5 | 6 | 9 | 10) {
            return fail(Rule::HelperArg, "callback function not allowed for map", &[1]);
        }
        if ok && rev {
            Ok(())
        } else {
            let name = bpfbox_abi::map_types::MapType::name_of(t);
            with_hint(
                fail(Rule::HelperArg, format!("cannot pass map_type {t} into func bpf_{func}#{id}"), &[1]),
                || format!("a {name} map cannot be used with bpf_{func}"),
            )
        }
    }
}
