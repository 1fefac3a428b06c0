"""A trained model as an HTTP endpoint that speaks MLflow's scoring protocol
(``ldnn serve MODEL``): :mod:`.formats` the bodies it takes, :mod:`.app` its answers,
:mod:`.server` the HTTP server. docs/serve.md says what it takes and answers."""

from .app import Answer, ServedModel
from .server import ModelServer, serve_until_stopped

__all__ = ["Answer", "ModelServer", "ServedModel", "serve_until_stopped"]
