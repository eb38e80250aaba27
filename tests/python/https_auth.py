"""Requests every given route of an HTTPS `eddy server` with Python's `requests`, verifying
the server's certificate against the CA file given, under several credentials.

Reads JSON on stdin: {"base": URL, "ca": PEM path, "paths": [...], "methods": [...],
"credentials": {"label": [user, password] or null}}; prints one JSON object a line:
{"label", "method", "path", "status", "body" (at most 300 characters), "challenge"}.
"""

import json
import sys

import requests


def main():
    spec = json.load(sys.stdin)
    with requests.Session() as session:
        for label, credentials in spec["credentials"].items():
            auth = tuple(credentials) if credentials else None
            for path in spec["paths"]:
                for method in spec["methods"]:
                    # stream=True: the status is enough; streaming endpoints never end.
                    response = session.request(
                        method, spec["base"] + path, auth=auth, data=b"",
                        # Per request: a session's `verify` loses to REQUESTS_CA_BUNDLE.
                        verify=spec["ca"],
                        stream=True, timeout=30,
                    )
                    body = ""
                    if response.status_code == 401:
                        body = response.text[:300]
                    response.close()
                    print(json.dumps({
                        "label": label,
                        "method": method,
                        "path": path,
                        "status": response.status_code,
                        "body": body,
                        "challenge": response.headers.get("WWW-Authenticate", ""),
                    }), flush=True)


if __name__ == "__main__":
    main()
