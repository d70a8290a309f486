# assignment: a3_adaptive
# target: none
# transform: duplicate_wrong_last
# expect-zero: adam_step
# The correct adam_step followed by a wrong copy: the later (wrong) definition counts.
