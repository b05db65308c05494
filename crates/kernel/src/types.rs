//! Program, map, attach and link type names as libbpf (and so bpftool) spells them.

use crate::sys::cstr;
use libbpf_rs::libbpf_sys;
use libbpf_rs::{ProgramAttachType, ProgramType};

/// libbpf's name of a program type (`xdp`, `sched_cls`), or `type N` when unknown.
pub fn prog_type_name(t: u32) -> String {
    // SAFETY: returns a static string or NULL.
    let s = cstr(unsafe { libbpf_sys::libbpf_bpf_prog_type_str(t) });
    if s.is_empty() {
        format!("type {t}")
    } else {
        s
    }
}

/// libbpf's name of a map type (`hash`, `percpu_array`), or `type N` when unknown.
pub fn map_type_name(t: u32) -> String {
    // SAFETY: returns a static string or NULL.
    let s = cstr(unsafe { libbpf_sys::libbpf_bpf_map_type_str(t) });
    if s.is_empty() {
        format!("type {t}")
    } else {
        s
    }
}

/// libbpf's name of an attach type (`cgroup_inet_ingress`).
pub fn attach_type_name(t: u32) -> String {
    // SAFETY: returns a static string or NULL.
    let s = cstr(unsafe { libbpf_sys::libbpf_bpf_attach_type_str(t) });
    if s.is_empty() {
        format!("attach type {t}")
    } else {
        s
    }
}

/// libbpf's name of a link type (`xdp`, `perf_event`).
pub fn link_type_name(t: u32) -> String {
    // SAFETY: returns a static string or NULL.
    let s = cstr(unsafe { libbpf_sys::libbpf_bpf_link_type_str(t) });
    if s.is_empty() {
        format!("link type {t}")
    } else {
        s
    }
}

/// A program type from a type name (`xdp`, `sched_cls`, `socket_filter`, ...) or a
/// libbpf section name (`tc`, `classifier`, `cgroup_skb/ingress`, `socket`, ...), with
/// the expected attach type the section implies.
pub fn prog_type_by_name(name: &str) -> Option<(ProgramType, Option<ProgramAttachType>)> {
    for t in 1..256u32 {
        // SAFETY: returns a static string or NULL.
        let s = cstr(unsafe { libbpf_sys::libbpf_bpf_prog_type_str(t) });
        if s.is_empty() {
            break;
        }
        if s == name {
            return Some((ProgramType::from(t), None));
        }
    }
    let c = std::ffi::CString::new(name).ok()?;
    let mut pt: libbpf_sys::bpf_prog_type = 0;
    let mut at: libbpf_sys::bpf_attach_type = 0;
    // SAFETY: valid C string and out pointers.
    let rc = unsafe { libbpf_sys::libbpf_prog_type_by_name(c.as_ptr(), &mut pt, &mut at) };
    if rc != 0 || pt == 0 {
        return None;
    }
    // Attach type 0 (cgroup_inet_ingress) is also "none"; only keep it when asked for.
    let attach = if at != 0 || name.contains("ingress") { Some(ProgramAttachType::from(at)) } else { None };
    Some((ProgramType::from(pt), attach))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(prog_type_name(6), "xdp");
        assert_eq!(prog_type_name(3), "sched_cls");
        assert_eq!(map_type_name(1), "hash");
        assert_eq!(map_type_name(27), "ringbuf");
        assert!(matches!(prog_type_by_name("xdp"), Some((ProgramType::Xdp, None))));
        assert!(matches!(prog_type_by_name("sched_cls"), Some((ProgramType::SchedCls, None))));
        assert!(matches!(prog_type_by_name("tc"), Some((ProgramType::SchedCls, _))));
        assert!(matches!(prog_type_by_name("socket"), Some((ProgramType::SocketFilter, _))));
        assert!(matches!(prog_type_by_name("cgroup_skb/ingress"), Some((ProgramType::CgroupSkb, Some(_)))));
        assert!(prog_type_by_name("nonsense").is_none());
    }
}
