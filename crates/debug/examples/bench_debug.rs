//! Recording overhead and reverse-execution latency on a run of ~10 million
//! instructions (scripts/bench-debug.sh): the plain interpreter, the same run under
//! the debugger (every step recorded with its undo information), then from the stop
//! before the final `exit`: reverse-stepi (undo in place), going back to step 0 (10M
//! undos) and, for comparison, a replay from the start to the last step.

use bpfbox_debug::engine::{Debuggee, Event, Stop};
use bpfbox_debug::{Launch, Target};
use bpfbox_vm::{Runtime, RuntimeOptions, TestRunInput};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// 5 instructions per iteration (one a stack store), 2,000,000 iterations.
const PROGRAM: &str = "\
r0 = 0
r1 = 0
r0 += r1
r0 ^= 85
r1 += 1
*(u64 *)(r10 - 8) = r0
if r1 < 2000000 goto -5
exit
";

struct Loop(Vec<bpfbox_isa::Insn>);

impl Target for Loop {
    fn launch(&self) -> Result<Launch, String> {
        let runtime = Runtime::new(RuntimeOptions::deterministic(1));
        let prog = runtime.load_program_with("loop", 6, None, self.0.clone(), &[]).map_err(|e| e.to_string())?;
        let input = TestRunInput { data_in: vec![0; 64], ctx_in: None, repeat: 1, cpu: 0 };
        Ok(Launch { runtime, prog, inputs: vec![input], describe: Box::new(|_| None) })
    }
}

/// CPU time of this process's threads alive now (Linux: /proc/self/task/*/schedstat),
/// in ns: on a shared, loaded machine it moves less than wall time. The debuggee's
/// worker is alive while it is paused, so it counts for a recording that stops.
fn cpu_ns() -> Option<u64> {
    let mut sum = 0;
    for t in std::fs::read_dir("/proc/self/task").ok()? {
        let s = std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok()?;
        sum += s.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(sum)
}

/// The best of `n` runs of `f`: wall time, CPU time, the last result.
fn best<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut out = None;
    let (mut best, mut best_cpu) = (Duration::MAX, Duration::MAX);
    for _ in 0..n {
        let (t, c) = (Instant::now(), cpu_ns());
        let v = f();
        best = best.min(t.elapsed());
        let cpu = cpu_ns().zip(c).map_or(Duration::ZERO, |(b, a)| Duration::from_nanos(b.saturating_sub(a)));
        best_cpu = best_cpu.min(cpu);
        out = Some(v);
    }
    (best, best_cpu, out.expect("ran"))
}

fn main() {
    let insns = bpfbox_isa::llvm::assemble(PROGRAM).expect("assembles");
    let target = Loop(insns.clone());
    let progs = Arc::new(vec![insns]);

    let l = target.launch().expect("launch");
    let input = l.inputs[0].clone();
    let (plain, plain_cpu, out) = best(5, || l.runtime.test_run(l.prog, &input).expect("runs"));
    let n = out.insns_executed;

    let target: Arc<dyn Target> = Arc::new(target);
    // The first recording maps fresh memory; later ones (replays, restarts) reuse the
    // buffers of finished runs (engine::pool).
    let (cold, cold_cpu, first) =
        best(1, || Debuggee::start(target.clone(), progs.clone(), 0, Stop::default()).expect("starts"));
    let (d, _, t) = first;
    drop(d);
    bpfbox_debug::engine::pool::give_trace(t);
    let (recorded, recorded_cpu, (dbg, ev, trace)) =
        best(3, || Debuggee::start(target.clone(), progs.clone(), 0, Stop::default()).expect("starts"));
    let Event::Stopped(end) = ev else { panic!("no stop before exit") };
    assert_eq!(end.step + 1, n, "stopped before the final exit");
    let mut dbg = dbg;

    let t = Instant::now();
    let (ev, trace) = dbg.undo(end.step - 1, trace).expect("undo");
    let rsi = t.elapsed();
    let Some(Event::Stopped(s)) = ev else { panic!("reverse-stepi did not undo in place") };
    assert_eq!(s.step, end.step - 1);

    let t = Instant::now();
    let (ev, trace) = dbg.undo(0, trace).expect("undo");
    let to_start = t.elapsed();
    let Some(Event::Stopped(s)) = ev else { panic!("going back to step 0 did not undo in place") };
    assert_eq!((s.step, s.regs[0]), (0, 0));
    drop(dbg);

    let _ = trace;
    let (replay, _, _) = best(3, || {
        Debuggee::start(target.clone(), progs.clone(), 0, Stop { at_step: Some(end.step - 1), ..Stop::default() })
            .expect("replays")
    });

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("instructions per run:                 {n}");
    println!("plain interpreter (test_run):         {:8.1} ms", ms(plain));
    let ratio = |d: Duration| d.as_secs_f64() / plain.as_secs_f64();
    println!(
        "debugger recording every step, cold:  {:8.1} ms   ({:.2}x the plain run; goal < 3x)",
        ms(cold),
        ratio(cold)
    );
    println!("  the same, recording buffers reused: {:8.1} ms   ({:.2}x)", ms(recorded), ratio(recorded));
    if plain_cpu > Duration::ZERO {
        let cpu_ratio = |d: Duration| d.as_secs_f64() / plain_cpu.as_secs_f64();
        println!(
            "CPU time (less noisy when the machine is shared): plain {:.1} ms, cold {:.1} ms ({:.2}x), reused {:.1} ms ({:.2}x)",
            ms(plain_cpu),
            ms(cold_cpu),
            cpu_ratio(cold_cpu),
            ms(recorded_cpu),
            cpu_ratio(recorded_cpu)
        );
    }
    println!("reverse-stepi at the end (in place):  {:8.3} ms   (goal < 50 ms)", ms(rsi));
    println!("back to step 0 (undo {} steps):  {:8.1} ms", end.step, ms(to_start));
    println!(
        "replay from the start to the end:     {:8.1} ms   (the fallback when the undo log cannot go back)",
        ms(replay)
    );
}
