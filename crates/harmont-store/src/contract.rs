//! Placeholder; the contract suite lands with the backends.
