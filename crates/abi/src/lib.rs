//! bpfbox-abi
