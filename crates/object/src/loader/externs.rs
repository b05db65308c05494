//! Externs: `.kconfig` values (typed from BTF, filled from `LoadOptions`) and the
//! BTF of extern symbols.

use super::*;

/// The DATASEC (`.kconfig`, `.ksyms`) holding extern `name`, its type, and whether
/// it is a function.
pub(super) fn extern_btf(btf: &Btf, name: &str) -> Option<(String, u32, bool)> {
    for (_, ds) in btf.types().filter(|(_, t)| t.kind == Kind::Datasec) {
        for v in ds.secinfos() {
            let Some(t) = btf.type_by_id(v.type_id) else { continue };
            if btf.name(t.name_off) == name && matches!(t.kind, Kind::Var | Kind::Func) {
                return Some((btf.name(ds.name_off).to_string(), t.type_id(), t.kind == Kind::Func));
            }
        }
    }
    None
}

/// libbpf's `find_kcfg_type`: (type, size, alignment) of a kconfig extern.
pub(super) fn kcfg_type(btf: &Btf, type_id: u32) -> Result<(KcfgType, u32, u32), String> {
    let (id, t) = btf.skip_mods_and_typedefs(type_id).ok_or("bad type")?;
    let size = btf.resolve_size(id).map_err(|e| e.to_string())? as u32;
    let align = btf.align_of(id).map_err(|e| e.to_string())? as u32;
    let ty = match t.kind {
        Kind::Int => {
            let (enc, _, _) = t.int().unwrap_or((0, 0, 0));
            if size == 1 && enc & crate::btf::INT_BOOL != 0 {
                KcfgType::Bool
            } else if size == 1 && enc & crate::btf::INT_CHAR != 0 {
                KcfgType::Char
            } else if [1, 2, 4, 8].contains(&size) {
                KcfgType::Int { signed: enc & crate::btf::INT_SIGNED != 0 }
            } else {
                return Err(format!("unsupported {size}-byte int"));
            }
        }
        Kind::Enum if btf.name(t.name_off) == "libbpf_tristate" => KcfgType::Tristate,
        Kind::Enum | Kind::Enum64 => KcfgType::Int { signed: t.kind_flag },
        Kind::Array => {
            let a = t.array().ok_or("bad array")?;
            let (_, e) = btf.skip_mods_and_typedefs(a.elem_type).ok_or("bad array element")?;
            if e.kind != Kind::Int || e.size() != 1 {
                return Err("arrays must be of char".into());
            }
            KcfgType::CharArr
        }
        k => return Err(format!("unsupported type {}", k.name())),
    };
    Ok((ty, size, align))
}

/// The bytes of a kconfig extern from the options (zeros when unknown).
pub(super) fn kcfg_value(name: &str, ty: KcfgType, size: u32, opts: &LoadOptions) -> Vec<u8> {
    let size = size as usize;
    let mut out = vec![0u8; size];
    let int = |v: u64, out: &mut Vec<u8>| {
        let b = v.to_le_bytes();
        let n = size.min(8);
        out[..n].copy_from_slice(&b[..n]);
    };
    if name == "LINUX_KERNEL_VERSION" {
        int(opts.kernel_version as u64, &mut out);
        return out;
    }
    let Some((_, text)) = opts.kconfig.iter().find(|(k, _)| k == name) else { return out };
    let text = text.trim();
    match ty {
        KcfgType::Bool => int((text == "y") as u64, &mut out),
        KcfgType::Tristate => int(
            match text {
                "y" => 1,
                "m" => 2,
                _ => 0,
            },
            &mut out,
        ),
        KcfgType::Char => {
            if let Some(c) = text.bytes().next() {
                out[0] = c;
            }
        }
        KcfgType::CharArr => {
            let s = text.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(text);
            let n = s.len().min(size.saturating_sub(1));
            out[..n].copy_from_slice(&s.as_bytes()[..n]);
        }
        KcfgType::Int { .. } => {
            let v = match text {
                "y" => Some(1),
                "n" => Some(0),
                "m" => Some(2),
                _ => parse_c_int(text),
            };
            if let Some(v) = v {
                int(v, &mut out);
            }
        }
    }
    out
}

/// `strtoull(s, NULL, 0)` for whole strings (decimal, `0x` hex, `0` octal, `-`).
pub(super) fn parse_c_int(s: &str) -> Option<u64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse().ok()?
    };
    Some(if neg { v.wrapping_neg() } else { v })
}
