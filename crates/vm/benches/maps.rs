//! Map operations through the Runtime's user-space map API against plain Rust maps.
//!
//! Hash map: 10,000 entries, 4-byte keys, 8-byte values (`BPF_MAP_TYPE_HASH`), against
//! `HashMap<Vec<u8>, Vec<u8>>` (the same byte-slice interface) and `HashMap<u32, u64>`
//! (the best a typed Rust map does). Array map: 10,000 8-byte values. Lookups copy
//! the value out (as `bpf(2)` does) with `Map::lookup_into`; updates replace existing
//! elements (`BPF_ANY`). Each operation uses the next key of a shuffled key list.
//! A last row runs a program that looks up a hash element and increments it
//! (`test_run` included), for scale.
//!
//! The kernel column runs the same operations on kernel maps of the same shape
//! (BPF_MAP_CREATE through `bpfbox_kernel::MapHandle`) with one bpf() syscall each
//! (BPF_MAP_LOOKUP_ELEM / BPF_MAP_UPDATE_ELEM on a held fd). Without bpf() (not root)
//! the reason is printed and the column shows `-`.
//!
//! Criterion measures every pair; then the binary times each again with a plain
//! loop and prints `operation | bpfbox ns/op | kernel syscall ns/op |
//! HashMap<Vec<u8>,Vec<u8>> ns/op | HashMap<u32,u64> ns/op | ratios`.
//! `BPFBOX_BENCH_QUICK=1` prints only the table.

use bpfbox_isa::{assemble, Syntax};
use bpfbox_kernel::MapHandle;
use bpfbox_vm::{Map, MapDef, Runtime, RuntimeOptions, TestRunInput};
use criterion::Criterion;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const N: u32 = 10_000;

struct Setup {
    rt: Runtime,
    hash: Arc<Map>,
    array: Arc<Map>,
    vecmap: HashMap<Vec<u8>, Vec<u8>>,
    intmap: HashMap<u32, u64>,
    keys: Vec<u32>,
    prog: bpfbox_vm::ProgId,
    packet: Vec<u8>,
    /// The kernel's hash and array maps, or why there are none.
    kernel: Result<(MapHandle, MapHandle), String>,
}

fn kernel_maps() -> Result<(MapHandle, MapHandle), String> {
    bpfbox_kernel::availability()?;
    let create = |name: &str, t: u32| MapHandle::create(name, t, 4, 8, N, 0).map_err(|e| e.to_string());
    let (h, a) = (create("bench_hash", 1)?, create("bench_array", 2)?);
    for i in 0..N {
        let (k, v) = (i.to_le_bytes(), (i as u64 * 3).to_le_bytes());
        h.update(&k, &v, 0).map_err(|e| format!("fill kernel hash: {e}"))?;
        a.update(&k, &v, 0).map_err(|e| format!("fill kernel array: {e}"))?;
    }
    Ok((h, a))
}

fn setup() -> Setup {
    let rt = Runtime::new(RuntimeOptions::deterministic(1));
    let def = |name: &str, map_type: u32| MapDef {
        name: name.into(),
        map_type,
        key_size: 4,
        value_size: 8,
        max_entries: N,
        ..Default::default()
    };
    let h = rt.create_map(&def("hash", 1)).expect("hash");
    let a = rt.create_map(&def("array", 2)).expect("array");
    let (hash, array) = (rt.map(h), rt.map(a));
    let mut vecmap = HashMap::new();
    let mut intmap = HashMap::new();
    for i in 0..N {
        let (k, v) = (i.to_le_bytes(), (i as u64 * 3).to_le_bytes());
        hash.update(&k, &v, 0).expect("fill hash");
        array.update(&k, &v, 0).expect("fill array");
        vecmap.insert(k.to_vec(), v.to_vec());
        intmap.insert(i, i as u64 * 3);
    }
    // A fixed pseudo-random order, so that neither map gets a cache-friendly pattern.
    let mut keys: Vec<u32> = (0..N).collect();
    let mut s = 0x2545_f491_4f6c_dd1du64;
    for i in (1..keys.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        keys.swap(i, (s % (i as u64 + 1)) as usize);
    }
    let src = "
        *(u32 *)(r10 - 4) = 7
        ld_pseudo r1, 0x5, 0x0
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto out
        r1 = 1
        lock *(u64 *)(r0 + 0) += r1
    out:
        r0 = 2
        exit";
    let insns = assemble(src, Syntax::Llvm).expect("program");
    let prog = rt.load_program("lookup_inc", 6, insns, &[h]).expect("load");
    let packet = vec![0u8; 64];
    Setup { rt, hash, array, vecmap, intmap, keys, prog, packet, kernel: kernel_maps() }
}

/// The operations, each as one closure per engine (`None`: not applicable).
type Op<'a> = Box<dyn FnMut() + 'a>;

struct Row<'a> {
    name: &'static str,
    bpfbox: Op<'a>,
    kernel: Option<Op<'a>>,
    vec: Option<Op<'a>>,
    int: Option<Op<'a>>,
}

fn rows(s: &Setup) -> Vec<Row<'_>> {
    let next = |i: &mut usize| {
        *i = (*i + 1) % s.keys.len();
        s.keys[*i]
    };
    let mut rows = Vec::new();
    {
        let (mut i, mut j, mut l, mut m) = (0, 0, 0, 0);
        let mut out = [0u8; 8];
        let mut out2 = [0u8; 8];
        let mut out3 = [0u8; 8];
        rows.push(Row {
            name: "hash lookup",
            bpfbox: Box::new(move || {
                let k = next(&mut i).to_le_bytes();
                s.hash.lookup_into(black_box(&k), &mut out).expect("present");
                black_box(&out);
            }),
            kernel: s.kernel.as_ref().ok().map(|(h, _)| -> Op<'_> {
                Box::new(move || {
                    let k = next(&mut m).to_le_bytes();
                    h.lookup_into(black_box(&k), &mut out3).expect("present");
                    black_box(&out3);
                })
            }),
            vec: Some(Box::new(move || {
                let k = next(&mut j).to_le_bytes();
                if let Some(v) = s.vecmap.get(black_box(&k[..])) {
                    out2.copy_from_slice(v);
                }
                black_box(&out2);
            })),
            int: Some(Box::new(move || {
                let k = next(&mut l);
                black_box(s.intmap.get(black_box(&k)));
            })),
        });
    }
    {
        let mut i = 0;
        let mut vm = s.vecmap.clone();
        let mut im = s.intmap.clone();
        let (mut j, mut l, mut m) = (0, 0, 0);
        rows.push(Row {
            name: "hash update (existing key)",
            bpfbox: Box::new(move || {
                let k = next(&mut i);
                s.hash.update(black_box(&k.to_le_bytes()), &(k as u64).to_le_bytes(), 0).expect("update");
            }),
            kernel: s.kernel.as_ref().ok().map(|(h, _)| -> Op<'_> {
                Box::new(move || {
                    let k = next(&mut m);
                    h.update(black_box(&k.to_le_bytes()), &(k as u64).to_le_bytes(), 0).expect("update");
                })
            }),
            vec: Some(Box::new(move || {
                let k = next(&mut j);
                vm.insert(black_box(k.to_le_bytes().to_vec()), (k as u64).to_le_bytes().to_vec());
            })),
            int: Some(Box::new(move || {
                let k = next(&mut l);
                im.insert(black_box(k), k as u64);
            })),
        });
    }
    {
        let (mut i, mut l, mut m) = (0, 0, 0);
        let mut out = [0u8; 8];
        let mut out3 = [0u8; 8];
        rows.push(Row {
            name: "array lookup",
            bpfbox: Box::new(move || {
                let k = next(&mut i).to_le_bytes();
                s.array.lookup_into(black_box(&k), &mut out).expect("present");
                black_box(&out);
            }),
            kernel: s.kernel.as_ref().ok().map(|(_, a)| -> Op<'_> {
                Box::new(move || {
                    let k = next(&mut m).to_le_bytes();
                    a.lookup_into(black_box(&k), &mut out3).expect("present");
                    black_box(&out3);
                })
            }),
            vec: None,
            int: Some(Box::new(move || {
                let k = next(&mut l);
                black_box(s.intmap.get(black_box(&k)));
            })),
        });
    }
    {
        let (mut i, mut l, mut m) = (0, 0, 0);
        let mut im = s.intmap.clone();
        rows.push(Row {
            name: "array update",
            bpfbox: Box::new(move || {
                let k = next(&mut i);
                s.array.update(black_box(&k.to_le_bytes()), &(k as u64).to_le_bytes(), 0).expect("update");
            }),
            kernel: s.kernel.as_ref().ok().map(|(_, a)| -> Op<'_> {
                Box::new(move || {
                    let k = next(&mut m);
                    a.update(black_box(&k.to_le_bytes()), &(k as u64).to_le_bytes(), 0).expect("update");
                })
            }),
            vec: None,
            int: Some(Box::new(move || {
                let k = next(&mut l);
                im.insert(black_box(k), k as u64);
            })),
        });
    }
    {
        let input = TestRunInput { data_in: s.packet.clone(), ..Default::default() };
        rows.push(Row {
            name: "program: lookup + atomic add (per test_run)",
            bpfbox: Box::new(move || {
                black_box(s.rt.test_run(s.prog, &input).expect("run"));
            }),
            kernel: None,
            vec: None,
            int: None,
        });
    }
    rows
}

/// Best average over several ~100 ms batches, in ns per call.
fn time_per_op(f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_millis(100) {
        f();
        n += 1;
    }
    let per_batch = (n.max(1) * 3 / 2).max(1);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / per_batch as f64);
    }
    best
}

fn main() {
    let s = setup();
    let quick = std::env::var_os("BPFBOX_BENCH_QUICK").is_some_and(|v| v != "0");
    if !quick {
        let mut crit = Criterion::default()
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .configure_from_args();
        for mut row in rows(&s) {
            let mut g = crit.benchmark_group(row.name.replace(' ', "_"));
            g.bench_function("bpfbox", |b| b.iter(&mut row.bpfbox));
            if let Some(f) = row.kernel.as_mut() {
                g.bench_function("kernel_syscall", |b| b.iter(&mut *f));
            }
            if let Some(f) = row.vec.as_mut() {
                g.bench_function("hashmap_vec", |b| b.iter(&mut *f));
            }
            if let Some(f) = row.int.as_mut() {
                g.bench_function("hashmap_u32", |b| b.iter(&mut *f));
            }
            g.finish();
        }
        crit.final_summary();
    }
    if std::env::args().skip(1).any(|a| !a.starts_with('-')) || std::env::args().any(|a| a == "--list") {
        return;
    }
    println!();
    if let Err(why) = &s.kernel {
        println!("kernel column skipped: {why}");
    }
    println!("| operation | bpfbox ns/op | kernel syscall ns/op | HashMap<Vec<u8>,Vec<u8>> ns/op | HashMap<u32,u64> ns/op | bpfbox / kernel | bpfbox / Vec map | bpfbox / u32 map |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let cell = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.1}"));
    let ratio = |a: f64, b: Option<f64>| b.map_or("-".to_string(), |b| format!("{:.2}x", a / b));
    for mut row in rows(&s) {
        let ours = time_per_op(&mut row.bpfbox);
        let kern = row.kernel.as_mut().map(|f| time_per_op(f));
        let vec = row.vec.as_mut().map(|f| time_per_op(f));
        let int = row.int.as_mut().map(|f| time_per_op(f));
        println!(
            "| {} | {:.1} | {} | {} | {} | {} | {} | {} |",
            row.name,
            ours,
            cell(kern),
            cell(vec),
            cell(int),
            ratio(ours, kern),
            ratio(ours, vec),
            ratio(ours, int)
        );
    }
}
