"""Keep TensorFlow's noise out of the server's and the training's logs.

TensorFlow 2.21 prints its start-up banner from C++ before its logging is configured (twice: once
per native library), so ``TF_CPP_MIN_LOG_LEVEL`` does not silence it (docs/conversion.md). The
conversion child (and only it: a dedicated process) therefore routes its file descriptors 1 and 2
through :func:`filter_output`, which drops TensorFlow's INFO/WARNING lines and its GPU probing
noise and passes everything else through. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, MutableMapping

#: Native log lines that are noise in a conversion process (errors and fatal lines pass through).
NOISE = re.compile(
    rb"^(?:"
    # absl's C++ log format: "I0000 00:00:1796401697.503682   15382 port.cc:153] oneDNN custom ..."
    rb"[IW]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] "
    # the format of TensorFlow before absl logging: "2024-01-01 12:00:00.000000: I tensorflow/..."
    rb"|\d{4}-\d\d-\d\d [\d:.]+: [IW] [\w./-]+:\d+\] "
    # GPU probing, also logged as errors when there is no GPU (CUDA_VISIBLE_DEVICES="")
    rb"|(?:E\d{4} [\d:.]+\s+\d+ |\d{4}-\d\d-\d\d [\d:.]+: E )[\w./-]+:\d+\] "
    rb"(?:Unable to register cu\w+ factory|failed call to cuInit|could not retrieve CUDA device)"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags"
    rb")"
)


def is_noise(line: bytes) -> bool:
    """True for a line of TensorFlow's start-up or GPU-probing noise."""
    return NOISE.match(line) is not None


def tensorflow_env(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Set, in a child process's environment, what TensorFlow reads at import; returns ``env``.

    Converting needs no GPU: a conversion process that took one would reserve memory the training
    (or serving) needs, and print its GPU probing.
    """
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's own INFO and WARNING lines off
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def quiet_python_logs() -> None:
    """absl, TensorFlow and tf2onnx loggers at ERROR, library warnings off (in a conversion process)."""
    for name in ("absl", "tensorflow", "tf2onnx"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for category in (UserWarning, DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    try:  # absl's own verbosity, which its handler reads (absl-py is light; absent without TensorFlow)
        from absl import logging as absl_logging
    except ImportError:
        return
    absl_logging.set_verbosity(absl_logging.ERROR)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def filter_output(fds: tuple[int, ...] = (1, 2)) -> Callable[[], None]:
    """Route file descriptors ``fds`` through a thread that drops :data:`NOISE` lines on their way
    to this process's stderr. Returns the function that restores them and flushes what is pending.

    File descriptors, not ``sys.stderr``: TensorFlow's C++ code writes to descriptor 2 directly.
    """
    real = os.dup(2)
    read_end, write_end = os.pipe()
    for fd in fds:
        os.dup2(write_end, fd)
    os.close(write_end)

    def pump() -> None:
        with open(read_end, "rb") as lines:
            for line in lines:
                if not is_noise(line):
                    _write_all(real, line)

    thread = threading.Thread(target=pump, name="plume-output-filter", daemon=True)
    thread.start()

    def restore() -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for fd in fds:
            os.dup2(real, fd)  # the pipe's last write end closes: the pump reads EOF
        thread.join(5.0)

    return restore


class _DropLegacyH5Warning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "HDF5 file via `model.save()`" not in record.getMessage()


@contextlib.contextmanager
def quiet_h5() -> Iterator[None]:
    """Keras warns that HDF5 is legacy on every ``.h5`` save: noise in a training log, once per epoch
    (tensorflowjs saves a temporary ``.h5`` itself)."""
    absl = logging.getLogger("absl")
    flt = _DropLegacyH5Warning()
    absl.addFilter(flt)
    try:
        yield
    finally:
        absl.removeFilter(flt)
