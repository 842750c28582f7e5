"""Inference from Python: one Open Inference Protocol (V2) request to an
InferenceService through the ingress, with the Cadre token of the client config.
numpy arrays in and out when numpy is installed; plain lists otherwise."""

import json
import math
import ssl
import urllib.error
import urllib.request

from . import errors

try:
    import numpy
except ImportError:  # numpy is optional
    numpy = None

_DTYPES = {  # numpy dtype name -> V2 datatype
    "bool": "BOOL", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64",
    "int8": "INT8", "int16": "INT16", "int32": "INT32", "int64": "INT64", "float16": "FP16",
    "float32": "FP32", "float64": "FP64",
}
_NUMPY = {v: k for k, v in _DTYPES.items()}


def _tls_context(ca_file):
    """Checks an https ingress's certificate: against ``ca_file`` when given (the
    client config's ``ingress_ca``), else the system's CAs."""
    return ssl.create_default_context(cafile=ca_file or None)


def _http(method, url, token, body=None, timeout=60.0, ca_file=""):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        context = _tls_context(ca_file) if url.startswith("https://") else None
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return json.loads(response.read().decode() or "{}")
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            message = json.loads(text).get("error", text)
        except ValueError:
            message = text
        cls = {400: errors.InvalidArgument, 401: errors.PermissionDenied, 403: errors.PermissionDenied,
               404: errors.NotFound, 429: errors.Unavailable, 503: errors.Unavailable,
               504: errors.DeadlineExceeded}.get(e.code, errors.Internal)
        raise cls(f"{method} {url}: HTTP {e.code}: {message}") from None
    except TimeoutError:
        raise errors.DeadlineExceeded(f"{method} {url}: no answer within {timeout:g}s") from None
    except urllib.error.URLError as e:
        raise errors.Unavailable(f"{method} {url}: {e.reason}") from None


def _token(config):
    if not config.token_file:
        return ""
    try:
        with open(config.token_file, encoding="utf-8") as f:
            return f.readline().strip()
    except OSError as e:
        raise errors.NotFound(f"cannot read a token from {config.token_file}: {e.strerror}") from None


def _flatten(value):
    """A nested list's values in order, and its shape."""
    if not isinstance(value, (list, tuple)):
        return [value], []
    flat, inner = [], None
    for item in value:
        values, shape = _flatten(item)
        if inner is not None and shape != inner:
            raise errors.InvalidArgument("a ragged nested list: every row must have the same shape")
        inner = shape
        flat.extend(values)
    return flat, [len(value)] + (inner or [])


def _as_tensor(name, value, spec):
    """One V2 input tensor from an array or a nested list, in the model's datatype
    and shaped as its metadata says, batch first: a 28x28 image for a
    [-1, 1, 28, 28] input goes as [1, 1, 28, 28]."""
    shape = [int(d) for d in spec.get("shape", [])]
    datatype = spec.get("datatype") or "FP32"
    if numpy is not None:
        array = numpy.asarray(value, dtype=_NUMPY.get(datatype))
        flat, given = array.reshape(-1).tolist(), list(array.shape)
    else:
        flat, given = _flatten(value)
    tail = shape[1:]
    if tail and all(d >= 0 for d in tail):
        item = math.prod(tail)
        if item == 0 or len(flat) % item:
            raise errors.InvalidArgument(
                f"input {name}: {len(flat)} values do not make whole items of shape {tail}")
        given = [len(flat) // item] + tail
    return {"name": name, "datatype": datatype, "shape": given, "data": flat}


def _chunks(tensors, max_batch):
    """The request's tensors cut into batches of at most ``max_batch`` items
    (the model's max_batch_size; 0: it takes any batch)."""
    batch = tensors[0]["shape"][0] if tensors and tensors[0]["shape"] else 0
    if max_batch <= 0 or batch <= max_batch:
        yield tensors
        return
    for t in tensors:
        if not t["shape"] or t["shape"][0] != batch:
            raise errors.InvalidArgument(f"input {t['name']}: every input needs the same batch size ({batch})")
    for first in range(0, batch, max_batch):
        count = min(max_batch, batch - first)
        part = []
        for t in tensors:
            item = math.prod(t["shape"][1:])
            part.append(dict(t, shape=[count] + t["shape"][1:], data=t["data"][first * item:(first + count) * item]))
        yield part


def _join(answers):
    """The outputs of consecutive batches, joined along the batch axis."""
    outputs = {}
    for answer in answers:
        for out in answer.get("outputs", []):
            held = outputs.setdefault(out["name"], dict(out, data=[], shape=[0] + list(out.get("shape", [0]))[1:]))
            held["data"].extend(out.get("data", []))
            held["shape"][0] += (out.get("shape") or [0])[0]
    return list(outputs.values())


def predict(client, service, inputs, *, timeout=60.0, outputs=None):
    """Sends ``inputs`` to ``service`` and returns ``{output name: array}``.

    ``inputs``: one array (for a model with one input) or ``{input name: array}``.
    A batch larger than the model's max_batch_size goes as several requests, one
    after the other, and the answers are joined. ``outputs``: the output names to
    ask for (default: every one). Raises Unavailable while no replica is ready,
    PermissionDenied without a token the ingress accepts, InvalidArgument when the
    model refuses the input.
    """
    status = client.get("inferenceservices", service)
    url = status.get("url")
    if not url:
        raise errors.FailedPrecondition(
            f"inferenceservice/{service} has no URL yet: no cadre-ingress serves it")
    url = url.rstrip("/")
    token = _token(client.config)
    ca = client.config.ingress_ca
    metadata = _http("GET", url, token, timeout=timeout, ca_file=ca)
    max_batch = int(_http("GET", url + "/config", token, timeout=timeout, ca_file=ca)
                    .get("max_batch_size", 0) or 0)
    specs = {i["name"]: i for i in metadata.get("inputs", [])}
    if not isinstance(inputs, dict):
        if len(specs) != 1:
            raise errors.InvalidArgument(
                f"{service} has {len(specs)} inputs ({', '.join(specs)}): pass {{name: array}}")
        inputs = {next(iter(specs)): inputs}
    unknown = sorted(set(inputs) - set(specs))
    if unknown:
        raise errors.InvalidArgument(f"{service} has no input {', '.join(unknown)} (inputs: {', '.join(specs)})")
    tensors = [_as_tensor(n, v, specs[n]) for n, v in inputs.items()]
    answers = []
    for part in _chunks(tensors, max_batch):
        body = {"inputs": part}
        if outputs:
            body["outputs"] = [{"name": n} for n in outputs]
        answers.append(_http("POST", url + "/infer", token, body, timeout=timeout, ca_file=ca))
    result = {}
    for out in _join(answers):
        data = out.get("data", [])
        if numpy is not None:
            # BYTES (strings) come as an object array of str, shaped like the rest.
            dtype = _NUMPY.get(out.get("datatype"), object)
            result[out["name"]] = numpy.asarray(data, dtype=dtype).reshape(out.get("shape", [-1]))
        else:
            result[out["name"]] = data
    return result
