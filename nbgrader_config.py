"""nbgrader configuration of the course (instructor side).

solutions/<id>/<id>.ipynb (source, with solutions and hidden tests)
  -> `nbgrader generate_assignment` -> assignments/<id>/<id>.ipynb (release, committed)
Submissions, autograded notebooks, feedback and the gradebook live under grading/
(git-ignored).  tools/grade.py drives the standard nbgrader commands; see
/work/spec/GRADING_NOTES.md.
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

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

# Autograde: a runaway loop in one cell costs at most this long; a cell timeout fails the
# cell, not the whole run.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# Restore test cells a student deleted (OverwriteCells already restores edited ones).
c.OverwriteCells.add_missing_cells = True
# Drop Python warnings (e.g. "RuntimeWarning: overflow encountered") from stderr so they do
# not clutter the feedback; the pattern matches the "file:line: XxxWarning: ..." lines
# that the warnings module prints.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m)^.*:\d+: \w*Warning: "

# Feedback: hidden test code is cleared (ClearHiddenTests) and error tracebacks are cut to
# the check's message (which names the mistake), so the hidden tests stay hidden.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course_lib.grading.nbgrader_ext.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

c.ExportApp.plugin_class = "nbgrader.plugins.export.CsvExportPlugin"
# LMS zip: put the downloaded zip(s) in grading/downloaded/<id>/archive/, then
# `nbgrader zip_collect <id>` extracts them and copies each notebook to
# grading/submitted/<student_id>/<id>/<id>.ipynb.  File names inside the zip must look like
# "<student_id>_<id>.ipynb" (a student id without "_", e.g. "jdoe42_a1_gradient_descent.ipynb").
c.ZipCollectApp.downloaded_directory = os.path.join("grading", "downloaded")
c.FileNameCollectorPlugin.named_regexp = r"^(?:.*/)?(?P<student_id>[^_/]+)_(?P<file_id>a\d_\w+\.ipynb)$"
