//! Maps an object pins by name (`LIBBPF_PIN_BY_NAME`, tests/progs/pinned_maps.bpf.c):
//! a private load (the default, for test runs) starts from the object's own maps,
//! pins nothing and leaves a pin of the same name alone; `MapPinning::ByName` pins
//! and reuses them as libbpf does.

mod common;

use bpfbox_kernel::{attach, inspect, KernelObject, MapPinning, OpenOptions, TestRunInput};
use common::*;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;

/// The tests share the object's pin names.
static SERIAL: Mutex<()> = Mutex::new(());

fn load(pinning: MapPinning) -> KernelObject {
    let opts = OpenOptions { map_pinning: pinning, ..Default::default() };
    KernelObject::load(&progs_dir().join("pinned_maps.bpf.o"), &opts).unwrap_or_else(|e| panic!("{e}"))
}

/// One test run on a 16-byte packet: (retval, packet count slot 0, slot 1).
fn run_once(o: &KernelObject) -> (u32, u64, u64) {
    let out = o
        .test_run("bbx_pin_xdp", &TestRunInput { data_in: vec![0; 16], ctx_in: None, repeat: 1 })
        .unwrap_or_else(|e| panic!("{e}"));
    (out.retval, count(o, 0), count(o, 1))
}

fn count(o: &KernelObject, slot: u32) -> u64 {
    let v = o.map_lookup("bbx_pin_count", &slot.to_le_bytes()).unwrap_or_else(|e| panic!("{e}"));
    u64::from_le_bytes(v.expect("array slot").try_into().expect("8-byte value"))
}

/// Every entry under `dir` (recursively) whose name starts with `prefix`, sorted.
fn pins_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with(prefix) {
            out.push(p.clone());
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(pins_named(&p, prefix));
        }
    }
    out.sort();
    out
}

fn default_pin(map: &str) -> PathBuf {
    Path::new("/sys/fs/bpf").join(map)
}

fn ids(o: &KernelObject) -> (Vec<u32>, Vec<u32>) {
    (o.programs().iter().map(|p| p.id).collect(), o.maps().iter().map(|m| m.id).collect())
}

/// Remove pins left by an earlier, interrupted run of these tests (bbx_* names are theirs).
fn remove_stale_pins() {
    for p in pins_named(Path::new("/sys/fs/bpf"), "bbx_pin_") {
        let _ = attach::detach_pinned(&p);
    }
}

#[test]
fn private_loads_start_from_the_objects_maps_and_pin_nothing() {
    if !kernel_available() {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    remove_stale_pins();
    for round in 0..2 {
        let o = load(MapPinning::default());
        assert_eq!(run_once(&o), (XDP_PASS, 1, 0), "round {round} starts from zero");
        assert_eq!(o.map_pins(), vec![], "round {round}");
        assert_eq!(pins_named(Path::new("/sys/fs/bpf"), "bbx_pin_"), Vec::<PathBuf>::new(), "round {round}");
        let (progs, maps) = ids(&o);
        drop(o);
        assert_released(&progs, &maps);
    }
}

#[test]
fn a_pin_of_the_same_name_is_neither_used_nor_removed_by_a_private_load() {
    if !kernel_available() {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    remove_stale_pins();
    // Someone else's maps, pinned by name as libbpf does it, the packet count at 41.
    let theirs = load(MapPinning::ByName);
    let pins: Vec<PathBuf> = theirs.map_pins().into_iter().map(|(_, p)| p).collect();
    assert_eq!(pins, vec![default_pin("bbx_pin_count"), default_pin("bbx_pin_bytes")]);
    theirs.map_update("bbx_pin_count", &0u32.to_le_bytes(), &41u64.to_le_bytes(), 0).expect("update");
    let (their_progs, their_maps) = ids(&theirs);
    drop(theirs);
    assert_released(&their_progs, &[]);

    // libbpf reuses them: a by-name load sees the 41 packets.
    let reused = load(MapPinning::ByName);
    assert_eq!(ids(&reused).1, their_maps, "libbpf reuses the pinned maps");
    assert_eq!(run_once(&reused), (XDP_DROP, 42, 41));
    drop(reused);

    // A private load starts from its own maps and leaves the pins as they were.
    for round in 0..2 {
        let o = load(MapPinning::Private);
        let (progs, maps) = ids(&o);
        assert!(maps.iter().all(|m| !their_maps.contains(m)), "round {round}: {maps:?} vs {their_maps:?}");
        assert_eq!(run_once(&o), (XDP_PASS, 1, 0), "round {round}");
        drop(o);
        assert_released(&progs, &maps);
        let pinned: Vec<u32> = [default_pin("bbx_pin_count"), default_pin("bbx_pin_bytes")]
            .iter()
            .map(|p| match inspect::pinned(p) {
                Ok((_, inspect::PinnedObject::Map(m))) => m.id,
                Ok(_) => panic!("{}: not a map", p.display()),
                Err(e) => panic!("round {round}: the pin went: {e}"),
            })
            .collect();
        assert_eq!(pinned, their_maps, "round {round}");
        let h = bpfbox_kernel::MapHandle::from_id(their_maps[0]).expect("open their map");
        assert_eq!(h.lookup(&0u32.to_le_bytes()).expect("lookup"), 42u64.to_le_bytes().to_vec(), "round {round}");
    }

    // Remove them; then nothing of the test is left.
    for p in &pins {
        attach::detach_pinned(p).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_released(&[], &their_maps);
    assert_eq!(pins_named(Path::new("/sys/fs/bpf"), "bbx_pin_"), Vec::<PathBuf>::new());
}
