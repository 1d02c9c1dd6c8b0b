"""The first-launch sequence (design §2): locate, own, recover, back up, migrate, serve."""
