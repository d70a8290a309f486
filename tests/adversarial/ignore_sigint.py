# assignment: a3_adaptive
# target: adam_init
# expect-zero: adam_init
# expect-message: adam_init: time limit
import signal

for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
    signal.signal(s, signal.SIG_IGN)


def adam_init(w):
    while True:
        try:
            pass
        except BaseException:
            pass
