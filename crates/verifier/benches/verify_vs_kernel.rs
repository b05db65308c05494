//! Verification speed, bpfbox against the kernel, on the repository's compiled objects
//! (examples/, tests/progs/, tests/realworld/, tests/verifier/c/).
//!
//! bpfbox: the median wall time of `verify` over `--iters` runs per program (release
//! build). The kernel: the `verification time N usec` it reports itself at
//! `BPF_LOG_STATS`, the median over `--kernel-iters` loads of the object. Programs both
//! accept are compared; the kernel's refusals (EPERM: fentry/LSM/struct_ops on this
//! machine) are listed as skipped, and programs one side rejects are listed apart.
//! Without a usable kernel the kernel columns read SKIP and bpfbox is still timed.
//!
//! `cargo bench -p bpfbox-verifier --bench verify_vs_kernel -- [--iters N]
//! [--kernel-iters N] [--json FILE]` (scripts/bench-verifier.sh runs it).

use bpfbox_kernel::types::{VerifierStats, BPF_LOG_STATS};
use bpfbox_kernel::{KernelObject, OpenOptions};
use bpfbox_object::btf::Btf;
use bpfbox_object::{load, LoadOptions};
use bpfbox_verifier::object::input_with_kernel_btf;
use bpfbox_verifier::{verify, KernelBtf, VerifyOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const DIRS: &[&str] = &["examples", "tests/progs", "tests/realworld", "tests/verifier/c"];

/// Errnos meaning "this machine does not load such programs" rather than a verdict:
/// EPERM, EOPNOTSUPP, ENOTSUPP (the kernel-internal 524).
const REFUSED_ERRNOS: &[i32] = &[1, 95, 524];

struct Args {
    iters: usize,
    kernel_iters: usize,
    json: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { iters: 20, kernel_iters: 5, json: None };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--iters" => a.iters = value("--iters")?.parse().map_err(|e| format!("--iters: {e}"))?,
            "--kernel-iters" => {
                a.kernel_iters = value("--kernel-iters")?.parse().map_err(|e| format!("--kernel-iters: {e}"))?
            }
            "--json" => a.json = Some(PathBuf::from(value("--json")?)),
            // cargo bench passes --bench; libtest-style filters are not supported.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    a.iters = a.iters.max(1);
    a.kernel_iters = a.kernel_iters.max(1);
    Ok(a)
}

/// One program both sides looked at.
struct Row {
    name: String,
    insns: usize,
    ours_processed: u64,
    ours_us: f64,
    kernel: Option<KernelSide>,
}

#[derive(Clone, Copy)]
struct KernelSide {
    processed: u64,
    us: f64,
}

impl Row {
    /// kernel time / bpfbox time: above 1 means bpfbox is faster.
    fn ratio(&self) -> Option<f64> {
        let k = self.kernel?;
        (self.ours_us > 0.0).then(|| k.us / self.ours_us)
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn objects(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in DIRS {
        let mut v: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "o")).collect()
            })
            .unwrap_or_default();
        v.sort();
        out.extend(v);
    }
    out
}

/// What the kernel said about one object: per-program stats (median time over the
/// loads), or why it could not be compared.
enum KernelVerdict {
    Unavailable,
    Accepted(BTreeMap<String, KernelSide>),
    /// EPERM and friends: the machine cannot load this kind of program.
    Refused(String),
    Rejected {
        program: Option<String>,
        reason: String,
    },
}

fn kernel_side(path: &Path, iters: usize, available: &Result<(), String>) -> KernelVerdict {
    if available.is_err() {
        return KernelVerdict::Unavailable;
    }
    let mut times: BTreeMap<String, (u64, Vec<f64>)> = BTreeMap::new();
    for _ in 0..iters {
        match KernelObject::load_with_log(path, &OpenOptions::default(), BPF_LOG_STATS) {
            Ok(obj) => {
                for name in obj.program_names() {
                    let Some(VerifierStats { processed_insns, verification_time_us, .. }) = obj.verifier_stats(&name)
                    else {
                        continue;
                    };
                    let e = times.entry(name).or_insert((processed_insns, Vec::new()));
                    e.1.push(verification_time_us as f64);
                }
            }
            Err(e) => {
                let errno = e.errno().map(|n| n.0);
                let program = match &e {
                    bpfbox_kernel::KernelError::Load(l) => l.program.clone(),
                    _ => None,
                };
                let reason = e
                    .verifier_log()
                    .and_then(|l| {
                        l.lines()
                            .rev()
                            .find(|x| {
                                let x = x.trim();
                                !x.is_empty()
                                    && !x.starts_with("processed")
                                    && !x.starts_with("verification time")
                                    && !x.starts_with("stack depth")
                            })
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| e.to_string().lines().next().unwrap_or("").to_string());
                if errno.is_some_and(|n| REFUSED_ERRNOS.contains(&n)) {
                    return KernelVerdict::Refused(format!("{}: {reason}", program.as_deref().unwrap_or("?")));
                }
                return KernelVerdict::Rejected { program, reason };
            }
        }
    }
    KernelVerdict::Accepted(
        times.into_iter().map(|(n, (p, mut t))| (n, KernelSide { processed: p, us: median(&mut t) })).collect(),
    )
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "null".into()
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("verify_vs_kernel: {e}");
            std::process::exit(2);
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let btf = std::fs::read("/sys/kernel/btf/vmlinux").ok().and_then(|b| Btf::parse_vec(b).ok()).map(Arc::new);
    // One model of the kernel's BTF for every program, as `bpfbox verify` makes one.
    let kernel_btf = btf.clone().map(KernelBtf::new);
    if btf.is_none() {
        eprintln!("note: no /sys/kernel/btf/vmlinux; CO-RE objects may not load");
    }
    let available = bpfbox_kernel::availability();
    if let Err(why) = &available {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("kernel unavailable in CI: {why}");
        }
        println!("SKIP: kernel: {why} (bpfbox is still timed)");
    }

    let mut rows: Vec<Row> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut apart: Vec<String> = Vec::new();
    let opts = VerifyOptions::default();
    for path in objects(&root) {
        let rel = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) => {
                skipped.push(format!("{rel}: {e}"));
                continue;
            }
        };
        // As libbpf loads it against the running kernel: its BTF and version.
        let kernel_version = bpfbox_object::running_kernel_version().unwrap_or(0);
        let obj = match load(&data, &LoadOptions { target_btf: btf.clone(), kernel_version, ..Default::default() }) {
            Ok(mut o) => {
                // As `bpfbox verify` does: the kfuncs bpfbox implements get its ids.
                o.use_bpfbox_kfunc_ids();
                o
            }
            Err(e) => {
                skipped.push(format!("{rel}: bpfbox cannot load it: {e}"));
                continue;
            }
        };
        let kernel = kernel_side(&path, args.kernel_iters, &available);
        let kernel_progs = match &kernel {
            KernelVerdict::Refused(why) => {
                skipped.push(format!("{rel}: the kernel refuses to load it here ({why})"));
                continue;
            }
            KernelVerdict::Rejected { program, reason } => {
                apart.push(format!("{rel}: kernel rejects {}: {reason}", program.as_deref().unwrap_or("the object")));
                continue;
            }
            KernelVerdict::Accepted(m) => Some(m),
            KernelVerdict::Unavailable => None,
        };
        for p in &obj.programs {
            let name = format!("{rel}:{}", p.name);
            let Some(input) = input_with_kernel_btf(&obj, p, kernel_btf.as_ref()) else {
                skipped.push(format!("{name}: unknown program type (section {})", p.section));
                continue;
            };
            let report = verify(&input, &opts);
            if !report.accepted() {
                let why = report
                    .diagnostics
                    .first()
                    .map(|d| format!("pc {}: {}", d.pc, d.message.lines().next().unwrap_or("")));
                apart.push(format!("{name}: bpfbox rejects, the kernel accepts: {}", why.unwrap_or_default()));
                continue;
            }
            let k = match kernel_progs {
                Some(m) => match m.get(&p.name) {
                    Some(k) => Some(*k),
                    None => {
                        skipped.push(format!("{name}: no kernel statistics for this program"));
                        continue;
                    }
                },
                None => None,
            };
            let mut t = Vec::with_capacity(args.iters);
            for _ in 0..args.iters {
                let start = Instant::now();
                let r = verify(&input, &opts);
                t.push(start.elapsed().as_secs_f64() * 1e6);
                std::hint::black_box(r);
            }
            rows.push(Row {
                name,
                insns: input.insns.len(),
                ours_processed: report.stats.processed_insns,
                ours_us: median(&mut t),
                kernel: k,
            });
        }
    }

    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(10).max(10);
    println!(
        "{:<width$} {:>6} {:>10} {:>10} {:>11} {:>11} {:>8}",
        "program", "insns", "ours proc", "kern proc", "bpfbox µs", "kernel µs", "kern/us"
    );
    for r in &rows {
        let (kp, ku, ratio) = match (r.kernel, r.ratio()) {
            (Some(k), Some(x)) => (k.processed.to_string(), format!("{:.0}", k.us), format!("{x:.2}")),
            _ => ("SKIP".into(), "SKIP".into(), "-".into()),
        };
        println!(
            "{:<width$} {:>6} {:>10} {:>10} {:>11.1} {:>11} {:>8}",
            r.name, r.insns, r.ours_processed, kp, r.ours_us, ku, ratio
        );
    }
    let mut ratios: Vec<f64> = rows.iter().filter_map(Row::ratio).filter(|x| *x > 0.0).collect();
    let n = ratios.len();
    let geomean = if n > 0 { (ratios.iter().map(|x| x.ln()).sum::<f64>() / n as f64).exp() } else { f64::NAN };
    let faster = ratios.iter().filter(|x| **x > 1.0).count();
    let med = median(&mut ratios);
    println!();
    if n > 0 {
        println!(
            "kernel/bpfbox time over {n} programs: median {med:.2}, geometric mean {geomean:.2}; \
             bpfbox faster on {faster}, slower on {}",
            n - faster
        );
        let mut slow: Vec<&Row> = rows.iter().filter(|r| r.ratio().is_some()).collect();
        slow.sort_by(|a, b| a.ratio().unwrap_or(0.0).total_cmp(&b.ratio().unwrap_or(0.0)));
        println!("slowest relative to the kernel:");
        for r in slow.iter().take(5) {
            println!(
                "  {} kern/us {:.2} ({:.1} µs, {} processed)",
                r.name,
                r.ratio().unwrap_or(0.0),
                r.ours_us,
                r.ours_processed
            );
        }
    } else {
        println!("no kernel numbers: bpfbox timed on {} programs", rows.len());
    }
    if !apart.is_empty() {
        println!("\nnot compared (one side rejects):");
        for s in &apart {
            println!("  {s}");
        }
    }
    if !skipped.is_empty() {
        println!("\nskipped:");
        for s in &skipped {
            println!("  SKIP {s}");
        }
    }

    if let Some(file) = &args.json {
        let mut j = String::from("{\n  \"programs\": [\n");
        for (i, r) in rows.iter().enumerate() {
            let (kp, ku) = match r.kernel {
                Some(k) => (k.processed.to_string(), json_num(k.us)),
                None => ("null".into(), "null".into()),
            };
            j.push_str(&format!(
                "    {{\"program\": {}, \"insns\": {}, \"bpfbox_processed\": {}, \"kernel_processed\": {kp}, \
                 \"bpfbox_us\": {}, \"kernel_us\": {ku}, \"ratio\": {}}}{}\n",
                json_str(&r.name),
                r.insns,
                r.ours_processed,
                json_num(r.ours_us),
                r.ratio().map(json_num).unwrap_or_else(|| "null".into()),
                if i + 1 < rows.len() { "," } else { "" }
            ));
        }
        let list = |v: &[String]| v.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(", ");
        j.push_str(&format!(
            "  ],\n  \"summary\": {{\"compared\": {n}, \"median_ratio\": {}, \"geomean_ratio\": {}, \"faster\": {faster}, \
             \"slower\": {}}},\n  \"not_compared\": [{}],\n  \"skipped\": [{}]\n}}\n",
            json_num(med),
            json_num(geomean),
            n - faster,
            list(&apart),
            list(&skipped)
        ));
        if let Err(e) = std::fs::write(file, j) {
            eprintln!("verify_vs_kernel: cannot write {}: {e}", file.display());
            std::process::exit(1);
        }
        println!("\nwrote {}", file.display());
    }
}
