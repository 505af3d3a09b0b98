"""The web application: REST API, dashboard and reports, limited by role and scope.

>>> from sapa.store import make_engine
>>> from sapa.web import create_app
>>> app = create_app(make_engine("sqlite://"), secure_cookies=False)
>>> app.title
'Sapa'

Run it with ``sapa serve``; create accounts with ``sapa user add``.
"""

from sapa.web.access import DataAccess, NotFound, Principal
from sapa.web.accounts import add_user
from sapa.web.app import create_app

__all__ = ["DataAccess", "NotFound", "Principal", "add_user", "create_app"]
