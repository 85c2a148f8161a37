"""Chaos suite: faults, crashes, hostile servers and hostile input, bounded and loopback only."""
