# assignment: a3_adaptive
# target: none
# transform: nbformat2
# expect-zero: all
# expect-error: nbformat 2
