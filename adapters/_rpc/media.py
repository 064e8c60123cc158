"""Buyer evidence from media URLs: platforms send pictures and videos in one list of links, so
the kind is read from the file's suffix (a video's suffix, else a photo)."""

from __future__ import annotations

from urllib.parse import urlsplit

from connector.models import Evidence, EvidenceKind

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".m4v", ".webm")


def url_evidence(url: str) -> Evidence:
    """One evidence item for a media link; the query string does not decide the kind."""
    is_video = urlsplit(url).path.lower().endswith(VIDEO_SUFFIXES)
    return Evidence(kind=EvidenceKind.video if is_video else EvidenceKind.photo, url=url)
