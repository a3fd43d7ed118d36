"""The sandbox's own fake credentials and addresses (light: no Starlette, no uvicorn)."""

DEFAULT_ACCOUNT_ID = "sandbox"
# Not a secret: the sandbox's own fake credential, printed on purpose when it is served.
DEFAULT_SECRET_KEY = "sandbox-secret"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# The in-process transport's base URL. It is never connected to (the transport answers in
# process), but the client allows plain http only for exactly "localhost" or a loopback literal.
IN_PROCESS_BASE_URL = "http://localhost"
