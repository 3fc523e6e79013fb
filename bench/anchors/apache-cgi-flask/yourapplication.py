# The Flask app of the Flask anchors (the same file in each anchor directory:
# each directory is its own docker build context). One route, the benchmark's
# GET /hello; anything else is Flask's own 404.
from flask import Flask, Response

app = Flask(__name__)


@app.route("/hello")
def hello():
    # Our app's /hello: 14 bytes, "text/plain; charset=utf-8" (Flask adds the
    # charset to a text/* mimetype), Content-Length set by Flask.
    return Response("Hello, World!\n", mimetype="text/plain")
