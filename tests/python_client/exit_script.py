"""A training script that uses the Writer directly and ends right after ``train_end()`` (run by the tests).

    python -m tests.python_client.exit_script URL LOG_DIR [--exit-timeout S] [--timeout S]

It never calls ``wait_for_uploads()`` nor ``close()``, as a Marcelle ``Writer`` script would not:
whatever the sender has not sent when the interpreter exits is up to the Writer's exit flush.
Prints the run folder.
"""

from __future__ import annotations

import argparse
import sys

from python_client import Writer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("logs")
    parser.add_argument("--exit-timeout", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    writer = Writer("exit", args.url, base_log_dir=args.logs, timeout=args.timeout, exit_timeout=args.exit_timeout)
    writer.create_run(run_params={"a": 1})
    writer.train_begin(3)
    for epoch in range(1, 4):
        writer.save_epoch(epoch, {"loss": 1.0 / epoch})
    writer.train_end()
    print(writer.log_folder, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
