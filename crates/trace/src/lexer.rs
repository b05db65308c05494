//! Tokens of the bpftrace language (to be written).
