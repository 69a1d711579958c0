"""``python_client.em``: experiment tracking with t9k's ``em`` API, offline first.

    from python_client import em

    em.login("http://localhost:3030")                    # or $PLUME_URL / $PLUME_API_KEY
    run = em.create_run(name="mnist", hparams={"lr": 1e-3}, auto_upload=True, folder="cv/mnist",
                        make_folder=True)
    for step in range(100):
        run.log("train", {"loss": 1 / (step + 1)}, step=step)
    run.finish()

Runs and artifacts are written to local folders first (``$EM_RUN_PARENT_DIR``, default
``.em/runs``; ``$EM_ARTIFACT_PARENT_DIR``, default ``.em/artifacts``); ``auto_upload`` keeps the
server up to date in the background, and :func:`upload` sends what did not get through.
"""

from .api import create_artifact, create_run, load_artifact, load_run, login, logout, upload
from .artifact import Artifact
from .download import ChecksumMismatch
from .login_errors import LoginFailed
from .params import Params
from .run import Run

__all__ = ["Artifact", "ChecksumMismatch", "LoginFailed", "Params", "Run", "create_artifact", "create_run",
           "load_artifact", "load_run", "login", "logout", "upload"]
