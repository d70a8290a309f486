"""course_lib: reference implementations for the course *Optimization for Deep Learning*.

Submodules (import what you need):

- ``course_lib.optim``        pure NumPy update rules (``init``/``step`` pairs)
- ``course_lib.torch_optim``  the same rules as ``torch.optim.Optimizer`` subclasses
- ``course_lib.schedules``    learning-rate schedules ``lr(k)``
- ``course_lib.surfaces``     test functions with analytic gradients
- ``course_lib.gradcheck``    numerical gradients and relative errors
- ``course_lib.layers``       forward/backward layers (affine, ReLU, batch/layer norm)
- ``course_lib.models``, ``course_lib.train``  a small MLP and its training loop
- ``course_lib.data``         digits (offline) and Fashion-MNIST (IDX, checksummed)
- ``course_lib.plotting``     contour trajectories, learning curves, schedules
- ``course_lib.gpu``          the torch training loop and device helpers (chapter 13)
- ``course_lib.distributed``  data-parallel SGD, ring all-reduce, Hogwild! on torch.distributed
- ``course_lib.grading``      the autograder: checks, sandbox, runner, nbgrader plug-ins
"""

__version__ = "0.1.0"
