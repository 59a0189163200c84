//! JSON-lines files with size-based rotation and gzip compression of rotated files.
