"""Tests for the wire shapes (request bodies, chunk and body parsing)."""
