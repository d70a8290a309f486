# assignment: a3_adaptive
# target: none
# transform: duplicate_wrong_first
# expect-note: duplicated
# A wrong adam_step cell followed by the correct one: the later definition counts.
