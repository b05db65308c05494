//! Map definitions: BTF-defined `.maps` entries read from their BTF types, libbpf's
//! defaults, and the key-size check.

use super::*;

pub(super) fn check_key(m: &MapSpec, section: &str) -> Result<(), LoadError> {
    if m.key_size == 0 && needs_key(m.map_type) {
        return Err(LoadError::ZeroKeySize { section: section.into(), map: m.name.clone(), map_type: m.map_type });
    }
    Ok(())
}

/// libbpf's defaults: perf event arrays have 4-byte keys and values.
pub(super) fn fill_defaults(m: &mut MapSpec) {
    if m.map_type == map_type::PERF_EVENT_ARRAY {
        if m.key_size == 0 {
            m.key_size = 4;
        }
        if m.value_size == 0 {
            m.value_size = 4;
        }
    }
}

impl MapSpec {
    pub(super) fn empty(name: &str) -> MapSpec {
        MapSpec {
            name: name.to_string(),
            map_type: 0,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            map_flags: 0,
            numa_node: 0,
            pinning: 0,
            map_extra: 0,
            inner: None,
            init_slots: Vec::new(),
            initial_data: None,
            global_section: None,
            key_type_id: None,
            value_type_id: None,
            frozen: false,
        }
    }
}

/// `__uint(name, N)` is `int (*name)[N]`: N is the array's element count.
pub(super) fn map_field_int(btf: &Btf, type_id: u32, field: &str) -> Result<u32, String> {
    let Some((_, t)) = btf.skip_mods_and_typedefs(type_id) else { return Err(format!("`{field}`: bad type")) };
    if t.kind != Kind::Ptr {
        return Err(format!("`{field}`: expected a pointer (`__uint`), found {}", t.kind.name()));
    }
    match btf.type_by_id(t.type_id()).and_then(|a| a.array()) {
        Some(a) => Ok(a.nelems),
        None => Err(format!("`{field}`: expected a pointer to an array (`__uint`)")),
    }
}

/// libbpf's `parse_btf_map_def`.
pub(super) fn parse_btf_map_def(btf: &Btf, name: &str, def_id: u32, is_inner: bool) -> Result<MapSpec, String> {
    let def = btf.type_by_id(def_id).ok_or("bad definition type")?;
    let mut m = MapSpec::empty(name);
    let n = def.members().len();
    for (i, mem) in def.members().iter().enumerate() {
        let field = btf.name(mem.name_off);
        match field {
            "type" => m.map_type = map_field_int(btf, mem.type_id, field)?,
            "max_entries" => m.max_entries = map_field_int(btf, mem.type_id, field)?,
            "map_flags" => m.map_flags = map_field_int(btf, mem.type_id, field)?,
            "numa_node" => m.numa_node = map_field_int(btf, mem.type_id, field)?,
            "map_extra" => m.map_extra = map_field_int(btf, mem.type_id, field)? as u64,
            "key_size" | "value_size" => {
                let v = map_field_int(btf, mem.type_id, field)?;
                let (cur, what) =
                    if field == "key_size" { (&mut m.key_size, "key") } else { (&mut m.value_size, "value") };
                if *cur != 0 && *cur != v {
                    return Err(format!("conflicting {what} size {} != {v}", *cur));
                }
                *cur = v;
            }
            "key" | "value" => {
                let Some((_, t)) = btf.skip_mods_and_typedefs(mem.type_id) else {
                    return Err(format!("`{field}`: bad type"));
                };
                if t.kind != Kind::Ptr {
                    return Err(format!("`{field}`: expected a pointer (`__type`), found {}", t.kind.name()));
                }
                let target = t.type_id();
                let size = btf.resolve_size(target).map_err(|e| format!("`{field}` type: {e}"))? as u32;
                let (cur, tid) = if field == "key" {
                    (&mut m.key_size, &mut m.key_type_id)
                } else {
                    (&mut m.value_size, &mut m.value_type_id)
                };
                if *cur != 0 && *cur != size {
                    return Err(format!("conflicting {field} size {} != {size}", *cur));
                }
                *cur = size;
                *tid = Some(target);
            }
            "values" => {
                if is_inner {
                    return Err("multi-level inner maps are not supported".into());
                }
                if i + 1 != n {
                    return Err("`values` must be the last member".into());
                }
                let mim = matches!(m.map_type, map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS);
                if !mim && m.map_type != map_type::PROG_ARRAY {
                    return Err(format!("`values` on a map of type {} (only map-in-map and prog_array)", m.map_type));
                }
                if m.value_size != 0 && m.value_size != 4 {
                    return Err(format!("conflicting value size {} != 4", m.value_size));
                }
                m.value_size = 4;
                let arr = btf.type_by_id(mem.type_id).and_then(|t| t.array()).ok_or("`values` must be an array")?;
                let Some((_, p)) = btf.skip_mods_and_typedefs(arr.elem_type).filter(|(_, p)| p.kind == Kind::Ptr)
                else {
                    return Err("`values` must be an array of pointers".into());
                };
                let Some((inner_id, inner)) = btf.skip_mods_and_typedefs(p.type_id()) else {
                    return Err("`values`: bad element type".into());
                };
                if m.map_type == map_type::PROG_ARRAY {
                    if inner.kind != Kind::FuncProto {
                        return Err("prog_array `values` must point to functions".into());
                    }
                    continue;
                }
                if inner.kind != Kind::Struct {
                    return Err("map-in-map `values` must point to a map definition struct".into());
                }
                let mut im = parse_btf_map_def(btf, &format!("{name}.inner"), inner_id, true)?;
                fill_defaults(&mut im);
                m.inner = Some(Box::new(im));
            }
            "pinning" => {
                let v = map_field_int(btf, mem.type_id, field)?;
                if v > 1 {
                    return Err(format!("invalid pinning value {v}"));
                }
                m.pinning = v;
            }
            other => return Err(format!("unknown field `{other}`")),
        }
    }
    if matches!(m.map_type, map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS) && m.value_size == 0 {
        m.value_size = 4;
    }
    fill_defaults(&mut m);
    Ok(m)
}
