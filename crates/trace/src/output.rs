//! Output in bpftrace's format (to be written).
