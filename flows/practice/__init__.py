"""The practitioner's side: her commands, parsed and decided as plain, synchronous code."""
