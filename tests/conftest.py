"""What the suite shares: ``tools/`` on ``sys.path``, the ``slow`` marker, and the tables
and fixtures that more than one test module uses.

- ``tools/`` (scripts, not a package) goes on ``sys.path``, so a test imports the tool it
  checks by name (``import sync_notebooks``).
- ``slow`` (registered in pyproject.toml) marks the tests that build or execute the book,
  run nbgrader or start sandboxes; ``pytest -m "not slow"`` is the quick local subset, and
  ``make test`` runs everything. Modules whose every test is slow are marked here, by name.
- The update-rule tables: the names come from ``course_lib.optim.RULES`` and the torch twins
  from ``course_lib.torch_optim.TORCH_TWINS``; :data:`TORCH_SETTINGS` and :data:`RICH` are
  hyperparameters for them, used by tests/test_optim.py (the NumPy rules) and
  tests/test_torch_optim.py (the torch ports) alike. torch is imported only where needed.
"""

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

# Modules whose every test is slow, and fixtures that make a test slow; other slow tests
# carry the marker themselves.
SLOW_MODULES = {"test_portability.py", "test_sandbox.py", "test_runner.py",
                "test_adversarial.py"}
SLOW_FIXTURES = {"built_book"}  # the whole book, executed and built (minutes)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_MODULES or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


# --- update rules ---------------------------------------------------------------------------
# Several settings per rule, every one expressible in torch.optim (with the twin's keywords
# added): weight decay, dampening, centered/momentum RMSprop, Nesterov, lr_decay,
# initial_accumulator_value, AMSGrad, NAdam's momentum_decay and decoupled decay, maximize.
TORCH_SETTINGS = {
    "sgd": [
        {"lr": 0.05},
        {"lr": 0.02, "weight_decay": 0.3},
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "maximize": True},
    ],
    "momentum": [
        {"lr": 0.01},
        {"lr": 0.02, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1},
        {"lr": 0.03, "momentum": 0.0, "dampening": 0.5},  # torch ignores dampening at mu = 0
        {"lr": 0.03, "momentum": 0.8, "dampening": 0.8},
    ],
    "nesterov": [
        {"lr": 0.01},
        {"lr": 0.02, "momentum": 0.6, "weight_decay": 0.2},
        {"lr": 0.02, "momentum": 0.99, "weight_decay": 0.1, "maximize": True},
    ],
    "adagrad": [
        {},
        {"lr": 0.3, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.4,
         "eps": 1e-6},
        {"lr": 0.5, "initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True},
    ],
    "rmsprop": [
        {},
        {"centered": True, "alpha": 0.9},
        {"lr": 1e-3, "momentum": 0.9},
        {"lr": 3e-3, "momentum": 0.5, "centered": True, "weight_decay": 0.1, "eps": 1e-4,
         "maximize": True},
    ],
    "adadelta": [
        {},
        {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1},
        {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "maximize": True},
    ],
    "adam": [
        {"lr": 0.01},
        {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-5, "weight_decay": 0.1, "amsgrad": True},
        {"lr": 0.01, "betas": (0.0, 0.9)},
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
    ],
    "adamax": [
        {},
        {"lr": 0.01, "betas": (0.7, 0.95), "eps": 1e-3, "weight_decay": 0.2},
        {"lr": 0.01, "weight_decay": 0.1, "maximize": True},
    ],
    "nadam": [
        {},
        {"momentum_decay": 0.0},
        {"lr": 0.01, "betas": (0.8, 0.99), "momentum_decay": 0.05, "weight_decay": 0.1},
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
    ],
    "amsgrad": [
        {},
        {"lr": 0.05, "weight_decay": 0.2},
        {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-6, "weight_decay": 0.1, "maximize": True},
    ],
    "adamw": [
        {},
        {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True, "betas": (0.85, 0.98)},
        {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.0, "maximize": True},
    ],
}
TORCH_CASES = [(name, hp) for name, settings in TORCH_SETTINGS.items() for hp in settings]
TORCH_CASE_IDS = [f"{name}-{i}" for name, settings in TORCH_SETTINGS.items()
                  for i in range(len(settings))]

# One non-default, torch-expressible setting per rule that exercises every state entry (and,
# for adagrad and adamw, an lr_decay and a decoupled decay, both of which use lr).
RICH = {
    "sgd": {"lr": 0.05, "weight_decay": 0.1},
    "momentum": {"lr": 0.05, "momentum": 0.8, "dampening": 0.2, "weight_decay": 0.01},
    "nesterov": {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01},
    "adagrad": {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
    "rmsprop": {"lr": 1e-3, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
    "adadelta": {"lr": 0.5, "rho": 0.95, "weight_decay": 0.01},
    "adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01},
    "adamax": {"lr": 0.01, "weight_decay": 0.01},
    "nadam": {"lr": 0.01, "weight_decay": 0.01},
    "amsgrad": {"lr": 0.01, "betas": (0.8, 0.99)},
    "adamw": {"lr": 0.01, "amsgrad": True},
}

# The switches course_lib has beyond torch, at the values that give torch's behaviour.
COURSE_SWITCHES = {"eps_inside": False, "bias_correction": True, "constant_momentum": False}


def torch_twin(name, hp):
    """The ``torch.optim`` class and keywords that compute rule ``name`` with ``hp``."""
    from course_lib.torch_optim import TORCH_TWINS

    cls, extra = TORCH_TWINS[name]
    return cls, {**extra, **hp}


@contextlib.contextmanager
def torch_default_dtype(dtype):
    """torch's default dtype set to ``dtype`` for the block. torch.optim.NAdam keeps its
    momentum product in a tensor of the default dtype: only under float64 does it round
    like course_lib's Python float."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for the module: the tensors in these tests are tiny, extra
    threads only add synchronisation, and on a busy 2-core machine their spinning made the
    tests several times slower."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


# --- torch's own optimizer test inputs ------------------------------------------------------
# torch.testing._internal.common_optimizers.optim_db lists the inputs torch tests its
# optimizers with. Importing it takes seconds and changes the process (it freezes
# torch.backends flags and adds warning filters), so a subprocess reads the configurations
# of these classes and hands them over as JSON.
OPTIM_DB_CLASSES = ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "Adamax", "NAdam", "AdamW")

_OPTIM_DB_SCRIPT = """
import json, sys, torch
from torch.testing._internal.common_optimizers import optim_db

def encode(value):
    if isinstance(value, torch.Tensor):
        return {"tensor": value.item(), "dtype": str(value.dtype).removeprefix("torch.")}
    return value

print(json.dumps([
    [info.optim_cls.__name__, inputs.desc, {k: encode(v) for k, v in inputs.kwargs.items()}]
    for info in optim_db if info.optim_cls.__name__ in sys.argv[1:]
    for inputs in info.optim_inputs_func(device="cpu")
    if inputs.params is None
]))
"""


@pytest.fixture(scope="session")
def optim_db(request):
    """``[(torch class name, description, keyword arguments)]``: the CPU configurations of
    :data:`OPTIM_DB_CLASSES` in torch's optimizer test database (a Tensor ``lr`` comes back
    as a Tensor of its dtype, ``betas`` as a tuple). Kept in pytest's cache per torch
    version, since reading them takes a subprocess several seconds."""
    import torch

    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    key = f"course_lib/optim_db/torch-{torch.__version__}"
    raw = cache.get(key, None) if cache is not None else None
    if raw is None:
        raw = json.loads(subprocess.run(
            [sys.executable, "-c", _OPTIM_DB_SCRIPT, *OPTIM_DB_CLASSES],
            capture_output=True, text=True, check=True, timeout=300).stdout)
        if cache is not None:
            cache.set(key, raw)

    def decode(value):
        if isinstance(value, dict):
            return torch.tensor(value["tensor"], dtype=getattr(torch, value["dtype"]))
        return tuple(value) if isinstance(value, list) else value

    return [(cls, desc, {k: decode(v) for k, v in kwargs.items()}) for cls, desc, kwargs in raw]


def optim_db_problem(seed=0, steps=10):
    """A start point (float64, shape (3, 4)) and a gradient function ``grad(w, k)`` for
    ``steps`` steps: a pull towards 0 plus seeded noise of changing scale, so that every
    step depends on the ones before."""
    import numpy as np

    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((3, 4))
    noise = [rng.standard_normal((3, 4)) * 10.0 ** (k % 3 - 1) for k in range(steps)]
    return w0, lambda w, k: 0.5 * w + noise[k], steps


def run_torch_optimizer(cls, kwargs, w0, grad, steps, scheduler=None):
    """Iterates (steps, *w0.shape) of ``cls([p], **kwargs)`` fed with ``grad(w, k)``, in
    float64 (the default dtype too, for NAdam's momentum product); ``scheduler(opt)``, if
    given, makes an lr scheduler stepped after every step."""
    import numpy as np
    import torch

    with torch_default_dtype(torch.float64):
        p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
        opt = cls([p], **kwargs)
        sched = scheduler(opt) if scheduler else None
        out = []
        for k in range(steps):
            p.grad = torch.from_numpy(grad(p.detach().numpy().copy(), k))
            opt.step()
            if sched:
                sched.step()
            out.append(p.detach().numpy().copy())
    return np.array(out)
