//! Memory and stack access (`check_mem_access`): loads and stores through ctx,
//! packet, map key/value, memory, socket and kernel-object pointers; the stack with
//! its spills and fills (`check_stack_write`/`check_stack_read`); the memory a helper
//! argument points at (`check_helper_mem_access`); and strict alignment
//! (`check_ptr_alignment`).

use super::precision::slot_bits;
use super::{fail, scalar_of_size, with_hint, Verifier, MAX_PACKET_OFF, MAX_VAR_OFF, R};
use crate::ctx::{self, CtxValue};
use crate::state::{RegState, RegType, SlotType, State, MAX_STACK};
use crate::Rule;
use bpfbox_abi::prog_types::ProgType;

/// The register a load through a typed kernel pointer gives (`btf_struct_walk`'s result).
fn walked(w: crate::btf_model::Walk, size: u32, rn: u8) -> R<RegState> {
    match w {
        crate::btf_model::Walk::Ptr(id) => Ok(RegState { aux: id, ..RegState::ptr(RegType::BtfId) }),
        crate::btf_model::Walk::Scalar => Ok(RegState::scalar(scalar_of_size(size))),
        crate::btf_model::Walk::Denied(m) => fail(Rule::InvalidMemAccess, m, &[rn]),
    }
}

/// `check_ptr_alignment` in strict mode (`check_generic_ptr_alignment`,
/// `check_pkt_ptr_alignment`): `var_off + off + extra` must be a multiple of `size` for
/// every value of the variable part (`extra`: the instruction's offset; packets as if
/// `NET_IP_ALIGN` were 2).
pub(super) fn ptr_alignment(base: &RegState, extra: i64, size: u32, regno: usize) -> R<()> {
    if size <= 1 {
        return Ok(());
    }
    let t = base.var.var;
    let (ip_align, desc) = match base.ty {
        RegType::Packet | RegType::PacketMeta => (2, "packet "),
        RegType::Stack => (0, "stack "),
        RegType::MapValue => (0, "value "),
        RegType::MapKey => (0, "key "),
        RegType::Ctx => (0, "context "),
        _ => (0, ""),
    };
    let fixed = ip_align + base.off as i64 + extra;
    let low = u64::from(size) - 1;
    if t.mask & low == 0 && t.value.wrapping_add(fixed as u64) & low == 0 {
        return Ok(());
    }
    let var = if base.var.is_const() { (t.value as i64).to_string() } else { t.to_string() };
    let msg = if ip_align != 0 {
        format!("misaligned packet access off {ip_align}+{var}+{}+{extra} size {size}", base.off)
    } else {
        format!("misaligned {desc}access off {var}+{}+{extra} size {size}", base.off)
    };
    fail(Rule::Misaligned, msg, &[regno as u8])
}

/// `get_reg_width`: the bits a scalar's unsigned maximum needs.
fn reg_width(r: &RegState) -> u32 {
    64 - r.var.umax.leading_zeros()
}

/// Atomics (load-acquire and store-release too) are always checked for alignment
/// (`strict_alignment_once`) in map values and memory; the stack always is.
pub(super) fn strict_align(base: &RegState, off: i16, sz: u32, d: usize) -> R<()> {
    if matches!(base.ty, RegType::MapValue | RegType::Mem) {
        ptr_alignment(base, off as i64, sz, d)?;
    }
    Ok(())
}

impl Verifier<'_> {
    /// `save_aux_ptr_type`: a load or store instruction reached with pointers of
    /// different types on different paths (or calls) is refused when one of them is
    /// a context or kernel-object pointer, whose accesses the kernel rewrites per
    /// instruction ("same insn cannot be used with different pointers"). Loads may mix
    /// memory and BTF pointers (`allow_trust_mismatch`).
    pub(super) fn save_aux_ptr_type(&mut self, pc: usize, ty: RegType, load: bool) -> R<()> {
        let rewritten = |t: RegType| matches!(t, RegType::Ctx | RegType::Sock(_) | RegType::BtfId);
        let mem_or_btf = |t: RegType| matches!(t, RegType::Mem | RegType::BtfId);
        let Some(slot) = self.ptr_types.get_mut(pc) else { return Ok(()) };
        match *slot {
            None => *slot = Some(ty),
            Some(prev) if prev != ty && (rewritten(prev) || rewritten(ty)) => {
                if load && mem_or_btf(prev) && mem_or_btf(ty) {
                    *slot = Some(RegType::BtfId);
                } else {
                    return with_hint(
                        fail(Rule::CtxAccess, "same insn cannot be used with different pointers", &[]),
                        || {
                            format!(
                                "this instruction accesses a {} pointer on one path and a {} pointer on another: \
                                 use a separate load or store for each",
                                RegState::ptr(prev).type_str(),
                                RegState::ptr(ty).type_str()
                            )
                        },
                    );
                }
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Reads (`store == None`, returns the value) or writes memory through `base`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn mem_access(
        &mut self,
        st: &mut State,
        regno: usize,
        base: RegState,
        insn_off: i64,
        size: u32,
        store: Option<(RegState, Option<usize>)>,
        pc: usize,
    ) -> R<RegState> {
        let rn = regno as u8;
        let write = store.is_some();
        let rw = if write { "write to" } else { "read from" };
        if base.maybe_null {
            let t = base.type_str();
            return with_hint(fail(Rule::NullDeref, format!("R{regno} invalid mem access '{t}'"), &[rn]), || {
                "this pointer may be NULL here: check it (if (!p) return ...;) before dereferencing it".into()
            });
        }
        if let Some((v, Some(sr))) = store {
            if v.is_ptr() && self.opts.unprivileged && base.ty != RegType::Stack {
                let into = match base.ty {
                    RegType::MapValue => "map",
                    RegType::Packet | RegType::PacketMeta => "packet",
                    RegType::Ctx => "ctx",
                    _ => "mem",
                };
                return fail(Rule::PointerLeak, format!("R{sr} leaks addr into {into}"), &[sr as u8]);
            }
        }
        // Strict alignment for the other pointer types (stack accesses are always
        // checked, in stack_access).
        if self.opts.strict_alignment() && base.ty != RegType::Stack {
            ptr_alignment(&base, insn_off, size, regno)?;
        }
        let off = base.off as i64 + insn_off;
        if !matches!(
            base.ty,
            RegType::Stack | RegType::Packet | RegType::PacketMeta | RegType::MapValue | RegType::MapKey | RegType::Mem
        ) {
            if let Some(c) = self.converted.get_mut(pc) {
                *c = true;
            }
        }
        match base.ty {
            RegType::NotInit => fail(Rule::UninitRegister, format!("R{regno} !read_ok"), &[rn]),
            RegType::ConstMapPtr => {
                // `check_ptr_to_map_access`: privileged programs read the kernel's
                // map struct (`struct bpf_array`...) through the map pointer, typed by
                // the kernel's BTF (without it, bpfbox cannot and refuses).
                let Some(kb) = self.prog.kernel_btf.as_ref() else {
                    return fail(Rule::InvalidMemAccess, format!("R{regno} invalid mem access 'map_ptr'"), &[rn]);
                };
                let btf: &bpfbox_object::btf::Btf = &kb.0;
                let map_type = self.map(base.map).map_type;
                let Some(sid) = crate::btf_model::map_struct(btf, map_type) else {
                    return fail(
                        Rule::InvalidMemAccess,
                        format!("map_ptr access not supported for map type {map_type}"),
                        &[rn],
                    );
                };
                if self.opts.unprivileged {
                    return fail(
                        Rule::InvalidMemAccess,
                        format!(
                            "'struct {}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN",
                            btf.type_name(sid)
                        ),
                        &[rn],
                    );
                }
                if off < 0 {
                    return fail(
                        Rule::InvalidMemAccess,
                        format!("R{regno} is {} invalid negative access: off={off}", base.type_str()),
                        &[rn],
                    );
                }
                if write {
                    return fail(
                        Rule::InvalidMemAccess,
                        format!("only read from {} is supported", btf.type_name(sid)),
                        &[rn],
                    );
                }
                walked(crate::btf_model::struct_access(btf, sid, off, size), size, rn)
            }
            RegType::Scalar | RegType::PacketEnd | RegType::Func => {
                fail(Rule::InvalidMemAccess, format!("R{regno} invalid mem access '{}'", base.type_str()), &[rn])
            }
            RegType::Ctx => {
                if !base.var.is_const() {
                    return fail(
                        Rule::ModifiedCtx,
                        format!("variable ctx access var_off={} disallowed", base.var.var),
                        &[rn],
                    );
                }
                if base.off != 0 {
                    return with_hint(
                        fail(
                            Rule::ModifiedCtx,
                            format!("dereference of modified ctx ptr R{regno} off={} disallowed", base.off),
                            &[rn],
                        ),
                        || {
                            "read context fields at constant offsets from the original context pointer; do not add to it first".into()
                        },
                    );
                }
                // cg_skb_is_valid_access: data, data_end (76..84) and writes to tstamp
                // (152..160) need CAP_BPF.
                let overlaps = |a: i64, b: i64| off < b && off + size as i64 > a;
                let cap_bpf_only = self.opts.unprivileged
                    && self.prog.prog_type == ProgType::CgroupSkb
                    && (overlaps(76, 84) || (write && overlaps(152, 160)));
                let access = ctx::access(self.prog.prog_type, self.prog.expected_attach_type, off, size, write);
                let Some(kind) = access.filter(|_| !cap_bpf_only) else {
                    return with_hint(
                        fail(Rule::CtxAccess, format!("invalid bpf_context access off={off} size={size}"), &[rn]),
                        || {
                            format!(
                                "{} programs cannot {} {size} bytes at offset {off} of their context",
                                self.prog.prog_type.name(),
                                if write { "write" } else { "read" }
                            )
                        },
                    );
                };
                if let Some((v, sr)) = store {
                    // A pointer into the context leaks it only without allow_ptr_leaks.
                    if v.is_ptr() && self.opts.unprivileged {
                        return fail(Rule::PointerLeak, format!("R{} leaks addr into ctx", sr.unwrap_or(0)), &[]);
                    }
                    return Ok(RegState::NOT_INIT);
                }
                Ok(match kind {
                    CtxValue::Scalar => RegState::scalar(scalar_of_size(size)),
                    CtxValue::Packet => RegState::ptr(RegType::Packet),
                    CtxValue::PacketMeta => RegState::ptr(RegType::PacketMeta),
                    CtxValue::PacketEnd => RegState::ptr(RegType::PacketEnd),
                    CtxValue::Sock { kind, or_null } => RegState {
                        maybe_null: or_null,
                        id: if or_null { self.new_id() } else { 0 },
                        ..RegState::ptr(RegType::Sock(kind))
                    },
                    CtxValue::BtfStruct(name) => RegState {
                        aux: self
                            .prog
                            .kernel_btf
                            .as_ref()
                            .and_then(|b| crate::btf_model::struct_id(&b.0, name))
                            .unwrap_or(0),
                        ..RegState::ptr(RegType::BtfId)
                    },
                    CtxValue::BtfArg => match &self.tracing {
                        Some(t) => match t.args.get((off / 8) as usize) {
                            Some(crate::btf_model::Arg::Scalar) => RegState::scalar(scalar_of_size(size)),
                            Some(&crate::btf_model::Arg::Ptr { type_id, maybe_null }) => {
                                let id = if maybe_null { self.new_id() } else { 0 };
                                RegState { aux: type_id, maybe_null, id, ..RegState::ptr(RegType::BtfId) }
                            }
                            None => {
                                return fail(
                                    Rule::CtxAccess,
                                    format!(
                                        "func '{}' doesn't have {}-th argument",
                                        t.func,
                                        off / 8 + t.first_number as i64
                                    ),
                                    &[rn],
                                )
                            }
                        },
                        None => RegState::ptr(RegType::BtfId),
                    },
                })
            }
            RegType::Stack => self.stack_access(st, regno, base, off, size, store, rw, pc),
            RegType::MapValue | RegType::MapKey => {
                let map = self.map(base.map);
                let is_key = base.ty == RegType::MapKey;
                let mem = if is_key { map.key_size } else { map.value_size };
                if write && is_key {
                    return fail(Rule::MapKeyAccess, format!("write to change key R{regno} not allowed"), &[rn]);
                }
                // `check_map_access_type`: BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG (and frozen .rodata).
                if !is_key && (if write { !map.prog_can_write() } else { !map.prog_can_read() }) {
                    let what = if write { "write into" } else { "read from" };
                    return with_hint(
                        fail(
                            Rule::MapValueAccess,
                            format!("{what} map forbidden, value_size={mem} off={off} size={size}"),
                            &[rn],
                        ),
                        || {
                            let flag = if write {
                                "read-only (BPF_F_RDONLY_PROG or frozen)"
                            } else {
                                "write-only (BPF_F_WRONLY_PROG)"
                            };
                            format!("map `{}` is {flag} for programs", map.name)
                        },
                    );
                }
                let what =
                    if is_key { format!("map key, key_size={mem}") } else { format!("map value, value_size={mem}") };
                let rule = if is_key { Rule::MapKeyAccess } else { Rule::MapValueAccess };
                self.region_check(regno, &base, off, size, mem as i64, rule, &what)?;
                // The spin lock word is off limits to loads and stores (check_map_access).
                if let (false, Some(lock)) = (is_key, map.spin_lock_off) {
                    let lo = off.saturating_add(base.var.smin);
                    let hi = off.saturating_add(base.var.umax.min(i64::MAX as u64) as i64).saturating_add(size as i64);
                    if lo < lock as i64 + 4 && (lock as i64) < hi {
                        return fail(
                            Rule::MapValueAccess,
                            "bpf_spin_lock cannot be accessed directly by load/store",
                            &[rn],
                        );
                    }
                }
                if let Some((v, _)) = store {
                    let _ = v;
                    return Ok(RegState::NOT_INIT);
                }
                // A frozen read-only map at a constant offset: the kernel reads the value.
                if let (false, Some(data), Some(var)) = (is_key, &map.frozen_data, base.var.const_value()) {
                    let at = off.wrapping_add(var as i64);
                    if let Some(b) = usize::try_from(at).ok().and_then(|a| data.get(a..a.checked_add(size as usize)?)) {
                        if matches!(size, 1 | 2 | 4 | 8) {
                            let mut w = [0u8; 8];
                            w[..b.len()].copy_from_slice(b);
                            return Ok(RegState::konst(u64::from_le_bytes(w)));
                        }
                    }
                }
                Ok(RegState::scalar(scalar_of_size(size)))
            }
            RegType::Mem => {
                if write && base.rdonly {
                    return fail(Rule::MemAccess, format!("R{regno} cannot write into {}", base.type_str()), &[rn]);
                }
                let mem = base.aux as i64;
                self.region_check(regno, &base, off, size, mem, Rule::MemAccess, &format!("memory, mem_size={mem}"))?;
                Ok(if write { RegState::NOT_INIT } else { RegState::scalar(scalar_of_size(size)) })
            }
            RegType::Packet | RegType::PacketMeta => {
                if write && !ctx::may_write_packet(self.prog.prog_type) {
                    return fail(Rule::PacketAccess, "cannot write into packet".to_string(), &[rn]);
                }
                if base.var.smin < 0 {
                    return fail(
                        Rule::PacketAccess,
                        format!(
                            "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."
                        ),
                        &[rn],
                    );
                }
                if off < 0 || off + size as i64 > base.range as i64 {
                    let msg = format!("invalid access to packet, off={off} size={size}, R{regno}(id={},off={off},r={})\nR{regno} offset is outside of the packet", base.id, base.range);
                    let need = off + size as i64;
                    return with_hint(fail(Rule::PacketAccess, msg, &[rn]), || {
                        if base.range == 0 {
                            format!("no bounds check covers this pointer: add `if ((void *)p + {need} > data_end) return ...;` (p = this pointer without its constant offset) before the access")
                        } else {
                            format!("the bounds check before this access only covers {} bytes; the access needs {need}: compare `p + {need}` (or more) with data_end", base.range)
                        }
                    });
                }
                if base.var.umax.saturating_add(off as u64) > MAX_PACKET_OFF {
                    return fail(
                        Rule::PacketAccess,
                        format!("R{regno} unbounded memory access, make sure to bounds check any such access"),
                        &[rn],
                    );
                }
                Ok(if write { RegState::NOT_INIT } else { RegState::scalar(scalar_of_size(size)) })
            }
            RegType::Sock(kind) => match crate::sock::access(&base, kind, regno, off, size, write) {
                Ok(()) => Ok(RegState::scalar(scalar_of_size(size))),
                Err(msg) => fail(Rule::InvalidMemAccess, msg, &[rn]),
            },
            RegType::BtfId => {
                if write && self.prog.prog_type != ProgType::StructOps {
                    return fail(Rule::InvalidMemAccess, "only read is supported".to_string(), &[rn]);
                }
                // Typed (the kernel's BTF and a known struct): `btf_struct_walk`.
                if let (Some(btf), Some(v)) = (&self.prog.kernel_btf, base.var.const_value()) {
                    if base.aux != 0 {
                        let at = off.wrapping_add(v as i64);
                        return walked(crate::btf_model::struct_access(&btf.0, base.aux, at, size), size, rn);
                    }
                }
                Ok(if size == 8 { RegState::ptr(RegType::BtfId) } else { RegState::scalar(scalar_of_size(size)) })
            }
        }
    }

    /// `check_mem_region_access` for map values, map keys and `PTR_TO_MEM`.
    #[allow(clippy::too_many_arguments)]
    fn region_check(
        &self,
        regno: usize,
        base: &RegState,
        off: i64,
        size: u32,
        mem: i64,
        rule: Rule,
        what: &str,
    ) -> R<()> {
        let rn = regno as u8;
        let var = &base.var;
        let sz = size as i64;
        let hint = || {
            format!("valid offsets are 0..{}: bound the index before adding it to the pointer (e.g. `if (idx >= N) return ...;`)", mem)
        };
        if var.smin < 0
            && (var.smin == i64::MIN || var.smin.checked_add(off).is_none_or(|v| v != v as i32 as i64 || v < 0))
        {
            return with_hint(
                fail(
                    rule,
                    format!("R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."),
                    &[rn],
                ),
                hint,
            );
        }
        let lo = var.smin.saturating_add(off);
        if lo < 0 || lo + sz > mem {
            let extra = if var.is_const() {
                String::new()
            } else {
                format!("\nR{regno} min value is outside of the allowed memory range")
            };
            return with_hint(fail(rule, format!("invalid access to {what} off={lo} size={size}{extra}"), &[rn]), hint);
        }
        if var.umax >= MAX_VAR_OFF as u64 {
            return with_hint(
                fail(
                    rule,
                    format!("R{regno} unbounded memory access, make sure to bounds check any such access"),
                    &[rn],
                ),
                hint,
            );
        }
        let hi = var.umax as i64 + off;
        if hi + sz > mem {
            let extra = if var.is_const() {
                String::new()
            } else {
                format!("\nR{regno} max value is outside of the allowed memory range")
            };
            return with_hint(fail(rule, format!("invalid access to {what} off={hi} size={size}{extra}"), &[rn]), hint);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn stack_access(
        &mut self,
        st: &mut State,
        regno: usize,
        base: RegState,
        off: i64,
        size: u32,
        store: Option<(RegState, Option<usize>)>,
        rw: &str,
        pc: usize,
    ) -> R<RegState> {
        let rn = regno as u8;
        let frameno = base.aux as usize;
        let sz = size as i64;
        let (lo, hi) = if base.var.is_const() {
            let o = off + base.var.var.value as i64;
            (o, o)
        } else {
            (off.saturating_add(base.var.smin), off.saturating_add(base.var.smax))
        };
        // Alignment is checked before the bounds (check_ptr_alignment comes first), on
        // the whole tnum: a variable offset must keep the low bits known.
        ptr_alignment(&base, off - base.off as i64, size, regno)?;
        // Unprivileged reads stay within the stack written so far (check_stack_slot_within_bounds).
        let min_off = match st.frames.get(frameno) {
            Some(f) if store.is_none() && self.opts.unprivileged => -f.allocated_stack(),
            _ => -(MAX_STACK as i64),
        };
        if lo < min_off || hi + sz > 0 || lo > hi {
            let msg = if base.var.is_const() {
                format!("invalid {rw} stack R{regno} off={lo} size={size}")
            } else {
                format!("invalid variable-offset {rw} stack R{regno} var_off={} off={off} size={size}", base.var.var)
            };
            let below_written = lo >= -(MAX_STACK as i64) && hi + sz <= 0;
            return with_hint(fail(Rule::StackAccess, msg, &[rn]), || {
                if below_written && min_off == 0 {
                    "unprivileged programs may only read stack they wrote first: nothing was written on this path"
                        .into()
                } else if below_written {
                    format!("unprivileged programs may only read stack they wrote first (down to r10{min_off} here)")
                } else {
                    "the stack is 512 bytes below r10: offsets must be in [-512, -size]".into()
                }
            });
        }
        let sub = st.frames.get(frameno).map_or(0, |f| f.subprog);
        self.stack_depth[sub] = self.stack_depth[sub].max((-lo) as u32);
        // A privileged spill of a scalar keeps the whole register, linked to its source
        // when the value fits the slot (assign_scalar_id_before_mov), unlinked when the
        // spill narrows it (check_stack_write_fixed_off).
        let store = match store {
            Some((mut v, src))
                if !self.opts.unprivileged && base.var.is_const() && lo % 8 == 0 && v.ty == RegType::Scalar =>
            {
                if reg_width(&v) <= 8 * size {
                    if v.id == 0 && !v.var.is_const() {
                        v.id = self.new_id();
                        if let Some(sr) = src {
                            st.reg_mut(sr).id = v.id;
                        }
                    }
                } else {
                    v.id = 0;
                }
                Some((v, src))
            }
            other => other,
        };
        let innermost = frameno + 1 == st.frames.len();
        let priv_scalar_spills = !self.opts.unprivileged;
        let frame = &mut st.frames[frameno];
        if store.is_some() {
            scrub_iters(frame, lo, hi + sz);
        }
        match store {
            Some((v, src)) => {
                // check_stack_write_fixed_off: unprivileged partial writes over a spilled pointer.
                let first = frame.slot(((-lo - 1) / 8) as usize);
                if self.opts.unprivileged
                    && base.var.is_const()
                    && size != 8
                    && first.bytes[0] == SlotType::Spill
                    && first.spilled.ty != RegType::Scalar
                {
                    return fail(Rule::PointerLeak, "attempt to corrupt spilled pointer on stack", &[rn]);
                }
                if !base.var.is_const() {
                    for o in lo..hi + sz {
                        frame.set_byte(o, SlotType::Misc);
                    }
                    return Ok(RegState::NOT_INIT);
                }
                if lo % 8 == 0 && (size == 8 || v.ty == RegType::Scalar) {
                    // A spill: whole registers, or scalars narrowed to the slot's first bytes.
                    let slot = frame.slot_mut(((-lo - 1) / 8) as usize);
                    for t in slot.bytes.iter_mut() {
                        if *t == SlotType::Spill {
                            *t = SlotType::Misc;
                        }
                    }
                    for t in slot.bytes.iter_mut().take(size as usize) {
                        *t = SlotType::Spill;
                    }
                    slot.spilled = if size == 8 || (priv_scalar_spills && v.ty == RegType::Scalar) {
                        v
                    } else {
                        RegState::scalar(v.var.truncate(size))
                    };
                    return Ok(RegState::NOT_INIT);
                }
                if v.is_ptr() {
                    return fail(Rule::StackAccess, "invalid size of register spill", &[rn]);
                }
                // A partial write: the rest of a spilled slot becomes misc.
                let first = ((-lo - 1) / 8) as usize;
                let last = ((-(lo + sz - 1) - 1) / 8) as usize;
                for s in last..=first {
                    let slot = frame.slot_mut(s);
                    if slot.bytes[0] == SlotType::Spill {
                        for t in slot.bytes.iter_mut() {
                            if *t == SlotType::Spill {
                                *t = SlotType::Misc;
                            }
                        }
                        slot.spilled = RegState::NOT_INIT;
                    }
                }
                let t = if v.ty == RegType::Scalar && v.var.const_value() == Some(0) {
                    // Zero bytes are compared by type, which the stored value decides: it
                    // matters where they are read again (the kernel marks it precise:
                    // backtracking does not follow STACK_ZERO).
                    match src {
                        Some(r) if innermost => self.mark_zero_store(pc, r, slot_bits(lo, sz)),
                        Some(r) => self.mark_precise(pc, 1 << r),
                        None => {}
                    }
                    SlotType::Zero
                } else {
                    SlotType::Misc
                };
                for o in lo..lo + sz {
                    frame.set_byte(o, t);
                }
                Ok(RegState::NOT_INIT)
            }
            None => {
                let (start, end) = (lo, hi + sz);
                if base.var.is_const() && lo % 8 == 0 {
                    let slot = frame.slot(((-lo - 1) / 8) as usize);
                    let spill_size = slot.bytes.iter().take_while(|t| **t == SlotType::Spill).count() as u32;
                    if spill_size > 0 {
                        if size == 8 && spill_size == 8 {
                            self.mark_fill(pc);
                            return Ok(slot.spilled);
                        }
                        if slot.spilled.ty != RegType::Scalar {
                            return fail(Rule::StackAccess, "invalid size of register fill", &[rn]);
                        }
                        if size <= spill_size {
                            self.mark_fill(pc);
                            // check_stack_read_fixed_off: the filled register stays linked to
                            // the spilled one unless the fill narrows the value.
                            let sp = slot.spilled;
                            let mut r = RegState::scalar(sp.var.truncate(size));
                            if priv_scalar_spills && reg_width(&sp) <= 8 * size {
                                r.id = sp.id;
                                if size == 4 && spill_size == 4 && sp.id == 0 && !sp.var.is_const() {
                                    let id = self.new_id();
                                    frame.slot_mut(((-lo - 1) / 8) as usize).spilled.id = id;
                                    r.id = id;
                                }
                            }
                            return Ok(r);
                        }
                    }
                }
                // check_stack_read_fixed_off: a known 0 when every byte is STACK_ZERO, or
                // every byte is part of a spill whose value is the constant 0 (a variable
                // offset read, mark_reg_stack_read: only STACK_ZERO bytes).
                let mut all_zero = true;
                let (mut spill_bytes, mut spilled_zero) = (0i64, true);
                for o in start..end {
                    match frame.byte(o) {
                        // Privileged programs may read uninitialized stack (allow_uninit_stack).
                        SlotType::Invalid if !self.opts.unprivileged => all_zero = false,
                        SlotType::Invalid => {
                            return with_hint(
                                fail(
                                    Rule::StackUninitRead,
                                    format!("invalid read from stack off {}+{} size {size}", lo, o - lo),
                                    &[rn],
                                ),
                                || {
                                    format!("stack byte {o} (relative to r10) was never written on this path: initialize the variable or buffer before reading it")
                                },
                            );
                        }
                        SlotType::Spill => {
                            let slot = frame.slot(((-o - 1) / 8) as usize);
                            // A variable-offset read may cover a spilled pointer when
                            // privileged (check_stack_read_var_off): the result is unknown.
                            if slot.spilled.ty != RegType::Scalar && !base.var.is_const() && priv_scalar_spills {
                                all_zero = false;
                                continue;
                            }
                            if slot.spilled.ty != RegType::Scalar {
                                return fail(Rule::StackAccess, "invalid size of register fill", &[rn]);
                            }
                            all_zero = false;
                            spill_bytes += 1;
                            spilled_zero &= slot.spilled.var.const_value() == Some(0);
                        }
                        SlotType::Zero => {}
                        SlotType::Misc => all_zero = false,
                        // An iterator's state is not data (check_stack_read_fixed_off).
                        SlotType::Iter => {
                            return fail(
                                Rule::StackAccess,
                                format!("invalid read from stack off {}+{} size {size}", lo, o - lo),
                                &[rn],
                            );
                        }
                    }
                }
                let zero_spill = base.var.is_const() && spill_bytes == end - start && spilled_zero;
                // Only a read that gives the spilled value is a fill (the kernel keeps
                // INSN_F_STACK_ACCESS only then): spilled bytes read with others give an
                // unknown value, whatever was spilled.
                if zero_spill {
                    self.mark_fill(pc);
                }
                Ok(if all_zero || zero_spill { RegState::konst(0) } else { RegState::scalar(scalar_of_size(size)) })
            }
        }
    }

    /// Check `size` bytes of memory passed to a helper (`check_helper_mem_access`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn helper_mem(
        &mut self,
        st: &mut State,
        regno: usize,
        size_min: u64,
        size_max: u64,
        write: bool,
        uninit: bool,
        pc: usize,
    ) -> R<()> {
        let reg = *st.reg(regno);
        if size_max == 0 {
            // Nothing is read ([`Precision`]).
            if reg.ty == RegType::Stack {
                self.helper_reads.0 |= 1 << regno;
            }
            return Ok(());
        }
        let _ = size_min;
        match reg.ty {
            RegType::Stack => {
                let frameno = reg.aux as usize;
                let off = reg.off as i64;
                let (lo, hi) = if reg.var.is_const() { (off + reg.var.var.value as i64, off + reg.var.var.value as i64) } else { (off + reg.var.smin, off + reg.var.smax) };
                let end = hi + size_max as i64;
                let min_off = match st.frames.get(frameno) {
                    Some(f) if !write && self.opts.unprivileged => -f.allocated_stack(),
                    _ => -(MAX_STACK as i64),
                };
                if lo < min_off || end > 0 {
                    let rw = if write { "write to" } else { "read from" };
                    return fail(Rule::StackAccess, format!("invalid {rw} stack R{regno} off={lo} size={size_max}"), &[regno as u8]);
                }
                self.helper_reads.0 |= 1 << regno;
                if frameno + 1 == st.frames.len() {
                    self.helper_reads.1[regno.min(5)] |= slot_bits(lo, end - lo);
                } else {
                    self.mark_outer_stack(st, frameno, slot_bits(lo, end - lo));
                }
                let sub = st.frames[frameno].subprog;
                self.stack_depth[sub] = self.stack_depth[sub].max((-lo) as u32);
                let frame = &mut st.frames[frameno];
                if let Some(o) = (lo..end).find(|&o| frame.byte(o) == SlotType::Iter).filter(|_| !(write && uninit)) {
                    // check_stack_range_initialized: an iterator is not memory to read.
                    return fail(
                        Rule::StackAccess,
                        format!("invalid read from stack R{regno} off {lo}+{} size {size_max}", o - lo),
                        &[regno as u8],
                    );
                }
                if write {
                    scrub_iters(frame, lo, end);
                }
                for o in lo..end {
                    if write && uninit {
                        let s = ((-o - 1) / 8) as usize;
                        if frame.slot(s).bytes[0] == SlotType::Spill {
                            let slot = frame.slot_mut(s);
                            slot.bytes = [SlotType::Misc; 8];
                            slot.spilled = RegState::NOT_INIT;
                        }
                        frame.set_byte(o, SlotType::Misc);
                    } else if self.opts.unprivileged
                        && (frame.byte(o) == SlotType::Invalid
                            || (frame.byte(o) == SlotType::Spill
                                && !matches!(frame.slot(((-o - 1) / 8) as usize).spilled.ty, RegType::Scalar | RegType::BtfId)))
                    {
                        return with_hint(
                            fail(Rule::StackUninitRead, format!("invalid read from stack R{regno} off {lo}+{} size {size_max}", o - lo), &[regno as u8]),
                            || "the helper reads this stack buffer: initialize all of it first (e.g. __builtin_memset or = {})".into(),
                        );
                    } else if write && frame.byte(o) == SlotType::Spill {
                        let s = ((-o - 1) / 8) as usize;
                        let slot = frame.slot_mut(s);
                        slot.bytes = [SlotType::Misc; 8];
                        slot.spilled = RegState::NOT_INIT;
                    }
                }
                if write && !uninit {
                    for o in lo..end {
                        if frame.byte(o) == SlotType::Zero {
                            frame.set_byte(o, SlotType::Misc);
                        }
                    }
                }
                Ok(())
            }
            RegType::NotInit => fail(Rule::UninitRegister, format!("R{regno} !read_ok"), &[regno as u8]),
            RegType::Scalar if reg.var.const_value() == Some(0) => fail(
                Rule::HelperArg,
                format!("R{regno} type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_"),
                &[regno as u8],
            ),
            RegType::MapValue if !reg.maybe_null && !(if write { self.map(reg.map).prog_can_write() } else { self.map(reg.map).prog_can_read() }) => {
                // `check_map_access_type` with the helper's access type (`reg->off` as the offset).
                let m = self.map(reg.map);
                let what = if write { "write into" } else { "read from" };
                fail(
                    Rule::MapValueAccess,
                    format!("{what} map forbidden, value_size={} off={} size={size_max}", m.value_size, reg.off),
                    &[regno as u8],
                )
            }
            _ => {
                let store = if write { Some((RegState::unknown(), None)) } else { None };
                // Check the last byte of the largest access and the first byte.
                let mut base = reg;
                let _ = &mut base;
                if matches!(reg.ty, RegType::Scalar | RegType::Ctx | RegType::ConstMapPtr | RegType::PacketEnd | RegType::Func) || reg.maybe_null {
                    return fail(
                        Rule::HelperArg,
                        format!("R{regno} type={} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", reg.type_str()),
                        &[regno as u8],
                    );
                }
                if size_max > u32::MAX as u64 {
                    return fail(Rule::HelperArg, format!("R{regno} unbounded memory access, use 'var &= const' or 'if (var < const)'"), &[regno as u8]);
                }
                self.mem_access(st, regno, reg, 0, size_max as u32, store, pc).map(|_| ()).or_else(|e| {
                    if size_max <= 8 {
                        return Err(e);
                    }
                    // Accesses larger than 8 bytes: check the region as one span.
                    match reg.ty {
                        RegType::MapValue | RegType::MapKey | RegType::Mem | RegType::Packet | RegType::PacketMeta => Err(e),
                        _ => Ok(()),
                    }
                })
            }
        }
    }
}

/// A write over an iterator's slot makes the whole slot misc data
/// (`is_stack_slot_special` + `scrub_spilled_slot`); the iterator's reference stays
/// acquired, so the program leaks it unless it is destroyed elsewhere.
fn scrub_iters(frame: &mut crate::state::Frame, lo: i64, end: i64) {
    let mut o = lo;
    while o < end {
        let s = ((-o - 1) / 8) as usize;
        if frame.slot(s).bytes[0] == SlotType::Iter {
            let slot = frame.slot_mut(s);
            slot.bytes = [SlotType::Misc; 8];
            slot.spilled = RegState::NOT_INIT;
        }
        o = -8 * s as i64; // the next slot up
    }
}
