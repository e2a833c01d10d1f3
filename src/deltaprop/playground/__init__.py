r"""``deltaprop playground``: a local web page where a network learns, and every step shows.

The learner picks a data set, a network, a loss and an optimiser, trains it and watches the
decision boundary, the loss curves and the weights; in step mode one batch is taken a phase
at a time, each with its equation in the chosen notation, the shapes and the matrices.  Every
number comes from the engine, through the explainer's recordings (``state.py``,
``stepping.py``); the page (``static/``) only draws.  ``server.py`` serves it (Starlette +
uvicorn, the ``playground`` extra); ``deltaprop.cli.playground`` starts it.

>>> from deltaprop.playground.state import Playground
>>> session = Playground()                 # moons, a 2-4-1 tanh/sigmoid network, SGD
>>> session.train(5)
>>> session.steps, sorted(session.history[-1])[:3]
(5, ['epoch', 'step', 'test_accuracy'])
"""

from __future__ import annotations

from .config import Config, PlaygroundInputError, parse_config
from .state import Playground

__all__ = ["Config", "Playground", "PlaygroundInputError", "parse_config"]
