"""HTTP calls to the dockvisor compute service, its errors raised as Nova's exceptions (errors.py)."""
import json
import urllib.error
import urllib.request

from nova.virt.dockvisor import errors


class ServiceClient(object):
    """Each call names the ComputeDriver verb it serves, which decides the exception a failure raises."""

    def __init__(self, url, token, timeout, host=None):
        self._base = url.rstrip('/')
        self._token = token
        self._timeout = timeout
        self._host = host

    def get(self, verb, path, instance_uuid=None):
        return self._call(verb, 'GET', path, None, instance_uuid)

    def post(self, verb, path, body=None, instance_uuid=None):
        return self._call(verb, 'POST', path, {} if body is None else body, instance_uuid)

    def delete(self, verb, path, instance_uuid=None):
        return self._call(verb, 'DELETE', path, None, instance_uuid)

    def post_archive(self, verb, path, chunks, instance_uuid=None):
        """POSTs a tar stream (an iterable of byte chunks, sent chunked as it is read); returns the JSON answer."""
        return self._answer(verb, self._open(verb, 'POST', path, chunks, 'application/x-tar', instance_uuid), instance_uuid)

    def open_archive(self, verb, path, body, instance_uuid=None):
        """POSTs `body` and opens the answer, a stream the caller reads (with its headers) and closes."""
        return self._open(verb, 'POST', path, json.dumps(body).encode('utf-8'), 'application/json', instance_uuid)

    def _call(self, verb, method, path, body, instance_uuid):
        data = None if body is None else json.dumps(body).encode('utf-8')
        return self._answer(verb, self._open(verb, method, path, data, 'application/json', instance_uuid), instance_uuid)

    def _answer(self, verb, response, instance_uuid):
        try:
            with response:
                text = response.read()
        except OSError as error:
            raise errors.nova_error(verb, 'unreachable', '%s (%s)' % (self._base, error), instance_uuid, self._host)
        return json.loads(text) if text else None

    def _open(self, verb, method, path, data, content_type, instance_uuid):
        request = urllib.request.Request(self._base + path, data=data, method=method)
        if data is not None:
            request.add_header('Content-Type', content_type)
        if self._token:
            request.add_header('Authorization', 'Bearer ' + self._token)
        try:
            return urllib.request.urlopen(request, timeout=self._timeout)
        except urllib.error.HTTPError as error:
            answer, message = _answer(error.read())
            raise errors.nova_error(verb, errors.kind_of(error.code, answer), message or 'HTTP %s' % error.code,
                                    instance_uuid, self._host)
        except (urllib.error.URLError, OSError) as error:
            raise errors.nova_error(verb, 'unreachable', '%s (%s)' % (self._base, error), instance_uuid, self._host)


def _answer(text):
    try:
        answer = json.loads(text)
    except ValueError:
        return None, text.decode('utf-8', 'replace')[:300]
    return answer, (answer.get('message') or '') if isinstance(answer, dict) else ''
