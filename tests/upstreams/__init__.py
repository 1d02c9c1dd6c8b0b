"""Real upstream servers the tests start on 127.0.0.1 (port 0): petstore (OpenAPI), ..."""
