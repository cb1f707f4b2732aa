"""One PDF read by several sandboxed children side by side (DOCANALYSIS_EXTRACT_PROCESSES).

Child i of n reads pages i, i + n, i + 2n, ... (costly pages come in runs: shared this way,
each child gets some of them) and answers with its part; the parent joins the parts into the
pages one child would read (sandbox_ocr.finish makes the document, OCRing scanned pages), or
stops them all at the first failure, named as a single child's would be (sandbox.child_answer).

A fresh interpreter costs about 0.4 s of CPU before it reads a byte (importing pypdf, most of
it): more than reading a 10-page contract. So the children are forked, when needed, by a
zygote: a fresh interpreter (`python -m docanalysis.sandbox --zygote`), started once per
process, that imports the extraction code and then only forks. It never reads a PDF and runs
no thread, so forking it is safe, where forking a worker is not (sandbox.py). From the fork on,
a child is what a spawned one is: it limits itself first thing (sandbox.child_main), reads the
PDF on its stdin, answers on its stdout; the zygote reports how it ended. Where the zygote
cannot fork, the children are spawned instead.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Protocol

from docanalysis.core.errors import ExtractionError
from docanalysis.core.extraction import PageRead
from docanalysis.sandbox import (
    Part,
    child_answer,
    child_env,
    child_main,
    crashed,
    crashed_reason,
    log,
    timeout_reason,
)

_CHUNK = 65536
_FORK_WAIT_S = 10.0  # the zygote answers a fork at once; longer: it is stuck, spawn instead


@dataclass(frozen=True)
class Limits:
    timeout_s: int
    cpu_s: int
    memory_mb: int


def extract_in_parts(
    data: bytes, arguments: list[str], parts: int, limits: Limits
) -> list[PageRead]:
    """`parts` children, each given the child's `arguments` and its part: every page read, in
    order, for sandbox_ocr.finish to join into the document (OCRing the scanned ones)."""
    argvs = [[*arguments, f"--part={i}", f"--parts={parts}"] for i in range(parts)]
    read = _run_parts(argvs, data, limits)
    count = read[0].count
    pages = {index: page for part in read for index, page in part.pages.items()}
    if any(part.count != count for part in read) or sorted(pages) != list(range(count)):
        log.warning("pdf sandbox parts disagree: %r", [(p.count, len(p.pages)) for p in read])
        raise ExtractionError(crashed_reason(), code="parser_crashed")
    return [pages[i] for i in range(count)]


class _Child(Protocol):
    def communicate(self, data: bytes, deadline: float) -> subprocess.CompletedProcess[bytes]: ...

    def kill(self) -> None: ...

    def close(self) -> None: ...


def _run_parts(argvs: list[list[str]], data: bytes, limits: Limits) -> list[Part]:
    """Every child's part, in order; the first child to fail (or the wall clock) ends them all,
    with the failure its end means."""
    deadline = time.monotonic() + limits.timeout_s
    children: list[_Child] = []
    try:
        children += _start(argvs)
        with ThreadPoolExecutor(max_workers=len(children)) as pool:
            waits = [pool.submit(child.communicate, data, deadline) for child in children]
            try:
                for wait in as_completed(waits):
                    _part(wait.result(), limits)  # the first failure raises here
            finally:
                _stop(children)  # before the pool waits for their threads
        return [_part(wait.result(), limits) for wait in waits]
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError(timeout_reason(limits.timeout_s), code="timeout") from exc
    finally:
        _stop(children)


def _start(argvs: list[list[str]]) -> list[_Child]:
    """Forked by the zygote; spawned where it fails (none left running if that fails too)."""
    children: list[_Child] = []
    try:
        zygote = _zygote()
        children += [zygote.fork(argv) for argv in argvs]
        return children
    except OSError as exc:
        log.warning("pdf sandbox zygote failed (%s); spawning the children", exc)
        for child in children:
            child.close()
    prefix = [sys.executable, "-m", "docanalysis.sandbox"]
    spawned: list[_Child] = []
    try:
        spawned += [_Spawned([*prefix, *argv]) for argv in argvs]
    except BaseException:
        for child in spawned:
            child.close()
        raise
    return spawned


def _part(done: subprocess.CompletedProcess[bytes], limits: Limits) -> Part:
    answer = child_answer(done, cpu_s=limits.cpu_s, memory_mb=limits.memory_mb)
    if not isinstance(answer, Part):
        raise crashed(done)
    return answer


def _stop(children: list[_Child]) -> None:
    """Kill the children still reading; their `communicate` then returns at once."""
    for child in children:
        child.kill()


class _Spawned:
    """A child that is a fresh interpreter, as in the single-child path."""

    def __init__(self, command: list[str]) -> None:
        pipe = subprocess.PIPE
        self.process = subprocess.Popen(
            command, stdin=pipe, stdout=pipe, stderr=pipe, env=child_env()
        )

    def communicate(self, data: bytes, deadline: float) -> subprocess.CompletedProcess[bytes]:
        try:
            timeout = max(0.0, deadline - time.monotonic())
            stdout, stderr = self.process.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise
        args = self.process.args
        return subprocess.CompletedProcess(args, self.process.returncode, stdout, stderr)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()

    def close(self) -> None:
        self.kill()
        self.process.communicate()


class _Forked:
    """A child the zygote forked: its pid, our ends of its stdin, stdout and stderr, and the
    pipe on which the zygote writes its exit status (as subprocess reports it)."""

    def __init__(self, pid: int, pipes: tuple[int, int, int, int], said: bytes) -> None:
        self.pid = pid
        self.stdin, self.stdout, self.stderr, self.status = pipes
        self.said = said  # what the status pipe said after the pid, if anything yet
        self.returncode: int | None = None
        os.set_blocking(self.stdin, False)

    def communicate(self, data: bytes, deadline: float) -> subprocess.CompletedProcess[bytes]:
        """Feed `data`, gather stdout and stderr, then the exit status; past the deadline the
        child is killed and TimeoutExpired raised."""
        read: dict[int, list[bytes]] = {self.stdout: [], self.stderr: []}
        with selectors.DefaultSelector() as selector:
            selector.register(self.stdin, selectors.EVENT_WRITE)
            for fd in read:
                selector.register(fd, selectors.EVENT_READ)
            pending = memoryview(data)
            while selector.get_map():
                events = selector.select(self._left(deadline))
                for key, _ in events:
                    if key.fd == self.stdin:
                        pending = self._feed(selector, pending)
                    elif chunk := os.read(key.fd, _CHUNK):
                        read[key.fd].append(chunk)
                    else:
                        selector.unregister(key.fd)
        out, err = b"".join(read[self.stdout]), b"".join(read[self.stderr])
        code = self._end(deadline)
        return subprocess.CompletedProcess(["forked", str(self.pid)], code, out, err)

    def _feed(self, selector: selectors.BaseSelector, pending: memoryview) -> memoryview:
        try:
            pending = pending[os.write(self.stdin, pending[:_CHUNK]) :]
        except BrokenPipeError:  # it stopped reading (it died): what it says comes next
            pending = pending[:0]
        if not pending:
            selector.unregister(self.stdin)
            os.close(self.stdin)
            self.stdin = -1
        return pending

    def _left(self, deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            self.kill()
            self._end(time.monotonic() + _FORK_WAIT_S)
            raise subprocess.TimeoutExpired(f"forked {self.pid}", 0)
        return left

    def _end(self, deadline: float) -> int:
        """The exit status the zygote reports once it has reaped the child."""
        if self.returncode is None:
            line = self.said + _line(self.status, deadline)
            for fd in (self.stdin, self.stdout, self.stderr, self.status):
                if fd >= 0:
                    os.close(fd)
            self.stdin = self.stdout = self.stderr = self.status = -1
            # No status: the zygote died or hangs; the answer, if whole, still counts.
            code, _, cpu = line.decode().partition(" ")
            self.returncode = int(code) if code.strip() else 0
            _count_cpu(float(cpu) if cpu.strip() else 0.0)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:  # until the zygote reports it reaped, the pid is its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        self.kill()
        self._end(time.monotonic() + _FORK_WAIT_S)


class _Zygote:
    """The forking interpreter, reached over a socket that carries each child's pipes."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, "-m", "docanalysis.sandbox", "--zygote", str(theirs.fileno())]
        self.process = subprocess.Popen(
            command,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=child_env(),
        )
        theirs.close()
        self.socket = ours
        self.owner = os.getpid()
        self.lock = threading.Lock()

    def usable(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def fork(self, argv: list[str]) -> _Forked:
        stdin, stdout, stderr, status = os.pipe(), os.pipe(), os.pipe(), os.pipe()
        theirs = [stdin[0], stdout[1], stderr[1], status[1]]
        try:
            with self.lock:
                socket.send_fds(self.socket, [json.dumps(argv).encode()], theirs)
            said = _line(status[0], time.monotonic() + _FORK_WAIT_S)
            if b"\n" not in said:
                raise OSError("the zygote did not fork")
        except BaseException:
            for fd in (stdin[1], stdout[0], stderr[0], status[0]):
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        pid, _, rest = said.partition(b"\n")  # a child that died at once: its status too
        return _Forked(int(pid), (stdin[1], stdout[0], stderr[0], status[0]), rest)


def _line(fd: int, deadline: float) -> bytes:
    """What `fd` says up to a newline (or its end, or the deadline)."""
    said = b""
    while b"\n" not in said:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 64) if ready else b""
        if not chunk:
            break
        said += chunk
    return said


_FORKED_CPU_S = [0.0]  # CPU seconds of the forked children that have ended, in all
_FORKED_CPU_LOCK = threading.Lock()


def forked_cpu_s() -> float:
    """CPU seconds the forked children of this process have used, in all. They are the
    zygote's children, so RUSAGE_CHILDREN does not count them: a benchmark adds this."""
    with _FORKED_CPU_LOCK:
        return _FORKED_CPU_S[0]


def _count_cpu(seconds: float) -> None:
    with _FORKED_CPU_LOCK:
        _FORKED_CPU_S[0] += seconds


_ZYGOTE: _Zygote | None = None
_ZYGOTE_LOCK = threading.Lock()


def _zygote() -> _Zygote:
    global _ZYGOTE
    with _ZYGOTE_LOCK:
        if _ZYGOTE is None or not _ZYGOTE.usable():
            if _ZYGOTE is None:
                atexit.register(_close_zygote)
            _ZYGOTE = _Zygote()
        return _ZYGOTE


def _close_zygote() -> None:
    """At exit: the closed socket ends the zygote (as the death of this process would)."""
    with _ZYGOTE_LOCK:
        if _ZYGOTE is not None and _ZYGOTE.owner == os.getpid():
            _ZYGOTE.socket.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                _ZYGOTE.process.wait(timeout=2)


def serve(fd: int) -> int:
    """The zygote: fork a child for each request on the socket `fd` (its argv, and the fds of
    its stdin, stdout, stderr and status pipe); write its pid, then its exit status and CPU
    seconds, on the status pipe. Ends when the parent closes the socket (the parent is gone)."""
    control = socket.socket(fileno=fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)  # only to wake select
    statuses: dict[int, int] = {}  # child pid -> its status pipe
    while True:
        ready, _, _ = select.select([control.fileno(), wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 512)
            _reap(statuses)
        if control.fileno() in ready:
            message, fds, _, _ = socket.recv_fds(control, _CHUNK, 4)
            if not message:
                return 0
            pid = os.fork()
            if pid == 0:
                zygote_fds = [control.fileno(), wake_r, wake_w, *statuses.values()]
                _become_child(json.loads(message), fds, zygote_fds)
            for child_fd in fds[:3]:
                os.close(child_fd)
            os.write(fds[3], f"{pid}\n".encode())
            statuses[pid] = fds[3]


def _become_child(argv: list[str], fds: list[int], zygote_fds: list[int]) -> None:
    """In the forked child: its pipes as 0, 1 and 2, nothing of the zygote's; then the child."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in zygote_fds:
        os.close(fd)
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
        os.close(fd)
    os.close(fds[3])
    code = 1
    try:
        code = child_main(argv)
    finally:
        sys.stderr.flush()
        os._exit(code)


def _reap(statuses: dict[int, int]) -> None:
    while statuses:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = statuses.pop(pid, None)
        if fd is not None:
            cpu = usage.ru_utime + usage.ru_stime
            os.write(fd, f"{os.waitstatus_to_exitcode(status)} {cpu:.6f}\n".encode())
            os.close(fd)
