"""The must-show workload: runs x types x keys x steps, logged as a training script would."""

from __future__ import annotations

from typing import Any

from python_client import em

TYPES = ("train", "val")
KEYS = ("loss", "accuracy", "lr")


def log_runs(count: int = 3, steps: int = 1000, **create: Any) -> list[em.Run]:
    """``count`` runs of ``steps`` steps each, finished; ``create`` goes to ``em.create_run``."""
    runs = []
    for r in range(count):
        run = em.create_run(name=f"run{r}", hparams={"lr": 0.1 * (r + 1), "layers": [64, 32], "opt": "adam"},
                            labels=["must-show"], **create)
        run.params.epochs = steps // 100
        for step in range(steps):
            for kind in TYPES:
                run.log(kind, {"loss": 1 / (step + 1 + r), "accuracy": step / steps, "lr": 0.01 * (r + 1)},
                        step=step, epoch=step // 100)
        run.finish()
        runs.append(run)
    return runs
