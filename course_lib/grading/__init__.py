"""Grading support for the course's nbgrader assignments, in layers (each imports only the
ones above it):

- **checks**: ``core`` (the check engine: cases, tolerances, known mistakes, feedback, the
  :class:`~course_lib.grading.core.Check` record, the secret-seeded case generators) and one
  module per assignment, ``a1_gradient_descent`` ... ``a6_training`` (references, catalogue
  of mistakes, and ``GRADED``, the list of its checks); ``a6_drivers`` (the test harness
  that also runs inside the sandbox).
- **sandbox**: ``protocol`` (the wire format), ``worker`` (the process that runs student
  code), ``limits`` (cgroup budgets), ``student_view`` (course_lib as a submission sees
  it), ``sandbox`` (the confined process, from the grader's side).
- **policy**: what a submission may use, and its static inspection.
- ``repair`` (a submitted notebook matched to the release), ``text`` (student text made safe
  to show), ``results`` (the result of one submission, and its store).
- **runner**: grades a submission (repair -> sandbox -> checks here) or a class.
- **nbgrader_adapter**: the nbgrader plug-ins (exporter, preprocessors, settings);
  ``collect``: LMS download names for ``nbgrader zip_collect``.

The threat model and what each layer guarantees are in INSTRUCTORS.md, section 2.  Import
the submodule you need; this package imports nothing itself, so a graded notebook loads only
numpy and its own assignment's module.
"""
from .core import ASSIGNMENTS  # noqa: F401  (numpy only; cheap)
