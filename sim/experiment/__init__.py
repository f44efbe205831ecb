"""Many replications: estimates with intervals, parameter sweeps, executors, results on disk."""
