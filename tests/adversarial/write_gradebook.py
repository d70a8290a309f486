# assignment: a3_adaptive
# target: add
# Correct answers, plus a cell that tries to give itself points in the gradebook and to
# plant files in the course; nothing is writable.
import os
import sqlite3

for root in [os.environ.get("COURSE_ROOT", ""), "GRADER_ROOT"]:
    for rel in ["grading/gradebook.db", "gradebook.db"]:
        try:
            con = sqlite3.connect(os.path.join(root, rel))
            con.execute("UPDATE grade SET auto_score = 100")
            con.commit()
        except Exception:
            pass
    for rel in ["grading/HACKED", "HACKED", "assignments/HACKED"]:
        try:
            open(os.path.join(root, rel), "w").write("x")
        except OSError:
            pass
