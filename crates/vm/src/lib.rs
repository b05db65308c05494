//! bpfbox-vm
