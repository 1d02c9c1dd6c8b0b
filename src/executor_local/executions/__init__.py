"""Running tool calls and programs: policies, pauses and resume, and the code-mode sandbox."""
