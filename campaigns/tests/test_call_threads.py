"""The threads a worker hands its provider calls to: answers come back tagged, errors come back too."""

from __future__ import annotations

import queue
import threading

from campaigns.sending.call_threads import CallThreads, InCaller, call_threads


def where(tag: str) -> tuple[str, str]:
    return tag, threading.current_thread().name


def fails(tag: str) -> None:
    raise RuntimeError(f"{tag} broke")


def test_answers_come_back_with_their_keys_from_the_threads():
    threads = call_threads(3)
    answers: queue.SimpleQueue = queue.SimpleQueue()
    for key in range(6):
        threads.submit(where, key, answers, tag=f"call {key}")

    got = {key: (result, error) for key, result, error in (answers.get(timeout=5) for _ in range(6))}

    assert sorted(got) == list(range(6))
    for key, (result, error) in got.items():
        assert error is None
        assert result[0] == f"call {key}" and result[1].startswith("sms-send-")


def test_an_error_comes_back_as_the_answer_and_the_thread_goes_on():
    threads = call_threads(2)
    answers: queue.SimpleQueue = queue.SimpleQueue()
    threads.submit(fails, "first", answers, tag="first")
    key, result, error = answers.get(timeout=5)
    assert (key, result) == ("first", None)
    assert isinstance(error, RuntimeError) and str(error) == "first broke"

    for n in range(4):  # both threads still take calls
        threads.submit(where, n, answers, tag="after")
    assert sorted(answers.get(timeout=5)[0] for _ in range(4)) == [0, 1, 2, 3]


def test_one_call_at_a_time_runs_in_the_callers_thread():
    answers: queue.SimpleQueue = queue.SimpleQueue()
    caller = call_threads(1)
    assert isinstance(caller, InCaller)

    caller.submit(where, "k", answers, tag="here")
    caller.submit(fails, "bad", answers, tag="bad")

    assert answers.get_nowait() == ("k", ("here", threading.current_thread().name), None)
    key, result, error = answers.get_nowait()
    assert key == "bad" and isinstance(error, RuntimeError)


def test_another_size_replaces_the_threads_and_stops_the_old_ones():
    first = call_threads(2)
    assert call_threads(2) is first
    second = call_threads(3)
    assert isinstance(second, CallThreads) and second is not first and second.size == 3
    for thread in first.threads:
        thread.join(timeout=5)
        assert not thread.is_alive()
    answers: queue.SimpleQueue = queue.SimpleQueue()
    second.submit(where, 1, answers, tag="new")
    assert answers.get(timeout=5)[1][0] == "new"
