# assignment: a3_adaptive
# target: add
# A cell that calls sys.exit and raises KeyboardInterrupt at top level: the cell stops, the
# notebook's answers are still graded (full marks).
import sys

try:
    raise KeyboardInterrupt
finally:
    sys.exit("bye")
