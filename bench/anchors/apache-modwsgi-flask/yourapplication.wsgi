# apache-modwsgi-flask anchor: the WSGI script file mod_wsgi loads, as in
# Flask's mod_wsgi deployment docs: it imports the app as `application`.
# Loaded once per daemon process (not per request).
import sys

sys.path.insert(0, "/srv/yourapplication")

from yourapplication import app as application  # noqa: E402
