import atexit
import os
import shutil
import tempfile

# Nothing may be fetched from the Hub in tests; this must be set before huggingface_hub is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# A datasets cache of this test session's own: the user-wide ~/.cache is shared by every checkout, and
# pytest's tmp paths repeat across runs, so a folder loaded by one checkout's run could be served,
# stale (absolute paths into that checkout), to another's. Set before `datasets` is imported.
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="hf-graph4mm-tests-datasets-")
atexit.register(shutil.rmtree, os.environ["HF_DATASETS_CACHE"], ignore_errors=True)

import pytest  # noqa: E402
import torch  # noqa: E402

# Without a GPU, Triton kernels can only run in the interpreter (correctness only, never timing).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

# Tiny tensors: one thread avoids oversubscribing the 2 CI cores (2 threads made tiny steps ~50x slower under load).
torch.set_num_threads(1)


@pytest.fixture
def single_thread():
    """These tensors are tiny: one thread avoids OpenMP sync costs that dominate on a shared 2-core box.

    Restores the thread count afterwards (a test may have changed it); modules that want it for every
    test say ``pytestmark = pytest.mark.usefixtures("single_thread")``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
