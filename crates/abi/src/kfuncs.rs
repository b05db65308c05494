//! The kernel functions (kfuncs) bpfbox runs, and the ids it gives them. An object's
//! kfunc calls come out of the loader as `call` with BTF id 0 and the extern's name
//! (libbpf fills in the running kernel's BTF id instead); `bpfbox run`/`verify` give
//! the ones bpfbox knows a stable id of its own ([`kfunc_id`]), in a range no kernel
//! BTF reaches, which the verifier types and the runtime runs.

/// The first id (`KF` in the high half; kernel BTF ids stay far below).
pub const KFUNC_ID_BASE: i32 = 0x4b46_0000;

/// The kfuncs bpfbox knows, in id order (`KFUNC_ID_BASE + index`).
pub static KFUNCS: &[&str] = &[
    "bpf_dynptr_from_skb",
    "bpf_dynptr_from_xdp",
    "bpf_dynptr_slice",
    "bpf_dynptr_slice_rdwr",
    "bpf_xdp_ct_lookup",
    "bpf_skb_ct_lookup",
    "bpf_xdp_ct_alloc",
    "bpf_skb_ct_alloc",
    "bpf_ct_insert_entry",
    "bpf_ct_set_timeout",
    "bpf_ct_release",
    "bpf_iter_num_new",
    "bpf_iter_num_next",
    "bpf_iter_num_destroy",
    "bpf_rcu_read_lock",
    "bpf_rcu_read_unlock",
];

/// bpfbox's id of kfunc `name`.
pub fn kfunc_id(name: &str) -> Option<i32> {
    KFUNCS.iter().position(|k| *k == name).map(|i| KFUNC_ID_BASE + i as i32)
}

/// The kfunc bpfbox gave `id`.
pub fn kfunc_name(id: i32) -> Option<&'static str> {
    KFUNCS.get(usize::try_from(id.checked_sub(KFUNC_ID_BASE)?).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for k in KFUNCS {
            assert_eq!(kfunc_name(kfunc_id(k).unwrap()), Some(*k));
        }
        assert_eq!(kfunc_id("bpf_obj_new_impl"), None);
        assert_eq!(kfunc_name(0), None);
        assert_eq!(kfunc_name(KFUNC_ID_BASE - 1), None);
        assert_eq!(kfunc_name(i32::MIN), None);
    }
}
