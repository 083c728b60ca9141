"""Image downloads against a local HTTP server: 404s, a slow response, a corrupt image, a flaky 503."""

import http.server
import io
import threading
from collections import Counter

import pytest
from PIL import Image

from hf_graph4mm.data.wikiweb2m.download import DownloadJob, RateLimiter, download_images
from hf_graph4mm.data.wikiweb2m.pages import FEATURE_KINDS
from hf_graph4mm.data.wikiweb2m.tfrecord import encode_sequence_example, write_tfrecord


def image_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 5), (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


class ImageServer:
    """Serves /ok.png, /ok.jpg, /missing.png (404), /slow.png (answers only when the server
    stops, so every client times out however loaded the machine), /corrupt.jpg (valid JPEG
    header, garbage body) and /flaky.png (503 on the first request)."""

    def __init__(self):
        self.requests: Counter = Counter()
        self.user_agents: set = set()
        self.stopping = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server.requests[self.path] += 1
                server.user_agents.add(self.headers.get("User-Agent"))
                if self.path == "/missing.png":
                    return self.send_error(404)
                if self.path == "/flaky.png" and server.requests[self.path] == 1:
                    return self.send_error(503)
                if self.path == "/slow.png":
                    server.stopping.wait(30)
                body = {
                    "/ok.png": image_bytes("PNG"),
                    "/ok.jpg": image_bytes("JPEG"),
                    "/slow.png": image_bytes("PNG"),
                    "/flaky.png": image_bytes("PNG"),
                    "/corrupt.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
                }.get(self.path)
                if body is None:
                    return self.send_error(404)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.handle_error = lambda request, address: None  # the slow reply finds its client gone
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with ImageServer() as running:
        yield running


# A timeout generous for a loaded machine: only /slow.png, which never answers in time, hits it.
FAST = {"timeout": 1.0, "retries": 2, "backoff": 0.01, "requests_per_second": None, "progress": False}
NAMES = ["ok.png", "ok.jpg", "missing.png", "slow.png", "corrupt.jpg", "flaky.png", "file:///etc/hostname"]


def test_download_reports_failures_retries_what_is_worth_it_and_resumes(server, tmp_path):
    jobs = [DownloadJob(f"{server.url}/{name}", str(tmp_path / "img" / name)) for name in NAMES[:-1]]
    jobs.append(DownloadJob(NAMES[-1], str(tmp_path / "img" / "local.png")))
    report = download_images(jobs, num_workers=4, user_agent="tester/1.0 (me@example.org)", **FAST)

    assert report.downloaded == 3 and report.skipped == 0
    assert report.failures == {
        f"{server.url}/missing.png": "HTTP 404",
        f"{server.url}/slow.png": "timeout",
        f"{server.url}/corrupt.jpg": "not a readable image",
        "file:///etc/hostname": "not an http(s) URL",
    }
    assert "3 downloaded, 0 already present, 4 failed" in report.summary()
    saved = sorted(p.name for p in (tmp_path / "img").iterdir())
    assert saved == ["flaky.png", "ok.jpg", "ok.png"]  # nothing half-written, no temporary files
    assert Image.open(tmp_path / "img" / "ok.jpg").size == (6, 5)
    assert server.requests["/missing.png"] == 1  # a 404 is final
    assert server.requests["/corrupt.jpg"] == 1
    assert server.requests["/flaky.png"] == 2  # 503, then success
    assert server.requests["/slow.png"] == 3  # first try + 2 retries, each timing out
    assert server.user_agents == {"tester/1.0 (me@example.org)"}

    before = sum(server.requests.values())
    again = download_images(jobs[:2] + [jobs[5]], num_workers=2, **FAST)  # ok.png, ok.jpg, flaky.png
    assert again.skipped == 3 and again.downloaded == 0 and not again.failures
    assert sum(server.requests.values()) == before  # files already there are not fetched again


def test_rate_limiter_spaces_request_starts():
    clock, slept = [0.0], []
    limiter = RateLimiter(10, clock=lambda: clock[0], sleep=slept.append)
    for _ in range(4):
        limiter.wait()
    assert slept == pytest.approx([0.1, 0.2, 0.3])  # reserved slots 0, 0.1, 0.2, 0.3 at time 0
    clock[0] = 5.0  # after a pause, no debt is carried over
    limiter.wait()
    assert len(slept) == 3
    with pytest.raises(ValueError, match="rate limit must be positive"):
        RateLimiter(0)


def test_shared_rate_limit_holds_across_threads(server, tmp_path):
    # A clock that never moves and a sleep that only records: the six request starts must ask
    # for the five spaced slots of one shared limiter, whatever the threads' timing.
    slept, lock = [], threading.Lock()

    def record(seconds):
        with lock:
            slept.append(seconds)

    limiter = RateLimiter(20, clock=lambda: 0.0, sleep=record)
    jobs = [DownloadJob(f"{server.url}/ok.png", str(tmp_path / f"{i}.png")) for i in range(6)]
    report = download_images(jobs, num_workers=6, rate_limiter=limiter, **FAST)
    assert report.downloaded == 6
    assert sorted(slept) == pytest.approx([0.05, 0.10, 0.15, 0.20, 0.25])


def page(split: str, urls_per_section: list[list[str]]) -> bytes:
    n = len(urls_per_section)
    lists = {
        "section_title": [[f"S{i}"] for i in range(n)],
        "section_parent_index": [[-1]] * n,
        "section_image_url": urls_per_section,
        "section_image_captions": [[""] * len(urls) for urls in urls_per_section],
    }
    return encode_sequence_example({"split": [split], "page_title": ["T"]}, lists, FEATURE_KINDS)


def test_download_images_command_names_files_like_the_published_pipeline(
    server, tmp_path, capsys, load_dataset_script
):
    raw, images = tmp_path / "raw", tmp_path / "images"
    raw.mkdir()
    write_tfrecord(raw / "wikiweb2m-a.tfrecord.gz", [page("train", [[f"{server.url}/ok.png"]])])
    write_tfrecord(
        raw / "wikiweb2m-b.tfrecord.gz",
        [page("test", [[], ["", f"{server.url}/ok.jpg", f"{server.url}/missing.png"]])],
    )
    argv = [
        "download-images",
        "--raw-dir",
        str(raw),
        "--images-dir",
        str(images),
        "--no-progress",
        "--rate",
        "0",
    ]
    assert load_dataset_script("wikiweb2m").main([*argv, "--backoff", "0.01", "--timeout", "2"]) == 0
    assert sorted(p.name for p in images.iterdir()) == ["0_0_0.png", "1_1_1.jpg", "download_failures.tsv"]
    assert (images / "download_failures.tsv").read_text() == f"{server.url}/missing.png\tHTTP 404\n"
    assert "2 downloaded, 0 already present, 1 failed (1 x HTTP 404)" in capsys.readouterr().out
