//! Map types (kernel `enum bpf_map_type`) with their numbers. (Being written.)
