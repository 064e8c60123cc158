"""JD POP (JOS) adapter; registered as the ``jd`` entry point."""

from adapters.jd.adapter import JdAdapter
from adapters.jd.settings import JdSettings

__all__ = ["JdAdapter", "JdSettings"]
