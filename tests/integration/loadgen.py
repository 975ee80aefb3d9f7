"""Bounded load for the tests that kill or starve something in the middle of it: a few client
threads, each running the subclass's run(i) until told to stop, for at most `seconds` (each
run(i) also bounds itself by count). The subclass keeps what was answered and says how much."""

import threading
import time

from client import check


class Clients:
    def __init__(self, threads, seconds):
        self.deadline = time.time() + seconds
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, i):
        raise NotImplementedError

    def count(self):
        """How many requests were answered as the test wants (under self.lock)."""
        raise NotImplementedError

    def going(self):
        return not self.stop.is_set() and time.time() < self.deadline

    def wait_for(self, n, within=30):
        """Until n answers; fails when the load ended or the time is up first."""
        end = time.time() + within
        while self.count() < n:
            check(time.time() < end and any(t.is_alive() for t in self.threads),
                  "the load stopped at %d answers, waiting for %d" % (self.count(), n))
            time.sleep(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        for t in self.threads:
            t.join(30)
