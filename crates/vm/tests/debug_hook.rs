//! The interpreter's debug hook: called before every instruction with the state the
//! instruction will see, also inside bpf-to-bpf calls; the plain path is unaffected.

use bpfbox_isa::llvm::assemble;
use bpfbox_vm::debug::{with_hook, DebugHook, Step};
use bpfbox_vm::{Vm, VmError, VmOptions};

#[derive(Default)]
struct Recorder {
    pcs: Vec<(usize, usize)>,
    r0_before_exit: Vec<u64>,
    stack_word: Option<u64>,
    stop_at: Option<usize>,
}

impl DebugHook for Recorder {
    fn before_insn(&mut self, step: &mut Step<'_>) -> Result<(), VmError> {
        self.pcs.push((step.pc(), step.depth()));
        if matches!(step.insn(), Some(bpfbox_isa::Insn::Exit)) {
            self.r0_before_exit.push(step.regs()[0]);
        }
        if step.depth() == 1 && self.stack_word.is_none() {
            let fp = step.frame_pointer(0);
            let mut b = [0u8; 8];
            step.read(fp - 8, &mut b)?;
            self.stack_word = Some(u64::from_le_bytes(b));
            assert_eq!(step.return_pcs(), vec![5]);
        }
        if Some(step.pc()) == self.stop_at {
            return Err(VmError::Helper { pc: step.pc(), id: 0, reason: "stop".into() });
        }
        Ok(())
    }
}

fn program() -> Vm {
    let text = "r1 = 7\n*(u64 *)(r10 - 8) = r1\nr1 = 5\nr2 = 1\ncall pc+2\nr0 += 1\nexit\nr0 = r1\nr0 += r2\nexit\n";
    let insns = assemble(text).expect("assembles");
    Vm::new(insns, VmOptions::default()).expect("valid")
}

#[test]
fn hook_sees_every_instruction_with_its_state() {
    let vm = program();
    let mut rec = Recorder::default();
    let out = with_hook(&mut rec, || vm.run(&mut [])).expect("runs");
    assert_eq!(out.r0, 7);
    assert_eq!(rec.pcs.len() as u64, out.insns_executed);
    let expected = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (7, 1), (8, 1), (9, 1), (5, 0), (6, 0)];
    assert_eq!(rec.pcs, expected);
    assert_eq!(rec.r0_before_exit, vec![6, 7]);
    assert_eq!(rec.stack_word, Some(7));
}

#[test]
fn hook_error_ends_the_run_and_hook_is_scoped() {
    let vm = program();
    let mut rec = Recorder { stop_at: Some(8), ..Default::default() };
    let err = with_hook(&mut rec, || vm.run(&mut [])).expect_err("stopped");
    assert_eq!(err.pc(), Some(8));
    // Outside `with_hook` nothing is called.
    let before = rec.pcs.len();
    assert_eq!(vm.run(&mut []).expect("runs").r0, 7);
    assert_eq!(rec.pcs.len(), before);
}

/// Rewinds once: at the first `exit`, back to pc 1 with r0 as it was there.
#[derive(Default)]
struct Rewinder {
    pcs: Vec<usize>,
    done: bool,
}

impl DebugHook for Rewinder {
    fn before_insn(&mut self, step: &mut Step<'_>) -> Result<(), VmError> {
        if !self.done && step.pc() == 3 {
            self.done = true;
            assert_eq!(step.regs()[0], 2);
            step.set_reg(0, 0);
            step.rewind(1, 0, &[], &[]);
            step.set_executed(1);
        }
        self.pcs.push(step.pc());
        Ok(())
    }
}

#[test]
fn hook_can_rewind_the_machine() {
    let vm =
        Vm::new(assemble("r0 = 0\nr0 += 1\nr0 += 1\nexit\n").expect("assembles"), VmOptions::default()).expect("valid");
    let mut rw = Rewinder::default();
    let out = with_hook(&mut rw, || vm.run(&mut [])).expect("runs");
    assert_eq!(out.r0, 2);
    assert_eq!(rw.pcs, vec![0, 1, 2, 1, 2, 3]);
    assert_eq!(out.insns_executed, 4);
}
