# The two commands of the README: `make run` and `make test`.
.PHONY: run test setup lint bench demo-pki package

setup:
	@scripts/setup.sh

run: setup
	scripts/run.sh

test: setup
	.venv/bin/ruff check .
	.venv/bin/mypy --strict signer_app/crypto signer_app/service signer_app/api signer_app/ui ca_server
	.venv/bin/python -m pytest -q

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy --strict signer_app/crypto signer_app/service signer_app/api signer_app/ui ca_server

bench: setup
	.venv/bin/python -m bench

demo-pki: setup
	.venv/bin/qalam-ca demo-pki --out certs

# dist/qalam/ (one folder, PyInstaller) and dist/qalam-<version>-linux-<arch>.tar.gz.
package: setup
	packaging/build.sh
