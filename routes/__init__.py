"""Street network and walk-route planning."""
