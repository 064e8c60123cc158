"""A faithful fake of JD's open platform (JOS): ``/routerjson``, refund applications and
after-sale service orders, platform timers, faults and the shared ``/__mock`` control API."""

from mocks.jd.app import create_app
from mocks.jd.config import JdConfig, JdShop
from mocks.jd.state import JdMock

__all__ = ["JdConfig", "JdMock", "JdShop", "create_app"]
