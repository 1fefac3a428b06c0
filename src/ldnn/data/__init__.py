"""Data sets: generated ones (planar-style flowers, spirals, XOR, parity), bundled ones
and file readers. Arrays come back in the notes' layout: X of shape (n[0], m), one
example per column, and Y of shape (1, m)."""

from .synthetic import make_parity, make_spirals, make_xor

__all__ = ["make_parity", "make_spirals", "make_xor"]
