"""The workflow sandbox, with its code strings compiled once.

The SDK's sandbox (temporalio 1.35) runs a short code string with `exec` for every activation and
for every payload sequence it encodes or decodes (to ask the sandboxed workflow for the payloads'
serialization context); `exec` of a string compiles it again each time: 25 µs where running the
compiled code takes 1.5 µs. At 10,000 applications that compiling was about a tenth of the
worker's samples (docs/performance.md). Here each distinct string is compiled once and the same
code object runs: the sandbox, its restrictions and what runs inside are the SDK's, unchanged.

It reaches into the SDK's private `_Instance`; tests/infra/test_workflow_runner.py fails if a
new SDK version no longer has what this relies on.
"""

from dataclasses import dataclass
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

_COMPILED: dict[str, CodeType] = {}  # a handful of strings (they name the workflow's module and class)


class _CompiledOnce(_Instance):
    def _run_code(self, code: Any, **extra_globals: Any) -> None:
        if isinstance(code, str):
            compiled = _COMPILED.get(code)
            if compiled is None:
                compiled = _COMPILED.setdefault(code, compile(code, "<string>", "exec"))
            code = compiled
        super()._run_code(code, **extra_globals)


@dataclass(frozen=True)
class CompiledSandboxRunner(SandboxedWorkflowRunner):
    """SandboxedWorkflowRunner whose instances do not compile the same code string twice."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledOnce(det, self.runner_class, self.restrictions)


def compiled_strings() -> int:
    """How many distinct code strings were compiled (for tests: a few, however many workflows ran)."""
    return len(_COMPILED)
