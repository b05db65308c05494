//! Differential test of the user-space map API: every map of tests/progs/map_types.bpf.o
//! (hash, array, percpu_hash, percpu_array, lru_hash, lru_percpu_hash, lpm_trie, queue,
//! stack, bloom_filter, all with max_entries 4) is created in the kernel by libbpf and in
//! a bpfbox `Runtime` from the object loader's `MapSpec`s, and the same scripted bpf()
//! operations run on both; each result (value or errno) must agree.
//!
//! LRU maps: the kernel's LRU is approximate (per-CPU free lists, reference bits), so
//! after overfilling them only the number of entries and the survival of the newest
//! keys are compared.

#![cfg(feature = "kernel")] // scripts/test.sh builds the tests with the kernel backend

/// A `get_next_key` over one map (bpfbox's or the kernel's): the next key or an errno.
type NextKey<'a> = dyn Fn(Option<&[u8]>) -> Result<Vec<u8>, i32> + 'a;

use bpfbox_kernel::{KernelObject, MapHandle, OpenOptions};
use bpfbox_vm::{Map, MapDef, Runtime, RuntimeOptions};
use std::path::PathBuf;
use std::sync::Arc;

const ANY: u64 = 0;
const NOEXIST: u64 = 1;
const EXIST: u64 = 2;

type Outcome = Result<Vec<u8>, i32>;

fn errno_name(e: i32) -> String {
    bpfbox_vm::Errno(e).name().to_string()
}

fn show(o: &Outcome) -> String {
    match o {
        Ok(v) if v.is_empty() => "ok".to_string(),
        Ok(v) => format!("ok {}", v.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        Err(e) => format!("{} ({e})", errno_name(*e)),
    }
}

struct Pair {
    name: String,
    kernel: MapHandle,
    ours: Arc<Map>,
}

struct Diff {
    ops: usize,
    failures: Vec<String>,
}

impl Diff {
    /// Compare one operation's outcomes; the kernel's value (if any) is returned.
    fn check(&mut self, pair: &Pair, what: &str, kernel: Outcome, ours: Outcome) -> Option<Vec<u8>> {
        self.ops += 1;
        if kernel != ours {
            self.failures.push(format!("{}: {what}: kernel {} / bpfbox {}", pair.name, show(&kernel), show(&ours)));
        }
        kernel.ok()
    }

    fn update(&mut self, p: &Pair, key: &[u8], value: &[u8], flags: u64) {
        let k = p.kernel.update(key, value, flags).map(|()| Vec::new()).map_err(|e| e.0);
        let o = p.ours.update(key, value, flags).map(|()| Vec::new()).map_err(|e| e.0);
        self.check(p, &format!("update {} flags {flags}", hex(key)), k, o);
    }

    fn lookup(&mut self, p: &Pair, key: &[u8]) -> Option<Vec<u8>> {
        let k = p.kernel.lookup(key).map_err(|e| e.0);
        let o = p.ours.lookup(key).map_err(|e| e.0);
        self.check(p, &format!("lookup {}", hex(key)), k, o)
    }

    fn delete(&mut self, p: &Pair, key: &[u8]) {
        let k = p.kernel.delete(key).map(|()| Vec::new()).map_err(|e| e.0);
        let o = p.ours.delete(key).map(|()| Vec::new()).map_err(|e| e.0);
        self.check(p, &format!("delete {}", hex(key)), k, o);
    }

    fn lookup_and_delete(&mut self, p: &Pair, key: &[u8]) {
        let k = p.kernel.lookup_and_delete(key).map_err(|e| e.0);
        let o = p.ours.lookup_and_delete(key).map_err(|e| e.0);
        self.check(p, &format!("lookup_and_delete {}", hex(key)), k, o);
    }

    fn next_key(&mut self, p: &Pair, key: Option<&[u8]>) -> Option<Vec<u8>> {
        let k = p.kernel.next_key(key).map_err(|e| e.0);
        let o = p.ours.get_next_key(key).map_err(|e| e.0);
        self.check(p, &format!("get_next_key {}", key.map_or("NULL".to_string(), hex)), k, o)
    }

    fn push(&mut self, p: &Pair, value: &[u8], flags: u64) {
        let k = p.kernel.update(&[], value, flags).map(|()| Vec::new()).map_err(|e| e.0);
        let o = p.ours.push(value, flags).map(|()| Vec::new()).map_err(|e| e.0);
        self.check(p, &format!("push {} flags {flags}", hex(value)), k, o);
    }

    fn pop(&mut self, p: &Pair) {
        let k = p.kernel.lookup_and_delete(&[]).map_err(|e| e.0);
        let o = p.ours.pop().map_err(|e| e.0);
        self.check(p, "pop", k, o);
    }

    fn peek(&mut self, p: &Pair) {
        let k = p.kernel.lookup(&[]).map_err(|e| e.0);
        let o = p.ours.peek().map_err(|e| e.0);
        self.check(p, "peek", k, o);
    }

    /// Bloom filter membership: BPF_MAP_LOOKUP_ELEM with the value as the "value" buffer.
    fn bloom_peek(&mut self, p: &Pair, value: &[u8]) {
        let mut buf = value.to_vec();
        let k = p.kernel.lookup_into(&[], &mut buf).map(|()| Vec::new()).map_err(|e| e.0);
        let o = p.ours.bloom_contains(value).map(|()| Vec::new()).map_err(|e| e.0);
        self.check(p, &format!("bloom peek {}", hex(value)), k, o);
    }

    /// Walk get_next_key from NULL on both maps; the key sequences must agree
    /// (`ordered`) or hold the same keys (hash maps iterate in bucket order).
    fn walk(&mut self, p: &Pair, ordered: bool) -> usize {
        let collect = |next: &NextKey<'_>| -> (Vec<Vec<u8>>, i32) {
            let mut keys = Vec::new();
            let mut prev: Option<Vec<u8>> = None;
            loop {
                match next(prev.as_deref()) {
                    Ok(k) => {
                        keys.push(k.clone());
                        prev = Some(k);
                        if keys.len() > 64 {
                            return (keys, -1);
                        }
                    }
                    Err(e) => return (keys, e),
                }
            }
        };
        let (mut k, ke) = collect(&|key| p.kernel.next_key(key).map_err(|e| e.0));
        let (mut o, oe) = collect(&|key| p.ours.get_next_key(key).map_err(|e| e.0));
        self.ops += k.len().max(o.len()) + 1;
        if !ordered {
            k.sort();
            o.sort();
        }
        if k != o || ke != oe {
            let list = |v: &[Vec<u8>]| v.iter().map(|x| hex(x)).collect::<Vec<_>>().join(",");
            self.failures.push(format!(
                "{}: get_next_key walk: kernel [{}] then {} / bpfbox [{}] then {}",
                p.name,
                list(&k),
                errno_name(ke),
                list(&o),
                errno_name(oe)
            ));
        }
        k.len()
    }
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "-".to_string();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn u32k(i: u32) -> Vec<u8> {
    i.to_le_bytes().to_vec()
}

/// A value for map `p` derived from `seed`: for per-CPU maps one distinct value per CPU,
/// each in its 8-byte slot (the padding stays zero, as the kernel returns it).
fn value(p: &Pair, seed: u64) -> Vec<u8> {
    let vs = p.kernel.shape().value_size as usize;
    if p.kernel.shape().is_percpu() {
        let stride = vs.div_ceil(8) * 8;
        let n = p.kernel.value_buf_size() / stride;
        let mut v = vec![0u8; n * stride];
        for cpu in 0..n {
            let x = (seed * 1000 + cpu as u64 + 1).to_le_bytes();
            v[cpu * stride..cpu * stride + vs].copy_from_slice(&x[..vs]);
        }
        v
    } else {
        let mut v = vec![0u8; vs];
        let x = (seed * 0x0101_0101 + 7).to_le_bytes();
        let n = vs.min(8);
        v[..n].copy_from_slice(&x[..n]);
        v
    }
}

fn script_hash(d: &mut Diff, p: &Pair) {
    let (k1, k2, k5) = (u32k(1), u32k(2), u32k(5));
    d.lookup(p, &k1);
    d.delete(p, &k1);
    d.next_key(p, None);
    d.update(p, &k1, &value(p, 1), EXIST);
    d.update(p, &k1, &value(p, 1), NOEXIST);
    d.update(p, &k1, &value(p, 2), NOEXIST);
    d.lookup(p, &k1);
    d.update(p, &k1, &value(p, 3), EXIST);
    d.lookup(p, &k1);
    d.update(p, &k1, &value(p, 4), ANY);
    d.update(p, &k1, &value(p, 4), 4);
    for i in 2..=4 {
        d.update(p, &u32k(i), &value(p, i as u64 * 10), ANY);
    }
    // Full: new keys fail whatever the flag, existing keys can still be replaced.
    d.update(p, &k5, &value(p, 5), ANY);
    d.update(p, &k5, &value(p, 5), NOEXIST);
    d.update(p, &k5, &value(p, 5), EXIST);
    d.update(p, &k1, &value(p, 6), ANY);
    d.update(p, &k2, &value(p, 7), EXIST);
    for i in 0..=5 {
        d.lookup(p, &u32k(i));
    }
    d.walk(p, false);
    // The key after an absent key is the first key; hash maps order their keys
    // differently, so each side is compared with its own first key.
    let absent = u32k(99);
    let firsts = [p.kernel.next_key(None).map_err(|e| e.0), p.ours.get_next_key(None).map_err(|e| e.0)];
    let afters =
        [p.kernel.next_key(Some(&absent)).map_err(|e| e.0), p.ours.get_next_key(Some(&absent)).map_err(|e| e.0)];
    d.ops += 1;
    if afters[0] != firsts[0] || afters[1] != firsts[1] {
        d.failures.push(format!(
            "{}: get_next_key(absent) vs first key: kernel {} / {}, bpfbox {} / {}",
            p.name,
            show(&afters[0]),
            show(&firsts[0]),
            show(&afters[1]),
            show(&firsts[1])
        ));
    }
    d.delete(p, &k2);
    d.delete(p, &k2);
    d.lookup(p, &k2);
    d.update(p, &k5, &value(p, 8), NOEXIST);
    d.lookup(p, &k5);
    d.lookup_and_delete(p, &k5);
    d.lookup_and_delete(p, &k5);
    d.walk(p, false);
}

fn script_array(d: &mut Diff, p: &Pair) {
    for i in [0, 3, 4, 100] {
        d.lookup(p, &u32k(i));
    }
    d.update(p, &u32k(0), &value(p, 1), ANY);
    d.update(p, &u32k(1), &value(p, 2), NOEXIST);
    d.update(p, &u32k(1), &value(p, 3), EXIST);
    d.update(p, &u32k(3), &value(p, 4), ANY);
    d.update(p, &u32k(4), &value(p, 5), ANY);
    d.update(p, &u32k(4), &value(p, 5), EXIST);
    d.update(p, &u32k(0), &value(p, 5), 4);
    for i in 0..=4 {
        d.lookup(p, &u32k(i));
    }
    d.delete(p, &u32k(0));
    d.delete(p, &u32k(9));
    d.lookup_and_delete(p, &u32k(0));
    d.next_key(p, None);
    d.next_key(p, Some(&u32k(2)));
    d.next_key(p, Some(&u32k(3)));
    d.next_key(p, Some(&u32k(9)));
    d.walk(p, true);
}

fn script_lru(d: &mut Diff, p: &Pair) {
    let k1 = u32k(1);
    d.lookup(p, &k1);
    d.update(p, &k1, &value(p, 1), EXIST);
    d.update(p, &k1, &value(p, 1), NOEXIST);
    d.update(p, &k1, &value(p, 2), NOEXIST);
    d.update(p, &k1, &value(p, 3), EXIST);
    d.lookup(p, &k1);
    d.delete(p, &k1);
    d.delete(p, &k1);
    // Overfill: every insert succeeds (eviction), only the newest keys must survive.
    for i in 10..30u32 {
        d.update(p, &u32k(i), &value(p, i as u64), ANY);
    }
    let count = |next: &NextKey<'_>| {
        let mut n = 0;
        let mut prev: Option<Vec<u8>> = None;
        while let Ok(k) = next(prev.as_deref()) {
            n += 1;
            prev = Some(k);
            if n > 64 {
                break;
            }
        }
        n
    };
    let kn = count(&|k| p.kernel.next_key(k).map_err(|e| e.0));
    let on = count(&|k| p.ours.get_next_key(k).map_err(|e| e.0));
    d.ops += 1;
    if kn != on {
        d.failures.push(format!("{}: entries after overfilling: kernel {kn} / bpfbox {on}", p.name));
    }
    // The newest key survives in both, with the value last written.
    d.lookup(p, &u32k(29));
}

/// LPM keys: prefix length (host order), then the IPv4 address (network order).
fn lpm(prefix: u32, a: [u8; 4]) -> Vec<u8> {
    let mut k = prefix.to_le_bytes().to_vec();
    k.extend_from_slice(&a);
    k
}

fn script_lpm(d: &mut Diff, p: &Pair) {
    d.lookup(p, &lpm(32, [10, 1, 2, 3]));
    d.next_key(p, None);
    d.update(p, &lpm(8, [10, 0, 0, 0]), &value(p, 1), ANY);
    d.update(p, &lpm(16, [10, 1, 0, 0]), &value(p, 2), NOEXIST);
    d.update(p, &lpm(16, [10, 1, 0, 0]), &value(p, 2), NOEXIST);
    d.update(p, &lpm(24, [10, 1, 2, 0]), &value(p, 3), EXIST);
    d.update(p, &lpm(24, [10, 1, 2, 0]), &value(p, 3), ANY);
    d.update(p, &lpm(24, [10, 1, 2, 0]), &value(p, 4), EXIST);
    d.update(p, &lpm(33, [10, 1, 2, 0]), &value(p, 4), ANY);
    d.update(p, &lpm(24, [10, 1, 2, 0]), &value(p, 4), 4);
    for (len, a) in [
        (32, [10, 1, 2, 3]),
        (32, [10, 1, 9, 9]),
        (32, [10, 9, 9, 9]),
        (32, [11, 0, 0, 0]),
        (16, [10, 1, 2, 3]),
        (8, [10, 1, 2, 3]),
        (4, [10, 0, 0, 0]),
    ] {
        d.lookup(p, &lpm(len, a));
    }
    d.update(p, &lpm(0, [0, 0, 0, 0]), &value(p, 5), ANY);
    d.lookup(p, &lpm(32, [11, 0, 0, 0]));
    // Full (4 prefixes): a new prefix is refused, an existing one replaced.
    d.update(p, &lpm(16, [192, 168, 0, 0]), &value(p, 6), ANY);
    d.update(p, &lpm(16, [192, 168, 0, 0]), &value(p, 6), NOEXIST);
    d.update(p, &lpm(8, [10, 0, 0, 0]), &value(p, 7), ANY);
    d.lookup(p, &lpm(32, [10, 200, 0, 1]));
    d.walk(p, true);
    d.next_key(p, Some(&lpm(16, [172, 16, 0, 0])));
    d.delete(p, &lpm(16, [10, 1, 0, 0]));
    d.delete(p, &lpm(16, [10, 1, 0, 0]));
    d.delete(p, &lpm(20, [10, 1, 0, 0]));
    d.lookup(p, &lpm(32, [10, 1, 9, 9]));
    d.lookup_and_delete(p, &lpm(8, [10, 0, 0, 0]));
    d.update(p, &lpm(16, [192, 168, 0, 0]), &value(p, 8), NOEXIST);
    d.lookup(p, &lpm(32, [192, 168, 3, 4]));
    d.walk(p, true);
}

fn script_queue(d: &mut Diff, p: &Pair) {
    d.pop(p);
    d.peek(p);
    d.push(p, &value(p, 1), NOEXIST);
    d.push(p, &value(p, 1), 4);
    for i in 1..=4 {
        d.push(p, &value(p, i), ANY);
    }
    d.push(p, &value(p, 5), ANY);
    d.peek(p);
    // BPF_EXIST on a full queue/stack overwrites the oldest element.
    d.push(p, &value(p, 6), EXIST);
    d.peek(p);
    d.delete(p, &[]);
    d.next_key(p, None);
    for _ in 0..5 {
        d.pop(p);
    }
    d.peek(p);
    d.push(p, &value(p, 7), EXIST);
    d.peek(p);
    d.pop(p);
}

fn script_bloom(d: &mut Diff, p: &Pair) {
    d.bloom_peek(p, &value(p, 1));
    for i in 1..=6 {
        d.push(p, &value(p, i), ANY);
    }
    d.push(p, &value(p, 7), NOEXIST);
    d.push(p, &value(p, 7), EXIST);
    for i in 1..=6 {
        d.bloom_peek(p, &value(p, i));
    }
    d.delete(p, &[]);
    d.next_key(p, None);
    d.pop(p);
}

fn object_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs/map_types.bpf.o")
}

#[test]
fn maps_agree_with_the_kernel() {
    if !bpfbox_kernel::available_or_skip() {
        return;
    }
    let path = object_path();
    let bytes = std::fs::read(&path).expect("map_types.bpf.o (scripts/build-progs.sh)");
    let loaded =
        bpfbox_object::load(&bytes, &bpfbox_object::LoadOptions::default()).expect("bpfbox loads map_types.bpf.o");
    let kobj = KernelObject::load(&path, &OpenOptions::default()).expect("the kernel loads map_types.bpf.o");
    let ids: Vec<(String, u32)> = kobj.maps().into_iter().map(|m| (m.name, m.id)).collect();
    let rt = Runtime::new(RuntimeOptions::deterministic(bpfbox_kernel::possible_cpus() as u32));

    let mut d = Diff { ops: 0, failures: Vec::new() };
    let mut names = Vec::new();
    for spec in loaded.maps.iter().filter(|m| m.name.starts_with("t_")) {
        let id = ids
            .iter()
            .find(|(n, _)| *n == spec.name)
            .unwrap_or_else(|| panic!("the kernel has no map {}", spec.name))
            .1;
        let kernel = MapHandle::from_id(id).expect("open kernel map");
        let def = MapDef {
            name: spec.name.clone(),
            map_type: spec.map_type,
            key_size: spec.key_size,
            value_size: spec.value_size,
            max_entries: spec.max_entries,
            map_flags: spec.map_flags,
            map_extra: spec.map_extra,
            ..Default::default()
        };
        let ours = rt.map(rt.create_map(&def).expect("bpfbox creates the map"));
        let pair = Pair { name: spec.name.clone(), kernel, ours };
        assert_eq!(pair.kernel.shape().map_type, spec.map_type, "{}", spec.name);
        assert_eq!(pair.kernel.value_buf_size(), pair.ours.user_value_len(), "{}: value buffer sizes", spec.name);
        match spec.map_type {
            1 | 5 => script_hash(&mut d, &pair),
            2 | 6 => script_array(&mut d, &pair),
            9 | 10 => script_lru(&mut d, &pair),
            11 => script_lpm(&mut d, &pair),
            22 | 23 => script_queue(&mut d, &pair),
            30 => script_bloom(&mut d, &pair),
            t => panic!("{}: no script for map type {t}", spec.name),
        }
        names.push(spec.name.clone());
    }
    assert_eq!(names.len(), 10, "maps: {names:?}");
    assert!(d.failures.is_empty(), "{} of {} operations differ:\n{}", d.failures.len(), d.ops, d.failures.join("\n"));
    println!("maps vs kernel: {} operations on {} maps agree", d.ops, names.len());
}
