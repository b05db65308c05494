//! Map semantics tests (user-space API).
