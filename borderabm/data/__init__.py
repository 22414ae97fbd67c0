"""Shipped input files: the scenarios, sweep files and calibration specs (TOML), as package data."""
