//! The kernel's BTF is modelled once per `KernelBtf`, not once per verification:
//! programs verified again and again against one `KernelBtf` read each tracing
//! prototype from the BTF once, and the BTF decodes only the types they touch.

use bpfbox_object::btf::Btf;
use bpfbox_object::{load, LoadOptions};
use bpfbox_verifier::object::input_with_kernel_btf;
use bpfbox_verifier::{verify, KernelBtf, VerifyOptions};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

#[test]
fn one_model_for_every_verification() {
    let Some(btf) = std::fs::read("/sys/kernel/btf/vmlinux").ok().and_then(|b| Btf::parse_vec(b).ok()) else {
        eprintln!("SKIP: no /sys/kernel/btf/vmlinux");
        return;
    };
    let btf = Arc::new(btf);
    let kernel_btf = KernelBtf::new(btf.clone());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/realworld");
    let kernel_version = bpfbox_object::running_kernel_version().unwrap_or(0);
    let opts = LoadOptions { target_btf: Some(btf.clone()), kernel_version, ..Default::default() };
    let mut targets = BTreeSet::new();
    for file in ["runqlat.bpf.o", "lsm_fentry.bpf.o"] {
        let obj = load(&std::fs::read(root.join(file)).expect("object"), &opts).expect("loads");
        for round in 0..5 {
            for p in &obj.programs {
                let input = input_with_kernel_btf(&obj, p, Some(&kernel_btf)).expect("known type");
                let r = verify(&input, &VerifyOptions::default());
                assert!(r.accepted(), "{file} {}: {:?}", p.name, r.diagnostics);
                if round == 0
                    && matches!(
                        p.section.split('/').next(),
                        Some("tp_btf" | "raw_tp" | "fentry" | "fexit" | "fentry.s" | "lsm")
                    )
                {
                    targets.insert(p.section.clone());
                }
            }
        }
    }
    // runqlat's three tp_btf and two raw_tp targets (no prototype for those, looked
    // for once), lsm_fentry's lsm, fentry, fexit and fentry.s.
    assert_eq!(targets.len(), 9, "{targets:?}");
    assert_eq!(
        kernel_btf.0.prototypes_built(),
        targets.len(),
        "a prototype was read more than once, or not through the shared KernelBtf"
    );
    // CO-RE and the verifier touched a few types of ~150,000.
    assert!(btf.decoded_types() * 20 < btf.len(), "{} of {} types decoded", btf.decoded_types(), btf.len());
}
