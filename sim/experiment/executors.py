"""Where tasks run: in this process, a local process pool, or a Dask cluster.

Every option is a concurrent.futures.Executor, so the sweep has one code path; Dask's own
futures do not work with concurrent.futures.as_completed, hence Client.get_executor().
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from contextlib import contextmanager


class InProcessExecutor(cf.Executor):
    """Runs each task at submit time, in this process (debugging, notebooks, --jobs 1)."""

    def submit(self, fn, /, *args, **kwargs):
        future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextmanager
def make_executor(jobs: int | None = None, scheduler: str | None = None):
    """jobs=1: in process; otherwise a process pool of `jobs` (default: all cores);
    scheduler='local': a Dask LocalCluster; scheduler='tcp://host:port': an existing Dask cluster."""
    if scheduler:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise RuntimeError("--scheduler needs Dask: pip install 'kafkasim[distributed]'") from exc
        if scheduler == "local":
            # no dashboard: the scheduler's HTTP server (health, metrics) only, on a free local port --
            # dashboard_address=None alone still opens the dashboard on port 8787
            cluster = LocalCluster(n_workers=jobs or default_jobs(), threads_per_worker=1, processes=True,
                                   dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False})
            client = Client(cluster)
        else:
            cluster, client = None, Client(scheduler)
        try:
            yield client.get_executor()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    jobs = jobs or default_jobs()
    if jobs == 1:
        yield InProcessExecutor()
        return
    import multiprocessing

    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=exit_with_parent, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:  # interrupted (SIGINT, SIGTERM) or failed: stop the workers now, not after their tasks
        workers = list((pool._processes or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(5)
        raise
    pool.shutdown(wait=True)


PARENT_CHECK = 0.5  # s between a worker's checks that the process that started it is alive


def exit_with_parent(parent: int) -> None:
    """Pool worker initializer: end this worker once its parent is gone (killed with SIGKILL, say),
    instead of living on as an orphan."""
    import threading
    import time

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        os._exit(1)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
