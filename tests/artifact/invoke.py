"""Runs inside the Lambda runtime virtualenv: import one handler as Lambda's bootstrap does, invoke it once.

Standard library only, because that and the runtime's boto3 are all there is: the code under test
comes from ``PYTHONPATH`` (the function's asset, then its layers' ``python/``), exactly as Lambda
puts ``/var/task`` and ``/opt/python`` on ``sys.path``. Started with ``-P`` so this file's own
folder is not on ``sys.path``.

Reads one JSON request on stdin: ``handler`` (``module.function``, as in the template), ``event``,
``function_name``, ``memory_mb``, ``timeout_s``. Prints whatever the handler logs, then one line
``ARTIFACT-RESULT <json>``: ``phase`` ("import" or "invoke") and either ``result`` or ``error``
(the traceback), plus what the test checks about the import: the interpreter's version, modules
loaded from outside the allowed folders, and layer modules imported without their byte code.
"""

import importlib
import importlib.util
import json
import os
import sys
import sysconfig
import time
import traceback
import uuid

MARKER = "ARTIFACT-RESULT "


class LambdaContext:
    """The attributes of Lambda's context object that the handlers and Powertools read.

    A stand-in for ``local.events.LambdaContext``, which cannot be imported here (its module needs
    PyJWT, which the runtime does not have).
    """

    def __init__(self, function_name: str, memory_mb: int, timeout_s: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"artifact/{self.aws_request_id}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until this invocation's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _allowed_roots() -> list[str]:
    """The interpreter's own library, the runtime venv's site-packages, and PYTHONPATH."""
    paths = sysconfig.get_paths()
    roots = {paths["stdlib"], paths["platstdlib"], paths["purelib"], paths["platlib"]}
    roots.update(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    return sorted(os.path.realpath(r) for r in roots)


def _import_report(layer_roots: list[str]) -> dict:
    """Modules from anywhere else (a leak), and layer modules whose cpython-3XY byte code is missing."""
    allowed = _allowed_roots()
    foreign, without_bytecode = [], []
    for name, module in list(sys.modules.items()):
        source = getattr(module, "__file__", None)
        if not source or name == "__main__":  # this file
            continue
        real = os.path.realpath(source)
        if not any(real.startswith(root + os.sep) for root in allowed):
            foreign.append(f"{name}: {real}")
        elif (
            real.endswith(".py")
            and any(real.startswith(root + os.sep) for root in layer_roots)
            and not os.path.exists(importlib.util.cache_from_source(real))
        ):
            without_bytecode.append(name)
    return {"foreign_modules": sorted(foreign), "layer_modules_without_bytecode": sorted(without_bytecode)}


def main() -> None:
    request = json.loads(sys.stdin.read())
    module_name, _, function_name = request["handler"].rpartition(".")
    layer_roots = [os.path.realpath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)[1:] if p]
    report: dict = {"python": f"{sys.version_info[0]}.{sys.version_info[1]}", "phase": "import"}
    try:
        started = time.perf_counter()
        handler = getattr(importlib.import_module(module_name), function_name)
        report["import_ms"] = (time.perf_counter() - started) * 1000
        report.update(_import_report(layer_roots))
        report["phase"] = "invoke"
        context = LambdaContext(request["function_name"], request["memory_mb"], request["timeout_s"])
        report["result"] = handler(request["event"], context)
    except Exception:
        report["error"] = traceback.format_exc()
    sys.stdout.flush()
    print(MARKER + json.dumps(report, default=str), flush=True)


if __name__ == "__main__":
    main()
