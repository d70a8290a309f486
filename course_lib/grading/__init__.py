"""Grading support for the course's nbgrader assignments.

- ``course_lib.grading.core``: the check engine (cases, tolerances, known wrong variants,
  feedback messages) shared by every assignment.
- ``course_lib.grading.<assignment id>`` (``a1_gradient_descent`` ... ``a6_training``): the
  reference functions, the catalogue of known mistakes and the checks that the graded cells
  of that assignment call.
- ``course_lib.grading.nbgrader_ext``: nbgrader plug-ins (feedback without hidden tests).

Import the submodule you need; this package imports nothing itself, so a graded notebook
loads only numpy and its own assignment's module.
"""
from .core import ASSIGNMENTS  # noqa: F401  (numpy only; cheap)
