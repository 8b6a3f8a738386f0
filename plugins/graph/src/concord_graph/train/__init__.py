"""Training loops behind ``concord graph train``: node contrast (GRACE / GCA / POT) and
heterogeneous contrast (MEOW / AdaMEOW)."""
