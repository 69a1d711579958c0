"""Download events of an artifact's history: one per artifact fetched in a row, by caller."""

from __future__ import annotations

from services.tracking.downloads import WINDOW, with_download

UPLOAD = {"event": "upload", "at": "2024-01-01T00:00:00.000Z", "by": "ann"}


def test_files_fetched_in_a_row_are_one_download() -> None:
    first = with_download([UPLOAD], "bob", "2024-01-01T00:01:00.000Z")
    assert first == [UPLOAD, {"event": "download", "at": "2024-01-01T00:01:00.000Z", "by": "bob", "files": 1,
                              "last": "2024-01-01T00:01:00.000Z"}]
    second = with_download(first, "bob", "2024-01-01T00:01:30.000Z")
    assert second[1]["files"] == 2 and second[1]["last"] == "2024-01-01T00:01:30.000Z" and len(second) == 2


def test_another_caller_or_a_pause_is_another_download() -> None:
    bob = with_download([UPLOAD], "bob", "2024-01-01T00:01:00.000Z")
    ann = with_download(bob, "ann", "2024-01-01T00:01:01.000Z")
    assert [(h["event"], h["by"]) for h in ann] == [("upload", "ann"), ("download", "bob"), ("download", "ann")]
    later = with_download(bob, "bob", f"2024-01-01T00:0{1 + int(WINDOW // 60) + 1}:00.000Z")
    assert [h.get("files") for h in later] == [None, 1, 1]
