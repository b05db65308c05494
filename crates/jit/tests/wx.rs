//! W^X: generated code is never in a page that is writable and executable at once,
//! the code pages are read+execute once compiled, and they are unmapped on drop.
//! (One test in this file: it watches the whole process's mappings.)

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{assemble, Syntax};
use bpfbox_jit::{JitOptions, JitProgram};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// (start, end, perms) of every mapping of this process.
fn maps() -> Vec<(usize, usize, String)> {
    let text = std::fs::read_to_string("/proc/self/maps").unwrap();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let range = it.next()?;
            let perms = it.next()?.to_string();
            let (a, b) = range.split_once('-')?;
            Some((usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?, perms))
        })
        .collect()
}

fn wx(perms: &str) -> bool {
    perms.as_bytes().get(1) == Some(&b'w') && perms.as_bytes().get(2) == Some(&b'x')
}

#[test]
#[cfg(target_os = "linux")]
fn code_is_never_writable_and_executable() {
    let src =
        "mov %r0, 0\nmov %r1, 100\nL: add %r0, %r1\nsub %r1, 1\njne %r1, 0, L\ncall local f\nexit\nf: mov %r0, 7\nexit";
    let insns = assemble(src, Syntax::Ubpf).unwrap();

    // A watcher scans the mappings while programs are compiled and dropped.
    let stop = Arc::new(AtomicBool::new(false));
    let scans = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (stop, scans) = (stop.clone(), scans.clone());
        std::thread::spawn(move || {
            let mut bad = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                bad.extend(maps().into_iter().filter(|m| wx(&m.2)));
                scans.fetch_add(1, Ordering::Relaxed);
            }
            bad
        })
    };
    for checked in [true, false] {
        for _ in 0..50 {
            let p = JitProgram::compile(&insns, &JitOptions { checked, ..Default::default() }).unwrap();
            // SAFETY: the program touches only its own stack frames.
            assert_eq!(unsafe { p.run_unchecked(&mut []) }.unwrap().r0, 7);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let bad = watcher.join().unwrap();
    assert!(scans.load(Ordering::Relaxed) > 0);
    assert!(bad.is_empty(), "writable+executable mappings seen: {bad:x?}");

    // The compiled code sits in a read+execute mapping, which goes away on drop.
    let p = JitProgram::compile(&insns, &JitOptions::default()).unwrap();
    let addr = p.code_address();
    let m = maps().into_iter().find(|m| m.0 <= addr && addr < m.1).unwrap();
    assert_eq!(&m.2[..3], "r-x", "code mapping {m:x?}");
    assert!(maps().iter().all(|m| !wx(&m.2)));
    drop(p);
    let after = maps().into_iter().find(|m| m.0 <= addr && addr < m.1);
    assert!(after.as_ref().is_none_or(|m| !m.2.contains('x')), "code still mapped executable after drop: {after:x?}");
}
