"""A minimal Pulumi Cloud stand-in for bench/cloud-open.sh: answers the two
requests of an open (POST .../open, GET .../open/bench) with a canned
Environment, checking the token. Prints its port, then serves until killed.
"""
import http.server
import json
import sys

TOKEN = sys.argv[1]
ENV = json.dumps({
    "properties": {
        "app": {"value": {"url": {"value": "https://dev.example"}}},
        "pw": {"value": "hunter2", "secret": True},
        "environmentVariables": {"value": {
            "APP_URL": {"value": "https://dev.example"},
            "PW": {"value": "hunter2", "secret": True}}},
    },
    "schema": {}, "exprs": {}, "executionContext": {"properties": {}, "schema": {}},
}).encode()
PREFIX = "/api/esc/environments/acme/app/dev/open"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        if self.headers.get("Authorization") != "token " + TOKEN:
            self.reply(401, b'{"code": 401, "message": "Unauthorized"}')
            return False
        return True

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.authorized() and self.path.startswith(PREFIX + "?duration="):
            self.reply(200, b'{"id": "bench"}')
        elif self.authorized():
            self.reply(404, b'{"code": 404, "message": "not found"}')

    def do_GET(self):
        if self.authorized() and self.path == PREFIX + "/bench":
            self.reply(200, ENV)
        elif self.authorized():
            self.reply(404, b'{"code": 404, "message": "not found"}')

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
