//! Map semantics through the user-space API (what `bpf(2)` does), error paths included.

use super::*;
use bpfbox_abi::map_types::MapType as T;

fn info(t: T, key: u32, value: u32, max: u32, flags: u32) -> MapInfo {
    MapInfo {
        name: "m".into(),
        map_type: t as u32,
        key_size: key,
        value_size: value,
        max_entries: max,
        map_flags: flags,
        map_extra: 0,
    }
}

fn mk(t: T, key: u32, value: u32, max: u32, flags: u32) -> Map {
    match Map::new(MapId(0), info(t, key, value, max, flags), 2, None, None) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn create_err(i: MapInfo) -> Errno {
    match Map::new(MapId(0), i, 2, None, None) {
        Ok(_) => panic!("created"),
        Err(e) => e.errno,
    }
}

fn k(i: u32) -> [u8; 4] {
    i.to_le_bytes()
}

fn v8(x: u64) -> [u8; 8] {
    x.to_le_bytes()
}

#[test]
fn creation_is_checked_like_the_kernel() {
    assert_eq!(create_err(info(T::Array, 8, 4, 1, 0)), Errno::EINVAL, "array key_size must be 4");
    assert_eq!(create_err(info(T::Array, 4, 0, 1, 0)), Errno::EINVAL, "value_size 0");
    assert_eq!(create_err(info(T::Array, 4, 4, 0, 0)), Errno::EINVAL, "max_entries 0");
    assert_eq!(create_err(info(T::PercpuArray, 4, 40000, 1, 0)), Errno::E2BIG, "per-CPU values <= 32K");
    assert_eq!(create_err(info(T::PercpuArray, 4, 4, 1, flags::MMAPABLE)), Errno::EINVAL);
    assert_eq!(create_err(info(T::Hash, 0, 4, 1, 0)), Errno::EINVAL, "hash key_size 0");
    assert_eq!(create_err(info(T::Hash, 600, 4, 1, 0)), Errno::E2BIG, "hash keys <= 512");
    assert_eq!(create_err(info(T::Hash, 4, 4, 1, flags::NO_COMMON_LRU)), Errno::EINVAL);
    assert_eq!(create_err(info(T::LruHash, 4, 4, 1, flags::NO_PREALLOC)), Errno::ENOTSUPP);
    assert_eq!(create_err(info(T::Hash, 4, 4, 1, flags::RDONLY | flags::WRONLY)), Errno::EINVAL);
    assert_eq!(create_err(info(T::Hash, 4, 4, 1, flags::RDONLY_PROG | flags::WRONLY_PROG)), Errno::EINVAL);
    assert_eq!(create_err(info(T::LpmTrie, 8, 4, 1, 0)), Errno::EINVAL, "lpm needs BPF_F_NO_PREALLOC");
    assert_eq!(create_err(info(T::LpmTrie, 4, 4, 1, flags::NO_PREALLOC)), Errno::EINVAL, "lpm key >= 5");
    assert_eq!(create_err(info(T::Queue, 4, 4, 1, 0)), Errno::EINVAL, "queue key_size 0");
    assert_eq!(create_err(info(T::Stack, 0, 0, 1, 0)), Errno::EINVAL);
    assert_eq!(create_err(info(T::Ringbuf, 0, 0, 4096 * 3, 0)), Errno::EINVAL, "power of two");
    assert_eq!(create_err(info(T::Ringbuf, 0, 0, 1024, 0)), Errno::EINVAL, "page multiple");
    assert_eq!(create_err(info(T::Ringbuf, 4, 0, 4096, 0)), Errno::EINVAL);
    assert_eq!(create_err(info(T::ProgArray, 4, 8, 1, 0)), Errno::EINVAL);
    assert_eq!(create_err(info(T::BloomFilter, 4, 4, 1, 0)), Errno::EINVAL, "bloom key_size 0");
    let mut b = info(T::BloomFilter, 0, 4, 1, 0);
    b.map_extra = 16;
    assert_eq!(create_err(b), Errno::EINVAL, "nr_hash_funcs <= 15");
    let mut h = info(T::Hash, 4, 4, 1, 0);
    h.map_extra = 1;
    assert_eq!(create_err(h), Errno::EINVAL, "map_extra only for bloom");
    assert_eq!(create_err(info(T::ArrayOfMaps, 4, 4, 1, 0)), Errno::EINVAL, "needs an inner template");
    assert_eq!(create_err(info(T::Sockmap, 4, 4, 1, 0)), Errno::EOPNOTSUPP);
    assert_eq!(create_err(info(T::StackTrace, 4, 12, 1, 0)), Errno::EINVAL, "stack traces are u64 frames");
    assert_eq!(create_err(info(T::CgroupArray, 4, 8, 1, 0)), Errno::EINVAL);
    let p = mk(T::PerfEventArray, 4, 4, 0, 0);
    assert_eq!(p.max_entries(), 2, "libbpf sizes perf_event_array to the CPUs");
}

#[test]
fn array() {
    let m = mk(T::Array, 4, 4, 3, 0);
    assert_eq!(m.lookup(&k(1)), Ok(vec![0; 4]), "arrays start zeroed");
    m.update(&k(1), &[1, 2, 3, 4], BPF_ANY).expect("update");
    m.update(&k(1), &[5, 6, 7, 8], BPF_EXIST).expect("exist");
    assert_eq!(m.lookup(&k(1)), Ok(vec![5, 6, 7, 8]));
    assert_eq!(m.update(&k(1), &[0; 4], BPF_NOEXIST), Err(Errno::EEXIST));
    assert_eq!(m.update(&k(3), &[0; 4], BPF_ANY), Err(Errno::E2BIG));
    assert_eq!(m.update(&k(0), &[0; 4], 3), Err(Errno::EINVAL), "unknown flag");
    assert_eq!(m.update(&k(0), &[0; 5], 0), Err(Errno::EINVAL), "value size");
    assert_eq!(m.update(&[0; 8], &[0; 4], 0), Err(Errno::EINVAL), "key size");
    assert_eq!(m.lookup(&k(3)), Err(Errno::ENOENT));
    assert_eq!(m.delete(&k(0)), Err(Errno::EINVAL), "array elements cannot be deleted");
    assert_eq!(m.get_next_key(None), Ok(k(0).to_vec()));
    assert_eq!(m.get_next_key(Some(&k(0))), Ok(k(1).to_vec()));
    assert_eq!(m.get_next_key(Some(&k(2))), Err(Errno::ENOENT));
    assert_eq!(m.get_next_key(Some(&k(7))), Ok(k(0).to_vec()), "out of range restarts");
    assert_eq!(m.update(&k(0), &[0; 4], BPF_F_LOCK), Err(Errno::EINVAL), "no spin lock");
    assert_eq!(m.entries().len(), 3);
    assert_eq!(m.len(), 3);
}

#[test]
fn percpu_array_values_are_all_cpus_rounded_to_8() {
    let m = mk(T::PercpuArray, 4, 4, 2, 0);
    assert_eq!(m.percpu_value_len(), 16);
    assert_eq!(m.user_value_len(), 16);
    assert_eq!(m.update(&k(0), &[1, 2, 3, 4], 0), Err(Errno::EINVAL), "needs every CPU's value");
    m.update(&k(0), &[1, 2, 3, 4, 9, 9, 9, 9, 5, 6, 7, 8, 9, 9, 9, 9], 0).expect("update");
    assert_eq!(m.lookup(&k(0)), Ok(vec![1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0]), "padding reads as zero");
}

#[test]
fn hash() {
    let m = mk(T::Hash, 4, 8, 2, 0);
    assert_eq!(m.lookup(&k(1)), Err(Errno::ENOENT));
    assert_eq!(m.update(&k(1), &v8(10), BPF_EXIST), Err(Errno::ENOENT));
    m.update(&k(1), &v8(10), BPF_NOEXIST).expect("insert");
    assert_eq!(m.update(&k(1), &v8(11), BPF_NOEXIST), Err(Errno::EEXIST));
    m.update(&k(1), &v8(11), BPF_EXIST).expect("replace");
    m.update(&k(2), &v8(20), BPF_ANY).expect("insert 2");
    assert_eq!(m.update(&k(3), &v8(30), BPF_ANY), Err(Errno::E2BIG), "full");
    m.update(&k(2), &v8(21), BPF_ANY).expect("replacing works when full");
    assert_eq!(m.lookup(&k(1)), Ok(v8(11).to_vec()));
    assert_eq!(m.get_next_key(None), Ok(k(1).to_vec()));
    assert_eq!(m.get_next_key(Some(&k(1))), Ok(k(2).to_vec()));
    assert_eq!(m.get_next_key(Some(&k(2))), Err(Errno::ENOENT));
    assert_eq!(m.get_next_key(Some(&k(9))), Ok(k(1).to_vec()), "missing key: first");
    assert_eq!(m.lookup_and_delete(&k(2)), Ok(v8(21).to_vec()));
    assert_eq!(m.delete(&k(2)), Err(Errno::ENOENT));
    m.delete(&k(1)).expect("delete");
    assert!(m.is_empty());
    assert_eq!(m.get_next_key(None), Err(Errno::ENOENT));
}

#[test]
fn percpu_hash() {
    let m = mk(T::PercpuHash, 4, 4, 4, 0);
    let v = [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
    m.update(&k(7), &v, 0).expect("update");
    assert_eq!(m.lookup(&k(7)), Ok(v.to_vec()));
    assert_eq!(m.entries(), vec![(k(7).to_vec(), v.to_vec())]);
}

#[test]
fn lru_hash_evicts_the_least_recently_used() {
    let m = mk(T::LruHash, 4, 8, 3, 0);
    let Imp::Hash(t) = &m.imp else { panic!("hash") };
    for i in 1..=3 {
        m.update(&k(i), &v8(i as u64), BPF_ANY).expect("fill");
    }
    // A program touches 1 (lookups from user space do not count, as in the kernel).
    let e = t.get(&k(1)).expect("1");
    t.touch(&e);
    m.lookup(&k(2)).expect("user lookup");
    m.update(&k(4), &v8(4), BPF_ANY).expect("evicts 2, the oldest untouched");
    assert_eq!(m.lookup(&k(2)), Err(Errno::ENOENT));
    m.update(&k(5), &v8(5), BPF_ANY).expect("evicts 3");
    assert_eq!(m.lookup(&k(3)), Err(Errno::ENOENT));
    m.update(&k(6), &v8(6), BPF_ANY).expect("evicts 1");
    assert_eq!(m.lookup(&k(1)), Err(Errno::ENOENT));
    assert_eq!(m.len(), 3);
    assert_eq!(m.update(&k(4), &v8(0), BPF_NOEXIST), Err(Errno::EEXIST));
    m.delete(&k(4)).expect("delete");
    m.update(&k(7), &v8(7), BPF_ANY).expect("room after delete, no eviction");
    assert_eq!(m.len(), 3);
    let lp = mk(T::LruPercpuHash, 4, 4, 1, 0);
    lp.update(&k(1), &[0; 16], 0).expect("lru percpu");
    lp.update(&k(2), &[0; 16], 0).expect("evicts");
    assert_eq!(lp.lookup(&k(1)), Err(Errno::ENOENT));
}

fn lpm_key(len: u32, a: [u8; 4]) -> Vec<u8> {
    let mut v = len.to_le_bytes().to_vec();
    v.extend_from_slice(&a);
    v
}

#[test]
fn lpm_trie_longest_prefix() {
    let m = mk(T::LpmTrie, 8, 4, 3, flags::NO_PREALLOC);
    m.update(&lpm_key(8, [10, 0, 0, 0]), &[8, 0, 0, 0], 0).expect("/8");
    m.update(&lpm_key(24, [10, 1, 2, 0]), &[24, 0, 0, 0], 0).expect("/24");
    m.update(&lpm_key(16, [10, 1, 0, 0]), &[16, 0, 0, 0], 0).expect("/16");
    assert_eq!(m.lookup(&lpm_key(32, [10, 1, 2, 3])), Ok(vec![24, 0, 0, 0]));
    assert_eq!(m.lookup(&lpm_key(32, [10, 1, 9, 3])), Ok(vec![16, 0, 0, 0]));
    assert_eq!(m.lookup(&lpm_key(32, [10, 9, 9, 9])), Ok(vec![8, 0, 0, 0]));
    assert_eq!(m.lookup(&lpm_key(12, [10, 1, 2, 3])), Ok(vec![8, 0, 0, 0]), "the key's prefixlen bounds the match");
    assert_eq!(m.lookup(&lpm_key(32, [11, 0, 0, 0])), Err(Errno::ENOENT));
    assert_eq!(m.update(&lpm_key(32, [1, 2, 3, 4]), &[0; 4], 0), Err(Errno::ENOSPC), "full");
    assert_eq!(m.update(&lpm_key(33, [1, 2, 3, 4]), &[0; 4], 0), Err(Errno::EINVAL), "prefixlen > 32");
    assert_eq!(m.update(&lpm_key(16, [10, 1, 7, 7]), &[0; 4], BPF_NOEXIST), Err(Errno::EEXIST), "same prefix");
    assert_eq!(m.update(&lpm_key(20, [10, 1, 7, 7]), &[0; 4], BPF_EXIST), Err(Errno::ENOENT));
    // Post-order: children before parents.
    let order: Vec<u32> = {
        let mut v = Vec::new();
        let mut key = None;
        while let Ok(n) = m.get_next_key(key.as_deref()) {
            v.push(u32::from_le_bytes([n[0], n[1], n[2], n[3]]));
            key = Some(n);
        }
        v
    };
    assert_eq!(order, vec![24, 16, 8]);
    assert_eq!(m.delete(&lpm_key(16, [10, 1, 0, 0])), Ok(()));
    assert_eq!(m.delete(&lpm_key(16, [10, 1, 0, 0])), Err(Errno::ENOENT));
    assert_eq!(m.lookup(&lpm_key(32, [10, 1, 9, 3])), Ok(vec![8, 0, 0, 0]));
}

#[test]
fn queue_and_stack() {
    let q = mk(T::Queue, 0, 4, 2, 0);
    let s = mk(T::Stack, 0, 4, 2, 0);
    for m in [&q, &s] {
        assert_eq!(m.peek(), Err(Errno::ENOENT));
        assert_eq!(m.pop(), Err(Errno::ENOENT));
        m.push(&k(1), BPF_ANY).expect("push 1");
        m.push(&k(2), BPF_ANY).expect("push 2");
        assert_eq!(m.push(&k(3), BPF_ANY), Err(Errno::E2BIG), "full");
        // The kernel refuses BPF_NOEXIST on queues and stacks whatever their fill
        // (queue_stack_map_push_elem; checked by cli/tests/maps_vs_kernel.rs).
        assert_eq!(m.push(&k(3), BPF_NOEXIST), Err(Errno::EINVAL));
        assert_eq!(m.push(&k(3), 3), Err(Errno::EINVAL));
        m.push(&k(3), BPF_EXIST).expect("BPF_EXIST drops the oldest");
        assert_eq!(m.delete(&[]), Err(Errno::EINVAL));
        assert_eq!(m.get_next_key(None), Err(Errno::EINVAL));
    }
    assert_eq!(q.peek(), Ok(k(2).to_vec()));
    assert_eq!(q.pop(), Ok(k(2).to_vec()));
    assert_eq!(q.pop(), Ok(k(3).to_vec()));
    assert_eq!(s.entries(), vec![(vec![], k(3).to_vec()), (vec![], k(2).to_vec())]);
    assert_eq!(s.pop(), Ok(k(3).to_vec()));
    assert_eq!(s.pop(), Ok(k(2).to_vec()));
    assert_eq!(s.pop(), Err(Errno::ENOENT));
}

#[test]
fn bloom_filter() {
    let mut i = info(T::BloomFilter, 0, 4, 100, 0);
    i.map_extra = 3;
    let m = Map::new(MapId(0), i, 1, None, None).expect("bloom");
    for x in 0..50u32 {
        m.push(&k(x), BPF_ANY).expect("push");
    }
    for x in 0..50u32 {
        assert_eq!(m.bloom_contains(&k(x)), Ok(()), "no false negatives");
    }
    let absent = (1000..1100u32).filter(|x| m.bloom_contains(&k(*x)).is_err()).count();
    assert!(absent > 80, "few false positives: {absent}/100 absent");
    assert_eq!(m.push(&k(1), BPF_EXIST), Err(Errno::EINVAL));
    assert_eq!(m.delete(&[]), Err(Errno::EOPNOTSUPP));
    assert_eq!(m.get_next_key(None), Err(Errno::EOPNOTSUPP));
    assert!(m.entries().is_empty());
}

#[test]
fn spin_lock_values_and_bpf_f_lock() {
    let m = Map::new(MapId(0), info(T::Hash, 4, 8, 4, 0), 1, None, Some(0)).expect("lock map");
    m.update(&k(1), &[0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4], BPF_ANY).expect("update");
    assert_eq!(m.lookup(&k(1)), Ok(vec![0, 0, 0, 0, 1, 2, 3, 4]), "the lock reads as zero");
    m.update(&k(1), &[0, 0, 0, 0, 5, 6, 7, 8], BPF_F_LOCK).expect("locked update in place");
    assert_eq!(m.lookup_flags(&k(1), BPF_F_LOCK), Ok(vec![0, 0, 0, 0, 5, 6, 7, 8]));
    assert_eq!(m.update(&k(1), &[0; 8], BPF_F_LOCK | BPF_NOEXIST), Err(Errno::EEXIST));
    assert!(Map::new(MapId(0), info(T::Hash, 4, 8, 4, 0), 1, None, Some(6)).is_err(), "misaligned lock");
}

#[test]
fn access_flags_and_freezing() {
    let ro = mk(T::Array, 4, 4, 1, flags::RDONLY);
    assert_eq!(ro.update(&k(0), &[0; 4], 0), Err(Errno::EPERM));
    assert!(ro.lookup(&k(0)).is_ok());
    let wo = mk(T::Array, 4, 4, 1, flags::WRONLY);
    assert_eq!(wo.lookup(&k(0)), Err(Errno::EPERM));
    let f = mk(T::Array, 4, 4, 1, 0);
    f.update(&k(0), &[1; 4], 0).expect("before freeze");
    f.freeze();
    assert_eq!(f.update(&k(0), &[2; 4], 0), Err(Errno::EPERM));
    assert_eq!(f.lookup(&k(0)), Ok(vec![1; 4]));
    let rp = mk(T::Array, 4, 4, 1, flags::RDONLY_PROG);
    assert!(!rp.prog_writable() && rp.prog_readable());
}

#[test]
fn ring_buffer_from_user_space() {
    let m = mk(T::Ringbuf, 0, 0, 4096, 0);
    assert_eq!(m.lookup(&[]), Err(Errno::EOPNOTSUPP));
    assert_eq!(m.ringbuf_query(1), Some(4096));
    let rb = m.ringbuf().expect("ringbuf");
    let (a, _) = rb.reserve(3).expect("reserve");
    rb.finish(a, true).expect("submit");
    assert_eq!(m.ringbuf_pending(), vec![vec![0; 3]]);
    assert_eq!(m.ringbuf_consume(), vec![vec![0; 3]]);
    assert!(m.ringbuf_consume().is_empty());
}

#[test]
fn maps_are_shared_between_threads() {
    let m = std::sync::Arc::new(mk(T::Hash, 4, 8, 1024, 0));
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                for i in 0..256u32 {
                    let key = k(t * 256 + i);
                    m.update(&key, &v8(i as u64), BPF_ANY).expect("update");
                    assert_eq!(m.lookup(&key), Ok(v8(i as u64).to_vec()));
                    if i % 2 == 0 {
                        m.delete(&key).expect("delete");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(m.len(), 512);
}
