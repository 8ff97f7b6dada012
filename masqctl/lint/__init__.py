"""Checks beyond the agent's own: each family of checks in its own module."""
