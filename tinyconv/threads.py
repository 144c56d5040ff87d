"""How many threads tinyconv computes with: one budget per process, for BLAS, the op pool and the loader.

A step on the CPU keeps three kinds of threads busy: the BLAS library's (NumPy's GEMMs, the
convolutions and fully connected layers), tinyconv's op pool (the elementwise passes of LRN,
pooling, ReLU and im2col, :func:`tinyconv.fast.parallel.for_each_chunk`) and the data loader's
workers (§4.1). Left alone, each sizes itself for the whole machine, and so does every other
NumPy process on it. That is fine while a process is alone; when two share the cores it is slow,
because a GEMM split into T parts ends when its slowest part does, and OpenBLAS's threads do not
sleep while they wait for each other: they spin (calling sched_yield), taking the core from the
very thread they wait for (for 2^28 cycles, about 0.1 s, after each job). On 2 cores beside two
other busy processes, the benchmark's CIFAR-10 step without LRN took 3.6 s with 2 BLAS threads
(2.9 s of it in GEMMs) and 0.5 s with 1. PyTorch suffers less, because its OpenMP threads
(libgomp) spin far shorter (GOMP_SPINCOUNT: 300,000 spins) before they sleep; yet it too was
faster with 1 thread than with 2 under that load.

So the budget here is one number, ``threads``, the cores this process keeps busy at once:

* BLAS threads = op-pool threads = ``threads``: the two never compute at the same time (the main
  thread runs one op after the other and waits for each), so they take turns on the same cores.
  BLAS is limited through threadpoolctl, which calls the library's own setter at run time
  (``openblas_set_num_threads``): environment variables are read only when NumPy is imported.
* loader workers: on the CPU one worker while ``threads`` >= 2, none at 1 (the main thread makes
  the batches between steps). Preparing a batch costs under 1 ms for the default run and a few
  ms for CIFAR-10, about 0.1-1% of a CPU step, so the worker takes no core from the compute
  threads. On a GPU the CPU only feeds it: ``threads`` - 1 workers (at most
  :data:`MAX_GPU_LOADER_WORKERS`, each keeps up to two batches waiting in memory), one core left
  for the thread that launches the kernels.

The automatic ``threads`` (the default) is found in two steps:

1. The cores this process may use (:func:`core_share`): its CPU affinity (``taskset``, cgroups'
   cpusets), at most the cgroup's CPU quota (``docker --cpus``), and under ``mpirun`` each rank's
   share: when the launcher bound the ranks to cores (OpenMPI does so for -n 2) the affinity is
   already the share; when it did not (every rank may use every core) the cores are divided by
   the ranks on this machine.
2. Less the cores that other processes keep busy (:func:`others_busy`): from /proc/stat, the busy
   time of those cores minus this process's own CPU time, over the last second. The time of
   niced processes does not count unless this process is niced too (the scheduler gives them
   little of a core that a process of normal priority wants). The budget is ``round(cores -
   others)``, but no less than an equal share, ``cores // n``, among the ``n`` processes that keep
   at least half a core busy, this one included (:func:`busy_processes`, from /proc/<pid>/stat,
   read only while others are busy): else the first of two runs on 16 cores would keep 15 and
   leave 1 to the second. At least 1, at most ``cores``.

The budget is looked at again at most once a second (:data:`FOLLOW_SECONDS`), from the op pool's
next call, and BLAS and the pool are resized between two ops: it follows the load. Two tinyconv
runs on 2 cores each see the other keep about one core busy and settle at one thread each; on 16
cores at 8 each; when one ends, the other takes every core again a second later. On a quiet
machine the budget is every core the process may use. A look costs a read of /proc/stat (tens of
microseconds), and while others are busy one of /proc/<pid>/stat per process (a few ms).

``TINYCONV_THREADS=N`` (or ``--threads N`` of the training program, :func:`set_threads`) fixes the
budget at N threads for this process, whatever the load; under ``mpirun`` that is N per rank.
Neither the thread counts nor the chunks change any result: the GEMMs and the chunked passes
compute each element the same way whatever the split.
"""
from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

ENV = "TINYCONV_THREADS"
FOLLOW_SECONDS = 1.0          # an automatic budget looks at the load again after this long
MAX_GPU_LOADER_WORKERS = 4


@dataclass(frozen=True)
class Budget:
    """``threads`` BLAS and op-pool threads; ``cores`` this process may use and ``why``; ``follows``: the
    automatic budget, which follows the load; ``others``: the cores other processes kept busy over the
    last second (None until measured); ``processes``: the busy processes, this one included;
    ``fixed``: the setting that fixed the budget, if one did."""

    threads: int
    cores: int
    why: str
    follows: bool = False
    others: float | None = None
    processes: int = 1
    fixed: str | None = None

    def loader_workers(self, device_kind: str = "cpu") -> int:
        """The data loader's default number of workers (module docstring)."""
        if device_kind == "cpu":
            return 1 if self.threads >= 2 else 0
        return max(1, min(self.threads - 1, MAX_GPU_LOADER_WORKERS))

    def line(self, device_kind: str = "cpu", workers: int | None = None) -> str:
        """One line for the training program: the three counts and why."""
        workers = self.loader_workers(device_kind) if workers is None else workers
        counts = (f"threads: BLAS {self.threads}, op pool {self.threads}, loader {workers} "
                  f"worker{'s' if workers != 1 else ''}")
        may_use = f"this process may use {self.cores} core{'s' if self.cores != 1 else ''} ({self.why})"
        if not self.follows:
            return f"{counts}; {may_use}" if self.fixed is None else f"{counts}, fixed by {self.fixed}; {may_use}"
        others = "not measured yet" if self.others is None else f"other processes keep {self.others:.1f} busy"
        return f"{counts}; {may_use}, {others}; the budget follows the load ({ENV}=N or --threads N fixes it)"


# ----- the cores this process may use ---------------------------------------------------------

def share_of(allowed: int, online: int, quota: float | None, local_ranks: int) -> tuple[int, str]:
    """(cores, why) for a process allowed ``allowed`` of the machine's ``online`` cores, a cgroup quota of
    ``quota`` cores (None: none) and ``local_ranks`` MPI ranks on this machine (1 outside ``mpirun``)."""
    cores, why = allowed, f"{allowed} in its affinity"
    if quota is not None and math.ceil(quota) < cores:
        cores, why = max(1, math.ceil(quota)), f"a CPU quota of {quota:g}"
    if local_ranks > 1 and allowed >= online:        # ranks not bound to cores: each takes its share
        cores, why = max(1, cores // local_ranks), f"{why}, shared by {local_ranks} MPI ranks on this machine"
    elif local_ranks > 1:
        why += f", bound by the MPI launcher ({local_ranks} ranks on this machine)"
    return cores, why


def allowed_cpus() -> set[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def cgroup_quota(path: str = "/sys/fs/cgroup/cpu.max") -> float | None:
    """The cgroup (v2) CPU quota in cores, e.g. 1.5 for ``docker --cpus 1.5``; None without one."""
    try:
        with open(path) as f:
            quota, period = f.read().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def core_share() -> tuple[int, str]:
    """(cores, why): the cores this process may use (module docstring, step 1)."""
    from .distributed.mpi import launched_local_size  # here: tinyconv.distributed imports the ops
    return share_of(len(allowed_cpus()), os.cpu_count() or 1, cgroup_quota(), launched_local_size() or 1)


# ----- the load of other processes ------------------------------------------------------------

class CpuSample(NamedTuple):
    """At ``when`` (monotonic seconds): the busy seconds of some CPUs since boot, and this process's CPU seconds."""

    when: float
    busy: float
    own: float


def read_busy_seconds(cpus, niced: bool, path: str = "/proc/stat") -> float | None:
    """Busy seconds since boot of ``cpus``: user, system, irq and softirq time, plus the time of niced
    processes when ``niced`` (this process is niced itself); None where /proc/stat is missing."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    ticks = 0
    for line in lines:
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in values[:7])
            ticks += user + system + irq + softirq + (nice if niced else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def niced() -> bool:
    return hasattr(os, "nice") and os.nice(0) > 0


def sample() -> CpuSample | None:
    busy = read_busy_seconds(allowed_cpus(), niced())
    return None if busy is None else CpuSample(time.monotonic(), busy, time.process_time())


def others_busy(before: CpuSample, after: CpuSample) -> float:
    """Cores that other processes kept busy between two samples (never below 0)."""
    seconds = after.when - before.when
    if seconds <= 0:
        return 0.0
    return max(0.0, ((after.busy - before.busy) - (after.own - before.own)) / seconds)


def process_seconds(niced: bool, proc: str = "/proc") -> dict[int, float]:
    """{pid: CPU seconds so far} of the other processes that compete for the cores (niced ones only when
    this process is niced too)."""
    me, hz, seconds = os.getpid(), os.sysconf("SC_CLK_TCK"), {}
    try:
        names = os.listdir(proc)
    except OSError:
        return seconds
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(os.path.join(proc, name, "stat"), "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()    # after the command, which may hold spaces
        except (OSError, IndexError):
            continue                                            # gone meanwhile
        utime, stime, nice = int(fields[11]), int(fields[12]), int(fields[16])
        if niced or nice <= 0:
            seconds[int(name)] = (utime + stime) / hz
    return seconds


def busy_processes(before: dict, after: dict, seconds: float) -> int:
    """How many processes kept at least half a core busy between two :func:`process_seconds` ``seconds`` apart."""
    return sum(1 for pid, t in after.items() if pid in before and t - before[pid] >= 0.5 * seconds)


def threads_for(cores: int, others: float, processes: int) -> int:
    """The automatic budget (step 2): the cores the others leave, rounded half up, but no less than an equal
    share among ``processes`` busy processes (this one included); at least 1, at most ``cores``."""
    return max(1, min(cores, max(math.floor(cores - others + 0.5), cores // processes)))


# ----- the budget of this process --------------------------------------------------------------

MIN_WINDOW = 0.25                   # seconds: /proc/stat counts in 10 ms ticks
_lock = threading.Lock()
_fixed: int | None = None           # set_threads
_budget: Budget | None = None
_last = sample()                    # the window of the first measurement starts at import
_processes: tuple[float, dict] | None = None   # (when, process_seconds()) of the last look that read them
_pool: ThreadPoolExecutor | None = None
_pool_size = 1
_blas = None                        # threadpoolctl's controller of the BLAS libraries


def parse_threads(text: str, where: str = ENV) -> int:
    """A positive number of threads from ``text``, or a ValueError that says what is expected."""
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{where} must be a positive number of threads, got {text!r}; leave it unset for the "
                         "automatic budget (the cores this process may use, less those other processes keep busy)")
    return int(text)


def set_threads(n: int | None) -> None:
    """Fix the budget at ``n`` threads for this process (None: back to ``TINYCONV_THREADS`` or automatic)."""
    global _fixed, _budget
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"threads must be a positive int, got {n!r}")
    with _lock:
        _fixed, _budget = n, None


def budget() -> Budget:
    """The budget now; an automatic one is measured again when :data:`FOLLOW_SECONDS` have passed."""
    current = _budget
    if current is not None and not (current.follows and time.monotonic() - _last.when >= FOLLOW_SECONDS):
        return current
    with _lock:
        return _refresh()


def _refresh() -> Budget:
    global _budget, _last
    fixed = _fixed if _fixed is not None else (parse_threads(os.environ[ENV]) if os.environ.get(ENV) else None)
    cores, why = core_share()
    now = None if fixed is not None or _last is None else sample()
    if fixed is not None:
        new = Budget(fixed, cores, why, fixed=f"--threads {fixed}" if _fixed is not None else f"{ENV}={fixed}")
    elif now is None:                                 # no /proc/stat: the share alone
        new = Budget(cores, cores, why)
    elif now.when - _last.when < MIN_WINDOW:          # too short to tell: the share until the next look
        new = Budget(cores, cores, why, follows=True)
    else:
        others = others_busy(_last, now)
        processes = _count_processes(now, others)
        new, _last = Budget(threads_for(cores, others, processes), cores, why, True, others, processes), now
    if _budget is None or new.threads != _budget.threads:
        _limit_blas(new.threads)
    _budget = new
    return new


def _count_processes(now: CpuSample, others: float) -> int:
    """The busy processes since the last look, this one included: 1 when the others are (nearly) idle,
    at least 2 when they are not (the first time, before there is a count to compare with)."""
    global _processes
    if others < 0.5:
        _processes = None
        return 1
    scan = process_seconds(niced())
    counted = _processes is not None and _processes[0] == _last.when
    busy = busy_processes(_processes[1], scan, now.when - _last.when) if counted else 0
    _processes = (now.when, scan)
    return max(2, 1 + busy)


def _limit_blas(n: int) -> None:
    """Set the BLAS libraries loaded in this process (NumPy's) to ``n`` threads."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController
        _blas = ThreadpoolController().select(user_api="blas")
    _blas.limit(limits=n)


def op_threads() -> int:
    """Threads of the op pool now."""
    return budget().threads


def op_pool() -> ThreadPoolExecutor | None:
    """The op pool, sized to the budget; None at one thread (the caller then runs the chunks itself)."""
    global _pool, _pool_size
    n = op_threads()
    with _lock:
        if n != _pool_size:
            if _pool is not None:
                _pool.shutdown(wait=False)            # its callers have their results: nothing is queued
            _pool, _pool_size = (ThreadPoolExecutor(n, thread_name_prefix="tinyconv") if n > 1 else None), n
        return _pool


def loader_workers(device_kind: str = "cpu") -> int:
    """The data loader's default number of workers for batches delivered to a ``device_kind`` device."""
    return budget().loader_workers(device_kind)
