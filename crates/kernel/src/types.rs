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

/// The kernel's verifier log level bit for the instruction-by-instruction log (`BPF_LOG_LEVEL1`).
pub const BPF_LOG_LEVEL1: u32 = 1;
/// The kernel's verifier log level bit for the verbose log with every state (`BPF_LOG_LEVEL2`).
pub const BPF_LOG_LEVEL2: u32 = 2;
/// The kernel's verifier log level bit for statistics only (`BPF_LOG_STATS`): the
/// `processed N insns ...` and `verification time N usec` lines.
pub const BPF_LOG_STATS: u32 = 4;

/// What the kernel's verifier reports about one load at `BPF_LOG_STATS`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifierStats {
    /// Instructions processed on all paths (`processed N insns`).
    pub processed_insns: u64,
    /// `max_states_per_insn`.
    pub max_states_per_insn: u64,
    /// `total_states`: states stored for pruning in total.
    pub total_states: u64,
    /// `peak_states`: most states stored at one time.
    pub peak_states: u64,
    /// The kernel's own measurement of the verification (`verification time N usec`).
    pub verification_time_us: u64,
}

impl VerifierStats {
    /// The statistics in a verifier log, from its `processed N insns (limit ..)
    /// max_states_per_insn N total_states N peak_states N ...` and `verification time N
    /// usec` lines; `None` when either line is missing (the log level lacked
    /// `BPF_LOG_STATS`, or the log was truncated).
    pub fn parse(log: &str) -> Option<VerifierStats> {
        let mut stats = VerifierStats::default();
        let (mut seen_processed, mut seen_time) = (false, false);
        for line in log.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("verification time ") {
                stats.verification_time_us = rest.split_whitespace().next()?.parse().ok()?;
                seen_time = true;
            } else if let Some(rest) = line.strip_prefix("processed ") {
                let mut words = rest.split_whitespace();
                stats.processed_insns = words.next()?.parse().ok()?;
                while let Some(w) = words.next() {
                    let field = match w {
                        "max_states_per_insn" => &mut stats.max_states_per_insn,
                        "total_states" => &mut stats.total_states,
                        "peak_states" => &mut stats.peak_states,
                        _ => continue,
                    };
                    *field = words.next()?.parse().ok()?;
                }
                seen_processed = true;
            }
        }
        (seen_processed && seen_time).then_some(stats)
    }
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

    #[test]
    fn parses_verifier_stats() {
        let log = "processed 27 insns (limit 1000000) max_states_per_insn 1 total_states 3 peak_states 3 mark_read 1\n\
                   verification time 41 usec\nstack depth 8\n";
        let s = VerifierStats::parse(log).expect("stats");
        assert_eq!(
            s,
            VerifierStats {
                processed_insns: 27,
                max_states_per_insn: 1,
                total_states: 3,
                peak_states: 3,
                verification_time_us: 41
            }
        );
        assert_eq!(VerifierStats::parse("processed 27 insns (limit 1000000)\n"), None, "no time line");
        assert_eq!(VerifierStats::parse("verification time x usec\nprocessed 1 insns\n"), None, "bad number");
    }
}
