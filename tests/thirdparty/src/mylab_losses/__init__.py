"""A third party's concord components (test fixture)."""
