# assignment: a3_adaptive
# target: add
# Correct answers and a cell that prints about 60 MB and writes a big scratch file.
import sys

for _ in range(600):
    print("x" * 100_000)
try:
    with open("big.bin", "wb") as f:
        f.write(b"\0" * (200 << 20))
except OSError:
    pass
