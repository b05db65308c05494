//! Map types: the kernel's `enum bpf_map_type` with its numbers, and the names
//! bpftool prints for them (`libbpf_bpf_map_type_str`).
//!
//! Numbers come from `include/uapi/linux/bpf.h` (6.x); `CgrpStorage` and `Arena`
//! are the 6.2 and 6.9 additions.

/// `enum bpf_map_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum MapType {
    Unspec = 0,
    Hash = 1,
    Array = 2,
    ProgArray = 3,
    PerfEventArray = 4,
    PercpuHash = 5,
    PercpuArray = 6,
    StackTrace = 7,
    CgroupArray = 8,
    LruHash = 9,
    LruPercpuHash = 10,
    LpmTrie = 11,
    ArrayOfMaps = 12,
    HashOfMaps = 13,
    Devmap = 14,
    Sockmap = 15,
    Cpumap = 16,
    Xskmap = 17,
    Sockhash = 18,
    CgroupStorage = 19,
    ReuseportSockarray = 20,
    PercpuCgroupStorage = 21,
    Queue = 22,
    Stack = 23,
    SkStorage = 24,
    DevmapHash = 25,
    StructOps = 26,
    Ringbuf = 27,
    InodeStorage = 28,
    TaskStorage = 29,
    BloomFilter = 30,
    UserRingbuf = 31,
    CgrpStorage = 32,
    Arena = 33,
}

/// Every map type, in number order (`ALL[n] as u32 == n`).
pub const ALL: [MapType; 34] = [
    MapType::Unspec,
    MapType::Hash,
    MapType::Array,
    MapType::ProgArray,
    MapType::PerfEventArray,
    MapType::PercpuHash,
    MapType::PercpuArray,
    MapType::StackTrace,
    MapType::CgroupArray,
    MapType::LruHash,
    MapType::LruPercpuHash,
    MapType::LpmTrie,
    MapType::ArrayOfMaps,
    MapType::HashOfMaps,
    MapType::Devmap,
    MapType::Sockmap,
    MapType::Cpumap,
    MapType::Xskmap,
    MapType::Sockhash,
    MapType::CgroupStorage,
    MapType::ReuseportSockarray,
    MapType::PercpuCgroupStorage,
    MapType::Queue,
    MapType::Stack,
    MapType::SkStorage,
    MapType::DevmapHash,
    MapType::StructOps,
    MapType::Ringbuf,
    MapType::InodeStorage,
    MapType::TaskStorage,
    MapType::BloomFilter,
    MapType::UserRingbuf,
    MapType::CgrpStorage,
    MapType::Arena,
];

impl MapType {
    /// The map type with kernel number `n`.
    pub fn from_u32(n: u32) -> Option<MapType> {
        ALL.get(n as usize).copied()
    }

    /// The name bpftool prints (`bpftool map show`), e.g. `percpu_array`.
    pub const fn name(self) -> &'static str {
        use MapType::*;
        match self {
            Unspec => "unspec",
            Hash => "hash",
            Array => "array",
            ProgArray => "prog_array",
            PerfEventArray => "perf_event_array",
            PercpuHash => "percpu_hash",
            PercpuArray => "percpu_array",
            StackTrace => "stack_trace",
            CgroupArray => "cgroup_array",
            LruHash => "lru_hash",
            LruPercpuHash => "lru_percpu_hash",
            LpmTrie => "lpm_trie",
            ArrayOfMaps => "array_of_maps",
            HashOfMaps => "hash_of_maps",
            Devmap => "devmap",
            Sockmap => "sockmap",
            Cpumap => "cpumap",
            Xskmap => "xskmap",
            Sockhash => "sockhash",
            CgroupStorage => "cgroup_storage",
            ReuseportSockarray => "reuseport_sockarray",
            PercpuCgroupStorage => "percpu_cgroup_storage",
            Queue => "queue",
            Stack => "stack",
            SkStorage => "sk_storage",
            DevmapHash => "devmap_hash",
            StructOps => "struct_ops",
            Ringbuf => "ringbuf",
            InodeStorage => "inode_storage",
            TaskStorage => "task_storage",
            BloomFilter => "bloom_filter",
            UserRingbuf => "user_ringbuf",
            CgrpStorage => "cgrp_storage",
            Arena => "arena",
        }
    }

    /// The map type bpftool calls `name`.
    pub fn from_name(name: &str) -> Option<MapType> {
        ALL.iter().copied().find(|t| t.name() == name)
    }

    /// The bpftool name of kernel map type number `n`, `"unknown"` for a number
    /// this table does not know.
    pub fn name_of(n: u32) -> &'static str {
        MapType::from_u32(n).map_or("unknown", MapType::name)
    }

    /// Whether values are per CPU (user space sees every CPU's value, each
    /// rounded up to 8 bytes, one after the other).
    pub const fn is_percpu(self) -> bool {
        matches!(
            self,
            MapType::PercpuHash | MapType::PercpuArray | MapType::LruPercpuHash | MapType::PercpuCgroupStorage
        )
    }

    /// Whether the map's values are maps (`array_of_maps`, `hash_of_maps`).
    pub const fn is_map_in_map(self) -> bool {
        matches!(self, MapType::ArrayOfMaps | MapType::HashOfMaps)
    }
}

impl std::fmt::Display for MapType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_kernel_enum() {
        for (i, t) in ALL.iter().enumerate() {
            assert_eq!(*t as u32, i as u32, "{t}");
            assert_eq!(MapType::from_u32(i as u32), Some(*t));
            assert_eq!(MapType::from_name(t.name()), Some(*t));
        }
        assert_eq!(MapType::Hash as u32, 1);
        assert_eq!(MapType::LpmTrie as u32, 11);
        assert_eq!(MapType::Queue as u32, 22);
        assert_eq!(MapType::Ringbuf as u32, 27);
        assert_eq!(MapType::BloomFilter as u32, 30);
        assert_eq!(MapType::UserRingbuf as u32, 31);
        assert_eq!(MapType::from_u32(34), None);
        assert_eq!(MapType::name_of(6), "percpu_array");
        assert_eq!(MapType::name_of(999), "unknown");
        let mut names: Vec<_> = ALL.iter().map(|t| t.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn percpu_kinds() {
        assert!(MapType::PercpuArray.is_percpu());
        assert!(MapType::LruPercpuHash.is_percpu());
        assert!(!MapType::Hash.is_percpu());
        assert!(MapType::HashOfMaps.is_map_in_map());
    }
}
