//! Verifier inputs from a loaded ELF object (`bpfbox_object::load`).

use crate::{MapInfo, ProgramInput};
use bpfbox_abi::prog_types::ProgType;
use bpfbox_object::{LoadedObject, MapSpec, ProgramSpec};

/// The offset of a top-level `struct bpf_spin_lock` member of the map's value type.
fn spin_lock_off(obj: &LoadedObject, m: &MapSpec) -> Option<u32> {
    let btf = obj.btf.as_deref()?;
    let (_, value) = btf.skip_mods_and_typedefs(m.value_type_id?)?;
    value.members().iter().find_map(|mem| {
        let (_, t) = btf.skip_mods_and_typedefs(mem.type_id)?;
        (btf.name(t.name_off) == "bpf_spin_lock").then_some(mem.bit_offset / 8)
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
        spin_lock_off: spin_lock_off(obj, m),
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
    })
}

/// [`input_from_object`] with the kernel's BTF (typically the one the object's CO-RE
/// relocations were resolved against).
pub fn input_with_kernel_btf(
    obj: &LoadedObject,
    prog: &ProgramSpec,
    kernel_btf: Option<std::sync::Arc<bpfbox_object::btf::Btf>>,
) -> Option<ProgramInput> {
    let mut input = input_from_object(obj, prog)?;
    input.kernel_btf = kernel_btf.map(crate::KernelBtf);
    Some(input)
}
