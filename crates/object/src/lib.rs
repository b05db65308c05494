//! bpfbox-object
