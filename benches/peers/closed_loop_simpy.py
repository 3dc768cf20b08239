"""The closed-loop day in SimPy, the peer of confsim's engine figure in docs/benchmarks.md.

The same model as benches/examples/peer_loop.rs: each of 10,000 agents applies (one input),
gets the platform's answer 10-100 ms later (five events), holds the conference 5-70 minutes
(a warning at 57 minutes when it lasts that long, the end at 60), releases it (one input when
the chair releases, three events), thinks 60 s and applies again, for 8 simulated hours. One
SimPy process per agent; records are counted, not written.

    pip install simpy==4.1.2
    python3 benches/peers/closed_loop_simpy.py

prints one line, `records N  seconds S  records/s R`, the best of three runs.
"""

import random
import time

import simpy

AGENTS = 10_000
MINUTE = 60_000  # simulated milliseconds
UNTIL = 8 * 60 * MINUTE


def agent(env, rng, counter):
    while True:
        counter[0] += 1  # the application
        yield env.timeout(rng.randint(10, 100))
        counter[0] += 5  # busy, alerting, off-hook, joined, success
        hold = rng.randint(5 * MINUTE, 70 * MINUTE)
        if hold > 57 * MINUTE:
            yield env.timeout(57 * MINUTE)
            counter[0] += 1  # the warning
            yield env.timeout(3 * MINUTE)
            counter[0] += 3  # the end: left, phone released, ready
        else:
            yield env.timeout(hold)
            counter[0] += 4  # the release and its three events
        yield env.timeout(MINUTE)


def day(seed):
    rng = random.Random(seed)
    env = simpy.Environment()
    counter = [0]
    for _ in range(AGENTS):
        env.process(agent(env, rng, counter))
    env.run(until=UNTIL + 1)
    return counter[0]


def main():
    best = float("inf")
    records = 0
    for _ in range(3):
        start = time.perf_counter()
        records = day(7)
        best = min(best, time.perf_counter() - start)
    print(f"records {records}  seconds {best:.3f}  records/s {records / best:.0f}")


if __name__ == "__main__":
    main()
