# assignment: a3_adaptive
# target: none
# transform: strip_metadata
# expect-note: matched by content
# Colab dropped every nbgrader metadata field: graded like the intact notebook.
