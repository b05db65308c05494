//! State pruning (the kernel's `is_state_visited`): states stored at prune points as
//! the kernel stores them, the comparison of a path's state with the stored ones
//! (`states_subsume`, with ids matched as `bpf_idmap` does and imprecise scalars
//! compared by type only), the exact comparison that detects infinite loops, and the
//! branch counts that tell when a stored state's exploration is complete.

use super::precision::Need;
use super::{fail, with_hint, Node, Path, Verifier, R};
use crate::state::{IterState, RegState, RegType, SlotType, StackSlot, State};
use crate::Rule;
use bpfbox_isa::Insn;

pub(super) struct Explored {
    pub(super) st: State,
    pub(super) node: usize,
    hit: u32,
    miss: u32,
}

/// Whether `old` (already verified from here) covers every behaviour of `cur`.
///
/// `prec[f]`: what matters in frame `f` ([`Precision`](super::precision::Precision)),
/// one entry per frame. Scalars outside it are compared by type (and links) only. In
/// a caller's frame (below a static subprogram, not a callback) r0-r5 are dead: the
/// call clobbers them. `stack_live[f]`: the slots of frame `f` read again before they
/// are overwritten (bit i: `stack[i]`); the others are not compared at all.
pub(super) fn states_subsume(old: &State, cur: &State, live: u16, prec: &[Need], stack_live: &[u64]) -> bool {
    if old.frames.len() != cur.frames.len() || old.refs.len() != cur.refs.len() || old.rcu != cur.rcu {
        return false;
    }
    let mut ids = IdMap::default();
    match (old.lock, cur.lock) {
        (None, None) => {}
        (Some(o), Some(c)) if o.map == c.map && o.off == c.off && ids.check(o.id, c.id) => {}
        _ => return false,
    }
    for (o, c) in old.refs.iter().zip(&cur.refs) {
        if !ids.check(o.id, c.id) {
            return false;
        }
    }
    for (fi, (fo, fc)) in old.frames.iter().zip(&cur.frames).enumerate() {
        if fo.callsite != fc.callsite || fo.callback != fc.callback {
            return false;
        }
        let prec = prec.get(fi).copied().unwrap_or(Need::ALL);
        let slots_live = stack_live.get(fi).copied().unwrap_or(u64::MAX);
        let live = match old.frames.get(fi + 1) {
            None => live,
            Some(callee) if !callee.callback => 0b111_1100_0000,
            Some(_) => u16::MAX,
        };
        for r in 0..11 {
            if live & (1 << r) == 0 {
                continue;
            }
            let (o, c) = (&fo.regs[r], &fc.regs[r]);
            if prec.regs & (1 << r) == 0 && o.ty == RegType::Scalar {
                if c.ty != RegType::Scalar || !scalar_links_ok(o, c, &mut ids) {
                    return false;
                }
                continue;
            }
            if !regsafe(o, c, &mut ids) {
                return false;
            }
        }
        for i in 0..fo.stack.len() {
            let so = fo.slot(i);
            let sc = fc.slot(i);
            if i < 64 && slots_live & (1 << i) == 0 {
                continue;
            }
            if i < 64 && prec.slots & (1 << i) == 0 {
                match imprecise_slot_ok(&so, &sc, &mut ids) {
                    Some(true) => continue,
                    Some(false) => return false,
                    None => {}
                }
            }
            if so.bytes[0] == SlotType::Iter {
                // stacksafe for STACK_ITER: the same iterator in the same state (its depth
                // ignored: successive iterations must be able to converge).
                match (IterState::of(&so), IterState::of(&sc)) {
                    (Some(o), Some(c)) if o.drained == c.drained && ids.check(o.ref_obj_id, c.ref_obj_id) => continue,
                    _ => return false,
                }
            }
            if so.bytes[0] == SlotType::Spill {
                if sc.bytes[0] != SlotType::Spill {
                    // A spilled unknown scalar is as good as misc bytes.
                    let misc_ok = so.spilled.ty == RegType::Scalar
                        && so.spilled.var.is_unknown()
                        && !uninit_where_old_was_not(&so, &sc);
                    if !misc_ok {
                        return false;
                    }
                    continue;
                }
                // The same bytes spilled (a fill wider than the spill reads something
                // else), the rest of the slot as initialized as it was.
                let same_bytes = so.bytes.iter().zip(&sc.bytes).all(|(o, c)| match o {
                    SlotType::Invalid => true,
                    SlotType::Spill => *c == SlotType::Spill,
                    SlotType::Misc => !matches!(c, SlotType::Invalid | SlotType::Iter),
                    SlotType::Zero => *c == SlotType::Zero,
                    SlotType::Iter => false,
                });
                if !same_bytes || !regsafe(&so.spilled, &sc.spilled, &mut ids) {
                    return false;
                }
                continue;
            }
            for b in 0..8 {
                let ok = match so.bytes[b] {
                    SlotType::Invalid => true,
                    SlotType::Misc => !matches!(sc.bytes[b], SlotType::Invalid | SlotType::Iter),
                    SlotType::Zero => {
                        sc.bytes[b] == SlotType::Zero || (sc.bytes[0] == SlotType::Spill && sc.spilled.is_null_const())
                    }
                    SlotType::Spill | SlotType::Iter => false,
                };
                if !ok {
                    return false;
                }
            }
        }
    }
    true
}

/// A stack slot whose value does not matter: its bytes must be as initialized, and
/// scalars stay scalars (with their links). `None`: not a scalar slot, compare exactly.
fn imprecise_slot_ok(so: &StackSlot, sc: &StackSlot, ids: &mut IdMap) -> Option<bool> {
    let old_spill = so.bytes[0] == SlotType::Spill;
    if old_spill && so.spilled.ty != RegType::Scalar {
        return None;
    }
    let cur_ptr = sc.bytes[0] == SlotType::Spill && sc.spilled.ty != RegType::Scalar;
    if old_spill {
        // Only the bytes the old state had initialized must be so now: a narrow spill
        // (`*(u32 *)(r10 - 16) = r8`) leaves the rest of its slot invalid in both.
        if cur_ptr || uninit_where_old_was_not(so, sc) {
            return Some(false);
        }
        if so.spilled.id != 0 {
            return Some(sc.bytes[0] == SlotType::Spill && scalar_links_ok(&so.spilled, &sc.spilled, ids));
        }
        return Some(true);
    }
    for b in 0..8 {
        let ok = match so.bytes[b] {
            SlotType::Invalid => true,
            // As the exact comparison: misc bytes take anything initialized.
            SlotType::Misc => !matches!(sc.bytes[b], SlotType::Invalid | SlotType::Iter),
            // Zero bytes by type, as the kernel compares them (whatever the precision): a
            // key made of them is a constant (`const_stack_key`), not marked precise.
            SlotType::Zero => sc.bytes[b] == SlotType::Zero,
            SlotType::Spill => false,
            SlotType::Iter => return None,
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

/// Whether `cur` has an invalid byte where `old` has an initialized one.
fn uninit_where_old_was_not(so: &StackSlot, sc: &StackSlot) -> bool {
    so.bytes.iter().zip(&sc.bytes).any(|(o, c)| *o != SlotType::Invalid && *c == SlotType::Invalid)
}

/// Id correspondence between an old and a current state (`bpf_idmap`).
#[derive(Default)]
struct IdMap {
    pairs: Vec<(u32, u32)>,
    fresh: u32,
}

impl IdMap {
    fn check(&mut self, old: u32, cur: u32) -> bool {
        if old == 0 {
            return true;
        }
        for &(o, c) in &self.pairs {
            if o == old {
                return c == cur;
            }
            if c == cur {
                return false;
            }
        }
        self.pairs.push((old, cur));
        true
    }

    /// `check_scalar_ids`: scalars linked in `old` must be linked alike in `cur`; an
    /// unlinked current scalar (id 0) stands for an id of its own.
    fn check_scalar(&mut self, old: u32, cur: u32) -> bool {
        if old == 0 {
            return true;
        }
        let cur = if cur == 0 {
            self.fresh += 1;
            u32::MAX - self.fresh
        } else {
            cur
        };
        self.check(old, cur)
    }
}

/// Linked scalars: the same links (and deltas) in `cur` as in `old`.
fn scalar_links_ok(o: &RegState, c: &RegState, ids: &mut IdMap) -> bool {
    o.id == 0 || (o.off == c.off && o.link32 == c.link32 && ids.check_scalar(o.id, c.id))
}

fn regsafe(o: &RegState, c: &RegState, ids: &mut IdMap) -> bool {
    match o.ty {
        RegType::NotInit => true,
        RegType::Scalar => c.ty == RegType::Scalar && o.var.contains(&c.var) && scalar_links_ok(o, c, ids),
        _ => {
            o.ty == c.ty
                && o.maybe_null == c.maybe_null
                && o.off == c.off
                && o.map == c.map
                && o.aux == c.aux
                && o.ringbuf == c.ringbuf
                && o.var.contains(&c.var)
                && o.range <= c.range
                && ids.check(o.id, c.id)
                && ids.check(o.ref_obj_id, c.ref_obj_id)
        }
    }
}

/// Exact equality on live registers (infinite-loop detection).
fn states_equal(old: &State, cur: &State, live: u16) -> bool {
    if old.frames.len() != cur.frames.len() || old.refs != cur.refs || old.lock != cur.lock || old.rcu != cur.rcu {
        return false;
    }
    let nf = old.frames.len();
    for (fi, (fo, fc)) in old.frames.iter().zip(&cur.frames).enumerate() {
        for r in 0..11 {
            if fi == nf - 1 && live & (1 << r) == 0 {
                continue;
            }
            if fo.regs[r] != fc.regs[r] {
                return false;
            }
        }
        let n = fo.stack.len().max(fc.stack.len());
        for i in 0..n {
            if fo.slot(i) != fc.slot(i) {
                return false;
            }
        }
    }
    true
}

impl Verifier<'_> {
    pub(super) fn finish(&mut self, mut node: usize) {
        loop {
            let n = &mut self.nodes[node];
            n.branches = n.branches.saturating_sub(1);
            if n.branches > 0 {
                return;
            }
            match n.parent {
                Some(p) => node = p,
                None => return,
            }
        }
    }

    /// `is_state_visited`: `true` to prune this path.
    pub(super) fn visit(&mut self, p: &mut Path) -> R<bool> {
        let live = self.cfg.live_in[p.pc];
        let mut prec = [Need::ALL; super::MAX_CALL_FRAMES];
        let mut stack_live = [u64::MAX; super::MAX_CALL_FRAMES];
        let nf = p.st.frames.len().min(prec.len());
        // What matters in frame `fi` from here on: at this instruction for the innermost
        // frame; in a caller, at its call instruction (what the callee reads of its
        // stack and everything after the call returns); all of a callback's caller.
        let at = |fi: usize| match p.st.frames.get(fi + 1) {
            None => Some(p.pc),
            Some(callee) if callee.callback => None,
            Some(callee) => callee.callsite,
        };
        self.settle_precision();
        if let Some(pr) = self.prec.as_ref() {
            for (fi, need) in prec.iter_mut().enumerate().take(nf) {
                *need = at(fi).map_or(Need::ALL, |pc| pr.need[pc]);
            }
        }
        if let Some(sl) = self.stack_live.as_ref() {
            for (fi, live) in stack_live.iter_mut().enumerate().take(nf) {
                *live = at(fi).map_or(u64::MAX, |pc| sl.need[pc].slots);
            }
        }
        let (prec, stack_live) = (&prec[..], &stack_live[..]);
        let iter_next = self.is_iter_next(p.pc);
        let checkpoint = matches!(self.insns[p.pc], Insn::MayGoto { .. }) || iter_next;
        let forced = checkpoint || self.opts.prog_flags & crate::BPF_F_TEST_STATE_FREQ != 0;
        // As the kernel does (is_state_visited), store a state only after at least 2
        // jumps and 8 instructions since the last one (or where a checkpoint is forced):
        // storing more would prune paths the kernel walks, and the two would disagree
        // on what those paths hold. Decided before the comparisons: stored states only
        // count a miss when this one is going to be stored.
        // (The kernel has counted this instruction already: bpfbox counts it next.)
        let processed = self.processed + 1;
        let mut add = forced || processed - self.last_add_insns >= 8 && self.jumps - self.last_add_jumps >= 2;
        let mut list = std::mem::take(&mut self.explored[p.pc]);
        let mut result = Ok(None);
        let mut hit_node = 0;
        // Newest first, as the kernel's list (new states go to its head).
        let mut i = list.len();
        while i > 0 {
            i -= 1;
            let e = &mut list[i];
            if self.nodes[e.node].branches > 0 {
                if self.may_goto_converged(p.pc, &e.st, &p.st, live)
                    || iter_next && self.iter_next_converged(&e.st, &p.st, live)
                {
                    e.hit += 1;
                    hit_node = e.node;
                    result = Ok(Some(()));
                    break;
                }
                // A state still being explored: this path loops back to it (one
                // `may_goto` deeper, it is the next iteration of a bounded loop). An
                // iterator's loop is not checked (its `next` eventually returns NULL).
                if !iter_next && e.st.may_goto_depth == p.st.may_goto_depth && states_equal(&e.st, &p.st, live) {
                    result = Err(());
                    break;
                }
                // Inside a loop, the kernel stores a state only every 20 jumps or 100
                // instructions: successive iterations differ and seldom prune each other.
                if !forced && self.jumps - self.last_add_jumps < 20 && processed - self.last_add_insns < 100 {
                    add = false;
                }
            } else if states_subsume(&e.st, &p.st, live, prec, stack_live) {
                e.hit += 1;
                hit_node = e.node;
                result = Ok(Some(()));
                break;
            }
            // Not counted when no state is stored here: several loop iterations would
            // otherwise evict the states of earlier ones, which prune later paths.
            if add {
                e.miss += 1;
            }
            // The kernel's heuristic: drop states that keep missing; checkpoints a
            // `may_goto` forces are kept longer while their loop is being explored
            // (evicted early, the next pass over the loop could not converge on them).
            let n = if checkpoint && self.nodes[e.node].branches > 0 { 64 } else { 3 };
            if e.miss > e.hit * n + n {
                list.remove(i);
                self.stored -= 1;
            }
        }
        match result {
            Err(()) => {
                self.explored[p.pc] = list;
                return with_hint(
                    fail(Rule::InfiniteLoop, format!("infinite loop detected at insn {}", p.pc), &[]),
                    || {
                        "the loop comes back to the same state: make sure its exit condition depends on something the loop changes".into()
                    },
                );
            }
            Ok(Some(())) => {
                self.explored[p.pc] = list;
                // propagate_precision: what is precise in the state that covers this
                // path is precise along this path too.
                let need = self.nodes[hit_node].dprec;
                if need != Need::default() {
                    self.backtrack(p.pc, need, p.hist.as_ref());
                }
                return Ok(true);
            }
            Ok(None) => {}
        }
        if add {
            self.last_add_insns = processed;
            self.last_add_jumps = self.jumps;
            let node = self.nodes.len();
            self.nodes.push(Node { parent: Some(p.node), branches: 1, dprec: Need::default() });
            super::precision::push_check(&mut p.hist, node, p.pc);
            p.node = node;
            list.push(Explored { st: p.st.clone(), node, hit: 0, miss: 0 });
            self.stored += 1;
            self.total_states += 1;
            self.peak_states = self.peak_states.max(self.stored);
        }
        self.explored[p.pc] = list;
        Ok(false)
    }
}
