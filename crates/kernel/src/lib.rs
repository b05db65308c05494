//! bpfbox-kernel: the only crate that talks to the kernel. (Being written.)
