# assignment: a3_adaptive
# target: add
# Finding 11: no cap on processes. The fork bomb stops at the submission's process budget
# (a cgroup, or RLIMIT_NPROC under the dedicated uid); the graded functions still work.
import os

pids = []
try:
    for _ in range(10000):
        pid = os.fork()
        if pid == 0:
            import time
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
except OSError:
    pass
for pid in pids:
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except OSError:
        pass
