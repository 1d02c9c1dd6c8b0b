"""Running tool calls (and, through a hook, programs): policies, pauses, resume."""

from executor_local.executions.service import CodeRunner, Decision, Executions

__all__ = ["CodeRunner", "Decision", "Executions"]
