//! Standard output.
