"""Reading inputs the way the agent reads its config."""
