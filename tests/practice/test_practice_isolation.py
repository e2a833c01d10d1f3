"""The practice checker's verdict is honest whatever the learner's file does.

Each test writes one hostile (or buggy) learner file and checks it as ``check_file`` and
``deltaprop check`` do: the learner's code runs in a separate process, so exits, hangs,
crashes, prints and patches end as a FAIL that says what happened, never as a pass, a hang,
a crash of the checker or garbage on its JSON output.
"""

from __future__ import annotations

import json
import os
import textwrap
import time

import pytest

from deltaprop.cli import main
from deltaprop.practice import check_file, check_module

HANG = 1.5          # seconds: the wall-clock limit of the tests whose file never returns

DENSE_OK = '''
import numpy as np

def dense_backward(a_prev, weight, grad_out):
    return grad_out @ weight, grad_out.T @ a_prev, grad_out.sum(axis=0)
'''
MOMENTUM_OK = '''
def momentum_step(weight, grad, velocity, lr, momentum):
    v = momentum * velocity + grad
    return weight - lr * v, v
'''
DENSE_SIGN = '''
import numpy as np

def dense_backward(a_prev, weight, grad_out):
    return grad_out @ weight, -(grad_out.T @ a_prev), grad_out.sum(axis=0)
'''
SOFTMAX = '''
import numpy as np

def softmax_cross_entropy_backward(logits, labels):
    n = logits.shape[0]
    e = np.exp({shifted})
    p = e / e.sum(axis=1, keepdims=True)
    Y = np.zeros_like(p)
    Y[np.arange(n), labels] = 1
    return (p - Y) / n
'''


def _write(tmp_path, code: str, name: str = "learner.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def _line(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _by_function(results):
    return {r.function: r for r in results}


def _cli_json(path, capsys, *flags):
    code = main(["check", "--format", "json", *flags, str(path)])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


# -- every way out of the process is a FAIL ----------------------------------------------------
def test_sys_exit_0_at_import_is_a_fail_naming_the_line(tmp_path, capsys):
    path = _write(tmp_path, DENSE_SIGN + "import sys\nsys.exit(0)\n")
    results = check_file(path)
    assert [r.function for r in results] == ["<import>", "dense_backward"]
    assert not any(r.passed for r in results)
    assert results[0].line == _line(path, "sys.exit(0)")
    assert "sys.exit(0)" in results[0].message and "while being loaded" in results[0].message
    assert results[1].message.startswith("not run: your file called sys.exit(0)")
    code, records = _cli_json(path, capsys)
    assert code == 1 and [r["passed"] for r in records] == [False, False]


def test_exit_inside_a_function_fails_that_function_only(tmp_path):
    path = _write(tmp_path, MOMENTUM_OK + '''
def dense_backward(a_prev, weight, grad_out):
    exit()
''')
    results = _by_function(check_file(path))
    assert results["momentum_step"].passed
    dense = results["dense_backward"]
    assert not dense.passed and dense.mistakes == ["raised"]
    assert dense.error.startswith("SystemExit") and "sys.exit" in dense.message
    assert dense.line == _line(path, "exit()")


def test_os_exit_in_a_function_fails_it_and_the_rest_is_still_judged(tmp_path, capsys):
    path = _write(tmp_path, DENSE_SIGN + MOMENTUM_OK.replace(
        "    v = momentum", "    import os\n    os._exit(0)\n    v = momentum"))
    results = _by_function(check_file(path))
    momentum = results["momentum_step"]
    assert not momentum.passed and "os._exit(0)" in momentum.message
    assert momentum.line == _line(path, "os._exit(0)")
    assert results["dense_backward"].mistakes[0] == "sign_flipped"     # judged normally
    assert main(["check", str(path)]) == 1
    assert "FAIL  momentum_step: not run to the end" in capsys.readouterr().out


def test_os_exit_at_import_is_a_fail(tmp_path, capsys):
    path = _write(tmp_path, DENSE_OK + "import os\nos._exit(0)\n")
    results = check_file(path)
    assert [r.function for r in results] == ["<import>", "dense_backward"]
    assert "os._exit(0)" in results[0].message and results[0].line == _line(path, "os._exit")
    assert main(["check", str(path)]) == 1


def test_keyboard_interrupt_does_not_escape(tmp_path):
    path = _write(tmp_path, MOMENTUM_OK + '''
import os, signal

def dense_backward(a_prev, weight, grad_out):
    raise KeyboardInterrupt

def relu_backward(z, grad_out):
    os.kill(os.getpid(), signal.SIGINT)
''')
    results = _by_function(check_file(path))
    assert results["momentum_step"].passed
    assert results["dense_backward"].error.startswith("KeyboardInterrupt")
    assert results["relu_backward"].error.startswith("KeyboardInterrupt")
    assert not results["dense_backward"].passed and not results["relu_backward"].passed


def test_killed_by_a_signal_is_a_fail(tmp_path):
    path = _write(tmp_path, MOMENTUM_OK + '''
import os, signal

def dense_backward(a_prev, weight, grad_out):
    os.kill(os.getpid(), signal.SIGKILL)
''')
    results = _by_function(check_file(path))
    assert results["momentum_step"].passed
    assert not results["dense_backward"].passed
    assert "killed by SIGKILL" in results["dense_backward"].message


@pytest.mark.slow
def test_endless_loop_in_a_bare_except_is_stopped_from_outside(tmp_path):
    path = _write(tmp_path, MOMENTUM_OK + '''
def dense_backward(a_prev, weight, grad_out):
    while True:
        try:
            a_prev = a_prev + 0
        except:
            pass
''')
    started = time.monotonic()
    results = _by_function(check_file(path, timeout=1))
    assert time.monotonic() - started < 1 + 5
    dense = results["dense_backward"]
    assert not dense.passed and dense.error.startswith("LearnerTimeoutError")
    assert dense.line in range(_line(path, "while True"), _line(path, "pass") + 1)
    assert results["momentum_step"].passed                  # run again without the hang


@pytest.mark.slow
def test_ignored_sigalrm_and_endless_loops_everywhere_are_stopped(tmp_path, capsys):
    path = _write(tmp_path, '''
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)

def sigmoid_backward(z, grad_out):
    while True:
        pass

def tanh_backward(z, grad_out):
    while True:
        try:
            z = z + 0
        except BaseException:
            continue
''')
    results = _by_function(check_file(path, timeout=HANG))
    assert {name: r.passed for name, r in results.items()} == {
        "sigmoid_backward": False, "tanh_backward": False}
    assert all(r.error.startswith("LearnerTimeoutError") for r in results.values())
    assert main(["check", "--timeout", str(HANG), str(path)]) == 1


@pytest.mark.slow
def test_endless_loop_at_import_is_a_fail(tmp_path):
    path = _write(tmp_path, DENSE_OK + "while True:\n    pass\n")
    results = check_file(path, timeout=HANG)
    assert results[0].function == "<import>" and not results[0].passed
    assert "while being loaded" in results[0].message
    assert results[0].line in (_line(path, "while True"), _line(path, "pass"))


def test_a_thread_that_never_ends_does_not_hold_the_checker(tmp_path):
    path = _write(tmp_path, DENSE_OK + '''
import threading, time

def forever():
    while True:
        time.sleep(0.01)

threading.Thread(target=forever).start()            # not a daemon
''')
    started = time.monotonic()
    (result,) = check_file(path, timeout=HANG)
    assert result.passed and time.monotonic() - started < HANG


def test_a_memory_bomb_is_a_fail(tmp_path):
    path = _write(tmp_path, MOMENTUM_OK + '''
import numpy as np

def dense_backward(a_prev, weight, grad_out):
    huge = np.ones((1 << 40,))
    return huge, huge, huge
''')
    results = _by_function(check_file(path))
    dense = results["dense_backward"]
    assert not dense.passed and dense.error.startswith("MemoryError")
    assert "out of memory" in dense.hint and dense.line == _line(path, "np.ones")
    assert results["momentum_step"].passed


def test_array_that_raises_is_a_fail_with_its_line(tmp_path):
    path = _write(tmp_path, '''
class Weird:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("no array for you")

def momentum_step(weight, grad, velocity, lr, momentum):
    return Weird(), Weird()
''')
    (result,) = check_file(path)
    assert not result.passed and result.mistakes == ["raised"]
    assert result.error.startswith("RuntimeError: no array for you")
    assert result.line == _line(path, "raise RuntimeError")


# -- output channels: the learner's prints never reach the verdict's stdout --------------------
def test_closing_stdout_and_stderr_changes_nothing(tmp_path, capsys):
    path = _write(tmp_path, DENSE_OK + "import os\nos.close(1)\nos.close(2)\n")
    (result,) = check_file(path)
    assert result.passed
    code, records = _cli_json(path, capsys)
    assert code == 0 and len(records) == 1 and records[0]["passed"]


def test_fake_json_on_the_real_stdout_does_not_reach_the_checkers(tmp_path, capfd):
    # capfd: what reaches file descriptor 1 of this process, not only sys.stdout
    fake = json.dumps({"function": "dense_backward", "passed": True, "mistakes": []})
    path = _write(tmp_path, DENSE_SIGN.replace(
        "def dense_backward(a_prev, weight, grad_out):\n",
        "def dense_backward(a_prev, weight, grad_out):\n"
        f"    import os, sys; sys.__stdout__.write({fake!r} + '\\n'); sys.__stdout__.flush()\n"
        f"    os.write(1, b{fake!r} + b'\\n'); print({fake!r})\n"))
    code, records = _cli_json(path, capfd)
    assert code == 1 and len(records) == 1
    assert not records[0]["passed"] and records[0]["mistakes"][0] == "sign_flipped"
    assert capfd.readouterr().err == ""


def test_the_output_of_a_crashed_file_is_shown(tmp_path, capsys):
    path = _write(tmp_path, DENSE_OK + "print('about to leave')\nimport os\nos._exit(3)\n")
    results = check_file(path)
    assert "about to leave" in results[0].output
    main(["check", str(path)])
    assert "| about to leave" in capsys.readouterr().out


def test_writing_garbage_into_the_results_is_a_fail(tmp_path):
    path = _write(tmp_path, MOMENTUM_OK + '''
import sys, os

def dense_backward(a_prev, weight, grad_out):
    with open(os.path.join(sys.argv[1], "results.jsonl"), "a") as file:
        file.write("garbage\\n")
    return grad_out @ weight, grad_out.T @ a_prev, grad_out.sum(axis=0)
''')
    results = _by_function(check_file(path))
    assert not results["dense_backward"].passed
    assert "could not read" in results["dense_backward"].message
    assert results["momentum_step"].passed


# -- patches in the learner's file change only the learner's process ---------------------------
@pytest.mark.parametrize("patch", [
    "np.allclose = lambda *args, **kwargs: True\nnp.testing.assert_allclose = print",
    "import deltaprop.practice.checker as c\nc.RTOL = c.ATOL = c.EXPLAINED = 1e9",
    "import deltaprop.nn.layers as layers\n"
    "layers.Dense.backward = lambda self, grad: (_ for _ in ()).throw(SystemExit)",
], ids=["allclose", "tolerances", "engine"])
@pytest.mark.slow
def test_patches_cannot_make_a_wrong_function_pass(tmp_path, patch, capsys):
    path = _write(tmp_path, DENSE_SIGN + patch + "\n")
    (result,) = check_file(path)
    assert result.function == "dense_backward"                 # the patch itself ran
    assert not result.passed and result.mistakes[0] == "sign_flipped"
    assert main(["check", str(path)]) == 1


# -- the bugs that passed before -----------------------------------------------------------------
def test_a_list_input_changed_in_place_fails(tmp_path):
    path = _write(tmp_path, '''
import numpy as np

def network_backward(weights, activations, zs, y):
    n = y.shape[0]
    probs = activations.pop()               # changes the caller's list
    Y = np.zeros_like(probs)
    Y[np.arange(n), y] = 1
    delta = (probs - Y) / n
    grad_weights, grad_biases = [], []
    for l in range(len(weights) - 1, -1, -1):
        grad_weights.insert(0, delta.T @ activations[l])
        grad_biases.insert(0, delta.sum(axis=0))
        if l > 0:
            delta = (delta @ weights[l]) * (1 - activations[l] ** 2)
    return grad_weights, grad_biases
''')
    (result,) = check_file(path)
    assert not result.passed and "changed its input activations in place" in result.message


def test_a_cache_keyed_on_nothing_fails(tmp_path):
    path = _write(tmp_path, '''
CACHE = []

def relu_backward(z, grad_out):
    if not CACHE:
        CACHE.append(grad_out * (z > 0))
    return CACHE[0]
''')
    (result,) = check_file(path)
    assert not result.passed


def test_a_cache_keyed_on_the_shape_fails_and_is_named(tmp_path):
    path = _write(tmp_path, '''
CACHE = {}

def relu_backward(z, grad_out):
    if z.shape not in CACHE:
        CACHE[z.shape] = grad_out * (z > 0)
    return CACHE[z.shape]
''')
    (result,) = check_file(path)
    assert not result.passed and result.mistakes == ["other"]
    assert "keep state between calls" in result.message and "cache" in result.hint


def test_an_unstable_softmax_fails_on_large_logits(tmp_path, capsys):
    path = _write(tmp_path, SOFTMAX.format(shifted="logits"))
    (result,) = check_file(path)
    assert not result.passed and result.mistakes == ["other"]
    assert "NaN or inf" in result.message and "large logits" in result.message
    assert "not numerically stable" in result.hint
    assert "large logits" in result.counterexample["case"]
    assert "nan" in json.dumps(result.counterexample["received"])
    code, records = _cli_json(path, capsys)                    # strict JSON: no bare NaN
    assert code == 1 and records[0]["counterexample"]["case"] == result.counterexample["case"]


def test_a_stable_softmax_passes(tmp_path):
    path = _write(tmp_path, SOFTMAX.format(shifted="logits - logits.max(axis=1, keepdims=True)"))
    (result,) = check_file(path)
    assert result.passed and result.cases >= 5


@pytest.mark.parametrize(("returned", "words"), [
    ("(grad_out * (z > 0)).astype(complex)", "complex"),
    ("np.sqrt((grad_out * (z > 0)).astype(complex))", "complex"),
    ("np.array([{'grad': 1}] * z.size, dtype=object).reshape(z.shape)", "not an array of numbers"),
    ("np.full(z.shape, 'x')", "not an array of numbers"),
], ids=["complex", "complex-sqrt", "object", "text"])
def test_complex_or_object_results_fail_clearly(tmp_path, returned, words):
    path = _write(tmp_path, f'''
import numpy as np

def relu_backward(z, grad_out):
    return {returned}
''')
    (result,) = check_file(path)
    assert not result.passed and result.mistakes == ["other"]
    assert words in result.message


def test_non_finite_output_where_the_reference_is_finite_fails(tmp_path):
    path = _write(tmp_path, '''
import numpy as np

def relu_backward(z, grad_out):
    out = grad_out * (z > 0)
    out[0, 0] = np.inf
    return out
''')
    (result,) = check_file(path)
    assert not result.passed and "NaN or inf" in result.message


# -- the smallest failing case ---------------------------------------------------------------
def test_a_failure_shows_its_smallest_case(tmp_path, capsys):
    path = _write(tmp_path, DENSE_SIGN)
    (result,) = check_file(path)
    example = result.counterexample
    sizes = {"N=5, in=3, out=4": 47, "N=7, in=6, out=2": 68, "N=3, in=2, out=5": 31}
    assert example["case"] == min(sizes, key=sizes.get)
    assert set(example["inputs"]) == {"a_prev", "weight", "grad_out"}
    assert list(example["expected"]) == ["grad_weight"] == list(example["received"])
    expected, received = example["expected"]["grad_weight"], example["received"]["grad_weight"]
    assert len(expected) == 5 and len(expected[0]) == 2                       # (out, in)
    assert received == [[-x for x in row] for row in expected]
    main(["check", str(path)])
    out = capsys.readouterr().out
    assert "smallest failing case (N=3, in=2, out=5)" in out
    assert "expected grad_weight = [[" in out and "received grad_weight = [[" in out


# -- a correct file, and the API --------------------------------------------------------------
def test_a_correct_file_still_passes_with_exit_0_and_only_json(tmp_path, capsys):
    path = _write(tmp_path, DENSE_OK + "print('debug print')\n")
    code, records = _cli_json(path, capsys)
    assert code == 0 and len(records) == 1 and records[0]["passed"]
    assert records[0]["counterexample"] is None


def test_check_module_runs_the_file_not_the_imported_module(tmp_path):
    path = _write(tmp_path, DENSE_SIGN)
    module = type(os)("learner")
    module.__file__ = str(path)
    module.dense_backward = lambda a_prev, weight, grad_out: None   # never called
    (result,) = check_module(module)
    assert result.mistakes[0] == "sign_flipped"


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"timeout": 0}, r"check_file timeout must be a finite number in \(0, inf\), got 0"),
    ({"timeout": float("nan")}, "check_file timeout must be a finite number in"),
    ({"seed": -1}, "check_file seed must be an integer >= 0, got -1"),
])
def test_bad_arguments_are_value_errors(tmp_path, kwargs, words):
    with pytest.raises(ValueError, match=words):
        check_file(_write(tmp_path, DENSE_OK), **kwargs)


def test_cli_bad_timeout_is_a_usage_error(tmp_path, capsys):
    assert main(["check", "--timeout", "-1", str(_write(tmp_path, DENSE_OK))]) == 2
    assert "timeout must be a finite number in (0, inf), got -1.0" in capsys.readouterr().err


# -- what the file starts is stopped with it; the plain new-process path works too -----------
def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as file:
            return file.read().rsplit(")", 1)[1].split()[0] == "Z"      # a zombie is dead
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_processes_the_file_starts_are_killed_with_it(tmp_path):
    pid_file = tmp_path / "pid.txt"
    path = _write(tmp_path, DENSE_OK + f'''
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open({str(pid_file)!r}, "w").write(str(child.pid))
''')
    (result,) = check_file(path)
    assert result.passed
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _dead(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _dead(pid)


@pytest.mark.slow
@pytest.mark.parametrize("server", [True, False], ids=["fork-server", "new-process"])
def test_both_ways_of_starting_the_child_give_the_same_verdicts(tmp_path, monkeypatch, server):
    from deltaprop.practice import _processes

    monkeypatch.setattr(_processes, "USE_FORK_SERVER", server)
    path = _write(tmp_path, DENSE_SIGN + MOMENTUM_OK.replace(
        "    v = momentum", "    import os\n    os._exit(7)\n    v = momentum") + '''
import os, signal

def relu_backward(z, grad_out):
    os.kill(os.getpid(), signal.SIGSEGV)
''')
    results = _by_function(check_file(path))
    assert results["dense_backward"].mistakes[0] == "sign_flipped"
    assert "os._exit(7)" in results["momentum_step"].message
    assert "killed by SIGSEGV" in results["relu_backward"].message


@pytest.mark.slow
def test_the_new_process_path_stops_an_endless_loop(tmp_path, monkeypatch):
    from deltaprop.practice import _processes

    monkeypatch.setattr(_processes, "USE_FORK_SERVER", False)
    path = _write(tmp_path, MOMENTUM_OK + "\ndef dense_backward(a_prev, weight, grad_out):\n"
                  "    while True:\n        pass\n")
    results = _by_function(check_file(path, timeout=HANG))
    assert results["dense_backward"].error.startswith("LearnerTimeoutError")
    assert results["dense_backward"].line in (_line(path, "while True"), _line(path, "pass"))
    assert results["momentum_step"].passed


def test_a_huge_result_is_not_sent_back_and_is_a_wrong_shape(tmp_path):
    path = _write(tmp_path, '''
import numpy as np

def relu_backward(z, grad_out):
    return np.zeros(10**6)
''')
    (result,) = check_file(path)
    assert not result.passed and result.mistakes == ["wrong_shape"]
    assert "far too large (shape [1000000])" in result.message


def test_check_function_runs_only_that_function_of_the_file(tmp_path):
    from deltaprop.practice import SPECS, check_function

    path = _write(tmp_path, DENSE_SIGN + "\ndef momentum_step(*args):\n    while True:\n"
                  "        pass\n")
    started = time.monotonic()
    result = check_function(SPECS["dense_backward"], None, path, timeout=HANG)
    assert result.function == "dense_backward" and result.mistakes[0] == "sign_flipped"
    assert time.monotonic() - started < HANG                # momentum_step was never called


# -- nothing the file starts outlives the check; the fork server cannot be turned against it --
DAEMON = DENSE_OK + '''
import os, time

def momentum_step(weight, grad, velocity, lr, momentum):
    ready, written = os.pipe()
    if os.fork() == 0:                 # a daemon: double fork, a session of its own
        os.setsid()
        if os.fork() == 0:
            with open({pid_file!r}, "a") as file:
                file.write(f"{{os.getpid()}}\\n")
            os.write(written, b"!")
            time.sleep(60)
        os._exit(0)
    os.read(ready, 1)                  # its pid is written
    v = momentum * velocity + grad
    return weight - lr * v, v
'''


def _pids(path) -> list[int]:
    return [int(word) for word in path.read_text().split()]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_daemons_the_file_starts_are_killed_before_the_verdict(tmp_path):
    pid_file = tmp_path / "pids.txt"
    path = _write(tmp_path, DAEMON.format(pid_file=str(pid_file)))
    results = check_file(path)
    assert all(r.passed for r in results)
    pids = _pids(pid_file)
    assert len(pids) == 4 and all(_dead(pid) for pid in pids)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_concurrent_checks_each_judge_their_file_and_leave_nothing(tmp_path):
    import threading

    files = [tmp_path / f"pids{i}.txt" for i in range(3)]
    paths = [_write(tmp_path, DAEMON.format(pid_file=str(f)), f"learner{i}.py")
             for i, f in enumerate(files)]
    found: dict[int, list] = {}
    threads = [threading.Thread(target=lambda i=i: found.setdefault(i, check_file(paths[i])))
               for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(found) == [0, 1, 2]
    assert all(r.passed for results in found.values() for r in results)
    pids = [pid for f in files for pid in _pids(f)]
    assert len(pids) == 12 and all(_dead(pid) for pid in pids)


def test_a_huge_timeout_is_waited_for_not_a_crash(tmp_path):
    (result,) = check_file(_write(tmp_path, DENSE_OK), timeout=1e308)
    assert result.passed


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_a_stopped_fork_server_costs_the_time_limit_only(tmp_path, monkeypatch):
    from deltaprop.practice import _processes

    monkeypatch.setattr(_processes, "USE_FORK_SERVER", True)
    path = _write(tmp_path, DENSE_OK.replace("    return", "    import os, signal\n"
                  "    os.kill(os.getppid(), signal.SIGSTOP)\n    return"))
    started = time.monotonic()
    (result,) = check_file(path, timeout=HANG)
    assert time.monotonic() - started < HANG + 5
    assert result.passed                       # every call came back, and right


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_a_checker_killed_mid_run_leaves_no_process(tmp_path):
    import signal
    import subprocess
    import sys

    pid_file = tmp_path / "pids.txt"
    path = _write(tmp_path, f'''
import os

def relu_backward(z, grad_out):
    with open({str(pid_file)!r}, "w") as file:
        file.write(f"{{os.getpid()}} {{os.getppid()}}")
    while True:
        pass
''')
    checker = subprocess.Popen([sys.executable, "-c", "import sys; from deltaprop.practice "
                                "import check_file; check_file(sys.argv[1], timeout=60)",
                                str(path)], env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                                    sys.path), TMPDIR=str(tmp_path)))   # its work dir too
    try:
        deadline = time.monotonic() + 20
        while not (pid_file.exists() and pid_file.read_text().count(" ") == 1):
            assert time.monotonic() < deadline and checker.poll() is None
            time.sleep(0.02)
    finally:
        checker.send_signal(signal.SIGKILL)
        checker.wait()
    pids = _pids(pid_file)                     # the worker and the fork server
    deadline = time.monotonic() + 5
    while not all(_dead(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(_dead(pid) for pid in pids)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_directory_or_fifo_is_refused_by_name_before_it_is_opened(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "folder.py").mkdir()
    for name, words in (("pipe.py", "not a regular file"), ("folder.py", "is a directory")):
        with pytest.raises(ValueError, match=words):
            check_file(tmp_path / name)
        assert main(["check", str(tmp_path / name)]) == 2
        assert words in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no such file"):
        check_file(tmp_path / "missing.py")


def test_masked_entries_have_no_value_and_fail(tmp_path):
    path = _write(tmp_path, DENSE_OK.replace(
        "    return grad_out @ weight,",
        "    return np.ma.masked_array(grad_out @ weight, mask=True),"))
    (result,) = check_file(path)
    assert not result.passed and "grad_a_prev contains NaN" in result.message


@pytest.mark.parametrize(("returned", "words"), [
    ("dict(a=1)", "got not an array of numbers (dtype object, dict)"),
    ("(x for x in range(3))", "got not an array of numbers (dtype object, generator)"),
    ("None", "got None"),
    ("np.zeros(3)", "got an array of shape (3,)"),
    ("[grad_out, grad_out]", "got list of length 2"),
    ("(grad_out, grad_out, [str(x) for x in range(3)])", "grad_bias is not an array of "
                                                         "numbers (dtype <U1, str)"),
])
def test_a_wrong_return_value_is_described_by_what_it_is(tmp_path, returned, words):
    path = _write(tmp_path, f"import numpy as np\n\ndef dense_backward(a_prev, weight, "
                  f"grad_out):\n    return {returned}\n")
    (result,) = check_file(path)
    assert not result.passed and words in result.message


def test_an_extra_function_beside_the_marked_topic_is_judged_too(tmp_path, capsys):
    extra = "\ndef relu_backward(z, grad_out):\n    return grad_out\n"
    path = _write(tmp_path, 'DELTAPROP_TOPIC = "dense"\n' + DENSE_OK + extra)
    results = _by_function(check_file(path))
    assert list(results) == ["dense_backward", "relu_backward"]
    assert results["dense_backward"].passed and not results["relu_backward"].passed
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().out.endswith("1/2 functions passed\n")
    broken = _write(tmp_path, 'DELTAPROP_TOPIC = "dense"\n' + DENSE_OK + extra + "1/0\n")
    assert [r.function for r in check_file(broken)] == ["<import>", "dense_backward",
                                                        "relu_backward"]


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_answers_forged_into_the_fork_server_pipe_mislead_no_later_check(tmp_path,
                                                                          monkeypatch):
    from deltaprop.practice import _processes

    monkeypatch.setattr(_processes, "USE_FORK_SERVER", True)
    forger = _write(tmp_path, '''
import os

def relu_backward(z, grad_out):
    fd = os.open(f"/proc/{os.getppid()}/fd/1", os.O_WRONLY)   # the server's answers
    os.write(fd, b"status 0\\npid 2147483647\\nstatus 0\\n")
    return grad_out * (z > 0)
''', "forger.py")
    (forged,) = check_file(forger)
    # its right values may all be back before the forgery is read: then it passes, honestly
    assert forged.passed or "stopped answering as agreed" in forged.message
    for _ in range(3):                        # later files are judged on their own runs
        (result,) = check_file(_write(tmp_path, DENSE_OK))
        assert result.passed, result.message


@pytest.mark.parametrize("hide", [
    "del relu_backward\n",
    # a forged record that lists only dense_backward, written while dense_backward runs
    "def _forge():\n    import json, os, sys\n    with open(os.path.join(sys.argv[1], "
    "'results.jsonl'), 'a') as file:\n        file.write(json.dumps({'event': 'loaded', "
    "'topic': None, 'functions': ['dense_backward']}) + '\\n')\n",
], ids=["deleted", "forged-record"])
def test_a_function_in_the_source_cannot_be_hidden_from_the_verdict(tmp_path, capsys, hide):
    code = DENSE_OK.replace("    return", "    globals().get('_forge', print)()\n    return")
    path = _write(tmp_path, code + "\ndef relu_backward(z, grad_out):\n    return z\n" + hide)
    results = _by_function(check_file(path))
    assert results["dense_backward"].passed and not results["relu_backward"].passed
    assert main(["check", str(path)]) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_put_in_place_of_the_results_and_source_are_never_waited_on(tmp_path):
    path = _write(tmp_path, '''
import os, sys

def relu_backward(z, grad_out):
    for name in ("results.jsonl", "trace.txt"):   # read back by the checker after the run
        target = os.path.join(sys.argv[1], name)
        if os.path.exists(target):
            os.unlink(target)
        os.mkfifo(target)
    os.unlink(__file__)
    os.mkfifo(__file__)                       # its own source too
    import signal
    os.kill(os.getpid(), signal.SIGKILL)
''')
    started = time.monotonic()
    (result,) = check_file(path, timeout=HANG)
    assert not result.passed and "killed by SIGKILL" in result.message
    assert time.monotonic() - started < HANG


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_a_flood_into_the_fork_server_stdin_ends_that_server_not_the_check(tmp_path,
                                                                          monkeypatch):
    from deltaprop.practice import _processes

    monkeypatch.setattr(_processes, "USE_FORK_SERVER", True)
    pid_file = tmp_path / "server.txt"
    path = _write(tmp_path, DENSE_OK + f'''
import os

def relu_backward(z, grad_out):
    with open({str(pid_file)!r}, "w") as file:
        file.write(str(os.getppid()))
    fd = os.open(f"/proc/{{os.getppid()}}/fd/0", os.O_WRONLY)
    os.write(fd, b"x" * 2**20)                # 1 MiB into the server's commands, no newline
    return grad_out * (z > 0)
''')
    results = _by_function(check_file(path))
    assert results["dense_backward"].passed
    assert "stopped answering as agreed" in results["relu_backward"].message
    assert _dead(int(pid_file.read_text()))   # it ended instead of keeping the flood
    (result,) = check_file(_write(tmp_path, DENSE_OK, "next.py"))
    assert result.passed


def test_a_flood_of_records_is_cut_at_what_the_plan_can_write(tmp_path):
    path = _write(tmp_path, '''
import json, os, sys

def relu_backward(z, grad_out):
    line = json.dumps({"event": "start", "call": 0}) + "\\n"
    with open(os.path.join(sys.argv[1], "results.jsonl"), "a") as file:
        file.write(line * 200_000)            # 5 MB of records: never held in memory
    return grad_out * (z > 0)
''')
    (result,) = check_file(path)
    assert not result.passed and "records, more than the plan can write" in result.message


@pytest.mark.slow
def test_a_checker_with_many_files_open_still_checks(tmp_path):
    from deltaprop.practice import _processes

    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if min(soft, hard) < 1200:
        pytest.skip("needs 1200 open files")
    opened = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        _processes.discard_server()               # the next server's pipes get fds > 1023
        (result,) = check_file(_write(tmp_path, DENSE_OK))
    finally:
        _processes.discard_server()
        for fd in opened:
            os.close(fd)
    assert result.passed


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs bytes in file names")
def test_a_temporary_folder_whose_name_is_not_utf8_works(tmp_path, monkeypatch):
    import tempfile

    folder = os.fsdecode(os.fsencode(str(tmp_path)) + b"/t\xff")
    os.mkdir(folder)
    monkeypatch.setattr(tempfile, "tempdir", folder)
    (result,) = check_file(_write(tmp_path, DENSE_OK))
    assert result.passed


def test_a_file_without_the_py_suffix_is_read_as_python(tmp_path):
    (result,) = check_file(_write(tmp_path, DENSE_SIGN, "solution.txt"))
    assert result.mistakes[0] == "sign_flipped"


@pytest.mark.parametrize("raised", [
    "SyntaxError(5)", "SyntaxError('x', (7, 1, 1, 'y'))", "SystemExit(Bad())",
    "ValueError(Bad())",
])
def test_an_exception_that_cannot_describe_itself_is_still_its_functions_fail(tmp_path,
                                                                               raised):
    path = _write(tmp_path, f'''
class Bad:
    def __repr__(self):
        raise RuntimeError("no repr")
    __str__ = __repr__

def relu_backward(z, grad_out):
    raise {raised}
''')
    (result,) = check_file(path)
    assert not result.passed and result.error.startswith(raised.split("(")[0])
    assert result.line == _line(path, "raise " + raised)


def test_a_working_directory_that_was_removed_does_not_stop_the_check(tmp_path, monkeypatch):
    path = _write(tmp_path, DENSE_OK)
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    (result,) = check_file(path)
    assert result.passed
