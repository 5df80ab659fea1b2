"""Test-only workflow code: versions of a workflow for the upgrade test, and a deliberately broken
ApplicationWorkflow for the replay test. Never registered on a real worker."""
