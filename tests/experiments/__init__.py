"""Tests of experiments/, mirroring its subpackages."""
