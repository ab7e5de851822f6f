"""Seed flows for the kitaru-mcp test harness (copied into the project folder)."""
