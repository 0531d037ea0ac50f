"""SpiffWorkflow integration. Nothing outside `workflows` drives the engine directly."""
