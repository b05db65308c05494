//! Which helpers each program type may call: the kernel's `get_func_proto` per program
//! type (and, where it matters, per expected attach type and sleepability), as data.
//!
//! The table (`helper_access/table.rs`) is generated from the running kernel by
//! `crates/kernel/tests/helper_access.rs` (see the header of `helper_access/table.rs`
//! for the kernel release and how to regenerate it): for each load configuration the
//! kernel was asked to load `call N; r0 = 0; exit` for every helper id 1..=211. It
//! describes a privileged loader (root); unprivileged programs get fewer helpers.
//!
//! Program types the kernel would not load without more context (tracing, LSM,
//! struct_ops, ext need an attach BTF id; lirc_mode2 needs a kernel option) have no
//! table: lookups answer `None` and callers should not reject on this basis.

mod table;

use crate::prog_types::{AttachType, ProgType};
use crate::MAX_HELPER_ID;

/// One load configuration the kernel accepted (a row of the generated table).
struct E {
    t: ProgType,
    /// The expected attach type the load passed (`None`: 0).
    a: Option<AttachType>,
    /// Loaded with `BPF_F_SLEEPABLE`.
    s: bool,
    /// Bit `id`: the helper may be called.
    ok: [u64; 4],
    /// Bit `id`: refused as "helper call might sleep in a non-sleepable prog".
    sleep: [u64; 4],
    /// Bit `id`: refused as "helper call is not allowed in probe".
    probe: [u64; 4],
}

fn bit(w: &[u64; 4], id: u32) -> bool {
    w.get((id / 64) as usize).is_some_and(|x| x >> (id % 64) & 1 == 1)
}

/// What the kernel does with a call to a helper from a given program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HelperAccess {
    /// The call passes the kernel's per-program checks (its arguments are checked next).
    Allowed,
    /// No prototype for this program: "program of this type cannot use helper".
    NotForThisType,
    /// The helper may sleep and the program is not sleepable: "helper call might sleep
    /// in a non-sleepable prog".
    MightSleep,
    /// The prototype's `allowed` callback refuses this program: "helper call is not
    /// allowed in probe".
    NotAllowedInProbe,
}

impl HelperAccess {
    /// The kernel's verifier message for a refused call to `bpf_<name>#<id>` (`None` when
    /// the call is allowed).
    pub fn kernel_message(self, name: &str, id: u32) -> Option<String> {
        match self {
            HelperAccess::Allowed => None,
            HelperAccess::NotForThisType => Some(format!("program of this type cannot use helper bpf_{name}#{id}")),
            HelperAccess::MightSleep => Some("helper call might sleep in a non-sleepable prog".to_string()),
            HelperAccess::NotAllowedInProbe => Some("helper call is not allowed in probe".to_string()),
        }
    }
}

/// The rows describing a program: those of its type whose attach type is
/// `expected_attach_type` (absent counts as 0, as for the kernel) and whose sleepability
/// matches `sleepable` (`None`: either). When the type has rows but none for this attach
/// type, all of the type's rows (so a helper some attach type allows is not refused).
fn rows(prog_type: ProgType, expected_attach_type: Option<u32>, sleepable: Option<bool>) -> Vec<&'static E> {
    let of_type = || table::TABLE.iter().filter(move |e| e.t == prog_type && sleepable.is_none_or(|s| e.s == s));
    let want = expected_attach_type.unwrap_or(0);
    let exact: Vec<&E> = of_type().filter(|e| e.a.map_or(0, AttachType::number) == want).collect();
    if exact.is_empty() {
        of_type().collect()
    } else {
        exact
    }
}

/// What the kernel does with a call to helper `helper_id` from a program of
/// `prog_type` loaded with `expected_attach_type`, sleepable or not (`None` when unknown:
/// then a helper either kind may call counts as allowed).
///
/// `None` when there is no table for the program (see the module documentation) or
/// `helper_id` is not a helper number (1..=211).
pub fn helper_access(
    prog_type: ProgType,
    expected_attach_type: Option<u32>,
    sleepable: Option<bool>,
    helper_id: u32,
) -> Option<HelperAccess> {
    if helper_id == 0 || helper_id > MAX_HELPER_ID {
        return None;
    }
    let rows = rows(prog_type, expected_attach_type, sleepable);
    if rows.is_empty() {
        return None;
    }
    let any = |f: fn(&E) -> &[u64; 4]| rows.iter().any(|e| bit(f(e), helper_id));
    Some(if any(|e| &e.ok) {
        HelperAccess::Allowed
    } else if any(|e| &e.sleep) {
        HelperAccess::MightSleep
    } else if any(|e| &e.probe) {
        HelperAccess::NotAllowedInProbe
    } else {
        HelperAccess::NotForThisType
    })
}

/// Whether a program of `prog_type` loaded with `expected_attach_type` may call helper
/// `helper_id` (sleepable or not: a sleepable-only helper counts as allowed for types
/// that can be sleepable). `None` when there is no table for that program type or
/// `helper_id` is not a helper number; callers must then not reject on this basis.
pub fn helper_allowed(prog_type: ProgType, expected_attach_type: Option<u32>, helper_id: u32) -> Option<bool> {
    helper_access(prog_type, expected_attach_type, None, helper_id).map(|a| a == HelperAccess::Allowed)
}

/// The program types for which some load configuration may call `helper_id`, in type
/// number order.
pub fn prog_types_allowing(helper_id: u32) -> Vec<ProgType> {
    let mut v: Vec<ProgType> = table::TABLE.iter().filter(|e| bit(&e.ok, helper_id)).map(|e| e.t).collect();
    v.dedup();
    v
}

/// The expected attach types of `prog_type` whose programs may call `helper_id`
/// (`None` in the list: loaded without one); empty when none may.
pub fn attach_types_allowing(prog_type: ProgType, helper_id: u32) -> Vec<Option<AttachType>> {
    let mut v: Vec<Option<AttachType>> =
        table::TABLE.iter().filter(|e| e.t == prog_type && bit(&e.ok, helper_id)).map(|e| e.a).collect();
    v.dedup();
    v
}

/// The program types without a table, each load configuration that failed and the
/// kernel's answer (errno and last log line).
pub fn not_probed() -> impl Iterator<Item = (ProgType, Option<AttachType>, &'static str)> {
    table::NOT_PROBED.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids;
    use crate::prog_types::AttachType as A;
    use ProgType as T;

    fn id(name: &str) -> u32 {
        crate::helper_by_name(name).map(|p| p.id).unwrap_or_else(|| panic!("no helper {name}"))
    }

    #[test]
    fn rows_are_grouped_by_type_in_number_order() {
        let t: Vec<u32> = table::TABLE.iter().map(|e| e.t.number()).collect();
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "{t:?}");
        for e in table::TABLE {
            assert_eq!(e.ok[0] & 1, 0, "bit 0 is not a helper");
            assert_eq!(e.ok[3] >> (MAX_HELPER_ID - 191), 0, "bits past {MAX_HELPER_ID}");
        }
    }

    #[test]
    fn packet_helpers() {
        let skb_load = id("skb_load_bytes");
        assert_eq!(helper_allowed(T::Xdp, Some(A::Xdp.number()), skb_load), Some(false));
        assert_eq!(helper_allowed(T::Xdp, None, skb_load), Some(false));
        assert_eq!(helper_allowed(T::SchedCls, None, skb_load), Some(true));
        assert_eq!(helper_allowed(T::SocketFilter, None, skb_load), Some(true));
        let adjust_head = id("xdp_adjust_head");
        assert_eq!(helper_allowed(T::SchedCls, None, adjust_head), Some(false));
        assert_eq!(helper_allowed(T::Xdp, Some(A::Xdp.number()), adjust_head), Some(true));
        let types = prog_types_allowing(skb_load);
        assert!(types.contains(&T::SchedCls) && !types.contains(&T::Xdp), "{types:?}");
    }

    #[test]
    fn broadly_available_helpers() {
        for t in [T::SocketFilter, T::Kprobe, T::SchedCls, T::Xdp, T::Tracepoint, T::CgroupSkb] {
            assert_eq!(helper_allowed(t, None, ids::MAP_LOOKUP_ELEM), Some(true), "{t}");
            assert_eq!(helper_allowed(t, None, ids::RINGBUF_OUTPUT), Some(true), "{t}");
        }
        assert_eq!(helper_allowed(T::Kprobe, None, id("probe_read_kernel")), Some(true));
    }

    #[test]
    fn attach_type_variants() {
        // bpf_bind: only the connect hooks of cgroup_sock_addr.
        let bind = id("bind");
        assert_eq!(helper_allowed(T::CgroupSockAddr, Some(A::CgroupInet4Connect.number()), bind), Some(true));
        assert_eq!(helper_allowed(T::CgroupSockAddr, Some(A::CgroupInet4Bind.number()), bind), Some(false));
        let at = attach_types_allowing(T::CgroupSockAddr, bind);
        assert!(at.contains(&Some(A::CgroupInet6Connect)) && !at.contains(&Some(A::CgroupInet6Bind)), "{at:?}");
        // An attach type the table lacks falls back to every row of the type.
        assert_eq!(helper_allowed(T::CgroupSockAddr, None, bind), Some(true));
    }

    #[test]
    fn sleepable_helpers() {
        let cfu = id("copy_from_user");
        assert_eq!(helper_access(T::Kprobe, None, Some(false), cfu), Some(HelperAccess::MightSleep));
        assert_eq!(helper_access(T::Kprobe, None, Some(true), cfu), Some(HelperAccess::Allowed));
        assert_eq!(helper_allowed(T::Kprobe, None, cfu), Some(true));
        assert_eq!(helper_allowed(T::Xdp, None, cfu), Some(false));
        assert_eq!(
            helper_access(T::Xdp, None, None, cfu).and_then(|a| a.kernel_message("copy_from_user", cfu)),
            Some("helper call might sleep in a non-sleepable prog".to_string())
        );
    }

    #[test]
    fn no_table() {
        assert_eq!(helper_allowed(T::Tracing, Some(A::TraceFentry.number()), ids::MAP_LOOKUP_ELEM), None);
        assert_eq!(helper_allowed(T::Lsm, None, ids::MAP_LOOKUP_ELEM), None);
        assert_eq!(helper_allowed(T::Xdp, None, 0), None);
        assert_eq!(helper_allowed(T::Xdp, None, MAX_HELPER_ID + 1), None);
        assert!(not_probed().any(|(t, _, _)| t == T::Tracing));
    }

    #[test]
    fn messages() {
        let skb_load = id("skb_load_bytes");
        let a = helper_access(T::Xdp, None, None, skb_load);
        assert_eq!(a, Some(HelperAccess::NotForThisType));
        assert_eq!(
            a.and_then(|a| a.kernel_message("skb_load_bytes", skb_load)).as_deref(),
            Some("program of this type cannot use helper bpf_skb_load_bytes#26")
        );
        assert_eq!(HelperAccess::Allowed.kernel_message("x", 1), None);
    }
}
