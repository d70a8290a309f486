# assignment: a3_adaptive
# target: none
# transform: reverse,strip_metadata
# Cells in reverse order and no metadata: full marks.
