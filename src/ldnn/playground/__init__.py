"""``ldnn playground``: a local page that trains ldnn's own network as you watch, in
the notes' notation. :mod:`.datasets` the sets of the plane, :mod:`.settings` what the
page may set, :mod:`.build` the run those settings describe (as ``ldnn train`` makes
it), :mod:`.session` the thread that trains it, :mod:`.frames` what the page draws,
:mod:`.export` what reproduces it, :mod:`.course` the notes' view of one step and
the gradient check, :mod:`.upload` an uploaded CSV and its run, :mod:`.plane` the plane
the pictures lie in (an upload's principal components), :mod:`.parity` and
:mod:`.hierarchy` the parity and feature-hierarchy pages, :mod:`.app` the answers to the
page's requests (served by :class:`ldnn.serve.server.AppServer`). docs/playground.md."""

from .app import MAX_BODY, SECURITY, PlaygroundApp
from .session import Session

__all__ = ["MAX_BODY", "SECURITY", "PlaygroundApp", "Session"]
