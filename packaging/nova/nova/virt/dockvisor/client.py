"""HTTP calls to the dockvisor compute service, its errors raised as Nova's exceptions."""
import json
import urllib.error
import urllib.request

from nova import exception


class ServiceClient(object):
    def __init__(self, url, token, timeout):
        self._base = url.rstrip('/')
        self._token = token
        self._timeout = timeout

    def get(self, path, instance_uuid=None):
        return self._call('GET', path, None, instance_uuid)

    def post(self, path, body=None, instance_uuid=None):
        return self._call('POST', path, {} if body is None else body, instance_uuid)

    def delete(self, path, instance_uuid=None):
        return self._call('DELETE', path, None, instance_uuid)

    def _call(self, method, path, body, instance_uuid):
        data = None if body is None else json.dumps(body).encode('utf-8')
        request = urllib.request.Request(self._base + path, data=data, method=method)
        if data is not None:
            request.add_header('Content-Type', 'application/json')
        if self._token:
            request.add_header('Authorization', 'Bearer ' + self._token)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            raise _nova_error(error.code, error.read(), instance_uuid)
        except (urllib.error.URLError, OSError) as error:
            raise exception.HypervisorUnavailable(host='%s (%s)' % (self._base, error))


def _nova_error(status, text, instance_uuid):
    try:
        message = json.loads(text).get('message') or ''
    except ValueError:
        message = text.decode('utf-8', 'replace')[:300]
    if status == 404 and instance_uuid:
        return exception.InstanceNotFound(instance_id=instance_uuid)
    if status == 400:
        return exception.InvalidInput(reason=message)
    if status == 501:
        return NotImplementedError(message)
    if status == 503:
        return exception.HypervisorUnavailable(host=message)
    if status == 409 and instance_uuid:
        return exception.InstanceInvalidState(instance_uuid=instance_uuid, attr='state', state=message, method='this action')
    return exception.NovaException('dockvisor compute service answered %s: %s' % (status, message))
