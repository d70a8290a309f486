"""nbgrader configuration of the course (instructor side).

solutions/<id>/<id>.ipynb (source, with solutions and hidden tests)
  -> `nbgrader generate_assignment` -> assignments/<id>/<id>.ipynb (release, committed)
Submissions, autograded notebooks, feedback and the gradebook live under grading/
(git-ignored).  tools/grade.py drives the standard nbgrader commands; the instructor's guide
is INSTRUCTORS.md.

Autograding is sandboxed (course_lib.grading): `nbgrader autograde` does not run the
submission in a Jupyter kernel.  The student's code runs in a separate, resource-limited
process; the graded functions are called there on inputs the grader chooses, and only their
return values come back to the checks, which run here.
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

# nbgrader validates every notebook several times; nbformat's fastjsonschema validator (one
# of nbformat's own dependencies) halves the time of an autograde run against jsonschema.
os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")

_here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "opt4dl"
c.CourseDirectory.root = _here
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_here, "grading", "gradebook.db")
# The authored MyST sources (<id>.md) stay with the instructor: not released, not copied
# over submissions.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.md"]

# Releases carry no header/footer; stubs raise NotImplementedError (ClearSolutions default)
# and written answers become "YOUR ANSWER HERE".
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# ---- Tamper-proof autograding, through nbgrader's own extension points -------------------
# 1. Reading: a file that is not a notebook gets a zero with the reason, not a lost row.
c.Autograde.exporter_class = "course_lib.grading.nbgrader_adapter.TolerantNotebookExporter"
# 2. Repair first: cells matched to the release (by metadata, else by content and position),
#    metadata restored, so that nbgrader's own steps work on notebooks Colab stripped or
#    whose cells were reordered, duplicated, deleted or changed type.
c.Autograde.sanitize_preprocessors = [
    "course_lib.grading.nbgrader_adapter.RepairSubmission",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# 3. Grading: SandboxedAutograde replaces nbgrader's Execute (the in-kernel run); the rest
#    is nbgrader's default chain (scores into the gradebook, late penalties, ...).
c.Autograde.autograde_preprocessors = [
    "course_lib.grading.nbgrader_adapter.SandboxedAutograde",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Limits of the sandbox: each is defined once, with its default and meaning, in
# course_lib/grading/sandbox.py (SandboxConfig) or runner.py (GradingConfig), and can be
# set here, e.g. (a cell over its limit is skipped and noted, a call over it costs that
# part only; a blocked call is stopped after 3x its limit):
#   c.SandboxedAutograde.cell_timeout = 60.0        # seconds one cell may compute
#   c.SandboxedAutograde.call_timeout = 20.0        # seconds one graded call may compute
#   c.SandboxedAutograde.submission_timeout = 900.0 # seconds for all of one submission
#   c.SandboxedAutograde.memory_bytes = 6 << 30     # memory of the whole submission
# `python -c "from course_lib.grading import nbgrader_adapter as n; n.print_settings()"`
# lists every setting.
# The hidden cases' seed is not in the repository: $OPT4DL_GRADING_SEED, else the number in
# grading/grading_seed (created at random on first use; keep it to re-grade identically).

# Restore test cells a student deleted (OverwriteCells already restores edited ones).
c.OverwriteCells.add_missing_cells = True
# Only Execute would produce warnings on stderr; kept for a course that switches back.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m)^.*:\d+: \w*Warning: "
# In-kernel autograde (nbgrader's Execute), used only by `nbgrader validate` and by a course
# that removes the sandbox above: a runaway cell costs at most this long.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Feedback: hidden test code is cleared (ClearHiddenTests) and error tracebacks are cut to
# the check's message (which names the mistake), so the hidden tests stay hidden.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course_lib.grading.nbgrader_adapter.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

c.ExportApp.plugin_class = "nbgrader.plugins.export.CsvExportPlugin"
# A plain `nbgrader export` would write grades.csv into the working folder (the repository
# root, which git does not ignore: students' grades in a commit). grading/ is ignored.
c.CsvExportPlugin.to = os.path.join(_here, "grading", "grades.csv")
# LMS archive: put the downloaded zip(s) in grading/downloaded/<id>/archive/, then
# `tools/grade.py zip-collect <id>` (nbgrader zip_collect) extracts them and copies each
# notebook to grading/submitted/<student_id>/<id>/<id>.ipynb. The student id comes from the
# download naming of Canvas, Moodle or Blackboard, or "<student_id>_<id>.ipynb"
# (course_lib/grading/collect.py lists them).
c.ZipCollectApp.downloaded_directory = os.path.join("grading", "downloaded")
c.ZipCollectApp.collector_plugin = "course_lib.grading.collect.LmsCollector"
