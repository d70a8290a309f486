# assignment: a3_adaptive
# target: add
# expect-note: took longer than
# A top-level infinite loop (e.g. a forgotten training loop): skipped after the cell limit.
while True:
    pass
