"""GPUs and MIG: one back-end interface (NVML or a simulated set), a pure MIG planner,
the apply transaction, and the daemon's 1 s sampler. No Qt here."""
