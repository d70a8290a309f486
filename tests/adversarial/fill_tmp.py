# assignment: a3_adaptive
# target: add
# Finding 11: /tmp and /dev/shm are sized tmpfs, not the host's RAM or disk.
import os

for d in ("/tmp", "/dev/shm", os.getcwd()):
    try:
        with open(os.path.join(d, "fill"), "wb") as f:
            for _ in range(2048):
                f.write(b"\0" * (1 << 20))
    except OSError:
        pass
    finally:
        try:
            os.remove(os.path.join(d, "fill"))
        except OSError:
            pass
