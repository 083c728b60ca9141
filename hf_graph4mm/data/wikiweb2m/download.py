"""Polite, resumable, parallel image downloads (used for WikiWeb2M's image URLs).

- parallel: a thread pool, with a bounded number of jobs in flight so millions of URLs
  never sit in memory at once;
- resumable: a file already at its destination is skipped; files are written to a
  temporary name and moved into place with ``os.replace``, so an interrupted run never
  leaves a half-written image under the final name;
- polite: one shared rate limit across threads, a User-Agent, retries with exponential
  backoff only on errors worth retrying (timeouts, connection errors, 429 and 5xx), and
  ``Retry-After`` honoured;
- checked: the bytes must open as an image with PIL, else the download is rejected;
- reported: a tqdm progress bar and a :class:`DownloadReport` of failures by reason.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import io
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = (
    "hf-graph4mm/0.1 (research dataset image download; https://pypi.org/project/hf-graph4mm/)"
)
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class DownloadJob:
    url: str
    path: str  # final destination


class DownloadFailed(Exception):
    def __init__(self, reason: str, retryable: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.retryable, self.retry_after = reason, retryable, retry_after


@dataclass
class DownloadReport:
    downloaded: int = 0
    skipped: int = 0  # already on disk from an earlier run
    failures: dict[str, str] = field(default_factory=dict)  # url -> reason

    def summary(self) -> str:
        reasons = Counter(self.failures.values())
        detail = "; ".join(f"{count} x {reason}" for reason, count in reasons.most_common())
        return (
            f"{self.downloaded} downloaded, {self.skipped} already present, {len(self.failures)} failed"
            + (f" ({detail})" if detail else "")
        )


class RateLimiter:
    """At most ``per_second`` request starts per second, shared by all threads (None = no limit)."""

    def __init__(
        self,
        per_second: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if per_second is not None and per_second <= 0:
            raise ValueError(f"rate limit must be positive requests per second, got {per_second}")
        self.interval = 1.0 / per_second if per_second else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:  # reserve the next slot, then sleep outside the lock
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


def _fetch(url: str, *, timeout: float, user_agent: str, max_bytes: int) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):  # no file:// or ftp:// from a shard
        raise DownloadFailed("not an http(s) URL")
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(max_bytes + 1)
    except urllib.error.HTTPError as error:
        retry_after = error.headers.get("Retry-After") if error.headers else None
        raise DownloadFailed(
            f"HTTP {error.code}",
            retryable=error.code in RETRYABLE_STATUS,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        ) from error
    except (OSError, http.client.HTTPException) as error:  # timeouts, resets, cut-off bodies
        reason = getattr(error, "reason", error)
        kind = (
            "timeout"
            if isinstance(reason, TimeoutError) or "timed out" in str(reason)
            else "connection error"
        )
        raise DownloadFailed(kind, retryable=True) from error
    if len(data) > max_bytes:
        raise DownloadFailed(f"larger than {max_bytes} bytes")
    return data


def _check_image(data: bytes) -> None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()  # checks structure and checksums without decoding every pixel
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DownloadFailed("not a readable image") from error


def _write_atomically(path: str, data: bytes) -> None:
    temporary = f"{path}.part-{os.getpid()}-{threading.get_ident()}"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@dataclass
class _Settings:
    timeout: float
    retries: int
    backoff: float
    max_backoff: float
    user_agent: str
    max_bytes: int
    limiter: RateLimiter


def _download_one(job: DownloadJob, settings: _Settings) -> str:
    """Returns "downloaded" or "skipped"; raises DownloadFailed with the final reason."""
    if os.path.exists(job.path):
        return "skipped"
    for attempt in range(settings.retries + 1):
        settings.limiter.wait()
        try:
            data = _fetch(
                job.url,
                timeout=settings.timeout,
                user_agent=settings.user_agent,
                max_bytes=settings.max_bytes,
            )
            break
        except DownloadFailed as failure:
            if not failure.retryable or attempt == settings.retries:
                raise
            delay = failure.retry_after or settings.backoff * 2**attempt
            time.sleep(min(delay, settings.max_backoff))
    _check_image(data)
    _write_atomically(job.path, data)
    return "downloaded"


def download_images(
    jobs: Iterable[DownloadJob],
    *,
    num_workers: int = 8,
    requests_per_second: float | None = 5.0,
    timeout: float = 20.0,
    retries: int = 3,
    backoff: float = 1.0,
    max_backoff: float = 60.0,
    user_agent: str = DEFAULT_USER_AGENT,
    max_bytes: int = 50 * 2**20,
    total: int | None = None,
    progress: bool = True,
    rate_limiter: RateLimiter | None = None,
) -> DownloadReport:
    """Download every job's URL to its path; never raises for a single failed image.

    ``total`` only sizes the progress bar. Destination folders are created as needed.
    ``rate_limiter`` replaces the one made from ``requests_per_second`` (to share one limit
    between calls, or to test with a fake clock).
    """
    if num_workers < 1:
        raise ValueError(f"num_workers must be at least 1, got {num_workers}")
    limiter = rate_limiter if rate_limiter is not None else RateLimiter(requests_per_second)
    settings = _Settings(timeout, retries, backoff, max_backoff, user_agent, max_bytes, limiter)
    report = DownloadReport()
    made_dirs: set[str] = set()
    bar = tqdm(total=total, unit="img", desc="images", disable=not progress)

    def collect(future: concurrent.futures.Future, job: DownloadJob) -> None:
        try:
            outcome = future.result()
        except DownloadFailed as failure:
            report.failures[job.url] = failure.reason
        except OSError as error:  # disk full, permissions: report, keep going
            report.failures[job.url] = f"write error: {error.strerror or error}"
        except Exception as error:  # one odd response must not stop millions of downloads
            report.failures[job.url] = f"unexpected {type(error).__name__}: {error}"
        else:
            if outcome == "skipped":
                report.skipped += 1
            else:
                report.downloaded += 1
        bar.update(1)

    in_flight: dict[concurrent.futures.Future, DownloadJob] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=num_workers) as pool:
        for job in jobs:
            folder = os.path.dirname(job.path) or "."
            if folder not in made_dirs:
                os.makedirs(folder, exist_ok=True)
                made_dirs.add(folder)
            in_flight[pool.submit(_download_one, job, settings)] = job
            if len(in_flight) >= 4 * num_workers:  # bounded: the job stream may be millions long
                done, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    collect(future, in_flight.pop(future))
        for future in concurrent.futures.as_completed(list(in_flight)):
            collect(future, in_flight.pop(future))
    bar.close()
    log = logger.warning if report.failures else logger.info
    log("image download: %s", report.summary())
    return report
