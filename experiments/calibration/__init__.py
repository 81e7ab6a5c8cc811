"""Calibration scripts: each fits named parameters to stated targets by a committed, seeded search."""
