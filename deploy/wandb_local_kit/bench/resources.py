"""CPU and memory of the local stack's containers, sampled while the benchmark runs.

Measured from the containers' processes on this host (`docker top` for their PIDs and
RSS, /proc/PID/stat for CPU time) rather than `docker stats`: the latter reports 0 B
wherever the cgroup memory controller is not available (nested Docker, some CI), while
processes are always visible on the host that runs the local stack.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: str) -> int:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


class Sampler:
    """Samples the compose project's containers every `interval` seconds."""

    def __init__(self, project: str | None, interval: float = 1.0):
        self.project = project
        self.interval = interval
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self.times: dict[str, list[float]] = {}  # when each sample was taken
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        if self.project:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _containers(self) -> dict[str, str]:
        out = subprocess.run(
            [
                "docker",
                "ps",
                "--filter",
                f"label=com.docker.compose.project={self.project}",
                "--format",
                '{{.ID}} {{.Label "com.docker.compose.service"}}',
            ],
            capture_output=True,
            text=True,
        ).stdout
        return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)

    def _processes(self, cid: str) -> list[tuple[str, int]]:
        out = subprocess.run(
            ["docker", "top", cid, "-o", "pid,rss"], capture_output=True, text=True
        ).stdout.splitlines()[1:]
        return [(p, int(r)) for p, r in (line.split() for line in out if line.strip())]

    def _run(self) -> None:
        last: dict[str, tuple[float, int]] = {}
        while not self._stop.is_set():
            for cid, service in self._containers().items():
                procs = self._processes(cid)
                rss_mib = sum(r for _, r in procs) / 1024
                ticks, now = sum(_cpu_ticks(p) for p, _ in procs), time.monotonic()
                if cid in last:
                    then, before = last[cid]
                    cpu = 100 * (ticks - before) / CLK_TCK / max(now - then, 1e-6)
                    self.samples.setdefault(service, []).append((max(cpu, 0.0), rss_mib))
                    self.times.setdefault(service, []).append(round(now - self._started, 1))
                last[cid] = (now, ticks)
            self._stop.wait(self.interval)

    def summary(self) -> dict:
        return {
            name: {
                "cpu_percent_mean": round(sum(c for c, _ in s) / len(s), 1),
                "cpu_percent_peak": round(max(c for c, _ in s), 1),
                "memory_mib_peak": round(max(m for _, m in s), 1),
                "samples": len(s),
                # [seconds, cpu %, memory MiB], for the HTML report's plots
                "series": _thin(
                    [
                        [t, round(c, 1), round(m, 1)]
                        for t, (c, m) in zip(self.times[name], s, strict=True)
                    ]
                ),
            }
            for name, s in self.samples.items()
            if s
        }


def _thin(rows: list, most: int = 300) -> list:
    step = max(1, -(-len(rows) // most))
    return rows[::step]
