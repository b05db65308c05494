//! Kernel helpers by number, with the kernel's semantics, for programs run by a
//! [`crate::Runtime`]. Each reaches the run's state (`RunState`) through
//! [`HelperCtx::env`]. Error paths return `-errno` in r0 as the kernel does; a
//! call the kernel's verifier would have refused (a wrong map type, a pointer that
//! is not the context, releasing a lock not held) stops the run with
//! [`VmError::Helper`] naming the helper and pc.

use crate::csum;
use crate::ctx::{Ctx, XDP_FRAME_HDR};
use crate::maps::{spin_lock, spin_unlock, Errno, Found, Map};
use crate::memory::{Region, RegionKind};
use crate::printk::{self, Reader};
use crate::runtime::{map_handle, Event, Redirect, RunState, MAX_TAIL_CALL_CNT};
use crate::{HelperCtx, HelperFn, HelperOutcome, HelperTable, MemView, VmError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

mod conntrack;
mod dynptr;
mod iter;
mod maps;
mod misc;
mod net;
mod packet;

use dynptr::*;
use maps::*;
use misc::*;
use net::*;
use packet::*;

type R = Result<HelperOutcome, VmError>;

fn ret(v: u64) -> R {
    Ok(HelperOutcome::Return(v))
}

fn err(e: Errno) -> R {
    ret(e.ret())
}

fn fail_at(c: &HelperCtx<'_>, why: impl Into<String>) -> VmError {
    c.fail(why)
}

fn st<'a>(c: &'a mut HelperCtx<'_>) -> Result<&'a mut RunState, VmError> {
    let (pc, id) = (c.pc(), c.helper_id());
    c.env::<RunState>().ok_or_else(|| VmError::Helper { pc, id, reason: "kernel helpers need a bpfbox Runtime".into() })
}

fn split<'a>(c: &'a mut HelperCtx<'_>) -> Result<(&'a mut RunState, MemView<'a>), VmError> {
    let (pc, id) = (c.pc(), c.helper_id());
    c.env_and_mem::<RunState>().ok_or_else(|| VmError::Helper {
        pc,
        id,
        reason: "kernel helpers need a bpfbox Runtime".into(),
    })
}

/// The map a handle argument names.
fn map_arg(c: &mut HelperCtx<'_>, h: u64) -> Result<Arc<Map>, VmError> {
    let m = st(c)?.shared.map_of_handle(h).cloned();
    m.ok_or_else(|| fail_at(c, format!("argument {h:#x} is not a map")))
}

fn read_vec(c: &mut HelperCtx<'_>, addr: u64, len: usize) -> Result<Vec<u8>, VmError> {
    let mut v = vec![0; len];
    c.read(addr, &mut v)?;
    Ok(v)
}

/// Write the bytes read to `to` and return 0, or zero `len` bytes there and return
/// `-EFAULT` (the skb load helpers' `err_clear`).
fn bytes_or_efault(c: &mut HelperCtx<'_>, to: u64, got: Option<Vec<u8>>, len: usize) -> R {
    match got {
        Some(v) => {
            c.write(to, &v)?;
            ret(0)
        }
        None => {
            c.write(to, &vec![0; len])?;
            err(Errno::EFAULT)
        }
    }
}

fn ensure_ctx(c: &mut HelperCtx<'_>, addr: u64) -> Result<(), VmError> {
    if st(c)?.ctx.is_ctx(addr) {
        Ok(())
    } else {
        Err(fail_at(c, format!("argument {addr:#x} is not the context")))
    }
}

/// Register a value region the program was handed.
fn hand_out(mem: &mut MemView<'_>, addr: u64, len: usize, writable: bool, kind: RegionKind) {
    if len == 0 {
        return;
    }
    // SAFETY: callers pass memory that outlives the run: map storage (kept alive by
    // the map or by the run's pins), ring buffer records (until submitted or
    // discarded, when the region is removed), key buffers owned by the run state.
    unsafe {
        mem.add_region(Region::from_raw_parts(
            kind,
            std::ptr::with_exposed_provenance_mut(addr as usize),
            len as u64,
            writable,
        ))
    }
}

// ---- the table ----

const HELPERS: &[(&str, HelperFn)] = &[
    ("map_lookup_elem", map_lookup_elem),
    ("map_update_elem", map_update_elem),
    ("map_delete_elem", map_delete_elem),
    ("map_push_elem", map_push_elem),
    ("map_pop_elem", map_pop_elem),
    ("map_peek_elem", map_peek_elem),
    ("map_lookup_percpu_elem", map_lookup_percpu_elem),
    ("for_each_map_elem", for_each_map_elem),
    ("loop", bpf_loop),
    ("tail_call", tail_call),
    ("ktime_get_ns", ktime_get_ns),
    ("ktime_get_boot_ns", ktime_get_boot_ns),
    ("ktime_get_coarse_ns", ktime_get_coarse_ns),
    ("ktime_get_tai_ns", ktime_get_tai_ns),
    ("jiffies64", jiffies64),
    ("get_prandom_u32", get_prandom_u32),
    ("get_smp_processor_id", get_smp_processor_id),
    ("get_numa_node_id", zero),
    ("get_current_pid_tgid", get_current_pid_tgid),
    ("get_current_uid_gid", get_current_uid_gid),
    ("get_current_comm", get_current_comm),
    ("get_current_task", get_current_task),
    ("get_current_task_btf", get_current_task),
    ("get_current_cgroup_id", get_current_cgroup_id),
    ("get_func_ip", get_func_ip),
    ("get_attach_cookie", get_attach_cookie),
    ("trace_printk", trace_printk),
    ("trace_vprintk", trace_vprintk),
    ("snprintf", snprintf),
    ("probe_read", probe_read),
    ("probe_read_kernel", probe_read),
    ("probe_read_user", probe_read),
    ("probe_read_str", probe_read_str),
    ("probe_read_kernel_str", probe_read_str),
    ("probe_read_user_str", probe_read_str),
    ("ringbuf_output", ringbuf_output),
    ("ringbuf_reserve", ringbuf_reserve),
    ("ringbuf_submit", ringbuf_submit),
    ("ringbuf_discard", ringbuf_discard),
    ("ringbuf_query", ringbuf_query),
    ("perf_event_output", perf_event_output),
    ("spin_lock", spin_lock_h),
    ("spin_unlock", spin_unlock_h),
    ("strtol", strtol),
    ("strtoul", strtoul),
    ("strncmp", strncmp),
    ("xdp_adjust_head", xdp_adjust_head),
    ("xdp_adjust_meta", xdp_adjust_meta),
    ("xdp_adjust_tail", xdp_adjust_tail),
    ("xdp_get_buff_len", xdp_get_buff_len),
    ("xdp_load_bytes", xdp_load_bytes),
    ("xdp_store_bytes", xdp_store_bytes),
    ("skb_load_bytes", skb_load_bytes),
    ("skb_store_bytes", skb_store_bytes),
    ("l3_csum_replace", l3_csum_replace),
    ("l4_csum_replace", l4_csum_replace),
    ("csum_diff", csum_diff),
    ("csum_update", csum_update),
    ("skb_pull_data", skb_pull_data),
    ("skb_change_tail", skb_change_tail),
    ("skb_change_head", skb_change_head),
    ("set_hash", set_hash),
    ("get_hash_recalc", get_hash_recalc),
    ("get_cgroup_classid", zero),
    ("get_route_realm", zero),
    ("redirect", redirect),
    ("redirect_map", redirect_map),
    ("get_stackid", get_stackid),
    ("get_stack", get_stack),
    ("current_task_under_cgroup", current_task_under_cgroup),
    ("copy_from_user", copy_from_user),
    ("skb_adjust_room", skb_adjust_room),
    ("fib_lookup", fib_lookup),
    ("check_mtu", check_mtu),
    ("skb_load_bytes_relative", skb_load_bytes_relative),
    ("skb_change_type", skb_change_type),
    ("csum_level", csum_level),
    ("skb_ecn_set_ce", skb_ecn_set_ce),
    ("clone_redirect", clone_redirect),
    ("set_hash_invalid", set_hash_invalid),
    ("skb_vlan_push", skb_vlan_push),
    ("skb_vlan_pop", skb_vlan_pop),
    ("skb_change_proto", skb_change_proto),
    ("skb_set_tunnel_key", skb_set_tunnel_key),
    ("skb_get_tunnel_key", skb_get_tunnel_key),
    ("dynptr_read", dynptr_read),
    ("dynptr_write", dynptr_write),
];

/// The helpers a [`crate::Runtime`] gives its programs, by kernel number.
pub(crate) fn table() -> HelperTable {
    let mut t = HelperTable::empty();
    for (name, f) in HELPERS {
        if let Some(p) = bpfbox_abi::helper_by_name(name) {
            t.register(*p, *f);
        }
    }
    for (p, f) in dynptr::kfunc_table() {
        t.register(p, f);
    }
    t
}

/// Calls of the kfuncs bpfbox runs become calls of the helpers registered under the
/// same ids ([`dynptr::kfunc_table`]).
pub(crate) fn kfuncs_as_helpers(mut insns: Vec<bpfbox_isa::Insn>) -> Vec<bpfbox_isa::Insn> {
    use bpfbox_isa::{CallTarget, Insn};
    for i in &mut insns {
        if let Insn::Call(CallTarget::Kfunc { btf_id, .. }) = *i {
            if bpfbox_abi::kfuncs::kfunc_name(btf_id).is_some() {
                *i = Insn::Call(CallTarget::Helper(btf_id));
            }
        }
    }
    insns
}

/// Names of the helpers bpfbox implements.
pub fn implemented() -> impl Iterator<Item = &'static str> {
    HELPERS.iter().map(|(n, _)| *n)
}

/// Why bpfbox does not implement helper `name` (without its `bpf_` prefix): what a
/// load refusing a program that calls it says ([`crate::RuntimeError::MissingHelper`]).
/// The reasons, by what the helper needs:
///
/// - **sockets** (`sk_lookup_*`, `skc_lookup_tcp`, `sk_release`, `sk_fullsock`,
///   `tcp_sock`, `get_listener_sock`, `sk_assign`, `skc_to_*`, SYN cookies, socket
///   storage and cookies, `sk_redirect_*`): the world (`--world`) describes
///   interfaces, routes, neighbours, tunnels and conntrack entries, no sockets;
/// - **tasks, cgroups and namespaces** beyond the current pid/tgid, uid/gid, comm and
///   cgroup id, and **kernel objects** (`snprintf_btf`, per-CPU kernel variables,
///   kptrs, VMAs, branch records): a test run has none;
/// - **perf counters** (`perf_event_read*`) and **signals** (`send_signal*`): nothing to
///   read or signal;
/// - **timers**: a run ends when the program returns, so no callback could fire;
/// - **helper dynptrs** (`dynptr_from_mem`, `ringbuf_*_dynptr`, `dynptr_data`) and **user
///   ring buffers**: not implemented yet (the dynptr kfuncs are);
/// - **tunnel options**, **IPsec state**, **LWT encapsulation**, **neighbour and peer
///   redirects**, **skb timestamps**: not modelled.
pub fn missing_reason(name: &str) -> &'static str {
    const SOCKETS: &str = "sockets are not modelled (a --world file describes interfaces, routes, neighbours, tunnels and conntrack entries, no sockets)";
    match name {
        n if n.starts_with("sk_lookup_")
            || n.starts_with("skc_")
            || n.starts_with("tcp_raw_")
            || n.starts_with("sk_storage_")
            || n.starts_with("sk_redirect_") =>
        {
            SOCKETS
        }
        "sk_release" | "sk_fullsock" | "tcp_sock" | "get_listener_sock" | "sk_assign" | "tcp_check_syncookie"
        | "tcp_gen_syncookie" | "get_socket_cookie" | "get_socket_uid" | "get_netns_cookie" | "sk_cgroup_id"
        | "sk_ancestor_cgroup_id" => SOCKETS,
        "perf_event_read" | "perf_event_read_value" => "reads a perf counter; a test run has no perf events to read",
        "send_signal" | "send_signal_thread" => "signals the current task; a test run has no task to signal",
        "get_ns_current_pid_tgid" | "get_current_ancestor_cgroup_id" | "get_task_stack" | "task_storage_get"
        | "task_storage_delete" | "task_pt_regs" | "find_vma" | "cgrp_storage_get" | "cgrp_storage_delete"
        | "skb_cgroup_id" | "skb_ancestor_cgroup_id" | "skb_under_cgroup" | "skb_cgroup_classid"
        | "get_local_storage" => {
            "tasks, cgroups and namespaces are modelled only as the current pid/tgid, uid/gid, comm and cgroup id"
        }
        "snprintf_btf" | "per_cpu_ptr" | "this_cpu_ptr" | "kptr_xchg" | "get_branch_snapshot" => {
            "needs kernel objects (BTF-typed kernel memory, per-CPU variables, kptrs, branch records), which bpfbox does not have"
        }
        n if n.starts_with("timer_") => "a run ends when the program returns, so a timer callback could never fire",
        "dynptr_from_mem" | "ringbuf_reserve_dynptr" | "ringbuf_submit_dynptr" | "ringbuf_discard_dynptr"
        | "dynptr_data" => "helper dynptrs are not implemented yet (the dynptr kfuncs are)",
        "user_ringbuf_drain" => "user ring buffers (records produced by user space) are not implemented yet",
        "skb_get_tunnel_opt" | "skb_set_tunnel_opt" => "tunnel options are not modelled (tunnel keys are)",
        "skb_get_xfrm_state" => "IPsec (xfrm) state is not modelled",
        "lwt_push_encap" | "lwt_seg6_store_bytes" | "lwt_seg6_adjust_srh" | "lwt_seg6_action" => {
            "LWT and seg6 encapsulation are not modelled"
        }
        "redirect_neigh" | "redirect_peer" => "neighbour and peer-device redirects are not modelled",
        "skb_set_tstamp" => "skb timestamps are not modelled",
        _ => "not implemented yet",
    }
}

/// The helpers the kernel allows a program type (under some load configuration, from
/// the committed kernel facts), split into those bpfbox implements and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperCoverage {
    pub implemented: Vec<&'static str>,
    pub missing: Vec<&'static str>,
}

/// [`HelperCoverage`] of `prog_type`.
pub fn coverage(prog_type: bpfbox_abi::prog_types::ProgType) -> HelperCoverage {
    let mut c = HelperCoverage { implemented: Vec::new(), missing: Vec::new() };
    for p in bpfbox_abi::HELPERS {
        if bpfbox_abi::helper_access::attach_types_allowing(prog_type, p.id).is_empty() {
            continue;
        }
        if HELPERS.iter().any(|(n, _)| *n == p.name) {
            c.implemented.push(p.name);
        } else {
            c.missing.push(p.name);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every helper a packet program type may call but bpfbox lacks has a reason of
    /// its own (not the fallback).
    #[test]
    fn missing_packet_helpers_say_why() {
        use bpfbox_abi::prog_types::ProgType;
        for t in [ProgType::Xdp, ProgType::SchedCls, ProgType::SocketFilter, ProgType::CgroupSkb, ProgType::SkSkb] {
            for name in coverage(t).missing {
                assert_ne!(missing_reason(name), "not implemented yet", "bpf_{name} ({t:?})");
            }
        }
    }

    #[test]
    fn every_helper_is_a_kernel_helper() {
        for (name, _) in HELPERS {
            assert!(bpfbox_abi::helper_by_name(name).is_some(), "{name}");
        }
        assert_eq!(table().len(), HELPERS.len() + bpfbox_abi::kfuncs::KFUNCS.len());
        assert!(HELPERS.len() >= 40);
    }

    #[test]
    fn strtoull_follows_the_kernel() {
        assert_eq!(strtoull(b"  -123abc", 10), Ok((6, 123, true)));
        assert_eq!(strtoull(b"0x1f", 0), Ok((4, 31, false)));
        assert_eq!(strtoull(b"0x1f", 16), Ok((4, 31, false)));
        assert_eq!(strtoull(b"017", 0), Ok((3, 15, false)));
        assert_eq!(strtoull(b"0", 0), Ok((1, 0, false)));
        assert_eq!(strtoull(b"0x", 16), Err(Errno::EINVAL));
        assert_eq!(strtoull(b"   ", 10), Err(Errno::EINVAL));
        assert_eq!(strtoull(b"12", 7), Err(Errno::EINVAL));
        assert_eq!(strtoull(b"12", 10 | 0x20), Err(Errno::EINVAL));
        assert_eq!(strtoull(b"99999999999999999999", 10), Err(Errno::ERANGE));
        assert_eq!(strtoull(b"z", 10), Err(Errno::EINVAL));
    }
}
