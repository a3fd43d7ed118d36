"""The sandbox's own fake credentials and addresses (light: no Starlette, no uvicorn)."""

DEFAULT_ACCOUNT_ID = "sandbox"
# Not a secret: the sandbox's own fake credential, printed on purpose when it is served.
DEFAULT_SECRET_KEY = "sandbox-secret"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# The in-process transport's base URL: a ".localhost" name, which the client allows over http.
IN_PROCESS_BASE_URL = "http://sandbox.localhost"
