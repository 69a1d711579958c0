"""The conversion child's output filter: TensorFlow's noise is dropped, everything else goes through."""

from __future__ import annotations

import subprocess
import sys

from tests.support.server import REPO

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796401697.503682   15382 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.",
    "2024-01-01 12:00:00.000000: I tensorflow/core/platform/cpu_feature_guard.cc:210] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
    "E0000 00:00:1732000000.000000  1234 cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting to register "
    "factory for plugin cuDNN when one has already been registered",
    "W0000 00:00:1732000000.000000  1234 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
]
KEPT = [
    "E0000 00:00:1732000000.000000  1234 op_kernel.cc:1830] OP_REQUIRES failed: a real error",
    "Traceback (most recent call last):",
    "WARNING: something else",
]

SCRIPT = """
import os, sys
from python_client.conversion.quiet import filter_output
lines = sys.argv[1:]
restore = filter_output((1, 2))
for line in lines:
    os.write(2, (line + "\\n").encode())  # as C++ code writes: to the descriptor
print("printed on stdout", flush=True)
os.write(2, b"a last line without its newline")
restore()
print("after restore", file=sys.stderr)
"""


def test_noise_is_dropped_and_the_rest_reaches_stderr_in_order() -> None:
    lines = [line for pair in zip(NOISE, KEPT + [""] * len(NOISE), strict=False) for line in pair if line]
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *lines], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    # A last line cut short still goes out (the next write continues it, as on any stream).
    assert proc.stderr.splitlines() == [*KEPT, "printed on stdout", "a last line without its newlineafter restore"]
