"""The lab's own controls: its settings, clock, deliberate flaws, seeded randomness, audit log and metrics."""
