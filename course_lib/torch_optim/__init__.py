"""The course's update rules as ``torch.optim.Optimizer`` subclasses.

One module per rule, as in ``torch.optim``. Each class takes the same hyperparameters, with
the same names and defaults, as the matching NumPy factory in :mod:`course_lib.optim`, and
(with the torch-compatible settings) reproduces ``torch.optim`` step for step. They run on
any device and dtype (state follows the parameter), support parameter groups,
``step(closure)``, and ``state_dict()`` / ``load_state_dict()``.

``CLASSES`` maps the names of ``course_lib.optim.RULES`` to the classes.
"""

from .._requires import require_torch

require_torch("course_lib.torch_optim")

from ._base import RuleOptimizer  # noqa: E402  (after the check: a clear error first)
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .amsgrad import AMSGrad
from .momentum import Momentum
from .nadam import NAdam
from .nesterov import Nesterov
from .rmsprop import RMSprop
from .sgd import SGD

CLASSES = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
    "adam": Adam,
    "adamax": Adamax,
    "nadam": NAdam,
    "amsgrad": AMSGrad,
    "adamw": AdamW,
}

__all__ = [
    "CLASSES",
    "RuleOptimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "Adagrad",
    "RMSprop",
    "Adadelta",
    "Adam",
    "Adamax",
    "NAdam",
    "AMSGrad",
    "AdamW",
]
