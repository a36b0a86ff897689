"""A tiny HTTP client for the ambassador's API in tests (standard library
only): prints the status and the body, and can sign an action the way
docs/protocol.md "HTTP" says.

usage: ffhttp.py get URL
       ffhttp.py post URL [--secret FILE] [--skew SECONDS] [--host HOST]
                        [--no-action-header] [--repeat]"""
import hashlib
import hmac
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def mac(secret, ts, method, path):
    msg = f"framefarm-http\n{ts}\n{method}\n{path}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def request(method, url, headers):
    req = urllib.request.Request(url, method=method, headers=headers,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main():
    method, url, args = sys.argv[1].upper(), sys.argv[2], sys.argv[3:]
    headers = {}
    if method == "POST" and "--no-action-header" not in args:
        headers["X-Framefarm-Action"] = "1"
    if "--host" in args:
        headers["Host"] = args[args.index("--host") + 1]
    if "--secret" in args:
        secret = open(args[args.index("--secret") + 1], "rb").read()
        if secret.endswith(b"\n"):
            secret = secret[:-1]
        skew = int(args[args.index("--skew") + 1]) if "--skew" in args else 0
        ts = int(time.time()) + skew
        path = urllib.parse.urlsplit(url).path
        headers["Authorization"] = f"Framefarm {ts} {mac(secret, ts, method, path)}"
    for _ in range(2 if "--repeat" in args else 1):
        status, body = request(method, url, headers)
        print(status, body)


if __name__ == "__main__":
    main()
