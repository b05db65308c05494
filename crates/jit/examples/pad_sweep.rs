//! How the placement of a program's code changes its speed: compiles one benchmark
//! program (tests/bench) unchecked with its functions placed at each given offset
//! after a cache line (`BPFBOX_JIT_PAD`), or where the JIT places them (`auto`), and
//! prints the best of 20 batches of 200 runs, three rounds. The program `trivial`
//! (`r0 = 0; exit`) measures what a run costs besides the program itself.
//!
//! ```text
//! cargo run --release -p bpfbox-jit --example pad_sweep -- strcmp auto 0 16 32 48
//! ```

#![allow(clippy::unwrap_used)]
use bpfbox_jit::{JitOptions, JitProgram};
use bpfbox_vm::{Region, RegionKind};
use std::time::Instant;
fn main() {
    let name = std::env::args().nth(1).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bench");
    let insns = if name == "trivial" {
        bpfbox_isa::assemble("mov %r0, 0\nexit", bpfbox_isa::Syntax::Ubpf).unwrap()
    } else {
        let data = std::fs::read(dir.join(format!("{name}.bpf.o"))).unwrap();
        let obj = bpfbox_object::Object::parse(&data).unwrap();
        bpfbox_isa::decode_program(&obj.section("bpfbox").unwrap().bytes).unwrap()
    };
    let mut mem = vec![0u8; 4096];
    for (i, b) in mem.iter_mut().enumerate() {
        *b = (i * 7 % 13) as u8;
    }
    let pads: Vec<String> = std::env::args().skip(2).collect();
    for round in 0..3 {
        for pad in &pads {
            if pad == "auto" {
                std::env::remove_var("BPFBOX_JIT_PAD");
            } else {
                std::env::set_var("BPFBOX_JIT_PAD", pad);
            }
            let p =
                JitProgram::compile(&insns, &JitOptions { checked: false, count_insns: false, ..Default::default() })
                    .unwrap();
            let mut best = f64::MAX;
            for _ in 0..20 {
                let t = Instant::now();
                for _ in 0..200 {
                    let start = mem.as_ptr() as u64;
                    let mut ctx = [0u8; 16];
                    ctx[..8].copy_from_slice(&start.to_le_bytes());
                    ctx[8..].copy_from_slice(&(start + mem.len() as u64).to_le_bytes());
                    let c = Region::from_ref(RegionKind::Ctx, &ctx);
                    let a = c.start();
                    let r = [c, Region::from_mut(RegionKind::Packet, &mut mem)];
                    // SAFETY: the benchmark programs stay within the buffer (the kernel's
                    // verifier accepts them).
                    std::hint::black_box(unsafe { p.run_with_unchecked([a, 0, 0, 0, 0], &r, &mut ()) }.unwrap());
                }
                best = best.min(t.elapsed().as_nanos() as f64 / 200.0);
            }
            println!("round {round} pad {pad:>4}: {best:8.0} ns");
        }
    }
}
