"""Shared fixtures of the model tests."""
import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a test module (``pytestmark = pytest.mark.usefixtures("one_thread")``).

    Tiny tensors: one intra-op thread is fastest, and immune to OpenMP spin-waiting when the machine is
    loaded (seen here: 2 threads on a busy 2-core box made a 0.3 s test take 15 s)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
