"""The client config the ``cadre`` CLI reads (client/config.h), read the same way:
``$CADRE_CONFIG``, then ``./.cadre/config``, then ``~/.cadre/config``; an explicit
file must exist. Relative key paths are relative to the config file's folder."""

import dataclasses
import os
import re

from . import errors


@dataclasses.dataclass
class ClientConfig:
    coordinator: str = "tcp://127.0.0.1:7071"  # the coordinator's client endpoint
    server_key: str = ""  # the coordinator's public key file (.pub or .key)
    key: str = ""  # this client's key pair file (.key)
    timeout_seconds: float = 10.0  # how long one request waits for its answer
    insecure: bool = False  # no CURVE (a coordinator run that way)
    ingress: str = ""  # the ingress's URL (predict)
    token_file: str = ""  # a file holding a Cadre token the ingress accepts
    ingress_ca: str = ""  # PEM CAs an https ingress's certificate is checked against
    ingress_grpc: str = ""  # host:port of the ingress's gRPC port
    source: str = ""  # where it was read from, for messages


_FIELDS = {f.name: f for f in dataclasses.fields(ClientConfig) if f.name != "source"}


def candidates(path=None, environ=None, cwd=None, home=None):
    """The files to look at, in order, and whether the first was named explicitly."""
    environ = os.environ if environ is None else environ
    if path:
        return [(path, True)]
    if environ.get("CADRE_CONFIG"):
        return [(environ["CADRE_CONFIG"], True)]
    cwd = os.getcwd() if cwd is None else cwd
    home = os.path.expanduser("~") if home is None else home
    return [(os.path.join(cwd, ".cadre", "config"), False), (os.path.join(home, ".cadre", "config"), False)]


def resolve(path=None, environ=None, cwd=None, home=None):
    looked = []
    for candidate, explicit in candidates(path, environ, cwd, home):
        if os.path.isfile(candidate):
            return candidate
        if explicit:
            raise errors.NotFound(f"config file {candidate} does not exist")
        looked.append(candidate)
    raise errors.NotFound(
        "no client config found (looked for " + ", ".join(looked) + "); run `cadre local up` "
        "to start a local cluster, or pass Client(config=FILE)")


def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse(text, base_dir="", source="config"):
    """Parses the flat ``key: value`` YAML the CLI writes; an unknown key or a bad
    value is an error naming it, as the CLI's."""
    config = ClientConfig(source=source)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip() or line.strip() == "---":
            continue
        if line[0].isspace() or ":" not in line:
            raise errors.InvalidArgument(f"{source}:{number}: expected `key: value`, got {raw!r}")
        key, value = line.split(":", 1)
        key, value = key.strip(), _scalar(value)
        field = _FIELDS.get(key)
        if field is None:
            raise errors.InvalidArgument(
                f"{source}: unknown setting {key!r} (known: {', '.join(sorted(_FIELDS))})")
        if field.type is bool or field.type == "bool":
            if value.lower() not in ("true", "false"):
                raise errors.InvalidArgument(f"{source}: {key}: expected true or false, got {value!r}")
            setattr(config, key, value.lower() == "true")
        elif field.type is float or field.type == "float":
            try:
                setattr(config, key, float(value))
            except ValueError:
                raise errors.InvalidArgument(f"{source}: {key}: expected a number, got {value!r}") from None
        else:
            setattr(config, key, value)
    if config.timeout_seconds <= 0:
        raise errors.InvalidArgument(f"{source}: timeout_seconds: must be > 0")
    if not config.insecure and (not config.server_key or not config.key):
        raise errors.InvalidArgument(f"{source}: server_key and key are required unless insecure: true")
    for name in ("server_key", "key", "token_file", "ingress_ca"):
        value = getattr(config, name)
        if value and base_dir and not os.path.isabs(value):
            setattr(config, name, os.path.normpath(os.path.join(base_dir, value)))
    return config


def load(path=None, environ=None):
    path = resolve(path, environ)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise errors.NotFound(f"cannot read config file {path}: {e.strerror}") from None
    return parse(text, os.path.dirname(os.path.abspath(path)), path)


def read_keypair(path):
    """A .key file: ``public = <z85>`` and ``secret = <z85>`` lines (protocol/curve_keys.h)."""
    text = _read_key_file(path)
    public, secret = _field(text, "public"), _field(text, "secret")
    if not public or not secret:
        raise errors.InvalidArgument(f"{path}: not a key pair file (needs public and secret)")
    return _z85(public, path, "public"), _z85(secret, path, "secret")


def read_public_key(path):
    """A .pub file (the key alone, or ``public = <z85>``), or a .key file's public half."""
    text = _read_key_file(path)
    return _z85(_field(text, "public") or text.strip(), path, "public")


def _field(text, name):
    # Z85 has '=' in its alphabet: only "NAME = " at a line's start names a field.
    match = re.search(r"^[ \t]*" + name + r"[ \t]*=[ \t]*(\S+)[ \t]*$", text, re.MULTILINE)
    return match.group(1) if match else ""


def _z85(key, path, what):
    if len(key) != 40:
        raise errors.InvalidArgument(f"{path}: the {what} key is not 40 Z85 characters")
    return key


def _read_key_file(path):
    try:
        with open(path, encoding="ascii") as f:
            return f.read(4096)
    except (OSError, UnicodeDecodeError) as e:
        raise errors.NotFound(f"cannot read key file {path}: {getattr(e, 'strerror', e)}") from None
