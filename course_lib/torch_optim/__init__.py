"""The course's update rules as ``torch.optim.Optimizer`` subclasses: drop-ins for torch's.

Each class takes the same hyperparameters, with the same names and defaults, as the matching
NumPy factory in :mod:`course_lib.optim` and as its ``torch.optim`` twin (``maximize``, a
Tensor ``lr`` and torch's implementation keywords included, see
:mod:`course_lib.torch_optim._base`), and reproduces ``torch.optim`` step for step. They run
on any device and dtype (state follows the parameter), support parameter groups,
``step(closure)``, and ``state_dict()`` / ``load_state_dict()``. As in torch, variants are
their base class with a switch: :class:`Momentum` and :class:`Nesterov` are :class:`SGD`,
:class:`AMSGrad` and :class:`AdamW` are :class:`Adam`.

:data:`TWINS` is the one table beside the ports: for each name of ``course_lib.optim.RULES``,
the class here and the ``torch.optim`` class and keywords that select the same rule.
:data:`CLASSES` and :data:`TORCH_TWINS` are its two halves.
"""

from .._requires import require_torch

torch = require_torch("course_lib.torch_optim")

from .. import optim  # noqa: E402  (after the check: a clear error first)
from ._base import RuleOptimizer  # noqa: E402
from .adadelta import Adadelta  # noqa: E402
from .adagrad import Adagrad  # noqa: E402
from .adam import AMSGrad, Adam, AdamW  # noqa: E402
from .adamax import Adamax  # noqa: E402
from .nadam import NAdam  # noqa: E402
from .rmsprop import RMSprop  # noqa: E402
from .sgd import SGD, Momentum, Nesterov  # noqa: E402

# name -> (our class, the torch.optim class, the torch keywords that select the same rule).
# The course's momentum and nesterov default to momentum=0.9, torch's SGD to momentum=0.
TWINS = {
    "sgd": (SGD, torch.optim.SGD, {}),
    "momentum": (Momentum, torch.optim.SGD, {"momentum": 0.9}),
    "nesterov": (Nesterov, torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (Adagrad, torch.optim.Adagrad, {}),
    "rmsprop": (RMSprop, torch.optim.RMSprop, {}),
    "adadelta": (Adadelta, torch.optim.Adadelta, {}),
    "adam": (Adam, torch.optim.Adam, {}),
    "adamax": (Adamax, torch.optim.Adamax, {}),
    "nadam": (NAdam, torch.optim.NAdam, {}),
    "amsgrad": (AMSGrad, torch.optim.Adam, {"amsgrad": True}),
    "adamw": (AdamW, torch.optim.AdamW, {}),
}
if list(TWINS) != list(optim.RULES):  # pragma: no cover - a rule added on one side only
    raise ImportError("course_lib.torch_optim.TWINS must list the names of optim.RULES, in order")

#: name -> our class
CLASSES = {name: ours for name, (ours, _, _) in TWINS.items()}
#: name -> (torch.optim class, keywords)
TORCH_TWINS = {name: (cls, dict(kwargs)) for name, (_, cls, kwargs) in TWINS.items()}

__all__ = [
    "TWINS",
    "CLASSES",
    "TORCH_TWINS",
    "RuleOptimizer",
    *(cls.__name__ for cls in CLASSES.values()),
]
