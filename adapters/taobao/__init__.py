"""Taobao / Tmall (TOP) adapter; registered as the ``taobao`` entry point."""

from adapters.taobao.adapter import TaobaoAdapter
from adapters.taobao.settings import TaobaoSettings

__all__ = ["TaobaoAdapter", "TaobaoSettings"]
