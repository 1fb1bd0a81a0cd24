"""A stand-in for WeChat's server API while scripts/fuzz-api.sh runs (loopback only).

The app in dev mode without WeChat credentials cannot reach WeChat, so sign-in with a WeChat code and
phone binding would only ever answer 503; with this fake they run their real code paths. It accepts
appid `wx-fuzz-appid` and secret `wx-fuzz-secret`. A login or phone code of at least 8 characters is
valid (the openid is derived from it), a shorter one is refused like an unknown code (40029). Every
text passes the content check. Usage: python3 fuzz_wechat.py PORT_FILE (writes the port it listens on).
"""

import hashlib
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

APPID = "wx-fuzz-appid"
SECRET = "wx-fuzz-secret"
# The smallest valid PNG: 1×1, one grey pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c6360000000020001e221bc330000000049454e44ae426082"
)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status=200, body=None, content_type="application/json", raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("content-length") or 0)
        try:
            value = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path != "/sns/jscode2session":
            return self.reply(404, {"errcode": 404, "errmsg": "not found"})
        if query.get("appid") != APPID or query.get("secret") != SECRET:
            return self.reply(body={"errcode": 40013, "errmsg": "invalid appid"})
        code = query.get("js_code", "")
        if len(code) < 8:
            return self.reply(body={"errcode": 40029, "errmsg": "invalid code"})
        digest = hashlib.sha256(code.encode()).hexdigest()
        return self.reply(body={"openid": f"fuzz-{digest[:24]}", "session_key": f"{digest[:22]}=="})

    def do_POST(self):
        url = urlparse(self.path)
        body = self.body()
        if url.path == "/cgi-bin/stable_token":
            return self.reply(body={"access_token": "fuzz-access-token", "expires_in": 7200})
        if url.path == "/wxa/business/getuserphonenumber":
            if len(str(body.get("code", ""))) < 8:
                return self.reply(body={"errcode": 40029, "errmsg": "invalid code"})
            info = {
                "phoneNumber": "13800138000",
                "purePhoneNumber": "13800138000",
                "countryCode": "86",
                "watermark": {"timestamp": int(time.time()), "appid": APPID},
            }
            return self.reply(body={"errcode": 0, "errmsg": "ok", "phone_info": info})
        if url.path == "/cgi-bin/message/subscribe/send":
            return self.reply(body={"errcode": 0, "errmsg": "ok", "msgid": int(time.time() * 1000)})
        if url.path == "/wxa/msg_sec_check":
            result = {"suggest": "pass", "label": 100}
            detail = [{"strategy": "content_model", "errcode": 0, "suggest": "pass", "label": 100, "prob": 90}]
            return self.reply(body={"errcode": 0, "errmsg": "ok", "result": result, "detail": detail, "trace_id": "fuzz"})
        if url.path == "/wxa/getwxacodeunlimit":
            return self.reply(raw=PNG, content_type="image/png")
        return self.reply(404, {"errcode": 404, "errmsg": "not found"})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1], "w") as out:
        out.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
