#!/usr/bin/python3
# apache-cgi-flask anchor: the Flask app as a CGI script, exactly Flask's CGI
# deployment recipe (docs: "Deploying to Production" > CGI). mod_cgid starts
# one Python process per request, which imports Flask and the app, answers
# once and exits. The app module sits next to this script (sys.path[0]).
from wsgiref.handlers import CGIHandler

from yourapplication import app

CGIHandler().run(app)
