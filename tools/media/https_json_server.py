#!/usr/bin/python3
"""HTTPS server for RESTful-source tests (loopback only).

Usage: /usr/bin/python3 https_json_server.py PORT CERT KEY BODY [HEADER=VALUE]
Answers every GET with BODY as application/json; with HEADER=VALUE, requests lacking that header
get 401. Prints READY once listening.
"""
import http.server
import ssl
import sys

port, cert, key, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].encode()
need = sys.argv[5].split('=', 1) if len(sys.argv) > 5 else None


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if need and self.headers.get(need[0]) != need[1]:
            self.send_response(401)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(('127.0.0.1', port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print('READY', flush=True)
server.serve_forever()
