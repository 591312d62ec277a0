"""Index generations: immutable versions of the index and an atomically swapped pointer."""
