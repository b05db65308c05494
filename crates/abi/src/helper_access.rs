//! Which helpers each program type may call: the kernel's `get_func_proto` per program
//! type (and, where it matters, per expected attach type and sleepability), as data.
//!
//! A [`HelperTable`] describes one kernel build. It is probed from the running kernel by
//! `bpfbox_kernel::facts` (for each load configuration the kernel is asked to load
//! `call N; r0 = 0; exit` for every helper id 1..=211) and carried in a
//! [`KernelFacts`] file stamped with the kernel it came from; the committed one
//! (`helper_access/linux.facts`) is what bpfbox uses when it cannot ask the running
//! kernel. It describes a privileged loader (root); unprivileged programs get fewer
//! helpers.
//!
//! Program types the kernel would not load without more context (tracing, LSM,
//! struct_ops, ext need an attach BTF id; lirc_mode2 needs a kernel option) have no
//! table: lookups answer `None` and callers should not reject on this basis.

use crate::kernel_facts::KernelFacts;
use crate::prog_types::{AttachType, ProgType};
use crate::MAX_HELPER_ID;

/// A helper bitset: bit `id % 64` of word `id / 64` stands for helper `id`.
pub type HelperSet = [u64; 4];

/// One load configuration the kernel accepted: a row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub prog_type: ProgType,
    /// The expected attach type the load passed (`None`: 0).
    pub attach: Option<AttachType>,
    /// Loaded with `BPF_F_SLEEPABLE`.
    pub sleepable: bool,
    /// The helpers the program may call.
    pub ok: HelperSet,
    /// Refused as "helper call might sleep in a non-sleepable prog".
    pub sleep: HelperSet,
    /// Refused as "helper call is not allowed in probe".
    pub probe: HelperSet,
}

/// A load configuration whose trivial `r0 = 0; exit` the kernel did not load, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotProbed {
    pub prog_type: ProgType,
    pub attach: Option<AttachType>,
    pub why: String,
}

/// Which helpers each load configuration of one kernel build may call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelperTable {
    pub rows: Vec<Row>,
    pub not_probed: Vec<NotProbed>,
}

/// Whether helper `id` is in `w`.
pub fn contains(w: &HelperSet, id: u32) -> bool {
    w.get((id / 64) as usize).is_some_and(|x| x >> (id % 64) & 1 == 1)
}

/// Add helper `id` to `w` (ids past the set are ignored).
pub fn insert(w: &mut HelperSet, id: u32) {
    if let Some(x) = w.get_mut((id / 64) as usize) {
        *x |= 1 << (id % 64);
    }
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

impl HelperTable {
    /// The rows describing a program: those of its type whose attach type is
    /// `expected_attach_type` (absent counts as 0, as for the kernel) and whose
    /// sleepability matches `sleepable` (`None`: either). When the type has rows but none
    /// for this attach type, all of the type's rows (so a helper some attach type allows
    /// is not refused).
    fn rows_for(&self, prog_type: ProgType, expected_attach_type: Option<u32>, sleepable: Option<bool>) -> Vec<&Row> {
        let of_type =
            || self.rows.iter().filter(move |e| e.prog_type == prog_type && sleepable.is_none_or(|s| e.sleepable == s));
        let want = expected_attach_type.unwrap_or(0);
        let exact: Vec<&Row> = of_type().filter(|e| e.attach.map_or(0, AttachType::number) == want).collect();
        if exact.is_empty() {
            of_type().collect()
        } else {
            exact
        }
    }

    /// What the kernel does with a call to helper `helper_id` from a program of
    /// `prog_type` loaded with `expected_attach_type`, sleepable or not (`None` when
    /// unknown: then a helper either kind may call counts as allowed).
    ///
    /// `None` when there is no row for the program (see the module documentation) or
    /// `helper_id` is not a helper number (1..=211).
    pub fn access(
        &self,
        prog_type: ProgType,
        expected_attach_type: Option<u32>,
        sleepable: Option<bool>,
        helper_id: u32,
    ) -> Option<HelperAccess> {
        if helper_id == 0 || helper_id > MAX_HELPER_ID {
            return None;
        }
        let rows = self.rows_for(prog_type, expected_attach_type, sleepable);
        if rows.is_empty() {
            return None;
        }
        let any = |f: fn(&Row) -> &HelperSet| rows.iter().any(|e| contains(f(e), helper_id));
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

    /// Whether a program of `prog_type` loaded with `expected_attach_type` may call
    /// helper `helper_id` (sleepable or not). `None` when there is no row for that
    /// program type or `helper_id` is not a helper number; callers must then not reject
    /// on this basis.
    pub fn allowed(&self, prog_type: ProgType, expected_attach_type: Option<u32>, helper_id: u32) -> Option<bool> {
        self.access(prog_type, expected_attach_type, None, helper_id).map(|a| a == HelperAccess::Allowed)
    }

    /// The program types for which some load configuration may call `helper_id`, in
    /// type number order.
    pub fn prog_types_allowing(&self, helper_id: u32) -> Vec<ProgType> {
        let mut v: Vec<ProgType> =
            self.rows.iter().filter(|e| contains(&e.ok, helper_id)).map(|e| e.prog_type).collect();
        v.sort_by_key(|t| t.number());
        v.dedup();
        v
    }

    /// The expected attach types of `prog_type` whose programs may call `helper_id`
    /// (`None` in the list: loaded without one); empty when none may.
    pub fn attach_types_allowing(&self, prog_type: ProgType, helper_id: u32) -> Vec<Option<AttachType>> {
        let mut v: Vec<Option<AttachType>> = self
            .rows
            .iter()
            .filter(|e| e.prog_type == prog_type && contains(&e.ok, helper_id))
            .map(|e| e.attach)
            .collect();
        v.dedup();
        v
    }

    /// The number of (load configuration, helper) pairs allowed.
    pub fn allowed_pairs(&self) -> usize {
        self.rows.iter().map(|r| r.ok.iter().map(|w| w.count_ones() as usize).sum::<usize>()).sum()
    }
}

/// [`HelperTable::access`] on the committed facts ([`KernelFacts::committed`]).
pub fn helper_access(
    prog_type: ProgType,
    expected_attach_type: Option<u32>,
    sleepable: Option<bool>,
    helper_id: u32,
) -> Option<HelperAccess> {
    KernelFacts::committed().helpers.access(prog_type, expected_attach_type, sleepable, helper_id)
}

/// [`HelperTable::allowed`] on the committed facts.
pub fn helper_allowed(prog_type: ProgType, expected_attach_type: Option<u32>, helper_id: u32) -> Option<bool> {
    KernelFacts::committed().helpers.allowed(prog_type, expected_attach_type, helper_id)
}

/// [`HelperTable::prog_types_allowing`] on the committed facts.
pub fn prog_types_allowing(helper_id: u32) -> Vec<ProgType> {
    KernelFacts::committed().helpers.prog_types_allowing(helper_id)
}

/// [`HelperTable::attach_types_allowing`] on the committed facts.
pub fn attach_types_allowing(prog_type: ProgType, helper_id: u32) -> Vec<Option<AttachType>> {
    KernelFacts::committed().helpers.attach_types_allowing(prog_type, helper_id)
}

/// The load configurations without a row in the committed facts, and the kernel's answer
/// (errno and last log line).
pub fn not_probed() -> impl Iterator<Item = &'static NotProbed> {
    KernelFacts::committed().helpers.not_probed.iter()
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
        let rows = &KernelFacts::committed().helpers.rows;
        let t: Vec<u32> = rows.iter().map(|e| e.prog_type.number()).collect();
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "{t:?}");
        for e in rows {
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
        assert!(not_probed().any(|n| n.prog_type == T::Tracing));
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
