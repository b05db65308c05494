//! Program types and attach types (kernel `enum bpf_prog_type`), and libbpf section names. (Being written.)
