//! Going back in place (undoing recorded steps) gives the state a fresh run stopped at
//! the same step has: registers and stack, through loops, stores and bpf-to-bpf calls.

use bpfbox_debug::engine::{Debuggee, Event, Snapshot, Stop};
use bpfbox_debug::{Launch, Target};
use bpfbox_vm::{Runtime, RuntimeOptions, TestRunInput};
use std::sync::Arc;

const PROGRAM: &str = "\
r6 = 0
r7 = 0
r1 = r6
call pc+6
r7 += r0
*(u64 *)(r10 - 8) = r7
r6 += 1
if r6 < 50 goto -6
r0 = r7
exit
r0 = r1
r0 *= 3
*(u32 *)(r10 - 4) = r0
r0 ^= 5
exit
";

struct Prog(Vec<bpfbox_isa::Insn>);

impl Target for Prog {
    fn launch(&self) -> Result<Launch, String> {
        let runtime = Runtime::new(RuntimeOptions::deterministic(1));
        let prog = runtime.load_program_with("p", 6, None, self.0.clone(), &[]).map_err(|e| e.to_string())?;
        let input = TestRunInput { data_in: vec![0; 64], ctx_in: None, repeat: 1, cpu: 0 };
        Ok(Launch { runtime, prog, inputs: vec![input], describe: Box::new(|_| None) })
    }
}

fn stopped(ev: Event) -> Snapshot {
    match ev {
        Event::Stopped(s) => *s,
        Event::Exited => panic!("the run ended"),
    }
}

/// Registers but r1 at step 0 (the context's address, different in every run), and
/// the two stack slots the program writes (read relative to the frame of the stop).
fn state(d: &mut Debuggee, s: &Snapshot) -> (u64, [u64; 10], Vec<u8>, Vec<u8>) {
    let mut regs = [0; 10];
    regs.copy_from_slice(&s.regs[..10]);
    if s.step < 3 {
        regs[1] = 0;
    }
    let fp0 = s.frame_pointers[0];
    let main_slot = d.read(fp0 - 8, 8).expect("main frame");
    // The callee's slot, in the frame below (live or not, the bytes stay).
    let callee = if s.rec.depth == 1 { d.read(s.frame_pointers[1] - 4, 4).expect("callee frame") } else { Vec::new() };
    (u64::from(s.rec.pc) | u64::from(s.rec.depth) << 32, regs, main_slot, callee)
}

#[test]
fn undo_in_place_equals_a_replay_at_every_point() {
    let insns = bpfbox_isa::llvm::assemble(PROGRAM).expect("assembles");
    let progs = Arc::new(vec![insns.clone()]);
    let target: Arc<dyn Target> = Arc::new(Prog(insns));
    let (mut live, ev, mut trace) = Debuggee::start(target.clone(), progs.clone(), 0, Stop::default()).expect("starts");
    let end = stopped(ev);
    // 2 + 50 iterations of 6 + 5, then 2, the last being the exit.
    assert_eq!(end.step + 1, 2 + 50 * 11 + 2);
    assert_eq!(end.regs[0], (0..50u64).map(|i| (i * 3) ^ 5).sum::<u64>());
    let mut checked = 0;
    for m in [end.step - 1, end.step - 5, 400, 399, 397, 250, 123, 13, 12, 3, 2, 0] {
        let (ev, t) = live.undo(m, trace).expect("undo");
        trace = t;
        let back = stopped(ev.expect("undone in place"));
        assert_eq!(back.step, m);
        let (mut replay, ev, _) =
            Debuggee::start(target.clone(), progs.clone(), 0, Stop { at_step: Some(m), ..Stop::default() })
                .expect("replays");
        let fresh = stopped(ev);
        assert_eq!(fresh.step, m);
        assert_eq!(state(&mut live, &back), state(&mut replay, &fresh), "step {m}");
        assert_eq!(back.return_pcs, fresh.return_pcs, "step {m}");
        checked += 1;
    }
    assert_eq!(checked, 12);
    // And forward again from step 0: the same end.
    let (ev, _) = live.resume(Stop::default(), trace).expect("resumes");
    let again = stopped(ev);
    assert_eq!((again.step, again.regs[0]), (end.step, end.regs[0]));
}

/// A helper writing the stack (get_current_comm), an atomic add, a helper result
/// (ktime_get_ns, fixed clock): all undone in place.
const HELPERS: &str = "\
r6 = 0
r1 = r10
r1 += -24
r2 = 16
call 16
r1 = 1
lock *(u64 *)(r10 - 8) += r1
r6 += 1
call 5
if r6 < 20 goto -9
r0 = *(u64 *)(r10 - 8)
exit
";

#[test]
fn helpers_and_atomics_undo_in_place() {
    let insns = bpfbox_isa::llvm::assemble(HELPERS).expect("assembles");
    let progs = Arc::new(vec![insns.clone()]);
    let target: Arc<dyn Target> = Arc::new(Prog(insns));
    let (mut live, ev, mut trace) = Debuggee::start(target.clone(), progs.clone(), 0, Stop::default()).expect("starts");
    let end = stopped(ev);
    assert_eq!(end.regs[0], 20, "the atomic counted 20 iterations");
    for m in [end.step - 1, 150, 77, 40, 5, 4, 0] {
        let (ev, t) = live.undo(m, trace).expect("undo");
        trace = t;
        let back = stopped(ev.expect("undone in place"));
        let (mut replay, ev, _) =
            Debuggee::start(target.clone(), progs.clone(), 0, Stop { at_step: Some(m), ..Stop::default() })
                .expect("replays");
        let fresh = stopped(ev);
        let stack = |d: &mut Debuggee, s: &Snapshot| d.read(s.frame_pointers[0] - 24, 24).expect("stack");
        let (mut a, mut b) = (back.regs, fresh.regs);
        // r1 holds addresses at times (ctx, the stack): stack addresses compare
        // relative to r10, which differs between runs.
        for r in [&mut a, &mut b] {
            if r[10].abs_diff(r[1]) < 4096 {
                r[1] = r[1].wrapping_sub(r[10]);
            }
            r[10] = 0;
        }
        if m == 0 {
            (a[1], b[1]) = (0, 0);
        }
        assert_eq!(a, b, "registers at step {m}");
        assert_eq!(stack(&mut live, &back), stack(&mut replay, &fresh), "stack at step {m}");
    }
}

#[test]
fn back_and_forth_at_random_points_matches_replays() {
    let insns = bpfbox_isa::llvm::assemble(PROGRAM).expect("assembles");
    let progs = Arc::new(vec![insns.clone()]);
    let target: Arc<dyn Target> = Arc::new(Prog(insns));
    let (mut live, ev, mut trace) = Debuggee::start(target.clone(), progs.clone(), 0, Stop::default()).expect("starts");
    let end = stopped(ev);
    let mut at = end.step;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..30 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let to = (seed >> 33) % end.step;
        let snap = if to < at {
            let (ev, t) = live.undo(to, trace).expect("undo");
            trace = t;
            stopped(ev.expect("undone in place"))
        } else {
            let (ev, t) = live.resume(Stop { at_step: Some(to), ..Stop::default() }, trace).expect("resumes");
            trace = t;
            stopped(ev)
        };
        at = snap.step;
        assert_eq!(at, to);
        let (mut replay, ev, _) =
            Debuggee::start(target.clone(), progs.clone(), 0, Stop { at_step: Some(to), ..Stop::default() })
                .expect("replays");
        let fresh = stopped(ev);
        assert_eq!(state(&mut live, &snap), state(&mut replay, &fresh), "step {to}");
    }
}
