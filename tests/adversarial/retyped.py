# assignment: a3_adaptive
# target: none
# transform: retype
# expect-note: graded as code
# Every code answer turned into a raw/markdown cell: graded as code, full marks.
