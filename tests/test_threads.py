"""The thread budget (tinyconv.threads): the cores a process may use (affinity, quota, MPI ranks), the
load of other processes from /proc/stat, the automatic budget that follows it, the fixed one
(TINYCONV_THREADS, set_threads), and that BLAS, the op pool and the loader all obey it."""
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from tinyconv import threads
from tinyconv.data import DataLoader
from tinyconv.fast import parallel


@pytest.fixture(autouse=True)
def fresh_budget(monkeypatch):
    """Every test starts from an automatic budget with no setting, and leaves one behind."""
    monkeypatch.delenv(threads.ENV, raising=False)
    threads.set_threads(None)
    yield
    threads.set_threads(None)


def blas_threads() -> set:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def chunk_threads() -> set:
    """The names of the threads that run the chunks of one op."""
    names = set()
    parallel.for_each_chunk(lambda chunk: names.add(threading.current_thread().name), parallel.even_chunks(8, 8),
                         np.zeros(8))
    return names


def threads_running_at_once(n: int, timeout: float = 10) -> bool:
    """True when the op pool runs ``n`` chunks at the same time (each waits for all the others)."""
    barrier = threading.Barrier(n, timeout=timeout)
    try:
        parallel.for_each_chunk(lambda chunk: barrier.wait(), parallel.even_chunks(n, n), np.zeros(n))
    except threading.BrokenBarrierError:
        return False
    return True


@pytest.mark.parametrize("allowed, online, quota, ranks, cores", [
    (2, 2, None, 1, 2),        # a 2-core machine, alone
    (16, 16, None, 1, 16),     # a 16-core machine
    (1, 16, None, 1, 1),       # taskset -c 3
    (16, 16, 4.0, 1, 4),       # docker --cpus 4
    (16, 16, 1.5, 1, 2),       # docker --cpus 1.5: two threads, one of them half the time
    (16, 16, 32.0, 1, 16),     # a quota above the cores changes nothing
    (2, 2, None, 2, 1),        # mpirun -n 2 --bind-to none on 2 cores: a core each
    (16, 16, None, 2, 8),      # ... on 16 cores: 8 each
    (16, 16, None, 3, 5),      # ... 3 ranks: 5 each, one core spare
    (1, 2, None, 2, 1),        # mpirun -n 2 (OpenMPI binds each rank to a core): the affinity is the share
    (4, 16, None, 2, 4),       # mpirun --map-by slot:PE=4: 4 cores bound to each rank
    (2, 2, None, 4, 1),        # more ranks than cores: still one thread each
])
def test_share_of_the_cores(allowed, online, quota, ranks, cores):
    assert threads.share_of(allowed, online, quota, ranks)[0] == cores


def test_core_share_reads_affinity_quota_and_mpi_ranks(monkeypatch):
    monkeypatch.setattr(threads, "cgroup_quota", lambda: None)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 16)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    for name in ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_LOCAL_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert threads.core_share() == (16, "16 in its affinity")
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "2")
    assert threads.core_share() == (8, "16 in its affinity, shared by 2 MPI ranks on this machine")
    monkeypatch.delenv("OMPI_COMM_WORLD_LOCAL_SIZE")
    monkeypatch.setenv("MPI_LOCALNRANKS", "4")                         # MPICH's and Intel MPI's launcher
    assert threads.core_share()[0] == 4
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {5}, raising=False)
    assert threads.core_share()[0] == 1
    monkeypatch.setattr(threads, "cgroup_quota", lambda: 2.0)
    monkeypatch.delenv("MPI_LOCALNRANKS")
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert threads.core_share() == (2, "a CPU quota of 2")


def test_cgroup_quota_in_cores(tmp_path):
    path = tmp_path / "cpu.max"
    path.write_text("150000 100000\n")
    assert threads.cgroup_quota(str(path)) == 1.5
    path.write_text("max 100000\n")
    assert threads.cgroup_quota(str(path)) is None
    assert threads.cgroup_quota(str(tmp_path / "missing")) is None


def test_busy_seconds_count_the_allowed_cpus_and_niced_time_only_when_niced(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    #                     user nice system idle iowait irq softirq steal
    stat.write_text("cpu  900 90 90 9000 9 9 9 9 0 0\n"
                    "cpu0 100 10 20 1000 5 1 2 3 0 0\n"
                    "cpu1 200 40 30 2000 5 3 4 5 0 0\n"
                    "cpu2 400 40 40 6000 0 5 3 1 0 0\nintr 1 2 3\n")
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)
    assert threads.read_busy_seconds({0, 1}, niced=False, path=str(stat)) == pytest.approx((123 + 237) / 100)
    assert threads.read_busy_seconds({0, 1}, niced=True, path=str(stat)) == pytest.approx((133 + 277) / 100)
    assert threads.read_busy_seconds({2}, niced=False, path=str(stat)) == pytest.approx(448 / 100)
    assert threads.read_busy_seconds({0}, niced=False, path=str(tmp_path / "missing")) is None


def test_others_busy_is_the_busy_time_not_our_own():
    before = threads.CpuSample(when=10.0, busy=100.0, own=5.0)
    assert threads.others_busy(before, threads.CpuSample(12.0, 104.0, 7.0)) == pytest.approx(1.0)
    assert threads.others_busy(before, threads.CpuSample(12.0, 104.0, 9.0)) == 0.0    # ours alone
    assert threads.others_busy(before, threads.CpuSample(12.0, 103.9, 9.0)) == 0.0    # tick rounding
    assert threads.others_busy(before, before) == 0.0


@pytest.mark.parametrize("cores, others, processes, budget", [
    (2, 0.0, 1, 2), (2, 0.4, 1, 2), (2, 0.6, 2, 1), (2, 1.0, 2, 1), (2, 2.0, 2, 1), (2, 3.5, 3, 1),
    (16, 0.0, 1, 16), (16, 3.2, 2, 13), (16, 3.2, 5, 13),
    (16, 15.9, 2, 8), (16, 15.9, 3, 5), (16, 30.0, 17, 1), (1, 0.0, 1, 1),
])
def test_the_automatic_budget_leaves_the_others_their_cores_but_keeps_an_equal_share(cores, others, processes,
                                                                                      budget):
    assert threads.threads_for(cores, others, processes) == budget


@pytest.mark.parametrize("cores, settled", [(2, (1, 1)), (16, (8, 8))])
def test_two_runs_that_follow_the_load_settle_at_equal_shares(cores, settled):
    """A model of two tinyconv runs on ``cores`` cores: the scheduler gives every thread an equal part of the
    cores, each run looks at what the other used and sets its budget; the first starts with every core."""
    budgets = [cores, 1]
    for look in range(12):
        used = [b * min(1.0, cores / sum(budgets)) for b in budgets]
        me = look % 2
        budgets[me] = threads.threads_for(cores, used[1 - me], processes=2)
    assert tuple(budgets) == settled


def test_busy_processes_are_those_that_used_half_a_core(tmp_path, monkeypatch):
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)
    monkeypatch.setattr(threads.os, "getpid", lambda: 7)
    for pid, (utime, stime, nice) in {7: (900, 0, 0), 11: (300, 20, 0), 12: (50, 0, 0), 13: (400, 0, 10)}.items():
        (tmp_path / str(pid)).mkdir()
        fields = ["S"] + ["0"] * 10 + [str(utime), str(stime), "0", "0", "20", str(nice)] + ["0"] * 30
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (python x) " + " ".join(fields))
    (tmp_path / "self").mkdir()
    before = {11: 1.0, 12: 0.4, 13: 1.0, 99: 0.0}
    after = threads.process_seconds(niced=False, proc=str(tmp_path))
    assert after == {11: 3.2, 12: 0.5}                       # not this process (7), not the niced one (13)
    assert threads.busy_processes(before, after, seconds=2.0) == 1          # 11 used 1.1 cores, 12 0.05
    assert set(threads.process_seconds(niced=True, proc=str(tmp_path))) == {11, 12, 13}


@pytest.mark.parametrize("budget, device, workers", [
    (1, "cpu", 0), (2, "cpu", 1), (16, "cpu", 1), (1, "cuda", 1), (4, "cuda", 3), (16, "cuda", 4)])
def test_loader_workers_of_a_budget(budget, device, workers):
    assert threads.Budget(budget, budget, "test").loader_workers(device) == workers


def test_automatic_budget_follows_the_load_and_resizes_blas_and_the_op_pool(monkeypatch):
    """Two cores: alone, both; another process keeping a core busy, one; it stops, both again."""
    monkeypatch.setattr(threads, "core_share", lambda: (2, "2 in its affinity"))
    start = time.monotonic() + 1000          # samples "from the future": no second look within a step
    samples = iter([threads.CpuSample(start + 2, 4.0, 4.0),     # 2 s: 4 busy seconds, all ours
                    threads.CpuSample(start + 4, 8.0, 5.0),     # 2 s: 4 busy seconds, 1 ours: the others kept 1.5
                    threads.CpuSample(start + 6, 11.6, 8.4)])   # 2 s: 3.6 busy seconds, 3.4 ours
    monkeypatch.setattr(threads, "sample", lambda: next(samples))
    monkeypatch.setattr(threads, "process_seconds", lambda niced: {})
    monkeypatch.setattr(threads, "_last", threads.CpuSample(start, 0.0, 0.0))
    seen = []
    for _ in range(3):
        threads.set_threads(None)            # forget the budget: the next call looks at the load
        b = threads.budget()
        pool_of_two = chunk_threads() != {"MainThread"} and threads_running_at_once(2)
        seen.append((b.threads, round(b.others, 2), blas_threads(), pool_of_two))
    assert seen == [(2, 0.0, {2}, True), (1, 1.5, {1}, False), (2, 0.1, {2}, True)]
    assert "other processes keep 1.5 busy" in threads.Budget(1, 2, "2 in its affinity", True, 1.5).line()


def test_a_fixed_budget_ignores_the_load_and_sets_blas(monkeypatch):
    monkeypatch.setattr(threads, "sample", lambda: pytest.fail("a fixed budget reads no load"))
    monkeypatch.setenv(threads.ENV, "1")
    b = threads.budget()
    assert (b.threads, b.follows, b.fixed) == (1, False, "TINYCONV_THREADS=1")
    assert blas_threads() == {1} and chunk_threads() == {"MainThread"} and len(parallel.even_chunks(12)) == 1
    threads.set_threads(3)                                    # the program's --threads wins over the variable
    assert threads.budget().fixed == "--threads 3" and blas_threads() == {3}
    assert len(parallel.even_chunks(12)) == 3 and threads_running_at_once(3) and not threads_running_at_once(4, 1)
    assert "BLAS 3, op pool 3, loader 1 worker, fixed by --threads 3" in threads.budget().line()


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5", " "])
def test_a_bad_setting_says_what_is_expected(monkeypatch, text):
    monkeypatch.setenv(threads.ENV, text)
    with pytest.raises(ValueError, match="TINYCONV_THREADS must be a positive number of threads"):
        threads.budget()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be a positive int"):
            threads.set_threads(bad)


def test_the_loader_takes_its_workers_from_the_budget():
    class Images:
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return np.full((4, 4, 1), i, np.uint8), i

    def transform(image, rng):
        names.add(threading.current_thread().name)
        return image.transpose(2, 0, 1).astype(np.float32)

    for budget, expected in ((1, "MainThread"), (2, "tinyconv-loader")):
        threads.set_threads(budget)
        names = set()
        batches = list(DataLoader(Images(), 4, transform, shuffle=False))
        assert [y.tolist() for _, y in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]
        assert {name.split("_")[0] for name in names} == {expected}
