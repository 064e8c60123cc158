"""A faithful fake of the Taobao/Tmall Open Platform (TOP) refund APIs, as a real HTTP server."""

from mocks.taobao.app import create_app
from mocks.taobao.config import DEFAULT_TIMERS, ShopConfig, TaobaoConfig
from mocks.taobao.state import TaobaoMock

__all__ = ["DEFAULT_TIMERS", "ShopConfig", "TaobaoConfig", "TaobaoMock", "create_app"]
